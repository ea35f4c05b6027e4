#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The node agent at scale and its reaction time:
#   - convergence time and RSS of sluiced with BENCH_PODS pods (default
#     10,000), BENCH_NAMESPACES namespaces (1,000) and BENCH_NODES nodes
#     (1,000) in its manifests folder, and the per-object memory against an
#     agent with an empty folder;
#   - time from a manifest change (a relabel, by rename) to the new identity
#     in the pinned sl_endpoints map, p50/p99 over BENCH_CHANGES (100).
# Goals (issue 3): RSS under 40 MiB and convergence under 2 s at that size.
# Writes build/bench/agent.txt. Runs in a private mount namespace, in
# network namespaces it creates and removes.
set -euo pipefail

if [[ -z ${SL_BENCH_INNER:-} ]]; then
	exec unshare --mount --propagation private env SL_BENCH_INNER=1 "$0" "$@"
fi
mkdir -p /run/netns
mount -t tmpfs sluice-bench /run/netns

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
source "$top/hack/lib/cluster.sh"
PODS=${BENCH_PODS:-10000}
NAMESPACES=${BENCH_NAMESPACES:-1000}
NODES=${BENCH_NODES:-1000}
CHANGES=${BENCH_CHANGES:-100}
LOCAL=10
out=$top/build/bench
mkdir -p "$out"
gcc -O2 -Wall -Wextra -Werror -I"$top/include" -o "$out/mapwatch" \
	"$top/hack/bench/mapwatch.c" -lbpf

export SL_STATE=$(mktemp -d /tmp/sluice-bench-agent.XXXXXX)
cluster_init bench-agent
agent= fake=
cleanup() {
	local rc=$?
	((rc == 0)) || tail -5 "$SL_STATE/agent.log" "$SL_STATE/api/out" >&2 2>/dev/null
	[[ -n $fake ]] && kill "$fake" 2>/dev/null
	[[ -n $agent ]] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	cluster_down
}
trap cleanup EXIT

node_add node1 1
for ((i = 0; i < LOCAL; i++)); do
	pod_add node1 "local-$i" bench >/dev/null 2>&1
done

M=$SL_STATE/manifests
mkdir -p "$M" "$SL_STATE/empty"
python3 - "$M" "$PODS" "$NAMESPACES" "$NODES" "$LOCAL" <<'PY'
import sys
d, pods, nss, nodes, local = sys.argv[1], *map(int, sys.argv[2:])
# The same objects as JSON, for the fake API server (seed.json, outside
# the manifests folder so the folder source does not read it).
seed = []
for n in range(1, nodes + 1):
    seed.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node{n}"},
                 "spec": {"podCIDR": f"10.{n // 250 + 1}.{n % 250}.0/24"},
                 "status": {"addresses": [{"type": "InternalIP", "address": f"192.168.{n // 250}.{n % 250 + 1}"}]}})
seed.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
for n in range(nss):
    seed.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{n}", "labels": {"team": f"t{n % 20}", "env": "prod"}}})
for p in range(pods):
    seed.append({"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"namespace": f"ns-{p % nss}", "name": f"pod-{p}", "uid": f"u{p}",
                              "labels": {"app": f"a{p % 50}", "tier": f"t{p % 3}", "pod-template-hash": f"h{p % 200}"}},
                 "spec": {"nodeName": f"node{p % nodes + 1}"},
                 "status": {"podIP": f"10.{p // 65536 + 100}.{p // 256 % 256}.{p % 256}"}})
for i in range(local):
    seed.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "bench", "name": f"local-{i}", "labels": {"app": "local", "v": "0"}},
                 "spec": {"nodeName": "node1"}})
import json
json.dump(seed, open(f"{d}/../seed.json", "w"))
with open(f"{d}/nodes.yaml", "w") as f:
    for n in range(1, nodes + 1):
        f.write(f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: node{n}}}\n"
                f"spec: {{podCIDR: 10.{n // 250 + 1}.{n % 250}.0/24}}\n"
                f"status: {{addresses: [{{type: InternalIP, address: 192.168.{n // 250}.{n % 250 + 1}}}]}}\n")
with open(f"{d}/namespaces.yaml", "w") as f:
    f.write("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n")
    for n in range(nss):
        f.write(f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{n}, labels: {{team: t{n % 20}, env: prod}}}}\n")
per = 1000
for start in range(0, pods, per):
    with open(f"{d}/pods-{start // per:03d}.yaml", "w") as f:
        for p in range(start, min(start + per, pods)):
            f.write(f"---\napiVersion: v1\nkind: Pod\nmetadata: {{namespace: ns-{p % nss}, name: pod-{p}, "
                    f"uid: u{p}, labels: {{app: a{p % 50}, tier: t{p % 3}, pod-template-hash: h{p % 200}}}}}\n"
                    f"spec: {{nodeName: node{p % nodes + 1}}}\nstatus: {{podIP: 10.{p // 65536 + 100}.{p // 256 % 256}.{p % 256}}}\n")
PY
local_pods() { # VERSION: the local pods, one of them relabelled per version
	for ((i = 0; i < LOCAL; i++)); do
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: bench, name: local-%d, labels: {app: local, v: "%s"}}\nspec: {nodeName: node1}\n' \
			"$i" "$(( i == 0 ? $1 : 0 ))"
	done
}
local_pods 0 >"$M/local.yaml"

ctl() { node_exec node1 "$SL_BIN/sluicectl" --run-dir "$(node_run_dir node1)" "$@"; }
# start_agent SOURCE-ARGS...: start sluiced; sets agent (its pid) and
# start_ms (until it first answers). Not in $(): the agent would hold the
# substitution's pipe open.
start_agent() {
	local t0=${EPOCHREALTIME/./}
	api_t0=$t0
	nsenter --net="/run/netns/$(node_ns node1)" "$SL_BIN/sluiced" --node-name node1 \
		"$@" --bpf-root "$(node_bpf_root node1)" \
		--run-dir "$(node_run_dir node1)" --log-level warn --cgroup-root none \
		</dev/null >/dev/null 2>>"$SL_STATE/agent.log" &
	agent=$!
	until ctl status >/dev/null 2>&1; do sleep 0.005; done
	start_ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$agent/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$agent/status"; }
stop_agent() { kill "$agent"; wait "$agent" 2>/dev/null || true; agent=; }

start_agent --source "$SL_STATE/empty"
rss_empty=$(rss_kib)
stop_agent

start_agent --source "$M"
conv_ms=$start_ms
status=$(ctl -o json status)
rss_full=$(rss_kib)
hwm_full=$(hwm_kib)
objects=$((PODS + NAMESPACES + NODES + LOCAL + 1))
identities=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["objects"]["Identity"])' "$status")
pods_seen=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["objects"]["Pod"])' "$status")

ip=$(pod_ip node1 local-0)
lat=()
for ((c = 1; c <= CHANGES; c++)); do
	local_pods "$c" >"$M/.local.tmp"
	r=$(node_exec node1 "$out/mapwatch" "$(node_bpf_root node1)/sl_endpoints" "$ip" 2000 \
		-- mv "$M/.local.tmp" "$M/local.yaml") || { echo "change $c: $r" >&2; exit 1; }
	us=${r#us=}
	lat+=("${us%% *}")
done
read -r p50 p99 < <(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {
	printf "%.2f %.2f\n", a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.999)] / 1000 }')

# The same cluster from the (fake) API server: LIST pages of 500, then a
# WATCH; a relabel is a POST to the fake's control port.
stop_agent
api=$SL_STATE/api
mkdir -p "$api"
make -s -C "$top" build/bin/sl-fakeapi >/dev/null
# In the node's netns: the agent reaches it on that namespace's loopback.
nsenter --net="/run/netns/$(node_ns node1)" "$SL_BIN/sl-fakeapi" -state "$api" \
	-seed "$SL_STATE/seed.json" >"$api/out" 2>&1 &
fake=$!
until [[ -s $api/control.url ]]; do sleep 0.05; done
start_agent --kubeconfig "$api/kubeconfig"
# Converged: every pod of the seed in the model.
until [[ $(ctl -o json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"]["Pod"])') == "$((PODS + LOCAL))" ]]; do
	(( (${EPOCHREALTIME/./} - api_t0) < 60000000 )) || { echo "API source did not converge in 60 s" >&2; exit 1; }
	sleep 0.01
done
api_conv_ms=$(( (${EPOCHREALTIME/./} - api_t0) / 1000 ))
api_rss=$(rss_kib)
lat_api=()
for ((c = 1; c <= CHANGES; c++)); do
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"bench","name":"local-0","labels":{"app":"local","v":"%d"}},"spec":{"nodeName":"node1"}}' "$c" >"$api/change.json"
	r=$(node_exec node1 "$out/mapwatch" "$(node_bpf_root node1)/sl_endpoints" "$ip" 2000 \
		-- curl -sf -o /dev/null -X POST --data-binary @"$api/change.json" \
		"$(cat "$api/control.url")/objects") || { echo "api change $c: $r" >&2; exit 1; }
	us=${r#us=}
	lat_api+=("${us%% *}")
done
kill "$fake"
fake=
read -r ap50 ap99 < <(printf '%s\n' "${lat_api[@]}" | sort -n | awk '{a[NR]=$1} END {
	printf "%.2f %.2f\n", a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.99 + 0.999)] / 1000 }')

{
	echo "sluiced at scale, manifests source, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	printf '%-44s %s\n' "objects in the source" "$PODS pods, $NAMESPACES namespaces, $NODES nodes (+$LOCAL local pods)"
	printf '%-44s %s\n' "pods in the model / identities" "$pods_seen / $identities"
	printf '%-44s %s ms   (goal < 2000)\n' "convergence (start to first API answer)" "$conv_ms"
	printf '%-44s %.1f MiB (peak %.1f MiB)   (goal < 40)\n' "RSS converged" "$(bc -l <<<"$rss_full/1024")" "$(bc -l <<<"$hwm_full/1024")"
	printf '%-44s %.1f MiB\n' "RSS with an empty source" "$(bc -l <<<"$rss_empty/1024")"
	printf '%-44s %.0f bytes\n' "per object" "$(bc -l <<<"($rss_full-$rss_empty)*1024/$objects")"
	printf '%-44s p50 %s ms, p99 %s ms over %d changes\n' "relabel (rename) -> sl_endpoints" "$p50" "$p99" "$CHANGES"
	echo
	echo "the same cluster from the (fake) API server, TLS, LIST pages of 500 + WATCH:"
	printf '%-44s %s ms   (goal < 2000)\n' "convergence (start to all pods in the model)" "$api_conv_ms"
	printf '%-44s %.1f MiB   (goal < 40)\n' "RSS converged" "$(bc -l <<<"$api_rss/1024")"
	printf '%-44s p50 %s ms, p99 %s ms over %d changes\n' "relabel (watch event) -> sl_endpoints" "$ap50" "$ap99" "$CHANGES"
} | tee "$out/agent.txt"

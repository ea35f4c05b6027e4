#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The local demo: a cluster of DEMO_NODES nodes (default 2; network
# namespaces joined by an underlay bridge, each with its own bpffs and
# agent), pods wired by the real plugin through libcni on both, and what
# sluice does for them: pod-to-pod traffic within and across nodes
# (DEMO_ROUTING native, the default, or vxlan), a Service with backends on
# both nodes (no kube-proxy), a NetworkPolicy denying one path, a spoofed
# source dropped by name, and the flows of all of it, live. Everything is
# removed at the end, even on failure.
set -euo pipefail

# A private mount namespace: netns bind mounts and the bpffs mounts vanish
# with this process whatever happens.
if [[ -z ${SL_DEMO_INNER:-} ]]; then
	exec unshare --mount --propagation private env SL_DEMO_INNER=1 "$0" "$@"
fi
mkdir -p /run/netns
mount -t tmpfs sluice-demo /run/netns

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/cluster.sh
source "$top/hack/lib/cluster.sh"
export SL_STATE=$(mktemp -d /tmp/sluice-demo.XXXXXX)
cluster_init demo
trap 'kill $(jobs -p) 2>/dev/null || true; cluster_down' EXIT

nodes=${DEMO_NODES:-2}
routing=${DEMO_ROUTING:-native}
((nodes >= 2)) || { echo "DEMO_NODES must be 2 or more" >&2; exit 2; }
last=node$nodes
manifests=$SL_STATE/manifests
mkdir -p "$manifests"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() {
	local node=$1
	shift
	node_exec "$node" "$SL_BIN/sluicectl" --bpf-root "$(node_bpf_root "$node")" \
		--run-dir "$(node_run_dir "$node")" "$@"
}
# put FILE: stdin into the manifests folder by atomic rename, as the
# agents (one folder for all, like one API server) expect.
put() { cat >"$manifests/.$1.tmp" && mv "$manifests/.$1.tmp" "$manifests/$1"; }
# get NODE POD URL: an HTTP GET from a pod, its status and body on a line.
get() {
	local out
	if out=$(pod_exec "$1" "$2" curl -s --max-time 2 -w ' (HTTP %{http_code})' "$3"); then
		echo "$out"
	else
		echo "no answer (timed out)"
	fi
}

step "$nodes nodes: network namespaces on an underlay bridge, each with a pod CIDR, a private bpffs and an agent"
for ((i = 1; i <= nodes; i++)); do
	# No mtu in the conflist: the agent says (less 50 bytes over VXLAN).
	SL_NODE_MTU= node_add "node$i" "$i"
done
{
	for ((i = 1; i <= nodes; i++)); do
		printf -- '---\napiVersion: v1\nkind: Node\nmetadata: {name: node%s}\nspec: {podCIDR: 10.244.%s.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.77.%s}]}\n' "$i" "$i" "$i"
	done
	printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: payments}}\n'
	printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n'
} | put cluster.yaml
for ((i = 1; i <= nodes; i++)); do
	# --cgroup-root none: the demo's nodes are namespaces; the machine's
	# cgroup root (a real node's host processes) is not the demo's.
	nsenter --net="/run/netns/$(node_ns "node$i")" "$SL_BIN/sluiced" \
		--node-name "node$i" --source "$manifests" --routing "$routing" \
		--bpf-root "$(node_bpf_root "node$i")" --run-dir "$(node_run_dir "node$i")" \
		--cgroup-root none 2>"$SL_STATE/sluiced-node$i.log" &
done
for ((i = 1; i <= nodes; i++)); do
	for _ in $(seq 50); do
		[[ -S $(node_run_dir "node$i")/sluiced.sock ]] && break
		sleep 0.1
	done
done
sleep 0.3
ctl node1 status
echo "  node1's routes:"
node_exec node1 ip -4 route | sed 's/^/    /'

step "four pods, wired by 'sluice' run through libcni (as containerd does)"
declare -A ip
for p in web-0:shop:node1 web-1:shop:$last client:default:node1 intruder:default:$last; do
	IFS=: read -r name ns node <<<"$p"
	ip[$name]=$(pod_add "$node" "$name" "$ns")
	printf '  %-8s %-9s %-6s %s\n' "$ns" "$name" "$node" "${ip[$name]}"
done
# The Pod objects as the API server would serve them once running.
{
	for p in web-0:shop:node1:web web-1:shop:$last:web client:default:node1:client intruder:default:$last:intruder; do
		IFS=: read -r name ns node app <<<"$p"
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: %s, name: %s, labels: {app: %s}}\nspec: {nodeName: %s}\nstatus: {phase: Running, podIP: %s}\n' \
			"$ns" "$name" "$app" "$node" "${ip[$name]}"
	done
} | put pods.yaml
sleep 0.3

step "inside pod 'client': a /32, a link-local gateway with a static neighbour, no ARP"
pod_exec node1 client ip -4 addr show dev eth0
pod_exec node1 client ip route
pod_exec node1 client ip neigh

step "the agents' view: identities, and node1's endpoints"
ctl node1 identities
echo
ctl node1 endpoints

step "live flows on $last (sluicectl observe --follow), while traffic runs"
ctl "$last" observe --follow >"$SL_STATE/follow.txt" 2>&1 &
follow=$!
for w in web-0:node1 web-1:$last; do
	pod_exec "${w#*:}" "${w%%:*}" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from %s" % sys.argv[1]).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()' "${w%%:*}" &
done
sleep 1
echo "  client (node1) -> web-0 (node1): $(get node1 client "http://${ip[web-0]}:8080/")"
echo "  client (node1) -> web-1 ($last, across nodes): $(get node1 client "http://${ip[web-1]}:8080/")"
echo "  intruder ($last) -> web-0 (node1, across nodes): $(get "$last" intruder "http://${ip[web-0]}:8080/")"

step "a Service without kube-proxy: ClusterIP 10.96.0.10:80 -> web-0 (node1), web-1 ($last)"
put web-svc.yaml <<YAML
apiVersion: v1
kind: Service
metadata: {namespace: shop, name: web}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {namespace: shop, name: web-abcde, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
- {addresses: ["${ip[web-0]}"], nodeName: node1, conditions: {ready: true}}
- {addresses: ["${ip[web-1]}"], nodeName: $last, conditions: {ready: true}}
YAML
sleep 0.3
ctl node1 services
# Each connection picks a backend at random: a few, until both answered.
seen=
for ((n = 1; n <= 20; n++)); do
	reply=$(get node1 client http://10.96.0.10/)
	echo "  client -> http://10.96.0.10/: $reply"
	[[ $seen == *"$reply"* ]] || seen+="$reply;"
	((n < 4)) || [[ $seen != *web-0*web-1* && $seen != *web-1*web-0* ]] || break
done
echo "  the translated connections in node1's conntrack, with the backend each got:"
ctl node1 ct --addr 10.96.0.10 | sed 's/^/    /'

step "a NetworkPolicy: web pods take HTTP only from app=client in namespace default"
put policy.yaml <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: shop, name: web-from-client}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}
      podSelector: {matchLabels: {app: client}}
    ports: [{protocol: TCP, port: 8080}]
YAML
sleep 0.5
echo "  client (node1) -> web-1 ($last): $(get node1 client "http://${ip[web-1]}:8080/")"
echo "  intruder ($last) -> web-0 (node1): $(get "$last" intruder "http://${ip[web-0]}:8080/")"
echo "  intruder ($last) -> web-1 ($last): $(get "$last" intruder "http://${ip[web-1]}:8080/")"
echo "  node1 says why (sluicectl observe --verdict DROPPED):"
ctl node1 observe --verdict DROPPED --last 3 | sed 's/^/    /'
echo "  and which policies select web-0 (sluicectl policy):"
ctl node1 policy | sed 's/^/    /'

step "a pod lying about its source address is dropped, by name"
pod_exec node1 client ip addr add 10.244.1.250/32 dev eth0
pod_exec node1 client curl -s --max-time 1 --interface 10.244.1.250 \
	"http://${ip[web-0]}:8080/" >/dev/null || echo "  (no answer, as expected)"
ctl node1 observe --verdict DROPPED --last 1 | sed 's/^/    /'

step "the flows $last saw, live, as they happened"
sleep 0.3
kill "$follow" 2>/dev/null || true
sed 's/^/  /' "$SL_STATE/follow.txt"

step "node1's datapath counters (sluicectl metrics)"
ctl node1 metrics

step "stop $last's agent (SIGTERM): its datapath keeps forwarding, across nodes too"
pkill -TERM -f -- "--node-name $last --source $manifests" || true
sleep 0.3
echo "  client (node1) -> web-1 ($last), no agent on $last: $(get node1 client "http://${ip[web-1]}:8080/")"
echo "  agent log ($last):"
sed 's/^/    /' "$SL_STATE/sluiced-$last.log" | grep -v 'level=debug' | tail -8

step "cleaning up: CNI DEL for every pod, then the namespaces"

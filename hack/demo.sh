#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The local demo: one simulated node (a network namespace with its own
# bpffs), three pods wired by the real plugin through libcni, traffic
# between them through the eBPF datapath, the datapath's counters, a drop
# with its reason, and the node agent giving pods identities from a
# manifests folder, and a Service load-balanced by the datapath (no
# kube-proxy). Everything is removed at the end, even on failure.
set -euo pipefail

# A private mount namespace: netns bind mounts and the bpffs mount vanish
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
trap 'cluster_down' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { node_exec node1 "$SL_BIN/sluicectl" --bpf-root "$(node_bpf_root node1)" \
	--run-dir "$(node_run_dir node1)" "$@"; }

step "node1: a network namespace with pod CIDR 10.244.1.0/24 and a private bpffs"
node_add node1 1
cat "$(node_dir node1)/net.d/10-sluice.conflist"

step "three pods, each wired by 'sluice' run through libcni (as containerd does)"
for p in web-0:shop web-1:shop client:default; do
	ip=$(pod_add node1 "${p%%:*}" "${p##*:}")
	printf '  %-8s %-8s %s\n' "${p##*:}" "${p%%:*}" "$ip"
done
web0=$(pod_ip node1 web-0)
web1=$(pod_ip node1 web-1)

step "inside pod 'client': a /32, a link-local gateway with a static neighbour, no ARP"
pod_exec node1 client ip -4 addr show dev eth0
pod_exec node1 client ip route
pod_exec node1 client ip neigh

step "the datapath's view: the endpoint map"
ctl endpoints

step "pod-to-pod TCP: client -> web-0 and client -> web-1 (HTTP)"
for p in web-0 web-1; do
	pod_exec node1 "$p" python3 -m http.server 8080 --bind 0.0.0.0 >/dev/null 2>&1 &
done
sleep 1
for ip in "$web0" "$web1"; do
	code=$(pod_exec node1 client curl -s -o /dev/null -w '%{http_code}' \
		--max-time 3 "http://$ip:8080/")
	echo "  GET http://$ip:8080/ -> $code"
done

step "pod-to-pod UDP: client -> web-1"
pod_exec node1 web-1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353)); s.settimeout(5)
d, a = s.recvfrom(64); s.sendto(d.upper(), a)' &
sleep 0.5
pod_exec node1 client python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b'hello over udp', ('$web1', 5353)); print('  reply:', s.recv(64).decode())"

step "a pod lying about its source address is dropped, by name"
pod_exec node1 client ip addr add 10.244.1.250/32 dev eth0
pod_exec node1 client curl -s --max-time 1 --interface 10.244.1.250 \
	"http://$web0:8080/" >/dev/null || echo "  (no answer, as expected)"

step "the datapath's counters (sluicectl metrics)"
ctl metrics

step "the node agent: sluiced reads the cluster from a manifests folder"
manifests=$SL_STATE/manifests
mkdir -p "$manifests"
cat >"$manifests/cluster.yaml" <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: node1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.77.1}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: payments}}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
YAML
pods_yaml() {
	cat <<YAML
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {namespace: shop, name: web-0, labels: {app: web}}, spec: {nodeName: node1}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: shop, name: web-1, labels: {app: $1}}, spec: {nodeName: node1}}
- {apiVersion: v1, kind: Pod, metadata: {namespace: default, name: client, labels: {app: client}}, spec: {nodeName: node1}}
YAML
}
pods_yaml web >"$manifests/pods.yaml"
# --cgroup-root none: the demo's node is a netns; the machine's cgroup root
# (where a real node's host processes live) is not the demo's to change.
nsenter --net="/run/netns/$(node_ns node1)" "$SL_BIN/sluiced" --node-name node1 \
	--source "$manifests" --bpf-root "$(node_bpf_root node1)" \
	--run-dir "$(node_run_dir node1)" --cgroup-root none 2>"$SL_STATE/sluiced.log" &
agent=$!
for _ in $(seq 50); do [[ -S $(node_run_dir node1)/sluiced.sock ]] && break; sleep 0.1; done
ctl status
echo
ctl identities
echo
ctl endpoints

step "relabel web-1 (app: web -> app: canary) by replacing the file: a new identity"
pods_yaml canary >"$manifests/.pods.tmp" && mv "$manifests/.pods.tmp" "$manifests/pods.yaml"
sleep 0.3
ctl endpoints

step "a Service without kube-proxy: ClusterIP 10.96.0.10:80 -> web-0, web-1 :8080"
cat >"$manifests/.web-svc.tmp" <<YAML
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
- {addresses: [$web0], nodeName: node1, conditions: {ready: true}}
- {addresses: [$web1], nodeName: node1, conditions: {ready: true}}
YAML
mv "$manifests/.web-svc.tmp" "$manifests/web-svc.yaml"
sleep 0.3
ctl services
for _ in 1 2 3 4; do
	pod_exec node1 client curl -s -o /dev/null --max-time 3 \
		-w '  GET http://10.96.0.10/ -> %{http_code}\n' \
		http://10.96.0.10/
done
echo "  the translated connections in the datapath's conntrack, with the backend each got:"
ctl ct --addr 10.96.0.10 | sed 's/^/    /'

step "a Service with no ready endpoint refuses at once (a TCP reset, not a timeout)"
sed 's/ready: true/ready: false/g' "$manifests/web-svc.yaml" >"$manifests/.web-svc.tmp"
mv "$manifests/.web-svc.tmp" "$manifests/web-svc.yaml"
sleep 0.3
start=${EPOCHREALTIME/./}
pod_exec node1 client curl -s -o /dev/null --max-time 3 http://10.96.0.10/ ||
	echo "  curl: connection refused after $(( (${EPOCHREALTIME/./} - start) / 1000 )) ms"

step "stop the agent (SIGTERM): the datapath keeps forwarding"
kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
code=$(pod_exec node1 client curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$web1:8080/")
echo "  GET http://$web1:8080/ with no agent running -> $code"
echo "  agent log:"; sed 's/^/    /' "$SL_STATE/sluiced.log"

step "cleaning up: CNI DEL for every pod, then the namespaces"
kill $(jobs -p) 2>/dev/null || true
wait 2>/dev/null || true

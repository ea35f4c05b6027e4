# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# A local cluster made of network namespaces: each node is a netns joined to
# the others by an underlay bridge (itself in a netns), with its own private
# bpffs mount (bpfRoot) and runDir; each pod is a netns wired by the real
# plugin, run through libcni (build/bin/sl-cnirun) as a container runtime
# runs it. Nothing in the root network namespace changes.
#
# Source it, then:
#   cluster_init NAME              state under /tmp/sluice-NAME, names sl-XXXX-*
#   node_add NODE INDEX [CNIVER]   node NODE with podCIDR 10.244.INDEX.0/24
#   pod_add NODE POD [K8S_NS]      prints the pod's IPv4
#   pod_del NODE POD
#   pod_ip NODE POD | pod_exec NODE POD CMD… | node_exec NODE CMD…
#   outside_add NAME INDEX         a host on the underlay, 192.168.77.INDEX,
#                                  outside the cluster (no sluice)
#   outside_exec NAME CMD…
#   cluster_down                   DEL every pod, remove every netns and mount
#
# Everything is named from a per-run id so two runs never collide.

SL_TOP=${SL_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SL_BIN=${SL_BIN:-$SL_TOP/build/bin}
SL_CNI_BIN=${SL_CNI_BIN:-$SL_BIN}
SL_REF_CNI=${SL_REF_CNI:-/usr/lib/cni}
SL_NODE_MTU=${SL_NODE_MTU-1500}

cluster_init() {
	local name=$1
	SL_STATE=${SL_STATE:-/tmp/sluice-$name}
	if [[ -f $SL_STATE/id ]]; then
		SL_ID=$(cat "$SL_STATE/id")
	else
		mkdir -p "$SL_STATE"
		SL_ID=$(head -c2 /dev/urandom | od -An -tx1 | tr -d ' \n')
		echo "$SL_ID" >"$SL_STATE/id"
	fi
	SL_PFX="sl-$SL_ID"
	SL_UNDERLAY="$SL_PFX-ul"
	export SL_STATE SL_ID SL_PFX SL_UNDERLAY
}

_ns() { echo "/run/netns/$1"; }
node_ns() { echo "$SL_PFX-$1"; }
pod_ns() { echo "$SL_PFX-$1-$2"; }
node_dir() { echo "$SL_STATE/nodes/$1"; }

node_exec() {
	local node=$1; shift
	nsenter --net="$(_ns "$(node_ns "$node")")" "$@"
}

pod_exec() {
	local node=$1 pod=$2; shift 2
	nsenter --net="$(_ns "$(pod_ns "$node" "$pod")")" "$@"
}

_underlay_up() {
	ip netns list | grep -qw "^$SL_UNDERLAY" && return 0
	ip netns add "$SL_UNDERLAY"
	ip -n "$SL_UNDERLAY" link set lo up
	ip -n "$SL_UNDERLAY" link add br0 type bridge
	ip -n "$SL_UNDERLAY" link set br0 up
}

# _underlay_join NS PORT INDEX: a new namespace NS on the underlay bridge
# (bridge port PORT), eth0 at 192.168.77.INDEX/24.
_underlay_join() {
	local ns=$1 port=$2 idx=$3
	_underlay_up
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip link add "$port" netns "$SL_UNDERLAY" type veth peer name eth0 netns "$ns"
	ip -n "$SL_UNDERLAY" link set "$port" master br0 up
	ip -n "$ns" addr add "192.168.77.$idx/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# node_add NODE INDEX [CNIVERSION]: node address 192.168.77.INDEX on the
# underlay, pod CIDR 10.244.INDEX.0/24; the conflist's mtu is
# SL_NODE_MTU (default 1500; empty: none, the agent's node record says).
node_add() {
	local node=$1 idx=$2 ver=${3:-1.0.0}
	local ns dir
	ns=$(node_ns "$node")
	dir=$(node_dir "$node")
	_underlay_join "$ns" "ul$SL_ID$idx" "$idx"
	node_exec "$node" sysctl -qw net.ipv4.ip_forward=1
	mkdir -p "$dir/bpf" "$dir/run" "$dir/net.d" "$dir/cache" "$dir/pods"
	mountpoint -q "$dir/bpf" || mount -t bpf bpf "$dir/bpf"
	echo "$idx" >"$dir/index"
	cat >"$dir/net.d/10-sluice.conflist" <<-JSON
	{
	  "cniVersion": "$ver",
	  "name": "sluice",
	  "plugins": [
	    {
	      "type": "sluice",
	      "podCIDR": "10.244.$idx.0/24",
	      "bpfRoot": "$dir/bpf/sluice",
	      "runDir": "$dir/run"${SL_NODE_MTU:+,
	      \"mtu\": $SL_NODE_MTU}
	    }
	  ]
	}
	JSON
}

# outside_add NAME INDEX: a client outside the cluster on the underlay, at
# 192.168.77.INDEX (use indexes above the nodes'), with routes to the pod
# and service ranges through nothing: tests add what they route.
outside_add() {
	local name=$1 idx=$2 ns
	ns=$(outside_ns "$name")
	_underlay_join "$ns" "uo$SL_ID$idx" "$idx"
}

outside_ns() { echo "$SL_PFX-out-$1"; }
outside_nspath() { _ns "$(outside_ns "$1")"; }
outside_exec() {
	local name=$1; shift
	nsenter --net="$(outside_nspath "$name")" "$@"
}

node_bpf_root() { echo "$(node_dir "$1")/bpf/sluice"; }
node_run_dir() { echo "$(node_dir "$1")/run"; }
node_ip() { echo "192.168.77.$(cat "$(node_dir "$1")/index")"; }

_pod_cid() { printf '%s' "$SL_PFX/$1/$2" | sha256sum | cut -c1-64; }

_cnirun() {
	local node=$1; shift
	node_exec "$node" env CNI_PATH="$SL_CNI_BIN:$SL_REF_CNI" \
		"$SL_BIN/sl-cnirun" "$@" \
		-conflist "$(node_dir "$node")/net.d/10-sluice.conflist" \
		-cache "$(node_dir "$node")/cache"
}

# pod_add NODE POD [K8S_NAMESPACE]: prints the pod's IPv4 address.
pod_add() {
	local node=$1 pod=$2 k8sns=${3:-default}
	local ns dir cid out
	ns=$(pod_ns "$node" "$pod")
	dir=$(node_dir "$node")
	cid=$(_pod_cid "$node" "$pod")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	if ! out=$(_cnirun "$node" add -netns "$(_ns "$ns")" -cid "$cid" \
		-args "IgnoreUnknown=1;K8S_POD_NAMESPACE=$k8sns;K8S_POD_NAME=$pod;K8S_POD_INFRA_CONTAINER_ID=$cid;K8S_POD_UID=uid-$pod"); then
		echo "pod_add $node/$pod: $out" >&2
		ip netns del "$ns"
		return 1
	fi
	printf '%s\n' "$out" >"$dir/pods/$pod.json"
	pod_ip "$node" "$pod"
}

pod_ip() {
	sed -n 's/.*"address": *"\([0-9.]*\)\/.*/\1/p' "$(node_dir "$1")/pods/$2.json" | head -1
}

pod_del() {
	local node=$1 pod=$2
	local ns cid
	ns=$(pod_ns "$node" "$pod")
	cid=$(_pod_cid "$node" "$pod")
	_cnirun "$node" del -netns "$(_ns "$ns")" -cid "$cid" || return 1
	rm -f "$(node_dir "$node")/pods/$pod.json"
	ip netns del "$ns" 2>/dev/null || true
}

pod_check() {
	local node=$1 pod=$2
	_cnirun "$node" check -netns "$(_ns "$(pod_ns "$node" "$pod")")" \
		-cid "$(_pod_cid "$node" "$pod")"
}

cluster_down() {
	[[ -n ${SL_STATE:-} && -d $SL_STATE ]] || return 0
	local dir node pod ns
	# Whatever still runs in the cluster's namespaces (servers, agents)
	# goes first: a process outlives the namespace it was started in.
	for ns in $(ip netns list | awk '{print $1}' | grep "^$SL_PFX-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	for dir in "$SL_STATE"/nodes/*/; do
		[[ -d $dir ]] || continue
		node=$(basename "$dir")
		for pod in "$dir"pods/*.json; do
			[[ -f $pod ]] || continue
			pod_del "$node" "$(basename "$pod" .json)" >/dev/null 2>&1 || true
		done
	done
	# Whatever DEL could not remove goes with its namespace.
	ip netns list | awk '{print $1}' | grep "^$SL_PFX-" | while read -r ns; do
		ip netns del "$ns" 2>/dev/null || true
	done
	for dir in "$SL_STATE"/nodes/*/; do
		[[ -d $dir ]] || continue
		mountpoint -q "$dir/bpf" && umount "$dir/bpf"
	done
	rm -rf "$SL_STATE"
}

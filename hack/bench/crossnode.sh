#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Cross-node pod-to-pod datapath benchmark: a client pod on one node, its
# server pod on another, TCP_RR, TCP_CRR (hack/bench/rr.c) and iperf3
# single-stream throughput, side by side in one run, for
#
#   underlay      node to node: the client in one node netns, the server
#                 in another, over their underlay addresses (192.168.77.x).
#                 No CNI, no BPF: the baseline
#   floor         sluice's forwarding primitives and nothing else: a pod netns per
#                 node on a plain veth (sluice's layout: /32, default via
#                 169.254.1.1), and hack/bench/floor.bpf.c's two tc programs
#                 and nothing else: host veth ingress, FIB lookup, MACs,
#                 TTL, bpf_redirect to eth0; eth0 ingress, for the pod: TTL,
#                 bpf_redirect_peer into it. What sluice's routing costs
#   floor_neigh   optional (not in the default list): the floor with the
#                 next hop known in advance: on the host veth
#                 fl_from_pod_neigh, for the other node's pod CIDR TTL and
#                 bpf_redirect_neigh to eth0 via that node's underlay
#                 address (no FIB lookup); eth0 as the floor
#   native        sluice, sluiced --routing native on both nodes (a route
#                 per other node: its podCIDR via its InternalIP); host
#                 routing bpf (the datapath redirects between pod and eth0)
#   native_stack  the same with --host-routing stack (the node's stack
#                 forwards, as before eBPF host routing)
#   vxlan         sluice, sluiced --routing vxlan on both nodes
#                 (sluice_vxlan, collect metadata, UDP 8472; pod MTU =
#                 underlay MTU - 50); host routing bpf
#   vxlan_stack   the same with --host-routing stack (the sending node's
#                 stack forwards to sluice_vxlan; sl_from_overlay delivers
#                 into the pod either way)
#   bridge        the reference CNI bridge plugin (isGateway, no
#                 masquerade) with host-local IPAM on each node, and a host
#                 route per other node (its pod CIDR via its underlay
#                 address): Calico's or flannel host-gw's layout
#
# Every configuration is its own pair of node netns on hack/lib/cluster.sh's
# underlay bridge (its own addresses and pod CIDRs 10.244.INDEX.0/24), set
# up once. The "nodes" share one kernel: cross-node here is pod veth, node
# routing, the node's underlay veth, a bridge, the other node's underlay
# veth and its routing to the pod. The sluice nodes get a manifests folder
# with both Node objects and both Pods; before measuring, the script checks
# the routes in each node netns, that `sluicectl status` counts one route
# (to the other node), none refused and the host routing asked for, the
# pods' MTU, and that a short RR run crossed: the client node's interface
# (eth0, or sluice_vxlan) sent and the server node's received at least a
# packet per transaction. Then who routed that run: on a sluice node with
# host routing bpf the client node's TO_NODE counter (sluicectl metrics)
# grew by at least the transactions, with stack it did not grow; on the
# floor (and floor_neigh) neither node's stack forwarded a packet
# (ForwDatagrams), so both programs ran and redirected everything. A
# configuration failing a check is reported as failed, not measured, and
# the script exits 1 after the report.
#
# The client runs pinned to CPU0, the servers to CPU1; the agents are
# pinned nowhere. Each repetition runs every test on every configuration
# in turn (quiet-moment wait, busy-run redo and clean/all accounting as in
# datapath.sh); the table gives medians [min-max], per-run p50/p99, then
# ratios of the medians and the median [min-max] of the paired
# per-repetition ratios: native/underlay (goal >= 0.95 on RR, CRR and
# throughput), vxlan/underlay, native/bridge, vxlan/native (VXLAN's cost),
# bridge/underlay, floor/underlay (what veth and tc cost at the least),
# floor_neigh/underlay and floor_neigh/floor (what the FIB lookup costs),
# native/floor (sluice against that floor), native/native_stack and
# vxlan/vxlan_stack (what eBPF host routing gains). Per sluice
# configuration it also gives the agents' RSS at the end of the run, and
# per configuration and test what was lost: TCP segments the client and
# the server retransmitted and packets netfilter conntrack dropped in the
# node netns (insert_failed), with the nftables tables that put conntrack
# there.
#
# Environment: BENCH_REPS (5), BENCH_SECS (4, per run, plus 1 s warm-up),
# BENCH_CROSSNODE_CONFIGS ("underlay floor native native_stack vxlan
# vxlan_stack bridge"), BENCH_RETRIES (1), BENCH_BUSY_PCT (10),
# BENCH_QUIET_WAIT (30 s), BENCH_PROG_STATS (0; 1: the mean run time of
# each datapath program, sluice's and the floor's, per test, from the
# kernel's bpf_stats, turned on for the run and restored after).
# Output: stdout and build/bench/crossnode.txt. About 15 minutes on a
# quiet machine. The floors need clang (they compile floor.bpf.c per node).
#
# sluice runs from copies of build/bin taken at the start (snapshot_bins),
# in a private mount namespace (bench_private_mounts).
set -euo pipefail

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_private_mounts "$@"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-4}
CONFIGS=${BENCH_CROSSNODE_CONFIGS:-"underlay floor native native_stack vxlan vxlan_stack bridge"}
RETRIES=${BENCH_RETRIES:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
PROG_STATS=${BENCH_PROG_STATS:-0}
RR_PORT=7000
IPERF_PORT=5201
UNDERLAY_MTU=1500	# cluster.sh's veths: the kernel's default
VXLAN_OVERHEAD=50	# outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14

# Per configuration: its node pair's underlay indexes (192.168.77.INDEX,
# pod CIDR 10.244.INDEX.0/24), so configurations never share an address.
declare -A IDX=([underlay]="1 2" [native]="3 4" [vxlan]="5 6" [bridge]="7 8"
	[floor]="9 10" [native_stack]="11 12" [vxlan_stack]="13 14"
	[floor_neigh]="15 16")
declare -A LABEL=([underlay]="underlay" [native]="native" [vxlan]="vxlan"
	[bridge]="bridge" [floor]="floor" [native_stack]="native_stack"
	[vxlan_stack]="vxlan_stack" [floor_neigh]="floor_neigh")
# The floor configurations: floor.bpf.c's section for the pod's host veth
# ingress, and a tag in their names (nodes flTAGa/flTAGb, pods' host veths
# flTAGc/flTAGs).
declare -A FLOOR_SEC=([floor]=from_pod [floor_neigh]=from_pod_neigh)
declare -A FLOOR_TAG=([floor]='' [floor_neigh]=n)
# The sluice configurations: sluiced's --routing and --host-routing.
declare -A MODE=([native]=native [native_stack]=native [vxlan]=vxlan
	[vxlan_stack]=vxlan)
declare -A HOSTR=([native]=bpf [native_stack]=stack [vxlan]=bpf
	[vxlan_stack]=stack)
FLOOR_POD_HOST=10	# the floor's pods: 10.244.INDEX.10
# CLI_NS/SRV_NS: the netns the client/server run in; CLI_NODE/SRV_NODE:
# the node netns; DEV: the interface a crossing packet leaves and enters
# a node by.
declare -A CLI_NS SRV_NS SRV_IP CLI_IP CLI_NODE SRV_NODE DEV STATUS SETUP
declare -A AGENT_A AGENT_B NODES
FAILED=0
AFTER=''	# checks failed after the measurements

# --- helpers ---------------------------------------------------------------

ok() { [[ -n ${SRV_IP[$1]:-} && -z ${STATUS[$1]:-} ]]; } # CONFIG: measured
ok_sluice() { [[ -n ${MODE[$1]:-} ]] && ok "$1"; } # CONFIG: sluice's, measured
is_floor() { [[ -n ${FLOOR_SEC[$1]:-} ]]; } # CONFIG: a floor configuration

fail_cfg() { # CONFIG MESSAGE: the configuration is not measured
	STATUS[$1]="FAILED: ${2//$'\n'/ / }"
	FAILED=1
	log "${LABEL[$1]}: ${STATUS[$1]}"
	return 1
}

# link_stat NS DEV DIR: DEV's packet counter in direction DIR (rx, tx).
link_stat() {
	ip -n "$1" -s -j link show dev "$2" | jq -r ".[0].stats64.$3.packets" ||
		echo 0
}

link_mtu() { # NS DEV
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].mtu'
}

status_kib() { # PID FIELD: e.g. VmRSS, in KiB; "-" when gone
	awk -v f="$2:" '$1 == f { print $2; n = 1 } END { if (!n) print "-" }' \
		"/proc/$1/status" 2>/dev/null || echo -
}

# tcp_retrans NS: TCP segments NS has retransmitted so far (RetransSegs,
# tail loss probes included): on veth nothing is lost, unless something
# on the way drops.
tcp_retrans() {
	# shellcheck disable=SC2016 # awk's $13
	bns_exec "$1" awk '/^Tcp:/ { if (h) print $13; h = 1 }' /proc/net/snmp
}

# ct_stat NS: "ENTRIES INSERT_FAILED DROP" of netfilter conntrack in NS
# (summed over the CPUs; all 0 while nothing there hooks conntrack in).
ct_stat() {
	local e=0 f=0 d=0 a
	while read -ra a; do
		[[ ${a[0]} == entries ]] && continue
		e=$((16#${a[0]})) f=$((f + 16#${a[9]})) d=$((d + 16#${a[10]}))
	done < <(bns_exec "$1" cat /proc/net/stat/nf_conntrack 2>/dev/null)
	echo "$e $f $d"
}

nft_tables() { # NS: the nftables tables in NS, "none" when none
	local t
	command -v nft >/dev/null || { echo "?"; return 0; }
	t=$(bns_exec "$1" nft list tables 2>/dev/null | sed 's/^table //' | paste -sd, -) || true
	echo "${t:-none}"
}

# loss_mark CONFIG: "CLIENT_RETRANS SERVER_RETRANS" and the client's and
# the server's node's ct_stat, now.
loss_mark() {
	local cfg=$1
	printf '%s %s %s %s' "$(tcp_retrans "${CLI_NS[$cfg]}")" \
		"$(tcp_retrans "${SRV_NS[$cfg]}")" "$(ct_stat "${CLI_NODE[$cfg]}")" \
		"$(ct_stat "${SRV_NODE[$cfg]}")"
}

# loss_add CONFIG TEST MARK0 MARK1: one run's retransmissions and conntrack
# drops, "CLI SRV FAILED DROPPED" (both nodes), added to res/CONFIG.TEST.loss.
loss_add() {
	local f=$BENCH_WORK/res/$1.$2.loss
	awk -v a="$3" -v b="$4" -v f="$f" 'BEGIN {
		split(a, x); split(b, y)
		c = y[1] - x[1]; s = y[2] - x[2]
		i = y[4] - x[4] + y[7] - x[7]; d = y[5] - x[5] + y[8] - x[8]
		if ((getline l < f) > 0) { split(l, o); c += o[1]; s += o[2]; i += o[3]; d += o[4] }
		close(f)
		print c, s, i, d > f
	}'
}

# ip_forwarded NS: IPv4 datagrams NS's stack has forwarded so far
# (ForwDatagrams): no growth while traffic crosses the node means
# something other than the stack routed it (a redirect).
ip_forwarded() {
	# shellcheck disable=SC2016 # awk's $i
	bns_exec "$1" awk '/^Ip:/ {
		if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["ForwDatagrams"] }' /proc/net/snmp
}

# to_node NODE: packets NODE's datapath routed to another node past the
# host stack so far (trace point TO_NODE, code 139, all directions).
# "-" when sluicectl cannot tell.
to_node() {
	local out
	out=$(ctl "$1" -o json metrics 2>/dev/null) &&
		jq -er '[.[] | select(.code == 139) | .packets] | add // 0' \
			<<<"$out" 2>/dev/null || echo -
}

# netkit_state: CONFIG_NETKIT of the running kernel ("is not set", "=y",
# ...), "unknown" without /proc/config.gz.
netkit_state() {
	local v
	v=$(zcat /proc/config.gz 2>/dev/null | grep -E '^(# )?CONFIG_NETKIT[= ]') || true
	case $v in
	'') echo "unknown" ;;
	'#'*) echo "is not set" ;;
	*) echo "=${v#*=}" ;;
	esac
}

mib() { # KIB: in MiB, 1 decimal
	awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f\n", k / 1024 }'
}

# --- configurations ----------------------------------------------------------

# setup_underlay: two plain hosts on the underlay (cluster.sh's
# outside_add: a netns with eth0 on the bridge, nothing else).
setup_underlay() {
	local a b
	read -r a b <<<"${IDX[underlay]}"
	if ! outside_add ula "$a" || ! outside_add ulb "$b"; then
		fail_cfg underlay "outside_add"
		return 1
	fi
	CLI_NS[underlay]=$(outside_ns ula) SRV_NS[underlay]=$(outside_ns ulb)
	CLI_NODE[underlay]=${CLI_NS[underlay]} SRV_NODE[underlay]=${SRV_NS[underlay]}
	CLI_IP[underlay]=192.168.77.$a SRV_IP[underlay]=192.168.77.$b
	DEV[underlay]=eth0
	SETUP[underlay]="192.168.77.$a on ula -> 192.168.77.$b on ulb (node netns to node netns, MTU $(link_mtu "${CLI_NS[underlay]}" eth0))"
}

# bridge_pod NODE_NS IDX ROLE: a pod netns on NODE_NS wired by the bridge
# plugin; sets BP_NS and BP_IP (not through $(...): the lists for cleanup
# must be this shell's).
bridge_pod() {
	local node=$1 idx=$2 role=$3 out conf=$BENCH_WORK/bridge-$2.conflist
	bridge_conflist "$conf" "10.244.$idx.0/24" "$idx"
	bns_add BP_NS "b$role"
	local run=(env CNI_PATH="$BENCH_REF_CNI" "$CNIRUN")
	local args=(-conflist "$conf" -netns "/run/netns/$BP_NS"
		-cid "slb-$BENCH_ID-b$role" -cache "$BENCH_WORK/bcache-$idx")
	BENCH_CLEANUPS+=("bns_exec $node ${run[*]} del ${args[*]}")
	out=$(bns_exec "$node" "${run[@]}" add "${args[@]}" 2>&1) ||
		{ log "bridge ADD: $out"; return 1; }
	BP_IP=$(jq -r '.ips[0].address' <<<"$out") || return 1
	BP_IP=${BP_IP%/*}
}

setup_bridge() {
	local a b na nb pc ps ipc ips ra rb
	read -r a b <<<"${IDX[bridge]}"
	if ! outside_add bra "$a" || ! outside_add brb "$b"; then
		fail_cfg bridge "outside_add"
		return 1
	fi
	na=$(outside_ns bra) nb=$(outside_ns brb)
	bns_exec "$na" sysctl -qw net.ipv4.ip_forward=1
	bns_exec "$nb" sysctl -qw net.ipv4.ip_forward=1
	if ! bridge_pod "$na" "$a" c || [[ -z $BP_IP ]]; then
		fail_cfg bridge "bridge plugin ADD on the client's node"
		return 1
	fi
	pc=$BP_NS ipc=$BP_IP
	if ! bridge_pod "$nb" "$b" s || [[ -z $BP_IP ]]; then
		fail_cfg bridge "bridge plugin ADD on the server's node"
		return 1
	fi
	ps=$BP_NS ips=$BP_IP
	ip -n "$na" route add "10.244.$b.0/24" via "192.168.77.$b"
	ip -n "$nb" route add "10.244.$a.0/24" via "192.168.77.$a"
	CLI_NS[bridge]=$pc SRV_NS[bridge]=$ps CLI_IP[bridge]=$ipc SRV_IP[bridge]=$ips
	CLI_NODE[bridge]=$na SRV_NODE[bridge]=$nb DEV[bridge]=eth0
	ra=$(ip -n "$na" route show "10.244.$b.0/24") rb=$(ip -n "$nb" route show "10.244.$a.0/24")
	SETUP[bridge]="$ipc on bra -> $ips on brb; pod MTU $(link_mtu "$pc" eth0); routes: bra: ${ra%% } | brb: ${rb%% }"
}

# floor_pod NODE_NS IDX ROLE: a pod netns on NODE_NS wired as sluice's
# plugin wires one, without sluice: a plain veth (host end flROLE, eth0 in
# the pod), the pod's 10.244.IDX.FLOOR_POD_HOST/32, its default route via
# 169.254.1.1 (onlink) with a permanent neighbour entry for the host end's
# MAC; on the node a /32 route to the pod via the host end and a permanent
# neighbour entry for the pod; IPv6 off at both ends. Sets FP_NS (not
# through $(...): the list for cleanup must be this shell's).
floor_pod() {
	local node=$1 ip=10.244.$2.$FLOOR_POD_HOST host=fl$3 hmac pmac
	bns_add FP_NS "f$3"
	ip -n "$node" link add "$host" type veth peer name eth0 netns "$FP_NS" &&
		bns_exec "$node" sysctl -qw "net.ipv6.conf.$host.disable_ipv6=1" &&
		bns_exec "$FP_NS" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1 &&
		hmac=$(ip -n "$node" -j link show dev "$host" | jq -er '.[0].address') &&
		pmac=$(ip -n "$FP_NS" -j link show dev eth0 | jq -er '.[0].address') &&
		ip -n "$FP_NS" addr add "$ip/32" dev eth0 &&
		ip -n "$FP_NS" link set eth0 up &&
		ip -n "$FP_NS" neigh add 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent &&
		ip -n "$FP_NS" route add default via 169.254.1.1 dev eth0 onlink &&
		ip -n "$node" link set "$host" up &&
		ip -n "$node" neigh add "$ip" lladdr "$pmac" dev "$host" nud permanent &&
		ip -n "$node" route add "$ip/32" dev "$host"
}

# floor_attach NODE_NS IDX OTHER_IDX HOST SEC: hack/bench/floor.bpf.c
# compiled for NODE_NS's pod (its address, its host veth HOST's ifindex)
# and the other node (its pod CIDR, its underlay address; eth0's ifindex)
# and attached with tc, direct-action: section SEC (from_pod or
# from_pod_neigh) on HOST's ingress, fl_from_netdev on eth0's. Prints
# tc's view of both filters.
floor_attach() {
	local node=$1 idx=$2 other=$3 host=$4 sec=$5 ifindex eth0
	local obj=$BENCH_WORK/floor-$2.bpf.o
	ifindex=$(ip -n "$node" -j link show dev "$host" | jq -er '.[0].ifindex') &&
		eth0=$(ip -n "$node" -j link show dev eth0 | jq -er '.[0].ifindex') &&
		clang -O2 -g -Wall -Wextra -Werror -target bpf \
			-I"/usr/include/$(gcc -dumpmachine)" \
			-DFLOOR_POD_IP="$(printf '0x0af4%02x%02x' "$idx" "$FLOOR_POD_HOST")" \
			-DFLOOR_POD_IFINDEX="$ifindex" \
			-DFLOOR_OTHER_NET="$(printf '0x0af4%02x00' "$other")" \
			-DFLOOR_NEXTHOP="$(printf '0xc0a84d%02x' "$other")" \
			-DFLOOR_ETH0_IFINDEX="$eth0" \
			-c "$BENCH_TOP/hack/bench/floor.bpf.c" -o "$obj" &&
		tc -n "$node" qdisc add dev "$host" clsact &&
		tc -n "$node" filter add dev "$host" ingress bpf da obj "$obj" sec "tc/$sec" &&
		tc -n "$node" qdisc add dev eth0 clsact &&
		tc -n "$node" filter add dev eth0 ingress bpf da obj "$obj" sec tc/from_netdev &&
		tc -n "$node" filter show dev "$host" ingress &&
		tc -n "$node" filter show dev eth0 ingress
}

# floor_prog NODE_NS DEV PROG: "PROG id N" when tc lists PROG, and no other
# filter, direct-action on DEV's ingress; nothing otherwise. The kernel
# keeps 15 characters of a program's name (fl_from_pod_nei).
floor_prog() {
	tc -n "$1" filter show dev "$2" ingress | awk -v p="$3" '
		/ handle / { n++; if (/ direct-action / && $0 ~ " name " substr(p, 1, 15) " ") {
			for (i = 1; i < NF; i++) if ($i == "id") id = $(i + 1) } }
		END { if (n == 1 && id != "") print p " id " id }'
}

# setup_floor CONFIG: two plain underlay nodes (outside_add, ip_forward
# on), a floor_pod on each, a route to the other's pod CIDR via its
# underlay address, and floor.bpf.c on both, its section FLOOR_SEC[CONFIG]
# on the pod's host veth: sluice's forwarding primitives and nothing else.
# The stack stays able to forward, so that check_crossing can tell a
# floor that routes from one the stack carries.
setup_floor() {
	local cfg=$1 a b na nb pc ps n d p v progs='' x=$BENCH_WORK/x.log
	local sec=${FLOOR_SEC[$1]} fl=fl${FLOOR_TAG[$1]} r=${FLOOR_TAG[$1]}
	read -r a b <<<"${IDX[$cfg]}"
	if ! outside_add "${fl}a" "$a" || ! outside_add "${fl}b" "$b"; then
		fail_cfg "$cfg" "outside_add"
		return 1
	fi
	na=$(outside_ns "${fl}a") nb=$(outside_ns "${fl}b")
	bns_exec "$na" sysctl -qw net.ipv4.ip_forward=1
	bns_exec "$nb" sysctl -qw net.ipv4.ip_forward=1
	if ! floor_pod "$na" "$a" "${r}c" >>"$x" 2>&1; then
		fail_cfg "$cfg" "the client's pod: $(tail -2 "$x")"
		return 1
	fi
	pc=$FP_NS
	if ! floor_pod "$nb" "$b" "${r}s" >>"$x" 2>&1; then
		fail_cfg "$cfg" "the server's pod: $(tail -2 "$x")"
		return 1
	fi
	ps=$FP_NS
	ip -n "$na" route add "10.244.$b.0/24" via "192.168.77.$b"
	ip -n "$nb" route add "10.244.$a.0/24" via "192.168.77.$a"
	if ! floor_attach "$na" "$a" "$b" "${fl}c" "$sec" >>"$x" 2>&1 ||
	   ! floor_attach "$nb" "$b" "$a" "${fl}s" "$sec" >>"$x" 2>&1; then
		fail_cfg "$cfg" "floor.bpf.c: $(tail -3 "$x")"
		return 1
	fi
	for n in "$na ${fl}c" "$nb ${fl}s"; do
		read -r n d <<<"$n"
		for p in "$d fl_$sec" "eth0 fl_from_netdev"; do
			v=$(floor_prog "$n" "${p% *}" "${p#* }")
			[[ -n $v ]] || { fail_cfg "$cfg" "${n##*-}: tc does not list ${p#* } alone, direct-action, on ${p% *} ingress: $(tc -n "$n" filter show dev "${p% *}" ingress | tr '\n' ' ')"; return 1; }
			progs+="${progs:+, }${n##*-} ${p% *}: $v"
		done
	done
	CLI_NS[$cfg]=$pc SRV_NS[$cfg]=$ps
	CLI_IP[$cfg]=10.244.$a.$FLOOR_POD_HOST SRV_IP[$cfg]=10.244.$b.$FLOOR_POD_HOST
	CLI_NODE[$cfg]=$na SRV_NODE[$cfg]=$nb DEV[$cfg]=eth0
	SETUP[$cfg]="${CLI_IP[$cfg]} on ${fl}a -> ${SRV_IP[$cfg]} on ${fl}b; pod MTU $(link_mtu "$pc" eth0); routes: ${fl}a: $(ip -n "$na" route show "10.244.$b.0/24" | sed 's/ *$//') | ${fl}b: $(ip -n "$nb" route show "10.244.$a.0/24" | sed 's/ *$//')"
	SETUP[$cfg]+=$'\n'"    programs (tc ingress, direct-action): $progs"
}

# node_manifest NODE IDX: a Node as the API server serves it.
node_manifest() {
	printf '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "%s"},
	  "spec": {"podCIDR": "10.244.%s.0/24"},
	  "status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.%s"}]}}' \
		"$1" "$2" "$2"
}

pod_manifest() { # NAME NODE IP
	printf '{"apiVersion": "v1", "kind": "Pod",
	  "metadata": {"namespace": "bench", "name": "%s", "uid": "uid-%s",
	    "labels": {"app": "%s"}},
	  "spec": {"nodeName": "%s", "containers": [{"name": "c", "image": "none"}]},
	  "status": {"phase": "Running", "podIP": "%s", "podIPs": [{"ip": "%s"}]}}' \
		"$1" "$1" "$1" "$2" "$3" "$3"
}

# put_manifest DIR FILE < JSON: written next to the folder, renamed in
# (the contract: the agent never reads half a file).
put_manifest() {
	cat >"$BENCH_WORK/$2.tmp"
	mv "$BENCH_WORK/$2.tmp" "$1/$2"
}

# agent_state NODE: "IN_SYNC MODE ROUTES FAILED POD_MTU PODS
# ENDPOINTS_WITHOUT_POD" from sluicectl status.
agent_state() {
	ctl "$1" -o json status 2>/dev/null | jq -r '[.inSync, .routing.mode,
		.routing.routes, .routing.failed, .routing.podMTU,
		.objects.Pod, .endpointsWithoutPod] | map(tostring) | join(" ")' \
		2>/dev/null || echo "- - - - - - -"
}

agent_error() { # NODE: the last error its agent logged
	{ grep 'level=error' "$BENCH_WORK/agent-$1.log" || tail -1 "$BENCH_WORK/agent-$1.log"; } |
		tail -1 | sed 's/.* msg=//'
}

# wait_agent CONFIG NODE PID MODE PODS: until NODE's agent is in sync with
# one route (to the other node), none refused, the pod MTU known, PODS
# Pods in its model and every local endpoint matched to its Pod (10 s).
wait_agent() {
	local cfg=$1 node=$2 pid=$3 mode=$4 pods=$5 i s
	for ((i = 0; i < 500; i++)); do
		s=$(agent_state "$node")
		[[ $s == "true $mode 1 0 "[1-9]*" $pods 0" ]] && return 0
		kill -0 "$pid" 2>/dev/null ||
			{ fail_cfg "$cfg" "sluiced on $node died: $(agent_error "$node")"; return 1; }
		sleep 0.02
	done
	fail_cfg "$cfg" "sluiced on $node: status says inSync/mode/routes/refused/podMTU/pods/endpointsWithoutPod = $s, want true $mode 1 0 >0 $pods 0 ($(ctl "$node" status 2>&1 | grep -i '^routing'))"
}

# check_route CONFIG NODE OTHER_IDX MODE: NODE's route to the other node's
# pod CIDR is the agent's (protocol 0x5c, which iproute2 prints as 92
# when its rt_protos does not name it) and goes where MODE says.
check_route() {
	local cfg=$1 node=$2 idx=$3 mode=$4 r want
	r=$(ip -n "$(node_ns "$node")" route show "10.244.$idx.0/24")
	r=${r%% }
	if [[ $mode == native ]]; then
		want="via 192\.168\.77\.$idx dev eth0 proto (0x5c|92)"
	else
		want="dev sluice_vxlan proto (0x5c|92) scope link"
	fi
	[[ $r =~ ^10\.244\.$idx\.0/24\ $want ]] ||
		{ fail_cfg "$cfg" "$node's route to 10.244.$idx.0/24 is '$r', want '$want'"; return 1; }
	ROUTES+="${ROUTES:+ | }$node: $r"
}

# setup_sluice CONFIG: two sluice nodes with their agents (--routing
# MODE[CONFIG], --host-routing HOSTR[CONFIG]), the client pod on the
# first, the server pod on the second.
setup_sluice() {
	local cfg=$1 mode=${MODE[$1]} hr=${HOSTR[$1]} a b na nb dir ipc ips
	local want_mtu m v ROUTES=''
	read -r a b <<<"${IDX[$cfg]}"
	na=${cfg//_/-}1 nb=${cfg//_/-}2	# a Node's name has no "_"
	NODES[$cfg]="$na $nb"
	want_mtu=$UNDERLAY_MTU
	[[ $mode == vxlan ]] && want_mtu=$((UNDERLAY_MTU - VXLAN_OVERHEAD))
	# No "mtu" in the conflists: the plugin takes the pod MTU from the
	# agent's node record, which is what VXLAN needs (1450).
	if ! SL_NODE_MTU='' node_add "$na" "$a" >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! SL_NODE_MTU='' node_add "$nb" "$b" >>"$BENCH_WORK/x.log" 2>&1; then
		fail_cfg "$cfg" "node_add: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	dir=$BENCH_WORK/manifests-$cfg
	mkdir -p "$dir"
	printf '{"apiVersion": "v1", "kind": "List", "items": [%s,\n%s,
	  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}]}\n' \
		"$(node_manifest "$na" "$a")" "$(node_manifest "$nb" "$b")" |
		put_manifest "$dir" cluster.json
	agent_start "$na" --source "$dir" --routing "$mode" --host-routing "$hr"
	AGENT_A[$cfg]=$AGENT
	agent_start "$nb" --source "$dir" --routing "$mode" --host-routing "$hr"
	AGENT_B[$cfg]=$AGENT
	wait_agent "$cfg" "$na" "${AGENT_A[$cfg]}" "$mode" 0 &&
		wait_agent "$cfg" "$nb" "${AGENT_B[$cfg]}" "$mode" 0 || return 1
	for m in "$na" "$nb"; do
		v=$(ctl "$m" -o json status 2>/dev/null | jq -r '.routing.hostRouting' 2>/dev/null) || true
		[[ $v == "$hr" ]] ||
			{ fail_cfg "$cfg" "$m's status: host routing '$v', want $hr"; return 1; }
	done
	for m in "$na" "$nb"; do
		v=$(jq -r '.mtu // empty' "$(node_run_dir "$m")/node.json" 2>/dev/null) || true
		[[ $v == "$want_mtu" ]] ||
			{ fail_cfg "$cfg" "$m's node.json: mtu '$v', want $want_mtu"; return 1; }
	done
	if ! ipc=$(pod_add "$na" client bench 2>>"$BENCH_WORK/x.log") ||
	   ! ips=$(pod_add "$nb" server bench 2>>"$BENCH_WORK/x.log") ||
	   [[ -z $ipc || -z $ips ]]; then
		fail_cfg "$cfg" "pod_add: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	printf '{"apiVersion": "v1", "kind": "List", "items": [%s,\n%s]}\n' \
		"$(pod_manifest client "$na" "$ipc")" \
		"$(pod_manifest server "$nb" "$ips")" | put_manifest "$dir" pods.json
	wait_agent "$cfg" "$na" "${AGENT_A[$cfg]}" "$mode" 2 &&
		wait_agent "$cfg" "$nb" "${AGENT_B[$cfg]}" "$mode" 2 || return 1
	check_route "$cfg" "$na" "$b" "$mode" &&
		check_route "$cfg" "$nb" "$a" "$mode" || return 1
	if [[ $mode == vxlan ]]; then
		for m in "$na" "$nb"; do
			v=$(ip -n "$(node_ns "$m")" -d -j link show dev sluice_vxlan 2>/dev/null |
				jq -r '.[0] | "\(.linkinfo.info_kind) external=\(.linkinfo.info_data.external) port=\(.linkinfo.info_data.port) mtu=\(.mtu)"' 2>/dev/null) || true
			[[ $v == "vxlan external=true port=8472 mtu=$want_mtu" ]] ||
				{ fail_cfg "$cfg" "$m's sluice_vxlan: '$v', want vxlan external=true port=8472 mtu=$want_mtu"; return 1; }
		done
		DEV[$cfg]=sluice_vxlan
	else
		[[ -z $(ip -n "$(node_ns "$na")" link show dev sluice_vxlan 2>/dev/null) ]] ||
			{ fail_cfg "$cfg" "$na has a sluice_vxlan device in native mode"; return 1; }
		DEV[$cfg]=eth0
	fi
	CLI_NS[$cfg]=$(pod_ns "$na" client) SRV_NS[$cfg]=$(pod_ns "$nb" server)
	CLI_IP[$cfg]=$ipc SRV_IP[$cfg]=$ips
	CLI_NODE[$cfg]=$(node_ns "$na") SRV_NODE[$cfg]=$(node_ns "$nb")
	for m in "${CLI_NS[$cfg]}" "${SRV_NS[$cfg]}"; do
		v=$(link_mtu "$m" eth0) || true
		[[ $v == "$want_mtu" ]] ||
			{ fail_cfg "$cfg" "pod netns $m: eth0 MTU $v, want $want_mtu"; return 1; }
	done
	SETUP[$cfg]="$ipc on $na -> $ips on $nb; pod MTU $want_mtu; routes: $ROUTES"
	for m in "$na" "$nb"; do
		v=$(ctl "$m" status 2>&1 | sed -n 's/^routing: *//p') || true
		SETUP[$cfg]+=$'\n'"    $m status: routing $v"
	done
}

# check_crossing CONFIG: a 1 s RR run from the client to the server; the
# client node's DEV sent, and the server node's DEV received, at least a
# packet per transaction (each is a request one way and a response the
# other). Then check_routed on the same run. Fails the configuration
# otherwise. A connection first, uncounted: a packet that finds its next
# hop's neighbour entry unresolved goes through the stack, even on the
# floor, and the counted run must not depend on who came first.
check_crossing() {
	local cfg=$1 tx0 rx0 tx1 rx1 out txns f0 g0 n0=- n1=- node=''
	bns_exec "${CLI_NS[$cfg]}" timeout 5 bash -c \
		": <>/dev/tcp/${SRV_IP[$cfg]}/$RR_PORT" 2>/dev/null || true
	[[ -n ${MODE[$cfg]:-} ]] && node=${NODES[$cfg]%% *}
	tx0=$(link_stat "${CLI_NODE[$cfg]}" "${DEV[$cfg]}" tx)
	rx0=$(link_stat "${SRV_NODE[$cfg]}" "${DEV[$cfg]}" rx)
	f0=$(ip_forwarded "${CLI_NODE[$cfg]}") g0=$(ip_forwarded "${SRV_NODE[$cfg]}")
	[[ -n $node ]] && n0=$(to_node "$node")
	if ! out=$(bns_exec "${CLI_NS[$cfg]}" timeout 10 "$RR" client \
		-H "${SRV_IP[$cfg]}" -p "$RR_PORT" -m rr -t 1 -w 0 2>&1); then
		fail_cfg "$cfg" "${CLI_IP[$cfg]} cannot reach ${SRV_IP[$cfg]}:$RR_PORT: $out"
		return 1
	fi
	tx1=$(link_stat "${CLI_NODE[$cfg]}" "${DEV[$cfg]}" tx)
	rx1=$(link_stat "${SRV_NODE[$cfg]}" "${DEV[$cfg]}" rx)
	[[ -n $node ]] && n1=$(to_node "$node")
	txns=$(field "$out" txns)
	if ((${txns:-0} < 100 || tx1 - tx0 < txns || rx1 - rx0 < txns)); then
		fail_cfg "$cfg" "traffic did not cross: $txns transactions, client node ${DEV[$cfg]} sent $((tx1 - tx0)), server node ${DEV[$cfg]} received $((rx1 - rx0)) packets"
		return 1
	fi
	SETUP[$cfg]+=$'\n'"    crossed: $txns RR transactions in 1 s; client node ${DEV[$cfg]} sent $((tx1 - tx0)), server node ${DEV[$cfg]} received $((rx1 - rx0)) packets"
	check_routed "$cfg" "$txns" $(($(ip_forwarded "${CLI_NODE[$cfg]}") - f0)) \
		$(($(ip_forwarded "${SRV_NODE[$cfg]}") - g0)) "$n0" "$n1"
}

# check_routed CONFIG TXNS FWD_CLI FWD_SRV TO_NODE0 TO_NODE1: who routed
# check_crossing's run of TXNS transactions, in which the client's and the
# server's node stacks forwarded FWD_CLI and FWD_SRV packets and the client
# node's TO_NODE counter went from TO_NODE0 to TO_NODE1 ("-" when not a
# sluice node). On the floors the stacks forwarded nothing: both programs
# ran and redirected every packet both ways. On a sluice node with host
# routing bpf, TO_NODE grew by TXNS at least (every request past the
# stack); with stack it did not grow. Fails the configuration otherwise.
check_routed() {
	local cfg=$1 txns=$2 fc=$3 fs=$4 line d
	line="node stacks forwarded $fc (client node) and $fs (server node) packets"
	if is_floor "$cfg"; then
		((fc == 0 && fs == 0)) || {
			fail_cfg "$cfg" "the floor did not route: over $txns transactions the $line; floor.bpf.c must redirect all"
			return 1
		}
		SETUP[$cfg]+=$'\n'"    routed by floor.bpf.c: $line"
		return 0
	fi
	if [[ -z ${MODE[$cfg]:-} ]]; then
		SETUP[$cfg]+=$'\n'"    $line"
		return 0
	fi
	[[ $5 != - && $6 != - ]] || {
		fail_cfg "$cfg" "sluicectl metrics on ${NODES[$cfg]%% *} failed"
		return 1
	}
	d=$(($6 - $5))
	line="client node's TO_NODE +$d; $line"
	if [[ ${HOSTR[$cfg]} == bpf ]] && ((d < txns)); then
		fail_cfg "$cfg" "host routing bpf, but the datapath did not route: over $txns transactions $line"
		return 1
	elif [[ ${HOSTR[$cfg]} == stack ]] && ((d != 0)); then
		fail_cfg "$cfg" "host routing stack, but the datapath routed: over $txns transactions $line"
		return 1
	fi
	SETUP[$cfg]+=$'\n'"    routed by the ${HOSTR[$cfg]/bpf/datapath}: $line"
}

# --- tests ---------------------------------------------------------------

# measure CONFIG TEST: one run of TEST (rr, crr, tput) on CONFIG; a row
# in res/CONFIG.TEST (lib.sh's measure_clean), and its retransmissions and
# conntrack drops (redone runs included) in res/CONFIG.TEST.loss.
measure() {
	local cfg=$1 t=$2 m0 p0
	m0=$(loss_mark "$cfg")
	((PROG_STATS)) && p0=$(prog_stats_snap "${PROG_IDS[$cfg]:-}")
	measure1 "$cfg" "$t"
	loss_add "$cfg" "$t" "$m0" "$(loss_mark "$cfg")"
	((PROG_STATS)) && prog_stats_add "$BENCH_WORK/res/$cfg.$t.prog" \
		"$p0" "$(prog_stats_snap "${PROG_IDS[$cfg]:-}")"
	return 0
}

measure1() {
	local cfg=$1 t=$2
	R_P50=- R_P99=- R_ERR=0
	if [[ $t == tput ]]; then
		measure_clean "$cfg" "$t" run_iperf "$cfg" || return 0
		printf ' %.1f Gbit/s' "$R_RATE" >&2
		((R_CLEAN)) || printf '(kept, busy)' >&2
	else
		rr_measure "$cfg" "$t" "${CLI_NS[$cfg]}" "${SRV_IP[$cfg]}" "$RR_PORT"
	fi
	return 0
}

# --- report --------------------------------------------------------------

clean_n() { awk '$6 == 1' "$1" 2>/dev/null | wc -l; } # FILE: clean runs

# ratio_row A B: the ratios A/B of the medians and (paired) per test. A
# ratio of medians gets "~" (and MIXED is set) when one side has clean
# runs and the other none: it then compares clean runs with busy ones.
ratio_row() {
	local res=$BENCH_WORK/res t r
	[[ " $CONFIGS " == *" $1 "* && " $CONFIGS " == *" $2 "* ]] || return 0
	ok "$1" && ok "$2" || return 0
	printf '%-24s' "$1 / $2"
	for t in rr crr tput; do
		r=$(ratio "$(res_med "$res/$1.$t")" "$(res_med "$res/$2.$t")")
		if (( ($(clean_n "$res/$1.$t") > 0) != ($(clean_n "$res/$2.$t") > 0) )); then
			r+="~"
			MIXED=1
		fi
		printf ' %-24s' "$r ($(res_paired "$res/$1.$t" "$res/$2.$t"))"
	done
	echo
}

tname() { # TEST: its name in a sentence
	case $1 in rr) echo RR ;; crr) echo CRR ;; *) echo throughput ;; esac
}

# test_ratios A B: " RR r, CRR r, throughput r", the ratios A/B of the
# medians per test.
test_ratios() {
	local t out=''
	for t in rr crr tput; do
		out+=" $(tname "$t") $(ratio "$(res_med "$BENCH_WORK/res/$1.$t")" \
			"$(res_med "$BENCH_WORK/res/$2.$t")"),"
	done
	echo "${out%,}"
}

metgoal() { # RATIO GOAL
	awk -v r="$1" -v g="$2" 'BEGIN { print (r != "-" && r >= g) ? "met" : "NOT met" }'
}

report() {
	local cfg t r res=$BENCH_WORK/res s noisy=0 line a b MIXED=0
	echo "sluice cross-node benchmark, pod on node 1 to pod on node 2"
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $REPS reps x ${SECS} s (+1 s warm-up)," \
		"client CPU0, server CPU1; nodes are netns on one kernel (veth +" \
		"bridge + veth between them)"
	report_env
	echo
	echo "Setup"
	for cfg in $CONFIGS; do
		if [[ -n ${STATUS[$cfg]:-} ]]; then
			printf '  %-12s %s\n' "${LABEL[$cfg]}" "${STATUS[$cfg]}"
		else
			printf '  %-12s %s\n' "${LABEL[$cfg]}" "${SETUP[$cfg]}"
		fi
	done
	echo
	echo "Median [min-max] over the clean runs, n clean/all (see below)"
	printf '%-12s %-28s %-28s %-26s\n' config "TCP_RR (trans/s)" \
		"TCP_CRR (trans/s)" "iperf3 (Gbit/s)"
	for cfg in $CONFIGS; do
		if ! ok "$cfg"; then
			printf '%-12s %s\n' "${LABEL[$cfg]}" "${STATUS[$cfg]:-not set up}"
			continue
		fi
		printf '%-12s %-28s %-28s %-26s\n' "${LABEL[$cfg]}" \
			"$(res_cell "$res/$cfg.rr")" "$(res_cell "$res/$cfg.crr")" \
			"$(res_cell "$res/$cfg.tput" %.2f)"
	done
	echo
	echo "Latency, median over the same runs of each run's percentile (us)"
	printf '%-12s %8s %8s %8s %8s %11s\n' config "RR p50" "RR p99" \
		"CRR p50" "CRR p99" "CRR errors"
	for cfg in $CONFIGS; do
		ok "$cfg" || continue
		printf '%-12s %8s %8s %8s %8s %11s\n' "${LABEL[$cfg]}" \
			"$(res_med "$res/$cfg.rr" 3)" "$(res_med "$res/$cfg.rr" 4)" \
			"$(res_med "$res/$cfg.crr" 3)" "$(res_med "$res/$cfg.crr" 4)" \
			"$(awk '{ s += $5 } END { print s + 0 }' "$res/$cfg.crr" \
				2>/dev/null || echo -)"
	done
	echo
	echo "Ratios of the medians, and in brackets the median [min-max] of the"
	echo "per-repetition ratios (paired runs seconds apart: steadier)"
	printf '%-24s %-24s %-24s %-24s\n' "" TCP_RR TCP_CRR iperf3
	ratio_row native underlay
	ratio_row vxlan underlay
	ratio_row native bridge
	ratio_row vxlan native
	ratio_row bridge underlay
	ratio_row floor underlay
	ratio_row floor_neigh underlay
	ratio_row floor_neigh floor
	ratio_row native floor
	ratio_row native native_stack
	ratio_row vxlan vxlan_stack
	((MIXED)) && echo "~: one side had no clean run, its median is over busy runs: read the paired ratio"
	echo
	if ok native && ok underlay; then
		line="Goal: native/underlay >= 0.95 on RR, CRR and throughput:"
		for t in rr crr tput; do
			r=$(ratio "$(res_med "$res/native.$t")" "$(res_med "$res/underlay.$t")")
			line+=" $(tname "$t") $r $(metgoal "$r" 0.95),"
		done
		echo "${line%,}"
	else
		echo "Goal: native/underlay >= 0.95 on RR, CRR and throughput: not" \
			"measured (native or underlay not run or failed, see above)"
	fi
	if ok floor && ok underlay; then
		line="Floor: floor/underlay$(test_ratios floor underlay)"
		line+=": what forwarding alone costs, with sluice's"
		line+=" primitives (FIB lookup and redirect out, redirect_peer in)"
		line+=" and nothing else, on the pod's veth (each packet one pass more"
		line+=" through a per-CPU backlog than on the underlay's path; netkit"
		line+=" would spare it: CONFIG_NETKIT $(netkit_state) in this kernel);"
		if ok floor_neigh; then
			line+=" floor_neigh/underlay$(test_ratios floor_neigh underlay)"
			line+=": the same with the next hop known in advance"
			line+=" (bpf_redirect_neigh: no FIB lookup);"
		fi
		echo "$line native/floor: what sluice's per-packet work (conntrack," \
			"policy, Services, flows) costs on top." | fmt -w 76 | sed '2,$s/^/  /'

	fi
	if ok vxlan && ok native; then
		line="VXLAN's cost against native (1 - vxlan/native of the medians):"
		for t in rr crr tput; do
			line+=" $(tname "$t") $(awk -v a="$(res_med "$res/vxlan.$t")" \
				-v b="$(res_med "$res/native.$t")" 'BEGIN {
				if (a == "-" || b == "-" || b + 0 == 0) print "-"
				else printf "%.0f%%\n", (1 - a / b) * 100 }'),"
		done
		echo "${line%,} (pod MTU $((UNDERLAY_MTU - VXLAN_OVERHEAD)) vs $UNDERLAY_MTU)"
	fi
	echo "Reference (Cilium's 2021 benchmark, bare metal, 100 GbE): eBPF" \
		"host-routing / node-to-node ~0.95 RR, ~0.96 CRR, ~1.01 stream"
	echo
	for cfg in $CONFIGS; do
		ok_sluice "$cfg" || continue
		read -r a b <<<"${NODES[$cfg]}"
		echo "$cfg agents, VmRSS at the end (peak VmHWM): $a $(mib "${RSS_A[$cfg]}")" \
			"MiB ($(mib "${HWM_A[$cfg]}")), $b $(mib "${RSS_B[$cfg]}") MiB" \
			"($(mib "${HWM_B[$cfg]}"))"
	done
	[[ -n $AFTER ]] && echo "FAILED: $AFTER"
	if ((PROG_STATS)); then
		echo
		echo "Datapath programs (BENCH_PROG_STATS=1): mean run time per packet,"
		echo "over every run of the test, both nodes (the kernel's bpf_stats,"
		echo "which add two clock reads to each run; rates above are lower for it)"
		for cfg in $CONFIGS; do
			ok "$cfg" || continue
			is_floor "$cfg" || ok_sluice "$cfg" || continue
			for t in rr crr tput; do
				printf '  %-12s %-5s %s\n' "$cfg" "$t" \
					"$(prog_stats_cells "$res/$cfg.$t.prog")"
			done
		done
	fi
	echo
	echo "Loss, all runs summed (redone ones too): TCP segments retransmitted"
	echo "(tail loss probes included) by client/server, and packets netfilter"
	echo "conntrack dropped in the two node netns (insert_failed/drop; conntrack"
	echo "runs in a node netns once it has nftables tables: listed)"
	printf '%-12s %-12s %-12s %-12s %-12s %s\n' config "RR retr" "CRR retr" \
		"iperf3 retr" "ct drops" "nftables (client node; server node)"
	for cfg in $CONFIGS; do
		ok "$cfg" || continue
		cat "$res/$cfg".{rr,crr,tput}.loss 2>/dev/null | awk -v l="$cfg" \
			-v r="$(cat "$res/$cfg.rr.loss" 2>/dev/null)" \
			-v c="$(cat "$res/$cfg.crr.loss" 2>/dev/null)" \
			-v t="$(cat "$res/$cfg.tput.loss" 2>/dev/null)" \
			-v nft="${NFT_CLI[$cfg]:-?}; ${NFT_SRV[$cfg]:-?}" '
			{ i += $3; d += $4 }
			function rs(s, a) { if (split(s, a) < 2) return "-"; return a[1] "/" a[2] }
			END { printf "%-12s %-12s %-12s %-12s %-12s %s\n", l, rs(r), rs(c),
				rs(t), i "/" d, nft }'
		if grep -qv ' 0 0$' "$res/$cfg".{rr,crr,tput}.loss 2>/dev/null; then
			echo "  ${LABEL[$cfg]}: netfilter conntrack DROPPED packets in a node netns:" \
				"each costs its connection a retransmission timeout (>= 200 ms)"
		fi
	done
	echo
	echo "Clean run: other processes used at most ${BUSY_PCT}% of a CPU" \
		"while it ran;"
	echo "busy runs were redone up to $RETRIES times: $(wc -l <"$res/redone") redone, $(cat "$res"/*.rr "$res"/*.crr \
		"$res"/*.tput 2>/dev/null | awk '$6 == 0' | wc -l) kept busy" \
		"(* = no clean run: all used)."
	for cfg in $CONFIGS; do
		ok "$cfg" || continue
		for t in rr crr tput; do
			s=$(res_spread "$res/$cfg.$t")
			if ((s > 10)); then
				echo "noisy: ${LABEL[$cfg]} $t spread ${s}% of the median"
				noisy=1
			fi
		done
		if [[ -s $BENCH_WORK/$cfg.errors ]]; then
			echo "failed runs in ${LABEL[$cfg]}: $(grep -c . \
				"$BENCH_WORK/$cfg.errors") lines of errors"
		fi
	done
	((noisy)) && echo "(spread above 10%: a busy machine, or a test that is" \
		"unsteady here; single-stream iperf3 over veth swings widely" \
		"even when idle. Trust the paired ratios' ranges.)"
	return 0
}

# --- main ----------------------------------------------------------------

declare -A RSS_A RSS_B HWM_A HWM_B NFT_CLI NFT_SRV PROG_IDS

main() {
	local cfg t active=() want_sluice
	bench_init crossnode
	bench_build
	for t in iperf3 jq taskset; do
		command -v "$t" >/dev/null || { log "$t is missing"; exit 1; }
	done
	for cfg in $CONFIGS; do
		[[ -n ${IDX[$cfg]:-} ]] || { log "unknown configuration $cfg"; exit 2; }
	done
	mkdir -p "$BENCH_WORK/res" "$BENCH_OUT"
	: >"$BENCH_WORK/res/redone"
	BUILD_INFO="no sluice build"
	snapshot_bins
	# lib.sh names build/bin and the tree whatever BENCH_BIN says.
	[[ -n $SNAP && $BENCH_BIN != "$BENCH_TOP/build/bin" ]] &&
		BUILD_INFO="$BENCH_BIN/sluice of $(date -u -d @"$(stat -c %Y \
			"$BENCH_BIN/sluice")" +%Y-%m-%dT%H:%MZ) (BENCH_BIN)"
	want_sluice=0
	for cfg in $CONFIGS; do
		[[ -n ${MODE[$cfg]:-} ]] && want_sluice=1
	done
	if [[ -z $SNAP ]] && ((want_sluice)); then
		log "build/bin/sluice, sluiced or sluicectl is missing (run make first)"
		exit 1
	fi
	if [[ -n $SNAP ]] && ! "$SNAP/sluiced" --help 2>&1 | grep -q -- --routing; then
		log "sluiced has no --routing (too old a build)"
		exit 1
	fi
	if ((want_sluice)) && ! "$SNAP/sluiced" --help 2>&1 | grep -q -- --host-routing; then
		log "sluiced has no --host-routing (too old a build)"
		exit 1
	fi
	if [[ " $CONFIGS " == *" floor "* || " $CONFIGS " == *" floor_neigh "* ]] &&
		! command -v clang >/dev/null; then
		log "clang is missing (the floors compile hack/bench/floor.bpf.c)"
		exit 1
	fi
	START_ENV=$(bench_env_line)
	if ((PROG_STATS)) && ! prog_stats_on; then
		log "BENCH_PROG_STATS=1: cannot turn kernel.bpf_stats_enabled on"
		exit 1
	fi
	cluster_start

	for cfg in $CONFIGS; do
		log "setting up ${LABEL[$cfg]}"
		case $cfg in
		underlay) setup_underlay || continue ;;
		bridge) setup_bridge || continue ;;
		floor | floor_neigh) setup_floor "$cfg" || continue ;;
		*) setup_sluice "$cfg" || continue ;;
		esac
		client_tune "${CLI_NS[$cfg]}"
		start_servers "$cfg" ||
			{ fail_cfg "$cfg" "servers did not start"; continue; }
		check_crossing "$cfg" || continue
		active+=("$cfg")
	done

	# Configurations alternate test by test, so the runs compared with
	# each other are seconds apart and a busy spell of the shared machine
	# hits all of them rather than one.
	for cfg in "${active[@]}"; do
		NFT_CLI[$cfg]=$(nft_tables "${CLI_NODE[$cfg]}")
		NFT_SRV[$cfg]=$(nft_tables "${SRV_NODE[$cfg]}")
		# BENCH_PROG_STATS times this configuration's programs only.
		((PROG_STATS)) && PROG_IDS[$cfg]=$(prog_ids_in "${CLI_NODE[$cfg]}" \
			"${SRV_NODE[$cfg]}")
	done
	for ((REP = 1; REP <= REPS; REP++)); do
		for t in rr crr tput; do
			printf 'rep %d/%d %-5s' "$REP" "$REPS" "$t" >&2
			for cfg in "${active[@]}"; do
				printf ' %s' "$cfg" >&2
				measure "$cfg" "$t"
			done
			echo >&2
		done
	done
	for cfg in $CONFIGS; do
		ok_sluice "$cfg" || continue
		RSS_A[$cfg]=$(status_kib "${AGENT_A[$cfg]}" VmRSS)
		HWM_A[$cfg]=$(status_kib "${AGENT_A[$cfg]}" VmHWM)
		RSS_B[$cfg]=$(status_kib "${AGENT_B[$cfg]}" VmRSS)
		HWM_B[$cfg]=$(status_kib "${AGENT_B[$cfg]}" VmHWM)
		# Still the expected routes after the run (none lost, none refused).
		for t in ${NODES[$cfg]}; do
			[[ $(agent_state "$t") == "true ${MODE[$cfg]} 1 0 "* ]] && continue
			AFTER+="${AFTER:+; }$cfg: after the run, $t's status says inSync/mode/routes/refused/podMTU/pods/endpointsWithoutPod = $(agent_state "$t")"
			FAILED=1
		done
	done

	report | tee "$BENCH_OUT/crossnode.txt"
	((!FAILED)) || { log "crossnode: a configuration failed (see above)"; exit 1; }
}

main "$@"

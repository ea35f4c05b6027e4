#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Cross-node pod-to-pod datapath benchmark: a client pod on one node, its
# server pod on another, TCP_RR, TCP_CRR (hack/bench/rr.c) and iperf3
# single-stream throughput, side by side in one run, for
#
#   underlay  node to node: the client in one node netns, the server in
#             another, over their underlay addresses (192.168.77.x). No
#             CNI, no BPF: the baseline
#   native    sluice, sluiced --routing native on both nodes (a route per
#             other node: its podCIDR via its InternalIP)
#   vxlan     sluice, sluiced --routing vxlan on both nodes (sluice_vxlan,
#             collect metadata, UDP 8472; pod MTU = underlay MTU - 50)
#   bridge    the reference CNI bridge plugin (isGateway, no masquerade)
#             with host-local IPAM on each node, and a host route per other
#             node (its pod CIDR via its underlay address): Calico's or
#             flannel host-gw's layout
#
# Every configuration is its own pair of node netns on hack/lib/cluster.sh's
# underlay bridge (its own addresses and pod CIDRs 10.244.INDEX.0/24), set
# up once. The "nodes" share one kernel: cross-node here is pod veth, node
# routing, the node's underlay veth, a bridge, the other node's underlay
# veth and its routing to the pod. The sluice nodes get a manifests folder
# with both Node objects and both Pods; before measuring, the script checks
# the routes in each node netns, that `sluicectl status` counts one route
# (to the other node) and none refused, the pods' MTU, and that a short RR
# run crossed: the client node's interface (eth0, or sluice_vxlan) sent
# and the server node's received at least a packet per transaction. A
# configuration failing a check is reported as failed, not measured, and
# the script exits 1 after the report.
#
# The client runs pinned to CPU0, the servers to CPU1; the agents are
# pinned nowhere. Each repetition runs every test on every configuration
# in turn (quiet-moment wait, busy-run redo and clean/all accounting as in
# datapath.sh); the table gives medians [min-max], per-run p50/p99, then
# ratios of the medians and the median [min-max] of the paired
# per-repetition ratios: native/underlay (goal >= 0.95 on RR, CRR and
# throughput), vxlan/underlay, native/bridge, vxlan/native (VXLAN's cost)
# and bridge/underlay. Per sluice configuration it also gives the agents'
# RSS at the end of the run, and per configuration and test what was lost:
# TCP segments the client and the server retransmitted and packets
# netfilter conntrack dropped in the node netns (insert_failed), with the
# nftables tables that put conntrack there.
#
# Environment: BENCH_REPS (5), BENCH_SECS (4, per run, plus 1 s warm-up),
# BENCH_CROSSNODE_CONFIGS ("underlay native vxlan bridge"), BENCH_RETRIES
# (1), BENCH_BUSY_PCT (10), BENCH_QUIET_WAIT (30 s).
# Output: stdout and build/bench/crossnode.txt. About 8 minutes on a quiet
# machine.
#
# sluice runs from copies of build/bin taken at the start (snapshot_bins),
# in a private mount namespace (bench_private_mounts).
set -euo pipefail

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_private_mounts "$@"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-4}
CONFIGS=${BENCH_CROSSNODE_CONFIGS:-"underlay native vxlan bridge"}
RETRIES=${BENCH_RETRIES:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
RR_PORT=7000
IPERF_PORT=5201
UNDERLAY_MTU=1500	# cluster.sh's veths: the kernel's default
VXLAN_OVERHEAD=50	# outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14

# Per configuration: its node pair's underlay indexes (192.168.77.INDEX,
# pod CIDR 10.244.INDEX.0/24), so configurations never share an address.
declare -A IDX=([underlay]="1 2" [native]="3 4" [vxlan]="5 6" [bridge]="7 8")
declare -A LABEL=([underlay]="underlay" [native]="native" [vxlan]="vxlan" \
	[bridge]="bridge")
# CLI_NS/SRV_NS: the netns the client/server run in; CLI_NODE/SRV_NODE:
# the node netns; DEV: the interface a crossing packet leaves and enters
# a node by.
declare -A CLI_NS SRV_NS SRV_IP CLI_IP CLI_NODE SRV_NODE DEV STATUS SETUP
declare -A AGENT_A AGENT_B NODES
FAILED=0
AFTER=''	# checks failed after the measurements

# --- helpers ---------------------------------------------------------------

ok() { [[ -n ${SRV_IP[$1]:-} && -z ${STATUS[$1]:-} ]]; } # CONFIG: measured

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

# setup_sluice CONFIG MODE: two sluice nodes with their agents (--routing
# MODE), the client pod on the first, the server pod on the second.
setup_sluice() {
	local cfg=$1 mode=$2 a b na nb dir ipc ips want_mtu m v ROUTES=''
	read -r a b <<<"${IDX[$cfg]}"
	na=${cfg}1 nb=${cfg}2
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
	agent_start "$na" --source "$dir" --routing "$mode"
	AGENT_A[$cfg]=$AGENT
	agent_start "$nb" --source "$dir" --routing "$mode"
	AGENT_B[$cfg]=$AGENT
	wait_agent "$cfg" "$na" "${AGENT_A[$cfg]}" "$mode" 0 &&
		wait_agent "$cfg" "$nb" "${AGENT_B[$cfg]}" "$mode" 0 || return 1
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

# start_servers CONFIG: rr and iperf3 servers on CPU1 for the whole run.
start_servers() {
	local cfg=$1 ns=${SRV_NS[$1]}
	bench_bg "$BENCH_WORK/$cfg.server.log" "$ns" taskset -c 1 \
		"$RR" server -p "$RR_PORT"
	bench_bg "$BENCH_WORK/$cfg.server.log" "$ns" taskset -c 1 \
		iperf3 -s -p "$IPERF_PORT"
	wait_listen "$ns" "$RR_PORT" && wait_listen "$ns" "$IPERF_PORT"
}

# check_crossing CONFIG: a 1 s RR run from the client to the server; the
# client node's DEV sent, and the server node's DEV received, at least a
# packet per transaction (each is a request one way and a response the
# other). Fails the configuration otherwise.
check_crossing() {
	local cfg=$1 tx0 rx0 tx1 rx1 out txns
	tx0=$(link_stat "${CLI_NODE[$cfg]}" "${DEV[$cfg]}" tx)
	rx0=$(link_stat "${SRV_NODE[$cfg]}" "${DEV[$cfg]}" rx)
	if ! out=$(bns_exec "${CLI_NS[$cfg]}" timeout 10 "$RR" client \
		-H "${SRV_IP[$cfg]}" -p "$RR_PORT" -m rr -t 1 -w 0 2>&1); then
		fail_cfg "$cfg" "${CLI_IP[$cfg]} cannot reach ${SRV_IP[$cfg]}:$RR_PORT: $out"
		return 1
	fi
	tx1=$(link_stat "${CLI_NODE[$cfg]}" "${DEV[$cfg]}" tx)
	rx1=$(link_stat "${SRV_NODE[$cfg]}" "${DEV[$cfg]}" rx)
	txns=$(field "$out" txns)
	if ((${txns:-0} < 100 || tx1 - tx0 < txns || rx1 - rx0 < txns)); then
		fail_cfg "$cfg" "traffic did not cross: $txns transactions, client node ${DEV[$cfg]} sent $((tx1 - tx0)), server node ${DEV[$cfg]} received $((rx1 - rx0)) packets"
		return 1
	fi
	SETUP[$cfg]+=$'\n'"    crossed: $txns RR transactions in 1 s; client node ${DEV[$cfg]} sent $((tx1 - tx0)), server node ${DEV[$cfg]} received $((rx1 - rx0)) packets"
}

# --- tests ---------------------------------------------------------------

# measure CONFIG TEST: one run of TEST (rr, crr, tput) on CONFIG; a row
# in res/CONFIG.TEST (lib.sh's measure_clean), and its retransmissions and
# conntrack drops (redone runs included) in res/CONFIG.TEST.loss.
measure() {
	local cfg=$1 t=$2 m0
	m0=$(loss_mark "$cfg")
	measure1 "$cfg" "$t"
	loss_add "$cfg" "$t" "$m0" "$(loss_mark "$cfg")"
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

cell() { # FILE FMT: "median [min-max] n/N" of the rates, formatted with FMT
	local m lo hi n all
	[[ -f $1 ]] || { echo "-"; return 0; }
	read -r m lo hi < <(stat3 <(res_rows "$1" | awk '{ print $2 }'))
	[[ $m == - ]] && { echo "-"; return 0; }
	n=$(awk '$6 == 1' "$1" | wc -l)
	all=$(wc -l <"$1")
	# shellcheck disable=SC2059
	printf "$2 [$2-$2] %s/%s%s" "$m" "$lo" "$hi" "$n" "$all" \
		"$( ((n)) || echo '*')"
}

clean_n() { awk '$6 == 1' "$1" 2>/dev/null | wc -l; } # FILE: clean runs

# ratio_row A B: the ratios A/B of the medians and (paired) per test. A
# ratio of medians gets "~" (and MIXED is set) when one side has clean
# runs and the other none: it then compares clean runs with busy ones.
ratio_row() {
	local res=$BENCH_WORK/res t r
	[[ " $CONFIGS " == *" $1 "* && " $CONFIGS " == *" $2 "* ]] || return 0
	ok "$1" && ok "$2" || return 0
	printf '%-20s' "$1 / $2"
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
			printf '  %-9s %s\n' "${LABEL[$cfg]}" "${STATUS[$cfg]}"
		else
			printf '  %-9s %s\n' "${LABEL[$cfg]}" "${SETUP[$cfg]}"
		fi
	done
	echo
	echo "Median [min-max] over the clean runs, n clean/all (see below)"
	printf '%-10s %-28s %-28s %-26s\n' config "TCP_RR (trans/s)" \
		"TCP_CRR (trans/s)" "iperf3 (Gbit/s)"
	for cfg in $CONFIGS; do
		if ! ok "$cfg"; then
			printf '%-10s %s\n' "${LABEL[$cfg]}" "${STATUS[$cfg]:-not set up}"
			continue
		fi
		printf '%-10s %-28s %-28s %-26s\n' "${LABEL[$cfg]}" \
			"$(cell "$res/$cfg.rr" %.0f)" "$(cell "$res/$cfg.crr" %.0f)" \
			"$(cell "$res/$cfg.tput" %.2f)"
	done
	echo
	echo "Latency, median over the same runs of each run's percentile (us)"
	printf '%-10s %8s %8s %8s %8s %11s\n' config "RR p50" "RR p99" \
		"CRR p50" "CRR p99" "CRR errors"
	for cfg in $CONFIGS; do
		ok "$cfg" || continue
		printf '%-10s %8s %8s %8s %8s %11s\n' "${LABEL[$cfg]}" \
			"$(res_med "$res/$cfg.rr" 3)" "$(res_med "$res/$cfg.rr" 4)" \
			"$(res_med "$res/$cfg.crr" 3)" "$(res_med "$res/$cfg.crr" 4)" \
			"$(awk '{ s += $5 } END { print s + 0 }' "$res/$cfg.crr" \
				2>/dev/null || echo -)"
	done
	echo
	echo "Ratios of the medians, and in brackets the median [min-max] of the"
	echo "per-repetition ratios (paired runs seconds apart: steadier)"
	printf '%-20s %-24s %-24s %-24s\n' "" TCP_RR TCP_CRR iperf3
	ratio_row native underlay
	ratio_row vxlan underlay
	ratio_row native bridge
	ratio_row vxlan native
	ratio_row bridge underlay
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
	for cfg in native vxlan; do
		ok "$cfg" || continue
		read -r a b <<<"${NODES[$cfg]}"
		echo "$cfg agents, VmRSS at the end (peak VmHWM): $a $(mib "${RSS_A[$cfg]}")" \
			"MiB ($(mib "${HWM_A[$cfg]}")), $b $(mib "${RSS_B[$cfg]}") MiB" \
			"($(mib "${HWM_B[$cfg]}"))"
	done
	[[ -n $AFTER ]] && echo "FAILED: $AFTER"
	echo
	echo "Loss, all runs summed (redone ones too): TCP segments retransmitted"
	echo "(tail loss probes included) by client/server, and packets netfilter"
	echo "conntrack dropped in the two node netns (insert_failed/drop; conntrack"
	echo "runs in a node netns once it has nftables tables: listed)"
	printf '%-10s %-12s %-12s %-12s %-12s %s\n' config "RR retr" "CRR retr" \
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
			END { printf "%-10s %-12s %-12s %-12s %-12s %s\n", l, rs(r), rs(c),
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

declare -A RSS_A RSS_B HWM_A HWM_B NFT_CLI NFT_SRV

main() {
	local cfg t active=()
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
	if [[ -z $SNAP && ( " $CONFIGS " == *" native "* ||
	      " $CONFIGS " == *" vxlan "* ) ]]; then
		log "build/bin/sluice, sluiced or sluicectl is missing (run make first)"
		exit 1
	fi
	if [[ -n $SNAP ]] && ! "$SNAP/sluiced" --help 2>&1 | grep -q -- --routing; then
		log "sluiced has no --routing (too old a build)"
		exit 1
	fi
	START_ENV=$(bench_env_line)
	cluster_start

	for cfg in $CONFIGS; do
		log "setting up ${LABEL[$cfg]}"
		case $cfg in
		underlay) setup_underlay || continue ;;
		bridge) setup_bridge || continue ;;
		native | vxlan) setup_sluice "$cfg" "$cfg" || continue ;;
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
	for cfg in native vxlan; do
		ok "$cfg" || continue
		RSS_A[$cfg]=$(status_kib "${AGENT_A[$cfg]}" VmRSS)
		HWM_A[$cfg]=$(status_kib "${AGENT_A[$cfg]}" VmHWM)
		RSS_B[$cfg]=$(status_kib "${AGENT_B[$cfg]}" VmRSS)
		HWM_B[$cfg]=$(status_kib "${AGENT_B[$cfg]}" VmHWM)
		# Still the expected routes after the run (none lost, none refused).
		for t in ${NODES[$cfg]}; do
			[[ $(agent_state "$t") == "true $cfg 1 0 "* ]] && continue
			AFTER+="${AFTER:+; }$cfg: after the run, $t's status says inSync/mode/routes/refused/podMTU/pods/endpointsWithoutPod = $(agent_state "$t")"
			FAILED=1
		done
	done

	report | tee "$BENCH_OUT/crossnode.txt"
	((!FAILED)) || { log "crossnode: a configuration failed (see above)"; exit 1; }
}

main "$@"

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# NetworkPolicy end to end, upstream's conformance model (kubernetes
# test/e2e/network/netpol): namespaces x, y, z labelled ns=<name> (and
# kubernetes.io/metadata.name), pods a, b, c in each labelled pod=<name>,
# every pod serving TCP and UDP on ports 80 and 81 (named serve-80-tcp,
# serve-81-tcp, serve-80-udp, serve-81-udp). A case writes NetworkPolicies
# into the agent's manifests folder, waits until every agent has loaded and
# synced them (sluicectl status: the folder's load count moved on and the
# agent is in sync, which it only says once the maps are written), then
# probes the whole 9x9 reachability matrix for one port and protocol at
# once (netpol_probe.py: a new connection per probe, a second to answer)
# and compares it with the matrix SPECS.md E says; a mismatch prints both
# matrices and their difference, upstream-style, plus what sluicectl
# policy and policy trace say about the cells that differ.
#
# Expectations are written as rules "FROM TO 0|1" over "ns/pod" globs,
# applied in order over an all-reachable matrix, the last match deciding
# (upstream's ExpectPeer); a pod reaching its own address is always
# reachable. Every case builds the world anew (the framework runs a case in
# its own process); NP_NODE_COUNT spreads the pods over that many nodes.
# Helpers agent_start, ctl, put_manifest and node_yaml come from
# test_agent.sh.

NP_PROBE=$E2E_DIR/netpol_probe.py
NP_NAMESPACES=(x y z)
NP_PODNAMES=(a b c)
# The Service VIP of netpol_service (test_services.sh uses 10.96.0.10).
NP_VIP=10.96.0.20

# np_case NAME: a case that builds the world, runs t_NAME and fails at the
# end if any matrix differed (every matrix of a case is probed even after
# one differs: the others help the diagnosis).
np_case() {
	eval "_$1() { np_world \"\${NP_NODE_COUNT:-1}\"; t_$1; np_done; }"
	e2e_case "$1" "_$1"
}

# --- the world -----------------------------------------------------------------

# np_world NODES: nodes n1..nNODES (one agent each), the nine pods spread
# over them round robin, their servers, and the manifests: Nodes,
# Namespaces, Pods with address, node, labels and named container ports.
# Sets NP_POD_NODE, NP_POD_IP (by "ns/pod"), NP_POD_LABELS, NP_NS_LABELS.
np_world() {
	local nodes=$1 i k=0 ns p key node
	local -A adding=()
	declare -gA NP_POD_NODE=() NP_POD_IP=() NP_POD_LABELS=() NP_NS_LABELS=()
	NP_NODES=()
	NP_BAD=()
	for ((i = 1; i <= nodes; i++)); do
		node_add "n$i" "$i"
		NP_NODES+=("n$i")
	done
	# The plugin serialises what must be (IPAM, the first load): the
	# pods are added at once, as a kubelet starting them would.
	for ns in "${NP_NAMESPACES[@]}"; do
		NP_NS_LABELS[$ns]="ns: $ns, kubernetes.io/metadata.name: $ns"
		for p in "${NP_PODNAMES[@]}"; do
			key=$ns/$p
			node=n$((k % nodes + 1))
			k=$((k + 1))
			NP_POD_NODE[$key]=$node
			NP_POD_LABELS[$key]="pod: $p"
			pod_add "$node" "$ns-$p" "$ns" >"$CASE_DIR/ip-$ns-$p" \
				2>"$CASE_DIR/ip-$ns-$p.err" &
			adding[$key]=$!
		done
	done
	for key in "${!adding[@]}"; do
		wait "${adding[$key]}" ||
			fail "pod_add $key: $(cat "$CASE_DIR/ip-${key/\//-}.err")"
		NP_POD_IP[$key]=$(<"$CASE_DIR/ip-${key/\//-}")
		[[ ${NP_POD_IP[$key]} =~ ^10\.244\.[0-9]+\.[0-9]+$ ]] ||
			fail "pod_add $key printed '${NP_POD_IP[$key]}'"
	done
	for key in $(np_pods); do
		np_serve "$(np_nspath "$key")" "$key"
	done
	{
		for ((i = 1; i <= nodes; i++)); do
			node_yaml "n$i" "$i"
		done
	} | put_manifest nodes.yaml
	np_namespaces_yaml | put_manifest namespaces.yaml
	np_pods_yaml | put_manifest pods.yaml
	: | put_manifest policies.yaml
	for node in "${NP_NODES[@]}"; do
		agent_start "$node"
	done
	for key in $(np_pods); do
		wait_for 5 test -e "$CASE_DIR/np-${key/\//-}.ready" ||
			fail "servers of $key did not start: $(cat "$CASE_DIR/np-srv.err")"
	done
	# Four files, each loaded once at start.
	wait_for 5 np_agents_synced 4 ||
		fail "agents not in sync with the manifests: $(ctl n1 status)"
	NP_SRCS=$(np_endpoints src)
	NP_DSTS=$(np_endpoints dst)
	say "world: ${#NP_POD_IP[@]} pods on ${#NP_NODES[@]} node(s) in ${SECONDS}s"
}

# Every pod, "ns/pod", in model order.
np_pods() {
	local ns p
	for ns in "${NP_NAMESPACES[@]}"; do
		for p in "${NP_PODNAMES[@]}"; do
			echo "$ns/$p"
		done
	done
}

np_nspath() { pod_nspath "${NP_POD_NODE[$1]}" "${1/\//-}"; }

# np_serve NSPATH NAME: the four servers of a pod, in one process (the
# caller waits for its readiness file).
np_serve() {
	nsenter --net="$1" "$PY" -IS "$NP_PROBE" serve "$2" \
		"$CASE_DIR/np-${2/\//-}.ready" </dev/null >>"$CASE_DIR/np-srv.err" 2>&1 &
	echo $! >>"$CASE_DIR/pids"
}

# np_endpoints src|dst: the matrix's sources (LABEL=NETNS=IP) or destinations
# (LABEL=IP), comma separated.
np_endpoints() {
	local key out=()
	for key in $(np_pods); do
		if [[ $1 == src ]]; then
			out+=("$key=$(np_nspath "$key")=${NP_POD_IP[$key]}")
		else
			out+=("$key=${NP_POD_IP[$key]}")
		fi
	done
	local IFS=,
	echo "${out[*]}"
}

np_namespaces_yaml() {
	local ns
	for ns in "${NP_NAMESPACES[@]}"; do
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {%s}}\n' \
			"$ns" "${NP_NS_LABELS[$ns]}"
	done
}

# The Pods as the API server serves them once running: one container per
# served port, like upstream's cont-80-tcp ... with ports serve-80-tcp ...
np_pods_yaml() {
	local key ns port proto
	for key in $(np_pods); do
		ns=${key%/*}
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: %s, name: %s, labels: {%s}}\nspec:\n  nodeName: %s\n  containers:\n' \
			"$ns" "${key/\//-}" "${NP_POD_LABELS[$key]}" "${NP_POD_NODE[$key]}"
		for port in 80 81; do
			for proto in tcp udp; do
				printf '  - name: cont-%s-%s\n    image: agnhost\n    ports: [{name: serve-%s-%s, containerPort: %s, protocol: %s}]\n' \
					"$port" "$proto" "$port" "$proto" "$port" "${proto^^}"
			done
		done
		printf 'status: {phase: Running, podIP: %s, podIPs: [{ip: %s}]}\n' \
			"${NP_POD_IP[$key]}" "${NP_POD_IP[$key]}"
	done
}

# --- applying manifests --------------------------------------------------------

# "LOADS INSYNC ERRORS" of a node's agent: how often it loaded a manifest
# file, whether the maps hold what it loaded, and how many files or objects
# it refused (never, in this model: a refused policy would otherwise be
# silently kept at its previous version).
np_agent_state() {
	ctl "$1" -o json status 2>/dev/null | jget '"%d %d %d" % (d["source"]["loads"],
		d["inSync"], d["source"]["parseErrors"] + d["source"]["objectErrors"])' 2>/dev/null
}

# np_agents_synced MINLOADS...: every agent (in NP_NODES order) has loaded
# the folder at least MINLOADS times (one per node, or one for all) and
# synced the result. The agent answers between loop iterations, after the
# iteration that loaded a file has written the maps; inSync is false while
# a loaded change is not written yet.
np_agents_synced() {
	local i st want loads sync errs
	for i in "${!NP_NODES[@]}"; do
		want=${*:i+1:1}
		want=${want:-$1}
		st=$(np_agent_state "${NP_NODES[$i]}") || return 1
		read -r loads sync errs <<<"$st"
		((errs == 0)) || fail "the agent on ${NP_NODES[$i]} refused a manifest: $(ctl "${NP_NODES[$i]}" status)"
		((sync && loads >= want)) || return 1
	done
}

# np_put FILE: stdin to the manifests folder as FILE, then wait until every
# agent has loaded and synced it. Sets NP_APPLY_MS (write to synced).
np_put() {
	local node st loads=() t0
	for node in "${NP_NODES[@]}"; do
		st=$(np_agent_state "$node") || fail "agent on $node not answering"
		loads+=($((${st%% *} + 1)))
	done
	t0=$EPOCHREALTIME
	put_manifest "$1"
	wait_for 5 np_agents_synced "${loads[@]}" ||
		fail "$1 not loaded and synced within 5 s: $(ctl n1 status)"
	NP_APPLY_MS=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	say "$1 applied in ${NP_APPLY_MS} ms"
}

# np_apply: the case's NetworkPolicies (stdin, all of them: the previous
# set is replaced; an empty stdin deletes them all).
np_apply() { np_put policies.yaml; }

# netpol NS NAME SPEC: a NetworkPolicy; SPEC is its spec in YAML flow
# style (lines after the first indented).
netpol() {
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: %s, name: %s}\nspec: %s\n' \
		"$1" "$2" "$3"
}

# ingress_to NS POD NAME [RULE...] / egress_from NS POD NAME [RULE...]:
# policy NAME isolates the pods labelled pod=POD of NS (every pod of NS for
# "*") in one direction, policyTypes set, and allows each RULE (a flow
# mapping: {from: [...], ports: [...]} or {to: ...}); no RULE denies all.
ingress_to() { _np_one_way Ingress ingress "$@"; }
egress_from() { _np_one_way Egress egress "$@"; }

_np_one_way() {
	local type=$1 list=$2 ns=$3 pod=$4 name=$5 sel="{matchLabels: {pod: $4}}"
	shift 5
	[[ $pod != '*' ]] || sel='{}'
	local IFS=,
	netpol "$ns" "$name" "{podSelector: $sel, policyTypes: [$type], $list: [$*]}"
}

# np_relabel_pods KEY LABELS [KEY LABELS...] / np_relabel_ns NS LABELS
# [NS LABELS...]: new labels, written at once and applied; fails when the
# agents took a second or more ("takes effect within a second").
np_relabel_pods() {
	while (($#)); do
		NP_POD_LABELS[$1]=$2
		shift 2
	done
	np_put pods.yaml < <(np_pods_yaml)
	((NP_APPLY_MS < 1000)) || fail "pod relabel took ${NP_APPLY_MS} ms to apply"
}

np_relabel_ns() {
	while (($#)); do
		NP_NS_LABELS[$1]=$2
		shift 2
	done
	np_put namespaces.yaml < <(np_namespaces_yaml)
	((NP_APPLY_MS < 1000)) || fail "namespace relabel took ${NP_APPLY_MS} ms to apply"
}

# --- probing ---------------------------------------------------------------------

# np_expect PROTO PORT RULE...: probe the matrix (NP_SRCS x NP_DSTS, or
# NP_FROM x NP_TO when set for the call) and compare it with the rules; a
# mismatch is printed with diagnostics and recorded for np_done.
np_expect() {
	local proto=$1 port=$2 out rc=0 rules where
	where="${FUNCNAME[1]}:${BASH_LINENO[0]}"
	shift 2
	rules=$(printf '%s\n' "$@")
	out=$("$PY" -IS "$NP_PROBE" matrix "$proto" "$port" "$NEG_TIMEOUT" \
		"${NP_FROM:-$NP_SRCS}" "${NP_TO:-$NP_DSTS}" "$rules") || rc=$?
	if ((rc == 0)); then
		say "$out"
		return 0
	fi
	NP_BAD+=("$where ${proto^^}/$port")
	printf 'MISMATCH [%s] rules: %s\n%s\n' "$where" "$(tr '\n' ';' <<<"$rules")" \
		"$out" >&2
	np_diagnose "$proto" "$port" "$out" >&2
}

# What the agents say about the endpoints, and their traces of the first
# few pod-to-pod cells that differ (on the server's node, then on the
# client's when it is another: each enforces its own pods' direction).
np_diagnose() {
	local proto=$1 port=$2 cells from to n=0 node
	for node in "${NP_NODES[@]}"; do
		echo "--- sluicectl policy on $node:"
		ctl "$node" policy 2>&1 || true
	done
	cells=$(sed -n 's/^  \([^ ]*\) -> \([^ ]*\) .*/\1 \2/p' <<<"$3")
	while read -r from to; do
		[[ -n ${NP_POD_IP[$from]:-} && -n ${NP_POD_IP[$to]:-} ]] || continue
		((n++ < 4)) || break
		for node in $(printf '%s\n' "${NP_POD_NODE[$to]}" "${NP_POD_NODE[$from]}" | uniq); do
			echo "--- sluicectl policy trace on $node:"
			ctl "$node" policy trace --from "${from%/*}/${from/\//-}" \
				--to "${to%/*}/${to/\//-}" --port "$port/$proto" 2>&1 || true
		done
	done <<<"$cells"
}

# np_drops REASON: packets dropped for REASON (a drop.h name) on every
# node, both hooks (a same-node connection meets both policies at the
# sender's veth).
np_drops() {
	local node n=0
	for node in "${NP_NODES[@]}"; do
		n=$((n + $(metric "$node" "$1" egress) + $(metric "$node" "$1" ingress)))
	done
	echo "$n"
}

np_done() {
	((${#NP_BAD[@]} == 0)) || fail "matrices differ from the expected: ${NP_BAD[*]}"
}

# --- cases -------------------------------------------------------------------------
#
# Selectors shorthand used below: pod label "pod", namespace label "ns";
# "x/a" in a rule is pod a of namespace x.

np_case netpol_no_policy
np_case netpol_deny_ingress
np_case netpol_deny_egress
np_case netpol_deny_all
np_case netpol_ingress_empty_vs_allow_all
np_case netpol_pod_selector
np_case netpol_ns_selector
np_case netpol_ns_and_pod_selector
np_case netpol_ns_or_pod_selector
np_case netpol_expr_in
np_case netpol_expr_notin
np_case netpol_expr_exists
np_case netpol_expr_doesnotexist
np_case netpol_subset
np_case netpol_empty_pod_selector
np_case netpol_port
np_case netpol_named_port
np_case netpol_endport
np_case netpol_udp_only
np_case netpol_protocol_default
np_case netpol_sctp_not_tcp
np_case netpol_ipblock_ingress
np_case netpol_ipblock_egress
np_case netpol_ipblock_except
np_case netpol_ipblock_overlap
np_case netpol_egress_named_port
np_case netpol_egress_peer
np_case netpol_both_ends
np_case netpol_additive
np_case netpol_types_default
np_case netpol_types_egress_only
np_case netpol_relabel_peer
np_case netpol_relabel_target
np_case netpol_relabel_ns
np_case netpol_delete
np_case netpol_update
np_case netpol_from_node
np_case netpol_replies
np_case netpol_established
np_case netpol_service

# No policy: everything reaches everything, on every port and protocol.
t_netpol_no_policy() {
	np_expect tcp 80
	np_expect tcp 81
	np_expect udp 80
	np_expect udp 81
}

# "should support a 'default-deny-ingress' policy": x takes nothing in,
# egress from x untouched. Each of the 24 denied probes leaves at least
# one drop counted under the ingress reason, none under the egress one.
t_netpol_deny_ingress() {
	local in0 eg0
	ingress_to x '*' deny-ingress | np_apply
	in0=$(np_drops POLICY_DENIED_INGRESS)
	eg0=$(np_drops POLICY_DENIED_EGRESS)
	np_expect tcp 80 '* x/* 0'
	assert_ge $((in0 + 24)) "$(np_drops POLICY_DENIED_INGRESS)" "drops counted as POLICY_DENIED_INGRESS"
	assert_eq "$eg0" "$(np_drops POLICY_DENIED_EGRESS)" "drops counted as POLICY_DENIED_EGRESS"
	np_expect udp 81 '* x/* 0'
}

t_netpol_deny_egress() {
	local in0 eg0
	egress_from x '*' deny-egress | np_apply
	in0=$(np_drops POLICY_DENIED_INGRESS)
	eg0=$(np_drops POLICY_DENIED_EGRESS)
	np_expect tcp 80 'x/* * 0'
	assert_ge $((eg0 + 24)) "$(np_drops POLICY_DENIED_EGRESS)" "drops counted as POLICY_DENIED_EGRESS"
	assert_eq "$in0" "$(np_drops POLICY_DENIED_INGRESS)" "drops counted as POLICY_DENIED_INGRESS"
	np_expect udp 80 'x/* * 0'
}

# "should support a 'default-deny-all' policy".
t_netpol_deny_all() {
	netpol x deny-all '{podSelector: {}, policyTypes: [Ingress, Egress]}' | np_apply
	np_expect tcp 80 '* x/* 0' 'x/* * 0'
	np_expect udp 81 '* x/* 0' 'x/* * 0'
}

# `ingress: []` isolates and allows nothing; `ingress: [{}]` (one empty
# rule) allows every source on every port and protocol ("should support
# allow-all policy").
t_netpol_ingress_empty_vs_allow_all() {
	netpol x ingress '{podSelector: {}, ingress: []}' | np_apply
	np_expect tcp 80 '* x/* 0'
	netpol x ingress '{podSelector: {}, ingress: [{}]}' | np_apply
	np_expect tcp 80
	np_expect tcp 81
	np_expect udp 80
}

# "... allow traffic from pods within server namespace based on
# PodSelector": a podSelector alone means the policy's namespace only.
t_netpol_pod_selector() {
	ingress_to x a a-from-b '{from: [{podSelector: {matchLabels: {pod: b}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'x/b x/a 1'
}

# "... allow traffic only from a different namespace, based on
# NamespaceSelector".
t_netpol_ns_selector() {
	ingress_to x a a-from-y '{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'y/* x/a 1'
}

# "... based on PodSelector and NamespaceSelector": both in one peer = AND.
t_netpol_ns_and_pod_selector() {
	ingress_to x a a-from-b-not-x '{from: [{
	    namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]},
	    podSelector: {matchLabels: {pod: b}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'y/b x/a 1' 'z/b x/a 1'
}

# "... based on PodSelector or NamespaceSelector": two peers = OR.
t_netpol_ns_or_pod_selector() {
	ingress_to x a a-from-y-or-b '{from: [
	    {namespaceSelector: {matchLabels: {ns: y}}},
	    {podSelector: {matchLabels: {pod: b}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'y/* x/a 1' 'x/b x/a 1'
}

# matchExpressions In, in the policy's podSelector and in a peer.
t_netpol_expr_in() {
	netpol x ab-from-c '{
	    podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]},
	    ingress: [{from: [{namespaceSelector: {},
	        podSelector: {matchExpressions: [{key: pod, operator: In, values: [c]}]}}]}]}' |
		np_apply
	np_expect tcp 80 '* x/a 0' '* x/b 0' '*/c x/a 1' '*/c x/b 1'
}

# NotIn: namespaces other than x and y; and pods without team=red, which
# includes every pod lacking the key (x/c has team=red).
t_netpol_expr_notin() {
	np_relabel_pods x/c 'pod: c, team: red'
	ingress_to x a a-notin '{from: [
	    {namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x, y]}]}},
	    {podSelector: {matchExpressions: [{key: team, operator: NotIn, values: [red]}]}}]}' |
		np_apply
	np_expect tcp 80 '* x/a 0' 'z/* x/a 1' 'x/* x/a 1' 'x/c x/a 0'
}

# Exists: pods with a team label, whatever its value.
t_netpol_expr_exists() {
	np_relabel_pods x/b 'pod: b, team: red' y/c 'pod: c, team: blue'
	ingress_to x a a-from-team '{from: [{namespaceSelector: {},
	    podSelector: {matchExpressions: [{key: team, operator: Exists}]}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'x/b x/a 1' 'y/c x/a 1'
}

# DoesNotExist: pods without a team label (in namespaces with an ns label).
t_netpol_expr_doesnotexist() {
	np_relabel_pods x/b 'pod: b, team: red' y/c 'pod: c, team: blue'
	ingress_to y a a-from-no-team '{from: [{
	    namespaceSelector: {matchExpressions: [{key: ns, operator: Exists}]},
	    podSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}}]}' | np_apply
	np_expect tcp 80 'x/b y/a 0' 'y/c y/a 0'
}

# A policy selecting one pod by matchLabels isolates that pod only; its
# peer selects all pods of namespace x by namespace label.
t_netpol_subset() {
	ingress_to x b b-from-x '{from: [{namespaceSelector: {matchLabels: {ns: x}}}]}' | np_apply
	np_expect tcp 80 '* x/b 0' 'x/* x/b 1'
}

# podSelector {} selects every pod of the policy's namespace, as target and
# as peer (never pods of other namespaces).
t_netpol_empty_pod_selector() {
	ingress_to x '*' all-from-x '{from: [{podSelector: {}}]}' | np_apply
	np_expect tcp 80 '* x/* 0' 'x/* x/* 1'
	np_expect udp 81 '* x/* 0' 'x/* x/* 1'
}

# Port 80/TCP only: 81 and UDP stay closed ("should enforce policy based on
# Ports").
t_netpol_port() {
	ingress_to x a a-80 '{from: [{namespaceSelector: {}}], ports: [{protocol: TCP, port: 80}]}' |
		np_apply
	np_expect tcp 80
	np_expect tcp 81 '* x/a 0'
	np_expect udp 80 '* x/a 0'
}

# "should allow ingress access on one named port": serve-81-tcp resolves to
# 81/TCP on each selected pod.
t_netpol_named_port() {
	ingress_to x '*' named-81 '{ports: [{port: serve-81-tcp}]}' | np_apply
	np_expect tcp 81
	np_expect tcp 80 '* x/* 0'
	np_expect udp 81 '* x/* 0'
}

# endPort: a 80-81, b 81-82, c 82-83 (no server there, it is only isolated).
t_netpol_endport() {
	{
		ingress_to x a a-80-81 '{ports: [{port: 80, endPort: 81}]}'
		ingress_to x b b-81-82 '{ports: [{port: 81, endPort: 82}]}'
		ingress_to x c c-82-83 '{ports: [{port: 82, endPort: 83}]}'
	} | np_apply
	np_expect tcp 80 '* x/b 0' '* x/c 0'
	np_expect tcp 81 '* x/c 0'
	np_expect udp 80 '* x/* 0'
}

# A UDP rule opens UDP on that port only.
t_netpol_udp_only() {
	ingress_to x a a-udp-80 '{ports: [{protocol: UDP, port: 80}]}' | np_apply
	np_expect udp 80
	np_expect tcp 80 '* x/a 0'
	np_expect udp 81 '* x/a 0'
}

# No protocol means TCP.
t_netpol_protocol_default() {
	ingress_to x a a-81 '{ports: [{port: 81}]}' | np_apply
	np_expect tcp 81
	np_expect udp 81 '* x/a 0'
	np_expect tcp 80 '* x/a 0'
}

# "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'".
t_netpol_sctp_not_tcp() {
	ingress_to x a a-sctp '{ports: [{protocol: SCTP, port: 80}]}' | np_apply
	np_expect tcp 80 '* x/a 0'
	np_expect udp 80 '* x/a 0'
}

# ipBlock with a pod's /32 as a source.
t_netpol_ipblock_ingress() {
	ingress_to x a a-from-cidr "{from: [{ipBlock: {cidr: ${NP_POD_IP[y/a]}/32}}]}" | np_apply
	np_expect tcp 80 '* x/a 0' 'y/a x/a 1'
}

# "should allow egress access to server in CIDR block".
t_netpol_ipblock_egress() {
	egress_from x a a-to-cidr "{to: [{ipBlock: {cidr: ${NP_POD_IP[y/b]}/32}}]}" | np_apply
	np_expect tcp 80 'x/a * 0' 'x/a y/b 1'
}

# "should enforce except clause while egress access to server in CIDR
# block": the pod range minus y/b.
t_netpol_ipblock_except() {
	egress_from x a a-to-cidr-except \
		"{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [${NP_POD_IP[y/b]}/32]}}]}" | np_apply
	np_expect tcp 80 'x/a y/b 0'
	np_expect udp 81 'x/a y/b 0'
}

# "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is
# allowed": excluded by one peer's except, allowed by another peer of the
# same rule, then by another policy.
t_netpol_ipblock_overlap() {
	local except="{ipBlock: {cidr: 10.244.0.0/16, except: [${NP_POD_IP[y/b]}/32]}}"
	local only_b="{ipBlock: {cidr: ${NP_POD_IP[y/b]}/32}}"
	egress_from x a a-to-cidr "{to: [$except]}" | np_apply
	np_expect tcp 80 'x/a y/b 0'
	egress_from x a a-to-cidr "{to: [$except, $only_b]}" | np_apply
	np_expect tcp 80
	{
		egress_from x a a-to-cidr "{to: [$except]}"
		egress_from x a a-to-b "{to: [$only_b]}"
	} | np_apply
	np_expect tcp 80
}

# "should allow egress access on one named port": serve-80-tcp resolves
# on each destination pod.
t_netpol_egress_named_port() {
	egress_from x a a-egress-named '{ports: [{port: serve-80-tcp}]}' | np_apply
	np_expect tcp 80
	np_expect tcp 81 'x/a * 0'
	np_expect udp 80 'x/a * 0'
}

# Egress to {namespaceSelector AND podSelector} on one port.
t_netpol_egress_peer() {
	egress_from x a a-to-yb '{to: [{namespaceSelector: {matchLabels: {ns: y}},
	    podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}' | np_apply
	np_expect tcp 80 'x/a * 0' 'x/a y/b 1'
	np_expect tcp 81 'x/a * 0'
}

# Both ends must allow: x/a takes namespace y, but y/b may send nowhere
# and y/c only to x/b ("should support denying of egress traffic on the
# client side (even if the server explicitly allows this traffic)").
t_netpol_both_ends() {
	{
		ingress_to x a a-from-y '{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}'
		egress_from y b b-no-egress
		egress_from y c c-to-xb '{to: [{namespaceSelector: {matchLabels: {ns: x}},
		    podSelector: {matchLabels: {pod: b}}}]}'
	} | np_apply
	np_expect tcp 80 '* x/a 0' 'y/* x/a 1' 'y/b * 0' 'y/c * 0' 'y/c x/b 1'
}

# Policies add up: 80 from y by one, 81 from z by another ("should enforce
# multiple, stacked policies with overlapping podSelectors"); then an
# allow-all next to them opens everything ("... ingress allow-all policy
# taking precedence").
t_netpol_additive() {
	local stacked
	stacked=$(
		ingress_to x a a-80-from-y '{from: [{namespaceSelector: {matchLabels: {ns: y}}}], ports: [{port: 80}]}'
		ingress_to x a a-81-from-z '{from: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}'
	)
	np_apply <<<"$stacked"
	np_expect tcp 80 '* x/a 0' 'y/* x/a 1'
	np_expect tcp 81 '* x/a 0' 'z/* x/a 1'
	{
		echo "$stacked"
		ingress_to x a a-all '{}'
	} | np_apply
	np_expect tcp 80
	np_expect tcp 81
}

# No policyTypes and an egress section: Ingress and Egress both, so x/a
# takes nothing in (no ingress rules) and sends only to y.
t_netpol_types_default() {
	netpol x a-to-y '{podSelector: {matchLabels: {pod: a}},
	    egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'x/a * 0' 'x/a y/* 1'
}

# policyTypes [Egress] with an ingress list: the list is ignored, x/a is
# not isolated for ingress (else only x/b could reach it) and sends nothing.
t_netpol_types_egress_only() {
	netpol x a-egress-only '{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress],
	    ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}' | np_apply
	np_expect tcp 80 'x/a * 0'
}

# A pod joining and one leaving a peer's selector ("should allow ingress
# access from updated pod"): applied within a second.
t_netpol_relabel_peer() {
	ingress_to x a a-from-b '{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}' |
		np_apply
	np_expect tcp 80 '* x/a 0' '*/b x/a 1'
	np_relabel_pods y/c 'pod: b' x/b 'pod: b2'
	np_expect tcp 80 '* x/a 0' '*/b x/a 1' 'y/c x/a 1' 'x/b x/a 0'
}

# A pod joining the policy's own selector becomes isolated, one leaving it
# is open again ("should deny ingress access to updated pod").
t_netpol_relabel_target() {
	ingress_to x a deny-a | np_apply
	np_expect tcp 80 '* x/a 0'
	np_relabel_pods x/a 'pod: a2' x/c 'pod: a'
	np_expect tcp 80 '* x/c 0'
}

# Namespace labels: z joins the selector, y leaves it ("should allow
# ingress access from updated namespace").
t_netpol_relabel_ns() {
	ingress_to x a a-from-y '{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'y/* x/a 1'
	np_relabel_ns y 'ns: w, kubernetes.io/metadata.name: y' \
		z 'ns: y, kubernetes.io/metadata.name: z'
	np_expect tcp 80 '* x/a 0' 'z/* x/a 1'
}

# "should stop enforcing policies after they are deleted": one of two
# first, then the other.
t_netpol_delete() {
	local px py
	px=$(netpol x deny-x '{podSelector: {}, policyTypes: [Ingress, Egress]}')
	py=$(ingress_to y '*' deny-y)
	printf '%s\n%s\n' "$px" "$py" | np_apply
	np_expect tcp 80 '* x/* 0' 'x/* * 0' '* y/* 0'
	np_apply <<<"$py"
	np_expect tcp 80 '* y/* 0'
	: | np_apply
	np_expect tcp 80
	np_expect udp 80
}

# "should enforce updated policy": the same policy, new peer, then new port.
t_netpol_update() {
	ingress_to x a a-from '{from: [{podSelector: {matchLabels: {pod: b}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'x/b x/a 1'
	ingress_to x a a-from '{from: [{podSelector: {matchLabels: {pod: c}}}]}' | np_apply
	np_expect tcp 80 '* x/a 0' 'x/c x/a 1'
	ingress_to x a a-from '{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 81}]}' |
		np_apply
	np_expect tcp 80 '* x/a 0'
	np_expect tcp 81 '* x/a 0' 'x/c x/a 1'
}

# The node reaches its own pods whatever their ingress policy (kubelet
# probes); another node is a source like any other (denied by x's policy).
t_netpol_from_node() {
	local node key from=() rules=('* x/* 0')
	ingress_to x '*' deny-ingress | np_apply
	for node in "${NP_NODES[@]}"; do
		from+=("$node=$(node_nspath "$node")")
	done
	for key in $(np_pods); do
		[[ $key != x/* ]] || rules+=("${NP_POD_NODE[$key]} $key 1")
	done
	NP_FROM=$(IFS=,; echo "${from[*]},$NP_SRCS") np_expect tcp 80 "${rules[@]}"
}

# Replies of an allowed connection pass both directions' isolation: x/a
# may send nothing and takes only y/b; y/b takes nothing. y/b still gets
# its answers from x/a; new connections the other way stay denied.
t_netpol_replies() {
	{
		netpol x a '{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress, Egress],
		    ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}]}'
		ingress_to y b b-deny-ingress
	} | np_apply
	np_expect tcp 80 '* x/a 0' '*/b x/a 1' 'x/a * 0' '* y/b 0'
	np_expect udp 80 '* x/a 0' '*/b x/a 1' 'x/a * 0' '* y/b 0'
}

# An established connection outlives a policy that would deny it now
# (sluice's choice: conntrack keeps admitted connections until they end);
# a new connection on the same path is denied.
t_netpol_established() {
	local dir=$CASE_DIR/hold reply
	mkdir -p "$dir"
	"$PY" -IS "$NP_PROBE" hold "$(np_nspath y/a)" "${NP_POD_IP[x/a]}" 80 "$dir" \
		</dev/null >"$dir/out" 2>&1 &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$dir/held" || fail "held connection not established: $(cat "$dir/out")"
	ingress_to x '*' deny-ingress | np_apply
	np_expect tcp 80 '* x/* 0'
	: >"$dir/ask-1"
	wait_for 5 test -e "$dir/reply-1" || fail "held connection: no verdict"
	reply=$(<"$dir/reply-1")
	assert_eq ok "$reply" "the established connection after the deny"
	touch "$dir/stop"
}

# A ClusterIP Service in front of x/a: ingress policy is evaluated on the
# backend, against the client's own address; a client's egress policy sees
# the backend (after DNAT), not the VIP. The backend reaching itself
# through the VIP (hairpin) is the pod reaching itself.
t_netpol_service() {
	local svc="svc=$NP_VIP=x/a"
	{
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: x, name: web}\nspec:\n  clusterIP: %s\n  ports: [{name: http, protocol: TCP, port: 80, targetPort: 80}]\n' \
			"$NP_VIP"
		printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  namespace: x\n  name: web-1\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nports: [{name: http, protocol: TCP, port: 80}]\nendpoints:\n- {addresses: [%s], nodeName: %s, conditions: {ready: true}}\n' \
			"${NP_POD_IP[x/a]}" "${NP_POD_NODE[x/a]}"
	} | np_put service.yaml
	NP_TO="$NP_DSTS,$svc" np_expect tcp 80
	{
		ingress_to x a a-from-b '{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}'
		egress_from y b b-to-xa '{to: [{namespaceSelector: {matchLabels: {ns: x}},
		    podSelector: {matchLabels: {pod: a}}}], ports: [{port: 80}]}'
	} | np_apply
	NP_TO="$NP_DSTS,$svc" np_expect tcp 80 '* x/a 0' '*/b x/a 1' '* svc 0' '*/b svc 1' \
		'x/a svc 1' 'y/b * 0' 'y/b x/a 1' 'y/b svc 1'
}

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# NetworkPolicy, the user-space half: the agent compiles the policies of
# the manifests folder into the pinned sl_policy map and the endpoints'
# isolation flags, and sluicectl policy shows and traces them. The datapath
# does not enforce them yet, so no packet is sent here: the maps are read
# with bpftool, not through the agent. Helpers agent_start, ctl,
# put_manifest, map_identity and node_yaml come from test_agent.sh.

e2e_case policy_cli t_policy_cli

# pod_ip_yaml NS NAME NODE LABELS IP: a Pod with its address, as the API
# server has it once the kubelet reported it (the compiler's endpoints are
# the local pods with an address).
pod_ip_yaml() {
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: %s, name: %s, labels: {%s}}\nspec: {nodeName: %s}\nstatus: {podIP: %s}\n' \
		"$1" "$2" "$4" "$3" "$5"
}

# pol/allow-b: pods app=a take ingress from app=b on TCP 80, nothing else.
allow_b_yaml() {
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: pol, name: allow-b}\nspec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: b}}}]\n    ports: [{protocol: TCP, port: 80}]\n'
}

# The flags sl_endpoints holds for a pod address.
map_flags() {
	node_exec "$1" bpftool -j map dump pinned "$(node_bpf_root "$1")/sl_endpoints" |
		"$PY" -IS -c '
import json, sys, ipaddress
for e in json.load(sys.stdin):
    k, v = e.get("formatted", e)["key"], e.get("formatted", e)["value"]
    if str(ipaddress.IPv4Address(int(k["ip4"]).to_bytes(4, "little"))) == sys.argv[1]:
        print(v["flags"])' "$2"
}

# How many entries a pinned policy map holds.
map_count() {
	node_exec "$1" bpftool -j map dump pinned "$(node_bpf_root "$1")/$2" |
		"$PY" -IS -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# The sl_policy entries of endpoint IP as "dir proto identity port/plen
# policy_id" lines, sorted (ports in host order, plen the port's bits).
map_policy() {
	node_exec "$1" bpftool -j map dump pinned "$(node_bpf_root "$1")/sl_policy" |
		"$PY" -IS -c '
import json, sys, ipaddress, socket
out = []
for e in json.load(sys.stdin):
    k, v = e["formatted"]["key"], e["formatted"]["value"]
    if str(ipaddress.IPv4Address(int(k["ep"]).to_bytes(4, "little"))) != sys.argv[1]:
        continue
    out.append("%d %d %d %d/%d %d" % (k["dir"], k["proto"], k["identity"],
        socket.ntohs(k["dport"]), k["prefixlen"] - 96, v["policy_id"]))
print("\n".join(sorted(out)))' "$2"
}

flags_are() { [[ $(map_flags "$1" "$2") == "$3" ]]; }
policy_is() { [[ $(map_policy "$1" "$2") == "$3" ]]; }
count_is() { [[ $(map_count "$1" "$2") == "$3" ]]; }

# Poll until the flags of IP are FLAGS and sl_policy holds N entries;
# print the elapsed ms.
settled_within() {
	local node=$1 ip=$2 flags=$3 n=$4 start=$EPOCHREALTIME
	until flags_are "$node" "$ip" "$flags" && count_is "$node" sl_policy "$n"; do
		(((${EPOCHREALTIME/./} - ${start/./}) < 3000000)) || return 1
		sleep 0.02
	done
	echo $(((${EPOCHREALTIME/./} - ${start/./}) / 1000))
}

t_policy_cli() {
	local a b c id_b out ms want pin

	node_add n1 1
	a=$(pod_add n1 a pol)
	b=$(pod_add n1 b pol)
	c=$(pod_add n1 c pol)
	{
		node_yaml n1 1
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: pol}\n'
		pod_ip_yaml pol a n1 'app: a' "$a"
		pod_ip_yaml pol b n1 'app: b' "$b"
		pod_ip_yaml pol c n1 'app: c' "$c"
		# A pod of another node, selected by the policy's peer too.
		node_yaml n2 2
		pod_ip_yaml pol far n2 'app: b' 10.244.2.9
	} | put_manifest cluster.yaml
	agent_start n1
	wait_for 2 ipcache_has n1 "10.244.2.9/32" || fail "the agent did not sync"

	# No policy: nobody isolated, nothing in the maps.
	out=$(ctl n1 policy)
	say "before: $out"
	assert_match "pol/a +$a +- +- +0/0 +-" "$out" "a not isolated before any policy"
	assert_eq 0 "$(map_flags n1 "$a")" "a's flags before any policy"
	assert_eq 0 "$(map_count n1 sl_policy)" "sl_policy empty before any policy"
	assert_eq 0 "$(map_count n1 sl_policy_cidr)" "sl_policy_cidr empty"
	id_b=$(map_identity n1 "$b")
	assert_ge 256 "$id_b" "b's identity"

	allow_b_yaml | put_manifest policy.yaml
	ms=$(settled_within n1 "$a" 1 2) ||
		fail "a not isolated with its entries within 3 s: flags $(map_flags n1 "$a"), $(map_count n1 sl_policy) entries"
	say "policy reached sl_policy and sl_endpoints in ${ms} ms"
	((ms < 1000)) || fail "policy took ${ms} ms (> 1 s)"

	# The pinned maps, read with bpftool: (b, TCP, 80/16) and the node's
	# own (host, any protocol, any port) entry, ingress (0), policy ids
	# 16 (the first NetworkPolicy) and 1 (the node).
	want="0 0 1 0/0 1
0 6 $id_b 80/16 16"
	assert_eq "$want" "$(map_policy n1 "$a")" "a's entries in sl_policy"
	assert_eq "" "$(map_policy n1 "$b")" "b has no entries"
	assert_eq 0 "$(map_flags n1 "$b")" "b not isolated"
	assert_eq 0 "$(map_flags n1 "$c")" "c not isolated"

	out=$(ctl n1 policy)
	say "sluicectl policy:
$out"
	assert_match "pol/a +$a +isolated +- +2/0 +pol/allow-b \(ingress\)" "$out" "a isolated for ingress"
	assert_match "pol/b +$b +- +- +0/0 +-" "$out" "b not isolated"
	assert_match "pol/c +$c +- +- +0/0 +-" "$out" "c not isolated"
	assert_eq true "$(ctl n1 -o json policy | jget 'd["endpoints"][0]["ingress"]["isolated"]')" "-o json"

	out=$(ctl n1 policy pol/a)
	say "sluicectl policy pol/a:
$out"
	assert_contains "$out" "ingress: isolated by pol/allow-b" "a's ingress isolation"
	assert_match "TCP +80 +$id_b pol \[app=b\] +pol/allow-b" "$out" "the entry from b's identity on 80/TCP"
	assert_match "ANY +any +host \(this node\) +\(node\)" "$out" "the node's own entry"
	assert_contains "$out" "egress: not isolated" "a's egress open"
	assert_eq "$out" "$(ctl n1 policy "$a")" "by address, the same"
	assert_eq "80 TCP pol app=b pol/allow-b" \
		"$(ctl n1 -o json policy pol/a | jget '" ".join(str(d["ingress"]["rules"][1][k]) for k in ("ports", "protocol", "namespace", "labels", "policy"))')" \
		"-o json rules"
	assert_fail ctl n1 policy pol/nope

	out=$(ctl n1 policy trace --from pol/b --to pol/a --port 80/TCP)
	say "$out"
	assert_match "^pol/b -> pol/a TCP/80: allowed" "$out" "b to a on 80/TCP"
	assert_contains "$out" "allowed by pol/allow-b" "trace names the policy"
	out=$(ctl n1 policy trace --from pol/c --to pol/a --port 80)
	say "$out"
	assert_match "^pol/c -> pol/a TCP/80: denied" "$out" "c to a denied"
	assert_contains "$out" "isolated by pol/allow-b; no rule allows" "why c is denied"
	out=$(ctl n1 policy trace --from pol/a --to pol/b --port 80/tcp)
	say "$out"
	assert_match "^pol/a -> pol/b TCP/80: allowed" "$out" "a to b allowed"
	assert_contains "$out" "not isolated" "b's ingress is not isolated"
	assert_eq denied "$(ctl n1 -o json policy trace --from pol/b --to pol/a --port 80/udp | jget 'd["verdict"]')" \
		"b to a on UDP 80 denied"
	# From another node: its egress is decided there.
	out=$(ctl n1 policy trace --from pol/far --to pol/a --port 80/TCP)
	say "$out"
	assert_match "^pol/far -> pol/a TCP/80: unknown" "$out" "a remote client's egress is unknown here"
	assert_contains "$out" "decided on node n2" "trace says where"
	assert_fail ctl n1 policy trace --from pol/nope --to pol/a --port 80
	assert_fail ctl n1 policy trace --from pol/b --to pol/a --port 80/icmp
	# ct keeps its numeric --port.
	assert_ok ctl n1 ct --port 80
	assert_fail ctl n1 ct --port 80/tcp

	out=$(ctl n1 status)
	assert_match "policy: +1 policies, 1 of 3 endpoints isolated, 2 entries, 0 cidrs" "$out" "status"
	assert_match "map: +sl_policy 2/262144" "$out" "status: sl_policy fill"

	# Drift while the agent is down: the node's entry deleted, a stranger
	# planted (identity 4242, UDP 8080). The next agent reads the map
	# back at start and repairs both, touching nothing else.
	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
	pin=$(node_bpf_root n1)/sl_policy
	# shellcheck disable=SC2046 # the address as four byte arguments
	node_exec n1 bpftool map delete pinned "$pin" \
		key 96 0 0 0 $(tr . ' ' <<<"$a") 0 0 0 0 1 0 0 0 0 0 0 0
	# shellcheck disable=SC2046
	node_exec n1 bpftool map update pinned "$pin" \
		key 112 0 0 0 $(tr . ' ' <<<"$a") 0 17 0 0 146 16 0 0 31 144 0 0 \
		value 99 0 0 0 0 0 0 0
	assert_eq "0 17 4242 8080/16 99
0 6 $id_b 80/16 16" "$(map_policy n1 "$a")" "drift planted"
	agent_start n1
	wait_for 2 policy_is n1 "$a" "$want" ||
		fail "drift not repaired: $(map_policy n1 "$a")"
	assert_eq 1 "$(map_flags n1 "$a")" "a still isolated"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" \
		"policy: 2 entries (1 written, 1 removed)" "only the drift was rewritten"

	# The policy goes: flags cleared and entries gone within a second.
	rm "$CASE_DIR/manifests/policy.yaml"
	ms=$(settled_within n1 "$a" 0 0) ||
		fail "policy not removed within 3 s: flags $(map_flags n1 "$a"), $(map_count n1 sl_policy) entries"
	say "policy removal reached the maps in ${ms} ms"
	((ms < 1000)) || fail "policy removal took ${ms} ms (> 1 s)"
	assert_match "pol/a +$a +- +- +0/0 +-" "$(ctl n1 policy)" "a not isolated any more"
	assert_match "^pol/c -> pol/a TCP/80: allowed" \
		"$(ctl n1 policy trace --from pol/c --to pol/a --port 80)" "c to a allowed again"
	assert_not_contains "$(cat "$CASE_DIR/agent-n1.log")" "level=error" "no errors logged"
}

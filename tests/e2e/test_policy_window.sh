# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The new-pod window (SPECS E.5): a pod a NetworkPolicy selects is isolated
# from the first instant, before the kubelet reports its podIP. With an
# agent on the node (its node.json), ADD writes the pod's sl_endpoints
# entry closed (SL_EP_F_PENDING) and waits up to agentWaitMs for the agent
# to program it from the plugin's record; without one, the entry is open
# and ADD does not wait. Helpers agent_start, ctl, put_manifest, pod_yaml,
# node_yaml, map_identity and ipcache_has come from test_agent.sh,
# map_flags, map_policy and flags_are from test_policy_cli.sh.

e2e_case policy_window_programmed t_window_programmed san
e2e_case policy_window_open t_window_open
e2e_case policy_window_pending t_window_pending
e2e_case policy_window_agentless t_window_agentless
e2e_case policy_window_agent_down t_window_agent_down san
e2e_case policy_window_packets t_window_packets

# sl_endpoints flags (include/sluice/endpoint.h).
EP_ISOLATED=3 # SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED
EP_CLOSED=7   # the same | SL_EP_F_PENDING: what ADD writes under an agent

ns_yaml() { printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$1"; }

# deny_all_yaml NS [TYPES]: every pod of NS isolated, nothing allowed.
deny_all_yaml() {
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: %s, name: deny-all}\nspec: {podSelector: {}, policyTypes: [%s]}\n' \
		"$1" "${2:-Ingress, Egress}"
}

# window_node: node n1 with an agent on the manifests put so far and its
# Node object, once its node.json is there.
window_node() {
	node_add n1 1
	node_yaml n1 1 | put_manifest node.yaml
	agent_start n1
	wait_for 5 test -e "$(node_run_dir n1)/node.json" ||
		fail "the agent wrote no node.json"
}

# window_add NAME NS [CONF-EDIT]: ADD pod NAME of namespace NS (named in
# CNI_ARGS, as the kubelet does) by a direct plugin call, into a fresh pod
# namespace; POD_IP and ADD_MS (its duration) are set. The ADD must succeed.
window_add() {
	local name=$1 ns=$2 conf=$CASE_DIR/$1.conf nsp t0
	mkconf "$conf" n1 1.1.0 "${3:-}"
	nsp=$(netns_new n1 "$name")
	t0=$EPOCHREALTIME
	cni_add n1 "$conf" "$nsp" "cid-$name" eth0 \
		"K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name;K8S_POD_UID=uid-$name"
	ADD_MS=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	assert_cni_ok "ADD of $ns/$name"
	cp "$CNI_OUT_FILE" "$CASE_DIR/$name.result"
	POD_IP=$(jget 'd["ips"][0]["address"].split("/")[0]' "$CNI_OUT_FILE")
	say "ADD of $ns/$name: $POD_IP in $ADD_MS ms"
}

# window_with_client TYPES [MANIFESTS]: window_node with namespaces win
# (a deny-all of policy TYPES, and MANIFESTS) and cl, and the Pod objects of
# cl/client and win/new as the API server has them before the kubelet
# reports an IP; cl/client attached at CLIENT.
window_with_client() {
	{
		ns_yaml win
		ns_yaml cl
		deny_all_yaml win "$1"
		[[ -z ${2:-} ]] || printf '%s\n' "$2"
		pod_yaml cl client n1 'app: client'
		pod_yaml win new n1 'app: new'
	} | put_manifest cluster.yaml
	window_node
	window_add client cl
	CLIENT=$POD_IP
}

cni_log() { cat "$(node_run_dir n1)/cni.log"; }

# window_check NAME: CHECK of pod NAME against its ADD's result must pass:
# the endpoint entry's flags and identity are the agent's, not ADD's.
window_check() {
	local conf=$CASE_DIR/$1.check
	mkconf "$conf" n1 1.1.0 "d['prevResult'] = json.load(open('$CASE_DIR/$1.result'))"
	cni_check n1 "$conf" "$(pod_nspath n1 "$1")" "cid-$1"
	assert_cni_silent "CHECK of $1"
}

# (a) A pod whose Pod object has no podIP yet is programmed during ADD: its
# own policy under its record's address, and other pods' policies naming
# it through the ipcache.
t_window_programmed() {
	local client new id_client entries ms

	window_with_client "Ingress, Egress" \
		"$(printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: win, name: from-client}\nspec:\n  podSelector: {matchLabels: {app: new}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]\n    ports: [{protocol: TCP, port: 7000}]\n')"
	client=$CLIENT
	id_client=$(map_identity n1 "$client")
	assert_ge 256 "$id_client" "client's identity, from its Pod object"
	assert_eq 0 "$(map_flags n1 "$client")" "client: no policy in cl"
	# Other pods' policies reach the client by its record's address.
	assert_match "$client/32 +$id_client +192.168.77.1 +true" \
		"$(ctl n1 ipcache)" "client in the ipcache before any podIP"

	window_add new win
	new=$POD_IP
	((ADD_MS < 1000)) || fail "ADD took $ADD_MS ms: it waited for nothing"
	assert_eq "$EP_ISOLATED" "$(map_flags n1 "$new")" \
		"new: isolated both ways, not pending, when ADD returns"
	assert_ge 256 "$(map_identity n1 "$new")" "new's identity"
	entries=$(map_policy n1 "$new")
	say "sl_policy of $new:
$entries"
	grep -qx "0 0 1 0/0 1" <<<"$entries" ||
		fail "no node's entry under the record address"
	grep -qxE "0 6 $id_client 7000/16 [0-9]+" <<<"$entries" ||
		fail "no client's entry under the record address"
	assert_contains "$(ctl n1 policy win/new)" "ingress: isolated by win/deny-all,win/from-client" \
		"sluicectl policy of the new pod"
	assert_match "^cl/client -> win/new TCP/7000: allowed" \
		"$(ctl n1 policy trace --from cl/client --to win/new --port 7000/TCP)" \
		"traced by record addresses"
	ms=$(sed -n "s/.*added win\/new: .* programmed by the agent in \([0-9.]*\) ms.*/\1/p" \
		"$(node_run_dir n1)/cni.log")
	[[ -n $ms ]] || fail "ADD did not log the agent's programming: $(cni_log)"
	say "record written -> entry programmed (SL_EP_F_PENDING cleared): $ms ms"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" \
		"endpoint $new (win/new): updated, identity" "the agent's rewrite logged"
	window_check new
}

# (b) Not known to the agent, in a namespace without NetworkPolicies: no
# policy can select it, so it is open at once, identity unknown.
t_window_open() {
	{ ns_yaml open; ns_yaml win; deny_all_yaml win; } | put_manifest cluster.yaml
	window_node
	window_add stray open
	((ADD_MS < 1000)) || fail "ADD took $ADD_MS ms"
	assert_eq 0 "$(map_flags n1 "$POD_IP")" "not isolated, not pending"
	assert_eq 0 "$(map_identity n1 "$POD_IP")" "identity unknown"
	window_check stray
}

# (c) Not known, in a namespace with a NetworkPolicy: closed until its Pod
# object arrives; ADD gives up waiting after agentWaitMs and succeeds.
t_window_pending() {
	local ip ms

	{ ns_yaml win; deny_all_yaml win Ingress; } | put_manifest cluster.yaml
	window_node
	window_add late win "d['agentWaitMs'] = 300"
	ip=$POD_IP
	((ADD_MS >= 300 && ADD_MS < 2000)) ||
		fail "ADD took $ADD_MS ms, want agentWaitMs (300) and a little"
	assert_eq "$EP_CLOSED" "$(map_flags n1 "$ip")" "pending and closed both ways"
	assert_eq 0 "$(map_identity n1 "$ip")" "no identity yet"
	assert_contains "$CNI_ERR" "has not programmed win/late within 300 ms" \
		"the plugin's warning"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" \
		"endpoint $ip (win/late): kept, identity 0, pending: its Pod is not known yet" \
		"the agent says why it stays pending"
	window_check late # pending

	pod_yaml win late n1 'app: late' | put_manifest late.yaml
	ms=$(settled_within n1 "$ip" 1 1) ||
		fail "not programmed within 3 s of its Pod object: flags $(map_flags n1 "$ip")"
	say "Pod object -> programmed in $ms ms"
	assert_ge 256 "$(map_identity n1 "$ip")" "identity once the Pod is known"
	assert_eq "0 0 1 0/0 1" "$(map_policy n1 "$ip")" "the node's entry only: default deny"
}

# (d) No agent (no node.json), as plugin-only users run it: open, no wait.
t_window_agentless() {
	node_add n1 1
	window_add first default "d['agentWaitMs'] = 5000" # loads the datapath
	window_add second shop "d['agentWaitMs'] = 5000"
	assert_fail test -e "$(node_run_dir n1)/node.json"
	((ADD_MS < 1500)) || fail "ADD without an agent took $ADD_MS ms"
	assert_eq 0 "$(map_flags n1 "$POD_IP")" "flags without an agent"
	assert_not_contains "$(cni_log)" "by the agent" "nothing about an agent logged"
	assert_not_contains "$(cni_log)" "the agent has not" "nothing about an agent logged"
}

# (e) The agent's node.json is there but the agent is not: ADD succeeds
# after agentWaitMs with the pod closed, and the agent programs it when it
# is back.
t_window_agent_down() {
	local ip

	{ ns_yaml win; deny_all_yaml win; pod_yaml win orphan n1 'app: orphan'; } |
		put_manifest cluster.yaml
	window_node
	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
	window_add orphan win "d['agentWaitMs'] = 500"
	ip=$POD_IP
	((ADD_MS >= 500 && ADD_MS < 2500)) ||
		fail "ADD took $ADD_MS ms, want agentWaitMs (500) and a little"
	assert_eq "$EP_CLOSED" "$(map_flags n1 "$ip")" "closed while the agent is down"
	assert_contains "$(cni_log)" "has not programmed win/orphan within 500 ms: ignoring, the pod starts closed" \
		"the warning in cni.log"
	agent_start n1
	wait_for 3 flags_are n1 "$ip" "$EP_ISOLATED" ||
		fail "the restarted agent did not program it: flags $(map_flags n1 "$ip")"
	assert_ge 256 "$(map_identity n1 "$ip")" "identity after the restart"
}

# A client that hammers DST:PORT over TCP (connects, 4 threads) and UDP
# (a datagram per ms, all from one socket: one flow, which conntrack
# tracks from its first datagram, before the address is anyone's) until
# the file STOP exists; every payload is a "hm-" token. Prints the counts;
# connected or answered > 0 means a packet got through to a listener.
read -r -d '' HAMMER_PY <<'PY' || true
import os, select, socket, sys, threading, time
dst, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = {"syn": 0, "udp": 0, "connected": 0, "answered": 0}
lock = threading.Lock()
def count(k):
    with lock:
        n[k] += 1
def tcp(t):
    i = 0
    while not os.path.exists(stop):
        i += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((dst, port))
        count("syn")
        _, w, _ = select.select([], [s], [], 0.02)
        if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            count("connected")
            try:
                s.send(("hm-tcp-%d-%d" % (t, i)).encode())
            except OSError:
                pass
        s.close()
        if not w:
            continue
        time.sleep(0.005) # refused fast (no route yet): do not spin
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    i = 0
    while not os.path.exists(stop):
        i += 1
        try:
            s.sendto(("hm-udp-%d" % i).encode(), (dst, port))
            count("udp")
            s.recvfrom(65535)
            count("answered")
        except OSError:
            pass
        time.sleep(0.001)
ts = [threading.Thread(target=tcp, args=(t,)) for t in range(4)]
ts.append(threading.Thread(target=udp))
for t in ts:
    t.start()
for t in ts:
    t.join()
print("%(syn)d %(udp)d %(connected)d %(answered)d" % n)
PY

# The packets of the window: from before ADD to 2 s after, a client on the
# same node hammers the new pod's address, where a server listens from
# the moment its namespace exists; a default-deny-ingress policy selects
# the pod. Not one packet may reach the server. Needs the datapath's
# NetworkPolicy enforcement.
t_window_packets() {
	local client nsp next last hammer counts drops_pending drops_policy
	local connected answered

	if ! grep -q POLICY_DENIED_INGRESS "$E2E_TOP/include/sluice/drop.h" ||
		[[ ! -f $E2E_TOP/datapath/lib/policy.h ]]; then
		fail "the datapath does not enforce NetworkPolicy yet"
	fi
	window_with_client Ingress
	client=$CLIENT

	# The pod's namespace and its server, before the ADD gives it an
	# address; the address is the allocator's next (round robin).
	nsp=$(netns_new n1 new)
	serve "$nsp" new "$ECHO_PORT"
	last=$(cat "$(node_run_dir n1)/endpoints/.last")
	next=${last%.*}.$((${last##*.} + 1))
	say "hammering $next:$ECHO_PORT from $client"
	nsenter --net="$(pod_nspath n1 client)" "$PY" -IS -c "$HAMMER_PY" \
		"$next" "$ECHO_PORT" "$CASE_DIR/hammer.stop" >"$CASE_DIR/hammer.out" \
		2>"$CASE_DIR/hammer.err" &
	hammer=$!
	echo "$hammer" >>"$CASE_DIR/pids"
	sleep 0.3

	mkconf "$CASE_DIR/new.conf" n1 1.1.0
	cni_add n1 "$CASE_DIR/new.conf" "$nsp" cid-new eth0 \
		"K8S_POD_NAMESPACE=win;K8S_POD_NAME=new;K8S_POD_UID=uid-new"
	assert_cni_ok "ADD under fire"
	assert_eq "$next" "$(jget 'd["ips"][0]["address"].split("/")[0]' "$CNI_OUT_FILE")" \
		"the address the client hammers"
	sleep 2
	touch "$CASE_DIR/hammer.stop"
	wait "$hammer" || fail "hammer failed: $(cat "$CASE_DIR/hammer.err")"
	counts=$(cat "$CASE_DIR/hammer.out")
	drops_pending=$(($(metric n1 ENDPOINT_NOT_READY ingress) + $(metric n1 ENDPOINT_NOT_READY egress)))
	drops_policy=$(($(metric n1 POLICY_DENIED_INGRESS ingress) + $(metric n1 POLICY_DENIED_INGRESS egress)))
	say "hammer: SYNs, datagrams, connected, answered: $counts; dropped as ENDPOINT_NOT_READY: $drops_pending, POLICY_DENIED_INGRESS: $drops_policy"
	assert_eq 1 "$(map_flags n1 "$next")" "new: isolated for ingress, not pending"
	! grep -q "hm-" "$CASE_DIR/srv-new.log" 2>/dev/null ||
		fail "the server saw denied packets: $(grep -m5 hm- "$CASE_DIR/srv-new.log")"
	read -r _ _ connected answered <<<"$counts"
	assert_eq "0 0" "$connected $answered" "connections made, datagrams answered"
	assert_ge 1 "$drops_policy" "denied packets counted as POLICY_DENIED_INGRESS"
	# The UDP flow was tracked before ADD, toward nobody: ADD forgot it.
	assert_match "removed [1-9][0-9]* conntrack entries an earlier holder of the address left" \
		"$(cni_log)" "ADD flushed the flows tracked toward the address"

	# The control: allowed, the same client reaches the same server.
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: win, name: from-cl}\nspec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n' |
		put_manifest allow.yaml
	wait_for 3 expect_echo_quiet "$(pod_nspath n1 client)" "$next" ||
		fail "the allowed probe never got through: the hammer proved nothing"
}

# A probe for wait_for: does the new pod's server answer?
expect_echo_quiet() {
	probe "$1" udp "$2" "$ECHO_PORT" "$(token)" "" 0.5 >/dev/null 2>&1
}

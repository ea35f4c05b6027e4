# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The node agent (sluiced) with the manifests-folder source, on a node whose
# pods the plugin wired: identities follow labels within a second, bad input
# is reported and skipped, and the datapath never depends on the agent
# being alive.

e2e_case agent_identities t_agent_identities
e2e_case agent_kill t_agent_kill
e2e_case agent_adopt t_agent_adopt
e2e_case agent_upgrade t_agent_upgrade

SLUICED=${SLUICED:-$SL_BIN/sluiced}

# agent_start NODE [SOURCE-ARGS...]: run sluiced for NODE, on
# $CASE_DIR/manifests unless other source arguments are given, with
# --routing $AGENT_ROUTING and --host-routing $AGENT_HOST_ROUTING when
# set. Its socket
# programs go to AGENT_CGROUP_ROOT, by default nowhere: attachments outlive
# the agent, and the machine's cgroup root must not collect a test's.
agent_start() {
	local node=$1 sock
	shift
	sock=$(node_run_dir "$node")/sluiced.sock
	mkdir -p "$CASE_DIR/manifests"
	(($#)) || set -- --source "$CASE_DIR/manifests"
	# nsenter execs sluiced: $! is the agent itself, for kill -KILL.
	nsenter --net="$(node_nspath "$node")" "$SLUICED" --node-name "$node" \
		--cgroup-root "${AGENT_CGROUP_ROOT:-none}" \
		${AGENT_ROUTING:+--routing "$AGENT_ROUTING"} \
		${AGENT_HOST_ROUTING:+--host-routing "$AGENT_HOST_ROUTING"} \
		"$@" --bpf-root "$(node_bpf_root "$node")" \
		--run-dir "$(node_run_dir "$node")" --log-level debug \
		>>"$CASE_DIR/agent-$node.log" 2>&1 &
	AGENT_PID=$!
	echo "$AGENT_PID" >>"$CASE_DIR/pids"
	wait_for 5 test -S "$sock" || fail "sluiced did not start: $(tail -5 "$CASE_DIR/agent-$node.log")"
}

ctl() {
	local node=$1
	shift
	node_exec "$node" "$SL_BIN/sluicectl" --bpf-root "$(node_bpf_root "$node")" \
		--run-dir "$(node_run_dir "$node")" "$@"
}

# The identity sl_endpoints holds for a pod address (bpftool, not the agent).
map_identity() {
	node_exec "$1" bpftool -j map dump pinned "$(node_bpf_root "$1")/sl_endpoints" |
		"$PY" -IS -c '
import json, sys, ipaddress
want = sys.argv[1]
for e in json.load(sys.stdin):
    k, v = e.get("formatted", e)["key"], e.get("formatted", e)["value"]
    if str(ipaddress.IPv4Address(int(k["ip4"]).to_bytes(4, "little"))) == want:
        print(v["identity"])' "$2"
}

ipcache_has() { [[ $(ctl "$1" ipcache) =~ $2 ]]; }
ipcache_lacks() { [[ $(ctl "$1" ipcache) != *"$2"* ]]; }

# identity_is NODE IP ID: for wait_for, which re-runs it until true.
identity_is() { [[ $(map_identity "$1" "$2") == "$3" ]]; }

# Write a manifest file the way operators must: whole, by rename.
put_manifest() {
	mkdir -p "$CASE_DIR/manifests"
	cat >"$CASE_DIR/manifests/.$1.tmp"
	mv "$CASE_DIR/manifests/.$1.tmp" "$CASE_DIR/manifests/$1"
}

pod_yaml() { # NS NAME NODE LABELS
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: %s, name: %s, labels: {%s}}\nspec: {nodeName: %s}\n' "$1" "$2" "$4" "$3"
}

node_yaml() { # NODE INDEX
	printf -- '---\napiVersion: v1\nkind: Node\nmetadata: {name: %s}\nspec: {podCIDR: 10.244.%s.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.77.%s}]}\n' "$1" "$2" "$2"
}

# Poll until the map's identity for IP differs from OLD; print elapsed ms.
changed_within() {
	local node=$1 ip=$2 old=$3 start=$EPOCHREALTIME now
	while :; do
		now=$(map_identity "$node" "$ip")
		if [[ -n $now && $now != "$old" ]]; then
			echo $(( (${EPOCHREALTIME/./} - ${start/./}) / 1000 ))
			return 0
		fi
		(( (${EPOCHREALTIME/./} - ${start/./}) < 3000000 )) || return 1
		sleep 0.02
	done
}

t_agent_identities() {
	local web db id_web id_db id2 ms

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	{ node_yaml n1 1; printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: red}}\n'; } |
		put_manifest cluster.yaml
	{ pod_yaml shop web n1 'app: web'; pod_yaml shop db n1 'app: db'; } | put_manifest pods.yaml
	agent_start n1

	id_web=$(map_identity n1 "$web")
	id_db=$(map_identity n1 "$db")
	assert_ge 256 "$id_web" "web's identity in sl_endpoints"
	assert_ge 256 "$id_db" "db's identity in sl_endpoints"
	assert_ne "$id_web" "$id_db" "different labels, different identities"
	assert_contains "$(ctl n1 identities)" "app=web" "sluicectl identities"
	assert_eq '{"podCIDR":"10.244.1.0/24","mtu":1500}' "$(cat "$(node_run_dir n1)/node.json")" \
		"node.json from the Node object"

	# The ipcache: every address of the cluster, pods on other nodes too.
	{ node_yaml n2 2; printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: far, labels: {app: web}}\nspec: {nodeName: n2}\nstatus: {podIP: 10.244.2.9}\n'; } |
		put_manifest remote.yaml
	wait_for 2 ipcache_has n1 "10.244.2.9/32 *$id_web *192.168.77.2 *false" ||
		fail "remote pod not in the ipcache: $(ctl n1 ipcache)"
	assert_match "192.168.77.1/32 +1 +192.168.77.1 +true" "$(ctl n1 ipcache)" "this node is identity 1 (host)"
	assert_match "192.168.77.2/32 +6 +192.168.77.2 +false" "$(ctl n1 ipcache)" "the other node is identity 6 (remote-node)"
	rm "$CASE_DIR/manifests/remote.yaml"
	wait_for 2 ipcache_lacks n1 "10.244.2.9/32" || fail "deleted pod still in the ipcache"

	# Relabel a pod: the map follows within a second.
	{ pod_yaml shop web n1 'app: web'; pod_yaml shop db n1 'app: cache'; } | put_manifest pods.yaml
	ms=$(changed_within n1 "$db" "$id_db") || fail "db's identity did not change within 3 s"
	say "pod relabel reached sl_endpoints in ${ms} ms"
	((ms < 1000)) || fail "pod relabel took ${ms} ms (> 1 s)"
	assert_eq "$id_web" "$(map_identity n1 "$web")" "web untouched by db's relabel"
	assert_contains "$(ctl n1 identities)" "app=cache" "new identity listed"
	assert_not_contains "$(ctl n1 identities)" "app=db" "old identity released"

	# Relabel the namespace: both pods move.
	{ node_yaml n1 1; printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: blue}}\n'; } |
		put_manifest cluster.yaml
	ms=$(changed_within n1 "$web" "$id_web") || fail "namespace relabel not applied"
	((ms < 1000)) || fail "namespace relabel took ${ms} ms (> 1 s)"

	# A file that does not parse keeps its objects; the error names it.
	id2=$(map_identity n1 "$web")
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: [\n' | put_manifest pods.yaml
	sleep 0.3
	assert_eq "$id2" "$(map_identity n1 "$web")" "identity kept after a broken file"
	assert_match "pods.yaml:[0-9]+:[0-9]+" "$(ctl n1 status)" "status names file and line"

	# A bad object is skipped, the good ones in the same file apply.
	{ pod_yaml shop web n1 'app: web2'; printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: bad, labels: [1]}\n'; pod_yaml shop db n1 'app: cache'; } |
		put_manifest pods.yaml
	changed_within n1 "$web" "$id2" >/dev/null || fail "good object next to a bad one not applied"
	assert_contains "$(ctl n1 status)" "shop/bad" "status names the bad object"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "shop/bad" "log names the bad object"

	# Removing the file forgets its pods: endpoints keep forwarding with
	# identity 0 (unknown) rather than vanish.
	rm "$CASE_DIR/manifests/pods.yaml"
	wait_for 2 identity_is n1 "$web" 0 || fail "identity not cleared"
	serve "$(pod_nspath n1 db)" db "$ECHO_PORT"
	expect_echo "$(pod_nspath n1 web)" tcp "$db" "$ECHO_PORT" "db:$web"
}

# SIGKILL of the agent in the middle of a TCP stream between pods loses no
# byte, and new connections still work while it is down.
t_agent_kill() {
	local a b got

	node_add n1 1
	a=$(pod_add n1 a)
	b=$(pod_add n1 b)
	{ node_yaml n1 1; pod_yaml default a n1 'app: a'; pod_yaml default b n1 'app: b'; } |
		put_manifest all.yaml
	agent_start n1

	# Receiver counts bytes and checks the running pattern; sender sends
	# 4 MiB in 64 KiB pieces over ~3 s.
	nsenter --net="$(pod_nspath n1 b)" "$PY" -IS -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7100)); s.listen(1); open(sys.argv[1], "w").close()
c, _ = s.accept(); n = 0; ok = True
while True:
    d = c.recv(65536)
    if not d: break
    for i in range(0, len(d), 4096):
        ok = ok and all(x == (n + i + j) % 251 for j, x in enumerate(d[i:i + 1]))
    n += len(d)
open(sys.argv[2], "w").write("%d %s" % (n, ok))' "$CASE_DIR/rx.ready" "$CASE_DIR/rx.out" &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$CASE_DIR/rx.ready" || fail "receiver did not start"
	nsenter --net="$(pod_nspath n1 a)" "$PY" -IS -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], 7100), timeout=10)
data = bytes(i % 251 for i in range(4 << 20))
for off in range(0, len(data), 65536):
    c.sendall(data[off:off + 65536]); time.sleep(0.045)
c.close()' "$b" &
	local sender=$!
	sleep 1
	kill -KILL "$AGENT_PID"
	say "agent killed mid-stream"
	wait "$sender" || fail "sender failed"
	wait_for 5 test -s "$CASE_DIR/rx.out" || fail "receiver did not finish"
	got=$(cat "$CASE_DIR/rx.out")
	assert_eq "$((4 << 20)) True" "$got" "bytes received across the agent's SIGKILL"

	# New connections still work while it is down.
	serve "$(pod_nspath n1 b)" b "$ECHO_PORT"
	expect_echo "$(pod_nspath n1 a)" tcp "$b" "$ECHO_PORT" "b:$a"

	# A pod added while it is down starts closed (its node.json says an
	# agent programs this node's pods): ADD gives up waiting after
	# agentWaitMs, short here, and the agent opens it once back.
	local c
	conflist_set n1 agentWaitMs 300
	c=$(pod_add n1 c)
	assert_eq 7 "$(map_flags n1 "$c")" "pending and closed while the agent is down"
	serve "$(pod_nspath n1 c)" c "$ECHO_PORT"
	agent_start n1
	wait_for 3 flags_are n1 "$c" 0 || fail "c not programmed: flags $(map_flags n1 "$c")"
	expect_echo "$(pod_nspath n1 a)" tcp "$c" "$ECHO_PORT" "c:$a"
}

# conflist_set NODE KEY VALUE: set a key of the node's sluice plugin (a JSON
# value) in its conflist, as an operator edits /etc/cni/net.d.
conflist_set() {
	"$PY" -IS - "$(node_dir "$1")/net.d/10-sluice.conflist" "$2" "$3" <<'PY'
import json, sys
path, key, value = sys.argv[1:4]
d = json.load(open(path))
d["plugins"][0][key] = json.loads(value)
json.dump(d, open(path, "w"), indent=2)
PY
}

# The agent adopts what happened while it was down and removes what is
# stale; SIGTERM stops it and leaves the datapath running.
t_agent_adopt() {
	local a b stale log

	node_add n1 1
	a=$(pod_add n1 a)
	{ node_yaml n1 1; pod_yaml default a n1 'app: a'; pod_yaml default b n1 'app: b'; } |
		put_manifest all.yaml
	# Added while no agent runs; plus an entry no record explains.
	b=$(pod_add n1 b)
	assert_eq 0 "$(map_identity n1 "$b")" "identity before the agent"
	stale=10.244.1.200
	node_exec n1 bpftool map update pinned "$(node_bpf_root n1)/sl_endpoints" \
		key 10 244 1 200 value 99 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
	assert_contains "$(ep_map_ips n1)" "$stale" "stale entry planted"

	agent_start n1
	assert_ge 256 "$(map_identity n1 "$b")" "pod added while down adopted"
	assert_not_contains "$(ep_map_ips n1)" "$stale" "stale entry removed on start"
	log=$(cat "$CASE_DIR/agent-n1.log")
	assert_contains "$log" "$stale: removed" "removal logged"
	assert_contains "$log" "reconciled:" "reconciliation summary logged"

	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
	assert_fail test -e "$(node_run_dir n1)/sluiced.sock"
	assert_contains "$(ctl n1 status 2>&1 || true)" "not answering" "sluicectl says the agent is down"
	serve "$(pod_nspath n1 b)" b "$ECHO_PORT"
	expect_echo "$(pod_nspath n1 a)" tcp "$b" "$ECHO_PORT" "b:$a"
}

# The kernel id of the program on a host veth's tc hook (ingress|egress).
veth_prog_id() {
	node_exec "$1" tc filter show dev "$2" "$3" | sed -n 's/.* id \([0-9]*\) .*/\1/p' | head -1
}

pinned_map_id() {
	node_exec "$1" bpftool -j map show pinned "$(node_bpf_root "$1")/$2" |
		"$PY" -IS -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# An agent whose build carries another datapath replaces the pinned one:
# programs re-attached in place on every veth, maps (and their contents)
# kept, an established stream untouched.
t_agent_upgrade() {
	local a b veth in_before eg_before map_before got

	node_add n1 1
	a=$(pod_add n1 a)
	b=$(pod_add n1 b)
	{ node_yaml n1 1; pod_yaml default a n1 'app: a'; pod_yaml default b n1 'app: b'; } |
		put_manifest all.yaml
	veth=$(pod_veth n1 a)
	in_before=$(veth_prog_id n1 "$veth" ingress)
	eg_before=$(veth_prog_id n1 "$veth" egress)
	map_before=$(pinned_map_id n1 sl_endpoints)
	assert_ge 1 "$in_before" "a program on $veth before"

	# Pretend the pinned datapath came from another build.
	node_exec n1 bpftool map update pinned "$(node_bpf_root n1)/sl_info" \
		key 0 0 0 0 value 1 2 3 4 5 6 7 8 1 0 0 0 0 0 0 0

	nsenter --net="$(pod_nspath n1 b)" "$PY" -IS -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7100)); s.listen(1); open(sys.argv[1], "w").close()
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
open(sys.argv[2], "w").write(str(n))' "$CASE_DIR/rx.ready" "$CASE_DIR/rx.out" &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$CASE_DIR/rx.ready" || fail "receiver did not start"
	nsenter --net="$(pod_nspath n1 a)" "$PY" -IS -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], 7100), timeout=10)
for _ in range(60):
    c.sendall(b"x" * 65536); time.sleep(0.03)
c.close()' "$b" &
	local sender=$!
	sleep 0.5
	agent_start n1
	wait "$sender" || fail "sender failed across the upgrade"
	wait_for 5 test -s "$CASE_DIR/rx.out" || fail "receiver did not finish"
	assert_eq "$((60 * 65536))" "$(cat "$CASE_DIR/rx.out")" "bytes across the upgrade"

	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "upgrading" "upgrade logged"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "2 of 2 pod veths re-attached" "both veths moved"
	assert_ne "$in_before" "$(veth_prog_id n1 "$veth" ingress)" "new ingress program"
	assert_ne "$eg_before" "$(veth_prog_id n1 "$veth" egress)" "new egress program"
	assert_eq "$map_before" "$(pinned_map_id n1 sl_endpoints)" "sl_endpoints kept across the upgrade"
	# The new programs are the pinned ones, and they forward.
	assert_eq "$(veth_prog_id n1 "$veth" ingress)" \
		"$(node_exec n1 bpftool -j prog show pinned "$(node_bpf_root n1)/sl_from_pod" |
			"$PY" -IS -c 'import json,sys; print(json.load(sys.stdin)["id"])')" \
		"veth runs the pinned sl_from_pod"
	serve "$(pod_nspath n1 b)" b "$ECHO_PORT"
	expect_echo "$(pod_nspath n1 a)" tcp "$b" "$ECHO_PORT" "b:$a"

	# A second start finds its own datapath: nothing to do.
	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
	: >"$CASE_DIR/agent-n1.log"
	agent_start n1
	assert_not_contains "$(cat "$CASE_DIR/agent-n1.log")" "upgrading" "no upgrade when current"
}

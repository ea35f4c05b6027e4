# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Services for host-network processes: the cgroup socket programs translate
# a node's own processes' connect() and sendmsg() to a backend, and their
# recvmsg() and getpeername() back to the frontend. Each case makes a
# private cgroup v2 directory (removed at its end, failed or not), starts
# the agent with --cgroup-root on it, and runs its clients inside a node's
# network namespace AND inside that cgroup. Helpers from test_services.sh
# (svc_setup, svc_yaml, slice_yaml, svc_backends_are, VIP) and
# test_agent.sh (agent_start, ctl, put_manifest).

e2e_case svc_host_tcp t_svc_host_tcp
e2e_case svc_host_udp t_svc_host_udp
e2e_case svc_host_no_endpoints t_svc_host_no_endpoints
e2e_case svc_host_other_netns t_svc_host_other_netns
e2e_case svc_host_agent_restart t_svc_host_agent_restart

# host_cgroup: a fresh cgroup v2 directory for the case in HOST_CG, and
# the case's teardown extended to empty and remove it.
host_cgroup() {
	local root
	for root in /sys/fs/cgroup /sys/fs/cgroup/unified ""; do
		[[ -n $root && $(stat -fc %T "$root" 2>/dev/null) == cgroup2fs ]] && break
	done
	[[ -n $root ]] || fail "no cgroup v2 mount at /sys/fs/cgroup(/unified)"
	HOST_CG=$root/sluice-e2e-$E2E_CASE_ID-$$-$SRANDOM
	mkdir "$HOST_CG"
	trap _host_cgroup_teardown EXIT
}

# Processes first (a cgroup with members cannot go; every member is this
# case's), then the directory and with it every program attached to it;
# then the usual teardown, which fails the case if the cgroup stayed.
_host_cgroup_teardown() {
	local rc=$? pid
	set +e
	if [[ -d $HOST_CG ]]; then
		while read -r pid; do
			[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
		done <"$HOST_CG/cgroup.procs"
		wait_for 3 _cgroup_empty "$HOST_CG"
		if ! rmdir "$HOST_CG"; then
			echo "FAIL [teardown]: left behind: cgroup $HOST_CG"
			((rc == 0)) && rc=1
		fi
	fi
	(exit "$rc")
	case_teardown
}

_cgroup_empty() { [[ -z $(<"$1/cgroup.procs") ]]; }

# in_host NSPATH CMD...: CMD as a host process of that namespace, in
# HOST_CG: the shell moves itself into the cgroup, then execs.
in_host() {
	sh -c 'echo $$ >"$1/cgroup.procs" || exit 125; ns=$2; shift 2; exec nsenter --net="$ns" "$@"' \
		sh "$HOST_CG" "$@"
}

# host_hits NSPATH PROTO N: N requests to the VIP from host processes;
# prints "server:source" per answer (the echo server's view).
host_hits() {
	local i reply tok port=$SVC_PORT
	[[ $2 == udp ]] && port=53
	for ((i = 0; i < $3; i++)); do
		tok=$(token)
		reply=$(in_host "$1" "$PY" -IS -c "$CLIENT_PY" "$2" "$VIP" "$port" "$tok" "" \
			"$PROBE_TIMEOUT" 2>&1) || fail "host $2 to $VIP:$port: no answer: $reply"
		[[ $reply == *":$tok" ]] || fail "host $2 to $VIP:$port: reply '$reply'"
		echo "${reply%:"$tok"}"
	done
}

# A client that reports what the socket API shows: for TCP, getpeername()
# after connect(); for UDP, the source of every answer (recvfrom) and, on a
# connected socket, getpeername(). One socket, ROUNDS requests; prints one
# line per answer: "peer=<addr>:<port> from=<addr>:<port> <reply>".
read -r -d '' PEER_PY <<'PY' || true
import socket, sys
mode, dst, port, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fmt = lambda a: "%s:%d" % a
try:
    if mode == "tcp":
        s = socket.create_connection((dst, port), timeout=3)
        peer = fmt(s.getpeername())
        s.sendall(b"tcp-peer"); s.shutdown(socket.SHUT_WR)
        print("peer=%s from=%s %s" % (peer, peer, s.recv(200).decode()))
        sys.exit(0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    peer = "-"
    if mode == "udp-connected":
        s.connect((dst, port))
        peer = fmt(s.getpeername())
    for i in range(rounds):
        for _ in range(6):
            if mode == "udp-connected":
                s.send(b"r%d" % i)
            else:
                s.sendto(b"r%d" % i, (dst, port))
            try:
                data, src = s.recvfrom(200)
                break
            except socket.timeout:
                pass
        else:
            sys.exit("no answer to round %d" % i)
        print("peer=%s from=%s %s" % (peer, fmt(src), data.decode()))
except OSError as e:
    sys.exit("%s: %s" % (type(e).__name__, e))
PY

# refused_host NSPATH MODE PORT: connect (tcp, udp-connected) or sendto
# (udp) to the VIP; prints the exception's name and the milliseconds taken.
read -r -d '' REFUSED_PY <<'PY' || true
import socket, sys, time
mode, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.monotonic()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if mode == "tcp" else socket.SOCK_DGRAM)
s.settimeout(5)
try:
    if mode == "udp":
        s.sendto(b"x", (dst, port))
    else:
        s.connect((dst, port))
    print("connected")
except OSError as e:
    print("%s %d" % (type(e).__name__, (time.monotonic() - t) * 1000))
PY

# Our programs attached to HOST_CG, one "name id" a line (bpftool's view).
cg_progs() {
	node_exec n1 bpftool -j cgroup show "$HOST_CG" | "$PY" -IS -c '
import json, sys
for p in json.load(sys.stdin):
    print(p.get("name", "?"), p["id"])'
}

# Each of the four sl_sock_* programs exactly N times (default once).
assert_attached_once() {
	local want=${1:-1} name n progs
	progs=$(cg_progs)
	for name in sl_sock_connect4 sl_sock_sendmsg4 sl_sock_recvmsg4 sl_sock_getpeername4; do
		n=$(grep -c "^$name " <<<"$progs" || true)
		assert_eq "$want" "$n" "$name attached to the cgroup ($(tr '\n' ' ' <<<"$progs"))"
	done
}

# sock_lb NODE FIELD: a field of the agent's socketLB status.
sock_lb() { ctl "$1" -o json status | jget "d['socketLB']['$2']"; }

pinned_prog_id() {
	node_exec "$1" bpftool -j prog show pinned "$(node_bpf_root "$1")/$2" |
		"$PY" -IS -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# host_setup ENDPOINT...: svc_setup's node and pods, Service web with
# ENDPOINTs (b1 or b2, with slice_yaml's :CONDITIONS), the agent attached
# to a private cgroup. Sets N1 (n1's namespace) and N1_AGENT.
host_setup() {
	local eps=() ep ready=0
	host_cgroup
	svc_setup
	for ep in "$@"; do
		[[ $ep == *:notready ]] || ready=$((ready + 1))
		ep=${ep/#b1/$B1}
		eps+=("${ep/#b2/$B2}")
	done
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "${eps[@]}"; } | put_manifest web.yaml
	AGENT_CGROUP_ROOT=$HOST_CG agent_start n1
	N1_AGENT=$AGENT_PID
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" "$ready" ||
		fail "frontend not programmed: $(ctl n1 services)"
	N1=$(node_nspath n1)
}

# TCP from the node's own processes to a ClusterIP reaches the backends,
# from the node's address (nothing is rewritten on the wire: the socket
# itself connected to the backend), and getpeername() says the ClusterIP.
t_svc_host_tcp() {
	local out new0

	host_setup b1 b2
	assert_attached_once
	assert_eq "true" "$(sock_lb n1 attached)" "status: attached"
	assert_eq "$HOST_CG" "$(sock_lb n1 cgroup)" "status: where"
	assert_contains "$(ctl n1 status)" "socket LB:   attached to $HOST_CG" "status table"
	assert_eq "$(pinned_prog_id n1 sl_sock_connect4)" \
		"$(cg_progs | sed -n 's/^sl_sock_connect4 \([0-9]*\)$/\1/p')" \
		"the cgroup runs the pinned sl_sock_connect4"

	new0=$(metric n1 SERVICE_NEW egress)
	out=$(host_hits "$N1" tcp 16 | sort | uniq -c)
	say "host TCP spread: $(echo "$out" | tr '\n' ' ')"
	assert_contains "$out" "b1:$(node_ip n1)" "host TCP reached b1 from the node's address"
	assert_contains "$out" "b2:$(node_ip n1)" "host TCP reached b2"
	assert_ge $((new0 + 16)) "$(metric n1 SERVICE_NEW egress)" "host translations counted"

	out=$(in_host "$N1" "$PY" -IS -c "$PEER_PY" tcp "$VIP" "$SVC_PORT" 1 2>&1) ||
		fail "host TCP with getpeername: $out"
	assert_match "^peer=$VIP:$SVC_PORT from=.* b[12]:" "$out" "getpeername() shows the ClusterIP"

	# The same process outside the cgroup is not translated: the node has
	# no route to the ClusterIP range, so nothing answers.
	out=$(nsenter --net="$N1" "$PY" -IS -c "$CLIENT_PY" tcp "$VIP" "$SVC_PORT" "$(token)" "" \
		"$NEG_TIMEOUT" 2>&1) && fail "a process outside the cgroup reached $VIP: $out"
	# A pod's process in the same cgroup is left to its veth (its
	# namespace is not the node's): translated per packet, so conntrack
	# holds its connection to the ClusterIP.
	out=$(in_host "$(pod_nspath n1 client)" "$PY" -IS -c "$CLIENT_PY" tcp "$VIP" \
		"$SVC_PORT" "$(token)" "" "$PROBE_TIMEOUT" 2>&1) || fail "pod to ClusterIP: $out"
	assert_match "^b[12]:$CLIENT:" "$out" "pod to ClusterIP from its own address"
	assert_match "tcp +$CLIENT:[0-9]+ +$VIP:$SVC_PORT +($B1|$B2):$ECHO_PORT" \
		"$(ctl n1 ct --proto tcp --port "$SVC_PORT")" "the pod's connection went through its veth"
	assert_not_contains "$(ctl n1 ct --proto tcp --port "$SVC_PORT")" "$(node_ip n1):" \
		"host connections are not in conntrack"
}

# UDP: an unconnected socket gets its answers from VIP:53 and keeps one
# backend for all its datagrams; a connected one shows VIP:53 as its peer
# and its answers' source.
t_svc_host_udp() {
	local out i seen="" rep0

	host_setup b1 b2
	rep0=$(metric n1 SERVICE_REPLY ingress)
	out=$(in_host "$N1" "$PY" -IS -c "$PEER_PY" udp "$VIP" 53 6 2>&1) ||
		fail "unconnected host UDP: $out"
	assert_ge $((rep0 + 6)) "$(metric n1 SERVICE_REPLY ingress)" "answers translated back, counted"
	say "unconnected: $(tr '\n' '|' <<<"$out")"
	assert_eq 6 "$(grep -c "^peer=- from=$VIP:53 b[12]:$(node_ip n1):r[0-5]$" <<<"$out")" \
		"recvfrom() shows VIP:53 as every answer's source ($out)"
	assert_eq 1 "$(grep -o ' b[12]:' <<<"$out" | sort -u | wc -l)" \
		"one socket's datagrams stay on one backend ($out)"

	out=$(in_host "$N1" "$PY" -IS -c "$PEER_PY" udp-connected "$VIP" 53 3 2>&1) ||
		fail "connected host UDP: $out"
	assert_eq 3 "$(grep -c "^peer=$VIP:53 from=$VIP:53 b[12]:$(node_ip n1):r[0-2]$" <<<"$out")" \
		"getpeername() and recvfrom() show VIP:53 on a connected socket ($out)"

	# New sockets are spread over both backends.
	for ((i = 0; i < 16; i++)); do
		out=$(in_host "$N1" "$PY" -IS -c "$PEER_PY" udp "$VIP" 53 1 2>&1) ||
			fail "host UDP: $out"
		seen+=" ${out##* }"
	done
	assert_contains "$seen" "b1:" "UDP sockets reached b1"
	assert_contains "$seen" "b2:" "UDP sockets reached b2"
}

# No endpoints: connect() and sendto() fail at once (ECONNREFUSED where the
# kernel lets a cgroup program choose its errno, 5.18+; EPERM before), the
# refusal counted under its drop reason; with an endpoint, it works.
t_svc_host_no_endpoints() {
	local out want mode drops0

	host_setup b1:notready
	want=ConnectionRefusedError
	[[ $(ctl n1 -o json status | jget 'd["socketLB"]["refusal"]') == EPERM ]] &&
		want=PermissionError
	drops0=$(metric n1 NO_SERVICE_BACKEND egress)
	for mode in tcp udp udp-connected; do
		out=$(in_host "$N1" "$PY" -IS -c "$REFUSED_PY" "$mode" "$VIP" \
			"$([[ $mode == tcp ]] && echo "$SVC_PORT" || echo 53)")
		assert_match "^$want [0-9]+$" "$out" "host $mode to a Service without endpoints"
		((${out##* } < 500)) || fail "host $mode refusal took ${out##* } ms"
	done
	assert_ge $((drops0 + 3)) "$(metric n1 NO_SERVICE_BACKEND egress)" "refusals counted"

	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "ready endpoint not programmed"
	assert_eq "b1:$(node_ip n1)" "$(host_hits "$N1" tcp 2 | sort -u)" "served once ready"
}

# Two nodes' programs in one cgroup: each acts only on sockets of its own
# network namespace. n2 first has no agent (a process of n2 reaches a
# listener on n2's own copy of the VIP, untranslated by n1's programs),
# then its own agent with its own Service on the same VIP:port, served by
# a host-network endpoint on n2.
t_svc_host_other_netns() {
	local n2 out

	host_setup b1
	node_add n2 2
	n2=$(node_nspath n2)
	nsenter --net="$n2" ip addr add "$VIP/32" dev lo
	serve "$n2" n2vip "$SVC_PORT"
	expect_out() { [[ $(host_hits "$1" tcp 1) == "$2" ]] || fail "${3}: $(host_hits "$1" tcp 1)"; }
	expect_out "$n2" "n2vip:$VIP" "n2's process, in n1's cgroup, untranslated by n1"
	expect_out "$N1" "b1:$(node_ip n1)" "n1's process translated"

	nsenter --net="$n2" ip addr del "$VIP/32" dev lo
	serve "$n2" n2be "$ECHO_PORT"
	mkdir -p "$CASE_DIR/manifests-n2"
	{
		svc_yaml web "$VIP"
		printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {namespace: shop, name: web-n2, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports:\n- {name: http, protocol: TCP, port: %s}\n- {name: dns, protocol: UDP, port: %s}\nendpoints:\n- {addresses: [%s], nodeName: n2, conditions: {ready: true}}\n' \
			"$ECHO_PORT" "$ECHO_PORT" "$(node_ip n2)"
	} >"$CASE_DIR/manifests-n2/web.yaml"
	AGENT_CGROUP_ROOT=$HOST_CG agent_start n2 --source "$CASE_DIR/manifests-n2"
	assert_eq true "$(sock_lb n2 attached)" "n2's programs attached"
	assert_attached_once 2
	assert_ne "$(sock_lb n1 netnsCookie)" "$(sock_lb n2 netnsCookie)" "one cookie per node"
	wait_for 3 _n2_programmed || fail "n2's frontend not programmed: $(ctl n2 services)"
	expect_out "$n2" "n2be:$(node_ip n2)" "n2's process translated by n2's programs only"
	expect_out "$N1" "b1:$(node_ip n1)" "n1's process by n1's only"
}

_n2_programmed() { [[ $(ctl n2 services) == *"$(node_ip n2):$ECHO_PORT"* ]]; }

# The attachments outlive the agent: after SIGKILL, host processes still
# reach the Service; a restart attaches nothing twice; a restart that
# upgrades the datapath replaces our programs in place and leaves another
# node's programs in the same cgroup alone.
t_svc_host_agent_restart() {
	local before after n2_before progs id

	host_setup b1
	node_add n2 2
	mkdir -p "$CASE_DIR/manifests-n2"
	AGENT_CGROUP_ROOT=$HOST_CG agent_start n2 --source "$CASE_DIR/manifests-n2"
	assert_eq true "$(sock_lb n2 attached)" "n2's programs attached"
	assert_attached_once 2
	n2_before=$(sock_lb n2 programIds)

	kill -KILL "$N1_AGENT"
	wait_for 5 _pid_gone "$N1_AGENT" || fail "sluiced survived SIGKILL"
	say "n1's agent killed"
	assert_eq "b1:$(node_ip n1)" "$(host_hits "$N1" tcp 3 | sort -u)" "served with the agent dead"
	assert_attached_once 2

	AGENT_CGROUP_ROOT=$HOST_CG agent_start n1
	assert_attached_once 2
	assert_eq "b1:$(node_ip n1)" "$(host_hits "$N1" tcp 2 | sort -u)" "served after the restart"

	# Another build's datapath: the restart loads ours, attaches it and
	# detaches the programs it replaced, not n2's.
	before=$(pinned_prog_id n1 sl_sock_connect4)
	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
	node_exec n1 bpftool map update pinned "$(node_bpf_root n1)/sl_info" \
		key 0 0 0 0 value 1 2 3 4 5 6 7 8 1 0 0 0 0 0 0 0
	AGENT_CGROUP_ROOT=$HOST_CG agent_start n1
	after=$(pinned_prog_id n1 sl_sock_connect4)
	assert_ne "$before" "$after" "upgraded sl_sock_connect4"
	assert_attached_once 2
	progs=$(cg_progs)
	grep -qx "sl_sock_connect4 $after" <<<"$progs" || fail "new program not attached: $progs"
	! grep -q " $before$" <<<"$progs" || fail "old program still attached: $progs"
	assert_eq 4 "$(sock_lb n1 olderDetached)" "older programs detached"
	assert_eq "$n2_before" "$(sock_lb n2 programIds)" "n2's programs unchanged"
	for id in $(jget '" ".join(map(str, d))' <<<"$n2_before"); do
		grep -q " $id$" <<<"$progs" || fail "n2's program $id detached by n1's upgrade: $progs"
	done
	assert_eq "b1:$(node_ip n1)" "$(host_hits "$N1" tcp 2 | sort -u)" "served after the upgrade"
}

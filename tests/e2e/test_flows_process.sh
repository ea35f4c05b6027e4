# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Flow records name the processes behind them and carry TCP's round-trip
# time, from the sockets (datapath/lib/sockops.h, joined in
# agent/flows.c). The agent attaches its socket programs to a private
# cgroup v2 directory; a client process in a child cgroup named the way
# containerd names a container's, inside the client pod's network
# namespace, and an echo server inside the cgroup, in the server pod's.
# Helpers host_cgroup and in_host come from test_services_host.sh,
# flows_json and has_flow from test_flows.sh, agent_start, ctl and
# put_manifest from test_agent.sh, pod_ip_yaml from test_policy_cli.sh,
# scrape and series_value from test_metrics.sh.

e2e_case flows_process t_flows_process

# A client that says who it is: "PID SPORT REPLY" for one TCP exchange
# (connect, send, half-close, read to the end), one UDP one, or a TCP
# connection it resets at once (tcp-rst, REPLY "-").
read -r -d '' FLOWCLIENT_PY <<'PY' || true
import os, socket, struct, sys
proto, dst, port, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
try:
    if proto == "tcp":
        s = socket.create_connection((dst, port), timeout=5)
        s.sendall(token.encode())
        s.shutdown(socket.SHUT_WR)
        buf = s.makefile("rb").read()
    elif proto == "tcp-rst":
        s = socket.create_connection((dst, port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        print(os.getpid(), s.getsockname()[1], "-")
        s.close()
        sys.exit(0)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        for _ in range(10):
            s.sendto(token.encode(), (dst, port))
            try:
                buf, _ = s.recvfrom(65535)
                break
            except socket.timeout:
                pass
        else:
            sys.exit("no UDP reply")
    print(os.getpid(), s.getsockname()[1], buf.decode(errors="replace"))
except OSError as e:
    sys.exit("%s: %s" % (type(e).__name__, e))
PY

# proc_cgroup: host_cgroup's HOST_CG, and in it CT_CG, a child named as
# containerd's systemd driver names container CT_ID's; the teardown
# empties and removes the child before host_cgroup's does the parent.
# And a tracefs instance of the case's own recording execs: records carry
# the kernel's pids, which the suite's PID namespace hides from /proc but
# not from the trace (EXEC_TRACE is empty without tracefs).
proc_cgroup() {
	host_cgroup
	CT_ID=$(printf '%08x' "$SRANDOM" "$SRANDOM" "$SRANDOM" "$SRANDOM" \
		"$SRANDOM" "$SRANDOM" "$SRANDOM" "$SRANDOM")
	CT_CG=$HOST_CG/cri-containerd-$CT_ID.scope
	mkdir "$CT_CG"
	EXEC_TRACE=
	mkdir -p "$CASE_DIR/tracefs"
	trap _proc_cgroup_teardown EXIT
	mount -t tracefs nodev "$CASE_DIR/tracefs" 2>/dev/null || return 0
	EXEC_TRACE=$CASE_DIR/tracefs/instances/sluice-e2e-$E2E_CASE_ID-$$
	mkdir "$EXEC_TRACE" &&
		echo 1 >"$EXEC_TRACE/events/sched/sched_process_exec/enable" ||
		EXEC_TRACE=
}

# exec_pid NAME: the kernel's pid of the last exec of a file named NAME.
exec_pid() {
	sed -n "s|.*sched_process_exec: filename=[^ ]*/$1 pid=\([0-9]*\) .*|\1|p" \
		"$EXEC_TRACE/trace" | tail -1
}

_proc_cgroup_teardown() {
	local rc=$? pid
	set +e
	if [[ -n $EXEC_TRACE ]]; then
		echo 0 >"$EXEC_TRACE/events/sched/sched_process_exec/enable"
		rmdir "$EXEC_TRACE"
	fi
	mountpoint -q "$CASE_DIR/tracefs" && umount "$CASE_DIR/tracefs"
	if [[ -d $CT_CG ]]; then
		while read -r pid; do
			[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
		done <"$CT_CG/cgroup.procs"
		wait_for 3 _cgroup_empty "$CT_CG"
		rmdir "$CT_CG" || echo "FAIL [teardown]: left behind: cgroup $CT_CG"
	fi
	(exit "$rc")
	_host_cgroup_teardown
}

# flowclient PROTO: one exchange with the server from the client pod, as
# process "flowclient" in CT_CG; prints "PID SPORT REPLY".
flowclient() {
	HOST_CG=$CT_CG in_host "$(pod_nspath n1 client)" "$CASE_DIR/bin/flowclient" \
		-IS -c "$FLOWCLIENT_PY" "$1" "$SERVER" "$ECHO_PORT" "$(token)"
}

# flow_with KIND PROTO SPORT: the record of that kind for the client's
# source port, as JSON, once there is one.
flow_with() {
	flows_json --type "$1" --protocol "$2" --port "$3" | "$PY" -IS -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if d["l4"][sys.argv[1]]["source_port"] == int(sys.argv[2]):
        print(line.strip())
        sys.exit(0)
sys.exit(1)' "${2^^}" "$3"
}

t_flows_process() {
	local out pid sport start end cg_id

	proc_cgroup
	# The same python, under the names the records must show.
	mkdir -p "$CASE_DIR/bin"
	ln -s "$PY" "$CASE_DIR/bin/flowclient"
	ln -s "$PY" "$CASE_DIR/bin/flowserver"
	node_add n1 1
	CLIENT=$(pod_add n1 client shop)
	SERVER=$(pod_add n1 server shop)
	{
		node_yaml n1 1
		pod_ip_yaml shop client n1 "app: client" "$CLIENT"
		pod_ip_yaml shop server n1 "app: server" "$SERVER"
	} | put_manifest cluster.yaml
	AGENT_CGROUP_ROOT=$HOST_CG agent_start n1 --source "$CASE_DIR/manifests" \
		--metrics-listen "192.168.77.1:$METRICS_PORT"
	[[ $(ctl n1 -o json status | jget 'd["socketLB"]["attached"]') == true ]] ||
		fail "socket programs not attached: $(ctl n1 status)"
	cg_id=$(stat -c %i "$CT_CG")
	# The echo server as "flowserver", in the attached cgroup: it binds
	# once the programs are there to see it.
	(
		echo "$BASHPID" >"$HOST_CG/cgroup.procs"
		PY=$CASE_DIR/bin/flowserver serve "$(pod_nspath n1 server)" server "$ECHO_PORT"
	)

	# TCP: the start names the client (its socket is announced before
	# its SYN), the end both processes and the client's RTT.
	out=$(flowclient tcp) || fail "flowclient tcp: $out"
	read -r pid sport _ <<<"$out"
	# The kernel's pid of it, where the trace tells; else the one its
	# namespace shows is checked for form only, below.
	[[ -n $EXEC_TRACE ]] && pid=$(exec_pid flowclient)
	say "flowclient tcp: pid $pid, port $sport"
	assert_match "^server:$CLIENT:" "${out#* * }" "echoed"
	wait_for 3 flow_with end tcp "$sport" >/dev/null ||
		fail "no end for port $sport: $(flows_json --type end)"
	start=$(flow_with start tcp "$sport") || fail "no start for port $sport"
	end=$(flow_with end tcp "$sport")
	say "end: $end"
	if [[ -z $EXEC_TRACE ]]; then
		say "no tracefs: the kernel's pid of the client is unknown here; checking the record's for form"
		pid=$(jget 'd["process"]["pid"]' <<<"$start")
	fi
	assert_eq flowclient "$(jget 'd["process"]["comm"]' <<<"$start")" "the start names the client"
	assert_eq "$pid" "$(jget 'd["process"]["pid"]' <<<"$start")" "the start has the client's pid"
	assert_eq "$pid" "$(jget 'd["process"]["tid"]' <<<"$start")" "one thread: the same id"
	assert_eq "client server" "$(jget 'd["source"]["pod_name"] + " " + d["destination"]["pod_name"]' <<<"$end")" \
		"the end names both pods"
	assert_eq flowclient "$(jget 'd["process"]["comm"]' <<<"$end")" "the end names the client"
	assert_eq "$pid" "$(jget 'd["process"]["pid"]' <<<"$end")" "the end has the client's pid"
	assert_eq "$cg_id" "$(jget 'd["process"]["cgroup_id"]' <<<"$end")" "the client's cgroup"
	assert_eq "$CT_ID" "$(jget 'd["process"]["container_id"]' <<<"$end")" \
		"the container id from the cgroup's name"
	assert_eq flowserver "$(jget 'd["destination_process"]["comm"]' <<<"$end")" \
		"the end names the server (its listener's owner)"
	[[ -z $EXEC_TRACE ]] ||
		assert_eq "$(exec_pid flowserver)" "$(jget 'd["destination_process"]["pid"]' <<<"$end")" \
			"the server's pid"
	assert_eq source "$(jget 'd["rtt"]["measured_at"]' <<<"$end")" "the client's RTT"
	assert_ge 1 "$(jget 'd["rtt"]["srtt_us"]' <<<"$end")" "a smoothed RTT"
	assert_ge 1 "$(jget 'd["rtt"]["min_us"]' <<<"$end")" "a minimum RTT"
	assert_match '^[0-9]+$' "$(jget 'd["rtt"]["retransmits"]' <<<"$end")" "retransmits counted"

	# UDP: the client's first datagram announces its socket, so the
	# start names it too.
	out=$(flowclient udp) || fail "flowclient udp: $out"
	read -r pid sport _ <<<"$out"
	[[ -n $EXEC_TRACE ]] && pid=$(exec_pid flowclient)
	wait_for 3 flow_with start udp "$sport" >/dev/null ||
		fail "no UDP start for port $sport: $(flows_json --type start)"
	start=$(flow_with start udp "$sport")
	assert_eq flowclient "$(jget 'd["process"]["comm"]' <<<"$start")" "the UDP start names the client"
	[[ -z $EXEC_TRACE ]] ||
		assert_eq "$pid" "$(jget 'd["process"]["pid"]' <<<"$start")" "the UDP client's pid"

	# A reset: conntrack sees it pass before the server's socket does,
	# so the end waits for the server's close, and gets it.
	out=$(flowclient tcp-rst) || fail "flowclient tcp-rst: $out"
	read -r _ sport _ <<<"$out"
	wait_for 3 flow_with end tcp "$sport" >/dev/null ||
		fail "no end for the reset port $sport: $(flows_json --type end)"
	end=$(flow_with end tcp "$sport")
	assert_eq "rst flowclient flowserver" \
		"$(jget 'd["flow_end"]["reason"] + " " + d["process"]["comm"] + " " + d["destination_process"]["comm"]' <<<"$end")" \
		"the reset connection's end names both"
	assert_ge 1 "$(jget 'd["rtt"]["min_us"]' <<<"$end")" "the reset connection's RTT"

	# A process outside the attached cgroup is not attributed.
	out=$(nsenter --net="$(pod_nspath n1 client)" "$PY" -IS -c "$FLOWCLIENT_PY" tcp \
		"$SERVER" "$ECHO_PORT" "$(token)") || fail "client outside the cgroup: $out"
	read -r _ sport _ <<<"$out"
	wait_for 3 flow_with end tcp "$sport" >/dev/null || fail "no end for port $sport"
	end=$(flow_with end tcp "$sport")
	assert_eq "False flowserver" \
		"$(jget 'str("process" in d) + " " + d["destination_process"]["comm"]' <<<"$end")" \
		"only the server is named"

	# The filter and the human view.
	out=$(ctl n1 observe --last 50 --process flowclient -o json)
	assert_ge 3 "$(grep -c '"comm":"flowclient"' <<<"$out")" "--process selects the client's flows"
	assert_eq 0 "$(ctl n1 observe --last 50 --process nosuch -o json | wc -l)" \
		"--process selects nothing else"
	out=$(ctl n1 observe --last 50 --type end --protocol tcp)
	say "observe: $out"
	assert_match "flowclient\[[0-9]+\] -> flowserver\[[0-9]+\] rtt [0-9.]+ms" "$out" \
		"the human view shows processes and RTT"

	# The socket events are counted like every other kind.
	out=$(scrape n1) || fail "no /metrics"
	assert_ge 3 "$(series_value "$out" 'sluice_events_total{type="socket",outcome="sent"}')" \
		"socket events sent counted"
	assert_ge 3 "$(series_value "$out" 'sluice_flow_socket_events_total')" \
		"socket events read counted"
	# A FIN leaves ESTABLISHED before conntrack sees the close: those
	# ends went at once; the reset's receiver reported after it: that end
	# waited, and not in vain.
	assert_eq 0 "$(series_value "$out" 'sluice_flow_ends_held_total{outcome="timeout"}')" \
		"no end waited for a socket in vain"
	assert_ge 1 "$(series_value "$out" 'sluice_flow_ends_held_total{outcome="completed"}')" \
		"the reset's end waited for the server's close"
}

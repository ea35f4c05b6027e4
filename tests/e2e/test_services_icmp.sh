# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# ICMP errors about Service connections are translated like the
# connections (datapath/lib/icmp.h). The kernel hands an ICMP error to a
# connected UDP socket only when the datagram it quotes is the one the
# socket sent (to the address it is connected to), so ECONNREFUSED on such
# a socket proves the translation end to end: a backend with no socket on
# its port refuses a client of a ClusterIP or a NodePort, and a client gone
# refuses a backend's late answer. Helpers svc_setup, refused,
# outside_setup (test_services.sh) and agent_start, ctl, put_manifest
# (test_agent.sh) are the other files'.

e2e_case svc_icmp_clusterip t_svc_icmp_clusterip
e2e_case svc_icmp_nodeport t_svc_icmp_nodeport

# A port no pod listens on, and the one the late answerer uses.
DEAD_PORT=7999
LATE_PORT=7002
LATE_VIP=10.96.0.12

# udp_svc_yaml NAME TYPE CLUSTERIP PORT NODEPORT TARGET ENDPOINT...: a
# UDP-only Service in shop (port name udp, NODEPORT empty for none) and
# its EndpointSlice, the endpoints ready on n1 and serving on TARGET.
udp_svc_yaml() {
	local name=$1 type=$2 ip=$3 port=$4 nodeport=$5 target=$6 ep
	shift 6
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: %s}\nspec:\n  type: %s\n  clusterIP: %s\n  ports:\n  - {name: udp, protocol: UDP, port: %s, targetPort: %s%s}\n' \
		"$name" "$type" "$ip" "$port" "$target" "${nodeport:+, nodePort: $nodeport}"
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  namespace: shop\n  name: %s-1\n  labels: {kubernetes.io/service-name: %s}\naddressType: IPv4\nports:\n- {name: udp, protocol: UDP, port: %s}\nendpoints:\n' \
		"$name" "$name" "$target"
	for ep in "$@"; do
		printf -- '- {addresses: [%s], nodeName: n1, conditions: {ready: true}}\n' "$ep"
	done
}

# udp_refused NSPATH DST PORT: send on a UDP socket connected to DST:PORT,
# then read; prints the error's name ("ConnectionRefusedError" when an
# ICMP port unreachable about that datagram came back), or "answered".
udp_refused() {
	nsenter --net="$1" "$PY" -IS -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.send(b"x"); s.recv(100)
    print("answered")
except OSError as e:
    print(type(e).__name__)' "$2" "$3"
}

# late_server NSPATH: in a backend, a UDP socket on LATE_PORT that takes
# one datagram, connects to its sender, waits for $CASE_DIR/late.gone (the
# client closed its socket), answers, and writes to $CASE_DIR/late.out
# what came of the answer: "ConnectionRefusedError" when the client's port
# unreachable came back to it. Runs in the background.
late_server() {
	rm -f "$CASE_DIR/late.ready" "$CASE_DIR/late.gone" "$CASE_DIR/late.out"
	nsenter --net="$1" "$PY" -IS -c '
import os, socket, sys, time
ready, gone, out, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port)); open(ready, "w").close()
s.settimeout(10)
_, peer = s.recvfrom(100)
s.connect(peer)
deadline = time.monotonic() + 5
while not os.path.exists(gone) and time.monotonic() < deadline:
    time.sleep(0.02)
s.send(b"late")
s.settimeout(3)
try:
    s.recv(100); r = "answered"
except OSError as e:
    r = type(e).__name__
open(out, "w").write(r)' "$CASE_DIR/late.ready" "$CASE_DIR/late.gone" \
		"$CASE_DIR/late.out" "$LATE_PORT" \
		>>"$CASE_DIR/late.err" 2>&1 &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$CASE_DIR/late.ready" ||
		fail "late server did not start: $(cat "$CASE_DIR/late.err")"
}

# late_client NSPATH DST PORT: one datagram from a connected socket, which
# is then closed before the answer comes; prints what the server saw.
late_client() {
	nsenter --net="$1" "$PY" -IS -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2]))); s.send(b"hello"); s.close()' "$2" "$3"
	: >"$CASE_DIR/late.gone"
	# Not wait: this runs in a command substitution, not the server's
	# parent shell.
	wait_for 8 test -s "$CASE_DIR/late.out" ||
		echo "no result: $(cat "$CASE_DIR/late.err")"
	cat "$CASE_DIR/late.out" 2>/dev/null || true
}

# A pod's UDP to a ClusterIP whose backend has no socket on the port: the
# backend's port unreachable reaches the client as the ClusterIP's (also
# for a pod reaching itself, hairpin). A client gone when the answer of a
# backend comes: its port unreachable reaches the backend.
t_svc_icmp_clusterip() {
	local out

	svc_setup
	{
		udp_svc_yaml dead ClusterIP "$VIP" 53 "" "$DEAD_PORT" "$B1"
		udp_svc_yaml late ClusterIP "$LATE_VIP" 54 "" "$LATE_PORT" "$B2"
	} | put_manifest icmp.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:53/UDP" 1 ||
		fail "frontend not programmed: $(ctl n1 services)"
	wait_for 3 svc_backends_are "$LATE_VIP:54/UDP" 1 ||
		fail "frontend not programmed: $(ctl n1 services)"

	out=$(refused "$(pod_nspath n1 client)" udp 53)
	assert_match "^ConnectionRefusedError [0-9]+$" "$out" \
		"connected UDP to a ClusterIP whose backend has no socket"
	out=$(refused "$(pod_nspath n1 b1)" udp 53)
	assert_match "^ConnectionRefusedError [0-9]+$" "$out" \
		"the same, the client its own backend (hairpin)"
	assert_ge 2 "$(metric n1 SERVICE_ICMP egress)" "errors to the clients counted"
	assert_eq 0 "$(metric n1 NO_SERVICE_BACKEND egress)" \
		"refused by the backend, not by the datapath"

	late_server "$(pod_nspath n1 b2)"
	out=$(late_client "$(pod_nspath n1 client)" "$LATE_VIP" 54)
	assert_eq ConnectionRefusedError "$out" \
		"the backend's late answer refused by the client's host, back to the backend"
	assert_ge 3 "$(metric n1 SERVICE_ICMP egress)" "the error to the backend counted"
}

# The same from outside the node, to a NodePort: the backend's error is
# translated where it leaves the node, the outside client's where it comes
# in.
t_svc_icmp_nodeport() {
	local node_ip out

	svc_setup
	outside_setup
	node_ip=$(node_ip n1)
	{
		udp_svc_yaml dead NodePort 10.96.0.21 53 30053 "$DEAD_PORT" "$B1"
		udp_svc_yaml late NodePort 10.96.0.22 54 30054 "$LATE_PORT" "$B2"
	} | put_manifest icmp.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$node_ip:30053/UDP" 1 ||
		fail "NodePort not programmed: $(ctl n1 services)"
	wait_for 3 svc_backends_are "$node_ip:30054/UDP" 1 ||
		fail "NodePort not programmed: $(ctl n1 services)"

	out=$(udp_refused "$(outside_nspath out)" "$node_ip" 30053)
	assert_eq ConnectionRefusedError "$out" \
		"connected UDP from outside to a NodePort whose backend has no socket"
	assert_ge 1 "$(metric n1 SERVICE_ICMP egress)" "translated leaving the node"
	# A pod's connection to the same NodePort is translated at its veth.
	out=$(udp_refused "$(pod_nspath n1 client)" "$node_ip" 30053)
	assert_eq ConnectionRefusedError "$out" "the same from a pod"

	late_server "$(pod_nspath n1 b2)"
	out=$(late_client "$(outside_nspath out)" "$node_ip" 30054)
	assert_eq ConnectionRefusedError "$out" \
		"the outside client's port unreachable for a late answer, to the backend"
	assert_ge 1 "$(metric n1 SERVICE_ICMP ingress)" "translated coming in"
}

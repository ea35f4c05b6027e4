# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Services without kube-proxy: the agent compiles Services and
# EndpointSlices from the manifests folder into the datapath's maps, and
# pods reach ClusterIPs through the translation at their veth. Helpers
# agent_start, ctl and put_manifest come from test_agent.sh.

e2e_case svc_clusterip t_svc_clusterip san
e2e_case svc_endpoints_change t_svc_endpoints_change
e2e_case svc_backend_removed t_svc_backend_removed
e2e_case svc_hairpin_affinity t_svc_hairpin_affinity
e2e_case svc_agent_kill t_svc_agent_kill
e2e_case svc_no_endpoints t_svc_no_endpoints san
e2e_case svc_external t_svc_external san
e2e_case svc_external_local t_svc_external_local
e2e_case svc_internal_local t_svc_internal_local

VIP=10.96.0.10
SVC_PORT=80

# svc_yaml NAME CLUSTERIP [SPEC-EXTRA]: Service NAME in namespace shop,
# port 80 (name http, TCP) and 53 (name dns, UDP), to targetPort ECHO_PORT.
svc_yaml() {
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: %s}\nspec:\n  clusterIP: %s\n  ports:\n  - {name: http, protocol: TCP, port: %s, targetPort: %s}\n  - {name: dns, protocol: UDP, port: 53, targetPort: %s}\n%s' \
		"$1" "$2" "$SVC_PORT" "$ECHO_PORT" "$ECHO_PORT" "${3:-}"
}

# slice_yaml NAME SERVICE ENDPOINT...: an EndpointSlice of SERVICE with
# both ports; each ENDPOINT is IP[:CONDITIONS], CONDITIONS one of ready
# (default), terminating (serving, terminating, not ready), notready.
slice_yaml() {
	local name=$1 svc=$2 ep ip cond
	shift 2
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  namespace: shop\n  name: %s\n  labels: {kubernetes.io/service-name: %s}\naddressType: IPv4\nports:\n- {name: http, protocol: TCP, port: %s}\n- {name: dns, protocol: UDP, port: %s}\nendpoints:\n' \
		"$name" "$svc" "$ECHO_PORT" "$ECHO_PORT"
	for ep in "$@"; do
		ip=${ep%%:*}
		cond=ready
		[[ $ep == *:* ]] && cond=${ep#*:}
		case $cond in
		ready) printf -- '- {addresses: [%s], nodeName: n1, conditions: {ready: true}}\n' "$ip" ;;
		terminating) printf -- '- {addresses: [%s], nodeName: n1, conditions: {ready: false, serving: true, terminating: true}}\n' "$ip" ;;
		notready) printf -- '- {addresses: [%s], nodeName: n1, conditions: {ready: false, serving: false}}\n' "$ip" ;;
		esac
	done
}

# svc_setup [CONNTRACK_MAX]: one node n1 with pods client, b1, b2 in shop;
# echo servers in b1 and b2. Sets CLIENT, B1, B2.
svc_setup() {
	node_add n1 1
	[[ -z ${1:-} ]] ||
		sed -i "s/\"mtu\": 1500/\"mtu\": 1500, \"conntrackMax\": $1/" \
			"$(node_dir n1)/net.d/10-sluice.conflist"
	CLIENT=$(pod_add n1 client shop)
	B1=$(pod_add n1 b1 shop)
	B2=$(pod_add n1 b2 shop)
	serve "$(pod_nspath n1 b1)" b1 "$ECHO_PORT"
	serve "$(pod_nspath n1 b2)" b2 "$ECHO_PORT"
	node_yaml n1 1 | put_manifest cluster.yaml
}

# A frontend is programmed once `sluicectl services` lists it with COUNT
# backends in its slots.
svc_backends_are() {
	[[ $(ctl n1 -o json services | jget "sum(len(f['backends']) for f in d if f['frontend'] == '$1' and f['scope'] == 'external')") == "$2" ]]
}

# hits NSPATH PROTO N: N requests to the VIP; prints the servers that
# answered, one per line (server:source).
hits() {
	local i reply tok
	for ((i = 0; i < $3; i++)); do
		tok=$(token)
		reply=$(probe "$1" "$2" "$VIP" "$([[ $2 == tcp ]] && echo "$SVC_PORT" || echo 53)" "$tok") ||
			fail "$2 to $VIP from ${1##*/}: no answer: $reply"
		[[ $reply == *":$tok" ]] || fail "$2 to $VIP: reply '$reply'"
		echo "${reply%:"$tok"}"
	done
}

# udp_from NSPATH DST PORT: connected UDP; prints the answer. A connected
# socket only takes datagrams from the address it sent to: an answer
# proves the reply was translated back to DST:PORT.
udp_from() {
	nsenter --net="$1" "$PY" -IS -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2]))); s.settimeout(0.5)
for _ in range(10):
    s.send(b"connected")
    try:
        print(s.recv(100).decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' "$2" "$3"
}

t_svc_clusterip() {
	local out

	svc_setup
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; slice_yaml web-2 web "$B2"; } |
		put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 2 ||
		fail "frontend not programmed: $(ctl n1 services)"

	# TCP and UDP reach both backends, with the client's own address as
	# source (no SNAT inside the cluster).
	out=$(hits "$(pod_nspath n1 client)" tcp 24 | sort | uniq -c)
	say "TCP spread: $(echo "$out" | tr '\n' ' ')"
	assert_contains "$out" "b1:$CLIENT" "TCP to the ClusterIP reached b1 with the client's address"
	assert_contains "$out" "b2:$CLIENT" "TCP to the ClusterIP reached b2"
	out=$(hits "$(pod_nspath n1 client)" udp 24 | sort | uniq -c)
	assert_contains "$out" "b1:$CLIENT" "UDP reached b1"
	assert_contains "$out" "b2:$CLIENT" "UDP reached b2"
	out=$(udp_from "$(pod_nspath n1 client)" "$VIP" 53) ||
		fail "UDP reply not translated back to $VIP:53"
	assert_match "^b[12]:$CLIENT:connected$" "$out" "connected UDP socket got its answer"

	# The operator's view: the frontend, its backends; conntrack entries
	# for the connections, with their backend.
	out=$(ctl n1 services)
	assert_contains "$out" "shop/web:http/TCP" "sluicectl services names the Service port"
	assert_contains "$out" "$B1:$ECHO_PORT" "sluicectl services lists b1"
	out=$(ctl n1 ct --proto tcp --port "$SVC_PORT")
	assert_match "tcp +$CLIENT:[0-9]+ +$VIP:$SVC_PORT +($B1|$B2):$ECHO_PORT .* shop/web:http/TCP" "$out" \
		"sluicectl ct shows a translated connection and its Service"
	assert_ge 1 "$(metric n1 SERVICE_NEW egress)" "SERVICE_NEW counted"

	# sl_ct was created with the plugin's conntrackMax (node_add's conflist
	# sets none: the default), and its fill shows in the status.
	assert_eq 262144 "$(ctl n1 -o json status | jget '[m["max"] for m in d["maps"] if m["name"] == "sl_ct"][0]')" \
		"sl_ct sized by default"

	# The ct table can be flushed by filter.
	out=$(ctl n1 ct flush --addr "$VIP")
	assert_match "^[1-9][0-9]* entries deleted" "$out" "flush by address"
	assert_not_contains "$(ctl n1 ct --addr "$VIP")" "$VIP:$SVC_PORT " "flushed entries gone"
}

# Endpoints come and go: new connections follow within a second; a
# terminating endpoint keeps its established connections; removing the
# Service removes its frontend, after which nothing answers on the VIP.
t_svc_endpoints_change() {
	local out

	svc_setup
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1" "$B2"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 2 || fail "frontend not programmed"

	# b1 terminating (serving): no new connections go to it.
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1:terminating" "$B2"; } | put_manifest web.yaml
	wait_for 2 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "terminating b1 still in the slots"
	out=$(hits "$(pod_nspath n1 client)" tcp 12 | sort -u)
	assert_eq "b2:$CLIENT" "$out" "only b2 takes new connections"

	# No ready endpoint: the terminating ones serve (kube-proxy's fallback).
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1:terminating" "$B2:notready"; } | put_manifest web.yaml
	wait_for 2 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "fallback not programmed"
	out=$(hits "$(pod_nspath n1 client)" tcp 6 | sort -u)
	assert_eq "b1:$CLIENT" "$out" "serving+terminating fallback"

	# The Service goes: the frontend goes, and the VIP stops answering.
	rm "$CASE_DIR/manifests/web.yaml"
	wait_for 2 svc_backends_are "$VIP:$SVC_PORT/TCP" 0 || fail "frontend not removed"
	assert_not_contains "$(ctl n1 services)" "$VIP" "no frontend left"
	expect_no_echo "$(pod_nspath n1 client)" tcp "$VIP" "$SVC_PORT" "$(token)"
}

# An established connection whose backend leaves the Service is not
# blackholed: its next segment goes to another backend, which resets it,
# so the client learns within a round trip. With no backend left at all,
# the refusal path resets it the same way.
t_svc_backend_removed() {
	local out last client

	svc_setup
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "frontend not programmed"
	for last in "$B2" ""; do
		nsenter --net="$(pod_nspath n1 client)" "$PY" -IS -c '
import os, socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"first ")
open(sys.argv[3], "w").close()
while not os.path.exists(sys.argv[4]):
    time.sleep(0.02)
t = time.monotonic()
try:
    c.sendall(b"second")
    c.settimeout(5)
    print("answered %r" % c.recv(100))
except OSError as e:
    print("%s %d" % (type(e).__name__, (time.monotonic() - t) * 1000))' \
			"$VIP" "$SVC_PORT" "$CASE_DIR/connected" "$CASE_DIR/go" >"$CASE_DIR/client.out" &
		client=$!
		wait_for 5 test -e "$CASE_DIR/connected" || fail "client did not connect"
		{ svc_yaml web "$VIP"; slice_yaml web-1 web $last; } | put_manifest web.yaml
		wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" "$([[ -n $last ]] && echo 1 || echo 0)" ||
			fail "b1 not removed"
		touch "$CASE_DIR/go"
		wait "$client" || true
		out=$(cat "$CASE_DIR/client.out")
		assert_match "^ConnectionResetError [0-9]+$" "$out" \
			"established connection after its backend left (then: ${last:-no backend})"
		((${out##* } < 1000)) || fail "reset took ${out##* } ms"
		rm -f "$CASE_DIR/connected" "$CASE_DIR/go"
		{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
		wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "b1 not back"
	done
}

# A pod reaching itself through its Service works (hairpin), seen from the
# hairpin address; ClientIP affinity sends one client to one backend.
t_svc_hairpin_affinity() {
	local out i

	svc_setup
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "frontend not programmed"
	out=$(hits "$(pod_nspath n1 b1)" tcp 3 | sort -u)
	assert_eq "b1:169.254.42.1" "$out" "b1 reaches itself through its ClusterIP"
	out=$(hits "$(pod_nspath n1 b1)" udp 3 | sort -u)
	assert_eq "b1:169.254.42.1" "$out" "and over UDP"

	{ svc_yaml web "$VIP" $'  sessionAffinity: ClientIP\n'; slice_yaml web-1 web "$B1" "$B2"; } |
		put_manifest web.yaml
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 2 || fail "second backend not programmed"
	for i in 1 2 3; do
		out=$(hits "$(pod_nspath n1 client)" tcp 8 | sort -u)
		assert_eq 1 "$(echo "$out" | wc -l)" "round $i: ClientIP affinity keeps one backend ($out)"
	done
}

# SIGKILL of the agent in the middle of a TCP stream to a ClusterIP loses
# no byte; the restarted agent adopts the maps (same backend ids) and the
# stream, still running, is unaffected.
t_svc_agent_kill() {
	local ids_before ids_after got

	svc_setup
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "frontend not programmed"
	ids_before=$(ctl n1 -o json services | jget "sorted(b['id'] for f in d if f['frontend'] == '$VIP:$SVC_PORT/TCP' for b in f['backends'])")

	nsenter --net="$(pod_nspath n1 b1)" "$PY" -IS -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[3]))); s.listen(1); open(sys.argv[1], "w").close()
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
open(sys.argv[2], "w").write(str(n))' "$CASE_DIR/rx.ready" "$CASE_DIR/rx.out" 7100 &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$CASE_DIR/rx.ready" || fail "receiver did not start"
	# A second Service, bulk, for the stream.
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: bulk}\nspec:\n  clusterIP: 10.96.0.11\n  ports: [{name: bulk, protocol: TCP, port: 7100}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {namespace: shop, name: bulk-1, labels: {kubernetes.io/service-name: bulk}}\naddressType: IPv4\nports: [{name: bulk, protocol: TCP, port: 7100}]\nendpoints: [{addresses: [%s], conditions: {ready: true}}]\n' "$B1" |
		put_manifest bulk.yaml
	wait_for 3 svc_backends_are "10.96.0.11:7100/TCP" 1 || fail "bulk frontend not programmed"

	nsenter --net="$(pod_nspath n1 client)" "$PY" -IS -c '
import socket, sys, time
c = socket.create_connection(("10.96.0.11", 7100), timeout=10)
data = bytes(i % 251 for i in range(4 << 20))
for off in range(0, len(data), 65536):
    c.sendall(data[off:off + 65536]); time.sleep(0.06)
c.close()' &
	local sender=$!
	sleep 1
	kill -KILL "$AGENT_PID"
	say "agent killed mid-stream"
	sleep 0.5
	agent_start n1
	wait_for 3 svc_backends_are "10.96.0.11:7100/TCP" 1 || fail "restarted agent lost the frontend"
	wait "$sender" || fail "sender failed"
	wait_for 5 test -s "$CASE_DIR/rx.out" || fail "receiver did not finish"
	got=$(cat "$CASE_DIR/rx.out")
	assert_eq "$((4 << 20))" "$got" "bytes through the ClusterIP across the agent's SIGKILL and restart"
	ids_after=$(ctl n1 -o json services | jget "sorted(b['id'] for f in d if f['frontend'] == '$VIP:$SVC_PORT/TCP' for b in f['backends'])")
	assert_eq "$ids_before" "$ids_after" "backend ids adopted by the restarted agent"
}

# refused NSPATH PROTO PORT: connect (TCP) or send on a connected socket
# (UDP) to the VIP; prints the error and how long it took in ms.
refused() {
	nsenter --net="$1" "$PY" -IS -c '
import socket, sys, time
proto, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.monotonic()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(5)
try:
    s.connect((dst, port))
    if proto == "udp":
        s.send(b"x"); s.recv(100)
    print("answered")
except OSError as e:
    print("%s %d" % (type(e).__name__, (time.monotonic() - t) * 1000))' "$2" "$VIP" "$3"
}

# A Service without endpoints refuses at once: TCP gets a reset, UDP an
# ICMP port unreachable, as kube-proxy's REJECT rule gives; the refusal is
# counted under its drop reason.
t_svc_no_endpoints() {
	local out ms

	svc_setup 8192
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1:notready"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 0 || fail "frontend not programmed"
	assert_contains "$(ctl n1 services)" "connections are refused" "sluicectl shows no backends"
	assert_eq 8192 "$(ctl n1 -o json status | jget '[m["max"] for m in d["maps"] if m["name"] == "sl_ct"][0]')" \
		"sl_ct created with the conflist's conntrackMax"

	out=$(refused "$(pod_nspath n1 client)" tcp "$SVC_PORT")
	assert_match "^ConnectionRefusedError [0-9]+$" "$out" "TCP connect to a Service without endpoints"
	ms=${out##* }
	((ms < 1000)) || fail "TCP refusal took ${ms} ms"
	out=$(refused "$(pod_nspath n1 client)" udp 53)
	assert_match "^ConnectionRefusedError [0-9]+$" "$out" "UDP to a Service without endpoints"
	assert_ge 2 "$(metric n1 NO_SERVICE_BACKEND egress)" "refusals counted"

	# An endpoint becomes ready: the same client now gets through.
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$B1"; } | put_manifest web.yaml
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "ready endpoint not programmed"
	expect_echo "$(pod_nspath n1 client)" tcp "$VIP" "$SVC_PORT" "b1:$CLIENT"
}

# lb_yaml NAME ETP: a LoadBalancer Service web-style with NodePorts
# 30080/TCP and 30053/UDP, external IP 10.200.0.5 and LB ingress IP
# 10.200.0.6, externalTrafficPolicy ETP, health check node port 32000.
lb_yaml() {
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: %s}\nspec:\n  type: LoadBalancer\n  clusterIP: 10.96.0.20\n  externalTrafficPolicy: %s\n  healthCheckNodePort: 32000\n  externalIPs: [10.200.0.5]\n  ports:\n  - {name: http, protocol: TCP, port: 80, targetPort: %s, nodePort: 30080}\n  - {name: dns, protocol: UDP, port: 53, targetPort: %s, nodePort: 30053}\nstatus:\n  loadBalancer:\n    ingress: [{ip: 10.200.0.6}]\n' \
		"$1" "$2" "$ECHO_PORT" "$ECHO_PORT"
}

# An outside client on the underlay, routing the external range to n1.
outside_setup() {
	outside_add out 100
	outside_exec out ip route add 10.200.0.0/24 via "$(node_ip n1)"
}


# NodePort, external IP and load-balancer IP from outside the cluster; the
# NodePort from a pod too. externalTrafficPolicy Cluster, backends local:
# the client's address is kept (nothing to SNAT for a local backend).
t_svc_external() {
	local node_ip out dst

	svc_setup
	outside_setup
	node_ip=$(node_ip n1)
	{ lb_yaml web Cluster; slice_yaml web-1 web "$B1" "$B2"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$node_ip:30080/TCP" 2 ||
		fail "NodePort not programmed: $(ctl n1 services)"
	assert_contains "$(ctl n1 -o json status | jget 'd["netdevs"]')" eth0 \
		"sl_from_netdev attached to the node's interface"

	for dst in "$node_ip:30080" 10.200.0.5:80 10.200.0.6:80; do
		expect_echo "$(outside_nspath out)" tcp "${dst%:*}" "${dst#*:}" "b[12]:192.168.77.100"
	done
	for dst in "$node_ip:30053" 10.200.0.5:53 10.200.0.6:53; do
		out=$(udp_from "$(outside_nspath out)" "${dst%:*}" "${dst#*:}") ||
			fail "UDP $dst from outside: no translated answer"
		assert_match "^b[12]:192.168.77.100:connected$" "$out" "UDP $dst from outside"
	done
	# Pods use the NodePort too (translated at their veth).
	expect_echo "$(pod_nspath n1 client)" tcp "$node_ip" 30080 "b[12]:$CLIENT"
	# A ClusterIP is not reachable from outside.
	outside_exec out ip route add 10.96.0.0/16 via "$node_ip"
	expect_no_echo "$(outside_nspath out)" tcp 10.96.0.20 80 "$(token)"
	assert_ge 6 "$(metric n1 SERVICE_NEW ingress)" "external connections counted"

	# Without endpoints anywhere, outside clients are refused too.
	{ lb_yaml web Cluster; slice_yaml web-1 web; } | put_manifest web.yaml
	wait_for 3 svc_backends_are "$node_ip:30080/TCP" 0 || fail "endpoints not removed"
	out=$(nsenter --net="$(outside_nspath out)" "$PY" -IS -c '
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], 30080)); print("answered")
except OSError as e:
    print(type(e).__name__)' "$node_ip")
	assert_eq ConnectionRefusedError "$out" "NodePort without endpoints refuses"
}

# externalTrafficPolicy Local: outside traffic only to this node's
# endpoints (dropped, not refused, when the only endpoint is elsewhere;
# pods still reach it), with the client's address kept.
t_svc_external_local() {
	local node_ip

	svc_setup
	outside_setup
	node_ip=$(node_ip n1)
	# b1 claimed by node n2: no local endpoint on n1.
	{ lb_yaml web Local; slice_yaml web-1 web "$B1" | sed 's/nodeName: n1/nodeName: n2/'; } |
		put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$node_ip:30080/TCP" 0 || fail "local set not empty"
	expect_no_echo "$(outside_nspath out)" tcp "$node_ip" 30080 "$(token)"
	assert_ge 1 "$(metric n1 NO_LOCAL_BACKEND ingress)" "dropped as NO_LOCAL_BACKEND"
	expect_echo "$(pod_nspath n1 client)" tcp "$node_ip" 30080 "b1:$CLIENT"
	expect_echo "$(pod_nspath n1 client)" tcp 10.200.0.5 80 "b1:$CLIENT"
	# The load balancer's probe: this node has no endpoint.
	wait_for 3 health_is "$node_ip" "503 0" || fail "health check: $(health "$node_ip")"

	# A local endpoint: outside clients reach it with their own address.
	{ lb_yaml web Local; slice_yaml web-1 web "$B2"; } | put_manifest web.yaml
	wait_for 3 svc_backends_are "$node_ip:30080/TCP" 1 || fail "local endpoint not programmed"
	expect_echo "$(outside_nspath out)" tcp "$node_ip" 30080 "b2:192.168.77.100"
	expect_echo "$(outside_nspath out)" tcp 10.200.0.6 80 "b2:192.168.77.100"
	wait_for 3 health_is "$node_ip" "200 1" || fail "health check: $(health "$node_ip")"
	assert_contains "$(health "$node_ip" body)" '"namespace":"shop","name":"web"' \
		"the answer names the Service, as kube-proxy's does"
}

# health NODE-IP [body]: the health check node port asked from outside:
# "STATUS localEndpoints", or the body.
health() {
	outside_exec out "$PY" -IS -c '
import http.client, json, sys
c = http.client.HTTPConnection(sys.argv[1], 32000, timeout=2)
c.request("GET", "/healthz"); r = c.getresponse(); b = r.read().decode()
print(b.strip() if sys.argv[2] == "body" else "%d %d" % (r.status, json.loads(b)["localEndpoints"]))' "$1" "${2:-}" 2>&1
}
health_is() { [[ $(health "$1") == "$2" ]]; }

# Maglev (sluice.io/lb-algorithm: maglev): new connections spread over the
# three backends, and one client source port reaches the same backend each
# time, its conntrack entries flushed in between, where a random pick
# would wander.
e2e_case svc_maglev t_svc_maglev

# maglev_backend NSPATH PORT: connect from source PORT to the VIP, leave
# with a reset (no TIME_WAIT to block the port's next connection), and
# print the backend address sl_ct recorded for it.
maglev_backend() {
	nsenter --net="$1" "$PY" -IS -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[3])))
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$VIP" "$SVC_PORT" "$2" || return 1
	ctl n1 -o json ct --addr "$VIP" --proto tcp |
		jget "[e['natDestination'] for e in d if e['dir'] == 'out' and e['source'] == '$CLIENT:$2'][0]"
}

t_svc_maglev() {
	local out port first be i n

	svc_setup
	B3=$(pod_add n1 b3 shop)
	serve "$(pod_nspath n1 b3)" b3 "$ECHO_PORT"
	{ svc_yaml web "$VIP" |
		sed 's|^metadata: {namespace: shop, name: web}$|metadata: {namespace: shop, name: web, annotations: {sluice.io/lb-algorithm: maglev}}|'
	  slice_yaml web-1 web "$B1" "$B2" "$B3"; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 3 ||
		fail "frontend not programmed: $(ctl n1 services)"
	out=$(ctl n1 services)
	assert_match "$VIP:$SVC_PORT/TCP +external +shop/web:http/TCP +maglev " "$out" \
		"sluicectl services shows the maglev flag"
	n=$(ctl n1 -o json services | jget "[f.get('maglevTable', 0) for f in d if f['frontend'] == '$VIP:$SVC_PORT/TCP'][0]")
	assert_ge 1 "$n" "the frontend names its Maglev table"

	out=$(hits "$(pod_nspath n1 client)" tcp 30 | sort | uniq -c)
	say "Maglev spread: $(echo "$out" | tr '\n' ' ')"
	assert_contains "$out" "b1:$CLIENT" "a Maglev Service reaches b1"
	assert_contains "$out" "b2:$CLIENT" "and b2"
	assert_contains "$out" "b3:$CLIENT" "and b3"

	for port in 41001 41002 41003 41004 41005 41006; do
		first=
		for i in 1 2 3; do
			out=$(ctl n1 ct flush --addr "$VIP")
			be=$(maglev_backend "$(pod_nspath n1 client)" "$port") ||
				fail "connection from port $port: $be"
			assert_match "^($B1|$B2|$B3):$ECHO_PORT$" "$be" "port $port, round $i: a backend"
			first=${first:-$be}
			assert_eq "$first" "$be" "port $port, round $i: the same backend after a ct flush"
		done
		assert_match "^[1-9][0-9]* entries deleted" "$(ctl n1 ct flush --addr "$VIP")" \
			"the connection from port $port was tracked"
		say "port $port -> $first"
	done

	# A restarted agent reads the tables (TCP and UDP port) back and
	# keeps them, unchanged.
	kill -KILL "$AGENT_PID"
	agent_start n1
	wait_for 5 grep -q "Maglev tables; written 0, kept 2 from the map" "$CASE_DIR/agent-n1.log" ||
		fail "the restarted agent did not keep the table: $(grep Maglev "$CASE_DIR/agent-n1.log")"
	assert_eq "$n" "$(ctl n1 -o json services | jget "[f.get('maglevTable', 0) for f in d if f['frontend'] == '$VIP:$SVC_PORT/TCP'][0]")" \
		"the same table id after the restart"
	be=$(maglev_backend "$(pod_nspath n1 client)" 41006) || fail "connection after the restart: $be"
	assert_eq "$first" "$be" "port 41006 after the restart: the same backend"
}

# internalTrafficPolicy Local: ClusterIP traffic only to this node's
# endpoints; with endpoints only on other nodes it is dropped (kube-proxy's
# "has no local endpoints"), not refused.
t_svc_internal_local() {
	svc_setup
	{ svc_yaml web "$VIP" $'  internalTrafficPolicy: Local\n'
	  slice_yaml web-1 web "$B1" | sed 's/nodeName: n1/nodeName: n2/'; } | put_manifest web.yaml
	agent_start n1
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 0 || fail "local set not empty"
	assert_contains "$(ctl n1 services)" "remote-only" "flagged: endpoints elsewhere only"
	expect_no_echo "$(pod_nspath n1 client)" tcp "$VIP" "$SVC_PORT" "$(token)"
	assert_ge 1 "$(metric n1 NO_LOCAL_BACKEND egress)" "dropped as NO_LOCAL_BACKEND"
	assert_eq 0 "$(metric n1 NO_SERVICE_BACKEND egress)" "not refused"

	# A local endpoint: served by it only.
	{ svc_yaml web "$VIP" $'  internalTrafficPolicy: Local\n'
	  slice_yaml web-1 web "$B2"
	  slice_yaml web-2 web "$B1" | sed 's/nodeName: n1/nodeName: n2/'; } | put_manifest web.yaml
	wait_for 3 svc_backends_are "$VIP:$SVC_PORT/TCP" 1 || fail "local endpoint not programmed"
	assert_eq "b2:$CLIENT" "$(hits "$(pod_nspath n1 client)" tcp 8 | sort -u)" "only the local endpoint"
}

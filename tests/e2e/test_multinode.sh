# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Pods on different nodes, in both routing modes (agent/routing.h): native
# (a route per node, pod CIDR via InternalIP) and VXLAN (sluice_vxlan, the
# sender's identity in the VNI). Each node runs its own agent on one
# manifests folder holding every Node, as every agent of a cluster sees
# the same API server. Cases:
#  - the pod matrix over 2 and 3 nodes in each mode: every pod reaches
#    every other pod over TCP and UDP with its own source address, nodes
#    reach remote pods and remote pods reach nodes; in VXLAN mode the
#    traffic went through the tunnel (its trace points counted), pods got
#    the tunnel's MTU and a full-size segment crosses it; the datapath
#    routed between nodes (TO_NODE counted), and with --host-routing stack
#    the host stack did, the matrix all the same;
#  - a ClusterIP Service whose backends are on the other nodes, from a pod
#    and from the node's own processes;
#  - a NetworkPolicy on a remote pod, judged by the receiving node with the
#    sender's identity (in VXLAN mode from the VNI);
#  - a Node removed (its route and tunnel entry go, its pods become
#    unreachable) and added back (reachable again), live;
#  - both agents restarted in turn (an upgrade) under a connection
#    across nodes, which loses nothing;
#  - a NodePort from outside with its backend on the other node (SNAT by
#    the node it reached, externalTrafficPolicy Local not forwarded), and
#    pods reaching outside the cluster with their node's address;
#  - the upstream NetworkPolicy model with its pods spread over 2 nodes
#    (native) and 3 (VXLAN), a few cases of test_netpol.sh.
# Helpers agent_start, ctl, put_manifest, node_yaml come from
# test_agent.sh; serve, probe, expect_echo from lib.sh.

MN_VIP=10.96.0.30

# mn_world MODE NODES PODS_PER_NODE: nodes n1..nNODES, pods p<i>_<k> on
# node i (namespace shop, label app=p<i>_<k>), an echo server in each,
# agents in MODE. Sets MN_NODES, MN_PODS (node/pod), MN_IP (by node/pod).
mn_world() {
	local mode=$1 nodes=$2 per=$3 i k pod
	declare -gA MN_IP=()
	MN_NODES=()
	MN_PODS=()
	MN_MODE=$mode
	[[ $mode == vxlan ]] && SL_NODE_MTU=
	for ((i = 1; i <= nodes; i++)); do
		node_add "n$i" "$i"
		MN_NODES+=("n$i")
	done
	SL_NODE_MTU=1500
	{
		for ((i = 1; i <= nodes; i++)); do
			node_yaml "n$i" "$i"
		done
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n'
	} | put_manifest nodes.yaml
	for node in "${MN_NODES[@]}"; do
		AGENT_ROUTING=$mode AGENT_HOST_ROUTING=${MN_HOST_ROUTING:-} \
			agent_start "$node"
	done
	# The agents must have routed before the pods' ADD reads the MTU.
	for node in "${MN_NODES[@]}"; do
		wait_for 5 mn_routes_are "$node" $((nodes - 1)) ||
			fail "$node: $(ctl "$node" status | grep routing)"
	done
	for ((i = 1; i <= nodes; i++)); do
		for ((k = 1; k <= per; k++)); do
			pod=p${i}_$k
			MN_IP[n$i/$pod]=$(pod_add "n$i" "$pod" shop) ||
				fail "adding $pod on n$i"
			MN_PODS+=("n$i/$pod")
			serve "$(pod_nspath "n$i" "$pod")" "$pod" "$ECHO_PORT"
		done
	done
	mn_pods_yaml | put_manifest pods.yaml
	for node in "${MN_NODES[@]}"; do
		wait_for 5 mn_ipcache_complete "$node" ||
			fail "$node: the ipcache lacks pods: $(ctl "$node" ipcache)"
	done
}

mn_pods_yaml() {
	local key
	for key in "${MN_PODS[@]}"; do
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: %s, labels: {app: %s}}\nspec: {nodeName: %s}\nstatus: {phase: Running, podIP: %s}\n' \
			"${key#*/}" "${key#*/}" "${key%/*}" "${MN_IP[$key]}"
	done
}

# mn_routes_are NODE N: sluicectl status says N routes, none refused.
mn_routes_are() {
	local st
	st=$(ctl "$1" -o json status) || return 1
	[[ $(jget 'd["routing"]["routes"]' <<<"$st") == "$2" &&
		$(jget 'd["routing"]["failed"]' <<<"$st") == 0 ]]
}

# Every pod of the world is in NODE's ipcache.
mn_ipcache_complete() {
	local have key
	have=$(ctl "$1" ipcache)
	for key in "${MN_PODS[@]}"; do
		grep -q "${MN_IP[$key]}/32" <<<"$have" || return 1
	done
}

mn_nspath() { pod_nspath "${1%/*}" "${1#*/}"; }

# mn_reach FROM TO PROTO: FROM's pod reaches TO's server, which sees
# FROM's own address (no translation between pods).
mn_reach() {
	expect_echo "$(mn_nspath "$1")" "$3" "${MN_IP[$2]}" "$ECHO_PORT" \
		"${2#*/}:${MN_IP[$1]}"
}

# Every pod to every pod on another node, TCP and UDP; each node to a
# pod of every other node and back.
mn_matrix() {
	local from to node n=0
	for from in "${MN_PODS[@]}"; do
		for to in "${MN_PODS[@]}"; do
			[[ ${from%/*} == "${to%/*}" ]] && continue
			mn_reach "$from" "$to" tcp
			mn_reach "$from" "$to" udp
			n=$((n + 2))
		done
	done
	for node in "${MN_NODES[@]}"; do
		for to in "${MN_PODS[@]}"; do
			[[ $node == "${to%/*}" || ${to#*/} != *_1 ]] && continue
			expect_echo "$(node_nspath "$node")" tcp "${MN_IP[$to]}" \
				"$ECHO_PORT" "${to#*/}:$(node_ip "$node")"
			n=$((n + 1))
		done
	done
	say "$n cross-node probes answered"
}

mn_case() { # NAME MODE FN [ARGS...]
	local name=$1 mode=$2 fn=$3
	shift 3
	eval "_mn_$name() { $fn $mode $*; }"
	e2e_case "$name" "_mn_$name"
}

# t_mn_matrix MODE NODES [HOST_ROUTING]: the matrix, with the agents'
# --host-routing HOST_ROUTING (bpf, the default, or stack).
t_mn_matrix() {
	local mode=$1 nodes=$2 hr=${3:-bpf} node mtu
	MN_HOST_ROUTING=$hr mn_world "$mode" "$nodes" 2
	for node in "${MN_NODES[@]}"; do
		assert_contains "$(ctl "$node" status)" "routing:     $mode, $((nodes - 1)) routes" \
			"sluicectl status on $node"
		assert_contains "$(ctl "$node" status)" "host routing $hr" \
			"sluicectl status on $node"
	done
	if [[ $mode == native ]]; then
		assert_contains "$(node_exec n1 ip -4 route show 10.244.2.0/24)" \
			"via $(node_ip n2) dev eth0 proto 92" "n1's route to n2's pods"
	else
		assert_contains "$(node_exec n1 ip -4 route show "10.244.$nodes.0/24")" \
			"dev sluice_vxlan proto 92" "n1's route to n$nodes's pods"
		# (Not /sys/class/net: sysfs shows the mounter's namespace.)
		mtu=$(pod_exec n1 p1_1 ip -o link show eth0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
		assert_eq 1450 "$mtu" "pod MTU under VXLAN (the underlay's 1500 less 50)"
	fi
	mn_matrix
	if [[ $mode == vxlan ]]; then
		assert_ge 1 "$(metric n1 TO_OVERLAY egress)" "n1 sent into the tunnel"
		assert_ge 1 "$(metric n2 FROM_OVERLAY ingress)" "n2 received from it"
		# The device sends nothing of its own (IPv6 is off on it).
		assert_eq 0 "$(metric n1 UNSUPPORTED_L3 egress)" "non-IPv4 frames at the tunnel"
		# A full-size segment each way: the MTU leaves room for the
		# headers, so nothing is fragmented or lost.
		mn_bulk "n1/p1_1" "n$nodes/p${nodes}_1" 200000
	else
		assert_eq 0 "$(metric n1 TO_OVERLAY egress)" "no tunnel in native mode"
		mn_bulk "n1/p1_1" "n2/p2_1" 200000
	fi
	if [[ $hr == bpf ]]; then
		assert_ge 1 "$(metric n1 TO_NODE egress)" "n1's pods routed by the datapath"
	else
		assert_eq 0 "$(metric n1 TO_NODE egress)" "n1's pods routed by the stack"
		# Anything else is refused before the agent starts.
		sluiced_fails n1 2 "--host-routing takes bpf or stack" --host-routing kernel
	fi
}

# mn_sink KEY PORT SECS OUT: in KEY's pod, a TCP server on PORT for one
# connection: it counts the bytes until the client is done sending and
# answers the count (SECS to wait at most; its errors in OUT).
mn_sink() {
	nsenter --net="$(mn_nspath "$1")" "$PY" -IS -c '
import socket, sys
port, secs = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(1); s.settimeout(secs)
c, _ = s.accept(); c.settimeout(secs); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(str(n).encode()); c.close()' "$2" "$3" >"$CASE_DIR/$4" 2>&1 &
	echo $! >>"$CASE_DIR/pids"
	sleep 0.3
}

# mn_bulk FROM TO BYTES: FROM sends BYTES over TCP to a sink in TO, which
# answers how many it got.
mn_bulk() {
	local got
	mn_sink "$2" 7100 10 bulk.out
	got=$(nsenter --net="$(mn_nspath "$1")" "$PY" -IS -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 7100), timeout=10)
c.sendall(b"x" * int(sys.argv[2])); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())' "${MN_IP[$2]}" "$3") || fail "bulk transfer: $got $(cat "$CASE_DIR/bulk.out")"
	assert_eq "$3" "$got" "bytes received across nodes"
}

# A ClusterIP whose backends are on the other nodes: a pod on n1 reaches
# each of them, through its VIP; the reply comes back translated.
t_mn_service() {
	local mode=$1 seen i reply tok
	# Host processes too: the socket programs on a private cgroup
	# (test_services_host.sh's host_cgroup and in_host).
	host_cgroup
	AGENT_CGROUP_ROOT=$HOST_CG
	mn_world "$mode" 3 1
	{
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: far}\nspec:\n  clusterIP: %s\n  ports:\n  - {name: http, protocol: TCP, port: 80, targetPort: %s}\n  - {name: dns, protocol: UDP, port: 53, targetPort: %s}\n' \
			"$MN_VIP" "$ECHO_PORT" "$ECHO_PORT"
		printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  namespace: shop\n  name: far-1\n  labels: {kubernetes.io/service-name: far}\naddressType: IPv4\nports:\n- {name: http, protocol: TCP, port: %s}\n- {name: dns, protocol: UDP, port: %s}\nendpoints:\n- {addresses: [%s], nodeName: n2, conditions: {ready: true}}\n- {addresses: [%s], nodeName: n3, conditions: {ready: true}}\n' \
			"$ECHO_PORT" "$ECHO_PORT" "${MN_IP[n2/p2_1]}" "${MN_IP[n3/p3_1]}"
	} | put_manifest service.yaml
	wait_for 5 mn_frontend_has n1 "$MN_VIP:80/TCP" 2 ||
		fail "n1 never programmed $MN_VIP: $(ctl n1 services)"
	seen=$(mn_hits "$(pod_nspath n1 p1_1)" tcp 80 30 | sort -u)
	assert_eq "p2_1:${MN_IP[n1/p1_1]}
p3_1:${MN_IP[n1/p1_1]}" "$seen" "TCP to the VIP reached both remote backends, from the client's address"
	seen=$(mn_hits "$(pod_nspath n1 p1_1)" udp 53 30 | sort -u)
	assert_eq "p2_1:${MN_IP[n1/p1_1]}
p3_1:${MN_IP[n1/p1_1]}" "$seen" "UDP to the VIP reached both remote backends"
	# From n1 itself: connect() goes straight to a backend on another
	# node, from the node's address.
	seen=$(for ((i = 0; i < 30; i++)); do
		tok=$(token)
		reply=$(in_host "$(node_nspath n1)" "$PY" -IS -c "$CLIENT_PY" tcp \
			"$MN_VIP" 80 "$tok" "" "$PROBE_TIMEOUT" 2>&1) ||
			fail "host TCP to $MN_VIP: no answer: $reply"
		echo "${reply%:"$tok"}"
	done | sort -u)
	assert_eq "p2_1:$(node_ip n1)
p3_1:$(node_ip n1)" "$seen" "TCP from n1's host processes reached both remote backends"
}

mn_frontend_has() {
	[[ $(ctl "$1" -o json services | jget "sum(len(f['backends']) for f in d if f['frontend'] == '$2' and f['scope'] == 'external')") == "$3" ]]
}

# mn_hits NSPATH PROTO PORT N: N requests to the VIP; the servers that
# answered (server:source), one a line.
mn_hits() {
	local i reply tok
	for ((i = 0; i < $4; i++)); do
		tok=$(token)
		reply=$(probe "$1" "$2" "$MN_VIP" "$3" "$tok") ||
			fail "$2 to $MN_VIP:$3: no answer: $reply"
		[[ $reply == *":$tok" ]] || fail "$2 to $MN_VIP:$3: reply '$reply'"
		echo "${reply%:"$tok"}"
	done
}

# Ingress policy on a pod of n2: only app=p1_1 may reach it. n1's p1_1 is
# let in and n1's p1_2 refused, by n2, which knows them by identity (from
# the VNI in VXLAN mode, the ipcache in native mode); the refusal is n2's
# POLICY_DENIED_INGRESS.
t_mn_policy() {
	local mode=$1 before
	mn_world "$mode" 2 2
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: shop, name: only-p1-1}\nspec:\n  podSelector: {matchLabels: {app: p2_1}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: p1_1}}}]\n' |
		put_manifest policy.yaml
	wait_for 5 mn_isolated n2 "${MN_IP[n2/p2_1]}" ||
		fail "n2 never isolated p2_1: $(ctl n2 policy)"
	before=$(metric n2 POLICY_DENIED_INGRESS ingress)
	mn_reach n1/p1_1 n2/p2_1 tcp
	mn_reach n1/p1_1 n2/p2_1 udp
	expect_no_echo "$(mn_nspath n1/p1_2)" tcp "${MN_IP[n2/p2_1]}" "$ECHO_PORT" "$(token)"
	expect_no_echo "$(mn_nspath n1/p1_2)" udp "${MN_IP[n2/p2_1]}" "$ECHO_PORT" "$(token)"
	assert_ge $((before + 2)) "$(metric n2 POLICY_DENIED_INGRESS ingress)" \
		"n2 dropped p1_2's packets as POLICY_DENIED_INGRESS"
	# The other pod of n2 is not selected: open to both.
	mn_reach n1/p1_2 n2/p2_2 tcp
	# Replies of an allowed connection are never judged: p2_1 answers.
	mn_reach n2/p2_1 n1/p1_2 tcp

	# A pod the API server has not given an address yet (no
	# status.podIP): n1 knows it from the plugin's record, n2 not at all.
	# Over VXLAN its identity travels in the VNI and n2 lets it in as
	# app=p1_1; natively n2 can only take it for the world, and the
	# policy keeps it out.
	local late
	late=$(pod_add n1 late shop)
	MN_IP[n1/late]=$late
	{
		mn_pods_yaml
		printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: late, labels: {app: p1_1}}\nspec: {nodeName: n1}\nstatus: {phase: Pending}\n'
	} | put_manifest pods.yaml
	wait_for 5 mn_programmed n1 "$late" || fail "n1 never programmed late"
	if [[ $mode == vxlan ]]; then
		mn_reach n1/late n2/p2_1 tcp
	else
		expect_no_echo "$(mn_nspath n1/late)" tcp "${MN_IP[n2/p2_1]}" "$ECHO_PORT" "$(token)"
	fi
}

# NODE's endpoint for IP carries an identity (the agent programmed it).
mn_programmed() {
	ctl "$1" -o json endpoints | jget "any(e['ip'] == '$2' and e.get('identity', 0) >= 256 for e in d)" | grep -q true
}

mn_isolated() {
	ctl "$1" -o json policy | jget "any(e['ip'] == '$2' and e['ingress']['isolated'] for e in d['endpoints'])" | grep -q true
}

# n2's Node leaves the cluster: n1 removes its route and tunnel entry and
# n2's pods are out of reach; it comes back, and so do they.
t_mn_node_readd() {
	local mode=$1
	mn_world "$mode" 2 1
	mn_reach n1/p1_1 n2/p2_1 tcp
	node_yaml n1 1 | put_manifest nodes.yaml
	wait_for 5 mn_routes_are n1 0 || fail "n1 kept the route: $(ctl n1 status | grep routing)"
	assert_eq "" "$(node_exec n1 ip -4 route show 10.244.2.0/24)" "n1's route to n2's pods removed"
	assert_eq "" "$(node_exec n1 bpftool map dump pinned "$(node_bpf_root n1)/sl_tunnel" 2>&1 | grep -v '^\[\]$\|^Found 0')" \
		"n1's sl_tunnel emptied"
	expect_no_echo "$(mn_nspath n1/p1_1)" tcp "${MN_IP[n2/p2_1]}" "$ECHO_PORT" "$(token)"
	{ node_yaml n1 1; node_yaml n2 2; } | put_manifest nodes.yaml
	wait_for 5 mn_routes_are n1 1 || fail "n1 never routed n2 again: $(ctl n1 status | grep routing)"
	mn_reach n1/p1_1 n2/p2_1 tcp
	mn_reach n2/p2_1 n1/p1_1 udp
}

# mn_nodeport_yaml POLICY BACKEND_KEY: a LoadBalancer Service (no
# address yet: its NodePorts 30080/TCP and 30053/UDP, health check node
# port 32000 under Local), externalTrafficPolicy POLICY, the one backend
# BACKEND_KEY.
mn_nodeport_yaml() {
	local be=$2
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: np}\nspec:\n  type: LoadBalancer\n  healthCheckNodePort: 32000\n  clusterIP: %s\n  externalTrafficPolicy: %s\n  ports:\n  - {name: http, protocol: TCP, port: 80, targetPort: %s, nodePort: 30080}\n  - {name: dns, protocol: UDP, port: 53, targetPort: %s, nodePort: 30053}\n' \
		"$MN_VIP" "$1" "$ECHO_PORT" "$ECHO_PORT"
	printf -- '---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  namespace: shop\n  name: np-1\n  labels: {kubernetes.io/service-name: np}\naddressType: IPv4\nports:\n- {name: http, protocol: TCP, port: %s}\n- {name: dns, protocol: UDP, port: %s}\nendpoints:\n- {addresses: [%s], nodeName: %s, conditions: {ready: true}}\n' \
		"$ECHO_PORT" "$ECHO_PORT" "${MN_IP[$be]}" "${be%/*}"
}

# From outside the cluster: a NodePort on n1 whose only backend is on n2.
# With externalTrafficPolicy Cluster n1 takes the connection over with its
# own address (the backend sees n1, the client sees the NodePort answer,
# TCP and connected UDP); on n2 itself the client's address is kept. With
# Local, n1 (no backend of its own) does not forward it, n2 still serves
# it, and the health check node port says which node has an endpoint.
# Pods' own traffic to outside the cluster leaves with their node's
# address (masquerade), never to another pod.
t_mn_nodeport() {
	local mode=$1 n1ip n2ip out
	mn_world "$mode" 2 1
	n1ip=$(node_ip n1)
	n2ip=$(node_ip n2)
	outside_add out 100
	mn_nodeport_yaml Cluster n2/p2_1 | put_manifest nodeport.yaml
	wait_for 5 mn_frontend_has n1 "$n1ip:30080/TCP" 1 ||
		fail "n1 never programmed its NodePort: $(ctl n1 services)"
	wait_for 5 mn_frontend_has n2 "$n2ip:30080/TCP" 1 ||
		fail "n2 never programmed its NodePort: $(ctl n2 services)"
	wait_for 5 mn_nat_applied n1 || fail "n1's NAT table: $(ctl n1 -o json status | jget 'd["nat"]')"
	expect_echo "$(outside_nspath out)" tcp "$n1ip" 30080 "p2_1:$n1ip"
	out=$(udp_from "$(outside_nspath out)" "$n1ip" 30053) ||
		fail "UDP to n1's NodePort: no translated answer"
	assert_eq "p2_1:$n1ip:connected" "$out" "UDP through n1 to n2's backend"
	expect_echo "$(outside_nspath out)" tcp "$n2ip" 30080 "p2_1:192.168.77.100"

	mn_nodeport_yaml Local n2/p2_1 | put_manifest nodeport.yaml
	wait_for 5 mn_frontend_has n1 "$n1ip:30080/TCP" 0 ||
		fail "n1 kept a remote backend under Local: $(ctl n1 services)"
	expect_no_echo "$(outside_nspath out)" tcp "$n1ip" 30080 "$(token)"
	expect_echo "$(outside_nspath out)" tcp "$n2ip" 30080 "p2_1:192.168.77.100"
	# What a load balancer asks each node: n2 has the endpoint, n1 none.
	wait_for 5 health_is "$n2ip" "200 1" || fail "n2's health check: $(health "$n2ip")"
	wait_for 5 health_is "$n1ip" "503 0" || fail "n1's health check: $(health "$n1ip")"

	# Masquerade: a pod to a host outside the cluster.
	serve "$(outside_nspath out)" out "$ECHO_PORT"
	expect_echo "$(mn_nspath n1/p1_1)" tcp 192.168.77.100 "$ECHO_PORT" "out:$n1ip"
	expect_echo "$(mn_nspath n2/p2_1)" udp 192.168.77.100 "$ECHO_PORT" "out:$n2ip"
	mn_reach n1/p1_1 n2/p2_1 tcp # still no translation between pods
}

mn_nat_applied() {
	[[ $(ctl "$1" -o json status | jget 'd["nat"]["applied"]') == true ]]
}

# An upgrade restarts every agent, one node at a time: a connection across
# nodes keeps flowing through it, every byte delivered. The routes, the
# tunnel device and the maps outlive the agent; a new agent keeps them.
t_mn_agent_restart() {
	local mode=$1 node pid got
	declare -A pids=()
	mn_world "$mode" 2 1
	for node in n1 n2; do
		pids[$node]=$(pgrep -f -- "--node-name $node .*--bpf-root $(node_bpf_root "$node") " | head -1)
		[[ -n ${pids[$node]} ]] || fail "no agent found for $node"
	done
	mn_sink n2/p2_1 7200 20 stream.srv
	# 80 chunks of 1000 bytes over 4 s, then the count back.
	nsenter --net="$(mn_nspath n1/p1_1)" "$PY" -IS -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], 7200), timeout=20)
for _ in range(80):
    c.sendall(b"y" * 1000); time.sleep(0.05)
c.shutdown(socket.SHUT_WR); print(c.recv(100).decode())' "${MN_IP[n2/p2_1]}" \
		>"$CASE_DIR/stream.out" 2>&1 &
	pid=$!
	for node in n1 n2; do
		sleep 0.5
		stop_pid "${pids[$node]}"
		AGENT_ROUTING=$mode agent_start "$node"
		say "$node's agent restarted"
	done
	wait "$pid" || fail "the stream broke: $(cat "$CASE_DIR/stream.out")"
	got=$(cat "$CASE_DIR/stream.out")
	assert_eq 80000 "$got" "bytes across nodes through both agents' restarts"
	for node in n1 n2; do
		wait_for 5 mn_routes_are "$node" 1 || fail "$node after restart: $(ctl "$node" status | grep routing)"
	done
	mn_reach n1/p1_1 n2/p2_1 tcp
}

mn_case multinode_matrix_native_x2 native t_mn_matrix 2
mn_case multinode_matrix_native_x3 native t_mn_matrix 3
mn_case multinode_matrix_vxlan_x2 vxlan t_mn_matrix 2
mn_case multinode_matrix_vxlan_x3 vxlan t_mn_matrix 3
mn_case multinode_matrix_native_stack native t_mn_matrix 2 stack
mn_case multinode_matrix_vxlan_stack vxlan t_mn_matrix 2 stack
mn_case multinode_service_native native t_mn_service
mn_case multinode_service_vxlan vxlan t_mn_service
mn_case multinode_policy_native native t_mn_policy
mn_case multinode_policy_vxlan vxlan t_mn_policy
mn_case multinode_node_readd_native native t_mn_node_readd
mn_case multinode_node_readd_vxlan vxlan t_mn_node_readd
mn_case multinode_nodeport_native native t_mn_nodeport
mn_case multinode_nodeport_vxlan vxlan t_mn_nodeport
mn_case multinode_agent_restart_native native t_mn_agent_restart
mn_case multinode_agent_restart_vxlan vxlan t_mn_agent_restart

# The NetworkPolicy model (test_netpol.sh) with its pods spread over nodes
# (round robin, so most cells cross one): a few cases that judge both ends,
# replies and a Service across nodes, in each mode. The whole model runs
# over nodes with NP_NODE_COUNT=N AGENT_ROUTING=MODE TEST='netpol_*'.
mn_netpol_case() { # NAME NODES MODE
	local mtu=1500
	[[ $3 == vxlan ]] && mtu=1450
	eval "_mn_np_$3_$1() { NP_NODE_COUNT=$2 AGENT_ROUTING=$3 SL_NODE_MTU=$mtu; np_world $2; t_$1; np_done; }"
	e2e_case "netpol_x$2_$3_${1#netpol_}" "_mn_np_$3_$1"
}
for _c in netpol_deny_ingress netpol_pod_selector netpol_both_ends \
	netpol_replies netpol_service; do
	mn_netpol_case "$_c" 2 native
	mn_netpol_case "$_c" 3 vxlan
done
unset _c

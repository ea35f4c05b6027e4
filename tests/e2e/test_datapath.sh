# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Traffic through the tc datapath on one node: pods added through libcni,
# echo servers in every pod and in the node, verdicts read back from the
# pinned sl_metrics by their drop.h names.

e2e_case matrix t_matrix san
e2e_case antispoof t_antispoof

# Every ordered pod pair over TCP and UDP, pod to node and node to pod.
t_matrix() {
	local pods=(p1 p2 p3 p4) p q proto node_ip redir topod stack n_pairs=0
	local -A ip

	node_add n1 1
	node_ip=$(node_ip n1)
	for p in "${pods[@]}"; do
		ip[$p]=$(pod_add n1 "$p")
		assert_match '^10\.244\.1\.[0-9]+$' "${ip[$p]}" "address of $p"
	done
	assert_eq 4 "$(printf '%s\n' "${ip[@]}" | sort -u | wc -l)" "distinct pod addresses"
	for p in "${pods[@]}"; do
		serve "$(pod_nspath n1 "$p")" "$p" "$ECHO_PORT"
	done
	serve "$(node_nspath n1)" node "$ECHO_PORT"

	# With forwarding off in the node, pod-to-pod traffic only flows if the
	# datapath hands it to the peer itself: the host stack would drop it.
	node_exec n1 sysctl -qw net.ipv4.ip_forward=0
	redir=$(metric n1 REDIRECT_PEER egress)
	topod=$(metric n1 TO_POD ingress)
	for p in "${pods[@]}"; do
		for q in "${pods[@]}"; do
			[[ $p == "$q" ]] && continue
			for proto in tcp udp; do
				# The reply names the server and the source it saw:
				# the right pod, and no address rewriting.
				expect_echo "$(pod_nspath n1 "$p")" $proto "${ip[$q]}" "$ECHO_PORT" \
					"$q:${ip[$p]}"
				n_pairs=$((n_pairs + 1))
			done
		done
	done
	assert_eq 24 "$n_pairs" "pod-to-pod exchanges"
	# Each exchange crosses sl_from_pod at least twice (request on the
	# client's veth, reply on the server's).
	assert_ge $((2 * n_pairs)) $(($(metric n1 REDIRECT_PEER egress) - redir)) \
		"REDIRECT_PEER packets for $n_pairs same-node exchanges"
	# redirect_peer enters the peer namespace directly: nothing may have
	# gone out of a host veth through the stack (sl_to_pod, TO_POD).
	assert_eq 0 $(($(metric n1 TO_POD ingress) - topod)) \
		"TO_POD packets during pod-to-pod traffic"
	node_exec n1 sysctl -qw net.ipv4.ip_forward=1

	stack=$(metric n1 TO_STACK egress)
	topod=$(metric n1 TO_POD ingress)
	redir=$(metric n1 REDIRECT_PEER egress)
	for p in "${pods[@]}"; do
		for proto in tcp udp; do
			expect_echo "$(pod_nspath n1 "$p")" $proto "$node_ip" "$ECHO_PORT" "node:${ip[$p]}"
		done
	done
	assert_ge 8 $(($(metric n1 TO_STACK egress) - stack)) \
		"TO_STACK packets for 8 pod-to-node requests"
	assert_ge 8 $(($(metric n1 TO_POD ingress) - topod)) \
		"TO_POD packets for the node's 8 replies"
	assert_eq 0 $(($(metric n1 REDIRECT_PEER egress) - redir)) \
		"REDIRECT_PEER packets for traffic to the node"

	for p in "${pods[@]}"; do
		for proto in tcp udp; do
			expect_echo "$(node_nspath n1)" $proto "${ip[$p]}" "$ECHO_PORT" "$p:$node_ip"
		done
	done
}

# A pod sending from an address it does not own is dropped at its veth and
# counted as SPOOFED_SOURCE: an address nobody owns, and another pod's.
t_antispoof() {
	local a b c src dst proto tok before node_ip ns_a stray=10.244.1.200
	local -A srv

	node_add n1 1
	node_ip=$(node_ip n1)
	a=$(pod_add n1 a)
	b=$(pod_add n1 b)
	c=$(pod_add n1 c)
	ns_a=$(pod_nspath n1 a)
	serve "$(pod_nspath n1 b)" b "$ECHO_PORT"
	serve "$(node_nspath n1)" node "$ECHO_PORT"
	srv[$b]=b srv[$node_ip]=node

	# The real address passes: the drops below are about the source.
	expect_echo "$ns_a" udp "$b" "$ECHO_PORT" "b:$a"
	expect_echo "$ns_a" tcp "$b" "$ECHO_PORT" "b:$a"

	assert_ok pod_exec n1 a ip addr add "$stray/32" dev eth0
	assert_ok pod_exec n1 a ip addr add "$c/32" dev eth0
	for src in "$stray" "$c"; do
		for dst in "$b" "$node_ip"; do
			for proto in udp tcp; do
				tok=$(token)
				before=$(metric n1 SPOOFED_SOURCE egress)
				expect_no_echo "$ns_a" $proto "$dst" "$ECHO_PORT" "$tok" "$src"
				# The server's log, not the missing reply, is the
				# proof: a reply to $c would go to pod c anyway.
				! server_saw "${srv[$dst]}" "$tok" ||
					fail "$proto from $src to $dst was delivered"
				assert_ge 1 $(($(metric n1 SPOOFED_SOURCE egress) - before)) \
					"SPOOFED_SOURCE drops for $proto $src -> $dst"
			done
		done
	done

	# Still attached and working from its own address.
	expect_echo "$ns_a" udp "$b" "$ECHO_PORT" "b:$a" "$a"
	expect_echo "$ns_a" tcp "$node_ip" "$ECHO_PORT" "node:$a" "$a"
}

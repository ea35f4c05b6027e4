# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# `make demo`'s script (hack/demo.sh) runs to the end and shows what it
# says it shows: cross-node traffic, the Service reaching both nodes'
# backends, the policy's denial named on the node that made it, the
# spoofed source dropped, live flows, and forwarding without an agent.
# It builds its own cluster in its own mount namespace.

t_demo() {
	local out=$CASE_DIR/demo.out rc=0
	DEMO_ROUTING=$1 "$E2E_DIR/../../hack/demo.sh" >"$out" 2>&1 || rc=$?
	((rc == 0)) || fail "hack/demo.sh exited $rc: $(tail -20 "$out")"
	assert_contains "$(cat "$out")" "routing:     $1, 1 routes to other nodes" "agents routed"
	assert_contains "$(cat "$out")" "client (node1) -> web-1 (node2, across nodes): hello from web-1 (HTTP 200)" "cross-node"
	assert_contains "$(cat "$out")" "client -> http://10.96.0.10/: hello from web-0" "Service to node1's backend"
	assert_contains "$(cat "$out")" "client -> http://10.96.0.10/: hello from web-1" "Service to node2's backend"
	assert_contains "$(cat "$out")" "intruder (node2) -> web-0 (node1): no answer" "policy across nodes"
	assert_contains "$(cat "$out")" "(POLICY_DENIED_INGRESS)" "the denial, named"
	assert_contains "$(cat "$out")" "(SPOOFED_SOURCE)" "the spoofed source, named"
	assert_contains "$(cat "$out")" "INGRESS allowed by shop/web-from-client" "live flows with the policy"
	assert_contains "$(cat "$out")" "no agent on node2: hello from web-1 (HTTP 200)" "forwarding without an agent"
	assert_not_contains "$(cat "$out")" "UNSUPPORTED_L3" "nothing unexplained dropped"
}

_demo_native() { t_demo native; }
_demo_vxlan() { t_demo vxlan; }
e2e_case demo_native _demo_native
e2e_case demo_vxlan _demo_vxlan

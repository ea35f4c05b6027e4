# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Flow visibility: the datapath's flow, drop and verdict events reach the
# agent, which names both pods, and sluicectl observe shows them, recent
# or followed. Helpers agent_start, ctl, put_manifest, node_yaml come from
# test_agent.sh, pod_ip_yaml from test_policy_cli.sh, scrape, series_value
# and promtool_ok from test_metrics.sh.

e2e_case flows_observe t_flows_observe san
e2e_case flows_follow t_flows_follow

# flows_setup [AGENT-ARGS...]: node n1, pods client and server in shop,
# labelled, known to the agent with their addresses; an echo server in
# server. The agent also writes every record to $CASE_DIR/flows.jsonl.
flows_setup() {
	node_add n1 1
	CLIENT=$(pod_add n1 client shop)
	SERVER=$(pod_add n1 server shop)
	serve "$(pod_nspath n1 server)" server "$ECHO_PORT"
	{
		node_yaml n1 1
		pod_ip_yaml shop client n1 "app: client" "$CLIENT"
		pod_ip_yaml shop server n1 "app: server" "$SERVER"
	} | put_manifest cluster.yaml
	agent_start n1 --source "$CASE_DIR/manifests" \
		--flows-file "$CASE_DIR/flows.jsonl" "$@"
}

# flows_json FILTERS...: the recent flows matching, as JSON lines.
flows_json() { ctl n1 observe --last 200 -o json "$@"; }

# has_flow FILTERS... -- PYEXPR: a record matching both, for wait_for.
has_flow() {
	local args=()
	while [[ $1 != -- ]]; do args+=("$1"); shift; done
	flows_json "${args[@]}" | "$PY" -IS -c '
import json, sys
expr = sys.argv[1]
for line in sys.stdin:
    d = json.loads(line)
    if eval(expr, {"d": d}):
        sys.exit(0)
sys.exit(1)' "$2"
}

t_flows_observe() {
	local out

	# n1 is node 1: its address before it exists (node_ip reads it back).
	flows_setup --metrics-listen "192.168.77.1:$METRICS_PORT"
	expect_echo "$(pod_nspath n1 client)" tcp "$SERVER" "$ECHO_PORT" "server:$CLIENT"

	# A start naming both pods, and the end of the closed connection with
	# both ways counted.
	wait_for 3 has_flow --type start --pod shop/client -- \
		"d['source'].get('pod_name') == 'client' and d['destination'].get('pod_name') == 'server' and d['l4']['TCP']['destination_port'] == $ECHO_PORT and 'k8s:app=server' in d['destination'].get('labels', [])" ||
		fail "no flow start naming both pods: $(flows_json)"
	wait_for 3 has_flow --type end --pod shop/server -- \
		"d['flow_end']['reason'] in ('fin', 'rst') and d['flow_end']['packets_sent'] >= 3 and d['flow_end']['packets_received'] >= 2 and d['flow_end']['bytes_sent'] > 0 and d['flow_end']['bytes_received'] > 0" ||
		fail "no flow end with counters: $(flows_json --type end)"

	# Default deny on the server: the next connection is dropped, and the
	# drop and the verdict say why.
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: shop, name: deny-all}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n' |
		put_manifest deny.yaml
	wait_for 3 flags_are n1 "$SERVER" 1 || fail "server not isolated"
	expect_no_echo "$(pod_nspath n1 client)" tcp "$SERVER" "$ECHO_PORT" "$(token)"
	wait_for 3 has_flow --verdict DROPPED --drop-reason POLICY_DENIED_INGRESS -- \
		"d['flow_event'] == 'drop' and d['destination'].get('pod_name') == 'server' and d['traffic_direction'] == 'EGRESS'" ||
		fail "no POLICY_DENIED_INGRESS drop: $(flows_json --verdict DROPPED)"
	wait_for 3 has_flow --type policy-verdict -- \
		"d['verdict'] == 'DROPPED' and d['traffic_direction'] == 'INGRESS'" ||
		fail "no denied verdict: $(flows_json --type policy-verdict)"

	# Metrics count the records and the events, and stay valid.
	scrape n1 >"$CASE_DIR/metrics.txt" || fail "no /metrics"
	promtool_ok "$CASE_DIR/metrics.txt"
	out=$(<"$CASE_DIR/metrics.txt")
	assert_ge 1 "$(series_value "$out" 'sluice_flows_total{kind="drop",verdict="dropped"}')" \
		"a drop record counted"
	assert_ge 2 "$(series_value "$out" 'sluice_events_total{type="flow",outcome="sent"}')" \
		"flow events sent counted"
	assert_eq 0 "$(series_value "$out" 'sluice_events_total{type="flow",outcome="shed_full"}')" \
		"no flow event shed"

	# The file sink holds the same records, one JSON document a line.
	"$PY" -IS -c '
import json, sys
kinds = {json.loads(l)["flow_event"] for l in open(sys.argv[1])}
sys.exit(0 if {"start", "end", "drop", "policy-verdict"} <= kinds else 1)' \
		"$CASE_DIR/flows.jsonl" ||
		fail "flows file lacks a kind: $(cut -c1-200 "$CASE_DIR/flows.jsonl")"

	# The human view names the pods and the reason.
	say "observe: $(ctl n1 observe --last 8)"
	out=$(ctl n1 observe --last 5 --verdict DROPPED)
	assert_contains "$out" "shop/client" "observe names the client"
	assert_contains "$out" "POLICY_DENIED_INGRESS" "observe names the drop reason"
	assert_fail "a bad filter is refused" ctl n1 observe --verdict maybe
}

t_flows_follow() {
	local out pid

	flows_setup
	ctl n1 observe --follow -o json --pod shop/server >"$CASE_DIR/follow.out" 2>&1 &
	pid=$!
	echo "$pid" >>"$CASE_DIR/pids"
	sleep 0.3
	expect_echo "$(pod_nspath n1 client)" udp "$SERVER" "$ECHO_PORT" "server:$CLIENT"
	wait_for 3 grep -q '"flow_event":"start"' "$CASE_DIR/follow.out" ||
		fail "followed stream has no start: $(cat "$CASE_DIR/follow.out")"
	out=$(cat "$CASE_DIR/follow.out")
	assert_contains "$out" '"UDP"' "the followed flow is the UDP one"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# The agent outlives its follower and still answers.
	ctl n1 observe --last 1 >/dev/null || fail "agent stopped answering after a follower left"
}

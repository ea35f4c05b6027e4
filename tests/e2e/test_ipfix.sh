# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# IPFIX export (sluiced --ipfix-collector) to a real collector: pmacct's
# nfacctd, in the node's network namespace, decodes the agent's templates
# and records, sluice's own elements included (aggregate_primitives), and
# prints them as JSON. Helpers agent_start and put_manifest come from
# test_agent.sh, flags_are from test_policy_cli.sh, flows_setup, flows_json
# and has_flow from test_flows.sh.

e2e_case ipfix_export t_ipfix_export

# RFC 5103's PEN for the reverse direction.
IPFIX_PEN_REV=29305

# ipfix_ie NAME: PEN:ID of one of sluice's elements, from agent/ipfix.h
# (SL_IPFIX_PEN, SL_IPFIX_IE_<NAME>), as nfacctd's field_type wants it.
ipfix_ie() {
	local pen id
	pen=$(sed -n 's/^#define SL_IPFIX_PEN \([0-9]*\).*/\1/p' "$E2E_TOP/agent/ipfix.h")
	id=$(sed -n "s/.*SL_IPFIX_IE_$1 = \([0-9]*\),.*/\1/p" "$E2E_TOP/agent/ipfix.h")
	[[ -n $pen && -n $id ]] || fail "no SL_IPFIX_IE_$1 in agent/ipfix.h"
	echo "$pen:$id"
}

# nfacctd_start NODE PORT: nfacctd on 127.0.0.1:PORT in NODE's namespace,
# printing every record as a JSON line to $CASE_DIR/nfacctd.json each
# second, with sluice's elements as custom primitives.
nfacctd_start() {
	local node=$1 port=$2 dir=$CASE_DIR/nfacctd pid
	mkdir -p "$dir"
	cat >"$dir/primitives.lst" <<-EOF
		name=sl_src_ns field_type=$(ipfix_ie SRC_NAMESPACE) len=vlen semantics=str
		name=sl_src_pod field_type=$(ipfix_ie SRC_POD) len=vlen semantics=str
		name=sl_dst_ns field_type=$(ipfix_ie DST_NAMESPACE) len=vlen semantics=str
		name=sl_dst_pod field_type=$(ipfix_ie DST_POD) len=vlen semantics=str
		name=sl_node field_type=$(ipfix_ie NODE_NAME) len=vlen semantics=str
		name=sl_drop_reason field_type=$(ipfix_ie DROP_REASON_NAME) len=vlen semantics=str
		name=sl_rev_bytes field_type=$IPFIX_PEN_REV:1 len=8 semantics=u_int
		name=sl_rev_pkts field_type=$IPFIX_PEN_REV:2 len=8 semantics=u_int
		name=sl_fwd_status field_type=89 len=1 semantics=u_int
	EOF
	cat >"$dir/nfacctd.conf" <<-EOF
		daemonize: false
		logfile: $dir/nfacctd.log
		nfacctd_ip: 127.0.0.1
		nfacctd_port: $port
		aggregate_primitives: $dir/primitives.lst
		plugins: print[sl]
		aggregate[sl]: src_host, dst_host, src_port, dst_port, proto, sl_src_ns, sl_src_pod, sl_dst_ns, sl_dst_pod, sl_node, sl_drop_reason, sl_rev_bytes, sl_rev_pkts, sl_fwd_status
		print_output[sl]: json
		print_output_file[sl]: $CASE_DIR/nfacctd.json
		print_output_file_append[sl]: true
		print_refresh_time[sl]: 1
	EOF
	nsenter --net="$(node_nspath "$node")" nfacctd -f "$dir/nfacctd.conf" \
		</dev/null >>"$dir/stderr" 2>&1 &
	pid=$!
	echo "$pid" >>"$CASE_DIR/pids"
	wait_for 5 _udp_listening "$node" "$port" ||
		fail "nfacctd did not start: $(cat "$dir/stderr" "$dir/nfacctd.log" 2>/dev/null | tail -5)"
	# Its plugin processes too, for the teardown to stop.
	pgrep -P "$pid" >>"$CASE_DIR/pids" || true
}

_udp_listening() {
	[[ -n $(node_exec "$1" ss -Hlun "sport = :$2") ]]
}

# nfacctd_has PYEXPR: a printed record matching, for wait_for.
nfacctd_has() {
	[[ -s $CASE_DIR/nfacctd.json ]] || return 1
	"$PY" -IS -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if eval(sys.argv[2], {"d": d}):
        sys.exit(0)
sys.exit(1)' "$CASE_DIR/nfacctd.json" "$1"
}

t_ipfix_export() {
	local port client server end sport out

	port=$((20000 + SRANDOM % 10000))
	# Pods client and server in shop, and an agent without export that
	# the one under test replaces, on the datapath it pinned.
	flows_setup
	client=$(pod_ip n1 client) server=$(pod_ip n1 server)
	nfacctd_start n1 "$port"
	stop_pid "$AGENT_PID"

	# A bad collector is a clear error at start, not a silent no-export.
	out=$(node_exec n1 "$SLUICED" --node-name n1 --ipfix-collector 127.0.0.1 2>&1) &&
		fail "a collector without a port was accepted"
	assert_contains "$out" "--ipfix-collector 127.0.0.1: want ADDR:PORT"
	agent_start n1 --source "$CASE_DIR/manifests" \
		--ipfix-collector "127.0.0.1:$port"

	# One TCP connection, closed: its end reaches the collector with both
	# pods named and the counts the agent's own record has.
	expect_echo "$(pod_nspath n1 client)" tcp "$server" "$ECHO_PORT" "server:$client"
	wait_for 5 has_flow --type end --pod shop/server -- "True" ||
		fail "the agent recorded no end: $(flows_json)"
	end=$(flows_json --type end --pod shop/server | head -1)
	sport=$(jget 'd["l4"]["TCP"]["source_port"]' <<<"$end")
	wait_for 5 nfacctd_has "d.get('port_src') == $sport" ||
		fail "nfacctd printed no record of port $sport: $(cat "$CASE_DIR/nfacctd.json" 2>/dev/null) $(tail -5 "$CASE_DIR/nfacctd/nfacctd.log")"
	say "nfacctd: $(grep "\"port_src\": $sport" "$CASE_DIR/nfacctd.json")"
	nfacctd_has "d.get('port_src') == $sport and d['ip_src'] == '$client' and d['ip_dst'] == '$server' and d['port_dst'] == $ECHO_PORT and d['ip_proto'] == 'tcp'" ||
		fail "addresses, ports or protocol wrong: $(cat "$CASE_DIR/nfacctd.json")"
	nfacctd_has "d.get('port_src') == $sport and d['packets'] == $(jget 'd["flow_end"]["packets_sent"]' <<<"$end") and d['bytes'] == $(jget 'd["flow_end"]["bytes_sent"]' <<<"$end") and int(d['sl_rev_pkts']) == $(jget 'd["flow_end"]["packets_received"]' <<<"$end") and int(d['sl_rev_bytes']) == $(jget 'd["flow_end"]["bytes_received"]' <<<"$end") and d['packets'] >= 3 and int(d['sl_rev_bytes']) > 0" ||
		fail "counts differ from the agent's record $end: $(cat "$CASE_DIR/nfacctd.json")"
	nfacctd_has "d.get('port_src') == $sport and d['sl_src_ns'] == 'shop' and d['sl_src_pod'] == 'client' and d['sl_dst_ns'] == 'shop' and d['sl_dst_pod'] == 'server' and d['sl_node'] == 'n1'" ||
		fail "pod names missing: $(cat "$CASE_DIR/nfacctd.json")"

	# A drop by policy arrives as a drop record with its reason.
	printf -- '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: shop, name: deny-all}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n' |
		put_manifest deny.yaml
	wait_for 3 flags_are n1 "$server" 1 || fail "server not isolated"
	expect_no_echo "$(pod_nspath n1 client)" tcp "$server" "$ECHO_PORT" "$(token)"
	wait_for 5 nfacctd_has "d.get('sl_drop_reason') == 'POLICY_DENIED_INGRESS' and d['ip_dst'] == '$server' and d['sl_dst_pod'] == 'server' and int(d['sl_fwd_status']) == 129" ||
		fail "no drop record: $(cat "$CASE_DIR/nfacctd.json")"
}

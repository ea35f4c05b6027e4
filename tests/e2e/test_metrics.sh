# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The agent's Prometheus endpoint (sluiced --metrics-listen ADDR:PORT),
# scraped with curl from inside the node's namespace: /metrics passes
# `promtool check metrics` and its counters move with the datapath's drops
# (a spoofed source, a Service without endpoints); /healthz answers 503
# with the reason until the first sync, then 200; garbage, idle and slow
# clients get a bounded share and never stop the agent answering the
# others; a malformed or unusable address is a startup error. Helpers from
# test_agent.sh (agent_start, ctl, put_manifest, node_yaml, pod_yaml),
# test_services.sh (svc_yaml, slice_yaml, refused, VIP) and
# test_agent_api.sh (fake_start, fc, seed_json, agent_stop).

e2e_case metrics_scrape t_metrics_scrape
e2e_case metrics_clients t_metrics_clients
e2e_case metrics_healthz t_metrics_healthz
e2e_case metrics_listen t_metrics_listen

METRICS_PORT=9962

# metrics_url NODE [PATH]: the endpoint on the node's own address.
metrics_url() { echo "http://$(node_ip "$1"):$METRICS_PORT${2:-/metrics}"; }

# scrape NODE [PATH]: the body of a GET, from the node's namespace.
scrape() { node_exec "$1" curl -sS --max-time 5 "$(metrics_url "$1" "${2:-}")"; }

# http_code NODE PATH: the status of a GET.
http_code() {
	node_exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"$(metrics_url "$1" "$2")" || true
}

# For wait_for, which re-runs a command but not the $(...) in its words.
healthz_is() { [[ $(http_code "$1" /healthz) == "$2" ]]; }
body_is() { [[ $(node_exec "$1" curl -s --max-time 2 "$2") == "$3" ]]; }

# series_value TEXT SERIES: the value of one series (name and labels as
# the agent writes them), or "absent".
series_value() {
	awk -v s="$2" 'index($0, s " ") == 1 { v = $NF } END { print v == "" ? "absent" : v }' <<<"$1"
}

# value NODE SERIES: series_value of a fresh scrape.
value() { series_value "$(scrape "$1")" "$2"; }
value_is() { [[ $(value "$1" "$2") == "$3" ]]; }

# promtool_ok FILE: `promtool check metrics` finds nothing to say.
promtool_ok() {
	local out rc=0
	command -v promtool >/dev/null || fail "promtool missing: apt-get install prometheus (hack/deps.sh)"
	out=$(promtool check metrics <"$1" 2>&1) || rc=$?
	if ((rc != 0)) || [[ -n $out ]]; then
		fail "promtool check metrics (rc=$rc): $out"
	fi
}

# metrics_agent_start: sluiced for n1 on the manifests folder, serving on
# the node's address; returns once /healthz says 200.
metrics_agent_start() {
	mkdir -p "$CASE_DIR/manifests"
	agent_start n1 --source "$CASE_DIR/manifests" \
		--metrics-listen "$(node_ip n1):$METRICS_PORT"
	wait_for 5 healthz_is n1 200 ||
		fail "/healthz: $(scrape n1 /healthz) $(tail -3 "$CASE_DIR/agent-n1.log")"
}

t_metrics_scrape() {
	local a b out hdr before after stray=10.244.1.200 tok
	local spoof='sluice_drop_packets_total{reason="SPOOFED_SOURCE",direction="egress"}'
	local nobe='sluice_drop_packets_total{reason="NO_SERVICE_BACKEND",direction="egress"}'
	local redir='sluice_forward_packets_total{point="REDIRECT_PEER",direction="egress"}'

	node_add n1 1
	a=$(pod_add n1 a shop)
	b=$(pod_add n1 b shop)
	serve "$(pod_nspath n1 b)" b "$ECHO_PORT"
	{ node_yaml n1 1; pod_yaml shop a n1 'app: a'; pod_yaml shop b n1 'app: b'; } |
		put_manifest cluster.yaml
	# A Service whose one endpoint is not ready: connections are refused.
	{ svc_yaml web "$VIP"; slice_yaml web-1 web "$b:notready"; } | put_manifest web.yaml
	metrics_agent_start
	assert_eq "ok" "$(scrape n1 /healthz)" "/healthz after the first sync"

	scrape n1 >"$CASE_DIR/scrape1.txt"
	promtool_ok "$CASE_DIR/scrape1.txt"
	out=$(<"$CASE_DIR/scrape1.txt")
	hdr=$(node_exec n1 curl -sS -D - -o /dev/null "$(metrics_url n1)")
	assert_contains "$hdr" "Content-Type: text/plain; version=0.0.4; charset=utf-8" \
		"the 0.0.4 text format"
	assert_eq 1 "$(grep -c '^# TYPE sluice_drop_packets_total counter$' <<<"$out")" \
		"TYPE once per family"
	# What the agent knows.
	assert_eq 1 "$(series_value "$out" sluice_agent_up)"
	assert_eq 1 "$(series_value "$out" sluice_agent_ready)"
	assert_eq 1 "$(series_value "$out" sluice_agent_synced)"
	assert_eq 0 "$(series_value "$out" sluice_agent_sync_errors_total)"
	assert_ge 1 "$(series_value "$out" sluice_agent_syncs_total)" "syncs"
	assert_eq 2 "$(series_value "$out" 'sluice_objects{kind="Pod"}')" "pods known"
	assert_eq 1 "$(series_value "$out" 'sluice_objects{kind="Service"}')" "services known"
	assert_eq 2 "$(series_value "$out" sluice_endpoints)" "endpoints on this node"
	assert_eq 2 "$(series_value "$out" sluice_service_frontends)" "frontends: 80/TCP, 53/UDP"
	assert_eq 1 "$(series_value "$out" sluice_policy_fits)"
	assert_ge 1 "$(series_value "$out" 'sluice_map_max_entries{map="sl_ct"}')" "sl_ct size"
	assert_match '^[0-9]+$' "$(series_value "$out" 'sluice_map_entries{map="sl_ct"}')" "sl_ct fill"
	assert_ge 1000000 "$(series_value "$out" process_resident_memory_bytes)" "RSS"
	assert_match '^[0-9.e+]+$' "$(series_value "$out" process_cpu_seconds_total)" "CPU seconds"
	assert_ge 1700000000 "$(series_value "$out" process_start_time_seconds | cut -d. -f1)" "start time"
	assert_ge 1700000000 "$(series_value "$out" sluice_agent_last_sync_success_timestamp_seconds | cut -d. -f1)" \
		"last sync time"
	# Every reason of drop.h, zero or not, so a first drop is a change.
	assert_eq "$(sed -n 's/.*X(\([0-9]*\), [A-Z_0-9]*,.*/\1/p' "$E2E_TOP/include/sluice/drop.h" |
		awk '$1 < 128' | wc -l)" \
		"$(grep -c '^sluice_drop_packets_total{.*direction="egress"}' <<<"$out")" \
		"one series per drop reason of drop.h"
	assert_eq "$(metric n1 SPOOFED_SOURCE egress)" "$(series_value "$out" "$spoof")" \
		"the scrape agrees with bpftool"

	# Forwarded: pod to pod on the node is a redirect to the peer.
	before=$(series_value "$out" "$redir")
	expect_echo "$(pod_nspath n1 a)" tcp "$b" "$ECHO_PORT" "b:$a"
	assert_ge $((before + 1)) "$(value n1 "$redir")" "REDIRECT_PEER counted"

	# A spoofed source is dropped and counted under its reason.
	before=$(series_value "$out" "$spoof")
	assert_ok pod_exec n1 a ip addr add "$stray/32" dev eth0
	tok=$(token)
	expect_no_echo "$(pod_nspath n1 a)" udp "$b" "$ECHO_PORT" "$tok" "$stray"
	! server_saw b "$tok" || fail "spoofed packet delivered"
	after=$(value n1 "$spoof")
	assert_ge $((before + 1)) "$after" "SPOOFED_SOURCE drops on /metrics"
	assert_eq "$(metric n1 SPOOFED_SOURCE egress)" "$after" "the scrape agrees with bpftool"

	# A Service without a ready endpoint refuses; the refusal is a drop.
	before=$(series_value "$out" "$nobe")
	assert_match "^ConnectionRefusedError" "$(refused "$(pod_nspath n1 a)" tcp "$SVC_PORT")" \
		"connect to a Service without endpoints"
	assert_ge $((before + 1)) "$(value n1 "$nobe")" "NO_SERVICE_BACKEND drops on /metrics"

	scrape n1 >"$CASE_DIR/scrape2.txt"
	promtool_ok "$CASE_DIR/scrape2.txt"
}

# A helper in the node's namespace, run in the background while the case
# goes on: 40 idle connections (more than the agent's 16), a client that
# trickles its head a byte at a time, garbage, an oversized head, wrong
# methods and paths, while scrapes must still be answered at once; then,
# past the agent's 5 s limit, every held connection must have been closed.
read -r -d '' ABUSE_PY <<'PY' || true
import http.client, socket, sys, time
host, port, out = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w", buffering=1)

def connect():
    return socket.create_connection((host, port), timeout=3)

def raw(data):
    s = connect()
    s.sendall(data)
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except OSError:
        pass
    s.close()
    return buf.split(b"\r\n")[0].decode(errors="replace")

def get(path, method="GET", ver=None):
    c = http.client.HTTPConnection(host, port, timeout=2)
    if ver:
        c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
    t = time.monotonic()
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    return r.status, r.getheader("Allow"), r.getheader("Content-Length"), body, time.monotonic() - t

held = [connect() for _ in range(40)]
slow = connect()
slow.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
out.write("held %d\n" % len(held))
worst = 0.0
for i in range(10):
    st, _, _, body, dt = get("/metrics")
    worst = max(worst, dt)
    if st != 200 or b"sluice_agent_up 1" not in body:
        out.write("scrape %d failed: %d\n" % (i, st))
    try:
        slow.send(b"a")
    except OSError:
        pass
    time.sleep(0.1)
out.write("scrapes ok worst %.3f\n" % worst)
out.write("garbage %s\n" % raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256))))
out.write("oversized %s\n" % raw(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 4100 + b"\r\n\r\n"))
out.write("http2 %s\n" % raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
st, allow, _, _, _ = get("/metrics", "POST")
out.write("post %d %s\n" % (st, allow))
out.write("notfound %d\n" % get("/nope")[0])
st, _, length, body, _ = get("/metrics", "HEAD")
out.write("head %d %s %d\n" % (st, int(length) > 1000, len(body)))
out.write("http10 %d\n" % get("/healthz", ver=10)[0])
out.write("ready\n")
# Past the agent's limit every held connection is closed by the agent.
time.sleep(6)
closed = 0
for s in held + [slow]:
    s.settimeout(0.5)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                closed += 1
                break
    except (ConnectionResetError, BrokenPipeError):
        closed += 1
    except socket.timeout:
        pass
out.write("closed %d of %d\n" % (closed, len(held) + 1))
out.write("done\n")
PY

t_metrics_clients() {
	local res=$CASE_DIR/abuse.out pid out

	node_add n1 1
	node_yaml n1 1 | put_manifest cluster.yaml
	metrics_agent_start

	node_exec n1 "$PY" -IS -c "$ABUSE_PY" "$(node_ip n1)" "$METRICS_PORT" "$res" \
		>"$CASE_DIR/abuse.err" 2>&1 &
	pid=$!
	echo "$pid" >>"$CASE_DIR/pids"
	wait_for 20 grep -q '^ready$' "$res" ||
		fail "abusive clients: $(cat "$res" "$CASE_DIR/abuse.err")"
	out=$(<"$res")
	say "$out"
	assert_contains "$out" "held 40"
	assert_not_contains "$out" "failed" "scrapes with every slot held"
	assert_match "worst 0\.[0-4]" "$out" "a scrape waits for no one (worst under 0.5 s)"
	assert_contains "$out" "garbage HTTP/1.1 400 Bad Request"
	assert_contains "$out" "oversized HTTP/1.1 431 Request Header Fields Too Large"
	assert_contains "$out" "http2 HTTP/1.1 505 HTTP Version Not Supported"
	assert_contains "$out" "post 405 GET, HEAD"
	assert_contains "$out" "notfound 404"
	assert_contains "$out" "head 200 True 0"
	assert_contains "$out" "http10 200"

	# The rest of the agent carries on meanwhile: the API socket answers
	# and a new pod is known within the second.
	assert_contains "$(ctl n1 status)" "n1" "sluicectl status while clients hold connections"
	{ node_yaml n1 1; pod_yaml default late n1 'app: late'; } | put_manifest cluster.yaml
	wait_for 2 value_is n1 'sluice_objects{kind="Pod"}' 1 ||
		fail "a new pod not seen while clients hold connections"

	wait "$pid" || fail "abusive clients: $(cat "$CASE_DIR/abuse.err")"
	out=$(<"$res")
	assert_contains "$out" "closed 41 of 41" "held connections closed (evicted or timed out)"
	kill -0 "$AGENT_PID" || fail "the agent died"
	out=$(scrape n1)
	assert_ge 24 "$(series_value "$out" 'sluice_metrics_connections_closed_total{reason="evicted"}')" \
		"evictions counted"
	assert_ge 1 "$(series_value "$out" 'sluice_metrics_connections_closed_total{reason="timeout"}')" \
		"timeouts counted"
	assert_eq "ok" "$(scrape n1 /healthz)" "still healthy"
}

# Until the API server's first list is through, /healthz says why (503)
# and sluice_agent_ready is 0; then 200.
t_metrics_healthz() {
	local body

	node_add n1 1
	seed_json "$CASE_DIR/seed.json" 0 10.244.1.5 10.244.1.6
	fake_start n1 "$CASE_DIR/seed.json"
	fc POST /faults '{"count":2,"code":500,"resource":"pods","verb":"list"}' >/dev/null
	agent_start n1 --kubeconfig "$CASE_DIR/api/kubeconfig" \
		--metrics-listen "$(node_ip n1):$METRICS_PORT"
	wait_for 5 healthz_is n1 503 || fail "/healthz before the first list: $(http_code n1 /healthz)"
	body=$(scrape n1 /healthz)
	assert_contains "$body" "waiting for the API server's first list" "503 says why"
	assert_eq 0 "$(value n1 sluice_agent_ready)" "not ready on /metrics"
	assert_eq 0 "$(value n1 sluice_agent_synced)"
	wait_for 15 healthz_is n1 200 || fail "/healthz after the list: $(scrape n1 /healthz)"
	assert_eq 1 "$(value n1 sluice_agent_ready)"
	assert_eq 2 "$(value n1 'sluice_objects{kind="Pod"}')" "the seeded pods"
	scrape n1 >"$CASE_DIR/scrape.txt"
	promtool_ok "$CASE_DIR/scrape.txt"
}

# sluiced_fails NODE WANT-RC TEXT ARGS...: the agent exits at start with
# WANT-RC, saying TEXT.
sluiced_fails() {
	local node=$1 want=$2 text=$3 rc=0 out
	shift 3
	out=$(timeout 10 nsenter --net="$(node_nspath "$node")" "$SLUICED" \
		--node-name "$node" --source "$CASE_DIR/manifests" --cgroup-root none \
		--bpf-root "$(node_bpf_root "$node")" --run-dir "$(node_run_dir "$node")" \
		"$@" 2>&1) || rc=$?
	assert_eq "$want" "$rc" "exit code for $* ($out)"
	assert_contains "$out" "$text" "the reason for $*"
}

t_metrics_listen() {
	local spec

	node_add n1 1
	mkdir -p "$CASE_DIR/manifests"
	node_yaml n1 1 | put_manifest cluster.yaml
	# Malformed: refused before anything starts (exit 2), saying why.
	for spec in 9962 1.2.3.4 1.2.3.4:0 1.2.3.4:70000 ::1:9962 '[::1' 1.2.3:9962 'a b:1'; do
		sluiced_fails n1 2 "--metrics-listen" --metrics-listen "$spec"
	done
	sluiced_fails n1 2 "an IPv6 address goes in brackets" --metrics-listen ::1:9962
	sluiced_fails n1 2 "does not resolve" --metrics-listen no-such-host.invalid:9962
	# Well formed but not this node's address: the agent does not start.
	sluiced_fails n1 1 "Cannot assign requested address" --metrics-listen 10.9.9.9:9962

	# A host name: every address it has.
	agent_start n1 --source "$CASE_DIR/manifests" --metrics-listen localhost:9962
	wait_for 5 body_is n1 http://127.0.0.1:9962/healthz ok ||
		fail "localhost:9962: $(tail -3 "$CASE_DIR/agent-n1.log")"
	if getent ahosts localhost | awk '{print $1}' | grep -qx '::1' &&
		node_exec n1 ip -6 addr show dev lo | grep -q '::1/128'; then
		assert_eq ok "$(node_exec n1 curl -s --max-time 2 'http://[::1]:9962/healthz')" \
			"localhost:9962 over IPv6 too"
	fi
	assert_not_contains "$(node_exec n1 curl -s --max-time 2 "$(metrics_url n1 /healthz)" || true)" \
		ok "localhost:9962 is not the node's address"
	agent_stop
	# [::] takes IPv4 and IPv6, where the node has IPv6.
	if node_exec n1 ip -6 addr show dev lo | grep -q '::1/128'; then
		agent_start n1 --source "$CASE_DIR/manifests" --metrics-listen '[::]:9962'
		wait_for 5 body_is n1 'http://[::1]:9962/healthz' ok ||
			fail "[::]:9962 over IPv6: $(tail -3 "$CASE_DIR/agent-n1.log")"
		assert_eq ok "$(node_exec n1 curl -s --max-time 2 "$(metrics_url n1 /healthz)")" \
			"[::]:9962 over IPv4"
		agent_stop
	else
		say "no IPv6 on the node's loopback: [::] not tried"
	fi
	# Empty: every address.
	agent_start n1 --source "$CASE_DIR/manifests" --metrics-listen ":9962"
	wait_for 5 body_is n1 "$(metrics_url n1 /healthz)" ok ||
		fail ":9962: $(tail -3 "$CASE_DIR/agent-n1.log")"
	agent_stop
}

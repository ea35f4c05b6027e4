# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The node agent with the API server source, against sl-fakeapi (started
# inside the node's namespace): it converges through pagination, follows
# changes within a second under every chunking, re-watches without a LIST
# when a watch ends (T26), relists on 410 as status and as event and
# deletes what vanished meanwhile (T24, T27, T28), and survives a rotated
# token and a 401 (T22). Helpers agent_start, ctl, map_identity and
# changed_within come from test_agent.sh.

e2e_case agent_api_sync t_agent_api_sync
e2e_case agent_api_gone t_agent_api_gone
e2e_case agent_api_token t_agent_api_token

SL_FAKEAPI=${SL_FAKEAPI:-$SL_BIN/sl-fakeapi}

# fake_start NODE SEED [ARGS...]: sl-fakeapi in NODE's namespace with its
# state in $CASE_DIR/api and the token in $CASE_DIR/token; sets FAKE_C.
fake_start() {
	local node=$1 seed=$2
	shift 2
	[[ -x $SL_FAKEAPI ]] || fail "$SL_FAKEAPI missing: make build/bin/sl-fakeapi"
	[[ -s $CASE_DIR/token ]] || echo "tk-first" >"$CASE_DIR/token"
	nsenter --net="$(node_nspath "$node")" "$SL_FAKEAPI" -state "$CASE_DIR/api" \
		-token-file "$CASE_DIR/token" -seed "$seed" -bookmark-interval 1h "$@" \
		>"$CASE_DIR/fakeapi.out" 2>"$CASE_DIR/fakeapi.err" &
	echo $! >>"$CASE_DIR/pids"
	wait_for 10 test -s "$CASE_DIR/api/control.url" ||
		fail "sl-fakeapi did not start: $(cat "$CASE_DIR/fakeapi.err")"
	FAKE_C=$(cat "$CASE_DIR/api/control.url")
	FAKE_NODE=$node
}

# fc METHOD PATH [BODY]: the fake's control port, from the node's namespace.
fc() {
	node_exec "$FAKE_NODE" curl -sS --fail-with-body -X "$1" "$FAKE_C$2" \
		${3:+--data-binary "$3"}
}

# agent_start_api NODE [ARGS...]: sluiced on the fake's kubeconfig.
agent_start_api() {
	local node=$1
	shift
	agent_start "$node" --kubeconfig "$CASE_DIR/api/kubeconfig" "$@"
}

# st EXPR: a value out of the agent's status.
st() {
	ctl "${2:-n1}" -o json status | jget "$1"
}

# reqs EXPR: over the fake's request log `r` (list of entries).
reqs() {
	fc GET "/requests${2:-}" | jget "(lambda r: $1)(d['requests'] if isinstance(d, dict) else d)"
}

synced() { [[ $(st 'd["source"]["synced"]') == true ]]; }

# For wait_for, which re-runs a command but not the $(...) in its words.
identity_is() { [[ $(map_identity "$1" "$2") == "$3" ]]; }
reqs_ge() { (($(reqs "$1" "$2") >= $3)); }
st_is() { [[ $(st "$1") == "$2" ]]; }
pods_count_gt() { (($(pods_count "$1") > $2)); }

# seed_json FILE FILLERS WEB_IP DB_IP: namespace shop, node n1, pods shop/web
# and shop/db on n1, FILLERS pods on a remote node (policy needs them, T23).
seed_json() {
	"$PY" -IS -c '
import json, sys
out, n, web, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "red"}}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}}]
for name, ip, app in (("web", web, "web"), ("db", db, "db")):
    objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
                 "spec": {"nodeName": "n1"}, "status": {"podIP": ip}})
for i in range(n):
    objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "far", "name": "f%04d" % i, "labels": {"app": "f%d" % (i % 7)}},
                 "spec": {"nodeName": "n9"}, "status": {"podIP": "10.244.9.%d" % (i % 250 + 2)}})
json.dump(objs, open(out, "w"))' "$@"
}

pod_json() { # NAME IP LABELS-JSON
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"shop","name":"%s","labels":%s},"spec":{"nodeName":"n1"},"status":{"podIP":"%s"}}' "$1" "$3" "$2"
}

# watches_reopened COUNT_BEFORE: the agent opened a new pods watch.
watches_reopened() {
	fc GET "/wait?resource=pods&verb=watch&count=$(($1 + 1))&timeout=5s" >/dev/null
}

pods_count() { fc GET /stats | jget "d['counts']['pods']['$1']"; }

t_agent_api_sync() {
	local web db id_db id ms lists watches rv mode i=0

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	seed_json "$CASE_DIR/seed.json" 600 "$web" "$db"
	fake_start n1 "$CASE_DIR/seed.json"
	agent_start_api n1

	wait_for 10 synced || fail "no initial sync: $(ctl n1 -o json status)"
	wait_for 5 test -n "$(map_identity n1 "$db")" || fail "db not in sl_endpoints"
	id_db=$(map_identity n1 "$db")
	assert_ge 256 "$(map_identity n1 "$web")" "web's identity from the API server"
	assert_ge 256 "$id_db" "db's identity from the API server"
	assert_eq '{"podCIDR":"10.244.1.0/24"}' "$(cat "$(node_run_dir n1)/node.json")" \
		"node.json from the Node object"
	assert_eq api "$(st 'd["source"]["type"]')" "status names the source"
	assert_eq 602 "$(st 'd["objects"]["Pod"]')" "every pod, remote ones included"
	assert_eq true "$(st 'd["source"]["resources"]["namespaces"]["listed"]')"
	assert_eq true "$(st 'd["source"]["resources"]["services"]["listed"]')" \
		"counted resources are listed too"
	# 602 pods in pages of 500: two requests, the second with continue.
	assert_eq 2 "$(pods_count list)" "pods LIST pages"
	assert_eq true "$(reqs 'any("continue" in e["params"] for e in r)' '?resource=pods&verb=list')" \
		"second page asked with continue"
	assert_eq 500 "$(reqs 'r[0]["params"]["limit"][0]' '?resource=pods&verb=list')"

	# A relabel through the API reaches the map within a second.
	fc POST '/objects' "$(pod_json db "$db" '{"app":"cache"}')" >/dev/null
	ms=$(changed_within n1 "$db" "$id_db") || fail "relabel not applied"
	say "relabel via the API reached sl_endpoints in ${ms} ms"
	((ms < 1000)) || fail "relabel took ${ms} ms (> 1 s)"

	# T25: every chunking the fake has; the new watch starts under it.
	for mode in split packed mixed natural; do
		fc POST /config "{\"chunking\":\"$mode\"}" >/dev/null
		watches=$(pods_count watch)
		fc POST '/watches/close?mode=clean&resource=pods' >/dev/null
		watches_reopened "$watches" || fail "no new watch under $mode"
		id=$(map_identity n1 "$db")
		i=$((i + 1))
		# A burst: the far pods and db in one batch (one chunk when packed).
		fc POST '/objects' "[$(pod_json db "$db" "{\"app\":\"$mode\"}"),$(pod_json x$i 10.244.1.250 '{"a":"b"}')]" >/dev/null
		ms=$(changed_within n1 "$db" "$id") || fail "change not applied under $mode chunking"
		say "$mode chunking: change applied in ${ms} ms"
		((ms < 1000)) || fail "$mode chunking: ${ms} ms (> 1 s)"
	done
	wait_for 2 st_is 'd["objects"]["Pod"]' $((602 + i)) ||
		fail "pods added in bursts are missing: $(st 'd["objects"]["Pod"]')"

	# T26: a watch that ends cleanly resumes from the last RV, no LIST.
	lists=$(pods_count list)
	watches=$(pods_count watch)
	rv=$(st 'd["source"]["resources"]["pods"]["resourceVersion"]')
	fc POST '/watches/close?mode=clean&resource=pods' >/dev/null
	watches_reopened "$watches" || fail "no re-watch after a clean end"
	assert_eq "$rv" "$(reqs 'r[-1]["params"]["resourceVersion"][0]' '?resource=pods&verb=watch')" \
		"re-watch from the last RV"
	assert_eq true "$(reqs 'r[-1]["params"]["allowWatchBookmarks"] == ["true"] and 300 <= int(r[-1]["params"]["timeoutSeconds"][0]) <= 600' '?resource=pods&verb=watch')" \
		"bookmarks asked, timeoutSeconds in [300, 600]"
	sleep 0.3
	assert_eq "$lists" "$(pods_count list)" "no LIST after a clean end of the watch"
	assert_eq 0 "$(st 'd["source"]["resources"]["pods"]["relists"]')" "no relist"
}

t_agent_api_gone() {
	local web db id_web lists ms

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	seed_json "$CASE_DIR/seed.json" 520 "$web" "$db"
	fake_start n1 "$CASE_DIR/seed.json" -gone event
	agent_start_api n1
	wait_for 10 synced || fail "no initial sync"
	wait_for 5 test -n "$(map_identity n1 "$db")" || fail "db not in sl_endpoints"
	assert_ge 256 "$(map_identity n1 "$db")" "db's identity"

	# T28 + T27 (410 as an ERROR event): the watch drops, db is deleted
	# and history compacted before the agent is back (it backs off at
	# least 0.8 s): only a relist can tell it db is gone.
	fc POST '/watches/close?mode=abort&resource=pods' >/dev/null
	fc DELETE '/objects?resource=pods&namespace=shop&name=db' >/dev/null
	fc POST /compact >/dev/null
	wait_for 6 identity_is n1 "$db" 0 ||
		fail "db's identity not cleared after the relist: $(map_identity n1 "$db")"
	assert_ge 1 "$(st 'd["source"]["resources"]["pods"]["deletedOnRelist"]')" "delete emitted on relist"
	assert_eq true "$(reqs 'any(e["verb"] == "watch" and e.get("ended") == "gone" for e in r)' '?resource=pods')" \
		"the fake answered the resumed watch with 410"
	# Then a watch from the new list's RV.
	assert_eq "$(st 'd["source"]["resources"]["pods"]["resourceVersion"]')" \
		"$(reqs 'r[-1]["params"]["resourceVersion"][0]' '?resource=pods&verb=watch')" \
		"watch from the relist's RV"

	# T27 as the HTTP status, and no change lost: web relabelled while
	# the watch was down.
	fc POST /config '{"gone":"status"}' >/dev/null
	id_web=$(map_identity n1 "$web")
	fc POST '/watches/close?mode=abort&resource=pods' >/dev/null
	fc POST '/objects' "$(pod_json web "$web" '{"app":"web2"}')" >/dev/null
	fc POST /compact >/dev/null
	changed_within n1 "$web" "$id_web" >/dev/null || fail "change made while the watch was down was lost"
	assert_eq true "$(reqs 'any(e["verb"] == "watch" and e["code"] == 410 for e in r)' '?resource=pods')" \
		"410 as HTTP status seen"

	# 410 on a live stream (compaction under a running watch).
	id_web=$(map_identity n1 "$web")
	lists=$(pods_count list)
	fc POST '/objects' "$(pod_json web "$web" '{"app":"web3"}')" >/dev/null
	fc POST /compact >/dev/null
	fc POST '/watches/close?mode=error&resource=pods' >/dev/null
	changed_within n1 "$web" "$id_web" >/dev/null || fail "change lost around a live 410"
	wait_for 3 pods_count_gt list "$lists" || fail "no relist after an ERROR 410 event"

	# T24: continue tokens that expire between pages: the list restarts
	# (unpaginated) instead of failing or looping.
	fc POST /config '{"continueTTL":"1ms"}' >/dev/null
	lists=$(pods_count list)
	id_web=$(map_identity n1 "$web")
	fc POST '/objects' "$(pod_json web "$web" '{"app":"web4"}')" >/dev/null
	fc POST /compact >/dev/null
	fc POST '/watches/close?mode=error&resource=pods' >/dev/null
	ms=$(changed_within n1 "$web" "$id_web") || fail "no convergence with expiring continue tokens"
	wait_for 3 reqs_ge 'len([e for e in r if "continue" in e["params"] and e["code"] == 410])' '?resource=pods&verb=list' 1 ||
		fail "no expired continue seen"
	assert_eq true "$(reqs '"limit" not in r[-1]["params"] and r[-1]["code"] == 200' '?resource=pods&verb=list')" \
		"after an expired continue, one whole LIST"
	assert_eq 521 "$(st 'd["objects"]["Pod"]')" "pods after the restarted list (db deleted)"
	assert_ge 1 "$(st 'd["source"]["resources"]["pods"]["relists"]')"
}

t_agent_api_token() {
	local web db id_db out rc=0 since

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	seed_json "$CASE_DIR/seed.json" 0 "$web" "$db"

	# Bad configuration fails at once and names the file and field.
	echo '{"apiVersion":"v1","kind":"Config","current-context":"x"}' >"$CASE_DIR/bad.kubeconfig"
	out=$("$SLUICED" --node-name n1 --kubeconfig "$CASE_DIR/bad.kubeconfig" 2>&1) || rc=$?
	assert_eq 2 "$rc" "exit code for a broken kubeconfig"
	assert_contains "$out" "$CASE_DIR/bad.kubeconfig: current-context \"x\" names no entry in contexts"

	fake_start n1 "$CASE_DIR/seed.json"
	# --api-server wins over the kubeconfig's (unreachable) server.
	sed 's#"server": *"[^"]*"#"server": "https://192.0.2.1:1"#' "$CASE_DIR/api/kubeconfig" \
		>"$CASE_DIR/other.kubeconfig"
	assert_contains "$(cat "$CASE_DIR/other.kubeconfig")" "192.0.2.1"
	nsenter --net="$(node_nspath n1)" "$SLUICED" --node-name n1 \
		--kubeconfig "$CASE_DIR/other.kubeconfig" --api-server "$(cat "$CASE_DIR/api/api.url")" \
		--bpf-root "$(node_bpf_root n1)" --run-dir "$(node_run_dir n1)" --log-level debug \
		>>"$CASE_DIR/agent-n1.log" 2>&1 &
	AGENT_PID=$!
	echo "$AGENT_PID" >>"$CASE_DIR/pids"
	wait_for 5 test -S "$(node_run_dir n1)/sluiced.sock" || fail "sluiced did not start"
	wait_for 10 synced || fail "no sync through --api-server: $(ctl n1 -o json status)"
	wait_for 5 test -n "$(map_identity n1 "$db")" || fail "db not in sl_endpoints"
	id_db=$(map_identity n1 "$db")
	assert_ge 256 "$id_db"

	# T22: the token rotates (written whole, by rename). The agent's copy
	# is younger than a minute, so its next request gets a 401, re-reads
	# the file and retries at once with the new token.
	since=$(reqs 'r[-1]["seq"]')
	echo "tk-second" >"$CASE_DIR/token.tmp"
	mv "$CASE_DIR/token.tmp" "$CASE_DIR/token"
	fc POST '/watches/close?mode=clean&resource=pods' >/dev/null
	wait_for 5 reqs_ge 'len([e for e in r if e["code"] == 200 and e["verb"] == "watch"])' "?resource=pods&since=$since" 1 ||
		fail "no authorised watch after the rotation: $(fc GET "/requests?resource=pods&since=$since")"
	assert_eq true "$(reqs 'r[0]["code"] == 401' "?resource=pods&since=$since")" "old token refused once"
	assert_ge 1 "$(st 'd["source"]["unauthorized"]')" "401 counted"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "bearer token changed"
	fc POST '/objects' "$(pod_json db "$db" '{"app":"rotated"}')" >/dev/null
	changed_within n1 "$db" "$id_db" >/dev/null || fail "no change applied after the rotation"

	# A 401 without rotation: backs off, retries, recovers.
	id_db=$(map_identity n1 "$db")
	since=$(reqs 'r[-1]["seq"]')
	fc POST /faults '{"count":1,"code":401,"resource":"pods","verb":"watch"}' >/dev/null
	fc POST '/watches/close?mode=clean&resource=pods' >/dev/null
	wait_for 6 reqs_ge 'len([e for e in r if e["code"] == 200 and e["verb"] == "watch"])' "?resource=pods&since=$since" 1 ||
		fail "no recovery after a 401"
	fc POST '/objects' "$(pod_json db "$db" '{"app":"after401"}')" >/dev/null
	changed_within n1 "$db" "$id_db" >/dev/null || fail "no change applied after a 401"
	assert_eq 0 "$(st 'd["source"]["resources"]["pods"]["relists"]')" "a 401 does not relist"

	# SIGHUP rescans a manifests folder; with the API it changes nothing.
	kill -HUP "$AGENT_PID"
	sleep 0.3
	assert_eq true "$(st 'd["source"]["synced"]')" "agent alive after SIGHUP"
}

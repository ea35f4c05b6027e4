# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The node agent with the API server source, against sl-fakeapi (started
# inside the node's namespace): it converges through pagination, follows
# changes within a second under every chunking, re-watches without a LIST
# when a watch ends (T26), relists on 410 as status and as event and
# deletes what vanished meanwhile (T24, T27, T28), and survives a rotated
# token and a 401 (T22). It authenticates with a client certificate alone
# (inline or by path; one from another CA is refused) and runs in-cluster
# from a service account directory, through a token rotation. Helpers
# agent_start, ctl, map_identity and changed_within come from test_agent.sh.

e2e_case agent_api_sync t_agent_api_sync
e2e_case agent_api_gone t_agent_api_gone
e2e_case agent_api_token t_agent_api_token
e2e_case agent_api_client_cert t_agent_api_client_cert
e2e_case agent_api_in_cluster t_agent_api_in_cluster

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
		--cgroup-root none \
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

# cert_kubeconfig OUT FORM CERT KEY: a kubeconfig (YAML, as kubectl writes
# it) for the fake with a client certificate and no token. FORM "data":
# client-certificate-data/client-key-data; "file": the paths.
cert_kubeconfig() {
	local out=$1 form=$2 cert=$3 key=$4
	{
		printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n'
		printf '    server: %s\n    certificate-authority: %s\n' \
			"$(cat "$CASE_DIR/api/api.url")" "$CASE_DIR/api/ca.crt"
		printf 'users:\n- name: node\n  user:\n'
		if [[ $form == data ]]; then
			printf '    client-certificate-data: %s\n    client-key-data: %s\n' \
				"$(base64 -w0 "$cert")" "$(base64 -w0 "$key")"
		else
			printf '    client-certificate: %s\n    client-key: %s\n' "$cert" "$key"
		fi
		printf 'contexts:\n- name: node@fake\n  context: {cluster: fake, user: node}\n'
		printf 'current-context: node@fake\n'
	} >"$out"
}

agent_stop() {
	kill -TERM "$AGENT_PID"
	wait_for 5 _pid_gone "$AGENT_PID" || fail "sluiced ignored SIGTERM"
}

t_agent_api_client_cert() {
	local web db id_db since d=$CASE_DIR/rogue

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	seed_json "$CASE_DIR/seed.json" 0 "$web" "$db"
	# The fake also has a token file; the agent is never given it, so
	# only the certificate can get it in (no anonymous access either).
	fake_start n1 "$CASE_DIR/seed.json" -client-ca
	assert_ok test -s "$CASE_DIR/api/client.crt"

	# A look-alike: same subject, issuer name and usage as the fake's
	# client certificate, signed by another CA. openssl itself accepts it
	# against its own CA, so the agent's only fault is the issuer.
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.crt" -subj /CN=sl-fakeapi-ca -days 2 \
		>/dev/null 2>&1 || fail "openssl: rogue CA"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/client.key" -out "$d/client.csr" \
		-subj "/O=system:nodes/CN=system:node:sluice" >/dev/null 2>&1 ||
		fail "openssl: rogue CSR"
	printf 'keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$d/ext"
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-set_serial 7 -days 2 -extfile "$d/ext" -out "$d/client.crt" \
		>/dev/null 2>&1 || fail "openssl: rogue certificate"
	assert_ok openssl verify -purpose sslclient -CAfile "$d/ca.crt" "$d/client.crt"
	assert_fail openssl verify -purpose sslclient -CAfile "$CASE_DIR/api/ca.crt" "$d/client.crt"

	# Refused: a 401 per request, never synced, the status says why. By
	# path, so a 401 (not a curl error) also shows the files were loaded.
	cert_kubeconfig "$CASE_DIR/rogue.kubeconfig" file "$d/client.crt" "$d/client.key"
	agent_start n1 --kubeconfig "$CASE_DIR/rogue.kubeconfig"
	wait_for 5 st_is 'd["source"]["unauthorized"] >= 2' true ||
		fail "no 401 for a foreign client certificate: $(ctl n1 -o json status)"
	assert_eq false "$(st 'd["source"]["synced"]')" "synced with a foreign certificate"
	assert_match 'HTTP 401 Unauthorized' "$(st 'd["source"]["lastError"]')" "status names the 401"
	assert_match 'HTTP 401 Unauthorized' "$(ctl n1 status)" "sluicectl status shows the 401"
	assert_eq true "$(reqs 'len(r) >= 2 and all(e["code"] == 401 and not e.get("user") for e in r)')" \
		"the fake refused every request"
	assert_ge 1 "$(grep -c 'HTTP 401 Unauthorized' "$CASE_DIR/agent-n1.log")" "401 logged"
	id_db=$(map_identity n1 "$db")
	assert_eq 0 "${id_db:-0}" "no identity without the API"
	agent_stop

	# Inline (-data), the fake's own certificate: everything works.
	since=$(reqs 'r[-1]["seq"]')
	cert_kubeconfig "$CASE_DIR/data.kubeconfig" data "$CASE_DIR/api/client.crt" "$CASE_DIR/api/client.key"
	assert_not_contains "$(cat "$CASE_DIR/data.kubeconfig")" "token"
	assert_not_contains "$(cat "$CASE_DIR/data.kubeconfig")" "$CASE_DIR/api/client"
	agent_start n1 --kubeconfig "$CASE_DIR/data.kubeconfig"
	wait_for 10 synced || fail "no sync with client-certificate-data: $(ctl n1 -o json status)"
	wait_for 5 test -n "$(map_identity n1 "$db")" || fail "db not in sl_endpoints"
	assert_ge 256 "$(map_identity n1 "$web")" "web's identity"
	id_db=$(map_identity n1 "$db")
	assert_ge 256 "$id_db" "db's identity"
	assert_eq 2 "$(st 'd["objects"]["Pod"]')" "pods"
	assert_eq 0 "$(st 'd["source"]["unauthorized"]')" "no 401"
	assert_eq true "$(reqs 'len(r) > 0 and all(e.get("user") == "cert:system:node:sluice" for e in r)' "?since=$since")" \
		"every request authenticated by the certificate"
	# The watch (a separate, long connection) is authenticated too.
	fc POST '/objects' "$(pod_json db "$db" '{"app":"cert"}')" >/dev/null
	changed_within n1 "$db" "$id_db" >/dev/null || fail "relabel not applied with a client certificate"
	agent_stop

	# By path, as the fake writes it.
	since=$(reqs 'r[-1]["seq"]')
	id_db=$(map_identity n1 "$db")
	cert_kubeconfig "$CASE_DIR/file.kubeconfig" file "$CASE_DIR/api/client.crt" "$CASE_DIR/api/client.key"
	agent_start n1 --kubeconfig "$CASE_DIR/file.kubeconfig"
	wait_for 10 synced || fail "no sync with client-certificate: $(ctl n1 -o json status)"
	assert_eq true "$(reqs 'len(r) > 0 and all(e.get("user") == "cert:system:node:sluice" for e in r)' "?since=$since")" \
		"every request authenticated by the certificate file"
	fc POST '/objects' "$(pod_json db "$db" '{"app":"certfile"}')" >/dev/null
	changed_within n1 "$db" "$id_db" >/dev/null || fail "relabel not applied with a certificate file"
}

t_agent_api_in_cluster() {
	local web db id_db since server hostport sa=$CASE_DIR/sa out rc=0

	node_add n1 1
	web=$(pod_add n1 web shop)
	db=$(pod_add n1 db shop)
	seed_json "$CASE_DIR/seed.json" 0 "$web" "$db"
	token >"$CASE_DIR/token"
	fake_start n1 "$CASE_DIR/seed.json"
	# What the kubelet projects, somewhere else than the default.
	mkdir -p "$sa"
	cp "$CASE_DIR/token" "$sa/token"
	cp "$CASE_DIR/api/ca.crt" "$sa/ca.crt"
	# The kubernetes Service's address, as the kubelet sets it.
	server=$(jget 'd["clusters"][0]["cluster"]["server"]' "$CASE_DIR/api/kubeconfig")
	hostport=${server#https://}
	assert_match '^[0-9.]+:[0-9]+$' "$hostport" "the fake's server address"
	export KUBERNETES_SERVICE_HOST=${hostport%:*} KUBERNETES_SERVICE_PORT=${hostport##*:}

	# The directory is the one given: without ca.crt there, no start.
	mkdir -p "$CASE_DIR/empty"
	out=$("$SLUICED" --node-name n1 --service-account-dir "$CASE_DIR/empty" 2>&1) || rc=$?
	assert_eq 2 "$rc" "exit code for a service account dir without ca.crt"
	assert_contains "$out" "in-cluster: $CASE_DIR/empty/ca.crt: No such file or directory"
	rc=0
	out=$("$SLUICED" --node-name n1 --kubeconfig "$CASE_DIR/api/kubeconfig" \
		--service-account-dir "$sa" 2>&1) || rc=$?
	assert_eq 2 "$rc" "--service-account-dir with --kubeconfig"
	assert_contains "$out" "--service-account-dir is only for in-cluster"

	agent_start n1 --service-account-dir "$sa"
	wait_for 10 synced || fail "no in-cluster sync: $(ctl n1 -o json status)"
	wait_for 5 test -n "$(map_identity n1 "$db")" || fail "db not in sl_endpoints"
	assert_ge 256 "$(map_identity n1 "$web")" "web's identity"
	id_db=$(map_identity n1 "$db")
	assert_ge 256 "$id_db" "db's identity"
	assert_eq in-cluster "$(st 'd["source"]["config"]')" "status names the configuration"
	assert_eq "$server" "$(st 'd["source"]["server"]')" "server from KUBERNETES_SERVICE_*"
	assert_eq true "$(reqs 'len(r) > 0 and all(e.get("user") == "token#1" for e in r)')" \
		"every request carried the service account token"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "bearer token read from $sa/token"

	# T22 in-cluster: the kubelet rotates the projected token, then the
	# old one stops working. The agent's copy is younger than a minute, so
	# its next request gets a 401, re-reads $sa/token and retries at once.
	since=$(reqs 'r[-1]["seq"]')
	token >"$sa/.token.tmp"
	mv "$sa/.token.tmp" "$sa/token"
	cp "$sa/token" "$CASE_DIR/token.tmp"
	mv "$CASE_DIR/token.tmp" "$CASE_DIR/token"
	fc POST '/watches/close?mode=clean&resource=pods' >/dev/null
	wait_for 5 reqs_ge 'len([e for e in r if e["code"] == 200 and e["verb"] == "watch"])' "?resource=pods&since=$since" 1 ||
		fail "no authorised watch after the rotation: $(fc GET "/requests?resource=pods&since=$since")"
	assert_eq true "$(reqs 'r[0]["code"] == 401' "?resource=pods&since=$since")" "old token refused once"
	assert_ge 1 "$(st 'd["source"]["unauthorized"]')" "401 counted"
	assert_contains "$(cat "$CASE_DIR/agent-n1.log")" "bearer token changed from $sa/token"
	fc POST '/objects' "$(pod_json db "$db" '{"app":"rotated"}')" >/dev/null
	changed_within n1 "$db" "$id_db" >/dev/null || fail "relabel not applied after the rotation"
	assert_eq true "$(st 'd["source"]["synced"]')" "still synced"
}

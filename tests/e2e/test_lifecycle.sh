# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The attachment lifecycle the runtime drives: DEL in every state the spec
# allows (T06-T09), CHECK (T10), GC (T12), STATUS (T11) and concurrent
# ADD/DEL (T17).

e2e_case del_netns_gone t_del_netns_gone san
e2e_case del_twice t_del_twice san
e2e_case del_stranger_fresh t_del_stranger_fresh
e2e_case check t_check san
e2e_case gc t_gc san
e2e_case status t_status san
e2e_case concurrent t_concurrent san

# T07/T08/T09: DEL after the runtime removed the pod's netns, with the old
# path and with CNI_NETNS="", with and without prevResult.
t_del_netns_gone() {
	local ip veth cid holder conf

	node_add n1 1
	mkconf "$CASE_DIR/conf" n1 1.0.0

	# (a) The path is gone but a process still holds the namespace, so
	# the veth lives on unless DEL removes it. libcni passes the cached
	# result as prevResult.
	ip=$(pod_add n1 a)
	veth=$(pod_veth n1 a)
	assert_attached n1 "$ip" "$veth"
	holder=$(hold_netns "$(pod_nspath n1 a)")
	ip netns del "$(pod_ns n1 a)"
	[[ ! -e $(pod_nspath n1 a) ]] || fail "netns path still exists"
	assert_ok pod_del n1 a
	assert_detached n1 "$ip" "$veth" "DEL (libcni) with a vanished netns path"
	stop_pid "$holder"

	# (b) The same, called directly with CNI_NETNS="" and no prevResult.
	ip=$(pod_add n1 b)
	veth=$(pod_veth n1 b)
	cid=$(record_field n1 "$ip" containerID)
	holder=$(hold_netns "$(pod_nspath n1 b)")
	ip netns del "$(pod_ns n1 b)"
	cni_run n1 "$CASE_DIR/conf" CNI_COMMAND=DEL CNI_CONTAINERID="$cid" \
		CNI_NETNS= CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_silent "DEL with CNI_NETNS=\"\""
	assert_detached n1 "$ip" "$veth" "DEL with CNI_NETNS=\"\""
	rm -f "$(node_dir n1)/pods/b.json"
	stop_pid "$holder"

	# (c) The namespace is destroyed outright (its veth end with it) and
	# DEL comes later with the stale path.
	ip=$(pod_add n1 c)
	veth=$(pod_veth n1 c)
	ip netns del "$(pod_ns n1 c)"
	assert_ok pod_del n1 c
	assert_detached n1 "$ip" "$veth" "DEL (libcni) after the netns was destroyed"

	# (d) T07 proper: the namespace still exists, CNI_NETNS is not set at
	# all; DEL must still find and remove both veth ends.
	ip=$(pod_add n1 d)
	veth=$(pod_veth n1 d)
	cid=$(record_field n1 "$ip" containerID)
	cni_run n1 "$CASE_DIR/conf" CNI_COMMAND=DEL CNI_CONTAINERID="$cid" \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_silent "DEL without CNI_NETNS"
	assert_detached n1 "$ip" "$veth" "DEL without CNI_NETNS"
	assert_eq "lo " "$(pod_links "$(pod_nspath n1 d)")" "links left in the pod"
	rm -f "$(node_dir n1)/pods/d.json"

	assert_eq "" "$(records n1)" "addresses still allocated"
	assert_eq "" "$(ep_map_ips n1)" "sl_endpoints entries left"
}

# T06: DEL twice, and DEL of containers never added: exit 0, no side effects.
t_del_twice() {
	local conf nsp ip veth keep before

	node_add n1 1
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.0.0
	keep=$(pod_add n1 keep)
	serve "$(pod_nspath n1 keep)" keep "$ECHO_PORT"

	nsp=$(netns_new n1 x)
	cni_add n1 "$conf" "$nsp" cid-x
	assert_cni_ok "ADD"
	ip=$(jget 'd["ips"][0]["address"].split("/")[0]' "$CNI_OUT_FILE")
	veth=$(jget 'd["interfaces"][0]["name"]' "$CNI_OUT_FILE")
	cni_del n1 "$conf" "$nsp" cid-x
	assert_cni_silent "first DEL"
	assert_detached n1 "$ip" "$veth" "first DEL"
	before=$(snapshot n1)

	cni_del n1 "$conf" "$nsp" cid-x
	assert_cni_silent "second DEL"
	cni_del n1 "$conf" "$nsp" cid-never-added
	assert_cni_silent "DEL of a container never added"
	cni_del n1 "$conf" /run/netns/does-not-exist cid-never-added-2
	assert_cni_silent "DEL of a container never added, netns path missing"
	# Through libcni too (no cached result: no prevResult).
	assert_ok _cnirun n1 del -netns "$nsp" -cid cid-never-added-3
	assert_ok _cnirun n1 del -netns "$nsp" -cid cid-never-added-3

	assert_eq "$before" "$(snapshot n1)" "node state after the no-op DELs"
	assert_attached n1 "$keep" "$(pod_veth n1 keep)"
	expect_echo "$(node_nspath n1)" tcp "$keep" "$ECHO_PORT" "keep:*"
	assert_ok pod_check n1 keep
}

# T06 "no side effects", taken literally: DEL of a stranger on a node where
# no ADD ever ran must not create the plugin's state directory.
t_del_stranger_fresh() {
	local conf run

	node_add n1 1
	run=$CASE_DIR/fresh-run
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.0.0 "d['runDir'] = '$run'"
	cni_del n1 "$conf" /run/netns/nowhere cid-stranger
	assert_cni_silent "DEL of a stranger"
	[[ ! -e $run ]] || fail "DEL of a stranger created $(find "$run" | tr '\n' ' ')"
}

# T10: CHECK against prevResult, right after ADD and after breaking pieces.
t_check() {
	local conf nsp ip veth ver hostroute chk

	node_add n1 1
	conf=$CASE_DIR/conf
	chk=$CASE_DIR/check.conf
	mkconf "$conf" n1 1.0.0
	nsp=$(netns_new n1 a)
	cni_add n1 "$conf" "$nsp" cid-a
	assert_cni_ok "ADD"
	cp "$CNI_OUT_FILE" "$CASE_DIR/add.json"
	ip=$(jget 'd["ips"][0]["address"].split("/")[0]' "$CASE_DIR/add.json")
	veth=$(jget 'd["interfaces"][0]["name"]' "$CASE_DIR/add.json")
	mkconf "$chk" n1 1.0.0 "d['prevResult'] = json.load(open('$CASE_DIR/add.json'))"

	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_silent "CHECK right after ADD"

	# The pod's default route.
	assert_ok ip -n "$(pod_ns n1 a)" route del default
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_error 106
	assert_ok ip -n "$(pod_ns n1 a)" route add default via "$POD_GATEWAY" dev eth0 onlink
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_silent "CHECK with the route restored"

	# The pod's address.
	assert_ok ip -n "$(pod_ns n1 a)" addr del "$ip/32" dev eth0
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_error 106
	# Losing its last address flushes the interface's neighbours (even
	# permanent ones) and routes: restore what ADD made.
	assert_ok ip -n "$(pod_ns n1 a)" addr add "$ip/32" dev eth0
	assert_ok ip -n "$(pod_ns n1 a)" neigh replace "$POD_GATEWAY" dev eth0 \
		lladdr "$(jget 'd["interfaces"][0]["mac"]' "$CASE_DIR/add.json")" nud permanent
	assert_ok ip -n "$(pod_ns n1 a)" route replace default via "$POD_GATEWAY" dev eth0 onlink
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_silent "CHECK with the address restored"

	# The host route to the pod.
	hostroute=$(node_exec n1 ip -4 route show "$ip/32" dev "$veth")
	[[ -n $hostroute ]] || fail "no host route to $ip"
	assert_ok node_exec n1 ip route del "$ip/32" dev "$veth"
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_error 106
	# shellcheck disable=SC2086 # the route line is words on purpose
	assert_ok node_exec n1 ip route add $hostroute dev "$veth"
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_silent "CHECK with the host route restored"

	# The datapath program on the host veth (not restored).
	assert_ok node_exec n1 tc filter del dev "$veth" ingress
	cni_check n1 "$chk" "$nsp" cid-a
	assert_cni_error 106

	# Without prevResult: an error, as a JSON document.
	cni_check n1 "$conf" "$nsp" cid-a
	((CNI_RC != 0)) || fail "CHECK without prevResult succeeded"
	_cni_error_fields "$CNI_OUT_FILE" >/dev/null || fail "CHECK without prevResult: $CNI_OUT"
	say "CHECK without prevResult: code $(jget 'd["code"]' "$CNI_OUT_FILE")"

	# cniVersion 0.3.1 has no CHECK.
	mkconf "$CASE_DIR/check031.conf" n1 0.3.1 \
		"d['prevResult'] = json.load(open('$CASE_DIR/add.json')); d['prevResult']['cniVersion'] = '0.3.1'"
	cni_check n1 "$CASE_DIR/check031.conf" "$nsp" cid-a
	assert_cni_error 1

	# CHECK right after ADD in the other versions that have CHECK, with the
	# prevResult in each version's shape, and through libcni.
	for ver in 0.4.0 1.1.0; do
		nsp=$(netns_new n1 "v${ver//./}")
		mkconf "$CASE_DIR/conf-$ver" n1 "$ver"
		cni_add n1 "$CASE_DIR/conf-$ver" "$nsp" "cid-$ver"
		assert_cni_ok "ADD $ver"
		cp "$CNI_OUT_FILE" "$CASE_DIR/add-$ver.json"
		mkconf "$CASE_DIR/check-$ver" n1 "$ver" \
			"d['prevResult'] = json.load(open('$CASE_DIR/add-$ver.json'))"
		cni_check n1 "$CASE_DIR/check-$ver" "$nsp" "cid-$ver"
		assert_cni_silent "CHECK $ver right after ADD"
	done
	pod_add n1 viacni >/dev/null
	assert_ok pod_check n1 viacni
}

# GC with one of the two keys (or none) and what it must leave running.
_gc_round() {
	local round=$1 key=$2 p conf ip_c veth_c edit
	local -A ip cid

	for p in a b c; do
		ip[$p]=$(pod_add n1 "$p")
		cid[$p]=$(record_field n1 "${ip[$p]}" containerID)
	done
	veth_c=$(pod_veth n1 c)
	ip_c=${ip[c]}
	conf=$CASE_DIR/gc.conf
	edit=
	if [[ -n $key ]]; then
		edit="d['$key'] = [{'containerID': '${cid[a]}', 'ifname': 'eth0'},
			{'containerID': '${cid[b]}', 'ifname': 'eth0'}]"
	fi
	# A list GC cannot read fails the request and removes nothing: read
	# as "nothing is valid" it would cut every pod off.
	mkconf "$CASE_DIR/gc-bad.conf" n1 1.1.0 \
		"d['${key:-cni.dev/valid-attachments}'] = ['${cid[a]}', '${cid[b]}']"
	cni_run n1 "$CASE_DIR/gc-bad.conf" CNI_COMMAND=GC CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 7
	assert_eq "3" "$(records n1 | wc -l)" "records after GC with a malformed list"

	mkconf "$conf" n1 1.1.0 "$edit"
	cni_run n1 "$conf" CNI_COMMAND=GC CNI_PATH="$SL_CNI_BIN"
	assert_cni_silent "GC ${key:-without a list}"

	for p in a b; do
		assert_attached n1 "${ip[$p]}" "$(pod_veth n1 $p)"
	done
	if [[ -z $key ]]; then
		# No list is not an empty list: nothing is stale.
		assert_attached n1 "$ip_c" "$veth_c"
		assert_eq "3" "$(records n1 | wc -l)" "records after GC without a list"
	else
		assert_detached n1 "$ip_c" "$veth_c" "GC with $key"
		assert_eq "2" "$(records n1 | wc -l)" "records after GC with $key"
	fi
	serve "$(pod_nspath n1 a)" "a$round" "$ECHO_PORT"
	serve "$(pod_nspath n1 b)" "b$round" "$ECHO_PORT"
	expect_echo "$(pod_nspath n1 a)" tcp "${ip[b]}" "$ECHO_PORT" "b$round:${ip[a]}"
	expect_echo "$(pod_nspath n1 b)" udp "${ip[a]}" "$ECHO_PORT" "a$round:${ip[b]}"
	assert_ok pod_check n1 a
	assert_ok pod_check n1 b
	# The runtime still sends DEL for what GC removed.
	for p in a b c; do
		assert_ok pod_del n1 $p
	done
	assert_eq "" "$(records n1)" "records after DEL"
	while read -r p; do stop_pid "$p"; done <"$CASE_DIR/pids"
}

# T12: GC frees only attachments missing from the list, under either key.
t_gc() {
	node_add n1 1
	_gc_round 1 cni.dev/valid-attachments
	_gc_round 2 cni.dev/attachments
	_gc_round 3 ""
}

# T11: STATUS is 0 exactly when an ADD could succeed.
t_status() {
	local conf nsp i plain a ip veth

	node_add n1 1
	conf=$CASE_DIR/status.conf
	mkconf "$conf" n1 1.1.0

	# A fresh node: bpffs there, nothing loaded yet (ADD loads it).
	cni_run n1 "$conf" CNI_COMMAND=STATUS CNI_PATH="$SL_CNI_BIN"
	assert_cni_silent "STATUS on a fresh node"
	a=$(pod_add n1 a)
	cni_run n1 "$conf" CNI_COMMAND=STATUS
	assert_cni_silent "STATUS with a pod"

	# bpfRoot on a plain directory, nothing pinned: ADD cannot load.
	plain=$CASE_DIR/plain
	mkdir -p "$plain/bpf"
	mkconf "$CASE_DIR/plain.conf" n1 1.1.0 \
		"d['bpfRoot'] = '$plain/bpf/sluice'; d['runDir'] = '$plain/run'"
	cni_run n1 "$CASE_DIR/plain.conf" CNI_COMMAND=STATUS
	assert_cni_error 50
	nsp=$(netns_new n1 plain)
	cni_add n1 "$CASE_DIR/plain.conf" "$nsp" cid-plain
	((CNI_RC != 0)) || fail "ADD succeeded where STATUS said 50"
	assert_eq "lo " "$(pod_links "$nsp")" "links left in the pod after the failed ADD"

	# No podCIDR and no node.json from the agent.
	mkconf "$CASE_DIR/nocidr.conf" n1 1.1.0 \
		"del d['podCIDR']; d['runDir'] = '$CASE_DIR/nocidr-run'"
	cni_run n1 "$CASE_DIR/nocidr.conf" CNI_COMMAND=STATUS
	assert_cni_error 50

	# A /30 holds two pods.
	mkconf "$CASE_DIR/small.conf" n1 1.1.0 \
		"d['podCIDR'] = '10.245.0.0/30'; d['runDir'] = '$CASE_DIR/small-run'"
	for i in 1 2; do
		nsp=$(netns_new n1 "s$i")
		cni_add n1 "$CASE_DIR/small.conf" "$nsp" "cid-s$i"
		assert_cni_ok "ADD $i into a /30"
	done
	cni_run n1 "$CASE_DIR/small.conf" CNI_COMMAND=STATUS
	assert_cni_error 50
	nsp=$(netns_new n1 s3)
	cni_add n1 "$CASE_DIR/small.conf" "$nsp" cid-s3
	assert_cni_error 100
	assert_eq "lo " "$(pod_links "$nsp")" "links left in the pod after ADD into a full pool"
	assert_eq 2 "$(find "$CASE_DIR/small-run/endpoints" -maxdepth 1 -type f -name '10.*' | wc -l)" \
		"records in the full pool"
	cni_del n1 "$CASE_DIR/small.conf" "$(pod_nspath n1 s2)" cid-s2
	assert_cni_silent "DEL in the /30"
	cni_run n1 "$CASE_DIR/small.conf" CNI_COMMAND=STATUS
	assert_cni_silent "STATUS with room again"

	# The pins gone while pods are attached: they may have lost their
	# datapath.
	veth=$(pod_veth n1 a)
	assert_attached n1 "$a" "$veth"
	rm -f "$(node_bpf_root n1)"/*
	cni_run n1 "$conf" CNI_COMMAND=STATUS
	assert_cni_error 51

	# STATUS came with 1.1.0.
	mkconf "$CASE_DIR/status100.conf" n1 1.0.0
	cni_run n1 "$CASE_DIR/status100.conf" CNI_COMMAND=STATUS
	assert_cni_error 1
}

# T17 (at 16): concurrent ADDs get distinct addresses, concurrent DELs free
# them all; the store and datapath locks hold.
t_concurrent() {
	local conf i n=16 ips
	local -a pids=()

	node_add n1 1
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.0.0
	for ((i = 0; i < n; i++)); do
		netns_new n1 "c$i" >/dev/null
		echo "n1 $conf conc-$i eth0" >>"$CASE_DIR/attachments"
	done
	# The first of these also race to load and pin the datapath.
	for ((i = 0; i < n; i++)); do
		cni_exec "$CASE_DIR/add$i" n1 "$conf" CNI_COMMAND=ADD \
			CNI_CONTAINERID="conc-$i" CNI_NETNS="$(pod_nspath n1 "c$i")" \
			CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 0; i < n; i++)); do
		CNI_OUT_FILE=$CASE_DIR/add$i.out CNI_RC=$(<"$CASE_DIR/add$i.rc")
		CNI_OUT=$(<"$CNI_OUT_FILE") CNI_ERR=$(<"$CASE_DIR/add$i.err")
		assert_cni_ok "concurrent ADD $i"
		assert_not_contains "$CNI_ERR" "error" "stderr of ADD $i"
		assert_not_contains "$CNI_ERR" "lock" "stderr of ADD $i"
		jget 'd["ips"][0]["address"].split("/")[0]' "$CNI_OUT_FILE" >>"$CASE_DIR/ips"
	done
	ips=$(sort "$CASE_DIR/ips")
	assert_eq "$n" "$(sort -u <<<"$ips" | wc -l)" "distinct addresses"
	assert_eq "$ips" "$(records n1)" "records = the addresses handed out"
	assert_eq "$ips" "$(ep_map_ips n1 | sort)" "sl_endpoints = the addresses handed out"
	assert_eq "$n" "$(node_exec n1 ip -o link show | grep -c ': sl')" "host veths"

	pids=()
	for ((i = 0; i < n; i++)); do
		cni_exec "$CASE_DIR/del$i" n1 "$conf" CNI_COMMAND=DEL \
			CNI_CONTAINERID="conc-$i" CNI_NETNS="$(pod_nspath n1 "c$i")" \
			CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 0; i < n; i++)); do
		CNI_OUT_FILE=$CASE_DIR/del$i.out CNI_RC=$(<"$CASE_DIR/del$i.rc")
		CNI_OUT=$(<"$CNI_OUT_FILE") CNI_ERR=$(<"$CASE_DIR/del$i.err")
		assert_cni_silent "concurrent DEL $i"
		assert_not_contains "$CNI_ERR" "error" "stderr of DEL $i"
	done
	assert_eq "" "$(records n1)" "records after the DELs"
	assert_eq "" "$(ep_map_ips n1)" "sl_endpoints after the DELs"
	assert_eq 0 "$(node_exec n1 ip -o link show | grep -c ': sl' || true)" "host veths after the DELs"
}

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# What the plugin reads and prints: bad inputs and their error codes (T01,
# T03, T04), results per CNI version (T13), the agent's podCIDR (T02) and
# the pod metadata from CNI_ARGS (T19). The plugin is called directly, with
# exactly the environment a case names.

e2e_case bad_inputs t_bad_inputs san
e2e_case add_rollback t_add_rollback san
e2e_case results t_results san
e2e_case agentless_cidr t_agentless_cidr san
e2e_case k8s_args t_k8s_args san

# A failed ADD leaves the node as it found it and the pod namespace empty.
_assert_no_leftover() {
	assert_eq "$BASELINE" "$(snapshot n1)" "node state after: $1"
	assert_eq "lo " "$(pod_links "$NS_B")" "links in the pod after: $1"
}

# _bad_add WHAT CODE CONF [TEXT...]: ADD into the spare namespace fails with
# CODE and leaves nothing.
_bad_add() {
	local what=$1 code=$2 conf=$3
	shift 3
	cni_add n1 "$conf" "$NS_B" cid-b
	assert_cni_error "$code" "$@"
	_assert_no_leftover "$what"
}

t_bad_inputs() {
	local good ip veth cidr ver

	node_add n1 1
	good=$CASE_DIR/good.conf
	mkconf "$good" n1 1.0.0
	# The first attachment, which nothing below may disturb (T04).
	NS_A=$(netns_new n1 a)
	cni_add n1 "$good" "$NS_A" cid-a
	assert_cni_ok "ADD"
	cp "$CNI_OUT_FILE" "$CASE_DIR/a.json"
	ip=$(jget 'd["ips"][0]["address"].split("/")[0]' "$CASE_DIR/a.json")
	veth=$(jget 'd["interfaces"][0]["name"]' "$CASE_DIR/a.json")
	cp "$(record_file n1 "$ip")" "$CASE_DIR/a.record"
	serve "$NS_A" a "$ECHO_PORT"
	NS_B=$(netns_new n1 b)
	BASELINE=$(snapshot n1)

	# Decoding (code 6): stdout must still be one JSON document.
	printf '{"cniVersion": "1.0.0", "name": ' >"$CASE_DIR/trunc.json"
	_bad_add "truncated JSON" 6 "$CASE_DIR/trunc.json"
	printf 'not json at all\n' >"$CASE_DIR/garbage.json"
	_bad_add "garbage on stdin" 6 "$CASE_DIR/garbage.json"
	printf '[1, 2]\n' >"$CASE_DIR/array.json"
	_bad_add "a JSON array" 6 "$CASE_DIR/array.json"
	{ cat "$good"; cat "$good"; } >"$CASE_DIR/two.json"
	_bad_add "two documents" 6 "$CASE_DIR/two.json"

	# The environment (code 4, naming the variable).
	cni_run n1 "$good" CNI_COMMAND=ADD CNI_CONTAINERID=cid-b \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_NETNS
	_assert_no_leftover "ADD without CNI_NETNS"
	cni_run n1 "$good" CNI_COMMAND=ADD CNI_CONTAINERID=cid-b CNI_NETNS= \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_NETNS
	_assert_no_leftover "ADD with an empty CNI_NETNS"
	cni_run n1 "$good" CNI_COMMAND=ADD CNI_CONTAINERID= CNI_NETNS="$NS_B" \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_CONTAINERID
	_assert_no_leftover "ADD with an empty CNI_CONTAINERID"
	cni_run n1 "$good" CNI_COMMAND=ADD CNI_CONTAINERID=cid/b CNI_NETNS="$NS_B" \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_CONTAINERID
	_assert_no_leftover "ADD with a '/' in CNI_CONTAINERID"
	cni_run n1 "$good" CNI_COMMAND=ADD CNI_CONTAINERID=cid-b CNI_NETNS="$NS_B" \
		CNI_IFNAME=eth0123456789abc CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_IFNAME
	_assert_no_leftover "ADD with a 16-byte CNI_IFNAME"
	cni_run n1 "$good" CNI_COMMAND=FROB CNI_CONTAINERID=cid-b CNI_NETNS="$NS_B" \
		CNI_IFNAME=eth0 CNI_PATH="$SL_CNI_BIN"
	assert_cni_error 4 CNI_COMMAND
	_assert_no_leftover "CNI_COMMAND=FROB"

	# The configuration.
	mkconf "$CASE_DIR/v999.conf" n1 9.9.9
	_bad_add "cniVersion 9.9.9" 1 "$CASE_DIR/v999.conf"
	mkconf "$CASE_DIR/noname.conf" n1 1.0.0 "del d['name']"
	_bad_add "no name" 7 "$CASE_DIR/noname.conf"
	mkconf "$CASE_DIR/badname.conf" n1 1.0.0 "d['name'] = 'bad name!'"
	_bad_add "invalid name" 7 "$CASE_DIR/badname.conf"
	for cidr in 10.244.1.1/24 10.244.1.0/33 10.0.0.0/31 300.1.1.0/24 not-a-cidr ""; do
		mkconf "$CASE_DIR/cidr.conf" n1 1.0.0 "d['podCIDR'] = '$cidr'"
		_bad_add "podCIDR '$cidr'" 7 "$CASE_DIR/cidr.conf"
	done
	for v in -1 60001 '"2000"' 1.5 true; do
		mkconf "$CASE_DIR/wait.conf" n1 1.0.0 "d['agentWaitMs'] = json.loads('$v')"
		_bad_add "agentWaitMs $v" 7 "$CASE_DIR/wait.conf" agentWaitMs
	done
	mkconf "$CASE_DIR/ipam.conf" n1 1.0.0 "d['ipam'] = {'type': 'host-local'}"
	# Code 2's message must name the key and the value.
	_bad_add "an ipam section" 2 "$CASE_DIR/ipam.conf" ipam host-local

	# VERSION needs nothing but CNI_COMMAND and echoes the input version.
	for ver in 0.4.0 1.1.0; do
		printf '{"cniVersion":"%s"}' "$ver" >"$CASE_DIR/version.json"
		cni_run n1 "$CASE_DIR/version.json" CNI_COMMAND=VERSION
		assert_cni_ok "VERSION"
		assert_eq "$ver" "$(jget 'd["cniVersion"]' "$CNI_OUT_FILE")" "VERSION echo"
		assert_eq '["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]' \
			"$(jget 'd["supportedVersions"]' "$CNI_OUT_FILE")" "supportedVersions"
	done

	# T04: a second ADD onto the same netns and ifname, with the same and
	# with another container ID, fails and leaves the first one alone.
	cni_add n1 "$good" "$NS_A" cid-a
	((CNI_RC != 0)) || fail "second ADD (same container) succeeded"
	_cni_error_fields "$CNI_OUT_FILE" >/dev/null || fail "second ADD: $CNI_OUT"
	cni_add n1 "$good" "$NS_A" cid-a2
	((CNI_RC != 0)) || fail "second ADD (other container) succeeded"
	_cni_error_fields "$CNI_OUT_FILE" >/dev/null || fail "second ADD: $CNI_OUT"
	assert_eq "$BASELINE" "$(snapshot n1)" "node state after the second ADDs"
	assert_eq "$(cat "$CASE_DIR/a.record")" "$(cat "$(record_file n1 "$ip")")" \
		"record of the first attachment"
	mkconf "$CASE_DIR/check.conf" n1 1.0.0 \
		"d['prevResult'] = json.load(open('$CASE_DIR/a.json'))"
	cni_check n1 "$CASE_DIR/check.conf" "$NS_A" cid-a
	assert_cni_silent "CHECK of the first attachment"
	expect_echo "$(node_nspath n1)" tcp "$ip" "$ECHO_PORT" "a:*"
	expect_echo "$(node_nspath n1)" udp "$ip" "$ECHO_PORT" "a:*"
	assert_attached n1 "$ip" "$veth"
}

# T05: an ADD failing after the address and the veth exist undoes both. A
# default route already in the pod makes the plugin's own route fail.
t_add_rollback() {
	local conf nsp pns before

	node_add n1 1
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.0.0
	pod_add n1 other >/dev/null
	nsp=$(netns_new n1 a)
	pns=$(pod_ns n1 a)
	ip -n "$pns" link add d0 type veth peer name d1
	ip -n "$pns" link set d0 up
	ip -n "$pns" addr add 192.0.2.1/24 dev d0
	ip -n "$pns" route add default via 192.0.2.254
	before=$(snapshot n1)

	cni_add n1 "$conf" "$nsp" cid-a
	if ((CNI_RC == 0)); then
		# Not an error the spec requires; then there is nothing to undo.
		say "ADD tolerated an existing default route: rollback not exercised"
		return 0
	fi
	_cni_error_fields "$CNI_OUT_FILE" >/dev/null || fail "failed ADD: $CNI_OUT"
	assert_eq "$before" "$(snapshot n1)" "node state after the failed ADD"
	assert_eq "d0 d1 lo " "$(pod_links "$nsp")" "links in the pod after the failed ADD"

	# The same ADD once the conflict is gone: the failure was the route.
	ip -n "$pns" route del default
	cni_add n1 "$conf" "$nsp" cid-a
	assert_cni_ok "ADD without the conflicting route"
}

# T13: the result in each version's shape, checked against the interfaces.
read -r -d '' RESULT_PY <<'PY' || true
import ipaddress, json, re, sys
ver, netns, path = sys.argv[1:4]
d = json.load(open(path))
bad = []
def want(ok, what):
    if not ok:
        bad.append(what)
want(d.get("cniVersion") == ver, "cniVersion %r" % d.get("cniVersion"))
ifs = d.get("interfaces", [])
want(len(ifs) == 2, "%d interfaces" % len(ifs))
if len(ifs) == 2:
    want(not ifs[0].get("sandbox"), "host veth has a sandbox")
    want(ifs[1].get("name") == "eth0", "interfaces[1] is %r" % ifs[1].get("name"))
    want(ifs[1].get("sandbox") == netns, "eth0 sandbox %r" % ifs[1].get("sandbox"))
    for i in ifs:
        want(re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", i.get("mac", "")),
             "mac %r" % i.get("mac"))
        if ver == "1.1.0":
            want(i.get("mtu") == 1400, "%s mtu %r" % (i.get("name"), i.get("mtu")))
ips = d.get("ips", [])
want(len(ips) == 1, "%d ips" % len(ips))
if ips:
    ip = ips[0]
    want(ip.get("interface") == 1, "ips[0].interface %r" % ip.get("interface"))
    a = ipaddress.ip_interface(ip.get("address", "0.0.0.0/0"))
    want(a.network.prefixlen == 32 and a.ip in ipaddress.ip_network("10.244.1.0/24"),
         "address %s" % ip.get("address"))
    want(ip.get("gateway") == "169.254.1.1", "gateway %r" % ip.get("gateway"))
    if ver in ("0.3.0", "0.3.1", "0.4.0"):
        want(ip.get("version") == "4", "ips[0].version %r" % ip.get("version"))
    else:
        want("version" not in ip, "ips[0].version present in %s" % ver)
want({"dst": "0.0.0.0/0", "gw": "169.254.1.1"} in d.get("routes", []),
     "routes %r" % d.get("routes"))
# No dns configured: omitted rather than empty.
want("dns" not in d, "dns %r" % d.get("dns"))
print("; ".join(bad))
PY

# link_attr NSPATH IFNAME KEY: address or mtu of a link, as ip -j shows it.
_link_attr() {
	nsenter --net="$1" ip -j link show dev "$2" | jget "d[0][\"$3\"]"
}

t_results() {
	local ver conf nsp res problems ip veth

	node_add n1 1
	for ver in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		conf=$CASE_DIR/conf-$ver
		mkconf "$conf" n1 "$ver" "d['mtu'] = 1400"
		nsp=$(netns_new n1 "r${ver//./}")
		cni_add n1 "$conf" "$nsp" "cid-$ver"
		assert_cni_ok "ADD $ver"
		res=$CASE_DIR/res-$ver.json
		cp "$CNI_OUT_FILE" "$res"
		problems=$("$PY" -IS -c "$RESULT_PY" "$ver" "$nsp" "$res")
		assert_eq "" "$problems" "result $ver: $(tr -d ' \n' <"$res")"

		# The result describes what exists.
		veth=$(jget 'd["interfaces"][0]["name"]' "$res")
		ip=$(jget 'd["ips"][0]["address"]' "$res")
		assert_eq "$(jget 'd["interfaces"][0]["mac"]' "$res")" \
			"$(_link_attr "$(node_nspath n1)" "$veth" address)" "host veth MAC ($ver)"
		assert_eq "$(jget 'd["interfaces"][1]["mac"]' "$res")" \
			"$(_link_attr "$nsp" eth0 address)" "pod eth0 MAC ($ver)"
		assert_eq 1400 "$(_link_attr "$nsp" eth0 mtu)" "pod eth0 MTU ($ver)"
		assert_eq 1400 "$(_link_attr "$(node_nspath n1)" "$veth" mtu)" "host veth MTU ($ver)"
		assert_contains "$(nsenter --net="$nsp" ip -4 -o addr show dev eth0)" \
			"inet $ip" "pod address ($ver)"
		cni_del n1 "$conf" "$nsp" "cid-$ver"
		assert_cni_silent "DEL $ver"
	done

	# And through libcni, which parses the result with its own types for
	# the conflist's version (create.Create) and converts it. The libcni
	# sl-cnirun is built with (Debian's, spec 1.0.0) has no 1.1.0 types:
	# 1.1.0 is covered by the direct calls above.
	for ver in 0.3.0 0.3.1 0.4.0 1.0.0; do
		sed -i "s/\"cniVersion\": \"[^\"]*\"/\"cniVersion\": \"$ver\"/" \
			"$(node_dir n1)/net.d/10-sluice.conflist"
		ip=$(pod_add n1 "l${ver//./}")
		assert_match '^10\.244\.1\.[0-9]+$' "$ip" "address through libcni ($ver)"
		[[ $ver == 0.3.* ]] || assert_ok pod_check n1 "l${ver//./}"
		assert_ok pod_del n1 "l${ver//./}"
	done
}

# T02: without a podCIDR in the configuration the agent's node.json is the
# source; until it exists ADD asks to be retried. (node.json is written by
# hand here: no agent runs, and agentWaitMs 0 keeps ADD from waiting for
# one; the pod then stays closed, as under an agent that is down.)
t_agentless_cidr() {
	local conf nsp ip run before

	node_add n1 1
	run=$(node_run_dir n1)
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.1.0 "del d['podCIDR']; d['agentWaitMs'] = 0"
	nsp=$(netns_new n1 a)
	before=$(snapshot n1)

	cni_add n1 "$conf" "$nsp" cid-a
	assert_cni_error 11
	assert_eq "$before" "$(snapshot n1)" "node state after ADD without a podCIDR"
	assert_eq "lo " "$(pod_links "$nsp")" "links in the pod"
	cni_run n1 "$conf" CNI_COMMAND=STATUS
	assert_cni_error 50

	# A node.json without a usable podCIDR is no better.
	echo '{"podCIDR":"10.250.0.1/24"}' >"$run/node.json"
	cni_add n1 "$conf" "$nsp" cid-a
	assert_cni_error 11
	assert_eq "lo " "$(pod_links "$nsp")" "links in the pod"

	echo '{"podCIDR":"10.250.0.0/24"}' >"$run/node.json"
	cni_run n1 "$conf" CNI_COMMAND=STATUS
	assert_cni_silent "STATUS once node.json exists"
	cni_add n1 "$conf" "$nsp" cid-a
	assert_cni_ok "ADD with the agent's podCIDR"
	ip=$(jget 'd["ips"][0]["address"]' "$CNI_OUT_FILE")
	assert_match '^10\.250\.0\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])/32$' "$ip" \
		"address from node.json's podCIDR"
	ip=${ip%/32}
	assert_attached n1 "$ip" "$(jget 'd["interfaces"][0]["name"]' "$CNI_OUT_FILE")"
	# node.json says an agent programs this node's pods: closed until
	# one does (SL_EP_F_PENDING and both isolation bits).
	assert_eq 7 "$(map_flags n1 "$ip")" "closed, waiting for an agent"
}

# T19: CNI_ARGS in any order, with unknown keys and no K8S_POD_UID.
t_k8s_args() {
	local conf nsp ip args i
	local -a want_ns=(shop kube-system) want_name=(web-7d9f5 coredns-1)

	node_add n1 1
	conf=$CASE_DIR/conf
	mkconf "$conf" n1 1.0.0
	for i in 0 1; do
		if ((i == 0)); then
			args="FOO=bar=baz;K8S_POD_NAME=${want_name[0]};IgnoreUnknown=1"
			args+=";K8S_POD_INFRA_CONTAINER_ID=cid-k0;K8S_POD_NAMESPACE=${want_ns[0]}"
		else
			args="K8S_POD_NAMESPACE=${want_ns[1]};;K8S_POD_NAME=${want_name[1]};X=;"
		fi
		nsp=$(netns_new n1 "k$i")
		cni_add n1 "$conf" "$nsp" "cid-k$i" eth0 "$args"
		assert_cni_ok "ADD with CNI_ARGS=$args"
		ip=$(jget 'd["ips"][0]["address"].split("/")[0]' "$CNI_OUT_FILE")
		assert_eq "${want_ns[$i]}" "$(record_field n1 "$ip" podNamespace)" "pod namespace in the record"
		assert_eq "${want_name[$i]}" "$(record_field n1 "$ip" podName)" "pod name in the record"
		assert_eq "cid-k$i" "$(record_field n1 "$ip" containerID)" "container ID in the record"
	done
}

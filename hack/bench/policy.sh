#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# NetworkPolicy at scale, in two parts.
#
# 1. Datapath: a client pod connects to a server pod on the same node,
#    TCP_CRR and TCP_RR (hack/bench/rr.c), with N entries in sl_policy for
#    the server (ingress, the node's own entry included) and as many for
#    the client (egress), N in BENCH_POL_COUNTS (0 100 1000 10000), plus a
#    node where no policy selects either pod (not isolated). The entries
#    are half identity rules (peers selected by namespace and pod labels:
#    pods of a made-up remote node, 10 identities x 5 ports a rule) and
#    half ipBlock rules (a /24 with an except, 5 ports of their own each,
#    so each block is a CIDR identity of its own), spread over
#    NetworkPolicies of 100 rules; the rule that lets the client in (and
#    out) is one of them, in the middle of the middle policy, by default an
#    ipBlock (BENCH_POL_ALLOW=cidr): the remote's identity misses, then its
#    address's CIDR identity hits, the longest lookup a new connection
#    makes. N=0 is that rule alone (2 entries on the server: the rule and
#    the node's, 1 on the client). The counts are read back from the pinned
#    map (bpftool) before measuring.
# 2. Propagation: on one node with N entries (BENCH_POL_PROP_COUNTS), a
#    policy letting the client reach the server's port 7001 is flipped
#    between allowing and not, BENCH_POL_TRIALS times each way, by
#    (f) rename of a manifest into the agent's folder, and (a) a POST to
#    the fake API server (build/bin/sl-fakeapi) the agent watches.
#    hack/bench/polwatch.c times each flip from the write to the first
#    new connection (one every 1 ms from the client pod) with the new
#    outcome, and to the sl_policy entry appearing or going.
#
# Every N (and the node without policy) is its own node netns with its own
# pods and agent, set up once; each repetition runs CRR then RR on all of
# them in turn, so compared runs are seconds apart (paired ratios).
#
# Environment: BENCH_REPS (5), BENCH_SECS (4, per run, plus 1 s warm-up),
# BENCH_POL_COUNTS ("0 100 1000 10000"), BENCH_POL_OPEN (1; 0 skips the
# node without policy), BENCH_POL_ALLOW (cidr | identity), BENCH_POL_PROP
# (1; 0 skips part 2), BENCH_POL_PROP_COUNTS ("0 10000"), BENCH_POL_SOURCES
# ("file api"), BENCH_POL_TRIALS (50 each way), BENCH_RETRIES (1),
# BENCH_BUSY_PCT (10), BENCH_QUIET_WAIT (30 s).
# Output: stdout and build/bench/policy.txt. About 12 minutes.
#
# sluice runs from copies of build/bin taken at the start (snapshot_bins),
# sluiced with --cgroup-root none.
set -euo pipefail

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_private_mounts "$@"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-4}
COUNTS=${BENCH_POL_COUNTS:-"0 100 1000 10000"}
OPEN=${BENCH_POL_OPEN:-1}
ALLOW=${BENCH_POL_ALLOW:-cidr}
PROP=${BENCH_POL_PROP:-1}
PROP_COUNTS=${BENCH_POL_PROP_COUNTS:-"0 10000"}
SOURCES=${BENCH_POL_SOURCES:-"file api"}
TRIALS=${BENCH_POL_TRIALS:-50}
RETRIES=${BENCH_RETRIES:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
RR_PORT=7000	# the benchmark's port, allowed by the rule in the middle
FLIP_PORT=7001	# the propagation test's, allowed by the flipped policy
POLWATCH=$BENCH_OUT/polwatch
FAKEAPI=$BENCH_BIN/sl-fakeapi

declare -A CLI_NS SRV_NS SRV_IP CLI_IP NODE DIR STATUS SETUP ENTRIES TRACE
FIRST=${COUNTS%% *}	# the baseline of the ratios
LAST=${COUNTS##* }
ENFORCING=''	# yes/no, once a node could tell
SL_NODES=0

# --- the generator (cluster, policies, counting the maps) ------------------

polgen() {
	python3 "$BENCH_WORK/polgen.py" "$@"
}

write_polgen() {
	cat >"$BENCH_WORK/polgen.py" <<'PY'
# Objects as the API server serves them, as JSON (a manifests folder reads
# .json files; the fake API server takes the same objects as its seed).
import ipaddress, json, socket, sys

NS, PEER_NSS, IDS_PER_RULE, PORTS_PER_RULE, RULES_PER_POLICY = "bench", 10, 10, 5, 100
RR_PORT, FLIP_PORT = 7000, 7001


def node(name, cidr, addr):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "InternalIP", "address": addr}]}}


def namespace(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


def pod(ns, name, node, labels, ip):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": ns, "name": name, "uid": f"uid-{ns}-{name}", "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "none"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def policy(name, select, kind, rules):
    spec = {"podSelector": {"matchLabels": select}, "policyTypes": [kind]}
    spec[kind.lower()] = rules
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": NS, "name": name}, "spec": spec}


def plan(n):
    """Identity rules making n entries: (identities, ports) each, 10 x 5
    while it fits."""
    out = []
    while n > 0:
        if n >= IDS_PER_RULE * PORTS_PER_RULE:
            r = (IDS_PER_RULE, PORTS_PER_RULE)
        elif n >= PORTS_PER_RULE:
            r = (n // PORTS_PER_RULE, PORTS_PER_RULE)
        else:
            r = (1, n)
        out.append(r)
        n -= r[0] * r[1]
    return out


def ports(first, n):
    """n ports, every other one: no two make one port prefix, so each is
    an entry of its own (endPort-like runs would be merged)."""
    return [{"protocol": "TCP", "port": first + 2 * k} for k in range(n)]


def block(b):
    net = ipaddress.ip_network(f"172.{16 + b // 256}.{b % 256}.0/24")
    return {"cidr": str(net), "except": [str(list(net.subnets(new_prefix=26))[2])]}


def own_block(idx, ips):
    """The pods' /24 less a /28 holding neither of them."""
    net = ipaddress.ip_network(f"10.244.{idx}.0/24")
    for sub in reversed(list(net.subnets(new_prefix=28))):
        if not any(ipaddress.ip_address(i) in sub for i in ips):
            return {"cidr": str(net), "except": [str(sub)]}


def split(n):
    """Of n entries of a direction, (identity ones, ipBlock ones) besides
    the node's (ingress) and the allowing rule."""
    ids = max(n - 2, 0) // 2
    return ids, max(n - 2, 0) - ids


def rules(direction, n, allow, idx, ips):
    """The rules of one direction (from/to), the allowing one in the
    middle; n entries in all."""
    peer_key = "from" if direction == "Ingress" else "to"
    id_n, cidr_n = split(n)
    if direction == "Egress" and n > 0:
        cidr_n += 1  # no node entry there
    out = []
    for g, (_, nports) in enumerate(plan(id_n)):
        out.append({peer_key: [{"namespaceSelector": {"matchLabels": {"bench-peers": "yes"}},
                                "podSelector": {"matchLabels": {"grp": f"g{g}"}}}],
                    "ports": ports(20001, nports)})
    first = 30001
    for b in range((cidr_n + PORTS_PER_RULE - 1) // PORTS_PER_RULE):
        nports = min(PORTS_PER_RULE, cidr_n - b * PORTS_PER_RULE)
        out.append({peer_key: [{"ipBlock": block(b)}], "ports": ports(first, nports)})
        first += 2 * nports
    if allow == "cidr":
        peer = {"ipBlock": own_block(idx, ips)}
    else:
        peer = {"podSelector": {"matchLabels": {"app": "client" if direction == "Ingress" else "server"}}}
    # In the middle of the middle policy (see policies()).
    k = (len(out) + RULES_PER_POLICY) // RULES_PER_POLICY // 2 * RULES_PER_POLICY
    out.insert(k + min(RULES_PER_POLICY, len(out) + 1 - k) // 2,
               {peer_key: [peer], "ports": ports(RR_PORT, 1)})
    return out


def cluster(n, nodename, idx, cli, srv):
    objs = [node(nodename, f"10.244.{idx}.0/24", f"192.168.77.{idx}"),
            node("far", "10.250.0.0/16", "192.168.77.250"),
            namespace(NS, {"bench": "yes"})]
    objs += [namespace(f"peers-{k}", {"bench-peers": "yes", "shard": str(k)}) for k in range(PEER_NSS)]
    objs.append(pod(NS, "client", nodename, {"app": "client"}, cli))
    objs.append(pod(NS, "server", nodename, {"app": "server"}, srv))
    j = 0
    for g, (ids, _) in enumerate(plan(split(n)[0])):
        for _ in range(ids):
            objs.append(pod(f"peers-{j % PEER_NSS}", f"peer-{j}", "far",
                            {"role": "peer", "grp": f"g{g}", "i": str(j)},
                            str(ipaddress.ip_address("10.250.0.1") + j)))
            j += 1
    return objs


def policies(n, allow, idx, cli, srv):
    objs = []
    for kind, sel, short in (("Ingress", "server", "in"), ("Egress", "client", "eg")):
        rs = rules(kind, n, allow, idx, [cli, srv])
        for k in range(0, len(rs), RULES_PER_POLICY):
            objs.append(policy(f"bench-{short}-{k // RULES_PER_POLICY:03d}", {"app": sel}, kind,
                               rs[k:k + RULES_PER_POLICY]))
    return objs


def flip_base():
    """The client may always leave for the server's FLIP_PORT."""
    return policy("flip-base", {"app": "client"}, "Egress",
                  [{"to": [{"podSelector": {"matchLabels": {"app": "server"}}}],
                    "ports": ports(FLIP_PORT, 1)}])


def flip(state):
    """The server's FLIP_PORT from the client (allow), or from nobody."""
    peer = "client" if state == "allow" else "nobody"
    return policy("flip", {"app": "server"}, "Ingress",
                  [{"from": [{"podSelector": {"matchLabels": {"app": peer}}}],
                    "ports": ports(FLIP_PORT, 1)}])


def items(objs):
    return {"apiVersion": "v1", "kind": "List", "items": objs}


def dump_entries(path):
    for e in json.load(open(path)):
        f = e.get("formatted", e)
        yield f["key"], f["value"]


def addr(v):
    return str(ipaddress.IPv4Address(int(v).to_bytes(4, "little")))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "manifests":  # DIR N ALLOW NODE IDX CLIENT SERVER
        d, n, allow, nodename, idx, cli, srv = args[0], args[1], args[2], args[3], int(args[4]), args[5], args[6]
        objs = cluster(0 if n == "open" else int(n), nodename, idx, cli, srv)
        json.dump(items(objs), open(f"{d}/cluster.json", "w"))
        if n != "open":
            json.dump(items(policies(int(n), allow, idx, cli, srv)), open(f"{d}/policies.json", "w"))
    elif mode == "seed":  # DIR: every object of DIR's files, one array
        import glob
        objs = []
        for f in sorted(glob.glob(f"{args[0]}/*.json")):
            o = json.load(open(f))
            objs += o["items"] if o.get("kind") == "List" else [o]
        json.dump(objs, sys.stdout)
    elif mode == "flip-base":
        json.dump(flip_base(), sys.stdout)
    elif mode == "flip":  # allow|deny
        json.dump(flip(args[0]), sys.stdout)
    elif mode == "count":  # POLICY_DUMP SERVER CLIENT: "in eg total cidr"
        ing = eg = total = 0
        for k, _ in dump_entries(args[0]):
            total += 1
            ing += addr(k["ep"]) == args[1] and k["dir"] == 0
            eg += addr(k["ep"]) == args[2] and k["dir"] == 1
        print(ing, eg, total)
    elif mode == "identity":  # ENDPOINTS_DUMP IP
        for k, v in dump_entries(args[0]):
            if addr(k["ip4"]) == args[1]:
                print(v["identity"])
    else:
        sys.exit(f"unknown mode {mode}")


main()
PY
}

# map_dump NODE MAP FILE: the pinned map as bpftool's JSON.
map_dump() {
	node_exec "$1" bpftool -j map dump pinned "$(node_bpf_root "$1")/$2" >"$3"
}

# --- nodes -----------------------------------------------------------------

name() { # COMBO: its label
	case $1 in
	open) echo "no policy" ;;
	p0) echo "0 (allow only)" ;;
	p*) echo "${1#p}" ;;
	a*) echo "api@${1#a}" ;;
	esac
}

# policy_status NODE: "compiled isolated entries inMap" or "- - - -".
policy_status() {
	ctl "$1" -o json status 2>/dev/null | jq -r \
		'.policy | "\(.compiled) \(.isolated) \(.entries) \(.inMap)"' \
		2>/dev/null || echo "- - - -"
}

# wait_policy NODE ISOLATED ENTRIES TIMEOUT PID: until the agent's last
# sync put that many entries in the maps with that many endpoints isolated.
wait_policy() {
	local node=$1 deadline=$((SECONDS + $4)) c i e m
	while ((SECONDS < deadline)); do
		read -r c i e m < <(policy_status "$node") || true
		[[ $c == true && $i == "$2" && $e == "$3" && $m == true ]] && return 0
		kill -0 "$5" 2>/dev/null || { log "sluiced on $node died"; return 1; }
		sleep 0.02
	done
	log "sluiced on $node: isolated $i, entries $e, in map $m after $4 s" \
		"(want $2, $3): $(tail -3 "$BENCH_WORK/agent-$node.log")"
	return 1
}

# want_entries N: "SERVER_INGRESS CLIENT_EGRESS" the policies of N make.
want_entries() {
	case $1 in
	open) echo "0 0" ;;
	0) echo "2 1" ;;
	*) echo "$1 $1" ;;
	esac
}

# node_up COMBO N: node, client and server pods, the manifests of N
# entries (N=open: no policy) in DIR[COMBO], rr servers on RR_PORT and
# FLIP_PORT. No agent yet.
node_up() {
	local combo=$1 n=$2 node cli srv dir port
	node=x$((++SL_NODES))
	NODE[$combo]=$node
	if ! node_add "$node" "$SL_NODES" >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! cli=$(pod_add "$node" client bench 2>>"$BENCH_WORK/x.log") ||
	   ! srv=$(pod_add "$node" server bench 2>>"$BENCH_WORK/x.log"); then
		STATUS[$combo]="failed: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	CLI_NS[$combo]=$(pod_ns "$node" client) SRV_NS[$combo]=$(pod_ns "$node" server)
	CLI_IP[$combo]=$cli SRV_IP[$combo]=$srv
	dir=$BENCH_WORK/manifests-$node
	DIR[$combo]=$dir
	mkdir -p "$dir"
	polgen manifests "$dir" "$n" "$ALLOW" "$node" "$SL_NODES" "$cli" "$srv"
	client_tune "${CLI_NS[$combo]}"
	for port in "$RR_PORT" "$FLIP_PORT"; do
		bench_bg "$BENCH_WORK/$combo.server.log" "${SRV_NS[$combo]}" \
			taskset -c 1 "$RR" server -p "$port"
		wait_listen "${SRV_NS[$combo]}" "$port" || {
			STATUS[$combo]="failed: rr server on $port did not start"
			return 1
		}
	done
}

# node_agent COMBO [SOURCE-ARGS...]: sluiced on the node's folder, or on
# SOURCE-ARGS.
declare -A AGENTS T0
node_agent() {
	local combo=$1
	shift
	(($#)) || set -- "${DIR[$combo]}"
	agent_start "${NODE[$combo]}" "$@"
	AGENTS[$combo]=$AGENT T0[$combo]=$AGENT_T0
}

# node_settle COMBO N: wait for the agent to program N's entries, then
# read them back from the pinned map; SETUP and ENTRIES say what is there.
node_settle() {
	local combo=$1 n=$2 node=${NODE[$1]} want_in want_eg iso=2 in eg total
	read -r want_in want_eg < <(want_entries "$n")
	[[ $n == open ]] && iso=0
	if ! wait_policy "$node" "$iso" $((want_in + want_eg)) 300 "${AGENTS[$combo]}"; then
		STATUS[$combo]="failed: sluiced did not program the policies (see above)"
		return 1
	fi
	SETUP[$combo]="sluiced $(secs_since "${T0[$combo]}") s from start to its entries"
	map_dump "$node" sl_policy "$BENCH_WORK/$combo.policy.json"
	read -r in eg total < <(polgen count "$BENCH_WORK/$combo.policy.json" \
		"${SRV_IP[$combo]}" "${CLI_IP[$combo]}")
	map_dump "$node" sl_policy_cidr "$BENCH_WORK/$combo.cidr.json"
	ENTRIES[$combo]="$in $eg $total $(jq length "$BENCH_WORK/$combo.cidr.json")"
	[[ $n == open ]] ||
		TRACE[$combo]=$(ctl "$node" policy trace --from bench/client --to bench/server \
			--port "$RR_PORT/TCP" 2>&1 | grep -E "^ *(ingress|egress)" | sed 's/^ */  /')
	if [[ $in != "$want_in" || $eg != "$want_eg" ]]; then
		STATUS[$combo]="failed: sl_policy holds $in ingress/$eg egress entries, want $want_in/$want_eg"
		return 1
	fi
}

# probe COMBO PORT: "allow" or "deny", a connection from the client.
probe() {
	bns_exec "${CLI_NS[$1]}" "$POLWATCH" probe -H "${SRV_IP[$1]}" -p "$2"
}

# check_enforcement COMBO: the client reaches RR_PORT; on an isolated node,
# whether FLIP_PORT (which no policy allows yet) is denied says whether the
# datapath enforces.
check_enforcement() {
	local combo=$1 r
	r=$(probe "$combo" "$RR_PORT")
	if [[ $r != allow ]]; then
		STATUS[$combo]="failed: the client cannot reach the server's port $RR_PORT ($r)"
		return 1
	fi
	[[ $combo == open || -n $ENFORCING ]] && return 0
	r=$(probe "$combo" "$FLIP_PORT")
	ENFORCING=$([[ $r == deny ]] && echo yes || echo no)
	log "datapath enforces NetworkPolicy: $ENFORCING (a port no rule allows: $r)"
}

# --- report ----------------------------------------------------------------

# ratio_row LABEL A B [GOAL]: CRR and RR ratios of A over B, and whether
# both meet GOAL.
ratio_row() {
	local res=$BENCH_WORK/res c r verdict=""
	[[ -z ${STATUS[$2]:-} && -z ${STATUS[$3]:-} && -f $res/$2.crr && -f $res/$3.crr ]] ||
		return 0
	c=$(ratio "$(res_med "$res/$2.crr")" "$(res_med "$res/$3.crr")")
	r=$(ratio "$(res_med "$res/$2.rr")" "$(res_med "$res/$3.rr")")
	if [[ -n ${4:-} ]]; then
		verdict=$(awk -v c="$c" -v r="$r" -v g="$4" 'BEGIN {
			print (c != "-" && r != "-" && c >= g && r >= g) ? "met" : "NOT met" }')
		verdict="goal >= $4: $verdict"
	fi
	printf '%-30s %-26s %-26s %s\n' "$1" \
		"$c ($(res_paired "$res/$2.crr" "$res/$3.crr"))" \
		"$r ($(res_paired "$res/$2.rr" "$res/$3.rr"))" "$verdict"
}

us() { # FILE COL: the median of a latency column, 1 decimal
	awk -v v="$(res_med "$1" "$2")" 'BEGIN {
		if (v == "-") print "-"; else printf "%.1f\n", v }'
}

report() {
	local combo res=$BENCH_WORK/res s t noisy=0 base=p$FIRST in eg total cidr
	echo "sluice NetworkPolicy benchmark: pod -> pod on the same node, N sl_policy entries"
	echo "for the server (ingress) and the client (egress); the allowing rule in the"
	echo "middle, by $([[ $ALLOW == cidr ]] && echo "ipBlock (identity lookups miss, then the CIDR identity hits)" ||
		echo "identity (the client's own)")"
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $REPS reps x ${SECS} s (+1 s warm-up), client CPU0, server CPU1"
	echo "start: $START_ENV"
	echo "end:   $(bench_env_line)"
	echo "sluice: $BUILD_INFO"
	echo "datapath enforces NetworkPolicy: ${ENFORCING:-not checked}$([[ $ENFORCING == no ]] &&
		echo " (a port no rule allows was reached: the entries are in the maps, not used)")"
	echo
	echo "Median [min-max] over the clean runs, n clean/all (* = none clean, all used);"
	echo "latency: median over the runs of each run's percentile (us); entries as"
	echo "bpftool reads the pinned maps: server ingress / client egress / sl_policy / sl_policy_cidr"
	printf '%-16s %-22s %-26s %-26s %7s %7s %7s %7s\n' entries "in/eg/all/cidr" \
		"TCP_CRR (conn/s)" "TCP_RR (trans/s)" "CRR p50" "CRR p99" "RR p50" "RR p99"
	for combo in "${COMBOS[@]}"; do
		if [[ -n ${STATUS[$combo]:-} ]]; then
			printf '%-16s %s\n' "$(name "$combo")" "${STATUS[$combo]}"
			continue
		fi
		read -r in eg total cidr <<<"${ENTRIES[$combo]}"
		printf '%-16s %-22s %-26s %-26s %7s %7s %7s %7s\n' "$(name "$combo")" \
			"$in/$eg/$total/$cidr" "$(res_cell "$res/$combo.crr")" \
			"$(res_cell "$res/$combo.rr")" "$(us "$res/$combo.crr" 3)" \
			"$(us "$res/$combo.crr" 4)" "$(us "$res/$combo.rr" 3)" \
			"$(us "$res/$combo.rr" 4)"
	done
	echo
	echo "Ratios of the medians, and in brackets the median [min-max] of the"
	echo "per-repetition (paired) ratios"
	printf '%-30s %-26s %-26s\n' "" TCP_CRR TCP_RR
	for combo in "${COMBOS[@]}"; do
		[[ $combo == open || $combo == "$base" ]] && continue
		ratio_row "$(name "$combo") / $(name "$base")" "$combo" "$base" \
			"$([[ $combo == "p$LAST" ]] && echo 0.97)"
	done
	if [[ $OPEN == 1 ]]; then
		ratio_row "$(name "$base") / no policy" "$base" open
		ratio_row "$(name "p$LAST") / no policy" "p$LAST" open
	fi
	echo
	echo "Setup (each its own node netns, loaded once):"
	for combo in "${COMBOS[@]}"; do
		[[ -n ${SETUP[$combo]:-} ]] && printf '  %-16s %s\n' "$(name "$combo")" "${SETUP[$combo]}"
	done
	combo=p$LAST
	[[ -n ${TRACE[$combo]:-} ]] &&
		printf 'sluicectl policy trace of the measured connection at %s entries:\n%s\n' \
			"$LAST" "${TRACE[$combo]}"
	echo "Clean run: other processes used at most ${BUSY_PCT}% of a CPU while it ran;" \
		"$(wc -l <"$res/redone") runs redone, $(cat "$res"/*.rr "$res"/*.crr \
		2>/dev/null | awk '$6 == 0' | wc -l) kept busy."
	for combo in "${COMBOS[@]}"; do
		for t in crr rr; do
			[[ -f $res/$combo.$t ]] || continue
			s=$(res_spread "$res/$combo.$t")
			if ((s > 10)); then
				echo "noisy: $(name "$combo") $t spread ${s}% of the median"
				noisy=1
			fi
		done
		[[ -s $BENCH_WORK/$combo.errors ]] &&
			echo "failed runs in $(name "$combo"): see $combo.errors"
	done
	((noisy)) && echo "(spread above 10%: trust the paired ratios' ranges)"
	return 0
}

# --- propagation -----------------------------------------------------------

# flip_file DIR STATE: the flipped policy in STATE, as DIR/.flip.tmp.
flip_file() {
	polgen flip "$2" >"$1/.flip.tmp"
}

# prop_prepare COMBO: flip-base and the flip (denying) in place, settled.
prop_prepare() {
	local combo=$1 node=${NODE[$1]} i e
	read -r _ i e _ < <(policy_status "$node")
	polgen flip-base >"${DIR[$combo]}/.base.tmp"
	mv "${DIR[$combo]}/.base.tmp" "${DIR[$combo]}/flip-base.json"
	flip_file "${DIR[$combo]}" deny
	mv "${DIR[$combo]}/.flip.tmp" "${DIR[$combo]}/flip.json"
	wait_policy "$node" "$i" $((e + 1)) 60 "${AGENTS[$combo]}"
}

# prop_trials COMBO SOURCE: TRIALS flips each way; appends "DIR CONN MAP
# WRITE" (us) lines to prop/COMBO.SOURCE.
SPORT=10000
prop_trials() {
	local combo=$1 src=$2 node=${NODE[$1]} dir=${DIR[$1]} id out state k
	local conn=() write=() f=$BENCH_WORK/prop/$1.$2
	map_dump "$node" sl_endpoints "$BENCH_WORK/eps.json"
	id=$(polgen identity "$BENCH_WORK/eps.json" "${CLI_IP[$combo]}")
	[[ $ENFORCING == yes ]] && conn=(-H "${SRV_IP[$combo]}" -n "/run/netns/${CLI_NS[$combo]}")
	for ((k = 0; k < 2 * TRIALS; k++)); do
		state=$( ((k % 2)) && echo deny || echo allow)
		flip_file "$dir" "$state"
		if [[ $src == file ]]; then
			write=(-r "$dir/.flip.tmp" "$dir/flip.json")
		else
			write=(-u "$FAKE_URL/objects" -f "$dir/.flip.tmp")
		fi
		if ! out=$(node_exec "$node" "$POLWATCH" flip "${conn[@]}" -p "$FLIP_PORT" \
			-s "$SPORT" -m "$(node_bpf_root "$node")/sl_policy" \
			-e "${SRV_IP[$combo]}" -I "$id" "${write[@]}" 2>&1); then
			log "$(name "$combo") $src trial $k: $out"
			echo "$state - - -" >>"$f"
			sleep 1
			continue
		fi
		SPORT=$(field "$out" sport)
		echo "$state $(field "$out" conn_us) $(field "$out" map_us) $(field "$out" write_us)" >>"$f"
		printf '.' >&2
		sleep 0.2
	done
	echo >&2
}

# api_node COUNT: a node whose agent reads the fake API server, seeded with
# COUNT's objects (flip-base and the denying flip included).
api_node() {
	local combo=a$1 n=$1 node api
	node_up "$combo" "$n" || return 1
	node=${NODE[$combo]}
	polgen flip-base >"${DIR[$combo]}/flip-base.json"
	polgen flip deny >"${DIR[$combo]}/flip.json"
	polgen seed "${DIR[$combo]}" >"$BENCH_WORK/seed-$combo.json"
	api=$BENCH_WORK/api-$combo
	mkdir -p "$api"
	bench_bg "$BENCH_WORK/fakeapi-$combo.log" "$(node_ns "$node")" \
		"$FAKEAPI" -state "$api" -seed "$BENCH_WORK/seed-$combo.json"
	for ((i = 0; i < 250; i++)); do
		[[ -s $api/control.url ]] && break
		sleep 0.02
	done
	[[ -s $api/control.url ]] || { STATUS[$combo]="failed: sl-fakeapi did not start"; return 1; }
	FAKE_URL=$(cat "$api/control.url")
	node_agent "$combo" --kubeconfig "$api/kubeconfig"
	local want_in want_eg
	read -r want_in want_eg < <(want_entries "$n")
	wait_policy "$node" 2 $((want_in + want_eg + 1)) 300 "$AGENT" || {
		STATUS[$combo]="failed: sluiced on the API did not program the policies"
		return 1
	}
	SETUP[$combo]="sluiced (API source) $(secs_since "$AGENT_T0") s from start to its entries"
}

# prop_line LABEL FILE COL [STATE]: p50/p99/max of column COL over the
# trials (those flipping to STATE), and how many gave a number.
prop_line() {
	local v=$BENCH_WORK/prop/vals a b c all
	awk -v c="$3" -v s="${4:-}" 's == "" || $1 == s { n++; if ($c ~ /^-?[0-9]+$/) print $c }
		END { print n + 0 >"/dev/stderr" }' "$2" >"$v" 2>"$v.n"
	all=$(cat "$v.n")
	if [[ ! -s $v ]]; then
		printf '  %-44s %7s %7s %7s %4d/%d\n' "$1" - - - 0 "$all"
		return 0
	fi
	read -r a b c < <(ms_pcts "$v")
	printf '  %-44s %7s %7s %7s %4d/%d\n' "$1" "$a" "$b" "$c" "$(wc -l <"$v")" "$all"
}

prop_report() {
	local n src f combo tag allf=$BENCH_WORK/prop/all
	echo "Propagation: a policy write to enforcement, ms from the write (rename, or"
	echo "the POST's first byte) to the first new connection with the new outcome"
	echo "(one new connection every 1 ms from the client: datapath-observed) and to"
	echo "the sl_policy entry appearing/going (map-observed, polled every 50 us);"
	echo "$TRIALS flips each way per row, the node's other entries as in the table"
	printf '  %-44s %7s %7s %7s %s\n' "" p50 p99 max trials
	for n in $PROP_COUNTS; do
		for src in $SOURCES; do
			if [[ $src == file ]]; then combo=p$n tag="file (rename)"; else combo=a$n tag="API (watch)"; fi
			f=$BENCH_WORK/prop/$combo.$src
			if [[ -n ${STATUS[$combo]:-} || ! -f $f ]]; then
				printf '  %s, %s entries: %s\n' "$tag" "$n" "${STATUS[$combo]:-not run}"
				continue
			fi
			echo " $tag, $n entries:"
			if [[ $ENFORCING == yes ]]; then
				prop_line "datapath, deny -> allow" "$f" 2 allow
				prop_line "datapath, allow -> deny" "$f" 2 deny
				prop_line "datapath, both" "$f" 2
				awk '$2 ~ /^[0-9]+$/ { print $2 }' "$f" >>"$allf"
			fi
			prop_line "sl_policy, entry added" "$f" 3 allow
			prop_line "sl_policy, entry removed" "$f" 3 deny
			prop_line "the write itself" "$f" 4
		done
	done
	if [[ $ENFORCING == yes && -s $allf ]]; then
		local p99
		p99=$(awk -v v="$(pctl "$allf" 99)" 'BEGIN { printf "%.1f", v / 1000 }')
		echo "Goal: datapath-observed p99 < 200 ms: $p99 ms over all rows," \
			"$(awk -v p="$p99" 'BEGIN { print p < 200 ? "met" : "NOT met" }')" \
			"(Cilium's scalability report: up to 600 ms)"
	else
		echo "Goal: datapath-observed p99 < 200 ms: not measured (the datapath does" \
			"not enforce yet; map-observed only)"
	fi
}

propagation() {
	local n src combo
	mkdir -p "$BENCH_WORK/prop"
	for n in $PROP_COUNTS; do
		for src in $SOURCES; do
			if [[ $src == file ]]; then
				combo=p$n
				if [[ -n ${STATUS[$combo]:-} || -z ${NODE[$combo]:-} ]]; then
					STATUS[$combo]=${STATUS[$combo]:-"not set up (not in BENCH_POL_COUNTS)"}
					continue
				fi
				log "propagation, file source, $(name "$combo")"
				prop_prepare "$combo" || { STATUS[$combo]="failed: flip-base did not settle"; continue; }
			else
				combo=a$n
				log "propagation, API source, $n entries: setting up"
				[[ -x $FAKEAPI ]] || make -s -C "$BENCH_TOP" build/bin/sl-fakeapi >/dev/null ||
					{ STATUS[$combo]="failed: no sl-fakeapi"; continue; }
				api_node "$n" || { log "${STATUS[$combo]}"; continue; }
			fi
			prop_trials "$combo" "$src"
		done
	done
}

# --- main ----------------------------------------------------------------

main() {
	local n c t
	bench_init policy
	bench_build
	for t in jq python3 bpftool taskset; do
		command -v "$t" >/dev/null || { log "$t is missing"; exit 1; }
	done
	if [[ ! -x $POLWATCH || $BENCH_TOP/hack/bench/polwatch.c -nt $POLWATCH ]]; then
		gcc -O2 -Wall -Wextra -Werror -I"$BENCH_TOP/include" -pthread \
			-o "$POLWATCH" "$BENCH_TOP/hack/bench/polwatch.c" -lbpf
	fi
	mkdir -p "$BENCH_WORK/res" "$BENCH_OUT"
	: >"$BENCH_WORK/res/redone"
	write_polgen
	BUILD_INFO="no sluice build"
	snapshot_bins
	[[ -n $SNAP ]] || { log "build/bin/sluice, sluiced or sluicectl is missing (run make first)"; exit 1; }
	START_ENV=$(bench_env_line)
	cluster_start

	COMBOS=()
	((OPEN)) && COMBOS+=(open)
	for n in $COUNTS; do COMBOS+=("p$n"); done
	for c in "${COMBOS[@]}"; do
		n=${c#p}
		log "setting up $(name "$c")"
		if ! node_up "$c" "$n" || ! node_agent "$c" ||
		   ! node_settle "$c" "$n" || ! check_enforcement "$c"; then
			log "${STATUS[$c]}"
		fi
	done

	for ((REP = 1; REP <= REPS; REP++)); do
		for t in crr rr; do
			printf 'rep %d/%d %-4s' "$REP" "$REPS" "$t" >&2
			for c in "${COMBOS[@]}"; do
				[[ -n ${STATUS[$c]:-} ]] && continue
				printf ' %s' "$c" >&2
				rr_measure "$c" "$t" "${CLI_NS[$c]}" "${SRV_IP[$c]}" "$RR_PORT"
			done
			echo >&2
		done
	done
	report | tee "$BENCH_OUT/policy.txt"

	if [[ $PROP == 1 ]]; then
		propagation
		{ echo; prop_report; } | tee -a "$BENCH_OUT/policy.txt"
	fi
}

main "$@"

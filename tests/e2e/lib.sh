# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The end-to-end library, sourced by run.sh inside its private namespaces on
# top of hack/lib/cluster.sh (nodes and pods as network namespaces):
#
#   assertions       fail, assert_eq/_ne/_match/_contains/_ge, assert_ok/_fail
#   plugin calls     mkconf, cni_run/cni_exec (env + stdin, as libcni's
#                    invoke package runs a plugin), cni_add/cni_del/cni_check,
#                    assert_cni_ok/_silent/_error
#   traffic          serve (TCP+UDP echo server), probe, expect_echo,
#                    expect_no_echo, server_saw
#   datapath state   metric REASON DIR (sl_metrics by drop.h name),
#                    ep_map_ips (sl_endpoints), assert_attached/_detached,
#                    snapshot
#
# Every case runs in its own bash process: case_setup gives it a state
# directory and a cluster id, and case_teardown, its EXIT trap, removes every
# process, attachment, namespace and mount the case made, failing the case
# when something survives. Nothing here touches the network namespace it is
# called from: the plugin, bpftool and every probe run inside a node or pod
# namespace.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
E2E_TOP=${E2E_TOP:-$(cd "$E2E_DIR/../.." && pwd)}
SLUICE_BIN=${SLUICE_BIN:-$E2E_TOP/build/bin/sluice}
# libcni looks the plugin up by its type, "sluice", in this directory.
SL_CNI_BIN=$(dirname "$SLUICE_BIN")
SL_BIN=${SL_BIN:-$E2E_TOP/build/bin}
# shellcheck source=../../hack/lib/cluster.sh
source "$E2E_TOP/hack/lib/cluster.sh"

# The interpreter itself, not a version manager's shim in front of it, and
# run with -IS (no site packages, no PYTHON* variables; the helpers need only
# the standard library): the suite starts Python several hundred times.
PY=${E2E_PY:-$(python3 -c 'import sys; print(sys.executable)')}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-3}
# A probe that must not be answered: long enough for a local veth round
# trip (microseconds), short enough to keep the suite fast.
NEG_TIMEOUT=${NEG_TIMEOUT:-1}
# Used by the test files: the pods' gateway (SL_POD_GATEWAY in
# include/sluice/endpoint.h) and the port every echo server listens on.
# shellcheck disable=SC2034
POD_GATEWAY=169.254.1.1
# shellcheck disable=SC2034
ECHO_PORT=7000
# Extra environment for every direct plugin call (sanitizer options).
SAN_ENV=()

# --- assertions --------------------------------------------------------------

# The first caller outside this file: where a case asserted.
_where() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		[[ ${BASH_SOURCE[$i]} == */lib.sh ]] && continue
		echo "${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
		return
	done
	echo "?"
}

say() { printf '[%s] %s\n' "${EPOCHREALTIME}" "$*" >&2; }

fail() {
	printf 'FAIL [%s]: %s\n' "$(_where)" "$*" >&2
	exit 1
}

# The ERR trap of a case (set -E): which plain command failed, and where.
_on_err() {
	echo "error: \"${2%%$'\n'*}\" failed (rc=$1) at ${3##*/}:$4" >&2
}

assert_eq() {
	[[ $1 == "$2" ]] || fail "${3:-values differ}: want '$1', got '$2'"
}

assert_ne() {
	[[ $1 != "$2" ]] || fail "${3:-values equal}: both '$1'"
}

assert_match() {
	[[ $2 =~ $1 ]] || fail "${3:-no match}: '$2' does not match /$1/"
}

assert_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-missing text}: '$2' not in '$1'"
}

assert_not_contains() {
	[[ $1 != *"$2"* ]] || fail "${3:-unexpected text}: '$2' found in '$1'"
}

assert_ge() {
	(($2 >= $1)) || fail "${3:-too small}: want >= $1, got $2"
}

assert_ok() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	((rc == 0)) || fail "command failed (rc=$rc): $* -- $out"
}

assert_fail() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	((rc != 0)) || fail "command succeeded, should have failed: $* -- $out"
}

# wait_for SECONDS CMD...: poll until CMD succeeds; 1 on timeout.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS <= deadline)) || return 1
		sleep 0.05
	done
}

# jget EXPR [FILE]: a value out of a JSON document (FILE or stdin), EXPR being
# a Python expression over `d`. Strings print raw, the rest as JSON.
jget() {
	"$PY" -IS -c '
import json, sys
src = open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin
d = json.load(src)
v = eval(sys.argv[1], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
' "$@"
}

token() { echo "tk-$SRANDOM-$SRANDOM"; }

# --- case lifecycle ----------------------------------------------------------

# case_setup NAME: state directory, cluster id and teardown trap of a case.
# E2E_WORK, E2E_CASE_ID and E2E_SAN_MODE come from run.sh.
case_setup() {
	CASE=$1
	CASE_DIR=$E2E_WORK/state/$CASE${E2E_SAN_MODE:+-san}
	rm -rf "$CASE_DIR"
	mkdir -p "$CASE_DIR/cluster"
	: >"$CASE_DIR/pids"
	: >"$CASE_DIR/attachments"
	# A fixed, run-specific id instead of cluster_init's random one: every
	# namespace of this case is then "sl-<id>-…" and run.sh can prove from
	# outside that none survived.
	echo "$E2E_CASE_ID" >"$CASE_DIR/cluster/id"
	SL_STATE=$CASE_DIR/cluster
	cluster_init "$CASE"
	if [[ -n ${E2E_SAN_MODE:-} ]]; then
		mkdir -p "$CASE_DIR/san"
		# Reports go to files so a report from a plugin run by libcni
		# (whose stderr is not ours to read) still fails the case.
		export ASAN_OPTIONS="log_path=$CASE_DIR/san/asan:detect_leaks=1:halt_on_error=1"
		export UBSAN_OPTIONS="log_path=$CASE_DIR/san/ubsan:print_stacktrace=1:halt_on_error=1"
		SAN_ENV=("ASAN_OPTIONS=$ASAN_OPTIONS" "UBSAN_OPTIONS=$UBSAN_OPTIONS")
	fi
	trap case_teardown EXIT
	# Turn timeout(1)'s SIGTERM into an exit so the teardown still runs.
	trap 'exit 143' TERM INT
}

case_teardown() {
	local rc=$? pid node conf cid ifname left="" f
	set +e
	trap - ERR
	if ((rc != 0)); then
		for f in "$SL_STATE"/nodes/*/run/cni.log "$CASE_DIR"/agent-*.log; do
			[[ -f $f ]] || continue
			echo "--- last lines of $f"
			tail -n 25 "$f"
		done
	fi
	while read -r pid; do
		[[ -n $pid ]] && kill "$pid" 2>/dev/null
	done <"$CASE_DIR/pids"
	while read -r pid; do
		[[ -n $pid ]] || continue
		# Under load a clean exit may take longer; a KILL then, and
		# time for it to land, before calling the process left over.
		wait_for 2 _pid_gone "$pid" ||
			{ kill -KILL "$pid" 2>/dev/null; wait_for 3 _pid_gone "$pid"; }
	done <"$CASE_DIR/pids"
	# Direct attachments first, then the libcni pods, namespaces and bpffs
	# mounts of cluster_down.
	while read -r node conf cid ifname; do
		[[ -n $node && -f $conf ]] || continue
		cni_exec "$CASE_DIR/teardown" "$node" "$conf" CNI_COMMAND=DEL \
			CNI_CONTAINERID="$cid" CNI_IFNAME="$ifname" \
			CNI_NETNS= CNI_PATH="$SL_CNI_BIN"
	done <"$CASE_DIR/attachments"
	cluster_down >/dev/null 2>&1

	left+=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$SL_PFX-" | tr '\n' ' ')
	left+=$(awk -v d="$CASE_DIR" 'index($2, d) == 1 {print $2}' /proc/self/mounts | tr '\n' ' ')
	while read -r pid; do
		[[ -n $pid ]] && ! _pid_gone "$pid" && left+="pid:$pid "
	done <"$CASE_DIR/pids"
	if [[ -n $left ]]; then
		echo "FAIL [teardown]: left behind: $left"
		((rc == 0)) && rc=1
	fi
	if [[ -d $CASE_DIR/san ]] && [[ -n $(ls -A "$CASE_DIR/san") ]]; then
		echo "FAIL [sanitizer]: reports from the plugin:"
		cat "$CASE_DIR"/san/*
		((rc == 0)) && rc=1
	fi
	rm -rf "$CASE_DIR"
	exit "$rc"
}

# Gone, or a zombie its parent (this shell) has not reaped yet.
_pid_gone() {
	! kill -0 "$1" 2>/dev/null ||
		[[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) == Z ]]
}

# --- namespaces ----------------------------------------------------------------

node_nspath() { echo "/run/netns/$(node_ns "$1")"; }
pod_nspath() { echo "/run/netns/$(pod_ns "$1" "$2")"; }
node_index() { cat "$(node_dir "$1")/index"; }

# netns_new NODE POD: an empty pod namespace for direct plugin calls; prints
# its path. Named like cluster.sh's pods, so cluster_down removes it.
netns_new() {
	local ns
	ns=$(pod_ns "$1" "$2")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	echo "/run/netns/$ns"
}

# hold_netns NSPATH: keep a namespace alive after its name is removed, as a
# container process would; prints the holder's pid.
hold_netns() {
	nsenter --net="$1" sleep 600 </dev/null >/dev/null 2>&1 &
	echo $! >>"$CASE_DIR/pids"
	echo $!
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait_for 2 _pid_gone "$1" || kill -KILL "$1" 2>/dev/null || true
}

# --- direct plugin calls --------------------------------------------------------

# mkconf OUT NODE VERSION [PYTHON]: the request configuration libcni derives
# from the node's conflist (cniVersion and name added to the plugin object).
# PYTHON statements may edit it as the dict `d` (`json` is imported).
mkconf() {
	local out=$1 node=$2 ver=$3 edit=${4:-}
	"$PY" -IS - "$out" "$ver" "$(node_index "$node")" "$(node_bpf_root "$node")" \
		"$(node_run_dir "$node")" "$edit" <<'PY'
import json, sys
out, ver, idx, bpf, run, edit = sys.argv[1:7]
d = {"cniVersion": ver, "name": "sluice", "type": "sluice",
     "podCIDR": "10.244.%s.0/24" % idx, "bpfRoot": bpf, "runDir": run,
     "mtu": 1500}
exec(edit)
with open(out, "w") as f:
    json.dump(d, f)
PY
}

# cni_exec PREFIX NODE CONF VAR=VALUE...: run the plugin in NODE's netns
# with exactly the given variables (plus PATH and sanitizer options) and
# CONF on stdin; PREFIX.out, PREFIX.err and PREFIX.rc receive the outcome.
# Never fails itself: safe to run in the background.
cni_exec() {
	local prefix=$1 node=$2 conf=$3 rc=0
	shift 3
	node_exec "$node" env -i PATH="$PATH" "${SAN_ENV[@]}" "$@" \
		"$SLUICE_BIN" <"$conf" >"$prefix.out" 2>"$prefix.err" || rc=$?
	echo "$rc" >"$prefix.rc"
}

# cni_run NODE CONF VAR=VALUE...: cni_exec in the foreground; sets CNI_RC,
# CNI_OUT and CNI_OUT_FILE (a copy survives the next call under CNI_SAVE).
cni_run() {
	local node=$1 conf=$2
	shift 2
	CNI_OUT_FILE=$CASE_DIR/last.out
	cni_exec "$CASE_DIR/last" "$node" "$conf" "$@"
	CNI_RC=$(<"$CASE_DIR/last.rc")
	CNI_OUT=$(<"$CASE_DIR/last.out")
	CNI_ERR=$(<"$CASE_DIR/last.err")
	say "plugin $* <$(basename "$conf") -> rc=$CNI_RC $(tr -s ' \n' ' ' <"$CNI_OUT_FILE" | cut -c1-300)"
}

# cni_add NODE CONF NETNS CID [IFNAME] [CNI_ARGS]
cni_add() {
	local node=$1 conf=$2 netns=$3 cid=$4 ifname=${5:-eth0} args=${6-}
	echo "$node $conf $cid $ifname" >>"$CASE_DIR/attachments"
	cni_run "$node" "$conf" CNI_COMMAND=ADD CNI_CONTAINERID="$cid" \
		CNI_NETNS="$netns" CNI_IFNAME="$ifname" CNI_PATH="$SL_CNI_BIN" \
		${args:+"CNI_ARGS=$args"}
}

# cni_del NODE CONF NETNS CID [IFNAME]
cni_del() {
	cni_run "$1" "$2" CNI_COMMAND=DEL CNI_CONTAINERID="$4" CNI_NETNS="$3" \
		CNI_IFNAME="${5:-eth0}" CNI_PATH="$SL_CNI_BIN"
}

# cni_check NODE CONF NETNS CID [IFNAME]
cni_check() {
	cni_run "$1" "$2" CNI_COMMAND=CHECK CNI_CONTAINERID="$4" CNI_NETNS="$3" \
		CNI_IFNAME="${5:-eth0}" CNI_PATH="$SL_CNI_BIN"
}

# Success with a result: exit 0 and stdout exactly one JSON object.
assert_cni_ok() {
	((CNI_RC == 0)) || fail "${1:-plugin call} failed (rc=$CNI_RC): $CNI_OUT $CNI_ERR"
	_json_one "$CNI_OUT_FILE" >/dev/null ||
		fail "${1:-plugin call}: stdout is not one JSON object: $CNI_OUT"
}

# Success without a result (DEL, CHECK, GC, STATUS): exit 0, empty stdout.
assert_cni_silent() {
	((CNI_RC == 0)) || fail "${1:-plugin call} failed (rc=$CNI_RC): $CNI_OUT $CNI_ERR"
	[[ -z $CNI_OUT ]] || fail "${1:-plugin call}: printed on success: $CNI_OUT"
}

# assert_cni_error CODE [TEXT...]: exit != 0, stdout exactly one CNI error
# document with that code, and each TEXT in its msg or details.
assert_cni_error() {
	local code=$1 got text t
	shift
	((CNI_RC != 0)) || fail "plugin succeeded, want error code $code: $CNI_OUT"
	got=$(_cni_error_fields "$CNI_OUT_FILE") || fail "$got"
	text=${got#*$'\n'}
	assert_eq "$code" "${got%%$'\n'*}" "CNI error code (msg+details: $text)"
	for t in "$@"; do
		assert_contains "$text" "$t" "error message"
	done
}

_json_one() {
	"$PY" -IS -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert isinstance(d, dict)
' "$1" 2>&1
}

# Prints code, newline, "msg details"; fails naming what is wrong.
_cni_error_fields() {
	"$PY" -IS -c '
import json, sys
txt = open(sys.argv[1]).read()
try:
    d = json.loads(txt)
except ValueError as e:
    sys.exit("stdout is not exactly one JSON document (%s): %r" % (e, txt))
if not isinstance(d, dict):
    sys.exit("stdout is not a JSON object: %r" % txt)
for k, t in (("code", int), ("msg", str), ("cniVersion", str)):
    if not isinstance(d.get(k), t) or isinstance(d.get(k), bool):
        sys.exit("error result has no valid %s: %r" % (k, txt))
print(d["code"])
print(d["msg"] + " " + str(d.get("details", "")))
' "$1" 2>&1
}

# --- traffic -------------------------------------------------------------------

# An echo server on TCP and UDP PORT; answers "<name>:<source address>:<data>"
# so a client sees whom it reached and that its address arrived unchanged,
# and logs every request, so a test can prove a packet never arrived.
read -r -d '' ECHO_PY <<'PY' || true
import socket, sys, threading
name, port, logp, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
log = open(logp, "a", buffering=1)
lock = threading.Lock()
def note(proto, src, data):
    with lock:
        log.write("%s %s %s\n" % (proto, src, data.decode(errors="replace")))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port))
t.listen(128)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", port))
def conn(c, a):
    try:
        c.settimeout(10)
        buf = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            buf += b
        note("tcp", a[0], buf)
        c.sendall(("%s:%s:" % (name, a[0])).encode() + buf)
    except OSError:
        pass
    finally:
        c.close()
def tcp():
    while True:
        c, a = t.accept()
        threading.Thread(target=conn, args=(c, a), daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
open(ready, "w").close()
while True:
    data, a = u.recvfrom(65535)
    note("udp", a[0], data)
    u.sendto(("%s:%s:" % (name, a[0])).encode() + data, a)
PY

# The client: one request, the reply on stdout; exit 1 when none came in
# time. UDP resends every 0.5 s until the deadline, TCP sends once.
read -r -d '' CLIENT_PY <<'PY' || true
import socket, sys, time
proto, dst, port, token, src, tmo = sys.argv[1:7]
port, tmo = int(port), float(tmo)
deadline = time.monotonic() + tmo
try:
    if proto == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if src:
            s.bind((src, 0))
        s.settimeout(tmo)
        s.connect((dst, port))
        s.sendall(token.encode())
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            b = s.recv(4096)
            if not b:
                break
            buf += b
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if src:
            s.bind((src, 0))
        buf = None
        while buf is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no UDP reply")
            s.sendto(token.encode(), (dst, port))
            s.settimeout(min(0.5, left))
            try:
                buf, _ = s.recvfrom(65535)
            except socket.timeout:
                pass
except Exception as e:
    sys.exit("probe %s %s:%d from %s: %s" % (proto, dst, port, src or "-", e))
print(buf.decode(errors="replace"))
PY

# serve NSPATH NAME PORT: start the echo server in a namespace.
serve() {
	local nspath=$1 name=$2 port=$3 ready
	ready=$CASE_DIR/srv-$name.ready
	rm -f "$ready"
	nsenter --net="$nspath" "$PY" -IS -c "$ECHO_PY" "$name" "$port" \
		"$CASE_DIR/srv-$name.log" "$ready" </dev/null \
		>>"$CASE_DIR/srv-$name.err" 2>&1 &
	echo $! >>"$CASE_DIR/pids"
	wait_for 5 test -e "$ready" ||
		fail "echo server $name did not start: $(cat "$CASE_DIR/srv-$name.err")"
}

# probe NSPATH PROTO DST PORT TOKEN [SRC] [TIMEOUT]
probe() {
	nsenter --net="$1" "$PY" -IS -c "$CLIENT_PY" "$2" "$3" "$4" "$5" "${6:-}" \
		"${7:-$PROBE_TIMEOUT}"
}

# expect_echo NSPATH PROTO DST PORT WANT [SRC]: the server must answer
# "WANT:<token>"; WANT is "<server>:<source address>" (a glob).
expect_echo() {
	local tok reply rc=0
	tok=$(token)
	reply=$(probe "$1" "$2" "$3" "$4" "$tok" "${6:-}" 2>&1) || rc=$?
	((rc == 0)) || fail "$2 to $3:$4 from ${1##*/} unanswered: $reply"
	# shellcheck disable=SC2053 # WANT is a pattern on purpose
	[[ $reply == $5:$tok ]] ||
		fail "$2 to $3:$4 from ${1##*/}: reply '$reply', want '$5:$tok'"
}

# expect_no_echo NSPATH PROTO DST PORT TOKEN [SRC]: no answer in NEG_TIMEOUT.
expect_no_echo() {
	local reply rc=0
	reply=$(probe "$1" "$2" "$3" "$4" "$5" "${6:-}" "$NEG_TIMEOUT" 2>&1) || rc=$?
	((rc != 0)) || fail "$2 to $3:$4 from ${1##*/} (src ${6:-auto}) was answered: $reply"
}

# server_saw NAME TOKEN: did echo server NAME receive TOKEN?
server_saw() { grep -q -- "$2" "$CASE_DIR/srv-$1.log" 2>/dev/null; }

# --- datapath state --------------------------------------------------------------

# reason_code NAME: the code of a drop reason or trace point, from the one
# X-macro list the datapath is built from (include/sluice/drop.h).
reason_code() {
	local code
	code=$(sed -n "s/.*X(\([0-9]*\), $1,.*/\1/p" "$E2E_TOP/include/sluice/drop.h")
	[[ -n $code ]] || fail "no reason $1 in include/sluice/drop.h"
	echo "$code"
}

# metric NODE REASON egress|ingress: packets counted under REASON in the
# node's per-CPU sl_metrics, summed over CPUs (index = dir << 8 | reason).
metric() {
	local node=$1 code dir idx
	code=$(reason_code "$2")
	case $3 in
	egress) dir=0 ;;
	ingress) dir=1 ;;
	*) fail "metric: direction $3" ;;
	esac
	idx=$((dir << 8 | code))
	node_exec "$node" bpftool -j map lookup pinned \
		"$(node_bpf_root "$node")/sl_metrics" \
		key $((idx & 255)) $((idx >> 8 & 255)) 0 0 | "$PY" -IS -c '
import json, sys
d = json.load(sys.stdin)
if isinstance(d, list):
    d = d[0]
if "formatted" in d:
    print(sum(v["value"]["packets"] for v in d["formatted"]["values"]))
else:
    print(sum(int.from_bytes(bytes(int(b, 16) for b in v["value"][:8]), "little")
              for v in d["values"]))
'
}

# ep_map_ips NODE: the addresses in the node's sl_endpoints, one a line;
# nothing when the datapath was never loaded.
ep_map_ips() {
	local pin
	pin=$(node_bpf_root "$1")/sl_endpoints
	[[ -e $pin ]] || return 0
	node_exec "$1" bpftool -j map dump pinned "$pin" | "$PY" -IS -c '
import json, sys
for e in json.load(sys.stdin):
    print(".".join(str(int(b, 16)) for b in e["key"]))
'
}

# Not "ep_map_ips | grep -q": grep leaving early fails the pipeline under
# pipefail, which would turn "found" into "not found".
_in_ep_map() {
	local ips
	ips=$(ep_map_ips "$1")
	grep -qx -- "$2" <<<"$ips"
}

record_file() { echo "$(node_run_dir "$1")/endpoints/$2"; }

# record_field NODE IP FIELD: a field of the endpoint record of IP.
record_field() { jget "d[\"$3\"]" "$(record_file "$1" "$2")"; }

# The records (allocated addresses) of a node, one a line.
records() {
	local d
	d=$(node_run_dir "$1")/endpoints
	[[ -d $d ]] || return 0
	find "$d" -maxdepth 1 -type f -name '[0-9]*' -printf '%f\n' | sort
}

host_link_exists() { node_exec "$1" ip link show dev "$2" >/dev/null 2>&1; }

# pod_veth NODE POD: the host veth libcni's result names for a cluster pod.
pod_veth() { jget 'd["interfaces"][0]["name"]' "$(node_dir "$1")/pods/$2.json"; }

# assert_attached NODE IP VETH: every host-side piece of an attachment.
assert_attached() {
	local node=$1 ip=$2 veth=$3
	host_link_exists "$node" "$veth" || fail "host veth $veth of $ip missing"
	[[ -f $(record_file "$node" "$ip") ]] || fail "endpoint record of $ip missing"
	_in_ep_map "$node" "$ip" || fail "sl_endpoints has no entry for $ip"
	[[ -n $(node_exec "$node" ip -4 route show "$ip/32" dev "$veth") ]] ||
		fail "host route to $ip/32 via $veth missing"
}

# assert_detached NODE IP VETH [WHAT]: nothing of the attachment is left.
assert_detached() {
	local node=$1 ip=$2 veth=$3 what=${4:-after DEL}
	! host_link_exists "$node" "$veth" || fail "$what: host veth $veth still exists"
	[[ ! -e $(record_file "$node" "$ip") ]] ||
		fail "$what: address $ip still allocated ($(record_file "$node" "$ip"))"
	! _in_ep_map "$node" "$ip" || fail "$what: sl_endpoints still has $ip"
	[[ -z $(node_exec "$node" ip -4 route show "$ip/32") ]] ||
		fail "$what: host route to $ip/32 still exists"
}

# snapshot NODE: the node-side state ADD and DEL change, for before/after
# comparisons ("no side effects").
snapshot() {
	local node=$1
	echo "links:"
	node_exec "$node" ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
	echo "routes:"
	node_exec "$node" ip -4 route show | sort
	echo "neighbours:"
	node_exec "$node" ip -4 neigh show nud permanent | sort
	echo "records:"
	records "$node"
	echo "sl_endpoints:"
	ep_map_ips "$node" | sort
}

# pod_links NSPATH: the interface names in a pod namespace.
pod_links() {
	nsenter --net="$1" ip -o link show |
		awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' '
}

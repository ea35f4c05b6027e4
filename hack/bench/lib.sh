# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Shared by the benchmark scripts: building the tools, per-run network
# namespaces that are always removed, background processes that are always
# stopped, and the statistics. Source it, then call bench_init NAME.
#
# Every namespace is named slb-ID-*, ID being random per run, so two runs
# (or a run and the tests) never collide. Nothing is changed in the root
# network namespace.

BENCH_TOP=${BENCH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BENCH_OUT=${BENCH_OUT:-$BENCH_TOP/build/bench}
BENCH_BIN=${BENCH_BIN:-$BENCH_TOP/build/bin}
BENCH_REF_CNI=${BENCH_REF_CNI:-/usr/lib/cni}
RR=$BENCH_OUT/rr
CNITIME=$BENCH_OUT/cnitime
CNIRUN=$BENCH_BIN/sl-cnirun

BUSY_PCT=${BENCH_BUSY_PCT:-10}		# see wait_quiet, cpu_others
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}

BENCH_NS=()		# namespaces to delete
BENCH_PIDS=()		# processes to stop
BENCH_CLEANUPS=()	# commands to run first (e.g. CNI DEL), best effort

log() { printf '%s\n' "$*" >&2; }

# bench_build: the C tools into build/bench, and sl-cnirun when missing.
bench_build() {
	local cflags=(-O2 -Wall -Wextra -Werror)
	mkdir -p "$BENCH_OUT"
	if [[ ! -x $RR || $BENCH_TOP/hack/bench/rr.c -nt $RR ]]; then
		gcc "${cflags[@]}" -pthread -o "$RR" "$BENCH_TOP/hack/bench/rr.c"
	fi
	if [[ ! -x $CNITIME || $BENCH_TOP/hack/bench/cnitime.c -nt $CNITIME ]]; then
		gcc "${cflags[@]}" -o "$CNITIME" "$BENCH_TOP/hack/bench/cnitime.c"
	fi
	if [[ ! -x $CNIRUN ]]; then
		log "building $CNIRUN"
		(cd "$BENCH_TOP" && GOCACHE=${GOCACHE:-$BENCH_TOP/build/gocache} \
			GO111MODULE=off GOPATH=/usr/share/gocode \
			go build -o "$CNIRUN" ./hack/cnirun)
	fi
}

# bench_init NAME: per-run id, work directory, cleanup on any exit.
bench_init() {
	BENCH_ID=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
	BENCH_WORK=$(mktemp -d "/tmp/sluice-bench-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local rc=$? i pid ns
	set +e
	for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${BENCH_CLEANUPS[i]}" >/dev/null 2>&1
	done
	for pid in "${BENCH_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	# The plugin's cluster (hack/lib/cluster.sh), when one was made.
	if [[ -n ${SL_STATE:-} ]] && declare -F cluster_down >/dev/null; then
		cluster_down >/dev/null 2>&1
	fi
	for ns in "${BENCH_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# Anything of this run that escaped the list (names are per run).
	if [[ -n ${BENCH_ID:-} ]]; then
		ip netns list | awk '{ print $1 }' | grep "^slb-$BENCH_ID-" |
			while read -r ns; do ip netns del "$ns" 2>/dev/null; done
	fi
	[[ -n ${BENCH_WORK:-} ]] && rm -rf "$BENCH_WORK"
	exit "$rc"
}

# bns_add VAR SUFFIX: create netns slb-ID-SUFFIX with lo up, its name in
# VAR. (Not through $(...): the list for cleanup must be this shell's.)
bns_add() {
	local _bns="slb-$BENCH_ID-$2"
	BENCH_NS+=("$_bns")
	ip netns add "$_bns"
	ip -n "$_bns" link set lo up
	printf -v "$1" '%s' "$_bns"
}

# bns_exec NS CMD...: run CMD in netns NS (any netns under /run/netns).
bns_exec() {
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" "$@"
}

# bench_bg LOG NS CMD...: start CMD in NS in the background, remember it.
# Sets BENCH_LAST_PID.
bench_bg() {
	local logf=$1 ns=$2; shift 2
	nsenter --net="/run/netns/$ns" "$@" >>"$logf" 2>&1 &
	BENCH_LAST_PID=$!
	BENCH_PIDS+=("$BENCH_LAST_PID")
}

# wait_listen NS PORT: until a TCP socket listens on PORT in NS (5 s).
wait_listen() {
	local ns=$1 port=$2 i
	for ((i = 0; i < 250; i++)); do
		if bns_exec "$ns" ss -Hltn "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.02
	done
	log "nothing listens on port $port in $ns"
	return 1
}

# client_tune NS: what a CRR client needs (see hack/bench/rr.c): 64k
# ephemeral ports and reuse of TIME_WAIT ports for new connections.
client_tune() {
	bns_exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
		net.ipv4.tcp_tw_reuse=1
}

# stat3 FILE: "median min max" of the numbers in FILE ("-" entries
# ignored), "- - -" if none.
stat3() {
	sort -g "$1" 2>/dev/null | awk '$1 != "-" { v[++n] = $1 }
		END {
			if (!n) { print "- - -"; exit }
			m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			print m, v[1], v[n]
		}'
}

# pctl FILE P: nearest-rank percentile P (0-100) of the numbers in FILE.
pctl() {
	sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 }
		END {
			if (!NR) { print "-"; exit }
			r = p / 100 * NR; k = int(r); if (k < r) k++; if (k < 1) k = 1
			print v[k]
		}'
}

# ratio A B: A/B with two decimals, "-" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0)
			print "-"
		else
			printf "%.2f\n", a / b
	}'
}

# cpu_others: CPU time (clock ticks) used so far by every process outside
# this script's process tree, kernel threads left out. utime+stime of the
# living plus cutime+cstime (the time of their reaped children), so that
# between two samples each tick is counted once, even for processes that
# exit in between.
cpu_others() {
	# A process ending between the glob and the read makes cat fail,
	# which under pipefail would end the caller; the sum is still right.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$$" '
	{
		pid = $1
		sub(/^.*\) /, "")
		ppid[pid] = $2
		t[pid] = $12 + $13 + $14 + $15
	}
	END {
		for (p in t) {
			if (p == 2 || ppid[p] == 2)
				continue
			for (q = p; q > 1 && q != root; q = ppid[q])
				if (!(q in ppid))
					break
			if (q != root)
				s += t[p]
		}
		print s + 0
	}'
}

# others_pct TICKS0 T0: CPU used by others since cpu_others gave TICKS0
# at $EPOCHREALTIME T0, in % of one CPU.
others_pct() {
	awk -v c0="$1" -v c1="$(cpu_others)" -v t0="$2" -v t1="$EPOCHREALTIME" \
		-v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f\n", (c1 - c0) / hz / (t1 - t0) * 100 }'
}

# wait_quiet: until other processes use at most BUSY_PCT % of a CPU over
# half a second, for QUIET_WAIT seconds at most.
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) c0 t0
	while ((SECONDS < deadline)); do
		c0=$(cpu_others) t0=$EPOCHREALTIME
		sleep 0.5
		(($(others_pct "$c0" "$t0") <= BUSY_PCT)) && return 0
	done
	return 0
}

# measure_clean NAME TEST CMD...: run CMD, which sets R_RATE, R_P50, R_P99
# and R_ERR, and redo it while other processes used more than BUSY_PCT %
# of a CPU during it, RETRIES times at most; the last run is then kept
# with R_CLEAN=0 (busy runs redone are listed in res/redone). Appends
# "REP RATE P50 P99 ERRORS CLEAN" to res/NAME.TEST; 1 when CMD failed.
measure_clean() {
	local name=$1 t=$2 try c0 t0 busy
	shift 2
	R_CLEAN=1
	for ((try = 0; try <= RETRIES; try++)); do
		wait_quiet
		c0=$(cpu_others) t0=$EPOCHREALTIME
		"$@" || return 1
		busy=$(others_pct "$c0" "$t0")
		((busy <= BUSY_PCT)) && break
		printf ' (busy %s%%)' "$busy" >&2
		if ((try == RETRIES)); then
			R_CLEAN=0
		else
			echo "$name $t $busy" >>"$BENCH_WORK/res/redone"
		fi
	done
	echo "$REP $R_RATE $R_P50 $R_P99 $R_ERR $R_CLEAN" >>"$BENCH_WORK/res/$name.$t"
}

bench_env_line() {
	printf 'kernel %s, %s CPUs, loadavg %s' "$(uname -r)" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

# bridge_conflist FILE: the reference bridge plugin with host-local IPAM,
# the baseline both benchmarks compare sluice with.
bridge_conflist() {
	cat >"$1" <<-JSON
	{
	  "cniVersion": "1.0.0",
	  "name": "bench-bridge",
	  "plugins": [
	    {
	      "type": "bridge",
	      "bridge": "cni0",
	      "isGateway": true,
	      "ipMasq": false,
	      "ipam": {
	        "type": "host-local",
	        "ranges": [[{ "subnet": "10.245.0.0/24" }]],
	        "dataDir": "$BENCH_WORK/ipam"
	      }
	    }
	  ]
	}
	JSON
}

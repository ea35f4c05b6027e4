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

# bench_private_mounts ARGS...: first thing, with the script's arguments:
# re-runs the script in a private mount namespace with a tmpfs over
# /run/netns, so that the netns bind mounts and the nodes' bpffs mounts
# vanish with it, however it ends.
bench_private_mounts() {
	if [[ -z ${SL_BENCH_INNER:-} ]]; then
		exec unshare --mount --propagation private env SL_BENCH_INNER=1 \
			"$0" "$@"
	fi
	mkdir -p /run/netns
	mount -t tmpfs sluice-bench /run/netns
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

# report_env: a report's lines on the machine at the start (START_ENV,
# a bench_env_line) and now, and on the build measured (BUILD_INFO).
report_env() {
	echo "start: $START_ENV"
	echo "end:   $(bench_env_line)"
	echo "sluice: $BUILD_INFO"
}

# run_iperf CFG: one iperf3 run; sets R_RATE (Gbit/s). From the suite:
# CLI_NS, SRV_IP and LABEL by configuration, IPERF_PORT, SECS.
run_iperf() {
	local cfg=$1 out
	if ! out=$(bns_exec "${CLI_NS[$cfg]}" taskset -c 0 iperf3 -J \
		-c "${SRV_IP[$cfg]}" -p "$IPERF_PORT" -t "$SECS" -O 1 2>&1) ||
	   ! R_RATE=$(jq -er '.end.sum_received.bits_per_second / 1e9' \
		<<<"$out" 2>/dev/null); then
		log "${LABEL[$cfg]} iperf3 failed: $(jq -r '.error? // empty' \
			<<<"$out" 2>/dev/null || echo "$out")"
		echo "$out" >>"$BENCH_WORK/$cfg.errors"
		return 1
	fi
}

# bridge_conflist FILE [SUBNET NAME]: the reference bridge plugin with
# host-local IPAM, the baseline the benchmarks compare sluice with. With
# SUBNET (one node of several: each its own range, and a way out through
# the bridge's gateway) the pods get a default route and NAME's own IPAM
# store; without, 10.245.0.0/24 and no route, enough on one node.
bridge_conflist() {
	local subnet=${2:-10.245.0.0/24} ipam=$BENCH_WORK/ipam routes=
	if [[ -n ${2:-} ]]; then
		ipam=$BENCH_WORK/ipam-$3
		routes='"routes": [{ "dst": "0.0.0.0/0" }],'
	fi
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
	        "ranges": [[{ "subnet": "$subnet" }]],${routes:+
	        $routes}
	        "dataDir": "$ipam"
	      }
	    }
	  ]
	}
	JSON
}

# --- sluice nodes and their agents (hack/lib/cluster.sh) ---------------------

# secs_since T0: seconds since $EPOCHREALTIME was T0, 2 decimals.
secs_since() {
	awk -v t0="$1" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", t1 - t0 }'
}

# snapshot_bins: copies of the plugin, agent and CLI for the whole run, in
# SNAP (empty when there are none): other work in the tree may rebuild
# build/bin meanwhile, and a run must measure one build. Waits (3 min at
# most) until the binaries are there and 5 s old, i.e. not being linked.
# Sets BUILD_INFO, and CNIRUN to the copy.
SNAP=''
# shellcheck disable=SC2034 # BUILD_INFO is the caller's
snapshot_bins() {
	local deadline=$((SECONDS + 180)) f ok dirty=""
	while :; do
		ok=1
		for f in sluice sluiced sluicectl; do
			[[ -x $BENCH_BIN/$f ]] &&
				(($(date +%s) - $(stat -c %Y "$BENCH_BIN/$f") >= 5)) || ok=0
		done
		((ok)) && break
		((SECONDS < deadline)) || return 0
		sleep 2
	done
	mkdir -p "$BENCH_WORK/bin"
	cp "$BENCH_BIN"/{sluice,sluiced,sluicectl,sl-cnirun} "$BENCH_WORK/bin/"
	SNAP=$BENCH_WORK/bin CNIRUN=$SNAP/sl-cnirun
	git -C "$BENCH_TOP" diff --quiet HEAD -- 2>/dev/null || dirty=" + uncommitted changes"
	BUILD_INFO="build/bin/sluice of $(date -u -d @"$(stat -c %Y "$BENCH_BIN/sluice")" \
		+%Y-%m-%dT%H:%MZ), tree $(git -C "$BENCH_TOP" rev-parse --short HEAD 2>/dev/null)$dirty"
}

# cluster_start: hack/lib/cluster.sh on the snapshot.
cluster_start() {
	export SL_BIN=$SNAP SL_CNI_BIN=$SNAP SL_STATE=$BENCH_WORK/cluster
	# shellcheck source=hack/lib/cluster.sh
	. "$BENCH_TOP/hack/lib/cluster.sh"
	cluster_init "bench-$BENCH_ID"
}

ctl() { # NODE ARGS...: sluicectl of NODE's agent
	local node=$1
	shift
	node_exec "$node" "$SNAP/sluicectl" --run-dir "$(node_run_dir "$node")" \
		--bpf-root "$(node_bpf_root "$node")" "$@"
}

# agent_start NODE DIR | agent_start NODE SOURCE-ARGS...: sluiced on the
# manifests folder DIR (or on e.g. --kubeconfig F); sets AGENT (its pid:
# nsenter execs it) and AGENT_T0. Its socket programs (for host processes)
# go nowhere unless the arguments give a --cgroup-root: they would outlive
# it on the machine's cgroup root.
# shellcheck disable=SC2034 # AGENT and AGENT_T0 are the caller's
agent_start() {
	local node=$1 cg=()
	shift
	[[ $# == 1 ]] && set -- --source "$1"
	[[ " $* " != *" --cgroup-root "* ]] &&
		"$SNAP/sluiced" --help 2>&1 | grep -q -- --cgroup-root &&
		cg=(--cgroup-root none)
	AGENT_T0=$EPOCHREALTIME
	bench_bg "$BENCH_WORK/agent-$node.log" "$(node_ns "$node")" \
		"$SNAP/sluiced" --node-name "$node" "$@" "${cg[@]}" \
		--bpf-root "$(node_bpf_root "$node")" \
		--run-dir "$(node_run_dir "$node")" --log-level info </dev/null
	AGENT=$BENCH_LAST_PID
}

agent_stop() { bench_stop "$@"; } # PID

# bench_stop PID: stop one of bench_bg's processes and forget it.
bench_stop() {
	kill "$1" 2>/dev/null || true
	bench_reap "$1"
}

# bench_reap PID: wait for one of the processes in BENCH_PIDS to end, and
# forget it.
bench_reap() {
	local pid=$1 i
	wait "$pid" 2>/dev/null || true
	for i in "${!BENCH_PIDS[@]}"; do
		[[ ${BENCH_PIDS[i]} == "$pid" ]] && unset 'BENCH_PIDS[i]'
	done
	return 0
}

# --- what the datapath's programs cost ---------------------------------------

# prog_stats_on: the kernel's per-program run counters and run time
# (kernel.bpf_stats_enabled, a machine-wide switch that costs two clock
# reads per program run), on until the run ends, then back as it was.
prog_stats_on() {
	local was
	was=$(sysctl -n kernel.bpf_stats_enabled) || return 1
	sysctl -qw kernel.bpf_stats_enabled=1 || return 1
	BENCH_CLEANUPS+=("sysctl -qw kernel.bpf_stats_enabled=$was")
}

# prog_ids_in NS...: the ids of the tc programs attached to any device of
# each NS: what one configuration runs, and no other sluice on the machine.
prog_ids_in() {
	local ns
	for ns in "$@"; do
		ip netns exec "$ns" bpftool net show -j 2>/dev/null |
			jq -r '.[].tc[]?.id // empty'
	done | sort -u | tr '\n' ' '
}

# prog_stats_snap IDS: "NAME RUNS NS" per program name, summed over the
# programs whose id is in IDS (space-separated).
prog_stats_snap() {
	bpftool prog show -j 2>/dev/null | jq -r --arg ids " $1 " '.[] |
		.id as $id | select($ids | contains(" \($id) ")) |
		"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"' |
		awk '{ n[$1] += $2; t[$1] += $3 }
		END { for (p in n) print p, n[p], t[p] }' | sort
}

# prog_stats_add FILE SNAP0 SNAP1: the runs and run time between two
# snapshots, added per program to FILE ("NAME RUNS NS" lines).
prog_stats_add() {
	awk -v f="$1" -v a="$2" -v b="$3" 'BEGIN {
		while ((getline l < f) > 0) { split(l, o); n[o[1]] += o[2]; t[o[1]] += o[3] }
		close(f)
		k = split(a, x, "\n"); for (i = 1; i <= k; i++) { split(x[i], o); n[o[1]] -= o[2]; t[o[1]] -= o[3] }
		k = split(b, x, "\n"); for (i = 1; i <= k; i++) { split(x[i], o); n[o[1]] += o[2]; t[o[1]] += o[3] }
		for (p in n) if (p != "" && n[p] > 0) print p, n[p], t[p] > f
	}'
}

# prog_stats_cells FILE: "NAME NSns (RUNS runs)" per program of FILE, one
# line: the mean time of one run, and how many runs it is the mean of.
prog_stats_cells() {
	[[ -s $1 ]] || { echo "-"; return 0; }
	awk '{ printf "%s%s %.0fns (%d runs)", sep, $1, $3 / $2, $2; sep = ", " }
		END { print "" }' "$1"
}

# --- rr runs and the cells of their results ----------------------------------

# start_servers CONFIG: rr and iperf3 servers on CPU1 for the whole run,
# in the caller's SRV_NS[CONFIG], on its RR_PORT and IPERF_PORT.
start_servers() {
	local cfg=$1 ns=${SRV_NS[$1]}
	bench_bg "$BENCH_WORK/$cfg.server.log" "$ns" taskset -c 1 \
		"$RR" server -p "$RR_PORT"
	bench_bg "$BENCH_WORK/$cfg.server.log" "$ns" taskset -c 1 \
		iperf3 -s -p "$IPERF_PORT"
	wait_listen "$ns" "$RR_PORT" && wait_listen "$ns" "$IPERF_PORT"
}

# field LINE KEY: the value of KEY=value in an rr output line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"; }

# rr_once NAME NS IP PORT MODE: one rr client run of SECS seconds from NS,
# pinned to CPU0, with RR_ARGS (e.g. -P 4, -r RATE) added and run through
# RR_WRAP (a command that execs its arguments, e.g. into a cgroup); sets
# R_RATE R_P50 R_P99 R_ERR. Its output goes to NAME.errors when it fails.
RR_ARGS=() RR_WRAP=()
rr_once() {
	local out
	if ! out=$(bns_exec "$2" "${RR_WRAP[@]}" taskset -c 0 "$RR" client \
		-H "$3" -p "$4" -m "$5" -t "$SECS" "${RR_ARGS[@]}" 2>&1); then
		log "$1 $5 failed: $out"
		echo "$out" >>"$BENCH_WORK/$1.errors"
		return 1
	fi
	R_RATE=$(field "$out" rate) R_P50=$(field "$out" p50_us)
	R_P99=$(field "$out" p99_us) R_ERR=$(field "$out" errors)
}

# rr_measure NAME MODE NS IP PORT: rr_once (or RR_RUN, a function taking
# rr_once's arguments) through measure_clean (rows in res/NAME.MODE), the
# rate on stderr.
RR_RUN=rr_once
rr_measure() {
	measure_clean "$1" "$2" "$RR_RUN" "$1" "$3" "$4" "$5" "$2" || return 0
	printf ' %s/s' "$R_RATE" >&2
	((R_CLEAN)) || printf '(kept, busy)' >&2
	return 0
}

# res_rows FILE: the clean rows of a measure_clean file, or all when none
# is clean.
res_rows() {
	[[ -f $1 ]] || return 0
	awk '$6 == 1' "$1" | grep . || cat "$1"
}

res_med() { # FILE [COL]: median of column COL (2, the rate) of res_rows
	local m _lo _hi
	read -r m _lo _hi < <(stat3 <(res_rows "$1" | awk -v c="${2:-2}" '{ print $c }'))
	echo "$m"
}

# res_cell FILE [FMT]: "median [min-max] n/N" of the rates, formatted
# with FMT (%.0f), * when none was clean.
res_cell() {
	local m lo hi n all fmt=${2:-%.0f}
	[[ -f $1 ]] || { echo "-"; return 0; }
	read -r m lo hi < <(stat3 <(res_rows "$1" | awk '{ print $2 }'))
	[[ $m == - ]] && { echo "-"; return 0; }
	n=$(awk '$6 == 1' "$1" | wc -l)
	all=$(wc -l <"$1")
	# shellcheck disable=SC2059
	printf "$fmt [$fmt-$fmt] %s/%s%s" "$m" "$lo" "$hi" "$n" "$all" \
		"$( ((n)) || echo '*')"
}

# res_paired A B: median [min-max] of the per-repetition ratios A/B (clean
# pairs, or all pairs when none is clean).
res_paired() {
	local f=$BENCH_WORK/pair m lo hi
	[[ -f $1 && -f $2 ]] || { echo "-"; return 0; }
	join <(sort -k1,1 "$1") <(sort -k1,1 "$2") |
		awk '$6 == 1 && $11 == 1 && $7 > 0 { print $2 / $7 }' >"$f"
	[[ -s $f ]] || join <(sort -k1,1 "$1") <(sort -k1,1 "$2") |
		awk '$7 > 0 { print $2 / $7 }' >"$f"
	read -r m lo hi < <(stat3 "$f")
	[[ $m == - ]] && { echo "-"; return 0; }
	printf '%.2f [%.2f-%.2f]' "$m" "$lo" "$hi"
}

res_spread() { # FILE: (max-min)/median of the rates used, in percent
	local m lo hi
	read -r m lo hi < <(stat3 <(res_rows "$1" | awk '{ print $2 }'))
	awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {
		if (m == "-" || m + 0 == 0) print 0
		else printf "%.0f\n", (hi - lo) / m * 100 }'
}

# ms_pcts FILE: "p50 p99 max" of the numbers in FILE (microseconds), in
# milliseconds.
ms_pcts() {
	awk -v a="$(pctl "$1" 50)" -v b="$(pctl "$1" 99)" -v c="$(pctl "$1" 100)" \
		'BEGIN { printf "%.1f %.1f %.1f\n", a / 1000, b / 1000, c / 1000 }'
}

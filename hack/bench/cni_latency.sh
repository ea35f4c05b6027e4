#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# CNI ADD and DEL latency over BENCH_PODS (100) pods, serial and
# BENCH_CONC (8) at a time: the sluice plugin against the reference bridge
# plugin with host-local IPAM, through the same harness.
#
# To time the plugin rather than a runtime, each plugin binary is run
# directly by build/bench/cnitime (hack/bench/cnitime.c) the way libcni's
# exec invoker runs it: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
# CNI_ARGS and CNI_PATH in the environment; on stdin the plugin's entry from
# the conflist with the list's cniVersion and name injected, no prevResult
# on ADD (first plugin of the list) and the ADD result as prevResult on DEL
# (libcni's cached result). cnitime runs inside the node netns and times
# posix_spawn to waitpid with CLOCK_MONOTONIC. Every pod gets a fresh netns,
# made before the timing starts.
#
# Before the timed pods, one warm-up ADD+DEL per plugin on its fresh node
# (loads binaries into the page cache; for sluice possibly the first load of
# the datapath): reported on its own, not in the percentiles.
#
# Each batch starts at a quiet moment (wait_quiet in lib.sh); a batch during
# which other processes used more than BENCH_BUSY_PCT (10) % of a CPU is
# named in the report.
#
# Output: stdout and build/bench/cni_latency.txt.
set -euo pipefail

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PODS=${BENCH_PODS:-100}
CONC=${BENCH_CONC:-8}

declare -A NODE CONF BIN CPATH STATUS FIRST
FAIL_MSG=
PLUGINS=(bridge sluice)

setup_bridge() {
	local list=$BENCH_WORK/bridge.conflist
	bns_add "NODE[bridge]" cb
	bridge_conflist "$list"
	CONF[bridge]=$BENCH_WORK/bridge.json
	jq -c '.plugins[0] + {cniVersion, name}' "$list" >"${CONF[bridge]}"
	BIN[bridge]=$BENCH_REF_CNI/bridge
	CPATH[bridge]=$BENCH_REF_CNI
}

setup_sluice() {
	if [[ ! -x $BENCH_BIN/sluice ]]; then
		STATUS[sluice]="skipped: build/bin/sluice is missing (run make first)"
		return 1
	fi
	# shellcheck source=hack/lib/cluster.sh
	. "$BENCH_TOP/hack/lib/cluster.sh"
	export SL_STATE=$BENCH_WORK/cluster
	cluster_init "bench-$BENCH_ID"
	if ! node_add n1 1 >"$BENCH_WORK/sluice.setup.log" 2>&1; then
		STATUS[sluice]="failed: node_add: $(tail -3 "$BENCH_WORK/sluice.setup.log")"
		return 1
	fi
	NODE[sluice]=$(node_ns n1)
	CONF[sluice]=$BENCH_WORK/sluice.json
	jq -c '.plugins[0] + {cniVersion, name}' \
		"$(node_dir n1)/net.d/10-sluice.conflist" >"${CONF[sluice]}"
	BIN[sluice]=$BENCH_BIN/sluice
	CPATH[sluice]=$BENCH_BIN:$BENCH_REF_CNI
}

# pod_job PLUGIN SET I CMD STDIN: one cnitime job line for pod I of SET.
pod_job() {
	local p=$1 set=$2 i=$3 cmd=$4 in=$5 ns cid
	ns="slb-$BENCH_ID-$p-$set-$i"
	cid=$(printf '%s' "$ns" | sha256sum | cut -c1-64)
	printf '%s\t%s\tCNI_COMMAND=%s\tCNI_CONTAINERID=%s\tCNI_NETNS=%s' \
		"$in" "$BENCH_WORK/$p/$set.$i.${cmd,,}.out" "$cmd" "$cid" \
		"/run/netns/$ns"
	printf '\tCNI_IFNAME=eth0\tCNI_PATH=%s' "${CPATH[$p]}"
	printf '\tCNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=uid-%s\n' \
		"$set-$i" "$cid" "$set-$i"
}

# run_batch PLUGIN SET CMD FIRST LAST CONC: time CMD for pods FIRST..LAST of
# SET; appends the times (ms) to res/PLUGIN.SET.CMD. Returns 1 on failures.
run_batch() {
	local p=$1 set=$2 cmd=$3 first=$4 last=$5 conc=$6 i in
	local jobs=$BENCH_WORK/$p/$set.${cmd,,}.jobs
	local times=$BENCH_WORK/$p/$set.${cmd,,}.times
	: >"$jobs"
	for ((i = first; i <= last; i++)); do
		in=${CONF[$p]}
		if [[ $cmd == DEL ]]; then
			in=$BENCH_WORK/$p/$set.$i.del.in
			jq -c --slurpfile r "$BENCH_WORK/$p/$set.$i.add.out" \
				'. + {prevResult: $r[0]}' "${CONF[$p]}" >"$in"
		fi
		pod_job "$p" "$set" "$i" "$cmd" "$in" >>"$jobs"
	done
	local c0 t0 busy rc=0
	wait_quiet
	c0=$(cpu_others) t0=$EPOCHREALTIME
	bns_exec "${NODE[$p]}" "$CNITIME" -x "${BIN[$p]}" -j "$jobs" \
		-o "$times" -c "$conc" 2>>"$BENCH_WORK/$p/stderr.log" || rc=$?
	busy=$(others_pct "$c0" "$t0")
	if ((busy > BUSY_PCT)); then
		echo "busy: other processes used ${busy}% of a CPU during" \
			"$p $set $cmd" >>"$BENCH_WORK/res/busy"
	fi
	if ((rc)); then
		local bad
		bad=$(awk '$3 != 0' "$times" 2>/dev/null | head -1 | cut -d' ' -f1)
		log "$p $set $cmd: $(awk '$3 != 0' "$times" 2>/dev/null |
			wc -l) of $((last - first + 1)) failed"
		FAIL_MSG="$cmd failed"
		if [[ -n $bad ]]; then
			FAIL_MSG+=": $(head -c 300 \
				"$BENCH_WORK/$p/$set.$((first + bad)).${cmd,,}.out")"
		fi
		log "$FAIL_MSG"
		tail -3 "$BENCH_WORK/$p/stderr.log" >&2
		return 1
	fi
	awk '{ printf "%.3f\n", $2 / 1e6 }' "$times" >>"$BENCH_WORK/res/$p.$set.$cmd"
}

make_netns() {
	local p=$1 set=$2 n=$3 i _ns
	for ((i = 0; i <= n; i++)); do
		bns_add _ns "$p-$set-$i"
	done
}

# phase PLUGIN SET CONC: ADD then DEL of PODS pods.
phase() {
	local p=$1 set=$2 conc=$3
	[[ -n ${STATUS[$p]:-} ]] && return 0
	log "$p: $set ADD/DEL of $PODS pods, $conc at a time"
	if ! run_batch "$p" "$set" ADD 1 "$PODS" "$conc" ||
	   ! run_batch "$p" "$set" DEL 1 "$PODS" "$conc"; then
		STATUS[$p]="failed in the $set phase: $FAIL_MSG"
	fi
}

warm_up() {
	local p=$1
	[[ -n ${STATUS[$p]:-} ]] && return 0
	if ! run_batch "$p" serial ADD 0 0 1 || ! run_batch "$p" serial DEL 0 0 1
	then
		STATUS[$p]="failed on the first ADD/DEL: $FAIL_MSG"
		return 0
	fi
	# The warm-up's times open the files; keep them apart.
	FIRST[$p]=$(head -1 "$BENCH_WORK/res/$p.serial.ADD")
	FIRST[$p.del]=$(head -1 "$BENCH_WORK/res/$p.serial.DEL")
	: >"$BENCH_WORK/res/$p.serial.ADD"
	: >"$BENCH_WORK/res/$p.serial.DEL"
}

# calibrate: the harness's floor, /bin/true run 20 times like a plugin.
calibrate() {
	local i
	mkdir -p "$BENCH_WORK/true"
	: >"$BENCH_WORK/true/jobs"
	for ((i = 0; i < 20; i++)); do
		printf '%s\t%s\tCNI_COMMAND=ADD\n' "${CONF[bridge]}" \
			"$BENCH_WORK/true/out" >>"$BENCH_WORK/true/jobs"
	done
	"$CNITIME" -x /bin/true -j "$BENCH_WORK/true/jobs" \
		-o "$BENCH_WORK/true/times" -c 1
	awk '{ printf "%.3f\n", $2 / 1e6 }' "$BENCH_WORK/true/times" \
		>"$BENCH_WORK/res/true.serial.ADD"
}

cells() {
	local f=$BENCH_WORK/res/$1
	printf '%9s %9s %9s %9s' "$(pctl "$f.ADD" 50)" "$(pctl "$f.ADD" 99)" \
		"$(pctl "$f.DEL" 50)" "$(pctl "$f.DEL" 99)"
}

report() {
	local set p c r label
	echo "sluice CNI ADD/DEL latency, $PODS pods, plugin binary run directly" \
		"(cnitime), ms"
	echo "$(date -u +%Y-%m-%dT%H:%MZ); start: $START_ENV"
	echo "                                      end:   $(bench_env_line)"
	echo
	printf '%-34s %9s %9s %9s %9s\n' "" "ADD p50" "ADD p99" "DEL p50" \
		"DEL p99"
	for set in serial conc; do
		[[ $set == serial ]] && label=serial || label="$CONC concurrent"
		for p in "${PLUGINS[@]}"; do
			if [[ -n ${STATUS[$p]:-} ]]; then
				printf '%-34s %s\n' "$label, $p" "${STATUS[$p]}"
				continue
			fi
			printf '%-34s %s\n' "$label, $p" "$(cells "$p.$set")"
		done
		if [[ -z ${STATUS[sluice]:-} && -z ${STATUS[bridge]:-} ]]; then
			printf '%-34s' "$label, ratio sluice/bridge"
			for c in ADD DEL; do
				for r in 50 99; do
					printf ' %9s' "$(ratio \
						"$(pctl "$BENCH_WORK/res/sluice.$set.$c" "$r")" \
						"$(pctl "$BENCH_WORK/res/bridge.$set.$c" "$r")")"
				done
			done
			echo
		fi
	done
	echo
	echo "cnitime's own cost (posix_spawn+exec+wait of /bin/true):" \
		"p50 $(pctl "$BENCH_WORK/res/true.serial.ADD" 50) ms"
	for p in "${PLUGINS[@]}"; do
		[[ -n ${FIRST[$p]:-} ]] &&
			echo "first ADD/DEL on a fresh node (warm-up, not above), $p:" \
				"${FIRST[$p]} / ${FIRST[$p.del]} ms"
	done
	if [[ -z ${STATUS[sluice]:-} && -z ${STATUS[bridge]:-} ]]; then
		r=$(ratio "$(pctl "$BENCH_WORK/res/sluice.serial.ADD" 50)" \
			"$(pctl "$BENCH_WORK/res/bridge.serial.ADD" 50)")
		echo "Goal: serial ADD p50 <= 0.5x bridge: $r" \
			"$(awk -v r="$r" 'BEGIN { print (r != "-" && r <= 0.5) ? "met" : "NOT met" }')"
	else
		echo "Goal: serial ADD p50 <= 0.5x bridge: not measured" \
			"(${STATUS[sluice]:-}${STATUS[bridge]:-})"
	fi
	if [[ -s $BENCH_WORK/res/busy ]]; then
		cat "$BENCH_WORK/res/busy"
		echo "(the machine was busy: the percentiles above may be" \
			"inflated; rerun when it is idle)"
	fi
	return 0
}

main() {
	local p
	bench_init cni
	bench_build
	command -v jq >/dev/null || { log "jq is missing"; exit 1; }
	mkdir -p "$BENCH_WORK/res"
	START_ENV=$(bench_env_line)

	setup_bridge
	setup_sluice || log "sluice: ${STATUS[sluice]}"
	for p in "${PLUGINS[@]}"; do
		[[ -n ${STATUS[$p]:-} ]] && continue
		mkdir -p "$BENCH_WORK/$p"
		log "$p: creating $((2 * (PODS + 1))) pod netns"
		make_netns "$p" serial "$PODS"
		make_netns "$p" conc "$PODS"
		warm_up "$p"
	done
	# Alternate the plugins so drift of a busy machine hits both.
	phase bridge serial 1
	phase sluice serial 1
	phase bridge conc "$CONC"
	phase sluice conc "$CONC"

	calibrate
	mkdir -p "$BENCH_OUT"
	report | tee "$BENCH_OUT/cni_latency.txt"
}

main "$@"

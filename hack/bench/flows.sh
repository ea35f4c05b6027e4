#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Flow visibility's cost and its limits, in three parts.
#
# 1. Off vs on: a client pod connects to a server pod on the same node,
#    TCP_CRR and TCP_RR (hack/bench/rr.c), on three nodes: "off" (sluiced
#    --flow-events off: the datapath sends no flow start/close events),
#    "on" (flow events on and read into flow records by the agent, the
#    default) and "small" (on, with a budget far below the load:
#    --event-rate 1000 --event-burst 100, so that most events are shed).
#    Every run records the node's event counters (sluice_events_total,
#    type flow: sent, shed_rate, shed_full), the agent's flow records
#    (sluice_flows_total, start and end), and the connections the client
#    made as the kernel counts them (Tcp ActiveOpens of the client's netns),
#    so each run shows the events flowing and that sent + shed = 2 x
#    connections (a start and a close each).
# 2. Rate steps: new connections paced at increasing rates (rr -r RATE),
#    then back to back with 1 and 4 threads, on "on" and "small": per step
#    the connections/s reached, the events sent and shed, the records made
#    and how many of the connections' events were lost.
# 3. The agent under sustained load: BENCH_FLOWS_SUSTAIN_RATE (10,000)
#    new connections/s for BENCH_FLOWS_SUSTAIN_SECS (20) s on "off", on
#    "on", and on "on" with `sluicectl observe --follow -o json` attached:
#    the agent's CPU (utime+stime from /proc/PID/stat, % of one core) and
#    RSS, and the follower's own CPU and the records it got.
#
# Every node is its own node netns from hack/lib/cluster.sh with its own
# pods and sluiced (--source DIR --cgroup-root none --metrics-listen
# 127.0.0.1:9962 in the node netns), set up once; in part 1 each
# repetition runs CRR then RR on all of them in turn, so compared runs are
# seconds apart (paired ratios). The client is pinned to CPU0, the server
# to CPU1, the agent to neither (it shares the machine as it would a node).
#
# Environment: BENCH_REPS (5), BENCH_SECS (4, per run, plus 1 s warm-up),
# BENCH_FLOWS_CONFIGS ("off on small"; "attr" adds flow events with process
# attribution: the agent's socket programs on a cgroup of this run's own
# holding that node's rr processes), BENCH_FLOWS_SMALL_RATE (1000),
# BENCH_FLOWS_SMALL_BURST (100), BENCH_FLOWS_STEPS ("1000 2000 5000 10000
# max max4": a number paces that many connections/s, maxN runs N threads
# back to back), BENCH_FLOWS_STEP_CONFIGS ("on small"),
# BENCH_FLOWS_STEP_SECS (5), BENCH_FLOWS_SUSTAIN ("off on observe"; empty
# skips part 3), BENCH_FLOWS_SUSTAIN_RATE (10000), BENCH_FLOWS_SUSTAIN_SECS
# (20), BENCH_FLOWS_SUSTAIN_REPS (2), BENCH_RETRIES (1), BENCH_BUSY_PCT
# (10), BENCH_QUIET_WAIT (30 s).
# Output: stdout and build/bench/flows.txt. About 10 minutes.
#
# sluice runs from copies of build/bin taken at the start (snapshot_bins).
set -euo pipefail

# shellcheck source=hack/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_private_mounts "$@"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECS:-4}
CONFIGS=${BENCH_FLOWS_CONFIGS:-"off on small"}
SMALL_RATE=${BENCH_FLOWS_SMALL_RATE:-1000}
SMALL_BURST=${BENCH_FLOWS_SMALL_BURST:-100}
STEPS=${BENCH_FLOWS_STEPS:-"1000 2000 5000 10000 max max4"}
STEP_CONFIGS=${BENCH_FLOWS_STEP_CONFIGS-"on small"}
STEP_SECS=${BENCH_FLOWS_STEP_SECS:-5}
SUSTAIN=${BENCH_FLOWS_SUSTAIN-"off on observe"}
SUSTAIN_RATE=${BENCH_FLOWS_SUSTAIN_RATE:-10000}
SUSTAIN_SECS=${BENCH_FLOWS_SUSTAIN_SECS:-20}
SUSTAIN_REPS=${BENCH_FLOWS_SUSTAIN_REPS:-2}
RETRIES=${BENCH_RETRIES:-1}
QUIET_WAIT=${BENCH_QUIET_WAIT:-30}
RR_PORT=7000
METRICS=127.0.0.1:9962	# each node netns has its own loopback
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

declare -A NODE CLI_NS SRV_IP AGENTS STATUS SETUP
SL_NODES=0
OBSERVE=''	# set: flows_once attaches a follower for the run
EV=''		# flows_once's counters of its last run, see there

name() { # CONFIG: its label
	case $1 in
	off) echo "off (--flow-events off)" ;;
	on) echo "on (default budget)" ;;
	attr) echo "on + process attribution" ;;
	small) echo "on, budget ${SMALL_RATE}/s+$SMALL_BURST" ;;
	observe) echo "on + observe --follow" ;;
	*) echo "$1" ;;
	esac
}

# agent_args CONFIG: what sluiced gets besides its source.
agent_args() {
	case $1 in
	off) echo "--flow-events off" ;;
	small) echo "--event-rate $SMALL_RATE --event-burst $SMALL_BURST" ;;
	attr) echo "--cgroup-root $CG" ;;
	esac
}

# --- process attribution (config attr) -----------------------------------------

# The socket programs attribute the sockets of processes inside the cgroup
# the agent attaches them to: for "attr", a cgroup v2 directory of this
# run's own, holding that node's rr server and clients and nothing else
# (the other configurations' processes must not run its programs).
CG=''

# cg_make: CG, a new cgroup under the cgroup v2 mount; 1 when there is none.
cg_make() {
	local root
	[[ -n $CG ]] && return 0
	root=$(findmnt -n -t cgroup2 -o TARGET | head -1)
	[[ -n $root ]] || return 1
	mkdir "$root/sluice-bench-$BENCH_ID" || return 1
	CG=$root/sluice-bench-$BENCH_ID
	BENCH_CLEANUPS+=(cg_remove)
}

# cg_remove: stop what is left in CG (this run's processes only: nothing
# else is ever moved there) and remove it, which detaches the programs.
cg_remove() {
	local pid i
	while read -r pid; do
		kill "$pid" 2>/dev/null
	done <"$CG/cgroup.procs"
	for ((i = 0; i < 100; i++)); do
		[[ -n $(cat "$CG/cgroup.procs") ]] || break # (cgroupfs sizes are 0)
		sleep 0.02
	done
	rmdir "$CG"
}

in_cg() { # CONFIG: the command prefix that runs a process in CONFIG's cgroup
	[[ $1 == attr ]] || return 0
	# shellcheck disable=SC2016 # the inner shell's $$ and $@
	printf '%s\n' sh -c 'echo $$ >"$0" && exec "$@"' "$CG/cgroup.procs"
}

# --- nodes -----------------------------------------------------------------

# manifests DIR NODE IDX CLIENT_IP SERVER_IP: the node, a namespace and
# the two pods, as the API server serves them.
manifests() {
	local pod items='' p ip
	for p in client server; do
		[[ $p == client ]] && ip=$4 || ip=$5
		pod='{"apiVersion": "v1", "kind": "Pod",
		  "metadata": {"namespace": "bench", "name": "'$p'", "uid": "uid-'$p'",
		    "labels": {"app": "'$p'"}},
		  "spec": {"nodeName": "'$2'", "containers": [{"name": "c", "image": "none"}]},
		  "status": {"phase": "Running", "podIP": "'$ip'", "podIPs": [{"ip": "'$ip'"}]}}'
		items+=",$pod"
	done
	cat >"$1/cluster.json" <<-JSON
	{"apiVersion": "v1", "kind": "List", "items": [
	  {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "$2"},
	   "spec": {"podCIDR": "10.244.$3.0/24"},
	   "status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.$3"}]}},
	  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
	  $items
	]}
	JSON
}

metrics() { # CONFIG: the agent's /metrics
	node_exec "${NODE[$1]}" curl -sf --max-time 2 "http://$METRICS/metrics"
}

# node_up CONFIG: node, pods, rr server, and the agent for CONFIG, synced
# and serving /metrics.
node_up() {
	local c=$1 node cli srv dir i args wrap
	node=x$((++SL_NODES))
	NODE[$c]=$node
	if ! node_add "$node" "$SL_NODES" >>"$BENCH_WORK/x.log" 2>&1 ||
	   ! cli=$(pod_add "$node" client bench 2>>"$BENCH_WORK/x.log") ||
	   ! srv=$(pod_add "$node" server bench 2>>"$BENCH_WORK/x.log"); then
		STATUS[$c]="failed: $(tail -3 "$BENCH_WORK/x.log")"
		return 1
	fi
	CLI_NS[$c]=$(pod_ns "$node" client) SRV_IP[$c]=$srv
	client_tune "${CLI_NS[$c]}"
	if [[ $c == attr ]] && ! cg_make; then
		STATUS[$c]="skipped: no cgroup v2 directory to attach to"
		return 1
	fi
	mapfile -t wrap < <(in_cg "$c")
	bench_bg "$BENCH_WORK/$c.server.log" "$(pod_ns "$node" server)" \
		"${wrap[@]}" taskset -c 1 "$RR" server -p "$RR_PORT"
	wait_listen "$(pod_ns "$node" server)" "$RR_PORT" ||
		{ STATUS[$c]="failed: rr server did not start"; return 1; }
	dir=$BENCH_WORK/manifests-$node
	mkdir -p "$dir"
	manifests "$dir" "$node" "$SL_NODES" "$cli" "$srv"
	read -ra args <<<"$(agent_args "$c")"
	agent_start "$node" --source "$dir" --metrics-listen "$METRICS" "${args[@]}"
	AGENTS[$c]=$AGENT
	for ((i = 0; i < 500; i++)); do
		if metrics "$c" 2>/dev/null | grep -q '^sluice_agent_synced 1'; then
			[[ $c == attr ]] && SETUP[$c]=$(ctl "$node" status | grep -i '^socket')
			return 0
		fi
		kill -0 "$AGENT" 2>/dev/null || break
		sleep 0.02
	done
	STATUS[$c]="failed: sluiced did not sync: $(tail -3 "$BENCH_WORK/agent-$node.log")"
	return 1
}

# --- counting ----------------------------------------------------------------

# counters CONFIG: "SENT SHED_RATE SHED_FULL RECORDS SOCKET": the node's
# flow events (all CPUs, both subtypes), the agent's start and end
# records, and the socket events (process attribution: sent or shed).
counters() {
	metrics "$1" | awk '
		/^sluice_events_total\{type="flow",outcome="sent"\}/ { s = $2 }
		/^sluice_events_total\{type="flow",outcome="shed_rate"\}/ { r = $2 }
		/^sluice_events_total\{type="flow",outcome="shed_full"\}/ { f = $2 }
		/^sluice_events_total\{type="socket"/ { k += $2 }
		/^sluice_flows_total\{kind="(start|end)"/ { n += $2 }
		END { printf "%.0f %.0f %.0f %.0f %.0f\n", s, r, f, n, k }'
}

# active_opens NS: connections NS's processes opened (Tcp ActiveOpens).
active_opens() {
	# shellcheck disable=SC2016 # awk's $6
	bns_exec "$1" awk '/^Tcp:/ { if (h) print $6; h = 1 }' /proc/net/snmp
}

cpu_ticks() { # PID: its utime+stime so far
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

status_kib() { # PID FIELD: e.g. VmRSS, in KiB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# follow_start CONFIG: `sluicectl observe --follow -o json` on the node,
# its JSON lines counted into follow.count; sets FOLLOWER and
# FOLLOW_COUNTER once the agent counts it as a follower.
follow_start() {
	local node=${NODE[$1]} fifo=$BENCH_WORK/follow.fifo i
	rm -f "$fifo" "$BENCH_WORK/follow.count"
	mkfifo "$fifo"
	grep -c '^{' <"$fifo" >"$BENCH_WORK/follow.count" &
	FOLLOW_COUNTER=$!
	BENCH_PIDS+=("$FOLLOW_COUNTER")
	bench_bg "$fifo" "$(node_ns "$node")" "$SNAP/sluicectl" \
		--run-dir "$(node_run_dir "$node")" --bpf-root "$(node_bpf_root "$node")" \
		observe --follow -o json
	FOLLOWER=$BENCH_LAST_PID
	for ((i = 0; i < 250; i++)); do
		metrics "$1" | grep -q '^sluice_flow_followers 1' && return 0
		kill -0 "$FOLLOWER" 2>/dev/null || break
		sleep 0.02
	done
	log "sluicectl observe --follow did not attach"
	follow_stop
	return 1
}

# follow_stop: stop the follower (after a second to print what the agent
# sent it); FOLLOWED is how many lines it printed. (Not in a subshell: it
# waits for this shell's children.)
follow_stop() {
	sleep 1
	bench_stop "$FOLLOWER"
	bench_reap "$FOLLOW_COUNTER"
	FOLLOWED=$(cat "$BENCH_WORK/follow.count" 2>/dev/null || echo 0)
}

pct() { # TICKS T0: CPU ticks since $EPOCHREALTIME was T0, % of one core
	awk -v k="$1" -v hz="$HZ" -v t0="$2" -v t1="$EPOCHREALTIME" \
		'BEGIN { printf "%.1f\n", k / hz / (t1 - t0) * 100 }'
}

# flows_once NAME NS IP PORT MODE: rr_once from config CUR's client, and
# around it CUR's counters; sets EV to "CONNS SENT SHED_RATE SHED_FULL
# RECORDS AGENT_CPU% RSS_KIB HWM_KIB SECS FOLLOWED FOLLOWER_CPU% SOCKET"
# (FOLLOWED and FOLLOWER_CPU% "-" without a follower, OBSERVE empty).
# After the run it waits (3 s at most) for the agent to have read every
# event sent; the CPU shares are over the run and that wait.
flows_once() {
	local agent=${AGENTS[$CUR]} s0 r0 f0 n0 s1 r1 f1 n1 o0 o1 k0 k1 j0 t0 i
	local follow="- -" x0 x1 RR_WRAP
	mapfile -t RR_WRAP < <(in_cg "$CUR")
	EV=''
	if [[ -n $OBSERVE ]]; then
		follow_start "$CUR" || return 1
		j0=$(cpu_ticks "$FOLLOWER")
	fi
	read -r s0 r0 f0 n0 x0 < <(counters "$CUR")
	o0=$(active_opens "$2") k0=$(cpu_ticks "$agent") t0=$EPOCHREALTIME
	if ! rr_once "$@"; then
		[[ -n $OBSERVE ]] && follow_stop
		return 1
	fi
	for ((i = 0; i < 150; i++)); do
		read -r s1 r1 f1 n1 x1 < <(counters "$CUR")
		((n1 - n0 >= s1 - s0)) && break
		sleep 0.02
	done
	o1=$(active_opens "$2") k1=$(pct $(($(cpu_ticks "$agent") - k0)) "$t0")
	EV="$((o1 - o0)) $((s1 - s0)) $((r1 - r0)) $((f1 - f0)) $((n1 - n0)) $k1"
	EV+=" $(status_kib "$agent" VmRSS) $(status_kib "$agent" VmHWM) $(secs_since "$t0")"
	if [[ -n $OBSERVE ]]; then
		follow=$(pct $(($(cpu_ticks "$FOLLOWER") - j0)) "$t0")
		follow_stop
		follow="${FOLLOWED:-0} $follow"
	fi
	EV+=" $follow $((x1 - x0))"
}

# measure CONFIG MODE NAME: one flows_once run (rr MODE: crr or rr) of
# CONFIG through measure_clean (rows in res/NAME.MODE); appends its
# counters, after KEY (the repetition by default), to res/NAME.ev.
measure() {
	CUR=$1 RR_RUN=flows_once
	rr_measure "$3" "$2" "${CLI_NS[$1]}" "${SRV_IP[$1]}" "$RR_PORT"
	[[ -n $EV ]] && echo "${KEY:-$REP} $EV" >>"$BENCH_WORK/res/$3.ev"
	return 0
}

# --- report ----------------------------------------------------------------

ok() { [[ -n ${NODE[$1]:-} && -z ${STATUS[$1]:-} ]]; } # CONFIG: set up

us() { # FILE COL: the median of a latency column, 1 decimal
	awk -v v="$(res_med "$1" "$2")" 'BEGIN {
		if (v == "-") print "-"; else printf "%.1f\n", v }'
}

# ratio_row A B [GOAL]: CRR and RR ratios of A over B (medians, paired),
# and whether both meet GOAL.
ratio_row() {
	local res=$BENCH_WORK/res c r verdict=''
	ok "$1" && ok "$2" || return 0
	c=$(ratio "$(res_med "$res/$1.crr.crr")" "$(res_med "$res/$2.crr.crr")")
	r=$(ratio "$(res_med "$res/$1.rr.rr")" "$(res_med "$res/$2.rr.rr")")
	[[ -n ${3:-} ]] && verdict="goal >= $3: $(awk -v c="$c" -v r="$r" -v g="$3" \
		'BEGIN { print (c != "-" && r != "-" && c >= g && r >= g) ? "met" : "NOT met" }')"
	printf '%-48s %-26s %-26s %s\n' "$(name "$1") / $(name "$2")" \
		"$c ($(res_paired "$res/$1.crr.crr" "$res/$2.crr.crr"))" \
		"$r ($(res_paired "$res/$1.rr.rr" "$res/$2.rr.rr"))" "$verdict"
}

# ev_row LABEL EVLINE: one run's counters (an EV, after its REP): the
# connections, the flow events each way they went, how the events add up
# to 2 per connection, the records, what was lost, the agent's CPU.
ev_row() {
	local label=$1
	shift
	awk -v l="$label" -v ncpu="$NCPU" '{
		conns = $2; sent = $3; shr = $4; shf = $5; rec = $6
		want = 2 * conns
		if (sent + shr + shf == 0) acc = "no events"
		else if (sent + shr + shf == want) acc = "= 2 x conns"
		else acc = sprintf("%+d vs 2 x conns", sent + shr + shf - want)
		lost = sent + shr + shf ? want - rec : "-"
		printf "  %-30s %8d %9d %9d %9d %7.0f  %-16s %9d %8s %6.1f%% %8d\n",
			l, conns, sent, shr, shf, (sent + shr + shf) / $10, acc, rec,
			lost, $7, $13
	}' <<<"$*"
}

ev_head() {
	printf '  %-30s %8s %9s %9s %9s %7s  %-16s %9s %8s %7s %8s\n' "$1" conns sent \
		shed_rate shed_full events/s "sent+shed" records lost agent socket
}

report_onoff() {
	local c t res=$BENCH_WORK/res line
	echo "sluice flow visibility benchmark: pod -> pod on the same node, flow events"
	echo "off vs on (every connection a start and a close event, read into records)"
	echo "$(date -u +%Y-%m-%dT%H:%MZ), $REPS reps x ${SECS} s (+1 s warm-up), client CPU0, server CPU1"
	report_env
	echo
	echo "Median [min-max] over the clean runs, n clean/all (* = none clean, all used);"
	echo "latency: median over the runs of each run's percentile (us)"
	printf '%-30s %-26s %-26s %7s %7s %7s %7s\n' config "TCP_CRR (conn/s)" \
		"TCP_RR (trans/s)" "CRR p50" "CRR p99" "RR p50" "RR p99"
	for c in "${COMBOS[@]}"; do
		if ! ok "$c"; then
			printf '%-30s %s\n' "$(name "$c")" "${STATUS[$c]}"
			continue
		fi
		printf '%-30s %-26s %-26s %7s %7s %7s %7s\n' "$(name "$c")" \
			"$(res_cell "$res/$c.crr.crr")" "$(res_cell "$res/$c.rr.rr")" \
			"$(us "$res/$c.crr.crr" 3)" "$(us "$res/$c.crr.crr" 4)" \
			"$(us "$res/$c.rr.rr" 3)" "$(us "$res/$c.rr.rr" 4)"
	done
	echo
	echo "Ratios of the medians, and in brackets the median [min-max] of the"
	echo "per-repetition (paired) ratios"
	printf '%-48s %-26s %-26s\n' "" TCP_CRR TCP_RR
	ratio_row on off 0.97
	ratio_row small on 0.97
	ratio_row small off
	ratio_row attr off 0.97
	ratio_row attr on
	echo
	echo "Each run's counters: connections the client opened (the kernel's Tcp"
	echo "ActiveOpens in its netns: the measured window, the 1 s warm-up and rr's"
	echo "probe); flow events from sl_event_stats via /metrics (all CPUs, start and"
	echo "close) sent and shed, and all of them per second of the run; sent + shed"
	echo "against 2 per connection; the agent's start and end records"
	echo "(sluice_flows_total); lost = 2 x conns - records; the agent's CPU (% of one"
	echo "core over the run); socket events (process attribution, sent + shed)"
	for t in crr rr; do
		ev_head "${t^^} rep, config"
		for ((REP = 1; REP <= REPS; REP++)); do
			for c in "${COMBOS[@]}"; do
				line=$(awk -v r="$REP" '$1 == r' "$res/$c.$t.ev" 2>/dev/null)
				[[ -n $line ]] && ev_row "$REP $(name "$c")" "$line"
			done
		done
	done
	echo
	check_events
	[[ -n ${SETUP[attr]:-} ]] && echo "$(name attr): ${SETUP[attr]}"
	redo_line
}

# check_events: over every run with flow events, whether sent + shed was
# 2 x connections and every sent event became a record; on "small",
# whether what was sent stayed within the budget (per CPU: the burst,
# plus the rate over the run's seconds).
check_events() {
	local c
	for c in "${COMBOS[@]}"; do
		[[ $c == off ]] && continue
		ok "$c" || continue
		cat "$BENCH_WORK"/res/"$c".*.ev 2>/dev/null | awk -v n="$(name "$c")" \
			-v small="$([[ $c == small ]] && echo 1)" -v ncpu="$NCPU" \
			-v rate="$SMALL_RATE" -v burst="$SMALL_BURST" '
			{
				runs++
				acc += $3 + $4 + $5 == 2 * $2
				read += $6 == $3
				shed += $4 + $5; all += $3 + $4 + $5
				bound = ncpu * (burst + rate * $10)
				within += $3 <= bound
			}
			END {
				if (!runs) exit
				printf "%s: sent + shed = 2 x connections in %d of %d runs;", n, acc, runs
				printf " every sent event recorded in %d of %d;", read, runs
				printf " %.1f%% of the events shed\n", all ? shed / all * 100 : 0
				if (small)
					printf "  sent within the budget (%d CPUs x (%d + %d/s x the run'"'"'s seconds)) in %d of %d runs\n",
						ncpu, burst, rate, within, runs
			}'
	done
}

redo_line() {
	local res=$BENCH_WORK/res
	echo "Clean run: other processes used at most ${BUSY_PCT}% of a CPU while it ran;" \
		"$(wc -l <"$res/redone") runs redone, $(cat "$res"/*.crr "$res"/*.rr \
		2>/dev/null | awk '$6 == 0' | wc -l) kept busy."
}

# --- part 2: rate steps ------------------------------------------------------

step_args() { # STEP: rr's arguments for it
	case $1 in
	max) echo "" ;;
	max*) echo "-P ${1#max}" ;;
	*) echo "-r $1" ;;
	esac
}

step_label() {
	case $1 in
	max) echo "back to back, 1 thread" ;;
	max*) echo "back to back, ${1#max} threads" ;;
	*) echo "paced $1/s" ;;
	esac
}

steps() {
	local c s SECS=$STEP_SECS
	REP=1
	for c in $STEP_CONFIGS; do
		ok "$c" || continue
		printf 'steps %-6s' "$c" >&2
		for s in $STEPS; do
			read -ra RR_ARGS <<<"$(step_args "$s")"
			printf ' %s' "$s" >&2
			KEY=$s measure "$c" crr "$c.$s"
		done
		echo >&2
	done
	RR_ARGS=()
}

report_steps() {
	local c s line res=$BENCH_WORK/res best r
	echo "New connections at increasing rates (${STEP_SECS} s each, +1 s warm-up): conn/s"
	echo "as rr counts them, then the run's counters as above. The budget is per CPU"
	echo "(default 50000 events/s, burst 10000); a connection's start is sent on the"
	echo "client's CPU and its close on the server's (the second FIN), so here (client"
	echo "on CPU0, server on CPU1) each CPU spends about one event per connection; the"
	echo "totals per CPU since each node started are under each table"
	for c in $STEP_CONFIGS; do
		ok "$c" || continue
		ev_head "$(printf '%-22s %7s' "$(name "$c")" conn/s)"
		best=''
		for s in $STEPS; do
			line=$(cat "$res/$c.$s.ev" 2>/dev/null) || continue
			r=$(res_med "$res/$c.$s.crr")
			ev_row "$(printf '%-22s %7s' "$(step_label "$s")" "$r")" "$line"
			awk '{ exit !($3 + $4 + $5 > 0 && $6 == 2 * $2) }' <<<"$line" &&
				best=$(awk -v b="${best:-0}" -v r="$r" 'BEGIN { print (r > b ? r : b) }')
		done
		echo "  highest rate with no event lost: ${best:-none} conn/s"
		percpu "$c"
	done
}

# percpu CONFIG: sl_event_stats of flow starts and closes per CPU, sent/shed.
percpu() {
	local node=${NODE[$1]} sub kind
	for sub in 1 2; do
		[[ $sub == 1 ]] && kind=start || kind=close
		node_exec "$node" bpftool -j map lookup pinned \
			"$(node_bpf_root "$node")/sl_event_stats" key "$sub" 3 0 0 2>/dev/null |
			jq -r --arg k "$kind" '"  \($k) events by CPU (sent/shed): " +
				([.formatted.values[] | "cpu\(.cpu) \(.value.sent)/\(.value.shed_rate + .value.shed_full)"]
				| join(", "))' 2>/dev/null || true
	done
}

# --- part 3: the agent under sustained load ----------------------------------

# sustain_cfg MODE: the config whose node MODE runs on.
sustain_cfg() { [[ $1 == observe ]] && echo on || echo "$1"; }

sustain() {
	local m c SECS=$SUSTAIN_SECS
	RR_ARGS=(-r "$SUSTAIN_RATE")
	for ((REP = 1; REP <= SUSTAIN_REPS; REP++)); do
		printf 'sustain %d/%d' "$REP" "$SUSTAIN_REPS" >&2
		for m in $SUSTAIN; do
			c=$(sustain_cfg "$m")
			ok "$c" || continue
			printf ' %s' "$m" >&2
			OBSERVE=$([[ $m == observe ]] && echo 1) measure "$c" crr "$c.$m"
		done
		echo >&2
	done
	RR_ARGS=()
}

report_sustain() {
	local m f res=$BENCH_WORK/res
	echo "The agent at ${SUSTAIN_RATE} new connections/s (paced) for ${SUSTAIN_SECS} s (+1 s"
	echo "warm-up), each connection a flow (a start and an end record): the agent's CPU"
	echo "(utime+stime, % of one core over the run; per 10k: scaled to 10,000 conn/s)"
	echo "and memory (VmRSS after the run, VmHWM), with and without a follower"
	echo "(sluicectl observe --follow -o json; the JSON lines it printed, its CPU)"
	printf '  %-24s %3s %7s %8s %7s %8s %6s %7s %8s %7s %7s %8s %7s\n' "" rep conn/s \
		sent shed records lost agent "per 10k" RSS HWM follower "its CPU"
	for m in $SUSTAIN; do
		f=$res/$(sustain_cfg "$m").$m
		[[ -f $f.ev ]] || continue
		# REP RATE P50 P99 ERR CLEAN, then REP's counters (flows_once).
		join <(sort -k1,1 "$f.crr") <(sort -k1,1 "$f.ev") |
			awk -v l="$(name "$m")" '{
				ev = $8 + $9 + $10
				printf "  %-24s %3d %7d %8d %7d %8d %6s %6.1f%% %7.1f%% %6.1fM %6.1fM %8s %7s\n",
					l, $1, $2, $8, $9 + $10, $11, ev ? 2 * $7 - $11 : "-",
					$12, $2 ? $12 * 10000 / $2 : 0, $13 / 1024, $14 / 1024,
					$16, $17 == "-" ? "-" : $17 "%"
			}'
	done
	for m in $SUSTAIN; do
		awk -v r="$(res_med "$res/$(sustain_cfg "$m").$m.crr")" -v t="$SUSTAIN_RATE" \
			-v l="$(name "$m")" 'BEGIN {
			if (r != "-" && r < 0.95 * t)
				printf "  %s: the machine reached %d conn/s (median), not %d\n", l, r, t }'
	done
}

# --- main ----------------------------------------------------------------

main() {
	local c t
	bench_init flows
	bench_build
	for t in jq curl taskset bpftool; do
		command -v "$t" >/dev/null || { log "$t is missing"; exit 1; }
	done
	mkdir -p "$BENCH_WORK/res" "$BENCH_OUT"
	: >"$BENCH_WORK/res/redone"
	BUILD_INFO="no sluice build"
	snapshot_bins
	[[ -n $SNAP ]] || { log "build/bin/sluice, sluiced or sluicectl is missing (run make first)"; exit 1; }
	"$SNAP/sluiced" --help 2>&1 | grep -q -- --flow-events ||
		{ log "sluiced has no --flow-events (too old a build)"; exit 1; }
	START_ENV=$(bench_env_line)
	cluster_start

	read -ra COMBOS <<<"$CONFIGS"
	for c in $STEP_CONFIGS $SUSTAIN; do
		c=$(sustain_cfg "$c")
		[[ " ${COMBOS[*]} " == *" $c "* ]] || COMBOS+=("$c")
	done
	for c in "${COMBOS[@]}"; do
		log "setting up $(name "$c")"
		node_up "$c" || log "${STATUS[$c]}"
	done
	read -ra COMBOS <<<"$CONFIGS"

	for ((REP = 1; REP <= REPS; REP++)); do
		for t in crr rr; do
			printf 'rep %d/%d %-4s' "$REP" "$REPS" "$t" >&2
			for c in "${COMBOS[@]}"; do
				ok "$c" || continue
				printf ' %s' "$c" >&2
				measure "$c" "$t" "$c.$t"
			done
			echo >&2
		done
	done
	steps
	[[ -n $SUSTAIN ]] && sustain
	{
		report_onoff
		echo
		report_steps
		if [[ -n $SUSTAIN ]]; then
			echo
			report_sustain
		fi
	} | tee "$BENCH_OUT/flows.txt"
}

main "$@"

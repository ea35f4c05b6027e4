#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# sluice end-to-end suite: the real plugin, run through libcni
# (build/bin/sl-cnirun, as containerd and CRI-O run it) and directly with
# env + stdin, inside network namespaces this script creates. Builds nothing:
# run `make` and build build/bin/sl-cnirun first.
#
#   tests/e2e/run.sh            every case, then the "san" cases again with
#                               build/san/bin/sluice when it exists
#   TEST=NAME tests/e2e/run.sh  the cases whose name, label (NAME/san for a
#                               sanitizer run) or file (test_NAME.sh) match
#                               NAME, a glob
#   tests/e2e/run.sh -l         list the cases
#
# Environment:
#   SLUICE_BIN=PATH     plugin under test (default build/bin/sluice); it must
#                       be named "sluice" (libcni finds it by its type)
#   E2E_SAN=0           no sanitizer reruns
#   E2E_KEEP=1          keep the logs even when everything passed
#   E2E_CASE_TIMEOUT=S  seconds a case may take (default 120)
#
# Isolation: the script re-executes itself under unshare with a private mount
# namespace (a tmpfs on /run/netns and on the state directory, so every netns
# bind mount, bpffs mount and state file vanishes with the process), a new
# PID namespace (every server or holder process dies with it, even on
# SIGKILL) and a throwaway network namespace (an accidental command outside a
# node or pod namespace lands there, never in the root one). Each case also
# removes what it made and fails if anything survives.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
E2E_DIR=$(dirname "$SELF")
E2E_TOP=$(cd "$E2E_DIR/../.." && pwd)
export E2E_DIR E2E_TOP
SAN_BIN=$E2E_TOP/build/san/bin/sluice

die() {
	echo "e2e: $*" >&2
	exit 2
}

# --- registry: test files call e2e_case NAME FUNCTION [san] ----------------------
CASE_NAMES=()
declare -A CASE_FN CASE_FILE CASE_SAN

e2e_case() {
	CASE_NAMES+=("$1")
	CASE_FN[$1]=$2
	CASE_FILE[$1]=$(basename "${BASH_SOURCE[1]}" .sh)
	CASE_SAN[$1]=${3:-}
}

load_cases() {
	local f
	# shellcheck source=lib.sh
	source "$E2E_DIR/lib.sh"
	for f in "$E2E_DIR"/test_*.sh; do
		# shellcheck disable=SC1090
		source "$f"
	done
}

# selected LABEL NAME: does TEST pick this run?
selected() {
	local label=$1 name=$2 file=${CASE_FILE[$2]}
	[[ -z ${TEST:-} ]] && return 0
	# shellcheck disable=SC2053 # TEST is a glob on purpose
	[[ $label == $TEST || $name == $TEST || $file == $TEST ||
		$file == test_$TEST ]]
}

# --- one case, in its own process (run.sh --case NAME) ---------------------------
if [[ ${1:-} == --case ]]; then
	load_cases
	name=$2
	[[ -n ${CASE_FN[$name]:-} ]] || die "no case $name"
	set -E
	trap '_on_err $? "$BASH_COMMAND" "${BASH_SOURCE[0]}" $LINENO' ERR
	case_setup "$name"
	say "case $name: plugin $SLUICE_BIN, cluster id $SL_ID"
	"${CASE_FN[$name]}"
	exit 0
fi

if [[ ${1:-} == -l ]]; then
	load_cases
	for name in "${CASE_NAMES[@]}"; do
		printf '%-18s %-18s %s\n' "$name" "${CASE_FILE[$name]}" "${CASE_SAN[$name]}"
	done
	exit 0
fi

# --- outside: checks, then the same script inside fresh namespaces ---------------
if [[ -z ${E2E_INNER:-} ]]; then
	[[ $EUID -eq 0 ]] || die "needs root (network namespaces, bpffs, tc)"
	for tool in unshare nsenter ip bpftool python3 timeout; do
		command -v "$tool" >/dev/null || die "$tool not found"
	done
	[[ -x ${SLUICE_BIN:=$E2E_TOP/build/bin/sluice} ]] ||
		die "$SLUICE_BIN missing: run make"
	[[ $(basename "$SLUICE_BIN") == sluice ]] ||
		die "SLUICE_BIN must be named sluice (libcni runs the plugin by its type)"
	[[ -x $E2E_TOP/build/bin/sl-cnirun ]] ||
		die "build/bin/sl-cnirun missing: GO111MODULE=off" \
			"GOPATH=/usr/share/gocode GOCACHE=\$PWD/build/gocache" \
			"go build -o build/bin/sl-cnirun ./hack/cnirun"
	SLUICE_BIN=$(readlink -f "$SLUICE_BIN")
	E2E_WORK=$(mktemp -d /tmp/sluice-e2e.XXXXXX)
	# The run id names every namespace (sl-e<run><case>-…), so the check
	# below can tell ours from anyone else's.
	E2E_RUN=$(printf '%03x' $((SRANDOM % 4096)))
	E2E_PY=$(python3 -c 'import sys; print(sys.executable)')
	export SLUICE_BIN E2E_WORK E2E_RUN E2E_PY
	rc=0
	E2E_INNER=1 unshare --mount --propagation private --net --pid --fork \
		--mount-proc --kill-child "$SELF" "$@" || rc=$?
	leaks=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^sl-e$E2E_RUN" || true)
	leaks+=$(grep -F "$E2E_WORK" /proc/self/mounts || true)
	if [[ -n $leaks ]]; then
		echo "e2e: left in the root namespaces: $leaks" >&2
		rc=1
	fi
	if ((rc == 0)) && [[ -z ${E2E_KEEP:-} ]]; then
		rm -rf "$E2E_WORK"
	else
		rm -rf "$E2E_WORK/state"
		echo "e2e: logs in $E2E_WORK/logs"
	fi
	exit "$rc"
fi

# --- inside the private namespaces ----------------------------------------------
mkdir -p /run/netns "$E2E_WORK/state" "$E2E_WORK/logs"
mount -t tmpfs -o mode=0755 e2e-netns /run/netns
mount -t tmpfs -o mode=0700 e2e-state "$E2E_WORK/state"

load_cases

SAN_RUNS=0
if [[ ${E2E_SAN:-1} != 0 && -x $SAN_BIN && $SLUICE_BIN != "$(readlink -f "$SAN_BIN")" ]]; then
	SAN_RUNS=1
fi
# A SLUICE_BIN that is itself a sanitizer build gets the sanitizer options.
SELF_SAN=
if grep -q __asan_init "$SLUICE_BIN" 2>/dev/null; then
	SELF_SAN=1
fi

PLAN=()
for name in "${CASE_NAMES[@]}"; do
	selected "$name" "$name" && PLAN+=("$name")
done
if ((SAN_RUNS)); then
	for name in "${CASE_NAMES[@]}"; do
		[[ ${CASE_SAN[$name]} == san ]] || continue
		selected "$name/san" "$name" && PLAN+=("$name/san")
	done
fi
((${#PLAN[@]})) || die "no case matches TEST=${TEST:-}"
if ((!SAN_RUNS)) && [[ -z $SELF_SAN ]]; then
	echo "e2e: no sanitizer reruns ($SAN_BIN missing or E2E_SAN=0)"
fi

passed=0
failed=()
t_suite=$EPOCHREALTIME
n=0
for label in "${PLAN[@]}"; do
	name=${label%/san}
	n=$((n + 1))
	bin=$SLUICE_BIN san=$SELF_SAN
	if [[ $label == */san ]]; then
		bin=$(readlink -f "$SAN_BIN") san=1
	fi
	log=$E2E_WORK/logs/${label//\//-}.log
	t0=$EPOCHREALTIME
	rc=0
	SLUICE_BIN=$bin E2E_SAN_MODE=$san E2E_CASE_ID=$(printf 'e%s%02d' "$E2E_RUN" "$n") \
		timeout -k 10 "${E2E_CASE_TIMEOUT:-120}" "$SELF" --case "$name" \
		</dev/null >"$log" 2>&1 || rc=$?
	dt=$("$E2E_PY" -c "print('%.1f' % ($EPOCHREALTIME - $t0))")
	if ((rc == 0)); then
		printf 'PASS %-22s %6ss\n' "$label" "$dt"
		passed=$((passed + 1))
	else
		((rc == 124 || rc == 137)) && echo "case timed out" >>"$log"
		printf 'FAIL %-22s %6ss (rc=%d)\n' "$label" "$dt" "$rc"
		# sed, not head: reading everything, it cannot break the pipe.
		grep -E '^(FAIL|error:|case timed out)' "$log" | sed -n '1,5s/^/     /p' || true
		failed+=("$label")
	fi
done

# Whatever a killed case could not remove: every namespace under the private
# /run/netns and every process in this PID namespace is ours.
for ns in /run/netns/*; do
	[[ -e $ns ]] || continue
	echo "e2e: removing leftover netns ${ns##*/}" >&2
	ip netns del "${ns##*/}" 2>/dev/null || true
	failed+=("leftover:${ns##*/}")
done
# Orphans of a killed case are reparented to us, PID 1 of this namespace
# (pgrep excludes itself, so nothing else is our child at this point).
pgrep -P $$ -a >"$E2E_WORK/logs/.orphans" || true
while read -r pid cmd; do
	echo "e2e: leftover process $pid: $cmd" >&2
	kill -KILL "$pid" 2>/dev/null || true
	failed+=("leftover:pid$pid")
done <"$E2E_WORK/logs/.orphans"
rm -f "$E2E_WORK/logs/.orphans"

total=$("$E2E_PY" -c "print('%.1f' % ($EPOCHREALTIME - $t_suite))")
echo "e2e: ${passed} passed, ${#failed[@]} failed in ${total}s${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))

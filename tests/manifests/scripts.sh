#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# hack/image/install.sh and uninstall.sh for real, around a real agent, the
# way the DaemonSets run them on a node: run.sh starts this under unshare
# (a private mount and network namespace), so the bpffs the install mounts,
# the interfaces and every tc attachment vanish with it. The one thing
# outside is a scratch cgroup (cgroups have no namespace of their own here),
# removed on exit.
#
#   install    bpffs mounted when missing; plugin and conflist installed by
#              rename, byte for byte, nothing left behind; a second run
#              rewrites nothing; a changed conflist replaces the file
#   agent      sluiced with the DaemonSet's flags attaches to an interface
#              and the cgroup; the installed plugin's STATUS then succeeds
#              (the agent's node record replaces podCIDR)
#   uninstall  refuses while the agent answers; after SIGTERM the pinned
#              datapath is still there (what a rolling update relies on);
#              then removes conflist, plugin, pins, run directory, tc and
#              cgroup attachments; a second run succeeds
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${SLUICE_BUILD:-$TOP/build}/bin
PY=${PY:-python3}
T=$(mktemp -d /tmp/sluice-manifests.XXXXXX)
CG=
AGENT=
failed=0

# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	[[ -n $AGENT ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	if [[ -n $CG && -d $CG ]]; then
		# Programs attached to a cgroup do not keep it: rmdir frees them.
		rmdir "$CG" || echo "scripts: left behind: cgroup $CG" >&2
	fi
	umount "$T/bpf" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok    scripts: $*"; }
bad() {
	echo "FAIL  scripts: $*"
	failed=1
}
# expect DESCRIPTION COMMAND...: the command's output is shown on failure.
expect() {
	local what=$1
	shift
	if "$@" >"$T/cmd.out" 2>&1; then
		ok "$what"
	else
		bad "$what"
		sed 's/^/      /' "$T/cmd.out"
	fi
}

mkdir -p "$T/bpf" "$T/cni/bin" "$T/cni/net.d" "$T/source" "$T/etc"
# The ConfigMap's conflist, as the volume would show it.
"$PY" - "$TOP/manifests/30-configmap.yaml" >"$T/etc/cni-conflist" <<'EOF'
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["data"]["cni-conflist"], end="")
EOF

install_env=(PLUGIN="$BIN/sluice" CONFLIST="$T/etc/cni-conflist"
	CNI_BIN_DIR="$T/cni/bin" CNI_CONF_DIR="$T/cni/net.d"
	CNI_CONF_NAME=05-sluice.conflist BPFFS="$T/bpf")
uninstall_env=(SLUICECTL="$BIN/sluicectl" CNI_BIN_DIR="$T/cni/bin"
	CNI_CONF_DIR="$T/cni/net.d" CNI_CONF_NAME=05-sluice.conflist
	BPF_ROOT="$T/bpf/sluice" RUN_DIR="$T/run")
conf=$T/cni/net.d/05-sluice.conflist
plugin=$T/cni/bin/sluice

# --- install ------------------------------------------------------------------
expect "install.sh runs" env "${install_env[@]}" sh "$TOP/hack/image/install.sh"
expect "install.sh mounted a bpffs" \
	test "$(stat -f -c %t "$T/bpf")" = cafe4a11
expect "plugin installed byte for byte, mode 0755" \
	bash -c "cmp -s '$BIN/sluice' '$plugin' && [[ \$(stat -c %a '$plugin') == 755 ]]"
expect "conflist installed as the ConfigMap holds it" cmp -s "$T/etc/cni-conflist" "$conf"
expect "no temporary file left" \
	test -z "$(find "$T/cni" -name '.*')"
inode=$(stat -c %i "$conf")
out=$(env "${install_env[@]}" sh "$TOP/hack/image/install.sh" 2>&1)
expect "a second run rewrites nothing" \
	test "$(stat -c %i "$conf")" = "$inode" -a "$(grep -c 'up to date' <<<"$out")" = 2
sed -i 's/"sluice"/"sluice" /' "$T/etc/cni-conflist"
env "${install_env[@]}" sh "$TOP/hack/image/install.sh" 2>/dev/null
expect "a changed conflist is renamed over the old one" \
	bash -c "[[ \$(stat -c %i '$conf') != $inode ]] && cmp -s '$T/etc/cni-conflist' '$conf'"

# --- agent --------------------------------------------------------------------
ip link set lo up
ip link add sl-mt0 type veth peer name sl-mt1
ip addr add 192.168.77.1/24 dev sl-mt0
ip link set sl-mt0 up
ip link set sl-mt1 up
cgroot=
for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	if [[ $(stat -f -c %T "$d" 2>/dev/null) == cgroup2fs ]]; then
		cgroot=$d
		break
	fi
done
if [[ -n $cgroot ]]; then
	CG=$cgroot/sluice-manifests-$$
	mkdir "$CG"
else
	echo "skip  scripts: no cgroup v2 mount; the agent runs with --cgroup-root none"
fi
printf '%s\n' 'apiVersion: v1' 'kind: Node' 'metadata: {name: node-1}' \
	'spec: {podCIDR: 10.244.1.0/24}' \
	'status: {addresses: [{type: InternalIP, address: 192.168.77.1}]}' \
	>"$T/source/node.yaml"
# The DaemonSet's flags, with this test's paths (--source: no API server).
"$BIN/sluiced" --node-name=node-1 --source="$T/source" \
	--bpf-root="$T/bpf/sluice" --run-dir="$T/run" \
	--cgroup-root="${CG:-none}" --devices=sl-mt0 --lb-algorithm=random \
	--flow-events=on --log-level=info --metrics-listen=127.0.0.1:9962 \
	>"$T/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	"$BIN/sluicectl" --run-dir "$T/run" --bpf-root "$T/bpf/sluice" status \
		>/dev/null 2>&1 && break
	sleep 0.1
done
expect "the agent answers" \
	"$BIN/sluicectl" --run-dir "$T/run" --bpf-root "$T/bpf/sluice" status
expect "the agent attached to the interface" \
	bash -c "tc filter show dev sl-mt0 ingress | grep -q sl_from_netdev"
if [[ -n $CG ]]; then
	expect "the agent attached to the cgroup" \
		bash -c "bpftool cgroup show '$CG' | grep -q sl_sock"
fi
# The plugin as the runtime would call it with the installed conflist
# (paths moved to this test's): no podCIDR, the agent's node record instead.
entry=$("$PY" - "$conf" "$T" <<'EOF'
import json, sys
cl = json.load(open(sys.argv[1]))
e = dict(cl["plugins"][0], name=cl["name"], cniVersion="1.1.0",
         bpfRoot=sys.argv[2] + "/bpf/sluice", runDir=sys.argv[2] + "/run")
print(json.dumps(e))
EOF
)
expect "the installed plugin's STATUS succeeds with the agent running" \
	bash -c "CNI_COMMAND=STATUS CNI_PATH='$T/cni/bin' '$plugin' <<<'$entry' >/dev/null 2>&1"

# --- uninstall ----------------------------------------------------------------
expect "uninstall.sh refuses while the agent answers" \
	bash -c "! env ${uninstall_env[*]@Q} sh '$TOP/hack/image/uninstall.sh' 2>/dev/null"
expect "... and removes nothing" test -f "$conf" -a -f "$plugin"
kill -TERM "$AGENT"
wait "$AGENT" || true
AGENT=
expect "after the agent's SIGTERM the datapath is still pinned" \
	test -e "$T/bpf/sluice/sl_from_pod"
expect "uninstall.sh runs once the agent is gone" \
	env "${uninstall_env[@]}" sh "$TOP/hack/image/uninstall.sh"
expect "conflist removed" test ! -e "$conf"
expect "plugin removed" test ! -e "$plugin"
expect "pinned datapath removed" test ! -e "$T/bpf/sluice"
expect "run directory removed" test ! -e "$T/run"
expect "tc programs detached from the interface" \
	bash -c "! tc filter show dev sl-mt0 ingress | grep -q sl_ &&
		 ! tc filter show dev sl-mt0 egress | grep -q sl_"
if [[ -n $CG ]]; then
	expect "cgroup programs detached" \
		bash -c "! bpftool cgroup show '$CG' | grep -q sl_"
fi
expect "a second uninstall.sh run succeeds" \
	env "${uninstall_env[@]}" sh "$TOP/hack/image/uninstall.sh" 2>/dev/null

if ((failed)); then
	echo "--- agent log" >&2
	tail -20 "$T/agent.log" | sed 's/^/      /' >&2 || true
fi
exit "$failed"

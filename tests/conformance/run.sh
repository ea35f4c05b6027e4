#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# CNI conformance driver: builds the Go test package in this directory and
# runs it against build/bin/sluice through libcni, inside a node network
# namespace that this script creates.
#
#   tests/conformance/run.sh [go test flags, e.g. -test.run 'TestLifecycle/1.0.0']
#
# Environment:
#   SLUICE_CF_PLUGIN=sluice|ptp   plugin under test (ptp = the reference
#                                 plugin with host-local, to check the harness)
#   SLUICE_CF_CNI_PATH=DIR:DIR    plugin search path (default
#                                 build/bin:/usr/lib/cni; e.g. put
#                                 build/san/bin first for the ASan build)
#   SLUICE_CF_KEEP=1              keep the work directory (runDirs, bpffs dirs)
#
# Needs root, go (golang-go), golang-github-appc-cni-dev (libcni),
# containernetworking-plugins (portmap, bandwidth, ptp, host-local in
# /usr/lib/cni), iproute2, iptables and util-linux.
#
# Isolation: the script re-executes itself in a private mount namespace with
# a tmpfs on /run/netns, so every netns bind mount and the bpffs mount vanish
# when it exits, even if it is killed; it also removes them explicitly. The
# root network namespace is never touched: the test binary runs inside the
# node netns and refuses to run anywhere else.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
PLUGIN=${SLUICE_CF_PLUGIN:-sluice}
TEST_BIN=$BUILD/tests/conformance.test

if [[ -z ${SLUICE_CF_INNER:-} ]]; then
	if [[ $EUID -ne 0 ]]; then
		echo "conformance: needs root (network namespaces, bpffs)" >&2
		exit 1
	fi
	if [[ $PLUGIN == sluice && ! -x $BUILD/bin/sluice ]]; then
		echo "conformance: $BUILD/bin/sluice missing; run make first" >&2
		exit 1
	fi
	for tool in go ip tc nsenter unshare iptables iptables-save; do
		command -v "$tool" >/dev/null || {
			echo "conformance: $tool not found" >&2
			exit 1
		}
	done
	# Debian's golang-github-appc-cni-dev lives in /usr/share/gocode and
	# has no go.mod, hence GOPATH mode.
	mkdir -p "$BUILD/tests" "$BUILD/gocache"
	(cd "$TOP/tests/conformance" &&
		GO111MODULE=off GOPATH=/usr/share/gocode \
			GOCACHE="$BUILD/gocache" GOFLAGS='' \
			go test -c -o "$TEST_BIN" .)

	# unshare needs an existing mount point; create /run/netns only if
	# absent and remove it again so the host is left as found.
	made_netns_dir=0
	if [[ ! -d /run/netns ]]; then
		mkdir -p /run/netns
		made_netns_dir=1
	fi
	rc=0
	SLUICE_CF_INNER=1 unshare --mount --propagation private \
		"$0" "$@" || rc=$?
	if [[ $made_netns_dir == 1 ]]; then
		rmdir /run/netns 2>/dev/null || true
	fi
	exit "$rc"
fi

# --- inside the private mount namespace -----------------------------------
mount -t tmpfs -o mode=0755 sluice-cf-netns /run/netns

ID=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
PFX=slcf-$ID
WORK=$(mktemp -d "/tmp/sluice-cf-$ID.XXXXXX")
NODE=$PFX-node

# shellcheck disable=SC2317 # invoked through the trap
cleanup() {
	local ns m
	set +e
	# The tests delete their own netns; this catches what a crashed
	# test left behind. Only our prefix, only our tmpfs.
	ip netns list | awk '{print $1}' | grep "^$PFX-" | while read -r ns; do
		ip netns del "$ns"
	done
	awk '{print $2}' /proc/self/mounts | grep "^$WORK/" | sort -r |
		while read -r m; do umount "$m"; done
	umount /run/netns
	if [[ ${SLUICE_CF_KEEP:-} == 1 ]]; then
		echo "conformance: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

mkdir -p "$WORK/bpf" "$WORK/run" "$WORK/extra"
mount -t bpf bpf "$WORK/bpf"

# The node: its own netns with loopback and an "underlay" address, which
# portmap's hostPort is reached through (T15). A veth pair stands in for
# the NIC because this kernel may lack the dummy driver.
ip netns add "$NODE"
ip -n "$NODE" link set lo up
ip -n "$NODE" link add sl-ul0 type veth peer name sl-ul1
ip -n "$NODE" addr add 192.168.78.1/24 dev sl-ul0
ip -n "$NODE" link set sl-ul1 up
ip -n "$NODE" link set sl-ul0 up
nsenter --net="/run/netns/$NODE" sysctl -qw net.ipv4.ip_forward=1

# The caller's netns (normally the root one), which the test binary
# checks it is not in before touching anything.
HOST_NETNS=$(stat -L -c %d:%i /proc/self/ns/net)

rc=0
nsenter --net="/run/netns/$NODE" env \
	SLUICE_CF_HOST_NETNS="$HOST_NETNS" \
	SLUICE_CF_PLUGIN="$PLUGIN" \
	SLUICE_CF_PREFIX="$PFX" \
	SLUICE_CF_NODE_NS="$NODE" \
	SLUICE_CF_NODE_IP=192.168.78.1 \
	SLUICE_CF_POD_CIDR=10.244.1.0/24 \
	SLUICE_CF_BPF_MOUNT="$WORK/bpf" \
	SLUICE_CF_RUN_DIR="$WORK/run" \
	SLUICE_CF_WORK="$WORK/extra" \
	SLUICE_CF_CNI_PATH="${SLUICE_CF_CNI_PATH:-$BUILD/bin:/usr/lib/cni}" \
	"$TEST_BIN" -test.v -test.count=1 -test.timeout=15m "$@" || rc=$?
exit "$rc"

#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Remove sluice from this node: the init container of
# manifests/uninstall/10-daemonset.yaml, run after `kubectl delete -f
# manifests/` has stopped the agents. kubectl cannot do this: deleting the
# DaemonSet stops the agent, and the agent leaves the datapath in place on
# purpose (pods keep forwarding across restarts and upgrades).
#
# In order, each step idempotent (the pod may be restarted half way):
#   0. refuse while an agent answers on $RUN_DIR/sluiced.sock: removing the
#      datapath under a running agent would break the node, not uninstall it;
#   1. the conflist, so the runtime stops giving new pods to sluice;
#   2. the programs the agent attached outside bpffs: the cgroup socket
#      programs it recorded in $RUN_DIR/cgroup-attach, and the tc programs
#      on the node's interfaces (sl_from_netdev, sl_to_netdev). Unpinning
#      does not detach: attached programs would keep translating Service
#      addresses with maps nothing updates any more;
#   3. the pinned programs and maps under $BPF_ROOT;
#   4. the plugin binary;
#   5. the agent's and plugin's run directory.
# Pods still running on sluice keep their veth and its programs (they go
# with the pod); say how many, so the operator knows to recreate them under
# the next network plugin.
#
# Environment (manifests/uninstall/10-daemonset.yaml sets each):
#   CNI_BIN_DIR    host's /opt/cni/bin, mounted      /host/opt/cni/bin
#   CNI_CONF_DIR   host's /etc/cni/net.d, mounted    /host/etc/cni/net.d
#   CNI_CONF_NAME  the conflist's file name          05-sluice.conflist
#   BPF_ROOT       the conflist's bpfRoot, mounted   /host/sys/fs/bpf/sluice
#   RUN_DIR        the conflist's runDir, mounted    /host/var/run/sluice
#   SLUICECTL      sluicectl in this image           /usr/local/bin/sluicectl
set -eu

CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
CNI_CONF_NAME=${CNI_CONF_NAME:-05-sluice.conflist}
BPF_ROOT=${BPF_ROOT:-/host/sys/fs/bpf/sluice}
RUN_DIR=${RUN_DIR:-/host/var/run/sluice}
SLUICECTL=${SLUICECTL:-/usr/local/bin/sluicectl}

log() {
	echo "uninstall: $*" >&2
}

# --- 0. no agent --------------------------------------------------------------
if "$SLUICECTL" --run-dir "$RUN_DIR" --bpf-root "$BPF_ROOT" status \
	>/dev/null 2>&1; then
	log "an agent still answers on $RUN_DIR/sluiced.sock; run" \
	    "'kubectl delete -f manifests/' first and wait for it"
	exit 1
fi

# --- 1. the network configuration ---------------------------------------------
# With the install's temporary file, should a run have died before its
# rename.
rm -f "$CNI_CONF_DIR/$CNI_CONF_NAME" "$CNI_CONF_DIR/.$CNI_CONF_NAME.sluice-tmp"
log "removed $CNI_CONF_DIR/$CNI_CONF_NAME"

# --- 2. attachments -------------------------------------------------------------
# The cgroup records are "HOOK PROG_ID CGROUP_PATH" lines (agent/cgroup.c).
# As the agent does, detach only what is still attached there under one of
# our program names ("sl_"): an id the kernel gave to someone else's
# program since is left alone.
bpftool_type() {
	case $1 in
	connect4) echo cgroup_inet4_connect ;;
	sendmsg4) echo cgroup_udp4_sendmsg ;;
	recvmsg4) echo cgroup_udp4_recvmsg ;;
	getpeername4) echo cgroup_inet4_getpeername ;;
	post_bind4) echo cgroup_inet4_post_bind ;;
	sock_ops) echo cgroup_sock_ops ;;
	*) return 1 ;;
	esac
}

if [ -f "$RUN_DIR/cgroup-attach" ]; then
	while read -r hook id cgroup; do
		if ! type=$(bpftool_type "$hook"); then
			log "ignoring an unknown cgroup record: $hook $id $cgroup"
			continue
		fi
		[ -d "$cgroup" ] || continue # the cgroup went, and its programs
		# bpftool's table: ID, attach type, flags, name (last).
		if bpftool cgroup show "$cgroup" 2>/dev/null |
			awk -v id="$id" '$1 == id && $NF ~ /^sl_/ { f = 1 }
				END { exit !f }'; then
			bpftool cgroup detach "$cgroup" "$type" id "$id"
			log "detached program $id ($hook) from $cgroup"
		fi
	done <"$RUN_DIR/cgroup-attach"
fi

# The agent attaches to the node's interfaces at tc priority 1, handle 1
# (SL_TC_PRIORITY, SL_TC_HANDLE in include/sluice/pins.h); libbpf names the
# filter after the program. Pods' veths (sl_from_pod, sl_to_pod) are left to
# their pods.
for dev in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
	for dir in ingress egress; do
		if tc filter show dev "$dev" "$dir" pref 1 2>/dev/null |
			grep -q 'handle 0x1 .*sl_\(from\|to\)_netdev'; then
			tc filter del dev "$dev" "$dir" pref 1 handle 1 bpf
			log "detached the $dir program of $dev"
		fi
	done
done

# --- 3. pinned datapath ---------------------------------------------------------
pods=0
if [ -d "$RUN_DIR/endpoints" ]; then
	pods=$(find "$RUN_DIR/endpoints" -mindepth 1 -maxdepth 1 | wc -l)
fi
rm -rf "$BPF_ROOT"
log "removed the pinned datapath $BPF_ROOT"

# --- 4. the plugin ---------------------------------------------------------------
rm -f "$CNI_BIN_DIR/sluice" "$CNI_BIN_DIR/.sluice.sluice-tmp"
log "removed $CNI_BIN_DIR/sluice"

# --- 5. run directory ----------------------------------------------------------
rm -rf "$RUN_DIR"
log "removed $RUN_DIR"

if [ "$pods" -gt 0 ]; then
	log "$pods pods on this node still have sluice interfaces: they keep" \
	    "forwarding as they are until deleted; recreate them under the" \
	    "next network plugin"
fi
log "done"

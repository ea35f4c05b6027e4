#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The DaemonSet's init container (manifests/40-daemonset.yaml): make the
# node ready for the sluice plugin. Runs at every pod start (a node reboot
# or an upgrade included), so every step is idempotent.
#
#   1. bpffs at $BPFFS, mounted when the host has none there (the mount
#      propagates to the host: the volume is Bidirectional);
#   2. the plugin binary as $CNI_BIN_DIR/sluice;
#   3. the network configuration as $CNI_CONF_DIR/$CNI_CONF_NAME, after the
#      binary, so a runtime that sees the configuration finds the plugin.
#
# Each file is written next to its target under a temporary name, flushed,
# and renamed over the target (rename(2) within one directory is atomic): the
# runtime either runs the old plugin or the new one, reads the old
# configuration or the new one, never half of either. A running plugin keeps
# its old inode. An unchanged file is left alone, so a restart does not make
# the runtime reload its CNI configuration for nothing.
#
# Environment (the DaemonSet sets each):
#   PLUGIN         the plugin in this image        /usr/local/bin/sluice
#   CONFLIST       the conflist (ConfigMap file)   /etc/sluice/cni-conflist
#   CNI_BIN_DIR    host's /opt/cni/bin, mounted    /host/opt/cni/bin
#   CNI_CONF_DIR   host's /etc/cni/net.d, mounted  /host/etc/cni/net.d
#   CNI_CONF_NAME  the conflist's file name        05-sluice.conflist
#   BPFFS          host's /sys/fs/bpf, mounted     /sys/fs/bpf
set -eu

PLUGIN=${PLUGIN:-/usr/local/bin/sluice}
CONFLIST=${CONFLIST:-/etc/sluice/cni-conflist}
CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
CNI_CONF_NAME=${CNI_CONF_NAME:-05-sluice.conflist}
BPFFS=${BPFFS:-/sys/fs/bpf}

# BPF_FS_MAGIC, as stat -f prints a file system's type in hex.
BPF_FS_MAGIC=cafe4a11

log() {
	echo "install: $*" >&2
}

# install_atomic SRC DIR NAME MODE: DIR/NAME gets SRC's bytes and MODE.
install_atomic() {
	src=$1 dir=$2 name=$3 mode=$4
	if [ -f "$dir/$name" ] && cmp -s "$src" "$dir/$name"; then
		chmod "$mode" "$dir/$name"
		log "$dir/$name is up to date"
		return 0
	fi
	# A name no runtime reads (libcni loads only *.conf, *.conflist and
	# *.json) and that a run killed here overwrites the next time.
	tmp=$dir/.$name.sluice-tmp
	rm -f "$tmp"
	cp "$src" "$tmp"
	chmod "$mode" "$tmp"
	# On disk before the rename: after a crash the name holds the old file
	# or the whole new one, never an empty one.
	sync "$tmp"
	mv -f "$tmp" "$dir/$name"
	log "installed $dir/$name"
}

[ -x "$PLUGIN" ] || { log "no plugin at $PLUGIN"; exit 1; }
[ -s "$CONFLIST" ] || { log "no conflist at $CONFLIST"; exit 1; }

mkdir -p "$BPFFS"
if [ "$(stat -f -c %t "$BPFFS")" != "$BPF_FS_MAGIC" ]; then
	mount -t bpf bpffs "$BPFFS"
	log "mounted a bpffs at $BPFFS"
fi

mkdir -p "$CNI_BIN_DIR" "$CNI_CONF_DIR"
install_atomic "$PLUGIN" "$CNI_BIN_DIR" sluice 0755
install_atomic "$CONFLIST" "$CNI_CONF_DIR" "$CNI_CONF_NAME" 0644

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Where the datapath lives under bpfRoot, shared by the plugin and agent. */
#ifndef SLUICE_PINS_H
#define SLUICE_PINS_H

#include <linux/types.h>

/* Programs and maps are pinned flat under bpfRoot by their object names. */
#define SL_PROG_FROM_POD "sl_from_pod"
#define SL_PROG_TO_POD "sl_to_pod"

/*
 * Cgroup socket programs: host-network processes reach Services, the
 * agent attaches them to its --cgroup-root. The kernel keeps 15 characters
 * of a program's name (what bpftool and BPF_OBJ_GET_INFO show); the pins
 * carry the whole name.
 */
#define SL_PROG_SOCK_CONNECT4 "sl_sock_connect4"
#define SL_PROG_SOCK_SENDMSG4 "sl_sock_sendmsg4"
#define SL_PROG_SOCK_RECVMSG4 "sl_sock_recvmsg4"
#define SL_PROG_SOCK_GETPEERNAME4 "sl_sock_getpeername4"
/* Flow attribution (datapath/lib/sockops.h), attached with the above. */
#define SL_PROG_SOCK_POST_BIND4 "sl_sock_post_bind4"
#define SL_PROG_SOCK_OPS "sl_sock_ops"
#define SL_PROG_FROM_NETDEV "sl_from_netdev"
#define SL_PROG_TO_NETDEV "sl_to_netdev"
/* VXLAN mode (include/sluice/tunnel.h), on the overlay device. */
#define SL_PROG_FROM_OVERLAY "sl_from_overlay"
#define SL_PROG_TO_OVERLAY "sl_to_overlay"

#define SL_DEFAULT_BPF_ROOT "/sys/fs/bpf/sluice"
#define SL_DEFAULT_RUN_DIR "/var/run/sluice"

/*
 * sl_info: one entry describing the loaded datapath, so a newer plugin or
 * agent can tell it is running an older object. Written by the loader.
 */
#define SL_INFO_MAP "sl_info"
#define SL_MAP_LAYOUT_VERSION 2 /* bump when a map's key/value changes */

struct sl_info {
	__u64 object_hash;   /* FNV-1a of the object file's bytes */
	__u32 layout_version; /* SL_MAP_LAYOUT_VERSION of the loader */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_info) == 16, "sl_info ABI");

/* tc filter priority and handle our programs use on each pod veth. */
#define SL_TC_PRIORITY 1
#define SL_TC_HANDLE 1

#endif /* SLUICE_PINS_H */

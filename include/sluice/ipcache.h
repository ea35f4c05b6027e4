/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_ipcache: every address the cluster knows, as an LPM trie from
 * IPv4/prefix to the security identity behind it and the node that hosts
 * it (the tunnel endpoint, for remote pods). Written by the agent for all
 * pods cluster-wide and every node; read by policy and cross-node routing.
 */
#ifndef SLUICE_IPCACHE_H
#define SLUICE_IPCACHE_H

#include <linux/types.h>

#define SL_IPCACHE_MAP "sl_ipcache"
#define SL_IPCACHE_MAX 524288

/* Reserved identities (below SL_IDENTITY_FIRST in the agent). */
#define SL_ID_UNKNOWN 0
#define SL_ID_HOST 1        /* this node */
#define SL_ID_WORLD 2       /* outside the cluster */
#define SL_ID_REMOTE_NODE 6 /* another node of the cluster */

struct sl_ipcache_key {
	__u32 prefixlen; /* LPM: bits that count, of ip4 */
	__be32 ip4;
};
_Static_assert(sizeof(struct sl_ipcache_key) == 8, "sl_ipcache_key ABI");

#define SL_IPC_F_LOCAL 1u /* hosted on this node */

struct sl_ipcache_val {
	__u32 identity;
	__be32 node_ip; /* hosting node's InternalIP; 0 when unknown */
	__u32 flags;    /* SL_IPC_F_* */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_ipcache_val) == 16, "sl_ipcache_val ABI");

#endif /* SLUICE_IPCACHE_H */

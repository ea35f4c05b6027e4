/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_tunnel: the other nodes' pod CIDRs, as an LPM trie from pod CIDR to
 * the InternalIP of the node that holds it. In VXLAN mode it is where
 * sl_to_overlay sends each packet; it covers pods the agent has not seen
 * yet, since a pod's address always lies in its node's CIDR. Written by
 * the agent from Node objects, in both routing modes.
 */
#ifndef SLUICE_TUNNEL_H
#define SLUICE_TUNNEL_H

#include <linux/types.h>

#define SL_TUNNEL_MAP "sl_tunnel"
#define SL_TUNNEL_MAX 16384 /* nodes */

struct sl_tunnel_key {
	__u32 prefixlen; /* LPM: bits of ip4 that count */
	__be32 ip4;
};
_Static_assert(sizeof(struct sl_tunnel_key) == 8, "sl_tunnel_key ABI");

struct sl_tunnel_val {
	__be32 node_ip; /* the node's InternalIP: the tunnel's far end */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_tunnel_val) == 8, "sl_tunnel_val ABI");

/*
 * The VXLAN device the agent creates in VXLAN mode (collect metadata: one
 * device for every peer, the far end set per packet) and its UDP port,
 * the Linux kernel's and Cilium's default rather than IANA's 4789, which
 * a node may already use for a VXLAN of its own.
 */
#define SL_OVERLAY_DEV "sluice_vxlan"
#define SL_VXLAN_PORT_DEFAULT 8472
/* Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
#define SL_VXLAN_OVERHEAD 50

/*
 * The VNI carries the sender's security identity (24 bits) so the
 * receiving node judges ingress policy by who sent the packet, not by
 * what its ipcache says of the source address (a pod it has not heard of
 * yet, an address reused). SL_ID_HOST on the wire is the sending node:
 * the receiver reads it as SL_ID_REMOTE_NODE.
 */
#define SL_VNI_MAX 0xffffffu

#endif /* SLUICE_TUNNEL_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_ct: the datapath's connection tracking table, an LRU hash keyed by the
 * 5-tuple as the packet shows it at the pod veth. Every connection a pod
 * of this node takes part in has an SL_CT_OUT entry under the tuple its
 * first packet carried; its replies find it by the reversed tuple, which is
 * how NetworkPolicy lets them through. A translated connection
 * has two entries: SL_CT_OUT under the tuple the client sent (to the
 * frontend), and SL_CT_REPLY under the tuple its replies carry (from the
 * backend), each saying how to rewrite the packets that match it. Entries
 * expire by protocol state: the datapath treats an expired entry as absent
 * and the agent's GC deletes them.
 */
#ifndef SLUICE_CONNTRACK_H
#define SLUICE_CONNTRACK_H

#include <linux/types.h>

#define SL_CT_MAP "sl_ct"
#define SL_CT_MAX_DEFAULT 262144
/* Bounds of the configured size (conntrackMax, --conntrack-max). */
#define SL_CT_MAX_MIN 4096
#define SL_CT_MAX_MAX 16777216

/* Lifetimes in seconds, refreshed by every packet. */
#define SL_CT_TIMEOUT_TCP_SYN 60
#define SL_CT_TIMEOUT_TCP 21600 /* established */
#define SL_CT_TIMEOUT_TCP_CLOSE 10 /* after FIN both ways, or RST */
#define SL_CT_TIMEOUT_UDP 60
#define SL_CT_TIMEOUT_OTHER 60

/* The address a pod reaching itself through a Service appears to come
 * from: the pod would drop a packet with its own address as source. */
#define SL_HAIRPIN_IP "169.254.42.1"
#define SL_HAIRPIN_IP4 0xa9fe2a01u /* the same, in host order */

enum sl_ct_dir {
	SL_CT_OUT = 0,   /* as the connection's initiator sends */
	SL_CT_REPLY = 1, /* as its peer answers */
};

struct sl_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* ICMP echo: the identifier, in both ports */
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum sl_ct_dir */
	__u16 pad;
};
_Static_assert(sizeof(struct sl_ct_key) == 16, "sl_ct_key ABI");

#define SL_CT_F_SERVICE 0x01u    /* translated by a Service frontend */
#define SL_CT_F_HAIRPIN 0x02u    /* the client is its own backend */
#define SL_CT_F_SEEN_REPLY 0x04u /* a reply went through */
#define SL_CT_F_CLOSING 0x08u    /* TCP FIN both ways or RST */
/* Opened from outside the node (NodePort, external or LB IP): replies are
 * translated where they leave the node, not at the backend's veth, so the
 * stack never sees a packet from the node's own address coming in. */
#define SL_CT_F_OUTSIDE 0x10u

struct sl_ct_entry {
	__u64 packets[2]; /* [0] matching the key, [1] the other way */
	__u64 bytes[2];
	__u64 created_ns; /* bpf_ktime_get_boot_ns() */
	__u32 expires;    /* seconds, CLOCK_BOOTTIME */
	__u32 backend_id; /* Service flows */
	__u32 svc_id;
	/* Rewrites for packets matching the key; 0 keeps the field. */
	__be32 nat_saddr;
	__be32 nat_daddr;
	__be16 nat_sport;
	__be16 nat_dport;
	__u8 flags;        /* SL_CT_F_* */
	__u8 tcp_flags[2]; /* TCP flags seen, [0] matching the key */
	__u8 pad;
	__u32 identity;    /* the remote side's identity, for policy and flows */
	/* Where it was created: a pod's veth, the node's interface (from
	 * outside) or the VXLAN device. */
	__u32 ifindex;
	/* The policies that admitted it, by enum sl_policy_dir; 0 where the
	 * endpoint was not isolated (or is not on this node). */
	__u32 policy_id[2];
	__u32 pad2;
};
_Static_assert(sizeof(struct sl_ct_entry) == 88, "sl_ct_entry ABI");

#endif /* SLUICE_CONNTRACK_H */

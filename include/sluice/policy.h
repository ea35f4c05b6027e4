/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NetworkPolicy as the datapath reads it. The agent compiles every policy
 * into per-endpoint entries; the datapath never iterates rules, it does a
 * few lookups for the first packet of a connection and conntrack remembers
 * the verdict.
 *
 * Isolation: an endpoint selected by no policy of a direction is not
 * isolated in that direction (everything allowed); sl_endpoints' flags say
 * which directions are isolated (SL_EP_F_INGRESS_ISOLATED, …_EGRESS_…).
 *
 * sl_policy: an LPM trie from (endpoint, direction, protocol, remote
 * identity, destination port) to the policy that allows it. Every field is
 * matched whole except the port, matched by prefix, so a port range
 * (endPort) is a handful of prefixes. Wildcards are separate entries, which
 * the datapath tries in this order, first hit wins:
 *   (identity, proto, port), (identity, ANY proto, any port),
 *   (ANY identity, proto, port), (ANY identity, ANY proto, any port).
 * A rule with ports but no peers is an ANY-identity entry; a peer with no
 * ports is an ANY-protocol entry with prefix 0 on the port.
 *
 * sl_policy_cidr: ipBlock peers. An LPM trie from (endpoint, direction,
 * remote address) to a CIDR identity (>= SL_ID_CIDR_FIRST), then looked up
 * in sl_policy like any identity. The agent inserts each ipBlock cidr and
 * each except prefix; because the longest inserted prefix containing an
 * address decides, the identity of a prefix stands for exactly the set of
 * rules whose cidr contains it and whose excepts do not, and that set's
 * ports are what it gets in sl_policy. ipBlock applies to pod addresses
 * too: the datapath checks both the remote's pod identity and its CIDR
 * identity.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <linux/types.h>

#define SL_POLICY_MAP "sl_policy"
#define SL_POLICY_CIDR_MAP "sl_policy_cidr"
#define SL_POLICY_MAX 262144
#define SL_POLICY_CIDR_MAX 65536

enum sl_policy_dir {
	SL_POLICY_INGRESS = 0, /* to the endpoint */
	SL_POLICY_EGRESS = 1,  /* from the endpoint */
};

#define SL_PROTO_ANY 0
#define SL_ID_ANY 0 /* in sl_policy keys: any remote identity */

/* CIDR identities: above every pod identity (24 bits, a VXLAN VNI). */
#define SL_ID_CIDR_FIRST (1u << 24)

/* Bits of the key matched whole before the port (prefixlen counts them). */
#define SL_POLICY_FIXED_BITS 96

struct sl_policy_key {
	__u32 prefixlen; /* SL_POLICY_FIXED_BITS + bits of dport that count */
	__be32 ep;       /* the local endpoint's address */
	__u8 dir;        /* enum sl_policy_dir */
	__u8 proto;      /* IPPROTO_TCP, _UDP, _SCTP, or SL_PROTO_ANY */
	__u16 pad;
	__u32 identity;  /* remote identity, or SL_ID_ANY */
	__be16 dport;    /* destination port (of the connection) */
	__u16 pad2;      /* never inside the prefix */
};
_Static_assert(sizeof(struct sl_policy_key) == 20, "sl_policy_key ABI");

struct sl_policy_val {
	__u32 policy_id; /* which NetworkPolicy allowed it (agent's table) */
	__u32 flags;     /* none yet */
};
_Static_assert(sizeof(struct sl_policy_val) == 8, "sl_policy_val ABI");

#define SL_POLICY_CIDR_FIXED_BITS 64

struct sl_policy_cidr_key {
	__u32 prefixlen; /* SL_POLICY_CIDR_FIXED_BITS + the CIDR's length */
	__be32 ep;
	__u8 dir;
	__u8 pad[3];
	__be32 addr;     /* the remote address */
};
_Static_assert(sizeof(struct sl_policy_cidr_key) == 16, "sl_policy_cidr_key ABI");

struct sl_policy_cidr_val {
	__u32 identity; /* a CIDR identity, >= SL_ID_CIDR_FIRST */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_policy_cidr_val) == 8, "sl_policy_cidr_val ABI");

#endif /* SLUICE_POLICY_H */

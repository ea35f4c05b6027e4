/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_events: the datapath's one ring buffer. Every record starts with
 * struct sl_event_hdr; readers skip records whose version they do not know.
 */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include <linux/types.h>

#define SL_EVENTS_MAP "sl_events"
#define SL_EVENTS_BYTES (1u << 20)

#define SL_EVENT_VERSION 1

enum sl_event_type {
	SL_EVENT_DROP = 1,   /* subtype: enum sl_reason */
	SL_EVENT_POLICY = 2, /* subtype: enum sl_policy_verdict */
};

struct sl_event_hdr {
	__u8 type;       /* enum sl_event_type */
	__u8 subtype;    /* per type, e.g. the drop reason */
	__u8 version;    /* SL_EVENT_VERSION */
	__u8 dir;        /* enum sl_dir */
	__u32 ifindex;   /* where it happened */
	__u16 hdr_len;   /* sizeof the full event struct without payload */
	__u16 cap_len;   /* packet bytes captured after the struct */
	__u32 pkt_len;   /* original packet length */
	__u64 ts_ns;     /* bpf_ktime_get_ns() */
};
_Static_assert(sizeof(struct sl_event_hdr) == 24, "sl_event_hdr ABI");

#define SL_DROP_CAPTURE 64

struct sl_drop_event {
	struct sl_event_hdr hdr;
	__u8 data[SL_DROP_CAPTURE];
};
_Static_assert(sizeof(struct sl_drop_event) == 88, "sl_drop_event ABI");

/*
 * A NetworkPolicy verdict: one per direction an isolated endpoint decides,
 * on the first packet of a connection (conntrack remembers the verdict for
 * the rest). hdr.dir is the direction of the policy that decided:
 * SL_DIR_EGRESS for the sending pod's, SL_DIR_INGRESS for the receiving
 * pod's, whichever veth it was seen on. The tuple is the connection as it
 * reaches the peer (after Service translation).
 */
enum sl_policy_verdict {
	SL_VERDICT_ALLOWED = 1,
	SL_VERDICT_DENIED = 2,
};

/* Which entry of sl_policy matched (include/sluice/policy.h). */
enum sl_policy_match {
	SL_MATCH_NONE = 0,      /* denied: nothing matched */
	SL_MATCH_L3_L4 = 1,     /* the remote's identity, protocol and port */
	SL_MATCH_L3 = 2,        /* the remote's identity, any port */
	SL_MATCH_L4 = 3,        /* any remote, protocol and port */
	SL_MATCH_ALL = 4,       /* any remote, any port */
	SL_MATCH_CIDR_L4 = 5,   /* an ipBlock, protocol and port */
	SL_MATCH_CIDR = 6,      /* an ipBlock, any port */
	SL_MATCH_NOT_READY = 7, /* denied: the endpoint is SL_EP_F_PENDING */
};

struct sl_policy_event {
	struct sl_event_hdr hdr;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 match;          /* enum sl_policy_match */
	__u16 pad;
	__be32 ep;           /* the endpoint whose policy decided */
	__u32 remote_id;     /* the identity looked up: pod, reserved or CIDR */
	__u32 policy_id;     /* the allowing policy; 0 when denied */
	__u32 pad2;
};
_Static_assert(sizeof(struct sl_policy_event) == 56, "sl_policy_event ABI");

#endif /* SLUICE_EVENT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_events: the datapath's one ring buffer. Every record starts with
 * struct sl_event_hdr; readers skip records whose version they do not know.
 *
 * The ring never blocks the datapath: each CPU spends from a token bucket
 * (sl_config's event_rate and event_burst), and an event beyond it, or
 * finding the ring full, is shed. sl_event_stats counts every event per
 * (type, subtype), sent or shed, so metrics built on it stay exact; the
 * packet counters of sl_metrics never depend on events at all.
 */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include <linux/types.h>

#include <sluice/sock_owner.h>

#define SL_EVENTS_MAP "sl_events"
#define SL_EVENTS_BYTES (1u << 20)

#define SL_EVENT_VERSION 1

enum sl_event_type {
	SL_EVENT_DROP = 1,   /* subtype: enum sl_reason */
	SL_EVENT_POLICY = 2, /* subtype: enum sl_verdict_kind */
	SL_EVENT_FLOW = 3,   /* subtype: enum sl_flow_kind */
	SL_EVENT_SOCK = 4,   /* subtype: enum sl_sock_kind */
	/* A power of two above the last type: sl_event_stats_index() masks
	 * with it. */
	SL_EVENT_TYPE_MAX = 8,
};

/* Per CPU: enough for a busy node's connection churn (a connection costs
 * each of its two CPUs up to three events: a flow start or close and its
 * socket's open and close), small enough that a flood of drops cannot
 * fill the ring faster than the agent reads. */
#define SL_EVENT_RATE_DEFAULT 50000
#define SL_EVENT_BURST_DEFAULT 10000

#define SL_EVENT_STATS_MAP "sl_event_stats"
#define SL_EVENT_STATS_MAX (SL_EVENT_TYPE_MAX << 8)

/* sl_event_stats: per-CPU array, indexed by sl_event_stats_index(). */
struct sl_event_stats_val {
	__u64 sent;
	__u64 shed_rate; /* over the CPU's budget */
	__u64 shed_full; /* the ring had no room */
};
_Static_assert(sizeof(struct sl_event_stats_val) == 24, "sl_event_stats ABI");

static inline __u32 sl_event_stats_index(__u32 type, __u32 subtype)
{
	return ((type & (SL_EVENT_TYPE_MAX - 1)) << 8) | (subtype & 0xff);
}

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
enum sl_verdict_kind {
	SL_VERDICT_ALLOWED = 1,
	SL_VERDICT_DENIED = 2,
};

/* Which entry of sl_policy matched (include/sluice/policy.h). */
enum sl_match_kind {
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
	__u8 match;          /* enum sl_match_kind */
	__u16 pad;
	__be32 ep;           /* the endpoint whose policy decided */
	__u32 remote_id;     /* the identity looked up: pod, reserved or CIDR */
	__u32 policy_id;     /* the allowing policy; 0 when denied */
	__u32 pad2;
};
_Static_assert(sizeof(struct sl_policy_event) == 56, "sl_policy_event ABI");

/*
 * A connection's start and its TCP close, from conntrack (the flow table):
 * the start when its entry is created, the close when a RST or the second
 * FIN marks the entry closing, with the counters at that moment. A
 * connection that ends without one (UDP, an idle TCP) ends when its entry
 * expires, which the agent sees in its conntrack walk.
 *
 * hdr.dir and hdr.ifindex say where the packet was seen: SL_DIR_EGRESS for
 * a pod's veth as the pod sends, SL_DIR_INGRESS as it receives (or a
 * node's interface as traffic enters it).
 */
enum sl_flow_kind {
	SL_FLOW_START = 1,
	SL_FLOW_CLOSE = 2,
};

struct sl_flow_event {
	struct sl_event_hdr hdr;
	/* The connection as its first packet carried it: the key of its
	 * SL_CT_OUT entry (include/sluice/conntrack.h), network order. */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 flags;        /* SL_CT_F_* */
	__u8 tcp_flags[2]; /* seen each way, [0] from the initiator */
	/* A Service connection's backend (0 otherwise). */
	__be32 nat_daddr;
	__be16 nat_dport;
	__u16 pad;
	__u32 svc_id;
	__u32 backend_id;
	__u32 identity;     /* the remote end's, as conntrack holds it */
	__u32 policy_id[2]; /* by enum sl_policy_dir */
	__u32 pad2;
	__u64 created_ns;   /* the entry's: ties a close to its start */
	__u64 packets[2];   /* at close: [0] from the initiator */
	__u64 bytes[2];
};
_Static_assert(sizeof(struct sl_flow_event) == 112, "sl_flow_event ABI");

/*
 * A connection's socket, from the socket's side (datapath/lib/sockops.h),
 * for the agent to name the process at each end of a flow and to give
 * TCP connections their round-trip time. Sent only for sockets whose
 * connection this node tracks (a local pod's address at either end).
 *
 *  - SL_SOCK_OPEN, TCP: as a client connect()s, before its SYN leaves
 *    (the tuple is final then: the source port is bound), and as a
 *    server's connection is established (accept()'s socket). UDP: at the
 *    first datagram a socket sends to a peer (sendto()/sendmsg() with an
 *    address; connected UDP sockets are not seen).
 *  - SL_SOCK_CLOSE, TCP only: as the socket leaves ESTABLISHED (its first
 *    FIN, sent or received, or a reset), or fails to connect, with the
 *    kernel's RTT estimate and retransmit count at that moment.
 *
 * The tuple is the socket's own view, local end first: a client's remote
 * is what it connect()ed to (a ClusterIP for a pod: translation happens
 * at its veth; the backend for a host process: translated at connect()),
 * a server's remote is the client. laddr is 0 for a UDP socket bound to
 * no address (the route picks the source per datagram).
 *
 * They do not wake the reader (BPF_RB_NO_WAKEUP): the flow event each
 * precedes does, and the reader also reads the ring every second.
 */
enum sl_sock_kind {
	SL_SOCK_OPEN = 1,
	SL_SOCK_CLOSE = 2,
};

enum sl_sock_side {
	SL_SOCK_ACTIVE = 1,   /* TCP: connect()ed, the flow's source */
	SL_SOCK_PASSIVE = 2,  /* TCP: accepted, the flow's destination */
	SL_SOCK_DATAGRAM = 3, /* UDP: a sender, either end */
};

/* The kernel's TCP states (include/net/tcp_states.h), as
 * SL_SOCK_CLOSE's state says which one the socket entered. */
enum sl_tcp_state {
	SL_TCP_ESTABLISHED = 1,
	SL_TCP_SYN_SENT = 2,
	SL_TCP_SYN_RECV = 3,
	SL_TCP_FIN_WAIT1 = 4,
	SL_TCP_FIN_WAIT2 = 5,
	SL_TCP_TIME_WAIT = 6,
	SL_TCP_CLOSE = 7,
	SL_TCP_CLOSE_WAIT = 8,
	SL_TCP_LAST_ACK = 9,
};

struct sl_sock_event {
	struct sl_event_hdr hdr; /* subtype: enum sl_sock_kind */
	__be32 laddr;
	__be32 raddr;
	__be16 lport;
	__be16 rport;
	__u8 proto;
	__u8 side;          /* enum sl_sock_side; 0 on CLOSE */
	__u8 state;         /* CLOSE: enum sl_tcp_state entered */
	__u8 pad;
	__u64 cookie;       /* bpf_get_socket_cookie(): one socket's events */
	__u64 netns_cookie; /* UDP: the socket's network namespace; else 0 */
	struct sl_sock_owner owner; /* zeroes where unknown */
	/* CLOSE: the kernel's estimates (struct tcp_sock). */
	__u32 srtt_us;      /* smoothed RTT, microseconds */
	__u32 rtt_min_us;   /* the lowest RTT seen (windowed minimum) */
	__u32 retrans;      /* segments retransmitted over its life */
	__u32 pad2;
};
_Static_assert(sizeof(struct sl_sock_event) == 104, "sl_sock_event ABI");

#endif /* SLUICE_EVENT_H */

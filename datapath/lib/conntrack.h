/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking (sl_ct): lookups that ignore expired entries, and
 * per-packet accounting that refreshes an entry's lifetime by protocol
 * state. See include/sluice/conntrack.h for the entries themselves.
 */
#ifndef SL_LIB_CONNTRACK_H
#define SL_LIB_CONNTRACK_H

#include "common.h"
#include "maps.h"
#include "l4.h"
#include "events.h"

#define TCP_FL_FIN 0x01
#define TCP_FL_SYN 0x02
#define TCP_FL_RST 0x04
#define TCP_FL_ACK 0x10

/* Seconds of CLOCK_BOOTTIME: the agent's GC compares with the same clock,
 * and it keeps counting across suspend, unlike ktime_get_ns(). */
static __always_inline __u32 ct_now(void)
{
	return (__u32)(bpf_ktime_get_boot_ns() / 1000000000ull);
}

static __always_inline void ct_key_of(struct sl_ct_key *k,
				      const struct l4_tuple *t, __u8 dir)
{
	k->saddr = t->saddr;
	k->daddr = t->daddr;
	k->sport = t->sport;
	k->dport = t->dport;
	k->proto = t->proto;
	k->dir = dir;
	k->pad = 0;
}

/* The live entry of the packet's tuple, dir way; k is its key. */
static __always_inline struct sl_ct_entry *
ct_lookup_key(const struct l4_tuple *t, __u8 dir, __u32 now,
	      struct sl_ct_key *k)
{
	struct sl_ct_entry *e;

	ct_key_of(k, t, dir);
	e = bpf_map_lookup_elem(&sl_ct, k);
	if (e && (__s32)(e->expires - now) < 0)
		return NULL; /* expired: a new connection reuses the tuple */
	return e;
}

static __always_inline struct sl_ct_entry *ct_lookup(const struct l4_tuple *t,
						     __u8 dir, __u32 now)
{
	struct sl_ct_key k;

	return ct_lookup_key(t, dir, now, &k);
}

/*
 * The connection this packet answers: the OUT entry of its reversed
 * tuple (k, filled), unless that is a Service connection's (their replies
 * come from the backend, under REPLY entries, lb.h). NULL when none is
 * live.
 */
static __always_inline struct sl_ct_entry *
ct_lookup_reply(const struct l4_tuple *t, __u32 now, struct sl_ct_key *k)
{
	struct sl_ct_entry *e;

	k->saddr = t->daddr;
	k->daddr = t->saddr;
	k->sport = t->dport;
	k->dport = t->sport;
	k->proto = t->proto;
	k->dir = SL_CT_OUT;
	k->pad = 0;
	e = bpf_map_lookup_elem(&sl_ct, k);

	if (!e || (e->flags & SL_CT_F_SERVICE) || (__s32)(e->expires - now) < 0)
		return NULL;
	return e;
}

/*
 * A SYN on the tuple of a TCP connection that closed: the client reused
 * its port within the close timeout for a new connection, which must not
 * inherit the old one's state, counters and close timeout.
 */
static __always_inline int ct_tcp_reopens(const struct sl_ct_entry *e,
					  const struct l4_tuple *t)
{
	return t->proto == IPPROTO_TCP && (e->flags & SL_CT_F_CLOSING) &&
	       (t->tcp_flags & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN;
}

/* How long an entry lives after this packet, from what both directions
 * have shown so far. */
static __always_inline __u32 ct_lifetime(const struct sl_ct_entry *e,
					 __u8 proto)
{
	__u8 seen = e->tcp_flags[0] | e->tcp_flags[1];

	if (proto == IPPROTO_TCP) {
		if (e->flags & SL_CT_F_CLOSING)
			return SL_CT_TIMEOUT_TCP_CLOSE;
		return (e->flags & SL_CT_F_SEEN_REPLY) && (seen & TCP_FL_ACK) ?
			       SL_CT_TIMEOUT_TCP : SL_CT_TIMEOUT_TCP_SYN;
	}
	return proto == IPPROTO_UDP ? SL_CT_TIMEOUT_UDP : SL_CT_TIMEOUT_OTHER;
}

/**
 * ct_account - count a packet on an entry and refresh its lifetime
 * @e: the entry the packet matched
 * @way: 0 when the packet matches the entry's key, 1 the other way
 * @t: the packet's tuple (its TCP flags)
 * @len: its length
 * @now: ct_now()
 *
 * Counters are atomic adds on the one entry a flow uses. The state fields
 * are written only when they change, and the expiry at most once a second,
 * so a busy flow does not bounce the entry's cache line between CPUs more
 * than its counters must.
 *
 * Returns true when this packet closed the connection (a RST, or the
 * second FIN): the caller reports the close (ct_send_flow()).
 */
static __always_inline bool ct_account(struct sl_ct_entry *e, __u32 way,
				       const struct l4_tuple *t, __u32 len,
				       __u32 now)
{
	__u8 fl = t->tcp_flags;
	bool closed = false;
	__u32 expires;

	way &= 1;
	__sync_fetch_and_add(&e->packets[way], 1);
	__sync_fetch_and_add(&e->bytes[way], len);
	if (fl && (e->tcp_flags[way] | fl) != e->tcp_flags[way])
		e->tcp_flags[way] |= fl;
	if (way && !(e->flags & SL_CT_F_SEEN_REPLY))
		e->flags |= SL_CT_F_SEEN_REPLY;
	if (!(e->flags & SL_CT_F_CLOSING) &&
	    ((fl & TCP_FL_RST) || ((e->tcp_flags[0] & TCP_FL_FIN) &&
				   (e->tcp_flags[1] & TCP_FL_FIN)))) {
		e->flags |= SL_CT_F_CLOSING;
		closed = true;
	}
	expires = now + ct_lifetime(e, t->proto);
	if (expires != e->expires)
		e->expires = expires;
	return closed;
}

/**
 * ct_send_flow - a connection's start or close on the event ring
 * @k: the key of its OUT entry
 * @e: the entry
 * @kind: SL_FLOW_START or SL_FLOW_CLOSE
 * @dir: enum sl_dir, where the packet was seen
 * @ifindex: the device it was seen on
 * @len: the packet's length
 *
 * Not when the agent turned flow events off (sl_config); shed like any
 * event past the budget.
 */
static __always_inline void ct_send_flow(const struct sl_ct_key *k,
					 const struct sl_ct_entry *e,
					 __u8 kind, __u8 dir, __u32 ifindex,
					 __u32 len)
{
	struct sl_config *cfg = config_get();
	struct sl_flow_event *ev;

	if (cfg && (cfg->flags & SL_CFG_F_NO_FLOW_EVENTS))
		return;
	ev = event_reserve(sizeof(*ev), SL_EVENT_FLOW, kind, dir, ifindex,
			   len);
	if (!ev)
		return;
	ev->saddr = k->saddr;
	ev->daddr = k->daddr;
	ev->sport = k->sport;
	ev->dport = k->dport;
	ev->proto = k->proto;
	ev->flags = e->flags;
	ev->tcp_flags[0] = e->tcp_flags[0];
	ev->tcp_flags[1] = e->tcp_flags[1];
	ev->nat_daddr = e->nat_daddr;
	ev->nat_dport = e->nat_dport;
	ev->pad = 0;
	ev->svc_id = e->svc_id;
	ev->backend_id = e->backend_id;
	ev->identity = e->identity;
	ev->policy_id[0] = e->policy_id[0];
	ev->policy_id[1] = e->policy_id[1];
	ev->pad2 = 0;
	ev->created_ns = e->created_ns;
	ev->packets[0] = e->packets[0];
	ev->packets[1] = e->packets[1];
	ev->bytes[0] = e->bytes[0];
	ev->bytes[1] = e->bytes[1];
	event_submit(ev);
}

/* ct_account() and, when the packet closed the connection, its close. */
static __always_inline void ct_account_flow(struct sl_ct_entry *e,
					    const struct sl_ct_key *k,
					    __u32 way, const struct l4_tuple *t,
					    struct __sk_buff *skb, __u8 dir,
					    __u32 now)
{
	if (ct_account(e, way, t, skb->len, now))
		ct_send_flow(k, e, SL_FLOW_CLOSE, dir, skb->ifindex, skb->len);
}

/* What a new entry records about who admitted the connection. */
struct ct_meta {
	__u32 identity;     /* the remote end's */
	__u32 policy_id[2]; /* by enum sl_policy_dir; 0: not isolated */
};

/**
 * ct_insert_out - a new connection's OUT entry, and its start reported
 * @t: the connection's first packet
 * @e: the entry as the caller built it; its first packet's counters,
 *     TCP flags and lifetime are filled in here
 * @dir: enum sl_dir, where the packet was seen
 * @skb: the packet (its device and length)
 * @now: ct_now()
 *
 * Returns 0 or -SL_CT_CREATE_FAILED.
 */
static __always_inline int ct_insert_out(const struct l4_tuple *t,
					 struct sl_ct_entry *e, __u8 dir,
					 struct __sk_buff *skb, __u32 now)
{
	struct sl_ct_key k;

	e->packets[0] = 1;
	e->bytes[0] = skb->len;
	e->tcp_flags[0] = t->tcp_flags;
	e->expires = now + ct_lifetime(e, t->proto);
	ct_key_of(&k, t, SL_CT_OUT);
	if (bpf_map_update_elem(&sl_ct, &k, e, BPF_ANY) < 0)
		return -SL_CT_CREATE_FAILED;
	ct_send_flow(&k, e, SL_FLOW_START, dir, skb->ifindex, skb->len);
	return 0;
}

/* Track a new connection that is not a Service's: one OUT entry under
 * the tuple of its first packet. Returns 0 or -SL_CT_CREATE_FAILED. */
static __always_inline int ct_create(const struct l4_tuple *t,
				     const struct ct_meta *m,
				     struct __sk_buff *skb, __u8 dir,
				     __u32 now)
{
	struct sl_ct_entry e = {
		.created_ns = bpf_ktime_get_boot_ns(),
		.identity = m->identity,
		.ifindex = skb->ifindex,
	};

	e.policy_id[0] = m->policy_id[0];
	e.policy_id[1] = m->policy_id[1];
	return ct_insert_out(t, &e, dir, skb, now);
}

#endif /* SL_LIB_CONNTRACK_H */

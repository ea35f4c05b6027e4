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

static __always_inline struct sl_ct_entry *ct_lookup(const struct l4_tuple *t,
						     __u8 dir, __u32 now)
{
	struct sl_ct_key k;
	struct sl_ct_entry *e;

	ct_key_of(&k, t, dir);
	e = bpf_map_lookup_elem(&sl_ct, &k);
	if (e && (__s32)(e->expires - now) < 0)
		return NULL; /* expired: a new connection reuses the tuple */
	return e;
}

/*
 * The connection this packet answers: the OUT entry of its reversed
 * tuple, unless that is a Service connection's (their replies come from
 * the backend, under REPLY entries, lb.h). NULL when none is live.
 */
static __always_inline struct sl_ct_entry *
ct_lookup_reply(const struct l4_tuple *t, __u32 now)
{
	struct sl_ct_key k = {
		.saddr = t->daddr,
		.daddr = t->saddr,
		.sport = t->dport,
		.dport = t->sport,
		.proto = t->proto,
		.dir = SL_CT_OUT,
	};
	struct sl_ct_entry *e = bpf_map_lookup_elem(&sl_ct, &k);

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
 */
static __always_inline void ct_account(struct sl_ct_entry *e, __u32 way,
				       const struct l4_tuple *t, __u32 len,
				       __u32 now)
{
	__u8 fl = t->tcp_flags;
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
				   (e->tcp_flags[1] & TCP_FL_FIN))))
		e->flags |= SL_CT_F_CLOSING;
	expires = now + ct_lifetime(e, t->proto);
	if (expires != e->expires)
		e->expires = expires;
}

/* What a new entry records about who admitted the connection. */
struct ct_meta {
	__u32 identity;     /* the remote end's */
	__u32 policy_id[2]; /* by enum sl_policy_dir; 0: not isolated */
};

/* Track a new connection that is not a Service's: one OUT entry under
 * the tuple of its first packet. Returns 0 or -SL_CT_CREATE_FAILED. */
static __always_inline int ct_create(const struct l4_tuple *t,
				     const struct ct_meta *m, __u32 ifindex,
				     __u32 len, __u32 now)
{
	struct sl_ct_entry e = {
		.created_ns = bpf_ktime_get_boot_ns(),
		.identity = m->identity,
		.ifindex = ifindex,
	};
	struct sl_ct_key k;

	e.policy_id[0] = m->policy_id[0];
	e.policy_id[1] = m->policy_id[1];
	e.packets[0] = 1;
	e.bytes[0] = len;
	e.tcp_flags[0] = t->tcp_flags;
	e.expires = now + ct_lifetime(&e, t->proto);
	ct_key_of(&k, t, SL_CT_OUT);
	if (bpf_map_update_elem(&sl_ct, &k, &e, BPF_ANY) < 0)
		return -SL_CT_CREATE_FAILED;
	return 0;
}

#endif /* SL_LIB_CONNTRACK_H */

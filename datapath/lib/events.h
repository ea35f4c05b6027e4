/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event ring's gate (include/sluice/event.h): every event the
 * datapath emits is reserved here, against its CPU's token bucket, and
 * counted in sl_event_stats whether it goes or is shed. Nothing here ever
 * waits: a full ring or an empty bucket sheds the event, never the packet.
 */
#ifndef SL_LIB_EVENTS_H
#define SL_LIB_EVENTS_H

#include "common.h"
#include "maps.h"

/*
 * The bucket holds credit in nanoseconds of time: one event costs
 * 1e9 / rate, credit grows with the clock up to burst events' worth. The
 * state is the CPU's own, so no atomics; a program interrupted on the
 * same CPU at worst lets one event too many through.
 */
static __always_inline bool event_admit(__u64 now)
{
	struct sl_config *cfg = config_get();
	struct sl_event_bucket *b;
	__u64 rate = SL_EVENT_RATE_DEFAULT, burst = SL_EVENT_BURST_DEFAULT;
	__u64 cost, credit;
	__u32 zero = 0;

	if (cfg && cfg->event_rate)
		rate = cfg->event_rate;
	if (cfg && cfg->event_burst)
		burst = cfg->event_burst;
	b = bpf_map_lookup_elem(&sl_event_bucket, &zero);
	if (!b)
		return true;
	cost = 1000000000ull / rate;
	credit = b->credit_ns + (now - b->last_ns);
	if (credit > cost * burst || now < b->last_ns)
		credit = cost * burst;
	b->last_ns = now;
	if (credit < cost) {
		b->credit_ns = credit;
		return false;
	}
	b->credit_ns = credit - cost;
	return true;
}

/**
 * event_reserve - room on the ring for one event, or NULL when shed
 * @size: the event's size (a constant: the ring needs one)
 * @type: enum sl_event_type
 * @subtype: per type
 * @dir: enum sl_dir, where it was seen
 * @ifindex: the device it was seen on
 * @pkt_len: the packet's length
 *
 * The header is filled, cap_len 0; the caller fills the rest and submits.
 */
static __always_inline void *event_reserve(__u32 size, __u8 type,
					   __u8 subtype, __u8 dir,
					   __u32 ifindex, __u32 pkt_len)
{
	__u32 idx = sl_event_stats_index(type, subtype);
	struct sl_event_stats_val *st;
	struct sl_event_hdr *h;
	__u64 now = bpf_ktime_get_ns();

	st = bpf_map_lookup_elem(&sl_event_stats, &idx);
	if (!event_admit(now)) {
		if (st)
			st->shed_rate++;
		return NULL;
	}
	h = bpf_ringbuf_reserve(&sl_events, size, 0);
	if (!h) {
		if (st)
			st->shed_full++;
		return NULL;
	}
	if (st)
		st->sent++;
	h->type = type;
	h->subtype = subtype;
	h->version = SL_EVENT_VERSION;
	h->dir = dir;
	h->ifindex = ifindex;
	h->hdr_len = size;
	h->cap_len = 0;
	h->pkt_len = pkt_len;
	h->ts_ns = now;
	return h;
}

/*
 * The ring is read on the agent's 10 ms tick (agent/flow_source.h), so an
 * event wakes nobody until the ring is a quarter full. A wakeup per event
 * costs an interrupt and a context switch each, and at 14k connections a
 * second that (not the events) was what visibility cost: 7% of CRR,
 * measured. A quarter of the ring still leaves three quarters to fill
 * while the woken reader gets the CPU.
 */
#define SL_EVENT_WAKE_BYTES (SL_EVENTS_BYTES / 4)

/* event_submit - hand a reserved event to the ring; wakes the reader only
 * when the ring is filling up. */
static __always_inline void event_submit(void *ev)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&sl_events, BPF_RB_AVAIL_DATA) >=
	    SL_EVENT_WAKE_BYTES)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(ev, flags);
}

#endif /* SL_LIB_EVENTS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The single exit of every program: count the packet under its drop reason
 * or trace point, emit a drop event for drops, and turn the verdict into a
 * TC_ACT_* code. Nothing fails open: a negative verdict always drops.
 */
#ifndef SL_LIB_DROP_H
#define SL_LIB_DROP_H

#include "common.h"
#include "maps.h"
#include "events.h"

static __always_inline void sl_count(__u32 reason, __u8 dir, __u32 bytes)
{
	__u32 idx = sl_metrics_index(reason, dir);
	struct sl_metrics_val *val = bpf_map_lookup_elem(&sl_metrics, &idx);

	if (val) {
		val->packets++;
		val->bytes += bytes;
	}
}

static __always_inline void sl_send_drop_event(struct __sk_buff *skb,
					       __u32 reason, __u8 dir)
{
	struct sl_drop_event *ev;
	__u32 cap = skb->len;

	ev = event_reserve(sizeof(*ev), SL_EVENT_DROP, reason, dir,
			   skb->ifindex, skb->len);
	if (!ev)
		return; /* the counter above already recorded the drop */

	if (cap > SL_DROP_CAPTURE)
		cap = SL_DROP_CAPTURE;
	/* Keeps cap in [1, SL_DROP_CAPTURE] in a form the verifier can
	 * track through clang's register copies (a "cap == 0" test on a
	 * copy is lost). SL_DROP_CAPTURE is a power of two. */
	cap = ((cap - 1) & (SL_DROP_CAPTURE - 1)) + 1;
	ev->hdr.hdr_len = sizeof(ev->hdr); /* the packet's bytes follow */
	if (bpf_skb_load_bytes(skb, 0, ev->data, cap) < 0)
		cap = 0;
	ev->hdr.cap_len = cap;
	event_submit(ev);
}

static __always_inline int sl_finish(struct __sk_buff *skb,
				     struct sl_verdict v, __u8 dir)
{
	if (v.ret < 0) {
		__u32 reason = (__u32)-v.ret;

		sl_count(reason, dir, skb->len);
		sl_send_drop_event(skb, reason, dir);
		return TC_ACT_SHOT;
	}
	sl_count(v.trace, dir, skb->len);
	return v.ret;
}

#endif /* SL_LIB_DROP_H */

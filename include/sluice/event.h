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
	SL_EVENT_DROP = 1, /* subtype: enum sl_reason */
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

#endif /* SLUICE_EVENT_H */

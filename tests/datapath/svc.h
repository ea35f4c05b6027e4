/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svc: what the Service cases (lb_test.c) are written with. The maps
 * written as the agent writes them (backends, then slots, then the
 * frontend), sl_ct read and checked, frames of a connection described by
 * their tuple, and step(): one frame through one program, checked whole.
 */
#ifndef SL_TEST_SVC_H
#define SL_TEST_SVC_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <sluice/conntrack.h>
#include <sluice/service.h>

#include "runner.h"

/* Slack between the kernel's clock read and ours, in seconds. */
#define CLOCK_SLACK 2

/* --- the maps as the agent writes them --------------------------------- */

/* A frontend (slot 0), addresses and ports in host byte order. */
struct frontend {
	__u32 addr;
	__u16 port;
	__u8 proto;
	__u8 scope;
	__u16 flags;
	__u32 svc_id;
	__u32 affinity_timeout;
	__u32 maglev_table; /* with SL_SVC_F_MAGLEV: its sl_maglev id */
};

struct backend {
	__u32 id;
	__u32 addr;
	__u16 port;
	__u8 flags;
};

int backends_put(const struct backend *be, size_t n, __u8 proto);

struct sl_service_key svc_key(const struct frontend *fe, __u16 slot);

/* Slots 1..n naming ids[], then the frontend with count n. */
int slots_put(const struct frontend *fe, const __u32 *ids, __u16 n);

/* A frontend with n backends (at most 64), in the agent's order. */
int frontend_add(const struct frontend *fe, const struct backend *be,
		 __u16 n);

int slot_del(const struct frontend *fe, __u16 slot);
int backend_del(__u32 id);

/* A Maglev table (SL_MAGLEV_M ids) in a new inner map, swapped in under
 * id as the agent does; removing one; emptying sl_maglev. */
int maglev_put(__u32 id, const __u32 *table);
int maglev_del(__u32 id);
int maglev_clear(void);

/* ClientIP affinity of a client (host byte order) to a Service. */
int affinity_get(__u32 client, __u32 svc_id, struct sl_affinity_val *v);
int affinity_put(__u32 client, __u32 svc_id, __u32 backend_id,
		 __u32 last_used);

/* --- conntrack --------------------------------------------------------- */

struct sl_ct_key ct_key(__u32 saddr, __u16 sport, __u32 daddr, __u16 dport,
			__u8 proto, __u8 dir);
int ct_get(const struct sl_ct_key *k, struct sl_ct_entry *e);
/* Overwrite an existing entry, to age it or point it elsewhere. */
int ct_put(const struct sl_ct_key *k, const struct sl_ct_entry *e);
unsigned int ct_count(void);

/* What an entry must say; nat fields in host byte order, 0 keeps. */
struct ct_want {
	__u32 nat_saddr;
	__u32 nat_daddr;
	__u16 nat_sport;
	__u16 nat_dport;
	__u8 flags;
	__u32 backend_id;
	__u32 svc_id;
};

/* Look the entry up into *e and check what w says of it; false when the
 * entry is missing (*e zeroed). */
bool check_ct(const char *what, const struct sl_ct_key *k,
	      const struct ct_want *w, struct sl_ct_entry *e);

void check_ct_counters(const char *what, const struct sl_ct_entry *e,
		       __u64 p0, __u64 b0, __u64 p1, __u64 b1);

/* CLOCK_BOOTTIME, what ct_now() and the entries' times read. */
__u64 boot_ns(void);
__u32 boot_s(void);

/* The entry expires lifetime seconds from now, within CLOCK_SLACK. */
void check_expires(const char *what, const struct sl_ct_entry *e,
		   __u32 lifetime);

/* --- frames ------------------------------------------------------------ */

struct pkt_spec tcp(__u32 saddr, __u16 sport, __u32 daddr, __u16 dport,
		    __u8 flags);
struct pkt_spec udp(__u32 saddr, __u16 sport, __u32 daddr, __u16 dport,
		    bool no_csum);

/* The same frame with another tuple: how a translated one must leave. */
struct pkt_spec retuple(const struct pkt_spec *s, __u32 saddr, __u16 sport,
			__u32 daddr, __u16 dport);

/* The frame of s as it arrives on dev's host veth for prog. */
void frame_in(enum prog prog, enum ep_id dev, const struct pkt_spec *s,
	      struct pkt *p);

/* The TCP or UDP checksum field, host byte order; 0 without one. */
__u16 frame_l4_check(const struct pkt *p);

/* Where a frame goes: destination address and port, host byte order. */
void frame_dst(const struct pkt *p, __u32 *addr, __u16 *port);

/* --- steps ------------------------------------------------------------- */

/**
 * struct step - one frame of a connection and what must come of it
 * @prog: the program run
 * @dev: the pod whose host veth the frame arrives on
 * @in: the frame
 * @out: how it must leave; not compared when out.saddr is 0
 * @ret: the TC_ACT_* verdict
 * @to: the pod it is redirected to (MACs, TTL), EP_NONE for none
 * @want: the frame that must leave, built by the case, instead of @out
 * @count: the reasons that must count it once, in @prog's direction, and
 *         nothing else; a drop's reason first (a drop event must name it)
 * @count_out: the counters count the frame as it leaves (a request the
 *             datapath turned into its answer), not as it came
 * @event: a drop event for count[0] although the frame is let through
 * @allowed: POLICY_ALLOWED counted once in each direction whose bit
 *           (1 << SL_DIR_*) is set: the policies that admitted a new
 *           connection, counted in their own direction
 */
struct step {
	enum prog prog;
	enum ep_id dev;
	struct pkt_spec in;
	struct pkt_spec out;
	const struct pkt *want;
	int ret;
	enum ep_id to;
	__u32 count[3];
	bool count_out;
	bool event;
	__u8 allowed;
};

/*
 * A step: a frame from pod A to a frontend, translated to a backend in pod
 * to_ep and redirected there, a new connection (SERVICE_NEW counted too;
 * clear count[1] for a later packet of it).
 */
#define TO_LOCAL_BACKEND(spec, be_addr, be_port, to_ep)                        \
	{                                                                      \
		.prog = FROM_POD, .dev = EP_A, .in = (spec),                   \
		.out = retuple(&(spec), (spec).saddr, (spec).sport, (be_addr), \
			       (be_port)),                                     \
		.ret = TC_ACT_REDIRECT, .to = (to_ep),                         \
		.count = { SL_REDIRECT_PEER, SL_SERVICE_NEW },                 \
	}



/*
 * Run one step from zeroed counters and check it: the verdict, the frame
 * against one built from scratch (checksums included), the counters, the
 * drop event or its absence. in and out get the frames. 0, or a negative
 * errno when the step could not run (a check then failed).
 */
int step(const struct step *s, struct pkt *in, struct pkt *out);

#endif /* SL_TEST_SVC_H */

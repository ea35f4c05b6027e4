/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The conntrack table from user space: walking it (sluicectl ct), the
 * garbage collection of expired entries (the agent, on its resync timer),
 * and flushing. The datapath already ignores expired entries; GC gives
 * their room back and removes REPLY entries whose connection is gone.
 */
#ifndef SL_AGENT_CONNTRACK_H
#define SL_AGENT_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/conntrack.h>

/* Seconds of CLOCK_BOOTTIME, the datapath's conntrack clock. */
uint32_t sl_ct_now(void);

/* An entry is alive until its expiry; REPLY entries live with their OUT. */
bool sl_ct_expired(const struct sl_ct_entry *e, uint32_t now);

/* The OUT key of the connection a REPLY entry translates back. */
void sl_ct_out_key(const struct sl_ct_key *reply, const struct sl_ct_entry *e,
		   struct sl_ct_key *out);

/*
 * sl_ct_walk - call cb for every entry; a non-zero return stops the walk
 * and is returned. Entries change under the walk: one may be missed or
 * seen twice, never torn.
 */
int sl_ct_walk(int fd,
	       int (*cb)(const struct sl_ct_key *k, const struct sl_ct_entry *e,
			 void *arg),
	       void *arg);

struct sl_ct_gc_stats {
	unsigned int seen, expired, orphans; /* orphans: REPLY without OUT */
};

/* Called for each expired entry the GC deletes, with what it held last
 * (a connection's final counters, for its flow end record). */
typedef void (*sl_ct_expired_fn)(void *ctx, const struct sl_ct_key *k,
				 const struct sl_ct_entry *e,
				 uint64_t now_boot_ns);

/* Delete expired entries and orphaned REPLY entries; expired (may be
 * NULL) hears of each expired one deleted. */
int sl_ct_gc(int fd, uint32_t now, struct sl_ct_gc_stats *st,
	     sl_ct_expired_fn expired, void *ctx);

/* Which entries a listing or a flush applies to; zero fields match all. */
struct sl_ct_filter {
	uint32_t addr; /* either end, host order */
	uint16_t port; /* either port */
	uint8_t proto;
	uint32_t svc_id;
};

bool sl_ct_match(const struct sl_ct_filter *f, const struct sl_ct_key *k,
		 const struct sl_ct_entry *e);

/* Delete the entries matching f (both entries of a translated one).
 * Returns how many were deleted, or -errno. */
int sl_ct_flush(int fd, const struct sl_ct_filter *f);

#endif /* SL_AGENT_CONNTRACK_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI'16, section 3.4), computed in user
 * space for sl_maglev (include/sluice/service.h).
 *
 * Each backend has a preference list over the SL_MAGLEV_M entries of the
 * table, a permutation given by an offset and a skip taken from two
 * independent hashes of its identity (address, port, protocol: the same on
 * every node, unlike its id). The backends take turns claiming the next
 * free entry of their lists until the table is full, so each ends up with
 * M/N entries (one more or less), and a backend that comes or goes moves
 * little more than its own share.
 */
#ifndef SL_AGENT_MAGLEV_H
#define SL_AGENT_MAGLEV_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/service.h>

/* One backend of a table: its identity, and the id the table holds. */
struct sl_maglev_backend {
	__u32 id;
	uint32_t ip;   /* host byte order */
	uint16_t port; /* host byte order */
	uint8_t proto; /* IPPROTO_* */
};

/**
 * sl_maglev_fill - compute a Maglev lookup table
 * @be: the backends, in any order (the table does not depend on it)
 * @n: how many; at least 1
 * @table: SL_MAGLEV_M entries, each set to the id of one of @be
 *
 * The same backend identities give the same table, entry for entry, on
 * every node. Returns 0, -EINVAL for no backends, or -ENOMEM.
 */
int sl_maglev_fill(const struct sl_maglev_backend *be, size_t n,
		   __u32 *table);

/*
 * The two hashes of a backend's identity: where its preference list
 * starts (< SL_MAGLEV_M) and its step (1..SL_MAGLEV_M - 1). For tests.
 */
void sl_maglev_permutation(const struct sl_maglev_backend *be,
			   uint32_t *offset, uint32_t *skip);

#endif /* SL_AGENT_MAGLEV_H */

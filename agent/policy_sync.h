/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy sync: keep sl_policy and sl_policy_cidr equal to what the
 * compiler (agent/policy.h) makes of the model for this node's endpoints,
 * and give endpoint sync each endpoint's isolation flags. Writes only
 * differences, from a mirror of what it wrote; the maps are read back only
 * when the mirror cannot be vouched for (start, a failed write, the
 * periodic resync).
 *
 * Order. An endpoint must never be flagged isolated before its allow
 * entries are in the map, and its entries must not go before its flag
 * does: either way its legitimate traffic would be denied for a moment. So
 * one agent sync runs, in this order (agent/loop.c):
 *   1. sl_policy_sync_compile()  the model to entries and flags;
 *   2. sl_policy_sync_write()    new and changed entries: sl_policy first,
 *                                then sl_policy_cidr longest prefix first
 *                                (an identity's entries are there before an
 *                                address resolves to it; an except before
 *                                the block it cuts from);
 *   3. ipcache                   remote identities, so a relabelled pod's
 *                                new identity is known before its old
 *                                entries go, and a new pod's before its
 *                                entry loses SL_EP_F_PENDING;
 *      endpoint sync, Services   the flags (sl_endpoints_assign_isolation());
 *   4. sl_policy_sync_prune()    stale entries: sl_policy_cidr shortest
 *                                prefix first, then sl_policy.
 * A policy change on an isolated endpoint thus adds before it removes; a
 * newly isolated endpoint gets its entries, then its flag; one no longer
 * isolated loses its flag, then its entries. The one exception: when a map
 * cannot hold the old and the new entries together, the stale ones go
 * first (a moment of denial, never of allowing what no policy allows).
 *
 * Overflow. When the compile needs more entries than a map holds
 * (SL_POLICY_MAX, SL_POLICY_CIDR_MAX), nothing is written: a truncated
 * allow-list would deny legitimate traffic of whichever endpoints sort
 * last, and it would not even be the same ones from one sync to the next.
 * The maps keep the last complete write (both maps together: a CIDR
 * identity means nothing without its sl_policy entries). The isolation
 * flags, though, keep following the compile, which cannot overflow (one
 * bit per endpoint): clearing or freezing them would leave an endpoint a
 * policy now selects open to everything, silently. So over capacity the
 * node fails closed: every selected endpoint is isolated, and endpoints
 * or rules added since the last complete write find no entries of their
 * own (denied, kubelet probes included, which makes the state visible
 * beyond the error log and `sluicectl status`). A failed write (ENOSPC,
 * ENOMEM from the kernel) is handled the same way: flags still follow
 * the compile, and nothing is pruned until a write succeeds.
 */
#ifndef SL_AGENT_POLICY_SYNC_H
#define SL_AGENT_POLICY_SYNC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "policy.h"

enum sl_pol_map {
	SL_POL_MAP_POLICY, /* sl_policy: struct sl_policy_entry */
	SL_POL_MAP_CIDR,   /* sl_policy_cidr: struct sl_policy_cidr_entry */
	SL_POL_MAPS,
};

/* Where entries live: the pinned LPM tries, or memory in tests. Entries
 * are packed as the compiler makes them (key, then value). */
struct sl_pol_backend {
	/* Call cb for every entry of map; stop and return its value when
	 * non-zero. */
	int (*dump)(void *ctx, enum sl_pol_map map,
		    int (*cb)(const void *entry, void *arg), void *arg);
	/* Write, or delete (absent ones are no error), n entries at once. */
	int (*write)(void *ctx, enum sl_pol_map map, const void *entries,
		     size_t n);
	int (*remove)(void *ctx, enum sl_pol_map map, const void *entries,
		      size_t n);
	/* Entries each map holds at most. */
	size_t max_entries[SL_POL_MAPS];
	void *ctx;
};

struct sl_pol_stats {
	unsigned int entries[SL_POL_MAPS]; /* compiled */
	unsigned int written[SL_POL_MAPS], removed[SL_POL_MAPS]; /* last sync */
	unsigned int endpoints, isolated; /* local endpoints, isolated ones */
};

struct sl_pol_mirror {
	void *v; /* entries, sorted by key (entry_cmp in policy_sync.c) */
	size_t n;
};

struct sl_pol_state {
	struct sl_policy_ids ids;
	struct sl_policy_out out; /* the last successful compile */
	bool compiled;
	bool recompile; /* even if the model's generation is the same */
	uint64_t compiled_generation; /* of the model */

	/* What the maps hold as far as the last sync knows it. */
	struct sl_pol_mirror mirror[SL_POL_MAPS];
	bool valid;
	/* Between write and prune: the entries to delete. */
	struct sl_pol_mirror stale[SL_POL_MAPS];
	bool pending;

	bool overflow; /* the compile did not fit: maps left as they were */
	struct sl_pol_stats last;
	char error[256]; /* the last overflow or write error, "" when none */
};

void sl_pol_state_init(struct sl_pol_state *st);
void sl_pol_state_free(struct sl_pol_state *st);
/* Make the next sync read the maps back (a periodic check for drift) and
 * compile again (identities refreshed without a new model generation). */
void sl_pol_state_invalidate(struct sl_pol_state *st);

/*
 * sl_policy_sync_compile - compile the model for node self, unless it has
 * not changed since the last compile. On failure (-ENOMEM) the previous
 * result stays, and so do the flags it gives.
 */
int sl_policy_sync_compile(struct sl_pol_state *st, const struct sl_model *m,
			   const char *self);

/*
 * sl_policy_sync_write - step 2: write new and changed entries. Over
 * capacity nothing is written and 0 returned (st->overflow, st->error).
 * Returns 0 or the map's -errno.
 */
int sl_policy_sync_write(const struct sl_pol_backend *be,
			 struct sl_pol_state *st);

/* sl_policy_sync_prune - step 4: delete what the last write left stale. */
int sl_policy_sync_prune(const struct sl_pol_backend *be,
			 struct sl_pol_state *st);

/*
 * sl_policy_sync_flags - the sl_endpoints flags of pod "ns/name" attached
 * at ip (host order), as the last compile decides them:
 *  - an endpoint of the compile there (its Pod object is known): its
 *    isolation, SL_EP_F_INGRESS_ISOLATED, SL_EP_F_EGRESS_ISOLATED or 0;
 *  - none, and no NetworkPolicy in its namespace: 0, as no policy can
 *    select it whatever its labels turn out to be;
 *  - none, and a NetworkPolicy in its namespace: SL_EP_F_PENDING and both
 *    isolation bits, until the Pod object says whether a policy selects it
 *    (fail closed: a selected pod is never open, SPECS E.5).
 */
uint32_t sl_policy_sync_flags(const struct sl_pol_state *st, uint32_t ip,
			      const char *pod_key);

/* The pinned maps as a backend (max_entries from the maps themselves). */
void sl_pol_backend_bpf(struct sl_pol_backend *be, int fds[SL_POL_MAPS]);

/* --- the agent API (sluicectl policy) ------------------------------------- */

/* The sync's state: counts, overflow, last error. */
json_object *sl_policy_sync_status_json(const struct sl_pol_state *st);

/* Every local endpoint: isolation per direction, entries, policies. */
json_object *sl_policy_sync_list_json(const struct sl_pol_state *st);

/*
 * One endpoint ("ns/name" or its address): the compiler's view
 * (sl_policy_endpoint_json()) plus, per direction, "rules": its entries
 * with adjacent port prefixes of one remote, protocol and policy merged
 * back into ranges, each remote described (namespace and labels from the
 * model's identities, "any", or the CIDRs behind a CIDR identity). NULL
 * when no local endpoint is called that.
 */
json_object *sl_policy_sync_endpoint_json(const struct sl_pol_state *st,
					  const struct sl_model *m,
					  const char *which);

/*
 * A traced connection from pod "from" to pod "to" (sl_policy_trace()),
 * with each side's node: a side on another node is decided there, so its
 * verdict is "unknown" here. *err gets -ENOENT (and NULL is returned) when
 * a pod is unknown or has no address.
 */
json_object *sl_policy_sync_trace_json(const struct sl_pol_state *st,
				       const struct sl_model *m,
				       const char *self, const char *from,
				       const char *to, uint8_t proto,
				       uint16_t port, int *err);

#endif /* SL_AGENT_POLICY_SYNC_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint sync: keep sl_endpoints equal to the pods attached on this node
 * (the plugin's records under <runDir>/endpoints) with the identity the
 * model gives each pod and the isolation flags the policy compile gives
 * its address. Writes only the difference.
 */
#ifndef SL_AGENT_ENDPOINT_H
#define SL_AGENT_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/endpoint.h>

#include "model.h"

struct sl_pol_state;

/* Where endpoint entries live: the pinned map, or memory in tests. */
struct sl_ep_backend {
	/* Call cb for every entry; stop and return its value when non-zero. */
	int (*dump)(void *ctx,
		    int (*cb)(uint32_t ip, const struct sl_endpoint *ep,
			      void *arg),
		    void *arg);
	/* 0 with *ep filled, or -ENOENT. */
	int (*lookup)(void *ctx, uint32_t ip, struct sl_endpoint *ep);
	int (*update)(void *ctx, uint32_t ip, const struct sl_endpoint *ep);
	int (*remove)(void *ctx, uint32_t ip);
	/* Is ifindex this host veth now? (a stale record's veth is gone) */
	int (*link_ok)(void *ctx, int ifindex, const char *name);
	void *ctx;
};

/* One attached pod as the plugin recorded it. */
struct sl_ep_desired {
	uint32_t ip;
	struct sl_endpoint ep;
	char ns[254], name[254];
};

struct sl_ep_stats {
	unsigned int updated, removed, unchanged, unknown_pods;
};

/**
 * sl_endpoints_sync - write the difference between desired and the map
 * @be: the map
 * @model: identities for the pods
 * @want: the attached pods (from the plugin's records); sorted by address
 *        here
 * @n: how many
 * @stats: what changed
 *
 * Entries for pods no record names any more are removed; entries whose
 * record points at a veth that no longer exists are left to the plugin's
 * DEL (the record still holds the address). Returns 0 or -errno.
 */
int sl_endpoints_sync(const struct sl_ep_backend *be, struct sl_model *model,
		      struct sl_ep_desired *want, size_t n,
		      struct sl_ep_stats *stats);

/*
 * sl_endpoints_assign_isolation - set SL_EP_F_INGRESS_ISOLATED and
 * SL_EP_F_EGRESS_ISOLATED of each desired endpoint as the policy sync's
 * last compile gives them for its address (sl_policy is keyed by address
 * too, so flags and entries always speak of the same endpoint). Call it
 * between sl_policy_sync_write() and sl_endpoints_sync(): flags after the
 * entries they make matter (agent/policy_sync.h).
 */
void sl_endpoints_assign_isolation(struct sl_ep_desired *want, size_t n,
				   const struct sl_pol_state *pol);

/* Read the plugin's records under run_dir into a malloc'd array. */
int sl_endpoints_read_records(const char *run_dir, struct sl_ep_desired **out,
			      size_t *n);

/* The pinned map as a backend. */
void sl_ep_backend_bpf(struct sl_ep_backend *be, int *map_fd);

#endif /* SL_AGENT_ENDPOINT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint sync: keep sl_endpoints equal to the pods attached on this node
 * (the plugin's records under <runDir>/endpoints) with the identity the
 * model gives each pod and the isolation flags the policy compile gives
 * its address. Writes only the difference.
 *
 * New pods. The plugin writes a pod's entry at ADD with SL_EP_F_PENDING
 * (nothing in or out) when an agent runs on the node, and waits for the
 * agent to rewrite it without: the pod is then never open before its
 * policy is in place, and the runtime starts its containers on a
 * programmed network. The agent learns the pod's address from the record
 * (sl_endpoints_publish(), so the compile and the ipcache have it before
 * the kubelet reports status.podIP) and clears SL_EP_F_PENDING as soon as
 * it can decide the pod's isolation (sl_policy_sync_flags()).
 */
#ifndef SL_AGENT_ENDPOINT_H
#define SL_AGENT_ENDPOINT_H

#include <stdbool.h>
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
	/* An ADD in progress: its address is allocated and the plugin may
	 * have written the entry (closed) already; the entry is the
	 * plugin's until the record is complete. */
	bool attaching;
};

struct sl_ep_stats {
	unsigned int updated, removed, unchanged, unknown_pods;
	unsigned int pending; /* left SL_EP_F_PENDING: Pod not known yet */
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
 * DEL (the record still holds the address), and so are the entries of
 * ADDs in progress. Returns 0 or -errno.
 */
int sl_endpoints_sync(const struct sl_ep_backend *be, struct sl_model *model,
		      struct sl_ep_desired *want, size_t n,
		      struct sl_ep_stats *stats);

/*
 * sl_endpoints_publish - give the model the addresses the records attach
 * pods at (sl_model_set_local_addrs()). Call it before the policy compile
 * and the ipcache sync, which use them. Returns 0 or -ENOMEM.
 */
int sl_endpoints_publish(struct sl_model *model,
			 const struct sl_ep_desired *want, size_t n);

/*
 * sl_endpoints_assign_isolation - set SL_EP_F_INGRESS_ISOLATED,
 * SL_EP_F_EGRESS_ISOLATED and SL_EP_F_PENDING of each desired endpoint as
 * the policy sync's last compile gives them for its pod and address
 * (sl_policy_sync_flags(); sl_policy is keyed by address too, so flags
 * and entries always speak of the same endpoint). Call it between
 * sl_policy_sync_write() and sl_endpoints_sync(): flags after the entries
 * they make matter (agent/policy_sync.h).
 */
void sl_endpoints_assign_isolation(struct sl_ep_desired *want, size_t n,
				   const struct sl_pol_state *pol);

/* Read the plugin's records under run_dir into a malloc'd array, those of
 * ADDs in progress included (attaching). */
int sl_endpoints_read_records(const char *run_dir, struct sl_ep_desired **out,
			      size_t *n);

/* The pinned map as a backend. */
void sl_ep_backend_bpf(struct sl_ep_backend *be, int *map_fd);

#endif /* SL_AGENT_ENDPOINT_H */

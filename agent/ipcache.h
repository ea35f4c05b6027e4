/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ipcache sync: keep sl_ipcache equal to every address the cluster knows:
 * each pod's (this node's where the plugin attached them, known from ADD
 * on; the others' status.podIP) and each node's InternalIP, with the
 * identity behind it and the node that hosts it. Writes only differences.
 */
#ifndef SL_AGENT_IPCACHE_H
#define SL_AGENT_IPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/ipcache.h>

#include "model.h"

/* One host address (host byte order) and what the map says about it. */
struct sl_ipc_entry {
	uint32_t ip;
	struct sl_ipcache_val v;
};

/* Where entries live: the pinned LPM map, or memory in tests. Keys are
 * /32 host addresses in host byte order here; dump walks only those (an
 * LPM lookup answers the longest prefix, so it cannot tell a /32 is there). */
struct sl_ipc_backend {
	int (*dump)(void *ctx,
		    int (*cb)(uint32_t ip, const struct sl_ipcache_val *v,
			      void *arg),
		    void *arg);
	/* Write, or delete (absent ones are no error), n entries at once. */
	int (*write)(void *ctx, const struct sl_ipc_entry *e, size_t n);
	int (*remove)(void *ctx, const struct sl_ipc_entry *e, size_t n);
	void *ctx;
};

struct sl_ipc_stats {
	unsigned int entries, updated, removed;
};

/* What the map holds as far as the last sync knows it (sorted by address),
 * and that sync's counts. Zeroed means "unknown: read the map". */
struct sl_ipc_state {
	struct sl_ipc_stats last;
	struct sl_ipc_entry *mirror;
	size_t n;
	bool valid;
};

/* Sync the map with the model; self is this node's name. */
int sl_ipcache_sync(const struct sl_ipc_backend *be, struct sl_model *model,
		    const char *self, struct sl_ipc_state *st);
/* Make the next sync read the map back (a periodic check for drift). */
void sl_ipc_state_invalidate(struct sl_ipc_state *st);
void sl_ipc_state_free(struct sl_ipc_state *st);

/* The pinned map as a backend. */
void sl_ipc_backend_bpf(struct sl_ipc_backend *be, int *map_fd);

#endif /* SL_AGENT_IPCACHE_H */

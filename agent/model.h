/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's model of the cluster: objects by kind and key, each tagged
 * with the source entry that provided it (a manifest file, or the API
 * server), and what is derived from them: security identities.
 */
#ifndef SL_AGENT_MODEL_H
#define SL_AGENT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "k8s.h"
#include "table.h"

/* Identities below this are reserved (0 unknown, 1 host, 2 world, …). */
#define SL_IDENTITY_FIRST 256
#define SL_IDENTITY_BITS 24 /* carried in a VXLAN VNI later */

struct sl_identity {
	uint32_t id;
	char *ns;
	char *labels;    /* "k=v,k=v" of the pod, for display */
	char *ns_labels; /* the namespace's, for display */
	char *canonical; /* what the id is a hash of */
	bool seen;       /* mark for sweeping unused identities */
};

struct sl_model {
	struct sl_table objects[SL_KIND_COUNT]; /* key -> struct sl_model_obj */
	struct sl_table identities;             /* canonical -> identity */
	struct sl_table identity_ids;           /* "%u" id -> identity */
	uint64_t generation;   /* bumped on every change */
	uint64_t collisions;   /* identity hash collisions seen */
};

struct sl_model_obj {
	struct sl_object obj;
	char *owner;
};

void sl_model_init(struct sl_model *m);
void sl_model_free(struct sl_model *m);

/*
 * sl_model_upsert - take obj (moved in: the caller's copy is cleared) as
 * the current state of its key, owned by owner. Returns 1 when something
 * changed, 0 when identical, -ENOMEM.
 */
int sl_model_upsert(struct sl_model *m, struct sl_object *obj,
		    const char *owner);

/* Delete kind/key if owner owns it (owner NULL: whoever does). 1 if gone. */
int sl_model_delete(struct sl_model *m, enum sl_kind kind, const char *key,
		    const char *owner);

const struct sl_object *sl_model_get(const struct sl_model *m,
				     enum sl_kind kind, const char *key);
size_t sl_model_count(const struct sl_model *m, enum sl_kind kind);

/*
 * sl_model_pod_identity - the identity of a pod: its namespace, its labels
 * and its namespace's labels, hashed to a number that is the same on every
 * node. Allocates the identity on first use (marked seen).
 */
const struct sl_identity *sl_model_pod_identity(struct sl_model *m,
						const struct sl_pod *pod);

/* Recompute identities for every pod and drop the unused ones. */
int sl_model_refresh_identities(struct sl_model *m);

/* The hash behind identities (exposed for tests). */
uint32_t sl_identity_hash(const char *canonical, uint32_t salt);

#endif /* SL_AGENT_MODEL_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's model of the cluster: objects by kind and key, each tagged
 * with the source entry that provided it (a manifest file, or the API
 * server), and what is derived from them: security identities. Beside the
 * objects, the addresses the plugin attached this node's pods at (its
 * endpoint records): the kubelet reports a pod's status.podIP only after
 * CNI ADD returns, and the pod needs its identity and policy before then.
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
	unsigned int refs; /* pods using it; released at zero */
};

/* A pod of this node where the plugin attached it (one endpoint record). */
struct sl_local_addr {
	char *pod;   /* "ns/name", as the runtime named it at ADD */
	uint32_t ip; /* host order */
	bool fresh;  /* not in the set before the last update */
};

/* One object upserted or deleted, as sl_model_changes() gives it. */
struct sl_model_change {
	uint64_t generation; /* the model's, after the change */
	enum sl_kind kind;
	char *key;
};

#define SL_MODEL_LOG 4096 /* changes remembered */

struct sl_model {
	struct sl_table objects[SL_KIND_COUNT]; /* key -> struct sl_model_obj */
	struct sl_local_addr *local; /* sorted by (pod, ip) */
	size_t n_local;
	struct sl_table identities;             /* canonical -> identity */
	struct sl_table identity_ids;           /* "%u" id -> identity */
	uint64_t generation;   /* bumped on every change */
	uint64_t collisions;   /* identity hash collisions seen */
	bool identities_stale; /* an allocation failed: refresh all */
	/* The last SL_MODEL_LOG object changes, a ring from log_head; what
	 * came at or before generation log_lost is forgotten. */
	struct sl_model_change *log;
	size_t log_head, n_log;
	uint64_t log_lost;
};

struct sl_model_obj {
	struct sl_object obj;
	char *owner;
	struct sl_identity *identity; /* pods not on the host network */
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

/*
 * sl_model_changes - cb(kind, key, arg) for each object upserted or
 * deleted after generation since, oldest first (a key may come more than
 * once), for a caller that follows the model by its differences. Stops at
 * cb's first non-zero return and returns it. -ERANGE, cb not called, when
 * the model no longer remembers that far back: the caller has to look at
 * every object.
 */
int sl_model_changes(const struct sl_model *m, uint64_t since,
		     int (*cb)(enum sl_kind kind, const char *key, void *arg),
		     void *arg);

const struct sl_object *sl_model_get(const struct sl_model *m,
				     enum sl_kind kind, const char *key);
size_t sl_model_count(const struct sl_model *m, enum sl_kind kind);

/*
 * sl_model_identity - the identity of pod "ns/name": its namespace, its
 * labels and its namespace's labels, hashed to a number that is the same on
 * every node. Kept up to date as pods and namespaces change: identities are
 * counted references, made on first use and released with their last pod.
 * NULL for unknown and host-network pods.
 */
const struct sl_identity *sl_model_identity(const struct sl_model *m,
					    const char *pod_key);

/*
 * sl_model_set_local_addrs - replace the set of local addresses with v
 * (copied; any order). A change bumps the generation: the policy compile
 * and the ipcache follow the records as they follow objects. Marks the
 * entries the old set lacked as fresh. Returns 1 when something changed,
 * 0 when not, -ENOMEM (the old set kept).
 */
int sl_model_set_local_addrs(struct sl_model *m, const struct sl_local_addr *v,
			     size_t n);

/* The local addresses of pod "ns/name": how many, from *first on. */
size_t sl_model_local_addrs(const struct sl_model *m, const char *pod_key,
			    const struct sl_local_addr **first);

/*
 * sl_model_local_pod - the Pod object a record of node self names, or
 * NULL: none by that key (not known yet), or one scheduled to another node
 * (a pod recreated under the same name elsewhere: the record is its
 * predecessor's) or on the host network (never a record of ours).
 */
const struct sl_pod *sl_model_local_pod(const struct sl_model *m,
					const char *pod_key, const char *self);

/*
 * sl_model_pod_addr - where pod "ns/name" is reached from node self: its
 * first local address when it has one (what sl_endpoints holds, before and
 * whatever status.podIP says), else status.podIP; 0 when neither.
 */
uint32_t sl_model_pod_addr(const struct sl_model *m, const char *pod_key,
			   const char *self);

/* Recompute every pod's identity if an allocation failed on the way. */
int sl_model_refresh_identities(struct sl_model *m);

/* The hash behind identities (exposed for tests). */
uint32_t sl_identity_hash(const char *canonical, uint32_t salt);

#endif /* SL_AGENT_MODEL_H */

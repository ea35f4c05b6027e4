/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service sync: compile Services and EndpointSlices into sl_services,
 * sl_backends and sl_maglev (include/sluice/service.h) the way kube-proxy
 * would program them (SPECS D.3), and write only the differences, in the
 * order the datapath can read at any moment: backends, slots, Maglev
 * tables, frontends, then what is gone (frontends and slots, tables,
 * backends).
 *
 * Ids: a backend id names one (address, port, protocol) for as long as it
 * is wanted, and is never given to anything else while the agent runs; a
 * service id names one Service port (namespace/name, port name, protocol)
 * for as long as it exists. A restarted agent adopts the ids it finds in
 * the maps, so connections and affinities survive it.
 *
 * Maglev tables: one per frontend with SL_SVC_F_MAGLEV and backends, under
 * a table id the frontend keeps while it has a table (adopted from the
 * maps after a restart). An id is given to another frontend only once its
 * table and every frontend naming it are gone from the maps. A table is
 * computed (agent/maglev.c) only when its frontend's backends change, and
 * replaced whole (a new inner map swapped in). A table found in the map
 * after a restart is read back and kept when it holds what we would write.
 *
 * Backends: every endpoint of a matched slice port, ready or not, so
 * connections already tracked to it keep going; SL_BE_F_TERMINATING marks
 * every one that is not ready (for new connections only through fallback
 * slots, never through ClientIP affinity), SL_BE_F_LOCAL those on this node.
 */
#ifndef SL_AGENT_SERVICE_H
#define SL_AGENT_SERVICE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/service.h>

#include "model.h"
#include "table.h"

/* What the compile needs besides the model. */
struct sl_svc_config {
	const char *self;          /* this node's name */
	const uint32_t *node_ips;  /* its IPv4 addresses (NodePort), host order */
	size_t n_node_ips;
	bool maglev_default;       /* Services without sluice.io/lb-algorithm */
	const char *zone;          /* its topology.kubernetes.io/zone, or NULL */
};

/* One sl_services entry; keys and values exactly as in the map. */
struct sl_svc_entry {
	struct sl_service_key key;
	struct sl_service_val val;
};

/* One sl_backends entry. */
struct sl_svc_backend_entry {
	__u32 id;
	struct sl_backend be;
};

/*
 * Where entries live: the pinned maps, or memory in tests. Each call gets
 * the backend itself: the BPF one reads its fds from it, a test one its ctx.
 * write_* are BPF_ANY updates of n packed entries in array order; remove_*
 * deletes in array order, absent keys being no error. Any failure returns
 * -errno and may leave a prefix of the array applied.
 */
struct sl_svc_backend {
	int (*dump_services)(const struct sl_svc_backend *be,
			     int (*cb)(const struct sl_service_key *k,
				       const struct sl_service_val *v,
				       void *arg),
			     void *arg);
	int (*dump_backends)(const struct sl_svc_backend *be,
			     int (*cb)(__u32 id, const struct sl_backend *b,
				       void *arg),
			     void *arg);
	int (*write_services)(const struct sl_svc_backend *be,
			      const struct sl_service_key *keys,
			      const struct sl_service_val *vals, size_t n);
	int (*remove_services)(const struct sl_svc_backend *be,
			       const struct sl_service_key *keys, size_t n);
	int (*write_backends)(const struct sl_svc_backend *be, const __u32 *ids,
			      const struct sl_backend *vals, size_t n);
	int (*remove_backends)(const struct sl_svc_backend *be,
			       const __u32 *ids, size_t n);
	/*
	 * sl_maglev; without them (NULL) Maglev frontends get no table and
	 * pick at random. dump_maglev gives each table id and the id of the
	 * inner map holding it; read_maglev copies a table (SL_MAGLEV_M ids)
	 * out, -ENOENT when absent; write_maglev fills a new inner map and
	 * swaps it in under table_id in one step (a reader sees the old
	 * table or the new one), setting *inner_id; remove_maglev as
	 * remove_*.
	 */
	int (*dump_maglev)(const struct sl_svc_backend *be,
			   int (*cb)(__u32 table_id, __u32 inner_id,
				     void *arg),
			   void *arg);
	int (*read_maglev)(const struct sl_svc_backend *be, __u32 table_id,
			   __u32 *table);
	int (*write_maglev)(const struct sl_svc_backend *be, __u32 table_id,
			    const __u32 *table, __u32 *inner_id);
	int (*remove_maglev)(const struct sl_svc_backend *be,
			     const __u32 *table_ids, size_t n);
	void *ctx;                      /* for test backends */
	int services_fd, backends_fd;   /* for the BPF one */
	int maglev_fd;                  /* for the BPF one; -1: none */
};

/* The pinned sl_services, sl_backends and sl_maglev (-1 when the pinned
 * datapath has none) as a backend. */
void sl_svc_backend_bpf(struct sl_svc_backend *be, int services_fd,
			int backends_fd, int maglev_fd);

/*
 * One compiled frontend: slot 0 of sl_services and the backend ids of its
 * slots 1..val.count, in slot order (sorted by backend address and port).
 */
struct sl_svc_frontend {
	struct sl_service_key key; /* slot 0 */
	struct sl_service_val val;
	__u32 *backends;           /* val.count ids */
};

struct sl_svc_stats {
	unsigned int frontends, backends, slots;  /* what the maps now hold */
	unsigned int frontends_written, frontends_removed;
	unsigned int backends_written, backends_removed;
	unsigned int slots_written, slots_removed;
	unsigned int tables, tables_written, tables_removed; /* Maglev */
	unsigned int tables_adopted; /* found right in the map, kept */
	unsigned int dropped; /* Service ports or frontends left out (logged) */
};

/* One sl_maglev entry as far as the last sync knows it. */
struct sl_svc_maglev {
	__u32 table_id;
	__u32 inner_id;   /* the inner map holding it (kernel map id) */
	__u32 *backends;  /* the frontend's backends (slot order) it was
			   * computed from; NULL: unknown, found in the map */
	size_t n;
};

/*
 * What the maps hold as far as the last sync knows (the mirror, trusted
 * only while valid): the last compile kept per Service, with the digests
 * of what went into it, so that a sync recompiles only the Services whose
 * Service object or EndpointSlices changed and writes only the difference
 * (see sl_services_sync). Zeroed is a valid start: the first sync reads
 * the maps and adopts their ids. Touch only through the functions below.
 */
struct sl_svc_state {
	struct sl_svc_stats last;
	/* sl_maglev, sorted by table id; updated as each table is written,
	 * so it stays right when a sync fails half-way. Read back with the
	 * rest; an entry whose inner map is still the one we wrote keeps
	 * what we know of its content. */
	struct sl_svc_maglev *maglev;
	size_t n_maglev;
	bool valid;
	/* The last compile: "ns/name" of each Service -> its frontends
	 * (slot 0 and slots as written), the backends its endpoints ask
	 * for, its digest; frontend key -> the Service holding it. */
	struct sl_table units;
	struct sl_table fronts;
	/* EndpointSlice key -> its digest and "ns/service"; "ns/service" ->
	 * its slices by name. */
	struct sl_table slices;
	struct sl_table groups;
	/* Ids: "addr:port/proto" -> a backend, with how many Service ports
	 * use it and what the maps hold under its id; the same by id, in
	 * by_id_cap slots of open addressing on the id (no string made per
	 * backend); "ns/name:port/PROTO" and "%u" svc_id -> the service
	 * port's name. */
	struct sl_table backend_ids;
	void **by_id;
	size_t by_id_cap, by_id_len;
	struct sl_table svc_ids;
	struct sl_table svc_names;
	/* Last handed out. A caller that persists them may seed them before
	 * the first sync, which continues above the seed and above every id
	 * in the maps: ids of entries deleted while no agent ran are only
	 * known that way. */
	__u32 next_backend_id, next_svc_id;
	uint64_t gen;  /* sync generation: marks what this sync saw and used */
	bool adopted;  /* the maps' ids were read after start */
	/* What the last sync saw, to tell what changed since: the model
	 * at which generation (its log says what came after), the config
	 * (when it differs, the sync compiles everything). */
	const struct sl_model *model;
	uint64_t model_gen;
	uint64_t cfg_digest;  /* of sl_svc_config and the backend's kind */
	bool full_only;       /* the maps' limits or the Maglev table ids
			       * left something out: who is left out is
			       * decided over all Services in key order */
	/* Totals over the units, as the maps hold them. */
	size_t n_fe, n_slots, n_be, n_tables;
	size_t need, cands;   /* entries and endpoints, against the limits */
	unsigned int dropped;
};

/**
 * sl_services_sync - make the Service maps what the model says
 * @be: the maps (sl_services, sl_backends, sl_maglev)
 * @m: the model (Services and EndpointSlices are read)
 * @cfg: this node's name and addresses, defaults
 * @st: mirror, ids and stats; kept across calls
 *
 * A sync costs what changed: only the Services whose Service object or
 * EndpointSlices changed (by digest), or that came or went, are compiled
 * again, and only their frontends, slots, Maglev tables and the backends
 * their endpoints name are diffed and written. Everything is compiled and
 * diffed whole when something global differs: the first sync, an invalid
 * mirror (a failed write, sl_svc_state_invalidate), the config, a
 * frontend two Services claim, a limit that left something out. Both give
 * the same maps.
 *
 * Returns 0, or -errno after invalidating the mirror: the next call reads
 * the maps back and repairs them. Whatever fails, no frontend ever counts
 * slots that were not written or names a table that was not, and no slot
 * or table names a backend that was not.
 */
int sl_services_sync(const struct sl_svc_backend *be, const struct sl_model *m,
		     const struct sl_svc_config *cfg, struct sl_svc_state *st);

/* Make the next sync read the maps back (periodic check for drift). */
void sl_svc_state_invalidate(struct sl_svc_state *st);
void sl_svc_state_free(struct sl_svc_state *st);

/*
 * sl_svc_name - "ns/name:port/PROTO" of a service id in use ("ns/name/PROTO"
 * for an unnamed port), or NULL. For flows and display.
 */
const char *sl_svc_name(const struct sl_svc_state *st, __u32 svc_id);

/* The backend the last sync wrote under id, or NULL. */
const struct sl_backend *sl_svc_backend_get(const struct sl_svc_state *st,
					    __u32 id);

/*
 * sl_svc_frontends_json - the last compiled frontends as a new json-c array
 * (what `sluicectl services` shows), sorted by address, port, protocol,
 * scope. Each element:
 *   { "frontend": "10.96.0.10:53/UDP", "address", "port", "protocol",
 *     "scope": "external"|"internal", "service": "ns/name:port/PROTO",
 *     "svcId", "flags": ["affinity", "two-scopes", "local", "maglev",
 *     "external", "nodeport"], "count", "affinityTimeout" (with affinity),
 *     "maglevTable" (its sl_maglev table id, with a table),
 *     "backends": [ { "id", "address": "10.244.1.5:8053",
 *                     "flags": ["terminating", "local"] } ] }
 * NULL on allocation failure. The caller puts the reference.
 */
json_object *sl_svc_frontends_json(const struct sl_svc_state *st);

#endif /* SL_AGENT_SERVICE_H */

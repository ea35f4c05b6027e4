/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's side of flow visibility: reads the sl_events ring on the
 * event loop into agent/flows.c, and answers the names a flow record
 * needs (pods by address, labels by identity, Services and policies by
 * id) from the agent's model and sync state.
 */
#ifndef SL_AGENT_FLOW_SOURCE_H
#define SL_AGENT_FLOW_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"
#include "model.h"

struct ring_buffer;
struct sl_svc_state;
struct sl_pol_state;

struct sl_flow_pod {
	uint32_t ip;
	const char *key;   /* "namespace/name", the model's (rebuilt with it) */
	uint32_t identity;
};

/* A cgroup's container id, once looked up: cgroup ids are never reused. */
struct sl_flow_cgroup {
	uint64_t id;        /* 0: an empty slot */
	char container[72]; /* "" when the cgroup names none */
};

#define SL_FLOW_CGROUPS 1024 /* cached, by id modulo */

struct sl_flow_source {
	struct sl_flows flows;
	struct sl_flow_names names;
	struct ring_buffer *rb;
	/* What the loop watches: the ring, and the timer of the ends held
	 * for their sockets (flows.h). */
	int epoll_fd, timer_fd;
	int event_stats_fd; /* sl_event_stats, for metrics; -1 without */
	const struct sl_model *model;
	const struct sl_svc_state *svc;
	const struct sl_pol_state *pol;
	/* Pods by address, sorted; rebuilt when the model's generation
	 * moves. */
	struct sl_flow_pod *pods;
	size_t n_pods;
	uint64_t pods_generation;
	bool pods_valid;
	/* Container ids by cgroup id, and the cgroup v2 mount they are
	 * looked up under (-1: not opened yet, -2: none). */
	struct sl_flow_cgroup *cgroups;
	int cgroup_fd;
};

/*
 * sl_flow_source_init - the ring reader and the names
 * @events_fd: the pinned sl_events; -1 leaves flows empty (an older
 *             datapath)
 * @event_stats_fd: the pinned sl_event_stats, or -1
 * @cap: records kept for `sluicectl observe` (0: the default)
 *
 * Returns 0 or -errno.
 */
int sl_flow_source_init(struct sl_flow_source *s, int events_fd,
			int event_stats_fd, size_t cap,
			const struct sl_model *model,
			const struct sl_svc_state *svc,
			const struct sl_pol_state *pol, const char *node_name);
void sl_flow_source_free(struct sl_flow_source *s);

/*
 * sl_flow_events_configure - the datapath's event budget and flow events
 * in sl_config (include/sluice/config.h): rate and burst per CPU, 0 for
 * the defaults. Keeps the rest of sl_config. Returns 0 or -errno; a
 * config_fd of -1 (an older datapath) is not an error.
 */
int sl_flow_events_configure(int config_fd, uint32_t rate, uint32_t burst,
			     bool flows_off);

/* The fd to watch for readable events (the ring's, or a held end's
 * wait over); -1 without a ring. */
int sl_flow_source_fd(const struct sl_flow_source *s);

/* Metrics (agent/metrics.h collector; arg is the flow source): records
 * by kind and verdict, undecodable events, and the datapath's events sent
 * and shed by type. */
struct sl_prom;
void sl_flow_source_collect(struct sl_prom *out, void *arg);

/* Everything the ring holds, into flows; and the held ends whose wait is
 * over, out. Called again within SL_FLOW_SOURCE_TICK_NS whatever comes
 * (the fd turns readable only once the ring is a quarter full,
 * datapath/lib/events.h). Short enough that a flow shows in --follow
 * within 10 ms and the ring never fills between reads (at the default
 * 50k events/s per CPU, 10 ms is 500 events of the ring's ~10k), cheap
 * enough at 100 reads a second. */
#define SL_FLOW_SOURCE_TICK_NS 10000000ull
void sl_flow_source_read(struct sl_flow_source *s);

/*
 * sl_flow_cgroup_path - the path of the cgroup v2 directory whose id (its
 * inode number, what bpf_get_current_cgroup_id() returns) is @id, under
 * the cgroup v2 mount open at @root_fd: by file handle (kernfs hands
 * them out for cgroups), else by walking the tree. Returns 0 or -errno.
 */
int sl_flow_cgroup_path(int root_fd, uint64_t id, char *out, size_t len);

#endif /* SL_AGENT_FLOW_SOURCE_H */

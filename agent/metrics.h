/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's Prometheus endpoint (sluiced --metrics-listen ADDR:PORT):
 * GET /metrics in the text format (agent/prometheus.h) and GET /healthz,
 * served by agent/http.h on the agent's epoll loop.
 *
 * What /metrics shows comes from collectors, called in the order they were
 * registered, each writing its own families. The agent registers its own
 * (datapath counters, conntrack, sync state, process) when the endpoint
 * opens; another part of the agent adds its families with one call, e.g.
 * the flow pipeline:
 *
 *	static void flows_collect(struct sl_prom *out, void *arg)
 *	{
 *		const struct sl_flows *f = arg;
 *
 *		sl_prom_family(out, "sluice_flows_total", SL_PROM_COUNTER,
 *			       "Flows seen, by verdict");
 *		sl_prom_sample_u64(out, SL_PROM_LABELS({ "verdict", "forwarded" }),
 *				   f->forwarded);
 *		...
 *	}
 *	sl_metrics_register(&a->metrics, flows_collect, &a->flows);
 *
 * Labels must stay of bounded cardinality: nothing per flow, pod or
 * Service. A family name must be new (the writer refuses a second one).
 */
#ifndef SL_AGENT_METRICS_H
#define SL_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sluice/drop.h>

#include "http.h"
#include "prometheus.h"

#define SL_METRICS_LISTEN_MAX 4   /* addresses a host name binds */
#define SL_METRICS_COLLECTORS_MAX 16
#define SL_METRICS_CONNS 16       /* open at once; the oldest gives way */
#define SL_METRICS_OUT_MAX (4u << 20)

/* Where --metrics-listen binds. */
struct sl_metrics_listen {
	struct sockaddr_storage addrs[SL_METRICS_LISTEN_MAX];
	socklen_t lens[SL_METRICS_LISTEN_MAX];
	size_t n;   /* 0: no endpoint */
	bool any;   /* ":PORT": the first of [::], 0.0.0.0 that binds */
	char spec[300];
};

/*
 * sl_metrics_parse_listen - ADDR:PORT, ADDR being an IPv4 address, an
 * IPv6 address in brackets ([::]:9962), a host name (resolved now: every
 * address it has is bound), or nothing (":9962", every address). -EINVAL
 * with why set when spec is malformed or the name does not resolve.
 */
int sl_metrics_parse_listen(const char *spec, struct sl_metrics_listen *out,
			    char *why, size_t why_len);

typedef void (*sl_metrics_collect_fn)(struct sl_prom *out, void *arg);

/* /healthz: true when ready, else false with why set. */
typedef bool (*sl_metrics_ready_fn)(const void *arg, char *why, size_t len);

struct sl_metrics {
	struct sl_metrics_listen where;
	int fds[SL_METRICS_LISTEN_MAX]; /* listening, n_fds of them */
	size_t n_fds;
	struct sl_http_server http;
	struct {
		sl_metrics_collect_fn fn;
		void *arg;
	} collectors[SL_METRICS_COLLECTORS_MAX];
	size_t n_collectors;
	sl_metrics_ready_fn ready;
	const void *ready_arg;
	int last_err; /* the writer's last refusal, logged once */
};

/* Add a collector; -ENOSPC past SL_METRICS_COLLECTORS_MAX. */
int sl_metrics_register(struct sl_metrics *m, sl_metrics_collect_fn fn,
			void *arg);

/* What GET /metrics answers: every collector, in registration order. */
void sl_metrics_render(struct sl_metrics *m, struct sl_prom *out);

/* Bind m->where and serve on epoll_fd; -errno when nothing binds. */
int sl_metrics_open(struct sl_metrics *m, int epoll_fd);

/* Handle an epoll event on fd if it is ours; false when it is not. */
bool sl_metrics_handle(struct sl_metrics *m, int fd);

/* Safe on a zeroed, never opened struct. */
void sl_metrics_close(struct sl_metrics *m);

/*
 * sl_metrics_datapath - the families of the datapath's sl_metrics
 * counters, summed over CPUs and indexed by sl_metrics_index(): drops and
 * forwards by reason or trace point and direction (every name of
 * include/sluice/drop.h, zeros included, so a series exists before its
 * first packet and rate() sees that one too), policy verdicts and Service
 * backend selections. sums NULL (the map unreadable): the families
 * without samples.
 */
void sl_metrics_datapath(struct sl_prom *out,
			 const struct sl_metrics_val *sums);

struct sl_agent;

/*
 * sl_metrics_agent_open - with --metrics-listen, register the agent's
 * collectors and readiness and start serving; 0 without it.
 */
int sl_metrics_agent_open(struct sl_agent *a);

/* Readiness as /healthz answers it: synced, and the last sync succeeded. */
bool sl_metrics_agent_ready(const void *agent, char *why, size_t len);

#endif /* SL_AGENT_METRICS_H */

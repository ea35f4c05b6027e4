/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The health check node ports of LoadBalancer Services with
 * externalTrafficPolicy Local, served as kube-proxy serves them: an HTTP
 * answer on spec.healthCheckNodePort, 200 while this node has a ready
 * endpoint of the Service and 503 otherwise, so a cloud load balancer only
 * sends traffic to nodes that can take it. Listening sockets and their
 * connections (agent/http.h) live on the agent's epoll loop.
 */
#ifndef SL_AGENT_HEALTHCHECK_H
#define SL_AGENT_HEALTHCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "model.h"

#define SL_HC_MAX_CONNS 64 /* answered one request each, then closed */

struct sl_hc_port {
	uint16_t port;
	int fd;
	char service[520]; /* "ns/name" */
	unsigned int local_endpoints;
};

struct sl_health {
	int epoll_fd;
	struct sl_hc_port *ports;
	size_t n;
	struct sl_http_server http; /* tag: the port a connection came to */
};

void sl_health_init(struct sl_health *h, int epoll_fd);

/*
 * sl_health_sync - listen on the health check node port of every
 * LoadBalancer Service with externalTrafficPolicy Local, with the count of
 * this node's ready endpoints; stop listening on the ones gone. A port that
 * cannot be bound is logged and retried at the next sync.
 */
void sl_health_sync(struct sl_health *h, const struct sl_model *m,
		    const char *self);

/* Handle an epoll event on fd if it is ours; false when it is not. */
bool sl_health_handle(struct sl_health *h, int fd);

void sl_health_close(struct sl_health *h);

#endif /* SL_AGENT_HEALTHCHECK_H */

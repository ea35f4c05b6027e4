// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "healthcheck.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

void sl_health_init(struct sl_health *h, int epoll_fd)
{
	memset(h, 0, sizeof(*h));
	h->epoll_fd = epoll_fd;
}

/* Ready endpoints of svc on node self, each address once. */
static unsigned int local_endpoints(const struct sl_model *m,
				    const struct sl_service *svc,
				    const char *self)
{
	uint32_t seen[64];
	unsigned int n = 0, total = 0;
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&m->objects[SL_KIND_ENDPOINTSLICE], &i,
					 &key, &val);) {
		const struct sl_endpoint_slice *es =
			&((const struct sl_model_obj *)val)->obj.slice;

		if (!es->ipv4 || strcmp(es->ns, svc->ns) ||
		    strcmp(es->service, svc->name))
			continue;
		for (size_t j = 0; j < es->n_endpoints; j++) {
			const struct sl_slice_endpoint *ep = &es->endpoints[j];
			bool dup = false;

			if (!ep->ready || strcmp(ep->node, self))
				continue;
			for (unsigned int k = 0; k < n && !dup; k++)
				dup = seen[k] == ep->ip;
			if (dup)
				continue;
			if (n < sizeof(seen) / sizeof(seen[0]))
				seen[n++] = ep->ip;
			total++; /* past 64 distinct, duplicates may count */
		}
	}
	return total;
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };

	return sl_http_listen((struct sockaddr *)&sa, sizeof(sa));
}

static void watch(struct sl_health *h, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static struct sl_hc_port *find_port(struct sl_hc_port *ports, size_t n,
				    uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].port == port)
			return &ports[i];
	return NULL;
}

/* One request, one answer: kube-proxy's body, on whatever path. */
static void answer(void *ctx, unsigned long port,
		   const struct sl_http_request *req, struct sl_http_reply *r)
{
	struct sl_health *h = ctx;
	const struct sl_hc_port *p = find_port(h->ports, h->n, (uint16_t)port);
	const char *slash = p ? strchr(p->service, '/') : NULL;

	(void)req;
	if (!slash) { /* closed at this sync: not ours any more */
		sl_http_reply_printf(r, 503, "{\"serviceProxyHealthy\":true}\n");
		return;
	}
	sl_http_reply_printf(r, p->local_endpoints ? 200 : 503,
			     "{\"service\":{\"namespace\":\"%.*s\",\"name\":\"%s\"},"
			     "\"localEndpoints\":%u,\"serviceProxyHealthy\":true}\n",
			     (int)(slash - p->service), p->service, slash + 1,
			     p->local_endpoints);
	r->content_type = "application/json";
}

void sl_health_sync(struct sl_health *h, const struct sl_model *m,
		    const char *self)
{
	size_t cap = 0, n = 0;
	struct sl_hc_port *want = NULL;
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&m->objects[SL_KIND_SERVICE], &i, &key,
					 &val);) {
		const struct sl_service *s = &((const struct sl_model_obj *)val)->obj.svc;
		struct sl_hc_port *p;

		if (s->type != SL_SVC_LOAD_BALANCER || !s->etp_local ||
		    !s->health_check_node_port || s->proxy_name[0])
			continue;
		if (find_port(want, n, s->health_check_node_port)) {
			log_warn("health check node port %u claimed twice; keeping the first",
				 s->health_check_node_port);
			continue;
		}
		if (n == cap) {
			struct sl_hc_port *grown;

			cap = cap ? cap * 2 : 8;
			grown = realloc(want, cap * sizeof(*grown));
			if (!grown) {
				free(want);
				return; /* keep serving what we serve */
			}
			want = grown;
		}
		p = &want[n++];
		memset(p, 0, sizeof(*p));
		p->port = s->health_check_node_port;
		p->fd = -1;
		snprintf(p->service, sizeof(p->service), "%s/%s", s->ns, s->name);
		p->local_endpoints = local_endpoints(m, s, self);
	}
	if (n && !h->http.conns) {
		int err = sl_http_server_init(&h->http, h->epoll_fd,
					      SL_HC_MAX_CONNS, answer, h);

		if (err < 0)
			log_warn("health check node ports: %s; answering none",
				 strerror(-err));
	}
	/* Keep the sockets of ports still wanted; open the new ones. */
	for (size_t i = 0; i < n; i++) {
		struct sl_hc_port *old = find_port(h->ports, h->n, want[i].port);

		if (old && old->fd >= 0) {
			want[i].fd = old->fd;
			old->fd = -1;
			continue;
		}
		want[i].fd = listen_on(want[i].port);
		if (want[i].fd < 0) {
			log_warn("health check node port %u (%s): %s", want[i].port,
				 want[i].service, strerror(-want[i].fd));
			continue;
		}
		watch(h, want[i].fd);
		log_info("health check node port %u serves %s", want[i].port,
			 want[i].service);
	}
	for (size_t i = 0; i < h->n; i++)
		if (h->ports[i].fd >= 0) {
			close(h->ports[i].fd);
			sl_http_drop_tag(&h->http, h->ports[i].port);
			log_info("health check node port %u closed", h->ports[i].port);
		}
	free(h->ports);
	h->ports = want;
	h->n = n;
}

bool sl_health_handle(struct sl_health *h, int fd)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->ports[i].fd == fd) {
			sl_http_accept(&h->http, fd, h->ports[i].port);
			return true;
		}
	return sl_http_handle(&h->http, fd);
}

void sl_health_close(struct sl_health *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->ports[i].fd >= 0)
			close(h->ports[i].fd);
	sl_http_server_close(&h->http);
	free(h->ports);
	h->ports = NULL;
	h->n = 0;
}

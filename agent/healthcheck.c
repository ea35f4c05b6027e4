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
	for (int i = 0; i < SL_HC_MAX_CONNS; i++)
		h->conns[i].fd = -1;
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
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void watch(struct sl_health *h, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static void conn_close(struct sl_hc_conn *c)
{
	close(c->fd); /* leaves the epoll set with it */
	c->fd = -1;
}

static struct sl_hc_port *find_port(struct sl_hc_port *ports, size_t n,
				    uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].port == port)
			return &ports[i];
	return NULL;
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
			log_info("health check node port %u closed", h->ports[i].port);
		}
	/* Connections point at ports by number: re-resolve them. */
	for (int i = 0; i < SL_HC_MAX_CONNS; i++) {
		struct sl_hc_conn *c = &h->conns[i];

		if (c->fd < 0)
			continue;
		c->port = find_port(want, n, c->port_num);
		if (!c->port)
			conn_close(c);
	}
	free(h->ports);
	h->ports = want;
	h->n = n;
}

static void accept_on(struct sl_health *h, const struct sl_hc_port *p)
{
	for (;;) {
		int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sl_hc_conn *c = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < SL_HC_MAX_CONNS && !c; i++)
			if (h->conns[i].fd < 0)
				c = &h->conns[i];
		if (!c) {
			close(fd); /* a flood; the prober retries */
			continue;
		}
		c->fd = fd;
		c->port = p;
		c->port_num = p->port;
		watch(h, fd);
	}
}

/* One request, one answer: kube-proxy's body, on whatever path. */
static void answer(struct sl_hc_conn *c)
{
	const struct sl_hc_port *p = c->port;
	char req[2048], body[768], resp[1024];
	const char *slash = strchr(p->service, '/');
	ssize_t got = read(c->fd, req, sizeof(req));
	int len;

	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		conn_close(c);
		return;
	}
	snprintf(body, sizeof(body),
		 "{\"service\":{\"namespace\":\"%.*s\",\"name\":\"%s\"},"
		 "\"localEndpoints\":%u,\"serviceProxyHealthy\":true}\n",
		 (int)(slash - p->service), p->service, slash + 1,
		 p->local_endpoints);
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
		       "X-Content-Type-Options: nosniff\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       p->local_endpoints ? "200 OK" : "503 Service Unavailable",
		       strlen(body), body);
	if (write(c->fd, resp, (size_t)len) < 0)
		log_debug("health check answer: %s", strerror(errno));
	conn_close(c);
}

bool sl_health_handle(struct sl_health *h, int fd)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->ports[i].fd == fd) {
			accept_on(h, &h->ports[i]);
			return true;
		}
	for (int i = 0; i < SL_HC_MAX_CONNS; i++)
		if (h->conns[i].fd == fd) {
			answer(&h->conns[i]);
			return true;
		}
	return false;
}

void sl_health_close(struct sl_health *h)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->ports[i].fd >= 0)
			close(h->ports[i].fd);
	for (int i = 0; i < SL_HC_MAX_CONNS; i++)
		if (h->conns[i].fd >= 0)
			conn_close(&h->conns[i]);
	free(h->ports);
	h->ports = NULL;
	h->n = 0;
}

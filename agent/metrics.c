// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "bpfmap.h"
#include "metrics.h"
#include "agent.h"
#include "log.h"
#include "reasons.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sluice/conntrack.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>

/* --- --metrics-listen ---------------------------------------------------------- */

static int bad_listen(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad_listen(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long n = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(*c - '0');
	}
	if (n < 1 || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

static void add_addr(struct sl_metrics_listen *out, const void *sa,
		     socklen_t len)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->lens[i] == len && !memcmp(&out->addrs[i], sa, len))
			return;
	if (out->n == SL_METRICS_LISTEN_MAX || len > sizeof(out->addrs[0]))
		return;
	memcpy(&out->addrs[out->n], sa, len);
	out->lens[out->n++] = len;
}

/* Every address of a host name (getaddrinfo: /etc/hosts, DNS). */
static int resolve(const char *host, const char *port,
		   struct sl_metrics_listen *out, char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc)
		return bad_listen(why, why_len, "%s does not resolve: %s", host,
				  gai_strerror(rc));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			add_addr(out, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return out->n ? 0 : bad_listen(why, why_len, "%s has no IP address", host);
}

int sl_metrics_parse_listen(const char *spec, struct sl_metrics_listen *out,
			    char *why, size_t why_len)
{
	char host[256], port_s[8];
	const char *host_at, *port_at;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	size_t host_len;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	snprintf(out->spec, sizeof(out->spec), "%s", spec);
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return bad_listen(why, why_len, "want [IPv6]:PORT");
		host_at = spec + 1;
		host_len = (size_t)(close - host_at);
		port_at = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon)
			return bad_listen(why, why_len, "want ADDR:PORT");
		host_at = spec;
		host_len = (size_t)(colon - spec);
		if (memchr(spec, ':', host_len))
			return bad_listen(why, why_len,
					  "an IPv6 address goes in brackets: [ADDR]:PORT");
		port_at = colon + 1;
	}
	if (host_len >= sizeof(host))
		return bad_listen(why, why_len, "address too long");
	memcpy(host, host_at, host_len);
	host[host_len] = '\0';
	if (parse_port(port_at, &port))
		return bad_listen(why, why_len, "the port must be 1 to 65535");
	snprintf(port_s, sizeof(port_s), "%u", port);
	sin.sin_port = sin6.sin6_port = htons(port);

	if (spec[0] == '[') {
		/* Numeric only, a scope (fe80::1%eth0) allowed. */
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
					  .ai_family = AF_INET6,
					  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
		struct addrinfo *res;

		if (!host_len || getaddrinfo(host, port_s, &hints, &res))
			return bad_listen(why, why_len,
					  "%s is not an IPv6 address", host);
		add_addr(out, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		return 0;
	}
	if (!host_len) {
		/* Dual-stack where the node has IPv6, else IPv4 only. */
		sin6.sin6_addr = in6addr_any;
		add_addr(out, &sin6, sizeof(sin6));
		add_addr(out, &sin, sizeof(sin));
		out->any = true;
		return 0;
	}
	/* Digits and dots are an IPv4 address, never a name for the
	 * resolver to read as inet_aton's "10.1" shorthand. */
	if (strspn(host, "0123456789.") == host_len) {
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return bad_listen(why, why_len,
					  "%s is not an IPv4 address", host);
		add_addr(out, &sin, sizeof(sin));
		return 0;
	}
	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-.") != host_len || host_len > 253 ||
	    host[0] == '-' || host[0] == '.')
		return bad_listen(why, why_len,
				  "%s is not an address or a host name", host);
	return resolve(host, port_s, out, why, why_len);
}

static void addr_str(const struct sockaddr_storage *ss, socklen_t ss_len,
		     char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1], port[8];

	if (getnameinfo((const struct sockaddr *)ss, ss_len, host,
			sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			 host, port);
}

/* --- the endpoint ---------------------------------------------------------------- */

int sl_metrics_register(struct sl_metrics *m, sl_metrics_collect_fn fn,
			void *arg)
{
	if (m->n_collectors == SL_METRICS_COLLECTORS_MAX)
		return -ENOSPC;
	m->collectors[m->n_collectors].fn = fn;
	m->collectors[m->n_collectors].arg = arg;
	m->n_collectors++;
	return 0;
}

void sl_metrics_render(struct sl_metrics *m, struct sl_prom *out)
{
	for (size_t i = 0; i < m->n_collectors; i++)
		m->collectors[i].fn(out, m->collectors[i].arg);
	/* A collector's mistake (a bad name, a family twice) costs its
	 * lines, not the scrape: say so once, not at every scrape. */
	if (out->err && out->err != m->last_err)
		log_warn("metrics: some lines left out: %s; ignoring",
			 strerror(-out->err));
	m->last_err = out->err;
}

static void answer(void *ctx, unsigned long tag,
		   const struct sl_http_request *req, struct sl_http_reply *r)
{
	struct sl_metrics *m = ctx;
	char why[600];

	(void)tag;
	if (strcmp(req->path, "/metrics") && strcmp(req->path, "/healthz")) {
		sl_http_reply_printf(r, 404, "not found: try /metrics or /healthz\n");
		return;
	}
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		sl_http_reply_printf(r, 405, "%s: only GET and HEAD\n", req->method);
		r->allow = "GET, HEAD";
		return;
	}
	if (!strcmp(req->path, "/healthz")) {
		if (!m->ready || m->ready(m->ready_arg, why, sizeof(why)))
			sl_http_reply_printf(r, 200, "ok\n");
		else
			sl_http_reply_printf(r, 503, "%s\n", why);
		return;
	}
	{
		struct sl_prom out;

		sl_prom_init(&out, SL_METRICS_OUT_MAX);
		sl_metrics_render(m, &out);
		r->status = 200;
		r->content_type = SL_PROM_CONTENT_TYPE;
		r->body = out.buf; /* the server frees it */
		r->len = out.len;
		out.buf = NULL;
		sl_prom_free(&out);
	}
}

int sl_metrics_open(struct sl_metrics *m, int epoll_fd)
{
	char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
	int err, bind_err = -EADDRNOTAVAIL;

	err = sl_http_server_init(&m->http, epoll_fd, SL_METRICS_CONNS, answer, m);
	for (size_t i = 0; !err && i < m->where.n; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = sl_http_listen((struct sockaddr *)&m->where.addrs[i],
					m->where.lens[i]);

		addr_str(&m->where.addrs[i], m->where.lens[i], where,
			 sizeof(where));
		if (fd < 0) {
			/* Another address may do: a node without IPv6. */
			sl_log(m->where.any ? SL_LOG_INFO : SL_LOG_WARN,
			       "metrics: cannot listen on %s: %s", where,
			       strerror(-fd));
			bind_err = fd;
			continue;
		}
		m->fds[m->n_fds++] = fd;
		ev.data.fd = fd;
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			err = -errno;
			break;
		}
		log_info("metrics: serving /metrics and /healthz on http://%s",
			 where);
		if (m->where.any)
			break; /* [::] takes IPv4 too */
	}
	if (!err && !m->n_fds)
		err = bind_err;
	if (err < 0) {
		log_error("metrics: --metrics-listen %s: %s", m->where.spec,
			  strerror(-err));
		sl_metrics_close(m);
	}
	return err;
}

bool sl_metrics_handle(struct sl_metrics *m, int fd)
{
	for (size_t i = 0; i < m->n_fds; i++)
		if (m->fds[i] == fd) {
			sl_http_accept(&m->http, fd, 0);
			return true;
		}
	return sl_http_handle(&m->http, fd);
}

void sl_metrics_close(struct sl_metrics *m)
{
	for (size_t i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	m->n_fds = 0;
	sl_http_server_close(&m->http);
}

/* --- the datapath's counters ------------------------------------------------------ */

/* Named codes only: a retired UNUSED_n keeps its slot, not a series. */
static const char *live_reason(unsigned int code)
{
	const char *name = sl_reason_name(code);

	return name && strncmp(name, "UNUSED_", 7) ? name : NULL;
}

static const struct sl_metrics_val *at(const struct sl_metrics_val *sums,
				       unsigned int code, unsigned int dir)
{
	return &sums[sl_metrics_index(code, dir)];
}

/* Packets or bytes of every drop reason (drops) or trace point, by
 * direction. */
static void reason_family(struct sl_prom *out, const struct sl_metrics_val *sums,
			  bool drops, bool bytes)
{
	static const char *const names[2][2] = {
		{ "sluice_forward_packets_total", "sluice_forward_bytes_total" },
		{ "sluice_drop_packets_total", "sluice_drop_bytes_total" },
	};
	static const char *const helps[2][2] = {
		{ "Packets the datapath let through, by trace point and direction relative to the pod (SERVICE_* and POLICY_ALLOWED count besides the point the packet left by)",
		  "Bytes the datapath let through, by trace point and direction relative to the pod" },
		{ "Packets the datapath dropped, by reason and direction relative to the pod",
		  "Bytes the datapath dropped, by reason and direction relative to the pod" },
	};
	unsigned int lo = drops ? 1 : SL_DROP_MAX + 1;
	unsigned int hi = drops ? SL_DROP_MAX : SL_REASON_MAX;

	sl_prom_family(out, names[drops][bytes], SL_PROM_COUNTER,
		       helps[drops][bytes]);
	if (!sums)
		return;
	for (unsigned int code = lo; code <= hi; code++) {
		const char *name = live_reason(code);

		for (unsigned int dir = 0; name && dir < SL_DIR_MAX; dir++) {
			const struct sl_metrics_val *v = at(sums, code, dir);

			sl_prom_sample_u64(out,
					   SL_PROM_LABELS({ drops ? "reason" : "point", name },
							  { "direction", sl_dir_name(dir) }),
					   bytes ? v->bytes : v->packets);
		}
	}
}

void sl_metrics_datapath(struct sl_prom *out, const struct sl_metrics_val *sums)
{
	static const char *const verdict_names[2] = { "allowed", "denied" };
	uint64_t verdicts[2][SL_DIR_MAX] = {}, selections = 0;

	reason_family(out, sums, true, false);
	reason_family(out, sums, true, true);
	reason_family(out, sums, false, false);
	reason_family(out, sums, false, true);

	/* A pod's ingress policy may deny in the sender's program (both on
	 * this node): the reason, not where it was counted, says whose. */
	for (unsigned int dir = 0; sums && dir < SL_DIR_MAX; dir++) {
		verdicts[0][dir] += at(sums, SL_POLICY_ALLOWED, dir)->packets;
		verdicts[1][SL_DIR_EGRESS] +=
			at(sums, SL_POLICY_DENIED_EGRESS, dir)->packets;
		verdicts[1][SL_DIR_INGRESS] +=
			at(sums, SL_POLICY_DENIED_INGRESS, dir)->packets;
		verdicts[1][dir] += at(sums, SL_ENDPOINT_NOT_READY, dir)->packets;
		selections += at(sums, SL_SERVICE_NEW, dir)->packets;
	}
	sl_prom_family(out, "sluice_policy_verdicts_total", SL_PROM_COUNTER,
		       "NetworkPolicy verdicts on new connections, by the direction of the policy that spoke (a denied connection counts each packet refused; ENDPOINT_NOT_READY counts as denied, in the direction it was dropped)");
	for (int v = 0; sums && v < 2; v++)
		for (unsigned int dir = 0; dir < SL_DIR_MAX; dir++)
			sl_prom_sample_u64(out,
					   SL_PROM_LABELS({ "verdict", verdict_names[v] },
							  { "direction", sl_dir_name(dir) }),
					   verdicts[v][dir]);
	sl_prom_family(out, "sluice_service_backend_selections_total",
		       SL_PROM_COUNTER,
		       "New connections to a Service given a backend, by pods, from outside and by host processes (refusals are drops: NO_SERVICE_BACKEND, NO_LOCAL_BACKEND)");
	if (sums)
		sl_prom_sample_u64(out, NULL, 0, selections);
}

/* sl_metrics summed over CPUs; NULL when the map cannot be read. */
static struct sl_metrics_val *read_datapath(int fd)
{
	struct sl_metrics_val *sums;
	int err;

	if (fd < 0)
		return NULL;
	sums = calloc(SL_METRICS_MAX, sizeof(*sums));
	for (unsigned int code = 1; sums && code <= SL_REASON_MAX; code++) {
		for (unsigned int dir = 0; live_reason(code) && dir < SL_DIR_MAX; dir++) {
			__u32 idx = sl_metrics_index(code, dir);

			/* packets and bytes: two counters */
			err = sl_map_percpu_sum(fd, &idx,
						(__u64 *)(void *)&sums[idx],
						sizeof(sums[idx]) / sizeof(__u64));
			if (err < 0) {
				log_debug("metrics: sl_metrics[%u]: %s", idx,
					  strerror(-err));
				free(sums);
				sums = NULL;
				break;
			}
		}
	}
	return sums;
}

static void collect_datapath(struct sl_prom *out, void *arg)
{
	const struct sl_agent *a = arg;
	struct sl_metrics_val *sums = read_datapath(a->dp.metrics_fd);

	sl_metrics_datapath(out, sums);
	free(sums);
}

/* --- the agent ----------------------------------------------------------------- */

bool sl_metrics_agent_ready(const void *agent, char *why, size_t len)
{
	const struct sl_agent *a = agent;

	if (a->kube.enabled && !a->kube_ready) {
		snprintf(why, len, "waiting for the API server's first list%s%s",
			 a->kube.last_error[0] ? ": " : "", a->kube.last_error);
		return false;
	}
	if (!a->syncs) {
		snprintf(why, len, "not synced yet%s%s",
			 a->last_error[0] ? ": " : "", a->last_error);
		return false;
	}
	if (a->sync_failed) {
		snprintf(why, len, "the last sync failed: %s", a->last_error);
		return false;
	}
	return true;
}

static unsigned long map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.max_entries;
}

/* How full the large maps are, as the agent last wrote or counted them
 * (walking them at every scrape would cost more than the scrape). */
static void collect_maps(struct sl_prom *out, const struct sl_agent *a)
{
	const struct {
		const char *name;
		unsigned long entries, max;
	} maps[] = {
		{ SL_CT_MAP, a->ct_gc.seen, map_max_entries(a->dp.ct_fd) },
		{ SL_IPCACHE_MAP, a->ipc.last.entries, SL_IPCACHE_MAX },
		{ SL_POLICY_MAP, a->pol.mirror[SL_POL_MAP_POLICY].n,
		  map_max_entries(a->dp.policy_fd) },
		{ SL_POLICY_CIDR_MAP, a->pol.mirror[SL_POL_MAP_CIDR].n,
		  map_max_entries(a->dp.policy_cidr_fd) },
	};
	size_t n = sizeof(maps) / sizeof(maps[0]);

	static const char *const families[2][2] = {
		{ "sluice_map_entries",
		  "Entries of a datapath map: sl_ct at the last conntrack GC (every 30 s), the others as the last sync wrote them" },
		{ "sluice_map_max_entries", "Entries a datapath map holds at most" },
	};

	for (int max = 0; max < 2; max++) {
		sl_prom_family(out, families[max][0], SL_PROM_GAUGE,
			       families[max][1]);
		for (size_t i = 0; i < n; i++)
			if (maps[i].max) /* 0: the map is not there */
				sl_prom_sample(out, SL_PROM_LABELS({ "map", maps[i].name }),
					       (double)(max ? maps[i].max :
							      maps[i].entries));
	}
	sl_prom_family(out, "sluice_conntrack_gc_removed_total", SL_PROM_COUNTER,
		       "Conntrack entries removed by the agent's GC: expired, or replies whose connection was gone");
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "reason", "expired" }),
			   a->ct_gc.expired);
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "reason", "orphaned" }),
			   a->ct_gc.orphans);
}

static void collect_agent(struct sl_prom *out, void *arg)
{
	const struct sl_agent *a = arg;
	const struct sl_metrics *m = &a->metrics;
	char why[8];

	sl_prom_gauge(out, "sluice_agent_up", "1 while the agent runs", 1);
	sl_prom_gauge(out, "sluice_agent_ready",
		      "1 when /healthz answers 200: synced, and the last sync succeeded",
		      sl_metrics_agent_ready(a, why, sizeof(why)));
	sl_prom_gauge(out, "sluice_agent_synced",
		      "1 once the first sync of the model to the maps is done",
		      a->syncs > 0);
	sl_prom_counter(out, "sluice_agent_syncs_total",
			"Syncs of the model to the datapath maps, failed ones included",
			a->syncs + a->sync_errors);
	sl_prom_counter(out, "sluice_agent_sync_errors_total",
			"Syncs of the model to the datapath maps that failed",
			a->sync_errors);
	sl_prom_gauge(out, "sluice_agent_last_sync_success_timestamp_seconds",
		      "When the last successful sync ended, in seconds since the epoch (0: none yet)",
		      (double)a->last_sync.tv_sec + a->last_sync.tv_nsec / 1e9);

	sl_prom_family(out, "sluice_objects", SL_PROM_GAUGE,
		       "Kubernetes objects the agent knows, by kind");
	for (int k = 0; k < SL_KIND_COUNT; k++)
		sl_prom_sample(out,
			       SL_PROM_LABELS({ "kind", sl_kind_name((enum sl_kind)k) }),
			       (double)sl_model_count(&a->model, (enum sl_kind)k));
	sl_prom_gauge(out, "sluice_identities",
		      "Security identities allocated (distinct namespace and pod labels)",
		      (double)a->model.identities.len);
	sl_prom_gauge(out, "sluice_endpoints",
		      "Pods of this node the datapath knows (endpoint records)",
		      (double)a->endpoints);

	sl_prom_gauge(out, "sluice_policy_fits",
		      "1 when the compiled NetworkPolicy fits sl_policy and sl_policy_cidr; 0: the maps keep the last complete write and new endpoints are denied",
		      !a->pol.overflow);
	sl_prom_family(out, "sluice_policy_entries", SL_PROM_GAUGE,
		       "Policy entries the last compile made, by map");
	sl_prom_sample(out, SL_PROM_LABELS({ "map", SL_POLICY_MAP }),
		       a->pol.last.entries[SL_POL_MAP_POLICY]);
	sl_prom_sample(out, SL_PROM_LABELS({ "map", SL_POLICY_CIDR_MAP }),
		       a->pol.last.entries[SL_POL_MAP_CIDR]);
	sl_prom_gauge(out, "sluice_policy_isolated_endpoints",
		      "Endpoints of this node a NetworkPolicy isolates",
		      a->pol.last.isolated);
	sl_prom_gauge(out, "sluice_service_frontends",
		      "Service frontends programmed (address, port, protocol and scope)",
		      a->svc.last.frontends);
	sl_prom_gauge(out, "sluice_service_backends",
		      "Service backends programmed", a->svc.last.backends);
	sl_prom_gauge(out, "sluice_service_frontends_skipped",
		      "Service ports or frontends the last sync left out (see the log)",
		      a->svc.last.dropped);
	collect_maps(out, a);

	sl_prom_family(out, "sluice_metrics_connections_closed_total",
		       SL_PROM_COUNTER,
		       "Connections to this endpoint closed before their answer: evicted by a newer one when all were taken, or out of time");
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "reason", "evicted" }),
			   m->http.evicted);
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "reason", "timeout" }),
			   m->http.timed_out);
}

/* --- the process, as Prometheus client libraries name it --------------------------- */

static long resident_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? (long)resident * sysconf(_SC_PAGESIZE) : -1;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static void collect_process(struct sl_prom *out, void *arg)
{
	const struct sl_agent *a = arg;
	struct rusage ru;
	struct rlimit rl;
	long rss = resident_bytes(), fds = open_fds();

	if (!getrusage(RUSAGE_SELF, &ru) &&
	    !sl_prom_family(out, "process_cpu_seconds_total", SL_PROM_COUNTER,
			    "User and system CPU time spent, in seconds"))
		sl_prom_sample(out, NULL, 0,
			       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				       (double)(ru.ru_utime.tv_usec +
						ru.ru_stime.tv_usec) / 1e6);
	if (rss >= 0)
		sl_prom_gauge(out, "process_resident_memory_bytes",
			      "Resident memory size in bytes", (double)rss);
	if (fds >= 0)
		sl_prom_gauge(out, "process_open_fds",
			      "Open file descriptors", (double)fds);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
		sl_prom_gauge(out, "process_max_fds",
			      "Limit of open file descriptors", (double)rl.rlim_cur);
	sl_prom_gauge(out, "process_start_time_seconds",
		      "When the agent started, in seconds since the epoch",
		      (double)a->started.tv_sec + a->started.tv_nsec / 1e9);
}

int sl_metrics_agent_open(struct sl_agent *a)
{
	struct sl_metrics *m = &a->metrics;

	if (!m->where.n)
		return 0;
	sl_metrics_register(m, collect_datapath, a);
	sl_metrics_register(m, collect_agent, a);
	sl_metrics_register(m, collect_process, a);
	m->ready = sl_metrics_agent_ready;
	m->ready_arg = a;
	return sl_metrics_open(m, a->epoll_fd);
}

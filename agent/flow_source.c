// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The sl_events reader and the names of flow records; see flow_source.h. */
#include "bpfmap.h"
#include "cgroup.h"
#include "flow_source.h"
#include "log.h"
#include "prometheus.h"
#include "policy_sync.h"
#include "service.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef FILEID_KERNFS
#define FILEID_KERNFS 0xfe /* include/linux/exportfs.h: kernfs' handles */
#endif

#include <sluice/config.h>
#include <sluice/event.h>

static int pod_cmp(const void *a, const void *b)
{
	const struct sl_flow_pod *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* Pods with an address (not on the host network: their address is the
 * node's), sorted for lookups by address. */
static void pods_rebuild(struct sl_flow_source *s)
{
	const struct sl_table *t = &s->model->objects[SL_KIND_POD];
	size_t n = 0, cap = t->len;
	struct sl_flow_pod *pods;
	const char *key;
	void *val;

	pods = cap ? calloc(cap, sizeof(*pods)) : NULL;
	if (cap && !pods)
		return; /* keep the old index: names lag, nothing breaks */
	for (size_t i = 0; sl_table_next(t, &i, &key, &val) && n < cap;) {
		const struct sl_model_obj *mo = val;
		const struct sl_pod *p = &mo->obj.pod;

		if (!p->ip || p->host_network)
			continue;
		pods[n++] = (struct sl_flow_pod){
			.ip = p->ip, .key = mo->obj.key,
			.identity = mo->identity ? mo->identity->id : 0,
		};
	}
	if (n)
		qsort(pods, n, sizeof(*pods), pod_cmp);
	free(s->pods);
	s->pods = pods;
	s->n_pods = n;
	s->pods_generation = s->model->generation;
	s->pods_valid = true;
}

static const char *pod_at(void *ctx, uint32_t ip, uint32_t *identity)
{
	struct sl_flow_source *s = ctx;
	struct sl_flow_pod want = { .ip = ip }, *p;

	if (!s->pods_valid || s->pods_generation != s->model->generation)
		pods_rebuild(s);
	p = s->n_pods ? bsearch(&want, s->pods, s->n_pods, sizeof(want),
				pod_cmp) :
			NULL;
	if (!p)
		return NULL;
	*identity = p->identity;
	return p->key;
}

static const char *labels_of(void *ctx, uint32_t identity)
{
	struct sl_flow_source *s = ctx;
	const struct sl_identity *id;
	char num[16];

	snprintf(num, sizeof(num), "%u", identity);
	id = sl_table_get(&s->model->identity_ids, num);
	return id ? id->labels : NULL;
}

static const char *service_of(void *ctx, uint32_t svc_id)
{
	struct sl_flow_source *s = ctx;

	return s->svc ? sl_svc_name(s->svc, svc_id) : NULL;
}

static const char *policy_of(void *ctx, uint32_t policy_id)
{
	struct sl_flow_source *s = ctx;

	return s->pol && s->pol->compiled ?
		       sl_policy_name(&s->pol->out, policy_id) :
		       NULL;
}

/* --- cgroups to containers ----------------------------------------------- */

/* nftw() takes no context: the walk's target and answer. */
static uint64_t walk_id;
static char *walk_out;
static size_t walk_len;

static int walk_match(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || st->st_ino != walk_id)
		return 0;
	snprintf(walk_out, walk_len, "%s", path);
	return 1;
}

int sl_flow_cgroup_path(int root_fd, uint64_t id, char *out, size_t len)
{
	uint64_t buf[(sizeof(struct file_handle) + sizeof(id)) /
			     sizeof(uint64_t) + 1];
	struct file_handle *fh = (void *)buf;
	char link[64], root[PATH_MAX];
	ssize_t n;
	int fd;

	fh->handle_bytes = sizeof(id);
	fh->handle_type = FILEID_KERNFS;
	memcpy(fh->f_handle, &id, sizeof(id));
	fd = open_by_handle_at(root_fd, fh, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, out, len - 1);
		close(fd);
		if (n <= 0)
			return -EIO;
		out[n] = '\0';
		return 0;
	}
	/* Gone (a container that exited): nothing a walk would find. */
	if (errno == ESTALE || errno == ENOENT)
		return -ENOENT;
	/* No handles here (no CAP_DAC_READ_SEARCH): the tree, inode by
	 * inode; the caller caches the answer. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", root_fd);
	n = readlink(link, root, sizeof(root) - 1);
	if (n <= 0)
		return -EIO;
	root[n] = '\0';
	walk_id = id;
	walk_out = out;
	walk_len = len;
	return nftw(root, walk_match, 16, FTW_PHYS | FTW_MOUNT) == 1 ? 0 :
								       -ENOENT;
}

static const char *container_of(void *ctx, uint64_t cgroup_id)
{
	struct sl_flow_source *s = ctx;
	struct sl_flow_cgroup *c;
	char path[PATH_MAX];

	if (!s->cgroups)
		return NULL;
	c = &s->cgroups[cgroup_id % SL_FLOW_CGROUPS];
	if (c->id == cgroup_id)
		return c->container;
	if (s->cgroup_fd == -1) {
		s->cgroup_fd = -2;
		if (sl_cgroup_v2_mount(path))
			s->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY |
							  O_CLOEXEC);
		if (s->cgroup_fd < 0) {
			log_warn("no cgroup v2 mount to name containers by; ignoring");
			s->cgroup_fd = -2;
		}
	}
	c->id = cgroup_id;
	c->container[0] = '\0';
	if (s->cgroup_fd >= 0 && sl_flow_cgroup_path(s->cgroup_fd, cgroup_id,
						     path, sizeof(path)) == 0)
		sl_flow_container_id(path, c->container, sizeof(c->container));
	return c->container;
}

static int on_ring_record(void *ctx, void *data, size_t size)
{
	struct sl_flow_source *s = ctx;

	return sl_flows_event(&s->flows, data, size);
}

static uint64_t mono_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/* Wake at next (CLOCK_MONOTONIC; 0: none), and within a tick anyway:
 * events wake nobody until the ring fills (datapath/lib/events.h). */
static int timer_arm(struct sl_flow_source *s, uint64_t now_ns, uint64_t next)
{
	struct itimerspec at = { 0 };

	if (!next || next > now_ns + SL_FLOW_SOURCE_TICK_NS)
		next = now_ns + SL_FLOW_SOURCE_TICK_NS;
	at.it_value.tv_sec = (time_t)(next / 1000000000ull);
	at.it_value.tv_nsec = (long)(next % 1000000000ull);
	return timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &at, NULL) < 0 ?
		       -errno : 0;
}

int sl_flow_source_init(struct sl_flow_source *s, int events_fd,
			int event_stats_fd, size_t cap,
			const struct sl_model *model,
			const struct sl_svc_state *svc,
			const struct sl_pol_state *pol, const char *node_name)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	memset(s, 0, sizeof(*s));
	s->epoll_fd = s->timer_fd = -1;
	s->cgroup_fd = -1;
	s->event_stats_fd = event_stats_fd;
	s->model = model;
	s->svc = svc;
	s->pol = pol;
	s->names = (struct sl_flow_names){
		.pod_at = pod_at, .labels_of = labels_of,
		.service_of = service_of, .policy_of = policy_of,
		.container_of = container_of, .node_name = node_name,
		.ctx = s,
	};
	s->cgroups = calloc(SL_FLOW_CGROUPS, sizeof(*s->cgroups));
	if (!s->cgroups)
		return -ENOMEM;
	err = sl_flows_init(&s->flows, cap, &s->names);
	if (err < 0)
		goto fail;
	if (events_fd < 0) {
		log_warn("the pinned datapath has no event ring: no flows until it is upgraded");
		return 0;
	}
	s->rb = ring_buffer__new(events_fd, on_ring_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		log_error("reading sl_events: %s", strerror(-err));
		goto fail;
	}
	/* One fd for the loop: the ring's, and the timer of held ends. */
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = ring_buffer__epoll_fd(s->rb);
	if (s->epoll_fd < 0 || s->timer_fd < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	ev.data.fd = s->timer_fd;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	err = timer_arm(s, mono_ns(), 0);
	if (err < 0)
		goto fail;
	return 0;
fail:
	log_error("flows: %s", strerror(-err));
	sl_flow_source_free(s);
	return err;
}

void sl_flow_source_free(struct sl_flow_source *s)
{
	int *fds[] = { &s->epoll_fd, &s->timer_fd, &s->cgroup_fd };

	ring_buffer__free(s->rb);
	s->rb = NULL;
	sl_flows_free(&s->flows);
	free(s->pods);
	s->pods = NULL;
	free(s->cgroups);
	s->cgroups = NULL;
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int sl_flow_events_configure(int config_fd, uint32_t rate, uint32_t burst,
			     bool flows_off)
{
	struct sl_config cfg = { 0 };
	__u32 key = 0;

	if (config_fd < 0)
		return 0;
	if (bpf_map_lookup_elem(config_fd, &key, &cfg) < 0)
		return -errno;
	cfg.event_rate = rate;
	cfg.event_burst = burst;
	cfg.flags = (cfg.flags & ~SL_CFG_F_NO_FLOW_EVENTS) |
		    (flows_off ? SL_CFG_F_NO_FLOW_EVENTS : 0);
	return bpf_map_update_elem(config_fd, &key, &cfg, BPF_ANY) < 0 ? -errno :
									  0;
}

int sl_flow_source_fd(const struct sl_flow_source *s)
{
	return s->rb ? s->epoll_fd : -1;
}

/* sl_event_stats of one type, summed over its subtypes and the CPUs. */
static int event_stats_sum(int fd, unsigned int type,
			   struct sl_event_stats_val *sum)
{
	memset(sum, 0, sizeof(*sum));
	if (fd < 0)
		return -ENOENT;
	for (unsigned int sub = 0; sub < 256; sub++) {
		__u32 idx = sl_event_stats_index(type, sub);

		sl_map_percpu_sum(fd, &idx, (__u64 *)(void *)sum,
				  sizeof(*sum) / sizeof(__u64));
	}
	return 0;
}

void sl_flow_source_collect(struct sl_prom *out, void *arg)
{
	static const char *const kinds[] = { "start", "end", "drop",
					     "policy-verdict" };
	static const struct {
		unsigned int type;
		const char *name;
	} types[] = {
		{ SL_EVENT_DROP, "drop" },
		{ SL_EVENT_POLICY, "policy" },
		{ SL_EVENT_FLOW, "flow" },
		{ SL_EVENT_SOCK, "socket" },
	};
	const struct sl_flow_source *s = arg;
	struct sl_event_stats_val st;

	sl_prom_family(out, "sluice_flows_total", SL_PROM_COUNTER,
		       "Flow records the agent made, by kind and verdict");
	for (size_t k = 0; k < 4; k++)
		for (int d = 0; d < 2; d++)
			sl_prom_sample_u64(out, SL_PROM_LABELS(
				{ "kind", kinds[k] },
				{ "verdict", d ? "dropped" : "forwarded" }),
				s->flows.by_kind[k][d]);
	sl_prom_counter(out, "sluice_flow_decode_errors_total",
			"Events read off the ring that could not be decoded",
			(double)s->flows.decode_errors);
	sl_prom_gauge(out, "sluice_flow_followers",
		      "Clients following the flow stream",
		      (double)s->flows.n_followers);
	sl_prom_counter(out, "sluice_flow_socket_events_total",
			"Socket events read, naming flows' processes and RTT",
			(double)s->flows.sock_events);
	sl_prom_gauge(out, "sluice_flow_sockets",
		      "Sockets the agent holds to join to flow records",
		      (double)s->flows.socks.count);
	sl_prom_counter(out, "sluice_flow_sockets_evicted_total",
			"Sockets forgotten before a flow end claimed them (the table was full)",
			(double)s->flows.socks.evicted);
	sl_prom_family(out, "sluice_flow_ends_held_total", SL_PROM_COUNTER,
		       "Flow ends held for their sockets' close: completed, or sent when the wait ran out");
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "outcome", "completed" }),
			   s->flows.ends_waited[0]);
	sl_prom_sample_u64(out, SL_PROM_LABELS({ "outcome", "timeout" }),
			   s->flows.ends_waited[1]);
	sl_prom_family(out, "sluice_events_total", SL_PROM_COUNTER,
		       "Datapath events by type: sent, or shed over the CPU's "
		       "budget or with the ring full (never blocking a packet)");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (event_stats_sum(s->event_stats_fd, types[i].type, &st) < 0)
			continue;
		sl_prom_sample_u64(out, SL_PROM_LABELS({ "type", types[i].name },
						       { "outcome", "sent" }),
				   st.sent);
		sl_prom_sample_u64(out, SL_PROM_LABELS({ "type", types[i].name },
						       { "outcome", "shed_rate" }),
				   st.shed_rate);
		sl_prom_sample_u64(out, SL_PROM_LABELS({ "type", types[i].name },
						       { "outcome", "shed_full" }),
				   st.shed_full);
	}
}

void sl_flow_source_read(struct sl_flow_source *s)
{
	uint64_t ticks, now;
	int n;

	if (!s->rb)
		return;
	while (read(s->timer_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		;
	n = ring_buffer__consume(s->rb);
	if (n < 0)
		log_warn("reading sl_events: %s", strerror(-n));
	/* The datapath's clock: held ends wait by their events' time. */
	now = mono_ns();
	n = timer_arm(s, now, sl_flows_flush(&s->flows, now));
	if (n < 0)
		log_warn("arming the flow join timer: %s", strerror(-n));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's one event loop: signals, the source (the manifests folder's
 * inotify, or the API server's sockets and timers), the plugin's endpoint
 * records, a resync timer and the API socket, all on one epoll. After each
 * batch of events the model is synced to the maps if anything changed, so
 * a burst of file events or watch events costs one sync.
 */
#include "agent.h"
#include "conntrack.h"
#include "netdev.h"
#include "fsutil.h"
#include "ipv4.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int watch_fd(struct sl_agent *a, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int write_node_record(struct sl_agent *a)
{
	const struct sl_object *node = sl_model_get(&a->model, SL_KIND_NODE,
						    a->node_name);
	unsigned int mtu = sl_routing_pod_mtu(&a->routing);
	char path[PATH_MAX + 16], cidr[24], json[64];
	int err;

	if (!node || !node->node.have_pod_cidr)
		return 0;
	sl_ip4_net_to_str(node->node.pod_cidr, node->node.pod_prefix, cidr);
	/* The plugin reads this when its conflist has no podCIDR, or no
	 * mtu: the underlay's, less the tunnel's headers in VXLAN mode. */
	if (mtu)
		snprintf(json, sizeof(json),
			 "{\"podCIDR\":\"%s\",\"mtu\":%u}\n", cidr, mtu);
	else
		snprintf(json, sizeof(json), "{\"podCIDR\":\"%s\"}\n", cidr);
	if (!strcmp(json, a->node_record))
		return 0;
	snprintf(path, sizeof(path), "%s/node.json", a->run_dir);
	err = sl_write_file_atomic(path, json, strlen(json), 0644);
	if (err < 0)
		return err;
	log_info("node %s: podCIDR %s, pod MTU %u written to %s", a->node_name,
		 cidr, mtu, path);
	snprintf(a->node_record, sizeof(a->node_record), "%s", json);
	snprintf(a->node_cidr, sizeof(a->node_cidr), "%s", cidr);
	return 0;
}

static double ms_since(struct timespec *t)
{
	struct timespec now;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - t->tv_sec) * 1e3 +
	     (double)(now.tv_nsec - t->tv_nsec) / 1e6;
	*t = now;
	return ms;
}

static int services_sync(struct sl_agent *a)
{
	const struct sl_object *self = sl_model_get(&a->model, SL_KIND_NODE,
						    a->node_name);
	struct sl_svc_config cfg = { .self = a->node_name,
				     .maglev_default = a->maglev_default };
	struct sl_svc_backend be;
	uint32_t node_ip;
	int err;

	if (self)
		cfg.zone = self->node.zone;
	/* NodePorts listen on this node's InternalIP, once the Node says. */
	if (self && self->node.internal_ip) {
		node_ip = self->node.internal_ip;
		cfg.node_ips = &node_ip;
		cfg.n_node_ips = 1;
	}
	sl_svc_backend_bpf(&be, a->dp.services_fd, a->dp.backends_fd,
			   a->dp.maglev_fd);
	err = sl_services_sync(&be, &a->model, &cfg, &a->svc);
	if (!err && (a->svc.last.frontends_written || a->svc.last.frontends_removed ||
		     a->svc.last.backends_written || a->svc.last.backends_removed))
		log_info("services: %u frontends (%u written, %u removed), %u backends (%u written, %u removed)",
			 a->svc.last.frontends, a->svc.last.frontends_written,
			 a->svc.last.frontends_removed, a->svc.last.backends,
			 a->svc.last.backends_written, a->svc.last.backends_removed);
	return err;
}

static const char no_policy_maps[] =
	"the pinned datapath (an older build) has no " SL_POLICY_MAP " maps: "
	"policies compiled, not written";

/*
 * One sync, in the order the datapath can read at any moment: the
 * policy's new allow entries, the ipcache (remote identities), then the
 * endpoints with the isolation flags that make the entries matter,
 * Services, and last the policy entries nothing allows any more
 * (agent/policy_sync.h). The plugin's records go into the model first:
 * a new pod is compiled and in the ipcache under the address it was
 * attached at, and its entry loses SL_EP_F_PENDING in this same sync.
 * A policy write that fails does not hold the rest back: the flags still
 * follow the compile (fail closed), and nothing stale is removed.
 */
int sl_agent_sync(struct sl_agent *a)
{
	struct sl_ep_backend be;
	struct sl_pol_backend pol;
	int pol_fds[SL_POL_MAPS] = { a->dp.policy_fd, a->dp.policy_cidr_fd };
	bool have_pol = pol_fds[0] >= 0 && pol_fds[1] >= 0, refreshed;
	struct sl_ep_desired *want = NULL;
	double ms_ids = 0, ms_pol = 0, ms_eps = 0, ms_ipc = 0, ms_svc = 0;
	struct timespec t;
	size_t n = 0;
	int err, pol_err = 0;

	/* Until every pod and namespace is known, identities would be
	 * computed from half a cluster: write nothing rather than that. */
	if (a->kube.enabled && !a->kube_ready)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t);
	refreshed = a->model.identities_stale;
	err = sl_model_refresh_identities(&a->model);
	if (refreshed) /* identities moved without a new generation */
		sl_pol_state_invalidate(&a->pol);
	ms_ids = ms_since(&t);
	/* Before the node record, which carries the MTU it learns; a
	 * refused route is retried next sync and holds nothing else up. */
	if (!err)
		sl_routing_sync(&a->routing, &a->model, a->node_name,
				a->dp.tunnel_fd);
	if (!err)
		sl_nat_sync(&a->nat, &a->model, a->node_name);
	if (!err)
		err = write_node_record(a);
	if (!err)
		err = sl_endpoints_read_records(a->run_dir, &want, &n);
	if (!err)
		err = sl_endpoints_publish(&a->model, want, n);
	if (!err)
		err = sl_policy_sync_compile(&a->pol, &a->model, a->node_name);
	if (!err && have_pol) {
		sl_pol_backend_bpf(&pol, pol_fds);
		pol_err = sl_policy_sync_write(&pol, &a->pol);
	} else if (!err && strcmp(a->pol.error, no_policy_maps)) {
		snprintf(a->pol.error, sizeof(a->pol.error), "%s",
			 no_policy_maps);
		log_warn("policy: %s", no_policy_maps);
	}
	ms_pol = ms_since(&t);
	if (!err) {
		struct sl_ipc_backend ipc;

		sl_ipc_backend_bpf(&ipc, &a->dp.ipcache_fd);
		err = sl_ipcache_sync(&ipc, &a->model, a->node_name, &a->ipc);
		ms_ipc = ms_since(&t);
	}
	if (!err) {
		sl_endpoints_assign_isolation(want, n, &a->pol);
		sl_ep_backend_bpf(&be, &a->dp.endpoints_fd);
		err = sl_endpoints_sync(&be, &a->model, want, n, &a->last_ep);
		ms_eps = ms_since(&t);
	}
	if (!err)
		err = services_sync(a);
	if (!err)
		sl_health_sync(&a->health, &a->model, a->node_name);
	ms_svc = ms_since(&t);
	if (!err && !pol_err && have_pol)
		pol_err = sl_policy_sync_prune(&pol, &a->pol);
	if (!err && pol_err)
		err = pol_err;
	free(want);
	if (err < 0) {
		a->sync_errors++;
		a->sync_failed = true;
		snprintf(a->last_error, sizeof(a->last_error), "sync: %s",
			 strerror(-err));
		log_error("%s", a->last_error);
		return err;
	}
	log_debug("sync: identities %.2f ms, policy %.2f ms, ipcache %.2f ms, endpoints %.2f ms, services %.2f ms",
		  ms_ids, ms_pol, ms_ipc, ms_eps, ms_svc);
	a->endpoints = n;
	a->synced_generation = a->model.generation;
	a->records_changed = false;
	a->syncs++;
	a->sync_failed = false;
	clock_gettime(CLOCK_REALTIME, &a->last_sync);
	return 0;
}

/* A connection that went idle: its flow ends now. */
static void flow_expired(void *ctx, const struct sl_ct_key *k,
			 const struct sl_ct_entry *e, uint64_t now_boot_ns)
{
	sl_flows_expired(ctx, k, e, now_boot_ns);
}

/* Conntrack GC, on the resync timer: the datapath ignores expired
 * entries already; this gives their room back. */
static void ct_gc(struct sl_agent *a)
{
	struct sl_ct_gc_stats st;
	int err;

	if (a->dp.ct_fd < 0)
		return;
	err = sl_ct_gc(a->dp.ct_fd, sl_ct_now(), &st, flow_expired,
		       &a->flows.flows);
	if (err < 0) {
		log_warn("conntrack GC: %s", strerror(-err));
		return;
	}
	a->ct_gc.seen = st.seen;
	a->ct_gc.expired += st.expired;
	a->ct_gc.orphans += st.orphans;
	if (st.expired || st.orphans)
		log_debug("conntrack GC: %u entries, %u expired, %u orphaned replies removed",
			  st.seen, st.expired, st.orphans);
}

static int open_records_watch(struct sl_agent *a)
{
	char dir[PATH_MAX + 16];

	/* The plugin's records appear by link() and change by rename(). */
	snprintf(dir, sizeof(dir), "%s/endpoints", a->run_dir);
	if (sl_mkdir_p(dir, 0700) < 0)
		return -errno;
	a->records_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->records_fd < 0)
		return -errno;
	if (inotify_add_watch(a->records_fd, dir,
			      IN_CREATE | IN_MOVED_TO | IN_DELETE) < 0)
		return -errno;
	return watch_fd(a, a->records_fd);
}

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Did a record (a file named by its address) change? The plugin's
 * temporary files (".new-PID", "ADDR.tmp.PID") and the allocator's
 * ".last" are no records: a sync for them would only delay the one a
 * new pod waits for. A lost event (queue overflow) counts as a change.
 */
static bool read_records_events(int fd)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			struct in_addr addr;

			if ((ev->mask & IN_Q_OVERFLOW) ||
			    (ev->len &&
			     inet_pton(AF_INET, ev->name, &addr) == 1))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return changed;
}

/* Flow visibility: the datapath's event budget, and its ring read on the
 * loop into the recent-flows buffer. */
static int start_flows(struct sl_agent *a)
{
	int err, fd;

	err = sl_flow_events_configure(a->dp.config_fd, a->event_rate,
				       a->event_burst, a->flow_events_off);
	if (err < 0) {
		log_error("writing the event budget to sl_config: %s",
			  strerror(-err));
		return err;
	}
	err = sl_flow_source_init(&a->flows, a->dp.events_fd,
				  a->dp.event_stats_fd, a->flows_buffer,
				  &a->model, &a->svc, &a->pol, a->node_name);
	if (err < 0)
		return err;
	sl_metrics_register(&a->metrics, sl_flow_source_collect, &a->flows);
	if (a->flows_file_path) {
		struct sl_flow_sink sink;

		err = sl_flow_file_open(&a->flow_file, a->flows_file_path,
					a->flows_file_max, a->flows_file_keep);
		if (err < 0) {
			log_error("--flows-file %s: %s", a->flows_file_path,
				  strerror(-err));
			return err;
		}
		sink = sl_flow_file_sink(&a->flow_file);
		sl_flows_add_sink(&a->flows.flows, &sink);
	}
	fd = sl_flow_source_fd(&a->flows);
	return fd < 0 ? 0 : watch_fd(a, fd);
}

int sl_agent_start(struct sl_agent *a)
{
	struct itimerspec its = { .it_interval = { SL_AGENT_RESYNC_SECS, 0 },
				  .it_value = { SL_AGENT_RESYNC_SECS, 0 } };
	char lock[PATH_MAX + 32];
	sigset_t mask;
	int err;

	a->epoll_fd = a->signal_fd = a->timer_fd = a->api_fd = a->records_fd = -1;
	a->source.inotify_fd = -1;
	a->dp = (struct sl_datapath)SL_DATAPATH_INIT;
	sl_health_init(&a->health, -1);
	sl_model_init(&a->model);
	sl_pol_state_init(&a->pol);
	clock_gettime(CLOCK_REALTIME, &a->started);

	err = sl_mkdir_p(a->run_dir, 0700);
	if (err < 0) {
		log_error("cannot create run dir %s: %s", a->run_dir, strerror(-err));
		return err;
	}
	/* Load the datapath if no plugin run has yet: the same lock. */
	snprintf(lock, sizeof(lock), "%s/datapath.lock", a->run_dir);
	err = sl_datapath_open(&a->dp, a->bpf_root, lock);
	if (err < 0) {
		log_error("datapath under %s unavailable: %s", a->bpf_root,
			  strerror(-err));
		return err;
	}
	/* A datapath pinned by another build is replaced by ours. */
	err = sl_agent_upgrade_datapath(a);
	if (err < 0)
		log_error("datapath upgrade incomplete: %s", strerror(-err));
	/* Not fatal: pods work without it, only outside access waits. */
	sl_netdev_attach(a);
	/* Not fatal either: this node's pods work, other nodes' wait (the
	 * status says why). */
	sl_routing_open(&a->routing, &a->dp);
	if (a->routing.mode == SL_ROUTING_VXLAN)
		a->nat.tunnel_port = a->routing.vxlan_port;
	/* Host processes to Services; fails only on a bad --cgroup-root. */
	err = sl_cgroup_attach(a);
	if (err < 0)
		return err;

	a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	a->health.epoll_fd = a->epoll_fd;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN); /* a vanished API client must not kill us */
	a->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->epoll_fd < 0 || a->signal_fd < 0 || a->timer_fd < 0 ||
	    timerfd_settime(a->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	if ((err = watch_fd(a, a->signal_fd)) < 0 ||
	    (err = watch_fd(a, a->timer_fd)) < 0)
		return err;
	/* Before the source: /healthz says why while the first list runs. */
	err = sl_metrics_agent_open(a);
	if (err < 0)
		return err;
	err = start_flows(a);
	if (err < 0)
		return err;
	err = sl_ipfix_open(&a->ipfix, &a->flows.flows, a->node_name,
			    a->epoll_fd);
	if (err < 0)
		return err;
	if (a->ipfix.running)
		sl_metrics_register(&a->metrics, sl_ipfix_collect, &a->ipfix);

	if (!a->source_path) {
		err = sl_kube_open(&a->kube, &a->kube_cfg, &a->model, a->epoll_fd);
		if (err < 0) {
			log_error("API server source: %s",
				  a->kube.last_error[0] ? a->kube.last_error :
							  strerror(-err));
			return err;
		}
		if ((err = open_records_watch(a)) < 0 ||
		    (err = sl_api_listen(a)) < 0)
			return err;
		/* The maps are reconciled once pods and namespaces are listed. */
		return sl_kube_start(&a->kube);
	}
	err = sl_source_dir_open(&a->source, a->source_path, &a->model);
	if (err < 0) {
		log_error("manifests folder %s: %s", a->source_path, strerror(-err));
		return err;
	}
	if ((err = watch_fd(a, a->source.inotify_fd)) < 0 ||
	    (err = open_records_watch(a)) < 0 || (err = sl_api_listen(a)) < 0)
		return err;

	err = sl_source_dir_scan(&a->source);
	if (err < 0)
		return err;
	log_info("source %s: %zu pods, %zu namespaces, %zu nodes", a->source_path,
		 sl_model_count(&a->model, SL_KIND_POD),
		 sl_model_count(&a->model, SL_KIND_NAMESPACE),
		 sl_model_count(&a->model, SL_KIND_NODE));
	/* Reconcile what the maps hold from before we (re)started. */
	err = sl_agent_sync(a);
	if (!err)
		log_info("reconciled: %u endpoints written, %u removed, %u unchanged",
			 a->last_ep.updated, a->last_ep.removed,
			 a->last_ep.unchanged);
	return err;
}

int sl_agent_run(struct sl_agent *a)
{
	struct epoll_event evs[16];

	while (!a->stopping) {
		int n = epoll_wait(a->epoll_fd, evs, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == a->signal_fd) {
				struct signalfd_siginfo si;

				while (read(fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						/* The API source has no rescan: a watch
						 * is never behind. */
						if (!a->source_path)
							continue;
						log_info("SIGHUP: rescanning the source");
						sl_source_dir_scan(&a->source);
						continue;
					}
					log_info("signal %u: shutting down; the datapath stays",
						 si.ssi_signo);
					a->stopping = true;
				}
			} else if (fd == a->timer_fd) {
				drain(fd);
				/* A periodic resync reads the maps back too, in
				 * case something else wrote them. */
				a->records_changed = true;
				sl_ipc_state_invalidate(&a->ipc);
				sl_svc_state_invalidate(&a->svc);
				sl_pol_state_invalidate(&a->pol);
				ct_gc(a);
				sl_netdev_attach(a);
				sl_routing_open(&a->routing, &a->dp);
				sl_nat_invalidate(&a->nat);
			} else if (fd == a->source.inotify_fd) {
				if (sl_source_dir_handle(&a->source) < 0)
					log_error("reading the manifests folder failed");
			} else if (fd == a->records_fd) {
				if (read_records_events(fd))
					a->records_changed = true;
			} else if (fd == a->api_fd) {
				sl_api_accept(a);
			} else if (fd == sl_flow_source_fd(&a->flows)) {
				sl_flow_source_read(&a->flows);
			} else if (sl_flows_is_follower(&a->flows.flows, fd)) {
				sl_flows_pump(&a->flows.flows, fd);
			} else if (sl_health_handle(&a->health, fd)) {
				continue;
			} else if (sl_metrics_handle(&a->metrics, fd)) {
				continue;
			} else if (sl_ipfix_handle(&a->ipfix, fd)) {
				continue;
			} else if (a->kube.enabled) {
				sl_kube_handle(&a->kube, fd, evs[i].events);
			}
		}
		if (a->kube.enabled && !a->kube_ready && a->kube.synced) {
			a->kube_ready = true;
			a->records_changed = true; /* the first sync, even if empty */
		}
		if (!a->stopping && (a->records_changed ||
				     a->model.generation != a->synced_generation))
			sl_agent_sync(a);
	}
	return 0;
}

void sl_agent_stop(struct sl_agent *a)
{
	char path[PATH_MAX + 16];
	int *fds[] = { &a->epoll_fd, &a->signal_fd, &a->timer_fd, &a->api_fd,
		       &a->records_fd };

	snprintf(path, sizeof(path), "%s/%s", a->run_dir, SL_AGENT_SOCKET);
	if (a->api_fd >= 0)
		unlink(path);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	sl_ipfix_close(&a->ipfix); /* sends what is pending */
	sl_flow_source_free(&a->flows);
	sl_flow_file_close(&a->flow_file);
	sl_source_dir_close(&a->source);
	sl_kube_close(&a->kube);
	sl_kubeconfig_free(&a->kube_cfg);
	sl_model_free(&a->model);
	sl_ipc_state_free(&a->ipc);
	sl_routing_close(&a->routing);
	sl_nat_close(&a->nat);
	sl_svc_state_free(&a->svc);
	sl_pol_state_free(&a->pol);
	sl_health_close(&a->health);
	sl_metrics_close(&a->metrics);
	sl_datapath_close(&a->dp);
}

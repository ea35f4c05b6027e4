// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ADD: a veth pair with the pod end created inside the pod's netns, a /32
 * from the node's pod CIDR, a default route via a link-local gateway with
 * a permanent neighbour (no ARP, no bridge), a host route to the /32, the
 * endpoint entry, and the pinned programs on the host end. When an agent
 * runs on the node, the entry starts closed (SL_EP_F_PENDING) and ADD
 * waits, up to agentWaitMs, for the agent to program the pod: a pod a
 * NetworkPolicy selects is never open, not even before the agent has
 * seen it (SPECS E.5).
 */
#include "plugin.h"
#include "../agent/conntrack.h"
#include "datapath.h"
#include "fsutil.h"
#include "link.h"
#include "log.h"
#include "netns.h"
#include "result.h"
#include "tc.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/endpoint.h>
#include <sluice/pins.h>

struct add_ctx {
	const struct sl_env *env;
	const struct sl_conf *conf;
	struct sl_datapath dp;
	struct sl_store store;
	struct sl_ep_record rec;
	struct nl_sock *host_sk, *pod_sk;
	int netns_fd;
	uint32_t gateway;
	bool allocated;
	bool agent; /* an agent manages the node: it programs the pod */
};

/* Polling the entry for the agent's rewrite: a sync takes one to a few
 * milliseconds, so start fine and back off gently (by half) to 2 ms;
 * what ADD loses to the polling stays under half the wait. */
#define AGENT_POLL_FIRST_NS 100000L
#define AGENT_POLL_MAX_NS 2000000L

static int disable_ipv6(int netns_fd, const char *ifname)
{
	char key[96];
	int err;

	/* sluice is IPv4-only: no link-local addresses, no ND or MLD
	 * chatter on a link that would only count as drops. */
	snprintf(key, sizeof(key), "net/ipv6/conf/%s/disable_ipv6", ifname);
	err = sl_sysctl_write(netns_fd, key, "1");
	return err == -ENOENT ? 0 : err; /* kernel without IPv6 */
}

static int prepare(struct add_ctx *c, struct sl_ipv4_net *pool,
		   struct sl_err *err)
{
	const struct sl_conf *conf = c->conf;
	char lock[PATH_MAX + 32];
	struct sl_link_info li;
	int ret;

	if (sl_resolve_pod_cidr(conf, pool) < 0)
		return sl_errf(err, CNI_ERR_TRY_AGAIN, "no pod CIDR yet",
			       "podCIDR is not in the configuration and the agent has not written %s/node.json yet",
			       conf->run_dir);
	ret = sl_mkdir_p(conf->run_dir, 0700);
	if (ret < 0)
		return sl_errf(err, SL_ERR_STORE, "cannot create runDir",
			       "%s: %s", conf->run_dir, strerror(-ret));

	c->agent = sl_agent_manages_node(conf);

	snprintf(lock, sizeof(lock), "%s/datapath.lock", conf->run_dir);
	sl_datapath_set_ct_max(conf->conntrack_max);
	ret = sl_datapath_open(&c->dp, conf->bpf_root, lock);
	if (ret < 0)
		return sl_errf(err, SL_ERR_DATAPATH, "datapath unavailable",
			       "cannot open or load the datapath under %s: %s",
			       conf->bpf_root, strerror(-ret));

	c->netns_fd = sl_netns_open(c->env->netns);
	if (c->netns_fd < 0)
		return sl_errf(err, SL_ERR_NETNS, "cannot open netns",
			       "%s: %s", c->env->netns, strerror(-c->netns_fd));
	c->host_sk = sl_nl_socket(-1, &ret);
	if (c->host_sk)
		c->pod_sk = sl_nl_socket(c->netns_fd, &ret);
	if (!c->pod_sk)
		return sl_errf(err, SL_ERR_NETLINK, "netlink unavailable",
			       "cannot open rtnetlink sockets: %s",
			       strerror(-ret));

	ret = sl_link_get(c->pod_sk, c->env->ifname, &li);
	if (ret == 0)
		return sl_errf(err, SL_ERR_INTERFACE_EXISTS,
			       "interface already exists",
			       "%s already exists in %s", c->env->ifname,
			       c->env->netns);
	return 0;
}

static int allocate(struct add_ctx *c, const struct sl_ipv4_net *pool,
		    struct sl_err *err)
{
	struct sl_ep_record *rec = &c->rec;
	bool existed;
	int ret;

	ret = sl_store_open(&c->store, c->conf->run_dir, true);
	if (ret == 0)
		ret = sl_store_lock(&c->store);
	if (ret < 0)
		return sl_errf(err, SL_ERR_STORE, "endpoint store unavailable",
			       "%s/endpoints: %s", c->conf->run_dir,
			       strerror(-ret));
	snprintf(rec->container_id, sizeof(rec->container_id), "%s",
		 c->env->container_id);
	snprintf(rec->ifname, sizeof(rec->ifname), "%s", c->env->ifname);
	snprintf(rec->netns, sizeof(rec->netns), "%s", c->env->netns);
	rec->pod = c->env->pod;
	ret = sl_store_allocate(&c->store, pool, rec, &existed);
	sl_store_unlock(&c->store);
	if (ret == -ENOSPC) {
		char net[16];

		sl_ip4_to_str(pool->addr, net);
		return sl_errf(err, SL_ERR_POOL_EXHAUSTED,
			       "no free address in the pod CIDR",
			       "every address of %s/%u is allocated", net,
			       pool->prefix);
	}
	if (ret < 0)
		return sl_errf(err, SL_ERR_STORE, "address allocation failed",
			       "%s", strerror(-ret));
	/* Ours either way: an address left by an ADD that died before its
	 * interface existed is reused, and released if this one fails. */
	c->allocated = true;
	if (existed)
		log_info("reusing the address an earlier ADD allocated");
	return 0;
}

static int netlink_failed(struct sl_err *err, const char *what, int ret)
{
	return sl_errf(err, SL_ERR_NETLINK, "interface setup failed", "%s: %s",
		       what, strerror(-ret));
}

static int create_veth(struct add_ctx *c, struct sl_err *err)
{
	struct sl_ep_record *rec = &c->rec;
	struct sl_link_info li;
	int ret;

	sl_host_veth_name(rec->container_id, rec->ifname, rec->host_veth);
	/* A host veth without a pod end is what a killed ADD leaves. */
	ret = sl_link_delete(c->host_sk, rec->host_veth);
	if (ret < 0)
		return netlink_failed(err, "removing a stale host veth", ret);

	if (sl_random_mac(rec->host_mac) < 0 || sl_random_mac(rec->pod_mac) < 0)
		return sl_errf(err, CNI_ERR_INTERNAL, "no randomness",
			       "getrandom failed");
	rec->mtu = sl_resolve_mtu(c->conf);
	ret = sl_veth_create(c->host_sk, rec->host_veth, rec->ifname,
			     c->netns_fd, rec->mtu, rec->host_mac,
			     rec->pod_mac);
	if (ret < 0)
		return netlink_failed(err, "creating the veth pair", ret);

	ret = sl_link_get(c->host_sk, rec->host_veth, &li);
	if (ret < 0)
		return netlink_failed(err, "reading the host veth", ret);
	rec->host_ifindex = li.ifindex;

	ret = disable_ipv6(-1, rec->host_veth);
	if (ret < 0)
		return netlink_failed(err, "disabling IPv6 on the host veth",
				      ret);
	return 0;
}

static int route_to_pod(struct add_ctx *c, struct sl_err *err)
{
	struct sl_ep_record *rec = &c->rec;
	int ret;

	ret = sl_neigh_add(c->host_sk, rec->host_ifindex, rec->ip,
			   rec->pod_mac);
	if (ret < 0)
		return netlink_failed(err, "adding the pod's neighbour entry",
				      ret);
	ret = sl_route_add(c->host_sk, rec->host_ifindex, rec->ip, 32, 0,
			   false);
	if (ret < 0)
		return netlink_failed(err, "adding the host route", ret);
	return 0;
}

static int wire_pod_side(struct add_ctx *c, struct sl_err *err)
{
	struct sl_ep_record *rec = &c->rec;
	struct sl_link_info li;
	int ret;

	ret = disable_ipv6(c->netns_fd, rec->ifname);
	if (ret < 0)
		return netlink_failed(err, "disabling IPv6 in the pod", ret);
	ret = sl_link_get(c->pod_sk, rec->ifname, &li);
	if (ret < 0)
		return netlink_failed(err, "reading the pod interface", ret);
	ret = sl_addr_add(c->pod_sk, li.ifindex, rec->ip, 32);
	if (ret < 0)
		return netlink_failed(err, "adding the pod address", ret);
	ret = sl_link_set_up(c->pod_sk, li.ifindex);
	if (ret < 0)
		return netlink_failed(err, "bringing the pod interface up", ret);
	ret = sl_neigh_add(c->pod_sk, li.ifindex, c->gateway, rec->host_mac);
	if (ret < 0)
		return netlink_failed(err, "adding the gateway neighbour", ret);
	ret = sl_route_add(c->pod_sk, li.ifindex, 0, 0, c->gateway, true);
	if (ret == -EEXIST)
		return sl_errf(err, SL_ERR_NETLINK, "pod already has a default route",
			       "sluice is the pod's primary network and owns its default route; %s already has one (a second sluice interface per pod is not supported)",
			       c->env->netns);
	if (ret < 0)
		return netlink_failed(err, "adding the default route", ret);
	return 0;
}

static int attach_datapath(struct add_ctx *c, struct sl_err *err)
{
	struct sl_ep_record *rec = &c->rec;
	struct sl_endpoint_key key = { .ip4 = htonl(rec->ip) };
	struct sl_endpoint ep = { .ifindex = (__u32)rec->host_ifindex };
	int ret;

	/* Closed until the agent knows the pod's identity and isolation;
	 * without an agent, nothing would ever open it. */
	if (c->agent)
		ep.flags = SL_EP_F_PENDING | SL_EP_F_INGRESS_ISOLATED |
			   SL_EP_F_EGRESS_ISOLATED;
	memcpy(ep.pod_mac, rec->pod_mac, 6);
	memcpy(ep.host_mac, rec->host_mac, 6);
	/* The entry first: the programs drop a source they do not know. */
	if (bpf_map_update_elem(c->dp.endpoints_fd, &key, &ep, BPF_ANY) < 0)
		return sl_errf(err, SL_ERR_DATAPATH, "endpoint map update failed",
			       "%s", strerror(errno));
	ret = sl_tc_attach(rec->host_ifindex, c->dp.from_pod_fd,
			   c->dp.to_pod_fd);
	if (ret < 0)
		return sl_errf(err, SL_ERR_DATAPATH, "attaching programs failed",
			       "tc attach on %s: %s", rec->host_veth,
			       strerror(-ret));
	return 0;
}

/*
 * Conntrack entries at the pod's address are from before it: a previous
 * pod's connections, or flows a client started toward an address nobody
 * held (judged then by no ingress policy at all). Established entries
 * skip policy, so one left here would let a flow into the new pod that
 * its policy denies. Called with the closed entry in place, so no new
 * connection to or from the address is admitted behind the flush.
 */
static int flush_conntrack(struct add_ctx *c, struct sl_err *err)
{
	struct sl_ct_filter f = { .addr = c->rec.ip };
	int ret;

	if (c->dp.ct_fd < 0)
		return 0;
	ret = sl_ct_flush(c->dp.ct_fd, &f);
	if (ret < 0)
		return sl_errf(err, SL_ERR_DATAPATH, "conntrack flush failed",
			       "removing connections of an earlier holder of the address: %s",
			       strerror(-ret));
	if (ret > 0)
		log_info("removed %d conntrack entries an earlier holder of the address left",
			 ret);
	return 0;
}

static int save_record(struct add_ctx *c, struct sl_err *err)
{
	int ret = sl_store_update(&c->store, &c->rec);

	if (ret < 0)
		return sl_errf(err, SL_ERR_STORE, "endpoint record update failed",
			       "%s", strerror(-ret));
	return 0;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * The agent rewrites the entry without SL_EP_F_PENDING once the pod's
 * identity and policy are in place, on the inotify event of the record
 * save_record() just wrote. Wait for that, up to agentWaitMs, so the
 * runtime starts containers on a programmed network; 0 with *waited_ms,
 * or -ETIMEDOUT.
 */
static int wait_for_agent(const struct add_ctx *c, double *waited_ms)
{
	struct sl_endpoint_key key = { .ip4 = htonl(c->rec.ip) };
	struct timespec start, now, pause = { 0, AGENT_POLL_FIRST_NS };
	struct sl_endpoint ep;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		double left;

		/* Our entry (by ifindex), as the agent rewrote it. */
		if (bpf_map_lookup_elem(c->dp.endpoints_fd, &key, &ep) == 0 &&
		    ep.ifindex == (__u32)c->rec.host_ifindex &&
		    !(ep.flags & SL_EP_F_PENDING))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = c->conf->agent_wait_ms - ms_between(&start, &now);
		if (left <= 0)
			return -ETIMEDOUT;
		if (pause.tv_nsec > left * 1e6)
			pause.tv_nsec = (long)(left * 1e6);
		nanosleep(&pause, NULL);
		pause.tv_nsec += pause.tv_nsec / 2;
		if (pause.tv_nsec > AGENT_POLL_MAX_NS)
			pause.tv_nsec = AGENT_POLL_MAX_NS;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	*waited_ms = ms_between(&start, &now);
	return 0;
}

/* How the agent took the new pod, for the ADD's log line. */
static void agent_outcome(const struct add_ctx *c, char *buf, size_t len)
{
	const struct sl_pod_meta *pod = &c->env->pod;
	double ms;

	buf[0] = '\0';
	if (!c->agent)
		return;
	if (!c->conf->agent_wait_ms) {
		snprintf(buf, len, ", closed until the agent programs it (agentWaitMs 0: not waiting)");
		return;
	}
	if (wait_for_agent(c, &ms) == 0) {
		snprintf(buf, len, ", programmed by the agent in %.2f ms", ms);
		return;
	}
	/* Not an error: the pod is closed, not open, and gets its policy
	 * when the agent is back. Failing would only make the runtime
	 * retry into the same wait. */
	log_warn("the agent has not programmed %s/%s within %u ms: ignoring, the pod starts closed (nothing in or out) until the agent does",
		 pod->namespace, pod->name, c->conf->agent_wait_ms);
	snprintf(buf, len, ", closed: the agent has not programmed it yet");
}

static void rollback(struct add_ctx *c)
{
	/* Teardown looks the veth up by name and the map entry by our
	 * ifindex, so it is right whichever step failed. */
	if (c->allocated &&
	    sl_endpoint_teardown(c->conf, &c->store, &c->rec) < 0)
		log_error("cleanup after a failed ADD was incomplete");
}

int sl_cmd_add(const struct sl_env *env, const struct sl_conf *conf,
	       json_object **result, struct sl_err *err)
{
	struct add_ctx c = { .env = env, .conf = conf, .dp = SL_DATAPATH_INIT,
			     .store = { .lock_fd = -1 }, .netns_fd = -1 };
	struct sl_result res = {};
	struct sl_ipv4_net pool;
	struct in_addr gw;
	char outcome[128];
	int ret = -1;

	inet_pton(AF_INET, SL_POD_GATEWAY, &gw);
	c.gateway = ntohl(gw.s_addr);

	/* Nothing leads to the pod before the programs and its entry are
	 * on its veth, nor before conntrack forgets the address: a packet
	 * routed to it meets sl_to_pod, which finds it closed until the
	 * agent has programmed it. The record goes last: its rename is what
	 * the agent programs the pod on. */
	if (prepare(&c, &pool, err) < 0 || allocate(&c, &pool, err) < 0 ||
	    create_veth(&c, err) < 0 || attach_datapath(&c, err) < 0 ||
	    flush_conntrack(&c, err) < 0 || route_to_pod(&c, err) < 0 ||
	    wire_pod_side(&c, err) < 0 ||
	    save_record(&c, err) < 0) {
		rollback(&c);
		goto out;
	}
	agent_outcome(&c, outcome, sizeof(outcome));

	res.host = (struct sl_result_iface){ .name = c.rec.host_veth,
					     .mtu = c.rec.mtu };
	res.pod = (struct sl_result_iface){ .name = env->ifname,
					    .mtu = c.rec.mtu,
					    .sandbox = env->netns };
	memcpy(res.host.mac, c.rec.host_mac, 6);
	memcpy(res.pod.mac, c.rec.pod_mac, 6);
	res.ip = c.rec.ip;
	res.gateway = c.gateway;
	res.dns = conf->dns;
	*result = sl_result_build(&res, conf->ver, conf->prev_result);
	if (!*result) {
		rollback(&c);
		sl_errf(err, CNI_ERR_INTERNAL, "out of memory", "%s", "");
		goto out;
	}
	{
		char ip[16];

		sl_ip4_to_str(c.rec.ip, ip);
		log_info("added %s/%s: %s on %s (ifindex %d)%s",
			 env->pod.namespace, env->pod.name, ip,
			 c.rec.host_veth, c.rec.host_ifindex, outcome);
	}
	ret = 0;
out:
	if (c.pod_sk)
		nl_socket_free(c.pod_sk);
	if (c.host_sk)
		nl_socket_free(c.host_sk);
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	sl_store_close(&c.store);
	sl_datapath_close(&c.dp);
	return ret;
}

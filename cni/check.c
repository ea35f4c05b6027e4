// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * CHECK: everything ADD set up is still there and as prevResult says.
 * Read-only: CRI-O runs it for pod status, so it must not change anything.
 */
#include "plugin.h"
#include "datapath.h"
#include "link.h"
#include "netns.h"
#include "tc.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netlink/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/endpoint.h>

struct expected {
	uint32_t ip;
	int prefix;
};

static int fail(struct sl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct sl_err *err, const char *fmt, ...)
{
	char details[sizeof(err->details)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(details, sizeof(details), fmt, ap);
	va_end(ap);
	return sl_errf(err, SL_ERR_CHECK_FAILED, "CHECK failed", "%s", details);
}

/* Our pod interface and its address in prevResult. */
static int parse_prev(const struct sl_env *env, json_object *prev,
		      struct expected *exp, struct sl_err *err)
{
	json_object *ifaces, *ips;
	int pod_index = -1;
	size_t n;

	if (!json_object_object_get_ex(prev, "interfaces", &ifaces) ||
	    !json_object_object_get_ex(prev, "ips", &ips) ||
	    !json_object_is_type(ifaces, json_type_array) ||
	    !json_object_is_type(ips, json_type_array))
		return sl_errf(err, CNI_ERR_INVALID_CONFIG, "invalid prevResult",
			       "prevResult has no interfaces or ips");
	n = json_object_array_length(ifaces);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(ifaces, i), *v;
		const char *name = "", *sandbox = "";

		if (json_object_object_get_ex(it, "name", &v))
			name = json_object_get_string(v);
		if (json_object_object_get_ex(it, "sandbox", &v))
			sandbox = json_object_get_string(v);
		if (!strcmp(name, env->ifname) && sandbox[0])
			pod_index = (int)i;
	}
	if (pod_index < 0)
		return fail(err, "prevResult lists no %s with a sandbox",
			    env->ifname);
	n = json_object_array_length(ips);
	for (size_t i = 0; i < n; i++) {
		json_object *ip = json_object_array_get_idx(ips, i), *v;

		if (json_object_object_get_ex(ip, "interface", &v) &&
		    json_object_get_int(v) == pod_index &&
		    json_object_object_get_ex(ip, "address", &v) &&
		    sl_parse_ipv4_prefix(json_object_get_string(v), &exp->ip,
					 &exp->prefix) == 0)
			return 0;
	}
	return fail(err, "prevResult has no IPv4 address on %s", env->ifname);
}

static int check_host(const struct sl_conf *conf, const struct sl_ep_record *rec,
		      struct sl_err *err)
{
	struct sl_datapath dp = SL_DATAPATH_INIT;
	struct sl_endpoint_key key = { .ip4 = htonl(rec->ip) };
	struct sl_endpoint ep;
	unsigned int in_id, eg_id;
	struct sl_link_info li;
	struct nl_sock *sk;
	int ret;

	sk = sl_nl_socket(-1, &ret);
	if (!sk)
		return sl_errf(err, SL_ERR_NETLINK, "netlink unavailable", "%s",
			       strerror(-ret));
	ret = sl_link_get(sk, rec->host_veth, &li);
	if (ret < 0 || !li.up) {
		nl_socket_free(sk);
		return fail(err, "host veth %s is missing or down",
			    rec->host_veth);
	}
	if (!sl_route_exists(sk, li.ifindex, rec->ip, 32, 0) ||
	    !sl_neigh_exists(sk, li.ifindex, rec->ip, rec->pod_mac)) {
		nl_socket_free(sk);
		return fail(err, "host route or neighbour for the pod on %s is missing",
			    rec->host_veth);
	}
	nl_socket_free(sk);

	if (sl_datapath_open_pinned(&dp, conf->bpf_root) < 0)
		return fail(err, "no datapath pinned under %s", conf->bpf_root);
	/* Of the endpoint entry, ifindex and MACs are ADD's; identity and
	 * flags are the agent's, and a pod it has not programmed yet
	 * (SL_EP_F_PENDING) is as ADD left it, not broken. */
	ret = 0;
	if (sl_tc_query(li.ifindex, true, &in_id) < 0 ||
	    sl_tc_query(li.ifindex, false, &eg_id) < 0 ||
	    in_id != sl_prog_id(dp.from_pod_fd) ||
	    eg_id != sl_prog_id(dp.to_pod_fd))
		ret = fail(err, "the datapath programs are not attached to %s",
			   rec->host_veth);
	else if (bpf_map_lookup_elem(dp.endpoints_fd, &key, &ep) < 0 ||
		 ep.ifindex != (__u32)li.ifindex ||
		 memcmp(ep.pod_mac, rec->pod_mac, 6) ||
		 memcmp(ep.host_mac, rec->host_mac, 6))
		ret = fail(err, "the endpoint map entry for %s is missing or stale",
			   rec->host_veth);
	sl_datapath_close(&dp);
	return ret;
}

static int check_pod(const struct sl_env *env, const struct sl_ep_record *rec,
		     const struct expected *exp, struct sl_err *err)
{
	struct in_addr gw_in;
	struct sl_link_info li;
	struct nl_sock *sk;
	uint32_t gw;
	int fd, ret;

	inet_pton(AF_INET, SL_POD_GATEWAY, &gw_in);
	gw = ntohl(gw_in.s_addr);
	fd = sl_netns_open(env->netns);
	if (fd < 0)
		return fail(err, "cannot open netns %s", env->netns);
	sk = sl_nl_socket(fd, &ret);
	close(fd);
	if (!sk)
		return sl_errf(err, SL_ERR_NETLINK, "netlink unavailable", "%s",
			       strerror(-ret));
	ret = 0;
	if (sl_link_get(sk, env->ifname, &li) < 0 || !li.up ||
	    memcmp(li.mac, rec->pod_mac, 6))
		ret = fail(err, "%s in the pod is missing, down or has another MAC",
			   env->ifname);
	else if (!sl_addr_exists(sk, li.ifindex, exp->ip, exp->prefix))
		ret = fail(err, "%s has lost its address", env->ifname);
	else if (!sl_neigh_exists(sk, li.ifindex, gw, rec->host_mac))
		ret = fail(err, "the gateway neighbour on %s is missing",
			   env->ifname);
	else if (!sl_route_exists(sk, li.ifindex, 0, 0, gw))
		ret = fail(err, "the default route via %s is missing",
			   SL_POD_GATEWAY);
	nl_socket_free(sk);
	return ret;
}

int sl_cmd_check(const struct sl_env *env, const struct sl_conf *conf,
		 struct sl_err *err)
{
	struct sl_store store = { .lock_fd = -1 };
	struct expected exp = {};
	struct sl_ep_record rec;
	int ret;

	if (!conf->prev_result)
		return sl_errf(err, CNI_ERR_INVALID_CONFIG,
			       "required prevResult missing",
			       "CHECK needs the result of ADD as prevResult");
	if (parse_prev(env, conf->prev_result, &exp, err) < 0)
		return -1;

	ret = sl_store_open(&store, conf->run_dir, false);
	if (ret == 0)
		ret = sl_store_find(&store, env->container_id, env->ifname, &rec);
	sl_store_close(&store);
	if (ret < 0)
		return fail(err, "no endpoint record for this attachment");
	if (rec.ip != exp.ip || !rec.host_veth[0]) {
		char a[16], b[16];

		sl_ip4_to_str(rec.ip, a);
		sl_ip4_to_str(exp.ip, b);
		return fail(err, "allocated address %s differs from prevResult's %s",
			    a, b);
	}
	if (check_host(conf, &rec, err) < 0 ||
	    check_pod(env, &rec, &exp, err) < 0)
		return -1;
	return 0;
}

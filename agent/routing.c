// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cross-node routing (agent/routing.h): the routes to other nodes' pod
 * CIDRs, the VXLAN overlay device and sl_tunnel.
 */
#include "routing.h"
#include "datapath.h"
#include "ipv4.h"
#include "log.h"
#include "tc.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/config.h>
#include <sluice/tunnel.h>

int sl_routing_mode_parse(const char *s, enum sl_routing_mode *mode)
{
	if (!strcmp(s, "native"))
		*mode = SL_ROUTING_NATIVE;
	else if (!strcmp(s, "vxlan"))
		*mode = SL_ROUTING_VXLAN;
	else
		return -EINVAL;
	return 0;
}

const char *sl_routing_mode_name(enum sl_routing_mode mode)
{
	return mode == SL_ROUTING_VXLAN ? "vxlan" : "native";
}

static int want_cmp(const void *a, const void *b)
{
	const struct sl_route_want *x = a, *y = b;

	if (x->cidr != y->cidr)
		return x->cidr < y->cidr ? -1 : 1;
	return (int)x->prefix - (int)y->prefix;
}

long sl_routing_want(const struct sl_model *m, const char *self,
		     struct sl_route_want **out)
{
	size_t cap = sl_model_count(m, SL_KIND_NODE), n = 0;
	struct sl_route_want *w = NULL;
	const char *key;
	void *val;

	*out = NULL;
	if (!cap)
		return 0;
	w = calloc(cap, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (size_t i = 0;
	     sl_table_next(&m->objects[SL_KIND_NODE], &i, &key, &val);) {
		const struct sl_node *nd = &((struct sl_model_obj *)val)->obj.node;

		/* A node without an address or a CIDR has no pods we reach. */
		if (!strcmp(nd->name, self) || !nd->have_pod_cidr ||
		    !nd->internal_ip || n == cap)
			continue;
		w[n++] = (struct sl_route_want){ .cidr = nd->pod_cidr,
						 .prefix = nd->pod_prefix,
						 .node_ip = nd->internal_ip };
	}
	if (!n) {
		free(w);
		return 0;
	}
	qsort(w, n, sizeof(*w), want_cmp);
	*out = w;
	return (long)n;
}

unsigned int sl_routing_pod_mtu(const struct sl_routing *r)
{
	if (!r->mtu)
		return 0;
	if (r->mode == SL_ROUTING_VXLAN)
		return r->mtu > SL_VXLAN_OVERHEAD + 68 ? r->mtu - SL_VXLAN_OVERHEAD :
							 68;
	return r->mtu;
}

static int nl_fail(struct sl_routing *r, int nlerr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int nl_fail(struct sl_routing *r, int nlerr, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->error, sizeof(r->error), "%s: %s", what,
		 nl_geterror(nlerr));
	log_error("routing: %s", r->error);
	return -EIO;
}

/* sl_config's routing switches: the overlay device (VXLAN mode) and
 * whether the datapath or the stack routes between nodes. */
static int write_datapath_mode(int config_fd, int ifindex, bool stack_routing)
{
	struct sl_config cfg = { 0 };
	__u32 key = 0, flags;

	if (config_fd < 0)
		return 0;
	if (bpf_map_lookup_elem(config_fd, &key, &cfg) < 0)
		return -errno;
	flags = (cfg.flags & ~SL_CFG_F_STACK_ROUTING) |
		(stack_routing ? SL_CFG_F_STACK_ROUTING : 0);
	if (cfg.tunnel_ifindex == (__u32)ifindex && cfg.flags == flags)
		return 0;
	cfg.tunnel_ifindex = (__u32)ifindex;
	cfg.flags = flags;
	return bpf_map_update_elem(config_fd, &key, &cfg, BPF_ANY) < 0 ? -errno :
									  0;
}

/* An existing overlay device as we make it, or not (then it is redone). */
static bool overlay_is_ours(struct rtnl_link *link, uint16_t port)
{
	uint32_t have_port = 0;

	if (!rtnl_link_is_vxlan(link) ||
	    rtnl_link_vxlan_get_collect_metadata(link) != 1)
		return false;
	if (rtnl_link_vxlan_get_port(link, &have_port) < 0)
		return false;
	return have_port == port;
}

static int overlay_create(struct sl_routing *r)
{
	struct rtnl_link *link = rtnl_link_vxlan_alloc();
	int err;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, SL_OVERLAY_DEV);
	/* One device for every peer: the far end comes with each packet
	 * (collect metadata), never from the device's own FDB. */
	rtnl_link_vxlan_set_collect_metadata(link, 1);
	rtnl_link_vxlan_set_port(link, r->vxlan_port);
	rtnl_link_vxlan_set_learning(link, 0);
	/* No ARP: the routes point at the device, the programs address.
	 * Down until IPv6 is off on it (overlay_setup). */
	rtnl_link_set_flags(link, IFF_NOARP);
	if (r->mtu)
		rtnl_link_set_mtu(link, sl_routing_pod_mtu(r));
	err = rtnl_link_add(r->nl, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (err < 0)
		return nl_fail(r, err, "creating %s (UDP port %u)",
			       SL_OVERLAY_DEV, r->vxlan_port);
	log_info("routing: created %s, VXLAN on UDP port %u", SL_OVERLAY_DEV,
		 r->vxlan_port);
	return 0;
}

static int overlay_remove(struct sl_routing *r)
{
	struct rtnl_link *link = NULL;
	int err;

	if (rtnl_link_get_kernel(r->nl, 0, SL_OVERLAY_DEV, &link) < 0)
		return 0; /* none */
	err = rtnl_link_delete(r->nl, link);
	rtnl_link_put(link);
	if (err < 0)
		return nl_fail(r, err, "removing %s", SL_OVERLAY_DEV);
	log_info("routing: removed %s (native routing)", SL_OVERLAY_DEV);
	return 0;
}

/* IPv6 off on the device: sluice routes IPv4 only, and the kernel's own
 * router and multicast listener messages would otherwise go out through
 * sl_to_overlay, which has nowhere to send them (and says so, as drops). */
static void overlay_no_ipv6(void)
{
	const char *path = "/proc/sys/net/ipv6/conf/" SL_OVERLAY_DEV "/disable_ipv6";
	FILE *f = fopen(path, "w");

	if (!f)
		return; /* a kernel without IPv6 */
	if (fputs("1", f) < 0 || fclose(f) != 0)
		log_warn("routing: %s: cannot write", path);
}

/* Create or keep the device, bring it up, attach this datapath. */
static int overlay_setup(struct sl_routing *r, const struct sl_datapath *dp)
{
	struct rtnl_link *link = NULL, *change;
	unsigned int in = 0, out = 0;
	int err, ifindex;

	if (dp->from_overlay_fd < 0 || dp->to_overlay_fd < 0) {
		snprintf(r->error, sizeof(r->error),
			 "the pinned datapath has no overlay programs");
		log_error("routing: %s", r->error);
		return -ENOENT;
	}
	if (rtnl_link_get_kernel(r->nl, 0, SL_OVERLAY_DEV, &link) == 0 &&
	    !overlay_is_ours(link, r->vxlan_port)) {
		log_warn("routing: %s is not the VXLAN device we make: replacing it",
			 SL_OVERLAY_DEV);
		err = overlay_remove(r);
		rtnl_link_put(link);
		link = NULL;
		if (err < 0)
			return err;
	}
	if (!link) {
		err = overlay_create(r);
		if (err < 0)
			return err;
		err = rtnl_link_get_kernel(r->nl, 0, SL_OVERLAY_DEV, &link);
		if (err < 0)
			return nl_fail(r, err, "reading %s back", SL_OVERLAY_DEV);
	}
	ifindex = rtnl_link_get_ifindex(link);
	overlay_no_ipv6();
	if (!(rtnl_link_get_flags(link) & IFF_UP)) {
		change = rtnl_link_alloc();
		if (!change) {
			rtnl_link_put(link);
			return -ENOMEM;
		}
		rtnl_link_set_flags(change, IFF_UP | IFF_NOARP);
		err = rtnl_link_change(r->nl, link, change, 0);
		rtnl_link_put(change);
		if (err < 0) {
			rtnl_link_put(link);
			return nl_fail(r, err, "bringing %s up", SL_OVERLAY_DEV);
		}
	}
	rtnl_link_put(link);
	if (sl_tc_query(ifindex, true, &in) < 0 ||
	    sl_tc_query(ifindex, false, &out) < 0 ||
	    in != sl_prog_id(dp->from_overlay_fd) ||
	    out != sl_prog_id(dp->to_overlay_fd)) {
		err = sl_tc_attach(ifindex, dp->from_overlay_fd,
				   dp->to_overlay_fd);
		if (err < 0) {
			snprintf(r->error, sizeof(r->error),
				 "attaching to %s: %s", SL_OVERLAY_DEV,
				 strerror(-err));
			log_error("routing: %s", r->error);
			return err;
		}
		log_info("routing: overlay programs attached to %s (ifindex %d)",
			 SL_OVERLAY_DEV, ifindex);
	}
	r->overlay_ifindex = ifindex;
	return 0;
}

int sl_routing_open(struct sl_routing *r, const struct sl_datapath *dp)
{
	int err;

	if (!r->nl) {
		r->nl = nl_socket_alloc();
		if (!r->nl)
			return -ENOMEM;
		err = nl_connect(r->nl, NETLINK_ROUTE);
		if (err < 0) {
			nl_socket_free(r->nl);
			r->nl = NULL;
			return nl_fail(r, err, "netlink");
		}
	}
	if (r->mode == SL_ROUTING_VXLAN)
		err = overlay_setup(r, dp);
	else
		err = overlay_remove(r);
	if (err < 0)
		return err;
	err = write_datapath_mode(dp->config_fd,
				  r->mode == SL_ROUTING_VXLAN ? r->overlay_ifindex : 0,
				  r->stack_routing);
	if (err < 0) {
		snprintf(r->error, sizeof(r->error),
			 "writing the routing mode to sl_config: %s",
			 strerror(-err));
		log_error("routing: %s", r->error);
		return err;
	}
	/* The routes may point at a device that was just remade. */
	sl_routing_invalidate(r);
	return 0;
}

void sl_routing_invalidate(struct sl_routing *r)
{
	r->valid = false;
}

void sl_routing_close(struct sl_routing *r)
{
	if (r->nl)
		nl_socket_free(r->nl);
	r->nl = NULL;
	free(r->applied);
	r->applied = NULL;
	r->n_applied = 0;
	r->valid = false;
}

/* The MTU of the interface holding addr (host order); 0 when none. */
static unsigned int underlay_mtu(uint32_t addr)
{
	struct ifaddrs *ifs, *ifa;
	unsigned int mtu = 0;

	if (!addr || getifaddrs(&ifs) < 0)
		return 0;
	for (ifa = ifs; ifa && !mtu; ifa = ifa->ifa_next) {
		const struct sockaddr_in *sin = (const void *)ifa->ifa_addr;
		struct ifreq ifr = { 0 };
		int fd;

		if (!sin || sin->sin_family != AF_INET ||
		    ntohl(sin->sin_addr.s_addr) != addr)
			continue;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifa->ifa_name);
		if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
			mtu = (unsigned int)ifr.ifr_mtu;
		close(fd);
	}
	freeifaddrs(ifs);
	return mtu;
}

/* The overlay device follows the underlay's MTU. */
static void overlay_set_mtu(struct sl_routing *r)
{
	struct rtnl_link *link = NULL, *change;
	unsigned int want = sl_routing_pod_mtu(r);
	int err;

	if (r->mode != SL_ROUTING_VXLAN || !want ||
	    rtnl_link_get_kernel(r->nl, 0, SL_OVERLAY_DEV, &link) < 0)
		return;
	if (rtnl_link_get_mtu(link) != want && (change = rtnl_link_alloc())) {
		rtnl_link_set_mtu(change, want);
		err = rtnl_link_change(r->nl, link, change, 0);
		rtnl_link_put(change);
		if (err < 0)
			nl_fail(r, err, "setting %s's MTU to %u", SL_OVERLAY_DEV,
				want);
		else
			log_info("routing: %s MTU %u (underlay %u)",
				 SL_OVERLAY_DEV, want, r->mtu);
	}
	rtnl_link_put(link);
}

static struct nl_addr *addr4(uint32_t ip, unsigned int prefix)
{
	uint32_t be = htonl(ip);
	struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));

	if (a)
		nl_addr_set_prefixlen(a, (int)prefix);
	return a;
}

static struct rtnl_route *route_build(const struct sl_routing *r,
				      const struct sl_route_want *w)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = addr4(w->cidr, w->prefix), *gw = NULL;

	if (!rt || !nh || !dst)
		goto fail;
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, SL_RTPROT);
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_set_dst(rt, dst);
	if (r->mode == SL_ROUTING_VXLAN) {
		rtnl_route_set_scope(rt, RT_SCOPE_LINK);
		rtnl_route_nh_set_ifindex(nh, r->overlay_ifindex);
	} else {
		gw = addr4(w->node_ip, 32);
		if (!gw)
			goto fail;
		rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
		rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
	}
	rtnl_route_add_nexthop(rt, nh);
	nl_addr_put(dst);
	return rt;
fail:
	if (nh)
		rtnl_route_nh_free(nh);
	if (dst)
		nl_addr_put(dst);
	if (rt)
		rtnl_route_put(rt);
	return NULL;
}

/* Does a route of ours in the kernel say what w (in this mode) says? */
static bool route_matches(const struct sl_routing *r, struct rtnl_route *rt,
			  const struct sl_route_want *w)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;

	if (rtnl_route_get_nnexthops(rt) != 1)
		return false;
	nh = rtnl_route_nexthop_n(rt, 0);
	gw = rtnl_route_nh_get_gateway(nh);
	if (r->mode == SL_ROUTING_VXLAN)
		return !gw && rtnl_route_nh_get_ifindex(nh) == r->overlay_ifindex;
	return gw && nl_addr_get_len(gw) == 4 &&
	       ntohl(*(uint32_t *)nl_addr_get_binary_addr(gw)) == w->node_ip;
}

static const struct sl_route_want *find_want(const struct sl_route_want *w,
					     size_t n, uint32_t cidr,
					     unsigned int prefix)
{
	struct sl_route_want key = { .cidr = cidr, .prefix = (uint8_t)prefix };

	return bsearch(&key, w, n, sizeof(*w), want_cmp);
}

struct route_walk {
	struct sl_routing *r;
	const struct sl_route_want *want;
	size_t n;
	bool *have; /* want[i] already right in the kernel */
	int err;
};

/* Our routes in the kernel: keep the right ones, remove the rest. */
static void route_visit(struct nl_object *obj, void *arg)
{
	struct route_walk *wk = arg;
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	const struct sl_route_want *w;
	struct nl_addr *dst;
	uint32_t cidr;
	int err;

	if (rtnl_route_get_protocol(rt) != SL_RTPROT ||
	    rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
	    rtnl_route_get_family(rt) != AF_INET)
		return;
	dst = rtnl_route_get_dst(rt);
	if (!dst || nl_addr_get_len(dst) != 4)
		return;
	cidr = ntohl(*(uint32_t *)nl_addr_get_binary_addr(dst));
	w = find_want(wk->want, wk->n, cidr,
		      (unsigned int)nl_addr_get_prefixlen(dst));
	if (w && route_matches(wk->r, rt, w)) {
		wk->have[w - wk->want] = true;
		return;
	}
	if (w)
		return; /* replaced below */
	err = rtnl_route_delete(wk->r->nl, rt, 0);
	if (err < 0 && err != -NLE_OBJ_NOTFOUND) {
		nl_fail(wk->r, err, "removing a stale route");
		wk->err = -EIO;
		return;
	}
	log_info("routing: removed the route to %s/%d (no such node now)",
		 inet_ntoa((struct in_addr){ htonl(cidr) }),
		 nl_addr_get_prefixlen(dst));
}

static int routes_apply(struct sl_routing *r, const struct sl_route_want *w,
			size_t n)
{
	struct route_walk wk = { .r = r, .want = w, .n = n };
	struct nl_cache *cache = NULL;
	int err;

	wk.have = calloc(n ? n : 1, sizeof(*wk.have));
	if (!wk.have)
		return -ENOMEM;
	err = rtnl_route_alloc_cache(r->nl, AF_INET, 0, &cache);
	if (err < 0) {
		free(wk.have);
		return nl_fail(r, err, "listing routes");
	}
	nl_cache_foreach(cache, route_visit, &wk);
	nl_cache_free(cache);
	r->failed = 0;
	r->routes = 0;
	for (size_t i = 0; i < n; i++) {
		char cidr[24], via[16];
		struct rtnl_route *rt;

		if (wk.have[i]) {
			r->routes++;
			continue;
		}
		rt = route_build(r, &w[i]);
		if (!rt) {
			free(wk.have);
			return -ENOMEM;
		}
		err = rtnl_route_add(r->nl, rt, NLM_F_CREATE | NLM_F_REPLACE);
		rtnl_route_put(rt);
		sl_ip4_net_to_str(w[i].cidr, w[i].prefix, cidr);
		sl_ip4_to_str(w[i].node_ip, via);
		if (err < 0) {
			/* Say it, and keep going: one unreachable node must
			 * not cut the others off. */
			nl_fail(r, err, "route to %s via node %s", cidr, via);
			r->failed++;
			continue;
		}
		r->routes++;
		log_info("routing: %s via %s%s", cidr, via,
			 r->mode == SL_ROUTING_VXLAN ? " (VXLAN)" : "");
	}
	free(wk.have);
	if (!r->failed)
		r->error[0] = '\0';
	return wk.err;
}

/* sl_tunnel equal to w: write each, then remove keys w does not have. */
static int tunnel_apply(int fd, const struct sl_route_want *w, size_t n)
{
	struct sl_tunnel_key k, next, *prev = NULL;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		struct sl_tunnel_val v = { .node_ip = htonl(w[i].node_ip) };

		k = (struct sl_tunnel_key){ .prefixlen = w[i].prefix,
					    .ip4 = htonl(w[i].cidr) };
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
			return -errno;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (find_want(w, n, ntohl(k.ip4), k.prefixlen))
			continue;
		if (bpf_map_delete_elem(fd, &k) < 0 && errno != ENOENT) {
			err = -errno;
			break;
		}
		/* The walk restarts: the deleted key cannot lead on. */
		prev = NULL;
	}
	return err;
}

static bool same_wants(const struct sl_routing *r,
		       const struct sl_route_want *w, size_t n)
{
	return r->valid && r->n_applied == n &&
	       (!n || !memcmp(r->applied, w, n * sizeof(*w)));
}

int sl_routing_sync(struct sl_routing *r, const struct sl_model *m,
		    const char *self, int tunnel_fd)
{
	const struct sl_object *me = sl_model_get(m, SL_KIND_NODE, self);
	struct sl_route_want *w = NULL;
	unsigned int mtu;
	long n;
	int err;

	if (!r->nl)
		return 0; /* not opened: no datapath to route for */
	mtu = underlay_mtu(me ? me->node.internal_ip : 0);
	if (mtu && mtu != r->mtu) {
		r->mtu = mtu;
		overlay_set_mtu(r);
	}
	n = sl_routing_want(m, self, &w);
	if (n < 0)
		return (int)n;
	if (same_wants(r, w, (size_t)n)) {
		free(w);
		return 0;
	}
	if (r->mode == SL_ROUTING_VXLAN && !r->overlay_ifindex) {
		free(w);
		return 0; /* no device to route through: open failed, said */
	}
	err = routes_apply(r, w, (size_t)n);
	if (!err && tunnel_fd >= 0) {
		err = tunnel_apply(tunnel_fd, w, (size_t)n);
		if (err < 0)
			log_error("routing: writing %s: %s", SL_TUNNEL_MAP,
				  strerror(-err));
	}
	free(r->applied);
	r->applied = w;
	r->n_applied = (size_t)n;
	/* A refused route is tried again next sync. */
	r->valid = !err && !r->failed;
	return err;
}

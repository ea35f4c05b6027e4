// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <string.h>
#include <sys/random.h>

/* libnl speaks its own error numbers; callers want errno. */
static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND:
		return -ENODEV;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	default:
		return -EIO;
	}
}

static struct nl_addr *ip4_addr(uint32_t ip, int prefix)
{
	uint32_t be = htonl(ip);
	struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));

	if (a)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

int sl_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		return -errno;
	mac[0] = (mac[0] & 0xfe) | 0x02; /* unicast, locally administered */
	return 0;
}

static int set_mac(struct rtnl_link *link, const uint8_t mac[6])
{
	struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);

	if (!a)
		return -ENOMEM;
	rtnl_link_set_addr(link, a);
	nl_addr_put(a);
	return 0;
}

int sl_veth_create(struct nl_sock *sk, const char *host_name,
		   const char *pod_ifname, int pod_netns_fd, int mtu,
		   const uint8_t host_mac[6], const uint8_t pod_mac[6])
{
	struct rtnl_link *link, *peer;
	int err;

	link = rtnl_link_veth_alloc();
	if (!link)
		return -ENOMEM;
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, host_name);
	rtnl_link_set_mtu(link, (unsigned int)mtu);
	rtnl_link_set_flags(link, IFF_UP);
	rtnl_link_set_name(peer, pod_ifname);
	rtnl_link_set_mtu(peer, (unsigned int)mtu);
	/* Created in the pod's namespace: one netlink round trip, and the
	 * name never exists in the node's namespace where it might clash. */
	rtnl_link_set_ns_fd(peer, pod_netns_fd);
	err = set_mac(link, host_mac);
	if (!err)
		err = set_mac(peer, pod_mac);
	if (!err)
		err = nl_to_errno(rtnl_link_add(sk, link,
						NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(peer);
	rtnl_link_put(link);
	return err;
}

int sl_link_get(struct nl_sock *sk, const char *name, struct sl_link_info *info)
{
	struct rtnl_link *link;
	struct nl_addr *a;
	int err;

	err = nl_to_errno(rtnl_link_get_kernel(sk, 0, name, &link));
	if (err < 0)
		return err;
	memset(info, 0, sizeof(*info));
	info->ifindex = rtnl_link_get_ifindex(link);
	info->mtu = (int)rtnl_link_get_mtu(link);
	info->up = rtnl_link_get_flags(link) & IFF_UP;
	a = rtnl_link_get_addr(link);
	if (a && nl_addr_get_len(a) == 6)
		memcpy(info->mac, nl_addr_get_binary_addr(a), 6);
	rtnl_link_put(link);
	return 0;
}

int sl_link_set_up(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	struct rtnl_link *change = rtnl_link_alloc();
	int err = -ENOMEM;

	if (orig && change) {
		rtnl_link_set_ifindex(orig, ifindex);
		rtnl_link_set_flags(change, IFF_UP);
		err = nl_to_errno(rtnl_link_change(sk, orig, change, 0));
	}
	rtnl_link_put(orig);
	rtnl_link_put(change);
	return err;
}

int sl_link_delete(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int err;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, name);
	err = nl_to_errno(rtnl_link_delete(sk, link));
	rtnl_link_put(link);
	return err == -ENODEV ? 0 : err;
}

int sl_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = ip4_addr(ip, prefix);
	int err = -ENOMEM;

	if (addr && local) {
		rtnl_addr_set_ifindex(addr, ifindex);
		rtnl_addr_set_family(addr, AF_INET);
		rtnl_addr_set_local(addr, local);
		rtnl_addr_set_prefixlen(addr, prefix);
		err = nl_to_errno(rtnl_addr_add(sk, addr, 0));
	}
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return err;
}

bool sl_addr_exists(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix)
{
	struct nl_cache *cache;
	struct nl_object *obj;
	struct nl_addr *want = ip4_addr(ip, prefix);
	bool found = false;

	if (!want || rtnl_addr_alloc_cache(sk, &cache) < 0) {
		nl_addr_put(want);
		return false;
	}
	for (obj = nl_cache_get_first(cache); obj && !found;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *a = (struct rtnl_addr *)obj;
		struct nl_addr *local = rtnl_addr_get_local(a);

		found = rtnl_addr_get_ifindex(a) == ifindex &&
			rtnl_addr_get_family(a) == AF_INET && local &&
			rtnl_addr_get_prefixlen(a) == prefix &&
			!nl_addr_cmp_prefix(local, want) &&
			!memcmp(nl_addr_get_binary_addr(local),
				nl_addr_get_binary_addr(want), 4);
	}
	nl_cache_free(cache);
	nl_addr_put(want);
	return found;
}

int sl_route_add(struct nl_sock *sk, int ifindex, uint32_t dst, int prefix,
		 uint32_t gw, bool onlink)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst_addr = ip4_addr(dst, prefix);
	struct nl_addr *gw_addr = gw ? ip4_addr(gw, 32) : NULL;
	int err = -ENOMEM;

	if (!route || !nh || !dst_addr || (gw && !gw_addr)) {
		rtnl_route_nh_free(nh);
		goto out;
	}
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_scope(route, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_set_dst(route, dst_addr);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gw_addr)
		rtnl_route_nh_set_gateway(nh, gw_addr);
	if (onlink)
		rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	rtnl_route_add_nexthop(route, nh); /* route owns nh now */
	err = nl_to_errno(rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL));
out:
	nl_addr_put(gw_addr);
	nl_addr_put(dst_addr);
	rtnl_route_put(route);
	return err;
}

struct route_match {
	int ifindex;
	struct nl_addr *dst;
	struct nl_addr *gw;
	bool found;
};

static void match_nexthop(struct rtnl_nexthop *nh, void *arg)
{
	struct route_match *m = arg;
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);

	if (rtnl_route_nh_get_ifindex(nh) != m->ifindex)
		return;
	if (m->gw ? (gw && !nl_addr_cmp(gw, m->gw)) : !gw)
		m->found = true;
}

bool sl_route_exists(struct nl_sock *sk, int ifindex, uint32_t dst,
		     int prefix, uint32_t gw)
{
	struct route_match m = { .ifindex = ifindex };
	struct nl_cache *cache;
	struct nl_object *obj;

	m.dst = ip4_addr(dst, prefix);
	m.gw = gw ? ip4_addr(gw, 32) : NULL;
	if (!m.dst || (gw && !m.gw) ||
	    rtnl_route_alloc_cache(sk, AF_INET, 0, &cache) < 0)
		goto out;
	for (obj = nl_cache_get_first(cache); obj && !m.found;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_route *r = (struct rtnl_route *)obj;
		struct nl_addr *rdst = rtnl_route_get_dst(r);

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN || !rdst ||
		    nl_addr_get_prefixlen(rdst) != (unsigned int)prefix)
			continue;
		/* A default route's dst may come back with no address. */
		if (prefix && memcmp(nl_addr_get_binary_addr(rdst),
				     nl_addr_get_binary_addr(m.dst), 4))
			continue;
		rtnl_route_foreach_nexthop(r, match_nexthop, &m);
	}
	nl_cache_free(cache);
out:
	nl_addr_put(m.dst);
	nl_addr_put(m.gw);
	return m.found;
}

int sl_neigh_add(struct nl_sock *sk, int ifindex, uint32_t ip,
		 const uint8_t mac[6])
{
	struct rtnl_neigh *neigh = rtnl_neigh_alloc();
	struct nl_addr *dst = ip4_addr(ip, 32);
	struct nl_addr *ll = nl_addr_build(AF_LLC, mac, 6);
	int err = -ENOMEM;

	if (neigh && dst && ll) {
		rtnl_neigh_set_ifindex(neigh, ifindex);
		rtnl_neigh_set_family(neigh, AF_INET);
		rtnl_neigh_set_dst(neigh, dst);
		rtnl_neigh_set_lladdr(neigh, ll);
		rtnl_neigh_set_state(neigh, NUD_PERMANENT);
		err = nl_to_errno(rtnl_neigh_add(sk, neigh,
						 NLM_F_CREATE | NLM_F_REPLACE));
	}
	nl_addr_put(ll);
	nl_addr_put(dst);
	rtnl_neigh_put(neigh);
	return err;
}

bool sl_neigh_exists(struct nl_sock *sk, int ifindex, uint32_t ip,
		     const uint8_t mac[6])
{
	struct nl_addr *dst = ip4_addr(ip, 32);
	struct nl_cache *cache;
	struct rtnl_neigh *n;
	bool found = false;

	if (!dst || rtnl_neigh_alloc_cache(sk, &cache) < 0) {
		nl_addr_put(dst);
		return false;
	}
	n = rtnl_neigh_get(cache, ifindex, dst);
	if (n) {
		struct nl_addr *ll = rtnl_neigh_get_lladdr(n);

		found = ll && nl_addr_get_len(ll) == 6 &&
			!memcmp(nl_addr_get_binary_addr(ll), mac, 6) &&
			(rtnl_neigh_get_state(n) & NUD_PERMANENT);
		rtnl_neigh_put(n);
	}
	nl_cache_free(cache);
	nl_addr_put(dst);
	return found;
}

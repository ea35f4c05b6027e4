/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* rtnetlink operations (libnl-3) the plugin needs, IPv4 only. */
#ifndef SL_CNI_LINK_H
#define SL_CNI_LINK_H

#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

struct sl_link_info {
	int ifindex;
	uint8_t mac[6];
	int mtu;
	bool up;
	int peer_netnsid_known; /* unused for now */
};

/*
 * sl_veth_create - create host_name in sk's netns with its peer pod_ifname
 * created directly inside pod_netns_fd (no move afterwards), both with the
 * given MTU and MACs; the host end is brought up.
 */
int sl_veth_create(struct nl_sock *sk, const char *host_name,
		   const char *pod_ifname, int pod_netns_fd, int mtu,
		   const uint8_t host_mac[6], const uint8_t pod_mac[6]);

/* 0 with info filled, -ENODEV when absent, other -errno. */
int sl_link_get(struct nl_sock *sk, const char *name, struct sl_link_info *info);
int sl_link_set_up(struct nl_sock *sk, int ifindex);
/* 0 also when the link does not exist. */
int sl_link_delete(struct nl_sock *sk, const char *name);

int sl_addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix);
bool sl_addr_exists(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix);

/* dst/prefix via gw (0: none) on ifindex; onlink lets gw be off-subnet. */
int sl_route_add(struct nl_sock *sk, int ifindex, uint32_t dst, int prefix,
		 uint32_t gw, bool onlink);
bool sl_route_exists(struct nl_sock *sk, int ifindex, uint32_t dst,
		     int prefix, uint32_t gw);

/* A permanent neighbour entry ip -> mac on ifindex. */
int sl_neigh_add(struct nl_sock *sk, int ifindex, uint32_t ip,
		 const uint8_t mac[6]);
bool sl_neigh_exists(struct nl_sock *sk, int ifindex, uint32_t ip,
		     const uint8_t mac[6]);

/* A random locally administered unicast MAC. */
int sl_random_mac(uint8_t mac[6]);

#endif /* SL_CNI_LINK_H */

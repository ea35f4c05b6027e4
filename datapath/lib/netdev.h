/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's own interfaces (the one holding its InternalIP, or those the
 * agent is told): Services reached from outside the node. sl_from_netdev
 * (tc ingress) translates packets to NodePorts, external IPs and
 * load-balancer IPs; sl_to_netdev (tc egress) translates their replies
 * back as they leave (see SL_CT_F_OUTSIDE for why not at the backend's
 * veth).
 *
 * A packet from another node for a pod of this node goes straight into
 * the pod, judged as the pod's veth would judge it (lib/host_route.h,
 * lxc_from_node()), unless the agent chose the host stack's routing.
 * Everything else is the host's: passed untouched, malformed or not, for
 * the stack to judge. These programs never drop host traffic they do not
 * understand.
 */
#ifndef SL_LIB_NETDEV_H
#define SL_LIB_NETDEV_H

#include "common.h"
#include "drop.h"
#include "ipv4.h"
#include "l4.h"
#include "lb.h"
#include "icmp.h"
#include "reject.h"
#include "lxc.h"

#include <sluice/mark.h>

static __always_inline struct iphdr *netdev_ipv4(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	return ipv4_validate(skb, &ip) < 0 ? NULL : ip;
}

static __always_inline struct sl_verdict netdev_from_outside(struct __sk_buff *skb)
{
	struct iphdr *ip = netdev_ipv4(skb);
	struct l4_tuple t;
	int ret;

	if (!ip || l4_parse(skb, ip, &t) < 0)
		return sl_pass(TC_ACT_OK, SL_FROM_NETDEV);
	if (!t.ports) {
		/* An error about a reply sent out: to its backend. */
		ret = lb4_icmp_error(skb, ip, &t, SL_DIR_INGRESS,
				     ICMP_XLATE_TO_BACKEND, true);
		return ret < 0 ? sl_drop(-ret) :
				 sl_pass(TC_ACT_OK, SL_FROM_NETDEV);
	}
	ret = lb4_to_service(skb, &t, true);
	/* A backend on another node answers the client directly unless
	 * this node takes the connection over: the mark has the node's
	 * netfilter SNAT it (agent/nat.h), and its replies come back here
	 * to be translated back (sl_to_netdev). */
	if (ret > 0 && !lookup_endpoint4(t.daddr)) {
		__u32 mark = (skb->mark & ~SL_MARK_MASK) | SL_MARK_SNAT_TO_NODE;

		/* Opaque to clang, which would store the one byte that
		 * changes: the verifier takes only 4-byte mark writes. */
		asm volatile("" : "+r"(mark));
		skb->mark = mark;
	}
	if (ret == 0 && host_route_on(config_get())) {
		/* From another node to a pod of this one: past the stack,
		 * as lib/host_route.h sent it. */
		struct sl_endpoint *dst = lookup_endpoint4(t.daddr);

		if (dst)
			return lxc_from_node(skb, ip, dst, 0, SL_FROM_NETDEV);
	}
	if (ret >= 0)
		/* Translated or not, the stack routes it: to a pod's veth
		 * (a /32 route per pod), to another node, or to a local
		 * socket. */
		return sl_pass(TC_ACT_OK, SL_FROM_NETDEV);
	if (ret != -SL_NO_SERVICE_BACKEND)
		return sl_drop(-ret);
	/* No endpoint anywhere: refused back out of this interface. */
	sl_send_drop_event(skb, SL_NO_SERVICE_BACKEND, SL_DIR_INGRESS);
	ip = netdev_ipv4(skb);
	if (!ip || reject4(skb, ip) < 0)
		return sl_pass(TC_ACT_SHOT, SL_NO_SERVICE_BACKEND);
	return sl_pass(bpf_redirect(skb->ifindex, 0), SL_NO_SERVICE_BACKEND);
}

static __always_inline struct sl_verdict netdev_to_outside(struct __sk_buff *skb)
{
	struct iphdr *ip = netdev_ipv4(skb);
	struct l4_tuple t;
	int ret;

	if (!ip || l4_parse(skb, ip, &t) < 0)
		return sl_pass(TC_ACT_OK, SL_TO_NETDEV);
	if (!t.ports)
		/* A backend's error about its client's packet: from the
		 * frontend. */
		ret = lb4_icmp_error(skb, ip, &t, SL_DIR_EGRESS,
				     ICMP_XLATE_TO_CLIENT, true);
	else
		ret = lb4_from_backend(skb, &t, SL_DIR_EGRESS, 0, true);
	if (ret < 0)
		return sl_drop(-ret);
	return sl_pass(TC_ACT_OK, SL_TO_NETDEV);
}

#endif /* SL_LIB_NETDEV_H */

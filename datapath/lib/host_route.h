/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pods of other nodes, routed by the datapath (eBPF host routing). Left
 * to the host stack, a packet from a pod to another node's pod is
 * received a second time on the node (ip_rcv, the routing decision,
 * ip_forward, netfilter's hooks, the neighbour layer) before it leaves;
 * and on the receiving node again before the pod's veth queues it. That
 * is most of what separates a pod's round trip from the underlay's.
 *
 * So sl_from_pod asks the kernel's FIB where a packet for another node's
 * pod CIDR goes (the agent's route: the node's InternalIP, or the overlay
 * device, whose sl_to_overlay then finds the far end) and hands it
 * straight to that device as a router hop would: TTL down, MACs of the
 * resolved neighbour. The receiving node's
 * sl_from_netdev, or sl_from_overlay, judges it as the pod's veth would
 * have and redirects it into the pod (lxc_from_node()).
 *
 * Only pod CIDRs of other nodes (sl_tunnel) go this way: pod-to-pod
 * traffic is never masqueraded, so the netfilter rules the stack would
 * have applied (agent/nat.h) have nothing to do with it. Everything else,
 * and anything the FIB will not settle alone (no neighbour entry yet, a
 * packet too big for the device, a TTL running out, an unreachable
 * route), goes to the stack as before, which resolves, fragments or
 * answers with ICMP; the next packet finds the neighbour resolved.
 * SL_CFG_F_STACK_ROUTING turns all of it off.
 */
#ifndef SL_LIB_HOST_ROUTE_H
#define SL_LIB_HOST_ROUTE_H

#include "common.h"
#include "maps.h"
#include "eth.h"
#include "ipv4.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* Whether the datapath routes between nodes itself (the agent's choice). */
static __always_inline bool host_route_on(const struct sl_config *cfg)
{
	return !cfg || !(cfg->flags & SL_CFG_F_STACK_ROUTING);
}

/*
 * A packet of a settled connection, leaving a pod of this node for
 * another node's pod CIDR: out of the device the FIB names, or to the
 * host stack (SL_TO_STACK) when it is not that case or the FIB cannot
 * settle it.
 */
static __always_inline struct sl_verdict route_to_node(struct __sk_buff *skb,
						       struct iphdr *ip)
{
	struct sl_tunnel_key k = { .prefixlen = 32, .ip4 = ip->daddr };
	struct sl_config *cfg = config_get();
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;

	if (!host_route_on(cfg) || ip->ttl <= 1 ||
	    !bpf_map_lookup_elem(&sl_tunnel, &k))
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	/* No tot_len: the kernel then checks the MTU against the skb,
	 * which knows a GSO packet's segments are what goes out. */
	fib.ifindex = skb->ifindex;
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) !=
	    BPF_FIB_LKUP_RET_SUCCESS)
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return sl_drop(SL_SHORT_FRAME);
	ipv4_dec_ttl(ip);
	eth_set_macs(eth, fib.dmac, fib.smac);
	return sl_pass(bpf_redirect(fib.ifindex, 0), SL_TO_NODE);
}

#endif /* SL_LIB_HOST_ROUTE_H */

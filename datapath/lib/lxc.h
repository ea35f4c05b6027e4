/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pod veth: what happens to a packet leaving a pod (sl_from_pod, tc
 * ingress of the host-side veth) and to a packet the host stack sends to a
 * pod (sl_to_pod, tc egress of the host-side veth).
 */
#ifndef SL_LIB_LXC_H
#define SL_LIB_LXC_H

#include "common.h"
#include "maps.h"
#include "eth.h"
#include "ipv4.h"
#include "l4.h"
#include "lb.h"
#include "icmp.h"
#include "reject.h"

static __always_inline struct sl_endpoint *lookup_endpoint4(__be32 ip4)
{
	struct sl_endpoint_key key = { .ip4 = ip4 };

	return bpf_map_lookup_elem(&sl_endpoints, &key);
}

/*
 * A pod may only send from its own address: the endpoint that owns the
 * source IP must sit behind the veth the packet arrived on.
 */
/*
 * Services: a packet to a frontend goes to its backend, a backend's reply
 * comes back from the frontend, and an ICMP error about either is
 * translated the same way (icmp.h). Returns 1 when the packet was
 * rewritten (its header pointers are then stale), 0 when untouched, or a
 * negated drop reason.
 */
static __always_inline int lxc_ipv4_services(struct __sk_buff *skb,
					     struct iphdr *ip, __u8 dir)
{
	struct l4_tuple t;
	__u32 now;
	int ret;

	ret = l4_parse(skb, ip, &t);
	if (ret < 0)
		return ret;
	if (!t.ports) {
		/* An ICMP error, looked up the ways the connections are
		 * below: toward a backend (as lb4_to_service) leaving a
		 * pod only, toward a client (as lb4_from_backend) both. */
		__u32 ways = ICMP_XLATE_TO_CLIENT;

		if (dir == SL_DIR_EGRESS)
			ways |= ICMP_XLATE_TO_BACKEND;
		return lb4_icmp_error(skb, ip, &t, dir, ways, false);
	}
	now = ct_now();
	if (dir == SL_DIR_EGRESS) {
		ret = lb4_to_service(skb, &t, now, false);
		if (ret)
			return ret;
	}
	return lb4_from_backend(skb, &t, dir, now, false);
}

/*
 * A Service without endpoints: the client gets a reset or an ICMP port
 * unreachable back through its veth, never a silent timeout. The drop
 * event shows the request as it came; the counter counts it once.
 */
static __always_inline struct sl_verdict lxc_reject(struct __sk_buff *skb,
						    struct iphdr *ip)
{
	sl_send_drop_event(skb, SL_NO_SERVICE_BACKEND, SL_DIR_EGRESS);
	if (reject4(skb, ip) < 0)
		return sl_pass(TC_ACT_SHOT, SL_NO_SERVICE_BACKEND);
	return sl_pass(bpf_redirect(skb->ifindex, 0), SL_NO_SERVICE_BACKEND);
}

static __always_inline struct sl_verdict lxc_ipv4_from_pod(struct __sk_buff *skb)
{
	struct sl_endpoint *src, *dst;
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = ipv4_validate(skb, &ip);
	if (ret < 0)
		return sl_drop(-ret);

	src = lookup_endpoint4(ip->saddr);
	if (!src || src->ifindex != skb->ifindex)
		return sl_drop(SL_SPOOFED_SOURCE);

	ret = lxc_ipv4_services(skb, ip, SL_DIR_EGRESS);
	if (ret == -SL_NO_SERVICE_BACKEND)
		return lxc_reject(skb, ip);
	if (ret < 0)
		return sl_drop(-ret);
	if (ret > 0 && ipv4_validate(skb, &ip) < 0)
		return sl_drop(SL_REWRITE_FAILED);

	dst = lookup_endpoint4(ip->daddr);
	if (!dst)
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	/* The kernel answers an expiring TTL with ICMP time exceeded. */
	if (ip->ttl <= 1)
		return sl_pass(TC_ACT_OK, SL_TO_STACK);

	/* ipv4_validate() may have pulled data: the header is at data. */
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return sl_drop(SL_SHORT_FRAME);
	ipv4_dec_ttl(ip);
	eth_set_macs(eth, dst->pod_mac, dst->host_mac);
	/* Straight into the peer's netns: no host stack, no backlog queue. */
	return sl_pass(bpf_redirect_peer(dst->ifindex, 0), SL_REDIRECT_PEER);
}

static __always_inline struct sl_verdict lxc_from_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	/* Unreachable from a veth; the verifier needs the bound. */
	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return lxc_ipv4_from_pod(skb);
	case bpf_htons(ETH_P_ARP):
		/* The pod has a static neighbour for its gateway; an ARP
		 * still reaching us is the kernel's to answer or ignore. */
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	default:
		return sl_drop(SL_UNSUPPORTED_L3);
	}
}

static __always_inline struct sl_verdict lxc_to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		ret = ipv4_validate(skb, &ip);
		if (ret < 0)
			return sl_drop(-ret);
		/* Replies from backends the stack reached (host network,
		 * other nodes) to a client in this pod. */
		ret = lxc_ipv4_services(skb, ip, SL_DIR_INGRESS);
		if (ret < 0)
			return sl_drop(-ret);
		return sl_pass(TC_ACT_OK, SL_TO_POD);
	case bpf_htons(ETH_P_ARP):
		return sl_pass(TC_ACT_OK, SL_TO_POD);
	default:
		return sl_drop(SL_UNSUPPORTED_L3);
	}
}

#endif /* SL_LIB_LXC_H */

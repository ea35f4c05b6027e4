// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The floor of crossnode.sh: a pod's packets carried to another node's pod
 * with the primitives sluice's host routing uses (datapath/lib/host_route.h,
 * lxc_to_peer()), and nothing else. No conntrack, policy, service
 * translation, counters or events: what is left is the cost of the hooks,
 * the FIB lookup and the redirects themselves, which sluice pays too.
 *
 *   fl_from_pod     tc ingress of the pod's host veth: the FIB names the
 *                   way out (the other node's pod CIDR via its underlay
 *                   address, on eth0); TTL down, the neighbour's MACs, and
 *                   bpf_redirect() to that device.
 *   fl_from_pod_neigh  instead of fl_from_pod (crossnode.sh's floor_neigh):
 *                   the next hop known in advance, no FIB lookup. A
 *                   packet for the other node's pod CIDR gets its TTL down
 *                   and bpf_redirect_neigh() to eth0 via that node's
 *                   underlay address (the neighbour table fills the MACs).
 *   fl_from_netdev  tc ingress of the node's eth0: a packet for the pod
 *                   gets its TTL down and bpf_redirect_peer() straight
 *                   into the pod, past the host veth.
 *
 * Anything else (ARP, other addresses, a FIB miss) goes to the stack,
 * which crossnode.sh checks does not forward a packet of the traffic it
 * measures. tc (iproute2's libbpf loader) loads it, so the node's facts
 * are compile-time constants, one object per node:
 *
 *   clang -O2 -target bpf -I/usr/include/x86_64-linux-gnu \
 *         -DFLOOR_POD_IP=0x0af4090a -DFLOOR_POD_IFINDEX=5 \
 *         -DFLOOR_OTHER_NET=0x0af40a00 -DFLOOR_NEXTHOP=0xc0a84d0a \
 *         -DFLOOR_ETH0_IFINDEX=2 -c floor.bpf.c
 *
 * FLOOR_POD_IP: the node's pod address, host byte order; FLOOR_POD_IFINDEX:
 * its host veth (bpf_redirect_peer() crosses to that veth's peer). For
 * fl_from_pod_neigh only, also in host byte order: FLOOR_OTHER_NET, the
 * other node's pod CIDR (a /24), FLOOR_NEXTHOP, that node's underlay
 * address; FLOOR_ETH0_IFINDEX: this node's eth0.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#if !defined(FLOOR_POD_IP) || !defined(FLOOR_POD_IFINDEX)
#error "FLOOR_POD_IP and FLOOR_POD_IFINDEX must be defined (-D)"
#endif
#if !defined(FLOOR_OTHER_NET) || !defined(FLOOR_NEXTHOP) || \
	!defined(FLOOR_ETH0_IFINDEX)
#error "FLOOR_OTHER_NET, FLOOR_NEXTHOP and FLOOR_ETH0_IFINDEX must be defined (-D)"
#endif

#define AF_INET 2

/* The IPv4 header of an IPv4 frame (its Ethernet header in *eth), NULL
 * for anything else. */
static __always_inline struct iphdr *ipv4_of(struct __sk_buff *skb,
					     struct ethhdr **eth)
{
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip;

	*eth = (void *)(long)skb->data;
	ip = (void *)(*eth + 1);
	if ((void *)(ip + 1) > end || (*eth)->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	return ip;
}

/* TTL down with the kernel's incremental checksum update
 * (ip_decrease_ttl()): TTL is the high byte of its checksum word. */
static __always_inline void dec_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

SEC("tc/from_pod")
int fl_from_pod(struct __sk_buff *skb)
{
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	struct iphdr *ip = ipv4_of(skb, &eth);

	if (!ip || ip->ttl <= 1)
		return TC_ACT_OK;
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	fib.ifindex = skb->ifindex;
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) !=
	    BPF_FIB_LKUP_RET_SUCCESS)
		return TC_ACT_OK;
	dec_ttl(ip);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("tc/from_pod_neigh")
int fl_from_pod_neigh(struct __sk_buff *skb)
{
	struct bpf_redir_neigh nh = {
		.nh_family = AF_INET,
		.ipv4_nh = bpf_htonl(FLOOR_NEXTHOP),
	};
	struct ethhdr *eth;
	struct iphdr *ip = ipv4_of(skb, &eth);

	if (!ip || (ip->daddr & bpf_htonl(0xffffff00)) !=
		       bpf_htonl(FLOOR_OTHER_NET) || ip->ttl <= 1)
		return TC_ACT_OK;
	dec_ttl(ip);
	return bpf_redirect_neigh(FLOOR_ETH0_IFINDEX, &nh, sizeof(nh), 0);
}

SEC("tc/from_netdev")
int fl_from_netdev(struct __sk_buff *skb)
{
	struct ethhdr *eth;
	struct iphdr *ip = ipv4_of(skb, &eth);

	if (!ip || ip->daddr != bpf_htonl(FLOOR_POD_IP) || ip->ttl <= 1)
		return TC_ACT_OK;
	dec_ttl(ip);
	return bpf_redirect_peer(FLOOR_POD_IFINDEX, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

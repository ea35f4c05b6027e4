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
 *         -DFLOOR_POD_IP=0x0af40901 -DFLOOR_POD_IFINDEX=5 -c floor.bpf.c
 *
 * FLOOR_POD_IP: the node's pod address, host byte order; FLOOR_POD_IFINDEX:
 * its host veth (bpf_redirect_peer() crosses to that veth's peer).
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

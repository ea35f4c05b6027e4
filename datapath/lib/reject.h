/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Refusing a connection the way kube-proxy's REJECT rule does, so that a
 * client of a Service without endpoints fails at once instead of timing
 * out: a TCP segment is answered with a reset, anything else (UDP) with an
 * ICMP port unreachable, sent back out of the veth it came in on, from the
 * address the client asked for.
 *
 * The packet itself becomes the answer: resized with bpf_skb_change_tail()
 * and rewritten whole after its Ethernet header, so no header of the
 * request (options, payload) survives into the reply.
 */
#ifndef SL_LIB_REJECT_H
#define SL_LIB_REJECT_H

#include "common.h"
#include "conntrack.h" /* TCP_FL_* */
#include "l4.h"

/* Not <linux/icmp.h>: it pulls libc headers into the BPF build. */
#define ICMP_PORT_UNREACH 3

struct icmp_err_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 unused;
};

#define REJECT_TTL 64
/* An ICMP error quotes the offending IP header and 8 bytes after it. */
#define ICMP_QUOTE (sizeof(struct iphdr) + 8)

struct reject_tcp {
	struct iphdr ip;
	struct tcphdr tcp;
};

struct reject_icmp {
	struct iphdr ip;
	struct icmp_err_hdr icmp;
	__u8 quote[ICMP_QUOTE];
};

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void reject_ip(struct iphdr *ip, __be32 saddr,
				      __be32 daddr, __u8 proto, __u16 tot_len)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = REJECT_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold32((__u32)bpf_csum_diff(NULL, 0, (__be32 *)ip,
						     sizeof(*ip), 0));
}

/* Swap the MACs: the answer goes back to the pod from its gateway. */
static __always_inline int reject_eth(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return -SL_REWRITE_FAILED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return 0;
}

/*
 * The reset RFC 793 prescribes for a segment to a closed port: for one
 * carrying an ACK, seq = its ack and no ACK; otherwise seq 0 and an ACK of
 * everything it occupied (SYN and FIN count one each).
 */
static __always_inline int reject_tcp(struct __sk_buff *skb,
				      const struct l4_tuple *t, struct iphdr *ip)
{
	struct reject_tcp r = {};
	struct {
		__be32 saddr, daddr;
		__u8 zero, proto;
		__be16 len;
	} pseudo = { .saddr = t->daddr, .daddr = t->saddr,
		     .proto = IPPROTO_TCP, .len = bpf_htons(sizeof(r.tcp)) };
	struct l4_head h;
	__u32 seg_len, sum;

	if (bpf_skb_load_bytes(skb, t->l4_off, &h, sizeof(h)) < 0)
		return -SL_INVALID_L4;
	if (h.flags & TCP_FL_RST)
		return -SL_NO_SERVICE_BACKEND; /* never answer a reset */
	seg_len = bpf_ntohs(ip->tot_len) - (t->l4_off - ETH_HLEN) -
		  (__u32)(h.doff >> 4) * 4;
	r.tcp.source = t->dport;
	r.tcp.dest = t->sport;
	r.tcp.doff = sizeof(r.tcp) / 4;
	r.tcp.rst = 1;
	if (h.flags & TCP_FL_ACK) {
		r.tcp.seq = h.ack;
	} else {
		seg_len += !!(h.flags & TCP_FL_SYN) + !!(h.flags & TCP_FL_FIN);
		r.tcp.ack_seq = bpf_htonl(bpf_ntohl(h.seq) + seg_len);
		r.tcp.ack = 1;
	}
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&r.tcp, sizeof(r.tcp), sum);
	r.tcp.check = csum_fold32(sum);
	reject_ip(&r.ip, t->daddr, t->saddr, IPPROTO_TCP, sizeof(r));

	if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(r), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &r, sizeof(r), 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

static __always_inline int reject_icmp(struct __sk_buff *skb,
				       const struct l4_tuple *t)
{
	struct reject_icmp r = {};

	/* The quote: the request's IP header (options left out, as the
	 * quote has no room for them) and its first 8 bytes of L4. */
	if (bpf_skb_load_bytes(skb, ETH_HLEN, r.quote, sizeof(struct iphdr)) < 0 ||
	    bpf_skb_load_bytes(skb, t->l4_off, r.quote + sizeof(struct iphdr),
			       8) < 0)
		return -SL_INVALID_L4;
	r.icmp.type = ICMP_DEST_UNREACH;
	r.icmp.code = ICMP_PORT_UNREACH;
	r.icmp.checksum = csum_fold32((__u32)bpf_csum_diff(
		NULL, 0, (__be32 *)&r.icmp, sizeof(r.icmp) + sizeof(r.quote), 0));
	reject_ip(&r.ip, t->daddr, t->saddr, IPPROTO_ICMP, sizeof(r));

	if (bpf_skb_change_tail(skb, ETH_HLEN + sizeof(r), 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &r, sizeof(r), 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

/**
 * reject4 - answer a packet for a Service without endpoints
 * @skb: the packet, from a pod; it becomes the answer
 * @ip: its validated IPv4 header (stale afterwards)
 *
 * Returns 0 with the answer ready to go back out of skb->ifindex, or a
 * negated drop reason when the packet is dropped instead (a reset, a
 * fragment, a GSO packet the kernel cannot shrink).
 */
static __always_inline int reject4(struct __sk_buff *skb, struct iphdr *ip)
{
	struct l4_tuple t;
	int ret;

	ret = l4_parse(skb, ip, &t);
	if (ret < 0)
		return ret;
	if (!t.ports)
		return -SL_NO_SERVICE_BACKEND;
	ret = t.proto == IPPROTO_TCP ? reject_tcp(skb, &t, ip) :
				       reject_icmp(skb, &t);
	if (ret < 0)
		return ret;
	return reject_eth(skb);
}

#endif /* SL_LIB_REJECT_H */

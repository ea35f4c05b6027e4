/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The 5-tuple of an IPv4 packet, and rewriting it (NAT). */
#ifndef SL_LIB_L4_H
#define SL_LIB_L4_H

#include "common.h"

#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#define IP_OFF_CHECK (ETH_HLEN + SL_OFFSETOF(struct iphdr, check))
#define IP_OFF_SADDR (ETH_HLEN + SL_OFFSETOF(struct iphdr, saddr))
#define IP_OFF_DADDR (ETH_HLEN + SL_OFFSETOF(struct iphdr, daddr))
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct l4_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags; /* TCP only: FIN SYN RST PSH ACK URG … of this packet */
	__u8 ports;     /* TCP or UDP with its header present */
	__u8 icmp_err;  /* ICMP, an error about another packet */
	__u8 frag;      /* a fragment after the first: no L4 header */
	__u32 l4_off;   /* from the start of the frame */
};

/* The first 14 bytes of a TCP header: ports, seq, ack, offset and flags. */
struct l4_head {
	__be16 sport;
	__be16 dport;
	__be32 seq;
	__be32 ack;
	__u8 doff;
	__u8 flags;
};

/* ICMP types: not <linux/icmp.h>, it pulls libc headers into the BPF
 * build. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

/* SCTP's ports and ICMP's type and echo identifier (see l4_parse). A
 * header cut short leaves them zero: these protocols are never rewritten,
 * so nothing depends on more. */
static __always_inline int l4_parse_ids(struct __sk_buff *skb,
					const struct iphdr *ip,
					struct l4_tuple *t)
{
	__u8 h[6]; /* SCTP: ports; ICMP: type, code, checksum, identifier */

	if ((ip->protocol != IPPROTO_SCTP && ip->protocol != IPPROTO_ICMP) ||
	    t->l4_off + sizeof(h) > ETH_HLEN + (__u32)bpf_ntohs(ip->tot_len) ||
	    bpf_skb_load_bytes(skb, t->l4_off, h, sizeof(h)) < 0)
		return 0;
	if (ip->protocol == IPPROTO_SCTP) {
		__builtin_memcpy(&t->sport, &h[0], 2);
		__builtin_memcpy(&t->dport, &h[2], 2);
	} else if (h[0] == ICMP_ECHO || h[0] == ICMP_ECHOREPLY) {
		__builtin_memcpy(&t->sport, &h[4], 2);
		t->dport = t->sport;
	} else {
		t->icmp_err = h[0] == ICMP_DEST_UNREACH ||
			      h[0] == ICMP_TIME_EXCEEDED ||
			      h[0] == ICMP_PARAMETERPROB;
	}
	return 0;
}

/**
 * l4_parse - the tuple of a validated IPv4 packet
 * @skb: the packet
 * @ip: its validated header (ipv4_validate)
 * @t: filled; t->ports says whether there are ports to translate
 *
 * Only TCP and UDP have ports to translate (t->ports). SCTP's ports are
 * read for conntrack and policy but never rewritten (its CRC32c checksum
 * cannot be patched incrementally); an ICMP echo's identifier stands in
 * both ports, so conntrack tells pings apart and pairs replies with
 * requests. Non-first fragments and other protocols have none. Returns 0
 * or -SL_INVALID_L4 for a TCP or UDP header cut short.
 */
static __always_inline int l4_parse(struct __sk_buff *skb, struct iphdr *ip,
				    struct l4_tuple *t)
{
	struct l4_head h;
	__u32 need;

	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = ip->protocol;
	t->sport = t->dport = 0;
	t->tcp_flags = 0;
	t->ports = 0;
	t->icmp_err = 0;
	t->frag = 0;
	t->l4_off = ETH_HLEN + (__u32)ip->ihl * 4;
	if (ip->frag_off & bpf_htons(IP_OFFSET)) {
		t->frag = 1;
		return 0;
	}
	if (ip->protocol == IPPROTO_TCP)
		need = sizeof(h);
	else if (ip->protocol == IPPROTO_UDP)
		need = sizeof(struct udphdr);
	else
		return l4_parse_ids(skb, ip, t);
	/* The header must be in the datagram, not in Ethernet padding after
	 * it (ipv4_validate() bounded tot_len by the frame). */
	if (t->l4_off + need > ETH_HLEN + (__u32)bpf_ntohs(ip->tot_len))
		return -SL_INVALID_L4;
	t->ports = 1;
	/* Without options (nearly always), read in place: no helper call on
	 * the path every pod packet takes. */
	if (ip->ihl == 5) {
		struct l4_head *p = (void *)(ip + 1);

		if ((void *)p + sizeof(*p) <= (void *)(long)skb->data_end) {
			t->sport = p->sport;
			t->dport = p->dport;
			if (ip->protocol == IPPROTO_TCP)
				t->tcp_flags = p->flags;
			return 0;
		}
	}
	/* Options make an offset the verifier cannot bound for direct
	 * access; a short linear area needs the copy too. */
	if (bpf_skb_load_bytes(skb, t->l4_off, &h, need) < 0)
		return -SL_INVALID_L4;
	t->sport = h.sport;
	t->dport = h.dport;
	if (ip->protocol == IPPROTO_TCP)
		t->tcp_flags = h.flags;
	return 0;
}

static __always_inline __u32 l4_csum_off(const struct l4_tuple *t)
{
	return t->l4_off + (t->proto == IPPROTO_TCP ?
			    SL_OFFSETOF(struct tcphdr, check) :
			    SL_OFFSETOF(struct udphdr, check));
}

/* A zero UDP checksum means "none" and must stay zero. */
static __always_inline __u64 l4_csum_flags(const struct l4_tuple *t)
{
	return t->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Replace one address: IP header checksum, the L4 pseudo-header sum, the
 * field. The helpers handle every ip_summed state (CHECKSUM_PARTIAL from a
 * pod's veth included). */
static __always_inline int nat_addr(struct __sk_buff *skb,
				    const struct l4_tuple *t, __u32 off,
				    __be32 from, __be32 to)
{
	if (from == to)
		return 0;
	if (t->ports &&
	    bpf_l4_csum_replace(skb, l4_csum_off(t), from, to,
				BPF_F_PSEUDO_HDR | sizeof(to) | l4_csum_flags(t)) < 0)
		return -SL_REWRITE_FAILED;
	if (bpf_l3_csum_replace(skb, IP_OFF_CHECK, from, to, sizeof(to)) < 0 ||
	    bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

static __always_inline int nat_port(struct __sk_buff *skb,
				    const struct l4_tuple *t, __u32 off,
				    __be16 from, __be16 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, l4_csum_off(t), from, to,
				sizeof(to) | l4_csum_flags(t)) < 0 ||
	    bpf_skb_store_bytes(skb, t->l4_off + off, &to, sizeof(to), 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

/**
 * l4_nat - rewrite a packet's tuple
 * @skb: the packet; every packet pointer is stale afterwards
 * @t: its current tuple, updated to the new one
 * @saddr: new source address, 0 to keep (likewise the others)
 *
 * Returns 0 or -SL_REWRITE_FAILED.
 */
static __always_inline int l4_nat(struct __sk_buff *skb, struct l4_tuple *t,
				  __be32 saddr, __be16 sport, __be32 daddr,
				  __be16 dport)
{
	int ret = 0;

	if (saddr) {
		ret = nat_addr(skb, t, IP_OFF_SADDR, t->saddr, saddr);
		t->saddr = saddr;
	}
	if (!ret && daddr) {
		ret = nat_addr(skb, t, IP_OFF_DADDR, t->daddr, daddr);
		t->daddr = daddr;
	}
	if (!ret && sport && t->ports) {
		ret = nat_port(skb, t, 0, t->sport, sport);
		t->sport = sport;
	}
	if (!ret && dport && t->ports) {
		ret = nat_port(skb, t, 2, t->dport, dport);
		t->dport = dport;
	}
	return ret;
}

#endif /* SL_LIB_L4_H */

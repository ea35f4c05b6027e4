// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "pktgen.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Wire layouts spelled out here rather than taken from <linux/ipv6.h> and
 * <linux/if_arp.h>, which clash with the libc headers the runner needs
 * (TCP and UDP are in pktgen.h, for the tests to read).
 */
struct pg_icmphdr {
	__u8 type, code;
	__be16 check, id, seq;
};

struct pg_ipv6hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr, hop_limit;
	__u8 saddr[16], daddr[16];
};

struct pg_arp_eth_ipv4 {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 oper;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

_Static_assert(sizeof(struct pkt_tcphdr) == 20, "TCP header size");
_Static_assert(sizeof(struct pkt_udphdr) == 8, "UDP header size");
_Static_assert(sizeof(struct pg_icmphdr) == 8, "ICMP header size");
_Static_assert(sizeof(struct pg_ipv6hdr) == 40, "IPv6 header size");
_Static_assert(sizeof(struct pg_arp_eth_ipv4) == 28, "ARP body size");

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

void *pkt_put(struct pkt *p, size_t len)
{
	void *at;

	/* A test that outgrows the buffer is a bug in the test: stop. */
	if (len > PKT_MAX - p->len) {
		fprintf(stderr, "pktgen: frame exceeds %d bytes\n", PKT_MAX);
		abort();
	}
	at = p->data + p->len;
	memset(at, 0, len);
	p->len += len;
	return at;
}

void pkt_put_eth(struct pkt *p, const __u8 *dst, const __u8 *src,
		 __u16 proto)
{
	struct ethhdr *eth = pkt_put(p, sizeof(*eth));

	memcpy(eth->h_dest, dst, ETH_ALEN);
	memcpy(eth->h_source, src, ETH_ALEN);
	eth->h_proto = htons(proto);
}

struct iphdr *pkt_put_ipv4(struct pkt *p, __u32 saddr, __u32 daddr,
			   __u8 proto, __u8 ttl, size_t opt_len)
{
	struct iphdr *ip;
	__u8 *opt;

	p->l3_off = p->len;
	ip = pkt_put(p, sizeof(*ip));
	ip->version = 4;
	ip->ihl = (sizeof(*ip) + opt_len) / 4;
	ip->id = htons(0x5a5a);
	ip->ttl = ttl;
	ip->protocol = proto;
	ip->saddr = htonl(saddr);
	ip->daddr = htonl(daddr);
	if (opt_len) {
		opt = pkt_put(p, opt_len);
		/* NOPs, then End of Option List (zero) in the last byte. */
		memset(opt, 1, opt_len - 1);
	}
	return ip;
}

void pkt_put_tcp(struct pkt *p, __u16 sport, __u16 dport)
{
	struct pkt_tcphdr *tcp = pkt_put(p, sizeof(*tcp));

	tcp->source = htons(sport);
	tcp->dest = htons(dport);
	tcp->seq = htonl(1);
	tcp->doff_res = (sizeof(*tcp) / 4) << 4;
	tcp->flags = PKT_TCP_PSH | PKT_TCP_ACK; /* an established flow's data */
	tcp->window = htons(65535);
}

void pkt_put_udp(struct pkt *p, __u16 sport, __u16 dport)
{
	struct pkt_udphdr *udp = pkt_put(p, sizeof(*udp));

	udp->source = htons(sport);
	udp->dest = htons(dport);
	/* Length fixed by pkt_ipv4_finish(), which knows the payload. */
}

void pkt_put_icmp_echo(struct pkt *p, __u16 id, __u16 seq)
{
	struct pg_icmphdr *icmp = pkt_put(p, sizeof(*icmp));

	icmp->type = 8; /* echo request */
	icmp->id = htons(id);
	icmp->seq = htons(seq);
}

void pkt_put_icmp_error(struct pkt *p, __u8 type, __u8 code, __u32 rest,
			const struct pkt *orig, size_t quote_len)
{
	struct pg_icmphdr *icmp = pkt_put(p, sizeof(*icmp));
	__be32 r = htonl(rest);

	icmp->type = type;
	icmp->code = code;
	memcpy(&icmp->id, &r, sizeof(r)); /* id and seq: the "rest" word */
	memcpy(pkt_put(p, quote_len), orig->data + orig->l3_off, quote_len);
}

void pkt_put_payload(struct pkt *p, size_t len)
{
	__u8 *b = pkt_put(p, len);

	for (size_t i = 0; i < len; i++)
		b[i] = (__u8)(0xa0 + i);
}

struct iphdr *pkt_ipv4(const struct pkt *p)
{
	return p->l3_off ? (struct iphdr *)(p->data + p->l3_off) : NULL;
}

void pkt_ipv4_csum(struct pkt *p)
{
	struct iphdr *ip = pkt_ipv4(p);
	/* The header as built, whatever its ihl field now claims. */
	size_t hlen = sizeof(*ip);

	if (ip->ihl > 5 && p->l3_off + ip->ihl * 4u <= p->len)
		hlen = ip->ihl * 4u;
	ip->check = 0;
	ip->check = ipv4_csum(ip, hlen);
}

void pkt_ipv4_finish(struct pkt *p)
{
	struct iphdr *ip = pkt_ipv4(p);
	size_t hlen = ip->ihl * 4u;

	ip->tot_len = htons(p->len - p->l3_off);
	if (ip->protocol == IPPROTO_UDP &&
	    p->len - p->l3_off >= hlen + sizeof(struct pkt_udphdr) &&
	    !(ntohs(ip->frag_off) & PKT_IP_OFFSET)) {
		struct pkt_udphdr *udp = (void *)((__u8 *)ip + hlen);

		udp->len = htons(p->len - p->l3_off - hlen);
	}
	pkt_ipv4_csum(p);
}

void pkt_put_ipv6(struct pkt *p, __u8 next_hdr, __u16 payload_len)
{
	struct pg_ipv6hdr *ip6 = pkt_put(p, sizeof(*ip6));

	ip6->ver_tc_flow = htonl(6u << 28);
	ip6->payload_len = htons(payload_len);
	ip6->nexthdr = next_hdr;
	ip6->hop_limit = 64;
	/* fd00::a -> fd00::14, the pods' addresses had they IPv6 ones. */
	ip6->saddr[0] = ip6->daddr[0] = 0xfd;
	ip6->saddr[15] = 0x0a;
	ip6->daddr[15] = 0x14;
}

void pkt_put_arp_request(struct pkt *p, const __u8 *sha, __u32 spa,
			 __u32 tpa)
{
	struct pg_arp_eth_ipv4 *arp = pkt_put(p, sizeof(*arp));
	__be32 s = htonl(spa), t = htonl(tpa);

	arp->htype = htons(1); /* Ethernet */
	arp->ptype = htons(ETH_P_IP);
	arp->hlen = ETH_ALEN;
	arp->plen = 4;
	arp->oper = htons(1); /* request */
	memcpy(arp->sha, sha, ETH_ALEN);
	memcpy(arp->spa, &s, 4);
	memcpy(arp->tpa, &t, 4);
}

/* Add len bytes as big-endian 16-bit words; an odd last byte is padded
 * with a zero, as RFC 1071 says. */
static __u32 csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *b = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (i < len)
		sum += (__u32)b[i] << 8;
	return sum;
}

/* Fold the carries in, complement, and return it in network order. */
static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

__u16 ipv4_csum(const void *hdr, size_t len)
{
	return csum_fold(csum_add(0, hdr, len));
}

/* The segment's length from tot_len, when the frame holds it all. */
static size_t l4_len(const struct pkt *p, const struct iphdr *ip)
{
	size_t hlen = ip->ihl * 4u, tot = ntohs(ip->tot_len);

	if (tot < hlen || p->l3_off + tot > p->len)
		return 0;
	return tot - hlen;
}

void *pkt_l4(const struct pkt *p)
{
	const struct iphdr *ip = pkt_ipv4(p);
	size_t need;

	if (!ip || (ntohs(ip->frag_off) & PKT_IP_OFFSET))
		return NULL;
	if (ip->protocol == IPPROTO_TCP)
		need = sizeof(struct pkt_tcphdr);
	else if (ip->protocol == IPPROTO_UDP)
		need = sizeof(struct pkt_udphdr);
	else
		return NULL;
	if (l4_len(p, ip) < need)
		return NULL;
	return (__u8 *)ip + ip->ihl * 4u;
}

/* The pseudo-header's sum, unfolded. */
static __u32 pseudo_sum(const struct pkt *p)
{
	const struct iphdr *ip = pkt_ipv4(p);
	size_t len = l4_len(p, ip);
	__u8 pseudo[12];

	memcpy(pseudo, &ip->saddr, 4);
	memcpy(pseudo + 4, &ip->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = ip->protocol;
	pseudo[10] = len >> 8;
	pseudo[11] = len & 0xff;
	return csum_add(0, pseudo, sizeof(pseudo));
}

static __be16 *l4_check_field(const struct pkt *p)
{
	void *l4 = pkt_l4(p);

	if (!l4)
		return NULL;
	if (pkt_ipv4(p)->protocol == IPPROTO_TCP)
		return &((struct pkt_tcphdr *)l4)->check;
	return &((struct pkt_udphdr *)l4)->check;
}

/* The segment's sum, added to sum, folded and complemented. */
static __u16 l4_sum(const struct pkt *p, __u32 sum)
{
	const struct iphdr *ip = pkt_ipv4(p);

	return csum_fold(csum_add(sum, (__u8 *)ip + ip->ihl * 4u,
				  l4_len(p, ip)));
}

/* Store a computed checksum; UDP sends a zero as 0xffff. */
static void l4_store(const struct pkt *p, __be16 *check, __u16 sum)
{
	if (sum == 0 && pkt_ipv4(p)->protocol == IPPROTO_UDP)
		sum = 0xffff;
	*check = sum;
}

void pkt_l4_csum(struct pkt *p)
{
	__be16 *check = l4_check_field(p);
	__u16 sum;

	if (!check)
		return;
	*check = 0;
	sum = l4_sum(p, pseudo_sum(p));
	l4_store(p, check, sum);
}

void pkt_l4_csum_partial(struct pkt *p)
{
	__be16 *check = l4_check_field(p);

	if (check)
		*check = (__u16)~csum_fold(pseudo_sum(p));
}

void pkt_l4_csum_offload(struct pkt *p)
{
	__be16 *check = l4_check_field(p);

	if (check)
		l4_store(p, check, l4_sum(p, 0));
}

bool pkt_l4_csum_ok(const struct pkt *p)
{
	const __be16 *check = l4_check_field(p);

	if (!check)
		return false;
	if (*check == 0 && pkt_ipv4(p)->protocol == IPPROTO_UDP)
		return true;
	return l4_sum(p, pseudo_sum(p)) == 0;
}

/* The ICMP message of a frame: after the IPv4 header, to tot_len. */
static struct pg_icmphdr *icmp_msg(const struct pkt *p, size_t *len)
{
	const struct iphdr *ip = pkt_ipv4(p);

	if (!ip || ip->protocol != IPPROTO_ICMP ||
	    (ntohs(ip->frag_off) & PKT_IP_OFFSET))
		return NULL;
	*len = l4_len(p, ip);
	if (*len < sizeof(struct pg_icmphdr))
		return NULL;
	return (struct pg_icmphdr *)((__u8 *)ip + ip->ihl * 4u);
}

void pkt_icmp_csum(struct pkt *p)
{
	size_t len;
	struct pg_icmphdr *icmp = icmp_msg(p, &len);

	if (!icmp)
		return;
	icmp->check = 0;
	icmp->check = csum_fold(csum_add(0, icmp, len));
}

bool pkt_icmp_csum_ok(const struct pkt *p)
{
	size_t len;
	const struct pg_icmphdr *icmp = icmp_msg(p, &len);

	return icmp && csum_fold(csum_add(0, icmp, len)) == 0;
}

bool pkt_icmp_quote(const struct pkt *p, struct pkt *q)
{
	size_t len;
	const struct pg_icmphdr *icmp = icmp_msg(p, &len);

	pkt_init(q);
	if (!icmp || len < sizeof(*icmp) + sizeof(struct iphdr))
		return false;
	pkt_put(q, ETH_HLEN);
	q->l3_off = q->len;
	memcpy(pkt_put(q, len - sizeof(*icmp)), icmp + 1, len - sizeof(*icmp));
	return true;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about Service connections, translated like the connections
 * they are about (what Linux NAT does for RELATED packets, hence what
 * kube-proxy gives): destination unreachable (fragmentation needed
 * included), time exceeded and parameter problem. An error quotes the
 * packet it is about, IPv4 header and at least 8 bytes after it (RFC 792):
 * the quote is rewritten as the packet itself was, and the error's own
 * header as a packet of the connection going the same way.
 *
 * Two ways, found by the quote's tuple turned round (the error goes back
 * to whoever sent the quoted packet):
 *
 * - Toward the client (lb4_icmp_to_client): the quote is a client's packet
 *   as translated to its backend, the error comes from the backend's host
 *   (a UDP port unreachable) or a router or node on the way (time
 *   exceeded, fragmentation needed). The turned-round quote is the
 *   connection's REPLY key; the error must look like one from the
 *   frontend about the packet the client sent: outer source the frontend
 *   (whoever sent it, as Linux NAT does), quoted destination the frontend
 *   and its port, and for hairpin the client's own address again where
 *   169.254.42.1 stood. Checked where lb4_from_backend() runs: both veth
 *   programs, and the node's interfaces on the way out for connections
 *   from outside (SL_CT_F_OUTSIDE).
 *
 * - Toward the backend (lb4_icmp_to_backend): the quote is a backend's
 *   reply as translated back, and the error was raised on its way to the
 *   client: the client's host has no socket any more (a late UDP answer),
 *   or for a client outside the node a router between them needs a smaller
 *   MTU (path MTU discovery of a NodePort's backend). The turned-round
 *   quote is the OUT key; the error goes to the backend about the reply it
 *   sent. Checked where lb4_to_service() runs: a pod's egress, and the
 *   node's interfaces on the way in. Replies to a client on this node from
 *   a backend elsewhere cross the network untranslated, so an error about
 *   them on the way is already addressed to the backend, and needs
 *   nothing here.
 *
 * Anything else passes untouched: ICMP echo (a frontend does not answer
 * ping, as with kube-proxy's iptables mode), redirects and other types, a
 * fragment, a quote cut short or of another protocol than TCP and UDP,
 * errors about unknown or stale connections, and errors not addressed to
 * the quoted packet's sender (Linux' conntrack does not relate those
 * either). Options in the quoted header are kept and skipped. Of the
 * quoted transport checksum only UDP's is in the 8 bytes a quote is sure
 * to hold and is fixed; TCP's is left as it was even when the quote holds
 * it (no receiver checks a quote's transport checksum; Linux NAT would
 * fix it). An error does not refresh its connection's lifetime.
 */
#ifndef SL_LIB_ICMP_H
#define SL_LIB_ICMP_H

#include "common.h"
#include "maps.h"
#include "conntrack.h"
#include "drop.h"
#include "l4.h"
#include "reject.h" /* struct icmp_err_hdr, csum_fold32 */

/* Which ways lb4_icmp_error() looks: those of the hook's lb4_* calls. */
#define ICMP_XLATE_TO_BACKEND 0x1u
#define ICMP_XLATE_TO_CLIENT 0x2u

/* The first 8 bytes of the quoted TCP or UDP header: ports, then UDP's
 * length and checksum (TCP's sequence number). */
struct icmp_quote_l4 {
	__be16 sport;
	__be16 dport;
	__be16 udp_len;
	__sum16 udp_check;
};

/* An ICMP error's quote, as read from the packet (see icmp4_err_parse). */
struct icmp4_err {
	struct iphdr ip; /* its first 20 bytes; options stay in the packet */
	struct icmp_quote_l4 l4;
	__u32 ip_off; /* offsets from the start of the frame */
	__u32 l4_off;
	__u32 icmp_off;
};

/*
 * One's complement arithmetic on raw 16-bit words in memory order (the sum
 * is the same whichever the byte order, RFC 1071): what replacing from by
 * to adds to a sum, and a checksum field updated by such a sum (RFC 1624,
 * eqn. 3). Plain arithmetic rather than helpers: the quote is bytes on the
 * stack, not the packet's own checksummed headers.
 */
static __always_inline __u32 csum_repl16(__u32 sum, __u16 from, __u16 to)
{
	return sum + (__u16)~from + to;
}

static __always_inline __u32 csum_repl32(__u32 sum, __u32 from, __u32 to)
{
	sum = csum_repl16(sum, (__u16)(from >> 16), (__u16)(to >> 16));
	return csum_repl16(sum, (__u16)from, (__u16)to);
}

static __always_inline __u16 csum_apply(__u16 check, __u32 diff)
{
	return csum_fold32((__u16)~check + diff);
}

/**
 * icmp4_err_parse - read an ICMP error's quote
 * @skb: the packet
 * @ip: its validated IPv4 header
 * @t: its tuple (l4_parse), an ICMP one
 * @q: filled
 *
 * Returns 1 for an error this file translates, about a TCP or UDP packet
 * whose ports are in the quote, 0 for anything else. Never a drop: the
 * packet is the host's to judge.
 */
static __always_inline int icmp4_err_parse(struct __sk_buff *skb,
					   const struct iphdr *ip,
					   const struct l4_tuple *t,
					   struct icmp4_err *q)
{
	__u32 end = ETH_HLEN + (__u32)bpf_ntohs(ip->tot_len);
	struct icmp_err_hdr h;

	/* ICMP errors fit in 576 bytes: a fragment is no error of ours. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return 0;
	q->icmp_off = t->l4_off;
	q->ip_off = q->icmp_off + sizeof(h);
	/* Everything within the datagram, not in padding after it. */
	if (q->ip_off + sizeof(q->ip) > end ||
	    bpf_skb_load_bytes(skb, q->icmp_off, &h, sizeof(h)) < 0)
		return 0;
	if (h.type != ICMP_DEST_UNREACH && h.type != ICMP_TIME_EXCEEDED &&
	    h.type != ICMP_PARAMETERPROB)
		return 0;
	if (bpf_skb_load_bytes(skb, q->ip_off, &q->ip, sizeof(q->ip)) < 0)
		return 0;
	if (q->ip.version != 4 || q->ip.ihl < 5 ||
	    (q->ip.frag_off & bpf_htons(IP_OFFSET)) ||
	    (q->ip.protocol != IPPROTO_TCP && q->ip.protocol != IPPROTO_UDP))
		return 0;
	/* Options in the quote: its ports are further on, read by offset. */
	q->l4_off = q->ip_off + (__u32)q->ip.ihl * 4;
	if (q->l4_off + sizeof(q->l4) > end ||
	    bpf_skb_load_bytes(skb, q->l4_off, &q->l4, sizeof(q->l4)) < 0)
		return 0;
	return 1;
}

/*
 * Rewrite the quote: its addresses and ports (0 keeps), its IPv4 header
 * checksum, a UDP checksum (0, "none", stays 0; a 0 result is sent as
 * 0xffff), and the ICMP checksum, which covers all of them. The outer
 * header is the caller's. Returns 0 or -SL_REWRITE_FAILED.
 */
static __always_inline int icmp4_quote_nat(struct __sk_buff *skb,
					   struct icmp4_err *q, __be32 saddr,
					   __be16 sport, __be32 daddr,
					   __be16 dport)
{
	__u16 old_ip_check = q->ip.check, old_l4_check = q->l4.udp_check;
	__u32 addrs = 0, ports = 0, icmp;

	if (saddr) {
		addrs = csum_repl32(addrs, q->ip.saddr, saddr);
		q->ip.saddr = saddr;
	}
	if (daddr) {
		addrs = csum_repl32(addrs, q->ip.daddr, daddr);
		q->ip.daddr = daddr;
	}
	if (sport) {
		ports = csum_repl16(ports, q->l4.sport, sport);
		q->l4.sport = sport;
	}
	if (dport) {
		ports = csum_repl16(ports, q->l4.dport, dport);
		q->l4.dport = dport;
	}
	q->ip.check = csum_apply(old_ip_check, addrs);
	/* UDP's sum covers the addresses (pseudo-header) and the ports. */
	if (q->ip.protocol == IPPROTO_UDP && old_l4_check) {
		q->l4.udp_check = csum_apply(old_l4_check, addrs + ports);
		if (!q->l4.udp_check)
			q->l4.udp_check = 0xffff;
	}
	icmp = csum_repl16(addrs + ports, old_ip_check, q->ip.check);
	icmp = csum_repl16(icmp, old_l4_check, q->l4.udp_check);

	if (bpf_skb_store_bytes(skb, q->ip_off, &q->ip, sizeof(q->ip), 0) < 0 ||
	    bpf_skb_store_bytes(skb, q->l4_off, &q->l4, sizeof(q->l4), 0) < 0 ||
	    /* ICMP has no pseudo-header: a plain sum diff. */
	    bpf_l4_csum_replace(skb, q->icmp_off +
				SL_OFFSETOF(struct icmp_err_hdr, checksum),
				0, icmp, 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

/**
 * lb4_icmp_to_client - an error about a client's translated packet
 * @skb: the error; packet pointers are stale when this returns 1
 * @t: its tuple, rewritten on return 1
 * @q: its quote (icmp4_err_parse)
 * @dir: where it is seen, for the counters
 * @at_netdev: seen leaving the node by one of its interfaces
 *
 * The connection is found as lb4_from_backend() finds it from a reply:
 * the REPLY entry, then its OUT entry, live and with the same backend.
 * Returns 0 when untouched, 1 when translated, or a negated drop reason.
 */
static __always_inline int lb4_icmp_to_client(struct __sk_buff *skb,
					      struct l4_tuple *t,
					      struct icmp4_err *q, __u8 dir,
					      bool at_netdev)
{
	struct sl_ct_entry *rep, *out;
	struct sl_ct_key k = {
		.saddr = q->ip.daddr,
		.daddr = q->ip.saddr,
		.sport = q->l4.dport,
		.dport = q->l4.sport,
		.proto = q->ip.protocol,
		.dir = SL_CT_REPLY,
	};
	int ret;

	if (t->daddr != q->ip.saddr)
		return 0;
	rep = bpf_map_lookup_elem(&sl_ct, &k);
	if (!rep || !(rep->flags & SL_CT_F_OUTSIDE) != !at_netdev)
		return 0;
	/* The client's tuple, as lb4_from_backend() makes it. */
	k.saddr = rep->nat_daddr ? rep->nat_daddr : q->ip.saddr;
	k.daddr = rep->nat_saddr;
	k.sport = q->l4.sport;
	k.dport = rep->nat_sport;
	k.dir = SL_CT_OUT;
	out = bpf_map_lookup_elem(&sl_ct, &k);
	if (!out || out->backend_id != rep->backend_id ||
	    (__s32)(out->expires - ct_now()) < 0)
		return 0;
	sl_count(SL_SERVICE_ICMP, dir, skb->len);
	/* The quote as the client sent it: to the frontend, and from the
	 * client's own address rather than the hairpin one. */
	ret = icmp4_quote_nat(skb, q, rep->nat_daddr, 0, rep->nat_saddr,
			      rep->nat_sport);
	if (!ret)
		ret = l4_nat(skb, t, rep->nat_saddr, 0, rep->nat_daddr, 0);
	return ret < 0 ? ret : 1;
}

/**
 * lb4_icmp_to_backend - an error about a backend's reply translated back
 * @skb: the error; packet pointers are stale when this returns 1
 * @t: its tuple, rewritten on return 1
 * @q: its quote (icmp4_err_parse)
 * @dir: where it is seen, for the counters
 * @outside: it came in from outside the node (a netdev)
 *
 * The connection is its live OUT entry; the error goes to the backend
 * (and for hairpin from 169.254.42.1, whom the backend answered).
 * Returns 0 when untouched, 1 when translated, or a negated drop reason.
 */
static __always_inline int lb4_icmp_to_backend(struct __sk_buff *skb,
					       struct l4_tuple *t,
					       struct icmp4_err *q, __u8 dir,
					       bool outside)
{
	const struct l4_tuple conn = {
		.saddr = q->ip.daddr,
		.daddr = q->ip.saddr,
		.sport = q->l4.dport,
		.dport = q->l4.sport,
		.proto = q->ip.protocol,
	};
	struct sl_ct_entry *e;
	int ret;

	if (t->daddr != q->ip.saddr)
		return 0;
	e = ct_lookup(&conn, SL_CT_OUT, ct_now());
	if (!e || !(e->flags & SL_CT_F_SERVICE) ||
	    !(e->flags & SL_CT_F_OUTSIDE) != !outside)
		return 0;
	sl_count(SL_SERVICE_ICMP, dir, skb->len);
	/* The quote as the backend sent it: from itself, to the hairpin
	 * address when the client is its own backend. */
	ret = icmp4_quote_nat(skb, q, e->nat_daddr, e->nat_dport, e->nat_saddr,
			      0);
	if (!ret)
		ret = l4_nat(skb, t, e->nat_saddr, 0, e->nat_daddr, 0);
	return ret < 0 ? ret : 1;
}

/**
 * lb4_icmp_error - translate an ICMP error about a Service connection
 * @skb: the packet; packet pointers are stale when this returns 1
 * @ip: its validated IPv4 header
 * @t: its tuple (l4_parse), rewritten on return 1
 * @dir: where it is seen, for the counters
 * @ways: ICMP_XLATE_*, as the hook translates connections: TO_BACKEND
 *        where lb4_to_service() runs, TO_CLIENT where lb4_from_backend()
 * @at_netdev: on one of the node's interfaces (connections from outside)
 *
 * Returns 0 when the packet is no such error (untouched), 1 when
 * translated, or a negated drop reason.
 */
static __always_inline int lb4_icmp_error(struct __sk_buff *skb,
					  const struct iphdr *ip,
					  struct l4_tuple *t, __u8 dir,
					  __u32 ways, bool at_netdev)
{
	struct icmp4_err q;
	int ret;

	if (t->proto != IPPROTO_ICMP || !icmp4_err_parse(skb, ip, t, &q))
		return 0;
	if (ways & ICMP_XLATE_TO_BACKEND) {
		ret = lb4_icmp_to_backend(skb, t, &q, dir, at_netdev);
		if (ret)
			return ret;
	}
	if (ways & ICMP_XLATE_TO_CLIENT)
		return lb4_icmp_to_client(skb, t, &q, dir, at_netdev);
	return 0;
}

#endif /* SL_LIB_ICMP_H */

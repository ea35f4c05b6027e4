/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pktgen: builds the frames the datapath tests feed to BPF_PROG_TEST_RUN,
 * one header at a time (Cilium's bpf/tests/pktgen.h, in user space). The
 * builder never checks what it is asked for, so a test can also build the
 * malformed frames the datapath must reject.
 */
#ifndef SL_TEST_PKTGEN_H
#define SL_TEST_PKTGEN_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

/* IPv4 frag_off bits, host byte order (the kernel's are not in its UAPI). */
#define PKT_IP_MF 0x2000
#define PKT_IP_OFFSET 0x1fff

/* TCP flags (the 14th byte of its header). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/*
 * TCP and UDP headers spelled out here rather than taken from <linux/tcp.h>,
 * which clashes with the libc headers the runner needs; only the sizes and
 * field order matter.
 */
struct pkt_tcphdr {
	__be16 source, dest;
	__be32 seq, ack_seq;
	__u8 doff_res;
	__u8 flags;
	__be16 window, check, urg_ptr;
};

struct pkt_udphdr {
	__be16 source, dest, len, check;
};

/*
 * Large enough for every test frame, the jumbo ones sent through a veth
 * included; test_run's output buffer too.
 */
#define PKT_MAX 8192

/**
 * struct pkt - a frame under construction
 * @align: like the kernel's NET_IP_ALIGN: two bytes before the Ethernet
 *         header put the IP header on a 4-byte boundary, so the tests may
 *         read it through struct iphdr without unaligned accesses
 * @data: the frame, starting with its Ethernet header
 * @len: bytes of @data in use
 * @l3_off: offset of the IPv4 header in @data, 0 when there is none
 */
struct pkt {
	__u16 align;
	__u8 data[PKT_MAX];
	__u32 len;
	__u32 l3_off;
};

struct iphdr;

/* Start an empty frame. */
void pkt_init(struct pkt *p);

/* Append len zeroed bytes and return them; aborts when PKT_MAX is hit. */
void *pkt_put(struct pkt *p, size_t len);

/* Append an Ethernet header; proto in host byte order. */
void pkt_put_eth(struct pkt *p, const __u8 *dst, const __u8 *src,
		 __u16 proto);

/**
 * pkt_put_ipv4 - append an IPv4 header with opt_len bytes of options
 * @p: the frame
 * @saddr: source address, host byte order
 * @daddr: destination address, host byte order
 * @proto: IPPROTO_* of what follows
 * @ttl: time to live
 * @opt_len: bytes of options (NOPs ending in EOL), a multiple of 4
 *
 * Total length and checksum are left to pkt_ipv4_finish(), once the
 * payload is in place.
 */
struct iphdr *pkt_put_ipv4(struct pkt *p, __u32 saddr, __u32 daddr,
			   __u8 proto, __u8 ttl, size_t opt_len);

/*
 * L4 headers. Their checksums are left zero: pkt_l4_csum() computes them
 * once the payload is in place and the IPv4 header finished.
 */
void pkt_put_tcp(struct pkt *p, __u16 sport, __u16 dport);
void pkt_put_udp(struct pkt *p, __u16 sport, __u16 dport);
void pkt_put_icmp_echo(struct pkt *p, __u16 id, __u16 seq);

/* Append len bytes of a fixed, recognisable pattern. */
void pkt_put_payload(struct pkt *p, size_t len);

/*
 * Set the IPv4 total length to cover everything appended after the header
 * so far, and compute the header checksum.
 */
void pkt_ipv4_finish(struct pkt *p);

/* Recompute the IPv4 header checksum only, over the header as built. */
void pkt_ipv4_csum(struct pkt *p);

/* The frame's IPv4 header, or NULL when it has none (strchr-like const). */
struct iphdr *pkt_ipv4(const struct pkt *p);

/*
 * The frame's TCP or UDP header: after the IPv4 header and its options,
 * NULL when the datagram has none (another protocol, a non-first
 * fragment, or a frame that ends before it).
 */
void *pkt_l4(const struct pkt *p);

/**
 * pkt_l4_csum - set the TCP or UDP checksum of a finished frame
 * @p: a frame built up to pkt_ipv4_finish()
 *
 * The Internet checksum over the IPv4 pseudo-header (addresses, protocol,
 * the segment's length from tot_len) and the segment, as a sender
 * computes it; a UDP result of 0 is sent as 0xffff, since 0 means "no
 * checksum". Does nothing to a frame pkt_l4() finds no header in.
 */
void pkt_l4_csum(struct pkt *p);

/**
 * pkt_l4_csum_ok - whether a frame's TCP or UDP checksum is right
 * @p: the frame
 *
 * What a receiver checks: the sum over pseudo-header and segment, the
 * checksum field included, folds to 0xffff. A UDP checksum of 0 ("none")
 * is valid as such; a test that must see it kept reads the field. False
 * for a frame with no TCP or UDP header.
 */
bool pkt_l4_csum_ok(const struct pkt *p);

/*
 * Checksum offload. A stack handing a segment to a device that computes
 * its checksum (a veth, ip_summed CHECKSUM_PARTIAL) leaves in the field
 * the pseudo-header's sum, folded and not complemented, for the device to
 * add the segment to: pkt_l4_csum_partial() sets the field so. What the
 * device then does, pkt_l4_csum_offload(): sum from the L4 header to the
 * end, field included, and store the complement (0xffff for a UDP zero).
 */
void pkt_l4_csum_partial(struct pkt *p);
void pkt_l4_csum_offload(struct pkt *p);

/**
 * pkt_put_icmp_error - append an ICMP error quoting another frame
 * @p: the frame, up to an IPv4 header of protocol ICMP
 * @type: ICMP type (3 destination unreachable, 11 time exceeded, ...)
 * @code: ICMP code
 * @rest: the header's last four bytes, host byte order: for fragmentation
 *        needed the next-hop MTU in the low 16 bits, for a parameter
 *        problem the pointer in the top 8
 * @orig: the frame whose IPv4 datagram is quoted
 * @quote_len: bytes of that datagram to quote, its header included
 *
 * The checksum is left to pkt_icmp_csum(), after pkt_ipv4_finish().
 */
void pkt_put_icmp_error(struct pkt *p, __u8 type, __u8 code, __u32 rest,
			const struct pkt *orig, size_t quote_len);

/* Set the ICMP checksum of a finished frame, over the whole message. */
void pkt_icmp_csum(struct pkt *p);

/* Whether a frame's ICMP checksum is right; false without ICMP. */
bool pkt_icmp_csum_ok(const struct pkt *p);

/**
 * pkt_icmp_quote - the datagram an ICMP error quotes, as a frame
 * @p: the error
 * @q: set to the quote behind a zeroed Ethernet header, so the frame
 *     checks apply to it: ipv4_csum() on its header, and pkt_l4_csum_ok()
 *     when the quote holds the whole datagram
 *
 * Returns false when @p is no ICMP error with a quoted IPv4 header.
 */
bool pkt_icmp_quote(const struct pkt *p, struct pkt *q);

/* Append an IPv6 header carrying payload_len bytes of next_hdr. */
void pkt_put_ipv6(struct pkt *p, __u8 next_hdr, __u16 payload_len);

/* Append an ARP request (Ethernet/IPv4); addresses in host byte order. */
void pkt_put_arp_request(struct pkt *p, const __u8 *sha, __u32 spa,
			 __u32 tpa);

/**
 * ipv4_csum - the Internet checksum of an IPv4 header
 * @hdr: the header
 * @len: its length in bytes (ihl * 4)
 *
 * Returns the value for the check field when that field is zero, and 0
 * when the header, check field included, is intact.
 */
__u16 ipv4_csum(const void *hdr, size_t len);

#endif /* SL_TEST_PKTGEN_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4 header validation and rewriting. */
#ifndef SL_LIB_IPV4_H
#define SL_LIB_IPV4_H

#include "common.h"

/**
 * ipv4_validate - make the IPv4 header readable and check it
 * @skb: packet whose L3 protocol is IPv4
 * @ip: set to the header on success
 *
 * Pulls the header into the linear area when the stack left it in a
 * fragment, then checks version, header length and total length against
 * the frame. Options and fragments are valid: forwarding only needs the
 * addresses. Returns 0 or -SL_INVALID_IPV4.
 */
static __always_inline int ipv4_validate(struct __sk_buff *skb,
					 struct iphdr **ip)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + ETH_HLEN;
	__u32 tot_len;

	if ((void *)(iph + 1) > data_end) {
		if (skb->len < ETH_HLEN + sizeof(*iph) ||
		    bpf_skb_pull_data(skb, ETH_HLEN + sizeof(*iph)) < 0)
			return -SL_INVALID_IPV4;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		iph = data + ETH_HLEN;
		if ((void *)(iph + 1) > data_end)
			return -SL_INVALID_IPV4;
	}
	if (iph->version != 4 || iph->ihl < 5)
		return -SL_INVALID_IPV4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < (__u32)iph->ihl * 4 || tot_len > skb->len - ETH_HLEN)
		return -SL_INVALID_IPV4;
	*ip = iph;
	return 0;
}

/**
 * ipv4_dec_ttl - decrement the TTL as a router hop does
 * @ip: a validated IPv4 header in the writable packet
 *
 * Direct packet access with the incremental checksum update the kernel's
 * ip_decrease_ttl() uses: TTL is the high byte of its 16-bit checksum
 * word, so the sum grows by 0x0100. No helper calls on the hot path.
 */
static __always_inline void ipv4_dec_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

#endif /* SL_LIB_IPV4_H */

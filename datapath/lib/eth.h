/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet header access. */
#ifndef SL_LIB_ETH_H
#define SL_LIB_ETH_H

#include "common.h"

/**
 * eth_rewrite_macs - set destination and source MAC of the frame
 * @skb: the packet
 * @dst: new destination MAC
 * @src: new source MAC
 *
 * Returns 0 or a negative drop reason.
 */
static __always_inline int eth_rewrite_macs(struct __sk_buff *skb,
					    const __u8 *dst, const __u8 *src)
{
	if (bpf_skb_store_bytes(skb, 0, dst, ETH_ALEN, 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, src, ETH_ALEN, 0) < 0)
		return -SL_REWRITE_FAILED;
	return 0;
}

#endif /* SL_LIB_ETH_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet header access. */
#ifndef SL_LIB_ETH_H
#define SL_LIB_ETH_H

#include "common.h"

/**
 * eth_set_macs - set destination and source MAC of the frame in place
 * @eth: the Ethernet header, inside the packet's bounds
 * @dst: new destination MAC
 * @src: new source MAC
 */
static __always_inline void eth_set_macs(struct ethhdr *eth, const __u8 *dst,
					 const __u8 *src)
{
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
}

#endif /* SL_LIB_ETH_H */

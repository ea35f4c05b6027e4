/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4 addresses and prefixes in host byte order. */
#ifndef SL_COMMON_IPV4_H
#define SL_COMMON_IPV4_H

#include <stdbool.h>
#include <stdint.h>

struct sl_ipv4_net {
	uint32_t addr; /* host byte order, the network address */
	uint8_t prefix;
};

/* The netmask of a prefix length 0..32, host order. */
static inline uint32_t sl_ipv4_mask(unsigned int prefix)
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

/* Parse an interface address "a.b.c.d/n" (host bits allowed); 0 or -1. */
int sl_parse_ipv4_prefix(const char *s, uint32_t *addr, int *prefix);

/* Parse "a.b.c.d/n" into a network (host bits must be zero); 0 or -1. */
int sl_parse_ipv4_cidr(const char *s, struct sl_ipv4_net *net);

/*
 * Whether s is an IPv6 "address/n" (n 0..128): IPv4-only code recognises
 * what it skips, so that only garbage is an error.
 */
bool sl_ipv6_prefix_valid(const char *s);

/* "TCP", "UDP" or "SCTP" for an IPPROTO_ number, "?" for any other. */
const char *sl_proto_name(uint8_t proto);

/* Dotted quad of a host-order address into buf. */
void sl_ip4_to_str(uint32_t ip, char buf[16]);

/* "a.b.c.d/n" of a host-order network into buf. */
void sl_ip4_net_to_str(uint32_t net, unsigned int prefix, char buf[20]);

/* "aa:bb:cc:dd:ee:ff" of a link-layer address into buf. */
void sl_mac_to_str(const uint8_t mac[6], char buf[18]);

#endif /* SL_COMMON_IPV4_H */

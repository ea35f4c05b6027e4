// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "ipv4.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_ip4_to_str(uint32_t ip, char buf[16])
{
	struct in_addr in = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &in, buf, 16);
}

/* s as "address/n" with n 0..max: the address part into buf (size bytes,
 * which also bounds s), and n; or -1. */
static int split_prefix(const char *s, char *buf, size_t size,
			unsigned long max, unsigned long *prefix)
{
	char *slash, *end;

	if (strlen(s) >= size)
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || slash[1] < '0' || slash[1] > '9')
		return -1;
	*slash = '\0';
	*prefix = strtoul(slash + 1, &end, 10);
	return *end || *prefix > max ? -1 : 0;
}

int sl_parse_ipv4_prefix(const char *s, uint32_t *addr, int *prefix)
{
	char buf[INET_ADDRSTRLEN + 4];
	struct in_addr in;
	unsigned long p;

	if (split_prefix(s, buf, sizeof(buf), 32, &p) < 0 ||
	    inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	*addr = ntohl(in.s_addr);
	*prefix = (int)p;
	return 0;
}

int sl_parse_ipv4_cidr(const char *s, struct sl_ipv4_net *net)
{
	uint32_t addr;
	int prefix;

	if (sl_parse_ipv4_prefix(s, &addr, &prefix) < 0)
		return -1;
	if (addr & ~sl_ipv4_mask((unsigned int)prefix))
		return -1;
	net->addr = addr;
	net->prefix = (uint8_t)prefix;
	return 0;
}

bool sl_ipv6_prefix_valid(const char *s)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct in6_addr a6;
	unsigned long p;

	return !split_prefix(s, buf, sizeof(buf), 128, &p) &&
	       inet_pton(AF_INET6, buf, &a6) == 1;
}

const char *sl_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	}
	return "?";
}

void sl_ip4_net_to_str(uint32_t net, unsigned int prefix, char buf[20])
{
	char ip[16];

	sl_ip4_to_str(net, ip);
	snprintf(buf, 20, "%s/%u", ip, prefix);
}

void sl_mac_to_str(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's source NAT, in netfilter (one nftables table, "ip
 * sluice_nat", in the node's namespace), for the two cases the datapath
 * cannot finish alone:
 *
 *  - a connection from outside to a NodePort, external IP or
 *    load-balancer IP with its backend on another node: sl_from_netdev
 *    translates the destination and marks the packet (include/sluice/
 *    mark.h); the mark has the node SNAT it to its InternalIP, so the
 *    backend answers this node, which undoes the SNAT (netfilter) and the
 *    Service translation (sl_to_netdev) on the way back to the client;
 *  - masquerade (--masquerade on, the default): pods' traffic to
 *    destinations outside the cluster leaves with the node's address.
 *    The cluster is every node's pod CIDR and InternalIP, and
 *    --cluster-cidr when given: pod-to-pod traffic is never translated.
 *
 * Connections are tracked by the kernel's conntrack from their first
 * packet, so rewriting the table (one transaction, on a node change)
 * never moves an established connection. Ports for the SNAT are taken
 * from 32768-60999, outside the NodePort range, so a reply can never be
 * mistaken for a new NodePort connection.
 */
#ifndef SL_AGENT_NAT_H
#define SL_AGENT_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct nft_ctx;

#define SL_NAT_TABLE "sluice_nat"

struct sl_nat {
	bool masquerade_off;     /* --masquerade off */
	uint32_t cluster_cidr;   /* --cluster-cidr, host order; 0: none */
	uint8_t cluster_prefix;
	uint16_t tunnel_port;    /* VXLAN mode: its UDP port; 0: native */
	struct nft_ctx *nft;
	char *applied; /* the ruleset last applied; NULL: apply next sync */
	unsigned int applies, failures;
	char error[256];
};

/*
 * sl_nat_ruleset - the table for the model's nodes, self being this
 * node: malloc'ed nftables text (one transaction: the table replaced
 * whole), or NULL while self has no InternalIP (nothing to SNAT to) or on
 * allocation failure (*err says which).
 */
char *sl_nat_ruleset(const struct sl_nat *n, const struct sl_model *m,
		     const char *self, int *err);

/* Apply the ruleset when it differs from the last one applied. A refusal
 * is logged, kept in n->error and retried next sync. */
int sl_nat_sync(struct sl_nat *n, const struct sl_model *m, const char *self);

/* The next sync applies the ruleset even if unchanged (a resync). */
void sl_nat_invalidate(struct sl_nat *n);

/* Frees the context; the table stays: translated connections go on. */
void sl_nat_close(struct sl_nat *n);

#endif /* SL_AGENT_NAT_H */

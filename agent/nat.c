// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The node's source NAT in nftables (agent/nat.h).
 */
#include "nat.h"
#include "ipv4.h"
#include "log.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/mark.h>

/* Ports the SNAT picks from: above the NodePort range (30000-32767). */
#define SL_NAT_PORTS "32768-60999"

char *sl_nat_ruleset(const struct sl_nat *n, const struct sl_model *m,
		     const char *self, int *err)
{
	const struct sl_object *me = sl_model_get(m, SL_KIND_NODE, self);
	char ip[16], cidr[24], tunnel[64], *buf = NULL;
	const char *key, *sep = "";
	size_t len = 0;
	void *val;
	FILE *f;

	*err = 0;
	if (!me || !me->node.internal_ip)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	sl_ip4_to_str(me->node.internal_ip, ip);
	snprintf(tunnel, sizeof(tunnel), "\t\tudp dport %u notrack\n",
		 n->tunnel_port);
	/* Created if absent, then deleted and made anew: one transaction,
	 * whatever was there before. */
	fprintf(f, "table ip " SL_NAT_TABLE "\n"
		   "delete table ip " SL_NAT_TABLE "\n"
		   "table ip " SL_NAT_TABLE " {\n"
		   "\tset cluster {\n"
		   "\t\ttype ipv4_addr\n"
		   "\t\tflags interval\n"
		   "\t\tauto-merge\n"
		   "\t\telements = { ");
	for (size_t i = 0;
	     sl_table_next(&m->objects[SL_KIND_NODE], &i, &key, &val);) {
		const struct sl_node *nd = &((struct sl_model_obj *)val)->obj.node;

		if (nd->have_pod_cidr) {
			sl_ip4_net_to_str(nd->pod_cidr, nd->pod_prefix, cidr);
			fprintf(f, "%s%s", sep, cidr);
			sep = ", ";
		}
		if (nd->internal_ip) {
			sl_ip4_to_str(nd->internal_ip, cidr);
			fprintf(f, "%s%s", sep, cidr);
			sep = ", ";
		}
	}
	if (n->cluster_cidr) {
		sl_ip4_net_to_str(n->cluster_cidr, n->cluster_prefix, cidr);
		fprintf(f, "%s%s", sep, cidr);
	}
	fprintf(f, " }\n\t}\n");
	/* The pod CIDRs alone: pod-to-pod is never translated, so
	 * conntrack has nothing to do for it. */
	sep = "";
	fprintf(f, "\tset pods {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
		   "\t\tauto-merge\n\t\telements = { ");
	for (size_t i = 0;
	     sl_table_next(&m->objects[SL_KIND_NODE], &i, &key, &val);) {
		const struct sl_node *nd = &((struct sl_model_obj *)val)->obj.node;

		if (!nd->have_pod_cidr)
			continue;
		sl_ip4_net_to_str(nd->pod_cidr, nd->pod_prefix, cidr);
		fprintf(f, "%s%s", sep, cidr);
		sep = ", ";
	}
	/* A NAT table turns conntrack on for every packet of the
	 * namespace. Pod-to-pod connections and the tunnel's datagrams (a
	 * new UDP flow per inner connection, which conntrack then races to
	 * insert from both CPUs: measured, dropped SYNs and 1 s
	 * retransmits) skip it; so does nothing that is translated: replies
	 * to SNAT and masquerade are addressed to the node. */
	fprintf(f, " }\n\t}\n"
		   "\tchain prerouting_raw {\n"
		   "\t\ttype filter hook prerouting priority raw; policy accept;\n"
		   "%s"
		   "\t\tip saddr @pods ip daddr @pods notrack\n"
		   "\t}\n"
		   "\tchain output_raw {\n"
		   "\t\ttype filter hook output priority raw; policy accept;\n"
		   "%s"
		   "\t}\n",
		n->tunnel_port ? tunnel : "", n->tunnel_port ? tunnel : "");
	fprintf(f, "\tchain postrouting {\n"
		   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		   "\t\tmeta mark & 0x%08x == 0x%08x meta l4proto { tcp, udp } "
		   "snat ip to %s:" SL_NAT_PORTS
		   " comment \"from outside to another node's backend\"\n",
		SL_MARK_MASK, SL_MARK_SNAT_TO_NODE, ip);
	if (!n->masquerade_off && me->node.have_pod_cidr) {
		sl_ip4_net_to_str(me->node.pod_cidr, me->node.pod_prefix, cidr);
		fprintf(f, "\t\tip saddr %s ip daddr != @cluster meta l4proto "
			   "{ tcp, udp } masquerade to :" SL_NAT_PORTS
			   " comment \"pods leaving the cluster\"\n"
			   "\t\tip saddr %s ip daddr != @cluster masquerade"
			   " comment \"pods leaving the cluster (ICMP)\"\n",
			cidr, cidr);
	}
	fprintf(f, "\t}\n}\n");
	if (fclose(f) != 0) {
		free(buf);
		*err = -ENOMEM;
		return NULL;
	}
	return buf;
}

static int apply(struct sl_nat *n, const char *rules)
{
	const char *out;
	int ret;

	if (!n->nft) {
		n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
		if (!n->nft)
			return -ENOMEM;
		nft_ctx_buffer_error(n->nft);
		nft_ctx_buffer_output(n->nft);
	}
	ret = nft_run_cmd_from_buffer(n->nft, rules);
	if (!ret)
		return 0;
	out = nft_ctx_get_error_buffer(n->nft);
	snprintf(n->error, sizeof(n->error), "nftables refused the %s table: %s",
		 SL_NAT_TABLE, out && *out ? out : "(no message)");
	/* One line for the log: nft's message spans several. */
	for (char *p = n->error, *q = n->error;; p++) {
		char c = *p == '\n' || *p == '\t' ? ' ' : *p;

		if (c == ' ' && q > n->error && q[-1] == ' ')
			continue;
		*q++ = c;
		if (!c)
			break;
	}
	return -EINVAL;
}

int sl_nat_sync(struct sl_nat *n, const struct sl_model *m, const char *self)
{
	char *rules, *prev;
	int err;

	rules = sl_nat_ruleset(n, m, self, &err);
	if (!rules)
		return err;
	if (n->applied && !strcmp(n->applied, rules)) {
		free(rules);
		return 0;
	}
	prev = strdup(n->error);
	err = apply(n, rules);
	if (err < 0) {
		n->failures++;
		/* Retried every sync: said once until it changes. */
		if (!prev || strcmp(prev, n->error))
			log_error("nat: %s", n->error);
		free(prev);
		free(rules);
		return err;
	}
	free(prev);
	n->applies++;
	n->error[0] = '\0';
	free(n->applied);
	n->applied = rules;
	log_info("nat: table %s applied (masquerade %s)", SL_NAT_TABLE,
		 n->masquerade_off ? "off" : "on");
	return 0;
}

void sl_nat_invalidate(struct sl_nat *n)
{
	free(n->applied);
	n->applied = NULL;
}

void sl_nat_close(struct sl_nat *n)
{
	if (n->nft)
		nft_ctx_free(n->nft);
	n->nft = NULL;
	sl_nat_invalidate(n);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl ct: the conntrack table, read from the pinned map (the agent
 * need not run). One line per connection (its OUT entry); -o json gives
 * every entry, REPLY ones included.
 *
 *   sluicectl ct [list] [--addr IP] [--port N] [--proto tcp|udp] [--svc ID]
 *   sluicectl ct flush  [the same filters]
 */
#include "ctl.h"
#include "conntrack.h"
#include "ipv4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sluice/policy.h>

struct list_ctx {
	const struct sl_ct_filter *f;
	uint32_t now;
	json_object *arr;
	unsigned int replies;
};

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" :
	       p == IPPROTO_ICMP ? "icmp" : "other";
}

static const char *state_of(const struct sl_ct_key *k,
			    const struct sl_ct_entry *e, uint32_t now)
{
	if (sl_ct_expired(e, now))
		return "expired";
	if (k->proto != IPPROTO_TCP)
		return e->flags & SL_CT_F_SEEN_REPLY ? "replied" : "new";
	if (e->flags & SL_CT_F_CLOSING)
		return "closing";
	return e->flags & SL_CT_F_SEEN_REPLY ? "established" : "syn-sent";
}

static void endpoint_str(__be32 addr, __be16 port, char *buf, size_t len)
{
	char ip[16];

	sl_ip4_to_str(ntohl(addr), ip);
	snprintf(buf, len, "%s:%u", ip, ntohs(port));
}

static int list_visit(const struct sl_ct_key *k, const struct sl_ct_entry *e,
		      void *arg)
{
	struct list_ctx *c = arg;
	json_object *o;
	char buf[32];

	if (!sl_ct_match(c->f, k, e))
		return 0;
	if (k->dir == SL_CT_REPLY)
		c->replies++;
	o = json_object_new_object();
	json_object_object_add(o, "dir", json_object_new_string(
		k->dir == SL_CT_OUT ? "out" : "reply"));
	json_object_object_add(o, "proto", json_object_new_string(proto_name(k->proto)));
	endpoint_str(k->saddr, k->sport, buf, sizeof(buf));
	json_object_object_add(o, "source", json_object_new_string(buf));
	endpoint_str(k->daddr, k->dport, buf, sizeof(buf));
	json_object_object_add(o, "destination", json_object_new_string(buf));
	if (e->nat_saddr || e->nat_sport) {
		endpoint_str(e->nat_saddr, e->nat_sport, buf, sizeof(buf));
		json_object_object_add(o, "natSource", json_object_new_string(buf));
	}
	if (e->nat_daddr || e->nat_dport) {
		endpoint_str(e->nat_daddr, e->nat_dport, buf, sizeof(buf));
		json_object_object_add(o, "natDestination", json_object_new_string(buf));
	}
	json_object_object_add(o, "state", json_object_new_string(state_of(k, e, c->now)));
	if (k->dir == SL_CT_OUT)
		json_object_object_add(o, "expiresIn", json_object_new_int64(
			(int64_t)(int32_t)(e->expires - c->now)));
	json_object_object_add(o, "svcId", json_object_new_int64(e->svc_id));
	json_object_object_add(o, "backendId", json_object_new_int64(e->backend_id));
	json_object_object_add(o, "hairpin", json_object_new_boolean(
		e->flags & SL_CT_F_HAIRPIN));
	json_object_object_add(o, "packetsOut", json_object_new_int64((int64_t)e->packets[0]));
	json_object_object_add(o, "packetsIn", json_object_new_int64((int64_t)e->packets[1]));
	json_object_object_add(o, "bytesOut", json_object_new_int64((int64_t)e->bytes[0]));
	json_object_object_add(o, "bytesIn", json_object_new_int64((int64_t)e->bytes[1]));
	json_object_object_add(o, "ifindex", json_object_new_int64(e->ifindex));
	json_object_object_add(o, "identity", json_object_new_int64(e->identity));
	/* The NetworkPolicies that admitted it; 0 where the end was not
	 * isolated or is not on this node. */
	json_object_object_add(o, "policyEgress", json_object_new_int64(
		e->policy_id[SL_POLICY_EGRESS]));
	json_object_object_add(o, "policyIngress", json_object_new_int64(
		e->policy_id[SL_POLICY_INGRESS]));
	json_object_array_add(c->arr, o);
	return 0;
}

/* The Service port behind a service id, when the agent answers; the id
 * itself otherwise (the table is read without the agent); "-" for a
 * connection that is not a Service's. */
static const char *svc_label(json_object *services, const char *id)
{
	if (!strcmp(id, "0"))
		return "-";
	for (size_t i = 0; services && i < json_object_array_length(services); i++) {
		json_object *f = json_object_array_get_idx(services, i);

		if (!strcmp(sl_ctl_field(f, "svcId"), id))
			return sl_ctl_field(f, "service");
	}
	return id;
}

static int ct_list(const struct sl_ctl *ctl, int fd, const struct sl_ct_filter *f)
{
	struct list_ctx c = { .f = f, .now = sl_ct_now(),
			      .arr = json_object_new_array() };
	json_object *services;
	int err = sl_ct_walk(fd, list_visit, &c);

	if (err < 0) {
		fprintf(stderr, "sluicectl: reading sl_ct: %s\n", strerror(-err));
		json_object_put(c.arr);
		return 1;
	}
	if (ctl->json) {
		sl_ctl_print_json(c.arr);
		json_object_put(c.arr);
		return 0;
	}
	services = sl_ctl_ask_agent(ctl, "services");
	if (services && !json_object_is_type(services, json_type_array)) {
		json_object_put(services);
		services = NULL;
	}
	printf("%-5s %-21s %-21s %-21s %-11s %7s %15s %19s %s\n", "PROTO",
	       "SOURCE", "DESTINATION", "BACKEND", "STATE", "EXPIRES",
	       "PKTS OUT/IN", "BYTES OUT/IN", "SERVICE");
	for (size_t i = 0; i < json_object_array_length(c.arr); i++) {
		json_object *o = json_object_array_get_idx(c.arr, i);
		char pkts[40], bytes[48];

		if (strcmp(sl_ctl_field(o, "dir"), "out"))
			continue;
		snprintf(pkts, sizeof(pkts), "%s/%s", sl_ctl_field(o, "packetsOut"),
			 sl_ctl_field(o, "packetsIn"));
		snprintf(bytes, sizeof(bytes), "%s/%s", sl_ctl_field(o, "bytesOut"),
			 sl_ctl_field(o, "bytesIn"));
		printf("%-5s %-21s %-21s %-21s %-11s %6ss %15s %19s %s\n",
		       sl_ctl_field(o, "proto"), sl_ctl_field(o, "source"),
		       sl_ctl_field(o, "destination"),
		       sl_ctl_field(o, "natDestination")[0] ?
			       sl_ctl_field(o, "natDestination") : "-",
		       sl_ctl_field(o, "state"), sl_ctl_field(o, "expiresIn"),
		       pkts, bytes, svc_label(services, sl_ctl_field(o, "svcId")));
	}
	printf("(%zu entries, %u of them reply translations)\n",
	       json_object_array_length(c.arr), c.replies);
	json_object_put(services);
	json_object_put(c.arr);
	return 0;
}

int sl_ctl_ct(const struct sl_ctl *ctl, const char *sub,
	      const struct sl_ct_filter *f, int ct_fd)
{
	int n;

	if (!sub || !strcmp(sub, "list"))
		return ct_list(ctl, ct_fd, f);
	if (strcmp(sub, "flush")) {
		fprintf(stderr, "sluicectl: ct takes list or flush, not \"%s\"\n",
			sub);
		return 2;
	}
	n = sl_ct_flush(ct_fd, f);
	if (n < 0) {
		fprintf(stderr, "sluicectl: flushing sl_ct: %s\n", strerror(-n));
		return 1;
	}
	if (ctl->json)
		printf("{\"deleted\":%d}\n", n);
	else
		printf("%d entries deleted\n", n);
	return 0;
}

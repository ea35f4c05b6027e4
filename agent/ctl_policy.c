// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl policy: NetworkPolicy as the agent compiled it for this node's
 * endpoints (agent/policy_sync.h). -o json gives the agent's answer as is.
 *
 *   sluicectl policy            every local endpoint: isolation per
 *                               direction, entries, selecting policies
 *   sluicectl policy ENDPOINT   one ("ns/pod" or its address): its rules
 *   sluicectl policy trace --from NS/POD --to NS/POD --port N[/PROTO]
 */
#include "ctl.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const DIRS[2] = { "ingress", "egress" };

/* The agent's answer, or 1 after saying why there is none. */
static int ask(const struct sl_ctl *ctl, json_object *req, json_object **out)
{
	json_object *err;

	*out = sl_ctl_ask(ctl, req);
	json_object_put(req);
	if (!*out)
		return sl_ctl_agent_down(ctl);
	if (json_object_object_get_ex(*out, "error", &err)) {
		fprintf(stderr, "sluicectl: %s\n", json_object_get_string(err));
		json_object_put(*out);
		return 1;
	}
	return 0;
}

static json_object *request(const char *cmd)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return req;
}

/* "a,b" of a JSON array of strings, "" when empty. */
static void join(json_object *arr, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
				 json_object_get_string(json_object_array_get_idx(arr, i)));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

static bool has(json_object *arr, const char *s)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)),
			    s))
			return true;
	return false;
}

/* Each policy once, with the directions it selects the endpoint for:
 * "ns/p (ingress), ns/q (ingress+egress)"; "-" for none. */
static void policies_str(json_object *in, json_object *eg, char *buf,
			 size_t len)
{
	json_object *both[2] = { in, eg };
	size_t off = 0;

	buf[0] = '\0';
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; both[d] && i < json_object_array_length(both[d]); i++) {
			const char *name = json_object_get_string(
				json_object_array_get_idx(both[d], i));
			bool i_in = has(in, name), i_eg = has(eg, name);
			int n;

			if (d == 1 && i_in)
				continue; /* listed with ingress */
			n = snprintf(buf + off, len - off, "%s%s (%s)",
				     off ? ", " : "", name,
				     i_in && i_eg ? "ingress+egress" :
				     i_in	  ? "ingress" : "egress");
			if (n < 0 || (size_t)n >= len - off)
				return;
			off += (size_t)n;
		}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* The sync's state, when it is not simply "written". */
static void print_sync_state(json_object *st)
{
	if (!strcmp(sl_ctl_field(st, "overflow"), "true"))
		printf("OVERFLOW: %s\n", sl_ctl_field(st, "lastError"));
	else if (sl_ctl_field(st, "lastError")[0])
		printf("error: %s\n", sl_ctl_field(st, "lastError"));
}

static int list(const struct sl_ctl *ctl)
{
	json_object *o, *eps, *st;
	int ret = ask(ctl, request("policy"), &o);

	if (ret)
		return ret;
	if (ctl->json) {
		sl_ctl_print_json(o);
		json_object_put(o);
		return 0;
	}
	json_object_object_get_ex(o, "endpoints", &eps);
	json_object_object_get_ex(o, "status", &st);
	printf("%-32s %-15s %-9s %-9s %-9s %s\n", "ENDPOINT", "IP", "INGRESS",
	       "EGRESS", "ENTRIES", "POLICIES");
	for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
		json_object *e = json_object_array_get_idx(eps, i), *dj[2],
			    *pols[2] = { NULL, NULL };
		char entries[24], all[1024];

		for (int d = 0; d < 2; d++) {
			json_object_object_get_ex(e, DIRS[d], &dj[d]);
			json_object_object_get_ex(dj[d], "policies", &pols[d]);
		}
		snprintf(entries, sizeof(entries), "%s/%s",
			 sl_ctl_field(dj[0], "entries"),
			 sl_ctl_field(dj[1], "entries"));
		policies_str(pols[0], pols[1], all, sizeof(all));
		printf("%-32s %-15s %-9s %-9s %-9s %s\n",
		       sl_ctl_field(e, "endpoint"), sl_ctl_field(e, "ip"),
		       strcmp(sl_ctl_field(dj[0], "isolated"), "true") ? "-" :
									"isolated",
		       strcmp(sl_ctl_field(dj[1], "isolated"), "true") ? "-" :
									"isolated",
		       entries, all);
	}
	printf("(%s endpoints, %s isolated; %s entries, %s cidrs from %s policies; ENTRIES is ingress/egress)\n",
	       sl_ctl_field(st, "endpoints"), sl_ctl_field(st, "isolated"),
	       sl_ctl_field(st, "entries"), sl_ctl_field(st, "cidrs"),
	       sl_ctl_field(st, "policies"));
	print_sync_state(st);
	json_object_put(o);
	return 0;
}

static int endpoint(const struct sl_ctl *ctl, const char *which)
{
	json_object *req = request("policy"), *o;
	int ret;

	json_object_object_add(req, "endpoint", json_object_new_string(which));
	ret = ask(ctl, req, &o);
	if (ret)
		return ret;
	if (ctl->json) {
		sl_ctl_print_json(o);
		json_object_put(o);
		return 0;
	}
	printf("endpoint: %s (%s)\n", sl_ctl_field(o, "endpoint"),
	       sl_ctl_field(o, "ip"));
	if (strcmp(sl_ctl_field(o, "inMap"), "true"))
		printf("note: the maps do not hold this yet (see sluicectl status)\n");
	for (int d = 0; d < 2; d++) {
		json_object *dj, *pols = NULL, *rules = NULL, *cidrs = NULL;
		char names[512];

		if (!json_object_object_get_ex(o, DIRS[d], &dj))
			continue;
		json_object_object_get_ex(dj, "policies", &pols);
		json_object_object_get_ex(dj, "rules", &rules);
		json_object_object_get_ex(dj, "cidrs", &cidrs);
		if (strcmp(sl_ctl_field(dj, "isolated"), "true")) {
			printf("%s: not isolated (no NetworkPolicy selects it: everything allowed)\n",
			       DIRS[d]);
			continue;
		}
		join(pols, names, sizeof(names));
		printf("%s: isolated by %s; allowed:\n", DIRS[d], names);
		printf("  %-6s %-12s %-48s %s\n", "PROTO", "PORTS", "REMOTE",
		       "POLICY");
		for (size_t i = 0; rules && i < json_object_array_length(rules); i++) {
			json_object *r = json_object_array_get_idx(rules, i);

			printf("  %-6s %-12s %-48s %s\n",
			       sl_ctl_field(r, "protocol"),
			       sl_ctl_field(r, "ports"),
			       sl_ctl_field(r, "remote"),
			       sl_ctl_field(r, "policy"));
		}
		for (size_t i = 0; cidrs && i < json_object_array_length(cidrs); i++) {
			json_object *c = json_object_array_get_idx(cidrs, i);

			printf("  %s %-18s is cidr identity %s\n",
			       i ? "     " : "CIDRS", sl_ctl_field(c, "cidr"),
			       sl_ctl_field(c, "identity"));
		}
	}
	json_object_put(o);
	return 0;
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static int trace(const struct sl_ctl *ctl, const struct sl_ctl_trace *t)
{
	json_object *req, *o;
	int ret;

	if (!t->from || !t->to || !t->port) {
		fprintf(stderr,
			"sluicectl: policy trace needs --from NS/POD --to NS/POD --port N[/tcp|udp|sctp]\n");
		return 2;
	}
	req = request("policy-trace");
	json_object_object_add(req, "from", json_object_new_string(t->from));
	json_object_object_add(req, "to", json_object_new_string(t->to));
	json_object_object_add(req, "port", json_object_new_int(t->port));
	json_object_object_add(req, "protocol",
			       json_object_new_string(proto_name(t->proto)));
	ret = ask(ctl, req, &o);
	if (ret)
		return ret;
	if (ctl->json) {
		sl_ctl_print_json(o);
		json_object_put(o);
		return 0;
	}
	printf("%s -> %s %s/%s: %s\n", sl_ctl_field(o, "from"),
	       sl_ctl_field(o, "to"), sl_ctl_field(o, "protocol"),
	       sl_ctl_field(o, "port"), sl_ctl_field(o, "verdict"));
	for (int d = 1; d >= 0; d--) {
		json_object *s;
		char where[600];

		if (!json_object_object_get_ex(o, DIRS[d], &s))
			continue;
		snprintf(where, sizeof(where), "%s on %s", sl_ctl_field(s, "pod"),
			 sl_ctl_field(s, "node")[0] ? sl_ctl_field(s, "node") :
						      "no node");
		printf("  %-7s %-36s %-8s %s\n", DIRS[d], where,
		       sl_ctl_field(s, "verdict"), sl_ctl_field(s, "why"));
	}
	json_object_put(o);
	return 0;
}

int sl_ctl_policy(const struct sl_ctl *ctl, const char *arg,
		  const struct sl_ctl_trace *t)
{
	if (!arg)
		return list(ctl);
	if (!strcmp(arg, "trace"))
		return trace(ctl, t);
	return endpoint(ctl, arg);
}

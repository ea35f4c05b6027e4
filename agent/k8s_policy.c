// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetworkPolicy decoding (networking.k8s.io/v1, SPECS E): the spec checked
 * the way the API server validates it, policyTypes defaulted the way it
 * defaults them, and a digest of the result so the model can tell a change
 * that matters from a resourceVersion bump. The JSON is only borrowed.
 *
 * Reasons name the field the way kubectl explain does, list elements by
 * index: "spec.ingress[0].from[2].ipBlock.except[1] ... is not inside
 * spec.ingress[0].from[2].ipBlock.cidr".
 *
 * What we accept that the API would refuse: nothing on purpose. What the
 * API accepts that we skip: IPv6 ipBlocks (an IPv4-only datapath; the peer
 * is kept as SL_PEER_IPBLOCK6 and matches nothing). Host bits in a cidr or
 * an except are cleared, as the API server's own ParseCIDR does (it only
 * warns about them).
 */
#include "k8s.h"
#include "k8s_decode.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bounds. Ours, not the API's (it has none but the object's size): far
 * above anything written by hand, near what a generated allow-list of
 * cloud ranges holds. A refused policy is missing from the model, which
 * opens what it would have isolated, so they err on the generous side.
 */
#define NP_MAX_RULES 1000 /* per direction */
#define NP_MAX_PEERS 10000 /* per rule */
#define NP_MAX_PORTS 1000 /* per rule */
#define NP_MAX_EXCEPT 1000 /* per ipBlock */
#define SEL_MAX_EXPRS 100
#define SEL_MAX_VALUES 1000
#define SEL_MAX_KEY 317 /* prefix (253) + '/' + name (63), as labels */
#define SEL_MAX_VALUE 63

/* --- field readers (k8s_decode.h) ---------------------------------------- */

static int dup_str(const char *s, char **out, char *why, size_t len)
{
	*out = strdup(s);
	return *out ? 0 : sl_k8s_fail(why, len, "out of memory");
}

/* --- digest (k8s_decode.h) ------------------------------------------------ */

static void digest_selector(uint64_t *h, const struct sl_selector *s)
{
	sl_fnv_u64(h, s->match.n);
	for (size_t i = 0; i < s->match.n; i++) {
		sl_fnv_str(h, s->match.items[i].key);
		sl_fnv_str(h, s->match.items[i].value);
	}
	sl_fnv_u64(h, s->n_exprs);
	for (size_t i = 0; i < s->n_exprs; i++) {
		sl_fnv_str(h, s->exprs[i].key);
		sl_fnv_u64(h, s->exprs[i].op);
		sl_fnv_u64(h, s->exprs[i].n_values);
		for (size_t j = 0; j < s->exprs[i].n_values; j++)
			sl_fnv_str(h, s->exprs[i].values[j]);
	}
}

static void digest_rules(uint64_t *h, const struct sl_netpol_rule *r, size_t n)
{
	sl_fnv_u64(h, n);
	for (size_t i = 0; i < n; i++, r++) {
		sl_fnv_u64(h, r->n_peers);
		for (size_t j = 0; j < r->n_peers; j++) {
			const struct sl_netpol_peer *p = &r->peers[j];

			sl_fnv_u64(h, p->kind);
			sl_fnv_u64(h, p->has_pod_sel);
			digest_selector(h, &p->pod_sel);
			sl_fnv_u64(h, p->has_ns_sel);
			digest_selector(h, &p->ns_sel);
			sl_fnv_u64(h, p->cidr.addr);
			sl_fnv_u64(h, p->cidr.prefix);
			sl_fnv_u64(h, p->n_except);
			for (size_t k = 0; k < p->n_except; k++) {
				sl_fnv_u64(h, p->except[k].addr);
				sl_fnv_u64(h, p->except[k].prefix);
			}
		}
		sl_fnv_u64(h, r->n_ports);
		for (size_t j = 0; j < r->n_ports; j++) {
			sl_fnv_u64(h, r->ports[j].protocol);
			sl_fnv_str(h, r->ports[j].name);
			sl_fnv_u64(h, r->ports[j].port);
			sl_fnv_u64(h, r->ports[j].end_port);
		}
	}
}

static uint64_t netpol_digest(const struct sl_netpol *np)
{
	uint64_t h = SL_FNV_OFFSET;

	sl_fnv_u64(&h, SL_KIND_NETPOL);
	sl_fnv_str(&h, np->ns);
	sl_fnv_str(&h, np->name);
	digest_selector(&h, &np->pod_sel);
	sl_fnv_u64(&h, np->ingress);
	sl_fnv_u64(&h, np->egress);
	digest_rules(&h, np->ingress_rules, np->n_ingress);
	digest_rules(&h, np->egress_rules, np->n_egress);
	return h;
}

/* --- label selectors ------------------------------------------------------ */

static void selector_free(struct sl_selector *s)
{
	sl_labels_free(&s->match);
	for (size_t i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].key);
		for (size_t j = 0; j < s->exprs[i].n_values; j++)
			free(s->exprs[i].values[j]);
		free(s->exprs[i].values);
	}
	free(s->exprs);
	memset(s, 0, sizeof(*s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct {
	const char *name;
	enum sl_sel_op op;
} sel_ops[] = {
	{ "In", SL_SEL_IN },
	{ "NotIn", SL_SEL_NOT_IN },
	{ "Exists", SL_SEL_EXISTS },
	{ "DoesNotExist", SL_SEL_DOES_NOT_EXIST },
};

/* matchExpressions[i] at where: values required for In and NotIn,
 * forbidden for Exists and DoesNotExist (the API's own rules). */
static int decode_expr(json_object *e, const char *where, struct sl_sel_expr *x,
		       char *why, size_t len)
{
	const char *key, *op, *v;
	json_object *vals;
	char f[256];
	size_t n, k;

	if (sl_k8s_check_element(e, where, why, len) ||
	    sl_k8s_peek_str(e, where, "key", SL_K8S_REQUIRED, &key, why, len) ||
	    sl_k8s_peek_str(e, where, "operator", SL_K8S_REQUIRED, &op, why,
			    len))
		return -1;
	if (strlen(key) > SEL_MAX_KEY)
		return sl_k8s_fail(why, len, "%s.key is too long", where);
	for (k = 0; k < sizeof(sel_ops) / sizeof(sel_ops[0]); k++)
		if (!strcmp(op, sel_ops[k].name))
			break;
	if (k == sizeof(sel_ops) / sizeof(sel_ops[0]))
		return sl_k8s_fail(
			why, len,
			"%s.operator \"%.64s\" is not one of In, NotIn, Exists, DoesNotExist",
			where, op);
	x->op = sel_ops[k].op;
	if (dup_str(key, &x->key, why, len) ||
	    sl_k8s_get_list(e, where, "values", SEL_MAX_VALUES, &vals, &n, why,
			    len))
		return -1;
	if ((x->op == SL_SEL_IN || x->op == SL_SEL_NOT_IN) && !n)
		return sl_k8s_fail(why, len,
				   "%s.values must not be empty for %s", where,
				   op);
	if ((x->op == SL_SEL_EXISTS || x->op == SL_SEL_DOES_NOT_EXIST) && n)
		return sl_k8s_fail(why, len, "%s.values must be empty for %s",
				   where, op);
	if (!n)
		return 0;
	x->values = calloc(n, sizeof(*x->values));
	if (!x->values)
		return sl_k8s_fail(why, len, "out of memory");
	sl_k8s_field(f, sizeof(f), where, "values");
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(vals, i);

		if (!json_object_is_type(s, json_type_string) ||
		    (size_t)json_object_get_string_len(s) !=
			    strlen(v = json_object_get_string(s)) ||
		    strlen(v) > SEL_MAX_VALUE)
			return sl_k8s_fail(
				why, len, "%s[%zu] is not a label value", f, i);
		if (dup_str(v, &x->values[x->n_values], why, len))
			return -1;
		x->n_values++;
	}
	/* A set: sorted and unique, so order and repeats change nothing. */
	if (x->n_values) /* Exists/DoesNotExist: values may be NULL */
		qsort(x->values, x->n_values, sizeof(*x->values), cmp_str);
	k = 1;
	for (size_t i = 1; i < x->n_values; i++) {
		if (!strcmp(x->values[i], x->values[k - 1]))
			free(x->values[i]);
		else
			x->values[k++] = x->values[i];
	}
	x->n_values = k;
	return 0;
}

/* The selector at where (an object, or absent: empty). */
static int decode_selector(json_object *sel, const char *where,
			   struct sl_selector *s, char *why, size_t len)
{
	char f[192];
	json_object *list;
	size_t n;

	if (sl_k8s_is_null(sel))
		return 0;
	if (!json_object_is_type(sel, json_type_object))
		return sl_k8s_fail(why, len, "%s is not an object", where);
	if (sl_k8s_get_labels(sel, "matchLabels", &s->match, why, len)) {
		sl_k8s_requalify(why, len, where, "matchLabels");
		return -1;
	}
	if (sl_k8s_get_list(sel, where, "matchExpressions", SEL_MAX_EXPRS,
			    &list, &n, why, len))
		return -1;
	if (!n)
		return 0;
	s->exprs = calloc(n, sizeof(*s->exprs));
	if (!s->exprs)
		return sl_k8s_fail(why, len, "out of memory");
	s->n_exprs = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s.matchExpressions[%zu]", where, i);
		if (decode_expr(json_object_array_get_idx(list, i), f,
				&s->exprs[i], why, len))
			return -1;
	}
	return 0;
}

/* --- peers ---------------------------------------------------------------- */

static int cmp_net(const void *a, const void *b)
{
	const struct sl_ipv4_net *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

/* 4 with *net set (host bits cleared), 6 for a valid IPv6 CIDR, -1. */
static int parse_cidr(const char *s, struct sl_ipv4_net *net)
{
	uint32_t addr;
	int prefix;

	if (!sl_parse_ipv4_prefix(s, &addr, &prefix)) {
		net->prefix = (uint8_t)prefix;
		net->addr = addr & sl_ipv4_mask(net->prefix);
		return 4;
	}
	return sl_ipv6_prefix_valid(s) ? 6 : -1;
}

static int decode_ip_block(json_object *e, const char *where,
			   struct sl_netpol_peer *p, char *why, size_t len)
{
	char f[160], fc[160];
	const char *cidr, *ex;
	json_object *list;
	int family;
	size_t n, k;

	sl_k8s_field(fc, sizeof(fc), where, "cidr");
	if (sl_k8s_peek_str(e, where, "cidr", SL_K8S_REQUIRED, &cidr, why, len))
		return -1;
	family = parse_cidr(cidr, &p->cidr);
	if (family < 0)
		return sl_k8s_fail(why, len, "%s \"%.64s\" is not a CIDR", fc,
				   cidr);
	p->kind = family == 4 ? SL_PEER_IPBLOCK : SL_PEER_IPBLOCK6;
	if (family == 6)
		memset(&p->cidr, 0, sizeof(p->cidr));
	if (sl_k8s_get_list(e, where, "except", NP_MAX_EXCEPT, &list, &n, why,
			    len))
		return -1;
	if (!n)
		return 0;
	sl_k8s_field(f, sizeof(f), where, "except");
	if (family == 4) {
		p->except = calloc(n, sizeof(*p->except));
		if (!p->except)
			return sl_k8s_fail(why, len, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_ipv4_net x;
		int fam;

		if (sl_k8s_list_str(list, i, f, &ex, why, len))
			return -1;
		fam = parse_cidr(ex, &x);
		if (fam < 0)
			return sl_k8s_fail(why, len,
					   "%s[%zu] \"%.64s\" is not a CIDR", f,
					   i, ex);
		/* A strict subset, as the API requires ("must be a strict
		 * subset of cidr"); a family mix is never inside. */
		if (fam != family ||
		    (family == 4 &&
		     (x.prefix <= p->cidr.prefix ||
		      (x.addr & sl_ipv4_mask(p->cidr.prefix)) != p->cidr.addr)))
			return sl_k8s_fail(
				why, len,
				"%s[%zu] \"%.64s\" is not strictly inside %s",
				f, i, ex, fc);
		if (family == 4)
			p->except[p->n_except++] = x;
	}
	if (!p->n_except)
		return 0;
	qsort(p->except, p->n_except, sizeof(*p->except), cmp_net);
	k = 1;
	for (size_t i = 1; i < p->n_except; i++)
		if (cmp_net(&p->except[i], &p->except[k - 1]))
			p->except[k++] = p->except[i];
	p->n_except = k;
	return 0;
}

static int decode_peer(json_object *e, const char *where,
		       struct sl_netpol_peer *p, char *why, size_t len)
{
	static const char *const objects[] = {
		"podSelector",
		"namespaceSelector",
		"ipBlock",
		NULL,
	};
	json_object *ps = sl_k8s_path(e, "podSelector"),
		    *nss = sl_k8s_path(e, "namespaceSelector"),
		    *ib = sl_k8s_path(e, "ipBlock");
	char f[128];

	if (sl_k8s_check_element(e, where, why, len) ||
	    sl_k8s_check_objects(e, where, objects, why, len))
		return -1;
	p->has_pod_sel = !sl_k8s_is_null(ps);
	p->has_ns_sel = !sl_k8s_is_null(nss);
	if (!sl_k8s_is_null(ib)) {
		if (p->has_pod_sel || p->has_ns_sel)
			return sl_k8s_fail(
				why, len,
				"%s.ipBlock may not be combined with podSelector or namespaceSelector",
				where);
		return decode_ip_block(
			ib, sl_k8s_field(f, sizeof(f), where, "ipBlock"), p,
			why, len);
	}
	if (!p->has_pod_sel && !p->has_ns_sel)
		return sl_k8s_fail(
			why, len,
			"%s has none of podSelector, namespaceSelector, ipBlock",
			where);
	p->kind = SL_PEER_SELECTOR;
	if (decode_selector(ps,
			    sl_k8s_field(f, sizeof(f), where, "podSelector"),
			    &p->pod_sel, why, len) ||
	    decode_selector(
		    nss, sl_k8s_field(f, sizeof(f), where, "namespaceSelector"),
		    &p->ns_sel, why, len))
		return -1;
	return 0;
}

/* --- ports ---------------------------------------------------------------- */

static int decode_port(json_object *e, const char *where,
		       struct sl_netpol_port *pp, char *why, size_t len)
{
	json_object *port = sl_k8s_path(e, "port"),
		    *end = sl_k8s_path(e, "endPort");
	const char *proto;
	int64_t v;
	int p;

	if (sl_k8s_check_element(e, where, why, len) ||
	    sl_k8s_peek_str(e, where, "protocol", 0, &proto, why, len))
		return -1;
	/* Unset is TCP (the API's default); "" is not a protocol. */
	p = sl_k8s_is_null(sl_k8s_path(e, "protocol")) ? IPPROTO_TCP :
							 sl_k8s_protocol(proto);
	if (p < 0)
		return sl_k8s_fail(
			why, len,
			"%s.protocol \"%.64s\" is not one of TCP, UDP, SCTP",
			where, proto);
	pp->protocol = (uint8_t)p;
	if (sl_k8s_is_null(port)) {
		if (!sl_k8s_is_null(end))
			return sl_k8s_fail(why, len,
					   "%s.endPort needs a numeric port",
					   where);
		return dup_str("", &pp->name, why, len);
	}
	if (json_object_is_type(port, json_type_string)) {
		const char *name = json_object_get_string(port);

		/* "80" is a string, not a number, and no port name either. */
		if (!sl_k8s_port_name_valid(name))
			return sl_k8s_fail(
				why, len,
				"%s.port \"%.64s\" is not a port name", where,
				name);
		if (!sl_k8s_is_null(end))
			return sl_k8s_fail(why, len,
					   "%s.endPort needs a numeric port",
					   where);
		return dup_str(name, &pp->name, why, len);
	}
	if (!json_object_is_type(port, json_type_int) ||
	    (v = json_object_get_int64(port)) < 1 || v > 65535)
		return sl_k8s_fail(
			why, len,
			"%s.port is not an integer 1..65535 or a port name",
			where);
	pp->port = pp->end_port = (uint16_t)v;
	if (!sl_k8s_is_null(end)) {
		if (!json_object_is_type(end, json_type_int) ||
		    (v = json_object_get_int64(end)) < 1 || v > 65535)
			return sl_k8s_fail(
				why, len,
				"%s.endPort is not an integer 1..65535", where);
		if (v < pp->port)
			return sl_k8s_fail(why, len,
					   "%s.endPort %lld is below port %u",
					   where, (long long)v, pp->port);
		pp->end_port = (uint16_t)v;
	}
	return dup_str("", &pp->name, why, len);
}

/* --- rules ---------------------------------------------------------------- */

static void rules_free(struct sl_netpol_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < r[i].n_peers; j++) {
			selector_free(&r[i].peers[j].pod_sel);
			selector_free(&r[i].peers[j].ns_sel);
			free(r[i].peers[j].except);
		}
		free(r[i].peers);
		for (size_t j = 0; j < r[i].n_ports; j++)
			free(r[i].ports[j].name);
		free(r[i].ports);
	}
	free(r);
}

static int decode_rule(json_object *e, const char *where, const char *peers,
		       struct sl_netpol_rule *r, char *why, size_t len)
{
	json_object *list;
	char f[96];
	size_t n;

	if (sl_k8s_check_element(e, where, why, len) ||
	    sl_k8s_get_list(e, where, peers, NP_MAX_PEERS, &list, &n, why, len))
		return -1;
	/* Absent and [] mean the same here: every peer. */
	if (n) {
		r->peers = calloc(n, sizeof(*r->peers));
		if (!r->peers)
			return sl_k8s_fail(why, len, "out of memory");
		r->n_peers = n;
		for (size_t i = 0; i < n; i++) {
			snprintf(f, sizeof(f), "%s.%s[%zu]", where, peers, i);
			if (decode_peer(json_object_array_get_idx(list, i), f,
					&r->peers[i], why, len))
				return -1;
		}
	}
	if (sl_k8s_get_list(e, where, "ports", NP_MAX_PORTS, &list, &n, why,
			    len))
		return -1;
	if (!n)
		return 0;
	r->ports = calloc(n, sizeof(*r->ports));
	if (!r->ports)
		return sl_k8s_fail(why, len, "out of memory");
	r->n_ports = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s.ports[%zu]", where, i);
		if (decode_port(json_object_array_get_idx(list, i), f,
				&r->ports[i], why, len))
			return -1;
	}
	return 0;
}

/* spec.ingress or spec.egress; *present (if asked) when it has a rule. */
static int decode_rules(json_object *o, const char *p, const char *peers,
			struct sl_netpol_rule **rules, size_t *nr,
			bool *present, char *why, size_t len)
{
	json_object *list;
	char where[48];
	size_t n;

	if (sl_k8s_get_list(o, "", p, NP_MAX_RULES, &list, &n, why, len))
		return -1;
	if (present)
		*present = n > 0;
	if (!n)
		return 0;
	*rules = calloc(n, sizeof(**rules));
	if (!*rules)
		return sl_k8s_fail(why, len, "out of memory");
	*nr = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "%s[%zu]", p, i);
		if (decode_rule(json_object_array_get_idx(list, i), where,
				peers, &(*rules)[i], why, len))
			return -1;
	}
	return 0;
}

/* --- NetworkPolicy -------------------------------------------------------- */

/*
 * policyTypes, defaulted as the API server does when it is unset or
 * empty: Ingress, and Egress when spec.egress has a rule ("egress: []"
 * is no rule, so it stays an ingress-only policy).
 */
static int decode_policy_types(json_object *o, struct sl_netpol *np,
			       bool has_egress_rules, char *why, size_t len)
{
	json_object *list;
	const char *t;
	size_t n;

	if (sl_k8s_get_list(o, "", "spec.policyTypes", 2, &list, &n, why, len))
		return -1;
	if (!n) {
		np->ingress = true;
		np->egress = has_egress_rules;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (sl_k8s_list_str(list, i, "spec.policyTypes", &t, why, len))
			return -1;
		if (!strcmp(t, "Ingress"))
			np->ingress = true;
		else if (!strcmp(t, "Egress"))
			np->egress = true;
		else
			return sl_k8s_fail(
				why, len,
				"spec.policyTypes[%zu] \"%.64s\" is not Ingress or Egress",
				i, t);
	}
	return 0;
}

int sl_decode_netpol(json_object *o, struct sl_netpol *np, char *why,
		     size_t len)
{
	static const char *const objects[] = {
		"metadata",
		"spec",
		"spec.podSelector",
		NULL,
	};
	bool has_eg;

	memset(np, 0, sizeof(*np));
	if (sl_k8s_check_objects(o, "", objects, why, len) ||
	    sl_k8s_get_str(o, "metadata.namespace", true, &np->ns, why, len) ||
	    sl_k8s_get_str(o, "metadata.name", true, &np->name, why, len) ||
	    decode_selector(sl_k8s_path(o, "spec.podSelector"),
			    "spec.podSelector", &np->pod_sel, why, len) ||
	    decode_rules(o, "spec.ingress", "from", &np->ingress_rules,
			 &np->n_ingress, NULL, why, len) ||
	    decode_rules(o, "spec.egress", "to", &np->egress_rules,
			 &np->n_egress, &has_eg, why, len) ||
	    decode_policy_types(o, np, has_eg, why, len))
		return -1;
	/* Rules of a type the policy does not have are ignored (SPECS
	 * E.1): checked above, dropped here, out of the digest. */
	if (!np->ingress) {
		rules_free(np->ingress_rules, np->n_ingress);
		np->ingress_rules = NULL;
		np->n_ingress = 0;
	}
	if (!np->egress) {
		rules_free(np->egress_rules, np->n_egress);
		np->egress_rules = NULL;
		np->n_egress = 0;
	}
	np->digest = netpol_digest(np);
	return 0;
}

void sl_netpol_free(struct sl_netpol *np)
{
	free(np->ns);
	free(np->name);
	selector_free(&np->pod_sel);
	rules_free(np->ingress_rules, np->n_ingress);
	rules_free(np->egress_rules, np->n_egress);
	memset(np, 0, sizeof(*np));
}

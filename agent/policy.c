// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The NetworkPolicy compiler (policy.h has the semantics and the choices).
 * One compile: gather identities (with their pods, for named ports) and
 * policies (with their ids), then per local endpoint and direction find
 * the selecting policies and turn each rule into entries: peers to
 * identities (cached per rule: they do not depend on the endpoint), ports
 * to (protocol, port prefix) items, ipBlocks to CIDR prefixes whose
 * identity stands for the items they are allowed. Last, sort, drop what a
 * wider entry already allows, and release ids nothing uses any more.
 */
#include "policy.h"
#include "ipv4.h"
#include "k8s_decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_NS_NAME "kubernetes.io/metadata.name"

/* An id in struct sl_policy_ids: stamped with the compile that used it. */
struct id_slot {
	uint32_t id;
	uint64_t generation;
	uint64_t emitted; /* CIDR sets: the (endpoint, direction) last given
			   * its entries, so each gets them once */
};

/* --- growable arrays ------------------------------------------------------ */

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

#define VEC(T)                                                                 \
	struct {                                                               \
		T *v;                                                          \
		size_t n, cap;                                                 \
	}
#define VEC_PUSH(vec, val)                                                     \
	(grow((void **)&(vec).v, &(vec).cap, (vec).n, sizeof(*(vec).v)) ?      \
		 -ENOMEM :                                                     \
		 ((vec).v[(vec).n++] = (val), 0))

/* qsort() and bsearch() for arrays that may be empty (and NULL). */
static void sort(void *v, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(v, n, size, cmp);
}

static void *search(const void *key, const void *v, size_t n, size_t size,
		    int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, v, n, size, cmp) : NULL;
}

/* --- keys ----------------------------------------------------------------- */

#define CMP(a, b)                                                              \
	do {                                                                   \
		if ((a) != (b))                                                \
			return (a) < (b) ? -1 : 1;                             \
	} while (0)

int sl_policy_key_cmp(const struct sl_policy_key *a,
		      const struct sl_policy_key *b)
{
	CMP(ntohl(a->ep), ntohl(b->ep));
	CMP(a->dir, b->dir);
	CMP(a->identity, b->identity);
	CMP(a->proto, b->proto);
	CMP(ntohs(a->dport), ntohs(b->dport));
	CMP(a->prefixlen, b->prefixlen);
	return 0;
}

int sl_policy_cidr_key_cmp(const struct sl_policy_cidr_key *a,
			   const struct sl_policy_cidr_key *b)
{
	CMP(ntohl(a->ep), ntohl(b->ep));
	CMP(a->dir, b->dir);
	CMP(ntohl(a->addr), ntohl(b->addr));
	CMP(a->prefixlen, b->prefixlen);
	return 0;
}

static uint16_t mask16(unsigned int plen)
{
	return plen ? (uint16_t)(0xffffu << (16 - plen)) : 0;
}

static void make_key(struct sl_policy_key *k, uint32_t ep, int dir,
		     uint32_t identity, uint8_t proto, uint16_t port,
		     unsigned int plen)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = SL_POLICY_FIXED_BITS + plen;
	k->ep = htonl(ep);
	k->dir = (__u8)dir;
	k->proto = proto;
	k->identity = identity;
	k->dport = htons(port & mask16(plen));
}

static void make_cidr_key(struct sl_policy_cidr_key *k, uint32_t ep, int dir,
			  uint32_t addr, unsigned int plen)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = SL_POLICY_CIDR_FIXED_BITS + plen;
	k->ep = htonl(ep);
	k->dir = (__u8)dir;
	k->addr = htonl(addr & sl_ipv4_mask(plen));
}

size_t sl_port_range_prefixes(uint16_t lo, uint16_t hi, uint16_t ports[30],
			      uint8_t plens[30])
{
	uint32_t p = lo, end = (uint32_t)hi + 1;
	size_t n = 0;

	/* Greedy from the bottom: the largest aligned block that starts at p
	 * and stays inside the range. Each block is forced (a smaller one
	 * would leave a piece only another block of the same size could
	 * cover), so the cover is minimal. */
	while (p < end) {
		unsigned int size = 1, bits = 0;

		while (bits < 16 && !(p & size) && p + size * 2 <= end) {
			size *= 2;
			bits++;
		}
		ports[n] = (uint16_t)p;
		plens[n++] = (uint8_t)(16 - bits);
		p += size;
	}
	return n;
}

/* --- selectors ------------------------------------------------------------ */

/* A label's value; a namespace (ns_name set) always has its name label. */
static const char *label_of(const struct sl_labels *l, const char *key,
			    const char *ns_name)
{
	const char *v = l ? sl_labels_get(l, key) : NULL;

	if (!v && ns_name && !strcmp(key, LABEL_NS_NAME))
		v = ns_name;
	return v;
}

static bool value_in(const struct sl_sel_expr *x, const char *v)
{
	size_t lo = 0, hi = x->n_values;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x->values[mid], v);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool selector_matches(const struct sl_selector *s,
			     const struct sl_labels *l, const char *ns_name)
{
	for (size_t i = 0; i < s->match.n; i++) {
		const char *v = label_of(l, s->match.items[i].key, ns_name);

		if (!v || strcmp(v, s->match.items[i].value))
			return false;
	}
	for (size_t i = 0; i < s->n_exprs; i++) {
		const struct sl_sel_expr *x = &s->exprs[i];
		const char *v = label_of(l, x->key, ns_name);
		bool ok;

		switch (x->op) {
		case SL_SEL_IN:
			ok = v && value_in(x, v);
			break;
		case SL_SEL_NOT_IN:
			ok = !v || !value_in(x, v);
			break;
		case SL_SEL_EXISTS:
			ok = v != NULL;
			break;
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* --- the compile's working set -------------------------------------------- */

/* One pod identity with the pods that have it. */
struct ident {
	uint32_t id;
	const char *ns;
	const struct sl_labels *labels; /* the same for all its pods */
	const struct sl_labels *ns_labels; /* NULL: no Namespace object */
	const struct sl_pod *const *pods;
	size_t n_pods;
};

/* Peers of one rule as identities; the same for every endpoint. */
struct rule_peers {
	bool done;
	size_t *idents; /* indices into ctx.idents, ascending */
	size_t n_idents;
};

struct pol {
	const struct sl_netpol *np;
	const char *key;
	uint32_t id;
	uint32_t rank; /* position in key order: who is named for a key */
	struct rule_peers *peers[2]; /* by direction, per rule; lazily */
};

/* An allowance before it meets an identity. */
struct item {
	uint8_t proto;
	uint8_t plen; /* bits of port that count, 0..16 */
	uint16_t port; /* host order, masked */
	uint32_t policy_id;
	uint32_t rank;
};

/* An entry while compiling: its policy's rank decides duplicates. */
struct pent {
	struct sl_policy_entry e;
	uint32_t rank;
};

/* One ipBlock of a selecting rule, with the items it allows. */
struct blk {
	struct sl_ipv4_net cidr;
	const struct sl_ipv4_net *except;
	size_t n_except;
	size_t lo, hi; /* its items in ctx.bitems */
};

struct lep {
	uint32_t ip;
	bool attached; /* the plugin's record has the pod at ip */
	const char *key;
	const struct sl_pod *pod;
};

struct ctx {
	const struct sl_model *m;
	struct sl_policy_ids *ids;
	struct ident *idents;
	size_t n_idents;
	const struct sl_pod **ipods;
	struct pol *pols;
	size_t n_pols;
	VEC(struct pent) ents;
	VEC(struct sl_policy_cidr_entry) cidrs;
	VEC(struct item) items; /* the rule at hand */
	VEC(struct item) bitems; /* the blocks' of the endpoint at hand */
	VEC(struct blk) blks;
	VEC(struct item) set; /* one prefix's allow set */
	VEC(struct sl_ipv4_net) qs;
	char *canon;
	size_t canon_cap;
	unsigned char *seen; /* per identity, for peer unions */
};

static int cmp_pod_ident(const void *a, const void *b)
{
	const struct sl_model_obj *x = *(const struct sl_model_obj *const *)a,
				  *y = *(const struct sl_model_obj *const *)b;

	CMP(x->identity->id, y->identity->id);
	return strcmp(x->obj.key, y->obj.key);
}

/* Every identity in use by a pod (host-network pods have none). */
static int gather_idents(struct ctx *c)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_POD];
	const struct sl_model_obj **mos;
	const char *key;
	size_t n = 0;
	void *val;

	mos = calloc(t->len ? t->len : 1, sizeof(*mos));
	c->ipods = calloc(t->len ? t->len : 1, sizeof(*c->ipods));
	c->idents = calloc(t->len ? t->len : 1, sizeof(*c->idents));
	if (!mos || !c->ipods || !c->idents) {
		free(mos);
		return -ENOMEM;
	}
	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		const struct sl_model_obj *mo = val;

		if (mo->identity && !mo->obj.pod.host_network)
			mos[n++] = mo;
	}
	sort(mos, n, sizeof(*mos), cmp_pod_ident);
	for (size_t i = 0; i < n; i++) {
		struct ident *id = &c->idents[c->n_idents];
		const struct sl_object *ns;

		c->ipods[i] = &mos[i]->obj.pod;
		if (i && mos[i]->identity->id == mos[i - 1]->identity->id) {
			c->idents[c->n_idents - 1].n_pods++;
			continue;
		}
		ns = sl_model_get(c->m, SL_KIND_NAMESPACE, mos[i]->obj.pod.ns);
		id->id = mos[i]->identity->id;
		id->ns = mos[i]->obj.pod.ns;
		id->labels = &mos[i]->obj.pod.labels;
		id->ns_labels = ns ? &ns->ns.labels : NULL;
		id->pods = &c->ipods[i];
		id->n_pods = 1;
		c->n_idents++;
	}
	free(mos);
	c->seen = calloc(c->n_idents ? c->n_idents : 1, 1);
	return c->seen ? 0 : -ENOMEM;
}

static int cmp_pol(const void *a, const void *b)
{
	const struct sl_netpol *x = ((const struct pol *)a)->np,
			       *y = ((const struct pol *)b)->np;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

/* Find or make the id of key in t, stamped as used by this compile. */
static int slot_get(struct sl_policy_ids *ids, struct sl_table *t,
		    const char *key, uint32_t *next, struct id_slot **out)
{
	struct id_slot *s = sl_table_get(t, key);

	if (!s) {
		/* 2^32 ids: the counter wraps after billions of changes;
		 * refuse rather than hand out an id twice. */
		if (!*next)
			return -ENOSPC;
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		if (sl_table_put(t, key, s, NULL) < 0) {
			free(s);
			return -ENOMEM;
		}
		s->id = (*next)++;
	}
	s->generation = ids->generation;
	*out = s;
	return 0;
}

static int gather_policies(struct ctx *c)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_NETPOL];
	const char *key;
	void *val;
	int err;

	c->pols = calloc(t->len ? t->len : 1, sizeof(*c->pols));
	if (!c->pols)
		return -ENOMEM;
	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		const struct sl_model_obj *mo = val;

		c->pols[c->n_pols].np = &mo->obj.netpol;
		c->pols[c->n_pols++].key = mo->obj.key;
	}
	sort(c->pols, c->n_pols, sizeof(*c->pols), cmp_pol);
	for (size_t i = 0; i < c->n_pols; i++) {
		struct id_slot *s;

		err = slot_get(c->ids, &c->ids->policies, c->pols[i].key,
			       &c->ids->next_policy, &s);
		if (err)
			return err;
		c->pols[i].id = s->id;
		c->pols[i].rank = (uint32_t)i + 1; /* 0: the node's entry */
	}
	return 0;
}

static bool peer_selects(const struct sl_netpol_peer *p, const char *pol_ns,
			 const struct ident *id)
{
	if (p->kind != SL_PEER_SELECTOR)
		return false;
	if (p->has_ns_sel) {
		if (!selector_matches(&p->ns_sel, id->ns_labels, id->ns))
			return false;
	} else if (strcmp(id->ns, pol_ns)) {
		return false;
	}
	return !p->has_pod_sel ||
	       selector_matches(&p->pod_sel, id->labels, NULL);
}

/* The identities rule ri of pol in dir selects (union of its peers). */
static int rule_peers(struct ctx *c, struct pol *pol, int dir, size_t ri,
		      const struct sl_netpol_rule *r,
		      const struct rule_peers **out)
{
	size_t nr = dir == SL_POLICY_INGRESS ? pol->np->n_ingress :
					       pol->np->n_egress;
	struct rule_peers *rp;

	if (!pol->peers[dir]) {
		pol->peers[dir] = calloc(nr, sizeof(*pol->peers[dir]));
		if (!pol->peers[dir])
			return -ENOMEM;
	}
	rp = &pol->peers[dir][ri];
	*out = rp;
	if (rp->done)
		return 0;
	for (size_t i = 0; i < c->n_idents; i++) {
		for (size_t j = 0; j < r->n_peers && !c->seen[i]; j++)
			c->seen[i] = peer_selects(&r->peers[j], pol->np->ns,
						  &c->idents[i]);
		rp->n_idents += c->seen[i];
	}
	if (rp->n_idents) {
		rp->idents = calloc(rp->n_idents, sizeof(*rp->idents));
		if (!rp->idents)
			return -ENOMEM;
	}
	rp->n_idents = 0;
	for (size_t i = 0; i < c->n_idents; i++) {
		if (c->seen[i])
			rp->idents[rp->n_idents++] = i;
		c->seen[i] = 0;
	}
	rp->done = true;
	return 0;
}

/* --- entries -------------------------------------------------------------- */

static int emit(struct ctx *c, uint32_t ep, int dir, uint32_t identity,
		const struct item *it)
{
	struct pent p = { .rank = it->rank };

	make_key(&p.e.key, ep, dir, identity, it->proto, it->port, it->plen);
	p.e.val.policy_id = it->policy_id;
	return VEC_PUSH(c->ents, p);
}

static int emit_items(struct ctx *c, uint32_t ep, int dir, uint32_t identity,
		      const struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (emit(c, ep, dir, identity, &it[i]))
			return -ENOMEM;
	return 0;
}

/* Items of a rule that do not depend on the remote: every numeric port,
 * and for ingress the named ones, resolved on the endpoint's own pod. */
static int rule_items(struct ctx *c, const struct pol *pol, int dir,
		      const struct sl_netpol_rule *r, const struct sl_pod *self,
		      bool *named_egress)
{
	struct item it = { .policy_id = pol->id, .rank = pol->rank };
	uint16_t ports[30];
	uint8_t plens[30];

	c->items.n = 0;
	*named_egress = false;
	if (!r->n_ports) {
		it.proto = SL_PROTO_ANY;
		return VEC_PUSH(c->items, it);
	}
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct sl_netpol_port *pp = &r->ports[i];

		it.proto = pp->protocol;
		if (pp->name[0] && dir == SL_POLICY_EGRESS) {
			*named_egress = true;
		} else if (pp->name[0]) {
			for (size_t j = 0; j < self->n_ports; j++) {
				if (strcmp(self->ports[j].name, pp->name) ||
				    self->ports[j].protocol != pp->protocol)
					continue;
				it.port = self->ports[j].port;
				it.plen = 16;
				if (VEC_PUSH(c->items, it))
					return -ENOMEM;
			}
		} else if (!pp->port) {
			it.port = 0;
			it.plen = 0;
			if (VEC_PUSH(c->items, it))
				return -ENOMEM;
		} else {
			size_t n = sl_port_range_prefixes(
				pp->port, pp->end_port, ports, plens);

			for (size_t j = 0; j < n; j++) {
				it.port = ports[j];
				it.plen = plens[j];
				if (VEC_PUSH(c->items, it))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/* Named egress ports of r, resolved on each pod of identity id. */
static int emit_named(struct ctx *c, const struct pol *pol, uint32_t ep,
		      const struct sl_netpol_rule *r, const struct ident *id)
{
	struct item it = { .plen = 16,
			   .policy_id = pol->id,
			   .rank = pol->rank };

	for (size_t i = 0; i < r->n_ports; i++) {
		const struct sl_netpol_port *pp = &r->ports[i];

		if (!pp->name[0])
			continue;
		for (size_t k = 0; k < id->n_pods; k++) {
			const struct sl_pod *p = id->pods[k];

			for (size_t j = 0; j < p->n_ports; j++) {
				if (strcmp(p->ports[j].name, pp->name) ||
				    p->ports[j].protocol != pp->protocol)
					continue;
				it.proto = pp->protocol;
				it.port = p->ports[j].port;
				if (emit(c, ep, SL_POLICY_EGRESS, id->id, &it))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int compile_rule(struct ctx *c, struct pol *pol, int dir, size_t ri,
			const struct lep *ep)
{
	const struct sl_netpol_rule *r = dir == SL_POLICY_INGRESS ?
						 &pol->np->ingress_rules[ri] :
						 &pol->np->egress_rules[ri];
	const struct rule_peers *rp;
	bool named;
	int err;

	err = rule_items(c, pol, dir, r, ep->pod, &named);
	if (err)
		return err;
	if (!r->n_peers) {
		err = emit_items(c, ep->ip, dir, SL_ID_ANY, c->items.v,
				 c->items.n);
		/* Every pod's named port; nothing else has names. */
		for (size_t i = 0; !err && named && i < c->n_idents; i++)
			err = emit_named(c, pol, ep->ip, r, &c->idents[i]);
		return err;
	}
	err = rule_peers(c, pol, dir, ri, r, &rp);
	for (size_t i = 0; !err && i < rp->n_idents; i++) {
		const struct ident *id = &c->idents[rp->idents[i]];

		err = emit_items(c, ep->ip, dir, id->id, c->items.v,
				 c->items.n);
		if (!err && named)
			err = emit_named(c, pol, ep->ip, r, id);
	}
	/* ipBlocks: kept with the rule's items for the CIDR pass. Named
	 * egress ports are not among them: an address has no port names. */
	for (size_t i = 0; !err && i < r->n_peers; i++) {
		const struct sl_netpol_peer *p = &r->peers[i];
		struct blk b;

		if (p->kind != SL_PEER_IPBLOCK)
			continue;
		b.cidr = p->cidr;
		b.except = p->except;
		b.n_except = p->n_except;
		b.lo = c->bitems.n;
		for (size_t j = 0; !err && j < c->items.n; j++)
			err = VEC_PUSH(c->bitems, c->items.v[j]);
		b.hi = c->bitems.n;
		if (!err)
			err = VEC_PUSH(c->blks, b);
	}
	return err;
}

/* --- CIDR identities ------------------------------------------------------ */

static int cmp_net(const void *a, const void *b)
{
	const struct sl_ipv4_net *x = a, *y = b;

	CMP(x->addr, y->addr);
	CMP(x->prefix, y->prefix);
	return 0;
}

static int cmp_blk(const void *a, const void *b)
{
	return cmp_net(&((const struct blk *)a)->cidr,
		       &((const struct blk *)b)->cidr);
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	CMP(x->proto, y->proto);
	CMP(x->port, y->port);
	CMP(x->plen, y->plen);
	CMP(x->rank, y->rank);
	return 0;
}

/* Sort, and drop what another item allows: a repeat (the first policy is
 * kept), a prefix inside another of its protocol, and everything beside
 * an any-protocol item. The result is canonical for what it allows. */
static void items_reduce(struct item *v, size_t *n)
{
	size_t k = 0;

	sort(v, *n, sizeof(*v), cmp_item);
	if (*n && v[0].proto == SL_PROTO_ANY) {
		*n = 1;
		return;
	}
	for (size_t i = 0; i < *n; i++) {
		/* Sorted by (proto, port, plen): a covering prefix comes
		 * before what it covers, and the kept ones are disjoint. */
		if (k && v[k - 1].proto == v[i].proto &&
		    (v[i].port & mask16(v[k - 1].plen)) == v[k - 1].port &&
		    v[k - 1].plen <= v[i].plen)
			continue;
		v[k++] = v[i];
	}
	*n = k;
}

static bool net_has(const struct sl_ipv4_net *v, size_t n,
		    const struct sl_ipv4_net *x)
{
	return search(x, v, n, sizeof(*v), cmp_net) != NULL;
}

/* Is q inside b.cidr and outside all of b's excepts? */
static bool blk_allows(const struct blk *b, const struct sl_ipv4_net *q)
{
	for (unsigned int l = b->cidr.prefix + 1u; l <= q->prefix; l++) {
		struct sl_ipv4_net x = { q->addr & sl_ipv4_mask(l),
					 (uint8_t)l };

		if (net_has(b->except, b->n_except, &x))
			return false;
	}
	return true;
}

/* The CIDR identity of an allow set, by its canonical text. */
static int cidr_identity(struct ctx *c, const struct item *v, size_t n,
			 struct id_slot **out)
{
	size_t need = n * 40 + 1, off = 0;

	if (need > c->canon_cap) {
		char *p = realloc(c->canon, need);

		if (!p)
			return -ENOMEM;
		c->canon = p;
		c->canon_cap = need;
	}
	c->canon[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(c->canon + off, need - off,
					"%u:%u/%u@%u;", v[i].proto, v[i].port,
					v[i].plen, v[i].policy_id);
	return slot_get(c->ids, &c->ids->cidr_sets, c->canon,
			&c->ids->next_cidr, out);
}

/*
 * Every cidr and except of the endpoint's blocks into sl_policy_cidr. For
 * a prefix q, the longest inserted prefix holding an address, a block
 * allows the address iff q is inside its cidr and inside none of its
 * excepts (prefixes holding one address are nested); so q's identity is
 * the reduced union of the items of the blocks that allow q.
 */
static int compile_cidrs(struct ctx *c, uint32_t ep, int dir)
{
	int err = 0;

	c->qs.n = 0;
	for (size_t i = 0; !err && i < c->blks.n; i++) {
		err = VEC_PUSH(c->qs, c->blks.v[i].cidr);
		for (size_t j = 0; !err && j < c->blks.v[i].n_except; j++)
			err = VEC_PUSH(c->qs, c->blks.v[i].except[j]);
	}
	if (err)
		return err;
	sort(c->qs.v, c->qs.n, sizeof(*c->qs.v), cmp_net);
	sort(c->blks.v, c->blks.n, sizeof(*c->blks.v), cmp_blk);
	/* Stamps outlive the compile, as the slots do. */
	c->ids->stamp++;
	for (size_t i = 0; i < c->qs.n; i++) {
		const struct sl_ipv4_net *q = &c->qs.v[i];
		struct sl_policy_cidr_entry ce;
		struct id_slot *slot;

		if (i && !cmp_net(q, &c->qs.v[i - 1]))
			continue;
		c->set.n = 0;
		/* The blocks whose cidr holds q: one exact cidr per length. */
		for (unsigned int l = 0; !err && l <= q->prefix; l++) {
			struct blk key = { .cidr = { q->addr & sl_ipv4_mask(l),
						     (uint8_t)l } };
			struct blk *b = search(&key, c->blks.v, c->blks.n,
					       sizeof(*c->blks.v), cmp_blk);

			if (!b)
				continue;
			while (b > c->blks.v && !cmp_blk(b - 1, &key))
				b--;
			for (; !err && b < c->blks.v + c->blks.n &&
			       !cmp_blk(b, &key);
			     b++) {
				if (!blk_allows(b, q))
					continue;
				for (size_t j = b->lo; !err && j < b->hi; j++)
					err = VEC_PUSH(c->set, c->bitems.v[j]);
			}
		}
		if (err)
			return err;
		items_reduce(c->set.v, &c->set.n);
		err = cidr_identity(c, c->set.v, c->set.n, &slot);
		if (err)
			return err;
		make_cidr_key(&ce.key, ep, dir, q->addr, q->prefix);
		memset(&ce.val, 0, sizeof(ce.val));
		ce.val.identity = slot->id;
		err = VEC_PUSH(c->cidrs, ce);
		if (!err && slot->emitted != c->ids->stamp) {
			slot->emitted = c->ids->stamp;
			err = emit_items(c, ep, dir, slot->id, c->set.v,
					 c->set.n);
		}
		if (err)
			return err;
	}
	return 0;
}

/* --- endpoints ------------------------------------------------------------ */

static int cmp_lep(const void *a, const void *b)
{
	const struct lep *x = a, *y = b;

	CMP(x->ip, y->ip);
	CMP(!x->attached, !y->attached);
	return strcmp(x->key, y->key);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int compile_endpoint(struct ctx *c, const struct lep *ep,
			    struct sl_policy_endpoint *out)
{
	static const struct item node = {
		.proto = SL_PROTO_ANY,
		.policy_id = SL_POLICY_ID_NODE,
	};
	const struct sl_pod *pod = ep->pod;
	int err = 0;

	out->ip = ep->ip;
	out->pod = strdup(ep->key);
	if (!out->pod)
		return -ENOMEM;
	for (int dir = SL_POLICY_INGRESS; dir <= SL_POLICY_EGRESS; dir++) {
		size_t n = 0;

		c->blks.n = 0;
		c->bitems.n = 0;
		for (size_t p = 0; p < c->n_pols; p++) {
			const struct sl_netpol *np = c->pols[p].np;

			/* Policies never select pods of other namespaces. */
			if (strcmp(np->ns, pod->ns) ||
			    !(dir == SL_POLICY_INGRESS ? np->ingress :
							 np->egress) ||
			    !selector_matches(&np->pod_sel, &pod->labels, NULL))
				continue;
			if (!out->selected[dir]) {
				out->selected[dir] =
					calloc(c->n_pols, sizeof(uint32_t));
				if (!out->selected[dir])
					return -ENOMEM;
			}
			out->selected[dir][n++] = c->pols[p].id;
			for (size_t ri = 0;
			     !err &&
			     ri < (dir == SL_POLICY_INGRESS ? np->n_ingress :
							      np->n_egress);
			     ri++)
				err = compile_rule(c, &c->pols[p], dir, ri, ep);
			if (err)
				return err;
		}
		out->n_selected[dir] = n;
		if (!n)
			continue;
		sort(out->selected[dir], n, sizeof(uint32_t), cmp_u32);
		out->flags |= dir == SL_POLICY_INGRESS ?
				      SL_EP_F_INGRESS_ISOLATED :
				      SL_EP_F_EGRESS_ISOLATED;
		/* Kubelet probes: the node reaches its pods whatever policy
		 * says (SPECS E.2), as an entry like any other. */
		if (dir == SL_POLICY_INGRESS)
			err = emit(c, ep->ip, dir, SL_ID_HOST, &node);
		if (!err && c->blks.n)
			err = compile_cidrs(c, ep->ip, dir);
		if (err)
			return err;
	}
	return 0;
}

static int gather_endpoints(struct ctx *c, const char *self, struct lep **out,
			    size_t *n)
{
	const struct sl_model *m = c->m;
	const struct sl_table *t = &m->objects[SL_KIND_POD];
	size_t cap = t->len + m->n_local, k = 0;
	struct lep *v = calloc(cap ? cap : 1, sizeof(*v));
	const struct sl_local_addr *la;
	const char *key;
	void *val;

	if (!v)
		return -ENOMEM;
	*n = 0;
	/* Where the plugin attached a pod is where sl_endpoints has it: from
	 * ADD on, before the kubelet reports status.podIP. */
	for (size_t i = 0; i < m->n_local; i++) {
		const struct sl_pod *p =
			sl_model_local_pod(m, m->local[i].pod, self);

		if (p)
			v[(*n)++] = (struct lep){ m->local[i].ip, true,
						  m->local[i].pod, p };
	}
	/* A pod no record names (attached before the records, or a test's
	 * cluster) at the address its status gives. */
	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		const struct sl_model_obj *mo = val;
		const struct sl_pod *p = &mo->obj.pod;

		if (p->ip && !p->host_network && !strcmp(p->node, self) &&
		    !sl_model_local_addrs(m, mo->obj.key, &la))
			v[(*n)++] =
				(struct lep){ p->ip, false, mo->obj.key, p };
	}
	sort(v, *n, sizeof(*v), cmp_lep);
	/* One address, two pods (a stale one): the one attached there, else
	 * the first by key. */
	for (size_t i = 0; i < *n; i++)
		if (!k || v[k - 1].ip != v[i].ip)
			v[k++] = v[i];
	*n = k;
	*out = v;
	return 0;
}

/* --- sort, reduce, output ------------------------------------------------ */

static int cmp_pent(const void *a, const void *b)
{
	const struct pent *x = a, *y = b;
	int r = sl_policy_key_cmp(&x->e.key, &y->e.key);

	if (r)
		return r;
	CMP(x->rank, y->rank);
	return 0;
}

static bool same_fixed(const struct sl_policy_key *a,
		       const struct sl_policy_key *b)
{
	return a->ep == b->ep && a->dir == b->dir &&
	       a->identity == b->identity && a->proto == b->proto;
}

static bool is_wild(const struct sl_policy_key *k, bool any_identity)
{
	return k->proto == SL_PROTO_ANY &&
	       k->prefixlen == SL_POLICY_FIXED_BITS &&
	       (!any_identity || k->identity == SL_ID_ANY);
}

/*
 * Sorted by (endpoint, direction, identity, protocol, port, prefix): an
 * (ANY, any protocol) entry opens its endpoint and direction in full and
 * comes first there; an (identity, any protocol) one comes first for its
 * identity; a covering port prefix comes before what it covers.
 */
static void reduce_entries(struct pent *v, size_t *n)
{
	const struct sl_policy_key *all = NULL, *id_all = NULL, *cover = NULL;
	size_t k = 0;

	sort(v, *n, sizeof(*v), cmp_pent);
	for (size_t i = 0; i < *n; i++) {
		const struct sl_policy_key *key = &v[i].e.key;

		if (all && (all->ep != key->ep || all->dir != key->dir))
			all = NULL;
		if (id_all &&
		    (id_all->ep != key->ep || id_all->dir != key->dir ||
		     id_all->identity != key->identity))
			id_all = NULL;
		if (cover && !same_fixed(cover, key))
			cover = NULL;
		if (all || id_all)
			continue;
		if (cover && cover->prefixlen <= key->prefixlen &&
		    (ntohs(key->dport) &
		     mask16(cover->prefixlen - SL_POLICY_FIXED_BITS)) ==
			    ntohs(cover->dport))
			continue; /* a repeat, or inside cover */
		v[k] = v[i];
		key = &v[k++].e.key;
		if (is_wild(key, true))
			all = key;
		else if (is_wild(key, false))
			id_all = key;
		cover = key;
	}
	*n = k;
}

static int cmp_cidr_entry(const void *a, const void *b)
{
	return sl_policy_cidr_key_cmp(
		&((const struct sl_policy_cidr_entry *)a)->key,
		&((const struct sl_policy_cidr_entry *)b)->key);
}

static int cmp_name(const void *a, const void *b)
{
	return cmp_u32(&((const struct sl_policy_name *)a)->id,
		       &((const struct sl_policy_name *)b)->id);
}

/* Ids of this compile stay; the others are released (never reused). */
static void ids_collect(struct sl_policy_ids *ids, struct sl_table *t)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		if (((struct id_slot *)val)->generation == ids->generation)
			continue;
		free(sl_table_del(t, key));
	}
}

void sl_policy_ids_init(struct sl_policy_ids *ids)
{
	memset(ids, 0, sizeof(*ids));
	sl_table_init(&ids->policies);
	sl_table_init(&ids->cidr_sets);
	ids->next_policy = SL_POLICY_ID_FIRST;
	ids->next_cidr = SL_ID_CIDR_FIRST;
}

static void table_free_vals(struct sl_table *t)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(t, &i, &key, &val);)
		free(val);
	sl_table_free(t);
}

void sl_policy_ids_free(struct sl_policy_ids *ids)
{
	table_free_vals(&ids->policies);
	table_free_vals(&ids->cidr_sets);
	memset(ids, 0, sizeof(*ids));
}

void sl_policy_out_free(struct sl_policy_out *out)
{
	free(out->entries);
	free(out->cidrs);
	for (size_t i = 0; i < out->n_eps; i++) {
		free(out->eps[i].pod);
		free(out->eps[i].selected[0]);
		free(out->eps[i].selected[1]);
	}
	free(out->eps);
	for (size_t i = 0; i < out->n_names; i++)
		free(out->names[i].name);
	free(out->names);
	memset(out, 0, sizeof(*out));
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->n_pols; i++)
		for (int d = 0; d < 2; d++) {
			size_t nr = d == SL_POLICY_INGRESS ?
					    c->pols[i].np->n_ingress :
					    c->pols[i].np->n_egress;

			for (size_t r = 0; c->pols[i].peers[d] && r < nr; r++)
				free(c->pols[i].peers[d][r].idents);
			free(c->pols[i].peers[d]);
		}
	free(c->pols);
	free(c->idents);
	free(c->ipods);
	free(c->ents.v);
	free(c->cidrs.v);
	free(c->items.v);
	free(c->bitems.v);
	free(c->blks.v);
	free(c->set.v);
	free(c->qs.v);
	free(c->canon);
	free(c->seen);
}

static int fill_names(struct ctx *c, struct sl_policy_out *out)
{
	out->names = calloc(c->n_pols + 1, sizeof(*out->names));
	if (!out->names)
		return -ENOMEM;
	out->names[0].id = SL_POLICY_ID_NODE;
	out->names[0].name = strdup("(node)");
	out->n_names = 1;
	if (!out->names[0].name)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_pols; i++) {
		out->names[out->n_names].id = c->pols[i].id;
		out->names[out->n_names].name = strdup(c->pols[i].key);
		if (!out->names[out->n_names++].name)
			return -ENOMEM;
	}
	sort(out->names, out->n_names, sizeof(*out->names), cmp_name);
	return 0;
}

int sl_policy_compile(const struct sl_model *m, const char *self,
		      struct sl_policy_ids *ids, struct sl_policy_out *out)
{
	struct ctx c = { .m = m, .ids = ids };
	struct lep *leps = NULL;
	size_t n_leps = 0;
	int err;

	memset(out, 0, sizeof(*out));
	ids->generation++;
	err = gather_idents(&c);
	if (!err)
		err = gather_policies(&c);
	if (!err)
		err = gather_endpoints(&c, self, &leps, &n_leps);
	if (!err && n_leps) {
		out->eps = calloc(n_leps, sizeof(*out->eps));
		if (!out->eps)
			err = -ENOMEM;
	}
	for (size_t i = 0; !err && i < n_leps; i++) {
		err = compile_endpoint(&c, &leps[i], &out->eps[i]);
		out->n_eps++;
	}
	if (!err)
		err = fill_names(&c, out);
	if (err)
		goto out;
	reduce_entries(c.ents.v, &c.ents.n);
	sort(c.cidrs.v, c.cidrs.n, sizeof(*c.cidrs.v), cmp_cidr_entry);
	if (c.ents.n) {
		out->entries = calloc(c.ents.n, sizeof(*out->entries));
		if (!out->entries) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < c.ents.n; i++)
			out->entries[i] = c.ents.v[i].e;
		out->n_entries = c.ents.n;
	}
	out->cidrs = c.cidrs.v;
	out->n_cidrs = c.cidrs.n;
	c.cidrs.v = NULL;
	ids_collect(ids, &ids->policies);
	ids_collect(ids, &ids->cidr_sets);
out:
	if (err)
		sl_policy_out_free(out);
	free(leps);
	ctx_free(&c);
	return err;
}

/* --- lookups -------------------------------------------------------------- */

static int cmp_entry_key(const void *key, const void *e)
{
	return sl_policy_key_cmp(key,
				 &((const struct sl_policy_entry *)e)->key);
}

/* The trie's answer for a key whose port counts up to maxplen bits. */
static const struct sl_policy_entry *lpm(const struct sl_policy_out *out,
					 uint32_t ep, int dir,
					 uint32_t identity, uint8_t proto,
					 uint16_t port, int maxplen)
{
	for (int plen = maxplen; plen >= 0; plen--) {
		struct sl_policy_key k;
		const struct sl_policy_entry *e;

		make_key(&k, ep, dir, identity, proto, port,
			 (unsigned int)plen);
		e = search(&k, out->entries, out->n_entries,
			   sizeof(*out->entries), cmp_entry_key);
		if (e)
			return e;
	}
	return NULL;
}

static uint32_t cidr_lookup(const struct sl_policy_out *out, uint32_t ep,
			    int dir, uint32_t addr)
{
	for (int plen = 32; plen >= 0; plen--) {
		struct sl_policy_cidr_entry k;
		const struct sl_policy_cidr_entry *e;

		make_cidr_key(&k.key, ep, dir, addr, (unsigned int)plen);
		e = search(&k, out->cidrs, out->n_cidrs, sizeof(*out->cidrs),
			   cmp_cidr_entry);
		if (e)
			return e->val.identity;
	}
	return 0;
}

/* policy.h's order for one identity: exact protocol and port first. */
static const struct sl_policy_entry *
lookup_identity(const struct sl_policy_out *out, uint32_t ep, int dir,
		uint32_t identity, uint8_t proto, uint16_t dport)
{
	const struct sl_policy_entry *e;

	e = lpm(out, ep, dir, identity, proto, dport, 16);
	if (!e)
		e = lpm(out, ep, dir, identity, SL_PROTO_ANY, 0, 0);
	return e;
}

bool sl_policy_lookup(const struct sl_policy_out *out, uint32_t ep,
		      enum sl_policy_dir dir, uint32_t identity,
		      uint32_t remote_ip, uint8_t proto, uint16_t dport,
		      struct sl_policy_match *match)
{
	memset(match, 0, sizeof(*match));
	match->identity = identity;
	match->entry = lookup_identity(out, ep, dir, identity, proto, dport);
	if (!match->entry)
		match->entry =
			lookup_identity(out, ep, dir, SL_ID_ANY, proto, dport);
	match->cidr_identity = cidr_lookup(out, ep, dir, remote_ip);
	if (!match->entry && match->cidr_identity) {
		match->entry = lookup_identity(
			out, ep, dir, match->cidr_identity, proto, dport);
		if (match->entry)
			match->identity = match->cidr_identity;
	}
	return match->entry != NULL;
}

const char *sl_policy_name(const struct sl_policy_out *out, uint32_t id)
{
	struct sl_policy_name key = { .id = id }, *n;

	n = search(&key, out->names, out->n_names, sizeof(*out->names),
		   cmp_name);
	return n ? n->name : "?";
}

const struct sl_policy_endpoint *
sl_policy_endpoint_find(const struct sl_policy_out *out, const char *which)
{
	uint32_t ip = 0;
	bool by_ip = !sl_k8s_parse_ip4(which, &ip);

	for (size_t i = 0; i < out->n_eps; i++)
		if (by_ip ? out->eps[i].ip == ip :
			    !strcmp(out->eps[i].pod, which))
			return &out->eps[i];
	return NULL;
}

/* --- display -------------------------------------------------------------- */

static const char *proto_name(uint8_t p)
{
	return p == SL_PROTO_ANY ? "ANY" : sl_proto_name(p);
}

void sl_policy_key_ports(const struct sl_policy_key *k, unsigned int *lo,
			 unsigned int *hi)
{
	unsigned int plen = k->prefixlen - SL_POLICY_FIXED_BITS;

	*lo = ntohs(k->dport);
	*hi = plen ? *lo | (0xffffu >> plen) : 0xffffu;
}

const char *sl_policy_reserved_name(uint32_t id)
{
	switch (id) {
	case SL_ID_ANY:
		return "any";
	case SL_ID_HOST:
		return "host";
	case SL_ID_WORLD:
		return "world";
	case SL_ID_REMOTE_NODE:
		return "remote-node";
	}
	return NULL;
}

/* "80", "1024-2047" or "any" for a key's port prefix. */
static void ports_str(const struct sl_policy_key *k, char *buf, size_t len)
{
	unsigned int lo, hi;

	sl_policy_key_ports(k, &lo, &hi);
	if (k->prefixlen == SL_POLICY_FIXED_BITS)
		snprintf(buf, len, "any");
	else if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

static void identity_str(const struct sl_model *m, uint32_t id, char *buf,
			 size_t len)
{
	const char *reserved = sl_policy_reserved_name(id);
	const struct sl_identity *ident;
	char num[16];

	if (reserved) {
		snprintf(buf, len, "%s", reserved);
		return;
	}
	if (id >= SL_ID_CIDR_FIRST) {
		snprintf(buf, len, "cidr:%u", id);
		return;
	}
	snprintf(num, sizeof(num), "%u", id);
	ident = m ? sl_table_get(&m->identity_ids, num) : NULL;
	if (ident)
		snprintf(buf, len, "%u %s [%s]", id, ident->ns, ident->labels);
	else
		snprintf(buf, len, "%u", id);
}

static json_object *entry_json(const struct sl_policy_out *out,
			       const struct sl_model *m,
			       const struct sl_policy_entry *e)
{
	json_object *o = json_object_new_object();
	char buf[512];

	json_object_object_add(o, "identity",
			       json_object_new_int64(e->key.identity));
	identity_str(m, e->key.identity, buf, sizeof(buf));
	json_object_object_add(o, "remote", json_object_new_string(buf));
	json_object_object_add(
		o, "protocol",
		json_object_new_string(proto_name(e->key.proto)));
	ports_str(&e->key, buf, sizeof(buf));
	json_object_object_add(o, "ports", json_object_new_string(buf));
	json_object_object_add(o, "policyId",
			       json_object_new_int64(e->val.policy_id));
	json_object_object_add(
		o, "policy",
		json_object_new_string(sl_policy_name(out, e->val.policy_id)));
	return o;
}

json_object *sl_policy_endpoint_json(const struct sl_policy_out *out,
				     const struct sl_model *m,
				     const char *which)
{
	static const char *const dirs[] = { "ingress", "egress" };
	const struct sl_policy_endpoint *ep =
		sl_policy_endpoint_find(out, which);
	json_object *o;
	char ip[16];

	if (!ep)
		return NULL;
	o = json_object_new_object();
	sl_ip4_to_str(ep->ip, ip);
	json_object_object_add(o, "endpoint", json_object_new_string(ep->pod));
	json_object_object_add(o, "ip", json_object_new_string(ip));
	for (int d = 0; d < 2; d++) {
		json_object *dj = json_object_new_object(),
			    *pols = json_object_new_array(),
			    *ents = json_object_new_array(),
			    *cidrs = json_object_new_array();

		json_object_object_add(
			dj, "isolated",
			json_object_new_boolean(ep->n_selected[d] > 0));
		for (size_t i = 0; i < ep->n_selected[d]; i++)
			json_object_array_add(
				pols, json_object_new_string(sl_policy_name(
					      out, ep->selected[d][i])));
		for (size_t i = 0; i < out->n_entries; i++) {
			const struct sl_policy_entry *e = &out->entries[i];

			if (ntohl(e->key.ep) == ep->ip && e->key.dir == d)
				json_object_array_add(ents,
						      entry_json(out, m, e));
		}
		for (size_t i = 0; i < out->n_cidrs; i++) {
			const struct sl_policy_cidr_entry *e = &out->cidrs[i];
			json_object *cj;
			char net[20];

			if (ntohl(e->key.ep) != ep->ip || e->key.dir != d)
				continue;
			sl_ip4_net_to_str(ntohl(e->key.addr),
					  e->key.prefixlen -
						  SL_POLICY_CIDR_FIXED_BITS,
					  net);
			cj = json_object_new_object();
			json_object_object_add(cj, "cidr",
					       json_object_new_string(net));
			json_object_object_add(
				cj, "identity",
				json_object_new_int64(e->val.identity));
			json_object_array_add(cidrs, cj);
		}
		json_object_object_add(dj, "policies", pols);
		json_object_object_add(dj, "entries", ents);
		json_object_object_add(dj, "cidrs", cidrs);
		json_object_object_add(o, dirs[d], dj);
	}
	return o;
}

/* --- trace ---------------------------------------------------------------- */

/* What the datapath knows of a pod as a remote: address and identity. */
static int remote_of(const struct sl_model *m, const char *self,
		     const char *key, uint32_t *ip, uint32_t *identity)
{
	const struct sl_object *o = sl_model_get(m, SL_KIND_POD, key);
	const struct sl_identity *id;

	*ip = sl_model_pod_addr(m, key, self);
	if (!*ip)
		return -ENOENT;
	if (o->pod.host_network) {
		*identity = !strcmp(o->pod.node, self) ? SL_ID_HOST :
							 SL_ID_REMOTE_NODE;
		return 0;
	}
	id = sl_model_identity(m, key);
	*identity = id ? id->id : SL_ID_WORLD;
	return 0;
}

static void trace_side(const struct sl_policy_out *out, const char *pod,
		       uint32_t ep_ip, enum sl_policy_dir dir,
		       uint32_t remote_id, uint32_t remote_ip, uint8_t proto,
		       uint16_t port, struct sl_policy_trace_side *s)
{
	const struct sl_policy_endpoint *ep = sl_policy_endpoint_find(out, pod);

	memset(s, 0, sizeof(*s));
	s->match.identity = remote_id;
	s->enforced = ep && ep->ip == ep_ip;
	s->isolated = s->enforced &&
		      (ep->flags &
		       (dir == SL_POLICY_INGRESS ? SL_EP_F_INGRESS_ISOLATED :
						   SL_EP_F_EGRESS_ISOLATED));
	if (!s->isolated) {
		s->allowed = true;
		return;
	}
	s->allowed = sl_policy_lookup(out, ep_ip, dir, remote_id, remote_ip,
				      proto, port, &s->match);
}

static size_t side_text(const struct sl_policy_out *out, const char *what,
			const char *pod, const struct sl_policy_trace_side *s,
			uint8_t proto, uint16_t port, char *buf, size_t len)
{
	const struct sl_policy_endpoint *ep = sl_policy_endpoint_find(out, pod);
	int dir = !strcmp(what, "egress") ? SL_POLICY_EGRESS :
					    SL_POLICY_INGRESS;
	char ports[16], id[32];
	int n;

	if (!s->enforced)
		return (size_t)snprintf(buf, len,
					"%s of %s not enforced on this node",
					what, pod);
	if (!s->isolated)
		return (size_t)snprintf(buf, len, "%s of %s not isolated", what,
					pod);
	if (s->allowed) {
		ports_str(&s->match.entry->key, ports, sizeof(ports));
		identity_str(NULL, s->match.entry->key.identity, id,
			     sizeof(id));
		return (size_t)snprintf(
			buf, len, "%s of %s allowed by %s (%s %s %s)", what,
			pod, sl_policy_name(out, s->match.entry->val.policy_id),
			id, proto_name(s->match.entry->key.proto), ports);
	}
	n = snprintf(buf, len, "%s of %s isolated by", what, pod);
	for (size_t i = 0; n >= 0 && (size_t)n < len && i < ep->n_selected[dir];
	     i++)
		n += snprintf(buf + n, len - (size_t)n, "%s %s", i ? "," : "",
			      sl_policy_name(out, ep->selected[dir][i]));
	identity_str(NULL, s->match.identity, id, sizeof(id));
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n,
			      ", nothing allows identity %s", id);
	if (n >= 0 && (size_t)n < len && s->match.cidr_identity)
		n += snprintf(buf + n, len - (size_t)n, " or cidr:%u",
			      s->match.cidr_identity);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " %s/%u",
			      proto_name(proto), port);
	return n < 0 ? 0 : (size_t)n;
}

int sl_policy_trace(const struct sl_model *m, const struct sl_policy_out *out,
		    const char *self, const char *from, const char *to,
		    uint8_t proto, uint16_t port, struct sl_policy_verdict *v)
{
	uint32_t src_ip, src_id, dst_ip, dst_id;
	size_t n;

	memset(v, 0, sizeof(*v));
	if (remote_of(m, self, from, &src_ip, &src_id) ||
	    remote_of(m, self, to, &dst_ip, &dst_id))
		return -ENOENT;
	/* A pod's traffic to its own address never leaves it (SPECS
	 * E.2); nor does traffic between host-network pods of one node. */
	if (src_ip == dst_ip) {
		v->allowed = v->complete = true;
		v->egress.allowed = v->ingress.allowed = true;
		snprintf(v->reason, sizeof(v->reason),
			 "allowed: %s and %s share an address, the datapath "
			 "never sees it",
			 from, to);
		return 0;
	}
	trace_side(out, from, src_ip, SL_POLICY_EGRESS, dst_id, dst_ip, proto,
		   port, &v->egress);
	trace_side(out, to, dst_ip, SL_POLICY_INGRESS, src_id, src_ip, proto,
		   port, &v->ingress);
	v->allowed = v->egress.allowed && v->ingress.allowed;
	v->complete = v->egress.enforced && v->ingress.enforced;
	n = (size_t)snprintf(v->reason, sizeof(v->reason),
			     "%s: ", v->allowed ? "allowed" : "denied");
	n += side_text(out, "egress", from, &v->egress, proto, port,
		       v->reason + n, sizeof(v->reason) - n);
	if (n + 2 < sizeof(v->reason)) {
		n += (size_t)snprintf(v->reason + n, sizeof(v->reason) - n,
				      "; ");
		side_text(out, "ingress", to, &v->ingress, proto, port,
			  v->reason + n, sizeof(v->reason) - n);
	}
	return 0;
}

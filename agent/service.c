// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Services and EndpointSlices to sl_services / sl_backends / sl_maglev.
 *
 * A sync is: compile the model into frontends (slot 0), their slots and
 * the backends they name (a pure function of the model, the node's name
 * and addresses, and the id tables); give Maglev frontends their table
 * ids; diff that against the mirror of what the maps hold; write in the
 * order the ABI header promises readers.
 */
#include "service.h"
#include "bpfmap.h"
#include "ipv4.h"
#include "log.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Make room in a dynamic array v of cap items for item n; 0 or -ENOMEM. */
#define GROW(v, cap, n)                                                        \
	({                                                                     \
		int _err = 0;                                                  \
		if ((n) >= (cap)) {                                            \
			size_t _c = (cap) ? (cap) * 2 : 16;                    \
			__typeof__(v) _p = reallocarray(v, _c, sizeof(*v));    \
			if (_p) {                                              \
				(v) = _p;                                      \
				(cap) = _c;                                    \
			} else {                                               \
				_err = -ENOMEM;                                \
			}                                                      \
		}                                                              \
		_err;                                                          \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))

static const char *str(const char *s)
{
	return s ? s : "";
}

/* Address, port, protocol, scope, slot: the order the maps are shown in,
 * and the order diffs merge in. */
static int key_cmp(const struct sl_service_key *a,
		   const struct sl_service_key *b)
{
	uint32_t x = ntohl(a->addr), y = ntohl(b->addr);

	if (x != y)
		return x < y ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->scope != b->scope)
		return a->scope < b->scope ? -1 : 1;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	return a->pad < b->pad ? -1 : a->pad > b->pad;
}

static int entry_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct sl_svc_entry *)a)->key,
		       &((const struct sl_svc_entry *)b)->key);
}

static int be_entry_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct sl_svc_backend_entry *)a)->id;
	__u32 y = ((const struct sl_svc_backend_entry *)b)->id;

	return x < y ? -1 : x > y;
}

/* --- ids ------------------------------------------------------------------ */

/* One backend address and its id; in st->backend_ids. The booleans gather
 * what every Service port of this compile saw of it. */
struct be_rec {
	__u32 id;
	uint64_t gen; /* last compile that wanted it */
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	bool ready, local;
};

/* One Service port and its id; in st->svc_ids and st->svc_names. */
struct svc_rec {
	__u32 id;
	uint64_t gen;
	char name[];
};

static void be_rec_key(char buf[32], uint32_t ip, uint16_t port,
		       uint8_t proto)
{
	snprintf(buf, 32, "%08x:%u/%u", ip, port, proto);
}

static void svc_id_key(char buf[12], __u32 id)
{
	snprintf(buf, 12, "%u", id);
}

/* --- compile -------------------------------------------------------------- */

/* The slices of one Service ("ns/name"), sorted by slice name. */
struct group {
	const struct sl_endpoint_slice **v;
	size_t n, cap;
};

/* A frontend with the order it was compiled in: on a clash the first wins. */
struct fe_tmp {
	struct sl_svc_frontend f;
	size_t seq;
};

struct compile {
	const struct sl_model *m;
	const struct sl_svc_config *cfg;
	struct sl_svc_state *st;
	/* First sync only: what the maps held, to adopt ids from. */
	const struct sl_svc_entry *dumped; /* sorted */
	size_t n_dumped;
	struct sl_table *be_hints; /* be_rec_key -> (uintptr_t)id */

	struct sl_table groups; /* "ns/service" -> struct group */
	struct fe_tmp *fe;
	size_t n_fe, cap_fe;
	struct be_rec **be; /* wanted this compile */
	size_t n_be, cap_be;
	size_t n_entries; /* frontends and slots, an upper bound */
	unsigned int dropped;
};

/* One endpoint of one Service port, before deduplication. */
struct cand {
	uint32_t ip;
	uint16_t port;
	bool ready, serving, terminating, local;
	bool hinted;      /* has zone hints */
	bool hinted_here; /* one of them is this node's zone */
	unsigned int rank;
	size_t seq;
	struct be_rec *rec;
};

/* What a frontend of one Service port will be, before ids are known. */
struct plan {
	struct sl_service_key key;
	__u16 flags;
	bool local_set; /* the local set, else the cluster set */
};

static int slice_cmp(const void *a, const void *b)
{
	const struct sl_endpoint_slice *const *x = a, *const *y = b;

	return strcmp(str((*x)->name), str((*y)->name));
}

static int index_slices(struct compile *c)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_ENDPOINTSLICE];
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		const struct sl_endpoint_slice *es =
			&((struct sl_model_obj *)val)->obj.slice;
		struct group *g;
		char *gk;

		/* IPv6 and FQDN slices are another family's; a slice
		 * without the service-name label belongs to no Service. */
		if (!es->ipv4 || !es->service || !es->service[0])
			continue;
		if (asprintf(&gk, "%s/%s", str(es->ns), es->service) < 0)
			return -ENOMEM;
		g = sl_table_get(&c->groups, gk);
		if (!g) {
			g = calloc(1, sizeof(*g));
			if (!g || sl_table_put(&c->groups, gk, g, NULL)) {
				free(g);
				free(gk);
				return -ENOMEM;
			}
		}
		free(gk);
		if (GROW(g->v, g->cap, g->n))
			return -ENOMEM;
		g->v[g->n++] = es;
	}
	for (size_t i = 0; sl_table_next(&c->groups, &i, &key, &val);) {
		struct group *g = val;

		qsort(g->v, g->n, sizeof(*g->v), slice_cmp);
	}
	return 0;
}

static void free_groups(struct sl_table *groups)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(groups, &i, &key, &val);) {
		struct group *g = val;

		free(g->v);
		free(g);
	}
	sl_table_free(groups);
}

/* (ip, port) ascending, then the best copy of a duplicate first. */
static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The endpoints of one Service port: every IPv4 slice of the Service,
 * slice ports with the same name and protocol (port 0 ignored), one entry
 * per ip:port. kube-proxy keeps an arbitrary copy of a duplicate (a local
 * one if any); we keep the most usable one, deterministically: ready, then
 * serving+terminating, then local, then the first slice by name.
 */
static int gather(const struct compile *c, const struct group *g,
		  const struct sl_service_port *sp, struct cand **out,
		  size_t *n_out)
{
	const char *self = str(c->cfg->self);
	struct cand *v = NULL;
	size_t n = 0, cap = 0, seq = 0, w = 0;

	for (size_t s = 0; g && s < g->n; s++) {
		const struct sl_endpoint_slice *es = g->v[s];

		for (size_t p = 0; p < es->n_ports; p++) {
			const struct sl_slice_port *pp = &es->ports[p];

			if (!pp->port || pp->protocol != sp->protocol ||
			    strcmp(str(pp->name), str(sp->name)))
				continue;
			for (size_t e = 0; e < es->n_endpoints; e++) {
				const struct sl_slice_endpoint *ep =
					&es->endpoints[e];
				struct cand *cd;

				if (!ep->ip)
					continue;
				if (GROW(v, cap, n)) {
					free(v);
					return -ENOMEM;
				}
				cd = &v[n++];
				memset(cd, 0, sizeof(*cd));
				cd->ip = ep->ip;
				cd->port = pp->port;
				cd->ready = ep->ready;
				cd->serving = ep->serving;
				cd->terminating = ep->terminating;
				cd->local = self[0] && ep->node &&
					    !strcmp(ep->node, self);
				cd->hinted = ep->n_for_zones > 0;
				for (size_t z = 0; z < ep->n_for_zones; z++)
					if (c->cfg->zone && c->cfg->zone[0] &&
					    !strcmp(ep->for_zones[z], c->cfg->zone))
						cd->hinted_here = true;
				cd->rank = cd->ready ? 4u : 0u;
				if (cd->serving && cd->terminating)
					cd->rank += 2;
				if (cd->local)
					cd->rank += 1;
				cd->seq = seq++;
			}
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cand_cmp);
	/* Keep the first of each (ip, port): the best copy. */
	for (size_t i = 0; i < n; i++) {
		if (w && v[i].ip == v[w - 1].ip && v[i].port == v[w - 1].port)
			continue;
		v[w++] = v[i];
	}
	*out = v;
	*n_out = w;
	return 0;
}

/* The id of a backend address: ours, the maps' (first sync), or a new one. */
static struct be_rec *backend_rec(struct compile *c, uint32_t ip,
				  uint16_t port, uint8_t proto, int *err)
{
	struct sl_svc_state *st = c->st;
	struct be_rec *r;
	char k[32];

	be_rec_key(k, ip, port, proto);
	r = sl_table_get(&st->backend_ids, k);
	if (!r) {
		__u32 id = 0;

		if (c->be_hints)
			id = (__u32)(uintptr_t)sl_table_get(c->be_hints, k);
		if (!id) {
			/* 2^32 ids: a backend a second for 136 years. */
			if (st->next_backend_id == UINT32_MAX) {
				log_error("services: backend ids exhausted");
				*err = -EOVERFLOW;
				return NULL;
			}
			id = ++st->next_backend_id;
		}
		r = calloc(1, sizeof(*r));
		if (!r || sl_table_put(&st->backend_ids, k, r, NULL)) {
			free(r);
			*err = -ENOMEM;
			return NULL;
		}
		r->id = id;
		r->ip = ip;
		r->port = port;
		r->proto = proto;
	}
	if (r->gen != st->gen) {
		if (GROW(c->be, c->cap_be, c->n_be)) {
			*err = -ENOMEM;
			return NULL;
		}
		c->be[c->n_be++] = r;
		r->gen = st->gen;
		r->ready = r->local = false;
	}
	return r;
}

static const struct sl_svc_entry *find_entry(const struct sl_svc_entry *v,
					     size_t n,
					     const struct sl_service_key *k)
{
	struct sl_svc_entry want = { .key = *k };

	return n ? bsearch(&want, v, n, sizeof(*v), entry_cmp) : NULL;
}

/*
 * The id of a Service port: ours, else the one its frontends carry in the
 * maps (first sync, when no other port took it already), else a new one.
 */
static int service_id(struct compile *c, const char *name,
		      const struct plan *plans, size_t n_plans, __u32 *out)
{
	struct sl_svc_state *st = c->st;
	struct svc_rec *r = sl_table_get(&st->svc_ids, name);
	char idk[12];

	if (!r) {
		__u32 id = 0;

		for (size_t i = 0; !id && c->dumped && i < n_plans; i++) {
			const struct sl_svc_entry *e;

			e = find_entry(c->dumped, c->n_dumped, &plans[i].key);
			svc_id_key(idk, e ? e->val.svc_id : 0);
			if (e && e->val.svc_id &&
			    !sl_table_get(&st->svc_names, idk))
				id = e->val.svc_id;
		}
		if (!id) {
			if (st->next_svc_id == UINT32_MAX) {
				log_error("services: service ids exhausted");
				return -EOVERFLOW;
			}
			id = ++st->next_svc_id;
		}
		r = malloc(sizeof(*r) + strlen(name) + 1);
		if (!r)
			return -ENOMEM;
		r->id = id;
		strcpy(r->name, name);
		svc_id_key(idk, id);
		if (sl_table_put(&st->svc_ids, name, r, NULL)) {
			free(r);
			return -ENOMEM;
		}
		if (sl_table_put(&st->svc_names, idk, r, NULL)) {
			sl_table_del(&st->svc_ids, name);
			free(r);
			return -ENOMEM;
		}
	}
	r->gen = st->gen;
	*out = r->id;
	return 0;
}

static int add_plan(struct plan **v, size_t *n, size_t *cap, uint32_t addr,
		    uint16_t port, uint8_t proto, uint8_t scope, __u16 flags,
		    bool local_set)
{
	struct plan *p;

	if (GROW(*v, *cap, *n))
		return -ENOMEM;
	p = &(*v)[(*n)++];
	memset(p, 0, sizeof(*p));
	p->key.addr = htonl(addr);
	p->key.port = htons(port);
	p->key.proto = proto;
	p->key.scope = scope;
	p->flags = flags;
	p->local_set = local_set;
	return 0;
}

/*
 * An external address (external IP, LB IP, node address): with eTP Local,
 * outside traffic gets the local set and this node's own traffic looks
 * again with SCOPE_INT and gets the cluster set (kube-proxy's short
 * circuit); otherwise one entry with the cluster set.
 */
static int add_external(struct plan **v, size_t *n, size_t *cap,
			const struct sl_service *s, uint32_t addr,
			uint16_t port, uint8_t proto, __u16 flags)
{
	if (!s->etp_local)
		return add_plan(v, n, cap, addr, port, proto, SL_SCOPE_EXT,
				flags, false);
	return add_plan(v, n, cap, addr, port, proto, SL_SCOPE_EXT,
			flags | SL_SVC_F_TWO_SCOPES | SL_SVC_F_LOCAL, true) ?:
	       add_plan(v, n, cap, addr, port, proto, SL_SCOPE_INT, flags,
			false);
}

static int plan_frontends(const struct compile *c, const struct sl_service *s,
			  const struct sl_service_port *sp, __u16 base,
			  struct plan **v, size_t *n)
{
	__u16 ext = base | SL_SVC_F_EXTERNAL;
	size_t cap = 0;
	int err = 0;

	/* ClusterIP traffic is internal: iTP decides, one scope. */
	if (s->cluster_ip)
		err = add_plan(v, n, &cap, s->cluster_ip, sp->port,
			       sp->protocol, SL_SCOPE_EXT,
			       base | (s->itp_local ? SL_SVC_F_LOCAL : 0),
			       s->itp_local);
	for (size_t i = 0; !err && i < s->n_external_ips; i++)
		err = add_external(v, n, &cap, s, s->external_ips[i], sp->port,
				   sp->protocol, ext);
	for (size_t i = 0; !err && i < s->n_lb_ips; i++)
		err = add_external(v, n, &cap, s, s->lb_ips[i], sp->port,
				   sp->protocol, ext);
	/* As kube-proxy: a nodePort is served whatever the type says. */
	for (size_t i = 0; !err && sp->node_port && i < c->cfg->n_node_ips; i++)
		err = add_external(v, n, &cap, s, c->cfg->node_ips[i],
				   sp->node_port, sp->protocol,
				   ext | SL_SVC_F_NODEPORT);
	return err;
}

static bool use_maglev(const struct compile *c, const struct sl_service *s)
{
	const char *alg = str(s->lb_algorithm);

	if (!strcmp(alg, "maglev"))
		return true;
	if (!strcmp(alg, "random"))
		return false;
	/* "" is the default; the decoder refuses anything else. */
	return c->cfg->maglev_default;
}

/* The ready endpoints (of this node, or all), else the serving and
 * terminating ones; ids in address order. */
/*
 * Topology hints, as kube-proxy's CanUseTopology: used only when every
 * ready endpoint carries zone hints and at least one names this node's
 * zone; then only those serve, with no fallback to the others.
 */
static bool use_hints(const struct cand *v, size_t n)
{
	bool any_here = false, any_ready = false;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].ready)
			continue;
		any_ready = true;
		if (!v[i].hinted)
			return false;
		any_here |= v[i].hinted_here;
	}
	return any_ready && any_here;
}

static size_t pick(const struct cand *v, size_t n, bool local_only,
		   __u32 *out)
{
	bool hints = !local_only && use_hints(v, n);
	size_t k = 0;

	for (int fallback = 0; fallback < 2 && !k; fallback++)
		for (size_t i = 0; i < n; i++) {
			if (local_only && !v[i].local)
				continue;
			if (fallback ? v[i].serving && v[i].terminating :
				       v[i].ready && (!hints || v[i].hinted_here))
				out[k++] = v[i].rec->id;
		}
	return k;
}

static int compile_port(struct compile *c, const struct sl_service *s,
			const struct group *g, const struct sl_service_port *sp)
{
	struct cand *cands = NULL;
	struct plan *plans = NULL;
	__u32 *cluster = NULL, *local = NULL, svc_id;
	size_t n_cands = 0, n_plans = 0, n_cluster = 0, n_local = 0, need;
	__u16 base = 0;
	char *name = NULL;
	int err;

	if (s->affinity)
		base |= SL_SVC_F_AFFINITY;
	if (use_maglev(c, s))
		base |= SL_SVC_F_MAGLEV;
	err = plan_frontends(c, s, sp, base, &plans, &n_plans);
	if (err || !n_plans)
		goto out;
	err = gather(c, g, sp, &cands, &n_cands);
	if (err)
		goto out;
	/* "ns/name:port/TCP", or "ns/name/TCP" for an unnamed port. */
	if (asprintf(&name, "%s/%s%s%s/%s", str(s->ns), str(s->name),
		     sp->name && sp->name[0] ? ":" : "", str(sp->name),
		     sl_proto_name(sp->protocol)) < 0) {
		name = NULL;
		err = -ENOMEM;
		goto out;
	}
	/* A Service port the maps cannot hold whole is left out whole:
	 * half of its frontends would be worse than none. */
	need = n_plans * (1 + (n_cands < SL_SERVICE_SLOTS_MAX ?
				       n_cands : SL_SERVICE_SLOTS_MAX));
	if (c->n_entries + need > SL_SERVICES_MAX ||
	    c->n_be + n_cands > SL_BACKENDS_MAX) {
		log_warn("services: %s needs %zu entries and %zu backends, "
			 "more than the maps have left; ignoring",
			 name, need, n_cands);
		c->dropped++;
		goto out;
	}
	c->n_entries += need;

	/* Every endpoint gets a backend, ready or not: connections already
	 * tracked to a terminating one keep their way to it. */
	for (size_t i = 0; i < n_cands; i++) {
		struct be_rec *r = backend_rec(c, cands[i].ip, cands[i].port,
					       sp->protocol, &err);

		if (!r)
			goto out;
		cands[i].rec = r;
		r->ready |= cands[i].ready;
		r->local |= cands[i].local;
	}

	/*
	 * SPECS D.3: the cluster set is the ready endpoints (narrowed to
	 * this zone's by topology hints, see use_hints()), else the serving
	 * and terminating ones; the local set the same among this node's.
	 */
	cluster = calloc(n_cands ? n_cands : 1, sizeof(*cluster));
	local = calloc(n_cands ? n_cands : 1, sizeof(*local));
	if (!cluster || !local) {
		err = -ENOMEM;
		goto out;
	}
	n_cluster = pick(cands, n_cands, false, cluster);
	n_local = pick(cands, n_cands, true, local);
	if (n_cluster > SL_SERVICE_SLOTS_MAX) {
		log_warn("services: %s has %zu endpoints, more than %u; "
			 "using the first by address",
			 name, n_cluster, SL_SERVICE_SLOTS_MAX);
		n_cluster = SL_SERVICE_SLOTS_MAX;
	}
	if (n_local > SL_SERVICE_SLOTS_MAX)
		n_local = SL_SERVICE_SLOTS_MAX;

	err = service_id(c, name, plans, n_plans, &svc_id);
	if (err)
		goto out;
	for (size_t i = 0; i < n_plans; i++) {
		size_t cnt = plans[i].local_set ? n_local : n_cluster;
		const __u32 *set = plans[i].local_set ? local : cluster;
		struct fe_tmp *f;

		if (GROW(c->fe, c->cap_fe, c->n_fe)) {
			err = -ENOMEM;
			goto out;
		}
		f = &c->fe[c->n_fe];
		memset(f, 0, sizeof(*f));
		f->f.backends = malloc((cnt ? cnt : 1) * sizeof(__u32));
		if (!f->f.backends) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(f->f.backends, set, cnt * sizeof(__u32));
		f->f.key = plans[i].key;
		f->f.val.svc_id = svc_id;
		f->f.val.count = (__u16)cnt;
		f->f.val.flags = plans[i].flags;
		if (plans[i].local_set && !n_local && n_cluster)
			f->f.val.flags |= SL_SVC_F_REMOTE_ONLY;
		if (s->affinity)
			f->f.val.affinity_timeout = s->affinity_timeout;
		f->seq = c->n_fe++;
	}
out:
	free(name);
	free(cluster);
	free(local);
	free(cands);
	free(plans);
	return err;
}

/*
 * Services the proxy leaves alone (ShouldSkipService, plus those another
 * proxy claims); a Service with no IPv4 address of ours at all ends up
 * with no frontends and is skipped in compile_port.
 */
static bool skip_service(const struct sl_service *s)
{
	return (s->proxy_name && s->proxy_name[0]) || s->headless ||
	       s->type == SL_SVC_EXTERNAL_NAME;
}

static int svc_obj_cmp(const void *a, const void *b)
{
	const struct sl_model_obj *x = *(const struct sl_model_obj *const *)a;
	const struct sl_model_obj *y = *(const struct sl_model_obj *const *)b;

	return strcmp(x->obj.key, y->obj.key);
}

static int fe_tmp_cmp(const void *a, const void *b)
{
	const struct fe_tmp *x = a, *y = b;
	int r = key_cmp(&x->f.key, &y->f.key);

	return r ? r : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* Two Service ports claiming one frontend: the first compiled keeps it. */
static void drop_clashes(struct compile *c)
{
	size_t w = 0;

	if (c->n_fe)
		qsort(c->fe, c->n_fe, sizeof(*c->fe), fe_tmp_cmp);
	for (size_t i = 0; i < c->n_fe; i++) {
		struct fe_tmp *f = &c->fe[i];

		if (w && !key_cmp(&c->fe[w - 1].f.key, &f->f.key)) {
			const struct sl_svc_frontend *keep = &c->fe[w - 1].f;

			/* The same port listing an address twice is no
			 * clash, just a repeat. */
			if (keep->val.svc_id != f->f.val.svc_id) {
				const struct sl_svc_state *st = c->st;
				char ip[16];

				sl_ip4_to_str(ntohl(f->f.key.addr), ip);
				log_warn("services: %s:%u/%s is claimed by %s "
					 "and %s; ignoring the second",
					 ip, ntohs(f->f.key.port),
					 sl_proto_name(f->f.key.proto),
					 str(sl_svc_name(st, keep->val.svc_id)),
					 str(sl_svc_name(st, f->f.val.svc_id)));
				c->dropped++;
			}
			free(f->f.backends);
			continue;
		}
		c->fe[w++] = *f;
	}
	c->n_fe = w;
}

static int compile(struct compile *c)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_SERVICE];
	const struct sl_model_obj **svcs = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	void *val;
	int err;

	err = index_slices(c);
	if (err)
		return err;
	/* In key order, so the same model compiles to the same maps. */
	for (size_t i = 0; sl_table_next(t, &i, &key, &val);) {
		if (GROW(svcs, cap, n)) {
			free(svcs);
			return -ENOMEM;
		}
		svcs[n++] = val;
	}
	if (n)
		qsort(svcs, n, sizeof(*svcs), svc_obj_cmp);
	for (size_t i = 0; !err && i < n; i++) {
		const struct sl_service *s = &svcs[i]->obj.svc;
		const struct group *g;

		if (skip_service(s))
			continue;
		g = sl_table_get(&c->groups, svcs[i]->obj.key);
		for (size_t p = 0; !err && p < s->n_ports; p++)
			if (s->ports[p].port)
				err = compile_port(c, s, g, &s->ports[p]);
	}
	free(svcs);
	if (!err)
		drop_clashes(c);
	return err;
}

static void free_frontends(struct sl_svc_frontend *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].backends);
	free(v);
}

/* --- sync ----------------------------------------------------------------- */

struct entries {
	struct sl_svc_entry *v;
	size_t n, cap;
};

struct be_entries {
	struct sl_svc_backend_entry *v;
	size_t n, cap;
};

static int push_entry(struct entries *e, const struct sl_service_key *k,
		      const struct sl_service_val *v)
{
	if (GROW(e->v, e->cap, e->n))
		return -ENOMEM;
	e->v[e->n].key = *k;
	e->v[e->n++].val = *v;
	return 0;
}

static int push_be(struct be_entries *e, __u32 id, const struct sl_backend *b)
{
	if (GROW(e->v, e->cap, e->n))
		return -ENOMEM;
	e->v[e->n].id = id;
	e->v[e->n++].be = *b;
	return 0;
}

static int collect_entry(const struct sl_service_key *k,
			 const struct sl_service_val *v, void *arg)
{
	return push_entry(arg, k, v);
}

static int collect_be(__u32 id, const struct sl_backend *b, void *arg)
{
	return push_be(arg, id, b);
}

/* Frontends and their slots, already in key order. */
static int flatten(const struct fe_tmp *fe, size_t n, struct entries *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct sl_svc_frontend *f = &fe[i].f;
		struct sl_service_key k = f->key;
		int err = push_entry(out, &k, &f->val);

		for (__u16 s = 1; !err && s <= f->val.count; s++) {
			struct sl_service_val v = {
				.backend_id = f->backends[s - 1],
				.svc_id = f->val.svc_id,
			};

			k.slot = s;
			err = push_entry(out, &k, &v);
		}
		if (err)
			return err;
	}
	return 0;
}

static int wanted_backends(const struct compile *c, struct be_entries *out)
{
	for (size_t i = 0; i < c->n_be; i++) {
		const struct be_rec *r = c->be[i];
		struct sl_backend b = {
			.addr = htonl(r->ip),
			.port = htons(r->port),
			.proto = r->proto,
		};

		/*
		 * Not ready (for any Service port that has it): no new
		 * connection but through a fallback slot. Not only the
		 * terminating ones: the datapath's ClientIP affinity skips a
		 * flagged backend, and must not stick to one whose readiness
		 * probe fails either.
		 */
		if (!r->ready)
			b.flags |= SL_BE_F_TERMINATING;
		if (r->local)
			b.flags |= SL_BE_F_LOCAL;
		if (push_be(out, r->id, &b))
			return -ENOMEM;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), be_entry_cmp);
	return 0;
}

/* Packed arrays for one batch call. */
struct batch {
	struct sl_service_key *keys;
	struct sl_service_val *vals;
	__u32 *ids;
	struct sl_backend *bes;
	size_t n;
};

static int batch_alloc(struct batch *b, size_t n, bool svc)
{
	n = n ? n : 1;
	if (svc) {
		b->keys = calloc(n, sizeof(*b->keys));
		b->vals = calloc(n, sizeof(*b->vals));
		return b->keys && b->vals ? 0 : -ENOMEM;
	}
	b->ids = calloc(n, sizeof(*b->ids));
	b->bes = calloc(n, sizeof(*b->bes));
	return b->ids && b->bes ? 0 : -ENOMEM;
}

static void batch_free(struct batch *b)
{
	free(b->keys);
	free(b->vals);
	free(b->ids);
	free(b->bes);
}

/* A Maglev table to write: its id and the frontend whose backends fill it. */
struct table_write {
	__u32 id;
	const struct sl_svc_frontend *f;
};

/* One sync's writes, each batch in the order it is applied. */
struct writes {
	struct batch backends; /* new and changed */
	struct batch slots;    /* new and changed */
	struct table_write *tables; /* new and changed, by frontend */
	size_t n_tables;
	struct batch fronts;   /* new and changed, SCOPE_INT ones first */
	struct batch gone;     /* frontends, then slots */
	__u32 *gone_tables;    /* by id */
	size_t n_gone_tables;
	struct batch gone_be;
	size_t gone_fronts;    /* how many of gone are frontends */
};

static void writes_free(struct writes *w)
{
	batch_free(&w->backends);
	batch_free(&w->slots);
	free(w->tables);
	batch_free(&w->fronts);
	batch_free(&w->gone);
	free(w->gone_tables);
	batch_free(&w->gone_be);
}

/* Both sorted by key / id, as the mirror and the compile are. */
struct view {
	const struct sl_svc_entry *svc;
	size_t n;
	const struct sl_svc_backend_entry *be;
	size_t n_be;
};

static void diff_backends(const struct view *want, const struct view *cur,
			  struct writes *w)
{
	for (size_t i = 0, j = 0; i < want->n_be; i++) {
		const struct sl_svc_backend_entry *e = &want->be[i];

		while (j < cur->n_be && cur->be[j].id < e->id)
			j++;
		if (j < cur->n_be && cur->be[j].id == e->id &&
		    !memcmp(&cur->be[j].be, &e->be, sizeof(e->be)))
			continue;
		w->backends.ids[w->backends.n] = e->id;
		w->backends.bes[w->backends.n++] = e->be;
	}
	for (size_t i = 0, j = 0; j < cur->n_be; j++) {
		while (i < want->n_be && want->be[i].id < cur->be[j].id)
			i++;
		if (i < want->n_be && want->be[i].id == cur->be[j].id)
			continue;
		w->gone_be.ids[w->gone_be.n++] = cur->be[j].id;
	}
}

static void diff_services(const struct view *want, const struct view *cur,
			  struct writes *w)
{
	/* New and changed slots apart from frontends, since slots go first;
	 * SCOPE_INT frontends in a first pass, so a frontend saying "look
	 * again with SCOPE_INT" never finds its twin missing. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0, j = 0; i < want->n; i++) {
			const struct sl_svc_entry *e = &want->svc[i];
			struct batch *b = e->key.slot ? &w->slots : &w->fronts;

			if (e->key.slot ? pass :
			    pass != (e->key.scope == SL_SCOPE_EXT))
				continue;
			while (j < cur->n &&
			       key_cmp(&cur->svc[j].key, &e->key) < 0)
				j++;
			if (j < cur->n && !key_cmp(&cur->svc[j].key, &e->key) &&
			    !memcmp(&cur->svc[j].val, &e->val, sizeof(e->val)))
				continue;
			b->keys[b->n] = e->key;
			b->vals[b->n++] = e->val;
		}
	/* Gone: frontends in a first pass, then slots, so no frontend left
	 * standing counts a slot that is gone; surplus slots of frontends
	 * that stay follow their lowered count, written before. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0, j = 0; j < cur->n; j++) {
			const struct sl_service_key *k = &cur->svc[j].key;

			if (pass != !!k->slot)
				continue;
			while (i < want->n && key_cmp(&want->svc[i].key, k) < 0)
				i++;
			if (i < want->n && !key_cmp(&want->svc[i].key, k))
				continue;
			w->gone.keys[w->gone.n++] = *k;
			w->gone_fronts += !k->slot;
		}
}

static int diff(const struct view *want, const struct view *cur,
		struct writes *w)
{
	if (batch_alloc(&w->backends, want->n_be, false) ||
	    batch_alloc(&w->gone_be, cur->n_be, false) ||
	    batch_alloc(&w->slots, want->n, true) ||
	    batch_alloc(&w->fronts, want->n, true) ||
	    batch_alloc(&w->gone, cur->n, true))
		return -ENOMEM;
	diff_backends(want, cur, w);
	diff_services(want, cur, w);
	return 0;
}

/* --- Maglev tables -------------------------------------------------------- */

/* Table ids 0..SL_MAGLEV_TABLES_MAX, one bit each. */
#define TABLE_WORDS (SL_MAGLEV_TABLES_MAX / 64 + 1)

static bool id_test(const uint64_t *bits, __u32 id)
{
	return id <= SL_MAGLEV_TABLES_MAX && ((bits[id / 64] >> (id % 64)) & 1);
}

static void id_set(uint64_t *bits, __u32 id)
{
	if (id <= SL_MAGLEV_TABLES_MAX)
		bits[id / 64] |= 1ull << (id % 64);
}

static int maglev_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct sl_svc_maglev *)a)->table_id;
	__u32 y = ((const struct sl_svc_maglev *)b)->table_id;

	return x < y ? -1 : x > y;
}

static struct sl_svc_maglev *find_table(const struct sl_svc_state *st,
					__u32 id)
{
	struct sl_svc_maglev want = { .table_id = id };

	return st->n_maglev ? bsearch(&want, st->maglev, st->n_maglev,
				      sizeof(want), maglev_cmp) :
			      NULL;
}

static void forget_tables(struct sl_svc_state *st)
{
	for (size_t i = 0; i < st->n_maglev; i++)
		free(st->maglev[i].backends);
	free(st->maglev);
	st->maglev = NULL;
	st->n_maglev = 0;
}

struct table_dump {
	struct sl_svc_maglev *v;
	size_t n, cap;
};

static int collect_table(__u32 table_id, __u32 inner_id, void *arg)
{
	struct table_dump *d = arg;

	if (GROW(d->v, d->cap, d->n))
		return -ENOMEM;
	d->v[d->n++] = (struct sl_svc_maglev){ .table_id = table_id,
					       .inner_id = inner_id };
	return 0;
}

/*
 * What sl_maglev holds: each table id with its inner map. What we know of
 * a table's content stands while its inner map is still the one we wrote;
 * any other (a restart, someone else's write) is unknown until read back.
 */
static int dump_tables(const struct sl_svc_backend *be,
		       struct sl_svc_state *st)
{
	struct table_dump d = {};
	int err;

	if (be->dump_maglev) {
		err = be->dump_maglev(be, collect_table, &d);
		if (err) {
			free(d.v);
			return err;
		}
	}
	if (d.n)
		qsort(d.v, d.n, sizeof(*d.v), maglev_cmp);
	for (size_t i = 0; i < d.n; i++) {
		struct sl_svc_maglev *old = find_table(st, d.v[i].table_id);

		if (old && old->backends && old->inner_id == d.v[i].inner_id) {
			d.v[i].backends = old->backends;
			d.v[i].n = old->n;
			old->backends = NULL;
		}
	}
	forget_tables(st);
	st->maglev = d.v;
	st->n_maglev = d.n;
	return 0;
}

/* Table id now holds inner map inner_id, computed from these backends. */
static int note_table(struct sl_svc_state *st, __u32 id, __u32 inner_id,
		      const __u32 *backends, size_t n)
{
	struct sl_svc_maglev *r = find_table(st, id);
	__u32 *copy = malloc((n ? n : 1) * sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	memcpy(copy, backends, n * sizeof(*copy));
	if (!r) {
		struct sl_svc_maglev *v;
		size_t at = 0;

		v = reallocarray(st->maglev, st->n_maglev + 1, sizeof(*v));
		if (!v) {
			free(copy);
			return -ENOMEM;
		}
		st->maglev = v;
		while (at < st->n_maglev && v[at].table_id < id)
			at++;
		memmove(&v[at + 1], &v[at], (st->n_maglev - at) * sizeof(*v));
		st->n_maglev++;
		r = &v[at];
		*r = (struct sl_svc_maglev){ .table_id = id };
	}
	free(r->backends);
	r->backends = copy;
	r->n = n;
	r->inner_id = inner_id;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The tables of these ids (sorted) are gone from the map. */
static void drop_tables(struct sl_svc_state *st, const __u32 *ids, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < st->n_maglev; i++) {
		struct sl_svc_maglev *r = &st->maglev[i];

		if (bsearch(&r->table_id, ids, n, sizeof(*ids), u32_cmp)) {
			free(r->backends);
			continue;
		}
		st->maglev[w++] = *r;
	}
	st->n_maglev = w;
}

/*
 * Table ids for the Maglev frontends with backends, in the frontends'
 * backend_id: the one a frontend names in the maps already (the first
 * frontend in key order, should two name one), else the lowest id that no
 * table and no frontend in the maps uses (a frontend about to go reads its
 * table until it is gone, and must never read another's). Out of ids, a
 * frontend gets none and picks at random. Sets the ids given in taken.
 */
static void assign_tables(struct compile *c, const struct view *cur,
			  const struct sl_svc_backend *be, uint64_t *taken)
{
	const struct sl_svc_state *st = c->st;
	uint64_t used[TABLE_WORDS] = { 0 };
	unsigned int missed = 0;
	__u32 next = 1;

	for (size_t i = 0; i < st->n_maglev; i++)
		id_set(used, st->maglev[i].table_id);
	for (size_t i = 0; i < cur->n; i++)
		if (!cur->svc[i].key.slot &&
		    (cur->svc[i].val.flags & SL_SVC_F_MAGLEV))
			id_set(used, cur->svc[i].val.backend_id);
	for (size_t i = 0; i < c->n_fe; i++) {
		struct sl_svc_frontend *f = &c->fe[i].f;
		const struct sl_svc_entry *e;
		__u32 id = 0;

		if (!(f->val.flags & SL_SVC_F_MAGLEV) || !f->val.count ||
		    !be->write_maglev)
			continue;
		e = find_entry(cur->svc, cur->n, &f->key);
		if (e && (e->val.flags & SL_SVC_F_MAGLEV) &&
		    e->val.backend_id &&
		    e->val.backend_id <= SL_MAGLEV_TABLES_MAX &&
		    !id_test(taken, e->val.backend_id))
			id = e->val.backend_id;
		for (; !id && next <= SL_MAGLEV_TABLES_MAX; next++)
			if (!id_test(used, next) && !id_test(taken, next))
				id = next;
		if (!id) {
			missed++;
			continue;
		}
		id_set(taken, id);
		f->val.backend_id = id;
	}
	if (missed)
		log_warn("services: %u Maglev frontends beyond the %u tables "
			 "sl_maglev holds pick at random; ignoring",
			 missed, SL_MAGLEV_TABLES_MAX);
}

/* Tables whose frontend's backends changed (or that we do not know), and
 * the tables no frontend names any more. */
static int diff_tables(const struct compile *c, const struct sl_svc_state *st,
		       const uint64_t *taken, struct writes *w)
{
	w->tables = calloc(c->n_fe ? c->n_fe : 1, sizeof(*w->tables));
	w->gone_tables = calloc(st->n_maglev ? st->n_maglev : 1,
				sizeof(*w->gone_tables));
	if (!w->tables || !w->gone_tables)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_fe; i++) {
		const struct sl_svc_frontend *f = &c->fe[i].f;
		const struct sl_svc_maglev *r;
		__u32 id = f->val.backend_id;

		if (!id)
			continue;
		r = find_table(st, id);
		if (r && r->backends && r->n == f->val.count &&
		    !memcmp(r->backends, f->backends, r->n * sizeof(__u32)))
			continue;
		w->tables[w->n_tables++] = (struct table_write){ id, f };
	}
	for (size_t i = 0; i < st->n_maglev; i++)
		if (!id_test(taken, st->maglev[i].table_id))
			w->gone_tables[w->n_gone_tables++] =
				st->maglev[i].table_id;
	return 0;
}

/* The table of f's backends, by their addresses from the wanted ones. */
static int compute_table(const struct view *want,
			 const struct sl_svc_frontend *f, __u32 *lut)
{
	struct sl_maglev_backend *v = calloc(f->val.count, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < f->val.count; i++) {
		struct sl_svc_backend_entry k = { .id = f->backends[i] };
		const struct sl_svc_backend_entry *e;

		e = bsearch(&k, want->be, want->n_be, sizeof(k), be_entry_cmp);
		if (!e) { /* every slot's backend is wanted */
			err = -EINVAL;
			goto out;
		}
		v[i] = (struct sl_maglev_backend){ .id = e->id,
						   .ip = ntohl(e->be.addr),
						   .port = ntohs(e->be.port),
						   .proto = e->be.proto };
	}
	err = sl_maglev_fill(v, f->val.count, lut);
out:
	free(v);
	return err;
}

static bool same_backends(const struct sl_svc_frontend *a,
			  const struct sl_svc_frontend *b)
{
	return a->val.count == b->val.count &&
	       !memcmp(a->backends, b->backends, a->val.count * sizeof(__u32));
}

/*
 * New and changed tables, each in a new inner map swapped in whole. The
 * frontends of one Service port mostly have the same backends: a run of
 * them costs one computation. A table found in the map that we do not know
 * (after a restart) is read back first, and kept when it is what we would
 * write. The state follows each write, so it holds even if a later one
 * fails.
 */
static int write_tables(const struct sl_svc_backend *be,
			const struct writes *w, const struct view *want,
			struct sl_svc_state *st)
{
	const struct sl_svc_frontend *done = NULL;
	__u32 *lut = malloc(sizeof(struct sl_maglev_table));
	__u32 *old = malloc(sizeof(struct sl_maglev_table));
	int err = 0;

	if (!lut || !old) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w->n_tables; i++) {
		const struct table_write *t = &w->tables[i];
		const struct sl_svc_maglev *r = find_table(st, t->id);
		__u32 inner;

		if (!done || !same_backends(done, t->f)) {
			err = compute_table(want, t->f, lut);
			if (err)
				break;
			done = t->f;
		}
		if (r && !r->backends && be->read_maglev &&
		    !be->read_maglev(be, t->id, old) &&
		    !memcmp(old, lut, sizeof(struct sl_maglev_table))) {
			err = note_table(st, t->id, r->inner_id, t->f->backends,
					 t->f->val.count);
			if (err)
				break;
			st->last.tables_adopted++;
			continue;
		}
		err = be->write_maglev(be, t->id, lut, &inner);
		if (!err)
			err = note_table(st, t->id, inner, t->f->backends,
					 t->f->val.count);
		if (err)
			break;
		st->last.tables_written++;
	}
out:
	free(lut);
	free(old);
	return err;
}

/* In the order the datapath can read through; the first failure stops. */
static int apply(const struct sl_svc_backend *be, const struct writes *w,
		 const struct view *want, struct sl_svc_state *st)
{
	const char *what;
	size_t n;
	int err = 0;

	const struct batch *b;

	if ((n = (b = &w->backends)->n) &&
	    (err = be->write_backends(be, b->ids, b->bes, n)))
		what = "writing backends";
	else if ((n = (b = &w->slots)->n) &&
		 (err = be->write_services(be, b->keys, b->vals, n)))
		what = "writing slots";
	else if ((n = w->n_tables) && (err = write_tables(be, w, want, st)))
		what = "writing Maglev tables";
	else if ((n = (b = &w->fronts)->n) &&
		 (err = be->write_services(be, b->keys, b->vals, n)))
		what = "writing frontends";
	else if ((n = w->gone.n) &&
		 (err = be->remove_services(be, w->gone.keys, n)))
		what = "removing frontends and slots";
	else if ((n = w->n_gone_tables) &&
		 (err = be->remove_maglev(be, w->gone_tables, n)))
		what = "removing Maglev tables";
	if (!err) {
		drop_tables(st, w->gone_tables, w->n_gone_tables);
		if ((n = w->gone_be.n) &&
		    (err = be->remove_backends(be, w->gone_be.ids, n)))
			what = "removing backends";
	}
	/* The caller says it failed; this says where. */
	if (err)
		log_debug("services: %s (%zu): %s", what, n, strerror(-err));
	return err < 0 ? err : 0;
}

/* Ids no compile wants any more are forgotten; the counters never go
 * back, so a forgotten backend id is never handed out again. */
static void sweep_ids(struct sl_svc_state *st)
{
	const char *key;
	void *val;
	char idk[12];

	for (size_t i = 0; sl_table_next(&st->backend_ids, &i, &key, &val);)
		if (((struct be_rec *)val)->gen != st->gen) {
			sl_table_del(&st->backend_ids, key);
			free(val);
		}
	for (size_t i = 0; sl_table_next(&st->svc_ids, &i, &key, &val);) {
		struct svc_rec *r = val;

		if (r->gen == st->gen)
			continue;
		svc_id_key(idk, r->id);
		sl_table_del(&st->svc_names, idk);
		sl_table_del(&st->svc_ids, key);
		free(r);
	}
}

/* What the maps held at start: ids to adopt, counters to continue from. */
static int adopt_from(struct compile *c, const struct entries *svc,
		      const struct be_entries *bes, struct sl_table *hints)
{
	struct sl_svc_state *st = c->st;
	__u32 max_be = 0, max_svc = 0;
	char k[32];

	for (size_t i = 0; i < bes->n; i++) {
		const struct sl_backend *b = &bes->v[i].be;

		if (bes->v[i].id > max_be)
			max_be = bes->v[i].id;
		be_rec_key(k, ntohl(b->addr), ntohs(b->port), b->proto);
		/* Two ids for one address: the lower one is adopted. */
		if (!bes->v[i].id || sl_table_get(hints, k))
			continue;
		if (sl_table_put(hints, k, (void *)(uintptr_t)bes->v[i].id,
				 NULL))
			return -ENOMEM;
	}
	for (size_t i = 0; i < svc->n; i++) {
		const struct sl_service_val *v = &svc->v[i].val;

		if (svc->v[i].key.slot && v->backend_id > max_be)
			max_be = v->backend_id;
		if (v->svc_id > max_svc)
			max_svc = v->svc_id;
	}
	if (max_be > st->next_backend_id)
		st->next_backend_id = max_be;
	if (max_svc > st->next_svc_id)
		st->next_svc_id = max_svc;
	c->dumped = svc->v;
	c->n_dumped = svc->n;
	c->be_hints = hints;
	return 0;
}

static void count(struct sl_svc_stats *stats, const struct compile *c,
		  const struct view *want, const struct writes *w)
{
	stats->frontends = (unsigned int)c->n_fe;
	stats->backends = (unsigned int)want->n_be;
	stats->slots = (unsigned int)(want->n - c->n_fe);
	stats->frontends_written = (unsigned int)w->fronts.n;
	stats->slots_written = (unsigned int)w->slots.n;
	stats->backends_written = (unsigned int)w->backends.n;
	stats->frontends_removed = (unsigned int)w->gone_fronts;
	stats->slots_removed = (unsigned int)(w->gone.n - w->gone_fronts);
	stats->backends_removed = (unsigned int)w->gone_be.n;
	stats->tables = 0;
	for (size_t i = 0; i < c->n_fe; i++)
		stats->tables += !!c->fe[i].f.val.backend_id;
	stats->tables_removed = (unsigned int)w->n_gone_tables;
	stats->dropped = c->dropped;
	if (w->backends.n || w->slots.n || w->fronts.n || w->gone.n ||
	    w->gone_be.n)
		log_debug("services: %u frontends, %u slots, %u backends; "
			  "written %u/%u/%u, removed %u/%u/%u",
			  stats->frontends, stats->slots, stats->backends,
			  stats->frontends_written, stats->slots_written,
			  stats->backends_written, stats->frontends_removed,
			  stats->slots_removed, stats->backends_removed);
	if (w->n_tables || w->n_gone_tables)
		log_debug("services: %u Maglev tables; written %u, kept %u "
			  "from the map, removed %u",
			  stats->tables, stats->tables_written,
			  stats->tables_adopted, stats->tables_removed);
}

/* The maps now hold the compile: it becomes the mirror and the display. */
static int keep(struct sl_svc_state *st, struct compile *c,
		struct entries *want, struct be_entries *want_be)
{
	struct sl_svc_frontend *fronts;

	fronts = calloc(c->n_fe ? c->n_fe : 1, sizeof(*fronts));
	if (!fronts)
		return -ENOMEM; /* the maps are right, the mirror is lost */
	for (size_t i = 0; i < c->n_fe; i++)
		fronts[i] = c->fe[i].f;
	free_frontends(st->frontends, st->n_frontends);
	st->frontends = fronts;
	st->n_frontends = c->n_fe;
	c->n_fe = 0;
	free(st->mirror);
	st->mirror = want->v;
	st->n_mirror = want->n;
	want->v = NULL;
	free(st->be_mirror);
	st->be_mirror = want_be->v;
	st->n_be_mirror = want_be->n;
	want_be->v = NULL;
	sweep_ids(st);
	st->valid = true;
	return 0;
}

int sl_services_sync(const struct sl_svc_backend *be, const struct sl_model *m,
		     const struct sl_svc_config *cfg, struct sl_svc_state *st)
{
	struct compile c = { .m = m, .cfg = cfg, .st = st };
	struct entries dumped = {}, want = {};
	struct be_entries dumped_be = {}, want_be = {};
	struct view cur = { st->mirror, st->n_mirror, st->be_mirror,
			    st->n_be_mirror };
	struct view wanted;
	struct writes w = {};
	struct sl_table hints = {};
	uint64_t taken[TABLE_WORDS] = { 0 }; /* table ids of this compile */
	bool adopting = !st->adopted;
	int err;

	memset(&st->last, 0, sizeof(st->last));
	/* The maps are read back only when we cannot vouch for them: at
	 * start (also to adopt their ids), after a failed write, and on a
	 * periodic resync. Otherwise they hold what the last sync wrote. */
	if (!st->valid || adopting) {
		err = be->dump_services(be, collect_entry, &dumped);
		if (!err)
			err = be->dump_backends(be, collect_be, &dumped_be);
		if (!err)
			err = dump_tables(be, st);
		if (err)
			goto out;
		if (dumped.n)
			qsort(dumped.v, dumped.n, sizeof(*dumped.v), entry_cmp);
		if (dumped_be.n)
			qsort(dumped_be.v, dumped_be.n, sizeof(*dumped_be.v),
			      be_entry_cmp);
		cur = (struct view){ dumped.v, dumped.n, dumped_be.v,
				     dumped_be.n };
	}
	st->valid = false; /* until this sync completes */
	if (adopting && (err = adopt_from(&c, &dumped, &dumped_be, &hints)))
		goto out;
	st->gen++;
	err = compile(&c);
	if (err)
		goto out;
	st->adopted = true;
	assign_tables(&c, &cur, be, taken);
	err = flatten(c.fe, c.n_fe, &want) ?: wanted_backends(&c, &want_be);
	if (err)
		goto out;
	wanted = (struct view){ want.v, want.n, want_be.v, want_be.n };
	err = diff(&wanted, &cur, &w) ?: diff_tables(&c, st, taken, &w) ?:
	      apply(be, &w, &wanted, st);
	if (err)
		goto out;
	count(&st->last, &c, &wanted, &w);
	err = keep(st, &c, &want, &want_be);
out:
	if (err)
		memset(&st->last, 0, sizeof(st->last));
	for (size_t i = 0; i < c.n_fe; i++)
		free(c.fe[i].f.backends);
	free(c.fe);
	free(c.be);
	free_groups(&c.groups);
	sl_table_free(&hints);
	writes_free(&w);
	free(want.v);
	free(want_be.v);
	free(dumped.v);
	free(dumped_be.v);
	return err;
}

void sl_svc_state_invalidate(struct sl_svc_state *st)
{
	st->valid = false;
}

void sl_svc_state_free(struct sl_svc_state *st)
{
	const char *key;
	void *val;

	free(st->mirror);
	free(st->be_mirror);
	forget_tables(st);
	free_frontends(st->frontends, st->n_frontends);
	for (size_t i = 0; sl_table_next(&st->backend_ids, &i, &key, &val);)
		free(val);
	/* svc_names holds the same records. */
	for (size_t i = 0; sl_table_next(&st->svc_ids, &i, &key, &val);)
		free(val);
	sl_table_free(&st->backend_ids);
	sl_table_free(&st->svc_ids);
	sl_table_free(&st->svc_names);
	memset(st, 0, sizeof(*st));
}

const char *sl_svc_name(const struct sl_svc_state *st, __u32 svc_id)
{
	const struct svc_rec *r;
	char idk[12];

	svc_id_key(idk, svc_id);
	r = sl_table_get(&st->svc_names, idk);
	return r ? r->name : NULL;
}

const struct sl_backend *sl_svc_backend_get(const struct sl_svc_state *st,
					    __u32 id)
{
	struct sl_svc_backend_entry want = { .id = id };
	const struct sl_svc_backend_entry *e;

	if (!st->n_be_mirror)
		return NULL;
	e = bsearch(&want, st->be_mirror, st->n_be_mirror, sizeof(want),
		    be_entry_cmp);
	return e ? &e->be : NULL;
}

/* --- display -------------------------------------------------------------- */

static const char *const svc_flag_names[] = {
	"affinity", "two-scopes", "local", "maglev", "external", "nodeport",
	"remote-only",
};
static const char *const be_flag_names[] = { "terminating", "local" };

/* Bit i of flags named names[i]. */
static json_object *flag_list(unsigned int flags, const char *const *names,
			      size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (flags & (1u << i))
			json_object_array_add(a,
					      json_object_new_string(names[i]));
	return a;
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(str(val)));
}

static void add_int(json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

static json_object *backend_json(const struct sl_svc_state *st, __u32 id)
{
	const struct sl_backend *b = sl_svc_backend_get(st, id);
	json_object *o = json_object_new_object();
	char ip[16], buf[24];

	if (!o)
		return NULL;
	add_int(o, "id", id);
	if (b) {
		sl_ip4_to_str(ntohl(b->addr), ip);
		snprintf(buf, sizeof(buf), "%s:%u", ip, ntohs(b->port));
		add_str(o, "address", buf);
		json_object_object_add(o, "flags",
				       flag_list(b->flags, be_flag_names,
						 ARRAY_SIZE(be_flag_names)));
	}
	return o;
}

static json_object *frontend_json(const struct sl_svc_state *st,
				  const struct sl_svc_frontend *f)
{
	json_object *o = json_object_new_object(), *bes;
	__u16 port = ntohs(f->key.port);
	char ip[16], buf[40];

	if (!o)
		return NULL;
	sl_ip4_to_str(ntohl(f->key.addr), ip);
	snprintf(buf, sizeof(buf), "%s:%u/%s", ip, port,
		 sl_proto_name(f->key.proto));
	add_str(o, "frontend", buf);
	add_str(o, "address", ip);
	add_int(o, "port", port);
	add_str(o, "protocol", sl_proto_name(f->key.proto));
	add_str(o, "scope",
		f->key.scope == SL_SCOPE_INT ? "internal" : "external");
	add_str(o, "service", sl_svc_name(st, f->val.svc_id));
	add_int(o, "svcId", f->val.svc_id);
	json_object_object_add(o, "flags",
			       flag_list(f->val.flags, svc_flag_names,
					 ARRAY_SIZE(svc_flag_names)));
	add_int(o, "count", f->val.count);
	if (f->val.flags & SL_SVC_F_AFFINITY)
		add_int(o, "affinityTimeout", f->val.affinity_timeout);
	if ((f->val.flags & SL_SVC_F_MAGLEV) && f->val.backend_id)
		add_int(o, "maglevTable", f->val.backend_id);
	bes = json_object_new_array();
	for (size_t s = 0; bes && s < f->val.count; s++)
		json_object_array_add(bes, backend_json(st, f->backends[s]));
	json_object_object_add(o, "backends", bes);
	return o;
}

json_object *sl_svc_frontends_json(const struct sl_svc_state *st)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < st->n_frontends; i++) {
		json_object *o = frontend_json(st, &st->frontends[i]);

		if (!o) {
			json_object_put(arr);
			return NULL;
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

/* --- the pinned maps ------------------------------------------------------ */

static int bpf_dump_services(const struct sl_svc_backend *be,
			     int (*cb)(const struct sl_service_key *,
				       const struct sl_service_val *, void *),
			     void *arg)
{
	struct sl_service_key key, next;
	struct sl_service_val v;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(be->services_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->services_fd, &key, &v) < 0)
			continue;
		ret = cb(&key, &v, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_dump_backends(const struct sl_svc_backend *be,
			     int (*cb)(__u32, const struct sl_backend *,
				       void *),
			     void *arg)
{
	struct sl_backend b;
	__u32 key, next;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(be->backends_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->backends_fd, &key, &b) < 0)
			continue;
		ret = cb(key, &b, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_write_services(const struct sl_svc_backend *be,
			      const struct sl_service_key *keys,
			      const struct sl_service_val *vals, size_t n)
{
	return sl_map_update_many(be->services_fd, keys, vals, n,
				  sizeof(*keys), sizeof(*vals), NULL);
}

static int bpf_remove_services(const struct sl_svc_backend *be,
			       const struct sl_service_key *keys, size_t n)
{
	return sl_map_delete_many(be->services_fd, keys, n, sizeof(*keys));
}

static int bpf_write_backends(const struct sl_svc_backend *be,
			      const __u32 *ids, const struct sl_backend *vals,
			      size_t n)
{
	return sl_map_update_many(be->backends_fd, ids, vals, n, sizeof(*ids),
				  sizeof(*vals), NULL);
}

static int bpf_remove_backends(const struct sl_svc_backend *be,
			       const __u32 *ids, size_t n)
{
	return sl_map_delete_many(be->backends_fd, ids, n, sizeof(*ids));
}

static int bpf_dump_maglev(const struct sl_svc_backend *be,
			   int (*cb)(__u32, __u32, void *), void *arg)
{
	__u32 key, next, inner;
	void *prev = NULL;
	int ret;

	/* A map-in-map answers a lookup with the inner map's id. */
	while (bpf_map_get_next_key(be->maglev_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->maglev_fd, &key, &inner) < 0)
			continue;
		ret = cb(key, inner, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_read_maglev(const struct sl_svc_backend *be, __u32 table_id,
			   __u32 *table)
{
	__u32 inner_id, zero = 0;
	int fd, err = 0;

	if (bpf_map_lookup_elem(be->maglev_fd, &table_id, &inner_id) < 0)
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, table) < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * A new inner map, filled, then put in the outer map under the table id:
 * the swap replaces the old table in one step, and the kernel frees the
 * old one once no program can still be reading it. Our fd goes: the outer
 * map holds the table from then on.
 */
static int bpf_write_maglev(const struct sl_svc_backend *be, __u32 table_id,
			    const __u32 *table, __u32 *inner_id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev_lut", sizeof(zero),
			    sizeof(struct sl_maglev_table), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, table, BPF_ANY) < 0 ||
	    bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
	    bpf_map_update_elem(be->maglev_fd, &table_id, &fd, BPF_ANY) < 0)
		err = -errno;
	else
		*inner_id = info.id;
	close(fd);
	return err;
}

static int bpf_remove_maglev(const struct sl_svc_backend *be,
			     const __u32 *table_ids, size_t n)
{
	return sl_map_delete_many(be->maglev_fd, table_ids, n,
				  sizeof(*table_ids));
}

void sl_svc_backend_bpf(struct sl_svc_backend *be, int services_fd,
			int backends_fd, int maglev_fd)
{
	memset(be, 0, sizeof(*be));
	be->dump_services = bpf_dump_services;
	be->dump_backends = bpf_dump_backends;
	be->write_services = bpf_write_services;
	be->remove_services = bpf_remove_services;
	be->write_backends = bpf_write_backends;
	be->remove_backends = bpf_remove_backends;
	if (maglev_fd >= 0) {
		be->dump_maglev = bpf_dump_maglev;
		be->read_maglev = bpf_read_maglev;
		be->write_maglev = bpf_write_maglev;
		be->remove_maglev = bpf_remove_maglev;
	}
	be->services_fd = services_fd;
	be->backends_fd = backends_fd;
	be->maglev_fd = maglev_fd;
}

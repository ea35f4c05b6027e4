// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Services and EndpointSlices to sl_services / sl_backends / sl_maglev.
 *
 * A sync is: compile the model into frontends (slot 0), their slots and
 * the backends they name (a pure function of the model, the node's name
 * and addresses, and the id tables); give Maglev frontends their table
 * ids; diff that against the mirror of what the maps hold; write in the
 * order the ABI header promises readers.
 *
 * The compile is kept per Service (its unit), and a sync compiles again
 * only the Services whose object or slices changed since the last one (by
 * the model's log of changes, then by digest), diffing their old units
 * against the new ones. A Service's frontends and slots are its own but
 * for three things Services share, which that keeps as a full compile
 * would have them:
 * - a backend record is one per address, its flags summed over every
 *   Service port listing it: each unit keeps what its endpoints ask, and
 *   the record counts them;
 * - a frontend two Services claim is the first's by key: a unit in such a
 *   clash, or about to enter one, is compiled with all the others;
 * - the maps' limits and the Maglev table ids: who is left out depends on
 *   everything before it in key order, so once anything is, every sync
 *   compiles everything.
 * Anything else global (the config, a mirror not to be trusted) compiles
 * everything too.
 *
 * The pinned-map backend is in service_bpf.c, the JSON views of the
 * state in service_json.c.
 */
#include "service.h"
#include "service_int.h"
#include "ipv4.h"
#include "k8s_decode.h"
#include "log.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Frontends by key (slot 0 all), through pointers. */
static int fe_ptr_cmp(const void *a, const void *b)
{
	return key_cmp(&(*(const struct sl_svc_frontend *const *)a)->key,
		       &(*(const struct sl_svc_frontend *const *)b)->key);
}

static int fe_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct sl_svc_frontend *)a)->key,
		       &((const struct sl_svc_frontend *)b)->key);
}

/* --- ids ------------------------------------------------------------------ */

/*
 * One backend address and its id; in st->backend_ids and, by id, in
 * st->by_id. Its flags are what every Service port listing it says, so it
 * counts them: a unit adds its endpoints when compiled and takes them back
 * when compiled again or gone, and the flags follow the sums.
 */
struct be_rec {
	__u32 id;
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	bool written;   /* the maps hold be under id */
	unsigned int users, ready, local; /* endpoints listing it: all,
					   * ready, on this node */
	uint64_t touched; /* last sync whose compile changed the counts */
	struct sl_backend be;
};

/* One Service port and its id; in st->svc_ids and st->svc_names. */
struct svc_rec {
	__u32 id;
	uint64_t gen; /* last sync that compiled it */
	char name[];
};

static void be_rec_key(char buf[32], uint32_t ip, uint16_t port,
		       uint8_t proto)
{
	snprintf(buf, 32, "%08x:%u/%u", ip, port, proto);
}

static void id_key(char buf[12], __u32 id)
{
	snprintf(buf, 12, "%u", id);
}

/* --- backend records by id (st->by_id) ------------------------------------ */

/* Knuth's multiplicative hash (odd: a bijection on the slots), so ids
 * handed out one after the other never share a home slot. */
static size_t id_home(__u32 id, size_t cap)
{
	return (size_t)(__u32)(id * 2654435761u) & (cap - 1);
}

static void id_place(struct be_rec **v, size_t cap, struct be_rec *r)
{
	size_t i = id_home(r->id, cap);

	while (v[i])
		i = (i + 1) & (cap - 1);
	v[i] = r;
}

static struct be_rec **id_find(const struct sl_svc_state *st, __u32 id)
{
	struct be_rec **v = (struct be_rec **)st->by_id;
	size_t mask = st->by_id_cap - 1;

	if (!st->by_id_cap)
		return NULL;
	for (size_t i = id_home(id, st->by_id_cap); v[i]; i = (i + 1) & mask)
		if (v[i]->id == id)
			return &v[i];
	return NULL;
}

static int id_put(struct sl_svc_state *st, struct be_rec *r)
{
	if ((st->by_id_len + 1) * 4 > st->by_id_cap * 3) {
		size_t cap = st->by_id_cap ? st->by_id_cap * 2 : 64;
		struct be_rec **old = (struct be_rec **)st->by_id;
		struct be_rec **v = calloc(cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < st->by_id_cap; i++)
			if (old[i])
				id_place(v, cap, old[i]);
		free(old);
		st->by_id = (void **)v;
		st->by_id_cap = cap;
	}
	id_place((struct be_rec **)st->by_id, st->by_id_cap, r);
	st->by_id_len++;
	return 0;
}

/* Out of st->by_id, shifting back what probed past it (no tombstones). */
static void id_del(struct sl_svc_state *st, __u32 id)
{
	struct be_rec **v = (struct be_rec **)st->by_id, **s = id_find(st, id);
	size_t mask = st->by_id_cap - 1, i, j;

	if (!s)
		return;
	i = (size_t)(s - v);
	v[i] = NULL;
	st->by_id_len--;
	for (j = (i + 1) & mask; v[j]; j = (j + 1) & mask) {
		size_t h = id_home(v[j]->id, st->by_id_cap);

		/* v[j] moves into the hole when its probe from h passed i. */
		if (i <= j ? h <= i || h > j : h <= i && h > j) {
			v[i] = v[j];
			v[j] = NULL;
			i = j;
		}
	}
}

/* One endpoint of a compiled Service port: what it asks of its backend. */
struct use {
	struct be_rec *rec;
	bool ready, local;
};

/*
 * One Service as last compiled (a unit, in st->units): what went into it
 * and what came out, so that a change recompiles it alone and writes the
 * difference between its old and new frontends.
 */
struct unit {
	uint64_t digest;  /* of the Service object compiled */
	uint64_t seen;    /* last sync that found it in the model */
	uint64_t dirty;   /* last sync that compiled it again alone */
	struct sl_svc_frontend *fe; /* its frontends in the maps, by key */
	size_t n_fe;
	struct use *use;  /* its endpoints, port by port */
	size_t n_use, cap_use;
	struct svc_rec **ports; /* the ids of its Service ports */
	size_t n_ports, cap_ports;
	size_t need, cands; /* entries and endpoints, for the maps' limits */
	unsigned int dropped; /* its ports and frontends left out */
	bool clashed;     /* one of its frontends is claimed by another unit */
};

/* An EndpointSlice as the last sync saw it: its digest, and the Service
 * ("ns/service") it is for, NULL for none. */
struct slice_rec {
	char *key;
	char *group;
	uint64_t digest;
	uint64_t seen; /* last sync that found it in the model */
};

/* The slices of one "ns/service", in st->groups: by key, which is by name
 * (one namespace), the order the compile reads them in. */
struct slice_group {
	struct slice_rec **v;
	size_t n, cap;
};

/* Every value of t through free_val, then t. */
static void free_table(struct sl_table *t, void (*free_val)(void *))
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(t, &i, &key, &val);)
		free_val(val);
	sl_table_free(t);
}

static void free_unit(void *p)
{
	struct unit *u = p;

	if (!u)
		return;
	for (size_t i = 0; i < u->n_fe; i++)
		free(u->fe[i].backends);
	free(u->fe);
	free(u->use);
	free(u->ports);
	free(u);
}

static void free_group(void *p)
{
	free(((struct slice_group *)p)->v);
	free(p);
}

static void free_slice(void *p)
{
	struct slice_rec *r = p;

	free(r->group);
	free(r->key);
	free(r);
}

/* st->fronts is keyed by the frontend's key in hex. */
static void fe_key(char buf[20], const struct sl_service_key *k)
{
	snprintf(buf, 20, "%08x%04x%02x%02x", ntohl(k->addr), ntohs(k->port),
		 k->proto, k->scope);
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

	/* Every Service, in key order: the maps' limits apply in that order
	 * and clashes are settled as each unit comes; n_entries counts what
	 * the units before took. */
	bool all;
	size_t n_entries;
	bool capped; /* a Service port left out for the limits */
	struct fe_tmp *tmp; /* the frontends of the unit being compiled */
	size_t n_tmp, cap_tmp;
	struct sl_svc_frontend **fe; /* to write, by key once sorted */
	size_t n_fe, cap_fe;
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

/* The record of a backend address: ours, else new with the id the maps
 * gave it (first sync) or a new one. */
static struct be_rec *backend_rec(struct compile *c, uint32_t ip,
				  uint16_t port, uint8_t proto, int *err)
{
	struct sl_svc_state *st = c->st;
	struct be_rec *r;
	char k[32];
	__u32 id = 0;

	be_rec_key(k, ip, port, proto);
	r = sl_table_get(&st->backend_ids, k);
	if (r)
		return r;
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
	if (id_put(st, r)) {
		sl_table_del(&st->backend_ids, k);
		free(r);
		*err = -ENOMEM;
		return NULL;
	}
	r->ip = ip;
	r->port = port;
	r->proto = proto;
	return r;
}

/* A record no compile wants any more. Its id is never handed out again:
 * the counter never goes back. */
static void forget_backend(struct sl_svc_state *st, struct be_rec *r)
{
	char k[32];

	be_rec_key(k, r->ip, r->port, r->proto);
	sl_table_del(&st->backend_ids, k);
	id_del(st, r->id);
	free(r);
}

/* The records of an incremental sync's changes, each once. */
struct recs {
	struct be_rec **v;
	size_t n, cap;
};

/*
 * Add (or take back) what endpoints ask of their backends; st->n_be
 * follows the backends some endpoint lists. touched, when given, gathers
 * the records whose counts this sync changed.
 */
static int count_uses(struct sl_svc_state *st, const struct use *v, size_t n,
		      bool add, struct recs *touched)
{
	for (size_t i = 0; i < n; i++) {
		struct be_rec *r = v[i].rec;

		if (touched && r->touched != st->gen) {
			if (GROW(touched->v, touched->cap, touched->n))
				return -ENOMEM;
			touched->v[touched->n++] = r;
			r->touched = st->gen;
		}
		if (add) {
			st->n_be += !r->users++;
			r->ready += v[i].ready;
			r->local += v[i].local;
		} else {
			st->n_be -= !--r->users;
			r->ready -= v[i].ready;
			r->local -= v[i].local;
		}
	}
	return 0;
}

/*
 * What the maps hold for a backend: not ready for any Service port that
 * has it: no new connection but through a fallback slot. Not only the
 * terminating ones: the datapath's ClientIP affinity skips a flagged
 * backend, and must not stick to one whose readiness probe fails either.
 */
static struct sl_backend backend_val(const struct be_rec *r)
{
	struct sl_backend b = {
		.addr = htonl(r->ip),
		.port = htons(r->port),
		.proto = r->proto,
	};

	if (!r->ready)
		b.flags |= SL_BE_F_TERMINATING;
	if (r->local)
		b.flags |= SL_BE_F_LOCAL;
	return b;
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
		      const struct plan *plans, size_t n_plans,
		      struct svc_rec **out)
{
	struct sl_svc_state *st = c->st;
	struct svc_rec *r = sl_table_get(&st->svc_ids, name);
	char idk[12];

	if (!r) {
		__u32 id = 0;

		for (size_t i = 0; !id && c->dumped && i < n_plans; i++) {
			const struct sl_svc_entry *e;

			e = find_entry(c->dumped, c->n_dumped, &plans[i].key);
			id_key(idk, e ? e->val.svc_id : 0);
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
		id_key(idk, id);
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
	*out = r;
	return 0;
}

/* A Service port's name and id, once nothing compiles it any more. */
static void forget_service_id(struct sl_svc_state *st, struct svc_rec *r)
{
	char idk[12];

	id_key(idk, r->id);
	sl_table_del(&st->svc_names, idk);
	sl_table_del(&st->svc_ids, r->name);
	free(r);
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

/* A Service port of u, once: two ports of one name and protocol share an
 * id (and clash). */
static int add_port(struct unit *u, struct svc_rec *port)
{
	for (size_t i = 0; i < u->n_ports; i++)
		if (u->ports[i] == port)
			return 0;
	if (GROW(u->ports, u->cap_ports, u->n_ports))
		return -ENOMEM;
	u->ports[u->n_ports++] = port;
	return 0;
}

static int compile_port(struct compile *c, struct unit *u,
			const struct sl_service *s, const struct group *g,
			const struct sl_service_port *sp)
{
	struct cand *cands = NULL;
	struct plan *plans = NULL;
	__u32 *cluster = NULL, *local = NULL;
	struct svc_rec *port;
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
	 * half of its frontends would be worse than none. Only a full
	 * compile can tell (the incremental one checks the sums). */
	need = n_plans * (1 + (n_cands < SL_SERVICE_SLOTS_MAX ?
				       n_cands : SL_SERVICE_SLOTS_MAX));
	if (c->all && (c->n_entries + need > SL_SERVICES_MAX ||
		       c->st->n_be + n_cands > SL_BACKENDS_MAX)) {
		log_warn("services: %s needs %zu entries and %zu backends, "
			 "more than the maps have left; ignoring",
			 name, need, n_cands);
		c->capped = true;
		u->dropped++;
		goto out;
	}
	c->n_entries += need;
	u->need += need;
	u->cands += n_cands;

	/* Every endpoint gets a backend, ready or not: connections already
	 * tracked to a terminating one keep their way to it. */
	for (size_t i = 0; i < n_cands; i++) {
		struct be_rec *r = backend_rec(c, cands[i].ip, cands[i].port,
					       sp->protocol, &err);

		if (!r || (err = GROW(u->use, u->cap_use, u->n_use)))
			goto out;
		cands[i].rec = r;
		u->use[u->n_use++] = (struct use){ r, cands[i].ready,
						   cands[i].local };
	}
	/* A full compile counts as it goes, for the next port's limits. */
	if (c->all && n_cands)
		err = count_uses(c->st, &u->use[u->n_use - n_cands], n_cands,
				 true, NULL);
	if (err)
		goto out;

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

	err = service_id(c, name, plans, n_plans, &port) ?:
	      add_port(u, port);
	if (err)
		goto out;
	for (size_t i = 0; i < n_plans; i++) {
		size_t cnt = plans[i].local_set ? n_local : n_cluster;
		const __u32 *set = plans[i].local_set ? local : cluster;
		struct fe_tmp *f;

		if (GROW(c->tmp, c->cap_tmp, c->n_tmp)) {
			err = -ENOMEM;
			goto out;
		}
		f = &c->tmp[c->n_tmp];
		memset(f, 0, sizeof(*f));
		f->f.backends = malloc((cnt ? cnt : 1) * sizeof(__u32));
		if (!f->f.backends) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(f->f.backends, set, cnt * sizeof(__u32));
		f->f.key = plans[i].key;
		f->f.val.svc_id = port->id;
		f->f.val.count = (__u16)cnt;
		f->f.val.flags = plans[i].flags;
		if (plans[i].local_set && !n_local && n_cluster)
			f->f.val.flags |= SL_SVC_F_REMOTE_ONLY;
		if (s->affinity)
			f->f.val.affinity_timeout = s->affinity_timeout;
		f->seq = c->n_tmp++;
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

static void warn_clash(const struct sl_svc_state *st,
		       const struct sl_svc_frontend *keep,
		       const struct sl_svc_frontend *f)
{
	char ip[16];

	sl_ip4_to_str(ntohl(f->key.addr), ip);
	log_warn("services: %s:%u/%s is claimed by %s and %s; ignoring the "
		 "second",
		 ip, ntohs(f->key.port), sl_proto_name(f->key.proto),
		 str(sl_svc_name(st, keep->val.svc_id)),
		 str(sl_svc_name(st, f->val.svc_id)));
}

/*
 * The unit's frontends, by key. Two ports of the Service claiming one
 * frontend: the first compiled keeps it. The same port listing an address
 * twice is no clash, just a repeat.
 */
static int keep_frontends(struct compile *c, struct unit *u)
{
	if (!c->n_tmp)
		return 0;
	u->fe = calloc(c->n_tmp, sizeof(*u->fe));
	if (!u->fe)
		return -ENOMEM;
	qsort(c->tmp, c->n_tmp, sizeof(*c->tmp), fe_tmp_cmp);
	for (size_t i = 0; i < c->n_tmp; i++) {
		struct sl_svc_frontend *f = &c->tmp[i].f;
		const struct sl_svc_frontend *keep =
			u->n_fe ? &u->fe[u->n_fe - 1] : NULL;

		if (keep && !key_cmp(&keep->key, &f->key)) {
			if (keep->val.svc_id != f->val.svc_id) {
				warn_clash(c->st, keep, f);
				u->dropped++;
			}
			free(f->backends);
			continue;
		}
		u->fe[u->n_fe++] = *f;
	}
	c->n_tmp = 0;
	return 0;
}

static void free_tmp(struct compile *c)
{
	for (size_t i = 0; i < c->n_tmp; i++)
		free(c->tmp[i].f.backends);
	c->n_tmp = 0;
}

static int add_fe(struct compile *c, struct sl_svc_frontend *f)
{
	if (GROW(c->fe, c->cap_fe, c->n_fe))
		return -ENOMEM;
	c->fe[c->n_fe++] = f;
	return 0;
}

/*
 * A full compile, unit by unit in key order: a frontend another unit
 * holds already is the first's (the order the whole compile would settle
 * it in). Both units are marked: recompiling either alone could change
 * who has it.
 */
static int claim_frontends(struct compile *c, struct unit *u)
{
	struct sl_table *fronts = &c->st->fronts;
	size_t i, w = 0;
	char k[20];
	int err = 0;

	for (i = 0; i < u->n_fe && !err; i++) {
		struct sl_svc_frontend *f = &u->fe[i];
		struct unit *owner;

		fe_key(k, &f->key);
		owner = sl_table_get(fronts, k);
		if (owner) {
			warn_clash(c->st,
				   bsearch(f, owner->fe, owner->n_fe,
					   sizeof(*f), fe_cmp),
				   f);
			owner->clashed = u->clashed = true;
			u->dropped++;
			free(f->backends);
			continue;
		}
		u->fe[w++] = *f;
		err = sl_table_put(fronts, k, u, NULL);
	}
	/* Past an error, the rest stays, to be freed with the unit. */
	while (i < u->n_fe)
		u->fe[w++] = u->fe[i++];
	u->n_fe = w;
	for (i = 0; !err && i < u->n_fe; i++)
		err = add_fe(c, &u->fe[i]);
	return err;
}

/* The slices of Service key, by name, from the model. */
static int group_of(const struct compile *c, const char *key, struct group *g)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_ENDPOINTSLICE];
	const struct slice_group *sg = sl_table_get(&c->st->groups, key);

	for (size_t i = 0; sg && i < sg->n; i++) {
		const struct sl_model_obj *mo = sl_table_get(t, sg->v[i]->key);

		if (!mo) /* the scan keeps the groups to the model */
			return -EINVAL;
		if (GROW(g->v, g->cap, g->n))
			return -ENOMEM;
		g->v[g->n++] = &mo->obj.slice;
	}
	return 0;
}

/* Service mo compiled into a new unit (*out, also on failure): its ports
 * in order, then its frontends by key. */
static int compile_unit(struct compile *c, const struct sl_model_obj *mo,
			struct unit **out)
{
	const struct sl_service *s = &mo->obj.svc;
	struct group g = {};
	struct unit *u = calloc(1, sizeof(*u));
	int err = 0;

	*out = u;
	if (!u)
		return -ENOMEM;
	u->digest = s->digest;
	u->seen = c->st->gen;
	if (skip_service(s))
		return 0;
	err = group_of(c, mo->obj.key, &g);
	for (size_t p = 0; !err && p < s->n_ports; p++)
		if (s->ports[p].port)
			err = compile_port(c, u, s, &g, &s->ports[p]);
	free(g.v);
	err = err ?: keep_frontends(c, u);
	free_tmp(c);
	return err;
}

/* Every Service, in key order, so the same model compiles to the same
 * maps; into st->units and st->fronts, emptied before. */
static int compile_all(struct compile *c)
{
	const struct sl_table *t = &c->m->objects[SL_KIND_SERVICE];
	const struct sl_model_obj **svcs = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	void *val;
	int err = 0;

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
		struct unit *u;

		err = compile_unit(c, svcs[i], &u);
		if (!err)
			err = sl_table_put(&c->st->units, svcs[i]->obj.key, u,
					   NULL);
		if (err)
			free_unit(u);
		else
			err = claim_frontends(c, u);
	}
	free(svcs);
	if (!err && c->n_fe)
		qsort(c->fe, c->n_fe, sizeof(*c->fe), fe_ptr_cmp);
	return err;
}

/* --- what changed --------------------------------------------------------- */

static char marked; /* the value of a key in a set */

static int mark(struct sl_table *set, const char *key)
{
	return sl_table_get(set, key) ? 0 :
					sl_table_put(set, key, &marked, NULL);
}

/* r leaves its Service's slices; that Service is to be recompiled. */
static int slice_leave(struct sl_svc_state *st, struct slice_rec *r,
		       struct sl_table *dirty)
{
	struct slice_group *g;
	int err;

	if (!r->group)
		return 0;
	err = mark(dirty, r->group);
	g = sl_table_get(&st->groups, r->group);
	for (size_t i = 0; g && i < g->n; i++)
		if (g->v[i] == r) {
			g->n--;
			memmove(&g->v[i], &g->v[i + 1],
				(g->n - i) * sizeof(*g->v));
			break;
		}
	if (g && !g->n) {
		sl_table_del(&st->groups, r->group);
		free(g->v);
		free(g);
	}
	free(r->group);
	r->group = NULL;
	return err;
}

/* r joins the slices of group (taken), in name order; that Service is to
 * be recompiled. */
static int slice_join(struct sl_svc_state *st, struct slice_rec *r,
		      char *group, struct sl_table *dirty)
{
	struct slice_group *g = sl_table_get(&st->groups, group);
	size_t at;

	r->group = group;
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g || sl_table_put(&st->groups, group, g, NULL)) {
			free(g);
			return -ENOMEM;
		}
	}
	if (GROW(g->v, g->cap, g->n))
		return -ENOMEM;
	for (at = g->n; at && strcmp(g->v[at - 1]->key, r->key) > 0; at--)
		;
	memmove(&g->v[at + 1], &g->v[at], (g->n - at) * sizeof(*g->v));
	g->v[at] = r;
	g->n++;
	return mark(dirty, group);
}

/* A slice new or changed since the last sync (r NULL: new). */
static int slice_changed(struct sl_svc_state *st, const char *key,
			 struct slice_rec *r,
			 const struct sl_endpoint_slice *es,
			 struct sl_table *dirty)
{
	char *group = NULL;
	int err;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r || !(r->key = strdup(key)) ||
		    sl_table_put(&st->slices, key, r, NULL)) {
			if (r)
				free(r->key);
			free(r);
			return -ENOMEM;
		}
	}
	r->digest = es->digest;
	r->seen = st->gen;
	/* IPv6 and FQDN slices are another family's; a slice without the
	 * service-name label belongs to no Service. */
	if (es->ipv4 && es->service && es->service[0] &&
	    asprintf(&group, "%s/%s", str(es->ns), es->service) < 0)
		return -ENOMEM;
	err = slice_leave(st, r, dirty);
	if (!err && group)
		return slice_join(st, r, group, dirty);
	free(group);
	return err;
}

static int slice_gone(struct sl_svc_state *st, struct slice_rec *r,
		      struct sl_table *dirty)
{
	int err = slice_leave(st, r, dirty);

	sl_table_del(&st->slices, r->key);
	free_slice(r);
	return err;
}

static void forget_slices(struct sl_svc_state *st)
{
	free_table(&st->groups, free_group);
	free_table(&st->slices, free_slice);
}

/*
 * The Services to recompile, as keys in dirty: new, changed and gone ones
 * by the digests of their objects, and those one of whose slices is.
 * Keeps st->slices and st->groups to the model. A look at every digest,
 * and nothing compiled that did not change.
 */
static int scan(struct sl_svc_state *st, const struct sl_model *m,
		struct sl_table *dirty)
{
	const struct sl_table *t = &m->objects[SL_KIND_ENDPOINTSLICE];
	size_t found = 0;
	const char *key;
	void *val;
	int err = 0;

	for (size_t i = 0; !err && sl_table_next(t, &i, &key, &val);) {
		const struct sl_endpoint_slice *es =
			&((struct sl_model_obj *)val)->obj.slice;
		struct slice_rec *r = sl_table_get(&st->slices, key);

		if (r && r->digest == es->digest)
			r->seen = st->gen;
		else
			err = slice_changed(st, key, r, es, dirty);
	}
	/* Every slice seen is in st->slices: any more are gone. */
	for (size_t i = 0; !err && st->slices.len > t->len &&
			   sl_table_next(&st->slices, &i, &key, &val);) {
		struct slice_rec *r = val;

		if (r->seen != st->gen)
			err = slice_gone(st, r, dirty);
	}
	t = &m->objects[SL_KIND_SERVICE];
	for (size_t i = 0; !err && sl_table_next(t, &i, &key, &val);) {
		const struct sl_model_obj *mo = val;
		struct unit *u = sl_table_get(&st->units, key);

		if (u) {
			u->seen = st->gen;
			found++;
		}
		if (!u || u->digest != mo->obj.svc.digest)
			err = mark(dirty, key);
	}
	for (size_t i = 0; !err && found < st->units.len &&
			   sl_table_next(&st->units, &i, &key, &val);)
		if (((struct unit *)val)->seen != st->gen)
			err = mark(dirty, key);
	return err;
}

struct follow {
	struct sl_svc_state *st;
	const struct sl_model *m;
	struct sl_table *dirty;
};

/* One object the model says changed since the last sync: what scan()
 * makes of it. */
static int follow_change(enum sl_kind kind, const char *key, void *arg)
{
	const struct follow *x = arg;
	const struct sl_model_obj *mo;
	struct slice_rec *r;
	struct unit *u;

	if (kind != SL_KIND_SERVICE && kind != SL_KIND_ENDPOINTSLICE)
		return 0;
	mo = sl_table_get(&x->m->objects[kind], key);
	if (kind == SL_KIND_SERVICE) {
		u = sl_table_get(&x->st->units, key);
		if (!u != !mo || (u && u->digest != mo->obj.svc.digest))
			return mark(x->dirty, key);
		return 0;
	}
	r = sl_table_get(&x->st->slices, key);
	if (!mo)
		return r ? slice_gone(x->st, r, x->dirty) : 0;
	if (r && r->digest == mo->obj.slice.digest)
		return 0;
	return slice_changed(x->st, key, r, &mo->obj.slice, x->dirty);
}

/*
 * scan() by the model's log of changes since the last sync, so that a
 * change costs what it touches, not a look at every object; -ERANGE when
 * the log does not reach back that far.
 */
static int follow(struct sl_svc_state *st, const struct sl_model *m,
		  struct sl_table *dirty)
{
	struct follow x = { st, m, dirty };

	return sl_model_changes(m, st->model_gen, follow_change, &x);
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

/* Frontends (by key) and their slots, in key order. */
static int flatten(struct sl_svc_frontend *const *fe, size_t n,
		   struct entries *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct sl_svc_frontend *f = fe[i];
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

/* Every unit's frontends, by key: what the maps hold while valid. */
int sl_svc_held_frontends(const struct sl_svc_state *st,
			  struct sl_svc_frontend ***out, size_t *n_out)
{
	struct sl_svc_frontend **v = NULL;
	size_t n = 0, cap = 0;
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&st->units, &i, &key, &val);) {
		struct unit *u = val;

		for (size_t j = 0; j < u->n_fe; j++) {
			if (GROW(v, cap, n)) {
				free(v);
				return -ENOMEM;
			}
			v[n++] = &u->fe[j];
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), fe_ptr_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

/* Of these records, the backends the maps hold (written) or are to hold
 * (wanted: some endpoint lists them), by id. */
static int backend_entries(struct be_rec *const *v, size_t n, bool wanted,
			   struct be_entries *out)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_backend b = backend_val(v[i]);

		if (wanted ? !v[i]->users : !v[i]->written)
			continue;
		if (push_be(out, v[i]->id, wanted ? &b : &v[i]->be))
			return -ENOMEM;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), be_entry_cmp);
	return 0;
}

/* Every backend record. */
static int all_backends(const struct sl_svc_state *st, struct recs *out)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&st->backend_ids, &i, &key, &val);) {
		if (GROW(out->v, out->cap, out->n))
			return -ENOMEM;
		out->v[out->n++] = val;
	}
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

static void id_clear(uint64_t *bits, __u32 id)
{
	if (id <= SL_MAGLEV_TABLES_MAX)
		bits[id / 64] &= ~(1ull << (id % 64));
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
 * frontend gets none and picks at random. Sets the ids given in taken,
 * which holds those of the frontends not compiled again; returns how many
 * frontends got none.
 */
static unsigned int assign_tables(struct compile *c, const struct view *cur,
				  const struct sl_svc_backend *be,
				  uint64_t *taken)
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
		struct sl_svc_frontend *f = c->fe[i];
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
	return missed;
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
		const struct sl_svc_frontend *f = c->fe[i];
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

static void count(struct sl_svc_stats *stats, const struct sl_svc_state *st,
		  const struct writes *w)
{
	stats->frontends = (unsigned int)st->n_fe;
	stats->backends = (unsigned int)st->n_be;
	stats->slots = (unsigned int)st->n_slots;
	stats->frontends_written = (unsigned int)w->fronts.n;
	stats->slots_written = (unsigned int)w->slots.n;
	stats->backends_written = (unsigned int)w->backends.n;
	stats->frontends_removed = (unsigned int)w->gone_fronts;
	stats->slots_removed = (unsigned int)(w->gone.n - w->gone_fronts);
	stats->backends_removed = (unsigned int)w->gone_be.n;
	stats->tables = (unsigned int)st->n_tables;
	stats->tables_removed = (unsigned int)w->n_gone_tables;
	stats->dropped = st->dropped;
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

/* Add a unit to the totals, or take it away. */
static void tally(struct sl_svc_state *st, const struct unit *u, bool add)
{
	size_t slots = 0, tables = 0;

	for (size_t i = 0; i < u->n_fe; i++) {
		slots += u->fe[i].val.count;
		tables += !!u->fe[i].val.backend_id;
	}
	if (add) {
		st->n_fe += u->n_fe;
		st->n_slots += slots;
		st->n_tables += tables;
		st->need += u->need;
		st->cands += u->cands;
		st->dropped += u->dropped;
	} else {
		st->n_fe -= u->n_fe;
		st->n_slots -= slots;
		st->n_tables -= tables;
		st->need -= u->need;
		st->cands -= u->cands;
		st->dropped -= u->dropped;
	}
}

/* The maps now hold what these records say: the used ones as written,
 * the others are gone. */
static void keep_backends(struct sl_svc_state *st, struct be_rec *const *v,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct be_rec *r = v[i];

		if (r->users) {
			r->written = true;
			r->be = backend_val(r);
		} else {
			forget_backend(st, r);
		}
	}
}

/*
 * One sync's work: the compile; what the maps hold of what it may change
 * (cur: everything, or what the Services compiled again wrote) and the
 * backend records it may change (all, or those their endpoints list);
 * what it wants there instead, and the writes between.
 */
struct sync {
	struct compile c;
	struct entries cur, want;
	struct be_entries cur_be, want_be;
	struct recs recs;
	struct writes w;
	uint64_t taken[TABLE_WORDS]; /* table ids of the frontends */
	bool missed;                 /* a frontend got no table id */
};

static void sync_free(struct sync *s)
{
	free(s->c.tmp);
	free(s->c.fe);
	free(s->cur.v);
	free(s->want.v);
	free(s->cur_be.v);
	free(s->want_be.v);
	free(s->recs.v);
	writes_free(&s->w);
}

/* Table ids for the compile's frontends (taken holds those of the ones
 * not compiled), then what it wants against cur, written. */
static int write_sync(const struct sl_svc_backend *be, struct sync *s)
{
	struct view cur = { s->cur.v, s->cur.n, s->cur_be.v, s->cur_be.n };
	struct view want;
	int err;

	s->missed = assign_tables(&s->c, &cur, be, s->taken);
	err = flatten(s->c.fe, s->c.n_fe, &s->want) ?:
	      backend_entries(s->recs.v, s->recs.n, true, &s->want_be);
	if (err)
		return err;
	want = (struct view){ s->want.v, s->want.n, s->want_be.v,
			      s->want_be.n };
	return diff(&want, &cur, &s->w) ?:
	       diff_tables(&s->c, s->c.st, s->taken, &s->w) ?:
	       apply(be, &s->w, &want, s->c.st);
}

/*
 * Compile every Service and diff it all against the mirror, or against
 * the maps themselves when the mirror is not to be trusted: at start
 * (also to adopt their ids), after a failed write, and on a periodic
 * resync.
 */
static int sync_all(const struct sl_svc_backend *be, const struct sl_model *m,
		    const struct sl_svc_config *cfg, struct sl_svc_state *st)
{
	struct sync s = { .c = { .m = m, .cfg = cfg, .st = st, .all = true } };
	struct sl_svc_frontend **held = NULL;
	struct sl_table hints = {}, old;
	const char *key;
	void *val;
	size_t n_held = 0;
	bool adopting = !st->adopted;
	int err;

	if (!st->valid || adopting) {
		err = be->dump_services(be, collect_entry, &s.cur) ?:
		      be->dump_backends(be, collect_be, &s.cur_be) ?:
		      dump_tables(be, st);
		if (!err && s.cur.n)
			qsort(s.cur.v, s.cur.n, sizeof(*s.cur.v), entry_cmp);
		if (!err && s.cur_be.n)
			qsort(s.cur_be.v, s.cur_be.n, sizeof(*s.cur_be.v),
			      be_entry_cmp);
	} else {
		err = sl_svc_held_frontends(st, &held, &n_held) ?:
		      flatten(held, n_held, &s.cur) ?:
		      all_backends(st, &s.recs) ?:
		      backend_entries(s.recs.v, s.recs.n, false, &s.cur_be);
		s.recs.n = 0;
	}
	if (err)
		goto out;
	st->valid = false; /* until this sync completes */
	if (adopting && (err = adopt_from(&s.c, &s.cur, &s.cur_be, &hints)))
		goto out;

	/* Every unit again, from nothing: the records count anew, and ids
	 * used by none of them are forgotten after (by the generation). */
	st->gen++;
	for (size_t i = 0; sl_table_next(&st->backend_ids, &i, &key, &val);) {
		struct be_rec *r = val;

		r->users = r->ready = r->local = 0;
	}
	st->n_be = 0;
	old = st->units;
	sl_table_init(&st->units);
	sl_table_free(&st->fronts);
	err = compile_all(&s.c);
	free_table(&old, free_unit);
	if (err)
		goto out;
	st->adopted = true;
	err = all_backends(st, &s.recs) ?: write_sync(be, &s);
	if (err)
		goto out;
	st->n_fe = st->n_slots = st->n_tables = st->need = st->cands = 0;
	st->dropped = 0;
	for (size_t i = 0; sl_table_next(&st->units, &i, &key, &val);)
		tally(st, val, true);
	st->full_only = s.c.capped || s.missed;
	count(&st->last, st, &s.w);
	keep_backends(st, s.recs.v, s.recs.n);
	for (size_t i = 0; sl_table_next(&st->svc_ids, &i, &key, &val);)
		if (((struct svc_rec *)val)->gen != st->gen)
			forget_service_id(st, val);
	st->valid = true;
out:
	free(held);
	sl_table_free(&hints);
	sync_free(&s);
	return err;
}

/* The new units' frontends (c->fe, sorted here) are theirs alone: none
 * held by a unit not compiled again, none claimed by two. */
static bool own_frontends(struct compile *c)
{
	char k[20];

	if (c->n_fe)
		qsort(c->fe, c->n_fe, sizeof(*c->fe), fe_ptr_cmp);
	for (size_t i = 0; i < c->n_fe; i++) {
		const struct unit *owner;

		if (i && !key_cmp(&c->fe[i - 1]->key, &c->fe[i]->key))
			return false;
		fe_key(k, &c->fe[i]->key);
		owner = sl_table_get(&c->st->fronts, k);
		if (owner && owner->dirty != c->st->gen)
			return false;
	}
	return true;
}

/* The old units out of the counts, the index and the totals; the new in
 * the counts, the index and st->units. */
static int commit_units(struct sl_svc_state *st, const char **keys,
			struct unit **old, struct unit **new, size_t n,
			struct recs *touched)
{
	char k[20];
	int err = 0;

	for (size_t i = 0; !err && i < n; i++) {
		if (!old[i])
			continue;
		err = count_uses(st, old[i]->use, old[i]->n_use, false,
				 touched);
		for (size_t j = 0; j < old[i]->n_fe; j++) {
			fe_key(k, &old[i]->fe[j].key);
			sl_table_del(&st->fronts, k);
		}
		tally(st, old[i], false);
		if (!new[i])
			sl_table_del(&st->units, keys[i]);
	}
	for (size_t i = 0; !err && i < n; i++) {
		if (!new[i])
			continue;
		err = count_uses(st, new[i]->use, new[i]->n_use, true,
				 touched) ?:
		      sl_table_put(&st->units, keys[i], new[i], NULL);
		for (size_t j = 0; !err && j < new[i]->n_fe; j++) {
			fe_key(k, &new[i]->fe[j].key);
			err = sl_table_put(&st->fronts, k, new[i], NULL);
		}
	}
	return err;
}

/*
 * Compile again the Services in keys (sorted), alone, and write the
 * difference between their old units and the new: cur is what the old
 * ones wrote, want what the new ones will, of the backends those their
 * endpoints list. Returns 1, having written nothing and changed nothing
 * but ids, when only a full compile can say: a unit in a clash, a
 * frontend another unit holds or two claim, the maps' limits.
 */
static int sync_changes(const struct sl_svc_backend *be,
			const struct sl_model *m,
			const struct sl_svc_config *cfg,
			struct sl_svc_state *st, const char **keys, size_t n)
{
	const struct sl_table *svcs = &m->objects[SL_KIND_SERVICE];
	struct sync s = { .c = { .m = m, .cfg = cfg, .st = st } };
	struct unit **old = calloc(n ? n : 1, sizeof(*old));
	struct unit **new = calloc(n ? n : 1, sizeof(*new));
	struct sl_svc_frontend **was = NULL;
	size_t n_was = 0, cap_was = 0, need = st->need, cands = st->cands;
	int err = 0;

	if (!old || !new)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		const struct sl_model_obj *mo = sl_table_get(svcs, keys[i]);

		old[i] = sl_table_get(&st->units, keys[i]);
		if (old[i] && old[i]->clashed) {
			err = 1;
			break;
		}
		for (size_t j = 0; old[i] && !err && j < old[i]->n_fe; j++) {
			err = GROW(was, cap_was, n_was);
			if (!err)
				was[n_was++] = &old[i]->fe[j];
		}
		if (old[i]) {
			old[i]->dirty = st->gen;
			need -= old[i]->need;
			cands -= old[i]->cands;
		}
		if (err || !mo)
			continue;
		err = compile_unit(&s.c, mo, &new[i]);
		for (size_t j = 0; !err && j < new[i]->n_fe; j++)
			err = add_fe(&s.c, &new[i]->fe[j]);
		if (!err) {
			need += new[i]->need;
			cands += new[i]->cands;
		}
	}
	if (!err && (need > SL_SERVICES_MAX || cands > SL_BACKENDS_MAX ||
		     !own_frontends(&s.c)))
		err = 1;
	if (err)
		goto out;

	st->valid = false; /* until this sync completes */
	if (n_was)
		qsort(was, n_was, sizeof(*was), fe_ptr_cmp);
	err = flatten(was, n_was, &s.cur) ?:
	      commit_units(st, keys, old, new, n, &s.recs) ?:
	      backend_entries(s.recs.v, s.recs.n, false, &s.cur_be);
	if (err)
		goto out;
	/* The table ids of every frontend not compiled again stay theirs. */
	for (size_t i = 0; i < st->n_maglev; i++)
		id_set(s.taken, st->maglev[i].table_id);
	for (size_t i = 0; i < n_was; i++)
		if (was[i]->val.flags & SL_SVC_F_MAGLEV)
			id_clear(s.taken, was[i]->val.backend_id);
	err = write_sync(be, &s);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (new[i])
			tally(st, new[i], true);
	st->full_only = s.missed;
	count(&st->last, st, &s.w);
	keep_backends(st, s.recs.v, s.recs.n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; old[i] && j < old[i]->n_ports; j++)
			if (old[i]->ports[j]->gen != st->gen)
				forget_service_id(st, old[i]->ports[j]);
	st->valid = true;
out:
	/* Whichever of each pair st->units does not hold is ours to free. */
	for (size_t i = 0; old && new && i < n; i++) {
		const struct unit *in = sl_table_get(&st->units, keys[i]);

		if (old[i] != in)
			free_unit(old[i]);
		if (new[i] != in)
			free_unit(new[i]);
	}
	free(old);
	free(new);
	free(was);
	sync_free(&s);
	return err;
}

/* What the compile reads besides the model. */
static uint64_t config_digest(const struct sl_svc_config *cfg,
			      const struct sl_svc_backend *be)
{
	uint64_t h = SL_FNV_OFFSET;

	sl_fnv_str(&h, str(cfg->self));
	sl_fnv_str(&h, str(cfg->zone));
	sl_fnv_u64(&h, cfg->maglev_default);
	sl_fnv_u64(&h, !!be->write_maglev); /* Maglev tables at all */
	sl_fnv_u64(&h, cfg->n_node_ips);
	for (size_t i = 0; i < cfg->n_node_ips; i++)
		sl_fnv_u64(&h, cfg->node_ips[i]);
	return h;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sl_services_sync(const struct sl_svc_backend *be, const struct sl_model *m,
		     const struct sl_svc_config *cfg, struct sl_svc_state *st)
{
	static const struct writes none;
	uint64_t cfg_digest = config_digest(cfg, be);
	struct sl_table dirty = {};
	const char **keys = NULL;
	size_t n = 0;
	const char *key;
	void *val;
	bool whole;
	int err;

	memset(&st->last, 0, sizeof(st->last));
	/* Nothing moved since the last sync: nothing to compile or write. */
	if (st->valid && st->model == m && st->model_gen == m->generation &&
	    st->cfg_digest == cfg_digest) {
		count(&st->last, st, &none);
		return 0;
	}
	st->gen++;
	/* A resync trusts nothing remembered: the slices are read whole,
	 * as the maps are. */
	if (!st->valid)
		forget_slices(st);
	err = st->valid && st->model == m ? follow(st, m, &dirty) : -ERANGE;
	if (err == -ERANGE)
		err = scan(st, m, &dirty);
	if (!err && dirty.len && !(keys = calloc(dirty.len, sizeof(*keys))))
		err = -ENOMEM;
	for (size_t i = 0; !err && sl_table_next(&dirty, &i, &key, &val);)
		keys[n++] = key;
	if (n)
		qsort(keys, n, sizeof(*keys), str_cmp);
	/* Anything beyond the Services themselves changed, or cannot be
	 * trusted: everything is compiled. */
	whole = !st->valid || !st->adopted || st->full_only ||
		st->cfg_digest != cfg_digest;
	if (!err)
		err = whole ? 1 : sync_changes(be, m, cfg, st, keys, n);
	if (err == 1)
		err = sync_all(be, m, cfg, st);
	if (err) {
		st->valid = false;
		memset(&st->last, 0, sizeof(st->last));
	} else {
		st->model = m;
		st->model_gen = m->generation;
		st->cfg_digest = cfg_digest;
	}
	free(keys);
	sl_table_free(&dirty);
	return err;
}

void sl_svc_state_invalidate(struct sl_svc_state *st)
{
	st->valid = false;
}

void sl_svc_state_free(struct sl_svc_state *st)
{
	free_table(&st->units, free_unit);
	sl_table_free(&st->fronts);
	forget_slices(st);
	forget_tables(st);
	/* by_id and svc_names hold the same records. */
	free_table(&st->backend_ids, free);
	free(st->by_id);
	free_table(&st->svc_ids, free);
	sl_table_free(&st->svc_names);
	memset(st, 0, sizeof(*st));
}

const char *sl_svc_name(const struct sl_svc_state *st, __u32 svc_id)
{
	const struct svc_rec *r;
	char idk[12];

	id_key(idk, svc_id);
	r = sl_table_get(&st->svc_names, idk);
	return r ? r->name : NULL;
}

const struct sl_backend *sl_svc_backend_get(const struct sl_svc_state *st,
					    __u32 id)
{
	struct be_rec **r = id_find(st, id);

	return r && (*r)->written ? &(*r)->be : NULL;
}

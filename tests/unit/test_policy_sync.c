// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy sync (agent/policy_sync.c) against LPM tries in memory, no root:
 * only differences are written; allow entries go in before the endpoint
 * flags that make them matter and out after the flags are cleared; over
 * capacity nothing is written while isolation keeps following the
 * policies; a resync reads the maps back and repairs drift. Then the
 * agent API's view: rules with port ranges merged, traces.
 */
#include "unit.h"
#include "endpoint.h"
#include "model.h"
#include "policy.h"
#include "policy_sync.h"

#include <errno.h>
#include <netinet/in.h>

/* --- one log of every map operation, policy maps and sl_endpoints --------- */

enum op_kind { OP_WRITE, OP_REMOVE, OP_EP_WRITE };

struct op {
	enum op_kind kind;
	int map;           /* enum sl_pol_map; -1 for sl_endpoints */
	uint32_t ep;       /* the endpoint's address, host order */
	uint32_t plen;     /* the key's prefixlen (policy maps) */
	uint32_t flags;    /* written endpoint flags */
};

#define OPS_MAX 4096
static struct op ops[OPS_MAX];
static size_t n_ops;

static void log_op(enum op_kind kind, int map, uint32_t ep, uint32_t plen,
		   uint32_t flags)
{
	assert_true(n_ops < OPS_MAX);
	ops[n_ops++] = (struct op){ kind, map, ep, plen, flags };
}

/* --- LPM tries in memory: a node is (prefixlen, that many key bits) ------- */

#define MEM_MAX 512

struct mem_map {
	uint8_t e[MEM_MAX][sizeof(struct sl_policy_entry)];
	size_t n;
};

struct mem_pol {
	struct mem_map maps[SL_POL_MAPS];
	unsigned int writes, removes, dumps;
	int fail_write; /* -errno the next write returns, 0 */
};

static const size_t ENTRY_SIZE[SL_POL_MAPS] = {
	sizeof(struct sl_policy_entry), sizeof(struct sl_policy_cidr_entry)
};
static const size_t KEY_SIZE[SL_POL_MAPS] = {
	sizeof(struct sl_policy_key), sizeof(struct sl_policy_cidr_key)
};

/* Do two keys name one trie node? */
static bool same_node(int m, const uint8_t *a, const uint8_t *b)
{
	uint32_t pa, pb;

	memcpy(&pa, a, 4);
	memcpy(&pb, b, 4);
	if (pa != pb)
		return false;
	for (uint32_t bit = 0; bit < pa && bit < (KEY_SIZE[m] - 4) * 8; bit++) {
		unsigned int x = a[4 + bit / 8] >> (7 - bit % 8) & 1;
		unsigned int y = b[4 + bit / 8] >> (7 - bit % 8) & 1;

		if (x != y)
			return false;
	}
	return true;
}

static int find(struct mem_pol *p, int m, const uint8_t *key)
{
	for (size_t i = 0; i < p->maps[m].n; i++)
		if (same_node(m, p->maps[m].e[i], key))
			return (int)i;
	return -1;
}

static uint32_t ep_of(const uint8_t *e)
{
	uint32_t ep;

	memcpy(&ep, e + 4, 4); /* both keys: prefixlen, then ep */
	return ntohl(ep);
}

static uint32_t plen_of(const uint8_t *e)
{
	uint32_t plen;

	memcpy(&plen, e, 4);
	return plen;
}

static int mem_dump(void *ctx, enum sl_pol_map m,
		    int (*cb)(const void *, void *), void *arg)
{
	struct mem_pol *p = ctx;

	p->dumps++;
	for (size_t i = 0; i < p->maps[m].n; i++) {
		int ret = cb(p->maps[m].e[i], arg);

		if (ret)
			return ret;
	}
	return 0;
}

/* Put one entry, as the kernel: replace a node's value, or add a node
 * while there is room. */
static int mem_put(struct mem_pol *p, int m, const void *entry, size_t max)
{
	int i = find(p, m, entry);

	if (i < 0) {
		if (p->maps[m].n >= max)
			return -ENOSPC;
		i = (int)p->maps[m].n++;
	}
	memcpy(p->maps[m].e[i], entry, ENTRY_SIZE[m]);
	return 0;
}

static struct sl_pol_backend backend(struct mem_pol *p, size_t max_policy,
				     size_t max_cidr);

static size_t mem_max[SL_POL_MAPS];

static int mem_write(void *ctx, enum sl_pol_map m, const void *entries,
		     size_t n)
{
	struct mem_pol *p = ctx;
	const uint8_t *e = entries;

	if (p->fail_write) {
		int err = p->fail_write;

		p->fail_write = 0;
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		int err = mem_put(p, m, e + i * ENTRY_SIZE[m], mem_max[m]);

		if (err)
			return err;
		p->writes++;
		log_op(OP_WRITE, m, ep_of(e + i * ENTRY_SIZE[m]),
		       plen_of(e + i * ENTRY_SIZE[m]), 0);
	}
	return 0;
}

static int mem_remove(void *ctx, enum sl_pol_map m, const void *entries,
		      size_t n)
{
	struct mem_pol *p = ctx;
	const uint8_t *e = entries;

	for (size_t i = 0; i < n; i++) {
		int k = find(p, m, e + i * ENTRY_SIZE[m]);

		log_op(OP_REMOVE, m, ep_of(e + i * ENTRY_SIZE[m]),
		       plen_of(e + i * ENTRY_SIZE[m]), 0);
		p->removes++;
		if (k < 0)
			continue;
		memcpy(p->maps[m].e[k], p->maps[m].e[--p->maps[m].n],
		       ENTRY_SIZE[m]);
	}
	return 0;
}

static struct sl_pol_backend backend(struct mem_pol *p, size_t max_policy,
				     size_t max_cidr)
{
	struct sl_pol_backend be = { mem_dump, mem_write, mem_remove,
				     { max_policy, max_cidr }, p };

	mem_max[SL_POL_MAP_POLICY] = max_policy;
	mem_max[SL_POL_MAP_CIDR] = max_cidr;
	return be;
}

/* Does the map hold exactly what the last compile has? */
static void assert_map_is(struct mem_pol *p, const struct sl_pol_state *st)
{
	assert_int_equal(p->maps[SL_POL_MAP_POLICY].n, st->out.n_entries);
	assert_int_equal(p->maps[SL_POL_MAP_CIDR].n, st->out.n_cidrs);
	for (size_t i = 0; i < st->out.n_entries; i++) {
		int k = find(p, SL_POL_MAP_POLICY, (const uint8_t *)&st->out.entries[i]);

		assert_true(k >= 0);
		assert_memory_equal(p->maps[SL_POL_MAP_POLICY].e[k],
				    &st->out.entries[i], sizeof(st->out.entries[i]));
	}
	for (size_t i = 0; i < st->out.n_cidrs; i++) {
		int k = find(p, SL_POL_MAP_CIDR, (const uint8_t *)&st->out.cidrs[i]);

		assert_true(k >= 0);
		assert_memory_equal(p->maps[SL_POL_MAP_CIDR].e[k],
				    &st->out.cidrs[i], sizeof(st->out.cidrs[i]));
	}
}

/* --- sl_endpoints in memory ----------------------------------------------- */

struct mem_eps {
	uint32_t ips[16];
	struct sl_endpoint eps[16];
	size_t n;
};

static int ep_dump(void *ctx,
		   int (*cb)(uint32_t, const struct sl_endpoint *, void *),
		   void *arg)
{
	struct mem_eps *m = ctx;

	for (size_t i = 0; i < m->n; i++) {
		int ret = cb(m->ips[i], &m->eps[i], arg);

		if (ret)
			return ret;
	}
	return 0;
}

static int ep_lookup(void *ctx, uint32_t ip, struct sl_endpoint *ep)
{
	struct mem_eps *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			*ep = m->eps[i];
			return 0;
		}
	return -ENOENT;
}

static int ep_update(void *ctx, uint32_t ip, const struct sl_endpoint *ep)
{
	struct mem_eps *m = ctx;
	size_t i;

	log_op(OP_EP_WRITE, -1, ip, 0, ep->flags);
	for (i = 0; i < m->n && m->ips[i] != ip; i++)
		;
	if (i == m->n) {
		assert_true(m->n < 16);
		m->n++;
	}
	m->ips[i] = ip;
	m->eps[i] = *ep;
	return 0;
}

static int ep_remove(void *ctx, uint32_t ip)
{
	struct mem_eps *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			m->ips[i] = m->ips[--m->n];
			m->eps[i] = m->eps[m->n];
			return 0;
		}
	return -ENOENT;
}

static int ep_link_ok(void *ctx, int ifindex, const char *name)
{
	(void)ctx;
	(void)ifindex;
	(void)name;
	return 1;
}

static uint32_t ep_flags(struct mem_eps *m, const char *ip)
{
	struct sl_endpoint ep;

	assert_int_equal(ep_lookup(m, ip4(ip), &ep), 0);
	return ep.flags;
}

/* --- the cluster: namespace shop, pods a b c on n1, far on n2 ------------- */

#define A "10.244.1.2"
#define B "10.244.1.3"
#define C "10.244.1.4"
#define FAR "10.244.2.9"
/* Pods the plugin attached (records): d, ghost; ghost in other. */
#define D "10.244.1.5"
#define G "10.244.1.6"
#define O "10.244.1.7"

struct fx {
	struct sl_model m;
	struct sl_pol_state st;
	struct mem_pol pol;
	struct sl_pol_backend be;
	struct mem_eps eps;
	struct sl_ep_backend ep_be;
};

static void add_pod(struct fx *f, const char *name, const char *ip,
		    const char *node, const char *app)
{
	char q[1024];

	snprintf(q, sizeof(q),
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'namespace':'shop',"
		 "'name':'%s','labels':{'app':'%s'}},'spec':{'nodeName':'%s',"
		 "'containers':[{'name':'c'}]},'status':{'podIP':'%s'}}",
		 name, app, node, ip);
	model_load(&f->m, q);
}

#define NETPOL(name, spec)                                                     \
	"{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy',"        \
	"'metadata':{'namespace':'shop','name':'" name "'},'spec':{" spec "}}"

/* a's ingress from b on TCP PORT. */
#define ALLOW_B(port)                                                          \
	NETPOL("allow-b", "'podSelector':{'matchLabels':{'app':'a'}},"         \
	       "'policyTypes':['Ingress'],'ingress':[{'from':[{'podSelector':" \
	       "{'matchLabels':{'app':'b'}}}],'ports':[{'protocol':'TCP',"     \
	       "'port':" #port "}]}]")

static struct fx *fx_new(size_t max_policy, size_t max_cidr)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sl_model_init(&f->m);
	sl_pol_state_init(&f->st);
	f->be = backend(&f->pol, max_policy, max_cidr);
	f->ep_be = (struct sl_ep_backend){ ep_dump, ep_lookup, ep_update,
					   ep_remove, ep_link_ok, &f->eps };
	model_load(&f->m, "{'apiVersion':'v1','kind':'Namespace','metadata':"
			  "{'name':'shop'}}");
	add_pod(f, "a", A, "n1", "a");
	add_pod(f, "b", B, "n1", "b");
	add_pod(f, "c", C, "n1", "c");
	add_pod(f, "far", FAR, "n2", "b");
	n_ops = 0;
	return f;
}

static void fx_free(struct fx *f)
{
	sl_pol_state_free(&f->st);
	sl_model_free(&f->m);
	free(f);
}

static struct sl_ep_desired record_in(const char *ns, const char *ip,
				      int ifindex, const char *name)
{
	struct sl_ep_desired d = { .ip = ip4(ip) };

	d.ep.ifindex = (__u32)ifindex;
	snprintf(d.ns, sizeof(d.ns), "%s", ns);
	snprintf(d.name, sizeof(d.name), "%s", name);
	return d;
}

static struct sl_ep_desired record(const char *ip, int ifindex,
				   const char *name)
{
	return record_in("shop", ip, ifindex, name);
}

/* One agent sync's policy and endpoint steps for the records want, in
 * agent/loop.c's order. */
static void sync_records(struct fx *f, struct sl_ep_desired *want, size_t n,
			 int expect_write, struct sl_ep_stats *st)
{
	assert_int_equal(sl_model_refresh_identities(&f->m), 0);
	assert_int_equal(sl_endpoints_publish(&f->m, want, n), 0);
	assert_int_equal(sl_policy_sync_compile(&f->st, &f->m, "n1"), 0);
	assert_int_equal(sl_policy_sync_write(&f->be, &f->st), expect_write);
	sl_endpoints_assign_isolation(want, n, &f->st);
	assert_int_equal(sl_endpoints_sync(&f->ep_be, &f->m, want, n, st), 0);
	if (!expect_write)
		assert_int_equal(sl_policy_sync_prune(&f->be, &f->st), 0);
}

/* The same with the records of a, b and c. */
static void sync_all(struct fx *f, int expect_write)
{
	struct sl_ep_desired want[3] = { record(A, 3, "a"), record(B, 4, "b"),
					 record(C, 5, "c") };
	struct sl_ep_stats st;

	sync_records(f, want, 3, expect_write, &st);
}

/* Index of the first op of kind on endpoint ip (map m, -1 any), or -1. */
static long first_op(enum op_kind kind, int m, const char *ip)
{
	for (size_t i = 0; i < n_ops; i++)
		if (ops[i].kind == kind && ops[i].ep == ip4(ip) &&
		    (m < 0 || ops[i].map == m))
			return (long)i;
	return -1;
}

static long last_op(enum op_kind kind, int m, const char *ip)
{
	for (size_t i = n_ops; i-- > 0;)
		if (ops[i].kind == kind && ops[i].ep == ip4(ip) &&
		    (m < 0 || ops[i].map == m))
			return (long)i;
	return -1;
}

/* --- the tests ------------------------------------------------------------ */

static void test_writes_differences(void **state)
{
	struct fx *f = fx_new(SL_POLICY_MAX, SL_POLICY_CIDR_MAX);

	(void)state;
	/* Nothing selected: nothing written, no one isolated. */
	sync_all(f, 0);
	assert_int_equal(f->pol.writes + f->pol.removes, 0);
	assert_int_equal(f->pol.dumps, 2); /* the first sync reads back */
	assert_int_equal(ep_flags(&f->eps, A), 0);

	/* a isolated for ingress: (b, TCP, 80) and the node's entry. */
	model_load(&f->m, ALLOW_B(80));
	sync_all(f, 0);
	assert_int_equal(f->st.out.n_entries, 2);
	assert_int_equal(f->pol.writes, 2);
	assert_int_equal(f->pol.removes, 0);
	assert_map_is(&f->pol, &f->st);
	assert_int_equal(ep_flags(&f->eps, A), SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_flags(&f->eps, B), 0);
	assert_int_equal(f->st.last.isolated, 1);

	/* The same model again: no map touched, none read back. */
	f->pol.writes = f->pol.removes = f->pol.dumps = 0;
	sync_all(f, 0);
	assert_int_equal(f->pol.writes + f->pol.removes + f->pol.dumps, 0);

	/* Port 80 becomes 81: one entry in, one out; the node's entry
	 * stays untouched. */
	model_load(&f->m, ALLOW_B(81));
	sync_all(f, 0);
	assert_int_equal(f->pol.writes, 1);
	assert_int_equal(f->pol.removes, 1);
	assert_int_equal(f->st.last.written[SL_POL_MAP_POLICY], 1);
	assert_int_equal(f->st.last.removed[SL_POL_MAP_POLICY], 1);
	assert_int_equal(f->pol.dumps, 0);
	assert_map_is(&f->pol, &f->st);
	fx_free(f);
}

/* Entries before the flag that makes them matter; the flag off before
 * the entries go; a change on an isolated endpoint adds before it
 * removes; CIDRs longest prefix first in, shortest first out. */
static void test_order(void **state)
{
	struct fx *f = fx_new(SL_POLICY_MAX, SL_POLICY_CIDR_MAX);
	long flag, entry;

	(void)state;
	sync_all(f, 0);
	n_ops = 0;
	model_load(&f->m, ALLOW_B(80));
	sync_all(f, 0);
	flag = first_op(OP_EP_WRITE, -1, A);
	entry = last_op(OP_WRITE, SL_POL_MAP_POLICY, A);
	assert_true(flag >= 0 && entry >= 0);
	assert_true(entry < flag);
	assert_int_equal(ops[flag].flags, SL_EP_F_INGRESS_ISOLATED);

	/* 80 -> 81: the new entry is written before the old one goes. */
	n_ops = 0;
	model_load(&f->m, ALLOW_B(81));
	sync_all(f, 0);
	assert_true(first_op(OP_WRITE, SL_POL_MAP_POLICY, A) >= 0);
	assert_true(first_op(OP_WRITE, SL_POL_MAP_POLICY, A) <
		    first_op(OP_REMOVE, SL_POL_MAP_POLICY, A));
	assert_int_equal(first_op(OP_EP_WRITE, -1, A), -1); /* flag as it was */

	/* An ipBlock with an except, on a's egress. */
	n_ops = 0;
	model_load(&f->m, NETPOL("out", "'podSelector':{'matchLabels':{'app':'a'}},"
				 "'policyTypes':['Egress'],'egress':[{'to':[{'ipBlock':"
				 "{'cidr':'10.0.0.0/8','except':['10.1.0.0/16']}}]}]"));
	sync_all(f, 0);
	assert_int_equal(f->st.out.n_cidrs, 2);
	flag = first_op(OP_EP_WRITE, -1, A);
	assert_int_equal(ops[flag].flags,
			 SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED);
	assert_true(last_op(OP_WRITE, SL_POL_MAP_POLICY, A) <
		    first_op(OP_WRITE, SL_POL_MAP_CIDR, A));
	assert_true(last_op(OP_WRITE, SL_POL_MAP_CIDR, A) < flag);
	/* The except (/16) goes in before the block it cuts from (/8). */
	entry = first_op(OP_WRITE, SL_POL_MAP_CIDR, A);
	assert_int_equal(ops[entry].plen, SL_POLICY_CIDR_FIXED_BITS + 16);
	assert_int_equal(ops[entry + 1].plen, SL_POLICY_CIDR_FIXED_BITS + 8);
	assert_map_is(&f->pol, &f->st);

	/* Both policies gone: flags cleared first, then the entries, the
	 * block before its except, the CIDRs before sl_policy. */
	n_ops = 0;
	assert_int_equal(sl_model_delete(&f->m, SL_KIND_NETPOL, "shop/allow-b", NULL), 1);
	assert_int_equal(sl_model_delete(&f->m, SL_KIND_NETPOL, "shop/out", NULL), 1);
	sync_all(f, 0);
	flag = first_op(OP_EP_WRITE, -1, A);
	assert_true(flag >= 0);
	assert_int_equal(ops[flag].flags, 0);
	assert_true(flag < first_op(OP_REMOVE, SL_POL_MAP_CIDR, A));
	entry = first_op(OP_REMOVE, SL_POL_MAP_CIDR, A);
	assert_int_equal(ops[entry].plen, SL_POLICY_CIDR_FIXED_BITS + 8);
	assert_true(last_op(OP_REMOVE, SL_POL_MAP_CIDR, A) <
		    first_op(OP_REMOVE, SL_POL_MAP_POLICY, A));
	assert_int_equal(first_op(OP_WRITE, -1, A), -1);
	assert_int_equal(f->pol.maps[0].n + f->pol.maps[1].n, 0);
	fx_free(f);
}

/* Over capacity: the maps keep the last complete policy, the flags follow
 * the policies (fail closed), the error names the count. */
static void test_overflow(void **state)
{
	struct fx *f = fx_new(3, SL_POLICY_CIDR_MAX);
	uint8_t before[3][sizeof(struct sl_policy_entry)];

	(void)state;
	model_load(&f->m, ALLOW_B(80));
	sync_all(f, 0);
	assert_int_equal(f->pol.maps[0].n, 2);
	memcpy(before, f->pol.maps[0].e, sizeof(before));

	/* b and c isolated too, from a: 2 + 2 + 2 entries for a map of 3. */
	f->pol.writes = f->pol.removes = 0;
	n_ops = 0;
	model_load(&f->m, NETPOL("from-a", "'podSelector':{'matchExpressions':"
				 "[{'key':'app','operator':'In','values':['b','c']}]},"
				 "'ingress':[{'from':[{'podSelector':{'matchLabels':"
				 "{'app':'a'}}}],'ports':[{'port':443}]}]"));
	sync_all(f, 0);
	assert_int_equal(f->st.out.n_entries, 6);
	assert_true(f->st.overflow);
	assert_non_null(strstr(f->st.error, "6 sl_policy entries"));
	assert_non_null(strstr(f->st.error, "holds 3"));
	assert_int_equal(f->pol.writes + f->pol.removes, 0);
	assert_int_equal(f->pol.maps[0].n, 2);
	assert_memory_equal(f->pol.maps[0].e, before, 2 * sizeof(before[0]));
	/* Isolation follows the compile: b and c isolated, entries or not. */
	assert_int_equal(ep_flags(&f->eps, A), SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_flags(&f->eps, B), SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_flags(&f->eps, C), SL_EP_F_INGRESS_ISOLATED);

	/* The status says so. */
	{
		json_object *o = sl_policy_sync_status_json(&f->st), *v;

		assert_true(json_object_object_get_ex(o, "overflow", &v));
		assert_true(json_object_get_boolean(v));
		assert_true(json_object_object_get_ex(o, "inMap", &v));
		assert_false(json_object_get_boolean(v));
		json_object_put(o);
	}

	/* Back under capacity: written, error gone. */
	assert_int_equal(sl_model_delete(&f->m, SL_KIND_NETPOL, "shop/allow-b", NULL), 1);
	model_load(&f->m, NETPOL("from-a", "'podSelector':{'matchLabels':{'app':'b'}},"
				 "'ingress':[{'from':[{'podSelector':{'matchLabels':"
				 "{'app':'a'}}}],'ports':[{'port':443}]}]"));
	sync_all(f, 0);
	assert_false(f->st.overflow);
	assert_string_equal(f->st.error, "");
	assert_map_is(&f->pol, &f->st);
	assert_int_equal(ep_flags(&f->eps, A), 0);
	assert_int_equal(ep_flags(&f->eps, B), SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_flags(&f->eps, C), 0);
	fx_free(f);
}

/* A map with room for the new entries but not for old and new together
 * loses its stale entries first; a failed write prunes nothing, keeps the
 * flags following the policies, and the next sync reads back. */
static void test_room_and_failure(void **state)
{
	struct fx *f = fx_new(2, SL_POLICY_CIDR_MAX);
	struct sl_ep_desired want[1] = { record(A, 3, "a") };

	(void)state;
	model_load(&f->m, ALLOW_B(80));
	sync_all(f, 0);
	n_ops = 0;
	model_load(&f->m, ALLOW_B(81));
	sync_all(f, 0);
	assert_true(first_op(OP_REMOVE, SL_POL_MAP_POLICY, A) <
		    first_op(OP_WRITE, SL_POL_MAP_POLICY, A));
	assert_map_is(&f->pol, &f->st);

	/* The write fails: an error, nothing pruned, read back next time. */
	f->be.max_entries[0] = mem_max[0] = SL_POLICY_MAX;
	model_load(&f->m, ALLOW_B(82));
	f->pol.fail_write = -ENOMEM;
	assert_int_equal(sl_policy_sync_compile(&f->st, &f->m, "n1"), 0);
	assert_int_equal(sl_policy_sync_write(&f->be, &f->st), -ENOMEM);
	assert_non_null(strstr(f->st.error, "writing sl_policy"));
	assert_int_equal(sl_policy_sync_prune(&f->be, &f->st), 0);
	assert_int_equal(f->pol.maps[0].n, 2); /* 81 still there */
	sl_endpoints_assign_isolation(want, 1, &f->st);
	assert_int_equal(want[0].ep.flags, SL_EP_F_INGRESS_ISOLATED);
	f->pol.dumps = 0;
	sync_all(f, 0);
	assert_int_equal(f->pol.dumps, 2);
	assert_map_is(&f->pol, &f->st);
	assert_string_equal(f->st.error, "");
	fx_free(f);
}

/* Entries of endpoint ip in the policy map. */
static size_t entries_at(struct mem_pol *p, const char *ip)
{
	size_t n = 0;

	for (size_t i = 0; i < p->maps[SL_POL_MAP_POLICY].n; i++)
		n += ep_of(p->maps[SL_POL_MAP_POLICY].e[i]) == ip4(ip);
	return n;
}

static uint32_t ep_identity(struct mem_eps *m, const char *ip)
{
	struct sl_endpoint ep;

	assert_int_equal(ep_lookup(m, ip4(ip), &ep), 0);
	return ep.identity;
}

/* a's record, and the new pods': d, ghost, other/ghost. */
static void new_pod_records(struct sl_ep_desired want[4])
{
	want[0] = record(A, 3, "a");
	want[1] = record(D, 10, "d");
	want[2] = record(G, 11, "ghost");
	want[3] = record_in("other", O, 12, "ghost");
}

/*
 * SPECS E.5, the new-pod window. The plugin writes a new pod's entry
 * closed (SL_EP_F_PENDING and both isolation bits); one sync clears
 * SL_EP_F_PENDING as soon as the pod's isolation is decided: a Pod object
 * without a podIP yet is compiled at its record's address; a pod not
 * known yet in a namespace without NetworkPolicies cannot be isolated;
 * one in a namespace with some stays closed until its Pod arrives.
 */
static void test_new_pods(void **state)
{
	const uint32_t closed = SL_EP_F_PENDING | SL_EP_F_INGRESS_ISOLATED |
				SL_EP_F_EGRESS_ISOLATED;
	struct fx *f = fx_new(SL_POLICY_MAX, SL_POLICY_CIDR_MAX);
	const struct sl_identity *id;
	struct sl_ep_desired want[4];
	struct sl_ep_stats st;
	long entry, flags;

	(void)state;
	model_load(&f->m, ALLOW_B(80));
	/* d: its Pod object has no podIP yet (the kubelet reports it after
	 * ADD), labels the policy selects. */
	add_pod(f, "d", "", "n1", "a");
	sync_all(f, 0);
	new_pod_records(want);
	for (int i = 1; i < 4; i++) /* as the plugin wrote them */
		ep_update(&f->eps, want[i].ip,
			  &(struct sl_endpoint){ .ifindex = want[i].ep.ifindex,
						 .flags = closed });
	n_ops = 0;
	sync_records(f, want, 4, 0, &st);

	/* Known: programmed as compiled, at the record's address. */
	assert_int_equal(ep_flags(&f->eps, D), SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_identity(&f->eps, D),
			 sl_model_identity(&f->m, "shop/d")->id);
	assert_int_equal(entries_at(&f->pol, D), 2); /* b on 80, the node */
	entry = first_op(OP_WRITE, SL_POL_MAP_POLICY, D);
	flags = first_op(OP_EP_WRITE, -1, D);
	assert_true(entry >= 0 && flags > entry);
	/* Unknown, and shop has a policy: kept closed. */
	assert_int_equal(ep_flags(&f->eps, G), closed);
	assert_int_equal(ep_identity(&f->eps, G), 0);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.unknown_pods, 2);
	/* Unknown, no policy in its namespace: open, identity unknown. */
	assert_int_equal(ep_flags(&f->eps, O), 0);
	assert_int_equal(ep_identity(&f->eps, O), 0);

	/* ghost's Pod arrives, not selected: open, with its identity. */
	add_pod(f, "ghost", "", "n1", "c");
	new_pod_records(want);
	sync_records(f, want, 4, 0, &st);
	assert_int_equal(ep_flags(&f->eps, G), 0);
	id = sl_model_identity(&f->m, "shop/ghost");
	assert_int_equal(ep_identity(&f->eps, G), id->id);
	assert_int_equal(st.pending, 0);

	/* other gains a policy while its pod is still unknown: closed
	 * again, never open to what the policy may deny. */
	model_load(&f->m,
		   "{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy',"
		   "'metadata':{'namespace':'other','name':'deny'},"
		   "'spec':{'podSelector':{}}}");
	new_pod_records(want);
	sync_records(f, want, 4, 0, &st);
	assert_int_equal(ep_flags(&f->eps, O), closed);
	assert_int_equal(st.pending, 1);
	fx_free(f);
}

/* Something else wrote the maps: the mirror does not see it until the
 * resync, which reads back and repairs every kind of drift. */
static void test_invalidate_repairs(void **state)
{
	struct fx *f = fx_new(SL_POLICY_MAX, SL_POLICY_CIDR_MAX);
	struct sl_policy_entry bogus, garbage;
	struct sl_policy_cidr_entry stray = {};

	(void)state;
	model_load(&f->m, ALLOW_B(80));
	model_load(&f->m, NETPOL("out", "'podSelector':{'matchLabels':{'app':'a'}},"
				 "'policyTypes':['Egress'],'egress':[{'to':[{'ipBlock':"
				 "{'cidr':'192.168.0.0/16'}}],'ports':[{'port':53,"
				 "'protocol':'UDP'}]}]"));
	sync_all(f, 0);
	assert_map_is(&f->pol, &f->st);

	/* Drift: an entry gone, a value changed, a stranger, a stray CIDR,
	 * and one of ours rewritten with bits past its prefix set (one node
	 * to the kernel, not bytes we wrote). */
	memcpy(f->pol.maps[0].e[0], f->pol.maps[0].e[--f->pol.maps[0].n],
	       ENTRY_SIZE[0]);
	((struct sl_policy_entry *)f->pol.maps[0].e[0])->val.policy_id = 999;
	bogus = f->st.out.entries[0];
	bogus.key.identity = 4242;
	memcpy(f->pol.maps[0].e[f->pol.maps[0].n++], &bogus, sizeof(bogus));
	stray.key.prefixlen = SL_POLICY_CIDR_FIXED_BITS + 24;
	stray.key.ep = htonl(ip4(A));
	stray.key.addr = htonl(ip4("172.16.0.0"));
	stray.val.identity = SL_ID_CIDR_FIRST + 77;
	memcpy(f->pol.maps[1].e[f->pol.maps[1].n++], &stray, sizeof(stray));

	f->pol.writes = f->pol.removes = f->pol.dumps = 0;
	sync_all(f, 0);
	assert_int_equal(f->pol.writes + f->pol.removes + f->pol.dumps, 0);

	sl_pol_state_invalidate(&f->st);
	sync_all(f, 0);
	assert_int_equal(f->pol.dumps, 2);
	assert_map_is(&f->pol, &f->st);

	/* Bits past the prefix of one of ours (the kernel keeps what it is
	 * given): the same trie node, read back masked it is ours, neither
	 * rewritten nor deleted as stale. */
	for (size_t i = 0; i < f->pol.maps[0].n; i++) {
		memcpy(&garbage, f->pol.maps[0].e[i], sizeof(garbage));
		if (garbage.key.prefixlen != SL_POLICY_FIXED_BITS)
			continue;
		garbage.key.dport = htons(0xffff);
		garbage.key.pad2 = 0xabcd;
		memcpy(f->pol.maps[0].e[i], &garbage, sizeof(garbage));
		break;
	}
	assert_int_equal(garbage.key.pad2, 0xabcd);
	sl_pol_state_invalidate(&f->st);
	f->pol.writes = f->pol.removes = 0;
	sync_all(f, 0);
	assert_int_equal(f->pol.writes + f->pol.removes, 0);
	assert_int_equal(f->pol.maps[0].n, f->st.out.n_entries);
	fx_free(f);
}

/* --- the agent API -------------------------------------------------------- */

static json_object *get(json_object *o, const char *path)
{
	char buf[256], *save = NULL;
	json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(k));
		else if (!json_object_object_get_ex(v, k, &v))
			fail_msg("no %s in %s", path,
				 json_object_to_json_string(o));
		assert_non_null(v);
	}
	return v;
}

static const char *str(json_object *o, const char *path)
{
	return json_object_get_string(get(o, path));
}

static void test_api_views(void **state)
{
	struct fx *f = fx_new(SL_POLICY_MAX, SL_POLICY_CIDR_MAX);
	json_object *o;
	int err;

	(void)state;
	model_load(&f->m, NETPOL("allow-b", "'podSelector':{'matchLabels':{'app':'a'}},"
				 "'ingress':[{'from':[{'podSelector':{'matchLabels':"
				 "{'app':'b'}}}],'ports':[{'protocol':'TCP','port':80,"
				 "'endPort':85}]}]"));
	sync_all(f, 0);

	o = sl_policy_sync_list_json(&f->st);
	assert_int_equal(json_object_array_length(get(o, "endpoints")), 3);
	assert_string_equal(str(o, "endpoints.0.endpoint"), "shop/a");
	assert_string_equal(str(o, "endpoints.0.ingress.isolated"), "true");
	assert_string_equal(str(o, "endpoints.0.ingress.entries"), "3");
	assert_string_equal(str(o, "endpoints.0.ingress.policies.0"), "shop/allow-b");
	assert_string_equal(str(o, "endpoints.0.egress.isolated"), "false");
	assert_string_equal(str(o, "endpoints.1.ingress.isolated"), "false");
	assert_string_equal(str(o, "status.isolated"), "1");
	json_object_put(o);

	/* 80-85 is two prefixes (80/14, 84/15), shown as one range again. */
	o = sl_policy_sync_endpoint_json(&f->st, &f->m, A);
	assert_non_null(o);
	assert_string_equal(str(o, "endpoint"), "shop/a");
	assert_int_equal(json_object_array_length(get(o, "ingress.entries")), 3);
	assert_int_equal(json_object_array_length(get(o, "ingress.rules")), 2);
	assert_string_equal(str(o, "ingress.rules.0.remote"), "host (this node)");
	assert_string_equal(str(o, "ingress.rules.0.ports"), "any");
	assert_string_equal(str(o, "ingress.rules.1.ports"), "80-85");
	assert_string_equal(str(o, "ingress.rules.1.entries"), "2");
	assert_string_equal(str(o, "ingress.rules.1.protocol"), "TCP");
	assert_string_equal(str(o, "ingress.rules.1.namespace"), "shop");
	assert_string_equal(str(o, "ingress.rules.1.labels"), "app=b");
	assert_string_equal(str(o, "ingress.rules.1.policy"), "shop/allow-b");
	json_object_put(o);
	assert_null(sl_policy_sync_endpoint_json(&f->st, &f->m, "shop/far"));

	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/b", "shop/a",
				      IPPROTO_TCP, 84, &err);
	assert_non_null(o);
	assert_string_equal(str(o, "verdict"), "allowed");
	assert_string_equal(str(o, "ingress.policy"), "shop/allow-b");
	assert_string_equal(str(o, "egress.verdict"), "allowed");
	json_object_put(o);
	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/c", "shop/a",
				      IPPROTO_TCP, 80, &err);
	assert_string_equal(str(o, "verdict"), "denied");
	assert_non_null(strstr(str(o, "ingress.why"), "isolated by shop/allow-b"));
	json_object_put(o);
	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/b", "shop/a",
				      IPPROTO_TCP, 86, &err);
	assert_string_equal(str(o, "verdict"), "denied");
	json_object_put(o);
	/* From another node: this node decides the ingress only. */
	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/far", "shop/a",
				      IPPROTO_TCP, 80, &err);
	assert_string_equal(str(o, "verdict"), "unknown");
	assert_string_equal(str(o, "egress.verdict"), "unknown");
	assert_non_null(strstr(str(o, "egress.why"), "node n2"));
	assert_string_equal(str(o, "ingress.verdict"), "allowed");
	json_object_put(o);
	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/far", "shop/c",
				      IPPROTO_TCP, 80, &err);
	assert_string_equal(str(o, "verdict"), "unknown");
	json_object_put(o);
	o = sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/far", "shop/a",
				      IPPROTO_UDP, 80, &err);
	assert_string_equal(str(o, "verdict"), "denied");
	json_object_put(o);
	assert_null(sl_policy_sync_trace_json(&f->st, &f->m, "n1", "shop/none",
					      "shop/a", IPPROTO_TCP, 80, &err));
	assert_int_equal(err, -ENOENT);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_differences),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_room_and_failure),
		cmocka_unit_test(test_new_pods),
		cmocka_unit_test(test_invalidate_repairs),
		cmocka_unit_test(test_api_views),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

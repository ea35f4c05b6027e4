// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service sync against sl_services / sl_backends in memory (no root): what
 * Services and EndpointSlices compile to (SPECS D.3), ids, and the order
 * of writes. The in-memory maps log every entry written or deleted and, in
 * most tests, check after each one that a reader could not see a frontend
 * counting a missing slot, a slot naming a missing backend, or a
 * TWO_SCOPES frontend without its SCOPE_INT twin.
 */
#include "unit.h"
#include "k8s.h"
#include "log.h"
#include "maglev.h"
#include "model.h"
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

/* --- the maps in memory --------------------------------------------------- */

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

#define MEM_MAX 2048
#define OPS_MAX 8192
#define TABLES_MAX 64

struct op {
	char what; /* B write backend, b delete backend, S write, s delete,
		    * T write Maglev table, t delete one */
	unsigned int call;
	struct sl_service_key key;
	__u32 id;
};

/* One sl_maglev entry: its inner map's id, the table, the ids it names. */
struct mem_tbl {
	__u32 id, inner;
	__u32 *lut;
	__u32 names[MEM_MAX];
	size_t n_names;
};

struct mem {
	struct sl_svc_entry svc[MEM_MAX];
	size_t n_svc;
	struct sl_svc_backend_entry be[MEM_MAX];
	size_t n_be;
	struct mem_tbl tbl[TABLES_MAX];
	size_t n_tbl;
	__u32 last_inner;   /* inner map ids handed out */
	unsigned int reads; /* tables read back */
	struct op ops[OPS_MAX];
	size_t n_ops;
	unsigned int calls, dumps;
	bool check;        /* assert consistency after every entry */
	size_t fail_after; /* the entry op this many from now fails */
};

static bool key_eq(const struct sl_service_key *a,
		   const struct sl_service_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static struct sl_svc_entry *mem_svc(struct mem *m,
				    const struct sl_service_key *k)
{
	for (size_t i = 0; i < m->n_svc; i++)
		if (key_eq(&m->svc[i].key, k))
			return &m->svc[i];
	return NULL;
}

static struct sl_svc_backend_entry *mem_be(struct mem *m, __u32 id)
{
	for (size_t i = 0; i < m->n_be; i++)
		if (m->be[i].id == id)
			return &m->be[i];
	return NULL;
}

static struct mem_tbl *mem_tbl(struct mem *m, __u32 id)
{
	for (size_t i = 0; i < m->n_tbl; i++)
		if (m->tbl[i].id == id)
			return &m->tbl[i];
	return NULL;
}

/* What the datapath relies on at every instant. */
static void check_consistent(struct mem *m)
{
	for (size_t i = 0; i < m->n_tbl; i++)
		for (size_t j = 0; j < m->tbl[i].n_names; j++)
			assert_non_null(mem_be(m, m->tbl[i].names[j]));
	for (size_t i = 0; i < m->n_svc; i++) {
		const struct sl_svc_entry *e = &m->svc[i];
		struct sl_service_key k = e->key;

		if (k.slot) {
			assert_non_null(mem_be(m, e->val.backend_id));
			continue;
		}
		/* A frontend names a table once it is written. */
		if (e->val.backend_id)
			assert_non_null(mem_tbl(m, e->val.backend_id));
		for (__u16 s = 1; s <= e->val.count; s++) {
			k.slot = s;
			assert_non_null(mem_svc(m, &k));
		}
		if (e->val.flags & SL_SVC_F_TWO_SCOPES) {
			k.slot = 0;
			k.scope = SL_SCOPE_INT;
			assert_non_null(mem_svc(m, &k));
		}
	}
}

static int mem_op(struct mem *m, char what, const struct sl_service_key *k,
		  __u32 id)
{
	if (m->fail_after && !--m->fail_after)
		return -EIO;
	assert_true(m->n_ops < OPS_MAX);
	m->ops[m->n_ops] = (struct op){ .what = what, .call = m->calls,
					.id = id };
	if (k)
		m->ops[m->n_ops].key = *k;
	m->n_ops++;
	return 0;
}

static int m_dump_services(const struct sl_svc_backend *be,
			   int (*cb)(const struct sl_service_key *,
				     const struct sl_service_val *, void *),
			   void *arg)
{
	struct mem *m = be->ctx;

	m->dumps++;
	/* Backwards: the sync must not depend on the map's order. */
	for (size_t i = m->n_svc; i-- > 0;) {
		int err = cb(&m->svc[i].key, &m->svc[i].val, arg);

		if (err)
			return err;
	}
	return 0;
}

static int m_dump_backends(const struct sl_svc_backend *be,
			   int (*cb)(__u32, const struct sl_backend *, void *),
			   void *arg)
{
	struct mem *m = be->ctx;

	for (size_t i = m->n_be; i-- > 0;) {
		int err = cb(m->be[i].id, &m->be[i].be, arg);

		if (err)
			return err;
	}
	return 0;
}

static void mem_put_svc(struct mem *m, const struct sl_service_key *k,
			const struct sl_service_val *v)
{
	struct sl_svc_entry *e = mem_svc(m, k);

	if (!e) {
		assert_true(m->n_svc < MEM_MAX);
		e = &m->svc[m->n_svc++];
		e->key = *k;
	}
	e->val = *v;
}

static void mem_del_svc(struct mem *m, const struct sl_service_key *k)
{
	struct sl_svc_entry *e = mem_svc(m, k);

	if (e)
		*e = m->svc[--m->n_svc];
}

static void mem_put_be(struct mem *m, __u32 id, const struct sl_backend *b)
{
	struct sl_svc_backend_entry *e = mem_be(m, id);

	if (!e) {
		assert_true(m->n_be < MEM_MAX);
		e = &m->be[m->n_be++];
		e->id = id;
	}
	e->be = *b;
}

static int m_write_services(const struct sl_svc_backend *be,
			    const struct sl_service_key *keys,
			    const struct sl_service_val *vals, size_t n)
{
	struct mem *m = be->ctx;

	m->calls++;
	for (size_t i = 0; i < n; i++) {
		int err = mem_op(m, 'S', &keys[i], 0);

		if (err)
			return err;
		mem_put_svc(m, &keys[i], &vals[i]);
		if (m->check)
			check_consistent(m);
	}
	return 0;
}

static int m_remove_services(const struct sl_svc_backend *be,
			     const struct sl_service_key *keys, size_t n)
{
	struct mem *m = be->ctx;

	m->calls++;
	for (size_t i = 0; i < n; i++) {
		int err = mem_op(m, 's', &keys[i], 0);

		if (err)
			return err;
		mem_del_svc(m, &keys[i]);
		if (m->check)
			check_consistent(m);
	}
	return 0;
}

static int m_write_backends(const struct sl_svc_backend *be, const __u32 *ids,
			    const struct sl_backend *vals, size_t n)
{
	struct mem *m = be->ctx;

	m->calls++;
	for (size_t i = 0; i < n; i++) {
		int err = mem_op(m, 'B', NULL, ids[i]);

		if (err)
			return err;
		mem_put_be(m, ids[i], &vals[i]);
		if (m->check)
			check_consistent(m);
	}
	return 0;
}

static int m_remove_backends(const struct sl_svc_backend *be, const __u32 *ids,
			     size_t n)
{
	struct mem *m = be->ctx;

	m->calls++;
	for (size_t i = 0; i < n; i++) {
		struct sl_svc_backend_entry *e;
		int err = mem_op(m, 'b', NULL, ids[i]);

		if (err)
			return err;
		e = mem_be(m, ids[i]);
		if (e)
			*e = m->be[--m->n_be];
		if (m->check)
			check_consistent(m);
	}
	return 0;
}

static int m_dump_maglev(const struct sl_svc_backend *be,
			 int (*cb)(__u32, __u32, void *), void *arg)
{
	struct mem *m = be->ctx;

	for (size_t i = m->n_tbl; i-- > 0;) {
		int err = cb(m->tbl[i].id, m->tbl[i].inner, arg);

		if (err)
			return err;
	}
	return 0;
}

static int m_read_maglev(const struct sl_svc_backend *be, __u32 id,
			 __u32 *table)
{
	struct mem *m = be->ctx;
	struct mem_tbl *t = mem_tbl(m, id);

	m->reads++;
	if (!t)
		return -ENOENT;
	memcpy(table, t->lut, sizeof(struct sl_maglev_table));
	return 0;
}

/* A table as written, or put there behind the agent's back. */
static void mem_put_tbl(struct mem *m, __u32 id, const __u32 *table)
{
	struct mem_tbl *t = mem_tbl(m, id);

	if (!t) {
		assert_true(m->n_tbl < TABLES_MAX);
		t = &m->tbl[m->n_tbl++];
		memset(t, 0, sizeof(*t));
		t->id = id;
		t->lut = malloc(sizeof(struct sl_maglev_table));
		assert_non_null(t->lut);
	}
	memcpy(t->lut, table, sizeof(struct sl_maglev_table));
	t->inner = ++m->last_inner; /* a new inner map each time */
	t->n_names = 0;
	for (size_t i = 0; i < SL_MAGLEV_M; i++) {
		size_t j = 0;

		while (j < t->n_names && t->names[j] != table[i])
			j++;
		if (j == t->n_names) {
			assert_true(t->n_names < MEM_MAX);
			t->names[t->n_names++] = table[i];
		}
	}
}

static void mem_del_tbl(struct mem *m, __u32 id)
{
	struct mem_tbl *t = mem_tbl(m, id);

	if (!t)
		return;
	free(t->lut);
	*t = m->tbl[--m->n_tbl];
}

static int m_write_maglev(const struct sl_svc_backend *be, __u32 id,
			  const __u32 *table, __u32 *inner)
{
	struct mem *m = be->ctx;
	int err;

	m->calls++;
	err = mem_op(m, 'T', NULL, id);
	if (err)
		return err;
	mem_put_tbl(m, id, table);
	*inner = mem_tbl(m, id)->inner;
	if (m->check)
		check_consistent(m);
	return 0;
}

static int m_remove_maglev(const struct sl_svc_backend *be, const __u32 *ids,
			   size_t n)
{
	struct mem *m = be->ctx;

	m->calls++;
	for (size_t i = 0; i < n; i++) {
		int err = mem_op(m, 't', NULL, ids[i]);

		if (err)
			return err;
		mem_del_tbl(m, ids[i]);
		if (m->check)
			check_consistent(m);
	}
	return 0;
}

static struct mem *mem_new(struct sl_svc_backend *be)
{
	struct mem *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->check = true;
	*be = (struct sl_svc_backend){
		.dump_services = m_dump_services,
		.dump_backends = m_dump_backends,
		.write_services = m_write_services,
		.remove_services = m_remove_services,
		.write_backends = m_write_backends,
		.remove_backends = m_remove_backends,
		.dump_maglev = m_dump_maglev,
		.read_maglev = m_read_maglev,
		.write_maglev = m_write_maglev,
		.remove_maglev = m_remove_maglev,
		.ctx = m,
		.services_fd = -1,
		.backends_fd = -1,
		.maglev_fd = -1,
	};
	return m;
}

static void mem_free(struct mem *m)
{
	for (size_t i = 0; i < m->n_tbl; i++)
		free(m->tbl[i].lut);
	free(m);
}

/* --- the model, from JSON with ' for " ------------------------------------ */

static void load(struct sl_model *model, const char *text)
{
	model_load(model, text);
}

#define SVC_X(ns, name, meta, spec, status)                                    \
	"{'apiVersion':'v1','kind':'Service','metadata':{'namespace':'" ns    \
	"','name':'" name "'" meta "},'spec':{" spec "}" status "}"
#define SVC(ns, name, spec) SVC_X(ns, name, "", spec, "")
#define SLICE_X(ns, name, labels, family, ports, eps)                          \
	"{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice',"          \
	"'metadata':{'namespace':'" ns "','name':'" name "','labels':{" labels \
	"}},'addressType':'" family "','ports':[" ports "],'endpoints':[" eps  \
	"]}"
#define SLICE(ns, name, svc, ports, eps)                                       \
	SLICE_X(ns, name, "'kubernetes.io/service-name':'" svc "'", "IPv4",    \
		ports, eps)
#define PORT(name, proto, port)                                                \
	"{'name':'" name "','protocol':'" proto "','port':" #port "}"
#define EP(ip, node, ready, serving, term)                                     \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{"         \
	"'ready':" ready ",'serving':" serving ",'terminating':" term "}}"
#define READY(ip, node) EP(ip, node, "true", "true", "false")
#define TERMINATING(ip, node) EP(ip, node, "false", "true", "true")
#define NOT_READY(ip, node) EP(ip, node, "false", "false", "false")
/* Ready, with zone hints (zones: "'a','b'"). */
#define HINTED(ip, node, zones)                                                \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{"         \
	"'ready':true},'hints':{'forZones':[" zones "]}}"

/* A ClusterIP Service with one TCP port "http" 80, the usual fixture. */
#define WEB_SVC(spec_extra)                                                    \
	SVC("default", "web", "'clusterIP':'10.96.0.10','ports':[{'name':"     \
			      "'http','port':80,'protocol':'TCP'}]" spec_extra)
#define HTTP_PORT PORT("http", "TCP", 8080)
#define WEB_SLICE(name, eps) SLICE("default", name, "web", HTTP_PORT, eps)
/* One port "http" 80 (TCP) at a ClusterIP. */
#define HTTP_SPEC(ip) "'clusterIP':'" ip "','ports':[{'name':'http','port':80}]"

static struct sl_service_key key(const char *ip, uint16_t port, uint8_t proto,
				 uint8_t scope, uint16_t slot)
{
	return (struct sl_service_key){ .addr = htonl(ip4(ip)),
					.port = htons(port),
					.proto = proto,
					.scope = scope,
					.slot = slot };
}

static const struct sl_service_val *fe(struct mem *m, const char *ip,
				       uint16_t port, uint8_t proto,
				       uint8_t scope)
{
	struct sl_service_key k = key(ip, port, proto, scope, 0);
	const struct sl_svc_entry *e = mem_svc(m, &k);

	return e ? &e->val : NULL;
}

/* The backend of each slot as "ip:port,ip:port". */
static void slots_str(struct mem *m, const struct sl_service_key *fk,
		      __u16 count, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (__u16 s = 1; s <= count; s++) {
		struct sl_service_key k = *fk;
		const struct sl_svc_entry *e;
		const struct sl_svc_backend_entry *b;
		char ip[16];
		struct in_addr a;

		k.slot = s;
		e = mem_svc(m, &k);
		assert_non_null(e);
		b = mem_be(m, e->val.backend_id);
		assert_non_null(b);
		a.s_addr = b->be.addr;
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%u",
					s > 1 ? "," : "", ip,
					ntohs(b->be.port));
		assert_true(off < len);
	}
}

/* The frontend is there with these flags and these backends in its slots. */
static void expect_fe(struct mem *m, const char *ip, uint16_t port,
		      uint8_t proto, uint8_t scope, __u16 flags,
		      const char *slots)
{
	struct sl_service_key k = key(ip, port, proto, scope, 0);
	const struct sl_svc_entry *e = mem_svc(m, &k);
	char buf[1024];

	if (!e)
		fail_msg("no frontend %s:%u/%u scope %u", ip, port, proto,
			 scope);
	assert_int_equal(e->val.flags, flags);
	/* A Maglev frontend with backends names its table (expect_table). */
	if (!(flags & SL_SVC_F_MAGLEV) || !e->val.count)
		assert_int_equal(e->val.backend_id, 0);
	assert_int_not_equal(e->val.svc_id, 0);
	slots_str(m, &k, e->val.count, buf, sizeof(buf));
	assert_string_equal(buf, slots);
	/* Nothing beyond count. */
	k.slot = (__u16)(e->val.count + 1);
	assert_null(mem_svc(m, &k));
}

/* The backend written for ip:port. */
static struct sl_svc_backend_entry *be_at(struct mem *m, const char *ip,
						uint16_t port)
{
	for (size_t i = 0; i < m->n_be; i++)
		if (m->be[i].be.addr == htonl(ip4(ip)) &&
		    m->be[i].be.port == htons(port))
			return &m->be[i];
	return NULL;
}

static size_t frontends_in(struct mem *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_svc; i++)
		n += !m->svc[i].key.slot;
	return n;
}

/* Index of the first/last op of a kind; slot -1: any entry, -2: slots only. */
static int op_first(const struct mem *m, char what, int slot)
{
	for (size_t i = 0; i < m->n_ops; i++)
		if (m->ops[i].what == what &&
		    (slot == -1 || (slot == -2 ? m->ops[i].key.slot > 0 :
						 m->ops[i].key.slot == slot)))
			return (int)i;
	return -1;
}

static int op_last(const struct mem *m, char what, int slot)
{
	for (size_t i = m->n_ops; i-- > 0;)
		if (m->ops[i].what == what &&
		    (slot == -1 || (slot == -2 ? m->ops[i].key.slot > 0 :
						 m->ops[i].key.slot == slot)))
			return (int)i;
	return -1;
}

static int op_of(const struct mem *m, char what,
		 const struct sl_service_key *k)
{
	for (size_t i = 0; i < m->n_ops; i++)
		if (m->ops[i].what == what && key_eq(&m->ops[i].key, k))
			return (int)i;
	return -1;
}

/* A fixture: a model, the maps, the state, node n1 at two addresses. */
struct fx {
	struct sl_model model;
	struct sl_svc_backend be;
	struct mem *mem;
	struct sl_svc_state st;
	uint32_t node_ips[2];
	struct sl_svc_config cfg;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sl_model_init(&f->model);
	f->mem = mem_new(&f->be);
	f->node_ips[0] = ip4("192.168.1.10");
	f->node_ips[1] = ip4("172.16.0.10");
	f->cfg = (struct sl_svc_config){ .self = "n1",
					 .node_ips = f->node_ips,
					 .n_node_ips = 2 };
	return f;
}

static void fx_free(struct fx *f)
{
	sl_svc_state_free(&f->st);
	sl_model_free(&f->model);
	mem_free(f->mem);
	free(f);
}

/* The service id of the TCP ClusterIP-scope frontend at ip:port. */
static __u32 svc_id(struct fx *f, const char *ip, uint16_t port)
{
	const struct sl_service_val *v = fe(f->mem, ip, port, TCP, 0);

	assert_non_null(v);
	return v->svc_id;
}

static void sync_ok(struct fx *f)
{
	f->mem->n_ops = 0;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &f->st),
			 0);
	if (f->mem->check)
		check_consistent(f->mem);
}

/* --- tests ---------------------------------------------------------------- */

static void test_clusterip(void **state)
{
	struct fx *f = fx_new();
	const struct sl_svc_backend_entry *a, *b;
	const struct sl_service_val *v;
	struct sl_service_key k = key("10.96.0.10", 80, TCP, 0, 0);

	(void)state;
	load(&f->model, WEB_SVC(""));
	/* Listed out of order: the slots come out sorted. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.2.7", "n2") ","
					   READY("10.244.1.5", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, SL_SCOPE_EXT, 0,
		  "10.244.1.5:8080,10.244.2.7:8080");
	v = fe(f->mem, "10.96.0.10", 80, TCP, SL_SCOPE_EXT);
	assert_string_equal(sl_svc_name(&f->st, v->svc_id),
			    "default/web:http/TCP");
	assert_int_equal(v->affinity_timeout, 0);
	/* The slots carry the service id too. */
	k.slot = 1;
	assert_int_equal(mem_svc(f->mem, &k)->val.svc_id, v->svc_id);
	a = be_at(f->mem, "10.244.1.5", 8080);
	b = be_at(f->mem, "10.244.2.7", 8080);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->be.flags, SL_BE_F_LOCAL);
	assert_int_equal(b->be.flags, 0);
	assert_int_equal(a->be.proto, TCP);
	assert_int_not_equal(a->id, 0);
	assert_int_not_equal(a->id, b->id);
	/* Backends, then slots, then the frontend; one call each. */
	assert_int_equal(f->mem->n_ops, 5);
	assert_true(op_last(f->mem, 'B', -1) < op_first(f->mem, 'S', -2));
	assert_true(op_last(f->mem, 'S', -2) < op_first(f->mem, 'S', 0));
	assert_int_equal(f->mem->ops[0].call, f->mem->ops[1].call);
	assert_int_equal(f->mem->ops[2].call, f->mem->ops[3].call);
	assert_int_equal(f->st.last.frontends, 1);
	assert_int_equal(f->st.last.slots, 2);
	assert_int_equal(f->st.last.backends, 2);
	assert_int_equal(f->st.last.frontends_written, 1);
	assert_int_equal(f->st.last.slots_written, 2);
	assert_int_equal(f->st.last.backends_written, 2);
	assert_non_null(sl_svc_backend_get(&f->st, a->id));
	fx_free(f);
}

/* Port "http" TCP and "dns" UDP, across two slices: name and protocol
 * must both match; a slice port of 0 is ignored. */
static void test_named_ports(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, SVC("default", "multi",
			    "'clusterIP':'10.96.0.20','ports':["
			    "{'name':'http','port':80,'protocol':'TCP'},"
			    "{'name':'dns','port':53,'protocol':'UDP'},"
			    "{'name':'metrics','port':9090}]"));
	load(&f->model, SLICE("default", "multi-a", "multi",
			      HTTP_PORT "," PORT("dns", "TCP", 5353) ","
			      PORT("metrics", "TCP", 0),
			      READY("10.244.1.1", "n1")));
	load(&f->model, SLICE("default", "multi-b", "multi",
			      PORT("dns", "UDP", 5353) ","
			      PORT("http", "UDP", 8081),
			      READY("10.244.2.2", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.20", 80, TCP, 0, 0, "10.244.1.1:8080");
	expect_fe(f->mem, "10.96.0.20", 53, UDP, 0, 0, "10.244.2.2:5353");
	expect_fe(f->mem, "10.96.0.20", 9090, TCP, 0, 0, "");
	/* dns/TCP and http/UDP of the slices match no Service port. */
	assert_null(be_at(f->mem, "10.244.1.1", 5353));
	assert_null(be_at(f->mem, "10.244.2.2", 8081));
	assert_int_equal(f->mem->n_be, 2);
	/* One id per Service port, each named. */
	assert_int_not_equal(fe(f->mem, "10.96.0.20", 80, TCP, 0)->svc_id,
			     fe(f->mem, "10.96.0.20", 53, UDP, 0)->svc_id);
	assert_string_equal(sl_svc_name(&f->st, fe(f->mem, "10.96.0.20", 53,
						   UDP, 0)->svc_id),
			    "default/multi:dns/UDP");
	fx_free(f);
}

/* The same ip:port in two slices is one slot; the ready copy counts. */
static void test_dedupe(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-a", TERMINATING("10.244.1.5", "n1") ","
					   READY("10.244.2.7", "n2")));
	load(&f->model, WEB_SLICE("web-b", READY("10.244.1.5", "n1") ","
					   READY("10.244.2.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.5:8080,10.244.2.7:8080");
	assert_int_equal(f->mem->n_be, 2);
	assert_int_equal(be_at(f->mem, "10.244.1.5", 8080)->be.flags,
			 SL_BE_F_LOCAL);
	fx_free(f);
}

/* Not ready: no slot, but a backend (connections already on it). */
static void test_not_ready(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.5", "n1") ","
					   NOT_READY("10.244.1.6", "n1") ","
					   TERMINATING("10.244.1.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "10.244.1.5:8080");
	/* Flagged like a terminating one: affinity must not stick to it. */
	assert_non_null(be_at(f->mem, "10.244.1.6", 8080));
	assert_int_equal(be_at(f->mem, "10.244.1.6", 8080)->be.flags,
			 SL_BE_F_TERMINATING | SL_BE_F_LOCAL);
	assert_int_equal(be_at(f->mem, "10.244.1.7", 8080)->be.flags,
			 SL_BE_F_TERMINATING);
	assert_int_equal(f->mem->n_be, 3);
	fx_free(f);
}

/* No ready endpoint: serving and terminating ones only (T34). */
static void test_terminating_fallback(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1",
				  TERMINATING("10.244.1.7", "n2") ","
				  EP("10.244.1.8", "n2", "false", "false",
				     "true") ","
				  NOT_READY("10.244.1.9", "n2") ","
				  TERMINATING("10.244.1.3", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.3:8080,10.244.1.7:8080");
	assert_int_equal(be_at(f->mem, "10.244.1.3", 8080)->be.flags,
			 SL_BE_F_TERMINATING | SL_BE_F_LOCAL);
	assert_int_equal(be_at(f->mem, "10.244.1.8", 8080)->be.flags,
			 SL_BE_F_TERMINATING);
	assert_int_equal(be_at(f->mem, "10.244.1.9", 8080)->be.flags,
			 SL_BE_F_TERMINATING);
	assert_int_equal(f->mem->n_be, 4);

	/* One becomes ready: the terminating ones leave the slots. */
	load(&f->model, WEB_SLICE("web-1",
				  TERMINATING("10.244.1.7", "n2") ","
				  READY("10.244.1.9", "n2") ","
				  TERMINATING("10.244.1.3", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "10.244.1.9:8080");
	assert_int_equal(be_at(f->mem, "10.244.1.9", 8080)->be.flags, 0);
	fx_free(f);
}

/* No endpoints: a frontend with count 0, which the datapath rejects. */
static void test_no_endpoints(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(""));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "");
	load(&f->model, WEB_SLICE("web-1", NOT_READY("10.244.1.5", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "");
	assert_int_equal(f->mem->n_be, 1);
	assert_int_equal(f->mem->n_svc, 1);
	fx_free(f);
}

/* Headless, ExternalName, another proxy's, and no address: nothing. */
static void test_skipped(void **state)
{
	static const char *const svcs[] = {
		SVC("default", "headless", HTTP_SPEC("None")),
		SVC("default", "extname",
		    "'type':'ExternalName','externalName':'example.com',"
		    HTTP_SPEC("")),
		SVC_X("default", "other",
		      ",'labels':{'service.kubernetes.io/service-proxy-name':"
		      "'other'}",
		      HTTP_SPEC("10.96.0.30"), ""),
		SVC("default", "noip", HTTP_SPEC("")),
		SVC("default", "v6", HTTP_SPEC("fd00::10")),
	};
	static const char *const names[] = { "headless", "extname", "other",
					     "noip", "v6" };

	(void)state;
	for (size_t i = 0; i < sizeof(svcs) / sizeof(*svcs); i++) {
		struct fx *f = fx_new();
		char slice[512];

		load(&f->model, svcs[i]);
		snprintf(slice, sizeof(slice),
			 SLICE("default", "s", "%s", PORT("http", "TCP", 8080),
			       READY("10.244.1.5", "n1")),
			 names[i]);
		load(&f->model, slice);
		sync_ok(f);
		assert_int_equal(f->mem->n_svc, 0);
		assert_int_equal(f->mem->n_be, 0);
		assert_int_equal(f->mem->n_ops, 0);
		fx_free(f);
	}
}

/*
 * Topology hints (SPECS D.3): used when every ready endpoint has hints and
 * one names this node's zone; then only those. Otherwise ignored.
 */
static void test_topology_hints(void **state)
{
	static const struct {
		const char *zone, *eps, *want;
	} cases[] = {
		/* All hinted, this zone named: its endpoints only. */
		{ "z1",
		  HINTED("10.244.1.5", "n1", "{'name':'z1'}") ","
		  HINTED("10.244.2.7", "n2", "{'name':'z2'}"),
		  "10.244.1.5:8080" },
		/* An endpoint hinted for two zones serves both. */
		{ "z2",
		  HINTED("10.244.1.5", "n1", "{'name':'z1'},{'name':'z2'}") ","
		  HINTED("10.244.2.7", "n2", "{'name':'z2'}") ","
		  HINTED("10.244.3.9", "n3", "{'name':'z3'}"),
		  "10.244.1.5:8080,10.244.2.7:8080" },
		/* One ready endpoint without hints: hints ignored. */
		{ "z1",
		  HINTED("10.244.1.5", "n1", "{'name':'z1'}") ","
		  READY("10.244.2.7", "n2"),
		  "10.244.1.5:8080,10.244.2.7:8080" },
		/* No hint names this zone: ignored, no empty set. */
		{ "z9",
		  HINTED("10.244.1.5", "n1", "{'name':'z1'}") ","
		  HINTED("10.244.2.7", "n2", "{'name':'z2'}"),
		  "10.244.1.5:8080,10.244.2.7:8080" },
		/* The node has no zone label: ignored. */
		{ NULL,
		  HINTED("10.244.1.5", "n1", "{'name':'z1'}") ","
		  HINTED("10.244.2.7", "n2", "{'name':'z2'}"),
		  "10.244.1.5:8080,10.244.2.7:8080" },
		/* Hints on terminating endpoints don't count: no ready one,
		 * the serving+terminating fallback takes them all. */
		{ "z1", TERMINATING("10.244.1.5", "n1") ","
			TERMINATING("10.244.2.7", "n2"),
		  "10.244.1.5:8080,10.244.2.7:8080" },
	};

	char slice[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = fx_new();

		f->cfg.zone = cases[i].zone;
		load(&f->model, WEB_SVC(""));
		snprintf(slice, sizeof(slice), WEB_SLICE("web-1", "%s"),
			 cases[i].eps);
		load(&f->model, slice);
		sync_ok(f);
		expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, cases[i].want);
		fx_free(f);
	}
}

/* iTP Local: ClusterIP gets this node's endpoints, flag LOCAL. */
static void test_itp_local(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(",'internalTrafficPolicy':'Local'"));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.5", "n1") ","
					   READY("10.244.2.7", "n2") ","
					   TERMINATING("10.244.1.6", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_LOCAL,
		  "10.244.1.5:8080");
	/* No local ready one: local terminating ones. */
	load(&f->model, WEB_SLICE("web-1", TERMINATING("10.244.1.5", "n1") ","
					   READY("10.244.2.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_LOCAL,
		  "10.244.1.5:8080");
	/* None local at all: count 0, flagged so the datapath drops (n2
	 * has one) rather than rejects. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.2.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0,
		  SL_SVC_F_LOCAL | SL_SVC_F_REMOTE_ONLY, "");
	/* No endpoint anywhere: not flagged, refused. */
	load(&f->model, WEB_SLICE("web-1", ""));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_LOCAL, "");
	fx_free(f);
}

#define LB_SVC(etp)                                                            \
	SVC_X("default", "lb", "",                                             \
	      "'type':'LoadBalancer','clusterIP':'10.96.0.40',"                \
	      "'externalIPs':['203.0.113.5'],'externalTrafficPolicy':'" etp    \
	      "','ports':[{'name':'http','port':80,'nodePort':30080}]",        \
	      ",'status':{'loadBalancer':{'ingress':[{'ip':'198.51.100.7'}]}}")
#define LB_SLICE                                                               \
	SLICE("default", "lb-1", "lb", PORT("http", "TCP", 8080),              \
	      READY("10.244.2.7", "n2") "," READY("10.244.1.5", "n1"))

/* eTP Local: outside traffic to external addresses gets the local set,
 * this node's own traffic the cluster set under SCOPE_INT. */
static void test_etp_local(void **state)
{
	static const char *const ext[] = { "203.0.113.5", "198.51.100.7" };
	const __u16 two = SL_SVC_F_TWO_SCOPES | SL_SVC_F_LOCAL;
	const __u16 np = SL_SVC_F_EXTERNAL | SL_SVC_F_NODEPORT;
	struct fx *f = fx_new();
	struct sl_service_key k, ext_k;

	(void)state;
	load(&f->model, LB_SVC("Local"));
	load(&f->model, LB_SLICE);
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.40", 80, TCP, SL_SCOPE_EXT, 0,
		  "10.244.1.5:8080,10.244.2.7:8080");
	assert_null(fe(f->mem, "10.96.0.40", 80, TCP, SL_SCOPE_INT));
	for (size_t i = 0; i < 2; i++) {
		expect_fe(f->mem, ext[i], 80, TCP, SL_SCOPE_EXT,
			  SL_SVC_F_EXTERNAL | two, "10.244.1.5:8080");
		expect_fe(f->mem, ext[i], 80, TCP, SL_SCOPE_INT,
			  SL_SVC_F_EXTERNAL, "10.244.1.5:8080,10.244.2.7:8080");
	}
	expect_fe(f->mem, "192.168.1.10", 30080, TCP, SL_SCOPE_EXT,
		  np | two, "10.244.1.5:8080");
	expect_fe(f->mem, "192.168.1.10", 30080, TCP, SL_SCOPE_INT, np,
		  "10.244.1.5:8080,10.244.2.7:8080");
	expect_fe(f->mem, "172.16.0.10", 30080, TCP, SL_SCOPE_EXT,
		  np | two, "10.244.1.5:8080");
	/* Every frontend of the Service port shares its id. */
	assert_int_equal(fe(f->mem, "172.16.0.10", 30080, TCP, 1)->svc_id,
			 fe(f->mem, "10.96.0.40", 80, TCP, 0)->svc_id);
	assert_int_equal(frontends_in(f->mem), 9);
	/* The INT twin is written before the frontend that points to it. */
	k = key("203.0.113.5", 80, TCP, SL_SCOPE_INT, 0);
	ext_k = key("203.0.113.5", 80, TCP, SL_SCOPE_EXT, 0);
	assert_true(op_of(f->mem, 'S', &k) >= 0);
	assert_true(op_of(f->mem, 'S', &k) < op_of(f->mem, 'S', &ext_k));

	/* No local endpoint: outside traffic dropped, inside still served. */
	load(&f->model, SLICE("default", "lb-1", "lb", HTTP_PORT,
			      READY("10.244.2.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "203.0.113.5", 80, TCP, SL_SCOPE_EXT,
		  SL_SVC_F_EXTERNAL | two | SL_SVC_F_REMOTE_ONLY, "");
	expect_fe(f->mem, "203.0.113.5", 80, TCP, SL_SCOPE_INT,
		  SL_SVC_F_EXTERNAL, "10.244.2.7:8080");

	/* Back to Cluster: the EXT entries are rewritten before the INT
	 * twins go. */
	load(&f->model, LB_SVC("Cluster"));
	sync_ok(f);
	expect_fe(f->mem, "203.0.113.5", 80, TCP, SL_SCOPE_EXT,
		  SL_SVC_F_EXTERNAL, "10.244.2.7:8080");
	assert_null(fe(f->mem, "203.0.113.5", 80, TCP, SL_SCOPE_INT));
	assert_true(op_last(f->mem, 'S', 0) < op_first(f->mem, 's', 0));
	assert_int_equal(frontends_in(f->mem), 5);
	fx_free(f);
}

/* NodePort on each node address, none without addresses. */
static void test_nodeport(void **state)
{
	const __u16 np = SL_SVC_F_EXTERNAL | SL_SVC_F_NODEPORT;
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, SVC("default", "np", "'type':'NodePort','clusterIP':"
					     "'10.96.0.50','ports':[{'name':"
					     "'dns','protocol':'UDP','port':53,"
					     "'nodePort':30053}]"));
	load(&f->model, SLICE("default", "np-1", "np", PORT("dns", "UDP", 5353),
			      READY("10.244.2.7", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.50", 53, UDP, 0, 0, "10.244.2.7:5353");
	expect_fe(f->mem, "192.168.1.10", 30053, UDP, 0, np,
		  "10.244.2.7:5353");
	expect_fe(f->mem, "172.16.0.10", 30053, UDP, 0, np,
		  "10.244.2.7:5353");
	assert_null(fe(f->mem, "192.168.1.10", 53, UDP, 0));
	assert_int_equal(frontends_in(f->mem), 3);
	/* The node loses an address. */
	f->cfg.n_node_ips = 1;
	sync_ok(f);
	assert_null(fe(f->mem, "172.16.0.10", 30053, UDP, 0));
	f->cfg.n_node_ips = 0;
	sync_ok(f);
	assert_int_equal(frontends_in(f->mem), 1);
	fx_free(f);
}

static void test_affinity(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(",'sessionAffinity':'ClientIP',"
				"'sessionAffinityConfig':{'clientIP':"
				"{'timeoutSeconds':600}}"));
	load(&f->model, SVC("default", "dflt", "'sessionAffinity':'ClientIP',"
					       HTTP_SPEC("10.96.0.11")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_AFFINITY, "");
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->affinity_timeout,
			 600);
	assert_int_equal(fe(f->mem, "10.96.0.11", 80, TCP, 0)->affinity_timeout,
			 10800);
	/* Turned off: flag and timeout go. */
	load(&f->model, WEB_SVC(""));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "");
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->affinity_timeout,
			 0);
	fx_free(f);
}

static void test_maglev(void **state)
{
	static const struct {
		const char *annotation; /* NULL: none */
		bool dflt, want;
	} cases[] = {
		{ NULL, false, false },   { NULL, true, true },
		{ "maglev", false, true }, { "random", true, false },
		{ "", true, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct fx *f = fx_new();
		char buf[512];

		snprintf(buf, sizeof(buf),
			 SVC_X("default", "web", "%s%s%s",
			       "'clusterIP':'10.96.0.10','ports':[{'port':80}]",
			       ""),
			 cases[i].annotation ?
				 ",'annotations':"
				 "{'sluice.io/lb-algorithm':'" : "",
			 cases[i].annotation ? cases[i].annotation : "",
			 cases[i].annotation ? "'}" : "");
		load(&f->model, buf);
		f->cfg.maglev_default = cases[i].dflt;
		sync_ok(f);
		expect_fe(f->mem, "10.96.0.10", 80, TCP, 0,
			  cases[i].want ? SL_SVC_F_MAGLEV : 0, "");
		/* An unnamed port's display name. */
		assert_string_equal(sl_svc_name(&f->st,
						svc_id(f, "10.96.0.10", 80)),
				    "default/web/TCP");
		fx_free(f);
	}
}

/* A backend that goes away takes its id with it for good. */
static void test_ids_not_reused(void **state)
{
	struct fx *f = fx_new();
	__u32 a, b, c, a2, svc;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	sync_ok(f);
	a = be_at(f->mem, "10.244.1.1", 8080)->id;
	b = be_at(f->mem, "10.244.1.2", 8080)->id;
	svc = fe(f->mem, "10.96.0.10", 80, TCP, 0)->svc_id;
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.2", "n1")));
	sync_ok(f);
	assert_null(mem_be(f->mem, a));
	assert_null(sl_svc_backend_get(&f->st, a));
	assert_int_equal(f->st.last.backends_removed, 1);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	sync_ok(f);
	c = be_at(f->mem, "10.244.1.3", 8080)->id;
	assert_true(c != a && c != b);
	assert_true(c > b && c > a);
	/* The same address again is a new backend with a new id. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	sync_ok(f);
	a2 = be_at(f->mem, "10.244.1.1", 8080)->id;
	assert_true(a2 != a && a2 > c);
	assert_int_equal(be_at(f->mem, "10.244.1.2", 8080)->id, b);
	/* The service id held all along. */
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->svc_id, svc);
	fx_free(f);
}

/* Fewer backends: the count is lowered before the surplus slots go. */
static void test_slot_shrink(void **state)
{
	struct fx *f = fx_new();
	struct sl_service_key k = key("10.96.0.10", 80, TCP, 0, 0);
	int fe_write;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	sync_ok(f);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.3", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "10.244.1.3:8080");
	fe_write = op_of(f->mem, 'S', &k);
	assert_true(fe_write >= 0);
	k.slot = 1;
	assert_true(op_of(f->mem, 'S', &k) < fe_write); /* slot 1 rewritten */
	k.slot = 2;
	assert_true(op_of(f->mem, 's', &k) > fe_write);
	k.slot = 3;
	assert_true(op_of(f->mem, 's', &k) > fe_write);
	assert_true(op_first(f->mem, 'b', -1) > op_last(f->mem, 's', -1));
	assert_int_equal(f->st.last.slots_written, 1);
	assert_int_equal(f->st.last.slots_removed, 2);
	assert_int_equal(f->st.last.frontends_written, 1);
	assert_int_equal(f->st.last.backends_removed, 2);
	assert_int_equal(f->mem->n_ops, 6);
	fx_free(f);
}

/* A Service deleted: its frontends and slots, and backends only it used. */
static void test_service_deleted(void **state)
{
	struct fx *f = fx_new();
	struct sl_service_key k = key("10.96.0.10", 80, TCP, 0, 0);
	__u32 svc;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	/* Another Service shares one of the endpoints. */
	load(&f->model, SVC("default", "alias", HTTP_SPEC("10.96.0.12")));
	load(&f->model, SLICE("default", "alias-1", "alias",
			      HTTP_PORT, READY("10.244.1.2", "n1")));
	sync_ok(f);
	assert_int_equal(f->mem->n_be, 2);
	svc = fe(f->mem, "10.96.0.10", 80, TCP, 0)->svc_id;
	assert_int_equal(sl_model_delete(&f->model, SL_KIND_SERVICE,
					 "default/web", NULL), 1);
	sync_ok(f);
	assert_null(fe(f->mem, "10.96.0.10", 80, TCP, 0));
	k.slot = 1;
	assert_null(mem_svc(f->mem, &k));
	assert_null(be_at(f->mem, "10.244.1.1", 8080));
	assert_non_null(be_at(f->mem, "10.244.1.2", 8080));
	expect_fe(f->mem, "10.96.0.12", 80, TCP, 0, 0, "10.244.1.2:8080");
	assert_int_equal(f->mem->n_svc, 2);
	/* Frontend first, then its slots, then the backend. */
	k.slot = 0;
	assert_true(op_of(f->mem, 's', &k) < op_first(f->mem, 's', -2));
	assert_true(op_last(f->mem, 's', -1) < op_first(f->mem, 'b', -1));
	assert_int_equal(f->st.last.frontends_removed, 1);
	assert_int_equal(f->st.last.slots_removed, 2);
	assert_int_equal(f->st.last.backends_removed, 1);
	assert_null(sl_svc_name(&f->st, svc));
	/* Everything gone. */
	assert_int_equal(sl_model_delete(&f->model, SL_KIND_SERVICE,
					 "default/alias", NULL), 1);
	sync_ok(f);
	assert_int_equal(f->mem->n_svc, 0);
	assert_int_equal(f->mem->n_be, 0);
	fx_free(f);
}

/* A restarted agent keeps the ids in the maps, and writes nothing new. */
static void test_restart_adopts_ids(void **state)
{
	struct fx *f = fx_new();
	struct sl_svc_state st2 = {};
	__u32 a, b, svc, c;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	/* A Service compiled first and gone before the restart: ids 1 are
	 * not in the maps any more, the web ones are 2 and 3. */
	load(&f->model, SVC("default", "aaa", HTTP_SPEC("10.96.0.99")));
	load(&f->model, SLICE("default", "aaa-1", "aaa",
			      HTTP_PORT, READY("10.244.9.9", "n1")));
	sync_ok(f);
	sl_model_delete(&f->model, SL_KIND_SERVICE, "default/aaa", NULL);
	sl_model_delete(&f->model, SL_KIND_ENDPOINTSLICE, "default/aaa-1",
			NULL);
	sync_ok(f);
	a = be_at(f->mem, "10.244.1.1", 8080)->id;
	b = be_at(f->mem, "10.244.1.2", 8080)->id;
	svc = fe(f->mem, "10.96.0.10", 80, TCP, 0)->svc_id;

	/* The restart: a fresh state over the same maps. */
	f->mem->n_ops = 0;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(be_at(f->mem, "10.244.1.1", 8080)->id, a);
	assert_int_equal(be_at(f->mem, "10.244.1.2", 8080)->id, b);
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->svc_id, svc);
	assert_string_equal(sl_svc_name(&st2, svc), "default/web:http/TCP");
	/* New ones count on from the highest id seen, not from 1. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	load(&f->model, SVC("default", "new", HTTP_SPEC("10.96.0.13")));
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	c = be_at(f->mem, "10.244.1.3", 8080)->id;
	assert_true(a > 1 && b > 1);
	assert_true(c > a && c > b);
	assert_true(fe(f->mem, "10.96.0.13", 80, TCP, 0)->svc_id > svc);
	check_consistent(f->mem);
	sl_svc_state_free(&st2);
	fx_free(f);
}

/* While it was down: a backend gone, one added, stray entries. */
static void test_restart_with_changes(void **state)
{
	struct fx *f = fx_new();
	struct sl_svc_state st2 = {};
	struct sl_service_key stray = key("10.1.1.1", 1, TCP, 0, 0);
	__u32 b;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	sync_ok(f);
	b = be_at(f->mem, "10.244.1.2", 8080)->id;
	mem_put_svc(f->mem, &stray, &(struct sl_service_val){ .svc_id = 4242 });
	mem_put_be(f->mem, 777, &(struct sl_backend){ .addr = 1 });
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.2", "n1") ","
					   READY("10.244.1.4", "n1")));
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	check_consistent(f->mem);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.2:8080,10.244.1.4:8080");
	assert_int_equal(be_at(f->mem, "10.244.1.2", 8080)->id, b);
	assert_true(be_at(f->mem, "10.244.1.4", 8080)->id > 777);
	assert_null(be_at(f->mem, "10.244.1.1", 8080));
	assert_null(mem_svc(f->mem, &stray));
	assert_null(mem_be(f->mem, 777));
	/* The stray frontend's svc id is not handed out either. */
	load(&f->model, SVC("default", "new", HTTP_SPEC("10.96.0.13")));
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	assert_true(fe(f->mem, "10.96.0.13", 80, TCP, 0)->svc_id > 4242);
	sl_svc_state_free(&st2);
	fx_free(f);
}

/* Counters persisted by the caller: new ids above them and the maps'. */
static void test_seeded_counters(void **state)
{
	struct fx *f = fx_new();
	struct sl_svc_state st2 = { .next_backend_id = 5000,
				    .next_svc_id = 900 };
	__u32 a = 0, svc;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	a = be_at(f->mem, "10.244.1.1", 8080)->id;
	svc = svc_id(f, "10.96.0.10", 80);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	load(&f->model, SVC("default", "new", HTTP_SPEC("10.96.0.13")));
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	check_consistent(f->mem);
	assert_int_equal(be_at(f->mem, "10.244.1.1", 8080)->id, a);
	assert_int_equal(svc_id(f, "10.96.0.10", 80), svc);
	assert_int_equal(be_at(f->mem, "10.244.1.2", 8080)->id, 5001);
	assert_int_equal(svc_id(f, "10.96.0.13", 80), 901);
	sl_svc_state_free(&st2);
	fx_free(f);
}

static void test_nothing_changed(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, LB_SVC("Local"));
	load(&f->model, LB_SLICE);
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	assert_true(f->mem->n_ops > 0);
	assert_int_equal(f->mem->dumps, 1);
	sync_ok(f);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(f->mem->dumps, 1); /* the mirror was trusted */
	assert_int_equal(f->st.last.frontends_written, 0);
	assert_int_equal(f->st.last.slots_written, 0);
	assert_int_equal(f->st.last.backends_written, 0);
	assert_int_equal(f->st.last.frontends, 10);
	/* Reloading the same objects changes nothing either. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sl_svc_state_invalidate(&f->st);
	sync_ok(f);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(f->mem->dumps, 2);
	fx_free(f);
}

/* Someone else touched the maps: trusted until invalidated, then fixed. */
static void test_invalidate_repairs(void **state)
{
	struct fx *f = fx_new();
	struct sl_service_key k = key("10.96.0.10", 80, TCP, 0, 2);
	struct sl_service_key stray = key("10.96.0.10", 80, TCP, 0, 9);
	struct sl_svc_backend_entry *b;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n2")));
	sync_ok(f);
	f->mem->check = false;
	mem_del_svc(f->mem, &k);
	mem_put_svc(f->mem, &stray,
		    &(struct sl_service_val){ .backend_id = 1 });
	b = be_at(f->mem, "10.244.1.1", 8080);
	b->be.flags = SL_BE_F_TERMINATING;
	mem_put_be(f->mem, 999, &(struct sl_backend){ .addr = 5 });
	sync_ok(f);
	assert_int_equal(f->mem->n_ops, 0);
	sl_svc_state_invalidate(&f->st);
	sync_ok(f);
	check_consistent(f->mem);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.1:8080,10.244.1.2:8080");
	assert_int_equal(be_at(f->mem, "10.244.1.1", 8080)->be.flags,
			 SL_BE_F_LOCAL);
	assert_null(mem_svc(f->mem, &stray));
	assert_null(mem_be(f->mem, 999));
	assert_int_equal(f->mem->n_ops, 4);
	fx_free(f);
}

/* Slices of another namespace, without the label, or of another family. */
static void test_slices_ignored(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, SLICE("other", "web-x", "web", HTTP_PORT,
			      READY("10.244.3.1", "n1")));
	load(&f->model, SLICE_X("default", "web-nolabel", "'app':'web'", "IPv4",
				HTTP_PORT, READY("10.244.3.2", "n1")));
	load(&f->model, SLICE_X("default", "web-v6",
				"'kubernetes.io/service-name':'web'", "IPv6",
				HTTP_PORT,
				"{'addresses':['fd00::5'],"
				"'conditions':{'ready':true}}"));
	load(&f->model, SLICE("default", "web-other", "webby",
			      HTTP_PORT, READY("10.244.3.3", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0, "");
	assert_int_equal(f->mem->n_be, 0);
	fx_free(f);
}

/* A write that fails half way leaves no frontend counting unwritten slots;
 * the next sync repairs from what is really there. */
static void test_write_failure(void **state)
{
	struct fx *f = fx_new();
	const struct sl_service_val *v;

	(void)state;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	/* 2 backends, then slot 1 (unchanged, not written), slot 2, and
	 * slot 3 fails. */
	f->mem->fail_after = 4;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &f->st),
			 -EIO);
	assert_false(f->st.valid);
	v = fe(f->mem, "10.96.0.10", 80, TCP, 0);
	assert_int_equal(v->count, 1);
	check_consistent(f->mem);
	/* The frontend write itself fails: the old count stands. */
	f->mem->n_ops = 0;
	f->mem->fail_after = 2;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &f->st),
			 -EIO);
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->count, 1);
	check_consistent(f->mem);
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080");
	assert_int_equal(f->mem->n_ops, 1); /* just the frontend was missing */
	fx_free(f);
}

/* Two Services on one external address: the first by name keeps it. */
static void test_frontend_clash(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	load(&f->model, SVC("default", "b",
			    "'externalIPs':['203.0.113.9'],"
			    HTTP_SPEC("10.96.0.2")));
	load(&f->model, SVC("default", "a",
			    "'externalIPs':['203.0.113.9','203.0.113.9'],"
			    HTTP_SPEC("10.96.0.1")));
	sync_ok(f);
	assert_int_equal(fe(f->mem, "203.0.113.9", 80, TCP, 0)->svc_id,
			 fe(f->mem, "10.96.0.1", 80, TCP, 0)->svc_id);
	assert_int_equal(frontends_in(f->mem), 3);
	assert_int_equal(f->st.last.dropped, 1);
	fx_free(f);
}

static void test_json(void **state)
{
	struct fx *f = fx_new();
	json_object *arr, *o, *v, *bes;

	(void)state;
	load(&f->model, LB_SVC("Local"));
	load(&f->model, LB_SLICE);
	sync_ok(f);
	arr = sl_svc_frontends_json(&f->st);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), 9);
	/* Sorted by address: 10.96.0.40 first. */
	o = json_object_array_get_idx(arr, 0);
	assert_true(json_object_object_get_ex(o, "frontend", &v));
	assert_string_equal(json_object_get_string(v), "10.96.0.40:80/TCP");
	assert_true(json_object_object_get_ex(o, "service", &v));
	assert_string_equal(json_object_get_string(v), "default/lb:http/TCP");
	assert_true(json_object_object_get_ex(o, "backends", &bes));
	assert_int_equal(json_object_array_length(bes), 2);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(bes, 0),
					      "address", &v));
	assert_string_equal(json_object_get_string(v), "10.244.1.5:8080");
	assert_true(json_object_object_get_ex(json_object_array_get_idx(bes, 0),
					      "flags", &v));
	assert_string_equal(json_object_to_json_string_ext(
				    v, JSON_C_TO_STRING_PLAIN),
			    "[\"local\"]");
	/* 172.16.0.10:30080 EXT then INT. */
	o = json_object_array_get_idx(arr, 1);
	assert_true(json_object_object_get_ex(o, "scope", &v));
	assert_string_equal(json_object_get_string(v), "external");
	assert_true(json_object_object_get_ex(o, "flags", &v));
	assert_string_equal(json_object_to_json_string_ext(
				    v, JSON_C_TO_STRING_PLAIN),
			    "[\"two-scopes\",\"local\",\"external\","
			    "\"nodeport\"]");
	o = json_object_array_get_idx(arr, 2);
	assert_true(json_object_object_get_ex(o, "scope", &v));
	assert_string_equal(json_object_get_string(v), "internal");
	assert_true(json_object_object_get_ex(o, "count", &v));
	assert_int_equal(json_object_get_int(v), 2);
	json_object_put(arr);
	fx_free(f);
}

/* --- Maglev tables -------------------------------------------------------- */

#define MAGLEV_META ",'annotations':{'sluice.io/lb-algorithm':'maglev'}"
/* The web fixture with the annotation, at the ClusterIP and at an
 * external IP (two frontends). */
#define MAGLEV_WEB_SVC                                                         \
	SVC_X("default", "web", MAGLEV_META,                                   \
	      "'clusterIP':'10.96.0.10','externalIPs':['203.0.113.9'],"        \
	      "'ports':[{'name':'http','port':80,'protocol':'TCP'}]",          \
	      "")
#define PLAIN_WEB_SVC                                                          \
	SVC("default", "web",                                                  \
	    "'clusterIP':'10.96.0.10','externalIPs':['203.0.113.9'],"          \
	    "'ports':[{'name':'http','port':80,'protocol':'TCP'}]")

/*
 * The frontend names a table that is written and is the one its slots'
 * backends give, by their addresses (so the same on every node). Returns
 * the table id.
 */
static __u32 expect_table_at(struct mem *m, struct sl_service_key k)
{
	const struct sl_svc_entry *e = mem_svc(m, &k);
	struct sl_maglev_backend be[16];
	const struct mem_tbl *t;
	__u32 *want;
	char ip[16];

	sl_ip4_to_str(ntohl(k.addr), ip);
	if (!e)
		fail_msg("no frontend %s:%u", ip, ntohs(k.port));
	assert_true(e->val.flags & SL_SVC_F_MAGLEV);
	assert_int_not_equal(e->val.backend_id, 0);
	t = mem_tbl(m, e->val.backend_id);
	if (!t)
		fail_msg("%s:%u names table %u, not in sl_maglev", ip,
			 ntohs(k.port), e->val.backend_id);
	assert_true(e->val.count > 0 && e->val.count <= 16);
	for (__u16 s = 1; s <= e->val.count; s++) {
		const struct sl_svc_backend_entry *b;

		k.slot = s;
		b = mem_be(m, mem_svc(m, &k)->val.backend_id);
		be[s - 1] = (struct sl_maglev_backend){
			.id = b->id, .ip = ntohl(b->be.addr),
			.port = ntohs(b->be.port), .proto = b->be.proto };
	}
	want = malloc(sizeof(struct sl_maglev_table));
	assert_non_null(want);
	assert_int_equal(sl_maglev_fill(be, e->val.count, want), 0);
	if (memcmp(t->lut, want, sizeof(struct sl_maglev_table))) {
		free(want);
		fail_msg("table %u of %s:%u is not its backends' table",
			 t->id, ip, ntohs(k.port));
	}
	free(want);
	return t->id;
}

static __u32 expect_table(struct mem *m, const char *ip, uint16_t port,
			  uint8_t proto, uint8_t scope)
{
	return expect_table_at(m, key(ip, port, proto, scope, 0));
}

static size_t ops_of(const struct mem *m, char what)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_ops; i++)
		n += m->ops[i].what == what;
	return n;
}

/* Index of the op of a kind on a table id, or -1. */
static int op_on(const struct mem *m, char what, __u32 id)
{
	for (size_t i = 0; i < m->n_ops; i++)
		if (m->ops[i].what == what && m->ops[i].id == id)
			return (int)i;
	return -1;
}

/*
 * A Maglev frontend gets a table of its own, written after its backends
 * and before the frontend naming it; the table is computed again only when
 * the frontend's backends change, and then replaced under the same id
 * before the frontend's new count.
 */
static void test_maglev_table(void **state)
{
	struct sl_service_key fk = key("10.96.0.10", 80, TCP, 0, 0);
	struct fx *f = fx_new();
	__u32 id, ext, inner;
	json_object *arr, *v;

	(void)state;
	load(&f->model, MAGLEV_WEB_SVC);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n2") ","
					   READY("10.244.1.3", "n2")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_MAGLEV,
		  "10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080");
	id = expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	ext = expect_table(f->mem, "203.0.113.9", 80, TCP, 0);
	assert_int_not_equal(id, ext); /* one table per frontend */
	assert_int_equal(f->mem->n_tbl, 2);
	assert_true(op_last(f->mem, 'B', -1) < op_first(f->mem, 'T', -1));
	assert_true(op_last(f->mem, 'S', -2) < op_first(f->mem, 'T', -1));
	assert_true(op_on(f->mem, 'T', id) < op_of(f->mem, 'S', &fk));
	assert_int_equal(f->st.last.tables, 2);
	assert_int_equal(f->st.last.tables_written, 2);
	arr = sl_svc_frontends_json(&f->st);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(arr, 0),
					      "maglevTable", &v));
	assert_int_equal(json_object_get_int(v), id);
	json_object_put(arr);

	/* Nothing changed: nothing written, no table computed. */
	sync_ok(f);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(f->mem->reads, 0);

	/* A backend that is in no slot (not ready): the sets are the same,
	 * the tables too. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n2") ","
					   READY("10.244.1.3", "n2") ","
					   NOT_READY("10.244.1.9", "n2")));
	sync_ok(f);
	assert_int_equal(f->st.last.backends_written, 1);
	assert_int_equal(ops_of(f->mem, 'T'), 0);

	/* A fourth ready one: both tables replaced under their ids (a new
	 * inner map each), before the frontends count the new slot. */
	inner = mem_tbl(f->mem, id)->inner;
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n2") ","
					   READY("10.244.1.3", "n2") ","
					   READY("10.244.1.4", "n2")));
	sync_ok(f);
	assert_int_equal(expect_table(f->mem, "10.96.0.10", 80, TCP, 0), id);
	assert_int_equal(expect_table(f->mem, "203.0.113.9", 80, TCP, 0), ext);
	assert_int_not_equal(mem_tbl(f->mem, id)->inner, inner);
	assert_int_equal(f->st.last.tables_written, 2);
	assert_int_equal(ops_of(f->mem, 'T'), 2);
	assert_true(op_on(f->mem, 'T', id) < op_of(f->mem, 'S', &fk));
	assert_true(op_first(f->mem, 'S', -2) < op_on(f->mem, 'T', id));
	fx_free(f);
}

/*
 * Tables go after the frontends that named them: when the Service turns
 * to random, when it has no endpoints left, when it is deleted. A deleted
 * table's id is free again.
 */
static void test_maglev_table_removed(void **state)
{
	struct sl_service_key fk = key("10.96.0.10", 80, TCP, 0, 0);
	struct fx *f = fx_new();
	__u32 id, ext;

	(void)state;
	load(&f->model, MAGLEV_WEB_SVC);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	sync_ok(f);
	id = expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	ext = expect_table(f->mem, "203.0.113.9", 80, TCP, 0);

	/* Random again: the frontends first, without their tables. */
	load(&f->model, PLAIN_WEB_SVC);
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, 0,
		  "10.244.1.1:8080,10.244.1.2:8080");
	assert_int_equal(f->mem->n_tbl, 0);
	assert_true(op_of(f->mem, 'S', &fk) < op_on(f->mem, 't', id));
	assert_int_equal(f->st.last.tables_removed, 2);
	assert_int_equal(f->st.last.tables, 0);

	/* Maglev once more: the ids are free, and given again. */
	load(&f->model, MAGLEV_WEB_SVC);
	sync_ok(f);
	assert_int_equal(expect_table(f->mem, "10.96.0.10", 80, TCP, 0), id);
	assert_int_equal(expect_table(f->mem, "203.0.113.9", 80, TCP, 0), ext);

	/* No endpoints: a frontend that refuses needs no table. */
	load(&f->model, WEB_SLICE("web-1", NOT_READY("10.244.1.1", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_MAGLEV, "");
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->backend_id, 0);
	assert_int_equal(f->mem->n_tbl, 0);
	assert_true(op_of(f->mem, 'S', &fk) < op_on(f->mem, 't', id));

	/* Deleted: frontends, then tables, then backends. */
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	id = expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	assert_int_equal(sl_model_delete(&f->model, SL_KIND_SERVICE,
					 "default/web", NULL), 1);
	sync_ok(f);
	assert_int_equal(f->mem->n_tbl, 0);
	assert_int_equal(f->mem->n_svc, 0);
	assert_true(op_last(f->mem, 's', -1) < op_first(f->mem, 't', -1));
	assert_true(op_last(f->mem, 't', -1) < op_first(f->mem, 'b', -1));
	fx_free(f);
}

/* A table id is not given to another frontend while the one that had it
 * is still in the maps, even if it goes in the same sync. */
static void test_maglev_ids_in_use(void **state)
{
	struct fx *f = fx_new();
	__u32 a, b, c;

	(void)state;
	load(&f->model, SVC_X("default", "a", MAGLEV_META,
			      HTTP_SPEC("10.96.0.1"), ""));
	load(&f->model, SLICE("default", "a-1", "a", HTTP_PORT,
			      READY("10.244.1.1", "n1")));
	sync_ok(f);
	a = expect_table(f->mem, "10.96.0.1", 80, TCP, 0);
	assert_int_equal(a, 1);
	sl_model_delete(&f->model, SL_KIND_SERVICE, "default/a", NULL);
	load(&f->model, SVC_X("default", "b", MAGLEV_META,
			      HTTP_SPEC("10.96.0.2"), ""));
	load(&f->model, SLICE("default", "b-1", "b", HTTP_PORT,
			      READY("10.244.1.1", "n1")));
	sync_ok(f);
	b = expect_table(f->mem, "10.96.0.2", 80, TCP, 0);
	assert_int_not_equal(b, a);
	assert_true(op_on(f->mem, 'T', b) < op_on(f->mem, 't', a));
	/* Gone now: free for the next one. */
	load(&f->model, SVC_X("default", "c", MAGLEV_META,
			      HTTP_SPEC("10.96.0.3"), ""));
	load(&f->model, SLICE("default", "c-1", "c", HTTP_PORT,
			      READY("10.244.1.2", "n1")));
	sync_ok(f);
	c = expect_table(f->mem, "10.96.0.3", 80, TCP, 0);
	assert_int_equal(c, a);
	assert_int_equal(expect_table(f->mem, "10.96.0.2", 80, TCP, 0), b);
	fx_free(f);
}

/*
 * A restarted agent keeps the table ids its frontends name, and keeps the
 * tables it reads back right; a wrong one is rewritten, one no frontend
 * names is removed. A resync trusts tables whose inner map is the one it
 * wrote, and reads back one swapped behind its back.
 */
static void test_maglev_restart(void **state)
{
	struct sl_svc_state st2 = {}, st3 = {};
	struct fx *f = fx_new();
	__u32 id, ext, *lut;

	(void)state;
	load(&f->model, MAGLEV_WEB_SVC);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	sync_ok(f);
	id = expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	ext = expect_table(f->mem, "203.0.113.9", 80, TCP, 0);

	/* The restart: nothing written, both tables read back and kept. */
	f->mem->n_ops = 0;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(f->mem->reads, 2);
	assert_int_equal(st2.last.tables_adopted, 2);
	assert_int_equal(st2.last.tables_written, 0);
	/* Known from then on: no reads. */
	f->mem->reads = 0;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st2), 0);
	assert_int_equal(f->mem->reads, 0);
	sl_svc_state_free(&st2);

	/* Down again, and meanwhile: one table wrong, a stray one. */
	lut = calloc(SL_MAGLEV_M, sizeof(*lut));
	assert_non_null(lut);
	memcpy(lut, mem_tbl(f->mem, ext)->lut, sizeof(struct sl_maglev_table));
	lut[7] = lut[7] == mem_tbl(f->mem, ext)->lut[0] ?
			 mem_tbl(f->mem, ext)->lut[1] :
			 mem_tbl(f->mem, ext)->lut[0];
	mem_put_tbl(f->mem, ext, lut);
	mem_put_tbl(f->mem, 99, lut);
	free(lut);
	f->mem->n_ops = 0;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &st3), 0);
	check_consistent(f->mem);
	assert_int_equal(f->mem->n_ops, 2);
	assert_true(op_on(f->mem, 'T', ext) >= 0);
	assert_true(op_on(f->mem, 't', 99) >= 0);
	assert_int_equal(expect_table(f->mem, "10.96.0.10", 80, TCP, 0), id);
	assert_int_equal(expect_table(f->mem, "203.0.113.9", 80, TCP, 0), ext);
	sl_svc_state_free(&st3);

	/* The first agent's state, resynced: the table st3 rewrote has an
	 * inner map it never wrote; read back, right, kept. */
	sl_svc_state_invalidate(&f->st);
	f->mem->reads = 0;
	sync_ok(f);
	assert_int_equal(f->mem->n_ops, 0);
	assert_int_equal(f->mem->reads, 1);
	assert_int_equal(f->st.last.tables_adopted, 1);
	fx_free(f);
}

/* A table write fails: the frontend keeps counting the slots and table it
 * had; the next sync writes the rest. */
static void test_maglev_write_failure(void **state)
{
	struct fx *f = fx_new();
	__u32 id;

	(void)state;
	load(&f->model, SVC_X("default", "web", MAGLEV_META,
			      HTTP_SPEC("10.96.0.10"), ""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1")));
	sync_ok(f);
	id = expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1") ","
					   READY("10.244.1.2", "n1") ","
					   READY("10.244.1.3", "n1")));
	/* The new backend, slot 3, then the table fails. */
	f->mem->fail_after = 3;
	assert_int_equal(sl_services_sync(&f->be, &f->model, &f->cfg, &f->st),
			 -EIO);
	check_consistent(f->mem);
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->count, 2);
	assert_int_equal(mem_tbl(f->mem, id)->n_names, 2); /* the old one */
	f->mem->n_ops = 0;
	f->mem->fail_after = 0;
	sync_ok(f);
	assert_int_equal(expect_table(f->mem, "10.96.0.10", 80, TCP, 0), id);
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->count, 3);
	assert_int_equal(f->mem->n_ops, 2); /* the table, the frontend */
	fx_free(f);
}

/* sluiced --lb-algorithm maglev: Services without the annotation get
 * tables; a datapath without sl_maglev gets none (random picks). */
static void test_maglev_default_and_no_map(void **state)
{
	struct fx *f = fx_new();

	(void)state;
	f->cfg.maglev_default = true;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	expect_table(f->mem, "10.96.0.10", 80, TCP, 0);
	fx_free(f);

	f = fx_new();
	f->cfg.maglev_default = true;
	f->be.dump_maglev = NULL;
	f->be.read_maglev = NULL;
	f->be.write_maglev = NULL;
	f->be.remove_maglev = NULL;
	load(&f->model, WEB_SVC(""));
	load(&f->model, WEB_SLICE("web-1", READY("10.244.1.1", "n1")));
	sync_ok(f);
	expect_fe(f->mem, "10.96.0.10", 80, TCP, 0, SL_SVC_F_MAGLEV,
		  "10.244.1.1:8080");
	assert_int_equal(fe(f->mem, "10.96.0.10", 80, TCP, 0)->backend_id, 0);
	assert_int_equal(f->st.last.tables, 0);
	fx_free(f);
}

/* --- incremental syncs against full compiles ------------------------------ */

/*
 * The sync recompiles only what changed; a full compile of the same model
 * must give the same maps. A random walk over a small cluster built to
 * meet every cross-Service effect (backends shared by Services, frontends
 * two Services or two ports claim, slices moving between Services, Maglev
 * tables) and every fallback (config changes, resyncs, writes failing half
 * way, the model's log of changes outrun) checks it after every step: the
 * incremental agent (f, its writes checked for order as they happen)
 * against one compiling everything every time over maps of its own (g:
 * the same writes in the same order, so the same ids and tables), and
 * against a fresh one writing into empty maps (h: the same once ids are
 * read as what they name, and the same totals). SVC_SEED=n replays a run,
 * SVC_STEPS=n makes it longer.
 */

#define RND_SVCS 10
#define RND_IPS 8 /* endpoint addresses, shared by every Service */

static uint64_t rnd_state;

static unsigned int rnd(unsigned int n)
{
	rnd_state ^= rnd_state << 13; /* xorshift64 */
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned int)(rnd_state % n);
}

static bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}

struct text {
	char s[4096];
	size_t n;
};

static void __attribute__((format(printf, 2, 3)))
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->s) - t->n);
	t->n += (size_t)n;
}

static const char *rnd_ns(unsigned int i)
{
	return i < RND_SVCS - 3 ? "a" : "b";
}

/* Service s<i>: any type, ClusterIPs and external addresses mostly its
 * own but sometimes another's, one or two ports, every policy. */
static void rnd_service(struct sl_model *m, unsigned int i)
{
	static const char *const types[] = { "ClusterIP", "ClusterIP",
					     "NodePort", "LoadBalancer",
					     "ExternalName" };
	const char *type = types[rnd(ARRAY_LEN(types))];
	bool np = strcmp(type, "ClusterIP") && strcmp(type, "ExternalName");
	unsigned int ports = 1 + chance(40);
	struct text t = {};

	put(&t, "{'apiVersion':'v1','kind':'Service','metadata':{"
		"'namespace':'%s','name':'s%u'",
	    rnd_ns(i), i);
	if (chance(5))
		put(&t, ",'labels':{'service.kubernetes.io/service-proxy-name'"
			":'other'}");
	if (chance(40))
		put(&t, ",'annotations':{'sluice.io/lb-algorithm':'%s'}",
		    chance(75) ? "maglev" : "random");
	put(&t, "},'spec':{'type':'%s'", type);
	if (chance(5))
		put(&t, ",'clusterIP':'None'");
	else if (chance(90))
		put(&t, ",'clusterIP':'10.96.0.%u'",
		    chance(8) ? 100 : i + 1); /* 100: a clash */
	if (chance(15))
		put(&t, ",'externalIPs':['203.0.113.%u']", 1 + rnd(3));
	else if (chance(5)) /* its own ClusterIP again: a repeat */
		put(&t, ",'externalIPs':['10.96.0.%u']", i + 1);
	put(&t, ",'ports':[");
	for (unsigned int p = 0; p < ports; p++) {
		bool alt = p && chance(20); /* a second port 80: a clash */

		put(&t, "%s{'name':'%s','port':%u,'protocol':'%s'",
		    p ? "," : "", alt ? "alt" : p ? "dns" : "http",
		    p && !alt ? 53 : 80, p && !alt ? "UDP" : "TCP");
		if (np)
			put(&t, ",'nodePort':%u",
			    chance(5) ? 30999 : 30000 + 2 * i + p);
		put(&t, "}");
	}
	put(&t, "]");
	if (chance(20))
		put(&t, ",'sessionAffinity':'ClientIP','sessionAffinityConfig':"
			"{'clientIP':{'timeoutSeconds':%u}}",
		    1 + rnd(100));
	if (chance(25))
		put(&t, ",'externalTrafficPolicy':'Local'");
	if (chance(15))
		put(&t, ",'internalTrafficPolicy':'Local'");
	put(&t, "}");
	if (!strcmp(type, "LoadBalancer") && chance(70))
		put(&t, ",'status':{'loadBalancer':{'ingress':[{'ip':"
			"'198.51.100.%u'}]}}",
		    chance(10) ? 99 : i + 1);
	put(&t, "}");
	load(m, t.s);
}

/* Slice s<i>-x or -y: mostly for s<i>, sometimes for a neighbour or no
 * Service; endpoints from one small pool, in every condition. */
static void rnd_slice(struct sl_model *m, unsigned int i, unsigned int which)
{
	unsigned int owner = chance(10) ? (i + 1) % RND_SVCS : i;
	bool v6 = chance(3);
	unsigned int eps = rnd(6);
	struct text t = {};

	put(&t, "{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice',"
		"'metadata':{'namespace':'%s','name':'s%u-%c','labels':{",
	    rnd_ns(i), i, "xy"[which]);
	if (chance(95))
		put(&t, "'kubernetes.io/service-name':'s%u'", owner);
	put(&t, "}},'addressType':'%s','ports':[{'name':'http','protocol':"
		"'TCP','port':%u}",
	    v6 ? "IPv6" : "IPv4", chance(5) ? 0 : 8080);
	if (chance(50))
		put(&t, ",{'name':'dns','protocol':'UDP','port':53}");
	put(&t, "],'endpoints':[");
	for (unsigned int e = 0; e < eps; e++) {
		static const char *const conds[] = {
			"'ready':true", "'ready':false",
			"'ready':false,'serving':true,'terminating':true",
			"'ready':false,'serving':false,'terminating':true", "",
		};

		if (v6)
			put(&t, "%s{'addresses':['fd00::%u']", e ? "," : "",
			    1 + rnd(RND_IPS));
		else
			put(&t, "%s{'addresses':['10.244.1.%u']", e ? "," : "",
			    1 + rnd(RND_IPS));
		put(&t, ",'nodeName':'n%u','conditions':{%s}", 1 + rnd(2),
		    conds[rnd(ARRAY_LEN(conds))]);
		if (chance(30))
			put(&t, ",'hints':{'forZones':[{'name':'z%u'}]}",
			    1 + rnd(2));
		put(&t, "}");
	}
	put(&t, "]}");
	load(m, t.s);
}

/* One change to the model or to what the agent knows. */
static void rnd_step(struct fx *f)
{
	unsigned int i = rnd(RND_SVCS), which = rnd(2), op = rnd(100);
	char k[32];

	if (op < 30) {
		rnd_service(&f->model, i);
	} else if (op < 40) {
		snprintf(k, sizeof(k), "%s/s%u", rnd_ns(i), i);
		sl_model_delete(&f->model, SL_KIND_SERVICE, k, NULL);
	} else if (op < 80) {
		rnd_slice(&f->model, i, which);
	} else if (op < 92) {
		snprintf(k, sizeof(k), "%s/s%u-%c", rnd_ns(i), i, "xy"[which]);
		sl_model_delete(&f->model, SL_KIND_ENDPOINTSLICE, k, NULL);
	} else if (op < 95) {
		f->cfg.maglev_default = !f->cfg.maglev_default;
	} else if (op < 97) {
		f->cfg.n_node_ips = (f->cfg.n_node_ips + 1) % 3;
	} else if (op < 98) {
		f->cfg.zone = f->cfg.zone ? NULL : "z1";
	} else {
		sl_svc_state_invalidate(&f->st);
	}
}

static int svc_entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_service_key));
}

static int be_entry_id_cmp(const void *a, const void *b)
{
	const struct sl_svc_backend_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int tbl_cmp(const void *a, const void *b)
{
	const struct mem_tbl *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void sort_mem(struct mem *m)
{
	qsort(m->svc, m->n_svc, sizeof(*m->svc), svc_entry_cmp);
	qsort(m->be, m->n_be, sizeof(*m->be), be_entry_id_cmp);
	qsort(m->tbl, m->n_tbl, sizeof(*m->tbl), tbl_cmp);
}

static void svc_entry_str(const struct mem *m, size_t i, char buf[128])
{
	const struct sl_svc_entry *e = &m->svc[i];

	if (i >= m->n_svc) {
		snprintf(buf, 128, "(nothing)");
		return;
	}
	snprintf(buf, 128, "%08x:%u/%u/%u #%u -> backend %u svc %u flags %x "
		 "count %u",
		 ntohl(e->key.addr), ntohs(e->key.port), e->key.proto,
		 e->key.scope, e->key.slot, e->val.backend_id, e->val.svc_id,
		 e->val.flags, e->val.count);
}

/* The same entries, ids and tables. */
static void expect_same_maps(struct mem *a, struct mem *b, unsigned int step)
{
	char x[128], y[128];

	sort_mem(a);
	sort_mem(b);
	for (size_t i = 0; i < a->n_svc || i < b->n_svc; i++) {
		if (i < a->n_svc && i < b->n_svc &&
		    !memcmp(&a->svc[i], &b->svc[i], sizeof(a->svc[i])))
			continue;
		svc_entry_str(a, i, x);
		svc_entry_str(b, i, y);
		fail_msg("step %u: %s where a full compile has %s", step, x,
			 y);
	}
	if (a->n_be != b->n_be || a->n_tbl != b->n_tbl ||
	    memcmp(a->be, b->be, a->n_be * sizeof(*a->be)))
		fail_msg("step %u: %zu backends, %zu tables; a full compile "
			 "has %zu, %zu or others",
			 step, a->n_be, a->n_tbl, b->n_be, b->n_tbl);
	for (size_t i = 0; i < a->n_tbl; i++)
		if (a->tbl[i].id != b->tbl[i].id ||
		    memcmp(a->tbl[i].lut, b->tbl[i].lut,
			   sizeof(struct sl_maglev_table)))
			fail_msg("step %u: Maglev table %u differs", step,
				 a->tbl[i].id);
}

/* The same writes and deletes, in the same order. */
static void expect_same_ops(const struct mem *a, const struct mem *b,
			    unsigned int step)
{
	for (size_t i = 0; i < a->n_ops || i < b->n_ops; i++)
		if (i >= a->n_ops || i >= b->n_ops ||
		    a->ops[i].what != b->ops[i].what ||
		    a->ops[i].id != b->ops[i].id ||
		    !key_eq(&a->ops[i].key, &b->ops[i].key))
			fail_msg("step %u: op %zu of %zu is %c, where a full "
				 "compile's of %zu is %c",
				 step, i, a->n_ops,
				 i < a->n_ops ? a->ops[i].what : '-', b->n_ops,
				 i < b->n_ops ? b->ops[i].what : '-');
}

/*
 * f syncs as it will, g compiles everything again over its own maps;
 * both fail at the same write, if any. Returns the sync's result.
 */
static int sync_pair(struct fx *f, struct fx *g, size_t fail,
		     unsigned int step)
{
	int err;

	f->mem->n_ops = g->mem->n_ops = 0;
	f->mem->fail_after = g->mem->fail_after = fail;
	err = sl_services_sync(&f->be, &f->model, &f->cfg, &f->st);
	g->cfg = f->cfg;
	sl_svc_state_invalidate(&g->st);
	assert_int_equal(sl_services_sync(&g->be, &f->model, &g->cfg, &g->st),
			 err);
	f->mem->fail_after = g->mem->fail_after = 0;
	check_consistent(f->mem);
	expect_same_ops(f->mem, g->mem, step);
	expect_same_maps(f->mem, g->mem, step);
	return err;
}

static void be_str(struct mem *m, __u32 id, char buf[32])
{
	const struct sl_svc_backend_entry *b = mem_be(m, id);
	char ip[16];

	assert_non_null(b);
	sl_ip4_to_str(ntohl(b->be.addr), ip);
	snprintf(buf, 32, "%s:%u/%u", ip, ntohs(b->be.port), b->be.proto);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every entry with its ids read as what they name (the service port, the
 * backend's address; a Maglev table checked to be its backends'), sorted.
 */
static char **canon(struct fx *f, size_t *n_out)
{
	struct mem *m = f->mem;
	size_t n = 0;
	char **v = calloc(m->n_svc + m->n_be + 1, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < m->n_svc; i++) {
		const struct sl_service_key *k = &m->svc[i].key;
		const struct sl_service_val *e = &m->svc[i].val;
		const char *name = sl_svc_name(&f->st, e->svc_id);
		char b[32] = "";
		int r;

		assert_non_null(name);
		if (k->slot)
			be_str(m, e->backend_id, b);
		else if ((e->flags & SL_SVC_F_MAGLEV) && e->backend_id)
			expect_table_at(m, *k);
		r = asprintf(&v[n++], "%08x:%u/%u/%u #%u %s flags %x count %u "
				      "affinity %u table %d %s",
			     ntohl(k->addr), ntohs(k->port), k->proto, k->scope,
			     k->slot, name, e->flags, e->count,
			     e->affinity_timeout,
			     !k->slot && e->backend_id, b);
		assert_true(r > 0);
	}
	for (size_t i = 0; i < m->n_be; i++) {
		char b[32];

		be_str(m, m->be[i].id, b);
		assert_true(asprintf(&v[n++], "backend %s flags %x", b,
				     m->be[i].be.flags) > 0);
	}
	qsort(v, n, sizeof(*v), str_cmp);
	*n_out = n;
	return v;
}

static void free_canon(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The same maps but for ids, and the same totals. */
static void expect_same_content(struct fx *a, struct fx *b, unsigned int step)
{
	size_t n, m;
	char **x = canon(a, &n), **y = canon(b, &m);

	for (size_t i = 0; i < n || i < m; i++)
		if (i >= n || i >= m || strcmp(x[i], y[i]))
			fail_msg("step %u: \"%s\" where a fresh compile has "
				 "\"%s\"",
				 step, i < n ? x[i] : "(nothing)",
				 i < m ? y[i] : "(nothing)");
	free_canon(x, n);
	free_canon(y, m);
	assert_int_equal(a->mem->n_tbl, b->mem->n_tbl);
	assert_int_equal(a->st.last.frontends, b->st.last.frontends);
	assert_int_equal(a->st.last.slots, b->st.last.slots);
	assert_int_equal(a->st.last.backends, b->st.last.backends);
	assert_int_equal(a->st.last.tables, b->st.last.tables);
	assert_int_equal(a->st.last.dropped, b->st.last.dropped);
}

static unsigned long env_num(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

/* The incremental agent is f; full compiles each step over maps of its
 * own (g), writing the same, and fresh ones into empty maps (h). */
static void test_incremental_equals_full(void **state)
{
	unsigned long seed = env_num("SVC_SEED", 1);
	unsigned int steps = (unsigned int)env_num("SVC_STEPS", 400);
	struct fx *f = fx_new(), *g = fx_new();

	(void)state;
	rnd_state = seed * 0x9e3779b97f4a7c15ull | 1;
	print_message("SVC_SEED=%lu SVC_STEPS=%u\n", seed, steps);
	sl_log_set_level(SL_LOG_ERROR); /* clashes warn on every full sync */
	g->mem->check = false;
	f->cfg.zone = "z1";
	for (unsigned int step = 0; step < steps; step++) {
		struct fx *h = fx_new();
		json_object *a, *b;

		for (unsigned int n = 1 + rnd(3); n > 0; n--)
			rnd_step(f);
		/* Past the model's log of changes once: a full look. */
		for (unsigned int n = 0; step == steps / 2 &&
					 n < SL_MODEL_LOG; n++) {
			rnd_slice(&f->model, 0, 0);
			rnd_slice(&f->model, 0, 1);
		}
		/* A write that fails half way: the next sync repairs. */
		if (chance(3))
			sync_pair(f, g, 1 + rnd(4), step);
		assert_int_equal(sync_pair(f, g, 0, step), 0);
		a = sl_svc_frontends_json(&f->st);
		b = sl_svc_frontends_json(&g->st);
		assert_string_equal(json_object_to_json_string(a),
				    json_object_to_json_string(b));
		json_object_put(a);
		json_object_put(b);

		h->mem->check = false;
		h->cfg = f->cfg;
		assert_int_equal(sl_services_sync(&h->be, &f->model, &h->cfg,
						  &h->st),
				 0);
		expect_same_content(f, h, step);
		fx_free(h);
	}
	sl_log_set_level(SL_LOG_INFO);
	fx_free(g);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clusterip),
		cmocka_unit_test(test_named_ports),
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_not_ready),
		cmocka_unit_test(test_terminating_fallback),
		cmocka_unit_test(test_no_endpoints),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_topology_hints),
		cmocka_unit_test(test_itp_local),
		cmocka_unit_test(test_etp_local),
		cmocka_unit_test(test_nodeport),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_maglev),
		cmocka_unit_test(test_ids_not_reused),
		cmocka_unit_test(test_slot_shrink),
		cmocka_unit_test(test_service_deleted),
		cmocka_unit_test(test_restart_adopts_ids),
		cmocka_unit_test(test_restart_with_changes),
		cmocka_unit_test(test_seeded_counters),
		cmocka_unit_test(test_nothing_changed),
		cmocka_unit_test(test_invalidate_repairs),
		cmocka_unit_test(test_slices_ignored),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_frontend_clash),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_maglev_table),
		cmocka_unit_test(test_maglev_table_removed),
		cmocka_unit_test(test_maglev_ids_in_use),
		cmocka_unit_test(test_maglev_restart),
		cmocka_unit_test(test_maglev_write_failure),
		cmocka_unit_test(test_maglev_default_and_no_map),
		cmocka_unit_test(test_incremental_equals_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

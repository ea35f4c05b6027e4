// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's model and sync, with endpoint maps in memory (no root):
 * the table, object decoding, identities, and writing only differences.
 */
#include "unit.h"
#include "endpoint.h"
#include "ipcache.h"
#include "k8s.h"
#include "model.h"
#include "table.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <stdlib.h>

static void test_table(void **state)
{
	struct sl_table t;
	const char *key;
	void *val, *old;
	char k[16];
	size_t seen = 0;

	(void)state;
	sl_table_init(&t);
	for (long i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%ld", i);
		assert_int_equal(sl_table_put(&t, k, (void *)(i + 1), &old), 0);
		assert_null(old);
	}
	assert_int_equal(t.len, 1000);
	assert_int_equal((long)sl_table_get(&t, "k500"), 501);
	assert_int_equal(sl_table_put(&t, "k500", (void *)7, &old), 0);
	assert_int_equal((long)old, 501);
	for (long i = 0; i < 1000; i += 2) {
		snprintf(k, sizeof(k), "k%ld", i);
		assert_non_null(sl_table_del(&t, k));
	}
	assert_null(sl_table_get(&t, "k0"));
	assert_null(sl_table_del(&t, "k0"));
	assert_int_equal((long)sl_table_get(&t, "k999"), 1000);
	/* Churn through tombstones: the table must not fill up with them. */
	for (int round = 0; round < 20; round++)
		for (long i = 0; i < 1000; i += 2) {
			snprintf(k, sizeof(k), "x%ld", i);
			assert_int_equal(sl_table_put(&t, k, (void *)1, NULL), 0);
			assert_non_null(sl_table_del(&t, k));
		}
	for (size_t i = 0; sl_table_next(&t, &i, &key, &val);)
		seen++;
	assert_int_equal(seen, 500);
	assert_true(t.cap <= 4096);
	sl_table_free(&t);
}

static int decode(const char *json, struct sl_object *obj, char *why)
{
	json_object *o = parse_json(json);
	int ret = sl_object_decode(o, obj, why, 256);

	json_object_put(o);
	return ret;
}

static void test_decode_pod(void **state)
{
	struct sl_object obj;
	char why[256];

	(void)state;
	assert_int_equal(decode("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
				"\"metadata\":{\"namespace\":\"shop\",\"name\":\"web-0\","
				"\"uid\":\"u1\",\"labels\":{\"tier\":\"web\",\"app\":\"shop\"}},"
				"\"spec\":{\"nodeName\":\"node1\"},"
				"\"status\":{\"podIP\":\"10.244.1.5\"}}", &obj, why), 1);
	assert_int_equal(obj.kind, SL_KIND_POD);
	assert_string_equal(obj.key, "shop/web-0");
	assert_string_equal(obj.pod.node, "node1");
	assert_int_equal(obj.pod.ip, 0x0af40105);
	assert_false(obj.pod.host_network);
	/* Labels come sorted: the canonical order identities hash. */
	assert_int_equal(obj.pod.labels.n, 2);
	assert_string_equal(obj.pod.labels.items[0].key, "app");
	assert_string_equal(obj.pod.labels.items[1].key, "tier");
	sl_object_free(&obj);

	/* A pending pod: no node, no IP, no labels. */
	assert_int_equal(decode("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
				"\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"}}",
				&obj, why), 1);
	assert_string_equal(obj.pod.node, "");
	assert_int_equal(obj.pod.ip, 0);
	sl_object_free(&obj);
}

static void test_decode_rejects(void **state)
{
	const char *bad[] = {
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":7}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		"\"labels\":{\"x\":1}}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":\"b\","
		"\"labels\":[]}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		"\"status\":{\"podIP\":\"300.1.1.1\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"a\",\"name\":\"b\"},"
		"\"spec\":{\"hostNetwork\":\"yes\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"},"
		"\"spec\":{\"podCIDR\":\"10.244.1.1/24\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n\"},"
		"\"spec\":{\"podCIDR\":\"10.0.0.0/4\"}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{}}",
		"{\"kind\":\"Pod\"}",
		"[]",
	};
	struct sl_object obj;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(decode(bad[i], &obj, why), -1);
		assert_true(why[0] != '\0');
	}
	/* Kinds we do not use are not errors. */
	assert_int_equal(decode("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}",
				&obj, why), 0);
	assert_int_equal(decode("{\"apiVersion\":\"v2\",\"kind\":\"Pod\"}", &obj, why), 0);
}

static void test_decode_node(void **state)
{
	struct sl_object obj;
	char why[256];

	(void)state;
	assert_int_equal(decode("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node1\"},"
				"\"spec\":{\"podCIDR\":\"10.244.1.0/24\"},\"status\":{\"addresses\":["
				"{\"type\":\"Hostname\",\"address\":\"node1\"},"
				"{\"type\":\"InternalIP\",\"address\":\"192.168.77.1\"}]}}",
				&obj, why), 1);
	assert_true(obj.node.have_pod_cidr);
	assert_int_equal(obj.node.pod_cidr, 0x0af40100);
	assert_int_equal(obj.node.pod_prefix, 24);
	assert_int_equal(obj.node.internal_ip, 0xc0a84d01);
	assert_string_equal(obj.node.zone, "");
	sl_object_free(&obj);

	/* The zone label, for topology hints. */
	assert_int_equal(decode("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\","
				"\"labels\":{\"topology.kubernetes.io/zone\":\"eu-1a\",\"x\":\"y\"}}}",
				&obj, why), 1);
	assert_string_equal(obj.node.zone, "eu-1a");
	sl_object_free(&obj);
}

static void add(struct sl_model *m, const char *json, const char *owner)
{
	struct sl_object obj;
	char why[256];

	assert_int_equal(decode(json, &obj, why), 1);
	assert_true(sl_model_upsert(m, &obj, owner) >= 0);
}

#define POD(ns, name, labels)                                                  \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"" ns \
	"\",\"name\":\"" name "\",\"labels\":{" labels "}}}"
#define NS(name, labels)                                                       \
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" name \
	"\",\"labels\":{" labels "}}}"

static uint32_t pod_id(struct sl_model *m, const char *key)
{
	const struct sl_identity *id = sl_model_identity(m, key);

	assert_non_null(id);
	return id->id;
}

static void test_identities(void **state)
{
	struct sl_model m, other;
	uint32_t a, b, c;

	(void)state;
	sl_model_init(&m);
	add(&m, NS("shop", "\"team\":\"x\""), "f");
	add(&m, POD("shop", "a", "\"app\":\"web\",\"tier\":\"1\""), "f");
	add(&m, POD("shop", "b", "\"tier\":\"1\",\"app\":\"web\""), "f");
	add(&m, POD("shop", "c", "\"app\":\"db\""), "f");
	assert_int_equal(sl_model_refresh_identities(&m), 0);
	a = pod_id(&m, "shop/a");
	b = pod_id(&m, "shop/b");
	c = pod_id(&m, "shop/c");
	/* Same labels in any order: same identity; others differ. */
	assert_int_equal(a, b);
	assert_int_not_equal(a, c);
	assert_true(a >= SL_IDENTITY_FIRST && a < (1u << SL_IDENTITY_BITS));
	assert_int_equal(m.identities.len, 2);

	/* Another node, objects in another order, same numbers. */
	sl_model_init(&other);
	add(&other, POD("shop", "c", "\"app\":\"db\""), "g");
	add(&other, POD("shop", "b", "\"app\":\"web\",\"tier\":\"1\""), "g");
	add(&other, NS("shop", "\"team\":\"x\""), "g");
	assert_int_equal(sl_model_refresh_identities(&other), 0);
	assert_int_equal(pod_id(&other, "shop/b"), a);
	assert_int_equal(pod_id(&other, "shop/c"), c);
	sl_model_free(&other);

	/* Namespace labels are part of the identity. */
	add(&m, NS("shop", "\"team\":\"y\""), "f");
	assert_int_equal(sl_model_refresh_identities(&m), 0);
	assert_int_not_equal(pod_id(&m, "shop/a"), a);
	/* The old ones were released. */
	assert_int_equal(m.identities.len, 2);

	/* Relabelling a pod moves it; deleting the last user frees it. */
	add(&m, POD("shop", "c", "\"app\":\"web\",\"tier\":\"1\""), "f");
	assert_int_equal(sl_model_refresh_identities(&m), 0);
	assert_int_equal(pod_id(&m, "shop/c"), pod_id(&m, "shop/a"));
	assert_int_equal(m.identities.len, 1);

	/* Kept current as objects change, with no refresh in between: a pod
	 * before its namespace is renumbered when the namespace arrives,
	 * and when it goes; the last pod takes its identity with it. */
	add(&m, POD("late", "p", "\"app\":\"web\""), "f");
	c = pod_id(&m, "late/p");
	add(&m, NS("late", "\"team\":\"x\""), "f");
	assert_int_not_equal(pod_id(&m, "late/p"), c);
	assert_int_equal(m.identities.len, 2);
	assert_int_equal(sl_model_delete(&m, SL_KIND_NAMESPACE, "late", "f"), 1);
	assert_int_equal(pod_id(&m, "late/p"), c);
	assert_int_equal(m.identities.len, 2);
	assert_int_equal(sl_model_delete(&m, SL_KIND_POD, "late/p", "f"), 1);
	assert_null(sl_model_identity(&m, "late/p"));
	assert_int_equal(m.identities.len, 1);
	sl_model_free(&m);
}

static void test_model_ownership(void **state)
{
	struct sl_model m;
	uint64_t gen;

	(void)state;
	sl_model_init(&m);
	add(&m, POD("a", "p", "\"x\":\"1\""), "one.yaml");
	gen = m.generation;
	/* Re-applying the same object is not a change. */
	add(&m, POD("a", "p", "\"x\":\"1\""), "one.yaml");
	assert_int_equal(m.generation, gen);
	/* Another file takes it over; the first file's removal then leaves
	 * it alone. */
	add(&m, POD("a", "p", "\"x\":\"1\""), "two.yaml");
	assert_int_equal(sl_model_delete(&m, SL_KIND_POD, "a/p", "one.yaml"), 0);
	assert_non_null(sl_model_get(&m, SL_KIND_POD, "a/p"));
	assert_int_equal(sl_model_delete(&m, SL_KIND_POD, "a/p", "two.yaml"), 1);
	assert_null(sl_model_get(&m, SL_KIND_POD, "a/p"));
	sl_model_free(&m);
}

/* --- endpoint sync against a map in memory -------------------------------- */

#define MEM_MAX 64
struct mem_map {
	uint32_t ips[MEM_MAX];
	struct sl_endpoint eps[MEM_MAX];
	size_t n;
	unsigned int writes, deletes;
	int dead_ifindex; /* a veth that is gone */
};

static int mem_dump(void *ctx,
		    int (*cb)(uint32_t, const struct sl_endpoint *, void *),
		    void *arg)
{
	struct mem_map *m = ctx;

	for (size_t i = 0; i < m->n; i++) {
		int ret = cb(m->ips[i], &m->eps[i], arg);

		if (ret)
			return ret;
	}
	return 0;
}

static int mem_lookup(void *ctx, uint32_t ip, struct sl_endpoint *ep)
{
	struct mem_map *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			*ep = m->eps[i];
			return 0;
		}
	return -ENOENT;
}

static int mem_update(void *ctx, uint32_t ip, const struct sl_endpoint *ep)
{
	struct mem_map *m = ctx;

	m->writes++;
	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			m->eps[i] = *ep;
			return 0;
		}
	m->ips[m->n] = ip;
	m->eps[m->n++] = *ep;
	return 0;
}

static int mem_remove(void *ctx, uint32_t ip)
{
	struct mem_map *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			m->ips[i] = m->ips[m->n - 1];
			m->eps[i] = m->eps[--m->n];
			m->deletes++;
			return 0;
		}
	return -ENOENT;
}

static int mem_link_ok(void *ctx, int ifindex, const char *name)
{
	(void)name;
	return ifindex != ((struct mem_map *)ctx)->dead_ifindex;
}

static struct sl_ep_desired desired(uint32_t ip, int ifindex, const char *ns,
				    const char *name)
{
	struct sl_ep_desired d = { .ip = ip };

	d.ep.ifindex = (__u32)ifindex;
	d.ep.pod_mac[5] = (__u8)ifindex;
	snprintf(d.ns, sizeof(d.ns), "%s", ns);
	snprintf(d.name, sizeof(d.name), "%s", name);
	return d;
}

static void test_endpoint_sync(void **state)
{
	struct mem_map mem = { .dead_ifindex = 99 };
	struct sl_ep_backend be = { mem_dump, mem_lookup, mem_update, mem_remove,
				    mem_link_ok, &mem };
	struct sl_ep_desired want[3];
	struct sl_ep_stats st;
	struct sl_endpoint ep;
	struct sl_model m;
	uint32_t web;

	(void)state;
	sl_model_init(&m);
	add(&m, POD("shop", "a", "\"app\":\"web\""), "f");
	assert_int_equal(sl_model_refresh_identities(&m), 0);
	web = pod_id(&m, "shop/a");

	/* The plugin wrote a (identity 0); a stale entry from a pod long
	 * gone is in the map too. */
	mem_update(&mem, 0x0a000001, &(struct sl_endpoint){ .ifindex = 3,
							    .pod_mac[5] = 3 });
	mem_update(&mem, 0x0a000009, &(struct sl_endpoint){ .ifindex = 40 });
	mem.writes = 0;
	want[0] = desired(0x0a000001, 3, "shop", "a");
	want[1] = desired(0x0a000002, 4, "shop", "unknown");
	assert_int_equal(sl_endpoints_sync(&be, &m, want, 2, &st), 0);
	assert_int_equal(st.updated, 2);  /* a gets its identity, b restored */
	assert_int_equal(st.removed, 1);  /* the stale one */
	assert_int_equal(st.unknown_pods, 1);
	assert_int_equal(mem_lookup(&mem, 0x0a000001, &ep), 0);
	assert_int_equal(ep.identity, web);
	assert_int_equal(ep.ifindex, 3);
	assert_int_equal(mem_lookup(&mem, 0x0a000002, &ep), 0);
	assert_int_equal(ep.identity, 0);
	assert_int_equal(mem_lookup(&mem, 0x0a000009, &ep), -ENOENT);

	/* Nothing changed: nothing written. */
	mem.writes = mem.deletes = 0;
	want[0] = desired(0x0a000001, 3, "shop", "a");
	want[1] = desired(0x0a000002, 4, "shop", "unknown");
	assert_int_equal(sl_endpoints_sync(&be, &m, want, 2, &st), 0);
	assert_int_equal(mem.writes + mem.deletes, 0);
	assert_int_equal(st.unchanged, 2);

	/* A record whose veth is gone is not restored into the map. */
	want[2] = desired(0x0a000003, 99, "shop", "a");
	want[0] = desired(0x0a000001, 3, "shop", "a");
	want[1] = desired(0x0a000002, 4, "shop", "unknown");
	assert_int_equal(sl_endpoints_sync(&be, &m, want, 3, &st), 0);
	assert_int_equal(mem_lookup(&mem, 0x0a000003, &ep), -ENOENT);
	assert_int_equal(mem.writes, 0);

	/* An ADD in progress wrote its entry closed and has not completed
	 * its record yet: the entry is the plugin's, neither removed nor
	 * rewritten. */
	mem_update(&mem, 0x0a000004, &(struct sl_endpoint){
		.ifindex = 5, .flags = SL_EP_F_PENDING });
	mem.writes = mem.deletes = 0;
	want[0] = desired(0x0a000001, 3, "shop", "a");
	want[1] = desired(0x0a000002, 4, "shop", "unknown");
	want[2] = desired(0x0a000004, 0, "shop", "a");
	want[2].attaching = true;
	assert_int_equal(sl_endpoints_sync(&be, &m, want, 3, &st), 0);
	assert_int_equal(mem.writes + mem.deletes, 0);
	assert_int_equal(mem_lookup(&mem, 0x0a000004, &ep), 0);
	assert_int_equal(ep.flags, SL_EP_F_PENDING);
	assert_int_equal(ep.ifindex, 5);
	sl_model_free(&m);
}

/* --- ipcache sync against a map in memory ----------------------------------- */

struct mem_ipc {
	uint32_t ips[MEM_MAX];
	struct sl_ipcache_val vals[MEM_MAX];
	size_t n;
	unsigned int writes, deletes, dumps;
};

static int ipc_dump(void *ctx,
		    int (*cb)(uint32_t, const struct sl_ipcache_val *, void *),
		    void *arg)
{
	struct mem_ipc *m = ctx;

	m->dumps++;
	for (size_t i = 0; i < m->n; i++) {
		int ret = cb(m->ips[i], &m->vals[i], arg);

		if (ret)
			return ret;
	}
	return 0;
}

static int ipc_update(void *ctx, uint32_t ip, const struct sl_ipcache_val *v)
{
	struct mem_ipc *m = ctx;

	m->writes++;
	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			m->vals[i] = *v;
			return 0;
		}
	m->ips[m->n] = ip;
	m->vals[m->n++] = *v;
	return 0;
}

static int ipc_remove(void *ctx, uint32_t ip)
{
	struct mem_ipc *m = ctx;

	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip) {
			m->ips[i] = m->ips[m->n - 1];
			m->vals[i] = m->vals[--m->n];
			m->deletes++;
			return 0;
		}
	return -ENOENT;
}

static int ipc_write(void *ctx, const struct sl_ipc_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ipc_update(ctx, e[i].ip, &e[i].v);
	return 0;
}

static int ipc_remove_many(void *ctx, const struct sl_ipc_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ipc_remove(ctx, e[i].ip);
	return 0;
}

static const struct sl_ipcache_val *ipc_get(struct mem_ipc *m, uint32_t ip)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->ips[i] == ip)
			return &m->vals[i];
	return NULL;
}

#define NODE(name, cidr, ip)                                                   \
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" name \
	"\"},\"spec\":{\"podCIDR\":\"" cidr "\"},\"status\":{\"addresses\":"      \
	"[{\"type\":\"InternalIP\",\"address\":\"" ip "\"}]}}"
#define PODIP(ns, name, node, ip, labels)                                      \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":\"" ns \
	"\",\"name\":\"" name "\",\"labels\":{" labels "}},\"spec\":{\"nodeName\":\"" \
	node "\"},\"status\":{\"podIP\":\"" ip "\"}}"

/* A model with nodes n1 and n2, pod CIDRs 10.244.N.0/24. */
static void two_nodes(struct sl_model *m)
{
	sl_model_init(m);
	add(m, NODE("n1", "10.244.1.0/24", "192.168.77.1"), "f");
	add(m, NODE("n2", "10.244.2.0/24", "192.168.77.2"), "f");
}

static void test_ipcache_sync(void **state)
{
	struct mem_ipc mem = {};
	struct sl_ipc_backend be = { ipc_dump, ipc_write, ipc_remove_many,
				      &mem };
	const struct sl_ipcache_val *v;
	struct sl_ipc_state st = {};
	struct sl_model m;

	(void)state;
	two_nodes(&m);
	add(&m, PODIP("shop", "a", "n1", "10.244.1.5", "\"app\":\"web\""), "f");
	add(&m, PODIP("shop", "b", "n2", "10.244.2.7", "\"app\":\"web\""), "f");
	add(&m, PODIP("shop", "pending", "", "", "\"app\":\"web\""), "f");
	/* A stale entry from before. */
	ipc_update(&mem, 0x0a0a0a0a, &(struct sl_ipcache_val){ .identity = 9 });

	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_int_equal(st.last.entries, 4);
	assert_int_equal(st.last.removed, 1);
	assert_int_equal(mem.dumps, 1);
	v = ipc_get(&mem, 0xc0a84d01);
	assert_non_null(v);
	assert_int_equal(v->identity, SL_ID_HOST);
	v = ipc_get(&mem, 0xc0a84d02);
	assert_int_equal(v->identity, SL_ID_REMOTE_NODE);
	/* Pods on any node, with their identity and hosting node. */
	v = ipc_get(&mem, 0x0af40105);
	assert_non_null(v);
	assert_int_equal(v->identity, pod_id(&m, "shop/a"));
	assert_true(v->flags & SL_IPC_F_LOCAL);
	v = ipc_get(&mem, 0x0af40207);
	assert_non_null(v);
	assert_int_equal(v->identity, pod_id(&m, "shop/a"));
	assert_int_equal(v->node_ip, htonl(0xc0a84d02));
	assert_false(v->flags & SL_IPC_F_LOCAL);
	assert_null(ipc_get(&mem, 0x0a0a0a0a));

	/* Nothing changed: nothing written. */
	mem.writes = mem.deletes = 0;
	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_int_equal(mem.writes + mem.deletes, 0);

	/* A relabel rewrites exactly that pod's entry. */
	add(&m, PODIP("shop", "b", "n2", "10.244.2.7", "\"app\":\"db\""), "f");
	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_int_equal(mem.writes, 1);
	assert_int_not_equal(ipc_get(&mem, 0x0af40207)->identity,
			     pod_id(&m, "shop/a"));
	/* Between resyncs the map is not read back: changes cost writes only. */
	assert_int_equal(mem.dumps, 1);

	/* Something else wrote the map: the periodic resync reads it back
	 * and undoes that. */
	ipc_update(&mem, 0x0b0b0b0b, &(struct sl_ipcache_val){ .identity = 7 });
	ipc_update(&mem, 0x0af40105, &(struct sl_ipcache_val){ .identity = 7 });
	mem.writes = 0;
	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_int_equal(mem.writes + mem.deletes, 0);
	sl_ipc_state_invalidate(&st);
	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_int_equal(mem.dumps, 2);
	assert_null(ipc_get(&mem, 0x0b0b0b0b));
	assert_int_equal(ipc_get(&mem, 0x0af40105)->identity,
			 pod_id(&m, "shop/a"));
	assert_int_equal(st.last.updated, 1);
	assert_int_equal(st.last.removed, 1);
	sl_ipc_state_free(&st);
	sl_model_free(&m);
}

/* This node's pods are in the ipcache where the plugin attached them
 * (the model's local addresses, from its records), from ADD on: before
 * the kubelet reports status.podIP, and over a stale one. */
static void test_ipcache_records(void **state)
{
	struct mem_ipc mem = {};
	struct sl_ipc_backend be = { ipc_dump, ipc_write, ipc_remove_many,
				      &mem };
	const struct sl_local_addr recs[] = {
		{ .pod = "shop/new", .ip = 0x0af40108 },
		{ .pod = "shop/ghost", .ip = 0x0af4010a }, /* no Pod object */
		{ .pod = "shop/a", .ip = 0x0af40106 },     /* podIP .5 */
		{ .pod = "shop/b", .ip = 0x0af40109 },     /* old's podIP */
		{ .pod = "shop/far", .ip = 0x0af40107 },   /* now on n2 */
	};
	const struct sl_ipcache_val *v;
	struct sl_ipc_state st = {};
	struct sl_model m;

	(void)state;
	two_nodes(&m);
	add(&m, PODIP("shop", "new", "n1", "", "\"app\":\"new\""), "f");
	add(&m, PODIP("shop", "a", "n1", "10.244.1.5", "\"app\":\"a\""), "f");
	add(&m, PODIP("shop", "b", "n1", "", "\"app\":\"b\""), "f");
	add(&m, PODIP("shop", "old", "n1", "10.244.1.9", "\"app\":\"o\""), "f");
	add(&m, PODIP("shop", "far", "n2", "10.244.2.5", "\"app\":\"a\""), "f");
	assert_int_equal(sl_model_set_local_addrs(&m, recs, ARRAY_LEN(recs)),
			 1);

	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	v = ipc_get(&mem, 0x0af40108);
	assert_non_null(v);
	assert_int_equal(v->identity, pod_id(&m, "shop/new"));
	assert_true(v->flags & SL_IPC_F_LOCAL);
	assert_int_equal(v->node_ip, htonl(0xc0a84d01));
	/* A record whose pod is not known yet has no identity to map. */
	assert_null(ipc_get(&mem, 0x0af4010a));
	/* A pod is where its record is, not at a stale status.podIP. */
	assert_int_equal(ipc_get(&mem, 0x0af40106)->identity,
			 pod_id(&m, "shop/a"));
	assert_null(ipc_get(&mem, 0x0af40105));
	/* An address a record holds is its pod's, whatever another pod's
	 * (stale) podIP says. */
	assert_int_equal(ipc_get(&mem, 0x0af40109)->identity,
			 pod_id(&m, "shop/b"));
	/* A record of a pod now on another node is not that pod's. */
	assert_null(ipc_get(&mem, 0x0af40107));
	assert_false(ipc_get(&mem, 0x0af40205)->flags & SL_IPC_F_LOCAL);
	assert_int_equal(st.last.entries, 2 + 4);

	/* The record goes (DEL): so does its entry. */
	assert_int_equal(sl_model_set_local_addrs(&m, recs + 1, 4), 1);
	assert_int_equal(sl_ipcache_sync(&be, &m, "n1", &st), 0);
	assert_null(ipc_get(&mem, 0x0af40108));
	sl_ipc_state_free(&st);
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_decode_pod),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_node),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_model_ownership),
		cmocka_unit_test(test_endpoint_sync),
		cmocka_unit_test(test_ipcache_sync),
		cmocka_unit_test(test_ipcache_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

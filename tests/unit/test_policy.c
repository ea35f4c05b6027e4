// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The NetworkPolicy compiler (agent/policy.c), no root: what policies
 * compile to (entry shapes, port prefixes, CIDR identities, ids), and the
 * upstream conformance model - namespaces x, y, z with pods a, b, c each,
 * serving 80 and 81 on TCP, UDP and SCTP under named ports - probed with
 * sl_policy_trace(), which looks the compiled entries up the way the
 * datapath does. Truth tables read like the upstream e2e's: a row is the
 * client, a column the server, '.' allowed, 'X' denied.
 */
#include "unit.h"
#include "k8s.h"
#include "k8s_decode.h"
#include "model.h"
#include "policy.h"

#include <errno.h>
#include <netinet/in.h>

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP

/* --- the model, from JSON with ' for " ------------------------------------ */

struct fx {
	struct sl_model m;
	struct sl_policy_ids ids;
	struct sl_policy_out out;
};

static void load(struct fx *f, const char *q)
{
	model_load(&f->m, q);
}

static void compile(struct fx *f)
{
	sl_policy_out_free(&f->out);
	assert_int_equal(sl_policy_compile(&f->m, "n1", &f->ids, &f->out), 0);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	sl_model_init(&f->m);
	sl_policy_ids_init(&f->ids);
	return f;
}

static void fx_free(struct fx *f)
{
	sl_policy_out_free(&f->out);
	sl_policy_ids_free(&f->ids);
	sl_model_free(&f->m);
	free(f);
}

#define NETPOL(ns, name, spec)                                                 \
	"{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy',"        \
	"'metadata':{'namespace':'" ns "','name':'" name "'},'spec':{" spec    \
	"}}"

/* A podSelector on the conformance label pod=p. */
#define SEL_POD(p) "'podSelector':{'matchLabels':{'pod':'" p "'}}"

/* The conformance servers' ports, named as upstream names them. */
#define SERVE_PORTS                                                            \
	"{'name':'serve-80-tcp','containerPort':80},"                          \
	"{'name':'serve-81-tcp','containerPort':81},"                          \
	"{'name':'serve-80-udp','containerPort':80,'protocol':'UDP'},"         \
	"{'name':'serve-81-udp','containerPort':81,'protocol':'UDP'},"         \
	"{'name':'serve-80-sctp','containerPort':80,'protocol':'SCTP'},"       \
	"{'name':'serve-81-sctp','containerPort':81,'protocol':'SCTP'}"

static void add_pod(struct fx *f, const char *ns, const char *name,
		    const char *ip, const char *node, const char *labels,
		    const char *ports, bool host_network)
{
	char q[2048];

	snprintf(q, sizeof(q),
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'namespace':'%s',"
		 "'name':'%s','uid':'u-%s-%s','labels':{%s}},'spec':{'nodeName':"
		 "'%s','hostNetwork':%s,'containers':[{'name':'c','ports':[%s]}]},"
		 "'status':{'podIP':'%s'}}",
		 ns, name, ns, name, labels, node, host_network ? "true" : "false",
		 ports, ip);
	load(f, q);
}

static void add_ns(struct fx *f, const char *name, const char *labels)
{
	char q[512];

	snprintf(q, sizeof(q),
		 "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'%s',"
		 "'labels':{%s}}}",
		 name, labels);
	load(f, q);
}

static void del_policy(struct fx *f, const char *key)
{
	assert_int_equal(sl_model_delete(&f->m, SL_KIND_NETPOL, key, NULL), 1);
}

/* x, y, z with a, b, c on this node: x/a 10.0.1.1 ... z/c 10.0.3.3. The
 * namespaces carry ns=<name> (as upstream labels them) and not the
 * kubernetes.io/metadata.name label, which the compiler must supply. */
static const char *const PODS[9] = { "x/a", "x/b", "x/c", "y/a", "y/b",
				     "y/c", "z/a", "z/b", "z/c" };

static struct fx *conformance(void)
{
	static const char *const nss[3] = { "x", "y", "z" }, *pods[3] = {
		"a", "b", "c" };
	struct fx *f = fx_new();
	char labels[64], ip[32];

	for (int n = 0; n < 3; n++) {
		snprintf(labels, sizeof(labels), "'ns':'%s'", nss[n]);
		add_ns(f, nss[n], labels);
		for (int p = 0; p < 3; p++) {
			snprintf(labels, sizeof(labels), "'pod':'%s'", pods[p]);
			snprintf(ip, sizeof(ip), "10.0.%d.%d", n + 1, p + 1);
			add_pod(f, nss[n], pods[p], ip, "n1", labels,
				SERVE_PORTS, false);
		}
	}
	return f;
}

static bool allowed(struct fx *f, const char *from, const char *to,
		    uint8_t proto, uint16_t port)
{
	struct sl_policy_verdict v;

	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", from, to,
					 proto, port, &v), 0);
	return v.allowed;
}

/* A probe that must come out as want, with the trace's reason if not. */
static void probe(struct fx *f, const char *from, const char *to,
		  uint8_t proto, uint16_t port, bool want)
{
	struct sl_policy_verdict v;

	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", from, to,
					 proto, port, &v), 0);
	if (v.allowed != want)
		fail_msg("%s -> %s %u/%u: %s, wanted %s", from, to, proto,
			 port, v.reason, want ? "allowed" : "denied");
}

/*
 * The ports of a list of "PROTO/port" and "PROTO/lo-hi", space-separated:
 * for (struct ports it = { .s = list }; next_port(&it);) sees each in turn.
 */
struct ports {
	const char *s; /* what is left of the list */
	uint8_t proto;
	uint16_t port, hi; /* the current port, the end of its range */
};

static bool next_port(struct ports *it)
{
	unsigned int a, b;
	char name[8];
	int n = 0, p = -1;

	if (it->proto && it->port < it->hi) {
		it->port++;
		return true;
	}
	while (*it->s == ' ')
		it->s++;
	if (!*it->s)
		return false;
	if (sscanf(it->s, "%7[A-Z]/%u%n", name, &a, &n) != 2 ||
	    (p = sl_k8s_protocol(name)) < 0)
		fail_msg("bad ports \"%s\"", it->s);
	it->s += n;
	b = a;
	if (*it->s == '-' && sscanf(it->s, "-%u%n", &b, &n) == 1)
		it->s += n;
	if (b < a || b > 65535 || (*it->s && *it->s != ' '))
		fail_msg("bad ports \"%s\"", it->s);
	it->proto = (uint8_t)p;
	it->port = (uint16_t)a;
	it->hi = (uint16_t)b;
	return true;
}

/* Compile, then from -> to must be allowed on each port of allowed and
 * denied on each of denied (lists as next_port() reads them). */
static void expect_ports(struct fx *f, const char *from, const char *to,
			 const char *allowed, const char *denied)
{
	const char *lists[2] = { denied, allowed };

	compile(f);
	for (int want = 0; want < 2; want++)
		for (struct ports it = { .s = lists[want] }; next_port(&it);)
			probe(f, from, to, it.proto, it.port, want);
}

/*
 * Compile, then probe all 81 pairs on each port of on (as next_port()
 * reads it) against rows (one per client in PODS order, a character per
 * server, spaces ignored). On a mismatch, print both tables whole, as
 * upstream's reachability does, under what.
 */
static void expect_table(struct fx *f, const char *what, const char *on,
			 const char *const rows[9])
{
	char got[9][10], want[9][10];

	compile(f);
	for (int i = 0; i < 9; i++) {
		const char *r = rows[i];
		int j = 0;

		for (; *r && j < 9; r++)
			if (*r != ' ')
				want[i][j++] = *r;
		assert_int_equal(j, 9);
		want[i][9] = '\0';
	}
	for (struct ports it = { .s = on }; next_port(&it);) {
		bool ok = true;

		for (int i = 0; i < 9; i++) {
			for (int j = 0; j < 9; j++)
				got[i][j] = allowed(f, PODS[i], PODS[j],
						    it.proto, it.port) ?
						    '.' : 'X';
			got[i][9] = '\0';
			ok &= !strcmp(got[i], want[i]);
		}
		if (ok)
			continue;
		for (int i = 0; i < 9; i++)
			print_message("%s  want %s  got %s%s\n", PODS[i],
				      want[i], got[i],
				      strcmp(got[i], want[i]) ? "  <--" : "");
		fail_msg("%s: reachability on %u/%u differs", what, it.proto,
			 it.port);
	}
}

#define ALL_OPEN_ROWS                                                          \
	"... ... ...", "... ... ...", "... ... ...", "... ... ...",            \
		"... ... ...", "... ... ...", "... ... ...", "... ... ...",    \
		"... ... ..."

static const char *const ALL_OPEN[9] = { ALL_OPEN_ROWS };

/* --- port ranges ---------------------------------------------------------- */

/* The minimal cover, counted on the binary trie (independently of the
 * greedy walk under test). */
static size_t trie_count(uint32_t base, unsigned int bits, uint32_t lo,
			 uint32_t hi)
{
	uint32_t end = base + (1u << bits) - 1;

	if (end < lo || base > hi)
		return 0;
	if (base >= lo && end <= hi)
		return 1;
	return trie_count(base, bits - 1, lo, hi) +
	       trie_count(base + (1u << (bits - 1)), bits - 1, lo, hi);
}

static void test_port_ranges(void **state)
{
	static const struct {
		uint16_t lo, hi;
		size_t n;
		uint16_t ports[16];
		uint8_t plens[16];
	} cases[] = {
		{ 80, 80, 1, { 80 }, { 16 } },
		{ 0, 65535, 1, { 0 }, { 0 } },
		{ 1, 65535, 16,
		  { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
		    8192, 16384, 32768 },
		  { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 } },
		{ 1000, 2000, 8,
		  { 1000, 1008, 1024, 1536, 1792, 1920, 1984, 2000 },
		  { 13, 12, 7, 8, 9, 10, 12, 16 } },
		{ 32768, 60999, 7,
		  { 32768, 49152, 57344, 59392, 60416, 60928, 60992 },
		  { 2, 3, 5, 6, 7, 10, 13 } },
		{ 80, 82, 2, { 80, 82 }, { 15, 16 } },
		{ 65535, 65535, 1, { 65535 }, { 16 } },
	};
	/* And exactness and minimality over a spread of others. */
	static const uint16_t extra[][2] = {
		{ 1, 1 }, { 1, 2 }, { 3, 4 }, { 1023, 1024 }, { 0, 32767 },
		{ 32767, 32768 }, { 30000, 32767 }, { 5, 65530 },
		{ 443, 8443 }, { 65534, 65535 }, { 12345, 54321 },
	};
	uint16_t ports[30];
	uint8_t plens[30];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = sl_port_range_prefixes(cases[c].lo, cases[c].hi,
						  ports, plens);

		if (n != cases[c].n)
			fail_msg("%u-%u: %zu prefixes, wanted %zu", cases[c].lo,
				 cases[c].hi, n, cases[c].n);
		for (size_t i = 0; i < n; i++)
			if (ports[i] != cases[c].ports[i] ||
			    plens[i] != cases[c].plens[i])
				fail_msg("%u-%u: [%zu] %u/%u, wanted %u/%u",
					 cases[c].lo, cases[c].hi, i, ports[i],
					 plens[i], cases[c].ports[i],
					 cases[c].plens[i]);
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) +
				   sizeof(extra) / sizeof(extra[0]); c++) {
		bool inside = c < sizeof(cases) / sizeof(cases[0]);
		uint16_t lo = inside ? cases[c].lo : extra[c - 7][0];
		uint16_t hi = inside ? cases[c].hi : extra[c - 7][1];
		size_t n = sl_port_range_prefixes(lo, hi, ports, plens);

		assert_int_equal(n, trie_count(0, 16, lo, hi));
		for (uint32_t p = 0; p <= 65535; p++) {
			size_t hits = 0;

			for (size_t i = 0; i < n; i++) {
				uint16_t m = plens[i] ? (uint16_t)(0xffffu << (16 - plens[i])) : 0;

				assert_int_equal(ports[i] & ~m, 0);
				hits += ((p & m) == ports[i]);
			}
			/* Exact: in the range once, outside never. */
			if (hits != (p >= lo && p <= hi))
				fail_msg("%u-%u: port %u covered %zu times", lo,
					 hi, p, hits);
		}
	}
}

/* --- entry shapes --------------------------------------------------------- */

static const struct sl_policy_endpoint *ep_of(struct fx *f, const char *pod)
{
	const struct sl_policy_endpoint *ep = sl_policy_endpoint_find(&f->out, pod);

	assert_non_null(ep);
	return ep;
}

static uint32_t id_of(struct fx *f, const char *pod)
{
	const struct sl_identity *id = sl_model_identity(&f->m, pod);

	assert_non_null(id);
	return id->id;
}

static uint32_t policy_id(struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->out.n_names; i++)
		if (!strcmp(f->out.names[i].name, name))
			return f->out.names[i].id;
	fail_msg("no policy %s", name);
	return 0;
}

/* The entries of one endpoint and direction, in order. */
static size_t entries_of(struct fx *f, const char *pod, int dir,
			 const struct sl_policy_entry **out, size_t max)
{
	uint32_t ip = ep_of(f, pod)->ip;
	size_t n = 0;

	for (size_t i = 0; i < f->out.n_entries; i++) {
		const struct sl_policy_entry *e = &f->out.entries[i];

		if (ntohl(e->key.ep) == ip && e->key.dir == dir && n < max)
			out[n++] = e;
	}
	return n;
}

static void check_entry(const struct sl_policy_entry *e, uint32_t ep, int dir,
			uint32_t identity, uint8_t proto, uint16_t port,
			unsigned int plen, uint32_t pid)
{
	struct sl_policy_key k;

	memset(&k, 0, sizeof(k));
	k.prefixlen = SL_POLICY_FIXED_BITS + plen;
	k.ep = htonl(ep);
	k.dir = (__u8)dir;
	k.proto = proto;
	k.identity = identity;
	k.dport = htons(port);
	if (memcmp(&k, &e->key, sizeof(k)) || e->val.policy_id != pid ||
	    e->val.flags)
		fail_msg("entry: id %u proto %u port %u/%u policy %u; wanted "
			 "id %u proto %u port %u/%u policy %u",
			 e->key.identity, e->key.proto, ntohs(e->key.dport),
			 e->key.prefixlen - SL_POLICY_FIXED_BITS,
			 e->val.policy_id, identity, proto, port, plen, pid);
}

static void test_entry_shapes(void **state)
{
	const struct sl_policy_entry *e[64];
	struct fx *f = conformance();
	uint32_t a = ip4("10.0.1.1"), pid;
	size_t n;

	(void)state;
	/* Nothing selects anything: no entries, no isolation. */
	compile(f);
	assert_int_equal(f->out.n_eps, 9);
	assert_int_equal(f->out.n_entries, 0);
	assert_int_equal(f->out.n_cidrs, 0);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(f->out.eps[i].flags, 0);
	/* Endpoints sorted by address. */
	assert_string_equal(f->out.eps[0].pod, "x/a");
	assert_string_equal(f->out.eps[8].pod, "z/c");

	load(f, NETPOL("x", "web", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "}],"
		       "'ports':[{'port':80},{'protocol':'UDP','port':1000,'endPort':1003},"
		       "{'protocol':'SCTP'}]}]"));
	compile(f);
	pid = policy_id(f, "x/web");
	assert_true(pid >= SL_POLICY_ID_FIRST);
	assert_int_equal(ep_of(f, "x/a")->flags, SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_of(f, "x/a")->n_selected[SL_POLICY_INGRESS], 1);
	assert_int_equal(ep_of(f, "x/a")->selected[SL_POLICY_INGRESS][0], pid);
	assert_int_equal(ep_of(f, "x/b")->flags, 0);
	/* Sorted by identity then protocol then port: the node first. */
	n = entries_of(f, "x/a", SL_POLICY_INGRESS, e, 64);
	assert_int_equal(n, 4);
	check_entry(e[0], a, SL_POLICY_INGRESS, SL_ID_HOST, SL_PROTO_ANY, 0, 0,
		    SL_POLICY_ID_NODE);
	check_entry(e[1], a, SL_POLICY_INGRESS, id_of(f, "x/b"), TCP, 80, 16, pid);
	check_entry(e[2], a, SL_POLICY_INGRESS, id_of(f, "x/b"), UDP, 1000, 14, pid);
	check_entry(e[3], a, SL_POLICY_INGRESS, id_of(f, "x/b"), SCTP, 0, 0, pid);
	assert_int_equal(entries_of(f, "x/a", SL_POLICY_EGRESS, e, 64), 0);
	assert_int_equal(f->out.n_entries, 4);

	/* A peer without ports: any protocol, port prefix 0. A rule with
	 * ports and no peers: the ANY identity. */
	load(f, NETPOL("x", "web", SEL_POD("a") ","
		       "'policyTypes':['Egress'],"
		       "'egress':[{'to':[{" SEL_POD("c") "}]},"
		       "{'ports':[{'protocol':'UDP','port':53}]}]"));
	compile(f);
	assert_int_equal(policy_id(f, "x/web"), pid);
	assert_int_equal(ep_of(f, "x/a")->flags, SL_EP_F_EGRESS_ISOLATED);
	n = entries_of(f, "x/a", SL_POLICY_EGRESS, e, 64);
	assert_int_equal(n, 2);
	check_entry(e[0], a, SL_POLICY_EGRESS, SL_ID_ANY, UDP, 53, 16, pid);
	check_entry(e[1], a, SL_POLICY_EGRESS, id_of(f, "x/c"), SL_PROTO_ANY, 0,
		    0, pid);
	/* Egress isolation needs no node entry. */
	assert_int_equal(f->out.n_entries, 2);

	/* The sorted order is the _cmp order, with no two keys equal. */
	for (size_t i = 1; i < f->out.n_entries; i++)
		assert_true(sl_policy_key_cmp(&f->out.entries[i - 1].key,
					      &f->out.entries[i].key) < 0);
	fx_free(f);
}

static void test_reduce(void **state)
{
	const struct sl_policy_entry *e[64];
	struct fx *f = conformance();
	size_t n;

	(void)state;
	/* Overlapping ranges of one policy and another: prefixes inside a
	 * wider one of the same identity and protocol go. */
	load(f, NETPOL("x", "p1", SEL_POD("a") ","
		       "'ingress':[{'from':[{'podSelector':{}}],'ports':["
		       "{'port':80,'endPort':95},{'port':81},{'port':88,'endPort':89}]}]"));
	load(f, NETPOL("x", "p2", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "}],"
		       "'ports':[{'port':82}]}]"));
	compile(f);
	n = entries_of(f, "x/a", SL_POLICY_INGRESS, e, 64);
	/* host; per x identity (a, b, c): 80/12 (80-95) */
	assert_int_equal(n, 4);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(ntohs(e[i]->key.dport), 80);
		assert_int_equal(e[i]->key.prefixlen, SL_POLICY_FIXED_BITS + 12);
		assert_int_equal(e[i]->val.policy_id, policy_id(f, "x/p1"));
	}
	probe(f, "x/b", "x/a", TCP, 82, true);
	probe(f, "x/b", "x/a", TCP, 96, false);

	/* An any-protocol entry of an identity covers its others. */
	load(f, NETPOL("x", "p3", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "}]}]"));
	compile(f);
	n = entries_of(f, "x/a", SL_POLICY_INGRESS, e, 64);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		if (e[i]->key.identity == id_of(f, "x/b"))
			check_entry(e[i], ip4("10.0.1.1"), SL_POLICY_INGRESS,
				    id_of(f, "x/b"), SL_PROTO_ANY, 0, 0,
				    policy_id(f, "x/p3"));
		else if (e[i]->key.identity != SL_ID_HOST)
			assert_int_equal(e[i]->val.policy_id, policy_id(f, "x/p1"));

	/* (ANY, any protocol) covers everything: one entry left. */
	load(f, NETPOL("x", "p4", "'podSelector':{},'ingress':[{}]"));
	compile(f);
	n = entries_of(f, "x/a", SL_POLICY_INGRESS, e, 64);
	assert_int_equal(n, 1);
	check_entry(e[0], ip4("10.0.1.1"), SL_POLICY_INGRESS, SL_ID_ANY,
		    SL_PROTO_ANY, 0, 0, policy_id(f, "x/p4"));
	fx_free(f);
}

/* --- ipBlock and CIDR identities ------------------------------------------ */

/*
 * ep's entries in dir as the datapath looks them up for remote, an address
 * that is not a pod's (identity WORLD): allowed on each port of allowed,
 * denied on each of denied (lists as next_port() reads them).
 */
static void expect_world(struct fx *f, const char *ep, int dir,
			 const char *remote, const char *allowed,
			 const char *denied)
{
	const char *lists[2] = { denied, allowed };
	struct sl_policy_match m;

	for (int want = 0; want < 2; want++)
		for (struct ports it = { .s = lists[want] }; next_port(&it);)
			if (sl_policy_lookup(&f->out, ip4(ep), dir, SL_ID_WORLD,
					     ip4(remote), it.proto, it.port,
					     &m) != want)
				fail_msg("%s %s %s %u/%u: wanted %s", ep,
					 dir == SL_POLICY_EGRESS ? "to" : "from",
					 remote, it.proto, it.port,
					 want ? "allowed" : "denied");
}

static uint32_t cidr_id(struct fx *f, const char *ep, int dir,
			const char *net, unsigned int plen)
{
	for (size_t i = 0; i < f->out.n_cidrs; i++) {
		const struct sl_policy_cidr_entry *c = &f->out.cidrs[i];

		if (ntohl(c->key.ep) == ip4(ep) && c->key.dir == dir &&
		    ntohl(c->key.addr) == ip4(net) &&
		    c->key.prefixlen == SL_POLICY_CIDR_FIXED_BITS + plen) {
			assert_int_equal(c->val.pad, 0);
			return c->val.identity;
		}
	}
	fail_msg("no CIDR entry %s/%u", net, plen);
	return 0;
}

/* Egress on TCP 80 to 10.0.0.0/16 except 10.0.2.0/24, and on TCP 81 to
 * 10.0.2.0/24 except 10.0.2.1/32 (the first block's except, re-allowed). */
#define BLOCK_80                                                               \
	"{'to':[{'ipBlock':{'cidr':'10.0.0.0/16','except':['10.0.2.0/24']}}]," \
	" 'ports':[{'port':80}]}"
#define BLOCK_81                                                               \
	"{'to':[{'ipBlock':{'cidr':'10.0.2.0/24','except':['10.0.2.1/32']}}]," \
	" 'ports':[{'port':81}]}"

static void test_cidr_identities(void **state)
{
	struct fx *f = conformance();
	uint32_t wide, net2, hole, again;

	(void)state;
	load(f, NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[" BLOCK_80 "," BLOCK_81 "]"));
	compile(f);
	assert_int_equal(f->out.n_cidrs, 3);
	wide = cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.0.0", 16);
	net2 = cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.2.0", 24);
	hole = cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.2.1", 32);
	assert_true(wide >= SL_ID_CIDR_FIRST && net2 >= SL_ID_CIDR_FIRST &&
		    hole >= SL_ID_CIDR_FIRST);
	assert_int_not_equal(wide, net2);
	assert_int_not_equal(wide, hole);
	assert_int_not_equal(net2, hole);

	/* Lookups as the datapath: a world address, the remote identity
	 * is WORLD and only the CIDR identity can allow. */
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.9.9", "TCP/80",
		     "TCP/81 UDP/80");
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.2.9", "TCP/81",
		     "TCP/80");
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.2.1", "",
		     "TCP/80 TCP/81");
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "10.1.0.1", "", "TCP/80");
	/* The pods of y are inside the except: only 81, and y/a not. */
	probe(f, "x/a", "x/b", TCP, 80, true);
	probe(f, "x/a", "y/b", TCP, 80, false);
	probe(f, "x/a", "y/b", TCP, 81, true);
	probe(f, "x/a", "y/a", TCP, 81, false);
	probe(f, "x/a", "z/a", TCP, 80, true);

	/* The same allow sets on another endpoint: the same identities;
	 * recompiling changes nothing; an unrelated policy neither. */
	load(f, NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[" BLOCK_80 "," BLOCK_81 "]"));
	load(f, NETPOL("x", "cidr", "'podSelector':{'matchExpressions':["
		       "{'key':'pod','operator':'In','values':['a','b']}]},"
		       "'policyTypes':['Egress'],"
		       "'egress':[" BLOCK_80 "," BLOCK_81 "]"));
	load(f, NETPOL("y", "other", "'podSelector':{},'ingress':[{'from':["
		       "{'ipBlock':{'cidr':'192.168.0.0/16'}}]}]"));
	compile(f);
	assert_int_equal(cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.0.0", 16), wide);
	assert_int_equal(cidr_id(f, "10.0.1.2", SL_POLICY_EGRESS, "10.0.0.0", 16), wide);
	assert_int_equal(cidr_id(f, "10.0.1.2", SL_POLICY_EGRESS, "10.0.2.0", 24), net2);
	assert_int_equal(cidr_id(f, "10.0.1.2", SL_POLICY_EGRESS, "10.0.2.1", 32), hole);
	again = cidr_id(f, "10.0.2.1", SL_POLICY_INGRESS, "192.168.0.0", 16);
	assert_int_equal(cidr_id(f, "10.0.2.3", SL_POLICY_INGRESS, "192.168.0.0", 16),
			 again);
	compile(f);
	assert_int_equal(cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.0.0", 16), wide);
	assert_int_equal(cidr_id(f, "10.0.2.1", SL_POLICY_INGRESS, "192.168.0.0", 16),
			 again);
	/* 2 endpoints x 3 prefixes + 3 endpoints x 1. */
	assert_int_equal(f->out.n_cidrs, 9);
	for (size_t i = 1; i < f->out.n_cidrs; i++)
		assert_true(sl_policy_cidr_key_cmp(&f->out.cidrs[i - 1].key,
						   &f->out.cidrs[i].key) < 0);

	/* A set no longer in use is released, and its id never comes
	 * back, not even for the same set. */
	load(f, NETPOL("x", "cidr", SEL_POD("none") ",'policyTypes':['Egress'],"
		       "'egress':[" BLOCK_80 "]"));
	compile(f);
	assert_int_equal(f->out.n_cidrs, 3);
	load(f, NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[" BLOCK_80 "]"));
	compile(f);
	assert_true(cidr_id(f, "10.0.1.1", SL_POLICY_EGRESS, "10.0.0.0", 16) > again);
	assert_int_equal(cidr_id(f, "10.0.2.1", SL_POLICY_INGRESS, "192.168.0.0", 16),
			 again);
	fx_free(f);
}

static void test_cidr_ingress_named(void **state)
{
	struct fx *f = conformance();

	(void)state;
	/* Ingress: a named port resolves on the endpoint itself, so it
	 * works with ipBlock sources; egress to an ipBlock it cannot. */
	load(f, NETPOL("x", "in", SEL_POD("a") ","
		       "'ingress':[{'from':[{'ipBlock':{'cidr':'192.168.0.0/16'}}],"
		       "'ports':[{'port':'serve-81-tcp'}]}]"));
	load(f, NETPOL("x", "out", SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[{'to':[{'ipBlock':{'cidr':'0.0.0.0/0'}}],"
		       "'ports':[{'port':'serve-81-tcp'}]}]"));
	compile(f);
	expect_world(f, "10.0.1.1", SL_POLICY_INGRESS, "192.168.3.4", "TCP/81",
		     "TCP/80");
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "8.8.8.8", "", "TCP/81");
	probe(f, "x/a", "y/b", TCP, 81, false);
	fx_free(f);
}

/* --- ids ------------------------------------------------------------------ */

static void test_policy_ids(void **state)
{
	struct fx *f = conformance();
	uint32_t m, n, o;

	(void)state;
	load(f, NETPOL("x", "m", "'podSelector':{}"));
	load(f, NETPOL("y", "n", "'podSelector':{}"));
	compile(f);
	m = policy_id(f, "x/m");
	n = policy_id(f, "y/n");
	assert_true(m >= SL_POLICY_ID_FIRST && n >= SL_POLICY_ID_FIRST);
	assert_int_not_equal(m, n);
	assert_string_equal(sl_policy_name(&f->out, SL_POLICY_ID_NODE), "(node)");
	assert_string_equal(sl_policy_name(&f->out, m), "x/m");

	/* A policy sorting before them, a change to one: ids stay. */
	load(f, NETPOL("a", "first", "'podSelector':{}"));
	load(f, NETPOL("x", "m", "'podSelector':{},'ingress':[{}]"));
	compile(f);
	assert_int_equal(policy_id(f, "x/m"), m);
	assert_int_equal(policy_id(f, "y/n"), n);
	o = policy_id(f, "a/first");
	assert_true(o != m && o != n);

	/* Deleted and made again: a new id, the old one not reused. */
	del_policy(f, "x/m");
	compile(f);
	for (size_t i = 0; i < f->out.n_names; i++)
		assert_int_not_equal(f->out.names[i].id, m);
	load(f, NETPOL("x", "m", "'podSelector':{}"));
	load(f, NETPOL("x", "m2", "'podSelector':{}"));
	compile(f);
	assert_true(policy_id(f, "x/m") > o);
	assert_true(policy_id(f, "x/m2") > o);
	assert_int_equal(policy_id(f, "y/n"), n);
	fx_free(f);
}

/* --- E upstream's truth tables -------------------------------------------- */

/*
 * Reachability on a fresh x/y/z with policies loaded, one case a table (as
 * upstream's tests probe them), on each port of on.
 */
static const struct {
	const char *what;
	const char *policies[2];
	const char *on;
	const char *rows[9];
} truth_tables[] = {
	/* "should support a 'default-deny-all' policy", its egress half:
	 * egress-only policies say so, "egress: []" alone defaults to
	 * Ingress only, a default-deny ingress. */
	{ "default-deny-egress, egress []",
	  { NETPOL("x", "deny-egress", "'podSelector':{},'egress':[]") },
	  "TCP/80",
	  { ".XX ... ...", "X.X ... ...", "XX. ... ...",
	    "XXX ... ...", "XXX ... ...", "XXX ... ...",
	    "XXX ... ...", "XXX ... ...", "XXX ... ..." } },
	{ "default-deny-egress",
	  { NETPOL("x", "deny-egress",
		   "'podSelector':{},'policyTypes':['Egress']") },
	  "TCP/80 SCTP/80",
	  { ".XX XXX XXX", "X.X XXX XXX", "XX. XXX XXX",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* T40 "should enforce multiple ingress policies with ingress
	 * allow-all policy taking precedence", and "should support
	 * allow-all policy". */
	{ "T40 only x/b on 80",
	  { NETPOL("x", "only-b-80", SEL_POD("a") ",'ingress':[{'from':[{"
		   SEL_POD("b") "}],'ports':[{'port':80}]}]") },
	  "TCP/80",
	  { "... ... ...", "... ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ..." } },
	{ "T40 only x/b on 80, probed on 81",
	  { NETPOL("x", "only-b-80", SEL_POD("a") ",'ingress':[{'from':[{"
		   SEL_POD("b") "}],'ports':[{'port':80}]}]") },
	  "TCP/81",
	  { "... ... ...", "X.. ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ..." } },
	{ "T40 and allow-all",
	  { NETPOL("x", "only-b-80", SEL_POD("a") ",'ingress':[{'from':[{"
		   SEL_POD("b") "}],'ports':[{'port':80}]}]"),
	    NETPOL("x", "allow-all", SEL_POD("a") ",'ingress':[{}]") },
	  "TCP/80 TCP/81 SCTP/81",
	  { ALL_OPEN_ROWS } },
	/* T44 "should enforce policy based on PodSelector and
	 * NamespaceSelector" (one peer: AND) and "... PodSelector or
	 * NamespaceSelector" (two: OR). */
	{ "T44 and",
	  { NETPOL("x", "and", SEL_POD("a") ",'ingress':[{'from':["
		   "{'namespaceSelector':{'matchLabels':{'ns':'y'}},"
		   SEL_POD("b") "}]}]") },
	  "TCP/80",
	  { "... ... ...", "X.. ... ...", "X.. ... ...",
	    "X.. ... ...", "... ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ..." } },
	{ "T44 or",
	  { NETPOL("x", "and", SEL_POD("a") ",'ingress':[{'from':["
		   "{'namespaceSelector':{'matchLabels':{'ns':'y'}}},"
		   "{" SEL_POD("b") "}]}]") },
	  "TCP/80",
	  { "... ... ...", "... ... ...", "X.. ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ..." } },
	/* "should deny ingress from pods on other namespaces" (podSelector
	 * {}: the policy's namespace) and "should enforce policy to allow
	 * traffic from pods within server namespace based on PodSelector" /
	 * "... allow ingress traffic from pods in all namespaces"
	 * (namespaceSelector {}). */
	{ "podSelector {} peer",
	  { NETPOL("x", "same-ns", "'podSelector':{},"
		   "'ingress':[{'from':[{'podSelector':{}}]}]") },
	  "TCP/80",
	  { "... ... ...", "... ... ...", "... ... ...",
	    "XXX ... ...", "XXX ... ...", "XXX ... ...",
	    "XXX ... ...", "XXX ... ...", "XXX ... ..." } },
	{ "namespaceSelector {} peer",
	  { NETPOL("x", "same-ns", "'podSelector':{},"
		   "'ingress':[{'from':[{'namespaceSelector':{}}]}]") },
	  "TCP/80",
	  { ALL_OPEN_ROWS } },
	/* "should enforce policy based on PodSelector with
	 * MatchExpressions": all four operators. */
	{ "matchExpressions In",
	  { NETPOL("x", "in", SEL_POD("c") ",'ingress':[{'from':["
		   "{'podSelector':{'matchExpressions':[{'key':'pod',"
		   "'operator':'In','values':['a','b']}]}}]}]") },
	  "TCP/80",
	  { "... ... ...", "... ... ...", "... ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ..." } },
	{ "matchExpressions NotIn",
	  { NETPOL("x", "in", SEL_POD("c") ",'ingress':[{'from':["
		   "{'podSelector':{'matchExpressions':[{'key':'pod',"
		   "'operator':'NotIn','values':['a']}]}}]}]") },
	  "TCP/80",
	  { "..X ... ...", "... ... ...", "... ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ..." } },
	/* Exists on a key every x pod has; DoesNotExist on one none has. */
	{ "matchExpressions Exists, DoesNotExist",
	  { NETPOL("x", "in", SEL_POD("c") ",'ingress':[{'from':["
		   "{'podSelector':{'matchExpressions':["
		   "{'key':'pod','operator':'Exists'},"
		   "{'key':'legacy','operator':'DoesNotExist'}]}}]}]") },
	  "TCP/80",
	  { "... ... ...", "... ... ...", "... ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ..." } },
	{ "matchExpressions DoesNotExist",
	  { NETPOL("x", "in", SEL_POD("c") ",'ingress':[{'from':["
		   "{'podSelector':{'matchExpressions':["
		   "{'key':'pod','operator':'DoesNotExist'}]}}]}]") },
	  "TCP/80",
	  { "..X ... ...", "..X ... ...", "... ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ...",
	    "..X ... ...", "..X ... ...", "..X ... ..." } },
	/* "should enforce egress policy allowing traffic to a server in a
	 * different namespace based on PodSelector and NamespaceSelector". */
	{ "egress to another namespace",
	  { NETPOL("x", "to-y-a", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'namespaceSelector':"
		   "{'matchLabels':{'ns':'y'}}," SEL_POD("a") "}]}]") },
	  "TCP/80",
	  { ".XX .XX XXX", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* T46 "should allow egress access to server in CIDR block",
	 * "should enforce except clause while egress access to server in
	 * CIDR block", "should ensure an IP overlapping both IPBlock.CIDR
	 * and IPBlock.Except is allowed". */
	{ "T46 ipBlock",
	  { NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'ipBlock':{'cidr':'10.0.2.2/32'}}]}]") },
	  "TCP/80",
	  { ".XX X.X XXX", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	{ "T46 ipBlock except",
	  { NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'ipBlock':{'cidr':'10.0.2.0/24',"
		   "'except':['10.0.2.2/32']}}]}]") },
	  "TCP/80",
	  { ".XX .X. XXX", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* Another peer holding the excepted address: allowed. */
	{ "T46 except, allowed by another peer",
	  { NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'ipBlock':{'cidr':'10.0.2.0/24',"
		   "'except':['10.0.2.2/32']}},"
		   "{'ipBlock':{'cidr':'10.0.2.2/32'}}]}]") },
	  "TCP/80",
	  { ".XX ... XXX", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* ... or another policy, by the pod's identity. */
	{ "T46 except, allowed by another policy",
	  { NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'ipBlock':{'cidr':'10.0.0.0/8',"
		   "'except':['10.0.2.0/24']}}]}]"),
	    NETPOL("x", "to-y-b", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'namespaceSelector':{},"
		   SEL_POD("b") "}]}]") },
	  "TCP/80",
	  { "... X.X ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* An IPv6-only peer opens nothing (and is not "every peer"). */
	{ "IPv6 ipBlock",
	  { NETPOL("x", "cidr", SEL_POD("a") ",'policyTypes':['Egress'],"
		   "'egress':[{'to':[{'ipBlock':{'cidr':'::/0'}}]}]") },
	  "TCP/80",
	  { ".XX XXX XXX", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ...",
	    "... ... ...", "... ... ...", "... ... ..." } },
	/* "should work with Ingress, Egress specified together". */
	{ "both types",
	  { NETPOL("x", "both", SEL_POD("a") ","
		   "'policyTypes':['Ingress','Egress'],"
		   "'ingress':[{'from':[{" SEL_POD("b") "}]}],"
		   "'egress':[{'to':[{'namespaceSelector':"
		   "{'matchLabels':{'ns':'y'}}}]}]") },
	  "TCP/80",
	  { ".XX ... XXX", "... ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ...",
	    "X.. ... ...", "X.. ... ...", "X.. ... ..." } },
};

static void test_truth_tables(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_LEN(truth_tables); c++) {
		struct fx *f = conformance();

		for (size_t i = 0; i < ARRAY_LEN(truth_tables[c].policies) &&
				   truth_tables[c].policies[i];
		     i++)
			load(f, truth_tables[c].policies[i]);
		expect_table(f, truth_tables[c].what, truth_tables[c].on,
			     truth_tables[c].rows);
		fx_free(f);
	}
}

/* --- E.1 isolation -------------------------------------------------------- */

/* T39 "should support a 'default-deny-ingress' policy". */
static void test_default_deny_ingress(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("x", "deny-ingress", "'podSelector':{},'policyTypes':['Ingress']"));
	expect_table(f, "T39", "TCP/80 UDP/81", (const char *const[9]){
		".XX ... ...", "X.X ... ...", "XX. ... ...",
		"XXX ... ...", "XXX ... ...", "XXX ... ...",
		"XXX ... ...", "XXX ... ...", "XXX ... ..." });
	/* Egress of x unaffected. */
	assert_int_equal(ep_of(f, "x/a")->flags, SL_EP_F_INGRESS_ISOLATED);
	fx_free(f);
}

/* T38 "should enforce policies to check ingress and egress policies can
 * be controlled independently based on PodSelector". */
static void test_independent_directions(void **state)
{
	struct fx *f = conformance();

	(void)state;
	/* x/a may not send; nobody may reach x/b (x/a's sends blocked
	 * anyway); x/a still receives, x/b still sends. */
	load(f, NETPOL("x", "a-no-egress",
		       SEL_POD("a") ",'policyTypes':['Egress']"));
	load(f, NETPOL("x", "b-no-ingress",
		       SEL_POD("b") ",'policyTypes':['Ingress']"));
	expect_table(f, "T38", "TCP/80", (const char *const[9]){
		".XX XXX XXX", "... ... ...", ".X. ... ...",
		".X. ... ...", ".X. ... ...", ".X. ... ...",
		".X. ... ...", ".X. ... ...", ".X. ... ..." });
	assert_int_equal(ep_of(f, "x/a")->flags, SL_EP_F_EGRESS_ISOLATED);
	assert_int_equal(ep_of(f, "x/b")->flags, SL_EP_F_INGRESS_ISOLATED);
	assert_int_equal(ep_of(f, "x/c")->flags, 0);
	fx_free(f);
}

/* T41 "should enforce multiple, stacked policies with overlapping
 * podSelectors": additive, no order. */
static void test_additive(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("x", "allow-80", SEL_POD("a") ","
		       "'ingress':[{'from':[{'namespaceSelector':{}}],'ports':[{'port':80}]}]"));
	load(f, NETPOL("x", "allow-81", SEL_POD("a") ","
		       "'ingress':[{'from':[{'namespaceSelector':{}}],'ports':[{'port':81}]}]"));
	expect_table(f, "T41", "TCP/80 TCP/81", ALL_OPEN);
	expect_ports(f, "y/a", "x/a", "", "TCP/82 UDP/80");
	assert_int_equal(ep_of(f, "x/a")->n_selected[SL_POLICY_INGRESS], 2);
	fx_free(f);
}

/* T42 "should support denying of egress traffic on the client side (even
 * if the server explicitly allows this traffic)". */
static void test_both_ends(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("y", "allow-x-a", SEL_POD("b") ","
		       "'ingress':[{'from':[{'namespaceSelector':{'matchLabels':{'ns':'x'}},"
		       SEL_POD("a") "}]}]"));
	compile(f);
	probe(f, "x/a", "y/b", TCP, 80, true);
	probe(f, "x/b", "y/b", TCP, 80, false);
	load(f, NETPOL("x", "a-no-egress", SEL_POD("a") ","
		       "'policyTypes':['Egress']"));
	compile(f);
	probe(f, "x/a", "y/b", TCP, 80, false);
	fx_free(f);
}

/* T43: an allowed direction does not open the reverse one (replies ride
 * conntrack and are never looked up). */
static void test_reverse_denied(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("x", "deny", "'podSelector':{}"));
	load(f, NETPOL("x", "b-to-a", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "}]}]"));
	compile(f);
	probe(f, "x/b", "x/a", TCP, 80, true);
	probe(f, "x/a", "x/b", TCP, 80, false);
	fx_free(f);
}

/* T50 "should stop enforcing policies after they are deleted", and a pod
 * made after the policy is isolated in the first compile it appears in. */
static void test_lifecycle(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("x", "deny-all", "'podSelector':{},'policyTypes':['Ingress','Egress']"));
	compile(f);
	add_pod(f, "x", "d", "10.0.1.4", "n1", "'pod':'d'", SERVE_PORTS, false);
	compile(f);
	assert_int_equal(ep_of(f, "x/d")->flags,
			 SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED);
	probe(f, "x/d", "y/a", TCP, 80, false);
	probe(f, "y/a", "x/d", TCP, 80, false);
	del_policy(f, "x/deny-all");
	compile(f);
	assert_int_equal(ep_of(f, "x/d")->flags, 0);
	assert_int_equal(f->out.n_entries, 0);
	probe(f, "x/d", "y/a", TCP, 80, true);
	probe(f, "y/a", "x/d", TCP, 80, true);
	fx_free(f);
}

/* The plugin's records (the model's local addresses), as the agent
 * publishes them; pods "ns/name", addresses dotted. */
static void set_records(struct fx *f, const char *const *pods,
			const char *const *ips, size_t n)
{
	struct sl_local_addr v[8];

	assert_true(n <= ARRAY_LEN(v));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct sl_local_addr){ .pod = (char *)pods[i],
					       .ip = ip4(ips[i]) };
	assert_true(sl_model_set_local_addrs(&f->m, v, n) >= 0);
}

/* SPECS E.5: a new pod is an endpoint from ADD on, under the address its
 * record gives, before (and whatever) the kubelet reports as podIP: its
 * own policy and the policies naming it both apply at once. */
static void test_record_addresses(void **state)
{
	static const char *const pods[] = { "x/new", "x/a", "x/moved",
					    "y/late" };
	static const char *const ips[] = { "10.0.9.1", "10.0.9.2", "10.0.9.3",
					   "10.0.2.2" };
	struct fx *f = conformance();
	const struct sl_policy_endpoint *ep;
	struct sl_policy_verdict verdict;
	uint64_t gen;

	(void)state;
	/* pod=a in x takes ingress from pod=b only; x/new is such a pod,
	 * without a podIP yet; x/moved was recreated on n2. */
	load(f, NETPOL("x", "a-from-b", SEL_POD("a") ",'ingress':[{'from':"
		       "[{'namespaceSelector':{}," SEL_POD("b") "}]}]"));
	add_pod(f, "x", "new", "", "n1", "'pod':'a'", SERVE_PORTS, false);
	add_pod(f, "x", "moved", "10.1.0.3", "n2", "'pod':'a'", SERVE_PORTS,
		false);
	add_pod(f, "y", "late", "", "n1", "'pod':'c'", SERVE_PORTS, false);
	compile(f);
	assert_null(sl_policy_endpoint_find(&f->out, "x/new"));
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/b", "x/new",
					 TCP, 80, &verdict),
			 -ENOENT);

	gen = f->m.generation;
	set_records(f, pods, ips, ARRAY_LEN(pods));
	assert_true(f->m.generation > gen); /* the compile must run again */
	compile(f);
	ep = ep_of(f, "x/new");
	assert_int_equal(ep->ip, ip4("10.0.9.1"));
	assert_int_equal(ep->flags, SL_EP_F_INGRESS_ISOLATED);
	probe(f, "x/b", "x/new", TCP, 80, true);
	probe(f, "x/c", "x/new", TCP, 80, false);
	probe(f, "z/b", "x/new", UDP, 81, true);
	/* As a peer, by its record address too: its egress is open. */
	probe(f, "x/new", "x/b", TCP, 80, true);
	/* A record is where the pod is attached, whatever status.podIP says
	 * (an older sandbox's): x/a is an endpoint at 10.0.9.2 only. */
	assert_int_equal(ep_of(f, "x/a")->ip, ip4("10.0.9.2"));
	assert_null(sl_policy_endpoint_find(&f->out, "10.0.1.1"));
	/* An address two pods claim: the one a record has there. y/late was
	 * attached at y/b's stale podIP; y/b (no record) loses it. */
	assert_string_equal(sl_policy_endpoint_find(&f->out, "10.0.2.2")->pod,
			    "y/late");
	/* A record of a pod the model has on another node is its
	 * predecessor's: no endpoint here. */
	assert_null(sl_policy_endpoint_find(&f->out, "10.0.9.3"));
	assert_null(sl_policy_endpoint_find(&f->out, "x/moved"));

	/* The kubelet reports the podIP: nothing moves, nothing changes. */
	add_pod(f, "x", "new", "10.0.9.1", "n1", "'pod':'a'", SERVE_PORTS,
		false);
	compile(f);
	assert_int_equal(ep_of(f, "x/new")->ip, ip4("10.0.9.1"));
	/* The same set again is no change; a shorter one is. */
	gen = f->m.generation;
	set_records(f, pods, ips, ARRAY_LEN(pods));
	assert_int_equal(f->m.generation, gen);
	set_records(f, pods, ips, 1);
	assert_true(f->m.generation > gen);
	fx_free(f);
}

/* A pod no policy selects is not isolated; a policy selects in its own
 * namespace only ("policies never select pods in other namespaces"). */
static void test_not_selected(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("y", "deny", SEL_POD("a") ","
		       "'policyTypes':['Ingress','Egress']"));
	compile(f);
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(f->out.eps[i].flags,
				 strcmp(f->out.eps[i].pod, "y/a") ? 0 :
				 SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED);
	probe(f, "x/a", "x/b", TCP, 80, true);
	probe(f, "x/a", "y/b", TCP, 80, true);
	probe(f, "x/a", "y/a", TCP, 80, false);
	fx_free(f);
}

/* --- E.2 peers ------------------------------------------------------------ */

/* T45 "should allow ingress access from updated namespace", "... from
 * updated pod", "should deny ingress access to updated pod". */
static void test_relabel(void **state)
{
	struct fx *f = conformance();

	(void)state;
	load(f, NETPOL("x", "from-blue", SEL_POD("a") ","
		       "'ingress':[{'from':[{'namespaceSelector':{'matchLabels':{'team':'blue'}}}]}]"));
	compile(f);
	probe(f, "y/b", "x/a", TCP, 80, false);
	add_ns(f, "y", "'ns':'y','team':'blue'");
	compile(f);
	probe(f, "y/b", "x/a", TCP, 80, true);
	probe(f, "z/b", "x/a", TCP, 80, false);
	add_ns(f, "y", "'ns':'y'");
	compile(f);
	probe(f, "y/b", "x/a", TCP, 80, false);

	/* A pod gaining the label a peer wants, then losing it. */
	load(f, NETPOL("x", "from-new", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b2") "}]}]"));
	compile(f);
	probe(f, "x/b", "x/a", TCP, 80, false);
	add_pod(f, "x", "b", "10.0.1.2", "n1", "'pod':'b2'", SERVE_PORTS, false);
	compile(f);
	probe(f, "x/b", "x/a", TCP, 80, true);
	add_pod(f, "x", "b", "10.0.1.2", "n1", "'pod':'b'", SERVE_PORTS, false);
	compile(f);
	probe(f, "x/b", "x/a", TCP, 80, false);

	/* "should deny ingress access to updated pod": the server's own
	 * labels change which policies select it. */
	load(f, NETPOL("x", "deny-isolated", "'podSelector':{'matchLabels':{'isolated':'true'}}"));
	compile(f);
	probe(f, "y/a", "x/c", TCP, 80, true);
	add_pod(f, "x", "c", "10.0.1.3", "n1", "'pod':'c','isolated':'true'",
		SERVE_PORTS, false);
	compile(f);
	probe(f, "y/a", "x/c", TCP, 80, false);
	fx_free(f);
}

/* "... NamespaceSelector with MatchExpressions": NotIn matches a namespace
 * lacking the key, so z (no 'env') is in. */
static void test_namespace_expressions(void **state)
{
	struct fx *f = conformance();

	(void)state;
	add_ns(f, "y", "'ns':'y','env':'prod'");
	load(f, NETPOL("x", "in", SEL_POD("c") ",'ingress':[{'from':["
		       "{'namespaceSelector':{'matchExpressions':["
		       "{'key':'ns','operator':'In','values':['y','z']},"
		       "{'key':'env','operator':'NotIn','values':['prod']}]}}]}]"));
	expect_table(f, "namespace expressions", "TCP/80",
		     (const char *const[9]){
			     "..X ... ...", "..X ... ...", "... ... ...",
			     "..X ... ...", "..X ... ...", "..X ... ...",
			     "... ... ...", "... ... ...", "... ... ..." });
	fx_free(f);
}

/* A namespace is selectable by kubernetes.io/metadata.name even when the
 * object does not carry it, or is not known at all. */
static void test_namespace_name_label(void **state)
{
	struct fx *f = conformance();

	(void)state;
	add_pod(f, "w", "solo", "10.0.4.1", "n1", "'pod':'solo'", "", false);
	load(f, NETPOL("x", "by-name", SEL_POD("a") ","
		       "'ingress':[{'from':[{'namespaceSelector':{'matchLabels':"
		       "{'kubernetes.io/metadata.name':'y'}}},"
		       "{'namespaceSelector':{'matchExpressions':[{'key':"
		       "'kubernetes.io/metadata.name','operator':'In','values':['w']}]}}]}]"));
	compile(f);
	probe(f, "y/c", "x/a", TCP, 80, true);
	probe(f, "w/solo", "x/a", TCP, 80, true);
	probe(f, "z/c", "x/a", TCP, 80, false);
	probe(f, "x/b", "x/a", TCP, 80, false);
	fx_free(f);
}

/* Host-network pods are not pods to selectors; the node may always reach
 * its pods (kubelet probes), other nodes may not unless allowed. */
static void test_host(void **state)
{
	struct fx *f = conformance();
	struct sl_policy_verdict v;

	(void)state;
	add_pod(f, "kube-system", "probe", "192.168.0.1", "n1", "'pod':'b'", "", true);
	add_pod(f, "kube-system", "agent", "192.168.0.2", "n2", "'pod':'b'", "", true);
	load(f, NETPOL("x", "from-pods", "'podSelector':{},"
		       "'ingress':[{'from':[{'namespaceSelector':{}}]}]"));
	compile(f);
	/* Neither is an endpoint. */
	assert_int_equal(f->out.n_eps, 9);
	assert_null(sl_policy_endpoint_find(&f->out, "kube-system/probe"));
	/* This node: allowed by the implicit entry, whatever the policy. */
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "kube-system/probe",
					 "x/a", TCP, 80, &v), 0);
	assert_true(v.allowed);
	assert_int_equal(v.ingress.match.entry->key.identity, SL_ID_HOST);
	assert_int_equal(v.ingress.match.entry->val.policy_id, SL_POLICY_ID_NODE);
	assert_non_null(strstr(v.reason, "(node)"));
	/* Another node: a pod with labels every selector here matches,
	 * but no pod to them. */
	probe(f, "kube-system/agent", "x/a", TCP, 80, false);
	probe(f, "x/a", "kube-system/agent", TCP, 80, true);
	/* Only an ipBlock lets it in. */
	load(f, NETPOL("x", "nodes", "'podSelector':{},"
		       "'ingress':[{'from':[{'ipBlock':{'cidr':'192.168.0.0/24'}}]}]"));
	compile(f);
	probe(f, "kube-system/agent", "x/a", TCP, 80, true);
	/* Egress to the node: isolated egress needs a rule for it too. */
	load(f, NETPOL("x", "no-egress", "'podSelector':{},'policyTypes':['Egress'],"
		       "'egress':[{'to':[{'namespaceSelector':{}}]}]"));
	compile(f);
	probe(f, "x/a", "kube-system/agent", TCP, 80, false);
	probe(f, "x/a", "y/a", TCP, 80, true);
	fx_free(f);
}

/* Pods of other nodes are peers (by identity), never endpoints here. */
static void test_remote_pods(void **state)
{
	struct fx *f = conformance();
	struct sl_policy_verdict v;

	(void)state;
	add_pod(f, "y", "far", "10.1.0.7", "n2", "'pod':'b'", SERVE_PORTS, false);
	load(f, NETPOL("x", "from-y-b", "'podSelector':{},'ingress':[{'from':["
		       "{'namespaceSelector':{'matchLabels':{'ns':'y'}},"
		       SEL_POD("b") "}]}]"));
	load(f, NETPOL("y", "deny", "'podSelector':{},'policyTypes':['Ingress','Egress']"));
	compile(f);
	assert_null(sl_policy_endpoint_find(&f->out, "y/far"));
	/* y/far shares y/b's identity: one entry serves both. */
	assert_int_equal(id_of(f, "y/far"), id_of(f, "y/b"));
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "y/far", "x/a",
					 TCP, 80, &v), 0);
	assert_true(v.allowed);
	assert_false(v.complete);
	assert_false(v.egress.enforced);
	assert_true(v.ingress.enforced);
	/* Into y/far: decided on n2; y/b here is isolated. */
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/a", "y/far",
					 TCP, 80, &v), 0);
	assert_true(v.allowed);
	assert_false(v.ingress.enforced);
	probe(f, "x/a", "y/b", TCP, 80, false);
	fx_free(f);
}

/* --- E.4 ports ------------------------------------------------------------ */

/* One ingress rule of ports only on x/a, probed from y/a. */
static void test_ingress_ports(void **state)
{
	static const struct {
		const char *ports, *allowed, *denied;
	} cases[] = {
		/* T47 "should not mistakenly treat 'protocol: SCTP' as
		 * 'protocol: TCP', even if the plugin doesn't support
		 * SCTP", "should enforce policy based on Ports" with UDP,
		 * and the TCP default. */
		{ "{'protocol':'SCTP','port':80}", "SCTP/80",
		  "TCP/80 UDP/80 SCTP/81" },
		{ "{'port':81}", "TCP/81", "UDP/81 SCTP/81" },
		{ "{'protocol':'UDP','port':80}", "UDP/80", "TCP/80" },
		/* A protocol without a port: all its ports. */
		{ "{'protocol':'UDP'}", "UDP/1 UDP/65535", "TCP/80" },
		/* T48 "should allow ingress access on one named port". */
		{ "{'port':'serve-81-tcp'}", "TCP/81", "TCP/80 UDP/81" },
		{ "{'protocol':'UDP','port':'serve-80-udp'}", "UDP/80",
		  "TCP/80" },
		/* A name the pod does not have (or has for another
		 * protocol): nothing. */
		{ "{'protocol':'UDP','port':'serve-80-tcp'},{'port':'nope'}",
		  "", "UDP/80 TCP/80" },
		/* T49 "should enforce policy based on Ports" with endPort
		 * ranges. */
		{ "{'port':80,'endPort':82}", "TCP/80-82",
		  "TCP/70-79 TCP/83-90" },
		{ "{'port':80}", "TCP/80", "TCP/81" },
		{ "{'protocol':'UDP','port':32768,'endPort':60999}",
		  "UDP/32768 UDP/45000 UDP/60999",
		  "UDP/32767 UDP/61000 TCP/45000" },
	};
	struct fx *f = conformance();
	char q[512];

	(void)state;
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		snprintf(q, sizeof(q),
			 NETPOL("x", "ports",
				SEL_POD("a") ",'ingress':[{'ports':[%s]}]"),
			 cases[c].ports);
		load(f, q);
		expect_ports(f, "y/a", "x/a", cases[c].allowed,
			     cases[c].denied);
	}
	fx_free(f);
}

/* T48 "should allow egress access on one named port", and names that
 * differ per pod. */
static void test_named_ports_egress(void **state)
{
	struct fx *f = conformance();

	(void)state;
	/* No peers: the named port of every pod (upstream allows all pods
	 * on 81 with serve-81-tcp and no "to"). */
	load(f, NETPOL("x", "egress-named",
		       SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[{'ports':[{'port':'serve-81-tcp'},"
		       "{'protocol':'UDP','port':53}]}]"));
	expect_table(f, "egress, named port", "TCP/81", ALL_OPEN);
	expect_table(f, "egress, named port", "TCP/80", (const char *const[9]){
		".XX XXX XXX", "... ... ...", "... ... ...",
		"... ... ...", "... ... ...", "... ... ...",
		"... ... ...", "... ... ...", "... ... ..." });
	/* ... and never a non-pod address. */
	expect_world(f, "10.0.1.1", SL_POLICY_EGRESS, "8.8.8.8", "UDP/53",
		     "TCP/81");

	/* One name, a number per pod: each pod only on its own. */
	add_pod(f, "y", "b", "10.0.2.2", "n1", "'pod':'b'",
		"{'name':'web','containerPort':8080}", false);
	add_pod(f, "z", "c", "10.0.3.3", "n1", "'pod':'c'",
		"{'name':'web','containerPort':9090}", false);
	load(f, NETPOL("x", "egress-named",
		       SEL_POD("a") ",'policyTypes':['Egress'],"
		       "'egress':[{'to':[{'namespaceSelector':{}}],"
		       "'ports':[{'port':'web'}]}]"));
	expect_ports(f, "x/a", "y/b", "TCP/8080", "TCP/9090");
	expect_ports(f, "x/a", "z/c", "TCP/9090", "TCP/8080");
	expect_ports(f, "x/a", "y/a", "", "TCP/8080");
	/* A port number change is a model change, and a compile change. */
	add_pod(f, "y", "b", "10.0.2.2", "n1", "'pod':'b'",
		"{'name':'web','containerPort':8081}", false);
	expect_ports(f, "x/a", "y/b", "TCP/8081", "TCP/8080");
	fx_free(f);
}

/* --- sluicectl policy ----------------------------------------------------- */

static void test_endpoint_json(void **state)
{
	struct fx *f = conformance();
	json_object *o, *in, *ents, *e;
	const char *s;

	(void)state;
	load(f, NETPOL("x", "web", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "},"
		       "{'ipBlock':{'cidr':'192.168.0.0/16'}}],'ports':[{'port':80,'endPort':83}]}]"));
	compile(f);
	assert_null(sl_policy_endpoint_json(&f->out, &f->m, "nope/none"));
	o = sl_policy_endpoint_json(&f->out, &f->m, "10.0.1.1");
	assert_non_null(o);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_true(json_object_object_get_ex(o, "ingress", &in));
	assert_true(json_object_get_boolean(json_object_object_get(in, "isolated")));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
				    json_object_object_get(in, "policies"), 0)),
			    "x/web");
	ents = json_object_object_get(in, "entries");
	/* host, the CIDR identity's 80-83, x/b's 80-83 */
	assert_int_equal(json_object_array_length(ents), 3);
	e = json_object_array_get_idx(ents, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "remote")), "host");
	assert_string_equal(json_object_get_string(json_object_object_get(e, "policy")), "(node)");
	e = json_object_array_get_idx(ents, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(e, "protocol")), "TCP");
	assert_string_equal(json_object_get_string(json_object_object_get(e, "ports")), "80-83");
	assert_string_equal(json_object_get_string(json_object_object_get(e, "policy")), "x/web");
	assert_non_null(strstr(s, "\"remote\":\"cidr:"));
	assert_non_null(strstr(s, "\"cidr\":\"192.168.0.0\\/16\""));
	/* Identities described from the model. */
	assert_non_null(strstr(s, "x [pod=b]"));
	assert_false(json_object_get_boolean(json_object_object_get(
		json_object_object_get(o, "egress"), "isolated")));
	json_object_put(o);
	/* By name too. */
	o = sl_policy_endpoint_json(&f->out, NULL, "x/a");
	assert_non_null(o);
	json_object_put(o);
	fx_free(f);
}

static void test_trace_reasons(void **state)
{
	struct fx *f = conformance();
	struct sl_policy_verdict v;
	char want[128];

	(void)state;
	load(f, NETPOL("x", "deny", "'podSelector':{}"));
	load(f, NETPOL("x", "b-80", SEL_POD("a") ","
		       "'ingress':[{'from':[{" SEL_POD("b") "}],"
		       "'ports':[{'port':80}]}]"));
	compile(f);
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/b", "x/a", TCP,
					 81, &v), 0);
	assert_false(v.allowed);
	assert_true(v.complete);
	assert_true(v.egress.allowed);
	assert_false(v.ingress.allowed);
	assert_non_null(strstr(v.reason, "denied"));
	assert_non_null(strstr(v.reason, "egress of x/b not isolated"));
	assert_non_null(strstr(v.reason, "x/b-80, x/deny"));
	snprintf(want, sizeof(want), "nothing allows identity %u TCP/81",
		 id_of(f, "x/b"));
	if (!strstr(v.reason, want))
		fail_msg("%s: no \"%s\"", v.reason, want);
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/b", "x/a", TCP,
					 80, &v), 0);
	assert_true(v.allowed);
	assert_non_null(strstr(v.reason, "allowed by x/b-80"));
	assert_int_equal(v.ingress.match.entry->val.policy_id,
			 policy_id(f, "x/b-80"));
	/* A pod reaching itself never leaves it. */
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/a", "x/a", TCP,
					 81, &v), 0);
	assert_true(v.allowed);
	assert_int_equal(sl_policy_trace(&f->m, &f->out, "n1", "x/a", "q/none",
					 TCP, 80, &v), -ENOENT);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_ranges),
		cmocka_unit_test(test_entry_shapes),
		cmocka_unit_test(test_reduce),
		cmocka_unit_test(test_cidr_identities),
		cmocka_unit_test(test_cidr_ingress_named),
		cmocka_unit_test(test_policy_ids),
		cmocka_unit_test(test_truth_tables),
		cmocka_unit_test(test_default_deny_ingress),
		cmocka_unit_test(test_independent_directions),
		cmocka_unit_test(test_additive),
		cmocka_unit_test(test_both_ends),
		cmocka_unit_test(test_reverse_denied),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_record_addresses),
		cmocka_unit_test(test_not_selected),
		cmocka_unit_test(test_relabel),
		cmocka_unit_test(test_namespace_expressions),
		cmocka_unit_test(test_namespace_name_label),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_remote_pods),
		cmocka_unit_test(test_ingress_ports),
		cmocka_unit_test(test_named_ports_egress),
		cmocka_unit_test(test_endpoint_json),
		cmocka_unit_test(test_trace_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetworkPolicy decoding (agent/k8s_policy.c) and Pod named ports
 * (agent/k8s.c): policyTypes defaulting, "ingress: []" against
 * "ingress: [{}]", peers, selectors, ipBlocks, ports, digests, and one
 * rejection per check with the reason naming the field. Run under
 * ASan/LSan, so an error path that loses memory fails here too.
 */
#include "unit.h"
#include "k8s.h"
#include "k8s_decode.h"

#include <netinet/in.h>

#define NP_HEAD "'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy'"
#define NP_META "'metadata':{'namespace':'shop','name':'np'}"
#define NP(spec) "{" NP_HEAD "," NP_META ",'spec':{" spec "}}"

#define POD_HEAD "'apiVersion':'v1','kind':'Pod'"
#define POD_META "'metadata':{'namespace':'shop','name':'web','uid':'u1'}"
#define POD(spec) "{" POD_HEAD "," POD_META ",'spec':{" spec "}}"

/* --- policyTypes, rules ---------------------------------------------------- */

static void test_defaults(void **state)
{
	struct sl_object obj;

	(void)state;
	assert_int_equal(sl_kind_of("networking.k8s.io/v1", "NetworkPolicy"),
			 SL_KIND_NETPOL);
	assert_string_equal(sl_kind_name(SL_KIND_NETPOL), "NetworkPolicy");
	assert_int_equal(sl_kind_of("networking.k8s.io/v1beta1", "NetworkPolicy"),
			 SL_KIND_OTHER);

	/* podSelector {} and nothing else: default-deny ingress. */
	must_decode(NP("'podSelector':{}"), &obj);
	assert_string_equal(obj.key, "shop/np");
	assert_string_equal(obj.netpol.ns, "shop");
	assert_string_equal(obj.netpol.name, "np");
	assert_int_equal(obj.netpol.pod_sel.match.n, 0);
	assert_int_equal(obj.netpol.pod_sel.n_exprs, 0);
	assert_true(obj.netpol.ingress);
	assert_false(obj.netpol.egress);
	assert_int_equal(obj.netpol.n_ingress, 0);
	assert_int_equal(obj.netpol.n_egress, 0);
	assert_int_not_equal(obj.netpol.digest, 0);
	sl_object_free(&obj);

	/* No spec, or nulls everywhere (Go's nil): the same. */
	must_decode("{" NP_HEAD "," NP_META "}", &obj);
	assert_true(obj.netpol.ingress);
	assert_false(obj.netpol.egress);
	sl_object_free(&obj);
	must_decode(NP("'podSelector':null,'policyTypes':null,'ingress':null,"
		       "'egress':null"), &obj);
	assert_true(obj.netpol.ingress);
	assert_false(obj.netpol.egress);
	sl_object_free(&obj);
	assert_int_equal(digest_of(NP("'podSelector':{}")),
			 digest_of("{" NP_HEAD "," NP_META "}"));
}

static void test_policy_types(void **state)
{
	static const struct {
		const char *spec;
		bool ingress, egress;
		size_t n_ingress, n_egress;
	} cases[] = {
		/* Unset: Ingress, plus Egress when egress has a rule. */
		{ "'egress':[{}]", true, true, 0, 1 },
		{ "'egress':[]", true, false, 0, 0 },
		{ "'ingress':[{}],'egress':[{},{}]", true, true, 1, 2 },
		{ "'policyTypes':[],'egress':[{}]", true, true, 0, 1 },
		/* Set: exactly what it says; rules of another type dropped. */
		{ "'policyTypes':['Egress']", false, true, 0, 0 },
		{ "'policyTypes':['Egress'],'ingress':[{}]", false, true, 0, 0 },
		{ "'policyTypes':['Ingress'],'egress':[{}]", true, false, 0, 0 },
		{ "'policyTypes':['Ingress','Egress']", true, true, 0, 0 },
		{ "'policyTypes':['Egress','Ingress'],'ingress':[{}]", true,
		  true, 1, 0 },
	};
	struct sl_object obj;
	char q[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(q, sizeof(q), NP("'podSelector':{},%s"), cases[i].spec);
		must_decode(q, &obj);
		if (obj.netpol.ingress != cases[i].ingress ||
		    obj.netpol.egress != cases[i].egress ||
		    obj.netpol.n_ingress != cases[i].n_ingress ||
		    obj.netpol.n_egress != cases[i].n_egress)
			fail_msg("case %zu (%s): in %d eg %d, %zu/%zu rules", i,
				 cases[i].spec, obj.netpol.ingress,
				 obj.netpol.egress, obj.netpol.n_ingress,
				 obj.netpol.n_egress);
		sl_object_free(&obj);
	}
	/* Ignored rules are out of the digest. */
	assert_int_equal(digest_of(NP("'policyTypes':['Egress'],'ingress':[{}]")),
			 digest_of(NP("'policyTypes':['Egress']")));
}

static void test_empty_rules(void **state)
{
	struct sl_object a, b;

	(void)state;
	/* "ingress: []" is deny-all, "ingress: [{}]" allow-all. */
	must_decode(NP("'podSelector':{},'ingress':[]"), &a);
	must_decode(NP("'podSelector':{},'ingress':[{}]"), &b);
	assert_int_equal(a.netpol.n_ingress, 0);
	assert_int_equal(b.netpol.n_ingress, 1);
	assert_int_equal(b.netpol.ingress_rules[0].n_peers, 0);
	assert_int_equal(b.netpol.ingress_rules[0].n_ports, 0);
	assert_int_not_equal(a.netpol.digest, b.netpol.digest);
	sl_object_free(&a);
	sl_object_free(&b);

	/* from/ports absent, null or [] all mean "every". */
	assert_int_equal(digest_of(NP("'ingress':[{}]")),
			 digest_of(NP("'ingress':[{'from':[],'ports':[]}]")));
	assert_int_equal(digest_of(NP("'ingress':[{}]")),
			 digest_of(NP("'ingress':[{'from':null,'ports':null}]")));
	assert_int_equal(digest_of(NP("'egress':[{}]")),
			 digest_of(NP("'egress':[{'to':[]}]")));
}

/* --- peers ---------------------------------------------------------------- */

static void test_peers(void **state)
{
	const struct sl_netpol_peer *p;
	struct sl_object obj;

	(void)state;
	must_decode(NP("'ingress':[{'from':["
		       "{'podSelector':{'matchLabels':{'role':'client','app':'x'}}},"
		       "{'namespaceSelector':{}},"
		       "{'namespaceSelector':{'matchLabels':{'team':'a'}},"
		       " 'podSelector':{}},"
		       "{'ipBlock':{'cidr':'10.1.2.3/16','except':["
		       "  '10.1.9.0/24','10.1.0.0/24','10.1.9.0/24','10.1.5.7/32']}},"
		       "{'ipBlock':{'cidr':'fd00::/64','except':['fd00::/80']}},"
		       "{'ipBlock':{'cidr':'0.0.0.0/0'}}]}]"),
		    &obj);
	assert_int_equal(obj.netpol.n_ingress, 1);
	assert_int_equal(obj.netpol.ingress_rules[0].n_peers, 6);
	p = obj.netpol.ingress_rules[0].peers;

	assert_int_equal(p[0].kind, SL_PEER_SELECTOR);
	assert_true(p[0].has_pod_sel);
	assert_false(p[0].has_ns_sel);
	assert_int_equal(p[0].pod_sel.match.n, 2);
	/* Sorted by key. */
	assert_string_equal(p[0].pod_sel.match.items[0].key, "app");
	assert_string_equal(p[0].pod_sel.match.items[1].key, "role");

	assert_false(p[1].has_pod_sel);
	assert_true(p[1].has_ns_sel);
	assert_int_equal(p[1].ns_sel.match.n, 0);

	/* Both in one peer: AND. */
	assert_true(p[2].has_pod_sel);
	assert_true(p[2].has_ns_sel);
	assert_string_equal(p[2].ns_sel.match.items[0].value, "a");

	/* Host bits cleared, excepts sorted and unique. */
	assert_int_equal(p[3].kind, SL_PEER_IPBLOCK);
	assert_int_equal(p[3].cidr.addr, 0x0a010000);
	assert_int_equal(p[3].cidr.prefix, 16);
	assert_int_equal(p[3].n_except, 3);
	assert_int_equal(p[3].except[0].addr, 0x0a010000);
	assert_int_equal(p[3].except[0].prefix, 24);
	assert_int_equal(p[3].except[1].addr, 0x0a010507);
	assert_int_equal(p[3].except[1].prefix, 32);
	assert_int_equal(p[3].except[2].addr, 0x0a010900);

	/* IPv6: kept as a peer that matches nothing here. */
	assert_int_equal(p[4].kind, SL_PEER_IPBLOCK6);
	assert_int_equal(p[4].n_except, 0);

	assert_int_equal(p[5].kind, SL_PEER_IPBLOCK);
	assert_int_equal(p[5].cidr.prefix, 0);
	sl_object_free(&obj);

	/* An IPv6-only rule still has a peer (it must not become "all"). */
	must_decode(NP("'egress':[{'to':[{'ipBlock':{'cidr':'::/0'}}]}]"), &obj);
	assert_true(obj.netpol.egress);
	assert_int_equal(obj.netpol.egress_rules[0].n_peers, 1);
	assert_int_equal(obj.netpol.egress_rules[0].peers[0].kind,
			 SL_PEER_IPBLOCK6);
	sl_object_free(&obj);
}

static void test_selectors(void **state)
{
	const struct sl_selector *s;
	struct sl_object obj;

	(void)state;
	must_decode(NP("'podSelector':{'matchLabels':{'app':'web'},"
		       "'matchExpressions':["
		       "{'key':'tier','operator':'In','values':['b','a','b']},"
		       "{'key':'env','operator':'NotIn','values':['prod']},"
		       "{'key':'canary','operator':'Exists'},"
		       "{'key':'legacy','operator':'DoesNotExist','values':[]}]}"),
		    &obj);
	s = &obj.netpol.pod_sel;
	assert_int_equal(s->match.n, 1);
	assert_int_equal(s->n_exprs, 4);
	assert_string_equal(s->exprs[0].key, "tier");
	assert_int_equal(s->exprs[0].op, SL_SEL_IN);
	/* Values are a set: sorted, repeats gone. */
	assert_int_equal(s->exprs[0].n_values, 2);
	assert_string_equal(s->exprs[0].values[0], "a");
	assert_string_equal(s->exprs[0].values[1], "b");
	assert_int_equal(s->exprs[1].op, SL_SEL_NOT_IN);
	assert_int_equal(s->exprs[2].op, SL_SEL_EXISTS);
	assert_int_equal(s->exprs[2].n_values, 0);
	assert_int_equal(s->exprs[3].op, SL_SEL_DOES_NOT_EXIST);
	sl_object_free(&obj);

	assert_int_equal(
		digest_of(NP("'podSelector':{'matchExpressions':[{'key':'k',"
			     "'operator':'In','values':['x','y']}]}")),
		digest_of(NP("'podSelector':{'matchExpressions':[{'key':'k',"
			     "'operator':'In','values':['y','x','y']}]}")));
}

/* --- ports ---------------------------------------------------------------- */

static void test_ports(void **state)
{
	const struct sl_netpol_port *p;
	struct sl_object obj;

	(void)state;
	must_decode(NP("'ingress':[{'ports':["
		       "{'port':80},"
		       "{'protocol':'UDP','port':53},"
		       "{'protocol':'SCTP'},"
		       "{'port':'http'},"
		       "{'protocol':'UDP','port':'dns-udp'},"
		       "{'port':1000,'endPort':2000},"
		       "{'port':443,'endPort':443},"
		       "{'protocol':null,'port':8080,'endPort':null}]}]"),
		    &obj);
	assert_int_equal(obj.netpol.ingress_rules[0].n_ports, 8);
	p = obj.netpol.ingress_rules[0].ports;
	/* Protocol defaults to TCP; no endPort is port..port. */
	assert_int_equal(p[0].protocol, IPPROTO_TCP);
	assert_int_equal(p[0].port, 80);
	assert_int_equal(p[0].end_port, 80);
	assert_string_equal(p[0].name, "");
	assert_int_equal(p[1].protocol, IPPROTO_UDP);
	assert_int_equal(p[1].port, 53);
	/* No port: every port of the protocol. */
	assert_int_equal(p[2].protocol, IPPROTO_SCTP);
	assert_int_equal(p[2].port, 0);
	assert_string_equal(p[3].name, "http");
	assert_int_equal(p[3].protocol, IPPROTO_TCP);
	assert_int_equal(p[3].port, 0);
	assert_string_equal(p[4].name, "dns-udp");
	assert_int_equal(p[4].protocol, IPPROTO_UDP);
	assert_int_equal(p[5].port, 1000);
	assert_int_equal(p[5].end_port, 2000);
	assert_int_equal(p[6].end_port, 443);
	assert_int_equal(p[7].protocol, IPPROTO_TCP);
	assert_int_equal(p[7].end_port, 8080);
	sl_object_free(&obj);

	assert_int_equal(digest_of(NP("'ingress':[{'ports':[{'port':80}]}]")),
			 digest_of(NP("'ingress':[{'ports':[{'port':80,"
				      "'protocol':'TCP','endPort':80}]}]")));
}

/* --- digest --------------------------------------------------------------- */

static void test_digest(void **state)
{
	static const char *const changed[] = {
		"{" NP_HEAD ",'metadata':{'namespace':'shop','name':'np2'},"
		"'spec':{'ingress':[{'from':[{'podSelector':{}}]}]}}",
		"{" NP_HEAD ",'metadata':{'namespace':'shop2','name':'np'},"
		"'spec':{'ingress':[{'from':[{'podSelector':{}}]}]}}",
		NP("'podSelector':{'matchLabels':{'a':'b'}},'ingress':[{'from':[{'podSelector':{}}]}]"),
		NP("'ingress':[{'from':[{'namespaceSelector':{}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{},'namespaceSelector':{}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}},{'namespaceSelector':{}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{'matchLabels':{'a':'b'}}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{'matchExpressions':[{'key':'a','operator':'Exists'}]}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{'matchExpressions':[{'key':'a','operator':'DoesNotExist'}]}}]}]"),
		NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8'}}]}]"),
		NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/9'}}]}]"),
		NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['10.1.0.0/16']}}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}],'ports':[{'port':80}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}],'ports':[{'port':81}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}],'ports':[{'port':80,'protocol':'UDP'}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}],'ports':[{'port':80,'endPort':81}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}],'ports':[{'port':'http'}]}]"),
		NP("'ingress':[{'from':[{'podSelector':{}}]},{}]"),
		NP("'ingress':[]"),
		NP("'ingress':[{}]"),
		NP("'policyTypes':['Ingress','Egress'],'ingress':[{'from':[{'podSelector':{}}]}]"),
		NP("'egress':[{'to':[{'podSelector':{}}]}]"),
	};
	const char *base = NP("'ingress':[{'from':[{'podSelector':{}}]}]");

	(void)state;
	/* Key order, resourceVersion and fields we do not keep: no change. */
	assert_int_equal(digest_of("{'spec':{'ingress':[{'from':[{'podSelector':{}}]}]},"
				   "'metadata':{'resourceVersion':'9','name':'np',"
				   "'namespace':'shop','labels':{'x':'y'}},"
				   "'kind':'NetworkPolicy','apiVersion':'networking.k8s.io/v1'}"),
			 digest_of(base));
	assert_digests_differ(base, changed, ARRAY_LEN(changed));
}

/* --- rejections ----------------------------------------------------------- */

static void test_rejects(void **state)
{
	static const struct reject_case bad[] = {
		{ "{" NP_HEAD ",'metadata':{'name':'np'}}", "metadata.namespace" },
		{ "{" NP_HEAD ",'metadata':{'namespace':'a'}}", "metadata.name" },
		{ "{" NP_HEAD "," NP_META ",'spec':[]}", "spec" },
		{ NP("'podSelector':'all'"), "spec.podSelector" },
		{ NP("'podSelector':{'matchLabels':{'a':1}}"),
		  "spec.podSelector.matchLabels" },
		{ NP("'podSelector':{'matchExpressions':{}}"),
		  "spec.podSelector.matchExpressions" },
		{ NP("'podSelector':{'matchExpressions':[7]}"),
		  "spec.podSelector.matchExpressions[0]" },
		{ NP("'podSelector':{'matchExpressions':[{'operator':'Exists'}]}"),
		  "spec.podSelector.matchExpressions[0].key" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a'}]}"),
		  "spec.podSelector.matchExpressions[0].operator" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'Gt','values':['1']}]}"),
		  "spec.podSelector.matchExpressions[0].operator" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'In'}]}"),
		  "spec.podSelector.matchExpressions[0].values" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'NotIn','values':[]}]}"),
		  "spec.podSelector.matchExpressions[0].values" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'Exists','values':['x']}]}"),
		  "spec.podSelector.matchExpressions[0].values" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'DoesNotExist','values':['x']}]}"),
		  "spec.podSelector.matchExpressions[0].values" },
		{ NP("'podSelector':{'matchExpressions':[{'key':'a','operator':'In','values':['x',1]}]}"),
		  "spec.podSelector.matchExpressions[0].values[1]" },
		{ NP("'policyTypes':'Ingress'"), "spec.policyTypes" },
		{ NP("'policyTypes':['ingress']"), "spec.policyTypes[0]" },
		{ NP("'policyTypes':['Ingress',3]"), "spec.policyTypes[1]" },
		{ NP("'policyTypes':['Ingress','Egress','Ingress']"), "spec.policyTypes" },
		{ NP("'ingress':{}"), "spec.ingress" },
		{ NP("'ingress':[{},'x']"), "spec.ingress[1]" },
		{ NP("'ingress':[{'from':{}}]"), "spec.ingress[0].from" },
		{ NP("'ingress':[{'from':[{}]}]"), "spec.ingress[0].from[0]" },
		{ NP("'ingress':[{'from':[{'podSelector':null}]}]"), "spec.ingress[0].from[0]" },
		{ NP("'ingress':[{'from':[{'podSelector':[]}]}]"),
		  "spec.ingress[0].from[0].podSelector" },
		{ NP("'ingress':[{'from':[{'podSelector':{},'ipBlock':{'cidr':'10.0.0.0/8'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock" },
		{ NP("'ingress':[{'from':[{'namespaceSelector':{},'ipBlock':{'cidr':'10.0.0.0/8'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock" },
		{ NP("'ingress':[{'from':[{'ipBlock':{}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.cidr" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.cidr" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/33'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.cidr" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'fd00::/129'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.cidr" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':'10.1.0.0/16'}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':[1]}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['11.0.0.0/16']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['10.1.0.0/16','10.0.0.0/8']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[1]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['10.0.0.0/7']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['fd00::/64']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'fd00::/64','except':['10.0.0.0/8']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':['x']}}]}]"),
		  "spec.ingress[0].from[0].ipBlock.except[0]" },
		{ NP("'ingress':[{'ports':{}}]"), "spec.ingress[0].ports" },
		{ NP("'ingress':[{'ports':[80]}]"), "spec.ingress[0].ports[0]" },
		{ NP("'ingress':[{'ports':[{'port':80,'protocol':'tcp'}]}]"),
		  "spec.ingress[0].ports[0].protocol" },
		{ NP("'ingress':[{'ports':[{'port':80,'protocol':''}]}]"),
		  "spec.ingress[0].ports[0].protocol" },
		{ NP("'ingress':[{'ports':[{'port':80,'protocol':6}]}]"),
		  "spec.ingress[0].ports[0].protocol" },
		{ NP("'ingress':[{'ports':[{'port':0}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':65536}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':80.5}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':'80'}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':'Http'}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':'a-very-long-name'}]}]"),
		  "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':'-http'}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':'ht--tp'}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':''}]}]"), "spec.ingress[0].ports[0].port" },
		{ NP("'ingress':[{'ports':[{'port':80,'endPort':79}]}]"),
		  "spec.ingress[0].ports[0].endPort" },
		{ NP("'ingress':[{'ports':[{'port':80,'endPort':65536}]}]"),
		  "spec.ingress[0].ports[0].endPort" },
		{ NP("'ingress':[{'ports':[{'port':80,'endPort':'90'}]}]"),
		  "spec.ingress[0].ports[0].endPort" },
		{ NP("'ingress':[{'ports':[{'port':'http','endPort':90}]}]"),
		  "spec.ingress[0].ports[0].endPort" },
		{ NP("'ingress':[{'ports':[{'endPort':90}]}]"),
		  "spec.ingress[0].ports[0].endPort" },
		{ NP("'egress':[{},{'to':[{'namespaceSelector':'x'}]}]"),
		  "spec.egress[1].to[0].namespaceSelector" },
		{ NP("'egress':[{'to':[{'namespaceSelector':{'matchExpressions':[{'key':'a','operator':'In'}]}}]}]"),
		  "spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values" },
		{ NP("'egress':[{'ports':[{'port':1,'endPort':0}]}]"),
		  "spec.egress[0].ports[0].endPort" },
		/* Ignored rules are still checked. */
		{ NP("'policyTypes':['Egress'],'ingress':[{'ports':[{'port':-1}]}]"),
		  "spec.ingress[0].ports[0].port" },
	};

	(void)state;
	assert_rejects(bad, ARRAY_LEN(bad));
}

static void test_limits(void **state)
{
	static const struct {
		const char *head, *item, *tail;
		size_t max;
	} cases[] = {
		{ "'ingress':[", "{}", "]", 1000 },
		{ "'ingress':[{'ports':[", "{'port':%zu}", "]}]", 1000 },
		{ "'egress':[{'to':[", "{'ipBlock':{'cidr':'10.%zu.0.0/16'}}", "]}]", 10000 },
		{ "'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.0/8','except':[",
		  "'10.%zu.0.0/16'", "]}}]}]", 1000 },
		{ "'podSelector':{'matchExpressions':[",
		  "{'key':'k%zu','operator':'Exists'}", "]}", 100 },
	};
	struct sl_object obj;
	char head[256], tail[32];

	(void)state;
	/* Items get 1..250: octets stay valid, ports stay 1..65535. */
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		snprintf(head, sizeof(head), "{" NP_HEAD "," NP_META ",'spec':{%s",
			 cases[c].head);
		snprintf(tail, sizeof(tail), "%s}}", cases[c].tail);
		assert_list_limit(head, cases[c].item, tail, cases[c].max,
				  "more than", &obj);
		sl_object_free(&obj);
	}
}

static void test_free_zeroed(void **state)
{
	struct sl_netpol np;
	struct sl_object obj;

	(void)state;
	memset(&np, 0, sizeof(np));
	sl_netpol_free(&np);
	sl_netpol_free(&np);
	memset(&obj, 0, sizeof(obj));
	obj.kind = SL_KIND_NETPOL;
	sl_object_free(&obj);
}

/* --- Pod named ports ------------------------------------------------------ */

static void test_pod_ports(void **state)
{
	struct sl_object obj, other;
	const struct sl_pod *p;

	(void)state;
	must_decode(POD("'containers':["
			"{'name':'a','ports':[{'containerPort':8080,'name':'http'},"
			" {'containerPort':9090},"
			" {'containerPort':53,'name':'dns','protocol':'UDP'}]},"
			"{'name':'b','ports':[{'containerPort':53,'name':'dns'},"
			" {'containerPort':8080,'name':'http'}]},"
			"{'name':'c'}],"
			"'initContainers':[{'name':'i','ports':[{'containerPort':1,"
			"'name':'init-port'}]}]"),
		    &obj);
	p = &obj.pod;
	/* Named only, sorted by (name, protocol, port), exact repeats gone,
	 * init containers not read. */
	assert_int_equal(p->n_ports, 3);
	assert_string_equal(p->ports[0].name, "dns");
	assert_int_equal(p->ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(p->ports[0].port, 53);
	assert_string_equal(p->ports[1].name, "dns");
	assert_int_equal(p->ports[1].protocol, IPPROTO_UDP);
	assert_string_equal(p->ports[2].name, "http");
	assert_int_equal(p->ports[2].port, 8080);

	/* Same ports in another order: equal. */
	must_decode(POD("'containers':[{'name':'x','ports':["
			"{'containerPort':8080,'name':'http','protocol':'TCP'},"
			"{'containerPort':53,'name':'dns','protocol':'UDP'},"
			"{'containerPort':53,'name':'dns'}]}]"),
		    &other);
	assert_true(sl_pod_ports_equal(&obj.pod, &other.pod));
	sl_object_free(&other);
	must_decode(POD("'containers':[{'name':'x','ports':["
			"{'containerPort':8081,'name':'http'},"
			"{'containerPort':53,'name':'dns','protocol':'UDP'},"
			"{'containerPort':53,'name':'dns'}]}]"),
		    &other);
	assert_false(sl_pod_ports_equal(&obj.pod, &other.pod));
	sl_object_free(&other);
	sl_object_free(&obj);

	must_decode(POD("'containers':null"), &obj);
	assert_int_equal(obj.pod.n_ports, 0);
	sl_object_free(&obj);
	must_decode("{" POD_HEAD "," POD_META "}", &obj);
	assert_int_equal(obj.pod.n_ports, 0);
	sl_object_free(&obj);
}

static void test_pod_port_rejects(void **state)
{
	static const struct reject_case bad[] = {
		{ "{" POD_HEAD "," POD_META ",'spec':7}", "spec" },
		{ POD("'containers':{}"), "spec.containers" },
		{ POD("'containers':[1]"), "spec.containers[0]" },
		{ POD("'containers':[{'ports':{}}]"), "spec.containers[0].ports" },
		{ POD("'containers':[{},{'ports':[1]}]"), "spec.containers[1].ports[0]" },
		{ POD("'containers':[{'ports':[{'name':'x'}]}]"),
		  "spec.containers[0].ports[0].containerPort" },
		{ POD("'containers':[{'ports':[{'containerPort':0}]}]"),
		  "spec.containers[0].ports[0].containerPort" },
		{ POD("'containers':[{'ports':[{'containerPort':'80'}]}]"),
		  "spec.containers[0].ports[0].containerPort" },
		{ POD("'containers':[{'ports':[{'containerPort':80,'protocol':'ICMP'}]}]"),
		  "spec.containers[0].ports[0].protocol" },
		{ POD("'containers':[{'ports':[{'containerPort':80,'name':5}]}]"),
		  "spec.containers[0].ports[0].name" },
		{ POD("'containers':[{'ports':[{'containerPort':80,'name':'HTTP'}]}]"),
		  "spec.containers[0].ports[0].name" },
		{ POD("'containers':[{'ports':[{'containerPort':80,'name':'1234'}]}]"),
		  "spec.containers[0].ports[0].name" },
	};

	(void)state;
	assert_rejects(bad, ARRAY_LEN(bad));
}

static void test_port_names(void **state)
{
	static const char *const good[] = { "http", "h", "dns-tcp", "a1",
					    "1a", "abcdefghijklmno", "x-1-y" };
	static const char *const bad[] = { "", "80", "HTTP", "-a", "a-",
					   "a--b", "abcdefghijklmnop", "a_b",
					   "a.b" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!sl_k8s_port_name_valid(good[i]))
			fail_msg("%s refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_k8s_port_name_valid(bad[i]))
			fail_msg("%s accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_policy_types),
		cmocka_unit_test(test_empty_rules),
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_selectors),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_free_zeroed),
		cmocka_unit_test(test_pod_ports),
		cmocka_unit_test(test_pod_port_rejects),
		cmocka_unit_test(test_port_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

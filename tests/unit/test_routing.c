// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cross-node routing and NAT, the parts that need no kernel: which
 * routes and tunnel entries the Nodes ask for (agent/routing.h), the
 * pods' MTU per mode, and the nftables table the node applies
 * (agent/nat.h). The kernel side runs in tests/e2e/test_multinode.sh.
 */
#include "unit.h"
#include "nat.h"
#include "routing.h"

#include <errno.h>

#include <sluice/tunnel.h>

#define NODE(name, cidr, ip)                                                   \
	"{'apiVersion':'v1','kind':'Node','metadata':{'name':'" name "'},"     \
	"'spec':{'podCIDR':'" cidr "'},'status':{'addresses':"                 \
	"[{'type':'InternalIP','address':'" ip "'}]}}"

static void test_want_other_nodes_sorted(void **state)
{
	struct sl_route_want *w;
	struct sl_model m;
	long n;

	(void)state;
	sl_model_init(&m);
	model_load(&m, NODE("n3", "10.244.3.0/24", "192.168.77.3"));
	model_load(&m, NODE("n1", "10.244.1.0/24", "192.168.77.1"));
	model_load(&m, NODE("n2", "10.244.2.0/24", "192.168.77.2"));
	/* Without an address nothing can be routed to it. */
	model_load(&m, "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n4'},"
		       "'spec':{'podCIDR':'10.244.4.0/24'}}");
	/* Without a CIDR it has no pods of ours to reach. */
	model_load(&m, "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n5'},"
		       "'status':{'addresses':[{'type':'InternalIP','address':'192.168.77.5'}]}}");

	n = sl_routing_want(&m, "n1", &w);
	assert_int_equal(n, 2);
	assert_int_equal(w[0].cidr, ip4("10.244.2.0"));
	assert_int_equal(w[0].prefix, 24);
	assert_int_equal(w[0].node_ip, ip4("192.168.77.2"));
	assert_int_equal(w[1].cidr, ip4("10.244.3.0"));
	assert_int_equal(w[1].node_ip, ip4("192.168.77.3"));
	free(w);

	/* A node not in the model yet routes to every node that is. */
	assert_int_equal(sl_routing_want(&m, "n9", &w), 2 + 1);
	free(w);
	sl_model_free(&m);
	sl_model_init(&m);
	model_load(&m, NODE("n1", "10.244.1.0/24", "192.168.77.1"));
	assert_int_equal(sl_routing_want(&m, "n1", &w), 0);
	assert_null(w);
	sl_model_free(&m);
}

static void test_pod_mtu_by_mode(void **state)
{
	struct sl_routing r = { .mode = SL_ROUTING_NATIVE };
	enum sl_routing_mode mode;

	(void)state;
	assert_int_equal(sl_routing_pod_mtu(&r), 0); /* underlay unknown */
	r.mtu = 9000;
	assert_int_equal(sl_routing_pod_mtu(&r), 9000);
	r.mode = SL_ROUTING_VXLAN;
	assert_int_equal(sl_routing_pod_mtu(&r), 9000 - SL_VXLAN_OVERHEAD);
	r.mtu = 1500;
	assert_int_equal(sl_routing_pod_mtu(&r), 1450);

	assert_int_equal(sl_routing_mode_parse("vxlan", &mode), 0);
	assert_int_equal(mode, SL_ROUTING_VXLAN);
	assert_int_equal(sl_routing_mode_parse("native", &mode), 0);
	assert_int_equal(mode, SL_ROUTING_NATIVE);
	assert_int_equal(sl_routing_mode_parse("geneve", &mode), -EINVAL);
	assert_int_equal(sl_routing_mode_parse("", &mode), -EINVAL);
}

static void test_nat_ruleset(void **state)
{
	struct sl_nat n = { 0 };
	struct sl_model m;
	char *rules;
	int err;

	(void)state;
	sl_model_init(&m);
	/* Until the node has an address there is nothing to SNAT to. */
	model_load(&m, "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n1'},"
		       "'spec':{'podCIDR':'10.244.1.0/24'}}");
	assert_null(sl_nat_ruleset(&n, &m, "n1", &err));
	assert_int_equal(err, 0);

	model_load(&m, NODE("n1", "10.244.1.0/24", "192.168.77.1"));
	model_load(&m, NODE("n2", "10.244.2.0/24", "192.168.77.2"));
	rules = sl_nat_ruleset(&n, &m, "n1", &err);
	assert_non_null(rules);
	/* Replaced whole in one transaction, whatever was there. */
	assert_non_null(strstr(rules, "table ip sluice_nat\ndelete table ip sluice_nat\n"));
	/* The cluster: every pod CIDR and node address. */
	assert_non_null(strstr(rules, "10.244.1.0/24"));
	assert_non_null(strstr(rules, "10.244.2.0/24"));
	assert_non_null(strstr(rules, "192.168.77.2"));
	/* The mark the datapath sets, SNAT to this node, ports above the
	 * NodePort range. */
	assert_non_null(strstr(rules, "meta mark & 0x0000ff00 == 0x00005c00 meta l4proto { tcp, udp } snat ip to 192.168.77.1:32768-60999"));
	/* This node's pods leaving the cluster. */
	assert_non_null(strstr(rules, "ip saddr 10.244.1.0/24 ip daddr != @cluster meta l4proto { tcp, udp } masquerade"));
	assert_null(strstr(rules, "ip saddr 10.244.2.0/24"));
	/* Pod to pod skips conntrack; no tunnel in native mode. */
	assert_non_null(strstr(rules, "ip saddr @pods ip daddr @pods notrack"));
	assert_null(strstr(rules, "udp dport"));
	free(rules);

	/* VXLAN: the tunnel's datagrams skip conntrack both ways. */
	n.tunnel_port = 8472;
	rules = sl_nat_ruleset(&n, &m, "n1", &err);
	assert_non_null(rules);
	assert_non_null(strstr(rules, "hook prerouting priority raw; policy accept;\n\t\tudp dport 8472 notrack"));
	assert_non_null(strstr(rules, "hook output priority raw; policy accept;\n\t\tudp dport 8472 notrack"));
	free(rules);
	n.tunnel_port = 0;

	/* --masquerade off keeps the SNAT, drops the masquerade;
	 * --cluster-cidr joins the cluster. */
	n.masquerade_off = true;
	n.cluster_cidr = ip4("10.0.0.0");
	n.cluster_prefix = 8;
	rules = sl_nat_ruleset(&n, &m, "n1", &err);
	assert_non_null(rules);
	assert_null(strstr(rules, "masquerade"));
	assert_non_null(strstr(rules, "snat ip to 192.168.77.1"));
	assert_non_null(strstr(rules, ", 10.0.0.0/8 }"));
	free(rules);
	sl_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_want_other_nodes_sorted),
		cmocka_unit_test(test_pod_mtu_by_mode),
		cmocka_unit_test(test_nat_ruleset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

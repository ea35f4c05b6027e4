// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service and EndpointSlice decoding (agent/k8s_service.c): defaults, the
 * API's nil semantics, what an IPv4-only agent skips, digests, and one
 * rejection per check with the reason naming the field. Run under
 * ASan/LSan, so an error path that loses memory fails here too.
 */
#include "unit.h"
#include "k8s.h"
#include "k8s_decode.h"

#include <netinet/in.h>

#define SVC_HEAD "'apiVersion':'v1','kind':'Service'"
#define SVC_META "'metadata':{'namespace':'shop','name':'web'}"
/* A Service with the given spec (and anything after it). */
#define SVC(spec) "{" SVC_HEAD "," SVC_META ",'spec':{" spec "}}"

#define SLICE_HEAD "'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice'"
#define SLICE_META                                                             \
	"'metadata':{'namespace':'shop','name':'web-abc',"                      \
	"'labels':{'kubernetes.io/service-name':'web'}}"
#define SLICE(rest) "{" SLICE_HEAD "," SLICE_META "," rest "}"

/* --- Service -------------------------------------------------------------- */

static void test_service_defaults(void **state)
{
	struct sl_object obj;

	(void)state;
	must_decode(SVC("'clusterIP':'10.96.0.10','ports':[{'port':53}]"), &obj);
	assert_int_equal(obj.kind, SL_KIND_SERVICE);
	assert_string_equal(obj.key, "shop/web");
	assert_string_equal(obj.svc.ns, "shop");
	assert_string_equal(obj.svc.name, "web");
	assert_int_equal(obj.svc.type, SL_SVC_CLUSTER_IP);
	assert_int_equal(obj.svc.cluster_ip, 0x0a60000a);
	assert_false(obj.svc.headless);
	assert_int_equal(obj.svc.n_ports, 1);
	assert_string_equal(obj.svc.ports[0].name, "");
	assert_int_equal(obj.svc.ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(obj.svc.ports[0].port, 53);
	assert_int_equal(obj.svc.ports[0].node_port, 0);
	assert_int_equal(obj.svc.n_external_ips, 0);
	assert_int_equal(obj.svc.n_lb_ips, 0);
	assert_false(obj.svc.affinity);
	assert_int_equal(obj.svc.affinity_timeout, 10800);
	assert_false(obj.svc.etp_local);
	assert_false(obj.svc.itp_local);
	assert_int_equal(obj.svc.health_check_node_port, 0);
	assert_string_equal(obj.svc.proxy_name, "");
	assert_string_equal(obj.svc.lb_algorithm, "");
	assert_int_not_equal(obj.svc.digest, 0);
	sl_object_free(&obj);

	/* No spec at all, or one full of nulls (how Go writes nil):
	 * still a Service, with every string there. */
	must_decode("{" SVC_HEAD "," SVC_META "}", &obj);
	assert_int_equal(obj.svc.type, SL_SVC_CLUSTER_IP);
	assert_int_equal(obj.svc.cluster_ip, 0);
	assert_int_equal(obj.svc.n_ports, 0);
	assert_null(obj.svc.ports);
	assert_non_null(obj.svc.proxy_name);
	assert_non_null(obj.svc.lb_algorithm);
	sl_object_free(&obj);
	must_decode(SVC("'type':null,'clusterIP':null,'clusterIPs':null,"
			"'ports':null,'externalIPs':null,'sessionAffinity':null,"
			"'sessionAffinityConfig':null,'externalTrafficPolicy':null,"
			"'internalTrafficPolicy':null,'healthCheckNodePort':null"),
		    &obj);
	assert_int_equal(obj.svc.affinity_timeout, 10800);
	sl_object_free(&obj);
}

static void test_service_full(void **state)
{
	struct sl_object obj;
	const struct sl_service *s = &obj.svc;

	(void)state;
	must_decode("{" SVC_HEAD ",'metadata':{'namespace':'shop','name':'web',"
		    "'labels':{'app':'web','service.kubernetes.io/service-proxy-name':'other'},"
		    "'annotations':{'sluice.io/lb-algorithm':'maglev','note':'x'}},"
		    "'spec':{'type':'LoadBalancer','clusterIP':'10.96.1.2',"
		    "'ports':[{'name':'http','port':80,'targetPort':'web','nodePort':30080},"
		    "{'name':'dns','protocol':'UDP','port':53,'targetPort':5353},"
		    "{'name':'sig','protocol':'SCTP','port':9899,'nodePort':0}],"
		    "'externalIPs':['192.0.2.1','2001:db8::1','192.0.2.2'],"
		    "'sessionAffinity':'ClientIP',"
		    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}},"
		    "'externalTrafficPolicy':'Local','internalTrafficPolicy':'Local',"
		    "'healthCheckNodePort':32000},"
		    "'status':{'loadBalancer':{'ingress':["
		    "{'ip':'198.51.100.1'},"
		    "{'ip':'198.51.100.2','ipMode':'VIP'},"
		    "{'ip':'198.51.100.3','ipMode':'Proxy'},"
		    "{'hostname':'lb.example.com'},"
		    "{'ip':'2001:db8::2','ipMode':'VIP'},"
		    "{'ip':'198.51.100.4','hostname':'lb2.example.com'}]}}}",
		    &obj);
	assert_int_equal(s->type, SL_SVC_LOAD_BALANCER);
	assert_int_equal(s->cluster_ip, 0x0a600102);
	assert_int_equal(s->n_ports, 3);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].protocol, IPPROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 30080);
	assert_string_equal(s->ports[1].name, "dns");
	assert_int_equal(s->ports[1].protocol, IPPROTO_UDP);
	assert_int_equal(s->ports[1].port, 53);
	assert_int_equal(s->ports[1].node_port, 0);
	assert_int_equal(s->ports[2].protocol, IPPROTO_SCTP);
	/* IPv6 external IPs are skipped, the order of the rest kept. */
	assert_int_equal(s->n_external_ips, 2);
	assert_int_equal(s->external_ips[0], 0xc0000201);
	assert_int_equal(s->external_ips[1], 0xc0000202);
	/* VIP and unset modes only; Proxy, hostname-only and IPv6 skipped. */
	assert_int_equal(s->n_lb_ips, 3);
	assert_int_equal(s->lb_ips[0], 0xc6336401);
	assert_int_equal(s->lb_ips[1], 0xc6336402);
	assert_int_equal(s->lb_ips[2], 0xc6336404);
	assert_true(s->affinity);
	assert_int_equal(s->affinity_timeout, 60);
	assert_true(s->etp_local);
	assert_true(s->itp_local);
	assert_int_equal(s->health_check_node_port, 32000);
	assert_string_equal(s->proxy_name, "other");
	assert_string_equal(s->lb_algorithm, "maglev");
	sl_object_free(&obj);

	/* NodePort and the other algorithm; affinity default timeout. */
	must_decode("{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b',"
		    "'annotations':{'sluice.io/lb-algorithm':'random'}},"
		    "'spec':{'type':'NodePort','clusterIP':'10.96.0.3',"
		    "'sessionAffinity':'ClientIP',"
		    "'ports':[{'port':80,'nodePort':31000}]}}", &obj);
	assert_int_equal(s->type, SL_SVC_NODE_PORT);
	assert_int_equal(s->ports[0].node_port, 31000);
	assert_true(s->affinity);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_string_equal(s->lb_algorithm, "random");
	sl_object_free(&obj);

	/* ExternalName: no cluster IP, nothing to proxy, not an error. */
	must_decode(SVC("'type':'ExternalName','externalName':'db.example.com'"),
		    &obj);
	assert_int_equal(s->type, SL_SVC_EXTERNAL_NAME);
	assert_int_equal(s->cluster_ip, 0);
	assert_false(s->headless);
	sl_object_free(&obj);

	/* Large annotations of other tools are not held to label rules. */
	must_decode("{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b',"
		    "'annotations':{'kubectl.kubernetes.io/last-applied-configuration':"
		    "'{\\'apiVersion\\':\\'v1\\',\\'kind\\':\\'Service\\',\\'metadata\\':"
		    "{\\'name\\':\\'b\\',\\'namespace\\':\\'a\\'},\\'spec\\':{}}'}},"
		    "'spec':{}}", &obj);
	assert_string_equal(s->lb_algorithm, "");
	sl_object_free(&obj);
}

static void test_service_cluster_ip(void **state)
{
	static const struct {
		const char *spec;
		uint32_t ip;
		bool headless;
	} cases[] = {
		{ "'clusterIP':'10.96.0.1'", 0x0a600001, false },
		{ "'clusterIP':'None'", 0, true },
		{ "'clusterIP':''", 0, false },
		{ "", 0, false },
		/* IPv4-only: an IPv6 service is no error, just nothing. */
		{ "'clusterIP':'fd00:10:96::1'", 0, false },
		/* clusterIPs only when clusterIP is absent. */
		{ "'clusterIPs':['10.96.0.7','fd00::7']", 0x0a600007, false },
		{ "'clusterIP':null,'clusterIPs':['10.96.0.7']", 0x0a600007, false },
		/* Dual-stack with an IPv6 primary: the IPv4 one is ours. */
		{ "'clusterIPs':['fd00::7','10.96.0.7']", 0x0a600007, false },
		{ "'clusterIP':'fd00::7','clusterIPs':['fd00::7','10.96.0.7']",
		  0x0a600007, false },
		{ "'clusterIPs':['None']", 0, true },
		{ "'clusterIPs':[]", 0, false },
		{ "'clusterIP':'10.96.0.8','clusterIPs':['10.96.0.9']", 0x0a600008,
		  false },
	};
	struct sl_object obj;
	char q[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(q, sizeof(q), SVC("%s"), cases[i].spec);
		must_decode(q, &obj);
		if (obj.svc.cluster_ip != cases[i].ip ||
		    obj.svc.headless != cases[i].headless)
			fail_msg("%s: ip %08x headless %d", cases[i].spec,
				 obj.svc.cluster_ip, obj.svc.headless);
		sl_object_free(&obj);
	}
}

static void test_service_affinity_and_policies(void **state)
{
	static const struct {
		const char *spec;
		uint32_t timeout;
		bool etp, itp;
	} cases[] = {
		{ "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':1}}", 1,
		  false, false },
		{ "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':86400}}",
		  86400, false, false },
		{ "'sessionAffinityConfig':{'clientIP':{}}", 10800, false, false },
		{ "'sessionAffinityConfig':{'clientIP':null}", 10800, false,
		  false },
		{ "'externalTrafficPolicy':'Cluster'", 10800, false, false },
		/* The pre-1.22 name of Cluster. */
		{ "'externalTrafficPolicy':'Global'", 10800, false, false },
		{ "'externalTrafficPolicy':'Local'", 10800, true, false },
		{ "'internalTrafficPolicy':'Cluster'", 10800, false, false },
		{ "'internalTrafficPolicy':'Local'", 10800, false, true },
		{ "'externalTrafficPolicy':'','internalTrafficPolicy':''", 10800,
		  false, false },
	};
	struct sl_object obj;
	char q[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(q, sizeof(q), SVC("%s"), cases[i].spec);
		must_decode(q, &obj);
		if (obj.svc.affinity_timeout != cases[i].timeout ||
		    obj.svc.etp_local != cases[i].etp ||
		    obj.svc.itp_local != cases[i].itp)
			fail_msg("%s: timeout %u etp %d itp %d", cases[i].spec,
				 obj.svc.affinity_timeout, obj.svc.etp_local,
				 obj.svc.itp_local);
		sl_object_free(&obj);
	}
}

static void test_service_digest(void **state)
{
	/* Each differs from the base in one decoded field. */
	static const char *const changed[] = {
		"{" SVC_HEAD ",'metadata':{'namespace':'shop2','name':'web'},'spec':{}}",
		"{" SVC_HEAD ",'metadata':{'namespace':'shop','name':'web2'},'spec':{}}",
		SVC("'type':'NodePort','clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]"),
		SVC("'clusterIP':'10.96.0.11','ports':[{'name':'http','port':80}]"),
		SVC("'clusterIP':'None','ports':[{'name':'http','port':80}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'htt','port':80}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':81}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80,'protocol':'UDP'}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80,'nodePort':30000}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80},{'name':'x','port':81}]"),
		SVC("'clusterIP':'10.96.0.10','ports':[]"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'externalIPs':['192.0.2.1']"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'externalIPs':['192.0.2.1','192.0.2.2']"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'externalIPs':['192.0.2.2','192.0.2.1']"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]},"
		    "'status':{'loadBalancer':{'ingress':[{'ip':'192.0.2.1'}]}"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'sessionAffinity':'ClientIP'"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':10801}}"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'externalTrafficPolicy':'Local'"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'internalTrafficPolicy':'Local'"),
		SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}],"
		    "'healthCheckNodePort':30001"),
		"{" SVC_HEAD ",'metadata':{'namespace':'shop','name':'web','labels':"
		"{'service.kubernetes.io/service-proxy-name':'x'}},'spec':"
		"{'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]}}",
		"{" SVC_HEAD ",'metadata':{'namespace':'shop','name':'web','annotations':"
		"{'sluice.io/lb-algorithm':'maglev'}},'spec':"
		"{'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]}}",
	};
	const char *base = SVC("'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]");
	uint64_t b = digest_of(base);

	(void)state;
	/* Same content: other key order, other resourceVersion, fields we
	 * do not keep (targetPort, an IPv6 external IP, a Proxy LB IP,
	 * other labels and annotations), defaults spelled out. */
	assert_int_equal(digest_of("{'spec':{'ports':[{'port':80,'name':'http'}],"
				   "'clusterIP':'10.96.0.10'},'kind':'Service',"
				   "'metadata':{'resourceVersion':'99','name':'web',"
				   "'namespace':'shop'},'apiVersion':'v1'}"), b);
	assert_int_equal(digest_of(SVC("'clusterIP':'10.96.0.10','type':'ClusterIP',"
				       "'ports':[{'name':'http','port':80,'targetPort':8080,"
				       "'protocol':'TCP'}],'externalIPs':['2001:db8::1'],"
				       "'sessionAffinity':'None',"
				       "'externalTrafficPolicy':'Global'},"
				       "'status':{'loadBalancer':{'ingress':"
				       "[{'ip':'192.0.2.9','ipMode':'Proxy'}]}")), b);
	assert_int_equal(digest_of("{" SVC_HEAD ",'metadata':{'namespace':'shop',"
				   "'name':'web','labels':{'app':'web'},"
				   "'annotations':{'x':'y'}},'spec':{'clusterIP':"
				   "'10.96.0.10','ports':[{'name':'http','port':80}]}}"), b);
	/* Any decoded field changes it, and no two changes collide. */
	assert_digests_differ(base, changed, ARRAY_LEN(changed));
}

/* One per check: the object is refused and the reason names the field. */
static void test_service_rejects(void **state)
{
	static const struct reject_case bad[] = {
		{ "{" SVC_HEAD ",'metadata':{'name':'web'}}", "metadata.namespace" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'shop'}}", "metadata.name" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'shop','name':7}}",
		  "metadata.name" },
		{ "{" SVC_HEAD ",'metadata':'x'}", "metadata" },
		{ "{" SVC_HEAD "," SVC_META ",'spec':[]}", "spec" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':7}}",
		  "status.loadBalancer" },
		{ SVC("'type':'Headless'"), "spec.type" },
		{ SVC("'type':1"), "spec.type" },
		{ SVC("'clusterIP':'10.96.0.256'"), "spec.clusterIP" },
		{ SVC("'clusterIP':'none'"), "spec.clusterIP" },
		{ SVC("'clusterIP':true"), "spec.clusterIP" },
		{ SVC("'clusterIPs':'10.96.0.1'"), "spec.clusterIPs" },
		{ SVC("'clusterIPs':[1]"), "spec.clusterIPs[0]" },
		{ SVC("'clusterIPs':['x']"), "spec.clusterIPs[0]" },
		{ SVC("'clusterIPs':['10.0.0.1','fd00::1','10.0.0.2']"),
		  "spec.clusterIPs" },
		{ SVC("'ports':{}"), "spec.ports" },
		{ SVC("'ports':[{'port':80},7]"), "spec.ports[1]" },
		{ SVC("'ports':[{'name':'a'}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':0}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':65536}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':-1}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':'80'}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':80.0}]"), "spec.ports[0].port" },
		{ SVC("'ports':[{'port':99999999999999999999}]"),
		  "spec.ports[0].port" },
		{ SVC("'ports':[{'port':80},{'port':81},{'port':true}]"),
		  "spec.ports[2].port is not an integer 1..65535" },
		{ SVC("'ports':[{'port':80,'protocol':'ICMP'}]"),
		  "spec.ports[0].protocol" },
		{ SVC("'ports':[{'port':80,'protocol':6}]"), "spec.ports[0].protocol" },
		{ SVC("'ports':[{'port':80,'name':5}]"), "spec.ports[0].name" },
		{ SVC("'ports':[{'port':80,'nodePort':65536}]"),
		  "spec.ports[0].nodePort" },
		{ SVC("'ports':[{'port':80,'nodePort':'30000'}]"),
		  "spec.ports[0].nodePort" },
		{ SVC("'ports':[{'port':80,'targetPort':{}}]"),
		  "spec.ports[0].targetPort" },
		{ SVC("'ports':[{'port':80,'targetPort':true}]"),
		  "spec.ports[0].targetPort" },
		{ SVC("'externalIPs':'192.0.2.1'"), "spec.externalIPs" },
		{ SVC("'externalIPs':['192.0.2.1',null]"), "spec.externalIPs[1]" },
		{ SVC("'externalIPs':['192.0.2.1','example.com']"),
		  "spec.externalIPs[1]" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':{'ingress':{}}}}",
		  "status.loadBalancer.ingress" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':{'ingress':['x']}}}",
		  "status.loadBalancer.ingress[0]" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':{'ingress':"
		  "[{'ip':'1.2.3.4'},{'ip':'lb'}]}}}",
		  "status.loadBalancer.ingress[1].ip" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':{'ingress':"
		  "[{'ip':'1.2.3.4','ipMode':1}]}}}",
		  "status.loadBalancer.ingress[0].ipMode" },
		{ "{" SVC_HEAD "," SVC_META ",'status':{'loadBalancer':{'ingress':"
		  "[{'hostname':['x']}]}}}",
		  "status.loadBalancer.ingress[0].hostname" },
		{ SVC("'sessionAffinity':'Cookie'"), "spec.sessionAffinity" },
		{ SVC("'sessionAffinityConfig':[]"), "spec.sessionAffinityConfig" },
		{ SVC("'sessionAffinityConfig':{'clientIP':1}"),
		  "spec.sessionAffinityConfig.clientIP" },
		{ SVC("'sessionAffinity':'ClientIP','sessionAffinityConfig':"
		      "{'clientIP':{'timeoutSeconds':0}}"),
		  "spec.sessionAffinityConfig.clientIP.timeoutSeconds" },
		{ SVC("'sessionAffinity':'ClientIP','sessionAffinityConfig':"
		      "{'clientIP':{'timeoutSeconds':86401}}"),
		  "spec.sessionAffinityConfig.clientIP.timeoutSeconds" },
		{ SVC("'sessionAffinity':'ClientIP','sessionAffinityConfig':"
		      "{'clientIP':{'timeoutSeconds':'60'}}"),
		  "spec.sessionAffinityConfig.clientIP.timeoutSeconds" },
		{ SVC("'externalTrafficPolicy':'local'"), "spec.externalTrafficPolicy" },
		{ SVC("'internalTrafficPolicy':'Global'"), "spec.internalTrafficPolicy" },
		{ SVC("'internalTrafficPolicy':false"), "spec.internalTrafficPolicy" },
		{ SVC("'healthCheckNodePort':70000"), "spec.healthCheckNodePort" },
		{ SVC("'healthCheckNodePort':-1"), "spec.healthCheckNodePort" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b','labels':"
		  "{'service.kubernetes.io/service-proxy-name':1}}}",
		  "metadata.labels" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b','annotations':"
		  "{'sluice.io/lb-algorithm':'roundrobin'}}}",
		  "metadata.annotations[sluice.io/lb-algorithm]" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b','annotations':"
		  "{'sluice.io/lb-algorithm':1}}}",
		  "metadata.annotations[sluice.io/lb-algorithm]" },
		{ "{" SVC_HEAD ",'metadata':{'namespace':'a','name':'b','annotations':[]}}",
		  "metadata.annotations" },
	};

	(void)state;
	assert_rejects(bad, ARRAY_LEN(bad));
}

/* Lists at their limit pass, one more is refused. */
static void test_service_limits(void **state)
{
	struct sl_object obj;

	(void)state;
	assert_list_limit("{" SVC_HEAD "," SVC_META ",'spec':{'ports':[",
			  "{'port':%zu}", "]}}", 100, "ports", &obj);
	assert_int_equal(obj.svc.n_ports, 100);
	sl_object_free(&obj);
	assert_list_limit("{" SVC_HEAD "," SVC_META ",'spec':{'externalIPs':[",
			  "'10.0.%zu.1'", "]}}", 256, "externalIPs", &obj);
	assert_int_equal(obj.svc.n_external_ips, 256);
	sl_object_free(&obj);
}

/* What sl_object_decode relies on: free copes with zeroed and repeated. */
static void test_free_zeroed(void **state)
{
	struct sl_service s;
	struct sl_endpoint_slice es;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&es, 0, sizeof(es));
	sl_service_free(&s);
	sl_service_free(&s);
	sl_endpoint_slice_free(&es);
	sl_endpoint_slice_free(&es);
}

/* --- EndpointSlice -------------------------------------------------------- */

static void test_slice_basic(void **state)
{
	const struct sl_endpoint_slice *es;
	struct sl_object obj;

	(void)state;
	must_decode(SLICE("'addressType':'IPv4',"
			  "'ports':[{'name':'http','port':8080,'protocol':'TCP'},"
			  "{'name':'','port':null},{'port':53,'protocol':'UDP'},"
			  "{'name':'x'}],"
			  "'endpoints':["
			  "{'addresses':['10.244.1.5'],'nodeName':'node1','zone':'a',"
			  "'hints':{'forZones':[{'name':'a'},{'name':'b'}]}},"
			  "{'addresses':['10.244.2.6','10.244.2.7'],"
			  "'conditions':{'ready':false,'serving':true,'terminating':true}},"
			  "{'addresses':['10.244.3.7'],'conditions':{'ready':null,"
			  "'serving':null,'terminating':null},'hints':null},"
			  "{'addresses':['10.244.4.8'],'conditions':{'serving':false}}]"),
		    &obj);
	es = &obj.slice;
	assert_int_equal(obj.kind, SL_KIND_ENDPOINTSLICE);
	assert_string_equal(obj.key, "shop/web-abc");
	assert_string_equal(es->service, "web");
	assert_true(es->ipv4);
	assert_int_equal(es->n_ports, 4);
	assert_string_equal(es->ports[0].name, "http");
	assert_int_equal(es->ports[0].port, 8080);
	assert_int_equal(es->ports[0].protocol, IPPROTO_TCP);
	/* A nil port is kept as 0: consumers ignore it. */
	assert_string_equal(es->ports[1].name, "");
	assert_int_equal(es->ports[1].port, 0);
	assert_int_equal(es->ports[2].protocol, IPPROTO_UDP);
	assert_int_equal(es->ports[3].port, 0);
	assert_int_equal(es->ports[3].protocol, IPPROTO_TCP);

	assert_int_equal(es->n_endpoints, 4);
	/* No conditions at all: ready and serving, not terminating. */
	assert_int_equal(es->endpoints[0].ip, 0x0af40105);
	assert_true(es->endpoints[0].ready);
	assert_true(es->endpoints[0].serving);
	assert_false(es->endpoints[0].terminating);
	assert_string_equal(es->endpoints[0].node, "node1");
	assert_string_equal(es->endpoints[0].zone, "a");
	assert_int_equal(es->endpoints[0].n_for_zones, 2);
	assert_string_equal(es->endpoints[0].for_zones[0], "a");
	assert_string_equal(es->endpoints[0].for_zones[1], "b");
	/* Only addresses[0] is used. */
	assert_int_equal(es->endpoints[1].ip, 0x0af40206);
	assert_false(es->endpoints[1].ready);
	assert_true(es->endpoints[1].serving);
	assert_true(es->endpoints[1].terminating);
	assert_string_equal(es->endpoints[1].node, "");
	assert_string_equal(es->endpoints[1].zone, "");
	assert_int_equal(es->endpoints[1].n_for_zones, 0);
	/* Explicit nulls mean the same as absent. */
	assert_true(es->endpoints[2].ready);
	assert_true(es->endpoints[2].serving);
	assert_false(es->endpoints[2].terminating);
	/* Each condition defaults on its own. */
	assert_true(es->endpoints[3].ready);
	assert_false(es->endpoints[3].serving);
	assert_false(es->endpoints[3].terminating);
	sl_object_free(&obj);

	/* Empty: ports and endpoints null or absent. */
	must_decode(SLICE("'addressType':'IPv4','ports':null,'endpoints':null"),
		    &obj);
	assert_int_equal(obj.slice.n_ports, 0);
	assert_int_equal(obj.slice.n_endpoints, 0);
	sl_object_free(&obj);
	must_decode(SLICE("'addressType':'IPv4'"), &obj);
	assert_int_equal(obj.slice.n_endpoints, 0);
	sl_object_free(&obj);

	/* No service-name label: decoded, service "", skipped by consumers. */
	must_decode("{" SLICE_HEAD ",'metadata':{'namespace':'a','name':'s',"
		    "'labels':{'endpointslice.kubernetes.io/managed-by':'me'}},"
		    "'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1']}]}",
		    &obj);
	assert_string_equal(obj.slice.service, "");
	assert_int_equal(obj.slice.n_endpoints, 1);
	sl_object_free(&obj);
}

static void test_slice_families(void **state)
{
	static const char *const families[] = { "IPv6", "FQDN" };
	struct sl_object obj;
	char q[512], why[256];

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		/* Ports decoded, endpoints (even odd ones) not kept. */
		snprintf(q, sizeof(q),
			 SLICE("'addressType':'%s','ports':[{'name':'h','port':80}],"
			       "'endpoints':[{'addresses':['fd00::1']},"
			       "{'addresses':['db.example.com']}]"),
			 families[i]);
		must_decode(q, &obj);
		assert_false(obj.slice.ipv4);
		assert_int_equal(obj.slice.n_ports, 1);
		assert_int_equal(obj.slice.ports[0].port, 80);
		assert_int_equal(obj.slice.n_endpoints, 0);
		assert_null(obj.slice.endpoints);
		sl_object_free(&obj);

		/* Their ports are still checked. */
		snprintf(q, sizeof(q),
			 SLICE("'addressType':'%s','ports':[{'port':'80'}]"),
			 families[i]);
		assert_int_equal(decode_q(q, &obj, why), -1);
		assert_non_null(strstr(why, "ports[0].port"));
	}
}

static void test_slice_digest(void **state)
{
#define EP0 "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a'," \
	    "'hints':{'forZones':[{'name':'a'}]}}"
	static const char *const changed[] = {
		"{" SLICE_HEAD ",'metadata':{'namespace':'shop','name':'web-abd',"
		"'labels':{'kubernetes.io/service-name':'web'}},"
		"'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':[" EP0 "]}",
		"{" SLICE_HEAD ",'metadata':{'namespace':'shop','name':'web-abc',"
		"'labels':{'kubernetes.io/service-name':'web2'}},"
		"'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':[" EP0 "]}",
		SLICE("'addressType':'IPv6','ports':[{'name':'http','port':80}],'endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'htt','port':80}],'endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':81}],'endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':null}],'endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80,'protocol':'SCTP'}],"
		      "'endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','endpoints':[" EP0 "]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':[]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.2'],'nodeName':'n1','zone':'a',"
		      "'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n2','zone':'a',"
		      "'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'b',"
		      "'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a',"
		      "'hints':{'forZones':[{'name':'b'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a'}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a',"
		      "'hints':{'forZones':[{'name':'a'},{'name':'b'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a',"
		      "'conditions':{'ready':false},'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a',"
		      "'conditions':{'serving':false},'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      "{'addresses':['10.0.0.1'],'nodeName':'n1','zone':'a',"
		      "'conditions':{'terminating':true},'hints':{'forZones':[{'name':'a'}]}}]"),
		SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],'endpoints':["
		      EP0 "," EP0 "]"),
	};
	const char *base = SLICE("'addressType':'IPv4','ports':[{'name':'http','port':80}],"
				 "'endpoints':[" EP0 "]");
	uint64_t b = digest_of(base);

	(void)state;
	/* Key order, resourceVersion, explicit defaults and fields we do
	 * not keep (other addresses, targetRef, forNodes) change nothing. */
	assert_int_equal(digest_of("{'endpoints':[{'hints':{'forZones':[{'name':'a'}],"
				   "'forNodes':[{'name':'n1'}]},'zone':'a','nodeName':'n1',"
				   "'targetRef':{'kind':'Pod','name':'p'},"
				   "'conditions':{'terminating':false,'ready':true,'serving':true},"
				   "'addresses':['10.0.0.1','10.0.0.9']}],"
				   "'ports':[{'protocol':'TCP','port':80,'name':'http',"
				   "'appProtocol':'http'}],'addressType':'IPv4',"
				   "'metadata':{'resourceVersion':'7','labels':{'kubernetes.io/"
				   "service-name':'web'},'name':'web-abc','namespace':'shop'},"
				   "'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1'}"),
			 b);
	assert_digests_differ(base, changed, ARRAY_LEN(changed));
#undef EP0
}

static void test_slice_rejects(void **state)
{
	static const struct reject_case bad[] = {
		{ "{" SLICE_HEAD ",'metadata':{'name':'s'},'addressType':'IPv4'}",
		  "metadata.namespace" },
		{ "{" SLICE_HEAD ",'metadata':{'namespace':'a'},'addressType':'IPv4'}",
		  "metadata.name" },
		{ "{" SLICE_HEAD ",'metadata':{'namespace':'a','name':'s','labels':"
		  "{'kubernetes.io/service-name':['web']}},'addressType':'IPv4'}",
		  "metadata.labels" },
		{ SLICE("'ports':[]"), "addressType" },
		{ SLICE("'addressType':'ipv4'"), "addressType" },
		{ SLICE("'addressType':4"), "addressType" },
		{ SLICE("'addressType':'IPv4','ports':{}"), "ports" },
		{ SLICE("'addressType':'IPv4','ports':[null]"), "ports[0]" },
		{ SLICE("'addressType':'IPv4','ports':[{'port':80},{'port':65536}]"),
		  "ports[1].port" },
		{ SLICE("'addressType':'IPv4','ports':[{'port':-5}]"), "ports[0].port" },
		{ SLICE("'addressType':'IPv4','ports':[{'port':'http'}]"), "ports[0].port" },
		{ SLICE("'addressType':'IPv4','ports':[{'port':80,'protocol':'tcp'}]"),
		  "ports[0].protocol" },
		{ SLICE("'addressType':'IPv4','ports':[{'port':80,'name':1}]"),
		  "ports[0].name" },
		{ SLICE("'addressType':'IPv4','endpoints':{}"), "endpoints" },
		{ SLICE("'addressType':'IPv6','endpoints':7"), "endpoints" },
		{ SLICE("'addressType':'IPv4','endpoints':[7]"), "endpoints[0]" },
		{ SLICE("'addressType':'IPv4','endpoints':[{}]"), "endpoints[0].addresses" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':[]}]"),
		  "endpoints[0].addresses" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':null}]"),
		  "endpoints[0].addresses" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':'10.0.0.1'}]"),
		  "endpoints[0].addresses" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1',2]}]"),
		  "endpoints[0].addresses[1]" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1']},"
			"{'addresses':['fd00::1']}]"),
		  "endpoints[1].addresses[0]" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'conditions':[]}]"),
		  "endpoints[0].conditions" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'conditions':{'ready':'true'}}]"),
		  "endpoints[0].conditions.ready" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'conditions':{'serving':1}}]"),
		  "endpoints[0].conditions.serving" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'conditions':{'terminating':{}}}]"),
		  "endpoints[0].conditions.terminating" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'nodeName':1}]"),
		  "endpoints[0].nodeName" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'zone':false}]"),
		  "endpoints[0].zone" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':[]}]"),
		  "endpoints[0].hints" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':{'forZones':{}}}]"),
		  "endpoints[0].hints.forZones" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':{'forZones':['a']}}]"),
		  "endpoints[0].hints.forZones[0]" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':{'forZones':[{'name':'a'},{}]}}]"),
		  "endpoints[0].hints.forZones[1].name" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':{'forZones':[{'name':'a'},{'name':3}]}}]"),
		  "endpoints[0].hints.forZones[1].name" },
		{ SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
			"'hints':{'forZones':[{'name':'1'},{'name':'2'},{'name':'3'},"
			"{'name':'4'},{'name':'5'},{'name':'6'},{'name':'7'},{'name':'8'},"
			"{'name':'9'}]}}]"),
		  "endpoints[0].hints.forZones" },
	};

	(void)state;
	assert_rejects(bad, ARRAY_LEN(bad));
}

static void test_slice_limits(void **state)
{
	struct sl_object obj;

	(void)state;
	assert_list_limit("{" SLICE_HEAD "," SLICE_META
			  ",'addressType':'IPv4','ports':[",
			  "{'name':'p%zu','port':80}", "]}", 100, "ports", &obj);
	assert_int_equal(obj.slice.n_ports, 100);
	sl_object_free(&obj);
	assert_list_limit("{" SLICE_HEAD "," SLICE_META
			  ",'addressType':'IPv4','endpoints':[",
			  "{'addresses':['10.0.%zu.1']}", "]}", 1000, "endpoints",
			  &obj);
	assert_int_equal(obj.slice.n_endpoints, 1000);
	sl_object_free(&obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_defaults),
		cmocka_unit_test(test_service_full),
		cmocka_unit_test(test_service_cluster_ip),
		cmocka_unit_test(test_service_affinity_and_policies),
		cmocka_unit_test(test_service_digest),
		cmocka_unit_test(test_service_rejects),
		cmocka_unit_test(test_service_limits),
		cmocka_unit_test(test_free_zeroed),
		cmocka_unit_test(test_slice_basic),
		cmocka_unit_test(test_slice_families),
		cmocka_unit_test(test_slice_digest),
		cmocka_unit_test(test_slice_rejects),
		cmocka_unit_test(test_slice_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

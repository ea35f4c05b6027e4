// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service and EndpointSlice decoding (SPECS.md D.1, D.2): the part of each
 * object the load balancer programs, every field type-checked, plus a
 * digest of the result so the model can tell a change that matters from a
 * resourceVersion bump. The JSON is only borrowed; what is kept is copied.
 *
 * Reasons name the field the way kubectl explain does, list elements by
 * index: "spec.ports[2].port is not an integer 1..65535".
 */
#include "k8s.h"
#include "k8s_decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bounds. The slice ones are the API's own (discovery/v1 validation); the
 * Service ones are ours, far above anything real, so one hostile object
 * cannot make the agent allocate without limit.
 */
#define SVC_MAX_PORTS		100
#define SVC_MAX_CLUSTER_IPS	2	/* one per family */
#define SVC_MAX_IPS		256	/* externalIPs, LB ingress */
#define SLICE_MAX_PORTS		100
#define SLICE_MAX_ENDPOINTS	1000
#define SLICE_MAX_ADDRESSES	100
#define SLICE_MAX_ZONE_HINTS	8

#define AFFINITY_TIMEOUT_DEFAULT 10800
#define AFFINITY_TIMEOUT_MAX	 86400

#define LABEL_PROXY_NAME	"service.kubernetes.io/service-proxy-name"
#define LABEL_SERVICE_NAME	"kubernetes.io/service-name"
#define ANNOT_LB_ALGORITHM	"sluice.io/lb-algorithm"

/* --- field readers with full field names (more in k8s_decode.h) ---------- */

/* sl_k8s_get_str() inside a list element, the reason naming the element. */
static int get_str(json_object *o, const char *where, const char *p,
		   bool required, char **out, char *why, size_t len)
{
	if (!sl_k8s_get_str(o, p, required, out, why, len))
		return 0;
	sl_k8s_requalify(why, len, where, p);
	return -1;
}

/*
 * A string we only parse, never keep: borrowed from o, "" when absent or
 * null. An embedded NUL is not refused here (unlike in kept strings): the
 * string reads as its part before it.
 */
static int peek_str(json_object *o, const char *where, const char *p,
		    const char **out, char *why, size_t len)
{
	return sl_k8s_peek_str(o, where, p, SL_K8S_NUL_OK, out, why, len);
}

/*
 * An integer in lo..hi. Absent or null gives def, or fails when required.
 * Doubles ("80.0", 1e3) and strings are refused: the API never writes them
 * for these fields, so seeing one means the object is not what we think.
 */
static int get_int(json_object *o, const char *where, const char *p,
		   bool required, int64_t lo, int64_t hi, int64_t def,
		   int64_t *out, char *why, size_t len)
{
	json_object *v = sl_k8s_path(o, p);
	char f[192];

	if (sl_k8s_is_null(v)) {
		if (required)
			return sl_k8s_fail(why, len, "%s is missing",
					   sl_k8s_field(f, sizeof(f), where,
							p));
		*out = def;
		return 0;
	}
	/* json-c clamps what does not fit to INT64_MIN/MAX: still refused. */
	if (!json_object_is_type(v, json_type_int) ||
	    (*out = json_object_get_int64(v)) < lo || *out > hi)
		return sl_k8s_fail(why, len, "%s is not an integer %lld..%lld",
				   sl_k8s_field(f, sizeof(f), where, p),
				   (long long)lo, (long long)hi);
	return 0;
}

/* A boolean; absent or null gives def (the API's meaning of nil). */
static int get_bool(json_object *o, const char *where, const char *p,
		    bool def, bool *out, char *why, size_t len)
{
	json_object *v = sl_k8s_path(o, p);
	char f[192];

	if (sl_k8s_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_object_is_type(v, json_type_boolean))
		return sl_k8s_fail(why, len, "%s is not a boolean",
				   sl_k8s_field(f, sizeof(f), where, p));
	*out = json_object_get_boolean(v);
	return 0;
}

struct enum_name {
	const char *name;
	int value;
};

/* One of names (NULL-terminated); "", absent or null give def. */
static int get_enum(json_object *o, const char *where, const char *p,
		    const struct enum_name *names, int def, int *out,
		    char *why, size_t len)
{
	const struct enum_name *e;
	char f[192], list[128];
	size_t off = 0;
	const char *s;

	if (peek_str(o, where, p, &s, why, len))
		return -1;
	*out = def;
	if (!s[0])
		return 0;
	for (e = names; e->name; e++)
		if (!strcmp(e->name, s)) {
			*out = e->value;
			return 0;
		}
	list[0] = '\0';
	for (e = names; e->name && off < sizeof(list); e++) {
		int n = snprintf(list + off, sizeof(list) - off, "%s%s",
				 e == names ? "" : ", ", e->name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return sl_k8s_fail(why, len, "%s \"%.64s\" is not one of %s",
			   sl_k8s_field(f, sizeof(f), where, p), s, list);
}

/*
 * One label's value, "" when absent. The whole map goes through the shared
 * reader so a Service's labels are held to the same rules as a Pod's.
 */
static int get_label(json_object *o, const char *key, char **out, char *why,
		     size_t len)
{
	struct sl_labels l;
	const char *val = "";

	if (sl_k8s_get_labels(o, "metadata.labels", &l, why, len))
		return -1;
	/* Sorted and unique: a binary search would do, this is as clear. */
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.items[i].key, key)) {
			val = l.items[i].value;
			break;
		}
	*out = strdup(val);
	sl_labels_free(&l);
	return *out ? 0 : sl_k8s_fail(why, len, "out of memory");
}

/*
 * One annotation's value, borrowed, "" when absent. Not through the label
 * reader: annotation values are free-form and large (kubectl's
 * last-applied-configuration is the whole object), so only the key we use
 * is read and checked.
 */
static int peek_annotation(json_object *o, const char *key, const char **out,
			   char *why, size_t len)
{
	json_object *m = sl_k8s_path(o, "metadata.annotations"), *v;

	*out = "";
	if (sl_k8s_is_null(m))
		return 0;
	if (!json_object_is_type(m, json_type_object))
		return sl_k8s_fail(why, len,
				   "metadata.annotations is not an object");
	if (!json_object_object_get_ex(m, key, &v) || sl_k8s_is_null(v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return sl_k8s_fail(why, len,
				   "metadata.annotations[%s] is not a string",
				   key);
	*out = json_object_get_string(v);
	return 0;
}

/*
 * 4 with *ip set for IPv4, 6 for IPv6, -1 for anything else. IPv6 is valid
 * Kubernetes that an IPv4-only agent skips; only garbage is an error.
 */
static int parse_addr(const char *s, uint32_t *ip)
{
	struct in6_addr a6;

	if (!sl_k8s_parse_ip4(s, ip))
		return 4;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return 6;
	return -1;
}

static const struct enum_name protocols[] = {
	{ "TCP", IPPROTO_TCP },
	{ "UDP", IPPROTO_UDP },
	{ "SCTP", IPPROTO_SCTP },
	{ NULL, 0 },
};

/* --- digest (k8s_decode.h) ------------------------------------------------ */

static uint64_t service_digest(const struct sl_service *s)
{
	uint64_t h = SL_FNV_OFFSET;

	sl_fnv_u64(&h, SL_KIND_SERVICE);
	sl_fnv_str(&h, s->ns);
	sl_fnv_str(&h, s->name);
	sl_fnv_u64(&h, s->type);
	sl_fnv_u64(&h, s->cluster_ip);
	sl_fnv_u64(&h, s->headless);
	sl_fnv_u64(&h, s->n_external_ips);
	for (size_t i = 0; i < s->n_external_ips; i++)
		sl_fnv_u64(&h, s->external_ips[i]);
	sl_fnv_u64(&h, s->n_lb_ips);
	for (size_t i = 0; i < s->n_lb_ips; i++)
		sl_fnv_u64(&h, s->lb_ips[i]);
	sl_fnv_u64(&h, s->n_ports);
	for (size_t i = 0; i < s->n_ports; i++) {
		sl_fnv_str(&h, s->ports[i].name);
		sl_fnv_u64(&h, s->ports[i].protocol);
		sl_fnv_u64(&h, s->ports[i].port);
		sl_fnv_u64(&h, s->ports[i].node_port);
	}
	sl_fnv_u64(&h, s->affinity);
	sl_fnv_u64(&h, s->affinity_timeout);
	sl_fnv_u64(&h, s->etp_local);
	sl_fnv_u64(&h, s->itp_local);
	sl_fnv_u64(&h, s->health_check_node_port);
	sl_fnv_str(&h, s->proxy_name);
	sl_fnv_str(&h, s->lb_algorithm);
	return h;
}

static uint64_t slice_digest(const struct sl_endpoint_slice *es)
{
	uint64_t h = SL_FNV_OFFSET;

	sl_fnv_u64(&h, SL_KIND_ENDPOINTSLICE);
	sl_fnv_str(&h, es->ns);
	sl_fnv_str(&h, es->name);
	sl_fnv_str(&h, es->service);
	sl_fnv_u64(&h, es->ipv4);
	sl_fnv_u64(&h, es->n_ports);
	for (size_t i = 0; i < es->n_ports; i++) {
		sl_fnv_str(&h, es->ports[i].name);
		sl_fnv_u64(&h, es->ports[i].protocol);
		sl_fnv_u64(&h, es->ports[i].port);
	}
	sl_fnv_u64(&h, es->n_endpoints);
	for (size_t i = 0; i < es->n_endpoints; i++) {
		const struct sl_slice_endpoint *ep = &es->endpoints[i];

		sl_fnv_u64(&h, ep->ip);
		sl_fnv_u64(&h, ep->ready);
		sl_fnv_u64(&h, ep->serving);
		sl_fnv_u64(&h, ep->terminating);
		sl_fnv_str(&h, ep->node);
		sl_fnv_str(&h, ep->zone);
		sl_fnv_u64(&h, ep->n_for_zones);
		for (size_t j = 0; j < ep->n_for_zones; j++)
			sl_fnv_str(&h, ep->for_zones[j]);
	}
	return h;
}

/* --- Service -------------------------------------------------------------- */

static const struct enum_name service_types[] = {
	{ "ClusterIP", SL_SVC_CLUSTER_IP },
	{ "NodePort", SL_SVC_NODE_PORT },
	{ "LoadBalancer", SL_SVC_LOAD_BALANCER },
	{ "ExternalName", SL_SVC_EXTERNAL_NAME },
	{ NULL, 0 },
};

static const struct enum_name affinities[] = {
	{ "None", 0 },
	{ "ClientIP", 1 },
	{ NULL, 0 },
};

/* "Global" is what externalTrafficPolicy Cluster was called before 1.22. */
static const struct enum_name external_policies[] = {
	{ "Cluster", 0 },
	{ "Local", 1 },
	{ "Global", 0 },
	{ NULL, 0 },
};

static const struct enum_name internal_policies[] = {
	{ "Cluster", 0 },
	{ "Local", 1 },
	{ NULL, 0 },
};

/*
 * clusterIP, or clusterIPs[0] when clusterIP is absent (clients that only
 * write the dual-stack field). "" is no IP, "None" headless; an IPv6
 * primary leaves us no IP of our family, which is not an error.
 */
static int decode_cluster_ip(json_object *o, struct sl_service *s, char *why,
			     size_t len)
{
	json_object *ips, *ip = sl_k8s_path(o, "spec.clusterIP");
	const char *p = "spec.clusterIP", *str = "";
	size_t n;

	if (sl_k8s_get_list(o, "", "spec.clusterIPs", SVC_MAX_CLUSTER_IPS, &ips,
			    &n, why, len))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sl_k8s_list_str(ips, i, "spec.clusterIPs", &str, why, len))
			return -1;
	if (sl_k8s_is_null(ip) && n) {
		p = "spec.clusterIPs[0]";
		str = json_object_get_string(json_object_array_get_idx(ips, 0));
	} else if (peek_str(o, "", "spec.clusterIP", &str, why, len)) {
		return -1;
	}
	if (!strcmp(str, "None"))
		s->headless = true;
	else if (str[0] && parse_addr(str, &s->cluster_ip) < 0)
		return sl_k8s_fail(why, len, "%s \"%.64s\" is not an address",
				   p, str);
	/* An IPv6 primary left cluster_ip 0: a dual-stack Service has its
	 * IPv4 address further down clusterIPs, and that one is ours. */
	for (size_t i = 1; !s->cluster_ip && !s->headless && i < n; i++) {
		str = json_object_get_string(json_object_array_get_idx(ips, i));
		if (parse_addr(str, &s->cluster_ip) < 0)
			return sl_k8s_fail(why, len,
					   "spec.clusterIPs[%zu] \"%.64s\" is not an address",
					   i, str);
	}
	return 0;
}

static int decode_service_ports(json_object *o, struct sl_service *s,
				char *why, size_t len)
{
	json_object *list;
	char where[48];
	size_t n;

	if (sl_k8s_get_list(o, "", "spec.ports", SVC_MAX_PORTS, &list, &n, why,
			    len))
		return -1;
	if (!n)
		return 0;
	s->ports = calloc(n, sizeof(*s->ports));
	if (!s->ports)
		return sl_k8s_fail(why, len, "out of memory");
	/* Counted now: names not yet filled are NULL, which _free skips. */
	s->n_ports = n;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i), *tp;
		struct sl_service_port *sp = &s->ports[i];
		int64_t port, node_port;
		int proto;

		snprintf(where, sizeof(where), "spec.ports[%zu]", i);
		if (sl_k8s_check_element(e, where, why, len) ||
		    get_str(e, where, "name", false, &sp->name, why, len) ||
		    get_enum(e, where, "protocol", protocols, IPPROTO_TCP,
			     &proto, why, len) ||
		    get_int(e, where, "port", true, 1, 65535, 0, &port, why,
			    len) ||
		    get_int(e, where, "nodePort", false, 0, 65535, 0,
			    &node_port, why, len))
			return -1;
		/* Not kept (the slices carry the resolved port), but a number
		 * or a port name are the only things it can be. */
		tp = sl_k8s_path(e, "targetPort");
		if (!sl_k8s_is_null(tp) &&
		    !json_object_is_type(tp, json_type_int) &&
		    !json_object_is_type(tp, json_type_string))
			return sl_k8s_fail(why, len,
					   "%s.targetPort is not a number or a name",
					   where);
		sp->protocol = (uint8_t)proto;
		sp->port = (uint16_t)port;
		sp->node_port = (uint16_t)node_port;
	}
	return 0;
}

/* spec.externalIPs: IPv4 kept, IPv6 skipped, anything else refused. */
static int decode_external_ips(json_object *o, struct sl_service *s,
			       char *why, size_t len)
{
	const char *p = "spec.externalIPs", *str = "";
	json_object *list;
	size_t n;

	if (sl_k8s_get_list(o, "", p, SVC_MAX_IPS, &list, &n, why, len))
		return -1;
	if (!n)
		return 0;
	s->external_ips = calloc(n, sizeof(*s->external_ips));
	if (!s->external_ips)
		return sl_k8s_fail(why, len, "out of memory");
	for (size_t i = 0; i < n; i++) {
		uint32_t ip;
		int family;

		if (sl_k8s_list_str(list, i, p, &str, why, len))
			return -1;
		family = parse_addr(str, &ip);
		if (family < 0)
			return sl_k8s_fail(why, len,
					   "%s[%zu] \"%.64s\" is not an address",
					   p, i, str);
		if (family == 4)
			s->external_ips[s->n_external_ips++] = ip;
	}
	return 0;
}

/*
 * status.loadBalancer.ingress: only ip entries whose ipMode is VIP (or
 * unset, which means VIP) may be short-circuited to the backends. Proxy
 * means the LB must see the traffic; a mode from a newer API than ours is
 * treated the same way, since skipping a VIP only costs a detour through
 * the LB while short-circuiting a proxy breaks it. Hostname-only entries
 * (AWS ELB) have nothing for us.
 */
static int decode_lb_ingress(json_object *o, struct sl_service *s, char *why,
			     size_t len)
{
	json_object *list;
	char where[64];
	size_t n;

	if (sl_k8s_get_list(o, "", "status.loadBalancer.ingress", SVC_MAX_IPS,
			    &list, &n, why, len))
		return -1;
	if (!n)
		return 0;
	s->lb_ips = calloc(n, sizeof(*s->lb_ips));
	if (!s->lb_ips)
		return sl_k8s_fail(why, len, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *ip, *hostname, *mode;
		uint32_t addr;
		int family;

		snprintf(where, sizeof(where),
			 "status.loadBalancer.ingress[%zu]", i);
		if (sl_k8s_check_element(e, where, why, len) ||
		    peek_str(e, where, "ip", &ip, why, len) ||
		    peek_str(e, where, "hostname", &hostname, why, len) ||
		    peek_str(e, where, "ipMode", &mode, why, len))
			return -1;
		if (!ip[0])
			continue;
		family = parse_addr(ip, &addr);
		if (family < 0)
			return sl_k8s_fail(why, len,
					   "%s.ip \"%.64s\" is not an address",
					   where, ip);
		if (family == 4 && (!mode[0] || !strcmp(mode, "VIP")))
			s->lb_ips[s->n_lb_ips++] = addr;
	}
	return 0;
}

static int decode_service_meta(json_object *o, struct sl_service *s,
			       char *why, size_t len)
{
	const char *alg;

	if (get_label(o, LABEL_PROXY_NAME, &s->proxy_name, why, len) ||
	    peek_annotation(o, ANNOT_LB_ALGORITHM, &alg, why, len))
		return -1;
	/* "" is the node's default, as if the annotation were absent. */
	if (alg[0] && strcmp(alg, "random") && strcmp(alg, "maglev"))
		return sl_k8s_fail(why, len,
				   "metadata.annotations[" ANNOT_LB_ALGORITHM
				   "] \"%.64s\" is not random or maglev",
				   alg);
	s->lb_algorithm = strdup(alg);
	return s->lb_algorithm ? 0 : sl_k8s_fail(why, len, "out of memory");
}

int sl_decode_service(json_object *o, struct sl_service *s, char *why,
		      size_t len)
{
	static const char *const objects[] = {
		"metadata", "spec", "status", "status.loadBalancer",
		"spec.sessionAffinityConfig",
		"spec.sessionAffinityConfig.clientIP", NULL,
	};
	int type, affinity, etp, itp;
	int64_t timeout, hc_port;

	memset(s, 0, sizeof(*s));
	if (sl_k8s_check_objects(o, "", objects, why, len) ||
	    sl_k8s_get_str(o, "metadata.namespace", true, &s->ns, why, len) ||
	    sl_k8s_get_str(o, "metadata.name", true, &s->name, why, len) ||
	    get_enum(o, "", "spec.type", service_types, SL_SVC_CLUSTER_IP,
		     &type, why, len) ||
	    decode_cluster_ip(o, s, why, len) ||
	    decode_service_ports(o, s, why, len) ||
	    decode_external_ips(o, s, why, len) ||
	    decode_lb_ingress(o, s, why, len) ||
	    get_enum(o, "", "spec.sessionAffinity", affinities, 0, &affinity,
		     why, len) ||
	    /* Checked even when affinity is None: the API refuses such a
	     * combination, so seeing one is worth a reason. */
	    get_int(o, "", "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
		    false, 1, AFFINITY_TIMEOUT_MAX, AFFINITY_TIMEOUT_DEFAULT,
		    &timeout, why, len) ||
	    get_enum(o, "", "spec.externalTrafficPolicy", external_policies, 0,
		     &etp, why, len) ||
	    get_enum(o, "", "spec.internalTrafficPolicy", internal_policies, 0,
		     &itp, why, len) ||
	    get_int(o, "", "spec.healthCheckNodePort", false, 0, 65535, 0,
		    &hc_port, why, len) ||
	    decode_service_meta(o, s, why, len))
		return -1;
	s->type = (enum sl_service_type)type;
	s->affinity = affinity;
	s->affinity_timeout = (uint32_t)timeout;
	s->etp_local = etp;
	s->itp_local = itp;
	s->health_check_node_port = (uint16_t)hc_port;
	s->digest = service_digest(s);
	return 0;
}

void sl_service_free(struct sl_service *s)
{
	free(s->ns);
	free(s->name);
	free(s->external_ips);
	free(s->lb_ips);
	for (size_t i = 0; i < s->n_ports; i++)
		free(s->ports[i].name);
	free(s->ports);
	free(s->proxy_name);
	free(s->lb_algorithm);
	memset(s, 0, sizeof(*s));
}

/* --- EndpointSlice -------------------------------------------------------- */

static int decode_slice_ports(json_object *o, struct sl_endpoint_slice *es,
			      char *why, size_t len)
{
	json_object *list;
	char where[32];
	size_t n;

	if (sl_k8s_get_list(o, "", "ports", SLICE_MAX_PORTS, &list, &n, why,
			    len))
		return -1;
	if (!n)
		return 0;
	es->ports = calloc(n, sizeof(*es->ports));
	if (!es->ports)
		return sl_k8s_fail(why, len, "out of memory");
	es->n_ports = n;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		struct sl_slice_port *sp = &es->ports[i];
		int64_t port;
		int proto;

		snprintf(where, sizeof(where), "ports[%zu]", i);
		/* A nil port means "all ports" to the API and "ignore" to
		 * kube-proxy; so does 0. Both become 0. */
		if (sl_k8s_check_element(e, where, why, len) ||
		    get_str(e, where, "name", false, &sp->name, why, len) ||
		    get_enum(e, where, "protocol", protocols, IPPROTO_TCP,
			     &proto, why, len) ||
		    get_int(e, where, "port", false, 0, 65535, 0, &port, why,
			    len))
			return -1;
		sp->protocol = (uint8_t)proto;
		sp->port = (uint16_t)port;
	}
	return 0;
}

static int decode_zone_hints(json_object *e, const char *where,
			     struct sl_slice_endpoint *ep, char *why,
			     size_t len)
{
	char f[64], hint[96];
	json_object *list;
	size_t n;

	sl_k8s_field(f, sizeof(f), where, "hints.forZones");
	if (sl_k8s_get_list(e, where, "hints.forZones", SLICE_MAX_ZONE_HINTS,
			    &list, &n, why, len))
		return -1;
	if (!n)
		return 0;
	ep->for_zones = calloc(n, sizeof(*ep->for_zones));
	if (!ep->for_zones)
		return sl_k8s_fail(why, len, "out of memory");
	ep->n_for_zones = n;
	for (size_t i = 0; i < n; i++) {
		json_object *z = json_object_array_get_idx(list, i);

		snprintf(hint, sizeof(hint), "%s[%zu]", f, i);
		if (sl_k8s_check_element(z, hint, why, len) ||
		    get_str(z, hint, "name", true, &ep->for_zones[i], why, len))
			return -1;
	}
	return 0;
}

static int decode_endpoint(json_object *e, const char *where,
			   struct sl_slice_endpoint *ep, char *why, size_t len)
{
	static const char *const objects[] = { "conditions", "hints", NULL };
	json_object *addrs;
	const char *addr = "";
	char f[64];
	size_t n;

	sl_k8s_field(f, sizeof(f), where, "addresses");
	if (sl_k8s_check_element(e, where, why, len) ||
	    sl_k8s_check_objects(e, where, objects, why, len) ||
	    sl_k8s_get_list(e, where, "addresses", SLICE_MAX_ADDRESSES, &addrs,
			    &n, why, len))
		return -1;
	if (!n)
		return sl_k8s_fail(why, len, "%s is missing", f);
	/* All must be strings; only the first is used, as kube-proxy does. */
	for (size_t i = 0; i < n; i++)
		if (sl_k8s_list_str(addrs, i, f, &addr, why, len))
			return -1;
	addr = json_object_get_string(json_object_array_get_idx(addrs, 0));
	if (sl_k8s_parse_ip4(addr, &ep->ip) < 0)
		return sl_k8s_fail(why, len,
				   "%s[0] \"%.64s\" is not an IPv4 address", f,
				   addr);
	if (get_bool(e, where, "conditions.ready", true, &ep->ready, why,
		     len) ||
	    get_bool(e, where, "conditions.serving", true, &ep->serving, why,
		     len) ||
	    get_bool(e, where, "conditions.terminating", false,
		     &ep->terminating, why, len) ||
	    get_str(e, where, "nodeName", false, &ep->node, why, len) ||
	    get_str(e, where, "zone", false, &ep->zone, why, len) ||
	    decode_zone_hints(e, where, ep, why, len))
		return -1;
	return 0;
}

int sl_decode_endpoint_slice(json_object *o, struct sl_endpoint_slice *es,
			     char *why, size_t len)
{
	static const char *const objects[] = { "metadata", NULL };
	json_object *list;
	const char *family;
	char where[32];
	size_t n;

	memset(es, 0, sizeof(*es));
	if (sl_k8s_check_objects(o, "", objects, why, len) ||
	    sl_k8s_get_str(o, "metadata.namespace", true, &es->ns, why, len) ||
	    sl_k8s_get_str(o, "metadata.name", true, &es->name, why, len) ||
	    /* Without it no Service claims the slice: consumers skip it. */
	    get_label(o, LABEL_SERVICE_NAME, &es->service, why, len) ||
	    peek_str(o, "", "addressType", &family, why, len))
		return -1;
	if (!family[0])
		return sl_k8s_fail(why, len, "addressType is missing");
	if (!strcmp(family, "IPv4"))
		es->ipv4 = true;
	else if (strcmp(family, "IPv6") && strcmp(family, "FQDN"))
		return sl_k8s_fail(why, len,
				   "addressType \"%.64s\" is not one of IPv4, IPv6, FQDN",
				   family);
	if (decode_slice_ports(o, es, why, len) ||
	    sl_k8s_get_list(o, "", "endpoints", SLICE_MAX_ENDPOINTS, &list, &n,
			    why, len))
		return -1;
	/* Other families carry nothing for us: their endpoints are not read. */
	if (es->ipv4 && n) {
		es->endpoints = calloc(n, sizeof(*es->endpoints));
		if (!es->endpoints)
			return sl_k8s_fail(why, len, "out of memory");
		es->n_endpoints = n;
		for (size_t i = 0; i < n; i++) {
			snprintf(where, sizeof(where), "endpoints[%zu]", i);
			if (decode_endpoint(json_object_array_get_idx(list, i),
					    where, &es->endpoints[i], why, len))
				return -1;
		}
	}
	es->digest = slice_digest(es);
	return 0;
}

void sl_endpoint_slice_free(struct sl_endpoint_slice *es)
{
	free(es->ns);
	free(es->name);
	free(es->service);
	for (size_t i = 0; i < es->n_ports; i++)
		free(es->ports[i].name);
	free(es->ports);
	for (size_t i = 0; i < es->n_endpoints; i++) {
		struct sl_slice_endpoint *ep = &es->endpoints[i];

		free(ep->node);
		free(ep->zone);
		for (size_t j = 0; j < ep->n_for_zones; j++)
			free(ep->for_zones[j]);
		free(ep->for_zones);
	}
	free(es->endpoints);
	memset(es, 0, sizeof(*es));
}

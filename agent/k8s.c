// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kinds we decode, Pod, Namespace and Node decoding, labels, and
 * sl_object_decode()'s dispatch to each kind's decoder (k8s_service.c,
 * k8s_policy.c). The field readers they all use are in k8s_decode.c.
 */
#include "k8s.h"
#include "k8s_decode.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *api_version, *kind;
} kinds[SL_KIND_COUNT] = {
	[SL_KIND_POD] = { "v1", "Pod" },
	[SL_KIND_NAMESPACE] = { "v1", "Namespace" },
	[SL_KIND_NODE] = { "v1", "Node" },
	[SL_KIND_SERVICE] = { "v1", "Service" },
	[SL_KIND_ENDPOINTSLICE] = { "discovery.k8s.io/v1", "EndpointSlice" },
	[SL_KIND_NETPOL] = { "networking.k8s.io/v1", "NetworkPolicy" },
};

const char *sl_kind_name(enum sl_kind kind)
{
	return kind < SL_KIND_COUNT ? kinds[kind].kind : "Other";
}

enum sl_kind sl_kind_of(const char *api_version, const char *kind)
{
	/* One served version each; others (v1beta1 slices) are not ours. */
	if (!api_version || !kind)
		return SL_KIND_OTHER;
	for (int i = 0; i < SL_KIND_COUNT; i++)
		if (!strcmp(kind, kinds[i].kind) &&
		    !strcmp(api_version, kinds[i].api_version))
			return (enum sl_kind)i;
	return SL_KIND_OTHER;
}

void sl_labels_free(struct sl_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Containers and their ports a pod may list before we call it absurd. */
#define POD_MAX_CONTAINERS 256
#define POD_MAX_PORTS 1024

static int cmp_pod_port(const void *a, const void *b)
{
	const struct sl_pod_port *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->protocol != y->protocol)
		return x->protocol < y->protocol ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* One spec.containers[c].ports[i]: checked whole, kept when named. */
static int decode_pod_port(json_object *e, const char *where,
			   struct sl_pod *p, char *why, size_t len)
{
	json_object *num = sl_k8s_path(e, "containerPort"),
		    *name = sl_k8s_path(e, "name"),
		    *proto = sl_k8s_path(e, "protocol");
	struct sl_pod_port *pp = &p->ports[p->n_ports];
	const char *ns = "";
	int64_t port;
	int protocol = IPPROTO_TCP;

	if (sl_k8s_check_element(e, where, why, len))
		return -1;
	if (!num || !json_object_is_type(num, json_type_int) ||
	    (port = json_object_get_int64(num)) < 1 || port > 65535)
		return sl_k8s_fail(why, len,
				   "%s.containerPort is not an integer 1..65535",
				   where);
	if (proto && !json_object_is_type(proto, json_type_null)) {
		if (!json_object_is_type(proto, json_type_string) ||
		    (protocol = sl_k8s_protocol(
			     json_object_get_string(proto))) < 0)
			return sl_k8s_fail(why, len,
					   "%s.protocol is not one of TCP, UDP, SCTP",
					   where);
	}
	if (name && !json_object_is_type(name, json_type_null)) {
		if (!json_object_is_type(name, json_type_string))
			return sl_k8s_fail(why, len, "%s.name is not a string",
					   where);
		ns = json_object_get_string(name);
		if (ns[0] && !sl_k8s_port_name_valid(ns))
			return sl_k8s_fail(why, len,
					   "%s.name \"%.64s\" is not a port name",
					   where, ns);
	}
	if (!ns[0])
		return 0;
	pp->name = strdup(ns);
	if (!pp->name)
		return sl_k8s_fail(why, len, "out of memory");
	pp->protocol = (uint8_t)protocol;
	pp->port = (uint16_t)port;
	p->n_ports++;
	return 0;
}

/*
 * spec.containers[].ports[] (SPECS D.4). Init containers' ports are not
 * read: upstream resolves named ports against containers only. Unnamed
 * ports are checked and dropped.
 */
static int decode_pod_ports(json_object *o, struct sl_pod *p, char *why,
			    size_t len)
{
	static const char *const objects[] = { "spec", NULL };
	json_object *ctrs, *ports;
	size_t n_ctrs, n, total = 0;
	char where[96];

	if (sl_k8s_check_objects(o, "", objects, why, len) ||
	    sl_k8s_get_list(o, "", "spec.containers", POD_MAX_CONTAINERS, &ctrs,
			    &n_ctrs, why, len))
		return -1;
	/* Counted first: one allocation, and the bound before any work. */
	for (size_t c = 0; c < n_ctrs; c++) {
		json_object *ctr = json_object_array_get_idx(ctrs, c);

		snprintf(where, sizeof(where), "spec.containers[%zu]", c);
		if (sl_k8s_check_element(ctr, where, why, len) ||
		    sl_k8s_get_list(ctr, where, "ports", SIZE_MAX, &ports, &n,
				    why, len))
			return -1;
		total += n;
		if (total > POD_MAX_PORTS)
			return sl_k8s_fail(why, len,
					   "spec.containers[].ports: more than %d",
					   POD_MAX_PORTS);
	}
	if (!total)
		return 0;
	p->ports = calloc(total, sizeof(*p->ports));
	if (!p->ports)
		return sl_k8s_fail(why, len, "out of memory");
	for (size_t c = 0; c < n_ctrs; c++) {
		json_object *ctr = json_object_array_get_idx(ctrs, c);

		sl_k8s_get_list(ctr, "", "ports", SIZE_MAX, &ports, &n, why,
				len);
		for (size_t i = 0; i < n; i++) {
			snprintf(where, sizeof(where),
				 "spec.containers[%zu].ports[%zu]", c, i);
			if (decode_pod_port(json_object_array_get_idx(ports, i),
					    where, p, why, len))
				return -1;
		}
	}
	/* The API refuses a name twice in one container, not in two: a
	 * policy then resolves the name to every number it has. */
	if (p->n_ports) /* none: ports may be NULL */
		qsort(p->ports, p->n_ports, sizeof(*p->ports), cmp_pod_port);
	for (size_t i = 1; i < p->n_ports; i++)
		if (!cmp_pod_port(&p->ports[i], &p->ports[i - 1])) {
			free(p->ports[i].name);
			memmove(&p->ports[i], &p->ports[i + 1],
				(p->n_ports - i - 1) * sizeof(*p->ports));
			p->n_ports--;
			i--;
		}
	return 0;
}

static void pod_free(struct sl_pod *p)
{
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->node);
	sl_labels_free(&p->labels);
	for (size_t i = 0; i < p->n_ports; i++)
		free(p->ports[i].name);
	free(p->ports);
}

static int decode_pod(json_object *o, struct sl_pod *p, char *why, size_t len)
{
	json_object *hn = sl_k8s_path(o, "spec.hostNetwork");
	char *ip = NULL;

	if (sl_k8s_get_str(o, "metadata.namespace", true, &p->ns, why, len) ||
	    sl_k8s_get_str(o, "metadata.name", true, &p->name, why, len) ||
	    sl_k8s_get_str(o, "metadata.uid", false, &p->uid, why, len) ||
	    sl_k8s_get_str(o, "spec.nodeName", false, &p->node, why, len) ||
	    sl_k8s_get_str(o, "status.podIP", false, &ip, why, len) ||
	    sl_k8s_get_labels(o, "metadata.labels", &p->labels, why, len))
		goto err;
	if (ip[0] && sl_k8s_parse_ip4(ip, &p->ip) < 0) {
		/* An IPv6 podIP is valid Kubernetes; we are IPv4-only. */
		if (!strchr(ip, ':')) {
			sl_k8s_fail(why, len, "status.podIP \"%.64s\" is not an address",
			     ip);
			goto err;
		}
	}
	if (hn && !json_object_is_type(hn, json_type_boolean) &&
	    !json_object_is_type(hn, json_type_null)) {
		sl_k8s_fail(why, len, "spec.hostNetwork is not a boolean");
		goto err;
	}
	p->host_network = hn && json_object_get_boolean(hn);
	if (decode_pod_ports(o, p, why, len))
		goto err;
	free(ip);
	return 0;
err:
	free(ip);
	return -1;
}

static int decode_node(json_object *o, struct sl_node *n, char *why,
		       size_t len)
{
	json_object *addrs = sl_k8s_path(o, "status.addresses");
	struct sl_labels labels = {};
	char *cidr = NULL, *slash;
	unsigned long prefix;
	const char *zone;

	if (sl_k8s_get_str(o, "metadata.name", true, &n->name, why, len) ||
	    sl_k8s_get_str(o, "spec.podCIDR", false, &cidr, why, len) ||
	    sl_k8s_get_labels(o, "metadata.labels", &labels, why, len))
		goto err;
	/* The zone is all the agent needs of a Node's labels (topology
	 * hints); the rest are not kept. */
	zone = sl_labels_get(&labels, "topology.kubernetes.io/zone");
	n->zone = strdup(zone ? zone : "");
	sl_labels_free(&labels);
	if (!n->zone) {
		sl_k8s_fail(why, len, "out of memory");
		goto err;
	}
	if (cidr[0]) {
		slash = strchr(cidr, '/');
		if (!slash)
			goto bad_cidr;
		*slash = '\0';
		prefix = strtoul(slash + 1, NULL, 10);
		if (sl_k8s_parse_ip4(cidr, &n->pod_cidr) < 0 || prefix < 8 ||
		    prefix > 30 ||
		    (n->pod_cidr & ~sl_ipv4_mask((unsigned int)prefix)))
			goto bad_cidr;
		n->pod_prefix = (uint8_t)prefix;
		n->have_pod_cidr = true;
	}
	if (addrs && json_object_is_type(addrs, json_type_array)) {
		size_t cnt = json_object_array_length(addrs);

		for (size_t i = 0; i < cnt; i++) {
			json_object *a = json_object_array_get_idx(addrs, i);
			json_object *type = sl_k8s_path(a, "type"), *addr = sl_k8s_path(a, "address");

			if (type && addr &&
			    json_object_is_type(type, json_type_string) &&
			    json_object_is_type(addr, json_type_string) &&
			    !strcmp(json_object_get_string(type), "InternalIP") &&
			    sl_k8s_parse_ip4(json_object_get_string(addr),
				      &n->internal_ip) == 0)
				break;
		}
	} else if (addrs && !json_object_is_type(addrs, json_type_null)) {
		sl_k8s_fail(why, len, "status.addresses is not a list");
		goto err;
	}
	free(cidr);
	return 0;
bad_cidr:
	sl_k8s_fail(why, len, "spec.podCIDR is not an IPv4 network between /8 and /30");
err:
	free(cidr);
	return -1;
}

int sl_object_decode(json_object *o, struct sl_object *out, char *why,
		     size_t why_len)
{
	json_object *av = sl_k8s_path(o, "apiVersion"), *k = sl_k8s_path(o, "kind");
	enum sl_kind kind;
	char key[600];
	int ret;

	if (!json_object_is_type(o, json_type_object) || !av || !k ||
	    !json_object_is_type(av, json_type_string) ||
	    !json_object_is_type(k, json_type_string))
		return sl_k8s_fail(why, why_len, "apiVersion or kind missing");
	kind = sl_kind_of(json_object_get_string(av), json_object_get_string(k));
	if (kind == SL_KIND_OTHER)
		return 0;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	switch (kind) {
	case SL_KIND_POD:
		ret = decode_pod(o, &out->pod, why, why_len);
		snprintf(key, sizeof(key), "%s/%s", out->pod.ns ? out->pod.ns : "",
			 out->pod.name ? out->pod.name : "");
		break;
	case SL_KIND_NAMESPACE:
		ret = sl_k8s_get_str(o, "metadata.name", true, &out->ns.name, why,
			      why_len);
		if (!ret)
			ret = sl_k8s_get_labels(o, "metadata.labels", &out->ns.labels, why, why_len);
		snprintf(key, sizeof(key), "%s", out->ns.name ? out->ns.name : "");
		break;
	case SL_KIND_NODE:
		ret = decode_node(o, &out->node, why, why_len);
		snprintf(key, sizeof(key), "%s",
			 out->node.name ? out->node.name : "");
		break;
	case SL_KIND_SERVICE:
		ret = sl_decode_service(o, &out->svc, why, why_len);
		snprintf(key, sizeof(key), "%s/%s", out->svc.ns ? out->svc.ns : "",
			 out->svc.name ? out->svc.name : "");
		break;
	case SL_KIND_NETPOL:
		ret = sl_decode_netpol(o, &out->netpol, why, why_len);
		snprintf(key, sizeof(key), "%s/%s",
			 out->netpol.ns ? out->netpol.ns : "",
			 out->netpol.name ? out->netpol.name : "");
		break;
	default:
		ret = sl_decode_endpoint_slice(o, &out->slice, why, why_len);
		snprintf(key, sizeof(key), "%s/%s",
			 out->slice.ns ? out->slice.ns : "",
			 out->slice.name ? out->slice.name : "");
		break;
	}
	out->key = strdup(key);
	if (ret < 0 || !out->key) {
		if (!ret)
			sl_k8s_fail(why, why_len, "out of memory");
		sl_object_free(out);
		return -1;
	}
	return 1;
}

void sl_object_free(struct sl_object *obj)
{
	switch (obj->kind) {
	case SL_KIND_POD:
		pod_free(&obj->pod);
		break;
	case SL_KIND_NAMESPACE:
		free(obj->ns.name);
		sl_labels_free(&obj->ns.labels);
		break;
	case SL_KIND_NODE:
		free(obj->node.name);
		free(obj->node.zone);
		break;
	case SL_KIND_SERVICE:
		sl_service_free(&obj->svc);
		break;
	case SL_KIND_ENDPOINTSLICE:
		sl_endpoint_slice_free(&obj->slice);
		break;
	case SL_KIND_NETPOL:
		sl_netpol_free(&obj->netpol);
		break;
	default:
		break;
	}
	free(obj->key);
	memset(obj, 0, sizeof(*obj));
}

void sl_object_describe(json_object *o, char *buf, size_t len)
{
	json_object *k = sl_k8s_path(o, "kind"), *ns = sl_k8s_path(o, "metadata.namespace"),
		    *name = sl_k8s_path(o, "metadata.name");
	const char *ks = k && json_object_is_type(k, json_type_string) ?
				 json_object_get_string(k) : "?";
	const char *nss = ns && json_object_is_type(ns, json_type_string) ?
				  json_object_get_string(ns) : "";
	const char *names = name && json_object_is_type(name, json_type_string) ?
				    json_object_get_string(name) : "?";

	snprintf(buf, len, "%.32s %.64s%s%.64s", ks, nss, nss[0] ? "/" : "",
		 names);
}

bool sl_labels_equal(const struct sl_labels *a, const struct sl_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i].key, b->items[i].key) ||
		    strcmp(a->items[i].value, b->items[i].value))
			return false;
	return true;
}

const char *sl_labels_get(const struct sl_labels *l, const char *key)
{
	size_t lo = 0, hi = l->n;

	/* Sorted by key (sl_k8s_get_labels). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->items[mid].key, key);

		if (!c)
			return l->items[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool sl_pod_ports_equal(const struct sl_pod *a, const struct sl_pod *b)
{
	if (a->n_ports != b->n_ports)
		return false;
	for (size_t i = 0; i < a->n_ports; i++)
		if (cmp_pod_port(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

void sl_labels_format(const struct sl_labels *l, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s=%s", i ? "," : "",
				 l->items[i].key, l->items[i].value);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

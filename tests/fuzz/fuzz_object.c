// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the object decoders (agent/k8s.c, k8s_service.c,
 * k8s_policy.c, with the readers of k8s_decode.c):
 * bytes → json-c → sl_object_decode() → sl_object_free(). ASan catches a
 * read past a value, LeakSanitizer an error path that forgets what it
 * filled. Beyond not crashing:
 *  - a failure gives a reason, a success keeps the contract of k8s.h
 *    (strings never NULL, lists within their bounds);
 *  - the verdict and the digest depend on content only: the same JSON
 *    decoded again, and a copy with the keys of every object in reverse
 *    order, must decode the same way with the same digest.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

/* The API server's limit is ~1.5 MB; the fuzzer's inputs are far smaller. */
#define MAX_INPUT (64 * 1024)

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool valid_proto(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
}

static void check_service(const struct sl_service *s)
{
	check(s->ns && s->ns[0] && s->name && s->name[0]);
	check(s->proxy_name && s->lb_algorithm);
	check(s->type <= SL_SVC_EXTERNAL_NAME);
	check(!s->headless || !s->cluster_ip);
	check(s->affinity_timeout >= 1 && s->affinity_timeout <= 86400);
	check(s->n_ports <= 100 && (!s->n_ports || s->ports));
	for (size_t i = 0; i < s->n_ports; i++)
		check(s->ports[i].name && s->ports[i].port &&
		      valid_proto(s->ports[i].protocol));
	check(s->n_external_ips <= 256 &&
	      (!s->n_external_ips || s->external_ips));
	check(s->n_lb_ips <= 256 && (!s->n_lb_ips || s->lb_ips));
}

static void check_slice(const struct sl_endpoint_slice *es)
{
	check(es->ns && es->ns[0] && es->name && es->name[0] && es->service);
	check(es->n_ports <= 100 && (!es->n_ports || es->ports));
	for (size_t i = 0; i < es->n_ports; i++)
		check(es->ports[i].name && valid_proto(es->ports[i].protocol));
	/* Other families carry nothing. */
	check(es->ipv4 || !es->n_endpoints);
	check(es->n_endpoints <= 1000 && (!es->n_endpoints || es->endpoints));
	for (size_t i = 0; i < es->n_endpoints; i++) {
		const struct sl_slice_endpoint *ep = &es->endpoints[i];

		check(ep->node && ep->zone && ep->n_for_zones <= 8);
		for (size_t j = 0; j < ep->n_for_zones; j++)
			check(ep->for_zones[j] != NULL);
	}
}

/* A deep copy with every object's keys in reverse order (arrays keep
 * theirs: order is content there). JSON null is NULL in json-c. */
static json_object *reversed(json_object *v)
{
	json_object *r;

	if (json_object_is_type(v, json_type_object)) {
		size_t n = (size_t)json_object_object_length(v), i = 0;
		struct json_object_iterator it = json_object_iter_begin(v),
					    end = json_object_iter_end(v);
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		json_object **vals = calloc(n ? n : 1, sizeof(*vals));

		r = json_object_new_object();
		check(keys && vals && r);
		for (; !json_object_iter_equal(&it, &end) && i < n;
		     json_object_iter_next(&it), i++) {
			keys[i] = json_object_iter_peek_name(&it);
			vals[i] = json_object_iter_peek_value(&it);
		}
		while (i--)
			check(!json_object_object_add(r, keys[i],
						      reversed(vals[i])));
		free(keys);
		free(vals);
		return r;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		r = json_object_new_array();
		check(r != NULL);
		for (size_t i = 0; i < n; i++)
			check(!json_object_array_add(
				r, reversed(json_object_array_get_idx(v, i))));
		return r;
	}
	return json_object_get(v);
}

static int decode(json_object *o, struct sl_object *obj, uint64_t *digest)
{
	char why[256];
	int ret;

	why[0] = '\0';
	ret = sl_object_decode(o, obj, why, sizeof(why));
	check(ret >= -1 && ret <= 1);
	check(ret >= 0 || why[0]);
	*digest = 0;
	if (ret != 1)
		return ret;
	check(obj->key != NULL);
	if (obj->kind == SL_KIND_SERVICE) {
		check_service(&obj->svc);
		*digest = obj->svc.digest;
	} else if (obj->kind == SL_KIND_ENDPOINTSLICE) {
		check_slice(&obj->slice);
		*digest = obj->slice.digest;
	} else if (obj->kind == SL_KIND_NETPOL) {
		check(obj->netpol.ns && obj->netpol.ns[0] && obj->netpol.name &&
		      obj->netpol.name[0]);
		*digest = obj->netpol.digest;
	}
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_object a, b, c;
	uint64_t da, db, dc;
	json_object *o, *rev;
	int ra, rb, rc;
	char *s;

	if (size > MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	o = json_tokener_parse(s);
	free(s);
	if (!o)
		return 0;

	ra = decode(o, &a, &da);
	rb = decode(o, &b, &db);
	rev = reversed(o);
	rc = decode(rev, &c, &dc);
	check(ra == rb && ra == rc);
	if (ra == 1) {
		check(a.kind == b.kind && a.kind == c.kind);
		check(!strcmp(a.key, b.key) && !strcmp(a.key, c.key));
		check(da == db && da == dc);
		sl_object_free(&a);
		sl_object_free(&b);
		sl_object_free(&c);
	}
	json_object_put(rev);
	json_object_put(o);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The last compiled frontends as JSON, for the API and `sluicectl
 * services`: a read-only view of the sync's state, kept apart from the
 * compile in service.c, which it reads only through service.h and
 * service_int.h.
 */
#include "service.h"
#include "service_int.h"
#include "ipv4.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))

static const char *const svc_flag_names[] = {
	"affinity", "two-scopes", "local", "maglev", "external", "nodeport",
	"remote-only",
};
static const char *const be_flag_names[] = { "terminating", "local" };

/* Bit i of flags named names[i]. */
static json_object *flag_list(unsigned int flags, const char *const *names,
			      size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (flags & (1u << i))
			json_object_array_add(a,
					      json_object_new_string(names[i]));
	return a;
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val ? val : ""));
}

static void add_int(json_object *o, const char *key, int64_t val)
{
	json_object_object_add(o, key, json_object_new_int64(val));
}

static json_object *backend_json(const struct sl_svc_state *st, __u32 id)
{
	const struct sl_backend *b = sl_svc_backend_get(st, id);
	json_object *o = json_object_new_object();
	char ip[16], buf[24];

	if (!o)
		return NULL;
	add_int(o, "id", id);
	if (b) {
		sl_ip4_to_str(ntohl(b->addr), ip);
		snprintf(buf, sizeof(buf), "%s:%u", ip, ntohs(b->port));
		add_str(o, "address", buf);
		json_object_object_add(o, "flags",
				       flag_list(b->flags, be_flag_names,
						 ARRAY_SIZE(be_flag_names)));
	}
	return o;
}

static json_object *frontend_json(const struct sl_svc_state *st,
				  const struct sl_svc_frontend *f)
{
	json_object *o = json_object_new_object(), *bes;
	__u16 port = ntohs(f->key.port);
	char ip[16], buf[40];

	if (!o)
		return NULL;
	sl_ip4_to_str(ntohl(f->key.addr), ip);
	snprintf(buf, sizeof(buf), "%s:%u/%s", ip, port,
		 sl_proto_name(f->key.proto));
	add_str(o, "frontend", buf);
	add_str(o, "address", ip);
	add_int(o, "port", port);
	add_str(o, "protocol", sl_proto_name(f->key.proto));
	add_str(o, "scope",
		f->key.scope == SL_SCOPE_INT ? "internal" : "external");
	add_str(o, "service", sl_svc_name(st, f->val.svc_id));
	add_int(o, "svcId", f->val.svc_id);
	json_object_object_add(o, "flags",
			       flag_list(f->val.flags, svc_flag_names,
					 ARRAY_SIZE(svc_flag_names)));
	add_int(o, "count", f->val.count);
	if (f->val.flags & SL_SVC_F_AFFINITY)
		add_int(o, "affinityTimeout", f->val.affinity_timeout);
	if ((f->val.flags & SL_SVC_F_MAGLEV) && f->val.backend_id)
		add_int(o, "maglevTable", f->val.backend_id);
	bes = json_object_new_array();
	for (size_t s = 0; bes && s < f->val.count; s++)
		json_object_array_add(bes, backend_json(st, f->backends[s]));
	json_object_object_add(o, "backends", bes);
	return o;
}

json_object *sl_svc_frontends_json(const struct sl_svc_state *st)
{
	json_object *arr = json_object_new_array();
	struct sl_svc_frontend **v = NULL;
	size_t n = 0;

	if (arr && sl_svc_held_frontends(st, &v, &n)) {
		json_object_put(arr);
		return NULL;
	}
	for (size_t i = 0; arr && i < n; i++) {
		json_object *o = frontend_json(st, v[i]);

		if (!o) {
			json_object_put(arr);
			arr = NULL;
			break;
		}
		json_object_array_add(arr, o);
	}
	free(v);
	return arr;
}

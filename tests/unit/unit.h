/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every cmocka unit test includes, and the helpers they share. */
#ifndef SL_TESTS_UNIT_H
#define SL_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "model.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a JSON literal or fail the test. */
static inline json_object *parse_json(const char *s)
{
	json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

/* JSON written with ' for ": the cases stay readable. */
static inline json_object *parse_q(const char *q)
{
	char *s = strdup(q);
	json_object *o;

	assert_non_null(s);
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	o = parse_json(s);
	free(s);
	return o;
}

/* A dotted quad in host order, or fail the test. */
static inline uint32_t ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

/* --- Kubernetes objects (agent/k8s.h) -------------------------------------- */

/* Room for a decoder's reason. */
#define WHY_LEN 256

/* sl_object_decode() of JSON with ' for ": its result, why set. */
static inline int decode_q(const char *q, struct sl_object *obj,
			   char why[WHY_LEN])
{
	json_object *o = parse_q(q);
	int ret;

	why[0] = '\0';
	ret = sl_object_decode(o, obj, why, WHY_LEN);
	json_object_put(o);
	return ret;
}

/* Decode or fail the test with the reason. */
static inline void must_decode(const char *q, struct sl_object *obj)
{
	char why[WHY_LEN];
	int ret = decode_q(q, obj, why);

	if (ret != 1)
		fail_msg("decode: %d (%s) for %s", ret, why, q);
}

/* Decode into the model (which takes the object), or fail the test. */
static inline void model_load(struct sl_model *m, const char *q)
{
	struct sl_object obj;

	must_decode(q, &obj);
	assert_true(sl_model_upsert(m, &obj, "test") >= 0);
}

/* An object the decoders must refuse, and the field the reason names. */
struct reject_case {
	const char *json, *field;
};

static inline void assert_rejects(const struct reject_case *bad, size_t n)
{
	struct sl_object obj;
	char why[WHY_LEN];

	for (size_t i = 0; i < n; i++) {
		int ret = decode_q(bad[i].json, &obj, why);

		if (ret != -1 || !strstr(why, bad[i].field))
			fail_msg("case %zu: %d, \"%s\" does not name %s", i, ret,
				 why, bad[i].field);
	}
}

/* The digest of the Service, EndpointSlice or NetworkPolicy in q. */
static inline uint64_t digest_of(const char *q)
{
	struct sl_object obj;
	uint64_t d = 0;

	must_decode(q, &obj);
	switch (obj.kind) {
	case SL_KIND_SERVICE:
		d = obj.svc.digest;
		break;
	case SL_KIND_ENDPOINTSLICE:
		d = obj.slice.digest;
		break;
	case SL_KIND_NETPOL:
		d = obj.netpol.digest;
		break;
	default:
		fail_msg("no digest for a %s", sl_kind_name(obj.kind));
	}
	sl_object_free(&obj);
	return d;
}

/* Each of changed differs from base in one decoded field: its digest
 * differs from base's, and no two of them collide. */
static inline void assert_digests_differ(const char *base,
					 const char *const *changed, size_t n)
{
	uint64_t b = digest_of(base), *d = calloc(n, sizeof(*d));

	assert_non_null(d);
	for (size_t i = 0; i < n; i++) {
		d[i] = digest_of(changed[i]);
		if (d[i] == b)
			fail_msg("same digest as the base: %s", changed[i]);
		for (size_t j = 0; j < i; j++)
			if (d[i] == d[j])
				fail_msg("same digest: %s and %s", changed[i],
					 changed[j]);
	}
	free(d);
}

/*
 * A list at its limit passes, one more is refused: head, then max or
 * max + 1 items (item is a format of one %zu, given 1..250 in turn), then
 * tail. The object at the limit is left in *obj for the caller to look at
 * and free; the reason for one more must name reason.
 */
static inline void assert_list_limit(const char *head, const char *item,
				     const char *tail, size_t max,
				     const char *reason, struct sl_object *obj)
{
	struct sl_object over;
	char why[WHY_LEN];

	for (size_t n = max; n <= max + 1; n++) {
		size_t cap = strlen(head) + strlen(tail) +
			     n * (strlen(item) + 8) + 1, off;
		char *q = malloc(cap);

		assert_non_null(q);
		off = (size_t)snprintf(q, cap, "%s", head);
		for (size_t i = 0; i < n; i++) {
			if (i)
				q[off++] = ',';
			off += (size_t)snprintf(q + off, cap - off, item,
						i % 250 + 1);
		}
		snprintf(q + off, cap - off, "%s", tail);
		if (n == max) {
			must_decode(q, obj);
		} else {
			assert_int_equal(decode_q(q, &over, why), -1);
			if (!strstr(why, reason))
				fail_msg("%zu items: \"%s\" does not name %s",
					 n, why, reason);
		}
		free(q);
	}
}

#endif /* SL_TESTS_UNIT_H */

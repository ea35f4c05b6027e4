/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Field readers shared by the object decoders (k8s.c, k8s_service.c,
 * k8s_policy.c), in k8s_decode.c. Each checks the type of what it reads;
 * failures write a reason naming the field into why and return -1.
 *
 * Readers that take a where name the field the way kubectl explain does:
 * p inside where ("spec.ports[2]" + "port"), or p alone when where is "".
 */
#ifndef SL_AGENT_K8S_DECODE_H
#define SL_AGENT_K8S_DECODE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s.h"

/* Longest string field we keep. */
#define SL_K8S_MAX_STRING 4096

int sl_k8s_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* obj.a.b... as a JSON value, or NULL when any step is missing. */
json_object *sl_k8s_path(json_object *o, const char *p);

/* Absent or JSON null: the API's nil. */
static inline bool sl_k8s_is_null(json_object *v)
{
	return !v || json_object_is_type(v, json_type_null);
}

/* "where.p", or p when where is "", into buf; returns buf. */
const char *sl_k8s_field(char *buf, size_t n, const char *where, const char *p);

/*
 * A string at p: required ones must be present and non-empty; optional
 * ones may be absent or null (→ ""). Wrong types always fail.
 */
int sl_k8s_get_str(json_object *o, const char *p, bool required, char **out,
		   char *why, size_t len);

/* A string map at p (labels, a selector's matchLabels), sorted by key. */
int sl_k8s_get_labels(json_object *o, const char *p, struct sl_labels *l,
		      char *why, size_t len);

/*
 * The shared readers name p alone; when why (just written by one of them)
 * starts with p, put where in front of it. "out of memory" stays as is.
 */
void sl_k8s_requalify(char *why, size_t len, const char *where, const char *p);

/*
 * sl_k8s_path() treats a step that is not an object as missing, so
 * "spec": "x" would quietly decode as an empty spec. Each of paths
 * (NULL-terminated) that is present must be an object.
 */
int sl_k8s_check_objects(json_object *o, const char *where,
			 const char *const *paths, char *why, size_t len);

/* A list element we read fields from must be an object. */
int sl_k8s_check_element(json_object *e, const char *where, char *why,
			 size_t len);

/*
 * A list of at most max entries at p; absent or null is an empty one, with
 * *arr NULL (the caller can tell "absent" from "[]").
 */
int sl_k8s_get_list(json_object *o, const char *where, const char *p,
		    size_t max, json_object **arr, size_t *n, char *why,
		    size_t len);

/* Element i of a list of strings named p, borrowed. */
int sl_k8s_list_str(json_object *arr, size_t i, const char *p, const char **out,
		    char *why, size_t len);

/*
 * A string we only parse, never keep: borrowed from o, "" when absent or
 * null. flags: SL_K8S_REQUIRED refuses absent, null and ""; SL_K8S_NUL_OK
 * does not refuse an embedded NUL (the string reads as its part before it).
 */
#define SL_K8S_REQUIRED 0x1
#define SL_K8S_NUL_OK 0x2
int sl_k8s_peek_str(json_object *o, const char *where, const char *p,
		    unsigned int flags, const char **out, char *why,
		    size_t len);

/* Dotted quad to host order; -1 when not one. */
int sl_k8s_parse_ip4(const char *s, uint32_t *ip);

/* IPPROTO_TCP/_UDP/_SCTP for "TCP"/"UDP"/"SCTP", -1 for anything else. */
int sl_k8s_protocol(const char *s);
/* A port name as the API validates it (IANA_SVC_NAME): 1-15 of [-a-z0-9],
 * a letter among them, no leading, trailing or doubled '-'. */
bool sl_k8s_port_name_valid(const char *s);

/*
 * Digests: FNV-1a 64 over the decoded fields in a fixed order, never over
 * the JSON: key order, resourceVersion, managedFields and every field we
 * do not keep leave it alone, and any field we keep changes it. Integers
 * go in as fixed-width little-endian bytes (no struct padding, no host
 * order), strings with their NUL and lists with their length, so ("ab",
 * "c") and ("a", "bc") differ. The model skips an update whose digest is
 * unchanged; a 64-bit collision would hide one update, which we accept.
 * Start from SL_FNV_OFFSET.
 */
#define SL_FNV_OFFSET 14695981039346656037ull

void sl_fnv_u64(uint64_t *h, uint64_t v);
void sl_fnv_str(uint64_t *h, const char *s);

/* The decoders of each kind (k8s_service.c): 0, or -1 with why set; what
 * they filled is released by the matching _free even on failure. */
int sl_decode_service(json_object *o, struct sl_service *s, char *why,
		      size_t len);
void sl_service_free(struct sl_service *s);
int sl_decode_endpoint_slice(json_object *o, struct sl_endpoint_slice *es,
			     char *why, size_t len);
void sl_endpoint_slice_free(struct sl_endpoint_slice *es);
/* NetworkPolicy (k8s_policy.c), the same way. */
int sl_decode_netpol(json_object *o, struct sl_netpol *np, char *why,
		     size_t len);
void sl_netpol_free(struct sl_netpol *np);

#endif /* SL_AGENT_K8S_DECODE_H */

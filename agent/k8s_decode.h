/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Field readers shared by the object decoders (k8s.c, k8s_service.c, …).
 * Each checks the type of what it reads; failures write a reason naming the
 * field into why and return -1.
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

/*
 * A string at p: required ones must be present and non-empty; optional
 * ones may be absent or null (→ ""). Wrong types always fail.
 */
int sl_k8s_get_str(json_object *o, const char *p, bool required, char **out,
		   char *why, size_t len);

/* A string map at p (labels, a selector's matchLabels), sorted by key. */
int sl_k8s_get_labels(json_object *o, const char *p, struct sl_labels *l,
		      char *why, size_t len);

/* Dotted quad to host order; -1 when not one. */
int sl_k8s_parse_ip4(const char *s, uint32_t *ip);

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

/* IPPROTO_TCP/_UDP/_SCTP for "TCP"/"UDP"/"SCTP", -1 for anything else. */
int sl_k8s_protocol(const char *s);
/* A port name as the API validates it (IANA_SVC_NAME): 1-15 of [-a-z0-9],
 * a letter among them, no leading, trailing or doubled '-'. */
bool sl_k8s_port_name_valid(const char *s);

#endif /* SL_AGENT_K8S_DECODE_H */

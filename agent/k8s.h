/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Kubernetes objects the agent uses, decoded from their JSON form (from
 * the API server or a manifest file) into owned C structs. Decoding checks
 * every field it reads: an object that fails is reported and skipped, never
 * half-applied.
 */
#ifndef SL_AGENT_K8S_H
#define SL_AGENT_K8S_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sl_kind {
	SL_KIND_POD,
	SL_KIND_NAMESPACE,
	SL_KIND_NODE,
	SL_KIND_COUNT,
	SL_KIND_OTHER = SL_KIND_COUNT, /* understood later (services, …) */
};

const char *sl_kind_name(enum sl_kind kind);
/* From apiVersion and kind; SL_KIND_OTHER when not ours. */
enum sl_kind sl_kind_of(const char *api_version, const char *kind);

struct sl_label {
	char *key;
	char *value;
};

/* Sorted by key, keys unique: the canonical form identities hash. */
struct sl_labels {
	struct sl_label *items;
	size_t n;
};

struct sl_pod {
	char *ns, *name, *uid;
	char *node;          /* spec.nodeName, "" when unscheduled */
	uint32_t ip;         /* status.podIP, host order; 0 when none */
	bool host_network;
	struct sl_labels labels;
};

struct sl_namespace {
	char *name;
	struct sl_labels labels;
};

struct sl_node {
	char *name;
	bool have_pod_cidr;
	uint32_t pod_cidr;   /* host order */
	uint8_t pod_prefix;
	uint32_t internal_ip; /* host order; 0 when none */
};

/* One decoded object of any kind we use. */
struct sl_object {
	enum sl_kind kind;
	char *key; /* "namespace/name", or "name" for cluster-scoped kinds */
	union {
		struct sl_pod pod;
		struct sl_namespace ns;
		struct sl_node node;
	};
};

/* Largest object we accept, as JSON text: the API server's limit is ~1.5 MB. */
#define SL_K8S_MAX_LABELS 256

/**
 * sl_object_decode - decode one Kubernetes object
 * @o: the object as JSON
 * @out: filled on success; release with sl_object_free()
 * @why: on failure, a reason naming the field
 * @why_len: its size
 *
 * Returns 1 when decoded, 0 when the kind is not one we use (out untouched),
 * -1 when malformed.
 */
int sl_object_decode(json_object *o, struct sl_object *out, char *why,
		     size_t why_len);
void sl_object_free(struct sl_object *obj);

/* "kind ns/name" of a raw object for log lines, best effort. */
void sl_object_describe(json_object *o, char *buf, size_t len);

bool sl_labels_equal(const struct sl_labels *a, const struct sl_labels *b);
/* "k1=v1,k2=v2" into buf (truncated safely). */
void sl_labels_format(const struct sl_labels *l, char *buf, size_t len);

#endif /* SL_AGENT_K8S_H */

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
	SL_KIND_SERVICE,
	SL_KIND_ENDPOINTSLICE,
	SL_KIND_COUNT,
	SL_KIND_OTHER = SL_KIND_COUNT, /* understood later (policies, …) */
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

enum sl_service_type {
	SL_SVC_CLUSTER_IP,
	SL_SVC_NODE_PORT,
	SL_SVC_LOAD_BALANCER,
	SL_SVC_EXTERNAL_NAME,
};

struct sl_service_port {
	char *name;        /* "" for a single unnamed port */
	uint8_t protocol;  /* IPPROTO_TCP (default), _UDP, _SCTP */
	uint16_t port;
	uint16_t node_port; /* 0 when none */
};

/* Only what the datapath needs; targetPort is resolved in the slices. */
struct sl_service {
	char *ns, *name;
	enum sl_service_type type;
	uint32_t cluster_ip;    /* host order; 0 when none or headless */
	bool headless;          /* clusterIP "None" */
	uint32_t *external_ips; /* spec.externalIPs (IPv4 ones) */
	size_t n_external_ips;
	uint32_t *lb_ips;       /* status.loadBalancer.ingress[].ip, ipMode VIP */
	size_t n_lb_ips;
	struct sl_service_port *ports;
	size_t n_ports;
	bool affinity;          /* sessionAffinity ClientIP */
	uint32_t affinity_timeout; /* seconds, 1..86400, default 10800 */
	bool etp_local, itp_local; /* external/internalTrafficPolicy Local */
	uint16_t health_check_node_port;
	char *proxy_name;       /* label service.kubernetes.io/service-proxy-name, "" if none */
	char *lb_algorithm;     /* annotation sluice.io/lb-algorithm, "" if none */
	uint64_t digest;        /* of every field above: equal objects, equal digests */
};

struct sl_slice_port {
	char *name;        /* "" allowed */
	uint8_t protocol;
	uint16_t port;     /* 0: the port is ignored */
};

struct sl_slice_endpoint {
	uint32_t ip;       /* addresses[0], host order */
	bool ready;        /* conditions, with nil as the API defines it */
	bool serving;
	bool terminating;
	char *node;        /* nodeName, "" when absent */
	char *zone;        /* "" when absent */
	char **for_zones;  /* hints.forZones[].name */
	size_t n_for_zones;
};

struct sl_endpoint_slice {
	char *ns, *name;
	char *service;     /* label kubernetes.io/service-name, "" if none */
	bool ipv4;         /* addressType IPv4; other families carry nothing */
	struct sl_slice_port *ports;
	size_t n_ports;
	struct sl_slice_endpoint *endpoints;
	size_t n_endpoints;
	uint64_t digest;
};

/* One decoded object of any kind we use. */
struct sl_object {
	enum sl_kind kind;
	char *key; /* "namespace/name", or "name" for cluster-scoped kinds */
	union {
		struct sl_pod pod;
		struct sl_namespace ns;
		struct sl_node node;
		struct sl_service svc;
		struct sl_endpoint_slice slice;
	};
};

/* Labels an object may carry before we call it absurd. */
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
void sl_labels_free(struct sl_labels *l);
/* "k1=v1,k2=v2" into buf (truncated safely). */
void sl_labels_format(const struct sl_labels *l, char *buf, size_t len);

#endif /* SL_AGENT_K8S_H */

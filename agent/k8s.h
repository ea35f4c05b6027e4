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

#include "ipv4.h"

enum sl_kind {
	SL_KIND_POD,
	SL_KIND_NAMESPACE,
	SL_KIND_NODE,
	SL_KIND_SERVICE,
	SL_KIND_ENDPOINTSLICE,
	SL_KIND_NETPOL,
	SL_KIND_COUNT,
	SL_KIND_OTHER = SL_KIND_COUNT, /* not ours (yet): AdminNetworkPolicy, … */
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

/* A named container port: what a NetworkPolicy's named port resolves to. */
struct sl_pod_port {
	char *name;       /* IANA service name, never "" */
	uint8_t protocol; /* IPPROTO_TCP (default), _UDP, _SCTP */
	uint16_t port;    /* containerPort */
};

struct sl_pod {
	char *ns, *name, *uid;
	char *node;          /* spec.nodeName, "" when unscheduled */
	uint32_t ip;         /* status.podIP, host order; 0 when none */
	bool host_network;
	struct sl_labels labels;
	/* spec.containers[].ports[] that have a name, sorted by (name,
	 * protocol, port), exact duplicates dropped. Unnamed ports are
	 * checked but not kept: nothing refers to them (SPECS D.4). */
	struct sl_pod_port *ports;
	size_t n_ports;
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
	char *zone;           /* label topology.kubernetes.io/zone, "" if none */
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

/*
 * A label selector (metav1.LabelSelector): matchLabels AND every
 * expression. Empty (no labels, no expressions) selects everything.
 */
enum sl_sel_op {
	SL_SEL_IN,
	SL_SEL_NOT_IN,
	SL_SEL_EXISTS,
	SL_SEL_DOES_NOT_EXIST,
};

struct sl_sel_expr {
	char *key;
	enum sl_sel_op op;
	char **values;   /* sorted, unique; none for Exists/DoesNotExist */
	size_t n_values;
};

struct sl_selector {
	struct sl_labels match; /* matchLabels, sorted by key */
	struct sl_sel_expr *exprs; /* matchExpressions, in the object's order */
	size_t n_exprs;
};

enum sl_netpol_peer_kind {
	SL_PEER_SELECTOR, /* podSelector and/or namespaceSelector */
	SL_PEER_IPBLOCK,  /* an IPv4 ipBlock */
	/* An IPv6 ipBlock: valid, kept so the rule still has a peer (it
	 * must not widen to "every peer"), and matches nothing here. */
	SL_PEER_IPBLOCK6,
};

struct sl_netpol_peer {
	enum sl_netpol_peer_kind kind;
	/* SL_PEER_SELECTOR: at least one present. podSelector alone: pods
	 * of the policy's namespace; namespaceSelector alone: every pod of
	 * the matching namespaces; both: pods matching both (AND). */
	bool has_pod_sel, has_ns_sel;
	struct sl_selector pod_sel, ns_sel;
	/* SL_PEER_IPBLOCK: cidr minus every except (each strictly inside it);
	 * host bits of what was written are cleared, as Go's ParseCIDR does. */
	struct sl_ipv4_net cidr;
	struct sl_ipv4_net *except; /* sorted, unique */
	size_t n_except;
};

struct sl_netpol_port {
	uint8_t protocol; /* IPPROTO_TCP (default), _UDP, _SCTP */
	char *name;       /* a named port, or "" for a number or none */
	uint16_t port;    /* 0: every port of the protocol (or named) */
	uint16_t end_port; /* inclusive end of port..end_port; port when none */
};

/* Peers empty: every peer; ports empty: every port of every protocol. */
struct sl_netpol_rule {
	struct sl_netpol_peer *peers;
	size_t n_peers;
	struct sl_netpol_port *ports;
	size_t n_ports;
};

/*
 * A networking.k8s.io/v1 NetworkPolicy (SPECS E). policyTypes are kept
 * defaulted (absent or empty: Ingress, plus Egress when egress has rules);
 * the rules of a type the policy does not have are dropped, since they
 * mean nothing. "ingress: []" is n_ingress 0 (deny all once isolated),
 * "ingress: [{}]" one empty rule (allow all).
 */
struct sl_netpol {
	char *ns, *name;
	struct sl_selector pod_sel; /* spec.podSelector, {} when absent */
	bool ingress, egress;       /* policyTypes after defaulting */
	struct sl_netpol_rule *ingress_rules;
	size_t n_ingress;
	struct sl_netpol_rule *egress_rules;
	size_t n_egress;
	uint64_t digest;            /* of every field above */
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
		struct sl_netpol netpol;
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
/* Same named container ports (both sorted, as decoded). */
bool sl_pod_ports_equal(const struct sl_pod *a, const struct sl_pod *b);
/* The value of key, or NULL when absent. */
const char *sl_labels_get(const struct sl_labels *l, const char *key);
void sl_labels_free(struct sl_labels *l);
/* "k1=v1,k2=v2" into buf (truncated safely). */
void sl_labels_format(const struct sl_labels *l, char *buf, size_t len);

#endif /* SL_AGENT_K8S_H */

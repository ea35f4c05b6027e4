/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NetworkPolicy compiler: the model (Pods, Namespaces, NetworkPolicies)
 * and this node's name in, the contents of sl_policy and sl_policy_cidr
 * (include/sluice/policy.h) and each local endpoint's isolation flags
 * out, every array sorted so a sync can diff it against a mirror in one
 * pass. Nothing here touches a map.
 *
 * Semantics (SPECS E), and the choices where SPECS leaves them to us:
 *  - Endpoints are this node's pods, not on the host network, at the
 *    addresses the plugin attached them (its records, the model's local
 *    addresses: known from CNI ADD on, before the kubelet reports
 *    status.podIP); a pod no record names, at its status.podIP. Two
 *    claiming one address: the pod a record has there, else the first by
 *    "ns/name".
 *  - Peers select pods (never host-network ones, never nodes) by their
 *    identity: pods sharing an identity share namespace and labels, so
 *    selectors are evaluated once per identity. A namespace's labels
 *    always include kubernetes.io/metadata.name=<name>, even when the
 *    Namespace object lacks it or is not known yet.
 *  - The endpoint's own node (SL_ID_HOST) may always reach it: an isolated
 *    ingress gets an explicit (HOST, any protocol, any port) entry under
 *    SL_POLICY_ID_NODE, so the datapath needs no special case.
 *  - Named ports: for ingress, the endpoint's own container ports of that
 *    name and protocol (every number, if a pod lists a name twice); for
 *    egress, each selected remote pod's, under that pod's identity. A rule
 *    without peers and a named egress port opens the named port of every
 *    pod in the cluster (upstream e2e "should allow egress access on one
 *    named port"); an address that is not a pod's (ipBlock, world,
 *    nodes) never matches a named egress port. Pods of one identity that
 *    give a name different numbers open all of them to that identity.
 *  - ipBlock: per endpoint and direction, every cidr and except of every
 *    selecting rule goes into sl_policy_cidr; the identity of a prefix is
 *    the set of (protocol, port prefix, policy) it is allowed, which
 *    policy.h's longest-prefix argument makes exact. CIDR identities are
 *    allocated per distinct set, node-wide (the same set has the same
 *    identity on every endpoint), from SL_ID_CIDR_FIRST up, kept while the
 *    set is in use and never reused while the agent runs. The empty set
 *    (an except no other block re-allows) has one too: the prefix must be
 *    in the trie to shadow its cidr.
 *  - Entries another entry of the same endpoint and direction already
 *    allows are dropped: a port prefix inside another of the same
 *    identity and protocol; anything of an identity with an any-protocol
 *    entry; everything when (ANY, any protocol) is there. Of two entries
 *    with one key, the policy first by "ns/name" is named.
 *  - Policy ids name a NetworkPolicy ("ns/name") from its first compile
 *    until it is deleted, from SL_POLICY_ID_FIRST up, never reused while
 *    the agent runs (a flow record never names the wrong policy).
 *  - Established connections: conntrack keeps them (SPECS E.5); replies
 *    are never looked up here.
 */
#ifndef SL_AGENT_POLICY_H
#define SL_AGENT_POLICY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/endpoint.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>

#include "model.h"
#include "table.h"

/* sl_policy_val.policy_id values below SL_POLICY_ID_FIRST. */
#define SL_POLICY_ID_NONE 0
#define SL_POLICY_ID_NODE 1 /* the endpoint's own node (kubelet probes) */
#define SL_POLICY_ID_FIRST 16

/* One map entry each, exactly as written: network order where the map's
 * is, pads zero, port bits beyond the prefix zero. */
struct sl_policy_entry {
	struct sl_policy_key key;
	struct sl_policy_val val;
};

struct sl_policy_cidr_entry {
	struct sl_policy_cidr_key key;
	struct sl_policy_cidr_val val;
};

struct sl_policy_endpoint {
	uint32_t ip; /* host order */
	char *pod; /* "ns/name" */
	uint32_t flags; /* SL_EP_F_INGRESS_ISOLATED, SL_EP_F_EGRESS_ISOLATED */
	/* The policies selecting it, by enum sl_policy_dir, sorted by id. */
	uint32_t *selected[2];
	size_t n_selected[2];
};

struct sl_policy_name {
	uint32_t id;
	char *name; /* "ns/name" */
};

/* A compile's result. entries and cidrs sorted by the _cmp functions
 * below, endpoints by address, names by id. */
struct sl_policy_out {
	struct sl_policy_entry *entries;
	size_t n_entries;
	struct sl_policy_cidr_entry *cidrs;
	size_t n_cidrs;
	struct sl_policy_endpoint *eps;
	size_t n_eps;
	struct sl_policy_name *names;
	size_t n_names;
};

/* What outlives a compile: the ids. */
struct sl_policy_ids {
	struct sl_table policies; /* "ns/name" -> struct id_slot */
	struct sl_table cidr_sets; /* canonical allow set -> struct id_slot */
	uint32_t next_policy, next_cidr;
	uint64_t generation; /* of the compile in progress or last done */
	uint64_t stamp; /* of the (endpoint, direction) in progress */
};

void sl_policy_ids_init(struct sl_policy_ids *ids);
void sl_policy_ids_free(struct sl_policy_ids *ids);

/**
 * sl_policy_compile - compile every NetworkPolicy for this node's endpoints
 * @m: the model
 * @self: this node's name (spec.nodeName of local pods)
 * @ids: ids from the previous compiles, updated
 * @out: filled on success (free with sl_policy_out_free())
 *
 * Returns 0 or -ENOMEM (out then empty, ids still consistent).
 */
int sl_policy_compile(const struct sl_model *m, const char *self,
		      struct sl_policy_ids *ids, struct sl_policy_out *out);
void sl_policy_out_free(struct sl_policy_out *out);

/* The orders of the output arrays: endpoint address, direction, identity,
 * protocol, port, prefix length (host order for all). */
int sl_policy_key_cmp(const struct sl_policy_key *a,
		      const struct sl_policy_key *b);
int sl_policy_cidr_key_cmp(const struct sl_policy_cidr_key *a,
			   const struct sl_policy_cidr_key *b);

/*
 * The smallest set of port prefixes covering lo..hi exactly (at most 30):
 * ports[i] with its top plens[i] bits fixed. Returns how many.
 */
size_t sl_port_range_prefixes(uint16_t lo, uint16_t hi, uint16_t ports[30],
			      uint8_t plens[30]);

/* What one lookup found. */
struct sl_policy_match {
	const struct sl_policy_entry *entry; /* NULL: nothing allows it */
	uint32_t identity; /* looked up with: the remote's, or its CIDR one */
	uint32_t cidr_identity; /* the remote address's, 0 when none */
};

/*
 * sl_policy_lookup - what the datapath does for a new connection at
 * endpoint ep in direction dir, against the compiled entries: the remote's
 * identity (from the ipcache), then the CIDR identity of its address, each
 * tried in policy.h's order. Isolation is not checked here.
 * Returns true when an entry allows it.
 */
bool sl_policy_lookup(const struct sl_policy_out *out, uint32_t ep,
		      enum sl_policy_dir dir, uint32_t identity,
		      uint32_t remote_ip, uint8_t proto, uint16_t dport,
		      struct sl_policy_match *match);

const struct sl_policy_endpoint *
sl_policy_endpoint_find(const struct sl_policy_out *out, const char *which);
const char *sl_policy_name(const struct sl_policy_out *out, uint32_t id);

/* The port range [lo, hi] a key's port prefix covers. */
void sl_policy_key_ports(const struct sl_policy_key *k, unsigned int *lo,
			 unsigned int *hi);

/* "any", "host", "world", "remote-node" for a reserved identity, or NULL. */
const char *sl_policy_reserved_name(uint32_t id);

/*
 * sl_policy_endpoint_json - `sluicectl policy ENDPOINT`: an endpoint
 * ("ns/name" or its address) with its isolation, the policies selecting it
 * and its entries by direction, policies named; identities described from
 * the model when m is given. NULL when there is no such local endpoint.
 */
json_object *sl_policy_endpoint_json(const struct sl_policy_out *out,
				     const struct sl_model *m,
				     const char *which);

/* One end of a traced connection. */
struct sl_policy_trace_side {
	bool enforced; /* the pod is an endpoint of this node */
	bool isolated;
	bool allowed; /* not enforced here, not isolated, or an entry */
	struct sl_policy_match match;
};

struct sl_policy_verdict {
	bool allowed; /* both sides (a side enforced elsewhere counts as yes) */
	bool complete; /* both sides were decided on this node */
	struct sl_policy_trace_side egress; /* at the client */
	struct sl_policy_trace_side ingress; /* at the server */
	char reason[512];
};

/*
 * sl_policy_trace - would a new connection from pod "from" to pod "to" on
 * proto/port be allowed? Answered from the compiled entries the way the
 * datapath looks them up, without a packet: the client's egress, then the
 * server's ingress. -ENOENT when a pod is unknown or has no address.
 */
int sl_policy_trace(const struct sl_model *m, const struct sl_policy_out *out,
		    const char *self, const char *from, const char *to,
		    uint8_t proto, uint16_t port, struct sl_policy_verdict *v);

#endif /* SL_AGENT_POLICY_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's maps. Their key/value types live in include/sluice/; the
 * loader pins each map under bpfRoot by name so every pod's programs, the
 * plugin and the agent share one copy.
 */
#ifndef SL_LIB_MAPS_H
#define SL_LIB_MAPS_H

#include "common.h"

#include <sluice/config.h>
#include <sluice/conntrack.h>
#include <sluice/ipcache.h>
#include <sluice/pins.h>
#include <sluice/policy.h>
#include <sluice/service.h>
#include <sluice/sock_owner.h>
#include <sluice/tunnel.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sl_endpoint_key);
	__type(value, struct sl_endpoint);
	__uint(max_entries, SL_ENDPOINTS_MAX);
} sl_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sl_metrics_val);
	__uint(max_entries, SL_METRICS_MAX);
} sl_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SL_EVENTS_BYTES);
} sl_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sl_ipcache_key);
	__type(value, struct sl_ipcache_val);
	__uint(max_entries, SL_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
} sl_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sl_service_key);
	__type(value, struct sl_service_val);
	__uint(max_entries, SL_SERVICES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* mostly empty on most nodes */
} sl_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sl_backend);
	__uint(max_entries, SL_BACKENDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sl_affinity_key);
	__type(value, struct sl_affinity_val);
	__uint(max_entries, SL_AFFINITY_MAX);
} sl_affinity SEC(".maps");

/* LRU: a full table evicts the least recently used flow rather than
 * refusing new ones. The loader may size it from the configuration. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sl_ct_key);
	__type(value, struct sl_ct_entry);
	__uint(max_entries, SL_CT_MAX_DEFAULT);
} sl_ct SEC(".maps");

/* Maglev tables (see service.h): table id -> an inner array holding one
 * table. The inner definition is the template every table the agent
 * creates must match (type, sizes, flags). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, SL_MAGLEV_TABLES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		/* Sizes, not types: clang leaves a struct named only here
		 * a forward declaration in BTF, and the kernel takes no
		 * BTF key without a value. */
		__uint(key_size, sizeof(__u32));
		__uint(value_size, sizeof(struct sl_maglev_table));
		__uint(max_entries, 1);
	});
} sl_maglev SEC(".maps");

/* Host sockets' translations (see service.h); LRU: a socket's entries
 * need no delete, the least recently used go first when it fills. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sl_sock_nat_key);
	__type(value, struct sl_sock_nat_val);
	__uint(max_entries, SL_SOCK_NAT_MAX);
} sl_sock_nat SEC(".maps");

/* Who opened each socket (see sock_owner.h): no size, the kernel frees
 * an entry with its socket; BPF_F_CLONE hands a listener's entry to the
 * sockets accept() returns. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__type(key, int);
	__type(value, struct sl_sock_owner_val);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
} sl_sock_owner SEC(".maps");

/* NetworkPolicy (see policy.h): per-endpoint allow entries with the port
 * matched by prefix, and ipBlock CIDRs to CIDR identities. Written by the
 * agent; read for the first packet of each connection (lib/policy.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sl_policy_key);
	__type(value, struct sl_policy_val);
	__uint(max_entries, SL_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
} sl_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sl_policy_cidr_key);
	__type(value, struct sl_policy_cidr_val);
	__uint(max_entries, SL_POLICY_CIDR_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_policy_cidr SEC(".maps");

/* Events sent and shed per (type, subtype), per CPU (see event.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sl_event_stats_val);
	__uint(max_entries, SL_EVENT_STATS_MAX);
} sl_event_stats SEC(".maps");

/* Each CPU's token bucket for events (lib/events.h). */
struct sl_event_bucket {
	__u64 credit_ns;
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sl_event_bucket);
	__uint(max_entries, 1);
} sl_event_bucket SEC(".maps");

/* The other nodes' pod CIDRs (see tunnel.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sl_tunnel_key);
	__type(value, struct sl_tunnel_val);
	__uint(max_entries, SL_TUNNEL_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
} sl_tunnel SEC(".maps");

/* Written by the agent at start (see config.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sl_config);
	__uint(max_entries, 1);
} sl_config SEC(".maps");

/* Read by user space only: which object is loaded (see pins.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sl_info);
	__uint(max_entries, 1);
} sl_info SEC(".maps");

/* The agent's settings (see config.h): all zero until it writes them. */
static __always_inline struct sl_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_config, &zero);
}

/* The pod of this node at ip4, or NULL. */
static __always_inline struct sl_endpoint *lookup_endpoint4(__be32 ip4)
{
	struct sl_endpoint_key key = { .ip4 = ip4 };

	return bpf_map_lookup_elem(&sl_endpoints, &key);
}

#endif /* SL_LIB_MAPS_H */

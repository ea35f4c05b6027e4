/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drop reasons and trace points: one list, expanded into the enum the
 * datapath returns and the name table user space prints. Codes are part of
 * the pinned-map ABI (they index sl_metrics): never renumber, retire an
 * entry as UNUSED_<code>.
 */
#ifndef SLUICE_DROP_H
#define SLUICE_DROP_H

#include <linux/types.h>

/* Drops: 1..127. A program returns the negated code. */
#define SL_DROP_REASONS(X)                                                     \
	X(1, SHORT_FRAME, "frame shorter than its Ethernet header")            \
	X(2, UNSUPPORTED_L3, "unsupported L3 protocol")                        \
	X(3, INVALID_IPV4, "malformed IPv4 header")                            \
	X(4, SPOOFED_SOURCE, "source IPv4 not owned by the sending pod")       \
	X(5, REWRITE_FAILED, "failed to rewrite packet headers")               \
	X(6, INVALID_L4, "truncated TCP or UDP header")                        \
	X(7, NO_SERVICE_BACKEND, "service has no endpoints to send to")        \
	X(8, SERVICE_INCONSISTENT, "service slot without a backend")           \
	X(9, CT_CREATE_FAILED, "conntrack entry could not be created")         \
	X(10, NO_LOCAL_BACKEND, "traffic policy Local, no endpoint on this node") \
	X(11, POLICY_DENIED_EGRESS, "denied by the sending pod's egress policy") \
	X(12, POLICY_DENIED_INGRESS, "denied by the receiving pod's ingress policy") \
	X(13, ENDPOINT_NOT_READY, "pod's policy not programmed by the agent yet") \
	X(14, NO_TUNNEL_ENDPOINT, "no node holds the destination's pod CIDR") \
	X(15, TUNNEL_SOURCE_UNKNOWN, "tunnel packet from an address that is no node")

/* Trace points (packets the datapath let through): 128..255. */
#define SL_TRACE_POINTS(X)                                                     \
	X(128, REDIRECT_PEER, "redirected to a pod on this node")              \
	X(129, TO_STACK, "passed to the host network stack")                   \
	X(130, TO_POD, "delivered to the pod by the host stack")               \
	X(131, SERVICE_NEW, "new connection to a service, backend chosen")     \
	X(132, SERVICE_REPLY, "service reply translated back to the frontend") \
	X(133, FROM_NETDEV, "entered the node through its interface")          \
	X(134, TO_NETDEV, "left the node through its interface")               \
	X(135, SERVICE_ICMP, "ICMP error about a service connection translated") \
	X(136, POLICY_ALLOWED, "new connection allowed by a NetworkPolicy")    \
	X(137, TO_OVERLAY, "sent to another node through the VXLAN tunnel")  \
	X(138, FROM_OVERLAY, "arrived from another node through the tunnel") \
	X(139, TO_NODE, "routed to another node's pod past the host stack")

enum sl_reason {
#define SL_ENUM_ENTRY(code, name, desc) SL_##name = code,
	SL_DROP_REASONS(SL_ENUM_ENTRY) SL_TRACE_POINTS(SL_ENUM_ENTRY)
#undef SL_ENUM_ENTRY
};

#define SL_DROP_MAX 127
#define SL_REASON_MAX 255

/* Direction relative to the pod. */
enum sl_dir {
	SL_DIR_EGRESS = 0,  /* leaving the pod (host veth tc ingress) */
	SL_DIR_INGRESS = 1, /* entering the pod */
	SL_DIR_MAX = 2,
};

/*
 * sl_metrics: per-CPU packet and byte counters, indexed by
 * sl_metrics_index(reason, dir). Counted for every packet, whether or not an
 * event was emitted for it.
 */
#define SL_METRICS_MAP "sl_metrics"
#define SL_METRICS_MAX ((SL_REASON_MAX + 1) * SL_DIR_MAX)

struct sl_metrics_val {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct sl_metrics_val) == 16, "sl_metrics_val ABI");

static inline __u32 sl_metrics_index(__u32 reason, __u32 dir)
{
	return (dir << 8) | (reason & SL_REASON_MAX);
}

#endif /* SLUICE_DROP_H */

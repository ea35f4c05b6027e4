/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_endpoints: the pods on this node, keyed by their IPv4 address. Written
 * by the CNI plugin on ADD (and reconciled by the agent); read by the
 * datapath to redirect pod-to-pod traffic and to check a pod's source
 * address.
 */
#ifndef SLUICE_ENDPOINT_H
#define SLUICE_ENDPOINT_H

#include <linux/types.h>

#define SL_ENDPOINTS_MAP "sl_endpoints"
#define SL_ENDPOINTS_MAX 65536

struct sl_endpoint_key {
	__be32 ip4;
};
_Static_assert(sizeof(struct sl_endpoint_key) == 4, "sl_endpoint_key ABI");

/* Flag bits in sl_endpoint.flags. */
#define SL_EP_F_NONE 0u
/* Selected by a NetworkPolicy of that direction: only what sl_policy
 * allows passes (include/sluice/policy.h). */
#define SL_EP_F_INGRESS_ISOLATED 0x1u
#define SL_EP_F_EGRESS_ISOLATED 0x2u
/* Written by the plugin at ADD when an agent runs on the node: the agent
 * has not programmed this pod's identity and policy yet, so the datapath
 * lets nothing in or out (SL_ENDPOINT_NOT_READY) until the agent rewrites
 * the entry without it. A pod an isolating policy selects is thus never
 * open, not even before the agent first sees it. */
#define SL_EP_F_PENDING 0x4u

struct sl_endpoint {
	__u32 ifindex;   /* host-side veth */
	__u32 flags;     /* SL_EP_F_* */
	__u32 identity;  /* security identity; 0 until the agent sets it */
	__u8 pod_mac[6]; /* the pod's interface (destination MAC) */
	__u8 host_mac[6]; /* host-side veth, the pod's gateway (source MAC) */
};
_Static_assert(sizeof(struct sl_endpoint) == 24, "sl_endpoint ABI");

/*
 * The link-local address every pod uses as its default gateway, answered by
 * a permanent neighbour entry for the host veth's MAC (no ARP, no bridge).
 */
#define SL_POD_GATEWAY "169.254.1.1"

#endif /* SLUICE_ENDPOINT_H */

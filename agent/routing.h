/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Cross-node routing: how this node reaches the pods of every other node,
 * from the Node objects (spec.podCIDR, the InternalIP). Two modes:
 *
 *  - native: one route per node, "podCIDR via InternalIP", so the
 *    underlay carries pod addresses as they are (nodes share an L2, or
 *    the underlay routes pod CIDRs);
 *  - vxlan: one collect-metadata VXLAN device (include/sluice/tunnel.h)
 *    and one route per node through it; its programs pick the far end per
 *    packet from sl_tunnel and carry the sender's identity in the VNI.
 *
 * Both keep sl_tunnel equal to the other nodes' pod CIDRs. The routes are
 * marked with our own protocol number (SL_RTPROT), so a restarted agent
 * finds the ones it made and removes those no Node asks for any more. A
 * node added or removed changes one route and one map entry; nothing is
 * rewritten when nothing changed.
 */
#ifndef SL_AGENT_ROUTING_H
#define SL_AGENT_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct sl_datapath;
struct nl_sock;

/* rtm_protocol of our routes: unassigned in iproute2's rt_protos. */
#define SL_RTPROT 0x5c

enum sl_routing_mode {
	SL_ROUTING_NATIVE = 0,
	SL_ROUTING_VXLAN,
};

/* One other node's pod CIDR and where it lives (host byte order). */
struct sl_route_want {
	uint32_t cidr;
	uint8_t prefix;
	uint32_t node_ip;
};

struct sl_routing {
	enum sl_routing_mode mode;
	uint16_t vxlan_port;
	/* Other nodes' pods reached through the host stack's forwarding
	 * rather than the datapath's (datapath/lib/host_route.h). */
	bool stack_routing;
	int overlay_ifindex; /* VXLAN mode, once the device is up */
	unsigned int mtu;    /* the underlay's, as last seen; 0: not yet */
	struct nl_sock *nl;
	/* What the last sync applied: skipped when the model asks the same. */
	struct sl_route_want *applied;
	size_t n_applied;
	bool valid;
	unsigned int routes;     /* routes in place after the last sync */
	unsigned int failed;     /* routes the kernel refused, last sync */
	char error[256];         /* the last refusal, "" when none */
};

/* "native" or "vxlan"; -EINVAL for anything else. */
int sl_routing_mode_parse(const char *s, enum sl_routing_mode *mode);
const char *sl_routing_mode_name(enum sl_routing_mode mode);

/*
 * sl_routing_want - the other nodes' pod CIDRs with an InternalIP, sorted
 * by CIDR then prefix, self excluded. Returns how many (*out: malloc'ed,
 * NULL when none) or -ENOMEM.
 */
long sl_routing_want(const struct sl_model *m, const char *self,
		     struct sl_route_want **out);

/*
 * sl_routing_open - the netlink socket; in VXLAN mode the overlay device
 * (created, or checked and kept), its programs attached and its ifindex in
 * sl_config; in native mode an overlay device left from a VXLAN run is
 * removed and sl_config says native. sl_config also gets who routes
 * between nodes (r->stack_routing). Call again after a datapath upgrade
 * (the programs are re-attached when they are not this datapath's).
 */
int sl_routing_open(struct sl_routing *r, const struct sl_datapath *dp);

/*
 * sl_routing_sync - routes and sl_tunnel for the Nodes of m, and the
 * overlay's MTU from the underlay device (the one holding self's
 * InternalIP). A route the kernel refuses (an InternalIP not reachable
 * without a router, in native mode) is logged, counted in r->failed and
 * retried next sync; the others still go in. Returns 0 or -errno for a
 * failure that left nothing usable (netlink gone, the map unwritable).
 */
int sl_routing_sync(struct sl_routing *r, const struct sl_model *m,
		    const char *self, int tunnel_fd);

/* The next sync reads the kernel's routes and the map back. */
void sl_routing_invalidate(struct sl_routing *r);
void sl_routing_close(struct sl_routing *r);

/* The MTU pods get: the underlay's, less the encapsulation in VXLAN
 * mode; 0 while the underlay is not known. */
unsigned int sl_routing_pod_mtu(const struct sl_routing *r);

#endif /* SL_AGENT_ROUTING_H */

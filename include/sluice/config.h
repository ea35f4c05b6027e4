/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_config: node-wide facts the agent learns at run time and the datapath
 * reads, one entry at key 0. Constants known before the load are rodata
 * instead (see datapath/lib/sock.h).
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <linux/types.h>

#define SL_CONFIG_MAP "sl_config"

struct sl_config {
	/*
	 * The node's network namespace (SO_NETNS_COOKIE of the agent's
	 * sockets). The cgroup socket programs act only on sockets of this
	 * namespace, so several nodes can share one machine and one cgroup
	 * (each with its own bpfRoot), and pods, whose sockets live in their
	 * own namespaces, are left to the programs on their veth. 0 (not
	 * written yet, or a kernel before 5.14): every namespace, the
	 * production case of one node per machine.
	 */
	__u64 netns_cookie;
	/*
	 * The event ring's budget (include/sluice/event.h): events per
	 * second and burst, per CPU, beyond which events are shed and
	 * counted. 0: SL_EVENT_RATE_DEFAULT and SL_EVENT_BURST_DEFAULT.
	 */
	__u32 event_rate;
	__u32 event_burst;
	__u32 flags; /* SL_CFG_F_* */
	/* VXLAN mode: the overlay device (include/sluice/tunnel.h) that
	 * other nodes' pods are reached through. 0: native routing. */
	__u32 tunnel_ifindex;
};
_Static_assert(sizeof(struct sl_config) == 24, "sl_config ABI");

/* No flow start and close events (drops and verdicts still go). */
#define SL_CFG_F_NO_FLOW_EVENTS 0x1u
/*
 * Other nodes' pods are reached through the host stack's forwarding (its
 * routes, netfilter, neighbours), as the reference plugins do. Unset, the
 * datapath routes them itself (datapath/lib/host_route.h).
 */
#define SL_CFG_F_STACK_ROUTING 0x2u

#endif /* SLUICE_CONFIG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's own interfaces: where traffic from outside the node reaches
 * NodePorts, external IPs and load-balancer IPs. The agent attaches
 * sl_from_netdev and sl_to_netdev to them (tc clsact) and keeps them
 * attached: at start, after a datapath upgrade, and on every resync (a
 * device may appear later).
 */
#ifndef SL_AGENT_NETDEV_H
#define SL_AGENT_NETDEV_H

#include <stddef.h>

struct sl_agent;

/*
 * sl_netdev_attach - attach to the devices in a->devices (comma-separated
 * names), or with "auto"/NULL to every interface holding an IPv4 address
 * other than loopback. Records the list in a->netdevs. Returns how many
 * were newly attached, or -errno for the first failure (the others are
 * still tried).
 */
int sl_netdev_attach(struct sl_agent *a);

#endif /* SL_AGENT_NETDEV_H */

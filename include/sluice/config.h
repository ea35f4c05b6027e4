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
	__u64 pad;
};
_Static_assert(sizeof(struct sl_config) == 16, "sl_config ABI");

#endif /* SLUICE_CONFIG_H */

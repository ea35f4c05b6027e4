/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level Service load balancing for host-network processes: the
 * agent attaches the pinned cgroup sock_addr programs (sl_sock_connect4,
 * sl_sock_sendmsg4, sl_sock_recvmsg4, sl_sock_getpeername4) to a cgroup v2
 * directory, once per program, and tells them which network namespace is
 * the node's. The attachments outlive the agent, as the pinned datapath
 * does.
 */
#ifndef SL_AGENT_CGROUP_H
#define SL_AGENT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_SOCK_PROGS 4
#define SL_CGROUP_RECORD "cgroup-attach" /* in runDir: what we attached */

struct sl_sock_lb {
	char cgroup[PATH_MAX];   /* where attached; "" when off */
	bool attached;           /* every program attached there */
	bool econnrefused;       /* refusals say ECONNREFUSED, not EPERM */
	uint64_t netns_cookie;   /* written to sl_config; 0: every netns */
	unsigned int prog_ids[SL_SOCK_PROGS];
	unsigned int detached;   /* older programs of ours removed at start */
	char error[256];
};

struct sl_agent;

/*
 * sl_cgroup_attach - attach the socket programs at a->cgroup_root
 *
 * A->cgroup_root is a cgroup v2 directory, "none", or NULL for the
 * machine's cgroup v2 mount (/sys/fs/cgroup, else /sys/fs/cgroup/unified
 * on a hybrid layout). Programs already attached there are left alone;
 * programs of ours attached by an earlier start (recorded in runDir, and
 * still named as ours) that are no longer the pinned ones are detached.
 * With "none", every recorded attachment is detached.
 *
 * Returns -EINVAL only when an explicit --cgroup-root is not a cgroup v2
 * directory; any other failure is logged, kept in a->sock_lb.error and
 * leaves host-network access to Services off (pods are unaffected).
 */
int sl_cgroup_attach(struct sl_agent *a);

#endif /* SL_AGENT_CGROUP_H */

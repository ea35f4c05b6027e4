/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The cgroup socket programs: the agent attaches the pinned programs to a
 * cgroup v2 directory, once per program, and tells them which network
 * namespace is the node's. They serve two things:
 *  - Service load balancing for host-network processes (sl_sock_connect4,
 *    sl_sock_sendmsg4, sl_sock_recvmsg4, sl_sock_getpeername4);
 *  - flow attribution, the process behind each end of a flow and TCP's
 *    RTT (sl_sock_post_bind4 and sl_sock_ops; connect4 and sendmsg4 take
 *    part too), for processes of every namespace in the cgroup: only
 *    sockets of processes inside it are ever attributed.
 * The attachments outlive the agent, as the pinned datapath does.
 */
#ifndef SL_AGENT_CGROUP_H
#define SL_AGENT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_SOCK_PROGS 4         /* Service load balancing */
#define SL_SOCK_OBSERVE_PROGS 2 /* flow attribution's own */
#define SL_SOCK_ALL_PROGS (SL_SOCK_PROGS + SL_SOCK_OBSERVE_PROGS)
#define SL_CGROUP_RECORD "cgroup-attach" /* in runDir: what we attached */

struct sl_sock_lb {
	char cgroup[PATH_MAX];   /* where attached; "" when off */
	bool attached;           /* every load-balancing program attached */
	bool econnrefused;       /* refusals say ECONNREFUSED, not EPERM */
	uint64_t netns_cookie;   /* written to sl_config; 0: every netns */
	unsigned int prog_ids[SL_SOCK_PROGS];
	unsigned int detached;   /* older ones of ours removed at start */
	/* Flow attribution: its two programs attached too. Without them
	 * (an older datapath, an attach refused), flows go unattributed and
	 * Services still work. */
	bool observing;
	unsigned int observe_prog_ids[SL_SOCK_OBSERVE_PROGS];
	unsigned int observe_detached;
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
 * leaves host-network access to Services off (pods are unaffected). A
 * failure of the attribution programs alone only leaves flows without
 * processes.
 */
int sl_cgroup_attach(struct sl_agent *a);

/* The machine's cgroup v2 mount (/sys/fs/cgroup, else
 * /sys/fs/cgroup/unified) into out (PATH_MAX); false without one. */
bool sl_cgroup_v2_mount(char *out);

#endif /* SL_AGENT_CGROUP_H */

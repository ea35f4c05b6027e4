/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_sock_owner: who opened a socket, kept with the socket itself
 * (BPF_MAP_TYPE_SK_STORAGE: the kernel frees an entry with its socket, so
 * the map needs no size and no cleanup). Written by the cgroup socket
 * programs, which run in the process's own context: connect4 for clients,
 * sendmsg4 for UDP senders, post_bind4 for servers. BPF_F_CLONE copies a
 * listener's entry to every socket accept() returns, so an accepted
 * connection is owned by whoever bound its listener. Read by sl_sock_ops,
 * which runs in softirq context where "current" is any task, to name the
 * owner in socket events (include/sluice/event.h).
 *
 * Only sockets of processes inside the cgroup the agent attaches its
 * programs to (--cgroup-root) have an owner.
 */
#ifndef SLUICE_SOCK_OWNER_H
#define SLUICE_SOCK_OWNER_H

#include <linux/types.h>

#define SL_SOCK_OWNER_MAP "sl_sock_owner"
#define SL_SOCK_COMM_LEN 16 /* TASK_COMM_LEN */

/* The owner as socket events carry it. Any field may be 0 (unknown):
 * pid, tgid and comm need Linux 6.1 in cgroup socket programs. */
struct sl_sock_owner {
	__u64 cgroup_id;  /* bpf_get_current_cgroup_id(): cgroup v2 inode */
	__u32 pid;        /* the kernel's pid: the thread */
	__u32 tgid;       /* the kernel's tgid: the process, as ps shows it */
	char comm[SL_SOCK_COMM_LEN]; /* the executable's name, NUL-padded */
};
_Static_assert(sizeof(struct sl_sock_owner) == 32, "sl_sock_owner ABI");

/* The map's value: the owner, and for UDP the peer the socket was last
 * announced for (an event per peer, not per datagram). */
struct sl_sock_owner_val {
	struct sl_sock_owner owner;
	__be32 udp_peer_addr;
	__be16 udp_peer_port;
	__u16 pad;
};
_Static_assert(sizeof(struct sl_sock_owner_val) == 40, "sl_sock_owner_val ABI");

#endif /* SLUICE_SOCK_OWNER_H */

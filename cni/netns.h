/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Working in the pod's network namespace from the node's. */
#ifndef SL_CNI_NETNS_H
#define SL_CNI_NETNS_H

struct nl_sock;

/* Open a netns file (e.g. /var/run/netns/x); fd or -errno. */
int sl_netns_open(const char *path);

/* A NETLINK_ROUTE socket bound to the netns behind netns_fd (-1: ours). */
struct nl_sock *sl_nl_socket(int netns_fd, int *err);

/* Write a sysctl under /proc/sys/ as seen from netns_fd (-1: ours). */
int sl_sysctl_write(int netns_fd, const char *key, const char *value);

#endif /* SL_CNI_NETNS_H */

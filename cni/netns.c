// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netlink/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sl_netns_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Run fn inside netns_fd and come back. A netlink socket or a /proc/sys/net
 * file keeps the namespace it was opened in, so a short visit is enough.
 */
static int in_netns(int netns_fd, int (*fn)(void *), void *arg)
{
	int self, ret, err;

	if (netns_fd < 0)
		return fn(arg);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET) < 0) {
		err = -errno;
		close(self);
		return err;
	}
	ret = fn(arg);
	/* Failing to return would leave us acting on the pod's namespace. */
	if (setns(self, CLONE_NEWNET) < 0)
		ret = -errno;
	close(self);
	return ret;
}

struct sock_arg {
	struct nl_sock *sk;
};

static int open_sock(void *p)
{
	struct sock_arg *arg = p;
	int err;

	arg->sk = nl_socket_alloc();
	if (!arg->sk)
		return -ENOMEM;
	err = nl_connect(arg->sk, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(arg->sk);
		arg->sk = NULL;
		return -EIO;
	}
	return 0;
}

struct nl_sock *sl_nl_socket(int netns_fd, int *err)
{
	struct sock_arg arg = { NULL };

	*err = in_netns(netns_fd, open_sock, &arg);
	if (*err < 0 && arg.sk) {
		nl_socket_free(arg.sk);
		arg.sk = NULL;
	}
	return arg.sk;
}

struct sysctl_arg {
	const char *key, *value;
};

static int write_sysctl(void *p)
{
	struct sysctl_arg *arg = p;
	char path[PATH_MAX];
	ssize_t len = (ssize_t)strlen(arg->value);
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "/proc/sys/%s", arg->key) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, arg->value, (size_t)len) != len)
		err = -errno;
	close(fd);
	return err;
}

int sl_sysctl_write(int netns_fd, const char *key, const char *value)
{
	struct sysctl_arg arg = { key, value };

	return in_netns(netns_fd, write_sysctl, &arg);
}

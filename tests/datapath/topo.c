// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "topo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The node's namespace, to come back to after visiting a pod's. */
static int node_ns = -1;

static int netns_ino(ino_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

/*
 * No IPv6 in the namespaces: a link coming up would otherwise send router
 * solicitations and MLD reports through the programs under test, counted
 * as drops the cases do not expect. A kernel without IPv6 has nothing to
 * turn off.
 */
static int quiet_ipv6(void)
{
	static const char *const knobs[] = {
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
	};

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		int fd = open(knobs[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (write(fd, "1", 1) != 1) {
			close(fd);
			return -EIO;
		}
		close(fd);
	}
	return 0;
}

int topo_enter_netns(void)
{
	ino_t before, after;
	int err;

	err = netns_ino(&before);
	if (err < 0)
		return err;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	err = netns_ino(&after);
	if (err < 0)
		return err;
	if (before == after)
		return -EEXIST;
	node_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (node_ns < 0)
		return -errno;
	return quiet_ipv6();
}

static int run(const char *cmd)
{
	int status = system(cmd);

	if (status != 0) {
		fprintf(stderr, "topo: '%s' failed\n", cmd);
		return -EIO;
	}
	return 0;
}

static void mac_str(const __u8 *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

/*
 * A pod's veth: created in the node namespace with its pod end put straight
 * into the pod's namespace. iproute2 names a namespace by a process in it,
 * so a child holds the new namespace while `ip` runs; the nsfs file kept in
 * ep->pod_ns holds it afterwards.
 */
static int create_pod(struct test_ep *ep)
{
	int ready[2], hold[2], err = 0;
	char host_mac[18], pod_mac[18], cmd[320], path[64], c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		err = -errno;
		close(ready[0]);
		close(ready[1]);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out;
	}
	if (pid == 0) {
		/* The pod: a namespace, IPv6 off, wait for the veth. */
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWNET) < 0 || quiet_ipv6() < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	close(hold[0]);
	hold[0] = -1;
	if (read(ready[0], &c, 1) != 1) {
		err = -ECHILD;
		goto reap;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ep->pod_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ep->pod_ns < 0) {
		err = -errno;
		goto reap;
	}
	mac_str(ep->host_mac, host_mac, sizeof(host_mac));
	mac_str(ep->pod_mac, pod_mac, sizeof(pod_mac));
	snprintf(cmd, sizeof(cmd),
		 "ip link add %s address %s mtu %d type veth peer name %s "
		 "address %s mtu %d netns %d",
		 ep->host_dev, host_mac, TOPO_MTU, ep->pod_dev, pod_mac,
		 TOPO_MTU, (int)pid);
	err = run(cmd);
reap:
	close(hold[1]); /* lets the child exit */
	hold[1] = -1;
	waitpid(pid, NULL, 0);
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	return err;
}

static int pod_enter(const struct test_ep *ep)
{
	return setns(ep->pod_ns, CLONE_NEWNET) < 0 ? -errno : 0;
}

static int pod_leave(void)
{
	return setns(node_ns, CLONE_NEWNET) < 0 ? -errno : 0;
}

static int link_up(struct test_ep *ep)
{
	char cmd[128];
	int err;

	snprintf(cmd, sizeof(cmd), "ip link set %s up", ep->host_dev);
	err = run(cmd);
	if (err < 0)
		return err;
	ep->ifindex = if_nametoindex(ep->host_dev);
	if (!ep->ifindex)
		return -errno;

	err = pod_enter(ep);
	if (err < 0)
		return err;
	snprintf(cmd, sizeof(cmd), "ip link set %s up", ep->pod_dev);
	err = run(cmd);
	if (!err) {
		ep->pod_ifindex = if_nametoindex(ep->pod_dev);
		if (!ep->pod_ifindex)
			err = -errno;
	}
	/* Back to the node whatever happened: the suite runs there. */
	if (pod_leave() < 0) {
		fprintf(stderr, "topo: cannot return to the node namespace\n");
		abort();
	}
	return err;
}

int topo_create(struct test_ep *eps, int n)
{
	int err;

	if (node_ns < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (!eps[i].host_dev)
			continue;
		err = create_pod(&eps[i]);
		if (!err)
			err = link_up(&eps[i]);
		if (err < 0)
			return err;
	}
	return 0;
}

void topo_destroy(struct test_ep *eps, int n)
{
	for (int i = 0; i < n; i++) {
		if (eps[i].host_dev && eps[i].pod_ns >= 0)
			close(eps[i].pod_ns);
		eps[i].pod_ns = -1;
	}
}

int topo_socket(const struct test_ep *ep, bool pod_side)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = pod_side ? ep->pod_ifindex : ep->ifindex,
	};
	int fd, err = 0;

	/* A socket belongs to the namespace it was created in. */
	if (pod_side) {
		err = pod_enter(ep);
		if (err < 0)
			return err;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    htons(ETH_P_ALL));
	if (fd < 0)
		err = -errno;
	else if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		err = -errno;
	if (pod_side && pod_leave() < 0) {
		fprintf(stderr, "topo: cannot return to the node namespace\n");
		abort();
	}
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

int topo_socket_vnet(const struct test_ep *ep, bool pod_side)
{
	int fd = topo_socket(ep, pod_side), one = 1, err;

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) <
	    0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A frame, after a virtio_net_hdr when h is not NULL. */
static int send_frame(int fd, const struct pkt *p,
		      const struct virtio_net_hdr *h)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = h ? sizeof(*h) : 0 },
		{ .iov_base = (void *)p->data, .iov_len = p->len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	n = sendmsg(fd, &msg, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == iov[0].iov_len + p->len ? 0 : -EMSGSIZE;
}

static int recv_frame(int fd, struct pkt *p, struct virtio_net_hdr *h,
		      int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const size_t hlen = h ? sizeof(*h) : 0;

	for (;;) {
		struct sockaddr_ll from;
		struct iovec iov[2] = {
			{ .iov_base = h, .iov_len = hlen },
			{ .iov_base = p->data, .iov_len = sizeof(p->data) },
		};
		struct msghdr msg = {
			.msg_name = &from,
			.msg_namelen = sizeof(from),
			.msg_iov = iov,
			.msg_iovlen = 2,
		};
		ssize_t n;
		int ret;

		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
		pkt_init(p);
		n = recvmsg(fd, &msg, MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			return -errno;
		}
		if ((size_t)n < hlen || (size_t)n - hlen > sizeof(p->data))
			return -EMSGSIZE;
		/* Our own sends show up too; only arrivals count. */
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		p->len = n - hlen;
		return 0;
	}
}

int topo_send(int fd, const struct pkt *p)
{
	return send_frame(fd, p, NULL);
}

int topo_send_vnet(int fd, const struct pkt *p,
		   const struct virtio_net_hdr *h)
{
	return send_frame(fd, p, h);
}

int topo_recv(int fd, struct pkt *p, int timeout_ms)
{
	return recv_frame(fd, p, NULL, timeout_ms);
}

int topo_recv_vnet(int fd, struct pkt *p, struct virtio_net_hdr *h,
		   int timeout_ms)
{
	return recv_frame(fd, p, h, timeout_ms);
}

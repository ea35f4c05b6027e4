// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath object: one entry program per hook, each parsing nothing
 * itself and ending in sl_finish(). The logic lives in lib/.
 */
#include "lib/common.h"
#include "lib/drop.h"
#include "lib/lxc.h"
#include "lib/sock.h"
#include "lib/sockops.h"
#include "lib/netdev.h"
#include "lib/overlay.h"

SEC("tc")
int sl_from_pod(struct __sk_buff *skb)
{
	return sl_finish(skb, lxc_from_pod(skb), SL_DIR_EGRESS);
}

SEC("tc")
int sl_to_pod(struct __sk_buff *skb)
{
	return sl_finish(skb, lxc_to_pod(skb), SL_DIR_INGRESS);
}

SEC("tc")
int sl_from_netdev(struct __sk_buff *skb)
{
	return sl_finish(skb, netdev_from_outside(skb), SL_DIR_INGRESS);
}

SEC("tc")
int sl_to_netdev(struct __sk_buff *skb)
{
	return sl_finish(skb, netdev_to_outside(skb), SL_DIR_EGRESS);
}

/* VXLAN mode: the overlay device's two directions (lib/overlay.h). */
SEC("tc")
int sl_from_overlay(struct __sk_buff *skb)
{
	return sl_finish(skb, overlay_from_node(skb), SL_DIR_INGRESS);
}

SEC("tc")
int sl_to_overlay(struct __sk_buff *skb)
{
	return sl_finish(skb, overlay_to_node(skb), SL_DIR_EGRESS);
}

/*
 * Host-network processes to Services, at the socket (lib/sock.h); and
 * every process's sockets named for flow records (lib/sockops.h), once
 * translated, so a host socket's peer is the backend its flow has.
 */
SEC("cgroup/connect4")
int sl_sock_connect4(struct bpf_sock_addr *ctx)
{
	int ret = sock4_xlate_fwd(ctx);

	if (ret >= 0)
		sock_owner_connect4(ctx);
	return sock_finish(ret);
}

SEC("cgroup/sendmsg4")
int sl_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	int ret = sock4_xlate_fwd(ctx);

	if (ret >= 0)
		sock_udp_announce(ctx);
	return sock_finish(ret);
}

SEC("cgroup/recvmsg4")
int sl_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	/* One answer of a backend, as a pod's reply would count. */
	if (sock4_xlate_rev(ctx))
		sl_count(SL_SERVICE_REPLY, SL_DIR_INGRESS, 0);
	return 1; /* the only verdict this hook takes */
}

SEC("cgroup/getpeername4")
int sl_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	sock4_xlate_rev(ctx);
	return 1;
}

/* Servers: a listener's owner, inherited by what it accepts. */
SEC("cgroup/post_bind4")
int sl_sock_post_bind4(struct bpf_sock *ctx)
{
	sock_owner_bind4(ctx);
	return 1; /* never refuses a bind */
}

/* TCP connections' ends and RTT (lib/sockops.h). */
SEC("sockops")
int sl_sock_ops(struct bpf_sock_ops *ctx)
{
	sockops_observe(ctx);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows seen from their sockets: which process opened each end, and how
 * a TCP connection fared (round-trip time, retransmits). Per connection,
 * never per packet, and without kprobes or fentry:
 *
 *  - the cgroup hooks that run in the process's own context record it as
 *    the socket's owner in sl_sock_owner (include/sluice/sock_owner.h):
 *    connect4 for TCP clients, post_bind4 for servers (accepted sockets
 *    inherit their listener's entry), sendmsg4 for UDP senders;
 *  - sl_sock_ops sends SL_SOCK_OPEN as a client connects and as a server's
 *    connection is established, asks for the state callback, and sends
 *    SL_SOCK_CLOSE with the kernel's RTT estimate as the socket leaves
 *    ESTABLISHED;
 *  - sendmsg4 sends a UDP socket's SL_SOCK_OPEN at its first datagram to
 *    each peer.
 * The agent joins these to flow records by tuple (agent/flows.c).
 *
 * Unlike Service translation (sock.h), attribution covers sockets of every
 * network namespace in the cgroup, pods' included: a pod's flows are the
 * ones to name. Events go only for sockets whose connection this node
 * tracks: one end a local pod. The owner is recorded for every pod socket
 * (its local address is not bound yet at connect()), and for a host
 * socket only toward a local pod.
 */
#ifndef SL_LIB_SOCKOPS_H
#define SL_LIB_SOCKOPS_H

#include "common.h"
#include "maps.h"
#include "events.h"
#include "sock.h"

#include <linux/in.h>

/*
 * What the kernel lets each hook call, probed by the loader
 * (common/datapath.c). Off, the verifier prunes the call and the object
 * still loads on an older kernel, where flows go without owners:
 * sk_storage in sock_addr hooks and sock_ops predates 5.10, in
 * cgroup/sock (post_bind4) came with 5.12, and pid and comm in cgroup
 * socket hooks with 6.1 (the cgroup id is there since 5.7). All off (a
 * kernel whose verifier refused them), sl_sock_ops does nothing.
 */
const volatile __u8 sockops_on = 0;
const volatile __u8 sock_owner_at_connect = 0;
const volatile __u8 sock_owner_at_bind = 0;
const volatile __u8 sock_owner_task_at_connect = 0;
const volatile __u8 sock_owner_task_at_bind = 0;
const volatile __u8 sockops_read_owner = 0;

/* The agent turned flow events off: nothing to attribute them to. */
static __always_inline bool sock_flows_off(void)
{
	struct sl_config *cfg = config_get();

	return cfg && (cfg->flags & SL_CFG_F_NO_FLOW_EVENTS);
}

static __always_inline bool sock_local_pod(__be32 addr)
{
	struct sl_endpoint_key k = { .ip4 = addr };

	return addr && bpf_map_lookup_elem(&sl_endpoints, &k);
}

/*
 * Whether a sock_addr hook's socket may be in a flow this node tracks: a
 * pod's always (any namespace but the node's), a host process's only
 * toward a local pod (@peer after translation).
 */
static __always_inline bool sock_addr_tracked(struct bpf_sock_addr *ctx,
					      __be32 peer)
{
	if (sock_flows_off())
		return false;
	return !sock_netns_is_node(ctx, 0) || sock_local_pod(peer);
}

/* The calling task as owner. @task: pid and comm are callable here. */
static __always_inline void sock_owner_set(struct sl_sock_owner *o, bool task)
{
	__u64 id;

	o->cgroup_id = bpf_get_current_cgroup_id();
	if (!task)
		return;
	id = bpf_get_current_pid_tgid();
	o->pid = (__u32)id;
	o->tgid = (__u32)(id >> 32);
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/**
 * sock_owner_connect4 - remember who connect()s a TCP socket
 * @ctx: connect4 context, after translation (a host socket's peer is its
 *       backend already)
 *
 * Overwrites an owner from bind(): the connecting process is the one the
 * connection's flow is about.
 */
static __always_inline void sock_owner_connect4(struct bpf_sock_addr *ctx)
{
	struct sl_sock_owner_val *v;
	struct bpf_sock *sk = ctx->sk;

	if (!sock_owner_at_connect || ctx->protocol != IPPROTO_TCP || !sk ||
	    !sock_addr_tracked(ctx, ctx->user_ip4))
		return;
	v = bpf_sk_storage_get(&sl_sock_owner, sk, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (v)
		sock_owner_set(&v->owner, sock_owner_task_at_connect);
}

/* A server's listener (or a bound UDP socket): owned by its binder. */
static __always_inline void sock_owner_bind4(struct bpf_sock *ctx)
{
	struct sl_sock_owner_val *v;

	if (!sock_owner_at_bind ||
	    (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP) ||
	    sock_flows_off())
		return;
	/* cgroup/sock passes the socket as the context itself. */
	v = bpf_sk_storage_get(&sl_sock_owner, ctx, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (v)
		sock_owner_set(&v->owner, sock_owner_task_at_bind);
}

/*
 * An SL_SOCK_OPEN or SL_SOCK_CLOSE with the tuple filled by the caller;
 * the rest zeroed (ring memory is not). NULL when shed.
 *
 * Submitted like every event (event_submit(), datapath/lib/events.h):
 * the agent reads them on its tick, in order with the flow events.
 */
static __always_inline struct sl_sock_event *
sock_event_reserve(__u8 kind, __u8 side)
{
	struct sl_sock_event *ev;

	ev = event_reserve(sizeof(*ev), SL_EVENT_SOCK, kind,
			   side == SL_SOCK_PASSIVE ? SL_DIR_INGRESS :
						     SL_DIR_EGRESS, 0, 0);
	if (!ev)
		return NULL;
	ev->hdr.hdr_len = sizeof(*ev);
	__builtin_memset((char *)ev + sizeof(ev->hdr), 0,
			 sizeof(*ev) - sizeof(ev->hdr));
	ev->side = side;
	return ev;
}

/**
 * sock_udp_announce - a UDP socket's first datagram to a peer
 * @ctx: sendmsg4 context, after translation
 *
 * An event per (socket, peer), not per datagram: the peer announced last
 * is kept with the owner. The socket is bound by now (the kernel binds
 * before it runs the hook), so its port is known; its address is 0 unless
 * bound to one.
 */
static __always_inline void sock_udp_announce(struct bpf_sock_addr *ctx)
{
	__be16 port = (__be16)ctx->user_port;
	__be32 peer = ctx->user_ip4;
	struct sl_sock_owner_val *v;
	struct bpf_sock *sk = ctx->sk;
	struct sl_sock_event *ev;

	if (!sock_owner_at_connect || ctx->protocol != IPPROTO_UDP || !sk ||
	    !sock_addr_tracked(ctx, peer))
		return;
	v = bpf_sk_storage_get(&sl_sock_owner, sk, 0,
			       BPF_SK_STORAGE_GET_F_CREATE);
	if (!v || (v->udp_peer_addr == peer && v->udp_peer_port == port))
		return;
	if (!v->owner.cgroup_id) /* a client: no bind() named it */
		sock_owner_set(&v->owner, sock_owner_task_at_connect);
	ev = sock_event_reserve(SL_SOCK_OPEN, SL_SOCK_DATAGRAM);
	if (!ev)
		return; /* shed: the next datagram tries again */
	v->udp_peer_addr = peer;
	v->udp_peer_port = port;
	ev->laddr = sk->src_ip4;
	ev->lport = bpf_htons((__u16)sk->src_port);
	ev->raddr = peer;
	ev->rport = port;
	ev->proto = IPPROTO_UDP;
	ev->cookie = bpf_get_socket_cookie(ctx);
	ev->netns_cookie = bpf_get_netns_cookie(ctx);
	ev->owner = v->owner;
	event_submit(ev);
}

/* A TCP socket's event, its tuple as sock_ops shows it. */
static __always_inline void sockops_send(struct bpf_sock_ops *ctx, __u8 kind,
					 __u8 side, __u8 state)
{
	struct sl_sock_owner_val *v;
	struct sl_sock_event *ev;
	struct bpf_sock *sk;

	ev = sock_event_reserve(kind, side);
	if (!ev)
		return;
	ev->laddr = ctx->local_ip4;
	ev->raddr = ctx->remote_ip4;
	ev->lport = bpf_htons((__u16)ctx->local_port);
	/* remote_port holds the network-order port in the u32's high half
	 * on little endian: ntohl() gives it in host order either way. */
	ev->rport = bpf_htons((__u16)bpf_ntohl(ctx->remote_port));
	ev->proto = IPPROTO_TCP;
	ev->state = state;
	ev->cookie = bpf_get_socket_cookie(ctx);
	if (kind == SL_SOCK_CLOSE) {
		/* The kernel keeps srtt multiplied by 8 (tcp_rtt_estimator);
		 * the minimum is plain microseconds. */
		ev->srtt_us = ctx->srtt_us >> 3;
		ev->rtt_min_us = ctx->rtt_min;
		ev->retrans = ctx->total_retrans;
	}
	if (sockops_read_owner) {
		sk = ctx->sk;
		if (sk) {
			v = bpf_sk_storage_get(&sl_sock_owner, sk, 0, 0);
			if (v)
				ev->owner = v->owner;
		}
	}
	event_submit(ev);
}

/* One end of a tracked connection opens: announce it, and ask the
 * kernel to call back on its state changes (for the close). */
static __always_inline void sockops_open(struct bpf_sock_ops *ctx, __u8 side)
{
	if (ctx->family != 2 /* AF_INET */ || sock_flows_off() ||
	    (!sock_local_pod(ctx->local_ip4) &&
	     !sock_local_pod(ctx->remote_ip4)))
		return;
	/* Keep what other programs asked for: the call sets, not adds. */
	bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags |
					       BPF_SOCK_OPS_STATE_CB_FLAG);
	sockops_send(ctx, SL_SOCK_OPEN, side, 0);
}

/*
 * The state callback, for sockets sockops_open() flagged (another node's
 * agent on the machine may have flagged one this node does not track:
 * hence the same check). Leaving ESTABLISHED is the end of the exchange,
 * whoever closes; a connect that fails is an end too.
 */
static __always_inline void sockops_state(struct bpf_sock_ops *ctx)
{
	__u32 from = ctx->args[0], to = ctx->args[1];

	if (to == SL_TCP_ESTABLISHED ||
	    (from != SL_TCP_ESTABLISHED &&
	     !(from == SL_TCP_SYN_SENT && to == SL_TCP_CLOSE)))
		return;
	if (ctx->family != 2 /* AF_INET */ ||
	    (!sock_local_pod(ctx->local_ip4) &&
	     !sock_local_pod(ctx->remote_ip4)))
		return;
	sockops_send(ctx, SL_SOCK_CLOSE, 0, (__u8)to);
}

/* sl_sock_ops: the callbacks of every TCP socket in the cgroup. */
static __always_inline void sockops_observe(struct bpf_sock_ops *ctx)
{
	if (!sockops_on)
		return;
	switch (ctx->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* Before the SYN: the flow's start finds the owner known. */
		sockops_open(ctx, SL_SOCK_ACTIVE);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sockops_open(ctx, SL_SOCK_PASSIVE);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		sockops_state(ctx);
		break;
	}
}

#endif /* SL_LIB_SOCKOPS_H */

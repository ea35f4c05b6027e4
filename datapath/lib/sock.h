/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service load balancing for host-network processes, at the socket: the
 * cgroup sock_addr hooks rewrite the address a socket connects or sends to
 * from a frontend to a backend, once per connect() (TCP, connected UDP) or
 * per sendmsg() (unconnected UDP), and make recvmsg() and getpeername()
 * show the frontend again. No packet is ever rewritten, so nothing goes
 * through conntrack: the kernel's own socket state is the connection.
 *
 * The frontend and the backend come from lb4_frontend() and lb4_pick()
 * (lb.h), the same choice a pod's packet gets at its veth; host traffic is
 * internal traffic, so a two-scope frontend serves it from SCOPE_INT.
 *
 * Scope: these programs are attached to a cgroup (the cgroup v2 root in
 * production) and see every socket of every process in it, in any network
 * namespace. They act only in the node's own namespace (sl_config, see
 * include/sluice/config.h): pods' sockets are translated per packet at
 * their veth, and other nodes sharing the machine in tests bring their own
 * programs. (connect4 and sendmsg4 also name sockets' owners for flow
 * records, in every namespace: sockops.h.)
 */
#ifndef SL_LIB_SOCK_H
#define SL_LIB_SOCK_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "lb.h"

#include <linux/errno.h>
#include <linux/in.h>

/*
 * Set by the loader when the kernel has bpf_set_retval() for these hooks
 * (5.18). Off, the verifier prunes the call as dead code and older kernels
 * load the object: a refused connect() then fails with EPERM, the errno a
 * cgroup program's "reject" always gave, instead of ECONNREFUSED.
 */
const volatile __u8 sock_have_set_retval = 0;

/*
 * Whether this socket belongs to the node's network namespace; @unknown
 * when the agent could not tell which that is (before 5.14).
 */
static __always_inline int sock_netns_is_node(void *ctx, int unknown)
{
	struct sl_config *cfg;
	__u32 key = 0;

	cfg = bpf_map_lookup_elem(&sl_config, &key);
	if (!cfg || !cfg->netns_cookie)
		return unknown;
	return bpf_get_netns_cookie(ctx) == cfg->netns_cookie;
}

/* Translation's scope; unknown, it is one node per machine. */
static __always_inline int sock_in_node(void *ctx)
{
	return sock_netns_is_node(ctx, 1);
}

static __always_inline int sock4_remember(__u64 cookie, __be32 addr,
					  __be16 port, __u8 dir,
					  const struct sl_sock_nat_val *v)
{
	struct sl_sock_nat_key k = {
		.cookie = cookie, .addr = addr, .port = port, .dir = dir,
	};

	if (bpf_map_update_elem(&sl_sock_nat, &k, v, BPF_ANY) < 0)
		return -SL_CT_CREATE_FAILED;
	return 0;
}

/*
 * The backend an UDP socket already sends this frontend's datagrams to,
 * while it exists: its REV entry is refreshed in case the LRU took it.
 */
static __always_inline struct sl_backend *
sock4_udp_backend(__u64 cookie, const struct l4_tuple *t, __u32 *backend_id)
{
	struct sl_sock_nat_key k = {
		.cookie = cookie, .addr = t->daddr, .port = t->dport,
		.dir = SL_SOCK_FWD,
	};
	struct sl_sock_nat_val *fwd, rev;
	struct sl_backend *be;

	fwd = bpf_map_lookup_elem(&sl_sock_nat, &k);
	if (!fwd)
		return NULL;
	be = bpf_map_lookup_elem(&sl_backends, &fwd->backend_id);
	/* Ids are not reused while an agent runs; the address check covers
	 * a backend table rebuilt by another agent. */
	if (!be || be->addr != fwd->addr || be->port != fwd->port)
		return NULL;
	*backend_id = fwd->backend_id;
	k.addr = be->addr;
	k.port = be->port;
	k.dir = SL_SOCK_REV;
	if (!bpf_map_lookup_elem(&sl_sock_nat, &k)) {
		rev = (struct sl_sock_nat_val){ .addr = t->daddr,
						.port = t->dport,
						.backend_id = fwd->backend_id,
						.svc_id = fwd->svc_id };
		bpf_map_update_elem(&sl_sock_nat, &k, &rev, BPF_ANY);
	}
	return be;
}

/**
 * sock4_xlate_fwd - send a socket to a backend instead of a frontend
 * @ctx: connect4 or sendmsg4 context; user_ip4/user_port rewritten on 1
 *
 * Returns 0 when the address is not a frontend (or not ours to
 * translate), 1 when rewritten, or a negated drop reason: the frontend has
 * no endpoints (the call is refused, as kube-proxy's REJECT refuses it) or
 * the translation could not be recorded.
 */
static __always_inline int sock4_xlate_fwd(struct bpf_sock_addr *ctx)
{
	struct sl_sock_nat_val v = {};
	struct sl_service_key k;
	struct sl_service_val *svc;
	struct l4_tuple t = {};
	struct sl_backend *be = NULL;
	__u32 backend_id = 0;
	__u64 cookie;
	int ret;

	t.proto = (__u8)ctx->protocol;
	if (t.proto != IPPROTO_TCP && t.proto != IPPROTO_UDP)
		return 0;
	t.daddr = ctx->user_ip4;
	t.dport = (__be16)ctx->user_port;
	svc = lb4_frontend(&t, &k, false); /* host traffic is internal */
	if (!svc || !sock_in_node(ctx))
		return 0;
	cookie = bpf_get_socket_cookie(ctx);
	/* A socket keeps its backend, even a terminating one, as a
	 * conntrack entry keeps a pod's flow on its backend. */
	if (t.proto == IPPROTO_UDP)
		be = sock4_udp_backend(cookie, &t, &backend_id);
	if (be)
		goto rewrite;
	if (!svc->count)
		return -SL_NO_SERVICE_BACKEND;
	be = lb4_pick(&k, svc, SL_SOCK_CLIENT, ct_now(), &backend_id);
	if (!be)
		return -SL_SERVICE_INCONSISTENT;

	v.backend_id = backend_id;
	v.svc_id = svc->svc_id;
	v.addr = t.daddr;
	v.port = t.dport;
	ret = sock4_remember(cookie, be->addr, be->port, SL_SOCK_REV, &v);
	if (!ret && t.proto == IPPROTO_UDP) {
		v.addr = be->addr;
		v.port = be->port;
		ret = sock4_remember(cookie, t.daddr, t.dport, SL_SOCK_FWD, &v);
	}
	if (ret < 0)
		return ret;
	/* One per translation, no bytes: nothing has been sent yet. */
	sl_count(SL_SERVICE_NEW, SL_DIR_EGRESS, 0);
rewrite:
	ctx->user_ip4 = be->addr;
	ctx->user_port = (__u32)be->port;
	return 1;
}

/**
 * sock4_xlate_rev - show a translated socket's peer as the frontend
 * @ctx: recvmsg4 (a datagram's source) or getpeername4 context
 *
 * Needs no namespace check: only sockets this node translated have
 * entries. Returns 1 when rewritten, else 0.
 */
static __always_inline int sock4_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct sl_sock_nat_key k = {
		.addr = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
		.dir = SL_SOCK_REV,
	};
	struct sl_sock_nat_val *v;

	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return 0;
	k.cookie = bpf_get_socket_cookie(ctx);
	v = bpf_map_lookup_elem(&sl_sock_nat, &k);
	if (!v)
		return 0;
	ctx->user_ip4 = v->addr;
	ctx->user_port = (__u32)v->port;
	return 1;
}

/* A refusal has no packet: the event carries the header only. */
static __always_inline void sock_send_drop_event(__u32 reason)
{
	struct sl_drop_event *ev;

	ev = event_reserve(sizeof(*ev), SL_EVENT_DROP, reason, SL_DIR_EGRESS,
			   0, 0);
	if (!ev)
		return; /* the counter already recorded it */
	ev->hdr.hdr_len = sizeof(ev->hdr);
	event_submit(ev);
}

/*
 * The single exit of connect4 and sendmsg4: 1 lets the call proceed
 * (translated or not); a drop reason is counted, reported and refused.
 */
static __always_inline int sock_finish(int ret)
{
	__u32 reason;

	if (ret >= 0)
		return 1;
	reason = (__u32)-ret;
	sl_count(reason, SL_DIR_EGRESS, 0);
	sock_send_drop_event(reason);
	if (sock_have_set_retval)
		bpf_set_retval(-ECONNREFUSED);
	return 0;
}

#endif /* SL_LIB_SOCK_H */

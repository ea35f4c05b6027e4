/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pod veth: what happens to a packet leaving a pod (sl_from_pod, tc
 * ingress of the host-side veth) and to a packet the host stack sends to a
 * pod (sl_to_pod, tc egress of the host-side veth).
 */
#ifndef SL_LIB_LXC_H
#define SL_LIB_LXC_H

#include "common.h"
#include "maps.h"
#include "eth.h"
#include "ipv4.h"
#include "l4.h"
#include "lb.h"
#include "icmp.h"
#include "reject.h"
#include "policy.h"
#include "host_route.h"

/*
 * The policy of a new connection, at both ends this node holds: the
 * sender's egress when it is a pod of this node (src), the receiver's
 * ingress when it is (dst). @t is the connection as it reaches its peer,
 * after Service translation. A pod reaching itself through a Service is
 * not judged: a pod cannot block itself (SPECS E.2). @remote_id is the
 * sender's identity when the tunnel told it (0: the ipcache's). Fills m,
 * returns 0 or a negated drop reason.
 */
static __always_inline int lxc_policy(struct __sk_buff *skb,
				      const struct l4_tuple *t,
				      const struct sl_endpoint *src,
				      const struct sl_endpoint *dst,
				      __u32 remote_id, struct ct_meta *m)
{
	__u32 src_id;
	int ret;

	m->identity = dst ? dst->identity : policy_identity_of(t->daddr);
	m->policy_id[SL_POLICY_INGRESS] = 0;
	m->policy_id[SL_POLICY_EGRESS] = 0;
	if (t->saddr == t->daddr)
		return 0;
	if (src) {
		ret = policy_check(skb, t, src, SL_POLICY_EGRESS, m->identity,
				   &m->policy_id[SL_POLICY_EGRESS]);
		if (ret < 0)
			return ret;
	}
	if (!dst)
		return 0;
	src_id = src ? src->identity :
		 remote_id ? remote_id : policy_identity_of(t->saddr);
	if (!src)
		m->identity = src_id; /* the remote end, seen from dst */
	return policy_check(skb, t, dst, SL_POLICY_INGRESS, src_id,
			    &m->policy_id[SL_POLICY_INGRESS]);
}

/*
 * The first packet of a connection from a pod of this node (src): to a
 * Service frontend, a backend is chosen and both ends' policies judge the
 * connection to it; to anything else, the policies judge it as it is.
 * Admitted, it is tracked. Returns 0 (untouched), 1 (translated) or a
 * negated drop reason.
 */
static __always_inline int lxc_new_from_pod(struct __sk_buff *skb,
					    struct l4_tuple *t,
					    const struct sl_endpoint *src,
					    __u32 now)
{
	struct sl_service_key k;
	struct sl_service_val *svc = NULL;
	struct sl_backend *be;
	struct l4_tuple to;
	struct ct_meta m;
	__u32 backend_id = 0;
	int ret;

	/* Only TCP and UDP are translated. */
	if (t->ports)
		svc = lb4_frontend(t, &k, false);
	if (!svc) {
		ret = lxc_policy(skb, t, src, lookup_endpoint4(t->daddr), 0,
				 &m);
		if (ret < 0)
			return ret;
		return ct_create(t, &m, skb, SL_DIR_EGRESS, now);
	}
	ret = lb4_select(t, &k, svc, now, &be, &backend_id);
	if (ret < 0)
		return ret;
	to = *t;
	to.daddr = be->addr;
	to.dport = be->port;
	ret = lxc_policy(skb, &to, src, lookup_endpoint4(be->addr), 0, &m);
	if (ret < 0)
		return ret;
	return lb4_commit(skb, t, svc, be, backend_id, &m, now, false);
}

/*
 * The first packet of a connection to the pod behind this veth, from
 * outside this node's pods (the host, other nodes, outside clients the
 * node's interfaces let in): its ingress policy judges it, against
 * @remote_id when the tunnel carried the sender's identity.
 */
static __always_inline int lxc_new_to_pod(struct __sk_buff *skb,
					  const struct l4_tuple *t,
					  __u32 remote_id, __u32 now)
{
	struct sl_endpoint *dst = lookup_endpoint4(t->daddr);
	struct ct_meta m;
	int ret;

	if (!dst)
		return 0; /* not a pod's address: nothing to judge */
	ret = lxc_policy(skb, t, NULL, dst, remote_id, &m);
	if (ret < 0)
		return ret;
	return ct_create(t, &m, skb, SL_DIR_INGRESS, now);
}

/*
 * The connection a packet answers, if any: a Service connection's, from
 * its backend (translated back), or a plain one's (its OUT entry under the
 * reversed tuple). Replies are always admitted. Sets *answered; returns 1
 * when the packet was translated, 0 when not, or a negated drop reason.
 */
static __always_inline int lxc_reply(struct __sk_buff *skb, struct l4_tuple *t,
				     __u8 dir, __u32 now, bool *answered)
{
	struct sl_ct_entry *e;
	struct sl_ct_key k;
	int ret;

	*answered = true;
	if (t->ports) {
		ret = lb4_from_backend(skb, t, dir, now, false);
		if (ret)
			return ret;
	}
	e = ct_lookup_reply(t, now, &k);
	if (e) {
		ct_account_flow(e, &k, 1, t, skb, dir, now);
		return 0;
	}
	*answered = false;
	return 0;
}

/**
 * lxc_ipv4_conn - conntrack, Services and policy for a packet at a veth
 * @skb: the packet; packet pointers are stale when this returns 1
 * @ip: its validated header
 * @src: the sending pod, at its veth (sl_from_pod); NULL toward a pod
 * @dir: SL_DIR_EGRESS in sl_from_pod, SL_DIR_INGRESS toward a pod
 * @remote_id: toward a pod, the sender's identity if the tunnel carried
 *	it (sl_from_overlay); 0 otherwise
 *
 * A packet continues a connection (its OUT entry: translated if it is a
 * Service connection's) or answers one (lxc_reply()); only the first
 * packet of a connection goes on to the frontend and the policies. Which
 * of the two to look up first is a guess from the ports, since every
 * packet would otherwise pay a miss: an initiator sends from an ephemeral
 * port above its server's, so a packet from the lower port is most likely
 * a reply. On a miss the other way is looked up too, so the guess costs
 * nothing when wrong; a TCP SYN answers nothing and skips the replies.
 * ICMP errors are translated as the connection they speak of and
 * otherwise pass. Fragments after the first pass as they are: without
 * their first, which carries the ports and was judged, they reassemble
 * into nothing.
 *
 * Returns 1 when the packet was rewritten, 0 when untouched, or a negated
 * drop reason.
 */
static __always_inline int lxc_ipv4_conn(struct __sk_buff *skb,
					 struct iphdr *ip,
					 const struct sl_endpoint *src, __u8 dir,
					 __u32 remote_id)
{
	bool opens, reply_first, answered;
	struct sl_ct_entry *e;
	struct sl_ct_key k;
	struct l4_tuple t;
	__u32 now;
	int ret;

	ret = l4_parse(skb, ip, &t);
	if (ret < 0)
		return ret;
	if (t.icmp_err) {
		/* Looked up the ways the connections are below: toward a
		 * backend (as lb4_established) leaving a pod only, toward a
		 * client (as lb4_from_backend) both. */
		__u32 ways = ICMP_XLATE_TO_CLIENT;

		if (dir == SL_DIR_EGRESS)
			ways |= ICMP_XLATE_TO_BACKEND;
		return lb4_icmp_error(skb, ip, &t, dir, ways, false);
	}
	if (t.frag)
		return 0;
	now = ct_now();
	opens = t.proto == IPPROTO_TCP &&
		(t.tcp_flags & (TCP_FL_SYN | TCP_FL_ACK)) == TCP_FL_SYN;
	reply_first = !opens && bpf_ntohs(t.sport) < bpf_ntohs(t.dport);
	if (reply_first) {
		ret = lxc_reply(skb, &t, dir, now, &answered);
		if (ret || answered)
			return ret;
	}
	e = ct_lookup_key(&t, SL_CT_OUT, now, &k);
	if (e && (e->flags & SL_CT_F_SERVICE)) {
		if (dir == SL_DIR_EGRESS) {
			ret = lb4_established(skb, &t, e, &k, now, dir);
			if (ret)
				return ret;
			/* Its backend is gone: a new pick, below. */
		}
	} else if (e && !ct_tcp_reopens(e, &t)) {
		ct_account_flow(e, &k, 0, &t, skb, dir, now);
		return 0;
	}
	if (!reply_first && !opens) {
		ret = lxc_reply(skb, &t, dir, now, &answered);
		if (ret || answered)
			return ret;
	}
	if (dir == SL_DIR_EGRESS)
		return lxc_new_from_pod(skb, &t, src, now);
	return lxc_new_to_pod(skb, &t, remote_id, now);
}

/*
 * A Service without endpoints: the client gets a reset or an ICMP port
 * unreachable back through its veth, never a silent timeout. The drop
 * event shows the request as it came; the counter counts it once.
 */
static __always_inline struct sl_verdict lxc_reject(struct __sk_buff *skb,
						    struct iphdr *ip)
{
	sl_send_drop_event(skb, SL_NO_SERVICE_BACKEND, SL_DIR_EGRESS);
	if (reject4(skb, ip) < 0)
		return sl_pass(TC_ACT_SHOT, SL_NO_SERVICE_BACKEND);
	return sl_pass(bpf_redirect(skb->ifindex, 0), SL_NO_SERVICE_BACKEND);
}

/*
 * A packet for the pod dst, whose connection is settled: straight into
 * the pod's netns (no host stack, no backlog queue), as a router hop,
 * counted at trace. One whose TTL runs out goes to the stack instead,
 * which answers it with ICMP time exceeded.
 */
static __always_inline struct sl_verdict
lxc_to_peer(struct __sk_buff *skb, struct iphdr *ip,
	    const struct sl_endpoint *dst, __u32 trace)
{
	struct ethhdr *eth;

	if (ip->ttl <= 1)
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	/* ipv4_validate() may have pulled data: the header is at data. */
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return sl_drop(SL_SHORT_FRAME);
	ipv4_dec_ttl(ip);
	eth_set_macs(eth, dst->pod_mac, dst->host_mac);
	return sl_pass(bpf_redirect_peer(dst->ifindex, 0), trace);
}

/*
 * A packet from another node (its underlay interface, or the tunnel) for
 * the pod dst of this node: judged as sl_to_pod would judge it (@remote_id
 * as lxc_ipv4_conn()'s), then straight into the pod.
 */
static __always_inline struct sl_verdict
lxc_from_node(struct __sk_buff *skb, struct iphdr *ip,
	      const struct sl_endpoint *dst, __u32 remote_id, __u32 trace)
{
	int ret = lxc_ipv4_conn(skb, ip, NULL, SL_DIR_INGRESS, remote_id);

	if (ret < 0)
		return sl_drop(-ret);
	if (ret > 0) {
		if (ipv4_validate(skb, &ip) < 0)
			return sl_drop(SL_REWRITE_FAILED);
		dst = lookup_endpoint4(ip->daddr);
		if (!dst)
			return sl_pass(TC_ACT_OK, trace);
	}
	return lxc_to_peer(skb, ip, dst, trace);
}

static __always_inline struct sl_verdict lxc_ipv4_from_pod(struct __sk_buff *skb)
{
	struct sl_endpoint *src, *dst;
	struct iphdr *ip;
	int ret;

	ret = ipv4_validate(skb, &ip);
	if (ret < 0)
		return sl_drop(-ret);

	/* A pod may only send from its own address: the endpoint that owns
	 * the source IP must sit behind the veth the packet arrived on. */
	src = lookup_endpoint4(ip->saddr);
	if (!src || src->ifindex != skb->ifindex)
		return sl_drop(SL_SPOOFED_SOURCE);

	ret = lxc_ipv4_conn(skb, ip, src, SL_DIR_EGRESS, 0);
	if (ret == -SL_NO_SERVICE_BACKEND)
		return lxc_reject(skb, ip);
	if (ret < 0)
		return sl_drop(-ret);
	if (ret > 0 && ipv4_validate(skb, &ip) < 0)
		return sl_drop(SL_REWRITE_FAILED);

	dst = lookup_endpoint4(ip->daddr);
	if (!dst)
		return route_to_node(skb, ip);
	return lxc_to_peer(skb, ip, dst, SL_REDIRECT_PEER);
}

static __always_inline struct sl_verdict lxc_from_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	/* Unreachable from a veth; the verifier needs the bound. */
	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return lxc_ipv4_from_pod(skb);
	case bpf_htons(ETH_P_ARP):
		/* The pod has a static neighbour for its gateway; an ARP
		 * still reaching us is the kernel's to answer or ignore. */
		return sl_pass(TC_ACT_OK, SL_TO_STACK);
	default:
		return sl_drop(SL_UNSUPPORTED_L3);
	}
}

static __always_inline struct sl_verdict lxc_to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		ret = ipv4_validate(skb, &ip);
		if (ret < 0)
			return sl_drop(-ret);
		ret = lxc_ipv4_conn(skb, ip, NULL, SL_DIR_INGRESS, 0);
		if (ret < 0)
			return sl_drop(-ret);
		return sl_pass(TC_ACT_OK, SL_TO_POD);
	case bpf_htons(ETH_P_ARP):
		return sl_pass(TC_ACT_OK, SL_TO_POD);
	default:
		return sl_drop(SL_UNSUPPORTED_L3);
	}
}

#endif /* SL_LIB_LXC_H */

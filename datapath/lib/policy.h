/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NetworkPolicy at the pod veth: the verdict on the first packet of a
 * connection, which conntrack then remembers for the rest of it and for
 * its replies (lxc.h). The agent compiled every rule into per-endpoint
 * entries (include/sluice/policy.h); this file only looks them up, a fixed
 * number of times, however many policies there are.
 *
 * A connection between two pods of this node is judged at the sender's
 * veth for both ends: the packet goes straight into the receiver's
 * namespace (bpf_redirect_peer) and never passes the receiver's veth
 * hooks. Traffic from elsewhere is judged for its receiver at the
 * receiver's veth, as it leaves the host stack.
 */
#ifndef SL_LIB_POLICY_H
#define SL_LIB_POLICY_H

#include "common.h"
#include "maps.h"
#include "drop.h"
#include "events.h"
#include "l4.h"

#include <sluice/endpoint.h>
#include <sluice/event.h>

/* What decided a verdict, for the event and the conntrack entry. */
struct policy_verdict {
	__u32 policy_id; /* the allowing policy; 0 when denied */
	__u32 remote_id; /* the peer's identity, or the CIDR identity of its
			  * address once the lookup got that far */
	__u8 match;      /* enum sl_match_kind */
};

/*
 * The security identity of an address that is not a pod of this node:
 * what the ipcache says (pods of other nodes, nodes, this host), else the
 * world outside the cluster.
 */
static __always_inline __u32 policy_identity_of(__be32 addr)
{
	struct sl_ipcache_key k = { .prefixlen = 32, .ip4 = addr };
	struct sl_ipcache_val *v = bpf_map_lookup_elem(&sl_ipcache, &k);

	return v ? v->identity : SL_ID_WORLD;
}

static __always_inline bool policy_hit(struct sl_policy_key *k,
				       struct policy_verdict *v, __u8 match)
{
	struct sl_policy_val *pv = bpf_map_lookup_elem(&sl_policy, k);

	if (!pv)
		return false;
	v->policy_id = pv->policy_id;
	v->match = match;
	return true;
}

/**
 * policy_lookup - does an endpoint's policy of one direction allow this?
 * @ep: the endpoint's address
 * @pdir: enum sl_policy_dir
 * @remote: the peer's address (ipBlock rules)
 * @remote_id: the peer's identity (pod selectors, the node)
 * @t: the connection, its destination port and protocol
 * @v: filled
 *
 * The order of include/sluice/policy.h, first hit wins: the peer's
 * identity with the port, with any port; any peer with the port, with any
 * port; then the peer's address's CIDR identity with the port and with
 * any port. The port is matched by prefix (an endPort range is a few).
 */
static __always_inline bool policy_lookup(__be32 ep, __u8 pdir, __be32 remote,
					  __u32 remote_id,
					  const struct l4_tuple *t,
					  struct policy_verdict *v)
{
	struct sl_policy_key k = {
		.prefixlen = SL_POLICY_FIXED_BITS + 16,
		.ep = ep,
		.dir = pdir,
		.proto = t->proto,
		.identity = remote_id,
		.dport = t->dport,
	};
	struct sl_policy_cidr_key ck = {
		.prefixlen = SL_POLICY_CIDR_FIXED_BITS + 32,
		.ep = ep,
		.dir = pdir,
		.addr = remote,
	};
	struct sl_policy_cidr_val *cidr;

	v->policy_id = 0;
	v->remote_id = remote_id;
	v->match = SL_MATCH_NONE;
	/* An unknown peer (identity 0, which keys "any peer") matches no
	 * selector: straight to the rules for any peer. */
	if (remote_id != SL_ID_ANY) {
		if (policy_hit(&k, v, SL_MATCH_L3_L4))
			return true;
		k.proto = SL_PROTO_ANY;
		k.dport = 0;
		if (policy_hit(&k, v, SL_MATCH_L3))
			return true;
		k.identity = SL_ID_ANY;
		k.proto = t->proto;
		k.dport = t->dport;
	}
	if (policy_hit(&k, v, SL_MATCH_L4))
		return true;
	k.proto = SL_PROTO_ANY;
	k.dport = 0;
	if (policy_hit(&k, v, SL_MATCH_ALL))
		return true;
	cidr = bpf_map_lookup_elem(&sl_policy_cidr, &ck);
	if (!cidr)
		return false;
	k.identity = cidr->identity;
	v->remote_id = cidr->identity;
	k.proto = t->proto;
	k.dport = t->dport;
	if (policy_hit(&k, v, SL_MATCH_CIDR_L4))
		return true;
	k.proto = SL_PROTO_ANY;
	k.dport = 0;
	return policy_hit(&k, v, SL_MATCH_CIDR);
}

/* One verdict for the flow pipeline. Shed when over budget or the ring is
 * full (counted in sl_event_stats); the caller's counters and drop
 * reasons count the packet regardless. */
static __always_inline void policy_send_event(struct __sk_buff *skb,
					      const struct l4_tuple *t,
					      __be32 ep, __u8 dir,
					      const struct policy_verdict *v,
					      __u8 verdict)
{
	struct sl_policy_event *ev;

	ev = event_reserve(sizeof(*ev), SL_EVENT_POLICY, verdict, dir,
			   skb->ifindex, skb->len);
	if (!ev)
		return;
	ev->saddr = t->saddr;
	ev->daddr = t->daddr;
	ev->sport = t->sport;
	ev->dport = t->dport;
	ev->proto = t->proto;
	ev->match = v->match;
	ev->pad = 0;
	ev->ep = ep;
	ev->remote_id = v->remote_id;
	ev->policy_id = v->policy_id;
	ev->pad2 = 0;
	event_submit(ev);
}

/**
 * policy_check - one end's verdict on a new connection
 * @skb: its first packet
 * @t: the connection as it reaches its peer (after Service translation)
 * @ep: the endpoint of this node whose policy speaks
 * @pdir: SL_POLICY_EGRESS when ep sends (t->saddr is ep), else ingress
 * @remote_id: the identity of the other end
 * @policy_id: set to the allowing policy, 0 when ep is not isolated
 *
 * An endpoint not isolated in this direction admits everything, without
 * an event (no policy decided). A pending endpoint (the agent has not
 * programmed it yet) admits nothing. Returns 0 or a negated drop reason.
 */
static __always_inline int policy_check(struct __sk_buff *skb,
					const struct l4_tuple *t,
					const struct sl_endpoint *ep, __u8 pdir,
					__u32 remote_id, __u32 *policy_id)
{
	bool egress = pdir == SL_POLICY_EGRESS;
	__be32 self = egress ? t->saddr : t->daddr;
	__be32 remote = egress ? t->daddr : t->saddr;
	__u8 dir = egress ? SL_DIR_EGRESS : SL_DIR_INGRESS;
	struct policy_verdict v = {};

	*policy_id = 0;
	if (ep->flags & SL_EP_F_PENDING) {
		v.remote_id = remote_id;
		v.match = SL_MATCH_NOT_READY;
		policy_send_event(skb, t, self, dir, &v, SL_VERDICT_DENIED);
		return -SL_ENDPOINT_NOT_READY;
	}
	if (!(ep->flags & (egress ? SL_EP_F_EGRESS_ISOLATED :
				    SL_EP_F_INGRESS_ISOLATED)))
		return 0;
	if (policy_lookup(self, pdir, remote, remote_id, t, &v)) {
		*policy_id = v.policy_id;
		sl_count(SL_POLICY_ALLOWED, dir, skb->len);
		policy_send_event(skb, t, self, dir, &v, SL_VERDICT_ALLOWED);
		return 0;
	}
	policy_send_event(skb, t, self, dir, &v, SL_VERDICT_DENIED);
	return egress ? -SL_POLICY_DENIED_EGRESS : -SL_POLICY_DENIED_INGRESS;
}

#endif /* SL_LIB_POLICY_H */

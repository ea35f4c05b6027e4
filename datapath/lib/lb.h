/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service load balancing at the pod veth (replacing kube-proxy): a packet
 * to a frontend is translated to a backend chosen once per connection and
 * remembered in conntrack; the backend's replies are translated back.
 *
 * A translated connection has two sl_ct entries (see conntrack.h): the OUT
 * entry under the client's tuple holds the state, counters and lifetime;
 * the REPLY entry under the backend's answering tuple only says how to undo
 * the translation, and is valid while its OUT entry is. So one lookup pair
 * serves each packet either way, and the agent's GC removes REPLY entries
 * whose OUT entry is gone.
 */
#ifndef SL_LIB_LB_H
#define SL_LIB_LB_H

#include "common.h"
#include "maps.h"
#include "conntrack.h"
#include "drop.h"
#include "l4.h"

/*
 * The frontend a packet is addressed to, or NULL. Traffic from outside the
 * node (outside true) reaches only external frontends (NodePorts, external
 * and load-balancer IPs; a ClusterIP is the cluster's own) and is served
 * from their external scope. In-cluster senders are served from the
 * internal scope of a frontend that has two (externalTrafficPolicy Local),
 * with every endpoint.
 */
static __always_inline struct sl_service_val *
lb4_frontend(const struct l4_tuple *t, struct sl_service_key *k, bool outside)
{
	struct sl_service_val *svc;

	k->addr = t->daddr;
	k->port = t->dport;
	k->proto = t->proto;
	k->scope = SL_SCOPE_EXT;
	k->slot = 0;
	k->pad = 0;
	svc = bpf_map_lookup_elem(&sl_services, k);
	if (!svc)
		return NULL;
	if (outside)
		return svc->flags & SL_SVC_F_EXTERNAL ? svc : NULL;
	if (svc->flags & SL_SVC_F_TWO_SCOPES) {
		k->scope = SL_SCOPE_INT;
		svc = bpf_map_lookup_elem(&sl_services, k);
	}
	return svc;
}

/*
 * ClientIP affinity: the backend this client used within the timeout, if
 * it is still there and not terminating (a terminating endpoint takes no
 * new connections, as with kube-proxy's recent-match rules).
 */
static __always_inline struct sl_backend *
lb4_affinity(const struct sl_service_val *svc, __be32 client, __u32 now,
	     __u32 *backend_id)
{
	struct sl_affinity_key ak = { .client = client, .svc_id = svc->svc_id };
	struct sl_affinity_val *av;
	struct sl_backend *be;

	av = bpf_map_lookup_elem(&sl_affinity, &ak);
	if (!av || now - av->last_used > svc->affinity_timeout)
		return NULL;
	be = bpf_map_lookup_elem(&sl_backends, &av->backend_id);
	if (!be || (be->flags & SL_BE_F_TERMINATING))
		return NULL;
	*backend_id = av->backend_id;
	av->last_used = now;
	return be;
}

/*
 * Maglev: the backend the frontend's table gives this connection's tuple,
 * the same on every node and for every packet of the tuple. NULL when the
 * table is missing (not written yet, or a table id of 0), or its entry
 * names no backend: the caller then picks at random, as a connection must
 * never fail because a table lags behind its frontend.
 */
static __always_inline struct sl_backend *
lb4_maglev(const struct sl_service_val *svc, const struct l4_tuple *t,
	   __u32 *backend_id)
{
	const struct sl_maglev_table *lut;
	__u32 table = svc->backend_id, zero = 0, idx, id;
	struct sl_backend *be;
	void *inner;

	if (!table)
		return NULL;
	inner = bpf_map_lookup_elem(&sl_maglev, &table);
	if (!inner)
		return NULL;
	lut = bpf_map_lookup_elem(inner, &zero);
	if (!lut)
		return NULL;
	idx = sl_maglev_hash4(t->saddr, t->daddr, t->sport, t->dport,
			      t->proto) % SL_MAGLEV_M;
	/* The verifier does not bound the result of a modulo; this check
	 * does, and the empty asm keeps clang from dropping it as
	 * redundant. */
	asm volatile("" : "+r"(idx));
	if (idx >= SL_MAGLEV_M)
		return NULL;
	id = lut->backend_id[idx];
	be = bpf_map_lookup_elem(&sl_backends, &id);
	if (be)
		*backend_id = id;
	return be;
}

/**
 * lb4_pick_flow - the backend of a new connection
 * @k: the frontend's key; its slot is changed
 * @svc: the frontend (count > 0)
 * @client: the client, for ClientIP affinity
 * @t: the connection's tuple, for a Maglev frontend; NULL picks at random
 *     (a host socket at connect() has no source port yet)
 * @now: ct_now()
 * @backend_id: set to the backend's id
 *
 * ClientIP affinity first, then the Maglev table, else a random slot.
 * Returns the backend, or NULL when the slot names none.
 */
static __always_inline struct sl_backend *
lb4_pick_flow(struct sl_service_key *k, const struct sl_service_val *svc,
	      __be32 client, const struct l4_tuple *t, __u32 now,
	      __u32 *backend_id)
{
	struct sl_service_val *slot;
	struct sl_backend *be = NULL;

	if (svc->flags & SL_SVC_F_AFFINITY) {
		be = lb4_affinity(svc, client, now, backend_id);
		if (be)
			return be;
	}
	if (t && (svc->flags & SL_SVC_F_MAGLEV))
		be = lb4_maglev(svc, t, backend_id);
	if (!be) {
		k->slot = (__u16)(bpf_get_prandom_u32() % svc->count + 1);
		slot = bpf_map_lookup_elem(&sl_services, k);
		if (!slot)
			return NULL;
		*backend_id = slot->backend_id;
		be = bpf_map_lookup_elem(&sl_backends, backend_id);
	}
	if (be && (svc->flags & SL_SVC_F_AFFINITY)) {
		struct sl_affinity_key ak = { .client = client,
					      .svc_id = svc->svc_id };
		struct sl_affinity_val av = { .backend_id = *backend_id,
					      .last_used = now };

		bpf_map_update_elem(&sl_affinity, &ak, &av, BPF_ANY);
	}
	return be;
}

/* A new connection without its tuple: affinity, else a random slot. */
static __always_inline struct sl_backend *
lb4_pick(struct sl_service_key *k, const struct sl_service_val *svc,
	 __be32 client, __u32 now, __u32 *backend_id)
{
	return lb4_pick_flow(k, svc, client, NULL, now, backend_id);
}

/* Track a new translated connection: REPLY first, so a reply can never
 * race ahead of the entry that translates it back. */
static __always_inline int lb4_ct_create(const struct l4_tuple *t,
					 const struct sl_service_val *svc,
					 const struct sl_backend *be,
					 __u32 backend_id,
					 const struct ct_meta *m,
					 struct __sk_buff *skb, __u32 now,
					 bool outside)
{
	int hairpin = be->addr == t->saddr;
	__be32 hairpin_ip = bpf_htonl(SL_HAIRPIN_IP4);
	struct sl_ct_entry e = {
		.created_ns = bpf_ktime_get_boot_ns(),
		.backend_id = backend_id,
		.svc_id = svc->svc_id,
		.flags = SL_CT_F_SERVICE | (hairpin ? SL_CT_F_HAIRPIN : 0) |
			 (outside ? SL_CT_F_OUTSIDE : 0),
		.identity = m->identity,
		.ifindex = skb->ifindex,
		.expires = ~0u, /* a REPLY entry lives as long as its OUT */
		.nat_saddr = t->daddr,
		.nat_sport = t->dport,
		.nat_daddr = hairpin ? t->saddr : 0,
	};
	struct sl_ct_key k = {
		.saddr = be->addr,
		.daddr = hairpin ? hairpin_ip : t->saddr,
		.sport = be->port,
		.dport = t->sport,
		.proto = t->proto,
		.dir = SL_CT_REPLY,
	};

	e.policy_id[0] = m->policy_id[0];
	e.policy_id[1] = m->policy_id[1];
	if (bpf_map_update_elem(&sl_ct, &k, &e, BPF_ANY) < 0)
		return -SL_CT_CREATE_FAILED;
	e.nat_saddr = hairpin ? hairpin_ip : 0;
	e.nat_sport = 0;
	e.nat_daddr = be->addr;
	e.nat_dport = be->port;
	return ct_insert_out(t, &e, outside ? SL_DIR_INGRESS : SL_DIR_EGRESS,
			     skb, now);
}

/**
 * lb4_established - a client's packet on its Service connection
 * @skb: the packet; packet pointers are stale when this returns 1
 * @t: its tuple, rewritten to the backend's on return 1
 * @e: the OUT entry of its tuple
 * @k: its key
 * @now: ct_now()
 * @dir: where the packet is seen, for a close event
 *
 * An established connection keeps its backend while the backend exists.
 * When the backend is gone the connection needs a new one, which answers
 * a TCP segment of a connection it never saw with a reset: the client
 * learns at once instead of timing out. A SYN on a closed connection's
 * tuple is a new connection, with a new pick.
 *
 * Returns 1 when translated, 0 when the packet needs a new backend (or is
 * not a Service connection's), or a negated drop reason.
 */
static __always_inline int lb4_established(struct __sk_buff *skb,
					   struct l4_tuple *t,
					   struct sl_ct_entry *e,
					   const struct sl_ct_key *k, __u32 now,
					   __u8 dir)
{
	int ret;

	if (!(e->flags & SL_CT_F_SERVICE) || ct_tcp_reopens(e, t) ||
	    !bpf_map_lookup_elem(&sl_backends, &e->backend_id))
		return 0;
	ct_account_flow(e, k, 0, t, skb, dir, now);
	ret = l4_nat(skb, t, e->nat_saddr, 0, e->nat_daddr, e->nat_dport);
	return ret < 0 ? ret : 1;
}

/**
 * lb4_select - the backend of a new connection to a frontend
 * @t: the connection's first packet
 * @k: the frontend's key (lb4_frontend); its slot is changed
 * @svc: the frontend
 * @now: ct_now()
 * @be: set to the backend
 * @backend_id: set to its id
 *
 * No endpoint to send to is refused when the Service has none at all, and
 * dropped when only other nodes have some (traffic policy Local), as
 * kube-proxy does. Returns 0 or a negated drop reason.
 */
static __always_inline int lb4_select(const struct l4_tuple *t,
				      struct sl_service_key *k,
				      const struct sl_service_val *svc,
				      __u32 now, struct sl_backend **be,
				      __u32 *backend_id)
{
	if (!svc->count)
		return svc->flags & SL_SVC_F_REMOTE_ONLY ? -SL_NO_LOCAL_BACKEND :
							    -SL_NO_SERVICE_BACKEND;
	*be = lb4_pick_flow(k, svc, t->saddr, t, now, backend_id);
	return *be ? 0 : -SL_SERVICE_INCONSISTENT;
}

/* Track a new connection to the backend lb4_select() chose and translate
 * its first packet. Returns 1, or a negated drop reason. */
static __always_inline int lb4_commit(struct __sk_buff *skb, struct l4_tuple *t,
				      const struct sl_service_val *svc,
				      const struct sl_backend *be,
				      __u32 backend_id, const struct ct_meta *m,
				      __u32 now, bool outside)
{
	int ret;

	ret = lb4_ct_create(t, svc, be, backend_id, m, skb, now, outside);
	if (ret < 0)
		return ret;
	sl_count(SL_SERVICE_NEW, outside ? SL_DIR_INGRESS : SL_DIR_EGRESS,
		 skb->len);
	ret = l4_nat(skb, t, be->addr == t->saddr ? bpf_htonl(SL_HAIRPIN_IP4) : 0,
		     0, be->addr, be->port);
	return ret < 0 ? ret : 1;
}

/**
 * lb4_to_service - translate a packet addressed to a Service frontend
 * @skb: the packet; packet pointers are stale when this returns 1
 * @t: its tuple, rewritten to the backend's on return 1
 * @outside: the packet came in from outside the node (a netdev)
 *
 * For hooks that judge no policy (the node's interfaces): the backend's
 * veth does, when the translated packet reaches it. The clock is read
 * only for a frontend's packets: most of what these hooks see is not.
 * Returns 0 when the packet is not for a frontend, 1 when translated, or
 * a negated drop reason.
 */
static __always_inline int lb4_to_service(struct __sk_buff *skb,
					  struct l4_tuple *t, bool outside)
{
	const struct ct_meta m = {};
	struct sl_service_key k;
	struct sl_service_val *svc;
	struct sl_ct_entry *e;
	struct sl_ct_key ck;
	struct sl_backend *be;
	__u32 backend_id = 0, now;
	int ret;

	svc = lb4_frontend(t, &k, outside);
	if (!svc)
		return 0;
	now = ct_now();
	e = ct_lookup_key(t, SL_CT_OUT, now, &ck);
	if (e) {
		ret = lb4_established(skb, t, e, &ck, now,
				      outside ? SL_DIR_INGRESS : SL_DIR_EGRESS);
		if (ret)
			return ret;
	}
	ret = lb4_select(t, &k, svc, now, &be, &backend_id);
	if (ret < 0)
		return ret;
	return lb4_commit(skb, t, svc, be, backend_id, &m, now, outside);
}

/**
 * lb4_from_backend - undo the translation on a backend's reply
 * @skb: the packet; packet pointers are stale when this returns 1
 * @t: its tuple, rewritten to the frontend's on return 1
 * @dir: where the packet is seen, for the counters
 * @now: ct_now(), or 0 to have it read only for a packet that answers a
 *	translated connection (a hook where most packets answer none)
 * @at_netdev: seen leaving the node by one of its interfaces
 *
 * Returns 0 when the packet answers no translated connection, 1 when
 * translated back, or a negated drop reason.
 */
static __always_inline int lb4_from_backend(struct __sk_buff *skb,
					    struct l4_tuple *t, __u8 dir,
					    __u32 now, bool at_netdev)
{
	struct sl_ct_entry *rep, *out;
	struct sl_ct_key k;
	int ret;

	ct_key_of(&k, t, SL_CT_REPLY);
	rep = bpf_map_lookup_elem(&sl_ct, &k);
	/* Connections from outside are translated back where their replies
	 * leave the node, the others at the veth (see SL_CT_F_OUTSIDE). */
	if (!rep || !(rep->flags & SL_CT_F_OUTSIDE) != !at_netdev)
		return 0;
	/* The connection as its client sees it. */
	k.saddr = rep->nat_daddr ? rep->nat_daddr : t->daddr;
	k.daddr = rep->nat_saddr;
	k.sport = t->dport;
	k.dport = rep->nat_sport;
	k.dir = SL_CT_OUT;
	out = bpf_map_lookup_elem(&sl_ct, &k);
	if (!now)
		now = ct_now();
	/* Stale, for the GC to take: the connection is gone, or the
	 * client's tuple has since been given another backend (its backend
	 * was removed, its OUT entry expired), and this backend's late
	 * packets are not the new connection's replies. */
	if (!out || out->backend_id != rep->backend_id ||
	    (__s32)(out->expires - now) < 0)
		return 0;
	/* A handshake answered on a closing connection's tuple belongs to a
	 * new connection, made straight to the backend from the same port:
	 * not a reply of ours. The old entries go now, or they would turn
	 * every packet of the new one into the Service's. */
	if (t->proto == IPPROTO_TCP && (out->flags & SL_CT_F_CLOSING) &&
	    (t->tcp_flags & (TCP_FL_SYN | TCP_FL_ACK)) ==
		    (TCP_FL_SYN | TCP_FL_ACK)) {
		bpf_map_delete_elem(&sl_ct, &k);
		ct_key_of(&k, t, SL_CT_REPLY);
		bpf_map_delete_elem(&sl_ct, &k);
		return 0;
	}
	ct_account_flow(out, &k, 1, t, skb, dir, now);
	sl_count(SL_SERVICE_REPLY, dir, skb->len);
	ret = l4_nat(skb, t, rep->nat_saddr, rep->nat_sport, rep->nat_daddr, 0);
	return ret < 0 ? ret : 1;
}

#endif /* SL_LIB_LB_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The VXLAN overlay (include/sluice/tunnel.h): in VXLAN mode the agent
 * routes every other node's pod CIDR to one collect-metadata VXLAN
 * device. sl_to_overlay (its tc egress) picks each packet's far end from
 * sl_tunnel and puts the sender's identity in the VNI; sl_from_overlay
 * (its tc ingress) takes that identity for the receiving pod's ingress
 * policy and hands the packet straight to the pod, as sl_from_pod does
 * between pods of one node.
 */
#ifndef SL_LIB_OVERLAY_H
#define SL_LIB_OVERLAY_H

#include "common.h"
#include "maps.h"
#include "ipv4.h"
#include "lxc.h"

/* Who sent a packet into the tunnel: a pod of this node, or what the
 * ipcache knows of its address (this node's own: SL_ID_HOST). */
static __always_inline __u32 overlay_src_identity(__be32 saddr)
{
	struct sl_endpoint *ep = lookup_endpoint4(saddr);

	if (ep)
		return ep->identity;
	return policy_identity_of(saddr);
}

static __always_inline struct sl_verdict overlay_to_node(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct bpf_tunnel_key key = {};
	struct sl_tunnel_key k = { .prefixlen = 32 };
	struct sl_tunnel_val *v;
	struct iphdr *ip;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);
	/* The device has no ARP and IPv6 is off: only IPv4 is routed here. */
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return sl_drop(SL_UNSUPPORTED_L3);
	ret = ipv4_validate(skb, &ip);
	if (ret < 0)
		return sl_drop(-ret);
	k.ip4 = ip->daddr;
	v = bpf_map_lookup_elem(&sl_tunnel, &k);
	if (!v)
		return sl_drop(SL_NO_TUNNEL_ENDPOINT);
	key.remote_ipv4 = bpf_ntohl(v->node_ip);
	key.tunnel_id = overlay_src_identity(ip->saddr) & SL_VNI_MAX;
	key.tunnel_ttl = 64;
	/* A zero outer UDP checksum, as RFC 7348 allows over IPv4: the
	 * inner packet carries its own. */
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key),
				   BPF_F_ZERO_CSUM_TX) < 0)
		return sl_drop(SL_REWRITE_FAILED);
	return sl_pass(TC_ACT_OK, SL_TO_OVERLAY);
}

static __always_inline struct sl_verdict
overlay_from_node(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct bpf_tunnel_key key = {};
	struct sl_endpoint *dst;
	struct iphdr *ip;
	__u32 remote_id = 0;
	int ret;

	if ((void *)(eth + 1) > data_end)
		return sl_drop(SL_SHORT_FRAME);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return sl_drop(SL_UNSUPPORTED_L3);
	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) == 0) {
		/* The VNI speaks for the sender only if a node of the
		 * cluster sent it: anyone else reaching the port could
		 * otherwise claim any identity past ingress policy. */
		if (policy_identity_of(bpf_htonl(key.remote_ipv4)) !=
		    SL_ID_REMOTE_NODE)
			return sl_drop(SL_TUNNEL_SOURCE_UNKNOWN);
		remote_id = key.tunnel_id == SL_ID_HOST ? SL_ID_REMOTE_NODE :
							 key.tunnel_id;
	}
	/* The inner frame's MAC is not this device's: to the stack it
	 * would be another host's frame, and dropped. */
	bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
	ret = ipv4_validate(skb, &ip);
	if (ret < 0)
		return sl_drop(-ret);
	dst = lookup_endpoint4(ip->daddr);
	if (!dst)
		return sl_pass(TC_ACT_OK, SL_FROM_OVERLAY); /* the host's */
	return lxc_from_node(skb, ip, dst, remote_id, SL_FROM_OVERLAY);
}

#endif /* SL_LIB_OVERLAY_H */

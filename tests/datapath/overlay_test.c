// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The VXLAN overlay (datapath/lib/overlay.h): sl_to_overlay choosing each
 * packet's far end from sl_tunnel and putting the sender's identity in the
 * VNI, sl_from_overlay judging the receiving pod's ingress by it and
 * handing the packet to the pod; and the mark sl_from_netdev puts on a
 * connection from outside sent to another node's backend
 * (include/sluice/mark.h), for the node's SNAT.
 *
 * Two ways in. Through test_run, for the verdicts, frames, counters,
 * events and maps: test_run gives a program no tunnel metadata and frees
 * what it sets with the skb, so there sl_from_overlay reads no VNI
 * (identity 0: the ipcache's) and what sl_to_overlay chose cannot be read
 * back. Live, for those two: a real collect-metadata VXLAN device in the
 * node's namespace with both programs attached, and an underlay veth
 * whose far end stands for the other nodes. The frame sl_to_overlay sent
 * is read off the underlay, encapsulated: its outer destination is the
 * node sl_tunnel chose, its VNI the identity; a frame encapsulated by
 * hand comes in with the VNI that sl_from_overlay must judge by.
 *
 * Addresses: pods A and B (runner.h) are this node's; node 2 holds
 * 10.0.1.0/24 (IP_REMOTE is one of its pods), node 3 a /25 inside it,
 * node 4 a single /32 there; IP_OUT is a client outside the cluster.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/endpoint.h>
#include <sluice/ipcache.h>
#include <sluice/mark.h>
#include <sluice/policy.h>
#include <sluice/tunnel.h>

#include "svc.h"

#define ID_A 1000
#define ID_B 1001
#define ID_REMOTE 1002
#define ID_OTHER 1003
/* An identity past the VNI's 24 bits: only its low 24 travel. */
#define ID_WIDE (0x5000000u | ID_OTHER)
#define POLICY 90
#define CPORT 40000
#define PORT 80
#define KUBELET_PORT 10250

/* The underlay: this node's InternalIP and three others'. */
#define NODE_SELF IP4(172, 31, 0, 1)
#define NODE2 IP4(172, 31, 0, 2)
#define NODE3 IP4(172, 31, 0, 3)
#define NODE4 IP4(172, 31, 0, 4)
#define UNDERLAY_PLEN 24

/* The pod CIDRs of nodes 2, 3 and 4, one inside the other. */
#define CIDR2 IP4(10, 0, 1, 0)
#define CIDR3 IP4(10, 0, 1, 128)
#define IP_N2 IP4(10, 0, 1, 5)    /* only in node 2's /24 */
#define IP_N3 IP4(10, 0, 1, 200)  /* in node 3's /25 too */
#define IP_N4 IP4(10, 0, 1, 77)   /* node 4's /32, in node 2's /24 */
#define IP_N4_NEXT IP4(10, 0, 1, 78)
/* Pods of other nodes the ipcache knows, and addresses nobody holds. */
#define IP_OTHER_POD IP4(10, 0, 1, 98)
#define IP_FAR_POD IP4(10, 0, 2, 7)
#define IP_NOWHERE IP4(10, 0, 9, 9)
#define IP_OUT IP4(192, 168, 77, 100)

/* A NodePort on this node, its backends' port. */
#define NODEPORT 30080
#define NODEPORT_LOCAL 30081
#define BE_PORT 8080

/* Marks a client of the node may carry: other software's bits around
 * SL_MARK_MASK's byte, which is clear in one and taken in the other. */
#define MARK_CLEAR 0x12340001u
#define MARK_TAKEN 0x1234a701u

/* test_run takes 1 as the loopback: the node's interface here. */
#define NETDEV_IFINDEX 1

/* The overlay as the agent sets it up (agent/routing.c), live. */
#define VX_DEV "sl-vx"
#define UL_DEV "sl-ul"
#define UL_PEER_DEV "sl-ul-peer"
#define OUTER_TTL 64 /* sl_to_overlay's tunnel_ttl */
#define VXLAN_HLEN 8
#define VXLAN_FLAG_VNI 0x08
#define OUTER_SPORT 50000

/* The VXLAN devices have no ARP: a sender addresses its own MAC. */
static const __u8 vx_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x10 };
static const __u8 peer_vx_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x20 };
static const __u8 ul_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x11 };
static const __u8 ul_peer_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x12 };
static const __u8 nd_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x01 };
static const __u8 gw_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x02 };

#define INGRESS_BIT (1u << SL_DIR_INGRESS)

/* --- the maps as the agent writes them ---------------------------------- */




/* Nodes 2, 3 and 4 with their CIDRs. */
static int tunnels_put(void)
{
	int err = tunnel_put(CIDR2, 24, NODE2);

	if (!err)
		err = tunnel_put(CIDR3, 25, NODE3);
	return err ? err : tunnel_put(IP_N4, 32, NODE4);
}

/* --- the overlay device ---------------------------------------------- */

static struct {
	__u32 vx;      /* the VXLAN device */
	__u32 ul_peer; /* the underlay's far end: the other nodes */
} ovl;

/*
 * The overlay of a node in VXLAN mode, made on first use and left for
 * the later cases (the namespace goes with the runner): the VXLAN device
 * as agent/routing.c makes it (collect metadata, no learning, no ARP),
 * and the node's underlay interface holding NODE_SELF, a veth whose other
 * end stands for nodes 2 to 4, their neighbour entries static so that
 * no ARP crosses it. The test_run cases run on the VXLAN device too, as
 * the programs do.
 */
static int ovl_up(void)
{
	static const __u32 nodes[] = { NODE2, NODE3, NODE4 };
	char mac[18], peer[18], ip[INET_ADDRSTRLEN];
	int err;

	if (ovl.vx)
		return 0;
	mac_str(vx_mac, mac, sizeof(mac));
	err = sh("ip link add " VX_DEV " address %s type vxlan external "
		 "dstport %d nolearning", mac, SL_VXLAN_PORT_DEFAULT);
	if (!err)
		err = sh("ip link set " VX_DEV " arp off up");
	mac_str(ul_mac, mac, sizeof(mac));
	mac_str(ul_peer_mac, peer, sizeof(peer));
	if (!err)
		err = sh("ip link add " UL_DEV " address %s type veth peer "
			 "name " UL_PEER_DEV " address %s", mac, peer);
	ip_str(NODE_SELF, ip);
	if (!err)
		err = sh("ip addr add %s/%d dev " UL_DEV, ip, UNDERLAY_PLEN);
	if (!err)
		err = sh("ip link set " UL_DEV " up && ip link set " UL_PEER_DEV
			 " up");
	for (size_t i = 0; !err && i < ARRAY_SIZE(nodes); i++) {
		ip_str(nodes[i], ip);
		err = sh("ip neigh replace %s lladdr %s dev " UL_DEV
			 " nud permanent", ip, peer);
	}
	if (err)
		return err;
	ovl.vx = if_nametoindex(VX_DEV);
	ovl.ul_peer = if_nametoindex(UL_PEER_DEV);
	if (!CHECK(ovl.vx && ovl.ul_peer, "no ifindex for " VX_DEV " or "
		   UL_PEER_DEV ": %s", strerror(errno))) {
		ovl.vx = 0;
		return -ENODEV;
	}
	return 0;
}

/* Both programs on the VXLAN device, where the agent attaches them. */
static int ovl_attach(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ovl.vx,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = 1, .priority = 1,
		    .prog_fd = prog_fd(FROM_OVERLAY));
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err)
		err = bpf_tc_attach(&hook, &tc);
	if (!err) {
		hook.attach_point = BPF_TC_EGRESS;
		tc.prog_fd = prog_fd(TO_OVERLAY);
		tc.prog_id = 0;
		err = bpf_tc_attach(&hook, &tc);
	}
	return err;
}

static void ovl_detach(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ovl.vx,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}

/* A live case's start: both packet sockets open, the programs attached to
 * the overlay device. False (the case failed, said) otherwise. */
static bool ovl_live_start(int tx, int rx)
{
	int err;

	if (!CHECK(tx >= 0 && rx >= 0, "packet sockets: %s",
		   strerror(-(tx < 0 ? tx : rx))))
		return false;
	err = ovl_attach();
	return CHECK(err == 0, "attaching to " VX_DEV ": %s", strerror(-err));
}

/* A live case's end, however far its start got: programs detached (the
 * clsact hook removed, attached or not), sockets closed. */
static void ovl_live_end(int tx, int rx)
{
	ovl_detach();
	if (rx >= 0)
		close(rx);
	if (tx >= 0)
		close(tx);
}

/* --- frames ------------------------------------------------------------- */

/* A frame as it meets prog: the MACs of the device it runs on. */
static void node_frame(enum prog prog, const struct pkt_spec *s, __u8 ttl,
		       struct pkt *p)
{
	switch (prog) {
	case FROM_NETDEV:
		build_frame(s, nd_mac, gw_mac, ttl, p);
		break;
	case FROM_OVERLAY:
		build_frame(s, peer_vx_mac, peer_vx_mac, ttl, p);
		break;
	default:
		build_frame(s, vx_mac, vx_mac, ttl, p);
		break;
	}
}

/* The inner frame s from another node's pod, encapsulated by that node
 * (@from) for this one with @vni. */
static void encap(const struct pkt_spec *s, __u32 from, __u32 vni,
		  struct pkt *p)
{
	struct pkt inner;
	__u8 *vx;

	node_frame(FROM_OVERLAY, s, s->ttl, &inner);
	pkt_init(p);
	pkt_put_eth(p, ul_mac, ul_peer_mac, ETH_P_IP);
	pkt_put_ipv4(p, from, NODE_SELF, IPPROTO_UDP, OUTER_TTL, 0);
	pkt_put_udp(p, OUTER_SPORT, SL_VXLAN_PORT_DEFAULT);
	vx = pkt_put(p, VXLAN_HLEN);
	vx[0] = VXLAN_FLAG_VNI;
	vx[4] = vni >> 16;
	vx[5] = vni >> 8;
	vx[6] = vni;
	memcpy(pkt_put(p, inner.len), inner.data, inner.len);
	/* Lengths and the header checksum; the UDP checksum stays 0 (none),
	 * as sl_to_overlay has the sending node leave it. */
	pkt_ipv4_finish(p);
}

/**
 * struct outer - what an encapsulated frame says about its trip
 * @ip: its outer IPv4 header, in the frame
 * @udp: its UDP header
 * @vni: the VNI
 * @inner: the frame it carries
 */
struct outer {
	const struct iphdr *ip;
	const struct pkt_udphdr *udp;
	__u32 vni;
	struct pkt inner;
};

/* Whether p is a VXLAN frame of ours (to SL_VXLAN_PORT_DEFAULT), and its
 * parts if so. */
static bool decap(const struct pkt *p, struct outer *o)
{
	const __u32 hlen = ETH_HLEN + sizeof(struct iphdr) +
			   sizeof(struct pkt_udphdr);
	const struct ethhdr *eth = (const void *)p->data;
	const __u8 *vx;

	if (p->len < hlen + VXLAN_HLEN + ETH_HLEN ||
	    eth->h_proto != htons(ETH_P_IP))
		return false;
	o->ip = (const void *)(p->data + ETH_HLEN);
	o->udp = (const void *)(p->data + ETH_HLEN + sizeof(struct iphdr));
	if (o->ip->ihl != 5 || o->ip->protocol != IPPROTO_UDP ||
	    o->udp->dest != htons(SL_VXLAN_PORT_DEFAULT))
		return false;
	vx = p->data + hlen;
	o->vni = (__u32)vx[4] << 16 | vx[5] << 8 | vx[6];
	pkt_init(&o->inner);
	memcpy(o->inner.data, vx + VXLAN_HLEN, p->len - hlen - VXLAN_HLEN);
	o->inner.len = p->len - hlen - VXLAN_HLEN;
	o->inner.l3_off = ETH_HLEN;
	return vx[0] == VXLAN_FLAG_VNI;
}

/* The next VXLAN frame on the underlay, skipping anything else. */
static int recv_vxlan(int fd, struct pkt *p, struct outer *o, int timeout_ms)
{
	for (int i = 0; i < 16; i++) {
		int err = topo_recv(fd, p, timeout_ms);

		if (err < 0)
			return err;
		if (decap(p, o))
			return 0;
	}
	return -EPROTO;
}

/* --- steps ------------------------------------------------------------- */

static __u32 ifindex_of(enum prog prog)
{
	return prog == FROM_NETDEV ? NETDEV_IFINDEX : ovl.vx;
}

/*
 * Run one step (ostep_run()) as it meets its program on the overlay
 * device or the node's interface. @mark is skb->mark in, and what the
 * program left there out, when not NULL; events holds the verdict events
 * after.
 */
static int orun(const struct ostep *s, __u32 *mark, struct pkt *in,
		struct pkt *out)
{
	const struct pkt_spec *o = s->out.saddr ? &s->out : &s->in;
	struct __sk_buff ctx = { .ifindex = ifindex_of(s->prog) };
	struct pkt expect;
	int err;

	node_frame(s->prog, &s->in, s->in.ttl, in);
	node_frame(s->prog, o, o->ttl, &expect);
	if (mark)
		ctx.mark = *mark;
	err = ostep_run(s, &ctx, in, &expect, out);
	if (mark)
		*mark = ctx.mark;
	return err;
}

/* The i-th verdict event of the last step: the pod's ingress policy. */

/* A frame into the tunnel, let through unchanged. */
static struct ostep to_tunnel(__u32 saddr, __u32 daddr)
{
	return (struct ostep){
		.prog = TO_OVERLAY,
		.in = tcp(saddr, CPORT, daddr, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_TO_OVERLAY },
	};
}

/* A frame into the tunnel, dropped for reason. */
static struct ostep to_tunnel_dropped(struct pkt_spec in, __u32 reason)
{
	return (struct ostep){
		.prog = TO_OVERLAY, .in = in, .ret = TC_ACT_SHOT,
		.count = { reason },
	};
}

/* A frame out of the tunnel for pod B, handed to it. */
static struct ostep to_pod_b(struct pkt_spec in, __u8 allowed)
{
	return (struct ostep){
		.prog = FROM_OVERLAY, .in = in, .ret = TC_ACT_REDIRECT,
		.to = EP_B, .count = { SL_FROM_OVERLAY }, .allowed = allowed,
	};
}

/* --- into the tunnel ----------------------------------------------------- */

/*
 * Whoever sends (a pod of this node, this node, a pod the ipcache knows
 * of, an address it does not), a packet for a node's CIDR goes into the
 * tunnel as it is: TC_ACT_OK, for the VXLAN device to encapsulate.
 */
static int run_to_node(const struct dp_case *c)
{
	const __u32 from[] = { IP_A, NODE_SELF, IP_FAR_POD, IP_OUT };
	struct pkt in, out;

	(void)c;
	SETUP(ovl_up());
	SETUP(ep_set(EP_A, 0, ID_A));
	SETUP(ipcache_put(NODE_SELF, SL_ID_HOST));
	SETUP(ipcache_put(IP_FAR_POD, ID_OTHER));
	SETUP(tunnel_put(CIDR2, 24, NODE2));
	for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
		struct ostep s = to_tunnel(from[i], IP_REMOTE);

		if (orun(&s, NULL, &in, &out) < 0)
			return 0;
	}
	CHECK(ct_count() == 0, "%u conntrack entries: the tunnel tracks "
	      "nothing, the sender's veth does", ct_count());
	return 0;
}

/* No node holds the address: dropped, with its event; anything but IPv4
 * too. */
static int run_no_tunnel(const struct dp_case *c)
{
	struct pkt_spec v6 = { .l3 = L3_IPV6 };
	struct pkt_spec arp = { .l3 = L3_ARP, .saddr = IP_A,
				.daddr = IP_REMOTE };
	struct ostep s = to_tunnel_dropped(tcp(IP_A, CPORT, IP_NOWHERE, PORT,
					       PKT_TCP_SYN),
					   SL_NO_TUNNEL_ENDPOINT);
	struct pkt in, out;

	(void)c;
	SETUP(ovl_up());
	SETUP(ep_set(EP_A, 0, ID_A));
	SETUP(tunnel_put(CIDR2, 24, NODE2));
	if (orun(&s, NULL, &in, &out) < 0)
		return 0;
	s = to_tunnel_dropped(v6, SL_UNSUPPORTED_L3);
	if (orun(&s, NULL, &in, &out) < 0)
		return 0;
	s = to_tunnel_dropped(arp, SL_UNSUPPORTED_L3);
	orun(&s, NULL, &in, &out);
	return 0;
}

/*
 * sl_tunnel matches by prefix: with only node 3's /25 and node 4's /32,
 * their addresses go into the tunnel and their neighbours outside them
 * are dropped. Which node a matching address goes to is not visible
 * through test_run (it keeps no tunnel key); overlay_longest_prefix_live
 * reads it off the wire.
 */
static int run_prefix(const struct dp_case *c)
{
	const __u32 held[] = { IP_N3, CIDR3, IP4(10, 0, 1, 255), IP_N4 };
	const __u32 unheld[] = { IP_N2, IP4(10, 0, 1, 127), IP_N4_NEXT };
	struct pkt in, out;

	(void)c;
	SETUP(ovl_up());
	SETUP(tunnel_put(CIDR3, 25, NODE3));
	SETUP(tunnel_put(IP_N4, 32, NODE4));
	for (size_t i = 0; i < ARRAY_SIZE(held); i++) {
		struct ostep s = to_tunnel(IP_A, held[i]);

		if (orun(&s, NULL, &in, &out) < 0)
			return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(unheld); i++) {
		struct ostep s = to_tunnel_dropped(tcp(IP_A, CPORT, unheld[i],
						       PORT, PKT_TCP_SYN),
						   SL_NO_TUNNEL_ENDPOINT);

		if (orun(&s, NULL, &in, &out) < 0)
			return 0;
	}
	return 0;
}

/* What one frame sent into the live tunnel must become. */
struct trip {
	__u32 saddr;
	__u32 daddr;
	__u32 node; /* where it must be sent */
	__u32 vni;  /* the sender's identity it must carry */
};

/*
 * Frames sent through the VXLAN device with sl_to_overlay at its egress,
 * read off the underlay: the longest of sl_tunnel's prefixes picks the
 * node (node 2's /24, node 3's /25 in it, node 4's /32 in it), and the
 * VNI is the sender's identity: a pod of this node's from sl_endpoints,
 * else the ipcache's (this node: SL_ID_HOST; unknown: the world), cut to
 * 24 bits. The outer header is as sl_to_overlay asks: TTL 64, no UDP
 * checksum. An address no node holds sends nothing.
 */
static int run_longest_prefix_live(const struct dp_case *c)
{
	static const struct trip trips[] = {
		{ IP_A, IP_N2, NODE2, ID_A },
		{ IP_A, IP_REMOTE, NODE2, ID_A },
		{ IP_A, IP_N3, NODE3, ID_A },
		{ IP_A, IP_N4, NODE4, ID_A },
		{ IP_A, IP_N4_NEXT, NODE2, ID_A },
		{ IP_B, IP_N3, NODE3, ID_WIDE & SL_VNI_MAX },
		{ NODE_SELF, IP_N2, NODE2, SL_ID_HOST },
		{ IP_FAR_POD, IP_N4, NODE4, ID_OTHER },
		{ IP_OUT, IP_N3, NODE3, SL_ID_WORLD },
	};
	struct metric_want want[2];
	int tx = -1, rx = -1, err;
	struct pkt frame, got;
	struct outer o;
	__u32 len = 0;

	(void)c;
	SETUP(ovl_up());
	SETUP(ep_set(EP_A, 0, ID_A));
	SETUP(ep_set(EP_B, 0, ID_WIDE));
	SETUP(ipcache_put(NODE_SELF, SL_ID_HOST));
	SETUP(ipcache_put(IP_FAR_POD, ID_OTHER));
	SETUP(tunnels_put());
	tx = node_socket(ovl.vx);
	rx = node_socket(ovl.ul_peer);
	if (!ovl_live_start(tx, rx))
		goto done;

	for (size_t i = 0; i < ARRAY_SIZE(trips); i++) {
		const struct trip *t = &trips[i];
		struct pkt_spec s = tcp(t->saddr, CPORT + i, t->daddr, PORT,
					PKT_TCP_SYN);
		char node[INET_ADDRSTRLEN], want_node[INET_ADDRSTRLEN];
		char dst[INET_ADDRSTRLEN];

		ip_str(t->daddr, dst);
		node_frame(TO_OVERLAY, &s, s.ttl, &frame);
		len = frame.len;
		err = topo_send(tx, &frame);
		if (!CHECK(err == 0, "sending to %s: %s", dst, strerror(-err)))
			goto done;
		err = recv_vxlan(rx, &got, &o, LIVE_WAIT_MS);
		if (!CHECK(err == 0, "to %s: nothing on the underlay: %s", dst,
			   strerror(-err)))
			continue;
		ip_str(ntohl(o.ip->daddr), node);
		ip_str(t->node, want_node);
		CHECK(o.ip->daddr == htonl(t->node),
		      "to %s: sent to node %s, want %s", dst, node, want_node);
		CHECK(o.vni == t->vni, "to %s: VNI %u, want %u", dst, o.vni,
		      t->vni);
		CHECK(o.ip->saddr == htonl(NODE_SELF) &&
		      o.ip->ttl == OUTER_TTL && o.udp->check == 0,
		      "to %s: outer source %08x TTL %u UDP checksum 0x%04x, "
		      "want %08x, %u and none", dst, ntohl(o.ip->saddr),
		      o.ip->ttl, ntohs(o.udp->check), NODE_SELF, OUTER_TTL);
		check_same_frame("inner frame", &frame, &o.inner);
	}

	/* Nobody's: dropped at the device, nothing on the wire. */
	{
		struct pkt_spec s = tcp(IP_A, CPORT, IP_NOWHERE, PORT,
					PKT_TCP_SYN);

		node_frame(TO_OVERLAY, &s, s.ttl, &frame);
		topo_send(tx, &frame); /* the drop may fail the send */
		wait_counted(SL_NO_TUNNEL_ENDPOINT, SL_DIR_EGRESS);
		err = recv_vxlan(rx, &got, &o, LIVE_QUIET_MS);
		CHECK(err == -ETIMEDOUT, "a frame for an address no node "
		      "holds went to %08x", err ? 0 : ntohl(o.ip->daddr));
	}
	/* Every frame is as long: the counters are sums of one length. */
	want[0] = (struct metric_want){ SL_TO_OVERLAY, SL_DIR_EGRESS,
					ARRAY_SIZE(trips),
					ARRAY_SIZE(trips) * len };
	want[1] = (struct metric_want){ SL_NO_TUNNEL_ENDPOINT, SL_DIR_EGRESS,
					1, len };
	check_metrics_set(want, 2);
done:
	ovl_live_end(tx, rx);
	return 0;
}

/* --- out of the tunnel ---------------------------------------------------- */

/*
 * Another node's pod to pod B: handed to B as a router hop (B's MACs,
 * TTL one less, checksum right), tracked with the sender's identity from
 * the ipcache (test_run carries no VNI). B is egress-isolated and allowed
 * nothing: its answers pass as replies all the same (sl_from_pod, to the
 * stack and the tunnel), while a connection of its own is denied.
 */
static int run_from_node(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec ack = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_ACK);
	struct pkt_spec synack = tcp(IP_B, PORT, IP_REMOTE, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct pkt_spec own = tcp(IP_B, PORT, IP_REMOTE, CPORT + 1,
				  PKT_TCP_SYN);
	struct ostep s1 = to_pod_b(syn, 0);
	struct ostep s3 = to_pod_b(ack, 0);
	struct step reply = {
		.prog = FROM_POD, .dev = EP_B, .in = synack, .out = synack,
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct step denied = {
		.prog = FROM_POD, .dev = EP_B, .in = own, .ret = TC_ACT_SHOT,
		.count = { SL_POLICY_DENIED_EGRESS },
	};
	struct sl_ct_key k = ct_key(IP_REMOTE, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(ovl_up());
	SETUP(ep_set(EP_B, SL_EP_F_EGRESS_ISOLATED, ID_B));
	SETUP(ipcache_put(IP_REMOTE, ID_REMOTE));
	if (orun(&s1, NULL, &in, &out) < 0)
		return 0;
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.identity == ID_REMOTE && e.packets[0] == 1 &&
		      e.packets[1] == 0 && e.policy_id[SL_POLICY_INGRESS] == 0,
		      "entry: identity %u, %llu/%llu packets, ingress policy "
		      "%u", e.identity, (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1],
		      e.policy_id[SL_POLICY_INGRESS]);
	if (step(&reply, &in, &out) < 0)
		return 0;
	CHECK(events.verdicts == 0, "%u verdict events for a reply",
	      events.verdicts);
	if (orun(&s3, NULL, &in, &out) < 0)
		return 0;
	if (step(&denied, &in, &out) < 0)
		return 0;
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.packets[0] == 2 && e.packets[1] == 1,
		      "entry: %llu/%llu packets, want 2/1",
		      (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1]);
	return 0;
}

/*
 * B takes port 80 from ID_REMOTE only. Through test_run no VNI comes with
 * the frame, so the sender's identity is the ipcache's: IP_REMOTE's is
 * admitted, another pod's and an address the ipcache does not know (the
 * world) are denied, each verdict naming the identity it judged.
 * overlay_vni_identity_live judges by the VNI.
 */
static int run_ingress_policy(const struct dp_case *c)
{
	struct ostep ok = to_pod_b(tcp(IP_REMOTE, CPORT, IP_B, PORT,
				       PKT_TCP_SYN), INGRESS_BIT);
	struct ostep no = {
		.prog = FROM_OVERLAY,
		.in = tcp(IP_OTHER_POD, CPORT, IP_B, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_SHOT, .count = { SL_POLICY_DENIED_INGRESS },
	};
	struct ostep world = no;
	struct sl_ct_key k = ct_key(IP_REMOTE, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	world.in = tcp(IP_NOWHERE, CPORT, IP_B, PORT, PKT_TCP_SYN);
	SETUP(ovl_up());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(ipcache_put(IP_REMOTE, ID_REMOTE));
	SETUP(ipcache_put(IP_OTHER_POD, ID_OTHER));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_REMOTE, PORT, 16,
		      POLICY));
	if (orun(&ok, NULL, &in, &out) < 0)
		return 0;
	CHECK(events.verdicts == 1, "%u verdict events, want 1",
	      events.verdicts);
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_REMOTE, POLICY,
		      SL_MATCH_L3_L4);
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.identity == ID_REMOTE &&
		      e.policy_id[SL_POLICY_INGRESS] == POLICY,
		      "entry: identity %u ingress policy %u", e.identity,
		      e.policy_id[SL_POLICY_INGRESS]);
	if (orun(&no, NULL, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, ID_OTHER, 0, SL_MATCH_NONE);
	if (orun(&world, NULL, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, SL_ID_WORLD, 0,
		      SL_MATCH_NONE);
	CHECK(ct_count() == 1, "%u conntrack entries, want the admitted one",
	      ct_count());
	return 0;
}

/*
 * Not for a pod of this node (this node's own address): to the stack,
 * untouched and untracked. For a pod but with its TTL spent: to the
 * stack too, for its ICMP time exceeded. Anything but IPv4: dropped.
 */
static int run_to_host(const struct dp_case *c)
{
	struct ostep host = {
		.prog = FROM_OVERLAY,
		.in = tcp(IP_REMOTE, CPORT, NODE_SELF, KUBELET_PORT,
			  PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_FROM_OVERLAY },
	};
	struct ostep ttl = {
		.prog = FROM_OVERLAY,
		.in = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct ostep v6 = {
		.prog = FROM_OVERLAY, .in = { .l3 = L3_IPV6 },
		.ret = TC_ACT_SHOT, .count = { SL_UNSUPPORTED_L3 },
	};
	struct pkt in, out;

	(void)c;
	ttl.in.ttl = 1;
	SETUP(ovl_up());
	SETUP(ipcache_put(IP_REMOTE, ID_REMOTE));
	if (orun(&host, NULL, &in, &out) < 0)
		return 0;
	CHECK(ct_count() == 0, "%u conntrack entries for the host's packet",
	      ct_count());
	if (orun(&ttl, NULL, &in, &out) < 0)
		return 0;
	orun(&v6, NULL, &in, &out);
	return 0;
}

/* One encapsulated frame in by the underlay, as another node sends it. */
struct arrival {
	struct pkt_spec in;
	__u32 from;   /* the sending node */
	__u32 vni;
	bool allowed; /* reaches pod B, else denied */
	__u32 remote_id; /* the identity its verdict names */
	__u32 policy_id;
	__u32 drop; /* denied for this reason (0: POLICY_DENIED_INGRESS) */
};

/*
 * Send a, check where it went, what counted it and the verdict. The
 * counters count the inner frame: tc ingress of the VXLAN device sees
 * the packet decapsulated.
 */
static void arrive(int tx, int rx, const struct arrival *a)
{
	struct pkt inner, frame, got, want;
	__u32 why = a->drop ? a->drop : SL_POLICY_DENIED_INGRESS;
	struct metric_want mw[2];
	__u64 t0, t1;
	int err;

	if (!CHECK(counters_reset() == 0,
		   "resetting counters"))
		return;
	node_frame(FROM_OVERLAY, &a->in, a->in.ttl, &inner);
	encap(&a->in, a->from, a->vni, &frame);
	t0 = now_ns();
	err = topo_send(tx, &frame);
	if (!CHECK(err == 0, "sending VNI %u: %s", a->vni, strerror(-err)))
		return;
	if (a->allowed) {
		build_frame(&a->in, eps[EP_B].pod_mac, eps[EP_B].host_mac,
			    a->in.ttl - 1, &want);
		err = topo_recv(rx, &got, LIVE_WAIT_MS);
		if (CHECK(err == 0, "VNI %u: nothing reached %s: %s", a->vni,
			  eps[EP_B].pod_dev, strerror(-err))) {
			got.l3_off = want.l3_off;
			check_redirected(EP_B, &inner, &got);
			check_same_frame("frame in the pod", &want, &got);
		}
		mw[0] = (struct metric_want){ SL_FROM_OVERLAY, SL_DIR_INGRESS,
					      1, inner.len };
		mw[1] = (struct metric_want){ SL_POLICY_ALLOWED,
					      SL_DIR_INGRESS, 1, inner.len };
	} else {
		wait_counted(why, SL_DIR_INGRESS);
		err = topo_recv(rx, &got, LIVE_QUIET_MS);
		CHECK(err == -ETIMEDOUT, "VNI %u: a denied frame reached %s",
		      a->vni, eps[EP_B].pod_dev);
		mw[0] = (struct metric_want){ why, SL_DIR_INGRESS, 1,
					      inner.len };
	}
	wait_counted(mw[0].reason, SL_DIR_INGRESS);
	t1 = now_ns();
	check_metrics_set(mw, a->allowed ? 2 : 1);
	err = events_read(a->allowed ? 0 : why);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return;
	if (a->allowed)
		CHECK(events.count == 0, "VNI %u: %u drop events for a frame "
		      "let through", a->vni, events.count);
	else if (CHECK(events.count == 1, "VNI %u: %u drop events, want 1",
		       a->vni, events.count))
		check_drop_event(&events.first, why, SL_DIR_INGRESS, ovl.vx,
				 &inner, t0, t1);
	if (a->drop) {
		/* Refused before any policy was asked. */
		CHECK(events.verdicts == 0, "VNI %u: %u verdict events for a "
		      "frame refused as %s", a->vni, events.verdicts,
		      reason_name(why));
		return;
	}
	CHECK(events.verdicts == 1, "VNI %u: %u verdict events, want 1",
	      a->vni, events.verdicts);
	check_verdict(0, a->allowed ? SL_VERDICT_ALLOWED : SL_VERDICT_DENIED,
		      SL_DIR_INGRESS,
		      IP_B, a->remote_id, a->policy_id,
		      a->allowed ? SL_MATCH_L3_L4 : SL_MATCH_NONE);
}

/*
 * Frames encapsulated by another node reach pod B through the VXLAN
 * device, judged by the VNI and not by what this node's ipcache says of
 * the source address: IP_REMOTE, which the ipcache calls ID_OTHER, comes
 * in as ID_REMOTE and is admitted; once the ipcache calls it ID_REMOTE,
 * a VNI of ID_OTHER is denied. The sending node itself (VNI SL_ID_HOST)
 * is judged as a remote node, not as this node's host. A VNI from an
 * address that is no node of the cluster is believed by nobody: the
 * frame is refused before any policy, whatever identity it claims.
 */
static int run_vni_identity_live(const struct dp_case *c)
{
	const struct arrival as_remote = {
		.in = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_SYN),
		.from = NODE2, .vni = ID_REMOTE, .allowed = true,
		.remote_id = ID_REMOTE, .policy_id = POLICY,
	};
	const struct arrival as_other = {
		.in = tcp(IP_REMOTE, CPORT + 1, IP_B, PORT, PKT_TCP_SYN),
		.from = NODE2, .vni = ID_OTHER, .allowed = false,
		.remote_id = ID_OTHER,
	};
	const struct arrival node = {
		.in = tcp(NODE2, CPORT, IP_B, KUBELET_PORT, PKT_TCP_SYN),
		.from = NODE2, .vni = SL_ID_HOST, .allowed = true,
		.remote_id = SL_ID_REMOTE_NODE, .policy_id = POLICY + 1,
	};
	const struct arrival stranger = {
		.in = tcp(IP_REMOTE, CPORT + 2, IP_B, PORT, PKT_TCP_SYN),
		.from = NODE3, .vni = ID_REMOTE, .allowed = false,
		.drop = SL_TUNNEL_SOURCE_UNKNOWN,
	};
	struct sl_ct_key k = ct_key(IP_REMOTE, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	int tx = -1, rx = -1;

	(void)c;
	SETUP(ovl_up());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_REMOTE, PORT, 16,
		      POLICY));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, SL_ID_REMOTE_NODE,
		      KUBELET_PORT, 16, POLICY + 1));
	SETUP(ipcache_put(IP_REMOTE, ID_OTHER));
	/* NODE2 is a node of the cluster; NODE3 is not. */
	SETUP(ipcache_put(NODE2, SL_ID_REMOTE_NODE));
	tx = node_socket(ovl.ul_peer);
	rx = topo_socket(&eps[EP_B], true);
	if (!ovl_live_start(tx, rx))
		goto done;

	arrive(tx, rx, &as_remote);
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.identity == ID_REMOTE, "entry: identity %u, want the "
		      "VNI's %u", e.identity, ID_REMOTE);
	if (ipcache_put(IP_REMOTE, ID_REMOTE) == 0)
		arrive(tx, rx, &as_other);
	arrive(tx, rx, &node);
	arrive(tx, rx, &stranger);
done:
	ovl_live_end(tx, rx);
	return 0;
}

/* --- the SNAT mark ------------------------------------------------------- */

/* A NodePort of this node for TCP from outside. */
static struct frontend nodeport(__u16 port, __u32 svc_id)
{
	return (struct frontend){
		.addr = NODE_SELF, .port = port, .proto = IPPROTO_TCP,
		.flags = SL_SVC_F_EXTERNAL | SL_SVC_F_NODEPORT,
		.svc_id = svc_id,
	};
}

/* IP_OUT's connection from cport to a NodePort, translated to be. */
static struct ostep from_outside(__u16 cport, __u16 port, __u32 be)
{
	struct pkt_spec q = tcp(IP_OUT, cport, NODE_SELF, port, PKT_TCP_SYN);

	return (struct ostep){
		.prog = FROM_NETDEV, .in = q,
		.out = retuple(&q, IP_OUT, cport, be, BE_PORT),
		.ret = TC_ACT_OK, .count = { SL_FROM_NETDEV, SL_SERVICE_NEW },
	};
}

/*
 * From outside to a NodePort whose only backend is on another node: the
 * connection is translated to it and the packet marked for the node's
 * SNAT, in SL_MARK_MASK's byte only, whatever that byte held, the other
 * bits of the mark kept.
 */
static int run_snat_mark(const struct dp_case *c)
{
	const struct frontend fe = nodeport(NODEPORT, 70);
	const struct backend be = { .id = 1, .addr = IP_REMOTE,
				    .port = BE_PORT };
	static const __u32 marks[] = { MARK_CLEAR, MARK_TAKEN, 0 };
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe, &be, 1));
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		struct ostep s = from_outside(CPORT + i, NODEPORT, IP_REMOTE);
		__u32 mark = marks[i];
		__u32 want = (marks[i] & ~SL_MARK_MASK) | SL_MARK_SNAT_TO_NODE;

		if (orun(&s, &mark, &in, &out) < 0)
			return 0;
		CHECK(mark == want, "mark 0x%08x in: 0x%08x out, want 0x%08x",
		      marks[i], mark, want);
		CHECK((mark & SL_MARK_MASK) == SL_MARK_SNAT_TO_NODE,
		      "mark byte 0x%04x, want SNAT_TO_NODE 0x%04x",
		      mark & SL_MARK_MASK, SL_MARK_SNAT_TO_NODE);
	}
	return 0;
}

/*
 * The mark is for another node's backend only: translated to a pod of
 * this node, or not for a Service at all, a packet from outside keeps
 * the mark it came with.
 */
static int run_no_mark_local(const struct dp_case *c)
{
	const struct frontend fe = nodeport(NODEPORT_LOCAL, 71);
	const struct backend be = { .id = 2, .addr = IP_B, .port = BE_PORT,
				    .flags = SL_BE_F_LOCAL };
	static const __u32 marks[] = { MARK_CLEAR, MARK_TAKEN };
	struct ostep other = {
		.prog = FROM_NETDEV,
		.in = tcp(IP_OUT, CPORT, NODE_SELF, KUBELET_PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_FROM_NETDEV },
	};
	struct pkt in, out;
	__u32 mark;

	(void)c;
	SETUP(frontend_add(&fe, &be, 1));
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
		struct ostep s = from_outside(CPORT + i, NODEPORT_LOCAL, IP_B);

		mark = marks[i];
		if (orun(&s, &mark, &in, &out) < 0)
			return 0;
		CHECK(mark == marks[i], "local backend: mark 0x%08x in, "
		      "0x%08x out", marks[i], mark);
	}
	mark = MARK_CLEAR;
	if (orun(&other, &mark, &in, &out) < 0)
		return 0;
	CHECK(mark == MARK_CLEAR, "no Service: mark 0x%08x in, 0x%08x out",
	      MARK_CLEAR, mark);
	return 0;
}

const struct dp_case overlay_cases[] = {
	{
		.name = "overlay_to_node",
		.desc = "a packet for a node's pod CIDR goes into the tunnel "
			"unchanged (TO_OVERLAY), from a pod, this node, a "
			"known or an unknown address",
		.run = run_to_node,
	},
	{
		.name = "overlay_no_tunnel",
		.desc = "no node holds the destination: NO_TUNNEL_ENDPOINT; "
			"IPv6 and ARP: UNSUPPORTED_L3; each with its event",
		.run = run_no_tunnel,
	},
	{
		.name = "overlay_prefix",
		.desc = "sl_tunnel matches by prefix: a /25 and a /32 cover "
			"their addresses and not their neighbours",
		.run = run_prefix,
	},
	{
		.name = "overlay_longest_prefix_live",
		.desc = "live through a VXLAN device: the longest prefix "
			"picks the far end, the VNI is the sender's identity "
			"(24 bits), TTL 64, no UDP checksum",
		.run = run_longest_prefix_live,
	},
	{
		.name = "overlay_from_node",
		.desc = "another node's pod to a pod: redirected as a hop, "
			"tracked; the egress-isolated pod's reply passes, its "
			"own connection does not",
		.run = run_from_node,
	},
	{
		.name = "overlay_ingress_policy",
		.desc = "without a VNI, the ipcache's identity is judged by "
			"the pod's ingress policy: allowed, denied, the world",
		.run = run_ingress_policy,
	},
	{
		.name = "overlay_to_host",
		.desc = "not a pod's: to the stack (FROM_OVERLAY); a pod's "
			"with TTL 1: to the stack (TO_STACK); IPv6 dropped",
		.run = run_to_host,
	},
	{
		.name = "overlay_vni_identity_live",
		.desc = "live through a VXLAN device: ingress policy judges "
			"the VNI's identity over the ipcache's; the sending "
			"node's host identity is a remote node",
		.run = run_vni_identity_live,
	},
	{
		.name = "netdev_snat_mark",
		.desc = "from outside to a NodePort with a backend on another "
			"node: translated, mark byte 0x5c00 set, other bits "
			"kept",
		.run = run_snat_mark,
	},
	{
		.name = "netdev_no_mark_local",
		.desc = "from outside to a local backend, or to no Service: "
			"the mark is left as it came",
		.run = run_no_mark_local,
	},
};

const size_t overlay_cases_n = ARRAY_SIZE(overlay_cases);

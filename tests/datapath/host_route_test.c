// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Host routing between nodes (datapath/lib/host_route.h): sl_from_pod
 * handing a packet for another node's pod CIDR straight to the device the
 * kernel's FIB names, as a router hop, or to the stack untouched when it
 * is not that case or the FIB cannot settle it alone; and sl_from_netdev
 * handing a packet from another node to a pod of this node past the
 * stack, judged by the pod's ingress policy (lxc_from_node()).
 *
 * bpf_fib_lookup() asks the FIB of skb->dev's namespace, and test_run
 * takes skb->dev from the context's ifindex: so the node here has an
 * interface of its own, a veth whose far end stands for the other nodes,
 * with the routes the agent writes (each node's pod CIDR by its
 * InternalIP): node 5's neighbour entry permanent, node 6's absent, and
 * the outside by a gateway the FIB resolves too. The lookup is made as
 * for a packet received on the pod's veth, which must forward or the
 * kernel refuses it (BPF_FIB_LKUP_RET_FWD_DISABLED), as on a node: each
 * case from a pod turns forwarding on there and back after, so that no
 * other suite's live frame is ever routed by the stack.
 *
 * Where a redirect goes, test_run does not tell; host_route_live reads
 * the frame off the far end of the interface.
 *
 * Addresses: pods A and B (runner.h) are this node's; node 5 holds
 * 10.0.5.0/24, node 6 10.0.6.0/24; IP_OUT is outside the cluster.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/config.h>
#include <sluice/endpoint.h>
#include <sluice/policy.h>

#include "svc.h"

#define ID_B 1001
#define ID_REMOTE 1002 /* node 5's pod POD5 */
#define ID_OTHER 1003  /* another pod there */
#define POLICY 91
#define CPORT 40000
#define PORT 80

/* This node's interface and its link to the other nodes. */
#define IF_DEV "sl-hr"
#define PEER_DEV "sl-hr-peer"
#define LINK_MTU 1500
#define LINK_PLEN 24
#define NODE_SELF IP4(172, 31, 1, 1)
#define NODE5 IP4(172, 31, 1, 5)
#define NODE6 IP4(172, 31, 1, 6)
#define GW IP4(172, 31, 1, 254)

#define CIDR5 IP4(10, 0, 5, 0)
#define CIDR6 IP4(10, 0, 6, 0)
#define CIDR_PLEN 24
#define POD5 IP4(10, 0, 5, 7)
#define POD5_OTHER IP4(10, 0, 5, 8)
#define POD6 IP4(10, 0, 6, 7)
#define OUT_NET IP4(198, 51, 100, 0)
#define IP_OUT IP4(198, 51, 100, 10)

/* A ClusterIP whose only backend is POD5. */
#define FE_IP IP4(10, 96, 0, 20)
#define BE_PORT 8080
#define BE_ID 21
#define SVC_ID 43

/* The interface's MAC, and its far end's: every other node's, the
 * gateway's. */
static const __u8 if_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfd, 0x01 };
static const __u8 peer_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfd, 0x02 };

#define INGRESS_BIT (1u << SL_DIR_INGRESS)

/* --- the node's interface and routes ------------------------------------ */

static struct {
	__u32 dev;  /* this node's interface */
	__u32 peer; /* its far end: the other nodes */
	int fwd;    /* pod A's veth forwarding before the case */
} hr;

/*
 * The interface and routes, made on first use and left for the later
 * cases (the namespace goes with the runner): a route to each node's pod
 * CIDR by its InternalIP, as the agent writes them, and one to the
 * outside by the gateway. Node 6 has no neighbour entry, as a node the
 * kernel has not resolved yet.
 */
static int hr_up(void)
{
	static const struct {
		__u32 net;
		__u32 via;
	} routes[] = {
		{ CIDR5, NODE5 },
		{ CIDR6, NODE6 },
		{ OUT_NET, GW },
	};
	static const __u32 neighs[] = { NODE5, GW };
	char mac[18], peer[18], ip[INET_ADDRSTRLEN], via[INET_ADDRSTRLEN];
	int err;

	if (hr.dev)
		return 0;
	mac_str(if_mac, mac, sizeof(mac));
	mac_str(peer_mac, peer, sizeof(peer));
	err = sh("ip link add " IF_DEV " address %s mtu %d type veth peer "
		 "name " PEER_DEV " address %s", mac, LINK_MTU, peer);
	ip_str(NODE_SELF, ip);
	if (!err)
		err = sh("ip addr add %s/%d dev " IF_DEV, ip, LINK_PLEN);
	if (!err)
		err = sh("ip link set " IF_DEV " up && ip link set " PEER_DEV
			 " up");
	for (size_t i = 0; !err && i < ARRAY_SIZE(neighs); i++) {
		ip_str(neighs[i], ip);
		err = sh("ip neigh replace %s lladdr %s dev " IF_DEV
			 " nud permanent", ip, peer);
	}
	for (size_t i = 0; !err && i < ARRAY_SIZE(routes); i++) {
		ip_str(routes[i].net, ip);
		ip_str(routes[i].via, via);
		err = sh("ip route replace %s/%d via %s dev " IF_DEV, ip,
			 CIDR_PLEN, via);
	}
	if (err)
		return err;
	hr.dev = if_nametoindex(IF_DEV);
	hr.peer = if_nametoindex(PEER_DEV);
	if (!CHECK(hr.dev && hr.peer, "no ifindex for " IF_DEV " or "
		   PEER_DEV ": %s", strerror(errno))) {
		hr.dev = 0;
		return -ENODEV;
	}
	return 0;
}

/* Set IPv4 forwarding on pod A's veth; its setting before, or -errno. */
static int pod_forwarding(int on)
{
	char path[96], was = '0', now = on ? '1' : '0';
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding",
		 eps[EP_A].host_dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &was, 1, 0) != 1 || pwrite(fd, &now, 1, 0) != 1)
		err = -EIO;
	close(fd);
	return err ? err : was == '1';
}

/*
 * The interface (hr_up()), nodes 5 and 6 with their CIDRs in sl_tunnel,
 * node 5's pods' identities in the ipcache.
 */
static int nodes_up(void)
{
	int err = hr_up();

	if (!err)
		err = tunnel_put(CIDR5, CIDR_PLEN, NODE5);
	if (!err)
		err = tunnel_put(CIDR6, CIDR_PLEN, NODE6);
	if (!err)
		err = ipcache_put(POD5, ID_REMOTE);
	return err ? err : ipcache_put(POD5_OTHER, ID_OTHER);
}

/*
 * The node routing for a case from pod A: nodes_up(), and forwarding on
 * A's veth; routing_down() after, whatever happened.
 */
static int routing_up(void)
{
	int err = nodes_up();

	if (err)
		return err;
	hr.fwd = pod_forwarding(1);
	return hr.fwd < 0 ? hr.fwd : 0;
}

static void routing_down(void)
{
	CHECK(pod_forwarding(hr.fwd) >= 0, "restoring forwarding on %s",
	      eps[EP_A].host_dev);
}

/* --- steps ------------------------------------------------------------- */

/* A connection of pod A's from cport, out of the interface as a hop. */
static struct ostep routed(__u16 cport, __u32 daddr)
{
	return (struct ostep){
		.prog = FROM_POD,
		.in = tcp(IP_A, cport, daddr, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_REDIRECT, .count = { SL_TO_NODE },
	};
}

/* A connection of pod A's from cport, to the stack untouched. */
static struct ostep to_stack(__u16 cport, __u32 daddr)
{
	return (struct ostep){
		.prog = FROM_POD,
		.in = tcp(IP_A, cport, daddr, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
}

/* In by the interface for pod to, and into it past the stack. */
static struct ostep into_pod(struct pkt_spec in, enum ep_id to,
			     __u8 allowed)
{
	return (struct ostep){
		.prog = FROM_NETDEV, .in = in, .ret = TC_ACT_REDIRECT,
		.to = to, .count = { SL_FROM_NETDEV }, .allowed = allowed,
	};
}

/* The frame of s as node 5 sends it to this node's interface. */
static void from_node(const struct pkt_spec *s, struct pkt *p)
{
	build_frame(s, if_mac, peer_mac, s->ttl, p);
}

/* The frame of s leaving by the interface for node 5: a hop. */
static void to_node(const struct pkt_spec *s, struct pkt *p)
{
	build_frame(s, peer_mac, if_mac, s->ttl - 1, p);
}

static void check_to_node(const struct pkt *in, const struct pkt *out)
{
	check_hop(in, out, peer_mac, "node 5's (its neighbour entry)",
		  if_mac, "the interface's");
}

/*
 * Run s (ostep_run()): a FROM_POD step from pod A's veth, which leaves
 * as a hop to node 5 when redirected; a FROM_NETDEV step in by the
 * interface from node 5.
 */
static int hr_run(const struct ostep *s, struct pkt *in, struct pkt *out)
{
	const struct pkt_spec *o = s->out.saddr ? &s->out : &s->in;
	struct __sk_buff ctx = { .ifindex = hr.dev };
	bool hop = s->prog == FROM_POD && s->ret == TC_ACT_REDIRECT;
	struct pkt expect;
	int err;

	if (s->prog == FROM_POD) {
		ctx.ifindex = eps[EP_A].ifindex;
		frame_in(FROM_POD, EP_A, &s->in, in);
		if (hop)
			to_node(o, &expect);
		else
			frame_in(FROM_POD, EP_A, o, &expect);
	} else {
		from_node(&s->in, in);
		from_node(o, &expect);
	}
	err = ostep_run(s, &ctx, in, &expect, out);
	if (!err && hop)
		check_to_node(in, out);
	return err;
}

/* --- from a pod --------------------------------------------------------- */

/*
 * Pod A to node 5's pod: past the stack, out of the interface the FIB
 * names as a router hop sends it (node 5's MAC from its neighbour entry,
 * the interface's own, TTL one less, the checksum to match), tracked as
 * any connection of A's; a frame as long as the interface takes goes
 * the same way.
 */
static int run_to_node(const struct dp_case *c)
{
	struct ostep syn = routed(CPORT, POD5);
	struct ostep full = routed(CPORT, POD5);
	struct sl_ct_key k = ct_key(IP_A, CPORT, POD5, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	full.in.tcp_flags = PKT_TCP_ACK;
	/* A datagram of the MTU exactly: 20 + 20 bytes of headers. */
	full.in.payload = LINK_MTU - 40;
	SETUP(routing_up());
	hr_run(&syn, &in, &out);
	hr_run(&full, &in, &out);
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.identity == ID_REMOTE && e.packets[0] == 2,
		      "entry: identity %u, %llu packets, want %u and 2",
		      e.identity, (unsigned long long)e.packets[0], ID_REMOTE);
	routing_down();
	return 0;
}

/*
 * What the FIB will not settle alone goes to the stack untouched, which
 * resolves, fragments or refuses: node 6's pod, whose node has no
 * neighbour entry yet; a frame longer than the interface's MTU (with no
 * tot_len the kernel checks the skb against the device); anything from a
 * veth that does not forward.
 */
static int run_unsettled(const struct dp_case *c)
{
	struct ostep no_neigh = to_stack(CPORT, POD6);
	struct ostep too_big = to_stack(CPORT + 1, POD5);
	struct ostep no_fwd = to_stack(CPORT + 2, POD5);
	struct pkt in, out;

	(void)c;
	too_big.in.payload = LINK_MTU;
	SETUP(routing_up());
	hr_run(&no_neigh, &in, &out);
	hr_run(&too_big, &in, &out);
	if (CHECK(pod_forwarding(0) >= 0, "turning forwarding off"))
		hr_run(&no_fwd, &in, &out);
	routing_down();
	return 0;
}

/*
 * Only other nodes' pod CIDRs are routed here: the outside goes to the
 * stack untouched (its netfilter may masquerade it), though the FIB would
 * resolve its gateway as well as a node.
 */
static int run_not_tunnel(const struct dp_case *c)
{
	struct ostep outside = to_stack(CPORT, IP_OUT);
	struct ostep pod5 = to_stack(CPORT + 1, POD5);
	struct pkt in, out;

	(void)c;
	SETUP(routing_up());
	hr_run(&outside, &in, &out);
	/* ...and node 5's pod alike once sl_tunnel no longer holds it. */
	if (CHECK(map_clear(bpf_map__fd(skel->maps.sl_tunnel),
			    bpf_map__key_size(skel->maps.sl_tunnel)) == 0,
		  "emptying sl_tunnel"))
		hr_run(&pod5, &in, &out);
	routing_down();
	return 0;
}

/*
 * SL_CFG_F_STACK_ROUTING: node 5's pod through the stack, untouched; the
 * flag cleared again, the next connection is routed past it.
 */
static int run_stack_routing(const struct dp_case *c)
{
	struct ostep off = to_stack(CPORT, POD5);
	struct ostep on = routed(CPORT + 1, POD5);
	struct pkt in, out;

	(void)c;
	SETUP(config_set(0, 0, SL_CFG_F_STACK_ROUTING));
	SETUP(routing_up());
	hr_run(&off, &in, &out);
	if (CHECK(config_set(0, 0, 0) == 0, "restoring sl_config"))
		hr_run(&on, &in, &out);
	routing_down();
	return 0;
}

/*
 * A packet whose TTL would run out at this hop goes to the stack
 * untouched, for its ICMP time exceeded; with TTL 2 it leaves with 1.
 */
static int run_ttl(const struct dp_case *c)
{
	struct ostep last = to_stack(CPORT, POD5);
	struct ostep two = routed(CPORT + 1, POD5);
	struct pkt in, out;

	(void)c;
	last.in.ttl = 1;
	two.in.ttl = 2;
	SETUP(routing_up());
	hr_run(&last, &in, &out);
	hr_run(&two, &in, &out);
	routing_down();
	return 0;
}

/* --- from another node --------------------------------------------------- */

/*
 * Node 5's pod to pod B, in by the interface: past the stack into B as a
 * hop (B's MACs, TTL one less), tracked with the sender's identity from
 * the ipcache; the connection's next packet follows.
 */
static int run_from_netdev(const struct dp_case *c)
{
	struct ostep syn = into_pod(tcp(POD5, CPORT, IP_B, PORT, PKT_TCP_SYN),
				    EP_B, 0);
	struct ostep ack = into_pod(tcp(POD5, CPORT, IP_B, PORT, PKT_TCP_ACK),
				    EP_B, 0);
	struct sl_ct_key k = ct_key(POD5, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(nodes_up());
	if (hr_run(&syn, &in, &out) < 0 || hr_run(&ack, &in, &out) < 0)
		return 0;
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.identity == ID_REMOTE && e.packets[0] == 2 &&
		      e.policy_id[SL_POLICY_INGRESS] == 0,
		      "entry: identity %u, %llu packets, ingress policy %u",
		      e.identity, (unsigned long long)e.packets[0],
		      e.policy_id[SL_POLICY_INGRESS]);
	return 0;
}

/*
 * B takes port 80 from ID_REMOTE only, and that is what the pod's veth
 * would have judged: node 5's pod is let in, its verdict naming its
 * identity; another pod there is dropped by B's ingress policy, with its
 * drop event and verdict, and not tracked.
 */
static int run_netdev_policy(const struct dp_case *c)
{
	struct ostep ok = into_pod(tcp(POD5, CPORT, IP_B, PORT, PKT_TCP_SYN),
				   EP_B, INGRESS_BIT);
	struct ostep no = {
		.prog = FROM_NETDEV,
		.in = tcp(POD5_OTHER, CPORT, IP_B, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_SHOT, .count = { SL_POLICY_DENIED_INGRESS },
	};
	struct pkt in, out;

	(void)c;
	SETUP(nodes_up());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_REMOTE, PORT,
		      16, POLICY));
	if (hr_run(&ok, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_REMOTE,
		      POLICY, SL_MATCH_L3_L4);
	if (hr_run(&no, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, ID_OTHER, 0,
		      SL_MATCH_NONE);
	CHECK(ct_count() == 1, "%u conntrack entries, want the admitted one",
	      ct_count());
	return 0;
}

/*
 * SL_CFG_F_STACK_ROUTING: a packet from another node for a pod goes to
 * the stack untouched and untracked, for the pod's veth to judge.
 */
static int run_netdev_stack_routing(const struct dp_case *c)
{
	struct ostep s = {
		.prog = FROM_NETDEV,
		.in = tcp(POD5, CPORT, IP_B, PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK, .count = { SL_FROM_NETDEV },
	};
	struct pkt in, out;

	(void)c;
	SETUP(nodes_up());
	SETUP(config_set(0, 0, SL_CFG_F_STACK_ROUTING));
	hr_run(&s, &in, &out);
	CHECK(ct_count() == 0, "%u conntrack entries for the stack's packet",
	      ct_count());
	CHECK(config_set(0, 0, 0) == 0, "restoring sl_config");
	return 0;
}

/*
 * Pod A to a ClusterIP whose backend is node 5's pod: translated and
 * routed to node 5. The backend's answer, in by the interface, leaves
 * from the frontend again and goes into A past the stack, where the
 * veth's sl_to_pod would otherwise have translated it.
 */
static int run_service_reply(const struct dp_case *c)
{
	const struct frontend fe = { .addr = FE_IP, .port = PORT,
				     .proto = IPPROTO_TCP, .svc_id = SVC_ID };
	const struct backend be = { .id = BE_ID, .addr = POD5,
				    .port = BE_PORT };
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, PORT, PKT_TCP_SYN);
	struct pkt_spec synack = tcp(POD5, BE_PORT, IP_A, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct ostep s = {
		.prog = FROM_POD, .in = syn,
		.out = retuple(&syn, IP_A, CPORT, POD5, BE_PORT),
		.ret = TC_ACT_REDIRECT, .count = { SL_TO_NODE, SL_SERVICE_NEW },
	};
	struct ostep r = into_pod(synack, EP_A, 0);
	struct sl_ct_key k = ct_key(IP_A, CPORT, FE_IP, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct pkt in, rin, out;
	struct sl_ct_entry e;

	(void)c;
	r.out = retuple(&synack, FE_IP, PORT, IP_A, CPORT);
	r.count[1] = SL_SERVICE_REPLY;
	SETUP(frontend_add(&fe, &be, 1));
	SETUP(routing_up());
	if (hr_run(&s, &in, &out) == 0 && hr_run(&r, &rin, &out) == 0 &&
	    check_ct("OUT", &k,
		     &(struct ct_want){ .nat_daddr = POD5,
					.nat_dport = BE_PORT,
					.flags = SL_CT_F_SERVICE |
						 SL_CT_F_SEEN_REPLY,
					.backend_id = BE_ID,
					.svc_id = SVC_ID },
		     &e))
		check_ct_counters("OUT", &e, 1, in.len, 1, rin.len);
	routing_down();
	return 0;
}

/* --- live --------------------------------------------------------------- */

/*
 * sl_from_pod on pod A's veth, a frame sent from inside A for node 5's
 * pod: it leaves by the interface the FIB named, read off its far end as
 * the hop test_run showed.
 */
static int run_to_node_live(const struct dp_case *c)
{
	struct pkt_spec s = tcp(IP_A, CPORT, POD5, PORT, PKT_TCP_SYN);
	int tx = -1, rx = -1, err;
	struct pkt in, got, want;

	(void)c;
	SETUP(routing_up());
	frame_in(FROM_POD, EP_A, &s, &in);
	to_node(&s, &want);
	tx = topo_socket(&eps[EP_A], true);
	rx = node_socket(hr.peer);
	if (!CHECK(tx >= 0 && rx >= 0, "packet sockets: %s",
		   strerror(-(tx < 0 ? tx : rx))))
		goto out;
	err = live_attach(&eps[EP_A], true, false);
	if (!CHECK(err == 0, "attaching to %s: %s", eps[EP_A].host_dev,
		   strerror(-err)))
		goto detach;
	err = topo_send(tx, &in);
	if (!CHECK(err == 0, "sending: %s", strerror(-err)))
		goto detach;
	err = topo_recv(rx, &got, LIVE_WAIT_MS);
	if (CHECK(err == 0, "nothing reached " PEER_DEV ": %s",
		  strerror(-err))) {
		got.l3_off = want.l3_off;
		check_to_node(&in, &got);
		check_same_frame("frame on the wire", &want, &got);
	}
	wait_counted(SL_TO_NODE, SL_DIR_EGRESS);
	check_metrics(SL_TO_NODE, SL_DIR_EGRESS, 1, in.len);
detach:
	live_detach(&eps[EP_A]);
out:
	if (rx >= 0)
		close(rx);
	if (tx >= 0)
		close(tx);
	routing_down();
	return 0;
}

const struct dp_case host_route_cases[] = {
	{
		.name = "host_route_to_node",
		.desc = "a pod to another node's pod: out of the FIB's device "
			"as a hop (TO_NODE), the neighbour's MAC, the "
			"device's, TTL - 1; tracked; an MTU-long frame too",
		.run = run_to_node,
	},
	{
		.name = "host_route_unsettled",
		.desc = "no neighbour entry, longer than the MTU, a veth "
			"that does not forward: to the stack untouched",
		.run = run_unsettled,
	},
	{
		.name = "host_route_not_tunnel",
		.desc = "the outside, or a pod CIDR sl_tunnel does not "
			"hold, though the FIB resolves both: to the stack "
			"untouched",
		.run = run_not_tunnel,
	},
	{
		.name = "host_route_stack_routing",
		.desc = "SL_CFG_F_STACK_ROUTING: to the stack untouched; "
			"cleared, routed again",
		.run = run_stack_routing,
	},
	{
		.name = "host_route_ttl",
		.desc = "TTL 1: to the stack untouched; TTL 2 leaves with 1",
		.run = run_ttl,
	},
	{
		.name = "host_route_from_netdev",
		.desc = "another node's pod in by the interface to a pod: "
			"into it past the stack as a hop, tracked with the "
			"ipcache's identity",
		.run = run_from_netdev,
	},
	{
		.name = "host_route_netdev_policy",
		.desc = "in by the interface, the pod's ingress policy "
			"judges: the allowed identity in, another dropped",
		.run = run_netdev_policy,
	},
	{
		.name = "host_route_netdev_stack_routing",
		.desc = "SL_CFG_F_STACK_ROUTING: in by the interface for a "
			"pod, to the stack untouched and untracked",
		.run = run_netdev_stack_routing,
	},
	{
		.name = "host_route_service_reply",
		.desc = "a pod to a Service with another node's backend: "
			"routed there; the reply in by the interface, from "
			"the frontend again, into the pod",
		.run = run_service_reply,
	},
	{
		.name = "host_route_live",
		.desc = "live: a pod's frame for another node's pod leaves "
			"by the FIB's device, as the hop test_run showed",
		.run = run_to_node_live,
	},
};

const size_t host_route_cases_n = ARRAY_SIZE(host_route_cases);

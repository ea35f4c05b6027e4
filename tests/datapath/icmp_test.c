// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ICMP suite: errors about Service connections (lib/icmp.h),
 * translated like the connections they are about. Each case opens a
 * connection through the real path (svc.c's step(), or sl_from_netdev for
 * one from outside the node), then sends the errors a host, a router or
 * the client would send about it, through the program that meets them,
 * and checks the verdict, the frame byte for byte against one built from
 * scratch, every checksum by name (outer IPv4, ICMP, the quoted IPv4
 * header, a quoted UDP datagram's), and the counters.
 *
 * Addresses: pods A and B (runner.h) are clients and local backends; the
 * frontends are a ClusterIP (FE_IP) and a NodePort on NODE_IP; IP_R1 is a
 * backend elsewhere, IP_RTR a router on the way, IP_OUT a client outside
 * the cluster.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>

#include "svc.h"

#define FE_IP IP4(10, 96, 0, 10)
#define FE_TCP_PORT 80
#define FE_UDP_PORT 53
#define BE_TCP_PORT 8080
#define BE_UDP_PORT 5353
#define IP_R1 IP4(10, 0, 2, 1)
#define IP_RTR IP4(10, 0, 3, 254)
#define NODE_IP IP4(192, 168, 77, 1)
#define NODEPORT 30053
#define IP_OUT IP4(192, 168, 77, 100)
#define CPORT 40000

/* ICMP types and codes. */
#define DEST_UNREACH 3
#define PORT_UNREACH 3
#define FRAG_NEEDED 4
#define TIME_EXCEEDED 11
#define PARAM_PROBLEM 12
#define REDIRECT 5

#define NEXT_HOP_MTU 1400
/* RFC 792's quote: the IPv4 header and 8 bytes after it. */
#define QUOTE_MIN (sizeof(struct iphdr) + 8)
#define ICMP_HLEN 8
/* Where the quote starts in a frame of ours (no outer options). */
#define QUOTE_OFF (ETH_HLEN + sizeof(struct iphdr) + ICMP_HLEN)
/* An error's own TTL as its sender sets it. */
#define ERR_TTL 64

/* The node's interface, for sl_from_netdev and sl_to_netdev (test_run
 * takes 1 as the loopback). */
#define NETDEV_IFINDEX 1

static const __u8 nd_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x01 };
static const __u8 gw_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0xfe, 0x02 };

/* --- the Services ------------------------------------------------------ */

static const struct frontend fe_udp = {
	.addr = FE_IP, .port = FE_UDP_PORT, .proto = IPPROTO_UDP,
	.svc_id = 60,
};

static const struct frontend fe_tcp = {
	.addr = FE_IP, .port = FE_TCP_PORT, .proto = IPPROTO_TCP,
	.svc_id = 61,
};

static const struct frontend fe_nodeport = {
	.addr = NODE_IP, .port = NODEPORT, .proto = IPPROTO_UDP,
	.flags = SL_SVC_F_EXTERNAL | SL_SVC_F_NODEPORT, .svc_id = 62,
};

static const struct backend be_b = {
	.id = 1, .addr = IP_B, .port = BE_UDP_PORT, .flags = SL_BE_F_LOCAL,
};

static const struct backend be_self = {
	.id = 2, .addr = IP_A, .port = BE_UDP_PORT, .flags = SL_BE_F_LOCAL,
};

static const struct backend be_r_udp = {
	.id = 11, .addr = IP_R1, .port = BE_UDP_PORT,
};

static const struct backend be_r_tcp = {
	.id = 12, .addr = IP_R1, .port = BE_TCP_PORT,
};

/* --- frames ------------------------------------------------------------ */

/**
 * struct err_spec - an ICMP error and the datagram it quotes
 * @saddr: the error's source, host byte order
 * @daddr: its destination
 * @type: ICMP type
 * @code: ICMP code
 * @rest: the header's last word (pkt_put_icmp_error)
 * @quoted: the datagram quoted, TTL included, as build_frame() builds it
 * @quote_len: bytes of it quoted, 0 for all of it
 * @mangle: breaks the error once built (the outer IPv4 checksum is
 *          recomputed afterwards)
 */
struct err_spec {
	__u32 saddr;
	__u32 daddr;
	__u8 type;
	__u8 code;
	__u32 rest;
	struct pkt_spec quoted;
	size_t quote_len;
	void (*mangle)(struct pkt *p);
};

/* The error of s, from src_mac to dst_mac with TTL ttl. */
static void err_build(const struct err_spec *s, const __u8 *dst_mac,
		      const __u8 *src_mac, __u8 ttl, struct pkt *p)
{
	struct pkt orig;
	size_t n;

	build_frame(&s->quoted, dst_mac, src_mac, s->quoted.ttl, &orig);
	n = ntohs(pkt_ipv4(&orig)->tot_len);
	if (s->quote_len && s->quote_len < n)
		n = s->quote_len;
	pkt_init(p);
	pkt_put_eth(p, dst_mac, src_mac, ETH_P_IP);
	pkt_put_ipv4(p, s->saddr, s->daddr, IPPROTO_ICMP, ttl, 0);
	pkt_put_icmp_error(p, s->type, s->code, s->rest, &orig, n);
	pkt_ipv4_finish(p);
	pkt_icmp_csum(p);
	if (s->mangle) {
		s->mangle(p);
		pkt_ipv4_csum(p);
	}
}

/* The quoted IPv4 header of an error built by err_build(). */
static struct iphdr *quote_ip(struct pkt *p)
{
	return (struct iphdr *)(p->data + QUOTE_OFF);
}

/* --- steps ------------------------------------------------------------- */

/* The four tc programs (runner.h's enum prog has the veth's two). */
enum hook { H_FROM_POD, H_TO_POD, H_FROM_NETDEV, H_TO_NETDEV };

static __u8 hook_dir(enum hook h)
{
	return h == H_FROM_POD || h == H_TO_NETDEV ? SL_DIR_EGRESS :
						     SL_DIR_INGRESS;
}

/**
 * struct xstep - one frame through one program, and what must come of it
 * @hook: the program
 * @dev: for the veth programs, the pod whose host veth it arrives on
 * @ret: the TC_ACT_* verdict
 * @to: the pod it is redirected to (MACs, TTL), EP_NONE for none
 * @count: the reasons that must count it once in @hook's direction, and
 *         nothing else
 * @translated: the frame is an ICMP error that must leave rewritten:
 *              check each of its checksums by name too
 */
struct xstep {
	enum hook hook;
	enum ep_id dev;
	int ret;
	enum ep_id to;
	__u32 count[3];
	bool translated;
};

/* The frame as it arrives for s: the MACs of its veth and direction. */
static void err_in(const struct xstep *s, const struct err_spec *e,
		   struct pkt *p)
{
	const struct test_ep *ep = &eps[s->dev];

	switch (s->hook) {
	case H_FROM_POD:
		err_build(e, ep->host_mac, ep->pod_mac, ERR_TTL, p);
		break;
	case H_TO_POD:
		err_build(e, ep->pod_mac, ep->host_mac, ERR_TTL, p);
		break;
	default:
		err_build(e, nd_mac, gw_mac, ERR_TTL, p);
		break;
	}
}

/* The frame e as it must leave for s: as it came, or redirected. */
static void err_want(const struct xstep *s, const struct err_spec *e,
		     struct pkt *p)
{
	const struct test_ep *to = &eps[s->to];

	if (s->to == EP_NONE)
		err_in(s, e, p);
	else
		err_build(e, to->pod_mac, to->host_mac, ERR_TTL - 1, p);
}

static int hook_run(const struct xstep *s, const struct pkt *in,
		    struct pkt *out, __u32 *retval)
{
	struct __sk_buff ctx = { .ifindex = NETDEV_IFINDEX };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in->data,
		.data_size_in = in->len,
		.data_out = out->data,
		.data_size_out = sizeof(out->data),
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
	);
	struct bpf_program *prog = s->hook == H_FROM_NETDEV ?
					   skel->progs.sl_from_netdev :
					   skel->progs.sl_to_netdev;

	if (s->hook == H_FROM_POD || s->hook == H_TO_POD)
		return prog_run(s->hook == H_FROM_POD ? FROM_POD : TO_POD,
				eps[s->dev].ifindex, in, out, 1, retval, NULL);
	pkt_init(out);
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) < 0)
		return -errno;
	out->len = opts.data_size_out;
	out->l3_off = in->l3_off;
	*retval = opts.retval;
	return 0;
}

/* Each checksum of a translated error, so a failure names the one. */
static void check_err_csums(const struct pkt *out)
{
	const struct iphdr *ip = pkt_ipv4(out);
	const struct iphdr *qip;
	struct pkt q;

	CHECK(ipv4_csum(ip, ip->ihl * 4) == 0,
	      "outer IPv4 header checksum is not valid");
	CHECK(pkt_icmp_csum_ok(out), "ICMP checksum is not valid");
	if (!CHECK(pkt_icmp_quote(out, &q), "no quoted IPv4 header"))
		return;
	qip = pkt_ipv4(&q);
	if (q.len >= q.l3_off + qip->ihl * 4u)
		CHECK(ipv4_csum(qip, qip->ihl * 4) == 0,
		      "quoted IPv4 header checksum is not valid");
	/* A whole quoted UDP datagram can be checked (TCP's checksum is
	 * left as it was, see icmp.h). */
	if (qip->protocol == IPPROTO_UDP && pkt_l4(&q))
		CHECK(pkt_l4_csum_ok(&q), "quoted UDP checksum 0x%04x is not "
		      "valid", frame_l4_check(&q));
}

/*
 * Run one frame from zeroed counters and check it against want: the
 * verdict, the frame, the counters, no drop event. out gets the frame.
 */
static int xrun(const struct xstep *s, const struct pkt *in,
		const struct pkt *want, struct pkt *out)
{
	struct metric_want mw[ARRAY_SIZE(s->count)];
	__u32 retval;
	size_t n = 0;
	int err;

	err = counters_reset();
	if (!CHECK(err == 0, "resetting counters: %s", strerror(-err)))
		return err;
	err = hook_run(s, in, out, &retval);
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	CHECK((int)retval == s->ret, "returned %u, want %d", retval, s->ret);
	if (s->to != EP_NONE)
		check_redirected(s->to, in, out);
	if (s->translated)
		check_err_csums(out);
	if (CHECK(out->len == want->len, "frame out is %u bytes, want %u",
		  out->len, want->len) &&
	    !CHECK(memcmp(out->data, want->data, want->len) == 0,
		   "frame out differs from the one expected"))
		print_frame_diff(want, out);

	for (; n < ARRAY_SIZE(s->count) && s->count[n]; n++)
		mw[n] = (struct metric_want){ s->count[n], hook_dir(s->hook),
					      1, in->len };
	check_metrics_set(mw, n);
	err = events_read(0);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return err;
	CHECK(events.count == 0, "%u events for a frame let through",
	      events.count);
	return 0;
}

/* An error through s: translated to out, or untouched when out is NULL. */
static int err_step(const struct xstep *s, const struct err_spec *in,
		    const struct err_spec *out)
{
	struct pkt pin, want, got;

	err_in(s, in, &pin);
	err_want(s, out ? out : in, &want);
	return xrun(s, &pin, &want, &got);
}

/* The connection's OUT entry counted the request alone: errors do not
 * count on a connection nor refresh it. */
static void check_out_untouched(__u32 client, __u16 cport, __u32 fe,
				__u16 fe_port, __u8 proto, __u32 req_len)
{
	struct sl_ct_key k = ct_key(client, cport, fe, fe_port, proto,
				    SL_CT_OUT);
	struct sl_ct_entry e;

	if (CHECK(ct_get(&k, &e) == 0, "no OUT entry"))
		check_ct_counters("OUT", &e, 1, req_len, 0, 0);
}

/* --- a client's packet refused, or lost on the way ----------------------- */

/*
 * A client port whose datagram to FE:53 carries 0xffff, a zero sum: the
 * quote translated back to it must say 0xffff too, never 0 ("none").
 */
static __u16 sport_for_zero_sum(void)
{
	struct pkt_spec o;
	struct pkt probe;

	for (__u32 sport = 1; sport <= 0xffff; sport++) {
		o = udp(IP_A, sport, FE_IP, FE_UDP_PORT, false);
		build_frame(&o, eps[EP_A].host_mac, eps[EP_A].pod_mac,
			    DEF_TTL - 1, &probe);
		if (frame_l4_check(&probe) == 0xffff)
			return sport;
	}
	return 0;
}

/*
 * A (client) -> FE:53 -> B, and B's host has no socket on the port: its
 * port unreachable quotes the datagram as B got it, and must reach A as
 * one from the frontend about the datagram A sent.
 */
static int run_udp_port_unreach(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	const struct xstep x = {
		.hook = H_FROM_POD, .dev = EP_B, .ret = TC_ACT_REDIRECT,
		.to = EP_A, .count = { SL_REDIRECT_PEER, SL_SERVICE_ICMP },
		.translated = true,
	};
	struct err_spec in = {
		.saddr = IP_B, .daddr = IP_A,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = udp(IP_A, CPORT, IP_B, BE_UDP_PORT, false),
	};
	struct err_spec out = {
		.saddr = FE_IP, .daddr = IP_A,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = q,
	};
	struct pkt req, fwd;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_b, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;
	/* Quoted as B got it: one hop on. */
	in.quoted.ttl = out.quoted.ttl = DEF_TTL - 1;

	/* Linux quotes the whole datagram (up to 576 bytes): every
	 * checksum, the quoted UDP one included, is checked whole. */
	if (err_step(&x, &in, &out) < 0)
		return 0;
	/* RFC 792's minimum: header and 8 bytes, UDP's checksum in them. */
	in.quote_len = out.quote_len = QUOTE_MIN;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	/* No UDP checksum (0): stays 0. */
	in.quote_len = out.quote_len = 0;
	in.quoted.no_l4_csum = out.quoted.no_l4_csum = true;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	/* Options in the quoted header: the ports are further on. */
	in.quoted.no_l4_csum = out.quoted.no_l4_csum = false;
	in.quoted.opt_len = out.quoted.opt_len = 8;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	check_out_untouched(IP_A, CPORT, FE_IP, FE_UDP_PORT, IPPROTO_UDP,
			    req.len);

	/* A quoted checksum the translation makes zero: 0xffff. */
	in.quoted.opt_len = out.quoted.opt_len = 0;
	in.quoted.sport = out.quoted.sport = sport_for_zero_sum();
	if (!CHECK(in.quoted.sport, "no client port gives a zero sum"))
		return 0;
	q.sport = in.quoted.sport;
	s = (struct step)TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	if (step(&s, &req, &fwd) < 0 || err_step(&x, &in, &out) < 0)
		return 0;
	in.quote_len = out.quote_len = QUOTE_MIN;
	err_step(&x, &in, &out);
	return 0;
}

/*
 * A (client) -> FE:80 -> R1 (another node), and a router on the way needs
 * fragmentation of a DF segment: its error reaches A by the stack
 * (sl_to_pod), from the frontend and about the segment A sent, with the
 * next-hop MTU as the router said. The router quotes 8 bytes, or (Linux)
 * the whole segment, whose TCP checksum is then left as it was.
 */
static int run_tcp_frag_needed(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_TCP_PORT,
				  PKT_TCP_SYN);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = syn,
		.out = retuple(&syn, IP_A, CPORT, IP_R1, BE_TCP_PORT),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	const struct xstep x = {
		.hook = H_TO_POD, .dev = EP_A, .ret = TC_ACT_OK,
		.count = { SL_TO_POD, SL_SERVICE_ICMP }, .translated = true,
	};
	struct err_spec in = {
		.saddr = IP_RTR, .daddr = IP_A,
		.type = DEST_UNREACH, .code = FRAG_NEEDED,
		.rest = NEXT_HOP_MTU,
		.quoted = s.out, .quote_len = QUOTE_MIN,
	};
	struct err_spec out = in;
	struct pkt req, fwd, pin, want, got;
	struct iphdr *qip;
	__u8 *icmp;
	size_t tcp_check;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_r_tcp, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;
	in.quoted.ttl = DEF_TTL - 3; /* the router is two hops on */
	out.saddr = FE_IP;
	out.quoted = syn;
	out.quoted.ttl = in.quoted.ttl;
	if (err_step(&x, &in, &out) < 0)
		return 0;

	/* The whole segment quoted: the TCP checksum stays the backend
	 * side's, everything else as A sent it. */
	in.quote_len = out.quote_len = 0;
	err_in(&x, &in, &pin);
	err_want(&x, &out, &want);
	tcp_check = QUOTE_OFF + sizeof(struct iphdr) +
		    offsetof(struct pkt_tcphdr, check);
	memcpy(want.data + tcp_check, pin.data + tcp_check, 2);
	pkt_icmp_csum(&want);
	if (xrun(&x, &pin, &want, &got) < 0)
		return 0;
	icmp = got.data + ETH_HLEN + sizeof(struct iphdr);
	CHECK(icmp[0] == DEST_UNREACH && icmp[1] == FRAG_NEEDED &&
	      (icmp[6] << 8 | icmp[7]) == NEXT_HOP_MTU,
	      "type %u code %u MTU %u, want 3/4 and %u kept", icmp[0], icmp[1],
	      icmp[6] << 8 | icmp[7], NEXT_HOP_MTU);
	qip = quote_ip(&got);
	CHECK(qip->daddr == htonl(FE_IP), "quoted destination %08x, want the "
	      "frontend", ntohl(qip->daddr));
	check_out_untouched(IP_A, CPORT, FE_IP, FE_TCP_PORT, IPPROTO_TCP,
			    req.len);
	return 0;
}

/*
 * A (client) -> FE:53 -> R1: a router's time exceeded (a traceroute to
 * the ClusterIP, or a loop) and the backend host's parameter problem reach
 * A from the frontend, with their header's last word (the pointer) kept.
 */
static int run_time_exceeded(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q,
		.out = retuple(&q, IP_A, CPORT, IP_R1, BE_UDP_PORT),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	const struct xstep x = {
		.hook = H_TO_POD, .dev = EP_A, .ret = TC_ACT_OK,
		.count = { SL_TO_POD, SL_SERVICE_ICMP }, .translated = true,
	};
	struct err_spec in = {
		.saddr = IP_RTR, .daddr = IP_A, .type = TIME_EXCEEDED,
		.quoted = s.out,
	};
	struct err_spec out = in;
	struct pkt req, fwd;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_r_udp, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;
	in.quoted.ttl = out.quoted.ttl = 1; /* it expired there */
	out.saddr = FE_IP;
	out.quoted = retuple(&in.quoted, IP_A, CPORT, FE_IP, FE_UDP_PORT);
	if (err_step(&x, &in, &out) < 0)
		return 0;

	in.saddr = IP_R1;
	in.type = out.type = PARAM_PROBLEM;
	in.rest = out.rest = 8u << 24; /* pointing at the TTL */
	in.quoted.ttl = out.quoted.ttl = DEF_TTL - 1;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	check_out_untouched(IP_A, CPORT, FE_IP, FE_UDP_PORT, IPPROTO_UDP,
			    req.len);
	return 0;
}

/* --- a backend's reply refused ------------------------------------------ */

/*
 * The client's host has no socket any more when the backend's answer
 * arrives (a late UDP reply): its port unreachable, about the answer as
 * translated back (FE:53 -> A), is addressed to the frontend and must go
 * to the backend about the answer it sent. A local backend gets it
 * redirected, one elsewhere through the stack.
 */
static int run_to_backend(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct pkt_spec a = udp(IP_B, BE_UDP_PORT, IP_A, CPORT, false);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	struct step r = {
		.prog = FROM_POD, .dev = EP_B, .in = a,
		.out = retuple(&a, FE_IP, FE_UDP_PORT, IP_A, CPORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_REPLY },
	};
	struct xstep x = {
		.hook = H_FROM_POD, .dev = EP_A, .ret = TC_ACT_REDIRECT,
		.to = EP_B, .count = { SL_REDIRECT_PEER, SL_SERVICE_ICMP },
		.translated = true,
	};
	struct err_spec in = {
		.saddr = IP_A, .daddr = FE_IP,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = r.out,
	};
	struct err_spec out = in;
	struct pkt req, fwd, rin;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_b, 1));
	if (step(&s, &req, &fwd) < 0 || step(&r, &rin, &fwd) < 0)
		return 0;
	in.quoted.ttl = DEF_TTL - 1;
	out.daddr = IP_B;
	out.quoted = a;
	out.quoted.ttl = in.quoted.ttl;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	in.quote_len = out.quote_len = QUOTE_MIN;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	/* Not to the frontend, whose answer it quotes: not ours. */
	in.daddr = IP_B;
	x.count[1] = 0;
	x.translated = false;
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	in.daddr = FE_IP;
	x.count[1] = SL_SERVICE_ICMP;
	x.translated = true;

	/* The same with a backend on another node: through the stack. */
	SETUP(reset_state());
	SETUP(frontend_add(&fe_udp, &be_r_udp, 1));
	s = (struct step){
		.prog = FROM_POD, .dev = EP_A, .in = q,
		.out = retuple(&q, IP_A, CPORT, IP_R1, BE_UDP_PORT),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	if (step(&s, &req, &fwd) < 0)
		return 0;
	x.ret = TC_ACT_OK;
	x.to = EP_NONE;
	x.count[0] = SL_TO_STACK;
	out.daddr = IP_R1;
	out.quoted = retuple(&a, IP_R1, BE_UDP_PORT, IP_A, CPORT);
	out.quoted.ttl = in.quoted.ttl;
	err_step(&x, &in, &out);
	return 0;
}

/* --- hairpin ------------------------------------------------------------- */

/*
 * A reaching itself through FE:53 (seen from 169.254.42.1): its own port
 * unreachable as the backend goes back to it as the client, from the
 * frontend and about what it sent; as the client, about the answer, to
 * itself as the backend, from 169.254.42.1.
 */
static int run_hairpin(const struct dp_case *c)
{
	const __u32 hp = SL_HAIRPIN_IP4;
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q,
		.out = retuple(&q, hp, CPORT, IP_A, BE_UDP_PORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_NEW },
	};
	const struct xstep x = {
		.hook = H_FROM_POD, .dev = EP_A, .ret = TC_ACT_REDIRECT,
		.to = EP_A, .count = { SL_REDIRECT_PEER, SL_SERVICE_ICMP },
		.translated = true,
	};
	struct err_spec in = {
		.saddr = IP_A, .daddr = hp,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = s.out,
	};
	struct err_spec out = in;
	struct pkt req, fwd;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_self, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;
	in.quoted.ttl = DEF_TTL - 1;
	out.saddr = FE_IP;
	out.daddr = IP_A;
	out.quoted = q;
	out.quoted.ttl = in.quoted.ttl;
	if (err_step(&x, &in, &out) < 0)
		return 0;

	/* A as the client, refusing the answer FE:53 -> A. */
	in.daddr = FE_IP;
	in.quoted = udp(FE_IP, FE_UDP_PORT, IP_A, CPORT, false);
	in.quoted.ttl = DEF_TTL - 1;
	out.saddr = hp;
	out.daddr = IP_A;
	out.quoted = udp(IP_A, BE_UDP_PORT, hp, CPORT, false);
	out.quoted.ttl = in.quoted.ttl;
	err_step(&x, &in, &out);
	return 0;
}

/* --- from outside the node ----------------------------------------------- */

/*
 * IP_OUT -> NODE_IP:30053 -> B, a connection from outside: B's port
 * unreachable is not translated at B's veth (the stack sends it out) but
 * where it leaves the node, from the NodePort; a router's fragmentation
 * needed (or the outside client's own port unreachable) about the answer
 * sent back comes in addressed to the NodePort and goes to B. An error at
 * the interface about an in-cluster connection is left alone.
 */
static int run_outside(const struct dp_case *c)
{
	const struct pkt_spec q = udp(IP_OUT, CPORT, NODE_IP, NODEPORT,
				      false);
	const struct xstep xin = {
		.hook = H_FROM_NETDEV, .ret = TC_ACT_OK,
		.count = { SL_FROM_NETDEV, SL_SERVICE_NEW },
	};
	struct xstep x = {
		.hook = H_FROM_POD, .dev = EP_B, .ret = TC_ACT_OK,
		.count = { SL_TO_STACK },
	};
	struct err_spec in = {
		.saddr = IP_B, .daddr = IP_OUT,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = retuple(&q, IP_OUT, CPORT, IP_B, BE_UDP_PORT),
	};
	struct err_spec out = in;
	struct pkt req, want, got;
	struct pkt_spec fwd;

	(void)c;
	SETUP(frontend_add(&fe_nodeport, &be_b, 1));
	build_frame(&q, nd_mac, gw_mac, DEF_TTL, &req);
	fwd = retuple(&q, IP_OUT, CPORT, IP_B, BE_UDP_PORT);
	build_frame(&fwd, nd_mac, gw_mac, DEF_TTL, &want);
	if (xrun(&xin, &req, &want, &got) < 0)
		return 0;
	in.quoted.ttl = out.quoted.ttl = DEF_TTL - 1;

	/* At B's veth: the node's stack is to route it out. */
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	/* Leaving by the interface: from the NodePort. */
	x.hook = H_TO_NETDEV;
	x.count[0] = SL_TO_NETDEV;
	x.count[1] = SL_SERVICE_ICMP;
	x.translated = true;
	out.saddr = NODE_IP;
	out.quoted = q;
	out.quoted.ttl = in.quoted.ttl;
	if (err_step(&x, &in, &out) < 0)
		return 0;

	/* A router about the answer NODE_IP:30053 -> IP_OUT. */
	x.hook = H_FROM_NETDEV;
	x.count[0] = SL_FROM_NETDEV;
	in = (struct err_spec){
		.saddr = IP_RTR, .daddr = NODE_IP,
		.type = DEST_UNREACH, .code = FRAG_NEEDED,
		.rest = NEXT_HOP_MTU,
		.quoted = udp(NODE_IP, NODEPORT, IP_OUT, CPORT, false),
	};
	in.quoted.ttl = DEF_TTL - 2;
	out = in;
	out.daddr = IP_B;
	out.quoted = retuple(&in.quoted, IP_B, BE_UDP_PORT, IP_OUT, CPORT);
	if (err_step(&x, &in, &out) < 0)
		return 0;
	/* The client itself, its socket gone. */
	in.saddr = out.saddr = IP_OUT;
	in.code = out.code = PORT_UNREACH;
	in.rest = out.rest = 0;
	if (err_step(&x, &in, &out) < 0)
		return 0;
	check_out_untouched(IP_OUT, CPORT, NODE_IP, NODEPORT, IPPROTO_UDP,
			    req.len);
	/* The same error from a pod: the connection is not its. */
	x.hook = H_FROM_POD;
	x.dev = EP_A;
	x.count[0] = SL_TO_STACK;
	x.count[1] = 0;
	x.translated = false;
	in.saddr = IP_A;
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	x.hook = H_FROM_NETDEV;
	x.count[0] = SL_FROM_NETDEV;

	/* An in-cluster connection A -> FE:53 -> B: an error about its
	 * answer met at the interface is not its. */
	SETUP(frontend_add(&fe_udp, &be_b, 1));
	{
		struct pkt_spec qa = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT,
					 false);
		struct step s = TO_LOCAL_BACKEND(qa, IP_B, BE_UDP_PORT, EP_B);
		struct pkt sin, sout;

		if (step(&s, &sin, &sout) < 0)
			return 0;
	}
	in.saddr = IP_RTR;
	in.daddr = FE_IP;
	in.quoted = udp(FE_IP, FE_UDP_PORT, IP_A, CPORT, false);
	in.quoted.ttl = DEF_TTL - 1;
	err_step(&x, &in, NULL);
	return 0;
}

/* --- left alone ---------------------------------------------------------- */

static void mangle_redirect(struct pkt *p)
{
	p->data[ETH_HLEN + sizeof(struct iphdr)] = REDIRECT;
}

/*
 * Errors about no connection, or not one of ours to translate, pass
 * untouched: another client port, the client's address as the error's
 * destination but someone else's datagram quoted, a protocol the
 * connection is not, a redirect (no error), a connection that expired or
 * whose backend has since changed; and ping to a frontend stays ping.
 */
static int run_unknown(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q,
		.out = retuple(&q, IP_A, CPORT, IP_R1, BE_UDP_PORT),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	const struct xstep x = {
		.hook = H_TO_POD, .dev = EP_A, .ret = TC_ACT_OK,
		.count = { SL_TO_POD },
	};
	const struct err_spec ok = {
		.saddr = IP_RTR, .daddr = IP_A, .type = TIME_EXCEEDED,
		.quoted = s.out,
	};
	struct pkt_spec ping = {
		.l3 = L3_IPV4, .saddr = IP_A, .daddr = FE_IP, .ttl = DEF_TTL,
		.l4 = IPPROTO_ICMP,
	};
	struct step p = {
		.prog = FROM_POD, .dev = EP_A, .in = ping, .out = ping,
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct sl_ct_key ko = ct_key(IP_A, CPORT, FE_IP, FE_UDP_PORT,
				     IPPROTO_UDP, SL_CT_OUT);
	struct sl_ct_entry e, saved;
	struct err_spec in;
	struct pkt req, fwd;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_r_udp, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;

	in = ok;
	in.quoted.sport = CPORT + 1;
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	in = ok;
	in.daddr = IP_B; /* A's datagram, the error sent to another */
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	in = ok;
	in.quoted.l4 = IPPROTO_TCP;
	if (err_step(&x, &in, NULL) < 0)
		return 0;
	in = ok;
	in.mangle = mangle_redirect;
	if (err_step(&x, &in, NULL) < 0)
		return 0;

	SETUP(ct_get(&ko, &saved));
	e = saved;
	e.expires = boot_s() - 1;
	SETUP(ct_put(&ko, &e));
	if (err_step(&x, &ok, NULL) < 0)
		return 0;
	e = saved;
	e.backend_id = be_r_udp.id + 1;
	SETUP(ct_put(&ko, &e));
	if (err_step(&x, &ok, NULL) < 0)
		return 0;

	/* Ping to the frontend, and no error translated from the pod. */
	step(&p, &req, &fwd);
	return 0;
}

/* The last 4 bytes of the quote in Ethernet padding, after tot_len. */
static void mangle_quote_in_padding(struct pkt *p)
{
	struct iphdr *ip = pkt_ipv4(p);

	ip->tot_len = htons(ntohs(ip->tot_len) - 4);
}

static void mangle_quote_ihl4(struct pkt *p)
{
	quote_ip(p)->ihl = 4;
}

static void mangle_quote_v6(struct pkt *p)
{
	quote_ip(p)->version = 6;
}

static void mangle_outer_mf(struct pkt *p)
{
	pkt_ipv4(p)->frag_off = htons(PKT_IP_MF);
}

/*
 * A quote that does not hold the connection's ports, or is no IPv4
 * header of a first fragment, and an error that is itself a fragment:
 * passed on untouched (redirected to A like any packet for it).
 */
static int run_quote_cut(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	const struct xstep x = {
		.hook = H_FROM_POD, .dev = EP_B, .ret = TC_ACT_REDIRECT,
		.to = EP_A, .count = { SL_REDIRECT_PEER },
	};
	const struct err_spec ok = {
		.saddr = IP_B, .daddr = IP_A,
		.type = DEST_UNREACH, .code = PORT_UNREACH,
		.quoted = udp(IP_A, CPORT, IP_B, BE_UDP_PORT, false),
		.quote_len = QUOTE_MIN,
	};
	static const struct {
		const char *what;
		size_t quote_len;
		void (*mangle)(struct pkt *p);
		__u16 quoted_frag_off;
	} cuts[] = {
		{ "ports only, no UDP length or checksum", 20 + 4, NULL, 0 },
		{ "IPv4 header cut", 12, NULL, 0 },
		{ "nothing quoted", 0, NULL, 0 },
		{ "8 bytes, 4 of them in padding", QUOTE_MIN,
		  mangle_quote_in_padding, 0 },
		{ "quoted header length 4", QUOTE_MIN, mangle_quote_ihl4, 0 },
		{ "quoted version 6", QUOTE_MIN, mangle_quote_v6, 0 },
		{ "a non-first fragment quoted", QUOTE_MIN, NULL, 1480 / 8 },
		{ "the error a fragment", QUOTE_MIN, mangle_outer_mf, 0 },
	};
	struct pkt req, fwd, pin, want, got;
	struct err_spec in;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_b, 1));
	if (step(&s, &req, &fwd) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(cuts) && !case_failed; i++) {
		in = ok;
		in.quoted.ttl = DEF_TTL - 1;
		in.quote_len = cuts[i].quote_len;
		in.mangle = cuts[i].mangle;
		in.quoted.frag_off = cuts[i].quoted_frag_off;
		if (!cuts[i].quote_len) {
			/* An ICMP header and nothing after it. */
			err_in(&x, &in, &pin);
			pin.len = QUOTE_OFF;
			pkt_ipv4(&pin)->tot_len =
				htons(QUOTE_OFF - ETH_HLEN);
			pkt_icmp_csum(&pin);
			pkt_ipv4_csum(&pin);
			want = pin;
			memcpy(want.data, eps[EP_A].pod_mac, ETH_ALEN);
			memcpy(want.data + ETH_ALEN, eps[EP_A].host_mac,
			       ETH_ALEN);
			pkt_ipv4(&want)->ttl--;
			pkt_ipv4_csum(&want);
			xrun(&x, &pin, &want, &got);
		} else {
			err_step(&x, &in, NULL);
		}
		if (case_failed)
			printf("    (%s)\n", cuts[i].what);
	}
	return 0;
}

/* --- the table ---------------------------------------------------------- */

const struct dp_case icmp_cases[] = {
	{
		.name = "icmp_udp_port_unreach",
		.desc = "a local backend's port unreachable for a datagram to "
			"a ClusterIP reaches the client from the frontend, "
			"quoting what the client sent: whole or 8 bytes, UDP "
			"checksum or none, options in the quote; outer IPv4, "
			"ICMP, quoted IPv4 and UDP checksums right; "
			"SERVICE_ICMP",
		.run = run_udp_port_unreach,
	},
	{
		.name = "icmp_tcp_frag_needed",
		.desc = "a router's fragmentation needed for a TCP segment to "
			"a backend elsewhere reaches the client through "
			"sl_to_pod from the frontend, MTU kept, 8-byte and "
			"whole quotes",
		.run = run_tcp_frag_needed,
	},
	{
		.name = "icmp_time_exceeded",
		.desc = "time exceeded from a router and parameter problem "
			"from the backend's host are translated for the "
			"client likewise, their last header word kept",
		.run = run_time_exceeded,
	},
	{
		.name = "icmp_to_backend",
		.desc = "the client's port unreachable for a late answer goes "
			"to the backend about the answer it sent: redirected "
			"to a local one, through the stack to one elsewhere",
		.run = run_to_backend,
	},
	{
		.name = "icmp_hairpin",
		.desc = "a pod reaching itself through a Service: its errors "
			"as the backend reach it as the client from the "
			"frontend, and as the client reach it as the backend "
			"from 169.254.42.1",
		.run = run_hairpin,
	},
	{
		.name = "icmp_outside",
		.desc = "a NodePort connection from outside: the backend's "
			"error is translated leaving the interface (not at "
			"its veth), errors about its answers coming in go to "
			"the backend; an in-cluster connection's are not",
		.run = run_outside,
	},
	{
		.name = "icmp_unknown_flow",
		.desc = "errors about another port, another sender, another "
			"protocol, an expired connection or one with another "
			"backend, and redirects and ping, pass untouched",
		.run = run_unknown,
	},
	{
		.name = "icmp_quote_cut",
		.desc = "a quote without the ports, cut into padding, not an "
			"IPv4 first fragment, or an error that is a fragment "
			"passes untouched",
		.run = run_quote_cut,
	},
};

const size_t icmp_cases_n = ARRAY_SIZE(icmp_cases);

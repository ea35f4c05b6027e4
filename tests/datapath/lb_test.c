// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Service suite: load balancing at the pod veth (lib/lb.h), the
 * rewriting it does (lib/l4.h) and the conntrack entries that carry a
 * connection (lib/conntrack.h), through the same two programs as the
 * datapath suite. Each case writes the sl_services, sl_backends and
 * sl_affinity entries it needs as the agent would (backends, then slots,
 * then the frontend), sends the frames of a connection in turn and checks
 * after each one: the verdict, the frame byte for byte against one built
 * from scratch (so the incrementally updated IPv4 and TCP/UDP checksums
 * must equal the computed ones), the counters, and the sl_ct entries.
 *
 * Addresses: pods A and B (runner.h) are clients and local backends; a
 * Service's frontend is a ClusterIP, FE_IP; backends elsewhere are the
 * IP_R* addresses, reached through the host stack.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svc.h"

#define FE_IP IP4(10, 96, 0, 10)
#define FE_PORT 80
#define FE_UDP_PORT 53
#define BE_PORT 8080
#define BE_UDP_PORT 5353
#define SVC_ID 42
/* Backends on other nodes or in the host network. */
#define IP_R1 IP4(10, 0, 2, 1)
#define IP_R2 IP4(10, 0, 2, 2)
#define IP_R3 IP4(10, 0, 2, 3)
#define IP_R4 IP4(10, 0, 2, 4)

#define CPORT 40000 /* the client's first source port */
#define SPREAD_FLOWS 96
#define AFFINITY_FLOWS 16
#define AFFINITY_TIMEOUT 10800

/* --- the Services ------------------------------------------------------ */

static const struct frontend fe_tcp = {
	.addr = FE_IP, .port = FE_PORT, .proto = IPPROTO_TCP,
	.svc_id = SVC_ID,
};

static const struct frontend fe_udp = {
	.addr = FE_IP, .port = FE_UDP_PORT, .proto = IPPROTO_UDP,
	.svc_id = SVC_ID + 1,
};

static const struct backend be_b = {
	.id = 1, .addr = IP_B, .port = BE_PORT, .flags = SL_BE_F_LOCAL,
};

/* Three backends elsewhere, each on a port of its own. */
static const struct backend be_remote[] = {
	{ .id = 11, .addr = IP_R1, .port = BE_PORT },
	{ .id = 12, .addr = IP_R2, .port = BE_PORT + 1 },
	{ .id = 13, .addr = IP_R3, .port = BE_PORT + 2 },
};

/* The key of the OUT entry of a client's connection to the frontend. */
static struct sl_ct_key out_key(__u32 client, __u16 cport, __u8 proto,
				__u16 fe_port)
{
	return ct_key(client, cport, FE_IP, fe_port, proto, SL_CT_OUT);
}

/* --- new connections ---------------------------------------------------- */

static int run_tcp_new_local(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s = TO_LOCAL_BACKEND(syn, IP_B, BE_PORT, EP_B);
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_key kr = ct_key(IP_B, BE_PORT, IP_A, CPORT, IPPROTO_TCP,
				     SL_CT_REPLY);
	struct sl_ct_entry e;
	struct pkt in, out;
	__u64 t0, t1;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	t0 = boot_ns();
	if (step(&s, &in, &out) < 0)
		return 0;
	t1 = boot_ns();

	CHECK(ct_count() == 2, "%u sl_ct entries, want OUT and REPLY",
	      ct_count());
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = IP_B,
					.nat_dport = BE_PORT,
					.flags = SL_CT_F_SERVICE,
					.backend_id = be_b.id,
					.svc_id = SVC_ID },
		     &e)) {
		check_ct_counters("OUT", &e, 1, in.len, 0, 0);
		check_expires("OUT after a SYN", &e, SL_CT_TIMEOUT_TCP_SYN);
		CHECK(e.tcp_flags[0] == PKT_TCP_SYN && e.tcp_flags[1] == 0,
		      "OUT tcp_flags 0x%02x/0x%02x, want SYN/none",
		      e.tcp_flags[0], e.tcp_flags[1]);
		CHECK(e.ifindex == eps[EP_A].ifindex,
		      "OUT ifindex %u, want the client's veth %u", e.ifindex,
		      eps[EP_A].ifindex);
		CHECK(e.created_ns >= t0 && e.created_ns <= t1,
		      "OUT created_ns %llu outside the run",
		      (unsigned long long)e.created_ns);
	}
	if (check_ct("REPLY", &kr,
		     &(struct ct_want){ .nat_saddr = FE_IP,
					.nat_sport = FE_PORT,
					.flags = SL_CT_F_SERVICE,
					.backend_id = be_b.id,
					.svc_id = SVC_ID },
		     &e))
		check_ct_counters("REPLY", &e, 0, 0, 0, 0);
	return 0;
}

/* The backend a frame went to, by its address and port. */
static int backend_of(const struct pkt *out, const struct backend *be,
		      size_t n)
{
	__u32 addr;
	__u16 port;

	frame_dst(out, &addr, &port);
	for (size_t i = 0; i < n; i++) {
		if (be[i].addr == addr && be[i].port == port)
			return (int)i;
	}
	return -1;
}

static int run_tcp_spread(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	unsigned int picked[ARRAY_SIZE(be_remote)] = { 0 };
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, be_remote, nbe));
	for (int i = 0; i < SPREAD_FLOWS && !case_failed; i++) {
		struct step s = {
			.prog = FROM_POD, .dev = EP_A,
			.in = tcp(IP_A, CPORT + i, FE_IP, FE_PORT, PKT_TCP_SYN),
			.ret = TC_ACT_OK,
			.count = { SL_TO_STACK, SL_SERVICE_NEW },
		};
		struct sl_ct_key ko = out_key(IP_A, CPORT + i, IPPROTO_TCP,
					      FE_PORT);
		int b;

		if (step(&s, &in, &out) < 0)
			return 0;
		b = backend_of(&out, be_remote, nbe);
		if (!CHECK(b >= 0, "flow %d went to none of the backends", i))
			break;
		picked[b]++;
		/* The whole frame: the pick rewrote address and port only. */
		s.out = retuple(&s.in, IP_A, CPORT + i, be_remote[b].addr,
				be_remote[b].port);
		frame_in(FROM_POD, EP_A, &s.out, &in);
		CHECK(out.len == in.len && !memcmp(out.data, in.data, in.len),
		      "flow %d: frame out is not the input sent to backend %d",
		      i, b);
		if (check_ct("OUT", &ko,
			     &(struct ct_want){
				     .nat_daddr = be_remote[b].addr,
				     .nat_dport = be_remote[b].port,
				     .flags = SL_CT_F_SERVICE,
				     .backend_id = be_remote[b].id,
				     .svc_id = SVC_ID },
			     &e))
			check_ct_counters("OUT", &e, 1, in.len, 0, 0);
	}
	for (size_t b = 0; b < nbe; b++)
		CHECK(picked[b] > 0, "backend %zu never chosen in %d new "
		      "connections", b, SPREAD_FLOWS);
	CHECK(ct_count() == 2 * SPREAD_FLOWS, "%u sl_ct entries, want %d",
	      ct_count(), 2 * SPREAD_FLOWS);
	if (verbose)
		printf("  info: picks %u/%u/%u\n", picked[0], picked[1],
		       picked[2]);
	return 0;
}

static int run_tcp_established(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A,
		.in = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK,
		.count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	struct sl_ct_entry e;
	struct pkt in, out;
	int first;

	(void)c;
	SETUP(frontend_add(&fe_tcp, be_remote, nbe));
	if (step(&s, &in, &out) < 0)
		return 0;
	first = backend_of(&out, be_remote, nbe);
	if (!CHECK(first >= 0, "the SYN went to none of the backends"))
		return 0;

	/* The rest of the connection: no new pick, no new entries. */
	s.in.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	s.out = retuple(&s.in, IP_A, CPORT, be_remote[first].addr,
			be_remote[first].port);
	s.count[1] = 0;
	for (int i = 0; i < 10 && !case_failed; i++) {
		if (step(&s, &in, &out) < 0)
			return 0;
	}
	CHECK(ct_count() == 2, "%u sl_ct entries, want the first two",
	      ct_count());
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = be_remote[first].addr,
					.nat_dport = be_remote[first].port,
					.flags = SL_CT_F_SERVICE,
					.backend_id = be_remote[first].id,
					.svc_id = SVC_ID },
		     &e)) {
		check_ct_counters("OUT", &e, 11, 11 * in.len, 0, 0);
		CHECK(e.tcp_flags[0] == (PKT_TCP_SYN | PKT_TCP_ACK |
					 PKT_TCP_PSH),
		      "OUT tcp_flags[0] 0x%02x, want SYN|ACK|PSH",
		      e.tcp_flags[0]);
	}
	return 0;
}

/* --- replies ------------------------------------------------------------ */

static int run_tcp_reply_local(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec synack = tcp(IP_B, BE_PORT, IP_A, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct step s = TO_LOCAL_BACKEND(syn, IP_B, BE_PORT, EP_B);
	struct step r = {
		.prog = FROM_POD, .dev = EP_B, .in = synack,
		.out = retuple(&synack, FE_IP, FE_PORT, IP_A, CPORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_REPLY },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct pkt in, out, rin;
	struct sl_ct_entry e;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	if (step(&s, &in, &out) < 0 || step(&r, &rin, &out) < 0)
		return 0;
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = IP_B,
					.nat_dport = BE_PORT,
					.flags = SL_CT_F_SERVICE |
						 SL_CT_F_SEEN_REPLY,
					.backend_id = be_b.id,
					.svc_id = SVC_ID },
		     &e)) {
		check_ct_counters("OUT", &e, 1, in.len, 1, rin.len);
		CHECK(e.tcp_flags[1] == (PKT_TCP_SYN | PKT_TCP_ACK),
		      "OUT tcp_flags[1] 0x%02x, want SYN|ACK", e.tcp_flags[1]);
	}
	CHECK(ct_count() == 2, "%u sl_ct entries, want 2", ct_count());
	return 0;
}

static int run_tcp_reply_via_stack(const struct dp_case *c)
{
	const struct backend *be = &be_remote[0];
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec synack = tcp(be->addr, be->port, IP_A, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = syn,
		.out = retuple(&syn, IP_A, CPORT, be->addr, be->port),
		.ret = TC_ACT_OK,
		.count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	struct step r = {
		.prog = TO_POD, .dev = EP_A, .in = synack,
		.out = retuple(&synack, FE_IP, FE_PORT, IP_A, CPORT),
		.ret = TC_ACT_OK,
		.count = { SL_TO_POD, SL_SERVICE_REPLY },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct pkt in, out, rin;
	struct sl_ct_entry e;

	(void)c;
	SETUP(frontend_add(&fe_tcp, be, 1));
	if (step(&s, &in, &out) < 0 || step(&r, &rin, &out) < 0)
		return 0;
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = be->addr,
					.nat_dport = be->port,
					.flags = SL_CT_F_SERVICE |
						 SL_CT_F_SEEN_REPLY,
					.backend_id = be->id,
					.svc_id = SVC_ID },
		     &e))
		check_ct_counters("OUT", &e, 1, in.len, 1, rin.len);
	return 0;
}

/*
 * UDP both ways through a local backend, with or without a checksum: a
 * checksum stays valid, none stays none.
 */
static int udp_both_ways(bool no_csum)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, no_csum);
	struct pkt_spec a = udp(IP_B, BE_UDP_PORT, IP_A, CPORT, no_csum);
	const struct backend be = { .id = 2, .addr = IP_B,
				    .port = BE_UDP_PORT,
				    .flags = SL_BE_F_LOCAL };
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	struct step r = {
		.prog = FROM_POD, .dev = EP_B, .in = a,
		.out = retuple(&a, FE_IP, FE_UDP_PORT, IP_A, CPORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_REPLY },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_UDP, FE_UDP_PORT);
	struct pkt in, out, rin;
	struct sl_ct_entry e;

	SETUP(frontend_add(&fe_udp, &be, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	if (no_csum)
		CHECK(frame_l4_check(&in) == 0, "the test sent a checksum");
	if (step(&r, &rin, &out) < 0)
		return 0;
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = IP_B,
					.nat_dport = BE_UDP_PORT,
					.flags = SL_CT_F_SERVICE |
						 SL_CT_F_SEEN_REPLY,
					.backend_id = be.id,
					.svc_id = fe_udp.svc_id },
		     &e)) {
		check_ct_counters("OUT", &e, 1, in.len, 1, rin.len);
		check_expires("UDP OUT", &e, SL_CT_TIMEOUT_UDP);
	}
	return 0;
}

static int run_udp_csum(const struct dp_case *c)
{
	(void)c;
	return udp_both_ways(false);
}

static int run_udp_no_csum(const struct dp_case *c)
{
	(void)c;
	return udp_both_ways(true);
}

/*
 * A UDP checksum that the translation makes 0 must leave as 0xffff: 0
 * would say "no checksum". The source port is what the sum turns on; one
 * value of it in 65535 makes the translated frame's sum zero. 0 if none.
 */
static __u16 sport_for_zero_sum(void)
{
	struct pkt_spec o;
	struct pkt probe;

	for (__u32 sport = 1; sport <= 0xffff; sport++) {
		o = udp(IP_A, sport, IP_B, BE_UDP_PORT, false);
		build_frame(&o, eps[EP_B].pod_mac, eps[EP_B].host_mac,
			    DEF_TTL - 1, &probe);
		if (frame_l4_check(&probe) == 0xffff)
			return sport;
	}
	return 0;
}

static int run_udp_csum_mangled_0(const struct dp_case *c)
{
	const struct backend be = { .id = 2, .addr = IP_B,
				    .port = BE_UDP_PORT };
	__u16 sport = sport_for_zero_sum();
	struct pkt_spec q = udp(IP_A, sport, FE_IP, FE_UDP_PORT, false);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_UDP_PORT, EP_B);
	struct pkt in, out;

	(void)c;
	if (!CHECK(sport, "no source port gives a zero sum"))
		return 0;
	SETUP(frontend_add(&fe_udp, &be, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	CHECK(frame_l4_check(&out) == 0xffff,
	      "UDP checksum 0x%04x, want 0xffff for a zero sum",
	      frame_l4_check(&out));
	return 0;
}

/* --- services that cannot serve ------------------------------------------ */

/*
 * A frontend without backends refuses as kube-proxy's REJECT does: the
 * request becomes its answer, from the frontend to the client, sent back
 * out of the client's veth (bpf_redirect to the veth it came in on). The
 * answer's IPv4 header is the datapath's own: no options, id 0, DF.
 */
#define REJECT_TTL 64
#define IP_DF 0x4000

static struct iphdr *put_answer_ipv4(struct pkt *p, __u8 proto)
{
	struct iphdr *ip;

	pkt_init(p);
	pkt_put_eth(p, eps[EP_A].pod_mac, eps[EP_A].host_mac, ETH_P_IP);
	ip = pkt_put_ipv4(p, FE_IP, IP_A, proto, REJECT_TTL, 0);
	ip->id = 0;
	ip->frag_off = htons(IP_DF);
	return ip;
}

/* The reset RFC 793 answers a segment to a closed port with. */
static void build_reset(struct pkt *p, __u16 cport, __u32 seq, __u32 ack,
			__u8 flags)
{
	struct pkt_tcphdr *tcp;

	put_answer_ipv4(p, IPPROTO_TCP);
	tcp = (void *)(p->data + p->len);
	pkt_put_tcp(p, FE_PORT, cport);
	tcp->seq = htonl(seq);
	tcp->ack_seq = htonl(ack);
	tcp->flags = flags;
	tcp->window = 0;
	pkt_ipv4_finish(p);
	pkt_l4_csum(p);
}

/* ICMP port unreachable quoting the request's IPv4 header and 8 bytes. */
static void build_port_unreach(struct pkt *p, const struct pkt *req)
{
	__u8 *icmp, *quote;
	__u16 sum;

	put_answer_ipv4(p, IPPROTO_ICMP);
	icmp = pkt_put(p, 8);
	icmp[0] = 3; /* destination unreachable */
	icmp[1] = 3; /* port unreachable */
	quote = pkt_put(p, sizeof(struct iphdr) + 8);
	memcpy(quote, pkt_ipv4(req), sizeof(struct iphdr));
	memcpy(quote + sizeof(struct iphdr), pkt_l4(req), 8);
	pkt_ipv4_finish(p);
	sum = ipv4_csum(icmp, 8 + sizeof(struct iphdr) + 8);
	memcpy(icmp + 2, &sum, sizeof(sum));
}

/* The 20 payload bytes become TCP options (doff 10): a SYN as stacks
 * send them, with no data. */
static void mangle_syn_options(struct pkt *p)
{
	struct pkt_tcphdr *tcp = pkt_l4(p);

	tcp->doff_res = 10 << 4;
	pkt_l4_csum(p);
}

#define ACK_SEQ 0x11223344u

static void mangle_ack_seq(struct pkt *p)
{
	struct pkt_tcphdr *tcp = pkt_l4(p);

	tcp->ack_seq = htonl(ACK_SEQ);
	pkt_l4_csum(p);
}

/* A request from A to the frontend refused with want, or dropped. */
static int refuse(const struct pkt_spec *q, const struct pkt *want)
{
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = *q, .want = want,
		.ret = want ? TC_ACT_REDIRECT : TC_ACT_SHOT,
		.count = { SL_NO_SERVICE_BACKEND },
		.count_out = true, .event = true,
	};
	struct pkt in, out;

	if (!want)
		s.out = *q;
	return step(&s, &in, &out);
}

static int run_no_backend_tcp(const struct dp_case *c)
{
	const __u8 rst = PKT_TCP_RST, rst_ack = PKT_TCP_RST | PKT_TCP_ACK;
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt want;

	(void)c;
	SETUP(slots_put(&fe_tcp, NULL, 0));
	/* A SYN with options: the reset acknowledges the SYN alone
	 * (pkt_put_tcp() sends seq 1). */
	q.payload = 20;
	q.mangle = mangle_syn_options;
	build_reset(&want, CPORT, 0, 1 + 1, rst_ack);
	if (refuse(&q, &want) < 0)
		return 0;
	/* A SYN carrying 32 bytes: the SYN and the data. */
	q.payload = 32;
	q.mangle = NULL;
	build_reset(&want, CPORT, 0, 1 + 1 + 32, rst_ack);
	if (refuse(&q, &want) < 0)
		return 0;
	/* A FIN without an ACK: the FIN counts one, as a SYN does. */
	q.tcp_flags = PKT_TCP_FIN;
	q.payload = 5;
	build_reset(&want, CPORT, 0, 1 + 5 + 1, rst_ack);
	if (refuse(&q, &want) < 0)
		return 0;
	/* A segment with an ACK: the reset takes its sequence from it. */
	q.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	q.mangle = mangle_ack_seq;
	build_reset(&want, CPORT, ACK_SEQ, 0, rst);
	if (refuse(&q, &want) < 0)
		return 0;
	/* A reset is never answered: dropped, as it came. */
	q.tcp_flags = PKT_TCP_RST;
	q.mangle = NULL;
	if (refuse(&q, NULL) < 0)
		return 0;
	CHECK(ct_count() == 0, "%u sl_ct entries for refused connections",
	      ct_count());
	return 0;
}

/* Traffic policy Local with endpoints only on other nodes: dropped, not
 * refused (kube-proxy's "has no local endpoints"). */
static int run_no_local_backend(const struct dp_case *c)
{
	struct frontend fe = fe_tcp;
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q, .out = q,
		.ret = TC_ACT_SHOT, .count = { SL_NO_LOCAL_BACKEND },
		.event = true,
	};
	struct pkt in, out;

	(void)c;
	fe.flags = SL_SVC_F_LOCAL | SL_SVC_F_REMOTE_ONLY;
	SETUP(slots_put(&fe, NULL, 0));
	step(&s, &in, &out);
	CHECK(ct_count() == 0, "%u sl_ct entries for a dropped connection",
	      ct_count());
	return 0;
}

static int run_no_backend_udp(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct pkt req, want;

	(void)c;
	SETUP(slots_put(&fe_udp, NULL, 0));
	frame_in(FROM_POD, EP_A, &q, &req);
	build_port_unreach(&want, &req);
	refuse(&q, &want);
	CHECK(ct_count() == 0, "%u sl_ct entries for a refused datagram",
	      ct_count());
	return 0;
}

static int run_slot_inconsistent(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = syn, .out = syn,
		.ret = TC_ACT_SHOT, .count = { SL_SERVICE_INCONSISTENT },
	};
	const __u32 missing = 77;
	struct pkt in, out;

	(void)c;
	/* A slot naming a backend sl_backends does not have. */
	SETUP(slots_put(&fe_tcp, &missing, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	/* No slot at all behind the count. */
	SETUP(slot_del(&fe_tcp, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	CHECK(ct_count() == 0, "%u sl_ct entries for dropped packets",
	      ct_count());
	return 0;
}

/*
 * The backend of an established flow goes away: the next packet gets a
 * new one and a new OUT entry. The old backend's late packets must not be
 * taken for the new connection's replies.
 */
static int run_backend_removed(const struct dp_case *c)
{
	const struct backend *nb = &be_remote[0];
	struct pkt_spec data = tcp(IP_A, CPORT, FE_IP, FE_PORT,
				   PKT_TCP_ACK | PKT_TCP_PSH);
	struct pkt_spec old = tcp(IP_B, BE_PORT, IP_A, CPORT,
				  PKT_TCP_ACK | PKT_TCP_FIN);
	struct step s = TO_LOCAL_BACKEND(data, IP_B, BE_PORT, EP_B);
	struct step s2 = {
		.prog = FROM_POD, .dev = EP_A, .in = data,
		.out = retuple(&data, IP_A, CPORT, nb->addr, nb->port),
		.ret = TC_ACT_OK,
		.count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	/* Untranslated: to A as B, which A's stack answers with a reset. */
	struct step late = {
		.prog = FROM_POD, .dev = EP_B, .in = old, .out = old,
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	/* The agent: B goes, R1 comes, the slot moves to it. */
	SETUP(backend_del(be_b.id));
	SETUP(frontend_add(&fe_tcp, nb, 1));
	if (step(&s2, &in, &out) < 0)
		return 0;
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = nb->addr,
					.nat_dport = nb->port,
					.flags = SL_CT_F_SERVICE,
					.backend_id = nb->id,
					.svc_id = SVC_ID },
		     &e))
		check_ct_counters("new OUT", &e, 1, in.len, 0, 0);
	if (step(&late, &in, &out) < 0)
		return 0;
	if (ct_get(&ko, &e) == 0)
		CHECK(e.packets[1] == 0 && !(e.flags & SL_CT_F_SEEN_REPLY),
		      "the old backend's packet counted as a reply of the "
		      "new connection");
	return 0;
}

/* --- affinity ----------------------------------------------------------- */

static const struct frontend fe_aff = {
	.addr = FE_IP, .port = FE_PORT, .proto = IPPROTO_TCP,
	.svc_id = SVC_ID, .flags = SL_SVC_F_AFFINITY,
	.affinity_timeout = AFFINITY_TIMEOUT,
};

/* A backend that exists but is in no slot: only affinity can reach it. */
static const struct backend be_sticky = {
	.id = 14, .addr = IP_R4, .port = BE_PORT,
};

/* A new connection from A, source port sport: the backend it went to. */
static int aff_connect(__u16 sport, const struct backend *be, size_t n)
{
	struct step s = {
		.prog = FROM_POD, .dev = EP_A,
		.in = tcp(IP_A, sport, FE_IP, FE_PORT, PKT_TCP_SYN),
		.ret = TC_ACT_OK,
		.count = { SL_TO_STACK, SL_SERVICE_NEW },
	};
	struct pkt in, out;
	int err;

	err = step(&s, &in, &out);
	return err < 0 ? err : backend_of(&out, be, n);
}

static void check_aff(__u32 want_id)
{
	struct sl_affinity_val v;

	if (!CHECK(affinity_get(IP_A, SVC_ID, &v) == 0,
		   "no sl_affinity entry for A"))
		return;
	CHECK(v.backend_id == want_id, "affinity to backend %u, want %u",
	      v.backend_id, want_id);
	CHECK(v.last_used + CLOCK_SLACK >= boot_s() &&
	      v.last_used <= boot_s(),
	      "affinity last_used %u, now is %u", v.last_used, boot_s());
}

static int run_affinity(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	int first, b;

	(void)c;
	SETUP(frontend_add(&fe_aff, be_remote, nbe));
	first = aff_connect(CPORT, be_remote, nbe);
	if (!CHECK(first >= 0, "first connection went to no backend"))
		return 0;
	check_aff(be_remote[first].id);
	for (int i = 1; i < AFFINITY_FLOWS && !case_failed; i++) {
		b = aff_connect(CPORT + i, be_remote, nbe);
		CHECK(b == first, "connection %d went to backend %d, the "
		      "client's first to %d", i, b, first);
	}
	CHECK(ct_count() == 2 * AFFINITY_FLOWS, "%u sl_ct entries, want %d",
	      ct_count(), 2 * AFFINITY_FLOWS);
	return 0;
}

/*
 * An affinity entry to be_sticky, a backend no slot names: used while
 * fresh; once older than the timeout, or for a terminating backend, the
 * connection gets a backend from the slots and the entry follows it.
 */
static int affinity_to_sticky(__u32 age, __u8 sticky_flags, bool used)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	struct backend all[ARRAY_SIZE(be_remote) + 1];
	struct backend sticky = be_sticky;
	int b;

	memcpy(all, be_remote, sizeof(be_remote));
	sticky.flags = sticky_flags;
	all[nbe] = sticky;
	SETUP(frontend_add(&fe_aff, be_remote, nbe));
	SETUP(backends_put(&sticky, 1, IPPROTO_TCP));
	SETUP(affinity_put(IP_A, SVC_ID, sticky.id, boot_s() - age));
	b = aff_connect(CPORT, all, nbe + 1);
	if (used) {
		CHECK(b == (int)nbe, "went to backend %d, want the one the "
		      "client sticks to", b);
		check_aff(sticky.id);
	} else if (CHECK(b >= 0 && b < (int)nbe,
			 "went to backend %d, want one of the slots'", b)) {
		check_aff(all[b].id);
	}
	return 0;
}

static int run_affinity_fresh(const struct dp_case *c)
{
	(void)c;
	return affinity_to_sticky(AFFINITY_TIMEOUT - 60, 0, true);
}

static int run_affinity_expired(const struct dp_case *c)
{
	(void)c;
	return affinity_to_sticky(AFFINITY_TIMEOUT + 5, 0, false);
}

static int run_affinity_terminating(const struct dp_case *c)
{
	(void)c;
	return affinity_to_sticky(10, SL_BE_F_TERMINATING, false);
}

/* --- scopes and hairpin ------------------------------------------------- */

static int run_two_scopes(const struct dp_case *c)
{
	struct frontend ext = fe_tcp, in_cluster = fe_tcp;
	const struct backend *rb = &be_remote[0];
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s = TO_LOCAL_BACKEND(syn, IP_B, BE_PORT, EP_B);
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	/* eTP Local: outside traffic to R1 only, the cluster's to B. */
	ext.flags = SL_SVC_F_TWO_SCOPES | SL_SVC_F_EXTERNAL;
	in_cluster.scope = SL_SCOPE_INT;
	in_cluster.svc_id = SVC_ID + 7;
	SETUP(frontend_add(&ext, rb, 1));
	SETUP(frontend_add(&in_cluster, &be_b, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	check_ct("OUT", &ko,
		 &(struct ct_want){ .nat_daddr = IP_B, .nat_dport = BE_PORT,
				    .flags = SL_CT_F_SERVICE,
				    .backend_id = be_b.id,
				    .svc_id = in_cluster.svc_id },
		 &e);
	return 0;
}

static int run_hairpin(const struct dp_case *c)
{
	const struct backend self = { .id = 3, .addr = IP_A, .port = BE_PORT,
				      .flags = SL_BE_F_LOCAL };
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec synack = tcp(IP_A, BE_PORT, SL_HAIRPIN_IP4, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = syn,
		.out = retuple(&syn, SL_HAIRPIN_IP4, CPORT, IP_A, BE_PORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_NEW },
	};
	struct step r = {
		.prog = FROM_POD, .dev = EP_A, .in = synack,
		.out = retuple(&synack, FE_IP, FE_PORT, IP_A, CPORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_REPLY },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_key kr = ct_key(IP_A, BE_PORT, SL_HAIRPIN_IP4, CPORT,
				     IPPROTO_TCP, SL_CT_REPLY);
	const __u8 fl = SL_CT_F_SERVICE | SL_CT_F_HAIRPIN;
	struct pkt in, out, rin;
	struct sl_ct_entry e;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &self, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	check_ct("OUT", &ko,
		 &(struct ct_want){ .nat_saddr = SL_HAIRPIN_IP4,
				    .nat_daddr = IP_A, .nat_dport = BE_PORT,
				    .flags = fl, .backend_id = self.id,
				    .svc_id = SVC_ID },
		 &e);
	check_ct("REPLY", &kr,
		 &(struct ct_want){ .nat_saddr = FE_IP, .nat_sport = FE_PORT,
				    .nat_daddr = IP_A, .flags = fl,
				    .backend_id = self.id, .svc_id = SVC_ID },
		 &e);
	if (step(&r, &rin, &out) < 0)
		return 0;
	if (ct_get(&ko, &e) == 0)
		check_ct_counters("OUT", &e, 1, in.len, 1, rin.len);
	/* The next packet of the connection takes the same way. */
	s.in.tcp_flags = s.out.tcp_flags = PKT_TCP_ACK;
	s.count[1] = 0;
	step(&s, &in, &out);
	return 0;
}

/* --- TCP state and lifetimes -------------------------------------------- */

/* One segment of the A -> FE -> B connection from port sport, either way. */
static int segment(__u16 sport, bool from_client, __u8 flags, bool new)
{
	struct pkt_spec q = tcp(IP_A, sport, FE_IP, FE_PORT, flags);
	struct pkt_spec a = tcp(IP_B, BE_PORT, IP_A, sport, flags);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_PORT, EP_B);
	struct step r = {
		.prog = FROM_POD, .dev = EP_B, .in = a,
		.out = retuple(&a, FE_IP, FE_PORT, IP_A, sport),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_REPLY },
	};
	struct pkt in, out;

	if (!new)
		s.count[1] = 0;
	return step(from_client ? &s : &r, &in, &out);
}

/* The OUT entry of the connection from sport: its flags and lifetime. */
static void check_state(const char *what, __u16 sport, bool closing,
			__u32 lifetime)
{
	struct sl_ct_key ko = out_key(IP_A, sport, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e;

	if (!CHECK(ct_get(&ko, &e) == 0, "%s: no OUT entry", what))
		return;
	CHECK(!!(e.flags & SL_CT_F_CLOSING) == closing,
	      "%s: CLOSING %s, want %s", what,
	      e.flags & SL_CT_F_CLOSING ? "set" : "clear",
	      closing ? "set" : "clear");
	check_expires(what, &e, lifetime);
}

#define SEG(sport, from_client, flags, new)                                    \
	do {                                                                   \
		if (segment((sport), (from_client), (flags), (new)) < 0)       \
			return 0;                                              \
	} while (0)

static int run_tcp_state(const struct dp_case *c)
{
	const __u8 ack = PKT_TCP_ACK, fin = PKT_TCP_FIN | PKT_TCP_ACK;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	/* A handshake, data, and a close from both ends. */
	SEG(CPORT, true, PKT_TCP_SYN, true);
	check_state("after the SYN", CPORT, false, SL_CT_TIMEOUT_TCP_SYN);
	SEG(CPORT, true, PKT_TCP_SYN, false);
	check_state("after a SYN again", CPORT, false, SL_CT_TIMEOUT_TCP_SYN);
	SEG(CPORT, false, PKT_TCP_SYN | ack, false);
	check_state("after the SYN-ACK", CPORT, false, SL_CT_TIMEOUT_TCP);
	SEG(CPORT, true, ack, false);
	SEG(CPORT, false, ack | PKT_TCP_PSH, false);
	check_state("established", CPORT, false, SL_CT_TIMEOUT_TCP);
	SEG(CPORT, true, fin, false);
	check_state("after the client's FIN", CPORT, false, SL_CT_TIMEOUT_TCP);
	SEG(CPORT, false, fin, false);
	check_state("after FIN both ways", CPORT, true,
		    SL_CT_TIMEOUT_TCP_CLOSE);
	SEG(CPORT, true, ack, false);
	check_state("the last ACK", CPORT, true, SL_CT_TIMEOUT_TCP_CLOSE);

	/* A reset from the client, and one from the backend. */
	SEG(CPORT + 1, true, PKT_TCP_SYN, true);
	SEG(CPORT + 1, false, PKT_TCP_SYN | ack, false);
	SEG(CPORT + 1, true, PKT_TCP_RST, false);
	check_state("after the client's RST", CPORT + 1, true,
		    SL_CT_TIMEOUT_TCP_CLOSE);
	SEG(CPORT + 2, true, PKT_TCP_SYN, true);
	SEG(CPORT + 2, false, PKT_TCP_RST | ack, false);
	check_state("after the backend's RST", CPORT + 2, true,
		    SL_CT_TIMEOUT_TCP_CLOSE);
	return 0;
}

/*
 * A client reusing the port of a connection that closed (FIN both ways,
 * within the close timeout) opens a new connection: a new pick and a
 * fresh OUT entry, not the old one's state and close timeout, which would
 * expire it after 10 s idle and send its next packet elsewhere.
 */
static int run_tcp_port_reuse(const struct dp_case *c)
{
	const __u8 ack = PKT_TCP_ACK, fin = PKT_TCP_FIN | PKT_TCP_ACK;
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e;
	struct pkt in;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	SEG(CPORT, true, PKT_TCP_SYN, true);
	SEG(CPORT, false, PKT_TCP_SYN | ack, false);
	SEG(CPORT, true, fin, false);
	SEG(CPORT, false, fin, false);
	check_state("closed", CPORT, true, SL_CT_TIMEOUT_TCP_CLOSE);

	SEG(CPORT, true, PKT_TCP_SYN, true);
	if (check_ct("OUT of the new connection", &ko,
		     &(struct ct_want){ .nat_daddr = IP_B,
					.nat_dport = BE_PORT,
					.flags = SL_CT_F_SERVICE,
					.backend_id = be_b.id,
					.svc_id = SVC_ID },
		     &e)) {
		struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT,
					  PKT_TCP_SYN);

		frame_in(FROM_POD, EP_A, &syn, &in);
		check_ct_counters("OUT of the new connection", &e, 1, in.len,
				  0, 0);
		CHECK(e.tcp_flags[0] == PKT_TCP_SYN && e.tcp_flags[1] == 0,
		      "OUT tcp_flags 0x%02x/0x%02x, want the new SYN alone",
		      e.tcp_flags[0], e.tcp_flags[1]);
	}
	check_state("the new SYN", CPORT, false, SL_CT_TIMEOUT_TCP_SYN);
	SEG(CPORT, false, PKT_TCP_SYN | ack, false);
	check_state("the new SYN-ACK", CPORT, false, SL_CT_TIMEOUT_TCP);
	return 0;
}

/*
 * A client that closed a Service connection and, from the same port,
 * connects straight to the backend: the backend's SYN-ACK matches the old
 * REPLY entry, but belongs to the new connection, which the client's SYN
 * started under its own entry. It passes untranslated as that
 * connection's reply, and so does the rest of it.
 */
static int run_tcp_direct_reuse(const struct dp_case *c)
{
	const __u8 ack = PKT_TCP_ACK, fin = PKT_TCP_FIN | PKT_TCP_ACK;
	struct pkt_spec q = tcp(IP_A, CPORT, IP_B, BE_PORT, PKT_TCP_SYN);
	struct pkt_spec a = tcp(IP_B, BE_PORT, IP_A, CPORT, PKT_TCP_SYN | ack);
	struct pkt_spec d = tcp(IP_B, BE_PORT, IP_A, CPORT, ack | PKT_TCP_PSH);
	struct step syn = {
		.prog = FROM_POD, .dev = EP_A, .in = q, .out = q,
		.ret = TC_ACT_REDIRECT, .to = EP_B,
		.count = { SL_REDIRECT_PEER },
	};
	struct step synack = {
		.prog = FROM_POD, .dev = EP_B, .in = a, .out = a,
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER },
	};
	struct step data = {
		.prog = FROM_POD, .dev = EP_B, .in = d, .out = d,
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER },
	};
	struct sl_ct_key kd = ct_key(IP_A, CPORT, IP_B, BE_PORT, IPPROTO_TCP,
				     SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	SEG(CPORT, true, PKT_TCP_SYN, true);
	SEG(CPORT, false, PKT_TCP_SYN | ack, false);
	SEG(CPORT, true, fin, false);
	SEG(CPORT, false, fin, false);
	check_state("closed", CPORT, true, SL_CT_TIMEOUT_TCP_CLOSE);
	if (step(&syn, &in, &out) < 0 || step(&synack, &in, &out) < 0 ||
	    step(&data, &in, &out) < 0)
		return 0;
	if (CHECK(ct_get(&kd, &e) == 0, "no entry of the direct connection"))
		CHECK(e.packets[0] == 1 && e.packets[1] == 2 &&
		      !(e.flags & SL_CT_F_SERVICE),
		      "direct connection counted %llu/%llu, flags 0x%x",
		      (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1], e.flags);
	return 0;
}

/*
 * Conntrack decides an established flow's backend: an OUT entry naming
 * R2 sends the flow to R2 while it lives. Expired, it is ignored: the
 * flow gets a backend from the slots and a fresh entry.
 */
static int run_ct_expired(const struct dp_case *c)
{
	const struct backend *r2 = &be_remote[1];
	struct pkt_spec data = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_ACK);
	struct step s = TO_LOCAL_BACKEND(data, IP_B, BE_PORT, EP_B);
	struct step via_ct = {
		.prog = FROM_POD, .dev = EP_A, .in = data,
		.out = retuple(&data, IP_A, CPORT, r2->addr, r2->port),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e, old;
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	SETUP(backends_put(r2, 1, IPPROTO_TCP));
	if (step(&s, &in, &out) < 0)
		return 0;
	SETUP(ct_get(&ko, &old));
	old.nat_daddr = htonl(r2->addr);
	old.nat_dport = htons(r2->port);
	old.backend_id = r2->id;
	SETUP(ct_put(&ko, &old));
	if (step(&via_ct, &in, &out) < 0)
		return 0;

	SETUP(ct_get(&ko, &old));
	old.expires = boot_s() - 1;
	SETUP(ct_put(&ko, &old));
	if (step(&s, &in, &out) < 0)
		return 0;
	if (check_ct("OUT", &ko,
		     &(struct ct_want){ .nat_daddr = IP_B,
					.nat_dport = BE_PORT,
					.flags = SL_CT_F_SERVICE,
					.backend_id = be_b.id,
					.svc_id = SVC_ID },
		     &e)) {
		check_ct_counters("fresh OUT", &e, 1, in.len, 0, 0);
		CHECK(e.created_ns > old.created_ns,
		      "OUT created_ns %llu not renewed (was %llu)",
		      (unsigned long long)e.created_ns,
		      (unsigned long long)old.created_ns);
		/* An ACK alone opens nothing: SYN lifetime until a reply. */
		check_expires("fresh OUT", &e, SL_CT_TIMEOUT_TCP_SYN);
	}
	return 0;
}

/* --- what is not a Service ---------------------------------------------- */

static int run_not_service(const struct dp_case *c)
{
	struct pkt_spec q = tcp(IP_A, CPORT, IP_B, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec a = tcp(IP_B, FE_PORT, IP_A, CPORT,
				PKT_TCP_SYN | PKT_TCP_ACK);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q, .out = q,
		.ret = TC_ACT_REDIRECT, .to = EP_B,
		.count = { SL_REDIRECT_PEER },
	};
	struct step r = {
		.prog = FROM_POD, .dev = EP_B, .in = a, .out = a,
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER },
	};
	/* UDP to the TCP frontend's address and port: another tuple. */
	struct step u = {
		.prog = FROM_POD, .dev = EP_A,
		.in = udp(IP_A, CPORT, FE_IP, FE_PORT, false),
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	if (step(&s, &in, &out) < 0 || step(&r, &in, &out) < 0)
		return 0;
	u.out = u.in;
	if (step(&u, &in, &out) < 0)
		return 0;
	/* Tracked as what they are, connections without a Service. */
	CHECK(ct_count() == 2, "%u sl_ct entries, want one per connection",
	      ct_count());
	return 0;
}

static int run_fragment(const struct dp_case *c)
{
	struct pkt_spec frag = {
		.l3 = L3_IPV4, .saddr = IP_A, .daddr = FE_IP, .ttl = DEF_TTL,
		.l4 = 0, .frag_off = 1480 / 8,
	};
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = frag, .out = frag,
		.ret = TC_ACT_OK, .count = { SL_TO_STACK },
	};
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	step(&s, &in, &out);
	CHECK(ct_count() == 0, "%u sl_ct entries for a fragment", ct_count());
	return 0;
}

/*
 * A datagram marked TCP or UDP whose header ends early: 10 bytes of TCP
 * header (the ports and sequence number, not the flags), 4 of UDP. With
 * Ethernet padding after it the frame is long enough, the datagram not.
 */
static int run_l4_cut(const struct dp_case *c)
{
	struct pkt_spec cut = {
		.l3 = L3_IPV4, .saddr = IP_A, .daddr = FE_IP, .ttl = DEF_TTL,
		.l4 = 0, .payload = 10,
	};
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .ret = TC_ACT_SHOT,
		.count = { SL_INVALID_L4 },
	};
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	s.in = s.out = cut;
	if (step(&s, &in, &out) < 0)
		return 0;
	cut.pad = 20;
	s.in = s.out = cut;
	step(&s, &in, &out);
	return 0;
}

static void mangle_udp_proto(struct pkt *p)
{
	pkt_ipv4(p)->protocol = IPPROTO_UDP;
}

static int run_udp_cut(const struct dp_case *c)
{
	struct pkt_spec cut = {
		.l3 = L3_IPV4, .saddr = IP_A, .daddr = FE_IP, .ttl = DEF_TTL,
		.l4 = 0, .payload = 4, .mangle = mangle_udp_proto,
	};
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .ret = TC_ACT_SHOT,
		.count = { SL_INVALID_L4 },
	};
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe_udp, &be_b, 1));
	s.in = s.out = cut;
	step(&s, &in, &out);
	return 0;
}

/* --- live --------------------------------------------------------------- */

static __u16 l4_check_offset(const struct pkt *p)
{
	return pkt_ipv4(p)->protocol == IPPROTO_TCP ?
		       offsetof(struct pkt_tcphdr, check) :
		       offsetof(struct pkt_udphdr, check);
}

/*
 * Send a frame from inside pod `from` and catch it in pod `to`, with
 * sl_from_pod on both host veths, and compare it with want. A frame sent
 * partial must arrive partial, at the same offsets: the datapath's
 * rewrite must then have kept the pseudo-header sum in the check field
 * right, which the device completing it (here, the test) relies on.
 */
static int live_exchange(enum ep_id from, enum ep_id to,
			 const struct pkt_spec *send, const struct pkt *want,
			 bool partial)
{
	struct virtio_net_hdr h = { 0 };
	struct pkt in, got;
	int tx, rx, err;

	frame_in(FROM_POD, from, send, &in);
	if (partial) {
		pkt_l4_csum_partial(&in);
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (__u8 *)pkt_l4(&in) - in.data;
		h.csum_offset = l4_check_offset(&in);
	}
	tx = topo_socket_vnet(&eps[from], true);
	if (!CHECK(tx >= 0, "packet socket in %s: %s", eps[from].pod_dev,
		   strerror(-tx)))
		return tx;
	rx = topo_socket_vnet(&eps[to], true);
	if (!CHECK(rx >= 0, "packet socket in %s: %s", eps[to].pod_dev,
		   strerror(-rx))) {
		close(tx);
		return rx;
	}
	err = topo_send_vnet(tx, &in, &h);
	if (!CHECK(err == 0, "sending: %s", strerror(-err)))
		goto out;
	err = topo_recv_vnet(rx, &got, &h, LIVE_WAIT_MS);
	if (!CHECK(err == 0, "nothing reached %s: %s", eps[to].pod_dev,
		   strerror(-err)))
		goto out;
	got.l3_off = want->l3_off;
	if (partial &&
	    CHECK(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  "the frame arrived with its checksum completed (flags "
		  "0x%x): offload not exercised", h.flags) &&
	    CHECK(h.csum_start == (__u8 *)pkt_l4(want) - want->data &&
		  h.csum_offset == l4_check_offset(want),
		  "checksum to complete at %u+%u, want the L4 header's",
		  h.csum_start, h.csum_offset))
		pkt_l4_csum_offload(&got);
	CHECK(pkt_l4_csum_ok(&got), "L4 checksum not valid");
	if (CHECK(got.len == want->len, "%u bytes arrived, want %u", got.len,
		  want->len) &&
	    !CHECK(!memcmp(got.data, want->data, want->len),
		   "the frame in %s is not the one expected", eps[to].pod_dev))
		print_frame_diff(want, &got);
out:
	close(rx);
	close(tx);
	return err;
}

/* A connection's first frame each way through a live Service. */
static int live_service(const struct frontend *fe, const struct pkt_spec *q,
			const struct pkt_spec *a, bool partial)
{
	const struct backend be = { .id = 5, .addr = IP_B, .port = a->sport,
				    .flags = SL_BE_F_LOCAL };
	struct pkt_spec o = retuple(q, IP_A, q->sport, IP_B, a->sport);
	struct pkt_spec ro = retuple(a, FE_IP, fe->port, IP_A, q->sport);
	struct sl_ct_key ko = out_key(IP_A, q->sport, fe->proto, fe->port);
	struct sl_ct_entry e;
	struct pkt want;
	int err;

	SETUP(frontend_add(fe, &be, 1));
	err = live_attach(&eps[EP_A], true, false);
	if (!err)
		err = live_attach(&eps[EP_B], true, false);
	if (CHECK(err == 0, "attaching: %s", strerror(-err))) {
		build_frame(&o, eps[EP_B].pod_mac, eps[EP_B].host_mac,
			    DEF_TTL - 1, &want);
		if (live_exchange(EP_A, EP_B, q, &want, partial) == 0) {
			build_frame(&ro, eps[EP_A].pod_mac,
				    eps[EP_A].host_mac, DEF_TTL - 1, &want);
			live_exchange(EP_B, EP_A, a, &want, partial);
		}
	}
	live_detach(&eps[EP_B]);
	live_detach(&eps[EP_A]);
	if (CHECK(ct_get(&ko, &e) == 0, "no OUT entry"))
		CHECK(e.packets[0] == 1 && e.packets[1] == 1 &&
		      (e.flags & SL_CT_F_SEEN_REPLY),
		      "OUT entry: %llu/%llu packets, flags 0x%02x",
		      (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1], e.flags);
	return 0;
}

static int run_live_service(const struct dp_case *c)
{
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec a = tcp(IP_B, BE_PORT, IP_A, CPORT,
				PKT_TCP_SYN | PKT_TCP_ACK);

	(void)c;
	return live_service(&fe_tcp, &q, &a, false);
}

static int run_live_tcp_partial(const struct dp_case *c)
{
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec a = tcp(IP_B, BE_PORT, IP_A, CPORT,
				PKT_TCP_SYN | PKT_TCP_ACK);

	(void)c;
	return live_service(&fe_tcp, &q, &a, true);
}

static int run_live_udp_partial(const struct dp_case *c)
{
	struct pkt_spec q = udp(IP_A, CPORT, FE_IP, FE_UDP_PORT, false);
	struct pkt_spec a = udp(IP_B, BE_UDP_PORT, IP_A, CPORT, false);

	(void)c;
	return live_service(&fe_udp, &q, &a, true);
}

/*
 * The reset for a Service without endpoints leaves by the client's veth
 * the way the stack's packets to the pod do, through sl_to_pod, and
 * reaches the client.
 */
static int run_live_no_backend(const struct dp_case *c)
{
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	const struct test_ep *a = &eps[EP_A];
	struct pkt in, got, want;
	int fd, err;

	(void)c;
	SETUP(slots_put(&fe_tcp, NULL, 0));
	frame_in(FROM_POD, EP_A, &q, &in);
	build_reset(&want, CPORT, 0, 1 + 1 + PAYLOAD_LEN,
		    PKT_TCP_RST | PKT_TCP_ACK);
	fd = topo_socket(a, true);
	if (!CHECK(fd >= 0, "packet socket in %s: %s", a->pod_dev,
		   strerror(-fd)))
		return fd;
	err = live_attach(a, true, true);
	if (!CHECK(err == 0, "attaching: %s", strerror(-err)))
		goto out;
	err = topo_send(fd, &in);
	if (!CHECK(err == 0, "sending: %s", strerror(-err)))
		goto out;
	err = topo_recv(fd, &got, LIVE_WAIT_MS);
	if (CHECK(err == 0, "no answer reached %s: %s", a->pod_dev,
		  strerror(-err))) {
		got.l3_off = want.l3_off;
		if (CHECK(got.len == want.len, "%u bytes arrived, want %u",
			  got.len, want.len) &&
		    !CHECK(!memcmp(got.data, want.data, want.len),
			   "the answer is not the reset expected"))
			print_frame_diff(&want, &got);
	}
	wait_counted(SL_TO_POD, SL_DIR_INGRESS);
	check_metrics_set(
		(const struct metric_want[]){
			{ SL_NO_SERVICE_BACKEND, SL_DIR_EGRESS, 1, want.len },
			{ SL_TO_POD, SL_DIR_INGRESS, 1, want.len },
		},
		2);
out:
	live_detach(a);
	close(fd);
	return 0;
}

/* --- bench -------------------------------------------------------------- */

/*
 * test_run repeats on one skb, which the first run translates: later runs
 * would see the backend's address, not the frontend's. So each run is a
 * fresh skb (repeat=1), its duration what the kernel timed around the
 * program, its own clock reads included; the pod-to-pod redirect timed
 * the same way is the baseline to compare with. The median, since single
 * runs catch interrupts.
 */
static __u32 bench_ns[BENCH_REPEAT];

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int bench_fresh(const char *what, enum prog prog, enum ep_id dev,
		       const struct pkt_spec *spec, __u32 want_ret)
{
	unsigned int bad = 0;
	__u32 retval;
	__u64 total = 0;
	struct pkt in;

	frame_in(prog, dev, spec, &in);
	for (int i = 0; i < BENCH_REPEAT; i++) {
		int err = prog_run(prog, eps[dev].ifindex, &in, NULL, 1,
				   &retval, &bench_ns[i]);

		if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
			return err;
		bad += retval != want_ret;
		total += bench_ns[i];
	}
	CHECK(bad == 0, "%s: %u of %d runs returned another verdict", what,
	      bad, BENCH_REPEAT);
	qsort(bench_ns, BENCH_REPEAT, sizeof(bench_ns[0]), cmp_u32);
	printf("  info: %s: %d x repeat=1 on fresh skbs: median %u ns/run, "
	       "mean %llu\n", what, BENCH_REPEAT, bench_ns[BENCH_REPEAT / 2],
	       (unsigned long long)(total / BENCH_REPEAT));
	return 0;
}

static int run_bench(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct pkt_spec data = tcp(IP_A, CPORT, FE_IP, FE_PORT,
				   PKT_TCP_ACK | PKT_TCP_PSH);
	struct pkt_spec reply = tcp(IP_B, BE_PORT, IP_A, CPORT,
				    PKT_TCP_ACK | PKT_TCP_PSH);
	/* Another port: not the Service connection's translated tuple. */
	struct pkt_spec direct = tcp(IP_A, CPORT + 1, IP_B, BE_PORT,
				     PKT_TCP_ACK | PKT_TCP_PSH);
	struct pkt_spec direct_reply = tcp(IP_B, BE_PORT, IP_A, CPORT + 1,
					   PKT_TCP_ACK | PKT_TCP_PSH);
	struct sl_ct_key ko = out_key(IP_A, CPORT, IPPROTO_TCP, FE_PORT);
	struct sl_ct_entry e;
	struct pkt in, out;
	__u32 retval;

	(void)c;
	SETUP(frontend_add(&fe_tcp, &be_b, 1));
	frame_in(FROM_POD, EP_A, &syn, &in);
	SETUP(prog_run(FROM_POD, eps[EP_A].ifindex, &in, &out, 1, &retval,
		       NULL));
	if (bench_fresh("pod to pod, no service (baseline)", FROM_POD, EP_A,
			&direct, TC_ACT_REDIRECT) < 0 ||
	    bench_fresh("pod to pod reply, no service", FROM_POD, EP_B,
			&direct_reply, TC_ACT_REDIRECT) < 0 ||
	    bench_fresh("established service flow, A to ClusterIP", FROM_POD,
			EP_A, &data, TC_ACT_REDIRECT) < 0 ||
	    bench_fresh("service reply, backend B to A", FROM_POD, EP_B,
			&reply, TC_ACT_REDIRECT) < 0)
		return 0;
	/* Every run took the service path: counted on the one entry. */
	if (CHECK(ct_get(&ko, &e) == 0, "no OUT entry"))
		CHECK(e.packets[0] == 1 + BENCH_REPEAT &&
		      e.packets[1] == BENCH_REPEAT,
		      "OUT counted %llu/%llu packets, want %d/%d",
		      (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1], 1 + BENCH_REPEAT,
		      BENCH_REPEAT);
	CHECK(ct_count() == 3, "%u sl_ct entries, want the Service's 2 and "
	      "the direct connection's", ct_count());
	return 0;
}

/* --- Maglev ------------------------------------------------------------ */

#define MAGLEV_TABLE 5
#define MAGLEV_FLOWS 48

static const struct frontend fe_maglev = {
	.addr = FE_IP, .port = FE_PORT, .proto = IPPROTO_TCP,
	.svc_id = SVC_ID, .flags = SL_SVC_F_MAGLEV,
	.maglev_table = MAGLEV_TABLE,
};

static __u32 table[SL_MAGLEV_M];

/* The table over be_remote in an uneven pattern (entry i: backend
 * (i ^ i >> 4) % 3), or naming the id `only` everywhere when it is not 0. */
static void maglev_table(__u32 only)
{
	for (size_t i = 0; i < SL_MAGLEV_M; i++)
		table[i] = only ? only : be_remote[(i ^ (i >> 4)) % 3].id;
}

/* The entry of a connection from A, source port sport, to fe_maglev. */
static __u32 maglev_index(__u16 sport)
{
	return sl_maglev_hash4(htonl(IP_A), htonl(FE_IP), htons(sport),
			       htons(FE_PORT), IPPROTO_TCP) %
	       SL_MAGLEV_M;
}

/* The index in be_remote of a backend id, or -1. */
static int remote_of(__u32 id)
{
	for (size_t i = 0; i < ARRAY_SIZE(be_remote); i++)
		if (be_remote[i].id == id)
			return (int)i;
	return -1;
}

static int maglev_setup(const struct frontend *fe, const __u32 *lut)
{
	SETUP(maglev_clear());
	if (lut)
		SETUP(maglev_put(fe->maglev_table, lut));
	SETUP(frontend_add(fe, be_remote, ARRAY_SIZE(be_remote)));
	return 0;
}

/* New connections from many source ports: each to the backend its entry
 * names, computed here with the datapath's hash; all three reached. */
static int run_maglev_pick(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	unsigned int picked[ARRAY_SIZE(be_remote)] = { 0 };

	(void)c;
	maglev_table(0);
	if (maglev_setup(&fe_maglev, table) < 0)
		goto out;
	for (int i = 0; i < MAGLEV_FLOWS && !case_failed; i++) {
		__u16 sport = (__u16)(CPORT + i);
		int want = remote_of(table[maglev_index(sport)]);
		int b = aff_connect(sport, be_remote, nbe);
		struct sl_ct_key ko = out_key(IP_A, sport, IPPROTO_TCP,
					      FE_PORT);
		struct sl_ct_entry e;

		if (!CHECK(b >= 0, "flow %d went to no backend", i))
			break;
		CHECK(b == want, "flow from port %u (entry %u) went to "
		      "backend %d, the table says %d", sport,
		      maglev_index(sport), b, want);
		picked[b]++;
		check_ct("OUT", &ko,
			 &(struct ct_want){ .nat_daddr = be_remote[b].addr,
					    .nat_dport = be_remote[b].port,
					    .flags = SL_CT_F_SERVICE,
					    .backend_id = be_remote[b].id,
					    .svc_id = SVC_ID },
			 &e);
	}
	for (size_t b = 0; b < nbe; b++)
		CHECK(picked[b] > 0, "backend %zu never chosen", b);
out:
	maglev_clear();
	return 0;
}

/*
 * One tuple, again and again with its conntrack entries deleted in
 * between: always the table's backend (three at random would differ). The
 * agent swaps in a table naming another backend: the next connection of
 * the tuple follows it.
 */
static int run_maglev_same_tuple(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	int want, b, other;

	(void)c;
	maglev_table(0);
	if (maglev_setup(&fe_maglev, table) < 0)
		goto out;
	want = remote_of(table[maglev_index(CPORT)]);
	for (int i = 0; i < 8 && !case_failed; i++) {
		if (!CHECK(map_clear(bpf_map__fd(skel->maps.sl_ct),
				     sizeof(struct sl_ct_key)) == 0,
			   "emptying sl_ct"))
			goto out;
		b = aff_connect(CPORT, be_remote, nbe);
		CHECK(b == want, "round %d: went to backend %d, want %d", i, b,
		      want);
	}
	other = (want + 1) % (int)nbe;
	maglev_table(be_remote[other].id);
	SETUP(maglev_put(MAGLEV_TABLE, table));
	map_clear(bpf_map__fd(skel->maps.sl_ct), sizeof(struct sl_ct_key));
	b = aff_connect(CPORT, be_remote, nbe);
	CHECK(b == other, "after the table was replaced: backend %d, want %d",
	      b, other);
out:
	maglev_clear();
	return 0;
}

/* Spread over every backend, as a random pick is. */
static void maglev_spreads(const char *what)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	unsigned int picked[ARRAY_SIZE(be_remote)] = { 0 };

	for (int i = 0; i < MAGLEV_FLOWS && !case_failed; i++) {
		int b = aff_connect((__u16)(CPORT + i), be_remote, nbe);

		if (!CHECK(b >= 0, "%s: flow %d went to no backend", what, i))
			return;
		picked[b]++;
	}
	for (size_t b = 0; b < nbe; b++)
		CHECK(picked[b] > 0, "%s: backend %zu never chosen in %d "
		      "connections", what, b, MAGLEV_FLOWS);
}

/*
 * No table under the frontend's id, a table id of 0, a table naming a
 * backend that is gone: every connection still gets a backend, at random.
 */
static int run_maglev_fallback(const struct dp_case *c)
{
	struct frontend no_id = fe_maglev;

	(void)c;
	if (maglev_setup(&fe_maglev, NULL) < 0)
		goto out;
	maglev_spreads("no table");
	no_id.maglev_table = 0;
	SETUP(reset_state());
	if (maglev_setup(&no_id, NULL) < 0)
		goto out;
	maglev_spreads("table id 0");
	SETUP(reset_state());
	maglev_table(999); /* no such backend */
	if (maglev_setup(&fe_maglev, table) < 0)
		goto out;
	maglev_spreads("entries naming no backend");
	CHECK(ct_count() == 2 * MAGLEV_FLOWS, "%u sl_ct entries, want %d",
	      ct_count(), 2 * MAGLEV_FLOWS);
out:
	maglev_clear();
	return 0;
}

/* ClientIP affinity comes first; without an entry the table decides, and
 * the new entry records its pick. */
static int run_maglev_affinity(const struct dp_case *c)
{
	const size_t nbe = ARRAY_SIZE(be_remote);
	struct backend all[ARRAY_SIZE(be_remote) + 1];
	struct frontend fe = fe_maglev;
	int b, want;

	(void)c;
	maglev_table(0);
	memcpy(all, be_remote, sizeof(be_remote));
	all[nbe] = be_sticky;
	fe.flags |= SL_SVC_F_AFFINITY;
	fe.affinity_timeout = AFFINITY_TIMEOUT;
	if (maglev_setup(&fe, table) < 0)
		goto out;
	SETUP(backends_put(&be_sticky, 1, IPPROTO_TCP));
	SETUP(affinity_put(IP_A, SVC_ID, be_sticky.id, boot_s()));
	b = aff_connect(CPORT, all, nbe + 1);
	CHECK(b == (int)nbe, "went to backend %d, want the one the client "
	      "sticks to", b);
	SETUP(reset_state());
	if (maglev_setup(&fe, table) < 0)
		goto out;
	want = remote_of(table[maglev_index(CPORT + 1)]);
	b = aff_connect(CPORT + 1, all, nbe + 1);
	CHECK(b == want, "without affinity: backend %d, the table says %d", b,
	      want);
	if (b >= 0 && b < (int)nbe)
		check_aff(be_remote[b].id);
out:
	maglev_clear();
	return 0;
}

/* --- the table ---------------------------------------------------------- */

const struct dp_case lb_cases[] = {
	{
		.name = "lb_tcp_new_local_backend",
		.desc = "a SYN to a ClusterIP with one local backend: DNAT to "
			"it and redirected to its peer as pod to pod, "
			"checksums right, OUT and REPLY entries, SERVICE_NEW",
		.run = run_tcp_new_local,
	},
	{
		.name = "lb_tcp_random_spread",
		.desc = "new connections from many source ports reach every "
			"one of three backends, each with its own port",
		.run = run_tcp_spread,
	},
	{
		.name = "lb_tcp_established_same_backend",
		.desc = "the rest of a connection follows its OUT entry to the "
			"backend of its SYN: no new entries, counted on OUT",
		.run = run_tcp_established,
	},
	{
		.name = "lb_tcp_reply_local",
		.desc = "the local backend's reply, through sl_from_pod: "
			"source back to the frontend, redirected to the "
			"client, counted on OUT as a reply (SEEN_REPLY)",
		.run = run_tcp_reply_local,
	},
	{
		.name = "lb_tcp_reply_via_stack",
		.desc = "a backend on another node: the SYN goes to the stack, "
			"the reply is translated back in sl_to_pod",
		.run = run_tcp_reply_via_stack,
	},
	{
		.name = "lb_udp_csum",
		.desc = "UDP with a checksum both ways: valid after each "
			"translation",
		.run = run_udp_csum,
	},
	{
		.name = "lb_udp_no_csum",
		.desc = "UDP without a checksum (0) both ways: stays 0",
		.run = run_udp_no_csum,
	},
	{
		.name = "lb_udp_csum_mangled_0",
		.desc = "a UDP checksum the translation makes zero leaves as "
			"0xffff, never as 0 (\"none\")",
		.run = run_udp_csum_mangled_0,
	},
	{
		.name = "lb_no_backend_tcp_reset",
		.desc = "TCP to a frontend with no backends is answered with a "
			"reset from the frontend back out of the client's veth "
			"(RFC 793 seq/ack: SYN with options or data, FIN, "
			"ACK), a "
			"reset is dropped; NO_SERVICE_BACKEND and a drop event",
		.run = run_no_backend_tcp,
	},
	{
		.name = "lb_no_local_backend_drop",
		.desc = "a Local frontend whose endpoints are all on other "
			"nodes drops (NO_LOCAL_BACKEND, a drop event), no reset",
		.run = run_no_local_backend,
	},
	{
		.name = "lb_no_backend_udp_unreach",
		.desc = "UDP to a frontend with no backends is answered with "
			"an ICMP port unreachable quoting it",
		.run = run_no_backend_udp,
	},
	{
		.name = "lb_slot_inconsistent",
		.desc = "a slot naming a missing backend, and a count past "
			"the slots, drop as SERVICE_INCONSISTENT",
		.run = run_slot_inconsistent,
	},
	{
		.name = "lb_backend_removed",
		.desc = "a flow whose backend is deleted gets a new backend "
			"and OUT entry; the old backend's late packets are not "
			"taken for the new connection's replies",
		.run = run_backend_removed,
	},
	{
		.name = "lb_affinity",
		.desc = "ClientIP affinity: a client's new connections all go "
			"to the backend of its first; the entry records it",
		.run = run_affinity,
	},
	{
		.name = "lb_affinity_fresh",
		.desc = "an affinity entry within the timeout is followed, "
			"even to a backend no slot names",
		.run = run_affinity_fresh,
	},
	{
		.name = "lb_affinity_expired",
		.desc = "an affinity entry older than the timeout is ignored: "
			"a new pick from the slots, the entry follows it",
		.run = run_affinity_expired,
	},
	{
		.name = "lb_affinity_terminating",
		.desc = "affinity does not send new connections to a "
			"terminating backend",
		.run = run_affinity_terminating,
	},
	{
		.name = "lb_two_scopes",
		.desc = "a frontend with two scopes serves pods from its "
			"internal scope's backends",
		.run = run_two_scopes,
	},
	{
		.name = "lb_hairpin",
		.desc = "a pod reaching itself through a service appears to "
			"come from 169.254.42.1; its reply goes back as the "
			"frontend",
		.run = run_hairpin,
	},
	{
		.name = "lb_tcp_state",
		.desc = "OUT lifetimes: SYN, established after a reply with "
			"ACK, CLOSING after FIN both ways or a RST either way",
		.run = run_tcp_state,
	},
	{
		.name = "lb_tcp_port_reuse",
		.desc = "a SYN on the tuple of a closed connection opens a new "
			"one: SERVICE_NEW, fresh OUT entry and lifetimes, not "
			"the old CLOSING state",
		.run = run_tcp_port_reuse,
	},
	{
		.name = "lb_ct_expired",
		.desc = "a live OUT entry decides the backend; an expired one "
			"is ignored and replaced by a fresh pick",
		.run = run_ct_expired,
	},
	{
		.name = "lb_not_service",
		.desc = "pod to pod TCP, and UDP to a TCP frontend's address, "
			"pass untranslated, each tracked as a plain connection",
		.run = run_not_service,
	},
	{
		.name = "lb_tcp_direct_reuse",
		.desc = "a SYN-ACK on a closing Service connection's reply "
			"tuple is a new direct connection's: untranslated, "
			"counted as that connection's reply",
		.run = run_tcp_direct_reuse,
	},
	{
		.name = "lb_fragment_untranslated",
		.desc = "a non-first fragment to a frontend has no ports: it "
			"passes to the stack untranslated and untracked",
		.run = run_fragment,
	},
	{
		.name = "lb_tcp_header_cut",
		.desc = "a TCP header cut short, with or without Ethernet "
			"padding after it, is INVALID_L4",
		.run = run_l4_cut,
	},
	{
		.name = "lb_udp_header_cut",
		.desc = "a UDP header cut short is INVALID_L4",
		.run = run_udp_cut,
	},
	{
		.name = "lb_live_service",
		.desc = "live: a SYN to the ClusterIP arrives in the backend "
			"pod translated, its SYN-ACK in the client's as the "
			"frontend",
		.run = run_live_service,
	},
	{
		.name = "lb_live_tcp_csum_partial",
		.desc = "live: the same with the checksum left to the device "
			"(CHECKSUM_PARTIAL, as from a pod's stack): the "
			"pseudo-header sum follows both translations",
		.run = run_live_tcp_partial,
	},
	{
		.name = "lb_live_udp_csum_partial",
		.desc = "live: UDP with the checksum left to the device, both "
			"ways through the Service",
		.run = run_live_udp_partial,
	},
	{
		.name = "lb_live_no_backend_reset",
		.desc = "live: the reset for a Service without endpoints "
			"reaches the client through sl_to_pod",
		.run = run_live_no_backend,
	},
	{
		.name = "lb_bench",
		.desc = "informational ns/packet of the established service "
			"path and the reply path, against pod to pod",
		.run = run_bench,
	},
	{
		.name = "lb_maglev_pick",
		.desc = "a Maglev frontend: each new connection goes to the "
			"backend its table entry names, the entry computed "
			"with the datapath's hash of the tuple",
		.run = run_maglev_pick,
	},
	{
		.name = "lb_maglev_same_tuple",
		.desc = "Maglev: one tuple, its conntrack entries deleted "
			"between connections, always gets the same backend; a "
			"table swapped in is followed",
		.run = run_maglev_same_tuple,
	},
	{
		.name = "lb_maglev_fallback",
		.desc = "Maglev without a table, with table id 0, or with "
			"entries naming no backend: connections still get a "
			"backend, at random",
		.run = run_maglev_fallback,
	},
	{
		.name = "lb_maglev_affinity",
		.desc = "Maglev with ClientIP affinity: a fresh affinity "
			"entry wins over the table; without one, the table "
			"decides and the entry records it",
		.run = run_maglev_affinity,
	},
};

const size_t lb_cases_n = ARRAY_SIZE(lb_cases);

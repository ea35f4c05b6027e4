// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath suite: each branch of sl_from_pod and sl_to_pod that
 * forwards, drops or reports, run through BPF_PROG_TEST_RUN on a frame
 * built by pktgen, with the return code, the frame that comes out, the
 * per-reason counters and the drop events asserted (Cilium's
 * PKTGEN/SETUP/CHECK, as a table of cases with a description each like
 * Katran's test fixtures). Services and conntrack are lb_test.c's.
 *
 * A few cases cannot go through test_run: the kernel (6.18) refuses frames
 * typed IPv4 that are shorter than an IPv4 header, and builds only linear
 * skbs. Those run live: the program attached to the pod's veth for the
 * case, a frame sent through the veth with a packet socket, the counters
 * and events checked the same way and the frame caught where it must
 * arrive. A live redirect also shows the peer it went to, which test_run
 * cannot.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stdio.h>
#include <string.h>

#include <sluice/endpoint.h>
#include <sluice/ipcache.h>

#include "bpfmap.h"
#include "runner.h"

/* Enough drops to overflow sl_events (about 10900 records fit). */
#define RING_FILL_REPEAT 20000

static void mangle_version6(struct pkt *p)
{
	pkt_ipv4(p)->version = 6;
}

static void mangle_ihl4(struct pkt *p)
{
	pkt_ipv4(p)->ihl = 4;
}

/* One byte more than the frame holds after the Ethernet header. */
static void mangle_tot_len_past_frame(struct pkt *p)
{
	pkt_ipv4(p)->tot_len = htons(p->len - ETH_HLEN + 1);
}

/* One byte less than the header it sits in (ihl * 4). */
static void mangle_tot_len_in_header(struct pkt *p)
{
	struct iphdr *ip = pkt_ipv4(p);

	ip->tot_len = htons(ip->ihl * 4 - 1);
}

/* As long as a bare 20-byte header: shorter than its own options. */
static void mangle_tot_len_20(struct pkt *p)
{
	pkt_ipv4(p)->tot_len = htons(sizeof(struct iphdr));
}

static void mangle_cut_to_eth(struct pkt *p)
{
	p->len = ETH_HLEN;
}

/* Ten bytes of a twenty-byte header. */
static void mangle_cut_in_header(struct pkt *p)
{
	p->len = ETH_HLEN + 10;
}

static int run_ring_full(const struct dp_case *c);
static int run_rate_limited(const struct dp_case *c);
static int run_wake_when_filling(const struct dp_case *c);
static int run_not_pinned(const struct dp_case *c);
static int run_batch_writes(const struct dp_case *c);

#define TCP_A_TO(dst)                                                          \
	.l3 = L3_IPV4, .saddr = IP_A, .daddr = (dst), .ttl = DEF_TTL,          \
	.l4 = IPPROTO_TCP

const struct dp_case datapath_cases[] = {
	/* sl_from_pod: traffic leaving a pod */
	{
		.name = "from_pod_redirect_tcp",
		.desc = "TCP to a pod on this node: redirected to its peer, "
			"MACs rewritten, TTL decremented, checksum fixed",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B) },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B, .bench = true,
	},
	{
		.name = "from_pod_redirect_udp",
		.desc = "UDP to a pod on this node is redirected the same way",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_UDP },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_icmp",
		.desc = "an ICMP echo to a pod on this node is redirected",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_ICMP },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_reverse",
		.desc = "B to A over B's veth: the lookups are not tied to A",
		.prog = FROM_POD, .dev = EP_B,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_B, .daddr = IP_A,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_A,
	},
	{
		.name = "from_pod_redirect_ip_options",
		.desc = "ihl=6 (one word of options) is valid and redirected "
			"with the options intact",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .opt_len = 4 },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_first_fragment",
		.desc = "a first fragment (MF set, offset 0) is redirected",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .frag_off = PKT_IP_MF },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_later_fragment",
		.desc = "a last fragment at offset 1480 with no L4 header is "
			"redirected: forwarding reads only the addresses",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = 0, .frag_off = 1480 / 8 },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_eth_padding",
		.desc = "tot_len shorter than the frame (Ethernet padding) is "
			"valid; the padding travels unchanged",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .pad = 6 },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_redirect_ttl_2",
		.desc = "TTL 2, the lowest that is forwarded, leaves with "
			"TTL 1",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = 2, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B,
	},
	{
		.name = "from_pod_unknown_destination",
		.desc = "a destination not in sl_endpoints goes to the stack "
			"untouched",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_REMOTE) },
		.ret = TC_ACT_OK, .reason = SL_TO_STACK,
	},
	{
		.name = "from_pod_ttl_1_to_stack",
		.desc = "TTL 1 to a local pod goes to the stack untouched, "
			"which answers with ICMP time exceeded",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = 1, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_OK, .reason = SL_TO_STACK,
	},
	{
		.name = "from_pod_ttl_0_to_stack",
		.desc = "TTL 0 to a local pod goes to the stack untouched, "
			"not wrapped to 255",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
			 .ttl = 0, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_OK, .reason = SL_TO_STACK,
	},
	{
		.name = "from_pod_spoofed_unknown_source",
		.desc = "a source address no endpoint owns is dropped",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
	},
	{
		.name = "from_pod_spoofed_other_pod",
		.desc = "pod A sending as pod B (B's address, A's veth) is "
			"dropped",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_B, .daddr = IP_REMOTE,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
	},
	{
		.name = "from_pod_spoofed_min_frame",
		.desc = "a spoofed 60-byte frame (Ethernet minimum, padded) is "
			"dropped and captured whole: cap_len is the frame, "
			"under the 64-byte capture",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_UDP, .payload = 4,
			 .pad = 14 },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
	},
	{
		.name = "from_pod_spoofed_to_remote",
		.desc = "the source check also guards traffic to the stack, "
			"not only local redirects",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_REMOTE,
			 .ttl = DEF_TTL, .l4 = IPPROTO_UDP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
	},
	{
		.name = "from_pod_ipv6",
		.desc = "IPv6 is not supported yet: dropped as UNSUPPORTED_L3",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV6 },
		.ret = TC_ACT_SHOT, .reason = SL_UNSUPPORTED_L3,
	},
	{
		.name = "from_pod_arp",
		.desc = "ARP goes to the stack untouched",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_ARP, .saddr = IP_A, .daddr = IP_B },
		.ret = TC_ACT_OK, .reason = SL_TO_STACK,
	},
	{
		.name = "from_pod_ipv4_version_6",
		.desc = "version 6 in a frame typed IPv4 is INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_version6 },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "from_pod_ipv4_ihl_4",
		.desc = "ihl=4, shorter than the fixed header, is INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_ihl4 },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "from_pod_ipv4_tot_len_past_frame",
		.desc = "tot_len one byte longer than the frame is "
			"INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_tot_len_past_frame },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "from_pod_ipv4_tot_len_in_header",
		.desc = "tot_len one byte shorter than the header is "
			"INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_tot_len_in_header },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "from_pod_ipv4_tot_len_in_options",
		.desc = "ihl=6 with tot_len 20 ends inside the options: "
			"INVALID_IPV4 (the bound is ihl*4, not 20)",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .opt_len = 4,
			 .mangle = mangle_tot_len_20 },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "from_pod_ipv4_eth_only",
		.desc = "live: a frame typed IPv4 holding only its Ethernet "
			"header is INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_cut_to_eth },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
		.live = true,
	},
	{
		.name = "from_pod_ipv4_cut_header",
		.desc = "live: a frame ending ten bytes into the IPv4 header "
			"is INVALID_IPV4",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .mangle = mangle_cut_in_header },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
		.live = true,
	},
	{
		.name = "from_pod_live_redirect",
		.desc = "live: a frame to pod B arrives in pod B's namespace, "
			"rewritten; the redirect target is right",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B) },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B, .live = true,
	},
	{
		.name = "from_pod_live_pull_redirect",
		.desc = "live: a non-linear jumbo frame (IPv4 header outside "
			"the linear area) is pulled and redirected",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { TCP_A_TO(IP_B), .payload = JUMBO_PAYLOAD },
		.ret = TC_ACT_REDIRECT, .reason = SL_REDIRECT_PEER,
		.redirect_to = EP_B, .live = true,
	},

	/* sl_to_pod: traffic the host stack sends into a pod */
	{
		.name = "to_pod_ipv4",
		.desc = "IPv4 from the stack is delivered untouched, counted "
			"as TO_POD in the ingress direction",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL - 1, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_OK, .reason = SL_TO_POD,
	},
	{
		.name = "to_pod_arp",
		.desc = "ARP from the stack is delivered untouched",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_ARP, .saddr = IP4(169, 254, 1, 1),
			 .daddr = IP_A },
		.ret = TC_ACT_OK, .reason = SL_TO_POD,
	},
	{
		.name = "to_pod_ipv6",
		.desc = "IPv6 towards a pod is dropped as UNSUPPORTED_L3",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV6 },
		.ret = TC_ACT_SHOT, .reason = SL_UNSUPPORTED_L3,
	},
	{
		.name = "to_pod_ipv4_ihl_4",
		.desc = "a malformed header (ihl=4) towards a pod is "
			"INVALID_IPV4",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP,
			 .mangle = mangle_ihl4 },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "to_pod_ipv4_tot_len_past_frame",
		.desc = "tot_len past the frame towards a pod is INVALID_IPV4",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL, .l4 = IPPROTO_UDP,
			 .mangle = mangle_tot_len_past_frame },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
	},
	{
		.name = "to_pod_ipv4_eth_only",
		.desc = "live: an Ethernet header alone, typed IPv4, towards "
			"a pod is INVALID_IPV4 and never reaches it",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP,
			 .mangle = mangle_cut_to_eth },
		.ret = TC_ACT_SHOT, .reason = SL_INVALID_IPV4,
		.live = true,
	},
	{
		.name = "to_pod_live_ipv4",
		.desc = "live: IPv4 from the node reaches the pod untouched",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL - 1, .l4 = IPPROTO_UDP },
		.ret = TC_ACT_OK, .reason = SL_TO_POD,
		.live = true,
	},
	{
		.name = "to_pod_live_pull",
		.desc = "live: a non-linear jumbo frame towards a pod is "
			"pulled, validated and delivered untouched",
		.prog = TO_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_A,
			 .ttl = DEF_TTL - 1, .l4 = IPPROTO_TCP,
			 .payload = JUMBO_PAYLOAD },
		.ret = TC_ACT_OK, .reason = SL_TO_POD,
		.live = true,
	},

	/* Properties of the whole datapath */
	{
		.name = "drops_counted_when_ring_full",
		.desc = "with sl_events full, drops still count in sl_metrics "
			"and the ring takes events again once read",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
		.run = run_ring_full,
	},
	{
		.name = "events_rate_limited",
		.desc = "past its CPU's event budget a drop's event is shed "
			"and counted as shed; the packet counters miss nothing",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
		.run = run_rate_limited,
	},
	{
		.name = "events_wake_when_filling",
		.desc = "an event wakes no reader until the ring is a quarter "
			"full; then the reader is woken and finds them all",
		.prog = FROM_POD, .dev = EP_A,
		.pkt = { .l3 = L3_IPV4, .saddr = IP_REMOTE, .daddr = IP_B,
			 .ttl = DEF_TTL, .l4 = IPPROTO_TCP },
		.ret = TC_ACT_SHOT, .reason = SL_SPOOFED_SOURCE,
		.run = run_wake_when_filling,
	},
	{
		.name = "maps_not_pinned",
		.desc = "loading the object for tests pins nothing: no pin "
			"paths, nothing new under /sys/fs/bpf",
		.run = run_not_pinned,
	},
	{
		.name = "maps_batch_writes",
		.desc = "the agent's batch writes and deletes (over several "
			"batches, some keys absent) land in the LPM ipcache "
			"and the endpoints hash exactly",
		.run = run_batch_writes,
	},
};

const size_t datapath_cases_n = ARRAY_SIZE(datapath_cases);

#define RATE_BURST 3
#define RATE_DROPS 10

/*
 * A budget of 3 events and one a second: of 10 drops in a run, 3 are
 * reported and 7 shed, and sl_event_stats says so; sl_metrics counts 10.
 */
static int run_rate_limited(const struct dp_case *c)
{
	struct sl_event_stats_val st;
	struct pkt in;
	__u32 retval;
	int err;

	SETUP(config_set(1, RATE_BURST, 0));
	build_input(c, &in);
	err = prog_run(c->prog, eps[c->dev].ifindex, &in, NULL, RATE_DROPS,
		       &retval, NULL);
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	check_metrics(c->reason, prog_dir(c->prog), RATE_DROPS,
		      (__u64)RATE_DROPS * in.len);
	err = events_read(c->reason);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return err;
	CHECK(events.count == RATE_BURST, "%u events, want %d", events.count,
	      RATE_BURST);
	if (CHECK(event_stats_get(SL_EVENT_DROP, c->reason, &st) == 0,
		  "reading sl_event_stats"))
		CHECK(st.sent == RATE_BURST &&
		      st.shed_rate == RATE_DROPS - RATE_BURST &&
		      st.shed_full == 0,
		      "event stats sent %llu shed rate %llu full %llu, want "
		      "%d, %d, 0", (unsigned long long)st.sent,
		      (unsigned long long)st.shed_rate,
		      (unsigned long long)st.shed_full, RATE_BURST,
		      RATE_DROPS - RATE_BURST);
	return 0;
}

/*
 * Fill sl_events by not reading it, keep dropping, and the counter must
 * still see every drop. The ring holds a whole number of records, each
 * the event plus the ring's 8-byte header.
 */
/*
 * The agent reads the ring on a tick; events wake it only when the ring
 * fills past a quarter (datapath/lib/events.h). One drop wakes nobody;
 * a quarter ring's worth does, and the reader then has every event.
 */
static int run_wake_when_filling(const struct dp_case *c)
{
	const unsigned int rec = (sizeof(struct sl_drop_event) + 8 + 7) & ~7u;
	const unsigned int quarter = SL_EVENTS_BYTES / 4 / rec + 1;
	__u32 ifindex = eps[c->dev].ifindex;
	struct pkt in;
	__u32 retval;
	int err;

	SETUP(config_set(1000000000, 1u << 30, 0));
	/* An empty ring, and no wakeup left over from earlier cases. */
	SETUP(events_read_if_woken(0) >= 0 ? 0 : -EIO);
	build_input(c, &in);
	err = prog_run(c->prog, ifindex, &in, NULL, 1, &retval, NULL);
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	err = events_read_if_woken(c->reason);
	CHECK(err == 0, "one event woke the reader (%d, %u events)", err,
	      events.count);
	err = prog_run(c->prog, ifindex, &in, NULL, quarter, &retval, NULL);
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	err = events_read_if_woken(c->reason);
	CHECK(err == 1, "a quarter ring (%u events) woke no reader (%d)",
	      quarter + 1, err);
	CHECK(events.count == quarter + 1 && events.not_drop == 0 &&
	      events.wrong_size == 0,
	      "read %u events (%u other, %u wrong size), want %u",
	      events.count, events.not_drop, events.wrong_size, quarter + 1);
	return 0;
}

static int run_ring_full(const struct dp_case *c)
{
	const unsigned int rec = (sizeof(struct sl_drop_event) + 8 + 7) & ~7u;
	const unsigned int fits = SL_EVENTS_BYTES / rec;
	__u32 ifindex = eps[c->dev].ifindex;
	__u8 dir = prog_dir(c->prog);
	struct pkt in;
	__u32 retval;
	__u64 t0, t1;
	int err;

	struct sl_event_stats_val st;

	/* A budget the run cannot exhaust: the ring is what fills. */
	SETUP(config_set(1000000000, 1u << 30, 0));
	build_input(c, &in);
	err = prog_run(c->prog, ifindex, &in, NULL, RING_FILL_REPEAT, &retval,
		       NULL);
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	CHECK((int)retval == c->ret, "returned %u, want %d", retval, c->ret);
	check_metrics(c->reason, dir, RING_FILL_REPEAT,
		      (__u64)RING_FILL_REPEAT * in.len);

	err = events_read(c->reason);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return err;
	CHECK(events.count < RING_FILL_REPEAT,
	      "ring held %u events for %d drops: it never filled",
	      events.count, RING_FILL_REPEAT);
	CHECK(events.count == fits,
	      "ring held %u events, want it full at %u", events.count, fits);
	CHECK(events.wrong_size == 0 && events.not_drop == 0,
	      "%u events of the wrong size, %u not %s drops",
	      events.wrong_size, events.not_drop, reason_name(c->reason));
	/* Every event counted, sent or shed. */
	if (CHECK(event_stats_get(SL_EVENT_DROP, c->reason, &st) == 0,
		  "reading sl_event_stats"))
		CHECK(st.sent == fits && st.shed_full == RING_FILL_REPEAT - fits &&
		      st.shed_rate == 0,
		      "event stats sent %llu shed full %llu rate %llu, want "
		      "%u, %u, 0", (unsigned long long)st.sent,
		      (unsigned long long)st.shed_full,
		      (unsigned long long)st.shed_rate, fits,
		      RING_FILL_REPEAT - fits);

	/* Once read, the ring has room again: the next drop is reported. */
	t0 = now_ns();
	err = prog_run(c->prog, ifindex, &in, NULL, 1, &retval, NULL);
	t1 = now_ns();
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	check_metrics(c->reason, dir, RING_FILL_REPEAT + 1,
		      (__u64)(RING_FILL_REPEAT + 1) * in.len);
	err = events_read(c->reason);
	if (CHECK(err == 0 && events.count == 1,
		  "%u events after the ring was read, want 1", events.count))
		check_drop_event(&events.first, c->reason, dir, ifindex, &in,
				 t0, t1);
	return 0;
}

#define BATCH_TEST_N 9000

static int run_batch_writes(const struct dp_case *c)
{
	static struct sl_ipcache_key ikeys[BATCH_TEST_N];
	static struct sl_ipcache_val ivals[BATCH_TEST_N];
	static struct sl_endpoint_key ekeys[BATCH_TEST_N];
	static struct sl_endpoint evals[BATCH_TEST_N];
	int ipc = bpf_map__fd(skel->maps.sl_ipcache);
	int eps = bpf_map__fd(skel->maps.sl_endpoints);
	struct sl_ipcache_val iv;
	struct sl_endpoint ev;
	size_t done = 0;
	int err;

	(void)c;
	for (unsigned int i = 0; i < BATCH_TEST_N; i++) {
		ikeys[i] = (struct sl_ipcache_key){ .prefixlen = 32,
						    .ip4 = htonl(0x0a600000 + i) };
		ivals[i] = (struct sl_ipcache_val){ .identity = 1000 + i };
		ekeys[i] = (struct sl_endpoint_key){ .ip4 = htonl(0x0a600000 + i) };
		evals[i] = (struct sl_endpoint){ .ifindex = i + 1 };
	}
	err = sl_map_update_many(ipc, ikeys, ivals, BATCH_TEST_N,
				 sizeof(*ikeys), sizeof(*ivals), &done);
	CHECK(err == 0 && done == BATCH_TEST_N, "ipcache batch: %d, %zu done",
	      err, done);
	err = sl_map_update_many(eps, ekeys, evals, BATCH_TEST_N,
				 sizeof(*ekeys), sizeof(*evals), &done);
	CHECK(err == 0 && done == BATCH_TEST_N, "endpoints batch: %d, %zu done",
	      err, done);
	for (unsigned int i = 0; i < BATCH_TEST_N; i += 997) {
		CHECK(!bpf_map_lookup_elem(ipc, &ikeys[i], &iv) &&
		      iv.identity == 1000 + i, "ipcache entry %u", i);
		CHECK(!bpf_map_lookup_elem(eps, &ekeys[i], &ev) &&
		      ev.ifindex == i + 1, "endpoint entry %u", i);
	}
	/* Deleting what is partly gone already: every other key first. */
	for (unsigned int i = 0; i < BATCH_TEST_N; i += 2)
		bpf_map_delete_elem(eps, &ekeys[i]);
	CHECK(sl_map_delete_many(eps, ekeys, BATCH_TEST_N, sizeof(*ekeys)) == 0,
	      "endpoints delete batch with absent keys");
	CHECK(sl_map_delete_many(ipc, ikeys, BATCH_TEST_N, sizeof(*ikeys)) == 0,
	      "ipcache delete batch");
	for (unsigned int i = 0; i < BATCH_TEST_N; i += 331) {
		CHECK(bpf_map_lookup_elem(eps, &ekeys[i], &ev) && errno == ENOENT,
		      "endpoint %u still there", i);
		/* An LPM lookup answers a covering prefix; there is none. */
		CHECK(bpf_map_lookup_elem(ipc, &ikeys[i], &iv) && errno == ENOENT,
		      "ipcache %u still there", i);
	}
	/* A value the kernel refuses: the error comes back, not a success. */
	ekeys[0].ip4 = htonl(0x0a700000);
	err = sl_map_update_many(-1, ekeys, evals, 1, sizeof(*ekeys),
				 sizeof(*evals), &done);
	CHECK(err == -EBADF && done == 0, "bad fd: %d, %zu done", err, done);
	return 0;
}

static int run_not_pinned(const struct dp_case *c)
{
	static char now[sizeof(bpffs_before)];
	struct bpf_map *map;

	(void)c;
	bpf_object__for_each_map(map, skel->obj) {
		CHECK(bpf_map__pin_path(map) == NULL,
		      "map %s has pin path %s", bpf_map__name(map),
		      bpf_map__pin_path(map));
		CHECK(!bpf_map__is_pinned(map), "map %s is pinned",
		      bpf_map__name(map));
	}
	if (CHECK(bpffs_list(now) == 0, "cannot list " BPFFS))
		CHECK(strcmp(now, bpffs_before) == 0,
		      BPFFS " changed since before the load:\n%s---\n%s",
		      bpffs_before, now);
	return 0;
}

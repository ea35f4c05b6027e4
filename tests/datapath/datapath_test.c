// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath test suite: each branch of sl_from_pod and sl_to_pod, run
 * through BPF_PROG_TEST_RUN on a frame built by pktgen, with the return
 * code, the frame that comes out, the per-reason counters and the drop
 * events asserted (Cilium's PKTGEN/SETUP/CHECK, as a table of cases with a
 * description each like Katran's test fixtures).
 *
 * The suite runs in a network namespace of its own, the node, with two
 * pretend pods behind veth pairs (topo.c): test_run resolves the ifindex in
 * its context to a real device, and the anti-spoofing check compares that
 * ifindex with the one the source's endpoint was created on. The object is
 * loaded, never pinned.
 *
 * A few cases cannot go through test_run: the kernel (6.18) refuses frames
 * typed IPv4 that are shorter than an IPv4 header, and builds only linear
 * skbs. Those run live: the program attached to the pod's veth for the
 * case, a frame sent through the veth with a packet socket, the counters
 * and events checked the same way and the frame caught where it must
 * arrive. A live redirect also shows the peer it went to, which test_run
 * cannot.
 *
 *   datapath_test          run every case
 *   TEST=name datapath_test run one
 *   datapath_test -l       list the cases
 *
 * Needs root (CAP_SYS_ADMIN for the netns, CAP_BPF/CAP_NET_ADMIN for the
 * rest). Prints one PASS/FAIL line per case and a summary; exits 1 when a
 * case failed, 2 when the suite could not be set up.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <ftw.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/endpoint.h>
#include <sluice/event.h>
#include <sluice/ipcache.h>

#include "bpfmap.h"
#include "pktgen.h"
#include "reasons.h"
#include "sluice.skel.h"
#include "topo.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Host byte order IPv4 address, usable in static initialisers. */
#define IP4(a, b, c, d) ((__u32)(a) << 24 | (b) << 16 | (c) << 8 | (d))

#define DEF_TTL 64
#define PAYLOAD_LEN 32
/*
 * A frame a packet socket sends non-linear: past a page, only the Ethernet
 * header is in the linear area, so the datapath must pull the IPv4 header.
 */
#define JUMBO_PAYLOAD 5000

/* How long a live frame may take through the veth. */
#define LIVE_WAIT_MS 1000
/* How long to watch for a frame that must not arrive. */
#define LIVE_QUIET_MS 200

/* Runs for the informational timing of the local redirect. */
#define BENCH_REPEAT 100000
/* Enough drops to overflow sl_events (about 10900 records fit). */
#define RING_FILL_REPEAT 20000

static const char *reason_name(__u32 reason)
{
	const char *name = sl_reason_name(reason);

	return name ? name : "?";
}

/* --- the pretend pods ------------------------------------------------- */

#define IP_A IP4(10, 0, 0, 10)
#define IP_B IP4(10, 0, 0, 20)
/* An address no endpoint owns: another node's pod, or the outside. */
#define IP_REMOTE IP4(10, 0, 1, 99)

enum ep_id {
	EP_NONE, /* no endpoint: "not redirected" in a case */
	EP_A,
	EP_B,
	EP_MAX,
};

static struct test_ep eps[EP_MAX] = {
	[EP_A] = {
		.host_dev = "sl-a-host",
		.pod_dev = "sl-a-pod",
		.ip = IP_A,
		.pod_mac = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01 },
		.host_mac = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x02 },
		.pod_ns = -1,
	},
	[EP_B] = {
		.host_dev = "sl-b-host",
		.pod_dev = "sl-b-pod",
		.ip = IP_B,
		.pod_mac = { 0x02, 0x00, 0x00, 0x00, 0x14, 0x01 },
		.host_mac = { 0x02, 0x00, 0x00, 0x00, 0x14, 0x02 },
		.pod_ns = -1,
	},
};

/* --- the cases -------------------------------------------------------- */

enum prog { FROM_POD, TO_POD };

enum l3 {
	L3_IPV4,
	L3_IPV6,
	L3_ARP,
};

/**
 * struct pkt_spec - the frame a case sends
 * @l3: what follows the Ethernet header
 * @saddr: IPv4 source, host byte order
 * @daddr: IPv4 destination, host byte order
 * @ttl: IPv4 time to live
 * @l4: IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP; 0 for a bare payload in
 *      a datagram marked TCP (a non-first fragment has no L4 header)
 * @opt_len: bytes of IPv4 options
 * @frag_off: IPv4 flags and fragment offset, host byte order
 * @pad: Ethernet padding after the datagram (not covered by tot_len)
 * @payload: bytes after the L4 header; 0 means PAYLOAD_LEN
 * @mangle: breaks the frame once built; the IPv4 checksum is recomputed
 *          afterwards, so only the intended defect is in the header
 *
 * MACs follow the direction: from a pod, pod MAC to gateway MAC; to a pod,
 * the other way round.
 */
struct pkt_spec {
	enum l3 l3;
	__u32 saddr;
	__u32 daddr;
	__u8 ttl;
	__u8 l4;
	__u8 opt_len;
	__u16 frag_off;
	__u8 pad;
	__u16 payload;
	void (*mangle)(struct pkt *p);
};

/**
 * struct dp_case - one test: a frame, where it arrives, what must happen
 * @name: for TEST= and the report
 * @desc: what the case shows
 * @prog: the program run
 * @dev: the endpoint whose host veth the frame arrives on
 * @pkt: the frame
 * @ret: expected TC_ACT_* return
 * @reason: the drop reason or trace point that must count the frame
 * @redirect_to: endpoint the frame is rewritten for; EP_NONE means the
 *               frame must come out unchanged
 * @bench: also print the time per run (informational)
 * @live: send the frame through the veth with the program attached,
 *        rather than through test_run
 * @run: a case that is not one frame through one program
 */
struct dp_case {
	const char *name;
	const char *desc;
	enum prog prog;
	enum ep_id dev;
	struct pkt_spec pkt;
	int ret;
	__u32 reason;
	enum ep_id redirect_to;
	bool bench;
	bool live;
	int (*run)(const struct dp_case *c);
};

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
static int run_not_pinned(const struct dp_case *c);
static int run_batch_writes(const struct dp_case *c);

#define TCP_A_TO(dst)                                                          \
	.l3 = L3_IPV4, .saddr = IP_A, .daddr = (dst), .ttl = DEF_TTL,          \
	.l4 = IPPROTO_TCP

static const struct dp_case cases[] = {
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

/* --- suite state and checks ------------------------------------------- */

static struct sluice_bpf *skel;
static struct ring_buffer *ring;
static int ncpus;
/* One per-CPU value of sl_metrics, ncpus entries. */
static struct sl_metrics_val *percpu;
static bool verbose;

/* Set by check failures in the running case. */
static bool case_failed;

static void fail(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	printf("    line %d: ", line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	case_failed = true;
}

/* Record a failed expectation and go on, so a case reports all of them. */
#define CHECK(cond, ...)                                                       \
	({                                                                     \
		bool ok_ = (cond);                                             \
		if (!ok_)                                                      \
			fail(__LINE__, __VA_ARGS__);                           \
		ok_;                                                           \
	})

static __u64 now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() reads CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- building frames -------------------------------------------------- */

static void build_frame(const struct pkt_spec *s, const __u8 *dst_mac,
			const __u8 *src_mac, __u8 ttl, struct pkt *p)
{
	pkt_init(p);
	switch (s->l3) {
	case L3_IPV4:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_IP);
		pkt_put_ipv4(p, s->saddr, s->daddr,
			     s->l4 ? s->l4 : IPPROTO_TCP, ttl, s->opt_len);
		pkt_ipv4(p)->frag_off = htons(s->frag_off);
		if (s->l4 == IPPROTO_TCP)
			pkt_put_tcp(p, 40000, 80);
		else if (s->l4 == IPPROTO_UDP)
			pkt_put_udp(p, 40000, 53);
		else if (s->l4 == IPPROTO_ICMP)
			pkt_put_icmp_echo(p, 7, 1);
		pkt_put_payload(p, s->payload ? s->payload : PAYLOAD_LEN);
		pkt_ipv4_finish(p);
		pkt_put(p, s->pad);
		if (s->mangle) {
			s->mangle(p);
			pkt_ipv4_csum(p);
		}
		break;
	case L3_IPV6:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_IPV6);
		pkt_put_ipv6(p, IPPROTO_UDP, 8 + PAYLOAD_LEN);
		pkt_put_udp(p, 40000, 53);
		pkt_put_payload(p, PAYLOAD_LEN);
		break;
	case L3_ARP:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_ARP);
		pkt_put_arp_request(p, src_mac, s->saddr, s->daddr);
		break;
	}
}

/* The frame as it arrives on c->dev. */
static void build_input(const struct dp_case *c, struct pkt *p)
{
	const struct test_ep *ep = &eps[c->dev];

	if (c->prog == FROM_POD)
		build_frame(&c->pkt, ep->host_mac, ep->pod_mac, c->pkt.ttl, p);
	else
		build_frame(&c->pkt, ep->pod_mac, ep->host_mac, c->pkt.ttl, p);
}

/*
 * The frame as it must leave: built again rather than patched from the
 * input, so the expected checksum is computed from scratch.
 */
static void build_expected(const struct dp_case *c, struct pkt *p)
{
	const struct test_ep *to = &eps[c->redirect_to];

	if (c->redirect_to == EP_NONE)
		build_input(c, p);
	else
		build_frame(&c->pkt, to->pod_mac, to->host_mac,
			    c->pkt.ttl - 1, p);
}

/* --- maps ------------------------------------------------------------- */

static int endpoints_reset(void)
{
	int fd = bpf_map__fd(skel->maps.sl_endpoints);
	struct sl_endpoint_key key, next;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		if (bpf_map_delete_elem(fd, &next) < 0)
			return -errno;
	}
	for (int i = EP_NONE + 1; i < EP_MAX; i++) {
		struct sl_endpoint ep = { .ifindex = eps[i].ifindex };

		memcpy(ep.pod_mac, eps[i].pod_mac, ETH_ALEN);
		memcpy(ep.host_mac, eps[i].host_mac, ETH_ALEN);
		key.ip4 = htonl(eps[i].ip);
		if (bpf_map_update_elem(fd, &key, &ep, BPF_NOEXIST) < 0)
			return -errno;
	}
	return 0;
}

static int metrics_reset(void)
{
	int fd = bpf_map__fd(skel->maps.sl_metrics);

	memset(percpu, 0, ncpus * sizeof(*percpu));
	for (__u32 i = 0; i < SL_METRICS_MAX; i++) {
		if (bpf_map_update_elem(fd, &i, percpu, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

/* One counter summed over the CPUs, as the agent exports it. */
static int metrics_get(__u32 idx, struct sl_metrics_val *sum)
{
	int fd = bpf_map__fd(skel->maps.sl_metrics);

	if (bpf_map_lookup_elem(fd, &idx, percpu) < 0)
		return -errno;
	sum->packets = sum->bytes = 0;
	for (int cpu = 0; cpu < ncpus; cpu++) {
		sum->packets += percpu[cpu].packets;
		sum->bytes += percpu[cpu].bytes;
	}
	return 0;
}

/*
 * The counter of (reason, dir) must read packets/bytes and every other
 * counter zero: a frame is counted once, under one reason.
 */
static void check_metrics(__u32 reason, __u8 dir, __u64 packets,
			  __u64 bytes)
{
	__u32 want = sl_metrics_index(reason, dir);
	struct sl_metrics_val sum;

	for (__u32 idx = 0; idx < SL_METRICS_MAX; idx++) {
		if (!CHECK(metrics_get(idx, &sum) == 0,
			   "sl_metrics lookup %u failed", idx))
			return;
		if (idx == want) {
			CHECK(sum.packets == packets && sum.bytes == bytes,
			      "%s/dir %u: %llu packets %llu bytes, want "
			      "%llu and %llu", reason_name(reason), dir,
			      (unsigned long long)sum.packets,
			      (unsigned long long)sum.bytes,
			      (unsigned long long)packets,
			      (unsigned long long)bytes);
		} else {
			CHECK(sum.packets == 0 && sum.bytes == 0,
			      "unexpected count under %s/dir %u: %llu "
			      "packets", reason_name(idx & SL_REASON_MAX),
			      idx >> 8, (unsigned long long)sum.packets);
		}
	}
}

/* --- events ----------------------------------------------------------- */

/* What the ring held; the first record is kept whole. */
static struct {
	unsigned int count;
	unsigned int wrong_size;
	unsigned int not_drop; /* records of another type or subtype */
	__u8 want_subtype;
	struct sl_drop_event first;
} events;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sl_drop_event *ev = data;

	(void)ctx;
	if (size != sizeof(*ev)) {
		events.wrong_size++;
		return 0;
	}
	if (events.count == 0)
		events.first = *ev;
	if (ev->hdr.type != SL_EVENT_DROP ||
	    ev->hdr.subtype != events.want_subtype)
		events.not_drop++;
	events.count++;
	return 0;
}

/* Read everything the ring holds into events. */
static int events_read(__u8 want_subtype)
{
	int n;

	memset(&events, 0, sizeof(events));
	events.want_subtype = want_subtype;
	n = ring_buffer__consume(ring);
	return n < 0 ? n : 0;
}

/*
 * A drop event must describe the frame: its reason, direction, the veth,
 * the lengths, and the first bytes of the frame as it was dropped.
 */
static void check_drop_event(const struct sl_drop_event *ev, __u32 reason,
			     __u8 dir, __u32 ifindex, const struct pkt *in,
			     __u64 t0, __u64 t1)
{
	__u32 cap = in->len < SL_DROP_CAPTURE ? in->len : SL_DROP_CAPTURE;
	const struct sl_event_hdr *h = &ev->hdr;

	CHECK(h->type == SL_EVENT_DROP, "event type %u, want %u", h->type,
	      SL_EVENT_DROP);
	CHECK(h->subtype == reason, "event subtype %u (%s), want %u (%s)",
	      h->subtype, reason_name(h->subtype), reason,
	      reason_name(reason));
	CHECK(h->version == SL_EVENT_VERSION, "event version %u, want %u",
	      h->version, SL_EVENT_VERSION);
	CHECK(h->dir == dir, "event dir %u, want %u", h->dir, dir);
	CHECK(h->ifindex == ifindex, "event ifindex %u, want %u", h->ifindex,
	      ifindex);
	CHECK(h->hdr_len == sizeof(struct sl_event_hdr),
	      "event hdr_len %u, want %zu", h->hdr_len,
	      sizeof(struct sl_event_hdr));
	CHECK(h->pkt_len == in->len, "event pkt_len %u, want %u", h->pkt_len,
	      in->len);
	CHECK(h->ts_ns >= t0 && h->ts_ns <= t1,
	      "event ts_ns %llu outside the run [%llu, %llu]",
	      (unsigned long long)h->ts_ns, (unsigned long long)t0,
	      (unsigned long long)t1);
	if (CHECK(h->cap_len == cap, "event cap_len %u, want %u", h->cap_len,
		  cap))
		CHECK(memcmp(ev->data, in->data, cap) == 0,
		      "event data is not the first %u bytes of the frame",
		      cap);
}

/* --- running ---------------------------------------------------------- */

static int prog_fd(enum prog prog)
{
	return bpf_program__fd(prog == FROM_POD ? skel->progs.sl_from_pod :
						  skel->progs.sl_to_pod);
}

static __u8 prog_dir(enum prog prog)
{
	return prog == FROM_POD ? SL_DIR_EGRESS : SL_DIR_INGRESS;
}

/**
 * prog_run - run a program on a frame as if it arrived on a veth
 * @prog: which program
 * @ifindex: the device skb->ifindex names (the host veth)
 * @in: the frame
 * @out: receives the frame after the program, when not NULL
 * @repeat: runs on the same skb (so changes accumulate)
 * @retval: the program's return value
 * @duration: average ns per run, when not NULL
 *
 * Returns 0 or a negative errno from BPF_PROG_TEST_RUN.
 */
static int prog_run(enum prog prog, __u32 ifindex, const struct pkt *in,
		    struct pkt *out, __u32 repeat, __u32 *retval,
		    __u32 *duration)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	struct pkt scratch;
	struct pkt *o = out ? out : &scratch;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in->data,
		.data_size_in = in->len,
		.data_out = o->data,
		.data_size_out = sizeof(o->data),
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = repeat,
	);
	int err;

	pkt_init(o);
	err = bpf_prog_test_run_opts(prog_fd(prog), &opts);
	if (err < 0)
		return -errno;
	o->len = opts.data_size_out;
	o->l3_off = in->l3_off;
	*retval = opts.retval;
	if (duration)
		*duration = opts.duration;
	return 0;
}

static int reset_state(void)
{
	int err;

	err = endpoints_reset();
	if (!err)
		err = metrics_reset();
	/* Drain what an earlier case left in the ring. */
	if (!err)
		err = events_read(0);
	return err;
}

static void print_frame_diff(const struct pkt *want, const struct pkt *got)
{
	__u32 n = want->len < got->len ? want->len : got->len;

	for (__u32 i = 0; i < n; i++) {
		if (want->data[i] != got->data[i]) {
			printf("    first difference at byte %u: got 0x%02x, "
			       "want 0x%02x\n", i, got->data[i],
			       want->data[i]);
			return;
		}
	}
}

/*
 * What a redirected frame must look like, each property on its own so a
 * failure names it; the byte comparison that follows catches the rest.
 */
static void check_rewrite(const struct dp_case *c, const struct pkt *in,
			  struct pkt *out)
{
	const struct test_ep *to = &eps[c->redirect_to];
	const struct ethhdr *eth = (const void *)out->data;
	const struct iphdr *ip = pkt_ipv4(out);

	if (!CHECK(out->len >= ETH_HLEN + sizeof(*ip),
		   "redirected frame is %u bytes", out->len))
		return;
	CHECK(memcmp(eth->h_dest, to->pod_mac, ETH_ALEN) == 0,
	      "destination MAC is not the destination pod's");
	CHECK(memcmp(eth->h_source, to->host_mac, ETH_ALEN) == 0,
	      "source MAC is not the destination pod's gateway");
	CHECK(ip->ttl == pkt_ipv4(in)->ttl - 1, "TTL %u, want %u", ip->ttl,
	      pkt_ipv4(in)->ttl - 1);
	CHECK(ipv4_csum(ip, ip->ihl * 4) == 0,
	      "IPv4 header checksum 0x%04x is not valid", ntohs(ip->check));
}

/* How many runs of test_run on one skb still see a TTL above 1. */
#define BENCH_TTL 255
#define BENCH_BATCH (BENCH_TTL - 1)

/*
 * The informational time per run of the case's frame, two ways. test_run
 * repeats on one skb, so each run decrements the TTL the last one left:
 * with repeat=BENCH_REPEAT only the first DEF_TTL - 1 runs redirect and
 * the rest time the TTL-expired path (the redirect count says so). Fresh
 * skbs of TTL BENCH_TTL in batches of BENCH_BATCH runs time the redirect
 * path alone; the counter confirms every run redirected.
 */
static void bench_case(const struct dp_case *c)
{
	const __u32 idx = sl_metrics_index(c->reason, prog_dir(c->prog));
	const __u32 batches = (BENCH_REPEAT + BENCH_BATCH - 1) / BENCH_BATCH;
	__u32 ifindex = eps[c->dev].ifindex;
	struct dp_case fresh = *c;
	struct sl_metrics_val redir;
	__u32 retval, duration;
	const __u32 runs = batches * BENCH_BATCH;
	__u64 total = 0;
	struct pkt in;

	build_input(c, &in);
	if (reset_state() < 0 ||
	    prog_run(c->prog, ifindex, &in, NULL, BENCH_REPEAT, &retval,
		     &duration) < 0 ||
	    metrics_get(idx, &redir) < 0)
		return;
	printf("  info: %s: repeat=%d on one skb: %u ns/run (%llu of the "
	       "runs redirected, the rest TTL-expired)\n", c->name,
	       BENCH_REPEAT, duration, (unsigned long long)redir.packets);

	fresh.pkt.ttl = BENCH_TTL;
	build_input(&fresh, &in);
	if (reset_state() < 0)
		return;
	for (__u32 i = 0; i < batches; i++) {
		if (prog_run(c->prog, ifindex, &in, NULL, BENCH_BATCH, &retval,
			     &duration) < 0)
			return;
		total += (__u64)duration * BENCH_BATCH;
	}
	if (metrics_get(idx, &redir) < 0)
		return;
	printf("  info: %s: %u x repeat=%d on fresh skbs: %llu ns/run "
	       "(%llu of %u runs redirected)\n", c->name, batches,
	       BENCH_BATCH, (unsigned long long)(total / runs),
	       (unsigned long long)redir.packets, runs);
	reset_state();
}

/* A case that contradicts itself is a bug in the table. */
static bool case_consistent(const struct dp_case *c)
{
	bool drop = c->ret == TC_ACT_SHOT;

	if (drop != (c->reason <= SL_DROP_MAX) ||
	    (c->redirect_to != EP_NONE) != (c->ret == TC_ACT_REDIRECT)) {
		fail(__LINE__, "inconsistent case definition");
		return false;
	}
	return true;
}

/* The frame that came out must be the one expected, byte for byte. */
static void check_frame_out(const struct dp_case *c, const struct pkt *in,
			    struct pkt *out, const struct pkt *want)
{
	if (c->redirect_to != EP_NONE)
		check_rewrite(c, in, out);
	if (CHECK(out->len == want->len, "frame out is %u bytes, want %u",
		  out->len, want->len) &&
	    !CHECK(memcmp(out->data, want->data, want->len) == 0,
		   c->redirect_to != EP_NONE ?
			   "frame out differs from the rewritten frame" :
			   "frame out differs from the frame in"))
		print_frame_diff(want, out);
}

/*
 * The frame counted once under the case's reason, and a drop event for a
 * drop (none otherwise), emitted between t0 and t1.
 */
static void check_accounting(const struct dp_case *c, const struct pkt *in,
			     __u64 t0, __u64 t1)
{
	__u8 dir = prog_dir(c->prog);
	int err;

	check_metrics(c->reason, dir, 1, in->len);

	err = events_read(c->reason);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return;
	CHECK(events.wrong_size == 0, "%u events of the wrong size",
	      events.wrong_size);
	if (c->ret == TC_ACT_SHOT) {
		if (CHECK(events.count == 1, "%u drop events, want 1",
			  events.count))
			check_drop_event(&events.first, c->reason, dir,
					 eps[c->dev].ifindex, in, t0, t1);
	} else {
		CHECK(events.count == 0, "%u events for a frame let through",
		      events.count);
	}
}

/* One frame through one program by test_run, everything checked. */
static int run_case(const struct dp_case *c)
{
	struct pkt in, out, want;
	__u64 t0, t1;
	__u32 retval;
	int err;

	if (!case_consistent(c))
		return -EINVAL;
	build_input(c, &in);
	build_expected(c, &want);

	t0 = now_ns();
	err = prog_run(c->prog, eps[c->dev].ifindex, &in, &out, 1, &retval,
		       NULL);
	t1 = now_ns();
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;

	CHECK((int)retval == c->ret, "returned %u, want %d", retval, c->ret);
	check_frame_out(c, &in, &out, &want);
	check_accounting(c, &in, t0, t1);

	if (c->bench && !case_failed)
		bench_case(c);
	return 0;
}

/* Wait for a live frame to be counted, since the veth may defer it. */
static void wait_counted(__u32 reason, __u8 dir)
{
	struct sl_metrics_val sum;

	for (int ms = 0; ms < LIVE_WAIT_MS; ms += 10) {
		if (metrics_get(sl_metrics_index(reason, dir), &sum) == 0 &&
		    sum.packets > 0)
			return;
		usleep(10 * 1000);
	}
}

/*
 * One frame through the veth, with the program attached where the CNI
 * plugin attaches it: sl_from_pod at tc ingress of the pod's node-side
 * veth, the frame sent from inside the pod; sl_to_pod at its tc egress,
 * the frame sent by the node. The return code is not visible here, so
 * where the frame ends up stands for it: a redirect must arrive in the
 * target pod, a frame delivered to a pod must arrive there, a frame
 * dropped on its way to a pod must fail the send and not arrive.
 */
static int run_live(const struct dp_case *c)
{
	const struct test_ep *ep = &eps[c->dev];
	const struct test_ep *at = NULL;
	LIBBPF_OPTS(bpf_tc_hook, hook,
		.ifindex = ep->ifindex,
		.attach_point = c->prog == FROM_POD ? BPF_TC_INGRESS :
						      BPF_TC_EGRESS,
	);
	LIBBPF_OPTS(bpf_tc_opts, tc,
		.handle = 1,
		.priority = 1,
		.prog_fd = prog_fd(c->prog),
	);
	struct pkt in, got, want;
	int tx = -1, rx = -1, err;
	__u64 t0, t1;

	if (!case_consistent(c))
		return -EINVAL;
	build_input(c, &in);
	build_expected(c, &want);

	if (c->redirect_to != EP_NONE)
		at = &eps[c->redirect_to];
	else if (c->prog == TO_POD)
		at = ep;

	tx = topo_socket(ep, c->prog == FROM_POD);
	if (!CHECK(tx >= 0, "packet socket on %s: %s",
		   c->prog == FROM_POD ? ep->pod_dev : ep->host_dev,
		   strerror(-tx)))
		return tx;
	if (at) {
		rx = topo_socket(at, true);
		if (!CHECK(rx >= 0, "packet socket on %s: %s", at->pod_dev,
			   strerror(-rx))) {
			err = rx;
			goto out;
		}
	}

	err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err)
		err = bpf_tc_attach(&hook, &tc);
	if (!CHECK(err == 0, "attaching to %s: %s", ep->host_dev,
		   strerror(-err)))
		goto detach;

	t0 = now_ns();
	err = topo_send(tx, &in);
	if (c->prog == TO_POD && c->ret == TC_ACT_SHOT) {
		/*
		 * At tc egress the verdict reaches the sender: a drop is
		 * NET_XMIT_DROP, ENOBUFS to a packet socket.
		 */
		CHECK(err == -ENOBUFS, "sending %u bytes: %s, want the drop's "
		      "ENOBUFS", in.len, err ? strerror(-err) : "sent");
	} else if (!CHECK(err == 0, "sending %u bytes: %s", in.len,
			  strerror(-err))) {
		goto detach;
	}
	wait_counted(c->reason, prog_dir(c->prog));
	t1 = now_ns();

	if (at && c->ret == TC_ACT_SHOT) {
		err = topo_recv(rx, &got, LIVE_QUIET_MS);
		CHECK(err == -ETIMEDOUT, "a dropped frame reached %s",
		      at->pod_dev);
	} else if (at) {
		err = topo_recv(rx, &got, LIVE_WAIT_MS);
		if (CHECK(err == 0, "no frame reached %s: %s", at->pod_dev,
			  strerror(-err))) {
			got.l3_off = want.l3_off;
			check_frame_out(c, &in, &got, &want);
		}
	}
	check_accounting(c, &in, t0, t1);
	err = 0;
detach:
	/* Both directions: the clsact qdisc goes, and the program with it. */
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
out:
	if (rx >= 0)
		close(rx);
	close(tx);
	return err;
}

/*
 * Fill sl_events by not reading it, keep dropping, and the counter must
 * still see every drop. The ring holds a whole number of records, each
 * the event plus the ring's 8-byte header.
 */
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

/* --- no pins ---------------------------------------------------------- */

#define BPFFS "/sys/fs/bpf"

/* Every path under BPFFS, newline-separated, taken before the load. */
static char bpffs_before[1 << 16];
static char *bpffs_walk;
static size_t bpffs_walk_len;

static int bpffs_visit(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	size_t n = strlen(path) + 1;

	(void)st;
	(void)flag;
	(void)ftw;
	if (bpffs_walk_len + n >= sizeof(bpffs_before))
		return 1; /* too many entries to compare: report as different */
	memcpy(bpffs_walk + bpffs_walk_len, path, n - 1);
	bpffs_walk[bpffs_walk_len + n - 1] = '\n';
	bpffs_walk_len += n;
	bpffs_walk[bpffs_walk_len] = '\0';
	return 0;
}

/* List BPFFS into buf; an absent BPFFS lists as empty. */
static int bpffs_list(char *buf)
{
	int ret;

	bpffs_walk = buf;
	bpffs_walk_len = 0;
	buf[0] = '\0';
	ret = nftw(BPFFS, bpffs_visit, 16, FTW_PHYS);
	if (ret < 0 && errno == ENOENT)
		return 0;
	return ret == 0 ? 0 : -EOVERFLOW;
}

/* More than one kernel batch (4096) so the loop in bpfmap.c is covered. */
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

/* --- setup ------------------------------------------------------------ */

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's chatter only on request; its warnings always. */
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int setup(void)
{
	int err;

	err = topo_enter_netns();
	if (err < 0) {
		fprintf(stderr, "datapath_test: no network namespace of our "
			"own: %s\n", strerror(-err));
		return err;
	}
	err = topo_create(eps, EP_MAX);
	if (err < 0) {
		fprintf(stderr, "datapath_test: creating the pods: %s\n",
			strerror(-err));
		return err;
	}
	if (bpffs_list(bpffs_before) < 0) {
		fprintf(stderr, "datapath_test: cannot list " BPFFS "\n");
		return -EOVERFLOW;
	}

	libbpf_set_print(libbpf_print);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "datapath_test: cannot count CPUs\n");
		return ncpus ? ncpus : -EINVAL;
	}
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	/*
	 * Open and load only: no pin paths set, and nothing attached but
	 * what a live case attaches to its own veth for the case.
	 */
	skel = sluice_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "datapath_test: opening the object: %s\n",
			strerror(-err));
		return err;
	}
	err = sluice_bpf__load(skel);
	if (err < 0) {
		fprintf(stderr, "datapath_test: loading the object: %s\n",
			strerror(-err));
		return err;
	}
	ring = ring_buffer__new(bpf_map__fd(skel->maps.sl_events), on_event,
				NULL, NULL);
	if (!ring) {
		err = -errno;
		fprintf(stderr, "datapath_test: sl_events reader: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

static void teardown(void)
{
	ring_buffer__free(ring);
	sluice_bpf__destroy(skel);
	free(percpu);
	topo_destroy(eps, EP_MAX);
}

static const struct dp_case *find_case(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (strcmp(cases[i].name, name) == 0)
			return &cases[i];
	}
	return NULL;
}

static bool run_one(const struct dp_case *c)
{
	int err;

	case_failed = false;
	err = reset_state();
	if (err < 0)
		fail(__LINE__, "resetting the maps: %s", strerror(-err));
	else
		(c->run ? c->run : c->live ? run_live : run_case)(c);
	printf("%s %s\n", case_failed ? "FAIL" : "PASS", c->name);
	if (case_failed || verbose)
		printf("    (%s)\n", c->desc);
	fflush(stdout);
	return !case_failed;
}

int main(int argc, char **argv)
{
	const char *only = getenv("TEST");
	const struct dp_case *one = NULL;
	unsigned int passed = 0, failed = 0;

	verbose = getenv("V") && strcmp(getenv("V"), "1") == 0;
	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
			printf("%-36s %s\n", cases[i].name, cases[i].desc);
		return 0;
	}
	if (only && *only) {
		one = find_case(only);
		if (!one) {
			fprintf(stderr, "datapath_test: no case '%s' (-l lists "
				"them)\n", only);
			return 2;
		}
	}

	if (setup() < 0) {
		teardown();
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (one && one != &cases[i])
			continue;
		if (run_one(&cases[i]))
			passed++;
		else
			failed++;
	}
	teardown();

	printf("datapath: %u passed, %u failed, %u run\n", passed, failed,
	       passed + failed);
	return failed ? 1 : 0;
}

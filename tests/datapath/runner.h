/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * runner: what the datapath suites share. runner.c owns the node (its
 * namespace and pretend pods), the loaded object, the checks and main();
 * each suite file is a table of cases (datapath_test.c: forwarding, drops
 * and events; lb_test.c: Services and conntrack; icmp_test.c: ICMP errors
 * about Service connections; policy_test.c: NetworkPolicy verdicts;
 * flow_test.c: flow events; overlay_test.c: the VXLAN overlay and the
 * SNAT mark; host_route_test.c: routing between nodes past the host
 * stack) that main runs in turn, with the maps reset between cases.
 *
 * A case is either one frame through one program (struct dp_case with
 * .pkt, run by run_case() or, .live, run_live()) or a function of its own
 * (.run) built from the helpers below. Checks record a failure and go on
 * (CHECK), so a case reports everything that is wrong with it.
 */
#ifndef SL_TEST_RUNNER_H
#define SL_TEST_RUNNER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include <sluice/drop.h>
#include <sluice/event.h>

#include "pktgen.h"
#include "sluice.skel.h"
#include "topo.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Host byte order IPv4 address, usable in static initialisers. */
#define IP4(a, b, c, d) ((__u32)(a) << 24 | (b) << 16 | (c) << 8 | (d))

#define DEF_TTL 64
#define PAYLOAD_LEN 32
/* Ports of a frame whose spec leaves them 0. */
#define DEF_SPORT 40000
#define DEF_TCP_DPORT 80
#define DEF_UDP_DPORT 53
/*
 * A frame a packet socket sends non-linear: past a page, only the Ethernet
 * header is in the linear area, so the datapath must pull the IPv4 header.
 */
#define JUMBO_PAYLOAD 5000

/* How long a live frame may take through the veth. */
#define LIVE_WAIT_MS 1000
/* How long to watch for a frame that must not arrive. */
#define LIVE_QUIET_MS 200

/* Runs for the informational timings. */
#define BENCH_REPEAT 100000

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

/* The pods, in sl_endpoints before every case. */
extern struct test_ep eps[EP_MAX];

/* --- the cases -------------------------------------------------------- */

/*
 * The tc programs a case runs: the pod veth's two, the VXLAN device's two
 * (VXLAN mode, lib/overlay.h) and the node interface's ingress.
 */
enum prog { FROM_POD, TO_POD, FROM_OVERLAY, TO_OVERLAY, FROM_NETDEV };

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
 * @sport: TCP/UDP source port; 0 means DEF_SPORT
 * @dport: TCP/UDP destination port; 0 means DEF_TCP_DPORT/DEF_UDP_DPORT
 * @tcp_flags: PKT_TCP_*; 0 means PSH|ACK, an established flow's data
 * @no_l4_csum: leave the TCP/UDP checksum 0 (UDP: "no checksum"); by
 *              default it is computed, pseudo-header included
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
	__u16 sport;
	__u16 dport;
	__u8 tcp_flags;
	bool no_l4_csum;
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

/* The suites, run in this order. */
extern const struct dp_case datapath_cases[];
extern const size_t datapath_cases_n;
extern const struct dp_case lb_cases[];
extern const size_t lb_cases_n;
extern const struct dp_case icmp_cases[];
extern const size_t icmp_cases_n;
extern const struct dp_case policy_cases[];
extern const size_t policy_cases_n;
extern const struct dp_case flow_cases[];
extern const size_t flow_cases_n;
extern const struct dp_case overlay_cases[];
extern const size_t overlay_cases_n;
extern const struct dp_case host_route_cases[];
extern const size_t host_route_cases_n;

/* --- suite state and checks ------------------------------------------- */

extern struct sluice_bpf *skel;
/* V=1: libbpf's debug output, and every case's description. */
extern bool verbose;
/* Set by check failures in the running case. */
extern bool case_failed;

void fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record a failed expectation and go on, so a case reports all of them. */
#define CHECK(cond, ...)                                                       \
	({                                                                     \
		bool ok_ = (cond);                                             \
		if (!ok_)                                                      \
			fail(__FILE_NAME__, __LINE__, __VA_ARGS__);            \
		ok_;                                                           \
	})

/* A map write a case needs: on failure the case fails and returns. */
#define SETUP(expr)                                                            \
	do {                                                                   \
		int err_ = (expr);                                             \
		if (!CHECK(err_ == 0, "setting up: %s: %s", #expr,            \
			   strerror(-err_)))                                   \
			return err_;                                           \
	} while (0)

/* CLOCK_MONOTONIC in ns, what bpf_ktime_get_ns() reads. */
__u64 now_ns(void);

/* "SPOOFED_SOURCE", or "?" for a code nobody defined. */
const char *reason_name(__u32 reason);

/* --- building frames -------------------------------------------------- */

void build_frame(const struct pkt_spec *s, const __u8 *dst_mac,
		 const __u8 *src_mac, __u8 ttl, struct pkt *p);

/* The frame of c->pkt as it arrives on c->dev, for c->prog. */
void build_input(const struct dp_case *c, struct pkt *p);

/* The frame as the case says it must leave. */
void build_expected(const struct dp_case *c, struct pkt *p);

/* --- maps and counters ------------------------------------------------ */

/* Zero every sl_metrics counter. */
int metrics_reset(void);
/* Before a step: sl_metrics zeroed and the event ring read empty. */
int counters_reset(void);

/* One counter summed over the CPUs, as the agent exports it. */
int metrics_get(__u32 idx, struct sl_metrics_val *sum);

/* A counter a check expects to have moved. */
struct metric_want {
	__u32 reason;
	__u8 dir;
	__u64 packets;
	__u64 bytes;
};

/*
 * Every counter in want[] must read what it says, every other counter
 * zero: a frame is counted once under its final reason, plus the trace
 * points (SERVICE_NEW, SERVICE_REPLY) that count in addition.
 */
void check_metrics_set(const struct metric_want *want, size_t n);

/* check_metrics_set() with one counter. */
void check_metrics(__u32 reason, __u8 dir, __u64 packets, __u64 bytes);

/* --- events ----------------------------------------------------------- */

/* sl_event_stats of one (type, subtype), summed over the CPUs. */
int event_stats_get(__u8 type, __u8 subtype, struct sl_event_stats_val *sum);

/* sl_config's event budget (0: the defaults) and flags. */
int config_set(__u32 event_rate, __u32 event_burst, __u32 flags);

/* What the ring held at the last events_read(); the first record whole. */
struct event_log {
	unsigned int count; /* drop events */
	unsigned int wrong_size;
	unsigned int not_drop; /* drop records of another subtype */
	__u8 want_subtype;
	struct sl_drop_event first;
	/* Policy verdicts, kept apart: a denied frame has both kinds. */
	unsigned int verdicts;
	struct sl_policy_event verdict[2]; /* the first ones */
	/* Flow starts and closes, apart too. */
	unsigned int flows;
	struct sl_flow_event flow[2]; /* the first ones */
};

extern struct event_log events;

/* Read everything sl_events holds into events. */
int events_read(__u8 want_subtype);

/* Like events_read(), but only if the ring woke its reader (epoll says
 * it is readable): 1 when it did, 0 when not, <0 on error. */
int events_read_if_woken(__u8 want_subtype);

/*
 * A drop event must describe the frame: its reason, direction, the veth,
 * the lengths, and the first bytes of the frame as it was dropped, emitted
 * between t0 and t1.
 */
void check_drop_event(const struct sl_drop_event *ev, __u32 reason,
		      __u8 dir, __u32 ifindex, const struct pkt *in,
		      __u64 t0, __u64 t1);

/*
 * The frame counted once under reason (and nothing else), and a drop event
 * for a drop, none otherwise.
 */
void check_accounting(const struct dp_case *c, const struct pkt *in,
		      __u64 t0, __u64 t1);

/* --- running ---------------------------------------------------------- */

int prog_fd(enum prog prog);

/* The direction a program counts in. */
__u8 prog_dir(enum prog prog);

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
int prog_run(enum prog prog, __u32 ifindex, const struct pkt *in,
	     struct pkt *out, __u32 repeat, __u32 *retval, __u32 *duration);

struct __sk_buff;

/**
 * prog_run_ctx - prog_run() with the whole context, in and out
 * @ctx: in, the __sk_buff the run starts from: ifindex and what else
 *       test_run takes (mark, priority, ...), every other field zero;
 *       out, what the program left there (skb->mark written by the
 *       datapath, for one)
 *
 * The rest as prog_run().
 */
int prog_run_ctx(enum prog prog, struct __sk_buff *ctx, const struct pkt *in,
		 struct pkt *out, __u32 repeat, __u32 *retval,
		 __u32 *duration);

/*
 * Back to the state every case starts from: sl_endpoints holding the
 * pods (no identity, not isolated), the Service, conntrack, policy,
 * ipcache and tunnel maps empty, counters zero, the event ring drained,
 * sl_config's defaults (full event budget).
 */
int reset_state(void);

/* Delete every entry of a hash map; 0 or a negative errno. */
int map_clear(int fd, size_t key_size);

/* Print where two frames first differ. */
void print_frame_diff(const struct pkt *want, const struct pkt *got);

/* The frame got must be want, byte for byte; @what names it. */
void check_same_frame(const char *what, const struct pkt *want,
		      const struct pkt *got);

/*
 * The properties of a frame forwarded as a router hop, each on its own so
 * a failure names it: its MACs (@dst_what and @src_what say whose, for
 * the message), TTL one less than @in's, IPv4 checksum.
 */
void check_hop(const struct pkt *in, const struct pkt *out,
	       const __u8 *dst_mac, const char *dst_what,
	       const __u8 *src_mac, const char *src_what);

/* check_hop() of a frame redirected to pod @to: its MACs and gateway's. */
void check_redirected(enum ep_id to, const struct pkt *in,
		      const struct pkt *out);

/*
 * The programs attached to a pod's host veth where the CNI plugin attaches
 * them, for a live case: sl_from_pod at tc ingress, sl_to_pod at tc
 * egress, each when asked for. Detaching removes the clsact qdisc, and
 * every program with it.
 */
int live_attach(const struct test_ep *ep, bool from_pod, bool to_pod);
void live_detach(const struct test_ep *ep);

/* Wait for a live frame to be counted, since the veth may defer it. */
void wait_counted(__u32 reason, __u8 dir);

/* The two engines of table cases. */
int run_case(const struct dp_case *c);
int run_live(const struct dp_case *c);

/**
 * struct ostep - one frame through a program by test_run, built by the
 *                case for the device it arrives on (overlay_test.c,
 *                host_route_test.c)
 * @prog: the program run
 * @in: the frame
 * @out: how it must leave when that is not as it came (translated);
 *       ignored when out.l3 is L3_IPV4 and out.saddr is 0
 * @ret: the TC_ACT_* verdict
 * @to: the pod it is handed to (MACs, TTL), EP_NONE for none
 * @count: the reasons that must count it once in @prog's direction, and
 *         nothing else; a drop's reason first (its drop event names it)
 * @allowed: POLICY_ALLOWED counted once in each direction whose bit is
 *           set
 */
struct ostep {
	enum prog prog;
	struct pkt_spec in;
	struct pkt_spec out;
	int ret;
	enum ep_id to;
	__u32 count[3];
	__u8 allowed;
};

/**
 * ostep_run - run one step from zeroed counters and check it
 * @s: the step
 * @ctx: the context it runs with (ifindex, mark), and what the program
 *       left there
 * @in: the frame of s->in as it arrives
 * @expect: the frame that must leave when it goes to no pod; one handed
 *          to pod s->to is built here (its MACs, TTL one less)
 * @out: receives the frame that left
 *
 * Checks the verdict, the frame against one built from scratch, its
 * checksums, the counters, the drop event or its absence; events holds
 * the verdict events after. 0, or a negative errno when the step could
 * not run (a check then failed).
 */
int ostep_run(const struct ostep *s, struct __sk_buff *ctx,
	      const struct pkt *in, const struct pkt *expect,
	      struct pkt *out);

#define STEP_COUNTS_MAX 3

/**
 * struct step_counts - what one frame through a program must have left
 * @dir: the program's direction
 * @count: reasons counted once each in @dir, @count_len bytes, and no
 *         others; zero-terminated, a drop's reason first
 * @n_count: the room in @count (at most STEP_COUNTS_MAX)
 * @allowed: POLICY_ALLOWED counted once in each direction whose bit is set
 * @drop_event: one drop event naming count[0], seen on @ifindex between
 *              @t0 and @t1; otherwise no event at all
 */
struct step_counts {
	__u8 dir;
	const __u32 *count;
	size_t n_count;
	__u32 count_len;
	__u8 allowed;
	bool drop_event;
	__u32 ifindex;
	__u64 t0, t1;
};

/* The counters and events of the frame in checked against c: the end of
 * svc.c's step() and of ostep_run(). 0, or a negative errno when the
 * events could not be read. */
int step_counted(const struct step_counts *c, const struct pkt *in);

/* --- the bpffs, for maps_not_pinned ------------------------------------ */

#define BPFFS "/sys/fs/bpf"
#define BPFFS_LIST_MAX (1 << 16)

/* Every path under BPFFS, newline-separated, taken before the load. */
extern char bpffs_before[BPFFS_LIST_MAX];

/* List BPFFS into buf (BPFFS_LIST_MAX bytes); an absent BPFFS is empty. */
int bpffs_list(char *buf);

/* --- devices of the node's own, for the cases that need real ones ----- */

/* Run a shell command (ip(8)); on failure the case fails, -EIO. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An address (host byte order) in dotted quad, INET_ADDRSTRLEN bytes. */
void ip_str(__u32 addr, char *buf);

/* A MAC as ip(8) takes it, 18 bytes. */
void mac_str(const __u8 *mac, char *buf, size_t len);

/* A packet socket on a device of the node's namespace (topo_socket()). */
int node_socket(__u32 ifindex);


/* The maps as the agent writes them (runner.c). */
/* A pod's identity and endpoint flags. */
int ep_set(enum ep_id id, __u32 flags, __u32 identity);
/* One sl_policy entry: the port's first plen bits (0: any port). */
int pol_put(__u32 ep, __u8 dir, __u8 proto, __u32 identity, __u16 port,
	    __u8 plen, __u32 policy_id);
/* An address's identity in sl_ipcache (/32). */
int ipcache_put(__u32 addr, __u32 identity);
/* A node's pod CIDR, as the agent writes it from the Node object. */
int tunnel_put(__u32 cidr, __u8 plen, __u32 node);
/* The i-th verdict event of the last run: what decided, for which
 * endpoint. */
void check_verdict(unsigned int i, __u8 verdict, __u8 dir, __u32 ep,
		   __u32 remote_id, __u32 policy_id, __u8 match);

#endif /* SL_TEST_RUNNER_H */

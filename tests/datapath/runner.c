// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath test runner: the node every suite runs on, the checks the
 * suites share, and main(). See runner.h for how a case is written,
 * datapath_test.c, lb_test.c, icmp_test.c, policy_test.c, flow_test.c,
 * overlay_test.c and host_route_test.c for the cases.
 *
 * The runner moves into a network namespace of its own, the node, with two
 * pretend pods behind veth pairs (topo.c): test_run resolves the ifindex in
 * its context to a real device, and the anti-spoofing check compares that
 * ifindex with the one the source's endpoint was created on. The object is
 * loaded, never pinned.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sluice/config.h>
#include <sluice/endpoint.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>
#include <sluice/tunnel.h>

#include "reasons.h"
#include "bpfmap.h"
#include "runner.h"

const char *reason_name(__u32 reason)
{
	const char *name = sl_reason_name(reason);

	return name ? name : "?";
}

/* --- the pretend pods ------------------------------------------------- */

struct test_ep eps[EP_MAX] = {
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

/* --- suite state and checks ------------------------------------------- */

struct sluice_bpf *skel;
static struct ring_buffer *ring;
static int ncpus;
/* One per-CPU value of sl_metrics, ncpus entries. */
static struct sl_metrics_val *percpu;
bool verbose;
bool case_failed;

void fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("    %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	case_failed = true;
}

__u64 now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() reads CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- building frames -------------------------------------------------- */

void build_frame(const struct pkt_spec *s, const __u8 *dst_mac,
		 const __u8 *src_mac, __u8 ttl, struct pkt *p)
{
	__u16 sport = s->sport ? s->sport : DEF_SPORT;
	__u16 dport = s->dport;

	pkt_init(p);
	switch (s->l3) {
	case L3_IPV4:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_IP);
		pkt_put_ipv4(p, s->saddr, s->daddr,
			     s->l4 ? s->l4 : IPPROTO_TCP, ttl, s->opt_len);
		pkt_ipv4(p)->frag_off = htons(s->frag_off);
		if (s->l4 == IPPROTO_TCP) {
			struct pkt_tcphdr *tcp = (void *)(p->data + p->len);

			pkt_put_tcp(p, sport, dport ? dport : DEF_TCP_DPORT);
			if (s->tcp_flags)
				tcp->flags = s->tcp_flags;
		} else if (s->l4 == IPPROTO_UDP) {
			pkt_put_udp(p, sport, dport ? dport : DEF_UDP_DPORT);
		} else if (s->l4 == IPPROTO_ICMP) {
			pkt_put_icmp_echo(p, 7, 1);
		}
		pkt_put_payload(p, s->payload ? s->payload : PAYLOAD_LEN);
		pkt_ipv4_finish(p);
		if (!s->no_l4_csum)
			pkt_l4_csum(p);
		pkt_put(p, s->pad);
		if (s->mangle) {
			s->mangle(p);
			pkt_ipv4_csum(p);
		}
		break;
	case L3_IPV6:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_IPV6);
		pkt_put_ipv6(p, IPPROTO_UDP, 8 + PAYLOAD_LEN);
		pkt_put_udp(p, DEF_SPORT, DEF_UDP_DPORT);
		pkt_put_payload(p, PAYLOAD_LEN);
		break;
	case L3_ARP:
		pkt_put_eth(p, dst_mac, src_mac, ETH_P_ARP);
		pkt_put_arp_request(p, src_mac, s->saddr, s->daddr);
		break;
	}
}

void build_input(const struct dp_case *c, struct pkt *p)
{
	const struct test_ep *ep = &eps[c->dev];

	if (c->prog == FROM_POD)
		build_frame(&c->pkt, ep->host_mac, ep->pod_mac, c->pkt.ttl, p);
	else
		build_frame(&c->pkt, ep->pod_mac, ep->host_mac, c->pkt.ttl, p);
}

/*
 * Built again rather than patched from the input, so the expected
 * checksums are computed from scratch.
 */
void build_expected(const struct dp_case *c, struct pkt *p)
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
	struct sl_endpoint_key key;
	int err;

	err = map_clear(fd, sizeof(key));
	if (err < 0)
		return err;
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

int metrics_reset(void)
{
	int fd = bpf_map__fd(skel->maps.sl_metrics);

	memset(percpu, 0, ncpus * sizeof(*percpu));
	for (__u32 i = 0; i < SL_METRICS_MAX; i++) {
		if (bpf_map_update_elem(fd, &i, percpu, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

int counters_reset(void)
{
	int err = metrics_reset();

	return err ? err : events_read(0);
}

int metrics_get(__u32 idx, struct sl_metrics_val *sum)
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

int event_stats_get(__u8 type, __u8 subtype, struct sl_event_stats_val *sum)
{
	__u32 idx = sl_event_stats_index(type, subtype);

	memset(sum, 0, sizeof(*sum));
	return sl_map_percpu_sum(bpf_map__fd(skel->maps.sl_event_stats), &idx,
				 (__u64 *)(void *)sum,
				 sizeof(*sum) / sizeof(__u64));
}

int config_set(__u32 event_rate, __u32 event_burst, __u32 flags)
{
	struct sl_config cfg = { .event_rate = event_rate,
				 .event_burst = event_burst, .flags = flags };
	__u32 key = 0;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.sl_config), &key,
				   &cfg, BPF_ANY) < 0 ? -errno : 0;
}

/* Zero every CPU's entries of a per-CPU array. */
static int percpu_zero(struct bpf_map *map)
{
	size_t stride = (bpf_map__value_size(map) + 7) & ~(size_t)7;
	void *zero = calloc(ncpus, stride);
	int fd = bpf_map__fd(map), err = 0;

	if (!zero)
		return -ENOMEM;
	for (__u32 i = 0; !err && i < bpf_map__max_entries(map); i++)
		if (bpf_map_update_elem(fd, &i, zero, BPF_ANY) < 0)
			err = -errno;
	free(zero);
	return err;
}

void check_metrics_set(const struct metric_want *want, size_t n)
{
	struct sl_metrics_val sum;

	for (__u32 idx = 0; idx < SL_METRICS_MAX; idx++) {
		const struct metric_want *w = NULL;

		for (size_t i = 0; i < n; i++) {
			if (sl_metrics_index(want[i].reason, want[i].dir) ==
			    idx)
				w = &want[i];
		}
		if (!CHECK(metrics_get(idx, &sum) == 0,
			   "sl_metrics lookup %u failed", idx))
			return;
		if (w) {
			CHECK(sum.packets == w->packets &&
			      sum.bytes == w->bytes,
			      "%s/dir %u: %llu packets %llu bytes, want "
			      "%llu and %llu", reason_name(w->reason), w->dir,
			      (unsigned long long)sum.packets,
			      (unsigned long long)sum.bytes,
			      (unsigned long long)w->packets,
			      (unsigned long long)w->bytes);
		} else {
			CHECK(sum.packets == 0 && sum.bytes == 0,
			      "unexpected count under %s/dir %u: %llu "
			      "packets", reason_name(idx & SL_REASON_MAX),
			      idx >> 8, (unsigned long long)sum.packets);
		}
	}
}

void check_metrics(__u32 reason, __u8 dir, __u64 packets, __u64 bytes)
{
	const struct metric_want w = { reason, dir, packets, bytes };

	check_metrics_set(&w, 1);
}

/* --- events ----------------------------------------------------------- */

struct event_log events;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sl_drop_event *ev = data;
	const struct sl_policy_event *pev = data;
	const struct sl_flow_event *fev = data;

	(void)ctx;
	if (size == sizeof(*pev) && pev->hdr.type == SL_EVENT_POLICY) {
		if (events.verdicts < ARRAY_SIZE(events.verdict))
			events.verdict[events.verdicts] = *pev;
		events.verdicts++;
		return 0;
	}
	if (size == sizeof(*fev) && fev->hdr.type == SL_EVENT_FLOW) {
		if (events.flows < ARRAY_SIZE(events.flow))
			events.flow[events.flows] = *fev;
		events.flows++;
		return 0;
	}
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

int events_read(__u8 want_subtype)
{
	int n;

	memset(&events, 0, sizeof(events));
	events.want_subtype = want_subtype;
	n = ring_buffer__consume(ring);
	return n < 0 ? n : 0;
}

int events_read_if_woken(__u8 want_subtype)
{
	int n;

	memset(&events, 0, sizeof(events));
	events.want_subtype = want_subtype;
	/* ring_buffer__poll() consumes only what epoll reports readable. */
	n = ring_buffer__poll(ring, 0);
	if (n < 0)
		return n;
	return events.count > 0;
}

void check_drop_event(const struct sl_drop_event *ev, __u32 reason,
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

int prog_fd(enum prog prog)
{
	switch (prog) {
	case FROM_POD:
		return bpf_program__fd(skel->progs.sl_from_pod);
	case TO_POD:
		return bpf_program__fd(skel->progs.sl_to_pod);
	case FROM_OVERLAY:
		return bpf_program__fd(skel->progs.sl_from_overlay);
	case TO_OVERLAY:
		return bpf_program__fd(skel->progs.sl_to_overlay);
	case FROM_NETDEV:
		return bpf_program__fd(skel->progs.sl_from_netdev);
	}
	return -EINVAL;
}

/* As each entry program passes its direction to sl_finish(). */
__u8 prog_dir(enum prog prog)
{
	return prog == FROM_POD || prog == TO_OVERLAY ? SL_DIR_EGRESS :
							SL_DIR_INGRESS;
}

int prog_run(enum prog prog, __u32 ifindex, const struct pkt *in,
	     struct pkt *out, __u32 repeat, __u32 *retval, __u32 *duration)
{
	struct __sk_buff ctx = { .ifindex = ifindex };

	return prog_run_ctx(prog, &ctx, in, out, repeat, retval, duration);
}

int prog_run_ctx(enum prog prog, struct __sk_buff *ctx, const struct pkt *in,
		 struct pkt *out, __u32 repeat, __u32 *retval,
		 __u32 *duration)
{
	struct pkt scratch;
	struct pkt *o = out ? out : &scratch;
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in->data,
		.data_size_in = in->len,
		.data_out = o->data,
		.data_size_out = sizeof(o->data),
		.ctx_in = ctx,
		.ctx_size_in = sizeof(*ctx),
		.ctx_out = ctx,
		.ctx_size_out = sizeof(*ctx),
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

int map_clear(int fd, size_t key_size)
{
	__u8 key[64];

	if (key_size > sizeof(key))
		return -E2BIG;
	/* Always the first key: deleting while walking on would skip. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0) {
		if (bpf_map_delete_elem(fd, key) < 0)
			return -errno;
	}
	return errno == ENOENT ? 0 : -errno;
}

int reset_state(void)
{
	struct bpf_map *const clear[] = {
		skel->maps.sl_services,
		skel->maps.sl_backends,
		skel->maps.sl_affinity,
		skel->maps.sl_ct,
		skel->maps.sl_maglev, /* deleting an entry drops its table */
		skel->maps.sl_policy,
		skel->maps.sl_policy_cidr,
		skel->maps.sl_ipcache,
		skel->maps.sl_tunnel,
	};
	int err;

	err = endpoints_reset();
	for (size_t i = 0; !err && i < ARRAY_SIZE(clear); i++)
		err = map_clear(bpf_map__fd(clear[i]),
				bpf_map__key_size(clear[i]));
	if (!err)
		err = metrics_reset();
	/* The default event budget, a full bucket, no events counted. */
	if (!err)
		err = config_set(0, 0, 0);
	if (!err)
		err = percpu_zero(skel->maps.sl_event_bucket);
	if (!err)
		err = percpu_zero(skel->maps.sl_event_stats);
	/* Drain what an earlier case left in the ring. */
	if (!err)
		err = events_read(0);
	return err;
}

void print_frame_diff(const struct pkt *want, const struct pkt *got)
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

void check_same_frame(const char *what, const struct pkt *want,
		      const struct pkt *got)
{
	if (CHECK(got->len == want->len, "%s is %u bytes, want %u", what,
		  got->len, want->len) &&
	    !CHECK(memcmp(got->data, want->data, want->len) == 0,
		   "%s differs from the one expected", what))
		print_frame_diff(want, got);
}

void check_hop(const struct pkt *in, const struct pkt *out,
	       const __u8 *dst_mac, const char *dst_what,
	       const __u8 *src_mac, const char *src_what)
{
	const struct ethhdr *eth = (const void *)out->data;
	const struct iphdr *ip = pkt_ipv4(out);

	if (!CHECK(out->len >= ETH_HLEN + sizeof(*ip),
		   "redirected frame is %u bytes", out->len))
		return;
	CHECK(memcmp(eth->h_dest, dst_mac, ETH_ALEN) == 0,
	      "destination MAC is not %s", dst_what);
	CHECK(memcmp(eth->h_source, src_mac, ETH_ALEN) == 0,
	      "source MAC is not %s", src_what);
	CHECK(ip->ttl == pkt_ipv4(in)->ttl - 1, "TTL %u, want %u", ip->ttl,
	      pkt_ipv4(in)->ttl - 1);
	CHECK(ipv4_csum(ip, ip->ihl * 4) == 0,
	      "IPv4 header checksum 0x%04x is not valid", ntohs(ip->check));
}

void check_redirected(enum ep_id to_id, const struct pkt *in,
		      const struct pkt *out)
{
	const struct test_ep *to = &eps[to_id];

	check_hop(in, out, to->pod_mac, "the destination pod's",
		  to->host_mac, "the destination pod's gateway");
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
		fail(__FILE_NAME__, __LINE__, "inconsistent case definition");
		return false;
	}
	return true;
}

/* The frame that came out must be the one expected, byte for byte. */
static void check_frame_out(const struct dp_case *c, const struct pkt *in,
			    struct pkt *out, const struct pkt *want)
{
	if (c->redirect_to != EP_NONE)
		check_redirected(c->redirect_to, in, out);
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
void check_accounting(const struct dp_case *c, const struct pkt *in,
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
int run_case(const struct dp_case *c)
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

int ostep_run(const struct ostep *s, struct __sk_buff *ctx,
	      const struct pkt *in, const struct pkt *expect,
	      struct pkt *out)
{
	const struct pkt_spec *o = s->out.saddr ? &s->out : &s->in;
	__u8 dir = prog_dir(s->prog);
	struct pkt to_pod;
	__u32 retval;
	__u64 t0, t1;
	int err;

	err = counters_reset();
	if (!CHECK(err == 0, "resetting counters: %s", strerror(-err)))
		return err;
	if (s->to != EP_NONE) {
		build_frame(o, eps[s->to].pod_mac, eps[s->to].host_mac,
			    o->ttl - 1, &to_pod);
		expect = &to_pod;
	}

	t0 = now_ns();
	err = prog_run_ctx(s->prog, ctx, in, out, 1, &retval, NULL);
	t1 = now_ns();
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	CHECK((int)retval == s->ret, "returned %u, want %d", retval, s->ret);
	if (s->to != EP_NONE)
		check_redirected(s->to, in, out);
	if (o->l3 == L3_IPV4 && out->len >= out->l3_off + sizeof(struct iphdr))
		CHECK(ipv4_csum(pkt_ipv4(out), pkt_ipv4(out)->ihl * 4) == 0,
		      "IPv4 header checksum is not valid");
	if (o->l3 == L3_IPV4 && (o->l4 == IPPROTO_TCP || o->l4 == IPPROTO_UDP))
		CHECK(pkt_l4_csum_ok(out), "L4 checksum is not valid");
	check_same_frame("frame out", expect, out);

	return step_counted(&(struct step_counts){
				    .dir = dir, .count = s->count,
				    .n_count = ARRAY_SIZE(s->count),
				    .count_len = in->len,
				    .allowed = s->allowed,
				    .drop_event = s->ret == TC_ACT_SHOT,
				    .ifindex = ctx->ifindex, .t0 = t0, .t1 = t1 },
			    in);
}

int step_counted(const struct step_counts *c, const struct pkt *in)
{
	struct metric_want want[STEP_COUNTS_MAX + SL_DIR_MAX];
	size_t n = 0;
	int err;

	for (; n < c->n_count && n < STEP_COUNTS_MAX && c->count[n]; n++)
		want[n] = (struct metric_want){ c->count[n], c->dir, 1,
						c->count_len };
	for (__u8 d = 0; d < SL_DIR_MAX; d++)
		if (c->allowed & (1u << d))
			want[n++] = (struct metric_want){ SL_POLICY_ALLOWED, d,
							  1, in->len };
	check_metrics_set(want, n);
	err = events_read(c->count[0]);
	if (!CHECK(err == 0, "reading sl_events: %s", strerror(-err)))
		return err;
	if (c->drop_event) {
		if (CHECK(events.count == 1, "%u drop events, want 1",
			  events.count))
			check_drop_event(&events.first, c->count[0], c->dir,
					 c->ifindex, in, c->t0, c->t1);
	} else {
		CHECK(events.count == 0, "%u events for a frame let through",
		      events.count);
	}
	return 0;
}

void wait_counted(__u32 reason, __u8 dir)
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
int live_attach(const struct test_ep *ep, bool from_pod, bool to_pod)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ep->ifindex);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = 1, .priority = 1);
	int err;

	/* One clsact for both: creating it again is an error libbpf
	 * reports with the kernel's message. */
	hook.attach_point = BPF_TC_INGRESS;
	err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err && from_pod) {
		tc.prog_fd = prog_fd(FROM_POD);
		err = bpf_tc_attach(&hook, &tc);
	}
	if (!err && to_pod) {
		hook.attach_point = BPF_TC_EGRESS;
		tc.prog_fd = prog_fd(TO_POD);
		tc.prog_id = 0;
		err = bpf_tc_attach(&hook, &tc);
	}
	return err;
}

void live_detach(const struct test_ep *ep)
{
	/* Both directions: the clsact qdisc goes, and the programs with it. */
	LIBBPF_OPTS(bpf_tc_hook, hook,
		.ifindex = ep->ifindex,
		.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS,
	);

	bpf_tc_hook_destroy(&hook);
}

int run_live(const struct dp_case *c)
{
	const struct test_ep *ep = &eps[c->dev];
	const struct test_ep *at = NULL;
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

	err = live_attach(ep, c->prog == FROM_POD, c->prog == TO_POD);
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
	live_detach(ep);
out:
	if (rx >= 0)
		close(rx);
	close(tx);
	return err;
}

/* --- the bpffs, for maps_not_pinned ------------------------------------ */

char bpffs_before[BPFFS_LIST_MAX];
static char *bpffs_walk;
static size_t bpffs_walk_len;

static int bpffs_visit(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	size_t n = strlen(path) + 1;

	(void)st;
	(void)flag;
	(void)ftw;
	if (bpffs_walk_len + n >= BPFFS_LIST_MAX)
		return 1; /* too many entries to compare: report as different */
	memcpy(bpffs_walk + bpffs_walk_len, path, n - 1);
	bpffs_walk[bpffs_walk_len + n - 1] = '\n';
	bpffs_walk_len += n;
	bpffs_walk[bpffs_walk_len] = '\0';
	return 0;
}

int bpffs_list(char *buf)
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

/* --- devices of the node's own ------------------------------------------ */

int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fail(__FILE_NAME__, __LINE__, "'%s' failed", cmd);
		return -EIO;
	}
	return 0;
}

void ip_str(__u32 addr, char *buf)
{
	struct in_addr a = { .s_addr = htonl(addr) };

	inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

void mac_str(const __u8 *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

int node_socket(__u32 ifindex)
{
	const struct test_ep at = { .ifindex = ifindex };

	return topo_socket(&at, false);
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

/* The suites in the order they run; case names are unique across them. */
static const struct {
	const struct dp_case *cases;
	const size_t *n;
} suites[] = {
	{ datapath_cases, &datapath_cases_n },
	{ lb_cases, &lb_cases_n },
	{ icmp_cases, &icmp_cases_n },
	{ policy_cases, &policy_cases_n },
	{ flow_cases, &flow_cases_n },
	{ overlay_cases, &overlay_cases_n },
	{ host_route_cases, &host_route_cases_n },
};

#define for_each_case(c)                                                       \
	for (size_t s_ = 0; s_ < ARRAY_SIZE(suites); s_++)                     \
		for (const struct dp_case *c = suites[s_].cases;               \
		     c < suites[s_].cases + *suites[s_].n; c++)

static const struct dp_case *find_case(const char *name)
{
	for_each_case(c) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* Two cases of one name would make TEST= ambiguous: a bug in a table. */
static bool names_unique(void)
{
	bool ok = true;

	for_each_case(c) {
		if (find_case(c->name) != c) {
			fprintf(stderr, "datapath_test: case '%s' defined "
				"twice\n", c->name);
			ok = false;
		}
	}
	return ok;
}

static bool run_one(const struct dp_case *c)
{
	int err;

	case_failed = false;
	err = reset_state();
	if (err < 0)
		fail(__FILE_NAME__, __LINE__, "resetting the maps: %s",
		     strerror(-err));
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
	if (!names_unique())
		return 2;
	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		for_each_case(c)
			printf("%-36s %s\n", c->name, c->desc);
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
	for_each_case(c) {
		if (one && one != c)
			continue;
		if (run_one(c))
			passed++;
		else
			failed++;
	}
	teardown();

	printf("datapath: %u passed, %u failed, %u run\n", passed, failed,
	       passed + failed);
	return failed ? 1 : 0;
}

/* --- the maps as the agent writes them, and verdict checks --------------- */

/* Give a pod its identity and flags, as the agent's endpoint sync does. */
int ep_set(enum ep_id id, __u32 flags, __u32 identity)
{
	int fd = bpf_map__fd(skel->maps.sl_endpoints);
	struct sl_endpoint_key k = { .ip4 = htonl(eps[id].ip) };
	struct sl_endpoint v;

	if (bpf_map_lookup_elem(fd, &k, &v) < 0)
		return -errno;
	v.flags = flags;
	v.identity = identity;
	return bpf_map_update_elem(fd, &k, &v, BPF_EXIST) < 0 ? -errno : 0;
}

/* One sl_policy entry: the port's first plen bits (0: any port). */
int pol_put(__u32 ep, __u8 dir, __u8 proto, __u32 identity,
		   __u16 port, __u8 plen, __u32 policy_id)
{
	struct sl_policy_key k = {
		.prefixlen = SL_POLICY_FIXED_BITS + plen,
		.ep = htonl(ep),
		.dir = dir,
		.proto = proto,
		.identity = identity,
		.dport = htons(plen ? port & (0xffffu << (16 - plen)) : 0),
	};
	struct sl_policy_val v = { .policy_id = policy_id };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.sl_policy), &k, &v,
				   BPF_ANY) < 0 ? -errno : 0;
}

int ipcache_put(__u32 addr, __u32 identity)
{
	struct sl_ipcache_key k = { .prefixlen = 32, .ip4 = htonl(addr) };
	struct sl_ipcache_val v = { .identity = identity };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.sl_ipcache), &k, &v,
				   BPF_ANY) < 0 ? -errno : 0;
}

int tunnel_put(__u32 cidr, __u8 plen, __u32 node)
{
	struct sl_tunnel_key k = { .prefixlen = plen, .ip4 = htonl(cidr) };
	struct sl_tunnel_val v = { .node_ip = htonl(node) };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.sl_tunnel), &k, &v,
				   BPF_ANY) < 0 ? -errno : 0;
}

/* The i-th verdict of the last step: what decided, for which endpoint. */
void check_verdict(unsigned int i, __u8 verdict, __u8 dir, __u32 ep,
			  __u32 remote_id, __u32 policy_id, __u8 match)
{
	const struct sl_policy_event *v = &events.verdict[i];

	if (!CHECK(events.verdicts > i, "%u verdict events, want verdict %u",
		   events.verdicts, i + 1))
		return;
	CHECK(v->hdr.subtype == verdict && v->hdr.dir == dir &&
	      v->hdr.version == SL_EVENT_VERSION &&
	      v->hdr.hdr_len == sizeof(*v),
	      "verdict %u: subtype %u dir %u, want %u and %u", i,
	      v->hdr.subtype, v->hdr.dir, verdict, dir);
	CHECK(v->ep == htonl(ep), "verdict %u: endpoint %08x, want %08x", i,
	      ntohl(v->ep), ep);
	CHECK(v->remote_id == remote_id && v->policy_id == policy_id &&
	      v->match == match,
	      "verdict %u: remote %u policy %u match %u, want %u, %u, %u", i,
	      v->remote_id, v->policy_id, v->match, remote_id, policy_id,
	      match);
}

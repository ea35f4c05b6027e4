// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The helpers of the Service cases; see svc.h. */
#include "svc.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <time.h>
#include <unistd.h>

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

int backends_put(const struct backend *be, size_t n, __u8 proto)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_backend v = {
			.addr = htonl(be[i].addr),
			.port = htons(be[i].port),
			.proto = proto,
			.flags = be[i].flags,
		};

		if (bpf_map_update_elem(map_fd(skel->maps.sl_backends),
					&be[i].id, &v, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

struct sl_service_key svc_key(const struct frontend *fe, __u16 slot)
{
	return (struct sl_service_key){
		.addr = htonl(fe->addr),
		.port = htons(fe->port),
		.proto = fe->proto,
		.scope = fe->scope,
		.slot = slot,
	};
}

/* Slots 1..n naming ids[], then the frontend with count n. */
int slots_put(const struct frontend *fe, const __u32 *ids, __u16 n)
{
	int fd = map_fd(skel->maps.sl_services);
	struct sl_service_key k;
	struct sl_service_val v;

	for (__u16 i = 0; i < n; i++) {
		k = svc_key(fe, i + 1);
		v = (struct sl_service_val){ .backend_id = ids[i],
					     .svc_id = fe->svc_id };
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0)
			return -errno;
	}
	k = svc_key(fe, 0);
	v = (struct sl_service_val){
		.backend_id = fe->maglev_table,
		.svc_id = fe->svc_id,
		.count = n,
		.flags = fe->flags,
		.affinity_timeout = fe->affinity_timeout,
	};
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) < 0 ? -errno : 0;
}

/* A frontend with n backends, written in the agent's order. */
int frontend_add(const struct frontend *fe, const struct backend *be,
			__u16 n)
{
	__u32 ids[64];
	int err;

	if (n > ARRAY_SIZE(ids))
		return -E2BIG;
	for (__u16 i = 0; i < n; i++)
		ids[i] = be[i].id;
	err = backends_put(be, n, fe->proto);
	return err ? err : slots_put(fe, ids, n);
}

int slot_del(const struct frontend *fe, __u16 slot)
{
	struct sl_service_key k = svc_key(fe, slot);

	return bpf_map_delete_elem(map_fd(skel->maps.sl_services), &k) < 0 ?
		       -errno : 0;
}

int backend_del(__u32 id)
{
	return bpf_map_delete_elem(map_fd(skel->maps.sl_backends), &id) < 0 ?
		       -errno : 0;
}

int maglev_put(__u32 id, const __u32 *table)
{
	__u32 zero = 0;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev_lut", sizeof(zero),
			    sizeof(struct sl_maglev_table), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, table, BPF_ANY) < 0 ||
	    bpf_map_update_elem(map_fd(skel->maps.sl_maglev), &id, &fd,
				BPF_ANY) < 0)
		err = -errno;
	close(fd);
	return err;
}

int maglev_del(__u32 id)
{
	return bpf_map_delete_elem(map_fd(skel->maps.sl_maglev), &id) < 0 ?
		       -errno : 0;
}

int maglev_clear(void)
{
	return map_clear(map_fd(skel->maps.sl_maglev), sizeof(__u32));
}

int affinity_get(__u32 client, __u32 svc_id, struct sl_affinity_val *v)
{
	struct sl_affinity_key k = { .client = htonl(client),
				     .svc_id = svc_id };

	return bpf_map_lookup_elem(map_fd(skel->maps.sl_affinity), &k, v) < 0 ?
		       -errno : 0;
}

int affinity_put(__u32 client, __u32 svc_id, __u32 backend_id,
		 __u32 last_used)
{
	struct sl_affinity_key k = { .client = htonl(client),
				     .svc_id = svc_id };
	struct sl_affinity_val v = { .backend_id = backend_id,
				     .last_used = last_used };

	return bpf_map_update_elem(map_fd(skel->maps.sl_affinity), &k, &v,
				   BPF_ANY) < 0 ?
		       -errno : 0;
}

struct sl_ct_key ct_key(__u32 saddr, __u16 sport, __u32 daddr,
			       __u16 dport, __u8 proto, __u8 dir)
{
	return (struct sl_ct_key){
		.saddr = htonl(saddr),
		.daddr = htonl(daddr),
		.sport = htons(sport),
		.dport = htons(dport),
		.proto = proto,
		.dir = dir,
	};
}

int ct_get(const struct sl_ct_key *k, struct sl_ct_entry *e)
{
	return bpf_map_lookup_elem(map_fd(skel->maps.sl_ct), k, e) < 0 ?
		       -errno : 0;
}

int ct_put(const struct sl_ct_key *k, const struct sl_ct_entry *e)
{
	return bpf_map_update_elem(map_fd(skel->maps.sl_ct), k, e, BPF_EXIST) <
			       0 ?
		       -errno : 0;
}

unsigned int ct_count(void)
{
	int fd = map_fd(skel->maps.sl_ct);
	struct sl_ct_key k, next;
	unsigned int n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}


/* Look the entry up into *e and check what w says of it. */
bool check_ct(const char *what, const struct sl_ct_key *k,
		     const struct ct_want *w, struct sl_ct_entry *e)
{
	if (!CHECK(ct_get(k, e) == 0, "%s: no sl_ct entry", what)) {
		memset(e, 0, sizeof(*e));
		return false;
	}
	CHECK(e->nat_saddr == htonl(w->nat_saddr) &&
	      e->nat_daddr == htonl(w->nat_daddr),
	      "%s: nat_saddr %08x nat_daddr %08x, want %08x %08x", what,
	      ntohl(e->nat_saddr), ntohl(e->nat_daddr), w->nat_saddr,
	      w->nat_daddr);
	CHECK(e->nat_sport == htons(w->nat_sport) &&
	      e->nat_dport == htons(w->nat_dport),
	      "%s: nat_sport %u nat_dport %u, want %u %u", what,
	      ntohs(e->nat_sport), ntohs(e->nat_dport), w->nat_sport,
	      w->nat_dport);
	CHECK(e->flags == w->flags, "%s: flags 0x%02x, want 0x%02x", what,
	      e->flags, w->flags);
	CHECK(e->backend_id == w->backend_id && e->svc_id == w->svc_id,
	      "%s: backend %u svc %u, want %u %u", what, e->backend_id,
	      e->svc_id, w->backend_id, w->svc_id);
	return true;
}

void check_ct_counters(const char *what, const struct sl_ct_entry *e,
			      __u64 p0, __u64 b0, __u64 p1, __u64 b1)
{
	CHECK(e->packets[0] == p0 && e->bytes[0] == b0 &&
	      e->packets[1] == p1 && e->bytes[1] == b1,
	      "%s: packets %llu/%llu bytes %llu/%llu, want %llu/%llu "
	      "%llu/%llu", what, (unsigned long long)e->packets[0],
	      (unsigned long long)e->packets[1],
	      (unsigned long long)e->bytes[0],
	      (unsigned long long)e->bytes[1], (unsigned long long)p0,
	      (unsigned long long)p1, (unsigned long long)b0,
	      (unsigned long long)b1);
}

/* CLOCK_BOOTTIME, what ct_now() and the entries' times read. */
__u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__u32 boot_s(void)
{
	return (__u32)(boot_ns() / 1000000000ull);
}

void check_expires(const char *what, const struct sl_ct_entry *e,
			  __u32 lifetime)
{
	__s64 off = (__s64)e->expires - (__s64)(boot_s() + lifetime);

	CHECK(off >= -CLOCK_SLACK && off <= CLOCK_SLACK,
	      "%s: expires in %lld s, want %u s", what,
	      (long long)((__s64)e->expires - boot_s()), lifetime);
}

/* --- frames ------------------------------------------------------------ */

struct pkt_spec tcp(__u32 saddr, __u16 sport, __u32 daddr,
			   __u16 dport, __u8 flags)
{
	return (struct pkt_spec){
		.l3 = L3_IPV4, .saddr = saddr, .daddr = daddr,
		.ttl = DEF_TTL, .l4 = IPPROTO_TCP,
		.sport = sport, .dport = dport, .tcp_flags = flags,
	};
}

struct pkt_spec udp(__u32 saddr, __u16 sport, __u32 daddr,
			   __u16 dport, bool no_csum)
{
	return (struct pkt_spec){
		.l3 = L3_IPV4, .saddr = saddr, .daddr = daddr,
		.ttl = DEF_TTL, .l4 = IPPROTO_UDP,
		.sport = sport, .dport = dport, .no_l4_csum = no_csum,
	};
}

/* The same frame with another tuple: how a translated one must leave. */
struct pkt_spec retuple(const struct pkt_spec *s, __u32 saddr,
			       __u16 sport, __u32 daddr, __u16 dport)
{
	struct pkt_spec r = *s;

	r.saddr = saddr;
	r.sport = sport;
	r.daddr = daddr;
	r.dport = dport;
	return r;
}

/* The frame of s as it arrives on dev's host veth for prog. */
void frame_in(enum prog prog, enum ep_id dev, const struct pkt_spec *s,
		     struct pkt *p)
{
	const struct dp_case c = { .prog = prog, .dev = dev, .pkt = *s };

	build_input(&c, p);
}

__u16 frame_l4_check(const struct pkt *p)
{
	const struct iphdr *ip = pkt_ipv4(p);
	const __u8 *l4 = pkt_l4(p);

	if (!l4)
		return 0;
	if (ip->protocol == IPPROTO_TCP)
		return ntohs(((const struct pkt_tcphdr *)l4)->check);
	return ntohs(((const struct pkt_udphdr *)l4)->check);
}

/* Where a frame that came out goes: destination address and port. */
void frame_dst(const struct pkt *p, __u32 *addr, __u16 *port)
{
	const struct pkt_udphdr *l4 = pkt_l4(p); /* ports alike in TCP */

	*addr = ntohl(pkt_ipv4(p)->daddr);
	*port = l4 ? ntohs(l4->dest) : 0;
}


/* Run one step from zeroed counters and check it; out gets the frame. */
int step(const struct step *s, struct pkt *in, struct pkt *out)
{
	__u8 dir = prog_dir(s->prog);
	struct pkt expect;
	__u32 retval;
	__u64 t0, t1;
	int err;

	err = counters_reset();
	if (!CHECK(err == 0, "resetting counters: %s", strerror(-err)))
		return err;
	frame_in(s->prog, s->dev, &s->in, in);
	t0 = now_ns();
	err = prog_run(s->prog, eps[s->dev].ifindex, in, out, 1, &retval,
		       NULL);
	t1 = now_ns();
	if (!CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err)))
		return err;
	CHECK((int)retval == s->ret, "returned %u, want %d", retval, s->ret);

	if (s->want) {
		expect = *s->want;
		CHECK(pkt_l4_csum_ok(out) ||
		      pkt_ipv4(out)->protocol == IPPROTO_ICMP,
		      "L4 checksum 0x%04x is not valid", frame_l4_check(out));
		CHECK(ipv4_csum(pkt_ipv4(out), pkt_ipv4(out)->ihl * 4) == 0,
		      "IPv4 header checksum is not valid");
		if (CHECK(out->len == expect.len,
			  "frame out is %u bytes, want %u", out->len,
			  expect.len) &&
		    !CHECK(memcmp(out->data, expect.data, expect.len) == 0,
			   "frame out differs from the one expected"))
			print_frame_diff(&expect, out);
	} else if (s->out.saddr) {
		const struct test_ep *to = &eps[s->to];

		if (s->to != EP_NONE) {
			check_redirected(s->to, in, out);
			build_frame(&s->out, to->pod_mac, to->host_mac,
				    s->out.ttl - 1, &expect);
		} else {
			frame_in(s->prog, s->dev, &s->out, &expect);
		}
		if (s->out.l4 != IPPROTO_TCP && s->out.l4 != IPPROTO_UDP)
			; /* no L4 header to check */
		else if (s->out.no_l4_csum)
			CHECK(frame_l4_check(out) == 0,
			      "UDP checksum 0x%04x, want 0 (none) kept",
			      frame_l4_check(out));
		else
			CHECK(pkt_l4_csum_ok(out),
			      "L4 checksum 0x%04x is not valid",
			      frame_l4_check(out));
		CHECK(ipv4_csum(pkt_ipv4(out), pkt_ipv4(out)->ihl * 4) == 0,
		      "IPv4 header checksum is not valid");
		if (CHECK(out->len == expect.len,
			  "frame out is %u bytes, want %u", out->len,
			  expect.len) &&
		    !CHECK(memcmp(out->data, expect.data, expect.len) == 0,
			   "frame out differs from the one expected"))
			print_frame_diff(&expect, out);
	}

	return step_counted(&(struct step_counts){
				    .dir = dir, .count = s->count,
				    .n_count = ARRAY_SIZE(s->count),
				    .count_len = s->count_out ? out->len : in->len,
				    .allowed = s->allowed,
				    .drop_event = s->ret == TC_ACT_SHOT || s->event,
				    .ifindex = eps[s->dev].ifindex,
				    .t0 = t0, .t1 = t1 },
			    in);
}


// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records from the datapath's events; see flows.h. */
#include "flows.h"
#include "ipv4.h"
#include "reasons.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/event.h>
#include <sluice/policy.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

static int64_t ts_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void offset_refresh(struct sl_flows *f)
{
	struct timespec rt, mono, boot;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	f->realtime_offset_ns = ts_of(&rt) - ts_of(&mono);
	f->boot_offset_ns = ts_of(&boot) - ts_of(&mono);
}

static int socks_init(struct sl_flow_socks *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap;
	for (t->n_buckets = 1; t->n_buckets < cap; t->n_buckets <<= 1)
		;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->bucket = calloc(t->n_buckets, sizeof(*t->bucket));
	if (!t->slot || !t->bucket)
		return -ENOMEM;
	/* Every slot free, chained through hash_next. */
	for (size_t i = 0; i + 1 < cap; i++)
		t->slot[i].hash_next = (uint32_t)(i + 2);
	t->free_head = 1;
	return 0;
}

int sl_flows_init(struct sl_flows *f, size_t cap,
		  const struct sl_flow_names *names)
{
	memset(f, 0, sizeof(*f));
	f->cap = cap ? cap : SL_FLOWS_RECENT_DEFAULT;
	f->ring = calloc(f->cap, sizeof(*f->ring));
	f->pending = calloc(SL_FLOWS_PENDING_MAX, sizeof(*f->pending));
	if (!f->ring || !f->pending ||
	    socks_init(&f->socks, SL_FLOWS_SOCKS_MAX) < 0) {
		sl_flows_free(f);
		return -ENOMEM;
	}
	f->names = names;
	offset_refresh(f);
	return 0;
}

static void follower_drop(struct sl_flows *f, size_t i)
{
	close(f->followers[i].fd);
	free(f->followers[i].buf);
	f->followers[i] = f->followers[--f->n_followers];
}

static void pending_sweep(struct sl_flows *f, uint64_t now_ns,
			  const struct sl_flow_sock_key *closed,
			  uint64_t *next_ns);

void sl_flows_free(struct sl_flows *f)
{
	/* What waits goes out as it is: sinks still open get it. */
	if (f->ring && f->pending)
		pending_sweep(f, UINT64_MAX, NULL, NULL);
	while (f->n_followers)
		follower_drop(f, 0);
	free(f->ring);
	free(f->pending);
	free(f->socks.slot);
	free(f->socks.bucket);
	f->ring = NULL;
	f->pending = NULL;
	f->socks.slot = NULL;
	f->socks.bucket = NULL;
}

/* The sum of a datapath time and an offset, computed in unsigned
 * arithmetic: a time off the ring is whatever the bytes said, and a wrap
 * is a wrong time, not undefined behaviour. */
static int64_t time_add(uint64_t ns, int64_t offset_ns)
{
	return (int64_t)(ns + (uint64_t)offset_ns);
}

/* The datapath's CLOCK_MONOTONIC nanoseconds as wall-clock time. */
static struct timespec realtime_of(const struct sl_flows *f, uint64_t mono_ns)
{
	int64_t t = time_add(mono_ns, f->realtime_offset_ns);

	return (struct timespec){ .tv_sec = t / 1000000000,
				  .tv_nsec = t % 1000000000 };
}

/* Who is at an address now: captured into the record. */
static void peer_set(const struct sl_flows *f, struct sl_flow_peer *p,
		     uint32_t ip_be, uint16_t port_be, uint32_t identity)
{
	const char *pod = NULL;
	uint32_t id = 0;

	p->ip = ntohl(ip_be);
	p->port = ntohs(port_be);
	p->identity = identity;
	p->pod[0] = '\0';
	if (f->names && f->names->pod_at)
		pod = f->names->pod_at(f->names->ctx, p->ip, &id);
	if (pod) {
		snprintf(p->pod, sizeof(p->pod), "%s", pod);
		if (id)
			p->identity = id;
	}
}

static void follower_flush(struct sl_flows *f, size_t i);

/* Keep the record, count it and queue it for every follower. */
static void commit(struct sl_flows *f, struct sl_flow_rec *r)
{
	struct sl_flow_rec *slot = &f->ring[f->head];
	json_object *o = NULL;
	const char *line;

	r->seq = ++f->seq;
	f->by_kind[r->kind & 3][r->dropped ? 1 : 0]++;
	*slot = *r;
	f->head = (f->head + 1) % f->cap;
	if (f->count < f->cap)
		f->count++;
	for (size_t i = 0; i < f->n_sinks; i++)
		f->sinks[i].record(f->sinks[i].ctx, f, slot);
	if (!f->n_followers)
		return;
	o = sl_flow_json(f, slot);
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	for (size_t i = 0; i < f->n_followers; i++) {
		struct sl_flows_follower *fl = &f->followers[i];
		size_t n = strlen(line);
		char *nb;

		if (fl->len + n + 1 > SL_FLOWS_FOLLOW_BUF) {
			fl->skipped++;
			continue;
		}
		nb = realloc(fl->buf, fl->len + n + 1);
		if (!nb) {
			fl->skipped++;
			continue;
		}
		fl->buf = nb;
		memcpy(fl->buf + fl->len, line, n);
		fl->buf[fl->len + n] = '\n';
		fl->len += n + 1;
	}
	json_object_put(o);
	for (size_t i = f->n_followers; i-- > 0;)
		follower_flush(f, i);
}

/* The IPv4 and L4 header of a dropped packet's captured bytes. */
static void drop_tuple(const struct sl_flows *f, struct sl_flow_rec *r,
		       const uint8_t *p, size_t cap)
{
	uint16_t sport = 0, dport = 0;
	uint32_t saddr, daddr;
	size_t ihl;

	if (cap < 14 + 20 || p[12] != 0x08 || p[13] != 0x00 ||
	    (p[14] >> 4) != 4)
		return;
	ihl = (size_t)(p[14] & 0x0f) * 4;
	r->proto = p[14 + 9];
	if (ihl >= 20 && cap >= 14 + ihl + 4 &&
	    (r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP ||
	     r->proto == IPPROTO_SCTP)) {
		memcpy(&sport, p + 14 + ihl, 2);
		memcpy(&dport, p + 14 + ihl + 2, 2);
		if (r->proto == IPPROTO_TCP && cap >= 14 + ihl + 14)
			r->tcp_flags[0] = p[14 + ihl + 13];
	}
	/* The capture is packed as on the wire: copy, never cast. */
	memcpy(&saddr, p + 14 + 12, 4);
	memcpy(&daddr, p + 14 + 16, 4);
	peer_set(f, &r->src, saddr, sport, 0);
	peer_set(f, &r->dst, daddr, dport, 0);
}

static int on_drop(struct sl_flows *f, const struct sl_drop_event *ev,
		   struct sl_flow_rec *r)
{
	r->kind = SL_FLOW_REC_DROP;
	r->dropped = 1;
	r->reason = ev->hdr.subtype;
	drop_tuple(f, r, ev->data,
		   ev->hdr.cap_len < SL_DROP_CAPTURE ? ev->hdr.cap_len :
						       SL_DROP_CAPTURE);
	return 0;
}

static int on_verdict(struct sl_flows *f, const struct sl_policy_event *ev,
		      struct sl_flow_rec *r)
{
	bool egress = ev->hdr.dir == SL_DIR_EGRESS;

	r->kind = SL_FLOW_REC_VERDICT;
	r->dropped = ev->hdr.subtype == SL_VERDICT_DENIED;
	r->proto = ev->proto;
	r->match = ev->match;
	r->policy_dir = ev->hdr.dir;
	r->policy_id[egress ? SL_POLICY_EGRESS : SL_POLICY_INGRESS] =
		ev->policy_id;
	/* The remote end is the one the lookup named. */
	peer_set(f, &r->src, ev->saddr, ev->sport, egress ? 0 : ev->remote_id);
	peer_set(f, &r->dst, ev->daddr, ev->dport, egress ? ev->remote_id : 0);
	return 0;
}

static uint8_t end_reason_of(const uint8_t tcp_flags[2], uint8_t proto)
{
	if (proto != IPPROTO_TCP)
		return SL_FLOW_END_TIMEOUT;
	if ((tcp_flags[0] | tcp_flags[1]) & TCP_RST)
		return SL_FLOW_END_RST;
	return SL_FLOW_END_FIN;
}

static void flow_from_ct(const struct sl_flows *f, struct sl_flow_rec *r,
			 const struct sl_ct_key *k,
			 const struct sl_ct_entry *e)
{
	r->proto = k->proto;
	r->tcp_flags[0] = e->tcp_flags[0];
	r->tcp_flags[1] = e->tcp_flags[1];
	peer_set(f, &r->src, k->saddr, k->sport, 0);
	peer_set(f, &r->dst, k->daddr, k->dport, 0);
	r->nat_ip = ntohl(e->nat_daddr);
	r->nat_port = ntohs(e->nat_dport);
	r->svc_id = e->svc_id;
	r->policy_id[0] = e->policy_id[0];
	r->policy_id[1] = e->policy_id[1];
	r->created_ns = e->created_ns;
	memcpy(r->packets, e->packets, sizeof(r->packets));
	memcpy(r->bytes, e->bytes, sizeof(r->bytes));
}

static int on_flow(struct sl_flows *f, const struct sl_flow_event *ev,
		   struct sl_flow_rec *r)
{
	struct sl_ct_key k = {
		.saddr = ev->saddr, .daddr = ev->daddr, .sport = ev->sport,
		.dport = ev->dport, .proto = ev->proto, .dir = SL_CT_OUT,
	};
	struct sl_ct_entry e = {
		.nat_daddr = ev->nat_daddr, .nat_dport = ev->nat_dport,
		.svc_id = ev->svc_id, .backend_id = ev->backend_id,
		.created_ns = ev->created_ns,
	};
	int64_t closed;

	memcpy(e.tcp_flags, ev->tcp_flags, sizeof(e.tcp_flags));
	memcpy(e.policy_id, ev->policy_id, sizeof(e.policy_id));
	memcpy(e.packets, ev->packets, sizeof(e.packets));
	memcpy(e.bytes, ev->bytes, sizeof(e.bytes));
	if (ev->hdr.subtype == SL_FLOW_START) {
		r->kind = SL_FLOW_REC_START;
	} else if (ev->hdr.subtype == SL_FLOW_CLOSE) {
		r->kind = SL_FLOW_REC_END;
		r->end_reason = end_reason_of(ev->tcp_flags, ev->proto);
		/* The entry's birth is boot time, the event's time
		 * monotonic. */
		closed = time_add(ev->hdr.ts_ns, f->boot_offset_ns);
		if (closed > (int64_t)ev->created_ns)
			r->duration_ns = (uint64_t)closed - ev->created_ns;
	} else {
		return -EINVAL;
	}
	flow_from_ct(f, r, &k, &e);
	return 0;
}

/* --- the socket join (see flows.h) --------------------------------------- */

static uint32_t sock_hash(const struct sl_flow_sock_key *k)
{
	const uint32_t w[4] = { k->laddr, k->raddr,
				(uint32_t)k->lport << 16 | k->rport, k->proto };
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < 4; i++) {
		h = (h ^ w[i]) * 16777619u;
		h ^= h >> 15;
	}
	return h;
}

static bool sock_key_eq(const struct sl_flow_sock_key *a,
			const struct sl_flow_sock_key *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr &&
	       a->lport == b->lport && a->rport == b->rport &&
	       a->proto == b->proto;
}

/* Slots are named by index + 1, so 0 ends a list. */
static struct sl_flow_sock *slot_of(struct sl_flow_socks *t, uint32_t i)
{
	return i ? &t->slot[i - 1] : NULL;
}

static uint32_t *bucket_of(struct sl_flow_socks *t,
			   const struct sl_flow_sock_key *k)
{
	return &t->bucket[sock_hash(k) & (t->n_buckets - 1)];
}

static struct sl_flow_sock *socks_find(struct sl_flow_socks *t,
				       const struct sl_flow_sock_key *k)
{
	struct sl_flow_sock *s;

	for (s = slot_of(t, *bucket_of(t, k)); s; s = slot_of(t, s->hash_next))
		if (sock_key_eq(&s->key, k))
			return s;
	return NULL;
}

static void lru_unlink(struct sl_flow_socks *t, struct sl_flow_sock *s)
{
	uint32_t self = (uint32_t)(s - t->slot) + 1;

	if (s->lru_prev)
		slot_of(t, s->lru_prev)->lru_next = s->lru_next;
	else if (t->lru_head == self)
		t->lru_head = s->lru_next;
	if (s->lru_next)
		slot_of(t, s->lru_next)->lru_prev = s->lru_prev;
	else if (t->lru_tail == self)
		t->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = 0;
}

/* Most recently updated: the last to be pushed out. */
static void socks_touch(struct sl_flow_socks *t, struct sl_flow_sock *s)
{
	uint32_t self = (uint32_t)(s - t->slot) + 1;

	lru_unlink(t, s);
	s->lru_next = t->lru_head;
	if (t->lru_head)
		slot_of(t, t->lru_head)->lru_prev = self;
	t->lru_head = self;
	if (!t->lru_tail)
		t->lru_tail = self;
}

static void socks_remove(struct sl_flow_socks *t, struct sl_flow_sock *s)
{
	uint32_t self = (uint32_t)(s - t->slot) + 1, *link;

	for (link = bucket_of(t, &s->key); *link != self;
	     link = &slot_of(t, *link)->hash_next)
		;
	*link = s->hash_next;
	lru_unlink(t, s);
	memset(s, 0, sizeof(*s));
	s->hash_next = t->free_head;
	t->free_head = self;
	t->count--;
}

/* A new entry; the least recently updated one makes room when full. */
static struct sl_flow_sock *socks_insert(struct sl_flow_socks *t,
					 const struct sl_flow_sock_key *k)
{
	struct sl_flow_sock *s;
	uint32_t self, *head;

	if (!t->free_head) {
		socks_remove(t, slot_of(t, t->lru_tail));
		t->evicted++;
	}
	self = t->free_head;
	s = slot_of(t, self);
	t->free_head = s->hash_next;
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->used = true;
	head = bucket_of(t, k);
	s->hash_next = *head;
	*head = self;
	socks_touch(t, s);
	t->count++;
	return s;
}

/* The owner as a record shows it: comm is whatever the process set
 * (prctl), so only printable ASCII is kept. */
static void proc_from_owner(const struct sl_flows *f,
			    struct sl_flow_process *p,
			    const struct sl_sock_owner *o)
{
	const char *container = NULL;

	memset(p, 0, sizeof(*p));
	p->cgroup_id = o->cgroup_id;
	p->pid = o->tgid;
	p->tid = o->pid;
	for (size_t i = 0; i < sizeof(p->comm) - 1 && o->comm[i]; i++)
		p->comm[i] = o->comm[i] >= 0x20 && o->comm[i] < 0x7f ?
				     o->comm[i] : '?';
	if (o->cgroup_id && f->names && f->names->container_of)
		container = f->names->container_of(f->names->ctx, o->cgroup_id);
	if (container)
		snprintf(p->container, sizeof(p->container), "%s", container);
}

/*
 * The socket at one end of a record: its view is (source, destination)
 * for the source, (the destination reached, source) for the destination.
 * A UDP socket bound to no address is found by port. Not one that named
 * another flow's start (its tuple was reused), nor an ambiguous one.
 */
static struct sl_flow_sock_key sock_view(const struct sl_flow_rec *r, int end)
{
	struct sl_flow_sock_key k = { .proto = r->proto };

	if (end == 0) {
		k.laddr = r->src.ip;
		k.lport = r->src.port;
		k.raddr = r->dst.ip;
		k.rport = r->dst.port;
	} else {
		k.laddr = r->nat_ip ? r->nat_ip : r->dst.ip;
		k.lport = r->nat_ip ? r->nat_port : r->dst.port;
		k.raddr = r->src.ip;
		k.rport = r->src.port;
	}
	return k;
}

static struct sl_flow_sock *sock_of(struct sl_flows *f,
				    const struct sl_flow_rec *r, int end)
{
	struct sl_flow_sock_key k = sock_view(r, end);
	struct sl_flow_sock *s;

	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return NULL;
	s = socks_find(&f->socks, &k);
	if (!s && r->proto == IPPROTO_UDP) {
		k.laddr = 0;
		s = socks_find(&f->socks, &k);
	}
	if (!s || s->ambiguous ||
	    (s->flow_created_ns && s->flow_created_ns != r->created_ns))
		return NULL;
	return s;
}

/* Fill r from its sockets (s: each end's, or NULL). The source's RTT
 * first: it is the one a client would see. */
static void join(struct sl_flows *f, struct sl_flow_rec *r,
		 struct sl_flow_sock *s[2])
{
	for (int end = 0; end < 2; end++) {
		s[end] = sock_of(f, r, end);
		if (!s[end])
			continue;
		if (sl_flow_process_known(&s[end]->proc))
			r->proc[end] = s[end]->proc;
		if (s[end]->rtt.valid && !r->rtt.valid) {
			r->rtt = s[end]->rtt;
			r->rtt.at_dst = (uint8_t)end;
		}
	}
}

/* A start: named by the sockets known now, which it claims. */
static void start_commit(struct sl_flows *f, struct sl_flow_rec *r)
{
	struct sl_flow_sock *s[2];

	join(f, r, s);
	for (int end = 0; end < 2; end++)
		if (s[end] && !s[end]->flow_created_ns)
			s[end]->flow_created_ns = r->created_ns;
	commit(f, r);
}

/* An end: named, then its sockets are done (a TCP socket's tuple is
 * reused only by a new socket; a UDP socket may start a new flow). */
static void end_commit(struct sl_flows *f, struct sl_flow_rec *r)
{
	struct sl_flow_sock *s[2];

	join(f, r, s);
	for (int end = 0; end < 2; end++) {
		if (!s[end] || (end == 1 && s[1] == s[0]))
			continue;
		if (r->proto == IPPROTO_TCP)
			socks_remove(&f->socks, s[end]);
		else
			s[end]->flow_created_ns = 0;
	}
	commit(f, r);
}

/* A TCP end with a socket of its connection still to report its close. */
static bool end_incomplete(struct sl_flows *f, const struct sl_flow_rec *r)
{
	struct sl_flow_sock *s;

	if (r->proto != IPPROTO_TCP)
		return false;
	for (int end = 0; end < 2; end++) {
		s = sock_of(f, r, end);
		if (s && !s->closed)
			return true;
	}
	return false;
}

static struct sl_flow_pending *pending_at(struct sl_flows *f, size_t i)
{
	return &f->pending[(f->pending_head + i) % SL_FLOWS_PENDING_MAX];
}

/* Is the socket of key k one of r's two ends? */
static bool sock_of_rec(const struct sl_flow_sock_key *k,
			const struct sl_flow_rec *r)
{
	for (int end = 0; end < 2; end++) {
		struct sl_flow_sock_key v = sock_view(r, end);

		if (sock_key_eq(&v, k))
			return true;
	}
	return false;
}

/*
 * Send the held ends that are complete, or whose wait is over at now_ns
 * (0: none is), keeping the others in order. @closed: only ends of the
 * socket that just closed can have completed (NULL: any). The next
 * deadline into *next_ns (0: none) when asked.
 */
static void pending_sweep(struct sl_flows *f, uint64_t now_ns,
			  const struct sl_flow_sock_key *closed,
			  uint64_t *next_ns)
{
	size_t kept = 0, n = f->n_pending;

	if (next_ns)
		*next_ns = 0;
	for (size_t i = 0; i < n; i++) {
		struct sl_flow_pending *p = pending_at(f, i);
		bool late = p->deadline_ns <= now_ns;

		if (late || ((!closed || sock_of_rec(closed, &p->rec)) &&
			     !end_incomplete(f, &p->rec))) {
			f->ends_waited[late ? 1 : 0]++;
			end_commit(f, &p->rec);
			continue;
		}
		if (next_ns && (!*next_ns || p->deadline_ns < *next_ns))
			*next_ns = p->deadline_ns;
		if (kept != i)
			*pending_at(f, kept) = *p;
		kept++;
	}
	f->n_pending = kept;
}

/* A TCP close from conntrack: out now, or once its sockets reported. */
static void end_commit_or_hold(struct sl_flows *f, struct sl_flow_rec *r,
			       uint64_t deadline_ns)
{
	if (!end_incomplete(f, r)) {
		end_commit(f, r);
		return;
	}
	if (f->n_pending == SL_FLOWS_PENDING_MAX) {
		/* The oldest goes as it is. */
		f->ends_waited[1]++;
		end_commit(f, &pending_at(f, 0)->rec);
		f->pending_head = (f->pending_head + 1) % SL_FLOWS_PENDING_MAX;
		f->n_pending--;
	}
	*pending_at(f, f->n_pending++) = (struct sl_flow_pending){
		.rec = *r, .deadline_ns = deadline_ns,
	};
}

static int on_sock(struct sl_flows *f, const struct sl_sock_event *ev)
{
	struct sl_flow_sock_key k = {
		.laddr = ntohl(ev->laddr), .raddr = ntohl(ev->raddr),
		.lport = ntohs(ev->lport), .rport = ntohs(ev->rport),
		.proto = ev->proto,
	};
	struct sl_flow_sock *s = socks_find(&f->socks, &k);
	uint64_t ts = ev->hdr.ts_ns;

	if (ev->hdr.subtype != SL_SOCK_OPEN && ev->hdr.subtype != SL_SOCK_CLOSE)
		return -EINVAL;
	f->sock_events++;
	if (s && s->cookie != ev->cookie && ev->hdr.subtype == SL_SOCK_OPEN &&
	    !k.laddr && s->netns != ev->netns_cookie &&
	    ts < s->updated_ns + SL_FLOWS_UDP_REUSE_NS) {
		/* Two namespaces' sockets, one unbound key: say nothing. */
		s->ambiguous = true;
		memset(&s->proc, 0, sizeof(s->proc));
		s->updated_ns = ts;
		socks_touch(&f->socks, s);
		return 0;
	}
	/* Another socket on this tuple: the old one is done. */
	if (s && s->cookie != ev->cookie) {
		socks_remove(&f->socks, s);
		s = NULL;
	}
	if (!s)
		s = socks_insert(&f->socks, &k);
	s->cookie = ev->cookie;
	s->updated_ns = ts;
	socks_touch(&f->socks, s);
	if (ev->hdr.subtype == SL_SOCK_OPEN) {
		s->netns = ev->netns_cookie;
		proc_from_owner(f, &s->proc, &ev->owner);
		return 0;
	}
	s->closed = true;
	s->rtt = (struct sl_flow_rtt){ .srtt_us = ev->srtt_us,
				       .min_us = ev->rtt_min_us,
				       .retrans = ev->retrans, .valid = 1 };
	pending_sweep(f, 0, &k, NULL);
	return 0;
}

uint64_t sl_flows_flush(struct sl_flows *f, uint64_t now_ns)
{
	struct sl_flow_socks *t = &f->socks;
	uint64_t next;

	pending_sweep(f, now_ns, NULL, &next);
	/* Once a second at most: a sweep reads every slot. */
	if (now_ns < t->swept_ns + 1000000000ull)
		return next;
	t->swept_ns = now_ns;
	for (size_t i = 0; i < t->cap; i++) {
		struct sl_flow_sock *s = &t->slot[i];

		if (s->used && s->closed &&
		    s->updated_ns + SL_FLOWS_SOCK_LINGER_NS < now_ns)
			socks_remove(t, s);
	}
	return next;
}

/* Lowercase only: runtimes name cgroups by their ids as they print them. */
static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

size_t sl_flow_container_id(const char *cgroup_path, char *out, size_t len)
{
	/* "" last: cgroupfs' bare id. */
	static const char *const prefixes[] = { "cri-containerd-", "crio-",
						"docker-", "libpod-", "" };
	const char *end = cgroup_path + strlen(cgroup_path);

	if (len)
		out[0] = '\0';
	while (end > cgroup_path) {
		const char *start;

		while (end > cgroup_path && end[-1] == '/')
			end--;
		for (start = end; start > cgroup_path && start[-1] != '/';
		     start--)
			;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]);
		     i++) {
			size_t pl = strlen(prefixes[i]);
			size_t n = (size_t)(end - start);

			if (n < pl || strncmp(start, prefixes[i], pl))
				continue;
			n -= pl;
			/* systemd's driver adds ".scope"; cgroupfs' not. */
			if (pl && n > 6 && !memcmp(start + pl + n - 6, ".scope", 6))
				n -= 6;
			if (n == 64 && is_hex(start + pl, n) && len > n) {
				memcpy(out, start + pl, n);
				out[n] = '\0';
				return n;
			}
		}
		end = start;
	}
	return 0;
}

int sl_flows_event(struct sl_flows *f, const void *data, size_t size)
{
	const struct sl_event_hdr *h = data;
	struct sl_flow_rec r = { 0 };
	int err = -EINVAL;

	if (size < sizeof(*h) || h->version != SL_EVENT_VERSION) {
		f->decode_errors++;
		return 0;
	}
	/* Clocks are stepped (NTP, suspend): keep the offsets fresh. */
	if ((f->seq & 1023) == 0)
		offset_refresh(f);
	r.time = realtime_of(f, h->ts_ns);
	r.dir = h->dir;
	r.ifindex = h->ifindex;
	if (h->type == SL_EVENT_SOCK) {
		/* Not a record: what records are joined with. */
		if (size != sizeof(struct sl_sock_event) ||
		    on_sock(f, data) < 0)
			f->decode_errors++;
		return 0;
	}
	if (h->type == SL_EVENT_DROP && size == sizeof(struct sl_drop_event))
		err = on_drop(f, data, &r);
	else if (h->type == SL_EVENT_POLICY &&
		 size == sizeof(struct sl_policy_event))
		err = on_verdict(f, data, &r);
	else if (h->type == SL_EVENT_FLOW &&
		 size == sizeof(struct sl_flow_event))
		err = on_flow(f, data, &r);
	if (err < 0) {
		f->decode_errors++;
		return 0;
	}
	if (r.kind == SL_FLOW_REC_START)
		start_commit(f, &r);
	else if (r.kind == SL_FLOW_REC_END)
		end_commit_or_hold(f, &r, h->ts_ns + SL_FLOWS_JOIN_WAIT_NS);
	else
		commit(f, &r);
	return 0;
}

void sl_flows_expired(struct sl_flows *f, const struct sl_ct_key *k,
		      const struct sl_ct_entry *e, uint64_t now_boot_ns)
{
	struct sl_flow_rec r = { 0 };

	/* A closed TCP connection's end was recorded at its close. */
	if (k->dir != SL_CT_OUT || (e->flags & SL_CT_F_CLOSING))
		return;
	clock_gettime(CLOCK_REALTIME, &r.time);
	r.kind = SL_FLOW_REC_END;
	r.end_reason = SL_FLOW_END_TIMEOUT;
	r.dir = SL_DIR_EGRESS;
	r.ifindex = e->ifindex;
	flow_from_ct(f, &r, k, e);
	if (now_boot_ns > e->created_ns)
		r.duration_ns = now_boot_ns - e->created_ns;
	/* Its sockets spoke long ago: nothing to wait for. */
	end_commit(f, &r);
}

int sl_flows_add_sink(struct sl_flows *f, const struct sl_flow_sink *sink)
{
	if (f->n_sinks >= SL_FLOWS_SINKS_MAX)
		return -ENOSPC;
	f->sinks[f->n_sinks++] = *sink;
	return 0;
}

/* --- JSON ---------------------------------------------------------------- */

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static void add_time(json_object *o, const struct timespec *t)
{
	char buf[64];
	struct tm tm;

	gmtime_r(&t->tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, t->tv_nsec);
	json_object_object_add(o, "time", jstr(buf));
}

/* "ns/name" into {"namespace","name"} members of o. */
static void add_ns_name(json_object *o, const char *key_ns,
			const char *key_name, const char *ns_name)
{
	const char *slash = strchr(ns_name, '/');

	if (!slash) {
		json_object_object_add(o, key_name, jstr(ns_name));
		return;
	}
	json_object_object_add(o, key_ns, json_object_new_string_len(
		ns_name, (int)(slash - ns_name)));
	json_object_object_add(o, key_name, jstr(slash + 1));
}

static json_object *endpoint_json(const struct sl_flows *f,
				  const struct sl_flow_peer *p)
{
	json_object *o = json_object_new_object(), *labels;
	const char *l = NULL;

	json_object_object_add(o, "identity", json_object_new_int64(p->identity));
	if (p->pod[0])
		add_ns_name(o, "namespace", "pod_name", p->pod);
	if (f->names && f->names->labels_of && p->identity)
		l = f->names->labels_of(f->names->ctx, p->identity);
	if (!p->pod[0] && p->identity && p->identity < 256) {
		char r[32];

		snprintf(r, sizeof(r), "reserved:%s",
			 p->identity == 1 ? "host" :
			 p->identity == 2 ? "world" :
			 p->identity == 6 ? "remote-node" : "unknown");
		labels = json_object_new_array();
		json_object_array_add(labels, jstr(r));
		json_object_object_add(o, "labels", labels);
	} else if (l && *l) {
		char *copy = strdup(l), *save = NULL;

		labels = json_object_new_array();
		for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save)) {
			char lab[320];

			snprintf(lab, sizeof(lab), "k8s:%s", t);
			json_object_array_add(labels, jstr(lab));
		}
		free(copy);
		json_object_object_add(o, "labels", labels);
	}
	return o;
}

static json_object *tcp_flags_json(uint8_t fl)
{
	static const struct { uint8_t bit; const char *name; } names[] = {
		{ TCP_FIN, "FIN" }, { TCP_SYN, "SYN" }, { TCP_RST, "RST" },
		{ TCP_PSH, "PSH" }, { TCP_ACK, "ACK" }, { TCP_URG, "URG" },
		{ TCP_ECE, "ECE" }, { TCP_CWR, "CWR" },
	};
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fl & names[i].bit)
			json_object_object_add(o, names[i].name,
					       json_object_new_boolean(1));
	return o;
}

static json_object *l4_json(const struct sl_flow_rec *r)
{
	json_object *o = json_object_new_object(), *p = json_object_new_object();
	const char *key;

	switch (r->proto) {
	case IPPROTO_TCP:
		key = "TCP";
		json_object_object_add(p, "flags", tcp_flags_json(
			r->tcp_flags[0] | r->tcp_flags[1]));
		break;
	case IPPROTO_UDP:
		key = "UDP";
		break;
	case IPPROTO_SCTP:
		key = "SCTP";
		break;
	case IPPROTO_ICMP:
		json_object_object_add(o, "ICMPv4", p);
		return o;
	default:
		json_object_put(p);
		return o;
	}
	json_object_object_add(p, "source_port", json_object_new_int(r->src.port));
	json_object_object_add(p, "destination_port",
			       json_object_new_int(r->dst.port));
	json_object_object_add(o, key, p);
	return o;
}

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = { "start", "end", "drop",
					     "policy-verdict" };

	return kind < 4 ? names[kind] : "?";
}

static const char *end_reason_name(uint8_t why)
{
	static const char *const names[] = { "", "fin", "rst", "timeout" };

	return why < 4 ? names[why] : "?";
}

static void add_policies(const struct sl_flows *f, json_object *o,
			 const char *key, uint32_t id)
{
	const char *name = NULL;
	json_object *arr, *p;

	if (!id)
		return;
	if (f->names && f->names->policy_of)
		name = f->names->policy_of(f->names->ctx, id);
	p = json_object_new_object();
	if (name)
		add_ns_name(p, "namespace", "name", name);
	else if (id == 1) /* SL_POLICY_ID_NODE: the agent's own entry */
		json_object_object_add(p, "name", jstr("allow-from-own-node"));
	json_object_object_add(p, "id", json_object_new_int64(id));
	arr = json_object_new_array();
	json_object_array_add(arr, p);
	json_object_object_add(o, key, arr);
}

static json_object *process_json(const struct sl_flow_process *p)
{
	json_object *o = json_object_new_object();

	if (p->pid) {
		json_object_object_add(o, "pid", json_object_new_int64(p->pid));
		json_object_object_add(o, "tid", json_object_new_int64(p->tid));
	}
	if (p->comm[0])
		json_object_object_add(o, "comm", jstr(p->comm));
	if (p->cgroup_id)
		json_object_object_add(o, "cgroup_id", json_object_new_int64(
			(int64_t)p->cgroup_id));
	if (p->container[0])
		json_object_object_add(o, "container_id", jstr(p->container));
	return o;
}

/* Who and how fast, where known: sluice's own fields. */
static void add_sockets(json_object *o, const struct sl_flow_rec *r)
{
	json_object *x;

	if (sl_flow_process_known(&r->proc[0]))
		json_object_object_add(o, "process", process_json(&r->proc[0]));
	if (sl_flow_process_known(&r->proc[1]))
		json_object_object_add(o, "destination_process",
				       process_json(&r->proc[1]));
	if (!r->rtt.valid)
		return;
	x = json_object_new_object();
	json_object_object_add(x, "srtt_us", json_object_new_int64(r->rtt.srtt_us));
	json_object_object_add(x, "min_us", json_object_new_int64(r->rtt.min_us));
	json_object_object_add(x, "retransmits",
			       json_object_new_int64(r->rtt.retrans));
	json_object_object_add(x, "measured_at",
			       jstr(r->rtt.at_dst ? "destination" : "source"));
	json_object_object_add(o, "rtt", x);
}

json_object *sl_flow_json(const struct sl_flows *f,
			  const struct sl_flow_rec *r)
{
	json_object *o = json_object_new_object(), *ip, *x;
	char a[16], b[16], summary[96];
	const char *name;

	add_time(o, &r->time);
	json_object_object_add(o, "verdict",
			       jstr(r->dropped ? "DROPPED" : "FORWARDED"));
	if (r->kind == SL_FLOW_REC_DROP) {
		name = sl_reason_name(r->reason);
		json_object_object_add(o, "drop_reason", json_object_new_int(r->reason));
		json_object_object_add(o, "drop_reason_desc", jstr(name ? name : "UNKNOWN"));
	}
	ip = json_object_new_object();
	sl_ip4_to_str(r->src.ip, a);
	sl_ip4_to_str(r->dst.ip, b);
	json_object_object_add(ip, "source", jstr(a));
	json_object_object_add(ip, "destination", jstr(b));
	json_object_object_add(ip, "ipVersion", jstr("IPv4"));
	json_object_object_add(o, "IP", ip);
	json_object_object_add(o, "l4", l4_json(r));
	json_object_object_add(o, "source", endpoint_json(f, &r->src));
	json_object_object_add(o, "destination", endpoint_json(f, &r->dst));
	json_object_object_add(o, "Type", jstr("L3_L4"));
	if (f->names && f->names->node_name)
		json_object_object_add(o, "node_name", jstr(f->names->node_name));
	json_object_object_add(o, "traffic_direction",
			       jstr(r->dir == SL_DIR_INGRESS ? "INGRESS" : "EGRESS"));
	json_object_object_add(o, "is_reply", json_object_new_boolean(r->is_reply));
	if (r->svc_id) {
		name = f->names && f->names->service_of ?
			       f->names->service_of(f->names->ctx, r->svc_id) :
			       NULL;
		x = json_object_new_object();
		if (name) {
			char svc[256], *colon;

			snprintf(svc, sizeof(svc), "%s", name);
			colon = strrchr(svc, ':');
			if (colon)
				*colon = '\0';
			add_ns_name(x, "namespace", "name", svc);
		}
		json_object_object_add(x, "id", json_object_new_int64(r->svc_id));
		json_object_object_add(o, "destination_service", x);
	}
	if (r->nat_ip) {
		x = json_object_new_object();
		sl_ip4_to_str(r->nat_ip, a);
		json_object_object_add(x, "destination", jstr(a));
		json_object_object_add(x, "destination_port",
				       json_object_new_int(r->nat_port));
		json_object_object_add(o, "nat", x);
	}
	add_policies(f, o, r->dropped ? "egress_denied_by" : "egress_allowed_by",
		     r->policy_id[SL_POLICY_EGRESS]);
	add_policies(f, o, "ingress_allowed_by", r->policy_id[SL_POLICY_INGRESS]);
	if (r->kind == SL_FLOW_REC_VERDICT)
		json_object_object_add(o, "policy_match_type",
				       json_object_new_int(r->match));
	json_object_object_add(o, "flow_event", jstr(kind_name(r->kind)));
	if (r->kind == SL_FLOW_REC_END) {
		x = json_object_new_object();
		json_object_object_add(x, "reason", jstr(end_reason_name(r->end_reason)));
		json_object_object_add(x, "duration_ns", json_object_new_int64(
			(int64_t)r->duration_ns));
		json_object_object_add(x, "packets_sent", json_object_new_int64(
			(int64_t)r->packets[0]));
		json_object_object_add(x, "packets_received", json_object_new_int64(
			(int64_t)r->packets[1]));
		json_object_object_add(x, "bytes_sent", json_object_new_int64(
			(int64_t)r->bytes[0]));
		json_object_object_add(x, "bytes_received", json_object_new_int64(
			(int64_t)r->bytes[1]));
		json_object_object_add(o, "flow_end", x);
	}
	add_sockets(o, r);
	x = json_object_new_object();
	json_object_object_add(x, "index", json_object_new_int64(r->ifindex));
	json_object_object_add(o, "interface", x);
	snprintf(summary, sizeof(summary), "%s %s",
		 sl_proto_name(r->proto), kind_name(r->kind));
	json_object_object_add(o, "Summary", jstr(summary));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)r->seq));
	return o;
}

json_object *sl_flows_recent_json(const struct sl_flows *f, size_t n)
{
	json_object *arr = json_object_new_array();
	size_t first;

	if (!n || n > f->count)
		n = f->count;
	first = (f->head + f->cap - n) % f->cap;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, sl_flow_json(f, &f->ring[(first + i) %
								    f->cap]));
	return arr;
}

/* --- followers ----------------------------------------------------------- */

static ssize_t follower_index(const struct sl_flows *f, int fd)
{
	for (size_t i = 0; i < f->n_followers; i++)
		if (f->followers[i].fd == fd)
			return (ssize_t)i;
	return -1;
}

/* Send what is queued; drop a follower that hung up. */
static void follower_flush(struct sl_flows *f, size_t i)
{
	struct sl_flows_follower *fl = &f->followers[i];

	while (fl->len) {
		ssize_t w = send(fl->fd, fl->buf, fl->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			follower_drop(f, i);
			return;
		}
		memmove(fl->buf, fl->buf + w, fl->len - (size_t)w);
		fl->len -= (size_t)w;
	}
}

int sl_flows_follow(struct sl_flows *f, int fd)
{
	if (f->n_followers >= SL_FLOWS_FOLLOWERS_MAX)
		return -EBUSY;
	f->followers[f->n_followers++] = (struct sl_flows_follower){ .fd = fd };
	return 0;
}

int sl_flows_pump(struct sl_flows *f, int fd)
{
	ssize_t i = follower_index(f, fd);
	char sink[256];
	ssize_t n;

	if (i < 0)
		return -1;
	/* A follower sends nothing after its request: data or EOF here
	 * means it is done. */
	n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		follower_drop(f, (size_t)i);
		return -1;
	}
	follower_flush(f, (size_t)i);
	i = follower_index(f, fd);
	if (i < 0)
		return -1;
	return f->followers[i].len ? 1 : 0;
}

bool sl_flows_is_follower(const struct sl_flows *f, int fd)
{
	return follower_index(f, fd) >= 0;
}

size_t sl_flows_pending(const struct sl_flows *f, int fd)
{
	ssize_t i = follower_index(f, fd);

	return i < 0 ? 0 : f->followers[i].len;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX export (agent/ipfix.c): records go through the real sink and a
 * UDP socket on loopback, and come back through a minimal RFC 7011 parser
 * written here from the RFC, not from the encoder: message header, template
 * sets with enterprise field specifiers, data sets with variable-length
 * strings, the sequence number, packing and the message size bound.
 */
#include "unit.h"
#include "ipfix.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/policy.h>

#define VARLEN 0xffff
#define PEN_REV 29305
#define PEN_SL 32473

/* --- the parser ----------------------------------------------------------- */

#define MAX_FIELDS 64
#define MAX_TPL 8
#define MAX_RECS 64

struct spec {
	uint16_t id, len;
	uint32_t pen;
};

struct tpl {
	uint16_t id;
	size_t n;
	struct spec f[MAX_FIELDS];
};

struct value {
	const uint8_t *p;
	size_t len;
};

struct rec {
	uint16_t tpl;
	const struct tpl *t;
	struct value v[MAX_FIELDS];
};

struct msg {
	uint8_t buf[65536];
	size_t size;
	uint32_t export_time, seq, domain;
	size_t n_tpl_sets; /* template sets in this message */
	size_t n_recs;
	struct rec recs[MAX_RECS];
};

/* Templates persist across messages, as in a collector. */
static struct tpl tpls[MAX_TPL];
static size_t n_tpls;

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static const struct tpl *tpl_find(uint16_t id)
{
	for (size_t i = 0; i < n_tpls; i++)
		if (tpls[i].id == id)
			return &tpls[i];
	return NULL;
}

static void parse_template_set(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 4) {
		struct tpl t = { .id = be16(p), .n = be16(p + 2) };
		size_t i;

		assert_true(t.id >= 256);
		assert_true(t.n > 0 && t.n <= MAX_FIELDS);
		p += 4;
		for (i = 0; i < t.n; i++) {
			uint16_t id;

			assert_true(end - p >= 4);
			id = be16(p);
			t.f[i].len = be16(p + 2);
			p += 4;
			if (id & 0x8000) {
				assert_true(end - p >= 4);
				t.f[i].pen = be32(p);
				assert_int_not_equal(t.f[i].pen, 0);
				p += 4;
			}
			t.f[i].id = id & 0x7fff;
		}
		for (i = 0; i < n_tpls && tpls[i].id != t.id; i++)
			;
		assert_true(i < MAX_TPL);
		tpls[i] = t;
		if (i == n_tpls)
			n_tpls++;
	}
	assert_ptr_equal(p, end);
}

static void parse_data_set(struct msg *m, const struct tpl *t,
			   const uint8_t *p, const uint8_t *end)
{
	size_t min = 0;

	for (size_t i = 0; i < t->n; i++)
		min += t->f[i].len == VARLEN ? 1 : t->f[i].len;
	/* What is left shorter than a record is padding (RFC 7011 3.3.1). */
	while ((size_t)(end - p) >= min) {
		struct rec *r = &m->recs[m->n_recs++];

		assert_true(m->n_recs <= MAX_RECS);
		r->tpl = t->id;
		r->t = t;
		for (size_t i = 0; i < t->n; i++) {
			size_t len = t->f[i].len;

			if (len == VARLEN) {
				assert_true(p < end);
				len = *p++;
				if (len == 255) {
					assert_true(end - p >= 2);
					len = be16(p);
					p += 2;
				}
			}
			assert_true((size_t)(end - p) >= len);
			r->v[i] = (struct value){ p, len };
			p += len;
		}
	}
}

static void parse_msg(struct msg *m)
{
	const uint8_t *p = m->buf, *end;

	assert_true(m->size >= 16);
	assert_int_equal(be16(p), 10);
	assert_int_equal(be16(p + 2), m->size);
	assert_true(m->size <= SL_IPFIX_MSG_MAX);
	m->export_time = be32(p + 4);
	m->seq = be32(p + 8);
	m->domain = be32(p + 12);
	m->n_recs = m->n_tpl_sets = 0;
	end = p + m->size;
	p += 16;
	while (p < end) {
		uint16_t id, len;

		assert_true(end - p >= 4);
		id = be16(p);
		len = be16(p + 2);
		assert_true(len >= 4 && len <= end - p);
		if (id == 2) {
			m->n_tpl_sets++;
			parse_template_set(p + 4, p + len);
		} else {
			const struct tpl *t = tpl_find(id);

			assert_true(id >= 256);
			assert_non_null(t); /* templates come before their data */
			parse_data_set(m, t, p + 4, p + len);
		}
		p += len;
	}
}

static const struct value *field(const struct rec *r, uint32_t pen, uint16_t id)
{
	for (size_t i = 0; i < r->t->n; i++)
		if (r->t->f[i].id == id && r->t->f[i].pen == pen)
			return &r->v[i];
	fail_msg("template %u has no field %u/%u", r->tpl, pen, id);
	return NULL;
}

static uint64_t field_u(const struct rec *r, uint32_t pen, uint16_t id)
{
	const struct value *v = field(r, pen, id);
	uint64_t x = 0;

	for (size_t i = 0; i < v->len; i++)
		x = x << 8 | v->p[i];
	return x;
}

static void assert_field_str(const struct rec *r, uint32_t pen, uint16_t id,
			     const char *want)
{
	const struct value *v = field(r, pen, id);

	if (v->len != strlen(want) || memcmp(v->p, want, v->len))
		fail_msg("field %u/%u: '%.*s', want '%s'", pen, id, (int)v->len,
			 v->p, want);
}

static bool tpl_has(const struct tpl *t, uint32_t pen, uint16_t id,
		    uint16_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->f[i].id == id && t->f[i].pen == pen && t->f[i].len == len)
			return true;
	return false;
}

/* --- the exporter under test ---------------------------------------------- */

#define CLIENT_IP 0x0af40105u /* 10.244.1.5 */
#define SERVER_IP 0x0af40106u
#define VIP 0x0a600001u       /* 10.96.0.1 */

static const char *long_labels; /* labels_of's answer for identity 2000 */

static const char *t_pod_at(void *ctx, uint32_t ip, uint32_t *identity)
{
	(void)ctx;
	if (ip == SERVER_IP) {
		*identity = 1001;
		return "shop/server";
	}
	return NULL;
}

static const char *t_labels_of(void *ctx, uint32_t identity)
{
	(void)ctx;
	return identity == 1000 ? "app=client" :
	       identity == 1001 ? "app=server" :
	       identity == 2000 ? long_labels : NULL;
}

static const char *t_service_of(void *ctx, uint32_t svc_id)
{
	(void)ctx;
	return svc_id == 7 ? "shop/web:http" : NULL;
}

static const char *t_policy_of(void *ctx, uint32_t policy_id)
{
	(void)ctx;
	return policy_id == 3 ? "shop/allow-web" : NULL;
}

static const struct sl_flow_names names = {
	.pod_at = t_pod_at, .labels_of = t_labels_of,
	.service_of = t_service_of, .policy_of = t_policy_of,
	.node_name = "node-a",
};

struct fixture {
	int rx; /* the collector's socket */
	struct sl_flows flows;
	struct sl_ipfix x;
	struct msg m;
	uint64_t seq;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int rcvbuf = 4 << 20;
	char spec[32], why[256];

	assert_non_null(fx);
	n_tpls = 0;
	fx->rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fx->rx >= 0);
	setsockopt(fx->rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fx->rx, (void *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fx->rx, (void *)&sin, &len), 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sin.sin_port));
	if (sl_ipfix_parse_collector(spec, &fx->x, why, sizeof(why)) < 0)
		fail_msg("%s: %s", spec, why);
	assert_int_equal(sl_flows_init(&fx->flows, 16, &names), 0);
	assert_int_equal(sl_ipfix_open(&fx->x, &fx->flows, "node-a", -1), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	sl_ipfix_close(&fx->x);
	sl_flows_free(&fx->flows);
	close(fx->rx);
	free(fx);
	return 0;
}

/* The next message, parsed; false when none came within timeout_ms. */
static bool recv_msg(struct fixture *fx, int timeout_ms)
{
	struct pollfd pfd = { .fd = fx->rx, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	n = recv(fx->rx, fx->m.buf, sizeof(fx->m.buf), 0);
	assert_true(n > 0);
	fx->m.size = (size_t)n;
	parse_msg(&fx->m);
	return true;
}

/* A record through the sink, numbered as the flow pipeline would. */
static void emit(struct fixture *fx, struct sl_flow_rec *r)
{
	assert_int_equal(fx->flows.n_sinks, 1);
	r->seq = ++fx->seq;
	fx->flows.sinks[0].record(fx->flows.sinks[0].ctx, &fx->flows, r);
}

static struct sl_flow_rec flow_end(void)
{
	struct sl_flow_rec r = {
		.time = { .tv_sec = 1700000000, .tv_nsec = 250000000 },
		.kind = SL_FLOW_REC_END, .proto = IPPROTO_TCP,
		.tcp_flags = { 0x1b, 0x1a }, .end_reason = SL_FLOW_END_FIN,
		.dir = SL_DIR_EGRESS, .ifindex = 42,
		.src = { .ip = CLIENT_IP, .port = 40000, .identity = 1000,
			 .pod = "shop/client" },
		.dst = { .ip = SERVER_IP, .port = 7000, .identity = 1001,
			 .pod = "shop/server" },
		.packets = { 6, 4 }, .bytes = { 420, 310 },
		.duration_ns = 1500000000ull,
	};

	r.policy_id[SL_POLICY_INGRESS] = 3;
	return r;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* --- cases ---------------------------------------------------------------- */

/* At open: one message with the templates only, numbered 0. */
static void test_templates(void **state)
{
	struct fixture *fx = *state;
	const struct tpl *end, *drop, *proc;

	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.seq, 0);
	assert_int_equal(fx->m.domain, fnv1a("node-a"));
	assert_true(labs((long)fx->m.export_time - (long)time(NULL)) <= 5);
	assert_int_equal(fx->m.n_tpl_sets, 1);
	assert_int_equal(fx->m.n_recs, 0);
	assert_int_equal(n_tpls, 3);
	end = tpl_find(SL_IPFIX_TPL_FLOW_END);
	drop = tpl_find(SL_IPFIX_TPL_DROP);
	proc = tpl_find(SL_IPFIX_TPL_FLOW_END_PROC);
	assert_non_null(end);
	assert_non_null(drop);
	assert_non_null(proc);
	/* IANA elements at their sizes, RFC 5103 reverse counters, ours. */
	assert_true(tpl_has(end, 0, 8, 4) && tpl_has(end, 0, 12, 4));
	assert_true(tpl_has(end, 0, 7, 2) && tpl_has(end, 0, 11, 2));
	assert_true(tpl_has(end, 0, 4, 1) && tpl_has(end, 0, 6, 2));
	assert_true(tpl_has(end, 0, 1, 8) && tpl_has(end, 0, 2, 8));
	assert_true(tpl_has(end, 0, 152, 8) && tpl_has(end, 0, 153, 8));
	assert_true(tpl_has(end, 0, 136, 1));
	assert_true(tpl_has(end, 0, 226, 4) && tpl_has(end, 0, 228, 2));
	assert_true(tpl_has(end, PEN_REV, 1, 8) && tpl_has(end, PEN_REV, 2, 8));
	assert_true(tpl_has(end, PEN_SL, SL_IPFIX_IE_SRC_POD, VARLEN));
	assert_true(tpl_has(end, PEN_SL, SL_IPFIX_IE_DST_SERVICE, VARLEN));
	assert_true(tpl_has(end, PEN_SL, SL_IPFIX_IE_SRC_IDENTITY, 4));
	assert_false(tpl_has(end, 0, 89, 1));
	assert_true(tpl_has(drop, 0, 89, 1));
	assert_true(tpl_has(drop, PEN_SL, SL_IPFIX_IE_DROP_REASON, 1));
	assert_true(tpl_has(drop, PEN_SL, SL_IPFIX_IE_DROP_REASON_NAME, VARLEN));
	assert_false(tpl_has(drop, PEN_REV, 1, 8));
	/* Processes and RTT only in the template of the ends that have
	 * them, after every element of the plain end. */
	assert_false(tpl_has(end, PEN_SL, SL_IPFIX_IE_SRC_PROCESS_ID, 4));
	assert_int_equal(proc->n, end->n + 10);
	for (size_t i = 0; i < end->n; i++)
		assert_memory_equal(&proc->f[i], &end->f[i], sizeof(end->f[i]));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_SRC_PROCESS_ID, 4));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_DST_PROCESS_ID, 4));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_SRC_PROCESS_COMMAND, VARLEN));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_DST_CONTAINER_ID, VARLEN));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_TCP_SRTT, 4));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_TCP_MIN_RTT, 4));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_TCP_RETRANSMITS, 4));
	assert_true(tpl_has(proc, PEN_SL, SL_IPFIX_IE_RTT_AT, 1));
	assert_int_equal(fx->x.stats.template_sets, 1);
}

static void test_flow_end(void **state)
{
	struct fixture *fx = *state;
	struct sl_flow_rec r = flow_end(), svc = flow_end();
	const struct rec *d;

	assert_true(recv_msg(fx, 1000)); /* the templates */
	/* Starts and verdicts are not exported. */
	r.kind = SL_FLOW_REC_START;
	emit(fx, &r);
	r.kind = SL_FLOW_REC_VERDICT;
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_false(recv_msg(fx, 100));

	r = flow_end();
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.seq, 0);
	assert_int_equal(fx->m.n_tpl_sets, 0);
	assert_int_equal(fx->m.n_recs, 1);
	d = &fx->m.recs[0];
	assert_int_equal(d->tpl, SL_IPFIX_TPL_FLOW_END);
	assert_int_equal(field_u(d, 0, 148), fx->seq);
	assert_int_equal(field_u(d, 0, 8), CLIENT_IP);
	assert_int_equal(field_u(d, 0, 12), SERVER_IP);
	assert_int_equal(field_u(d, 0, 7), 40000);
	assert_int_equal(field_u(d, 0, 11), 7000);
	assert_int_equal(field_u(d, 0, 4), IPPROTO_TCP);
	assert_int_equal(field_u(d, 0, 1), 420);
	assert_int_equal(field_u(d, 0, 2), 6);
	assert_int_equal(field_u(d, PEN_REV, 1), 310);
	assert_int_equal(field_u(d, PEN_REV, 2), 4);
	assert_int_equal(field_u(d, 0, 6), 0x1b);
	assert_int_equal(field_u(d, PEN_REV, 6), 0x1a);
	assert_int_equal(field_u(d, 0, 153), 1700000000250ull);
	assert_int_equal(field_u(d, 0, 152), 1700000000250ull - 1500);
	assert_int_equal(field_u(d, 0, 136), 3); /* end of flow detected */
	assert_int_equal(field_u(d, 0, 10), 42);
	assert_int_equal(field_u(d, 0, 61), 1);
	assert_int_equal(field_u(d, 0, 226), 0);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_SRC_IDENTITY), 1000);
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_NAMESPACE, "shop");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_POD, "client");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_POD, "server");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_LABELS, "app=client");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_INGRESS_POLICY, "shop/allow-web");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_EGRESS_POLICY, "");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_SERVICE, "");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_NODE_NAME, "node-a");

	/* A Service connection that timed out: the VIP as destination, the
	 * backend after NAT, and the backend pod named. The header's
	 * sequence number counts the one record sent before. */
	svc.dst = (struct sl_flow_peer){ .ip = VIP, .port = 80 };
	svc.nat_ip = SERVER_IP;
	svc.nat_port = 7000;
	svc.svc_id = 7;
	svc.proto = IPPROTO_UDP;
	svc.end_reason = SL_FLOW_END_TIMEOUT;
	emit(fx, &svc);
	emit(fx, &svc);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.seq, 1);
	assert_int_equal(fx->m.n_recs, 2);
	d = &fx->m.recs[1];
	assert_int_equal(field_u(d, 0, 12), VIP);
	assert_int_equal(field_u(d, 0, 11), 80);
	assert_int_equal(field_u(d, 0, 226), SERVER_IP);
	assert_int_equal(field_u(d, 0, 228), 7000);
	assert_int_equal(field_u(d, 0, 136), 1); /* idle timeout */
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_SERVICE, "shop/web:http");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_NAMESPACE, "shop");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_POD, "server");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_LABELS, "app=server");
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_DST_IDENTITY), 1001);
	assert_int_equal(fx->x.stats.records, 3);
	assert_int_equal(fx->x.stats.messages, 3);
	assert_int_equal(fx->x.stats.send_errors, 0);
}

static void test_drop(void **state)
{
	struct fixture *fx = *state;
	struct sl_flow_rec r = {
		.time = { .tv_sec = 1700000001 }, .kind = SL_FLOW_REC_DROP,
		.dropped = 1, .reason = SL_POLICY_DENIED_INGRESS,
		.dir = SL_DIR_INGRESS, .ifindex = 9, .proto = IPPROTO_TCP,
		.tcp_flags = { 0x02 },
		.src = { .ip = CLIENT_IP, .port = 40001, .pod = "shop/client" },
		.dst = { .ip = SERVER_IP, .port = 7000, .pod = "shop/server" },
	};
	struct sl_flow_rec end = flow_end();
	const struct rec *d;

	assert_true(recv_msg(fx, 1000));
	emit(fx, &r);
	emit(fx, &end);
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	/* One set per run of a template: drop, end, drop. */
	assert_int_equal(fx->m.n_recs, 3);
	assert_int_equal(fx->m.recs[0].tpl, SL_IPFIX_TPL_DROP);
	assert_int_equal(fx->m.recs[1].tpl, SL_IPFIX_TPL_FLOW_END);
	d = &fx->m.recs[2];
	assert_int_equal(d->tpl, SL_IPFIX_TPL_DROP);
	assert_int_equal(field_u(d, 0, 89), 129); /* dropped: ACL deny */
	assert_int_equal(field_u(d, 0, 2), 1);
	assert_int_equal(field_u(d, 0, 152), 1700000001000ull);
	assert_int_equal(field_u(d, 0, 153), 1700000001000ull);
	assert_int_equal(field_u(d, 0, 6), 0x02);
	assert_int_equal(field_u(d, 0, 61), 0); /* ingress */
	assert_int_equal(field_u(d, 0, 10), 0);
	assert_int_equal(field_u(d, 0, 14), 9);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_DROP_REASON),
			 SL_POLICY_DENIED_INGRESS);
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DROP_REASON_NAME,
			 "POLICY_DENIED_INGRESS");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_POD, "server");
}

/* Many records: packed several to a message, never over the bound, the
 * sequence numbers add up, and the templates come back on their own. */
static void test_packing(void **state)
{
	struct fixture *fx = *state;
	size_t total = 0, msgs = 0, later_tpl = 0, max_size = 0;
	const size_t want = 400;
	uint64_t next_id = 1;

	assert_true(recv_msg(fx, 1000));
	for (size_t i = 0; i < want; i++) {
		struct sl_flow_rec r = flow_end();

		r.src.port = (uint16_t)(10000 + i);
		emit(fx, &r);
	}
	sl_ipfix_flush(&fx->x);
	while (recv_msg(fx, 200)) {
		assert_int_equal(fx->m.seq, total);
		/* Several a message, but for the last one (a message with
		 * the three templates has room for four). */
		assert_true(fx->m.n_recs >= 4 || total + fx->m.n_recs == want);
		for (size_t i = 0; i < fx->m.n_recs; i++)
			assert_int_equal(field_u(&fx->m.recs[i], 0, 148),
					 next_id++);
		total += fx->m.n_recs;
		later_tpl += fx->m.n_tpl_sets;
		if (fx->m.size > max_size)
			max_size = fx->m.size;
		msgs++;
	}
	assert_int_equal(total, want);
	assert_true(msgs > SL_IPFIX_TEMPLATE_MSGS);
	assert_true(later_tpl >= 1);
	/* Full messages, not one record each. */
	assert_true(max_size > SL_IPFIX_MSG_MAX - 200);
	assert_int_equal(fx->x.stats.records, want);
	assert_int_equal(fx->x.stats.messages, msgs + 1);
}

/* An end whose sockets were seen goes with their processes and RTT; one
 * without, in the plain template (no empty fields sent). */
static void test_flow_end_process(void **state)
{
	struct fixture *fx = *state;
	struct sl_flow_rec r = flow_end(), plain = flow_end();
	const struct rec *d;

	assert_true(recv_msg(fx, 1000));
	r.proc[0] = (struct sl_flow_process){ .pid = 4321, .tid = 4322,
					      .cgroup_id = 77,
					      .comm = "curl" };
	snprintf(r.proc[0].container, sizeof(r.proc[0].container), "%064x", 0xabc);
	r.proc[1] = (struct sl_flow_process){ .pid = 99, .comm = "nginx" };
	r.rtt = (struct sl_flow_rtt){ .srtt_us = 120, .min_us = 80,
				      .retrans = 2, .valid = 1 };
	emit(fx, &r);
	emit(fx, &plain);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.n_recs, 2);
	d = &fx->m.recs[0];
	assert_int_equal(d->tpl, SL_IPFIX_TPL_FLOW_END_PROC);
	assert_int_equal(field_u(d, 0, 8), CLIENT_IP);
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_POD, "client");
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_SRC_PROCESS_ID), 4321);
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_PROCESS_COMMAND, "curl");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_SRC_CONTAINER_ID,
			 r.proc[0].container);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_DST_PROCESS_ID), 99);
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_PROCESS_COMMAND, "nginx");
	assert_field_str(d, PEN_SL, SL_IPFIX_IE_DST_CONTAINER_ID, "");
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_TCP_SRTT), 120);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_TCP_MIN_RTT), 80);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_TCP_RETRANSMITS), 2);
	assert_int_equal(field_u(d, PEN_SL, SL_IPFIX_IE_RTT_AT), 0);
	assert_int_equal(fx->m.recs[1].tpl, SL_IPFIX_TPL_FLOW_END);
}

/* Strings of 255 bytes and more take the three-byte length; what cannot
 * fit a message is cut, on a character boundary, and counted. */
static void test_long_strings(void **state)
{
	struct fixture *fx = *state;
	struct sl_flow_rec r = flow_end();
	char *labels = malloc(6001);
	const struct value *v;

	assert_non_null(labels);
	assert_true(recv_msg(fx, 1000));
	memset(labels, 'a', 600);
	labels[600] = '\0';
	long_labels = labels;
	r.src.identity = 2000;
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.n_recs, 1);
	v = field(&fx->m.recs[0], PEN_SL, SL_IPFIX_IE_SRC_LABELS);
	assert_int_equal(v->len, 600);
	assert_int_equal(fx->x.stats.truncated, 0);

	/* 3000 two-byte characters: too long for any message. */
	for (size_t i = 0; i < 6000; i += 2) {
		labels[i] = (char)0xc3;
		labels[i + 1] = (char)0xa9; /* é */
	}
	labels[6000] = '\0';
	emit(fx, &r);
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	for (int i = 0; i < 2; i++) {
		assert_true(recv_msg(fx, 1000));
		assert_int_equal(fx->m.n_recs, 1);
		v = field(&fx->m.recs[0], PEN_SL, SL_IPFIX_IE_SRC_LABELS);
		assert_true(v->len > 255 && v->len < 1400);
		assert_int_equal(v->len % 2, 0);
		assert_int_equal(v->p[0], 0xc3);
		assert_field_str(&fx->m.recs[0], PEN_SL, SL_IPFIX_IE_SRC_POD,
				 "client");
	}
	assert_int_equal(fx->x.stats.truncated, 2);
	long_labels = NULL;
	free(labels);
}

/* A send that fails drops its message, counted; the sequence number
 * moves on, so the collector sees the gap. */
static void test_send_failure(void **state)
{
	struct fixture *fx = *state;
	struct sl_flow_rec r = flow_end();
	int sock = dup(fx->x.fd), devnull = open("/dev/null", O_RDONLY);

	assert_true(sock >= 0 && devnull >= 0);
	assert_true(recv_msg(fx, 1000));
	/* Not a socket: every send fails (ENOTSOCK). */
	assert_true(dup2(devnull, fx->x.fd) == fx->x.fd);
	for (int i = 0; i < 3; i++)
		emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_int_equal(fx->x.stats.send_errors, 1);
	assert_int_equal(fx->x.stats.records_dropped, 3);
	assert_int_equal(fx->x.stats.records, 0);

	assert_true(dup2(sock, fx->x.fd) == fx->x.fd);
	emit(fx, &r);
	sl_ipfix_flush(&fx->x);
	assert_true(recv_msg(fx, 1000));
	assert_int_equal(fx->m.seq, 3);
	assert_int_equal(fx->m.n_recs, 1);
	assert_int_equal(fx->x.stats.records, 1);
	close(sock);
	close(devnull);
}

static void test_parse_collector(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:4739", "[::1]:4739", "localhost:4739",
	};
	static const char *const bad[] = {
		"", "127.0.0.1", ":4739", "127.0.0.1:0", "127.0.0.1:65536",
		"::1:4739", "10.1:4739x", "no_such host:4739",
	};
	struct sl_ipfix x;
	char why[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		memset(&x, 0, sizeof(x));
		if (sl_ipfix_parse_collector(good[i], &x, why, sizeof(why)) < 0)
			fail_msg("%s refused: %s", good[i], why);
		assert_true(x.collector.n >= 1);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		memset(&x, 0, sizeof(x));
		why[0] = '\0';
		if (sl_ipfix_parse_collector(bad[i], &x, why, sizeof(why)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(why[0] != '\0');
	}
	/* Without a collector, nothing opens and nothing is registered. */
	{
		struct sl_flows f;

		memset(&x, 0, sizeof(x));
		assert_int_equal(sl_flows_init(&f, 4, &names), 0);
		assert_int_equal(sl_ipfix_open(&x, &f, "node-a", -1), 0);
		assert_int_equal(f.n_sinks, 0);
		sl_ipfix_close(&x);
		sl_flows_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_end_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flow_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_strings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_send_failure, setup,
						teardown),
		cmocka_unit_test(test_parse_collector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

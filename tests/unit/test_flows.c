// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records (agent/flows.c): each kind of datapath event decoded into a
 * record, the names captured and looked up, the Hubble-style JSON, the
 * recent buffer wrapping, expiry ends, sinks and followers; the join of
 * socket events (processes, RTT) in either order, its wait and its
 * bounds; container ids from cgroup paths.
 */
#include "unit.h"

#include "cgroup.h"
#include "flow_file.h"
#include "flow_source.h"
#include "flows.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/event.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>

#define IP_A "10.244.1.10"
#define IP_B "10.244.1.20"

/* --- names: two pods, one Service, one policy --------------------------- */

static const char *pod_at(void *ctx, uint32_t ip, uint32_t *identity)
{
	(void)ctx;
	if (ip == ip4(IP_A)) {
		*identity = 1000;
		return "shop/client";
	}
	if (ip == ip4(IP_B)) {
		*identity = 1001;
		return "shop/server";
	}
	return NULL;
}

static const char *labels_of(void *ctx, uint32_t identity)
{
	(void)ctx;
	return identity == 1001 ? "app=server,tier=web" :
	       identity == 1000 ? "app=client" : NULL;
}

static const char *service_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return id == 42 ? "shop/web:http/TCP" : NULL;
}

static const char *policy_of(void *ctx, uint32_t id)
{
	(void)ctx;
	return id == 77 ? "shop/allow-client" : NULL;
}

#define CONTAINER_ID \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *container_of(void *ctx, uint64_t cgroup_id)
{
	(void)ctx;
	return cgroup_id == 4242 ? CONTAINER_ID : NULL;
}

static const struct sl_flow_names names = {
	.pod_at = pod_at, .labels_of = labels_of, .service_of = service_of,
	.policy_of = policy_of, .container_of = container_of,
	.node_name = "n1",
};

static void hdr_fill(struct sl_event_hdr *h, uint8_t type, uint8_t subtype,
		     uint8_t dir, uint16_t len)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	h->type = type;
	h->subtype = subtype;
	h->version = SL_EVENT_VERSION;
	h->dir = dir;
	h->ifindex = 7;
	h->hdr_len = len;
	h->pkt_len = 74;
	h->ts_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
}

/* The record JSON of the newest record, as a string, for lookups. */
static json_object *newest_json(const struct sl_flows *f)
{
	json_object *arr = sl_flows_recent_json(f, 1), *o;

	assert_int_equal(json_object_array_length(arr), 1);
	o = json_object_get(json_object_array_get_idx(arr, 0));
	json_object_put(arr);
	return o;
}

static const char *path_str(json_object *o, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;

	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (!b)
		return json_object_get_string(x);
	if (!json_object_object_get_ex(x, b, &y))
		return NULL;
	return json_object_get_string(y);
}

static const char *plain(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static struct sl_flow_event flow_event(uint8_t kind)
{
	struct sl_flow_event ev = { 0 };

	hdr_fill(&ev.hdr, SL_EVENT_FLOW, kind, SL_DIR_EGRESS, sizeof(ev));
	ev.saddr = htonl(ip4(IP_A));
	ev.daddr = htonl(ip4(IP_B));
	ev.sport = htons(41000);
	ev.dport = htons(80);
	ev.proto = IPPROTO_TCP;
	ev.tcp_flags[0] = 0x02 | 0x10 | 0x01;
	ev.tcp_flags[1] = 0x12 | 0x01;
	ev.packets[0] = 5;
	ev.packets[1] = 4;
	ev.bytes[0] = 400;
	ev.bytes[1] = 300;
	ev.policy_id[SL_POLICY_INGRESS] = 77;
	return ev;
}

/* --- cases --------------------------------------------------------------- */

static void test_drop(void **state)
{
	struct sl_drop_event ev = { 0 };
	struct sl_flows f;
	json_object *o;
	uint8_t *p = ev.data;
	uint32_t a = htonl(ip4(IP_A)), b = htonl(ip4(IP_B));
	uint16_t sp = htons(41000), dp = htons(80);

	(void)state;
	hdr_fill(&ev.hdr, SL_EVENT_DROP, SL_POLICY_DENIED_INGRESS,
		 SL_DIR_EGRESS, sizeof(ev.hdr));
	ev.hdr.cap_len = 64;
	p[12] = 0x08;
	p[14] = 0x45;
	p[14 + 9] = IPPROTO_TCP;
	memcpy(p + 26, &a, 4);
	memcpy(p + 30, &b, 4);
	memcpy(p + 34, &sp, 2);
	memcpy(p + 36, &dp, 2);
	p[34 + 13] = 0x02;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	assert_int_equal(sl_flows_event(&f, &ev, sizeof(ev)), 0);
	assert_int_equal(f.count, 1);
	o = newest_json(&f);
	assert_string_equal(path_str(o, "verdict", NULL), "DROPPED");
	assert_string_equal(path_str(o, "drop_reason_desc", NULL),
			    "POLICY_DENIED_INGRESS");
	assert_string_equal(path_str(o, "flow_event", NULL), "drop");
	assert_string_equal(path_str(o, "IP", "source"), IP_A);
	assert_string_equal(path_str(o, "IP", "destination"), IP_B);
	assert_string_equal(path_str(o, "source", "pod_name"), "client");
	assert_string_equal(path_str(o, "destination", "namespace"), "shop");
	assert_string_equal(path_str(o, "traffic_direction", NULL), "EGRESS");
	assert_string_equal(path_str(o, "node_name", NULL), "n1");
	assert_non_null(strstr(plain(o),
			       "\"TCP\":{\"flags\":{\"SYN\":true},"
			       "\"source_port\":41000,\"destination_port\":80}"));
	assert_non_null(strstr(plain(o),
			       "\"k8s:tier=web\""));
	assert_int_equal(f.by_kind[SL_FLOW_REC_DROP][1], 1);
	json_object_put(o);
	sl_flows_free(&f);
}

static void test_start_end(void **state)
{
	struct sl_flow_event start = flow_event(SL_FLOW_START);
	struct sl_flow_event end = flow_event(SL_FLOW_CLOSE);
	struct timespec boot, mono;
	struct sl_flows f;
	json_object *o, *x;

	(void)state;
	/* Born 2 s before the close, in boot time. */
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	end.created_ns = (uint64_t)boot.tv_sec * 1000000000ull + boot.tv_nsec -
			 2000000000ull;
	start.created_ns = end.created_ns;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	sl_flows_event(&f, &start, sizeof(start));
	sl_flows_event(&f, &end, sizeof(end));
	assert_int_equal(f.count, 2);
	o = newest_json(&f);
	assert_string_equal(path_str(o, "flow_event", NULL), "end");
	assert_string_equal(path_str(o, "verdict", NULL), "FORWARDED");
	assert_true(json_object_object_get_ex(o, "flow_end", &x));
	assert_string_equal(path_str(x, "reason", NULL), "fin");
	assert_string_equal(path_str(x, "packets_sent", NULL), "5");
	assert_string_equal(path_str(x, "bytes_received", NULL), "300");
	/* 2 s, give or take the clock reads. */
	assert_true(json_object_get_int64(json_object_object_get(x, "duration_ns")) >
		    1900000000ll);
	assert_true(json_object_get_int64(json_object_object_get(x, "duration_ns")) <
		    2100000000ll);
	assert_non_null(strstr(plain(o),
			       "\"ingress_allowed_by\":[{\"namespace\":\"shop\","
			       "\"name\":\"allow-client\",\"id\":77}]"));
	json_object_put(o);
	sl_flows_free(&f);
	(void)mono;
}

static void test_service_and_rst(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_CLOSE);
	struct sl_flows f;
	json_object *o;

	(void)state;
	ev.svc_id = 42;
	ev.nat_daddr = htonl(ip4(IP_B));
	ev.nat_dport = htons(8080);
	ev.daddr = htonl(ip4("10.96.0.10"));
	ev.tcp_flags[1] |= 0x04;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	sl_flows_event(&f, &ev, sizeof(ev));
	o = newest_json(&f);
	assert_string_equal(path_str(o, "destination_service", "name"), "web");
	assert_string_equal(path_str(o, "destination_service", "namespace"), "shop");
	assert_string_equal(path_str(o, "nat", "destination"), IP_B);
	assert_string_equal(path_str(o, "flow_end", "reason"), "rst");
	json_object_put(o);
	sl_flows_free(&f);
}

static void test_verdict(void **state)
{
	struct sl_policy_event ev = { 0 };
	struct sl_flows f;
	json_object *o;

	(void)state;
	hdr_fill(&ev.hdr, SL_EVENT_POLICY, SL_VERDICT_ALLOWED, SL_DIR_INGRESS,
		 sizeof(ev));
	ev.saddr = htonl(ip4("192.0.2.9"));
	ev.daddr = htonl(ip4(IP_B));
	ev.sport = htons(5000);
	ev.dport = htons(53);
	ev.proto = IPPROTO_UDP;
	ev.ep = ev.daddr;
	ev.remote_id = SL_ID_WORLD;
	ev.policy_id = 77;
	ev.match = SL_MATCH_L4;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	sl_flows_event(&f, &ev, sizeof(ev));
	o = newest_json(&f);
	assert_string_equal(path_str(o, "flow_event", NULL), "policy-verdict");
	assert_string_equal(path_str(o, "traffic_direction", NULL), "INGRESS");
	assert_string_equal(path_str(o, "ingress_allowed_by", NULL) ?
				    "present" : "absent", "present");
	/* Not a pod: the world, by its reserved identity. */
	assert_non_null(strstr(plain(o),
			       "\"source\":{\"identity\":2,\"labels\":[\"reserved:world\"]}"));
	assert_non_null(strstr(plain(o),
			       "\"UDP\":{\"source_port\":5000,\"destination_port\":53}"));
	json_object_put(o);
	sl_flows_free(&f);
}

static void test_malformed(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	struct sl_flows f;
	uint8_t junk[3] = { 1, 2, 3 };

	(void)state;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	sl_flows_event(&f, junk, sizeof(junk));
	sl_flows_event(&f, &ev, sizeof(ev) - 1);
	ev.hdr.version = SL_EVENT_VERSION + 1;
	sl_flows_event(&f, &ev, sizeof(ev));
	ev.hdr.version = SL_EVENT_VERSION;
	ev.hdr.subtype = 9;
	sl_flows_event(&f, &ev, sizeof(ev));
	ev.hdr.type = 99;
	sl_flows_event(&f, &ev, sizeof(ev));
	assert_int_equal(f.count, 0);
	assert_int_equal(f.decode_errors, 5);
	sl_flows_free(&f);
}

static void test_ring_wraps(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	struct sl_flows f;
	json_object *arr;

	(void)state;
	assert_int_equal(sl_flows_init(&f, 4, &names), 0);
	for (int i = 0; i < 10; i++)
		sl_flows_event(&f, &ev, sizeof(ev));
	arr = sl_flows_recent_json(&f, 0);
	assert_int_equal(json_object_array_length(arr), 4);
	assert_string_equal(path_str(json_object_array_get_idx(arr, 0), "seq", NULL), "7");
	assert_string_equal(path_str(json_object_array_get_idx(arr, 3), "seq", NULL), "10");
	json_object_put(arr);
	arr = sl_flows_recent_json(&f, 2);
	assert_int_equal(json_object_array_length(arr), 2);
	assert_string_equal(path_str(json_object_array_get_idx(arr, 0), "seq", NULL), "9");
	json_object_put(arr);
	assert_int_equal(f.by_kind[SL_FLOW_REC_START][0], 10);
	sl_flows_free(&f);
}

static void test_expired(void **state)
{
	struct sl_ct_key k = { .saddr = htonl(ip4(IP_A)), .daddr = htonl(ip4(IP_B)),
			       .sport = htons(5353), .dport = htons(53),
			       .proto = IPPROTO_UDP, .dir = SL_CT_OUT };
	struct sl_ct_entry e = { .created_ns = 1000000000ull,
				 .packets = { 2, 1 }, .bytes = { 100, 60 } };
	struct sl_flows f;
	json_object *o;

	(void)state;
	assert_int_equal(sl_flows_init(&f, 8, &names), 0);
	/* Closed TCP: its end came at the close. REPLY: not a connection. */
	e.flags = SL_CT_F_CLOSING;
	sl_flows_expired(&f, &k, &e, 5000000000ull);
	e.flags = 0;
	k.dir = SL_CT_REPLY;
	sl_flows_expired(&f, &k, &e, 5000000000ull);
	assert_int_equal(f.count, 0);
	k.dir = SL_CT_OUT;
	sl_flows_expired(&f, &k, &e, 5000000000ull);
	o = newest_json(&f);
	assert_string_equal(path_str(o, "flow_end", "reason"), "timeout");
	assert_string_equal(path_str(o, "flow_end", "duration_ns"), "4000000000");
	assert_string_equal(path_str(o, "flow_end", "packets_received"), "1");
	json_object_put(o);
	sl_flows_free(&f);
}

/* --- the socket join ------------------------------------------------------ */

/* A socket's event: its view (local first), owner, and at close an RTT. */
static struct sl_sock_event sock_event(uint8_t kind, uint8_t side,
				       const char *laddr, uint16_t lport,
				       const char *raddr, uint16_t rport,
				       uint64_t cookie, uint32_t pid,
				       const char *comm)
{
	struct sl_sock_event ev = { 0 };

	hdr_fill(&ev.hdr, SL_EVENT_SOCK, kind,
		 side == SL_SOCK_PASSIVE ? SL_DIR_INGRESS : SL_DIR_EGRESS,
		 sizeof(ev));
	ev.laddr = htonl(ip4(laddr));
	ev.raddr = htonl(ip4(raddr));
	ev.lport = htons(lport);
	ev.rport = htons(rport);
	ev.proto = IPPROTO_TCP;
	ev.side = side;
	ev.cookie = cookie;
	ev.owner.tgid = pid;
	ev.owner.pid = pid + 1;
	ev.owner.cgroup_id = pid ? 4242 : 0;
	snprintf(ev.owner.comm, sizeof(ev.owner.comm), "%s", comm ? comm : "");
	if (kind == SL_SOCK_CLOSE) {
		ev.state = SL_TCP_FIN_WAIT1;
		ev.srtt_us = 100 + (uint32_t)cookie;
		ev.rtt_min_us = 50;
		ev.retrans = 1;
	}
	return ev;
}

static void feed(struct sl_flows *f, const void *ev, size_t len)
{
	uint64_t errors = f->decode_errors;

	assert_int_equal(sl_flows_event(f, ev, len), 0);
	assert_int_equal(f->decode_errors, errors);
}

#define FEED(f, ev) feed((f), &(ev), sizeof(ev))

static int64_t json_int(json_object *o, const char *a, const char *b)
{
	const char *v = path_str(o, a, b);

	assert_non_null(v);
	return strtoll(v, NULL, 10);
}

/* The join's cases: flow_event()'s connection, client A:41000 (curl,
 * socket 1) to server B:80 (nginx, socket 2), its start and its close. */
struct join {
	struct sl_flows f;
	struct sl_sock_event c_open, s_open, c_close, s_close;
	struct sl_flow_event start, end;
	json_object *o; /* the newest record, once asked for */
};

static int join_setup(void **state)
{
	struct join *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	assert_int_equal(sl_flows_init(&j->f, 8, &names), 0);
	j->c_open = sock_event(SL_SOCK_OPEN, SL_SOCK_ACTIVE, IP_A, 41000,
			       IP_B, 80, 1, 1234, "curl");
	j->s_open = sock_event(SL_SOCK_OPEN, SL_SOCK_PASSIVE, IP_B, 80, IP_A,
			       41000, 2, 99, "nginx");
	j->c_close = sock_event(SL_SOCK_CLOSE, 0, IP_A, 41000, IP_B, 80, 1, 0,
				NULL);
	j->s_close = sock_event(SL_SOCK_CLOSE, 0, IP_B, 80, IP_A, 41000, 2, 0,
				NULL);
	j->start = flow_event(SL_FLOW_START);
	j->end = flow_event(SL_FLOW_CLOSE);
	*state = j;
	return 0;
}

static int join_teardown(void **state)
{
	struct join *j = *state;

	json_object_put(j->o);
	sl_flows_free(&j->f);
	free(j);
	return 0;
}

/* The newest record's JSON, kept until the next call or the teardown. */
static json_object *newest(struct join *j)
{
	json_object_put(j->o);
	j->o = newest_json(&j->f);
	return j->o;
}

/* Sockets before the close (the usual order): the start names the
 * client, the end goes at once with both ends and the client's RTT. */
static void test_join_sockets_first(void **state)
{
	struct join *j = *state;
	json_object *o;

	j->start.created_ns = j->end.created_ns = 555;
	FEED(&j->f, j->c_open);
	assert_int_equal(j->f.count, 0); /* not a record */
	FEED(&j->f, j->start);
	o = newest(j);
	assert_string_equal(path_str(o, "process", "comm"), "curl");
	assert_int_equal(json_int(o, "process", "pid"), 1234);
	assert_int_equal(json_int(o, "process", "tid"), 1235);
	assert_int_equal(json_int(o, "process", "cgroup_id"), 4242);
	assert_string_equal(path_str(o, "process", "container_id"), CONTAINER_ID);
	assert_null(path_str(o, "destination_process", NULL));
	assert_null(path_str(o, "rtt", NULL));

	FEED(&j->f, j->s_open);
	FEED(&j->f, j->c_close);
	FEED(&j->f, j->s_close);
	FEED(&j->f, j->end);
	assert_int_equal(j->f.count, 2);
	assert_int_equal(j->f.n_pending, 0);
	o = newest(j);
	assert_string_equal(path_str(o, "flow_event", NULL), "end");
	assert_string_equal(path_str(o, "process", "comm"), "curl");
	assert_string_equal(path_str(o, "destination_process", "comm"), "nginx");
	assert_int_equal(json_int(o, "destination_process", "pid"), 99);
	assert_int_equal(json_int(o, "rtt", "srtt_us"), 101); /* the client's */
	assert_int_equal(json_int(o, "rtt", "min_us"), 50);
	assert_int_equal(json_int(o, "rtt", "retransmits"), 1);
	assert_string_equal(path_str(o, "rtt", "measured_at"), "source");
	/* Done with: the table forgot both sockets. */
	assert_int_equal(j->f.socks.count, 0);
	assert_int_equal(j->f.sock_events, 4);
}

/* The close before a socket's (a reset's receiver): held, and out as
 * soon as the last socket reported, not before. */
static void test_join_close_first(void **state)
{
	struct join *j = *state;
	json_object *o;

	FEED(&j->f, j->c_open);
	FEED(&j->f, j->s_open);
	FEED(&j->f, j->end);
	assert_int_equal(j->f.count, 0);
	assert_int_equal(j->f.n_pending, 1);
	FEED(&j->f, j->s_close);
	assert_int_equal(j->f.count, 0); /* the client's still open */
	FEED(&j->f, j->c_close);
	assert_int_equal(j->f.count, 1);
	assert_int_equal(j->f.n_pending, 0);
	assert_int_equal(j->f.ends_waited[0], 1);
	assert_int_equal(j->f.ends_waited[1], 0);
	o = newest(j);
	assert_string_equal(path_str(o, "process", "comm"), "curl");
	assert_string_equal(path_str(o, "destination_process", "comm"), "nginx");
	assert_int_equal(json_int(o, "rtt", "srtt_us"), 101);
	/* The record keeps the close's time, not the release's. */
	assert_int_equal(j->f.ring[0].time.tv_sec,
			 (int64_t)(j->end.hdr.ts_ns + j->f.realtime_offset_ns) /
				 1000000000);
}

/* A socket that never reports: the end goes when the wait is over, with
 * what is known; only the destination measured: its RTT. */
static void test_join_timeout(void **state)
{
	struct join *j = *state;
	uint64_t deadline = j->end.hdr.ts_ns + SL_FLOWS_JOIN_WAIT_NS;
	json_object *o;

	FEED(&j->f, j->c_open);
	FEED(&j->f, j->s_open);
	FEED(&j->f, j->s_close);
	FEED(&j->f, j->end);
	assert_int_equal(j->f.n_pending, 1);
	assert_int_equal(sl_flows_flush(&j->f, deadline - 1), deadline);
	assert_int_equal(j->f.count, 0);
	assert_int_equal(sl_flows_flush(&j->f, deadline), 0);
	assert_int_equal(j->f.count, 1);
	assert_int_equal(j->f.ends_waited[1], 1);
	o = newest(j);
	assert_string_equal(path_str(o, "process", "comm"), "curl");
	assert_int_equal(json_int(o, "rtt", "srtt_us"), 102);
	assert_string_equal(path_str(o, "rtt", "measured_at"), "destination");

	/* Nothing known of the sockets: no wait at all. */
	FEED(&j->f, j->end);
	assert_int_equal(j->f.count, 2);
	assert_int_equal(j->f.n_pending, 0);
	assert_null(path_str(newest(j), "process", NULL));
}

/* A Service connection: the client's socket sees the VIP, the server's
 * the client; the record joins both through its backend. And an end
 * from conntrack's expiry is joined at once. */
static void test_join_service_expired(void **state)
{
	struct join *j = *state;
	struct sl_ct_key k = { .saddr = htonl(ip4(IP_A)),
			       .daddr = htonl(ip4("10.96.0.10")),
			       .sport = htons(41000), .dport = htons(80),
			       .proto = IPPROTO_TCP, .dir = SL_CT_OUT };
	struct sl_ct_entry e = { .created_ns = 1000000000ull,
				 .nat_daddr = htonl(ip4(IP_B)),
				 .nat_dport = htons(8080), .svc_id = 42 };
	json_object *o;

	j->c_open.raddr = k.daddr;
	j->s_open.lport = e.nat_dport;
	FEED(&j->f, j->c_open);
	FEED(&j->f, j->s_open);
	sl_flows_expired(&j->f, &k, &e, 5000000000ull);
	assert_int_equal(j->f.count, 1);
	o = newest(j);
	assert_string_equal(path_str(o, "process", "comm"), "curl");
	assert_string_equal(path_str(o, "destination_process", "comm"), "nginx");
	assert_null(path_str(o, "rtt", NULL));
}

/* UDP: a socket bound to no address is found by port; it outlives a
 * flow (a new one may start on it); a second namespace's socket on the
 * same key makes it ambiguous, named by nobody. */
static void test_join_udp(void **state)
{
	struct join *j = *state;
	struct sl_sock_event *open = &j->c_open;
	struct sl_ct_key k = { .saddr = htonl(ip4(IP_A)), .daddr = htonl(ip4(IP_B)),
			       .sport = htons(41000), .dport = htons(80),
			       .proto = IPPROTO_UDP, .dir = SL_CT_OUT };
	struct sl_ct_entry e = { .created_ns = 777 };

	open->laddr = 0;
	open->side = SL_SOCK_DATAGRAM;
	open->proto = j->start.proto = IPPROTO_UDP;
	open->netns_cookie = 5;
	j->start.created_ns = 777;
	FEED(&j->f, *open);
	FEED(&j->f, j->start);
	assert_string_equal(path_str(newest(j), "process", "comm"), "curl");
	sl_flows_expired(&j->f, &k, &e, 5000000000ull);
	assert_string_equal(path_str(newest(j), "flow_event", NULL), "end");
	assert_string_equal(path_str(j->o, "process", "comm"), "curl");
	assert_int_equal(j->f.socks.count, 1); /* kept for the next flow */

	/* Another namespace's socket on the key, soon after: nobody. */
	open->cookie = 2;
	open->netns_cookie = 6;
	snprintf(open->owner.comm, sizeof(open->owner.comm), "other");
	FEED(&j->f, *open);
	j->start.created_ns = 778;
	FEED(&j->f, j->start);
	assert_null(path_str(newest(j), "process", NULL));
	/* Long after, a new socket there is named again. */
	open->cookie = 3;
	open->hdr.ts_ns += SL_FLOWS_UDP_REUSE_NS;
	FEED(&j->f, *open);
	j->start.created_ns = 779;
	FEED(&j->f, j->start);
	assert_string_equal(path_str(newest(j), "process", "comm"), "other");
}

/* A socket that named one flow's start does not name another flow on its
 * tuple (a reused tuple the table missed the end of). */
static void test_join_claimed(void **state)
{
	struct join *j = *state;

	j->start.created_ns = 1;
	j->end.created_ns = 2;
	FEED(&j->f, j->c_open);
	FEED(&j->f, j->start);
	FEED(&j->f, j->end); /* another flow's: not held for this socket */
	assert_int_equal(j->f.count, 2);
	assert_null(path_str(newest(j), "process", NULL));
}

/* Bounds: the table keeps the most recent sockets, the held ends the
 * most recent; what falls out is counted (sockets) or sent (ends). */
static void test_join_bounds(void **state)
{
	struct join *j = *state;
	struct sl_sock_event ev = j->c_open;

	FEED(&j->f, j->c_open);
	for (uint32_t i = 0; i < SL_FLOWS_SOCKS_MAX; i++) {
		ev.cookie = 10 + i;
		ev.lport = htons((uint16_t)(1000 + i % 30000));
		ev.raddr = htonl(ip4("10.1.0.0") + i / 30000);
		FEED(&j->f, ev);
	}
	assert_int_equal(j->f.socks.count, SL_FLOWS_SOCKS_MAX);
	assert_int_equal(j->f.socks.evicted, 1);
	FEED(&j->f, j->start); /* A:41000's socket was the oldest: gone */
	assert_null(path_str(newest(j), "process", NULL));

	/* One held end too many: the oldest goes as it is. */
	ev = j->c_open;
	for (uint32_t i = 0; i <= SL_FLOWS_PENDING_MAX; i++) {
		ev.cookie = 100000 + i;
		ev.lport = j->end.sport = htons((uint16_t)(50000 + i));
		FEED(&j->f, ev);
		FEED(&j->f, j->end);
	}
	assert_int_equal(j->f.n_pending, SL_FLOWS_PENDING_MAX);
	assert_int_equal(j->f.ends_waited[1], 1);
	assert_non_null(strstr(plain(newest(j)), "\"source_port\":50000,"));
	assert_string_equal(path_str(j->o, "process", "comm"), "curl");
	/* The teardown's free sends what waits. */
}

/* Closed sockets no end claimed are forgotten after a while. */
static void test_join_linger(void **state)
{
	struct join *j = *state;
	uint64_t closed = j->c_close.hdr.ts_ns;

	FEED(&j->f, j->c_open);
	FEED(&j->f, j->c_close);
	assert_int_equal(j->f.socks.count, 1);
	sl_flows_flush(&j->f, closed + SL_FLOWS_SOCK_LINGER_NS / 2);
	assert_int_equal(j->f.socks.count, 1);
	j->f.socks.swept_ns = 0;
	sl_flows_flush(&j->f, closed + SL_FLOWS_SOCK_LINGER_NS + 1);
	assert_int_equal(j->f.socks.count, 0);
}

static void test_container_id(void **state)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{ "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod1234_5678.slice/cri-containerd-"
		  CONTAINER_ID ".scope", CONTAINER_ID },
		{ "/kubepods.slice/kubepods-pod1.slice/crio-" CONTAINER_ID
		  ".scope", CONTAINER_ID },
		{ "/system.slice/docker-" CONTAINER_ID ".scope", CONTAINER_ID },
		{ "/machine.slice/libpod-" CONTAINER_ID ".scope/container",
		  CONTAINER_ID },
		/* cgroupfs driver: the bare id, and CRI-O's prefix */
		{ "/kubepods/besteffort/pod1234-5678/" CONTAINER_ID, CONTAINER_ID },
		{ "/kubepods/pod1/crio-" CONTAINER_ID, CONTAINER_ID },
		{ "/docker/" CONTAINER_ID "/", CONTAINER_ID },
		/* a process in a cgroup of its own inside the container */
		{ "/k.slice/cri-containerd-" CONTAINER_ID ".scope/init.scope",
		  CONTAINER_ID },
		/* not containers */
		{ "/kubepods.slice/crio-conmon-" CONTAINER_ID ".scope", "" },
		{ "/system.slice/sshd.service", "" },
		{ "/user.slice/user-1000.slice/session-2.scope", "" },
		{ "/docker/" CONTAINER_ID "0", "" },
		{ "/docker/0123456789AB", "" },
		{ "/cri-containerd-.scope", "" },
		{ "", "" },
		{ "/", "" },
	};
	char out[72];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = sl_flow_container_id(cases[i].path, out, sizeof(out));

		if (strcmp(out, cases[i].want) || n != strlen(cases[i].want))
			fail_msg("%s: '%s' (%zu), want '%s'", cases[i].path, out,
				 n, cases[i].want);
	}
	/* No room for an id: none written. */
	assert_int_equal(sl_flow_container_id("/docker/" CONTAINER_ID, out, 64),
			 0);
	assert_string_equal(out, "");
}

/* A cgroup id back to its directory: the cgroup v2 mount's own root,
 * and an id no cgroup has. Skipped without a cgroup v2 mount. */
static void test_cgroup_path(void **state)
{
	char mount[PATH_MAX], path[PATH_MAX];
	struct stat st;
	int fd;

	(void)state;
	if (!sl_cgroup_v2_mount(mount))
		skip();
	fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (sl_flow_cgroup_path(fd, st.st_ino, path, sizeof(path)) == -EIO) {
		close(fd);
		skip(); /* no /proc here */
	}
	assert_int_equal(sl_flow_cgroup_path(fd, st.st_ino, path, sizeof(path)),
			 0);
	assert_string_equal(path, mount);
	assert_int_equal(sl_flow_cgroup_path(fd, UINT64_MAX - 7, path,
					     sizeof(path)), -ENOENT);
	close(fd);
}

static unsigned int sink_calls;
static uint64_t sink_last_seq;

static void sink(void *ctx, const struct sl_flows *f,
		 const struct sl_flow_rec *r)
{
	(void)f;
	assert_ptr_equal(ctx, &sink_calls);
	sink_calls++;
	sink_last_seq = r->seq;
}

static void test_sinks(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	struct sl_flow_sink s = { .record = sink, .ctx = &sink_calls };
	struct sl_flows f;

	(void)state;
	assert_int_equal(sl_flows_init(&f, 2, &names), 0);
	for (int i = 0; i < SL_FLOWS_SINKS_MAX; i++)
		assert_int_equal(sl_flows_add_sink(&f, &s), 0);
	assert_int_equal(sl_flows_add_sink(&f, &s), -ENOSPC);
	sl_flows_event(&f, &ev, sizeof(ev));
	sl_flows_event(&f, &ev, sizeof(ev));
	sl_flows_event(&f, &ev, sizeof(ev));
	assert_int_equal(sink_calls, 3 * SL_FLOWS_SINKS_MAX);
	assert_int_equal(sink_last_seq, 3);
	sl_flows_free(&f);
}

/* Flows of 8 records and one follower: sv[0] the agent's end (non-
 * blocking, as the API hands it over), sv[1] the client's. */
static void flows_with_follower(struct sl_flows *f, int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(sl_flows_init(f, 8, &names), 0);
	assert_int_equal(sl_flows_follow(f, sv[0]), 0);
}

static void test_followers(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	struct sl_flows f;
	char buf[8192];
	ssize_t n;
	int sv[2];

	(void)state;
	flows_with_follower(&f, sv);
	assert_true(sl_flows_is_follower(&f, sv[0]));
	sl_flows_event(&f, &ev, sizeof(ev));
	n = read(sv[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(buf[n - 1], '\n');
	assert_non_null(strstr(buf, "\"flow_event\":\"start\""));
	assert_int_equal(sl_flows_pump(&f, sv[0]), 0);
	/* The follower leaves: the agent drops it (and closes its end). */
	close(sv[1]);
	assert_int_equal(sl_flows_pump(&f, sv[0]), -1);
	assert_false(sl_flows_is_follower(&f, sv[0]));
	assert_int_equal(f.n_followers, 0);
	sl_flows_free(&f);
}

/* A follower that never reads gets at most SL_FLOWS_FOLLOW_BUF queued;
 * the rest is skipped and counted, and nobody else waits for it. */
static void test_slow_follower(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	struct sl_flows f;
	int sv[2];

	(void)state;
	flows_with_follower(&f, sv);
	for (int i = 0; i < 20000; i++)
		sl_flows_event(&f, &ev, sizeof(ev));
	assert_true(f.followers[0].skipped > 0);
	assert_true(sl_flows_pending(&f, sv[0]) <= SL_FLOWS_FOLLOW_BUF);
	assert_int_equal(f.count, 8);
	close(sv[1]);
	sl_flows_free(&f);
}

/* Count the lines of a file, each of which must be a JSON record. */
static int json_lines(const char *path)
{
	char line[8192];
	int n = 0;
	FILE *in = fopen(path, "r");

	if (!in)
		return -1;
	while (fgets(line, sizeof(line), in)) {
		json_object *o = json_tokener_parse(line);

		assert_non_null(o);
		json_object_put(o);
		n++;
	}
	fclose(in);
	return n;
}

/* The file sink rotates by size, keeps `keep` old files, and every line of
 * every file is a whole record. */
static void test_file_sink(void **state)
{
	struct sl_flow_event ev = flow_event(SL_FLOW_START);
	char dir[] = "/tmp/sl-flows-XXXXXX", path[64], old[80];
	struct sl_flow_file ff;
	struct sl_flow_sink s;
	struct sl_flows f;
	int total = 0, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.json", dir);
	assert_int_equal(sl_flow_file_open(&ff, path, 4096, 2), 0);
	s = sl_flow_file_sink(&ff);
	assert_int_equal(sl_flows_init(&f, 4, &names), 0);
	assert_int_equal(sl_flows_add_sink(&f, &s), 0);
	for (int i = 0; i < 40; i++)
		sl_flows_event(&f, &ev, sizeof(ev));
	assert_int_equal(ff.written, 40);
	assert_int_equal(ff.errors, 0);
	assert_true(ff.rotations >= 2);
	n = json_lines(path);
	assert_true(n > 0);
	total += n;
	for (int k = 1; k <= 2; k++) {
		snprintf(old, sizeof(old), "%s.%d", path, k);
		n = json_lines(old);
		assert_true(n > 0);
		total += n;
	}
	snprintf(old, sizeof(old), "%s.3", path);
	assert_int_equal(json_lines(old), -1); /* only two kept */
	assert_true(total < 40); /* the oldest went */
	sl_flows_free(&f);
	sl_flow_file_close(&ff);
	for (int k = 0; k <= 2; k++) {
		snprintf(old, sizeof(old), k ? "%s.%d" : "%s", path, k);
		unlink(old);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_start_end),
		cmocka_unit_test(test_service_and_rst),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_sinks),
		cmocka_unit_test(test_followers),
		cmocka_unit_test(test_slow_follower),
		cmocka_unit_test(test_file_sink),
		cmocka_unit_test_setup_teardown(test_join_sockets_first, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_close_first, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_timeout, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_service_expired, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_udp, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_claimed, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_bounds, join_setup,
						join_teardown),
		cmocka_unit_test_setup_teardown(test_join_linger, join_setup,
						join_teardown),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_cgroup_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

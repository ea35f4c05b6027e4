// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow events: conntrack reports each connection's start when its entry
 * is made and its TCP close when a RST or the second FIN marks it, with
 * the counters of both ways; the agent's flow records are built on them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include <sluice/config.h>
#include <sluice/conntrack.h>

#include "runner.h"
#include "svc.h"

#define CPORT 41000
#define PORT 80
#define FE_IP IP4(10, 96, 0, 10)
#define BE_PORT 8080

static struct step fwd(enum ep_id from, enum ep_id to, struct pkt_spec spec)
{
	return (struct step){
		.prog = FROM_POD, .dev = from, .in = spec, .out = spec,
		.ret = TC_ACT_REDIRECT, .to = to,
		.count = { SL_REDIRECT_PEER },
	};
}

/* The i-th flow event of the last step, against the connection's tuple
 * (host byte order) as its first packet carried it. */
static void check_flow(unsigned int i, __u8 kind, __u8 dir, enum ep_id dev,
		       __u32 saddr, __u16 sport, __u32 daddr, __u16 dport)
{
	const struct sl_flow_event *f = &events.flow[i];

	if (!CHECK(events.flows > i, "%u flow events, want event %u",
		   events.flows, i + 1))
		return;
	CHECK(f->hdr.subtype == kind && f->hdr.dir == dir &&
	      f->hdr.ifindex == eps[dev].ifindex &&
	      f->hdr.version == SL_EVENT_VERSION &&
	      f->hdr.hdr_len == sizeof(*f),
	      "flow %u: kind %u dir %u ifindex %u, want %u, %u, %u", i,
	      f->hdr.subtype, f->hdr.dir, f->hdr.ifindex, kind, dir,
	      eps[dev].ifindex);
	CHECK(f->saddr == htonl(saddr) && f->sport == htons(sport) &&
	      f->daddr == htonl(daddr) && f->dport == htons(dport) &&
	      f->proto == IPPROTO_TCP,
	      "flow %u: tuple %08x:%u > %08x:%u", i, ntohl(f->saddr),
	      ntohs(f->sport), ntohl(f->daddr), ntohs(f->dport));
	CHECK(f->created_ns != 0, "flow %u: no creation time", i);
}

/*
 * Handshake, data, FIN both ways: one start on the SYN, one close on the
 * second FIN with what each way sent, tied to the start by created_ns.
 */
static int run_start_close(const struct dp_case *c)
{
	const __u8 ack = PKT_TCP_ACK, fin = PKT_TCP_FIN | PKT_TCP_ACK;
	struct step s[] = {
		fwd(EP_A, EP_B, tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN)),
		fwd(EP_B, EP_A, tcp(IP_B, PORT, IP_A, CPORT, PKT_TCP_SYN | ack)),
		fwd(EP_A, EP_B, tcp(IP_A, CPORT, IP_B, PORT, ack | PKT_TCP_PSH)),
		fwd(EP_A, EP_B, tcp(IP_A, CPORT, IP_B, PORT, fin)),
		fwd(EP_B, EP_A, tcp(IP_B, PORT, IP_A, CPORT, fin)),
		fwd(EP_A, EP_B, tcp(IP_A, CPORT, IP_B, PORT, ack)),
	};
	const struct sl_flow_event *f = &events.flow[0];
	__u64 created = 0, bytes0 = 0, bytes1 = 0;
	struct pkt in, out;

	(void)c;
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		if (step(&s[i], &in, &out) < 0)
			return 0;
		if (i < 4)
			bytes0 += s[i].in.saddr == IP_A ? in.len : 0;
		if (i < 5)
			bytes1 += s[i].in.saddr == IP_B ? in.len : 0;
		if (i == 0) {
			check_flow(0, SL_FLOW_START, SL_DIR_EGRESS, EP_A, IP_A,
				   CPORT, IP_B, PORT);
			created = f->created_ns;
			CHECK(f->packets[0] == 1 && f->bytes[0] == in.len &&
			      f->svc_id == 0 && f->nat_daddr == 0,
			      "start: %llu packets, svc %u",
			      (unsigned long long)f->packets[0], f->svc_id);
		} else if (i == 4) {
			/* The reply's FIN closes it, seen at B's veth. */
			check_flow(0, SL_FLOW_CLOSE, SL_DIR_EGRESS, EP_B, IP_A,
				   CPORT, IP_B, PORT);
			CHECK(f->created_ns == created,
			      "close names another start");
			CHECK(f->packets[0] == 3 && f->packets[1] == 2 &&
			      f->bytes[0] == bytes0 && f->bytes[1] == bytes1,
			      "close: %llu/%llu packets %llu/%llu bytes, want "
			      "3/2 and %llu/%llu",
			      (unsigned long long)f->packets[0],
			      (unsigned long long)f->packets[1],
			      (unsigned long long)f->bytes[0],
			      (unsigned long long)f->bytes[1],
			      (unsigned long long)bytes0,
			      (unsigned long long)bytes1);
			CHECK((f->tcp_flags[0] & PKT_TCP_FIN) &&
			      (f->tcp_flags[1] & PKT_TCP_FIN) &&
			      (f->flags & SL_CT_F_CLOSING),
			      "close: flags 0x%x, tcp 0x%x/0x%x", f->flags,
			      f->tcp_flags[0], f->tcp_flags[1]);
		} else {
			CHECK(events.flows == 0, "step %zu: %u flow events",
			      i + 1, events.flows);
		}
	}
	return 0;
}

/* A reset closes at once, whichever side sends it. */
static int run_reset(const struct dp_case *c)
{
	struct step syn = fwd(EP_A, EP_B,
			      tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN));
	struct step rst = fwd(EP_B, EP_A,
			      tcp(IP_B, PORT, IP_A, CPORT,
				  PKT_TCP_RST | PKT_TCP_ACK));
	struct pkt in, out;

	(void)c;
	if (step(&syn, &in, &out) < 0 || step(&rst, &in, &out) < 0)
		return 0;
	check_flow(0, SL_FLOW_CLOSE, SL_DIR_EGRESS, EP_B, IP_A, CPORT, IP_B,
		   PORT);
	CHECK(events.flow[0].tcp_flags[1] & PKT_TCP_RST, "close without RST");
	return 0;
}

/* A Service connection starts under the frontend's tuple, naming its
 * Service and the backend it was given. */
static int run_service(const struct dp_case *c)
{
	static const struct frontend fe = {
		.addr = FE_IP, .port = PORT, .proto = IPPROTO_TCP,
		.svc_id = 42,
	};
	static const struct backend be = {
		.id = 7, .addr = IP_B, .port = BE_PORT, .flags = SL_BE_F_LOCAL,
	};
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, PORT, PKT_TCP_SYN);
	struct step s = TO_LOCAL_BACKEND(q, IP_B, BE_PORT, EP_B);
	const struct sl_flow_event *f = &events.flow[0];
	struct pkt in, out;

	(void)c;
	SETUP(frontend_add(&fe, &be, 1));
	if (step(&s, &in, &out) < 0)
		return 0;
	check_flow(0, SL_FLOW_START, SL_DIR_EGRESS, EP_A, IP_A, CPORT, FE_IP,
		   PORT);
	CHECK(f->svc_id == 42 && f->backend_id == 7 &&
	      f->nat_daddr == htonl(IP_B) && f->nat_dport == htons(BE_PORT) &&
	      (f->flags & SL_CT_F_SERVICE),
	      "start: svc %u backend %u to %08x:%u flags 0x%x", f->svc_id,
	      f->backend_id, ntohl(f->nat_daddr), ntohs(f->nat_dport),
	      f->flags);
	CHECK(events.flows == 1, "%u flow events, want 1", events.flows);
	return 0;
}

/* Flow events off: connections are tracked, nothing is reported. */
static int run_off(const struct dp_case *c)
{
	struct step syn = fwd(EP_A, EP_B,
			      tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN));
	struct step rst = fwd(EP_B, EP_A,
			      tcp(IP_B, PORT, IP_A, CPORT,
				  PKT_TCP_RST | PKT_TCP_ACK));
	struct sl_event_stats_val st;
	struct pkt in, out;

	(void)c;
	SETUP(config_set(0, 0, SL_CFG_F_NO_FLOW_EVENTS));
	if (step(&syn, &in, &out) < 0)
		return 0;
	CHECK(events.flows == 0 && ct_count() == 1,
	      "%u flow events, %u entries: want 0 and 1", events.flows,
	      ct_count());
	if (step(&rst, &in, &out) < 0)
		return 0;
	CHECK(events.flows == 0, "%u flow events at the close", events.flows);
	if (CHECK(event_stats_get(SL_EVENT_FLOW, SL_FLOW_START, &st) == 0,
		  "reading sl_event_stats"))
		CHECK(st.sent == 0 && st.shed_rate == 0 && st.shed_full == 0,
		      "flow starts counted while off");
	return 0;
}

const struct dp_case flow_cases[] = {
	{
		.name = "flow_start_close",
		.desc = "a TCP connection reports its start on the SYN and its "
			"close on the second FIN, with both ways' counters",
		.run = run_start_close,
	},
	{
		.name = "flow_reset",
		.desc = "a RST from either side closes the flow at once",
		.run = run_reset,
	},
	{
		.name = "flow_service",
		.desc = "a Service connection's start names the frontend, the "
			"Service and the backend",
		.run = run_service,
	},
	{
		.name = "flow_events_off",
		.desc = "with flow events off (sl_config) connections are "
			"tracked and nothing is reported or counted",
		.run = run_off,
	},
};

const size_t flow_cases_n = ARRAY_SIZE(flow_cases);

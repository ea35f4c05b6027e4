// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NetworkPolicy in the datapath: sl_policy and sl_policy_cidr written as
 * the agent compiles them, the isolation flags of sl_endpoints, and the
 * verdicts on the first packet of connections, their replies and their
 * later packets. Pod A and pod B are the runner's; IP_REMOTE stands for a
 * pod of another node, or the outside.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <string.h>

#include <sluice/endpoint.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>

#include "runner.h"
#include "svc.h"

#define ID_A 1000
#define ID_B 1001
#define ID_REMOTE 1002
#define ID_CIDR SL_ID_CIDR_FIRST
#define ID_CIDR_EXCEPT (SL_ID_CIDR_FIRST + 1)
#define POLICY 77
#define POLICY_CIDR 78
#define HOST_IP IP4(192, 168, 77, 1)
#define CPORT 40000
#define PORT 80
#define FE_IP IP4(10, 96, 0, 10)
#define FE_PORT 80
#define BE_PORT 8080

#define EGRESS_BIT (1u << SL_DIR_EGRESS)
#define INGRESS_BIT (1u << SL_DIR_INGRESS)

/* --- the maps as the agent writes them ---------------------------------- */


/* The usual start: A and B with their identities, not isolated. */
static int ids_set(void)
{
	int err = ep_set(EP_A, 0, ID_A);

	return err ? err : ep_set(EP_B, 0, ID_B);
}


static int cidr_put(__u32 ep, __u8 dir, __u32 addr, __u8 len, __u32 id)
{
	struct sl_policy_cidr_key k = {
		.prefixlen = SL_POLICY_CIDR_FIXED_BITS + len,
		.ep = htonl(ep),
		.dir = dir,
		.addr = htonl(addr & (len ? 0xffffffffu << (32 - len) : 0)),
	};
	struct sl_policy_cidr_val v = { .identity = id };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.sl_policy_cidr), &k,
				   &v, BPF_ANY) < 0 ? -errno : 0;
}


/* --- checks ------------------------------------------------------------- */


static void check_verdicts(unsigned int n)
{
	CHECK(events.verdicts == n, "%u verdict events, want %u",
	      events.verdicts, n);
}

/* A pod to pod frame: redirected to the receiver, unchanged. */
static struct step to_peer(enum ep_id from, enum ep_id to,
			   struct pkt_spec spec, __u8 allowed)
{
	return (struct step){
		.prog = FROM_POD, .dev = from, .in = spec, .out = spec,
		.ret = TC_ACT_REDIRECT, .to = to,
		.count = { SL_REDIRECT_PEER }, .allowed = allowed,
	};
}

/* A frame from pod `from` dropped for reason. */
static struct step denied(enum prog prog, enum ep_id dev,
			  struct pkt_spec spec, __u32 reason)
{
	return (struct step){
		.prog = prog, .dev = dev, .in = spec,
		.ret = TC_ACT_SHOT, .count = { reason },
	};
}

/* --- cases -------------------------------------------------------------- */

/* B takes TCP 80 from A: port 80 passes, 81 does not; B's verdicts. */
static int run_ingress(const struct dp_case *c)
{
	struct pkt_spec ok = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec no = tcp(IP_A, CPORT + 1, IP_B, PORT + 1, PKT_TCP_SYN);
	struct step s_ok = to_peer(EP_A, EP_B, ok, INGRESS_BIT);
	struct step s_no = denied(FROM_POD, EP_A, no, SL_POLICY_DENIED_INGRESS);
	struct sl_ct_key k = ct_key(IP_A, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, PORT, 16,
		      POLICY));
	if (step(&s_ok, &in, &out) < 0)
		return 0;
	check_verdicts(1);
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_A, POLICY,
		      SL_MATCH_L3_L4);
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.policy_id[SL_POLICY_INGRESS] == POLICY &&
		      e.policy_id[SL_POLICY_EGRESS] == 0 && e.identity == ID_B,
		      "entry: policies %u/%u identity %u",
		      e.policy_id[SL_POLICY_INGRESS],
		      e.policy_id[SL_POLICY_EGRESS], e.identity);
	if (step(&s_no, &in, &out) < 0)
		return 0;
	check_verdicts(1);
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, ID_A, 0,
		      SL_MATCH_NONE);
	CHECK(ct_count() == 1, "%u conntrack entries, want the allowed one",
	      ct_count());
	return 0;
}

/* A may send to B's identity on any port and protocol, to nobody else. */
static int run_egress(const struct dp_case *c)
{
	struct pkt_spec to_b = udp(IP_A, CPORT, IP_B, 5353, false);
	struct pkt_spec away = tcp(IP_A, CPORT, IP_REMOTE, PORT, PKT_TCP_SYN);
	struct step s_ok = to_peer(EP_A, EP_B, to_b, EGRESS_BIT);
	struct step s_no = denied(FROM_POD, EP_A, away,
				  SL_POLICY_DENIED_EGRESS);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_A, SL_EP_F_EGRESS_ISOLATED, ID_A));
	SETUP(pol_put(IP_A, SL_POLICY_EGRESS, SL_PROTO_ANY, ID_B, 0, 0,
		      POLICY));
	if (step(&s_ok, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_EGRESS, IP_A, ID_B, POLICY,
		      SL_MATCH_L3);
	if (step(&s_no, &in, &out) < 0)
		return 0;
	/* Not in the ipcache: the world. */
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_EGRESS, IP_A, SL_ID_WORLD, 0,
		      SL_MATCH_NONE);
	return 0;
}

/*
 * Both ends isolated, B taking A on 80, A allowed to send to B: the
 * connection and B's answers pass, B's answers judged by nothing (B may
 * send nothing of its own); a connection B starts is denied.
 */
static int run_reply(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec synack = tcp(IP_B, PORT, IP_A, CPORT,
				     PKT_TCP_SYN | PKT_TCP_ACK);
	struct pkt_spec data = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_ACK);
	struct pkt_spec own = tcp(IP_B, PORT, IP_A, CPORT + 1, PKT_TCP_SYN);
	struct step s1 = to_peer(EP_A, EP_B, syn, EGRESS_BIT | INGRESS_BIT);
	struct step s2 = to_peer(EP_B, EP_A, synack, 0);
	struct step s3 = to_peer(EP_A, EP_B, data, 0);
	struct step s4 = denied(FROM_POD, EP_B, own, SL_POLICY_DENIED_EGRESS);
	struct sl_ct_key k = ct_key(IP_A, CPORT, IP_B, PORT, IPPROTO_TCP,
				    SL_CT_OUT);
	struct sl_ct_entry e;
	struct pkt in, out;

	(void)c;
	SETUP(ep_set(EP_A, SL_EP_F_EGRESS_ISOLATED | SL_EP_F_INGRESS_ISOLATED,
		     ID_A));
	SETUP(ep_set(EP_B, SL_EP_F_EGRESS_ISOLATED | SL_EP_F_INGRESS_ISOLATED,
		     ID_B));
	SETUP(pol_put(IP_A, SL_POLICY_EGRESS, IPPROTO_TCP, ID_B, PORT, 16,
		      POLICY));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, PORT, 16,
		      POLICY + 1));
	if (step(&s1, &in, &out) < 0)
		return 0;
	check_verdicts(2);
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_EGRESS, IP_A, ID_B, POLICY,
		      SL_MATCH_L3_L4);
	check_verdict(1, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_A,
		      POLICY + 1, SL_MATCH_L3_L4);
	if (step(&s2, &in, &out) < 0)
		return 0;
	check_verdicts(0);
	if (step(&s3, &in, &out) < 0)
		return 0;
	check_verdicts(0);
	if (step(&s4, &in, &out) < 0)
		return 0;
	if (CHECK(ct_get(&k, &e) == 0, "no conntrack entry"))
		CHECK(e.packets[0] == 2 && e.packets[1] == 1 &&
		      e.policy_id[SL_POLICY_EGRESS] == POLICY &&
		      e.policy_id[SL_POLICY_INGRESS] == POLICY + 1,
		      "entry: %llu/%llu packets, policies %u/%u",
		      (unsigned long long)e.packets[0],
		      (unsigned long long)e.packets[1],
		      e.policy_id[SL_POLICY_EGRESS],
		      e.policy_id[SL_POLICY_INGRESS]);
	return 0;
}

/* endPort: 8080-8087 is one prefix of 13 bits; 8088 is outside it. */
static int run_port_range(const struct dp_case *c)
{
	struct pkt_spec in_range = tcp(IP_A, CPORT, IP_B, 8087, PKT_TCP_SYN);
	struct pkt_spec first = tcp(IP_A, CPORT + 1, IP_B, 8080, PKT_TCP_SYN);
	struct pkt_spec past = tcp(IP_A, CPORT + 2, IP_B, 8088, PKT_TCP_SYN);
	struct pkt_spec udp_in = udp(IP_A, CPORT + 3, IP_B, 8084, false);
	struct step s1 = to_peer(EP_A, EP_B, in_range, INGRESS_BIT);
	struct step s2 = to_peer(EP_A, EP_B, first, INGRESS_BIT);
	struct step s3 = denied(FROM_POD, EP_A, past, SL_POLICY_DENIED_INGRESS);
	struct step s4 = denied(FROM_POD, EP_A, udp_in,
				SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, SL_ID_ANY, 8080, 13,
		      POLICY));
	if (step(&s1, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_A, POLICY,
		      SL_MATCH_L4);
	if (step(&s2, &in, &out) < 0 || step(&s3, &in, &out) < 0)
		return 0;
	/* The range is TCP's: UDP to a port in it is another rule's. */
	step(&s4, &in, &out);
	return 0;
}

/*
 * ipBlock 10.0.1.0/24 except 10.0.1.99/32 allowed into B on 80: a remote
 * address in the block passes at B's veth (sl_to_pod), the excepted one
 * does not, and the excepted one's identity is what the verdict names.
 */
static int run_cidr(const struct dp_case *c)
{
	const __u32 inside = IP4(10, 0, 1, 7);
	struct pkt_spec q_in = tcp(inside, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec q_ex = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct step s_in = {
		.prog = TO_POD, .dev = EP_B, .in = q_in, .out = q_in,
		.ret = TC_ACT_OK, .count = { SL_TO_POD },
		.allowed = INGRESS_BIT,
	};
	struct step s_ex = denied(TO_POD, EP_B, q_ex, SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(cidr_put(IP_B, SL_POLICY_INGRESS, IP4(10, 0, 1, 0), 24, ID_CIDR));
	SETUP(cidr_put(IP_B, SL_POLICY_INGRESS, IP_REMOTE, 32, ID_CIDR_EXCEPT));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_CIDR, PORT, 16,
		      POLICY_CIDR));
	if (step(&s_in, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_CIDR,
		      POLICY_CIDR, SL_MATCH_CIDR_L4);
	if (step(&s_ex, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, ID_CIDR_EXCEPT,
		      0, SL_MATCH_NONE);
	return 0;
}

/* An ipBlock holding a pod's address admits that pod, identity or not. */
static int run_cidr_pod(const struct dp_case *c)
{
	struct pkt_spec q = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct step s = to_peer(EP_A, EP_B, q, INGRESS_BIT);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(cidr_put(IP_B, SL_POLICY_INGRESS, IP_A, 32, ID_CIDR));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, SL_PROTO_ANY, ID_CIDR, 0, 0,
		      POLICY_CIDR));
	if (step(&s, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_CIDR,
		      POLICY_CIDR, SL_MATCH_CIDR);
	return 0;
}

/*
 * A pod the agent has not labelled yet (identity 0) matches no selector:
 * denied where B names identities, admitted by a rule for any peer.
 */
static int run_unknown_identity(const struct dp_case *c)
{
	struct pkt_spec q80 = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec q81 = tcp(IP_A, CPORT + 1, IP_B, PORT + 1, PKT_TCP_SYN);
	struct step s_no = denied(FROM_POD, EP_A, q80, SL_POLICY_DENIED_INGRESS);
	struct step s_any = to_peer(EP_A, EP_B, q81, INGRESS_BIT);
	struct pkt in, out;

	(void)c;
	SETUP(ep_set(EP_A, 0, SL_ID_UNKNOWN));
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, PORT, 16,
		      POLICY));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, SL_ID_ANY, PORT + 1,
		      16, POLICY + 1));
	if (step(&s_no, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, SL_ID_UNKNOWN,
		      0, SL_MATCH_NONE);
	if (step(&s_any, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, SL_ID_UNKNOWN,
		      POLICY + 1, SL_MATCH_L4);
	return 0;
}

/*
 * Remote peers get their identity from the ipcache at the receiver's veth:
 * a pod of another node by its labels, the node itself as the host (the
 * agent gives every isolated pod an entry for its own node).
 */
static int run_ipcache_identity(const struct dp_case *c)
{
	struct pkt_spec q_pod = tcp(IP_REMOTE, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec q_host = tcp(HOST_IP, CPORT, IP_B, 10250, PKT_TCP_SYN);
	struct pkt_spec q_other = tcp(IP4(10, 0, 3, 3), CPORT, IP_B, PORT,
				      PKT_TCP_SYN);
	struct step s_pod = {
		.prog = TO_POD, .dev = EP_B, .in = q_pod, .out = q_pod,
		.ret = TC_ACT_OK, .count = { SL_TO_POD },
		.allowed = INGRESS_BIT,
	};
	struct step s_host = s_pod;
	struct step s_other = denied(TO_POD, EP_B, q_other,
				     SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	s_host.in = s_host.out = q_host;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(ipcache_put(IP_REMOTE, ID_REMOTE));
	SETUP(ipcache_put(HOST_IP, SL_ID_HOST));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_REMOTE, PORT, 16,
		      POLICY));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, SL_PROTO_ANY, SL_ID_HOST, 0, 0,
		      1));
	if (step(&s_pod, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_REMOTE,
		      POLICY, SL_MATCH_L3_L4);
	if (step(&s_host, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, SL_ID_HOST, 1,
		      SL_MATCH_L3);
	step(&s_other, &in, &out);
	return 0;
}

/*
 * A pod the plugin just attached and the agent has not programmed:
 * nothing in, nothing out, whatever sl_policy holds for its address.
 */
static int run_pending(const struct dp_case *c)
{
	const __u32 pending = SL_EP_F_PENDING | SL_EP_F_INGRESS_ISOLATED |
			      SL_EP_F_EGRESS_ISOLATED;
	struct pkt_spec to_b = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec from_b = tcp(IP_B, CPORT, IP_A, PORT, PKT_TCP_SYN);
	struct pkt_spec host = tcp(HOST_IP, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct step s1 = denied(FROM_POD, EP_A, to_b, SL_ENDPOINT_NOT_READY);
	struct step s2 = denied(FROM_POD, EP_B, from_b, SL_ENDPOINT_NOT_READY);
	struct step s3 = denied(TO_POD, EP_B, host, SL_ENDPOINT_NOT_READY);
	struct pkt in, out;

	(void)c;
	SETUP(ep_set(EP_A, 0, ID_A));
	SETUP(ep_set(EP_B, pending, 0));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, SL_PROTO_ANY, SL_ID_ANY, 0, 0,
		      POLICY));
	SETUP(pol_put(IP_B, SL_POLICY_EGRESS, SL_PROTO_ANY, SL_ID_ANY, 0, 0,
		      POLICY));
	SETUP(ipcache_put(HOST_IP, SL_ID_HOST));
	if (step(&s1, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_INGRESS, IP_B, ID_A, 0,
		      SL_MATCH_NOT_READY);
	if (step(&s2, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_DENIED, SL_DIR_EGRESS, IP_B, ID_A, 0,
		      SL_MATCH_NOT_READY);
	step(&s3, &in, &out);
	CHECK(ct_count() == 0, "%u conntrack entries, want none", ct_count());
	return 0;
}

/*
 * Through a Service, policy judges the connection as it reaches the
 * backend: B's ingress names the backend port, not the frontend's. A
 * denied connection leaves no conntrack entry behind, so nothing of it is
 * translated later.
 */
static int run_service(const struct dp_case *c)
{
	static const struct frontend fe = {
		.addr = FE_IP, .port = FE_PORT, .proto = IPPROTO_TCP,
		.svc_id = 42,
	};
	static const struct backend be = {
		.id = 1, .addr = IP_B, .port = BE_PORT, .flags = SL_BE_F_LOCAL,
	};
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s_ok = TO_LOCAL_BACKEND(q, IP_B, BE_PORT, EP_B);
	struct step s_no = denied(FROM_POD, EP_A, q, SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	s_ok.allowed = INGRESS_BIT;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(frontend_add(&fe, &be, 1));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, FE_PORT, 16,
		      POLICY));
	if (step(&s_no, &in, &out) < 0)
		return 0;
	CHECK(ct_count() == 0, "%u conntrack entries for a denied connection",
	      ct_count());
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, BE_PORT, 16,
		      POLICY + 1));
	if (step(&s_ok, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_A,
		      POLICY + 1, SL_MATCH_L3_L4);
	CHECK(ct_count() == 2, "%u conntrack entries, want the Service's two",
	      ct_count());
	return 0;
}

/* A pod reaching itself through its Service is not judged. */
static int run_hairpin(const struct dp_case *c)
{
	static const struct frontend fe = {
		.addr = FE_IP, .port = FE_PORT, .proto = IPPROTO_TCP,
		.svc_id = 42,
	};
	static const struct backend be = {
		.id = 1, .addr = IP_A, .port = BE_PORT, .flags = SL_BE_F_LOCAL,
	};
	struct pkt_spec q = tcp(IP_A, CPORT, FE_IP, FE_PORT, PKT_TCP_SYN);
	struct step s = {
		.prog = FROM_POD, .dev = EP_A, .in = q,
		.out = retuple(&q, SL_HAIRPIN_IP4, CPORT, IP_A, BE_PORT),
		.ret = TC_ACT_REDIRECT, .to = EP_A,
		.count = { SL_REDIRECT_PEER, SL_SERVICE_NEW },
	};
	struct pkt in, out;

	(void)c;
	SETUP(ep_set(EP_A, SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED,
		     ID_A));
	SETUP(frontend_add(&fe, &be, 1));
	step(&s, &in, &out);
	check_verdicts(0);
	return 0;
}

/*
 * Conntrack keeps an admitted connection admitted: B isolated after the
 * connection began still gets its packets, while a new one is denied.
 */
static int run_established(const struct dp_case *c)
{
	struct pkt_spec syn = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct pkt_spec data = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_ACK);
	struct pkt_spec other = tcp(IP_A, CPORT + 1, IP_B, PORT, PKT_TCP_SYN);
	struct step s1 = to_peer(EP_A, EP_B, syn, 0);
	struct step s2 = to_peer(EP_A, EP_B, data, 0);
	struct step s3 = denied(FROM_POD, EP_A, other,
				SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	if (step(&s1, &in, &out) < 0)
		return 0;
	check_verdicts(0); /* not isolated: no policy decided */
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	if (step(&s2, &in, &out) < 0)
		return 0;
	check_verdicts(0);
	step(&s3, &in, &out);
	return 0;
}

/*
 * A TCP port reused after its connection closed is a new connection: it
 * is judged again, not admitted by the old entry.
 */
static int run_reopen(const struct dp_case *c)
{
	const __u8 ack = PKT_TCP_ACK, fin = PKT_TCP_FIN | PKT_TCP_ACK;
	struct pkt_spec syn = tcp(IP_A, CPORT, IP_B, PORT, PKT_TCP_SYN);
	struct step s_syn = to_peer(EP_A, EP_B, syn, 0);
	struct step s_fin = to_peer(EP_A, EP_B,
				    tcp(IP_A, CPORT, IP_B, PORT, fin), 0);
	struct step s_finr = to_peer(EP_B, EP_A,
				     tcp(IP_B, PORT, IP_A, CPORT, fin), 0);
	struct step s_ack = to_peer(EP_B, EP_A,
				    tcp(IP_B, PORT, IP_A, CPORT,
					PKT_TCP_SYN | ack), 0);
	struct step s_again = denied(FROM_POD, EP_A, syn,
				     SL_POLICY_DENIED_INGRESS);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	if (step(&s_syn, &in, &out) < 0 || step(&s_ack, &in, &out) < 0 ||
	    step(&s_fin, &in, &out) < 0 || step(&s_finr, &in, &out) < 0)
		return 0;
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	step(&s_again, &in, &out);
	return 0;
}

/*
 * Pings are connections too: the identifier tells them apart, a reply
 * passes, a rule for any protocol admits them and a port rule does not.
 */
static int run_icmp_echo(const struct dp_case *c)
{
	struct pkt_spec ping = { .l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B,
				 .ttl = DEF_TTL, .l4 = IPPROTO_ICMP };
	struct step s_no = denied(FROM_POD, EP_A, ping, SL_POLICY_DENIED_INGRESS);
	struct step s_ok = to_peer(EP_A, EP_B, ping, INGRESS_BIT);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, IPPROTO_TCP, ID_A, 0, 0,
		      POLICY));
	if (step(&s_no, &in, &out) < 0)
		return 0;
	SETUP(pol_put(IP_B, SL_POLICY_INGRESS, SL_PROTO_ANY, ID_A, 0, 0,
		      POLICY + 1));
	if (step(&s_ok, &in, &out) < 0)
		return 0;
	check_verdict(0, SL_VERDICT_ALLOWED, SL_DIR_INGRESS, IP_B, ID_A,
		      POLICY + 1, SL_MATCH_L3);
	return 0;
}

/* A fragment after the first has no ports to judge: it passes, and
 * reassembles into nothing without its judged first fragment. */
static int run_fragment(const struct dp_case *c)
{
	struct pkt_spec frag = {
		.l3 = L3_IPV4, .saddr = IP_A, .daddr = IP_B, .ttl = DEF_TTL,
		.l4 = 0, .frag_off = 1480 / 8,
	};
	struct step s = to_peer(EP_A, EP_B, frag, 0);
	struct pkt in, out;

	(void)c;
	SETUP(ids_set());
	SETUP(ep_set(EP_B, SL_EP_F_INGRESS_ISOLATED, ID_B));
	step(&s, &in, &out);
	CHECK(ct_count() == 0, "%u conntrack entries for a fragment",
	      ct_count());
	return 0;
}

const struct dp_case policy_cases[] = {
	{
		.name = "policy_ingress",
		.desc = "an ingress-isolated pod takes its allowed port and "
			"drops the next (POLICY_DENIED_INGRESS), judged at the "
			"sender's veth; verdicts and the entry name the policy",
		.run = run_ingress,
	},
	{
		.name = "policy_egress",
		.desc = "an egress-isolated pod reaches the identity it may "
			"on any port and nothing else (POLICY_DENIED_EGRESS)",
		.run = run_egress,
	},
	{
		.name = "policy_reply",
		.desc = "replies of an admitted connection pass both ways "
			"without a verdict; the server starting its own is "
			"denied",
		.run = run_reply,
	},
	{
		.name = "policy_port_range",
		.desc = "an endPort range as a port prefix: its ends pass, the "
			"next port and another protocol do not",
		.run = run_port_range,
	},
	{
		.name = "policy_cidr",
		.desc = "ipBlock with except at the receiver's veth: inside "
			"the block passes, the excepted address does not",
		.run = run_cidr,
	},
	{
		.name = "policy_cidr_pod",
		.desc = "an ipBlock holding a pod's address admits the pod",
		.run = run_cidr_pod,
	},
	{
		.name = "policy_unknown_identity",
		.desc = "a pod without an identity matches no selector, only "
			"rules for any peer",
		.run = run_unknown_identity,
	},
	{
		.name = "policy_ipcache_identity",
		.desc = "remote peers are judged by their ipcache identity: "
			"another node's pod, this node (host), the unknown",
		.run = run_ipcache_identity,
	},
	{
		.name = "policy_pending",
		.desc = "a pod the agent has not programmed takes and sends "
			"nothing (ENDPOINT_NOT_READY)",
		.run = run_pending,
	},
	{
		.name = "policy_service",
		.desc = "through a Service, the backend's ingress judges the "
			"backend port; a denied connection leaves no entry",
		.run = run_service,
	},
	{
		.name = "policy_hairpin",
		.desc = "a pod reaching itself through its Service is not "
			"judged, isolated or not",
		.run = run_hairpin,
	},
	{
		.name = "policy_established",
		.desc = "a connection admitted before its pod was isolated "
			"keeps going; a new one is denied",
		.run = run_established,
	},
	{
		.name = "policy_reopen",
		.desc = "a TCP port reused after close is judged again",
		.run = run_reopen,
	},
	{
		.name = "policy_icmp_echo",
		.desc = "a ping is admitted by an any-protocol rule, not by a "
			"TCP rule",
		.run = run_icmp_echo,
	},
	{
		.name = "policy_fragment",
		.desc = "a non-first fragment passes an isolated pod's veth "
			"untracked",
		.run = run_fragment,
	},
};

const size_t policy_cases_n = ARRAY_SIZE(policy_cases);

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX export of flow records; see ipfix.h. Why UDP (RFC 7011 section
 * 10.3) and not SCTP or TCP: the sink runs on the agent's one loop and
 * must never wait for a collector, and a collector that is slow or gone
 * must cost the node nothing. UDP gives exactly that; the price is that
 * messages, templates included, may be lost without notice, hence the
 * periodic template refresh and the sequence numbers a collector uses to
 * count what it missed.
 */
#include "ipfix.h"
#include "log.h"
#include "prometheus.h"
#include "reasons.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/policy.h>

#define MSG_HDR_LEN 16
#define SET_HDR_LEN 4
#define SET_ID_TEMPLATE 2
#define ENTERPRISE_BIT 0x8000
#define VARLEN 0xffff

/* IANA flowEndReason */
#define END_IDLE_TIMEOUT 0x01
#define END_OF_FLOW 0x03

/*
 * IANA forwardingStatus (RFC 7270 section 4.12): the status in the top two
 * bits, a reason in the low six.
 */
#define FWD_DROPPED_UNKNOWN 128
#define FWD_DROPPED_ACL_DENY 129
#define FWD_DROPPED_UNROUTABLE 131
#define FWD_DROPPED_BAD_TOTAL_LEN 135
#define FWD_DROPPED_BAD_HDR_LEN 136
#define FWD_DROPPED_RPF 140

/* One field of a template, and the element it is. */
enum field {
	F_FLOW_ID,
	F_START_MS,
	F_END_MS,
	F_SRC_IP,
	F_DST_IP,
	F_SRC_PORT,
	F_DST_PORT,
	F_PROTO,
	F_TCP_FLAGS,
	F_REV_TCP_FLAGS,
	F_OCTETS,
	F_PACKETS,
	F_REV_OCTETS,
	F_REV_PACKETS,
	F_END_REASON,
	F_POST_NAT_DST_IP,
	F_POST_NAT_DST_PORT,
	F_FWD_STATUS,
	F_DIRECTION,
	F_IN_IF,
	F_OUT_IF,
	F_SRC_IDENTITY,
	F_DST_IDENTITY,
	F_DROP_REASON,
	F_SRC_PID,
	F_DST_PID,
	F_SRTT,
	F_MIN_RTT,
	F_RETRANS,
	F_RTT_AT,
	F_STRINGS, /* the variable-length ones from here */
	F_SRC_NAMESPACE = F_STRINGS,
	F_SRC_POD,
	F_DST_NAMESPACE,
	F_DST_POD,
	F_SRC_LABELS,
	F_DST_LABELS,
	F_DST_SERVICE,
	F_INGRESS_POLICY,
	F_EGRESS_POLICY,
	F_NODE,
	F_DROP_REASON_NAME,
	F_SRC_COMM,
	F_DST_COMM,
	F_SRC_CONTAINER,
	F_DST_CONTAINER,
	F_MAX
};

struct ie {
	uint16_t id;
	uint16_t len; /* VARLEN: a string */
	uint32_t pen; /* 0: IANA's */
};

static const struct ie ies[F_MAX] = {
	[F_FLOW_ID] = { 148, 8, 0 },           /* flowId: the record's seq */
	[F_START_MS] = { 152, 8, 0 },          /* flowStartMilliseconds */
	[F_END_MS] = { 153, 8, 0 },            /* flowEndMilliseconds */
	[F_SRC_IP] = { 8, 4, 0 },              /* sourceIPv4Address */
	[F_DST_IP] = { 12, 4, 0 },             /* destinationIPv4Address */
	[F_SRC_PORT] = { 7, 2, 0 },            /* sourceTransportPort */
	[F_DST_PORT] = { 11, 2, 0 },           /* destinationTransportPort */
	[F_PROTO] = { 4, 1, 0 },               /* protocolIdentifier */
	[F_TCP_FLAGS] = { 6, 2, 0 },           /* tcpControlBits */
	[F_REV_TCP_FLAGS] = { 6, 2, SL_IPFIX_PEN_REVERSE },
	[F_OCTETS] = { 1, 8, 0 },              /* octetDeltaCount */
	[F_PACKETS] = { 2, 8, 0 },             /* packetDeltaCount */
	[F_REV_OCTETS] = { 1, 8, SL_IPFIX_PEN_REVERSE },
	[F_REV_PACKETS] = { 2, 8, SL_IPFIX_PEN_REVERSE },
	[F_END_REASON] = { 136, 1, 0 },        /* flowEndReason */
	[F_POST_NAT_DST_IP] = { 226, 4, 0 },   /* postNATDestinationIPv4Address */
	[F_POST_NAT_DST_PORT] = { 228, 2, 0 }, /* postNAPTDestinationTransportPort */
	[F_FWD_STATUS] = { 89, 1, 0 },         /* forwardingStatus */
	[F_DIRECTION] = { 61, 1, 0 },          /* flowDirection */
	[F_IN_IF] = { 10, 4, 0 },              /* ingressInterface */
	[F_OUT_IF] = { 14, 4, 0 },             /* egressInterface */
	[F_SRC_IDENTITY] = { SL_IPFIX_IE_SRC_IDENTITY, 4, SL_IPFIX_PEN },
	[F_DST_IDENTITY] = { SL_IPFIX_IE_DST_IDENTITY, 4, SL_IPFIX_PEN },
	[F_DROP_REASON] = { SL_IPFIX_IE_DROP_REASON, 1, SL_IPFIX_PEN },
	[F_SRC_NAMESPACE] = { SL_IPFIX_IE_SRC_NAMESPACE, VARLEN, SL_IPFIX_PEN },
	[F_SRC_POD] = { SL_IPFIX_IE_SRC_POD, VARLEN, SL_IPFIX_PEN },
	[F_DST_NAMESPACE] = { SL_IPFIX_IE_DST_NAMESPACE, VARLEN, SL_IPFIX_PEN },
	[F_DST_POD] = { SL_IPFIX_IE_DST_POD, VARLEN, SL_IPFIX_PEN },
	[F_SRC_LABELS] = { SL_IPFIX_IE_SRC_LABELS, VARLEN, SL_IPFIX_PEN },
	[F_DST_LABELS] = { SL_IPFIX_IE_DST_LABELS, VARLEN, SL_IPFIX_PEN },
	[F_DST_SERVICE] = { SL_IPFIX_IE_DST_SERVICE, VARLEN, SL_IPFIX_PEN },
	[F_INGRESS_POLICY] = { SL_IPFIX_IE_INGRESS_POLICY, VARLEN, SL_IPFIX_PEN },
	[F_EGRESS_POLICY] = { SL_IPFIX_IE_EGRESS_POLICY, VARLEN, SL_IPFIX_PEN },
	[F_NODE] = { SL_IPFIX_IE_NODE_NAME, VARLEN, SL_IPFIX_PEN },
	[F_DROP_REASON_NAME] = { SL_IPFIX_IE_DROP_REASON_NAME, VARLEN,
				 SL_IPFIX_PEN },
	[F_SRC_PID] = { SL_IPFIX_IE_SRC_PROCESS_ID, 4, SL_IPFIX_PEN },
	[F_DST_PID] = { SL_IPFIX_IE_DST_PROCESS_ID, 4, SL_IPFIX_PEN },
	[F_SRTT] = { SL_IPFIX_IE_TCP_SRTT, 4, SL_IPFIX_PEN },
	[F_MIN_RTT] = { SL_IPFIX_IE_TCP_MIN_RTT, 4, SL_IPFIX_PEN },
	[F_RETRANS] = { SL_IPFIX_IE_TCP_RETRANSMITS, 4, SL_IPFIX_PEN },
	[F_RTT_AT] = { SL_IPFIX_IE_RTT_AT, 1, SL_IPFIX_PEN },
	[F_SRC_COMM] = { SL_IPFIX_IE_SRC_PROCESS_COMMAND, VARLEN,
			 SL_IPFIX_PEN },
	[F_DST_COMM] = { SL_IPFIX_IE_DST_PROCESS_COMMAND, VARLEN,
			 SL_IPFIX_PEN },
	[F_SRC_CONTAINER] = { SL_IPFIX_IE_SRC_CONTAINER_ID, VARLEN,
			      SL_IPFIX_PEN },
	[F_DST_CONTAINER] = { SL_IPFIX_IE_DST_CONTAINER_ID, VARLEN,
			      SL_IPFIX_PEN },
};

#define FLOW_END_FIELDS                                                       \
	F_FLOW_ID, F_START_MS, F_END_MS, F_SRC_IP, F_DST_IP, F_SRC_PORT,       \
		F_DST_PORT, F_PROTO, F_TCP_FLAGS, F_REV_TCP_FLAGS, F_OCTETS,   \
		F_PACKETS, F_REV_OCTETS, F_REV_PACKETS, F_END_REASON,          \
		F_POST_NAT_DST_IP, F_POST_NAT_DST_PORT, F_DIRECTION, F_IN_IF,  \
		F_OUT_IF, F_SRC_IDENTITY, F_DST_IDENTITY, F_SRC_NAMESPACE,     \
		F_SRC_POD, F_DST_NAMESPACE, F_DST_POD, F_SRC_LABELS,           \
		F_DST_LABELS, F_DST_SERVICE, F_INGRESS_POLICY,                 \
		F_EGRESS_POLICY, F_NODE

static const uint8_t tpl_flow_end[] = { FLOW_END_FIELDS };

/* An end whose sockets were seen: the same, then who and how fast. */
static const uint8_t tpl_flow_end_proc[] = {
	FLOW_END_FIELDS, F_SRC_PID, F_DST_PID, F_SRTT, F_MIN_RTT, F_RETRANS,
	F_RTT_AT, F_SRC_COMM, F_DST_COMM, F_SRC_CONTAINER, F_DST_CONTAINER,
};

/* A drop is one packet: start and end are its time. */
static const uint8_t tpl_drop[] = {
	F_FLOW_ID, F_START_MS, F_END_MS, F_SRC_IP, F_DST_IP, F_SRC_PORT,
	F_DST_PORT, F_PROTO, F_TCP_FLAGS, F_PACKETS, F_FWD_STATUS,
	F_DIRECTION, F_IN_IF, F_OUT_IF, F_SRC_IDENTITY, F_DST_IDENTITY,
	F_DROP_REASON, F_DROP_REASON_NAME, F_SRC_NAMESPACE, F_SRC_POD,
	F_DST_NAMESPACE, F_DST_POD, F_SRC_LABELS, F_DST_LABELS, F_NODE,
};

static const struct {
	uint16_t id;
	const uint8_t *fields;
	size_t n;
} templates[] = {
	{ SL_IPFIX_TPL_FLOW_END, tpl_flow_end, sizeof(tpl_flow_end) },
	{ SL_IPFIX_TPL_DROP, tpl_drop, sizeof(tpl_drop) },
	{ SL_IPFIX_TPL_FLOW_END_PROC, tpl_flow_end_proc,
	  sizeof(tpl_flow_end_proc) },
};

/* --- encoding ------------------------------------------------------------- */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	return put16(p + 2, (uint16_t)v);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	return put32(p + 4, (uint32_t)v);
}

/* The template set: every template, one set (RFC 7011 section 3.4.1). */
static size_t templates_encode(uint8_t *out)
{
	uint8_t *p = out + SET_HDR_LEN;

	for (size_t t = 0; t < sizeof(templates) / sizeof(templates[0]); t++) {
		p = put16(p, templates[t].id);
		p = put16(p, (uint16_t)templates[t].n);
		for (size_t i = 0; i < templates[t].n; i++) {
			const struct ie *e = &ies[templates[t].fields[i]];

			p = put16(p, e->pen ? e->id | ENTERPRISE_BIT : e->id);
			p = put16(p, e->len);
			if (e->pen)
				p = put32(p, e->pen);
		}
	}
	put16(out, SET_ID_TEMPLATE);
	put16(out + 2, (uint16_t)(p - out));
	return (size_t)(p - out);
}

/* Bytes of a template's fixed-length fields. */
static size_t fixed_len(const uint8_t *fields, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		if (ies[fields[i]].len != VARLEN)
			len += ies[fields[i]].len;
	return len;
}

/* A variable-length field's length prefix: one byte below 255, else 255
 * and two bytes (RFC 7011 section 7). */
static size_t varlen_hdr(size_t len)
{
	return len < 255 ? 1 : 3;
}

/* What a record's strings say, resolved through the names once. */
struct strings {
	const char *s[F_MAX];
	size_t len[F_MAX];
};

static void str_set(struct strings *st, enum field f, const char *s, size_t len)
{
	st->s[f] = s ? s : "";
	st->len[f] = s ? len : 0;
}

static void str_set0(struct strings *st, enum field f, const char *s)
{
	str_set(st, f, s, s ? strlen(s) : 0);
}

/* "namespace/name" into its two fields. */
static void str_set_pod(struct strings *st, enum field ns, enum field name,
			const char *pod)
{
	const char *slash = pod ? strchr(pod, '/') : NULL;

	if (!slash) {
		str_set0(st, ns, NULL);
		str_set0(st, name, pod);
		return;
	}
	str_set(st, ns, pod, (size_t)(slash - pod));
	str_set0(st, name, slash + 1);
}

/*
 * Shorten the longest strings until the record fits in budget bytes, on
 * a UTF-8 character boundary. Names are bounded by Kubernetes; labels are
 * not, and they are the longest: they give way first. Returns whether
 * anything was cut.
 */
static bool strings_fit(struct strings *st, const uint8_t *fields, size_t n,
			size_t budget)
{
	bool cut = false;

	for (;;) {
		size_t total = 0, longest = 0, excess;
		enum field lf = F_MAX;

		for (size_t i = 0; i < n; i++) {
			enum field f = fields[i];

			if (ies[f].len != VARLEN)
				continue;
			total += varlen_hdr(st->len[f]) + st->len[f];
			if (lf == F_MAX || st->len[f] > longest) {
				lf = f;
				longest = st->len[f];
			}
		}
		if (total <= budget || lf == F_MAX || !longest)
			return cut;
		excess = total - budget;
		st->len[lf] = excess >= longest ? 0 : longest - excess;
		while (st->len[lf] &&
		       ((uint8_t)st->s[lf][st->len[lf]] & 0xc0) == 0x80)
			st->len[lf]--;
		cut = true;
	}
}

static uint8_t end_reason_of(uint8_t why)
{
	return why == SL_FLOW_END_TIMEOUT ? END_IDLE_TIMEOUT : END_OF_FLOW;
}

/* The RFC 7270 reason nearest to a sluice drop reason. */
static uint8_t fwd_status_of(uint8_t reason)
{
	switch (reason) {
	case SL_POLICY_DENIED_EGRESS:
	case SL_POLICY_DENIED_INGRESS:
	case SL_ENDPOINT_NOT_READY: /* fail closed: a policy not there yet */
		return FWD_DROPPED_ACL_DENY;
	case SL_NO_SERVICE_BACKEND:
	case SL_SERVICE_INCONSISTENT:
	case SL_NO_LOCAL_BACKEND:
		return FWD_DROPPED_UNROUTABLE;
	case SL_SHORT_FRAME:
	case SL_INVALID_L4:
		return FWD_DROPPED_BAD_TOTAL_LEN;
	case SL_INVALID_IPV4:
		return FWD_DROPPED_BAD_HDR_LEN;
	case SL_SPOOFED_SOURCE:
		return FWD_DROPPED_RPF;
	default:
		return FWD_DROPPED_UNKNOWN;
	}
}

static uint64_t ms_of(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
}

/* The record's view the fields are written from. */
struct view {
	const struct sl_flow_rec *r;
	uint32_t src_identity, dst_identity;
	struct strings st;
};

static uint8_t *field_encode(uint8_t *p, enum field f, const struct view *v)
{
	const struct sl_flow_rec *r = v->r;
	uint64_t end_ms = ms_of(&r->time);

	if (ies[f].len == VARLEN) {
		size_t len = v->st.len[f];

		if (len < 255) {
			*p++ = (uint8_t)len;
		} else {
			*p++ = 255;
			p = put16(p, (uint16_t)len);
		}
		memcpy(p, v->st.s[f], len);
		return p + len;
	}
	switch (f) {
	case F_FLOW_ID:
		return put64(p, r->seq);
	case F_START_MS:
		return put64(p, end_ms - r->duration_ns / 1000000);
	case F_END_MS:
		return put64(p, end_ms);
	case F_SRC_IP:
		return put32(p, r->src.ip);
	case F_DST_IP:
		return put32(p, r->dst.ip);
	case F_SRC_PORT:
		return put16(p, r->src.port);
	case F_DST_PORT:
		return put16(p, r->dst.port);
	case F_PROTO:
		*p = r->proto;
		return p + 1;
	case F_TCP_FLAGS:
		return put16(p, r->tcp_flags[0]);
	case F_REV_TCP_FLAGS:
		return put16(p, r->tcp_flags[1]);
	case F_OCTETS:
		return put64(p, r->bytes[0]);
	case F_PACKETS:
		/* A drop record is the one packet dropped. */
		return put64(p, r->kind == SL_FLOW_REC_DROP ? 1 : r->packets[0]);
	case F_REV_OCTETS:
		return put64(p, r->bytes[1]);
	case F_REV_PACKETS:
		return put64(p, r->packets[1]);
	case F_END_REASON:
		*p = end_reason_of(r->end_reason);
		return p + 1;
	case F_POST_NAT_DST_IP:
		return put32(p, r->nat_ip);
	case F_POST_NAT_DST_PORT:
		return put16(p, r->nat_port);
	case F_FWD_STATUS:
		*p = fwd_status_of(r->reason);
		return p + 1;
	case F_DIRECTION:
		/* Relative to the pod, as sluicectl observe's
		 * traffic_direction: 0 ingress, 1 egress. */
		*p = r->dir == SL_DIR_INGRESS ? 0 : 1;
		return p + 1;
	case F_IN_IF:
		/* The pod's host-side veth: the packet entered the node
		 * there when the pod sent it... */
		return put32(p, r->dir == SL_DIR_INGRESS ? 0 : r->ifindex);
	case F_OUT_IF:
		/* ...and left through it when the pod received it. */
		return put32(p, r->dir == SL_DIR_INGRESS ? r->ifindex : 0);
	case F_SRC_IDENTITY:
		return put32(p, v->src_identity);
	case F_DST_IDENTITY:
		return put32(p, v->dst_identity);
	case F_DROP_REASON:
		*p = r->reason;
		return p + 1;
	case F_SRC_PID:
		return put32(p, r->proc[0].pid);
	case F_DST_PID:
		return put32(p, r->proc[1].pid);
	case F_SRTT:
		return put32(p, r->rtt.srtt_us);
	case F_MIN_RTT:
		return put32(p, r->rtt.min_us);
	case F_RETRANS:
		return put32(p, r->rtt.retrans);
	case F_RTT_AT:
		*p = r->rtt.at_dst;
		return p + 1;
	default:
		return p; /* unreachable: every fixed field is above */
	}
}

static const char *policy_name(const struct sl_flow_names *nm, uint32_t id)
{
	return id && nm && nm->policy_of ? nm->policy_of(nm->ctx, id) : NULL;
}

/* Names as they are now (see flows.h): labels, Service, policies; and a
 * Service connection's destination pod is its backend's. */
static void view_init(struct view *v, const struct sl_ipfix *x,
		      const struct sl_flows *f, const struct sl_flow_rec *r)
{
	const struct sl_flow_names *nm = f->names;
	const char *dst_pod = r->dst.pod[0] ? r->dst.pod : NULL;

	memset(v, 0, sizeof(*v));
	v->r = r;
	v->src_identity = r->src.identity;
	v->dst_identity = r->dst.identity;
	if (!dst_pod && r->nat_ip && nm && nm->pod_at) {
		uint32_t id = 0;

		dst_pod = nm->pod_at(nm->ctx, r->nat_ip, &id);
		if (dst_pod && id)
			v->dst_identity = id;
	}
	str_set_pod(&v->st, F_SRC_NAMESPACE, F_SRC_POD,
		    r->src.pod[0] ? r->src.pod : NULL);
	str_set_pod(&v->st, F_DST_NAMESPACE, F_DST_POD, dst_pod);
	str_set0(&v->st, F_SRC_LABELS,
		 v->src_identity && nm && nm->labels_of ?
			 nm->labels_of(nm->ctx, v->src_identity) : NULL);
	str_set0(&v->st, F_DST_LABELS,
		 v->dst_identity && nm && nm->labels_of ?
			 nm->labels_of(nm->ctx, v->dst_identity) : NULL);
	str_set0(&v->st, F_DST_SERVICE,
		 r->svc_id && nm && nm->service_of ?
			 nm->service_of(nm->ctx, r->svc_id) : NULL);
	str_set0(&v->st, F_INGRESS_POLICY,
		 policy_name(nm, r->policy_id[SL_POLICY_INGRESS]));
	str_set0(&v->st, F_EGRESS_POLICY,
		 policy_name(nm, r->policy_id[SL_POLICY_EGRESS]));
	str_set0(&v->st, F_NODE, x->node_name);
	str_set0(&v->st, F_DROP_REASON_NAME,
		 r->kind == SL_FLOW_REC_DROP ? sl_reason_name(r->reason) : NULL);
	str_set0(&v->st, F_SRC_COMM, r->proc[0].comm);
	str_set0(&v->st, F_DST_COMM, r->proc[1].comm);
	str_set0(&v->st, F_SRC_CONTAINER, r->proc[0].container);
	str_set0(&v->st, F_DST_CONTAINER, r->proc[1].container);
}

/* Room for a record's strings in a message that also carries the
 * templates: any record fits in a message of its own. */
static size_t strings_budget(size_t fixed)
{
	static size_t tpl_len;

	if (!tpl_len) {
		uint8_t tpl[SL_IPFIX_MSG_MAX];

		tpl_len = templates_encode(tpl);
	}
	return SL_IPFIX_MSG_MAX - MSG_HDR_LEN - tpl_len - SET_HDR_LEN - fixed;
}

/* One data record into out (room for SL_IPFIX_MSG_MAX); its length. */
static size_t record_encode(struct sl_ipfix *x, const struct sl_flows *f,
			    const struct sl_flow_rec *r, const uint8_t *fields,
			    size_t n, uint8_t *out)
{
	size_t fixed = fixed_len(fields, n);
	struct view v;
	uint8_t *p = out;

	view_init(&v, x, f, r);
	if (strings_fit(&v.st, fields, n, strings_budget(fixed)))
		x->stats.truncated++;
	for (size_t i = 0; i < n; i++)
		p = field_encode(p, fields[i], &v);
	return (size_t)(p - out);
}

/* --- messages ------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ms_of(&t);
}

static bool templates_due(const struct sl_ipfix *x, uint64_t now)
{
	return !x->templates_ms ||
	       now - x->templates_ms >= SL_IPFIX_TEMPLATE_SECS * 1000ull ||
	       x->msgs_since_templates >= SL_IPFIX_TEMPLATE_MSGS;
}

/* A new message, the templates first when they are due. */
static void msg_begin(struct sl_ipfix *x)
{
	uint64_t now = mono_ms();

	x->len = MSG_HDR_LEN;
	x->set_id = 0;
	x->msg_records = 0;
	x->msg_templates = false;
	if (templates_due(x, now)) {
		x->len += templates_encode(x->msg + x->len);
		x->msg_templates = true;
		x->templates_ms = now;
		x->msgs_since_templates = 0;
	}
}

static void set_close(struct sl_ipfix *x)
{
	if (x->set_id)
		put16(x->msg + x->set_at + 2, (uint16_t)(x->len - x->set_at));
	x->set_id = 0;
}

static void send_failed(struct sl_ipfix *x, int err)
{
	x->stats.send_errors++;
	x->stats.records_dropped += x->msg_records;
	/* A lost template is a refresh away: bring it forward. */
	if (x->msg_templates)
		x->templates_ms = 0;
	if (err != x->last_errno)
		log_warn("ipfix: sending to %s: %s; ignoring, records are dropped while it lasts",
			 x->collector.spec, strerror(err));
	x->last_errno = err;
}

/*
 * The header, then one send. The sequence number moves on even when the
 * send fails: the collector then sees the gap, as for a datagram lost on
 * the way, and the loss is not hidden.
 */
void sl_ipfix_flush(struct sl_ipfix *x)
{
	struct timespec now;
	ssize_t w;

	if (!x->running || !x->len)
		return;
	set_close(x);
	clock_gettime(CLOCK_REALTIME, &now);
	put16(x->msg, SL_IPFIX_VERSION);
	put16(x->msg + 2, (uint16_t)x->len);
	put32(x->msg + 4, (uint32_t)now.tv_sec);
	put32(x->msg + 8, x->seq);
	put32(x->msg + 12, x->domain_id);
	x->seq += x->msg_records;
	x->msgs_since_templates++;
	w = sendto(x->fd, x->msg, x->len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const void *)&x->collector.addrs[x->addr],
		   x->collector.lens[x->addr]);
	if (w < 0) {
		send_failed(x, errno);
	} else {
		if (x->last_errno)
			log_info("ipfix: sending to %s again", x->collector.spec);
		x->last_errno = 0;
		x->stats.messages++;
		x->stats.records += x->msg_records;
		x->stats.bytes += x->len;
		x->stats.template_sets += x->msg_templates;
	}
	x->len = 0;
}

/* The sink: ends and drops, packed into the message being filled. */
static void on_record(void *ctx, const struct sl_flows *f,
		      const struct sl_flow_rec *r)
{
	struct sl_ipfix *x = ctx;
	uint8_t rec[SL_IPFIX_MSG_MAX];
	size_t t, n;

	if (!x->running)
		return;
	if (r->kind == SL_FLOW_REC_END &&
	    (sl_flow_process_known(&r->proc[0]) ||
	     sl_flow_process_known(&r->proc[1]) || r->rtt.valid))
		t = 2;
	else if (r->kind == SL_FLOW_REC_END)
		t = 0;
	else if (r->kind == SL_FLOW_REC_DROP)
		t = 1;
	else
		return;
	n = record_encode(x, f, r, templates[t].fields, templates[t].n, rec);
	if (x->len && x->len + (x->set_id == templates[t].id ? 0 : SET_HDR_LEN) +
			      n > SL_IPFIX_MSG_MAX)
		sl_ipfix_flush(x);
	if (!x->len)
		msg_begin(x);
	if (x->set_id != templates[t].id) {
		set_close(x);
		x->set_at = x->len;
		x->set_id = templates[t].id;
		put16(x->msg + x->len, x->set_id);
		x->len += SET_HDR_LEN;
	}
	memcpy(x->msg + x->len, rec, n);
	x->len += n;
	x->msg_records++;
}

/* --- the exporter --------------------------------------------------------- */

int sl_ipfix_parse_collector(const char *spec, struct sl_ipfix *x, char *why,
			     size_t why_len)
{
	int err = sl_metrics_parse_listen(spec, &x->collector, why, why_len);

	if (err < 0)
		return err;
	if (x->collector.any) {
		memset(&x->collector, 0, sizeof(x->collector));
		snprintf(why, why_len, "want HOST:PORT, the collector's address");
		return -EINVAL;
	}
	return 0;
}

/* FNV-1a: a node's observation domain from its name. */
static uint32_t domain_of(const char *node_name)
{
	uint32_t h = 2166136261u;

	for (const char *c = node_name ? node_name : ""; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return h ? h : 1; /* 0 means "no domain" (RFC 7011 section 3.1) */
}

/*
 * A socket for the first of the collector's addresses this node can open
 * one for (getaddrinfo's order, RFC 6724). Not connected: a connected UDP
 * socket would fail a send for an earlier datagram's ICMP unreachable, and
 * a collector with no route yet (the node's network still coming up)
 * would stop the agent; unconnected, such sends are counted as send
 * errors and export resumes by itself once the collector is there.
 */
static int collector_socket(struct sl_ipfix *x)
{
	int err = -EDESTADDRREQ;

	for (size_t i = 0; i < x->collector.n; i++) {
		const struct sockaddr *sa = (const void *)&x->collector.addrs[i];
		int fd = socket(sa->sa_family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd >= 0) {
			x->fd = fd;
			x->addr = i;
			return 0;
		}
		err = -errno;
	}
	return err;
}

static void fds_close(struct sl_ipfix *x)
{
	if (x->fd >= 0)
		close(x->fd);
	if (x->timer_fd >= 0)
		close(x->timer_fd);
	x->fd = x->timer_fd = -1;
}

int sl_ipfix_open(struct sl_ipfix *x, struct sl_flows *flows,
		  const char *node_name, int epoll_fd)
{
	const struct timespec every = {
		.tv_sec = SL_IPFIX_FLUSH_MS / 1000,
		.tv_nsec = SL_IPFIX_FLUSH_MS % 1000 * 1000000L,
	};
	struct itimerspec its = { .it_interval = every, .it_value = every };
	struct sl_flow_sink sink = { .record = on_record, .ctx = x };
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	x->fd = x->timer_fd = -1;
	if (!x->collector.n)
		return 0;
	x->node_name = node_name;
	x->domain_id = domain_of(node_name);
	err = collector_socket(x);
	if (err < 0) {
		log_error("ipfix: a socket for the collector %s: %s",
			  x->collector.spec, strerror(-err));
		return err;
	}
	if (epoll_fd >= 0) {
		x->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					     TFD_NONBLOCK | TFD_CLOEXEC);
		ev.data.fd = x->timer_fd;
		if (x->timer_fd < 0 ||
		    timerfd_settime(x->timer_fd, 0, &its, NULL) < 0 ||
		    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, x->timer_fd, &ev) < 0) {
			err = -errno;
			goto fail;
		}
	}
	err = sl_flows_add_sink(flows, &sink);
	if (err < 0)
		goto fail;
	x->running = true;
	/* The templates now: a collector can read the first data at once. */
	msg_begin(x);
	sl_ipfix_flush(x);
	log_info("ipfix: exporting flow ends and drops to %s, observation domain %u",
		 x->collector.spec, x->domain_id);
	return 0;
fail:
	log_error("ipfix: %s", strerror(-err));
	fds_close(x);
	return err;
}

bool sl_ipfix_handle(struct sl_ipfix *x, int fd)
{
	uint64_t ticks;

	if (!x->running || fd != x->timer_fd)
		return false;
	while (read(fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		;
	/* Idle: the templates still go out on time, for a collector that
	 * restarted to read the next data at once. */
	if (!x->len && templates_due(x, mono_ms()))
		msg_begin(x);
	sl_ipfix_flush(x);
	return true;
}

void sl_ipfix_close(struct sl_ipfix *x)
{
	if (!x->running)
		return;
	sl_ipfix_flush(x);
	x->running = false;
	fds_close(x);
}

void sl_ipfix_collect(struct sl_prom *out, void *arg)
{
	const struct sl_ipfix *x = arg;

	sl_prom_counter(out, "sluice_ipfix_records_total",
			"Flow records sent to the IPFIX collector",
			(double)x->stats.records);
	sl_prom_counter(out, "sluice_ipfix_messages_total",
			"IPFIX messages sent", (double)x->stats.messages);
	sl_prom_counter(out, "sluice_ipfix_send_errors_total",
			"IPFIX messages that could not be sent (dropped)",
			(double)x->stats.send_errors);
	sl_prom_counter(out, "sluice_ipfix_records_dropped_total",
			"Flow records lost with unsent IPFIX messages",
			(double)x->stats.records_dropped);
}

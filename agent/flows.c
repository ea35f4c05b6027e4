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

int sl_flows_init(struct sl_flows *f, size_t cap,
		  const struct sl_flow_names *names)
{
	memset(f, 0, sizeof(*f));
	f->cap = cap ? cap : SL_FLOWS_RECENT_DEFAULT;
	f->ring = calloc(f->cap, sizeof(*f->ring));
	if (!f->ring)
		return -ENOMEM;
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

void sl_flows_free(struct sl_flows *f)
{
	while (f->n_followers)
		follower_drop(f, 0);
	free(f->ring);
	f->ring = NULL;
}

/* The datapath's CLOCK_MONOTONIC nanoseconds as wall-clock time. */
static struct timespec realtime_of(const struct sl_flows *f, uint64_t mono_ns)
{
	int64_t t = (int64_t)mono_ns + f->realtime_offset_ns;

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
		if ((int64_t)ev->hdr.ts_ns + f->boot_offset_ns >
		    (int64_t)ev->created_ns)
			r->duration_ns = (uint64_t)((int64_t)ev->hdr.ts_ns +
						    f->boot_offset_ns) -
					 ev->created_ns;
	} else {
		return -EINVAL;
	}
	flow_from_ct(f, r, &k, &e);
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
	commit(f, &r);
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

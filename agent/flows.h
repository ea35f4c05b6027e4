/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow visibility in the agent: the datapath's events (include/sluice/
 * event.h) read off the sl_events ring, turned into flow records that name
 * both ends, kept in a bounded buffer of recent flows and streamed to
 * followers (sluicectl observe --follow).
 *
 * A record is one of: a connection's start, its end (a TCP close from the
 * datapath, or its conntrack entry expiring, seen by the agent's GC), a
 * drop, or a policy verdict. Who the ends are (namespace and pod) is
 * captured when the event is read, since an address changes hands when
 * pods come and go; what an identity, a Service id or a policy id stands
 * for is looked up when a record is shown (those ids are never reused
 * while the agent runs).
 *
 * JSON follows Hubble's Flow field names where a field has an equivalent
 * (time, verdict, drop_reason_desc, IP, l4, source, destination,
 * traffic_direction, node_name, is_reply, destination_service,
 * egress_allowed_by, ingress_allowed_by, Summary); what Hubble has no
 * field for is under sluice's own names (flow_event, flow_end, nat).
 */
#ifndef SL_AGENT_FLOWS_H
#define SL_AGENT_FLOWS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sluice/conntrack.h>

#define SL_FLOWS_RECENT_DEFAULT 4096
/* Bytes a follower may have queued before records are skipped for it. */
#define SL_FLOWS_FOLLOW_BUF (1u << 20)
#define SL_FLOWS_FOLLOWERS_MAX 16

enum sl_flow_rec_kind {
	SL_FLOW_REC_START,
	SL_FLOW_REC_END,
	SL_FLOW_REC_DROP,
	SL_FLOW_REC_VERDICT,
};

enum sl_flow_end_reason {
	SL_FLOW_END_NONE,
	SL_FLOW_END_FIN,
	SL_FLOW_END_RST,
	SL_FLOW_END_TIMEOUT,
};

/* One end of a flow as it was when the event was read. */
struct sl_flow_peer {
	uint32_t ip;       /* host order */
	uint16_t port;
	uint32_t identity; /* 0: unknown */
	char pod[192];     /* "namespace/name", "" when not a pod */
};

struct sl_flow_rec {
	uint64_t seq;           /* the agent's count, from 1 */
	struct timespec time;   /* CLOCK_REALTIME */
	uint8_t kind;           /* enum sl_flow_rec_kind */
	uint8_t dropped;        /* verdict DROPPED (else FORWARDED) */
	uint8_t reason;         /* drop reason, enum sl_reason */
	uint8_t dir;            /* enum sl_dir at the observation point */
	uint8_t proto;
	uint8_t tcp_flags[2];   /* this packet's in [0]; a flow's both ways */
	uint8_t is_reply;
	uint8_t end_reason;     /* enum sl_flow_end_reason */
	uint8_t match;          /* verdicts: enum sl_match_kind */
	uint8_t policy_dir;     /* verdicts: enum sl_dir of the policy */
	uint32_t ifindex;
	struct sl_flow_peer src, dst;
	uint32_t nat_ip;        /* a Service connection's backend */
	uint16_t nat_port;
	uint32_t svc_id;
	uint32_t policy_id[2];  /* by enum sl_policy_dir */
	uint64_t packets[2];    /* ends: [0] from the initiator */
	uint64_t bytes[2];
	uint64_t duration_ns;   /* ends */
};

/* What the ids in a record stand for: the agent's tables, looked up when
 * a record is shown. Any callback may be NULL or return NULL. */
struct sl_flow_names {
	/* "namespace/name" of the pod at ip now, and its identity. */
	const char *(*pod_at)(void *ctx, uint32_t ip, uint32_t *identity);
	/* The pod's labels ("k=v,k=v") behind an identity. */
	const char *(*labels_of)(void *ctx, uint32_t identity);
	/* "namespace/name:port" of a Service port id. */
	const char *(*service_of)(void *ctx, uint32_t svc_id);
	/* "namespace/name" of a NetworkPolicy id. */
	const char *(*policy_of)(void *ctx, uint32_t policy_id);
	const char *node_name;
	void *ctx;
};

struct sl_flows_follower {
	int fd;
	char *buf;
	size_t len;
	uint64_t skipped; /* records not sent: the follower was too slow */
};

/* Where records go besides the recent buffer and followers (the file
 * sink, IPFIX): called for every record, in order, on the agent's loop.
 * A sink must not block. */
struct sl_flows;
struct sl_flow_sink {
	void (*record)(void *ctx, const struct sl_flows *f,
		       const struct sl_flow_rec *r);
	void *ctx;
};

#define SL_FLOWS_SINKS_MAX 4

struct sl_flows {
	struct sl_flow_rec *ring;
	size_t cap, head, count;  /* head: the next slot */
	uint64_t seq;
	/* Counts by kind and verdict, for metrics: every record, kept or
	 * not. */
	uint64_t by_kind[4][2];
	uint64_t decode_errors;
	struct sl_flows_follower followers[SL_FLOWS_FOLLOWERS_MAX];
	size_t n_followers;
	struct sl_flow_sink sinks[SL_FLOWS_SINKS_MAX];
	size_t n_sinks;
	const struct sl_flow_names *names;
	/* CLOCK_REALTIME - CLOCK_MONOTONIC, for the datapath's times, and
	 * CLOCK_BOOTTIME - CLOCK_MONOTONIC, for conntrack's. */
	int64_t realtime_offset_ns;
	int64_t boot_offset_ns;
};

int sl_flows_init(struct sl_flows *f, size_t cap,
		  const struct sl_flow_names *names);
void sl_flows_free(struct sl_flows *f);

/*
 * sl_flows_event - one record off the ring
 * @data, @size: as the ring gave them
 *
 * Records of an unknown version or a wrong size are counted in
 * decode_errors and skipped. Returns 0 (never stops the ring's reader).
 */
int sl_flows_event(struct sl_flows *f, const void *data, size_t size);

/* A connection whose conntrack entry expired (the agent's GC): its end,
 * unless it was closed already (a TCP close was recorded then). */
void sl_flows_expired(struct sl_flows *f, const struct sl_ct_key *k,
		      const struct sl_ct_entry *e, uint64_t now_boot_ns);

/* Add a sink; -ENOSPC past SL_FLOWS_SINKS_MAX. */
int sl_flows_add_sink(struct sl_flows *f, const struct sl_flow_sink *sink);

/* The record as JSON (a new object). */
json_object *sl_flow_json(const struct sl_flows *f,
			  const struct sl_flow_rec *r);

/* The last n records held, oldest first, as a JSON array. */
json_object *sl_flows_recent_json(const struct sl_flows *f, size_t n);

/*
 * Followers: fd (non-blocking, connected) gets every new record as one
 * JSON line. Returns 0, or -EBUSY when SL_FLOWS_FOLLOWERS_MAX follow.
 * sl_flows_pump() writes what is queued for fd; it returns 1 while data
 * is left, 0 when drained, or -1 when the follower is gone (closed and
 * dropped here).
 */
int sl_flows_follow(struct sl_flows *f, int fd);
int sl_flows_pump(struct sl_flows *f, int fd);
bool sl_flows_is_follower(const struct sl_flows *f, int fd);
/* Queued bytes for fd (for the loop's EPOLLOUT interest). */
size_t sl_flows_pending(const struct sl_flows *f, int fd);

#endif /* SL_AGENT_FLOWS_H */

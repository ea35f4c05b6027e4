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
 * Processes and round trips come from the sockets (SL_EVENT_SOCK,
 * datapath/lib/sockops.h), joined to records by tuple through a bounded
 * table of recent sockets, keyed by each socket's own view (local end,
 * remote end): a record's source is the socket whose view is (source,
 * destination), its destination the socket whose view is (the destination
 * reached, after Service translation; source). A start names what is
 * known when it is read: the client, whose socket is announced before its
 * first packet leaves. An end waits for its sockets' close (RTT and
 * retransmits): a TCP close seen by conntrack is held until every socket
 * of the connection the table knows has reported its close, or
 * SL_FLOWS_JOIN_WAIT_NS, whichever comes first (the close of the end that
 * receives a reset arrives after the reset has passed the veth). An end
 * from conntrack's expiry comes long after its sockets spoke and is never
 * held. Held ends go out from sl_flows_flush(), on the agent's loop.
 *
 * JSON follows Hubble's Flow field names where a field has an equivalent
 * (time, verdict, drop_reason_desc, IP, l4, source, destination,
 * traffic_direction, node_name, is_reply, destination_service,
 * egress_allowed_by, ingress_allowed_by, Summary); what Hubble has no
 * field for is under sluice's own names (flow_event, flow_end, nat,
 * process, destination_process, rtt).
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

/* The join's bounds: sockets remembered, ends held, for how long. */
#define SL_FLOWS_SOCKS_MAX 16384
#define SL_FLOWS_PENDING_MAX 1024
#define SL_FLOWS_JOIN_WAIT_NS 1000000000ull
/* A closed socket no end claimed (its conntrack close was shed) goes. */
#define SL_FLOWS_SOCK_LINGER_NS (10 * 1000000000ull)
/* A UDP socket whose address is unbound (0) is keyed by port; another
 * namespace's socket on the same key within this long makes the key
 * ambiguous (no name is better than a wrong one), after it replaces. */
#define SL_FLOWS_UDP_REUSE_NS (60 * 1000000000ull)

/* The process at one end of a flow, from its socket's owner
 * (include/sluice/sock_owner.h). */
struct sl_flow_process {
	uint64_t cgroup_id;  /* 0 with pid 0: nobody known */
	uint32_t pid;        /* the process (the kernel's tgid) */
	uint32_t tid;        /* its thread that opened the socket */
	char comm[16];
	char container[72];  /* from the cgroup's path; "" when none */
};

static inline bool sl_flow_process_known(const struct sl_flow_process *p)
{
	return p->cgroup_id || p->pid || p->comm[0];
}

/* A TCP connection's round trip, as one of its sockets measured it. */
struct sl_flow_rtt {
	uint32_t srtt_us;    /* smoothed */
	uint32_t min_us;
	uint32_t retrans;    /* segments that socket retransmitted */
	uint8_t valid;
	uint8_t at_dst;      /* measured by the destination's socket */
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
	uint64_t created_ns;    /* starts, ends: the conntrack entry's birth */
	struct sl_flow_process proc[2]; /* [0] the source's, [1] the dest's */
	struct sl_flow_rtt rtt; /* ends of TCP connections */
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
	/* The container id of a cgroup (by its id), captured when a socket
	 * is announced: the cgroup may be gone by the flow's end. */
	const char *(*container_of)(void *ctx, uint64_t cgroup_id);
	const char *node_name;
	void *ctx;
};

/* A socket the join knows, by its own view of its tuple. */
struct sl_flow_sock_key {
	uint32_t laddr;  /* host order; 0: a UDP socket bound to no address */
	uint32_t raddr;
	uint16_t lport;
	uint16_t rport;
	uint8_t proto;
};

struct sl_flow_sock {
	struct sl_flow_sock_key key;
	uint64_t cookie;          /* the socket's: a new one replaces */
	uint64_t netns;           /* UDP: its namespace */
	uint64_t updated_ns;      /* CLOCK_MONOTONIC of its last event */
	uint64_t flow_created_ns; /* the flow start it named; 0: none yet */
	struct sl_flow_process proc;
	struct sl_flow_rtt rtt;
	bool used, closed, ambiguous;
	uint32_t hash_next;           /* slot + 1; 0 ends the chain */
	uint32_t lru_prev, lru_next;  /* slot + 1; head: most recent */
};

/* The table: slots, hash chains, least recently updated first out. */
struct sl_flow_socks {
	struct sl_flow_sock *slot;
	uint32_t *bucket;         /* slot + 1 */
	size_t cap, n_buckets, count;
	uint32_t lru_head, lru_tail, free_head;
	uint64_t evicted;         /* pushed out while still wanted */
	uint64_t swept_ns;        /* the last sweep of closed ones */
};

struct sl_flow_pending {
	struct sl_flow_rec rec;
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC */
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
	/* The join (see above). */
	struct sl_flow_socks socks;
	struct sl_flow_pending *pending; /* ends waiting: a ring, oldest */
	size_t pending_head, n_pending;  /* at pending_head */
	uint64_t sock_events;     /* SL_EVENT_SOCK read */
	uint64_t ends_waited[2];  /* held ends: [0] completed, [1] timed out */
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

/*
 * sl_flows_flush - send the held ends whose wait is over, and forget the
 * closed sockets no end claimed
 * @now_ns: CLOCK_MONOTONIC (the datapath's clock)
 *
 * Returns the time of the next deadline (CLOCK_MONOTONIC), 0 with
 * nothing held: when to call it again.
 */
uint64_t sl_flows_flush(struct sl_flows *f, uint64_t now_ns);

/*
 * sl_flow_container_id - the container id in a cgroup's path: the deepest
 * component shaped as a container runtime names its cgroups
 * (cri-containerd-ID.scope, crio-ID.scope, docker-ID.scope,
 * libpod-ID.scope with systemd's driver; a bare ID with cgroupfs'), ID
 * being 64 hex digits. Writes it NUL-terminated to out (len > 64) and
 * returns its length, or 0 when the path names no container.
 */
size_t sl_flow_container_id(const char *cgroup_path, char *out, size_t len);

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

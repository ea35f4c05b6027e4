/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPFIX export (RFC 7011) of flow records to a collector:
 * sluiced --ipfix-collector HOST:PORT. A sink of agent/flows.h, on the
 * agent's loop: records are packed into messages under the path MTU and
 * sent over UDP when a message is full or on a one-second timer.
 *
 * What is exported:
 *  - connection ends (SL_FLOW_REC_END: a TCP close, or a conntrack entry
 *    expiring), template SL_IPFIX_TPL_FLOW_END: the initiator's direction
 *    as the forward one, the replies' counters and TCP flags as RFC 5103
 *    reverse elements (PEN 29305) in the same record, so a connection is
 *    one record and a collector without RFC 5103 still reads the forward
 *    half correctly; start = end - duration; a Service connection's
 *    backend as postNAT destination;
 *  - drops (SL_FLOW_REC_DROP), template SL_IPFIX_TPL_DROP: the packet's
 *    tuple, forwardingStatus "dropped" with the nearest RFC 7270 reason,
 *    and sluice's own reason by code and name.
 *  - connection ends whose sockets were seen (a process named at either
 *    end, or a TCP round trip), template SL_IPFIX_TPL_FLOW_END_PROC: the
 *    same elements and after them each end's process id, command and
 *    container id, and the RTT. Only such records use it: a field sent
 *    empty in every record would tell a collector nothing and cost bytes.
 * Starts are not exported: the end carries everything a start does, plus
 * counters, and a collector that sums records would count a connection
 * twice. Policy verdicts are not exported either: a denial is a drop.
 *
 * Whatever has no IANA element (pods, namespaces, labels, identities,
 * Services, NetworkPolicies, the node, processes, containers) goes in
 * sluice's own elements under SL_IPFIX_PEN, strings as variable-length
 * fields (RFC 7011 section 7). IANA's registry has no element for a
 * round-trip time or a retransmission count either (its TCP elements are
 * header fields and flag counters): those are sluice's too.
 *
 * The observation domain is the node: a hash of its name (FNV-1a), the
 * same on every restart, different per node, so a collector keeps each
 * node's template and sequence numbers apart without configuration.
 */
#ifndef SL_AGENT_IPFIX_H
#define SL_AGENT_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"
#include "metrics.h"

#define SL_IPFIX_VERSION 10
/*
 * RFC 5612's Private Enterprise Number, set aside for documentation and
 * examples: a number registered with IANA for sluice replaces it here
 * (and in a collector's configuration) before this leaves a lab.
 */
#define SL_IPFIX_PEN 32473
/* RFC 5103: a reverse element is its forward one under this PEN. */
#define SL_IPFIX_PEN_REVERSE 29305

/* A message stays under a 1500-byte path MTU with room for IPv6, UDP and
 * a tunnel header: an IPFIX message must never be fragmented, as losing
 * one fragment loses the whole message. */
#define SL_IPFIX_MSG_MAX 1400
#define SL_IPFIX_FLUSH_MS 1000
/*
 * UDP loses messages, a template's too, and a collector that restarts
 * has forgotten them (RFC 7011 section 10.3.6): the templates go out at
 * start, then again every SL_IPFIX_TEMPLATE_SECS seconds and every
 * SL_IPFIX_TEMPLATE_MSGS messages, whichever comes first, so data is
 * unreadable for a bounded time only. No template withdrawals: they mean
 * nothing over UDP.
 */
#define SL_IPFIX_TEMPLATE_SECS 30
#define SL_IPFIX_TEMPLATE_MSGS 32

enum sl_ipfix_template_id {
	SL_IPFIX_TPL_FLOW_END = 256,
	SL_IPFIX_TPL_DROP = 257,
	SL_IPFIX_TPL_FLOW_END_PROC = 258,
};

/*
 * sluice's elements under SL_IPFIX_PEN. Never renumber: collectors are
 * configured with these. Numbered from 101, clear of the IANA ids sent as
 * RFC 5103 reverse elements (1, 2, 6): some collectors (pmacct's nfacctd)
 * tell enterprise elements of one template apart by id before PEN, and
 * would take our 1 for the reverse octet count.
 */
enum sl_ipfix_ie {
	SL_IPFIX_IE_SRC_NAMESPACE = 101,    /* string */
	SL_IPFIX_IE_SRC_POD = 102,          /* string */
	SL_IPFIX_IE_DST_NAMESPACE = 103,    /* string */
	SL_IPFIX_IE_DST_POD = 104,          /* string; a Service's backend */
	SL_IPFIX_IE_SRC_LABELS = 105,       /* string, "k=v,k=v" */
	SL_IPFIX_IE_DST_LABELS = 106,       /* string */
	SL_IPFIX_IE_SRC_IDENTITY = 107,     /* unsigned32 */
	SL_IPFIX_IE_DST_IDENTITY = 108,     /* unsigned32 */
	SL_IPFIX_IE_DST_SERVICE = 109,      /* string, "namespace/name:port" */
	SL_IPFIX_IE_INGRESS_POLICY = 110,   /* string, "namespace/name" */
	SL_IPFIX_IE_EGRESS_POLICY = 111,    /* string */
	SL_IPFIX_IE_NODE_NAME = 112,        /* string */
	SL_IPFIX_IE_DROP_REASON = 113,      /* unsigned8, include/sluice/drop.h */
	SL_IPFIX_IE_DROP_REASON_NAME = 114, /* string, "POLICY_DENIED_INGRESS" */
	SL_IPFIX_IE_SRC_PROCESS_ID = 115,   /* unsigned32, the source's pid */
	SL_IPFIX_IE_SRC_PROCESS_COMMAND = 116, /* string, its comm */
	SL_IPFIX_IE_DST_PROCESS_ID = 117,   /* unsigned32 */
	SL_IPFIX_IE_DST_PROCESS_COMMAND = 118, /* string */
	SL_IPFIX_IE_SRC_CONTAINER_ID = 119, /* string, 64 hex digits */
	SL_IPFIX_IE_DST_CONTAINER_ID = 120, /* string */
	SL_IPFIX_IE_TCP_SRTT = 121,         /* unsigned32, microseconds */
	SL_IPFIX_IE_TCP_MIN_RTT = 122,      /* unsigned32, microseconds */
	SL_IPFIX_IE_TCP_RETRANSMITS = 123,  /* unsigned32, segments */
	SL_IPFIX_IE_RTT_AT = 124,           /* unsigned8: 0 the source's
					     * socket measured it, 1 the
					     * destination's */
};

/* For metrics: counts since the exporter opened. */
struct sl_ipfix_stats {
	uint64_t records;         /* data records in messages sent */
	uint64_t messages;        /* messages sent */
	uint64_t template_sets;   /* of those, with the templates */
	uint64_t bytes;           /* message bytes sent */
	uint64_t send_errors;     /* messages not sent (EAGAIN: dropped) */
	uint64_t records_dropped; /* data records in those */
	uint64_t truncated;       /* records whose strings were shortened */
};

struct sl_ipfix {
	/* --ipfix-collector, resolved at start; n == 0: no export. Same
	 * grammar as --metrics-listen, with a host required. */
	struct sl_metrics_listen collector;
	bool running;
	int fd, timer_fd;
	size_t addr; /* the collector's address in use */
	uint32_t domain_id;
	uint32_t seq; /* data records of every message before this one */
	const char *node_name;
	uint8_t msg[SL_IPFIX_MSG_MAX];
	size_t len;           /* bytes of msg in use, 0: no message begun */
	size_t set_at;        /* offset of the open data set's header */
	uint16_t set_id;      /* its template, 0: none open */
	uint32_t msg_records; /* data records in msg */
	bool msg_templates;   /* msg carries the template set */
	uint64_t templates_ms; /* CLOCK_MONOTONIC of the last templates sent */
	uint32_t msgs_since_templates;
	int last_errno;       /* of the last send, to log changes only */
	struct sl_ipfix_stats stats;
};

/*
 * sl_ipfix_parse_collector - HOST:PORT, HOST an IPv4 address, an IPv6
 * address in brackets or a name resolved now (getaddrinfo). -EINVAL with
 * why set when spec is malformed, has no host or does not resolve.
 */
int sl_ipfix_parse_collector(const char *spec, struct sl_ipfix *x, char *why,
			     size_t why_len);

/*
 * sl_ipfix_open - with a collector: the socket (non-blocking), the flush
 * timer on epoll_fd (-1: none, sl_ipfix_flush() by hand), the first
 * templates, and the sink on flows. 0 without a collector, or -errno.
 * A collector that is unreachable is no error: sends fail and are counted
 * until it is reachable.
 */
int sl_ipfix_open(struct sl_ipfix *x, struct sl_flows *flows,
		  const char *node_name, int epoll_fd);

/* Handle an epoll event on fd if it is the flush timer; false if not. */
bool sl_ipfix_handle(struct sl_ipfix *x, int fd);

/* Send the message being filled, if any. */
void sl_ipfix_flush(struct sl_ipfix *x);

/* Flush and close; safe on a zeroed, never opened struct. */
void sl_ipfix_close(struct sl_ipfix *x);

/* Export counters for /metrics (agent/metrics.h collector, arg the
 * exporter). */
struct sl_prom;
void sl_ipfix_collect(struct sl_prom *out, void *arg);

#endif /* SL_AGENT_IPFIX_H */

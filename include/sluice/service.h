/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service load balancing: the maps the agent compiles Services and
 * EndpointSlices into, read by the datapath at the pod veth.
 *
 *   sl_services  (addr, port, proto, scope, slot) -> entry
 *                slot 0 is the frontend: how many backend slots it has and
 *                how to pick one; slots 1..count name a backend each.
 *   sl_backends  backend id -> address and port of one endpoint
 *   sl_affinity  (client, service) -> the backend it stuck to (ClientIP)
 *   sl_maglev    table id -> a Maglev lookup table (an inner map) for a
 *                frontend with SL_SVC_F_MAGLEV; the frontend names it
 *                in its backend_id
 *   sl_sock_nat  (socket, address, port) -> what a host socket's
 *                translation at connect()/sendmsg() time chose, written by
 *                the cgroup socket programs only (datapath/lib/sock.h)
 *
 * The agent writes the backends, then the slots and Maglev tables, then the
 * frontend with its new count, and deletes surplus slots and tables last: a
 * reader never sees a slot count that points past what is written, or a
 * slot or table naming a backend that is not.
 */
#ifndef SLUICE_SERVICE_H
#define SLUICE_SERVICE_H

#include <linux/types.h>

#define SL_SERVICES_MAP "sl_services"
#define SL_BACKENDS_MAP "sl_backends"
#define SL_AFFINITY_MAP "sl_affinity"
#define SL_SOCK_NAT_MAP "sl_sock_nat"
#define SL_MAGLEV_MAP "sl_maglev"

#define SL_SERVICES_MAX 262144 /* frontends and their slots together */
#define SL_BACKENDS_MAX 262144
#define SL_AFFINITY_MAX 65536
#define SL_SOCK_NAT_MAX 65536
#define SL_SERVICE_SLOTS_MAX 65535 /* backends behind one frontend */

/*
 * Which traffic a frontend entry serves. A Service with
 * externalTrafficPolicy Local has two backend sets for its external
 * addresses: node-local endpoints for traffic from outside (SCOPE_EXT) and
 * all endpoints for traffic from this node's pods and processes
 * (SCOPE_INT). The SCOPE_EXT frontend then carries SL_SVC_F_TWO_SCOPES and
 * in-cluster senders look again with SCOPE_INT. internalTrafficPolicy
 * Local needs no second scope: ClusterIP traffic is always internal.
 */
#define SL_SCOPE_EXT 0
#define SL_SCOPE_INT 1

struct sl_service_key {
	__be32 addr;  /* ClusterIP, external IP, LB ingress IP, or node IP */
	__be16 port;  /* service port (NodePort for node addresses) */
	__u8 proto;   /* IPPROTO_TCP, _UDP, _SCTP */
	__u8 scope;   /* SL_SCOPE_* */
	__u16 slot;   /* 0: the frontend; 1..count: its backends */
	__u16 pad;
};
_Static_assert(sizeof(struct sl_service_key) == 12, "sl_service_key ABI");

/* Flag bits of a frontend (slot 0). */
#define SL_SVC_F_AFFINITY 0x01u   /* sessionAffinity ClientIP */
#define SL_SVC_F_TWO_SCOPES 0x02u /* eTP Local: look again with SCOPE_INT */
#define SL_SVC_F_LOCAL 0x04u      /* only node-local backends (eTP/iTP) */
#define SL_SVC_F_MAGLEV 0x08u     /* pick by Maglev table, not at random */
#define SL_SVC_F_EXTERNAL 0x10u   /* external IP, LB IP or NodePort */
#define SL_SVC_F_NODEPORT 0x20u   /* addr is a node address */
/* LOCAL with no local endpoint while other nodes have some: kube-proxy
 * drops such traffic ("has no local endpoints") where a Service with no
 * endpoint at all is rejected. */
#define SL_SVC_F_REMOTE_ONLY 0x40u

struct sl_service_val {
	__u32 backend_id; /* slots: the backend; frontend: its sl_maglev
			   * table id with SL_SVC_F_MAGLEV, else 0 */
	__u32 svc_id;     /* the Service port: affinity and flow attribution */
	__u16 count;      /* frontend: slots 1..count in use; 0 rejects */
	__u16 flags;      /* frontend: SL_SVC_F_* */
	__u32 affinity_timeout; /* frontend: seconds, with SL_SVC_F_AFFINITY */
};
_Static_assert(sizeof(struct sl_service_val) == 16, "sl_service_val ABI");

/*
 * Maglev consistent hashing (Eisenbud et al., NSDI'16). A frontend with
 * SL_SVC_F_MAGLEV and backends has a lookup table of SL_MAGLEV_M backend
 * ids, computed by the agent from the backends' addresses, ports and
 * protocol (never their ids, which differ from node to node), so every
 * node maps a connection to the same backend, and a backend that comes or
 * goes moves only about 1/N of the connections. A new connection takes
 * entry sl_maglev_hash4(its tuple) % SL_MAGLEV_M, after ClientIP affinity.
 *
 * sl_maglev maps the table id the frontend carries (1..TABLES_MAX; 0 is
 * none) to an inner array with one element, the whole table: SL_MAGLEV_M
 * * 4 bytes (65,840 bytes of kernel memory with the array's header), one
 * lookup and one write (an array of M u32 elements would round each to 8
 * bytes: twice that). The agent replaces a table by filling a new inner
 * map and swapping it in under the same id, so a reader sees the old
 * table or the new one, never half of one. No table, or an entry naming no
 * backend: the datapath picks at random.
 *
 * SL_MAGLEV_M is a prime, Cilium's default. Each backend gets M/N entries
 * (one more or less); the paper wants M > 100 N for a change to move
 * little more than the share of the backend that came or went: up to
 * about 160 backends here. Changing it changes the inner maps' layout:
 * the loader then starts sl_maglev afresh.
 */
#define SL_MAGLEV_M 16381
#define SL_MAGLEV_TABLES_MAX 16384 /* Maglev frontends on a node */

struct sl_maglev_table {
	__u32 backend_id[SL_MAGLEV_M];
};
_Static_assert(sizeof(struct sl_maglev_table) == SL_MAGLEV_M * 4,
	       "sl_maglev_table ABI");

static inline __u32 sl_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/*
 * sl_maglev_hash4 - where a connection falls in a Maglev table
 *
 * The kernel's jhash_3words(saddr, daddr, sport << 16 | dport, proto)
 * (Bob Jenkins' lookup3 final mix) of the addresses and ports as they are
 * on the wire: cheap, well mixed, and the same in the datapath and in
 * user space (on nodes of one byte order). The frontend's address and port
 * are the ones the client sent to (before translation).
 */
static inline __u32 sl_maglev_hash4(__be32 saddr, __be32 daddr, __be16 sport,
				    __be16 dport, __u8 proto)
{
	__u32 iv = 0xdeadbeefu + (3u << 2) + proto;
	__u32 a = (__u32)saddr + iv, b = (__u32)daddr + iv;
	__u32 c = (((__u32)sport << 16) | (__u32)dport) + iv;

	c ^= b;
	c -= sl_rol32(b, 14);
	a ^= c;
	a -= sl_rol32(c, 11);
	b ^= a;
	b -= sl_rol32(a, 25);
	c ^= b;
	c -= sl_rol32(b, 16);
	a ^= c;
	a -= sl_rol32(c, 4);
	b ^= a;
	b -= sl_rol32(a, 14);
	c ^= b;
	c -= sl_rol32(b, 24);
	return c;
}

/* Backend ids are never reused while an agent runs: a connection tracked to
 * a removed backend then finds no backend rather than someone else's. */
struct sl_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 flags; /* SL_BE_F_* */
};
_Static_assert(sizeof(struct sl_backend) == 8, "sl_backend ABI");

#define SL_BE_F_TERMINATING 0x01u /* serving, terminating: fallback only */
#define SL_BE_F_LOCAL 0x02u       /* on this node */

struct sl_affinity_key {
	__be32 client;
	__u32 svc_id;
};
_Static_assert(sizeof(struct sl_affinity_key) == 8, "sl_affinity_key ABI");

struct sl_affinity_val {
	__u32 backend_id;
	__u32 last_used; /* seconds, CLOCK_BOOTTIME */
};
_Static_assert(sizeof(struct sl_affinity_val) == 8, "sl_affinity_val ABI");

/*
 * Host sockets: translated when they connect() or send to a frontend, in
 * the cgroup socket hooks rather than per packet. Entries are keyed by the
 * socket's cookie (unique per boot, never reused), so an entry outliving
 * its socket can never match another one; the LRU takes them back.
 *
 *   SL_SOCK_REV  (cookie, backend addr:port) -> the frontend, so
 *                recvmsg() and getpeername() show the address the
 *                application used (UDP replies, connected peers)
 *   SL_SOCK_FWD  (cookie, frontend addr:port) -> the backend an UDP
 *                socket was given, kept for its later datagrams to the
 *                frontend as conntrack keeps a pod's UDP flow on one backend
 *
 * The client of a host socket for ClientIP affinity is SL_SOCK_CLIENT: all
 * of a node's host processes are one client, as they share the node's
 * address under kube-proxy.
 */
#define SL_SOCK_REV 0
#define SL_SOCK_FWD 1
#define SL_SOCK_CLIENT 0 /* 0.0.0.0: never a pod's source address */

struct sl_sock_nat_key {
	__u64 cookie; /* bpf_get_socket_cookie() */
	__be32 addr;
	__be16 port;
	__u8 dir; /* SL_SOCK_REV, SL_SOCK_FWD */
	__u8 pad;
};
_Static_assert(sizeof(struct sl_sock_nat_key) == 16, "sl_sock_nat_key ABI");

struct sl_sock_nat_val {
	__be32 addr; /* REV: the frontend; FWD: the backend */
	__be16 port;
	__u16 pad;
	__u32 backend_id; /* FWD: still valid while sl_backends has it */
	__u32 svc_id;     /* the Service port, for attribution */
};
_Static_assert(sizeof(struct sl_sock_nat_val) == 16, "sl_sock_nat_val ABI");

#endif /* SLUICE_SERVICE_H */

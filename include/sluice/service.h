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
 *   sl_sock_nat  (socket, address, port) -> what a host socket's
 *                translation at connect()/sendmsg() time chose, written by
 *                the cgroup socket programs only (datapath/lib/sock.h)
 *
 * The agent writes the backends, then the slots, then the frontend with its
 * new count, and deletes surplus slots last: a reader never sees a slot
 * count that points past what is written, or a slot without its backend.
 */
#ifndef SLUICE_SERVICE_H
#define SLUICE_SERVICE_H

#include <linux/types.h>

#define SL_SERVICES_MAP "sl_services"
#define SL_BACKENDS_MAP "sl_backends"
#define SL_AFFINITY_MAP "sl_affinity"
#define SL_SOCK_NAT_MAP "sl_sock_nat"

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

struct sl_service_val {
	__u32 backend_id; /* slots: the backend; frontend: 0 */
	__u32 svc_id;     /* the Service port: affinity and flow attribution */
	__u16 count;      /* frontend: slots 1..count in use; 0 rejects */
	__u16 flags;      /* frontend: SL_SVC_F_* */
	__u32 affinity_timeout; /* frontend: seconds, with SL_SVC_F_AFFINITY */
};
_Static_assert(sizeof(struct sl_service_val) == 16, "sl_service_val ABI");

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

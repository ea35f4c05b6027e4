// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's API: a unix stream socket under runDir. A client writes one
 * line ({"cmd":"status"}, with the command's arguments as more members:
 * {"cmd":"policy","endpoint":"ns/pod"}), the agent answers one JSON
 * document and closes. A request it cannot answer gets {"error": why}.
 */
#include "agent.h"

#include <sluice/tunnel.h>
#include "log.h"
#include "reasons.h"
#include "store.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sluice/drop.h>

#include <sluice/conntrack.h>
#include <sluice/ipcache.h>
#include <sluice/policy.h>

int sl_api_listen(struct sl_agent *a)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", a->run_dir,
		     SL_AGENT_SOCKET) >= (int)sizeof(addr.sun_path)) {
		log_error("runDir %s is too long for a unix socket path", a->run_dir);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(addr.sun_path); /* a previous agent's, killed */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	a->api_fd = fd;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static void add_time(json_object *o, const char *key, const struct timespec *ts)
{
	char buf[40];
	struct tm tm;

	if (!ts->tv_sec) {
		json_object_object_add(o, key, NULL);
		return;
	}
	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(o, key, jstr(buf));
}

static json_object *map_fill(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), n = 0;
	__u8 key[64], next[64];
	void *prev = NULL;
	json_object *o = json_object_new_object();

	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return o;
	/* Hash maps have no count; walk the keys (a node has few pods). */
	while (info.key_size <= sizeof(key) &&
	       bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, info.key_size);
		prev = key;
		n++;
	}
	json_object_object_add(o, "name", jstr(info.name));
	json_object_object_add(o, "entries", json_object_new_int64(n));
	json_object_object_add(o, "max", json_object_new_int64(info.max_entries));
	return o;
}

static unsigned long map_max(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? 0 : info.max_entries;
}

static json_object *map_known(const char *name, unsigned long entries,
			       unsigned long max)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", jstr(name));
	json_object_object_add(o, "entries", json_object_new_int64((int64_t)entries));
	json_object_object_add(o, "max", json_object_new_int64((int64_t)max));
	return o;
}

static json_object *ct_gc_status(const struct sl_agent *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "entries", json_object_new_int64(a->ct_gc.seen));
	json_object_object_add(o, "expiredRemoved",
			       json_object_new_int64((int64_t)a->ct_gc.expired));
	json_object_object_add(o, "orphansRemoved",
			       json_object_new_int64((int64_t)a->ct_gc.orphans));
	return o;
}

/* Host-network processes to Services (agent/cgroup.c). */
/* Cross-node routing: the mode, routes in place, the last refusal. */
static json_object *routing_status(const struct sl_routing *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "mode", jstr(sl_routing_mode_name(r->mode)));
	if (r->mode == SL_ROUTING_VXLAN) {
		json_object_object_add(o, "device", jstr(SL_OVERLAY_DEV));
		json_object_object_add(o, "ifindex",
				       json_object_new_int(r->overlay_ifindex));
		json_object_object_add(o, "port",
				       json_object_new_int(r->vxlan_port));
	}
	json_object_object_add(o, "hostRouting",
			       jstr(r->stack_routing ? "stack" : "bpf"));
	json_object_object_add(o, "routes", json_object_new_int64(r->routes));
	json_object_object_add(o, "failed", json_object_new_int64(r->failed));
	json_object_object_add(o, "podMTU",
			       json_object_new_int64(sl_routing_pod_mtu(r)));
	json_object_object_add(o, "lastError", jstr(r->error));
	return o;
}

/* The node's SNAT table: masquerade on or off, how it was applied. */
static json_object *nat_status(const struct sl_nat *n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "masquerade",
			       json_object_new_boolean(!n->masquerade_off));
	json_object_object_add(o, "applied",
			       json_object_new_boolean(n->applied != NULL));
	json_object_object_add(o, "applies", json_object_new_int64(n->applies));
	json_object_object_add(o, "failures",
			       json_object_new_int64(n->failures));
	json_object_object_add(o, "lastError", jstr(n->error));
	return o;
}

static json_object *sock_lb_status(const struct sl_agent *a)
{
	const struct sl_sock_lb *s = &a->sock_lb;
	json_object *o = json_object_new_object(), *ids;

	json_object_object_add(o, "attached", json_object_new_boolean(s->attached));
	json_object_object_add(o, "cgroup", jstr(s->cgroup));
	json_object_object_add(o, "netnsCookie",
			       json_object_new_int64((int64_t)s->netns_cookie));
	ids = json_object_new_array();
	for (int i = 0; i < SL_SOCK_PROGS; i++)
		json_object_array_add(ids, json_object_new_int64(s->prog_ids[i]));
	json_object_object_add(o, "programIds", ids);
	/* The errno a host socket gets from a Service without endpoints. */
	json_object_object_add(o, "refusal",
			       jstr(!s->attached ? "" :
				    s->econnrefused ? "ECONNREFUSED" : "EPERM"));
	json_object_object_add(o, "olderDetached",
			       json_object_new_int64(s->detached));
	json_object_object_add(o, "lastError", jstr(s->error));
	return o;
}

static json_object *status(struct sl_agent *a)
{
	json_object *o = json_object_new_object(), *counts, *maps, *src;

	json_object_object_add(o, "node", jstr(a->node_name));
	json_object_object_add(o, "bpfRoot", jstr(a->bpf_root));
	json_object_object_add(o, "runDir", jstr(a->run_dir));
	json_object_object_add(o, "datapathLoaded",
			       json_object_new_boolean(a->dp.endpoints_fd >= 0));
	add_time(o, "started", &a->started);
	add_time(o, "lastSync", &a->last_sync);
	json_object_object_add(o, "syncs", json_object_new_int64((int64_t)a->syncs));
	/* Nothing written yet (e.g. the API server refuses us) is not in
	 * sync, however equal the generations of an empty model are. */
	json_object_object_add(o, "inSync", json_object_new_boolean(
		a->syncs > 0 && a->synced_generation == a->model.generation &&
		(!a->kube.enabled || a->kube_ready)));
	json_object_object_add(o, "podCIDR", jstr(a->node_cidr));
	json_object_object_add(o, "socketLB", sock_lb_status(a));
	json_object_object_add(o, "netdevs", jstr(a->netdevs));
	json_object_object_add(o, "routing", routing_status(&a->routing));
	json_object_object_add(o, "nat", nat_status(&a->nat));

	if (a->kube.enabled) {
		json_object_object_add(o, "source", sl_kube_status(&a->kube));
		goto objects;
	}
	src = json_object_new_object();
	json_object_object_add(src, "type", jstr("manifests"));
	json_object_object_add(src, "path", jstr(a->source.path));
	json_object_object_add(src, "files", json_object_new_int64((int64_t)a->source.files.len));
	json_object_object_add(src, "loads", json_object_new_int64((int64_t)a->source.loads));
	json_object_object_add(src, "parseErrors",
			       json_object_new_int64((int64_t)a->source.parse_errors));
	json_object_object_add(src, "objectErrors",
			       json_object_new_int64((int64_t)a->source.object_errors));
	json_object_object_add(src, "lastError", jstr(a->source.last_error));
	json_object_object_add(o, "source", src);
objects:
	counts = json_object_new_object();
	for (int k = 0; k < SL_KIND_COUNT; k++)
		json_object_object_add(counts, sl_kind_name((enum sl_kind)k),
				       json_object_new_int64((int64_t)sl_model_count(
					       &a->model, (enum sl_kind)k)));
	json_object_object_add(counts, "Identity",
			       json_object_new_int64((int64_t)a->model.identities.len));
	json_object_object_add(counts, "Frontend",
			       json_object_new_int64(a->svc.last.frontends));
	json_object_object_add(counts, "Backend",
			       json_object_new_int64(a->svc.last.backends));
	json_object_object_add(counts, "Endpoint",
			       json_object_new_int64((int64_t)a->endpoints));
	json_object_object_add(counts, "IPCache",
			       json_object_new_int64(a->ipc.last.entries));
	json_object_object_add(o, "objects", counts);
	json_object_object_add(o, "identityCollisions",
			       json_object_new_int64((int64_t)a->model.collisions));
	json_object_object_add(o, "endpointsWithoutPod",
			       json_object_new_int64(a->last_ep.unknown_pods));

	maps = json_object_new_array();
	json_object_array_add(maps, map_fill(a->dp.endpoints_fd));
	/* Large maps: what the agent last wrote or counted, not a walk. */
	json_object_array_add(maps, map_known("sl_ipcache", a->ipc.last.entries,
					      SL_IPCACHE_MAX));
	json_object_array_add(maps, map_known("sl_ct", a->ct_gc.seen,
					      map_max(a->dp.ct_fd)));
	if (a->dp.policy_fd >= 0 && a->dp.policy_cidr_fd >= 0) {
		json_object_array_add(maps, map_known(SL_POLICY_MAP,
						      a->pol.mirror[SL_POL_MAP_POLICY].n,
						      map_max(a->dp.policy_fd)));
		json_object_array_add(maps, map_known(SL_POLICY_CIDR_MAP,
						      a->pol.mirror[SL_POL_MAP_CIDR].n,
						      map_max(a->dp.policy_cidr_fd)));
	}
	json_object_object_add(o, "maps", maps);
	json_object_object_add(o, "policy", sl_policy_sync_status_json(&a->pol));
	json_object_object_add(o, "conntrackGC", ct_gc_status(a));
	json_object_object_add(o, "lastError", jstr(a->last_error));
	return o;
}

static json_object *identities(struct sl_agent *a)
{
	json_object *arr = json_object_new_array();
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&a->model.identities, &i, &key, &val);) {
		struct sl_identity *id = val;
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(id->id));
		json_object_object_add(o, "namespace", jstr(id->ns));
		json_object_object_add(o, "labels", jstr(id->labels));
		json_object_object_add(o, "namespaceLabels", jstr(id->ns_labels));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *nodes(struct sl_agent *a)
{
	json_object *arr = json_object_new_array();
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&a->model.objects[SL_KIND_NODE], &i,
					  &key, &val);) {
		const struct sl_node *n = &((struct sl_model_obj *)val)->obj.node;
		json_object *o = json_object_new_object();
		char buf[24];

		json_object_object_add(o, "name", jstr(n->name));
		if (n->have_pod_cidr) {
			sl_ip4_net_to_str(n->pod_cidr, n->pod_prefix, buf);
			json_object_object_add(o, "podCIDR", jstr(buf));
		}
		if (n->internal_ip) {
			sl_ip4_to_str(n->internal_ip, buf);
			json_object_object_add(o, "internalIP", jstr(buf));
		}
		json_object_object_add(o, "self", json_object_new_boolean(
			!strcmp(n->name, a->node_name)));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *endpoints(struct sl_agent *a)
{
	struct sl_ep_desired *want = NULL;
	json_object *arr = json_object_new_array();
	size_t n = 0;

	if (sl_endpoints_read_records(a->run_dir, &want, &n) < 0)
		return arr;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		struct sl_endpoint cur;
		struct sl_endpoint_key k = { .ip4 = htonl(want[i].ip) };
		char ip[16];

		sl_ip4_to_str(want[i].ip, ip);
		json_object_object_add(o, "ip", jstr(ip));
		json_object_object_add(o, "namespace", jstr(want[i].ns));
		json_object_object_add(o, "pod", jstr(want[i].name));
		json_object_object_add(o, "ifindex",
				       json_object_new_int((int)want[i].ep.ifindex));
		if (bpf_map_lookup_elem(a->dp.endpoints_fd, &k, &cur) == 0) {
			json_object_object_add(o, "identity",
					       json_object_new_int64(cur.identity));
			json_object_object_add(o, "inMap", json_object_new_boolean(1));
		} else {
			json_object_object_add(o, "inMap", json_object_new_boolean(0));
		}
		json_object_array_add(arr, o);
	}
	free(want);
	return arr;
}

static int ipcache_entry(uint32_t ip, const struct sl_ipcache_val *v,
			 void *arg)
{
	json_object *o = json_object_new_object();
	char buf[16], cidr[20];

	sl_ip4_to_str(ip, buf);
	snprintf(cidr, sizeof(cidr), "%s/32", buf);
	json_object_object_add(o, "cidr", json_object_new_string(cidr));
	json_object_object_add(o, "identity", json_object_new_int64(v->identity));
	sl_ip4_to_str(ntohl(v->node_ip), buf);
	json_object_object_add(o, "node", jstr(v->node_ip ? buf : ""));
	json_object_object_add(o, "local",
			       json_object_new_boolean(v->flags & SL_IPC_F_LOCAL));
	json_object_array_add(arg, o);
	return 0;
}

/* What the map holds, not what the model wants: the datapath's truth. */
static json_object *ipcache(struct sl_agent *a)
{
	json_object *arr = json_object_new_array();
	struct sl_ipc_backend be;

	sl_ipc_backend_bpf(&be, &a->dp.ipcache_fd);
	be.dump(be.ctx, ipcache_entry, arr);
	return arr;
}

static json_object *api_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static json_object *api_error(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char buf[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", jstr(buf));
	return o;
}

/* A string argument of the request, or NULL. */
static const char *arg_str(json_object *req, const char *key)
{
	json_object *v;

	if (!req || !json_object_object_get_ex(req, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* {"cmd":"policy"}: every local endpoint; with "endpoint": that one. */
static json_object *policy(struct sl_agent *a, json_object *req)
{
	const char *which = arg_str(req, "endpoint");
	json_object *o;

	if (!which)
		return sl_policy_sync_list_json(&a->pol);
	o = sl_policy_sync_endpoint_json(&a->pol, &a->model, which);
	if (!o)
		return api_error("%s is not an endpoint of this node (%s): a pod's policy is compiled by its own node's agent",
				 which, a->node_name);
	return o;
}

/* {"cmd":"policy-trace","from":"ns/pod","to":"ns/pod","port":80,
 *  "protocol":"TCP"} */
static json_object *policy_trace(struct sl_agent *a, json_object *req)
{
	const char *from = arg_str(req, "from"), *to = arg_str(req, "to"),
		   *proto_s = arg_str(req, "protocol");
	const struct sl_object *f;
	json_object *v, *o;
	uint8_t proto = IPPROTO_TCP;
	int64_t port = 0;
	int err;

	if (!from || !to)
		return api_error("policy-trace needs \"from\" and \"to\" (namespace/pod)");
	if (req && json_object_object_get_ex(req, "port", &v) &&
	    json_object_is_type(v, json_type_int))
		port = json_object_get_int64(v);
	if (port < 1 || port > 65535)
		return api_error("policy-trace needs a \"port\" from 1 to 65535");
	if (proto_s && !strcasecmp(proto_s, "UDP"))
		proto = IPPROTO_UDP;
	else if (proto_s && !strcasecmp(proto_s, "SCTP"))
		proto = IPPROTO_SCTP;
	else if (proto_s && strcasecmp(proto_s, "TCP"))
		return api_error("protocol %s: TCP, UDP or SCTP", proto_s);
	o = sl_policy_sync_trace_json(&a->pol, &a->model, a->node_name, from,
				      to, proto, (uint16_t)port, &err);
	if (o)
		return o;
	f = sl_model_get(&a->model, SL_KIND_POD, from);
	return api_error("no pod %s with an address is known",
			 !f || !f->pod.ip ? from : to);
}

json_object *sl_api_handle(struct sl_agent *a, const char *cmd,
			   json_object *req)
{
	if (!strcmp(cmd, "status"))
		return status(a);
	if (!strcmp(cmd, "identities"))
		return identities(a);
	if (!strcmp(cmd, "services"))
		return sl_svc_frontends_json(&a->svc);
	if (!strcmp(cmd, "nodes"))
		return nodes(a);
	if (!strcmp(cmd, "ipcache"))
		return ipcache(a);
	if (!strcmp(cmd, "endpoints"))
		return endpoints(a);
	if (!strcmp(cmd, "policy"))
		return policy(a, req);
	if (!strcmp(cmd, "policy-trace"))
		return policy_trace(a, req);
	if (!strcmp(cmd, "observe"))
		return sl_flows_recent_json(&a->flows.flows, 0);
	return NULL;
}

/*
 * {"cmd":"observe","follow":true}: the connection stays, and every new
 * flow record goes down it as a JSON line (agent/flows.h) until the client
 * leaves. Returns 1 when fd was handed over, 0 for a request that does not
 * follow, -1 when following is refused (too many followers).
 */
static int api_follow(struct sl_agent *a, json_object *req, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET |
					    EPOLLRDHUP,
				  .data.fd = fd };
	json_object *follow;

	if (!json_object_object_get_ex(req, "follow", &follow) ||
	    !json_object_get_boolean(follow))
		return 0;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	if (sl_flows_follow(&a->flows.flows, fd) < 0) {
		epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return -1;
	}
	return 1;
}

void sl_api_accept(struct sl_agent *a)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	char req[4096]; /* two pod names and some */
	json_object *in = NULL, *cmd, *out = NULL;
	const char *text;
	ssize_t len;
	int fd;

	fd = accept4(a->api_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* Requests are one short line; a client that stalls is dropped
	 * rather than holding the loop. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	len = recv(fd, req, sizeof(req) - 1, 0);
	if (len <= 0)
		goto out;
	req[len] = '\0';
	in = json_tokener_parse(req);
	if (in && json_object_object_get_ex(in, "cmd", &cmd) &&
	    json_object_is_type(cmd, json_type_string)) {
		int follow = strcmp(json_object_get_string(cmd), "observe") ?
				     0 : api_follow(a, in, fd);

		if (follow > 0) {
			json_object_put(in);
			return;
		}
		out = follow < 0 ? api_error("too many followers (at most %d)",
					     SL_FLOWS_FOLLOWERS_MAX) :
				   sl_api_handle(a, json_object_get_string(cmd), in);
	}
	if (!out) {
		out = json_object_new_object();
		json_object_object_add(out, "error", jstr("unknown or malformed request"));
	}
	text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
	for (size_t off = 0, n = strlen(text); off < n;) {
		ssize_t w = send(fd, text + off, n - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
out:
	json_object_put(in);
	json_object_put(out);
	close(fd);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl observe: the flows the agent holds, or those to come.
 *
 *   sluicectl observe [--last N] [--follow] [filters] [-o json]
 *
 * Without --follow it prints the recent flows (--last N of them, default
 * 20) and exits; with it, it streams new ones (after the last N, when
 * given). Filters (all must match; the flow's either end for the peer
 * filters): --namespace NS, --pod NS/POD, --label K=V, --service NS/NAME,
 * --process COMM, --verdict FORWARDED|DROPPED, --drop-reason NAME,
 * --protocol tcp|udp|sctp|icmp, --port N, --traffic-direction
 * ingress|egress, --type start|end|drop|policy-verdict. Filtering happens
 * here, on the records as the agent renders them (agent/flows.h); -o json
 * prints them as JSON lines.
 */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define OBSERVE_LAST_DEFAULT 20

struct observe_filter {
	const char *ns, *pod, *label, *service, *process, *verdict, *reason,
		*proto, *dir, *type;
	long port;
};

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : "";
}

static bool peer_in_ns(json_object *ep, const char *ns)
{
	return !strcmp(str(ep, "namespace"), ns);
}

static bool peer_is_pod(json_object *ep, const char *nspod)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", str(ep, "namespace"),
		 str(ep, "pod_name"));
	return !strcmp(buf, nspod);
}

static bool peer_has_label(json_object *ep, const char *kv)
{
	json_object *labels = get(ep, "labels");
	char want[320];

	snprintf(want, sizeof(want), "k8s:%s", kv);
	for (size_t i = 0; labels && i < json_object_array_length(labels); i++) {
		const char *l = json_object_get_string(
			json_object_array_get_idx(labels, i));

		if (l && (!strcmp(l, want) || !strcmp(l, kv)))
			return true;
	}
	return false;
}

/* The L4 object's one member: {"TCP": {...}}. */
static json_object *l4_of(json_object *flow, const char **name)
{
	json_object *l4 = get(flow, "l4");

	*name = "";
	if (!l4)
		return NULL;
	json_object_object_foreach(l4, k, v) {
		*name = k;
		return v;
	}
	return NULL;
}

static bool matches(json_object *flow, const struct observe_filter *f)
{
	json_object *src = get(flow, "source"), *dst = get(flow, "destination");
	const char *proto;
	json_object *l4 = l4_of(flow, &proto);

	if (f->ns && !peer_in_ns(src, f->ns) && !peer_in_ns(dst, f->ns))
		return false;
	if (f->pod && !peer_is_pod(src, f->pod) && !peer_is_pod(dst, f->pod))
		return false;
	if (f->label && !peer_has_label(src, f->label) &&
	    !peer_has_label(dst, f->label))
		return false;
	if (f->service) {
		json_object *svc = get(flow, "destination_service");
		char buf[512];

		snprintf(buf, sizeof(buf), "%s/%s", str(svc, "namespace"),
			 str(svc, "name"));
		if (!svc || strcmp(buf, f->service))
			return false;
	}
	if (f->process &&
	    strcmp(str(get(flow, "process"), "comm"), f->process) &&
	    strcmp(str(get(flow, "destination_process"), "comm"), f->process))
		return false;
	if (f->verdict && strcasecmp(str(flow, "verdict"), f->verdict))
		return false;
	if (f->reason && strcasecmp(str(flow, "drop_reason_desc"), f->reason))
		return false;
	if (f->proto && strcasecmp(proto, f->proto) &&
	    !(strcasecmp(f->proto, "icmp") == 0 && !strcmp(proto, "ICMPv4")))
		return false;
	if (f->port >= 0) {
		json_object *sp = get(l4, "source_port"), *dp = get(l4, "destination_port");

		if ((!sp || json_object_get_int(sp) != f->port) &&
		    (!dp || json_object_get_int(dp) != f->port))
			return false;
	}
	if (f->dir && strcasecmp(str(flow, "traffic_direction"), f->dir))
		return false;
	if (f->type && strcmp(str(flow, "flow_event"), f->type))
		return false;
	return true;
}

/* "x/a:41000" or "10.0.0.1:41000" for one end. */
static void peer_str(json_object *flow, const char *ipkey, json_object *ep,
		     int port, char *buf, size_t len)
{
	const char *pod = str(ep, "pod_name");

	if (*pod)
		snprintf(buf, len, "%s/%s", str(ep, "namespace"), pod);
	else
		snprintf(buf, len, "%s", str(get(flow, "IP"), ipkey));
	if (port > 0) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, ":%d", port);
	}
}

/* "curl[1234]" for a process object; nothing when NULL. */
static void process_str(json_object *p, char *buf, size_t len)
{
	json_object *pid = get(p, "pid");
	const char *comm = str(p, "comm");

	buf[0] = '\0';
	if (!p)
		return;
	if (pid)
		snprintf(buf, len, "%s[%lld]", *comm ? comm : "?",
			 (long long)json_object_get_int64(pid));
	else if (*str(p, "container_id"))
		snprintf(buf, len, "container %.12s", str(p, "container_id"));
	else
		snprintf(buf, len, "cgroup %lld", (long long)json_object_get_int64(
							   get(p, "cgroup_id")));
}

/* The processes and RTT after what extra says already. */
static void add_sockets(json_object *flow, char *extra, size_t len)
{
	char src[64], dst[64];
	json_object *rtt = get(flow, "rtt");
	size_t n = strlen(extra);

	process_str(get(flow, "process"), src, sizeof(src));
	process_str(get(flow, "destination_process"), dst, sizeof(dst));
	if (*src || *dst)
		n += (size_t)snprintf(extra + n, n < len ? len - n : 0,
				      "%s%s%s%s", n ? ", " : "", *src ? src : "?",
				      *dst ? " -> " : "", dst);
	if (rtt && n < len)
		snprintf(extra + n, len - n, "%srtt %.2fms min %.2fms retrans %lld",
			 n ? " " : "",
			 (double)json_object_get_int64(get(rtt, "srtt_us")) / 1e3,
			 (double)json_object_get_int64(get(rtt, "min_us")) / 1e3,
			 (long long)json_object_get_int64(get(rtt, "retransmits")));
}

static void print_human(json_object *flow)
{
	const char *proto, *type = str(flow, "flow_event");
	json_object *l4 = l4_of(flow, &proto), *x;
	char src[320], dst[320], flags[64] = "", extra[384] = "";
	const char *t = str(flow, "time");

	peer_str(flow, "source", get(flow, "source"),
		 json_object_get_int(get(l4, "source_port")), src, sizeof(src));
	peer_str(flow, "destination", get(flow, "destination"),
		 json_object_get_int(get(l4, "destination_port")), dst,
		 sizeof(dst));
	if ((x = get(l4, "flags"))) {
		json_object_object_foreach(x, k, v) {
			(void)v;
			if (flags[0])
				strncat(flags, "|", sizeof(flags) - strlen(flags) - 1);
			strncat(flags, k, sizeof(flags) - strlen(flags) - 1);
		}
	}
	if (!strcmp(type, "drop")) {
		snprintf(extra, sizeof(extra), "(%s)", str(flow, "drop_reason_desc"));
	} else if (!strcmp(type, "end") && (x = get(flow, "flow_end"))) {
		snprintf(extra, sizeof(extra), "%s after %.3fs, %s/%s packets, %s/%s bytes",
			 str(x, "reason"),
			 (double)json_object_get_int64(get(x, "duration_ns")) / 1e9,
			 json_object_get_string(get(x, "packets_sent")),
			 json_object_get_string(get(x, "packets_received")),
			 json_object_get_string(get(x, "bytes_sent")),
			 json_object_get_string(get(x, "bytes_received")));
	} else if ((x = get(flow, "destination_service"))) {
		snprintf(extra, sizeof(extra), "service %s/%s", str(x, "namespace"),
			 str(x, "name"));
	}
	if (!strcmp(type, "policy-verdict")) {
		json_object *by = get(flow, "ingress_allowed_by");

		if (!by)
			by = get(flow, "egress_allowed_by");
		by = by ? json_object_array_get_idx(by, 0) : NULL;
		if (by)
			snprintf(extra, sizeof(extra), "%s allowed by %s%s%s",
				 str(flow, "traffic_direction"),
				 str(by, "namespace"), *str(by, "namespace") ? "/" : "",
				 str(by, "name"));
		else
			snprintf(extra, sizeof(extra), "%s: no policy allows it",
				 str(flow, "traffic_direction"));
	}
	add_sockets(flow, extra, sizeof(extra));
	/* The time without the date: "07:58:14.123456". */
	printf("%.15s  %-30s -> %-30s %-5s %-8s %-14s %-9s %s\n",
	       strlen(t) > 11 ? t + 11 : t, src, dst, proto, flags, type,
	       str(flow, "verdict"), extra);
}

static void emit(const struct sl_ctl *ctl, json_object *flow,
		 const struct observe_filter *f)
{
	if (!matches(flow, f))
		return;
	if (ctl->json)
		printf("%s\n", json_object_to_json_string_ext(
				       flow, JSON_C_TO_STRING_PLAIN));
	else
		print_human(flow);
}

/* The last n matching records: the agent sends all it holds. */
static int observe_recent(const struct sl_ctl *ctl, long last,
			  const struct observe_filter *f)
{
	json_object *req = json_object_new_object(), *arr;
	size_t n, first, matched = 0;

	json_object_object_add(req, "cmd", json_object_new_string("observe"));
	arr = sl_ctl_ask(ctl, req);
	json_object_put(req);
	if (!arr)
		return sl_ctl_agent_down(ctl);
	if (!json_object_is_type(arr, json_type_array)) {
		fprintf(stderr, "sluicectl: %s\n", str(arr, "error"));
		json_object_put(arr);
		return 1;
	}
	n = json_object_array_length(arr);
	/* Count back from the newest to find where the last N begin. */
	first = n;
	while (first > 0 && matched < (size_t)last) {
		if (matches(json_object_array_get_idx(arr, first - 1), f))
			matched++;
		first--;
	}
	for (size_t i = first; i < n; i++)
		emit(ctl, json_object_array_get_idx(arr, i), f);
	json_object_put(arr);
	return 0;
}

/* Stream: the agent writes one JSON record per line until we leave. */
static int observe_follow(const struct sl_ctl *ctl, long last,
			  const struct observe_filter *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char req[128], *line = NULL;
	size_t cap = 0;
	FILE *in;
	int fd;

	if (last > 0 && observe_recent(ctl, last, f))
		return 1;
	fflush(stdout);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sluiced.sock",
		 ctl->run_dir);
	snprintf(req, sizeof(req), "{\"cmd\":\"observe\",\"follow\":true}\n");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		if (fd >= 0)
			close(fd);
		return sl_ctl_agent_down(ctl);
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 1;
	}
	while (getline(&line, &cap, in) > 0) {
		json_object *flow = json_tokener_parse(line);

		if (!flow)
			continue;
		if (get(flow, "error")) {
			fprintf(stderr, "sluicectl: %s\n", str(flow, "error"));
			json_object_put(flow);
			break;
		}
		emit(ctl, flow, f);
		fflush(stdout);
		json_object_put(flow);
	}
	free(line);
	fclose(in);
	return 0;
}

int sl_ctl_observe(const struct sl_ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "last", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "pod", required_argument, NULL, 'P' },
		{ "label", required_argument, NULL, 'l' },
		{ "service", required_argument, NULL, 's' },
		{ "process", required_argument, NULL, 'c' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "drop-reason", required_argument, NULL, 'R' },
		{ "protocol", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'O' },
		{ "traffic-direction", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct observe_filter f = { .port = -1 };
	struct sl_ctl c_opts = *ctl;
	bool follow = false;
	long last = -1;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:fo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (strcmp(optarg, "json")) {
				fprintf(stderr, "sluicectl: -o takes only \"json\"\n");
				return 2;
			}
			c_opts.json = true;
			break;
		case 'n':
		case 'O':
			errno = 0;
			if (c == 'n')
				last = strtol(optarg, &end, 10);
			else
				f.port = strtol(optarg, &end, 10);
			if (errno || *end || (c == 'n' ? last < 1 :
					      f.port < 1 || f.port > 65535)) {
				fprintf(stderr, "sluicectl: observe: --%s %s is out of range\n",
					c == 'n' ? "last" : "port", optarg);
				return 2;
			}
			break;
		case 'f':
			follow = true;
			break;
		case 'N': f.ns = optarg; break;
		case 'P': f.pod = optarg; break;
		case 'l': f.label = optarg; break;
		case 's': f.service = optarg; break;
		case 'c': f.process = optarg; break;
		case 'v':
			if (strcasecmp(optarg, "FORWARDED") &&
			    strcasecmp(optarg, "DROPPED")) {
				fprintf(stderr, "sluicectl: observe: --verdict is FORWARDED or DROPPED\n");
				return 2;
			}
			f.verdict = optarg;
			break;
		case 'R': f.reason = optarg; break;
		case 'p': f.proto = optarg; break;
		case 'd':
			if (strcasecmp(optarg, "ingress") &&
			    strcasecmp(optarg, "egress")) {
				fprintf(stderr, "sluicectl: observe: --traffic-direction is ingress or egress\n");
				return 2;
			}
			f.dir = optarg;
			break;
		case 't':
			if (strcmp(optarg, "start") && strcmp(optarg, "end") &&
			    strcmp(optarg, "drop") &&
			    strcmp(optarg, "policy-verdict")) {
				fprintf(stderr, "sluicectl: observe: --type is start, end, drop or policy-verdict\n");
				return 2;
			}
			f.type = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluicectl: observe: unexpected \"%s\"\n",
			argv[optind]);
		return 2;
	}
	if (follow)
		return observe_follow(&c_opts, last, &f);
	return observe_recent(&c_opts, last > 0 ? last : OBSERVE_LAST_DEFAULT,
			      &f);
}

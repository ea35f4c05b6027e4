// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl: the operator's view of a node. status, identities, nodes and
 * policy ask the agent on <runDir>/sluiced.sock; metrics reads the pinned
 * maps directly, and endpoints does too when the agent is not running.
 *
 *   sluicectl [--bpf-root P] [--run-dir R] [-o json] COMMAND
 */
#include "bpfmap.h"
#include "conntrack.h"
#include "ctl.h"
#include "datapath.h"
#include "fsutil.h"
#include "ipv4.h"
#include "reasons.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/endpoint.h>
#include <sluice/pins.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluicectl [--bpf-root PATH] [--run-dir PATH] [-o json] COMMAND\n"
		"commands:\n"
		"  status      the agent: source, sync state, object counts, map fill\n"
		"  endpoints   pods attached on this node, their identity\n"
		"  identities  security identities (namespace + labels)\n"
		"  nodes       nodes the agent knows, their pod CIDRs\n"
		"  ipcache     every address the cluster knows: identity, node\n"
		"  services    Service frontends and their backends\n"
		"  metrics     packets and bytes per drop reason / trace point\n"
		"  ct [list|flush] [--addr IP] [--port N] [--proto tcp|udp] [--svc ID]\n"
		"              conntrack entries (read from the pinned map)\n"
		"  policy      NetworkPolicy isolation of each endpoint on this node\n"
		"  policy NS/POD|IP\n"
		"              an endpoint's allow rules, with remotes and policies\n"
		"  policy trace --from NS/POD --to NS/POD --port N[/tcp|udp|sctp]\n"
		"              would a new connection be allowed, and why\n"
		"  observe [--last N] [--follow] [--namespace NS] [--pod NS/POD]\n"
		"          [--label K=V] [--service NS/NAME] [--verdict FORWARDED|DROPPED]\n"
		"          [--drop-reason NAME] [--protocol P] [--port N]\n"
		"          [--traffic-direction ingress|egress]\n"
		"          [--type start|end|drop|policy-verdict] [--process COMM]\n"
		"              flows: the recent ones, or those to come\n");
}

static int cmd_metrics(const struct sl_ctl *o, const struct sl_datapath *dp)
{
	json_object *arr = json_object_new_array();
	if (!o->json)
		printf("%-8s %-16s %-8s %12s %14s  %s\n", "KIND", "REASON", "DIR",
		       "PACKETS", "BYTES", "DESCRIPTION");
	for (__u32 dir = 0; dir < SL_DIR_MAX; dir++) {
		for (__u32 code = 1; code <= SL_REASON_MAX; code++) {
			__u32 idx = sl_metrics_index(code, dir);
			struct sl_metrics_val sum = { 0 };
			const char *name = sl_reason_name(code);

			if (!name ||
			    sl_map_percpu_sum(dp->metrics_fd, &idx,
					      (__u64 *)(void *)&sum,
					      sizeof(sum) / sizeof(__u64)) < 0)
				continue;
			if (!sum.packets)
				continue;
			if (o->json) {
				json_object *m = json_object_new_object();

				json_object_object_add(m, "kind", json_object_new_string(
					sl_reason_is_drop(code) ? "drop" : "forward"));
				json_object_object_add(m, "reason", json_object_new_string(name));
				json_object_object_add(m, "code", json_object_new_int((int)code));
				json_object_object_add(m, "direction",
						       json_object_new_string(sl_dir_name(dir)));
				json_object_object_add(m, "packets", json_object_new_int64((int64_t)sum.packets));
				json_object_object_add(m, "bytes", json_object_new_int64((int64_t)sum.bytes));
				json_object_array_add(arr, m);
			} else {
				printf("%-8s %-16s %-8s %12llu %14llu  %s\n",
				       sl_reason_is_drop(code) ? "drop" : "forward",
				       name, sl_dir_name(dir),
				       (unsigned long long)sum.packets,
				       (unsigned long long)sum.bytes,
				       sl_reason_desc(code));
			}
		}
	}
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	json_object_put(arr);
	return 0;
}

/* The record of the pod at ip, from <runDir>/endpoints/<ip>, if any. */
static json_object *read_record(const struct sl_ctl *o, const char *ip)
{
	char path[PATH_MAX], *buf;
	json_object *rec;

	if (!o->run_dir ||
	    snprintf(path, sizeof(path), "%s/endpoints/%s", o->run_dir, ip) >=
		    (int)sizeof(path) ||
	    sl_read_file(path, 1 << 16, &buf, NULL) < 0)
		return NULL;
	rec = json_tokener_parse(buf);
	free(buf);
	return rec;
}

static const char *rec_str(json_object *rec, const char *key)
{
	json_object *v;

	return rec && json_object_object_get_ex(rec, key, &v) ?
		       json_object_get_string(v) : "";
}

static int cmd_endpoints(const struct sl_ctl *o, const struct sl_datapath *dp)
{
	struct sl_endpoint_key key, next;
	struct sl_endpoint ep;
	json_object *arr = json_object_new_array();
	void *prev = NULL;

	if (!o->json)
		printf("%-15s %-8s %-17s %-17s %-16s %s\n", "IP", "IFINDEX",
		       "POD-MAC", "GATEWAY-MAC", "HOST-VETH", "POD");
	while (bpf_map_get_next_key(dp->endpoints_fd, prev, &next) == 0) {
		char ip[16], pmac[18], hmac[18];
		json_object *rec;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp->endpoints_fd, &key, &ep) < 0)
			continue;
		inet_ntop(AF_INET, &key.ip4, ip, sizeof(ip));
		sl_mac_to_str(ep.pod_mac, pmac);
		sl_mac_to_str(ep.host_mac, hmac);
		rec = read_record(o, ip);
		if (o->json) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "ip", json_object_new_string(ip));
			json_object_object_add(e, "ifindex", json_object_new_int((int)ep.ifindex));
			json_object_object_add(e, "identity", json_object_new_int64(ep.identity));
			json_object_object_add(e, "podMAC", json_object_new_string(pmac));
			json_object_object_add(e, "gatewayMAC", json_object_new_string(hmac));
			if (rec)
				json_object_object_add(e, "record", json_object_get(rec));
			json_object_array_add(arr, e);
		} else {
			char pod[512];

			snprintf(pod, sizeof(pod), "%s/%s", rec_str(rec, "podNamespace"),
				 rec_str(rec, "podName"));
			printf("%-15s %-8u %-17s %-17s %-16s %s\n", ip, ep.ifindex,
			       pmac, hmac, rec_str(rec, "hostVeth"),
			       rec ? pod : "-");
		}
		json_object_put(rec);
	}
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	json_object_put(arr);
	return 0;
}

static int cmd_status(const struct sl_ctl *o)
{
	json_object *st = sl_ctl_ask_agent(o, "status"), *v;

	if (!st) {
		struct sl_datapath dp = SL_DATAPATH_INIT;
		int loaded = sl_datapath_open_pinned(&dp, o->bpf_root) == 0;

		sl_datapath_close(&dp);
		sl_ctl_agent_down(o);
		fprintf(stderr, "sluicectl: datapath under %s: %s\n", o->bpf_root,
			loaded ? "pinned (pods keep forwarding)" : "not pinned");
		return 1;
	}
	if (o->json) {
		sl_ctl_print_json(st);
	} else {
		printf("node:        %s\n", sl_ctl_field(st, "node"));
		printf("podCIDR:     %s\n", sl_ctl_field(st, "podCIDR"));
		if (json_object_object_get_ex(st, "routing", &v)) {
			printf("routing:     %s, %s routes to other nodes, pod MTU %s, host routing %s",
			       sl_ctl_field(v, "mode"), sl_ctl_field(v, "routes"),
			       sl_ctl_field(v, "podMTU"), sl_ctl_field(v, "hostRouting"));
			if (strcmp(sl_ctl_field(v, "failed"), "0"))
				printf(", %s refused (%s)", sl_ctl_field(v, "failed"),
				       sl_ctl_field(v, "lastError"));
			printf("\n");
		}
		if (json_object_object_get_ex(st, "source", &v) &&
		    !strcmp(sl_ctl_field(v, "type"), "api")) {
			json_object *res;

			printf("source:      api %s (synced %s, %s token reads, %s unauthorized)\n",
			       sl_ctl_field(v, "server"), sl_ctl_field(v, "synced"),
			       sl_ctl_field(v, "tokenReads"), sl_ctl_field(v, "unauthorized"));
			/* json-c's foreach declares variables: its own block. */
			if (json_object_object_get_ex(v, "resources", &res)) {
				json_object_object_foreach(res, name, r) {
					printf("  %-16s %-10s rv %-10s objects %-6s relists %s%s%s\n",
					       name, sl_ctl_field(r, "state"),
					       sl_ctl_field(r, "resourceVersion"),
					       sl_ctl_field(r, "objects"), sl_ctl_field(r, "relists"),
					       sl_ctl_field(r, "lastError")[0] ? "  error: " : "",
					       sl_ctl_field(r, "lastError"));
				}
			}
			if (sl_ctl_field(v, "lastError")[0])
				printf("source error: %s\n", sl_ctl_field(v, "lastError"));
		} else if (json_object_object_get_ex(st, "source", &v)) {
			printf("source:      %s %s (%s files, %s parse errors, %s bad objects)\n",
			       sl_ctl_field(v, "type"), sl_ctl_field(v, "path"), sl_ctl_field(v, "files"),
			       sl_ctl_field(v, "parseErrors"), sl_ctl_field(v, "objectErrors"));
			if (sl_ctl_field(v, "lastError")[0])
				printf("source error: %s\n", sl_ctl_field(v, "lastError"));
		}
		printf("in sync:     %s (%s syncs, last %s)\n", sl_ctl_field(st, "inSync"),
		       sl_ctl_field(st, "syncs"), sl_ctl_field(st, "lastSync"));
		printf("datapath:    %s under %s\n",
		       strcmp(sl_ctl_field(st, "datapathLoaded"), "true") ? "not loaded" : "loaded",
		       sl_ctl_field(st, "bpfRoot"));
		if (json_object_object_get_ex(st, "socketLB", &v))
			printf("socket LB:   %s%s%s%s\n",
			       strcmp(sl_ctl_field(v, "attached"), "true") ? "off" :
									     "attached to ",
			       strcmp(sl_ctl_field(v, "attached"), "true") ? "" :
									     sl_ctl_field(v, "cgroup"),
			       sl_ctl_field(v, "lastError")[0] ? "  error: " : "",
			       sl_ctl_field(v, "lastError"));
		if (json_object_object_get_ex(st, "objects", &v)) {
			printf("objects:    ");
			json_object_object_foreach(v, k, n)
				printf(" %s=%s", k, json_object_get_string(n));
			printf("\n");
		}
		if (json_object_object_get_ex(st, "maps", &v))
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				json_object *m = json_object_array_get_idx(v, i);

				printf("map:         %s %s/%s\n", sl_ctl_field(m, "name"),
				       sl_ctl_field(m, "entries"), sl_ctl_field(m, "max"));
			}
		if (json_object_object_get_ex(st, "policy", &v))
			printf("policy:      %s policies, %s of %s endpoints isolated, %s entries, %s cidrs%s%s%s\n",
			       sl_ctl_field(v, "policies"), sl_ctl_field(v, "isolated"),
			       sl_ctl_field(v, "endpoints"), sl_ctl_field(v, "entries"),
			       sl_ctl_field(v, "cidrs"),
			       strcmp(sl_ctl_field(v, "overflow"), "true") ? "" : "  OVERFLOW",
			       sl_ctl_field(v, "lastError")[0] ? "  error: " : "",
			       sl_ctl_field(v, "lastError"));
		printf("last error:  %s\n", sl_ctl_field(st, "lastError")[0] ?
		       sl_ctl_field(st, "lastError") : "-");
	}
	json_object_put(st);
	return 0;
}

static int cmd_list(const struct sl_ctl *o, const char *cmd)
{
	json_object *arr = sl_ctl_ask_agent(o, cmd);

	if (!arr)
		return sl_ctl_agent_down(o);
	if (o->json) {
		sl_ctl_print_json(arr);
		json_object_put(arr);
		return 0;
	}
	if (!strcmp(cmd, "identities"))
		printf("%-10s %-20s %s\n", "ID", "NAMESPACE", "LABELS");
	else if (!strcmp(cmd, "nodes"))
		printf("%-24s %-20s %-16s %s\n", "NAME", "POD-CIDR", "INTERNAL-IP", "SELF");
	else if (!strcmp(cmd, "ipcache"))
		printf("%-18s %-10s %-16s %s\n", "ADDRESS", "IDENTITY", "NODE", "LOCAL");
	else
		printf("%-15s %-8s %-10s %-6s %s\n", "IP", "IFINDEX", "IDENTITY",
		       "IN-MAP", "POD");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);

		if (!strcmp(cmd, "identities"))
			printf("%-10s %-20s %s\n", sl_ctl_field(e, "id"), sl_ctl_field(e, "namespace"),
			       sl_ctl_field(e, "labels"));
		else if (!strcmp(cmd, "nodes"))
			printf("%-24s %-20s %-16s %s\n", sl_ctl_field(e, "name"),
			       sl_ctl_field(e, "podCIDR"), sl_ctl_field(e, "internalIP"),
			       sl_ctl_field(e, "self"));
		else if (!strcmp(cmd, "ipcache"))
			printf("%-18s %-10s %-16s %s\n", sl_ctl_field(e, "cidr"),
			       sl_ctl_field(e, "identity"), sl_ctl_field(e, "node"),
			       sl_ctl_field(e, "local"));
		else
			printf("%-15s %-8s %-10s %-6s %s/%s\n", sl_ctl_field(e, "ip"),
			       sl_ctl_field(e, "ifindex"), sl_ctl_field(e, "identity"),
			       sl_ctl_field(e, "inMap"), sl_ctl_field(e, "namespace"), sl_ctl_field(e, "pod"));
	}
	json_object_put(arr);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bpf-root", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "addr", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'P' },
		{ "proto", required_argument, NULL, 'p' },
		{ "svc", required_argument, NULL, 'S' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_ct_filter filter = {};
	struct sl_ctl_trace trace = { .proto = IPPROTO_TCP };
	const char *port_arg = NULL;
	struct in_addr in;
	unsigned long num;
	char *end;
	struct sl_ctl o = { .bpf_root = SL_DEFAULT_BPF_ROOT,
			  .run_dir = SL_DEFAULT_RUN_DIR };
	struct sl_datapath dp = SL_DATAPATH_INIT;
	const char *cmd;
	int c, ret, extra, observe_at = 0;

	/* observe has options of its own: the words after it are its. */
	for (int i = 1; i < argc && !observe_at; i++)
		if (!strcmp(argv[i], "observe") &&
		    (i == 1 || argv[i - 1][0] != '-' || strchr(argv[i - 1], '=') ||
		     !strcmp(argv[i - 1], "-h")))
			observe_at = i;
	while ((c = getopt_long(observe_at ? observe_at : argc, argv,
				"b:r:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bpf_root = optarg;
			break;
		case 'r':
			o.run_dir = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json")) {
				fprintf(stderr, "sluicectl: -o takes only \"json\"\n");
				return 2;
			}
			o.json = true;
			break;
		case 'A':
			if (inet_pton(AF_INET, optarg, &in) != 1) {
				fprintf(stderr, "sluicectl: --addr %s is not an IPv4 address\n",
					optarg);
				return 2;
			}
			filter.addr = ntohl(in.s_addr);
			break;
		case 'F':
			trace.from = optarg;
			break;
		case 'T':
			trace.to = optarg;
			break;
		case 'P':
		case 'S':
			errno = 0;
			num = strtoul(optarg, &end, 10);
			/* policy trace's --port may name the protocol too:
			 * "80/TCP", "53/udp"; ct's stays a number. */
			if (c == 'P' && *end == '/' && !errno) {
				port_arg = optarg;
				if (!strcasecmp(end + 1, "tcp"))
					trace.proto = IPPROTO_TCP;
				else if (!strcasecmp(end + 1, "udp"))
					trace.proto = IPPROTO_UDP;
				else if (!strcasecmp(end + 1, "sctp"))
					trace.proto = IPPROTO_SCTP;
				else {
					fprintf(stderr, "sluicectl: --port %s: the protocol is tcp, udp or sctp\n",
						optarg);
					return 2;
				}
				end += strlen(end);
			}
			if (errno || *end || !num || (c == 'P' && num > 65535) ||
			    num > UINT32_MAX) {
				fprintf(stderr, "sluicectl: --%s %s is out of range\n",
					c == 'P' ? "port" : "svc", optarg);
				return 2;
			}
			if (c == 'P')
				filter.port = trace.port = (uint16_t)num;
			else
				filter.svc_id = (uint32_t)num;
			break;
		case 'p':
			if (!strcmp(optarg, "tcp"))
				filter.proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				filter.proto = IPPROTO_UDP;
			else {
				fprintf(stderr, "sluicectl: --proto takes tcp or udp\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (observe_at) {
		if (optind != observe_at) {
			usage(stderr);
			return 2;
		}
		return sl_ctl_observe(&o, argc - observe_at, argv + observe_at);
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	/* ct and policy take one more word: list|flush, ENDPOINT|trace. */
	extra = argc - optind - 1;
	if (extra > (!strcmp(cmd, "ct") || !strcmp(cmd, "policy") ? 1 : 0)) {
		usage(stderr);
		return 2;
	}
	if ((trace.from || trace.to) &&
	    (strcmp(cmd, "policy") || !extra || strcmp(argv[optind + 1], "trace"))) {
		fprintf(stderr, "sluicectl: --from and --to are for policy trace\n");
		return 2;
	}
	if (port_arg && strcmp(cmd, "policy")) {
		fprintf(stderr, "sluicectl: --port %s: a protocol is for policy trace; %s takes a number%s\n",
			port_arg, cmd, strcmp(cmd, "ct") ? "" : " (and --proto)");
		return 2;
	}
	libbpf_set_print(NULL);
	if (!strcmp(cmd, "status"))
		return cmd_status(&o);
	if (!strcmp(cmd, "services"))
		return sl_ctl_services(&o);
	if (!strcmp(cmd, "policy"))
		return sl_ctl_policy(&o, extra ? argv[optind + 1] : NULL, &trace);
	if (!strcmp(cmd, "identities") || !strcmp(cmd, "nodes") ||
	    !strcmp(cmd, "ipcache"))
		return cmd_list(&o, cmd);
	if (!strcmp(cmd, "endpoints")) {
		json_object *probe = sl_ctl_ask_agent(&o, "status");

		if (probe) {
			json_object_put(probe);
			return cmd_list(&o, cmd);
		}
		fprintf(stderr, "sluicectl: agent not running; reading the pinned map\n");
	} else if (strcmp(cmd, "metrics") && strcmp(cmd, "ct")) {
		fprintf(stderr, "sluicectl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	ret = sl_datapath_open_pinned(&dp, o.bpf_root);
	if (ret < 0) {
		fprintf(stderr, "sluicectl: no datapath pinned under %s: %s\n",
			o.bpf_root, strerror(-ret));
		return 1;
	}
	if (!strcmp(cmd, "ct"))
		ret = sl_ctl_ct(&o, argv[optind + 1], &filter, dp.ct_fd);
	else if (!strcmp(cmd, "metrics"))
		ret = cmd_metrics(&o, &dp);
	else
		ret = cmd_endpoints(&o, &dp);
	sl_datapath_close(&dp);
	return ret;
}

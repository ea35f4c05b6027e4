// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl: the operator's view of a node's datapath. These commands read
 * the pinned maps directly, so they work with no agent running.
 *
 *   sluicectl [--bpf-root P] [--run-dir R] [-o json] metrics
 *   sluicectl [--bpf-root P] [--run-dir R] [-o json] endpoints
 */
#include "datapath.h"
#include "fsutil.h"
#include "reasons.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/endpoint.h>
#include <sluice/pins.h>

struct opts {
	const char *bpf_root;
	const char *run_dir;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluicectl [--bpf-root PATH] [--run-dir PATH] [-o json] COMMAND\n"
		"commands:\n"
		"  metrics     packets and bytes per drop reason / trace point\n"
		"  endpoints   pods in the endpoint map, with their records\n");
}

static int cmd_metrics(const struct opts *o, const struct sl_datapath *dp)
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_metrics_val *vals;
	json_object *arr = json_object_new_array();

	if (ncpu <= 0)
		return 1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return 1;
	if (!o->json)
		printf("%-8s %-16s %-8s %12s %14s  %s\n", "KIND", "REASON", "DIR",
		       "PACKETS", "BYTES", "DESCRIPTION");
	for (__u32 dir = 0; dir < SL_DIR_MAX; dir++) {
		for (__u32 code = 1; code <= SL_REASON_MAX; code++) {
			__u32 idx = sl_metrics_index(code, dir);
			__u64 pkts = 0, bytes = 0;
			const char *name = sl_reason_name(code);

			if (!name ||
			    bpf_map_lookup_elem(dp->metrics_fd, &idx, vals) < 0)
				continue;
			for (int c = 0; c < ncpu; c++) {
				pkts += vals[c].packets;
				bytes += vals[c].bytes;
			}
			if (!pkts)
				continue;
			if (o->json) {
				json_object *m = json_object_new_object();

				json_object_object_add(m, "kind", json_object_new_string(
					sl_reason_is_drop(code) ? "drop" : "forward"));
				json_object_object_add(m, "reason", json_object_new_string(name));
				json_object_object_add(m, "code", json_object_new_int((int)code));
				json_object_object_add(m, "direction",
						       json_object_new_string(sl_dir_name(dir)));
				json_object_object_add(m, "packets", json_object_new_int64((int64_t)pkts));
				json_object_object_add(m, "bytes", json_object_new_int64((int64_t)bytes));
				json_object_array_add(arr, m);
			} else {
				printf("%-8s %-16s %-8s %12llu %14llu  %s\n",
				       sl_reason_is_drop(code) ? "drop" : "forward",
				       name, sl_dir_name(dir),
				       (unsigned long long)pkts,
				       (unsigned long long)bytes,
				       sl_reason_desc(code));
			}
		}
	}
	if (o->json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	json_object_put(arr);
	free(vals);
	return 0;
}

/* The record of the pod at ip, from <runDir>/endpoints/<ip>, if any. */
static json_object *read_record(const struct opts *o, const char *ip)
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

static int cmd_endpoints(const struct opts *o, const struct sl_datapath *dp)
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
		snprintf(pmac, sizeof(pmac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 ep.pod_mac[0], ep.pod_mac[1], ep.pod_mac[2],
			 ep.pod_mac[3], ep.pod_mac[4], ep.pod_mac[5]);
		snprintf(hmac, sizeof(hmac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 ep.host_mac[0], ep.host_mac[1], ep.host_mac[2],
			 ep.host_mac[3], ep.host_mac[4], ep.host_mac[5]);
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bpf-root", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .bpf_root = SL_DEFAULT_BPF_ROOT,
			  .run_dir = SL_DEFAULT_RUN_DIR };
	struct sl_datapath dp = SL_DATAPATH_INIT;
	const char *cmd;
	int c, ret;

	while ((c = getopt_long(argc, argv, "b:r:o:h", longopts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "metrics") && strcmp(cmd, "endpoints")) {
		fprintf(stderr, "sluicectl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	libbpf_set_print(NULL);
	ret = sl_datapath_open_pinned(&dp, o.bpf_root);
	if (ret < 0) {
		fprintf(stderr, "sluicectl: no datapath pinned under %s: %s\n",
			o.bpf_root, strerror(-ret));
		return 1;
	}
	ret = !strcmp(cmd, "metrics") ? cmd_metrics(&o, &dp) :
					cmd_endpoints(&o, &dp);
	sl_datapath_close(&dp);
	return ret;
}

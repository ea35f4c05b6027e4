// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluiced: the node agent. Knows the cluster from a manifests folder or
 * the API server, keeps the datapath's maps equal to it, and answers
 * sluicectl on <runDir>/sluiced.sock.
 *
 *   sluiced --node-name N [--source DIR | --kubeconfig F] [--api-server URL]
 *           [--service-account-dir D] [--bpf-root P] [--run-dir R]
 *           [--cgroup-root PATH|none] [--lb-algorithm random|maglev]
 *           [--metrics-listen ADDR:PORT] [--flows-buffer N]
 *           [--ipfix-collector HOST:PORT]
 *           [--event-rate N] [--event-burst N] [--flow-events on|off]
 *           [--flows-file PATH [--flows-file-max-mb N] [--flows-file-keep N]]
 *           [--log-level L]
 *
 * Without --source or --kubeconfig the agent runs in-cluster (service
 * account, token and ca.crt from --service-account-dir, by default where
 * the kubelet projects them). --api-server replaces the server address: a
 * kube-proxy replacement cannot rely on the kubernetes Service's ClusterIP.
 */
#include "agent.h"
#include "routing.h"
#include "ipv4.h"

#include <sluice/tunnel.h>
#include "datapath.h"
#include "log.h"

#include <errno.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/conntrack.h>
#include <sluice/pins.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluiced --node-name NAME [--source DIR | --kubeconfig FILE]\n"
		"               [--api-server URL] [--bpf-root PATH] [--run-dir PATH]\n"
		"               [--service-account-dir DIR] [--devices auto|none|IF,...]\n"
		"               [--conntrack-max N]\n"
		"               [--cgroup-root PATH|none]\n"
		"               [--lb-algorithm random|maglev]\n"
		"               [--metrics-listen ADDR:PORT]\n"
		"               [--ipfix-collector HOST:PORT]\n"
		"               [--flows-buffer N] [--event-rate N] [--event-burst N]\n"
		"               [--flow-events on|off]\n"
		"               [--routing native|vxlan] [--vxlan-port N]\n"
		"               [--host-routing bpf|stack]\n"
		"               [--masquerade on|off] [--cluster-cidr CIDR]\n"
		"               [--flows-file PATH [--flows-file-max-mb N] [--flows-file-keep N]]\n"
		"               [--log-level error|warn|info|debug]\n"
		"Without --source or --kubeconfig: in-cluster (service account).\n"
		"--cgroup-root: the cgroup v2 directory whose processes reach Services\n"
		"  at the socket and are named in flow records (default /sys/fs/cgroup,\n"
		"  or /sys/fs/cgroup/unified on a hybrid layout; none: off)\n"
		"--service-account-dir: in-cluster token and ca.crt (default "
		SL_SA_DIR ")\n"
		"--conntrack-max N: sl_ct entries when the table is created\n"
		"--devices: where NodePorts and external IPs are served (default\n"
		"  auto: every interface with an IPv4 address but loopback)\n"
		"--lb-algorithm: how Services without sluice.io/lb-algorithm\n"
		"  pick backends (default random; maglev: consistent hashing,\n"
		"  a connection gets the same backend on every node)\n"
		"--metrics-listen: serve Prometheus /metrics and /healthz over HTTP;\n"
		"  ADDR an IPv4 address, [IPv6], a host name, or empty for all\n"
		"  (0.0.0.0:9962, [::1]:9962, localhost:9962, :9962)\n"
		"--ipfix-collector: export flow ends and drops over IPFIX (UDP) to\n"
		"  HOST:PORT, HOST an IPv4 address, [IPv6] or a name resolved at start\n"
		"--flows-buffer N: recent flow records kept for sluicectl observe\n"
		"  (default 4096)\n"
		"--event-rate N, --event-burst N: datapath events per second and\n"
		"  burst, per CPU, beyond which events are shed and counted\n"
		"  (default 50000 and 10000)\n"
		"--flow-events off: no flow start/close events (drops and policy\n"
		"  verdicts are still reported)\n"
		"--flows-file PATH: every flow record as a JSON line, PATH rotated\n"
		"  to PATH.1.. at --flows-file-max-mb (default 100), keeping\n"
		"  --flows-file-keep old files (default 3)\n"
		"--routing: how other nodes' pods are reached: native (default; a\n"
		"  route per node, podCIDR via its InternalIP) or vxlan (a tunnel\n"
		"  device " SL_OVERLAY_DEV ", the sender's identity in the VNI)\n"
		"--vxlan-port N: the tunnel's UDP port (default 8472)\n"
		"--host-routing: who forwards pod traffic between nodes: bpf (default;\n"
		"  the datapath, past the host stack's forwarding and netfilter) or\n"
		"  stack (the host's routes, netfilter and neighbour tables)\n"
		"--masquerade: pods' traffic to addresses outside the cluster leaves\n"
		"  with the node's address (default on); the cluster is every node's\n"
		"  pod CIDR and InternalIP, and --cluster-cidr CIDR if given\n");
}

/* optarg, for the option --opt that takes one of two words: 0 for the
 * first, 1 for the second, -1 (said on stderr) for anything else. */
static int one_of_two(const char *opt, const char *first, const char *second)
{
	if (!strcmp(optarg, first))
		return 0;
	if (!strcmp(optarg, second))
		return 1;
	fprintf(stderr, "sluiced: --%s takes %s or %s\n", opt, first, second);
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "node-name", required_argument, NULL, 'n' },
		{ "source", required_argument, NULL, 's' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "api-server", required_argument, NULL, 'a' },
		{ "service-account-dir", required_argument, NULL, 'S' },
		{ "devices", required_argument, NULL, 'D' },
		{ "conntrack-max", required_argument, NULL, 'T' },
		{ "bpf-root", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "cgroup-root", required_argument, NULL, 'C' },
		{ "lb-algorithm", required_argument, NULL, 'L' },
		{ "metrics-listen", required_argument, NULL, 'M' },
		{ "ipfix-collector", required_argument, NULL, 'I' },
		{ "flows-buffer", required_argument, NULL, 'B' },
		{ "event-rate", required_argument, NULL, 'E' },
		{ "event-burst", required_argument, NULL, 'U' },
		{ "flow-events", required_argument, NULL, 'F' },
		{ "flows-file", required_argument, NULL, 'W' },
		{ "flows-file-max-mb", required_argument, NULL, 'X' },
		{ "flows-file-keep", required_argument, NULL, 'K' },
		{ "routing", required_argument, NULL, 'R' },
		{ "host-routing", required_argument, NULL, 'H' },
		{ "vxlan-port", required_argument, NULL, 'P' },
		{ "masquerade", required_argument, NULL, 'Q' },
		{ "cluster-cidr", required_argument, NULL, 'G' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_agent a = { .bpf_root = SL_DEFAULT_BPF_ROOT,
			      .run_dir = SL_DEFAULT_RUN_DIR,
			      .routing.vxlan_port = SL_VXLAN_PORT_DEFAULT };
	const char *kubeconfig = NULL, *api_server = NULL, *sa_dir = NULL;
	char why[1024];
	int c, err, word;

	sl_log_init("sluiced", SL_LOG_INFO);
	sl_log_capture_libbpf();
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			a.node_name = optarg;
			break;
		case 's':
			a.source_path = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'a':
			api_server = optarg;
			break;
		case 'S':
			sa_dir = optarg;
			break;
		case 'D':
			a.devices = optarg;
			break;
		case 'T': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || n < SL_CT_MAX_MIN || n > SL_CT_MAX_MAX) {
				fprintf(stderr, "sluiced: --conntrack-max takes %u..%u\n",
					SL_CT_MAX_MIN, SL_CT_MAX_MAX);
				return 2;
			}
			sl_datapath_set_ct_max((unsigned int)n);
			break;
		}
		case 'b':
			a.bpf_root = optarg;
			break;
		case 'r':
			a.run_dir = optarg;
			break;
		case 'C':
			a.cgroup_root = optarg;
			break;
		case 'L':
			if (strcmp(optarg, "random") &&
			    strcmp(optarg, "maglev")) {
				fprintf(stderr, "sluiced: --lb-algorithm %s is "
					"not random or maglev\n", optarg);
				return 2;
			}
			a.maglev_default = !strcmp(optarg, "maglev");
			break;
		case 'M':
			if (sl_metrics_parse_listen(optarg, &a.metrics.where, why,
						    sizeof(why)) < 0) {
				fprintf(stderr, "sluiced: --metrics-listen %s: %s\n",
					optarg, why);
				return 2;
			}
			break;
		case 'I':
			if (sl_ipfix_parse_collector(optarg, &a.ipfix, why,
						     sizeof(why)) < 0) {
				fprintf(stderr, "sluiced: --ipfix-collector %s: %s\n",
					optarg, why);
				return 2;
			}
			break;
		case 'B':
		case 'E':
		case 'U': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !n || n > (c == 'B' ? 1000000 : 100000000)) {
				fprintf(stderr, "sluiced: --%s takes 1..%u\n",
					c == 'B' ? "flows-buffer" :
					c == 'E' ? "event-rate" : "event-burst",
					c == 'B' ? 1000000 : 100000000);
				return 2;
			}
			if (c == 'B')
				a.flows_buffer = n;
			else if (c == 'E')
				a.event_rate = (uint32_t)n;
			else
				a.event_burst = (uint32_t)n;
			break;
		}
		case 'W':
			a.flows_file_path = optarg;
			break;
		case 'X':
		case 'K': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !n || n > 100000) {
				fprintf(stderr, "sluiced: --%s takes 1..100000\n",
					c == 'X' ? "flows-file-max-mb" :
						   "flows-file-keep");
				return 2;
			}
			if (c == 'X')
				a.flows_file_max = (uint64_t)n << 20;
			else
				a.flows_file_keep = (unsigned int)n;
			break;
		}
		case 'F':
			if ((word = one_of_two("flow-events", "on", "off")) < 0)
				return 2;
			a.flow_events_off = word;
			break;
		case 'R':
			if (sl_routing_mode_parse(optarg, &a.routing.mode) < 0) {
				fprintf(stderr, "sluiced: --routing takes native or vxlan\n");
				return 2;
			}
			break;
		case 'H':
			if ((word = one_of_two("host-routing", "bpf", "stack")) < 0)
				return 2;
			a.routing.stack_routing = word;
			break;
		case 'P': {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || n < 1 || n > 65535) {
				fprintf(stderr, "sluiced: --vxlan-port takes a UDP port, 1 to 65535\n");
				return 2;
			}
			a.routing.vxlan_port = (uint16_t)n;
			break;
		}
		case 'Q':
			if ((word = one_of_two("masquerade", "on", "off")) < 0)
				return 2;
			a.nat.masquerade_off = word;
			break;
		case 'G': {
			struct sl_ipv4_net net;

			if (sl_parse_ipv4_cidr(optarg, &net) < 0) {
				fprintf(stderr, "sluiced: --cluster-cidr takes an IPv4 network (host bits zero), e.g. 10.244.0.0/16\n");
				return 2;
			}
			a.nat.cluster_cidr = net.addr;
			a.nat.cluster_prefix = (uint8_t)net.prefix;
			break;
		}
		case 'l':
			sl_log_set_level(sl_log_level_from_string(optarg));
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !a.node_name) {
		usage(stderr);
		return 2;
	}
	if (a.source_path && (kubeconfig || api_server)) {
		fprintf(stderr, "sluiced: --source cannot be combined with --kubeconfig or --api-server\n");
		return 2;
	}
	/* Only in-cluster reads it: silently ignoring it would hide a typo'd
	 * deployment that is not using the directory it names. */
	if (sa_dir && (a.source_path || kubeconfig)) {
		fprintf(stderr, "sluiced: --service-account-dir is only for in-cluster configuration, not with --source or --kubeconfig\n");
		return 2;
	}
	if (!sa_dir)
		sa_dir = SL_SA_DIR;
	if (!a.source_path) {
		err = kubeconfig ? sl_kubeconfig_load(kubeconfig, &a.kube_cfg, why,
						      sizeof(why)) :
				   sl_kubeconfig_in_cluster(sa_dir, &a.kube_cfg,
							    why, sizeof(why));
		if (!err && api_server)
			err = sl_kubeconfig_set_server(&a.kube_cfg, api_server,
						       why, sizeof(why));
		if (err) {
			fprintf(stderr, "sluiced: %s\n", why);
			sl_kubeconfig_free(&a.kube_cfg);
			return 2;
		}
	}
	sl_log_set_context("node=%s", a.node_name);

	err = sl_agent_start(&a);
	if (!err)
		err = sl_agent_run(&a);
	sl_agent_stop(&a);
	return err < 0 ? 1 : 0;
}

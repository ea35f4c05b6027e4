// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluiced: the node agent. Knows the cluster from a manifests folder (the
 * API server source comes next), keeps the datapath's maps equal to it,
 * and answers sluicectl on <runDir>/sluiced.sock.
 *
 *   sluiced --node-name N --source DIR [--bpf-root P] [--run-dir R]
 *           [--log-level L]
 */
#include "agent.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/pins.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: sluiced --node-name NAME --source DIR [--bpf-root PATH]\n"
		"               [--run-dir PATH] [--log-level error|warn|info|debug]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "node-name", required_argument, NULL, 'n' },
		{ "source", required_argument, NULL, 's' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "bpf-root", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_agent a = { .bpf_root = SL_DEFAULT_BPF_ROOT,
			      .run_dir = SL_DEFAULT_RUN_DIR };
	int c, err;

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
			fprintf(stderr, "sluiced: --kubeconfig: the API server source is not built yet; use --source\n");
			return 2;
		case 'b':
			a.bpf_root = optarg;
			break;
		case 'r':
			a.run_dir = optarg;
			break;
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
	if (optind != argc || !a.node_name || !a.source_path) {
		usage(stderr);
		return 2;
	}
	sl_log_set_context("%s", a.node_name);

	err = sl_agent_start(&a);
	if (!err)
		err = sl_agent_run(&a);
	sl_agent_stop(&a);
	return err < 0 ? 1 : 0;
}

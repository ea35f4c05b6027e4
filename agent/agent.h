/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluiced: the node agent's state and its parts. */
#ifndef SL_AGENT_AGENT_H
#define SL_AGENT_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cgroup.h"
#include "datapath.h"
#include "endpoint.h"
#include "flow_file.h"
#include "flow_source.h"
#include "ipcache.h"
#include "service.h"
#include "healthcheck.h"
#include "ipfix.h"
#include "k8s_watch.h"
#include "metrics.h"
#include "model.h"
#include "nat.h"
#include "policy_sync.h"
#include "routing.h"
#include "source_dir.h"

#define SL_AGENT_SOCKET "sluiced.sock"
#define SL_AGENT_RESYNC_SECS 30

struct sl_agent {
	const char *node_name;
	const char *source_path;
	const char *bpf_root;
	const char *run_dir;
	const char *cgroup_root; /* --cgroup-root: a path, "none"; NULL: detect */
	bool maglev_default;     /* --lb-algorithm maglev */

	struct sl_model model;
	struct sl_source_dir source;         /* with --source */
	struct sl_kube_config kube_cfg;      /* otherwise: moved into kube */
	struct sl_kube kube;
	bool kube_ready; /* first full list of pods and namespaces applied */
	struct sl_datapath dp;
	struct sl_sock_lb sock_lb; /* host-network processes to Services */

	int epoll_fd, signal_fd, timer_fd, api_fd, records_fd;
	bool stopping;
	bool records_changed;

	uint64_t synced_generation;
	uint64_t syncs;
	uint64_t sync_errors; /* failed syncs since start */
	bool sync_failed;     /* the last one did */
	struct timespec started, last_sync;
	struct sl_ep_stats last_ep;
	struct sl_ipc_state ipc;
	struct sl_svc_state svc;
	struct sl_pol_state pol; /* NetworkPolicy: compile, sl_policy* */
	struct sl_health health; /* health check node ports */
	struct sl_metrics metrics; /* --metrics-listen: /metrics, /healthz */
	struct sl_flow_source flows; /* the event ring, flow records */
	size_t flows_buffer;         /* --flows-buffer: records kept */
	uint32_t event_rate, event_burst; /* --event-rate/--event-burst */
	bool flow_events_off;        /* --flow-events off */
	struct sl_ipfix ipfix;       /* --ipfix-collector: flow export */
	const char *flows_file_path; /* --flows-file: JSON lines, rotated */
	uint64_t flows_file_max;     /* --flows-file-max-mb, in bytes */
	unsigned int flows_file_keep; /* --flows-file-keep */
	struct sl_flow_file flow_file;
	struct sl_routing routing; /* --routing: other nodes' pod CIDRs */
	struct sl_nat nat;         /* SNAT to remote backends, masquerade */
	const char *devices;   /* --devices: names, "auto" or "none" */
	char netdevs[256];     /* where sl_from_netdev is attached */
	struct {
		unsigned int seen;            /* entries at the last GC */
		unsigned long expired, orphans; /* removed since start */
	} ct_gc;
	size_t endpoints;
	char node_cidr[24];   /* last written to node.json */
	char node_record[64]; /* all of it */
	char last_error[512];
};

int sl_agent_start(struct sl_agent *a);
int sl_agent_run(struct sl_agent *a);
void sl_agent_stop(struct sl_agent *a);

/* Recompute and write the maps and node record. */
int sl_agent_sync(struct sl_agent *a);

/* Replace a pinned datapath from another build with ours (agent/upgrade.c). */
int sl_agent_upgrade_datapath(struct sl_agent *a);

/* The unix socket API (agent/api.c). */
int sl_api_listen(struct sl_agent *a);
void sl_api_accept(struct sl_agent *a);
/* One request ({"cmd": ..., and the command's arguments}); NULL: unknown. */
json_object *sl_api_handle(struct sl_agent *a, const char *cmd,
			   json_object *req);

#endif /* SL_AGENT_AGENT_H */

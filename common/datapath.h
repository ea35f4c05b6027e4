/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned datapath: find it under bpfRoot, or load the embedded object
 * once and pin its programs and maps there.
 */
#ifndef SL_COMMON_DATAPATH_H
#define SL_COMMON_DATAPATH_H

#include <limits.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>

struct sl_datapath {
	int from_pod_fd;
	int to_pod_fd;
	int from_netdev_fd;
	int to_netdev_fd;
	int endpoints_fd;
	int metrics_fd;
	int ipcache_fd;
	int services_fd;
	int backends_fd;
	int affinity_fd;
	int ct_fd;
	/* Optional: -1 in a datapath pinned by a build without them. */
	int sock_connect4_fd;
	int sock_sendmsg4_fd;
	int sock_recvmsg4_fd;
	int sock_getpeername4_fd;
	int sock_post_bind4_fd; /* flow attribution */
	int sock_ops_fd;
	int config_fd;
	int maglev_fd;
	int policy_fd;
	int policy_cidr_fd;
	int events_fd;      /* sl_events, the ring */
	int event_stats_fd;
	int from_overlay_fd; /* VXLAN mode */
	int to_overlay_fd;
	int tunnel_fd;
};

#define SL_DATAPATH_INIT                                                       \
	{ .from_pod_fd = -1, .to_pod_fd = -1, .from_netdev_fd = -1,            \
	  .to_netdev_fd = -1, .endpoints_fd = -1,                              \
	  .metrics_fd = -1, .ipcache_fd = -1, .services_fd = -1,               \
	  .backends_fd = -1, .affinity_fd = -1, .ct_fd = -1,                   \
	  .sock_connect4_fd = -1, .sock_sendmsg4_fd = -1,                      \
	  .sock_recvmsg4_fd = -1, .sock_getpeername4_fd = -1,                  \
	  .sock_post_bind4_fd = -1, .sock_ops_fd = -1, .config_fd = -1,        \
	  .maglev_fd = -1, .policy_fd = -1, .policy_cidr_fd = -1,              \
	  .events_fd = -1, .event_stats_fd = -1, .from_overlay_fd = -1,       \
	  .to_overlay_fd = -1, .tunnel_fd = -1 }

/* True when path, or its nearest existing ancestor, is on a bpffs mount. */
bool sl_bpffs_at(const char *path);

/* Open the pinned programs and maps; -ENOENT when something required is
 * missing (the cgroup socket and sock_ops programs, sl_config, sl_maglev,
 * sl_policy, sl_policy_cidr, sl_events, sl_event_stats, the overlay
 * programs and sl_tunnel are not: an older build's datapath lacks them
 * until the agent upgrades it). */
int sl_datapath_open_pinned(struct sl_datapath *dp, const char *bpf_root);

/*
 * sl_datapath_open - open the pinned datapath, loading and pinning the
 * embedded object first when nothing is pinned. Loading happens under an
 * exclusive flock on lock_path, so concurrent callers load once.
 */
int sl_datapath_open(struct sl_datapath *dp, const char *bpf_root,
		     const char *lock_path);

/*
 * Load the embedded object and pin it under bpf_root (caller holds the
 * lock). Pinned maps whose definition still matches are reused, contents
 * and all; one whose layout changed is unpinned and starts empty (the
 * agent refills what it owns). Programs already attached keep running the
 * old object until re-attached.
 */
int sl_datapath_load_and_pin(const char *bpf_root);

/*
 * Size of sl_ct when a load creates it (0: SL_CT_MAX_DEFAULT). A pinned
 * table keeps the size it was created with: resizing would mean starting
 * it empty, cutting every translated connection, so a different setting
 * takes effect only once the pin is gone (a reboot, an uninstall).
 */
void sl_datapath_set_ct_max(unsigned int entries);

void sl_datapath_close(struct sl_datapath *dp);

/* FNV-1a over the embedded object: identifies this build's datapath. */
uint64_t sl_datapath_embedded_hash(void);

/* What the loader recorded in the pinned sl_info; -ENOENT without it. */
struct sl_info;
int sl_datapath_pinned_info(const char *bpf_root, struct sl_info *info);

/*
 * sl_bpf_helper_usable - may a program of @type (attached at @attach)
 * call @helper on this kernel? Asks the verifier, as libbpf's probe does,
 * but reads every wording the verifier has used for "no" (libbpf 1.1
 * misses 6.x's and answers yes for everything there).
 */
bool sl_bpf_helper_usable(enum bpf_prog_type type,
			  enum bpf_attach_type attach, enum bpf_func_id helper);

/* Kernel id of the program behind fd, or 0. */
unsigned int sl_prog_id(int prog_fd);

#endif /* SL_COMMON_DATAPATH_H */

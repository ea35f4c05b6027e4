// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath.h"
#include "fsutil.h"
#include "log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <sluice/drop.h>
#include <sluice/endpoint.h>
#include <sluice/ipcache.h>
#include <sluice/tunnel.h>
#include <sluice/config.h>
#include <sluice/conntrack.h>
#include <sluice/event.h>
#include <sluice/pins.h>
#include <sluice/policy.h>
#include <sluice/service.h>

#include "sluice.skel.h"

bool sl_bpffs_at(const char *path)
{
	char buf[PATH_MAX];
	struct statfs st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return false;
	for (;;) {
		char *slash;

		if (statfs(buf, &st) == 0)
			return st.f_type == BPF_FS_MAGIC;
		if (errno != ENOENT)
			return false;
		slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = '\0';
	}
}

static int obj_get(const char *bpf_root, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", bpf_root, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

void sl_datapath_close(struct sl_datapath *dp)
{
	int *fds[] = { &dp->from_pod_fd, &dp->to_pod_fd, &dp->endpoints_fd,
		       &dp->from_netdev_fd, &dp->to_netdev_fd,
		       &dp->metrics_fd, &dp->ipcache_fd, &dp->services_fd,
		       &dp->backends_fd, &dp->affinity_fd, &dp->ct_fd,
		       &dp->sock_connect4_fd, &dp->sock_sendmsg4_fd,
		       &dp->sock_recvmsg4_fd, &dp->sock_getpeername4_fd,
		       &dp->sock_post_bind4_fd, &dp->sock_ops_fd,
		       &dp->config_fd, &dp->maglev_fd, &dp->policy_fd,
		       &dp->policy_cidr_fd, &dp->events_fd,
		       &dp->event_stats_fd, &dp->from_overlay_fd,
		       &dp->to_overlay_fd, &dp->tunnel_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int sl_datapath_open_pinned(struct sl_datapath *dp, const char *bpf_root)
{
	struct {
		int *fd;
		const char *name;
	} objs[] = {
		{ &dp->from_pod_fd, SL_PROG_FROM_POD },
		{ &dp->to_pod_fd, SL_PROG_TO_POD },
		{ &dp->from_netdev_fd, SL_PROG_FROM_NETDEV },
		{ &dp->to_netdev_fd, SL_PROG_TO_NETDEV },
		{ &dp->endpoints_fd, SL_ENDPOINTS_MAP },
		{ &dp->metrics_fd, SL_METRICS_MAP },
		{ &dp->ipcache_fd, SL_IPCACHE_MAP },
		{ &dp->services_fd, SL_SERVICES_MAP },
		{ &dp->backends_fd, SL_BACKENDS_MAP },
		{ &dp->affinity_fd, SL_AFFINITY_MAP },
		{ &dp->ct_fd, SL_CT_MAP },
	}, optional[] = {
		{ &dp->sock_connect4_fd, SL_PROG_SOCK_CONNECT4 },
		{ &dp->sock_sendmsg4_fd, SL_PROG_SOCK_SENDMSG4 },
		{ &dp->sock_recvmsg4_fd, SL_PROG_SOCK_RECVMSG4 },
		{ &dp->sock_getpeername4_fd, SL_PROG_SOCK_GETPEERNAME4 },
		{ &dp->sock_post_bind4_fd, SL_PROG_SOCK_POST_BIND4 },
		{ &dp->sock_ops_fd, SL_PROG_SOCK_OPS },
		{ &dp->config_fd, SL_CONFIG_MAP },
		{ &dp->maglev_fd, SL_MAGLEV_MAP },
		{ &dp->policy_fd, SL_POLICY_MAP },
		{ &dp->policy_cidr_fd, SL_POLICY_CIDR_MAP },
		{ &dp->events_fd, SL_EVENTS_MAP },
		{ &dp->event_stats_fd, SL_EVENT_STATS_MAP },
		{ &dp->from_overlay_fd, SL_PROG_FROM_OVERLAY },
		{ &dp->to_overlay_fd, SL_PROG_TO_OVERLAY },
		{ &dp->tunnel_fd, SL_TUNNEL_MAP },
	};

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		int fd = obj_get(bpf_root, objs[i].name);

		if (fd < 0) {
			sl_datapath_close(dp);
			return fd;
		}
		*objs[i].fd = fd;
	}
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		int fd = obj_get(bpf_root, optional[i].name);

		if (fd < 0 && fd != -ENOENT) {
			sl_datapath_close(dp);
			return fd;
		}
		*optional[i].fd = fd < 0 ? -1 : fd;
	}
	return 0;
}

static int pin_prog(struct bpf_program *prog, const char *bpf_root)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", bpf_root, bpf_program__name(prog));
	/* A pin left by a load that died half-way is stale: replace it. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	err = bpf_program__pin(prog, path);
	return err < 0 ? err : 0;
}

uint64_t sl_datapath_embedded_hash(void)
{
	const unsigned char *p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len;

	p = sluice_bpf__elf_bytes(&len);
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int sl_datapath_pinned_info(const char *bpf_root, struct sl_info *info)
{
	__u32 key = 0;
	int fd = obj_get(bpf_root, SL_INFO_MAP), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &key, info) < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * A map of maps also fixes the layout of its inner maps, which
 * bpf_map_info does not show: offer the pinned one an inner map of ours
 * under key 0 (no table uses it) and see whether the kernel takes it.
 */
static bool inner_layout_changed(int fd, struct bpf_map *map)
{
	struct bpf_map *in = bpf_map__inner_map(map);
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	__u32 key = 0;
	bool changed = false;
	int ifd;

	if (!in || bpf_map__key_size(map) != sizeof(key))
		return false;
	opts.map_flags = bpf_map__map_flags(in);
	ifd = bpf_map_create(bpf_map__type(in), NULL, bpf_map__key_size(in),
			     bpf_map__value_size(in),
			     bpf_map__max_entries(in), &opts);
	if (ifd < 0)
		return false;
	if (bpf_map_update_elem(fd, &key, &ifd, BPF_NOEXIST) == 0)
		bpf_map_delete_elem(fd, &key);
	else
		changed = errno == EINVAL;
	close(ifd);
	return changed;
}

/* Unpin a map whose pinned definition no longer matches ours. */
static int drop_incompatible_pin(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		err = -errno;
	} else if (info.type != bpf_map__type(map) ||
		   info.key_size != bpf_map__key_size(map) ||
		   info.value_size != bpf_map__value_size(map) ||
		   info.max_entries != bpf_map__max_entries(map) ||
		   info.map_flags != bpf_map__map_flags(map) ||
		   inner_layout_changed(fd, map)) {
		log_warn("map %s changed layout; starting it empty",
			 bpf_map__name(map));
		if (unlink(path) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

static int write_info(struct sluice_bpf *skel)
{
	struct sl_info info = { .object_hash = sl_datapath_embedded_hash(),
				.layout_version = SL_MAP_LAYOUT_VERSION };
	__u32 key = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.sl_info), &key, &info,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

static unsigned int ct_max;

void sl_datapath_set_ct_max(unsigned int entries)
{
	ct_max = entries;
}

/* The configured size for a new table; a pinned one's own size kept. */
static int size_ct(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), err;

	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    info.type == bpf_map__type(map) &&
	    info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map)) {
		if (ct_max && info.max_entries != ct_max)
			log_warn("sl_ct keeps its %u entries (conntrackMax %u applies when it is recreated)",
				 info.max_entries, ct_max);
		err = bpf_map__set_max_entries(map, info.max_entries);
	} else {
		err = ct_max ? bpf_map__set_max_entries(map, ct_max) : 0;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

bool sl_bpf_helper_usable(enum bpf_prog_type type,
			  enum bpf_attach_type attach, enum bpf_func_id helper)
{
	/* r0 = helper(r1 = ctx, ...); exit: whatever else the verifier
	 * objects to (the arguments, the return value) means it got past
	 * the helper's check. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = helper },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	char log[4096] = "";
	int fd;

	opts.expected_attach_type = attach;
	opts.log_buf = log;
	opts.log_size = sizeof(log);
	opts.log_level = 1;
	fd = bpf_prog_load(type, NULL, "GPL", insns, 2, &opts);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	/* An unknown id, then (until 6.x) a known one the type may not
	 * call, then today's wording of the latter: libbpf 1.1's own probe
	 * knows only the first two, and says yes to everything on 6.x. */
	return log[0] && !strstr(log, "invalid func ") &&
	       !strstr(log, "unknown func ") &&
	       !strstr(log, "program of this type cannot use helper");
}

/* What the kernel's socket hooks may call, into the object's switches
 * (datapath/lib/sock.h, sockops.h); all off for @attribution false. */
static void probe_sock_helpers(struct sluice_bpf *skel, bool attribution)
{
	const enum bpf_prog_type addr = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
				 sock = BPF_PROG_TYPE_CGROUP_SOCK;
	const enum bpf_attach_type connect = BPF_CGROUP_INET4_CONNECT,
				   bind = BPF_CGROUP_INET4_POST_BIND;
	const enum bpf_func_id pid = BPF_FUNC_get_current_pid_tgid,
			       comm = BPF_FUNC_get_current_comm;

	/* Without it (before 5.18) the verifier never sees the call, and a
	 * refused host connect() fails with EPERM, not ECONNREFUSED. */
	skel->rodata->sock_have_set_retval =
		sl_bpf_helper_usable(addr, connect, BPF_FUNC_set_retval);
	if (!attribution)
		return;
	skel->rodata->sock_owner_at_connect =
		sl_bpf_helper_usable(addr, connect, BPF_FUNC_sk_storage_get);
	skel->rodata->sock_owner_task_at_connect =
		sl_bpf_helper_usable(addr, connect, pid) &&
		sl_bpf_helper_usable(addr, connect, comm);
	skel->rodata->sock_owner_at_bind =
		sl_bpf_helper_usable(sock, bind, BPF_FUNC_sk_storage_get);
	skel->rodata->sock_owner_task_at_bind =
		sl_bpf_helper_usable(sock, bind, pid) &&
		sl_bpf_helper_usable(sock, bind, comm);
	/* What sl_sock_ops needs to say anything at all. */
	skel->rodata->sockops_on =
		sl_bpf_helper_usable(BPF_PROG_TYPE_SOCK_OPS, 0,
				     BPF_FUNC_get_socket_cookie) &&
		sl_bpf_helper_usable(BPF_PROG_TYPE_SOCK_OPS, 0,
				     BPF_FUNC_ringbuf_reserve);
	skel->rodata->sockops_read_owner =
		skel->rodata->sockops_on &&
		sl_bpf_helper_usable(BPF_PROG_TYPE_SOCK_OPS, 0,
				     BPF_FUNC_sk_storage_get);
	log_info("flow attribution: TCP sockets %s; owners at connect %s, at bind %s, read by sock_ops %s; pid and command %s",
		 skel->rodata->sockops_on ? "yes" : "no",
		 skel->rodata->sock_owner_at_connect ? "yes" : "no",
		 skel->rodata->sock_owner_at_bind ? "yes" : "no",
		 skel->rodata->sockops_read_owner ? "yes" : "no",
		 skel->rodata->sock_owner_task_at_connect ? "yes" :
							    "no (Linux 6.1+)");
}

/*
 * Open the embedded object and load it with maps reused from bpf_root.
 * @attribution false: every process-attribution switch off, the object
 * as the oldest kernel takes it.
 */
static int load(const char *bpf_root, bool attribution,
		struct sluice_bpf **out)
{
	struct sluice_bpf *skel;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	skel = sluice_bpf__open();
	if (!skel)
		return -errno ? -errno : -EINVAL;
	probe_sock_helpers(skel, attribution);

	/* Reuse maps already pinned (their contents survive a reload). */
	bpf_object__for_each_map(map, skel->obj) {
		snprintf(path, sizeof(path), "%s/%s", bpf_root,
			 bpf_map__name(map));
		/* .rodata holds this load's constants, never another
		 * load's (and bpffs refuses its dotted name anyway). */
		if (bpf_map__is_internal(map))
			continue;
		err = map == skel->maps.sl_ct ? size_ct(map, path) : 0;
		if (!err)
			err = drop_incompatible_pin(map, path);
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err < 0)
			goto out;
	}

	err = sluice_bpf__load(skel);
out:
	if (err < 0)
		sluice_bpf__destroy(skel);
	else
		*out = skel;
	return err;
}

int sl_datapath_load_and_pin(const char *bpf_root)
{
	struct sluice_bpf *skel = NULL;
	int err;

	err = sl_mkdir_p(bpf_root, 0700);
	if (err < 0) {
		log_error("cannot create bpfRoot %s: %s", bpf_root,
			  strerror(-err));
		return err;
	}
	err = load(bpf_root, true, &skel);
	/* Attribution is the newest code in the object, and the one part
	 * pods can do without: a kernel whose verifier refuses it still
	 * gets a datapath. */
	if (err < 0) {
		log_warn("loading the datapath object failed (%s); retrying without process attribution",
			 strerror(-err));
		err = load(bpf_root, false, &skel);
	}
	if (err < 0) {
		log_error("loading the datapath object failed: %s",
			  strerror(-err));
		return err;
	}
	err = write_info(skel);
	if (err < 0)
		goto out;
	/* sl_from_pod last: its pin is what marks the datapath complete. */
	err = pin_prog(skel->progs.sl_to_pod, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_from_netdev, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_to_netdev, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_from_overlay, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_to_overlay, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_connect4, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_sendmsg4, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_recvmsg4, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_getpeername4, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_post_bind4, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_sock_ops, bpf_root);
	if (!err)
		err = pin_prog(skel->progs.sl_from_pod, bpf_root);
	if (err < 0)
		log_error("pinning programs under %s failed: %s", bpf_root,
			  strerror(-err));
	else
		log_info("loaded and pinned the datapath under %s", bpf_root);
out:
	sluice_bpf__destroy(skel);
	return err;
}

int sl_datapath_open(struct sl_datapath *dp, const char *bpf_root,
		     const char *lock_path)
{
	int lock_fd, err;

	err = sl_datapath_open_pinned(dp, bpf_root);
	if (err != -ENOENT)
		return err;

	if (!sl_bpffs_at(bpf_root)) {
		log_error("bpfRoot %s is not on a bpffs mount", bpf_root);
		return -ENOTSUP;
	}
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	if (flock(lock_fd, LOCK_EX) < 0) {
		err = -errno;
		goto out;
	}
	/* Someone may have loaded it while we waited for the lock. */
	err = sl_datapath_open_pinned(dp, bpf_root);
	if (err == -ENOENT) {
		err = sl_datapath_load_and_pin(bpf_root);
		if (!err)
			err = sl_datapath_open_pinned(dp, bpf_root);
	}
out:
	close(lock_fd); /* releases the flock */
	return err;
}

unsigned int sl_prog_id(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return 0;
	return info.id;
}

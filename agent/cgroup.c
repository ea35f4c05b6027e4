// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The cgroup socket programs (cgroup.h), attached where every process
 * sits (the cgroup v2 root in production): Service load balancing for
 * host-network processes, and flow attribution for every process.
 *
 * A cgroup hook runs every program attached with BPF_F_ALLOW_MULTI, ours
 * and anyone else's, so the rules are strict:
 *   - attach each pinned program once: skip it when its id is already in
 *     the cgroup's list (an agent restart, or a second agent start);
 *   - detach only what we can prove is ours: an attachment we recorded in
 *     runDir (so this node's, never another node's sharing the machine),
 *     whose program still carries our name, and which is no longer the
 *     pinned one (a datapath upgrade, or a new --cgroup-root);
 *   - record before attaching, so an agent killed in between still finds
 *     its attachments at the next start;
 *   - never detach on exit: the datapath keeps serving without the agent.
 */
#include "agent.h"
#include "cgroup.h"
#include "fsutil.h"
#include "log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <sluice/config.h>
#include <sluice/pins.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

#define MAX_RECORDS 64
#define MAX_ATTACHED 64 /* BPF_CGROUP_MAX_PROGS: per cgroup and hook */

static const struct {
	const char *hook; /* in the record file */
	const char *name; /* the program's (and its pin's) name */
	enum bpf_attach_type type;
	bool observe;     /* flow attribution's, not load balancing's */
} progs[SL_SOCK_ALL_PROGS] = {
	{ "connect4", SL_PROG_SOCK_CONNECT4, BPF_CGROUP_INET4_CONNECT, false },
	{ "sendmsg4", SL_PROG_SOCK_SENDMSG4, BPF_CGROUP_UDP4_SENDMSG, false },
	{ "recvmsg4", SL_PROG_SOCK_RECVMSG4, BPF_CGROUP_UDP4_RECVMSG, false },
	{ "getpeername4", SL_PROG_SOCK_GETPEERNAME4,
	  BPF_CGROUP_INET4_GETPEERNAME, false },
	{ "post_bind4", SL_PROG_SOCK_POST_BIND4, BPF_CGROUP_INET4_POST_BIND,
	  true },
	{ "sock_ops", SL_PROG_SOCK_OPS, BPF_CGROUP_SOCK_OPS, true },
};

struct record {
	int prog; /* index in progs[] */
	unsigned int id;
	char path[PATH_MAX];
};

static int prog_fd(const struct sl_datapath *dp, int i)
{
	const int fds[SL_SOCK_ALL_PROGS] = {
		dp->sock_connect4_fd,     dp->sock_sendmsg4_fd,
		dp->sock_recvmsg4_fd,     dp->sock_getpeername4_fd,
		dp->sock_post_bind4_fd,   dp->sock_ops_fd,
	};

	return fds[i];
}

/* Where a program's kernel id is shown (the agent's status). */
static unsigned int *prog_id_slot(struct sl_sock_lb *s, int i)
{
	return progs[i].observe ? &s->observe_prog_ids[i - SL_SOCK_PROGS] :
				  &s->prog_ids[i];
}

static bool is_cgroup2(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

bool sl_cgroup_v2_mount(char *out)
{
	static const char *const candidates[] = { "/sys/fs/cgroup",
						  "/sys/fs/cgroup/unified" };

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]);
	     i++) {
		if (is_cgroup2(candidates[i])) {
			snprintf(out, PATH_MAX, "%s", candidates[i]);
			return true;
		}
	}
	return false;
}

/* 1 with the directory in out, 0 when off, -EINVAL for a bad flag. */
static int resolve_root(const char *flag, char *out)
{
	if (flag && !strcmp(flag, "none"))
		return 0;
	if (flag) {
		if (!is_cgroup2(flag) || !realpath(flag, out)) {
			log_error("--cgroup-root %s is not a cgroup v2 directory",
				  flag);
			return -EINVAL;
		}
		return 1;
	}
	if (sl_cgroup_v2_mount(out))
		return 1;
	log_warn("no cgroup v2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified: host-network processes cannot reach Services; ignoring (see --cgroup-root)");
	return 0;
}

/* The cookie of the network namespace we run in, or 0 when the kernel
 * cannot tell (before 5.14). */
static uint64_t netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0) {
		log_warn("cannot read this network namespace's cookie (%s, Linux 5.14+): socket programs act in every namespace of the cgroup",
			 strerror(errno));
		cookie = 0;
	}
	if (fd >= 0)
		close(fd);
	return cookie;
}

static int write_config(int fd, uint64_t cookie)
{
	struct sl_config cfg = {};
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg) < 0)
		return -errno;
	cfg.netns_cookie = cookie;
	return bpf_map_update_elem(fd, &key, &cfg, BPF_ANY) < 0 ? -errno : 0;
}

/* Is program id attached directly to the cgroup at this hook? */
static int is_attached(int cg_fd, enum bpf_attach_type type, unsigned int id)
{
	__u32 ids[MAX_ATTACHED], n = MAX_ATTACHED, flags = 0;

	if (bpf_prog_query(cg_fd, type, 0, &flags, ids, &n) < 0)
		return -errno;
	for (__u32 i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/* The program with this id still carries our name (the kernel keeps 15
 * characters of it): ids are not reused for a long time, names make it
 * certain. Returns its fd, or -1. */
static int our_prog_by_id(unsigned int id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	size_t want = strlen(name);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (want > sizeof(info.name) - 1)
		want = sizeof(info.name) - 1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
	    strlen(info.name) != want || strncmp(info.name, name, want)) {
		close(fd);
		return -1;
	}
	return fd;
}

static size_t read_records(const char *run_dir, struct record *recs)
{
	char path[PATH_MAX + 32], *buf = NULL, *line, *save = NULL;
	size_t n = 0, len;

	snprintf(path, sizeof(path), "%s/%s", run_dir, SL_CGROUP_RECORD);
	if (sl_read_file(path, 1 << 20, &buf, &len) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line && n < MAX_RECORDS;
	     line = strtok_r(NULL, "\n", &save)) {
		char hook[16];
		int off = 0;

		if (sscanf(line, "%15s %u %n", hook, &recs[n].id, &off) != 2 ||
		    !off || line[off] != '/')
			continue;
		for (int i = 0; i < SL_SOCK_ALL_PROGS; i++) {
			if (strcmp(hook, progs[i].hook))
				continue;
			recs[n].prog = i;
			snprintf(recs[n].path, sizeof(recs[n].path), "%s",
				 line + off);
			n++;
			break;
		}
	}
	free(buf);
	return n;
}

static int write_records(const char *run_dir, const struct record *recs,
			 size_t n)
{
	char path[PATH_MAX + 32], *buf;
	size_t len = 0, cap = n * (PATH_MAX + 32) + 1;
	int err;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s %u %s\n",
					progs[recs[i].prog].hook, recs[i].id,
					recs[i].path);
	snprintf(path, sizeof(path), "%s/%s", run_dir, SL_CGROUP_RECORD);
	err = sl_write_file_atomic(path, buf, len, 0600);
	free(buf);
	return err;
}

static bool same_record(const struct record *a, const struct record *b)
{
	return a->prog == b->prog && a->id == b->id && !strcmp(a->path, b->path);
}

/*
 * Detach an attachment we recorded. Returns 1 when detached, 0 when it is
 * gone already or no longer ours to touch (forget it), -errno to retry at
 * the next start.
 */
static int detach_record(const struct record *r)
{
	int cg_fd, fd, ret;

	cg_fd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return errno == ENOENT ? 0 : -errno; /* the cgroup went */
	ret = is_attached(cg_fd, progs[r->prog].type, r->id);
	if (ret <= 0)
		goto out;
	fd = our_prog_by_id(r->id, progs[r->prog].name);
	if (fd < 0) {
		ret = 0;
		goto out;
	}
	ret = bpf_prog_detach2(fd, cg_fd, progs[r->prog].type) < 0 ? -errno : 1;
	close(fd);
out:
	close(cg_fd);
	return ret;
}

/*
 * Attach the current programs at s->cgroup. Returns 0 when the load
 * balancing ones all are (a failure is in s->error); s->observing says
 * whether the attribution ones are.
 */
static int attach_all(struct sl_agent *a, const struct record *cur,
		      size_t n_cur)
{
	struct sl_sock_lb *s = &a->sock_lb;
	int cg_fd, err = 0, observe = 0;

	cg_fd = open(s->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0)
		return -errno;
	for (size_t n = 0; n < n_cur; n++) {
		int i = cur[n].prog;
		int ret = is_attached(cg_fd, progs[i].type, cur[n].id);

		if (ret == 0 && bpf_prog_attach(prog_fd(&a->dp, i), cg_fd,
						progs[i].type,
						BPF_F_ALLOW_MULTI) < 0)
			ret = -errno;
		if (ret < 0 && progs[i].observe) {
			log_warn("attaching %s to %s: %s; ignoring, flows go without processes",
				 progs[i].name, s->cgroup, strerror(-ret));
			continue;
		}
		if (ret < 0) {
			snprintf(s->error, sizeof(s->error),
				 "attaching %s to %s: %s", progs[i].name,
				 s->cgroup, strerror(-ret));
			log_error("%s", s->error);
			err = err ? err : ret;
			continue;
		}
		if (ret == 0)
			log_debug("attached %s (id %u) to %s", progs[i].name,
				  cur[n].id, s->cgroup);
		observe += progs[i].observe;
	}
	s->observing = observe == SL_SOCK_OBSERVE_PROGS;
	close(cg_fd);
	return err;
}

/*
 * The pinned programs to attach, into cur; their number, or 0 when the
 * pinned datapath has no load balancing programs (an older one lacking
 * only the attribution programs still serves Services).
 */
static size_t current_progs(struct sl_agent *a, struct record *cur)
{
	struct sl_sock_lb *s = &a->sock_lb;
	size_t n = 0;

	for (int i = 0; i < SL_SOCK_ALL_PROGS; i++) {
		if (prog_fd(&a->dp, i) < 0 && progs[i].observe) {
			log_warn("the datapath under %s has no %s: flows go without processes",
				 a->bpf_root, progs[i].name);
			continue;
		}
		if (prog_fd(&a->dp, i) < 0 || a->dp.config_fd < 0) {
			snprintf(s->error, sizeof(s->error),
				 "the datapath under %s has no socket programs",
				 a->bpf_root);
			log_error("%s; host-network processes cannot reach Services",
				  s->error);
			return 0;
		}
		cur[n].prog = i;
		cur[n].id = sl_prog_id(prog_fd(&a->dp, i));
		snprintf(cur[n].path, sizeof(cur[n].path), "%s", s->cgroup);
		*prog_id_slot(s, i) = cur[n].id;
		n++;
	}
	return n;
}

int sl_cgroup_attach(struct sl_agent *a)
{
	struct record *old, cur[SL_SOCK_ALL_PROGS], *keep;
	struct sl_sock_lb *s = &a->sock_lb;
	size_t n_old, n_cur = 0, n_keep = 0;
	int on, err = 0;

	memset(s, 0, sizeof(*s));
	on = resolve_root(a->cgroup_root, s->cgroup);
	if (on < 0)
		return on;
	if (!on)
		s->cgroup[0] = '\0';
	old = calloc(MAX_RECORDS, sizeof(*old));
	keep = calloc(MAX_RECORDS + SL_SOCK_ALL_PROGS, sizeof(*keep));
	if (!old || !keep) {
		err = -ENOMEM;
		goto out;
	}
	n_old = read_records(a->run_dir, old);

	if (on) {
		n_cur = current_progs(a, cur);
		if (!n_cur)
			goto out; /* and leave older attachments be */
		/* Before any program is attached: a program attached with a
		 * cookie of 0 acts in every namespace, other nodes' too. */
		s->netns_cookie = netns_cookie();
		err = write_config(a->dp.config_fd, s->netns_cookie);
		if (err < 0) {
			snprintf(s->error, sizeof(s->error),
				 "writing sl_config: %s", strerror(-err));
			log_error("%s", s->error);
			goto out;
		}
		/* Record first: attached and then killed, we must still know
		 * these are ours. */
		memcpy(keep, old, n_old * sizeof(*old));
		memcpy(keep + n_old, cur, n_cur * sizeof(*cur));
		err = write_records(a->run_dir, keep, n_old + n_cur);
		if (!err)
			err = attach_all(a, cur, n_cur);
		if (err < 0) {
			if (!s->error[0])
				snprintf(s->error, sizeof(s->error), "%s: %s",
					 s->cgroup, strerror(-err));
			log_error("socket load balancing not attached: %s; keeping older attachments",
				  s->error);
			goto out;
		}
		s->attached = true;
		s->econnrefused = sl_bpf_helper_usable(
			BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
			BPF_CGROUP_INET4_CONNECT, BPF_FUNC_set_retval);
		memcpy(keep, cur, n_cur * sizeof(*cur));
		n_keep = n_cur;
	}

	/* Older attachments of ours, once the current ones serve (or all of
	 * them when switched off). */
	for (size_t i = 0; i < n_old; i++) {
		bool current = false;
		int ret;

		for (size_t j = 0; j < n_keep && !current; j++)
			current = same_record(&old[i], &keep[j]);
		if (current)
			continue;
		ret = detach_record(&old[i]);
		if (ret > 0) {
			if (progs[old[i].prog].observe)
				s->observe_detached++;
			else
				s->detached++;
			log_info("detached %s (id %u, an older datapath's) from %s",
				 progs[old[i].prog].name, old[i].id,
				 old[i].path);
		} else if (ret < 0) {
			log_warn("detaching %s (id %u) from %s: %s; retrying at the next start",
				 progs[old[i].prog].name, old[i].id,
				 old[i].path, strerror(-ret));
			keep[n_keep++] = old[i];
		}
	}
	err = write_records(a->run_dir, keep, n_keep);
	if (err < 0)
		log_warn("recording the cgroup attachments in %s: %s", a->run_dir,
			 strerror(-err));
	if (s->attached)
		log_info("socket load balancing attached to %s (netns cookie %llu, refusals %s); flow attribution %s",
			 s->cgroup, (unsigned long long)s->netns_cookie,
			 s->econnrefused ? "ECONNREFUSED" : "EPERM",
			 s->observing ? "on" : "off");
	else if (!on && !s->error[0])
		log_info("socket load balancing off: host-network processes do not reach Services; flows go without processes");
out:
	free(old);
	free(keep);
	return 0;
}

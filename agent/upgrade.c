// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Datapath upgrades. The agent carries the datapath object of its own
 * build; when the pinned one is another (an older node image, a rolling
 * update of the DaemonSet), it loads its own, keeps every map whose layout
 * did not change (so conntrack, endpoints and counters survive), and
 * re-attaches every pod's veth to the new programs in place: tc replaces a
 * filter atomically, so no packet meets a veth without a program.
 */
#include "agent.h"
#include "log.h"
#include "store.h"
#include "tc.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sluice/pins.h>

int sl_agent_upgrade_datapath(struct sl_agent *a)
{
	uint64_t want = sl_datapath_embedded_hash();
	struct sl_ep_desired *eps = NULL;
	struct sl_info info = {};
	char lock[PATH_MAX + 32];
	size_t n = 0, moved = 0;
	int lock_fd, err;

	err = sl_datapath_pinned_info(a->bpf_root, &info);
	if (err == 0 && info.object_hash == want &&
	    info.layout_version == SL_MAP_LAYOUT_VERSION)
		return 0;
	log_info("pinned datapath %016llx (layout %u) is not ours (%016llx, layout %u): upgrading",
		 (unsigned long long)info.object_hash, info.layout_version,
		 (unsigned long long)want, SL_MAP_LAYOUT_VERSION);

	/* The plugin loads under the same lock: no ADD sees half of it. */
	snprintf(lock, sizeof(lock), "%s/datapath.lock", a->run_dir);
	lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return -errno;
	if (flock(lock_fd, LOCK_EX) < 0) {
		err = -errno;
		goto out;
	}
	err = sl_datapath_load_and_pin(a->bpf_root);
	if (err < 0)
		goto out;
	sl_datapath_close(&a->dp);
	err = sl_datapath_open_pinned(&a->dp, a->bpf_root);
	if (err < 0)
		goto out;

	err = sl_endpoints_read_records(a->run_dir, &eps, &n);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char name[IF_NAMESIZE];
		int ret;

		if (!if_indextoname(eps[i].ep.ifindex, name))
			continue; /* its DEL is on the way */
		ret = sl_tc_attach((int)eps[i].ep.ifindex, a->dp.from_pod_fd,
				   a->dp.to_pod_fd);
		if (ret < 0) {
			log_error("re-attaching %s (%s/%s) failed: %s", name,
				  eps[i].ns, eps[i].name, strerror(-ret));
			err = ret;
			continue;
		}
		moved++;
	}
	log_info("datapath upgraded; %zu of %zu pod veths re-attached", moved, n);
out:
	free(eps);
	close(lock_fd); /* releases the lock */
	return err;
}

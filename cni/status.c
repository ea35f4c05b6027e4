// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * STATUS and VERSION. STATUS fails only when an ADD could not succeed: a
 * failing STATUS marks the node NotReady, so a false alarm costs a node.
 */
#include "plugin.h"
#include "datapath.h"
#include "log.h"

#include <errno.h>
#include <string.h>

static int count_cb(const struct sl_ep_record *rec, void *ctx)
{
	(void)rec;
	(*(int *)ctx)++;
	return 0;
}

int sl_cmd_status(const struct sl_conf *conf, struct sl_err *err)
{
	struct sl_datapath dp = SL_DATAPATH_INIT;
	struct sl_store store = { .lock_fd = -1 };
	struct sl_ipv4_net pool;
	uint64_t used = 0, size = 0;
	int endpoints = 0, ret;

	if (sl_resolve_pod_cidr(conf, &pool) < 0)
		return sl_errf(err, CNI_ERR_NOT_AVAILABLE, "no pod CIDR",
			       "podCIDR is not configured and the agent has not written %s/node.json",
			       conf->run_dir);

	ret = sl_datapath_open_pinned(&dp, conf->bpf_root);
	sl_datapath_close(&dp);

	if (sl_store_open(&store, conf->run_dir, false) == 0) {
		sl_store_usage(&store, &pool, &used, &size);
		sl_store_foreach(&store, count_cb, &endpoints);
	}
	sl_store_close(&store);

	if (ret < 0 && endpoints > 0)
		return sl_errf(err, CNI_ERR_NOT_AVAILABLE_LIMITED,
			       "datapath missing",
			       "%d pods are attached but no datapath is pinned under %s",
			       endpoints, conf->bpf_root);
	if (ret < 0 && !sl_bpffs_at(conf->bpf_root))
		return sl_errf(err, CNI_ERR_NOT_AVAILABLE, "bpffs missing",
			       "bpfRoot %s is not on a bpffs mount",
			       conf->bpf_root);
	if (size && used >= size)
		return sl_errf(err, CNI_ERR_NOT_AVAILABLE, "pod CIDR exhausted",
			       "all %llu addresses are allocated",
			       (unsigned long long)size);
	return 0;
}

json_object *sl_cmd_version(const char *requested)
{
	json_object *o = json_object_new_object();
	json_object *list = json_object_new_array();

	json_object_object_add(o, "cniVersion",
			       json_object_new_string(requested));
	for (int i = 0; i < CNI_V_COUNT; i++)
		json_object_array_add(list,
				      json_object_new_string(cni_version_names[i]));
	json_object_object_add(o, "supportedVersions", list);
	return o;
}

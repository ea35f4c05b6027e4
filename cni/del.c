// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DEL and GC: undo attachments. DEL succeeds whatever is already gone
 * (netns, interface, record), and works from the deterministic host veth
 * name when no record is left.
 */
#include "plugin.h"
#include "log.h"

#include <errno.h>
#include <string.h>

int sl_cmd_del(const struct sl_env *env, const struct sl_conf *conf,
	       struct sl_err *err)
{
	struct sl_store store = { .lock_fd = -1 };
	struct sl_ep_record rec = {};
	bool known;
	int ret;

	ret = sl_store_open(&store, conf->run_dir, false);
	if (ret == 0)
		ret = sl_store_find(&store, env->container_id, env->ifname,
				    &rec);
	if (ret < 0 && ret != -ENOENT) {
		sl_store_close(&store);
		return sl_errf(err, SL_ERR_STORE, "endpoint store unavailable",
			       "%s/endpoints: %s", conf->run_dir,
			       strerror(-ret));
	}
	known = ret == 0;
	if (!known) {
		/* No record: nothing allocated, but a veth may remain. */
		snprintf(rec.container_id, sizeof(rec.container_id), "%s",
			 env->container_id);
		snprintf(rec.ifname, sizeof(rec.ifname), "%s", env->ifname);
	}
	ret = sl_endpoint_teardown(conf, &store, &rec);
	sl_store_close(&store);
	if (ret < 0)
		return sl_errf(err, SL_ERR_NETLINK, "DEL failed", "%s",
			       strerror(-ret));
	if (known)
		log_info("deleted %s/%s (%s)", rec.pod.namespace, rec.pod.name,
			 rec.host_veth);
	else
		log_info("nothing recorded for this attachment; leftovers removed");
	return 0;
}

struct gc_ctx {
	json_object *valid;
	const struct sl_conf *conf;
	struct sl_store *store;
	int removed, failed;
};

static bool is_valid(json_object *valid, const struct sl_ep_record *rec)
{
	size_t n = json_object_array_length(valid);

	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(valid, i), *id, *ifn;

		if (json_object_object_get_ex(a, "containerID", &id) &&
		    json_object_object_get_ex(a, "ifname", &ifn) &&
		    !strcmp(json_object_get_string(id), rec->container_id) &&
		    !strcmp(json_object_get_string(ifn), rec->ifname))
			return true;
	}
	return false;
}

static int gc_one(const struct sl_ep_record *rec, void *data)
{
	struct gc_ctx *ctx = data;

	if (is_valid(ctx->valid, rec))
		return 0;
	/* Keep going on errors; GC reports them at the end. */
	if (sl_endpoint_teardown(ctx->conf, ctx->store, rec) < 0) {
		ctx->failed++;
	} else {
		log_info("gc: removed %s/%s (container %s, %s)",
			 rec->pod.namespace, rec->pod.name, rec->container_id,
			 rec->ifname);
		ctx->removed++;
	}
	return 0;
}

int sl_cmd_gc(const struct sl_conf *conf, struct sl_err *err)
{
	struct sl_store store = { .lock_fd = -1 };
	struct gc_ctx ctx = { .valid = conf->valid_attachments, .conf = conf,
			      .store = &store };
	int ret;

	if (!ctx.valid) {
		/* Absent is not "none valid": removing everything on a
		 * malformed request would cut every pod off. */
		log_warn("gc: no cni.dev/valid-attachments, ignoring");
		return 0;
	}
	ret = sl_store_open(&store, conf->run_dir, false);
	if (ret == 0)
		ret = sl_store_foreach(&store, gc_one, &ctx);
	sl_store_close(&store);
	if (ret < 0 && ret != -ENOENT)
		return sl_errf(err, SL_ERR_STORE, "endpoint store unavailable",
			       "%s/endpoints: %s", conf->run_dir,
			       strerror(-ret));
	if (ctx.failed)
		return sl_errf(err, SL_ERR_NETLINK, "GC incomplete",
			       "%d stale attachments could not be removed (%d removed)",
			       ctx.failed, ctx.removed);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "ipcache.h"
#include "ipv4.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct want {
	uint32_t ip;
	struct sl_ipcache_val v;
};

struct wants {
	struct want *items;
	size_t n, cap;
};

static int push(struct wants *w, uint32_t ip, const struct sl_ipcache_val *v)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct want *items = realloc(w->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		w->items = items;
		w->cap = cap;
	}
	w->items[w->n].ip = ip;
	w->items[w->n++].v = *v;
	return 0;
}

static int cmp_want(const void *a, const void *b)
{
	uint32_t x = ((const struct want *)a)->ip, y = ((const struct want *)b)->ip;

	return x < y ? -1 : x > y;
}

/* Pods and nodes as (address -> value), sorted, one entry per address. */
static int desired(struct sl_model *m, const char *self, struct wants *w)
{
	const char *key;
	void *val;
	int err = 0;

	for (size_t i = 0; !err && sl_table_next(&m->objects[SL_KIND_NODE], &i,
						 &key, &val);) {
		const struct sl_node *n = &((struct sl_model_obj *)val)->obj.node;
		struct sl_ipcache_val v = { .node_ip = htonl(n->internal_ip) };

		if (!n->internal_ip)
			continue;
		v.identity = strcmp(n->name, self) ? SL_ID_REMOTE_NODE : SL_ID_HOST;
		v.flags = strcmp(n->name, self) ? 0 : SL_IPC_F_LOCAL;
		err = push(w, n->internal_ip, &v);
	}
	for (size_t i = 0; !err && sl_table_next(&m->objects[SL_KIND_POD], &i,
						 &key, &val);) {
		const struct sl_pod *p = &((struct sl_model_obj *)val)->obj.pod;
		const struct sl_object *node;
		const struct sl_identity *id;
		struct sl_ipcache_val v = {};

		/* Host-network pods share their node's address. */
		if (!p->ip || p->host_network)
			continue;
		id = sl_model_pod_identity(m, p);
		if (!id)
			return -ENOMEM;
		v.identity = id->id;
		node = p->node[0] ? sl_model_get(m, SL_KIND_NODE, p->node) : NULL;
		if (node)
			v.node_ip = htonl(node->node.internal_ip);
		if (!strcmp(p->node, self))
			v.flags = SL_IPC_F_LOCAL;
		err = push(w, p->ip, &v);
	}
	if (err)
		return err;
	qsort(w->items, w->n, sizeof(*w->items), cmp_want);
	/* Two objects claiming one address: keep the first, say so. */
	for (size_t i = 1; i < w->n; i++)
		if (w->items[i].ip == w->items[i - 1].ip) {
			char ip[16];

			sl_ip4_to_str(w->items[i].ip, ip);
			log_warn("ipcache: %s is claimed twice; keeping identity %u",
				 ip, w->items[i - 1].v.identity);
			memmove(&w->items[i], &w->items[i + 1],
				(w->n - i - 1) * sizeof(*w->items));
			w->n--;
			i--;
		}
	return 0;
}

static int collect(uint32_t ip, const struct sl_ipcache_val *v, void *arg)
{
	return push(arg, ip, v);
}

int sl_ipcache_sync(const struct sl_ipc_backend *be, struct sl_model *model,
		    const char *self, struct sl_ipc_stats *stats)
{
	struct wants w = {}, cur = {};
	int err;

	memset(stats, 0, sizeof(*stats));
	err = desired(model, self, &w);
	if (!err)
		err = be->dump(be->ctx, collect, &cur);
	if (err)
		goto out;
	qsort(cur.items, cur.n, sizeof(*cur.items), cmp_want);
	/* New and changed entries first, then the stale ones go. */
	for (size_t i = 0; i < w.n; i++) {
		struct want *have = bsearch(&w.items[i], cur.items, cur.n,
					    sizeof(*cur.items), cmp_want);

		if (have && !memcmp(&have->v, &w.items[i].v, sizeof(have->v)))
			continue;
		err = be->update(be->ctx, w.items[i].ip, &w.items[i].v);
		if (err < 0)
			goto out;
		stats->updated++;
	}
	for (size_t i = 0; i < cur.n; i++) {
		if (bsearch(&cur.items[i], w.items, w.n, sizeof(*w.items),
			    cmp_want))
			continue;
		err = be->remove(be->ctx, cur.items[i].ip);
		if (err < 0 && err != -ENOENT)
			goto out;
		stats->removed++;
	}
	stats->entries = (unsigned int)w.n;
	if (stats->updated || stats->removed)
		log_debug("ipcache: %u entries, %u written, %u removed",
			  stats->entries, stats->updated, stats->removed);
	err = 0;
out:
	free(cur.items);
	free(w.items);
	return err;
}

/* --- the pinned LPM trie ----------------------------------------------------- */

static struct sl_ipcache_key host_key(uint32_t ip)
{
	return (struct sl_ipcache_key){ .prefixlen = 32, .ip4 = htonl(ip) };
}

static int bpf_dump(void *ctx,
		    int (*cb)(uint32_t, const struct sl_ipcache_val *, void *),
		    void *arg)
{
	int fd = *(int *)ctx;
	struct sl_ipcache_key key, next;
	struct sl_ipcache_val v;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		/* Only host entries are ours; CIDR entries come later. */
		if (key.prefixlen != 32 || bpf_map_lookup_elem(fd, &key, &v) < 0)
			continue;
		ret = cb(ntohl(key.ip4), &v, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int bpf_update(void *ctx, uint32_t ip, const struct sl_ipcache_val *v)
{
	struct sl_ipcache_key k = host_key(ip);

	return bpf_map_update_elem(*(int *)ctx, &k, v, BPF_ANY) < 0 ? -errno : 0;
}

static int bpf_remove(void *ctx, uint32_t ip)
{
	struct sl_ipcache_key k = host_key(ip);

	return bpf_map_delete_elem(*(int *)ctx, &k) < 0 ? -errno : 0;
}

void sl_ipc_backend_bpf(struct sl_ipc_backend *be, int *map_fd)
{
	be->dump = bpf_dump;
	be->update = bpf_update;
	be->remove = bpf_remove;
	be->ctx = map_fd;
}

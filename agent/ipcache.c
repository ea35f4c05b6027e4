// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "ipcache.h"
#include "bpfmap.h"
#include "ipv4.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wants {
	struct sl_ipc_entry *items;
	size_t n, cap;
};

static int push(struct wants *w, uint32_t ip, const struct sl_ipcache_val *v)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct sl_ipc_entry *items;

		items = realloc(w->items, cap * sizeof(*items));

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
	uint32_t x = ((const struct sl_ipc_entry *)a)->ip;
	uint32_t y = ((const struct sl_ipc_entry *)b)->ip;

	return x < y ? -1 : x > y;
}

/* This node's pods where the plugin attached them (their records): in the
 * ipcache from ADD on, so other pods' policies naming a new pod apply to it
 * before the kubelet reports its status.podIP. Sorted. */
static int attached(struct sl_model *m, const char *self, struct wants *w)
{
	const struct sl_object *node = sl_model_get(m, SL_KIND_NODE, self);
	int err = 0;

	for (size_t i = 0; !err && i < m->n_local; i++) {
		const struct sl_local_addr *la = &m->local[i];
		const struct sl_identity *id = sl_model_identity(m, la->pod);
		struct sl_ipcache_val v = { .flags = SL_IPC_F_LOCAL };

		if (!id || !sl_model_local_pod(m, la->pod, self))
			continue;
		v.identity = id->id;
		if (node)
			v.node_ip = htonl(node->node.internal_ip);
		err = push(w, la->ip, &v);
	}
	if (!err && w->n)
		qsort(w->items, w->n, sizeof(*w->items), cmp_want);
	return err;
}

/* Pods and nodes as (address -> value), sorted, one entry per address. */
static int desired(struct sl_model *m, const char *self, struct wants *w)
{
	const struct sl_local_addr *la;
	const char *key;
	size_t n_attached;
	void *val;
	int err;

	/* First: an address a record holds is that pod's, whatever a stale
	 * status.podIP of another pod says. */
	err = attached(m, self, w);
	n_attached = w->n;
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
		const struct sl_model_obj *mo = val;
		const struct sl_pod *p = &mo->obj.pod;
		const struct sl_object *node;
		struct sl_ipcache_val v = {};
		struct sl_ipc_entry probe = { .ip = p->ip };

		/* Host-network pods share their node's address. */
		if (!p->ip || p->host_network || !mo->identity)
			continue;
		/* A local pod with records is where they say (above). */
		if (sl_model_local_pod(m, key, self) &&
		    sl_model_local_addrs(m, key, &la))
			continue;
		if (n_attached && bsearch(&probe, w->items, n_attached,
					  sizeof(*w->items), cmp_want))
			continue;
		v.identity = mo->identity->id;
		node = p->node[0] ? sl_model_get(m, SL_KIND_NODE, p->node) : NULL;
		if (node)
			v.node_ip = htonl(node->node.internal_ip);
		if (!strcmp(p->node, self))
			v.flags = SL_IPC_F_LOCAL;
		err = push(w, p->ip, &v);
	}
	if (err)
		return err;
	if (w->n)
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
		    const char *self, struct sl_ipc_state *st)
{
	struct sl_ipc_stats *stats = &st->last;
	struct wants w = {}, dumped = {}, writes = {}, stale = {};
	const struct sl_ipc_entry *cur;
	size_t ncur, i = 0, j = 0;
	int err;

	memset(stats, 0, sizeof(*stats));
	err = desired(model, self, &w);
	if (err)
		goto out;
	/* The map is read back only when we cannot vouch for it: at start
	 * and after a failed write or a periodic resync. Otherwise it holds
	 * what the last sync wrote, and a change costs no syscall per entry. */
	if (!st->valid) {
		err = be->dump(be->ctx, collect, &dumped);
		if (err)
			goto out;
		if (dumped.n) /* qsort(NULL, 0) is undefined */
			qsort(dumped.items, dumped.n, sizeof(*dumped.items),
			      cmp_want);
		cur = dumped.items;
		ncur = dumped.n;
	} else {
		cur = st->mirror;
		ncur = st->n;
	}
	st->valid = false; /* until this sync completes */
	/* New and changed entries are written first, then the stale ones
	 * go; each as one batch. A merge of two sorted lists finds them. */
	for (i = 0, j = 0; i < w.n; i++) {
		while (j < ncur && cur[j].ip < w.items[i].ip)
			j++;
		if (j < ncur && cur[j].ip == w.items[i].ip &&
		    !memcmp(&cur[j].v, &w.items[i].v, sizeof(cur[j].v)))
			continue;
		err = push(&writes, w.items[i].ip, &w.items[i].v);
		if (err)
			goto out;
	}
	for (i = 0, j = 0; j < ncur; j++) {
		while (i < w.n && w.items[i].ip < cur[j].ip)
			i++;
		if (i < w.n && w.items[i].ip == cur[j].ip)
			continue;
		err = push(&stale, cur[j].ip, &cur[j].v);
		if (err)
			goto out;
	}
	if (writes.n && (err = be->write(be->ctx, writes.items, writes.n)) < 0)
		goto out;
	if (stale.n && (err = be->remove(be->ctx, stale.items, stale.n)) < 0)
		goto out;
	stats->updated = (unsigned int)writes.n;
	stats->removed = (unsigned int)stale.n;
	stats->entries = (unsigned int)w.n;
	if (stats->updated || stats->removed)
		log_debug("ipcache: %u entries, %u written, %u removed",
			  stats->entries, stats->updated, stats->removed);
	free(st->mirror);
	st->mirror = w.items;
	st->n = w.n;
	st->valid = true;
	w.items = NULL;
	err = 0;
out:
	free(writes.items);
	free(stale.items);
	free(dumped.items);
	free(w.items);
	return err;
}

void sl_ipc_state_invalidate(struct sl_ipc_state *st)
{
	st->valid = false;
}

void sl_ipc_state_free(struct sl_ipc_state *st)
{
	free(st->mirror);
	memset(st, 0, sizeof(*st));
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

/* Batches of keys and values as the map has them. */
#define IPC_BATCH 1024

static int bpf_write(void *ctx, const struct sl_ipc_entry *e, size_t n)
{
	struct sl_ipcache_key keys[IPC_BATCH];
	struct sl_ipcache_val vals[IPC_BATCH];

	for (size_t i = 0; i < n; i += IPC_BATCH) {
		size_t m = n - i < IPC_BATCH ? n - i : IPC_BATCH;
		int err;

		for (size_t j = 0; j < m; j++) {
			keys[j] = host_key(e[i + j].ip);
			vals[j] = e[i + j].v;
		}
		err = sl_map_update_many(*(int *)ctx, keys, vals, m,
					 sizeof(*keys), sizeof(*vals), NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

static int bpf_remove(void *ctx, const struct sl_ipc_entry *e, size_t n)
{
	struct sl_ipcache_key keys[IPC_BATCH];

	for (size_t i = 0; i < n; i += IPC_BATCH) {
		size_t m = n - i < IPC_BATCH ? n - i : IPC_BATCH;
		int err;

		for (size_t j = 0; j < m; j++)
			keys[j] = host_key(e[i + j].ip);
		err = sl_map_delete_many(*(int *)ctx, keys, m, sizeof(*keys));
		if (err < 0)
			return err;
	}
	return 0;
}

void sl_ipc_backend_bpf(struct sl_ipc_backend *be, int *map_fd)
{
	be->dump = bpf_dump;
	be->write = bpf_write;
	be->remove = bpf_remove;
	be->ctx = map_fd;
}

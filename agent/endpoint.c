// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "endpoint.h"
#include "log.h"
#include "policy_sync.h"
#include "store.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct current {
	uint32_t *ips;
	size_t n, cap;
};

static int collect(uint32_t ip, const struct sl_endpoint *ep, void *arg)
{
	struct current *cur = arg;

	(void)ep;
	if (cur->n == cur->cap) {
		size_t cap = cur->cap ? cur->cap * 2 : 64;
		uint32_t *ips = realloc(cur->ips, cap * sizeof(*ips));

		if (!ips)
			return -ENOMEM;
		cur->ips = ips;
		cur->cap = cap;
	}
	cur->ips[cur->n++] = ip;
	return 0;
}

static int cmp_desired(const void *a, const void *b)
{
	uint32_t x = ((const struct sl_ep_desired *)a)->ip;
	uint32_t y = ((const struct sl_ep_desired *)b)->ip;

	return x < y ? -1 : x > y;
}

/* A record's pod as the model keys it: "ns/name" (each under 254 bytes). */
#define POD_KEY_LEN 512

static void pod_key(const struct sl_ep_desired *d, char key[POD_KEY_LEN])
{
	snprintf(key, POD_KEY_LEN, "%s/%s", d->ns, d->name);
}

static void assign_identity(struct sl_model *model, struct sl_ep_desired *d,
			    const char *key, struct sl_ep_stats *stats)
{
	const struct sl_identity *id;

	/* Not (yet) in the source: forwarding works, identity unknown. */
	if (!sl_model_get(model, SL_KIND_POD, key)) {
		stats->unknown_pods++;
		return;
	}
	id = sl_model_identity(model, key);
	if (id)
		d->ep.identity = id->id;
}

int sl_endpoints_publish(struct sl_model *model,
			 const struct sl_ep_desired *want, size_t n)
{
	struct sl_local_addr *v = calloc(n ? n : 1, sizeof(*v));
	char (*keys)[POD_KEY_LEN] = calloc(n ? n : 1, sizeof(*keys));
	int err = -ENOMEM;
	size_t k = 0;

	if (v && keys) {
		for (size_t i = 0; i < n; i++) {
			if (want[i].attaching)
				continue;
			pod_key(&want[i], keys[k]);
			v[k].pod = keys[k];
			v[k++].ip = want[i].ip;
		}
		err = sl_model_set_local_addrs(model, v, k);
	}
	free(v);
	free(keys);
	return err < 0 ? err : 0;
}

void sl_endpoints_assign_isolation(struct sl_ep_desired *want, size_t n,
				   const struct sl_pol_state *pol)
{
	const uint32_t bits = SL_EP_F_INGRESS_ISOLATED |
			      SL_EP_F_EGRESS_ISOLATED | SL_EP_F_PENDING;
	char key[POD_KEY_LEN];

	for (size_t i = 0; i < n; i++) {
		pod_key(&want[i], key);
		want[i].ep.flags = (want[i].ep.flags & ~bits) |
				   sl_policy_sync_flags(pol, want[i].ip, key);
	}
}

static const char *isolation_str(uint32_t flags)
{
	if (flags & SL_EP_F_PENDING)
		return ", pending: its Pod is not known yet and a NetworkPolicy of its namespace may select it, so nothing passes in or out until it is";
	switch (flags & (SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED)) {
	case SL_EP_F_INGRESS_ISOLATED:
		return ", isolated for ingress";
	case SL_EP_F_EGRESS_ISOLATED:
		return ", isolated for egress";
	case SL_EP_F_INGRESS_ISOLATED | SL_EP_F_EGRESS_ISOLATED:
		return ", isolated for ingress and egress";
	}
	return "";
}

static void log_endpoint(const struct sl_ep_desired *d, const char *what)
{
	char ip[16];

	sl_ip4_to_str(d->ip, ip);
	log_info("endpoint %s (%s/%s): %s, identity %u%s", ip, d->ns, d->name,
		 what, d->ep.identity, isolation_str(d->ep.flags));
}

/* Is this the first sync to see the record of key at ip? */
static bool first_seen(const struct sl_model *model, const char *key,
		       uint32_t ip)
{
	const struct sl_local_addr *la;
	size_t n = sl_model_local_addrs(model, key, &la);

	for (size_t i = 0; i < n; i++)
		if (la[i].ip == ip)
			return la[i].fresh;
	return false;
}

int sl_endpoints_sync(const struct sl_ep_backend *be, struct sl_model *model,
		      struct sl_ep_desired *want, size_t n,
		      struct sl_ep_stats *stats)
{
	struct current cur = {};
	char ipstr[16];
	int err;

	memset(stats, 0, sizeof(*stats));
	err = be->dump(be->ctx, collect, &cur);
	if (err < 0)
		goto out;

	if (n) /* want may be NULL: no records */
		qsort(want, n, sizeof(*want), cmp_desired);
	for (size_t i = 0; i < n; i++) {
		bool pending = want[i].ep.flags & SL_EP_F_PENDING;
		char key[POD_KEY_LEN];
		struct sl_endpoint ep;
		bool found;

		if (want[i].attaching)
			continue;
		pod_key(&want[i], key);
		assign_identity(model, &want[i], key, stats);
		stats->pending += pending;
		found = be->lookup(be->ctx, want[i].ip, &ep) == 0;
		if (found && !memcmp(&ep, &want[i].ep, sizeof(ep))) {
			stats->unchanged++;
			/* As the plugin wrote it at ADD: say why, once. */
			if (pending && first_seen(model, key, want[i].ip))
				log_endpoint(&want[i], "kept");
			continue;
		}
		/* A record whose veth is gone waits for its DEL. */
		if (!be->link_ok(be->ctx, (int)want[i].ep.ifindex, NULL))
			continue;
		err = be->update(be->ctx, want[i].ip, &want[i].ep);
		if (err < 0)
			goto out;
		log_endpoint(&want[i], found ? "updated" : "restored");
		stats->updated++;
	}
	for (size_t j = 0; j < cur.n; j++) {
		struct sl_ep_desired probe = { .ip = cur.ips[j] };

		if (bsearch(&probe, want, n, sizeof(*want), cmp_desired))
			continue;
		err = be->remove(be->ctx, cur.ips[j]);
		if (err < 0 && err != -ENOENT)
			goto out;
		sl_ip4_to_str(cur.ips[j], ipstr);
		log_info("endpoint %s: removed, no pod is attached with it", ipstr);
		stats->removed++;
	}
	err = 0;
out:
	free(cur.ips);
	return err;
}

struct read_ctx {
	struct sl_ep_desired *items;
	size_t n, cap;
};

static int add_record(const struct sl_ep_record *rec, void *arg)
{
	struct read_ctx *r = arg;
	struct sl_ep_desired *d;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct sl_ep_desired *items = realloc(r->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		r->items = items;
		r->cap = cap;
	}
	d = &r->items[r->n++];
	memset(d, 0, sizeof(*d));
	d->ip = rec->ip;
	d->attaching = !rec->host_veth[0];
	d->ep.ifindex = (__u32)rec->host_ifindex;
	memcpy(d->ep.pod_mac, rec->pod_mac, 6);
	memcpy(d->ep.host_mac, rec->host_mac, 6);
	snprintf(d->ns, sizeof(d->ns), "%s", rec->pod.namespace);
	snprintf(d->name, sizeof(d->name), "%s", rec->pod.name);
	return 0;
}

int sl_endpoints_read_records(const char *run_dir, struct sl_ep_desired **out,
			      size_t *n)
{
	struct sl_store store;
	struct read_ctx r = {};
	int err;

	*out = NULL;
	*n = 0;
	err = sl_store_open(&store, run_dir, false);
	if (err == -ENOENT)
		return 0; /* no pod was ever added here */
	if (err == 0)
		err = sl_store_foreach(&store, add_record, &r);
	sl_store_close(&store);
	if (err < 0) {
		free(r.items);
		return err;
	}
	*out = r.items;
	*n = r.n;
	return 0;
}

/* --- the pinned map ------------------------------------------------------ */

static int bpf_dump(void *ctx,
		    int (*cb)(uint32_t ip, const struct sl_endpoint *ep, void *arg),
		    void *arg)
{
	int fd = *(int *)ctx;
	struct sl_endpoint_key key, next;
	struct sl_endpoint ep;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &ep) < 0)
			continue; /* deleted meanwhile */
		ret = cb(ntohl(key.ip4), &ep, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int bpf_lookup(void *ctx, uint32_t ip, struct sl_endpoint *ep)
{
	struct sl_endpoint_key key = { .ip4 = htonl(ip) };

	return bpf_map_lookup_elem(*(int *)ctx, &key, ep) < 0 ? -errno : 0;
}

static int bpf_update(void *ctx, uint32_t ip, const struct sl_endpoint *ep)
{
	struct sl_endpoint_key key = { .ip4 = htonl(ip) };

	return bpf_map_update_elem(*(int *)ctx, &key, ep, BPF_ANY) < 0 ? -errno : 0;
}

static int bpf_remove(void *ctx, uint32_t ip)
{
	struct sl_endpoint_key key = { .ip4 = htonl(ip) };

	return bpf_map_delete_elem(*(int *)ctx, &key) < 0 ? -errno : 0;
}

static int bpf_link_ok(void *ctx, int ifindex, const char *name)
{
	char buf[IF_NAMESIZE];

	(void)ctx;
	(void)name;
	return if_indextoname((unsigned int)ifindex, buf) != NULL;
}

void sl_ep_backend_bpf(struct sl_ep_backend *be, int *map_fd)
{
	be->dump = bpf_dump;
	be->lookup = bpf_lookup;
	be->update = bpf_update;
	be->remove = bpf_remove;
	be->link_ok = bpf_link_ok;
	be->ctx = map_fd;
}

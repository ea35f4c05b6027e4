// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "conntrack.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Entries per batch lookup. */
#define WALK_BATCH 1024
/* A REPLY entry is written just before its OUT entry; one younger than
 * this may be a connection being created, not an orphan. */
#define ORPHAN_MIN_AGE_NS (10ull * 1000000000ull)

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t sl_ct_now(void)
{
	return (uint32_t)(boot_ns() / 1000000000ull);
}

bool sl_ct_expired(const struct sl_ct_entry *e, uint32_t now)
{
	return (int32_t)(e->expires - now) < 0;
}

void sl_ct_out_key(const struct sl_ct_key *reply, const struct sl_ct_entry *e,
		   struct sl_ct_key *out)
{
	/* As lb4_from_backend() rebuilds it in the datapath. */
	memset(out, 0, sizeof(*out));
	out->saddr = e->nat_daddr ? e->nat_daddr : reply->daddr;
	out->daddr = e->nat_saddr;
	out->sport = reply->dport;
	out->dport = e->nat_sport;
	out->proto = reply->proto;
	out->dir = SL_CT_OUT;
}

/* The REPLY key of a translated connection, from its OUT entry. */
static void reply_key(const struct sl_ct_key *out, const struct sl_ct_entry *e,
		      struct sl_ct_key *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->saddr = e->nat_daddr;
	rep->daddr = e->nat_saddr ? e->nat_saddr : out->saddr;
	rep->sport = e->nat_dport;
	rep->dport = out->sport;
	rep->proto = out->proto;
	rep->dir = SL_CT_REPLY;
}

static int walk_slow(int fd,
		     int (*cb)(const struct sl_ct_key *, const struct sl_ct_entry *,
			       void *),
		     void *arg)
{
	struct sl_ct_key key, next;
	struct sl_ct_entry e;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &e) < 0)
			continue; /* gone meanwhile */
		ret = cb(&key, &e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int sl_ct_walk(int fd,
	       int (*cb)(const struct sl_ct_key *k, const struct sl_ct_entry *e,
			 void *arg),
	       void *arg)
{
	struct sl_ct_key *keys = malloc(WALK_BATCH * sizeof(*keys));
	struct sl_ct_entry *vals = malloc(WALK_BATCH * sizeof(*vals));
	uint32_t token = 0;
	bool first = true, done = false;
	int ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = WALK_BATCH;

		if (bpf_map_lookup_batch(fd, first ? NULL : &token, &token,
					 keys, vals, &count, NULL) < 0) {
			if (errno != ENOENT) {
				/* No batch ops here (or a bucket larger than a
				 * batch): walk key by key, from the start. */
				if (first)
					ret = walk_slow(fd, cb, arg);
				else
					ret = -errno;
				goto out;
			}
			done = true; /* the last, possibly partial, batch */
		}
		first = false;
		for (__u32 i = 0; i < count; i++) {
			ret = cb(&keys[i], &vals[i], arg);
			if (ret)
				goto out;
		}
	}
out:
	free(keys);
	free(vals);
	return ret;
}

/* --- GC ---------------------------------------------------------------- */

struct keyset {
	struct sl_ct_key *keys;
	size_t n, cap;
};

static int keyset_add(struct keyset *s, const struct sl_ct_key *k)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct sl_ct_key *keys = realloc(s->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		s->keys = keys;
		s->cap = cap;
	}
	s->keys[s->n++] = *k;
	return 0;
}

struct gc_ctx {
	uint32_t now;
	uint64_t now_ns;
	struct keyset dead;    /* expired OUT and others */
	struct keyset replies; /* REPLY entries old enough to be orphans */
	struct sl_ct_gc_stats *st;
};

static int gc_visit(const struct sl_ct_key *k, const struct sl_ct_entry *e,
		    void *arg)
{
	struct gc_ctx *g = arg;

	g->st->seen++;
	if (k->dir == SL_CT_REPLY) {
		if (g->now_ns - e->created_ns < ORPHAN_MIN_AGE_NS)
			return 0;
		return keyset_add(&g->replies, k);
	}
	if (!sl_ct_expired(e, g->now))
		return 0;
	return keyset_add(&g->dead, k);
}

int sl_ct_gc(int fd, uint32_t now, struct sl_ct_gc_stats *st,
	     sl_ct_expired_fn expired, void *ctx)
{
	struct gc_ctx g = { .now = now, .now_ns = boot_ns(), .st = st };
	int err;

	memset(st, 0, sizeof(*st));
	err = sl_ct_walk(fd, gc_visit, &g);
	if (err < 0)
		goto out;
	/* Each candidate is read again just before it goes: the datapath
	 * may have replaced an expired entry with a new connection's. */
	for (size_t i = 0; i < g.dead.n; i++) {
		struct sl_ct_entry e;

		if (bpf_map_lookup_elem(fd, &g.dead.keys[i], &e) == 0 &&
		    sl_ct_expired(&e, now) &&
		    bpf_map_delete_elem(fd, &g.dead.keys[i]) == 0) {
			st->expired++;
			if (expired)
				expired(ctx, &g.dead.keys[i], &e, g.now_ns);
		}
	}
	for (size_t i = 0; i < g.replies.n; i++) {
		struct sl_ct_entry rep, out;
		struct sl_ct_key ok;

		if (bpf_map_lookup_elem(fd, &g.replies.keys[i], &rep) < 0)
			continue;
		sl_ct_out_key(&g.replies.keys[i], &rep, &ok);
		/* Alive only while its OUT entry is, for the same backend: a
		 * client tuple since given another backend leaves this one
		 * an orphan the datapath already ignores. */
		if (bpf_map_lookup_elem(fd, &ok, &out) == 0 &&
		    !sl_ct_expired(&out, now) &&
		    out.backend_id == rep.backend_id)
			continue;
		if (bpf_map_delete_elem(fd, &g.replies.keys[i]) == 0)
			st->orphans++;
	}
	err = 0;
out:
	free(g.dead.keys);
	free(g.replies.keys);
	return err;
}

/* --- filters and flush --------------------------------------------------- */

bool sl_ct_match(const struct sl_ct_filter *f, const struct sl_ct_key *k,
		 const struct sl_ct_entry *e)
{
	uint32_t a = htonl(f->addr);
	uint16_t p = htons(f->port);

	if (f->proto && k->proto != f->proto)
		return false;
	if (f->svc_id && e->svc_id != f->svc_id)
		return false;
	if (f->addr && k->saddr != a && k->daddr != a && e->nat_saddr != a &&
	    e->nat_daddr != a)
		return false;
	if (f->port && k->sport != p && k->dport != p && e->nat_sport != p &&
	    e->nat_dport != p)
		return false;
	return true;
}

struct flush_ctx {
	const struct sl_ct_filter *f;
	struct keyset keys;
};

static int flush_visit(const struct sl_ct_key *k, const struct sl_ct_entry *e,
		       void *arg)
{
	struct flush_ctx *c = arg;
	struct sl_ct_key other;
	int err;

	if (!sl_ct_match(c->f, k, e))
		return 0;
	err = keyset_add(&c->keys, k);
	if (err || !(e->flags & SL_CT_F_SERVICE))
		return err;
	/* A translated connection goes whole, whichever half matched. */
	if (k->dir == SL_CT_REPLY)
		sl_ct_out_key(k, e, &other);
	else
		reply_key(k, e, &other);
	return keyset_add(&c->keys, &other);
}

int sl_ct_flush(int fd, const struct sl_ct_filter *f)
{
	struct flush_ctx c = { .f = f };
	int err, deleted = 0;

	err = sl_ct_walk(fd, flush_visit, &c);
	for (size_t i = 0; !err && i < c.keys.n; i++)
		if (bpf_map_delete_elem(fd, &c.keys.keys[i]) == 0)
			deleted++;
	free(c.keys.keys);
	return err < 0 ? err : deleted;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy sync (policy_sync.h has the order and the overflow rule): the
 * compiler's sorted output merged against a mirror of the maps, written in
 * two phases around the endpoint flags; and the agent API's view of it.
 */
#include "policy_sync.h"
#include "bpfmap.h"
#include "ipv4.h"
#include "k8s_decode.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the two maps, described once ----------------------------------------- */

/*
 * Entries in one order for the merge: the compiler's key order, then the
 * key's bytes. The compiler never makes two entries of one key and always
 * zeroes the pads, so its arrays are in this order already; the bytes only
 * tell apart entries something else wrote with non-zero pads, which are
 * other trie nodes and must be seen as such to be removed.
 */
static int policy_cmp(const void *a, const void *b)
{
	int c = sl_policy_key_cmp(a, b);

	return c ? c : memcmp(a, b, sizeof(struct sl_policy_key));
}

static int cidr_cmp(const void *a, const void *b)
{
	int c = sl_policy_cidr_key_cmp(a, b);

	return c ? c : memcmp(a, b, sizeof(struct sl_policy_cidr_key));
}

static const struct map_desc {
	const char *name;
	size_t size, key_size;
	int (*cmp)(const void *, const void *);
} MAPS[SL_POL_MAPS] = {
	[SL_POL_MAP_POLICY] = { SL_POLICY_MAP, sizeof(struct sl_policy_entry),
				sizeof(struct sl_policy_key), policy_cmp },
	[SL_POL_MAP_CIDR] = { SL_POLICY_CIDR_MAP,
			      sizeof(struct sl_policy_cidr_entry),
			      sizeof(struct sl_policy_cidr_key), cidr_cmp },
};

_Static_assert(sizeof(struct sl_policy_entry) ==
		       sizeof(struct sl_policy_key) + sizeof(struct sl_policy_val),
	       "entries are packed key then value");
_Static_assert(sizeof(struct sl_policy_cidr_entry) ==
		       sizeof(struct sl_policy_cidr_key) +
			       sizeof(struct sl_policy_cidr_val),
	       "entries are packed key then value");

static uint32_t prefixlen_of(const void *entry)
{
	uint32_t plen;

	memcpy(&plen, entry, sizeof(plen)); /* every LPM key starts with it */
	return plen;
}

/* Longest prefix first: what writes of sl_policy_cidr go by. */
static int cidr_longest_first(const void *a, const void *b)
{
	uint32_t x = prefixlen_of(a), y = prefixlen_of(b);

	return x != y ? (x > y ? -1 : 1) : cidr_cmp(a, b);
}

static int cidr_shortest_first(const void *a, const void *b)
{
	return -cidr_longest_first(a, b);
}

/*
 * An LPM trie node is its prefix length and that many bits of the key;
 * the kernel keeps whatever bits follow as they were written. Zero them,
 * so an entry read back compares equal to the one we would write, and two
 * read back are never one node.
 */
static void mask_key(void *entry, size_t key_size)
{
	uint8_t *data = (uint8_t *)entry + sizeof(uint32_t);
	size_t bytes = key_size - sizeof(uint32_t);
	uint32_t plen = prefixlen_of(entry);

	if (plen > bytes * 8)
		plen = (uint32_t)(bytes * 8);
	for (size_t i = plen / 8; i < bytes; i++)
		data[i] = i == plen / 8 ?
				  data[i] & (uint8_t)(0xff00u >> (plen % 8)) :
				  0;
}

/* --- growable arrays of entries ------------------------------------------- */

struct vec {
	uint8_t *v;
	size_t n, cap, size;
};

static int vec_push(struct vec *w, const void *entry)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		uint8_t *v = realloc(w->v, cap * w->size);

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	memcpy(w->v + w->n++ * w->size, entry, w->size);
	return 0;
}

static void mirror_free(struct sl_pol_mirror *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* --- state ---------------------------------------------------------------- */

void sl_pol_state_init(struct sl_pol_state *st)
{
	memset(st, 0, sizeof(*st));
	sl_policy_ids_init(&st->ids);
}

void sl_pol_state_free(struct sl_pol_state *st)
{
	sl_policy_out_free(&st->out);
	sl_policy_ids_free(&st->ids);
	for (int m = 0; m < SL_POL_MAPS; m++) {
		mirror_free(&st->mirror[m]);
		mirror_free(&st->stale[m]);
	}
	memset(st, 0, sizeof(*st));
}

void sl_pol_state_invalidate(struct sl_pol_state *st)
{
	st->valid = false;
	st->recompile = true; /* cheap insurance, and identities may move */
}

/* --- compile -------------------------------------------------------------- */

int sl_policy_sync_compile(struct sl_pol_state *st, const struct sl_model *m,
			   const char *self)
{
	struct sl_policy_out out;
	int err;

	if (st->compiled && !st->recompile &&
	    st->compiled_generation == m->generation)
		return 0;
	err = sl_policy_compile(m, self, &st->ids, &out);
	if (err < 0) {
		snprintf(st->error, sizeof(st->error),
			 "compiling NetworkPolicies: %s", strerror(-err));
		log_error("policy: %s; keeping the previous result", st->error);
		return err;
	}
	sl_policy_out_free(&st->out);
	st->out = out;
	st->compiled = true;
	st->recompile = false;
	st->compiled_generation = m->generation;
	st->last.entries[SL_POL_MAP_POLICY] = (unsigned int)out.n_entries;
	st->last.entries[SL_POL_MAP_CIDR] = (unsigned int)out.n_cidrs;
	st->last.endpoints = (unsigned int)out.n_eps;
	st->last.isolated = 0;
	for (size_t i = 0; i < out.n_eps; i++)
		st->last.isolated += out.eps[i].flags != 0;
	return 0;
}

static int cmp_ep_ip(const void *key, const void *ep)
{
	uint32_t x = *(const uint32_t *)key;
	uint32_t y = ((const struct sl_policy_endpoint *)ep)->ip;

	return x < y ? -1 : x > y;
}

/* Does the compile know a NetworkPolicy of pod_key's namespace? Policies
 * are named "ns/name"; the node's own entry's name has no '/'. */
static bool namespace_has_policy(const struct sl_policy_out *out,
				 const char *pod_key)
{
	size_t len = strcspn(pod_key, "/");

	for (size_t i = 0; i < out->n_names; i++)
		if (!strncmp(out->names[i].name, pod_key, len) &&
		    out->names[i].name[len] == '/')
			return true;
	return false;
}

uint32_t sl_policy_sync_flags(const struct sl_pol_state *st, uint32_t ip,
			      const char *pod_key)
{
	const struct sl_policy_endpoint *ep = NULL;

	if (st->out.n_eps)
		ep = bsearch(&ip, st->out.eps, st->out.n_eps,
			     sizeof(*st->out.eps), cmp_ep_ip);
	if (ep && !strcmp(ep->pod, pod_key))
		return ep->flags & (SL_EP_F_INGRESS_ISOLATED |
				    SL_EP_F_EGRESS_ISOLATED);
	if (!namespace_has_policy(&st->out, pod_key))
		return 0;
	return SL_EP_F_PENDING | SL_EP_F_INGRESS_ISOLATED |
	       SL_EP_F_EGRESS_ISOLATED;
}

/* --- write and prune ------------------------------------------------------ */

static const void *desired(const struct sl_pol_state *st, int m, size_t *n)
{
	if (m == SL_POL_MAP_POLICY) {
		*n = st->out.n_entries;
		return st->out.entries;
	}
	*n = st->out.n_cidrs;
	return st->out.cidrs;
}

struct dump_ctx {
	struct vec *w;
	size_t key_size;
};

static int collect(const void *entry, void *arg)
{
	struct dump_ctx *c = arg;
	int err = vec_push(c->w, entry);

	if (!err)
		mask_key(c->w->v + (c->w->n - 1) * c->w->size, c->key_size);
	return err;
}

static void write_failed(struct sl_pol_state *st, int m, const char *what,
			 int err)
{
	snprintf(st->error, sizeof(st->error), "%s %s: %s", what, MAPS[m].name,
		 strerror(-err));
	log_error("policy: %s; isolation still follows the policies, nothing stale is removed until a write succeeds",
		  st->error);
}

/* Both maps read back into the mirror, sorted. */
static int read_back(const struct sl_pol_backend *be, struct sl_pol_state *st)
{
	for (int m = 0; m < SL_POL_MAPS; m++) {
		struct vec w = { .size = MAPS[m].size };
		struct dump_ctx c = { &w, MAPS[m].key_size };
		int err = be->dump(be->ctx, (enum sl_pol_map)m, collect, &c);

		if (err) {
			free(w.v);
			write_failed(st, m, "reading", err < 0 ? err : -EIO);
			return err < 0 ? err : -EIO;
		}
		if (w.n)
			qsort(w.v, w.n, w.size, MAPS[m].cmp);
		mirror_free(&st->mirror[m]);
		st->mirror[m].v = w.v;
		st->mirror[m].n = w.n;
	}
	return 0;
}

/*
 * One merge of two sorted lists: desired entries that are new or differ
 * go to writes (*added counts the new keys), mirror entries nothing
 * desired has the key of go to stale.
 */
static int diff(int m, const uint8_t *want, size_t nw,
		const struct sl_pol_mirror *cur, struct vec *writes,
		struct vec *stale, size_t *added)
{
	const struct map_desc *d = &MAPS[m];
	const uint8_t *have = cur->v;
	size_t i = 0, j = 0;
	int err = 0;

	*added = 0;
	while (!err && (i < nw || j < cur->n)) {
		/* Either list may be empty (and NULL). */
		const uint8_t *a = i < nw ? want + i * d->size : NULL;
		const uint8_t *b = j < cur->n ? have + j * d->size : NULL;
		int c = !a ? 1 : !b ? -1 : d->cmp(a, b);

		if (c < 0) {
			err = vec_push(writes, a);
			(*added)++;
			i++;
		} else if (c > 0) {
			err = vec_push(stale, b);
			j++;
		} else {
			if (memcmp(a, b, d->size))
				err = vec_push(writes, a);
			i++;
			j++;
		}
	}
	return err;
}

static int do_write(const struct sl_pol_backend *be, int m,
		    const struct vec *w)
{
	return w->n ? be->write(be->ctx, (enum sl_pol_map)m, w->v, w->n) : 0;
}

static int do_remove(const struct sl_pol_backend *be, int m,
		     const struct vec *w)
{
	return w->n ? be->remove(be->ctx, (enum sl_pol_map)m, w->v, w->n) : 0;
}

int sl_policy_sync_write(const struct sl_pol_backend *be,
			 struct sl_pol_state *st)
{
	struct vec writes[SL_POL_MAPS], stale[SL_POL_MAPS];
	size_t n[SL_POL_MAPS], added[SL_POL_MAPS];
	const void *want[SL_POL_MAPS];
	char why[sizeof(st->error)];
	int err = 0, m;

	st->pending = false;
	for (m = 0; m < SL_POL_MAPS; m++) {
		mirror_free(&st->stale[m]);
		st->last.written[m] = st->last.removed[m] = 0;
		writes[m] = (struct vec){ .size = MAPS[m].size };
		stale[m] = (struct vec){ .size = MAPS[m].size };
		want[m] = desired(st, m, &n[m]);
	}
	if (!st->compiled)
		return 0;

	/* Over capacity: the last complete write stays (policy_sync.h). */
	why[0] = '\0';
	for (m = 0; m < SL_POL_MAPS && !why[0]; m++)
		if (n[m] > be->max_entries[m])
			snprintf(why, sizeof(why),
				 "%zu %s entries compiled, the map holds %zu: not written, it keeps the last complete policy",
				 n[m], MAPS[m].name, be->max_entries[m]);
	if (why[0]) {
		if (!st->overflow || strcmp(why, st->error))
			log_error("policy: %s; isolation still follows the policies (fails closed)",
				  why);
		/* Know what the maps keep (status shows it); nothing is
		 * written, so once read the mirror stays right. */
		if (!st->valid && read_back(be, st) == 0)
			st->valid = true;
		snprintf(st->error, sizeof(st->error), "%s", why);
		st->overflow = true;
		return 0;
	}
	if (st->overflow)
		log_info("policy: fits the maps again (%zu entries, %zu cidrs)",
			 n[SL_POL_MAP_POLICY], n[SL_POL_MAP_CIDR]);
	st->overflow = false;

	/* The maps are read back only when we cannot vouch for them. */
	if (!st->valid && (err = read_back(be, st)) < 0)
		goto out;
	st->valid = false; /* until the prune completes */
	for (m = 0; m < SL_POL_MAPS && !err; m++)
		err = diff(m, want[m], n[m], &st->mirror[m], &writes[m],
			   &stale[m], &added[m]);
	if (err)
		goto out;
	if (writes[SL_POL_MAP_CIDR].n)
		qsort(writes[SL_POL_MAP_CIDR].v, writes[SL_POL_MAP_CIDR].n,
		      MAPS[SL_POL_MAP_CIDR].size, cidr_longest_first);
	if (stale[SL_POL_MAP_CIDR].n)
		qsort(stale[SL_POL_MAP_CIDR].v, stale[SL_POL_MAP_CIDR].n,
		      MAPS[SL_POL_MAP_CIDR].size, cidr_shortest_first);

	/* sl_policy, then sl_policy_cidr: an address never resolves to a
	 * CIDR identity whose entries are not there yet. A map without room
	 * for old and new together loses its stale entries first. */
	for (m = 0; m < SL_POL_MAPS; m++) {
		if (st->mirror[m].n + added[m] > be->max_entries[m]) {
			log_warn("policy: %s cannot hold old and new entries together; removing %zu stale ones first",
				 MAPS[m].name, stale[m].n);
			err = do_remove(be, m, &stale[m]);
			if (err < 0) {
				write_failed(st, m, "deleting from", err);
				goto out;
			}
			st->last.removed[m] = (unsigned int)stale[m].n;
			stale[m].n = 0;
		}
		err = do_write(be, m, &writes[m]);
		if (err < 0) {
			write_failed(st, m, "writing", err);
			goto out;
		}
		st->last.written[m] = (unsigned int)writes[m].n;
	}
	for (m = 0; m < SL_POL_MAPS; m++) {
		st->stale[m].v = stale[m].v;
		st->stale[m].n = stale[m].n;
		stale[m].v = NULL;
	}
	st->pending = true;
out:
	for (m = 0; m < SL_POL_MAPS; m++) {
		free(writes[m].v);
		free(stale[m].v);
	}
	return err;
}

int sl_policy_sync_prune(const struct sl_pol_backend *be,
			 struct sl_pol_state *st)
{
	static const int order[SL_POL_MAPS] = { SL_POL_MAP_CIDR,
						SL_POL_MAP_POLICY };
	int err;

	if (!st->pending)
		return 0;
	st->pending = false;
	for (int k = 0; k < SL_POL_MAPS; k++) {
		int m = order[k];
		struct vec w = { .v = st->stale[m].v, .n = st->stale[m].n };

		err = do_remove(be, m, &w);
		if (err < 0) {
			write_failed(st, m, "deleting from", err);
			return err;
		}
		st->last.removed[m] += (unsigned int)st->stale[m].n;
		mirror_free(&st->stale[m]);
	}
	/* The maps now hold exactly the compile: it is the mirror. */
	for (int m = 0; m < SL_POL_MAPS; m++) {
		size_t n;
		const void *want = desired(st, m, &n);
		void *copy = n ? malloc(n * MAPS[m].size) : NULL;

		if (n && !copy)
			return -ENOMEM; /* valid stays false: read back next */
		if (n)
			memcpy(copy, want, n * MAPS[m].size);
		mirror_free(&st->mirror[m]);
		st->mirror[m].v = copy;
		st->mirror[m].n = n;
	}
	st->valid = true;
	st->error[0] = '\0';
	if (st->last.written[0] || st->last.written[1] ||
	    st->last.removed[0] || st->last.removed[1])
		log_info("policy: %u entries (%u written, %u removed), %u cidrs (%u written, %u removed), %u of %u endpoints isolated",
			 st->last.entries[0], st->last.written[0],
			 st->last.removed[0], st->last.entries[1],
			 st->last.written[1], st->last.removed[1],
			 st->last.isolated, st->last.endpoints);
	return 0;
}

/* --- the pinned LPM tries ------------------------------------------------- */

/* Keys and values as separate arrays, the way the batch calls want them. */
#define POL_BATCH 1024
#define POL_KEY_MAX sizeof(struct sl_policy_key)
#define POL_VAL_MAX sizeof(struct sl_policy_val)
#define POL_ENTRY_MAX sizeof(struct sl_policy_entry)
_Static_assert(sizeof(struct sl_policy_cidr_key) <= POL_KEY_MAX &&
		       sizeof(struct sl_policy_cidr_val) <= POL_VAL_MAX,
	       "sl_policy has the larger entries");

static int bpf_dump(void *ctx, enum sl_pol_map m,
		    int (*cb)(const void *, void *), void *arg)
{
	int fd = ((int *)ctx)[m];
	const struct map_desc *d = &MAPS[m];
	uint8_t entry[POL_ENTRY_MAX], next[POL_KEY_MAX], key[POL_KEY_MAX];
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, d->key_size);
		prev = key;
		memcpy(entry, key, d->key_size);
		/* A lookup answers the longest prefix up to the key's own:
		 * the node itself. Gone meanwhile: skip it. */
		if (bpf_map_lookup_elem(fd, key, entry + d->key_size) < 0)
			continue;
		ret = cb(entry, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static void split(const struct map_desc *d, const uint8_t *e, size_t n,
		  uint8_t *keys, uint8_t *vals)
{
	size_t vsize = d->size - d->key_size;

	for (size_t j = 0; j < n; j++) {
		memcpy(keys + j * d->key_size, e + j * d->size, d->key_size);
		if (vals)
			memcpy(vals + j * vsize, e + j * d->size + d->key_size,
			       vsize);
	}
}

static int bpf_write(void *ctx, enum sl_pol_map m, const void *entries,
		     size_t n)
{
	const struct map_desc *d = &MAPS[m];
	uint8_t keys[POL_BATCH * POL_KEY_MAX], vals[POL_BATCH * POL_VAL_MAX];
	const uint8_t *e = entries;

	for (size_t i = 0; i < n; i += POL_BATCH) {
		size_t k = n - i < POL_BATCH ? n - i : POL_BATCH;
		int err;

		split(d, e + i * d->size, k, keys, vals);
		err = sl_map_update_many(((int *)ctx)[m], keys, vals, k,
					 d->key_size, d->size - d->key_size,
					 NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

static int bpf_remove(void *ctx, enum sl_pol_map m, const void *entries,
		      size_t n)
{
	const struct map_desc *d = &MAPS[m];
	uint8_t keys[POL_BATCH * POL_KEY_MAX];
	const uint8_t *e = entries;

	for (size_t i = 0; i < n; i += POL_BATCH) {
		size_t k = n - i < POL_BATCH ? n - i : POL_BATCH;
		int err;

		split(d, e + i * d->size, k, keys, NULL);
		err = sl_map_delete_many(((int *)ctx)[m], keys, k, d->key_size);
		if (err < 0)
			return err;
	}
	return 0;
}

void sl_pol_backend_bpf(struct sl_pol_backend *be, int fds[SL_POL_MAPS])
{
	static const size_t fallback[SL_POL_MAPS] = { SL_POLICY_MAX,
						      SL_POLICY_CIDR_MAX };

	be->dump = bpf_dump;
	be->write = bpf_write;
	be->remove = bpf_remove;
	be->ctx = fds;
	for (int m = 0; m < SL_POL_MAPS; m++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		be->max_entries[m] = fallback[m];
		if (bpf_obj_get_info_by_fd(fds[m], &info, &len) == 0)
			be->max_entries[m] = info.max_entries;
	}
}

/* --- the agent API -------------------------------------------------------- */

static const char *const DIRS[2] = { "ingress", "egress" };

json_object *sl_policy_sync_status_json(const struct sl_pol_state *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "compiled",
			       json_object_new_boolean(st->compiled));
	json_object_object_add(
		o, "policies",
		json_object_new_int64(st->out.n_names ?
					      (int64_t)st->out.n_names - 1 : 0));
	json_object_object_add(o, "endpoints",
			       json_object_new_int64(st->last.endpoints));
	json_object_object_add(o, "isolated",
			       json_object_new_int64(st->last.isolated));
	json_object_object_add(o, "entries",
			       json_object_new_int64(st->last.entries[0]));
	json_object_object_add(o, "cidrs",
			       json_object_new_int64(st->last.entries[1]));
	json_object_object_add(o, "written",
			       json_object_new_int64(st->last.written[0] +
						     st->last.written[1]));
	json_object_object_add(o, "removed",
			       json_object_new_int64(st->last.removed[0] +
						     st->last.removed[1]));
	/* What the maps hold, when the last sync vouches for it. */
	json_object_object_add(o, "inMap",
			       json_object_new_boolean(st->valid &&
						       !st->overflow));
	json_object_object_add(o, "overflow",
			       json_object_new_boolean(st->overflow));
	json_object_object_add(o, "enforced", json_object_new_boolean(false));
	json_object_object_add(o, "lastError",
			       json_object_new_string(st->error));
	return o;
}

/* Entries of endpoint ip in direction d: [*lo, *hi) of out->entries,
 * which are sorted by endpoint, then direction. */
static void entries_of(const struct sl_policy_out *out, uint32_t ip, int d,
		       size_t *lo, size_t *hi)
{
	size_t a = 0, b = out->n_entries, j;

	while (a < b) { /* the first entry not before (ip, d) */
		size_t mid = a + (b - a) / 2;
		const struct sl_policy_key *k = &out->entries[mid].key;
		uint32_t e = ntohl(k->ep);

		if (e < ip || (e == ip && k->dir < d))
			a = mid + 1;
		else
			b = mid;
	}
	for (j = a; j < out->n_entries && ntohl(out->entries[j].key.ep) == ip &&
		    out->entries[j].key.dir == d;
	     j++)
		;
	*lo = a;
	*hi = j;
}

json_object *sl_policy_sync_list_json(const struct sl_pol_state *st)
{
	json_object *o = json_object_new_object(),
		    *arr = json_object_new_array();

	for (size_t i = 0; i < st->out.n_eps; i++) {
		const struct sl_policy_endpoint *ep = &st->out.eps[i];
		json_object *e = json_object_new_object();
		char ip[16];

		sl_ip4_to_str(ep->ip, ip);
		json_object_object_add(e, "endpoint",
				       json_object_new_string(ep->pod));
		json_object_object_add(e, "ip", json_object_new_string(ip));
		for (int d = 0; d < 2; d++) {
			json_object *dj = json_object_new_object(),
				    *pols = json_object_new_array();
			size_t lo, hi;

			entries_of(&st->out, ep->ip, d, &lo, &hi);
			json_object_object_add(
				dj, "isolated",
				json_object_new_boolean(ep->n_selected[d] > 0));
			json_object_object_add(
				dj, "entries",
				json_object_new_int64((int64_t)(hi - lo)));
			for (size_t p = 0; p < ep->n_selected[d]; p++) {
				const char *name = sl_policy_name(
					&st->out, ep->selected[d][p]);

				json_object_array_add(
					pols, json_object_new_string(name));
			}
			json_object_object_add(dj, "policies", pols);
			json_object_object_add(e, DIRS[d], dj);
		}
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "status", sl_policy_sync_status_json(st));
	json_object_object_add(o, "endpoints", arr);
	return o;
}

/* The CIDRs of endpoint ip, direction d, whose identity is id: "a, b". */
static void cidrs_of(const struct sl_policy_out *out, uint32_t ip, int d,
		     uint32_t id, json_object *arr, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < out->n_cidrs; i++) {
		const struct sl_policy_cidr_entry *c = &out->cidrs[i];
		char net[20];
		int w;

		if (ntohl(c->key.ep) != ip || c->key.dir != d ||
		    c->val.identity != id)
			continue;
		sl_ip4_net_to_str(ntohl(c->key.addr),
				  c->key.prefixlen - SL_POLICY_CIDR_FIXED_BITS,
				  net);
		if (arr)
			json_object_array_add(arr, json_object_new_string(net));
		w = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
			     net);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
}

/*
 * A remote identity as people read it, into buf; the structured parts
 * (namespace, labels, cidrs) into o when given.
 */
static void describe_remote(const struct sl_policy_out *out,
			    const struct sl_model *m, uint32_t ep, int d,
			    uint32_t id, json_object *o, char *buf, size_t len)
{
	const char *reserved = sl_policy_reserved_name(id);
	const struct sl_identity *ident;
	char num[16];

	if (reserved) {
		snprintf(buf, len, "%s%s", reserved,
			 id == SL_ID_HOST ? " (this node)" : "");
		return;
	}
	if (id >= SL_ID_CIDR_FIRST) {
		json_object *arr = o ? json_object_new_array() : NULL;
		char nets[256];

		cidrs_of(out, ep, d, id, arr, nets, sizeof(nets));
		if (o)
			json_object_object_add(o, "cidrs", arr);
		snprintf(buf, len, "cidr %s", nets[0] ? nets : "(none)");
		return;
	}
	snprintf(num, sizeof(num), "%u", id);
	ident = sl_table_get(&m->identity_ids, num);
	if (!ident) {
		snprintf(buf, len, "identity %u (not in use)", id);
		return;
	}
	if (o) {
		json_object_object_add(o, "namespace",
				       json_object_new_string(ident->ns));
		json_object_object_add(o, "labels",
				       json_object_new_string(ident->labels));
	}
	snprintf(buf, len, "%u %s [%s]", id, ident->ns, ident->labels);
}

static json_object *rule_json(const struct sl_policy_out *out,
			      const struct sl_model *m,
			      const struct sl_policy_entry *e, unsigned int lo,
			      unsigned int hi, size_t count)
{
	json_object *o = json_object_new_object();
	char buf[512];

	json_object_object_add(o, "identity",
			       json_object_new_int64(e->key.identity));
	describe_remote(out, m, ntohl(e->key.ep), e->key.dir, e->key.identity,
			o, buf, sizeof(buf));
	json_object_object_add(o, "remote", json_object_new_string(buf));
	json_object_object_add(
		o, "protocol",
		json_object_new_string(e->key.proto == SL_PROTO_ANY ?
					       "ANY" :
					       sl_proto_name(e->key.proto)));
	if (e->key.prefixlen == SL_POLICY_FIXED_BITS)
		snprintf(buf, sizeof(buf), "any");
	else if (lo == hi)
		snprintf(buf, sizeof(buf), "%u", lo);
	else
		snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	json_object_object_add(o, "ports", json_object_new_string(buf));
	json_object_object_add(o, "policyId",
			       json_object_new_int64(e->val.policy_id));
	json_object_object_add(o, "policy",
			       json_object_new_string(
				       sl_policy_name(out, e->val.policy_id)));
	json_object_object_add(o, "entries",
			       json_object_new_int64((int64_t)count));
	return o;
}

/* Entries [lo, hi) as rules: port prefixes of one remote, protocol and
 * policy that touch are one range again ("80-85" from 80/14 and 84/15). */
static json_object *rules_json(const struct sl_policy_out *out,
			       const struct sl_model *m, size_t lo, size_t hi)
{
	json_object *arr = json_object_new_array();

	for (size_t i = lo; i < hi;) {
		const struct sl_policy_entry *e = &out->entries[i];
		unsigned int plo, phi, nlo, nhi;
		size_t j = i + 1;

		sl_policy_key_ports(&e->key, &plo, &phi);
		while (e->key.prefixlen != SL_POLICY_FIXED_BITS && j < hi) {
			const struct sl_policy_entry *f = &out->entries[j];

			sl_policy_key_ports(&f->key, &nlo, &nhi);
			if (f->key.identity != e->key.identity ||
			    f->key.proto != e->key.proto ||
			    f->val.policy_id != e->val.policy_id ||
			    f->key.prefixlen == SL_POLICY_FIXED_BITS ||
			    nlo != phi + 1)
				break;
			phi = nhi;
			j++;
		}
		json_object_array_add(arr,
				      rule_json(out, m, e, plo, phi, j - i));
		i = j;
	}
	return arr;
}

json_object *sl_policy_sync_endpoint_json(const struct sl_pol_state *st,
					  const struct sl_model *m,
					  const char *which)
{
	const struct sl_policy_endpoint *ep =
		sl_policy_endpoint_find(&st->out, which);
	json_object *o, *dj;

	if (!ep)
		return NULL;
	o = sl_policy_endpoint_json(&st->out, m, which);
	if (!o)
		return NULL;
	for (int d = 0; d < 2; d++) {
		size_t lo, hi;

		if (!json_object_object_get_ex(o, DIRS[d], &dj))
			continue;
		entries_of(&st->out, ep->ip, d, &lo, &hi);
		json_object_object_add(dj, "rules",
				       rules_json(&st->out, m, lo, hi));
	}
	/* Over capacity the maps hold an older policy than this. */
	json_object_object_add(o, "inMap",
			       json_object_new_boolean(st->valid &&
						       !st->overflow));
	return o;
}

/* --- trace ---------------------------------------------------------------- */

/* One side of a traced connection: its verdict here and why. */
static json_object *side_json(const struct sl_pol_state *st,
			      const struct sl_model *m, const char *self,
			      const char *pod, int d, uint8_t proto,
			      uint16_t port,
			      const struct sl_policy_trace_side *s, bool same,
			      const char **verdict)
{
	const struct sl_object *po = sl_model_get(m, SL_KIND_POD, pod);
	const struct sl_policy_endpoint *ep =
		sl_policy_endpoint_find(&st->out, pod);
	const char *node = po ? po->pod.node : "";
	json_object *o = json_object_new_object();
	char why[768], remote[512];
	int n;

	json_object_object_add(o, "pod", json_object_new_string(pod));
	json_object_object_add(o, "node", json_object_new_string(node));
	json_object_object_add(o, "enforcedHere",
			       json_object_new_boolean(s->enforced));
	json_object_object_add(o, "isolated",
			       json_object_new_boolean(s->isolated));
	json_object_object_add(o, "identity",
			       json_object_new_int64(s->match.identity));
	if (s->match.cidr_identity)
		json_object_object_add(
			o, "cidrIdentity",
			json_object_new_int64(s->match.cidr_identity));
	if (same) {
		*verdict = "allowed";
		snprintf(why, sizeof(why),
			 "both ends share one address: the datapath never sees it");
	} else if (!s->enforced && po && po->pod.host_network) {
		*verdict = "allowed";
		snprintf(why, sizeof(why),
			 "host-network pod: no NetworkPolicy applies to it");
	} else if (!s->enforced) {
		/* Its own node's agent holds that side's entries. */
		*verdict = "unknown";
		if (strcmp(node, self))
			snprintf(why, sizeof(why),
				 "decided on node %s, not here: ask its agent",
				 node[0] ? node : "(none yet)");
		else
			snprintf(why, sizeof(why),
				 "not an endpoint of this node (its address is another pod's)");
	} else if (!s->isolated) {
		*verdict = "allowed";
		snprintf(why, sizeof(why),
			 "not isolated: no NetworkPolicy selects it for %s",
			 DIRS[d]);
	} else if (s->allowed) {
		const struct sl_policy_entry *e = s->match.entry;
		unsigned int lo, hi;
		char ports[24];

		*verdict = "allowed";
		sl_policy_key_ports(&e->key, &lo, &hi);
		if (e->key.prefixlen == SL_POLICY_FIXED_BITS)
			snprintf(ports, sizeof(ports), "any port");
		else if (lo == hi)
			snprintf(ports, sizeof(ports), "%u", lo);
		else
			snprintf(ports, sizeof(ports), "%u-%u", lo, hi);
		describe_remote(&st->out, m, ep->ip, d, e->key.identity, NULL,
				remote, sizeof(remote));
		snprintf(why, sizeof(why), "allowed by %s (%s, %s %s)",
			 sl_policy_name(&st->out, e->val.policy_id), remote,
			 e->key.proto == SL_PROTO_ANY ?
				 "any protocol" :
				 sl_proto_name(e->key.proto),
			 ports);
		json_object_object_add(
			o, "policy",
			json_object_new_string(
				sl_policy_name(&st->out, e->val.policy_id)));
	} else {
		*verdict = "denied";
		n = snprintf(why, sizeof(why), "isolated by");
		for (size_t i = 0; i < ep->n_selected[d] && n > 0 &&
				   (size_t)n < sizeof(why);
		     i++)
			n += snprintf(why + n, sizeof(why) - (size_t)n, "%s %s",
				      i ? "," : "",
				      sl_policy_name(&st->out,
						     ep->selected[d][i]));
		describe_remote(&st->out, m, ep->ip, d, s->match.identity, NULL,
				remote, sizeof(remote));
		if (n > 0 && (size_t)n < sizeof(why))
			n += snprintf(why + n, sizeof(why) - (size_t)n,
				      "; no rule allows %s on %s/%u", remote,
				      sl_proto_name(proto), port);
		if (n > 0 && (size_t)n < sizeof(why) &&
		    s->match.cidr_identity) {
			describe_remote(&st->out, m, ep->ip, d,
					s->match.cidr_identity, NULL, remote,
					sizeof(remote));
			snprintf(why + n, sizeof(why) - (size_t)n, " (nor %s)",
				 remote);
		}
	}
	json_object_object_add(o, "verdict", json_object_new_string(*verdict));
	json_object_object_add(o, "why", json_object_new_string(why));
	return o;
}

json_object *sl_policy_sync_trace_json(const struct sl_pol_state *st,
				       const struct sl_model *m,
				       const char *self, const char *from,
				       const char *to, uint8_t proto,
				       uint16_t port, int *err)
{
	struct sl_policy_verdict v;
	json_object *o, *eg, *in;
	const char *verdict, *veg, *vin;
	bool same;

	*err = sl_policy_trace(m, &st->out, self, from, to, proto, port, &v);
	if (*err)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "from", json_object_new_string(from));
	json_object_object_add(o, "to", json_object_new_string(to));
	json_object_object_add(o, "protocol",
			       json_object_new_string(sl_proto_name(proto)));
	json_object_object_add(o, "port", json_object_new_int(port));
	/* The compiler's one verdict without a side: one address. */
	same = v.complete && !v.egress.enforced && !v.ingress.enforced;
	eg = side_json(st, m, self, from, SL_POLICY_EGRESS, proto, port,
		       &v.egress, same, &veg);
	in = side_json(st, m, self, to, SL_POLICY_INGRESS, proto, port,
		       &v.ingress, same, &vin);
	/* A side decided here that denies is final; allowed needs both. */
	if (!strcmp(veg, "denied") || !strcmp(vin, "denied"))
		verdict = "denied";
	else if (!strcmp(veg, "unknown") || !strcmp(vin, "unknown"))
		verdict = "unknown";
	else
		verdict = "allowed";
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	json_object_object_add(o, "allowed",
			       json_object_new_boolean(v.allowed));
	json_object_object_add(o, "complete",
			       json_object_new_boolean(v.complete));
	json_object_object_add(o, "reason", json_object_new_string(v.reason));
	json_object_object_add(o, "egress", eg);
	json_object_object_add(o, "ingress", in);
	/* The datapath does not enforce any of this yet (issue 5). */
	json_object_object_add(o, "enforced", json_object_new_boolean(false));
	return o;
}

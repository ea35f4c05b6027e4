// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "model.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_model_init(struct sl_model *m)
{
	memset(m, 0, sizeof(*m));
	for (int k = 0; k < SL_KIND_COUNT; k++)
		sl_table_init(&m->objects[k]);
	sl_table_init(&m->identities);
	sl_table_init(&m->identity_ids);
}

static void identity_free(struct sl_identity *id)
{
	free(id->ns);
	free(id->labels);
	free(id->ns_labels);
	free(id->canonical);
	free(id);
}

static void identity_unref(struct sl_model *m, struct sl_identity *id)
{
	char num[16];

	if (!id || --id->refs)
		return;
	snprintf(num, sizeof(num), "%u", id->id);
	sl_table_del(&m->identity_ids, num);
	sl_table_del(&m->identities, id->canonical);
	log_info("identity %u released: %s [%s]", id->id, id->ns, id->labels);
	identity_free(id);
}

static void obj_free(struct sl_model *m, struct sl_model_obj *mo)
{
	identity_unref(m, mo->identity);
	sl_object_free(&mo->obj);
	free(mo->owner);
	free(mo);
}

static void local_free(struct sl_local_addr *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].pod);
	free(v);
}

void sl_model_free(struct sl_model *m)
{
	const char *key;
	void *val;

	for (int k = 0; k < SL_KIND_COUNT; k++) {
		for (size_t i = 0; sl_table_next(&m->objects[k], &i, &key, &val);) {
			((struct sl_model_obj *)val)->identity = NULL;
			obj_free(m, val);
		}
		sl_table_free(&m->objects[k]);
	}
	for (size_t i = 0; sl_table_next(&m->identities, &i, &key, &val);)
		identity_free(val);
	sl_table_free(&m->identities);
	sl_table_free(&m->identity_ids);
	local_free(m->local, m->n_local);
	for (size_t i = 0; i < m->n_log; i++)
		free(m->log[(m->log_head + i) % SL_MODEL_LOG].key);
	free(m->log);
}

/* The change just made, at the current generation. Without memory for
 * it, the log forgets everything up to it rather than miss it. */
static void log_change(struct sl_model *m, enum sl_kind kind, const char *key)
{
	struct sl_model_change *c;
	char *k = strdup(key);

	if (!m->log)
		m->log = calloc(SL_MODEL_LOG, sizeof(*m->log));
	if (!m->log || !k) {
		free(k);
		m->log_lost = m->generation;
		return;
	}
	c = &m->log[(m->log_head + m->n_log) % SL_MODEL_LOG];
	if (m->n_log == SL_MODEL_LOG) {
		m->log_lost = c->generation;
		free(c->key);
		m->log_head = (m->log_head + 1) % SL_MODEL_LOG;
	} else {
		m->n_log++;
	}
	*c = (struct sl_model_change){ m->generation, kind, k };
}

int sl_model_changes(const struct sl_model *m, uint64_t since,
		     int (*cb)(enum sl_kind kind, const char *key, void *arg),
		     void *arg)
{
	size_t i = m->n_log;
	int err = 0;

	if (since < m->log_lost)
		return -ERANGE;
	/* Oldest first, so from the first one after since. */
	while (i && m->log[(m->log_head + i - 1) % SL_MODEL_LOG].generation >
			    since)
		i--;
	for (; !err && i < m->n_log; i++) {
		const struct sl_model_change *c =
			&m->log[(m->log_head + i) % SL_MODEL_LOG];

		err = cb(c->kind, c->key, arg);
	}
	return err;
}

uint32_t sl_identity_hash(const char *canonical, uint32_t salt)
{
	/* FNV-1a 32 then a murmur3 finaliser to spread the low bits. */
	uint32_t h = 0x811c9dc5u ^ salt;
	uint32_t range = (1u << SL_IDENTITY_BITS) - SL_IDENTITY_FIRST;

	for (const char *p = canonical; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x01000193u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return SL_IDENTITY_FIRST + h % range;
}

/* "ns\x1fk=v\x1ek=v\x1f" + namespace labels: separators no label may hold. */
static char *canonical_form(const struct sl_pod *pod,
			    const struct sl_labels *ns_labels)
{
	size_t len = strlen(pod->ns) + 4;
	char *out, *p;

	for (size_t i = 0; i < pod->labels.n; i++)
		len += strlen(pod->labels.items[i].key) +
		       strlen(pod->labels.items[i].value) + 2;
	for (size_t i = 0; ns_labels && i < ns_labels->n; i++)
		len += strlen(ns_labels->items[i].key) +
		       strlen(ns_labels->items[i].value) + 2;
	out = p = malloc(len);
	if (!out)
		return NULL;
	p += sprintf(p, "%s\x1f", pod->ns);
	for (size_t i = 0; i < pod->labels.n; i++)
		p += sprintf(p, "%s=%s\x1e", pod->labels.items[i].key,
			     pod->labels.items[i].value);
	*p++ = '\x1f';
	for (size_t i = 0; ns_labels && i < ns_labels->n; i++)
		p += sprintf(p, "%s=%s\x1e", ns_labels->items[i].key,
			     ns_labels->items[i].value);
	*p = '\0';
	return out;
}

static struct sl_identity *identity_new(struct sl_model *m,
					const struct sl_pod *pod,
					const struct sl_labels *ns_labels,
					char *canonical)
{
	struct sl_identity *id = calloc(1, sizeof(*id));
	char buf[4096], num[16];
	uint32_t salt = 0;

	if (!id)
		return NULL;
	id->canonical = canonical;
	/* A collision gets the next salt; logged, since two label sets
	 * that meet may then be numbered differently on another node. */
	for (;;) {
		struct sl_identity *other;

		id->id = sl_identity_hash(canonical, salt);
		snprintf(num, sizeof(num), "%u", id->id);
		other = sl_table_get(&m->identity_ids, num);
		if (!other)
			break;
		m->collisions++;
		log_error("identity %u collides: %s vs %s; probing", id->id,
			  other->labels, canonical);
		salt++;
	}
	id->ns = strdup(pod->ns);
	sl_labels_format(&pod->labels, buf, sizeof(buf));
	id->labels = strdup(buf);
	buf[0] = '\0';
	if (ns_labels)
		sl_labels_format(ns_labels, buf, sizeof(buf));
	id->ns_labels = strdup(buf);
	if (!id->ns || !id->labels || !id->ns_labels ||
	    sl_table_put(&m->identity_ids, num, id, NULL) < 0) {
		id->canonical = NULL; /* the caller frees it */
		identity_free(id);
		return NULL;
	}
	if (sl_table_put(&m->identities, canonical, id, NULL) < 0) {
		sl_table_del(&m->identity_ids, num);
		id->canonical = NULL;
		identity_free(id);
		return NULL;
	}
	return id;
}

/* Find or make the identity a pod's labels and namespace give (no ref). */
static struct sl_identity *identity_for(struct sl_model *m,
					const struct sl_pod *pod)
{
	const struct sl_object *ns = sl_model_get(m, SL_KIND_NAMESPACE, pod->ns);
	struct sl_identity *id;
	char *canonical;

	canonical = canonical_form(pod, ns ? &ns->ns.labels : NULL);
	if (!canonical)
		return NULL;
	id = sl_table_get(&m->identities, canonical);
	if (id) {
		free(canonical);
		return id;
	}
	id = identity_new(m, pod, ns ? &ns->ns.labels : NULL, canonical);
	if (!id) {
		free(canonical);
		return NULL;
	}
	log_info("new identity %u: %s [%s]", id->id, id->ns, id->labels);
	return id;
}

static int pod_assign_identity(struct sl_model *m, struct sl_model_obj *mo)
{
	struct sl_identity *id = NULL;

	/* Host-network pods are the host. */
	if (!mo->obj.pod.host_network) {
		id = identity_for(m, &mo->obj.pod);
		if (!id) {
			/* Keep the old one; the next refresh retries. */
			m->identities_stale = true;
			return -ENOMEM;
		}
		id->refs++; /* before the unref: it may be the same one */
	}
	identity_unref(m, mo->identity);
	mo->identity = id;
	return 0;
}

/* A namespace's labels are part of its pods' identities. Scanning every pod
 * costs a string compare each; only that namespace's pods are rehashed. */
static void namespace_changed(struct sl_model *m, const char *ns)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&m->objects[SL_KIND_POD], &i, &key, &val);) {
		struct sl_model_obj *mo = val;

		if (!strcmp(mo->obj.pod.ns, ns))
			pod_assign_identity(m, mo);
	}
}

static bool same_object(const struct sl_object *a, const struct sl_object *b)
{
	switch (a->kind) {
	case SL_KIND_POD:
		return !strcmp(a->pod.uid, b->pod.uid) &&
		       !strcmp(a->pod.node, b->pod.node) &&
		       a->pod.ip == b->pod.ip &&
		       a->pod.host_network == b->pod.host_network &&
		       sl_labels_equal(&a->pod.labels, &b->pod.labels) &&
		       sl_pod_ports_equal(&a->pod, &b->pod);
	case SL_KIND_NAMESPACE:
		return sl_labels_equal(&a->ns.labels, &b->ns.labels);
	case SL_KIND_NODE:
		return a->node.have_pod_cidr == b->node.have_pod_cidr &&
		       a->node.pod_cidr == b->node.pod_cidr &&
		       a->node.pod_prefix == b->node.pod_prefix &&
		       a->node.internal_ip == b->node.internal_ip &&
		       !strcmp(a->node.zone, b->node.zone);
	/* 64-bit digests of the decoded fields: a collision (odds 2^-64 per
	 * update) would skip one update, which the next one repairs. */
	case SL_KIND_SERVICE:
		return a->svc.digest == b->svc.digest;
	case SL_KIND_ENDPOINTSLICE:
		return a->slice.digest == b->slice.digest;
	case SL_KIND_NETPOL:
		return a->netpol.digest == b->netpol.digest;
	default:
		return false;
	}
}

int sl_model_upsert(struct sl_model *m, struct sl_object *obj,
		    const char *owner)
{
	struct sl_table *t = &m->objects[obj->kind];
	struct sl_model_obj *cur = sl_table_get(t, obj->key), *mo;
	void *old;
	bool same_owner;

	if (cur) {
		same_owner = !strcmp(cur->owner, owner);
		if (same_owner && same_object(&cur->obj, obj)) {
			sl_object_free(obj);
			return 0;
		}
		if (!same_owner)
			log_warn("%s %s is defined by both %s and %s; using %s",
				 sl_kind_name(obj->kind), obj->key, cur->owner,
				 owner, owner);
	}
	mo = calloc(1, sizeof(*mo));
	if (!mo || !(mo->owner = strdup(owner))) {
		free(mo);
		return -ENOMEM;
	}
	mo->obj = *obj;
	if (sl_table_put(t, obj->key, mo, &old) < 0) {
		free(mo->owner);
		free(mo);
		return -ENOMEM;
	}
	memset(obj, 0, sizeof(*obj));
	if (mo->obj.kind == SL_KIND_POD)
		pod_assign_identity(m, mo);
	if (old)
		obj_free(m, old);
	if (mo->obj.kind == SL_KIND_NAMESPACE)
		namespace_changed(m, mo->obj.key);
	m->generation++;
	log_change(m, mo->obj.kind, mo->obj.key);
	return 1;
}

int sl_model_delete(struct sl_model *m, enum sl_kind kind, const char *key,
		    const char *owner)
{
	struct sl_model_obj *cur = sl_table_get(&m->objects[kind], key);

	if (!cur || (owner && strcmp(cur->owner, owner)))
		return 0;
	obj_free(m, sl_table_del(&m->objects[kind], key));
	if (kind == SL_KIND_NAMESPACE)
		namespace_changed(m, key);
	m->generation++;
	log_change(m, kind, key);
	return 1;
}

const struct sl_object *sl_model_get(const struct sl_model *m,
				     enum sl_kind kind, const char *key)
{
	struct sl_model_obj *mo = sl_table_get(&m->objects[kind], key);

	return mo ? &mo->obj : NULL;
}

size_t sl_model_count(const struct sl_model *m, enum sl_kind kind)
{
	return m->objects[kind].len;
}

const struct sl_identity *sl_model_identity(const struct sl_model *m,
					    const char *pod_key)
{
	struct sl_model_obj *mo = sl_table_get(&m->objects[SL_KIND_POD], pod_key);

	return mo ? mo->identity : NULL;
}

int sl_model_refresh_identities(struct sl_model *m)
{
	const char *key;
	void *val;
	int err = 0;

	if (!m->identities_stale)
		return 0;
	m->identities_stale = false;
	for (size_t i = 0; sl_table_next(&m->objects[SL_KIND_POD], &i, &key, &val);)
		if (pod_assign_identity(m, val) < 0)
			err = -ENOMEM;
	return err;
}

/* --- local addresses ------------------------------------------------------ */

static int cmp_local(const void *a, const void *b)
{
	const struct sl_local_addr *x = a, *y = b;
	int r = strcmp(x->pod, y->pod);

	if (r)
		return r;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

int sl_model_set_local_addrs(struct sl_model *m, const struct sl_local_addr *v,
			     size_t n)
{
	struct sl_local_addr *next = calloc(n ? n : 1, sizeof(*next));
	bool changed = n != m->n_local;

	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		next[i].ip = v[i].ip;
		next[i].pod = strdup(v[i].pod);
		if (!next[i].pod) {
			local_free(next, i);
			return -ENOMEM;
		}
	}
	if (n)
		qsort(next, n, sizeof(*next), cmp_local);
	for (size_t i = 0; i < n; i++) {
		next[i].fresh = !m->n_local ||
				!bsearch(&next[i], m->local, m->n_local,
					 sizeof(*m->local), cmp_local);
		changed |= next[i].fresh;
	}
	local_free(m->local, m->n_local);
	m->local = next;
	m->n_local = n;
	if (changed)
		m->generation++;
	return changed;
}

static int cmp_local_pod(const void *key, const void *la)
{
	return strcmp(key, ((const struct sl_local_addr *)la)->pod);
}

size_t sl_model_local_addrs(const struct sl_model *m, const char *pod_key,
			    const struct sl_local_addr **first)
{
	const struct sl_local_addr *la, *end, *p;

	la = m->n_local ? bsearch(pod_key, m->local, m->n_local,
				  sizeof(*m->local), cmp_local_pod) :
			  NULL;
	if (!la)
		return 0;
	end = m->local + m->n_local;
	/* bsearch lands on any of the pod's entries: find the first. */
	while (la > m->local && !strcmp(la[-1].pod, pod_key))
		la--;
	for (p = la; p < end && !strcmp(p->pod, pod_key); p++)
		;
	*first = la;
	return (size_t)(p - la);
}

const struct sl_pod *sl_model_local_pod(const struct sl_model *m,
					const char *pod_key, const char *self)
{
	const struct sl_object *o = sl_model_get(m, SL_KIND_POD, pod_key);

	if (!o || o->pod.host_network ||
	    (o->pod.node[0] && strcmp(o->pod.node, self)))
		return NULL;
	return &o->pod;
}

uint32_t sl_model_pod_addr(const struct sl_model *m, const char *pod_key,
			   const char *self)
{
	const struct sl_object *o = sl_model_get(m, SL_KIND_POD, pod_key);
	const struct sl_local_addr *la;
	size_t n;

	if (!o)
		return 0;
	n = sl_model_local_pod(m, pod_key, self) ?
		    sl_model_local_addrs(m, pod_key, &la) : 0;
	for (size_t i = 0; i < n; i++)
		if (la[i].ip == o->pod.ip)
			return o->pod.ip;
	return n ? la[0].ip : o->pod.ip;
}

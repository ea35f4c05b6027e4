// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char tomb;
#define TOMB (&tomb)

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void sl_table_init(struct sl_table *t)
{
	memset(t, 0, sizeof(*t));
}

void sl_table_free(struct sl_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key && t->slots[i].key != TOMB)
			free(t->slots[i].key);
	free(t->slots);
	sl_table_init(t);
}

static struct sl_table_slot *find(const struct sl_table *t, const char *key)
{
	size_t mask = t->cap - 1, i;

	if (!t->cap)
		return NULL;
	for (i = hash_str(key) & mask;; i = (i + 1) & mask) {
		struct sl_table_slot *s = &t->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMB && !strcmp(s->key, key))
			return s;
	}
}

void *sl_table_get(const struct sl_table *t, const char *key)
{
	struct sl_table_slot *s = find(t, key);

	return s ? s->val : NULL;
}

static int grow(struct sl_table *t)
{
	struct sl_table old = *t;
	size_t cap = t->cap ? t->cap * 2 : 16;

	/* Rehash in place of tombstones when most of "used" is dead. */
	if (t->cap && t->len * 2 < t->cap / 2)
		cap = t->cap;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		*t = old;
		return -ENOMEM;
	}
	t->cap = cap;
	t->len = t->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		struct sl_table_slot *s = &old.slots[i];
		size_t j;

		if (!s->key || s->key == TOMB)
			continue;
		for (j = hash_str(s->key) & (cap - 1); t->slots[j].key;
		     j = (j + 1) & (cap - 1))
			;
		t->slots[j] = *s;
		t->len++;
		t->used++;
	}
	free(old.slots);
	return 0;
}

int sl_table_put(struct sl_table *t, const char *key, void *val, void **old)
{
	struct sl_table_slot *s = find(t, key);
	size_t i, mask;
	char *k;

	if (old)
		*old = NULL;
	if (s) {
		if (old)
			*old = s->val;
		s->val = val;
		return 0;
	}
	if ((t->used + 1) * 4 > t->cap * 3 && grow(t) < 0)
		return -ENOMEM;
	k = strdup(key);
	if (!k)
		return -ENOMEM;
	mask = t->cap - 1;
	for (i = hash_str(key) & mask;
	     t->slots[i].key && t->slots[i].key != TOMB; i = (i + 1) & mask)
		;
	if (!t->slots[i].key)
		t->used++;
	t->slots[i].key = k;
	t->slots[i].val = val;
	t->len++;
	return 0;
}

void *sl_table_del(struct sl_table *t, const char *key)
{
	struct sl_table_slot *s = find(t, key);
	void *val;

	if (!s)
		return NULL;
	val = s->val;
	free(s->key);
	s->key = TOMB;
	s->val = NULL;
	t->len--;
	return val;
}

int sl_table_next(const struct sl_table *t, size_t *iter, const char **key,
		  void **val)
{
	for (; *iter < t->cap; (*iter)++) {
		struct sl_table_slot *s = &t->slots[*iter];

		if (s->key && s->key != TOMB) {
			*key = s->key;
			*val = s->val;
			(*iter)++;
			return 1;
		}
	}
	return 0;
}

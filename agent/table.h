/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A string-keyed hash table (open addressing, owns its keys). */
#ifndef SL_AGENT_TABLE_H
#define SL_AGENT_TABLE_H

#include <stddef.h>

struct sl_table_slot {
	char *key; /* NULL: empty; SL_TABLE_TOMB: deleted */
	void *val;
};

struct sl_table {
	struct sl_table_slot *slots;
	size_t cap;  /* power of two */
	size_t len;  /* live entries */
	size_t used; /* live + tombstones */
};

void sl_table_init(struct sl_table *t);
/* Frees the keys; values are the caller's (free them first with foreach). */
void sl_table_free(struct sl_table *t);
void *sl_table_get(const struct sl_table *t, const char *key);
/* Insert or replace; *old gets a replaced value (or NULL). 0 or -ENOMEM. */
int sl_table_put(struct sl_table *t, const char *key, void *val, void **old);
/* Remove and return the value, or NULL. */
void *sl_table_del(struct sl_table *t, const char *key);

/* Iterate: for (i = 0; sl_table_next(t, &i, &k, &v);) */
int sl_table_next(const struct sl_table *t, size_t *iter, const char **key,
		  void **val);

#endif /* SL_AGENT_TABLE_H */

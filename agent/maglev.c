// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev lookup tables; see maglev.h. The paper's population algorithm,
 * with the backends in the order of their identities so the table is a
 * function of the set alone.
 */
#include "maglev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SL_MAGLEV_M > 2 && SL_MAGLEV_M < (1u << 31),
	       "SL_MAGLEV_M must be a prime the arithmetic here can hold");

/* FNV-1a over the identity, then two different finalisers of that. */
static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* MurmurHash3's 64-bit finaliser: every input bit reaches every output bit. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

void sl_maglev_permutation(const struct sl_maglev_backend *be,
			   uint32_t *offset, uint32_t *skip)
{
	char id[32];
	uint64_t h;

	/* "10.244.1.5:8080/6": what the backend is, on any node. */
	snprintf(id, sizeof(id), "%u.%u.%u.%u:%u/%u", be->ip >> 24,
		 (be->ip >> 16) & 0xff, (be->ip >> 8) & 0xff, be->ip & 0xff,
		 be->port, be->proto);
	h = fnv1a64(id);
	/* Two bijective mixes of one 64-bit digest under different keys:
	 * independent as far as offset and skip can tell. */
	*offset = (uint32_t)(fmix64(h ^ 0x6d61676c65762d31ull) % SL_MAGLEV_M);
	*skip = (uint32_t)(fmix64(h ^ 0x736b69702d6d6c76ull) %
			   (SL_MAGLEV_M - 1)) + 1;
}

static int identity_cmp(const void *a, const void *b)
{
	const struct sl_maglev_backend *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct perm {
	uint32_t next; /* the next entry of its preference list */
	uint32_t skip;
};

int sl_maglev_fill(const struct sl_maglev_backend *be, size_t n,
		   __u32 *table)
{
	struct sl_maglev_backend *sorted;
	struct perm *p;
	uint32_t *owner; /* backend index + 1; 0: free */
	size_t filled = 0;

	if (!n)
		return -EINVAL;
	sorted = malloc(n * sizeof(*sorted));
	p = malloc(n * sizeof(*p));
	owner = calloc(SL_MAGLEV_M, sizeof(*owner));
	if (!sorted || !p || !owner) {
		free(sorted);
		free(p);
		free(owner);
		return -ENOMEM;
	}
	memcpy(sorted, be, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), identity_cmp);
	for (size_t i = 0; i < n; i++)
		sl_maglev_permutation(&sorted[i], &p[i].next, &p[i].skip);
	/*
	 * Each turn, every backend claims the first free entry of its
	 * preference list (offset, offset + skip, ... mod M: all M entries,
	 * as M is prime). A backend never gets a second entry before every
	 * other has had one more: the shares differ by one at most.
	 */
	while (filled < SL_MAGLEV_M) {
		for (size_t i = 0; i < n && filled < SL_MAGLEV_M; i++) {
			uint32_t c = p[i].next;

			while (owner[c]) {
				c += p[i].skip;
				if (c >= SL_MAGLEV_M)
					c -= SL_MAGLEV_M;
			}
			owner[c] = (uint32_t)i + 1;
			p[i].next = c + p[i].skip;
			if (p[i].next >= SL_MAGLEV_M)
				p[i].next -= SL_MAGLEV_M;
			filled++;
		}
	}
	for (size_t c = 0; c < SL_MAGLEV_M; c++)
		table[c] = sorted[owner[c] - 1].id;
	free(sorted);
	free(p);
	free(owner);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev tables (agent/maglev.c) and the datapath's tuple hash
 * (sl_maglev_hash4 in include/sluice/service.h): balance, minimal
 * disruption, the same table from the same backends on every node.
 */
#include "unit.h"
#include "maglev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#define M SL_MAGLEV_M
#define MAX_BE 128

/* Backend i: 10.244.<i/200>.<i%200 + 1>:8080/TCP, id 1000 + i. */
static struct sl_maglev_backend backend(unsigned int i)
{
	return (struct sl_maglev_backend){
		.id = 1000 + i,
		.ip = (10u << 24) | (244u << 16) | ((i / 200) << 8) |
		      (i % 200 + 1),
		.port = 8080,
		.proto = IPPROTO_TCP,
	};
}

static __u32 *table_of(const struct sl_maglev_backend *be, size_t n)
{
	__u32 *t = malloc(M * sizeof(*t));

	assert_non_null(t);
	assert_int_equal(sl_maglev_fill(be, n, t), 0);
	return t;
}

/* How many entries of t hold id. */
static size_t share(const __u32 *t, __u32 id)
{
	size_t k = 0;

	for (size_t i = 0; i < M; i++)
		k += t[i] == id;
	return k;
}

static void test_prime(void **state)
{
	(void)state;
	for (unsigned int d = 2; d * d <= M; d++)
		assert_int_not_equal(M % d, 0);
}

/* Every backend gets M/N entries, one more or less; nothing else is named. */
static void test_balance(void **state)
{
	static const size_t ns[] = { 1, 2, 3, 7, 10, 33, 100, MAX_BE };
	struct sl_maglev_backend be[MAX_BE];

	(void)state;
	for (size_t i = 0; i < MAX_BE; i++)
		be[i] = backend((unsigned int)i);
	for (size_t k = 0; k < sizeof(ns) / sizeof(*ns); k++) {
		size_t n = ns[k], total = 0;
		__u32 *t = table_of(be, n);

		for (size_t i = 0; i < n; i++) {
			size_t s = share(t, be[i].id);

			if (s < M / n || s > M / n + 1)
				fail_msg("%zu backends: backend %zu has %zu "
					 "entries, want %zu or %zu",
					 n, i, s, (size_t)M / n,
					 (size_t)M / n + 1);
			total += s;
		}
		assert_int_equal(total, M); /* no foreign or zero id */
		free(t);
	}
}

/* Entries that changed between two tables, not counting those of gone. */
static size_t moved(const __u32 *a, const __u32 *b, __u32 gone)
{
	size_t k = 0;

	for (size_t i = 0; i < M; i++)
		k += a[i] != gone && a[i] != b[i];
	return k;
}

/*
 * One backend out of N goes: its entries go to the others, and only a
 * small part of the others' entries move besides (the paper's Figure 11:
 * a few percent of the table). One comes in: it takes its share, from the
 * others alike, and little moves besides.
 */
static void test_minimal_disruption(void **state)
{
	static const size_t ns[] = { 3, 5, 10, 20, 50, 100 };
	struct sl_maglev_backend be[MAX_BE], less[MAX_BE];

	(void)state;
	for (size_t i = 0; i < MAX_BE; i++)
		be[i] = backend((unsigned int)i);
	for (size_t k = 0; k < sizeof(ns) / sizeof(*ns); k++) {
		size_t n = ns[k], gone = n / 2, extra, took;
		__u32 *all, *rest;

		for (size_t i = 0, j = 0; i < n; i++)
			if (i != gone)
				less[j++] = be[i];
		all = table_of(be, n);
		rest = table_of(less, n - 1);
		assert_int_equal(share(rest, be[gone].id), 0);
		/* Removal: beyond the entries of the one gone. */
		extra = moved(all, rest, be[gone].id);
		/* Addition (rest -> all): entries that moved elsewhere than
		 * to the newcomer. */
		took = 0;
		for (size_t i = 0; i < M; i++)
			took += rest[i] != all[i] && all[i] != be[gone].id;
		free(all);
		free(rest);
		printf("  %3zu backends: one removed moves %zu entries of "
		       "the others (%.2f%% of the table, share %zu)\n",
		       n, extra, 100.0 * (double)extra / M, (size_t)M / n);
		/* About a share at most (with M > 100 N, as the paper
		 * wants), and never more than 2% of the table. */
		if (extra > M / n + M / 100 || extra > M / 50)
			fail_msg("%zu backends: removing one moved %zu other "
				 "entries, more than a share (%zu) or 2%%",
				 n, extra, (size_t)M / n);
		assert_int_equal(took, extra); /* the same change backwards */
	}
}

/* The same backends in any order, under any ids (another node's): the
 * same table, backend for backend. */
static void test_deterministic(void **state)
{
	struct sl_maglev_backend be[10], shuffled[10];
	__u32 *a, *b, *c;

	(void)state;
	for (size_t i = 0; i < 10; i++)
		be[i] = backend((unsigned int)i * 7);
	a = table_of(be, 10);
	b = table_of(be, 10);
	assert_memory_equal(a, b, M * sizeof(*a));
	free(b);
	/* Reversed, and with other ids: id + 5000 at every entry. */
	for (size_t i = 0; i < 10; i++) {
		shuffled[i] = be[9 - i];
		shuffled[i].id += 5000;
	}
	c = table_of(shuffled, 10);
	for (size_t i = 0; i < M; i++)
		if (c[i] != a[i] + 5000)
			fail_msg("entry %zu: %u on one node, %u on the other",
				 i, a[i], c[i]);
	free(c);
	free(a);
}

/* FNV-1a of a table's ids: a summary to pin the algorithm with. */
static uint64_t digest(const __u32 *t)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < M; i++) {
		h ^= t[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Agents of two versions run side by side during a rollout: a change to
 * the hashes or the fill would send one connection to two backends. This
 * pins them; changing it is a compatibility decision.
 */
/* What this implementation gives (the hash also checked against the
 * kernel's jhash_3words by hand). */
#define MAGLEV_PIN_OFFSET 9964
#define MAGLEV_PIN_SKIP 1925
#define MAGLEV_PIN_DIGEST 0x63af8395151fb9aaull
#define MAGLEV_PIN_HASH 0x79acce59u

static void test_pinned(void **state)
{
	struct sl_maglev_backend be[3] = {
		{ .id = 1, .ip = 0x0af40105, .port = 8080, .proto = 6 },
		{ .id = 2, .ip = 0x0af40206, .port = 8080, .proto = 6 },
		{ .id = 3, .ip = 0x0af40307, .port = 8443, .proto = 6 },
	};
	uint32_t off, skip;
	uint64_t d;
	__u32 *t, h;

	(void)state;
	sl_maglev_permutation(&be[0], &off, &skip);
	printf("  10.244.1.5:8080/6: offset %u skip %u\n", off, skip);
	assert_true(off < M && skip >= 1 && skip < M);
	t = table_of(be, 3);
	printf("  table digest %016llx; entries 0..3: %u %u %u %u\n",
	       (unsigned long long)digest(t), t[0], t[1], t[2], t[3]);
	h = sl_maglev_hash4(htonl(0x0af40105), htonl(0x0a60000a), htons(40000),
			    htons(80), IPPROTO_TCP);
	printf("  hash of 10.244.1.5:40000 -> 10.96.0.10:80/TCP: %08x\n", h);
	d = digest(t);
	free(t);
	assert_int_equal(off, MAGLEV_PIN_OFFSET);
	assert_int_equal(skip, MAGLEV_PIN_SKIP);
	assert_true(d == MAGLEV_PIN_DIGEST);
	assert_int_equal(h, MAGLEV_PIN_HASH);
}

/* Different backends start and step differently. */
static void test_permutations_differ(void **state)
{
	uint32_t off[MAX_BE], skip[MAX_BE];
	size_t same = 0;

	(void)state;
	for (size_t i = 0; i < MAX_BE; i++) {
		struct sl_maglev_backend b = backend((unsigned int)i);

		sl_maglev_permutation(&b, &off[i], &skip[i]);
		assert_true(off[i] < M && skip[i] >= 1 && skip[i] < M);
	}
	for (size_t i = 0; i < MAX_BE; i++)
		for (size_t j = i + 1; j < MAX_BE; j++)
			same += off[i] == off[j] && skip[i] == skip[j];
	assert_int_equal(same, 0);
	/* The port and the protocol are part of what a backend is. */
	{
		struct sl_maglev_backend a = backend(0), b = a, c = a;
		uint32_t o1, s1, o2, s2, o3, s3;

		b.port = 8081;
		c.proto = IPPROTO_UDP;
		sl_maglev_permutation(&a, &o1, &s1);
		sl_maglev_permutation(&b, &o2, &s2);
		sl_maglev_permutation(&c, &o3, &s3);
		assert_true(o1 != o2 || s1 != s2);
		assert_true(o1 != o3 || s1 != s3);
	}
}

/*
 * The datapath's hash spreads connections evenly: one client's source
 * ports over a three-backend table, and many clients with one port.
 */
static void test_tuple_hash_spread(void **state)
{
	struct sl_maglev_backend be[3] = { backend(0), backend(1),
					   backend(2) };
	unsigned int by_port[3] = { 0 }, by_client[3] = { 0 };
	const unsigned int flows = 30000;
	__u32 *t;

	(void)state;
	t = table_of(be, 3);
	for (unsigned int i = 0; i < flows; i++) {
		__u32 h1 = sl_maglev_hash4(htonl(0x0af40105), htonl(0x0a60000a),
					   htons((uint16_t)(32768 + i)),
					   htons(80), IPPROTO_TCP);
		__u32 h2 = sl_maglev_hash4(htonl(0x0af40000 + i),
					   htonl(0x0a60000a), htons(40000),
					   htons(80), IPPROTO_TCP);

		by_port[t[h1 % M] - be[0].id]++;
		by_client[t[h2 % M] - be[0].id]++;
	}
	for (size_t b = 0; b < 3; b++) {
		printf("  backend %zu: %u by port, %u by client\n", b,
		       by_port[b], by_client[b]);
		assert_true(by_port[b] > flows / 3 * 95 / 100 &&
			    by_port[b] < flows / 3 * 105 / 100);
		assert_true(by_client[b] > flows / 3 * 95 / 100 &&
			    by_client[b] < flows / 3 * 105 / 100);
	}
	/* The protocol counts: TCP and UDP of one tuple may differ. */
	assert_int_not_equal(sl_maglev_hash4(1, 2, 3, 4, IPPROTO_TCP),
			     sl_maglev_hash4(1, 2, 3, 4, IPPROTO_UDP));
	free(t);
}

static void test_no_backends(void **state)
{
	__u32 t[4];

	(void)state;
	assert_int_equal(sl_maglev_fill(NULL, 0, t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prime),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_permutations_differ),
		cmocka_unit_test(test_tuple_hash_spread),
		cmocka_unit_test(test_no_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the watch stream parser: the input is fed in chunks
 * whose sizes come from its first bytes, so the fuzzer explores chunk
 * boundaries as well as content. The result must not depend on the
 * chunking: the same bytes fed whole give the same events, or the same
 * failure. ASan catches reads past a chunk; LeakSanitizer a lost value.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_watch.h"

struct run {
	unsigned long events, valid;
	uint64_t hash;
};

static int on_value(void *ctx, json_object *v)
{
	struct run *r = ctx;
	enum sl_watch_type type;
	json_object *obj;
	const char *rv, *s;
	char why[256];

	r->events++;
	if (sl_watch_event_parse(v, &type, &obj, &rv, why, sizeof(why)) == 0) {
		if (!obj || (type != SL_WATCH_ERROR && (!rv || !rv[0])))
			abort();
		r->valid++;
	} else if (!why[0]) {
		abort();
	}
	/* Fold the value's text in: split and whole must agree on it. */
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	for (; *s; s++)
		r->hash = (r->hash ^ (unsigned char)*s) * 0x100000001b3ull;
	return 0;
}

static int feed(const uint8_t *data, size_t size, const uint8_t *cuts,
		size_t ncuts, struct run *r)
{
	struct sl_watch_parser p;
	char why[256] = "";
	size_t off = 0, i = 0;
	int err = 0;

	if (sl_watch_parser_init(&p) < 0)
		return -ENOMEM;
	while (off < size && !err) {
		size_t n = ncuts ? (size_t)cuts[i++ % ncuts] % 64 + 1 : size;

		if (n > size - off)
			n = size - off;
		/* A private copy of exactly n bytes: ASan sees any overread. */
		{
			char *chunk = malloc(n);

			if (!chunk)
				abort();
			memcpy(chunk, data + off, n);
			err = sl_watch_parser_feed(&p, chunk, n, on_value, r, why,
						   sizeof(why));
			free(chunk);
		}
		off += n;
	}
	if (err && (err != -EBADMSG || !why[0]))
		abort();
	sl_watch_parser_free(&p);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { .hash = 14695981039346656037ull };
	struct run split = whole;
	size_t ncuts = size ? data[0] % 8 : 0;
	int a, b;

	if (size < 1 + ncuts)
		return 0;
	a = feed(data + 1 + ncuts, size - 1 - ncuts, data + 1, ncuts, &split);
	b = feed(data + 1 + ncuts, size - 1 - ncuts, NULL, 0, &whole);
	/* Same verdict and, when both succeed, the same values. A failing
	 * stream may fail after a different number of values (a cut can
	 * end input before the bad byte), so only success is compared. */
	if ((a == 0) != (b == 0))
		abort();
	if (!a && (split.events != whole.events || split.hash != whole.hash ||
		   split.valid != whole.valid))
		abort();
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The watch stream parser (T25): events split across chunks at every
 * byte, several per chunk, separators alone, garbage, oversized events;
 * and the event envelope checks.
 */
#include "unit.h"
#include "k8s_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct seen {
	int n;
	char names[16][32];
	int stop_at; /* return -ECANCELED at this event (1-based); 0 never */
};

static int collect(void *ctx, json_object *v)
{
	struct seen *s = ctx;
	json_object *obj, *meta, *name;

	assert_true(s->n < 16);
	if (json_object_object_get_ex(v, "object", &obj) &&
	    json_object_object_get_ex(obj, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "name", &name))
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s",
			 json_object_get_string(name));
	s->n++;
	return s->stop_at == s->n ? -ECANCELED : 0;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b \\u00e9}{\",\"resourceVersion\":\"2\"}}}\n"
	"\r\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"3\",\"x\":[1,2.5,true,null]}}}\n";

static void check_three(const struct seen *s)
{
	assert_int_equal(s->n, 3);
	assert_string_equal(s->names[0], "a");
	assert_string_equal(s->names[1], "b \xc3\xa9}{");
	assert_string_equal(s->names[2], "c");
}

/* Every way of cutting the stream into two or three chunks. */
static void test_split_everywhere(void **state)
{
	size_t len = strlen(stream);
	char why[256];

	(void)state;
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j += 7) {
			struct sl_watch_parser p;
			struct seen s = {};

			assert_int_equal(sl_watch_parser_init(&p), 0);
			assert_int_equal(sl_watch_parser_feed(&p, stream, i, collect,
							      &s, why, sizeof(why)), 0);
			assert_int_equal(sl_watch_parser_feed(&p, stream + i, j - i,
							      collect, &s, why,
							      sizeof(why)), 0);
			assert_int_equal(sl_watch_parser_feed(&p, stream + j, len - j,
							      collect, &s, why,
							      sizeof(why)), 0);
			check_three(&s);
			sl_watch_parser_free(&p);
		}
	}
}

static void test_byte_by_byte_and_packed(void **state)
{
	struct sl_watch_parser p;
	struct seen s = {};
	char why[256];

	(void)state;
	assert_int_equal(sl_watch_parser_init(&p), 0);
	for (size_t i = 0; i < strlen(stream); i++)
		assert_int_equal(sl_watch_parser_feed(&p, stream + i, 1, collect,
						      &s, why, sizeof(why)), 0);
	check_three(&s);
	/* Two values on one line, no separator between them. */
	memset(&s, 0, sizeof(s));
	{
		const char packed[] = "{\"object\":{\"metadata\":{\"name\":\"x\"}}}"
				      "{\"object\":{\"metadata\":{\"name\":\"y\"}}}\n";

		assert_int_equal(sl_watch_parser_feed(&p, packed, strlen(packed),
						      collect, &s, why,
						      sizeof(why)), 0);
	}
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[1], "y");
	/* Empty and separator-only chunks change nothing. */
	assert_int_equal(sl_watch_parser_feed(&p, "", 0, collect, &s, why,
					      sizeof(why)), 0);
	assert_int_equal(sl_watch_parser_feed(&p, "\n\n  ", 4, collect, &s, why,
					      sizeof(why)), 0);
	assert_int_equal(s.n, 2);
	sl_watch_parser_free(&p);
}

static void test_callback_stops(void **state)
{
	struct sl_watch_parser p;
	struct seen s = { .stop_at = 2 };
	char why[256];

	(void)state;
	assert_int_equal(sl_watch_parser_init(&p), 0);
	assert_int_equal(sl_watch_parser_feed(&p, stream, strlen(stream), collect,
					      &s, why, sizeof(why)), -ECANCELED);
	assert_int_equal(s.n, 2);
	sl_watch_parser_free(&p);
}

static void expect_bad(const char *const *chunks, size_t n, int events)
{
	struct sl_watch_parser p;
	struct seen s = {};
	char why[256] = "";
	int err = 0;

	assert_int_equal(sl_watch_parser_init(&p), 0);
	for (size_t i = 0; i < n && !err; i++)
		err = sl_watch_parser_feed(&p, chunks[i], strlen(chunks[i]),
					   collect, &s, why, sizeof(why));
	assert_int_equal(err, -EBADMSG);
	assert_true(why[0] != '\0');
	assert_int_equal(s.n, events);
	/* After a reset the parser reads a good stream again. */
	sl_watch_parser_reset(&p);
	memset(&s, 0, sizeof(s));
	assert_int_equal(sl_watch_parser_feed(&p, stream, strlen(stream), collect,
					      &s, why, sizeof(why)), 0);
	check_three(&s);
	sl_watch_parser_free(&p);
}

static void test_garbage(void **state)
{
	/* Lines end in a newline, as the API server writes them; that is
	 * when a line is judged. */
	const char *const a[] = { "{\"type\":\"ADDED\",\"object\":{}}\n", "<html>\n" };
	const char *const b[] = { "{\"type\":\"ADD", "ED\"]\n" };
	const char *const c[] = { "{\"a\":1}\n}\n" };

	(void)state;
	expect_bad(a, 2, 1);
	expect_bad(b, 2, 0);
	expect_bad(c, 1, 1);
	{
		/* An embedded NUL byte is not JSON. */
		struct sl_watch_parser p;
		struct seen s = {};
		char why[256];
		const char nul[] = "{\"a\":1}\0{\n";

		assert_int_equal(sl_watch_parser_init(&p), 0);
		assert_int_equal(sl_watch_parser_feed(&p, nul, sizeof(nul) - 1,
						      collect, &s, why,
						      sizeof(why)), -EBADMSG);
		assert_int_equal(s.n, 1);
		sl_watch_parser_free(&p);
	}
}

static void test_too_long(void **state)
{
	struct sl_watch_parser p;
	struct seen s = {};
	char why[256], *big;
	size_t chunk = 1 << 20;
	int err = 0;

	(void)state;
	big = malloc(chunk);
	assert_non_null(big);
	memset(big, 'a', chunk);
	assert_int_equal(sl_watch_parser_init(&p), 0);
	assert_int_equal(sl_watch_parser_feed(&p, "{\"k\":\"", 6, collect, &s,
					      why, sizeof(why)), 0);
	for (int i = 0; i < 20 && !err; i++)
		err = sl_watch_parser_feed(&p, big, chunk, collect, &s, why,
					   sizeof(why));
	assert_int_equal(err, -EBADMSG);
	assert_non_null(strstr(why, "longer than"));
	sl_watch_parser_free(&p);
	free(big);
}

static void test_event_envelope(void **state)
{
	static const struct {
		const char *json;
		int err;
		enum sl_watch_type type;
		const char *rv;
	} cases[] = {
		{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}", 0, SL_WATCH_ADDED, "7" },
		{ "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"9\"}}}", 0, SL_WATCH_BOOKMARK, "9" },
		{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}", 0, SL_WATCH_ERROR, NULL },
		{ "{\"type\":\"DELETED\",\"object\":{\"metadata\":{}}}", -EBADMSG, 0, NULL },
		{ "{\"type\":\"ADDED\",\"object\":[]}", -EBADMSG, 0, NULL },
		{ "{\"type\":\"ADDED\"}", -EBADMSG, 0, NULL },
		{ "{\"type\":\"RENAMED\",\"object\":{}}", -EBADMSG, 0, NULL },
		{ "{\"type\":1,\"object\":{}}", -EBADMSG, 0, NULL },
		{ "[1]", -EBADMSG, 0, NULL },
		{ "\"ADDED\"", -EBADMSG, 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *ev = parse_json(cases[i].json), *obj;
		enum sl_watch_type type;
		const char *rv;
		char why[256] = "";

		assert_int_equal(sl_watch_event_parse(ev, &type, &obj, &rv, why,
						       sizeof(why)), cases[i].err);
		if (!cases[i].err) {
			assert_int_equal(type, cases[i].type);
			assert_non_null(obj);
			if (cases[i].rv)
				assert_string_equal(rv, cases[i].rv);
			else
				assert_null(rv);
		} else {
			assert_true(why[0] != '\0');
		}
		json_object_put(ev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_byte_by_byte_and_packed),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_event_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

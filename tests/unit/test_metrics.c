// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics endpoint's parts: the Prometheus text writer (escaping, one
 * HELP/TYPE per family, stable order, any label value kept in format), the
 * datapath families, readiness, --metrics-listen parsing, the HTTP request
 * parser and the bounded HTTP server on a loopback socket.
 */
#include "unit.h"
#include "agent.h"
#include "http.h"
#include "metrics.h"
#include "prometheus.h"
#include "reasons.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- a checker of the text format, independent of the writer ------------------ */

#define MAX_FAMILIES 128

struct checked {
	int families, samples;
	char names[MAX_FAMILIES][SL_PROM_NAME_MAX];
	char last_value[4096]; /* of the last label read, unescaped */
};

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			     (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp;

		if (!len || i + len > n)
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t j = 1; j < len; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static const char *name_end(const char *s, bool colon)
{
	if (!(isalpha((unsigned char)*s) || *s == '_' || (colon && *s == ':')))
		return s;
	while (isalnum((unsigned char)*s) || *s == '_' || (colon && *s == ':'))
		s++;
	return s;
}

/* Is the line from p to eol fmt with name? */
static bool is_line(const char *p, const char *eol, const char *fmt,
		    const char *name)
{
	char want[SL_PROM_NAME_MAX + 32];

	snprintf(want, sizeof(want), fmt, name);
	return (size_t)(eol - p) == strlen(want) && !strncmp(p, want, strlen(want));
}

/* Fails the test unless out is valid exposition text: every family's
 * HELP then TYPE once, samples of the family last typed, escapes only
 * \\, \" (values) and \n, values numbers. */
static void check_format(const char *out, struct checked *c)
{
	char family[SL_PROM_NAME_MAX] = "";
	const char *p = out;

	memset(c, 0, sizeof(*c));
	if (!valid_utf8((const unsigned char *)out, strlen(out)))
		fail_msg("output is not UTF-8");
	while (*p) {
		const char *eol = strchr(p, '\n'), *e;
		char *end;

		if (!eol)
			fail_msg("last line without newline: %s", p);
		if (!strncmp(p, "# HELP ", 7)) {
			e = name_end(p + 7, true);
			if (e == p + 7 || *e != ' ')
				fail_msg("bad HELP: %.*s", (int)(eol - p), p);
			assert_true(c->families < MAX_FAMILIES);
			for (int i = 0; i < c->families; i++)
				if ((size_t)(e - p - 7) == strlen(c->names[i]) &&
				    !strncmp(c->names[i], p + 7, (size_t)(e - p - 7)))
					fail_msg("family %s twice", c->names[i]);
			snprintf(c->names[c->families], SL_PROM_NAME_MAX, "%.*s",
				 (int)(e - p - 7), p + 7);
			for (const char *h = e + 1; h < eol; h++)
				if (*h == '\\' && (h[1] != '\\' && h[1] != 'n'))
					fail_msg("bad escape in HELP: %.*s",
						 (int)(eol - p), p);
				else if (*h == '\\')
					h++;
			p = eol + 1;
			eol = strchr(p, '\n');
			snprintf(family, sizeof(family), "%s", c->names[c->families]);
			if (!eol || (!is_line(p, eol, "# TYPE %s counter", family) &&
				     !is_line(p, eol, "# TYPE %s gauge", family)))
				fail_msg("HELP of %s without its TYPE", family);
			c->families++;
			p = eol + 1;
			continue;
		}
		if (*p == '#')
			fail_msg("stray comment: %.*s", (int)(eol - p), p);
		e = name_end(p, true);
		if (!family[0] || (size_t)(e - p) != strlen(family) ||
		    strncmp(p, family, strlen(family)))
			fail_msg("sample outside its family (%s): %.*s", family,
				 (int)(eol - p), p);
		if (*e == '{') {
			e++;
			while (*e != '}') {
				const char *n = name_end(e, false);
				size_t len = 0;

				if (n == e || n[0] != '=' || n[1] != '"')
					fail_msg("bad label: %.*s", (int)(eol - p), p);
				for (e = n + 2; *e != '"'; e++) {
					char ch = *e;

					if (e >= eol)
						fail_msg("newline in a label value: %s", p);
					if (ch == '\\') {
						e++;
						ch = *e == 'n' ? '\n' : *e;
						if (*e != 'n' && *e != '\\' && *e != '"')
							fail_msg("bad escape: %.*s",
								 (int)(eol - p), p);
					}
					if (len + 1 < sizeof(c->last_value))
						c->last_value[len++] = ch;
				}
				c->last_value[len] = '\0';
				e++;
				if (*e == ',')
					e++;
				else if (*e != '}')
					fail_msg("bad label list: %.*s", (int)(eol - p), p);
			}
			e++;
		}
		if (*e != ' ')
			fail_msg("no value: %.*s", (int)(eol - p), p);
		e++;
		if (strncmp(e, "NaN\n", 4) && strncmp(e, "+Inf\n", 5) &&
		    strncmp(e, "-Inf\n", 5)) {
			strtod(e, &end);
			if (end == e || end != eol)
				fail_msg("bad value: %.*s", (int)(eol - p), p);
		}
		c->samples++;
		p = eol + 1;
	}
}

/* --- the writer ---------------------------------------------------------------- */

static void test_escaping(void **state)
{
	struct sl_prom p;
	struct checked c;

	(void)state;
	sl_prom_init(&p, 1 << 20);
	assert_int_equal(sl_prom_family(&p, "sl_test_total", SL_PROM_COUNTER,
					"a \\ and a \"quote\"\nsecond line"), 0);
	assert_int_equal(sl_prom_sample_u64(&p, SL_PROM_LABELS(
		{ "a", "back\\slash \"quoted\"\nnewline" }, { "b", "" }), 7), 0);
	assert_string_equal(p.buf,
		"# HELP sl_test_total a \\\\ and a \"quote\"\\nsecond line\n"
		"# TYPE sl_test_total counter\n"
		"sl_test_total{a=\"back\\\\slash \\\"quoted\\\"\\nnewline\",b=\"\"} 7\n");
	check_format(p.buf, &c);
	assert_string_equal(c.last_value, "");
	assert_int_equal(p.err, 0);
	sl_prom_free(&p);
}

static void test_utf8(void **state)
{
	struct sl_prom p;
	struct checked c;

	(void)state;
	sl_prom_init(&p, 1 << 20);
	sl_prom_family(&p, "sl_test", SL_PROM_GAUGE, "h\xff");
	/* Kept: é, €, 𝄞. Replaced: a lone continuation byte, an overlong
	 * '/', a surrogate, a truncated sequence at the end. */
	sl_prom_sample(&p, SL_PROM_LABELS({ "v", "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e" }), 1);
	sl_prom_sample(&p, SL_PROM_LABELS({ "v", "a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82" }), 2);
	check_format(p.buf, &c);
	assert_non_null(strstr(p.buf, "# HELP sl_test h\xef\xbf\xbd\n"));
	assert_non_null(strstr(p.buf, "{v=\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\"} 1\n"));
	assert_string_equal(c.last_value,
			    "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
			    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			    "d\xef\xbf\xbd\xef\xbf\xbd");
	sl_prom_free(&p);
}

static void test_family_once(void **state)
{
	struct sl_prom p;
	struct checked c;

	(void)state;
	sl_prom_init(&p, 1 << 20);
	assert_int_equal(sl_prom_family(&p, "sl_a_total", SL_PROM_COUNTER, "a"), 0);
	sl_prom_sample_u64(&p, SL_PROM_LABELS({ "x", "1" }), 1);
	assert_int_equal(sl_prom_family(&p, "sl_b", SL_PROM_GAUGE, "b"), 0);
	sl_prom_sample(&p, NULL, 0, 2);
	/* The same family again: refused, and its samples with it. */
	assert_int_equal(sl_prom_family(&p, "sl_a_total", SL_PROM_COUNTER, "a"),
			 -EEXIST);
	assert_int_equal(sl_prom_sample_u64(&p, SL_PROM_LABELS({ "x", "2" }), 2),
			 -EINVAL);
	assert_int_equal(p.err, -EEXIST);
	check_format(p.buf, &c);
	assert_int_equal(c.families, 2);
	assert_int_equal(c.samples, 2);
	assert_null(strstr(p.buf, "x=\"2\""));
	sl_prom_free(&p);
}

static void test_names(void **state)
{
	static const char *const bad_family[] = { "", "1abc", "a-b", "a b",
						  "é" };
	static const char *const bad_label[] = { "", "1a", "a:b", "__name__",
						 "a-b" };
	struct sl_prom p;
	struct checked c;

	(void)state;
	sl_prom_init(&p, 1 << 20);
	for (size_t i = 0; i < ARRAY_LEN(bad_family); i++)
		assert_int_equal(sl_prom_family(&p, bad_family[i], SL_PROM_GAUGE,
						"h"), -EINVAL);
	/* Counters end in _total, gauges do not. */
	assert_int_equal(sl_prom_family(&p, "sl_count", SL_PROM_COUNTER, "h"),
			 -EINVAL);
	assert_int_equal(sl_prom_family(&p, "sl_level_total", SL_PROM_GAUGE, "h"),
			 -EINVAL);
	assert_int_equal(sl_prom_family(&p, "sl:ok_total", SL_PROM_COUNTER, "h"), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad_label); i++)
		assert_int_equal(sl_prom_sample_u64(&p, SL_PROM_LABELS(
			{ bad_label[i], "v" }), 1), -EINVAL);
	assert_int_equal(sl_prom_sample_u64(&p, SL_PROM_LABELS({ "a", "1" },
							       { "a", "2" }), 1),
			 -EINVAL);
	assert_int_equal(sl_prom_sample_u64(&p, SL_PROM_LABELS({ "_a1", "v" }), 1), 0);
	check_format(p.buf, &c);
	assert_int_equal(c.families, 1);
	assert_int_equal(c.samples, 1);
	sl_prom_free(&p);
}

static void test_values(void **state)
{
	struct sl_prom p;
	struct checked c;

	(void)state;
	sl_prom_init(&p, 1 << 20);
	sl_prom_family(&p, "sl_v", SL_PROM_GAUGE, "values");
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "tenth" }), 0.1);
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "nan" }), NAN);
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "inf" }), INFINITY);
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "-inf" }), -INFINITY);
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "third" }), 1.0 / 3);
	sl_prom_sample(&p, SL_PROM_LABELS({ "k", "time" }), 1700000000.25);
	sl_prom_sample_u64(&p, SL_PROM_LABELS({ "k", "max" }), UINT64_MAX);
	check_format(p.buf, &c);
	assert_non_null(strstr(p.buf, "{k=\"tenth\"} 0.1\n"));
	assert_non_null(strstr(p.buf, "{k=\"nan\"} NaN\n"));
	assert_non_null(strstr(p.buf, "{k=\"inf\"} +Inf\n"));
	assert_non_null(strstr(p.buf, "{k=\"-inf\"} -Inf\n"));
	assert_non_null(strstr(p.buf, "{k=\"third\"} 0.33333333333333331\n"));
	assert_non_null(strstr(p.buf, "{k=\"time\"} 1700000000.25\n"));
	assert_non_null(strstr(p.buf, "{k=\"max\"} 18446744073709551615\n"));
	sl_prom_free(&p);
}

/* Past the cap a line is left out whole, and the output stays valid. */
static void test_size_cap(void **state)
{
	struct sl_prom p;
	struct checked c;
	char v[8];

	(void)state;
	sl_prom_init(&p, 300);
	sl_prom_family(&p, "sl_cap", SL_PROM_GAUGE, "capped");
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "%d", i);
		sl_prom_sample(&p, SL_PROM_LABELS({ "i", v }), i);
	}
	sl_prom_family(&p, "sl_after", SL_PROM_GAUGE, "after the cap");
	assert_int_equal(p.err, -E2BIG);
	assert_true(p.len < 300);
	assert_int_equal(p.len, strlen(p.buf));
	check_format(p.buf, &c);
	assert_true(c.samples > 5 && c.samples < 100);
	sl_prom_free(&p);
}

/* Random bytes as label values (and help texts) never break the format,
 * and a value that is UTF-8 already reads back unchanged. */
static void test_fuzz_values(void **state)
{
	unsigned int seed = 12345;
	char val[64], help[64];
	struct checked c;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		struct sl_prom p;
		size_t n = (size_t)rand_r(&seed) % (sizeof(val) - 1);
		bool ascii = round % 2;

		for (size_t i = 0; i < n; i++) {
			int b = 1 + rand_r(&seed) % 255;

			/* Half the rounds printable ASCII and the three
			 * characters that need escaping. */
			if (ascii)
				b = "ab\\\"\n{}=,# 0"[rand_r(&seed) % 12];
			val[i] = (char)b;
			help[i] = (char)(1 + rand_r(&seed) % 255);
		}
		val[n] = help[n] = '\0';
		sl_prom_init(&p, 1 << 16);
		assert_int_equal(sl_prom_family(&p, "sl_fuzz", SL_PROM_GAUGE, help), 0);
		assert_int_equal(sl_prom_sample(&p, SL_PROM_LABELS({ "v", val },
								   { "w", "x" }), 1), 0);
		assert_int_equal(sl_prom_sample(&p, SL_PROM_LABELS({ "v", val }), 2), 0);
		check_format(p.buf, &c);
		assert_int_equal(c.samples, 2);
		if (ascii || valid_utf8((const unsigned char *)val, n))
			assert_string_equal(c.last_value, val);
		sl_prom_free(&p);
	}
}

/* --- the registry and the datapath families ---------------------------------------- */

static void collect_first(struct sl_prom *out, void *arg)
{
	(*(int *)arg)++;
	sl_prom_counter(out, "sl_first_total", "first", 1);
}

static void collect_second(struct sl_prom *out, void *arg)
{
	(*(int *)arg)++;
	sl_prom_gauge(out, "sl_second", "second", 2);
	/* A collector repeating another's family loses that one only. */
	sl_prom_counter(out, "sl_first_total", "again", 3);
}

static char *render(struct sl_metrics *m)
{
	struct sl_prom p;
	char *s;

	sl_prom_init(&p, 1 << 20);
	sl_metrics_render(m, &p);
	s = strdup(p.buf ? p.buf : "");
	sl_prom_free(&p);
	return s;
}

static void test_registry_order(void **state)
{
	struct sl_metrics m = {};
	int calls = 0;
	char *a, *b;

	(void)state;
	assert_int_equal(sl_metrics_register(&m, collect_first, &calls), 0);
	assert_int_equal(sl_metrics_register(&m, collect_second, &calls), 0);
	a = render(&m);
	b = render(&m);
	assert_int_equal(calls, 4);
	assert_string_equal(a, b);
	assert_string_equal(a,
		"# HELP sl_first_total first\n# TYPE sl_first_total counter\n"
		"sl_first_total 1\n"
		"# HELP sl_second second\n# TYPE sl_second gauge\nsl_second 2\n");
	free(a);
	free(b);
	for (int i = 2; i < SL_METRICS_COLLECTORS_MAX; i++)
		assert_int_equal(sl_metrics_register(&m, collect_first, &calls), 0);
	assert_int_equal(sl_metrics_register(&m, collect_first, &calls), -ENOSPC);
}

static int count_lines(const char *s, const char *prefix)
{
	int n = 0;

	for (const char *p = s; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		n += !strncmp(p, prefix, strlen(prefix));
	}
	return n;
}

static void test_datapath_families(void **state)
{
	struct sl_metrics_val *sums = calloc(SL_METRICS_MAX, sizeof(*sums));
	int drops = 0, traces = 0;
	struct checked c;
	struct sl_prom p;

	(void)state;
	assert_non_null(sums);
	for (unsigned int code = 1; code <= SL_REASON_MAX; code++)
		if (sl_reason_name(code))
			*(sl_reason_is_drop(code) ? &drops : &traces) += 1;
	sums[sl_metrics_index(SL_SPOOFED_SOURCE, SL_DIR_EGRESS)] =
		(struct sl_metrics_val){ 3, 300 };
	sums[sl_metrics_index(SL_POLICY_ALLOWED, SL_DIR_INGRESS)].packets = 5;
	sums[sl_metrics_index(SL_POLICY_DENIED_INGRESS, SL_DIR_EGRESS)].packets = 2;
	sums[sl_metrics_index(SL_POLICY_DENIED_INGRESS, SL_DIR_INGRESS)].packets = 1;
	sums[sl_metrics_index(SL_ENDPOINT_NOT_READY, SL_DIR_EGRESS)].packets = 4;
	sums[sl_metrics_index(SL_SERVICE_NEW, SL_DIR_EGRESS)].packets = 6;
	sums[sl_metrics_index(SL_SERVICE_NEW, SL_DIR_INGRESS)].packets = 1;

	sl_prom_init(&p, 1 << 20);
	sl_metrics_datapath(&p, sums);
	check_format(p.buf, &c);
	assert_int_equal(p.err, 0);
	assert_non_null(strstr(p.buf,
		"sluice_drop_packets_total{reason=\"SPOOFED_SOURCE\",direction=\"egress\"} 3\n"));
	assert_non_null(strstr(p.buf,
		"sluice_drop_bytes_total{reason=\"SPOOFED_SOURCE\",direction=\"egress\"} 300\n"));
	assert_non_null(strstr(p.buf,
		"sluice_drop_packets_total{reason=\"SPOOFED_SOURCE\",direction=\"ingress\"} 0\n"));
	assert_non_null(strstr(p.buf,
		"sluice_forward_packets_total{point=\"REDIRECT_PEER\",direction=\"egress\"} 0\n"));
	/* Every name of drop.h, both directions: a new reason shows itself. */
	assert_int_equal(count_lines(p.buf, "sluice_drop_packets_total{"), 2 * drops);
	assert_int_equal(count_lines(p.buf, "sluice_drop_bytes_total{"), 2 * drops);
	assert_int_equal(count_lines(p.buf, "sluice_forward_packets_total{"), 2 * traces);
	assert_int_equal(count_lines(p.buf, "sluice_forward_bytes_total{"), 2 * traces);
	/* Verdicts by the policy's direction: ingress denials wherever the
	 * drop happened; a pending endpoint where it was dropped. */
	assert_non_null(strstr(p.buf,
		"sluice_policy_verdicts_total{verdict=\"allowed\",direction=\"ingress\"} 5\n"));
	assert_non_null(strstr(p.buf,
		"sluice_policy_verdicts_total{verdict=\"denied\",direction=\"ingress\"} 3\n"));
	assert_non_null(strstr(p.buf,
		"sluice_policy_verdicts_total{verdict=\"denied\",direction=\"egress\"} 4\n"));
	assert_non_null(strstr(p.buf, "sluice_service_backend_selections_total 7\n"));
	sl_prom_free(&p);

	/* The map unreadable: the same families, no samples. */
	sl_prom_init(&p, 1 << 20);
	sl_metrics_datapath(&p, NULL);
	check_format(p.buf, &c);
	assert_int_equal(c.families, 6);
	assert_int_equal(c.samples, 0);
	sl_prom_free(&p);
	free(sums);
}

/* /healthz: 503 with the reason until synced, and after a failed sync. */
static void test_ready(void **state)
{
	struct sl_agent *a = calloc(1, sizeof(*a));
	char why[600];

	(void)state;
	assert_non_null(a);
	a->kube.enabled = true;
	snprintf(a->kube.last_error, sizeof(a->kube.last_error), "pods: 500");
	assert_false(sl_metrics_agent_ready(a, why, sizeof(why)));
	assert_string_equal(why, "waiting for the API server's first list: pods: 500");
	a->kube_ready = true;
	assert_false(sl_metrics_agent_ready(a, why, sizeof(why)));
	assert_string_equal(why, "not synced yet");
	a->syncs = 1;
	assert_true(sl_metrics_agent_ready(a, why, sizeof(why)));
	a->sync_failed = true;
	snprintf(a->last_error, sizeof(a->last_error), "sync: No space left on device");
	assert_false(sl_metrics_agent_ready(a, why, sizeof(why)));
	assert_string_equal(why, "the last sync failed: sync: No space left on device");
	a->sync_failed = false;
	assert_true(sl_metrics_agent_ready(a, why, sizeof(why)));
	free(a);
}

/* --- --metrics-listen ------------------------------------------------------------ */

static void test_parse_listen(void **state)
{
	static const char *const bad[] = {
		"", "9962", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:99999999", "1.2.3.4:80x", "1.2.3:80", "256.1.1.1:80",
		"::1:80", "[::1]80", "[::1", "[]:80", "[1.2.3.4]:80", "[zz]:80",
		"bad_host:80", "a b:80", "-x:80",
	};
	struct sl_metrics_listen l;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l.addrs[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addrs[0];
	char why[256];

	(void)state;
	assert_int_equal(sl_metrics_parse_listen("10.1.2.3:9962", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9962);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), ip4("10.1.2.3"));

	assert_int_equal(sl_metrics_parse_listen("[::]:1", &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 1);
	assert_false(l.any);

	assert_int_equal(sl_metrics_parse_listen("[fd00::5]:65535", &l, why, sizeof(why)), 0);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0xfd);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 5);

	assert_int_equal(sl_metrics_parse_listen(":9962", &l, why, sizeof(why)), 0);
	assert_true(l.any);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.addrs[0].ss_family, AF_INET6);
	assert_int_equal(l.addrs[1].ss_family, AF_INET);

	/* /etc/hosts has it wherever the tests run. */
	assert_int_equal(sl_metrics_parse_listen("localhost:9962", &l, why, sizeof(why)), 0);
	assert_true(l.n >= 1);
	assert_false(l.any);

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		why[0] = '\0';
		if (sl_metrics_parse_listen(bad[i], &l, why, sizeof(why)) != -EINVAL)
			fail_msg("--metrics-listen %s accepted", bad[i]);
		assert_true(why[0] != '\0');
	}
}

/* --- HTTP ------------------------------------------------------------------------ */

static int parse(const char *s, struct sl_http_request *req)
{
	return sl_http_parse_request(s, strlen(s), req);
}

static void test_http_parse(void **state)
{
	static const struct {
		const char *head;
		int ret; /* -1: the head's length */
		const char *method, *path;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", -1, "GET", "/metrics" },
		{ "HEAD /healthz?verbose=1#x HTTP/1.0\n\n", -1, "HEAD", "/healthz" },
		{ "\r\nGET / HTTP/1.1\r\n\r\n", -1, "GET", "/" },
		{ "GET http://node:9962/metrics?x HTTP/1.1\r\n\r\n", -1, "GET", "/metrics" },
		{ "GET http://node:9962?x=/y HTTP/1.1\r\n\r\n", -1, "GET", "/" },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", -1, "OPTIONS", "*" },
		/* incomplete */
		{ "", 0, NULL, NULL },
		{ "GET /met", 0, NULL, NULL },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, NULL, NULL },
		/* refused */
		{ "GET /metrics HTTP/2.0\r\n\r\n", -EPROTONOSUPPORT, NULL, NULL },
		{ "GET /metrics HTTP/0.9\r\n", -EPROTONOSUPPORT, NULL, NULL },
		{ "GET metrics HTTP/1.1\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "GET  /metrics HTTP/1.1\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "GET /metrics HTTP/1.1 \r\n\r\n", -EBADMSG, NULL, NULL },
		{ "GET /metrics\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "G(T /metrics HTTP/1.1\r\n", -EBADMSG, NULL, NULL },
		{ "GET /a\tb HTTP/1.1\r\n", -EBADMSG, NULL, NULL },
		{ "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n", -EBADMSG, NULL, NULL },
		{ "\x16\x03\x01\x02", -EBADMSG, NULL, NULL }, /* TLS, at once */
		{ "GET http:// HTTP/1.1\r\n\r\n", -EBADMSG, NULL, NULL },
	};
	struct sl_http_request req;
	char longer[SL_HTTP_LINE_MAX + 64];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int want = cases[i].ret == -1 ? (int)strlen(cases[i].head) :
						 cases[i].ret;
		int got = parse(cases[i].head, &req);

		if (got != want)
			fail_msg("case %zu: %d, want %d", i, got, want);
		if (cases[i].method) {
			assert_string_equal(req.method, cases[i].method);
			assert_string_equal(req.path, cases[i].path);
		}
	}
	/* Long paths and lines: 414, whether the line is whole yet or not. */
	snprintf(longer, sizeof(longer), "GET /%0*d HTTP/1.1\r\n\r\n",
		 SL_HTTP_PATH_MAX, 0);
	assert_int_equal(parse(longer, &req), -ENAMETOOLONG);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "GET /", 5);
	assert_int_equal(parse(longer, &req), -ENAMETOOLONG);
	/* A long query is no long path. */
	snprintf(longer, sizeof(longer), "GET /metrics?%0*d HTTP/1.1\r\n\r\n",
		 SL_HTTP_PATH_MAX * 2, 0);
	assert_int_equal(parse(longer, &req), (int)strlen(longer));
	assert_string_equal(req.path, "/metrics");
}

struct server_test {
	struct sl_http_server s;
	int epoll_fd, listen_fd;
	uint16_t port;
	int answered;
};

static void hello(void *ctx, unsigned long tag, const struct sl_http_request *req,
		  struct sl_http_reply *r)
{
	struct server_test *t = ctx;

	t->answered++;
	sl_http_reply_printf(r, 200, "hello %lu %s\n", tag, req->path);
}

/* Run the server's events until none come for ms. */
static void pump(struct server_test *t, int ms)
{
	struct epoll_event evs[16];
	int n;

	while ((n = epoll_wait(t->epoll_fd, evs, 16, ms)) > 0)
		for (int i = 0; i < n; i++)
			if (evs[i].data.fd == t->listen_fd)
				sl_http_accept(&t->s, t->listen_fd, 42);
			else
				assert_true(sl_http_handle(&t->s, evs[i].data.fd));
}

static int client(struct server_test *t)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(t->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The whole answer, once the server has closed; "" when reset. */
static char *answer_of(struct server_test *t, int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	pump(t, 50);
	while (got + 1 < len && (n = recv(fd, buf + got, len - 1 - got,
					   MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return buf;
}

static int server_setup(void **state)
{
	static struct server_test t;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct epoll_event ev = { .events = EPOLLIN };

	memset(&t, 0, sizeof(t));
	t.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(t.epoll_fd >= 0);
	t.listen_fd = sl_http_listen((struct sockaddr *)&sa, sizeof(sa));
	if (t.listen_fd < 0) {
		close(t.epoll_fd);
		return -1; /* no loopback: the group is reported failed */
	}
	getsockname(t.listen_fd, (struct sockaddr *)&sa, &len);
	t.port = ntohs(sa.sin_port);
	ev.data.fd = t.listen_fd;
	assert_int_equal(epoll_ctl(t.epoll_fd, EPOLL_CTL_ADD, t.listen_fd, &ev), 0);
	assert_int_equal(sl_http_server_init(&t.s, t.epoll_fd, 4, hello, &t), 0);
	*state = &t;
	return 0;
}

static int server_teardown(void **state)
{
	struct server_test *t = *state;

	sl_http_server_close(&t->s);
	close(t->listen_fd);
	close(t->epoll_fd);
	return 0;
}

static void send_all(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static void test_http_server(void **state)
{
	struct server_test *t = *state;
	char buf[4096], *big;
	int fd, idle[4];

	/* An answer, in pieces or at once. */
	fd = client(t);
	send_all(fd, "GET /x?y HTTP/1.1\r\nHo");
	pump(t, 20);
	send_all(fd, "st: a\r\n\r\n");
	answer_of(t, fd, buf, sizeof(buf));
	assert_memory_equal(buf, "HTTP/1.1 200 OK\r\n", 17);
	assert_non_null(strstr(buf, "Content-Length: 12\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n\r\nhello 42 /x\n"));

	/* HEAD: the length of the body, not the body. */
	fd = client(t);
	send_all(fd, "HEAD /h HTTP/1.0\r\n\r\n");
	answer_of(t, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Content-Length: 12\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n"), "\r\n\r\n");

	/* Garbage: 400 at once, without waiting for more. */
	fd = client(t);
	send_all(fd, "\x16\x03\x01 hello\r\n");
	answer_of(t, fd, buf, sizeof(buf));
	assert_memory_equal(buf, "HTTP/1.1 400 Bad Request\r\n", 26);

	/* A head that never ends: 431 at SL_HTTP_HEAD_MAX. */
	big = malloc(SL_HTTP_HEAD_MAX + 64);
	assert_non_null(big);
	strcpy(big, "GET / HTTP/1.1\r\n");
	while (strlen(big) < SL_HTTP_HEAD_MAX + 32)
		strcat(big, "X-Pad: 0123456789\r\n");
	fd = client(t);
	send_all(fd, big);
	answer_of(t, fd, buf, sizeof(buf));
	assert_memory_equal(buf, "HTTP/1.1 431 ", 13);
	free(big);

	/* Every slot held by idle clients: a newcomer still gets its
	 * answer, the oldest idle one gives way. */
	for (int i = 0; i < 4; i++) {
		idle[i] = client(t);
		pump(t, 5);
	}
	t->answered = 0;
	fd = client(t);
	send_all(fd, "GET /new HTTP/1.1\r\n\r\n");
	answer_of(t, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "hello 42 /new\n"));
	assert_int_equal(t->answered, 1);
	assert_int_equal(t->s.evicted, 1);
	assert_int_equal(recv(idle[0], buf, sizeof(buf), MSG_DONTWAIT), 0);
	for (int i = 0; i < 4; i++)
		close(idle[i]);
	pump(t, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_family_once),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_fuzz_values),
		cmocka_unit_test(test_registry_order),
		cmocka_unit_test(test_datapath_families),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_http_parse),
		cmocka_unit_test_setup_teardown(test_http_server, server_setup,
						server_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "prometheus.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_prom_init(struct sl_prom *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	p->max = max;
}

void sl_prom_free(struct sl_prom *p)
{
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->names);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static void fail(struct sl_prom *p, int err)
{
	if (!p->err)
		p->err = err;
}

static void put(struct sl_prom *p, const char *s, size_t n)
{
	if (p->line_failed)
		return;
	if (p->len + n + 1 > p->max) {
		fail(p, -E2BIG);
		p->line_failed = true;
		return;
	}
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *grown;

		while (cap < p->len + n + 1)
			cap *= 2;
		grown = realloc(p->buf, cap);
		if (!grown) {
			fail(p, -ENOMEM);
			p->line_failed = true;
			return;
		}
		p->buf = grown;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void put_str(struct sl_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* A line is kept whole or not at all: begin, put..., end. */
static size_t line_begin(struct sl_prom *p)
{
	p->line_failed = false;
	return p->len;
}

static int line_end(struct sl_prom *p, size_t start)
{
	if (!p->line_failed)
		return 0;
	p->len = start;
	if (p->buf)
		p->buf[p->len] = '\0';
	p->line_failed = false;
	return p->err;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* s escaped: backslash and newline always, the double quote in label
 * values; invalid UTF-8 replaced. The NUL ending s stops every check. */
static void put_escaped(struct sl_prom *p, const char *s, bool quote)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		size_t n = utf8_seq(u);

		if (*u == '\\')
			put_str(p, "\\\\");
		else if (*u == '\n')
			put_str(p, "\\n");
		else if (*u == '"' && quote)
			put_str(p, "\\\"");
		else if (n)
			put(p, (const char *)u, n);
		else
			put_str(p, "\xef\xbf\xbd");
		u += n ? n : 1;
	}
}

static bool valid_name(const char *s, bool colon)
{
	if (!*s || strlen(s) >= SL_PROM_NAME_MAX || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' ||
		      (colon && *s == ':')))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int remember(struct sl_prom *p, const char *name)
{
	for (size_t i = 0; i < p->n_names; i++)
		if (!strcmp(p->names[i], name))
			return -EEXIST;
	if (p->n_names == p->cap_names) {
		size_t cap = p->cap_names ? p->cap_names * 2 : 32;
		char **grown = realloc(p->names, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->names = grown;
		p->cap_names = cap;
	}
	p->names[p->n_names] = strdup(name);
	if (!p->names[p->n_names])
		return -ENOMEM;
	p->n_names++;
	return 0;
}

int sl_prom_family(struct sl_prom *p, const char *name,
		   enum sl_prom_type type, const char *help)
{
	size_t start;
	int err;

	p->in_family = false;
	if (!valid_name(name, true) ||
	    (type == SL_PROM_COUNTER) != ends_with(name, "_total")) {
		fail(p, -EINVAL);
		return -EINVAL;
	}
	err = remember(p, name);
	if (err) {
		fail(p, err);
		return err;
	}
	start = line_begin(p);
	put_str(p, "# HELP ");
	put_str(p, name);
	put_str(p, " ");
	put_escaped(p, help ? help : "", false);
	put_str(p, "\n# TYPE ");
	put_str(p, name);
	put_str(p, type == SL_PROM_COUNTER ? " counter\n" : " gauge\n");
	err = line_end(p, start);
	if (err)
		return err;
	snprintf(p->family, sizeof(p->family), "%s", name);
	p->in_family = true;
	return 0;
}

static int sample(struct sl_prom *p, const struct sl_prom_label *labels,
		  size_t n, const char *value)
{
	size_t start;

	if (!p->in_family)
		return -EINVAL; /* the family's own refusal is recorded */
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(labels[i].name, labels[j].name);
		/* "__" names are Prometheus's own. */
		if (dup || !valid_name(labels[i].name, false) ||
		    !strncmp(labels[i].name, "__", 2)) {
			fail(p, -EINVAL);
			return -EINVAL;
		}
	}
	start = line_begin(p);
	put_str(p, p->family);
	for (size_t i = 0; i < n; i++) {
		put_str(p, i ? "," : "{");
		put_str(p, labels[i].name);
		put_str(p, "=\"");
		put_escaped(p, labels[i].value ? labels[i].value : "", true);
		put_str(p, "\"");
	}
	put_str(p, n ? "} " : " ");
	put_str(p, value);
	put_str(p, "\n");
	return line_end(p, start);
}

int sl_prom_sample(struct sl_prom *p, const struct sl_prom_label *labels,
		   size_t n_labels, double value)
{
	char buf[40];

	if (isnan(value))
		snprintf(buf, sizeof(buf), "NaN");
	else if (isinf(value))
		snprintf(buf, sizeof(buf), value > 0 ? "+Inf" : "-Inf");
	else {
		/* The shortest of the two that reads back the same. */
		snprintf(buf, sizeof(buf), "%.15g", value);
		if (strtod(buf, NULL) != value)
			snprintf(buf, sizeof(buf), "%.17g", value);
	}
	return sample(p, labels, n_labels, buf);
}

int sl_prom_sample_u64(struct sl_prom *p, const struct sl_prom_label *labels,
		       size_t n_labels, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	return sample(p, labels, n_labels, buf);
}

int sl_prom_gauge(struct sl_prom *p, const char *name, const char *help,
		  double value)
{
	int err = sl_prom_family(p, name, SL_PROM_GAUGE, help);

	return err ? err : sl_prom_sample(p, NULL, 0, value);
}

int sl_prom_counter(struct sl_prom *p, const char *name, const char *help,
		    uint64_t value)
{
	int err = sl_prom_family(p, name, SL_PROM_COUNTER, help);

	return err ? err : sl_prom_sample_u64(p, NULL, 0, value);
}

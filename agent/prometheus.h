/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A writer of the Prometheus text exposition format, version 0.0.4: a
 * family is "# HELP", "# TYPE", then its samples, one a line. The writer
 * keeps the output valid whatever it is given:
 *  - a family's HELP and TYPE are written once; a second family of the
 *    same name is refused with its samples (a scrape with a family split
 *    in two is rejected whole by Prometheus);
 *  - metric and label names are checked, counters must end in _total;
 *  - label values and help texts are escaped (backslash, double quote in
 *    values, newline) and made valid UTF-8 (an invalid byte becomes
 *    U+FFFD), so any string, a pod's label included, can be a value;
 *  - a line is written whole or not at all, within a size cap.
 * What is refused is skipped and remembered in err; the rest is written.
 */
#ifndef SL_AGENT_PROMETHEUS_H
#define SL_AGENT_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SL_PROM_NAME_MAX 128

enum sl_prom_type {
	SL_PROM_COUNTER,
	SL_PROM_GAUGE,
};

struct sl_prom_label {
	const char *name;
	const char *value;
};

/* sl_prom_sample(p, SL_PROM_LABELS({ "reason", r }, { "direction", d }), v) */
#define SL_PROM_LABELS(...)                                                    \
	((const struct sl_prom_label[]){ __VA_ARGS__ }),                       \
		(sizeof((const struct sl_prom_label[]){ __VA_ARGS__ }) /        \
		 sizeof(struct sl_prom_label))

struct sl_prom {
	char *buf; /* NUL-terminated output, len bytes */
	size_t len, cap, max;
	int err; /* the first refusal: -EINVAL, -EEXIST, -ENOMEM, -E2BIG */
	bool line_failed;
	bool in_family; /* samples go to family */
	char family[SL_PROM_NAME_MAX];
	char **names; /* the families written, for "once per family" */
	size_t n_names, cap_names;
};

/* An empty output of at most max bytes. */
void sl_prom_init(struct sl_prom *p, size_t max);
void sl_prom_free(struct sl_prom *p);

/*
 * sl_prom_family - start family name: its HELP and TYPE lines. Samples
 * written next belong to it. -EINVAL for a bad name (or a counter not
 * ending in _total), -EEXIST when the family was written already; either
 * way the samples that follow are dropped until the next family.
 */
int sl_prom_family(struct sl_prom *p, const char *name,
		   enum sl_prom_type type, const char *help);

/* One sample of the current family, labels in the order given. */
int sl_prom_sample(struct sl_prom *p, const struct sl_prom_label *labels,
		   size_t n_labels, double value);
/* The same with an integer, written exactly (counters past 2^53). */
int sl_prom_sample_u64(struct sl_prom *p, const struct sl_prom_label *labels,
		       size_t n_labels, uint64_t value);

/* A family of one sample without labels. */
int sl_prom_gauge(struct sl_prom *p, const char *name, const char *help,
		  double value);
int sl_prom_counter(struct sl_prom *p, const char *name, const char *help,
		    uint64_t value);

#endif /* SL_AGENT_PROMETHEUS_H */

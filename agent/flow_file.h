/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The JSON-lines file sink of flow records (`sluiced --flows-file PATH`):
 * every record as one line of agent/flows.h's JSON, appended to PATH, which
 * is rotated by size: PATH becomes PATH.1, PATH.1 becomes PATH.2, … up to
 * `keep` old files, the oldest dropped. A failing write is counted and
 * logged once, never fatal: visibility must not take the node down.
 */
#ifndef SL_AGENT_FLOW_FILE_H
#define SL_AGENT_FLOW_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "flows.h"

#define SL_FLOW_FILE_MAX_DEFAULT (100ull << 20)
#define SL_FLOW_FILE_KEEP_DEFAULT 3

struct sl_flow_file {
	char *path;
	FILE *out;
	uint64_t size, max_size;
	unsigned int keep;
	uint64_t written, errors, rotations;
	int last_errno; /* logged once per kind of failure */
};

/* Open (append) path; 0 or -errno. max_size 0 and keep 0 take the
 * defaults. */
int sl_flow_file_open(struct sl_flow_file *ff, const char *path,
		      uint64_t max_size, unsigned int keep);
void sl_flow_file_close(struct sl_flow_file *ff);

/* The sink to give sl_flows_add_sink(). */
struct sl_flow_sink sl_flow_file_sink(struct sl_flow_file *ff);

#endif /* SL_AGENT_FLOW_FILE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The manifests folder source: every *.yaml, *.yml and *.json in a folder
 * is the cluster's state, watched with inotify. Each file owns the objects
 * it defines; a file that fails to parse keeps its previous objects.
 */
#ifndef SL_AGENT_SOURCE_DIR_H
#define SL_AGENT_SOURCE_DIR_H

#include <limits.h>

#include "model.h"
#include "table.h"

struct sl_source_dir {
	char path[PATH_MAX];
	int inotify_fd;
	struct sl_table files; /* file name -> struct sl_dir_file */
	struct sl_model *model;
	unsigned long loads, parse_errors, object_errors;
	char last_error[512];
};

int sl_source_dir_open(struct sl_source_dir *s, const char *path,
		       struct sl_model *model);
void sl_source_dir_close(struct sl_source_dir *s);

/* Load every file now (start-up, and a periodic resync). */
int sl_source_dir_scan(struct sl_source_dir *s);

/* Handle what inotify reported; call when inotify_fd is readable. */
int sl_source_dir_handle(struct sl_source_dir *s);

/* Whether a directory entry is a manifest we read. */
bool sl_source_dir_wants(const char *name);

#endif /* SL_AGENT_SOURCE_DIR_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records to a rotated JSON-lines file; see flow_file.h. */
#include "flow_file.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int open_out(struct sl_flow_file *ff)
{
	struct stat st;

	ff->out = fopen(ff->path, "ae");
	if (!ff->out)
		return -errno;
	ff->size = fstat(fileno(ff->out), &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

int sl_flow_file_open(struct sl_flow_file *ff, const char *path,
		      uint64_t max_size, unsigned int keep)
{
	memset(ff, 0, sizeof(*ff));
	ff->path = strdup(path);
	if (!ff->path)
		return -ENOMEM;
	ff->max_size = max_size ? max_size : SL_FLOW_FILE_MAX_DEFAULT;
	ff->keep = keep ? keep : SL_FLOW_FILE_KEEP_DEFAULT;
	return open_out(ff);
}

void sl_flow_file_close(struct sl_flow_file *ff)
{
	if (ff->out)
		fclose(ff->out);
	ff->out = NULL;
	free(ff->path);
	ff->path = NULL;
}

static void failed(struct sl_flow_file *ff, const char *what, int err)
{
	ff->errors++;
	if (err != ff->last_errno)
		log_warn("flows file %s: %s: %s (flows go on; counted as errors)",
			 ff->path, what, strerror(err));
	ff->last_errno = err;
}

/* PATH.keep goes, PATH.n becomes PATH.n+1, PATH becomes PATH.1. */
static void rotate(struct sl_flow_file *ff)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	fclose(ff->out);
	ff->out = NULL;
	for (unsigned int n = ff->keep; n > 0; n--) {
		if (n == 1)
			snprintf(from, sizeof(from), "%s", ff->path);
		else
			snprintf(from, sizeof(from), "%s.%u", ff->path, n - 1);
		snprintf(to, sizeof(to), "%s.%u", ff->path, n);
		if (rename(from, to) < 0 && errno != ENOENT)
			failed(ff, "rotating", errno);
	}
	ff->rotations++;
	err = open_out(ff);
	if (err < 0)
		failed(ff, "reopening", -err);
}

static void record(void *ctx, const struct sl_flows *f,
		   const struct sl_flow_rec *r)
{
	struct sl_flow_file *ff = ctx;
	json_object *o;
	const char *line;
	size_t n;

	if (!ff->out) {
		int err = open_out(ff);

		if (err < 0) {
			failed(ff, "opening", -err);
			return;
		}
	}
	o = sl_flow_json(f, r);
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = strlen(line);
	if (ff->size && ff->size + n + 1 > ff->max_size)
		rotate(ff);
	if (ff->out && fprintf(ff->out, "%s\n", line) >= 0 &&
	    fflush(ff->out) == 0) {
		ff->size += n + 1;
		ff->written++;
		ff->last_errno = 0;
	} else if (ff->out) {
		failed(ff, "writing", errno ? errno : EIO);
	}
	json_object_put(o);
}

struct sl_flow_sink sl_flow_file_sink(struct sl_flow_file *ff)
{
	return (struct sl_flow_sink){ .record = record, .ctx = ff };
}

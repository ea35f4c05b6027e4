// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "source_dir.h"
#include "fsutil.h"
#include "log.h"
#include "manifest.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* The objects one file defined at its last successful load. */
struct sl_dir_file {
	char **keys; /* "<kind>:<key>" */
	size_t n;
};

static void file_free(struct sl_dir_file *f)
{
	for (size_t i = 0; f && i < f->n; i++)
		free(f->keys[i]);
	if (f)
		free(f->keys);
	free(f);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && !strcmp(s + a - b, suffix);
}

bool sl_source_dir_wants(const char *name)
{
	return name[0] != '.' &&
	       (has_suffix(name, ".yaml") || has_suffix(name, ".yml") ||
		has_suffix(name, ".json"));
}

int sl_source_dir_open(struct sl_source_dir *s, const char *path,
		       struct sl_model *model)
{
	memset(s, 0, sizeof(*s));
	s->inotify_fd = -1;
	if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path))
		return -ENAMETOOLONG;
	s->model = model;
	sl_table_init(&s->files);
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0)
		return -errno;
	/* Files are replaced by rename (MOVED_TO) or written in place
	 * (CLOSE_WRITE); either way the file is whole when we read it. */
	if (inotify_add_watch(s->inotify_fd, path,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE | IN_DELETE_SELF |
				      IN_MOVE_SELF | IN_ONLYDIR) < 0)
		return -errno;
	return 0;
}

static void forget_keys(struct sl_source_dir *s, const char *file,
			struct sl_dir_file *old, struct sl_dir_file *keep)
{
	for (size_t i = 0; old && i < old->n; i++) {
		bool kept = false;

		for (size_t j = 0; keep && j < keep->n && !kept; j++)
			kept = !strcmp(old->keys[i], keep->keys[j]);
		if (!kept) {
			int kind = old->keys[i][0] - '0';

			sl_model_delete(s->model, (enum sl_kind)kind,
					old->keys[i] + 2, file);
		}
	}
}

static void unload(struct sl_source_dir *s, const char *name)
{
	struct sl_dir_file *old = sl_table_del(&s->files, name);

	if (!old)
		return;
	forget_keys(s, name, old, NULL);
	log_info("%s removed: %zu objects forgotten", name, old->n);
	file_free(old);
}

static void record_error(struct sl_source_dir *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void record_error(struct sl_source_dir *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	log_error("%s", s->last_error);
}

static int load(struct sl_source_dir *s, const char *name)
{
	struct sl_manifest_error perr = {};
	struct sl_dir_file *nf = NULL, *old;
	json_object **objs = NULL;
	char path[PATH_MAX + 256], *buf = NULL;
	size_t len, n = 0, changed = 0;
	int err;

	snprintf(path, sizeof(path), "%s/%s", s->path, name);
	err = sl_read_file(path, SL_MANIFEST_MAX_BYTES, &buf, &len);
	if (err == -ENOENT) {
		unload(s, name); /* gone between the event and now */
		return 0;
	}
	if (err < 0) {
		s->parse_errors++;
		record_error(s, "%s: cannot read: %s; keeping its previous objects",
			     name, strerror(-err));
		return 0;
	}
	s->loads++;
	if (sl_manifest_parse(buf, len, has_suffix(name, ".json"), &objs, &n,
			      &perr) < 0) {
		s->parse_errors++;
		record_error(s, "%s:%d:%d: %s; keeping its previous objects",
			     name, perr.line, perr.column, perr.reason);
		free(buf);
		return 0;
	}
	free(buf);

	nf = calloc(1, sizeof(*nf));
	if (!nf || (n && !(nf->keys = calloc(n, sizeof(*nf->keys))))) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_object obj;
		char why[256], desc[200], key[700];
		int ret = sl_object_decode(objs[i], &obj, why, sizeof(why));

		if (ret == 0)
			continue; /* a kind we do not use (yet) */
		if (ret < 0) {
			s->object_errors++;
			sl_object_describe(objs[i], desc, sizeof(desc));
			record_error(s, "%s: %s: %s; skipping it", name, desc, why);
			continue;
		}
		snprintf(key, sizeof(key), "%d:%s", (int)obj.kind, obj.key);
		nf->keys[nf->n] = strdup(key);
		if (!nf->keys[nf->n]) {
			sl_object_free(&obj);
			err = -ENOMEM;
			goto out;
		}
		nf->n++;
		ret = sl_model_upsert(s->model, &obj, name);
		if (ret < 0) {
			sl_object_free(&obj);
			err = ret;
			goto out;
		}
		changed += (size_t)ret;
	}
	old = NULL;
	if (sl_table_put(&s->files, name, nf, (void **)&old) < 0) {
		err = -ENOMEM;
		goto out;
	}
	forget_keys(s, name, old, nf);
	file_free(old);
	log_debug("%s: %zu objects, %zu changed", name, nf->n, changed);
	nf = NULL;
	err = 0;
out:
	file_free(nf);
	sl_manifest_free(objs, n);
	return err;
}

int sl_source_dir_scan(struct sl_source_dir *s)
{
	static char present; /* a non-NULL value for the seen set */
	struct dirent *de;
	DIR *dir = opendir(s->path);
	struct sl_table seen;
	const char *key;
	void *val;
	int err = 0;

	if (!dir)
		return -errno;
	sl_table_init(&seen);
	while ((de = readdir(dir))) {
		if (!sl_source_dir_wants(de->d_name))
			continue;
		if (sl_table_put(&seen, de->d_name, &present, NULL) < 0 ||
		    load(s, de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
	}
	closedir(dir);
	/* Files that vanished while we were not watching. */
	for (size_t i = 0; !err && sl_table_next(&s->files, &i, &key, &val);) {
		char name[NAME_MAX + 1];

		if (sl_table_get(&seen, key))
			continue;
		snprintf(name, sizeof(name), "%s", key); /* unload frees key */
		unload(s, name);
	}
	sl_table_free(&seen);
	return err;
}

int sl_source_dir_handle(struct sl_source_dir *s)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t len = read(s->inotify_fd, buf, sizeof(buf));

		if (len < 0 && errno == EAGAIN)
			return 0;
		if (len < 0)
			return -errno;
		for (char *p = buf; p < buf + len;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warn("%s: inotify overflowed, rescanning", s->path);
				sl_source_dir_scan(s);
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				record_error(s, "%s: the manifests folder went away; keeping the last state",
					     s->path);
				continue;
			}
			if (!ev->len || !sl_source_dir_wants(ev->name))
				continue;
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				unload(s, ev->name);
			else if (load(s, ev->name) < 0)
				return -ENOMEM;
		}
	}
}

void sl_source_dir_close(struct sl_source_dir *s)
{
	const char *key;
	void *val;

	for (size_t i = 0; sl_table_next(&s->files, &i, &key, &val);)
		file_free(val);
	sl_table_free(&s->files);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	s->inotify_fd = -1;
}

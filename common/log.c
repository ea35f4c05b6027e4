// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "sluice";
static enum sl_log_level log_level = SL_LOG_INFO;
static char log_context[256];
static FILE *log_file;

static const char *const level_names[] = {
	[SL_LOG_ERROR] = "error",
	[SL_LOG_WARN] = "warn",
	[SL_LOG_INFO] = "info",
	[SL_LOG_DEBUG] = "debug",
};

void sl_log_init(const char *prog, enum sl_log_level level)
{
	log_prog = prog;
	log_level = level;
}

void sl_log_set_level(enum sl_log_level level)
{
	log_level = level;
}

enum sl_log_level sl_log_level_from_string(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (s && !strcasecmp(s, level_names[i]))
			return (enum sl_log_level)i;
	return SL_LOG_INFO;
}

int sl_log_open_file(const char *path, long max_bytes)
{
	struct stat st;
	char old[4096];

	if (stat(path, &st) == 0 && st.st_size > max_bytes &&
	    snprintf(old, sizeof(old), "%s.1", path) < (int)sizeof(old))
		rename(path, old); /* best effort: a racing writer may win */

	log_file = fopen(path, "ae");
	if (!log_file)
		return -errno;
	setvbuf(log_file, NULL, _IOLBF, 0);
	return 0;
}

void sl_log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

void sl_log_set_context(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_context, sizeof(log_context), fmt, ap);
	va_end(ap);
}

/* msg="…" with quotes, backslashes and control characters escaped, so a
 * line is always one logfmt record whatever a message carries. */
static void quote(char *out, size_t size, const char *in)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in;
	     *p && o + 5 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap)
{
	char msg[2048], quoted[4 * sizeof(msg) + 8], stamp[40];
	struct timespec ts;
	struct tm tm;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	quote(quoted, sizeof(quoted), msg);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	/* logfmt: time level prog pid [context] msg, one line per record. */
	for (int i = 0; i < 2; i++) {
		FILE *f = i ? log_file : stderr;

		if (f)
			fprintf(f, "time=%s.%03ldZ level=%s prog=%s pid=%d %s%s"
				"msg=\"%s\"\n", stamp, ts.tv_nsec / 1000000,
				level_names[level], log_prog, (int)getpid(),
				log_context, log_context[0] ? " " : "", quoted);
	}
}

void sl_log(enum sl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char line[1024];
	size_t n;

	/* libbpf's warnings are ours to judge; keep them at debug. */
	if (SL_LOG_DEBUG > log_level && level != LIBBPF_WARN)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	sl_log(SL_LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

void sl_log_capture_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Levelled logging to stderr and, optionally, a file. */
#ifndef SL_COMMON_LOG_H
#define SL_COMMON_LOG_H

#include <stdarg.h>

enum sl_log_level {
	SL_LOG_ERROR = 0,
	SL_LOG_WARN,
	SL_LOG_INFO,
	SL_LOG_DEBUG,
};

/*
 * sl_log_init - name the program and optionally open an append-only log
 * file. Lines are logfmt (time= level= prog= pid= then the context, e.g.
 * "cmd=ADD container=… ifname=eth0", then msg="…").
 * The file is rotated once to "<path>.1" when it passes max_bytes.
 */
void sl_log_init(const char *prog, enum sl_log_level level);
int sl_log_open_file(const char *path, long max_bytes);
void sl_log_set_context(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_level_from_string(const char *s);
/* Route libbpf's own messages to our debug level. */
void sl_log_capture_libbpf(void);
void sl_log_close(void);

void sl_log(enum sl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sl_vlog(enum sl_log_level level, const char *fmt, va_list ap);

#define log_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define log_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

#endif /* SL_COMMON_LOG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small file-system helpers shared by the plugin and the agent. */
#ifndef SL_COMMON_FSUTIL_H
#define SL_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p; 0 or -errno. */
int sl_mkdir_p(const char *path, mode_t mode);

/* Write data to path by temp file + fsync-free rename; 0 or -errno. */
int sl_write_file_atomic(const char *path, const char *data, size_t len,
			 mode_t mode);

/* Read a whole file (at most max bytes) into a NUL-terminated malloc'd
 * buffer; 0 or -errno (-EFBIG when larger than max). */
int sl_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Read all of fd (at most max bytes) like sl_read_file. */
int sl_read_fd(int fd, size_t max, char **out, size_t *out_len);

#endif /* SL_COMMON_FSUTIL_H */

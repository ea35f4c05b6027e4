/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Writing many map entries at once. BPF_MAP_UPDATE_BATCH and
 * BPF_MAP_DELETE_BATCH take one syscall for a whole array where the kernel
 * has them for the map type (hash maps since 5.6, LPM tries and arrays
 * later); elsewhere the same calls fall back to one syscall per entry.
 */
#ifndef SL_COMMON_BPFMAP_H
#define SL_COMMON_BPFMAP_H

#include <linux/types.h>
#include <stddef.h>

/*
 * sl_map_update_many - write n packed keys and values (BPF_ANY).
 * Returns 0, or -errno with *done (if not NULL) the entries written.
 */
int sl_map_update_many(int fd, const void *keys, const void *values, size_t n,
		       size_t key_size, size_t value_size, size_t *done);

/*
 * sl_map_delete_many - delete n packed keys; keys already absent are not
 * an error. Returns 0 or -errno.
 */
int sl_map_delete_many(int fd, const void *keys, size_t n, size_t key_size);

/*
 * sl_map_percpu_sum - a per-CPU map's value at key, added up over the
 * possible CPUs into sum: the value is n_u64 __u64 counters (the layout of
 * every per-CPU map of ours), and the caller zeroes sum. Returns 0 or
 * -errno (-ENOENT for a missing key).
 */
int sl_map_percpu_sum(int fd, const void *key, __u64 *sum, size_t n_u64);

#endif /* SL_COMMON_BPFMAP_H */

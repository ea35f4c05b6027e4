// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "bpfmap.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's, which libc does not name */
#endif

/* The kernel has no batch op for this map type (or no batch ops at all). */
static bool no_batch(int err)
{
	return err == EINVAL || err == ENOTSUPP || err == EOPNOTSUPP ||
	       err == ENOSYS;
}

/* One batch call covers at most this many entries: the kernel copies them
 * in a loop that cannot be interrupted, so keep each call short. */
#define BATCH_MAX 4096u

/*
 * A failed batch call is redone one entry at a time from its start: the
 * count the kernel hands back is not set on every error path, and redoing
 * an update (BPF_ANY) or a delete is harmless. The single calls then give
 * the real error and the exact entry. A map type without batch ops is
 * remembered, so later chunks go one by one straight away.
 */
int sl_map_update_many(int fd, const void *keys, const void *values, size_t n,
		       size_t key_size, size_t value_size, size_t *done)
{
	const char *k = keys, *v = values;
	bool batch = true;
	size_t i = 0;
	int err = 0;

	while (i < n && !err) {
		size_t chunk = n - i < BATCH_MAX ? n - i : BATCH_MAX;
		__u32 count = (__u32)chunk;

		if (batch && bpf_map_update_batch(fd, k + i * key_size,
						  v + i * value_size, &count,
						  NULL) == 0) {
			i += chunk;
			continue;
		}
		if (batch && no_batch(errno))
			batch = false;
		for (size_t end = i + chunk; i < end; i++)
			if (bpf_map_update_elem(fd, k + i * key_size,
						v + i * value_size, BPF_ANY) < 0) {
				err = -errno;
				break;
			}
	}
	if (done)
		*done = i;
	return err;
}

int sl_map_delete_many(int fd, const void *keys, size_t n, size_t key_size)
{
	const char *k = keys;
	bool batch = true;
	size_t i = 0;

	while (i < n) {
		size_t chunk = n - i < BATCH_MAX ? n - i : BATCH_MAX;
		__u32 count = (__u32)chunk;

		/* A key already gone fails the batch (ENOENT): the chunk is
		 * then redone singly, where that is no error. */
		if (batch && bpf_map_delete_batch(fd, k + i * key_size, &count,
						  NULL) == 0) {
			i += chunk;
			continue;
		}
		if (batch && no_batch(errno))
			batch = false;
		for (size_t end = i + chunk; i < end; i++)
			if (bpf_map_delete_elem(fd, k + i * key_size) < 0 &&
			    errno != ENOENT)
				return -errno;
	}
	return 0;
}

int sl_map_percpu_sum(int fd, const void *key, __u64 *sum, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int err = 0;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	/* The kernel pads each CPU's value to 8 bytes: ours need none. */
	vals = calloc((size_t)ncpu * n_u64, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, vals) < 0)
		err = -errno;
	for (int c = 0; !err && c < ncpu; c++)
		for (size_t i = 0; i < n_u64; i++)
			sum[i] += vals[(size_t)c * n_u64 + i];
	free(vals);
	return err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The pinned sl_services, sl_backends and sl_maglev as a struct
 * sl_svc_backend: all of the Service sync's map I/O, kept apart from the
 * compile and diff in service.c, which see only the backend's functions
 * (the unit tests put an in-memory one in its place).
 */
#include "service.h"
#include "bpfmap.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static int bpf_dump_services(const struct sl_svc_backend *be,
			     int (*cb)(const struct sl_service_key *,
				       const struct sl_service_val *, void *),
			     void *arg)
{
	struct sl_service_key key, next;
	struct sl_service_val v;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(be->services_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->services_fd, &key, &v) < 0)
			continue;
		ret = cb(&key, &v, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_dump_backends(const struct sl_svc_backend *be,
			     int (*cb)(__u32, const struct sl_backend *,
				       void *),
			     void *arg)
{
	struct sl_backend b;
	__u32 key, next;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(be->backends_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->backends_fd, &key, &b) < 0)
			continue;
		ret = cb(key, &b, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_write_services(const struct sl_svc_backend *be,
			      const struct sl_service_key *keys,
			      const struct sl_service_val *vals, size_t n)
{
	return sl_map_update_many(be->services_fd, keys, vals, n,
				  sizeof(*keys), sizeof(*vals), NULL);
}

static int bpf_remove_services(const struct sl_svc_backend *be,
			       const struct sl_service_key *keys, size_t n)
{
	return sl_map_delete_many(be->services_fd, keys, n, sizeof(*keys));
}

static int bpf_write_backends(const struct sl_svc_backend *be,
			      const __u32 *ids, const struct sl_backend *vals,
			      size_t n)
{
	return sl_map_update_many(be->backends_fd, ids, vals, n, sizeof(*ids),
				  sizeof(*vals), NULL);
}

static int bpf_remove_backends(const struct sl_svc_backend *be,
			       const __u32 *ids, size_t n)
{
	return sl_map_delete_many(be->backends_fd, ids, n, sizeof(*ids));
}

static int bpf_dump_maglev(const struct sl_svc_backend *be,
			   int (*cb)(__u32, __u32, void *), void *arg)
{
	__u32 key, next, inner;
	void *prev = NULL;
	int ret;

	/* A map-in-map answers a lookup with the inner map's id. */
	while (bpf_map_get_next_key(be->maglev_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(be->maglev_fd, &key, &inner) < 0)
			continue;
		ret = cb(key, inner, arg);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int bpf_read_maglev(const struct sl_svc_backend *be, __u32 table_id,
			   __u32 *table)
{
	__u32 inner_id, zero = 0;
	int fd, err = 0;

	if (bpf_map_lookup_elem(be->maglev_fd, &table_id, &inner_id) < 0)
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, table) < 0)
		err = -errno;
	close(fd);
	return err;
}

/*
 * A new inner map, filled, then put in the outer map under the table id:
 * the swap replaces the old table in one step, and the kernel frees the
 * old one once no program can still be reading it. Our fd goes: the outer
 * map holds the table from then on.
 */
static int bpf_write_maglev(const struct sl_svc_backend *be, __u32 table_id,
			    const __u32 *table, __u32 *inner_id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev_lut", sizeof(zero),
			    sizeof(struct sl_maglev_table), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, table, BPF_ANY) < 0 ||
	    bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
	    bpf_map_update_elem(be->maglev_fd, &table_id, &fd, BPF_ANY) < 0)
		err = -errno;
	else
		*inner_id = info.id;
	close(fd);
	return err;
}

static int bpf_remove_maglev(const struct sl_svc_backend *be,
			     const __u32 *table_ids, size_t n)
{
	return sl_map_delete_many(be->maglev_fd, table_ids, n,
				  sizeof(*table_ids));
}

void sl_svc_backend_bpf(struct sl_svc_backend *be, int services_fd,
			int backends_fd, int maglev_fd)
{
	memset(be, 0, sizeof(*be));
	be->dump_services = bpf_dump_services;
	be->dump_backends = bpf_dump_backends;
	be->write_services = bpf_write_services;
	be->remove_services = bpf_remove_services;
	be->write_backends = bpf_write_backends;
	be->remove_backends = bpf_remove_backends;
	if (maglev_fd >= 0) {
		be->dump_maglev = bpf_dump_maglev;
		be->read_maglev = bpf_read_maglev;
		be->write_maglev = bpf_write_maglev;
		be->remove_maglev = bpf_remove_maglev;
	}
	be->services_fd = services_fd;
	be->backends_fd = backends_fd;
	be->maglev_fd = maglev_fd;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store.h"
#include "fsutil.h"
#include "log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define RECORD_MAX_BYTES (64 * 1024)

static int ip4_from_str(const char *s, uint32_t *ip)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*ip = ntohl(in.s_addr);
	return 0;
}

void sl_pool_range(const struct sl_ipv4_net *pool, uint32_t *first,
		   uint32_t *last)
{
	uint32_t size = pool->prefix ? 1u << (32 - pool->prefix) : 0;

	/* Network and broadcast addresses are never handed out. The pods'
	 * gateway is link-local, so nothing else is reserved. */
	*first = pool->addr + 1;
	*last = pool->addr + size - 2;
}

static int store_path(const struct sl_store *store, const char *name,
		      char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", store->dir, name);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int sl_store_open(struct sl_store *store, const char *run_dir, bool create)
{
	char path[PATH_MAX];
	int err;

	store->lock_fd = -1;
	if (snprintf(store->dir, sizeof(store->dir), "%s/endpoints", run_dir) >=
	    (int)sizeof(store->dir))
		return -ENAMETOOLONG;
	if (create) {
		err = sl_mkdir_p(store->dir, 0700);
		if (err < 0)
			return err;
	}
	err = store_path(store, ".lock", path, sizeof(path));
	if (err < 0)
		return err;
	store->lock_fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0),
			      0600);
	return store->lock_fd < 0 ? -errno : 0;
}

void sl_store_close(struct sl_store *store)
{
	if (store->lock_fd >= 0)
		close(store->lock_fd);
	store->lock_fd = -1;
}

int sl_store_lock(struct sl_store *store)
{
	while (flock(store->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void sl_store_unlock(struct sl_store *store)
{
	flock(store->lock_fd, LOCK_UN);
}

static int mac_from_str(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

char *sl_record_to_json(const struct sl_ep_record *rec)
{
	json_object *o = json_object_new_object();
	char ip[16], mac[18];
	char *out;

	sl_ip4_to_str(rec->ip, ip);
	json_object_object_add(o, "containerID",
			       json_object_new_string(rec->container_id));
	json_object_object_add(o, "ifname", json_object_new_string(rec->ifname));
	json_object_object_add(o, "ip", json_object_new_string(ip));
	json_object_object_add(o, "netns", json_object_new_string(rec->netns));
	json_object_object_add(o, "podNamespace",
			       json_object_new_string(rec->pod.namespace));
	json_object_object_add(o, "podName",
			       json_object_new_string(rec->pod.name));
	json_object_object_add(o, "podUID", json_object_new_string(rec->pod.uid));
	if (rec->host_veth[0]) {
		json_object_object_add(o, "hostVeth",
				       json_object_new_string(rec->host_veth));
		json_object_object_add(o, "hostIfindex",
				       json_object_new_int(rec->host_ifindex));
		sl_mac_to_str(rec->host_mac, mac);
		json_object_object_add(o, "hostMAC", json_object_new_string(mac));
		sl_mac_to_str(rec->pod_mac, mac);
		json_object_object_add(o, "podMAC", json_object_new_string(mac));
		json_object_object_add(o, "mtu", json_object_new_int(rec->mtu));
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return out;
}

static int copy_str(json_object *o, const char *key, char *dst, size_t len,
		    bool required)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return required ? -EINVAL : 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	if (strlen(s) >= len)
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

int sl_record_from_json(const char *buf, size_t len, struct sl_ep_record *rec)
{
	char ip[16] = "", mac[18];
	json_object *o, *v;
	int err = -EINVAL;

	memset(rec, 0, sizeof(*rec));
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    strlen(buf) != len)
		goto out;
	if (copy_str(o, "containerID", rec->container_id,
		     sizeof(rec->container_id), true) ||
	    copy_str(o, "ifname", rec->ifname, sizeof(rec->ifname), true) ||
	    copy_str(o, "ip", ip, sizeof(ip), true) ||
	    ip4_from_str(ip, &rec->ip) ||
	    copy_str(o, "netns", rec->netns, sizeof(rec->netns), false) ||
	    copy_str(o, "podNamespace", rec->pod.namespace,
		     sizeof(rec->pod.namespace), false) ||
	    copy_str(o, "podName", rec->pod.name, sizeof(rec->pod.name),
		     false) ||
	    copy_str(o, "podUID", rec->pod.uid, sizeof(rec->pod.uid), false) ||
	    copy_str(o, "hostVeth", rec->host_veth, sizeof(rec->host_veth),
		     false))
		goto out;
	if (rec->host_veth[0]) {
		if (copy_str(o, "hostMAC", mac, sizeof(mac), true) ||
		    mac_from_str(mac, rec->host_mac) ||
		    copy_str(o, "podMAC", mac, sizeof(mac), true) ||
		    mac_from_str(mac, rec->pod_mac))
			goto out;
		if (!json_object_object_get_ex(o, "hostIfindex", &v) ||
		    !json_object_is_type(v, json_type_int))
			goto out;
		rec->host_ifindex = json_object_get_int(v);
		if (json_object_object_get_ex(o, "mtu", &v) &&
		    json_object_is_type(v, json_type_int))
			rec->mtu = json_object_get_int(v);
	}
	err = 0;
out:
	json_object_put(o);
	return err;
}

static int read_record(struct sl_store *store, const char *name,
		       struct sl_ep_record *rec)
{
	char path[PATH_MAX], *buf;
	size_t len;
	int err;

	err = store_path(store, name, path, sizeof(path));
	if (err < 0)
		return err;
	err = sl_read_file(path, RECORD_MAX_BYTES, &buf, &len);
	if (err < 0)
		return err;
	err = sl_record_from_json(buf, len, rec);
	free(buf);
	if (!err) {
		char ip[16];

		/* The file name is the reservation; trust it over content. */
		sl_ip4_to_str(rec->ip, ip);
		if (strcmp(ip, name))
			err = -EINVAL;
	}
	return err;
}

static bool is_record_name(const char *name)
{
	uint32_t ip;

	return name[0] != '.' && ip4_from_str(name, &ip) == 0;
}

int sl_store_foreach(struct sl_store *store,
		     int (*fn)(const struct sl_ep_record *rec, void *ctx),
		     void *ctx)
{
	struct sl_ep_record rec;
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	dir = opendir(store->dir);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (!is_record_name(de->d_name))
			continue;
		if (read_record(store, de->d_name, &rec) < 0) {
			log_warn("ignoring unreadable endpoint record %s/%s",
				 store->dir, de->d_name);
			continue;
		}
		ret = fn(&rec, ctx);
		if (ret)
			break;
	}
	closedir(dir);
	return ret;
}

struct find_ctx {
	const char *container_id;
	const char *ifname;
	struct sl_ep_record *out;
};

static int find_cb(const struct sl_ep_record *rec, void *data)
{
	struct find_ctx *ctx = data;

	if (strcmp(rec->container_id, ctx->container_id) ||
	    strcmp(rec->ifname, ctx->ifname))
		return 0;
	*ctx->out = *rec;
	return 1;
}

int sl_store_find(struct sl_store *store, const char *container_id,
		  const char *ifname, struct sl_ep_record *rec)
{
	struct find_ctx ctx = { container_id, ifname, rec };
	int ret = sl_store_foreach(store, find_cb, &ctx);

	if (ret < 0)
		return ret;
	return ret == 1 ? 0 : -ENOENT;
}

struct scan_ctx {
	struct find_ctx find;
	bool found;
	const struct sl_ipv4_net *pool;
	uint8_t *used; /* bitmap over the pool */
	uint64_t nused;
};

static int scan_cb(const struct sl_ep_record *rec, void *data)
{
	struct scan_ctx *ctx = data;
	uint64_t off = rec->ip - ctx->pool->addr;
	uint32_t first, last;

	if (find_cb(rec, &ctx->find)) {
		ctx->found = true;
		return 1;
	}
	sl_pool_range(ctx->pool, &first, &last);
	if (rec->ip >= first && rec->ip <= last && ctx->used) {
		ctx->used[off / 8] |= (uint8_t)(1u << (off % 8));
		ctx->nused++;
	}
	return 0;
}

static uint32_t read_last(struct sl_store *store)
{
	char path[PATH_MAX], *buf;
	uint32_t ip = 0;

	if (store_path(store, ".last", path, sizeof(path)) == 0 &&
	    sl_read_file(path, 64, &buf, NULL) == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (ip4_from_str(buf, &ip) < 0)
			ip = 0;
		free(buf);
	}
	return ip;
}

/*
 * Create the record file for rec->ip, failing with -EEXIST when it exists.
 * Written to a temporary name and linked into place, so readers that do not
 * take the lock never see a half-written record.
 */
static int create_record(struct sl_store *store, const struct sl_ep_record *rec)
{
	char path[PATH_MAX], tmp[PATH_MAX], ip[16], name[32], *json;
	int err;

	sl_ip4_to_str(rec->ip, ip);
	snprintf(name, sizeof(name), ".new-%d", (int)getpid());
	err = store_path(store, ip, path, sizeof(path));
	if (!err)
		err = store_path(store, name, tmp, sizeof(tmp));
	if (err < 0)
		return err;
	json = sl_record_to_json(rec);
	if (!json)
		return -ENOMEM;
	err = sl_write_file_atomic(tmp, json, strlen(json), 0600);
	free(json);
	if (err < 0)
		return err;
	if (link(tmp, path) < 0)
		err = -errno;
	unlink(tmp);
	return err;
}

int sl_store_allocate(struct sl_store *store, const struct sl_ipv4_net *pool,
		      struct sl_ep_record *rec, bool *existed)
{
	struct scan_ctx ctx = { .find = { rec->container_id, rec->ifname, NULL },
				.pool = pool };
	struct sl_ep_record found;
	uint32_t first, last, start, ip;
	uint64_t size;
	char path[PATH_MAX], ipstr[16];
	int ret;

	*existed = false;
	sl_pool_range(pool, &first, &last);
	size = (uint64_t)last - first + 1;
	ctx.find.out = &found;
	ctx.used = calloc((1ull << (32 - pool->prefix)) / 8 + 1, 1);
	if (!ctx.used)
		return -ENOMEM;
	ret = sl_store_foreach(store, scan_cb, &ctx);
	if (ret < 0)
		goto out;
	if (ctx.found) {
		rec->ip = found.ip;
		*existed = true;
		ret = 0;
		goto out;
	}

	start = read_last(store);
	start = (start >= first && start < last) ? start + 1 : first;
	ret = -ENOSPC;
	for (uint64_t i = 0; i < size; i++) {
		uint64_t off;

		ip = first + (uint32_t)((start - first + i) % size);
		off = ip - pool->addr;
		if (ctx.used[off / 8] & (1u << (off % 8)))
			continue;
		rec->ip = ip;
		ret = create_record(store, rec);
		if (ret == -EEXIST) /* an unreadable record holds it */
			continue;
		break;
	}
	if (ret == 0) {
		sl_ip4_to_str(rec->ip, ipstr);
		/* Only a hint for round-robin: losing it is harmless. */
		if (store_path(store, ".last", path, sizeof(path)) < 0 ||
		    sl_write_file_atomic(path, ipstr, strlen(ipstr), 0600) < 0)
			log_warn("cannot record last allocated address, ignoring");
	}
out:
	free(ctx.used);
	return ret;
}

int sl_store_update(struct sl_store *store, const struct sl_ep_record *rec)
{
	char path[PATH_MAX], ip[16], *json;
	int err;

	sl_ip4_to_str(rec->ip, ip);
	err = store_path(store, ip, path, sizeof(path));
	if (err < 0)
		return err;
	if (access(path, F_OK) < 0)
		return -errno;
	json = sl_record_to_json(rec);
	if (!json)
		return -ENOMEM;
	err = sl_write_file_atomic(path, json, strlen(json), 0600);
	free(json);
	return err;
}

int sl_store_release(struct sl_store *store, const struct sl_ep_record *rec)
{
	struct sl_ep_record cur;
	char path[PATH_MAX], ip[16];
	int err;

	sl_ip4_to_str(rec->ip, ip);
	err = read_record(store, ip, &cur);
	if (err == -ENOENT)
		return 0;
	if (err == 0 && (strcmp(cur.container_id, rec->container_id) ||
			 strcmp(cur.ifname, rec->ifname)))
		return 0; /* someone else's now: not ours to free */
	/* An unreadable record for our address is removed all the same. */
	err = store_path(store, ip, path, sizeof(path));
	if (err < 0)
		return err;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int sl_store_usage(struct sl_store *store, const struct sl_ipv4_net *pool,
		   uint64_t *used, uint64_t *size)
{
	struct scan_ctx ctx = { .find = { "", "", NULL }, .pool = pool };
	struct sl_ep_record dummy;
	uint32_t first, last;
	int ret;

	ctx.find.out = &dummy;
	sl_pool_range(pool, &first, &last);
	ctx.used = calloc((1ull << (32 - pool->prefix)) / 8 + 1, 1);
	if (!ctx.used)
		return -ENOMEM;
	ret = sl_store_foreach(store, scan_cb, &ctx);
	free(ctx.used);
	if (ret < 0)
		return ret;
	*used = ctx.nused;
	*size = (uint64_t)last - first + 1;
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The endpoint store: one file per allocated pod address under
 * <runDir>/endpoints/, named by the address, holding the endpoint record
 * (container ID, ifname, pod metadata, interfaces) as JSON. The file's
 * existence is the IPAM reservation; an flock on <runDir>/endpoints/.lock
 * serialises allocation and release between concurrent plugin runs. Records
 * appear and change only by rename or link, so readers (find, foreach, the
 * agent) need no lock.
 */
#ifndef SL_COMMON_STORE_H
#define SL_COMMON_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipv4.h"

/* The pod behind an attachment, from the runtime's CNI_ARGS. */
struct sl_pod_meta {
	char namespace[254];
	char name[254];
	char uid[128];
};

struct sl_ep_record {
	char container_id[256];
	char ifname[16];
	uint32_t ip; /* host byte order */
	char netns[PATH_MAX];
	struct sl_pod_meta pod;
	/* Set once the interfaces exist. */
	char host_veth[16];
	int host_ifindex;
	uint8_t host_mac[6];
	uint8_t pod_mac[6];
	int mtu;
};

struct sl_store {
	char dir[PATH_MAX];
	int lock_fd;
};

/*
 * sl_store_open - open <runDir>/endpoints
 * @create: make the directory and lock file when missing (ADD); without it
 *          a missing store is -ENOENT, so DEL, CHECK, GC and STATUS of a
 *          node that never ran an ADD leave no trace.
 */
int sl_store_open(struct sl_store *store, const char *run_dir, bool create);
void sl_store_close(struct sl_store *store);
int sl_store_lock(struct sl_store *store);
void sl_store_unlock(struct sl_store *store);

/**
 * sl_store_allocate - reserve an address for (container ID, ifname)
 * @store: a locked store
 * @pool: the node's pod CIDR
 * @rec: in: container_id, ifname, netns, pod; out: ip
 * @existed: true when the pair already had an address (returned again)
 *
 * Addresses are handed out round-robin from the last one allocated, so a
 * freed address is not reused at once. Returns 0, -ENOSPC when the pool is
 * exhausted, or -errno.
 */
int sl_store_allocate(struct sl_store *store, const struct sl_ipv4_net *pool,
		      struct sl_ep_record *rec, bool *existed);

/* Find the record of (container ID, ifname); 0 or -ENOENT. */
int sl_store_find(struct sl_store *store, const char *container_id,
		  const char *ifname, struct sl_ep_record *rec);

/* Rewrite a record atomically (its address file must exist). */
int sl_store_update(struct sl_store *store, const struct sl_ep_record *rec);

/* Free rec->ip if it still belongs to rec's (container ID, ifname); the
 * store must be locked. */
int sl_store_release(struct sl_store *store, const struct sl_ep_record *rec);

/* Call fn for every record; stops early when fn returns non-zero. */
int sl_store_foreach(struct sl_store *store,
		     int (*fn)(const struct sl_ep_record *rec, void *ctx),
		     void *ctx);

/* Addresses in the pool, and how many are taken. */
int sl_store_usage(struct sl_store *store, const struct sl_ipv4_net *pool,
		   uint64_t *used, uint64_t *size);

/* Encode/decode a record; decode returns -EINVAL on any malformed field. */
char *sl_record_to_json(const struct sl_ep_record *rec);
int sl_record_from_json(const char *buf, size_t len, struct sl_ep_record *rec);

/* First and last assignable address of a pool (host order). */
void sl_pool_range(const struct sl_ipv4_net *pool, uint32_t *first,
		   uint32_t *last);

#endif /* SL_COMMON_STORE_H */

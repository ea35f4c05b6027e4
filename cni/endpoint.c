// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Helpers every command shares: naming, the pod CIDR, teardown. */
#include "plugin.h"
#include "datapath.h"
#include "fsutil.h"
#include "link.h"
#include "log.h"
#include "netns.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/endpoint.h>

void sl_host_veth_name(const char *container_id, const char *ifname,
		       char out[16])
{
	/* FNV-1a 64 over "<id>/<ifname>"; 48 bits keep collisions between a
	 * node's few hundred pods out of reach. */
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[] = { container_id, "/", ifname };

	for (size_t i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ull;
		}
	snprintf(out, 16, "sl%012llx",
		 (unsigned long long)(h & 0xffffffffffffull));
}

/* The agent's node record, <runDir>/node.json. */
static void node_record_path(const struct sl_conf *conf,
			     char path[PATH_MAX + 16])
{
	snprintf(path, PATH_MAX + 16, "%s/node.json", conf->run_dir);
}

bool sl_agent_manages_node(const struct sl_conf *conf)
{
	char path[PATH_MAX + 16];

	node_record_path(conf, path);
	return access(path, F_OK) == 0;
}

int sl_resolve_pod_cidr(const struct sl_conf *conf, struct sl_ipv4_net *net)
{
	char path[PATH_MAX + 16], *buf;
	json_object *root, *v;
	int err = -ENOENT;

	if (conf->have_pod_cidr) {
		*net = conf->pod_cidr;
		return 0;
	}
	node_record_path(conf, path);
	if (sl_read_file(path, 1 << 16, &buf, NULL) < 0)
		return -ENOENT;
	root = json_tokener_parse(buf);
	free(buf);
	if (root && json_object_object_get_ex(root, "podCIDR", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    sl_parse_ipv4_cidr(json_object_get_string(v), net) == 0 &&
	    net->prefix >= 8 && net->prefix <= 30)
		err = 0;
	else
		log_warn("ignoring %s: no valid podCIDR in it", path);
	json_object_put(root);
	return err;
}

int sl_resolve_mtu(const struct sl_conf *conf)
{
	char path[PATH_MAX + 16], *buf;
	json_object *root, *v;
	int mtu = conf->mtu;

	if (conf->have_mtu)
		return conf->mtu;
	node_record_path(conf, path);
	if (sl_read_file(path, 1 << 16, &buf, NULL) < 0)
		return mtu;
	root = json_tokener_parse(buf);
	free(buf);
	if (root && json_object_object_get_ex(root, "mtu", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int(v) >= 68 && json_object_get_int(v) <= 65535)
		mtu = json_object_get_int(v);
	json_object_put(root);
	return mtu;
}

static void unmap_endpoint(const struct sl_conf *conf,
			   const struct sl_ep_record *rec)
{
	struct sl_datapath dp = SL_DATAPATH_INIT;
	struct sl_endpoint_key key = { .ip4 = htonl(rec->ip) };
	struct sl_endpoint val;

	if (sl_datapath_open_pinned(&dp, conf->bpf_root) < 0)
		return; /* no datapath: no entry to remove */
	/* Only our own entry: the address may have moved on already. */
	if (bpf_map_lookup_elem(dp.endpoints_fd, &key, &val) == 0 &&
	    (!rec->host_ifindex || val.ifindex == (__u32)rec->host_ifindex))
		bpf_map_delete_elem(dp.endpoints_fd, &key);
	sl_datapath_close(&dp);
}

int sl_endpoint_teardown(const struct sl_conf *conf, struct sl_store *store,
			 const struct sl_ep_record *rec)
{
	char veth[16];
	struct nl_sock *sk;
	int err;

	if (rec->ip)
		unmap_endpoint(conf, rec);
	sl_host_veth_name(rec->container_id, rec->ifname, veth);
	sk = sl_nl_socket(-1, &err);
	if (!sk)
		return err;
	/* Deleting a veth waits for RCU grace periods: not under the lock
	 * that concurrent ADDs need. The address stays reserved until then. */
	err = sl_link_delete(sk, veth);
	nl_socket_free(sk);
	if (err < 0) {
		log_error("deleting %s failed: %s", veth, strerror(-err));
		return err;
	}
	if (!rec->ip)
		return 0; /* no record: no address to free */
	err = sl_store_lock(store);
	if (err < 0)
		return err;
	err = sl_store_release(store, rec);
	sl_store_unlock(store);
	return err;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The plugin's commands and what they share. */
#ifndef SL_CNI_PLUGIN_H
#define SL_CNI_PLUGIN_H

#include <json-c/json.h>
#include <stdbool.h>

#include "conf.h"
#include "env.h"
#include "errors.h"
#include "store.h"

/* ADD prints *result; the others print nothing on success. */
int sl_cmd_add(const struct sl_env *env, const struct sl_conf *conf,
	       json_object **result, struct sl_err *err);
int sl_cmd_del(const struct sl_env *env, const struct sl_conf *conf,
	       struct sl_err *err);
int sl_cmd_check(const struct sl_env *env, const struct sl_conf *conf,
		 struct sl_err *err);
int sl_cmd_gc(const struct sl_conf *conf, struct sl_err *err);
int sl_cmd_status(const struct sl_conf *conf, struct sl_err *err);
json_object *sl_cmd_version(const char *requested);

/* Plugin-specific: CHECK found the attachment not as ADD left it. */
#define SL_ERR_CHECK_FAILED 106

/*
 * sl_host_veth_name - the host-side veth of (container ID, ifname):
 * "sl" + 12 hex digits of a hash, so DEL finds it with no state at all.
 */
void sl_host_veth_name(const char *container_id, const char *ifname,
		       char out[16]);

/*
 * sl_agent_manages_node - has an agent written its node record
 * (<runDir>/node.json)? Then it owns the pods' identity and policy, and a
 * new pod stays closed (SL_EP_F_PENDING) until the agent programs it.
 */
bool sl_agent_manages_node(const struct sl_conf *conf);

/*
 * sl_resolve_pod_cidr - podCIDR from the config, else from the agent's
 * node record <runDir>/node.json ({"podCIDR": "…"}). -ENOENT when neither
 * has one.
 */
int sl_resolve_pod_cidr(const struct sl_conf *conf, struct sl_ipv4_net *net);

/*
 * sl_resolve_mtu - the pods' MTU: the config's mtu, else the agent's node
 * record's (the underlay's, less the tunnel's headers in VXLAN mode),
 * else SL_DEFAULT_MTU.
 */
int sl_resolve_mtu(const struct sl_conf *conf);

/*
 * sl_endpoint_teardown - undo an attachment: endpoint map entry, host veth
 * (its peer, routes and neighbours go with it), then the address. Missing
 * pieces are not errors. Takes the store lock only to free the address.
 */
int sl_endpoint_teardown(const struct sl_conf *conf, struct sl_store *store,
			 const struct sl_ep_record *rec);

#endif /* SL_CNI_PLUGIN_H */

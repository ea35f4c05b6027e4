// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "result.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

static json_object *iface_json(const struct sl_result_iface *i,
			       enum cni_ver ver)
{
	json_object *o = json_object_new_object();
	char mac[18];

	sl_mac_to_str(i->mac, mac);
	json_object_object_add(o, "name", json_object_new_string(i->name));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	if (ver >= CNI_V110)
		json_object_object_add(o, "mtu", json_object_new_int(i->mtu));
	if (i->sandbox)
		json_object_object_add(o, "sandbox",
				       json_object_new_string(i->sandbox));
	return o;
}

/* A copy of prev[key] when it is an array, else a new empty array. */
static json_object *prev_array(json_object *prev, const char *key)
{
	json_object *v, *copy = NULL;

	if (prev && json_object_object_get_ex(prev, key, &v) &&
	    json_object_is_type(v, json_type_array) &&
	    json_object_deep_copy(v, &copy, NULL) == 0)
		return copy;
	return json_object_new_array();
}

json_object *sl_result_build(const struct sl_result *res, enum cni_ver ver,
			     json_object *prev)
{
	json_object *out = json_object_new_object();
	json_object *ifaces = prev_array(prev, "interfaces");
	json_object *ips = prev_array(prev, "ips");
	json_object *routes = prev_array(prev, "routes");
	json_object *ip, *route, *src = NULL, *dns = NULL;
	size_t pod_index;
	char addr[24], gw[16];

	json_object_object_add(out, "cniVersion",
			       json_object_new_string(cni_version_names[ver]));

	json_object_array_add(ifaces, iface_json(&res->host, ver));
	pod_index = json_object_array_length(ifaces);
	json_object_array_add(ifaces, iface_json(&res->pod, ver));
	json_object_object_add(out, "interfaces", ifaces);

	sl_ip4_to_str(res->ip, addr);
	strcat(addr, "/32");
	sl_ip4_to_str(res->gateway, gw);
	ip = json_object_new_object();
	if (ver < CNI_V100)
		json_object_object_add(ip, "version", json_object_new_string("4"));
	json_object_object_add(ip, "interface",
			       json_object_new_int((int)pod_index));
	json_object_object_add(ip, "address", json_object_new_string(addr));
	json_object_object_add(ip, "gateway", json_object_new_string(gw));
	json_object_array_add(ips, ip);
	json_object_object_add(out, "ips", ips);

	route = json_object_new_object();
	json_object_object_add(route, "dst", json_object_new_string("0.0.0.0/0"));
	json_object_object_add(route, "gw", json_object_new_string(gw));
	json_object_array_add(routes, route);
	json_object_object_add(out, "routes", routes);

	/* An earlier plugin's DNS wins over our configured one. */
	if (!prev || !json_object_object_get_ex(prev, "dns", &src))
		src = res->dns;
	if (src && json_object_deep_copy(src, &dns, NULL) == 0)
		json_object_object_add(out, "dns", dns);
	return out;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The ADD success result, in the request's CNI version. */
#ifndef SL_CNI_RESULT_H
#define SL_CNI_RESULT_H

#include <json-c/json.h>
#include <stdint.h>

#include "conf.h"

struct sl_result_iface {
	const char *name;
	uint8_t mac[6];
	int mtu;
	const char *sandbox; /* NULL for the host side */
};

struct sl_result {
	struct sl_result_iface host, pod;
	uint32_t ip; /* host order, a /32 on the pod interface */
	uint32_t gateway;
	json_object *dns; /* borrowed, may be NULL */
};

/**
 * sl_result_build - encode the result of an ADD
 * @res: what we set up
 * @ver: the request's version: 0.3.x/0.4.0 add ips[].version, 1.1.0 adds
 *       interfaces[].mtu
 * @prev: prevResult when we are not the first plugin of the chain: its
 *        interfaces, ips, routes and dns are kept, ours appended
 *
 * Returns a new object (caller puts it) or NULL on allocation failure.
 */
json_object *sl_result_build(const struct sl_result *res, enum cni_ver ver,
			     json_object *prev);

#endif /* SL_CNI_RESULT_H */

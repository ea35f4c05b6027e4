// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "netdev.h"
#include "agent.h"
#include "datapath.h"
#include "log.h"
#include "tc.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Is name one of the comma-separated entries of list? */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static bool wanted(const struct sl_agent *a, const struct ifaddrs *ifa)
{
	if (a->devices && strcmp(a->devices, "auto"))
		return listed(a->devices, ifa->ifa_name);
	/* Auto: where the node has an address. Pod veths have none. */
	return ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
	       !(ifa->ifa_flags & IFF_LOOPBACK);
}

static int attach(struct sl_agent *a, const char *name, unsigned int want_in,
		  unsigned int want_out)
{
	int ifindex = (int)if_nametoindex(name);
	unsigned int in = 0, out = 0;
	int err;

	if (!ifindex)
		return -errno;
	if (sl_tc_query(ifindex, true, &in) == 0 &&
	    sl_tc_query(ifindex, false, &out) == 0 && in == want_in &&
	    out == want_out)
		return 0; /* already ours, this very datapath */
	err = sl_tc_attach(ifindex, a->dp.from_netdev_fd, a->dp.to_netdev_fd);
	if (err < 0)
		return err;
	log_info("services from outside: attached to %s (ifindex %d)", name,
		 ifindex);
	return 1;
}

int sl_netdev_attach(struct sl_agent *a)
{
	unsigned int want_in = sl_prog_id(a->dp.from_netdev_fd);
	unsigned int want_out = sl_prog_id(a->dp.to_netdev_fd);
	struct ifaddrs *ifs, *ifa;
	char names[sizeof(a->netdevs)] = "";
	int err = 0, attached = 0;

	if (a->devices && !strcmp(a->devices, "none"))
		return 0;
	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
		int ret;

		if (!wanted(a, ifa) || listed(names, ifa->ifa_name))
			continue; /* an interface is listed once per address */
		ret = attach(a, ifa->ifa_name, want_in, want_out);
		if (ret < 0) {
			log_error("attaching to %s: %s", ifa->ifa_name,
				  strerror(-ret));
			if (!err)
				err = ret;
			continue;
		}
		attached += ret;
		if (strlen(names) + strlen(ifa->ifa_name) + 2 < sizeof(names))
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s", names[0] ? "," : "", ifa->ifa_name);
	}
	freeifaddrs(ifs);
	snprintf(a->netdevs, sizeof(a->netdevs), "%s", names);
	return err ? err : attached;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "tc.h"

#include <bpf/libbpf.h>
#include <errno.h>

#include <sluice/pins.h>

static int attach_one(int ifindex, enum bpf_tc_attach_point point, int fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SL_TC_HANDLE,
			    .priority = SL_TC_PRIORITY, .prog_fd = fd,
			    .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int sl_tc_attach(int ifindex, int from_pod_fd, int to_pod_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	/* Creates the clsact qdisc; a fresh veth never has one already. */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	err = attach_one(ifindex, BPF_TC_INGRESS, from_pod_fd);
	if (!err)
		err = attach_one(ifindex, BPF_TC_EGRESS, to_pod_fd);
	return err;
}

int sl_tc_query(int ifindex, bool ingress, unsigned int *prog_id)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = ingress ? BPF_TC_INGRESS :
						      BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SL_TC_HANDLE,
			    .priority = SL_TC_PRIORITY);
	int err;

	*prog_id = 0;
	err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL)
		return 0; /* no qdisc or no filter: nothing attached */
	if (err)
		return err;
	*prog_id = opts.prog_id;
	return 0;
}

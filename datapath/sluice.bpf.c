// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath object: one entry program per hook, each parsing nothing
 * itself and ending in sl_finish(). The logic lives in lib/.
 */
#include "lib/common.h"
#include "lib/drop.h"
#include "lib/lxc.h"

SEC("tc")
int sl_from_pod(struct __sk_buff *skb)
{
	return sl_finish(skb, lxc_from_pod(skb), SL_DIR_EGRESS);
}

SEC("tc")
int sl_to_pod(struct __sk_buff *skb)
{
	return sl_finish(skb, lxc_to_pod(skb), SL_DIR_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Includes and small helpers every datapath library needs. */
#ifndef SL_LIB_COMMON_H
#define SL_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <stdbool.h> /* clang's own, no libc */

#include <sluice/drop.h>
#include <sluice/endpoint.h>
#include <sluice/event.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SL_OFFSETOF(type, member) __builtin_offsetof(type, member)

/*
 * The verdict of a handler: ret < 0 is a drop reason (negated enum
 * sl_reason); ret >= 0 a TC_ACT_* value, with trace naming the path taken.
 */
struct sl_verdict {
	int ret;
	__u32 trace;
};

static __always_inline struct sl_verdict sl_pass(int act, __u32 trace)
{
	return (struct sl_verdict){ .ret = act, .trace = trace };
}

static __always_inline struct sl_verdict sl_drop(__u32 reason)
{
	return (struct sl_verdict){ .ret = -(int)reason, .trace = 0 };
}

#endif /* SL_LIB_COMMON_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attaching the pinned programs to a pod's host-side veth (tc clsact). */
#ifndef SL_COMMON_TC_H
#define SL_COMMON_TC_H

#include <stdbool.h>

/* sl_from_pod on ingress (traffic leaving the pod), sl_to_pod on egress. */
int sl_tc_attach(int ifindex, int from_pod_fd, int to_pod_fd);

/* The kernel id of our program on that side, 0 if none; or -errno. */
int sl_tc_query(int ifindex, bool ingress, unsigned int *prog_id);

#endif /* SL_COMMON_TC_H */

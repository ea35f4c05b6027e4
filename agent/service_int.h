/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Private to agent/service*.c: what the split-out files need of service.c's
 * state, which service.h keeps opaque behind its functions. */
#ifndef SL_AGENT_SERVICE_INT_H
#define SL_AGENT_SERVICE_INT_H

#include "service.h"

/*
 * sl_svc_held_frontends - every unit's frontends, sorted by key: what the
 * maps hold while the mirror is valid. *out (free it, not the frontends,
 * which stay st's) is NULL when there are none. 0 or -ENOMEM.
 */
int sl_svc_held_frontends(const struct sl_svc_state *st,
			  struct sl_svc_frontend ***out, size_t *n_out);

#endif /* SL_AGENT_SERVICE_INT_H */

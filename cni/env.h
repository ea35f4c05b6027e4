/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The CNI_* environment of one invocation. */
#ifndef SL_CNI_ENV_H
#define SL_CNI_ENV_H

#include "conf.h"
#include "errors.h"
#include "store.h"


struct sl_env {
	enum sl_cmd cmd;
	const char *container_id;
	const char *netns;  /* may be "" on DEL */
	const char *ifname;
	const char *path;
	struct sl_pod_meta pod;
};

/* Look a variable up; the plugin passes getenv, tests a table. */
typedef const char *(*sl_getenv_fn)(const char *name);

/**
 * sl_env_parse - read and validate the variables @cmd needs
 *
 * Missing or invalid variables give code 4 naming them; an unknown
 * CNI_COMMAND gives code 4 too. Only what the command uses is validated
 * (libcni sets dummy values for VERSION).
 */
int sl_env_parse(sl_getenv_fn get, struct sl_env *env, struct sl_err *err);

/* Split K=V;K=V and pick the K8S_POD_* keys; others are ignored. */
int sl_parse_cni_args(const char *args, struct sl_pod_meta *pod,
		      struct sl_err *err);

bool sl_valid_container_id(const char *s);
bool sl_valid_ifname(const char *s);

#endif /* SL_CNI_ENV_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The network configuration the runtime passes on stdin. */
#ifndef SL_CNI_CONF_H
#define SL_CNI_CONF_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "ipv4.h"
#include "log.h"

enum sl_cmd {
	SL_CMD_ADD,
	SL_CMD_DEL,
	SL_CMD_CHECK,
	SL_CMD_VERSION,
	SL_CMD_STATUS,
	SL_CMD_GC,
	SL_CMD_UNKNOWN,
};

/* The versions we accept and answer in, oldest first. */
enum cni_ver {
	CNI_V030,
	CNI_V031,
	CNI_V040,
	CNI_V100,
	CNI_V110,
	CNI_V_COUNT,
};

extern const char *const cni_version_names[CNI_V_COUNT];
#define CNI_V_LATEST CNI_V110

/* Parse "1.0.0" etc.; -1 when unsupported. */
int cni_version_parse(const char *s);
enum sl_cmd sl_cmd_parse(const char *s);
const char *sl_cmd_name(enum sl_cmd cmd);


struct sl_conf {
	enum cni_ver ver;
	char name[256];
	bool have_pod_cidr;
	struct sl_ipv4_net pod_cidr;
	char bpf_root[PATH_MAX];
	char run_dir[PATH_MAX];
	int mtu;
	bool have_mtu; /* in the config; else the agent's node record says */
	unsigned int conntrack_max; /* 0: SL_CT_MAX_DEFAULT */
	/* How long ADD waits for the node's agent to program a new pod
	 * (SL_EP_F_PENDING cleared); 0: not at all. */
	unsigned int agent_wait_ms;
	enum sl_log_level log_level;

	/* The parsed document and borrowed pieces of it (may be NULL). */
	json_object *root;
	json_object *prev_result;
	json_object *dns;
	json_object *valid_attachments; /* GC */
};

#define SL_DEFAULT_MTU 1500
#define SL_DEFAULT_AGENT_WAIT_MS 2000
/* Well inside the runtime's own limit for a CNI call (kubelet's
 * runtime-request-timeout is 2 minutes). */
#define SL_AGENT_WAIT_MS_MAX 60000

/**
 * sl_conf_parse - decode and validate a request configuration
 * @buf: stdin contents (need not be NUL-terminated)
 * @len: its length
 * @cmd: the command, for version-dependent checks (CHECK >= 0.4.0, GC and
 *       STATUS >= 1.1.0)
 * @conf: filled on success; release with sl_conf_free()
 * @err: the CNI error on failure
 *
 * Returns 0 or -1. Never reads the environment: safe to fuzz.
 */
int sl_conf_parse(const char *buf, size_t len, enum sl_cmd cmd,
		  struct sl_conf *conf, struct sl_err *err);
void sl_conf_free(struct sl_conf *conf);

#endif /* SL_CNI_CONF_H */

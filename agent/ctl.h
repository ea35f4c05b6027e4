/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluicectl's shared parts, for the command files (ctl_*.c). */
#ifndef SL_AGENT_CTL_H
#define SL_AGENT_CTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

struct sl_ct_filter;

struct sl_ctl {
	const char *bpf_root;
	const char *run_dir;
	bool json;
};

/* Ask the agent on <runDir>/sluiced.sock; NULL with errno set when it does
 * not answer. The caller puts the result. */
json_object *sl_ctl_ask_agent(const struct sl_ctl *ctl, const char *cmd);
/* The same with a whole request: {"cmd": ..., arguments...}. */
json_object *sl_ctl_ask(const struct sl_ctl *ctl, json_object *req);

/* A member as a string, "" when absent. */
const char *sl_ctl_field(json_object *o, const char *key);
void sl_ctl_print_json(json_object *o);
/* Say the agent is not answering (errno says why); returns 1. */
int sl_ctl_agent_down(const struct sl_ctl *ctl);

/* sluicectl services (ctl_services.c). */
int sl_ctl_services(const struct sl_ctl *ctl);

/* sluicectl policy [ENDPOINT | trace] (ctl_policy.c). */
struct sl_ctl_trace {
	const char *from, *to; /* "namespace/pod" */
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP unless "--port N/udp" etc. */
};

int sl_ctl_policy(const struct sl_ctl *ctl, const char *arg,
		  const struct sl_ctl_trace *trace);

/* sluicectl ct [list|flush] (ctl_ct.c). */
int sl_ctl_ct(const struct sl_ctl *ctl, const char *sub,
	      const struct sl_ct_filter *f, int ct_fd);

/* sluicectl observe [options] (ctl_observe.c): argv[0] is "observe";
 * it also takes -o json, which may follow the command. */
int sl_ctl_observe(const struct sl_ctl *ctl, int argc, char **argv);

#endif /* SL_AGENT_CTL_H */

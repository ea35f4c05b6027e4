// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "env.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool sl_valid_container_id(const char *s)
{
	if (!s || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

bool sl_valid_ifname(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

static void copy_value(char *dst, size_t dst_len, const char *v, size_t n)
{
	if (n >= dst_len)
		n = dst_len - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

int sl_parse_cni_args(const char *args, struct sl_pod_meta *pod,
		      struct sl_err *err)
{
	static const struct {
		const char *key;
		size_t off, len;
	} keys[] = {
		{ "K8S_POD_NAMESPACE", offsetof(struct sl_pod_meta, namespace),
		  sizeof(pod->namespace) },
		{ "K8S_POD_NAME", offsetof(struct sl_pod_meta, name),
		  sizeof(pod->name) },
		{ "K8S_POD_UID", offsetof(struct sl_pod_meta, uid),
		  sizeof(pod->uid) },
	};
	const char *p = args;

	memset(pod, 0, sizeof(*pod));
	while (p && *p) {
		const char *end = strchrnul(p, ';');
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (end == p) { /* empty pair, e.g. a trailing ';' */
			p = *end ? end + 1 : end;
			continue;
		}
		if (!eq)
			return sl_errf(err, CNI_ERR_INVALID_ENV,
				       "invalid CNI_ARGS",
				       "CNI_ARGS pair \"%.*s\" has no '='",
				       (int)(end - p), p);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t klen = strlen(keys[i].key);

			if ((size_t)(eq - p) == klen &&
			    !memcmp(p, keys[i].key, klen))
				copy_value((char *)pod + keys[i].off,
					   keys[i].len, eq + 1,
					   (size_t)(end - eq - 1));
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int sl_env_parse(sl_getenv_fn get, struct sl_env *env, struct sl_err *err)
{
	char missing[128] = "";
	const char *cmd = get("CNI_COMMAND");
	bool needs_id, needs_netns;

	memset(env, 0, sizeof(*env));
	env->cmd = sl_cmd_parse(cmd);
	if (env->cmd == SL_CMD_UNKNOWN)
		return sl_errf(err, CNI_ERR_INVALID_ENV,
			       "invalid CNI_COMMAND",
			       "CNI_COMMAND \"%s\" is not one of ADD DEL CHECK VERSION STATUS GC",
			       cmd ? cmd : "");
	env->path = get("CNI_PATH");
	needs_id = env->cmd == SL_CMD_ADD || env->cmd == SL_CMD_DEL ||
		   env->cmd == SL_CMD_CHECK;
	if (!needs_id)
		return 0;
	needs_netns = env->cmd != SL_CMD_DEL;

	env->container_id = get("CNI_CONTAINERID");
	env->netns = get("CNI_NETNS");
	env->ifname = get("CNI_IFNAME");
	if (!env->container_id || !env->container_id[0])
		strcat(missing, " CNI_CONTAINERID");
	if (needs_netns && (!env->netns || !env->netns[0]))
		strcat(missing, " CNI_NETNS");
	if (!env->ifname || !env->ifname[0])
		strcat(missing, " CNI_IFNAME");
	if (missing[0])
		return sl_errf(err, CNI_ERR_INVALID_ENV,
			       "missing required environment variables",
			       "required env variables missing:%s", missing);
	if (!env->netns)
		env->netns = "";
	if (!sl_valid_container_id(env->container_id))
		return sl_errf(err, CNI_ERR_INVALID_ENV,
			       "invalid CNI_CONTAINERID",
			       "CNI_CONTAINERID \"%s\" must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
			       env->container_id);
	if (!sl_valid_ifname(env->ifname))
		return sl_errf(err, CNI_ERR_INVALID_ENV, "invalid CNI_IFNAME",
			       "CNI_IFNAME \"%s\" is not a valid interface name",
			       env->ifname);
	return sl_parse_cni_args(get("CNI_ARGS"), &env->pod, err);
}

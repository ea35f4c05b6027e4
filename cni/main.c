// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice: the CNI plugin. Reads the command from CNI_COMMAND, the
 * configuration from stdin; prints exactly one JSON document on stdout
 * (the result, or a CNI error with a non-zero exit). Logs go to stderr and
 * <runDir>/cni.log.
 */
#include "conf.h"
#include "env.h"
#include "errors.h"
#include "fsutil.h"
#include "log.h"
#include "plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STDIN_MAX_BYTES (16u << 20)
#define LOG_MAX_BYTES (16l << 20)

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
}

/* VERSION must answer even on an empty or odd stdin. */
static int cmd_version(const char *in, size_t len)
{
	json_object *root = len ? json_tokener_parse(in) : NULL, *v, *out;
	const char *ver = cni_version_names[CNI_V_LATEST];

	if (root && json_object_object_get_ex(root, "cniVersion", &v) &&
	    json_object_is_type(v, json_type_string))
		ver = json_object_get_string(v);
	out = sl_cmd_version(ver);
	print_json(out);
	json_object_put(out);
	json_object_put(root);
	return 0;
}

static void open_log(const struct sl_conf *conf)
{
	char path[PATH_MAX + 16];
	struct stat st;

	/* Only where ADD made the run dir: DEL of a stranger creates none. */
	if (stat(conf->run_dir, &st) < 0)
		return;
	snprintf(path, sizeof(path), "%s/cni.log", conf->run_dir);
	if (sl_log_open_file(path, LOG_MAX_BYTES) < 0)
		log_warn("cannot open %s, logging to stderr only", path);
}

int main(void)
{
	struct sl_err err = {};
	struct sl_conf conf = {};
	struct sl_env env;
	json_object *result = NULL;
	const char *err_version = cni_version_names[CNI_V_LATEST];
	char *in = NULL;
	size_t len = 0;
	int ret;

	sl_log_init("sluice", SL_LOG_INFO);
	sl_log_capture_libbpf();

	if (sl_env_parse(env_get, &env, &err) < 0)
		goto fail;
	ret = sl_read_fd(STDIN_FILENO, STDIN_MAX_BYTES, &in, &len);
	if (ret < 0) {
		sl_errf(&err, CNI_ERR_IO, "cannot read stdin", "%s",
			strerror(-ret));
		goto fail;
	}
	if (env.cmd == SL_CMD_VERSION) {
		cmd_version(in, len);
		free(in);
		return 0;
	}
	if (sl_conf_parse(in, len, env.cmd, &conf, &err) < 0) {
		/* Answer in the requested version when we know it. */
		if (conf.root && err.code != CNI_ERR_INCOMPATIBLE_VERSION)
			err_version = cni_version_names[conf.ver];
		goto fail;
	}
	err_version = cni_version_names[conf.ver];
	sl_log_set_level(conf.log_level);
	if (env.container_id)
		sl_log_set_context("cmd=%s container=%.12s ifname=%s",
				   sl_cmd_name(env.cmd),
				   env.container_id, env.ifname);
	else
		sl_log_set_context("cmd=%s", sl_cmd_name(env.cmd));
	open_log(&conf);

	switch (env.cmd) {
	case SL_CMD_ADD:
		ret = sl_cmd_add(&env, &conf, &result, &err);
		if (ret == 0)
			print_json(result);
		json_object_put(result);
		break;
	case SL_CMD_DEL:
		ret = sl_cmd_del(&env, &conf, &err);
		break;
	case SL_CMD_CHECK:
		ret = sl_cmd_check(&env, &conf, &err);
		break;
	case SL_CMD_GC:
		ret = sl_cmd_gc(&conf, &err);
		break;
	case SL_CMD_STATUS:
		ret = sl_cmd_status(&conf, &err);
		break;
	default:
		ret = sl_errf(&err, CNI_ERR_INVALID_ENV, "invalid CNI_COMMAND",
			      "unhandled command");
	}
	if (ret < 0)
		goto fail;
	sl_conf_free(&conf);
	free(in);
	sl_log_close();
	return 0;
fail:
	log_error("%s: %s (code %d)", err.msg, err.details, err.code);
	sl_err_print(&err, err_version, stdout);
	sl_conf_free(&conf);
	free(in);
	sl_log_close();
	return 1;
}

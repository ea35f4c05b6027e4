// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "conf.h"

#include <sluice/conntrack.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/pins.h>

const char *const cni_version_names[CNI_V_COUNT] = {
	[CNI_V030] = "0.3.0", [CNI_V031] = "0.3.1", [CNI_V040] = "0.4.0",
	[CNI_V100] = "1.0.0", [CNI_V110] = "1.1.0",
};

static const char *const cmd_names[] = {
	[SL_CMD_ADD] = "ADD",	  [SL_CMD_DEL] = "DEL",
	[SL_CMD_CHECK] = "CHECK", [SL_CMD_VERSION] = "VERSION",
	[SL_CMD_STATUS] = "STATUS", [SL_CMD_GC] = "GC",
};

int cni_version_parse(const char *s)
{
	for (int i = 0; i < CNI_V_COUNT; i++)
		if (s && !strcmp(s, cni_version_names[i]))
			return i;
	return -1;
}

enum sl_cmd sl_cmd_parse(const char *s)
{
	for (int i = 0; i < SL_CMD_UNKNOWN; i++)
		if (s && !strcmp(s, cmd_names[i]))
			return (enum sl_cmd)i;
	return SL_CMD_UNKNOWN;
}

const char *sl_cmd_name(enum sl_cmd cmd)
{
	return cmd < SL_CMD_UNKNOWN ? cmd_names[cmd] : "UNKNOWN";
}

/* A string member, or NULL; -1 with err set when present but not a string. */
static int get_string(json_object *obj, const char *key, const char **out,
		      struct sl_err *err)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return sl_errf(err, CNI_ERR_INVALID_CONFIG,
			       "invalid network configuration",
			       "\"%s\" must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

/* An integer member in [min, max] into *out; absent leaves *out alone.
 * -1 with err set when present but not such an integer. */
static int get_int_in(json_object *obj, const char *key, int64_t min,
		      int64_t max, int64_t *out, struct sl_err *err)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < min || n > max)
		return sl_errf(err, CNI_ERR_INVALID_CONFIG,
			       "invalid network configuration",
			       "%s must be an integer between %lld and %lld, got %s",
			       key, (long long)min, (long long)max,
			       json_object_to_json_string(v));
	*out = n;
	return 0;
}

static int get_path(json_object *obj, const char *key, const char *def,
		    char *out, size_t out_len, struct sl_err *err)
{
	const char *s;

	if (get_string(obj, key, &s, err) < 0)
		return -1;
	if (!s)
		s = def;
	if (s[0] != '/' || strlen(s) >= out_len - 64)
		return sl_errf(err, CNI_ERR_INVALID_CONFIG,
			       "invalid network configuration",
			       "\"%s\" must be an absolute path shorter than %zu bytes, got \"%s\"",
			       key, out_len - 64, s);
	strcpy(out, s);
	/* Trailing slashes would double up when we join paths. */
	for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';
	return 0;
}

static bool valid_network_name(const char *s)
{
	/* Same rule as container IDs: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
	if (!s[0] || !((s[0] >= 'a' && s[0] <= 'z') ||
		       (s[0] >= 'A' && s[0] <= 'Z') ||
		       (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == strlen(s);
}

static int parse_version(json_object *root, enum sl_cmd cmd,
			 struct sl_conf *conf, struct sl_err *err)
{
	const char *ver;
	int v;

	if (get_string(root, "cniVersion", &ver, err) < 0)
		return -1;
	/* A config without cniVersion is 0.1.0, which we do not speak. */
	v = cni_version_parse(ver ? ver : "0.1.0");
	if (v < 0)
		return sl_errf(err, CNI_ERR_INCOMPATIBLE_VERSION,
			       "incompatible CNI versions",
			       "config is \"%s\", plugin supports 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0",
			       ver ? ver : "0.1.0");
	conf->ver = (enum cni_ver)v;
	if (cmd == SL_CMD_CHECK && conf->ver < CNI_V040)
		return sl_errf(err, CNI_ERR_INCOMPATIBLE_VERSION,
			       "config version does not allow CHECK",
			       "CHECK needs cniVersion 0.4.0 or later, got %s",
			       ver);
	if ((cmd == SL_CMD_GC || cmd == SL_CMD_STATUS) &&
	    conf->ver < CNI_V110)
		return sl_errf(err, CNI_ERR_INCOMPATIBLE_VERSION,
			       "config version does not allow this command",
			       "%s needs cniVersion 1.1.0 or later, got %s",
			       sl_cmd_name(cmd), ver);
	return 0;
}

static int parse_sluice_keys(json_object *root, struct sl_conf *conf,
			     struct sl_err *err)
{
	int64_t mtu, ct_max = 0, wait_ms;
	const char *cidr, *level;
	json_object *v;

	if (get_string(root, "podCIDR", &cidr, err) < 0)
		return -1;
	if (cidr) {
		if (sl_parse_ipv4_cidr(cidr, &conf->pod_cidr) < 0 ||
		    conf->pod_cidr.prefix < 8 || conf->pod_cidr.prefix > 30)
			return sl_errf(err, CNI_ERR_INVALID_CONFIG,
				       "invalid network configuration",
				       "podCIDR \"%s\" is not an IPv4 network between /8 and /30 (host bits zero)",
				       cidr);
		conf->have_pod_cidr = true;
	}
	if (get_path(root, "bpfRoot", SL_DEFAULT_BPF_ROOT, conf->bpf_root,
		     sizeof(conf->bpf_root), err) < 0 ||
	    get_path(root, "runDir", SL_DEFAULT_RUN_DIR, conf->run_dir,
		     sizeof(conf->run_dir), err) < 0)
		return -1;

	mtu = SL_DEFAULT_MTU;
	wait_ms = SL_DEFAULT_AGENT_WAIT_MS;
	if (get_int_in(root, "mtu", 68, 65535, &mtu, err) < 0 ||
	    get_int_in(root, "conntrackMax", SL_CT_MAX_MIN, SL_CT_MAX_MAX,
		       &ct_max, err) < 0 ||
	    get_int_in(root, "agentWaitMs", 0, SL_AGENT_WAIT_MS_MAX, &wait_ms,
		       err) < 0)
		return -1;
	conf->mtu = (int)mtu;
	conf->have_mtu = json_object_object_get_ex(root, "mtu", NULL);
	conf->conntrack_max = (unsigned int)ct_max;
	conf->agent_wait_ms = (unsigned int)wait_ms;

	if (get_string(root, "logLevel", &level, err) < 0)
		return -1;
	conf->log_level = level ? sl_log_level_from_string(level) : SL_LOG_INFO;

	/* We are our own IPAM; silently ignoring a delegate would mislead. */
	if (json_object_object_get_ex(root, "ipam", &v) && v &&
	    !(json_object_is_type(v, json_type_object) &&
	      json_object_object_length(v) == 0))
		return sl_errf(err, CNI_ERR_UNSUPPORTED_FIELD,
			       "unsupported field in network configuration",
			       "ipam=%s: sluice allocates pod addresses itself from podCIDR",
			       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return 0;
}

/*
 * GC removes everything not listed, so a list it cannot read must fail the
 * request rather than read as "nothing is valid".
 */
static bool valid_attachment_list(json_object *list)
{
	size_t n;

	if (!json_object_is_type(list, json_type_array))
		return false;
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(list, i), *id, *ifn;

		if (!json_object_is_type(a, json_type_object) ||
		    !json_object_object_get_ex(a, "containerID", &id) ||
		    !json_object_object_get_ex(a, "ifname", &ifn) ||
		    !json_object_is_type(id, json_type_string) ||
		    !json_object_is_type(ifn, json_type_string))
			return false;
	}
	return true;
}

static int parse_borrowed(json_object *root, struct sl_conf *conf,
			  struct sl_err *err)
{
	json_object *v;

	if (json_object_object_get_ex(root, "prevResult", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return sl_errf(err, CNI_ERR_INVALID_CONFIG,
				       "invalid network configuration",
				       "prevResult must be an object");
		conf->prev_result = v;
	}
	if (json_object_object_get_ex(root, "dns", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return sl_errf(err, CNI_ERR_INVALID_CONFIG,
				       "invalid network configuration",
				       "dns must be an object");
		conf->dns = v;
	}
	/* libcni >= 1.2 sends the first, the v1.1.0 spec text the second. */
	if ((json_object_object_get_ex(root, "cni.dev/valid-attachments", &v) &&
	     v) ||
	    (json_object_object_get_ex(root, "cni.dev/attachments", &v) && v)) {
		if (!valid_attachment_list(v))
			return sl_errf(err, CNI_ERR_INVALID_CONFIG,
				       "invalid network configuration",
				       "cni.dev/valid-attachments must be an array of {\"containerID\", \"ifname\"} objects");
		conf->valid_attachments = v;
	}
	return 0;
}

int sl_conf_parse(const char *buf, size_t len, enum sl_cmd cmd,
		  struct sl_conf *conf, struct sl_err *err)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *root;
	const char *name;

	memset(conf, 0, sizeof(*conf));
	if (len > INT32_MAX)
		return sl_errf(err, CNI_ERR_DECODE, "failed to decode config",
			       "configuration too large");
	tok = json_tokener_new();
	if (!tok)
		return sl_errf(err, CNI_ERR_INTERNAL, "out of memory", "%s", "");
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	/* Trailing bytes after the document, other than whitespace, are an
	 * error: a runtime never sends two documents. */
	if (root && jerr == json_tokener_success) {
		size_t off = json_tokener_get_parse_end(tok);

		while (off < len && strchr(" \t\r\n", buf[off]) && buf[off])
			off++;
		if (off < len)
			jerr = json_tokener_error_parse_unexpected;
	} else if (jerr == json_tokener_continue) {
		jerr = json_tokener_error_parse_eof;
	}
	json_tokener_free(tok);
	if (!root || jerr != json_tokener_success) {
		json_object_put(root);
		return sl_errf(err, CNI_ERR_DECODE,
			       "failed to decode network configuration",
			       "invalid JSON on stdin: %s",
			       json_tokener_error_desc(jerr));
	}
	conf->root = root;
	if (!json_object_is_type(root, json_type_object))
		return sl_errf(err, CNI_ERR_DECODE,
			       "failed to decode network configuration",
			       "stdin must hold a JSON object");

	if (parse_version(root, cmd, conf, err) < 0)
		return -1;
	if (get_string(root, "name", &name, err) < 0)
		return -1;
	if (!name || !valid_network_name(name) ||
	    strlen(name) >= sizeof(conf->name))
		return sl_errf(err, CNI_ERR_INVALID_CONFIG,
			       "invalid network configuration",
			       "missing or invalid network \"name\"");
	strcpy(conf->name, name);

	if (parse_sluice_keys(root, conf, err) < 0 ||
	    parse_borrowed(root, conf, err) < 0)
		return -1;
	return 0;
}

void sl_conf_free(struct sl_conf *conf)
{
	json_object_put(conf->root);
	conf->root = NULL;
	conf->prev_result = conf->dns = conf->valid_attachments = NULL;
}

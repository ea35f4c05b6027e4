// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kubeconfig (clientcmd v1) and in-cluster configuration. The YAML form is
 * read with the manifest parser: a kubeconfig is a document with
 * apiVersion v1 and kind Config, and JSON is valid YAML.
 */
#include "kubeconfig.h"
#include "fsutil.h"
#include "manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(char *why, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

int sl_base64_decode(const char *in, char **out, size_t *out_len)
{
	size_t n = strlen(in), o = 0;
	unsigned int acc = 0, bits = 0;
	bool pad = false;
	char *buf = malloc(n / 4 * 3 + 4);

	if (!buf)
		return -ENOMEM;
	for (const char *p = in; *p; p++) {
		int v;

		if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
			continue;
		if (*p == '=') {
			pad = true;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		if (*p >= 'A' && *p <= 'Z')
			v = *p - 'A';
		else if (*p >= 'a' && *p <= 'z')
			v = *p - 'a' + 26;
		else if (*p >= '0' && *p <= '9')
			v = *p - '0' + 52;
		else if (*p == '+')
			v = 62;
		else if (*p == '/')
			v = 63;
		else
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* A lone 6-bit group cannot encode a byte. */
	if (bits >= 6)
		goto bad;
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* The member of array arr (e.g. "clusters") whose "name" is name. */
static json_object *named(json_object *root, const char *arr,
			  const char *name, const char *member)
{
	json_object *a, *e, *n, *m;

	if (!json_object_object_get_ex(root, arr, &a) ||
	    !json_object_is_type(a, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (json_object_is_type(e, json_type_object) &&
		    json_object_object_get_ex(e, "name", &n) &&
		    json_object_is_type(n, json_type_string) &&
		    !strcmp(json_object_get_string(n), name) &&
		    json_object_object_get_ex(e, member, &m) &&
		    json_object_is_type(m, json_type_object))
			return m;
	}
	return NULL;
}

struct ctx {
	const char *path;
	char dir[4096]; /* the kubeconfig's directory, for relative paths */
	char *why;
	size_t why_len;
};

/* An optional string field: absent or null is NULL, "" is NULL too. */
static int opt_str(struct ctx *x, json_object *o, const char *where,
		   const char *key, char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(x->why, x->why_len, -EINVAL,
			    "kubeconfig %s: %s.%s is not a string", x->path,
			    where, key);
	if (!json_object_get_string_len(v))
		return 0;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

/* A path field, made absolute against the kubeconfig's directory. */
static int opt_path(struct ctx *x, json_object *o, const char *where,
		    const char *key, char **out)
{
	char *p;
	int err = opt_str(x, o, where, key, &p);

	if (err || !p || p[0] == '/' || !x->dir[0]) {
		*out = p;
		return err;
	}
	if (asprintf(out, "%s/%s", x->dir, p) < 0) {
		*out = NULL;
		err = -ENOMEM;
	}
	free(p);
	return err;
}

/* A *-data field: base64 of PEM. */
static int opt_data(struct ctx *x, json_object *o, const char *where,
		    const char *key, char **out, size_t *out_len)
{
	char *b64;
	int err = opt_str(x, o, where, key, &b64);

	*out = NULL;
	*out_len = 0;
	if (err || !b64)
		return err;
	err = sl_base64_decode(b64, out, out_len);
	free(b64);
	if (err == -EINVAL)
		return fail(x->why, x->why_len, err,
			    "kubeconfig %s: %s.%s is not valid base64", x->path,
			    where, key);
	return err;
}

static int normalise_server(struct sl_kube_config *c, const char *url,
			    const char *what, char *why, size_t why_len)
{
	const char *scheme = strstr(url, "://");
	size_t len;
	char *s;

	if (scheme && strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return fail(why, why_len, -EINVAL,
			    "%s \"%.200s\": only https:// and http:// are supported",
			    what, url);
	/* clientcmd accepts "host:port" and means https. */
	if (asprintf(&s, "%s%s", scheme ? "" : "https://", url) < 0)
		return -ENOMEM;
	len = strlen(s);
	while (len && s[len - 1] == '/')
		s[--len] = '\0';
	if (strlen(s) <= strlen("https://") || strchr(s, ' ') ||
	    strchr(strstr(s, "://") + 3, '?')) {
		free(s);
		return fail(why, why_len, -EINVAL,
			    "%s \"%.200s\" is not a server URL", what, url);
	}
	free(c->server);
	c->server = s;
	return 0;
}

int sl_kubeconfig_set_server(struct sl_kube_config *c, const char *url,
			     char *why, size_t why_len)
{
	return normalise_server(c, url, "--api-server", why, why_len);
}

static int parse_tree(struct ctx *x, json_object *root,
		      struct sl_kube_config *c)
{
	json_object *cur, *v, *context, *cluster, *user;
	char where[400], *server = NULL, *cname = NULL, *uname = NULL;
	const char *ctxname;
	int err;

	if (!json_object_object_get_ex(root, "kind", &v) ||
	    strcmp(json_object_get_string(v), "Config"))
		return fail(x->why, x->why_len, -EINVAL,
			    "kubeconfig %s: kind is not Config", x->path);
	if (!json_object_object_get_ex(root, "current-context", &cur) ||
	    !json_object_is_type(cur, json_type_string) ||
	    !json_object_get_string_len(cur))
		return fail(x->why, x->why_len, -EINVAL,
			    "kubeconfig %s: current-context is missing", x->path);
	ctxname = json_object_get_string(cur);
	context = named(root, "contexts", ctxname, "context");
	if (!context)
		return fail(x->why, x->why_len, -EINVAL,
			    "kubeconfig %s: current-context \"%.100s\" names no entry in contexts",
			    x->path, ctxname);
	snprintf(where, sizeof(where), "contexts[%.100s].context", ctxname);
	if ((err = opt_str(x, context, where, "cluster", &cname)) ||
	    (err = opt_str(x, context, where, "user", &uname)))
		goto out;
	if (!cname) {
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: %s.cluster is missing", x->path, where);
		goto out;
	}
	cluster = named(root, "clusters", cname, "cluster");
	if (!cluster) {
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: %s.cluster \"%.100s\" names no entry in clusters",
			   x->path, where, cname);
		goto out;
	}
	snprintf(where, sizeof(where), "clusters[%.100s].cluster", cname);
	if ((err = opt_str(x, cluster, where, "server", &server)) ||
	    (err = opt_path(x, cluster, where, "certificate-authority",
			    &c->ca_file)) ||
	    (err = opt_data(x, cluster, where, "certificate-authority-data",
			    &c->ca_data, &c->ca_data_len)) ||
	    (err = opt_str(x, cluster, where, "tls-server-name",
			   &c->tls_server_name)))
		goto out;
	if (!server) {
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: %s.server is missing", x->path, where);
		goto out;
	}
	{
		char what[600];

		snprintf(what, sizeof(what), "kubeconfig %.150s: %s.server",
			 x->path, where);
		if ((err = normalise_server(c, server, what, x->why,
					    x->why_len)))
			goto out;
	}
	if (json_object_object_get_ex(cluster, "insecure-skip-tls-verify", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			err = fail(x->why, x->why_len, -EINVAL,
				   "kubeconfig %s: %s.insecure-skip-tls-verify is not a boolean",
				   x->path, where);
			goto out;
		}
		c->insecure = json_object_get_boolean(v);
	}

	/* No user: anonymous, as kubectl allows. */
	if (!uname)
		goto out;
	user = named(root, "users", uname, "user");
	if (!user) {
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: contexts[%.100s].context.user \"%.100s\" names no entry in users",
			   x->path, ctxname, uname);
		goto out;
	}
	snprintf(where, sizeof(where), "users[%.100s].user", uname);
	if (json_object_object_get_ex(user, "exec", &v) ||
	    json_object_object_get_ex(user, "auth-provider", &v)) {
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: %s: exec and auth-provider credentials are not supported; use token, tokenFile or a client certificate",
			   x->path, where);
		goto out;
	}
	if ((err = opt_str(x, user, where, "token", &c->token)) ||
	    (err = opt_path(x, user, where, "tokenFile", &c->token_file)) ||
	    (err = opt_path(x, user, where, "client-certificate",
			    &c->cert_file)) ||
	    (err = opt_path(x, user, where, "client-key", &c->key_file)) ||
	    (err = opt_data(x, user, where, "client-certificate-data",
			    &c->cert_data, &c->cert_data_len)) ||
	    (err = opt_data(x, user, where, "client-key-data", &c->key_data,
			    &c->key_data_len)))
		goto out;
	if ((c->cert_file || c->cert_data) != (c->key_file || c->key_data))
		err = fail(x->why, x->why_len, -EINVAL,
			   "kubeconfig %s: %s: a client certificate needs both client-certificate and client-key (file or -data)",
			   x->path, where);
out:
	free(server);
	free(cname);
	free(uname);
	return err;
}

int sl_kubeconfig_parse(const char *buf, size_t len, const char *path,
			struct sl_kube_config *c, char *why, size_t why_len)
{
	struct sl_manifest_error perr = {};
	struct ctx x = { .path = path, .why = why, .why_len = why_len };
	json_object **objs = NULL;
	const char *slash = strrchr(path, '/');
	size_t n = 0, i = 0;
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->origin, sizeof(c->origin), "%s", path);
	if (slash)
		snprintf(x.dir, sizeof(x.dir), "%.*s",
			 (int)(slash == path ? 1 : slash - path), path);
	else
		snprintf(x.dir, sizeof(x.dir), ".");
	/* JSON gets json-c's exact errors; YAML the manifest parser's. */
	while (i < len && strchr(" \t\r\n", buf[i]))
		i++;
	if (sl_manifest_parse(buf, len, i < len && buf[i] == '{', &objs, &n,
			      &perr) < 0)
		return fail(why, why_len, -EINVAL, "kubeconfig %s:%d:%d: %s",
			    path, perr.line, perr.column, perr.reason);
	if (n != 1)
		err = fail(why, why_len, -EINVAL,
			   "kubeconfig %s: %zu documents, expected one Config",
			   path, n);
	else
		err = parse_tree(&x, objs[0], c);
	sl_manifest_free(objs, n);
	if (err)
		sl_kubeconfig_free(c);
	if (err == -ENOMEM)
		snprintf(why, why_len, "kubeconfig %s: out of memory", path);
	return err;
}

int sl_kubeconfig_load(const char *path, struct sl_kube_config *c, char *why,
		       size_t why_len)
{
	char *buf;
	size_t len;
	int err = sl_read_file(path, SL_KUBECONFIG_MAX_BYTES, &buf, &len);

	if (err < 0) {
		memset(c, 0, sizeof(*c));
		return fail(why, why_len, err, "kubeconfig %s: cannot read: %s",
			    path, strerror(-err));
	}
	err = sl_kubeconfig_parse(buf, len, path, c, why, why_len);
	free(buf);
	return err;
}

int sl_kubeconfig_in_cluster(const char *sa_dir, struct sl_kube_config *c,
			     char *why, size_t why_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct stat st;
	int err;

	memset(c, 0, sizeof(*c));
	snprintf(c->origin, sizeof(c->origin), "in-cluster");
	if (!host || !host[0] || !port || !port[0])
		return fail(why, why_len, -ENOENT,
			    "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must both be set (or use --kubeconfig or --source)");
	/* An IPv6 address needs brackets in a URL. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" :
			 "https://%s:%s", host, port) < 0 ||
	    asprintf(&c->token_file, "%s/token", sa_dir) < 0 ||
	    asprintf(&c->ca_file, "%s/ca.crt", sa_dir) < 0) {
		err = -ENOMEM;
		goto out;
	}
	if (stat(c->ca_file, &st) < 0) {
		err = fail(why, why_len, -errno, "in-cluster: %s: %s",
			   c->ca_file, strerror(errno));
		goto out;
	}
	return 0;
out:
	sl_kubeconfig_free(c);
	return err;
}

int sl_kubeconfig_read_token(const struct sl_kube_config *c, char **out,
			     char *why, size_t why_len)
{
	char *buf, *s, *e;
	size_t len;
	int err;

	*out = NULL;
	if (!c->token_file) {
		if (c->token && !(*out = strdup(c->token)))
			return -ENOMEM;
		return 0;
	}
	err = sl_read_file(c->token_file, SL_KUBECONFIG_MAX_BYTES, &buf, &len);
	if (err < 0)
		return fail(why, why_len, err, "token file %s (from %s): %s",
			    c->token_file, c->origin, strerror(-err));
	/* Trimmed as client-go does; one token, nothing a header cannot hold. */
	for (s = buf; *s && strchr(" \t\r\n", *s); s++)
		;
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		;
	*e = '\0';
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			free(buf);
			return fail(why, why_len, -EINVAL,
				    "token file %s (from %s): not a single token",
				    c->token_file, c->origin);
		}
	if (!*s) {
		free(buf);
		return fail(why, why_len, -EINVAL,
			    "token file %s (from %s): empty", c->token_file,
			    c->origin);
	}
	*out = strdup(s);
	free(buf);
	return *out ? 0 : -ENOMEM;
}

void sl_kubeconfig_free(struct sl_kube_config *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->tls_server_name);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	memset(c, 0, sizeof(*c));
}

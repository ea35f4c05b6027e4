/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where the API server is and how to talk to it: a kubeconfig file
 * (clientcmd v1, YAML or JSON) or the in-cluster service account, reduced
 * to what libcurl needs. Errors name the file and the field.
 */
#ifndef SL_AGENT_KUBECONFIG_H
#define SL_AGENT_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define SL_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Largest kubeconfig, certificate or token file we read. */
#define SL_KUBECONFIG_MAX_BYTES (4u << 20)

struct sl_kube_config {
	char *server;          /* "https://host:port", no trailing '/' */
	char *ca_file;         /* certificate-authority: a path */
	char *ca_data;         /* certificate-authority-data, decoded PEM */
	size_t ca_data_len;
	bool insecure;         /* insecure-skip-tls-verify */
	char *tls_server_name; /* name to verify the server's cert against */
	char *token;           /* a static token */
	char *token_file;      /* a token re-read periodically (projected) */
	char *cert_file, *key_file;
	char *cert_data, *key_data; /* decoded PEM */
	size_t cert_data_len, key_data_len;
	char origin[4096]; /* "in-cluster" or the kubeconfig's path */
};

/**
 * sl_kubeconfig_parse - read a kubeconfig from memory
 * @buf: its bytes (need not be NUL-terminated); YAML or JSON
 * @len: their length
 * @path: the file it came from: relative paths inside resolve against its
 *        directory (as kubectl does), and errors name it
 * @c: filled on success; release with sl_kubeconfig_free()
 * @why: on failure, which field of which file and why
 * @why_len: its size
 *
 * Follows current-context to its context, cluster and user. Returns 0,
 * -EINVAL when the file is wrong, -ENOMEM.
 */
int sl_kubeconfig_parse(const char *buf, size_t len, const char *path,
			struct sl_kube_config *c, char *why, size_t why_len);

/* sl_kubeconfig_parse() of a file; -errno when it cannot be read. */
int sl_kubeconfig_load(const char *path, struct sl_kube_config *c, char *why,
		       size_t why_len);

/**
 * sl_kubeconfig_in_cluster - the pod's service account
 * @sa_dir: normally SL_SA_DIR (token, ca.crt)
 *
 * Needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; -ENOENT with
 * "not in a cluster" when either is missing.
 */
int sl_kubeconfig_in_cluster(const char *sa_dir, struct sl_kube_config *c,
			     char *why, size_t why_len);

/* Replace the server address (--api-server); 0, -EINVAL or -ENOMEM. */
int sl_kubeconfig_set_server(struct sl_kube_config *c, const char *url,
			     char *why, size_t why_len);

/**
 * sl_kubeconfig_read_token - the bearer token to send now
 * @out: a new string, or NULL when the config has no token
 *
 * Reads token_file every time it is called (the caller decides how
 * often); falls back to the static token. 0 or -errno with @why set.
 */
int sl_kubeconfig_read_token(const struct sl_kube_config *c, char **out,
			     char *why, size_t why_len);

void sl_kubeconfig_free(struct sl_kube_config *c);

/* Standard base64 (padding optional, whitespace ignored) into a new
 * buffer; -EINVAL on a bad character. Exposed for tests. */
int sl_base64_decode(const char *in, char **out, size_t *out_len);

#endif /* SL_AGENT_KUBECONFIG_H */

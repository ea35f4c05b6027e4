// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * kubeconfig and in-cluster configuration: YAML and JSON, file vs -data
 * fields, relative paths, token files, and errors that name the file and
 * the field. Runs under LeakSanitizer, so error paths that forget a string
 * fail the suite.
 */
#include "unit.h"
#include "kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char yaml_cfg[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: prod\n"
	"clusters:\n"
	"- name: other\n"
	"  cluster: {server: https://wrong:1}\n"
	"- name: main\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"    tls-server-name: kubernetes.default\n"
	"contexts:\n"
	"- name: prod\n"
	"  context: {cluster: main, user: agent, namespace: kube-system}\n"
	"users:\n"
	"- name: agent\n"
	"  user:\n"
	"    tokenFile: secrets/token\n"
	"    client-certificate: /abs/client.crt\n"
	"    client-key-data: a2V5\n";

static void test_yaml(void **state)
{
	struct sl_kube_config c;
	char why[512] = "";

	(void)state;
	assert_int_equal(sl_kubeconfig_parse(yaml_cfg, strlen(yaml_cfg),
					     "/etc/sluice/kubeconfig", &c, why,
					     sizeof(why)), 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_null(c.ca_file);
	assert_int_equal(c.ca_data_len, 28);
	assert_memory_equal(c.ca_data, "-----BEGIN CERTIFICATE-----\n", 28);
	assert_string_equal(c.tls_server_name, "kubernetes.default");
	assert_false(c.insecure);
	/* Relative to the kubeconfig's directory, as kubectl resolves it. */
	assert_string_equal(c.token_file, "/etc/sluice/secrets/token");
	assert_string_equal(c.cert_file, "/abs/client.crt");
	assert_null(c.key_file);
	assert_int_equal(c.key_data_len, 3);
	assert_memory_equal(c.key_data, "key", 3);
	assert_string_equal(c.origin, "/etc/sluice/kubeconfig");
	sl_kubeconfig_free(&c);
}

static void test_json(void **state)
{
	static const char cfg[] =
		"{\"apiVersion\":\"v1\",\"kind\":\"Config\",\"current-context\":\"fake\","
		"\"clusters\":[{\"name\":\"fake\",\"cluster\":{\"server\":\"127.0.0.1:8443\","
		"\"certificate-authority\":\"ca.crt\",\"insecure-skip-tls-verify\":true}}],"
		"\"contexts\":[{\"name\":\"fake\",\"context\":{\"cluster\":\"fake\",\"user\":\"u\"}}],"
		"\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"abc\"}}]}";
	struct sl_kube_config c;
	char why[512] = "";

	(void)state;
	assert_int_equal(sl_kubeconfig_parse(cfg, strlen(cfg), "kc.json", &c,
					     why, sizeof(why)), 0);
	/* "host:port" means https, as in clientcmd. */
	assert_string_equal(c.server, "https://127.0.0.1:8443");
	assert_string_equal(c.ca_file, "./ca.crt");
	assert_true(c.insecure);
	assert_string_equal(c.token, "abc");
	assert_null(c.token_file);
	sl_kubeconfig_free(&c);
}

/* Every broken kubeconfig fails with the file and the field named. */
static void expect_error(const char *cfg, const char *want)
{
	struct sl_kube_config c;
	char why[512] = "";

	assert_int_equal(sl_kubeconfig_parse(cfg, strlen(cfg), "/k/cfg", &c,
					     why, sizeof(why)), -EINVAL);
	assert_null(c.server);
	if (!strstr(why, want) || !strstr(why, "/k/cfg")) {
		print_error("error \"%s\" lacks \"%s\" or the file\n", why, want);
		fail();
	}
}

#define HEAD "apiVersion: v1\nkind: Config\n"
#define CTX "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
#define CLU "clusters: [{name: k, cluster: {server: https://a:1}}]\n"
#define USR "users: [{name: u, user: {token: t}}]\n"

static void test_errors(void **state)
{
	(void)state;
	expect_error(HEAD CTX CLU USR, "current-context is missing");
	expect_error(HEAD "current-context: x\n" CTX CLU USR,
		     "current-context \"x\" names no entry in contexts");
	expect_error(HEAD "current-context: c\n"
			  "contexts: [{name: c, context: {user: u}}]\n" CLU USR,
		     "contexts[c].context.cluster is missing");
	expect_error(HEAD "current-context: c\n" CTX USR,
		     "contexts[c].context.cluster \"k\" names no entry in clusters");
	expect_error(HEAD "current-context: c\n" CTX
			  "clusters: [{name: k, cluster: {certificate-authority: x}}]\n" USR,
		     "clusters[k].cluster.server is missing");
	expect_error(HEAD "current-context: c\n" CTX
			  "clusters: [{name: k, cluster: {server: ftp://a}}]\n" USR,
		     "clusters[k].cluster.server");
	expect_error(HEAD "current-context: c\n" CTX
			  "clusters: [{name: k, cluster: {server: https://a, certificate-authority-data: \"!!\"}}]\n" USR,
		     "clusters[k].cluster.certificate-authority-data is not valid base64");
	expect_error(HEAD "current-context: c\n" CTX
			  "clusters: [{name: k, cluster: {server: https://a, insecure-skip-tls-verify: maybe}}]\n" USR,
		     "insecure-skip-tls-verify is not a boolean");
	expect_error(HEAD "current-context: c\n" CTX CLU,
		     "user \"u\" names no entry in users");
	expect_error(HEAD "current-context: c\n" CTX CLU
			  "users: [{name: u, user: {token: [1]}}]\n",
		     "users[u].user.token is not a string");
	expect_error(HEAD "current-context: c\n" CTX CLU
			  "users: [{name: u, user: {client-certificate: a.crt}}]\n",
		     "needs both client-certificate and client-key");
	expect_error(HEAD "current-context: c\n" CTX CLU
			  "users: [{name: u, user: {exec: {command: x}}}]\n",
		     "exec and auth-provider credentials are not supported");
	expect_error("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		     "kind is not Config");
	expect_error("{\"apiVersion\": \"v1\", \"kind\": \"Config\",", "/k/cfg:");
	expect_error(HEAD "current-context: c\n---\n" HEAD, "2 documents");
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_token_file(void **state)
{
	struct sl_kube_config c = {};
	char why[512] = "", *tok = NULL, path[128];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sl-kc-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	c.token_file = strdup(path);
	c.token = strdup("static");
	snprintf(c.origin, sizeof(c.origin), "test");

	/* Trimmed, and re-read on every call (rotation). */
	write_file("token", "  first\n");
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)), 0);
	assert_string_equal(tok, "first");
	free(tok);
	write_file("token", "second");
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)), 0);
	assert_string_equal(tok, "second");
	free(tok);
	/* Two lines would smuggle a header line. */
	write_file("token", "a\nb\n");
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)),
			 -EINVAL);
	assert_null(tok);
	assert_non_null(strstr(why, "not a single token"));
	write_file("token", "\n");
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)),
			 -EINVAL);
	unlink(path);
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, path));
	/* No file: the static token. */
	free(c.token_file);
	c.token_file = NULL;
	assert_int_equal(sl_kubeconfig_read_token(&c, &tok, why, sizeof(why)), 0);
	assert_string_equal(tok, "static");
	free(tok);
	sl_kubeconfig_free(&c);
}

static void test_in_cluster(void **state)
{
	struct sl_kube_config c;
	char why[512] = "";

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(sl_kubeconfig_in_cluster(tmpdir, &c, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "not in a cluster"));

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	/* No ca.crt yet. */
	assert_int_equal(sl_kubeconfig_in_cluster(tmpdir, &c, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, "ca.crt"));
	write_file("ca.crt", "pem");
	assert_int_equal(sl_kubeconfig_in_cluster(tmpdir, &c, why, sizeof(why)), 0);
	assert_string_equal(c.server, "https://[fd00::1]:443");
	assert_non_null(strstr(c.token_file, "/token"));
	assert_non_null(strstr(c.ca_file, "/ca.crt"));
	/* --api-server overrides the Service address. */
	assert_int_equal(sl_kubeconfig_set_server(&c, "https://192.168.1.10:6443/",
						  why, sizeof(why)), 0);
	assert_string_equal(c.server, "https://192.168.1.10:6443");
	assert_int_equal(sl_kubeconfig_set_server(&c, "gopher://x", why,
						  sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "--api-server"));
	assert_string_equal(c.server, "https://192.168.1.10:6443");
	sl_kubeconfig_free(&c);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/ca.crt", tmpdir);
		unlink(p);
		rmdir(tmpdir);
	}
}

static void test_base64(void **state)
{
	char *out;
	size_t n;

	(void)state;
	assert_int_equal(sl_base64_decode("aGVsbG8=", &out, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(out, "hello");
	free(out);
	assert_int_equal(sl_base64_decode("aGVs\nbG8", &out, &n), 0);
	assert_string_equal(out, "hello");
	free(out);
	assert_int_equal(sl_base64_decode("aGVsbG8=x", &out, &n), -EINVAL);
	assert_int_equal(sl_base64_decode("a", &out, &n), -EINVAL);
	assert_int_equal(sl_base64_decode("a-b_", &out, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

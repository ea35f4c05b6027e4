// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* CNI_* environment and CNI_ARGS parsing. */
#include "unit.h"
#include "env.h"
#include "plugin.h"

static const char *const *fake_env;

static const char *fake_get(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *e = fake_env; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int parse_env(const char *const *vars, struct sl_env *env,
		     struct sl_err *err)
{
	fake_env = vars;
	memset(err, 0, sizeof(*err));
	return sl_env_parse(fake_get, env, err);
}

static void test_add_complete(void **state)
{
	const char *vars[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123",
			       "CNI_NETNS=/var/run/netns/x", "CNI_IFNAME=eth0",
			       "CNI_PATH=/opt/cni/bin",
			       "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;"
			       "K8S_POD_NAME=web-0;K8S_POD_UID=u-1;"
			       "K8S_POD_INFRA_CONTAINER_ID=abc123",
			       NULL };
	struct sl_env env;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse_env(vars, &env, &err), 0);
	assert_int_equal(env.cmd, SL_CMD_ADD);
	assert_string_equal(env.container_id, "abc123");
	assert_string_equal(env.netns, "/var/run/netns/x");
	assert_string_equal(env.ifname, "eth0");
	assert_string_equal(env.pod.namespace, "ns");
	assert_string_equal(env.pod.name, "web-0");
	assert_string_equal(env.pod.uid, "u-1");
}

static void test_missing_vars_named(void **state)
{
	const char *vars[] = { "CNI_COMMAND=ADD", "CNI_IFNAME=eth0", NULL };
	struct sl_env env;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse_env(vars, &env, &err), -1);
	assert_int_equal(err.code, CNI_ERR_INVALID_ENV);
	assert_non_null(strstr(err.details, "CNI_CONTAINERID"));
	assert_non_null(strstr(err.details, "CNI_NETNS"));
	assert_null(strstr(err.details, "CNI_IFNAME"));
}

static void test_del_without_netns(void **state)
{
	const char *vars[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=a",
			       "CNI_IFNAME=eth0", "CNI_NETNS=", NULL };
	struct sl_env env;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse_env(vars, &env, &err), 0);
	assert_string_equal(env.netns, "");
}

static void test_version_needs_nothing(void **state)
{
	const char *only_cmd[] = { "CNI_COMMAND=VERSION", NULL };
	const char *status[] = { "CNI_COMMAND=STATUS", NULL };
	const char *gc[] = { "CNI_COMMAND=GC", "CNI_PATH=/x", NULL };
	struct sl_env env;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse_env(only_cmd, &env, &err), 0);
	assert_int_equal(parse_env(status, &env, &err), 0);
	assert_int_equal(parse_env(gc, &env, &err), 0);
	assert_int_equal(env.cmd, SL_CMD_GC);
}

static void test_invalid_values(void **state)
{
	const char *bad_cmd[] = { "CNI_COMMAND=UPDATE", NULL };
	const char *no_cmd[] = { NULL };
	const char *bad_id[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=-x",
				 "CNI_NETNS=/n", "CNI_IFNAME=eth0", NULL };
	const char *bad_if[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x",
				 "CNI_NETNS=/n", "CNI_IFNAME=eth0:1", NULL };
	const char *long_if[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x",
				  "CNI_NETNS=/n", "CNI_IFNAME=abcdefghijklmnop",
				  NULL };
	const char *bad_args[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=x",
				   "CNI_NETNS=/n", "CNI_IFNAME=eth0",
				   "CNI_ARGS=K8S_POD_NAME", NULL };
	const char *const *cases[] = { bad_cmd, no_cmd, bad_id, bad_if,
					long_if, bad_args };
	struct sl_env env;
	struct sl_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_env(cases[i], &env, &err), -1);
		assert_int_equal(err.code, CNI_ERR_INVALID_ENV);
	}
}

static void test_cni_args_shapes(void **state)
{
	struct sl_pod_meta pod;
	struct sl_err err = {};

	(void)state;
	/* Any order, unknown keys, values with '=', no UID, empty pairs. */
	assert_int_equal(sl_parse_cni_args("FOO=bar;K8S_POD_NAME=a=b;;"
					   "K8S_POD_NAMESPACE=kube-system;",
					   &pod, &err), 0);
	assert_string_equal(pod.name, "a=b");
	assert_string_equal(pod.namespace, "kube-system");
	assert_string_equal(pod.uid, "");
	assert_int_equal(sl_parse_cni_args(NULL, &pod, &err), 0);
	assert_int_equal(sl_parse_cni_args("", &pod, &err), 0);
	/* A key that only starts like ours is not ours. */
	assert_int_equal(sl_parse_cni_args("K8S_POD_NAMEX=z", &pod, &err), 0);
	assert_string_equal(pod.name, "");
}

static void test_host_veth_name(void **state)
{
	char a[16], b[16], c[16];

	(void)state;
	sl_host_veth_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			  "eth0", a);
	sl_host_veth_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			  "eth0", b);
	sl_host_veth_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			  "eth1", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 14);
	assert_memory_equal(a, "sl", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_complete),
		cmocka_unit_test(test_missing_vars_named),
		cmocka_unit_test(test_del_without_netns),
		cmocka_unit_test(test_version_needs_nothing),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_cni_args_shapes),
		cmocka_unit_test(test_host_veth_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

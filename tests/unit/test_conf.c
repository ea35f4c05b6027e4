// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The network configuration parser: every accepted shape and error code. */
#include "unit.h"
#include "conf.h"

static int parse(const char *json, enum sl_cmd cmd, struct sl_conf *conf,
		 struct sl_err *err)
{
	memset(err, 0, sizeof(*err));
	return sl_conf_parse(json, strlen(json), cmd, conf, err);
}

static void expect_code(const char *json, enum sl_cmd cmd, int code)
{
	struct sl_conf conf;
	struct sl_err err;

	assert_int_equal(parse(json, cmd, &conf, &err), -1);
	assert_int_equal(err.code, code);
	assert_true(err.msg[0] != '\0');
	sl_conf_free(&conf);
}

static void test_minimal_defaults(void **state)
{
	struct sl_conf conf;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\","
			       "\"type\":\"sluice\",\"podCIDR\":\"10.244.1.0/24\"}",
			       SL_CMD_ADD, &conf, &err), 0);
	assert_int_equal(conf.ver, CNI_V100);
	assert_string_equal(conf.name, "k8s-pod-network");
	assert_true(conf.have_pod_cidr);
	assert_int_equal(conf.pod_cidr.addr, 0x0af40100);
	assert_int_equal(conf.pod_cidr.prefix, 24);
	assert_string_equal(conf.bpf_root, "/sys/fs/bpf/sluice");
	assert_string_equal(conf.run_dir, "/var/run/sluice");
	assert_int_equal(conf.mtu, 1500);
	assert_int_equal(conf.agent_wait_ms, SL_DEFAULT_AGENT_WAIT_MS);
	assert_null(conf.prev_result);
	assert_null(conf.valid_attachments);
	sl_conf_free(&conf);
}

static void test_all_keys(void **state)
{
	struct sl_conf conf;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"sluice\","
			       "\"podCIDR\":\"10.0.0.0/16\",\"bpfRoot\":\"/x/bpf/\","
			       "\"runDir\":\"/run/s\",\"mtu\":1400,\"logLevel\":\"debug\","
			       "\"conntrackMax\":65536,\"agentWaitMs\":500,"
			       "\"dns\":{\"nameservers\":[\"10.96.0.10\"]},"
			       "\"prevResult\":{\"interfaces\":[]},\"unknownKey\":[1,2],"
			       "\"runtimeConfig\":{}, \"ipam\":{}}",
			       SL_CMD_ADD, &conf, &err), 0);
	assert_int_equal(conf.ver, CNI_V031);
	/* Trailing slashes are trimmed so joined paths stay clean. */
	assert_string_equal(conf.bpf_root, "/x/bpf");
	assert_string_equal(conf.run_dir, "/run/s");
	assert_int_equal(conf.mtu, 1400);
	assert_int_equal(conf.conntrack_max, 65536);
	assert_int_equal(conf.agent_wait_ms, 500);
	assert_int_equal(conf.log_level, SL_LOG_DEBUG);
	assert_non_null(conf.dns);
	assert_non_null(conf.prev_result);
	sl_conf_free(&conf);
}

static void test_every_version(void **state)
{
	const char *versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
	char json[256];

	(void)state;
	for (int i = 0; i < 5; i++) {
		struct sl_conf conf;
		struct sl_err err;

		snprintf(json, sizeof(json),
			 "{\"cniVersion\":\"%s\",\"name\":\"n\"}", versions[i]);
		assert_int_equal(parse(json, SL_CMD_ADD, &conf, &err), 0);
		assert_int_equal(conf.ver, i);
		sl_conf_free(&conf);
	}
}

static void test_decode_errors(void **state)
{
	(void)state;
	expect_code("", SL_CMD_ADD, CNI_ERR_DECODE);
	expect_code("{", SL_CMD_ADD, CNI_ERR_DECODE);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"} trailing",
		    SL_CMD_ADD, CNI_ERR_DECODE);
	expect_code("[1,2]", SL_CMD_ADD, CNI_ERR_DECODE);
	expect_code("\"str\"", SL_CMD_ADD, CNI_ERR_DECODE);
}

static void test_version_errors(void **state)
{
	(void)state;
	expect_code("{\"cniVersion\":\"9.9.9\",\"name\":\"n\"}", SL_CMD_ADD,
		    CNI_ERR_INCOMPATIBLE_VERSION);
	/* No cniVersion means 0.1.0, which we do not speak. */
	expect_code("{\"name\":\"n\"}", SL_CMD_ADD, CNI_ERR_INCOMPATIBLE_VERSION);
	expect_code("{\"cniVersion\":\"0.2.0\",\"name\":\"n\"}", SL_CMD_DEL,
		    CNI_ERR_INCOMPATIBLE_VERSION);
	expect_code("{\"cniVersion\":\"0.3.1\",\"name\":\"n\"}", SL_CMD_CHECK,
		    CNI_ERR_INCOMPATIBLE_VERSION);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", SL_CMD_GC,
		    CNI_ERR_INCOMPATIBLE_VERSION);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", SL_CMD_STATUS,
		    CNI_ERR_INCOMPATIBLE_VERSION);
	expect_code("{\"cniVersion\":1,\"name\":\"n\"}", SL_CMD_ADD,
		    CNI_ERR_INVALID_CONFIG);
}

static void test_invalid_config(void **state)
{
	(void)state;
	expect_code("{\"cniVersion\":\"1.0.0\"}", SL_CMD_ADD,
		    CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"-bad\"}", SL_CMD_ADD,
		    CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"a b\"}", SL_CMD_ADD,
		    CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":5}", SL_CMD_ADD,
		    CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"podCIDR\":\"10.244.1.1/24\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"podCIDR\":\"10.244.1.0\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"podCIDR\":\"10.0.0.0/31\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"podCIDR\":\"fd00::/64\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"podCIDR\":\"10.0.0.0/ 8\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":67}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":\"1500\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":70000}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"conntrackMax\":100}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"conntrackMax\":\"1e6\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"conntrackMax\":99999999999}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"bpfRoot\":\"rel/path\"}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runDir\":7}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"prevResult\":[]}",
		    SL_CMD_ADD, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/valid-attachments\":{}}",
		    SL_CMD_GC, CNI_ERR_INVALID_CONFIG);
	/* A GC list it cannot read must not read as "nothing is valid". */
	expect_code("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/valid-attachments\":[\"a\",\"b\"]}",
		    SL_CMD_GC, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/attachments\":[{\"containerID\":\"a\"}]}",
		    SL_CMD_GC, CNI_ERR_INVALID_CONFIG);
	expect_code("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/attachments\":[{\"containerID\":\"a\",\"ifname\":1}]}",
		    SL_CMD_GC, CNI_ERR_INVALID_CONFIG);
}

/* agentWaitMs: 0 (do not wait) up to a minute, an integer or nothing. */
static void test_agent_wait(void **state)
{
	static const char *const bad[] = { "-1", "60001", "\"2000\"", "1.5",
					   "true", "\"fast\"" };
	struct sl_conf conf;
	struct sl_err err;
	char json[128];

	(void)state;
	for (int ms = 0; ms <= 60000; ms += 60000) {
		snprintf(json, sizeof(json),
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"agentWaitMs\":%d}",
			 ms);
		assert_int_equal(parse(json, SL_CMD_ADD, &conf, &err), 0);
		assert_int_equal(conf.agent_wait_ms, ms);
		sl_conf_free(&conf);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(json, sizeof(json),
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"agentWaitMs\":%s}",
			 bad[i]);
		assert_int_equal(parse(json, SL_CMD_ADD, &conf, &err), -1);
		assert_int_equal(err.code, CNI_ERR_INVALID_CONFIG);
		/* The details name the key and the value refused. */
		if (!strstr(err.details, "agentWaitMs") ||
		    !strstr(err.details, bad[i]))
			fail_msg("agentWaitMs %s: \"%s\"", bad[i], err.details);
		sl_conf_free(&conf);
	}
}

static void test_ipam_unsupported(void **state)
{
	struct sl_conf conf;
	struct sl_err err;

	(void)state;
	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
			       "\"ipam\":{\"type\":\"host-local\"}}",
			       SL_CMD_ADD, &conf, &err), -1);
	assert_int_equal(err.code, CNI_ERR_UNSUPPORTED_FIELD);
	/* Code 2 must name the key and its value. */
	assert_non_null(strstr(err.details, "ipam"));
	assert_non_null(strstr(err.details, "host-local"));
	sl_conf_free(&conf);
}

static void test_gc_attachment_keys(void **state)
{
	const char *keys[] = { "cni.dev/valid-attachments", "cni.dev/attachments" };
	char json[256];

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct sl_conf conf;
		struct sl_err err;

		snprintf(json, sizeof(json),
			 "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"%s\":"
			 "[{\"containerID\":\"a\",\"ifname\":\"eth0\"}]}",
			 keys[i]);
		assert_int_equal(parse(json, SL_CMD_GC, &conf, &err), 0);
		assert_non_null(conf.valid_attachments);
		assert_int_equal(json_object_array_length(conf.valid_attachments), 1);
		sl_conf_free(&conf);
	}
}

static void test_cidr_parser(void **state)
{
	struct sl_ipv4_net net;
	uint32_t ip;
	int prefix;

	(void)state;
	assert_int_equal(sl_parse_ipv4_cidr("0.0.0.0/0", &net), 0);
	assert_int_equal(net.prefix, 0);
	assert_int_equal(sl_parse_ipv4_cidr("192.168.0.0/16", &net), 0);
	assert_int_equal(net.addr, 0xc0a80000);
	assert_int_equal(sl_parse_ipv4_cidr("192.168.0.1/16", &net), -1);
	assert_int_equal(sl_parse_ipv4_cidr("192.168.0.0/33", &net), -1);
	assert_int_equal(sl_parse_ipv4_cidr("192.168.0.0/", &net), -1);
	assert_int_equal(sl_parse_ipv4_cidr("192.168.0.0/-1", &net), -1);
	assert_int_equal(sl_parse_ipv4_cidr("300.1.1.0/24", &net), -1);
	assert_int_equal(sl_parse_ipv4_prefix("10.1.2.3/24", &ip, &prefix), 0);
	assert_int_equal(ip, 0x0a010203);
	assert_int_equal(prefix, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_version_errors),
		cmocka_unit_test(test_invalid_config),
		cmocka_unit_test(test_agent_wait),
		cmocka_unit_test(test_ipam_unsupported),
		cmocka_unit_test(test_gc_attachment_keys),
		cmocka_unit_test(test_cidr_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

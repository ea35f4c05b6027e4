// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Result encoding in every version, chaining, and the error document. */
#include "unit.h"
#include "errors.h"
#include "result.h"

#include <stdio.h>
#include <stdlib.h>

static struct sl_result sample(void)
{
	struct sl_result r = {
		.host = { .name = "sl0123456789ab", .mac = { 2, 0, 0, 0, 0, 1 },
			  .mtu = 1450 },
		.pod = { .name = "eth0", .mac = { 2, 0, 0, 0, 0, 2 },
			 .mtu = 1450, .sandbox = "/var/run/netns/p" },
		.ip = 0x0af40105,
		.gateway = 0xa9fe0101,
	};
	return r;
}

static const char *str_at(json_object *o, const char *path)
{
	/* A tiny path walker: "ips.0.address". */
	char buf[128], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && o;
	     tok = strtok_r(NULL, ".", &save)) {
		json_object *next = NULL;

		if (json_object_is_type(o, json_type_array))
			next = json_object_array_get_idx(o, (size_t)atoi(tok));
		else
			json_object_object_get_ex(o, tok, &next);
		o = next;
	}
	return o ? json_object_get_string(o) : NULL;
}

static void test_shape_per_version(void **state)
{
	struct sl_result r = sample();

	(void)state;
	for (int v = 0; v < CNI_V_COUNT; v++) {
		json_object *o = sl_result_build(&r, (enum cni_ver)v, NULL);

		assert_string_equal(str_at(o, "cniVersion"), cni_version_names[v]);
		assert_string_equal(str_at(o, "interfaces.0.name"), "sl0123456789ab");
		assert_null(str_at(o, "interfaces.0.sandbox"));
		assert_string_equal(str_at(o, "interfaces.1.name"), "eth0");
		assert_string_equal(str_at(o, "interfaces.1.sandbox"),
				    "/var/run/netns/p");
		assert_string_equal(str_at(o, "interfaces.1.mac"),
				    "02:00:00:00:00:02");
		assert_string_equal(str_at(o, "ips.0.address"), "10.244.1.5/32");
		assert_string_equal(str_at(o, "ips.0.gateway"), "169.254.1.1");
		assert_string_equal(str_at(o, "ips.0.interface"), "1");
		assert_string_equal(str_at(o, "routes.0.dst"), "0.0.0.0/0");
		assert_string_equal(str_at(o, "routes.0.gw"), "169.254.1.1");
		if (v < CNI_V100)
			assert_string_equal(str_at(o, "ips.0.version"), "4");
		else
			assert_null(str_at(o, "ips.0.version"));
		if (v >= CNI_V110)
			assert_string_equal(str_at(o, "interfaces.1.mtu"), "1450");
		else
			assert_null(str_at(o, "interfaces.1.mtu"));
		assert_null(str_at(o, "dns"));
		json_object_put(o);
	}
}

static void test_chained_after_prev(void **state)
{
	struct sl_result r = sample();
	json_object *prev = parse_json(
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo0\"}],"
		"\"ips\":[{\"address\":\"192.0.2.1/24\",\"interface\":0}],"
		"\"routes\":[{\"dst\":\"192.0.2.0/24\"}],"
		"\"dns\":{\"nameservers\":[\"192.0.2.53\"]}}");
	json_object *dns = parse_json("{\"nameservers\":[\"10.96.0.10\"]}");
	json_object *o;

	(void)state;
	r.dns = dns;
	o = sl_result_build(&r, CNI_V100, prev);
	/* Nothing of prevResult is dropped; our indexes shift past it. */
	assert_string_equal(str_at(o, "interfaces.0.name"), "lo0");
	assert_string_equal(str_at(o, "interfaces.2.name"), "eth0");
	assert_string_equal(str_at(o, "ips.0.address"), "192.0.2.1/24");
	assert_string_equal(str_at(o, "ips.1.interface"), "2");
	assert_string_equal(str_at(o, "routes.0.dst"), "192.0.2.0/24");
	assert_string_equal(str_at(o, "routes.1.dst"), "0.0.0.0/0");
	assert_string_equal(str_at(o, "dns.nameservers.0"), "192.0.2.53");
	json_object_put(o);

	o = sl_result_build(&r, CNI_V100, NULL);
	assert_string_equal(str_at(o, "dns.nameservers.0"), "10.96.0.10");
	json_object_put(o);
	json_object_put(prev);
	json_object_put(dns);
}

static void test_error_document(void **state)
{
	struct sl_err err = {};
	char buf[512];
	json_object *o;
	FILE *fp;

	(void)state;
	assert_int_equal(sl_errf(&err, CNI_ERR_INVALID_ENV, "missing", "need %s",
				 "CNI_NETNS"), -1);
	/* The first error is the cause; later ones do not overwrite it. */
	sl_errf(&err, CNI_ERR_INTERNAL, "later", "cleanup");
	fp = fmemopen(buf, sizeof(buf), "w");
	sl_err_print(&err, "0.4.0", fp);
	fclose(fp);
	o = parse_json(buf);
	assert_string_equal(str_at(o, "cniVersion"), "0.4.0");
	assert_string_equal(str_at(o, "code"), "4");
	assert_string_equal(str_at(o, "msg"), "missing");
	assert_string_equal(str_at(o, "details"), "need CNI_NETNS");
	json_object_put(o);
	/* One document, one line. */
	assert_non_null(strchr(buf, '\n'));
	assert_null(strchr(strchr(buf, '\n') + 1, '{'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_per_version),
		cmocka_unit_test(test_chained_after_prev),
		cmocka_unit_test(test_error_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Log lines are logfmt records: one line each, whatever the message holds. */
#include "unit.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *log_through_file(enum sl_log_level level, const char *msg)
{
	char path[] = "/tmp/sl-test-log-XXXXXX";
	int fd = mkstemp(path);
	static char line[8192];
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sl_log_open_file(path, 1 << 20), 0);
	sl_log(level, "%s", msg);
	sl_log_close();
	f = fopen(path, "r");
	assert_non_null(f);
	line[0] = '\0';
	assert_non_null(fgets(line, sizeof(line), f));
	/* exactly one line */
	assert_null(fgets(path, sizeof(path), f));
	fclose(f);
	unlink(path);
	return line;
}

static void test_logfmt_fields(void **state)
{
	char *line;

	(void)state;
	sl_log_init("sluiced", SL_LOG_INFO);
	sl_log_set_context("node=n1");
	line = log_through_file(SL_LOG_WARN, "endpoint 10.0.0.2 removed");
	assert_memory_equal(line, "time=", 5);
	assert_non_null(strstr(line, "Z level=warn prog=sluiced pid="));
	assert_non_null(strstr(line, " node=n1 msg=\"endpoint 10.0.0.2 removed\"\n"));
}

static void test_logfmt_escapes(void **state)
{
	char *line;

	(void)state;
	sl_log_init("sluice", SL_LOG_INFO);
	sl_log_set_context("cmd=ADD");
	line = log_through_file(SL_LOG_ERROR, "bad \"name\"\nx\\y\t\x01");
	assert_non_null(strstr(line,
		"cmd=ADD msg=\"bad \\\"name\\\"\\nx\\\\y\\x09\\x01\"\n"));
}

static void test_level_filter(void **state)
{
	char path[] = "/tmp/sl-test-log-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	sl_log_init("sluice", SL_LOG_WARN);
	assert_int_equal(sl_log_open_file(path, 1 << 20), 0);
	sl_log(SL_LOG_INFO, "not shown");
	sl_log(SL_LOG_DEBUG, "not shown");
	sl_log_close();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(path);
	assert_int_equal(sl_log_level_from_string("DEBUG"), SL_LOG_DEBUG);
	assert_int_equal(sl_log_level_from_string("nonsense"), SL_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logfmt_fields),
		cmocka_unit_test(test_logfmt_escapes),
		cmocka_unit_test(test_level_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What every cmocka unit test includes. */
#ifndef SL_TESTS_UNIT_H
#define SL_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

/* Parse a JSON literal or fail the test. */
static inline json_object *parse_json(const char *s)
{
	json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

#endif /* SL_TESTS_UNIT_H */

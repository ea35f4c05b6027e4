// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the agent's manifest parser: every input is tried
 * as a YAML stream and as JSON. The buffer is not NUL-terminated, so ASan
 * catches any read past its end; LeakSanitizer catches error paths that
 * forget a node.
 */
#include <stdint.h>
#include <stdlib.h>

#include "manifest.h"

static bool has_string(json_object *obj, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) &&
	       json_object_is_type(v, json_type_string);
}

/* The contract of success: objects with string apiVersion and kind. */
static void check_objects(json_object **objs, size_t n)
{
	if (n && !objs)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!json_object_is_type(objs[i], json_type_object) ||
		    !has_string(objs[i], "apiVersion") ||
		    !has_string(objs[i], "kind"))
			abort();
		/* Walk the whole tree the way consumers will. */
		json_object_to_json_string_ext(objs[i], JSON_C_TO_STRING_PLAIN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int is_json = 0; is_json < 2; is_json++) {
		struct sl_manifest_error err;
		json_object **objs;
		size_t n;
		int r;

		r = sl_manifest_parse((const char *)data, size, is_json, &objs,
				      &n, &err);
		if (r == 0)
			check_objects(objs, n);
		/* All or nothing, and every error says why (and where). */
		else if (r != -1 || objs || n || !err.reason[0] ||
			 err.line < 0 || err.column < 0 ||
			 (err.line > 0) != (err.column > 0))
			abort();
		sl_manifest_free(objs, n);
	}
	return 0;
}

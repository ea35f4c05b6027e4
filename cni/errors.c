// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "errors.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

int sl_errf(struct sl_err *err, int code, const char *msg,
	    const char *details_fmt, ...)
{
	va_list ap;

	if (err->code)
		return -1;
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	va_start(ap, details_fmt);
	vsnprintf(err->details, sizeof(err->details), details_fmt, ap);
	va_end(ap);
	return -1;
}

void sl_err_print(const struct sl_err *err, const char *cni_version,
		  FILE *out)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cniVersion",
			       json_object_new_string(cni_version));
	json_object_object_add(o, "code", json_object_new_int(err->code));
	json_object_object_add(o, "msg", json_object_new_string(err->msg));
	if (err->details[0])
		json_object_object_add(o, "details",
				       json_object_new_string(err->details));
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

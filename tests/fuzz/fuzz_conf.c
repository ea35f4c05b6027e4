// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for everything the plugin parses from the outside: the
 * stdin configuration (for every command), CNI_ARGS and endpoint records.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "env.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_pod_meta pod;
	struct sl_ep_record rec;
	char *str;

	for (int cmd = SL_CMD_ADD; cmd < SL_CMD_UNKNOWN; cmd++) {
		struct sl_conf conf;
		struct sl_err err = {};

		if (sl_conf_parse((const char *)data, size, (enum sl_cmd)cmd,
				  &conf, &err) == 0 &&
		    err.code != 0)
			abort(); /* success never carries an error */
		if (err.code && !err.msg[0])
			abort(); /* every error has a message */
		sl_conf_free(&conf);
	}

	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	{
		struct sl_err err = {};

		sl_parse_cni_args(str, &pod, &err);
	}
	sl_record_from_json(str, size, &rec);
	free(str);
	return 0;
}

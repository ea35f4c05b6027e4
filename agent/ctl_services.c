// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl services: the frontends the agent compiled, with their
 * backends in slot order. -o json gives the agent's answer as is.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/* "a,b,c" of a JSON array of strings, or "-". */
static void join(json_object *arr, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr) && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
				 json_object_get_string(json_object_array_get_idx(arr, i)));

		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

int sl_ctl_services(const struct sl_ctl *ctl)
{
	json_object *arr = sl_ctl_ask_agent(ctl, "services");

	if (!arr)
		return sl_ctl_agent_down(ctl);
	if (ctl->json) {
		sl_ctl_print_json(arr);
		json_object_put(arr);
		return 0;
	}
	printf("%-24s %-9s %-32s %-22s %s\n", "FRONTEND", "SCOPE", "SERVICE",
	       "FLAGS", "BACKENDS");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *f = json_object_array_get_idx(arr, i), *v, *bes;
		char flags[128];

		json_object_object_get_ex(f, "flags", &v);
		join(v, flags, sizeof(flags));
		printf("%-24s %-9s %-32s %-22s", sl_ctl_field(f, "frontend"),
		       sl_ctl_field(f, "scope"), sl_ctl_field(f, "service"), flags);
		if (!json_object_object_get_ex(f, "backends", &bes) ||
		    !json_object_array_length(bes))
			printf(" (none: connections are refused)");
		for (size_t j = 0; bes && j < json_object_array_length(bes); j++) {
			json_object *b = json_object_array_get_idx(bes, j), *bf;
			char bflags[64];

			json_object_object_get_ex(b, "flags", &bf);
			join(bf, bflags, sizeof(bflags));
			printf("%s %s%s%s%s", j ? "," : "", sl_ctl_field(b, "address"),
			       strcmp(bflags, "-") ? " (" : "",
			       strcmp(bflags, "-") ? bflags : "",
			       strcmp(bflags, "-") ? ")" : "");
		}
		printf("\n");
	}
	json_object_put(arr);
	return 0;
}

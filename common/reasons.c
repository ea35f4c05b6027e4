// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "reasons.h"

#include <stddef.h>

#include <sluice/drop.h>

struct reason_entry {
	const char *name;
	const char *desc;
};

static const struct reason_entry reasons[SL_REASON_MAX + 1] = {
#define SL_NAME_ENTRY(code, name, desc) [code] = { #name, desc },
	SL_DROP_REASONS(SL_NAME_ENTRY) SL_TRACE_POINTS(SL_NAME_ENTRY)
#undef SL_NAME_ENTRY
};

const char *sl_reason_name(unsigned int code)
{
	return code <= SL_REASON_MAX ? reasons[code].name : NULL;
}

const char *sl_reason_desc(unsigned int code)
{
	return code <= SL_REASON_MAX ? reasons[code].desc : NULL;
}

bool sl_reason_is_drop(unsigned int code)
{
	return code > 0 && code <= SL_DROP_MAX;
}

const char *sl_dir_name(unsigned int dir)
{
	return dir == SL_DIR_EGRESS ? "egress" : dir == SL_DIR_INGRESS ? "ingress" : "?";
}

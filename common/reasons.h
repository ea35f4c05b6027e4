/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Names of drop reasons and trace points, from include/sluice/drop.h. */
#ifndef SL_COMMON_REASONS_H
#define SL_COMMON_REASONS_H

#include <stdbool.h>

/* "SPOOFED_SOURCE", or NULL for a code nobody defined. */
const char *sl_reason_name(unsigned int code);
const char *sl_reason_desc(unsigned int code);
bool sl_reason_is_drop(unsigned int code);
const char *sl_dir_name(unsigned int dir);

#endif /* SL_COMMON_REASONS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* CNI error codes and the error result every failure ends in. */
#ifndef SL_CNI_ERRORS_H
#define SL_CNI_ERRORS_H

#include <stdio.h>

enum cni_err_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_NOT_AVAILABLE_LIMITED = 51,
	/* 100+: ours. Stable: runtimes and operators may match on them. */
	SL_ERR_POOL_EXHAUSTED = 100,
	SL_ERR_DATAPATH = 101,
	SL_ERR_NETLINK = 102,
	SL_ERR_INTERFACE_EXISTS = 103,
	SL_ERR_NETNS = 104,
	SL_ERR_STORE = 105,
	CNI_ERR_INTERNAL = 999,
};

struct sl_err {
	int code;
	char msg[256];
	char details[2048];
};

/*
 * sl_errf - record an error: a short message and printf-style details.
 * Keeps the first error recorded, so the cause is not overwritten by the
 * failures of its cleanup. Always returns -1.
 */
int sl_errf(struct sl_err *err, int code, const char *msg,
	    const char *details_fmt, ...) __attribute__((format(printf, 4, 5)));

/* Write {"cniVersion","code","msg","details"} and a newline to out. */
void sl_err_print(const struct sl_err *err, const char *cni_version,
		  FILE *out);

#endif /* SL_CNI_ERRORS_H */

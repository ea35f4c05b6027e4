// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the agent's HTTP request parser (agent/http.c), the
 * one piece of the metrics and health check endpoints that reads what any
 * client on the network sends. The buffer is not NUL-terminated, so ASan
 * catches a read past its end. Beyond not crashing, the parser's contract:
 *  - a complete head is at most the input, and parsing exactly that head
 *    gives the same request (the answer does not depend on what follows);
 *  - a request is a token method and a path that is "*" or starts with
 *    '/', NUL-terminated in its buffer, with no space or control byte;
 *  - an incomplete head stays incomplete or becomes an error as bytes are
 *    taken away from its end (no prefix of garbage is a request).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void check_request(const struct sl_http_request *r)
{
	size_t m = strnlen(r->method, sizeof(r->method));
	size_t p = strnlen(r->path, sizeof(r->path));

	if (!m || m == sizeof(r->method) || !p || p == sizeof(r->path))
		abort();
	if (strcmp(r->path, "*") && r->path[0] != '/')
		abort();
	for (size_t i = 0; i < p; i++)
		if ((unsigned char)r->path[i] <= 0x20 ||
		    (unsigned char)r->path[i] >= 0x7f)
			abort();
	if (r->minor < 0 || r->minor > 9)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_http_request req, again;
	int ret;

	if (size > SL_HTTP_HEAD_MAX)
		return 0;
	ret = sl_http_parse_request((const char *)data, size, &req);
	if (ret > 0) {
		if ((size_t)ret > size)
			abort();
		check_request(&req);
		if (sl_http_parse_request((const char *)data, (size_t)ret,
					  &again) != ret ||
		    memcmp(&req, &again, sizeof(req)))
			abort();
	} else if (ret < 0) {
		if (ret != -EBADMSG && ret != -ENAMETOOLONG &&
		    ret != -EPROTONOSUPPORT)
			abort();
	} else if (size) {
		/* Incomplete: so is every shorter prefix, or it is an
		 * error already noticed there. Never a request. */
		if (sl_http_parse_request((const char *)data, size - 1, &again) > 0)
			abort();
	}
	return 0;
}

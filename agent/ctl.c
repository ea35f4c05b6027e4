// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What every sluicectl command shares: the agent's socket, JSON output. */
#include "ctl.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Ask the agent; NULL with errno set when it does not answer. */
json_object *sl_ctl_ask_agent(const struct sl_ctl *o, const char *cmd)
{
	json_object *req = json_object_new_object(), *out;
	int err;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	out = sl_ctl_ask(o, req);
	err = errno;
	json_object_put(req);
	errno = err;
	return out;
}

json_object *sl_ctl_ask(const struct sl_ctl *o, json_object *request)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	char req[4096], *buf;
	json_object *out;
	size_t len;
	int fd, err;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sluiced.sock",
		 o->run_dir);
	/* The agent reads one line of at most this much. */
	if (snprintf(req, sizeof(req), "%s\n",
		     json_object_to_json_string_ext(request,
						    JSON_C_TO_STRING_PLAIN)) >=
	    (int)sizeof(req)) {
		errno = E2BIG;
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	err = sl_read_fd(fd, 64u << 20, &buf, &len);
	close(fd);
	if (err < 0) {
		errno = -err;
		return NULL;
	}
	out = json_tokener_parse(buf);
	free(buf);
	if (!out)
		errno = EPROTO;
	return out;
}

const char *sl_ctl_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

void sl_ctl_print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
}

int sl_ctl_agent_down(const struct sl_ctl *o)
{
	fprintf(stderr,
		"sluicectl: the agent is not answering on %s/sluiced.sock (%s)\n",
		o->run_dir, strerror(errno));
	return 1;
}

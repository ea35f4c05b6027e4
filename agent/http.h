/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's small HTTP/1.x server, shared by the health check node ports
 * (agent/healthcheck.c) and the metrics endpoint (agent/metrics.c). It
 * lives on the agent's one epoll loop, so it must never block it nor let a
 * client grow its memory:
 *  - one request per connection, answered with "Connection: close";
 *  - a request head of at most SL_HTTP_HEAD_MAX bytes (bodies are never
 *    read), else 431;
 *  - a connection lives SL_HTTP_TIMEOUT_MS at most, request and answer
 *    together, enforced by the server's own timerfd;
 *  - a fixed number of connections: when all are taken, the oldest one
 *    gives way to the newcomer. A prober's request arrives within
 *    milliseconds, so whoever has been connected longest is the one least
 *    likely to be a prober, and a client holding connections open cannot
 *    lock the others out.
 * The users own their listening sockets (sl_http_listen()) and hand them
 * to sl_http_accept() when they are readable; answers come from one
 * handler per server.
 */
#ifndef SL_AGENT_HTTP_H
#define SL_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SL_HTTP_HEAD_MAX 4096
#define SL_HTTP_TIMEOUT_MS 5000
#define SL_HTTP_LINE_MAX 1024 /* the request line */
#define SL_HTTP_PATH_MAX 256

struct sl_http_request {
	char method[16];
	char path[SL_HTTP_PATH_MAX]; /* origin-form, query and fragment cut */
	int minor;                   /* HTTP/1.<minor> */
};

/*
 * sl_http_parse_request - parse a request head from buf (len bytes, not
 * NUL-terminated). Returns the head's length, ending with its blank line,
 * once it is complete; 0 while more is needed; -EBADMSG when it is not
 * HTTP/1.x (answer 400), -ENAMETOOLONG for a request line longer than
 * SL_HTTP_LINE_MAX or a path longer than SL_HTTP_PATH_MAX (414),
 * -EPROTONOSUPPORT for another HTTP version (505). Errors in the request
 * line are found as soon as it is there, before the rest of the head.
 */
int sl_http_parse_request(const char *buf, size_t len,
			  struct sl_http_request *req);

/* An answer: the server frees body (malloc'd) once sent. */
struct sl_http_reply {
	int status;
	const char *content_type; /* static; default text/plain */
	const char *allow;        /* the Allow header of a 405 */
	char *body;
	size_t len;
};

/* reply's status and a body printed from fmt (empty when out of memory). */
void sl_http_reply_printf(struct sl_http_reply *r, int status,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Fill reply for req, which came in on a listening socket accepted with
 * tag. A HEAD request's body is dropped by the server.
 */
typedef void (*sl_http_handler)(void *ctx, unsigned long tag,
				const struct sl_http_request *req,
				struct sl_http_reply *reply);

struct sl_http_conn {
	int fd;
	unsigned long tag;
	uint64_t accepted_ms, deadline_ms; /* CLOCK_MONOTONIC */
	bool head_only;
	size_t in_len;
	char *in;               /* SL_HTTP_HEAD_MAX bytes while reading */
	char head[512];         /* the answer: status line and headers, */
	size_t head_len;
	char *body;             /* then the body */
	size_t body_len, sent;  /* sent: bytes of head + body written */
};

struct sl_http_server {
	int epoll_fd;
	int timer_fd; /* fires at the earliest connection deadline */
	struct sl_http_conn *conns;
	size_t max_conns;
	sl_http_handler handler;
	void *ctx;
	unsigned long evicted, timed_out; /* since start */
};

/* A server with room for max_conns connections; -ENOMEM, or the timerfd's
 * -errno. Until it succeeds the server holds no connection. */
int sl_http_server_init(struct sl_http_server *s, int epoll_fd,
			size_t max_conns, sl_http_handler handler, void *ctx);
void sl_http_server_close(struct sl_http_server *s);

/* A non-blocking listening TCP socket bound to sa; -errno on failure. */
int sl_http_listen(const struct sockaddr *sa, socklen_t len);

/* Take every pending connection of listening socket fd. */
void sl_http_accept(struct sl_http_server *s, int listen_fd,
		    unsigned long tag);

/* Handle an epoll event on fd if it is one of the server's; false when it
 * is not. */
bool sl_http_handle(struct sl_http_server *s, int fd);

/* Close the connections accepted with tag (a listener that went away). */
void sl_http_drop_tag(struct sl_http_server *s, unsigned long tag);

#endif /* SL_AGENT_HTTP_H */

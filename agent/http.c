// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "http.h"
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* --- the request head --------------------------------------------------------- */

/* RFC 9110 token characters: methods and header names. */
static bool is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Visible ASCII: what a request target may hold. */
static bool is_vchar(char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The target as a path: origin-form as is, absolute-form (RFC 9112 3.2.2,
 * which servers must accept) without scheme and authority, "*" as is. */
static int parse_target(const char *t, size_t len, struct sl_http_request *req)
{
	size_t skip = 0, n;

	if (len > 7 && !strncasecmp(t, "http://", 7))
		skip = 7;
	else if (len > 8 && !strncasecmp(t, "https://", 8))
		skip = 8;
	if (skip) {
		/* The path starts after the authority; none is "/". */
		for (n = skip; n < len && !strchr("/?#", t[n]); n++)
			;
		if (n == len || t[n] != '/') {
			t = "/";
			len = 1;
		} else {
			t += n;
			len -= n;
		}
	} else if (!(len == 1 && *t == '*') && (!len || *t != '/')) {
		return -EBADMSG;
	}
	for (n = 0; n < len && t[n] != '?' && t[n] != '#'; n++)
		;
	if (n >= sizeof(req->path))
		return -ENAMETOOLONG;
	memcpy(req->path, t, n);
	req->path[n] = '\0';
	return 0;
}

/* "METHOD SP target SP HTTP/d.d", without its line end. */
static int parse_request_line(const char *l, size_t len,
			      struct sl_http_request *req)
{
	const char *sp1 = memchr(l, ' ', len), *sp2, *v;
	size_t vlen;

	if (len > SL_HTTP_LINE_MAX)
		return -ENAMETOOLONG;
	if (!sp1 || sp1 == l || (size_t)(sp1 - l) >= sizeof(req->method))
		return -EBADMSG;
	for (const char *c = l; c < sp1; c++)
		if (!is_tchar(*c))
			return -EBADMSG;
	memcpy(req->method, l, (size_t)(sp1 - l));
	req->method[sp1 - l] = '\0';

	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - l));
	if (!sp2)
		return -EBADMSG;
	for (const char *c = sp1 + 1; c < sp2; c++)
		if (!is_vchar(*c))
			return -EBADMSG;
	v = sp2 + 1;
	vlen = len - (size_t)(v - l);
	if (vlen != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return -EBADMSG;
	if (v[5] != '1')
		return -EPROTONOSUPPORT;
	req->minor = v[7] - '0';
	return parse_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), req);
}

/* "name: value": a token, a colon, then no control character but HTAB. */
static bool valid_header(const char *l, size_t len)
{
	const char *colon = memchr(l, ':', len);

	if (!colon || colon == l)
		return false;
	for (const char *c = l; c < colon; c++)
		if (!is_tchar(*c))
			return false;
	for (const char *c = colon + 1; c < l + len; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return false;
	return true;
}

/* The length of the line at l (to '\n', exclusive) and of its content
 * (without a '\r' before the '\n'); false while the '\n' is yet to come. */
static bool next_line(const char *l, const char *end, size_t *line,
		      size_t *content)
{
	const char *nl = memchr(l, '\n', (size_t)(end - l));

	if (!nl)
		return false;
	*line = (size_t)(nl - l);
	*content = *line && nl[-1] == '\r' ? *line - 1 : *line;
	return true;
}

int sl_http_parse_request(const char *buf, size_t len,
			  struct sl_http_request *req)
{
	const char *p = buf, *end = buf + len;
	size_t line, content;
	int err;

	memset(req, 0, sizeof(*req));
	/* Empty lines before the request line are to be ignored (RFC 9112
	 * 2.2): what a client sends after a previous request's body. */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (!next_line(p, end, &line, &content)) {
		/* Refuse garbage now rather than after SL_HTTP_HEAD_MAX
		 * bytes: a request line is printable and not that long. */
		if ((size_t)(end - p) > SL_HTTP_LINE_MAX + 1)
			return -ENAMETOOLONG;
		for (const char *c = p; c < end; c++)
			if (*c != '\r' && *c != ' ' && !is_vchar(*c))
				return -EBADMSG;
		return 0;
	}
	err = parse_request_line(p, content, req);
	if (err)
		return err;
	for (p += line + 1;; p += line + 1) {
		if (!next_line(p, end, &line, &content))
			return 0;
		if (!content)
			return (int)(p + line + 1 - buf);
		if (!valid_header(p, content))
			return -EBADMSG;
	}
}

/* --- answers ------------------------------------------------------------------- */

void sl_http_reply_printf(struct sl_http_reply *r, int status,
			  const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	free(r->body);
	r->body = NULL;
	r->len = 0;
	va_start(ap, fmt);
	n = vasprintf(&r->body, fmt, ap);
	va_end(ap);
	if (n < 0)
		r->body = NULL;
	else
		r->len = (size_t)n;
}

static const struct {
	int status;
	const char *text;
} status_texts[] = {
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 414, "URI Too Long" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

static const char *status_text(int status)
{
	for (size_t i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

/* The answer to a request sl_http_parse_request() refused. */
static int error_status(int err)
{
	if (err == -ENAMETOOLONG)
		return 414;
	if (err == -EPROTONOSUPPORT)
		return 505;
	if (err == -EMSGSIZE) /* a head past SL_HTTP_HEAD_MAX */
		return 431;
	return 400;
}

/* --- connections ------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void conn_close(struct sl_http_conn *c)
{
	close(c->fd); /* leaves the epoll set with it */
	free(c->in);
	free(c->body);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* The timer at the earliest deadline, or off without connections. */
static void arm_timer(struct sl_http_server *s)
{
	struct itimerspec its = {};
	uint64_t first = UINT64_MAX;

	for (size_t i = 0; i < s->max_conns; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].deadline_ms < first)
			first = s->conns[i].deadline_ms;
	if (first != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(first / 1000);
		/* 0 would disarm it: a deadline is never at time 0 anyway */
		its.it_value.tv_nsec = (long)(first % 1000) * 1000000 + 1;
	}
	timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void conn_write(struct sl_http_conn *c)
{
	while (c->sent < c->head_len + c->body_len) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		if (c->sent < c->head_len) {
			iov[0].iov_base = c->head + c->sent;
			iov[0].iov_len = c->head_len - c->sent;
			iov[1].iov_base = c->body;
			iov[1].iov_len = c->body_len;
			msg.msg_iovlen = c->body_len ? 2 : 1;
		} else {
			iov[0].iov_base = c->body + (c->sent - c->head_len);
			iov[0].iov_len = c->head_len + c->body_len - c->sent;
			msg.msg_iovlen = 1;
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT brings us back */
		if (n <= 0) {
			log_debug("http: answer not sent: %s", strerror(errno));
			conn_close(c);
			return;
		}
		c->sent += (size_t)n;
	}
	/* Read what the client sent beyond its head before closing: with
	 * unread data, close() resets the connection and the client may
	 * lose the answer. Bounded: a client still sending is cut off. */
	for (int i = 0; i < 4; i++) {
		char sink[1024];

		if (read(c->fd, sink, sizeof(sink)) <= 0)
			break;
	}
	conn_close(c);
}

static void conn_answer(struct sl_http_server *s, struct sl_http_conn *c,
			int parsed, const struct sl_http_request *req)
{
	struct sl_http_reply r = {};
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };
	int n;

	if (parsed < 0) {
		sl_http_reply_printf(&r, error_status(parsed), "%s\n",
				     status_text(error_status(parsed)));
	} else {
		s->handler(s->ctx, c->tag, req, &r);
		c->head_only = !strcmp(req->method, "HEAD");
		if (!r.status)
			sl_http_reply_printf(&r, 500, "no answer\n");
	}
	n = snprintf(c->head, sizeof(c->head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Content-Length: %zu\r\n%s%s%sConnection: close\r\n\r\n",
		     r.status, status_text(r.status),
		     r.content_type ? r.content_type : "text/plain; charset=utf-8",
		     r.len, r.allow ? "Allow: " : "", r.allow ? r.allow : "",
		     r.allow ? "\r\n" : "");
	c->head_len = n < (int)sizeof(c->head) ? (size_t)n : sizeof(c->head) - 1;
	free(c->in);
	c->in = NULL;
	c->body = r.body;
	c->body_len = c->head_only ? 0 : r.len;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
	conn_write(c);
}

static void conn_read(struct sl_http_server *s, struct sl_http_conn *c)
{
	struct sl_http_request req;
	int parsed = 0;

	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len,
				 SL_HTTP_HEAD_MAX - c->in_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(c); /* gone before its request was whole */
			return;
		}
		c->in_len += (size_t)n;
		parsed = sl_http_parse_request(c->in, c->in_len, &req);
		if (!parsed && c->in_len == SL_HTTP_HEAD_MAX)
			parsed = -EMSGSIZE;
		if (parsed) {
			conn_answer(s, c, parsed, &req);
			return;
		}
	}
}

int sl_http_server_init(struct sl_http_server *s, int epoll_fd,
			size_t max_conns, sl_http_handler handler, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	memset(s, 0, sizeof(*s));
	s->timer_fd = -1;
	s->conns = calloc(max_conns, sizeof(*s->conns));
	if (!s->conns)
		return -ENOMEM;
	s->max_conns = max_conns;
	for (size_t i = 0; i < max_conns; i++)
		s->conns[i].fd = -1;
	s->epoll_fd = epoll_fd;
	s->handler = handler;
	s->ctx = ctx;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = s->timer_fd;
	if (s->timer_fd < 0 ||
	    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0) {
		err = -errno;
		sl_http_server_close(s);
		return err;
	}
	return 0;
}

/* A zeroed server, never initialised, holds nothing to close. */
void sl_http_server_close(struct sl_http_server *s)
{
	if (!s->conns)
		return;
	for (size_t i = 0; i < s->max_conns; i++)
		if (s->conns[i].fd >= 0)
			conn_close(&s->conns[i]);
	free(s->conns);
	s->conns = NULL;
	s->max_conns = 0;
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	s->timer_fd = -1;
}

int sl_http_listen(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	/* A restarted agent binds again while old connections linger. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A free slot, or the oldest connection's, closed. */
static struct sl_http_conn *free_slot(struct sl_http_server *s)
{
	struct sl_http_conn *oldest = NULL;

	for (size_t i = 0; i < s->max_conns; i++) {
		struct sl_http_conn *c = &s->conns[i];

		if (c->fd < 0)
			return c;
		if (!oldest || c->accepted_ms < oldest->accepted_ms)
			oldest = c;
	}
	if (oldest) {
		s->evicted++;
		log_debug("http: %zu connections open, closing the oldest",
			  s->max_conns);
		conn_close(oldest);
	}
	return oldest;
}

void sl_http_accept(struct sl_http_server *s, int listen_fd,
		    unsigned long tag)
{
	/* Without room (no server) every connection is closed at once. */
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		struct sl_http_conn *c;

		if (fd < 0)
			break;
		c = free_slot(s);
		if (c)
			c->in = malloc(SL_HTTP_HEAD_MAX);
		if (!c || !c->in ||
		    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c) {
				free(c->in);
				c->in = NULL;
			}
			close(fd);
			continue;
		}
		c->fd = fd;
		c->tag = tag;
		c->accepted_ms = now_ms();
		c->deadline_ms = c->accepted_ms + SL_HTTP_TIMEOUT_MS;
		/* The request is often there already: answering now frees
		 * the slot before the next newcomer needs one. */
		conn_read(s, c);
	}
	arm_timer(s);
}

static void expire(struct sl_http_server *s)
{
	uint64_t now = now_ms(), ticks;

	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_debug("http: timer: %s", strerror(errno));
	for (size_t i = 0; i < s->max_conns; i++) {
		struct sl_http_conn *c = &s->conns[i];

		if (c->fd >= 0 && c->deadline_ms <= now) {
			s->timed_out++;
			conn_close(c);
		}
	}
}

bool sl_http_handle(struct sl_http_server *s, int fd)
{
	struct sl_http_conn *c = NULL;

	if (fd < 0 || !s->conns)
		return false;
	if (fd == s->timer_fd) {
		expire(s);
		arm_timer(s);
		return true;
	}
	for (size_t i = 0; i < s->max_conns && !c; i++)
		if (s->conns[i].fd == fd)
			c = &s->conns[i];
	if (!c)
		return false;
	if (c->in)
		conn_read(s, c);
	else
		conn_write(c);
	if (c->fd < 0)
		arm_timer(s);
	return true;
}

void sl_http_drop_tag(struct sl_http_server *s, unsigned long tag)
{
	if (!s->conns)
		return;
	for (size_t i = 0; i < s->max_conns; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].tag == tag)
			conn_close(&s->conns[i]);
	arm_timer(s);
}

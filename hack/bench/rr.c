// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rr - a small netperf-like TCP request/response benchmark.
 *
 *   rr server -p PORT [-B ADDR]
 *   rr client -H IP -p PORT -m rr|crr -t SECONDS [-P PARALLEL] [-w WARMUP]
 *             [-R] [-r RATE]
 *
 * The server is one epoll loop (run it pinned to one CPU) that echoes every
 * byte it reads back on the same connection, on as many connections as the
 * clients open; it runs until SIGINT/SIGTERM.
 *
 * The client runs PARALLEL threads, each doing transactions back to back:
 *   rr:  one TCP connection per thread; a transaction is a 1-byte request
 *        and its 1-byte response (netperf TCP_RR).
 *   crr: a transaction is socket, connect, 1-byte request, 1-byte
 *        response, close (netperf TCP_CRR).
 * Every transaction is timed with CLOCK_MONOTONIC. The first WARMUP seconds
 * (default 1) are run but not counted; a transaction counts when it
 * completes inside the SECONDS window that follows. It prints one line:
 *
 *   mode=rr rate=NNNN p50_us=.. p99_us=.. parallel=P secs=S txns=N errors=E
 *
 * rate is counted transactions per second over the window, p50/p99 the
 * per-transaction latency percentiles (log-linear histogram, < 0.8 % bucket
 * width), errors the CRR transactions that failed and were retried (e.g.
 * EADDRNOTAVAIL when the ephemeral ports run out).
 *
 * -r RATE paces CRR instead of running it back to back: RATE new
 * connections per second in all, each thread starting one every
 * PARALLEL/RATE seconds on a fixed schedule (open loop: a thread that falls
 * behind starts the next ones at once until it is back on time, so the
 * average holds while the machine can reach it; rate= says what it did).
 *
 * Closing in CRR: like netperf, the client closes normally (FIN), so the
 * client is the active closer and every transaction leaves one TIME_WAIT
 * socket in the client's network namespace. At 10-30k connections/s that
 * exhausts the default 28k ephemeral ports in about a second, so the
 * benchmark scripts run the client in its own netns with
 * net.ipv4.ip_local_port_range="1024 65535" and net.ipv4.tcp_tw_reuse=1
 * (reuse of a TIME_WAIT port for a new outgoing connection once its last
 * timestamp is tcp_tw_reuse_delay, 1 s, old): 64k ports / 1 s covers rates
 * far above what two cores reach. The server is the passive closer and keeps
 * no TIME_WAIT. -R instead closes with SO_LINGER {1, 0} (an RST, no
 * TIME_WAIT, no FIN exchange): not what netperf measures, and not even
 * faster here (about 10 % fewer transactions/s on kernel 6.18), so it is
 * not the default.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ULL

/*
 * Log-linear latency histogram in nanoseconds: values below 256 ns have a
 * bucket each; above, every power of two is split into 128 buckets, so a
 * bucket is at most 1/128 of its value wide.
 */
#define HIST_SUB_BITS 8
#define HIST_SUB (1U << HIST_SUB_BITS)
#define HIST_HALF (HIST_SUB / 2)
#define HIST_BUCKETS (HIST_SUB + (64 - HIST_SUB_BITS) * HIST_HALF)

struct hist {
	uint64_t n;
	uint64_t b[HIST_BUCKETS];
};

static unsigned int hist_index(uint64_t v)
{
	unsigned int msb, shift;

	if (v < HIST_SUB)
		return v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - HIST_SUB_BITS + 1;
	return HIST_SUB + (shift - 1) * HIST_HALF +
	       (unsigned int)((v >> shift) - HIST_HALF);
}

/* The middle of bucket i. */
static double hist_value(unsigned int i)
{
	unsigned int k, shift;
	uint64_t low;

	if (i < HIST_SUB)
		return i;
	k = i - HIST_SUB;
	shift = k / HIST_HALF + 1;
	low = (uint64_t)(HIST_HALF + k % HIST_HALF) << shift;
	return (double)low + (double)(1ULL << shift) / 2;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->n += src->n;
}

/* Nearest-rank percentile, in nanoseconds; 0 when empty. */
static double hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, cum = 0;
	unsigned int i;

	if (!h->n)
		return 0;
	rank = (uint64_t)(p * (double)h->n);
	if ((double)rank < p * (double)h->n)
		rank++;
	if (!rank)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rr server -p PORT [-B ADDR]\n"
		"       rr client -H IP -p PORT -m rr|crr -t SECONDS "
		"[-P PARALLEL] [-w WARMUP] [-R] [-r RATE]\n");
	exit(2);
}

/* --- server ------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Echo what is readable on fd; close it on EOF or error. Returns false when
 * the connection is gone (close() also removes it from the epoll set).
 */
static bool serve(int fd)
{
	char buf[4096];
	ssize_t n, w, off;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			for (off = 0; off < n; off += w) {
				w = write(fd, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR) {
					w = 0;
					continue;
				}
				if (w <= 0) {
					/*
					 * 1-byte responses never fill the
					 * send buffer; a client that pipelines
					 * megabytes without reading is not one
					 * of ours.
					 */
					close(fd);
					return false;
				}
			}
			if ((size_t)n < sizeof(buf))
				return true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		close(fd);
		return false;
	}
}

/* Accept every pending connection and add it to the epoll set. */
static void accept_all(int lfd, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int c;

	for (;;) {
		c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				perror("rr server: accept4, ignoring");
			return;
		}
		ev.data.fd = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c, &ev) < 0) {
			perror("rr server: epoll_ctl, ignoring");
			close(c);
			continue;
		}
		/*
		 * In CRR the request usually arrives with or right after the
		 * handshake: answer it now instead of after one more
		 * epoll_wait().
		 */
		serve(c);
	}
}

static int run_server(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[256];
	struct sigaction sact = { .sa_handler = on_signal };
	int opt, port = -1, lfd, epfd, n, i, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	while ((opt = getopt(argc, argv, "p:B:")) != -1) {
		switch (opt) {
		case 'p':
			port = parse_port(optarg);
			break;
		case 'B':
			if (inet_pton(AF_INET, optarg, &sa.sin_addr) != 1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (port < 0 || optind != argc)
		usage();
	sa.sin_port = htons((uint16_t)port);

	/* No SA_RESTART: a signal must interrupt epoll_wait(). */
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("rr server: socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		perror("rr server: bind/listen");
		return 1;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("rr server: epoll_create1");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("rr server: epoll_ctl");
		return 1;
	}

	while (!stop) {
		n = epoll_wait(epfd, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("rr server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd)
				accept_all(lfd, epfd);
			else
				serve(fd);
		}
	}
	close(epfd);
	close(lfd);
	return 0;
}

/* --- client ------------------------------------------------------------- */

enum mode { MODE_RR, MODE_CRR };

static struct sockaddr_in dst;
static enum mode mode;
static bool rst_close;
static uint64_t t_count_from, t_end;
static uint64_t pace_ns; /* -r: a thread's interval between connections */

struct worker {
	pthread_t thread;
	uint64_t errors;
	int fatal;		/* errno of the failure that stopped it */
	struct hist h;
};

static void count(struct worker *w, uint64_t t0, uint64_t t1)
{
	if (t1 >= t_count_from && t1 < t_end)
		hist_add(&w->h, t1 - t0);
}

static int xfer1(int fd)
{
	char c = 'r';
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return n < 0 ? -errno : -EIO;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return n < 0 ? -errno : -ECONNRESET;
	return 0;
}

static void *rr_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, t1;
	int fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		w->fatal = errno;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		w->fatal = errno;
		close(fd);
		return NULL;
	}
	t0 = now_ns();
	while (t0 < t_end) {
		err = xfer1(fd);
		if (err) {
			w->fatal = -err;
			break;
		}
		t1 = now_ns();
		count(w, t0, t1);
		t0 = t1;
	}
	close(fd);
	return NULL;
}

/* -r: sleep until the next connection is due (never when late). */
static void pace(uint64_t *next)
{
	struct timespec ts;
	uint64_t now = now_ns();

	if (!*next)
		*next = now;
	if (*next > now) {
		ts.tv_sec = (time_t)(*next / NSEC_PER_SEC);
		ts.tv_nsec = (long)(*next % NSEC_PER_SEC);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
	}
	*next += pace_ns;
}

static void *crr_worker(void *arg)
{
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct worker *w = arg;
	uint64_t t0, t1, next = 0;
	int fd, err;

	for (t0 = now_ns(); t0 < t_end; t0 = now_ns()) {
		if (pace_ns) {
			pace(&next);
			t0 = now_ns();
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			w->fatal = errno;
			break;
		}
		if (rst_close)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			err = -errno;
		else
			err = xfer1(fd);
		close(fd);
		if (err) {
			/*
			 * Out of ports, or a reset under load: count it and
			 * go on; the error count is in the output line.
			 */
			if (err == -EADDRNOTAVAIL || err == -ECONNRESET ||
			    err == -ECONNREFUSED || err == -ETIMEDOUT ||
			    err == -EINTR) {
				w->errors++;
				continue;
			}
			w->fatal = -err;
			break;
		}
		t1 = now_ns();
		count(w, t0, t1);
	}
	return NULL;
}

/* Wait up to 5 s for the server to accept connections. */
static int probe(void)
{
	uint64_t deadline = now_ns() + 5 * NSEC_PER_SEC;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int fd, err;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		err = connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ?
			-errno : xfer1(fd);
		close(fd);
		if (!err || now_ns() > deadline)
			return err;
		nanosleep(&pause, NULL);
	}
}

static void on_watchdog(int sig)
{
	static const char msg[] = "rr client: no progress, giving up\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static int run_client(int argc, char **argv)
{
	const char *host = NULL, *mstr = "rr";
	int opt, port = -1, par = 1, secs = 10, warm = 1, i, err, fatal = 0;
	struct hist *total;
	struct worker *ws;
	uint64_t errors = 0;
	double rate = 0;

	while ((opt = getopt(argc, argv, "H:p:m:t:P:w:Rr:")) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = parse_port(optarg);
			break;
		case 'm':
			mstr = optarg;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 'P':
			par = atoi(optarg);
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		case 'R':
			rst_close = true;
			break;
		case 'r':
			rate = atof(optarg);
			if (rate <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!host || port < 0 || secs < 1 || par < 1 || par > 1024 ||
	    warm < 0 || optind != argc)
		usage();
	if (!strcmp(mstr, "rr"))
		mode = MODE_RR;
	else if (!strcmp(mstr, "crr"))
		mode = MODE_CRR;
	else
		usage();
	if (rate > 0) {
		if (mode != MODE_CRR)
			usage();
		pace_ns = (uint64_t)((double)par * NSEC_PER_SEC / rate);
		/* Sleeps of tens of microseconds must not take 50 more. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
		fprintf(stderr, "rr client: bad IPv4 address %s\n", host);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	err = probe();
	if (err) {
		fprintf(stderr, "rr client: %s:%d: %s\n", host, port,
			strerror(-err));
		return 1;
	}

	ws = calloc((size_t)par, sizeof(*ws));
	total = calloc(1, sizeof(*total));
	if (!ws || !total) {
		perror("rr client: calloc");
		return 1;
	}
	signal(SIGALRM, on_watchdog);
	alarm((unsigned int)(warm + secs + 15));

	t_count_from = now_ns() + (uint64_t)warm * NSEC_PER_SEC;
	t_end = t_count_from + (uint64_t)secs * NSEC_PER_SEC;
	for (i = 0; i < par; i++) {
		err = pthread_create(&ws[i].thread, NULL,
				     mode == MODE_RR ? rr_worker : crr_worker,
				     &ws[i]);
		if (err) {
			fprintf(stderr, "rr client: pthread_create: %s\n",
				strerror(err));
			return 1;
		}
	}
	for (i = 0; i < par; i++) {
		pthread_join(ws[i].thread, NULL);
		hist_merge(total, &ws[i].h);
		errors += ws[i].errors;
		if (ws[i].fatal) {
			fprintf(stderr, "rr client: worker %d: %s\n", i,
				strerror(ws[i].fatal));
			fatal = 1;
		}
	}
	alarm(0);

	printf("mode=%s rate=%.0f p50_us=%.1f p99_us=%.1f parallel=%d secs=%d "
	       "txns=%llu errors=%llu\n",
	       mstr, (double)total->n / secs,
	       hist_percentile(total, 0.50) / 1000,
	       hist_percentile(total, 0.99) / 1000, par, secs,
	       (unsigned long long)total->n, (unsigned long long)errors);
	fflush(stdout);
	if (!total->n)
		fatal = 1;
	free(total);
	free(ws);
	return fatal;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return run_server(argc - 1, argv + 1);
	if (!strcmp(argv[1], "client"))
		return run_client(argc - 1, argv + 1);
	usage();
	return 2;
}

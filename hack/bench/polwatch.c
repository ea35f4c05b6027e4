// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * polwatch: time from a NetworkPolicy write to its enforcement.
 *
 *   polwatch probe -H IP -p PORT [-n NETNS] [-T TIMEOUT_MS]
 *   polwatch flip  [-H IP] -p PORT [-n NETNS] [-i INTERVAL_US]
 *                  [-T TIMEOUT_MS] [-s SPORT]
 *                  [-m PINNED_SL_POLICY -e EP_IP -I IDENTITY]
 *                  (-r SRC DST | -u http://A.B.C.D:PORT/PATH -f FILE)
 *
 * probe: one TCP connection attempt to IP:PORT from the network namespace
 * NETNS (a path such as /run/netns/X; default the current one); prints
 * "allow" when it connects, "deny" when it is refused or nothing answers
 * within TIMEOUT_MS (default 100).
 *
 * flip: the write is either rename(SRC, DST) (a manifest replaced in the
 * agent's folder) or an HTTP POST of FILE to URL (sl-fakeapi's control
 * port, connected beforehand; the URL is reached from the namespace
 * polwatch starts in). Two observers run meanwhile, each optional:
 *
 *   - connections (-H): from NETNS, a new non-blocking connect() to
 *     IP:PORT every INTERVAL_US (default 1000), each from its own source
 *     port (SPORT, SPORT+1, ... within 10000-59999, so no 5-tuple meets
 *     conntrack state of an earlier probe), judged as above and closed
 *     with an RST. Before the write, probes run until 20 in a row agree
 *     (the old outcome; exit 3 if they do not within 2 s). After it, the
 *     enforcement time is the start of the first probe of the run of new
 *     outcomes that ends the trial: 20 in a row, every earlier probe
 *     judged, so a probe slowed past TIMEOUT_MS by a busy machine does not
 *     pass for the change.
 *   - the map (-m): the pinned sl_policy LPM trie looked up every 50 us
 *     for (EP_IP, ingress, TCP, IDENTITY, PORT); the time is the first
 *     lookup whose presence differs from before the write.
 *
 * Times are from just before the rename or the POST's first byte
 * (CLOCK_MONOTONIC). One line:
 *
 *   old=deny new=allow conn_us=812 map_us=640 write_us=35 probes=233
 *   sport=10233
 *
 * write_us is the write itself (the rename, or the POST until its 200
 * answer); "-" for an observer not run; sport the next free source port.
 * Exit 1 when nothing changed within 10 s, 2 on a usage or setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sluice/policy.h>

#define MAX_PROBES 20000
#define STABLE 20		/* probes in a row that settle an outcome */
#define GIVE_UP_US 10000000	/* after the write */
#define BASELINE_US 2000000
#define MAP_POLL_NS 50000
#define SPORT_LO 10000
#define SPORT_HI 60000

enum outcome { PENDING, ALLOW, DENY };

struct probe {
	int64_t start;	/* us */
	int fd;		/* -1 once judged */
	enum outcome out;
};

static struct probe probes[MAX_PROBES];
static int n_probes;
static struct sockaddr_in dst;
static unsigned int sport = SPORT_LO;
static int64_t timeout_us = 100000;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

static const char *outcome_name(enum outcome o)
{
	return o == ALLOW ? "allow" : o == DENY ? "deny" : "pending";
}

/* A non-blocking connect() from the next source port; returns the socket
 * or -errno. */
static int probe_start(void)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd, one = 1, tries;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	for (tries = 0; tries < 16; tries++) {
		src.sin_port = htons(sport);
		sport = sport + 1 < SPORT_HI ? sport + 1 : SPORT_LO;
		if (!bind(fd, (struct sockaddr *)&src, sizeof(src)))
			break;
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void probe_judge(struct probe *p, enum outcome out)
{
	static const struct linger rst = { .l_onoff = 1, .l_linger = 0 };

	if (out == ALLOW)
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	close(p->fd);
	p->fd = -1;
	p->out = out;
}

/* Judge what answered (or timed out) among probes [from, n_probes),
 * waiting at most wait_ns for an answer. */
static void probes_poll(int from, long wait_ns)
{
	struct pollfd pfd[256];
	int idx[256], n = 0, i, err;
	socklen_t len = sizeof(err);
	struct timespec ts = { 0, wait_ns > 0 ? wait_ns : 0 };
	int64_t now = now_us();

	for (i = from; i < n_probes && n < 256; i++) {
		if (probes[i].fd < 0)
			continue;
		if (now - probes[i].start > timeout_us) {
			probe_judge(&probes[i], DENY);
			continue;
		}
		pfd[n] = (struct pollfd){ .fd = probes[i].fd, .events = POLLOUT };
		idx[n++] = i;
	}
	if (ppoll(pfd, (nfds_t)n, &ts, NULL) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		err = 0;
		getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
		probe_judge(&probes[idx[i]], err ? DENY : ALLOW);
	}
}

static int probe_add(int64_t now)
{
	int fd;

	if (n_probes == MAX_PROBES)
		return -ENOSPC;
	fd = probe_start();
	if (fd < 0) /* e.g. EHOSTUNREACH at once: a denial */
		probes[n_probes] = (struct probe){ now, -1, DENY };
	else
		probes[n_probes] = (struct probe){ now, fd, PENDING };
	n_probes++;
	return 0;
}

/* Start a probe when its time has come (*next, then INTERVAL later; a
 * late one does not make the next come sooner) and say how long until
 * the next one, in ns. */
static long probe_tick(int64_t now, int64_t *next, int64_t interval)
{
	if (now >= *next && probe_add(now) == 0)
		*next = *next + interval > now ? *next + interval : now + interval;
	return (long)(*next - now) * 1000;
}

/*
 * The settled outcome of probes [from, n_probes): when every one is judged
 * up to the last STABLE, which agree, that outcome, and in *first the
 * index where its final run starts; PENDING otherwise.
 */
static enum outcome settled(int from, int *first)
{
	int i, end = from;
	enum outcome last;

	while (end < n_probes && probes[end].out != PENDING)
		end++;
	if (end - from < STABLE)
		return PENDING;
	last = probes[end - 1].out;
	for (i = end - 1; i > from && probes[i - 1].out == last; i--)
		;
	if (end - i < STABLE)
		return PENDING;
	*first = i;
	return last;
}

/* --- the write, in its own thread (in the namespace polwatch started in) */

struct action {
	const char *src, *dst;	/* rename */
	const char *body;	/* POST */
	size_t body_len;
	char host[64], path[256];
	int fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool go, done;
	int err;
	int64_t t0, t1;
};

static int http_connect(struct action *a, const char *url)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned int port;
	char ip[32];
	int n = 0;

	if (sscanf(url, "http://%31[0-9.]:%u%n", ip, &port, &n) != 2 || !n ||
	    inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	snprintf(a->host, sizeof(a->host), "%s:%u", ip, port);
	snprintf(a->path, sizeof(a->path), "%s", url[n] ? url + n : "/");
	sa.sin_port = htons((uint16_t)port);
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0 || connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

static int http_post(struct action *a)
{
	char head[512], resp[256];
	size_t got = 0;
	ssize_t n;
	int len;

	len = snprintf(head, sizeof(head),
		       "POST %s HTTP/1.1\r\nHost: %s\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		       a->path, a->host, a->body_len);
	if (write(a->fd, head, (size_t)len) != len ||
	    write(a->fd, a->body, a->body_len) != (ssize_t)a->body_len)
		return -EIO;
	while (got < sizeof(resp) - 1 &&
	       (n = read(a->fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	return strncmp(resp, "HTTP/1.1 200", 12) ? -EPROTO : 0;
}

static void *action_main(void *arg)
{
	struct action *a = arg;

	pthread_mutex_lock(&a->mu);
	while (!a->go)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
	a->t0 = now_us();
	if (a->src)
		a->err = rename(a->src, a->dst) ? -errno : 0;
	else
		a->err = http_post(a);
	a->t1 = now_us();
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* --- main -------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
		"usage: polwatch probe -H IP -p PORT [-n NETNS] [-T MS]\n"
		"       polwatch flip [-H IP] -p PORT [-n NETNS] [-i US] [-T MS]"
		" [-s SPORT]\n"
		"                [-m SL_POLICY -e EP_IP -I IDENTITY]\n"
		"                (-r SRC DST | -u URL -f FILE)\n");
	return 2;
}

/* " NAME=us" since t0, "-" for an observer not run, "timeout". */
static void print_us(const char *name, const void *run, int64_t t, int64_t t0)
{
	if (!run)
		printf(" %s=-", name);
	else if (t < 0)
		printf(" %s=timeout", name);
	else
		printf(" %s=%lld", name, (long long)(t - t0));
}

static int map_has(int fd, const struct sl_policy_key *k)
{
	struct sl_policy_val v;

	return bpf_map_lookup_elem(fd, k, &v) == 0;
}

int main(int argc, char **argv)
{
	const char *host = NULL, *netns = NULL, *map = NULL, *ep = NULL;
	const char *url = NULL, *file = NULL;
	struct sl_policy_key key = {
		.prefixlen = SL_POLICY_FIXED_BITS + 16,
		.dir = SL_POLICY_INGRESS,
		.proto = IPPROTO_TCP,
	};
	struct action a = { .fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER,
			    .cv = PTHREAD_COND_INITIALIZER };
	int64_t interval = 1000, next, base_t, map_t = -1, conn_t = -1, now;
	int opt, mfd = -1, nsfd = -1, base_from = 0, first = 0;
	bool flip, map_old = false;
	enum outcome old = PENDING, cur;
	unsigned long port = 0;
	pthread_t thr;

	if (argc < 2)
		return usage();
	flip = !strcmp(argv[1], "flip");
	if (!flip && strcmp(argv[1], "probe"))
		return usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "H:p:n:i:T:s:m:e:I:r:u:f:")) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			netns = optarg;
			break;
		case 'i':
			interval = atoll(optarg);
			break;
		case 'T':
			timeout_us = atoll(optarg) * 1000;
			break;
		case 's':
			sport = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			map = optarg;
			break;
		case 'e':
			ep = optarg;
			break;
		case 'I':
			key.identity = (__u32)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			if (optind >= argc)
				return usage();
			a.src = optarg;
			a.dst = argv[optind++];
			break;
		case 'u':
			url = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			return usage();
		}
	}
	if (!port || port > 65535 || interval <= 0 || timeout_us <= 0 ||
	    (!host && !flip) || (flip && !a.src == !url) || (url && !file) ||
	    (map && (!ep || !key.identity)))
		return usage();
	if (sport < SPORT_LO || sport >= SPORT_HI)
		sport = SPORT_LO;
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (host && inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return usage();

	if (url) {
		if (!(a.body = slurp(file, &a.body_len))) {
			perror("polwatch: the file to POST");
			return 2;
		}
		if (http_connect(&a, url)) {
			perror("polwatch: connect to the URL");
			return 2;
		}
	}
	if (map) {
		key.dport = htons((uint16_t)port);
		mfd = bpf_obj_get(map);
		if (mfd < 0 || inet_pton(AF_INET, ep, &key.ep) != 1) {
			perror("polwatch: the map or the endpoint");
			return 2;
		}
		map_old = map_has(mfd, &key);
	}
	/* The writer keeps this namespace; only this thread moves. */
	if (flip && pthread_create(&thr, NULL, action_main, &a)) {
		fprintf(stderr, "polwatch: pthread_create failed\n");
		return 2;
	}
	if (netns) {
		nsfd = open(netns, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
			perror("polwatch: setns");
			return 2;
		}
	}

	if (!flip) {
		probe_add(now_us());
		while (probes[0].out == PENDING)
			probes_poll(0, 1000000);
		printf("%s\n", outcome_name(probes[0].out));
		return 0;
	}

	/* The old outcome: STABLE probes in a row agree. */
	base_t = next = now_us();
	while (host) {
		now = now_us();
		if (now - base_t > BASELINE_US + timeout_us) {
			fprintf(stderr, "polwatch: no steady outcome before the write\n");
			return 3;
		}
		probes_poll(base_from, probe_tick(now, &next, interval));
		old = settled(base_from, &first);
		if (old != PENDING)
			break;
	}
	base_from = n_probes;

	pthread_mutex_lock(&a.mu);
	a.go = true;
	pthread_cond_signal(&a.cv);
	pthread_mutex_unlock(&a.mu);
	while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE) && !host && !map)
		sched_yield();
	next = now_us();
	for (;;) {
		bool done = __atomic_load_n(&a.done, __ATOMIC_ACQUIRE);

		now = now_us();
		if (done && a.err) {
			fprintf(stderr, "polwatch: the write failed: %s\n",
				strerror(-a.err));
			return 2;
		}
		if (map && map_t < 0 && map_has(mfd, &key) != map_old)
			map_t = now_us();
		if (host && conn_t < 0) {
			long wait = probe_tick(now, &next, interval);

			if (map && map_t < 0 && wait > MAP_POLL_NS)
				wait = MAP_POLL_NS;
			probes_poll(base_from, wait);
			cur = settled(base_from, &first);
			if (done && cur != PENDING && cur != old)
				conn_t = probes[first].start;
		} else if (map_t < 0) {
			struct timespec ts = { 0, MAP_POLL_NS };

			nanosleep(&ts, NULL);
		}
		if (done && (!host || conn_t >= 0) && (!map || map_t >= 0))
			break;
		if (done && now - a.t0 > GIVE_UP_US)
			break;
	}
	pthread_join(thr, NULL);
	/* Leave no probe half open. */
	for (int i = 0; i < n_probes; i++)
		if (probes[i].fd >= 0)
			close(probes[i].fd);

	printf("old=%s new=%s", host ? outcome_name(old) : "-",
	       host ? outcome_name(old == ALLOW ? DENY : ALLOW) : "-");
	print_us("conn_us", host, conn_t, a.t0);
	print_us("map_us", map, map_t, a.t0);
	printf(" map_old=%s write_us=%lld probes=%d sport=%u\n",
	       map ? (map_old ? "present" : "absent") : "-",
	       (long long)(a.t1 - a.t0), n_probes, sport);
	return (host && conn_t < 0) || (map && map_t < 0) ? 1 : 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mapwatch: time from an action to the datapath seeing its effect.
 *
 *   mapwatch PINNED_SL_ENDPOINTS IP TIMEOUT_MS -- CMD [ARG...]
 *
 * Reads the identity of IP in the pinned sl_endpoints map, runs CMD (e.g.
 * a "mv" that replaces a manifest), then polls the entry every 50 us until
 * its identity differs, and prints "us=N identity=OLD->NEW". Exit 1 on
 * timeout.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/endpoint.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct sl_endpoint_key key = {};
	struct sl_endpoint ep;
	long long t0, deadline;
	__u32 before;
	int fd, status;
	pid_t pid;

	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr, "usage: mapwatch MAP IP TIMEOUT_MS -- CMD...\n");
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0 || inet_pton(AF_INET, argv[2], &key.ip4) != 1 ||
	    bpf_map_lookup_elem(fd, &key, &ep) < 0) {
		perror("mapwatch: map or entry");
		return 2;
	}
	before = ep.identity;
	t0 = now_us();
	deadline = t0 + atoll(argv[3]) * 1000;
	pid = fork();
	if (pid == 0) {
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "mapwatch: the command failed\n");
		return 2;
	}
	while (now_us() < deadline) {
		if (bpf_map_lookup_elem(fd, &key, &ep) == 0 &&
		    ep.identity != before) {
			printf("us=%lld identity=%u->%u\n", now_us() - t0, before,
			       ep.identity);
			return 0;
		}
		usleep(50);
	}
	printf("us=timeout identity=%u\n", before);
	return 1;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cnitime - run a CNI plugin binary the way libcni's exec invoker does and
 * time each invocation.
 *
 *   cnitime -x PLUGIN -j JOBS -o TIMES [-c CONCURRENCY]
 *
 * JOBS has one invocation per line, fields separated by tabs:
 *
 *   STDIN_FILE <tab> STDOUT_FILE <tab> VAR=VALUE <tab> VAR=VALUE ...
 *
 * Each job runs PLUGIN with stdin from STDIN_FILE (the network config, as
 * libcni builds it), stdout to STDOUT_FILE (the result or the error JSON),
 * stderr inherited, and this process's environment minus any CNI_* variable
 * plus the job's VAR=VALUE pairs (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
 * CNI_IFNAME, CNI_ARGS, CNI_PATH). Up to CONCURRENCY (default 1) jobs run at
 * once, started in file order.
 *
 * A job's time is CLOCK_MONOTONIC from just before posix_spawn() (clone with
 * CLONE_VFORK, as Go's os/exec does) to waitpid() returning for it, so it is
 * the plugin's own cost plus one process start, without the runtime's. TIMES
 * gets one line per job, in job order: "INDEX NANOSECONDS EXIT_STATUS"
 * (EXIT_STATUS is 128+N for a signal N). The exit code is 0 when every job
 * exited 0, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct job {
	char *in, *out;
	char **envp;
	pid_t pid;
	uint64_t start, ns;
	int status;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: cnitime -x PLUGIN -j JOBS -o TIMES "
			"[-c CONCURRENCY]\n");
	exit(2);
}

static void on_watchdog(int sig)
{
	static const char msg[] = "cnitime: timed out, giving up\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* Split one tab-separated line into a job; the line's memory is kept. */
static int parse_job(char *line, struct job *j)
{
	size_t nenv = 0, nvar = 0, i;
	char *f, *save = NULL;
	char **vars;

	for (i = 0; line[i]; i++)
		if (line[i] == '\t')
			nvar++;
	vars = calloc(nvar + 1, sizeof(*vars));
	if (!vars)
		return -ENOMEM;
	j->in = strtok_r(line, "\t", &save);
	j->out = strtok_r(NULL, "\t", &save);
	if (!j->in || !j->out) {
		free(vars);
		return -EINVAL;
	}
	nvar = 0;
	while ((f = strtok_r(NULL, "\t", &save)))
		vars[nvar++] = f;

	while (environ[nenv])
		nenv++;
	j->envp = calloc(nenv + nvar + 1, sizeof(char *));
	if (!j->envp) {
		free(vars);
		return -ENOMEM;
	}
	nenv = 0;
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "CNI_", 4))
			j->envp[nenv++] = environ[i];
	for (i = 0; i < nvar; i++)
		j->envp[nenv++] = vars[i];
	free(vars);
	return 0;
}

static int spawn(const char *plugin, struct job *j)
{
	char *argv[] = { (char *)plugin, NULL };
	posix_spawn_file_actions_t fa;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, j->in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, j->out,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	j->start = now_ns();
	err = posix_spawn(&j->pid, plugin, &fa, NULL, argv, j->envp);
	posix_spawn_file_actions_destroy(&fa);
	return -err;
}

int main(int argc, char **argv)
{
	const char *plugin = NULL, *jobs_path = NULL, *times_path = NULL;
	int opt, conc = 1, running = 0, failed = 0, err;
	size_t njobs = 0, cap = 0, next = 0, i;
	struct job *jobs = NULL;
	char *line = NULL;
	size_t len = 0;
	ssize_t n;
	FILE *f;

	while ((opt = getopt(argc, argv, "x:j:o:c:")) != -1) {
		switch (opt) {
		case 'x':
			plugin = optarg;
			break;
		case 'j':
			jobs_path = optarg;
			break;
		case 'o':
			times_path = optarg;
			break;
		case 'c':
			conc = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!plugin || !jobs_path || !times_path || conc < 1 || optind != argc)
		usage();

	f = fopen(jobs_path, "r");
	if (!f) {
		perror(jobs_path);
		return 1;
	}
	while ((n = getline(&line, &len, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n)
			continue;
		if (njobs == cap) {
			cap = cap ? cap * 2 : 64;
			jobs = realloc(jobs, cap * sizeof(*jobs));
			if (!jobs) {
				perror("cnitime: realloc");
				return 1;
			}
		}
		memset(&jobs[njobs], 0, sizeof(*jobs));
		err = parse_job(line, &jobs[njobs]);
		if (err) {
			fprintf(stderr, "cnitime: %s:%zu: %s\n", jobs_path,
				njobs + 1, strerror(-err));
			return 1;
		}
		njobs++;
		line = NULL;	/* the job keeps pointers into it */
		len = 0;
	}
	fclose(f);

	signal(SIGALRM, on_watchdog);
	alarm(900);

	while (next < njobs || running) {
		while (running < conc && next < njobs) {
			err = spawn(plugin, &jobs[next]);
			if (err) {
				fprintf(stderr, "cnitime: %s: %s\n", plugin,
					strerror(-err));
				return 1;
			}
			next++;
			running++;
		}
		{
			int status;
			pid_t pid = waitpid(-1, &status, 0);
			uint64_t t = now_ns();

			if (pid < 0) {
				if (errno == EINTR)
					continue;
				perror("cnitime: waitpid");
				return 1;
			}
			for (i = 0; i < next; i++) {
				if (jobs[i].pid != pid)
					continue;
				jobs[i].ns = t - jobs[i].start;
				jobs[i].status = WIFEXITED(status) ?
					WEXITSTATUS(status) :
					128 + WTERMSIG(status);
				jobs[i].pid = 0;
				if (jobs[i].status)
					failed = 1;
				running--;
				break;
			}
		}
	}
	alarm(0);

	f = fopen(times_path, "w");
	if (!f) {
		perror(times_path);
		return 1;
	}
	for (i = 0; i < njobs; i++)
		fprintf(f, "%zu %llu %d\n", i, (unsigned long long)jobs[i].ns,
			jobs[i].status);
	if (fclose(f)) {
		perror(times_path);
		return 1;
	}
	return failed;
}

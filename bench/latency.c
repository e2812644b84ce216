/*
 * latency.c - the `logship tail` benchmarks of `make bench` that need a
 * clock closer than bash's: run.sh compiles it with cc -O2.
 *
 *   bench-latency latency COUNT PAUSE_MS FILE -- CMD...
 *	Starts CMD (`logship tail -o tsv --fields message FILE`) with a pipe
 *	on its stdout, waits until it follows FILE (warm-up lines until one
 *	comes out), then COUNT times: appends one line holding a sequence
 *	number and the CLOCK_MONOTONIC time to FILE with one write(), reads
 *	the pipe until that line comes out and records the delay; pauses
 *	PAUSE_MS between writes. Prints
 *	    "latency N MEDIAN_MS P99_MS MAX_MS MIN_MS"
 *	or "error MESSAGE" (exit 1) when a line does not come out in 5 s.
 *
 *   bench-latency count EXPECT [--append SRC DST CHUNK] -- CMD...
 *	Starts CMD with a pipe on its stdout and counts the lines it prints
 *	until EXPECT lines (then SIGTERM, the rest drained) or the end of its
 *	output. With --append, a writer process appends SRC to DST (which
 *	must exist) in CHUNK-byte write()s at full speed, started with CMD.
 *	The clock runs from just before CMD starts. Prints
 *	    "count LINES SECONDS EXTRA WRITER_SECONDS STATUS RSS_KIB CPU_SECONDS"
 *	(EXTRA: lines after the EXPECT-th, WRITER_SECONDS: how long the
 *	appends took, 0 without --append; STATUS: CMD's exit status, or
 *	128+signal; RSS_KIB and CPU_SECONDS: CMD's peak RSS and user + system
 *	time, to its exit). 30 s without output before EXPECT lines is an
 *	error ("error MESSAGE" naming DST's size, exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void die(const char *fmt, const char *arg)
{
	printf("error ");
	printf(fmt, arg);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* Starts argv with its stdout on a pipe; returns the read end. */
static int spawn(char **argv, pid_t *pid)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	*pid = fork();
	if (*pid < 0)
		die("fork: %s", strerror(errno));
	if (*pid == 0) {
		dup2(p[1], 1);
		execvp(argv[0], argv);
		fprintf(stderr, "bench-latency: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	return p[0];
}

/* SIGTERM to pid, then its exit status (128+signal when killed); *rss_kib:
 * its peak RSS, *cpu_s: its user + system time (NULL: not wanted). */
static int stop_rss(pid_t pid, long *rss_kib, double *cpu_s)
{
	struct rusage ru;
	int status;

	kill(pid, SIGTERM);
	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	if (rss_kib)
		*rss_kib = ru.ru_maxrss;
	if (cpu_s)
		*cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int stop(pid_t pid)
{
	return stop_rss(pid, NULL, NULL);
}

/* ---- lines from the pipe ------------------------------------------------ */

struct lines {
	int fd;
	char buf[1 << 16];
	size_t len, pos; /* buf[pos..len) not yet returned */
	int eof;
};

/* The next whole line (NUL-terminated, without '\n'), waiting at most
 * timeout_ms (-1: forever) for it. NULL on time-out or at the end. */
static char *next_line(struct lines *l, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		char *nl = memchr(l->buf + l->pos, '\n', l->len - l->pos);
		if (nl) {
			char *line = l->buf + l->pos;
			*nl = '\0';
			l->pos = (size_t)(nl - l->buf) + 1;
			return line;
		}
		if (l->eof)
			return NULL;
		if (l->pos > 0) {
			memmove(l->buf, l->buf + l->pos, l->len - l->pos);
			l->len -= l->pos;
			l->pos = 0;
		}
		if (l->len == sizeof(l->buf))
			l->len = 0; /* an absurdly long line: drop it */
		struct pollfd pfd = { l->fd, POLLIN, 0 };
		int wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ns();
			if (left <= 0)
				return NULL;
			wait = (int)((left + 999999) / 1000000);
		}
		int n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue; /* the deadline check above ends it */
		ssize_t got = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			l->eof = 1;
		else
			l->len += (size_t)got;
	}
}

/* ---- latency ------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int append_line(int fd, const char *s)
{
	size_t len = strlen(s);

	return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

static int run_latency(int count, int pause_ms, const char *file, char **argv)
{
	static struct lines l;
	int64_t *delay = calloc((size_t)count, sizeof(*delay));
	char want[64], line[128];
	pid_t pid;
	int fd, i, ready = 0;

	if (!delay)
		die("%s", "out of memory");
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create the file: %s", strerror(errno));
	l.fd = spawn(argv, &pid);

	/* until it follows the file: a warm-up line every 20 ms, 10 s at most */
	for (i = 0; i < 500 && !ready; i++) {
		char *got;
		snprintf(line, sizeof(line), "warmup %d\n", i);
		if (append_line(fd, line) < 0)
			die("write: %s", strerror(errno));
		while ((got = next_line(&l, 20)) != NULL)
			if (strncmp(got, "warmup ", 7) == 0)
				ready = 1;
		if (l.eof)
			break;
	}
	if (!ready) {
		stop(pid);
		die("%s", "the command printed no warm-up line in 10 s");
	}
	/* what the warm-up still has in flight */
	while (next_line(&l, 100) != NULL)
		;

	for (i = 0; i < count; i++) {
		int64_t t0 = now_ns(), t1;
		char *got;

		snprintf(want, sizeof(want), "latency seq=%d ", i);
		snprintf(line, sizeof(line), "%smono=%lld.%09lld\n", want,
			 (long long)(t0 / 1000000000), (long long)(t0 % 1000000000));
		if (append_line(fd, line) < 0) {
			stop(pid);
			die("write: %s", strerror(errno));
		}
		for (;;) {
			got = next_line(&l, 5000);
			if (!got) {
				stop(pid);
				snprintf(line, sizeof(line), "line %d did not come out in 5 s", i);
				die("%s", line);
			}
			if (strncmp(got, want, strlen(want)) == 0)
				break;
		}
		t1 = now_ns();
		delay[i] = t1 - t0;
		if (pause_ms > 0)
			sleep_ms(pause_ms);
	}
	stop(pid);
	close(fd);

	qsort(delay, (size_t)count, sizeof(*delay), cmp_i64);
	{
		double med = count % 2 ? (double)delay[count / 2]
				       : ((double)delay[count / 2 - 1] + (double)delay[count / 2]) / 2;
		/* nearest rank */
		int k = (int)((99LL * count + 99) / 100) - 1;
		printf("latency %d %.3f %.3f %.3f %.3f\n", count, med / 1e6, (double)delay[k] / 1e6,
		       (double)delay[count - 1] / 1e6, (double)delay[0] / 1e6);
	}
	free(delay);
	return 0;
}

/* ---- line counts -------------------------------------------------------- */

/* The writer: SRC appended to DST in chunk-byte writes. Exits 0 or 1. */
static void writer(const char *src, const char *dst, size_t chunk)
{
	char *buf = malloc(chunk);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_APPEND | O_CLOEXEC);
	ssize_t n;

	if (!buf || in < 0 || out < 0)
		_exit(1);
	while ((n = read(in, buf, chunk)) > 0) {
		ssize_t off = 0;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				_exit(1);
			off += w;
		}
	}
	_exit(n < 0 ? 1 : 0);
}

static int run_count(long long expect, const char *src, const char *dst, size_t chunk,
		     char **argv)
{
	static char buf[1 << 17];
	long long lines = 0, extra = 0;
	int64_t t0, t_done = 0, t_writer = 0;
	pid_t pid, wpid = -1;
	int fd, status, rc, wrc = 0;
	long rss = 0;
	double cpu = 0;

	t0 = now_ns();
	fd = spawn(argv, &pid);
	if (src) {
		wpid = fork();
		if (wpid < 0)
			die("fork: %s", strerror(errno));
		if (wpid == 0) {
			close(fd);
			writer(src, dst, chunk);
		}
	}
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int n = poll(&pfd, 1, t_done ? 2000 : 30000);
		ssize_t got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			if (t_done) {
				/* SIGTERM did not end it in 2 s */
				kill(pid, SIGKILL);
				break;
			}
			if (wpid > 0)
				kill(wpid, SIGKILL);
			stop(pid);
			struct stat st;
			printf("error no output for 30 s after %lld lines", lines);
			if (dst && stat(dst, &st) == 0)
				printf(" (%s: %lld bytes)", dst, (long long)st.st_size);
			printf("\n");
			return 1;
		}
		got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (char *p = buf, *end = buf + got; (p = memchr(p, '\n', (size_t)(end - p))); p++) {
			if (t_done)
				extra++;
			else if (++lines == expect) {
				t_done = now_ns();
				kill(pid, SIGTERM);
			}
		}
		if (wpid > 0 && !t_writer && waitpid(wpid, &status, WNOHANG) == wpid) {
			t_writer = now_ns();
			wrc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			wpid = -1;
		}
	}
	if (!t_done)
		t_done = now_ns();
	if (wpid > 0) {
		waitpid(wpid, &status, 0);
		t_writer = now_ns(); /* an upper bound: noticed at the end */
		wrc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	rc = stop_rss(pid, &rss, &cpu);
	if (wrc) {
		printf("error the writer failed\n");
		return 1;
	}
	printf("count %lld %.3f %lld %.3f %d %ld %.3f\n", lines, (double)(t_done - t0) / 1e9, extra,
	       t_writer ? (double)(t_writer - t0) / 1e9 : 0.0, rc, rss, cpu);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: bench-latency latency COUNT PAUSE_MS FILE -- CMD...\n"
			"       bench-latency count EXPECT [--append SRC DST CHUNK] -- CMD...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "latency") == 0) {
		if (argc < 7 || strcmp(argv[5], "--") != 0)
			usage();
		int count = atoi(argv[2]);
		if (count < 1)
			usage();
		return run_latency(count, atoi(argv[3]), argv[4], argv + 6);
	}
	if (strcmp(argv[1], "count") == 0) {
		const char *src = NULL, *dst = NULL;
		size_t chunk = 0;
		if (argc < 5)
			usage();
		long long expect = atoll(argv[2]);
		i = 3;
		if (strcmp(argv[i], "--append") == 0) {
			if (argc < i + 5)
				usage();
			src = argv[i + 1];
			dst = argv[i + 2];
			chunk = (size_t)atoll(argv[i + 3]);
			if (chunk < 1)
				usage();
			i += 4;
		}
		if (strcmp(argv[i], "--") != 0 || i + 1 >= argc)
			usage();
		return run_count(expect, src, dst, chunk, argv + i + 1);
	}
	usage();
	return 2;
}

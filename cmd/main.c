/* main.c - the subcommand table, --help, --version and `help SUB`. */
#include "commands.h"
#include "opts.h"
#include "progress.h"

#include "../parsers/timestamp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*help)(void);
	const struct ls_opt *(*options)(void);
	const char *summary; /* NULL: hidden from --help and suggestions */
};

static const struct subcommand subcommands[] = {
	{"parse", cmd_parse, cmd_parse_help, cmd_parse_options,
	 "parse log files or stdin into structured events"},
	{"tail", cmd_tail, cmd_tail_help, cmd_tail_options,
	 "follow files or the journal like tail -F, printing events"},
	{"ship", cmd_ship, cmd_ship_help, cmd_ship_options,
	 "deliver events to a sink, checkpointed, with retries"},
	{"status", cmd_status, cmd_status_help, cmd_status_options,
	 "show checkpoints, lag, sink counters and dead letters"},
	{"patterns", cmd_patterns, cmd_patterns_help, cmd_patterns_options,
	 "list, show and test the formats and security rules"},
	/* prints the shell completion scripts (make completions) */
	{"completion", cmd_completion, cmd_completion_help, NULL, NULL},
	{NULL, NULL, NULL, NULL, NULL}
};

int ls_subcommand_at(int i, struct ls_subcommand_info *info)
{
	for (const struct subcommand *s = subcommands; s->name; s++) {
		if (!s->summary || i-- > 0)
			continue;
		*info = (struct ls_subcommand_info){s->name, s->summary, s->options()};
		return 0;
	}
	return -1;
}

int ls_now_ms(int64_t *now)
{
	const char *env = getenv("LOGSHIP_NOW");
	struct timespec tv;
	struct ls_tsctx ctx;

	if (env && *env) {
		if (ls_ts_init(&ctx, 0, NULL) < 0 || ls_ts_parse(&ctx, env, strlen(env), now) < 0) {
			ls_die_msg(NULL, "LOGSHIP_NOW='%s' is not an RFC 3339 time", env);
			return -1;
		}
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &tv);
	*now = (int64_t)tv.tv_sec * 1000 + tv.tv_nsec / 1000000;
	return 0;
}

void ls_warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	ls_progress_erase();
	fprintf(stderr, "logship: warning: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: logship <command> [options] [args]\n\n"
		   "logship parses, tails and ships log files, tagging security events.\n\n"
		   "commands:\n");
	for (const struct subcommand *s = subcommands; s->name; s++)
		if (s->summary)
			fprintf(f, "  %-10s %s\n", s->name, s->summary);
	fprintf(f, "\n'logship help COMMAND' or 'logship COMMAND --help' lists a "
		   "command's options.\n");
}

static const struct subcommand *find(const char *name)
{
	for (const struct subcommand *s = subcommands; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static int unknown_command(const char *name)
{
	struct ls_opt table[8];
	char near[256];
	int n = 0;

	for (const struct subcommand *s = subcommands; s->name && n < 7; s++)
		if (s->summary)
			table[n++] = (struct ls_opt){s->name, 256, 0, NULL, NULL};
	table[n] = (struct ls_opt){NULL, 0, 0, NULL, NULL};
	if (ls_opts_suggestions(table, name, "", near, sizeof(near)))
		ls_die_msg(NULL, "unknown command '%s'; did you mean %s?", name, near);
	else
		ls_die_msg(NULL, "unknown command '%s' (see 'logship --help')", name);
	return 2;
}

/* Puts /dev/null on any of fds 0, 1 and 2 that is closed, so that no file
 * opened later (a summary, a checkpoint) takes its number and receives the
 * events. It is opened for the other direction, as gnulib's stdopen does:
 * writing to a closed stdout still fails (EBADF) and is reported. */
static void keep_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int null_fd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		null_fd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
		if (null_fd >= 0 && null_fd != fd)
			close(null_fd);
	}
}

/* What went to stdout through stdio (help, lists, status) must have been
 * written: a failed write is reported like grep's and makes the exit 2; a
 * reader that went away (EPIPE) is not an error. Returns the exit code. */
static int check_stdout(int exit_code)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return exit_code;
	if (errno == EPIPE)
		return exit_code;
	if (errno)
		ls_die_msg(NULL, "write error: %s", strerror(errno));
	else
		ls_die_msg(NULL, "write error");
	return 2;
}

static int run_main(int argc, char **argv)
{
	const struct subcommand *s;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("logship %s\n", LS_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		s = find(argv[2]);
		if (!s)
			return unknown_command(argv[2]);
		s->help();
		return 0;
	}
	s = find(argv[1]);
	if (!s)
		return unknown_command(argv[1]);
	return s->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	/* help, lists and completion scripts fit: a failed write then shows
	 * in the last fflush with its errno (stdio may drop the data and the
	 * errno of a failed write in the middle, leaving only ferror()) */
	static char stdout_buf[64 << 10];

	/* a closed stdout is seen as EPIPE on write, not a fatal signal */
	signal(SIGPIPE, SIG_IGN);
	keep_std_fds();
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));
	return check_stdout(run_main(argc, argv));
}

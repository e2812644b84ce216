/* status.c - `logship status --state DIR`: what each pipeline's checkpoints
 * say (per file: path, identity, offset, size, lag, last read; the journal
 * cursor), what its sink did (NAME.stats, written by ship) and how many
 * events wait in its dead-letter file. Reads only: no lock is taken, so it
 * works while tail or ship run. */
#include "commands.h"
#include "common.h"

#include "../shipper/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OPT_STATE = LS_OPT_COMMAND_FIRST };

static const struct ls_opt status_opts[] = {
	{"state", OPT_STATE, 1, "DIR", "the state directory (default: as ship's)"},
	{"help", 'h', 0, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}
};

struct status_ctx {
	const char *state_dir;
	int help;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct status_ctx *c = vctx;

	switch (key) {
	case OPT_STATE: c->state_dir = arg; break;
	case 'h': c->help = 1; break;
	default: return -2;
	}
	return 0;
}

void cmd_status_help(void)
{
	ls_opts_help("logship status [--state DIR]",
		     "Shows each pipeline's checkpoints in DIR: per file the delivered offset,\n"
		     "the size and the lag in bytes; the sink's counters and dead letters.\n"
		     "Exit: 0, or 2 on an error (a damaged state file is reported).",
		     status_opts);
}

static void format_time(int64_t ms, char *buf, size_t n)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The current size of an entry's file when the path still names it;
 * -1 when it is gone or another file. */
static long long current_size(const struct ls_ckpt_entry *e)
{
	struct stat st;

	if (stat(e->path, &st) < 0 || (uint64_t)st.st_dev != e->dev || (uint64_t)st.st_ino != e->ino)
		return -1;
	return (long long)st.st_size;
}

/* Counts the lines of a dead-letter file, a last one without its newline
 * too (a write cut short). Returns the count, or -1 with errno when the file
 * cannot be read (ENOENT: there is none). */
static long long count_lines(const char *path)
{
	char buf[65536];
	long long n = 0;
	ssize_t got;
	char last = '\n';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
			n++;
		last = buf[got - 1];
	}
	close(fd);
	return n + (last != '\n');
}

/* Prints the ship counters file NAME.stats ("key value" lines) when there;
 * bytes that are not printable (a damaged file) are shown as \xHH, never
 * sent to the terminal as they are. */
static void print_stats(const char *dir, const char *name)
{
	char path[4200], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.stats", dir, name);
	f = fopen(path, "r");
	if (!f)
		return;
	printf("  sink:\n");
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		int eol = len && line[len - 1] == '\n';
		printf("    ");
		for (size_t i = 0; i < len - (size_t)eol; i++) {
			unsigned char ch = (unsigned char)line[i];
			if (ch < 0x20 || ch >= 0x7f)
				printf("\\x%02x", ch);
			else
				putchar(ch);
		}
		putchar('\n');
	}
	if (ferror(f))
		ls_die_msg("status", "warning: cannot read %s: %s", path, strerror(errno));
	fclose(f);
}

static int show_pipeline(const char *dir, const char *file)
{
	char path[4200], name[256], when[40], dl[4400];
	struct ls_checkpoint *cp = NULL;
	struct ls_error err;
	size_t nlen = strlen(file) - strlen(".state");
	long long dead;
	int dl_errno;

	snprintf(name, sizeof(name), "%.*s", (int)nlen, file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (ls_checkpoint_read(&cp, path, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return -1;
	}
	printf("pipeline %s (%s)\n", name, path);
	if (ls_checkpoint_count(cp))
		printf("  %-40s %12s %12s %12s  %s\n", "file", "offset", "size", "lag", "last read");
	for (size_t i = 0; i < ls_checkpoint_count(cp); i++) {
		const struct ls_ckpt_entry *e = ls_checkpoint_get(cp, i);
		long long size = current_size(e);
		format_time(e->last_read_ms, when, sizeof(when));
		if (size < 0)
			printf("  %-40s %12llu %12s %12s  %s (gone)\n", e->path,
			       (unsigned long long)e->offset, "-", "-", when);
		else
			printf("  %-40s %12llu %12lld %12lld  %s\n", e->path,
			       (unsigned long long)e->offset, size,
			       size > (long long)e->offset ? size - (long long)e->offset : 0, when);
	}
	if (ls_checkpoint_cursor(cp))
		printf("  journal cursor: %s\n", ls_checkpoint_cursor(cp));
	print_stats(dir, name);
	snprintf(dl, sizeof(dl), "%s/dead-letter/%s.ndjson", dir, name);
	dead = count_lines(dl);
	dl_errno = errno;
	if (dead >= 0)
		printf("  dead letters: %lld in %s\n", dead, dl);
	ls_checkpoint_free(cp);
	if (dead < 0 && dl_errno != ENOENT) {
		ls_die_msg("status", "cannot read %s: %s", dl, strerror(dl_errno));
		return -1;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_status(int argc, char **argv)
{
	struct status_ctx c = { NULL, 0 };
	char dirbuf[4096];
	char *names[1024];
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int first, failed = 0;

	if (ls_opts_parse("status", status_opts, argc, argv, handle_opt, &c, &first) < 0)
		return 2;
	if (c.help) {
		cmd_status_help();
		return 0;
	}
	/* "status DIR" would otherwise show the default directory */
	if (first < argc) {
		ls_die_msg("status", "unexpected argument '%s' (give the directory with --state DIR)",
			   argv[first]);
		return 2;
	}
	if (!c.state_dir && !(c.state_dir = ls_checkpoint_default_dir(dirbuf, sizeof(dirbuf)))) {
		ls_die_msg("status", "no state directory: give --state DIR");
		return 2;
	}
	d = opendir(c.state_dir);
	if (!d) {
		ls_die_msg("status", "cannot read %s: %s", c.state_dir, strerror(errno));
		return 2;
	}
	while ((de = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
		size_t len = strlen(de->d_name);
		if (len > 6 && strcmp(de->d_name + len - 6, ".state") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	if (n == 0)
		printf("no pipelines in %s\n", c.state_dir);
	for (size_t i = 0; i < n; i++) {
		if (names[i] && show_pipeline(c.state_dir, names[i]) < 0)
			failed = 1;
		free(names[i]);
	}
	return failed ? 2 : 0;
}

/* The option table, for `logship completion`. */
const struct ls_opt *cmd_status_options(void)
{
	return status_opts;
}

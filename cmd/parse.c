/* parse.c - `logship parse`: grep-style parsing of files or stdin. */
#include "commands.h"
#include "common.h"
#include "opts.h"
#include "output.h"
#include "progress.h"
#include "summary.h"

#include "../parsers/patfile.h"
#include "../parsers/where.h"
#include "../shipper/pipeline.h"
#include "../shipper/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_SINCE = LS_OPT_COMMAND_FIRST, OPT_UNTIL, OPT_STATS, OPT_SUMMARY, OPT_SUMMARY_FILE,
	OPT_FAIL_ON, OPT_NO_PROGRESS
};

static const struct ls_opt parse_opts[] = {
	LS_COMMON_OPTS_PARSING,
	LS_COMMON_OPTS_OUTPUT,
	{"count", 'c', 0, NULL, "print only the number of matching events"},
	{"max-count", 'm', 1, "N", "stop after N events"},
	{"unparsed", 'v', 0, NULL, "print only lines that no format parsed"},
	{"since", OPT_SINCE, 1, "TIME", "only events at or after TIME (RFC 3339 or 10m, 2h, 3d ago)"},
	{"until", OPT_UNTIL, 1, "TIME", "only events before TIME"},
	{"stats", OPT_STATS, 0, NULL, "print lines, bytes, events, unparsed, per format and tag on stderr"},
	{"summary", OPT_SUMMARY, 1, "md", "print a Markdown summary instead of the events"},
	{"summary-file", OPT_SUMMARY_FILE, 1, "FILE", "append the Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY); events still printed"},
	{"fail-on", OPT_FAIL_ON, 1, "LEVEL", "exit 1 when an event is at or above LEVEL (low, medium, ...)"},
	{"no-progress", OPT_NO_PROGRESS, 0, NULL, "no progress line on stderr (shown only on a terminal)"},
	LS_COMMON_OPTS_REST,
	{NULL, 0, 0, NULL, NULL}
};

#define MAX_TAG_STATS 128

struct parse_ctx {
	struct ls_common co;
	struct ls_output out;
	int count_only, only_unparsed, stats, summary, no_progress;
	const char *summary_path;      /* --summary-file */
	int summary_fd;                /* open from the start: a bad path fails early */
	struct ls_summary *sum;        /* --summary or --summary-file */
	long long max_count;           /* -m; -1: no limit */
	int fail_on;
	const char *since_arg, *until_arg;
	int64_t since_ms, until_ms;
	uint64_t printed, max_severity_hits;
	uint64_t bytes_read; /* input bytes (decompressed), whatever the line endings */
	uint64_t bytes_in_done; /* on-disk bytes of the inputs finished (progress) */
	int progress;        /* a progress line is shown */
	int stop;
	struct { const char *tag; uint64_t n; } tag_stats[MAX_TAG_STATS];
	int ntag_stats;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct parse_ctx *c = vctx;
	long long v;
	int rc = ls_common_opt(&c->co, "parse", key, arg);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	switch (key) {
	case 'c': c->count_only = 1; break;
	case 'm':
		v = ls_opts_size(arg);
		if (v < 0)
			return ls_bad_number("parse", "--max-count", arg);
		c->max_count = v;
		break;
	case 'v': c->only_unparsed = 1; break;
	case OPT_SINCE: c->since_arg = arg; break;
	case OPT_UNTIL: c->until_arg = arg; break;
	case OPT_STATS: c->stats = 1; break;
	case OPT_SUMMARY:
		if (strcmp(arg, "md") != 0) {
			ls_die_msg("parse", "unknown summary '%s' (md)", arg);
			return -2;
		}
		c->summary = 1;
		break;
	case OPT_SUMMARY_FILE: c->summary_path = arg; break;
	case OPT_NO_PROGRESS: c->no_progress = 1; break;
	case OPT_FAIL_ON:
		c->fail_on = ls_level_from_name(arg);
		if (!c->fail_on) {
			ls_die_msg("parse", "unknown level '%s' (informational, low, medium, high, critical)", arg);
			return -2;
		}
		break;
	default: return -2;
	}
	return 0;
}

void cmd_parse_help(void)
{
	ls_opts_help("logship parse [OPTIONS] [FILE...]",
		     "Parses log files (plain, .gz or .zst; stdin when none or \"-\") into\n"
		     "structured events, tagged for security. Exit: 0 events printed, 1 none,\n"
		     "2 error (with --fail-on: 1 when an event reached the level).",
		     parse_opts);
}

static void count_stats(struct parse_ctx *c, const struct ls_event *ev)
{
	for (int t = 0; t < ev->ntags; t++) {
		int i;
		for (i = 0; i < c->ntag_stats; i++)
			if (strcmp(c->tag_stats[i].tag, ev->tags[t]) == 0)
				break;
		if (i == c->ntag_stats) {
			if (i == MAX_TAG_STATS)
				continue;
			c->tag_stats[c->ntag_stats++].tag = ev->tags[t];
		}
		c->tag_stats[i].n++;
	}
}

/* Decides whether an event is printed, and prints or counts it. */
static int on_event(void *vctx, struct ls_event *ev)
{
	struct parse_ctx *c = vctx;

	if (c->only_unparsed && !(ev->flags & LS_EV_UNPARSED))
		return 0;
	if (c->since_arg && ev->ts_ms < c->since_ms)
		return 0;
	if (c->until_arg && ev->ts_ms >= c->until_ms)
		return 0;
	if (!ls_where_match(c->co.where, ev))
		return 0;
	if (c->fail_on && ev->severity >= c->fail_on)
		c->max_severity_hits++;
	if (c->stats)
		count_stats(c, ev);
	if (c->sum)
		ls_summary_add(c->sum, ev);
	c->printed++;
	if (!c->count_only && !(c->summary && !c->summary_path)) {
		int rc = ls_output_event(&c->out, ev);
		if (rc < 0)
			return c->out.closed ? LS_EIO : rc; /* EIO: output has ended */
	}
	if (c->max_count > 0 && c->printed >= (uint64_t)c->max_count) {
		c->stop = 1;
		return LS_EIO;
	}
	return 0;
}

/* Parses one input; returns 0, 1 when it could not be read or was damaged
 * (reported), or LS_EIO to stop everything (stdout closed, -m reached). */
static int parse_input(struct parse_ctx *c, struct ls_pipeline *p, const char *path,
		       int name_files)
{
	struct ls_reader *r = NULL;
	struct ls_stream *s = NULL;
	struct ls_error err;
	const char *line;
	size_t len;
	uint64_t offset;
	unsigned flags;
	unsigned lines = 0;
	int rc, first = 1, status = 0;

	rc = ls_reader_open(&r, path, c->co.po.max_line ? c->co.po.max_line : (1 << 20), &err);
	if (rc < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return 1;
	}
	if (ls_stream_new(p, &s, name_files ? path : NULL, 0) < 0) {
		ls_die_msg(NULL, "out of memory");
		status = 1;
		goto out;
	}
	while ((rc = ls_reader_next(r, &line, &len, &offset, &flags, &err)) > 0) {
		if (first) {
			ls_stream_set_fingerprint(s, ls_reader_fingerprint(r));
			first = 0;
		}
		rc = ls_stream_line(s, line, len, offset, flags, on_event, c);
		if (rc < 0) {
			ls_error_set(&err, rc, "%s: %s at byte %llu", path ? path : "(standard input)",
				     rc == LS_ENOMEM ? "out of memory" : "cannot process the line",
				     (unsigned long long)offset);
			break;
		}
		/* the clock is read every 256 lines, not per line */
		if (c->progress && (++lines & 255) == 0)
			ls_progress_update(c->bytes_in_done + ls_reader_bytes_in(r), c->printed);
	}
	if (rc == LS_EIO && (c->stop || c->out.closed))
		goto out;
	/* any other LS_EIO is the reader's: the input could not be read */
	if (rc < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		status = 1;
	}
	rc = ls_stream_flush(s, on_event, c);
	if (rc == LS_EIO && (c->stop || c->out.closed))
		goto out;
	if (rc < 0 && !status) {
		ls_die_msg(NULL, "%s: %s", path ? path : "(standard input)",
			   rc == LS_ENOMEM ? "out of memory" : "cannot process the last lines");
		status = 1;
	}
out:
	if (c->stop || c->out.closed)
		status = LS_EIO;
	c->bytes_read += ls_reader_bytes_out(r);
	c->bytes_in_done += ls_reader_bytes_in(r);
	if (c->progress)
		ls_progress_update(c->bytes_in_done, c->printed);
	ls_stream_free(s);
	ls_reader_free(r);
	return status;
}

static void print_stats(struct parse_ctx *c, struct ls_pipeline *p)
{
	const struct ls_pipeline_stats *st = ls_pipeline_stats(p);
	struct ls_catalog *cat = ls_pipeline_catalog(p);

	fprintf(stderr, "lines: %llu\nbytes: %llu\nevents: %llu\nunparsed: %llu\n"
		"alerts: %llu\nprinted: %llu\n", (unsigned long long)st->lines,
		(unsigned long long)c->bytes_read, (unsigned long long)st->events,
		(unsigned long long)st->unparsed, (unsigned long long)st->alerts,
		(unsigned long long)c->printed);
	for (int i = 0; i < ls_formats_count(cat->formats); i++)
		if (ls_pipeline_format_count(p, i))
			fprintf(stderr, "format %s: %llu\n", ls_formats_name(cat->formats, i),
				(unsigned long long)ls_pipeline_format_count(p, i));
	for (int i = 0; i < c->ntag_stats; i++)
		fprintf(stderr, "tag %s: %llu\n", c->tag_stats[i].tag,
			(unsigned long long)c->tag_stats[i].n);
}

/* Writes the summary to stdout, or appends it to --summary-file in one
 * write (GitHub reads $GITHUB_STEP_SUMMARY after the step). Returns 0, or
 * -1 after a message. */
static int print_summary(struct parse_ctx *c, struct ls_pipeline *p)
{
	struct ls_buf b;
	int rc = 0;

	ls_buf_init(&b, (size_t)16 << 20);
	if (ls_summary_write(c->sum, p, c->printed, &b) < 0) {
		ls_die_msg(NULL, "the summary is too large");
		rc = -1;
		goto out;
	}
	if (!c->summary_path) {
		ls_output_text(&c->out, b.data, b.len);
		goto out;
	}
	for (size_t done = 0; done < b.len;) {
		ssize_t n = write(c->summary_fd, b.data + done, b.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ls_die_msg(NULL, "cannot write %s: %s", c->summary_path, strerror(errno));
			rc = -1;
			goto out;
		}
		done += (size_t)n;
	}
out:
	ls_buf_release(&b);
	return rc;
}

/* The bytes the inputs hold on disk, for the progress line; 0 (unknown)
 * when one is stdin or not a regular file. */
static uint64_t inputs_size(int argc, char **argv, int first)
{
	uint64_t total = 0;
	struct stat st;

	if (first >= argc)
		return 0;
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0 || stat(argv[i], &st) < 0 || !S_ISREG(st.st_mode))
			return 0;
		total += (uint64_t)st.st_size;
	}
	return total;
}

static int resolve_times(struct parse_ctx *c, struct ls_pipeline *p)
{
	if (c->since_arg && ls_ts_parse_arg(ls_pipeline_ts(p), c->since_arg, &c->since_ms) < 0) {
		ls_die_msg("parse", "--since: cannot read time '%s'", c->since_arg);
		return -1;
	}
	if (c->until_arg && ls_ts_parse_arg(ls_pipeline_ts(p), c->until_arg, &c->until_ms) < 0) {
		ls_die_msg("parse", "--until: cannot read time '%s'", c->until_arg);
		return -1;
	}
	return 0;
}

int cmd_parse(int argc, char **argv)
{
	struct parse_ctx *c = calloc(1, sizeof(*c));
	struct ls_pipeline *p = NULL;
	struct ls_error err = {0, ""};
	int first, status = 0, rc, exit_code = 2;

	if (!c || ls_common_init(&c->co) < 0) {
		ls_die_msg(NULL, "out of memory");
		goto out;
	}
	c->summary_fd = -1;
	c->max_count = -1;
	if (ls_opts_parse("parse", parse_opts, argc, argv, handle_opt, c, &first) < 0)
		goto out;
	if (c->co.help) {
		cmd_parse_help();
		exit_code = 0;
		goto out;
	}
	if (ls_now_ms(&c->co.po.now_ms) < 0)
		goto out;
	/* the event id and redaction change only what is shown: a bare
	 * count or summary needs neither */
	if (c->count_only && !c->co.nwhere && !c->stats && !c->summary_path)
		c->co.po.count_only = 1;
	if (c->summary || c->summary_path) {
		if (ls_summary_new(&c->sum) < 0) {
			ls_die_msg(NULL, "out of memory");
			goto out;
		}
	}
	if (c->summary_path) {
		c->summary_fd = open(c->summary_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		if (c->summary_fd < 0) {
			ls_die_msg("parse", "--summary-file %s: %s", c->summary_path, strerror(errno));
			goto out;
		}
	}
	if (ls_pipeline_new(&p, &c->co.po, ls_warn_cb, NULL, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		goto out;
	}
	if (resolve_times(c, p) < 0)
		goto out;
	ls_output_init(&c->out, 1, ls_common_outfmt(&c->co), ls_use_color(c->co.color),
		       c->co.fields);
	/* a progress line between events on the terminal would garble them:
	 * only when stdout is written at the end (-c, a summary) or unseen */
	if (!c->no_progress && (c->count_only || (c->summary && !c->summary_path) ||
				ls_progress_stdout_unseen()))
		c->progress = ls_progress_start(inputs_size(argc, argv, first));
	if (c->max_count == 0) {
		/* -m 0, as in grep: no event wanted, no input read */
	} else if (first >= argc) {
		status |= parse_input(c, p, "-", 0) == 1;
	} else {
		int name_files = 1;
		for (int i = first; i < argc; i++) {
			rc = parse_input(c, p, argv[i], name_files && strcmp(argv[i], "-") != 0);
			if (rc == LS_EIO)
				break;
			status |= rc;
		}
	}
	if (c->count_only && !c->out.closed) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%llu\n", (unsigned long long)c->printed);
		ls_output_text(&c->out, num, (size_t)n);
	}
	ls_progress_end();
	if (c->sum && print_summary(c, p) < 0)
		status = 1;
	/* events that did not reach stdout (a full disk, a closed stdout)
	 * are an error, not a quiet success */
	if (ls_output_finish(&c->out) < 0)
		status = 1;
	if (c->stats)
		print_stats(c, p);
	if (status)
		exit_code = 2;
	else if (c->fail_on)
		exit_code = c->max_severity_hits ? 1 : 0;
	else
		exit_code = c->printed ? 0 : 1;
	ls_output_release(&c->out);
out:
	ls_pipeline_free(p);
	if (c) {
		if (c->summary_fd >= 0)
			close(c->summary_fd);
		ls_summary_free(c->sum);
		ls_common_release(&c->co);
	}
	free(c);
	return exit_code;
}

/* The option table, for `logship completion`. */
const struct ls_opt *cmd_parse_options(void)
{
	return parse_opts;
}

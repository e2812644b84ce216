/* tail.c - `logship tail`: follow files (or the journal) like tail -F,
 * printing parsed, tagged events as lines arrive. */
#include "commands.h"
#include "common.h"

#include "../shipper/checkpoint.h"
#include "../shipper/journal.h"
#include "../shipper/pipeline.h"
#include "../shipper/tailer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

enum {
	OPT_FROM_START = LS_OPT_COMMAND_FIRST, OPT_STATE, OPT_NAME, OPT_EXCLUDE, OPT_POLL,
	OPT_PARTIAL_TIMEOUT, OPT_MAX_OPEN, OPT_CKPT_INTERVAL, OPT_FORGET_AFTER, OPT_ROTATE_WAIT
};

static const struct ls_opt tail_opts[] = {
	{"lines", 'n', 1, "N", "start with the last N lines of each file (default: only new lines)"},
	{"from-start", OPT_FROM_START, 0, NULL, "read files present at start from their beginning"},
	{"state", OPT_STATE, 1, "DIR", "resume from and save checkpoints in DIR"},
	{"name", OPT_NAME, 1, "NAME", "name of this pipeline's state (default: from the paths)"},
	{"exclude", OPT_EXCLUDE, 1, "GLOB", "skip files matching GLOB (repeatable; no '/': base name)"},
	{"poll", OPT_POLL, 1, "MS", "poll files every MS instead of using inotify"},
	{"partial-timeout", OPT_PARTIAL_TIMEOUT, 1, "TIME", "print a last line without newline after TIME (default 5s)"},
	{"rotate-wait", OPT_ROTATE_WAIT, 1, "TIME", "keep reading a file rotated away for TIME after its last write (default 5s)"},
	{"max-open", OPT_MAX_OPEN, 1, "N", "keep at most N idle files open (default 256)"},
	{"checkpoint-interval", OPT_CKPT_INTERVAL, 1, "TIME", "save checkpoints at most every TIME (default 5s)"},
	{"forget-after", OPT_FORGET_AFTER, 1, "TIME", "drop checkpoints of files gone for TIME (default 24h)"},
	LS_COMMON_OPTS_JOURNAL,
	LS_COMMON_OPTS_PARSING,
	LS_COMMON_OPTS_OUTPUT,
	LS_COMMON_OPTS_REST,
	{NULL, 0, 0, NULL, NULL}
};

#define MAX_EXCLUDES 64

struct tail_ctx {
	struct ls_common co;
	struct ls_output out;
	struct ls_tailer_opts to;
	const char *excludes[MAX_EXCLUDES];
	const char *state_dir, *name;
	struct ls_journal_args ja;
	struct ls_pipeline *p;
	int failed;
};

/* What the tailer's per-file slot holds. */
struct tail_file {
	struct ls_stream *stream;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct tail_ctx *c = vctx;
	long long v;
	int64_t ms;
	int rc = ls_common_opt(&c->co, "tail", key, arg);

	if (rc == 0)
		rc = ls_journal_opt(&c->ja, "tail", key, arg);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	switch (key) {
	case 'n':
		v = ls_opts_size(arg);
		if (v < 0)
			return ls_bad_number("tail", "--lines", arg);
		c->to.start = LS_TAIL_START_LINES;
		c->to.start_lines = (long)v;
		c->ja.jo.tail_lines = (long)v;
		break;
	case OPT_FROM_START:
		c->to.start = LS_TAIL_START_BEGIN;
		c->ja.jo.from_start = 1;
		break;
	case OPT_STATE: c->state_dir = arg; break;
	case OPT_NAME: c->name = arg; break;
	case OPT_EXCLUDE:
		if (c->to.nexcludes == MAX_EXCLUDES) {
			ls_die_msg("tail", "at most %d --exclude patterns", MAX_EXCLUDES);
			return -2;
		}
		c->excludes[c->to.nexcludes++] = arg;
		break;
	case OPT_POLL:
		if (ls_duration_opt("tail", "--poll", arg, 1, &ms) < 0)
			return -2;
		c->to.poll_ms = ms < 1 ? 1 : (int)(ms > 3600000 ? 3600000 : ms);
		break;
	case OPT_PARTIAL_TIMEOUT:
		return ls_duration_opt("tail", "--partial-timeout", arg, 1000, &c->to.partial_timeout_ms);
	case OPT_ROTATE_WAIT:
		return ls_duration_opt("tail", "--rotate-wait", arg, 1000, &c->to.rotate_wait_ms);
	case OPT_CKPT_INTERVAL:
		return ls_duration_opt("tail", "--checkpoint-interval", arg, 1000, &c->to.checkpoint_interval_ms);
	case OPT_FORGET_AFTER:
		return ls_duration_opt("tail", "--forget-after", arg, 1000, &c->to.forget_after_ms);
	case OPT_MAX_OPEN:
		v = ls_opts_size(arg);
		if (v < 1 || v > 1 << 20)
			return ls_bad_number("tail", "--max-open", arg);
		c->to.max_open = (int)v;
		break;
	default: return -2;
	}
	return 0;
}

void cmd_tail_help(void)
{
	ls_opts_help("logship tail [OPTIONS] PATH|GLOB...\n       logship tail --journal [OPTIONS]",
		     "Follows files like tail -F (across rotation, truncation and new files;\n"
		     "globs may use ** for any depth) and prints their lines as parsed, tagged\n"
		     "events. Ctrl-C or SIGTERM stops it; with --state it resumes where it\n"
		     "stopped. Exit: 0 on a signal, 2 on an error, 5 when the state is locked.",
		     tail_opts);
}

/* ---- events ----------------------------------------------------------- */

/* Prints ev when it passes --where; 0, or the output's error as it is
 * (LS_ENOMEM must still read "out of memory", LS_EIO a closed stdout). */
static int on_event(void *vctx, struct ls_event *ev)
{
	struct tail_ctx *c = vctx;
	int rc;

	if (!ls_where_match(c->co.where, ev))
		return 0;
	rc = ls_output_event(&c->out, ev);
	return rc < 0 ? rc : 0;
}

static int file_opened(void *vctx, struct ls_tail_file *f)
{
	struct tail_ctx *c = vctx;
	struct tail_file *tf = calloc(1, sizeof(*tf));

	if (!tf || ls_stream_new(c->p, &tf->stream, ls_tail_file_path(f),
				 ls_tail_file_fingerprint(f)) < 0) {
		if (tf)
			ls_stream_free(tf->stream);
		free(tf);
		return LS_ENOMEM;
	}
	*ls_tail_file_user(f) = tf;
	return 0;
}

static int file_line(void *vctx, struct ls_tail_file *f, const char *line, size_t len,
		     uint64_t offset, unsigned flags)
{
	struct tail_ctx *c = vctx;
	struct tail_file *tf = *ls_tail_file_user(f);

	if (!tf)
		return 0;
	ls_stream_set_path(tf->stream, ls_tail_file_path(f));
	ls_stream_set_fingerprint(tf->stream, ls_tail_file_fingerprint(f));
	return ls_stream_line(tf->stream, line, len, offset, flags, on_event, c);
}

static int file_pause(void *vctx, struct ls_tail_file *f)
{
	struct tail_file *tf = *ls_tail_file_user(f);

	return tf ? ls_stream_flush(tf->stream, on_event, vctx) : 0;
}

static void file_closed(void *vctx, struct ls_tail_file *f)
{
	struct tail_file *tf = *ls_tail_file_user(f);

	if (!tf)
		return;
	ls_stream_flush(tf->stream, on_event, vctx);
	ls_stream_free(tf->stream);
	free(tf);
	*ls_tail_file_user(f) = NULL;
}

/* ---- signals ---------------------------------------------------------- */

/* Waits for the tailer's fd, a signal or the next timer. Returns 1 when a
 * signal asks to stop, 0 otherwise (*ready: the tailer's fd is readable). */
static int wait_events(int watch_fd, int sig_fd, int timeout_ms, int *ready)
{
	struct pollfd pfd[2] = { { sig_fd, POLLIN, 0 }, { watch_fd, POLLIN, 0 } };
	int n = poll(pfd, watch_fd >= 0 ? 2 : 1, timeout_ms);

	*ready = n > 0 && watch_fd >= 0 && (pfd[1].revents & POLLIN);
	return n > 0 && (pfd[0].revents & POLLIN);
}

/* Lines without a time get the time they were read, unless LOGSHIP_NOW
 * fixes "now" (tests). */
static void advance_now(struct tail_ctx *c)
{
	const char *fixed = getenv("LOGSHIP_NOW");
	int64_t now;

	if ((!fixed || !*fixed) && ls_now_ms(&now) == 0)
		ls_pipeline_set_now(c->p, now);
}

/* Output is written, so what was read is delivered: the checkpoint may
 * move. Returns -1 when output has ended (the reader went away or a write
 * failed: cmd_tail reports which). */
static int deliver(struct tail_ctx *c, struct ls_tailer *t, int force)
{
	struct ls_error err;

	if (ls_output_flush(&c->out) < 0 || c->out.closed)
		return -1;
	if (!t)
		return 0;
	ls_tailer_commit(t);
	if (ls_tailer_checkpoint(t, force, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		c->failed = 1;
	}
	return 0;
}

static int follow_files(struct tail_ctx *c, int sig_fd)
{
	static const struct ls_tailer_cbs cbs = {
		file_opened, file_line, file_pause, file_closed, ls_warn_cb, NULL
	};
	struct ls_tailer *t = NULL;
	struct ls_error err;
	int ready, stop = 0, rc;

	rc = ls_tailer_new(&t, &c->to, &cbs, c, &err);
	if (rc == 0)
		rc = ls_tailer_start(t, &err);
	while (rc >= 0 && !stop) {
		if (deliver(c, t, 0) < 0)
			break;
		stop = wait_events(ls_tailer_fd(t), sig_fd, ls_tailer_timeout_ms(t), &ready);
		if (stop)
			break;
		advance_now(c);
		rc = ls_tailer_dispatch(t, ready, &err);
	}
	if (rc == LS_EIO && c->out.closed)
		rc = 0;
	if (rc < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		c->failed = 1;
	} else {
		deliver(c, t, 1);
	}
	ls_tailer_free(t);
	return rc;
}

/* ---- the journal ------------------------------------------------------ */

/* Adds log.level and systemd.unit: the stream calls back into on_event,
 * so these go through a wrapper context. */
struct journal_emit {
	struct tail_ctx *c;
	const struct ls_journal_entry *e;
};

static int on_journal_event(void *vctx, struct ls_event *ev)
{
	struct journal_emit *je = vctx;

	ls_journal_enrich(ev, je->e);
	return on_event(je->c, ev);
}

static int follow_journal(struct tail_ctx *c, int sig_fd, struct ls_checkpoint *cp)
{
	struct ls_journal *j = NULL;
	struct ls_journal_entry e;
	struct journal_emit je = { c, &e };
	struct ls_stream *s = NULL;
	struct ls_buf line;
	struct ls_error err;
	char *cursor = NULL;
	int ready, stop = 0, rc;

	ls_buf_init(&line, 0);
	if (cp && ls_checkpoint_cursor(cp))
		c->ja.jo.cursor = ls_checkpoint_cursor(cp);
	rc = ls_journal_open(&j, &c->ja.jo, &err);
	if (rc == 0 && ls_stream_new(c->p, &s, NULL, 0) < 0)
		rc = ls_error_set(&err, LS_ENOMEM, "out of memory");
	while (rc >= 0 && !stop) {
		while ((rc = ls_journal_next(j, &e, &err)) > 0) {
			free(cursor);
			cursor = strdup(e.cursor);
			if (ls_journal_format_line(&e, &line) < 0) {
				rc = ls_error_set(&err, LS_ENOMEM, "out of memory");
				break;
			}
			rc = ls_stream_line(s, line.data, line.len, (uint64_t)e.realtime_us, 0,
					    on_journal_event, &je);
			if (rc >= 0)
				rc = ls_stream_flush(s, on_journal_event, &je);
			if (rc < 0)
				break;
		}
		if (rc < 0 || ls_output_flush(&c->out) < 0 || c->out.closed)
			break;
		if (cp && cursor && ls_checkpoint_set_cursor(cp, cursor) == 0 &&
		    ls_checkpoint_save(cp, &err) < 0) {
			ls_die_msg(NULL, "%s", err.msg);
			c->failed = 1;
		}
		stop = wait_events(ls_journal_fd(j), sig_fd, ls_journal_timeout_ms(j), &ready);
		if (ready)
			ls_journal_process(j);
		advance_now(c);
	}
	if (rc == LS_EIO && c->out.closed)
		rc = 0;
	if (rc < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		c->failed = 1;
	}
	ls_output_flush(&c->out);
	ls_stream_free(s);
	ls_journal_free(j);
	ls_buf_release(&line);
	free(cursor);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

/* Opens the state when --state is given. Returns 0, 5 (locked) or 2. */
static int open_state(struct tail_ctx *c, char **paths, int npaths, struct ls_checkpoint **cp)
{
	char name[128];
	struct ls_error err;
	int rc;

	if (!c->state_dir)
		return 0;
	if (ls_state_name("tail", c->name, c->ja.enabled, c->ja.jo.directory, paths, npaths,
			  NULL, name, sizeof(name)) < 0) {
		ls_die_msg(NULL, "cannot name the state: %s", strerror(errno));
		return 2;
	}
	rc = ls_checkpoint_open(cp, c->state_dir, name, ls_warn_cb, NULL, &err);
	if (rc < 0)
		ls_die_msg(NULL, "%s", err.msg);
	return rc == LS_EBUSY ? 5 : rc < 0 ? 2 : 0;
}

/* 1 when the paths may name several files (a glob or several paths). */
static int several_files(char **paths, int n)
{
	return n > 1 || strpbrk(paths[0], "*?[") != NULL;
}

int cmd_tail(int argc, char **argv)
{
	struct tail_ctx *c = calloc(1, sizeof(*c));
	struct ls_checkpoint *cp = NULL;
	struct ls_error err = {0, ""};
	int first, sig_fd = -1, exit_code = 2;

	if (!c || ls_common_init(&c->co) < 0) {
		ls_die_msg(NULL, "out of memory");
		goto out;
	}
	if (ls_opts_parse("tail", tail_opts, argc, argv, handle_opt, c, &first) < 0)
		goto out;
	if (c->co.help) {
		cmd_tail_help();
		exit_code = 0;
		goto out;
	}
	if (!c->ja.enabled && first >= argc) {
		ls_die_msg("tail", "no files to follow (give paths or globs, or --journal)");
		goto out;
	}
	if (c->ja.enabled && first < argc) {
		ls_die_msg("tail", "--journal follows the journal; give no paths with it");
		goto out;
	}
	/* from here on a signal asks for a clean stop */
	sig_fd = ls_signal_fd();
	if (sig_fd < 0) {
		ls_die_msg(NULL, "cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (ls_now_ms(&c->co.po.now_ms) < 0)
		goto out;
	if (c->ja.enabled && !c->co.po.format && !c->co.po.regex)
		c->co.po.format = "journal";
	if (ls_pipeline_new(&c->p, &c->co.po, ls_warn_cb, NULL, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		goto out;
	}
	exit_code = open_state(c, argv + first, argc - first, &cp);
	if (exit_code)
		goto out;
	exit_code = 2;
	ls_output_init(&c->out, 1, ls_common_outfmt(&c->co), ls_use_color(c->co.color),
		       c->co.fields);
	c->to.paths = (const char *const *)(argv + first);
	c->to.npaths = argc - first;
	c->to.excludes = c->excludes;
	c->to.max_line = c->co.po.max_line;
	c->to.ckpt = cp;
	c->out.show_file = !c->ja.enabled && several_files(argv + first, argc - first);
	if (c->ja.enabled)
		follow_journal(c, sig_fd, cp);
	else
		follow_files(c, sig_fd);
	/* a failed write stopped the loop: lost output is an error */
	if (ls_output_finish(&c->out) < 0)
		c->failed = 1;
	ls_output_release(&c->out);
	exit_code = c->failed ? 2 : 0;
out:
	if (sig_fd >= 0)
		close(sig_fd);
	ls_checkpoint_free(cp);
	ls_pipeline_free(c ? c->p : NULL);
	if (c)
		ls_common_release(&c->co);
	free(c);
	return exit_code;
}

/* The option table, for `logship completion`. */
const struct ls_opt *cmd_tail_options(void)
{
	return tail_opts;
}

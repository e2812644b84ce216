/* common.h - the options parse, tail and ship share (format, regex,
 * output, --where, tagging, multi-line, colour): one set of table entries
 * and one handler, so the commands cannot drift apart. */
#ifndef LS_COMMON_H
#define LS_COMMON_H

#include "opts.h"
#include "output.h"

#include "../parsers/where.h"
#include "../shipper/journal.h"
#include "../shipper/pipeline.h"

/* Option keys >= 256 shared by the commands; each command numbers its own
 * from LS_OPT_COMMAND_FIRST. */
enum {
	LS_OPT_PATTERNS = 256, LS_OPT_FIELDS, LS_OPT_NO_TAG, LS_OPT_NO_REDACT, LS_OPT_TZ,
	LS_OPT_MAX_LINE, LS_OPT_ML_START, LS_OPT_ML_LINES, LS_OPT_ML_BYTES, LS_OPT_COLOR,
	LS_OPT_JOURNAL, LS_OPT_JOURNAL_UNIT, LS_OPT_JOURNAL_MATCH, LS_OPT_JOURNAL_DIR,
	LS_OPT_COMMAND_FIRST = 300
};

/* How lines are parsed. */
#define LS_COMMON_OPTS_PARSING \
	{"format", 'f', 1, "NAME", "log format, or auto (default): see 'logship patterns list'"}, \
	{"regex", 'e', 1, "RE", "parse with this PCRE2 regex (named groups, %{GROK:field} macros)"}, \
	{"patterns", LS_OPT_PATTERNS, 1, "DIR", "load extra format and rule files from DIR"}

/* What is printed. */
#define LS_COMMON_OPTS_OUTPUT \
	{"output", 'o', 1, "FMT", "json, logfmt, tsv or pretty (default: pretty on a terminal)"}, \
	{"fields", LS_OPT_FIELDS, 1, "LIST", "comma-separated fields for tsv/logfmt/pretty"}, \
	{"where", 'w', 1, "EXPR", "keep events matching EXPR (repeatable, ANDed): field=v, !=, ~re, >, >=, <, <=, has:field, tag:NAME"}

/* Tagging, times, long lines, multi-line records, colour and help. */
#define LS_COMMON_OPTS_REST \
	{"no-tag", LS_OPT_NO_TAG, 0, NULL, "do not apply the security rules"}, \
	{"no-redact", LS_OPT_NO_REDACT, 0, NULL, "do not redact passwords, tokens, keys and card numbers"}, \
	{"tz", LS_OPT_TZ, 1, "ZONE", "time zone for times without one (default: TZ)"}, \
	{"max-line", LS_OPT_MAX_LINE, 1, "BYTES", "truncate longer lines (default 1M), tagged truncated"}, \
	{"multiline-start", LS_OPT_ML_START, 1, "RE", "a line matching RE starts an event; others continue it"}, \
	{"multiline-max-lines", LS_OPT_ML_LINES, 1, "N", "at most N lines per multi-line event (default 500)"}, \
	{"multiline-max-bytes", LS_OPT_ML_BYTES, 1, "BYTES", "at most BYTES per multi-line event (default 1M)"}, \
	{"color", LS_OPT_COLOR, 1, "WHEN", "auto, always or never (NO_COLOR is honoured)"}, \
	{"help", 'h', 0, NULL, "show this help"}

/* The journal as an input (tail, ship). */
#define LS_COMMON_OPTS_JOURNAL \
	{"journal", LS_OPT_JOURNAL, 0, NULL, "read the systemd journal instead of files"}, \
	{"journal-unit", LS_OPT_JOURNAL_UNIT, 1, "UNIT", "only this systemd unit's entries"}, \
	{"journal-match", LS_OPT_JOURNAL_MATCH, 1, "FIELD=VALUE", "only entries with this field (repeatable)"}, \
	{"journal-directory", LS_OPT_JOURNAL_DIR, 1, "DIR", "read the journal files in DIR"}

#define LS_MAX_JOURNAL_MATCHES 32

/* The journal settings, filled by ls_journal_opt(). */
struct ls_journal_args {
	int enabled;                 /* --journal or any --journal-* */
	struct ls_journal_opts jo;
	const char *matches[LS_MAX_JOURNAL_MATCHES];
};

/* Handles a journal option: 1 when key was one, 0 when not, -2 after an
 * error message. */
int ls_journal_opt(struct ls_journal_args *ja, const char *sub, int key, const char *arg);

/* The shared settings, filled by ls_common_opt(). */
struct ls_common {
	struct ls_pipeline_opts po;
	struct ls_where *where; /* owned: ls_common_release() */
	int nwhere;
	int outfmt;             /* -1 until chosen */
	char *fields;           /* borrowed from argv */
	const char *color;
	int help;
};

/* Sets up c (an empty --where list). LS_ENOMEM on failure. */
int ls_common_init(struct ls_common *c);
void ls_common_release(struct ls_common *c);

/* Handles a shared option for command sub: 1 when key was one (and
 * accepted), 0 when key is not shared, -2 after printing an error. */
int ls_common_opt(struct ls_common *c, const char *sub, int key, const char *arg);

/* Complains that arg is not a valid number for opt; returns -2. */
int ls_bad_number(const char *sub, const char *opt, const char *arg);

/* Parses a duration option (see ls_opts_duration_ms) into *out, or prints
 * "logship SUB: OPT: 'ARG' is not a duration" and returns -2. */
int ls_duration_opt(const char *sub, const char *opt, const char *arg, long long unit_ms,
		    int64_t *out);

/* Blocks SIGINT, SIGTERM and SIGHUP and returns a signalfd for them, so a
 * poll() loop sees them and stops cleanly; -1 on failure (errno set). */
int ls_signal_fd(void);

/* The state name of a pipeline: name_opt (--name) when given; for the
 * journal "<command>-journal-<hash>" of the journal directory; otherwise
 * "<command>-<hash>" of the inputs made absolute (so a run from another
 * directory finds the same state) and the sink. -1 when out of memory. */
int ls_state_name(const char *command, const char *name_opt, int journal,
		  const char *journal_dir, char **paths, int npaths, const char *sink,
		  char *out, size_t size);

/* 1 when colour is wanted on fd 1 (--color, NO_COLOR, a terminal). */
int ls_use_color(const char *when);

/* The output format: the chosen one, or pretty on a terminal and json
 * otherwise. */
enum ls_outfmt ls_common_outfmt(const struct ls_common *c);

#endif

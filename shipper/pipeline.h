/* pipeline.h - turning lines into events: format choice (fixed, -e regex or
 * auto-detected per input), multi-line joining, timestamps, security
 * tagging, redaction and the event id. Shared by parse, tail and ship. */
#ifndef LS_PIPELINE_H
#define LS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"
#include "../parsers/event.h"
#include "../parsers/timestamp.h"
#include "catalog.h"

struct ls_pipeline_opts {
	const char *format;          /* name, "auto" or NULL (auto) */
	const char *regex;           /* -e: a regex/grok pattern, or NULL */
	const char *patterns_dir;    /* --patterns DIR or NULL */
	const char *multiline_start; /* --multiline-start REGEX or NULL */
	int multiline_max_lines;     /* 0: 500 */
	size_t multiline_max_bytes;  /* 0: 1 MiB */
	size_t max_line;             /* 0: 1 MiB */
	int no_tag;                  /* --no-tag */
	int no_redact;               /* --no-redact */
	int count_only;              /* events are only counted: skip what only
				      * their text needs (event id, redaction) */
	const char *tz;              /* --tz or NULL */
	int64_t now_ms;              /* "now" (LOGSHIP_NOW or the clock) */
};

/* Receives each event; the event is valid only during the call. A negative
 * return stops the input being read (and is passed back). */
typedef int (*ls_emit_fn)(void *ctx, struct ls_event *ev);

/* Counters over all inputs (input bytes are the reader's to count: line
 * endings and skipped tails are not seen here). */
struct ls_pipeline_stats {
	uint64_t lines, events, unparsed, alerts;
};

struct ls_pipeline;
struct ls_stream;

/* Builds a pipeline: loads the catalog (warnings through warn), compiles -e,
 * resolves the format name. Errors: unknown format (with a suggestion), bad
 * regex (with its offset), unreadable --patterns. Caller frees with
 * ls_pipeline_free(). */
int ls_pipeline_new(struct ls_pipeline **out, const struct ls_pipeline_opts *o,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err);
void ls_pipeline_free(struct ls_pipeline *p);

/* Moves "now" (the read time of lines without a time, the reference for
 * year inference) for a long-running follow. */
void ls_pipeline_set_now(struct ls_pipeline *p, int64_t now_ms);

/* The catalog in use (formats, rules), owned by the pipeline. */
struct ls_catalog *ls_pipeline_catalog(struct ls_pipeline *p);
struct ls_tsctx *ls_pipeline_ts(struct ls_pipeline *p);
const struct ls_pipeline_stats *ls_pipeline_stats(const struct ls_pipeline *p);
/* Count of events per format index (unparsed are not counted). */
uint64_t ls_pipeline_format_count(const struct ls_pipeline *p, int idx);

/* A stream is one input (a file, stdin, a followed file): it detects its own
 * format and joins its own multi-line records. path may be NULL (no
 * log.file.path). Caller frees with ls_stream_free(). */
int ls_stream_new(struct ls_pipeline *p, struct ls_stream **out, const char *path,
		  uint64_t fingerprint);
void ls_stream_free(struct ls_stream *s);
/* A followed file renamed by rotation: later events carry the new path
 * (copied). LS_ENOMEM when the copy fails (the old path stays). */
int ls_stream_set_path(struct ls_stream *s, const char *path);
/* The fingerprint is known only after the first read of a file. */
void ls_stream_set_fingerprint(struct ls_stream *s, uint64_t fingerprint);

/* Feeds one line (flags LS_LINE_*); events come out through emit, possibly
 * later (format detection samples the first lines; multi-line records wait
 * for the next line; a container runtime's partial record waits for the
 * rest of its line). Returns 0, the negative value emit returned, or
 * LS_ENOMEM when memory ran out (a sample or a regex could not get it:
 * the event is not emitted, as its parsing or tagging would be wrong). */
int ls_stream_line(struct ls_stream *s, const char *line, size_t len,
		   uint64_t offset, unsigned flags, ls_emit_fn emit, void *ctx);

/* Emits everything held back (end of input, or a pause in a followed file).
 * Returns as ls_stream_line(). */
int ls_stream_flush(struct ls_stream *s, ls_emit_fn emit, void *ctx);

/* Name of the format detected for the stream, or NULL. */
const char *ls_stream_format(const struct ls_stream *s);

#endif

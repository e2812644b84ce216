/* output.h - writing events to stdout as json, logfmt, tsv or pretty text,
 * buffered into large writes; a closed stdout (EPIPE) ends output quietly,
 * any other failed write ends it with an error (like grep's "write error"). */
#ifndef LS_OUTPUT_H
#define LS_OUTPUT_H

#include <stdio.h>

#include "../parsers/buf.h"
#include "../parsers/event.h"

enum ls_outfmt { LS_OUT_JSON, LS_OUT_LOGFMT, LS_OUT_TSV, LS_OUT_PRETTY };

#define LS_OUT_MAX_FIELDS 64

struct ls_output {
	int fd;
	enum ls_outfmt fmt;
	int color;
	int nfields;                           /* --fields, 0: defaults */
	const char *fields[LS_OUT_MAX_FIELDS]; /* borrowed from argv */
	int show_file;                         /* pretty: prefix the file's name */
	int header_done;
	int closed;                            /* no more output: the reader went
						* away (EPIPE) or a write failed */
	int write_errno;                       /* the failed write's errno; 0 for
						* EPIPE, which is no error */
	int reported;                          /* write_errno was reported */
	struct ls_buf buf;
};

/* Parses "json|logfmt|tsv|pretty"; -1 when unknown. */
int ls_output_parse_format(const char *name);

/* Sets up out writing to fd. fields: a comma-separated list (borrowed,
 * modified in place) or NULL. */
void ls_output_init(struct ls_output *out, int fd, enum ls_outfmt fmt,
		    int color, char *fields);
void ls_output_release(struct ls_output *out);

/* Formats one event; writes when the buffer passes 256 KiB. Returns 0, or
 * LS_EIO when output has ended (out->closed then says so). */
int ls_output_event(struct ls_output *out, const struct ls_event *ev);

/* Writes raw text (for -c and summaries) through the same buffer. */
int ls_output_text(struct ls_output *out, const char *s, size_t len);

/* Writes everything buffered. 0 or LS_EIO (output has ended). */
int ls_output_flush(struct ls_output *out);

/* The last flush: writes everything buffered, then reports a failed write
 * once ("logship: write error: <strerror>" on stderr). Returns 0 when all
 * was written or the reader went away (EPIPE, quiet as in grep), -1 after
 * reporting an error: the command then exits 2. */
int ls_output_finish(struct ls_output *out);

/* The text of a field for display: @timestamp (RFC 3339), message (or the
 * line), event.severity, tags (comma-separated) or any field. Returns 1 and
 * sets *s and *len (s may point into tmp, of size 64), 0 when absent. */
int ls_output_field(const struct ls_event *ev, const char *name, char tmp[64],
		    const char **s, size_t *len);

#endif

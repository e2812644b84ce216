/* multiline.h - joining continuation lines (stack traces, tracebacks, panics)
 * to the line they belong to, with caps on lines and bytes per record. */
#ifndef LS_MULTILINE_H
#define LS_MULTILINE_H

#include <stddef.h>
#include <stdint.h>

struct ls_multiline;

/* A joined record: its first line, then "\n" and each continuation line. */
struct ls_record {
	const char *text;
	size_t len;
	size_t first_len; /* bytes of the first line */
	uint64_t offset;  /* offset of the first line */
	unsigned flags;   /* LS_LINE_* of the lines, ORed */
	int nlines;
};

/* A joiner keeping at most max_lines lines and max_bytes bytes per record
 * (a line that would pass either cap starts a new record: nothing is
 * dropped). Caller frees with ls_multiline_free(). */
int ls_multiline_new(struct ls_multiline **out, int max_lines, size_t max_bytes);
void ls_multiline_free(struct ls_multiline *ml);

/* Feeds one line. continues: 1 when the line continues the pending record.
 * Returns 1 when the previous record is complete and in *rec (valid until
 * the next call), 0 when the line was only buffered, LS_ENOMEM on failure. */
int ls_multiline_feed(struct ls_multiline *ml, const char *line, size_t len,
		      uint64_t offset, unsigned flags, int continues,
		      struct ls_record *rec);

/* Returns 1 with the pending record in *rec (and forgets it), 0 when none. */
int ls_multiline_flush(struct ls_multiline *ml, struct ls_record *rec);

/* 1 when a record is pending. */
int ls_multiline_pending(const struct ls_multiline *ml);

#endif

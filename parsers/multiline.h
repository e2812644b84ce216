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

/* Joining the parts of a line that a container runtime split into several
 * records (CRI "P" records, Docker json-file records whose "log" lacks its
 * final "\n"). One line is pending per key (the stream: stdout, stderr), at
 * most LS_PARTIAL_KEYS at once, so the parts of two streams written in
 * between each other still join each to its own. The joined text is cut at
 * max_bytes (the rest of the parts is dropped, and the line says so). */
#define LS_PARTIAL_KEYS 2

struct ls_partial;

/* A line being joined. */
struct ls_partial_line {
	const char *text;  /* the parts' texts, end to end */
	size_t len;
	const char *first; /* the first part's whole record, as read */
	size_t first_len;
	uint64_t offset;   /* the first part's offset */
	int64_t ts_ms;     /* the first part's time */
	unsigned flags;    /* the parts' LS_LINE_* flags, ORed */
	int nparts;
	int format;        /* the format the parts were read with */
	int cut;           /* 1: text was cut at max_bytes */
};

/* A joiner whose lines hold at most max_bytes of text (0: 1 MiB). Caller
 * frees with ls_partial_free(). */
int ls_partial_new(struct ls_partial **out, size_t max_bytes);
void ls_partial_free(struct ls_partial *pj);

/* The slot of key's pending line, or -1. */
int ls_partial_find(const struct ls_partial *pj, const char *key, size_t key_len);

/* The slot of the pending line read first (lowest offset), or -1 when none
 * is pending. */
int ls_partial_oldest(const struct ls_partial *pj);

/* Starts a line for key in a free slot with its first part's record (kept
 * as it is, to be read again), offset, time and format; its text is added
 * with ls_partial_append(). Returns the slot, LS_EBUSY when all slots hold
 * a line (take one out first) or LS_ENOMEM. */
int ls_partial_start(struct ls_partial *pj, const char *key, size_t key_len,
		     const char *record, size_t record_len, uint64_t offset,
		     int64_t ts_ms, int format);

/* Adds a part's text (and LS_LINE_* flags) to the line in slot. Past
 * max_bytes the text is cut (not inside a UTF-8 sequence) and later parts'
 * text dropped. 0 or LS_ENOMEM. */
int ls_partial_append(struct ls_partial *pj, int slot, const char *text, size_t len,
		      unsigned flags);

/* Hands out the line in slot and frees the slot; *line stays valid until
 * the slot is started again or ls_partial_trim(). */
void ls_partial_take(struct ls_partial *pj, int slot, struct ls_partial_line *line);

/* Gives back the memory of free slots that grew past a small size (a
 * long line once seen is not kept for the life of a followed file). */
void ls_partial_trim(struct ls_partial *pj);

#endif

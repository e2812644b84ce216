/* multiline.h - joining continuation lines (stack traces, tracebacks, panics)
 * to the line they belong to, with caps on lines and bytes per record. */
#ifndef LS_MULTILINE_H
#define LS_MULTILINE_H

#include <stddef.h>
#include <stdint.h>

/* The caps of a record when none is given (--multiline-max-lines,
 * --multiline-max-bytes). */
#define LS_MULTILINE_MAX_LINES 500
#define LS_MULTILINE_MAX_BYTES ((size_t)1 << 20)

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

/* ---- continuation lines of a container's records ----------------------
 *
 * An app in a container writes through the runtime, which makes each of its
 * lines a record: a Java stack trace, a Python traceback or a Go panic is
 * as many records as lines. The records of a container stream wait here,
 * in the order they were read, for the continuation lines that follow them
 * on their own stream (their key: stdout, stderr): a waiting record is
 * "open" (lines may still join it) until a later line of its stream starts
 * something else, and leaves only behind the records read before it, so
 * events keep the order of their first lines. Bounds: one open record per
 * key and LS_TRACE_KEYS keys (a third closes the oldest open record); past
 * LS_TRACE_QUEUE records waiting, or 2 x max_bytes of their text, the
 * first one is closed; a record takes continuation lines while it holds at
 * most max_lines lines and max_bytes bytes (a line past a cap is not
 * added: it starts the next record, it is never dropped). */
#define LS_TRACE_KEYS 2
#define LS_TRACE_QUEUE 32

struct ls_tracejoin;
struct ls_buf;

/* A record that left the queue (see ls_tracejoin_next()). */
struct ls_trace_record {
	const char *text;  /* the record's text, then "\n" and each continuation line */
	size_t len;
	size_t first_len;  /* bytes of the record's own text */
	uint64_t offset;   /* the record's offset */
	unsigned flags;    /* LS_LINE_* of the record and its continuation lines */
	int nlines;        /* the record's lines, plus its continuation lines */
	const char *saved; /* what the caller kept with it (ls_tracejoin_saved()) */
	size_t saved_len;
};

/* A queue whose records take at most max_lines lines and max_bytes bytes
 * (0: 500, 1 MiB). Caller frees with ls_tracejoin_free(). */
int ls_tracejoin_new(struct ls_tracejoin **out, int max_lines, size_t max_bytes);
void ls_tracejoin_free(struct ls_tracejoin *tj);

/* Records waiting (open or closed). */
int ls_tracejoin_count(const struct ls_tracejoin *tj);

/* The id of key's open record, or -1; *rule is what the caller gave it.
 * An id stays valid until the next ls_tracejoin_pop(). */
int ls_tracejoin_open(const struct ls_tracejoin *tj, const char *key, size_t key_len,
		      int *rule);

/* Adds a continuation line (and its LS_LINE_* flags) to the open record
 * id. 0, 1 when the line would pass a cap (nothing added: the line starts
 * a record of its own), or LS_ENOMEM. */
int ls_tracejoin_add(struct ls_tracejoin *tj, int id, const char *line, size_t len,
		     unsigned flags);

/* Queues a record of key, read at offset: its text (copied), flags and
 * lines (a line joined from a runtime's parts counts its parts). key's
 * open record, if any, is closed: its lines are over. open: continuation
 * lines may join it, rule being the caller's note of which ones. Returns
 * the record's id, LS_ENOMEM, or LS_EBUSY when 2 x LS_TRACE_QUEUE records
 * wait (only when the caller stopped taking them out). */
int ls_tracejoin_push(struct ls_tracejoin *tj, const char *key, size_t key_len,
		      const char *text, size_t len, uint64_t offset, unsigned flags,
		      int nlines, int open, int rule);

/* The caller's storage kept with record id (its parsed event, say): empty
 * when the record is queued, its memory reused when it has left. */
struct ls_buf *ls_tracejoin_saved(struct ls_tracejoin *tj, int id);

/* Closes every record: nothing more joins them (end of input, a pause). */
void ls_tracejoin_close_all(struct ls_tracejoin *tj);

/* 1 with the first record in *rec when it may leave (closed, or closed now
 * because the queue passed its bounds), 0 when none may. *rec stays valid
 * until ls_tracejoin_pop(), which removes that record. */
int ls_tracejoin_next(struct ls_tracejoin *tj, struct ls_trace_record *rec);
void ls_tracejoin_pop(struct ls_tracejoin *tj);

/* With nothing waiting, gives back memory past a small size (a long trace
 * once seen is not kept for the life of a followed file). */
void ls_tracejoin_trim(struct ls_tracejoin *tj);

#endif

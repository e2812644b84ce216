/* multiline.c - continuation-line joiner with two swapped buffers, so the
 * completed record stays valid while the next one starts. */
#include "multiline.h"
#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct pending {
	struct ls_buf text;
	size_t first_len;
	uint64_t offset;
	unsigned flags;
	int nlines;
};

struct ls_multiline {
	struct pending slot[2];
	int cur; /* slot holding the pending record */
	int max_lines;
	size_t max_bytes;
};

int ls_multiline_new(struct ls_multiline **out, int max_lines, size_t max_bytes)
{
	struct ls_multiline *ml = calloc(1, sizeof(*ml));

	*out = ml;
	if (!ml)
		return LS_ENOMEM;
	ml->max_lines = max_lines > 0 ? max_lines : LS_MULTILINE_MAX_LINES;
	ml->max_bytes = max_bytes > 0 ? max_bytes : LS_MULTILINE_MAX_BYTES;
	/* a record never exceeds max_bytes plus one line's worth of slack */
	ls_buf_init(&ml->slot[0].text, 0);
	ls_buf_init(&ml->slot[1].text, 0);
	return 0;
}

void ls_multiline_free(struct ls_multiline *ml)
{
	if (!ml)
		return;
	ls_buf_release(&ml->slot[0].text);
	ls_buf_release(&ml->slot[1].text);
	free(ml);
}

static void to_record(struct pending *p, struct ls_record *rec)
{
	rec->text = p->text.data ? p->text.data : "";
	rec->len = p->text.len;
	rec->first_len = p->first_len;
	rec->offset = p->offset;
	rec->flags = p->flags;
	rec->nlines = p->nlines;
}

static int start(struct pending *p, const char *line, size_t len,
		 uint64_t offset, unsigned flags)
{
	p->text.len = 0;
	if (ls_buf_append(&p->text, line, len) < 0)
		return LS_ENOMEM;
	p->first_len = len;
	p->offset = offset;
	p->flags = flags;
	p->nlines = 1;
	return 0;
}

int ls_multiline_feed(struct ls_multiline *ml, const char *line, size_t len,
		      uint64_t offset, unsigned flags, int continues,
		      struct ls_record *rec)
{
	struct pending *p = &ml->slot[ml->cur];

	if (p->nlines > 0 && continues && p->nlines < ml->max_lines &&
	    p->text.len + 1 + len <= ml->max_bytes) {
		if (ls_buf_putc(&p->text, '\n') < 0 ||
		    ls_buf_append(&p->text, line, len) < 0)
			return LS_ENOMEM;
		p->flags |= flags;
		p->nlines++;
		return 0;
	}
	if (p->nlines == 0)
		return start(p, line, len, offset, flags);
	/* complete the pending record and start the next in the other slot */
	to_record(p, rec);
	ml->cur ^= 1;
	if (start(&ml->slot[ml->cur], line, len, offset, flags) < 0)
		return LS_ENOMEM;
	p->nlines = 0;
	return 1;
}

int ls_multiline_flush(struct ls_multiline *ml, struct ls_record *rec)
{
	struct pending *p = &ml->slot[ml->cur];

	if (p->nlines == 0)
		return 0;
	to_record(p, rec);
	p->nlines = 0;
	ml->cur ^= 1;
	ml->slot[ml->cur].nlines = 0;
	return 1;
}

int ls_multiline_pending(const struct ls_multiline *ml)
{
	return ml->slot[ml->cur].nlines > 0;
}

/* ---- parts of a line split by a container runtime ---------------------- */

/* Buffers above this are given back once their line went out. */
#define PARTIAL_KEEP (64 << 10)

struct partial_slot {
	int used;
	struct ls_buf key;
	struct ls_buf first; /* the first part's record */
	struct ls_buf text;
	uint64_t offset;
	int64_t ts_ms;
	unsigned flags;
	int nparts;
	int format;
	int cut;
};

struct ls_partial {
	struct partial_slot slot[LS_PARTIAL_KEYS];
	size_t max_bytes;
};

int ls_partial_new(struct ls_partial **out, size_t max_bytes)
{
	struct ls_partial *pj = calloc(1, sizeof(*pj));

	*out = pj;
	if (!pj)
		return LS_ENOMEM;
	pj->max_bytes = max_bytes > 0 ? max_bytes : LS_MULTILINE_MAX_BYTES;
	for (int i = 0; i < LS_PARTIAL_KEYS; i++) {
		ls_buf_init(&pj->slot[i].key, 0);
		ls_buf_init(&pj->slot[i].first, 0);
		ls_buf_init(&pj->slot[i].text, 0);
	}
	return 0;
}

static void slot_release(struct partial_slot *sl)
{
	ls_buf_release(&sl->key);
	ls_buf_release(&sl->first);
	ls_buf_release(&sl->text);
}

void ls_partial_free(struct ls_partial *pj)
{
	if (!pj)
		return;
	for (int i = 0; i < LS_PARTIAL_KEYS; i++)
		slot_release(&pj->slot[i]);
	free(pj);
}

int ls_partial_find(const struct ls_partial *pj, const char *key, size_t key_len)
{
	for (int i = 0; i < LS_PARTIAL_KEYS; i++) {
		const struct partial_slot *sl = &pj->slot[i];
		if (sl->used && sl->key.len == key_len &&
		    (key_len == 0 || memcmp(sl->key.data, key, key_len) == 0))
			return i;
	}
	return -1;
}

int ls_partial_oldest(const struct ls_partial *pj)
{
	int best = -1;

	for (int i = 0; i < LS_PARTIAL_KEYS; i++)
		if (pj->slot[i].used && (best < 0 || pj->slot[i].offset < pj->slot[best].offset))
			best = i;
	return best;
}

int ls_partial_start(struct ls_partial *pj, const char *key, size_t key_len,
		     const char *record, size_t record_len, uint64_t offset,
		     int64_t ts_ms, int format)
{
	struct partial_slot *sl = NULL;
	int i;

	for (i = 0; i < LS_PARTIAL_KEYS && !sl; i++)
		if (!pj->slot[i].used)
			sl = &pj->slot[i];
	if (!sl)
		return LS_EBUSY;
	sl->key.len = sl->first.len = sl->text.len = 0;
	if (ls_buf_append(&sl->key, key, key_len) < 0 ||
	    ls_buf_append(&sl->first, record, record_len) < 0)
		return LS_ENOMEM;
	sl->used = 1;
	sl->offset = offset;
	sl->ts_ms = ts_ms;
	sl->flags = 0;
	sl->nparts = 0;
	sl->format = format;
	sl->cut = 0;
	return i - 1;
}

static int is_utf8_cont(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

int ls_partial_append(struct ls_partial *pj, int slot, const char *text, size_t len,
		      unsigned flags)
{
	struct partial_slot *sl = &pj->slot[slot];
	size_t room = pj->max_bytes - sl->text.len;

	sl->flags |= flags;
	sl->nparts++;
	if (sl->cut)
		return 0;
	if (len > room) {
		size_t back = 0;
		/* a cut inside a UTF-8 sequence would leave its lead byte alone:
		 * cut before the lead (at most 3 bytes back; further back it is
		 * not UTF-8 and the cap is where the cut goes) */
		while (back < 3 && back < room && is_utf8_cont(text[room - back]))
			back++;
		if (back < room && is_utf8_cont(text[room - back]))
			back = 0;
		len = room - back;
		sl->cut = 1;
	}
	return ls_buf_append(&sl->text, text, len) < 0 ? LS_ENOMEM : 0;
}

void ls_partial_take(struct ls_partial *pj, int slot, struct ls_partial_line *line)
{
	struct partial_slot *sl = &pj->slot[slot];

	line->text = sl->text.data ? sl->text.data : "";
	line->len = sl->text.len;
	line->first = sl->first.data ? sl->first.data : "";
	line->first_len = sl->first.len;
	line->offset = sl->offset;
	line->ts_ms = sl->ts_ms;
	line->flags = sl->flags;
	line->nparts = sl->nparts;
	line->format = sl->format;
	line->cut = sl->cut;
	sl->used = 0;
}

void ls_partial_trim(struct ls_partial *pj)
{
	for (int i = 0; i < LS_PARTIAL_KEYS; i++) {
		struct partial_slot *sl = &pj->slot[i];
		if (!sl->used && (sl->text.cap > PARTIAL_KEEP || sl->first.cap > PARTIAL_KEEP ||
				  sl->key.cap > PARTIAL_KEEP))
			slot_release(sl);
	}
}

/* ---- continuation lines of a container's records ----------------------- */

/* Room for the bound, the record that passes it, and slack for a caller
 * that stopped letting records leave (its output failed). */
#define TRACE_MAX (2 * LS_TRACE_QUEUE)
/* Buffers above this are given back when nothing waits. */
#define TRACE_KEEP (16 << 10)

struct trace_entry {
	struct ls_buf key;
	struct ls_buf text;  /* the record, then "\n" + each continuation line */
	struct ls_buf saved; /* the caller's */
	size_t first_len;
	uint64_t offset;
	unsigned flags;
	int nlines; /* the record's own lines (parts) */
	int nconts; /* continuation lines added */
	int open;
	int rule;
};

struct ls_tracejoin {
	/* list[0, count) wait, the first read first; the entries behind are
	 * spares, made when first needed and reused (a stream mostly needs
	 * two: the record waiting and the next) */
	struct trace_entry *list[TRACE_MAX];
	int count;
	size_t bytes; /* text of the records waiting */
	int max_lines;
	size_t max_bytes;
};

int ls_tracejoin_new(struct ls_tracejoin **out, int max_lines, size_t max_bytes)
{
	struct ls_tracejoin *tj = calloc(1, sizeof(*tj));

	*out = tj;
	if (!tj)
		return LS_ENOMEM;
	tj->max_lines = max_lines > 0 ? max_lines : LS_MULTILINE_MAX_LINES;
	tj->max_bytes = max_bytes > 0 ? max_bytes : LS_MULTILINE_MAX_BYTES;
	return 0;
}

static void entry_free(struct trace_entry *e)
{
	if (!e)
		return;
	ls_buf_release(&e->key);
	ls_buf_release(&e->text);
	ls_buf_release(&e->saved);
	free(e);
}

void ls_tracejoin_free(struct ls_tracejoin *tj)
{
	if (!tj)
		return;
	for (int i = 0; i < TRACE_MAX; i++)
		entry_free(tj->list[i]);
	free(tj);
}

int ls_tracejoin_count(const struct ls_tracejoin *tj)
{
	return tj->count;
}

static int same_key(const struct trace_entry *e, const char *key, size_t key_len)
{
	return e->key.len == key_len && (key_len == 0 || memcmp(e->key.data, key, key_len) == 0);
}

int ls_tracejoin_open(const struct ls_tracejoin *tj, const char *key, size_t key_len,
		      int *rule)
{
	for (int i = 0; i < tj->count; i++) {
		const struct trace_entry *e = tj->list[i];
		if (e->open && same_key(e, key, key_len)) {
			*rule = e->rule;
			return i;
		}
	}
	return -1;
}

int ls_tracejoin_add(struct ls_tracejoin *tj, int id, const char *line, size_t len,
		     unsigned flags)
{
	struct trace_entry *e = tj->list[id];

	if (1 + e->nconts >= tj->max_lines || e->text.len + 1 + len > tj->max_bytes)
		return 1;
	if (ls_buf_putc(&e->text, '\n') < 0 || ls_buf_append(&e->text, line, len) < 0)
		return LS_ENOMEM;
	e->flags |= flags;
	e->nconts++;
	tj->bytes += 1 + len;
	return 0;
}

int ls_tracejoin_push(struct ls_tracejoin *tj, const char *key, size_t key_len,
		      const char *text, size_t len, uint64_t offset, unsigned flags,
		      int nlines, int open, int rule)
{
	struct trace_entry *e, *oldest_open = NULL;
	int nopen = 0;

	if (tj->count == TRACE_MAX)
		return LS_EBUSY;
	for (int i = 0; i < tj->count; i++) {
		struct trace_entry *w = tj->list[i];
		if (!w->open)
			continue;
		if (same_key(w, key, key_len)) {
			w->open = 0; /* a later line of its stream: its lines are over */
			continue;
		}
		if (!oldest_open)
			oldest_open = w;
		nopen++;
	}
	if (open && nopen >= LS_TRACE_KEYS)
		oldest_open->open = 0;
	if (!tj->list[tj->count]) {
		if (!(e = calloc(1, sizeof(*e))))
			return LS_ENOMEM;
		ls_buf_init(&e->key, 0);
		ls_buf_init(&e->text, 0);
		ls_buf_init(&e->saved, 0);
		tj->list[tj->count] = e;
	}
	e = tj->list[tj->count];
	e->key.len = e->text.len = e->saved.len = 0;
	if (ls_buf_append(&e->key, key, key_len) < 0 || ls_buf_append(&e->text, text, len) < 0)
		return LS_ENOMEM;
	e->first_len = len;
	e->offset = offset;
	e->flags = flags;
	e->nlines = nlines;
	e->nconts = 0;
	e->open = open;
	e->rule = rule;
	tj->bytes += len;
	return tj->count++;
}

struct ls_buf *ls_tracejoin_saved(struct ls_tracejoin *tj, int id)
{
	return &tj->list[id]->saved;
}

void ls_tracejoin_close_all(struct ls_tracejoin *tj)
{
	for (int i = 0; i < tj->count; i++)
		tj->list[i]->open = 0;
}

int ls_tracejoin_next(struct ls_tracejoin *tj, struct ls_trace_record *rec)
{
	struct trace_entry *e;

	if (tj->count == 0)
		return 0;
	e = tj->list[0];
	/* the records behind an open one wait for it, within bounds */
	if (e->open && (tj->count > LS_TRACE_QUEUE ||
			(tj->count > 1 && tj->bytes > 2 * tj->max_bytes)))
		e->open = 0;
	if (e->open)
		return 0;
	rec->text = e->text.data ? e->text.data : "";
	rec->len = e->text.len;
	rec->first_len = e->first_len;
	rec->offset = e->offset;
	rec->flags = e->flags;
	rec->nlines = e->nlines + e->nconts;
	rec->saved = e->saved.data ? e->saved.data : "";
	rec->saved_len = e->saved.len;
	return 1;
}

void ls_tracejoin_pop(struct ls_tracejoin *tj)
{
	struct trace_entry *e;

	if (tj->count == 0)
		return;
	e = tj->list[0];
	tj->bytes -= e->text.len;
	e->open = 0;
	tj->count--;
	/* the others move up (pointers only: at most TRACE_MAX); the entry
	 * becomes the first spare */
	memmove(&tj->list[0], &tj->list[1], (size_t)tj->count * sizeof(tj->list[0]));
	tj->list[tj->count] = e;
}

void ls_tracejoin_trim(struct ls_tracejoin *tj)
{
	if (tj->count > 0)
		return;
	for (int i = 0; i < TRACE_MAX; i++) {
		struct trace_entry *e = tj->list[i];
		if (!e)
			continue;
		if (i >= LS_TRACE_KEYS) {
			entry_free(e);
			tj->list[i] = NULL;
			continue;
		}
		if (e->key.cap > TRACE_KEEP)
			ls_buf_release(&e->key);
		if (e->text.cap > TRACE_KEEP)
			ls_buf_release(&e->text);
		if (e->saved.cap > TRACE_KEEP)
			ls_buf_release(&e->saved);
	}
}

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
	ml->max_lines = max_lines > 0 ? max_lines : 500;
	ml->max_bytes = max_bytes > 0 ? max_bytes : (size_t)1 << 20;
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

/* formats.h - the log formats: loaded from pattern files, chosen by name or
 * auto-detected, and applied to lines to fill events.
 *
 * Format entry properties (patterns/NAME.pattern, see patfile.h):
 *   description: one line
 *   aliases: other names (space separated)
 *   dataset: nginx.access                event.dataset
 *   match: grok/regex                    repeatable, tried in order
 *   decoder: json | logfmt               instead of match
 *   map: from -> to                      decoder key renames (repeatable)
 *   require: field                       the line parses only when it gives
 *                                        this field (repeatable)
 *   priority: 50                         lower is tried first (auto)
 *   set: field=value                     constant fields (repeatable)
 *   levels: I=info W=warn E=error        log.level value renames
 *   multiline: java python go indented   continuation lines join the event
 *   reparse: message [FORMAT...]         the field (its final newline cut) is
 *                                        parsed again by the formats named (or
 *                                        all others) and their fields merged
 *   partial: cri.tag=P                   the record is one part of a line a
 *   partial: message unterminated        container runtime split: when the
 *                                        field is VALUE (or VALUE:...), or when
 *                                        it does not end in a newline; the
 *                                        reparse field of the parts, end to
 *                                        end, is the line (see ls_formats_part)
 *   partial-key: log.stream              parts join only while this is equal
 *   example: a line                      must parse with this format
 *   expect: field=value                  after an example
 */
#ifndef LS_FORMATS_H
#define LS_FORMATS_H

#include <stddef.h>

#include "error.h"
#include "event.h"
#include "grok.h"
#include "patfile.h"
#include "timestamp.h"

struct ls_formats;

int ls_formats_new(struct ls_formats **out, const struct ls_grok *g);
void ls_formats_free(struct ls_formats *f);
int ls_formats_add(struct ls_formats *f, const struct ls_pentry *e,
		   struct ls_error *err);
int ls_formats_count(const struct ls_formats *f);
const char *ls_formats_name(const struct ls_formats *f, int idx);
const struct ls_pentry *ls_formats_entry(const struct ls_formats *f, int idx);

/* Index of the format called name (or an alias), or -1. */
int ls_formats_find(const struct ls_formats *f, const char *name);
/* The known name closest to name (edit distance), or NULL. */
const char *ls_formats_suggest(const struct ls_formats *f, const char *name);

/* Parses line with format idx into ev (fields, timestamp through ts).
 * Returns 1 when parsed, 0 when the line does not fit, or a negative code. */
int ls_formats_parse(struct ls_formats *f, int idx, struct ls_tsctx *ts,
		     struct ls_event *ev, const char *line, size_t len);

/* ls_formats_parse() without the reparse: the record's own fields only
 * (a container's record that may be one part of a line). */
int ls_formats_parse_outer(struct ls_formats *f, int idx, struct ls_tsctx *ts,
			   struct ls_event *ev, const char *line, size_t len);

/* The reparse that ls_formats_parse_outer() left out, on ev's reparse field
 * (format idx's) as it is, or first set to text (borrowed) when text is not
 * NULL: the line joined from the parts of a split line. Returns the index
 * of the format that parsed the field (the container's "inner" format:
 * its multiline kinds tell the container's continuation lines), or -1 when
 * none did or idx has no reparse field. */
int ls_formats_reparse(struct ls_formats *f, int idx, struct ls_tsctx *ts,
		       struct ls_event *ev, const char *text, size_t len);

/* One record of a format whose records may be parts of a longer line. */
struct ls_part {
	const char *text; /* the record's share of the line (its reparse field) */
	size_t len;
	const char *key;  /* parts join only while this is equal (the stream) */
	size_t key_len;
	int more;         /* 1: the line goes on in a later record */
};

/* 1 when format idx's records may be parts of a split line ("partial:"). */
int ls_formats_partial(const struct ls_formats *f, int idx);

/* 1 with *part filled from ev, which ls_formats_parse_outer() filled with
 * format idx, when idx's records may be parts of a split line; 0 when they
 * may not. The pointers are into ev and its line. */
int ls_formats_part(const struct ls_formats *f, int idx, const struct ls_event *ev,
		    struct ls_part *part);

/* Tries the formats in order of preference (hint first, when >= 0): returns
 * the index of the one that parsed ev, or -1. */
int ls_formats_parse_any(struct ls_formats *f, int hint, struct ls_tsctx *ts,
			 struct ls_event *ev, const char *line, size_t len);

/* Picks the format that parses most of the sample lines (ties: file order);
 * -1 when none parses any. */
int ls_formats_detect(struct ls_formats *f, struct ls_tsctx *ts,
		      struct ls_event *scratch, const char *const *lines,
		      const size_t *lens, int n);

/* 1 when line continues the multi-line event started by a line of format idx. */
int ls_formats_continues(struct ls_formats *f, int idx, const char *line, size_t len);

/* Moves a parsed "@timestamp" field into ev->ts_ms (an unreadable time is
 * kept as event.original_time and ev->ts_ms stays the read time). */
void ls_formats_take_timestamp(struct ls_event *ev, struct ls_tsctx *ts);

/* 1 when format idx joins continuation lines (has a multiline kind). */
int ls_formats_multiline(const struct ls_formats *f, int idx);

#endif

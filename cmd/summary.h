/* summary.h - the Markdown summary of `logship parse --summary md` and
 * `--summary-file`: counts, formats, levels, the top sources, the security
 * findings by rule and the first events of each rule. Memory is bounded
 * whatever the input: fixed tables, allocated once. */
#ifndef LS_SUMMARY_H
#define LS_SUMMARY_H

#include <stdint.h>

#include "../parsers/buf.h"
#include "../parsers/event.h"
#include "../shipper/pipeline.h"

/* Sources tracked for the ranking; past this many distinct ones the
 * least-seen are replaced and the counts become upper bounds (shown "≤"). */
#define LS_SUMMARY_MAX_SOURCES 4096
/* Sources listed, rules tracked, first events kept per rule. */
#define LS_SUMMARY_TOP_SOURCES 10
#define LS_SUMMARY_MAX_RULES 128
#define LS_SUMMARY_SAMPLES 3
/* A sample's message is cut to this many characters. */
#define LS_SUMMARY_MESSAGE_CHARS 120

struct ls_summary;

/* Allocates the tables (about 700 KiB). 0 or LS_ENOMEM. Caller frees with
 * ls_summary_free(). */
int ls_summary_new(struct ls_summary **out);
void ls_summary_free(struct ls_summary *s);

/* Counts one event (the event is only read during the call; what is kept
 * is copied). No allocation. */
void ls_summary_add(struct ls_summary *s, const struct ls_event *ev);

/* Appends the Markdown text to b: p's counters and formats, printed events
 * (those that passed the filters) and what ls_summary_add() saw. 0 or
 * LS_ENOMEM. */
int ls_summary_write(const struct ls_summary *s, struct ls_pipeline *p, uint64_t printed,
		     struct ls_buf *b);

/* Appends len bytes of s to b for a Markdown table cell, cut to max_chars
 * characters ("…" marks the cut; 0: no limit): Markdown punctuation is
 * backslash-escaped (pipes, backticks, emphasis, links, HTML), control
 * characters are removed (tab and newlines become spaces) and each
 * invalid UTF-8 byte is written as \xHH. */
void ls_summary_escape(struct ls_buf *b, const char *s, size_t len, int max_chars);

#endif

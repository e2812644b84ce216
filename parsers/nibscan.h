/* nibscan.h - a few dozen literals found in one pass over a subject, by
 * classifying three bytes at each position at once through nibble tables
 * (SSSE3 shuffles), then comparing the literals at the few positions that
 * pass. For the rules' prefilters: where looking for each literal's rarest
 * byte stops a scan at every quote of an access log line, three bytes in a
 * row rarely pass. Needs SSSE3 at run time (ls_nibscan_usable()); the rules
 * fall back to their byte-key scan without it. */
#ifndef LS_NIBSCAN_H
#define LS_NIBSCAN_H

#include <stddef.h>
#include <stdint.h>

#define LS_NIBSCAN_MAX_LIT 256 /* the most literals a matcher takes */

struct ls_nibscan;

/* 1 when this CPU can run ls_nibscan_scan(), that is has SSSE3 (asked
 * once; the rules' key-byte scan needs the same), else 0. */
int ls_nibscan_usable(void);

/* A matcher for nlit literals (1 <= nlit <= LS_NIBSCAN_MAX_LIT), each to be
 * given by ls_nibscan_set() before ls_nibscan_build(). 0, LS_EINVAL or
 * LS_ENOMEM. Caller frees with ls_nibscan_free(). */
int ls_nibscan_new(struct ls_nibscan **out, uint32_t nlit);
void ls_nibscan_free(struct ls_nibscan *t);

/* Literal id: len (>= 1) bytes at text, borrowed for the matcher's life;
 * caseless: text is lowercase and ASCII letters match either case. */
void ls_nibscan_set(struct ls_nibscan *t, uint32_t id, const char *text, uint32_t len,
		  int caseless);

/* (Re)builds the tables: each literal is looked for by the three bytes of
 * it whose weights (how often each byte occurs in the subjects; both cases
 * of a caseless letter count) are lowest. Callable again with new weights. */
void ls_nibscan_build(struct ls_nibscan *t, const uint32_t weight[256]);

/* How many literals are expected to be compared per position in text
 * whose bytes occur count[c] times (a position passing for a bucket has
 * each of its literals compared), each of the three bytes taken as
 * independent of the others. For choosing between this scan and another:
 * it pays while few comparisons are made. */
double ls_nibscan_compares(const struct ls_nibscan *t, const uint32_t count[256]);

/* Sets bit id in bits[] for every literal occurring in text (bits is not
 * cleared first). Returns 1 when any did, else 0. No allocation. Only when
 * ls_nibscan_usable(). */
int ls_nibscan_scan(const struct ls_nibscan *t, const char *text, size_t len, uint64_t *bits);

/* Bytes allocated by the matcher. */
size_t ls_nibscan_memory(const struct ls_nibscan *t);

#endif

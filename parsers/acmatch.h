/* acmatch.h - many literals found in one pass (Aho-Corasick, caseless),
 * for the rules' prefilters: one scan of a subject tells which literals
 * occur, instead of one memmem per literal. */
#ifndef LS_ACMATCH_H
#define LS_ACMATCH_H

#include <stddef.h>
#include <stdint.h>

struct ls_ac;

/* An empty automaton. Caller frees with ls_ac_free(). */
int ls_ac_new(struct ls_ac **out);
void ls_ac_free(struct ls_ac *ac);

/* Adds a literal (matched caselessly; a superset of the exact matches) with
 * its id (0 <= id < 64 * words given to ls_ac_scan). 0, LS_EINVAL for an
 * empty literal, LS_ENOMEM. No additions after ls_ac_build(). */
int ls_ac_add(struct ls_ac *ac, const char *lit, size_t len, int id);

/* Builds the automaton. 0 or LS_ENOMEM. */
int ls_ac_build(struct ls_ac *ac);

/* Scans text and sets bit id in hits[] for every literal occurring in it
 * (hits is not cleared first). Returns 1 when any literal occurred, else 0.
 * No allocation. */
int ls_ac_scan(const struct ls_ac *ac, const char *text, size_t len,
	       uint64_t *hits, int nwords);

/* Bytes allocated by the automaton. */
size_t ls_ac_memory(const struct ls_ac *ac);

#endif

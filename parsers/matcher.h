/* matcher.h - compiled PCRE2 regular expressions (JIT) with reused match data.
 * The only module that includes pcre2.h. Named groups map to field names:
 * "__" stands for ".", a leading "_at_" for "@", and a trailing "___int" or
 * "___float" gives the field's type (see ls_matcher_group_field()). */
#ifndef LS_MATCHER_H
#define LS_MATCHER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#include "error.h"

struct ls_matcher;

enum {
	LS_MATCH_CASELESS = 1 << 0,
	LS_MATCH_ANCHORED = 1 << 1,
	/* compile at the first ls_matcher_exec(), not now: for the built-in
	 * rules, whose regexes `make test` proves and most runs never use;
	 * a pattern that fails then makes every exec return LS_EINVAL */
	LS_MATCH_DEFER = 1 << 2
};

/* Compiles pattern (UTF-8 not required: lines may be any bytes). On error
 * returns LS_EREGEX with "regex error at offset N: <pcre2 message>" in err and
 * the offset in *erroffset when not NULL. Caller frees with ls_matcher_free(). */
int ls_matcher_compile(struct ls_matcher **out, const char *pattern,
		       unsigned flags, size_t *erroffset, struct ls_error *err);
void ls_matcher_free(struct ls_matcher *m);

/* Like ls_matcher_compile() for a pattern made by ls_grok_expand(): group
 * "_g<k>" takes its field name and type from fields[k] ("name[:int|:float]").
 * fields may be NULL when nfields is 0. */
int ls_matcher_compile_fields(struct ls_matcher **out, const char *pattern,
			      unsigned flags, char *const *fields, int nfields,
			      size_t *erroffset, struct ls_error *err);

/* A pattern compiled at build time (tools/litcache.c), in PCRE2's
 * serialized form: compiling the same pattern with the same options
 * decodes it instead, much faster than compiling. */
struct ls_precompiled {
	uint64_t key;              /* ls_matcher_key() of pattern and opts */
	const char *pattern;
	uint32_t opts;
	const unsigned char *bytes;
	uint32_t len;
};

/* Uses table (n entries sorted by key; borrowed for the life of the
 * process) from now on. An entry whose pattern or options differ, or that
 * another PCRE2 version made, is compiled as usual. */
void ls_matcher_use_precompiled(const struct ls_precompiled *table, size_t n);

/* How many compiles the table answered (for tests). */
unsigned long ls_matcher_decoded(void);

/* For the build tool: while on, every pattern compiled is remembered
 * (serialized); ls_matcher_record_table() appends them to out as C source
 * (ls_builtin_regexes[], ls_builtin_nregexes) and forgets them. 0 or
 * LS_ENOMEM. */
void ls_matcher_record(int on);
int ls_matcher_record_table(struct ls_buf *out);

/* Runs the regex on subject. Returns 1 on a match, 0 on none, LS_ENOMEM
 * when the match hit a limit (10^7 backtracking steps, a 1 MiB JIT stack or
 * 64 MiB of interpreter frames: a catastrophic pattern on this subject;
 * counted by ls_matcher_limit_hits()) or could not get memory for its frames
 * (counted by ls_matcher_nomem_hits()), LS_EINVAL when PCRE2 fails otherwise.
 * Callers treat any negative value as no match. Captures stay valid until
 * the next exec on this matcher. */
int ls_matcher_exec(struct ls_matcher *m, const char *subject, size_t len);

/* How many matches, over all matchers of the process, stopped at a limit
 * (see ls_matcher_exec()); compare before and after a line to know whether
 * it was matched in full. */
unsigned long ls_matcher_limit_hits(void);

/* How many matches, over all matchers of the process, could not run for
 * lack of memory: their "no match" is not an answer (see ls_stream_line()). */
unsigned long ls_matcher_nomem_hits(void);

/* Named groups, in the order of their numbers (0 for a deferred matcher
 * before its first exec). */
int ls_matcher_ngroups(const struct ls_matcher *m);
/* The field name (decoded, NUL-terminated, owned by the matcher) and type
 * (enum ls_ftype) of named group i. */
const char *ls_matcher_group_field(const struct ls_matcher *m, int i, int *type);
/* After a match: the span of named group i; 0 when set, -1 when unset. */
int ls_matcher_group(const struct ls_matcher *m, int i, const char **s, size_t *len);
/* After a match: the span of the whole match. */
void ls_matcher_span(const struct ls_matcher *m, size_t *start, size_t *end);

#endif

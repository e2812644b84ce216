/* litcache_none.c - empty tables of built-in rule prefilters and compiled
 * regular expressions, for the
 * programs that make the real one (tools/litcache.c) or test the
 * derivation itself (the fuzz harnesses): every rule derives its own. */
#include "../parsers/matcher.h"
#include "../parsers/rules.h"

const struct ls_lit_entry ls_builtin_literals[] = { { 0, 0, 0, 0, 0, 0 } };
const size_t ls_builtin_nliterals = 0;
const struct ls_precompiled ls_builtin_regexes[] = { { 0, 0, 0, 0, 0 } };
const size_t ls_builtin_nregexes = 0;

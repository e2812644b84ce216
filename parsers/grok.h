/* grok.h - grok-style macros (%{IP:source.ip}, %{NUMBER:bytes:int}) expanded
 * into PCRE2 syntax. The macro set is data (grok entries in patterns/). */
#ifndef LS_GROK_H
#define LS_GROK_H

#include <stddef.h>

#include "error.h"

struct ls_grok;

/* An empty macro set. Caller frees with ls_grok_free(). */
int ls_grok_new(struct ls_grok **out);
void ls_grok_free(struct ls_grok *g);

/* Defines (or redefines) macro name as regex (which may use other macros). */
int ls_grok_define(struct ls_grok *g, const char *name, const char *regex);
int ls_grok_has(const struct ls_grok *g, const char *name);

/* The fields a grok expansion captures: group "_g<k>" is fields[k], written
 * "name" or "name:int" / "name:float". */
struct ls_grok_fields {
	int n;
	char **fields; /* owned */
};

/* Expands every %{NAME[:field[:type]]} in pattern. A field becomes the named
 * group "_g<k>" with fields->fields[k] = "field[:type]" (PCRE2 names are
 * short and cannot hold dots). Raw named groups are left as they are.
 * Returns the new string (caller frees with free(), and fields with
 * ls_grok_fields_release()) or NULL with err set (unknown macro, recursion
 * deeper than 32). */
char *ls_grok_expand(const struct ls_grok *g, const char *pattern,
		     struct ls_grok_fields *fields, struct ls_error *err);
void ls_grok_fields_release(struct ls_grok_fields *fields);

/* A copy of pattern of the same length in which each %{...} macro is
 * replaced by an empty group "(?:xx..)" of its length, so a regex error in
 * the user's own text is reported at the offset the user typed. Caller
 * frees with free(); NULL when out of memory. */
char *ls_grok_placeholder(const char *pattern);

/* Names of the macros, for `logship patterns`; count in *n. */
const char *ls_grok_name(const struct ls_grok *g, int i);
int ls_grok_count(const struct ls_grok *g);

#endif

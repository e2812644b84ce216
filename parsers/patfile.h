/* patfile.h - the text format shared by formats, rules, thresholds and grok
 * macros (patterns/NAME.pattern):
 *
 *   # a comment
 *   KIND NAME                 an entry starts at column 0 (format, rule,
 *     key: value              threshold, grok); its properties are indented
 *     key: value              "key: value" lines, in order, keys repeatable
 *
 * Blank lines and lines whose first non-blank character is '#' are skipped.
 * Values run to the end of the line (trailing blanks removed). Lines may end
 * in CRLF and the file may start with a UTF-8 byte order mark; a NUL byte,
 * a line longer than LS_PATFILE_LINE_MAX and a name longer than
 * LS_PATFILE_NAME_MAX or holding a blank or control character are errors. */
#ifndef LS_PATFILE_H
#define LS_PATFILE_H

#include <stddef.h>

#include "error.h"

#define LS_PATFILE_LINE_MAX 65536
#define LS_PATFILE_NAME_MAX 256

struct ls_pprop {
	const char *key;
	const char *value;
	int line;
};

struct ls_pentry {
	const char *kind;
	const char *name;
	const char *origin; /* file name for messages */
	int line;           /* line of the entry header */
	int broken;         /* a syntax error in it, or set by the loader:
			     * the entry did not load */
	int nprops;
	struct ls_pprop *props;
};

struct ls_patfile {
	int nentries;
	struct ls_pentry *entries;
	char *text; /* owned copy the strings point into */
	int nerrors;
	char **errors; /* owned: every syntax error, "origin:line: message" */
};

/* Parses text (len bytes) from origin. A syntax error costs only its entry:
 * a bad property line marks the entry broken, a bad header drops the entry
 * and its properties, and parsing goes on. Returns 0, or LS_EINVAL with the
 * first error in err and every one in (*out)->errors, as "origin:line:
 * message"; a NUL byte refuses the whole file (no entries), LS_ENOMEM stops.
 * Caller frees *out with ls_patfile_free() (also on error, when *out is not
 * NULL). */
int ls_patfile_parse(const char *text, size_t len, const char *origin,
		     struct ls_patfile **out, struct ls_error *err);
void ls_patfile_free(struct ls_patfile *pf);

/* The first value of key in e, or NULL. */
const char *ls_pentry_get(const struct ls_pentry *e, const char *key);

/* Severity names: "informational"→1 … "critical"→5; 0 when unknown. */
int ls_level_from_name(const char *name);
const char *ls_level_name(int level);

#endif

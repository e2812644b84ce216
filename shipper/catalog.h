/* catalog.h - every pattern file logship knows: the built-in ones compiled
 * into the binary, then $(PREFIX)/share/logship/patterns,
 * $XDG_CONFIG_HOME/logship/patterns and --patterns DIR, later ones adding to
 * or overriding earlier entries by name. Holds the grok macros, the formats
 * and the security rules built from them. */
#ifndef LS_CATALOG_H
#define LS_CATALOG_H

#include "../parsers/error.h"
#include "../parsers/formats.h"
#include "../parsers/grok.h"
#include "../parsers/patfile.h"
#include "../parsers/rules.h"

struct ls_catalog {
	struct ls_grok *grok;
	struct ls_formats *formats;
	struct ls_rules *rules;
	int nfiles;
	int nbuiltin;              /* files[0, nbuiltin) are the built-in ones */
	struct ls_patfile **files; /* owned; entries point into them */
	char **origins;            /* owned file names */
	int nwarnings;             /* broken entries skipped while loading */
};

/* Called for each broken file or entry (the message names file and line). */
typedef void (*ls_catalog_warn_fn)(void *ctx, const char *msg);

/* Loads the built-in patterns, the system and user directories and
 * user_dir (--patterns, may be NULL). A broken entry is reported through
 * warn and skipped; the rest still load. Returns 0, or a negative code when
 * nothing usable could be loaded (user_dir unreadable). Caller frees with
 * ls_catalog_free(). */
int ls_catalog_load(struct ls_catalog **out, const char *user_dir,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err);

/* For ls_catalog_load_builtin(): derive the built-in rules' prefilters
 * instead of taking them from the table made at build time, and compile
 * their regexes now instead of at first use (a broken one is reported). */
#define LS_CATALOG_DERIVE 1u

/* Loads the built-in patterns only (for tools and tests); flags is 0 or
 * LS_CATALOG_DERIVE. Returns 0 or LS_ENOMEM; caller frees with
 * ls_catalog_free() (also after an error). */
int ls_catalog_load_builtin(struct ls_catalog **out, unsigned flags,
			    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err);

/* Loads one more pattern file (path) on top; broken entries are reported
 * through warn. Returns the number of broken entries, or a negative code when
 * the file cannot be read. */
int ls_catalog_load_file(struct ls_catalog *c, const char *path,
			 ls_catalog_warn_fn warn, void *ctx, struct ls_error *err);

void ls_catalog_free(struct ls_catalog *c);

/* Compiles regex with its %{...} macros stubbed out (ls_grok_placeholder()),
 * so that an error in the text the user typed is found at the offset the
 * user typed: 0, LS_EREGEX with "regex error at offset N: ..." in err, or
 * LS_ENOMEM. For -e and the match: lines of user pattern files. */
int ls_catalog_check_regex(const char *regex, struct ls_error *err);

#endif

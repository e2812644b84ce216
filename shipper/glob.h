/* glob.h - path patterns for tail and ship: `*`, `?`, `[...]` (with `!`/`^`
 * negation and ranges) within one path component, `**` as a whole component
 * for any depth (zero or more directories), and --exclude patterns. A set of
 * patterns is scanned to find the files that exist now and the directories a
 * watcher must watch to see files (and directories) that appear later. */
#ifndef LS_GLOB_H
#define LS_GLOB_H

#include <sys/stat.h>

#include "../parsers/error.h"

struct ls_globset;

/* Matches a whole path against one pattern: `*` and `?` never match `/`;
 * `**` as a whole component matches zero or more components (so "a/(**)"
 * matches "a" too; `**` inside a component, as in "a**b", is one `*`); a
 * leading `.` in a name is matched by wildcards like any other character (log
 * names such as .hidden.log are rare and users expect them to be followed).
 * A backslash makes the next character literal. Runs of `/` count as one and
 * leading "./" are ignored on both sides ("./logs/a.log" matches
 * "logs/(*).log"). An absolute path matches only an absolute pattern, or a
 * relative one starting with `**` (like an exclude "(**)/old/(**)").
 * An unterminated `[` matches itself here (ls_globset_new refuses it).
 * Returns 1 on a match, 0 otherwise. */
int ls_glob_match(const char *pattern, const char *path);

/* Builds a set from include patterns (at least one) and exclude patterns
 * (any number; an exclude matches the whole path, or the file's base name when
 * the exclude has no `/`, like --exclude '*.gz'). Relative patterns stay
 * relative (paths reported are relative to the working directory, as typed).
 * Patterns are copied. LS_EINVAL, the message naming the pattern, for an
 * empty pattern, one that is only `/`, or an unterminated `[`. Caller
 * frees with ls_globset_free(). */
int ls_globset_new(struct ls_globset **out, const char *const *include, int ninclude,
		   const char *const *exclude, int nexclude, struct ls_error *err);
void ls_globset_free(struct ls_globset *g);

/* 1 when path matches an include pattern and no exclude pattern. */
int ls_globset_match(const struct ls_globset *g, const char *path);

/* 1 when dir (a directory path, spelt as the patterns spell it: "logs",
 * "logs/a", "/var/log") may contain, at any depth the patterns allow, a path
 * that matches: i.e. the directory must be watched and scanned. 0 when an
 * exclude ending in "/(**)" matches dir: everything below it is excluded. */
int ls_globset_wants_dir(const struct ls_globset *g, const char *dir);

/* Called for each match during a scan. path is valid only during the call;
 * st is the stat() of the path (symlinks followed). Return negative to stop
 * the scan (the value is passed back). */
typedef int (*ls_glob_file_fn)(void *ctx, const char *path, const struct stat *st);
/* Called for each existing directory that must be watched (the static part
 * of each pattern, e.g. "logs" for the pattern logs/(**)/x.log, and every directory
 * below it that ls_globset_wants_dir accepts), before the directory is read:
 * one that then cannot be read has been reported all the same. The static
 * part of a pattern with no directory ("*.log") is reported as ".". */
typedef int (*ls_glob_dir_fn)(void *ctx, const char *dir);

/* Walks the file system for every include pattern: calls dir_fn (may be NULL)
 * once per directory to watch and file_fn once per regular file (or symlink
 * to one) that matches and is not excluded. Paths are spelt as the pattern
 * spells its base directory, then "/" and the names below it: "logs/a.log"
 * for logs/(*).log, "./logs/a.log" for ./logs/(*).log, "/var/log/syslog"
 * for /var/log/(*), and "a.log", not "./a.log", for (*).log. Each path is
 * reported once even when several patterns match it (the first pattern's
 * spelling wins when they spell it differently). Directories that cannot be
 * read are skipped silently (a pattern may name a directory that appears
 * later); a literal pattern (no wildcard) naming a missing file is not an
 * error. A directory already on the current path (a symlink loop) is not
 * entered again, and symlinked directories are followed at most 8 levels
 * deep, unless the pattern names the directory literally (logs/(*)/../x.log
 * goes back up on purpose). The walk uses no more memory than the deepest
 * path needs, plus, with several include patterns, the set of paths already
 * reported.
 * Returns 0, a callback's negative value, LS_ENOMEM, or LS_EIO when out of
 * file descriptors. */
int ls_globset_scan(const struct ls_globset *g, ls_glob_file_fn file_fn,
		    ls_glob_dir_fn dir_fn, void *ctx, struct ls_error *err);

/* The literal directory prefix of pattern i: the longest leading run of
 * components without a wildcard, not counting the last component (the file
 * name), with its escapes removed: "logs/app" for logs/app/(*).log, "logs"
 * for logs/a.log, "/" for /(*).log, "." when none. Written into buf (size n,
 * truncated to fit); returns buf. */
const char *ls_globset_base(const struct ls_globset *g, int i, char *buf, size_t n);
int ls_globset_count(const struct ls_globset *g);

/* Include pattern i, normalised (runs of `/` made one, no trailing `/`),
 * for ls_glob_match() and messages; owned by g. */
const char *ls_globset_pattern(const struct ls_globset *g, int i);

/* When include pattern i has no wildcard (it names one path, like
 * /var/log/syslog or a\*b.log), that path with its escapes removed,
 * written into buf (size n); else NULL (NULL too when it does not fit). */
const char *ls_globset_literal(const struct ls_globset *g, int i, char *buf, size_t n);

#endif

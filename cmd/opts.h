/* opts.h - option tables: one table per subcommand drives getopt_long, the
 * --help text and "did you mean" suggestions for unknown options. */
#ifndef LS_OPTS_H
#define LS_OPTS_H

#include <stddef.h>

struct ls_opt {
	const char *name;  /* long name without "--" */
	int key;           /* short letter, or a value >= 256 */
	int has_arg;       /* 0 no, 1 required */
	const char *arg;   /* argument name for help ("NAME") */
	const char *help;  /* one line */
};

/* Parses argv with the NULL-terminated table; calls handle(ctx, key, arg)
 * for each option (a negative return stops with that code). Unknown options
 * and missing arguments print "logship SUB: ..." with the closest option
 * name and return -2. On success *first_operand is the index of the first
 * non-option argument. */
int ls_opts_parse(const char *sub, const struct ls_opt *table, int argc,
		  char **argv, int (*handle)(void *ctx, int key, const char *arg),
		  void *ctx, int *first_operand);

/* Prints usage (one line) and one line per option to stdout. */
void ls_opts_help(const char *usage, const char *summary, const struct ls_opt *table);

/* The table entry closest to name (edit distance, most of the name kept),
 * or NULL. */
const char *ls_opts_suggest(const struct ls_opt *table, const char *name);

/* What an unknown name (up to a '=') may have meant, written to out as
 * "'--max-count' or '--max-line'" (each name after dashes): the entries
 * it is the beginning of, else the closest one by edit distance. Returns
 * how many names fit that (more than are shown when many do), 0 when none
 * is near (out is then ""). */
int ls_opts_suggestions(const struct ls_opt *table, const char *name, const char *dashes,
			char *out, size_t size);

/* Parses a size with an optional K/M/G suffix; -1 when invalid. */
long long ls_opts_size(const char *s);

/* Parses a duration: a number with ms, s, m, h or d, or a bare number in
 * unit_ms. Returns ms, or -1 when invalid. */
long long ls_opts_duration_ms(const char *s, long long unit_ms);

/* Standard error message for the command sub: "logship SUB: message". */
void ls_die_msg(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

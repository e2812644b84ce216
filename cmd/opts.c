/* opts.c - table-driven option parsing with getopt_long. */
#include "opts.h"
#include "progress.h"

#include "../parsers/text.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTS 64

void ls_die_msg(const char *sub, const char *fmt, ...)
{
	va_list ap;

	ls_progress_erase();
	fprintf(stderr, sub ? "logship %s: " : "logship: ", sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The entries whose name begins with the len bytes of name: up to max in
 * found; returns how many there are in all. */
static int prefix_matches(const struct ls_opt *table, const char *name, size_t len,
			  const char **found, int max)
{
	int n = 0;

	for (const struct ls_opt *o = table; o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (n < max)
			found[n] = o->name;
		n++;
	}
	return n;
}

const char *ls_opts_suggest(const struct ls_opt *table, const char *name)
{
	const char *best = NULL;
	int best_d = INT_MAX;

	for (const struct ls_opt *o = table; o->name; o++) {
		int d = ls_edit_distance(name, o->name);
		if (d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	/* three edits turn "max" into "tz": a guess is only offered when
	 * most of the name stays */
	if (best_d > 3 || 2 * best_d > (int)strlen(name) + 1)
		return NULL;
	return best;
}

int ls_opts_suggestions(const struct ls_opt *table, const char *name, const char *dashes,
			char *out, size_t size)
{
	enum { MAX_SHOWN = 6 };
	const char *found[MAX_SHOWN];
	size_t len = strcspn(name, "=");
	int n = len ? prefix_matches(table, name, len, found, MAX_SHOWN) : 0;
	size_t used = 0;

	if (n == 0) {
		char exact[128];
		snprintf(exact, sizeof(exact), "%.*s", (int)len, name);
		found[0] = ls_opts_suggest(table, exact);
		n = found[0] != NULL;
	}
	out[0] = '\0';
	for (int i = 0; i < n && i < MAX_SHOWN && used < size; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		if (i + 1 == MAX_SHOWN && n > MAX_SHOWN)
			sep = ", ";
		used += (size_t)snprintf(out + used, size - used, "%s'%s%s'", sep, dashes, found[i]);
	}
	if (n > MAX_SHOWN && used < size)
		snprintf(out + used, size - used, " or %d more", n - MAX_SHOWN);
	return n;
}

long long ls_opts_size(const char *s)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || v < 0 || errno == ERANGE)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	/* "8796093022208G" would wrap round to 0 (-m 0: print nothing) */
	if (v > LLONG_MAX >> shift)
		return -1;
	v <<= shift;
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	return *end ? -1 : v;
}

long long ls_opts_duration_ms(const char *s, long long unit_ms)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		unit_ms = 1;
	else if (strcmp(end, "s") == 0)
		unit_ms = 1000;
	else if (strcmp(end, "m") == 0)
		unit_ms = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		unit_ms = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		unit_ms = 86400LL * 1000;
	else if (*end)
		return -1;
	if (v > (long long)1 << 40)
		return -1;
	return v * unit_ms;
}

/* The entry whose key is key, or NULL. */
static const struct ls_opt *by_key(const struct ls_opt *table, int key)
{
	for (const struct ls_opt *o = table; o->name; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* Reports what getopt_long refused: arg is the word as typed, optopt its
 * optopt (0: an unknown or ambiguous long option). */
static void report_unknown(const char *sub, const struct ls_opt *table, const char *arg,
			   int opt)
{
	const struct ls_opt *o = opt ? by_key(table, opt) : NULL;
	char near[512];
	int n = 0;

	/* a known key here is a long option given "=value" it does not take
	 * (an unknown short letter is never a key) */
	if (o) {
		size_t len = strlen(o->name);
		if (strncmp(arg + 2, o->name, len) == 0 && arg[len + 2] == '=')
			ls_die_msg(sub, "option '--%s' takes no argument", o->name);
		else
			ls_die_msg(sub, "option '--%s' takes no argument (in '%s')", o->name, arg);
		return;
	}
	if (arg[0] == '-' && arg[1] == '-') {
		const char *found[2];
		size_t len = strcspn(arg + 2, "=");
		n = ls_opts_suggestions(table, arg + 2, "--", near, sizeof(near));
		if (len && prefix_matches(table, arg + 2, len, found, 2) > 1) {
			ls_die_msg(sub, "ambiguous option '%.*s'; did you mean %s?", (int)len + 2, arg,
				   near);
			return;
		}
	}
	if (n)
		ls_die_msg(sub, "unknown option '%s'; did you mean %s?", arg, near);
	else
		ls_die_msg(sub, "unknown option '%s' (see 'logship help %s')", arg, sub);
}

int ls_opts_parse(const char *sub, const struct ls_opt *table, int argc,
		  char **argv, int (*handle)(void *ctx, int key, const char *arg),
		  void *ctx, int *first_operand)
{
	struct option longopts[MAX_OPTS + 1];
	char shorts[2 * MAX_OPTS + 2] = ":";
	int n = 0, c, rc;

	memset(longopts, 0, sizeof(longopts));
	for (const struct ls_opt *o = table; o->name && n < MAX_OPTS; o++, n++) {
		longopts[n].name = o->name;
		longopts[n].has_arg = o->has_arg ? required_argument : no_argument;
		longopts[n].val = o->key;
		if (o->key < 256) {
			size_t l = strlen(shorts);
			shorts[l] = (char)o->key;
			shorts[l + 1] = '\0';
			if (o->has_arg)
				strcat(shorts, ":");
		}
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		if (c == '?') {
			char letter[3] = {'-', (char)optopt, 0};
			int is_long = optopt == 0 || by_key(table, optopt) != NULL;
			report_unknown(sub, table, is_long ? argv[optind - 1] : letter, optopt);
			return -2;
		}
		if (c == ':') {
			const struct ls_opt *o = by_key(table, optopt);
			/* the word holding the option: "--format", "-f" or "-cf" */
			const char *word = argv[optind - 1];
			if (o && word[0] == '-' && word[1] == '-')
				ls_die_msg(sub, "option '--%s' needs an argument (%s)", o->name, o->arg);
			else
				ls_die_msg(sub, "option '-%c' needs an argument (%s)", optopt,
					   o ? o->arg : "a value");
			return -2;
		}
		rc = handle(ctx, c, optarg);
		if (rc < 0)
			return rc;
	}
	*first_operand = optind;
	return 0;
}

void ls_opts_help(const char *usage, const char *summary, const struct ls_opt *table)
{
	printf("usage: %s\n\n%s\n\noptions:\n", usage, summary);
	for (const struct ls_opt *o = table; o->name; o++) {
		char left[64];
		if (o->key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-34s %s\n", left, o->help);
	}
}

/* opts.c - table-driven option parsing with getopt_long. */
#include "opts.h"
#include "progress.h"

#include "../parsers/text.h"

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
	return best_d <= 3 ? best : NULL;
}

long long ls_opts_size(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
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

static void report_unknown(const char *sub, const struct ls_opt *table, const char *arg)
{
	const char *near = NULL;
	char name[128];

	if (arg[0] == '-' && arg[1] == '-') {
		snprintf(name, sizeof(name), "%s", arg + 2);
		name[strcspn(name, "=")] = '\0';
		near = ls_opts_suggest(table, name);
	}
	if (near)
		ls_die_msg(sub, "unknown option '%s'; did you mean '--%s'?", arg, near);
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
			char tmp[3] = {'-', (char)optopt, 0};
			report_unknown(sub, table, optopt ? tmp : argv[optind - 1]);
			return -2;
		}
		if (c == ':') {
			ls_die_msg(sub, "option '%s' needs an argument", argv[optind - 1]);
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

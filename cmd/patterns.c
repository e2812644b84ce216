/* patterns.c - `logship patterns list | show NAME | test [NAME|FILE]`. */
#include "commands.h"
#include "opts.h"
#include "output.h"


#include "../parsers/patfile.h"
#include "../shipper/pipeline.h"
#include "../shipper/selftest.h"

/* 2023-11-15T00:00:00Z */
#define PATTERNS_EXAMPLES_NOW_MS 1700006400000LL

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_PATTERNS = 256 };

static const struct ls_opt patterns_opts[] = {
	{"patterns", OPT_PATTERNS, 1, "DIR", "load extra format and rule files from DIR"},
	{"help", 'h', 0, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}
};

struct pat_ctx {
	const char *dir;
	int help;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct pat_ctx *c = vctx;

	switch (key) {
	case OPT_PATTERNS: c->dir = arg; break;
	case 'h': c->help = 1; break;
	default: return -2;
	}
	return 0;
}

void cmd_patterns_help(void)
{
	ls_opts_help("logship patterns list | show NAME | test [NAME|FILE]",
		     "Lists, shows and tests the formats, security rules, thresholds and grok\n"
		     "macros (built in, $XDG_CONFIG_HOME/logship/patterns, --patterns DIR).\n"
		     "test runs every example and counterexample; exit 1 on a mismatch.",
		     patterns_opts);
}

static int count_props(const struct ls_pentry *e, const char *key)
{
	int n = 0;

	for (int i = 0; i < e->nprops; i++)
		n += strcmp(e->props[i].key, key) == 0;
	return n;
}

static int do_list(struct ls_catalog *cat)
{
	printf("%-9s %-34s %-28s %8s  %s\n", "KIND", "NAME", "DATASET/PROGRAM", "EXAMPLES", "FILE");
	for (int f = 0; f < cat->nfiles; f++) {
		const struct ls_patfile *pf = cat->files[f];
		for (int i = 0; i < pf->nentries; i++) {
			const struct ls_pentry *e = &pf->entries[i];
			const char *ds = ls_pentry_get(e, "dataset");
			if (!ds)
				ds = ls_pentry_get(e, "program");
			if (strcmp(e->kind, "grok") == 0)
				continue;
			printf("%-9s %-34s %-28.28s %8d  %s:%d\n", e->kind, e->name, ds ? ds : "-",
			       count_props(e, "example") + count_props(e, "counterexample"),
			       e->origin, e->line);
		}
	}
	return 0;
}

static const struct ls_pentry *find_entry(struct ls_catalog *cat, const char *name)
{
	const struct ls_pentry *found = NULL;

	/* later files override earlier ones: keep the last definition */
	for (int f = 0; f < cat->nfiles; f++)
		for (int i = 0; i < cat->files[f]->nentries; i++)
			if (strcmp(cat->files[f]->entries[i].name, name) == 0)
				found = &cat->files[f]->entries[i];
	return found;
}

/* What the engine made of a rule: technique names and the prefilter. */
static void show_rule_notes(const struct ls_rules *r, const struct ls_pentry *e)
{
	const char *lit;
	int caseless;

	for (int i = 0; i < e->nprops; i++) {
		const char *name;
		if (strcmp(e->props[i].key, "technique") != 0)
			continue;
		name = ls_rules_technique_name(r, e->props[i].value);
		if (name)
			printf("# technique %s: %s\n", e->props[i].value, name);
	}
	printf("# prefilter%s:", ls_rules_widened(r, e->name) ?
	       " (widened: the literals did not cover every match)" : "");
	for (int i = 0; (lit = ls_rules_literal(r, e->name, i, &caseless)) != NULL; i++) {
		printf(" \"");
		for (const unsigned char *c = (const unsigned char *)lit; *c; c++)
			printf(*c < 0x20 || *c == '"' || *c == '\\' ? "\\x%02x" : "%c", *c);
		printf("\"%s", caseless ? "(i)" : "");
	}
	printf("\n");
}

static int do_show(struct ls_catalog *cat, const char *name)
{
	const struct ls_pentry *e = find_entry(cat, name);

	if (!e) {
		int idx = ls_formats_find(cat->formats, name);
		if (idx >= 0)
			e = ls_formats_entry(cat->formats, idx);
	}
	if (!e) {
		const char *near = ls_formats_suggest(cat->formats, name);
		if (near)
			ls_die_msg("patterns", "unknown pattern '%s'; did you mean '%s'?", name, near);
		else
			ls_die_msg("patterns", "unknown pattern '%s' (see 'logship patterns list')", name);
		return 2;
	}
	printf("# %s:%d\n%s %s\n", e->origin, e->line, e->kind, e->name);
	for (int i = 0; i < e->nprops; i++)
		printf("  %s: %s\n", e->props[i].key, e->props[i].value);
	if (strcmp(e->kind, "rule") == 0)
		show_rule_notes(cat->rules, e);
	return 0;
}

static void on_fail(void *ctx, const struct ls_pentry *e, const char *example,
		    int line, const char *why, const char *json)
{
	(void)ctx;
	printf("FAIL %s %s (%s:%d): %s\n  line: %s\n", e->kind, e->name, e->origin,
	       line, why, example);
	if (json)
		printf("  got:  %s\n", json);
}

static int do_test(struct ls_pipeline *p, const char *name, const char *file)
{
	struct ls_selftest_result res;

	if (ls_selftest_run(p, name, file, on_fail, NULL, &res) < 0) {
		ls_die_msg("patterns", "out of memory");
		return 2;
	}
	if (res.entries == 0) {
		if (name || file)
			ls_die_msg("patterns", "no format or rule named '%s'", name ? name : file);
		else
			ls_die_msg("patterns", "no formats or rules are loaded");
		return 2;
	}
	printf("patterns: %d entries, %d examples: %d passed, %d failed\n", res.entries,
	       res.examples, res.examples - res.failed, res.failed);
	return res.failed ? 1 : 0;
}

int cmd_patterns(int argc, char **argv)
{
	struct pat_ctx c = {0};
	struct ls_pipeline_opts po = {0};
	struct ls_pipeline *p = NULL;
	struct ls_error err = {0, ""};
	struct stat st;
	const char *verb, *arg, *file = NULL;
	int first, rc = 2;

	if (ls_opts_parse("patterns", patterns_opts, argc, argv, handle_opt, &c, &first) < 0)
		return 2;
	if (c.help) {
		cmd_patterns_help();
		return 0;
	}
	if (first >= argc) {
		ls_die_msg("patterns", "expected list, show NAME or test [NAME|FILE]");
		return 2;
	}
	verb = argv[first];
	arg = first + 1 < argc ? argv[first + 1] : NULL;
	po.patterns_dir = c.dir;
	po.format = "auto";
	if (ls_now_ms(&po.now_ms) < 0)
		return 2;
	/* examples are written against a fixed "now" (year-less times take
	 * 2023), so they pass on any date unless LOGSHIP_NOW says otherwise */
	if (!getenv("LOGSHIP_NOW") || !*getenv("LOGSHIP_NOW"))
		po.now_ms = PATTERNS_EXAMPLES_NOW_MS;
	if (ls_pipeline_new(&p, &po, ls_warn_cb, NULL, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		rc = do_list(ls_pipeline_catalog(p));
	} else if (strcmp(verb, "show") == 0 && arg) {
		rc = do_show(ls_pipeline_catalog(p), arg);
	} else if (strcmp(verb, "test") == 0) {
		if (arg && stat(arg, &st) == 0 && S_ISREG(st.st_mode)) {
			if (ls_catalog_load_file(ls_pipeline_catalog(p), arg, ls_warn_cb, NULL, &err) < 0) {
				ls_die_msg("patterns", "%s", err.msg);
				goto out;
			}
			file = arg;
		}
		rc = do_test(p, file ? NULL : arg, file);
		if (ls_pipeline_catalog(p)->nwarnings && rc == 0)
			rc = 1;
	} else {
		ls_die_msg("patterns", "unknown '%s' (list, show NAME, test [NAME|FILE])", verb);
	}
out:
	ls_pipeline_free(p);
	return rc;
}

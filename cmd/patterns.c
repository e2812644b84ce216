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

enum { OPT_PATTERNS = 256, OPT_NAMES, OPT_KIND };

static const struct ls_opt patterns_opts[] = {
	{"patterns", OPT_PATTERNS, 1, "DIR", "load extra format and rule files from DIR"},
	{"names", OPT_NAMES, 0, NULL, "list: print only the names, one per line (for scripts)"},
	{"kind", OPT_KIND, 1, "KIND", "list: only entries of KIND: format, rule or threshold"},
	{"help", 'h', 0, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}
};

struct pat_ctx {
	const char *dir;
	const char *kind; /* --kind, NULL: every kind */
	int names_only;
	int help;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct pat_ctx *c = vctx;

	switch (key) {
	case OPT_PATTERNS: c->dir = arg; break;
	case OPT_NAMES: c->names_only = 1; break;
	case OPT_KIND:
		if (strcmp(arg, "format") && strcmp(arg, "rule") && strcmp(arg, "threshold")) {
			ls_die_msg("patterns", "unknown kind '%s' (format, rule, threshold)", arg);
			return -2;
		}
		c->kind = arg;
		break;
	case 'h': c->help = 1; break;
	default: return -2;
	}
	return 0;
}

void cmd_patterns_help(void)
{
	ls_opts_help("logship patterns list [--names] [--kind KIND] | show NAME | test [NAME|FILE]",
		     "Lists, shows and tests the formats, security rules, thresholds and grok\n"
		     "macros (built in, $XDG_CONFIG_HOME/logship/patterns, --patterns DIR).\n"
		     "list --names prints each name once (an overridden entry's last\n"
		     "definition), as the shell completions ask for them.\n"
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

/* The definition of name in use: the last one that loaded (later files
 * override earlier ones); broken: the last one that did not load instead. */
static const struct ls_pentry *find_entry(struct ls_catalog *cat, const char *name,
					  int broken)
{
	const struct ls_pentry *found = NULL;

	for (int f = 0; f < cat->nfiles; f++)
		for (int i = 0; i < cat->files[f]->nentries; i++)
			if (strcmp(cat->files[f]->entries[i].name, name) == 0 &&
			    !cat->files[f]->entries[i].broken == !broken)
				found = &cat->files[f]->entries[i];
	return found;
}

/* 1 when a later file or entry redefines entry i of file f (grok macros
 * are a separate namespace). */
static int overridden(const struct ls_catalog *cat, int f, int i)
{
	const struct ls_pentry *e = &cat->files[f]->entries[i];

	for (i++; f < cat->nfiles; f++, i = 0)
		for (; i < cat->files[f]->nentries; i++) {
			const struct ls_pentry *later = &cat->files[f]->entries[i];
			if (strcmp(later->name, e->name) == 0 && strcmp(later->kind, "grok") != 0 &&
			    !later->broken)
				return 1;
		}
	return 0;
}

/* Prints the table of entries (or only their names, each once: the
 * definition that wins), grok macros left out; kind NULL: every kind. */
static int do_list(struct ls_catalog *cat, const char *kind, int names_only)
{
	if (!names_only)
		printf("%-9s %-34s %-28s %8s  %s\n", "KIND", "NAME", "DATASET/PROGRAM", "EXAMPLES", "FILE");
	for (int f = 0; f < cat->nfiles; f++) {
		const struct ls_patfile *pf = cat->files[f];
		for (int i = 0; i < pf->nentries; i++) {
			const struct ls_pentry *e = &pf->entries[i];
			const char *ds = ls_pentry_get(e, "dataset");
			if (!ds)
				ds = ls_pentry_get(e, "program");
			if (strcmp(e->kind, "grok") == 0 || (kind && strcmp(e->kind, kind) != 0))
				continue;
			if (names_only) {
				if (!overridden(cat, f, i) && !e->broken)
					printf("%s\n", e->name);
				continue;
			}
			printf("%-9s %-34s %-28.28s %8d  %s:%d%s\n", e->kind, e->name, ds ? ds : "-",
			       count_props(e, "example") + count_props(e, "counterexample"),
			       e->origin, e->line, e->broken ? " (broken: not loaded)" :
			       overridden(cat, f, i) ? " (overridden)" : "");
		}
	}
	return 0;
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

/* Names the earlier definitions that e (the one in use) replaces: a
 * user's file overriding a built-in one, or a file overriding another. */
static void show_overridden(const struct ls_catalog *cat, const struct ls_pentry *e)
{
	for (int f = 0; f < cat->nfiles; f++)
		for (int i = 0; i < cat->files[f]->nentries; i++) {
			const struct ls_pentry *o = &cat->files[f]->entries[i];
			if (o != e && strcmp(o->name, e->name) == 0 &&
			    strcmp(o->kind, "grok") != 0 && !o->broken)
				printf("# overrides %s %s at %s:%d\n", o->kind, o->name,
				       o->origin, o->line);
		}
}

static int do_show(struct ls_catalog *cat, const char *name)
{
	const struct ls_pentry *e = find_entry(cat, name, 0);

	if (!e) {
		int idx = ls_formats_find(cat->formats, name);
		if (idx >= 0)
			e = ls_formats_entry(cat->formats, idx);
	}
	if (!e && (e = find_entry(cat, name, 1)) != NULL) {
		printf("# %s:%d: broken, not loaded (see the warning above)\n%s %s\n",
		       e->origin, e->line, e->kind, e->name);
		for (int i = 0; i < e->nprops; i++)
			printf("  %s: %s\n", e->props[i].key, e->props[i].value);
		return 2;
	}
	if (!e) {
		const char *near = ls_formats_suggest(cat->formats, name);
		if (near)
			ls_die_msg("patterns", "unknown pattern '%s'; did you mean '%s'?", name, near);
		else
			ls_die_msg("patterns", "unknown pattern '%s' (see 'logship patterns list')", name);
		return 2;
	}
	printf("# %s:%d\n", e->origin, e->line);
	show_overridden(cat, e);
	printf("%s %s\n", e->kind, e->name);
	for (int i = 0; i < e->nprops; i++)
		printf("  %s: %s\n", e->props[i].key, e->props[i].value);
	if (strcmp(e->kind, "rule") == 0)
		show_rule_notes(cat->rules, e);
	return 0;
}

static void on_fail(void *ctx, const struct ls_pentry *e, const char *example,
		    int line, const char *why, const char *json)
{
	const struct ls_pentry **last_broken = ctx;

	/* its examples fail because it never loaded: said once, not per line */
	if (e->broken) {
		if (*last_broken != e)
			printf("FAIL %s %s (%s:%d): not loaded (see the warning above)\n",
			       e->kind, e->name, e->origin, e->line);
		*last_broken = e;
		return;
	}
	printf("FAIL %s %s (%s:%d): %s\n  line: %s\n", e->kind, e->name, e->origin,
	       line, why, example);
	if (json)
		printf("  got:  %s\n", json);
}

static int do_test(struct ls_pipeline *p, const char *name, const char *file)
{
	struct ls_selftest_result res;
	const struct ls_pentry *last_broken = NULL;

	if (ls_selftest_run(p, name, file, on_fail, &last_broken, &res) < 0) {
		ls_die_msg("patterns", "out of memory");
		return 2;
	}
	if (res.entries == 0) {
		if (file)
			ls_die_msg("patterns", "%s: no format or rule to test in it", file);
		else if (name)
			ls_die_msg("patterns", "no format or rule named '%s'", name);
		else
			ls_die_msg("patterns", "no formats or rules are loaded");
		return 2;
	}
	printf("patterns: %d entries, %d examples: %d passed, %d failed\n", res.entries,
	       res.examples, res.examples - res.failed, res.failed);
	return res.failed ? 1 : 0;
}

/* Loads the file `test FILE` names, unless --patterns or the user's
 * directory loaded it already (its entries would be tested twice). Returns
 * the origin its entries carry (arg, a loaded copy's name, or in path), or
 * NULL with err set. */
static const char *test_file(struct ls_catalog *cat, const char *arg, char *path,
			     size_t pathsz, struct ls_error *err)
{
	struct stat st, loaded;
	const char *origin = arg;

	if (stat(arg, &st) == 0)
		for (int f = cat->nbuiltin; f < cat->nfiles; f++)
			if (stat(cat->origins[f], &loaded) == 0 && loaded.st_dev == st.st_dev &&
			    loaded.st_ino == st.st_ino)
				return cat->origins[f];
	/* patterns/NAME.pattern in a source tree: not the built-in copy of it */
	for (int f = 0; f < cat->nbuiltin; f++)
		if (strcmp(cat->origins[f], arg) == 0) {
			snprintf(path, pathsz, "./%s", arg);
			origin = path;
		}
	if (ls_catalog_load_file(cat, origin, ls_warn_cb, NULL, err) < 0)
		return NULL;
	return origin;
}

/* Refuses what a verb would ignore: a missing or extra operand, list's
 * options with another verb. args, nargs: the operands after the verb.
 * -1 after a message. */
static int check_operands(const struct pat_ctx *c, const char *verb, char **args, int nargs)
{
	int list = strcmp(verb, "list") == 0, show = strcmp(verb, "show") == 0;
	int max = list ? 0 : 1;

	if (!list && !show && strcmp(verb, "test") != 0)
		return 0; /* reported as an unknown verb */
	if (show && nargs == 0) {
		ls_die_msg("patterns", "show needs a NAME (see 'logship patterns list')");
		return -1;
	}
	if (nargs > max) {
		ls_die_msg("patterns", "%s: unexpected argument '%s'", verb, args[max]);
		return -1;
	}
	if (!list && (c->kind || c->names_only)) {
		ls_die_msg("patterns", "%s is an option of list, not of %s",
			   c->kind ? "--kind" : "--names", verb);
		return -1;
	}
	return 0;
}

int cmd_patterns(int argc, char **argv)
{
	struct pat_ctx c = {0};
	struct ls_pipeline_opts po = {0};
	struct ls_pipeline *p = NULL;
	struct ls_error err = {0, ""};
	struct stat st;
	const char *verb, *arg, *file = NULL;
	char path[4096];
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
	if (check_operands(&c, verb, argv + first + 1, argc - first - 1) < 0)
		return 2;
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
		rc = do_list(ls_pipeline_catalog(p), c.kind, c.names_only);
	} else if (strcmp(verb, "show") == 0 && arg) {
		rc = do_show(ls_pipeline_catalog(p), arg);
	} else if (strcmp(verb, "test") == 0) {
		/* a name holds no '/' and does not end in .pattern: such an
		 * argument is a file, also when it is missing */
		if (arg && (stat(arg, &st) == 0 || strchr(arg, '/') ||
			    (strlen(arg) > 8 && strcmp(arg + strlen(arg) - 8, ".pattern") == 0))) {
			file = test_file(ls_pipeline_catalog(p), arg, path, sizeof(path), &err);
			if (!file) {
				ls_die_msg("patterns", "%s", err.msg);
				goto out;
			}
		}
		rc = do_test(p, file ? NULL : arg, file);
		/* a broken entry is an error, not a mismatch: it was never tested */
		if (ls_pipeline_catalog(p)->nwarnings && rc != 2) {
			ls_die_msg("patterns", "%d broken entr%s or file%s (see above)",
				   ls_pipeline_catalog(p)->nwarnings,
				   ls_pipeline_catalog(p)->nwarnings == 1 ? "y" : "ies",
				   ls_pipeline_catalog(p)->nwarnings == 1 ? "" : "s");
			rc = 2;
		}
	} else {
		ls_die_msg("patterns", "unknown '%s' (list, show NAME, test [NAME|FILE])", verb);
	}
out:
	ls_pipeline_free(p);
	return rc;
}

/* The option table, for `logship completion`. */
const struct ls_opt *cmd_patterns_options(void)
{
	return patterns_opts;
}

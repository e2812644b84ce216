/* patterns.c - `logship patterns list | show NAME | test [NAME|FILE]`. */
#include "commands.h"
#include "opts.h"
#include "output.h"

#include "../parsers/json_out.h"

#include "../parsers/patfile.h"
#include "../shipper/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_PATTERNS = 256 };

static const struct ls_opt patterns_opts[] = {
	{"patterns", OPT_PATTERNS, 1, "DIR", "load extra format and rule files from DIR"},
	{"verbose", 'v', 0, NULL, "test: print every example, not only failures"},
	{"help", 'h', 0, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}
};

struct pat_ctx {
	const char *dir;
	int verbose, help;
	/* the example under test */
	const struct ls_pentry *entry;
	const char *example;
	int example_line;
	int counter;        /* a counterexample: the rule must not hit */
	int matched;        /* events seen for this example */
	int failed;
};

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct pat_ctx *c = vctx;

	switch (key) {
	case OPT_PATTERNS: c->dir = arg; break;
	case 'v': c->verbose = 1; break;
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
	return 0;
}

/* Checks one "field=value" or "tag:NAME" expectation against ev. */
static int check_expect(const struct ls_event *ev, const char *expect, char *why, size_t n)
{
	const char *eq = strchr(expect, '=');
	char name[128], tmp[64];
	const char *got;
	size_t glen, vlen;

	if (strncmp(expect, "tag:", 4) == 0) {
		if (ls_event_has_tag(ev, expect + 4))
			return 0;
		snprintf(why, n, "tag '%s' missing", expect + 4);
		return -1;
	}
	if (!eq || eq == expect || (size_t)(eq - expect) >= sizeof(name)) {
		snprintf(why, n, "bad expect line '%s' (field=value or tag:NAME)", expect);
		return -1;
	}
	memcpy(name, expect, (size_t)(eq - expect));
	name[eq - expect] = '\0';
	vlen = strlen(eq + 1);
	if (strcmp(name, "event.severity") == 0 && !ls_event_get(ev, name)) {
		snprintf(tmp, sizeof(tmp), "%d", ev->severity);
		got = tmp;
		glen = strlen(tmp);
	} else if (!ls_output_field(ev, name, tmp, &got, &glen)) {
		snprintf(why, n, "field %s: expected '%s', got nothing", name, eq + 1);
		return -1;
	}
	if (glen == vlen && memcmp(got, eq + 1, vlen) == 0)
		return 0;
	/* a list matches when one of its items is the expected value */
	for (const char *s = got, *end = got + glen; s < end;) {
		const char *sep = memchr(s, LS_LIST_SEP, (size_t)(end - s));
		size_t l = sep ? (size_t)(sep - s) : (size_t)(end - s);
		if (l == vlen && memcmp(s, eq + 1, vlen) == 0)
			return 0;
		s += l + 1;
	}
	snprintf(why, n, "field %s: expected '%s', got '%.*s'", name, eq + 1, (int)glen, got);
	return -1;
}

static void fail(struct pat_ctx *c, const char *why, const struct ls_event *ev)
{
	struct ls_buf b;

	c->failed++;
	printf("FAIL %s %s (%s:%d): %s\n  line: %s\n", c->entry->kind, c->entry->name,
	       c->entry->origin, c->example_line, why, c->example);
	if (!ev)
		return;
	ls_buf_init(&b, 0);
	if (ls_json_event(&b, ev) == 0)
		printf("  got:  %.*s", (int)b.len, b.data);
	ls_buf_release(&b);
}

/* Checks the expect lines that follow example number `at` of the entry. */
static void check_expects(struct pat_ctx *c, const struct ls_event *ev, int at)
{
	const struct ls_pentry *e = c->entry;
	char why[512];

	for (int i = at + 1; i < e->nprops; i++) {
		if (strcmp(e->props[i].key, "expect") != 0)
			break;
		if (check_expect(ev, e->props[i].value, why, sizeof(why)) < 0) {
			fail(c, why, ev);
			return;
		}
	}
}

static int current_prop;

/* Receives the events of a rule example (the alert events are skipped). */
static int on_rule_event(void *vctx, struct ls_event *ev)
{
	struct pat_ctx *c = vctx;
	const struct ls_field *rid = ls_event_get(ev, "rule.id");
	int hit = rid && strlen(c->entry->name) == rid->len &&
		  memcmp(rid->val, c->entry->name, rid->len) == 0;
	char why[256];

	const struct ls_field *kind = ls_event_get(ev, "event.kind");

	if (kind && kind->len == 5 && memcmp(kind->val, "alert", 5) == 0)
		return 0;
	if (c->matched++)
		return 0;
	if (c->counter) {
		if (hit)
			fail(c, "counterexample hits the rule", ev);
		return 0;
	}
	if (!hit) {
		snprintf(why, sizeof(why), "rule did not hit (rule.id is '%.*s')",
			 rid ? (int)rid->len : 4, rid ? rid->val : "none");
		fail(c, why, ev);
		return 0;
	}
	check_expects(c, ev, current_prop);
	return 0;
}

static void test_rule_example(struct pat_ctx *c, struct ls_pipeline *p, int i)
{
	struct ls_stream *s;

	c->matched = 0;
	if (ls_stream_new(p, &s, NULL, 0) < 0)
		return;
	current_prop = i;
	ls_stream_line(s, c->example, strlen(c->example), 0, 0, on_rule_event, c);
	ls_stream_flush(s, on_rule_event, c);
	ls_stream_free(s);
}

static void test_format_example(struct pat_ctx *c, struct ls_pipeline *p,
				struct ls_event *ev, int i)
{
	struct ls_catalog *cat = ls_pipeline_catalog(p);
	int idx = ls_formats_find(cat->formats, c->entry->name);

	ls_event_reset(ev);
	ev->line = c->example;
	ev->line_len = strlen(c->example);
	ev->ts_ms = ls_pipeline_ts(p)->now_ms;
	if (idx < 0 || ls_formats_parse(cat->formats, idx, ls_pipeline_ts(p), ev,
					c->example, strlen(c->example)) <= 0) {
		fail(c, "the format does not parse its example", NULL);
		return;
	}
	check_expects(c, ev, i);
}

static int entry_selected(const struct ls_pentry *e, const char *name, const char *file)
{
	if (file)
		return strcmp(e->origin, file) == 0;
	return !name || strcmp(e->name, name) == 0;
}

static int do_test(struct ls_pipeline *p, struct pat_ctx *c, const char *name,
		   const char *file)
{
	struct ls_catalog *cat = ls_pipeline_catalog(p);
	struct ls_event ev;
	int examples = 0, entries = 0;

	if (ls_event_init(&ev, 4 << 20) < 0)
		return 2;
	for (int f = 0; f < cat->nfiles; f++) {
		for (int k = 0; k < cat->files[f]->nentries; k++) {
			const struct ls_pentry *e = &cat->files[f]->entries[k];
			int is_rule = strcmp(e->kind, "rule") == 0;
			if (!entry_selected(e, name, file) ||
			    (!is_rule && strcmp(e->kind, "format") != 0))
				continue;
			entries++;
			c->entry = e;
			for (int i = 0; i < e->nprops; i++) {
				const struct ls_pprop *pr = &e->props[i];
				c->counter = strcmp(pr->key, "counterexample") == 0;
				if (strcmp(pr->key, "example") != 0 && !c->counter)
					continue;
				if (c->counter && !is_rule)
					continue;
				c->example = pr->value;
				c->example_line = pr->line;
				examples++;
				if (c->verbose)
					printf("test %s %s:%d\n", e->name, e->origin, pr->line);
				if (is_rule)
					test_rule_example(c, p, i);
				else
					test_format_example(c, p, &ev, i);
			}
		}
	}
	ls_event_release(&ev);
	printf("patterns: %d entries, %d examples, %d failed\n", entries, examples, c->failed);
	if (entries == 0) {
		ls_die_msg("patterns", "no pattern named '%s'", name ? name : file);
		return 2;
	}
	return c->failed ? 1 : 0;
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
		rc = do_test(p, &c, file ? NULL : arg, file);
		if (ls_pipeline_catalog(p)->nwarnings && rc == 0)
			rc = 1;
	} else {
		ls_die_msg("patterns", "unknown '%s' (list, show NAME, test [NAME|FILE])", verb);
	}
out:
	ls_pipeline_free(p);
	return rc;
}

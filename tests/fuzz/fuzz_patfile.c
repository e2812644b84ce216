/* fuzz_patfile.c - the pattern/rule file loader: parsing
 * (parsers/patfile.c) and loading a user file into a catalog
 * (shipper/catalog.c: grok macros, formats, rules and thresholds compiled),
 * then running each loaded format on its example lines and the rules on the
 * events they give.
 *
 * Input: the text of a pattern file. It is loaded on top of the built-in
 * grok macros and ATT&CK list (not the built-in formats and rules, to keep
 * each run fast).
 *
 * Asserts: entries have a known kind, a name and ascending line numbers;
 * property values carry no trailing blanks; an error message names the
 * file; the loader's count of broken entries matches its warnings; parsing
 * an example gives an event with named fields. */
#include "fuzz_util.h"

#include "../../parsers/event.h"
#include "../../parsers/formats.h"
#include "../../parsers/patfile.h"
#include "../../parsers/rules.h"
#include "../../parsers/timestamp.h"
#include "../../shipper/catalog.h"

extern const struct {
	const char *name;
	const char *text;
} ls_builtin_patterns[];

static struct ls_patfile **builtin; /* parsed built-in files, for their grok entries */
static int nbuiltin;
static const char *techniques;
static struct ls_event ev, alert;
static char path[512];
static int warnings;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_isolate_env();
	for (int i = 0; ls_builtin_patterns[i].name; i++) {
		struct ls_patfile *pf = NULL;
		struct ls_error err = { 0, "" };
		const char *text = ls_builtin_patterns[i].text;
		if (strcmp(ls_builtin_patterns[i].name, "attack-techniques.txt") == 0) {
			techniques = text;
			continue;
		}
		FUZZ_CHECK(ls_patfile_parse(text, strlen(text), ls_builtin_patterns[i].name,
					    &pf, &err) == 0, "built-in: %s", err.msg);
		builtin = realloc(builtin, (size_t)(nbuiltin + 1) * sizeof(*builtin));
		FUZZ_CHECK(builtin != NULL, "out of memory");
		builtin[nbuiltin++] = pf;
	}
	FUZZ_CHECK(ls_event_init(&ev, 1 << 20) == 0 && ls_event_init(&alert, 64 << 10) == 0,
		   "ls_event_init");
	snprintf(path, sizeof(path), "%s/fuzz.pattern", fuzz_tmpdir_get());
	return 0;
}

static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(msg && msg[0], "empty warning");
	warnings++;
}

static void check_patfile(const struct ls_patfile *pf)
{
	int last_line = 0;

	FUZZ_CHECK(pf->nentries >= 0, "nentries %d", pf->nentries);
	for (int i = 0; i < pf->nentries; i++) {
		const struct ls_pentry *e = &pf->entries[i];
		int prop_line = e->line;
		FUZZ_CHECK(e->kind && (!strcmp(e->kind, "format") || !strcmp(e->kind, "rule") ||
				       !strcmp(e->kind, "threshold") || !strcmp(e->kind, "grok")),
			   "entry %d kind '%s'", i, e->kind ? e->kind : "(null)");
		FUZZ_CHECK(e->name != NULL && e->origin != NULL, "entry %d has no name", i);
		FUZZ_CHECK(e->line > last_line, "entry %d at line %d after %d", i, e->line, last_line);
		last_line = e->line;
		for (int k = 0; k < e->nprops; k++) {
			const struct ls_pprop *p = &e->props[k];
			size_t n;
			FUZZ_CHECK(p->key && p->value, "entry %d prop %d", i, k);
			FUZZ_CHECK(p->line > prop_line, "prop at line %d after %d", p->line, prop_line);
			prop_line = p->line;
			n = strlen(p->value);
			FUZZ_CHECK(n == 0 || (p->value[n - 1] != ' ' && p->value[n - 1] != '\t'),
				   "value '%s' has a trailing blank", p->value);
		}
		last_line = prop_line;
	}
}

/* A catalog holding the built-in grok macros and the ATT&CK list only. */
static struct ls_catalog *base_catalog(void)
{
	struct ls_catalog *c = calloc(1, sizeof(*c));

	FUZZ_CHECK(c && ls_grok_new(&c->grok) == 0 && ls_formats_new(&c->formats, c->grok) == 0 &&
		   ls_rules_new(&c->rules, c->grok) == 0, "catalog");
	FUZZ_CHECK(ls_rules_set_techniques(c->rules, techniques, strlen(techniques)) == 0,
		   "techniques");
	for (int f = 0; f < nbuiltin; f++)
		for (int i = 0; i < builtin[f]->nentries; i++) {
			const struct ls_pentry *e = &builtin[f]->entries[i];
			const char *m = ls_pentry_get(e, "match");
			if (strcmp(e->kind, "grok") == 0 && m)
				FUZZ_CHECK(ls_grok_define(c->grok, e->name, m) == 0, "grok %s", e->name);
		}
	return c;
}

/* Runs each format of c on its example lines, and the rules on the events. */
static void run_examples(struct ls_catalog *c)
{
	struct ls_tsctx ts;

	FUZZ_CHECK(ls_ts_init(&ts, 1700006400000LL, "UTC") == 0, "ls_ts_init");
	for (int idx = 0; idx < ls_formats_count(c->formats); idx++) {
		const struct ls_pentry *e = ls_formats_entry(c->formats, idx);
		FUZZ_CHECK(e && ls_formats_name(c->formats, idx), "format %d", idx);
		for (int k = 0; k < e->nprops; k++) {
			const char *line = e->props[k].value;
			int alerted = 0, rc;
			if (strcmp(e->props[k].key, "example") != 0)
				continue;
			ls_event_reset(&ev);
			ev.line = line;
			ev.line_len = strlen(line);
			ev.ts_ms = ts.now_ms;
			rc = ls_formats_parse(c->formats, idx, &ts, &ev, line, strlen(line));
			FUZZ_CHECK(rc >= -7 && rc <= 1, "ls_formats_parse returned %d", rc);
			(void)ls_formats_continues(c->formats, idx, line, strlen(line));
			for (int i = 0; i < ev.nfields; i++)
				FUZZ_CHECK(ev.fields[i].name && (ev.fields[i].val || !ev.fields[i].len),
					   "field %d", i);
			ls_event_reset(&alert);
			rc = ls_rules_apply(c->rules, &ev, &alert, &alerted);
			FUZZ_CHECK(rc == 0 || rc == 1 || rc == LS_ENOMEM, "ls_rules_apply %d", rc);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_patfile *pf = NULL;
	struct ls_error err = { 0, "" };
	struct ls_catalog *c;
	int rc;

	rc = ls_patfile_parse((const char *)data, size, "fuzz.pattern", &pf, &err);
	FUZZ_CHECK(rc == 0 || rc == LS_EINVAL || rc == LS_ENOMEM, "ls_patfile_parse %d", rc);
	if (rc < 0)
		FUZZ_CHECK(strncmp(err.msg, "fuzz.pattern:", 13) == 0, "message '%s'", err.msg);
	if (pf)
		check_patfile(pf);
	ls_patfile_free(pf);

	/* the catalog keeps the entries of the file it loaded */
	fuzz_write_file(path, data, size);
	c = base_catalog();
	warnings = 0;
	rc = ls_catalog_load_file(c, path, count_warning, NULL, &err);
	FUZZ_CHECK(rc >= 0, "ls_catalog_load_file %d: %s", rc, err.msg);
	FUZZ_CHECK(rc == warnings, "%d broken entries, %d warnings", rc, warnings);
	run_examples(c);
	ls_catalog_free(c);
	return 0;
}

/* catalog.c - loading built-in and user pattern files. */
#include "catalog.h"
#include "../parsers/matcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#ifndef LS_DATADIR
#define LS_DATADIR "/usr/local/share/logship"
#endif

#define PATTERN_FILE_MAX (16 << 20)

extern const struct {
	const char *name;
	const char *text;
} ls_builtin_patterns[];

/* build/litcache.c, made from the patterns above by tools/litcache.c */
extern const struct ls_lit_entry ls_builtin_literals[];
extern const size_t ls_builtin_nliterals;
extern const struct ls_precompiled ls_builtin_regexes[];
extern const size_t ls_builtin_nregexes;

static void warn_msg(ls_catalog_warn_fn warn, void *ctx, const struct ls_error *e)
{
	if (warn)
		warn(ctx, e->msg);
}

static int keep_file(struct ls_catalog *c, struct ls_patfile *pf, char *origin)
{
	struct ls_patfile **f = realloc(c->files, (size_t)(c->nfiles + 1) * sizeof(*f));
	char **o;

	if (!f)
		return LS_ENOMEM;
	c->files = f;
	o = realloc(c->origins, (size_t)(c->nfiles + 1) * sizeof(*o));
	if (!o)
		return LS_ENOMEM;
	c->origins = o;
	c->files[c->nfiles] = pf;
	c->origins[c->nfiles] = origin;
	c->nfiles++;
	return 0;
}

int ls_catalog_check_regex(const char *regex, struct ls_error *err)
{
	struct ls_matcher *m = NULL;
	char *stub = ls_grok_placeholder(regex);
	int rc;

	if (!stub)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	rc = ls_matcher_compile(&m, stub, 0, NULL, err);
	ls_matcher_free(m);
	free(stub);
	return rc;
}

/* e failed to load with a regex error, whose offset is one in the regex
 * with its macros expanded, which the user never saw: names the 'match:'
 * line and the offset in its own text instead, or says that the error is
 * in a macro it uses. */
static void explain_regex_error(const struct ls_pentry *e, struct ls_error *err)
{
	char was[sizeof(err->msg)];

	for (int i = 0; i < e->nprops; i++) {
		struct ls_error own = {0, ""};
		if (strcmp(e->props[i].key, "match") != 0 ||
		    ls_catalog_check_regex(e->props[i].value, &own) != LS_EREGEX)
			continue;
		ls_error_set(err, LS_EREGEX, "%s:%d: %s %s: match: %s", e->origin,
			     e->props[i].line, e->kind, e->name, own.msg);
		return;
	}
	if (!strstr(err->msg, "regex error at offset"))
		return;
	snprintf(was, sizeof(was), "%s", err->msg);
	ls_error_set(err, LS_EREGEX, "%s (the offset is in the regex with its "
		     "%%{...} macros expanded)", was);
}

/* The grok expansion of a user's regex has a hard cap (1 MiB) that it
 * reports as running out of memory, which would end the whole run: a
 * pattern of many macros, or macros that each use another several times,
 * is refused here as the entry's fault instead. 0, 1 after reporting it in
 * err, or LS_ENOMEM. */
static int check_expansion(const struct ls_grok *g, const struct ls_pentry *e,
			   struct ls_error *err)
{
	for (int i = 0; i < e->nprops; i++) {
		struct ls_grok_fields fields;
		struct ls_error e2 = {0, ""};
		char *regex;
		if (strcmp(e->props[i].key, "match") != 0)
			continue;
		regex = ls_grok_expand(g, e->props[i].value, &fields, &e2);
		if (regex) {
			free(regex);
			ls_grok_fields_release(&fields);
			continue;
		}
		if (e2.code != LS_ENOMEM)
			continue; /* the loader says what is wrong */
		/* the cap, unless a small allocation fails too */
		regex = malloc(4096);
		if (!regex)
			return LS_ENOMEM;
		free(regex);
		ls_error_set(err, LS_EINVAL, "%s:%d: %s %s: match: larger than 1 MiB "
			     "with its %%{...} macros expanded", e->origin,
			     e->props[i].line, e->kind, e->name);
		return 1;
	}
	return 0;
}

/* A user's grok macro is checked when defined, not where a format or rule
 * first uses it, so that the error names the macro's own file and line:
 * 0, 1 after reporting it in err, or LS_ENOMEM. */
static int check_grok(const struct ls_pentry *e, const char *regex, struct ls_error *err)
{
	struct ls_error own = {0, ""};
	int rc = ls_catalog_check_regex(regex, &own);

	if (rc == LS_ENOMEM)
		return LS_ENOMEM;
	if (rc < 0) {
		ls_error_set(err, LS_EREGEX, "%s:%d: grok %s: match: %s", e->origin,
			     e->line, e->name, own.msg);
		return 1;
	}
	return 0;
}

/* Adds the grok macros (grok_pass) or the other entries of pf; trusted:
 * the built-in files, whose macros `make test` checks. The number of broken
 * entries (reported through warn), or LS_ENOMEM. */
static int add_entries(struct ls_catalog *c, struct ls_patfile *pf, int grok_pass,
		       int trusted, ls_catalog_warn_fn warn, void *ctx)
{
	int broken = 0;

	for (int i = 0; i < pf->nentries; i++) {
		struct ls_pentry *e = &pf->entries[i];
		struct ls_error err = {0, ""};
		int rc = 0;
		int is_grok = strcmp(e->kind, "grok") == 0;

		/* a syntax error in it, already reported */
		if (is_grok != grok_pass || e->broken)
			continue;
		if (is_grok) {
			const char *m = ls_pentry_get(e, "match");
			if (!m)
				rc = ls_error_set(&err, LS_EINVAL, "%s:%d: grok %s has no "
						  "'match:'", e->origin, e->line, e->name);
			else if (!trusted && (rc = check_grok(e, m, &err)) != 0)
				rc = rc == 1 ? LS_EREGEX : rc;
			else
				rc = ls_grok_define(c->grok, e->name, m);
		} else if (!trusted && (rc = check_expansion(c->grok, e, &err)) != 0) {
			rc = rc == 1 ? LS_EINVAL : rc;
		} else if (strcmp(e->kind, "format") == 0) {
			rc = ls_formats_add(c->formats, e, &err);
		} else {
			rc = ls_rules_add(c->rules, e, &err);
		}
		if (rc == LS_EREGEX && !is_grok)
			explain_regex_error(e, &err);
		/* a broken entry is skipped with a warning, but running out of
		 * memory is not the entry's fault: carrying on would silently
		 * parse and tag with part of the catalog */
		if (rc == LS_ENOMEM || err.code == LS_ENOMEM)
			return LS_ENOMEM;
		if (rc < 0) {
			broken++;
			e->broken = 1;
			warn_msg(warn, ctx, &err);
		}
	}
	return broken;
}

/* Parses text from origin (taking ownership of origin) and loads it. */
static int load_text(struct ls_catalog *c, const char *text, size_t len,
		     char *origin, int trusted, ls_catalog_warn_fn warn, void *ctx)
{
	struct ls_patfile *pf = NULL;
	struct ls_error err = {0, ""};
	int broken = 0, rc;

	rc = ls_patfile_parse(text, len, origin, &pf, &err);
	if (rc < 0 && rc != LS_ENOMEM && pf && pf->nerrors == 0) {
		warn_msg(warn, ctx, &err); /* the whole file refused */
		broken++;
	}
	for (int i = 0; rc != LS_ENOMEM && pf && i < pf->nerrors; i++)
		if (warn)
			warn(ctx, pf->errors[i]);
	if (rc != LS_ENOMEM && pf)
		broken += pf->nerrors;
	if (rc == LS_ENOMEM || !pf || keep_file(c, pf, origin) < 0) {
		ls_patfile_free(pf);
		free(origin);
		return LS_ENOMEM;
	}
	rc = add_entries(c, pf, 1, trusted, warn, ctx);
	if (rc < 0)
		return rc;
	broken += rc;
	rc = add_entries(c, pf, 0, trusted, warn, ctx);
	if (rc < 0)
		return rc;
	broken += rc;
	c->nwarnings += broken;
	return broken;
}

static int read_file(const char *path, char **out, size_t *len, struct ls_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return ls_error_set(err, errno == ENOENT ? LS_ENOENT : LS_EIO, "%s: %s",
				    path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = ls_error_set(err, LS_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PATTERN_FILE_MAX) {
		rc = ls_error_set(err, LS_EINVAL, "%s: %s", path, S_ISDIR(st.st_mode) ?
				  "a directory, not a pattern file (directories are not "
				  "searched)" : !S_ISREG(st.st_mode) ? "not a regular file" :
				  "larger than 16 MiB");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ls_error_set(err, LS_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int ls_catalog_load_file(struct ls_catalog *c, const char *path,
			 ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	char *text = NULL, *origin;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err);

	if (rc < 0)
		return rc;
	origin = strdup(path);
	rc = origin ? load_text(c, text, len, origin, 0, warn, ctx) : LS_ENOMEM;
	free(text);
	if (rc == LS_ENOMEM)
		ls_error_set(err, rc, "out of memory");
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct def {
	const struct ls_pentry *e;
	int is_grok;
	int order;
};

static int by_def(const void *a, const void *b)
{
	const struct def *x = a, *y = b;
	int d = x->is_grok - y->is_grok;

	if (d == 0)
		d = strcmp(x->e->name, y->e->name);
	return d ? d : x->order - y->order;
}

/* Warns about each entry of files [from, c->nfiles) that a later one of
 * them defines again: within one directory that is more likely a copy
 * left behind than an override, and only the last one is used. Sorted,
 * not compared pairwise: a directory may hold 10^5 rules. 0 or LS_ENOMEM. */
static int warn_redefined(const struct ls_catalog *c, int from,
			  ls_catalog_warn_fn warn, void *ctx)
{
	char msg[1024];
	struct def *defs;
	size_t n = 0;

	if (!warn)
		return 0;
	for (int f = from; f < c->nfiles; f++)
		n += (size_t)c->files[f]->nentries;
	if (n < 2)
		return 0;
	defs = malloc(n * sizeof(*defs));
	if (!defs)
		return LS_ENOMEM;
	n = 0;
	for (int f = from; f < c->nfiles; f++)
		for (int i = 0; i < c->files[f]->nentries; i++) {
			defs[n].e = &c->files[f]->entries[i];
			defs[n].is_grok = strcmp(defs[n].e->kind, "grok") == 0;
			defs[n].order = (int)n;
			n++;
		}
	qsort(defs, n, sizeof(*defs), by_def);
	for (size_t i = 0, last; i < n; i = last + 1) {
		for (last = i; last + 1 < n && defs[last + 1].is_grok == defs[i].is_grok &&
		     strcmp(defs[last + 1].e->name, defs[i].e->name) == 0; last++)
			;
		for (size_t k = i; k < last; k++) {
			snprintf(msg, sizeof(msg), "%s:%d: %s %s is defined again at %s:%d, "
				 "which is the one used", defs[k].e->origin, defs[k].e->line,
				 defs[k].e->kind, defs[k].e->name, defs[last].e->origin,
				 defs[last].e->line);
			warn(ctx, msg);
		}
	}
	free(defs);
	return 0;
}

/* Loads every *.pattern file of dir in name order. missing_ok: a missing
 * directory is not an error. */
static int load_dir(struct ls_catalog *c, const char *dir, int missing_ok,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	int n = 0, rc = 0, first_file;

	if (!d) {
		if (missing_ok && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return ls_error_set(err, errno == ENOENT ? LS_ENOENT : LS_EIO,
				    "pattern directory %s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char **p;
		if (l < 9 || strcmp(de->d_name + l - 8, ".pattern") != 0)
			continue;
		p = realloc(names, (size_t)(n + 1) * sizeof(*p));
		if (!p || !(p[n] = strdup(de->d_name))) {
			names = p ? p : names;
			rc = ls_error_set(err, LS_ENOMEM, "out of memory");
			goto out;
		}
		names = p;
		n++;
	}
	qsort(names, (size_t)n, sizeof(*names), by_name);
	first_file = c->nfiles;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct ls_error e2;
		e2.code = 0;
		/* a cut path could name another file: refused, not opened */
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path))
			rc = ls_error_set(&e2, LS_EINVAL, "%s/%s: path too long", dir, names[i]);
		else
			rc = ls_catalog_load_file(c, path, warn, ctx, &e2);
		if (rc == LS_ENOMEM) {
			ls_error_set(err, LS_ENOMEM, "out of memory");
			goto out;
		}
		rc = 0;
		if (e2.code != 0) {
			warn_msg(warn, ctx, &e2);
			c->nwarnings++;
		}
	}
	if (warn_redefined(c, first_file, warn, ctx) < 0)
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
out:
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

#define TECHNIQUES_FILE "attack-techniques.txt"

static int load_builtin(struct ls_catalog *c, unsigned flags, ls_catalog_warn_fn warn,
			void *ctx)
{
	int rc = 0;

	/* the ATT&CK allow-list first: rules are checked against it as they load */
	for (int i = 0; ls_builtin_patterns[i].name; i++)
		if (strcmp(ls_builtin_patterns[i].name, TECHNIQUES_FILE) == 0)
			ls_rules_set_techniques(c->rules, ls_builtin_patterns[i].text,
						strlen(ls_builtin_patterns[i].text));
	/* trusted: `make test` compiles and checks every one of them */
	ls_rules_defer_compile(c->rules, !(flags & LS_CATALOG_DERIVE));
	if (!(flags & LS_CATALOG_DERIVE))
		ls_rules_set_literal_cache(c->rules, ls_builtin_literals,
					   ls_builtin_nliterals);
	/* for good: a user's pattern that is a built-in one decodes as well */
	ls_matcher_use_precompiled(flags & LS_CATALOG_DERIVE ? NULL : ls_builtin_regexes,
				   flags & LS_CATALOG_DERIVE ? 0 : ls_builtin_nregexes);
	for (int i = 0; ls_builtin_patterns[i].name && rc == 0; i++) {
		char *origin;
		if (strcmp(ls_builtin_patterns[i].name, TECHNIQUES_FILE) == 0)
			continue;
		origin = malloc(strlen(ls_builtin_patterns[i].name) + 16);
		if (!origin) {
			rc = LS_ENOMEM;
			break;
		}
		sprintf(origin, "patterns/%s", ls_builtin_patterns[i].name);
		if (load_text(c, ls_builtin_patterns[i].text,
			      strlen(ls_builtin_patterns[i].text), origin, 1, warn, ctx) < 0)
			rc = LS_ENOMEM;
	}
	ls_rules_defer_compile(c->rules, 0);
	ls_rules_set_literal_cache(c->rules, NULL, 0);
	return rc;
}

int ls_catalog_load_builtin(struct ls_catalog **out, unsigned flags,
			    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	struct ls_catalog *c = calloc(1, sizeof(*c));
	int rc;

	*out = c;
	if (!c || ls_grok_new(&c->grok) < 0 ||
	    ls_formats_new(&c->formats, c->grok) < 0 ||
	    ls_rules_new(&c->rules, c->grok) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	rc = load_builtin(c, flags, warn, ctx);
	c->nbuiltin = c->nfiles;
	if (rc < 0)
		return ls_error_set(err, rc, "out of memory");
	return 0;
}

int ls_catalog_load(struct ls_catalog **out, const char *user_dir,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	char xdg[4096];
	const char *xdg_home = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct ls_catalog *c;
	int rc;

	rc = ls_catalog_load_builtin(out, 0, warn, ctx, err);
	if (rc < 0)
		return rc;
	c = *out;
	xdg[0] = '\0';
	if (xdg_home && *xdg_home)
		rc = snprintf(xdg, sizeof(xdg), "%s/logship/patterns", xdg_home);
	else if (home && *home)
		rc = snprintf(xdg, sizeof(xdg), "%s/.config/logship/patterns", home);
	if ((size_t)rc >= sizeof(xdg)) {
		if (warn)
			warn(ctx, "the user's pattern directory ($XDG_CONFIG_HOME or "
			     "$HOME) is a path too long: not loaded");
		c->nwarnings++;
		xdg[0] = '\0';
	}
	/* a missing system or user directory is normal; one that is there
	 * but cannot be read is said, and the rest still load */
	for (int i = 0; i < 2; i++) {
		struct ls_error e2 = {0, ""};
		const char *dir = i == 0 ? LS_DATADIR "/patterns" : xdg;
		if (!dir[0])
			continue;
		rc = load_dir(c, dir, 1, warn, ctx, &e2);
		if (rc == LS_ENOMEM)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		if (rc < 0) {
			warn_msg(warn, ctx, &e2);
			c->nwarnings++;
		}
	}
	if (user_dir)
		return load_dir(c, user_dir, 0, warn, ctx, err);
	return 0;
}

void ls_catalog_free(struct ls_catalog *c)
{
	if (!c)
		return;
	ls_rules_free(c->rules);
	ls_formats_free(c->formats);
	ls_grok_free(c->grok);
	for (int i = 0; i < c->nfiles; i++) {
		ls_patfile_free(c->files[i]);
		free(c->origins[i]);
	}
	free(c->files);
	free(c->origins);
	free(c);
}

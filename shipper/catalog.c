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

/* Adds the entries of kind (or all but grok when kind is NULL) of pf. */
static int add_entries(struct ls_catalog *c, struct ls_patfile *pf, int grok_pass,
		       ls_catalog_warn_fn warn, void *ctx)
{
	int broken = 0;

	for (int i = 0; i < pf->nentries; i++) {
		const struct ls_pentry *e = &pf->entries[i];
		struct ls_error err = {0, ""};
		int rc = 0;
		int is_grok = strcmp(e->kind, "grok") == 0;

		if (is_grok != grok_pass)
			continue;
		if (is_grok) {
			const char *m = ls_pentry_get(e, "match");
			if (!m)
				rc = ls_error_set(&err, LS_EINVAL, "%s:%d: grok %s has no "
						  "'match:'", e->origin, e->line, e->name);
			else
				rc = ls_grok_define(c->grok, e->name, m);
		} else if (strcmp(e->kind, "format") == 0) {
			rc = ls_formats_add(c->formats, e, &err);
		} else {
			rc = ls_rules_add(c->rules, e, &err);
		}
		/* a broken entry is skipped with a warning, but running out of
		 * memory is not the entry's fault: carrying on would silently
		 * parse and tag with part of the catalog */
		if (rc == LS_ENOMEM || err.code == LS_ENOMEM)
			return LS_ENOMEM;
		if (rc < 0) {
			broken++;
			warn_msg(warn, ctx, &err);
		}
	}
	return broken;
}

/* Parses text from origin (taking ownership of origin) and loads it. */
static int load_text(struct ls_catalog *c, const char *text, size_t len,
		     char *origin, ls_catalog_warn_fn warn, void *ctx)
{
	struct ls_patfile *pf = NULL;
	struct ls_error err = {0, ""};
	int broken = 0, rc;

	rc = ls_patfile_parse(text, len, origin, &pf, &err);
	if (rc < 0 && rc != LS_ENOMEM) {
		warn_msg(warn, ctx, &err);
		broken++;
	}
	if (rc == LS_ENOMEM || !pf || keep_file(c, pf, origin) < 0) {
		ls_patfile_free(pf);
		free(origin);
		return LS_ENOMEM;
	}
	rc = add_entries(c, pf, 1, warn, ctx);
	if (rc < 0)
		return rc;
	broken += rc;
	rc = add_entries(c, pf, 0, warn, ctx);
	if (rc < 0)
		return rc;
	broken += rc;
	c->nwarnings += broken;
	return broken;
}

static int read_file(const char *path, char **out, size_t *len, struct ls_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return ls_error_set(err, errno == ENOENT ? LS_ENOENT : LS_EIO, "%s: %s",
				    path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PATTERN_FILE_MAX) {
		rc = ls_error_set(err, LS_EINVAL, "%s: not a regular pattern file "
				  "(or larger than 16 MiB)", path);
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
		if (n <= 0)
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
	rc = origin ? load_text(c, text, len, origin, warn, ctx) : LS_ENOMEM;
	free(text);
	if (rc == LS_ENOMEM)
		ls_error_set(err, rc, "out of memory");
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.pattern file of dir in name order. missing_ok: a missing
 * directory is not an error. */
static int load_dir(struct ls_catalog *c, const char *dir, int missing_ok,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	int n = 0, rc = 0;

	if (!d) {
		if (missing_ok && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return ls_error_set(err, LS_EIO, "%s: %s", dir, strerror(errno));
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
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct ls_error e2;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		e2.code = 0;
		rc = ls_catalog_load_file(c, path, warn, ctx, &e2);
		if (rc == LS_ENOMEM) {
			ls_error_set(err, LS_ENOMEM, "out of memory");
			goto out;
		}
		rc = 0;
		if (e2.code != 0)
			warn_msg(warn, ctx, &e2);
	}
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
			      strlen(ls_builtin_patterns[i].text), origin, warn, ctx) < 0)
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
	if (load_dir(c, LS_DATADIR "/patterns", 1, warn, ctx, err) == LS_ENOMEM)
		return LS_ENOMEM;
	xdg[0] = '\0';
	if (xdg_home && *xdg_home)
		snprintf(xdg, sizeof(xdg), "%s/logship/patterns", xdg_home);
	else if (home && *home)
		snprintf(xdg, sizeof(xdg), "%s/.config/logship/patterns", home);
	if (xdg[0] && load_dir(c, xdg, 1, warn, ctx, err) == LS_ENOMEM)
		return LS_ENOMEM;
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

/* patfile.c - parsing the shared pattern/rule text format into entries. */
#include "patfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {
	NULL, "informational", "low", "medium", "high", "critical"
};

int ls_level_from_name(const char *name)
{
	for (int i = 1; i <= 5; i++)
		if (strcmp(level_names[i], name) == 0)
			return i;
	if (strcmp(name, "info") == 0)
		return 1;
	return 0;
}

const char *ls_level_name(int level)
{
	return level >= 1 && level <= 5 ? level_names[level] : "none";
}

void ls_patfile_free(struct ls_patfile *pf)
{
	if (!pf)
		return;
	for (int i = 0; i < pf->nentries; i++)
		free(pf->entries[i].props);
	free(pf->entries);
	for (int i = 0; i < pf->nerrors; i++)
		free(pf->errors[i]);
	free(pf->errors);
	free(pf->text);
	free(pf);
}

const char *ls_pentry_get(const struct ls_pentry *e, const char *key)
{
	for (int i = 0; i < e->nprops; i++)
		if (strcmp(e->props[i].key, key) == 0)
			return e->props[i].value;
	return NULL;
}

static char *trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int new_entry(struct ls_patfile *pf, char *line, const char *origin,
		     int lineno, struct ls_error *err)
{
	char *sp = line + strcspn(line, " \t");
	struct ls_pentry *e, *p;

	if (*sp == '\0')
		return ls_error_set(err, LS_EINVAL, "%s:%d: entry '%s' has no name "
				    "(expected 'KIND NAME')", origin, lineno, line);
	*sp++ = '\0';
	sp += strspn(sp, " \t");
	if (strcmp(line, "format") && strcmp(line, "rule") &&
	    strcmp(line, "threshold") && strcmp(line, "grok"))
		return ls_error_set(err, LS_EINVAL, "%s:%d: unknown entry kind '%s' "
				    "(expected format, rule, threshold or grok)",
				    origin, lineno, line);
	p = realloc(pf->entries, (size_t)(pf->nentries + 1) * sizeof(*p));
	if (!p)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	pf->entries = p;
	trim_right(sp);
	if (strlen(sp) > LS_PATFILE_NAME_MAX)
		return ls_error_set(err, LS_EINVAL, "%s:%d: %s name longer than %d bytes",
				    origin, lineno, line, LS_PATFILE_NAME_MAX);
	for (const char *c = sp; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return ls_error_set(err, LS_EINVAL, "%s:%d: %s name '%s' holds a "
					    "blank or control character (expected 'KIND NAME')",
					    origin, lineno, line, sp);
	e = &pf->entries[pf->nentries++];
	memset(e, 0, sizeof(*e));
	e->kind = line;
	e->name = sp;
	e->origin = origin;
	e->line = lineno;
	return 0;
}

static int new_prop(struct ls_patfile *pf, char *line, const char *origin,
		    int lineno, struct ls_error *err)
{
	struct ls_pentry *e;
	struct ls_pprop *p;
	char *colon = strchr(line, ':');

	if (pf->nentries == 0)
		return ls_error_set(err, LS_EINVAL, "%s:%d: property outside an "
				    "entry (start one with 'KIND NAME' at column 0)",
				    origin, lineno);
	if (!colon || colon == line)
		return ls_error_set(err, LS_EINVAL, "%s:%d: expected 'key: value'",
				    origin, lineno);
	for (char *k = line; k < colon; k++)
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-' && *k != '.')
			return ls_error_set(err, LS_EINVAL, "%s:%d: bad key '%.*s'",
					    origin, lineno, (int)(colon - line), line);
	*colon = '\0';
	e = &pf->entries[pf->nentries - 1];
	p = realloc(e->props, (size_t)(e->nprops + 1) * sizeof(*p));
	if (!p)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	e->props = p;
	colon++;
	if (*colon == ' ')
		colon++;
	p[e->nprops].key = line;
	p[e->nprops].value = trim_right(colon);
	p[e->nprops].line = lineno;
	e->nprops++;
	return 0;
}

/* A NUL byte is refused with the line and column it is on: a binary file
 * or a UTF-16 one (every other byte NUL) given as a pattern file. */
static int nul_error(const char *text, size_t len, const char *origin,
		     struct ls_error *err)
{
	const char *nul = memchr(text, '\0', len), *bol = text;
	int lineno = 1;

	for (const char *c = text; c < nul; c++)
		if (*c == '\n') {
			lineno++;
			bol = c + 1;
		}
	return ls_error_set(err, LS_EINVAL, "%s:%d: NUL byte at column %d (a binary "
			    "or UTF-16 file? pattern files are UTF-8 text)", origin,
			    lineno, (int)(nul - bol) + 1);
}

/* Keeps the message of a syntax error (all are kept in pf->errors, the
 * first also in *first): 0, or LS_ENOMEM. */
static int keep_error(struct ls_patfile *pf, const struct ls_error *e,
		      struct ls_error *first)
{
	char **p = realloc(pf->errors, (size_t)(pf->nerrors + 1) * sizeof(*p));

	if (!p)
		return LS_ENOMEM;
	pf->errors = p;
	if (!(p[pf->nerrors] = strdup(e->msg)))
		return LS_ENOMEM;
	if (pf->nerrors++ == 0 && first)
		*first = *e;
	return 0;
}

int ls_patfile_parse(const char *text, size_t len, const char *origin,
		     struct ls_patfile **out, struct ls_error *err)
{
	struct ls_patfile *pf = calloc(1, sizeof(*pf));
	char *line, *next;
	int lineno = 0, rc = 0;
	/* after a bad entry header: its property lines are not another's */
	int skipping = 0;

	*out = pf;
	if (!pf)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	pf->text = malloc(len + 1);
	if (!pf->text)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	memcpy(pf->text, text, len);
	pf->text[len] = '\0';
	if (memchr(text, '\0', len))
		return nul_error(text, len, origin, err);
	line = pf->text;
	/* editors on Windows start UTF-8 files with a byte order mark */
	if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	for (; line && *line; line = next) {
		struct ls_error line_err = {0, ""};
		char *body;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		body = line + strspn(line, " \t");
		if ((size_t)((next ? next - 1 : line + strlen(line)) - line) > LS_PATFILE_LINE_MAX)
			rc = ls_error_set(&line_err, LS_EINVAL, "%s:%d: line longer than %d "
					  "bytes", origin, lineno, LS_PATFILE_LINE_MAX);
		else if (*trim_right(body) == '\0' || *body == '#')
			continue;
		else if (body == line)
			rc = new_entry(pf, line, origin, lineno, &line_err);
		else if (skipping)
			continue;
		else
			rc = new_prop(pf, body, origin, lineno, &line_err);
		if (body == line)
			skipping = rc < 0;
		if (rc == LS_ENOMEM)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		if (rc == 0)
			continue;
		/* one bad line costs its entry, not the rest of the file */
		if (keep_error(pf, &line_err, err) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		if (body != line && !skipping && pf->nentries > 0)
			pf->entries[pf->nentries - 1].broken = 1;
		else if (body != line)
			skipping = 1; /* said once for lines before any entry */
	}
	return pf->nerrors ? LS_EINVAL : 0;
}

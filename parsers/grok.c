/* grok.c - grok-style macro expansion into PCRE2 syntax. */
#include "grok.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROK_MAX_DEPTH 32

struct ls_grok_macro {
	char *name;
	char *regex;
};

struct ls_grok {
	int n, cap;
	struct ls_grok_macro *macros;
};

int ls_grok_new(struct ls_grok **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : LS_ENOMEM;
}

void ls_grok_free(struct ls_grok *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n; i++) {
		free(g->macros[i].name);
		free(g->macros[i].regex);
	}
	free(g->macros);
	free(g);
}

static struct ls_grok_macro *find_macro(const struct ls_grok *g, const char *name,
					size_t len)
{
	for (int i = 0; i < g->n; i++)
		if (strlen(g->macros[i].name) == len &&
		    memcmp(g->macros[i].name, name, len) == 0)
			return &g->macros[i];
	return NULL;
}

int ls_grok_define(struct ls_grok *g, const char *name, const char *regex)
{
	struct ls_grok_macro *m = find_macro(g, name, strlen(name));
	char *copy = strdup(regex);

	if (!copy)
		return LS_ENOMEM;
	if (m) {
		free(m->regex);
		m->regex = copy;
		return 0;
	}
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 64;
		struct ls_grok_macro *p = realloc(g->macros, (size_t)cap * sizeof(*p));
		if (!p)
			goto nomem;
		g->macros = p;
		g->cap = cap;
	}
	g->macros[g->n].name = strdup(name);
	if (!g->macros[g->n].name)
		goto nomem;
	g->macros[g->n].regex = copy;
	g->n++;
	return 0;
nomem:
	free(copy);
	return LS_ENOMEM;
}

int ls_grok_has(const struct ls_grok *g, const char *name)
{
	return find_macro(g, name, strlen(name)) != NULL;
}

const char *ls_grok_name(const struct ls_grok *g, int i)
{
	return i >= 0 && i < g->n ? g->macros[i].name : NULL;
}

int ls_grok_count(const struct ls_grok *g)
{
	return g->n;
}

void ls_grok_fields_release(struct ls_grok_fields *fields)
{
	for (int i = 0; i < fields->n; i++)
		free(fields->fields[i]);
	free(fields->fields);
	fields->n = 0;
	fields->fields = NULL;
}

static int add_field(struct ls_grok_fields *fields, const char *spec, size_t len)
{
	char **p = realloc(fields->fields, (size_t)(fields->n + 1) * sizeof(*p));
	if (!p)
		return LS_ENOMEM;
	fields->fields = p;
	p[fields->n] = strndup(spec, len);
	if (!p[fields->n])
		return LS_ENOMEM;
	return fields->n++;
}

static int expand(const struct ls_grok *g, const char *pat, struct ls_buf *out,
		  struct ls_grok_fields *fields, int depth, struct ls_error *err);


/* Appends "(?<_gK>", the group of field K (printf is most of the cost of
 * expanding the built-in patterns at start). 0 or LS_ENOMEM. */
static int group_open(struct ls_buf *out, int k)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + k % 10);
		k /= 10;
	} while (k > 0 && n < (int)sizeof(digits));
	if (ls_buf_puts(out, "(?<_g") < 0)
		return LS_ENOMEM;
	while (n > 0)
		if (ls_buf_putc(out, digits[--n]) < 0)
			return LS_ENOMEM;
	return ls_buf_putc(out, '>');
}

/* Expands one "%{NAME[:field[:type]]}" whose inside is s[0..len). */
static int expand_macro(const struct ls_grok *g, const char *s, size_t len,
			struct ls_buf *out, struct ls_grok_fields *fields,
			int depth, struct ls_error *err)
{
	const char *colon = memchr(s, ':', len);
	size_t nlen = colon ? (size_t)(colon - s) : len;
	struct ls_grok_macro *m = find_macro(g, s, nlen);
	int k, rc;

	if (!m)
		return ls_error_set(err, LS_EINVAL, "unknown grok macro %%{%.*s}",
				    (int)nlen, s);
	if (colon && (size_t)(colon - s) + 1 < len) {
		const char *spec = colon + 1, *type = memchr(spec, ':', len - nlen - 1);
		size_t tlen = type ? len - (size_t)(type + 1 - s) : 0;
		if (type && !(tlen == 3 && memcmp(type + 1, "int", 3) == 0) &&
		    !(tlen == 5 && memcmp(type + 1, "float", 5) == 0))
			return ls_error_set(err, LS_EINVAL, "unknown type '%.*s' in %%{%.*s} "
					    "(int or float)", (int)tlen, type + 1, (int)len, s);
		k = add_field(fields, colon + 1, len - nlen - 1);
		if (k < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		if (group_open(out, k) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
	} else if (ls_buf_puts(out, "(?:") < 0) {
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	rc = expand(g, m->regex, out, fields, depth + 1, err);
	if (rc < 0)
		return rc;
	return ls_buf_putc(out, ')') < 0 ? ls_error_set(err, LS_ENOMEM, "out of memory") : 0;
}

static int expand(const struct ls_grok *g, const char *pat, struct ls_buf *out,
		  struct ls_grok_fields *fields, int depth, struct ls_error *err)
{
	const char *p = pat, *open, *close;
	int rc;

	if (depth > GROK_MAX_DEPTH)
		return ls_error_set(err, LS_EINVAL, "grok macros nest deeper than %d "
				    "(a macro that uses itself?)", GROK_MAX_DEPTH);
	while ((open = strstr(p, "%{")) != NULL) {
		/* "\%{" is a literal */
		if (open > p && open[-1] == '\\') {
			if (ls_buf_append(out, p, (size_t)(open - p) + 2) < 0)
				return ls_error_set(err, LS_ENOMEM, "out of memory");
			p = open + 2;
			continue;
		}
		close = strchr(open, '}');
		if (!close)
			return ls_error_set(err, LS_EINVAL, "unterminated %%{ at offset %zu",
					    (size_t)(open - pat));
		if (ls_buf_append(out, p, (size_t)(open - p)) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		rc = expand_macro(g, open + 2, (size_t)(close - open - 2), out,
				  fields, depth, err);
		if (rc < 0)
			return rc;
		p = close + 1;
	}
	return ls_buf_puts(out, p) < 0 ? ls_error_set(err, LS_ENOMEM, "out of memory") : 0;
}

char *ls_grok_expand(const struct ls_grok *g, const char *pattern,
		     struct ls_grok_fields *fields, struct ls_error *err)
{
	struct ls_buf out;

	ls_buf_init(&out, 1 << 20);
	fields->n = 0;
	fields->fields = NULL;
	if (expand(g, pattern, &out, fields, 0, err) < 0 ||
	    (ls_buf_reserve(&out, 1) < 0 && ls_error_set(err, LS_ENOMEM, "out of memory"))) {
		ls_buf_release(&out);
		ls_grok_fields_release(fields);
		return NULL;
	}
	out.data[out.len] = '\0';
	return out.data;
}

char *ls_grok_placeholder(const char *pattern)
{
	char *out = strdup(pattern);
	char *p = out;

	while (p && (p = strstr(p, "%{")) != NULL) {
		char *close = strchr(p, '}');
		size_t n;
		if (!close || (p > out && p[-1] == '\\')) {
			p += 2;
			continue;
		}
		n = (size_t)(close - p) + 1; /* at least 3: "%{}" */
		if (n < 4) {
			p = close + 1;
			continue;
		}
		memcpy(p, "(?:", 3);
		memset(p + 3, 'x', n - 4);
		p[n - 1] = ')';
		p += n;
	}
	return out;
}

/* config.c - `key: value` config files mapped onto the option tables. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trims blanks at both ends in place; returns the start. */
static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* 1 yes, 0 no, -1 neither. */
static int boolean(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		return 0;
	return -1;
}

/* Applies one `key: value` line. Returns 0 or -2 (reported). */
static int apply(const char *sub, const char *file, int lineno, const struct ls_opt *table,
		 int (*handle)(void *, int, const char *), void *ctx, const char *key,
		 const char *value, struct ls_config *cfg)
{
	char **paths = cfg->paths;
	int *npaths = &cfg->npaths;
	const struct ls_opt *o;
	char near[512];
	int b;

	if (!strcmp(key, "path") || !strcmp(key, "paths")) {
		if (*npaths == LS_CONFIG_MAX_PATHS || !(paths[*npaths] = strdup(value))) {
			ls_die_msg(sub, "%s:%d: too many paths", file, lineno);
			return -2;
		}
		(*npaths)++;
		return 0;
	}
	if (!strcmp(key, "auth")) {
		if (handle(ctx, LS_CONFIG_KEY_AUTH, value) < 0) {
			ls_die_msg(sub, "%s:%d: 'auth' is not a setting of this command", file, lineno);
			return -2;
		}
		return 0;
	}
	for (o = table; o->name && strcmp(o->name, key) != 0; o++)
		;
	if (!o->name || !strcmp(key, "help") || !strcmp(key, "config") || !strcmp(key, "check")) {
		if (ls_opts_suggestions(table, key, "", near, sizeof(near)))
			ls_die_msg(sub, "%s:%d: unknown key '%.64s%s'; did you mean %s?", file, lineno,
				   key, strlen(key) > 64 ? "..." : "", near);
		else
			ls_die_msg(sub, "%s:%d: unknown key '%.64s%s'", file, lineno, key,
				   strlen(key) > 64 ? "..." : "");
		return -2;
	}
	if (!o->has_arg) {
		b = boolean(value);
		if (b < 0) {
			ls_die_msg(sub, "%s:%d: %s: expected yes or no, not '%s'", file, lineno, key, value);
			return -2;
		}
		return b ? (handle(ctx, o->key, NULL) < 0 ? -2 : 0) : 0;
	}
	if (cfg->nvalues == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 16;
		char **v = realloc(cfg->values, cap * sizeof(*v));
		if (!v)
			return -2;
		cfg->values = v;
		cfg->cap = cap;
	}
	if (!(value = cfg->values[cfg->nvalues] = strdup(value)))
		return -2;
	cfg->nvalues++;
	if (handle(ctx, o->key, value) < 0) {
		ls_die_msg(sub, "%s:%d: in '%s: %s'", file, lineno, key, value);
		return -2;
	}
	return 0;
}

/* Options a config file may give more than once (they add up, as on the
 * command line); any other key given twice is a mistake worth naming. */
static int repeatable(const char *key)
{
	static const char *const keys[] = {
		"path", "paths", "where", "exclude", "header", "header-env", "label",
		"journal-match", NULL
	};

	for (int i = 0; keys[i]; i++)
		if (!strcmp(keys[i], key))
			return 1;
	return 0;
}

/* Reads one line of f into line (at most cap - 1 bytes, the '\n' dropped,
 * NUL-terminated). Returns 1 with a line, 0 at the end, -1 on a read error
 * (errno set), -2 when the line is longer than cap - 1 bytes, -3 when it
 * holds a NUL byte (*nul_at: its offset in the line). */
static int read_line(FILE *f, char *line, size_t cap, size_t *nul_at)
{
	size_t len = 0;
	int ch, rc = 1;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0' && rc == 1) {
			*nul_at = len;
			rc = -3;
		}
		if (len + 1 >= cap)
			return -2;
		line[len++] = (char)ch;
	}
	line[len] = '\0';
	if (ferror(f))
		return -1;
	if (ch == EOF && len == 0)
		return 0;
	return rc;
}

int ls_config_load(const char *sub, const char *path, const struct ls_opt *table,
		   int (*handle)(void *ctx, int key, const char *arg), void *ctx,
		   struct ls_config *cfg)
{
	FILE *f = fopen(path, "r");
	char line[8192], *key, *value, *sep;
	int lineno = 0, nsettings = 0, rc = 0, r;
	long long line_start = 0;
	size_t nul_at = 0, ntable = 0, i;
	int *seen = NULL; /* per option (and one for auth): the line that set it */
	const struct ls_opt *o;

	if (!f) {
		ls_die_msg(sub, "cannot read config %s: %s", path, strerror(errno));
		return -2;
	}
	for (o = table; o->name; o++)
		ntable++;
	if (!(seen = calloc(ntable + 1, sizeof(*seen)))) {
		ls_die_msg(sub, "out of memory");
		rc = -2;
		goto out;
	}
	while (rc == 0) {
		r = read_line(f, line, sizeof(line), &nul_at);
		if (r == 0)
			break;
		lineno++;
		if (r == -1) {
			/* a directory opens but does not read (EISDIR) */
			ls_die_msg(sub, "cannot read config %s: %s", path, strerror(errno));
			rc = -2;
			break;
		}
		if (r == -2) {
			ls_die_msg(sub, "%s:%d: line too long (over %zu bytes)", path, lineno,
				   sizeof(line) - 1);
			rc = -2;
			break;
		}
		if (r == -3) {
			ls_die_msg(sub, "%s:%d: a NUL byte at byte offset %lld (not a text file?)",
				   path, lineno, line_start + (long long)nul_at);
			rc = -2;
			break;
		}
		line_start += (long long)strlen(line) + 1;
		key = line;
		/* a UTF-8 byte order mark, as some Windows editors write */
		if (lineno == 1 && !memcmp(key, "\xef\xbb\xbf", 3))
			key += 3;
		key = trim(key);
		if (*key == '#' || *key == '\0')
			continue;
		sep = strchr(key, ':');
		if (sep)
			*sep = '\0';
		key = trim(key);
		if (!sep || !*key || key[strcspn(key, " \t")]) {
			ls_die_msg(sub, "%s:%d: expected 'key: value'", path, lineno);
			rc = -2;
			break;
		}
		value = trim(sep + 1);
		/* a value may be quoted to keep '#' or blanks */
		if (value[0] == '"' && strlen(value) >= 2 && value[strlen(value) - 1] == '"') {
			value[strlen(value) - 1] = '\0';
			value++;
		} else {
			char *hash = value[0] == '#' ? value : strstr(value, " #");
			if (hash)
				*hash = '\0';
			value = trim(value);
			/* 'to:' left unfinished; "" says an empty value is meant */
			if (!*value) {
				ls_die_msg(sub, "%s:%d: '%s' has no value", path, lineno, key);
				rc = -2;
				break;
			}
		}
		if (!repeatable(key)) {
			for (i = 0; i < ntable && strcmp(table[i].name, key); i++)
				;
			if (i < ntable || !strcmp(key, "auth")) {
				if (seen[i]) {
					ls_die_msg(sub, "%s:%d: '%s' is already set on line %d",
						   path, lineno, key, seen[i]);
					rc = -2;
					break;
				}
				seen[i] = lineno;
			}
		}
		rc = apply(sub, path, lineno, table, handle, ctx, key, value, cfg);
		nsettings++;
	}
	if (rc == 0 && nsettings == 0) {
		/* ship would only say "no sink", not why */
		ls_die_msg(sub, "config %s holds no settings (an empty file?)", path);
		rc = -2;
	}
out:
	free(seen);
	fclose(f);
	return rc;
}

void ls_config_release(struct ls_config *cfg)
{
	for (int i = 0; i < cfg->npaths; i++)
		free(cfg->paths[i]);
	for (size_t i = 0; i < cfg->nvalues; i++)
		free(cfg->values[i]);
	free(cfg->values);
	memset(cfg, 0, sizeof(*cfg));
}

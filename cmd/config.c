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
			ls_die_msg(sub, "%s:%d: unknown key '%s'; did you mean %s?", file, lineno, key, near);
		else
			ls_die_msg(sub, "%s:%d: unknown key '%s'", file, lineno, key);
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

int ls_config_load(const char *sub, const char *path, const struct ls_opt *table,
		   int (*handle)(void *ctx, int key, const char *arg), void *ctx,
		   struct ls_config *cfg)
{
	FILE *f = fopen(path, "r");
	char line[8192], *key, *value, *sep;
	int lineno = 0, rc = 0;

	if (!f) {
		ls_die_msg(sub, "cannot read config %s: %s", path, strerror(errno));
		return -2;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			ls_die_msg(sub, "%s:%d: line too long", path, lineno);
			rc = -2;
			break;
		}
		key = trim(line);
		if (*key == '#' || *key == '\0')
			continue;
		sep = strchr(key, ':');
		if (!sep) {
			ls_die_msg(sub, "%s:%d: expected 'key: value'", path, lineno);
			rc = -2;
			break;
		}
		*sep = '\0';
		value = trim(sep + 1);
		key = trim(key);
		/* a value may be quoted to keep '#' or blanks */
		if (value[0] == '"' && strlen(value) >= 2 && value[strlen(value) - 1] == '"') {
			value[strlen(value) - 1] = '\0';
			value++;
		} else {
			char *hash = strstr(value, " #");
			if (hash)
				*hash = '\0';
			value = trim(value);
		}
		rc = apply(sub, path, lineno, table, handle, ctx, key, value, cfg);
	}
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

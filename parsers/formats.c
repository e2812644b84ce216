/* formats.c - log formats: compiled from pattern entries, applied to lines,
 * auto-detected from a sample. */
#include "formats.h"
#include "decode.h"
#include "matcher.h"
#include "text.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FMT_MAX_MATCH 8
#define FMT_MAX_MAP 32
#define FMT_MAX_SET 16
#define FMT_MAX_LEVELS 16
#define FMT_MAX_ALIASES 8
#define FMT_MAX_CAND 24
#define REPARSE_DEPTH 1

enum { DEC_REGEX, DEC_JSON, DEC_LOGFMT };

struct kv {
	char *key;
	char *val;
	int type;       /* for set: the field's type */
	size_t val_len; /* for set: strlen(val) */
};

struct ls_format {
	char *name;
	const struct ls_pentry *entry; /* borrowed from the caller's patfile */
	char *aliases[FMT_MAX_ALIASES];
	int naliases;
	char *dataset;
	size_t dataset_len;
	int decoder;
	int priority;
	int nmatch;
	struct ls_matcher *match[FMT_MAX_MATCH];
	int nmap;
	struct ls_keymap map[FMT_MAX_MAP];
	int nset;
	struct kv set[FMT_MAX_SET];
	int nlevels;
	struct kv levels[FMT_MAX_LEVELS];
	int nrequire;
	char *require[FMT_MAX_SET];      /* fields a decoded line must have */
	struct ls_matcher *continuation; /* multiline: NULL when none */
	char *reparse;                   /* field parsed again, or NULL */
	int ncand;                       /* formats tried on it (0: all) */
	char *cand_names[FMT_MAX_CAND];
	int cand[FMT_MAX_CAND];       /* their indices, resolved lazily */
	int cand_resolved_at;            /* f->n when resolved (0: never) */
	char *partial_field;             /* partial: the field telling a part */
	char *partial_value;             /* its value in a part; NULL: the field
					  * does not end in a newline */
	size_t partial_value_len;
	char *partial_key;               /* partial-key: or NULL */
};

struct ls_formats {
	const struct ls_grok *grok;
	int n, cap;
	struct ls_format **list; /* sorted by priority, then load order */
	int depth;               /* reparse nesting */
};

/* Continuation lines of multi-line records, per language runtime. */
static const struct {
	const char *kind;
	const char *regex;
} multiline_kinds[] = {
	{"java", "^(?:\\s+\\S|\\s*\\.\\.\\. \\d+ (?:more|common frames omitted)"
		 "|Caused by: |\\s*Suppressed: "
		 "|[A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*)+(?:Exception|Error|Throwable)\\b)"},
	{"python", "^(?:Traceback \\(most recent call last\\):|  File \"|    \\S"
		   "|[A-Za-z_][\\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Failure)(?::|$)"
		   "|During handling of the above exception|The above exception was"
		   "|\\s+\\^+\\s*$)"},
	{"go", "^(?:panic: |fatal error: |goroutine \\d+ \\[|\\t\\S"
	       "|[\\w./*()-]+\\(.*\\)$|created by |\\[signal |exit status \\d+$)"},
	{"indented", "^[ \\t]+\\S"},
	{NULL, NULL}
};

int ls_formats_new(struct ls_formats **out, const struct ls_grok *g)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return LS_ENOMEM;
	(*out)->grok = g;
	return 0;
}

static void kv_release(struct kv *kv, int n)
{
	for (int i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
}

static void format_free(struct ls_format *fm)
{
	if (!fm)
		return;
	free(fm->name);
	for (int i = 0; i < fm->naliases; i++)
		free(fm->aliases[i]);
	free(fm->dataset);
	for (int i = 0; i < fm->nmatch; i++)
		ls_matcher_free(fm->match[i]);
	for (int i = 0; i < fm->nmap; i++) {
		free((char *)fm->map[i].from);
		free((char *)fm->map[i].to);
	}
	kv_release(fm->set, fm->nset);
	for (int i = 0; i < fm->nrequire; i++)
		free(fm->require[i]);
	kv_release(fm->levels, fm->nlevels);
	ls_matcher_free(fm->continuation);
	free(fm->reparse);
	for (int i = 0; i < fm->ncand; i++)
		free(fm->cand_names[i]);
	free(fm->partial_field);
	free(fm->partial_value);
	free(fm->partial_key);
	free(fm);
}

void ls_formats_free(struct ls_formats *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++)
		format_free(f->list[i]);
	free(f->list);
	free(f);
}

/* Compiles a grok/regex pattern for entry e at line lineno. */
static int compile_pattern(const struct ls_grok *g, const char *pattern,
			   unsigned flags, const struct ls_pentry *e, int lineno,
			   struct ls_matcher **out, struct ls_error *err)
{
	struct ls_grok_fields fields;
	struct ls_error e2;
	char *regex = ls_grok_expand(g, pattern, &fields, &e2);
	int rc;

	if (!regex)
		return ls_error_set(err, e2.code, "%s:%d: %s: %s", e->origin, lineno,
				    e->name, e2.msg);
	rc = ls_matcher_compile_fields(out, regex, flags, fields.fields, fields.n,
				       NULL, &e2);
	if (rc < 0)
		ls_error_set(err, rc, "%s:%d: %s: %s", e->origin, lineno, e->name, e2.msg);
	free(regex);
	ls_grok_fields_release(&fields);
	return rc;
}

/* Splits "a=b" (sep '=') or "a -> b" (sep '>') into a new key/value: 0,
 * LS_EINVAL (no separator) or LS_ENOMEM (out left empty). */
static int split_kv(const char *s, const char *sep, struct kv *out)
{
	const char *p = strstr(s, sep);
	const char *v;
	size_t klen;

	if (!p || p == s)
		return LS_EINVAL;
	klen = (size_t)(p - s);
	while (klen > 0 && s[klen - 1] == ' ')
		klen--;
	v = p + strlen(sep);
	v += strspn(v, " ");
	out->key = strndup(s, klen);
	out->val = strdup(v);
	if (out->key && out->val)
		return 0;
	free(out->key);
	free(out->val);
	out->key = out->val = NULL;
	return LS_ENOMEM;
}

static int add_multiline(struct ls_format *fm, const char *kinds,
			 const struct ls_pentry *e, int lineno, struct ls_error *err)
{
	char regex[2048] = "";
	const char *p = kinds;
	unsigned seen = 0; /* each kind goes in once, so all of them fit in regex */

	while (*p) {
		size_t n = strcspn(p, " ,");
		int found = 0;
		for (int k = 0; multiline_kinds[k].kind; k++) {
			if (strlen(multiline_kinds[k].kind) == n &&
			    strncmp(multiline_kinds[k].kind, p, n) == 0) {
				found = 1;
				if (seen & 1u << k)
					continue;
				seen |= 1u << k;
				if (regex[0])
					strcat(regex, "|");
				strcat(regex, "(?:");
				strcat(regex, multiline_kinds[k].regex);
				strcat(regex, ")");
			}
		}
		if (!found && n > 0)
			return ls_error_set(err, LS_EINVAL, "%s:%d: %s: unknown multiline "
					    "kind '%.*s' (java, python, go, indented)", e->origin,
					    lineno, e->name, (int)n, p);
		p += n;
		p += strspn(p, " ,");
	}
	if (!regex[0])
		return 0;
	/* a repeated multiline: replaces the earlier one */
	ls_matcher_free(fm->continuation);
	return ls_matcher_compile(&fm->continuation, regex, 0, NULL, err);
}

/* ECS keeps these as arrays; a constant "set:" value is a list of one. */
static int set_type(const char *key)
{
	if (strcmp(key, "event.category") == 0 || strcmp(key, "event.type") == 0)
		return LS_F_LIST;
	return ls_event_default_type(key);
}

/* Applies one property of a format entry. */
static int format_prop(struct ls_formats *f, struct ls_format *fm,
		       const struct ls_pentry *e, const struct ls_pprop *p,
		       struct ls_error *err)
{
	const char *k = p->key, *v = p->value;
	int rc;

	if (strcmp(k, "match") == 0) {
		if (fm->nmatch == FMT_MAX_MATCH)
			goto too_many;
		return compile_pattern(f->grok, v, 0, e, p->line,
				       &fm->match[fm->nmatch++], err);
	}
	if (strcmp(k, "decoder") == 0) {
		if (strcmp(v, "json") == 0)
			fm->decoder = DEC_JSON;
		else if (strcmp(v, "logfmt") == 0)
			fm->decoder = DEC_LOGFMT;
		else
			return ls_error_set(err, LS_EINVAL, "%s:%d: unknown decoder '%s' "
					    "(json, logfmt)", e->origin, p->line, v);
		return 0;
	}
	if (strcmp(k, "map") == 0) {
		struct kv kv;
		if (fm->nmap == FMT_MAX_MAP)
			goto too_many;
		rc = split_kv(v, "->", &kv);
		if (rc == LS_ENOMEM)
			goto nomem;
		if (rc < 0)
			goto bad;
		fm->map[fm->nmap].from = kv.key;
		fm->map[fm->nmap++].to = kv.val;
		return 0;
	}
	if (strcmp(k, "set") == 0) {
		if (fm->nset == FMT_MAX_SET)
			goto too_many;
		rc = split_kv(v, "=", &fm->set[fm->nset]);
		if (rc == LS_ENOMEM)
			goto nomem;
		if (rc < 0)
			goto bad;
		fm->set[fm->nset].type = set_type(fm->set[fm->nset].key);
		fm->set[fm->nset].val_len = strlen(fm->set[fm->nset].val);
		fm->nset++;
		return 0;
	}
	if (strcmp(k, "levels") == 0) {
		for (const char *s = v; *s; s += strspn(s, " ")) {
			size_t n = strcspn(s, " ");
			char item[64];
			if (fm->nlevels == FMT_MAX_LEVELS)
				goto too_many;
			if (n >= sizeof(item))
				goto bad;
			memcpy(item, s, n);
			item[n] = '\0';
			rc = split_kv(item, "=", &fm->levels[fm->nlevels]);
			if (rc == LS_ENOMEM)
				goto nomem;
			if (rc < 0)
				goto bad;
			fm->nlevels++;
			s += n;
		}
		return 0;
	}
	if (strcmp(k, "aliases") == 0) {
		for (const char *s = v; *s; s += strspn(s, " ")) {
			size_t n = strcspn(s, " ");
			if (fm->naliases == FMT_MAX_ALIASES)
				goto too_many;
			if (!(fm->aliases[fm->naliases] = strndup(s, n)))
				goto nomem;
			fm->naliases++;
			s += n;
		}
		return 0;
	}
	if (strcmp(k, "require") == 0) {
		if (fm->nrequire == FMT_MAX_SET)
			goto too_many;
		if (!(fm->require[fm->nrequire] = strdup(v)))
			goto nomem;
		fm->nrequire++;
		return 0;
	}
	if (strcmp(k, "dataset") == 0) {
		free(fm->dataset);
		fm->dataset = strdup(v);
		fm->dataset_len = fm->dataset ? strlen(v) : 0;
		return fm->dataset ? 0 : ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	if (strcmp(k, "priority") == 0) {
		fm->priority = atoi(v);
		return 0;
	}
	if (strcmp(k, "multiline") == 0)
		return add_multiline(fm, v, e, p->line, err);
	if (strcmp(k, "reparse") == 0) {
		/* "FIELD [FORMAT...]": the formats tried on it, or all */
		size_t n = strcspn(v, " ");
		free(fm->reparse);
		fm->reparse = strndup(v, n);
		if (!fm->reparse)
			goto nomem;
		for (const char *s = v + n; *(s += strspn(s, " ")); s += strcspn(s, " ")) {
			if (fm->ncand == FMT_MAX_CAND)
				goto too_many;
			if (!(fm->cand_names[fm->ncand] = strndup(s, strcspn(s, " "))))
				goto nomem;
			fm->ncand++;
		}
		return 0;
	}
	if (strcmp(k, "partial") == 0) {
		/* "FIELD=VALUE" or "FIELD unterminated" */
		struct kv kv = {0};
		size_t n = strcspn(v, " ");
		free(fm->partial_field);
		free(fm->partial_value);
		fm->partial_field = fm->partial_value = NULL;
		if (strchr(v, '=')) {
			rc = split_kv(v, "=", &kv);
			if (rc == LS_ENOMEM)
				goto nomem;
			if (rc < 0 || !kv.val[0]) {
				free(kv.key);
				free(kv.val);
				goto bad;
			}
			fm->partial_field = kv.key;
			fm->partial_value = kv.val;
			fm->partial_value_len = strlen(kv.val);
			return 0;
		}
		if (n == 0 || strcmp(v + n + strspn(v + n, " "), "unterminated") != 0)
			goto bad;
		if (!(fm->partial_field = strndup(v, n)))
			goto nomem;
		return 0;
	}
	if (strcmp(k, "partial-key") == 0) {
		free(fm->partial_key);
		if (!(fm->partial_key = strdup(v)))
			goto nomem;
		return 0;
	}
	if (strcmp(k, "description") == 0 || strcmp(k, "example") == 0 ||
	    strcmp(k, "expect") == 0 || strcmp(k, "counterexample") == 0)
		return 0;
	return ls_error_set(err, LS_EINVAL, "%s:%d: %s: unknown property '%s'",
			    e->origin, p->line, e->name, k);
bad:
	return ls_error_set(err, LS_EINVAL, "%s:%d: %s: cannot read '%s: %s'",
			    e->origin, p->line, e->name, k, v);
too_many:
	return ls_error_set(err, LS_EINVAL, "%s:%d: %s: too many '%s' lines",
			    e->origin, p->line, e->name, k);
nomem:
	return ls_error_set(err, LS_ENOMEM, "out of memory");
}

static int insert_sorted(struct ls_formats *f, struct ls_format *fm)
{
	int i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->list[i]->name, fm->name) == 0) {
			/* same name: the later definition overrides */
			format_free(f->list[i]);
			memmove(&f->list[i], &f->list[i + 1],
				(size_t)(f->n - i - 1) * sizeof(f->list[0]));
			f->n--;
			break;
		}
	}
	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 32;
		struct ls_format **p = realloc(f->list, (size_t)cap * sizeof(*p));
		if (!p)
			return LS_ENOMEM;
		f->list = p;
		f->cap = cap;
	}
	for (i = f->n; i > 0 && f->list[i - 1]->priority > fm->priority; i--)
		f->list[i] = f->list[i - 1];
	f->list[i] = fm;
	f->n++;
	return 0;
}

int ls_formats_add(struct ls_formats *f, const struct ls_pentry *e,
		   struct ls_error *err)
{
	struct ls_format *fm = calloc(1, sizeof(*fm));
	int rc = 0;

	if (!fm || !(fm->name = strdup(e->name))) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto fail;
	}
	fm->entry = e;
	fm->priority = 50;
	for (int i = 0; i < e->nprops && rc == 0; i++)
		rc = format_prop(f, fm, e, &e->props[i], err);
	if (rc == 0 && fm->decoder == DEC_REGEX && fm->nmatch == 0)
		rc = ls_error_set(err, LS_EINVAL, "%s:%d: format %s has neither "
				  "'match:' nor 'decoder:'", e->origin, e->line, e->name);
	if (rc == 0 && (fm->partial_field || fm->partial_key) && !fm->reparse)
		rc = ls_error_set(err, LS_EINVAL, "%s:%d: format %s: 'partial:' joins the "
				  "'reparse:' field, which it has not", e->origin, e->line, e->name);
	if (rc == 0 && insert_sorted(f, fm) < 0)
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
	if (rc == 0)
		return 0;
fail:
	format_free(fm);
	return rc;
}

int ls_formats_count(const struct ls_formats *f)
{
	return f->n;
}

const char *ls_formats_name(const struct ls_formats *f, int idx)
{
	return idx >= 0 && idx < f->n ? f->list[idx]->name : NULL;
}

const struct ls_pentry *ls_formats_entry(const struct ls_formats *f, int idx)
{
	return idx >= 0 && idx < f->n ? f->list[idx]->entry : NULL;
}

int ls_formats_find(const struct ls_formats *f, const char *name)
{
	/* names are matched in any case: -f NGINX is nginx */
	for (int i = 0; i < f->n; i++) {
		if (strcasecmp(f->list[i]->name, name) == 0)
			return i;
		for (int a = 0; a < f->list[i]->naliases; a++)
			if (strcasecmp(f->list[i]->aliases[a], name) == 0)
				return i;
	}
	return -1;
}

const char *ls_formats_suggest(const struct ls_formats *f, const char *name)
{
	const char *best = NULL;
	int best_d = INT_MAX;
	char lower[64];
	size_t n = 0;

	/* names are lower case and found in any case: compare so (NGNIX) */
	for (; name[n] && n < sizeof(lower) - 1; n++)
		lower[n] = (char)tolower((unsigned char)name[n]);
	lower[n] = '\0';
	if (!name[n])
		name = lower;
	for (int i = 0; i < f->n; i++) {
		int d = ls_edit_distance(name, f->list[i]->name);
		if (d < best_d) {
			best_d = d;
			best = f->list[i]->name;
		}
		for (int a = 0; a < f->list[i]->naliases; a++) {
			d = ls_edit_distance(name, f->list[i]->aliases[a]);
			if (d < best_d) {
				best_d = d;
				best = f->list[i]->aliases[a];
			}
		}
	}
	return best_d <= 3 || (best && best_d <= (int)strlen(name) / 2) ? best : NULL;
}

static int apply_match(struct ls_format *fm, struct ls_event *ev,
		       const char *line, size_t len)
{
	for (int m = 0; m < fm->nmatch; m++) {
		struct ls_matcher *mt = fm->match[m];
		int rc = ls_matcher_exec(mt, line, len);
		if (rc <= 0)
			continue;
		for (int i = 0; i < ls_matcher_ngroups(mt); i++) {
			const char *s;
			size_t n;
			int type;
			const char *name = ls_matcher_group_field(mt, i, &type);
			if (ls_matcher_group(mt, i, &s, &n) < 0)
				continue;
			if (ls_event_set(ev, name, s, n, type) < 0)
				return LS_ENOMEM;
		}
		return 1;
	}
	return 0;
}

static void apply_levels(struct ls_format *fm, struct ls_event *ev)
{
	const struct ls_field *lv = ls_event_get(ev, "log.level");

	if (!lv)
		return;
	for (int i = 0; i < fm->nlevels; i++) {
		if (strlen(fm->levels[i].key) == lv->len &&
		    memcmp(fm->levels[i].key, lv->val, lv->len) == 0) {
			ls_event_set_str(ev, "log.level", fm->levels[i].val);
			return;
		}
	}
}

void ls_formats_take_timestamp(struct ls_event *ev, struct ls_tsctx *ts)
{
	const struct ls_field *t = ls_event_get(ev, "@timestamp");
	int64_t ms;

	if (!t)
		return;
	if (ls_ts_parse(ts, t->val, t->len, &ms) == 0)
		ev->ts_ms = ms;
	else
		ls_event_set(ev, "event.original_time", t->val, t->len, LS_F_STR);
	ls_event_unset(ev, "@timestamp");
}

/* Tries the reparse candidates of fm (all formats when it names none). */
static int reparse_any(struct ls_formats *f, struct ls_format *fm,
		       struct ls_tsctx *ts, struct ls_event *ev,
		       const char *text, size_t len)
{
	if (fm->ncand == 0)
		return ls_formats_parse_any(f, -1, ts, ev, text, len);
	if (fm->cand_resolved_at != f->n) {
		for (int i = 0; i < fm->ncand; i++)
			fm->cand[i] = ls_formats_find(f, fm->cand_names[i]);
		fm->cand_resolved_at = f->n;
	}
	for (int i = 0; i < fm->ncand; i++)
		if (fm->cand[i] >= 0 && ls_formats_parse(f, fm->cand[i], ts, ev, text, len) > 0)
			return fm->cand[i];
	return -1;
}

/* Parses the reparse field's text with the other formats and merges the
 * fields; the container's own time and stream are kept. Returns the index
 * of the format that parsed the text, or -1. */
static int apply_reparse(struct ls_formats *f, struct ls_format *fm,
			 struct ls_tsctx *ts, struct ls_event *ev)
{
	const struct ls_field *fld = ls_event_get(ev, fm->reparse);
	int64_t ts_ms = ev->ts_ms;
	int fmt = ev->format, inner;

	if (!fld || f->depth >= REPARSE_DEPTH || fld->type != LS_F_STR)
		return -1;
	/* container runtimes keep the line's own newline */
	if (fld->len > 0 && fld->val[fld->len - 1] == '\n') {
		size_t n = fld->len - 1;
		if (n > 0 && fld->val[n - 1] == '\r')
			n--;
		ls_event_set(ev, fm->reparse, fld->val, n, LS_F_STR);
		fld = ls_event_get(ev, fm->reparse);
	}
	f->depth++;
	inner = reparse_any(f, fm, ts, ev, fld->val, fld->len);
	if (inner >= 0)
		ev->ts_ms = ts_ms;
	ev->format = fmt;
	f->depth--;
	return inner;
}

int ls_formats_part(const struct ls_formats *f, int idx, const struct ls_event *ev,
		    struct ls_part *part)
{
	const struct ls_format *fm;
	const struct ls_field *fld;

	if (idx < 0 || idx >= f->n || !f->list[idx]->partial_field)
		return 0;
	fm = f->list[idx];
	fld = ls_event_get(ev, fm->reparse);
	part->text = fld ? fld->val : "";
	part->len = fld ? fld->len : 0;
	fld = fm->partial_key ? ls_event_get(ev, fm->partial_key) : NULL;
	part->key = fld ? fld->val : "";
	part->key_len = fld ? fld->len : 0;
	fld = ls_event_get(ev, fm->partial_field);
	if (!fld)
		part->more = 0;
	else if (!fm->partial_value)
		part->more = fld->len == 0 || fld->val[fld->len - 1] != '\n';
	else
		/* CRI tags may grow: "P:more:tags" */
		part->more = fld->len >= fm->partial_value_len &&
			     memcmp(fld->val, fm->partial_value, fm->partial_value_len) == 0 &&
			     (fld->len == fm->partial_value_len ||
			      fld->val[fm->partial_value_len] == ':');
	return 1;
}

int ls_formats_reparse(struct ls_formats *f, int idx, struct ls_tsctx *ts,
		       struct ls_event *ev, const char *text, size_t len)
{
	struct ls_format *fm;

	if (idx < 0 || idx >= f->n || !f->list[idx]->reparse)
		return -1;
	fm = f->list[idx];
	if (text && ls_event_set(ev, fm->reparse, text, len, LS_F_STR) < 0)
		return -1;
	return apply_reparse(f, fm, ts, ev);
}

int ls_formats_partial(const struct ls_formats *f, int idx)
{
	return idx >= 0 && idx < f->n && f->list[idx]->partial_field != NULL;
}

static int parse_one(struct ls_formats *f, int idx, struct ls_tsctx *ts,
		     struct ls_event *ev, const char *line, size_t len, int reparse)
{
	struct ls_format *fm = f->list[idx];
	int saved_n = ev->nfields;
	size_t saved_arena = ev->arena_len;
	int rc;

	/* container formats (reparse into any format) do not nest */
	if (f->depth > 0 && fm->reparse && fm->ncand == 0)
		return 0;
	if (fm->decoder == DEC_JSON)
		rc = ls_decode_json(ev, line, len, fm->map, fm->nmap);
	else if (fm->decoder == DEC_LOGFMT)
		rc = ls_decode_logfmt(ev, line, len, fm->map, fm->nmap);
	else
		rc = apply_match(fm, ev, line, len);
	for (int i = 0; rc > 0 && i < fm->nrequire; i++)
		if (!ls_event_get(ev, fm->require[i]))
			rc = 0;
	if (rc <= 0) {
		ev->nfields = saved_n;
		ev->arena_len = saved_arena;
		return rc;
	}
	if (f->depth == 0)
		ev->format = idx;
	if (fm->dataset)
		ls_event_set(ev, "event.dataset", fm->dataset, fm->dataset_len, LS_F_STR);
	for (int i = 0; i < fm->nset; i++)
		ls_event_set(ev, fm->set[i].key, fm->set[i].val, fm->set[i].val_len,
			     fm->set[i].type);
	apply_levels(fm, ev);
	ls_formats_take_timestamp(ev, ts);
	if (fm->reparse && reparse)
		apply_reparse(f, fm, ts, ev);
	return 1;
}

int ls_formats_parse(struct ls_formats *f, int idx, struct ls_tsctx *ts,
		     struct ls_event *ev, const char *line, size_t len)
{
	return parse_one(f, idx, ts, ev, line, len, 1);
}

int ls_formats_parse_outer(struct ls_formats *f, int idx, struct ls_tsctx *ts,
			   struct ls_event *ev, const char *line, size_t len)
{
	return parse_one(f, idx, ts, ev, line, len, 0);
}

int ls_formats_parse_any(struct ls_formats *f, int hint, struct ls_tsctx *ts,
			 struct ls_event *ev, const char *line, size_t len)
{
	if (hint >= 0 && ls_formats_parse(f, hint, ts, ev, line, len) > 0)
		return hint;
	for (int i = 0; i < f->n; i++)
		if (i != hint && ls_formats_parse(f, i, ts, ev, line, len) > 0)
			return i;
	return -1;
}

int ls_formats_detect(struct ls_formats *f, struct ls_tsctx *ts,
		      struct ls_event *scratch, const char *const *lines,
		      const size_t *lens, int n)
{
	int best = -1, best_hits = 0;

	for (int i = 0; i < f->n; i++) {
		int hits = 0;
		for (int l = 0; l < n; l++) {
			ls_event_reset(scratch);
			if (ls_formats_parse(f, i, ts, scratch, lines[l], lens[l]) > 0)
				hits++;
		}
		if (hits > best_hits) {
			best_hits = hits;
			best = i;
		}
	}
	ls_event_reset(scratch);
	return best;
}

int ls_formats_continues(struct ls_formats *f, int idx, const char *line, size_t len)
{
	struct ls_format *fm;

	if (idx < 0 || idx >= f->n)
		return 0;
	fm = f->list[idx];
	if (!fm->continuation)
		return 0;
	/* a blank line inside a record (between the goroutines of a Go panic,
	 * in a Python exception chain) continues it */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
			   line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 1;
	return ls_matcher_exec(fm->continuation, line, len) > 0;
}

/* 1 when format idx joins continuation lines. */
int ls_formats_multiline(const struct ls_formats *f, int idx)
{
	return idx >= 0 && idx < f->n && f->list[idx]->continuation != NULL;
}

/* rules.c - the security rule engine.
 *
 * Rules are routed by program (process.name) and dataset (event.dataset)
 * through two small open-addressing tables built lazily on the first apply
 * after adds; rules with neither are "global" and must carry literals. A
 * candidate rule first checks its literals (memchr on each literal's
 * rarest byte, caseless when its match is (?i); when many literals meet one
 * short subject, a byte-presence map of the subject built once per event
 * rejects most of them without searching), then runs its regexes; the
 * candidates of the three lists are merged so that rules are tried in the
 * order they were added and the first hit wins.
 *
 * Thresholds count hits per key in a fixed, set-associative table allocated
 * when the entry is added: 8-way buckets of slots keyed by a 64-bit XXH3
 * hash (plus a short copy of the key), each slot owning a ring of `count`
 * timestamps, or for distinct counting `count` value hashes with their last
 * time. A full bucket evicts its stalest slot, so memory never grows. */
#include "rules.h"
#include "matcher.h"
#include "where.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define RULE_MAX_MATCH 8
#define RULE_MAX_ITEMS 16          /* words in a list property */
#define THR_WAYS 8                 /* slots per bucket */
#define THR_KEY_MAX 63             /* key text kept per slot */
#define THR_COUNT_MAX 1000
#define THR_CAPACITY_DEFAULT 65536
#define THR_CAPACITY_MAX (1u << 24)
#define THR_TABLE_MAX ((size_t)256 << 20)
#define THR_WINDOW_MAX (366 * 86400)
#define ALERT_KEY_SHOWN 200        /* key bytes quoted in an alert message */
#define FIND_MEMCHR_MAX 4096       /* longer subjects are searched by memmem */
#define LIT_NEED 3                 /* rare bytes the presence map tests */
#define MAP_MAX_LEN 1024           /* longer subjects are never mapped */

/* Words of a list property, plus the same joined with LS_LIST_SEP so that a
 * hit can borrow the whole list when the event has none yet. */
struct strlist {
	int n;
	char *v[RULE_MAX_ITEMS];
	uint32_t len[RULE_MAX_ITEMS];
	char *joined;
	uint32_t joined_len;
};

/* What rules and thresholds share: identity and what a hit/alert sets. */
struct meta {
	char *id;                      /* the entry name */
	char *name;                    /* name:, else the id */
	const struct ls_pentry *entry; /* borrowed */
	int level;
	struct strlist category, type, technique, tags;
};

enum route { ROUTE_GLOBAL, ROUTE_PROGRAM, ROUTE_DATASET };

/* A prefilter literal with the bytes chosen to look for it quickly. */
struct literal {
	char *text;                    /* lowercase when the rule is caseless */
	uint32_t len;
	uint32_t rare_off;             /* offset of the byte memchr looks for */
	unsigned char rare[2];         /* that byte (both cases when caseless) */
	int nneed;
	unsigned char need[LIT_NEED][2]; /* its rarest distinct bytes */
};

/* The fields read for every candidate come first. */
struct rule {
	enum route route;
	int check_dataset;             /* routed by program, dataset: too */
	int subject;                   /* index into ls_rules.cache */
	int caseless;                  /* a match starts with (?i) */
	int decode;                    /* url.*: matched percent-decoded */
	int nlit;
	int nmatch;
	struct literal lit[RULE_MAX_ITEMS];
	struct ls_matcher *match[RULE_MAX_MATCH];
	struct strlist datasets;
	struct meta m;
	char *outcome;
	char *field;                   /* subject field; NULL: message */
	struct strlist programs;
};

struct thr_slot {
	uint64_t hash;                 /* 0: empty */
	int64_t last_ms;               /* newest hit, for eviction */
	uint16_t head;                 /* next ring position */
	uint16_t n;                    /* timestamps / distinct values held */
	uint8_t key_len;
	char key[THR_KEY_MAX];
};

struct thr_value {
	uint64_t hash;
	int64_t seen_ms;
};

struct threshold {
	struct meta m;
	struct ls_where *on;
	char *key;
	char *distinct;                /* NULL: count every hit */
	int count;
	int window_s;
	uint32_t capacity;
	uint32_t nbuckets;
	struct thr_slot *slots;        /* nbuckets * THR_WAYS */
	int64_t *times;                /* count per slot (plain counting) */
	struct thr_value *values;      /* count per slot (distinct counting) */
};

/* The rules to try for one routing value, already merged with the global
 * rules in the order they were added, and the memchr calls ("units") their
 * literals may make on each subject. */
struct cand_list {
	uint32_t n;
	uint32_t first;                /* into ls_rules.cand_ids */
	uint32_t units_at;             /* into ls_rules.cand_units */
};

/* program or dataset name -> its candidate list */
struct name_slot {
	const char *name;              /* NULL: empty */
	uint32_t len;
	uint64_t hash;
	struct cand_list list;
};

struct name_index {
	uint32_t mask;
	uint32_t nnames;
	struct name_slot *slots;
};

enum { MAP_UNDECIDED, MAP_BUILT, MAP_NONE };

/* One subject field's text for the current event, found (and decoded) once
 * per apply, and when it pays, which bytes it holds. */
struct subject_cache {
	uint64_t gen;
	const char *s;                 /* NULL: the event lacks the field */
	size_t len;
	uint32_t units;                /* memchr calls this event's rules may make */
	int map;                       /* MAP_* for this event */
	uint8_t stamp;                 /* marks the bytes in seen[] */
	uint8_t seen[256];             /* == stamp: the byte occurs in s */
};

/* Fields read once per event: process.name, event.dataset, the subjects. */
enum { WANT_PROGRAM, WANT_DATASET, WANT_SUBJECTS };
#define WANT_MASKED 64             /* wanted fields found through first_mask */

struct technique {
	char *id;
	char *name;
};

struct ls_rules {
	const struct ls_grok *grok;
	int nrules, rules_cap;
	struct rule **rules;
	int nthr, thr_cap;
	struct threshold **thr;
	int ntech;
	int have_techniques;
	struct technique *tech;        /* sorted by id */
	/* built lazily by build_index() */
	int dirty;
	struct name_index programs, datasets;
	struct cand_list global;
	uint32_t *cand_ids;
	uint32_t ncand_ids;
	uint32_t *cand_units;
	uint32_t ncand_units;
	int nsubjects;
	struct subject_cache *cache;
	int nwanted;
	const char **wanted;           /* borrowed: WANT_* then the subjects */
	const struct ls_field **found; /* this event's wanted fields */
	uint64_t first_mask[256];      /* wanted names by first byte */
	uint64_t gen;
};

static const char *const level_digits[] = { "0", "1", "2", "3", "4", "5" };

/* ---- small helpers ------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = XXH3_64bits(s, len);

	return h ? h : 1;
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int rest_equal_caseless(const char *h, const char *lower, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)h[i]) != (unsigned char)lower[i])
			return 0;
	return 1;
}

/* Finds literal l in hay: memchr for its rare byte (one cursor per case),
 * then a compare at the candidate. glibc's memmem pays a set-up per call
 * that dominates on log-line-sized subjects, so it is kept for long
 * subjects only, where its linear bound matters. */
static const char *find_literal(const struct literal *l, int caseless,
				const char *hay, size_t hay_len)
{
	const char *from, *end, *a, *b;

	if (l->len > hay_len)
		return NULL;
	if (!caseless && hay_len > FIND_MEMCHR_MAX)
		return memmem(hay, hay_len, l->text, l->len);
	from = hay + l->rare_off;
	end = from + (hay_len - l->len + 1);
	a = memchr(from, l->rare[0], (size_t)(end - from));
	b = l->rare[1] != l->rare[0] ? memchr(from, l->rare[1], (size_t)(end - from)) : NULL;
	while (a || b) {
		const char *c = a && (!b || a < b) ? a : b;
		const char *p = c - l->rare_off;
		if (caseless ? rest_equal_caseless(p, l->text, l->len) :
			       memcmp(p, l->text, l->len) == 0)
			return p;
		if (c == a)
			a = memchr(c + 1, l->rare[0], (size_t)(end - c - 1));
		else
			b = memchr(c + 1, l->rare[1], (size_t)(end - c - 1));
	}
	return NULL;
}

/* How common byte c is in log text (higher: more common); a rough order
 * that only has to rank punctuation and rare letters below common ones. */
static int byte_commonness(unsigned char c)
{
	static const char letters[] = "etaoinsrlhdcupmfgbwyvkxjqz";
	const char *at;

	if (c == ' ')
		return 250;
	if (c >= 'a' && c <= 'z' && (at = strchr(letters, c)) != NULL)
		return 200 - 4 * (int)(at - letters);
	if (c >= 'A' && c <= 'Z')
		return 100 - 2 * (int)(strchr(letters, c + 32) - letters);
	if ((c >= '0' && c <= '9') || (c && strchr("/.-:_=\",", c)))
		return 170;
	if (c && strchr("%&?+[]();'#@", c))
		return 60;
	return 30;
}

static unsigned char ascii_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

/* The cost of looking for byte c: both cases count when caseless. */
static int byte_cost(unsigned char c, int caseless)
{
	if (caseless && ascii_upper(c) != c)
		return byte_commonness(c) + byte_commonness(ascii_upper(c));
	return byte_commonness(c);
}

/* Chooses the byte memchr looks for and the bytes the presence map tests. */
static void literal_prepare(struct literal *l, int caseless)
{
	int chosen[LIT_NEED];

	l->nneed = 0;
	while (l->nneed < LIT_NEED) {
		int best = -1;
		for (uint32_t i = 0; i < l->len; i++) {
			unsigned char c = (unsigned char)l->text[i];
			int dup = 0;
			for (int k = 0; k < l->nneed && !dup; k++)
				dup = (unsigned char)l->text[chosen[k]] == c;
			if (!dup && (best < 0 || byte_cost(c, caseless) <
				     byte_cost((unsigned char)l->text[best], caseless)))
				best = (int)i;
		}
		if (best < 0)
			break;
		chosen[l->nneed] = best;
		l->need[l->nneed][0] = (unsigned char)l->text[best];
		l->need[l->nneed][1] = caseless ? ascii_upper(l->need[l->nneed][0]) :
						  l->need[l->nneed][0];
		l->nneed++;
	}
	l->rare_off = (uint32_t)chosen[0];
	l->rare[0] = l->need[0][0];
	l->rare[1] = l->need[0][1];
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of "%XX" at in[i] when in[i+1..i+2] are hex digits, else -1. */
static int percent_byte(const char *in, size_t len, size_t i)
{
	int hi, lo;

	if (in[i] != '%' || i + 2 >= len)
		return -1;
	hi = hex_value(in[i + 1]);
	lo = hex_value(in[i + 2]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Percent-decodes in into out (room for len bytes): %XX and '+' as space;
 * a double-encoded %25XX is decoded to its final byte. Returns the length. */
static size_t url_decode(char *out, const char *in, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int b = percent_byte(in, len, i);
		if (b < 0) {
			out[o++] = in[i] == '+' ? ' ' : in[i];
			continue;
		}
		/* "%25" + "XX" is a double-encoded "%XX": decode that too */
		if (b == '%' && i + 4 < len && hex_value(in[i + 3]) >= 0 &&
		    hex_value(in[i + 4]) >= 0) {
			b = hex_value(in[i + 3]) * 16 + hex_value(in[i + 4]);
			i += 2;
		}
		i += 2;
		out[o++] = (char)b;
	}
	return o;
}

/* "origin:line: KIND NAME: message" into err; returns code. */
__attribute__((format(printf, 5, 6)))
static int entry_error(struct ls_error *err, int code, const struct ls_pentry *e,
		       int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ls_error_set(err, code, "%s:%d: %s %s: %s", e->origin, line, e->kind,
			    e->name, msg);
}

/* Parses a whole decimal number in [min, max]; 0 or -1. */
static int parse_bounded(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* T1234 or T1234.123 */
static int technique_syntax_ok(const char *s, size_t n)
{
	if (n != 5 && n != 9)
		return 0;
	if (s[0] != 'T')
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (i == 5) {
			if (s[i] != '.')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	return 1;
}

/* ---- lists -------------------------------------------------------------- */

static void strlist_release(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->joined);
	memset(l, 0, sizeof(*l));
}

/* Appends the blank-separated words of v (duplicates skipped). */
static int strlist_add_words(struct strlist *l, const char *v)
{
	for (const char *s = v + strspn(v, " \t"); *s; s += strspn(s, " \t")) {
		size_t n = strcspn(s, " \t");
		int dup = 0;
		for (int i = 0; i < l->n && !dup; i++)
			dup = l->len[i] == n && memcmp(l->v[i], s, n) == 0;
		if (!dup) {
			if (l->n == RULE_MAX_ITEMS)
				return LS_EINVAL;
			l->v[l->n] = strndup(s, n);
			if (!l->v[l->n])
				return LS_ENOMEM;
			l->len[l->n++] = (uint32_t)n;
		}
		s += n;
	}
	return 0;
}

/* Builds l->joined ("a\x1fb") once the list is complete. */
static int strlist_join(struct strlist *l)
{
	size_t total = 0, o = 0;

	if (l->n == 0)
		return 0;
	for (int i = 0; i < l->n; i++)
		total += l->len[i] + 1;
	l->joined = malloc(total);
	if (!l->joined)
		return LS_ENOMEM;
	for (int i = 0; i < l->n; i++) {
		if (i)
			l->joined[o++] = LS_LIST_SEP;
		memcpy(l->joined + o, l->v[i], l->len[i]);
		o += l->len[i];
	}
	l->joined[o] = '\0';
	l->joined_len = (uint32_t)o;
	return 0;
}

static size_t strlist_memory(const struct strlist *l)
{
	size_t n = l->n ? l->joined_len + 1 : 0;

	for (int i = 0; i < l->n; i++)
		n += l->len[i] + 1;
	return n;
}

/* ---- the set ------------------------------------------------------------ */

int ls_rules_new(struct ls_rules **out, const struct ls_grok *g)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return LS_ENOMEM;
	(*out)->grok = g;
	return 0;
}

static void meta_release(struct meta *m)
{
	free(m->id);
	free(m->name);
	strlist_release(&m->category);
	strlist_release(&m->type);
	strlist_release(&m->technique);
	strlist_release(&m->tags);
}

static void rule_free(struct rule *ru)
{
	if (!ru)
		return;
	meta_release(&ru->m);
	free(ru->outcome);
	free(ru->field);
	strlist_release(&ru->programs);
	strlist_release(&ru->datasets);
	for (int i = 0; i < ru->nlit; i++)
		free(ru->lit[i].text);
	for (int i = 0; i < ru->nmatch; i++)
		ls_matcher_free(ru->match[i]);
	free(ru);
}

static void threshold_free(struct threshold *t)
{
	if (!t)
		return;
	meta_release(&t->m);
	ls_where_free(t->on);
	free(t->key);
	free(t->distinct);
	free(t->slots);
	free(t->times);
	free(t->values);
	free(t);
}

static void index_release(struct name_index *x)
{
	free(x->slots);
	memset(x, 0, sizeof(*x));
}

static void routing_release(struct ls_rules *r)
{
	index_release(&r->programs);
	index_release(&r->datasets);
	free(r->cand_ids);
	free(r->cand_units);
	free(r->wanted);
	free(r->found);
	free(r->cache);
	memset(&r->global, 0, sizeof(r->global));
	r->cand_ids = NULL;
	r->cand_units = NULL;
	r->ncand_ids = 0;
	r->ncand_units = 0;
	r->wanted = NULL;
	r->found = NULL;
	r->cache = NULL;
	r->nsubjects = 0;
	r->nwanted = 0;
	memset(r->first_mask, 0, sizeof(r->first_mask));
}

static void techniques_release(struct technique *t, int n)
{
	for (int i = 0; i < n; i++) {
		free(t[i].id);
		free(t[i].name);
	}
	free(t);
}

void ls_rules_free(struct ls_rules *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nrules; i++)
		rule_free(r->rules[i]);
	for (int i = 0; i < r->nthr; i++)
		threshold_free(r->thr[i]);
	free(r->rules);
	free(r->thr);
	techniques_release(r->tech, r->ntech);
	routing_release(r);
	free(r);
}

/* ---- the technique allow-list ------------------------------------------- */

static int technique_cmp(const void *a, const void *b)
{
	return strcmp(((const struct technique *)a)->id,
		      ((const struct technique *)b)->id);
}

static const struct technique *technique_find(const struct ls_rules *r,
					      const char *id, size_t len)
{
	char key[16];
	struct technique probe = { key, NULL };

	if (len >= sizeof(key) || r->ntech == 0)
		return NULL;
	memcpy(key, id, len);
	key[len] = '\0';
	return bsearch(&probe, r->tech, (size_t)r->ntech, sizeof(*r->tech),
		       technique_cmp);
}

/* Reads one allow-list line ("ID Name") into t; 1 when it held an entry,
 * 0 for a blank or comment line, LS_EINVAL/LS_ENOMEM. */
static int technique_line(const char *s, size_t n, struct technique *t)
{
	size_t idlen, skip;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	skip = 0;
	while (skip < n && (s[skip] == ' ' || s[skip] == '\t'))
		skip++;
	s += skip;
	n -= skip;
	if (n == 0 || s[0] == '#')
		return 0;
	for (idlen = 0; idlen < n && s[idlen] != ' ' && s[idlen] != '\t'; idlen++)
		;
	if (!technique_syntax_ok(s, idlen))
		return LS_EINVAL;
	skip = idlen;
	while (skip < n && (s[skip] == ' ' || s[skip] == '\t'))
		skip++;
	t->id = strndup(s, idlen);
	t->name = strndup(s + skip, n - skip);
	return t->id && t->name ? 1 : LS_ENOMEM;
}

int ls_rules_set_techniques(struct ls_rules *r, const char *text, size_t len)
{
	struct technique *list = NULL, *p;
	int n = 0, cap = 0, rc = 0;

	for (size_t pos = 0; pos < len && rc >= 0;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t linelen = nl ? (size_t)(nl - text - pos) : len - pos;
		if (n == cap) {
			cap = cap ? cap * 2 : 128;
			p = realloc(list, (size_t)cap * sizeof(*p));
			if (!p) {
				rc = LS_ENOMEM;
				break;
			}
			list = p;
		}
		memset(&list[n], 0, sizeof(list[n]));
		rc = technique_line(text + pos, linelen, &list[n]);
		if (rc > 0)
			n++;
		else if (rc < 0)
			n++; /* release what the failed line allocated */
		pos += linelen + 1;
	}
	if (rc < 0) {
		techniques_release(list, n);
		return rc;
	}
	qsort(list, (size_t)n, sizeof(*list), technique_cmp);
	techniques_release(r->tech, r->ntech);
	r->tech = list;
	r->ntech = n;
	r->have_techniques = 1;
	return 0;
}

const char *ls_rules_technique_name(const struct ls_rules *r, const char *id)
{
	const struct technique *t = technique_find(r, id, strlen(id));

	return t ? t->name : NULL;
}

/* ---- parsing entries ---------------------------------------------------- */

static int add_list(struct strlist *l, const struct ls_pentry *e,
		    const struct ls_pprop *p, struct ls_error *err)
{
	int rc = strlist_add_words(l, p->value);

	if (rc == LS_ENOMEM)
		return ls_error_set(err, rc, "out of memory");
	if (rc < 0)
		return entry_error(err, rc, e, p->line, "more than %d words in '%s:'",
				   RULE_MAX_ITEMS, p->key);
	return 0;
}

static int add_techniques(const struct ls_rules *r, struct meta *m,
			  const struct ls_pentry *e, const struct ls_pprop *p,
			  struct ls_error *err)
{
	int first = m->technique.n;
	int rc = add_list(&m->technique, e, p, err);

	for (int i = first; rc == 0 && i < m->technique.n; i++) {
		const char *id = m->technique.v[i];
		if (!technique_syntax_ok(id, m->technique.len[i]))
			rc = entry_error(err, LS_EINVAL, e, p->line, "bad technique id "
					 "'%s' (expected T1234 or T1234.123)", id);
		else if (r->have_techniques && !technique_find(r, id, m->technique.len[i]))
			rc = entry_error(err, LS_EINVAL, e, p->line, "unknown technique "
					 "'%s' (not in attack-techniques.txt)", id);
	}
	return rc;
}

static int set_level(struct meta *m, const struct ls_pentry *e,
		     const struct ls_pprop *p, struct ls_error *err)
{
	int level = ls_level_from_name(p->value);

	if (level == 0 || strcmp(ls_level_name(level), p->value) != 0)
		return entry_error(err, LS_EINVAL, e, p->line, "bad level '%s' "
				   "(informational, low, medium, high, critical)",
				   p->value);
	m->level = level;
	return 0;
}

static int set_string(char **dst, const char *v, struct ls_error *err)
{
	char *copy = strdup(v);

	if (!copy)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

/* Properties rules and thresholds share. Returns 1 when p was one of them
 * (rc in *rc), 0 when not. */
static int meta_prop(const struct ls_rules *r, struct meta *m,
		     const struct ls_pentry *e, const struct ls_pprop *p,
		     struct ls_error *err, int *rc)
{
	const char *k = p->key;

	if (strcmp(k, "name") == 0)
		*rc = set_string(&m->name, p->value, err);
	else if (strcmp(k, "level") == 0)
		*rc = set_level(m, e, p, err);
	else if (strcmp(k, "technique") == 0)
		*rc = add_techniques(r, m, e, p, err);
	else if (strcmp(k, "tags") == 0)
		*rc = add_list(&m->tags, e, p, err);
	else if (strcmp(k, "category") == 0)
		*rc = add_list(&m->category, e, p, err);
	else if (strcmp(k, "type") == 0)
		*rc = add_list(&m->type, e, p, err);
	else if (strcmp(k, "description") == 0 || strcmp(k, "example") == 0 ||
		 strcmp(k, "expect") == 0 || strcmp(k, "counterexample") == 0)
		*rc = 0;
	else
		return 0;
	return 1;
}

/* Common checks and the joined lists once every property is read. */
static int meta_finish(struct meta *m, const struct ls_pentry *e,
		       struct ls_error *err)
{
	if (m->level == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "missing 'level:' "
				   "(informational, low, medium, high, critical)");
	if (!m->name && set_string(&m->name, e->name, err) < 0)
		return LS_ENOMEM;
	if (strlist_join(&m->category) < 0 || strlist_join(&m->type) < 0 ||
	    strlist_join(&m->technique) < 0 || strlist_join(&m->tags) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	return 0;
}

/* Expands grok macros in pattern and compiles it. */
static int compile_match(const struct ls_rules *r, struct rule *ru,
			 const struct ls_pentry *e, const struct ls_pprop *p,
			 struct ls_error *err)
{
	struct ls_grok_fields fields = { 0, NULL };
	struct ls_error e2 = { 0, "" };
	char *regex;
	int rc;

	if (ru->nmatch == RULE_MAX_MATCH)
		return entry_error(err, LS_EINVAL, e, p->line, "more than %d 'match:' "
				   "lines", RULE_MAX_MATCH);
	regex = ls_grok_expand(r->grok, p->value, &fields, &e2);
	if (!regex)
		return entry_error(err, e2.code ? e2.code : LS_EINVAL, e, p->line,
				   "%s", e2.msg);
	rc = ls_matcher_compile_fields(&ru->match[ru->nmatch], regex, 0,
				       fields.fields, fields.n, NULL, &e2);
	if (rc < 0)
		entry_error(err, rc, e, p->line, "%s", e2.msg);
	else
		ru->nmatch++;
	if (strncmp(p->value, "(?i)", 4) == 0)
		ru->caseless = 1;
	free(regex);
	ls_grok_fields_release(&fields);
	return rc;
}

static int rule_prop(const struct ls_rules *r, struct rule *ru,
		     const struct ls_pentry *e, const struct ls_pprop *p,
		     struct ls_error *err)
{
	const char *k = p->key;
	int rc = 0;

	if (meta_prop(r, &ru->m, e, p, err, &rc))
		return rc;
	if (strcmp(k, "match") == 0)
		return compile_match(r, ru, e, p, err);
	if (strcmp(k, "literal") == 0) {
		if (ru->nlit == RULE_MAX_ITEMS)
			return entry_error(err, LS_EINVAL, e, p->line, "more than %d "
					   "'literal:' lines", RULE_MAX_ITEMS);
		if (!p->value[0])
			return entry_error(err, LS_EINVAL, e, p->line, "empty literal");
		ru->lit[ru->nlit].text = strdup(p->value);
		if (!ru->lit[ru->nlit].text)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		ru->lit[ru->nlit++].len = (uint32_t)strlen(p->value);
		return 0;
	}
	if (strcmp(k, "program") == 0)
		return add_list(&ru->programs, e, p, err);
	if (strcmp(k, "dataset") == 0)
		return add_list(&ru->datasets, e, p, err);
	if (strcmp(k, "field") == 0)
		return set_string(&ru->field, p->value, err);
	if (strcmp(k, "outcome") == 0)
		return set_string(&ru->outcome, p->value, err);
	return entry_error(err, LS_EINVAL, e, p->line, "unknown property '%s'", k);
}

static int rule_finish(struct rule *ru, const struct ls_pentry *e,
		       struct ls_error *err)
{
	int rc = meta_finish(&ru->m, e, err);

	if (rc < 0)
		return rc;
	if (ru->nmatch == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "has no 'match:'");
	ru->route = ru->programs.n ? ROUTE_PROGRAM :
		    ru->datasets.n ? ROUTE_DATASET : ROUTE_GLOBAL;
	ru->check_dataset = ru->route == ROUTE_PROGRAM && ru->datasets.n;
	if (ru->route == ROUTE_GLOBAL && ru->nlit == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "a rule with neither "
				   "'program:' nor 'dataset:' runs on every event and "
				   "needs a 'literal:'");
	if (ru->field && strcmp(ru->field, "message") == 0) {
		free(ru->field);
		ru->field = NULL;
	}
	ru->decode = ru->field && strncmp(ru->field, "url.", 4) == 0;
	for (int i = 0; i < ru->nlit; i++) {
		for (char *c = ru->lit[i].text; ru->caseless && *c; c++)
			*c = (char)ascii_lower((unsigned char)*c);
		literal_prepare(&ru->lit[i], ru->caseless);
	}
	return 0;
}

static int threshold_number(struct threshold *t, const struct ls_pentry *e,
			    const struct ls_pprop *p, struct ls_error *err)
{
	long v;

	if (strcmp(p->key, "count") == 0) {
		if (parse_bounded(p->value, 1, THR_COUNT_MAX, &v) < 0)
			goto bad;
		t->count = (int)v;
	} else if (strcmp(p->key, "window") == 0) {
		if (parse_bounded(p->value, 1, THR_WINDOW_MAX, &v) < 0)
			goto bad;
		t->window_s = (int)v;
	} else {
		if (parse_bounded(p->value, 1, THR_CAPACITY_MAX, &v) < 0)
			goto bad;
		t->capacity = (uint32_t)v;
	}
	return 0;
bad:
	return entry_error(err, LS_EINVAL, e, p->line, "bad %s '%s' (a whole number "
			   "from 1 to %ld)", p->key, p->value,
			   strcmp(p->key, "count") == 0 ? (long)THR_COUNT_MAX :
			   strcmp(p->key, "window") == 0 ? (long)THR_WINDOW_MAX :
			   (long)THR_CAPACITY_MAX);
}

static int threshold_on(struct threshold *t, const struct ls_pentry *e,
			const struct ls_pprop *p, struct ls_error *err)
{
	struct ls_error e2 = { 0, "" };
	int rc;

	if (!t->on && ls_where_new(&t->on) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	rc = ls_where_add(t->on, p->value, &e2);
	if (rc < 0)
		return entry_error(err, rc, e, p->line, "%s", e2.msg);
	return 0;
}

static int threshold_prop(const struct ls_rules *r, struct threshold *t,
			  const struct ls_pentry *e, const struct ls_pprop *p,
			  struct ls_error *err)
{
	const char *k = p->key;
	int rc = 0;

	if (meta_prop(r, &t->m, e, p, err, &rc))
		return rc;
	if (strcmp(k, "on") == 0)
		return threshold_on(t, e, p, err);
	if (strcmp(k, "key") == 0)
		return set_string(&t->key, p->value, err);
	if (strcmp(k, "distinct") == 0)
		return set_string(&t->distinct, p->value, err);
	if (strcmp(k, "count") == 0 || strcmp(k, "window") == 0 ||
	    strcmp(k, "capacity") == 0)
		return threshold_number(t, e, p, err);
	return entry_error(err, LS_EINVAL, e, p->line, "unknown property '%s'", k);
}

static size_t threshold_table_bytes(const struct threshold *t)
{
	size_t nslots = (size_t)t->nbuckets * THR_WAYS;
	size_t per = t->distinct ? sizeof(struct thr_value) : sizeof(int64_t);

	return nslots * (sizeof(struct thr_slot) + per * (size_t)t->count);
}

/* Checks the required properties and allocates the fixed table. */
static int threshold_finish(struct threshold *t, const struct ls_pentry *e,
			    struct ls_error *err)
{
	size_t nslots;
	int rc = meta_finish(&t->m, e, err);

	if (rc < 0)
		return rc;
	if (!t->key || !t->key[0])
		return entry_error(err, LS_EINVAL, e, e->line, "missing 'key:'");
	if (t->count == 0 || t->window_s == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "missing '%s:'",
				   t->count ? "window" : "count");
	if (!t->capacity)
		t->capacity = THR_CAPACITY_DEFAULT;
	t->nbuckets = (t->capacity + THR_WAYS - 1) / THR_WAYS;
	if (threshold_table_bytes(t) > THR_TABLE_MAX)
		return entry_error(err, LS_EINVAL, e, e->line, "capacity %u with count "
				   "%d needs more than %zu MiB", t->capacity, t->count,
				   THR_TABLE_MAX >> 20);
	nslots = (size_t)t->nbuckets * THR_WAYS;
	t->slots = calloc(nslots, sizeof(*t->slots));
	if (t->distinct)
		t->values = calloc(nslots * (size_t)t->count, sizeof(*t->values));
	else
		t->times = calloc(nslots * (size_t)t->count, sizeof(*t->times));
	if (!t->slots || (!t->values && !t->times))
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	return 0;
}

static int build_rule(const struct ls_rules *r, const struct ls_pentry *e,
		      struct rule **out, struct ls_error *err)
{
	struct rule *ru = calloc(1, sizeof(*ru));
	int rc = 0;

	*out = NULL;
	if (!ru || !(ru->m.id = strdup(e->name))) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto fail;
	}
	ru->m.entry = e;
	for (int i = 0; i < e->nprops && rc == 0; i++)
		rc = rule_prop(r, ru, e, &e->props[i], err);
	if (rc == 0)
		rc = rule_finish(ru, e, err);
	if (rc < 0)
		goto fail;
	*out = ru;
	return 0;
fail:
	rule_free(ru);
	return rc;
}

static int build_threshold(const struct ls_rules *r, const struct ls_pentry *e,
			   struct threshold **out, struct ls_error *err)
{
	struct threshold *t = calloc(1, sizeof(*t));
	int rc = 0;

	*out = NULL;
	if (!t || !(t->m.id = strdup(e->name))) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto fail;
	}
	t->m.entry = e;
	for (int i = 0; i < e->nprops && rc == 0; i++)
		rc = threshold_prop(r, t, e, &e->props[i], err);
	if (rc == 0)
		rc = threshold_finish(t, e, err);
	if (rc < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	threshold_free(t);
	return rc;
}

/* Adds the rule, or puts it in place of the one with the same name (which
 * keeps its position, so overriding a rule keeps the order of the set). */
static int add_rule(struct ls_rules *r, const struct ls_pentry *e,
		    struct ls_error *err)
{
	struct rule *ru;
	int rc = build_rule(r, e, &ru, err);

	if (rc < 0)
		return rc;
	for (int i = 0; i < r->nrules; i++) {
		if (strcmp(r->rules[i]->m.id, ru->m.id) == 0) {
			rule_free(r->rules[i]);
			r->rules[i] = ru;
			return 0;
		}
	}
	if (r->nrules == r->rules_cap) {
		int cap = r->rules_cap ? r->rules_cap * 2 : 32;
		struct rule **p = realloc(r->rules, (size_t)cap * sizeof(*p));
		if (!p) {
			rule_free(ru);
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		}
		r->rules = p;
		r->rules_cap = cap;
	}
	r->rules[r->nrules++] = ru;
	return 0;
}

/* Like add_rule() for a threshold entry. */
static int add_threshold(struct ls_rules *r, const struct ls_pentry *e,
			 struct ls_error *err)
{
	struct threshold *t;
	int rc = build_threshold(r, e, &t, err);

	if (rc < 0)
		return rc;
	for (int i = 0; i < r->nthr; i++) {
		if (strcmp(r->thr[i]->m.id, t->m.id) == 0) {
			threshold_free(r->thr[i]);
			r->thr[i] = t;
			return 0;
		}
	}
	if (r->nthr == r->thr_cap) {
		int cap = r->thr_cap ? r->thr_cap * 2 : 8;
		struct threshold **p = realloc(r->thr, (size_t)cap * sizeof(*p));
		if (!p) {
			threshold_free(t);
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		}
		r->thr = p;
		r->thr_cap = cap;
	}
	r->thr[r->nthr++] = t;
	return 0;
}

int ls_rules_add(struct ls_rules *r, const struct ls_pentry *e,
		 struct ls_error *err)
{
	int rc;

	if (strcmp(e->kind, "rule") == 0)
		rc = add_rule(r, e, err);
	else if (strcmp(e->kind, "threshold") == 0)
		rc = add_threshold(r, e, err);
	else
		rc = ls_error_set(err, LS_EINVAL, "%s:%d: %s %s: not a rule or "
				  "threshold", e->origin, e->line, e->kind, e->name);
	if (rc == 0)
		r->dirty = 1;
	return rc;
}

int ls_rules_count(const struct ls_rules *r)
{
	return r->nrules + r->nthr;
}

const struct ls_pentry *ls_rules_entry(const struct ls_rules *r, const char *name)
{
	for (int i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i]->m.id, name) == 0)
			return r->rules[i]->m.entry;
	for (int i = 0; i < r->nthr; i++)
		if (strcmp(r->thr[i]->m.id, name) == 0)
			return r->thr[i]->m.entry;
	return NULL;
}

const struct ls_pentry *ls_rules_entry_at(const struct ls_rules *r, int i)
{
	if (i >= 0 && i < r->nrules)
		return r->rules[i]->m.entry;
	if (i >= r->nrules && i < r->nrules + r->nthr)
		return r->thr[i - r->nrules]->m.entry;
	return NULL;
}

/* ---- routing index ------------------------------------------------------ */

static const struct strlist *route_names(const struct rule *ru, enum route which)
{
	return which == ROUTE_PROGRAM ? &ru->programs : &ru->datasets;
}

static struct name_slot *index_slot(struct name_index *x, const char *name,
				    size_t len, uint64_t hash)
{
	for (uint32_t i = (uint32_t)hash & x->mask;; i = (i + 1) & x->mask) {
		struct name_slot *s = &x->slots[i];
		if (!s->name || (s->hash == hash && s->len == len &&
				 memcmp(s->name, name, len) == 0))
			return s;
	}
}

/* Enters the names of the rules routed by which into x, counting each
 * name's own rules in its list. */
static int index_names(struct ls_rules *r, struct name_index *x, enum route which)
{
	uint32_t names = 0, size = 16;

	for (int i = 0; i < r->nrules; i++)
		if (r->rules[i]->route == which)
			names += (uint32_t)route_names(r->rules[i], which)->n;
	while (size < names * 2)
		size *= 2;
	x->mask = size - 1;
	x->slots = calloc(size, sizeof(*x->slots));
	if (!x->slots)
		return LS_ENOMEM;
	for (int i = 0; i < r->nrules; i++) {
		const struct strlist *l = route_names(r->rules[i], which);
		if (r->rules[i]->route != which)
			continue;
		for (int k = 0; k < l->n; k++) {
			uint64_t h = hash_bytes(l->v[k], l->len[k]);
			struct name_slot *s = index_slot(x, l->v[k], l->len[k], h);
			if (!s->name) {
				s->name = l->v[k];
				s->len = l->len[k];
				s->hash = h;
				x->nnames++;
			}
			s->list.n++;
		}
	}
	return 0;
}

/* Gives list l room for its own rules plus the global ones. */
static void cand_place(struct ls_rules *r, struct cand_list *l, uint32_t nglobal)
{
	l->first = r->ncand_ids;
	r->ncand_ids += l->n + nglobal;
	l->n = 0;
	l->units_at = r->ncand_units;
	r->ncand_units += (uint32_t)r->nsubjects;
}

/* Appends rule id to list l. */
static void cand_append(struct ls_rules *r, struct cand_list *l, uint32_t id)
{
	const struct rule *ru = r->rules[id];
	uint32_t *units = r->cand_units + l->units_at + ru->subject;

	r->cand_ids[l->first + l->n++] = id;
	for (int k = 0; k < ru->nlit; k++)
		*units += ru->lit[k].rare[0] == ru->lit[k].rare[1] ? 1 : 2;
}

static void index_append_all(struct ls_rules *r, struct name_index *x, uint32_t id)
{
	for (uint32_t k = 0; k <= x->mask; k++)
		if (x->slots[k].name)
			cand_append(r, &x->slots[k].list, id);
}

/* Adds rule id to the lists of the names it is routed by. */
static void index_append(struct ls_rules *r, struct name_index *x, uint32_t id,
			 enum route which)
{
	const struct strlist *l = route_names(r->rules[id], which);

	for (int k = 0; k < l->n; k++) {
		struct name_slot *s = index_slot(x, l->v[k], l->len[k],
						 hash_bytes(l->v[k], l->len[k]));
		cand_append(r, &s->list, id);
	}
}

/* Builds the candidate lists: the global one and one per program and per
 * dataset name, each holding the global rules too, all in rule order. */
static int lists_build(struct ls_rules *r)
{
	uint32_t nglobal = 0;

	if (index_names(r, &r->programs, ROUTE_PROGRAM) < 0 ||
	    index_names(r, &r->datasets, ROUTE_DATASET) < 0)
		return LS_ENOMEM;
	for (int i = 0; i < r->nrules; i++)
		nglobal += r->rules[i]->route == ROUTE_GLOBAL;
	r->global.n = nglobal;
	cand_place(r, &r->global, 0);
	for (uint32_t k = 0; k <= r->programs.mask; k++)
		if (r->programs.slots[k].name)
			cand_place(r, &r->programs.slots[k].list, nglobal);
	for (uint32_t k = 0; k <= r->datasets.mask; k++)
		if (r->datasets.slots[k].name)
			cand_place(r, &r->datasets.slots[k].list, nglobal);
	r->cand_ids = malloc((r->ncand_ids + 1) * sizeof(*r->cand_ids));
	r->cand_units = calloc(r->ncand_units + 1, sizeof(*r->cand_units));
	if (!r->cand_ids || !r->cand_units)
		return LS_ENOMEM;
	for (uint32_t i = 0; i < (uint32_t)r->nrules; i++) {
		enum route route = r->rules[i]->route;
		if (route == ROUTE_GLOBAL) {
			cand_append(r, &r->global, i);
			index_append_all(r, &r->programs, i);
			index_append_all(r, &r->datasets, i);
		} else {
			index_append(r, route == ROUTE_PROGRAM ? &r->programs :
				     &r->datasets, i, route);
		}
	}
	return 0;
}

/* Index of field among the subjects, adding it when new. */
static int subject_index(struct ls_rules *r, const char *field)
{
	const char **subjects = r->wanted + WANT_SUBJECTS;
	int k;

	for (k = 0; k < r->nsubjects; k++)
		if (strcmp(subjects[k], field) == 0)
			return k;
	subjects[r->nsubjects] = field;
	return r->nsubjects++;
}

/* Gives every rule the index of its subject field among the distinct ones,
 * counts the literal searches each subject may see, and indexes the wanted
 * field names by their first byte. */
static int subjects_build(struct ls_rules *r)
{
	size_t n = (size_t)r->nrules + WANT_SUBJECTS + 1;

	r->wanted = malloc(n * sizeof(*r->wanted));
	r->found = malloc(n * sizeof(*r->found));
	if (!r->wanted || !r->found)
		return LS_ENOMEM;
	r->wanted[WANT_PROGRAM] = "process.name";
	r->wanted[WANT_DATASET] = "event.dataset";
	subject_index(r, "message");
	for (int i = 0; i < r->nrules; i++)
		r->rules[i]->subject = r->rules[i]->field ?
				       subject_index(r, r->rules[i]->field) : 0;
	r->nwanted = WANT_SUBJECTS + r->nsubjects;
	for (int k = 0; k < r->nwanted && k < WANT_MASKED; k++)
		r->first_mask[(unsigned char)r->wanted[k][0]] |= (uint64_t)1 << k;
	r->cache = calloc((size_t)r->nsubjects, sizeof(*r->cache));
	return r->cache ? 0 : LS_ENOMEM;
}

static int build_index(struct ls_rules *r)
{
	routing_release(r);
	r->gen = 0;
	if (subjects_build(r) < 0 || lists_build(r) < 0) {
		routing_release(r);
		return LS_ENOMEM;
	}
	r->dirty = 0;
	return 0;
}

/* The candidate list for value f (NULL when f is NULL or has no rules). */
static const struct cand_list *index_find(struct name_index *x,
					  const struct ls_field *f)
{
	const struct name_slot *s;

	if (x->nnames == 0 || !f)
		return NULL;
	s = index_slot(x, f->val, f->len, hash_bytes(f->val, f->len));
	return s->name ? &s->list : NULL;
}

/* ---- applying rules ----------------------------------------------------- */

/* Finds the wanted fields of ev in one pass over its fields, rather than
 * one ls_event_get() scan (with its strcmp calls) per name. */
static void find_wanted(struct ls_rules *r, const struct ls_event *ev)
{
	memset(r->found, 0, (size_t)r->nwanted * sizeof(*r->found));
	for (int i = 0; i < ev->nfields; i++) {
		const char *name = ev->fields[i].name;
		uint64_t mask = r->first_mask[(unsigned char)name[0]];
		while (mask) {
			int k = __builtin_ctzll(mask);
			mask &= mask - 1;
			if (!r->found[k] && name[1] == r->wanted[k][1] &&
			    strcmp(name, r->wanted[k]) == 0)
				r->found[k] = &ev->fields[i];
		}
	}
	for (int k = WANT_MASKED; k < r->nwanted; k++)
		r->found[k] = ls_event_get(ev, r->wanted[k]);
}

/* The subject of rule ru for ev, found (and decoded) once per apply; NULL
 * when ev lacks it. */
static struct subject_cache *get_subject(struct ls_rules *r, const struct rule *ru,
					 struct ls_event *ev)
{
	struct subject_cache *c = &r->cache[ru->subject];
	const struct ls_field *f;

	if (c->gen != r->gen) {
		c->gen = r->gen;
		c->map = MAP_UNDECIDED;
		f = r->found[WANT_SUBJECTS + ru->subject];
		c->s = f ? f->val : ru->subject == 0 ? ev->line : NULL;
		c->len = f ? f->len : ru->subject == 0 ? ev->line_len : 0;
		if (c->s && ru->decode && (memchr(c->s, '%', c->len) ||
					   memchr(c->s, '+', c->len))) {
			char *out = ls_event_alloc(ev, c->len + 1);
			if (out) {
				c->len = url_decode(out, c->s, c->len);
				out[c->len] = '\0';
				c->s = out;
			}
		}
	}
	return c->s ? c : NULL;
}

/* Marks the bytes of the subject in its map. */
static void map_bytes(struct subject_cache *c, uint8_t stamp)
{
	const unsigned char *p = (const unsigned char *)c->s;
	size_t i = 0;

	for (; i + 4 <= c->len; i += 4) {
		c->seen[p[i]] = stamp;
		c->seen[p[i + 1]] = stamp;
		c->seen[p[i + 2]] = stamp;
		c->seen[p[i + 3]] = stamp;
	}
	for (; i < c->len; i++)
		c->seen[p[i]] = stamp;
	c->stamp = stamp;
	c->map = MAP_BUILT;
}

/* Whether to look literals up in a map of the subject's bytes: mapping
 * costs about a cycle or two per byte, a memchr call some 12 cycles plus
 * len/32, and the candidate rules of this event may make units calls. */
static int use_map(struct subject_cache *c, uint64_t gen)
{
	if (c->map == MAP_UNDECIDED) {
		c->map = MAP_NONE;
		if (c->len <= MAP_MAX_LEN &&
		    (size_t)c->units * (12 + c->len / 32) > 2 * c->len + 16) {
			/* a stale stamp can only make a literal look possible,
			 * never hide one, so the map is never cleared */
			map_bytes(c, (uint8_t)(gen % 255 + 1));
		}
	}
	return c->map == MAP_BUILT;
}

/* 0 when the map shows a byte l needs is missing from the subject. */
static int literal_may_occur(const struct subject_cache *c, const struct literal *l)
{
	for (int k = 0; k < l->nneed; k++)
		if (c->seen[l->need[k][0]] != c->stamp && c->seen[l->need[k][1]] != c->stamp)
			return 0;
	return 1;
}

/* 1 when one of the rule's literals occurs in subject c (or it has none). */
static int literals_found(struct subject_cache *c, const struct rule *ru,
			  uint64_t gen)
{
	int mapped = ru->nlit && use_map(c, gen);

	for (int i = 0; i < ru->nlit; i++) {
		const struct literal *l = &ru->lit[i];
		if (mapped && !literal_may_occur(c, l))
			continue;
		if (find_literal(l, ru->caseless, c->s, c->len))
			return 1;
	}
	return ru->nlit == 0;
}

static int field_in(const struct ls_field *f, const struct strlist *l)
{
	for (int i = 0; f && i < l->n; i++)
		if (l->len[i] == f->len && memcmp(l->v[i], f->val, f->len) == 0)
			return 1;
	return 0;
}

/* Sets list field name to the items of l: borrowed whole when the event has
 * no such list yet, else merged item by item. */
static int set_list(struct ls_event *ev, const char *name, const struct strlist *l)
{
	const struct ls_field *f;

	if (l->n == 0)
		return 0;
	f = ls_event_get(ev, name);
	if (!f || f->type != LS_F_LIST || f->len == 0)
		return ls_event_set(ev, name, l->joined, l->joined_len, LS_F_LIST);
	for (int i = 0; i < l->n; i++)
		if (ls_event_list_add(ev, name, l->v[i]) < 0)
			return LS_ENOMEM;
	return 0;
}

/* What a rule hit and a threshold alert both set. */
static int set_meta(struct ls_event *ev, const struct meta *m)
{
	int rc = 0;

	rc |= ls_event_set_str(ev, "rule.id", m->id);
	rc |= ls_event_set_str(ev, "rule.name", m->name);
	if (m->category.n)
		rc |= ls_event_set(ev, "rule.category", m->category.v[0],
				   m->category.len[0], LS_F_STR);
	rc |= set_list(ev, "event.category", &m->category);
	rc |= set_list(ev, "event.type", &m->type);
	rc |= set_list(ev, "threat.technique.id", &m->technique);
	ev->severity = m->level;
	rc |= ls_event_set(ev, "event.severity", level_digits[m->level], 1, LS_F_INT);
	for (int i = 0; i < m->tags.n; i++)
		rc |= ls_event_add_tag(ev, m->tags.v[i]);
	if (m->level >= 2)
		rc |= ls_event_add_tag(ev, "security");
	return rc ? LS_ENOMEM : 0;
}

static int apply_hit(const struct rule *ru, struct ls_matcher *m,
		     struct ls_event *ev)
{
	for (int i = 0; i < ls_matcher_ngroups(m); i++) {
		const char *s;
		size_t n;
		int type;
		const char *name = ls_matcher_group_field(m, i, &type);
		if (ls_matcher_group(m, i, &s, &n) == 0 &&
		    ls_event_set(ev, name, s, n, type) < 0)
			return LS_ENOMEM;
	}
	if (ru->outcome && ls_event_set_str(ev, "event.outcome", ru->outcome) < 0)
		return LS_ENOMEM;
	return set_meta(ev, &ru->m);
}

/* 1 when rule ru hit ev (and tagged it), 0 when not, LS_ENOMEM. */
static int try_rule(struct ls_rules *r, const struct rule *ru, struct ls_event *ev)
{
	struct subject_cache *c;

	if (ru->check_dataset && !field_in(r->found[WANT_DATASET], &ru->datasets))
		return 0;
	c = get_subject(r, ru, ev);
	if (!c || !literals_found(c, ru, r->gen))
		return 0;
	for (int i = 0; i < ru->nmatch; i++) {
		if (ls_matcher_exec(ru->match[i], c->s, c->len) <= 0)
			continue;
		if (apply_hit(ru, ru->match[i], ev) < 0)
			return LS_ENOMEM;
		return 1;
	}
	return 0;
}

/* Sets each subject's units for this event: a and b's, less the global
 * rules' that both hold. */
static void set_units(struct ls_rules *r, const struct cand_list *a,
		      const struct cand_list *b)
{
	const uint32_t *ua = r->cand_units + a->units_at;
	const uint32_t *ub = b ? r->cand_units + b->units_at : NULL;
	const uint32_t *ug = r->cand_units + r->global.units_at;

	for (int k = 0; k < r->nsubjects; k++)
		r->cache[k].units = ua[k] + (ub ? ub[k] - ug[k] : 0);
}

/* Tries the rules of a (merged with b's, when b is not NULL; the global
 * rules both hold are tried once) in the order they were added. */
static int try_lists(struct ls_rules *r, const struct cand_list *a,
		     const struct cand_list *b, struct ls_event *ev)
{
	const uint32_t *x = r->cand_ids + a->first;
	const uint32_t *y = b ? r->cand_ids + b->first : NULL;
	uint32_t i = 0, j = 0, nb = b ? b->n : 0;

	set_units(r, a, b);
	while (i < a->n || j < nb) {
		uint32_t id;
		int rc;
		if (j >= nb || (i < a->n && x[i] <= y[j])) {
			id = x[i++];
			if (j < nb && y[j] == id)
				j++;
		} else {
			id = y[j++];
		}
		rc = try_rule(r, r->rules[id], ev);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Tries the candidate rules of ev in the order they were added. */
static int tag_event(struct ls_rules *r, struct ls_event *ev)
{
	const struct cand_list *p, *d;

	find_wanted(r, ev);
	p = index_find(&r->programs, r->found[WANT_PROGRAM]);
	d = index_find(&r->datasets, r->found[WANT_DATASET]);
	if (p)
		return try_lists(r, p, d, ev);
	return try_lists(r, d ? d : &r->global, NULL, ev);
}

/* ---- thresholds --------------------------------------------------------- */

static uint32_t slot_bucket(const struct threshold *t, uint64_t hash)
{
	return (uint32_t)(((hash >> 32) * (uint64_t)t->nbuckets) >> 32);
}

static int slot_is(const struct thr_slot *s, uint64_t hash, const char *key,
		   size_t len)
{
	size_t kept = len < THR_KEY_MAX ? len : THR_KEY_MAX;

	return s->hash == hash && s->key_len == kept && memcmp(s->key, key, kept) == 0;
}

/* The slot of key, taking an empty or the stalest slot of its bucket when
 * the key is new. Its index is in *idx. */
static struct thr_slot *slot_get(struct threshold *t, const char *key, size_t len,
				 int64_t now_ms, size_t *idx)
{
	uint64_t h = hash_bytes(key, len);
	size_t base = (size_t)slot_bucket(t, h) * THR_WAYS, pick = base;
	struct thr_slot *s;

	for (size_t i = base; i < base + THR_WAYS; i++) {
		s = &t->slots[i];
		if (s->hash && slot_is(s, h, key, len)) {
			*idx = i;
			return s;
		}
		if (!t->slots[pick].hash)
			continue;
		if (!s->hash || s->last_ms < t->slots[pick].last_ms)
			pick = i;
	}
	s = &t->slots[pick];
	s->hash = h;
	s->last_ms = now_ms;
	s->head = 0;
	s->n = 0;
	s->key_len = (uint8_t)(len < THR_KEY_MAX ? len : THR_KEY_MAX);
	memcpy(s->key, key, s->key_len);
	*idx = pick;
	return s;
}

/* Plain counting: 1 when the last `count` hits lie within the window. */
static int count_hit(struct threshold *t, struct thr_slot *s, size_t idx,
		     int64_t now_ms)
{
	int64_t *ring = t->times + idx * (size_t)t->count;
	int64_t lo, hi;

	ring[s->head] = now_ms;
	s->head = (uint16_t)((s->head + 1) % t->count);
	if (s->n < t->count)
		s->n++;
	if (s->n < t->count)
		return 0;
	lo = hi = ring[0];
	for (int i = 1; i < t->count; i++) {
		lo = ring[i] < lo ? ring[i] : lo;
		hi = ring[i] > hi ? ring[i] : hi;
	}
	return hi - lo <= (int64_t)t->window_s * 1000;
}

/* Distinct counting: 1 when `count` distinct values were seen within the
 * window (values further than the window from now are dropped first). */
static int distinct_hit(struct threshold *t, struct thr_slot *s, size_t idx,
			int64_t now_ms, const struct ls_field *value)
{
	struct thr_value *v = t->values + idx * (size_t)t->count;
	uint64_t h = hash_bytes(value->val, value->len);
	int64_t window_ms = (int64_t)t->window_s * 1000;
	int kept = 0, found = 0, stalest = 0;

	for (int i = 0; i < s->n; i++) {
		int64_t age = now_ms - v[i].seen_ms;
		if (age > window_ms || -age > window_ms)
			continue;
		v[kept] = v[i];
		if (v[kept].hash == h) {
			found = 1;
			v[kept].seen_ms = now_ms > v[kept].seen_ms ? now_ms : v[kept].seen_ms;
		}
		if (v[kept].seen_ms < v[stalest].seen_ms)
			stalest = kept;
		kept++;
	}
	if (!found) {
		/* full only when an earlier alert of this event left it unreset */
		int at = kept < t->count ? kept++ : stalest;
		v[at].hash = h;
		v[at].seen_ms = now_ms;
	}
	s->n = (uint16_t)kept;
	return kept >= t->count;
}

/* Fills alert for threshold t fired by ev with key. */
static int fill_alert(const struct threshold *t, const struct ls_event *ev,
		      const struct ls_field *key, struct ls_event *alert)
{
	const struct ls_field *ds = ls_event_get(ev, "event.dataset");
	char msg[512];
	int n, rc;

	alert->ts_ms = ev->ts_ms;
	alert->flags |= LS_EV_ALERT;
	n = snprintf(msg, sizeof(msg), "%s: %d events from %.*s within %d s",
		     t->m.name, t->count,
		     (int)(key->len < ALERT_KEY_SHOWN ? key->len : ALERT_KEY_SHOWN),
		     key->val, t->window_s);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)strlen(msg);
	rc = set_meta(alert, &t->m);
	rc |= ls_event_set_str(alert, "event.kind", "alert");
	rc |= ls_event_set_copy(alert, t->key, key->val, key->len, key->type);
	rc |= ls_event_set_int(alert, "threshold.count", t->count);
	rc |= ls_event_set_int(alert, "threshold.window", t->window_s);
	rc |= ls_event_set_copy(alert, "message", msg, (size_t)n, LS_F_STR);
	if (ds)
		rc |= ls_event_set_copy(alert, "event.dataset", ds->val, ds->len, LS_F_STR);
	rc |= ls_event_add_tag(alert, "security");
	rc |= ls_event_add_tag(alert, "alert");
	return rc ? LS_ENOMEM : 0;
}

/* Counts ev in t; fills alert when it fires (unless an alert is pending). */
static int feed_threshold(struct threshold *t, struct ls_event *ev,
			  struct ls_event *alert, int *alerted)
{
	const struct ls_field *key, *value = NULL;
	struct thr_slot *s;
	size_t idx;
	int fired;

	/* on: first: it usually is a cheap tag test that most events fail */
	if (t->on && !ls_where_match(t->on, ev))
		return 0;
	key = ls_event_get(ev, t->key);
	if (!key || key->len == 0)
		return 0;
	if (t->distinct && !(value = ls_event_get(ev, t->distinct)))
		return 0;
	s = slot_get(t, key->val, key->len, ev->ts_ms, &idx);
	if (ev->ts_ms > s->last_ms)
		s->last_ms = ev->ts_ms;
	fired = value ? distinct_hit(t, s, idx, ev->ts_ms, value) :
			count_hit(t, s, idx, ev->ts_ms);
	if (!fired || *alerted)
		return 0;
	s->n = 0;
	s->head = 0;
	*alerted = 1;
	return fill_alert(t, ev, key, alert);
}

/* ---- the per-event entry point ------------------------------------------ */

int ls_rules_apply(struct ls_rules *r, struct ls_event *ev,
		   struct ls_event *alert, int *alerted)
{
	int hit;

	if (alerted)
		*alerted = 0;
	if (r->dirty && build_index(r) < 0)
		return LS_ENOMEM;
	r->gen++;
	hit = tag_event(r, ev);
	if (hit < 0)
		return hit;
	if (!alert || !alerted)
		return hit;
	for (int i = 0; i < r->nthr; i++)
		if (feed_threshold(r->thr[i], ev, alert, alerted) < 0)
			return LS_ENOMEM;
	return hit;
}

/* ---- memory accounting -------------------------------------------------- */

static size_t meta_memory(const struct meta *m)
{
	return strlen(m->id) + 1 + strlen(m->name) + 1 + strlist_memory(&m->category) +
	       strlist_memory(&m->type) + strlist_memory(&m->technique) +
	       strlist_memory(&m->tags);
}

static size_t literals_memory(const struct rule *ru)
{
	size_t n = 0;

	for (int i = 0; i < ru->nlit; i++)
		n += ru->lit[i].len + 1;
	return n;
}

static size_t rule_memory(const struct rule *ru)
{
	return sizeof(*ru) + meta_memory(&ru->m) +
	       (ru->outcome ? strlen(ru->outcome) + 1 : 0) +
	       (ru->field ? strlen(ru->field) + 1 : 0) +
	       strlist_memory(&ru->programs) + strlist_memory(&ru->datasets) +
	       literals_memory(ru);
}

static size_t index_memory(const struct name_index *x)
{
	return x->slots ? (size_t)(x->mask + 1) * sizeof(*x->slots) : 0;
}

size_t ls_rules_memory(const struct ls_rules *r)
{
	size_t n = sizeof(*r) + (size_t)r->rules_cap * sizeof(*r->rules) +
		   (size_t)r->thr_cap * sizeof(*r->thr);

	for (int i = 0; i < r->nrules; i++)
		n += rule_memory(r->rules[i]);
	for (int i = 0; i < r->nthr; i++) {
		const struct threshold *t = r->thr[i];
		n += sizeof(*t) + meta_memory(&t->m) + strlen(t->key) + 1 +
		     (t->distinct ? strlen(t->distinct) + 1 : 0) +
		     threshold_table_bytes(t);
	}
	for (int i = 0; i < r->ntech; i++)
		n += sizeof(r->tech[i]) + strlen(r->tech[i].id) + strlen(r->tech[i].name) + 2;
	n += index_memory(&r->programs) + index_memory(&r->datasets);
	if (r->cand_ids)
		n += (r->ncand_ids + 1) * sizeof(*r->cand_ids) +
		     (r->ncand_units + 1) * sizeof(*r->cand_units) +
		     ((size_t)r->nrules + WANT_SUBJECTS + 1) *
		     (sizeof(*r->wanted) + sizeof(*r->found)) +
		     (size_t)r->nsubjects * sizeof(*r->cache);
	return n;
}

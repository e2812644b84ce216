/* rules.c - the security rule engine.
 *
 * Rules are routed by program (process.name) and dataset (event.dataset)
 * through two small open-addressing tables built lazily on the first apply
 * after adds; rules with neither are "global" and must carry literals. A
 * program or dataset name has a candidate list: its rules merged with the
 * global ones, in the order they were added (the first hit wins). Before
 * any rule runs, a "gate" pass decides which rules have a literal in their
 * subject. When one list has many literals on a subject, the subject is
 * scanned once: the list keeps them indexed by a hash of their rarest
 * case-folded byte pair, and at each pair of the subject only the literals
 * under its hash (usually none) are compared; the outcome is remembered for
 * the last few distinct values of the subject (user agents and paths
 * repeat), checked byte for byte. Otherwise each literal is
 * searched with memchr on its rarest byte (caseless when the rule's match
 * is (?i)). Only rules with a literal present run their regexes.
 *
 * Thresholds count hits per key in a fixed, set-associative table allocated
 * when the entry is added: 8-way buckets of slots keyed by a 64-bit XXH3
 * hash (plus a short copy of the key), each slot owning a ring of `count`
 * timestamps, or for distinct counting `count` value hashes with their last
 * time. A full bucket evicts its stalest slot, so memory never grows. */
#include "rules.h"
#include "matcher.h"
#include "where.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define RULE_MAX_MATCH 8
#define RULE_MAX_ITEMS 16          /* words in a list property */
#define RULE_MAX_LIT 64            /* literals of a rule, given or derived */
#define XLIT_POOL 4096             /* text of the literals derived from a regex */
#define XLIT_DEPTH 32              /* group nesting the deriving follows */
#define XLIT_RUN 128               /* longest derived literal kept */
#define THR_WAYS 8                 /* slots per bucket */
#define THR_KEY_MAX 63             /* key text kept per slot */
#define THR_COUNT_MAX 1000
#define THR_CAPACITY_DEFAULT 65536
#define THR_CAPACITY_MAX (1u << 24)
#define THR_TABLE_MAX ((size_t)256 << 20)
#define THR_WINDOW_MAX (366 * 86400)
#define ALERT_KEY_SHOWN 200        /* key bytes quoted in an alert message */
#define FIND_MEMCHR_MAX 4096       /* longer subjects are searched by memmem */
#define SCAN_MAX_LEN 65536         /* longer subjects are searched literal by literal */
#define SCAN_MIN_LITS 6            /* literals from which a group is indexed */
#define PAIR_KEYS 4096             /* pair hashes; key PAIR_KEYS: one-byte literals */
#define NO_STARTS UINT32_MAX
#define MEMO_SLOTS 32              /* remembered scans per indexed group */
#define MEMO_TEXT 256              /* longest subject remembered */

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
	uint32_t pair_off;             /* offset of the pair a scan keys on */
	uint16_t pair_key;             /* its hash; PAIR_KEYS for one byte */
};

/* The fields read for every candidate come first. */
struct rule {
	enum route route;
	int check_dataset;             /* routed by program, dataset: too */
	int subject;                   /* index into ls_rules.cache */
	int caseless;                  /* a match uses (?i): literals caseless */
	int decode;                    /* url.*: matched percent-decoded */
	int nlit;
	int nmatch;
	struct literal *lit;
	struct ls_matcher *match[RULE_MAX_MATCH];
	struct strlist datasets;
	struct meta m;
	char *outcome;
	char *field;                   /* subject field; NULL: message */
	struct strlist programs;
	int widened;                   /* literals added to the given ones */
	/* while building: each match: line's regex and derived literals */
	char *regex[RULE_MAX_MATCH];
	struct literal *auto_lit[RULE_MAX_MATCH];
	int nauto[RULE_MAX_MATCH];     /* 0: that line gave none */
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
 * rules in the order they were added, with their gates. */
struct cand_list {
	uint32_t n;
	uint32_t first;                /* into ls_rules.cand_ids */
	uint32_t gate_first;           /* into ls_rules.gates */
	uint32_t gate_n;
	uint32_t group_first;          /* into ls_rules.groups */
	uint32_t group_n;
};

/* The gates of one candidate list on one subject: the first nlit carry a
 * literal and are sorted by its pair key; in a group with SCAN_MIN_LITS or
 * more, starts[k] .. starts[k + 1] are those keyed k. The others pass
 * whenever the subject exists. */
struct gate_group {
	uint32_t subject;
	uint32_t first;                /* into ls_rules.gates */
	uint32_t nlit;
	uint32_t n;
	uint32_t units;                /* memchr calls its literals would make */
	uint32_t starts_at;            /* into ls_rules.gstarts, or NO_STARTS */
};

/* One literal of a rule in a candidate list (a rule without literals has
 * one gate without, which passes when its subject exists). */
struct gate {
	const struct literal *lit;     /* NULL: none */
	uint32_t pos;                  /* the rule's index in the list */
	uint32_t subject;
	uint8_t caseless;
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

/* A remembered scan: the subject's text and the rules it marked. */
struct scan_memo {
	uint64_t hash;
	uint32_t len;                  /* 0: empty */
	char text[MEMO_TEXT];
};

/* One subject field's text for the current event, found (and decoded) once
 * per apply. */
struct subject_cache {
	uint64_t gen;
	const char *s;                 /* NULL: the event lacks the field */
	size_t len;
	int decode;                    /* url.*: matched percent-decoded */
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
	struct gate *gates;
	uint32_t ngates;
	struct gate_group *groups;
	uint32_t ngroups;
	uint16_t *gstarts;             /* indexed groups' key starts */
	uint32_t nindexed;
	struct scan_memo *memo;        /* MEMO_SLOTS per indexed group */
	uint64_t *memo_bits;           /* their marks, mark_words(max_list) each */
	uint32_t max_list;             /* longest candidate list */
	uint64_t *marks;               /* four bitmaps of max_list bits */
	unsigned char fold[256];       /* ASCII lowercase */
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
	if ((c >= '0' && c <= '9') || (c && strchr("/.-:_=\",\"", c)))
		return 170;
	if (c && strchr("[]()", c))
		return 110;
	if (c && strchr("%&?+;'#@", c))
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

/* The scan key of the (already folded) byte pair a, b: a's low six bits
 * over b's (folded letters, digits and most punctuation stay apart). */
static uint32_t pair_key(unsigned a, unsigned b)
{
	return ((a << 6) ^ b ^ (b >> 6 << 3)) & (PAIR_KEYS - 1);
}

/* Chooses the byte memchr looks for (the rarest) and the pair a scan keys
 * on (the rarest, case folded). */
static void literal_prepare(struct literal *l, int caseless)
{
	const unsigned char *t = (const unsigned char *)l->text;
	uint32_t best = 0;

	for (uint32_t i = 1; i < l->len; i++)
		if (byte_cost(t[i], caseless) < byte_cost(t[best], caseless))
			best = i;
	l->rare_off = best;
	l->rare[0] = t[best];
	l->rare[1] = caseless ? ascii_upper(l->rare[0]) : l->rare[0];
	l->pair_off = 0;
	l->pair_key = PAIR_KEYS;
	if (l->len < 2)
		return;
	for (uint32_t i = 1; i + 1 < l->len; i++)
		if (byte_cost(t[i], 1) + byte_cost(t[i + 1], 1) <
		    byte_cost(t[l->pair_off], 1) + byte_cost(t[l->pair_off + 1], 1))
			l->pair_off = i;
	l->pair_key = (uint16_t)pair_key(ascii_lower(t[l->pair_off]),
					 ascii_lower(t[l->pair_off + 1]));
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

/* An empty set borrowing grok macros g; see rules.h. */
int ls_rules_new(struct ls_rules **out, const struct ls_grok *g)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return LS_ENOMEM;
	(*out)->grok = g;
	for (int c = 0; c < 256; c++)
		(*out)->fold[c] = ascii_lower((unsigned char)c);
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

static void auto_release(struct rule *ru)
{
	for (int m = 0; m < RULE_MAX_MATCH; m++) {
		free(ru->regex[m]);
		ru->regex[m] = NULL;
		for (int i = 0; i < ru->nauto[m]; i++)
			free(ru->auto_lit[m][i].text);
		free(ru->auto_lit[m]);
		ru->auto_lit[m] = NULL;
		ru->nauto[m] = 0;
	}
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
	free(ru->lit);
	auto_release(ru);
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
	free(r->gates);
	free(r->groups);
	free(r->gstarts);
	free(r->memo);
	free(r->memo_bits);
	r->gstarts = NULL;
	r->memo = NULL;
	r->memo_bits = NULL;
	r->nindexed = 0;
	r->groups = NULL;
	r->ngroups = 0;
	free(r->marks);
	r->gates = NULL;
	r->marks = NULL;
	r->ngates = 0;
	r->max_list = 0;
	free(r->wanted);
	free(r->found);
	free(r->cache);
	memset(&r->global, 0, sizeof(r->global));
	r->cand_ids = NULL;
	r->ncand_ids = 0;
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

/* Frees r, its rules, thresholds and tables; NULL is fine. */
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

/* Replaces the technique allow-list with the ids of text (sorted for
 * bsearch); on a bad line the old list stays. */
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

/* The allow-list name of id, or NULL. */
const char *ls_rules_technique_name(const struct ls_rules *r, const char *id)
{
	const struct technique *t = technique_find(r, id, strlen(id));

	return t ? t->name : NULL;
}

/* ---- literals derived from a regex ------------------------------------
 *
 * A rule without literal: lines gets the literals its regexes imply: a set
 * of strings such that every match contains one of them. The regex is read
 * conservatively: literal runs, groups, alternations, classes, escapes,
 * quantifiers and lookarounds are understood; anything else (extended mode,
 * \Q, conditionals, recursion, verbs) gives no literals at all, and so does
 * a regex any of whose branches could match without a literal. */

/* A derived set: strings in the deriver's pool; ok 0 when none is known. */
struct xset {
	int ok;
	int covered;                   /* every match holds a given literal */
	int n;
	uint16_t off[RULE_MAX_LIT];
	uint16_t len[RULE_MAX_LIT];
};

struct xtract {
	const char *p;
	int bail;                      /* syntax not understood */
	int caseless;                  /* an (?i) somewhere */
	int depth;
	size_t used;
	const struct literal *given;   /* literal: lines, for covered */
	int ngiven;
	int given_caseless;
	char pool[XLIT_POOL];
};

enum { Q_ONE, Q_OPT, Q_MANY };

static void xset_none(struct xset *s)
{
	s->ok = 0;
	s->covered = 0;
	s->n = 0;
}

/* 1 when needle occurs in hay (caseless: ASCII case ignored). */
static int text_contains(const char *hay, size_t hlen, const char *needle,
			 size_t nlen, int caseless)
{
	for (size_t i = 0; nlen <= hlen && i <= hlen - nlen; i++) {
		size_t k = 0;
		while (k < nlen && (caseless ? ascii_lower((unsigned char)hay[i + k]) ==
					      ascii_lower((unsigned char)needle[k]) :
					      hay[i + k] == needle[k]))
			k++;
		if (k == nlen)
			return 1;
	}
	return 0;
}

/* 1 when the run holds one of the given literals. */
static int run_covered(const struct xtract *x, const char *run, size_t len)
{
	for (int k = 0; k < x->ngiven; k++)
		if (text_contains(run, len, x->given[k].text, x->given[k].len,
				  x->given_caseless))
			return 1;
	return 0;
}

/* The shortest string of s: how selective it is (0: useless). */
static size_t xset_quality(const struct xset *s)
{
	size_t q = SIZE_MAX;

	if (!s->ok || s->n == 0)
		return 0;
	for (int i = 0; i < s->n; i++)
		q = s->len[i] < q ? s->len[i] : q;
	return q;
}

/* Keeps in best the more selective of best and cand. */
static void xset_better(struct xset *best, const struct xset *cand)
{
	size_t qb = xset_quality(best), qc = xset_quality(cand);

	if (qc > qb || (qc == qb && qc > 0 && cand->n < best->n))
		*best = *cand;
}

/* A set of the one string run[0..len). */
static void xset_run(struct xtract *x, struct xset *s, const char *run, size_t len)
{
	xset_none(s);
	if (len == 0 || x->used + len > XLIT_POOL) {
		x->bail |= len != 0;
		return;
	}
	memcpy(x->pool + x->used, run, len);
	s->off[0] = (uint16_t)x->used;
	s->len[0] = (uint16_t)len;
	x->used += len;
	s->n = 1;
	s->ok = 1;
	s->covered = run_covered(x, run, len);
}

/* acc becomes acc or b (any string of either will do). */
static void xset_union(struct xtract *x, struct xset *acc, const struct xset *b)
{
	if (!acc->ok || !b->ok || acc->n + b->n > RULE_MAX_LIT) {
		xset_none(acc);
		return;
	}
	for (int i = 0; i < b->n; i++) {
		int dup = 0;
		for (int k = 0; k < acc->n && !dup; k++)
			dup = acc->len[k] == b->len[i] &&
			      memcmp(x->pool + acc->off[k], x->pool + b->off[i], b->len[i]) == 0;
		if (!dup) {
			acc->off[acc->n] = b->off[i];
			acc->len[acc->n++] = b->len[i];
		}
	}
}

/* Reads a quantifier after an atom, if any: Q_OPT when the atom may be
 * absent, Q_MANY when it may repeat, Q_ONE when there is none. */
static int x_quant(struct xtract *x)
{
	const char *p = x->p;
	int q = Q_ONE;

	if (*p == '?' || *p == '*') {
		q = Q_OPT;
		p++;
	} else if (*p == '+') {
		q = Q_MANY;
		p++;
	} else if (*p == '{') {
		const char *d = p + 1;
		long lo = 0, hi = -1;
		char *end;
		if (*d >= '0' && *d <= '9')
			lo = strtol(d, &end, 10);
		else
			end = (char *)d;
		if (end == d && *end != ',')
			return Q_ONE; /* a literal '{' */
		if (*end == ',') {
			d = end + 1;
			hi = *d >= '0' && *d <= '9' ? strtol(d, &end, 10) : LONG_MAX;
			if (hi == LONG_MAX)
				end = (char *)d;
		} else {
			hi = lo;
		}
		if (*end != '}')
			return Q_ONE;
		p = end + 1;
		q = lo == 0 ? Q_OPT : hi > 1 ? Q_MANY : Q_ONE;
	} else {
		return Q_ONE;
	}
	if (*p == '?' || *p == '+')
		p++;
	x->p = p;
	return q;
}

/* Skips a character class; x->p is just past its '['. */
static void x_class(struct xtract *x)
{
	const char *p = x->p;

	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (p[0] == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");
			p = e ? e + 2 : p + 1;
		} else if (*p == '\\' && p[1]) {
			p += 2;
		} else {
			p++;
		}
	}
	if (!*p)
		x->bail = 1;
	x->p = *p ? p + 1 : p;
}

/* Skips "{...}" after an escape like \x, \p, \g; x->p is at the '{'. */
static void x_braces(struct xtract *x)
{
	const char *e = strchr(x->p, '}');

	if (!e)
		x->bail = 1;
	x->p = e ? e + 1 : x->p + strlen(x->p);
}

enum { ESC_LITERAL, ESC_ZERO, ESC_ATOM };

/* Reads an escape (x->p past the backslash): a literal byte in *c, a
 * zero-width assertion, or some other atom. */
static int x_escape(struct xtract *x, char *c)
{
	char e = *x->p;

	if (e == '\0') {
		x->bail = 1;
		return ESC_ATOM;
	}
	x->p++;
	if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))) {
		*c = e;
		return ESC_LITERAL;
	}
	if (strchr("bBAzZGKE", e))
		return ESC_ZERO;
	if (e == 't' || e == 'n' || e == 'r' || e == 'f' || e == 'e' || e == 'a') {
		*c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' :
		     e == 'f' ? '\f' : e == 'e' ? '\033' : '\a';
		return ESC_LITERAL;
	}
	if (strchr("dDwWsShHvVRNXC", e))
		return ESC_ATOM;
	if (e >= '0' && e <= '9') {
		while (*x->p >= '0' && *x->p <= '9')
			x->p++;
		return ESC_ATOM;
	}
	if (e == 'c' && *x->p) {
		x->p++;
		return ESC_ATOM;
	}
	if (strchr("xopPgk", e)) {
		if (*x->p == '{')
			x_braces(x);
		else if (e == 'x')
			for (int i = 0; i < 2 && ((*x->p >= '0' && *x->p <= '9') ||
						  (*x->p >= 'a' && *x->p <= 'f') ||
						  (*x->p >= 'A' && *x->p <= 'F')); i++)
				x->p++;
		else if (e == 'g' || e == 'k')
			x->bail = 1; /* \g1, \k<n>, \k'n': rare, not worth following */
		else if (e != 'x' && (e == 'p' || e == 'P') && *x->p)
			x->p++;
		return ESC_ATOM;
	}
	x->bail = 1; /* \Q, \L and the like */
	return ESC_ATOM;
}

static void x_alt(struct xtract *x, struct xset *out);

/* Reads inline flags "(?imsx-imsx" (x->p after "(?"): 1 when they end
 * with ')' (flags for the rest), 0 with ':' (a group), -1 when these are
 * not flags. Extended mode cannot be followed. */
static int x_flags(struct xtract *x)
{
	const char *p = x->p;

	while (*p && strchr("imnsxJU-^", *p)) {
		if (*p == 'x')
			x->bail = 1;
		if (*p == 'i')
			x->caseless = 1;
		p++;
	}
	if (p == x->p || (*p != ')' && *p != ':'))
		return -1;
	x->p = p + 1;
	return *p == ')';
}

enum { G_BODY, G_LOOK, G_DONE, G_BAD };

/* Reads what follows a '(' up to its body: G_BODY (a group), G_LOOK (a
 * lookaround: its body is read but consumes nothing), G_DONE (a comment or
 * a flag setting, read whole) or G_BAD (not understood). */
static int x_group_head(struct xtract *x)
{
	const char *p = x->p, *e;
	int f;

	if (*p == '*')
		return G_BAD;
	if (*p++ != '?')
		return G_BODY;
	if (*p == '#') {
		e = strchr(p, ')');
		x->p = e ? e + 1 : p;
		return e ? G_DONE : G_BAD;
	}
	if (*p == '=' || *p == '!' || (p[0] == '<' && (p[1] == '=' || p[1] == '!'))) {
		x->p = p + (*p == '<' ? 2 : 1);
		return G_LOOK;
	}
	if (*p == ':' || *p == '>' || *p == '|') {
		x->p = p + 1;
		return G_BODY;
	}
	if (*p == '<' || *p == '\'' || (p[0] == 'P' && p[1] == '<')) {
		p += p[0] == 'P' ? 2 : 1;
		e = strchr(p, p[-1] == '\'' ? '\'' : '>');
		x->p = e ? e + 1 : p;
		return e ? G_BODY : G_BAD;
	}
	x->p = p;
	f = x_flags(x);
	return f < 0 ? G_BAD : f == 1 ? G_DONE : G_BODY;
}

/* Reads a group (x->p just past its '('). *zero is set for lookarounds and
 * flag settings, which consume nothing. */
static void x_group(struct xtract *x, struct xset *out, int *zero)
{
	int head;

	xset_none(out);
	*zero = 0;
	if (++x->depth > XLIT_DEPTH) {
		x->bail = 1;
		return;
	}
	head = x_group_head(x);
	if (head == G_BAD || head == G_DONE) {
		x->bail |= head == G_BAD;
		*zero = head == G_DONE;
		x->depth--;
		return;
	}
	x_alt(x, out);
	if (*x->p != ')')
		x->bail = 1;
	else
		x->p++;
	x->depth--;
	if (head == G_LOOK) {
		*zero = 1;
		xset_none(out);
	}
}

/* The best literal set of a branch: the most selective of its literal
 * runs and of the sets of the groups it cannot do without. The branch is
 * covered when any of those holds a given literal. */
static void x_seq(struct xtract *x, struct xset *best)
{
	char run[XLIT_RUN];
	size_t rlen = 0;
	struct xset cand;
	int covered = 0;

	xset_none(best);
	while (!x->bail && *x->p && *x->p != '|' && *x->p != ')') {
		char c = *x->p++, lit = 0;
		int kind = ESC_LITERAL, q, zero = 0;
		struct xset group;

		xset_none(&group);
		if (c == '\\')
			kind = x_escape(x, &lit);
		else if (c == '^' || c == '$')
			kind = ESC_ZERO;
		else if (c == '.')
			kind = ESC_ATOM;
		else if (c == '[') {
			x_class(x);
			kind = ESC_ATOM;
		} else if (c == '(') {
			x_group(x, &group, &zero);
			kind = zero ? ESC_ZERO : ESC_ATOM;
		} else {
			lit = c;
		}
		q = x_quant(x);
		if (kind == ESC_ZERO)
			continue;
		if (kind == ESC_LITERAL && q != Q_OPT && rlen < sizeof(run)) {
			run[rlen++] = lit;
			if (q == Q_ONE)
				continue;
		}
		xset_run(x, &cand, run, rlen);
		xset_better(best, &cand);
		covered |= cand.covered;
		rlen = 0;
		if (c == '(' && q != Q_OPT) {
			xset_better(best, &group);
			covered |= group.covered;
		}
	}
	xset_run(x, &cand, run, rlen);
	xset_better(best, &cand);
	best->covered = covered | cand.covered;
}

/* Alternatives: their sets united; covered when all of them are. */
static void x_alt(struct xtract *x, struct xset *out)
{
	struct xset branch;
	int covered;

	x_seq(x, out);
	covered = out->covered;
	while (!x->bail && *x->p == '|') {
		x->p++;
		x_seq(x, &branch);
		xset_union(x, out, &branch);
		covered &= branch.covered;
	}
	out->covered = covered;
}

/* Derives the literal set of regex into x; 1 when there is one. */
static int derive_set(struct xtract *x, const char *regex, struct xset *out)
{
	memset(out, 0, sizeof(*out));
	x->p = regex;
	x->given = NULL;
	x->ngiven = 0;
	x->bail = 0;
	x->caseless = 0;
	x->depth = 0;
	x->used = 0;
	x_alt(x, out);
	if (*x->p)
		x->bail = 1; /* an unbalanced ')' */
	return !x->bail && xset_quality(out) > 0;
}

/* Appends the literal s[0..len) to *arr; 0 or LS_ENOMEM. */
static int literal_push(struct literal **arr, int *n, const char *s, size_t len)
{
	struct literal *p = realloc(*arr, (size_t)(*n + 1) * sizeof(*p));

	if (!p)
		return LS_ENOMEM;
	*arr = p;
	memset(&p[*n], 0, sizeof(p[*n]));
	p[*n].text = strndup(s, len);
	if (!p[*n].text)
		return LS_ENOMEM;
	p[*n].len = (uint32_t)len;
	(*n)++;
	return 0;
}

/* Keeps the literals the regex of match: line m implies (none when it
 * implies none), noting (?i) in the rule. 0 or LS_ENOMEM. */
static int derive_literals(struct rule *ru, int m, struct xtract *x)
{
	struct xset set;
	int rc = 0;

	if (!derive_set(x, ru->regex[m], &set))
		return 0;
	if (x->caseless)
		ru->caseless = 1;
	for (int i = 0; i < set.n && rc == 0; i++)
		rc = literal_push(&ru->auto_lit[m], &ru->nauto[m], x->pool + set.off[i],
				  set.len[i]);
	return rc;
}

/* 1 when the given literals cover match: line m: every match of its regex
 * holds one of them. */
static int literals_cover(const struct rule *ru, int m, struct xtract *x)
{
	struct xset set;

	memset(&set, 0, sizeof(set));
	x->p = ru->regex[m];
	x->bail = 0;
	x->depth = 0;
	x->used = 0;
	x->given = ru->lit;
	x->ngiven = ru->nlit;
	x->given_caseless = ru->caseless;
	x_alt(x, &set);
	return !x->bail && !*x->p && set.covered;
}

/* Adds literal d unless the rule has it; 0, 1 when it is full, LS_ENOMEM. */
static int literal_add_new(struct rule *ru, const struct literal *d)
{
	for (int k = 0; k < ru->nlit; k++)
		if (ru->lit[k].len == d->len && memcmp(ru->lit[k].text, d->text, d->len) == 0)
			return 0;
	if (ru->nlit == RULE_MAX_LIT)
		return 1;
	return literal_push(&ru->lit, &ru->nlit, d->text, d->len);
}

/* Settles the rule's prefilter. Without literal: lines, the literals
 * derived from every match: line (when each gives some). With them, a
 * match: line they cannot be shown to cover adds its derived literals: a
 * literal: that a match does not need would otherwise hide that match. */
static int settle_literals(struct rule *ru)
{
	struct xtract *x = malloc(sizeof(*x));
	int given = ru->nlit, rc = 0, cover[RULE_MAX_MATCH];

	if (!x)
		return LS_ENOMEM;
	for (int m = 0; m < ru->nmatch && rc == 0; m++)
		rc = derive_literals(ru, m, x);
	for (int m = 0; m < ru->nmatch && rc == 0; m++) {
		cover[m] = given && literals_cover(ru, m, x);
		if (!given && ru->nauto[m] == 0)
			goto out;
	}
	for (int m = 0; m < ru->nmatch && rc == 0; m++) {
		if (given && (ru->nauto[m] == 0 || cover[m]))
			continue;
		for (int i = 0; i < ru->nauto[m] && rc == 0; i++)
			rc = literal_add_new(ru, &ru->auto_lit[m][i]);
		ru->widened |= given > 0;
	}
	if (rc == 1) {
		/* too many to hold: no prefilter rather than a partial one */
		for (int k = 0; k < ru->nlit; k++)
			free(ru->lit[k].text);
		ru->nlit = 0;
	}
out:
	free(x);
	return rc < 0 ? rc : 0;
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
	if (rc == 0 && !(ru->regex[ru->nmatch - 1] = strdup(regex)))
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
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
		if (ru->nlit == RULE_MAX_LIT)
			return entry_error(err, LS_EINVAL, e, p->line, "more than %d "
					   "'literal:' lines", RULE_MAX_LIT);
		if (!p->value[0])
			return entry_error(err, LS_EINVAL, e, p->line, "empty literal");
		if (literal_push(&ru->lit, &ru->nlit, p->value, strlen(p->value)) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
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
	if (settle_literals(ru) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	auto_release(ru);
	if (ru->route == ROUTE_GLOBAL && ru->nlit == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "a rule with neither "
				   "'program:' nor 'dataset:' runs on every event and "
				   "needs a 'literal:' (none could be derived from "
				   "its regex)");
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

/* Builds a rule or threshold from e and adds it (replacing one of the
 * same name in place); the set is unchanged on error. */
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

/* Rules plus thresholds. */
int ls_rules_count(const struct ls_rules *r)
{
	return r->nrules + r->nthr;
}

/* The entry of the rule, else threshold, called name; NULL if none. */
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

/* Whether rule name got derived literals beside its literal: lines. */
int ls_rules_widened(const struct ls_rules *r, const char *name)
{
	for (int k = 0; k < r->nrules; k++)
		if (strcmp(r->rules[k]->m.id, name) == 0)
			return r->rules[k]->widened;
	return 0;
}

/* Literal i of rule name (its prefilter), or NULL. */
const char *ls_rules_literal(const struct ls_rules *r, const char *name, int i,
			     int *caseless)
{
	for (int k = 0; k < r->nrules; k++) {
		const struct rule *ru = r->rules[k];
		if (strcmp(ru->m.id, name) != 0)
			continue;
		if (caseless)
			*caseless = ru->caseless;
		return i >= 0 && i < ru->nlit ? ru->lit[i].text : NULL;
	}
	return NULL;
}

/* Entry i: rules, then thresholds, in the order added. */
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

/* Gate entries of a rule: one per literal, or one when it has none. */
static uint32_t rule_gates(const struct rule *ru)
{
	return ru->nlit ? (uint32_t)ru->nlit : 1;
}

/* Enters the names of the rules routed by which into x, counting each
 * name's own rules (and their gates) in its list. */
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
			s->list.gate_n += rule_gates(r->rules[i]);
		}
	}
	return 0;
}

/* Words of a bitmap of n bits (at least one). */
static size_t mark_words(uint32_t n)
{
	return n ? (n + 63) / 64 : 1;
}

/* Gives list l room for its own rules and gates plus the global ones. */
static void cand_place(struct ls_rules *r, struct cand_list *l,
		       const struct cand_list *global)
{
	uint32_t n = l->n + global->n;

	l->first = r->ncand_ids;
	r->ncand_ids += n;
	l->n = 0;
	l->gate_first = r->ngates;
	r->ngates += l->gate_n + global->gate_n;
	l->gate_n = 0;
	if (n > r->max_list)
		r->max_list = n;
}

/* Appends rule id to list l, with its gates. */
static void cand_append(struct ls_rules *r, struct cand_list *l, uint32_t id)
{
	const struct rule *ru = r->rules[id];
	struct gate *g = r->gates + l->gate_first + l->gate_n;

	for (int k = 0; k < ru->nlit; k++)
		g[k].lit = &ru->lit[k];
	if (ru->nlit == 0)
		g[0].lit = NULL;
	for (uint32_t k = 0; k < rule_gates(ru); k++) {
		g[k].pos = l->n;
		g[k].subject = (uint32_t)ru->subject;
		g[k].caseless = (uint8_t)ru->caseless;
	}
	l->gate_n += rule_gates(ru);
	r->cand_ids[l->first + l->n++] = id;
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

/* Gates by subject, those with a literal first (by pair key), then in
 * list order. */
static int gate_cmp(const void *pa, const void *pb)
{
	const struct gate *a = pa, *b = pb;

	if (a->subject != b->subject)
		return a->subject < b->subject ? -1 : 1;
	if (!a->lit != !b->lit)
		return a->lit ? -1 : 1;
	if (a->lit && a->lit->pair_key != b->lit->pair_key)
		return a->lit->pair_key < b->lit->pair_key ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Sorts the gates of list l into per-subject groups. */
static void groups_of(struct ls_rules *r, struct cand_list *l)
{
	struct gate *g = r->gates + l->gate_first;

	qsort(g, l->gate_n, sizeof(*g), gate_cmp);
	l->group_first = r->ngroups;
	l->group_n = 0;
	for (uint32_t i = 0; i < l->gate_n; i++) {
		struct gate_group *gg = l->group_n ? &r->groups[r->ngroups + l->group_n - 1] :
				       NULL;
		if (!gg || gg->subject != g[i].subject) {
			gg = &r->groups[r->ngroups + l->group_n++];
			gg->subject = g[i].subject;
			gg->first = l->gate_first + i;
			gg->nlit = 0;
			gg->n = 0;
			gg->units = 0;
			gg->starts_at = NO_STARTS;
		}
		if (g[i].lit)
			gg->units += g[i].lit->rare[0] == g[i].lit->rare[1] ? 1 : 2;
		gg->nlit += g[i].lit != NULL;
		gg->n++;
	}
	r->ngroups += l->group_n;
}

/* Gives each big group the starts of its gates per pair key. */
static int starts_build(struct ls_rules *r)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < r->ngroups; k++)
		n += r->groups[k].nlit >= SCAN_MIN_LITS;
	r->gstarts = malloc(((size_t)n * (PAIR_KEYS + 2) + 1) * sizeof(*r->gstarts));
	if (!r->gstarts)
		return LS_ENOMEM;
	for (uint32_t k = 0; k < r->ngroups; k++) {
		struct gate_group *gg = &r->groups[k];
		const struct gate *g = r->gates + gg->first;
		uint16_t *starts;
		uint32_t i = 0;
		if (gg->nlit < SCAN_MIN_LITS)
			continue;
		gg->starts_at = r->nindexed++ * (PAIR_KEYS + 2);
		starts = r->gstarts + gg->starts_at;
		for (uint32_t key = 0; key <= PAIR_KEYS + 1; key++) {
			while (i < gg->nlit && g[i].lit->pair_key < key)
				i++;
			starts[key] = (uint16_t)i;
		}
	}
	r->memo = calloc((size_t)r->nindexed * MEMO_SLOTS + 1, sizeof(*r->memo));
	r->memo_bits = calloc((size_t)r->nindexed * MEMO_SLOTS * mark_words(r->max_list) + 1,
			      sizeof(*r->memo_bits));
	return r->memo && r->memo_bits ? 0 : LS_ENOMEM;
}

static void groups_build(struct ls_rules *r)
{
	groups_of(r, &r->global);
	for (uint32_t k = 0; k <= r->programs.mask; k++)
		if (r->programs.slots[k].name)
			groups_of(r, &r->programs.slots[k].list);
	for (uint32_t k = 0; k <= r->datasets.mask; k++)
		if (r->datasets.slots[k].name)
			groups_of(r, &r->datasets.slots[k].list);
}

/* Builds the candidate lists: the global one and one per program and per
 * dataset name, each holding the global rules too, all in rule order. */
static int lists_build(struct ls_rules *r)
{
	struct cand_list none, global;

	memset(&none, 0, sizeof(none));
	memset(&global, 0, sizeof(global));

	if (index_names(r, &r->programs, ROUTE_PROGRAM) < 0 ||
	    index_names(r, &r->datasets, ROUTE_DATASET) < 0)
		return LS_ENOMEM;
	for (int i = 0; i < r->nrules; i++) {
		if (r->rules[i]->route == ROUTE_GLOBAL) {
			global.n++;
			global.gate_n += rule_gates(r->rules[i]);
		}
	}
	r->global = global;
	cand_place(r, &r->global, &none);
	for (uint32_t k = 0; k <= r->programs.mask; k++)
		if (r->programs.slots[k].name)
			cand_place(r, &r->programs.slots[k].list, &global);
	for (uint32_t k = 0; k <= r->datasets.mask; k++)
		if (r->datasets.slots[k].name)
			cand_place(r, &r->datasets.slots[k].list, &global);
	r->cand_ids = malloc((r->ncand_ids + 1) * sizeof(*r->cand_ids));
	r->gates = malloc((r->ngates + 1) * sizeof(*r->gates));
	r->groups = malloc((r->ngates + 1) * sizeof(*r->groups));
	r->marks = malloc(4 * mark_words(r->max_list) * sizeof(*r->marks));
	if (!r->cand_ids || !r->gates || !r->marks || !r->groups)
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
	groups_build(r);
	return starts_build(r);
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
	if (!r->cache)
		return LS_ENOMEM;
	for (int i = 0; i < r->nrules; i++)
		r->cache[r->rules[i]->subject].decode = r->rules[i]->decode;
	return 0;
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

/* Finds subject k of ev once per apply (percent-decoding url.* fields). */
static struct subject_cache *subject_get(struct ls_rules *r, uint32_t k,
					 struct ls_event *ev)
{
	struct subject_cache *c = &r->cache[k];
	const struct ls_field *f;

	if (c->gen == r->gen)
		return c;
	c->gen = r->gen;
	f = r->found[WANT_SUBJECTS + k];
	c->s = f ? f->val : k == 0 ? ev->line : NULL;
	c->len = f ? f->len : k == 0 ? ev->line_len : 0;
	if (!c->s)
		return c;
	if (c->decode && (memchr(c->s, '%', c->len) || memchr(c->s, '+', c->len))) {
		char *out = ls_event_alloc(ev, c->len + 1);
		if (out) {
			c->len = url_decode(out, c->s, c->len);
			out[c->len] = '\0';
			c->s = out;
		}
	}
	return c;
}

/* 1 when one of the rule's literals occurs in subject c (or it has none). */
static int literals_found(const struct subject_cache *c, const struct rule *ru)
{
	for (int i = 0; i < ru->nlit; i++)
		if (find_literal(&ru->lit[i], ru->caseless, c->s, c->len))
			return 1;
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

/* 1 when rule ru hit ev (and tagged it), 0 when not, LS_ENOMEM. verified:
 * a scan found one of its literals already. */
static int try_rule(struct ls_rules *r, const struct rule *ru, struct ls_event *ev,
		    int verified)
{
	struct subject_cache *c = &r->cache[ru->subject];

	if (ru->check_dataset && !field_in(r->found[WANT_DATASET], &ru->datasets))
		return 0;
	if (!c->s || (!verified && !literals_found(c, ru)))
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

static void mark(uint64_t *marks, uint32_t pos)
{
	marks[pos >> 6] |= (uint64_t)1 << (pos & 63);
}

static int marked(const uint64_t *marks, uint32_t pos)
{
	return (marks[pos >> 6] >> (pos & 63)) & 1;
}

/* Marks (in marks and verified) the rule of gate g when its literal is
 * at at (which the caller checked ends inside the subject). */
static void gate_check(const struct gate *g, const char *at, uint64_t *marks,
		       uint64_t *verified)
{
	const struct literal *l = g->lit;

	if (marked(verified, g->pos))
		return;
	if (g->caseless ? rest_equal_caseless(at, l->text, l->len) :
			  memcmp(at, l->text, l->len) == 0) {
		mark(marks, g->pos);
		mark(verified, g->pos);
	}
}

/* Scans subject c once for the literals of big group gg: at each folded
 * byte pair, only the literals keyed on its hash are compared (one-byte
 * literals are searched with memchr). What it finds is exact. */
static void gate_scan(const struct ls_rules *r, const struct gate_group *gg,
		      const struct subject_cache *c, uint64_t *marks, uint64_t *verified)
{
	const uint16_t *starts = r->gstarts + gg->starts_at;
	const struct gate *g = r->gates + gg->first;
	const unsigned char *p = (const unsigned char *)c->s;
	unsigned prev = r->fold[p[0]];

	for (size_t i = 1; i < c->len; i++) {
		unsigned cur = r->fold[p[i]];
		uint32_t key = pair_key(prev, cur);
		prev = cur;
		for (uint32_t j = starts[key]; j < starts[key + 1]; j++) {
			const struct literal *l = g[j].lit;
			if (i - 1 >= l->pair_off && l->len - l->pair_off <= c->len - (i - 1))
				gate_check(&g[j], c->s + (i - 1 - l->pair_off), marks, verified);
		}
	}
	for (uint32_t j = starts[PAIR_KEYS]; j < starts[PAIR_KEYS + 1]; j++)
		if (!marked(verified, g[j].pos) &&
		    find_literal(g[j].lit, g[j].caseless, c->s, c->len)) {
			mark(marks, g[j].pos);
			mark(verified, g[j].pos);
		}
}

/* gate_scan() through the group's memo: a subject other than the message
 * whose text was scanned lately gets the marks remembered for it (the
 * memo compares the text itself, so a hash collision cannot change an
 * outcome). The marks of this group alone are remembered, so they are
 * computed into scratch bits first. */
static void gate_scan_memo(const struct ls_rules *r, const struct gate_group *gg,
			   const struct subject_cache *c, size_t words,
			   uint64_t *marks, uint64_t *verified)
{
	size_t index = gg->starts_at / (PAIR_KEYS + 2);
	size_t stride = mark_words(r->max_list);
	uint64_t hash;
	struct scan_memo *m;
	uint64_t *bits;

	if (gg->subject == 0 || c->len > MEMO_TEXT) {
		gate_scan(r, gg, c, marks, verified);
		return;
	}
	hash = XXH3_64bits(c->s, c->len);
	m = &r->memo[index * MEMO_SLOTS + (hash & (MEMO_SLOTS - 1))];
	bits = r->memo_bits + (size_t)(m - r->memo) * stride;
	if (m->len != c->len || m->hash != hash || memcmp(m->text, c->s, c->len) != 0) {
		memset(bits, 0, words * sizeof(*bits));
		gate_scan(r, gg, c, bits, bits);
		m->hash = hash;
		m->len = (uint32_t)c->len;
		memcpy(m->text, c->s, c->len);
	}
	for (size_t w = 0; w < words; w++) {
		marks[w] |= bits[w];
		verified[w] |= bits[w];
	}
}

/* Whether scanning pays for group gg on subject c: some 12 instructions a
 * byte (as measured) against some 30, plus len/8, per memchr call. */
static int scan_pays(const struct gate_group *gg, const struct subject_cache *c)
{
	return gg->starts_at != NO_STARTS && c->len <= SCAN_MAX_LEN &&
	       (size_t)gg->units * (30 + c->len / 8) > 12 * c->len + 64;
}

/* Marks in marks the rules of l that may hit: their subject exists and,
 * when a scan pays, one of their literals is in it (those are also marked
 * verified). Resolves the subjects. */
static void gate_list(struct ls_rules *r, const struct cand_list *l,
		      struct ls_event *ev, uint64_t *marks, uint64_t *verified)
{
	memset(marks, 0, mark_words(l->n) * sizeof(*marks));
	memset(verified, 0, mark_words(l->n) * sizeof(*verified));
	for (uint32_t k = 0; k < l->group_n; k++) {
		const struct gate_group *gg = &r->groups[l->group_first + k];
		const struct subject_cache *c = subject_get(r, gg->subject, ev);
		const struct gate *g = r->gates + gg->first;
		uint32_t i = 0;
		if (!c->s)
			continue;
		if (c->len >= 2 && scan_pays(gg, c)) {
			gate_scan_memo(r, gg, c, mark_words(l->n), marks, verified);
			i = gg->nlit;
		}
		for (; i < gg->n; i++)
			mark(marks, g[i].pos);
	}
}

/* Tries the marked rules of list a in order. */
static int walk_one(struct ls_rules *r, const struct cand_list *a,
		    const uint64_t *marks, const uint64_t *verified, struct ls_event *ev)
{
	const uint32_t *ids = r->cand_ids + a->first;

	for (size_t w = 0; w < mark_words(a->n); w++) {
		for (uint64_t bits = marks[w]; bits; bits &= bits - 1) {
			uint32_t pos = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(bits);
			int rc = try_rule(r, r->rules[ids[pos]], ev, marked(verified, pos));
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

/* Tries the marked rules of a and b merged in rule order; the global rules
 * both hold are tried once. */
static int walk_two(struct ls_rules *r, const struct cand_list *a,
		    const uint64_t *ma, const struct cand_list *b,
		    const uint64_t *mb, struct ls_event *ev)
{
	const uint32_t *x = r->cand_ids + a->first, *y = r->cand_ids + b->first;
	const uint64_t *va = ma + mark_words(r->max_list), *vb = mb + mark_words(r->max_list);
	uint32_t i = 0, j = 0;

	while (i < a->n || j < b->n) {
		uint32_t id;
		int pass, verified, rc;
		if (j >= b->n || (i < a->n && x[i] <= y[j])) {
			id = x[i];
			pass = marked(ma, i);
			verified = marked(va, i++);
			if (j < b->n && y[j] == id)
				j++;
		} else {
			id = y[j];
			pass = marked(mb, j);
			verified = marked(vb, j++);
		}
		if (pass && (rc = try_rule(r, r->rules[id], ev, verified)) != 0)
			return rc;
	}
	return 0;
}

/* Gates and tries the rules of a (merged with b's when b is not NULL). */
static int try_lists(struct ls_rules *r, const struct cand_list *a,
		     const struct cand_list *b, struct ls_event *ev)
{
	size_t w = mark_words(r->max_list);
	uint64_t *ma = r->marks, *mb = r->marks + 2 * w;

	/* each list's marks are followed by its verified bits */
	gate_list(r, a, ev, ma, ma + w);
	if (!b)
		return walk_one(r, a, ma, ma + w, ev);
	gate_list(r, b, ev, mb, mb + w);
	return walk_two(r, a, ma, b, mb, ev);
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

/* Tags ev with its first matching rule, then feeds the thresholds (after
 * the tagging, so on: tag:X sees the tags just added). Builds the routing
 * on the first call after adds. 0 or 1 hits, or LS_ENOMEM. */
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
		n += sizeof(ru->lit[i]) + ru->lit[i].len + 1;
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

/* Bytes held by the set, computed from its sizes (see rules.h). */
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
		     ((size_t)r->nrules + WANT_SUBJECTS + 1) *
		     (sizeof(*r->wanted) + sizeof(*r->found)) +
		     (r->ngates + 1) * (sizeof(*r->gates) + sizeof(*r->groups)) +
		     ((size_t)r->nindexed * (PAIR_KEYS + 2) + 1) * sizeof(*r->gstarts) +
		     ((size_t)r->nindexed * MEMO_SLOTS + 1) * sizeof(*r->memo) +
		     ((size_t)r->nindexed * MEMO_SLOTS * mark_words(r->max_list) + 1) *
		     sizeof(*r->memo_bits) +
		     4 * mark_words(r->max_list) * sizeof(*r->marks) +
		     (size_t)r->nsubjects * sizeof(*r->cache);
	return n;
}

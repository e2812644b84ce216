/* rules.c - the security rule engine.
 *
 * Rules are routed by program (process.name) and dataset (event.dataset)
 * through two small open-addressing tables built lazily on the first apply
 * after adds; rules with neither are "global" and must carry literals. A
 * program or dataset name has a candidate list: its rules merged with the
 * global ones, in the order they were added (the first hit wins).
 *
 * Each literal gates the match: lines it is needed for: the literal: lines
 * gate the regexes they are shown to cover, and a regex they do not cover
 * gets the strings it implies added for it (see settle_literals()). The
 * rules of a list that read one subject field form a scan group (groups
 * with the same rules are shared between lists), whose literals are all
 * found in one pass over the subject, so only the regexes behind a literal
 * found run. A group of literals with many key bytes (each literal's
 * rarest byte) is scanned by an Aho-Corasick automaton (acmatch.h); one
 * with few, by looking for those bytes, eight at a time, and comparing
 * the literals that have them there: for long subjects like raw access
 * log lines several times faster. Its keys are chosen again from the
 * bytes of its first subjects. The answers for the last few distinct
 * short subjects of a group (user agents, paths and syslog messages
 * repeat) are remembered, checked byte for byte.
 *
 * Thresholds count hits per key in a fixed, set-associative table allocated
 * when the entry is added: 8-way buckets of slots keyed by a 64-bit XXH3
 * hash (plus a short copy of the key), each slot owning a ring of `count`
 * timestamps, or for distinct counting `count` value hashes with their last
 * time. A full bucket evicts its stalest slot, so memory never grows. An
 * on: line "FIELD>N" (or >=, <, <=) is checked first, without the
 * where-expression, when the field is a plain whole number: most events
 * fail it (2xx responses for a 4xx count). */
#include "rules.h"
#include "acmatch.h"
#include "nibscan.h"
#include "matcher.h"
#include "where.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define RULE_MAX_MATCH 8           /* fits the uint8_t masks of match: lines */
#define RULE_MAX_ITEMS 16          /* words in a list property */
#define RULE_MAX_LIT 64            /* literals of a rule, given or derived */
#define XLIT_POOL 16384            /* text of the strings derived from a regex */
#define XLIT_DEPTH 32              /* group nesting the deriving follows */
#define XLIT_RUN 128               /* longest derived literal kept */
#define XLIT_CLASS 16              /* bytes of a [class] read as alternatives */
#define XLIT_JOIN_RETRY 8          /* strings joined when RULE_MAX_LIT overflowed */
#define THR_WAYS 8                 /* slots per bucket */
_Static_assert(THR_WAYS * sizeof(uint64_t) % 64 == 0, "a bucket's hashes fill cache lines");
#define THR_KEY_MAX 63             /* key text kept per slot */
#define THR_COUNT_MAX 1000
#define THR_CAPACITY_DEFAULT 65536
#define THR_CAPACITY_MAX (1u << 24)
#define THR_TABLE_MAX ((size_t)256 << 20)
#define THR_WINDOW_MAX (366 * 86400)
#define ALERT_KEY_SHOWN 200        /* key bytes quoted in an alert message */
#define MEMO_SLOTS 128             /* remembered scans per group, in pairs:
				    * a subject's hash picks a pair, the one
				    * used less lately makes way for it */
#define MEMO_TEXT 256              /* longest subject remembered */
#define MEMO_PERIOD 1024           /* look-ups between memo checks */
#define MEMO_MIN_RATE 8            /* found at least 1 in 8, else off */
#define KEY_BYTES_MAX 16           /* key bytes of a group scanned for them */
#define SIMD_KEYS 8                /* key bytes looked for 16 bytes at a time */
#define NIB_COMPARES_MAX 0.1       /* literals compared per byte (expected)
				    * above which the three-byte scan is
				    * dropped for key bytes or automaton */
#define KEY_SAMPLE 64              /* subjects whose bytes re-choose the keys */

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
	uint32_t id_len, name_len;
	const struct ls_pentry *entry; /* borrowed */
	int level;
	struct strlist category, type, technique, tags;
};

enum route { ROUTE_GLOBAL, ROUTE_PROGRAM, ROUTE_DATASET };

/* A prefilter literal and the match: lines it lets run (bit m: line m). */
struct literal {
	char *text;                    /* lowercase when the rule is caseless */
	uint32_t len;
	uint8_t lines;                 /* 0: gates nothing */
};

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
	uint64_t lit_key;              /* of regexes and given literals */
	char *regex[RULE_MAX_MATCH];   /* while building: each match: line's */
};

/* A key's counting state. Its hash and newest hit live apart, in arrays
 * where a bucket's THR_WAYS of them share a cache line or two: a look-up
 * reads those, then the one slot that matches. */
struct thr_slot {
	uint16_t head;                 /* next ring position */
	uint16_t n;                    /* timestamps / distinct values held */
	uint8_t key_len;
	char key[THR_KEY_MAX];
};

struct thr_value {
	uint64_t hash;
	int64_t seen_ms;
};

/* An ordering test of an on: line ("http.response.status_code>=400") that
 * is checked, when the field is a plain whole number, without the
 * where-expression (which decides otherwise). Up to GUARDS_MAX of them,
 * on one field; when they are all the on: lines there are, a plain number
 * passing them needs no where-expression at all. */
enum guard_op { GUARD_GT, GUARD_GE, GUARD_LT, GUARD_LE };
#define GUARDS_MAX 2

struct guard {
	enum guard_op op;
	long value;
};

struct threshold {
	struct meta m;
	struct ls_where *on;
	char *guard_field;             /* NULL: no guard */
	struct guard guards[GUARDS_MAX];
	int nguards;
	int non;                       /* on: lines */
	int guard_want;                /* index into ls_rules.wanted */
	char *guard_tag;               /* an on: tag:NAME's NAME, checked
					* before the where-expression */
	char *key;
	char *distinct;                /* NULL: count every hit */
	int count;
	int window_s;
	uint32_t capacity;
	uint32_t nbuckets;
	struct thr_slot *slots;        /* nbuckets * THR_WAYS */
	uint64_t *hashes;              /* per slot; 0: empty */
	int64_t *lasts;                /* per slot: newest hit, for eviction */
	void *hashes_mem, *lasts_mem;  /* what they were cut from (see
					* line_aligned_calloc()) */
	int64_t *times;                /* count per slot (plain counting) */
	struct thr_value *values;      /* count per slot (distinct counting) */
};

/* The rules to try for one routing value, already merged with the global
 * rules in the order they were added, and its scan groups (own_*: those of
 * its own rules alone, for a dataset list tried beside a program list that
 * holds the global rules already). */
struct cand_list {
	uint32_t n;
	uint32_t first;                /* into ls_rules.cand_ids */
	uint32_t group_first;          /* into ls_rules.list_groups */
	uint32_t group_n;
	uint32_t own_first;
	uint32_t own_n;
};

/* A remembered scan: the hash and length of the subject's text (the text
 * itself is in the group's memo_text, its literal bits in memo_hits: a
 * look-up reads this small entry, and the text only when it may match). */
struct scan_memo {
	uint64_t hash;
	uint32_t len;                  /* 0: empty */
	uint32_t used;                 /* the group's memo_clock when last used */
};

/* A literal of a scan group, by its id (its bit) in the group. */
struct group_lit {
	const struct literal *lit;     /* borrowed from its rule */
	uint32_t rule;                 /* index into ls_rules.rules */
	uint32_t key_off;              /* offset of its key byte */
	uint32_t len;                  /* lit->len, at hand */
	uint32_t head;                 /* its first four bytes (with 0x20 set
					* in each when caseless), when len >= 4:
					* a word compared before the bytes */
	uint8_t lines;                 /* the match: lines it lets run */
	uint8_t caseless;
	uint8_t exact;                 /* case matters: confirm what the
					* caseless automaton found */
};

/* The rules of a list that read one subject: the literals of those that
 * have some, and those without (they run whenever the subject exists).
 * The literals are found in one pass over the subject: by an automaton,
 * or when they have few key bytes (each literal's rarest byte) by looking
 * for those and comparing the literals that have them there. */
struct scan_group {
	uint32_t subject;
	uint32_t rule_first, nrules;   /* its rules, into ls_rules.group_rules */
	uint32_t open_first, nopen;    /* those without literals, likewise */
	uint32_t lit_first, nlit;      /* into ls_rules.glits */
	uint8_t use_ac;                /* scanned by the automaton (ac), not
					* by key bytes */
	uint8_t ready;                 /* group_ready() ran */
	uint8_t all_found;             /* no automaton for want of memory:
					* every literal counts as found */
	struct ls_ac *ac;
	struct ls_nibscan *nib;        /* its literals by three bytes in a row,
					* when few enough (the scan then used
					* where the CPU can) */
	uint8_t is_key[256];
	uint8_t nkeys;                 /* key bytes (both cases), when at most
					* SIMD_KEYS; else 0 */
	uint8_t keys[SIMD_KEYS];       /* those bytes */
	/* when every key byte is ASCII: nib_lo[c & 15] & nib_hi[c >> 4]
	 * is not 0 exactly when c is a key (bit h of nib_lo[l] is byte h<<4|l;
	 * nib_hi[h] is bit h, 0 from 8 up), sixteen bytes looked up at a time
	 * (keys_scan_nib16()); nib_ok 0: not usable */
	uint8_t nib_ok;
	uint8_t nib_lo[16], nib_hi[16];
	/* per key byte: the byte every literal with that key has right after
	 * (next) and before (prev) it, exactly; -1 when not all have the same
	 * one. A key byte without them there is no hit. */
	int16_t next[256], prev[256];
	uint32_t key_first[257];       /* byte c's literal ids: from key_first[c]
					* to key_first[c + 1], in bucket_ids */
	uint32_t ids_first;            /* into ls_rules.bucket_ids (2 nlit) */
	uint32_t sampled;              /* subjects counted in freq */
	uint32_t *freq;                /* their bytes, to re-choose the keys */
	struct scan_memo *memo;        /* MEMO_SLOTS, NULL without literals */
	char (*memo_text)[MEMO_TEXT];  /* MEMO_SLOTS */
	uint64_t *memo_hits;           /* lit_words(nlit) per memo slot */
	/* the memo pays only when subjects repeat (user agents do, sshd
	 * messages with their ports do not): MEMO_PERIOD look-ups with fewer
	 * than one in MEMO_MIN_RATE found turn it off for MEMO_PERIOD * 16
	 * subjects, then it is tried again */
	uint32_t memo_tries, memo_found, memo_rest;
	uint32_t memo_clock;
};

/* program or dataset name -> its candidate list */
struct name_slot {
	const char *name;              /* NULL: empty */
	uint32_t len;
	uint64_t hash;
	struct cand_list list;
};

#define NAME_KEPT 32               /* longest name the last look-up keeps */

struct name_index {
	uint32_t mask;
	uint32_t nnames;
	struct name_slot *slots;
	/* the last name looked up (names repeat from line to line) */
	uint32_t last_len;             /* UINT32_MAX: none */
	char last[NAME_KEPT];
	const struct cand_list *last_list;
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
#define NAME_MEMO 128              /* field names remembered by address */
#define LAYOUTS 16                 /* field name orders remembered */
#define LAYOUT_MAX 40              /* most fields of a remembered order */
#define PAIRS 64                   /* program and dataset pairs merged */

struct technique {
	char *id;
	char *name;
};

struct ls_rules {
	const struct ls_grok *grok;
	int nrules, rules_cap;
	struct rule **rules;
	uint32_t *rule_slots;          /* rule index + 1 by id hash (0: empty) */
	uint32_t rule_mask;            /* slots - 1; 0 before the first rule */
	int nthr, thr_cap;
	struct threshold **thr;
	int ntech;
	int have_techniques;
	struct technique *tech;        /* sorted by id */
	unsigned match_flags;          /* LS_MATCH_DEFER for trusted entries */
	int no_ssse3;                  /* tests: scan as without SSSE3 */
	const struct ls_lit_entry *lit_cache; /* borrowed, sorted by id */
	size_t nlit_cache;
	/* built lazily by build_index() */
	int dirty;
	struct name_index programs, datasets;
	struct cand_list global;
	uint32_t *cand_ids;
	uint32_t ncand_ids;
	struct scan_group *groups;
	uint32_t ngroups;
	uint32_t *list_groups;         /* the groups of each list, by index */
	uint32_t nlist_groups;
	uint32_t *group_rules;         /* the rules of each group, in order */
	uint32_t ngroup_rules;
	struct group_lit *glits;
	uint32_t nglits;
	uint32_t *bucket_ids;          /* the literals of each key byte (32 bits:
					* a group may hold more than 65535) */
	uint32_t nbucket_ids;
	uint32_t max_lit_words;        /* lit_words() of the largest group */
	uint64_t *hits;                /* scratch: a group's literal bits */
	uint8_t *run;                  /* per rule: the match: lines to try */
	uint32_t *marked;              /* the rules run[] lets run, to try */
	uint32_t nmarked;
	int nsubjects;
	struct subject_cache *cache;
	int nwanted;
	const char **wanted;           /* borrowed: WANT_* then the subjects */
	const struct ls_field **found; /* this event's wanted fields */
	uint64_t first_mask[256];      /* wanted names by first byte */
	/* field name pointer -> its index in wanted (< WANT_MASKED), -1 for
	 * none: formats and rules set fields under the same name pointers line
	 * after line, so a name is mostly known by its address; names in an
	 * event's arena are made per line and never kept */
	struct name_memo {
		const char *name;
		char c0, c1;           /* its first bytes, checked too */
		int8_t k;
	} name_memo[NAME_MEMO];
	/* the wanted fields of recent events, by the order of their field
	 * names: a format sets the same names (the same pointers) in the
	 * same order line after line, so an event whose names are those of
	 * a layout, compared one by one, has its wanted fields where the
	 * layout says (a few orders: optional fields come and go) */
	struct layout {
		int n;                 /* names; 0: empty */
		int nfound;
		const char *names[LAYOUT_MAX];
		uint8_t found_at[LAYOUT_MAX];   /* field index of each */
		int8_t found_k[LAYOUT_MAX];     /* and its wanted index */
	} layouts[LAYOUTS];
	/* a program's list and a dataset's own rules, merged into one scan
	 * per subject when first met together (a syslog line of sshd scanned
	 * its message twice: for sshd's literals and for the syslog rules') */
	struct pair {
		const struct cand_list *p, *d;  /* NULL p: free */
		uint32_t first, n;              /* into list_groups */
	} pairs[PAIRS];
	uint32_t npairs;
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

static unsigned char ascii_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

/* How common byte c is in log text (higher: more common); a rough order
 * that only has to rank punctuation and rare letters below common ones. */
static int commonness_of(unsigned char c)
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
	if (c && strchr("[]()", c))
		return 110;
	if (c && strchr("%&?+;'#@", c))
		return 60;
	return 30;
}

/* commonness_of(c), from a table made at the first call (it is asked for
 * every byte of every literal while the rules load). */
static int byte_commonness(unsigned char c)
{
	static uint8_t table[256];
	static int made;

	if (!made) {
		for (int b = 0; b < 256; b++)
			table[b] = (uint8_t)commonness_of((unsigned char)b);
		made = 1;
	}
	return table[c];
}

/* The cost of looking for byte c: both cases count when caseless. */
static int byte_cost(unsigned char c, int caseless)
{
	if (caseless && ascii_upper(c) != c)
		return byte_commonness(c) + byte_commonness(ascii_upper(c));
	return byte_commonness(c);
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
	/* an empty set too needs its (empty) index before the first apply */
	(*out)->dirty = 1;
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

static void regex_release(struct rule *ru)
{
	for (int m = 0; m < RULE_MAX_MATCH; m++) {
		free(ru->regex[m]);
		ru->regex[m] = NULL;
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
	regex_release(ru);
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
	free(t->guard_field);
	free(t->guard_tag);
	free(t->key);
	free(t->distinct);
	free(t->slots);
	free(t->hashes_mem);
	free(t->lasts_mem);
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
	for (uint32_t k = 0; k < r->ngroups; k++) {
		ls_ac_free(r->groups[k].ac);
		ls_nibscan_free(r->groups[k].nib);
		free(r->groups[k].freq);
		free(r->groups[k].memo);
		free(r->groups[k].memo_text);
		free(r->groups[k].memo_hits);
	}
	free(r->groups);
	free(r->cand_ids);
	free(r->list_groups);
	free(r->group_rules);
	free(r->glits);
	free(r->bucket_ids);
	free(r->hits);
	free(r->run);
	free(r->marked);
	free(r->wanted);
	free(r->found);
	free(r->cache);
	r->groups = NULL;
	r->ngroups = 0;
	r->cand_ids = NULL;
	r->ncand_ids = 0;
	r->list_groups = NULL;
	r->nlist_groups = 0;
	r->group_rules = NULL;
	r->ngroup_rules = 0;
	r->glits = NULL;
	r->nglits = 0;
	r->bucket_ids = NULL;
	r->nbucket_ids = 0;
	r->max_lit_words = 0;
	r->hits = NULL;
	r->run = NULL;
	r->marked = NULL;
	r->nmarked = 0;
	r->wanted = NULL;
	r->found = NULL;
	r->cache = NULL;
	r->nsubjects = 0;
	r->nwanted = 0;
	memset(&r->global, 0, sizeof(r->global));
	memset(r->first_mask, 0, sizeof(r->first_mask));
	memset(r->name_memo, 0, sizeof(r->name_memo));
	memset(r->layouts, 0, sizeof(r->layouts));
	memset(r->pairs, 0, sizeof(r->pairs));
	r->npairs = 0;
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
	free(r->rule_slots);
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
void ls_rules_scan_without_ssse3(struct ls_rules *r)
{
	r->no_ssse3 = 1;
}

void ls_rules_defer_compile(struct ls_rules *r, int on)
{
	r->match_flags = on ? LS_MATCH_DEFER : 0;
}

void ls_rules_set_literal_cache(struct ls_rules *r, const struct ls_lit_entry *table,
				size_t n)
{
	r->lit_cache = table;
	r->nlit_cache = table ? n : 0;
}

static int rule_id_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct rule *const *)a)->m.id,
		      (*(const struct rule *const *)b)->m.id);
}

int ls_rules_literal_table(const struct ls_rules *r, struct ls_buf *out)
{
	struct rule **sorted = malloc(((size_t)r->nrules + 1) * sizeof(*sorted));
	int rc = 0;

	if (!sorted)
		return LS_ENOMEM;
	memcpy(sorted, r->rules, (size_t)r->nrules * sizeof(*sorted));
	qsort(sorted, (size_t)r->nrules, sizeof(*sorted), rule_id_cmp);
	rc = ls_buf_puts(out, "/* Generated by tools/litcache.c at build time: the "
			 "prefilters of the\n * built-in rules. */\n"
			 "#include \"parsers/matcher.h\"\n"
			 "#include \"parsers/rules.h\"\n\n");
	for (int i = 0; i < r->nrules && rc == 0; i++) {
		const struct rule *ru = sorted[i];
		if (ru->nlit == 0)
			continue;
		rc = ls_buf_printf(out, "static const struct ls_lit_cached lit%d[] = {\n", i);
		for (int k = 0; k < ru->nlit && rc == 0; k++) {
			rc = ls_buf_puts(out, "\t{ ");
			if (rc == 0)
				rc = ls_buf_c_string(out, ru->lit[k].text, ru->lit[k].len);
			if (rc == 0)
				rc = ls_buf_printf(out, ", %u, %u },\n", (unsigned)ru->lit[k].len,
						   (unsigned)ru->lit[k].lines);
		}
		if (rc == 0)
			rc = ls_buf_puts(out, "};\n");
	}
	if (rc == 0)
		rc = ls_buf_puts(out, "\nconst struct ls_lit_entry ls_builtin_literals[] = {\n");
	for (int i = 0; i < r->nrules && rc == 0; i++) {
		const struct rule *ru = sorted[i];
		rc = ls_buf_puts(out, "\t{ ");
		if (rc == 0)
			rc = ls_buf_c_string(out, ru->m.id, strlen(ru->m.id));
		if (rc == 0 && ru->nlit)
			rc = ls_buf_printf(out, ", 0x%016llxull, %d, %d, %d, lit%d },\n",
					   (unsigned long long)ru->lit_key, ru->caseless,
					   ru->widened, ru->nlit, i);
		else if (rc == 0)
			rc = ls_buf_printf(out, ", 0x%016llxull, %d, %d, 0, 0 },\n",
					   (unsigned long long)ru->lit_key, ru->caseless,
					   ru->widened);
	}
	if (rc == 0)
		rc = ls_buf_printf(out, "\t{ 0, 0, 0, 0, 0, 0 }\n};\n"
				   "const size_t ls_builtin_nliterals = %d;\n", r->nrules);
	free(sorted);
	return rc < 0 ? LS_ENOMEM : 0;
}

const char *ls_rules_technique_name(const struct ls_rules *r, const char *id)
{
	const struct technique *t = technique_find(r, id, strlen(id));

	return t ? t->name : NULL;
}

/* ---- literals derived from a regex ------------------------------------
 *
 * A match: line gets the strings its regex implies: a set such that every
 * match contains one of them, or one of the rule's literal: lines (the
 * "given" literals). The regex is read conservatively: literal runs,
 * groups, alternations, classes (a few plain bytes count as alternatives),
 * escapes, quantifiers and lookarounds are understood; anything else
 * (extended mode, \Q, conditionals, recursion, verbs) gives no set at all,
 * and so does a regex one of whose branches could match with none of
 * them. */

/* A derived set: strings in the deriver's pool, plus the given literals
 * that do instead of a string (bit k: given literal k); ok 0 when none is
 * known. */
struct xset {
	int ok;
	uint64_t uses;
	int n;
	uint16_t off[RULE_MAX_LIT];
	uint16_t len[RULE_MAX_LIT];
};

/* What a construct matches, as strings in the deriver's pool: F_EXACT
 * when each match is one of them, F_PREFIX when each begins with one;
 * strings that follow each other in a regex are joined through these. */
enum { F_NONE, F_PREFIX, F_EXACT };

struct xform {
	int kind;
	int n;
	uint16_t off[RULE_MAX_LIT];
	uint16_t len[RULE_MAX_LIT];
};

struct xtract {
	const char *p;
	int bail;                      /* syntax not understood */
	int caseless;                  /* an (?i) somewhere */
	int depth;
	int join_max;                  /* strings a join may make */
	int overflow;                  /* a set got more than RULE_MAX_LIT */
	size_t used;
	const struct literal *given;   /* literal: lines, RULE_MAX_LIT at most */
	int ngiven;
	int given_caseless;
	char pool[XLIT_POOL];
};

enum { Q_ONE, Q_OPT, Q_MANY };

/* What \s matches (PCRE2 without UCP, which a regex cannot turn on here:
 * (*UCP) is not followed). */
static const char space_bytes[] = " \t\n\v\f\r";

static void xset_none(struct xset *s)
{
	s->ok = 0;
	s->uses = 0;
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

/* The given literals the run holds (bit k: literal k). */
static uint64_t run_uses(const struct xtract *x, const char *run, size_t len)
{
	uint64_t uses = 0;

	for (int k = 0; k < x->ngiven; k++)
		if (text_contains(run, len, x->given[k].text, x->given[k].len,
				  x->given_caseless))
			uses |= (uint64_t)1 << k;
	return uses;
}

/* The shortest string of s: how selective it is (0: useless; SIZE_MAX
 * when given literals do, so nothing needs adding). */
static size_t xset_quality(const struct xset *s)
{
	size_t q = SIZE_MAX;

	if (!s->ok)
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

/* 1 when pool strings a and b (offset, length) are the same. */
static int pool_same(const struct xtract *x, uint16_t a, uint16_t alen, uint16_t b,
		     uint16_t blen)
{
	return alen == blen && memcmp(x->pool + a, x->pool + b, alen) == 0;
}

/* f becomes the one string s[0..len) (exact); 0, or -1 when the pool is
 * full. */
static int form_string(struct xtract *x, struct xform *f, const char *s, size_t len)
{
	f->kind = F_NONE;
	f->n = 0;
	if (x->used + len > XLIT_POOL)
		return -1;
	memcpy(x->pool + x->used, s, len);
	f->kind = F_EXACT;
	f->n = 1;
	f->off[0] = (uint16_t)x->used;
	f->len[0] = (uint16_t)len;
	x->used += len;
	return 0;
}

/* acc becomes every string of acc followed by every string of b (its kind
 * is left to the caller); -1 with acc unchanged when that is too many or
 * too long. */
static int form_join(struct xtract *x, struct xform *acc, const struct xform *b)
{
	struct xform out;
	size_t need = 0;

	if (acc->n * b->n > x->join_max)
		return -1;
	for (int i = 0; i < acc->n; i++)
		for (int j = 0; j < b->n; j++) {
			if ((size_t)acc->len[i] + b->len[j] > XLIT_RUN)
				return -1;
			need += (size_t)acc->len[i] + b->len[j];
		}
	if (x->used + need > XLIT_POOL)
		return -1;
	out.n = 0;
	for (int i = 0; i < acc->n; i++)
		for (int j = 0; j < b->n; j++) {
			char *to = x->pool + x->used;
			memcpy(to, x->pool + acc->off[i], acc->len[i]);
			memcpy(to + acc->len[i], x->pool + b->off[j], b->len[j]);
			out.off[out.n] = (uint16_t)x->used;
			out.len[out.n] = (uint16_t)(acc->len[i] + b->len[j]);
			x->used += out.len[out.n++];
		}
	out.kind = acc->kind;
	*acc = out;
	return 0;
}

/* acc becomes acc or b: the weaker kind, the strings of both. */
static void form_union(struct xtract *x, struct xform *acc, const struct xform *b)
{
	if (b->kind < acc->kind)
		acc->kind = b->kind;
	for (int i = 0; acc->kind != F_NONE && i < b->n; i++) {
		int dup = 0;
		for (int k = 0; k < acc->n && !dup; k++)
			dup = pool_same(x, acc->off[k], acc->len[k], b->off[i], b->len[i]);
		if (dup)
			continue;
		if (acc->n == RULE_MAX_LIT)
			acc->kind = F_NONE;
		else {
			acc->off[acc->n] = b->off[i];
			acc->len[acc->n++] = b->len[i];
		}
	}
	if (acc->kind == F_NONE)
		acc->n = 0;
}

/* The set of f's strings, each replaced by the given literals it holds
 * when it holds some; none when f has an empty string. */
static void cover_of(const struct xtract *x, struct xset *s, const struct xform *f)
{
	xset_none(s);
	for (int i = 0; i < f->n; i++)
		if (f->len[i] == 0)
			return;
	for (int i = 0; i < f->n; i++) {
		uint64_t uses = run_uses(x, x->pool + f->off[i], f->len[i]);
		if (uses) {
			s->uses |= uses;
		} else {
			s->off[s->n] = f->off[i];
			s->len[s->n++] = f->len[i];
		}
	}
	s->ok = f->n > 0;
}

/* acc becomes acc or b (any string of either will do). */
static void xset_union(struct xtract *x, struct xset *acc, const struct xset *b)
{
	x->overflow |= acc->ok && b->ok && acc->n + b->n > RULE_MAX_LIT;
	if (!acc->ok || !b->ok || acc->n + b->n > RULE_MAX_LIT) {
		xset_none(acc);
		return;
	}
	acc->uses |= b->uses;
	for (int i = 0; i < b->n; i++) {
		int dup = 0;
		for (int k = 0; k < acc->n && !dup; k++)
			dup = pool_same(x, acc->off[k], acc->len[k], b->off[i], b->len[i]);
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

/* f becomes the one-byte strings bytes[0..n) (exact). */
static void form_bytes(struct xtract *x, struct xform *f, const char *bytes, int n)
{
	struct xform one;

	for (int i = 0; i < n; i++) {
		if (form_string(x, &one, &bytes[i], 1) < 0)
			one.kind = F_NONE;
		if (i == 0)
			*f = one;
		else
			form_union(x, f, &one);
	}
}

/* Reads a character class (x->p just past its '['). A class of at most
 * XLIT_CLASS plain bytes (no negation, range, class escape but \s, or
 * [:name:]) gives them as one-byte alternatives; any other gives none. */
static void x_class(struct xtract *x, struct xset *out, struct xform *form)
{
	const char *p = x->p;
	char bytes[XLIT_CLASS];
	int n = 0, plain = *p != '^';

	xset_none(out);
	form->kind = F_NONE;
	form->n = 0;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++, plain = 0;
	while (*p && *p != ']') {
		char c = *p;
		if (p[0] == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");
			p = e ? e + 2 : p + 1;
			plain = 0;
			continue;
		}
		if (p[0] == '\\' && p[1] == 's') {
			for (const char *sp = space_bytes; *sp && plain; sp++) {
				if (memchr(bytes, *sp, (size_t)n))
					continue;
				if (n == XLIT_CLASS)
					plain = 0;
				else
					bytes[n++] = *sp;
			}
			p += 2;
			continue;
		}
		if (*p == '\\' && p[1]) {
			c = p[1];
			plain &= !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9'));
			p += 2;
		} else {
			plain &= !(c == '-' && p[1] != ']');
			p++;
		}
		if (plain && !memchr(bytes, c, (size_t)n)) {
			if (n == XLIT_CLASS)
				plain = 0;
			else
				bytes[n++] = c;
		}
	}
	if (!*p)
		x->bail = 1;
	x->p = *p ? p + 1 : p;
	if (plain)
		form_bytes(x, form, bytes, n);
	cover_of(x, out, form);
}

/* Skips "{...}" after an escape like \x, \p, \g; x->p is at the '{'. */
static void x_braces(struct xtract *x)
{
	const char *e = strchr(x->p, '}');

	if (!e)
		x->bail = 1;
	x->p = e ? e + 1 : x->p + strlen(x->p);
}

enum { ESC_LITERAL, ESC_ZERO, ESC_ATOM, ESC_SPACE };

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
	if (e == 's')
		return ESC_SPACE;
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

static void x_alt(struct xtract *x, struct xset *out, struct xform *form);

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
static void x_group(struct xtract *x, struct xset *out, struct xform *form, int *zero)
{
	int head;

	xset_none(out);
	form->kind = F_NONE;
	form->n = 0;
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
	x_alt(x, out, form);
	if (*x->p != ')')
		x->bail = 1;
	else
		x->p++;
	x->depth--;
	if (head == G_LOOK) {
		*zero = 1;
		xset_none(out);
		form->kind = F_NONE;
		form->n = 0;
	}
}

/* A branch being read: the strings that end where it has got to, the
 * best set so far and what the branch begins with. */
struct xseq {
	struct xform cur;
	struct xform first;            /* cur at the first break */
	int broken;                    /* cur no longer reaches the start */
	char tail[XLIT_RUN];           /* the single strings that end cur */
	size_t tail_len;
	struct xset best;
};

/* Ends the strings being joined (what follows is not adjacent to them):
 * they compete for the best set and start afresh as the empty string. */
static void seq_break(struct xtract *x, struct xseq *q)
{
	struct xset cand;

	cover_of(x, &cand, &q->cur);
	xset_better(&q->best, &cand);
	if (!q->broken) {
		q->first = q->cur;
		q->first.kind = cand.ok ? F_PREFIX : F_NONE;
		q->broken = 1;
	}
	form_string(x, &q->cur, "", 0);
	q->tail_len = 0;
}

/* Appends an atom matching one of atom's strings (at the start of each
 * match when only F_PREFIX; many when q is Q_MANY) to the strings being
 * joined. When that makes too many, the strings so far end there and the
 * atom is joined to the text right before it that they all end with
 * ("on" in "[<>]on(?:error|load)"), or else starts afresh. */
static void seq_join(struct xtract *x, struct xseq *q, const struct xform *atom, int quant)
{
	char tail[XLIT_RUN];
	size_t tail_len = q->tail_len;

	if (quant == Q_OPT || atom->kind == F_NONE) {
		seq_break(x, q);
		return;
	}
	if (form_join(x, &q->cur, atom) < 0) {
		memcpy(tail, q->tail, tail_len);
		seq_break(x, q);
		if (form_string(x, &q->cur, tail, tail_len) < 0 ||
		    form_join(x, &q->cur, atom) < 0) {
			seq_break(x, q);
			if (form_join(x, &q->cur, atom) < 0) {
				seq_break(x, q);
				return;
			}
		}
	}
	if (atom->n == 1 && q->tail_len + atom->len[0] <= sizeof(q->tail)) {
		memcpy(q->tail + q->tail_len, x->pool + atom->off[0], atom->len[0]);
		q->tail_len += atom->len[0];
	} else {
		q->tail_len = 0;
	}
	if (atom->kind == F_PREFIX || quant == Q_MANY)
		seq_break(x, q);
}

/* The best literal set of a branch: the most selective of the strings it
 * must hold (literal runs joined with the groups and classes of a few
 * strings between them) and of the sets of the groups and classes it
 * cannot do without (one given literals do for is best: it adds nothing).
 * form: what the branch matches or begins with. */
static void x_seq(struct xtract *x, struct xset *best, struct xform *form)
{
	struct xseq q;

	xset_none(&q.best);
	q.broken = 0;
	q.tail_len = 0;
	form_string(x, &q.cur, "", 0);
	while (!x->bail && *x->p && *x->p != '|' && *x->p != ')') {
		char c = *x->p++, lit = 0;
		int kind = ESC_LITERAL, quant, zero = 0;
		struct xset group;
		struct xform atom;

		xset_none(&group);
		atom.kind = F_NONE;
		atom.n = 0;
		if (c == '\\') {
			kind = x_escape(x, &lit);
			if (kind == ESC_SPACE) {
				form_bytes(x, &atom, space_bytes, (int)strlen(space_bytes));
				cover_of(x, &group, &atom);
			}
		} else if (c == '^' || c == '$')
			kind = ESC_ZERO;
		else if (c == '.')
			kind = ESC_ATOM;
		else if (c == '[') {
			x_class(x, &group, &atom);
			kind = ESC_ATOM;
		} else if (c == '(') {
			x_group(x, &group, &atom, &zero);
			kind = zero ? ESC_ZERO : ESC_ATOM;
		} else {
			lit = c;
		}
		quant = x_quant(x);
		if (kind == ESC_ZERO)
			continue;
		if (kind == ESC_LITERAL && form_string(x, &atom, &lit, 1) < 0)
			atom.kind = F_NONE;
		if ((c == '(' || c == '[' || kind == ESC_SPACE) && quant != Q_OPT)
			xset_better(&q.best, &group);
		seq_join(x, &q, &atom, quant);
	}
	*form = q.broken ? q.first : q.cur;
	seq_break(x, &q);
	*best = q.best;
}

static void x_alt_once(struct xtract *x, struct xset *out, struct xform *form)
{
	struct xset branch;
	struct xform bform;

	x_seq(x, out, form);
	while (!x->bail && *x->p == '|') {
		x->p++;
		x_seq(x, &branch, &bform);
		xset_union(x, out, &branch);
		form_union(x, form, &bform);
	}
}

/* Alternatives: their sets and forms united. When that makes more than
 * RULE_MAX_LIT strings (long joins in the branches), the alternation is
 * read again joining fewer, which leaves smaller sets. */
static void x_alt(struct xtract *x, struct xset *out, struct xform *form)
{
	const char *start = x->p;
	size_t used = x->used;
	int outer = x->overflow, saved = x->join_max;

	x->overflow = 0;
	x_alt_once(x, out, form);
	if (x->overflow && x->join_max > XLIT_JOIN_RETRY && !x->bail) {
		x->p = start;
		x->used = used;
		x->overflow = 0;
		x->join_max = XLIT_JOIN_RETRY;
		x_alt_once(x, out, form);
		x->join_max = saved;
	}
	x->overflow |= outer;
}

/* Derives the literal set of regex into out, the n given literals (if
 * any) standing in for strings that hold them, joining at most join_max
 * strings; 1 when there is one. */
static int derive_set(struct xtract *x, const char *regex, const struct literal *given,
		      int n, int caseless, int join_max, struct xset *out)
{
	struct xform form;

	memset(out, 0, sizeof(*out));
	x->p = regex;
	x->given = given;
	x->ngiven = n;
	x->given_caseless = caseless;
	x->bail = 0;
	x->caseless = 0;
	x->depth = 0;
	x->join_max = join_max;
	x->overflow = 0;
	x->used = 0;
	x_alt(x, out, &form);
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

/* Lets literal s[0..len) gate line m, adding it unless the rule has it;
 * 0, 1 when the rule is full, LS_ENOMEM. */
static int literal_gate(struct rule *ru, const char *s, size_t len, int m)
{
	for (int k = 0; k < ru->nlit; k++) {
		if (ru->lit[k].len == len && memcmp(ru->lit[k].text, s, len) == 0) {
			ru->lit[k].lines |= (uint8_t)(1u << m);
			return 0;
		}
	}
	if (ru->nlit == RULE_MAX_LIT)
		return 1;
	if (literal_push(&ru->lit, &ru->nlit, s, len) < 0)
		return LS_ENOMEM;
	ru->lit[ru->nlit - 1].lines = (uint8_t)(1u << m);
	return 0;
}

static void literals_drop(struct rule *ru)
{
	for (int k = 0; k < ru->nlit; k++)
		free(ru->lit[k].text);
	ru->nlit = 0;
}

/* What settle_literals() derives from: the match: regexes and the given
 * literals, hashed. */
static uint64_t literal_key(const struct rule *ru)
{
	uint64_t h = (uint64_t)ru->nmatch;

	/* each piece seeded with the hash so far; the NULs keep pieces apart */
	for (int m = 0; m < ru->nmatch; m++)
		h = XXH64(ru->regex[m], strlen(ru->regex[m]) + 1, h);
	h = XXH64("\1", 1, h);
	for (int k = 0; k < ru->nlit; k++)
		h = XXH64(ru->lit[k].text, ru->lit[k].len + 1, h);
	return h;
}

static int lit_entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ls_lit_entry *)elem)->id);
}

/* Takes ru's prefilter from the build-time table when it holds ru with
 * the same key: 1 when taken, 0 when not there, LS_ENOMEM. */
static int cached_literals(const struct ls_rules *r, struct rule *ru)
{
	const struct ls_lit_entry *c;

	if (!r->lit_cache)
		return 0;
	c = bsearch(ru->m.id, r->lit_cache, r->nlit_cache, sizeof(*c), lit_entry_cmp);
	if (!c || c->key != ru->lit_key)
		return 0;
	literals_drop(ru);
	for (int k = 0; k < c->nlit; k++) {
		if (literal_push(&ru->lit, &ru->nlit, c->lit[k].text, c->lit[k].len) < 0)
			return LS_ENOMEM;
		ru->lit[k].lines = c->lit[k].lines;
	}
	ru->caseless = c->caseless;
	ru->widened = c->widened;
	return 1;
}

/* Settles the rule's prefilter: which literals gate which match: line.
 * A line gets the given literals its regex is shown to need (every match
 * holds one) plus, where they do not suffice, the strings the regex
 * implies there: a literal: that a match does not need would otherwise
 * hide that match. A line whose regex implies nothing runs, as before
 * lines had literals of their own, whenever any literal of the rule occurs
 * (the author's literal: lines vouch for it); without given literals such
 * a line leaves the rule with no prefilter, and so do more literals than
 * RULE_MAX_LIT. */
static int settle_literals(const struct ls_rules *r, struct rule *ru)
{
	static const int join_max[] = { RULE_MAX_LIT, XLIT_JOIN_RETRY, 1 };
	struct xtract *x;
	int given = ru->nlit, rc = 0, known[RULE_MAX_MATCH];
	unsigned vouched = 0;
	struct xset set;

	ru->lit_key = literal_key(ru);
	rc = cached_literals(r, ru);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (!(x = malloc(sizeof(*x))))
		return LS_ENOMEM;
	/* any (?i) makes the literals caseless, and so decides how a given
	 * literal is compared with the regex text */
	for (int m = 0; m < ru->nmatch; m++) {
		known[m] = derive_set(x, ru->regex[m], NULL, 0, 0, RULE_MAX_LIT, &set);
		ru->caseless |= x->caseless;
		if (!given && !known[m])
			goto out;
	}
	for (int m = 0; m < ru->nmatch && rc == 0; m++) {
		int ok = 0;
		/* long joins make many strings: fewer, shorter ones when the
		 * rule cannot hold them */
		for (size_t j = 0; known[m] && j < sizeof(join_max) / sizeof(*join_max); j++) {
			ok = derive_set(x, ru->regex[m], ru->lit, given, ru->caseless,
					join_max[j], &set);
			if (!ok || ru->nlit + set.n <= RULE_MAX_LIT)
				break;
		}
		if (!ok) {
			vouched |= 1u << m;
			continue;
		}
		for (int k = 0; k < given; k++)
			if (set.uses >> k & 1)
				ru->lit[k].lines |= (uint8_t)(1u << m);
		for (int i = 0; i < set.n && rc == 0; i++)
			rc = literal_gate(ru, x->pool + set.off[i], set.len[i], m);
		ru->widened |= given > 0 && set.n > 0;
	}
	for (int k = 0; k < ru->nlit; k++)
		ru->lit[k].lines |= (uint8_t)vouched;
	if (rc == 1)
		literals_drop(ru); /* too many to hold: no prefilter, not a partial one */
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
	m->id_len = (uint32_t)strlen(m->id);
	m->name_len = (uint32_t)strlen(m->name);
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
	rc = ls_matcher_compile_fields(&ru->match[ru->nmatch], regex, r->match_flags,
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

static int rule_finish(const struct ls_rules *r, struct rule *ru,
		       const struct ls_pentry *e, struct ls_error *err)
{
	int rc = meta_finish(&ru->m, e, err);

	if (rc < 0)
		return rc;
	if (ru->nmatch == 0)
		return entry_error(err, LS_EINVAL, e, e->line, "has no 'match:'");
	ru->route = ru->programs.n ? ROUTE_PROGRAM :
		    ru->datasets.n ? ROUTE_DATASET : ROUTE_GLOBAL;
	ru->check_dataset = ru->route == ROUTE_PROGRAM && ru->datasets.n;
	if (settle_literals(r, ru) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	regex_release(ru);
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
	for (int i = 0; i < ru->nlit && ru->caseless; i++)
		for (char *c = ru->lit[i].text; *c; c++)
			*c = (char)ascii_lower((unsigned char)*c);
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

/* Makes the first "FIELD>N" (>, >=, <, <=; N whole, 9 digits at most; a
 * field where.h gives no special meaning) on: line t's guard. */
static int guard_parse(struct threshold *t, const char *expr)
{
	static const char *const special[] = { "@timestamp", "message", "event.severity",
					       "tags" };
	size_t n = strspn(expr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_.@-");
	const char *num = expr + n + 1 + (expr[n + 1] == '=');
	size_t digits = strspn(num, "0123456789");

	struct guard *g = &t->guards[t->nguards];

	if (t->nguards == GUARDS_MAX || n == 0 || (expr[n] != '<' && expr[n] != '>') ||
	    digits == 0 || digits > 9 || num[digits] ||
	    (t->guard_field && (strlen(t->guard_field) != n ||
				memcmp(t->guard_field, expr, n) != 0)))
		return 0;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strlen(special[i]) == n && memcmp(special[i], expr, n) == 0)
			return 0;
	if (!t->guard_field && !(t->guard_field = strndup(expr, n)))
		return LS_ENOMEM;
	g->op = expr[n] == '>' ? (num == expr + n + 1 ? GUARD_GT : GUARD_GE) :
				 (num == expr + n + 1 ? GUARD_LT : GUARD_LE);
	g->value = strtol(num, NULL, 10);
	t->nguards++;
	return 0;
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
	t->non++;
	if (guard_parse(t, p->value) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	/* what the where-expression's tag: test does, without its call */
	if (!t->guard_tag && strncmp(p->value, "tag:", 4) == 0 && p->value[4] &&
	    !(t->guard_tag = strdup(p->value + 4)))
		return ls_error_set(err, LS_ENOMEM, "out of memory");
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

	return nslots * (sizeof(struct thr_slot) + sizeof(*t->hashes) + sizeof(*t->lasts) +
			 per * (size_t)t->count);
}

/* size zeroed bytes starting at a cache line (calloc's pages stay
 * untouched until used); *mem gets the pointer to free. NULL when out of
 * memory. */
static void *line_aligned_calloc(size_t size, void **mem)
{
	char *p = calloc(1, size + 64);

	*mem = p;
	return p ? p + (64 - (uintptr_t)p % 64) % 64 : NULL;
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
	/* a bucket's hashes in one cache line (nslots * 8 is a multiple of 64) */
	t->hashes = line_aligned_calloc(nslots * sizeof(*t->hashes), &t->hashes_mem);
	t->lasts = line_aligned_calloc(nslots * sizeof(*t->lasts), &t->lasts_mem);
	if (t->distinct)
		t->values = calloc(nslots * (size_t)t->count, sizeof(*t->values));
	else
		t->times = calloc(nslots * (size_t)t->count, sizeof(*t->times));
	if (!t->slots || !t->hashes || !t->lasts || (!t->values && !t->times))
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
		rc = rule_finish(r, ru, e, err);
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

/* The slot of rule id in r->rule_slots: the one holding it, or the empty
 * one where it goes. A table rather than a scan of every rule, so that a
 * file of n rules loads in O(n), not n^2/2 name comparisons. */
static uint32_t *rule_slot(const struct ls_rules *r, const char *id)
{
	for (uint32_t i = (uint32_t)hash_bytes(id, strlen(id)) & r->rule_mask;;
	     i = (i + 1) & r->rule_mask) {
		uint32_t *slot = &r->rule_slots[i];
		if (!*slot || strcmp(r->rules[*slot - 1]->m.id, id) == 0)
			return slot;
	}
}

/* Makes room in r->rule_slots for one more rule (at most half full). */
static int rule_slots_grow(struct ls_rules *r)
{
	uint32_t n = r->rule_mask ? 2 * (r->rule_mask + 1) : 64;
	uint32_t *old = r->rule_slots;

	if (r->rule_mask && (uint32_t)r->nrules + 1 <= (r->rule_mask + 1) / 2)
		return 0;
	r->rule_slots = calloc(n, sizeof(*r->rule_slots));
	if (!r->rule_slots) {
		r->rule_slots = old;
		return LS_ENOMEM;
	}
	r->rule_mask = n - 1;
	for (int i = 0; i < r->nrules; i++)
		*rule_slot(r, r->rules[i]->m.id) = (uint32_t)i + 1;
	free(old);
	return 0;
}

/* Adds the rule, or puts it in place of the one with the same name (which
 * keeps its position, so overriding a rule keeps the order of the set). */
static int add_rule(struct ls_rules *r, const struct ls_pentry *e,
		    struct ls_error *err)
{
	struct rule *ru;
	uint32_t *slot;
	int rc = build_rule(r, e, &ru, err);

	if (rc < 0)
		return rc;
	if (rule_slots_grow(r) < 0) {
		rule_free(ru);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	slot = rule_slot(r, ru->m.id);
	if (*slot) {
		rule_free(r->rules[*slot - 1]);
		r->rules[*slot - 1] = ru;
		return 0;
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
	*slot = (uint32_t)r->nrules;
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
	x->last_len = UINT32_MAX;
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
}

static void cand_append(struct ls_rules *r, struct cand_list *l, uint32_t id)
{
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

/* Words of a bitmap of n literal bits. */
static size_t lit_words(uint32_t n)
{
	return (n + 63) / 64;
}

/* 1 when l has a letter: without one, a caseless hit is an exact one. */
static int has_letter(const struct literal *l)
{
	for (uint32_t i = 0; i < l->len; i++) {
		unsigned char c = (unsigned char)l->text[i];
		if (ascii_lower(c) != ascii_upper(c))
			return 1;
	}
	return 0;
}

/* Marks key byte c (both cases when caseless) in used. */
static void key_use(uint8_t *used, unsigned char c, int caseless)
{
	used[c] = 1;
	if (caseless)
		used[ascii_upper(c)] = 1;
}

/* What looking for byte c costs: how often it occurred in the subjects
 * sampled (both cases when caseless) when freq is given, then how common
 * it is in log text. */
static uint64_t key_cost(unsigned char c, int caseless, const uint32_t *freq)
{
	uint64_t seen = 0;

	if (freq)
		seen = (uint64_t)freq[c] + (caseless && ascii_upper(c) != c ?
					    freq[ascii_upper(c)] : 0);
	return (seen << 10) + (uint64_t)byte_cost(c, caseless);
}

/* Gives each literal of g its key byte, the one the scan looks for: its
 * cheapest by key_cost(), a byte another literal has as key already
 * costing a third without freq (the scan looks for it anyway). Returns
 * the number of key bytes, both cases of a caseless one counted. */
static int keys_choose(struct ls_rules *r, const struct scan_group *g, const uint32_t *freq)
{
	uint8_t used[256];
	int n = 0;

	memset(used, 0, sizeof(used));
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < g->nlit; i++) {
			struct group_lit *gl = &r->glits[g->lit_first + i];
			const unsigned char *t = (const unsigned char *)gl->lit->text;
			uint64_t best = UINT64_MAX;
			for (uint32_t k = 0; k < gl->lit->len; k++) {
				uint64_t cost = key_cost(t[k], gl->caseless, freq) /
						(!freq && used[t[k]] ? 3 : 1);
				if (cost < best) {
					best = cost;
					gl->key_off = k;
				}
			}
			key_use(used, t[gl->key_off], gl->caseless);
		}
		if (pass == 0)
			memset(used, 0, sizeof(used));
	}
	for (int c = 0; c < 256; c++)
		n += used[c];
	return n;
}

/* The byte of literal gl at offset off when it matches only itself
 * there (not a caseless letter), else -1. */
static int exact_byte(const struct group_lit *gl, int64_t off)
{
	unsigned char c;

	if (off < 0 || off >= (int64_t)gl->lit->len)
		return -1;
	c = (unsigned char)gl->lit->text[off];
	if (gl->caseless && ascii_lower(c) != ascii_upper(c))
		return -1;
	return c;
}

/* Finds the bytes all literals of g with key byte c have right after and
 * right before it, for the scans to look for those too. */
static void key_neighbours(struct ls_rules *r, struct scan_group *g, int c)
{
	const uint32_t *ids = r->bucket_ids + g->ids_first;
	int next = -2, prev = -2;

	for (unsigned b = g->key_first[c]; b < g->key_first[c + 1]; b++) {
		const struct group_lit *gl = &r->glits[g->lit_first + ids[b]];
		int n = exact_byte(gl, (int64_t)gl->key_off + 1);
		int p = exact_byte(gl, (int64_t)gl->key_off - 1);
		next = next == -2 || next == n ? n : -1;
		prev = prev == -2 || prev == p ? p : -1;
	}
	g->next[c] = (int16_t)(next >= 0 ? next : -1);
	g->prev[c] = (int16_t)(prev >= 0 ? prev : -1);
}

/* Files the literals of g by key byte (a caseless letter under both its
 * cases) in its 2 nlit places of bucket_ids. */
/* Fills the nibble tables of g from is_key (see struct scan_group). */
static void nib_fill(struct scan_group *g)
{
	memset(g->nib_lo, 0, sizeof(g->nib_lo));
	memset(g->nib_hi, 0, sizeof(g->nib_hi));
	g->nib_ok = 1;
	for (int c = 0; c < 256; c++) {
		if (!g->is_key[c])
			continue;
		if (c >= 0x80)
			g->nib_ok = 0;
		else
			g->nib_lo[c & 15] |= (uint8_t)(1u << (c >> 4));
	}
	for (int h = 0; h < 8; h++)
		g->nib_hi[h] = (uint8_t)(1u << h);
}

static void buckets_fill(struct ls_rules *r, struct scan_group *g)
{
	uint32_t *ids = r->bucket_ids + g->ids_first;
	uint32_t at[256] = { 0 }, n = 0;

	/* a counting sort (one pass per literal, not per literal and byte:
	 * groups may hold 10^5 literals); ids stay in literal order within
	 * each byte's bucket */
	for (uint32_t i = 0; i < g->nlit; i++) {
		const struct group_lit *gl = &r->glits[g->lit_first + i];
		unsigned char key = (unsigned char)gl->lit->text[gl->key_off];
		at[key]++;
		if (gl->caseless && ascii_upper(key) != key)
			at[ascii_upper(key)]++;
	}
	for (int c = 0; c < 256; c++) {
		uint32_t count = at[c];
		g->key_first[c] = n;
		g->is_key[c] = count > 0;
		at[c] = n;
		n += count;
	}
	g->key_first[256] = n;
	for (uint32_t i = 0; i < g->nlit; i++) {
		const struct group_lit *gl = &r->glits[g->lit_first + i];
		unsigned char key = (unsigned char)gl->lit->text[gl->key_off];
		ids[at[key]++] = i;
		if (gl->caseless && ascii_upper(key) != key)
			ids[at[ascii_upper(key)]++] = i;
	}
	g->nkeys = 0;
	for (int c = 0; c < 256; c++) {
		if (!g->is_key[c])
			continue;
		if (g->nkeys == SIMD_KEYS) {
			g->nkeys = 0;
			break;
		}
		g->keys[g->nkeys++] = (uint8_t)c;
	}
	for (int c = 0; c < 256; c++)
		key_neighbours(r, g, c);
	nib_fill(g);
}

/* (Re)builds the three-byte tables of g, weighing bytes by freq (the
 * subjects sampled) when given, else by how common they are in logs. */
static void nib_weigh(struct scan_group *g, const uint32_t *freq)
{
	uint32_t weight[256];

	for (int c = 0; c < 256; c++)
		weight[c] = (freq ? freq[c] << 8 : 0) + (uint32_t)byte_commonness((unsigned char)c);
	ls_nibscan_build(g->nib, weight);
}

/* Gives g its three-byte tables when it has few enough literals. 0 or
 * LS_ENOMEM. */
static int nib_make(struct ls_rules *r, struct scan_group *g)
{
	if (g->nlit > LS_NIBSCAN_MAX_LIT || !ls_nibscan_usable())
		return 0;
	if (ls_nibscan_new(&g->nib, g->nlit) < 0)
		return LS_ENOMEM;
	for (uint32_t i = 0; i < g->nlit; i++) {
		const struct group_lit *gl = &r->glits[g->lit_first + i];
		ls_nibscan_set(g->nib, i, gl->lit->text, gl->lit->len, gl->caseless);
	}
	nib_weigh(g, NULL);
	return 0;
}

/* Fills a new group (r->groups[r->ngroups]) for the n rules ids reading
 * subject: their literals, and those without any; and decides whether the
 * literals are scanned by key bytes or by an automaton (made, with the
 * rest of the scan tables, at the group's first scan: group_ready()). */
static int group_fill(struct ls_rules *r, uint32_t subject, const uint32_t *ids,
		      uint32_t n)
{
	struct scan_group *g = &r->groups[r->ngroups++];
	size_t words;

	/* counted already, so that routing_release() frees what it holds */
	memset(g, 0, sizeof(*g));
	g->subject = subject;
	g->rule_first = r->ngroup_rules;
	g->nrules = n;
	memcpy(r->group_rules + r->ngroup_rules, ids, n * sizeof(*ids));
	r->ngroup_rules += n;
	g->open_first = r->ngroup_rules;
	for (uint32_t i = 0; i < n; i++)
		if (r->rules[ids[i]]->nlit == 0)
			r->group_rules[r->ngroup_rules++] = ids[i];
	g->nopen = r->ngroup_rules - g->open_first;
	g->lit_first = r->nglits;
	for (uint32_t i = 0; i < n; i++) {
		const struct rule *ru = r->rules[ids[i]];
		for (int k = 0; k < ru->nlit; k++) {
			struct group_lit *gl = &r->glits[r->nglits];
			if (!ru->lit[k].lines)
				continue;
			memset(gl, 0, sizeof(*gl));
			gl->lit = &ru->lit[k];
			gl->rule = ids[i];
			gl->lines = ru->lit[k].lines;
			gl->caseless = (uint8_t)ru->caseless;
			gl->exact = !ru->caseless && has_letter(&ru->lit[k]);
			gl->len = ru->lit[k].len;
			if (gl->len >= 4) {
				memcpy(&gl->head, ru->lit[k].text, sizeof(gl->head));
				if (gl->caseless)
					gl->head |= 0x20202020u;
			}
			r->nglits++;
		}
	}
	g->nlit = r->nglits - g->lit_first;
	if (!g->nlit)
		return 0;
	words = lit_words(g->nlit);
	if (words > r->max_lit_words)
		r->max_lit_words = (uint32_t)words;
	g->use_ac = keys_choose(r, g, NULL) > KEY_BYTES_MAX;
	if (!g->use_ac) {
		g->ids_first = r->nbucket_ids;
		r->nbucket_ids += 2 * g->nlit;
	}
	return 0;
}

/* Makes the scan tables of g (by key bytes or an automaton, and by three
 * bytes), its memo and its byte counts, at its first scan: a run sees the
 * subjects of a few groups only. When memory runs short, the group is
 * left without them and reports all its literals found, so that its rules
 * still decide by their regexes. */
static void group_ready(struct ls_rules *r, struct scan_group *g)
{
	size_t words = lit_words(g->nlit);

	g->ready = 1;
	g->memo = calloc(MEMO_SLOTS, sizeof(*g->memo));
	g->memo_text = malloc(MEMO_SLOTS * sizeof(*g->memo_text));
	g->memo_hits = calloc(MEMO_SLOTS * words, sizeof(*g->memo_hits));
	if (!g->memo || !g->memo_text || !g->memo_hits) {
		free(g->memo);
		free(g->memo_text);
		free(g->memo_hits);
		g->memo = NULL;
		g->memo_text = NULL;
		g->memo_hits = NULL;
	}
	g->freq = calloc(256, sizeof(*g->freq));
	if (nib_make(r, g) < 0)
		g->nib = NULL;
	if (!g->use_ac) {
		buckets_fill(r, g);
		return;
	}
	if (ls_ac_new(&g->ac) < 0)
		goto failed;
	for (uint32_t i = 0; i < g->nlit; i++) {
		const struct literal *l = r->glits[g->lit_first + i].lit;
		if (ls_ac_add(g->ac, l->text, l->len, (int)i) < 0)
			goto failed;
	}
	if (ls_ac_build(g->ac) == 0)
		return;
failed:
	ls_ac_free(g->ac);
	g->ac = NULL;
	g->all_found = 1;
}

/* Appends to r->list_groups the groups of the rules of list l (only the
 * routed ones when own) on each subject, making those not made yet. */
static int list_groups(struct ls_rules *r, const struct cand_list *l, int own,
		       uint32_t *ids)
{
	for (int k = 0; k < r->nsubjects; k++) {
		uint32_t n = 0, gi;
		for (uint32_t i = 0; i < l->n; i++) {
			const struct rule *ru = r->rules[r->cand_ids[l->first + i]];
			if (ru->subject == k && !(own && ru->route == ROUTE_GLOBAL))
				ids[n++] = r->cand_ids[l->first + i];
		}
		if (n == 0)
			continue;
		for (gi = 0; gi < r->ngroups; gi++) {
			const struct scan_group *g = &r->groups[gi];
			if (g->subject == (uint32_t)k && g->nrules == n &&
			    memcmp(r->group_rules + g->rule_first, ids, n * sizeof(*ids)) == 0)
				break;
		}
		if (gi == r->ngroups && group_fill(r, (uint32_t)k, ids, n) < 0)
			return LS_ENOMEM;
		r->list_groups[r->nlist_groups++] = gi;
	}
	return 0;
}

/* Gives list l its groups: of all its rules, and for a dataset list
 * (own) of its own rules alone. */
static int groups_of(struct ls_rules *r, struct cand_list *l, int own, uint32_t *ids)
{
	l->group_first = r->nlist_groups;
	if (list_groups(r, l, 0, ids) < 0)
		return LS_ENOMEM;
	l->group_n = r->nlist_groups - l->group_first;
	l->own_first = r->nlist_groups;
	if (own && list_groups(r, l, 1, ids) < 0)
		return LS_ENOMEM;
	l->own_n = r->nlist_groups - l->own_first;
	return 0;
}

/* arr cut to n elements of size (or arr itself when it cannot be). */
static void *shrink(void *arr, uint32_t n, size_t size)
{
	void *p = realloc(arr, ((size_t)n + 1) * size);

	return p ? p : arr;
}

/* Builds the scan groups of every list. The arrays are sized for the
 * worst case: every list's rules, groups and literals twice over (all and
 * own), no group shared. */
static int groups_build(struct ls_rules *r)
{
	uint32_t nlists = 1 + r->programs.nnames + r->datasets.nnames;
	size_t nlits = 0, ngroups = 2 * (size_t)nlists * (size_t)r->nsubjects;
	uint32_t *ids = malloc(((size_t)r->nrules + 1) * sizeof(*ids));
	int rc = LS_ENOMEM;

	for (uint32_t i = 0; i < r->ncand_ids; i++)
		nlits += (size_t)r->rules[r->cand_ids[i]]->nlit;
	r->groups = malloc(ngroups * sizeof(*r->groups));
	r->list_groups = malloc(ngroups * sizeof(*r->list_groups));
	r->group_rules = malloc((4 * (size_t)r->ncand_ids + 1) * sizeof(*r->group_rules));
	r->glits = malloc((2 * nlits + 1) * sizeof(*r->glits));
	r->bucket_ids = malloc((4 * nlits + 1) * sizeof(*r->bucket_ids));
	if (!ids || !r->groups || !r->list_groups || !r->group_rules || !r->glits ||
	    !r->bucket_ids)
		goto out;
	if (groups_of(r, &r->global, 0, ids) < 0)
		goto out;
	for (uint32_t k = 0; k <= r->programs.mask; k++)
		if (r->programs.slots[k].name &&
		    groups_of(r, &r->programs.slots[k].list, 0, ids) < 0)
			goto out;
	for (uint32_t k = 0; k <= r->datasets.mask; k++)
		if (r->datasets.slots[k].name &&
		    groups_of(r, &r->datasets.slots[k].list, 1, ids) < 0)
			goto out;
	r->groups = shrink(r->groups, r->ngroups, sizeof(*r->groups));
	r->list_groups = shrink(r->list_groups, r->nlist_groups, sizeof(*r->list_groups));
	r->group_rules = shrink(r->group_rules, r->ngroup_rules, sizeof(*r->group_rules));
	r->glits = shrink(r->glits, r->nglits, sizeof(*r->glits));
	r->bucket_ids = shrink(r->bucket_ids, r->nbucket_ids, sizeof(*r->bucket_ids));
	r->hits = calloc(r->max_lit_words + 1, sizeof(*r->hits));
	r->run = calloc((size_t)r->nrules + 1, sizeof(*r->run));
	r->marked = malloc(((size_t)r->nrules + 1) * sizeof(*r->marked));
	rc = r->hits && r->run && r->marked ? 0 : LS_ENOMEM;
out:
	free(ids);
	return rc;
}

/* Builds the candidate lists: the global one and one per program and per
 * dataset name, each holding the global rules too, all in rule order;
 * then their groups. */
static int lists_build(struct ls_rules *r)
{
	uint32_t nglobal = 0;

	if (index_names(r, &r->programs, ROUTE_PROGRAM) < 0 ||
	    index_names(r, &r->datasets, ROUTE_DATASET) < 0)
		return LS_ENOMEM;
	for (int i = 0; i < r->nrules; i++)
		nglobal += r->rules[i]->route == ROUTE_GLOBAL;
	cand_place(r, &r->global, nglobal);
	for (uint32_t k = 0; k <= r->programs.mask; k++)
		if (r->programs.slots[k].name)
			cand_place(r, &r->programs.slots[k].list, nglobal);
	for (uint32_t k = 0; k <= r->datasets.mask; k++)
		if (r->datasets.slots[k].name)
			cand_place(r, &r->datasets.slots[k].list, nglobal);
	r->cand_ids = malloc((r->ncand_ids + 1) * sizeof(*r->cand_ids));
	if (!r->cand_ids)
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
	return groups_build(r);
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
	size_t n = (size_t)r->nrules + (size_t)r->nthr + WANT_SUBJECTS + 1;

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
	for (int i = 0; i < r->nthr; i++) {
		struct threshold *t = r->thr[i];
		if (!t->guard_field)
			continue;
		for (t->guard_want = 0; t->guard_want < r->nwanted; t->guard_want++)
			if (strcmp(r->wanted[t->guard_want], t->guard_field) == 0)
				break;
		if (t->guard_want == r->nwanted)
			r->wanted[r->nwanted++] = t->guard_field;
	}
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
	if (f->len == x->last_len && memcmp(f->val, x->last, f->len) == 0)
		return x->last_list;
	s = index_slot(x, f->val, f->len, hash_bytes(f->val, f->len));
	if (f->len < NAME_KEPT) {
		x->last_len = f->len;
		memcpy(x->last, f->val, f->len);
		x->last_list = s->name ? &s->list : NULL;
	}
	return s->name ? &s->list : NULL;
}

/* ---- applying rules ----------------------------------------------------- */

/* Finds the wanted fields of ev in one pass over its fields, rather than
 * one ls_event_get() scan (with its strcmp calls) per name. */
static int wanted_index(const struct ls_rules *r, const char *name)
{
	uint64_t mask = r->first_mask[(unsigned char)name[0]];

	while (mask) {
		int k = __builtin_ctzll(mask);
		mask &= mask - 1;
		if (name[1] == r->wanted[k][1] && strcmp(name, r->wanted[k]) == 0)
			return k;
	}
	return -1;
}

/* wanted_index() through the memo (see struct ls_rules). */
static int wanted_memo(struct ls_rules *r, const struct ls_event *ev, const char *name)
{
	uintptr_t a = (uintptr_t)name;
	struct name_memo *m = &r->name_memo[(a >> 3 ^ a >> 10) & (NAME_MEMO - 1)];
	int k;

	if (m->name == name && m->c0 == name[0] && m->c1 == (name[0] ? name[1] : 0))
		return m->k;
	k = wanted_index(r, name);
	if (a - (uintptr_t)ev->arena >= ev->arena_cap) {
		m->name = name;
		m->c0 = name[0];
		m->c1 = name[0] ? name[1] : 0;
		m->k = (int8_t)k;
	}
	return k;
}

/* The layout slot for ev's field names: by their number and two names. */
static struct layout *layout_slot(struct ls_rules *r, const struct ls_event *ev)
{
	uintptr_t mid = (uintptr_t)ev->fields[ev->nfields / 2].name;
	uintptr_t last = (uintptr_t)ev->fields[ev->nfields - 1].name;

	return &r->layouts[((uintptr_t)ev->nfields * 7 + (mid >> 4) + (last >> 3)) &
			   (LAYOUTS - 1)];
}

/* 1 when ev's field names are those of L, in its order. */
static int layout_is(const struct layout *L, const struct ls_event *ev)
{
	if (L->n != ev->nfields)
		return 0;
	for (int i = 0; i < L->n; i++)
		if (ev->fields[i].name != L->names[i])
			return 0;
	return 1;
}

/* Finds the wanted fields of ev (the first field of each name), from a
 * layout when ev has a known one, else by name, then remembering ev's
 * layout when its names are all kept beyond the line (not in the arena). */
static void find_wanted(struct ls_rules *r, const struct ls_event *ev)
{
	struct layout *L = NULL;
	int keep;

	memset(r->found, 0, (size_t)r->nwanted * sizeof(*r->found));
	if (ev->nfields > 0 && ev->nfields <= LAYOUT_MAX) {
		L = layout_slot(r, ev);
		if (layout_is(L, ev)) {
			for (int j = 0; j < L->nfound; j++)
				r->found[L->found_k[j]] = &ev->fields[L->found_at[j]];
			goto unmasked;
		}
	}
	keep = L != NULL;
	if (L)
		L->n = L->nfound = 0;
	for (int i = 0; i < ev->nfields; i++) {
		const char *name = ev->fields[i].name;
		int k = wanted_memo(r, ev, name);
		if (k >= 0 && !r->found[k]) {
			r->found[k] = &ev->fields[i];
			if (keep) {
				L->found_at[L->nfound] = (uint8_t)i;
				L->found_k[L->nfound++] = (int8_t)k;
			}
		}
		if (keep) {
			L->names[i] = name;
			keep = (uintptr_t)name - (uintptr_t)ev->arena >= ev->arena_cap;
		}
	}
	if (keep)
		L->n = ev->nfields;
unmasked:
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
	struct ls_field *f;
	int added;

	if (l->n == 0)
		return 0;
	if (!(f = ls_event_slot(ev, name, &added)))
		return LS_ENOMEM;
	if (added || f->type != LS_F_LIST || f->len == 0) {
		f->val = l->joined;
		f->len = (uint32_t)l->joined_len;
		f->type = LS_F_LIST;
		f->own = 0;
		return 0;
	}
	for (int i = 0; i < l->n; i++)
		if (ls_event_list_add(ev, name, l->v[i]) < 0)
			return LS_ENOMEM;
	return 0;
}

/* What a rule hit and a threshold alert both set. */
static int set_meta(struct ls_event *ev, const struct meta *m)
{
	int rc = 0;

	rc |= ls_event_set_own(ev, "rule.id", m->id, m->id_len, LS_F_STR);
	rc |= ls_event_set_own(ev, "rule.name", m->name, m->name_len, LS_F_STR);
	if (m->category.n)
		rc |= ls_event_set_own(ev, "rule.category", m->category.v[0],
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
	if (ru->outcome && ls_event_set_own(ev, "event.outcome", ru->outcome,
					    strlen(ru->outcome), LS_F_STR) < 0)
		return LS_ENOMEM;
	return set_meta(ev, &ru->m);
}
/* 1 when rule ru hit ev (and tagged it), 0 when not, LS_ENOMEM. Only the
 * match: lines in lines run (its subject was found by gate_groups()). */
static int try_rule(struct ls_rules *r, const struct rule *ru, unsigned lines,
		    struct ls_event *ev)
{
	const struct subject_cache *c = &r->cache[ru->subject];

	if (ru->check_dataset && !field_in(r->found[WANT_DATASET], &ru->datasets))
		return 0;
	for (int i = 0; i < ru->nmatch; i++) {
		if (!(lines >> i & 1) || ls_matcher_exec(ru->match[i], c->s, c->len) <= 0)
			continue;
		if (apply_hit(ru, ru->match[i], ev) < 0)
			return LS_ENOMEM;
		return 1;
	}
	return 0;
}

/* 1 when gl's literal is at at (which holds enough bytes). Mostly the
 * first byte differs, so a loop beats a call to memcmp(). */
static int lit_at(const unsigned char *at, const struct group_lit *gl)
{
	const unsigned char *t = (const unsigned char *)gl->lit->text;
	uint32_t i = 0, n = gl->lit->len;

	if (gl->caseless)
		while (i < n && ascii_lower(at[i]) == t[i])
			i++;
	else
		while (i < n && at[i] == t[i])
			i++;
	return i == n;
}

/* Sets the bits of the literals of g with key byte p[i] that occur in s
 * (of len bytes) with that byte at i. */
static inline __attribute__((always_inline)) void
key_hit(const struct ls_rules *r, const struct scan_group *g, const unsigned char *p,
	size_t len, size_t i, uint64_t *bits)
{
	const struct group_lit *lits = r->glits + g->lit_first;
	const uint32_t *ids = r->bucket_ids + g->ids_first;

	for (unsigned k = g->key_first[p[i]]; k < g->key_first[p[i] + 1]; k++) {
		const struct group_lit *gl = &lits[ids[k]];
		const unsigned char *at = p + i - gl->key_off;
		uint32_t w;
		if (i < gl->key_off || gl->len > len - (i - gl->key_off))
			continue;
		if (gl->len >= 4) {
			memcpy(&w, at, sizeof(w));
			if ((gl->caseless ? w | 0x20202020u : w) != gl->head)
				continue;
		}
		if (lit_at(at, gl))
			bits[ids[k] >> 6] |= (uint64_t)1 << (ids[k] & 63);
	}
}

#if defined(__SSE2__)
/* keys_scan() for a group of at most SIMD_KEYS key bytes: sixteen bytes
 * compared with each key, and with the byte all literals with that key
 * have right after it (else right before it) when there is one, at a
 * time. Returns where the bytes left (fewer than seventeen) start. */
static size_t keys_scan16(const struct ls_rules *r, const struct scan_group *g,
			  const unsigned char *p, size_t len, uint64_t *bits)
{
	__m128i nkey[SIMD_KEYS], next[SIMD_KEYS], pkey[SIMD_KEYS], prev[SIMD_KEYS];
	__m128i key[SIMD_KEYS];
	int nn = 0, np = 0, nk = 0;
	size_t i = 1;

	if (len < 18)
		return 0;
	for (int k = 0; k < g->nkeys; k++) {
		if (g->next[g->keys[k]] >= 0) {
			nkey[nn] = _mm_set1_epi8((char)g->keys[k]);
			next[nn++] = _mm_set1_epi8((char)g->next[g->keys[k]]);
		} else if (g->prev[g->keys[k]] >= 0) {
			pkey[np] = _mm_set1_epi8((char)g->keys[k]);
			prev[np++] = _mm_set1_epi8((char)g->prev[g->keys[k]]);
		} else {
			key[nk++] = _mm_set1_epi8((char)g->keys[k]);
		}
	}
	if (g->is_key[p[0]])
		key_hit(r, g, p, len, 0, bits);
	for (; i + 17 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i vn = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 1));
		__m128i vp = _mm_loadu_si128((const __m128i *)(const void *)(p + i - 1));
		__m128i hit = _mm_setzero_si128();

		for (int k = 0; k < nn; k++)
			hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(v, nkey[k]),
							      _mm_cmpeq_epi8(vn, next[k])));
		for (int k = 0; k < np; k++)
			hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(v, pkey[k]),
							      _mm_cmpeq_epi8(vp, prev[k])));
		for (int k = 0; k < nk; k++)
			hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, key[k]));
		for (unsigned mask = (unsigned)_mm_movemask_epi8(hit); mask; mask &= mask - 1)
			key_hit(r, g, p, len, i + (size_t)__builtin_ctz(mask), bits);
	}
	return i;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_NIB_SCAN 1
#include <tmmintrin.h>
/* keys_scan() for a group whose key bytes are all ASCII, however many:
 * sixteen bytes classified at a time through its nibble tables (SSSE3,
 * checked at run time: ls_nibscan_usable() asks); where that is missing,
 * keys_scan16() takes groups of at most SIMD_KEYS key bytes. Returns where
 * the bytes left (fewer than sixteen) start. */
__attribute__((target("ssse3")))
static size_t keys_scan_nib16(const struct ls_rules *r, const struct scan_group *g,
			      const unsigned char *p, size_t len, uint64_t *bits)
{
	const __m128i lo_tab = _mm_loadu_si128((const __m128i *)(const void *)g->nib_lo);
	const __m128i hi_tab = _mm_loadu_si128((const __m128i *)(const void *)g->nib_hi);
	const __m128i low4 = _mm_set1_epi8(0x0f), zero = _mm_setzero_si128();
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i lo = _mm_shuffle_epi8(lo_tab, _mm_and_si128(v, low4));
		__m128i hi = _mm_shuffle_epi8(hi_tab, _mm_and_si128(_mm_srli_epi16(v, 4), low4));
		unsigned none = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(lo, hi),
									     zero));

		for (unsigned mask = ~none & 0xffffu; mask; mask &= mask - 1) {
			size_t at = i + (size_t)__builtin_ctz(mask);
			unsigned char c = p[at];
			/* the byte its literals all have next to the key is not there */
			if ((g->next[c] >= 0 && (at + 1 >= len || p[at + 1] != g->next[c])) ||
			    (g->prev[c] >= 0 && (at == 0 || p[at - 1] != g->prev[c])))
				continue;
			key_hit(r, g, p, len, at, bits);
		}
	}
	return i;
}
#endif

/* Sets the bits of the literals of g that occur in s: at each byte that
 * is a key, the literals with that key are compared there. */
static void keys_scan(const struct ls_rules *r, const struct scan_group *g,
		      const char *s, size_t len, uint64_t *bits)
{
	const unsigned char *p = (const unsigned char *)s;
	const uint8_t *is_key = g->is_key;
	size_t i = 0;

#if defined(HAVE_NIB_SCAN)
	if (g->nib_ok && !r->no_ssse3 && ls_nibscan_usable())
		i = keys_scan_nib16(r, g, p, len, bits);
	else
#endif
#if defined(__SSE2__)
	if (g->nkeys)
		i = keys_scan16(r, g, p, len, bits);
#endif
	for (;;) {
		/* most bytes are no key: skip them eight at a time */
		while (i + 8 <= len &&
		       !(is_key[p[i]] | is_key[p[i + 1]] | is_key[p[i + 2]] | is_key[p[i + 3]] |
			 is_key[p[i + 4]] | is_key[p[i + 5]] | is_key[p[i + 6]] | is_key[p[i + 7]]))
			i += 8;
		while (i < len && !is_key[p[i]])
			i++;
		if (i >= len)
			return;
		/* the byte its literals all have next to the key is not there */
		if ((g->next[p[i]] >= 0 && (i + 1 >= len || p[i + 1] != g->next[p[i]])) ||
		    (g->prev[p[i]] >= 0 && (i == 0 || p[i - 1] != g->prev[p[i]]))) {
			i++;
			continue;
		}
		key_hit(r, g, p, len, i, bits);
		i++;
	}
}

/* Whether lit[0..n) (n >= 1) occurs in s[0..len), case and all: the
 * first byte found by memchr, the rest compared. For the short texts and
 * literals of a confirmation this beats memmem()'s set-up. */
static int occurs(const char *s, size_t len, const char *lit, size_t n)
{
	const char *p = s, *last;

	if (n > len)
		return 0;
	last = s + (len - n);
	while (p <= last && (p = memchr(p, lit[0], (size_t)(last - p) + 1)) != NULL) {
		if (memcmp(p + 1, lit + 1, n - 1) == 0)
			return 1;
		p++;
	}
	return 0;
}

/* Sets the bits of the literals of g that occur in s, with the automaton
 * (caseless: the hits of a literal whose case matters are confirmed). */
static void ac_scan(const struct ls_rules *r, const struct scan_group *g,
		    const char *s, size_t len, uint64_t *bits)
{
	size_t words = lit_words(g->nlit);

	if (!ls_ac_scan(g->ac, s, len, bits, (int)words))
		return;
	for (size_t w = 0; w < words; w++) {
		for (uint64_t b = bits[w]; b; b &= b - 1) {
			int bit = __builtin_ctzll(b);
			const struct group_lit *gl = &r->glits[g->lit_first + w * 64 + bit];
			if (gl->exact && gl->lit->len > 0 &&
			    !occurs(s, len, gl->lit->text, gl->lit->len))
				bits[w] &= ~((uint64_t)1 << bit);
		}
	}
}

/* Counts the bytes of the first KEY_SAMPLE subjects of g, then gives its
 * literals the keys rarest in them: the subjects of a group come from one
 * program or dataset, and what is rare there differs (capitals in user
 * agents, digits in syslog messages). */
static void keys_sample(struct ls_rules *r, struct scan_group *g, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		g->freq[(unsigned char)s[i]]++;
	if (++g->sampled < KEY_SAMPLE)
		return;
	if (g->nib) {
		nib_weigh(g, g->freq);
		/* a literal compared costs a few cycles, as the other scans
		 * do per byte: with many compared, they are cheaper */
		if (ls_nibscan_compares(g->nib, g->freq) > NIB_COMPARES_MAX) {
			ls_nibscan_free(g->nib);
			g->nib = NULL;
		}
	}
	if (g->use_ac)
		return;
	keys_choose(r, g, g->freq);
	buckets_fill(r, g);
}

/* The literal bits of group g on subject c: from the memo when c's text
 * was scanned lately (compared byte for byte, so a hash collision cannot
 * change an outcome), else from one scan, remembered when short. */
static const uint64_t *group_scan(struct ls_rules *r, struct scan_group *g,
				  const struct subject_cache *c)
{
	size_t words = lit_words(g->nlit);
	uint64_t hash, *bits = r->hits;
	struct scan_memo *m = NULL;

	if (!g->ready)
		group_ready(r, g);
	if (g->all_found) {
		for (size_t w = 0; w < words; w++)
			bits[w] = w + 1 < words || g->nlit % 64 == 0 ? UINT64_MAX :
				  ((uint64_t)1 << (g->nlit % 64)) - 1;
		return bits;
	}
	if (g->memo && g->memo_rest > 0)
		g->memo_rest--;
	else if (g->memo && c->len > 0 && c->len <= MEMO_TEXT) {
		if (++g->memo_tries == MEMO_PERIOD) {
			if (g->memo_found < MEMO_PERIOD / MEMO_MIN_RATE)
				g->memo_rest = MEMO_PERIOD * 16;
			g->memo_tries = g->memo_found = 0;
		}
		hash = XXH3_64bits(c->s, c->len);
		m = &g->memo[(hash & (MEMO_SLOTS / 2 - 1)) * 2];
		for (int way = 0; way < 2; way++, m++) {
			if (m->len == c->len && m->hash == hash &&
			    memcmp(g->memo_text[m - g->memo], c->s, c->len) == 0) {
				m->used = ++g->memo_clock;
				g->memo_found++;
				return g->memo_hits + (size_t)(m - g->memo) * words;
			}
		}
		m -= 2;
		if (m[1].used < m[0].used)
			m++;
		bits = g->memo_hits + (size_t)(m - g->memo) * words;
		m->used = ++g->memo_clock;
		m->hash = hash;
		m->len = (uint32_t)c->len;
		memcpy(g->memo_text[m - g->memo], c->s, c->len);
	}
	memset(bits, 0, words * sizeof(*bits));
	if (g->sampled < KEY_SAMPLE && g->freq)
		keys_sample(r, g, c->s, c->len);
	if (g->nib && !r->no_ssse3 && ls_nibscan_usable()) {
		ls_nibscan_scan(g->nib, c->s, c->len, bits);
		return bits;
	}
	if (g->use_ac) {
		ac_scan(r, g, c->s, c->len, bits);
		return bits;
	}
	keys_scan(r, g, c->s, c->len, bits);
	return bits;
}

/* Lets the match: lines in lines of rule id run. */
static void mark(struct ls_rules *r, uint32_t id, uint8_t lines)
{
	if (!r->run[id])
		r->marked[r->nmarked++] = id;
	r->run[id] |= lines;
}

/* Sets in r->run the match: lines that may hit for the groups lg[0..n):
 * all lines of a rule without literals whose subject exists, and those
 * the literals found in it gate. */
static void gate_groups(struct ls_rules *r, const uint32_t *lg, uint32_t n,
			struct ls_event *ev)
{
	for (uint32_t k = 0; k < n; k++) {
		struct scan_group *g = &r->groups[lg[k]];
		const struct subject_cache *c = subject_get(r, g->subject, ev);
		const struct group_lit *gl = r->glits + g->lit_first;
		const uint32_t *open = r->group_rules + g->open_first;
		const uint64_t *bits;
		if (!c->s)
			continue;
		for (uint32_t i = 0; i < g->nopen; i++)
			mark(r, open[i], UINT8_MAX);
		if (!g->nlit)
			continue;
		bits = group_scan(r, g, c);
		for (size_t w = 0; w < lit_words(g->nlit); w++) {
			for (uint64_t b = bits[w]; b; b &= b - 1) {
				const struct group_lit *hit = &gl[w * 64 + __builtin_ctzll(b)];
				mark(r, hit->rule, hit->lines);
			}
		}
	}
}

/* Tries the marked rules in the order they were added (rule index order;
 * there are few), then unmarks them all. */
static int walk(struct ls_rules *r, struct ls_event *ev)
{
	uint32_t *m = r->marked;
	int rc = 0;

	for (uint32_t i = 1; i < r->nmarked; i++)
		for (uint32_t k = i; k > 0 && m[k - 1] > m[k]; k--) {
			uint32_t id = m[k];
			m[k] = m[k - 1];
			m[k - 1] = id;
		}
	for (uint32_t i = 0; i < r->nmarked && rc == 0; i++)
		rc = try_rule(r, r->rules[m[i]], r->run[m[i]], ev);
	for (uint32_t i = 0; i < r->nmarked; i++)
		r->run[m[i]] = 0;
	r->nmarked = 0;
	return rc;
}

/* The routing value of an event without event.dataset. */
static const struct ls_field no_dataset = {"event.dataset", "none", 4, LS_F_STR, 1};

/* Tries the candidate rules of ev in the order they were added. A dataset
 * list beside a program list adds the groups of its own rules only: the
 * program list has the global ones. */
/* Makes *arr hold at least n elements of size (it holds have). 0 or
 * LS_ENOMEM (*arr unchanged). */
static int room_for(void *arr, size_t have, size_t n, size_t size)
{
	void *p;

	if (n <= have)
		return 0;
	p = realloc(*(void **)arr, n * size);
	if (!p)
		return LS_ENOMEM;
	*(void **)arr = p;
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Appends the rule ids of the groups lg[0..n) on subject k to ids. */
static uint32_t subject_rules(const struct ls_rules *r, const uint32_t *lg, uint32_t n,
			      uint32_t k, uint32_t *ids, uint32_t at)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct scan_group *g = &r->groups[lg[i]];
		if (g->subject != k)
			continue;
		memcpy(ids + at, r->group_rules + g->rule_first, g->nrules * sizeof(*ids));
		at += g->nrules;
	}
	return at;
}

/* Gives pr (for lists p and d) its groups: per subject, one of the rules
 * of p's groups and d's own ones. The group arrays were cut to size when
 * built, so they grow here. 0 or LS_ENOMEM. */
static int pair_make(struct ls_rules *r, struct pair *pr)
{
	uint32_t *ids = malloc(((size_t)r->nrules + 1) * sizeof(*ids));
	int rc = LS_ENOMEM;

	if (!ids)
		return LS_ENOMEM;
	pr->first = r->nlist_groups;
	for (uint32_t k = 0; k < (uint32_t)r->nsubjects; k++) {
		uint32_t n = subject_rules(r, r->list_groups + pr->p->group_first,
					   pr->p->group_n, k, ids, 0), u = 0;
		size_t nlits = 0;
		n = subject_rules(r, r->list_groups + pr->d->own_first, pr->d->own_n, k, ids, n);
		if (n == 0)
			continue;
		qsort(ids, n, sizeof(*ids), id_cmp);
		for (uint32_t i = 0; i < n; i++)
			if (u == 0 || ids[u - 1] != ids[i])
				ids[u++] = ids[i];
		for (uint32_t i = 0; i < u; i++)
			nlits += (size_t)r->rules[ids[i]]->nlit;
		if (room_for(&r->groups, r->ngroups, r->ngroups + 1, sizeof(*r->groups)) < 0 ||
		    room_for(&r->list_groups, r->nlist_groups, r->nlist_groups + 1,
			     sizeof(*r->list_groups)) < 0 ||
		    room_for(&r->group_rules, r->ngroup_rules, r->ngroup_rules + 2 * (size_t)u,
			     sizeof(*r->group_rules)) < 0 ||
		    room_for(&r->glits, r->nglits, r->nglits + nlits, sizeof(*r->glits)) < 0 ||
		    room_for(&r->bucket_ids, r->nbucket_ids, r->nbucket_ids + 2 * nlits,
			     sizeof(*r->bucket_ids)) < 0 ||
		    room_for(&r->hits, r->max_lit_words + 1, lit_words(nlits) + 1,
			     sizeof(*r->hits)) < 0)
			goto out;
		if (group_fill(r, k, ids, u) < 0)
			goto out;
		r->list_groups[r->nlist_groups++] = r->ngroups - 1;
	}
	pr->n = r->nlist_groups - pr->first;
	rc = 0;
out:
	free(ids);
	return rc;
}

/* The merged groups of lists p and d, made at their first meeting; NULL
 * when there is no room for another pair or no memory: the caller then
 * scans p's groups and d's own ones one after the other. */
static const struct pair *pair_get(struct ls_rules *r, const struct cand_list *p,
				   const struct cand_list *d)
{
	uintptr_t h = ((uintptr_t)p >> 4) * 31 + ((uintptr_t)d >> 4);
	struct pair *pr;

	for (uint32_t i = 0; i < PAIRS; i++) {
		pr = &r->pairs[(h + i) & (PAIRS - 1)];
		if (pr->p == p && pr->d == d)
			return pr->n ? pr : NULL;
		if (pr->p)
			continue;
		if (r->npairs == PAIRS / 2)
			return NULL;
		r->npairs++;
		pr->p = p;
		pr->d = d;
		if (pair_make(r, pr) < 0)
			pr->n = 0;
		return pr->n ? pr : NULL;
	}
	return NULL;
}

static int tag_event(struct ls_rules *r, struct ls_event *ev)
{
	const struct cand_list *p, *d;
	const struct pair *pr;

	find_wanted(r, ev);
	/* lines no format parsed route as the dataset "none" */
	if (!r->found[WANT_DATASET])
		r->found[WANT_DATASET] = &no_dataset;
	p = index_find(&r->programs, r->found[WANT_PROGRAM]);
	d = index_find(&r->datasets, r->found[WANT_DATASET]);
	if (!p) {
		p = d ? d : &r->global;
		d = NULL;
	}
	if (d && d->own_n && (pr = pair_get(r, p, d)) != NULL) {
		gate_groups(r, r->list_groups + pr->first, pr->n, ev);
		return walk(r, ev);
	}
	gate_groups(r, r->list_groups + p->group_first, p->group_n, ev);
	if (d)
		gate_groups(r, r->list_groups + d->own_first, d->own_n, ev);
	return walk(r, ev);
}

/* ---- thresholds --------------------------------------------------------- */

static uint32_t slot_bucket(const struct threshold *t, uint64_t hash)
{
	return (uint32_t)(((hash >> 32) * (uint64_t)t->nbuckets) >> 32);
}

static int slot_is(const struct thr_slot *s, const char *key, size_t len)
{
	size_t kept = len < THR_KEY_MAX ? len : THR_KEY_MAX;

	return s->key_len == kept && memcmp(s->key, key, kept) == 0;
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
		if (t->hashes[i] == h && slot_is(&t->slots[i], key, len)) {
			*idx = i;
			return &t->slots[i];
		}
	}
	for (size_t i = base; i < base + THR_WAYS && t->hashes[pick]; i++)
		if (!t->hashes[i] || t->lasts[i] < t->lasts[pick])
			pick = i;
	s = &t->slots[pick];
	t->hashes[pick] = h;
	t->lasts[pick] = now_ms;
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
	s->head = (uint16_t)(s->head + 1 == t->count ? 0 : s->head + 1);
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

	ls_event_reset(alert);
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

static int guard_test(const struct guard *g, long v)
{
	switch (g->op) {
	case GUARD_GT: return v > g->value;
	case GUARD_GE: return v >= g->value;
	case GUARD_LT: return v < g->value;
	default: return v <= g->value;
	}
}

/* 0 when t's guards rule ev out: its field f is missing, or a plain whole
 * number failing a test; 2 when such a number passes them all and they
 * are all of t's on: lines; else 1: the where-expression has to decide. */
static int guard_passes(const struct threshold *t, const struct ls_field *f)
{
	long v = 0;

	if (!f)
		return 0;
	if (f->type == LS_F_LIST || f->len == 0 || f->len > 9)
		return 1;
	for (uint32_t i = 0; i < f->len; i++) {
		if (f->val[i] < '0' || f->val[i] > '9')
			return 1;
		v = v * 10 + (f->val[i] - '0');
	}
	for (int i = 0; i < t->nguards; i++)
		if (!guard_test(&t->guards[i], v))
			return 0;
	return t->nguards == t->non ? 2 : 1;
}

/* Counts ev in t; fills alert when it fires (unless an alert is pending).
 * found: ev's wanted fields, when no rule changed ev since they were
 * found (else NULL). */
static int feed_threshold(struct threshold *t, struct ls_event *ev,
			  const struct ls_field *const *found, struct ls_event *alert,
			  int *alerted)
{
	const struct ls_field *key, *value = NULL;
	struct thr_slot *s;
	size_t idx;
	int fired, guarded = 1;

	if (t->guard_field && found && !(guarded = guard_passes(t, found[t->guard_want])))
		return 0;
	if (t->guard_tag && !ls_event_has_tag(ev, t->guard_tag))
		return 0;
	/* on: first: it usually is a cheap tag test that most events fail */
	if (t->on && guarded != 2 && !ls_where_match(t->on, ev))
		return 0;
	key = ls_event_get(ev, t->key);
	if (!key || key->len == 0)
		return 0;
	if (t->distinct && !(value = ls_event_get(ev, t->distinct)))
		return 0;
	s = slot_get(t, key->val, key->len, ev->ts_ms, &idx);
	if (ev->ts_ms > t->lasts[idx])
		t->lasts[idx] = ev->ts_ms;
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
	for (int i = 0; i < r->nthr; i++) {
		/* most events have no tag: a tag guard rules them out at once */
		if (r->thr[i]->guard_tag && ev->ntags == 0)
			continue;
		if (feed_threshold(r->thr[i], ev, hit ? NULL : r->found, alert, alerted) < 0)
			return LS_ENOMEM;
	}
	return hit;
}

int ls_rules_prepare(struct ls_rules *r)
{
	return r->dirty ? build_index(r) : 0;
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

/* The scan groups: their automata, memos and tables. */
static size_t groups_memory(const struct ls_rules *r)
{
	size_t n = ((size_t)r->ngroups + 1) * sizeof(*r->groups) +
		   ((size_t)r->nlist_groups + 1) * sizeof(*r->list_groups) +
		   ((size_t)r->ngroup_rules + 1) * sizeof(*r->group_rules) +
		   ((size_t)r->nglits + 1) * sizeof(*r->glits) +
		   ((size_t)r->max_lit_words + 1) * sizeof(*r->hits) +
		   ((size_t)r->nrules + 1) * (sizeof(*r->run) + sizeof(*r->marked));

	for (uint32_t k = 0; k < r->ngroups; k++) {
		const struct scan_group *g = &r->groups[k];
		if (!g->nlit || !g->ready)
			continue;
		n += (g->ac ? ls_ac_memory(g->ac) : 0) + (g->freq ? 256 * sizeof(*g->freq) : 0) +
		     ls_nibscan_memory(g->nib) +
		     (g->memo ? MEMO_SLOTS * (sizeof(*g->memo) + sizeof(*g->memo_text)) +
				MEMO_SLOTS * lit_words(g->nlit) * sizeof(*g->memo_hits) : 0);
	}
	return n;
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
		     (t->guard_field ? strlen(t->guard_field) + 1 : 0) +
		     threshold_table_bytes(t);
	}
	for (int i = 0; i < r->ntech; i++)
		n += sizeof(r->tech[i]) + strlen(r->tech[i].id) + strlen(r->tech[i].name) + 2;
	n += index_memory(&r->programs) + index_memory(&r->datasets);
	if (r->cand_ids)
		n += (r->ncand_ids + 1) * sizeof(*r->cand_ids) +
		     ((size_t)r->nrules + WANT_SUBJECTS + 1) *
		     (sizeof(*r->wanted) + sizeof(*r->found)) +
		     (size_t)r->nsubjects * sizeof(*r->cache) + groups_memory(r);
	return n;
}

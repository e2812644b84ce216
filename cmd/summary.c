/* summary.c - the Markdown summary (see summary.h).
 *
 * The top sources are counted in a fixed table of LS_SUMMARY_MAX_SOURCES
 * entries found through an open-addressing hash (linear probing, at most
 * half full). When a new source arrives and the table is full, the source
 * with the fewest events among a few sampled entries is replaced and the
 * newcomer inherits its count plus one (the Space-Saving scheme): a source
 * that is frequent overall stays in the table, and a count is exact
 * unless its entry was inherited, when it is an upper bound. */
#include "summary.h"
#include "output.h"

#include "../parsers/json_out.h"
#include "../parsers/patfile.h"
#include "../parsers/timestamp.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SLOTS (2 * LS_SUMMARY_MAX_SOURCES) /* a power of two */
#define IP_MAX 64        /* longer source.ip values are not addresses */
#define RULE_ID_MAX 64
#define EVICT_SAMPLES 8
/* a cut message: LS_SUMMARY_MESSAGE_CHARS characters of up to 4 bytes */
#define MESSAGE_MAX (4 * LS_SUMMARY_MESSAGE_CHARS)

struct source {
	uint64_t hash;
	uint64_t events, findings; /* findings: events at level low or above */
	uint64_t inherited;        /* events counted before this source had the entry */
	char ip[IP_MAX];
};

struct sample {
	int64_t ts_ms;
	char ip[IP_MAX];
	char message[MESSAGE_MAX];
	uint16_t message_len;
	uint8_t cut;
};

struct rule {
	char id[RULE_ID_MAX];
	int level;
	uint64_t events;
	int nsamples;
	struct sample samples[LS_SUMMARY_SAMPLES];
};

struct ls_summary {
	uint64_t by_level[6];          /* event.severity 0 (none) .. 5 */
	struct rule rules[LS_SUMMARY_MAX_RULES];
	int nrules;
	uint64_t untracked_rule_events; /* of rules past LS_SUMMARY_MAX_RULES */
	struct source sources[LS_SUMMARY_MAX_SOURCES];
	uint16_t slots[SLOTS];         /* index into sources + 1; 0: empty */
	int nsources;
	uint64_t replaced;             /* sources replaced in a full table */
	uint64_t rng;                  /* fixed seed: the same input, the same summary */
};

int ls_summary_new(struct ls_summary **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return LS_ENOMEM;
	(*out)->rng = 0x9e3779b97f4a7c15ULL;
	return 0;
}

void ls_summary_free(struct ls_summary *s)
{
	free(s);
}

/* ---- the source table ------------------------------------------------- */

static size_t home_slot(uint64_t hash)
{
	return (size_t)hash & (SLOTS - 1);
}

/* The slot holding ip, or the empty slot where it would go. */
static size_t find_slot(const struct ls_summary *s, const char *ip, size_t len, uint64_t hash)
{
	size_t i = home_slot(hash);

	while (s->slots[i]) {
		const struct source *e = &s->sources[s->slots[i] - 1];
		if (e->hash == hash && strlen(e->ip) == len && memcmp(e->ip, ip, len) == 0)
			break;
		i = (i + 1) & (SLOTS - 1);
	}
	return i;
}

/* Empties slot i, moving later entries of the probe run back so every
 * entry stays reachable from its home slot (no tombstones). */
static void remove_slot(struct ls_summary *s, size_t i)
{
	size_t j = i;

	s->slots[i] = 0;
	for (;;) {
		size_t k;
		j = (j + 1) & (SLOTS - 1);
		if (!s->slots[j])
			return;
		k = home_slot(s->sources[s->slots[j] - 1].hash);
		/* the entry at j may move to i unless its home lies in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = 0;
			i = j;
		}
	}
}

/* The entry with the fewest events among a few pseudo-random ones. */
static int least_seen_sample(struct ls_summary *s)
{
	int best = -1;

	for (int n = 0; n < EVICT_SAMPLES; n++) {
		int idx;
		s->rng ^= s->rng << 13;
		s->rng ^= s->rng >> 7;
		s->rng ^= s->rng << 17;
		idx = (int)(s->rng % LS_SUMMARY_MAX_SOURCES);
		if (best < 0 || s->sources[idx].events < s->sources[best].events)
			best = idx;
	}
	return best;
}

static void count_source(struct ls_summary *s, const char *ip, size_t len, int finding)
{
	uint64_t hash = XXH3_64bits(ip, len);
	size_t slot = find_slot(s, ip, len, hash);
	struct source *e;
	uint64_t inherited = 0;
	int idx;

	if (s->slots[slot]) {
		e = &s->sources[s->slots[slot] - 1];
	} else {
		if (s->nsources < LS_SUMMARY_MAX_SOURCES) {
			idx = s->nsources++;
		} else {
			idx = least_seen_sample(s);
			inherited = s->sources[idx].events;
			remove_slot(s, find_slot(s, s->sources[idx].ip, strlen(s->sources[idx].ip),
						 s->sources[idx].hash));
			slot = find_slot(s, ip, len, hash);
			s->replaced++;
		}
		e = &s->sources[idx];
		memcpy(e->ip, ip, len);
		e->ip[len] = '\0';
		e->hash = hash;
		e->events = inherited;
		e->inherited = inherited;
		e->findings = 0;
		s->slots[slot] = (uint16_t)(idx + 1);
	}
	e->events++;
	if (finding)
		e->findings++;
}

/* ---- rules and their first events ------------------------------------- */

/* The length of the first max_chars characters of s (an invalid byte is
 * one character). */
static size_t cut_chars(const char *s, size_t len, int max_chars, int *cut)
{
	size_t i = 0;
	int chars = 0;

	while (i < len && chars < max_chars) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (n > 1 && (i + n > len || !ls_utf8_valid(s + i, n)))
			n = 1;
		i += n;
		chars++;
	}
	*cut = i < len;
	return i;
}

static void keep_sample(struct rule *r, const struct ls_event *ev)
{
	struct sample *sm = &r->samples[r->nsamples++];
	const struct ls_field *ip = ls_event_get(ev, "source.ip");
	const char *msg;
	size_t len;
	char tmp[64];
	int cut;

	sm->ts_ms = ev->ts_ms;
	sm->ip[0] = '\0';
	if (ip && ip->len < IP_MAX) {
		memcpy(sm->ip, ip->val, ip->len);
		sm->ip[ip->len] = '\0';
	}
	if (!ls_output_field(ev, "message", tmp, &msg, &len))
		len = 0;
	len = cut_chars(msg, len, LS_SUMMARY_MESSAGE_CHARS, &cut);
	memcpy(sm->message, msg, len);
	sm->message_len = (uint16_t)len;
	sm->cut = (uint8_t)cut;
}

static void count_rule(struct ls_summary *s, const struct ls_event *ev,
		       const struct ls_field *rid)
{
	int i;

	for (i = 0; i < s->nrules; i++)
		if (strlen(s->rules[i].id) == rid->len &&
		    memcmp(s->rules[i].id, rid->val, rid->len) == 0)
			break;
	if (i == s->nrules) {
		if (i == LS_SUMMARY_MAX_RULES || rid->len >= RULE_ID_MAX) {
			s->untracked_rule_events++;
			return;
		}
		memcpy(s->rules[i].id, rid->val, rid->len);
		s->rules[i].id[rid->len] = '\0';
		s->rules[i].level = ev->severity;
		s->nrules++;
	}
	s->rules[i].events++;
	if (s->rules[i].nsamples < LS_SUMMARY_SAMPLES)
		keep_sample(&s->rules[i], ev);
}

void ls_summary_add(struct ls_summary *s, const struct ls_event *ev)
{
	const struct ls_field *rid = ls_event_get(ev, "rule.id");
	const struct ls_field *ip = ls_event_get(ev, "source.ip");

	s->by_level[ev->severity >= 0 && ev->severity <= 5 ? ev->severity : 0]++;
	if (rid)
		count_rule(s, ev, rid);
	if (ip && ip->len > 0 && ip->len < IP_MAX)
		count_source(s, ip->val, ip->len, ev->severity >= 2);
}

/* ---- writing ------------------------------------------------------------ */

void ls_summary_escape(struct ls_buf *b, const char *s, size_t len, int max_chars)
{
	static const char hex[] = "0123456789ABCDEF";
	int cut = 0;

	if (max_chars > 0)
		len = cut_chars(s, len, max_chars, &cut);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			if (n && i + n <= len && ls_utf8_valid(s + i, n)) {
				/* C1 controls (U+0080..U+009F) are dropped too */
				if (!(c == 0xc2 && (unsigned char)s[i + 1] < 0xa0))
					ls_buf_append(b, s + i, n);
				i += n - 1;
			} else {
				char x[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
				ls_buf_append(b, x, 4);
			}
		} else if (c == '\t' || c == '\n' || c == '\r') {
			ls_buf_putc(b, ' ');
		} else if (c < 0x20 || c == 0x7f) {
			continue;
		} else {
			/* "|" ends a table cell, "`" opens code, the rest format
			 * text, open links or HTML, or start math ("$") */
			if (strchr("\\`|*_[]<>~&$", c))
				ls_buf_putc(b, '\\');
			ls_buf_putc(b, (char)c);
		}
	}
	if (cut)
		ls_buf_puts(b, "…");
}

static int by_events_desc(const void *a, const void *b)
{
	const struct source *x = *(const struct source *const *)a;
	const struct source *y = *(const struct source *const *)b;

	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

static void write_levels(const struct ls_summary *s, struct ls_buf *b)
{
	int any = 0;

	ls_buf_puts(b, "\n## Levels\n\n");
	for (int level = 5; level >= 1; level--) {
		if (!s->by_level[level])
			continue;
		if (!any)
			ls_buf_puts(b, "| level | events |\n|---|---:|\n");
		any = 1;
		ls_buf_printf(b, "| %s | %llu |\n", ls_level_name(level),
			      (unsigned long long)s->by_level[level]);
	}
	if (!any)
		ls_buf_puts(b, "No event reached a level.\n");
}

static void write_sources(const struct ls_summary *s, struct ls_buf *b)
{
	const struct source *order[LS_SUMMARY_MAX_SOURCES];
	int n = s->nsources;

	ls_buf_puts(b, "\n## Top sources\n\n");
	if (n == 0) {
		ls_buf_puts(b, "No event names a source.ip.\n");
		return;
	}
	for (int i = 0; i < n; i++)
		order[i] = &s->sources[i];
	qsort(order, (size_t)n, sizeof(order[0]), by_events_desc);
	ls_buf_puts(b, "| source.ip | events | findings |\n|---|---:|---:|\n");
	for (int i = 0; i < n && i < LS_SUMMARY_TOP_SOURCES; i++) {
		ls_buf_puts(b, "| ");
		ls_summary_escape(b, order[i]->ip, strlen(order[i]->ip), 0);
		if (order[i]->inherited)
			ls_buf_printf(b, " | ≤ %llu | ≤ %llu |\n",
				      (unsigned long long)order[i]->events,
				      (unsigned long long)(order[i]->findings + order[i]->inherited));
		else
			ls_buf_printf(b, " | %llu | %llu |\n", (unsigned long long)order[i]->events,
				      (unsigned long long)order[i]->findings);
	}
	if (s->replaced)
		ls_buf_printf(b, "\nMore than %d distinct sources: the ranking is approximate, "
			      "\"≤\" marks an upper bound.\n", LS_SUMMARY_MAX_SOURCES);
	else if (n > LS_SUMMARY_TOP_SOURCES)
		ls_buf_printf(b, "\n%d distinct sources, %d shown.\n", n, LS_SUMMARY_TOP_SOURCES);
}

/* Rules by level (highest first), then events, then name. */
static int by_level_desc(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a;
	const struct rule *y = *(const struct rule *const *)b;

	if (x->level != y->level)
		return x->level > y->level ? -1 : 1;
	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void write_rules(const struct ls_summary *s, struct ls_buf *b)
{
	const struct rule *order[LS_SUMMARY_MAX_RULES];
	char ts[64];

	ls_buf_puts(b, "\n## Security findings\n\n");
	if (s->nrules == 0) {
		ls_buf_puts(b, "None.\n");
		return;
	}
	for (int i = 0; i < s->nrules; i++)
		order[i] = &s->rules[i];
	qsort(order, (size_t)s->nrules, sizeof(order[0]), by_level_desc);
	ls_buf_puts(b, "| rule | level | events |\n|---|---|---:|\n");
	for (int i = 0; i < s->nrules; i++)
		ls_buf_printf(b, "| %s | %s | %llu |\n", order[i]->id,
			      ls_level_name(order[i]->level), (unsigned long long)order[i]->events);
	if (s->untracked_rule_events)
		ls_buf_printf(b, "\n%llu more events of rules past the first %d are not listed.\n",
			      (unsigned long long)s->untracked_rule_events, LS_SUMMARY_MAX_RULES);
	ls_buf_printf(b, "\n## First events by rule\n\n"
		      "| rule | @timestamp | source.ip | message |\n|---|---|---|---|\n");
	for (int i = 0; i < s->nrules; i++) {
		const struct rule *r = order[i];
		for (int k = 0; k < r->nsamples; k++) {
			const struct sample *sm = &r->samples[k];
			ls_ts_format(sm->ts_ms, ts);
			ls_buf_printf(b, "| %s | %s | ", r->id, ts);
			ls_summary_escape(b, sm->ip, strlen(sm->ip), 0);
			ls_buf_puts(b, " | ");
			ls_summary_escape(b, sm->message, sm->message_len, 0);
			if (sm->cut)
				ls_buf_puts(b, "…");
			ls_buf_puts(b, " |\n");
		}
	}
}

int ls_summary_write(const struct ls_summary *s, struct ls_pipeline *p, uint64_t printed,
		     struct ls_buf *b)
{
	const struct ls_pipeline_stats *st = ls_pipeline_stats(p);
	struct ls_catalog *cat = ls_pipeline_catalog(p);

	ls_buf_printf(b, "# logship summary\n\n| lines | events | unparsed | alerts |\n"
		      "|---:|---:|---:|---:|\n| %llu | %llu | %llu | %llu |\n\n"
		      "## Formats\n\n", (unsigned long long)st->lines,
		      (unsigned long long)printed, (unsigned long long)st->unparsed,
		      (unsigned long long)st->alerts);
	int any = 0;
	for (int i = 0; i < ls_formats_count(cat->formats); i++) {
		if (!ls_pipeline_format_count(p, i))
			continue;
		if (!any)
			ls_buf_puts(b, "| format | events |\n|---|---:|\n");
		any = 1;
		ls_buf_printf(b, "| %s | %llu |\n", ls_formats_name(cat->formats, i),
			      (unsigned long long)ls_pipeline_format_count(p, i));
	}
	if (!any)
		ls_buf_puts(b, "No line was parsed.\n");
	write_levels(s, b);
	write_sources(s, b);
	write_rules(s, b);
	/* ls_buf_* stop growing at the cap: a short buffer means one failed */
	return b->len && b->data[b->len - 1] == '\n' ? 0 : LS_ENOMEM;
}

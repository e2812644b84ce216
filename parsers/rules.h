/* rules.h - security tagging: rule entries ("rule NAME") matched against
 * parsed events, and threshold entries ("threshold NAME") that count hits per
 * key in a bounded table and emit alert events.
 *
 * Rule entry properties (patterns/NAME.pattern, see patfile.h):
 *   name: Human readable name            (rule.name)
 *   program: sshd sshd-session           (any of; matches process.name) optional
 *   dataset: nginx.access apache.access  (any of; matches event.dataset;
 *                                        "none": lines no format parsed) optional
 *   field: url.original                  subject field (default message);
 *                                        "url.original" etc are matched
 *                                        percent-decoded ("+" as space)
 *   literal: Failed password             a prefilter, repeatable: a match:
 *                                        regex runs only when a literal it
 *                                        needs occurs in the subject
 *                                        (caseless when a match uses (?i));
 *                                        one that implies no literal, when
 *                                        any of the rule's occurs. Without
 *                                        any, the strings the match: regexes
 *                                        require are used; a match: line the
 *                                        literals are not shown to cover adds
 *                                        its own (see ls_rules_widened())
 *   match: REGEX-or-grok                 repeatable; first matching one wins;
 *                                        named groups set fields
 *   category: authentication             event.category (list, space separated)
 *   type: start                          event.type (list)
 *   outcome: failure                     event.outcome
 *   level: low                           informational|low|medium|high|critical
 *   technique: T1110.001                 threat.technique.id (space separated)
 *   tags: security auth_failure          added to tags
 *   example: <a full log line>           parsed with -f auto, must hit this rule
 *   expect: field=value                  after an example: a field it must give
 *   counterexample: <line>               must not hit this rule
 *
 * Threshold entry properties:
 *   name:, level:, technique:, tags:, category:, type:
 *   on: tag:auth_failure                 a where-expression (where.h) selecting
 *                                        events that count; repeatable (ANDed)
 *   key: source.ip                       the field counted per value
 *   distinct: user.name                  optional: count distinct values of this
 *   count: 5                             alert when the count reaches this
 *   window: 60                           seconds, by the events' own @timestamp
 *   capacity: 65536                      keys kept at most (stalest evicted)
 *
 * Both kinds also accept description:, example:, expect: and
 * counterexample: (used by `logship patterns test`); any other property is
 * an error. level: is required; a rule needs a match:, and a rule with
 * neither program: nor dataset: runs on every event and needs literals
 * (given, or derived from its regexes).
 * Rules are tried in the order they were added (a replaced rule keeps its
 * place) and the first hit wins. A threshold's table (capacity keys, each
 * with count timestamps or count distinct values; count at most 1000) is
 * allocated when it is added and never grows. Its clock is the events' own
 * ts_ms, so replaying a log gives the same alerts; after an alert the key
 * starts counting afresh.
 */
#ifndef LS_RULES_H
#define LS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "event.h"
#include "grok.h"
#include "patfile.h"

struct ls_rules;

/* An empty rule set using grok macros g (borrowed; must outlive the set).
 * Caller frees with ls_rules_free(). */
int ls_rules_new(struct ls_rules **out, const struct ls_grok *g);
void ls_rules_free(struct ls_rules *r);

/* Adds (or replaces, by name) a "rule" or "threshold" entry; e is borrowed
 * (see ls_rules_entry()), everything else is copied. On a bad entry returns
 * LS_EINVAL (LS_EREGEX for a regex that does not compile) with
 * "origin:line: KIND NAME: message", line being the bad property's, and the
 * set is unchanged. */
int ls_rules_add(struct ls_rules *r, const struct ls_pentry *e,
		 struct ls_error *err);

/* Number of rules and thresholds loaded. */
int ls_rules_count(const struct ls_rules *r);

/* Tags ev with the first matching rule (fields from its groups, tags,
 * rule.*, event.category/type/outcome, event.severity, threat.technique.id)
 * and feeds thresholds. When a threshold fires, resets and fills *alert (an
 * event with its own arena; left as it was otherwise) and sets
 * *alerted to 1 (0 otherwise); with alert or alerted NULL thresholds are not
 * fed. At most one alert per event: another threshold reaching its count on
 * the same event keeps its history and fires on its next hit. Field values
 * set on ev borrow from ev (its line, fields or arena) or from the set.
 * Returns the number of rules that hit (0 or 1) or LS_ENOMEM (the event's
 * arena or field table is full). No allocation on the per-line path, except
 * for building the routing index on the first call after ls_rules_add(). */
int ls_rules_apply(struct ls_rules *r, struct ls_event *ev,
		   struct ls_event *alert, int *alerted);

/* Builds the routing index now (when rules were added since the last
 * build), so that running out of memory for it is an error at start-up
 * rather than an untagged event later. 0 or LS_ENOMEM. */
int ls_rules_prepare(struct ls_rules *r);

/* Look-up for `logship patterns`: the rule (or else threshold) entry named
 * name, or NULL. Entries are borrowed from the caller's patfile, which must
 * outlive the set. */
const struct ls_pentry *ls_rules_entry(const struct ls_rules *r, const char *name);

/* Listing: entry i (0 <= i < ls_rules_count()), rules first, then
 * thresholds, each in the order they were added; NULL when out of range. */
const struct ls_pentry *ls_rules_entry_at(const struct ls_rules *r, int i);

/* The prefilter of rule name: its i-th literal (0-based; lowercase when
 * *caseless is set), or NULL past the last one or for an unknown rule. A
 * rule without literal: lines gets the literals its regexes imply, when they
 * imply some (every match must contain one of them); see also
 * ls_rules_widened(). Owned by the set. */
const char *ls_rules_literal(const struct ls_rules *r, const char *name, int i,
			     int *caseless);

/* 1 when rule name's literal: lines could not be shown to cover all of its
 * match: lines (a match might hold none of them), so that the literals
 * derived from those lines were added to keep every match reachable; worth
 * a warning in `logship patterns test`. 0 otherwise or for an unknown
 * rule. */
int ls_rules_widened(const struct ls_rules *r, const char *name);

/* The prefilter settle_literals() derived for one built-in rule, written
 * at build time by tools/litcache.c (through ls_rules_literal_table()) so
 * that start-up does not derive it again. key covers the rule's match:
 * regexes and given literals: an entry whose key differs is ignored. */
struct ls_lit_cached {
	const char *text;
	uint32_t len;
	uint8_t lines;
};
struct ls_lit_entry {
	const char *id;
	uint64_t key;
	uint8_t caseless, widened;
	uint16_t nlit;
	const struct ls_lit_cached *lit;
};

/* Uses table (n entries sorted by id with strcmp; borrowed, NULL for none)
 * for rules added from now on. */
void ls_rules_set_literal_cache(struct ls_rules *r, const struct ls_lit_entry *table,
				size_t n);

/* Appends to out the C source of the table of the set's rules' prefilters
 * (ls_builtin_literals[], ls_builtin_nliterals); 0 or LS_ENOMEM. */
int ls_rules_literal_table(const struct ls_rules *r, struct ls_buf *out);

/* For tests: scan for literals as on a CPU without SSSE3 (no nibble
 * tables: SSE2 compares for few key bytes, byte by byte for many). */
void ls_rules_scan_without_ssse3(struct ls_rules *r);

/* While on, ls_rules_add() leaves match: regexes uncompiled until a rule
 * first runs (LS_MATCH_DEFER): for the built-in rules, which `make test`
 * compiles and checks, so that start-up does not pay for rules a run never
 * tries. A user's file is loaded with it off, so its errors show at load. */
void ls_rules_defer_compile(struct ls_rules *r, int on);

/* Loads the MITRE ATT&CK allow-list (the text of
 * patterns/attack-techniques.txt: one "ID Name" per line, '#' comments).
 * Call it before adding rules: from then on a technique id not in the list
 * is an error. Until it is called any id of the form T1234 or T1234.123 is
 * accepted. Returns 0, LS_EINVAL for a line that does not start with an id
 * (nothing is changed then) or LS_ENOMEM. */
int ls_rules_set_techniques(struct ls_rules *r, const char *text, size_t len);

/* The name of technique id from the allow-list ("Password Guessing"), or
 * NULL when unknown or no list was loaded. Owned by the set. */
const char *ls_rules_technique_name(const struct ls_rules *r, const char *id);

/* Bytes the set holds for its rules, routing index and threshold tables
 * (compiled regexes and where-expressions not counted). It changes only when
 * entries are added (and once on the first apply after that, which builds
 * the routing index); applying events never makes it grow. */
size_t ls_rules_memory(const struct ls_rules *r);

#endif

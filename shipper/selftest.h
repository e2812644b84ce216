/* selftest.h - running the example, expect and counterexample lines of the
 * loaded formats and rules (`logship patterns test`, and the unit tests). */
#ifndef LS_SELFTEST_H
#define LS_SELFTEST_H

#include "pipeline.h"

struct ls_selftest_result {
	int entries;  /* formats and rules tested */
	int examples; /* example and counterexample lines run */
	int failed;   /* lines that did not give what they promised */
};

/* Receives one failure: the entry, the example line, its line number, why,
 * and the event it gave as JSON (NULL when it did not parse). */
typedef void (*ls_selftest_fail_fn)(void *ctx, const struct ls_pentry *e,
				    const char *example, int line, const char *why,
				    const char *json);

/* Tests the entries named name (NULL: all), or those loaded from file
 * (when not NULL). Format examples must parse with their format and give
 * each expected field; rule examples, parsed with -f auto, must hit the rule
 * and give the fields; counterexamples must not hit it. Returns 0 or
 * LS_ENOMEM; the counts are in *res. */
int ls_selftest_run(struct ls_pipeline *p, const char *name, const char *file,
		    ls_selftest_fail_fn fail, void *ctx, struct ls_selftest_result *res);

/* Checks one expectation, "field=value" or "tag:NAME", against ev: 0 when it
 * holds, else -1 with the reason in why. List fields hold when one item
 * equals the value. */
int ls_selftest_expect(const struct ls_event *ev, const char *expect, char *why,
		       size_t n);

#endif

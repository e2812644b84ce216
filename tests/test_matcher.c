/* test_matcher.c - PCRE2 wrapper: compile errors, group names, captures. */
#include "unit.h"

#include "../parsers/event.h"
#include "../parsers/grok.h"
#include "../parsers/matcher.h"

#include <string.h>

static void test_compile_error_offset(void)
{
	static const struct {
		const char *re;
		size_t offset;
		const char *msg;
	} cases[] = {
		{"(?<a>x", 6, "missing closing parenthesis"},
		{"abc[", 4, "missing terminating ] for character class"},
		{"a{2,1}", 5, "numbers out of order in {} quantifier"},
		{"(?<1a>x)", 3, "subpattern name must start with a non-digit"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ls_matcher *m = NULL;
		struct ls_error err;
		size_t off = 0;
		char want[128];
		int rc = ls_matcher_compile(&m, cases[i].re, 0, &off, &err);
		CU_ASSERT_EQUAL(rc, LS_EREGEX);
		CU_ASSERT_PTR_NULL(m);
		CU_ASSERT_EQUAL(off, cases[i].offset);
		snprintf(want, sizeof(want), "regex error at offset %zu: %s",
			 cases[i].offset, cases[i].msg);
		CU_ASSERT_STRING_EQUAL(err.msg, want);
	}
}

static void test_group_names_decode(void)
{
	struct ls_matcher *m = NULL;
	struct ls_error err;
	const char *s;
	size_t n;
	int type;

	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, "(?<source__ip>\\S+) (?<_at_timestamp>\\S+) "
		"(?<http__response__status_code>\\d+) (?<count___int>\\d+) (?<plain>\\w+)",
		0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_ngroups(m), 5);
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 0, &type), "source.ip");
	CU_ASSERT_EQUAL(type, LS_F_STR);
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 1, &type), "@timestamp");
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 2, &type), "http.response.status_code");
	CU_ASSERT_EQUAL(type, LS_F_INT); /* known numeric ECS field */
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 3, &type), "count");
	CU_ASSERT_EQUAL(type, LS_F_INT);
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 4, &type), "plain");
	CU_ASSERT_EQUAL(ls_matcher_exec(m, "1.2.3.4 now 404 7 ok", 20), 1);
	CU_ASSERT_EQUAL(ls_matcher_group(m, 2, &s, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_NSTRING_EQUAL(s, "404", 3);
	CU_ASSERT_EQUAL(ls_matcher_exec(m, "nope", 4), 0);
	ls_matcher_free(m);
}

static void test_unset_groups_and_binary(void)
{
	struct ls_matcher *m = NULL;
	struct ls_error err;
	const char *s;
	size_t n, a, b;
	const char subject[] = "x\0y\xff z";

	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, "(?:(?<a>q)|(?<b>y\\xff))", 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_exec(m, subject, sizeof(subject) - 1), 1);
	CU_ASSERT_EQUAL(ls_matcher_group(m, 0, &s, &n), -1);
	CU_ASSERT_EQUAL(ls_matcher_group(m, 1, &s, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	ls_matcher_span(m, &a, &b);
	CU_ASSERT_EQUAL(a, 2);
	CU_ASSERT_EQUAL(b, 4);
	ls_matcher_free(m);
}

static void test_caseless_and_anchored(void)
{
	struct ls_matcher *m = NULL;
	struct ls_error err;

	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, "select", LS_MATCH_CASELESS | LS_MATCH_ANCHORED,
						 NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_exec(m, "SeLeCt 1", 8), 1);
	CU_ASSERT_EQUAL(ls_matcher_exec(m, " select", 7), 0);
	ls_matcher_free(m);
}

/* LS_MATCH_DEFER: nothing compiled until the first exec, then the same
 * answers and groups as an eager matcher; a pattern that does not compile
 * makes every exec LS_EINVAL; matches stay right across the switch from the
 * interpreter to the JIT (after a number of matches). */
static void test_deferred(void)
{
	struct ls_matcher *m = NULL, *bad = NULL;
	struct ls_error err;
	const char *s = NULL;
	size_t len = 0;
	int type;

	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, "(?<user__name>[a-z]+)=(?<n___int>\\d+)",
						 LS_MATCH_DEFER, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_ngroups(m), 0);
	for (int i = 0; i < 300; i++) {
		CU_ASSERT_EQUAL(ls_matcher_exec(m, "x root=42 y", 11), 1);
		CU_ASSERT_EQUAL(ls_matcher_exec(m, "no match", 8), 0);
	}
	CU_ASSERT_EQUAL(ls_matcher_exec(m, "x root=42 y", 11), 1);
	CU_ASSERT_EQUAL_FATAL(ls_matcher_ngroups(m), 2);
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 0, &type), "user.name");
	CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(m, 1, &type), "n");
	CU_ASSERT_EQUAL(type, LS_F_INT);
	CU_ASSERT_EQUAL(ls_matcher_group(m, 1, &s, &len), 0);
	CU_ASSERT(len == 2 && memcmp(s, "42", 2) == 0);
	ls_matcher_free(m);

	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&bad, "(unclosed", LS_MATCH_DEFER, NULL,
						 &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_exec(bad, "unclosed", 8), LS_EINVAL);
	CU_ASSERT_EQUAL(ls_matcher_exec(bad, "unclosed", 8), LS_EINVAL);
	ls_matcher_free(bad);

	/* never used: freed without ever compiling */
	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, "a+", LS_MATCH_DEFER, NULL, &err), 0);
	ls_matcher_free(m);
}

/* The built-in regexes compiled at build time: compiling one of those
 * patterns with its options decodes it (same groups, same answers); a
 * table entry whose text differs, or whose bytes PCRE2 does not take, is
 * compiled instead. */
static void test_precompiled(void)
{
	extern const struct ls_precompiled ls_builtin_regexes[];
	extern const size_t ls_builtin_nregexes;
	const struct ls_precompiled *e = NULL;
	struct ls_matcher *dec = NULL, *comp = NULL;
	struct ls_precompiled wrong[2];
	struct ls_error err;
	unsigned long before;
	static const unsigned char junk[64] = { 1, 2, 3 };

	CU_ASSERT_FATAL(ls_builtin_nregexes > 100);
	/* one that plain compile flags reproduce: no CASELESS/ANCHORED bits
	 * beyond PCRE2_DUPNAMES, which every matcher has */
	for (size_t i = 0; i < ls_builtin_nregexes && !e; i++)
		if (ls_builtin_regexes[i].opts == 0x00000040u && strstr(ls_builtin_regexes[i].pattern, "(?<"))
			e = &ls_builtin_regexes[i];
	CU_ASSERT_FATAL(e != NULL);

	ls_matcher_use_precompiled(ls_builtin_regexes, ls_builtin_nregexes);
	before = ls_matcher_decoded();
	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&dec, e->pattern, 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_decoded(), before + 1);
	ls_matcher_use_precompiled(NULL, 0);
	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&comp, e->pattern, 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_decoded(), before + 1);
	CU_ASSERT_EQUAL(ls_matcher_ngroups(dec), ls_matcher_ngroups(comp));
	for (int i = 0; i < ls_matcher_ngroups(dec) && i < ls_matcher_ngroups(comp); i++)
		CU_ASSERT_STRING_EQUAL(ls_matcher_group_field(dec, i, NULL),
				       ls_matcher_group_field(comp, i, NULL));
	CU_ASSERT_EQUAL(ls_matcher_exec(dec, e->pattern, strlen(e->pattern)),
			ls_matcher_exec(comp, e->pattern, strlen(e->pattern)));
	ls_matcher_free(dec);
	ls_matcher_free(comp);

	/* the same key with another text, and bytes that are no PCRE2 data */
	wrong[0] = *e;
	wrong[0].pattern = "(?<x>a)";
	CU_ASSERT_FATAL(strcmp(e->pattern, wrong[0].pattern) != 0);
	ls_matcher_use_precompiled(wrong, 1);
	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&comp, e->pattern, 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_decoded(), before + 1);
	ls_matcher_free(comp);
	wrong[1] = *e;
	wrong[1].bytes = junk;
	wrong[1].len = sizeof(junk);
	ls_matcher_use_precompiled(&wrong[1], 1);
	CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&comp, e->pattern, 0, NULL, &err), 0);
	CU_ASSERT_EQUAL(ls_matcher_decoded(), before + 1);
	CU_ASSERT(ls_matcher_ngroups(comp) > 0);
	ls_matcher_free(comp);
	ls_matcher_use_precompiled(NULL, 0);
}

static const struct ls_test_case cases[] = {
	{"compile error names the offset", test_compile_error_offset},
	{"group names decode to fields and types", test_group_names_decode},
	{"unset groups and binary subjects", test_unset_groups_and_binary},
	{"caseless and anchored", test_caseless_and_anchored},
	{"deferred compile, interpreter then JIT", test_deferred},
	{"built-in regexes decoded, others compiled", test_precompiled},
	{NULL, NULL}
};

LS_TEST_SUITE(matcher, cases)

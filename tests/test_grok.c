/* test_grok.c - grok macro expansion and the base macro set. */
#include "unit.h"

#include "../parsers/grok.h"
#include "../parsers/matcher.h"
#include "../parsers/patfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads patterns/00-grok.pattern into a new macro set. */
static struct ls_grok *base_grok(void)
{
	char path[1024], *text;
	struct ls_grok *g = NULL;
	struct ls_patfile *pf = NULL;
	struct ls_error err;
	size_t len;

	snprintf(path, sizeof(path), "%s/patterns/00-grok.pattern", ls_test_srcdir());
	text = ls_test_read_file(path, &len);
	CU_ASSERT_EQUAL_FATAL(ls_patfile_parse(text, len, path, &pf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ls_grok_new(&g), 0);
	for (int i = 0; i < pf->nentries; i++)
		ls_grok_define(g, pf->entries[i].name, ls_pentry_get(&pf->entries[i], "match"));
	ls_patfile_free(pf);
	free(text);
	return g;
}

static void test_expand_fields(void)
{
	struct ls_grok *g = base_grok();
	struct ls_grok_fields fields;
	struct ls_error err;
	char *re = ls_grok_expand(g, "^%{IP:source.ip} %{NUMBER:http.response.status_code:int} %{WORD}$",
				  &fields, &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	CU_ASSERT_EQUAL(fields.n, 2);
	CU_ASSERT_STRING_EQUAL(fields.fields[0], "source.ip");
	CU_ASSERT_STRING_EQUAL(fields.fields[1], "http.response.status_code:int");
	CU_ASSERT_PTR_NOT_NULL(strstr(re, "(?<_g0>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(re, "(?<_g1>"));
	free(re);
	ls_grok_fields_release(&fields);
	ls_grok_free(g);
}

static void test_unknown_and_recursive(void)
{
	struct ls_grok *g = base_grok();
	struct ls_grok_fields fields;
	struct ls_error err;

	CU_ASSERT_PTR_NULL(ls_grok_expand(g, "%{NOPE:x}", &fields, &err));
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown grok macro %{NOPE}");
	ls_grok_define(g, "LOOP", "a%{LOOP}");
	CU_ASSERT_PTR_NULL(ls_grok_expand(g, "%{LOOP}", &fields, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nest deeper"));
	CU_ASSERT_PTR_NULL(ls_grok_expand(g, "x %{IP", &fields, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unterminated"));
	/* a type other than int or float is a mistake, not a string */
	CU_ASSERT_PTR_NULL(ls_grok_expand(g, "%{NUMBER:n:bogus}", &fields, &err));
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown type 'bogus' in %{NUMBER:n:bogus} (int or float)");
	CU_ASSERT_PTR_NULL(ls_grok_expand(g, "%{NUMBER:n:}", &fields, &err));
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown type '' in %{NUMBER:n:} (int or float)");
	ls_grok_free(g);
}

/* Each base macro against strings it must and must not match whole. */
static void test_base_macros(void)
{
	static const struct {
		const char *macro, *subject;
		int match;
	} cases[] = {
		{"IPV4", "203.0.113.9", 1}, {"IPV4", "256.1.1.1", 0}, {"IPV4", "1.2.3", 0},
		{"IPV6", "2001:db8::1", 1}, {"IPV6", "::1", 1}, {"IPV6", "fe80::1%eth0", 1},
		{"IPV6", "2001:db8:0:0:0:0:2:1", 1}, {"IPV6", "::ffff:192.0.2.1", 1},
		{"IPV6", "22:13:20", 0}, {"IPV6", "abc", 0},
		{"IP", "198.51.100.7", 1}, {"IP", "2001:db8::8a2e:370:7334", 1},
		{"HTTPDATE", "14/Nov/2023:22:13:20 +0000", 1}, {"HTTPDATE", "14/Nov/2023 22:13:20", 0},
		{"SYSLOGTIMESTAMP", "Nov  4 02:03:04", 1}, {"SYSLOGTIMESTAMP", "Nov 14 22:13:20", 1},
		{"TIMESTAMP_ISO8601", "2023-11-14T22:13:20.123456+01:00", 1},
		{"TIMESTAMP_ISO8601", "2023-11-14 22:13:20,123", 1},
		{"TIMESTAMP_ISO8601", "2023-13-14 22:13:20", 0},
		{"NUMBER", "-12.5", 1}, {"NUMBER", "x", 0}, {"INT", "+7", 1},
		{"USER", "alice.b-c@example", 1}, {"LOGLEVEL", "WARNING", 1}, {"LOGLEVEL", "Info", 1},
		{"HOSTNAME", "web-1.example.org", 1}, {"UUID", "123e4567-e89b-12d3-a456-426614174000", 1},
		{"QUOTEDSTRING", "\"a \\\"b\\\" c\"", 1},
	};
	struct ls_grok *g = base_grok();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ls_grok_fields fields;
		struct ls_matcher *m = NULL;
		struct ls_error err;
		char pat[64];
		char *re;
		snprintf(pat, sizeof(pat), "^%%{%s}$", cases[i].macro);
		re = ls_grok_expand(g, pat, &fields, &err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(re);
		CU_ASSERT_EQUAL_FATAL(ls_matcher_compile(&m, re, 0, NULL, &err), 0);
		if (ls_matcher_exec(m, cases[i].subject, strlen(cases[i].subject)) != cases[i].match)
			fprintf(stderr, "\n  %s vs '%s': expected %d\n", cases[i].macro,
				cases[i].subject, cases[i].match);
		CU_ASSERT_EQUAL(ls_matcher_exec(m, cases[i].subject, strlen(cases[i].subject)),
				cases[i].match);
		ls_matcher_free(m);
		free(re);
		ls_grok_fields_release(&fields);
	}
	ls_grok_free(g);
}

static const struct ls_test_case cases[] = {
	{"expansion names fields and types", test_expand_fields},
	{"unknown, recursive and unterminated macros, unknown types", test_unknown_and_recursive},
	{"base macros match what they promise", test_base_macros},
	{NULL, NULL}
};

LS_TEST_SUITE(grok, cases)

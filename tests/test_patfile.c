/* test_patfile.c - the pattern file syntax and its error messages. */
#include "unit.h"

#include "../parsers/patfile.h"

#include <string.h>

static void test_entries_and_props(void)
{
	const char *text = "# comment\n\nformat demo\n  dataset: demo.log\n"
			   "  match: ^(?<message>.*)$  \n\n  # indented comment\n"
			   "rule r1\n\tlevel: low\n\texample: a: b: c\r\n";
	struct ls_patfile *pf = NULL;
	struct ls_error err;

	CU_ASSERT_EQUAL_FATAL(ls_patfile_parse(text, strlen(text), "t.pattern", &pf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(pf->nentries, 2);
	CU_ASSERT_STRING_EQUAL(pf->entries[0].kind, "format");
	CU_ASSERT_STRING_EQUAL(pf->entries[0].name, "demo");
	CU_ASSERT_EQUAL(pf->entries[0].line, 3);
	CU_ASSERT_EQUAL(pf->entries[0].nprops, 2);
	CU_ASSERT_STRING_EQUAL(ls_pentry_get(&pf->entries[0], "match"), "^(?<message>.*)$");
	CU_ASSERT_STRING_EQUAL(ls_pentry_get(&pf->entries[1], "example"), "a: b: c");
	CU_ASSERT_EQUAL(pf->entries[1].props[1].line, 10);
	CU_ASSERT_PTR_NULL(ls_pentry_get(&pf->entries[1], "nope"));
	ls_patfile_free(pf);
}

static void test_errors_name_file_and_line(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"  orphan: x\n", "x.pattern:1: property outside an entry"},
		{"format\n", "x.pattern:1: entry 'format' has no name"},
		{"widget w\n", "x.pattern:1: unknown entry kind 'widget'"},
		{"rule r\n  no colon here\n", "x.pattern:2: expected 'key: value'"},
		{"rule r\n  bad key!: v\n", "x.pattern:2: bad key 'bad key!'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ls_patfile *pf = NULL;
		struct ls_error err;
		CU_ASSERT_EQUAL(ls_patfile_parse(cases[i].text, strlen(cases[i].text),
						 "x.pattern", &pf, &err), LS_EINVAL);
		CU_ASSERT_EQUAL(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)), 0);
		ls_patfile_free(pf);
	}
}

static void test_levels(void)
{
	CU_ASSERT_EQUAL(ls_level_from_name("informational"), 1);
	CU_ASSERT_EQUAL(ls_level_from_name("critical"), 5);
	CU_ASSERT_EQUAL(ls_level_from_name("severe"), 0);
	CU_ASSERT_STRING_EQUAL(ls_level_name(3), "medium");
}

static const struct ls_test_case cases[] = {
	{"entries and properties", test_entries_and_props},
	{"errors name file and line", test_errors_name_file_and_line},
	{"level names", test_levels},
	{NULL, NULL}
};

LS_TEST_SUITE(patfile, cases)

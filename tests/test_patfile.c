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
		{"rule r s\n", "x.pattern:1: rule name 'r s' holds a blank"},
		{"rule r\x01\n", "x.pattern:1: rule name 'r\x01' holds a blank or control"},
		/* a BOM that is not at the very start is not skipped */
		{"rule r\n\xef\xbb\xbfrule s\n", "x.pattern:2: unknown entry kind"},
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

/* What an editor or a wrong file may give: a BOM, CRLF, NUL bytes, a
 * line or a name without end. */
static void test_hostile_files(void)
{
	static const char bom[] = "\xef\xbb\xbf" "format x\r\n  match: a\r\n";
	static const char nul[] = "rule r\n  name: a\0b\n";
	struct ls_patfile *pf = NULL;
	struct ls_error err;
	static char text[LS_PATFILE_LINE_MAX + 132];
	size_t big = LS_PATFILE_LINE_MAX + 100;

	CU_ASSERT_EQUAL_FATAL(ls_patfile_parse(bom, sizeof(bom) - 1, "x.pattern", &pf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(pf->nentries, 1);
	CU_ASSERT_STRING_EQUAL(pf->entries[0].kind, "format");
	CU_ASSERT_STRING_EQUAL(pf->entries[0].name, "x");
	CU_ASSERT_STRING_EQUAL(ls_pentry_get(&pf->entries[0], "match"), "a");
	ls_patfile_free(pf);

	CU_ASSERT_EQUAL(ls_patfile_parse(nul, sizeof(nul) - 1, "x.pattern", &pf, &err), LS_EINVAL);
	CU_ASSERT_EQUAL(strncmp(err.msg, "x.pattern:2: NUL byte at column 10", 34), 0);
	ls_patfile_free(pf);

	strcpy(text, "rule r\n  match: ");
	memset(text + strlen(text), 'a', big);
	text[big] = '\0';
	CU_ASSERT_EQUAL(ls_patfile_parse(text, strlen(text), "x.pattern", &pf, &err), LS_EINVAL);
	CU_ASSERT_EQUAL(strncmp(err.msg, "x.pattern:2: line longer than", 29), 0);
	CU_ASSERT_EQUAL(pf->nentries, 1); /* what came before is kept */
	ls_patfile_free(pf);

	strcpy(text, "rule ");
	memset(text + 5, 'n', LS_PATFILE_NAME_MAX + 1);
	text[5 + LS_PATFILE_NAME_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(ls_patfile_parse(text, strlen(text), "x.pattern", &pf, &err), LS_EINVAL);
	CU_ASSERT_EQUAL(strncmp(err.msg, "x.pattern:1: rule name longer than", 34), 0);
	ls_patfile_free(pf);

	CU_ASSERT_EQUAL(ls_patfile_parse("", 0, "x.pattern", &pf, &err), 0);
	CU_ASSERT_EQUAL(pf->nentries, 0);
	ls_patfile_free(pf);
}

/* A bad line costs its entry, not the rest of the file. */
static void test_errors_recover(void)
{
	const char *text = "  orphan: 1\n  orphan: 2\nrule a\n  bad line\n  name: x\n"
			   "widget w\n  match: y\nrule b\n  name: ok\n";
	struct ls_patfile *pf = NULL;
	struct ls_error err;

	CU_ASSERT_EQUAL(ls_patfile_parse(text, strlen(text), "x.pattern", &pf, &err), LS_EINVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pf);
	CU_ASSERT_EQUAL(strncmp(err.msg, "x.pattern:1: property outside", 29), 0);
	CU_ASSERT_EQUAL_FATAL(pf->nerrors, 3);
	CU_ASSERT_EQUAL(strncmp(pf->errors[1], "x.pattern:4: expected 'key: value'", 34), 0);
	CU_ASSERT_EQUAL(strncmp(pf->errors[2], "x.pattern:6: unknown entry kind 'widget'", 40), 0);
	CU_ASSERT_EQUAL_FATAL(pf->nentries, 2);
	CU_ASSERT_STRING_EQUAL(pf->entries[0].name, "a");
	CU_ASSERT_EQUAL(pf->entries[0].broken, 1);
	CU_ASSERT_STRING_EQUAL(pf->entries[1].name, "b");
	CU_ASSERT_EQUAL(pf->entries[1].broken, 0);
	CU_ASSERT_EQUAL(pf->entries[1].nprops, 1); /* not the widget's match: */
	ls_patfile_free(pf);
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
	{"BOM, CRLF, NUL, long lines and names", test_hostile_files},
	{"a bad line costs only its entry", test_errors_recover},
	{"level names", test_levels},
	{NULL, NULL}
};

LS_TEST_SUITE(patfile, cases)

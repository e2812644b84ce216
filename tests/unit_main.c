/* unit_main.c - the CUnit runner: runs every registered suite (optionally
 * only those named on the command line) and exits non-zero on any failure. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MAX_SUITES 64

static struct {
	const char *name;
	const struct ls_test_case *cases;
} suites[MAX_SUITES];
static int nsuites;

void ls_test_suite_add(const char *name, const struct ls_test_case *cases)
{
	if (nsuites < MAX_SUITES) {
		suites[nsuites].name = name;
		suites[nsuites].cases = cases;
		nsuites++;
	}
}

const char *ls_test_srcdir(void)
{
	const char *d = getenv("LOGSHIP_SRCDIR");
	return d ? d : ".";
}

char *ls_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	CU_ASSERT_FATAL(f != NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (int i = 0; i < nsuites; i++) {
		CU_pSuite s;
		if (!wanted(suites[i].name, argc, argv))
			continue;
		s = CU_add_suite(suites[i].name, NULL, NULL);
		if (!s)
			return 2;
		for (const struct ls_test_case *c = suites[i].cases; c->name; c++)
			CU_add_test(s, c->name, c->fn);
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	printf("\nunit: %u passed, %u failed\n",
	       CU_get_number_of_tests_run() - CU_get_number_of_tests_failed(),
	       CU_get_number_of_tests_failed());
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

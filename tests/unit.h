/* unit.h - how CUnit test files register their suite with the one runner.
 * A test file lists its cases in a NULL-terminated table and writes
 * LS_TEST_SUITE(name, table); the runner (tests/unit_main.c) runs them all. */
#ifndef LS_TEST_UNIT_H
#define LS_TEST_UNIT_H

#include <CUnit/CUnit.h>

struct ls_test_case {
	const char *name;
	void (*fn)(void);
};

void ls_test_suite_add(const char *name, const struct ls_test_case *cases);

/* Directory holding the repository's patterns/ (for tests that load them). */
const char *ls_test_srcdir(void);

/* The whole file at path, NUL-terminated, its size in *len; a fatal test
 * failure when it cannot be read. Caller frees with free(). */
char *ls_test_read_file(const char *path, size_t *len);

#define LS_TEST_SUITE(sname, cases)                                       \
	__attribute__((constructor)) static void ls_test_reg_##sname(void) \
	{                                                                 \
		ls_test_suite_add(#sname, cases);                         \
	}

#endif

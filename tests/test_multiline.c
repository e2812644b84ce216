/* test_multiline.c - joining continuation lines, caps, nothing lost. */
#include "unit.h"

#include "../parsers/multiline.h"

#include <string.h>

struct step {
	const char *line;
	int continues;
	const char *emitted; /* record completed by this line, or NULL */
};

static void run_steps(const struct step *steps, int max_lines, size_t max_bytes,
		      const char *final)
{
	struct ls_multiline *ml = NULL;
	struct ls_record rec;

	CU_ASSERT_EQUAL_FATAL(ls_multiline_new(&ml, max_lines, max_bytes), 0);
	for (int i = 0; steps[i].line; i++) {
		int rc = ls_multiline_feed(ml, steps[i].line, strlen(steps[i].line),
					   (uint64_t)i * 10, 0, steps[i].continues, &rec);
		CU_ASSERT_EQUAL(rc, steps[i].emitted != NULL);
		if (rc == 1 && steps[i].emitted) {
			CU_ASSERT_EQUAL(rec.len, strlen(steps[i].emitted));
			CU_ASSERT_NSTRING_EQUAL(rec.text, steps[i].emitted, rec.len);
		}
	}
	CU_ASSERT_EQUAL(ls_multiline_flush(ml, &rec), final != NULL);
	if (final) {
		CU_ASSERT_EQUAL(rec.len, strlen(final));
		CU_ASSERT_NSTRING_EQUAL(rec.text, final, rec.len);
	}
	CU_ASSERT_EQUAL(ls_multiline_flush(ml, &rec), 0);
	ls_multiline_free(ml);
}

static void test_join(void)
{
	static const struct step steps[] = {
		{"ERROR boom", 0, NULL},
		{"\tat a.B.c(B.java:1)", 1, NULL},
		{"\tat a.B.d(B.java:2)", 1, NULL},
		{"INFO next", 0, "ERROR boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)"},
		{"INFO last", 0, "INFO next"},
		{NULL, 0, NULL}
	};
	run_steps(steps, 100, 1 << 20, "INFO last");
}

static void test_line_cap_starts_new_record(void)
{
	static const struct step steps[] = {
		{"head", 0, NULL},
		{" c1", 1, NULL},
		{" c2", 1, "head\n c1"},
		{" c3", 1, NULL},
		{NULL, 0, NULL}
	};
	run_steps(steps, 2, 1 << 20, " c2\n c3");
}

static void test_byte_cap_starts_new_record(void)
{
	static const struct step steps[] = {
		{"0123456789", 0, NULL},
		{"abcdefghij", 1, "0123456789"},
		{NULL, 0, NULL}
	};
	run_steps(steps, 100, 15, "abcdefghij");
}

static void test_continuation_first_is_a_record(void)
{
	static const struct step steps[] = {
		{"\tat orphan", 1, NULL},
		{"next", 0, "\tat orphan"},
		{NULL, 0, NULL}
	};
	run_steps(steps, 100, 1 << 20, "next");
}

static const struct ls_test_case cases[] = {
	{"continuation lines join their record", test_join},
	{"line cap starts a new record", test_line_cap_starts_new_record},
	{"byte cap starts a new record", test_byte_cap_starts_new_record},
	{"a leading continuation is its own record", test_continuation_first_is_a_record},
	{NULL, NULL}
};

LS_TEST_SUITE(multiline, cases)

/* test_multiline.c - joining continuation lines, caps, nothing lost. */
#include "unit.h"

#include "../parsers/error.h"
#include "../parsers/multiline.h"

#include <stdio.h>
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

/* ---- parts of split lines --------------------------------------------- */

struct part_step {
	const char *key;
	const char *text;
	int ends;             /* 1: the last part of its key's line */
	const char *expected; /* the line this part completes, or NULL */
	int cut;              /* expected's cut flag */
};

/* Feeds the parts as the pipeline does: a key without a pending line
 * starts one; a last part takes its line out. */
static void run_parts(const struct part_step *steps, size_t max_bytes)
{
	struct ls_partial *pj = NULL;
	struct ls_partial_line line;

	CU_ASSERT_EQUAL_FATAL(ls_partial_new(&pj, max_bytes), 0);
	for (int i = 0; steps[i].key; i++) {
		const struct part_step *st = &steps[i];
		char record[64];
		int slot = ls_partial_find(pj, st->key, strlen(st->key));

		snprintf(record, sizeof(record), "record %d", i);
		if (slot < 0) {
			slot = ls_partial_start(pj, st->key, strlen(st->key), record,
						strlen(record), (uint64_t)i * 10, 1000 + i, 7);
			CU_ASSERT_FATAL(slot >= 0);
		}
		CU_ASSERT_EQUAL(ls_partial_append(pj, slot, st->text, strlen(st->text),
						  (unsigned)i & 1), 0);
		if (!st->ends) {
			CU_ASSERT_PTR_NULL(st->expected);
			continue;
		}
		ls_partial_take(pj, slot, &line);
		CU_ASSERT_EQUAL(ls_partial_find(pj, st->key, strlen(st->key)), -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(st->expected);
		CU_ASSERT_EQUAL(line.len, strlen(st->expected));
		CU_ASSERT_NSTRING_EQUAL(line.text, st->expected, line.len);
		CU_ASSERT_EQUAL(line.cut, st->cut);
		CU_ASSERT_EQUAL(line.format, 7);
	}
	CU_ASSERT_EQUAL(ls_partial_oldest(pj), -1);
	ls_partial_free(pj);
}

static void test_parts_join(void)
{
	static const struct part_step steps[] = {
		{"stdout", "partial ", 0, NULL, 0},
		{"stdout", "end", 1, "partial end", 0},
		{"stdout", "whole", 1, "whole", 0},
		{"stdout", "a", 0, NULL, 0},
		{"stdout", "b", 0, NULL, 0},
		{"stdout", "", 0, NULL, 0},
		{"stdout", "c\n", 1, "abc\n", 0},
		{NULL, NULL, 0, NULL, 0}
	};
	run_parts(steps, 1 << 20);
}

/* stdout and stderr written in between each other: each line its own */
static void test_parts_two_keys(void)
{
	static const struct part_step steps[] = {
		{"stdout", "out-1 ", 0, NULL, 0},
		{"stderr", "err-1 ", 0, NULL, 0},
		{"stdout", "out-2", 1, "out-1 out-2", 0},
		{"stderr", "err-2 ", 0, NULL, 0},
		{"stderr", "err-3", 1, "err-1 err-2 err-3", 0},
		{NULL, NULL, 0, NULL, 0}
	};
	run_parts(steps, 1 << 20);
}

/* the cap cuts the line (later parts dropped), never inside a UTF-8
 * character: "\xc3\xa9" is é */
static void test_parts_cap(void)
{
	static const struct part_step steps[] = {
		{"k", "0123", 0, NULL, 0},
		{"k", "4567", 0, NULL, 0},
		{"k", "89ab", 1, "01234567", 1},
		{"k", "01234567", 1, "01234567", 0},
		{"k", "0123456", 0, NULL, 0},
		{"k", "\xc3\xa9", 1, "0123456", 1},
		{"k", "012345\xc3\xa9", 1, "012345\xc3\xa9", 0},
		{"k", "0123", 0, NULL, 0},
		{"k", "\xe2\x82\xac\xe2\x82\xac", 1, "0123\xe2\x82\xac", 1},
		/* not UTF-8: cut at the cap */
		{"k", "0123", 0, NULL, 0},
		{"k", "\x80\x80\x80\x80\x80", 1, "0123\x80\x80\x80\x80", 1},
		{NULL, NULL, 0, NULL, 0}
	};
	run_parts(steps, 8);
}

static void test_parts_slots(void)
{
	struct ls_partial *pj = NULL;
	struct ls_partial_line line;
	int a, b;

	CU_ASSERT_EQUAL_FATAL(ls_partial_new(&pj, 0), 0);
	CU_ASSERT_EQUAL(ls_partial_oldest(pj), -1);
	CU_ASSERT_EQUAL(ls_partial_find(pj, "", 0), -1);
	a = ls_partial_start(pj, "stderr", 6, "rec-a", 5, 500, 42, 3);
	b = ls_partial_start(pj, "stdout", 6, "rec-b", 5, 100, 43, 3);
	CU_ASSERT_TRUE(a >= 0 && b >= 0 && a != b);
	/* the slots are all taken: a third key waits for one */
	CU_ASSERT_EQUAL(ls_partial_start(pj, "other", 5, "rec-c", 5, 900, 44, 3), LS_EBUSY);
	CU_ASSERT_EQUAL(ls_partial_find(pj, "stdout", 6), b);
	CU_ASSERT_EQUAL(ls_partial_find(pj, "stdou", 5), -1);
	/* the line read first goes out first */
	CU_ASSERT_EQUAL(ls_partial_oldest(pj), b);
	CU_ASSERT_EQUAL(ls_partial_append(pj, b, "x", 1, 2), 0);
	CU_ASSERT_EQUAL(ls_partial_append(pj, b, "y", 1, 1), 0);
	ls_partial_take(pj, b, &line);
	CU_ASSERT_EQUAL(line.offset, 100);
	CU_ASSERT_EQUAL(line.ts_ms, 43);
	CU_ASSERT_EQUAL(line.flags, 3);
	CU_ASSERT_EQUAL(line.nparts, 2);
	CU_ASSERT_EQUAL(line.first_len, 5);
	CU_ASSERT_NSTRING_EQUAL(line.first, "rec-b", 5);
	CU_ASSERT_EQUAL(line.len, 2);
	CU_ASSERT_NSTRING_EQUAL(line.text, "xy", 2);
	CU_ASSERT_EQUAL(ls_partial_oldest(pj), a);
	/* an empty line (no part text) is still a line */
	ls_partial_take(pj, a, &line);
	CU_ASSERT_EQUAL(line.len, 0);
	CU_ASSERT_PTR_NOT_NULL(line.text);
	CU_ASSERT_EQUAL(ls_partial_oldest(pj), -1);
	ls_partial_trim(pj);
	CU_ASSERT_TRUE(ls_partial_start(pj, "other", 5, "rec-c", 5, 900, 44, 3) >= 0);
	ls_partial_free(pj);
	ls_partial_free(NULL);
}

/* a long line's memory is given back once it went out */
static void test_parts_trim(void)
{
	struct ls_partial *pj = NULL;
	struct ls_partial_line line;
	static char big[200 << 10];
	int slot;

	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL_FATAL(ls_partial_new(&pj, sizeof(big) * 2), 0);
	slot = ls_partial_start(pj, "k", 1, big, sizeof(big), 0, 0, 0);
	CU_ASSERT_FATAL(slot >= 0);
	CU_ASSERT_EQUAL(ls_partial_append(pj, slot, big, sizeof(big), 0), 0);
	CU_ASSERT_EQUAL(ls_partial_append(pj, slot, big, sizeof(big), 0), 0);
	CU_ASSERT_EQUAL(ls_partial_append(pj, slot, big, 1, 0), 0);
	ls_partial_take(pj, slot, &line);
	CU_ASSERT_EQUAL(line.len, sizeof(big) * 2);
	CU_ASSERT_EQUAL(line.cut, 1);
	ls_partial_trim(pj); /* ASan and valgrind see the rest */
	slot = ls_partial_start(pj, "k", 1, "r", 1, 0, 0, 0);
	CU_ASSERT_FATAL(slot >= 0);
	CU_ASSERT_EQUAL(ls_partial_append(pj, slot, "small", 5, 0), 0);
	ls_partial_take(pj, slot, &line);
	CU_ASSERT_NSTRING_EQUAL(line.text, "small", 5);
	ls_partial_free(pj);
}

static const struct ls_test_case cases[] = {
	{"continuation lines join their record", test_join},
	{"line cap starts a new record", test_line_cap_starts_new_record},
	{"byte cap starts a new record", test_byte_cap_starts_new_record},
	{"a leading continuation is its own record", test_continuation_first_is_a_record},
	{"split line: parts joined", test_parts_join},
	{"split line: two streams in between each other", test_parts_two_keys},
	{"split line: cut at the cap, not inside UTF-8", test_parts_cap},
	{"split line: slots, oldest first, first part kept", test_parts_slots},
	{"split line: a long line's memory given back", test_parts_trim},
	{NULL, NULL}
};

LS_TEST_SUITE(multiline, cases)

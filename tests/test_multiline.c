/* test_multiline.c - joining continuation lines, caps, nothing lost. */
#include "unit.h"

#include "../parsers/buf.h"
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

/* ---- continuation lines of a container's records ----------------------- */

/* The text of the record that may leave first, or NULL when none may. */
static const char *trace_next(struct ls_tracejoin *tj, struct ls_trace_record *rec)
{
	static char text[256];

	if (ls_tracejoin_next(tj, rec) != 1)
		return NULL;
	snprintf(text, sizeof(text), "%.*s", (int)rec->len, rec->text);
	return text;
}

static int trace_push(struct ls_tracejoin *tj, const char *key, const char *text,
		      uint64_t offset, int open)
{
	return ls_tracejoin_push(tj, key, strlen(key), text, strlen(text), offset, 0, 1, open,
				 open ? 7 : -1);
}

static void test_trace_join(void)
{
	struct ls_tracejoin *tj = NULL;
	struct ls_trace_record rec;
	int id, rule = 0;

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 0), 0);
	id = trace_push(tj, "stdout", "ERROR boom", 0, 1);
	CU_ASSERT_FATAL(id >= 0);
	CU_ASSERT_EQUAL(ls_tracejoin_open(tj, "stdout", 6, &rule), id);
	CU_ASSERT_EQUAL(rule, 7);
	CU_ASSERT_EQUAL(ls_tracejoin_open(tj, "stderr", 6, &rule), -1);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "\tat a.B.c(B.java:1)", 19, 0), 0);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "\tat a.B.d(B.java:2)", 19, 2), 0);
	/* open: it waits */
	CU_ASSERT_PTR_NULL(trace_next(tj, &rec));
	/* the next record of its stream ends it */
	CU_ASSERT(trace_push(tj, "stdout", "INFO next", 100, 0) >= 0);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "ERROR boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)");
	CU_ASSERT_EQUAL(rec.first_len, 10);
	CU_ASSERT_EQUAL(rec.offset, 0);
	CU_ASSERT_EQUAL(rec.nlines, 3);
	CU_ASSERT_EQUAL(rec.flags, 2);
	ls_tracejoin_pop(tj);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "INFO next");
	CU_ASSERT_EQUAL(rec.nlines, 1);
	ls_tracejoin_pop(tj);
	CU_ASSERT_EQUAL(ls_tracejoin_count(tj), 0);
	CU_ASSERT_PTR_NULL(trace_next(tj, &rec));
	ls_tracejoin_free(tj);
}

/* Records leave in the order they were read: a closed record waits behind
 * an open one of the other stream. */
static void test_trace_order(void)
{
	struct ls_tracejoin *tj = NULL;
	struct ls_trace_record rec;
	int out, rule;

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 0), 0);
	out = trace_push(tj, "stdout", "out head", 0, 1);
	CU_ASSERT(trace_push(tj, "stderr", "err 1", 10, 1) >= 0);
	CU_ASSERT(trace_push(tj, "stderr", "err 2", 20, 0) >= 0);
	CU_ASSERT_EQUAL(ls_tracejoin_open(tj, "stderr", 6, &rule), -1);
	CU_ASSERT_PTR_NULL(trace_next(tj, &rec));
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, out, "  more", 6, 0), 0);
	ls_tracejoin_close_all(tj);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "out head\n  more");
	ls_tracejoin_pop(tj);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "err 1");
	ls_tracejoin_pop(tj);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "err 2");
	CU_ASSERT_EQUAL(rec.offset, 20);
	ls_tracejoin_pop(tj);
	CU_ASSERT_EQUAL(ls_tracejoin_count(tj), 0);
	ls_tracejoin_free(tj);
}

/* A line past --multiline-max-lines or --multiline-max-bytes is not added. */
static void test_trace_caps(void)
{
	struct ls_tracejoin *tj = NULL;
	int id;

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 3, 20), 0);
	id = trace_push(tj, "k", "head", 0, 1);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "l1", 2, 0), 0);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "l2", 2, 0), 0);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "l3", 2, 0), 1); /* 4 lines */
	id = trace_push(tj, "k", "head2", 10, 1);
	/* "head2\n0123456789abc" is 19 bytes, one more line 22 */
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "0123456789abc", 13, 0), 0);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "xy", 2, 0), 1);
	CU_ASSERT_EQUAL(ls_tracejoin_add(tj, id, "", 0, 0), 0); /* 20: fits */
	ls_tracejoin_free(tj);
}

/* An open record holds at most LS_TRACE_QUEUE records, or 2 x max_bytes,
 * behind it; a third stream closes the oldest open record. */
static void test_trace_bounds(void)
{
	struct ls_tracejoin *tj = NULL;
	struct ls_trace_record rec;
	char line[16];
	int rule;

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 0), 0);
	trace_push(tj, "stderr", "open", 0, 1);
	for (int i = 0; i < LS_TRACE_QUEUE - 1; i++) {
		snprintf(line, sizeof(line), "out %d", i);
		CU_ASSERT(trace_push(tj, "stdout", line, (uint64_t)i + 1, 0) >= 0);
	}
	CU_ASSERT_PTR_NULL(trace_next(tj, &rec));
	CU_ASSERT(trace_push(tj, "stdout", "one more", 99, 0) >= 0);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "open");
	ls_tracejoin_pop(tj);
	for (int i = 0; i < LS_TRACE_QUEUE; i++) {
		CU_ASSERT_PTR_NOT_NULL(trace_next(tj, &rec));
		ls_tracejoin_pop(tj);
	}
	CU_ASSERT_EQUAL(ls_tracejoin_count(tj), 0);
	ls_tracejoin_trim(tj); /* ASan and valgrind see the rest */
	ls_tracejoin_free(tj);

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 10), 0);
	trace_push(tj, "stderr", "open", 0, 1);
	trace_push(tj, "stdout", "0123456789", 1, 0);
	CU_ASSERT_PTR_NULL(trace_next(tj, &rec)); /* 14 bytes */
	trace_push(tj, "stdout", "0123456789", 2, 0);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "open"); /* 24 > 2 x 10 */
	ls_tracejoin_free(tj);

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 0), 0);
	trace_push(tj, "a", "a", 0, 1);
	trace_push(tj, "b", "b", 1, 1);
	trace_push(tj, "c", "c", 2, 1);
	CU_ASSERT_EQUAL(ls_tracejoin_open(tj, "a", 1, &rule), -1);
	CU_ASSERT(ls_tracejoin_open(tj, "b", 1, &rule) >= 0);
	CU_ASSERT(ls_tracejoin_open(tj, "c", 1, &rule) >= 0);
	CU_ASSERT_STRING_EQUAL(trace_next(tj, &rec), "a");
	ls_tracejoin_free(tj);
}

/* What the caller keeps with a record comes back with it. */
static void test_trace_saved(void)
{
	struct ls_tracejoin *tj = NULL;
	struct ls_trace_record rec;
	struct ls_buf *saved;
	int id;

	CU_ASSERT_EQUAL_FATAL(ls_tracejoin_new(&tj, 0, 0), 0);
	for (int round = 0; round < 3; round++) {
		id = trace_push(tj, "k", "r", 0, 0);
		saved = ls_tracejoin_saved(tj, id);
		CU_ASSERT_EQUAL(saved->len, 0);
		CU_ASSERT_EQUAL(ls_buf_append(saved, "kept", 4), 0);
		CU_ASSERT_PTR_NOT_NULL(trace_next(tj, &rec));
		CU_ASSERT_EQUAL(rec.saved_len, 4);
		CU_ASSERT_NSTRING_EQUAL(rec.saved, "kept", 4);
		ls_tracejoin_pop(tj);
	}
	ls_tracejoin_free(tj);
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
	{"container trace: lines join their record", test_trace_join},
	{"container trace: records leave in read order", test_trace_order},
	{"container trace: line and byte caps", test_trace_caps},
	{"container trace: queue bounds, three streams", test_trace_bounds},
	{"container trace: the caller's copy kept", test_trace_saved},
	{NULL, NULL}
};

LS_TEST_SUITE(multiline, cases)

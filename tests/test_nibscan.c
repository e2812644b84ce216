/* test_nibscan.c - the three-byte literal scan agrees with a naive search,
 * at every text length around its block edges (16 and 32 positions, the
 * last two bytes), for literals of one byte up, caseless or not. */
#include "unit.h"

#include "../parsers/nibscan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Does lit (lowercase when caseless) occur in text? */
static int naive(const char *text, size_t tlen, const char *lit, int caseless)
{
	size_t n = strlen(lit);

	for (size_t i = 0; i + n <= tlen; i++) {
		size_t j = 0;
		while (j < n && (caseless ? tolower((unsigned char)text[i + j]) :
				 (unsigned char)text[i + j]) == (unsigned char)lit[j])
			j++;
		if (j == n)
			return 1;
	}
	return 0;
}

static const struct {
	const char *text;
	int caseless;
} lits[] = {
	{"${", 0}, {"()", 0}, {"\" 401", 0}, {"\" 404", 0}, {"%24%7b", 1}, {"$%7b", 1},
	{"union", 1}, {"select", 1}, {"../", 0}, {"'", 0}, {"a", 1}, {"ab", 0}, {"abc", 0},
	{"bca", 1}, {"Failed password", 0}, {"invalid user", 1}, {"\xff\xfe", 0},
	{"x\xfe\xff", 0}, {"port 22", 0}, {".env", 0},
};
#define NLIT (sizeof(lits) / sizeof(lits[0]))

/* Fills text with pieces of literals (either case) and filler bytes. */
static void fill(char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		if (rand() % 3 == 0) {
			const char *l = lits[rand() % NLIT].text;
			size_t m = strlen(l) - (size_t)(rand() % 2 && strlen(l) > 1);
			for (size_t j = 0; j < m && i < len; j++)
				text[i++] = rand() % 2 ? (char)toupper((unsigned char)l[j]) : l[j];
		} else {
			text[i++] = (char)("abcxyz ./%'<$=\"4\xff\xfe"[rand() % 19]);
		}
	}
}

/* Scans random texts of every length up to 300 and compares with naive(). */
static void check_against_naive(struct ls_nibscan *t, unsigned seed)
{
	srand(seed);
	for (int round = 0; round < 6; round++) {
		for (size_t len = 0; len <= 300; len++) {
			/* exactly len bytes on the heap, so a read past them is caught
			 * by the sanitizers */
			char *text = malloc(len ? len : 1);
			uint64_t bits[1] = {0};
			int any, want_any = 0;
			CU_ASSERT_PTR_NOT_NULL_FATAL(text);
			fill(text, len);
			any = ls_nibscan_scan(t, text, len, bits);
			for (size_t k = 0; k < NLIT; k++) {
				int want = naive(text, len, lits[k].text, lits[k].caseless);
				want_any |= want;
				CU_ASSERT_EQUAL(((bits[0] >> k) & 1) != 0, want);
			}
			CU_ASSERT_EQUAL(any, want_any);
			free(text);
		}
	}
}

static void test_against_naive(void)
{
	struct ls_nibscan *t = NULL;
	uint32_t weight[256];

	if (!ls_nibscan_usable())
		return; /* the rules never use it there: nothing to compare */
	CU_ASSERT_EQUAL_FATAL(ls_nibscan_new(&t, (uint32_t)NLIT), 0);
	for (size_t k = 0; k < NLIT; k++)
		ls_nibscan_set(t, (uint32_t)k, lits[k].text, (uint32_t)strlen(lits[k].text),
			       lits[k].caseless);
	/* the windows depend on the weights: all equal, then skewed */
	for (int c = 0; c < 256; c++)
		weight[c] = 1;
	ls_nibscan_build(t, weight);
	check_against_naive(t, 11);
	for (int c = 0; c < 256; c++)
		weight[c] = (uint32_t)(c * 7919 % 1000);
	ls_nibscan_build(t, weight);
	check_against_naive(t, 12);
	CU_ASSERT_TRUE(ls_nibscan_memory(t) > 0);
	ls_nibscan_free(t);
}

/* The expected comparisons: none for text without the literals' bytes,
 * many for text made of them. */
static void test_compares(void)
{
	struct ls_nibscan *t = NULL;
	uint32_t count[256] = {0}, weight[256];

	CU_ASSERT_EQUAL_FATAL(ls_nibscan_new(&t, 2), 0);
	ls_nibscan_set(t, 0, "abc", 3, 0);
	ls_nibscan_set(t, 1, "xyz", 3, 0);
	for (int c = 0; c < 256; c++)
		weight[c] = 1;
	ls_nibscan_build(t, weight);
	count['Q'] = 100;
	CU_ASSERT_DOUBLE_EQUAL(ls_nibscan_compares(t, count), 0.0, 1e-9);
	count['Q'] = 0;
	count['a'] = count['b'] = count['c'] = 100;
	/* a position passes for "abc" when its three bytes are a, b, c in
	 * that order: (1/3)^3 of them */
	CU_ASSERT_DOUBLE_EQUAL(ls_nibscan_compares(t, count), 1.0 / 27, 1e-6);
	ls_nibscan_free(t);
}

static void test_bad_sizes(void)
{
	struct ls_nibscan *t = (struct ls_nibscan *)1;

	CU_ASSERT_EQUAL(ls_nibscan_new(&t, 0), -2);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_EQUAL(ls_nibscan_new(&t, LS_NIBSCAN_MAX_LIT + 1), -2);
	CU_ASSERT_PTR_NULL(t);
}

static const struct ls_test_case cases[] = {
	{"agrees with a naive search at every length", test_against_naive},
	{"expected comparisons follow the byte counts", test_compares},
	{"no literals or too many are refused", test_bad_sizes},
	{NULL, NULL}
};

LS_TEST_SUITE(nibscan, cases)

/* test_acmatch.c - the multi-literal scanner agrees with a naive search. */
#include "unit.h"

#include "../parsers/acmatch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Caseless naive search: does lit occur in text? */
static int naive(const char *text, size_t tlen, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; i + n <= tlen; i++) {
		size_t j = 0;
		while (j < n && tolower((unsigned char)text[i + j]) == tolower((unsigned char)lit[j]))
			j++;
		if (j == n)
			return 1;
	}
	return 0;
}

static const char *const lits[] = {
	"union", "select", "../", "%2e", "${jndi:", "<script", "'", "or 1=1", "sqlmap",
	"nikto", "a", "ab", "abc", "bca", "cab", "/etc/passwd", ".env", ".git/", "wp-config",
	"Failed password", "invalid user", "\xff\xfe", NULL
};

static void test_against_naive(void)
{
	struct ls_ac *ac = NULL;
	int n = 0;

	CU_ASSERT_EQUAL_FATAL(ls_ac_new(&ac), 0);
	for (; lits[n]; n++)
		CU_ASSERT_EQUAL(ls_ac_add(ac, lits[n], strlen(lits[n]), n), 0);
	CU_ASSERT_EQUAL_FATAL(ls_ac_build(ac), 0);
	srand(7);
	for (int round = 0; round < 3000; round++) {
		char text[128];
		size_t len = (size_t)(rand() % 128);
		uint64_t hits[1] = {0};
		/* pieces of literals glued with random bytes hit many edges */
		for (size_t i = 0; i < len;) {
			if (rand() % 3 == 0) {
				const char *l = lits[rand() % n];
				size_t m = strlen(l) - (size_t)(rand() % 2 && strlen(l) > 1);
				for (size_t j = 0; j < m && i < len; j++)
					text[i++] = rand() % 2 ? (char)toupper((unsigned char)l[j]) : l[j];
			} else {
				text[i++] = (char)("abcxyz ./%'<$=\xff\xfe"[rand() % 16]);
			}
		}
		int any = ls_ac_scan(ac, text, len, hits, 1);
		int want_any = 0;
		for (int k = 0; k < n; k++) {
			int want = naive(text, len, lits[k]);
			want_any |= want;
			CU_ASSERT_EQUAL(((hits[0] >> k) & 1) != 0, want);
		}
		CU_ASSERT_EQUAL(any, want_any);
	}
	CU_ASSERT_TRUE(ls_ac_memory(ac) > 0);
	ls_ac_free(ac);
}

/* Long texts are scanned as two halves side by side: every literal at
 * every position of texts around and past the split lengths is found, and
 * nothing else (the filler '~' is in no literal). */
static void test_every_position(void)
{
	static const size_t lens[] = { 47, 48, 59, 60, 61, 64, 65, 127, 128, 301 };
	struct ls_ac *ac = NULL;
	int n = 0;

	CU_ASSERT_EQUAL_FATAL(ls_ac_new(&ac), 0);
	for (; lits[n]; n++)
		CU_ASSERT_EQUAL(ls_ac_add(ac, lits[n], strlen(lits[n]), n), 0);
	CU_ASSERT_EQUAL_FATAL(ls_ac_build(ac), 0);
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		char text[320];
		size_t len = lens[li], bad = 0;
		for (int k = 0; k < n; k++) {
			size_t m = strlen(lits[k]);
			for (size_t at = 0; at + m <= len; at++) {
				uint64_t hits[1] = {0};
				memset(text, '~', len);
				memcpy(text + at, lits[k], m);
				if (!ls_ac_scan(ac, text, len, hits, 1) || !(hits[0] >> k & 1))
					bad++;
				for (int j = 0; j < n; j++)
					if ((hits[0] >> j & 1) && !naive(text, len, lits[j]))
						bad++;
			}
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
	ls_ac_free(ac);
}

static void test_empty_and_bad(void)
{
	struct ls_ac *ac = NULL;
	uint64_t hits[1] = {0};

	CU_ASSERT_EQUAL_FATAL(ls_ac_new(&ac), 0);
	CU_ASSERT_EQUAL(ls_ac_add(ac, "", 0, 1), -2);
	CU_ASSERT_EQUAL(ls_ac_build(ac), 0);
	CU_ASSERT_EQUAL(ls_ac_scan(ac, "anything", 8, hits, 1), 0);
	CU_ASSERT_EQUAL(hits[0], 0);
	ls_ac_free(ac);
}

static const struct ls_test_case cases[] = {
	{"agrees with a naive caseless search", test_against_naive},
	{"every literal at every position of long texts", test_every_position},
	{"empty automaton finds nothing", test_empty_and_bad},
	{NULL, NULL}
};

LS_TEST_SUITE(acmatch, cases)

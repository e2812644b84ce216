/* acmatch.c - a caseless Aho-Corasick automaton compiled into a dense
 * transition table over byte classes (only the bytes that occur in some
 * literal get a class of their own). */
#include "acmatch.h"
#include "error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct lit {
	char *text;
	size_t len;
	int id;
};

struct ls_ac {
	int nlits, litcap;
	struct lit *lits;
	/* built */
	int nclasses;
	uint8_t cls[256];      /* byte -> class (0: none of the literals') */
	int nstates;
	/* nstates x nclasses, each the next state times nclasses (its row's
	 * offset), the states with outputs numbered last: from out_base on */
	uint32_t *delta;
	uint32_t out_base;
	int32_t *trie;         /* while building: state ids, -1: no edge */
	int32_t *out_first;    /* per state: first index into outs, or -1 */
	int32_t *out_count;
	int32_t *outs;         /* literal ids */
	int nouts;
	size_t maxlen;         /* the longest literal */
};

int ls_ac_new(struct ls_ac **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : LS_ENOMEM;
}

void ls_ac_free(struct ls_ac *ac)
{
	if (!ac)
		return;
	for (int i = 0; i < ac->nlits; i++)
		free(ac->lits[i].text);
	free(ac->lits);
	free(ac->delta);
	free(ac->trie);
	free(ac->out_first);
	free(ac->out_count);
	free(ac->outs);
	free(ac);
}

int ls_ac_add(struct ls_ac *ac, const char *lit, size_t len, int id)
{
	struct lit *l;

	if (len == 0 || id < 0)
		return LS_EINVAL;
	if (ac->nlits == ac->litcap) {
		int cap = ac->litcap ? ac->litcap * 2 : 32;
		struct lit *p = realloc(ac->lits, (size_t)cap * sizeof(*p));
		if (!p)
			return LS_ENOMEM;
		ac->lits = p;
		ac->litcap = cap;
	}
	l = &ac->lits[ac->nlits];
	l->text = malloc(len);
	if (!l->text)
		return LS_ENOMEM;
	for (size_t i = 0; i < len; i++)
		l->text[i] = (char)tolower((unsigned char)lit[i]);
	l->len = len;
	l->id = id;
	ac->nlits++;
	return 0;
}

static void make_classes(struct ls_ac *ac)
{
	memset(ac->cls, 0, sizeof(ac->cls));
	ac->nclasses = 1;
	for (int i = 0; i < ac->nlits; i++)
		for (size_t k = 0; k < ac->lits[i].len; k++) {
			unsigned char c = (unsigned char)ac->lits[i].text[k];
			if (!ac->cls[c])
				ac->cls[c] = (uint8_t)ac->nclasses++;
		}
	/* upper-case letters share their lower-case class */
	for (int c = 'A'; c <= 'Z'; c++)
		ac->cls[c] = ac->cls[c + 32];
}

/* Builds the trie in delta (-1: no edge); returns the state count or -1. */
static int build_trie(struct ls_ac *ac, int32_t **term_lists, int *term_n)
{
	int nstates = 1, k = ac->nclasses;

	for (int i = 0; i < ac->nlits; i++) {
		int s = 0;
		for (size_t j = 0; j < ac->lits[i].len; j++) {
			int c = ac->cls[(unsigned char)ac->lits[i].text[j]];
			if (ac->trie[s * k + c] < 0)
				ac->trie[s * k + c] = nstates++;
			s = ac->trie[s * k + c];
		}
		term_lists[s] = realloc(term_lists[s], (size_t)(term_n[s] + 1) * sizeof(int32_t));
		if (!term_lists[s])
			return -1;
		term_lists[s][term_n[s]++] = ac->lits[i].id;
	}
	return nstates;
}

/* Turns the trie into a full automaton breadth-first; collects outputs. */
static int build_links(struct ls_ac *ac, int32_t **term_lists, int *term_n)
{
	int k = ac->nclasses, n = ac->nstates, head = 0, tail = 0;
	int32_t *fail = calloc((size_t)n, sizeof(*fail));
	int32_t *queue = calloc((size_t)n, sizeof(*queue));
	int32_t *order = queue;
	int rc = LS_ENOMEM;

	if (!fail || !queue)
		goto out;
	for (int c = 0; c < k; c++) {
		int t = ac->trie[c];
		if (t < 0) {
			ac->trie[c] = 0;
		} else {
			fail[t] = 0;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		int s = queue[head++];
		for (int c = 0; c < k; c++) {
			int t = ac->trie[s * k + c];
			if (t < 0) {
				ac->trie[s * k + c] = ac->trie[fail[s] * k + c];
			} else {
				fail[t] = ac->trie[fail[s] * k + c];
				queue[tail++] = t;
			}
		}
	}
	/* outputs of a state: its own terms plus its fail state's (BFS order
	 * guarantees the fail state was finished first) */
	ac->out_first = malloc((size_t)n * sizeof(int32_t));
	ac->out_count = calloc((size_t)n, sizeof(int32_t));
	if (!ac->out_first || !ac->out_count)
		goto out;
	ac->out_first[0] = -1;
	for (int i = -1; i < tail; i++) {
		int s = i < 0 ? 0 : order[i];
		int f = i < 0 ? -1 : fail[s];
		int cnt = term_n[s] + (f > 0 ? ac->out_count[f] : 0);
		int32_t *p = realloc(ac->outs, (size_t)(ac->nouts + cnt + 1) * sizeof(int32_t));
		if (!p)
			goto out;
		ac->outs = p;
		ac->out_first[s] = cnt ? ac->nouts : -1;
		for (int j = 0; j < term_n[s]; j++)
			ac->outs[ac->nouts++] = term_lists[s][j];
		for (int j = 0; f > 0 && j < ac->out_count[f]; j++)
			ac->outs[ac->nouts++] = ac->outs[ac->out_first[f] + j];
		ac->out_count[s] = cnt;
	}
	rc = 0;
out:
	free(fail);
	free(queue);
	return rc;
}

/* Numbers the states with outputs last and stores each transition as the
 * offset of the next state's row, so that a scan step is one add and one
 * load, and a state with outputs is told by comparing its offset. */
static int renumber(struct ls_ac *ac)
{
	size_t n = (size_t)ac->nstates, k = (size_t)ac->nclasses;
	int32_t *perm = malloc(n * sizeof(*perm));
	int32_t *first = malloc(n * sizeof(*first)), *count = malloc(n * sizeof(*count));
	uint32_t *d = malloc(n * k * sizeof(*d));
	const int32_t *old = ac->trie;
	int next = 0;

	if (!perm || !first || !count || !d || n * k >= (size_t)INT32_MAX) {
		free(perm);
		free(first);
		free(count);
		free(d);
		return LS_ENOMEM;
	}
	for (size_t s = 0; s < n; s++)
		if (!ac->out_count[s])
			perm[s] = next++;
	ac->out_base = (uint32_t)((size_t)next * k);
	for (size_t s = 0; s < n; s++)
		if (ac->out_count[s])
			perm[s] = next++;
	for (size_t s = 0; s < n; s++) {
		size_t t = (size_t)perm[s];
		for (size_t c = 0; c < k; c++)
			d[t * k + c] = (uint32_t)((size_t)perm[old[s * k + c]] * k);
		first[t] = ac->out_first[s];
		count[t] = ac->out_count[s];
	}
	free(perm);
	free(ac->trie);
	ac->trie = NULL;
	free(ac->out_first);
	free(ac->out_count);
	ac->delta = d;
	ac->out_first = first;
	ac->out_count = count;
	return 0;
}

int ls_ac_build(struct ls_ac *ac)
{
	size_t max_states = 1;
	int32_t **term_lists = NULL;
	int *term_n = NULL;
	int rc = LS_ENOMEM;

	make_classes(ac);
	for (int i = 0; i < ac->nlits; i++) {
		max_states += ac->lits[i].len;
		if (ac->lits[i].len > ac->maxlen)
			ac->maxlen = ac->lits[i].len;
	}
	ac->trie = malloc(max_states * (size_t)ac->nclasses * sizeof(int32_t));
	term_lists = calloc(max_states, sizeof(*term_lists));
	term_n = calloc(max_states, sizeof(*term_n));
	if (!ac->trie || !term_lists || !term_n)
		goto out;
	memset(ac->trie, 0xff, max_states * (size_t)ac->nclasses * sizeof(int32_t));
	ac->nstates = build_trie(ac, term_lists, term_n);
	if (ac->nstates < 0)
		goto out;
	rc = build_links(ac, term_lists, term_n);
	if (rc == 0)
		rc = renumber(ac);
out:
	for (size_t i = 0; term_lists && i < max_states; i++)
		free(term_lists[i]);
	free(term_lists);
	free(term_n);
	return rc;
}

/* Sets the bits of the literals whose state s outputs. */
static inline void ac_out(const struct ls_ac *ac, uint32_t s, uint64_t *hits, int nwords)
{
	uint32_t st = s / (uint32_t)ac->nclasses;
	const int32_t *o = ac->outs + ac->out_first[st];

	for (int j = 0; j < ac->out_count[st]; j++)
		if (o[j] < nwords * 64)
			hits[o[j] >> 6] |= (uint64_t)1 << (o[j] & 63);
}

/* Texts at least this long, and this much longer than the longest
 * literal, are scanned as two parts at once. */
#define AC_SPLIT_MIN 32
#define AC_SPLIT_GAIN 24

int ls_ac_scan(const struct ls_ac *ac, const char *text, size_t len,
	       uint64_t *hits, int nwords)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	const unsigned char *q, *qend;
	const uint32_t *delta = ac->delta;
	const uint8_t *cls = ac->cls;
	uint32_t s = 0, t = 0, out_base = ac->out_base;
	int any = 0;

	if (!delta)
		return 0;
	/* Each step waits for the state the last one loaded, so one walk
	 * leaves the core idle: two walks run side by side, from the start
	 * over [0, m + maxlen - 1) and from m to the end, m chosen so both are
	 * as long. A literal starting before m ends in the first part and is
	 * found by the first walk; one starting at m or after, by the second. */
	if (len >= AC_SPLIT_MIN && len >= ac->maxlen + AC_SPLIT_GAIN) {
		q = p + (len - (ac->maxlen - 1)) / 2;
		qend = end;
		end = q + ac->maxlen - 1;
		for (; q < qend && p < end; p++, q++) {
			s = delta[s + cls[*p]];
			t = delta[t + cls[*q]];
			if (s >= out_base) {
				ac_out(ac, s, hits, nwords);
				any = 1;
			}
			if (t >= out_base) {
				ac_out(ac, t, hits, nwords);
				any = 1;
			}
		}
		for (; q < qend; q++) {
			t = delta[t + cls[*q]];
			if (t >= out_base) {
				ac_out(ac, t, hits, nwords);
				any = 1;
			}
		}
	}
	for (; p < end; p++) {
		s = delta[s + cls[*p]];
		if (s >= out_base) {
			ac_out(ac, s, hits, nwords);
			any = 1;
		}
	}
	return any;
}

size_t ls_ac_memory(const struct ls_ac *ac)
{
	return (size_t)ac->nstates * (size_t)ac->nclasses * sizeof(int32_t) +
	       (size_t)ac->nstates * 2 * sizeof(int32_t) + (size_t)ac->nouts * sizeof(int32_t);
}

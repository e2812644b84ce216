/* nibscan.c - literals found by their three rarest bytes in a row, sixteen
 * positions at a time (thirty-two with AVX2; see nibscan.h).
 *
 * Each literal is looked for by a window of up to three bytes in it, and
 * put in one of eight buckets. For window byte j there are two tables of
 * sixteen bucket masks: lo[j][c & 15] has bit b when some literal of
 * bucket b may have a byte with low nibble c & 15 there, hi[j][c >> 4]
 * likewise for the high nibble. A position passes for bucket b when bit b
 * survives the AND of both lookups for each of the three bytes from it: a
 * superset of the positions where a window of that bucket starts, which
 * the literals of the bucket are then compared at. */
#include "nibscan.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define WIN 3       /* bytes classified per position */
#define BUCKETS 8   /* bits of a table entry */

struct nib_lit {
	const unsigned char *text;  /* borrowed; lowercase when caseless */
	uint32_t len;
	uint32_t win;               /* offset of its window */
	uint8_t caseless;
};

struct ls_nibscan {
	uint8_t lo[WIN][16], hi[WIN][16];
	uint32_t nlit;
	struct nib_lit *lits;
	uint32_t *order;            /* literal ids by bucket */
	uint32_t *shorts;           /* ids of literals shorter than WIN */
	uint32_t nshort;
	uint32_t first[BUCKETS + 1]; /* bucket b: order[first[b]..first[b+1]) */
};

static unsigned char upper_of(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static unsigned char lower_of(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_NIBSCAN 1

int ls_nibscan_usable(void)
{
	static int known = -1;

	if (known < 0) {
		__builtin_cpu_init();
		known = __builtin_cpu_supports("ssse3") ? 1 : 0;
	}
	return known;
}
#else
int ls_nibscan_usable(void)
{
	return 0;
}
#endif

int ls_nibscan_new(struct ls_nibscan **out, uint32_t nlit)
{
	struct ls_nibscan *t;

	*out = NULL;
	if (nlit == 0 || nlit > LS_NIBSCAN_MAX_LIT)
		return LS_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return LS_ENOMEM;
	t->nlit = nlit;
	t->lits = calloc(nlit, sizeof(*t->lits));
	t->order = calloc(nlit, sizeof(*t->order));
	t->shorts = calloc(nlit, sizeof(*t->shorts));
	if (!t->lits || !t->order || !t->shorts) {
		ls_nibscan_free(t);
		return LS_ENOMEM;
	}
	*out = t;
	return 0;
}

void ls_nibscan_free(struct ls_nibscan *t)
{
	if (!t)
		return;
	free(t->lits);
	free(t->order);
	free(t->shorts);
	free(t);
}

void ls_nibscan_set(struct ls_nibscan *t, uint32_t id, const char *text, uint32_t len,
		    int caseless)
{
	struct nib_lit *l = &t->lits[id];

	l->text = (const unsigned char *)text;
	l->len = len;
	l->caseless = (uint8_t)(caseless != 0);
	l->win = 0;
}

/* About 8 log2(w + 1): the cost of a window is the sum over its bytes,
 * so that it ranks windows by the product of their bytes' weights. */
static uint32_t log_cost(uint64_t w)
{
	int b;

	w++;
	b = 63 - __builtin_clzll(w);
	return (uint32_t)b * 8 + (uint32_t)((b >= 3 ? w >> (b - 3) : w << (3 - b)) & 7);
}

static uint64_t byte_weight(const uint32_t weight[256], unsigned char c, int caseless)
{
	if (caseless && upper_of(c) != c)
		return (uint64_t)weight[c] + weight[upper_of(c)];
	return weight[c];
}

/* Gives l the window of its WIN bytes in a row with the lowest cost. */
static void choose_window(struct nib_lit *l, const uint32_t weight[256])
{
	uint32_t best = UINT32_MAX;

	l->win = 0;
	if (l->len <= WIN)
		return;
	for (uint32_t off = 0; off + WIN <= l->len; off++) {
		uint32_t cost = 0;
		for (int j = 0; j < WIN; j++)
			cost += log_cost(byte_weight(weight, l->text[off + j], l->caseless));
		if (cost < best) {
			best = cost;
			l->win = off;
		}
	}
}

/* The order of literals a and b of t: by window length, then by their
 * window's bytes, so that similar windows share a bucket (and the short
 * ones, which pass more positions, spoil as few buckets as possible);
 * then by id. */
static int window_cmp(const struct ls_nibscan *t, uint32_t a, uint32_t b)
{
	const struct nib_lit *x = &t->lits[a], *y = &t->lits[b];
	uint32_t xn = x->len < WIN ? x->len : WIN, yn = y->len < WIN ? y->len : WIN;

	if (xn != yn)
		return xn < yn ? -1 : 1;
	for (uint32_t j = 0; j < xn; j++) {
		unsigned char cx = lower_of(x->text[x->win + j]);
		unsigned char cy = lower_of(y->text[y->win + j]);
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return a < b ? -1 : 1;
}

/* Sorts t->order by window_cmp(): an insertion sort, as there are a few
 * dozen literals and qsort() would want a global for its context. */
static void order_windows(struct ls_nibscan *t)
{
	for (uint32_t i = 1; i < t->nlit; i++) {
		uint32_t id = t->order[i], k = i;
		for (; k > 0 && window_cmp(t, t->order[k - 1], id) > 0; k--)
			t->order[k] = t->order[k - 1];
		t->order[k] = id;
	}
}

/* Marks in the tables that byte c may be window byte j of bucket b. */
static void table_add(struct ls_nibscan *t, int j, unsigned char c, uint8_t bit)
{
	t->lo[j][c & 15] |= bit;
	t->hi[j][c >> 4] |= bit;
}

/* Adds literal l to bucket b's table entries: past its end, any byte. */
static void tables_add(struct ls_nibscan *t, const struct nib_lit *l, int b)
{
	uint8_t bit = (uint8_t)(1u << b);

	for (int j = 0; j < WIN; j++) {
		if ((uint32_t)j >= l->len) {
			for (int n = 0; n < 16; n++)
				table_add(t, j, (unsigned char)(n | n << 4), bit);
			continue;
		}
		unsigned char c = l->text[l->win + (uint32_t)j];
		table_add(t, j, c, bit);
		if (l->caseless && upper_of(c) != c)
			table_add(t, j, upper_of(c), bit);
	}
}

void ls_nibscan_build(struct ls_nibscan *t, const uint32_t weight[256])
{
	uint32_t per, nb = t->nlit < BUCKETS ? t->nlit : BUCKETS;

	t->nshort = 0;
	for (uint32_t i = 0; i < t->nlit; i++) {
		choose_window(&t->lits[i], weight);
		t->order[i] = i;
		if (t->lits[i].len < WIN)
			t->shorts[t->nshort++] = i;
	}
	order_windows(t);
	memset(t->lo, 0, sizeof(t->lo));
	memset(t->hi, 0, sizeof(t->hi));
	per = (t->nlit + nb - 1) / nb;
	for (uint32_t b = 0; b <= BUCKETS; b++)
		t->first[b] = b * per < t->nlit ? b * per : t->nlit;
	for (uint32_t b = 0; b < BUCKETS; b++)
		for (uint32_t k = t->first[b]; k < t->first[b + 1]; k++)
			tables_add(t, &t->lits[t->order[k]], (int)b);
}

double ls_nibscan_compares(const struct ls_nibscan *t, const uint32_t count[256])
{
	double total = 0, compares = 0;

	for (int c = 0; c < 256; c++)
		total += count[c];
	if (total == 0)
		return 1;
	for (int b = 0; b < BUCKETS; b++) {
		double pass = 1;
		for (int j = 0; j < WIN; j++) {
			double seen = 0;
			for (int c = 0; c < 256; c++)
				if (t->lo[j][c & 15] & t->hi[j][c >> 4] & (1u << b))
					seen += count[c];
			pass *= seen / total;
		}
		compares += pass * (t->first[b + 1] - t->first[b]);
	}
	return compares;
}

/* 1 when literal l is at text + start (inside len bytes). */
static int lit_at(const struct nib_lit *l, const unsigned char *text, size_t len,
		  size_t start)
{
	const unsigned char *at = text + start;
	uint32_t i = 0;

	if (l->len > len - start)
		return 0;
	if (l->caseless)
		while (i < l->len && lower_of(at[i]) == l->text[i])
			i++;
	else
		while (i < l->len && at[i] == l->text[i])
			i++;
	return i == l->len;
}

/* Compares the literals of the buckets in masks[k] at window position
 * base + k, for each bit k of pass. Returns 1 when any was there. */
static int confirm(const struct ls_nibscan *t, const unsigned char *text, size_t len,
		   size_t base, const uint8_t masks[16], unsigned pass, uint64_t *bits)
{
	int any = 0;

	for (; pass; pass &= pass - 1) {
		int k = __builtin_ctz(pass);
		size_t pos = base + (size_t)k;
		for (unsigned bk = masks[k]; bk; bk &= bk - 1) {
			int b = __builtin_ctz(bk);
			for (uint32_t i = t->first[b]; i < t->first[b + 1]; i++) {
				uint32_t id = t->order[i];
				const struct nib_lit *l = &t->lits[id];
				if (pos >= l->win && lit_at(l, text, len, pos - l->win)) {
					bits[id >> 6] |= (uint64_t)1 << (id & 63);
					any = 1;
				}
			}
		}
	}
	return any;
}

#if defined(HAVE_NIBSCAN)
#include <immintrin.h>

/* Whether the CPU has AVX2 (thirty-two positions at a time); asked once. */
static int have_avx2(void)
{
	static int known = -1;

	if (known < 0) {
		__builtin_cpu_init();
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	}
	return known;
}

/* Bucket masks of the sixteen positions from p (p[0..18) readable), the
 * tables in lo[] and hi[]. */
__attribute__((target("ssse3")))
static inline __m128i classify16(const __m128i lo[WIN], const __m128i hi[WIN],
				 const unsigned char *p)
{
	const __m128i low4 = _mm_set1_epi8(0x0f);
	__m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
	__m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
	__m128i m0 = _mm_and_si128(_mm_shuffle_epi8(lo[0], _mm_and_si128(v0, low4)),
				   _mm_shuffle_epi8(hi[0], _mm_and_si128(_mm_srli_epi16(v0, 4), low4)));
	__m128i m1 = _mm_and_si128(_mm_shuffle_epi8(lo[1], _mm_and_si128(v1, low4)),
				   _mm_shuffle_epi8(hi[1], _mm_and_si128(_mm_srli_epi16(v1, 4), low4)));
	__m128i m2 = _mm_and_si128(_mm_shuffle_epi8(lo[2], _mm_and_si128(v2, low4)),
				   _mm_shuffle_epi8(hi[2], _mm_and_si128(_mm_srli_epi16(v2, 4), low4)));
	return _mm_and_si128(m0, _mm_and_si128(m1, m2));
}

/* Positions with any bucket bit in m, as a 16-bit mask. */
__attribute__((target("ssse3")))
static inline unsigned passing16(__m128i m)
{
	return ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(m, _mm_setzero_si128())) & 0xffffu;
}

/* Bucket masks of the thirty-two positions from p (p[0..34) readable). */
__attribute__((target("avx2")))
static inline __m256i classify32(const __m256i lo[WIN], const __m256i hi[WIN],
				 const unsigned char *p)
{
	const __m256i low4 = _mm256_set1_epi8(0x0f);
	__m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 1));
	__m256i v2 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 2));
	__m256i m0 = _mm256_and_si256(
		_mm256_shuffle_epi8(lo[0], _mm256_and_si256(v0, low4)),
		_mm256_shuffle_epi8(hi[0], _mm256_and_si256(_mm256_srli_epi16(v0, 4), low4)));
	__m256i m1 = _mm256_and_si256(
		_mm256_shuffle_epi8(lo[1], _mm256_and_si256(v1, low4)),
		_mm256_shuffle_epi8(hi[1], _mm256_and_si256(_mm256_srli_epi16(v1, 4), low4)));
	__m256i m2 = _mm256_and_si256(
		_mm256_shuffle_epi8(lo[2], _mm256_and_si256(v2, low4)),
		_mm256_shuffle_epi8(hi[2], _mm256_and_si256(_mm256_srli_epi16(v2, 4), low4)));
	return _mm256_and_si256(m0, _mm256_and_si256(m1, m2));
}

/* Scans the positions from *at on that hold a whole window (AVX2; len
 * at least 32 + WIN - 1), advancing *at past them. */
__attribute__((target("avx2")))
static int scan32(const struct ls_nibscan *t, const unsigned char *p, size_t len,
		  size_t *at, uint64_t *bits)
{
	__m256i lo[WIN], hi[WIN];
	uint8_t masks[32];
	size_t i = *at;
	int any = 0;

	for (int j = 0; j < WIN; j++) {
		lo[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)t->lo[j]));
		hi[j] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)t->hi[j]));
	}
	for (; i + 32 + WIN - 1 <= len; i += 32) {
		__m256i m = classify32(lo, hi, p + i);
		uint32_t pass = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256()));
		if (!pass)
			continue;
		_mm256_storeu_si256((__m256i *)(void *)masks, m);
		any |= confirm(t, p, len, i, masks, pass & 0xffffu, bits);
		any |= confirm(t, p, len, i + 16, masks + 16, pass >> 16, bits);
	}
	if (i + WIN - 1 < len) {
		/* the positions left that hold a whole window, in one block
		 * ending at the end (those before i masked out) */
		size_t base = len - (32 + WIN - 1);
		__m256i m = classify32(lo, hi, p + base);
		uint32_t pass = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256())) &
				~((1u << (i - base)) - 1);
		if (pass) {
			_mm256_storeu_si256((__m256i *)(void *)masks, m);
			any |= confirm(t, p, len, base, masks, pass & 0xffffu, bits);
			any |= confirm(t, p, len, base + 16, masks + 16, pass >> 16, bits);
		}
		i = len - (WIN - 1);
	}
	*at = i;
	return any;
}

__attribute__((target("ssse3")))
int ls_nibscan_scan(const struct ls_nibscan *t, const char *text, size_t len, uint64_t *bits)
{
	const unsigned char *p = (const unsigned char *)text;
	__m128i lo[WIN], hi[WIN];
	uint8_t masks[16];
	size_t i = 0;
	int any = 0;

	if (len >= 32 + WIN - 1 && have_avx2())
		any = scan32(t, p, len, &i, bits);
	for (int j = 0; j < WIN; j++) {
		lo[j] = _mm_loadu_si128((const __m128i *)(const void *)t->lo[j]);
		hi[j] = _mm_loadu_si128((const __m128i *)(const void *)t->hi[j]);
	}
	for (; i + 16 + WIN - 1 <= len; i += 16) {
		__m128i m = classify16(lo, hi, p + i);
		unsigned pass = passing16(m);
		if (!pass)
			continue;
		_mm_storeu_si128((__m128i *)(void *)masks, m);
		any |= confirm(t, p, len, i, masks, pass, bits);
	}
	if (i < len && len >= 16 + WIN - 1) {
		/* the last positions but WIN - 1 in one block ending at the
		 * end, less those done already; in the last WIN - 1 only a
		 * literal shorter than WIN can start */
		size_t base = len - (16 + WIN - 1);
		if (i + WIN - 1 < len) {
			__m128i m = classify16(lo, hi, p + base);
			unsigned pass = passing16(m) & ~((1u << (i - base)) - 1);
			if (pass) {
				_mm_storeu_si128((__m128i *)(void *)masks, m);
				any |= confirm(t, p, len, base, masks, pass, bits);
			}
		}
		for (uint32_t k = 0; k < t->nshort; k++) {
			uint32_t id = t->shorts[k];
			const struct nib_lit *l = &t->lits[id];
			for (size_t at = len - (WIN - 1); at < len; at++) {
				/* the first byte rules most out without a call */
				if ((l->caseless ? lower_of(p[at]) : p[at]) == l->text[0] &&
				    lit_at(l, p, len, at)) {
					bits[id >> 6] |= (uint64_t)1 << (id & 63);
					any = 1;
				}
			}
		}
		return any;
	}
	/* a short text: its positions from a zero-padded copy */
	for (; i < len; i += 16) {
		unsigned char pad[32] = { 0 };
		size_t n = len - i < 16 + WIN - 1 ? len - i : 16 + WIN - 1;
		memcpy(pad, p + i, n);
		__m128i m = classify16(lo, hi, pad);
		unsigned pass = passing16(m) & (n >= 16 ? 0xffffu : (1u << n) - 1);
		if (!pass)
			continue;
		_mm_storeu_si128((__m128i *)(void *)masks, m);
		any |= confirm(t, p, len, i, masks, pass, bits);
	}
	return any;
}
#else
/* Never called: ls_nibscan_usable() is 0 where the shuffles are missing. */
int ls_nibscan_scan(const struct ls_nibscan *t, const char *text, size_t len, uint64_t *bits)
{
	(void)t;
	(void)text;
	(void)len;
	(void)bits;
	return 0;
}
#endif

size_t ls_nibscan_memory(const struct ls_nibscan *t)
{
	return t ? sizeof(*t) + t->nlit * (sizeof(*t->lits) + sizeof(*t->order) +
					   sizeof(*t->shorts)) : 0;
}

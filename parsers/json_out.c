/* json_out.c - events as one JSON object per line: string escaping that
 * keeps valid UTF-8 and writes invalid bytes as \xHH, and nesting of dotted
 * field names into objects.
 *
 * Two encoders write the same bytes. The checked one appends piece by piece
 * through ls_buf and handles any event. The fast one, used for nearly every
 * event, reserves an upper bound once and writes through a pointer, using a
 * cached "shape": the sorted entry order plus the text that goes before each
 * value (closing braces, comma, keys, opening braces) and after the last one.
 * Consecutive events of one format carry the same field-name pointers in the
 * same order, so the shape is looked up by those pointers. */
#include "json_out.h"
#include "error.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define ONES ((uint64_t)0x0101010101010101ULL)
#define HIGHS ((uint64_t)0x8080808080808080ULL)

/* Nonzero when some byte of w is zero / below n (n <= 128). */
#define WORD_HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define WORD_HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

/* Strings up to this long are escaped by the fast writer (which reserves 6
 * output bytes per input byte); longer ones are appended run by run, so a
 * huge line does not make the output buffer grow six times its size. */
#define FAST_STRING_MAX ((size_t)64 << 10)
/* Events whose output bound is larger take the checked encoder. */
#define FAST_EVENT_MAX ((size_t)256 << 10)
/* Worst case output bytes per input byte: \u00XX. */
#define ESC_MAX 6

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Four bytes at p in the low half of a word whose high half is plain
 * ('a's), for word_plain(). */
static inline uint64_t load32_padded(const unsigned char *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return (uint64_t)w | 0x6161616100000000ull;
}

/* 1 when none of the 8 bytes needs escaping or UTF-8 checking: all are
 * printable ASCII other than '"', '\\' and DEL. */
static inline int word_plain(uint64_t w)
{
	uint64_t bad = w & HIGHS;

	bad |= WORD_HAS_LESS(w, 0x20);
	bad |= WORD_HAS_ZERO(w ^ (ONES * '"'));
	bad |= WORD_HAS_ZERO(w ^ (ONES * '\\'));
	bad |= WORD_HAS_ZERO(w ^ (ONES * 0x7f));
	return bad == 0;
}

/* Printable ASCII other than '"' and '\\': copied into a JSON string as is. */
static inline int byte_plain(unsigned char c)
{
	return (unsigned char)(c - 0x20) < 0x5f && c != '"' && c != '\\';
}

#if defined(__SSE2__)
/* Bit k set when byte k of v needs escaping or UTF-8 checking. */
static unsigned special_mask(__m128i v)
{
	/* a signed compare catches both controls and bytes >= 0x80 */
	__m128i low_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
	__m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low_or_high, quote),
							_mm_or_si128(backslash, del)));
}
#endif

static int is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Length (2..4) of the valid UTF-8 sequence starting at p (p[0] >= 0x80),
 * or 0 when p[0] does not start one: overlongs, surrogates, code points
 * above U+10FFFF and truncated sequences are all invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0)
		return n >= 2 && is_cont(p[1]) ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || !is_cont(p[2]))
			return 0;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		return p[1] >= lo && p[1] <= hi ? 3 : 0;
	}
	if (n < 4 || !is_cont(p[2]) || !is_cont(p[3]))
		return 0;
	if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	return p[1] >= lo && p[1] <= hi ? 4 : 0;
}

/* 1 when p[0..n) starts with a C1 control (U+0080..U+009F, C2 80..C2 9F):
 * valid UTF-8 that some terminals act on (U+009B is CSI), so it is written
 * as \u00XX rather than copied. */
static int is_c1(const unsigned char *p, size_t n)
{
	return n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0;
}

static char *write_c1(char *w, unsigned char c)
{
	memcpy(w, "\\u00", 4);
	w[4] = hex_lower[c >> 4];
	w[5] = hex_lower[c & 15];
	return w + 6;
}

/* ---- the fast string writer: room is known, no checks per byte ---- */


/* Copies the printable run at the start of p[0..n) to w; returns its
 * length. May store up to 16 bytes past the run, never past w + n + 15
 * and only when n >= 16 (the caller's room covers that: see
 * write_string). */
static size_t copy_plain(char *w, const unsigned char *p, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	while (n - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		unsigned mask = special_mask(v);

		_mm_storeu_si128((__m128i *)(void *)(w + i), v);
		if (mask)
			return i + (size_t)__builtin_ctz(mask);
		i += 16;
	}
#endif
	/* a short rest checked in two overlapping words, copied at once */
	if (n - i >= 8 && n - i < 16 && word_plain(load64(p + i)) &&
	    word_plain(load64(p + n - 8))) {
		ls_copy_small(w + i, (const char *)p + i, n - i);
		return n;
	}
	if (n - i >= 4 && n - i < 8 && word_plain(load32_padded(p + i)) &&
	    word_plain(load32_padded(p + n - 4))) {
		ls_copy_small(w + i, (const char *)p + i, n - i);
		return n;
	}
	while (n - i >= 8 && word_plain(load64(p + i))) {
		memcpy(w + i, p + i, 8);
		i += 8;
	}
	while (i < n && byte_plain(p[i])) {
		w[i] = (char)p[i];
		i++;
	}
	return i;
}

/* Writes the escape for the byte c that copy_plain() stopped at (not part
 * of a valid UTF-8 sequence); sets *invalid for a byte >= 0x80. */
static char *write_escape(char *w, unsigned char c, int *invalid)
{
	switch (c) {
	case '"': w[0] = '\\'; w[1] = '"'; return w + 2;
	case '\\': w[0] = '\\'; w[1] = '\\'; return w + 2;
	case '\n': w[0] = '\\'; w[1] = 'n'; return w + 2;
	case '\r': w[0] = '\\'; w[1] = 'r'; return w + 2;
	case '\t': w[0] = '\\'; w[1] = 't'; return w + 2;
	case '\b': w[0] = '\\'; w[1] = 'b'; return w + 2;
	case '\f': w[0] = '\\'; w[1] = 'f'; return w + 2;
	}
	if (c >= 0x80) {
		/* the text \xHH, its backslash escaped for JSON */
		if (invalid)
			*invalid = 1;
		memcpy(w, "\\\\x", 3);
		w[3] = hex_upper[c >> 4];
		w[4] = hex_upper[c & 15];
		return w + 5;
	}
	memcpy(w, "\\u00", 4);
	w[4] = hex_lower[c >> 4];
	w[5] = hex_lower[c & 15];
	return w + 6;
}

/* Writes s as a quoted JSON string at w; returns the end. The caller
 * provides room for ESC_MAX * len + 2 bytes: each input byte becomes at
 * most ESC_MAX output bytes, so whenever copy_plain() is at input byte i
 * with 16 bytes left, its wide stores end before ESC_MAX * len + 2. */
static char *write_string(char *w, const char *s, size_t len, int *invalid)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, seq;

	*w++ = '"';
	while (i < len) {
		run = copy_plain(w, p + i, len - i);
		w += run;
		i += run;
		if (i == len)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			/* the common escapes, in line */
			w[0] = '\\';
			w[1] = (char)p[i++];
			w += 2;
			continue;
		}
		if (is_c1(p + i, len - i)) {
			w = write_c1(w, p[i + 1]);
			i += 2;
			continue;
		}
		if (p[i] >= 0x80 && (seq = utf8_seq(p + i, len - i)) != 0) {
			ls_copy_small(w, (const char *)p + i, seq);
			w += seq;
			i += seq;
			continue;
		}
		w = write_escape(w, p[i++], invalid);
	}
	*w++ = '"';
	return w;
}

/* ---- the checked string writer: appends through ls_buf ---- */

/* Number of bytes from p that can be copied into a JSON string as they are
 * (printable ASCII and valid UTF-8 sequences). */
static size_t plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0, seq;

	while (i < n) {
		if (n - i >= 8 && word_plain(load64(p + i))) {
			i += 8;
			continue;
		}
		if (byte_plain(p[i])) {
			i++;
			continue;
		}
		if (p[i] < 0x80 || is_c1(p + i, n - i) || (seq = utf8_seq(p + i, n - i)) == 0)
			break;
		i += seq;
	}
	return i;
}

/* ls_json_string() for strings too long for the fast writer or when its
 * reservation does not fit under the buffer's cap. */
static int json_string_checked(struct ls_buf *out, const char *s, size_t len,
			       int *invalid)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	char esc[ESC_MAX];

	if (ls_buf_reserve(out, len + 2) < 0 || ls_buf_putc(out, '"') < 0)
		return LS_ENOMEM;
	while (i < len) {
		run = plain_run(p + i, len - i);
		if (run && ls_buf_append(out, p + i, run) < 0)
			return LS_ENOMEM;
		i += run;
		if (i == len)
			break;
		if (is_c1(p + i, len - i)) {
			if (ls_buf_append(out, esc, (size_t)(write_c1(esc, p[i + 1]) - esc)) < 0)
				return LS_ENOMEM;
			i += 2;
			continue;
		}
		if (ls_buf_append(out, esc, (size_t)(write_escape(esc, p[i++], invalid) - esc)) < 0)
			return LS_ENOMEM;
	}
	return ls_buf_putc(out, '"');
}

/* Appends s as a JSON string (with quotes) to out. Valid UTF-8 is copied as
 * is; each invalid byte becomes the text \xHH (uppercase hex, as nginx
 * writes it); control characters (C1 too) and DEL are escaped. Returns 0, or
 * LS_ENOMEM. Sets *invalid (when not NULL) to 1 if an invalid byte was
 * seen; leaves it alone otherwise. */
int ls_json_string(struct ls_buf *out, const char *s, size_t len, int *invalid)
{
	char *end;

	if (len > FAST_STRING_MAX || ls_buf_reserve(out, ESC_MAX * len + 2) < 0)
		return json_string_checked(out, s, len, invalid);
	end = write_string(out->data + out->len, s, len, invalid);
	out->len = (size_t)(end - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), else 0. Control characters are valid UTF-8; they are
 * escaped on output, not rejected here. */
int ls_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, seq;

	while (i < len) {
#if defined(__SSE2__)
		if (len - i >= 16 &&
		    _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i))) == 0) {
			i += 16;
			continue;
		}
#endif
		if (len - i >= 8 && (load64(p + i) & HIGHS) == 0) {
			i += 8;
			continue;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		seq = utf8_seq(p + i, len - i);
		if (seq == 0)
			return 0;
		i += seq;
	}
	return 1;
}

/* ---- numbers ---- */

/* Skips JSON digits; returns the new position. */
static size_t skip_digits(const char *s, size_t i, size_t len)
{
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Skips a JSON integer part (-? (0 | [1-9][0-9]*)); returns the position
 * after it, or 0 when there is none. */
static size_t skip_json_int(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i >= len || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0')
		return i + 1;
	return skip_digits(s, i, len);
}

static int json_int_valid(const char *s, size_t len)
{
	return len > 0 && skip_json_int(s, len) == len;
}

static int json_number_valid(const char *s, size_t len)
{
	size_t i = skip_json_int(s, len), start;

	if (i == 0)
		return 0;
	if (i < len && s[i] == '.') {
		start = ++i;
		i = skip_digits(s, i, len);
		if (i == start)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		i = skip_digits(s, i, len);
		if (i == start)
			return 0;
	}
	return i == len;
}

/* ---- @timestamp ---- */

static void put_digits(char *out, unsigned v, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Days since 1970-01-01 to a proleptic Gregorian date. Shifting the year
 * to start in March puts the leap day last, so the month lengths follow the
 * regular 153-days-per-5-months pattern. */
static void days_to_date(int64_t days, int64_t *year, unsigned *month,
			 unsigned *mday)
{
	int64_t shifted = days + 719468; /* days since 0000-03-01 */
	int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
	unsigned day_of_era = (unsigned)(shifted - era * 146097);
	unsigned year_of_era = (day_of_era - day_of_era / 1460 +
				day_of_era / 36524 - day_of_era / 146096) / 365;
	unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 -
					     year_of_era / 100);
	unsigned mar_month = (5 * day_of_year + 2) / 153; /* 0 = March */

	*mday = day_of_year - (153 * mar_month + 2) / 5 + 1;
	*month = mar_month < 10 ? mar_month + 3 : mar_month - 9;
	*year = year_of_era + era * 400 + (*month <= 2);
}

#define TS_LEN 24       /* "YYYY-MM-DDThh:mm:ss.mmmZ" */
#define TS_DATE_LEN 11  /* "YYYY-MM-DDT" */

/* "00" to "99". */
static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline void put_pair(char *out, unsigned v)
{
	out[0] = digit_pairs[2 * v];
	out[1] = digit_pairs[2 * v + 1];
}

/* The last date formatted: events come in time order, so it rarely
 * changes from one event to the next. */
static _Thread_local struct {
	int64_t day; /* days since the epoch of the text below */
	int valid;
	char text[TS_DATE_LEN];
} ts_cache;

/* Writes ms as "YYYY-MM-DDThh:mm:ss.mmmZ" (TS_LEN bytes, no NUL), clamped
 * to years 0000..9999. */
static void format_rfc3339(int64_t ms, char *out)
{
	const int64_t min_ms = -62167219200000LL, max_ms = 253402300799999LL;
	int64_t days, year;
	unsigned rem, month, mday;

	if (ms < min_ms)
		ms = min_ms;
	if (ms > max_ms)
		ms = max_ms;
	days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	rem = (unsigned)(ms - days * 86400000);
	if (!ts_cache.valid || ts_cache.day != days) {
		days_to_date(days, &year, &month, &mday);
		memcpy(ts_cache.text, "0000-00-00T", TS_DATE_LEN);
		put_digits(ts_cache.text, (unsigned)year, 4);
		put_pair(ts_cache.text + 5, month);
		put_pair(ts_cache.text + 8, mday);
		ts_cache.day = days;
		ts_cache.valid = 1;
	}
	memcpy(out, ts_cache.text, TS_DATE_LEN);
	put_pair(out + 11, rem / 3600000);
	out[13] = ':';
	put_pair(out + 14, rem / 60000 % 60);
	out[16] = ':';
	put_pair(out + 17, rem / 1000 % 60);
	out[19] = '.';
	out[20] = (char)('0' + rem % 1000 / 100);
	put_pair(out + 21, rem % 100);
	out[23] = 'Z';
}

/* ---- field values, checked ---- */

static int put_list(struct ls_buf *out, const char *s, size_t len)
{
	size_t i = 0, end;

	if (ls_buf_putc(out, '[') < 0)
		return LS_ENOMEM;
	while (len > 0 && i <= len) {
		const char *sep = memchr(s + i, LS_LIST_SEP, len - i);

		end = sep ? (size_t)(sep - s) : len;
		if ((i > 0 && ls_buf_putc(out, ',') < 0) ||
		    ls_json_string(out, s + i, end - i, NULL) < 0)
			return LS_ENOMEM;
		i = end + 1;
	}
	return ls_buf_putc(out, ']');
}

static int put_value(struct ls_buf *out, const struct ls_field *f)
{
	switch (f->type) {
	case LS_F_INT:
		if (json_int_valid(f->val, f->len))
			return ls_buf_append(out, f->val, f->len);
		break;
	case LS_F_FLOAT:
		if (json_number_valid(f->val, f->len))
			return ls_buf_append(out, f->val, f->len);
		break;
	case LS_F_RAW:
		if (f->len == 0)
			return ls_buf_append(out, "null", 4);
		return ls_buf_append(out, f->val, f->len);
	case LS_F_LIST:
		return put_list(out, f->val, f->len);
	}
	return ls_json_string(out, f->val, f->len, NULL);
}

static int put_tags(struct ls_buf *out, const struct ls_event *ev)
{
	if (ls_buf_putc(out, '[') < 0)
		return LS_ENOMEM;
	for (int i = 0; i < ev->ntags; i++) {
		if ((i > 0 && ls_buf_putc(out, ',') < 0) ||
		    ls_json_string(out, ev->tags[i], strlen(ev->tags[i]), NULL) < 0)
			return LS_ENOMEM;
	}
	return ls_buf_putc(out, ']');
}

/* ---- field values, fast: the caller reserved value_bound() ---- */

/* Output bound of any value of len bytes: a string is ESC_MAX * len + 2; a
 * list adds brackets, and each separator byte becomes "," (3 bytes). */
#define VALUE_BOUND(len) (ESC_MAX * (size_t)(len) + 8)

static char *write_list(char *w, const char *s, size_t len)
{
	size_t i = 0, end;

	*w++ = '[';
	while (len > 0 && i <= len) {
		const char *sep = memchr(s + i, LS_LIST_SEP, len - i);

		end = sep ? (size_t)(sep - s) : len;
		if (i > 0)
			*w++ = ',';
		w = write_string(w, s + i, end - i, NULL);
		i = end + 1;
	}
	*w++ = ']';
	return w;
}

static char *write_value(char *w, const struct ls_field *f)
{
	switch (f->type) {
	case LS_F_INT:
		if (!json_int_valid(f->val, f->len))
			break;
		ls_copy_small(w, f->val, f->len);
		return w + f->len;
	case LS_F_FLOAT:
		if (!json_number_valid(f->val, f->len))
			break;
		ls_copy_small(w, f->val, f->len);
		return w + f->len;
	case LS_F_RAW:
		if (f->len == 0) {
			memcpy(w, "null", 4);
			return w + 4;
		}
		memcpy(w, f->val, f->len);
		return w + f->len;
	case LS_F_LIST:
		return write_list(w, f->val, f->len);
	}
	return write_string(w, f->val, f->len, NULL);
}

/* Output bound of the tags array. */
static size_t tags_bound(const struct ls_event *ev)
{
	size_t n = 2;

	for (int i = 0; i < ev->ntags; i++)
		n += ESC_MAX * strlen(ev->tags[i]) + 3;
	return n;
}

static char *write_tags(char *w, const struct ls_event *ev)
{
	*w++ = '[';
	for (int i = 0; i < ev->ntags; i++) {
		if (i > 0)
			*w++ = ',';
		w = write_string(w, ev->tags[i], strlen(ev->tags[i]), NULL);
	}
	*w++ = ']';
	return w;
}

/* ---- names: order and nesting ---- */

/* The entry standing for ev->tags in the sorted order. */
#define TAGS_ENTRY (-1)

static const char *entry_name(const struct ls_event *ev, int entry)
{
	return entry == TAGS_ENTRY ? "tags" : ev->fields[entry].name;
}

/* Orders names segment by segment: '.' sorts below every other byte, so
 * "a" < "a.b" < "a.c" < "a-b" < "a_b" and all "a.*" stay together. */
static int name_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	int cx, cy;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	cx = *x == '.' ? 1 : *x == 0 ? 0 : *x + 1;
	cy = *y == '.' ? 1 : *y == 0 ? 0 : *y + 1;
	return cx - cy;
}

static void sort_entries(const struct ls_event *ev, short *order, int n)
{
	for (int i = 1; i < n; i++) {
		short cur = order[i];
		const char *name = entry_name(ev, cur);
		int j = i;

		while (j > 0 && name_cmp(entry_name(ev, order[j - 1]), name) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = cur;
	}
}

/* Collects the fields to write after "message" (all but "message" and
 * "@timestamp") plus the tags entry, in name order. Returns their count; *message is the message field or
 * NULL. */
static int collect_entries(const struct ls_event *ev, short *order,
			   const struct ls_field **message)
{
	int n = 0, nfields = ev->nfields;

	*message = NULL;
	if (nfields > LS_EVENT_MAX_FIELDS)
		nfields = LS_EVENT_MAX_FIELDS;
	for (int i = 0; i < nfields; i++) {
		const char *name = ev->fields[i].name;

		if (strcmp(name, "message") == 0)
			*message = &ev->fields[i];
		else if (strcmp(name, "@timestamp") != 0)
			order[n++] = (short)i;
	}
	if (ev->ntags > 0)
		order[n++] = TAGS_ENTRY;
	sort_entries(ev, order, n);
	return n;
}

/* Number of '.'-separated object segments before the leaf of name. */
static int name_depth(const char *name)
{
	int depth = 0;

	for (; *name; name++)
		depth += *name == '.';
	return depth;
}

/* Number of leading segments a and b share, at most limit. */
static int common_segments(const char *a, const char *b, int limit)
{
	int shared = 0;

	while (shared < limit && *a && *a == *b) {
		if (*a == '.')
			shared++;
		a++;
		b++;
	}
	return shared;
}

/* Start of segment k of name. */
static const char *segment_at(const char *name, int k)
{
	while (k > 0 && *name)
		k -= *name++ == '.';
	return name;
}

static size_t segment_len(const char *seg)
{
	const char *dot = strchr(seg, '.');

	return dot ? (size_t)(dot - seg) : strlen(seg);
}

/* Writes ,"key": (the comma unless first). */
static int put_key(struct ls_buf *out, const char *key, size_t len, int *first)
{
	if ((!*first && ls_buf_putc(out, ',') < 0) ||
	    ls_json_string(out, key, len, NULL) < 0 || ls_buf_putc(out, ':') < 0)
		return LS_ENOMEM;
	*first = 0;
	return 0;
}

/* ---- names that are a value and an object at once ----
 *
 * A log's own fields can clash with the objects of others: a JSON line's
 * "event":"login" beside logship's event.kind, logfmt's log=x beside
 * log.level, a "message" object beside the message. JSON with a key twice
 * is refused by strict readers (Elasticsearch among them), so the key of
 * the value takes a "_" ("event_":"login") and the objects keep their
 * names; except where the value is the event's own "@timestamp",
 * "message" or "tags": there the object's key takes the "_". */

/* Whether name is a parent of next ("a" of "a.b"); next may be NULL. */
static int is_parent_of(const char *name, const char *next)
{
	size_t n = strlen(name);

	return next && strncmp(name, next, n) == 0 && next[n] == '.';
}

/* Whether the top-level object seg[0..len) clashes with the head's
 * "@timestamp" and "message" or the tags array. */
static int head_clash(const char *seg, size_t len, int with_tags)
{
	return (len == 7 && memcmp(seg, "message", 7) == 0) ||
	       (len == 10 && memcmp(seg, "@timestamp", 10) == 0) ||
	       (with_tags && len == 4 && memcmp(seg, "tags", 4) == 0);
}

/* Writes ,"key_": (put_key() with the "_" of a clashing name). */
static int put_key_clashing(struct ls_buf *out, const char *key, size_t len, int *first)
{
	if ((!*first && ls_buf_putc(out, ',') < 0) || ls_json_string(out, key, len, NULL) < 0)
		return LS_ENOMEM;
	out->data[out->len - 1] = '_'; /* over the closing quote */
	if (ls_buf_append(out, "\":", 2) < 0)
		return LS_ENOMEM;
	*first = 0;
	return 0;
}

struct nest {
	const char *prev; /* name of the previous entry ("" at the start) */
	int open;         /* objects open below the top level */
	int first;        /* nothing written yet in the innermost object */
	int with_tags;    /* the event has tags: "tags" is the array */
};

/* Closes the objects of the previous name that name does not share and
 * opens the ones it adds. Returns the leaf segment of name, or NULL on
 * LS_ENOMEM. */
static const char *nest_to(struct ls_buf *out, struct nest *st, const char *name)
{
	int depth = name_depth(name);
	int keep = common_segments(st->prev, name, st->open < depth ? st->open : depth);
	const char *seg = segment_at(name, keep);

	for (; st->open > keep; st->open--) {
		if (ls_buf_putc(out, '}') < 0)
			return NULL;
		st->first = 0;
	}
	for (; st->open < depth; st->open++) {
		size_t len = segment_len(seg);
		int rc = st->open == 0 && head_clash(seg, len, st->with_tags) ?
			 put_key_clashing(out, seg, len, &st->first) :
			 put_key(out, seg, len, &st->first);

		if (rc < 0 || ls_buf_putc(out, '{') < 0)
			return NULL;
		st->first = 1;
		seg += len + 1;
	}
	st->prev = name;
	return seg;
}

/* Whether the value of entry order[k] (of n) clashes: the next entry is
 * inside an object of its name, or it is a field "tags" beside the
 * event's tags. */
static int value_clashes(const struct ls_event *ev, const short *order, int k, int n)
{
	const char *name = entry_name(ev, order[k]);

	if (order[k] == TAGS_ENTRY)
		return 0; /* the objects clashing with it move (head_clash()) */
	if (ev->ntags > 0 && strcmp(name, "tags") == 0)
		return 1;
	return k + 1 < n && is_parent_of(name, entry_name(ev, order[k + 1]));
}

/* Writes the text that goes before the value of entry order[k] (of n):
 * it closes the objects of the previous entry it leaves, opens the ones
 * it enters and writes its key. */
static int put_prefix(struct ls_buf *out, struct nest *st, const struct ls_event *ev,
		      const short *order, int k, int n)
{
	const char *leaf = nest_to(out, st, entry_name(ev, order[k]));
	int rc;

	if (!leaf)
		return LS_ENOMEM;
	rc = value_clashes(ev, order, k, n) ? put_key_clashing(out, leaf, strlen(leaf), &st->first) :
					     put_key(out, leaf, strlen(leaf), &st->first);
	return rc < 0 ? LS_ENOMEM : 0;
}

/* Closes the objects still open after the last entry. */
static int put_close(struct ls_buf *out, struct nest *st)
{
	for (; st->open > 0; st->open--)
		if (ls_buf_putc(out, '}') < 0)
			return LS_ENOMEM;
	return 0;
}

static int put_entries(struct ls_buf *out, const struct ls_event *ev,
		       const short *order, int n)
{
	struct nest st = { "", 0, 0, ev->ntags > 0 };

	for (int i = 0; i < n; i++) {
		if (put_prefix(out, &st, ev, order, i, n) < 0)
			return LS_ENOMEM;
		if (order[i] == TAGS_ENTRY ? put_tags(out, ev) < 0 :
		    put_value(out, &ev->fields[order[i]]) < 0)
			return LS_ENOMEM;
	}
	return put_close(out, &st);
}

#define HEAD_OPEN "{\"@timestamp\":\""
#define HEAD_OPEN_LEN (sizeof(HEAD_OPEN) - 1)
#define HEAD_MESSAGE "\",\"message\":"
#define HEAD_MESSAGE_LEN (sizeof(HEAD_MESSAGE) - 1)

static int put_head(struct ls_buf *out, const struct ls_event *ev,
		    const struct ls_field *message)
{
	char ts[TS_LEN];
	const char *msg = message ? message->val : ev->line;
	size_t msg_len = message ? message->len : ev->line_len;

	format_rfc3339(ev->ts_ms, ts);
	if (ls_buf_append(out, HEAD_OPEN, HEAD_OPEN_LEN) < 0 ||
	    ls_buf_append(out, ts, sizeof(ts)) < 0 ||
	    ls_buf_append(out, HEAD_MESSAGE, HEAD_MESSAGE_LEN) < 0 ||
	    ls_json_string(out, msg ? msg : "", msg ? msg_len : 0, NULL) < 0)
		return LS_ENOMEM;
	return 0;
}

/* The checked encoder: any event, any buffer cap. */
static int json_event_checked(struct ls_buf *out, const struct ls_event *ev)
{
	short order[LS_EVENT_MAX_FIELDS + 1];
	const struct ls_field *message;
	int n = collect_entries(ev, order, &message);

	if (put_head(out, ev, message) < 0 || put_entries(out, ev, order, n) < 0 ||
	    ls_buf_append(out, "}\n", 2) < 0)
		return LS_ENOMEM;
	return 0;
}

/* ---- shapes ---- */

/* A power of two; looked up SHAPE_WAYS at a time. Tagged events vary in
 * their names (each rule adds its own fields): auth.log has some two dozen
 * shapes, which thrashed 8 slots, and 64 slots two at a time when three
 * shapes shared a pair. */
#define SHAPE_SLOTS 128
#define SHAPE_WAYS 4
#define SHAPE_TEXT_MAX 4096
/* Prefixes up to this long are copied as this many bytes (a fixed-size
 * copy is a few moves, no call); the bytes past the prefix are
 * overwritten by what follows. */
#define PREFIX_COPY 32

/* What an event's encoding owes to its names alone. Valid for every event
 * with the same name pointers in the same order and the same "has tags",
 * as long as the names at those addresses keep their text (see
 * names_trusted()). */
struct shape {
	uint64_t key;        /* hash of names and has-tags; 0: an empty slot */
	uint64_t used;       /* when last used, for replacing the older slot */
	int nfields;
	int with_tags;
	int message;         /* index of the "message" field, -1: the line */
	int n;               /* entries after "message" */
	short order[LS_EVENT_MAX_FIELDS + 1];
	/* entry k's prefix is text[at[k]..at[k+1]); text[at[n]..at[n+1]) closes
	 * the object and ends the line */
	uint16_t at[LS_EVENT_MAX_FIELDS + 3];
	const char *names[LS_EVENT_MAX_FIELDS];
	/* SHAPE_TEXT_MAX bytes are used; the rest lets a prefix be copied as
	 * a fixed PREFIX_COPY bytes */
	char text[SHAPE_TEXT_MAX + PREFIX_COPY];
};

/* Allocated at a thread's first event (calloc: untouched slots cost no
 * memory), not thread-local storage: static TLS of this size is cleared
 * at every start, and start-up must stay fast. Kept for the life of the
 * thread. */
struct shape_table {
	uint64_t clock;
	struct shape slot[SHAPE_SLOTS];
};
static _Thread_local struct shape_table *shapes;

/* An ls_buf over the fixed storage text[size] that never reallocates: with
 * max = size - 1 ls_buf_reserve() either finds room or fails. Never
 * released. */
static void fixed_buf(struct ls_buf *b, char *text, size_t size)
{
	b->data = text;
	b->len = 0;
	b->cap = size;
	b->max = size - 1;
	text[0] = '\0';
}

/* Fills sh for ev's names. 0, or -1 when the text does not fit. */
static int shape_build(struct shape *sh, const struct ls_event *ev, uint64_t key)
{
	const struct ls_field *message;
	struct nest st = { "", 0, 0, ev->ntags > 0 };
	struct ls_buf b;
	int n = collect_entries(ev, sh->order, &message);

	sh->key = 0;
	fixed_buf(&b, sh->text, SHAPE_TEXT_MAX);
	for (int k = 0; k < n; k++) {
		sh->at[k] = (uint16_t)b.len;
		if (put_prefix(&b, &st, ev, sh->order, k, n) < 0)
			return -1;
	}
	sh->at[n] = (uint16_t)b.len;
	if (put_close(&b, &st) < 0 || ls_buf_append(&b, "}\n", 2) < 0)
		return -1;
	sh->at[n + 1] = (uint16_t)b.len;
	sh->n = n;
	sh->message = message ? (int)(message - ev->fields) : -1;
	sh->nfields = ev->nfields;
	sh->with_tags = ev->ntags > 0;
	for (int i = 0; i < ev->nfields; i++)
		sh->names[i] = ev->fields[i].name;
	sh->key = key;
	return 0;
}

/* Whether the names of ev can key a shape, with *key their hash and *vlen
 * the total length of the field values. Names in the event's own arena
 * are not trusted: the arena is reused line after line, so one address
 * holds different names (decoded JSON keys). Names elsewhere are trusted
 * to keep their text at their address for the life of the program: they
 * are string constants or belong to the patterns and rules, which stay
 * loaded. (A program that freed its patterns and loaded others could find
 * another name at an old address, and get the old keys.) */
static int names_trusted(const struct ls_event *ev, uint64_t *key, size_t *vlen)
{
	uintptr_t arena = (uintptr_t)ev->arena;
	uint64_t h = (uint64_t)ev->nfields << 1 | (ev->ntags > 0);
	size_t total = 0;

	if (ev->nfields > LS_EVENT_MAX_FIELDS)
		return 0;
	for (int i = 0; i < ev->nfields; i++) {
		uintptr_t name = (uintptr_t)ev->fields[i].name;

		if (name - arena < ev->arena_cap)
			return 0;
		h = (h << 7 | h >> 57) ^ name;
		total += ev->fields[i].len;
	}
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	*key = h ? h : 1;
	*vlen = total;
	return 1;
}

static int shape_matches(const struct shape *sh, const struct ls_event *ev,
			 uint64_t key)
{
	if (sh->key != key || sh->nfields != ev->nfields ||
	    sh->with_tags != (ev->ntags > 0))
		return 0;
	for (int i = 0; i < ev->nfields; i++)
		if (sh->names[i] != ev->fields[i].name)
			return 0;
	return 1;
}

/* The shape for ev's names, built on a miss; NULL when they cannot have
 * one. */
static const struct shape *shape_for(const struct ls_event *ev, size_t *vlen)
{
	struct shape *set, *victim;
	uint64_t key;

	if (!names_trusted(ev, &key, vlen))
		return NULL;
	if (!shapes && !(shapes = calloc(1, sizeof(*shapes))))
		return NULL; /* the checked encoder does without */
	set = &shapes->slot[(key >> 57) % (SHAPE_SLOTS / SHAPE_WAYS) * SHAPE_WAYS];
	shapes->clock++;
	victim = set;
	for (int w = 0; w < SHAPE_WAYS; w++) {
		if (shape_matches(&set[w], ev, key)) {
			set[w].used = shapes->clock;
			return &set[w];
		}
		if (set[w].used < victim->used)
			victim = &set[w];
	}
	if (shape_build(victim, ev, key) < 0)
		return NULL;
	victim->used = shapes->clock;
	return victim;
}

/* The fast encoder. 0, or 1 when the bound of this event's output is too
 * large or does not fit under out's cap (the checked encoder then decides). */
static int json_event_fast(struct ls_buf *out, const struct ls_event *ev,
			   const struct shape *sh, size_t vlen)
{
	const char *msg = ev->line;
	size_t msg_len = ev->line_len, bound;
	char *w;

	if (sh->message >= 0) {
		msg = ev->fields[sh->message].val;
		msg_len = ev->fields[sh->message].len;
	}
	if (!msg)
		msg_len = 0;
	bound = HEAD_OPEN_LEN + TS_LEN + HEAD_MESSAGE_LEN + ESC_MAX * msg_len + 2 +
		sh->at[sh->n + 1] + (size_t)sh->n * VALUE_BOUND(0) + ESC_MAX * vlen +
		PREFIX_COPY;
	if (sh->with_tags)
		bound += tags_bound(ev);
	if (msg_len > FAST_EVENT_MAX || vlen > FAST_EVENT_MAX || bound > FAST_EVENT_MAX ||
	    ls_buf_reserve(out, bound) < 0)
		return 1;

	w = out->data + out->len;
	memcpy(w, HEAD_OPEN, HEAD_OPEN_LEN);
	w += HEAD_OPEN_LEN;
	format_rfc3339(ev->ts_ms, w);
	w += TS_LEN;
	memcpy(w, HEAD_MESSAGE, HEAD_MESSAGE_LEN);
	w += HEAD_MESSAGE_LEN;
	w = write_string(w, msg ? msg : "", msg_len, NULL);
	for (int k = 0; k < sh->n; k++) {
		size_t plen = (size_t)(sh->at[k + 1] - sh->at[k]);

		if (plen <= PREFIX_COPY)
			memcpy(w, sh->text + sh->at[k], PREFIX_COPY);
		else
			memcpy(w, sh->text + sh->at[k], plen);
		w += plen;
		w = sh->order[k] == TAGS_ENTRY ? write_tags(w, ev) :
		    write_value(w, &ev->fields[sh->order[k]]);
	}
	ls_copy_small(w, sh->text + sh->at[sh->n], (size_t)(sh->at[sh->n + 1] - sh->at[sh->n]));
	w += sh->at[sh->n + 1] - sh->at[sh->n];
	*w = '\0';
	out->len = (size_t)(w - out->data);
	return 0;
}

/* Appends the event as one JSON object and "\n": "@timestamp" first (from
 * ev->ts_ms), "message" second (the "message" field, else the line), then
 * the other fields and "tags" sorted by name with dotted names nested into
 * objects. On LS_ENOMEM out is left as it was. No allocation besides out's
 * growth. */
int ls_json_event(struct ls_buf *out, const struct ls_event *ev)
{
	const struct shape *sh;
	size_t start = out->len, vlen = 0;

	sh = shape_for(ev, &vlen);
	if (sh && json_event_fast(out, ev, sh, vlen) == 0)
		return 0;
	if (json_event_checked(out, ev) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

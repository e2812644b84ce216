/* json_out.c - events as one JSON object per line: string escaping that
 * keeps valid UTF-8 and writes invalid bytes as \xHH, and nesting of dotted
 * field names into objects. */
#include "json_out.h"
#include "error.h"

#include <stdint.h>
#include <string.h>

#define ONES ((uint64_t)0x0101010101010101ULL)
#define HIGHS ((uint64_t)0x8080808080808080ULL)

/* Nonzero when some byte of w is zero / below n (n <= 128). */
#define WORD_HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define WORD_HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* 1 when none of the 8 bytes needs escaping or UTF-8 checking: all are
 * printable ASCII other than '"', '\\' and DEL. */
static int word_plain(uint64_t w)
{
	uint64_t bad = w & HIGHS;

	bad |= WORD_HAS_LESS(w, 0x20);
	bad |= WORD_HAS_ZERO(w ^ (ONES * '"'));
	bad |= WORD_HAS_ZERO(w ^ (ONES * '\\'));
	bad |= WORD_HAS_ZERO(w ^ (ONES * 0x7f));
	return bad == 0;
}

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
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
			i++;
			continue;
		}
		if (p[i] < 0x80 || (seq = utf8_seq(p + i, n - i)) == 0)
			break;
		i += seq;
	}
	return i;
}

/* Appends the escape for the byte c that plain_run() stopped at. Returns 1
 * when c was an invalid UTF-8 byte, 0 when it was an escaped ASCII byte, or
 * LS_ENOMEM. */
static int put_escape(struct ls_buf *out, unsigned char c)
{
	char esc[6] = { '\\', 0, 0, 0, 0, 0 };
	size_t n = 2;

	switch (c) {
	case '"': esc[1] = '"'; break;
	case '\\': esc[1] = '\\'; break;
	case '\n': esc[1] = 'n'; break;
	case '\r': esc[1] = 'r'; break;
	case '\t': esc[1] = 't'; break;
	case '\b': esc[1] = 'b'; break;
	case '\f': esc[1] = 'f'; break;
	default:
		if (c >= 0x80) {
			/* the text \xHH, its backslash escaped for JSON */
			memcpy(esc, "\\\\x", 3);
			esc[3] = hex_upper[c >> 4];
			esc[4] = hex_upper[c & 15];
			return ls_buf_append(out, esc, 5) < 0 ? LS_ENOMEM : 1;
		}
		memcpy(esc, "\\u00", 4);
		esc[4] = hex_lower[c >> 4];
		esc[5] = hex_lower[c & 15];
		n = 6;
	}
	return ls_buf_append(out, esc, n);
}

/* Appends s as a JSON string (with quotes) to out. Valid UTF-8 is copied as
 * is; each invalid byte becomes the text \xHH (uppercase hex, as nginx
 * writes it); control characters and DEL are escaped. Returns 0, or
 * LS_ENOMEM. Sets *invalid (when not NULL) to 1 if an invalid byte was
 * seen; leaves it alone otherwise. */
int ls_json_string(struct ls_buf *out, const char *s, size_t len, int *invalid)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	int rc;

	if (ls_buf_reserve(out, len + 2) < 0 || ls_buf_putc(out, '"') < 0)
		return LS_ENOMEM;
	while (i < len) {
		run = plain_run(p + i, len - i);
		if (run && ls_buf_append(out, p + i, run) < 0)
			return LS_ENOMEM;
		i += run;
		if (i == len)
			break;
		rc = put_escape(out, p[i++]);
		if (rc < 0)
			return rc;
		if (rc == 1 && invalid)
			*invalid = 1;
	}
	return ls_buf_putc(out, '"');
}

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), else 0. Control characters are valid UTF-8; they are
 * escaped on output, not rejected here. */
int ls_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, seq;

	while (i < len) {
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

/* Writes ms as "YYYY-MM-DDThh:mm:ss.mmmZ" (24 bytes, no NUL), clamped to
 * years 0000..9999. */
static void format_rfc3339(int64_t ms, char out[24])
{
	const int64_t min_ms = -62167219200000LL, max_ms = 253402300799999LL;
	int64_t days, rem, year;
	unsigned month, mday;

	if (ms < min_ms)
		ms = min_ms;
	if (ms > max_ms)
		ms = max_ms;
	days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	rem = ms - days * 86400000;
	days_to_date(days, &year, &month, &mday);
	memcpy(out, "0000-00-00T00:00:00.000Z", 24);
	put_digits(out, (unsigned)year, 4);
	put_digits(out + 5, month, 2);
	put_digits(out + 8, mday, 2);
	put_digits(out + 11, (unsigned)(rem / 3600000), 2);
	put_digits(out + 14, (unsigned)(rem / 60000 % 60), 2);
	put_digits(out + 17, (unsigned)(rem / 1000 % 60), 2);
	put_digits(out + 20, (unsigned)(rem % 1000), 3);
}

/* ---- field values ---- */

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

/* Collects the fields to write after "message" (all but "message",
 * "@timestamp", and "tags" when the event has tags) plus the tags entry,
 * in name order. Returns their count; *message is the message field or
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
		else if (strcmp(name, "@timestamp") != 0 &&
			 !(ev->ntags > 0 && strcmp(name, "tags") == 0))
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

struct nest {
	const char *prev; /* name of the previous entry ("" at the start) */
	int open;         /* objects open below the top level */
	int first;        /* nothing written yet in the innermost object */
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

		if (put_key(out, seg, len, &st->first) < 0 || ls_buf_putc(out, '{') < 0)
			return NULL;
		st->first = 1;
		seg += len + 1;
	}
	st->prev = name;
	return seg;
}

static int put_entries(struct ls_buf *out, const struct ls_event *ev,
		       const short *order, int n)
{
	struct nest st = { "", 0, 0 };

	for (int i = 0; i < n; i++) {
		const char *name = entry_name(ev, order[i]);
		const char *leaf = nest_to(out, &st, name);

		if (!leaf || put_key(out, leaf, strlen(leaf), &st.first) < 0)
			return LS_ENOMEM;
		if (order[i] == TAGS_ENTRY ? put_tags(out, ev) < 0 :
		    put_value(out, &ev->fields[order[i]]) < 0)
			return LS_ENOMEM;
	}
	for (; st.open > 0; st.open--)
		if (ls_buf_putc(out, '}') < 0)
			return LS_ENOMEM;
	return 0;
}

static int put_head(struct ls_buf *out, const struct ls_event *ev,
		    const struct ls_field *message)
{
	char ts[24];
	const char *msg = message ? message->val : ev->line;
	size_t msg_len = message ? message->len : ev->line_len;

	format_rfc3339(ev->ts_ms, ts);
	if (ls_buf_append(out, "{\"@timestamp\":\"", 15) < 0 ||
	    ls_buf_append(out, ts, sizeof(ts)) < 0 ||
	    ls_buf_append(out, "\",\"message\":", 12) < 0 ||
	    ls_json_string(out, msg ? msg : "", msg ? msg_len : 0, NULL) < 0)
		return LS_ENOMEM;
	return 0;
}

/* Appends the event as one JSON object and "\n": "@timestamp" first (from
 * ev->ts_ms), "message" second (the "message" field, else the line), then
 * the other fields and "tags" sorted by name with dotted names nested into
 * objects. On LS_ENOMEM out is left as it was. No allocation besides out's
 * growth. */
int ls_json_event(struct ls_buf *out, const struct ls_event *ev)
{
	short order[LS_EVENT_MAX_FIELDS + 1];
	const struct ls_field *message;
	size_t start = out->len;
	int n = collect_entries(ev, order, &message);

	if (put_head(out, ev, message) < 0 || put_entries(out, ev, order, n) < 0 ||
	    ls_buf_append(out, "}\n", 2) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

/* decode.c - structured line decoders: one JSON object per line (nested
 * objects flattened to dotted names) and logfmt key=value pairs.
 *
 * Both decoders collect fields in a staging table and only copy them into
 * the event once the whole line has been accepted, so a line that turns out
 * not to fit leaves the event exactly as it was (fields and arena). */
#include "decode.h"
#include "error.h"
#include "json_out.h"

#include <stdint.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

#define ONES ((uint64_t)0x0101010101010101ULL)
#define HIGHS ((uint64_t)0x8080808080808080ULL)
#define WORD_HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)
#define WORD_HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)

struct decoder {
	struct ls_event *ev;
	const char *p;   /* next byte to read */
	const char *end;
	const struct ls_keymap *map;
	int nmap;
	int failure;     /* 0: syntax (not this format), or LS_ENOMEM */
	int n;           /* staged fields */
	struct ls_field staged[LS_EVENT_MAX_FIELDS];
};

static void decoder_init(struct decoder *d, struct ls_event *ev, const char *line,
			 size_t len, const struct ls_keymap *map, int nmap)
{
	d->ev = ev;
	d->p = line;
	d->end = line + len;
	d->map = map;
	d->nmap = nmap > 0 && map ? nmap : 0;
	d->failure = 0;
	d->n = 0;
}

/* Records why decoding stopped and returns -1, for `return fail(..)`. */
static int fail(struct decoder *d, int failure)
{
	d->failure = failure;
	return -1;
}

static char *arena_copy(struct decoder *d, const char *s, size_t len)
{
	char *p = ls_event_strdup(d->ev, s, len);

	if (!p)
		fail(d, LS_ENOMEM);
	return p;
}

/* prefix "." key as a NUL-terminated arena string (just key at the top). */
static char *join_name(struct decoder *d, const char *prefix, size_t plen,
		       const char *key, size_t klen)
{
	char *name;

	if (plen == 0)
		return arena_copy(d, key, klen);
	name = ls_event_alloc(d->ev, plen + 1 + klen + 1);
	if (!name) {
		fail(d, LS_ENOMEM);
		return NULL;
	}
	memcpy(name, prefix, plen);
	name[plen] = '.';
	memcpy(name + plen + 1, key, klen);
	name[plen + 1 + klen] = '\0';
	return name;
}

/* The first rename whose from equals name, else name itself. */
static const char *renamed(const struct decoder *d, const char *name)
{
	for (int i = 0; i < d->nmap; i++)
		if (d->map[i].from && strcmp(d->map[i].from, name) == 0)
			return d->map[i].to;
	return name;
}

static int stage(struct decoder *d, const char *name, const char *val,
		 size_t len, int type)
{
	struct ls_field *f;

	if (d->n >= LS_EVENT_MAX_FIELDS)
		return fail(d, LS_ENOMEM);
	f = &d->staged[d->n++];
	f->name = renamed(d, name);
	f->val = val;
	f->len = (uint32_t)len;
	f->type = (uint8_t)type;
	return 0;
}

/* 1 when the staged fields fit into the event next to its own. Only
 * counted exactly when a quick bound says they might not. */
static int staged_fit(const struct decoder *d)
{
	const struct ls_event *ev = d->ev;
	int needed = 0;

	if (ev->nfields + d->n <= LS_EVENT_MAX_FIELDS)
		return 1;
	for (int i = 0; i < d->n; i++) {
		int later = 0;

		for (int j = i + 1; j < d->n && !later; j++)
			later = strcmp(d->staged[i].name, d->staged[j].name) == 0;
		if (!later && !ls_event_get(ev, d->staged[i].name))
			needed++;
	}
	return ev->nfields + needed <= LS_EVENT_MAX_FIELDS;
}

/* Copies the staged fields into the event in order (so the last of
 * duplicate keys wins). 1, or LS_ENOMEM when they do not fit. */
static int commit(struct decoder *d)
{
	if (!staged_fit(d))
		return LS_ENOMEM;
	for (int i = 0; i < d->n; i++) {
		const struct ls_field *f = &d->staged[i];

		if (ls_event_set(d->ev, f->name, f->val, f->len, f->type) < 0)
			return LS_ENOMEM;
	}
	return 1;
}

/* Commits on success, else puts the event back as it was on entry.
 * Returns what the decoders return: 1, 0 or LS_ENOMEM. */
static int finish(struct decoder *d, int ok, int saved_nfields, size_t saved_arena)
{
	int rc = ok ? commit(d) : d->failure;

	if (rc <= 0) {
		d->ev->nfields = saved_nfields;
		d->ev->arena_len = saved_arena;
	}
	return rc;
}

/* ---- JSON ---- */

static void skip_ws(struct decoder *d)
{
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' ||
				 *d->p == '\n' || *d->p == '\r'))
		d->p++;
}

/* Consumes c (after optional whitespace); -1 when it is not next. */
static int expect(struct decoder *d, char c)
{
	skip_ws(d);
	if (d->p >= d->end || *d->p != c)
		return fail(d, 0);
	d->p++;
	return 0;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The 4 hex digits at s as a number, or -1. */
static long hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value((unsigned char)s[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* 1 when none of the 8 bytes ends a string run ('"', '\\', < 0x20). */
static int word_in_string(uint64_t w)
{
	uint64_t stop = WORD_HAS_LESS(w, 0x20);

	stop |= WORD_HAS_ZERO(w ^ (ONES * '"'));
	stop |= WORD_HAS_ZERO(w ^ (ONES * '\\'));
	return stop == 0;
}

/* Checks the escape at p (p[0] == '\\'); returns its length or 0. */
static size_t escape_len(const char *p, const char *end)
{
	if (end - p < 2)
		return 0;
	switch (p[1]) {
	case '"': case '\\': case '/': case 'b': case 'f':
	case 'n': case 'r': case 't':
		return 2;
	case 'u':
		return end - p >= 6 && hex4(p + 2) >= 0 ? 6 : 0;
	}
	return 0;
}

/* Scans the string at d->p (at its opening quote): s and len give its
 * undecoded contents, *escaped whether it holds escapes. Raw control
 * characters are refused (not JSON); other bytes pass as they are. */
static int scan_string(struct decoder *d, const char **s, size_t *len, int *escaped)
{
	const char *p = d->p + 1, *end = d->end;
	size_t esc;

	*s = p;
	*escaped = 0;
	for (;;) {
		uint64_t w;

		if (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if (word_in_string(w)) {
				p += 8;
				continue;
			}
		}
		if (p >= end || (unsigned char)*p < 0x20)
			return fail(d, 0);
		if (*p == '"')
			break;
		if (*p == '\\') {
			esc = escape_len(p, end);
			if (esc == 0)
				return fail(d, 0);
			*escaped = 1;
			p += esc;
			continue;
		}
		p++;
	}
	*len = (size_t)(p - *s);
	d->p = p + 1;
	return 0;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the \u escape at s (already checked for 4 hex digits), joining a
 * surrogate pair. Returns the code point and sets *used, or -1 for a lone
 * surrogate. */
static long unicode_escape(const char *s, const char *end, size_t *used)
{
	long hi = hex4(s + 2), lo;

	*used = 6;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return -1;
	if (hi < 0xd800 || hi > 0xdbff)
		return hi;
	if (end - s < 12 || s[6] != '\\' || s[7] != 'u')
		return -1;
	lo = hex4(s + 8);
	if (lo < 0xdc00 || lo > 0xdfff)
		return -1;
	*used = 12;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

static char simple_unescape(char c)
{
	switch (c) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	}
	return c; /* " \ / */
}

/* Unescapes the scanned string s[0..len) into the arena (NUL-terminated;
 * never longer than the escaped text). NULL on a lone surrogate or a full
 * arena (d->failure tells which). */
static char *unescape(struct decoder *d, const char *s, size_t len, size_t *outlen)
{
	const char *end = s + len;
	char *out = ls_event_alloc(d->ev, len + 1), *o = out;
	size_t used;
	long cp;

	if (!out) {
		fail(d, LS_ENOMEM);
		return NULL;
	}
	while (s < end) {
		const char *bs = memchr(s, '\\', (size_t)(end - s));
		size_t run = bs ? (size_t)(bs - s) : (size_t)(end - s);

		memcpy(o, s, run);
		o += run;
		s += run;
		if (s == end)
			break;
		if (s[1] != 'u') {
			*o++ = simple_unescape(s[1]);
			s += 2;
			continue;
		}
		cp = unicode_escape(s, end, &used);
		if (cp < 0) {
			fail(d, 0);
			return NULL;
		}
		o += put_utf8(o, (unsigned long)cp);
		s += used;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* Reads a string: a pointer into the line when it has no escapes, else its
 * unescaped copy in the arena. */
static int read_string(struct decoder *d, const char **val, size_t *len)
{
	const char *s;
	int escaped;

	if (scan_string(d, &s, len, &escaped) < 0)
		return -1;
	*val = escaped ? unescape(d, s, *len, len) : s;
	return *val ? 0 : -1;
}

static const char *skip_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

/* Skips a JSON number at d->p. */
static int skip_number(struct decoder *d)
{
	const char *p = d->p, *end = d->end, *digits;

	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return fail(d, 0);
	p = *p == '0' ? p + 1 : skip_digits(p, end);
	if (p < end && *p == '.') {
		digits = ++p;
		p = skip_digits(p, end);
		if (p == digits)
			return fail(d, 0);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		digits = p;
		p = skip_digits(p, end);
		if (p == digits)
			return fail(d, 0);
	}
	d->p = p;
	return 0;
}

/* Skips true, false or null at d->p. */
static int skip_literal(struct decoder *d)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t left = (size_t)(d->end - d->p);

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);

		if (left >= n && memcmp(d->p, words[i], n) == 0) {
			d->p += n;
			return 0;
		}
	}
	return fail(d, 0);
}

static int skip_value(struct decoder *d, int depth);

/* Skips the array or object at d->p (its opening bracket), checking it. */
static int skip_container(struct decoder *d, int depth)
{
	char close = *d->p == '[' ? ']' : '}';
	const char *s;
	size_t len;
	int escaped;

	if (depth > JSON_MAX_DEPTH)
		return fail(d, 0);
	d->p++;
	skip_ws(d);
	if (d->p < d->end && *d->p == close) {
		d->p++;
		return 0;
	}
	for (;;) {
		skip_ws(d);
		if (close == '}' && (d->p >= d->end || *d->p != '"' ||
				     scan_string(d, &s, &len, &escaped) < 0 ||
				     expect(d, ':') < 0))
			return fail(d, 0);
		skip_ws(d);
		if (skip_value(d, depth) < 0)
			return -1;
		skip_ws(d);
		if (d->p < d->end && *d->p == ',') {
			d->p++;
			continue;
		}
		return expect(d, close);
	}
}

/* Skips any JSON value at d->p, validating it. */
static int skip_value(struct decoder *d, int depth)
{
	const char *s;
	size_t len;
	int escaped;

	if (d->p >= d->end)
		return fail(d, 0);
	switch (*d->p) {
	case '"':
		return scan_string(d, &s, &len, &escaped);
	case '[':
	case '{':
		return skip_container(d, depth + 1);
	case 't':
	case 'f':
	case 'n':
		return skip_literal(d);
	}
	return skip_number(d);
}

static int decode_object(struct decoder *d, const char *prefix, size_t plen,
			 int depth);

/* Stages an array (or other raw value) as its JSON text. Text holding
 * invalid UTF-8 is staged as a string instead, so that the output escapes
 * its bad bytes rather than copying them. */
static int stage_raw(struct decoder *d, const char *name, const char *start)
{
	size_t len = (size_t)(d->p - start);
	int type = LS_F_RAW;

	if (*start == '[' && !ls_utf8_valid(start, len))
		type = LS_F_STR;
	return stage(d, name, start, len, type);
}

/* Decodes the value at d->p for the field called name (in the arena). */
static int decode_value(struct decoder *d, const char *name, int depth)
{
	const char *start = d->p, *val;
	size_t len;

	if (d->p >= d->end)
		return fail(d, 0);
	if (*d->p == '"') {
		if (read_string(d, &val, &len) < 0)
			return -1;
		return stage(d, name, val, len, LS_F_STR);
	}
	if (*d->p == '{') {
		int before = d->n;

		if (decode_object(d, name, strlen(name), depth + 1) < 0)
			return -1;
		/* keep {} rather than losing the key */
		return d->n == before ? stage_raw(d, name, start) : 0;
	}
	if (skip_value(d, depth) < 0)
		return -1;
	return stage_raw(d, name, start);
}

/* Decodes the object at d->p (its '{'), its keys prefixed by prefix. */
static int decode_object(struct decoder *d, const char *prefix, size_t plen,
			 int depth)
{
	const char *key, *name;
	size_t klen;

	if (depth > JSON_MAX_DEPTH)
		return fail(d, 0);
	d->p++;
	skip_ws(d);
	if (d->p < d->end && *d->p == '}') {
		d->p++;
		return 0;
	}
	for (;;) {
		skip_ws(d);
		if (d->p >= d->end || *d->p != '"')
			return fail(d, 0);
		if (read_string(d, &key, &klen) < 0 || expect(d, ':') < 0)
			return -1;
		name = join_name(d, prefix, plen, key, klen);
		skip_ws(d);
		if (!name || decode_value(d, name, depth) < 0)
			return -1;
		skip_ws(d);
		if (d->p < d->end && *d->p == ',') {
			d->p++;
			continue;
		}
		return expect(d, '}');
	}
}

/* Decodes one JSON object line into ev (see decode.h). Nested objects
 * become dotted names ({} kept as the raw value "{}"); strings without
 * escapes point into line, unescaped ones live in the arena; a lone
 * surrogate escape makes the line invalid; arrays holding invalid UTF-8
 * are kept as strings. Objects nested deeper than 32 levels, raw control
 * characters in strings, more leaves than an event holds (LS_ENOMEM) or
 * anything after the object refuse the line, leaving ev as it was (fields
 * and arena). Returns 1, 0 or LS_ENOMEM. */
int ls_decode_json(struct ls_event *ev, const char *line, size_t len,
		   const struct ls_keymap *map, int nmap)
{
	struct decoder d;
	int saved_nfields = ev->nfields, ok;
	size_t saved_arena = ev->arena_len;

	decoder_init(&d, ev, line, len, map, nmap);
	skip_ws(&d);
	if (d.p >= d.end || *d.p != '{')
		return 0;
	ok = decode_object(&d, "", 0, 1) == 0;
	skip_ws(&d);
	if (ok && d.p != d.end) {
		fail(&d, 0); /* trailing garbage */
		ok = 0;
	}
	return finish(&d, ok, saved_nfields, saved_arena);
}

/* ---- logfmt ---- */

static int logfmt_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int logfmt_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
	       c == '/' || c == '-';
}

static char logfmt_unescape_char(char c, int *known)
{
	*known = 1;
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	}
	*known = 0;
	return c;
}

/* Unescapes a quoted logfmt value into the arena; unknown escapes keep
 * their backslash. */
static char *logfmt_unescape(struct decoder *d, const char *s, size_t len,
			     size_t *outlen)
{
	char *out = ls_event_alloc(d->ev, len + 1), *o = out;
	int known;

	if (!out) {
		fail(d, LS_ENOMEM);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < len) {
			c = logfmt_unescape_char(s[++i], &known);
			if (!known)
				*o++ = '\\';
		}
		*o++ = c;
	}
	*outlen = (size_t)(o - out);
	return out;
}

/* Reads a "quoted" value at d->p. */
static int logfmt_quoted(struct decoder *d, const char **val, size_t *len)
{
	const char *s = ++d->p;
	int escaped = 0;

	while (d->p < d->end && *d->p != '"') {
		if (*d->p == '\\') {
			if (d->end - d->p < 2)
				return fail(d, 0);
			escaped = 1;
			d->p++;
		}
		d->p++;
	}
	if (d->p >= d->end)
		return fail(d, 0);
	*len = (size_t)(d->p - s);
	d->p++;
	*val = escaped ? logfmt_unescape(d, s, *len, len) : s;
	return *val ? 0 : -1;
}

/* Reads the value after '=': quoted, or bare up to the next space. */
static int logfmt_value(struct decoder *d, const char **val, size_t *len)
{
	if (d->p < d->end && *d->p == '"')
		return logfmt_quoted(d, val, len);
	*val = d->p;
	while (d->p < d->end && !logfmt_space(*d->p)) {
		if (*d->p == '"')
			return fail(d, 0);
		d->p++;
	}
	*len = (size_t)(d->p - *val);
	return 0;
}

/* Reads one key, key=value or key="value" at d->p; counts pairs. */
static int logfmt_item(struct decoder *d, int *pairs)
{
	const char *key = d->p, *name, *val;
	size_t len;

	while (d->p < d->end && logfmt_key_char((unsigned char)*d->p))
		d->p++;
	if (d->p == key)
		return fail(d, 0);
	name = arena_copy(d, key, (size_t)(d->p - key));
	if (!name)
		return -1;
	if (d->p == d->end || logfmt_space(*d->p))
		return stage(d, name, "true", 4, LS_F_RAW);
	if (*d->p != '=')
		return fail(d, 0);
	d->p++;
	if (logfmt_value(d, &val, &len) < 0)
		return -1;
	if (d->p < d->end && !logfmt_space(*d->p))
		return fail(d, 0);
	(*pairs)++;
	return stage(d, name, val, len, LS_F_STR);
}

/* Decodes a logfmt line into ev (see decode.h): keys are
 * [A-Za-z0-9_.@/-]+; values bare or "quoted" (\" \\ \n \t \r unescaped into
 * the arena, other escapes kept as written); a key alone is a flag, set to
 * the raw value true. Values stay strings. Returns 1 when the whole line is
 * logfmt with at least two key=value pairs, 0 otherwise (ev left as it was),
 * LS_ENOMEM when the arena or the event is full. */
int ls_decode_logfmt(struct ls_event *ev, const char *line, size_t len,
		     const struct ls_keymap *map, int nmap)
{
	struct decoder d;
	int saved_nfields = ev->nfields, pairs = 0, ok = 1;
	size_t saved_arena = ev->arena_len;

	/* most lines tried here are not logfmt: two pairs need an '=' at least */
	if (!memchr(line, '=', len))
		return 0;
	decoder_init(&d, ev, line, len, map, nmap);
	for (;;) {
		while (d.p < d.end && logfmt_space(*d.p))
			d.p++;
		if (d.p == d.end)
			break;
		if (logfmt_item(&d, &pairs) < 0) {
			ok = 0;
			break;
		}
	}
	if (ok && pairs < 2) {
		fail(&d, 0);
		ok = 0;
	}
	return finish(&d, ok, saved_nfields, saved_arena);
}

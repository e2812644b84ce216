/* redact.c - finding secrets in one pass over the bytes, with cheap checks
 * only at trigger bytes ('=' ':' for key=value and headers, "://" for a
 * password in a URL's user info, 'A' for AWS key ids, 'e' for JWTs, '-' for
 * private-key blocks, digits for card numbers), then writing a copy into
 * the event arena with "[REDACTED:<kind>]" in place of each secret. No
 * regex, no malloc.
 *
 * Digits, ':' and '=' are common in logs, so the scan looks at 16 bytes at
 * a time for candidates, trigger bytes in the context their secret needs
 * ("AK", "AS", "ey", "--", a separator not after a digit, four digits after
 * a non-digit and before a digit or group separator), and drops separators
 * at once unless the byte before them can end a secret key (a ':' goes on
 * only when "//" follows it, and then 16 bytes tell most URLs apart).
 *
 * What counts: key=value, "key": "value" and 'key': 'value' for the keys
 * of secret_keys ("pwd" not when its value is a path: sudo's PWD=/home/x).
 * A bare "key: value" is as often prose ("using password: YES", "pass:
 * ok", "token: expired") as configuration, so there only password, passwd
 * and the token, secret and API-key keys count, and only before a value
 * that looks like a credential (credential_like()); "password: hunter2x"
 * in a configuration dump is redacted, "pass: ..." and "pwd: ..." never.
 * Authorization values keep their scheme word; in a header they run to the
 * end of their line. In "scheme://user:password@host" the password goes.
 *
 * ls_redact_event() scans the raw line (or the message when that is not
 * part of the line) once and keeps where the secrets are: each field cut
 * out of it gets the secrets it overlaps replaced, and is scanned again
 * on its own only when its ends could make a difference (see covered()). */
#include "redact.h"
#include "buf.h"
#include "error.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum redact_kind {
	K_PASSWORD, K_TOKEN, K_SECRET, K_API_KEY, K_AUTHORIZATION,
	K_AWS_KEY, K_JWT, K_PRIVATE_KEY, K_CARD, K_COUNT
};

#define REPLACEMENT(kind) { "[REDACTED:" kind "]", sizeof("[REDACTED:" kind "]") - 1 }
static const struct {
	const char *text;
	size_t len;
} replacements[K_COUNT] = {
	[K_PASSWORD] = REPLACEMENT("password"),
	[K_TOKEN] = REPLACEMENT("token"),
	[K_SECRET] = REPLACEMENT("secret"),
	[K_API_KEY] = REPLACEMENT("api_key"),
	[K_AUTHORIZATION] = REPLACEMENT("authorization"),
	[K_AWS_KEY] = REPLACEMENT("aws_access_key"),
	[K_JWT] = REPLACEMENT("jwt"),
	[K_PRIVATE_KEY] = REPLACEMENT("private_key"),
	[K_CARD] = REPLACEMENT("card"),
};

/* How a secret key may be used. A bare "key: value" (unquoted key, colon
 * and blank) is as often prose as configuration ("using password: YES",
 * "pass: ok"), so only keys marked KEY_COLON count there, and only with a
 * value that looks like a credential (see credential_like()). */
enum {
	KEY_COLON = 1 << 0,    /* counts in a bare "key: value" */
	KEY_NOT_PATH = 1 << 1  /* a value starting with '/' or '~' is a path */
};

/* Secret keys, lower case; matched case-insensitively at a word boundary.
 * "pwd" is also the working directory (sudo's "PWD=/home/alice"); "pass"
 * and "pwd" are common words before a colon. */
static const struct {
	const char *name;
	size_t len;
	enum redact_kind kind;
	unsigned flags;
} secret_keys[] = {
#define KEY(name, kind, flags) { name, sizeof(name) - 1, kind, flags }
	KEY("password", K_PASSWORD, KEY_COLON), KEY("passwd", K_PASSWORD, KEY_COLON),
	KEY("pwd", K_PASSWORD, KEY_NOT_PATH), KEY("pass", K_PASSWORD, 0),
	KEY("token", K_TOKEN, KEY_COLON), KEY("access_token", K_TOKEN, KEY_COLON),
	KEY("refresh_token", K_TOKEN, KEY_COLON), KEY("auth_token", K_TOKEN, KEY_COLON),
	KEY("session_token", K_TOKEN, KEY_COLON),
	KEY("secret", K_SECRET, KEY_COLON), KEY("client_secret", K_SECRET, KEY_COLON),
	KEY("api_key", K_API_KEY, KEY_COLON), KEY("apikey", K_API_KEY, KEY_COLON),
	KEY("api-key", K_API_KEY, KEY_COLON),
	KEY("authorization", K_AUTHORIZATION, KEY_COLON),
#undef KEY
};
#define KEY_MIN 3
#define KEY_MAX 13

/* The last bytes of the secret keys, either case: a key ending in another
 * byte is not one of them. */
static const unsigned char ends_secret_key[256] = {
	['d'] = 1, ['s'] = 1, ['n'] = 1, ['t'] = 1, ['y'] = 1,
	['D'] = 1, ['S'] = 1, ['N'] = 1, ['T'] = 1, ['Y'] = 1,
};

/* Authorization schemes that, alone, are not a credential. */
static const char *const auth_schemes[] = {
	"basic", "bearer", "digest", "negotiate", "ntlm", "token", NULL
};

/* Secrets replaced per round; a line with more is redacted in rounds. */
#define MAX_SPANS 32

struct span {
	size_t start, end;
	enum redact_kind kind;
};

enum trigger {
	T_NONE, T_SEPARATOR, T_AWS, T_JWT, T_PEM, T_DIGIT
};

static const unsigned char triggers[256] = {
	['='] = T_SEPARATOR, [':'] = T_SEPARATOR, ['A'] = T_AWS,
	['e'] = T_JWT, ['-'] = T_PEM,
	['0'] = T_DIGIT, ['1'] = T_DIGIT, ['2'] = T_DIGIT, ['3'] = T_DIGIT,
	['4'] = T_DIGIT, ['5'] = T_DIGIT, ['6'] = T_DIGIT, ['7'] = T_DIGIT,
	['8'] = T_DIGIT, ['9'] = T_DIGIT,
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

static int is_key_char(unsigned char c)
{
	return is_word(c) || c == '-';
}

static int is_base64url(unsigned char c)
{
	return is_word(c) || c == '-';
}

static int is_quote(unsigned char c)
{
	return c == '"' || c == '\'';
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* What may come right before a secret key. */
static int is_key_boundary(unsigned char c)
{
	return is_space(c) || c == '?' || c == '&' || c == '"' || c == '\'' ||
	       c == '{' || c == ',' || c == ';';
}

/* Where an unquoted value stops. */
static int ends_bare_value(unsigned char c)
{
	return is_space(c) || c == '&' || c == '"' || c == '\'' || c == ',' ||
	       c == ';';
}

static unsigned char fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether s[0..len) equals the lower-case word lower, ignoring ASCII case. */
static int equals_folded(const char *s, size_t len, const char *lower)
{
	size_t i;

	for (i = 0; i < len && lower[i]; i++)
		if (fold((unsigned char)s[i]) != (unsigned char)lower[i])
			return 0;
	return i == len && lower[i] == '\0';
}

/* The index of the secret key key[0..len) in secret_keys, or -1. */
static int key_index(const char *key, size_t len)
{
	if (len < KEY_MIN || len > KEY_MAX)
		return -1;
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (secret_keys[i].len == len &&
		    equals_folded(key, len, secret_keys[i].name))
			return (int)i;
	return -1;
}

/* --- private keys --- */

#define PEM_LABEL_MAX 64

/* The first needle in s[from..len), or len when there is none. */
static size_t find(const char *s, size_t from, size_t len, const char *needle,
		   size_t nlen)
{
	while (from + nlen <= len) {
		const char *c = memchr(s + from, needle[0], len - from - nlen + 1);
		if (!c)
			break;
		from = (size_t)(c - s);
		if (memcmp(s + from, needle, nlen) == 0)
			return from;
		from++;
	}
	return len;
}

/* At p, after "-----BEGIN " or "-----END ": whether the label (capitals,
 * digits, spaces) up to the closing "-----" ends in "PRIVATE KEY"; *after
 * is past the dashes. */
static int private_key_label(const char *s, size_t len, size_t p, size_t *after)
{
	size_t room = len - p < PEM_LABEL_MAX ? len - p : PEM_LABEL_MAX;
	size_t label_end = find(s, p, p + room, "-----", 5);

	if (label_end == p + room)
		return 0;
	for (size_t q = p; q < label_end; q++)
		if (s[q] != ' ' && !is_digit((unsigned char)s[q]) &&
		    (s[q] < 'A' || s[q] > 'Z'))
			return 0;
	*after = label_end + 5;
	return label_end - p >= 11 && memcmp(s + label_end - 11, "PRIVATE KEY", 11) == 0;
}

/* "-----BEGIN ...PRIVATE KEY-----" through the matching END line, or to
 * the end of the text when the block was cut off. */
static int try_private_key(const char *s, size_t len, size_t i, struct span *sp)
{
	size_t p, after;

	if (len - i < 11 || memcmp(s + i, "-----BEGIN ", 11) != 0)
		return 0;
	if (!private_key_label(s, len, i + 11, &p))
		return 0;
	sp->start = i;
	sp->end = len;
	sp->kind = K_PRIVATE_KEY;
	while ((p = find(s, p, len, "-----END ", 9)) < len) {
		p += 9;
		if (private_key_label(s, len, p, &after)) {
			sp->end = after;
			break;
		}
	}
	return 1;
}

/* --- key=value, "key": "value", key: value and Authorization --- */

/* A value's extent: [start, end), and how it was quoted. */
struct value {
	size_t start, end;
	unsigned char quote; /* 0 for a bare value */
	int escaped;         /* quoted with \" inside a JSON string */
};

/* Where a value that starts at p ends, given its quoting. */
static size_t value_end(const char *s, size_t len, size_t p,
			const struct value *v)
{
	for (; p < len; p++) {
		unsigned char c = (unsigned char)s[p];
		if (!v->quote) {
			if (ends_bare_value(c))
				break;
		} else if (c == '\\') {
			if (v->escaped && p + 1 < len && s[p + 1] == (char)v->quote)
				break;
			p++;
		} else if (c == v->quote && !v->escaped) {
			break;
		}
	}
	return p < len ? p : len;
}

/* Reads the value starting at p (after the separator). */
static void read_value(const char *s, size_t len, size_t p, struct value *v)
{
	v->quote = 0;
	v->escaped = 0;
	if (p + 1 < len && s[p] == '\\' && is_quote((unsigned char)s[p + 1])) {
		v->quote = (unsigned char)s[p + 1];
		v->escaped = 1;
		p += 2;
	} else if (p < len && is_quote((unsigned char)s[p])) {
		v->quote = (unsigned char)s[p];
		p++;
	}
	v->start = p;
	v->end = value_end(s, len, p, v);
}

/* After "Basic"/"Bearer": the scheme separator (spaces, "+" or "%20");
 * returns where the credential starts, or p when there is no separator. */
static size_t skip_scheme_separator(const char *s, size_t len, size_t p)
{
	size_t q = p;

	if (q + 3 <= len && memcmp(s + q, "%20", 3) == 0)
		return q + 3;
	if (q < len && s[q] == '+')
		return q + 1;
	while (q < len && (s[q] == ' ' || s[q] == '\t'))
		q++;
	return q;
}

static int is_auth_scheme(const char *s, size_t len)
{
	for (int i = 0; auth_schemes[i]; i++)
		if (equals_folded(s, len, auth_schemes[i]))
			return 1;
	return 0;
}

/* Narrows an Authorization value to its credential, keeping the scheme
 * word. 0 when there is no credential to hide. */
static int auth_credential(const char *s, size_t len, struct value *v)
{
	size_t word_end = v->start, cred;

	while (word_end < len && is_key_char((unsigned char)s[word_end]))
		word_end++;
	cred = skip_scheme_separator(s, len, word_end);
	if (cred > word_end && cred < len && word_end > v->start &&
	    (v->quote ? cred < v->end : !ends_bare_value((unsigned char)s[cred]))) {
		v->start = cred;
		v->end = value_end(s, len, cred, v);
		return v->end > v->start;
	}
	/* a scheme word with nothing after it hides nothing */
	return !(cred >= v->end && is_auth_scheme(s + v->start, word_end - v->start));
}

/* For the separator at i: the key's end, and whether the key was quoted
 * ("key": ...). Returns 0 when this separator cannot follow a key. */
static int key_end(const char *s, size_t len, size_t i, size_t floor,
		   size_t *end, unsigned char *quote)
{
	*end = i;
	*quote = 0;
	if (s[i] == ':' && i > floor && is_quote((unsigned char)s[i - 1])) {
		*quote = (unsigned char)s[i - 1];
		*end = i - 1;
		if (*end > floor && s[*end - 1] == '\\')
			(*end)--;
	} else if (s[i] == ':') {
		/* a bare "key: value" needs the space */
		if (i + 1 >= len || (s[i + 1] != ' ' && s[i + 1] != '\t'))
			return 0;
	}
	return *end > floor;
}

/* Finds the start of the key ending at end: a run of key characters no
 * longer than KEY_MAX (plus "-"/"--" of a command-line option) after a
 * boundary, or inside the quotes of a quoted key. Returns its index in
 * secret_keys or -1. */
static int key_before(const char *s, size_t end, size_t floor,
		      unsigned char quote, size_t *run_start)
{
	size_t k = end, key;

	while (k > floor && end - k <= KEY_MAX + 2 &&
	       is_key_char((unsigned char)s[k - 1]))
		k--;
	*run_start = k;
	key = k;
	while (!quote && key < end && key - k < 2 && s[key] == '-')
		key++;
	if (key == end || end - key > KEY_MAX)
		return -1;
	if (k > 0 && (quote ? s[k - 1] != (char)quote
			    : !is_key_boundary((unsigned char)s[k - 1])))
		return -1;
	return key_index(s + key, end - key);
}

static int is_redacted_already(const char *s, size_t len, size_t p)
{
	return len - p >= 10 && memcmp(s + p, "[REDACTED:", 10) == 0;
}

/* What try_key_value() saw before a separator: where the run of key bytes
 * it read back to starts (the separator itself when it read none) and
 * whether that run names a secret key. */
struct key_probe {
	size_t run_start;
	int secret_key;
};

/* Whether c is one of the bytes of set (never the NUL). */
static int one_of(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* A bare word in brackets ("(none)", "<hidden>", "[redacted]"): a
 * placeholder, not a credential. */
static int bracketed_word(const char *s, size_t a, size_t b)
{
	if (b - a < 3 || !one_of((unsigned char)s[a], "(<[") ||
	    !one_of((unsigned char)s[b - 1], ")>]"))
		return 0;
	for (size_t q = a + 1; q < b - 1; q++)
		if (!is_alnum((unsigned char)s[q]) && s[q] != '_' && s[q] != '/')
			return 0;
	return 1;
}

/* Whether the bare value v after "key: " looks like a credential rather
 * than prose ("using password: YES)", "token: expired.", "secret: (none)"):
 * not a path, and without its closing punctuation at least 6 bytes with a
 * letter or digit and either a digit or a symbol in it, or at least 16
 * letters ("hunter2", "s3cr3t", "hunter2secret", "0123456789abcdef" are
 * credentials; "YES", "ok", "expired", "incorrect" are not). A ')' that
 * closes nothing in the value is left out of it. */
static int credential_like(const char *s, struct value *v)
{
	size_t a = v->start, b = v->end, core_end;
	int alnum = 0, marked = 0;

	if (s[a] == '/' || s[a] == '~' || bracketed_word(s, a, b))
		return 0;
	if (s[b - 1] == ')' && !memchr(s + a, '(', b - a))
		b--;
	core_end = b;
	while (core_end > a && one_of((unsigned char)s[core_end - 1], ".!?:)]>"))
		core_end--;
	if (core_end - a < 6)
		return 0;
	for (size_t q = a; q < core_end; q++) {
		unsigned char c = (unsigned char)s[q];
		if (is_alnum(c))
			alnum = 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			marked = 1;
	}
	if (!alnum || (!marked && core_end - a < 16))
		return 0;
	v->end = b;
	return 1;
}

static int is_encoded_char(unsigned char c)
{
	return is_word(c) || c == '+' || c == '/' || c == '=' || c == '-' ||
	       c == '.' || c == '~';
}

/* After the credential of an "Authorization: <scheme> <credential>" header,
 * which runs to the end of its line: further blank-separated words that
 * look like encoded bytes (at least 16 base64 or hex characters with a
 * digit) belong to it. Returns the new end. */
static size_t auth_extend(const char *s, size_t len, size_t end)
{
	for (;;) {
		size_t word = end, q;
		int digit = 0;

		while (word < len && (s[word] == ' ' || s[word] == '\t'))
			word++;
		if (word == end)
			break;
		for (q = word; q < len && is_encoded_char((unsigned char)s[q]); q++)
			digit |= is_digit((unsigned char)s[q]);
		if (q - word < 16 || !digit || (q < len && !ends_bare_value((unsigned char)s[q])))
			break;
		end = q;
	}
	return end;
}

/* An unquoted value after a quoted key ("password": 1234) ends at the
 * object's or array's end; a JSON literal there hides nothing. 0 when
 * nothing is left. */
static int json_bare_value(const char *s, struct value *v)
{
	for (size_t q = v->start; q < v->end; q++)
		if (s[q] == '}' || s[q] == ']') {
			v->end = q;
			break;
		}
	return v->end > v->start && !equals_folded(s + v->start, v->end - v->start, "null") &&
	       !equals_folded(s + v->start, v->end - v->start, "true") &&
	       !equals_folded(s + v->start, v->end - v->start, "false");
}

/* After the separator at i of the secret key secret_keys[key] (quote: how
 * the key was quoted): the span of a non-empty value that holds a secret.
 * Out of line: most separators have no secret key before them. */
static __attribute__((noinline)) int secret_value(const char *s, size_t len, size_t i,
						  int key, unsigned char quote,
						  struct span *sp)
{
	int kind = (int)secret_keys[key].kind, bare_colon = s[i] == ':' && !quote;
	struct value v;
	size_t p = i + 1;

	if (s[i] == ':')
		while (p < len && (s[p] == ' ' || s[p] == '\t'))
			p++;
	read_value(s, len, p, &v);
	if (v.end == v.start || is_redacted_already(s, len, v.start))
		return 0;
	/* a bare value would stop at the space in "-----BEGIN RSA ..." */
	if (s[v.start] == '-' && try_private_key(s, len, v.start, sp))
		return 1;
	if ((secret_keys[key].flags & KEY_NOT_PATH) && (s[v.start] == '/' || s[v.start] == '~'))
		return 0;
	/* "password=abc-----BEGIN RSA PRIVATE KEY-----...": the key block is
	 * found on its own after the value */
	if (!v.quote && v.end - v.start > 10 && memcmp(s + v.end - 10, "-----BEGIN", 10) == 0)
		v.end -= 10;
	if (kind == K_AUTHORIZATION) {
		if (!auth_credential(s, len, &v) || is_redacted_already(s, len, v.start))
			return 0;
		if (bare_colon && !v.quote)
			v.end = auth_extend(s, len, v.end);
	} else if (bare_colon && !v.quote) {
		if (!(secret_keys[key].flags & KEY_COLON) || !credential_like(s, &v))
			return 0;
	} else if (quote && !v.quote && !json_bare_value(s, &v)) {
		return 0;
	}
	sp->start = v.start;
	sp->end = v.end;
	sp->kind = (enum redact_kind)kind;
	return 1;
}

/* A separator ('=' or ':') at i: a secret key before it and a non-empty
 * value after it give a span over the value. Fills probe (when not NULL). */
static int try_key_value(const char *s, size_t len, size_t i, size_t floor,
			 struct span *sp, struct key_probe *probe)
{
	struct key_probe unused;
	unsigned char quote;
	size_t end;
	int key;

	if (!probe)
		probe = &unused;
	probe->run_start = i;
	probe->secret_key = 0;

	/* a key (or the quote closing it) touches its separator; most ':' and
	 * '=' in a line (times, addresses, URLs) fail here at once */
	if (i == floor || (!is_key_char((unsigned char)s[i - 1]) &&
			   !is_quote((unsigned char)s[i - 1])))
		return 0;
	if (!key_end(s, len, i, floor, &end, &quote) || !ends_secret_key[(unsigned char)s[end - 1]])
		return 0;
	key = key_before(s, end, floor, quote, &probe->run_start);
	if (key < 0)
		return 0;
	probe->secret_key = 1;
	return secret_value(s, len, i, key, quote, sp);
}

/* --- passwords in URLs --- */

static int is_scheme_char(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

/* The bytes try_url_password() looks for after "scheme://": where the
 * authority ends (and its user info cannot go on; '[' starts an IPv6 host,
 * or a "[REDACTED:<kind>]"), '@' and ':'. */
enum { U_END = 1, U_AT, U_COLON };
static const unsigned char url_bytes[256] = {
	['/'] = U_END, ['?'] = U_END, ['#'] = U_END, [' '] = U_END, ['\t'] = U_END,
	['\n'] = U_END, ['\r'] = U_END, ['"'] = U_END, ['\''] = U_END, ['<'] = U_END,
	['>'] = U_END, ['`'] = U_END, ['\\'] = U_END, ['['] = U_END,
	['@'] = U_AT, [':'] = U_COLON,
};

/* Whether the authority starting at p (before len) surely has no '@':
 * the first of '/', '?', '#', a blank or a quote comes before any '@'.
 * Most URLs are told apart in 16 bytes; 0 means "look closer". */
static int surely_no_user_info(const char *s, size_t len, size_t p)
{
#if defined(__SSE2__)
	for (; len - p >= 16; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + p));
		__m128i end = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('/')),
				     _mm_cmpeq_epi8(v, _mm_set1_epi8(' '))),
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
						  _mm_cmpeq_epi8(v, _mm_set1_epi8('\''))),
				     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')),
						  _mm_cmpeq_epi8(v, _mm_set1_epi8('#')))));
		unsigned ends = (unsigned)_mm_movemask_epi8(end);
		unsigned ats = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('@')));

		if (ends)
			return (ats & ((ends & (0u - ends)) - 1)) == 0;
		if (ats)
			return 0;
	}
#endif
	(void)s;
	(void)len;
	(void)p;
	return 0;
}

/* At the ':' of "scheme://": the password of "user:password@host", up to
 * the last '@' before the authority ends (a password may hold a raw '@';
 * one after the path's first '/' is not user info). A user without ':' has
 * no password. */
static __attribute__((noinline)) int url_password(const char *s, size_t len, size_t i,
						  struct span *sp)
{
	size_t colon = 0, at = 0, q;

	for (q = i + 3; q < len; q++) {
		unsigned char u = url_bytes[(unsigned char)s[q]];

		if (!u)
			continue;
		if (u == U_END)
			break;
		if (u == U_AT)
			at = q;
		else if (!colon)
			colon = q;
	}
	if (!at || !colon || colon > at || colon + 1 == at ||
	    is_redacted_already(s, at, colon + 1))
		return 0;
	sp->start = colon + 1;
	sp->end = at;
	sp->kind = K_PASSWORD;
	return 1;
}

static int is_url_start(const char *s, size_t len, size_t i)
{
	return s[i] == ':' && len - i > 3 && s[i + 1] == '/' && s[i + 2] == '/';
}

/* At i, the ':' of "://": url_password() when a scheme comes before it
 * and the authority may have user info. */
static int try_url_password(const char *s, size_t len, size_t i, size_t floor,
			    struct span *sp)
{
	if (i == floor || !is_scheme_char((unsigned char)s[i - 1]) ||
	    surely_no_user_info(s, len, i + 3))
		return 0;
	return url_password(s, len, i, sp);
}

/* --- AWS access key ids, JWTs --- */

/* "AKIA"/"ASIA" and 16 upper-case letters or digits, as a whole word. (At
 * floor, right after a secret, the detectors look no further back, as in
 * the redacted copy, where "]" comes before.) */
static int try_aws_key(const char *s, size_t len, size_t i, size_t floor,
		       struct span *sp)
{
	if (len - i < 20 || (s[i + 1] != 'K' && s[i + 1] != 'S') ||
	    s[i + 2] != 'I' || s[i + 3] != 'A')
		return 0;
	if (i > floor && is_word((unsigned char)s[i - 1]))
		return 0;
	for (size_t j = i + 4; j < i + 20; j++) {
		unsigned char c = (unsigned char)s[j];
		if (!is_digit(c) && !(c >= 'A' && c <= 'Z'))
			return 0;
	}
	if (i + 20 < len && is_word((unsigned char)s[i + 20]))
		return 0;
	sp->start = i;
	sp->end = i + 20;
	sp->kind = K_AWS_KEY;
	return 1;
}

/* "eyJ..." header, payload and signature: three base64url parts of at
 * least 4 characters joined by dots. */
static int try_jwt(const char *s, size_t len, size_t i, size_t floor,
		   struct span *sp)
{
	size_t p = i;

	if (len - i < 3 || s[i + 1] != 'y' || s[i + 2] != 'J')
		return 0;
	if (i > floor && is_base64url((unsigned char)s[i - 1]))
		return 0;
	for (int part = 0; part < 3; part++) {
		size_t start = p;
		while (p < len && is_base64url((unsigned char)s[p]))
			p++;
		if (p - start < 4)
			return 0;
		if (part < 2) {
			if (p >= len || s[p] != '.')
				return 0;
			p++;
		}
	}
	sp->start = i;
	sp->end = p;
	sp->kind = K_JWT;
	return 1;
}

/* --- card numbers --- */

#define CARD_MIN 13
#define CARD_MAX 19
#define CARD_GROUPS 6

static int luhn_valid(const char *s, size_t start, size_t end)
{
	int sum = 0, dbl = 0;

	for (size_t p = end; p > start; p--) {
		unsigned char c = (unsigned char)s[p - 1];
		int d;
		if (!is_digit(c))
			continue;
		d = c - '0';
		if (dbl && (d *= 2) > 9)
			d -= 9;
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

/* Whether a number may end at p: not followed by a letter, a digit or a
 * decimal fraction. */
static int number_ends_at(const char *s, size_t len, size_t p)
{
	if (p >= len)
		return 1;
	if (is_word((unsigned char)s[p]))
		return 0;
	return !(s[p] == '.' && p + 1 < len && is_digit((unsigned char)s[p + 1]));
}

/* Splits the digits from i into groups ("4111 1111 1111 1111", with one
 * kind of separator; a grouped number starts with 4 digits, later groups
 * hold 3 to 6) while the total stays within CARD_MAX. Fills ends[] and
 * totals[]; returns the number of groups, -1 for an over-long digit run. */
static int card_groups(const char *s, size_t len, size_t i,
		       size_t ends[CARD_GROUPS], size_t totals[CARD_GROUPS])
{
	size_t p = i, total = 0;
	char sep = 0;
	int n = 0;

	for (;;) {
		size_t g = p;
		while (p < len && is_digit((unsigned char)s[p]))
			p++;
		if (n > 0 && (p - g < 3 || p - g > 6))
			break;
		if (total + (p - g) > CARD_MAX) {
			if (n == 0)
				return -1;
			break;
		}
		total += p - g;
		ends[n] = p;
		totals[n++] = total;
		if ((n == 1 && p - g != 4) || n == CARD_GROUPS || p + 1 >= len)
			break;
		if ((s[p] != ' ' && s[p] != '-') || (sep && s[p] != sep) ||
		    !is_digit((unsigned char)s[p + 1]))
			break;
		sep = s[p++];
	}
	return n;
}

/* 13 to 19 digits from a card network (first digit 2-6, which also keeps
 * epoch times out), whole-word, Luhn-valid; the longest grouping wins. */
static int try_card(const char *s, size_t len, size_t i, size_t floor,
		    struct span *sp)
{
	size_t ends[CARD_GROUPS], totals[CARD_GROUPS];
	int n;

	if (i > floor && (is_word((unsigned char)s[i - 1]) ||
			  (s[i - 1] == '.' && i > floor + 1 &&
			   is_digit((unsigned char)s[i - 2]))))
		return 0;
	if (s[i] < '2' || s[i] > '6')
		return 0;
	n = card_groups(s, len, i, ends, totals);
	for (int g = n - 1; g >= 0 && totals[g] >= CARD_MIN; g--) {
		if (!number_ends_at(s, len, ends[g]) || !luhn_valid(s, i, ends[g]))
			continue;
		sp->start = i;
		sp->end = ends[g];
		sp->kind = K_CARD;
		return 1;
	}
	return 0;
}

/* --- the scan and the copy --- */

static int try_at(const char *s, size_t len, size_t i, size_t floor,
		  struct span *sp)
{
	switch (triggers[(unsigned char)s[i]]) {
	case T_SEPARATOR:
		return try_key_value(s, len, i, floor, sp, NULL);
	case T_AWS:
		return try_aws_key(s, len, i, floor, sp);
	case T_JWT:
		return try_jwt(s, len, i, floor, sp);
	case T_PEM:
		return try_private_key(s, len, i, sp);
	case T_DIGIT:
		return try_card(s, len, i, floor, sp);
	default:
		return 0;
	}
}

/* The separators ('=' and ':') of a text that a field cut out of it might
 * see differently, as ls_redact_event() needs them to tell which fields the
 * text's secrets already cover: those after a secret key, with or without
 * a secret after them (the field may cut the value, or the scheme word of
 * an Authorization value, short), and those whose key bytes run back to
 * the field's start (where the field may see a shorter key). A separator
 * after a byte no secret key ends with, or whose key is read the same in
 * the field and is no secret key, gives no secret in the field either. */
#define SEPS_MAX 64

struct seps {
	int n;        /* -1: more than SEPS_MAX */
	struct {
		size_t at, run_start;
		int secret_key;
	} sep[SEPS_MAX];
};

static void seps_add(struct seps *seps, size_t i, const struct key_probe *probe)
{
	if (seps->n >= SEPS_MAX) {
		seps->n = -1;
	} else if (seps->n >= 0) {
		seps->sep[seps->n].at = i;
		seps->sep[seps->n].run_start = probe->run_start;
		seps->sep[seps->n++].secret_key = probe->secret_key;
	}
}

/* The byte a candidate needs right after its trigger byte (AWS: 'K', or
 * 'S' checked apart; JWT: 'y'; PEM: '-'), 0 for none. */
static const unsigned char second_byte[] = {
	[T_AWS] = 'K', [T_JWT] = 'y', [T_PEM] = '-',
};

/* Whether a secret could start at i: the trigger byte in the context each
 * detector needs first (try_at() then decides). */
static inline int candidate(const unsigned char *p, size_t len, size_t i)
{
	unsigned char t = triggers[p[i]];

	if (t == T_SEPARATOR)
		/* a key does not end in a digit */
		return i == 0 || !is_digit(p[i - 1]);
	if (t == T_DIGIT)
		/* a card number starts with four digits, the first 2-6, after a
		 * non-digit, then more digits or a group separator */
		return p[i] >= '2' && p[i] <= '6' && (i == 0 || !is_digit(p[i - 1])) &&
		       len - i >= 5 && is_digit(p[i + 1]) && is_digit(p[i + 2]) &&
		       is_digit(p[i + 3]) &&
		       (is_digit(p[i + 4]) || p[i + 4] == ' ' || p[i + 4] == '-');
	return t != T_NONE && i + 1 < len &&
	       (p[i + 1] == second_byte[t] || (t == T_AWS && p[i + 1] == 'S'));
}

#if defined(__SSE2__)
static __m128i load16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Bytes of v in lo..lo+n-1: shifting lo to the bottom of the signed range
 * makes one signed compare a range check. */
static __m128i range16(__m128i v, int lo, int n)
{
	return _mm_cmplt_epi8(_mm_sub_epi8(v, _mm_set1_epi8((char)(lo + 128))),
			      _mm_set1_epi8((char)(-128 + n)));
}

static __m128i digits16(__m128i v)
{
	return range16(v, '0', 10);
}

/* Bit k set when candidate(s, len, i + k) holds, for the 16 positions from
 * i; reads s[i - 1 .. i + 20), so 1 <= i and i + 20 <= len. */
static unsigned candidates16(const char *s, size_t i)
{
	__m128i v0 = load16(s + i), v1 = load16(s + i + 1);
	__m128i v2 = load16(s + i + 2), v3 = load16(s + i + 3);
	__m128i v4 = load16(s + i + 4), before = digits16(load16(s + i - 1));
	__m128i sep = _mm_andnot_si128(before,
				       _mm_or_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8('=')),
						    _mm_cmpeq_epi8(v0, _mm_set1_epi8(':'))));
	__m128i aws = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8('A')),
				    _mm_or_si128(_mm_cmpeq_epi8(v1, _mm_set1_epi8('K')),
						 _mm_cmpeq_epi8(v1, _mm_set1_epi8('S'))));
	__m128i jwt = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8('e')),
				    _mm_cmpeq_epi8(v1, _mm_set1_epi8('y')));
	__m128i pem = _mm_and_si128(_mm_cmpeq_epi8(v0, _mm_set1_epi8('-')),
				    _mm_cmpeq_epi8(v1, _mm_set1_epi8('-')));
	__m128i fifth = _mm_or_si128(digits16(v4),
				     _mm_or_si128(_mm_cmpeq_epi8(v4, _mm_set1_epi8(' ')),
						  _mm_cmpeq_epi8(v4, _mm_set1_epi8('-'))));
	__m128i card = _mm_andnot_si128(before,
					_mm_and_si128(_mm_and_si128(range16(v0, '2', 5), digits16(v1)),
						      _mm_and_si128(_mm_and_si128(digits16(v2),
										  digits16(v3)),
								    fifth)));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(sep, aws),
							_mm_or_si128(_mm_or_si128(jwt, pem), card)));
}
#endif

/* Texts and tails of texts up to this long are checked in one piece. */
#define SHORT_MAX 32

#if defined(__SSE2__)
/* Bit k set when candidate(s, len, i + k) holds, for the last len - i <=
 * SHORT_MAX bytes of s. They are copied between zeros (no trigger, no
 * digit: the zeros act as the end of the text) and checked 16 at a time,
 * with no branch per byte: random values (hex ids, numbers) would
 * mispredict many. */
static uint32_t tail_candidates(const char *s, size_t len, size_t i)
{
	unsigned char room[1 + SHORT_MAX + 20];
	size_t n = len - i;
	uint32_t mask;

	/* candidates16() at 1 reads room[0, 21), at 17 up to room[37) */
	if (n > 16)
		memset(room, 0, sizeof(room));
	else
		memset(room, 0, 32);
	room[0] = i > 0 ? (unsigned char)s[i - 1] : 0;
	ls_copy_small((char *)room + 1, s + i, n);
	mask = candidates16((const char *)room, 1);
	if (n > 16)
		mask |= (uint32_t)candidates16((const char *)room, 17) << 16;
	return n < 32 ? mask & ((UINT32_C(1) << n) - 1) : mask;
}
#else
static uint32_t tail_candidates(const char *s, size_t len, size_t i)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t mask = 0;

	for (size_t k = i; k < len; k++)
		if (triggers[p[k]] && candidate(p, len, k))
			mask |= UINT32_C(1) << (k - i);
	return mask;
}
#endif

/* The candidates from position i: *base and a mask whose bit k stands for
 * position *base + k; positions below *base + *step hold no others. The
 * mask is 0 only at the end of the text. */
static unsigned next_candidates(const char *s, size_t len, size_t i,
				size_t *base, size_t *step)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t mask;

	/* 16 at a time in place need the byte before and 4 after */
	if (len > SHORT_MAX) {
		if (i == 0) {
			*base = 0;
			*step = 1;
			if (candidate(p, len, 0))
				return 1;
			i = 1;
		}
#if defined(__SSE2__)
		for (; i <= len - 20; i += 16) {
			mask = candidates16(s, i);
			if (mask) {
				*base = i;
				*step = 16;
				return mask;
			}
		}
#endif
		while (len - i > SHORT_MAX) {
			if (triggers[p[i]] && candidate(p, len, i)) {
				*base = i;
				*step = 1;
				return 1;
			}
			i++;
		}
	}
	mask = i < len ? tail_candidates(s, len, i) : 0;
	*base = i;
	*step = len - i;
	return mask;
}

/* Finds up to MAX_SPANS secrets in s from byte from, in order and not
 * overlapping. Returns how many. Records in seps (when not NULL) the
 * separators that struct seps keeps.
 *
 * A URL's password is found at its "://" but kept aside until the scan has
 * looked at the user name before it ("https://AKIA...:secret@host" holds
 * two secrets); a secret there that runs into the password takes it in. */
static int scan(const char *s, size_t len, size_t from, struct span *spans,
		struct seps *seps)
{
	size_t i = from, floor = from, base, step;
	struct span url;
	unsigned mask;
	int n = 0, url_pending = 0;

	while (n + url_pending < MAX_SPANS &&
	       (mask = next_candidates(s, len, i, &base, &step)) != 0) {
		i = base + step;
		for (; mask; mask &= mask - 1) {
			size_t c = base + (size_t)__builtin_ctz(mask);
			struct key_probe probe;
			int found;

			if (url_pending && c >= url.start) {
				spans[n++] = url;
				url_pending = 0;
				floor = i = url.end;
				break;
			}
			if (triggers[(unsigned char)s[c]] != T_SEPARATOR) {
				found = try_at(s, len, c, floor, &spans[n]);
			} else if (!url_pending && is_url_start(s, len, c) &&
				   try_url_password(s, len, c, floor, &url)) {
				url_pending = 1;
				continue;
			} else if (c == floor || !(ends_secret_key[(unsigned char)s[c - 1]] ||
						   is_quote((unsigned char)s[c - 1]))) {
				/* what try_key_value() needs first, without the
				 * call: a key's last byte or the quote closing it */
				continue;
			} else {
				found = try_key_value(s, len, c, floor, &spans[n], &probe);
				if (seps && (!found || probe.secret_key))
					seps_add(seps, c, &probe);
			}
			if (found) {
				if (url_pending && spans[n].end > url.start) {
					if (url.end > spans[n].end)
						spans[n].end = url.end;
					url_pending = 0;
				}
				/* go on after the secret, past the rest of the mask */
				floor = i = spans[n++].end;
				break;
			}
		}
	}
	if (url_pending)
		spans[n++] = url;
	return n;
}

/* Writes text[a, b) into the arena (NUL-terminated) with the parts of it
 * that spans[lo, hi) cover (sorted, not overlapping, each overlapping
 * [a, b)) replaced by their "[REDACTED:<kind>]". Sets *outlen and *resume
 * (the position after the last replacement). NULL when the arena is full. */
static char *splice(struct ls_event *ev, const char *text, size_t a, size_t b,
		    const struct span *spans, int lo, int hi, size_t *outlen,
		    size_t *resume)
{
	size_t total = b - a, prev = a, o = 0;
	char *out;

	for (int k = lo; k < hi; k++) {
		size_t start = spans[k].start > a ? spans[k].start : a;
		size_t end = spans[k].end < b ? spans[k].end : b;
		total = total - (end - start) + replacements[spans[k].kind].len;
	}
	out = ls_event_alloc(ev, total + 1);
	if (!out)
		return NULL;
	for (int k = lo; k < hi; k++) {
		size_t start = spans[k].start > a ? spans[k].start : a;

		memcpy(out + o, text + prev, start - prev);
		o += start - prev;
		memcpy(out + o, replacements[spans[k].kind].text,
		       replacements[spans[k].kind].len);
		o += replacements[spans[k].kind].len;
		prev = spans[k].end < b ? spans[k].end : b;
	}
	*resume = o;
	memcpy(out + o, text + prev, b - prev);
	out[total] = '\0';
	*outlen = total;
	return out;
}

/* ls_redact(): a round finds up to MAX_SPANS secrets and writes a copy
 * without them; the next round goes on in that copy. */
static int redact_text(struct ls_event *ev, const char *s, size_t len,
		       const char **out, size_t *outlen)
{
	struct span spans[MAX_SPANS];
	const char *cur = s;
	size_t curlen = len, from = 0;
	int n, total = 0;

	do {
		char *next;
		n = scan(cur, curlen, from, spans, NULL);
		if (n == 0)
			break;
		next = splice(ev, cur, 0, curlen, spans, 0, n, &curlen, &from);
		if (!next)
			return LS_ENOMEM;
		cur = next;
		total += n;
	} while (n == MAX_SPANS);
	if (total) {
		*out = cur;
		*outlen = curlen;
	}
	return total;
}

/* Scans s for secrets. 0 (and *out untouched) when there are none; else
 * the redacted copy, NUL-terminated in the event arena (valid until the
 * next ls_event_reset()), in *out and *outlen and the number of secrets, or
 * LS_ENOMEM when the arena is full. */
int ls_redact(struct ls_event *ev, const char *s, size_t len,
	      const char **out, size_t *outlen)
{
	return redact_text(ev, s, len, out, outlen);
}

/* For a text of at most SHORT_MAX bytes: 1 when no byte can start a
 * secret (most field values are short and clean: methods, ids, data set
 * names). */
static int short_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (uint32_t mask = len ? tail_candidates(s, len, 0) : 0; mask; mask &= mask - 1) {
		size_t i = (size_t)__builtin_ctz(mask);

		if (triggers[p[i]] != T_SEPARATOR ||
		    (i > 0 && (ends_secret_key[p[i - 1]] || is_quote(p[i - 1]))) ||
		    is_url_start(s, len, i))
			return 0;
	}
	return 1;
}

/* Redacts *val (of *len bytes) on its own: on a find, *val and *len then
 * name the copy in the arena. Returns the count or LS_ENOMEM. */
static int redact_alone(struct ls_event *ev, const char **val, size_t *len)
{
	const char *red;
	size_t red_len;
	int n;

	if (*len <= SHORT_MAX && short_clean(*val, *len))
		return 0;
	n = redact_text(ev, *val, *len, &red, &red_len);
	if (n > 0) {
		*val = red;
		*len = red_len;
	}
	return n;
}

static int redact_field_alone(struct ls_event *ev, struct ls_field *f)
{
	const char *val = f->val;
	size_t len = f->len;
	int n = redact_alone(ev, &val, &len);

	f->val = val;
	f->len = (uint32_t)len;
	return n;
}

static int is_message(const char *name)
{
	return name[0] == 'm' && strcmp(name, "message") == 0;
}

/* A byte before a substring that makes the detectors behave as at the start
 * of a text: not part of a word, a base64url run or a decimal number. */
static int left_neutral(unsigned char c)
{
	return !is_base64url(c) && c != '.';
}

/* A first byte whose detectors look at the byte before it ('A' and 'e'
 * need a word start, a card number a non-word before it, and '.' then a
 * digit must not be a decimal fraction). */
static int left_sensitive(unsigned char c)
{
	return c == 'A' || c == 'e' || c == '.' || is_digit(c);
}

/* A text scanned once for the fields that lie inside it (the raw line, or
 * a message that is not part of it): all its secrets, as spans of the text
 * itself, and its separators. */
struct text_scan {
	const char *text;
	size_t len;
	int scanned;       /* 0: not yet, 1: done, LS_ENOMEM: failed */
	int nspans;
	struct span *spans; /* stack, or the arena when more were found */
	struct seps seps;
	unsigned char used[MAX_SPANS]; /* spans[k] replaced in some field */
	unsigned char *used_more;      /* used[], when spans moved to the arena */
	struct span stack[MAX_SPANS];
};

static void text_scan_init(struct text_scan *t, const char *text, size_t len)
{
	t->text = text;
	t->len = len;
	t->scanned = 0;
	t->nspans = 0;
}

static unsigned char *used_flags(struct text_scan *t)
{
	return t->spans == t->stack ? t->used : t->used_more;
}

/* Finds every secret of t->text (in rounds of MAX_SPANS over the text as
 * it is; more than one round's worth moves the spans into the arena).
 * 0 or LS_ENOMEM (also kept in t->scanned). */
static int text_scan_run(struct ls_event *ev, struct text_scan *t)
{
	int cap = MAX_SPANS, got;
	size_t from = 0;

	t->spans = t->stack;
	t->nspans = 0;
	t->seps.n = 0;
	t->scanned = 1;
	for (;;) {
		if (cap - t->nspans < MAX_SPANS) {
			struct span *more = (struct span *)(void *)
				ls_event_alloc(ev, (size_t)cap * 4 * sizeof(*more));
			if (!more)
				return t->scanned = LS_ENOMEM;
			memcpy(more, t->spans, (size_t)t->nspans * sizeof(*more));
			t->spans = more;
			cap *= 4;
		}
		got = scan(t->text, t->len, from, t->spans + t->nspans, &t->seps);
		t->nspans += got;
		if (got < MAX_SPANS)
			break;
		from = t->spans[t->nspans - 1].end;
	}
	if (t->spans == t->stack) {
		for (int k = 0; k < t->nspans; k++)
			t->used[k] = 0;
	} else {
		t->used_more = (unsigned char *)ls_event_alloc(ev, (size_t)t->nspans);
		if (!t->used_more)
			return t->scanned = LS_ENOMEM;
		memset(t->used_more, 0, (size_t)t->nspans);
	}
	return 0;
}

/* Whether val[0..len) lies inside t's text; sets *at to its offset. */
static int text_holds(const struct text_scan *t, const char *val, size_t len, size_t *at)
{
	uintptr_t off;

	if (!t->text)
		return 0;
	off = (uintptr_t)val - (uintptr_t)t->text;
	if (off > t->len || len > t->len - off)
		return 0;
	*at = (size_t)off;
	return 1;
}

/* The spans of t that overlap [a, b): spans[*lo, *hi). */
static void overlapping(const struct text_scan *t, size_t a, size_t b, int *lo, int *hi)
{
	int l = 0, h = t->nspans;

	/* the first span ending after a; ends rise with starts */
	while (l < h) {
		int mid = l + (h - l) / 2;
		if (t->spans[mid].end <= a)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (l < t->nspans && t->spans[l].start < b)
		l++;
	*hi = l;
}

/* Whether the spans of t that overlap the substring [a, b) (spans[lo, hi))
 * are all that the substring holds: whether scanning it alone, after they
 * are replaced, cannot find more. Alone, a substring differs from the
 * whole only at its ends (bytes inside spans are replaced either way): a
 * secret key, an AWS key id, a JWT or a card number may start at its first
 * byte where the byte before it ruled it out, and an AWS key id or card
 * number may end at its last byte where the byte after it ruled it out (or
 * a longer number went on, or a '.' at the end was a decimal point); a
 * separator of seps inside may see a key or value cut short; URL user
 * info, private keys and JWTs only read forward and are only cut shorter.
 * So the substring is covered when each end is either an end of the text,
 * or inside a span, or next to a byte that behaves like an end, or a byte
 * no detector looks past. */
static inline __attribute__((always_inline)) int
covered(const struct text_scan *t, size_t a, size_t b, int lo, int hi)
{
	const unsigned char *s = (const unsigned char *)t->text;
	size_t flen = b - a;

	if (a == 0 && b == t->len)
		return 1;
	if (t->seps.n < 0)
		return 0;
	for (int k = 0; k < t->seps.n; k++)
		if (t->seps.sep[k].at - a < flen &&
		    (t->seps.sep[k].secret_key || t->seps.sep[k].run_start <= a))
			return 0;
	if (flen == 0)
		return 1;
	if (a > 0 && !(lo < hi && t->spans[lo].start < a) &&
	    !left_neutral(s[a - 1]) && left_sensitive(s[a]))
		return 0;
	if (b == t->len || (lo < hi && t->spans[hi - 1].end > b))
		return 1;
	/* AWS key ids end in a capital or digit, card numbers in a digit that
	 * is not followed by a word byte or by '.' and a digit */
	if ((is_digit(s[b - 1]) || (s[b - 1] >= 'A' && s[b - 1] <= 'Z')) &&
	    !number_ends_at(t->text, t->len, b))
		return 0;
	return !(s[b - 1] == '.' && is_digit(s[b]));
}

/* Redacts field i, which lies at [a, a + len) in t's text: the secrets of
 * the text it overlaps are replaced (clipped to the field, the field's
 * part of a secret becomes its "[REDACTED:<kind>]"), then the field is
 * scanned alone unless covered() says that finds nothing more. Fields with
 * nothing to replace keep their pointer. Returns the secrets found only in
 * the field, or LS_ENOMEM. */
static int redact_in_text(struct ls_event *ev, struct text_scan *t, int i, size_t a)
{
	struct ls_field *f = &ev->fields[i];
	const char *val = f->val;
	size_t len = f->len, b = a + f->len, resume;
	int lo = 0, hi = 0, n = 0;

	if (t->nspans > 0)
		overlapping(t, a, b, &lo, &hi);
	if (lo < hi) {
		unsigned char *used = used_flags(t);

		val = splice(ev, t->text, a, b, t->spans, lo, hi, &len, &resume);
		if (!val)
			return LS_ENOMEM;
		for (int k = lo; k < hi; k++)
			used[k] = 1;
	}
	if (!covered(t, a, b, lo, hi))
		n = redact_alone(ev, &val, &len);
	if (n < 0)
		return n;
	f->val = val;
	f->len = (uint32_t)len;
	return n;
}

/* The secrets of t that some field shows. */
static int used_count(struct text_scan *t)
{
	const unsigned char *used;
	int n = 0;

	if (t->scanned != 1 || t->nspans == 0)
		return 0;
	used = used_flags(t);
	for (int k = 0; k < t->nspans; k++)
		n += used[k];
	return n;
}

static const char unredactable[] = "[REDACTED:unredactable]";

/* A field that could not be redacted for want of arena is blanked. */
static void blank_field(struct ls_field *f)
{
	f->val = unredactable;
	f->len = sizeof(unredactable) - 1;
}

/* Adds a field's result to the event's: a failed field is blanked (never
 * left holding its secret) and counted as one replacement. */
static void tally(struct ls_field *f, int n, int *rc, int *total)
{
	if (n < 0) {
		blank_field(f);
		*rc = n;
		(*total)++;
	} else {
		*total += n;
	}
}

/* Marks ev redacted when total > 0; returns rc when negative, else total. */
static int redact_result(struct ls_event *ev, int total, int rc)
{
	if (total > 0) {
		ev->flags |= LS_EV_REDACTED;
		if (ls_event_add_tag(ev, "redacted") < 0)
			rc = LS_ENOMEM;
	}
	return rc < 0 ? rc : total;
}

/* ls_redact_event() when the line holds secrets (or could not be scanned),
 * or the message is not part of the line (line then is not scanned yet):
 * each field inside the line or the message gets the secrets it overlaps,
 * and without a message field the redacted line becomes one. */
static __attribute__((noinline)) int redact_event_general(struct ls_event *ev,
							  struct text_scan *line,
							  int message)
{
	struct text_scan msg;
	int total = 0, rc = 0;
	size_t at;

	text_scan_init(&msg, NULL, 0);
	if (message >= 0 && ev->fields[message].type == LS_F_STR &&
	    !text_holds(line, ev->fields[message].val, ev->fields[message].len, &at))
		text_scan_init(&msg, ev->fields[message].val, ev->fields[message].len);
	for (int i = 0; i < ev->nfields; i++) {
		struct ls_field *f = &ev->fields[i];
		struct text_scan *t = NULL;
		int n;

		if (f->type != LS_F_STR || f->len == 0 || f->own)
			continue;
		if (text_holds(&msg, f->val, f->len, &at))
			t = &msg;
		else if (text_holds(line, f->val, f->len, &at))
			t = line;
		if (t && !t->scanned)
			text_scan_run(ev, t);
		if (t && t->scanned == 1)
			n = redact_in_text(ev, t, i, at);
		else if (t)
			n = LS_ENOMEM;
		else
			n = redact_field_alone(ev, f);
		tally(f, n, &rc, &total);
	}
	if (message < 0 && line->text) {
		if (!line->scanned)
			text_scan_run(ev, line);
		if (line->scanned == 1 && line->nspans > 0) {
			const char *red;
			size_t red_len, resume;

			memset(used_flags(line), 1, (size_t)line->nspans);
			red = splice(ev, line->text, 0, line->len, line->spans, 0, line->nspans,
				     &red_len, &resume);
			if (!red || ls_event_set(ev, "message", red, red_len, LS_F_STR) < 0)
				rc = LS_ENOMEM;
		} else if (line->scanned < 0) {
			rc = LS_ENOMEM;
		}
	}
	total += used_count(line) + used_count(&msg);
	return redact_result(ev, total, rc);
}

/* Redacts the message and every string field of ev; fields that changed
 * then point into the arena. The raw line (or the message, when it is not
 * part of the line) is scanned once, and each field inside it gets the
 * secrets it overlaps replaced, so a field holding only the value of a
 * "password=..." is redacted too; only a field whose ends could make a
 * difference (see covered()), or that lies outside both, is scanned alone.
 * Without a "message" field, a line with secrets gives one. A field that
 * cannot be redacted for want of arena becomes "[REDACTED:unredactable]".
 * Adds the tag "redacted" (and LS_EV_REDACTED) when anything changed.
 * Returns the number of secrets or LS_ENOMEM. */
int ls_redact_event(struct ls_event *ev)
{
	struct text_scan line;
	int message = -1, total = 0, rc = 0;
	size_t at;

	text_scan_init(&line, ev->line, ev->line ? ev->line_len : 0);
	for (int i = 0; i < ev->nfields; i++)
		if (is_message(ev->fields[i].name)) {
			message = i;
			break;
		}
	if (!line.text || (message >= 0 && ev->fields[message].type == LS_F_STR &&
			   !text_holds(&line, ev->fields[message].val,
				       ev->fields[message].len, &at)))
		return redact_event_general(ev, &line, message);
	if (text_scan_run(ev, &line) < 0 || line.nspans > 0)
		return redact_event_general(ev, &line, message);

	/* the common case: a clean line, which covers most fields */
	for (int i = 0; i < ev->nfields; i++) {
		struct ls_field *f = &ev->fields[i];
		int n;

		if (f->type != LS_F_STR || f->own ||
		    (text_holds(&line, f->val, f->len, &at) &&
		     covered(&line, at, at + f->len, 0, 0)))
			continue;
		n = redact_field_alone(ev, f);
		tally(f, n, &rc, &total);
	}
	return redact_result(ev, total, rc);
}

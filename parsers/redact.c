/* redact.c - finding secrets in one pass over the bytes, with cheap checks
 * only at trigger bytes ('=' ':' for key=value and headers, 'A' for AWS key
 * ids, 'e' for JWTs, '-' for private-key blocks, digits for card numbers),
 * then writing a copy into the event arena with "[REDACTED:<kind>]" in place
 * of each secret. No regex, no malloc.
 *
 * Digits, ':' and '=' are common in logs, so the scan looks at 16 bytes at
 * a time for candidates, trigger bytes in the context their secret needs
 * ("AK", "AS", "ey", "--", a separator not after a digit, four digits after
 * a non-digit and before a digit or group separator), and drops separators
 * at once unless the byte before them can end a secret key.
 *
 * ls_redact_event() scans the message once; a field cut out of a clean
 * message is scanned again only when its ends could make a difference
 * (see clean_inside()). */
#include "redact.h"
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

/* Secret keys, lower case; matched case-insensitively at a word boundary. */
static const struct {
	const char *name;
	size_t len;
	enum redact_kind kind;
} secret_keys[] = {
#define KEY(name, kind) { name, sizeof(name) - 1, kind }
	KEY("password", K_PASSWORD), KEY("passwd", K_PASSWORD),
	KEY("pwd", K_PASSWORD), KEY("pass", K_PASSWORD),
	KEY("token", K_TOKEN), KEY("access_token", K_TOKEN),
	KEY("refresh_token", K_TOKEN), KEY("auth_token", K_TOKEN),
	KEY("session_token", K_TOKEN),
	KEY("secret", K_SECRET), KEY("client_secret", K_SECRET),
	KEY("api_key", K_API_KEY), KEY("apikey", K_API_KEY),
	KEY("api-key", K_API_KEY),
	KEY("authorization", K_AUTHORIZATION),
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

static int key_kind(const char *key, size_t len)
{
	if (len < KEY_MIN || len > KEY_MAX)
		return -1;
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (secret_keys[i].len == len &&
		    equals_folded(key, len, secret_keys[i].name))
			return (int)secret_keys[i].kind;
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
 * boundary, or inside the quotes of a quoted key. Returns its kind or -1. */
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
	return key_kind(s + key, end - key);
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

/* A separator ('=' or ':') at i: a secret key before it and a non-empty
 * value after it give a span over the value. Fills probe (when not NULL). */
static int try_key_value(const char *s, size_t len, size_t i, size_t floor,
			 struct span *sp, struct key_probe *probe)
{
	struct key_probe unused;
	struct value v;
	unsigned char quote;
	size_t end, p = i + 1;
	int kind;

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
	kind = key_before(s, end, floor, quote, &probe->run_start);
	if (kind < 0)
		return 0;
	probe->secret_key = 1;
	if (s[i] == ':')
		while (p < len && (s[p] == ' ' || s[p] == '\t'))
			p++;
	read_value(s, len, p, &v);
	if (v.end == v.start || is_redacted_already(s, len, v.start))
		return 0;
	/* a bare value would stop at the space in "-----BEGIN RSA ..." */
	if (s[v.start] == '-' && try_private_key(s, len, v.start, sp))
		return 1;
	if (kind == K_AUTHORIZATION && (!auth_credential(s, len, &v) ||
					is_redacted_already(s, len, v.start)))
		return 0;
	sp->start = v.start;
	sp->end = v.end;
	sp->kind = (enum redact_kind)kind;
	return 1;
}

/* --- AWS access key ids, JWTs --- */

/* "AKIA"/"ASIA" and 16 upper-case letters or digits, as a whole word. */
static int try_aws_key(const char *s, size_t len, size_t i, struct span *sp)
{
	if (len - i < 20 || (s[i + 1] != 'K' && s[i + 1] != 'S') ||
	    s[i + 2] != 'I' || s[i + 3] != 'A')
		return 0;
	if (i > 0 && is_word((unsigned char)s[i - 1]))
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
static int try_jwt(const char *s, size_t len, size_t i, struct span *sp)
{
	size_t p = i;

	if (len - i < 3 || s[i + 1] != 'y' || s[i + 2] != 'J')
		return 0;
	if (i > 0 && is_base64url((unsigned char)s[i - 1]))
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
static int try_card(const char *s, size_t len, size_t i, struct span *sp)
{
	size_t ends[CARD_GROUPS], totals[CARD_GROUPS];
	int n;

	if (i > 0 && (is_word((unsigned char)s[i - 1]) ||
		      (s[i - 1] == '.' && i > 1 && is_digit((unsigned char)s[i - 2]))))
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
		return try_aws_key(s, len, i, sp);
	case T_JWT:
		return try_jwt(s, len, i, sp);
	case T_PEM:
		return try_private_key(s, len, i, sp);
	case T_DIGIT:
		return try_card(s, len, i, sp);
	default:
		return 0;
	}
}

/* The separators ('=' and ':') of a clean text that a field cut out of it
 * might see differently, as ls_redact_event() needs them to tell which
 * fields the text already covers: those before a secret key (whose value
 * the field may cut short) and those whose key bytes run back to the
 * field's start (where the field may see a shorter key). A separator after
 * a byte no secret key ends with, or whose key is read the same in the
 * field and is no secret key, gives no secret in the field either. */
#define SEPS_MAX 32

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
/* Copies n bytes (n <= SHORT_MAX) without a call: two overlapping moves of
 * 16 or 8 bytes, so nothing past dst[n) is written. */
static void copy_short(unsigned char *dst, const char *src, size_t n)
{
	uint64_t head, tail;

	if (n >= 16) {
		_mm_storeu_si128((__m128i *)(void *)dst, load16(src));
		_mm_storeu_si128((__m128i *)(void *)(dst + n - 16), load16(src + n - 16));
	} else if (n >= 8) {
		memcpy(&head, src, 8);
		memcpy(&tail, src + n - 8, 8);
		memcpy(dst, &head, 8);
		memcpy(dst + n - 8, &tail, 8);
	} else {
		for (size_t k = 0; k < n; k++)
			dst[k] = (unsigned char)src[k];
	}
}

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

	memset(room, 0, sizeof(room));
	room[0] = i > 0 ? (unsigned char)s[i - 1] : 0;
	copy_short(room + 1, s + i, n);
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
 * separators before which it found no secret. */
static int scan(const char *s, size_t len, size_t from, struct span *spans,
		struct seps *seps)
{
	size_t i = from, floor = from, base, step;
	unsigned mask;
	int n = 0;

	while (n < MAX_SPANS && (mask = next_candidates(s, len, i, &base, &step)) != 0) {
		i = base + step;
		for (; mask; mask &= mask - 1) {
			size_t c = base + (size_t)__builtin_ctz(mask);
			struct key_probe probe;
			int found;

			if (triggers[(unsigned char)s[c]] != T_SEPARATOR) {
				found = try_at(s, len, c, floor, &spans[n]);
			} else if (c == floor || !(ends_secret_key[(unsigned char)s[c - 1]] ||
						   is_quote((unsigned char)s[c - 1]))) {
				/* what try_key_value() needs first, without the
				 * call: a key's last byte or the quote closing it */
				continue;
			} else {
				found = try_key_value(s, len, c, floor, &spans[n], &probe);
				if (!found && seps)
					seps_add(seps, c, &probe);
			}
			if (found) {
				/* go on after the secret, past the rest of the mask */
				floor = i = spans[n++].end;
				break;
			}
		}
	}
	return n;
}

/* Writes s with the spans replaced into the arena (NUL-terminated). Sets
 * *outlen and *resume (the position after the last replacement). */
static char *replace_spans(struct ls_event *ev, const char *s, size_t len,
			   const struct span *spans, int n, size_t *outlen,
			   size_t *resume)
{
	size_t total = len, prev = 0, o = 0;
	char *out;

	for (int k = 0; k < n; k++)
		total = total - (spans[k].end - spans[k].start) +
			replacements[spans[k].kind].len;
	out = ls_event_alloc(ev, total + 1);
	if (!out)
		return NULL;
	for (int k = 0; k < n; k++) {
		memcpy(out + o, s + prev, spans[k].start - prev);
		o += spans[k].start - prev;
		memcpy(out + o, replacements[spans[k].kind].text,
		       replacements[spans[k].kind].len);
		o += replacements[spans[k].kind].len;
		prev = spans[k].end;
	}
	*resume = o;
	memcpy(out + o, s + prev, len - prev);
	out[total] = '\0';
	*outlen = total;
	return out;
}

/* ls_redact() that also records the separators of s that struct seps
 * keeps (when seps is not NULL; meaningful when it returns 0). */
static int redact_text(struct ls_event *ev, const char *s, size_t len,
		       const char **out, size_t *outlen, struct seps *seps)
{
	struct span spans[MAX_SPANS];
	const char *cur = s;
	size_t curlen = len, from = 0;
	int n, total = 0;

	do {
		char *next;
		n = scan(cur, curlen, from, spans, total ? NULL : seps);
		if (n == 0)
			break;
		next = replace_spans(ev, cur, curlen, spans, n, &curlen, &from);
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
	return redact_text(ev, s, len, out, outlen, NULL);
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
		    (i > 0 && (ends_secret_key[p[i - 1]] || is_quote(p[i - 1]))))
			return 0;
	}
	return 1;
}

/* Redacts the text of field i in place; returns the count or LS_ENOMEM. */
static int redact_field(struct ls_event *ev, int i, struct seps *seps)
{
	const char *red;
	size_t red_len;
	int n;

	if (!seps && ev->fields[i].len <= SHORT_MAX &&
	    short_clean(ev->fields[i].val, ev->fields[i].len))
		return 0;
	n = redact_text(ev, ev->fields[i].val, ev->fields[i].len, &red, &red_len, seps);

	if (n > 0) {
		ev->fields[i].val = red;
		ev->fields[i].len = (uint32_t)red_len;
	}
	return n;
}

static int is_message(const char *name)
{
	return name[0] == 'm' && strcmp(name, "message") == 0;
}

/* The message: the "message" field, or the raw line (then the redacted
 * text becomes the "message" field). Sets *text and *text_len to the text
 * scanned (NULL when none) and records its separators in seps. */
static int redact_message(struct ls_event *ev, const char **text,
			  size_t *text_len, struct seps *seps)
{
	const char *red;
	size_t red_len;
	int n;

	*text = NULL;
	for (int i = 0; i < ev->nfields; i++) {
		if (is_message(ev->fields[i].name)) {
			*text = ev->fields[i].val;
			*text_len = ev->fields[i].len;
			return redact_field(ev, i, seps);
		}
	}
	if (!ev->line)
		return 0;
	*text = ev->line;
	*text_len = ev->line_len;
	n = redact_text(ev, ev->line, ev->line_len, &red, &red_len, seps);
	if (n > 0 && ls_event_set(ev, "message", red, red_len, LS_F_STR) < 0)
		return LS_ENOMEM;
	return n;
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

/* Whether the field text f[0..flen), lying inside text (which has no
 * secret, and whose separators are seps), has none either. Scanned alone,
 * a substring differs from the whole only at its ends: a secret key, an AWS
 * key id, a JWT or a card number may start at the substring's first byte
 * where the byte before it ruled it out, and an AWS key id or card number
 * may end at its last byte where the byte after it ruled it out (or a
 * longer number went on, or a '.' at the end was a decimal point). With
 * no separator of seps inside, key=value secrets cannot occur either;
 * private keys and JWTs only read forward and are only cut shorter. So the
 * field is clean when each end is either the end of text, or next to a
 * byte that behaves like an end, or a byte no detector looks past. */
static int clean_inside(const char *text, size_t text_len, const struct seps *seps,
			const char *f, size_t flen)
{
	const unsigned char *t = (const unsigned char *)text;
	uintptr_t off = (uintptr_t)f - (uintptr_t)text;
	size_t a, b;

	if (!text || off > text_len || flen > text_len - off || seps->n < 0)
		return 0;
	if (flen == 0)
		return 1;
	a = (size_t)off;
	b = a + flen;
	for (int k = 0; k < seps->n; k++)
		if (seps->sep[k].at - a < flen &&
		    (seps->sep[k].secret_key || seps->sep[k].run_start <= a))
			return 0;
	if (a > 0 && !left_neutral(t[a - 1]) && left_sensitive(t[a]))
		return 0;
	/* AWS key ids end in a capital or digit, card numbers in a digit that
	 * is not followed by a word byte or by '.' and a digit */
	if (b < text_len && (is_digit(t[b - 1]) || (t[b - 1] >= 'A' && t[b - 1] <= 'Z')) &&
	    !number_ends_at(text, text_len, b))
		return 0;
	if (b < text_len && t[b - 1] == '.' && is_digit(t[b]))
		return 0;
	return 1;
}

/* Redacts the message and every string field of ev; fields that changed
 * then point into the arena. Adds the tag "redacted" (and LS_EV_REDACTED)
 * when anything changed. Returns the number of secrets or LS_ENOMEM. A
 * field lying inside a clean message is not scanned again when that
 * cannot find anything (see clean_inside()). */
int ls_redact_event(struct ls_event *ev)
{
	struct seps seps;
	const char *text;
	size_t text_len = 0;
	int total, n, message_clean;

	seps.n = 0;
	total = redact_message(ev, &text, &text_len, &seps);
	message_clean = total == 0;

	if (total < 0)
		return total;
	for (int i = 0; i < ev->nfields; i++) {
		const struct ls_field *f = &ev->fields[i];

		if (f->type != LS_F_STR || is_message(f->name))
			continue;
		if (message_clean && clean_inside(text, text_len, &seps, f->val, f->len))
			continue;
		n = redact_field(ev, i, NULL);
		if (n < 0)
			return n;
		total += n;
	}
	if (total > 0) {
		ev->flags |= LS_EV_REDACTED;
		if (ls_event_add_tag(ev, "redacted") < 0)
			return LS_ENOMEM;
	}
	return total;
}

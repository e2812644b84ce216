/* redact.c - finding secrets in one pass over the bytes, with cheap checks
 * only at trigger bytes ('=' ':' for key=value and headers, 'A' for AWS key
 * ids, 'e' for JWTs, '-' for private-key blocks, digits for card numbers),
 * then writing a copy into the event arena with "[REDACTED:<kind>]" in place
 * of each secret. No regex, no malloc. */
#include "redact.h"
#include "error.h"

#include <string.h>

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
		      unsigned char quote)
{
	size_t k = end, key;

	while (k > floor && end - k <= KEY_MAX + 2 &&
	       is_key_char((unsigned char)s[k - 1]))
		k--;
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

/* A separator ('=' or ':') at i: a secret key before it and a non-empty
 * value after it give a span over the value. */
static int try_key_value(const char *s, size_t len, size_t i, size_t floor,
			 struct span *sp)
{
	struct value v;
	unsigned char quote;
	size_t end, p = i + 1;
	int kind;

	/* a key (or the quote closing it) touches its separator; most ':' and
	 * '=' in a line (times, addresses, URLs) fail here at once */
	if (i == floor || (!is_key_char((unsigned char)s[i - 1]) &&
			   !is_quote((unsigned char)s[i - 1])))
		return 0;
	if (!key_end(s, len, i, floor, &end, &quote))
		return 0;
	kind = key_before(s, end, floor, quote);
	if (kind < 0)
		return 0;
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
		return try_key_value(s, len, i, floor, sp);
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

/* Finds up to MAX_SPANS secrets in s from byte from, in order and not
 * overlapping. Returns how many. */
static int scan(const char *s, size_t len, size_t from, struct span *spans)
{
	size_t i = from, floor = from;
	int n = 0;

	while (i < len && n < MAX_SPANS) {
		if (triggers[(unsigned char)s[i]] == T_NONE ||
		    !try_at(s, len, i, floor, &spans[n])) {
			i++;
			continue;
		}
		floor = i = spans[n++].end;
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

/* Scans s for secrets. 0 (and *out untouched) when there are none; else
 * the redacted copy, NUL-terminated in the event arena (valid until the
 * next ls_event_reset()), in *out and *outlen and the number of secrets, or
 * LS_ENOMEM when the arena is full. */
int ls_redact(struct ls_event *ev, const char *s, size_t len,
	      const char **out, size_t *outlen)
{
	struct span spans[MAX_SPANS];
	const char *cur = s;
	size_t curlen = len, from = 0;
	int n, total = 0;

	do {
		char *next;
		n = scan(cur, curlen, from, spans);
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

/* Redacts the text of field i in place; returns the count or LS_ENOMEM. */
static int redact_field(struct ls_event *ev, int i)
{
	const char *red;
	size_t red_len;
	int n = ls_redact(ev, ev->fields[i].val, ev->fields[i].len, &red, &red_len);

	if (n > 0) {
		ev->fields[i].val = red;
		ev->fields[i].len = (uint32_t)red_len;
	}
	return n;
}

/* The message: the "message" field, or the raw line (then the redacted
 * text becomes the "message" field). */
static int redact_message(struct ls_event *ev)
{
	const char *red;
	size_t red_len;
	int n;

	for (int i = 0; i < ev->nfields; i++)
		if (strcmp(ev->fields[i].name, "message") == 0)
			return redact_field(ev, i);
	if (!ev->line)
		return 0;
	n = ls_redact(ev, ev->line, ev->line_len, &red, &red_len);
	if (n > 0 && ls_event_set(ev, "message", red, red_len, LS_F_STR) < 0)
		return LS_ENOMEM;
	return n;
}

/* Redacts the message and every string field of ev; fields that changed
 * then point into the arena. Adds the tag "redacted" (and LS_EV_REDACTED)
 * when anything changed. Returns the number of secrets or LS_ENOMEM. */
int ls_redact_event(struct ls_event *ev)
{
	int total = redact_message(ev), n;

	if (total < 0)
		return total;
	for (int i = 0; i < ev->nfields; i++) {
		if (ev->fields[i].type != LS_F_STR ||
		    strcmp(ev->fields[i].name, "message") == 0)
			continue;
		n = redact_field(ev, i);
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

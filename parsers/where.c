/* where.c - the --where filter: each expression is parsed once into a test
 * (field, operator, value, compiled regex or number) and evaluated against
 * events without allocating. */
#include "where.h"
#include "matcher.h"
#include "timestamp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text (a field's or the expression's) the filter parses. */
#define WHERE_NUM_MAX 64

enum where_op {
	OP_EQ, OP_NE, OP_RE, OP_GT, OP_GE, OP_LT, OP_LE, OP_HAS, OP_TAG
};

/* Fields the filter finds somewhere other than (or besides) ev->fields. */
enum where_special {
	SP_NONE, SP_TIMESTAMP, SP_MESSAGE, SP_SEVERITY, SP_TAGS
};

struct where_test {
	enum where_op op;
	enum where_special special;
	char *field;        /* NUL-terminated; the tag name for OP_TAG */
	const char *value;  /* NUL-terminated, inside the same allocation */
	size_t value_len;
	double number;      /* the value, for ordering operators */
	int value_is_number;
	struct ls_matcher *re;
};

struct ls_where {
	struct where_test *tests;
	int ntests;
	int cap;
};

/* The text of one field as the filter sees it; buf holds formatted text
 * (@timestamp, event.severity) so no allocation is needed. */
struct where_text {
	const char *s;
	size_t len;
	int type;
	char buf[32];
};

static const char where_help[] =
	"expected field=value, field!=value, field~regex, field>N, field>=N, "
	"field<N, field<=N, has:field or tag:NAME";

/* Creates an empty filter; caller frees with ls_where_free(). */
int ls_where_new(struct ls_where **out)
{
	struct ls_where *w = calloc(1, sizeof(*w));

	*out = w;
	return w ? 0 : LS_ENOMEM;
}

/* Frees w, its expressions and their regexes; NULL is fine. */
void ls_where_free(struct ls_where *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->ntests; i++) {
		ls_matcher_free(w->tests[i].re);
		free(w->tests[i].field);
	}
	free(w->tests);
	free(w);
}

static int is_field_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
	       c == '-';
}

static size_t field_name_len(const char *s)
{
	size_t n = 0;

	while (s[n] && is_field_char((unsigned char)s[n]))
		n++;
	return n;
}

/* Strict number syntax: digits, sign, point and exponent only (no hex, inf
 * or nan), parsed whole by strtod from a bounded stack copy. */
static int parse_number(const char *s, size_t len, double *out)
{
	char tmp[WHERE_NUM_MAX];
	char *end;
	uint64_t whole = 0;
	size_t i;

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	/* plain digits (a status code, a port) need no strtod: exact up to
	 * fifteen of them */
	for (i = 0; i < len && i < 15 && s[i] >= '0' && s[i] <= '9'; i++)
		whole = whole * 10 + (uint64_t)(s[i] - '0');
	if (i == len) {
		*out = (double)whole;
		return 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.' || c == 'e' || c == 'E'))
			return 0;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, &end);
	return end == tmp + len;
}

static enum where_special special_of_n(const char *field, size_t len)
{
	static const struct {
		const char *name;
		enum where_special special;
	} names[] = {
		{ "@timestamp", SP_TIMESTAMP }, { "message", SP_MESSAGE },
		{ "event.severity", SP_SEVERITY }, { "tags", SP_TAGS },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len &&
		    memcmp(names[i].name, field, len) == 0)
			return names[i].special;
	return SP_NONE;
}

/* Reads the operator at s; returns its length (0 when none) and sets *op. */
static size_t parse_op(const char *s, enum where_op *op)
{
	switch (s[0]) {
	case '!':
		*op = OP_NE;
		return s[1] == '=' ? 2 : 0;
	case '>':
		*op = s[1] == '=' ? OP_GE : OP_GT;
		return s[1] == '=' ? 2 : 1;
	case '<':
		*op = s[1] == '=' ? OP_LE : OP_LT;
		return s[1] == '=' ? 2 : 1;
	case '=':
		*op = OP_EQ;
		return 1;
	case '~':
		*op = OP_RE;
		return 1;
	default:
		return 0;
	}
}

static int bad_expr(struct ls_error *err, const char *expr, const char *why,
		    const char *detail)
{
	return ls_error_set(err, LS_EINVAL, "bad --where expression '%.200s': %s%.200s",
			    expr, why, detail);
}

/* Fills t->field/value from one allocation "field\0value\0". */
static int store_parts(struct where_test *t, const char *field, size_t flen,
		       const char *value, size_t vlen)
{
	char *p = malloc(flen + vlen + 2);

	if (!p)
		return LS_ENOMEM;
	memcpy(p, field, flen);
	p[flen] = '\0';
	memcpy(p + flen + 1, value, vlen);
	p[flen + 1 + vlen] = '\0';
	t->field = p;
	t->value = p + flen + 1;
	t->value_len = vlen;
	return 0;
}

/* has:FIELD and tag:NAME. Returns 1 when expr used one of those prefixes
 * (with *rc set), 0 when it did not. */
static int parse_prefixed(struct where_test *t, const char *expr,
			  struct ls_error *err, int *rc)
{
	const char *name;
	size_t len;

	if (strncmp(expr, "has:", 4) == 0) {
		t->op = OP_HAS;
		name = expr + 4;
		len = field_name_len(name);
		if (len == 0)
			*rc = bad_expr(err, expr, "has: needs a field name", "");
		else if (name[len])
			*rc = bad_expr(err, expr, "bad character in field name at: ",
				       name + len);
		else
			*rc = store_parts(t, name, len, "", 0);
		t->special = special_of_n(name, len);
		return 1;
	}
	if (strncmp(expr, "tag:", 4) == 0) {
		t->op = OP_TAG;
		name = expr + 4;
		if (!*name)
			*rc = bad_expr(err, expr, "tag: needs a tag name", "");
		else
			*rc = store_parts(t, name, strlen(name), "", 0);
		return 1;
	}
	return 0;
}

/* RFC 3339 text without a fraction ("...:ssZ") gets ".000" so that the text
 * order of @timestamp (always with milliseconds) stays the time order. */
static int store_timestamp_value(struct where_test *t, const char *field,
				 size_t flen, const char *value, size_t vlen)
{
	char tmp[32];

	if (vlen == 20 && value[10] == 'T' && value[19] == 'Z') {
		memcpy(tmp, value, 19);
		memcpy(tmp + 19, ".000Z", 5);
		return store_parts(t, field, flen, tmp, 24);
	}
	return store_parts(t, field, flen, value, vlen);
}

/* Prepares the value: a number for ordering operators (text is allowed for
 * @timestamp, compared in RFC 3339 order), a regex for ~. */
static int prepare_value(struct where_test *t, const char *expr,
			 struct ls_error *err)
{
	struct ls_error rerr;
	int rc;

	if (t->op == OP_RE) {
		rc = ls_matcher_compile(&t->re, t->value, 0, NULL, &rerr);
		if (rc < 0)
			return ls_error_set(err, rc, "bad --where expression '%.200s': %s",
					    expr, rerr.msg);
		return 0;
	}
	if (t->op == OP_EQ || t->op == OP_NE)
		return 0;
	t->value_is_number = parse_number(t->value, t->value_len, &t->number);
	if (t->value_is_number || (t->special == SP_TIMESTAMP && t->value_len))
		return 0;
	if (t->value_len == 0)
		return bad_expr(err, expr, "missing number after the operator", "");
	return bad_expr(err, expr, "not a number: ", t->value);
}

/* field OP value, the operator found right after the field name. */
static int parse_comparison(struct where_test *t, const char *expr,
			    struct ls_error *err)
{
	size_t flen = field_name_len(expr), oplen;
	const char *value;
	int rc;

	if (flen == 0)
		return bad_expr(err, expr, expr[0] ? "empty field name" : "empty expression", "");
	if (!expr[flen])
		return bad_expr(err, expr, "no operator; ", where_help);
	oplen = parse_op(expr + flen, &t->op);
	if (oplen == 0)
		return bad_expr(err, expr, "no operator after the field name; found: ",
				expr + flen);
	value = expr + flen + oplen;
	t->special = special_of_n(expr, flen);
	if (t->special == SP_TIMESTAMP && t->op != OP_EQ && t->op != OP_NE &&
	    t->op != OP_RE)
		rc = store_timestamp_value(t, expr, flen, value, strlen(value));
	else
		rc = store_parts(t, expr, flen, value, strlen(value));
	if (rc < 0)
		return rc;
	return prepare_value(t, expr, err);
}

static int grow(struct ls_where *w)
{
	int cap = w->cap ? w->cap * 2 : 4;
	struct where_test *p;

	if (w->ntests < w->cap)
		return 0;
	p = realloc(w->tests, (size_t)cap * sizeof(*p));
	if (!p)
		return LS_ENOMEM;
	w->tests = p;
	w->cap = cap;
	return 0;
}

/* Parses expr and adds it to w (ANDed with the others). 0, LS_EINVAL or
 * LS_EREGEX with a message naming expr, or LS_ENOMEM. w keeps no pointer
 * into expr. */
int ls_where_add(struct ls_where *w, const char *expr, struct ls_error *err)
{
	struct where_test t;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = grow(w);
	if (rc < 0) {
		ls_error_set(err, rc, "out of memory");
		goto out;
	}
	if (!parse_prefixed(&t, expr, err, &rc))
		rc = parse_comparison(&t, expr, err);
	if (rc == LS_ENOMEM)
		ls_error_set(err, rc, "out of memory");
	if (rc < 0)
		goto out;
	w->tests[w->ntests++] = t;
	return 0;
out:
	ls_matcher_free(t.re);
	free(t.field);
	return rc;
}

static void format_int(int v, struct where_text *txt)
{
	char rev[16];
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	size_t n = 0, len = 0;

	do {
		rev[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		txt->buf[len++] = '-';
	while (n)
		txt->buf[len++] = rev[--n];
	txt->s = txt->buf;
	txt->len = len;
	txt->type = LS_F_INT;
}

/* Finds the text of t's field in ev; 0 when the event has none. */
static int lookup(const struct where_test *t, const struct ls_event *ev,
		  struct where_text *txt)
{
	const struct ls_field *f;

	if (t->special == SP_TIMESTAMP) {
		txt->len = (size_t)ls_ts_format(ev->ts_ms, txt->buf);
		txt->s = txt->buf;
		txt->type = LS_F_STR;
		return 1;
	}
	f = ls_event_get(ev, t->field);
	if (f) {
		txt->s = f->val;
		txt->len = f->len;
		txt->type = f->type;
		return 1;
	}
	if (t->special == SP_MESSAGE && ev->line) {
		txt->s = ev->line;
		txt->len = ev->line_len;
		txt->type = LS_F_STR;
		return 1;
	}
	if (t->special == SP_SEVERITY && ev->severity) {
		format_int(ev->severity, txt);
		return 1;
	}
	return 0;
}

static int text_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* An ordering test on one value: numbers, or RFC 3339 text for @timestamp
 * when the expression's value is not a number. */
static int order_test(const struct where_test *t, const char *s, size_t len)
{
	double v;
	int c;

	if (t->value_is_number) {
		if (!parse_number(s, len, &v))
			return 0;
		c = v < t->number ? -1 : v > t->number;
	} else {
		c = text_cmp(s, len, t->value, t->value_len);
	}
	switch (t->op) {
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	default: return 0;
	}
}

/* The positive test on one value (for != the test is "equals"). */
static int item_test(struct where_test *t, const char *s, size_t len)
{
	switch (t->op) {
	case OP_EQ:
	case OP_NE:
		return len == t->value_len && memcmp(s, t->value, len) == 0;
	case OP_RE:
		return ls_matcher_exec(t->re, s, len) == 1;
	default:
		return order_test(t, s, len);
	}
}

/* Whether any item of a list (LS_LIST_SEP-separated) passes item_test. */
static int any_list_item(struct where_test *t, const char *s, size_t len)
{
	const char *end = s + len;

	for (;;) {
		const char *sep = memchr(s, LS_LIST_SEP, (size_t)(end - s));
		const char *item_end = sep ? sep : end;
		if (item_test(t, s, (size_t)(item_end - s)))
			return 1;
		if (!sep)
			return 0;
		s = sep + 1;
	}
}

static int any_tag(struct where_test *t, const struct ls_event *ev)
{
	for (int i = 0; i < ev->ntags; i++)
		if (item_test(t, ev->tags[i], strlen(ev->tags[i])))
			return 1;
	return 0;
}

/* Whether some value of t's field passes the positive test; *present says
 * whether the field exists at all. */
static int any_value(struct where_test *t, const struct ls_event *ev,
		     int *present)
{
	struct where_text txt;

	if (t->special == SP_TAGS && !ls_event_get(ev, "tags")) {
		*present = ev->ntags > 0;
		return any_tag(t, ev);
	}
	*present = lookup(t, ev, &txt);
	if (!*present || t->op == OP_HAS)
		return 0;
	if (txt.type == LS_F_LIST)
		return any_list_item(t, txt.s, txt.len);
	return item_test(t, txt.s, txt.len);
}

static int test_one(struct where_test *t, const struct ls_event *ev)
{
	int present, hit;

	if (t->op == OP_TAG)
		return ls_event_has_tag(ev, t->field);
	hit = any_value(t, ev, &present);
	if (t->op == OP_HAS)
		return present;
	if (t->op == OP_NE)
		return !hit;
	return hit;
}

/* 1 when ev passes every expression of w (an empty filter passes all),
 * else 0. Does not allocate; regex match data is reused. */
int ls_where_match(struct ls_where *w, const struct ls_event *ev)
{
	for (int i = 0; i < w->ntests; i++)
		if (!test_one(&w->tests[i], ev))
			return 0;
	return 1;
}

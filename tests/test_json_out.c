/* test_json_out.c - JSON string escaping, UTF-8 checks and event encoding:
 * whole output lines compared exactly, and each checked by an independent
 * strict JSON reader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parsers/error.h"
#include "../parsers/json_out.h"
#include "unit.h"

/* ---- a small strict JSON checker, independent of the code under test ---- */

struct jcheck {
	const unsigned char *p, *end;
};

static int jc_value(struct jcheck *c, int depth);

static void jc_ws(struct jcheck *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Reads one UTF-8 character (first byte >= 0x80) by decoding its code
 * point and checking ranges. */
static int jc_utf8(struct jcheck *c)
{
	unsigned char b = *c->p;
	int n = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;

	if (n == 0 || c->end - c->p < n)
		return 0;
	cp = b & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((c->p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (c->p[i] & 0x3f);
	}
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	c->p += n;
	return 1;
}

static int jc_string(struct jcheck *c)
{
	if (c->p >= c->end || *c->p++ != '"')
		return 0;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p < 0x20)
			return 0;
		if (*c->p >= 0x80) {
			if (!jc_utf8(c))
				return 0;
			continue;
		}
		if (*c->p++ != '\\')
			continue;
		if (c->p >= c->end)
			return 0;
		if (*c->p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (c->p + i >= c->end || !strchr("0123456789abcdefABCDEF", c->p[i]))
					return 0;
			c->p += 5;
		} else if (strchr("\"\\/bfnrt", *c->p) && *c->p) {
			c->p++;
		} else {
			return 0;
		}
	}
	return c->p++ < c->end;
}

static int jc_digits(struct jcheck *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

static int jc_number(struct jcheck *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (!jc_digits(c))
		return 0;
	if (c->p < c->end && *c->p == '.' && (c->p++, !jc_digits(c)))
		return 0;
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		return jc_digits(c);
	}
	return 1;
}

static int jc_members(struct jcheck *c, int depth, int object)
{
	char close = object ? '}' : ']';

	c->p++;
	jc_ws(c);
	if (c->p < c->end && *c->p == close)
		return c->p++, 1;
	for (;;) {
		jc_ws(c);
		if (object) {
			if (!jc_string(c))
				return 0;
			jc_ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return 0;
		}
		if (!jc_value(c, depth + 1))
			return 0;
		jc_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		return c->p < c->end && *c->p++ == close;
	}
}

static int jc_value(struct jcheck *c, int depth)
{
	jc_ws(c);
	if (depth > 64 || c->p >= c->end)
		return 0;
	switch (*c->p) {
	case '{': return jc_members(c, depth, 1);
	case '[': return jc_members(c, depth, 0);
	case '"': return jc_string(c);
	}
	for (int i = 0; i < 3; i++) {
		static const char *const lit[] = { "true", "false", "null" };
		size_t n = strlen(lit[i]);

		if ((size_t)(c->end - c->p) >= n && memcmp(c->p, lit[i], n) == 0) {
			c->p += n;
			return 1;
		}
	}
	return jc_number(c);
}

/* 1 when s[0..len) is exactly one valid JSON value (whitespace around). */
static int json_valid(const char *s, size_t len)
{
	struct jcheck c = { (const unsigned char *)s, (const unsigned char *)s + len };

	if (!jc_value(&c, 0))
		return 0;
	jc_ws(&c);
	return c.p == c.end;
}

/* ---- helpers ---- */

static struct ls_event ev;
static struct ls_buf out;

static struct ls_event *fresh_event(const char *line)
{
	if (!ev.arena)
		CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	ls_event_reset(&ev);
	ev.ts_ms = 1700000000000LL;
	ev.line = line;
	ev.line_len = strlen(line);
	return &ev;
}

/* Encodes ev and compares the whole line; also checks it is valid JSON. */
static void check_event(const struct ls_event *e, const char *want)
{
	ls_buf_release(&out);
	ls_buf_init(&out, 0);
	CU_ASSERT_FATAL(ls_json_event(&out, e) == 0);
	CU_ASSERT_STRING_EQUAL(out.data, want);
	CU_ASSERT(out.len == strlen(want));
	CU_ASSERT(json_valid(out.data, out.len));
	ls_buf_release(&out);
}

/* ---- ls_json_string ---- */

struct str_case {
	const char *in;
	size_t len;       /* 0: strlen(in) */
	const char *want; /* the JSON text written */
	int invalid;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct str_case str_cases[] = {
	{ S(""), "\"\"", 0 },
	{ S("plain ascii text that is longer than eight"),
	  "\"plain ascii text that is longer than eight\"", 0 },
	{ S("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"", 0 },
	{ S("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"", 0 },
	{ S("\x01\x1b[0m\x1f\x7f"), "\"\\u0001\\u001b[0m\\u001f\\u007f\"", 0 },
	{ S("a\0b"), "\"a\\u0000b\"", 0 },
	{ S("0123456789\x7f" "0123456789"), "\"0123456789\\u007f0123456789\"", 0 },
	{ S("0123456789\n0123456789\\0123456789"),
	  "\"0123456789\\n0123456789\\\\0123456789\"", 0 },
	{ S("caf\xc3\xa9"), "\"caf\xc3\xa9\"", 0 },
	{ S("smile \xf0\x9f\x98\x80!"), "\"smile \xf0\x9f\x98\x80!\"", 0 },
	{ S("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf"),
	  "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", 0 },
	{ S("\xff"), "\"\\\\xFF\"", 1 },
	{ S("a\x80z"), "\"a\\\\x80z\"", 1 },
	{ S("x\xe2\x82"), "\"x\\\\xE2\\\\x82\"", 1 },
	{ S("\xe2\x82y"), "\"\\\\xE2\\\\x82y\"", 1 },
	{ S("\xc0\xaf"), "\"\\\\xC0\\\\xAF\"", 1 },
	{ S("\xe0\x9f\xbf"), "\"\\\\xE0\\\\x9F\\\\xBF\"", 1 },
	{ S("\xed\xa0\x80"), "\"\\\\xED\\\\xA0\\\\x80\"", 1 },
	{ S("\xf4\x90\x80\x80"), "\"\\\\xF4\\\\x90\\\\x80\\\\x80\"", 1 },
	{ S("\xf5\xc1"), "\"\\\\xF5\\\\xC1\"", 1 },
	{ S("GET /\xc3\xa9\xff\"\x01 HTTP/1.1 plus more"),
	  "\"GET /\xc3\xa9\\\\xFF\\\"\\u0001 HTTP/1.1 plus more\"", 1 },
	{ NULL, 0, NULL, 0 }
};

static void test_string_cases(void)
{
	for (const struct str_case *c = str_cases; c->in; c++) {
		struct ls_buf b;
		int invalid = 0;

		ls_buf_init(&b, 0);
		CU_ASSERT_FATAL(ls_json_string(&b, c->in, c->len, &invalid) == 0);
		CU_ASSERT_STRING_EQUAL(b.data, c->want);
		CU_ASSERT_EQUAL(invalid, c->invalid);
		CU_ASSERT(json_valid(b.data, b.len));
		CU_ASSERT_EQUAL(ls_utf8_valid(c->in, c->len), !c->invalid);
		ls_buf_release(&b);
	}
}

static void test_string_appends(void)
{
	struct ls_buf b;

	ls_buf_init(&b, 0);
	CU_ASSERT(ls_buf_puts(&b, "k=") == 0);
	CU_ASSERT(ls_json_string(&b, "v", 1, NULL) == 0);
	CU_ASSERT_STRING_EQUAL(b.data, "k=\"v\"");
	ls_buf_release(&b);
}

static void test_string_cap(void)
{
	struct ls_buf b;

	ls_buf_init(&b, 8);
	CU_ASSERT(ls_json_string(&b, "0123456789", 10, NULL) == LS_ENOMEM);
	ls_buf_release(&b);
}

/* ---- ls_utf8_valid ---- */

static void test_utf8_valid(void)
{
	static const struct {
		const char *s;
		size_t len;
		int valid;
	} cases[] = {
		{ S(""), 1 },
		{ S("ascii only, long enough for the wide path"), 1 },
		{ S("tab\tand\x1b escape are UTF-8"), 1 },
		{ S("\xc2\x80\xdf\xbf"), 1 },
		{ S("0123456789\xf0\x90\x80\x80"), 1 },
		{ S("0123456789\xf0\x90\x80"), 0 },
		{ S("\xc1\xbf"), 0 },
		{ S("\xed\xbf\xbf"), 0 },
		{ S("\xf0\x8f\xbf\xbf"), 0 },
		{ S("01234567\x80"), 0 },
		{ S("\xfe\xff"), 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(ls_utf8_valid(cases[i].s, cases[i].len), cases[i].valid);
}

/* ---- events ---- */

static void test_event_simple(void)
{
	check_event(fresh_event("hello"),
		    "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"hello\"}\n");
}

static void test_event_ecs(void)
{
	struct ls_event *e = fresh_event("GET /x 404");

	ls_event_set_str(e, "log.file.path", "/var/log/nginx/access.log");
	ls_event_set(e, "http.response.status_code", "404", 3, LS_F_INT);
	ls_event_set_str(e, "event.kind", "event");
	ls_event_set_str(e, "event.dataset", "nginx.access");
	ls_event_add_tag(e, "security");
	ls_event_add_tag(e, "web_scan");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\","
		    "\"message\":\"GET /x 404\","
		    "\"event\":{\"dataset\":\"nginx.access\",\"kind\":\"event\"},"
		    "\"http\":{\"response\":{\"status_code\":404}},"
		    "\"log\":{\"file\":{\"path\":\"/var/log/nginx/access.log\"}},"
		    "\"tags\":[\"security\",\"web_scan\"]}\n");
}

static void test_event_three_levels(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set_str(e, "h", "8");
	ls_event_set_str(e, "a.b.c.e", "2");
	ls_event_set_str(e, "a.g", "4");
	ls_event_set_str(e, "a.b.c.d", "1");
	ls_event_set_str(e, "a.b.f", "3");
	ls_event_set_str(e, "b.c.d", "5");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"a\":{\"b\":{\"c\":{\"d\":\"1\",\"e\":\"2\"},\"f\":\"3\"},\"g\":\"4\"},"
		    "\"b\":{\"c\":{\"d\":\"5\"}},\"h\":\"8\"}\n");
}

static void test_event_name_order(void)
{
	struct ls_event *e = fresh_event("x");
	static const char *const names[] = { "ab", "a_b", "a0", "a-b", "a.c", "a.b", "a", "a.b-c", "a.b_c" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ls_event_set_str(e, names[i], names[i]);
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"a_\":\"a\",\"a\":{\"b\":\"a.b\",\"b-c\":\"a.b-c\",\"b_c\":\"a.b_c\",\"c\":\"a.c\"},"
		    "\"a-b\":\"a-b\",\"a0\":\"a0\",\"a_b\":\"a_b\",\"ab\":\"ab\"}\n");
}

static void test_event_leaf_and_object(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set_str(e, "a.b.c", "deep");
	ls_event_set_str(e, "a.b", "leaf");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"a\":{\"b_\":\"leaf\",\"b\":{\"c\":\"deep\"}}}\n");
}

/* A log's value named like another field's object (a JSON line's "event"
 * beside event.kind) is written as "name_", so no key appears twice; an
 * object named like the head's "message", "@timestamp" or the tags array
 * is the one written with "_". */
static void test_event_clashing_names(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set_str(e, "event", "login");
	ls_event_set_str(e, "event.kind", "event");
	ls_event_set_str(e, "log", "foo");
	ls_event_set_str(e, "log.level", "info");
	ls_event_set_str(e, "message.nested", "1");
	ls_event_set_str(e, "@timestamp.b", "2");
	ls_event_set_str(e, "tags.a", "3");
	ls_event_add_tag(e, "security");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"@timestamp_\":{\"b\":\"2\"},\"event_\":\"login\",\"event\":{\"kind\":\"event\"},"
		    "\"log_\":\"foo\",\"log\":{\"level\":\"info\"},\"message_\":{\"nested\":\"1\"},"
		    "\"tags\":[\"security\"],\"tags_\":{\"a\":\"3\"}}\n");
	/* the same names again: from the shape remembered for them */
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"@timestamp_\":{\"b\":\"2\"},\"event_\":\"login\",\"event\":{\"kind\":\"event\"},"
		    "\"log_\":\"foo\",\"log\":{\"level\":\"info\"},\"message_\":{\"nested\":\"1\"},"
		    "\"tags\":[\"security\"],\"tags_\":{\"a\":\"3\"}}\n");
	/* without tags, "tags" is a name like any other */
	e = fresh_event("x");
	ls_event_set_str(e, "tags.a", "3");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"tags\":{\"a\":\"3\"}}\n");
}

struct value_case {
	const char *text;
	int type;
	const char *want;
};

static const struct value_case value_cases[] = {
	{ "0", LS_F_INT, "0" },
	{ "-12", LS_F_INT, "-12" },
	{ "-0", LS_F_INT, "-0" },
	{ "1234567890123", LS_F_INT, "1234567890123" },
	{ "012", LS_F_INT, "\"012\"" },
	{ "12a", LS_F_INT, "\"12a\"" },
	{ "", LS_F_INT, "\"\"" },
	{ "-", LS_F_INT, "\"-\"" },
	{ "+1", LS_F_INT, "\"+1\"" },
	{ "1.5", LS_F_INT, "\"1.5\"" },
	{ "1.5", LS_F_FLOAT, "1.5" },
	{ "-0.25e+3", LS_F_FLOAT, "-0.25e+3" },
	{ "7", LS_F_FLOAT, "7" },
	{ "1E5", LS_F_FLOAT, "1E5" },
	{ "1.", LS_F_FLOAT, "\"1.\"" },
	{ ".5", LS_F_FLOAT, "\".5\"" },
	{ "01.5", LS_F_FLOAT, "\"01.5\"" },
	{ "1e", LS_F_FLOAT, "\"1e\"" },
	{ "NaN", LS_F_FLOAT, "\"NaN\"" },
	{ "true", LS_F_RAW, "true" },
	{ "null", LS_F_RAW, "null" },
	{ "[1,\"a\"]", LS_F_RAW, "[1,\"a\"]" },
	{ "{\"x\":1}", LS_F_RAW, "{\"x\":1}" },
	{ "", LS_F_RAW, "null" },
	{ "web\x1f" "access", LS_F_LIST, "[\"web\",\"access\"]" },
	{ "one", LS_F_LIST, "[\"one\"]" },
	{ "", LS_F_LIST, "[]" },
	{ "a\"b\x1f\xff", LS_F_LIST, "[\"a\\\"b\",\"\\\\xFF\"]" },
	{ "12", LS_F_STR, "\"12\"" },
	{ NULL, 0, NULL }
};

static void test_event_values(void)
{
	char want[256];

	for (const struct value_case *c = value_cases; c->text; c++) {
		struct ls_event *e = fresh_event("m");

		ls_event_set(e, "v", c->text, strlen(c->text), c->type);
		snprintf(want, sizeof(want), "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\","
			 "\"message\":\"m\",\"v\":%s}\n", c->want);
		check_event(e, want);
	}
}

static void test_event_tags_sorted_in(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set_str(e, "user.name", "alice");
	ls_event_set(e, "threat.technique.id", "T1595", 5, LS_F_LIST);
	ls_event_set_str(e, "rule.id", "web.scanner.path");
	ls_event_set_str(e, "source.ip", "203.0.113.9");
	ls_event_set_str(e, "tags", "kept beside ev->tags");
	ls_event_set_str(e, "tagsx", "after");
	ls_event_add_tag(e, "security");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"rule\":{\"id\":\"web.scanner.path\"},\"source\":{\"ip\":\"203.0.113.9\"},"
		    "\"tags_\":\"kept beside ev->tags\",\"tags\":[\"security\"],\"tagsx\":\"after\","
		    "\"threat\":{\"technique\":{\"id\":[\"T1595\"]}},\"user\":{\"name\":\"alice\"}}\n");
}

static void test_event_tags_field_without_tags(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set(e, "tags", "a\x1f" "b", 3, LS_F_LIST);
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"tags\":[\"a\",\"b\"]}\n");
}

static void test_event_message_field(void)
{
	struct ls_event *e = fresh_event("{\"msg\":\"hi\"}");

	ls_event_set_str(e, "message", "hi \"there\"");
	ls_event_set_str(e, "@timestamp", "not written");
	ls_event_set_str(e, "z", "last");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\","
		    "\"message\":\"hi \\\"there\\\"\",\"z\":\"last\"}\n");
}

static void test_event_bytes_in_line(void)
{
	static const char line[] = "caf\xc3\xa9 \xf0\x9f\x98\x80 bad\xff\xc0\xaf nul\0x\ttab\x7f";
	struct ls_event *e = fresh_event("");

	e->line = line;
	e->line_len = sizeof(line) - 1;
	ls_event_set(e, "k", "\xed\xa0\x80", 3, LS_F_STR);
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\","
		    "\"message\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 bad\\\\xFF\\\\xC0\\\\xAF"
		    " nul\\u0000x\\ttab\\u007f\","
		    "\"k\":\"\\\\xED\\\\xA0\\\\x80\"}\n");
}

static void test_event_odd_names(void)
{
	struct ls_event *e = fresh_event("x");

	ls_event_set_str(e, "q\"uote.b", "1");
	ls_event_set_str(e, "trailing.", "2");
	check_event(e, "{\"@timestamp\":\"2023-11-14T22:13:20.000Z\",\"message\":\"x\","
		    "\"q\\\"uote\":{\"b\":\"1\"},\"trailing\":{\"\":\"2\"}}\n");
}

static void test_event_timestamps(void)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ 1700000000123LL, "2023-11-14T22:13:20.123Z" },
		{ 1709210096789LL, "2024-02-29T12:34:56.789Z" },
		{ 951868799999LL, "2000-02-29T23:59:59.999Z" },
		{ -2203891200000LL, "1900-03-01T00:00:00.000Z" },
		{ -62135596800000LL, "0001-01-01T00:00:00.000Z" },
		{ 253402300799999LL, "9999-12-31T23:59:59.999Z" },
		{ INT64_MAX, "9999-12-31T23:59:59.999Z" },
		{ INT64_MIN, "0000-01-01T00:00:00.000Z" },
	};
	char want[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ls_event *e = fresh_event("t");

		e->ts_ms = cases[i].ms;
		snprintf(want, sizeof(want), "{\"@timestamp\":\"%s\",\"message\":\"t\"}\n",
			 cases[i].want);
		check_event(e, want);
	}
}

static void test_event_many_fields(void)
{
	static char names[LS_EVENT_MAX_FIELDS][16];
	struct ls_event *e = fresh_event("x");

	for (int i = 0; i < LS_EVENT_MAX_FIELDS; i++) {
		snprintf(names[i], sizeof(names[i]), "g%d.f%03d", i % 7, LS_EVENT_MAX_FIELDS - i);
		CU_ASSERT_FATAL(ls_event_set(e, names[i], "1", 1, LS_F_INT) == 0);
	}
	ls_event_add_tag(e, "t");
	ls_buf_init(&out, 0);
	CU_ASSERT_FATAL(ls_json_event(&out, e) == 0);
	CU_ASSERT(json_valid(out.data, out.len));
	CU_ASSERT(strncmp(out.data + out.len - 14, "\"tags\":[\"t\"]}\n", 14) == 0);
	ls_buf_release(&out);
}

static void test_event_cap_rolls_back(void)
{
	struct ls_event *e = fresh_event("a line long enough to pass the cap");
	struct ls_buf b;

	ls_buf_init(&b, 64);
	CU_ASSERT(ls_buf_puts(&b, "prev\n") == 0);
	CU_ASSERT(ls_json_event(&b, e) == LS_ENOMEM);
	CU_ASSERT_EQUAL(b.len, 5);
	CU_ASSERT_STRING_EQUAL(b.data, "prev\n");
	ls_buf_release(&b);
	ls_event_release(&ev);
}

/* ---- the cached fast encoder against the checked one ---- */

/* A small deterministic generator, so failures repeat. */
static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const char *const pool_names[] = {
	"message", "@timestamp", "tags", "a", "a.b", "a.b.c", "a-b", "a_b", "a.b-c",
	"http.request.method", "http.response.status_code", "http.response.body.bytes",
	"http.version", "source.ip", "user.name", "user_agent.original", "z",
	"q\"uote.b", "trailing.", "", "event.kind", "event.dataset", "log.offset",
};
#define POOL_NAMES (int)(sizeof(pool_names) / sizeof(pool_names[0]))

static const struct {
	const char *text;
	size_t len;
	int type;
} pool_values[] = {
	{ S("GET"), LS_F_STR },
	{ S(""), LS_F_STR },
	{ S("say \"hi\" \\ bye, and a long enough tail to take the wide path"), LS_F_STR },
	{ S("tab\tnl\ncr\r\x01\x7f"), LS_F_STR },
	{ S("caf\xc3\xa9 bad\xff\xc0 end"), LS_F_STR },
	{ S("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"), LS_F_STR },
	{ S("404"), LS_F_INT },
	{ S("04"), LS_F_INT },
	{ S("-1.5e3"), LS_F_FLOAT },
	{ S("1."), LS_F_FLOAT },
	{ S("{\"k\":[1,2]}"), LS_F_RAW },
	{ S(""), LS_F_RAW },
	{ S("web\x1f" "access\x1f" "x\"y"), LS_F_LIST },
	{ S(""), LS_F_LIST },
};
#define POOL_VALUES (int)(sizeof(pool_values) / sizeof(pool_values[0]))

static const char *const pool_tags[] = { "security", "web_scan", "http_4xx", "q\"t" };

/* Shapes: lists of name indexes, ended by -1. More than the encoder keeps,
 * so they evict each other. */
static const int shapes_table[][10] = {
	{ 9, 10, 11, 12, 13, 14, 15, -1 },
	{ 0, 9, 13, 22, 21, 20, -1 },
	{ 3, 4, 5, 6, 7, 8, -1 },
	{ 5, 4, 3, -1 },
	{ 2, 16, 1, 0, -1 },
	{ 17, 18, 19, -1 },
	{ -1 },
	{ 13, -1 },
	{ 13, 14, -1 },
	{ 14, 13, -1 },
	{ 20, 21, 10, 11, 9, -1 },
	{ 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 },
};
#define SHAPES (int)(sizeof(shapes_table) / sizeof(shapes_table[0]))

/* Fills a (names as given: cached shapes) and b (the same names copied
 * into b's arena, which the encoder never caches by address). */
static void fill_pair(struct ls_event *a, struct ls_event *b, const int *names,
		      const char *line)
{
	struct ls_event *both[2] = { a, b };
	int nvals[10], ntags = (int)(rng() % 4);

	for (int k = 0; names[k] >= 0; k++)
		nvals[k] = (int)(rng() % POOL_VALUES);
	for (int e = 0; e < 2; e++) {
		struct ls_event *ev_ = both[e];

		ls_event_reset(ev_);
		ev_->ts_ms = 1700000000000LL + (int64_t)(rng() % 100000000);
		ev_->line = line;
		ev_->line_len = line ? strlen(line) : 0;
		for (int k = 0; names[k] >= 0; k++) {
			const char *name = pool_names[names[k]];

			if (e == 1)
				name = ls_event_strdup(ev_, name, strlen(name));
			CU_ASSERT_FATAL(name != NULL);
			CU_ASSERT_FATAL(ls_event_set(ev_, name, pool_values[nvals[k]].text,
						     pool_values[nvals[k]].len,
						     pool_values[nvals[k]].type) == 0);
		}
		for (int t = 0; t < ntags; t++)
			CU_ASSERT_FATAL(ls_event_add_tag(ev_, pool_tags[t]) == 0);
	}
	b->ts_ms = a->ts_ms;
}

static int same_encoding(const struct ls_event *a, const struct ls_event *b)
{
	struct ls_buf x, y;
	int same;

	ls_buf_init(&x, 0);
	ls_buf_init(&y, 0);
	CU_ASSERT_FATAL(ls_json_event(&x, a) == 0);
	CU_ASSERT_FATAL(ls_json_event(&y, b) == 0);
	same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0 &&
	       json_valid(x.data, x.len);
	if (!same)
		fprintf(stderr, "\n  cached:  %s  checked: %s", x.data, y.data);
	ls_buf_release(&x);
	ls_buf_release(&y);
	return same;
}

/* Consecutive events of alternating shapes, through the shape cache and
 * through the checked encoder, give the same bytes. */
static void test_event_shapes_match_checked(void)
{
	static const char *const lines[] = { "the raw line", "", NULL, "q\"\x01\xff" };
	struct ls_event a, b;
	int bad = 0;

	CU_ASSERT_FATAL(ls_event_init(&a, 4096) == 0);
	CU_ASSERT_FATAL(ls_event_init(&b, 4096) == 0);
	for (int i = 0; i < 4000; i++) {
		/* mostly runs of one shape (cache hits), sometimes another */
		int shape = i % 7 == 0 ? (int)(rng() % SHAPES) : (i / 50) % SHAPES;

		fill_pair(&a, &b, shapes_table[shape], lines[rng() % 4]);
		if (!same_encoding(&a, &b) && ++bad > 5)
			break;
	}
	CU_ASSERT_EQUAL(bad, 0);
	ls_event_release(&a);
	ls_event_release(&b);
}

/* Names in the arena: the same address holds another name on the next
 * line, which must not reuse the previous line's keys. */
static void test_event_arena_names(void)
{
	struct ls_event e;
	struct ls_buf b;
	char *name;

	CU_ASSERT_FATAL(ls_event_init(&e, 256) == 0);
	ls_buf_init(&b, 0);
	for (int round = 0; round < 3; round++) {
		ls_event_reset(&e);
		e.ts_ms = 0;
		e.line = "l";
		e.line_len = 1;
		name = ls_event_strdup(&e, round % 2 ? "x.y" : "k", round % 2 ? 3 : 1);
		CU_ASSERT_FATAL(name != NULL);
		ls_event_set(&e, name, "v", 1, LS_F_STR);
		b.len = 0;
		CU_ASSERT_FATAL(ls_json_event(&b, &e) == 0);
		CU_ASSERT_STRING_EQUAL(b.data, round % 2 ?
				       "{\"@timestamp\":\"1970-01-01T00:00:00.000Z\",\"message\":\"l\","
				       "\"x\":{\"y\":\"v\"}}\n" :
				       "{\"@timestamp\":\"1970-01-01T00:00:00.000Z\",\"message\":\"l\","
				       "\"k\":\"v\"}\n");
	}
	ls_buf_release(&b);
	ls_event_release(&e);
}

/* A buffer whose cap is below the fast encoder's worst-case reservation
 * but above the real output still gets the event, byte for byte. */
static void test_event_tight_cap(void)
{
	static const char line[] = "a plain line of text that is long enough to matter here";
	struct ls_event e;
	struct ls_buf big, tight;

	CU_ASSERT_FATAL(ls_event_init(&e, 256) == 0);
	e.ts_ms = 1700000000000LL;
	e.line = line;
	e.line_len = sizeof(line) - 1;
	ls_event_set(&e, "http.request.method", "GET", 3, LS_F_STR);
	ls_event_set(&e, "http.response.status_code", "200", 3, LS_F_INT);
	ls_buf_init(&big, 0);
	CU_ASSERT_FATAL(ls_json_event(&big, &e) == 0);
	ls_buf_init(&tight, big.len + 8);
	CU_ASSERT_FATAL(ls_json_event(&tight, &e) == 0);
	CU_ASSERT_STRING_EQUAL(tight.data, big.data);
	ls_buf_release(&big);
	ls_buf_release(&tight);
	ls_event_release(&e);
}

/* Tags that need escaping and outweigh everything else in the event (the
 * fast encoder's reservation must count them). */
static void test_event_long_tags(void)
{
	static char tags[LS_EVENT_MAX_TAGS][600];
	struct ls_event a, b;

	CU_ASSERT_FATAL(ls_event_init(&a, 256) == 0);
	CU_ASSERT_FATAL(ls_event_init(&b, 256) == 0);
	for (int t = 0; t < LS_EVENT_MAX_TAGS; t++) {
		memset(tags[t], t % 2 ? '"' : '\x01', sizeof(tags[t]) - 1);
		tags[t][0] = (char)('a' + t);
	}
	for (int e = 0; e < 2; e++) {
		struct ls_event *ev_ = e ? &b : &a;

		ev_->line = "x";
		ev_->line_len = 1;
		ls_event_set(ev_, e ? ls_event_strdup(ev_, "k", 1) : "k", "v", 1, LS_F_STR);
		for (int t = 0; t < LS_EVENT_MAX_TAGS; t++)
			CU_ASSERT_FATAL(ls_event_add_tag(ev_, tags[t]) == 0);
	}
	CU_ASSERT(same_encoding(&a, &b));
	ls_event_release(&a);
	ls_event_release(&b);
}

/* Strings and events too large for the fast writers. */
static void test_event_huge(void)
{
	size_t n = 300000;
	char *text = malloc(n);
	struct ls_event a, b;
	struct ls_buf out1;

	CU_ASSERT_FATAL(text != NULL);
	for (size_t i = 0; i < n; i++)
		text[i] = i % 1000 == 999 ? '"' : (char)('a' + i % 26);
	CU_ASSERT_FATAL(ls_event_init(&a, 256) == 0);
	CU_ASSERT_FATAL(ls_event_init(&b, 256) == 0);
	for (int e = 0; e < 2; e++) {
		struct ls_event *ev_ = e ? &b : &a;
		const char *name = e ? ls_event_strdup(ev_, "big", 3) : "big";

		ev_->line = text;
		ev_->line_len = n;
		ls_event_set(ev_, name, text, n / 3, LS_F_STR);
	}
	CU_ASSERT(same_encoding(&a, &b));
	ls_buf_init(&out1, 0);
	CU_ASSERT(ls_json_string(&out1, text, n, NULL) == 0);
	CU_ASSERT_EQUAL(out1.len, n + 2 + n / 1000);
	CU_ASSERT(json_valid(out1.data, out1.len));
	ls_buf_release(&out1);
	ls_event_release(&a);
	ls_event_release(&b);
	free(text);
}

/* Every position and length around the 8- and 16-byte steps of the
 * string writer, against an escaper built from the table above. */
static void test_string_positions(void)
{
	static const struct {
		const char *in, *out;
	} pieces[] = {
		{ "a", "a" }, { "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" },
		{ "\x01", "\\u0001" }, { "\x7f", "\\u007f" }, { "\xc3\xa9", "\xc3\xa9" },
		{ "\xff", "\\\\xFF" }, { "\xe2\x82\xac", "\xe2\x82\xac" },
	};
	char in[128], want[1024];

	for (int len = 0; len < 48; len++) {
		for (int special = 0; special < 9; special++) {
			for (int at = 0; at <= len; at++) {
				struct ls_buf b;
				size_t n = 0, w = 0;
				int invalid = 0;

				want[w++] = '"';
				for (int k = 0; k < len; k++) {
					int piece = k == at ? special : 0;
					size_t pl = strlen(pieces[piece].in), ol = strlen(pieces[piece].out);

					memcpy(in + n, pieces[piece].in, pl);
					memcpy(want + w, pieces[piece].out, ol);
					n += pl;
					w += ol;
				}
				want[w++] = '"';
				want[w] = '\0';
				ls_buf_init(&b, 0);
				CU_ASSERT_FATAL(ls_json_string(&b, in, n, &invalid) == 0);
				if (strcmp(b.data, want) != 0) {
					fprintf(stderr, "\n  len %d special %d at %d: %s", len, special, at, b.data);
					CU_FAIL("string writer");
					ls_buf_release(&b);
					return;
				}
				CU_ASSERT_EQUAL(invalid, special == 7 && at < len);
				ls_buf_release(&b);
			}
		}
	}
}

/* ls_event_set() finds names by text whatever their pointers, also after
 * ls_event_unset() and after fields are dropped by lowering nfields. */
static void test_event_field_names(void)
{
	static char names[64][24], copies[64][24];
	struct ls_event e;
	const struct ls_field *f;

	CU_ASSERT_FATAL(ls_event_init(&e, 1024) == 0);
	for (int i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), i % 3 ? "http.x.%d" : "f%d", i);
		CU_ASSERT_FATAL(ls_event_set(&e, names[i], "1", 1, LS_F_STR) == 0);
	}
	CU_ASSERT_EQUAL(e.nfields, 64);
	for (int i = 0; i < 64; i++) {
		strcpy(copies[i], names[i]);
		CU_ASSERT_FATAL(ls_event_set(&e, copies[i], "2", 1, LS_F_STR) == 0);
		f = ls_event_get(&e, names[i]);
		CU_ASSERT_FATAL(f != NULL);
		CU_ASSERT_NSTRING_EQUAL(f->val, "2", 1);
		CU_ASSERT_PTR_EQUAL(f->name, copies[i]);
	}
	CU_ASSERT_EQUAL(e.nfields, 64);
	CU_ASSERT_PTR_NULL(ls_event_get(&e, "http.x.1000"));
	CU_ASSERT_PTR_NULL(ls_event_get(&e, ""));
	ls_event_unset(&e, "f0");
	CU_ASSERT_PTR_NULL(ls_event_get(&e, "f0"));
	CU_ASSERT_EQUAL(e.nfields, 63);
	e.nfields = 10;
	CU_ASSERT_PTR_NULL(ls_event_get(&e, names[40]));
	CU_ASSERT_FATAL(ls_event_set(&e, names[40], "4", 1, LS_F_STR) == 0);
	CU_ASSERT_EQUAL(e.nfields, 11);
	CU_ASSERT_FATAL(ls_event_set(&e, "", "e", 1, LS_F_STR) == 0);
	CU_ASSERT_FATAL(ls_event_set(&e, "", "e", 1, LS_F_STR) == 0);
	CU_ASSERT_EQUAL(e.nfields, 12);
	ls_event_reset(&e);
	CU_ASSERT_PTR_NULL(ls_event_get(&e, names[40]));
	CU_ASSERT_FATAL(ls_event_set(&e, names[40], "5", 1, LS_F_STR) == 0);
	CU_ASSERT_EQUAL(e.nfields, 1);
	/* a field appended without ls_event_set() is still found */
	e.fields[1].name = names[41];
	e.fields[1].val = "6";
	e.fields[1].len = 1;
	e.fields[1].type = LS_F_STR;
	e.nfields = 2;
	f = ls_event_get(&e, copies[41]);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_NSTRING_EQUAL(f->val, "6", 1);
	CU_ASSERT_FATAL(ls_event_set(&e, copies[41], "7", 1, LS_F_STR) == 0);
	CU_ASSERT_EQUAL(e.nfields, 2);
	ls_event_release(&e);
}

static const struct ls_test_case cases[] = {
	{ "string escaping table", test_string_cases },
	{ "string appends", test_string_appends },
	{ "string cap", test_string_cap },
	{ "utf8 validity", test_utf8_valid },
	{ "event simple", test_event_simple },
	{ "event ECS nesting and tags", test_event_ecs },
	{ "event three levels", test_event_three_levels },
	{ "event name order a/a.b/a-b/a_b", test_event_name_order },
	{ "event leaf that is also an object", test_event_leaf_and_object },
	{ "names that are a value and an object", test_event_clashing_names },
	{ "event value types", test_event_values },
	{ "event tags sorted among fields", test_event_tags_sorted_in },
	{ "event tags field without tags", test_event_tags_field_without_tags },
	{ "event message field", test_event_message_field },
	{ "event invalid and control bytes", test_event_bytes_in_line },
	{ "event odd names", test_event_odd_names },
	{ "event timestamps", test_event_timestamps },
	{ "event many fields", test_event_many_fields },
	{ "event cap rolls back", test_event_cap_rolls_back },
	{ "event cached shapes match the checked encoder", test_event_shapes_match_checked },
	{ "event names in the arena", test_event_arena_names },
	{ "event under a tight cap", test_event_tight_cap },
	{ "event with long tags", test_event_long_tags },
	{ "event and string too large for the fast path", test_event_huge },
	{ "string escapes at every position", test_string_positions },
	{ "event field names by text", test_event_field_names },
	{ NULL, NULL }
};

LS_TEST_SUITE(json_out, cases);

/* test_decode.c - the JSON and logfmt line decoders: table-driven cases
 * (line -> expected fields), and refused lines leaving the event as it was. */
#include <stdio.h>
#include <string.h>

#include "../parsers/decode.h"
#include "../parsers/error.h"
#include "unit.h"

#define MAX_WANT 8

struct want {
	const char *name;
	const char *val;
	size_t len;
	int type;
};

/* A field expectation; val is a string literal (may hold NUL bytes). */
#define STR(n, v) { n, v, sizeof(v) - 1, LS_F_STR }
#define RAW(n, v) { n, v, sizeof(v) - 1, LS_F_RAW }

struct dcase {
	const char *line;
	int rc;                       /* 1 decoded, 0 refused */
	struct want want[MAX_WANT];   /* when decoded; the event also keeps "pre" */
};

static const struct ls_keymap keymap[] = {
	{ "msg", "message" },
	{ "level", "log.level" },
	{ "a.b", "renamed.ab" },
	{ "msg", "never.used" },
};
static const int nkeymap = (int)(sizeof(keymap) / sizeof(keymap[0]));

static struct ls_event ev;

/* An event holding one field, "pre" = "orig", as a caller's earlier work. */
static struct ls_event *prepared_event(void)
{
	if (!ev.arena)
		CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	ls_event_reset(&ev);
	ls_event_set_copy(&ev, "pre", "orig", 4, LS_F_STR);
	return &ev;
}

static void check_unchanged(const struct ls_event *e, size_t arena_len, const char *line)
{
	const struct ls_field *pre = ls_event_get(e, "pre");

	CU_ASSERT_EQUAL(e->nfields, 1);
	CU_ASSERT_EQUAL(e->arena_len, arena_len);
	CU_ASSERT_FATAL(pre != NULL);
	CU_ASSERT(pre->len == 4 && memcmp(pre->val, "orig", 4) == 0);
	if (e->nfields != 1 || e->arena_len != arena_len)
		printf("\n  changed by refused line: %s\n", line);
}

static void check_fields(const struct ls_event *e, const struct dcase *c)
{
	int nwant = 0, replaces_pre = 0;

	for (const struct want *w = c->want; w < c->want + MAX_WANT && w->name; w++) {
		const struct ls_field *f = ls_event_get(e, w->name);

		nwant++;
		replaces_pre |= strcmp(w->name, "pre") == 0;
		CU_ASSERT_FATAL(f != NULL);
		CU_ASSERT_EQUAL(f->type, w->type);
		CU_ASSERT(f->len == w->len && memcmp(f->val, w->val, w->len) == 0);
		if (f->len != w->len || memcmp(f->val, w->val, w->len) != 0 || f->type != w->type)
			printf("\n  %s: %s = [%.*s] type %d\n", c->line, w->name,
			       (int)f->len, f->val, f->type);
	}
	CU_ASSERT_EQUAL(e->nfields, nwant + !replaces_pre);
}

typedef int (*decode_fn)(struct ls_event *, const char *, size_t,
			 const struct ls_keymap *, int);

static void run_cases(decode_fn decode, const struct dcase *cases)
{
	for (const struct dcase *c = cases; c->line; c++) {
		struct ls_event *e = prepared_event();
		size_t arena_len = e->arena_len;
		int rc = decode(e, c->line, strlen(c->line), keymap, nkeymap);

		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc != c->rc)
			printf("\n  rc %d for: %s\n", rc, c->line);
		else if (rc == 1)
			check_fields(e, c);
		else
			check_unchanged(e, arena_len, c->line);
	}
}

/* ---- JSON ---- */

static const struct dcase json_cases[] = {
	{ "{\"a\":\"x\",\"b\":1}", 1, { STR("a", "x"), RAW("b", "1") } },
	{ "  {\"a\" : \"x\" , \"n\":-1.5e+3}  \t\r\n", 1,
	  { STR("a", "x"), RAW("n", "-1.5e+3") } },
	{ "{\"a\":{\"x\":{\"c\":\"d\"},\"e\":true},\"f\":null,\"g\":false}", 1,
	  { STR("a.x.c", "d"), RAW("a.e", "true"), RAW("f", "null"), RAW("g", "false") } },
	{ "{\"l1\":{\"l2\":{\"l3\":{\"l4\":0}}},\"l1x\":[]}", 1,
	  { RAW("l1.l2.l3.l4", "0"), RAW("l1x", "[]") } },
	{ "{}", 1, { { NULL, NULL, 0, 0 } } },
	{ "{\"e\":{},\"o\":{ }}", 1, { RAW("e", "{}"), RAW("o", "{ }") } },
	{ "{\"s\":\"q\\\"b\\\\s\\/d\\b\\f\\n\\r\\t\"}", 1, { STR("s", "q\"b\\s/d\b\f\n\r\t") } },
	{ "{\"u\":\"\\u00e9\\u20AC\\u0041\"}", 1, { STR("u", "\xc3\xa9\xe2\x82\xac" "A") } },
	{ "{\"u\":\"\\ud83d\\ude00!\"}", 1, { STR("u", "\xf0\x9f\x98\x80!") } },
	{ "{\"u\":\"\\udbff\\udfff\"}", 1, { STR("u", "\xf4\x8f\xbf\xbf") } },
	{ "{\"z\":\"a\\u0000b\"}", 1, { STR("z", "a\0b") } },
	{ "{\"r\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\",\"bad\":\"\xff\"}", 1,
	  { STR("r", "caf\xc3\xa9 \xf0\x9f\x98\x80"), STR("bad", "\xff") } },
	{ "{\"arr\":[1, \"a\", {\"b\":[true,null]}, []],\"n\":0}", 1,
	  { RAW("arr", "[1, \"a\", {\"b\":[true,null]}, []]"), RAW("n", "0") } },
	{ "{\"arr\":[\"\xff\"]}", 1, { STR("arr", "[\"\xff\"]") } },
	{ "{\"msg\":\"hi\",\"level\":\"info\",\"ts\":\"t\"}", 1,
	  { STR("message", "hi"), STR("log.level", "info"), STR("ts", "t") } },
	{ "{\"a\":{\"b\":\"x\",\"c\":\"y\"}}", 1, { STR("renamed.ab", "x"), STR("a.c", "y") } },
	{ "{\"a\":\"1\",\"b\":2,\"a\":\"3\"}", 1, { STR("a", "3"), RAW("b", "2") } },
	{ "{\"pre\":\"new\"}", 1, { STR("pre", "new") } },
	{ "{\"k\\u002ex\":1,\"q\\\"k\":2}", 1, { RAW("k.x", "1"), RAW("q\"k", "2") } },
	{ "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.123456789Z\"}",
	  1, { STR("log", "hello\n"), STR("stream", "stdout"),
	       STR("time", "2023-11-14T22:13:20.123456789Z") } },
	/* refused: not a complete, valid object */
	{ "", 0, { { NULL, NULL, 0, 0 } } },
	{ "   ", 0, { { NULL, NULL, 0, 0 } } },
	{ "[1,2]", 0, { { NULL, NULL, 0, 0 } } },
	{ "\"s\"", 0, { { NULL, NULL, 0, 0 } } },
	{ "plain text", 0, { { NULL, NULL, 0, 0 } } },
	{ "{", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"pre\"", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"pre\":", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"pre\":\"new\"", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"pre\":\"new\",\"x\":", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"pre\":\"new\",\"x\":{\"y\":1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1,}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{,}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1} x", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1}{}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{a:1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{'a':1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\" 1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1 \"b\":2}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\x41\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\u12\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\u12g4\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\ud800\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\ud800\\u0041\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"\\udc00\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"x\ty\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"a long text with a\ttab inside it\"}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[\"a long text with a\nnewline inside\"]}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"unterminated}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":\"ends in backslash\\", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":01}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1.}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":.5}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":+1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":-}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1e}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":tru}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":True}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":NaN}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[1,]}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[1 2]}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[1}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[{\"b\"}]}", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":[\"\\q\"]}", 0, { { NULL, NULL, 0, 0 } } },
	{ NULL, 0, { { NULL, NULL, 0, 0 } } }
};

static void test_json_table(void)
{
	run_cases(ls_decode_json, json_cases);
}

static void test_json_borrows_plain_strings(void)
{
	static const char line[] = "{\"a\":\"plain\",\"b\":\"esc\\n\",\"c\":12}";
	struct ls_event *e = prepared_event();
	const struct ls_field *a, *b, *c;

	CU_ASSERT_FATAL(ls_decode_json(e, line, strlen(line), NULL, 0) == 1);
	a = ls_event_get(e, "a");
	b = ls_event_get(e, "b");
	c = ls_event_get(e, "c");
	CU_ASSERT_FATAL(a && b && c);
	CU_ASSERT(a->val == line + 6);
	CU_ASSERT(c->val == line + strlen(line) - 3);
	CU_ASSERT(b->val >= e->arena && b->val < e->arena + e->arena_cap);
}

/* {"k":{"k":...{"k":1}...}} with depth levels of objects in all. */
static void nested_line(char *buf, size_t size, int depth, int array)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(buf + n, size - n, i == depth - 1 && array ? "[" : "{\"k\":");
	n += (size_t)snprintf(buf + n, size - n, "1");
	for (int i = depth - 1; i >= 0; i--)
		n += (size_t)snprintf(buf + n, size - n, i == depth - 1 && array ? "]" : "}");
}

static void test_json_depth(void)
{
	char line[1024];
	struct ls_event *e = prepared_event();
	size_t arena_len = e->arena_len;
	const struct ls_field *f;

	nested_line(line, sizeof(line), 32, 0);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), 1);
	f = e->nfields == 2 ? &e->fields[1] : NULL;
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(strlen(f->name), 32 * 2 - 1);

	nested_line(line, sizeof(line), 32, 1);
	CU_ASSERT_EQUAL(ls_decode_json(prepared_event(), line, strlen(line), NULL, 0), 1);

	e = prepared_event();
	nested_line(line, sizeof(line), 33, 0);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), 0);
	check_unchanged(e, arena_len, line);
	nested_line(line, sizeof(line), 33, 1);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), 0);
	check_unchanged(e, arena_len, line);
}

/* {"f0":0,"f1":1,...} with n keys, optionally also "pre". */
static void wide_line(char *buf, size_t size, int n, int with_pre)
{
	size_t len = (size_t)snprintf(buf, size, "{%s", with_pre ? "\"pre\":\"p\"," : "");

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s\"f%d\":%d", i ? "," : "", i, i);
	snprintf(buf + len, size - len, "}");
}

static void test_json_too_many_fields(void)
{
	static char line[8192];
	struct ls_event *e = prepared_event();
	size_t arena_len = e->arena_len;

	wide_line(line, sizeof(line), LS_EVENT_MAX_FIELDS - 1, 0);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), 1);
	CU_ASSERT_EQUAL(e->nfields, LS_EVENT_MAX_FIELDS);

	e = prepared_event();
	wide_line(line, sizeof(line), LS_EVENT_MAX_FIELDS - 1, 1);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), 1);
	CU_ASSERT_EQUAL(e->nfields, LS_EVENT_MAX_FIELDS);

	e = prepared_event();
	wide_line(line, sizeof(line), LS_EVENT_MAX_FIELDS, 0);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), LS_ENOMEM);
	check_unchanged(e, arena_len, "128 new keys");

	/* 127 new keys next to two old ones: "pre" would be replaced before
	 * the overflow, and must survive */
	ls_event_set_str(e, "old", "o");
	wide_line(line, sizeof(line), LS_EVENT_MAX_FIELDS - 1, 1);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), LS_ENOMEM);
	ls_event_unset(e, "old");
	check_unchanged(e, arena_len, "pre and 127 new keys next to 2 fields");

	wide_line(line, sizeof(line), LS_EVENT_MAX_FIELDS + 5, 0);
	CU_ASSERT_EQUAL(ls_decode_json(e, line, strlen(line), NULL, 0), LS_ENOMEM);
	check_unchanged(e, arena_len, "133 new keys");
}

static void test_json_arena_full(void)
{
	static const char line[] = "{\"a\":\"x\",\"long_key_name_that_overflows_arena\":\"y\"}";
	struct ls_event small;

	CU_ASSERT_FATAL(ls_event_init(&small, 24) == 0);
	ls_event_set_str(&small, "pre", "orig");
	CU_ASSERT_EQUAL(ls_decode_json(&small, line, strlen(line), NULL, 0), LS_ENOMEM);
	CU_ASSERT_EQUAL(small.nfields, 1);
	CU_ASSERT_EQUAL(small.arena_len, 0);
	ls_event_release(&small);
}

/* ---- logfmt ---- */

static const struct dcase logfmt_cases[] = {
	{ "level=info msg=\"hello world\" user=alice", 1,
	  { STR("log.level", "info"), STR("message", "hello world"), STR("user", "alice") } },
	{ "a=\"x \\\"q\\\" \\\\ y\" b=2", 1, { STR("a", "x \"q\" \\ y"), STR("b", "2") } },
	{ "a=\"l1\\nl2\\tt\\r\" b=1", 1, { STR("a", "l1\nl2\tt\r"), STR("b", "1") } },
	{ "a=\"c:\\d\" b=1", 1, { STR("a", "c:\\d"), STR("b", "1") } },
	{ "a=1 debug b=2 verbose", 1,
	  { STR("a", "1"), RAW("debug", "true"), STR("b", "2"), RAW("verbose", "true") } },
	{ "a= b=2 c=\"\"", 1, { STR("a", ""), STR("b", "2"), STR("c", "") } },
	{ "a=1 a=2 b=3", 1, { STR("a", "2"), STR("b", "3") } },
	{ "@t=1 x.y/z-w_V9=2", 1, { STR("@t", "1"), STR("x.y/z-w_V9", "2") } },
	{ "  url=/a?b=c&d=e  code=200\t\r\n", 1, { STR("url", "/a?b=c&d=e"), STR("code", "200") } },
	{ "a=\xc3\xa9\xff b=\"=\"", 1, { STR("a", "\xc3\xa9\xff"), STR("b", "=") } },
	{ "pre=new other=1", 1, { STR("pre", "new"), STR("other", "1") } },
	/* refused */
	{ "", 0, { { NULL, NULL, 0, 0 } } },
	{ "hello world", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 flag", 0, { { NULL, NULL, 0, 0 } } },
	{ "pre=new b=\"unterminated", 0, { { NULL, NULL, 0, 0 } } },
	{ "pre=new b=\"ends in backslash\\", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 b=x\"y", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 b=\"x\"y", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 b:2 c=3", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 =2 c=3", 0, { { NULL, NULL, 0, 0 } } },
	{ "a=1 \"q\"=2 c=3", 0, { { NULL, NULL, 0, 0 } } },
	{ "Nov 14 22:13:20 host sshd[1]: a=b c=d", 0, { { NULL, NULL, 0, 0 } } },
	{ "{\"a\":1,\"b\":2}", 0, { { NULL, NULL, 0, 0 } } },
	{ NULL, 0, { { NULL, NULL, 0, 0 } } }
};

static void test_logfmt_table(void)
{
	run_cases(ls_decode_logfmt, logfmt_cases);
}

static void test_logfmt_borrows_plain_values(void)
{
	static const char line[] = "a=1 b=\"two words\" c=\"e\\\"sc\"";
	struct ls_event *e = prepared_event();
	const struct ls_field *a, *b, *c;

	CU_ASSERT_FATAL(ls_decode_logfmt(e, line, strlen(line), NULL, 0) == 1);
	a = ls_event_get(e, "a");
	b = ls_event_get(e, "b");
	c = ls_event_get(e, "c");
	CU_ASSERT_FATAL(a && b && c);
	CU_ASSERT(a->val == line + 2);
	CU_ASSERT(b->val == line + 7);
	CU_ASSERT(c->val >= e->arena && c->val < e->arena + e->arena_cap);
	ls_event_release(&ev);
}

static const struct ls_test_case cases[] = {
	{ "json table", test_json_table },
	{ "json borrows plain strings", test_json_borrows_plain_strings },
	{ "json depth limit", test_json_depth },
	{ "json too many fields", test_json_too_many_fields },
	{ "json arena full", test_json_arena_full },
	{ "logfmt table", test_logfmt_table },
	{ "logfmt borrows plain values", test_logfmt_borrows_plain_values },
	{ NULL, NULL }
};

LS_TEST_SUITE(decode, cases);

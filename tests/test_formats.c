/* test_formats.c - every built-in format and rule keeps the promises of its
 * example lines; format choice, detection and suggestions. */
#include "unit.h"

#include "../parsers/formats.h"
#include "../parsers/grok.h"
#include "../parsers/patfile.h"
#include "../shipper/pipeline.h"
#include "../shipper/selftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ls_pipeline *builtin_pipeline(const char *format)
{
	struct ls_pipeline_opts o = {0};
	struct ls_pipeline *p = NULL;
	struct ls_error err = {0, ""};

	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	setenv("TZ", "UTC", 1);
	o.format = format;
	o.now_ms = 1700006400000LL; /* 2023-11-15T00:00:00Z */
	if (ls_pipeline_new(&p, &o, NULL, NULL, &err) < 0)
		fprintf(stderr, "\n  pipeline: %s\n", err.msg);
	return p;
}

static int failures;

static void on_fail(void *ctx, const struct ls_pentry *e, const char *example,
		    int line, const char *why, const char *json)
{
	(void)ctx;
	failures++;
	fprintf(stderr, "\n  %s %s (%s:%d): %s\n    %s\n    %s\n", e->kind, e->name,
		e->origin, line, why, example, json ? json : "");
}

static void test_all_examples(void)
{
	struct ls_pipeline *p = builtin_pipeline("auto");
	struct ls_selftest_result res;
	struct ls_catalog *cat;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	cat = ls_pipeline_catalog(p);
	CU_ASSERT_EQUAL(cat->nwarnings, 0);
	CU_ASSERT_TRUE(ls_formats_count(cat->formats) >= 18);
	failures = 0;
	CU_ASSERT_EQUAL(ls_selftest_run(p, NULL, NULL, on_fail, NULL, &res), 0);
	CU_ASSERT_EQUAL(res.failed, 0);
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_TRUE(res.examples >= 2 * 18);
	ls_pipeline_free(p);
}

static void test_unknown_format_suggests(void)
{
	struct ls_pipeline_opts o = {0};
	struct ls_pipeline *p = NULL;
	struct ls_error err = {0, ""};

	o.format = "ngnix";
	CU_ASSERT_EQUAL(ls_pipeline_new(&p, &o, NULL, NULL, &err), LS_ENOENT);
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown format 'ngnix'; did you mean 'nginx'?");
	ls_pipeline_free(p);
	p = NULL;
	o.format = "NGNIX";
	CU_ASSERT_EQUAL(ls_pipeline_new(&p, &o, NULL, NULL, &err), LS_ENOENT);
	CU_ASSERT_STRING_EQUAL(err.msg, "unknown format 'NGNIX'; did you mean 'nginx'?");
	ls_pipeline_free(p);
	p = NULL;
	/* names and aliases in any case */
	o.format = "NGINX";
	CU_ASSERT_EQUAL(ls_pipeline_new(&p, &o, NULL, NULL, &err), 0);
	ls_pipeline_free(p);
	p = NULL;
	o.format = "RFC3164";
	CU_ASSERT_EQUAL(ls_pipeline_new(&p, &o, NULL, NULL, &err), 0);
	ls_pipeline_free(p);
	p = NULL;
	o.format = "zzzzzzzzzzzz";
	CU_ASSERT_EQUAL(ls_pipeline_new(&p, &o, NULL, NULL, &err), LS_ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown format 'zzzzzzzzzzzz'"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "did you mean"));
	ls_pipeline_free(p);
}

struct collected {
	int n;
	char datasets[8][32];
	int unparsed;
};

static int collect(void *ctx, struct ls_event *ev)
{
	struct collected *c = ctx;
	const struct ls_field *ds = ls_event_get(ev, "event.dataset");

	if (c->n < 8 && ds)
		snprintf(c->datasets[c->n], 32, "%.*s", (int)ds->len, ds->val);
	c->unparsed += (ev->flags & LS_EV_UNPARSED) != 0;
	c->n++;
	return 0;
}

/* A mixed stream: the detected format first, the others for the rest. */
static void test_detect_and_retry(void)
{
	static const char *const lines[] = {
		"Nov 14 22:13:20 web1 sshd[1234]: Accepted publickey for alice from 192.0.2.7 port 50000 ssh2",
		"Nov 14 22:13:21 web1 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)",
		"{\"time\":\"2023-11-14T22:13:22Z\",\"level\":\"info\",\"msg\":\"started\"}",
		"\x01\x02 not a log line at all \xff",
	};
	struct ls_pipeline *p = builtin_pipeline("auto");
	struct ls_stream *s = NULL;
	struct collected c = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(ls_stream_line(s, lines[i], strlen(lines[i]), (uint64_t)i * 100,
					       0, collect, &c), 0);
	CU_ASSERT_EQUAL(ls_stream_flush(s, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls_stream_format(s));
	CU_ASSERT_STRING_EQUAL(ls_stream_format(s), "syslog");
	CU_ASSERT_STRING_EQUAL(c.datasets[0], "syslog");
	CU_ASSERT_STRING_EQUAL(c.datasets[2], "json");
	CU_ASSERT_EQUAL(c.unparsed, 1);
	ls_stream_free(s);
	ls_pipeline_free(p);
}

/* An application's "<date time,ms> LEVEL logger: msg" is not syslog (no
 * host is a level in capitals; syslog fractions have a dot). */
static void test_detect_not_syslog(void)
{
	static const char *const lines[] = {
		"2023-11-14 22:13:20,123 INFO myapp.views: user 42 signed in",
		"2023-11-14 22:13:21.500 WARNING myapp.db: slow query",
		"2023-11-14 22:13:22 web-01 sshd[7]: Accepted publickey for bob from 192.0.2.8 port 5 ssh2",
	};
	struct ls_pipeline *p = builtin_pipeline("auto");
	struct ls_stream *s = NULL;
	struct collected c = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(ls_stream_line(s, lines[i], strlen(lines[i]), (uint64_t)i * 100,
					       0, collect, &c), 0);
	CU_ASSERT_EQUAL(ls_stream_flush(s, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 3);
	CU_ASSERT_STRING_EQUAL(c.datasets[0], "python");
	CU_ASSERT_STRING_EQUAL(c.datasets[1], "python");
	CU_ASSERT_STRING_EQUAL(c.datasets[2], "syslog");
	CU_ASSERT_EQUAL(c.unparsed, 0);
	ls_stream_free(s);
	ls_pipeline_free(p);
}

/* ---- lines split by a container runtime ------------------------------- */

#define SPLIT_MAX_LINES 8
#define SPLIT_MAX_EVENTS 6

struct split_event {
	const char *message;
	uint64_t offset;
	int64_t ts_ms;
	const char *stream; /* log.stream */
	const char *field;  /* "name=value" one more field must have, or NULL */
	int truncated;
};

struct split_case {
	const char *name;
	const char *format;
	size_t max_bytes; /* --multiline-max-bytes, 0 for the default */
	const char *lines[SPLIT_MAX_LINES];
	int nevents;
	struct split_event events[SPLIT_MAX_EVENTS];
};

#define T20 1700000000000LL /* 2023-11-14T22:13:20Z */

static const struct split_case split_cases[] = {
	{"cri P then F", "auto", 0,
	 {"2023-11-14T22:13:20.1Z stdout P partial ", "2023-11-14T22:13:20.2Z stdout F end"},
	 1, {{"partial end", 0, T20 + 100, "stdout", "cri.tag=F", 0}}},
	{"cri P P F, the joined line read as nginx", "cri", 0,
	 {"2023-11-14T22:13:20.5Z stdout P 203.0.113.9 - - [14/Nov/2023:22:13:19 +0000] \"GET /ind",
	  "2023-11-14T22:13:20.6Z stdout P ex.html HTTP/1.1\" 200 612 ",
	  "2023-11-14T22:13:20.7Z stdout F \"-\" \"curl/8.4.0\""},
	 1, {{NULL, 0, T20 + 500, "stdout", "url.original=/index.html", 0}}},
	{"cri whole records untouched", "cri", 0,
	 {"2023-11-14T22:13:20Z stdout F one", "2023-11-14T22:13:21Z stderr F two",
	  "2023-11-14T22:13:22Z stdout F {\"level\":\"error\",\"msg\":\"three\"}"},
	 3, {{"one", 0, T20, "stdout", "cri.tag=F", 0},
	     {"two", 100, T20 + 1000, "stderr", NULL, 0},
	     {"three", 200, T20 + 2000, "stdout", "log.level=error", 0}}},
	{"docker parts without their newline", "auto", 0,
	 {"{\"log\":\"{\\\"level\\\":\\\"warn\\\",\\\"msg\\\":\\\"long \",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.1Z\"}",
	  "{\"log\":\"line\\\"}\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.2Z\"}",
	  "{\"log\":\"next\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:21Z\"}"},
	 2, {{"long line", 0, T20 + 100, "stdout", "log.level=warn", 0},
	     {"next", 200, T20 + 1000, "stdout", "event.dataset=docker", 0}}},
	{"cri: a whole line of the other stream in between", "cri", 0,
	 {"2023-11-14T22:13:20Z stdout P out-1 ", "2023-11-14T22:13:21Z stderr F err",
	  "2023-11-14T22:13:22Z stdout F out-2"},
	 2, {{"err", 100, T20 + 1000, "stderr", NULL, 0},
	     {"out-1 out-2", 0, T20, "stdout", NULL, 0}}},
	{"docker: both streams split in between each other", "docker", 0,
	 {"{\"log\":\"o1 \",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"e1 \",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:21Z\"}",
	  "{\"log\":\"e2\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:22Z\"}",
	  "{\"log\":\"o2\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:23Z\"}"},
	 2, {{"e1 e2", 100, T20 + 1000, "stderr", NULL, 0},
	     {"o1 o2", 0, T20, "stdout", NULL, 0}}},
	{"cut at --multiline-max-bytes, the rest of the parts dropped", "cri", 10,
	 {"2023-11-14T22:13:20Z stdout P 0123456", "2023-11-14T22:13:20Z stdout P 789abc",
	  "2023-11-14T22:13:20Z stdout F def", "2023-11-14T22:13:21Z stdout F next"},
	 2, {{"0123456789", 0, T20, "stdout", "cri.tag=F", 1},
	     {"next", 300, T20 + 1000, "stdout", NULL, 0}}},
	{"end of input: a pending part goes out as it is", "cri", 0,
	 {"2023-11-14T22:13:20Z stdout F one", "2023-11-14T22:13:21Z stdout P two ",
	  "2023-11-14T22:13:22Z stdout P three"},
	 2, {{"one", 0, T20, "stdout", NULL, 0},
	     {"two three", 100, T20 + 1000, "stdout", "cri.tag=P", 0}}},
	{"a record of another kind ends the pending line", "cri", 0,
	 {"2023-11-14T22:13:20Z stdout P x", "not a cri line", "2023-11-14T22:13:21Z stdout F y"},
	 3, {{"x", 0, T20, "stdout", "cri.tag=P", 0},
	     {NULL, 100, -1, NULL, NULL, 0},
	     {"y", 200, T20 + 1000, "stdout", NULL, 0}}},
	{"a UTF-8 character cut in two by the runtime is whole again", "cri", 0,
	 {"2023-11-14T22:13:20Z stdout P caf\xc3", "2023-11-14T22:13:20Z stdout F \xa9!"},
	 1, {{"caf\xc3\xa9!", 0, T20, "stdout", NULL, 0}}},
};

struct split_run {
	const struct split_case *c;
	int n;
};

static int field_is(const struct ls_event *ev, const char *name, const char *want)
{
	const struct ls_field *f = ls_event_get(ev, name);

	return f && f->len == strlen(want) && memcmp(f->val, want, f->len) == 0;
}

static int check_split_event(void *ctx, struct ls_event *ev)
{
	struct split_run *r = ctx;
	const struct split_event *want;
	char name[64];
	const char *eq;

	if (r->n >= r->c->nevents) {
		r->n++;
		return 0;
	}
	want = &r->c->events[r->n++];
	if (want->message && !field_is(ev, "message", want->message)) {
		const struct ls_field *m = ls_event_get(ev, "message");
		fprintf(stderr, "\n  %s: event %d: message '%.*s', not '%s'\n", r->c->name, r->n,
			m ? (int)m->len : 0, m ? m->val : "", want->message);
		CU_FAIL("message");
	}
	CU_ASSERT_EQUAL(ev->offset, want->offset);
	if (want->ts_ms >= 0)
		CU_ASSERT_EQUAL(ev->ts_ms, want->ts_ms);
	if (want->stream)
		CU_ASSERT_TRUE(field_is(ev, "log.stream", want->stream));
	if (want->field) {
		eq = strchr(want->field, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - want->field), want->field);
		if (!field_is(ev, name, eq + 1)) {
			fprintf(stderr, "\n  %s: event %d: no %s\n", r->c->name, r->n, want->field);
			CU_FAIL("field");
		}
	}
	CU_ASSERT_EQUAL(ls_event_has_tag(ev, "truncated"), want->truncated);
	CU_ASSERT_FALSE(ls_event_has_tag(ev, "invalid_utf8"));
	return 0;
}

static void test_split_lines(void)
{
	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const struct split_case *c = &split_cases[i];
		struct ls_pipeline_opts o = {0};
		struct ls_pipeline *p = NULL;
		struct ls_stream *s = NULL;
		struct split_run r = {c, 0};
		int nlines = 0;

		o.format = c->format;
		o.multiline_max_bytes = c->max_bytes;
		o.no_redact = 1;
		o.now_ms = 1700006400000LL;
		CU_ASSERT_EQUAL_FATAL(ls_pipeline_new(&p, &o, NULL, NULL, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
		for (; nlines < SPLIT_MAX_LINES && c->lines[nlines]; nlines++)
			CU_ASSERT_EQUAL(ls_stream_line(s, c->lines[nlines], strlen(c->lines[nlines]),
						       (uint64_t)nlines * 100, 0, check_split_event,
						       &r), 0);
		CU_ASSERT_EQUAL(ls_stream_flush(s, check_split_event, &r), 0);
		/* flushed: nothing more is held */
		CU_ASSERT_EQUAL(ls_stream_flush(s, check_split_event, &r), 0);
		if (r.n != c->nevents)
			fprintf(stderr, "\n  %s: %d events, not %d\n", c->name, r.n, c->nevents);
		CU_ASSERT_EQUAL(r.n, c->nevents);
		CU_ASSERT_EQUAL(ls_pipeline_stats(p)->lines, (uint64_t)nlines);
		CU_ASSERT_EQUAL(ls_pipeline_stats(p)->events, (uint64_t)c->nevents);
		ls_stream_free(s);
		ls_pipeline_free(p);
	}
}

/* A part held when the stream is freed (the reader stopped) is let go. */
static void test_split_line_freed_pending(void)
{
	static const char part[] = "2023-11-14T22:13:20Z stdout P never ends";
	struct ls_pipeline *p = builtin_pipeline("cri");
	struct ls_stream *s = NULL;
	struct collected c = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
	CU_ASSERT_EQUAL(ls_stream_line(s, part, strlen(part), 0, 0, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	ls_stream_free(s);
	ls_pipeline_free(p);
}

/* 'partial:' needs the field it joins */
static void test_partial_needs_reparse(void)
{
	static const char text[] = "format split\n  match: ^(?<message>.*)$\n  partial: message unterminated\n";
	static const char *const bad_values[] = {"message", "message=", "=P", "message sometimes"};
	struct ls_patfile *pf = NULL;
	struct ls_formats *f = NULL;
	struct ls_grok *g = NULL;
	struct ls_error err = {0, ""};

	CU_ASSERT_EQUAL_FATAL(ls_grok_new(&g), 0);
	CU_ASSERT_EQUAL_FATAL(ls_patfile_parse(text, strlen(text), "t.pattern", &pf, &err), 0);
	CU_ASSERT_EQUAL_FATAL(ls_formats_new(&f, g), 0);
	CU_ASSERT_EQUAL(ls_formats_add(f, &pf->entries[0], &err), LS_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'partial:'"));
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		struct ls_pprop prop = {"partial", bad_values[i], 3};
		struct ls_pprop props[3] = {pf->entries[0].props[0], {"reparse", "message", 2}, prop};
		struct ls_pentry e = pf->entries[0];
		e.props = props;
		e.nprops = 3;
		CU_ASSERT_EQUAL(ls_formats_add(f, &e, &err), LS_EINVAL);
	}
	ls_formats_free(f);
	ls_patfile_free(pf);
	ls_grok_free(g);
}

/* ---- stack traces inside container logs ------------------------------- */

#define TRACE_LINES 14
#define TRACE_EVENTS 6
/* a line of this in a case: ls_stream_flush() there (a pause of tail, ship) */
#define PAUSE "\f"

struct trace_event {
	const char *message;
	int line;            /* index of its first line: the offset is 100 times it */
	const char *stream;  /* log.stream */
	const char *dataset; /* event.dataset */
};

struct trace_case {
	const char *name;
	const char *format;
	int max_lines;          /* --multiline-max-lines, 0 for the default */
	size_t max_bytes;       /* --multiline-max-bytes, 0 for the default */
	const char *ml_start;   /* --multiline-start or NULL */
	const char *lines[TRACE_LINES];
	int nevents;
	struct trace_event events[TRACE_EVENTS];
};

#define CRI_OUT(text) "2023-11-14T22:13:20.1Z stdout F " text
#define CRI_ERR(text) "2023-11-14T22:13:20.2Z stderr F " text
#define DOCKER_OUT(text) "{\"log\":\"" text "\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.1Z\"}"
#define LOG4J_HEAD "2023-11-14 22:13:20,123 ERROR [main] com.example.App - Failed"
#define LOG4J_NEXT "2023-11-14 22:13:21,000 INFO [main] com.example.App - next"

static const struct trace_case trace_cases[] = {
	{"cri: a Java trace joins its log4j line", "auto", 0, 0, NULL,
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("java.lang.IllegalStateException: boom"),
	  CRI_OUT("\tat com.example.App.main(App.java:12)"), CRI_OUT("\t... 3 more"),
	  CRI_OUT("Caused by: java.io.IOException: reset"), CRI_OUT(LOG4J_NEXT)},
	 2, {{"Failed\njava.lang.IllegalStateException: boom\n\tat com.example.App.main(App.java:12)"
	      "\n\t... 3 more\nCaused by: java.io.IOException: reset", 0, "stdout", "log4j"},
	     {"next", 5, "stdout", "log4j"}}},
	{"docker: a Java trace joins its log4j line", "auto", 0, 0, NULL,
	 {DOCKER_OUT(LOG4J_HEAD), DOCKER_OUT("java.lang.IllegalStateException: boom"),
	  DOCKER_OUT("\\tat com.example.App.main(App.java:12)"), DOCKER_OUT(LOG4J_NEXT)},
	 2, {{"Failed\njava.lang.IllegalStateException: boom\n\tat com.example.App.main(App.java:12)",
	      0, "stdout", "log4j"},
	     {"next", 3, "stdout", "log4j"}}},
	{"cri: a Python traceback joins its python line", "cri", 0, 0, NULL,
	 {CRI_ERR("2023-11-14 22:13:20,123 - app.billing - ERROR - charge failed"),
	  CRI_ERR("Traceback (most recent call last):"),
	  CRI_ERR("  File \"/app/billing.py\", line 42, in charge"),
	  CRI_ERR("    raise ValueError(\"card\")"), CRI_ERR("ValueError: card"),
	  CRI_ERR("2023-11-14 22:13:21,000 - app.billing - INFO - retrying")},
	 2, {{"charge failed\nTraceback (most recent call last):\n  File \"/app/billing.py\", line 42, "
	      "in charge\n    raise ValueError(\"card\")\nValueError: card", 0, "stderr", "python"},
	     {"retrying", 5, "stderr", "python"}}},
	{"docker: a Go panic, blank line included, joins its golog line", "docker", 0, 0, NULL,
	 {"{\"log\":\"2023/11/14 22:13:20 handler.go:42: fatal: oops\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"panic: oops\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"goroutine 1 [running]:\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"main.main()\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"\\t/app/main.go:12 +0x1c\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"exit status 2\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20Z\"}",
	  "{\"log\":\"2023/11/14 22:13:21 restarted\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:21Z\"}"},
	 2, {{"fatal: oops\npanic: oops\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1c"
	      "\nexit status 2", 0, "stderr", "golog"},
	     {"restarted", 7, "stderr", "golog"}}},
	{"cri: a Go panic on stderr after JSON lines on stdout is one event", "cri", 0, 0, NULL,
	 {CRI_OUT("{\"level\":\"info\",\"msg\":\"start\"}"), CRI_ERR("panic: boom"), CRI_ERR(""),
	  CRI_OUT("{\"level\":\"info\",\"msg\":\"serving\"}"), CRI_ERR("goroutine 1 [running]:"),
	  CRI_ERR("main.main()"), CRI_ERR("\t/app/main.go:12 +0x1c")},
	 3, {{"start", 0, "stdout", "json"},
	     {"panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1c", 1,
	      "stderr", "cri"},
	     {"serving", 3, "stdout", "json"}}},
	{"interleaved: each stream's trace joins its own line, events in the order of their first lines",
	 "cri", 0, 0, NULL,
	 {CRI_ERR("2023-11-14 22:13:20,123 - app - ERROR - boom"), CRI_OUT(LOG4J_HEAD),
	  CRI_ERR("Traceback (most recent call last):"),
	  CRI_OUT("java.lang.IllegalStateException: boom"), CRI_OUT("{\"msg\":\"a\"}"),
	  CRI_ERR("  File \"/app/x.py\", line 3, in <module>"), CRI_OUT("{\"msg\":\"b\"}"),
	  CRI_ERR("ValueError: x"), CRI_OUT(LOG4J_NEXT)},
	 5, {{"boom\nTraceback (most recent call last):\n  File \"/app/x.py\", line 3, in <module>"
	      "\nValueError: x", 0, "stderr", "python"},
	     {"Failed\njava.lang.IllegalStateException: boom", 1, "stdout", "log4j"},
	     {"a", 4, "stdout", "json"},
	     {"b", 6, "stdout", "json"},
	     {"next", 8, "stdout", "log4j"}}},
	{"whole records of both streams: as before, in their order", "cri", 0, 0, NULL,
	 {CRI_ERR(LOG4J_HEAD), CRI_OUT("{\"level\":\"info\",\"msg\":\"a\"}"),
	  CRI_OUT("192.0.2.50 - - [14/Nov/2023:22:13:21 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8\""),
	  CRI_OUT("plain text"), CRI_ERR("WARNING:root:disk usage at 91%"),
	  CRI_OUT(" {\"level\":\"info\",\"msg\":\"indented JSON: parsed, not a continuation\"}")},
	 6, {{"Failed", 0, "stderr", "log4j"}, {"a", 1, "stdout", "json"},
	     {NULL, 2, "stdout", "nginx.access"}, {"plain text", 3, "stdout", "cri"},
	     {"disk usage at 91%", 4, "stderr", "python"},
	     {"indented JSON: parsed, not a continuation", 5, "stdout", "json"}}},
	{"--multiline-max-lines 3: the line past it starts an event the next lines join", "cri", 3,
	 0, NULL,
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("java.lang.IllegalStateException: boom"),
	  CRI_OUT("\tat a.B.c(B.java:1)"), CRI_OUT("\tat a.B.d(B.java:2)"),
	  CRI_OUT("\tat a.B.e(B.java:3)"), CRI_OUT("\tat a.B.f(B.java:4)"), CRI_OUT(LOG4J_NEXT)},
	 3, {{"Failed\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)", 0, "stdout",
	      "log4j"},
	     {"\tat a.B.d(B.java:2)\n\tat a.B.e(B.java:3)\n\tat a.B.f(B.java:4)", 3, "stdout", "cri"},
	     {"next", 6, "stdout", "log4j"}}},
	{"--multiline-max-bytes: the record and its lines within it, nothing dropped", "cri", 0,
	 140, NULL,
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("java.lang.IllegalStateException: boom"),
	  CRI_OUT("\tat a.B.c(B.java:1)"), CRI_OUT(LOG4J_NEXT)},
	 3, {{"Failed\njava.lang.IllegalStateException: boom", 0, "stdout", "log4j"},
	     {"\tat a.B.c(B.java:1)", 2, "stdout", "cri"},
	     {"next", 3, "stdout", "log4j"}}},
	{"--multiline-start applies to the container's line", "cri", 0, 0, "^\\d{4}-\\d\\d-\\d\\d ",
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("something unusual"), CRI_ERR("other stream"),
	  CRI_OUT("  more"), CRI_OUT(LOG4J_NEXT)},
	 3, {{"Failed\nsomething unusual\n  more", 0, "stdout", "log4j"},
	     {"other stream", 2, "stderr", "cri"},
	     {"next", 4, "stdout", "log4j"}}},
	{"a trace line the runtime split joins whole", "cri", 0, 0, NULL,
	 {CRI_OUT(LOG4J_HEAD), "2023-11-14T22:13:20.1Z stdout P \tat com.exa",
	  CRI_ERR("between"), "2023-11-14T22:13:20.1Z stdout F mple.App.main(App.java:12)",
	  CRI_OUT(LOG4J_NEXT)},
	 3, {{"Failed\n\tat com.example.App.main(App.java:12)", 0, "stdout", "log4j"},
	     {"between", 2, "stderr", "cri"},
	     {"next", 4, "stdout", "log4j"}}},
	{"a pause sends the record; the trace lines after it make one event", "cri", 0, 0, NULL,
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("java.lang.IllegalStateException: boom"), PAUSE,
	  CRI_OUT("\tat a.B.c(B.java:1)"), CRI_OUT("\tat a.B.d(B.java:2)"), PAUSE,
	  CRI_OUT(LOG4J_NEXT)},
	 3, {{"Failed\njava.lang.IllegalStateException: boom", 0, "stdout", "log4j"},
	     {"\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)", 3, "stdout", "cri"},
	     {"next", 6, "stdout", "log4j"}}},
	{"a line of another kind ends the records waiting", "cri", 0, 0, NULL,
	 {CRI_OUT(LOG4J_HEAD), CRI_OUT("\tat a.B.c(B.java:1)"), "not a container record",
	  CRI_OUT("\tat a.B.d(B.java:2)")},
	 3, {{"Failed\n\tat a.B.c(B.java:1)", 0, "stdout", "log4j"},
	     {NULL, 2, NULL, NULL},
	     {"\tat a.B.d(B.java:2)", 3, "stdout", "cri"}}},
};

struct trace_run {
	const struct trace_case *c;
	int n;
};

static int check_trace_event(void *ctx, struct ls_event *ev)
{
	struct trace_run *r = ctx;
	const struct trace_event *want;
	const struct ls_field *m = ls_event_get(ev, "message");

	if (r->n >= r->c->nevents) {
		fprintf(stderr, "\n  %s: event %d more: '%.*s'\n", r->c->name, r->n + 1,
			m ? (int)m->len : 0, m ? m->val : "");
		r->n++;
		return 0;
	}
	want = &r->c->events[r->n++];
	if (want->message && !field_is(ev, "message", want->message)) {
		fprintf(stderr, "\n  %s: event %d: message '%.*s', not '%s'\n", r->c->name, r->n,
			m ? (int)m->len : 0, m ? m->val : "", want->message);
		CU_FAIL("message");
	}
	if (ev->offset != (uint64_t)want->line * 100) {
		fprintf(stderr, "\n  %s: event %d: offset %llu, not %d\n", r->c->name, r->n,
			(unsigned long long)ev->offset, want->line * 100);
		CU_FAIL("offset");
	}
	if (want->stream)
		CU_ASSERT_TRUE(field_is(ev, "log.stream", want->stream));
	if (want->dataset && !field_is(ev, "event.dataset", want->dataset)) {
		fprintf(stderr, "\n  %s: event %d: not %s\n", r->c->name, r->n, want->dataset);
		CU_FAIL("dataset");
	}
	CU_ASSERT_FALSE(ls_event_has_tag(ev, "truncated"));
	return 0;
}

static void test_container_traces(void)
{
	for (size_t i = 0; i < sizeof(trace_cases) / sizeof(trace_cases[0]); i++) {
		const struct trace_case *c = &trace_cases[i];
		struct ls_pipeline_opts o = {0};
		struct ls_pipeline *p = NULL;
		struct ls_stream *s = NULL;
		struct trace_run r = {c, 0};
		uint64_t nlines = 0;

		o.format = c->format;
		o.multiline_max_lines = c->max_lines;
		o.multiline_max_bytes = c->max_bytes;
		o.multiline_start = c->ml_start;
		o.no_redact = 1;
		o.now_ms = 1700006400000LL;
		CU_ASSERT_EQUAL_FATAL(ls_pipeline_new(&p, &o, NULL, NULL, NULL), 0);
		CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
		for (int l = 0; l < TRACE_LINES && c->lines[l]; l++) {
			if (strcmp(c->lines[l], PAUSE) == 0) {
				CU_ASSERT_EQUAL(ls_stream_flush(s, check_trace_event, &r), 0);
				continue;
			}
			CU_ASSERT_EQUAL(ls_stream_line(s, c->lines[l], strlen(c->lines[l]),
						       (uint64_t)l * 100, 0, check_trace_event, &r), 0);
			nlines++;
		}
		CU_ASSERT_EQUAL(ls_stream_flush(s, check_trace_event, &r), 0);
		CU_ASSERT_EQUAL(ls_stream_flush(s, check_trace_event, &r), 0);
		if (r.n != c->nevents)
			fprintf(stderr, "\n  %s: %d events, not %d\n", c->name, r.n, c->nevents);
		CU_ASSERT_EQUAL(r.n, c->nevents);
		CU_ASSERT_EQUAL(ls_pipeline_stats(p)->lines, nlines);
		CU_ASSERT_EQUAL(ls_pipeline_stats(p)->events, (uint64_t)c->nevents);
		ls_stream_free(s);
		ls_pipeline_free(p);
	}
}

/* A record waiting for its trace when the stream is freed is let go. */
static void test_container_trace_freed_waiting(void)
{
	static const char head[] = CRI_OUT(LOG4J_HEAD);
	struct ls_pipeline *p = builtin_pipeline("cri");
	struct ls_stream *s = NULL;
	struct collected c = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(ls_stream_new(p, &s, NULL, 0), 0);
	CU_ASSERT_EQUAL(ls_stream_line(s, head, strlen(head), 0, 0, collect, &c), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	ls_stream_free(s);
	ls_pipeline_free(p);
}

/* ls_formats_reparse() names the format that parsed the container's line. */
static void test_reparse_names_inner_format(void)
{
	static const struct {
		const char *line;
		const char *inner; /* NULL: none */
	} lines[] = {
		{CRI_OUT(LOG4J_HEAD), "log4j"},
		{CRI_OUT("{\"level\":\"info\",\"msg\":\"x\"}"), "json"},
		{CRI_OUT("java.lang.IllegalStateException: boom"), NULL},
		{CRI_OUT("\tat com.example.App.main(App.java:12)"), NULL},
		{CRI_OUT("Traceback (most recent call last):"), NULL},
		{CRI_OUT("goroutine 1 [running]:"), NULL},
	};
	struct ls_pipeline *p = builtin_pipeline("cri");
	struct ls_catalog *cat;
	struct ls_event ev;
	int cri;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	cat = ls_pipeline_catalog(p);
	cri = ls_formats_find(cat->formats, "cri");
	CU_ASSERT_EQUAL_FATAL(ls_event_init(&ev, 1 << 16), 0);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		int inner;
		ls_event_reset(&ev);
		CU_ASSERT_EQUAL(ls_formats_parse_outer(cat->formats, cri, ls_pipeline_ts(p), &ev,
						       lines[i].line, strlen(lines[i].line)), 1);
		inner = ls_formats_reparse(cat->formats, cri, ls_pipeline_ts(p), &ev, NULL, 0);
		if (lines[i].inner) {
			CU_ASSERT_STRING_EQUAL(ls_formats_name(cat->formats, inner), lines[i].inner);
		} else {
			CU_ASSERT_EQUAL(inner, -1);
		}
	}
	/* a format without a reparse field */
	CU_ASSERT_EQUAL(ls_formats_reparse(cat->formats, ls_formats_find(cat->formats, "nginx"),
					   ls_pipeline_ts(p), &ev, NULL, 0), -1);
	ls_event_release(&ev);
	ls_pipeline_free(p);
}

static const struct ls_test_case cases[] = {
	{"every example of every format and rule", test_all_examples},
	{"unknown format suggests the closest", test_unknown_format_suggests},
	{"auto-detection and retry of other formats", test_detect_and_retry},
	{"lines split by a container runtime joined", test_split_lines},
	{"a split line held at the end is let go", test_split_line_freed_pending},
	{"'partial:' is checked", test_partial_needs_reparse},
	{"an application's ISO time and level are not syslog", test_detect_not_syslog},
	{"stack traces inside container logs joined", test_container_traces},
	{"a container record waiting at the end is let go", test_container_trace_freed_waiting},
	{"the reparse names the container line's format", test_reparse_names_inner_format},
	{NULL, NULL}
};

LS_TEST_SUITE(formats, cases)

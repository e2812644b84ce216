/* test_formats.c - every built-in format and rule keeps the promises of its
 * example lines; format choice, detection and suggestions. */
#include "unit.h"

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

static const struct ls_test_case cases[] = {
	{"every example of every format and rule", test_all_examples},
	{"unknown format suggests the closest", test_unknown_format_suggests},
	{"auto-detection and retry of other formats", test_detect_and_retry},
	{"an application's ISO time and level are not syslog", test_detect_not_syslog},
	{NULL, NULL}
};

LS_TEST_SUITE(formats, cases)

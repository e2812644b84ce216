/* test_where.c - the --where filter: every operator against one fixture
 * event, special fields, ANDing, and the messages of bad expressions. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "../parsers/error.h"
#include "../parsers/event.h"
#include "../parsers/where.h"
#include "unit.h"

/* 2023-11-14T22:13:20.000Z */
#define FIXTURE_TS 1700000000000LL

static void fixture(struct ls_event *ev)
{
	CU_ASSERT_FATAL(ls_event_init(ev, 4096) == 0);
	ev->ts_ms = FIXTURE_TS;
	ev->line = "raw line text";
	ev->line_len = strlen(ev->line);
	ev->severity = 3;
	ls_event_set_str(ev, "message", "GET /wp-login.php failed for alice");
	ls_event_set_str(ev, "source.ip", "203.0.113.9");
	ls_event_set(ev, "http.response.status_code", "404", 3, LS_F_INT);
	ls_event_set(ev, "http.response.body.bytes", "512", 3, LS_F_INT);
	ls_event_set(ev, "event.duration", "1.5e3", 5, LS_F_FLOAT);
	ls_event_set_str(ev, "user.name", "alice");
	ls_event_set_str(ev, "process.name", "12abc");
	ls_event_set_str(ev, "labels.empty", "");
	ls_event_set(ev, "error.flag", "true", 4, LS_F_RAW);
	ls_event_list_add(ev, "event.category", "web");
	ls_event_list_add(ev, "event.category", "authentication");
	ls_event_list_add(ev, "threat.technique.id", "T1595");
	ls_event_list_add(ev, "threat.technique.id", "T1190");
	ls_event_add_tag(ev, "security");
	ls_event_add_tag(ev, "web_scan");
}

/* Evaluates one expression alone against ev; -1 when it did not parse. */
static int eval(const struct ls_event *ev, const char *expr)
{
	struct ls_where *w;
	struct ls_error err;
	int rc;

	CU_ASSERT_FATAL(ls_where_new(&w) == 0);
	rc = ls_where_add(w, expr, &err);
	if (rc == 0)
		rc = ls_where_match(w, ev);
	else
		fprintf(stderr, "\n  %s: %s\n", expr, err.msg);
	ls_where_free(w);
	return rc < 0 ? -1 : rc;
}

static const struct {
	const char *expr;
	int want;
} match_cases[] = {
	/* = and != on text and numbers-as-text */
	{ "user.name=alice", 1 },
	{ "user.name=Alice", 0 },
	{ "user.name=alic", 0 },
	{ "user.name!=bob", 1 },
	{ "user.name!=alice", 0 },
	{ "http.response.status_code=404", 1 },
	{ "http.response.status_code=404.0", 0 },
	{ "http.response.status_code!=200", 1 },
	{ "error.flag=true", 1 },
	{ "labels.empty=", 1 },
	{ "labels.empty!=", 0 },
	{ "user.name=", 0 },
	/* missing fields */
	{ "no.such=x", 0 },
	{ "no.such!=x", 1 },
	{ "no.such~.", 0 },
	{ "no.such>0", 0 },
	{ "no.such<0", 0 },
	{ "has:no.such", 0 },
	/* has: */
	{ "has:user.name", 1 },
	{ "has:labels.empty", 1 },
	{ "has:@timestamp", 1 },
	{ "has:event.severity", 1 },
	{ "has:tags", 1 },
	/* ~ regex, unanchored */
	{ "message~wp-login", 1 },
	{ "message~^GET /wp", 1 },
	{ "message~^login", 0 },
	{ "message~(?i)ALICE$", 1 },
	{ "source.ip~^203\\.0\\.113\\.", 1 },
	{ "source.ip~^10\\.", 0 },
	{ "http.response.status_code~^4", 1 },
	/* numeric operators */
	{ "http.response.status_code>=400", 1 },
	{ "http.response.status_code>=404", 1 },
	{ "http.response.status_code>=405", 0 },
	{ "http.response.status_code>403", 1 },
	{ "http.response.status_code>404", 0 },
	{ "http.response.status_code<500", 1 },
	{ "http.response.status_code<404", 0 },
	{ "http.response.status_code<=404", 1 },
	{ "http.response.status_code<=403.5", 0 },
	{ "http.response.body.bytes>1e2", 1 },
	{ "event.duration>1499.9", 1 },
	{ "event.duration<1500", 0 },
	{ "event.duration<=1500", 1 },
	{ "http.response.status_code>-1", 1 },
	/* a non-number never matches a numeric operator */
	{ "user.name>0", 0 },
	{ "user.name<0", 0 },
	{ "process.name>1", 0 },
	{ "process.name<100", 0 },
	{ "error.flag>0", 0 },
	{ "labels.empty<1", 0 },
	/* text compare is exact bytes, even for numbers */
	{ "event.duration=1500", 0 },
	{ "event.duration=1.5e3", 1 },
	/* tags */
	{ "tag:security", 1 },
	{ "tag:web_scan", 1 },
	{ "tag:Security", 0 },
	{ "tag:redacted", 0 },
	{ "tags=security", 1 },
	{ "tags=secur", 0 },
	{ "tags!=security", 0 },
	{ "tags!=redacted", 1 },
	{ "tags~^web_", 1 },
	{ "tags~^brute", 0 },
	/* lists: any item */
	{ "event.category=web", 1 },
	{ "event.category=authentication", 1 },
	{ "event.category=network", 0 },
	{ "event.category!=web", 0 },
	{ "event.category!=network", 1 },
	{ "event.category~^auth", 1 },
	{ "threat.technique.id=T1190", 1 },
	{ "threat.technique.id~^T1110", 0 },
	/* message, event.severity */
	{ "message=GET /wp-login.php failed for alice", 1 },
	{ "message~raw line", 0 },
	{ "event.severity=3", 1 },
	{ "event.severity>=3", 1 },
	{ "event.severity>3", 0 },
	{ "event.severity!=3", 0 },
	/* @timestamp as RFC 3339 text */
	{ "@timestamp=2023-11-14T22:13:20.000Z", 1 },
	{ "@timestamp=2023-11-14T22:13:20Z", 0 },
	{ "@timestamp~^2023-11-14T22:", 1 },
	{ "@timestamp~^2023-11-15", 0 },
	{ "@timestamp>=2023-11-14", 1 },
	{ "@timestamp<2023-11-15", 1 },
	{ "@timestamp<2023-11-14", 0 },
	{ "@timestamp>2023-11-14T22:13:19Z", 1 },
	{ "@timestamp>=2023-11-14T22:13:20Z", 1 },
	{ "@timestamp>2023-11-14T22:13:20Z", 0 },
	{ "@timestamp<=2023-11-14T22:13:20.000Z", 1 },
	{ "@timestamp<2023-11-14T22:13:20.001Z", 1 },
	{ "@timestamp>2024-01-01T00:00:00Z", 0 },
};

static void test_operators(void)
{
	struct ls_event ev;

	fixture(&ev);
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		int got = eval(&ev, match_cases[i].expr);
		if (got != match_cases[i].want)
			fprintf(stderr, "\n  where %s: got %d, want %d\n",
				match_cases[i].expr, got, match_cases[i].want);
		CU_ASSERT_EQUAL(got, match_cases[i].want);
	}
	ls_event_release(&ev);
}

/* Expressions are ANDed; an empty filter passes everything. */
static void test_and(void)
{
	struct ls_event ev;
	struct ls_where *w;
	struct ls_error err;

	fixture(&ev);
	CU_ASSERT_FATAL(ls_where_new(&w) == 0);
	CU_ASSERT_EQUAL(ls_where_match(w, &ev), 1);
	CU_ASSERT_EQUAL(ls_where_add(w, "http.response.status_code>=400", &err), 0);
	CU_ASSERT_EQUAL(ls_where_add(w, "tag:security", &err), 0);
	CU_ASSERT_EQUAL(ls_where_match(w, &ev), 1);
	CU_ASSERT_EQUAL(ls_where_add(w, "user.name=bob", &err), 0);
	CU_ASSERT_EQUAL(ls_where_match(w, &ev), 0);
	ls_where_free(w);
	ls_event_release(&ev);
}

/* Without a message field, "message" is the raw line; a severity field
 * wins over ev->severity; no severity at all is a missing field. */
static void test_fallbacks(void)
{
	struct ls_event ev;

	CU_ASSERT_FATAL(ls_event_init(&ev, 1024) == 0);
	ev.line = "Failed password for root";
	ev.line_len = strlen(ev.line);
	CU_ASSERT_EQUAL(eval(&ev, "message~^Failed password"), 1);
	CU_ASSERT_EQUAL(eval(&ev, "message=Failed password for root"), 1);
	CU_ASSERT_EQUAL(eval(&ev, "has:message"), 1);
	CU_ASSERT_EQUAL(eval(&ev, "has:event.severity"), 0);
	CU_ASSERT_EQUAL(eval(&ev, "event.severity>=1"), 0);
	CU_ASSERT_EQUAL(eval(&ev, "has:tags"), 0);
	CU_ASSERT_EQUAL(eval(&ev, "tags!=security"), 1);
	CU_ASSERT_EQUAL(eval(&ev, "@timestamp=1970-01-01T00:00:00.000Z"), 1);
	ev.severity = 2;
	ls_event_set(&ev, "event.severity", "4", 1, LS_F_INT);
	CU_ASSERT_EQUAL(eval(&ev, "event.severity=4"), 1);
	CU_ASSERT_EQUAL(eval(&ev, "event.severity<3"), 0);
	ev.line = NULL;
	ev.line_len = 0;
	CU_ASSERT_EQUAL(eval(&ev, "has:message"), 0);
	ls_event_release(&ev);
}

static const struct {
	const char *expr;
	int code;
	const char *msg; /* the whole message, or a prefix when it ends in '*' */
} bad_cases[] = {
	{ "", LS_EINVAL, "bad --where expression '': empty expression" },
	{ "=alice", LS_EINVAL, "bad --where expression '=alice': empty field name" },
	{ ">=3", LS_EINVAL, "bad --where expression '>=3': empty field name" },
	{ "user.name", LS_EINVAL, "bad --where expression 'user.name': no operator*" },
	{ "user name=x", LS_EINVAL,
	  "bad --where expression 'user name=x': no operator after the field name; found:  name=x" },
	{ "a!b", LS_EINVAL, "bad --where expression 'a!b': no operator after*" },
	{ "status>abc", LS_EINVAL, "bad --where expression 'status>abc': not a number: abc" },
	{ "status<=0x10", LS_EINVAL, "bad --where expression 'status<=0x10': not a number: 0x10" },
	{ "status>", LS_EINVAL,
	  "bad --where expression 'status>': missing number after the operator" },
	{ "has:", LS_EINVAL, "bad --where expression 'has:': has: needs a field name" },
	{ "has:a b", LS_EINVAL,
	  "bad --where expression 'has:a b': bad character in field name at:  b" },
	{ "tag:", LS_EINVAL, "bad --where expression 'tag:': tag: needs a tag name" },
	{ "message~(abc", LS_EREGEX,
	  "bad --where expression 'message~(abc': regex error at offset 4: *" },
	{ "message~a[", LS_EREGEX,
	  "bad --where expression 'message~a[': regex error at offset 2: *" },
};

static void test_bad_expressions(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct ls_where *w;
		struct ls_error err;
		const char *want = bad_cases[i].msg;
		size_t wlen = strlen(want);
		int rc;

		memset(&err, 0, sizeof(err));
		CU_ASSERT_FATAL(ls_where_new(&w) == 0);
		rc = ls_where_add(w, bad_cases[i].expr, &err);
		CU_ASSERT_EQUAL(rc, bad_cases[i].code);
		CU_ASSERT_EQUAL(err.code, bad_cases[i].code);
		if (want[wlen - 1] == '*') {
			CU_ASSERT_NSTRING_EQUAL(err.msg, want, wlen - 1);
		} else {
			CU_ASSERT_STRING_EQUAL(err.msg, want);
		}
		if (strncmp(err.msg, want, want[wlen - 1] == '*' ? wlen - 1 : wlen + 1))
			fprintf(stderr, "\n  %s: got '%s'\n", bad_cases[i].expr, err.msg);
		/* a failed expression leaves the filter as it was */
		CU_ASSERT_EQUAL(ls_where_match(w, NULL), 1);
		ls_where_free(w);
	}
}

static const struct ls_test_case cases[] = {
	{ "operators", test_operators },
	{ "and", test_and },
	{ "fallbacks", test_fallbacks },
	{ "bad_expressions", test_bad_expressions },
	{ NULL, NULL },
};

LS_TEST_SUITE(where, cases);

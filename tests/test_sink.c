/* test_sink.c - the sinks: scheme dispatch, each sink's item bytes, request
 * URL and headers, and how responses are read (status table, ClickHouse
 * exception codes, Elasticsearch bulk items, Splunk HEC codes, OTLP partial
 * success), Retry-After in all its forms, and secrets kept out of reasons. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../parsers/error.h"
#include "../parsers/json_out.h"
#include "../shipper/backoff.h"
#include "../shipper/sink.h"
#include "unit.h"

/* ---- the sample event and its JSON line ---- */

#define EV_MSG "GET /x \"q\"\nnext \xff"
/* the message as a JSON string: quotes and newline escaped, the invalid
 * byte as the text \xFF */
#define EV_MSG_JSON "\"GET /x \\\"q\\\"\\nnext \\\\xFF\""
#define EV_JSON                                                                        \
	"{\"@timestamp\":\"2023-11-14T22:13:20.123Z\",\"message\":" EV_MSG_JSON           \
	",\"event\":{\"dataset\":\"nginx.access\",\"id\":\"0123456789abcdef\"},"           \
	"\"host\":{\"hostname\":\"web1\"},\"http\":{\"response\":{\"status_code\":404}},"  \
	"\"log\":{\"file\":{\"path\":\"/var/log/nginx/access.log\"},\"level\":\"warn\"},"  \
	"\"source\":{\"ip\":\"203.0.113.9\"},\"tags\":[\"security\",\"web_scan\"],"        \
	"\"user\":{\"name\":\"alice\"}}"

static struct ls_event ev;
static struct ls_buf out;

static struct ls_event *fresh_event(int64_t ts_ms)
{
	if (!ev.arena)
		CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	ls_event_reset(&ev);
	ev.ts_ms = ts_ms;
	ev.line = "the raw line";
	ev.line_len = strlen(ev.line);
	ev.offset = 4096;
	return &ev;
}

static struct ls_event *sample_event(void)
{
	fresh_event(1700000000123LL);
	ls_event_set_str(&ev, "message", EV_MSG);
	ls_event_set_str(&ev, "event.id", "0123456789abcdef");
	ls_event_set_str(&ev, "event.dataset", "nginx.access");
	ls_event_set_str(&ev, "source.ip", "203.0.113.9");
	ls_event_set_int(&ev, "http.response.status_code", 404);
	ls_event_set_str(&ev, "log.file.path", "/var/log/nginx/access.log");
	ls_event_set_str(&ev, "log.level", "warn");
	ls_event_set_str(&ev, "user.name", "alice");
	ls_event_set_str(&ev, "host.hostname", "web1");
	ls_event_add_tag(&ev, "security");
	ls_event_add_tag(&ev, "web_scan");
	return &ev;
}

/* s as a JSON string, by a plain escaper independent of the code under
 * test (enough for the ASCII event lines above). Caller frees. */
static char *quote(const char *s)
{
	char *q = malloc(2 * strlen(s) + 3), *w = q;

	*w++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*w++ = '\\';
		*w++ = *s;
	}
	*w++ = '"';
	*w = '\0';
	return q;
}

/* ---- helpers ---- */

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct ls_sink *open_cfg(const struct ls_sink_config *cfg)
{
	struct ls_sink *s = NULL;
	struct ls_error err = { 0 };
	int rc = ls_sink_open(&s, cfg, &err);

	if (rc != 0)
		printf("\nopen %s: %s\n", cfg->url, err.msg);
	CU_ASSERT_FATAL(rc == 0 && s != NULL);
	return s;
}

static struct ls_sink *open_url(const char *url, const char *auth)
{
	struct ls_sink_config cfg = { .url = url, .auth = auth, .host = "myhost" };

	return open_cfg(&cfg);
}

/* Opening fails with LS_EINVAL; the message is returned (static). */
static const char *open_fails(const struct ls_sink_config *cfg)
{
	static struct ls_error err;
	struct ls_sink *s = NULL;

	memset(&err, 0, sizeof(err));
	CU_ASSERT(ls_sink_open(&s, cfg, &err) == LS_EINVAL);
	CU_ASSERT(s == NULL);
	CU_ASSERT(err.msg[0] != '\0');
	return err.msg;
}

static const char *encode(struct ls_sink *s, const struct ls_event *e)
{
	ls_buf_release(&out);
	ls_buf_init(&out, 0);
	CU_ASSERT_FATAL(s->ops->encode(s, &out, e) == 0);
	return out.data;
}

struct request {
	const char *url;
	const char *hdrs[LS_SINK_MAX_HDRS];
	int nhdrs;
};

static void get_request(struct ls_sink *s, struct request *r)
{
	memset(r, 0, sizeof(*r));
	CU_ASSERT_FATAL(s->ops->request != NULL);
	CU_ASSERT_FATAL(s->ops->request(s, &r->url, r->hdrs, &r->nhdrs) == 0);
	CU_ASSERT(r->nhdrs >= 0 && r->nhdrs <= LS_SINK_MAX_HDRS);
}

static int has_header(const struct request *r, const char *h)
{
	for (int i = 0; i < r->nhdrs; i++)
		if (strcmp(r->hdrs[i], h) == 0)
			return 1;
	return 0;
}

/* Headers whose text contains needle. */
static int count_headers(const struct request *r, const char *needle)
{
	int n = 0;

	for (int i = 0; i < r->nhdrs; i++)
		n += strstr(r->hdrs[i], needle) != NULL;
	return n;
}

static void classify(struct ls_sink *s, long status, const char *body, const char *retry_after,
		     size_t nitems, unsigned char *bad, struct ls_sink_result *res)
{
	memset(res, 0, sizeof(*res));
	res->bad = bad;
	s->ops->classify(s, status, body, body ? strlen(body) : 0, retry_after, nitems, res);
	CU_ASSERT(strlen(res->reason) < sizeof(res->reason));
	CU_ASSERT(strchr(res->reason, '\n') == NULL);
}

/* ---- dispatch ---- */

static void test_unknown_scheme(void)
{
	struct ls_sink_config cfg = { .url = "ftp://example.org/x" };
	const char *msg = open_fails(&cfg);

	CU_ASSERT(strstr(msg, "\"ftp://\"") != NULL);
	for (const char *const *k = (const char *const[]){ "http(s)://", "clickhouse+http(s)://",
			"elasticsearch+http(s)://", "loki+http(s)://", "splunk+http(s)://",
			"otlp+http(s)://", "file:///path", "- (stdout)", NULL }; *k; k++)
		CU_ASSERT(strstr(msg, *k) != NULL);
	cfg.url = "kafka+http://broker:9092";
	CU_ASSERT(strstr(open_fails(&cfg), "\"kafka+http://\"") != NULL);
	cfg.url = "/var/log/out.ndjson";
	CU_ASSERT(strstr(open_fails(&cfg), "no known scheme") != NULL);
	cfg.url = "";
	CU_ASSERT(strstr(open_fails(&cfg), "clickhouse+http") != NULL);
}

static void test_url_checks(void)
{
	struct ls_sink_config cfg = { 0 };
	const char *msg;

	/* credentials never come from the URL, and are not repeated */
	cfg.url = "http://bob:hunter2@example.org/in";
	msg = open_fails(&cfg);
	CU_ASSERT(strstr(msg, "--auth-env") != NULL);
	CU_ASSERT(strstr(msg, "hunter2") == NULL);
	cfg.url = "elasticsearch+https://bob:hunter2@es:9200/logs";
	CU_ASSERT(strstr(open_fails(&cfg), "hunter2") == NULL);
	cfg.url = "http:///nohost";
	CU_ASSERT(strstr(open_fails(&cfg), "no host") != NULL);
	cfg.url = "http://example.org/a b";
	open_fails(&cfg);
	cfg.url = "http://example.org/a#frag";
	open_fails(&cfg);
	/* schemes are case-insensitive */
	ls_sink_free(open_url("HTTPS://Example.org/in", NULL));
}

/* ---- file ---- */

static void test_file_sink(void)
{
	struct ls_sink_config cfg = { 0 };
	struct ls_sink *s;

	s = open_url("-", NULL);
	CU_ASSERT(ls_sink_file_path(s) == NULL);
	CU_ASSERT(s->ops->request == NULL);
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()), EV_JSON "\n");
	ls_sink_free(s);

	s = open_url("file:///tmp/out.ndjson", NULL);
	CU_ASSERT_STRING_EQUAL(ls_sink_file_path(s), "/tmp/out.ndjson");
	CU_ASSERT(s->ops->request == NULL);
	CU_ASSERT(s->ops->prefix == NULL);
	CU_ASSERT_STRING_EQUAL(s->ops->separator, "");
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()), EV_JSON "\n");
	ls_sink_free(s);

	s = open_url("file://localhost/tmp/a%20b.log", NULL);
	CU_ASSERT_STRING_EQUAL(ls_sink_file_path(s), "/tmp/a b.log");
	ls_sink_free(s);

	cfg.url = "file://relative/x";
	open_fails(&cfg);
	cfg.url = "file:///tmp/dir/";
	open_fails(&cfg);
	cfg.url = "file:///tmp/a%00b";
	open_fails(&cfg);

	/* not a file sink */
	s = open_url("http://h/x", NULL);
	CU_ASSERT(ls_sink_file_path(s) == NULL);
	ls_sink_free(s);
}

/* A body is appended whole or not at all: a full disk (here the file size
 * limit, which lets a write in part and then fails it as a full disk
 * does) leaves the file as it was, and the same body goes in whole once
 * there is room. */
static void test_file_append(void)
{
	char path[] = "/tmp/logship-test-sink-XXXXXX", buf[256];
	const char *first = "{\"a\":1}\n{\"b\":2}\n", *second = "{\"c\":3}\n{\"d\":4}\n";
	struct rlimit old, lim;
	struct ls_error err = { 0, "" };
	void (*old_sig)(int);
	int64_t torn_at = -1;
	ssize_t n;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(ls_sink_file_append(fd, path, first, strlen(first), &torn_at, &err) == 0);
	CU_ASSERT(lseek(fd, 0, SEEK_END) == (off_t)strlen(first));
	/* room for 5 more bytes: the write takes 5, the next one fails */
	CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = strlen(first) + 5;
	old_sig = signal(SIGXFSZ, SIG_IGN);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CU_ASSERT(ls_sink_file_append(fd, path, second, strlen(second), &torn_at, &err) == LS_EIO);
	CU_ASSERT(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, old_sig);
	CU_ASSERT(strstr(err.msg, "cannot write /tmp/logship-test-sink-") == err.msg);
	CU_ASSERT(strstr(err.msg, strerror(EFBIG)) != NULL);
	/* cut back: no half line left */
	CU_ASSERT(torn_at == -1);
	CU_ASSERT(lseek(fd, 0, SEEK_END) == (off_t)strlen(first));
	/* with room again the same body goes in whole, once */
	CU_ASSERT(ls_sink_file_append(fd, path, second, strlen(second), &torn_at, &err) == 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	CU_ASSERT_FATAL(n >= 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n");
	/* a cut-back that failed earlier is done first */
	torn_at = (off_t)strlen(first);
	CU_ASSERT(ls_sink_file_append(fd, path, second, strlen(second), &torn_at, &err) == 0);
	CU_ASSERT(torn_at == -1);
	CU_ASSERT(lseek(fd, 0, SEEK_END) == (off_t)(strlen(first) + strlen(second)));
	close(fd);
	unlink(path);
	/* stdout's name in the message; a pipe cannot be cut, nothing is */
	{
		int p[2];

		CU_ASSERT_FATAL(pipe(p) == 0);
		close(p[0]);
		old_sig = signal(SIGPIPE, SIG_IGN);
		CU_ASSERT(ls_sink_file_append(p[1], NULL, first, strlen(first), &torn_at, &err) ==
			  LS_EIO);
		signal(SIGPIPE, old_sig);
		CU_ASSERT(strstr(err.msg, "cannot write standard output: ") == err.msg);
		CU_ASSERT(torn_at == -1);
		close(p[1]);
	}
}

/* ---- plain HTTP ---- */

static void test_http_sink(void)
{
	const char *headers[] = { "X-Tenant: acme", "content-type: application/json" };
	struct ls_sink_config cfg = { .url = "https://collector.example:8443/ingest?x=1",
				      .auth = "tok3n\n" };
	struct ls_sink *s = open_cfg(&cfg);
	struct request r;

	CU_ASSERT_STRING_EQUAL(s->ops->scheme, "http");
	CU_ASSERT(s->ops->compressions == (LS_SINK_GZIP | LS_SINK_ZSTD));
	CU_ASSERT(s->ops->prefix == NULL);
	CU_ASSERT_STRING_EQUAL(s->ops->separator, "");
	CU_ASSERT_STRING_EQUAL(s->ops->suffix, "");
	CU_ASSERT(s->ops->setup == NULL);
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()), EV_JSON "\n");
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://collector.example:8443/ingest?x=1");
	CU_ASSERT(r.nhdrs == 2);
	CU_ASSERT(has_header(&r, "Content-Type: application/x-ndjson"));
	CU_ASSERT(has_header(&r, "Authorization: Bearer tok3n"));
	ls_sink_free(s);

	/* user:password is Basic; --header adds, and replaces by name */
	cfg.auth = "user:pass";
	cfg.headers = headers;
	cfg.nheaders = 2;
	s = open_cfg(&cfg);
	get_request(s, &r);
	CU_ASSERT(r.nhdrs == 3);
	CU_ASSERT(has_header(&r, "Authorization: Basic dXNlcjpwYXNz"));
	CU_ASSERT(has_header(&r, "X-Tenant: acme"));
	CU_ASSERT(has_header(&r, "content-type: application/json"));
	CU_ASSERT(count_headers(&r, "x-ndjson") == 0);
	ls_sink_free(s);

	/* no secret, no Authorization */
	s = open_url("http://h:80/", NULL);
	get_request(s, &r);
	CU_ASSERT(r.nhdrs == 1);
	CU_ASSERT(count_headers(&r, "Authorization") == 0);
	ls_sink_free(s);
}

static void test_header_checks(void)
{
	const char *no_colon[] = { "NoColon" };
	const char *crlf[] = { "X-A: b\r\nEvil: 1" };
	const char *many[LS_SINK_MAX_HDRS];
	char names[LS_SINK_MAX_HDRS][16];
	struct ls_sink_config cfg = { .url = "http://h/x" };

	cfg.headers = no_colon;
	cfg.nheaders = 1;
	open_fails(&cfg);
	cfg.headers = crlf;
	CU_ASSERT(strstr(open_fails(&cfg), "line break") != NULL);
	for (int i = 0; i < LS_SINK_MAX_HDRS; i++) {
		snprintf(names[i], sizeof(names[i]), "X-H%d: v", i);
		many[i] = names[i];
	}
	cfg.headers = many;
	cfg.nheaders = LS_SINK_MAX_HDRS; /* plus Content-Type: one too many */
	CU_ASSERT(strstr(open_fails(&cfg), "too many headers") != NULL);
	cfg.nheaders = LS_SINK_MAX_HDRS - 1;
	ls_sink_free(open_cfg(&cfg));
	/* a secret with a line break in it cannot become a header */
	cfg.nheaders = 0;
	cfg.auth = "abc\ndef";
	CU_ASSERT(strstr(open_fails(&cfg), "abc") == NULL);
}

static void test_encode_full_buffer(void)
{
	static const char *const urls[] = {
		"-", "http://h/x", "clickhouse+http://h:8123/db.t", "elasticsearch+http://h/i",
		"loki+http://h:3100", "splunk+http://h:8088", "otlp+http://h:4318", NULL
	};

	for (const char *const *u = urls; *u; u++) {
		struct ls_sink *s = open_url(*u, NULL);
		struct ls_buf small;

		/* room for a little, not for a whole item: out is left as it was */
		ls_buf_init(&small, 100);
		CU_ASSERT(ls_buf_puts(&small, "kept") == 0);
		CU_ASSERT(s->ops->encode(s, &small, sample_event()) == LS_ENOMEM);
		CU_ASSERT(small.len == 4);
		CU_ASSERT(memcmp(small.data, "kept", 5) == 0);
		ls_buf_release(&small);
		ls_sink_free(s);
	}
}

/* ---- ClickHouse ---- */

static void test_clickhouse_row(void)
{
	struct ls_sink_config cfg = { .url = "clickhouse+http://127.0.0.1:8123/db.logs",
				      .auth = "writer:s3cret" };
	struct ls_sink *s = open_cfg(&cfg);
	struct request r;
	char *event = quote(EV_JSON), *want;
	const char *url, *body;
	size_t len;

	CU_ASSERT(s->ops->compressions == LS_SINK_GZIP);
	CU_ASSERT(asprintf(&want,
			   "{\"timestamp\":\"2023-11-14 22:13:20\",\"timestamp_ms\":123,"
			   "\"event_id\":\"0123456789abcdef\",\"dataset\":\"nginx.access\","
			   "\"message\":" EV_MSG_JSON ",\"source_ip\":\"203.0.113.9\","
			   "\"user_name\":\"alice\",\"host_name\":\"web1\","
			   "\"log_file\":\"/var/log/nginx/access.log\",\"log_offset\":4096,"
			   "\"status\":404,\"level\":\"warn\",\"severity\":0,\"rule_id\":\"\","
			   "\"tags\":[\"security\",\"web_scan\"],\"event\":%s}\n", event) > 0);
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()), want);
	/* the event column holds the JSON line with its quotes, newline and
	 * \xFF escaped once more */
	CU_ASSERT(strstr(out.data, "\\\"message\\\":\\\"GET /x \\\\\\\"q\\\\\\\"\\\\nnext "
				   "\\\\\\\\xFF\\\"") != NULL);
	free(want);
	free(event);

	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://127.0.0.1:8123/?query=INSERT%20INTO%20db.logs%20"
				      "FORMAT%20JSONEachRow&input_format_skip_unknown_fields=1"
				      "&date_time_input_format=best_effort");
	CU_ASSERT(has_header(&r, "X-ClickHouse-User: writer"));
	CU_ASSERT(has_header(&r, "X-ClickHouse-Key: s3cret"));
	CU_ASSERT(count_headers(&r, "Authorization") == 0);
	/* no --create-table: nothing to set up */
	CU_ASSERT(s->ops->setup(s, &url, &body, &len) == 0);
	ls_sink_free(s);

	/* a sparse event: clamped time, severity from the rules, log.offset,
	 * the raw line as message, no tags */
	fresh_event(-5);
	ev.severity = 3;
	ls_event_set_str(&ev, "log.offset", "77");
	ls_event_set_str(&ev, "http.response.status_code", "70000");
	s = open_url("clickhouse+https://ch.example:8443/logs?async_insert=1&wait_for_async_insert=1",
		     "onlypassword");
	event = quote("{\"@timestamp\":\"1969-12-31T23:59:59.995Z\",\"message\":\"the raw line\","
		      "\"http\":{\"response\":{\"status_code\":\"70000\"}},\"log\":{\"offset\":\"77\"}}");
	CU_ASSERT(asprintf(&want,
			   "{\"timestamp\":\"1970-01-01 00:00:00\",\"timestamp_ms\":0,"
			   "\"event_id\":\"\",\"dataset\":\"\",\"message\":\"the raw line\","
			   "\"source_ip\":\"\",\"user_name\":\"\",\"host_name\":\"\","
			   "\"log_file\":\"\",\"log_offset\":77,\"status\":0,\"level\":\"\","
			   "\"severity\":3,\"rule_id\":\"\",\"tags\":[],\"event\":%s}\n", event) > 0);
	CU_ASSERT_STRING_EQUAL(encode(s, &ev), want);
	free(want);
	free(event);
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://ch.example:8443/?query=INSERT%20INTO%20logs%20FORMAT"
				      "%20JSONEachRow&input_format_skip_unknown_fields=1"
				      "&date_time_input_format=best_effort&async_insert=1"
				      "&wait_for_async_insert=1");
	CU_ASSERT(has_header(&r, "X-ClickHouse-User: default"));
	CU_ASSERT(has_header(&r, "X-ClickHouse-Key: onlypassword"));
	ls_sink_free(s);

	/* beyond DateTime's range */
	fresh_event(9000000000000LL);
	s = open_url("clickhouse+http://h:8123/db.t", NULL);
	CU_ASSERT(starts_with(encode(s, &ev), "{\"timestamp\":\"2105-12-31 23:59:59\",\"timestamp_ms\":999,"));
	ls_sink_free(s);
}

static void test_clickhouse_setup(void)
{
	struct ls_sink_config cfg = { .url = "clickhouse+http://127.0.0.1:8123/db.logs",
				      .create_table = 1 };
	struct ls_sink *s = open_cfg(&cfg);
	const char *url = NULL, *body = NULL;
	size_t len = 0;

	CU_ASSERT_FATAL(s->ops->setup(s, &url, &body, &len) == 1);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:8123/");
	CU_ASSERT(len == strlen(body));
	CU_ASSERT_STRING_EQUAL(body,
		"CREATE TABLE IF NOT EXISTS db.logs (\n"
		"  timestamp DateTime('UTC'),\n"
		"  timestamp_ms UInt16,\n"
		"  event_id String,\n"
		"  dataset String,\n"
		"  message String,\n"
		"  source_ip String,\n"
		"  user_name String,\n"
		"  host_name String,\n"
		"  log_file String,\n"
		"  log_offset UInt64,\n"
		"  status UInt16,\n"
		"  level String,\n"
		"  severity UInt8,\n"
		"  rule_id String,\n"
		"  tags Array(String),\n"
		"  event String\n"
		") ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (timestamp, event_id)");
	/* no JSON type, no DateTime64: 18.16 knows every type used */
	CU_ASSERT(strstr(body, "DateTime64") == NULL && strstr(body, " JSON") == NULL);
	ls_sink_free(s);

	cfg.url = "clickhouse+http://h:8123/db.lo-gs";
	CU_ASSERT(strstr(open_fails(&cfg), "DB.TABLE") != NULL);
	cfg.url = "clickhouse+http://h:8123/";
	CU_ASSERT(strstr(open_fails(&cfg), "DB.TABLE") != NULL);
	cfg.url = "clickhouse+http://h:8123/a.b.c";
	open_fails(&cfg);
	cfg.url = "clickhouse+http://h:8123/db.t;DROP";
	open_fails(&cfg);
}

struct verdict_case {
	long status;
	const char *body;
	const char *retry_after;
	enum ls_sink_verdict want;
};

static void check_verdicts(struct ls_sink *s, const struct verdict_case *cases)
{
	for (const struct verdict_case *c = cases; c->body; c++) {
		struct ls_sink_result res;

		classify(s, c->status, c->body, c->retry_after, 3, NULL, &res);
		if (res.verdict != c->want)
			printf("\nstatus %ld body %.60s: verdict %d, want %d (%s)\n", c->status,
			       c->body, res.verdict, c->want, res.reason);
		CU_ASSERT(res.verdict == c->want);
	}
}

static void test_clickhouse_classify(void)
{
	static const struct verdict_case cases[] = {
		{ 200, "", NULL, LS_SINK_OK },
		/* 18.16: parse errors come as 500 */
		{ 500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected { "
		       "before: x: (at row 1)\n, e.what() = DB::Exception\n", NULL, LS_SINK_SPLIT },
		{ 500, "Code: 41, e.displayText() = DB::Exception: Cannot parse datetime: (at row 2)"
		       ", e.what() = DB::Exception\n", NULL, LS_SINK_SPLIT },
		{ 400, "Code: 27. DB::Exception: Cannot parse input: expected '{' before: 'x': (at "
		       "row 1)\n: While executing ParallelParsingBlockInputFormat. "
		       "(CANNOT_PARSE_INPUT_ASSERTION_FAILED) (version 23.8.1.1)\n", NULL,
		  LS_SINK_SPLIT },
		{ 400, "Code: 117. DB::Exception: Unknown field found while parsing JSONEachRow "
		       "format: x: (at row 1) (INCORRECT_DATA)", NULL, LS_SINK_SPLIT },
		{ 500, "Code: 60, e.displayText() = DB::Exception: Table db.logs doesn't exist., "
		       "e.what() = DB::Exception\n", NULL, LS_SINK_FAILING },
		{ 404, "Code: 60. DB::Exception: Table db.logs does not exist. (UNKNOWN_TABLE) "
		       "(version 24.3.1)\n", NULL, LS_SINK_FAILING },
		{ 500, "Code: 81, e.displayText() = DB::Exception: Database db doesn't exist", NULL,
		  LS_SINK_FAILING },
		{ 403, "Code: 516. DB::Exception: writer: Authentication failed: password is "
		       "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)",
		  NULL, LS_SINK_FAILING },
		{ 500, "Code: 241, e.displayText() = DB::Exception: Memory limit (for query) "
		       "exceeded: would use 9.32 GiB (attempt to allocate chunk of 4194304 bytes), "
		       "maximum: 9.31 GiB, e.what() = DB::Exception\n", NULL, LS_SINK_RETRY },
		{ 500, "Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are "
		       "processing significantly slower than inserts.", NULL, LS_SINK_RETRY },
		{ 503, "Code: 202. DB::Exception: Too many simultaneous queries. Maximum: 100. "
		       "(TOO_MANY_SIMULTANEOUS_QUERIES)", NULL, LS_SINK_PAUSE },
		{ 500, "Code: 9999. DB::Exception: something new", NULL, LS_SINK_RETRY },
		/* the exception came after the 200 had been sent */
		{ 200, "Code: 27, e.displayText() = DB::Exception: Cannot parse input", NULL,
		  LS_SINK_SPLIT },
		{ 200, "Ok.\n", NULL, LS_SINK_OK },
		{ 400, "Code: 9999. DB::Exception: something new", NULL, LS_SINK_FAILING },
		/* a proxy, not ClickHouse */
		{ 502, "<html><body>Bad Gateway</body></html>", NULL, LS_SINK_RETRY },
		{ 0, "Failed to connect to 127.0.0.1 port 8123: Connection refused", NULL,
		  LS_SINK_RETRY },
		{ 0, NULL, NULL, LS_SINK_OK }
	};
	struct ls_sink *s = open_url("clickhouse+http://127.0.0.1:8123/db.logs", "writer:s3cret");
	struct ls_sink_result res;

	check_verdicts(s, cases);
	classify(s, 500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input\n,"
			 " e.what() = DB::Exception\n", NULL, 3, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 500: Code: 27, e.displayText() = DB::Exception: "
					   "Cannot parse input\\n, e.what() = DB::Exception");
	CU_ASSERT(res.retry_after_ms == -1);
	classify(s, 0, "Connection refused", NULL, 3, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "transport error: Connection refused");
	/* the password never shows, even if a body repeats it */
	classify(s, 500, "Code: 193, e.displayText() = DB::Exception: Wrong password s3cret for "
			 "user writer", NULL, 3, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_FAILING);
	CU_ASSERT(strstr(res.reason, "s3cret") == NULL);
	CU_ASSERT(strstr(res.reason, "Wrong password *** for user writer") != NULL);
	ls_sink_free(s);
}

/* ---- Elasticsearch ---- */

static void test_es_encode(void)
{
	struct ls_sink *s = open_url("elasticsearch+http://es:9200/logs-%Y.%m.%d", "elastic:changeme");
	struct request r;

	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()),
			       "{\"create\":{\"_index\":\"logs-2023.11.14\",\"_id\":\"0123456789abcdef\"}}\n"
			       EV_JSON "\n");
	/* the index follows each event's own (UTC) time across midnight */
	fresh_event(1704067199999LL); /* 2023-12-31T23:59:59.999Z */
	CU_ASSERT_STRING_EQUAL(encode(s, &ev), "{\"create\":{\"_index\":\"logs-2023.12.31\"}}\n"
					       "{\"@timestamp\":\"2023-12-31T23:59:59.999Z\","
					       "\"message\":\"the raw line\"}\n");
	fresh_event(1704067200000LL);
	CU_ASSERT(starts_with(encode(s, &ev), "{\"create\":{\"_index\":\"logs-2024.01.01\"}}\n"));
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://es:9200/_bulk?filter_path=errors,items.*.status,"
				      "items.*.error.type,items.*.error.reason");
	CU_ASSERT(has_header(&r, "Content-Type: application/x-ndjson"));
	CU_ASSERT(has_header(&r, "Authorization: Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="));
	CU_ASSERT(s->ops->prefix == NULL);
	CU_ASSERT_STRING_EQUAL(s->ops->separator, "");
	ls_sink_free(s);

	s = open_url("elasticsearch+https://search.example/es/events-%H%%?pipeline=geoip", "QUJD");
	CU_ASSERT(starts_with(encode(s, sample_event()), "{\"create\":{\"_index\":\"events-22%\","));
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://search.example/es/_bulk?filter_path=errors,"
				      "items.*.status,items.*.error.type,items.*.error.reason"
				      "&pipeline=geoip");
	CU_ASSERT(has_header(&r, "Authorization: ApiKey QUJD"));
	ls_sink_free(s);
}

static void test_es_bad_index(void)
{
	static const char *const bad[] = {
		"elasticsearch+http://es:9200/Logs", "elasticsearch+http://es:9200/",
		"elasticsearch+http://es:9200", "elasticsearch+http://es:9200/logs-%Q",
		"elasticsearch+http://es:9200/_logs", "elasticsearch+http://es:9200/a%",
		"elasticsearch+http://es:9200/a*b", NULL
	};

	for (const char *const *u = bad; *u; u++) {
		struct ls_sink_config cfg = { .url = *u };

		open_fails(&cfg);
	}
}

static void test_es_classify(void)
{
	static const struct verdict_case cases[] = {
		/* "errors":false with items that do not answer for the 3 events
		 * sent: not delivered, sent again */
		{ 200, "{\"errors\":false}", NULL, LS_SINK_RETRY },
		{ 200, "{\"took\":3,\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]}",
		  NULL, LS_SINK_RETRY },
		{ 200, "{\"errors\":false,\"items\":[]}", NULL, LS_SINK_RETRY },
		{ 200, "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"create\":"
		       "{\"status\":201}},{\"create\":{\"status\":201}},{\"create\":{\"status\":201}}]}",
		  NULL, LS_SINK_RETRY },
		{ 200, "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"create\":"
		       "{\"status\":201}},{\"create\":{\"status\":409}}]}", NULL, LS_SINK_OK },
		{ 200, "{\"errors\":maybe,\"items\":[]}", NULL, LS_SINK_RETRY },
		/* a re-sent batch: conflicts are events already there */
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":409}},{\"create\":"
		       "{\"status\":201}},{\"create\":{\"status\":409,\"error\":{\"type\":"
		       "\"version_conflict_engine_exception\"}}}]}", NULL, LS_SINK_OK },
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":"
		       "{\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\"}}},"
		       "{\"create\":{\"status\":400}}]}", NULL, LS_SINK_PAUSE },
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":"
		       "{\"status\":500}},{\"create\":{\"status\":201}}]}", NULL, LS_SINK_RETRY },
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":400}},{\"create\":"
		       "{\"status\":400}},{\"create\":{\"status\":404}}]}", NULL, LS_SINK_BAD },
		/* cut short (the response is read up to 64 KiB): halves are sent */
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"sta",
		  NULL, LS_SINK_SPLIT },
		{ 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}}]}", NULL,
		  LS_SINK_SPLIT },
		/* unreadable: retried, nothing lost */
		{ 200, "<html>oops</html>", NULL, LS_SINK_RETRY },
		{ 200, "", NULL, LS_SINK_RETRY },
		{ 413, "", NULL, LS_SINK_SPLIT },
		{ 429, "{\"error\":\"too many requests\"}", "7", LS_SINK_PAUSE },
		{ 401, "{\"error\":{\"type\":\"security_exception\"}}", NULL, LS_SINK_FAILING },
		{ 0, NULL, NULL, LS_SINK_OK }
	};
	struct ls_sink *s = open_url("elasticsearch+http://es:9200/logs", "elastic:changeme");
	unsigned char bad[4] = { 9, 9, 9, 9 };
	struct ls_sink_result res;

	check_verdicts(s, cases);

	/* mixed: 201, 409 (delivered before), 400 (rejected), 201 */
	classify(s, 200, "{\"took\":5,\"errors\":true,\"items\":["
			 "{\"create\":{\"_index\":\"logs\",\"_id\":\"a\",\"status\":201}},"
			 "{\"create\":{\"_index\":\"logs\",\"_id\":\"b\",\"status\":409,\"error\":{"
			 "\"type\":\"version_conflict_engine_exception\",\"reason\":\"[b]: version "
			 "conflict\"}}},"
			 "{\"create\":{\"_index\":\"logs\",\"_id\":\"c\",\"status\":400,\"error\":{"
			 "\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to parse field "
			 "[source.ip] of type [ip]\"}}},"
			 "{\"create\":{\"_index\":\"logs\",\"_id\":\"d\",\"status\":201}}]}",
		 NULL, 4, bad, &res);
	CU_ASSERT(res.verdict == LS_SINK_PARTIAL);
	CU_ASSERT(res.nbad == 1);
	CU_ASSERT(bad[0] == 0 && bad[1] == 0 && bad[2] == 1 && bad[3] == 0);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 200: 1 of 4 items rejected; first: item 3 status "
					   "400 mapper_parsing_exception: failed to parse field "
					   "[source.ip] of type [ip]");
	/* without a bad[] array the caller gets halves instead */
	classify(s, 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},"
			 "{\"create\":{\"status\":400}}]}", NULL, 2, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_SPLIT);

	/* the reason names an item of the verdict's kind */
	classify(s, 200, "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},"
			 "{\"create\":{\"status\":400}},{\"create\":{\"status\":429,\"error\":"
			 "{\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue full\"}}}]}",
		 NULL, 3, bad, &res);
	CU_ASSERT(res.verdict == LS_SINK_PAUSE);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 200: 1 of 3 items were refused for now; first: "
					   "item 3 status 429 es_rejected_execution_exception: "
					   "queue full");
	classify(s, 200, "<html>oops</html>", NULL, 2, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 200: unreadable bulk response: <html>oops</html>");
	classify(s, 429, "", "7", 2, NULL, &res);
	CU_ASSERT(res.retry_after_ms == 7000);

	/* one item for 30 events, "errors":false: a clear reason, no event
	 * taken as delivered */
	classify(s, 200, "{\"took\":1,\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]}",
		 NULL, 30, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_RETRY);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 200: the bulk response says \"errors\":false but "
					   "lists 1 items for 30 events sent; retrying the batch");
	/* a list cut short (the answer is read up to 64 KiB): halves are sent */
	classify(s, 200, "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"cre",
		 NULL, 30, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_SPLIT);
	/* the right count: delivered */
	classify(s, 200, "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},"
			 "{\"create\":{\"status\":201}}]}", NULL, 2, bad, &res);
	CU_ASSERT(res.verdict == LS_SINK_OK && res.nbad == 0);
	ls_sink_free(s);
}

/* ---- Loki ---- */

static void test_loki(void)
{
	const char *labels[] = { "dataset=event.dataset", "host=host.hostname", "level=no.such.field" };
	struct ls_sink_config cfg = { .url = "loki+http://loki:3100", .labels = labels, .nlabels = 3 };
	struct ls_sink *s = open_cfg(&cfg);
	char *event = quote(EV_JSON), *want;
	struct request r;

	CU_ASSERT_STRING_EQUAL(s->ops->prefix(s), "{\"streams\":[");
	CU_ASSERT_STRING_EQUAL(s->ops->separator, ",");
	CU_ASSERT_STRING_EQUAL(s->ops->suffix, "]}");
	CU_ASSERT(asprintf(&want, "{\"stream\":{\"job\":\"logship\",\"dataset\":\"nginx.access\","
				  "\"host\":\"web1\"},\"values\":[[\"1700000000123000000\",%s]]}",
			   event) > 0);
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()), want);
	free(want);
	free(event);
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://loki:3100/loki/api/v1/push");
	CU_ASSERT(has_header(&r, "Content-Type: application/json"));
	CU_ASSERT(r.nhdrs == 1);
	ls_sink_free(s);

	/* job from a field, a path prefix kept, a bearer token */
	labels[0] = "job=event.dataset";
	cfg.nlabels = 1;
	cfg.url = "loki+https://logs.example/tenant1/?x=1";
	cfg.auth = "glc_token";
	s = open_cfg(&cfg);
	CU_ASSERT(starts_with(encode(s, sample_event()), "{\"stream\":{\"job\":\"nginx.access\"},"
						     "\"values\":[[\"1700000000123000000\",\"{"));
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://logs.example/tenant1/loki/api/v1/push?x=1");
	CU_ASSERT(has_header(&r, "Authorization: Bearer glc_token"));
	ls_sink_free(s);

	/* a missing job field falls back to logship; times before 1970 are 0 */
	fresh_event(-1);
	cfg.url = "loki+http://loki:3100/loki/api/v1/push";
	s = open_cfg(&cfg);
	CU_ASSERT(starts_with(encode(s, &ev), "{\"stream\":{\"job\":\"logship\"},\"values\":[[\"0\","));
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://loki:3100/loki/api/v1/push");
	ls_sink_free(s);

	/* a list field's items joined by "," */
	labels[0] = "cat=event.category";
	cfg.nlabels = 1;
	cfg.auth = NULL;
	fresh_event(0);
	ls_event_list_add(&ev, "event.category", "web");
	ls_event_list_add(&ev, "event.category", "auth\"n");
	s = open_cfg(&cfg);
	CU_ASSERT(starts_with(encode(s, &ev), "{\"stream\":{\"job\":\"logship\","
			      "\"cat\":\"web,auth\\\"n\"},\"values\":[[\"0\",\"{"));
	ls_sink_free(s);

	labels[0] = "bad-name=event.dataset";
	CU_ASSERT(strstr(open_fails(&cfg), "bad-name") != NULL);
	labels[0] = "nokey";
	open_fails(&cfg);
	labels[0] = "__name__=x";
	open_fails(&cfg);
	labels[0] = "a=x";
	labels[1] = "a=y";
	cfg.nlabels = 2;
	CU_ASSERT(strstr(open_fails(&cfg), "twice") != NULL);
}

static void test_loki_classify(void)
{
	static const struct verdict_case cases[] = {
		{ 204, "", NULL, LS_SINK_OK },
		{ 400, "entry with timestamp 2023-11-14 22:13:20 +0000 UTC ignored, reason: 'entry "
		       "out of order' for stream: {job=\"logship\"},\ntotal ignored: 1 out of 1",
		  NULL, LS_SINK_BAD },
		{ 400, "entry for stream '{job=\"logship\"}' has timestamp too old", NULL,
		  LS_SINK_BAD },
		{ 429, "Ingestion rate limit exceeded", "2", LS_SINK_PAUSE },
		{ 401, "no org id", NULL, LS_SINK_FAILING },
		{ 500, "rpc error", NULL, LS_SINK_RETRY },
		{ 0, NULL, NULL, LS_SINK_OK }
	};
	struct ls_sink *s = open_url("loki+http://loki:3100", NULL);

	check_verdicts(s, cases);
	ls_sink_free(s);
}

/* ---- Splunk HEC ---- */

static void test_splunk(void)
{
	struct ls_sink *s = open_url("splunk+https://splunk.example:8088", "11111111-2222-3333");
	struct request r;

	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()),
			       "{\"time\":1700000000.123,\"host\":\"web1\","
			       "\"source\":\"/var/log/nginx/access.log\",\"sourcetype\":\"nginx.access\","
			       "\"event\":" EV_JSON "}\n");
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://splunk.example:8088/services/collector/event");
	CU_ASSERT(has_header(&r, "Authorization: Splunk 11111111-2222-3333"));
	CU_ASSERT(has_header(&r, "Content-Type: application/json"));
	CU_ASSERT(s->ops->prefix == NULL);
	CU_ASSERT_STRING_EQUAL(s->ops->separator, "");
	CU_ASSERT_STRING_EQUAL(s->ops->suffix, "");

	/* nothing but a line: this host, the default sourcetype, no source */
	fresh_event(1700000000005LL);
	CU_ASSERT_STRING_EQUAL(encode(s, &ev),
			       "{\"time\":1700000000.005,\"host\":\"myhost\",\"sourcetype\":\"logship\","
			       "\"event\":{\"@timestamp\":\"2023-11-14T22:13:20.005Z\","
			       "\"message\":\"the raw line\"}}\n");
	ls_sink_free(s);

	s = open_url("splunk+http://127.0.0.1:8088/services/collector/event?channel=abc", "t");
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://127.0.0.1:8088/services/collector/event?channel=abc");
	ls_sink_free(s);
}

static void test_splunk_classify(void)
{
	static const struct verdict_case cases[] = {
		{ 200, "{\"text\":\"Success\",\"code\":0}", NULL, LS_SINK_OK },
		{ 400, "{\"text\":\"Invalid data format\",\"code\":6,\"invalid-event-number\":2}", NULL,
		  LS_SINK_BAD },
		{ 400, "{\"text\":\"Event field is required\",\"code\":12,\"invalid-event-number\":0}",
		  NULL, LS_SINK_BAD },
		{ 400, "{\"text\":\"Event field cannot be blank\",\"code\":13}", NULL, LS_SINK_BAD },
		{ 400, "{\"text\":\"Incorrect index\",\"code\":7,\"invalid-event-number\":1}", NULL,
		  LS_SINK_FAILING },
		{ 401, "{\"text\":\"Token is required\",\"code\":2}", NULL, LS_SINK_FAILING },
		{ 403, "{\"text\":\"Invalid token\",\"code\":4}", NULL, LS_SINK_FAILING },
		{ 403, "{\"text\":\"Token disabled\",\"code\":1}", NULL, LS_SINK_FAILING },
		{ 503, "{\"text\":\"Server is busy\",\"code\":9}", NULL, LS_SINK_PAUSE },
		{ 503, "{\"text\":\"HEC is unhealthy, queues are full\",\"code\":18}", NULL,
		  LS_SINK_PAUSE },
		{ 500, "{\"text\":\"Internal server error\",\"code\":8}", NULL, LS_SINK_RETRY },
		/* a proxy's page: the status decides */
		{ 502, "<html>bad gateway</html>", NULL, LS_SINK_RETRY },
		{ 200, "", NULL, LS_SINK_OK },
		{ 0, NULL, NULL, LS_SINK_OK }
	};
	struct ls_sink *s = open_url("splunk+http://127.0.0.1:8088", "11111111-2222-3333");
	struct ls_sink_result res;

	check_verdicts(s, cases);
	classify(s, 403, "{\"text\":\"Invalid token 11111111-2222-3333\",\"code\":4}", NULL, 1, NULL,
		 &res);
	CU_ASSERT(strstr(res.reason, "11111111") == NULL);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 403: {\"text\":\"Invalid token ***\",\"code\":4}");
	ls_sink_free(s);
}

/* ---- OTLP ---- */

static void test_otlp(void)
{
	struct ls_sink_config cfg = { .url = "otlp+http://otel:4318", .host = "web\"1",
				      .now_ms = 1700000100000LL };
	struct ls_sink *s = open_cfg(&cfg);
	struct request r;

	CU_ASSERT_STRING_EQUAL(s->ops->prefix(s),
			       "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"host.name\","
			       "\"value\":{\"stringValue\":\"web\\\"1\"}}]},\"scopeLogs\":[{\"scope\":"
			       "{\"name\":\"logship\"},\"logRecords\":[");
	CU_ASSERT_STRING_EQUAL(s->ops->separator, ",");
	CU_ASSERT_STRING_EQUAL(s->ops->suffix, "]}]}]}");
	CU_ASSERT_STRING_EQUAL(encode(s, sample_event()),
		"{\"timeUnixNano\":\"1700000000123000000\","
		"\"observedTimeUnixNano\":\"1700000100000000000\","
		"\"severityNumber\":13,\"severityText\":\"warn\","
		"\"body\":{\"stringValue\":" EV_MSG_JSON "},\"attributes\":["
		"{\"key\":\"event.id\",\"value\":{\"stringValue\":\"0123456789abcdef\"}},"
		"{\"key\":\"event.dataset\",\"value\":{\"stringValue\":\"nginx.access\"}},"
		"{\"key\":\"source.ip\",\"value\":{\"stringValue\":\"203.0.113.9\"}},"
		"{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"404\"}},"
		"{\"key\":\"log.file.path\",\"value\":{\"stringValue\":\"/var/log/nginx/access.log\"}},"
		"{\"key\":\"log.level\",\"value\":{\"stringValue\":\"warn\"}},"
		"{\"key\":\"user.name\",\"value\":{\"stringValue\":\"alice\"}},"
		"{\"key\":\"host.hostname\",\"value\":{\"stringValue\":\"web1\"}},"
		"{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"security\"},"
		"{\"stringValue\":\"web_scan\"}]}}}]}");
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "http://otel:4318/v1/logs");
	CU_ASSERT(has_header(&r, "Content-Type: application/json"));
	ls_sink_free(s);

	/* value kinds; no level, no tags, the raw line as body */
	fresh_event(1000);
	ls_event_list_add(&ev, "event.category", "web");
	ls_event_list_add(&ev, "event.category", "authentication");
	ls_event_set_str(&ev, "x.ratio", "1.5");
	ev.fields[ev.nfields - 1].type = LS_F_FLOAT;
	ls_event_set(&ev, "x.flag", "true", 4, LS_F_RAW);
	ls_event_set(&ev, "x.count", "12x", 3, LS_F_INT);
	cfg.url = "otlp+https://ingest.example/otlp/v1/logs";
	cfg.host = NULL;
	cfg.auth = "key";
	s = open_cfg(&cfg);
	CU_ASSERT_STRING_EQUAL(s->ops->prefix(s),
			       "{\"resourceLogs\":[{\"resource\":{\"attributes\":[]},\"scopeLogs\":"
			       "[{\"scope\":{\"name\":\"logship\"},\"logRecords\":[");
	CU_ASSERT_STRING_EQUAL(encode(s, &ev),
		"{\"timeUnixNano\":\"1000000000\",\"observedTimeUnixNano\":\"1700000100000000000\","
		"\"body\":{\"stringValue\":\"the raw line\"},\"attributes\":["
		"{\"key\":\"event.category\",\"value\":{\"arrayValue\":{\"values\":["
		"{\"stringValue\":\"web\"},{\"stringValue\":\"authentication\"}]}}},"
		"{\"key\":\"x.ratio\",\"value\":{\"doubleValue\":1.5}},"
		"{\"key\":\"x.flag\",\"value\":{\"boolValue\":true}},"
		"{\"key\":\"x.count\",\"value\":{\"stringValue\":\"12x\"}}]}");
	get_request(s, &r);
	CU_ASSERT_STRING_EQUAL(r.url, "https://ingest.example/otlp/v1/logs");
	CU_ASSERT(has_header(&r, "Authorization: Bearer key"));
	ls_sink_free(s);
}

static void test_otlp_severity(void)
{
	static const struct {
		const char *level;
		int number; /* 0: none written */
	} cases[] = {
		{ "trace", 1 }, { "DEBUG", 5 }, { "info", 9 }, { "Informational", 9 },
		{ "notice", 10 }, { "WARNING", 13 }, { "warn", 13 }, { "err", 17 },
		{ "error", 17 }, { "crit", 18 }, { "critical", 18 }, { "alert", 19 },
		{ "emerg", 21 }, { "fatal", 21 }, { "3", 17 }, { "7", 5 }, { "E", 17 },
		{ "fine", 6 }, { "bogus", 0 }, { NULL, 0 }
	};
	struct ls_sink_config cfg = { .url = "otlp+http://otel:4318", .now_ms = 1 };
	struct ls_sink *s = open_cfg(&cfg);

	for (int i = 0; cases[i].level; i++) {
		char want[128];

		fresh_event(0);
		ls_event_set_str(&ev, "log.level", cases[i].level);
		if (cases[i].number)
			snprintf(want, sizeof(want), "\"observedTimeUnixNano\":\"1000000\","
				 "\"severityNumber\":%d,\"severityText\":\"%s\",", cases[i].number,
				 cases[i].level);
		else
			snprintf(want, sizeof(want), "\"observedTimeUnixNano\":\"1000000\","
				 "\"severityText\":\"%s\",", cases[i].level);
		encode(s, &ev);
		if (!strstr(out.data, want))
			printf("\nlevel %s: %s\n", cases[i].level, out.data);
		CU_ASSERT(strstr(out.data, want) != NULL);
	}
	ls_sink_free(s);
}

static void test_otlp_classify(void)
{
	static const struct verdict_case cases[] = {
		{ 200, "{}", NULL, LS_SINK_OK },
		{ 200, "{\"partialSuccess\":{}}", NULL, LS_SINK_OK },
		{ 400, "{\"code\":3,\"message\":\"invalid\"}", NULL, LS_SINK_BAD },
		{ 429, "", "3", LS_SINK_PAUSE },
		{ 502, "", NULL, LS_SINK_RETRY },
		{ 503, "", NULL, LS_SINK_PAUSE },
		{ 504, "", NULL, LS_SINK_RETRY },
		{ 0, NULL, NULL, LS_SINK_OK }
	};
	struct ls_sink *s = open_url("otlp+http://otel:4318", NULL);
	struct ls_sink_result res;

	check_verdicts(s, cases);
	classify(s, 200, "{\"partialSuccess\":{\"rejectedLogRecords\":\"2\",\"errorMessage\":"
			 "\"timestamp too old\"}}", NULL, 5, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_OK);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 200: the receiver dropped 2 of 5 records: "
					   "timestamp too old");
	classify(s, 429, "", "3", 5, NULL, &res);
	CU_ASSERT(res.retry_after_ms == 3000);
	ls_sink_free(s);
}

/* ---- statuses, reasons, Retry-After ---- */

static void test_status_table(void)
{
	static const struct {
		long status;
		enum ls_sink_verdict want;
	} cases[] = {
		{ 200, LS_SINK_OK }, { 201, LS_SINK_OK }, { 204, LS_SINK_OK },
		{ 400, LS_SINK_BAD }, { 401, LS_SINK_FAILING }, { 403, LS_SINK_FAILING },
		{ 404, LS_SINK_FAILING }, { 405, LS_SINK_FAILING }, { 408, LS_SINK_RETRY },
		{ 413, LS_SINK_SPLIT }, { 422, LS_SINK_BAD }, { 429, LS_SINK_PAUSE },
		{ 500, LS_SINK_RETRY }, { 502, LS_SINK_RETRY }, { 503, LS_SINK_PAUSE },
		{ 504, LS_SINK_RETRY }, { 301, LS_SINK_FAILING }, { 0, LS_SINK_RETRY },
		{ -1, LS_SINK_OK }
	};
	struct ls_sink_result res;

	for (int i = 0; cases[i].status >= 0; i++) {
		memset(&res, 0, sizeof(res));
		ls_sink_classify_status(cases[i].status, "", 0, NULL, &res);
		if (res.verdict != cases[i].want)
			printf("\nstatus %ld: verdict %d\n", cases[i].status, res.verdict);
		CU_ASSERT(res.verdict == cases[i].want);
		CU_ASSERT(res.retry_after_ms == -1);
		CU_ASSERT(res.nbad == 0);
	}
	ls_sink_classify_status(404, " not found\n", 11, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 404: not found");
	ls_sink_classify_status(503, NULL, 0, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 503");
	ls_sink_classify_status(503, " \r\n", 3, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 503");
	ls_sink_classify_status(503, "", 0, "120", &res);
	CU_ASSERT(res.verdict == LS_SINK_PAUSE && res.retry_after_ms == 120000);
	/* 0 and a date already past are no pause at all: as no Retry-After,
	 * so the backoff decides (a sink saying "0" forever is not hammered) */
	ls_sink_classify_status(503, "", 0, "0", &res);
	CU_ASSERT(res.verdict == LS_SINK_PAUSE && res.retry_after_ms == -1);
	ls_sink_classify_status(429, "", 0, " 0 ", &res);
	CU_ASSERT(res.verdict == LS_SINK_PAUSE && res.retry_after_ms == -1);
	ls_sink_classify_status(503, "", 0, "Sun, 06 Nov 1994 08:49:37 GMT", &res);
	CU_ASSERT(res.verdict == LS_SINK_PAUSE && res.retry_after_ms == -1);
	ls_sink_classify_status(503, "", 0, "Sun Nov  6 08:49:37 1994", &res);
	CU_ASSERT(res.retry_after_ms == -1);
	ls_sink_classify_status(503, "", 0, "1", &res);
	CU_ASSERT(res.retry_after_ms == 1000);
	ls_sink_classify_status(0, "Could not resolve host: nowhere", 31, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "transport error: Could not resolve host: nowhere");
}

/* The pause after a 429/503: the backoff's delay for the attempt, or the
 * Retry-After when that is longer; never shorter than the delay. */
static void test_backoff_pause(void)
{
	struct ls_backoff a, b;

	ls_backoff_init(&a, 250, 30000, 42);
	ls_backoff_init(&b, 250, 30000, 42);
	for (unsigned attempt = 0; attempt < 40; attempt++) {
		int64_t ceiling = attempt >= 7 ? 30000 : 250LL << attempt;
		int64_t delay = ls_backoff_delay_ms(&a, attempt);
		int64_t pause = ls_backoff_pause_ms(&b, attempt, attempt % 2 ? 0 : -1);

		/* the same random draw: Retry-After 0 or none gives the delay */
		CU_ASSERT(pause == delay);
		CU_ASSERT(delay >= 0 && delay <= ceiling);
	}
	for (unsigned attempt = 0; attempt < 40; attempt++) {
		int64_t delay = ls_backoff_delay_ms(&a, attempt);
		int64_t pause = ls_backoff_pause_ms(&b, attempt, 1000);

		/* a short Retry-After does not cut the delay down */
		CU_ASSERT(pause == (delay > 1000 ? delay : 1000));
	}
	/* a long one lengthens it, beyond the cap */
	CU_ASSERT(ls_backoff_pause_ms(&b, 3, 120000) == 120000);
	ls_backoff_delay_ms(&a, 3);
	/* full jitter spreads the delays: not all the same, not all 0 */
	{
		int64_t first = ls_backoff_delay_ms(&a, 10), differ = 0, nonzero = 0;

		for (int i = 0; i < 100; i++) {
			int64_t d = ls_backoff_delay_ms(&a, 10);
			differ += d != first;
			nonzero += d > 0;
		}
		CU_ASSERT(differ > 50 && nonzero > 90);
	}
}

static void test_reason_text(void)
{
	struct ls_sink_result res;
	char body[1000];

	/* control bytes and invalid UTF-8 escaped, valid UTF-8 kept */
	ls_sink_classify_status(400, "a\x01" "b\tc\xff" "d \xc3\xa9\n", 11, NULL, &res);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 400: a\\x01b\\tc\\xFFd \xc3\xa9");
	/* a long body is cut, and says so */
	memset(body, 'x', sizeof(body));
	ls_sink_classify_status(500, body, sizeof(body), NULL, &res);
	CU_ASSERT(strlen(res.reason) < sizeof(res.reason));
	CU_ASSERT(strlen(res.reason) > 200);
	CU_ASSERT(strcmp(res.reason + strlen(res.reason) - 3, "...") == 0);
	/* never a UTF-8 sequence cut in two */
	for (int i = 0; i + 1 < (int)sizeof(body); i += 2) {
		body[i] = (char)0xc3;
		body[i + 1] = (char)0xa9;
	}
	ls_sink_classify_status(500, body, sizeof(body), NULL, &res);
	CU_ASSERT(ls_utf8_valid(res.reason, strlen(res.reason)));
}

static void test_secrets_not_in_reasons(void)
{
	struct ls_sink *s = open_url("http://h/x", "user:pa55word");
	struct ls_sink_result res;

	classify(s, 401, "bad credentials for user:pa55word (dXNlcjpwYTU1d29yZA==), pa55word",
		 NULL, 1, NULL, &res);
	CU_ASSERT(res.verdict == LS_SINK_FAILING);
	CU_ASSERT(strstr(res.reason, "pa55word") == NULL);
	CU_ASSERT(strstr(res.reason, "dXNlcjpwYTU1d29yZA==") == NULL);
	CU_ASSERT_STRING_EQUAL(res.reason, "HTTP 401: bad credentials for user:*** (***), ***");
	ls_sink_free(s);

	s = open_url("http://h/x", "Zm9vYmFy-token");
	classify(s, 0, "proxy said Bearer Zm9vYmFy-token", NULL, 1, NULL, &res);
	CU_ASSERT(strstr(res.reason, "Zm9vYmFy-token") == NULL);
	ls_sink_free(s);
}

static void test_retry_after(void)
{
	const int64_t date_ms = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
	const int64_t now_2023 = 1700000000000LL;
	static const struct {
		const char *value;
		int64_t now;
		int64_t want;
	} cases[] = {
		{ "120", 0, 120000 },
		{ " 5 ", 0, 5000 },
		{ "0", 0, 0 },
		{ "99999999999999999999", 0, 1000000000000000LL },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111767000LL, 10000 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", 784111767000LL, 10000 },
		{ "Sun Nov  6 08:49:37 1994", 784111767000LL, 10000 },
		{ "Sun Nov 16 08:49:37 1994", 784111777000LL, 864000000 },
		/* in the past: now */
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 784111787000LL, 0 },
		/* RFC 850 years: more than 50 years ahead means the past */
		{ "Friday, 01-Jan-49 00:00:00 GMT", now_2023, 2493072000000LL - now_2023 },
		{ "Monday, 01-Jan-80 00:00:00 GMT", now_2023, 0 },
		/* garbage */
		{ "soon", 0, -1 },
		{ "", 0, -1 },
		{ "-5", 0, -1 },
		{ "12abc", 0, -1 },
		{ "1.5", 0, -1 },
		{ "Sun, 31 Feb 1994 08:49:37 GMT", 0, -1 },
		{ "Sun, 06 Nov 1994 25:49:37 GMT", 0, -1 },
		{ "Sun, 06 Nov 1994 08:49:37 CET", 0, -1 },
		{ "Sun, 06 Foo 1994 08:49:37 GMT", 0, -1 },
		{ "Sun, 6 Nov 1994 08:49:37 GMT", 0, -1 },
		{ "Sunday, 06 Nov 1994 08:49:37 GMT", 0, -1 },
		{ "Sun Nov  6 08:49:37", 0, -1 },
		{ NULL, 0, 0 }
	};

	for (int i = 0; cases[i].value; i++) {
		int64_t got = ls_sink_retry_after_ms(cases[i].value, cases[i].now);

		if (got != cases[i].want)
			printf("\nRetry-After \"%s\": %lld\n", cases[i].value, (long long)got);
		CU_ASSERT(got == cases[i].want);
	}
	CU_ASSERT(ls_sink_retry_after_ms(NULL, date_ms) == -1);
	CU_ASSERT(ls_sink_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", date_ms - 2500) == 2500);
}

static void test_cleanup(void)
{
	ls_buf_release(&out);
	ls_event_release(&ev);
}

static const struct ls_test_case cases[] = {
	{ "unknown scheme lists the known ones", test_unknown_scheme },
	{ "URL checks: credentials, host, blanks", test_url_checks },
	{ "file sink and stdout", test_file_sink },
	{ "file sink: a body whole or not at all", test_file_append },
	{ "http sink: NDJSON, headers, auth", test_http_sink },
	{ "header checks", test_header_checks },
	{ "a full buffer is left as it was", test_encode_full_buffer },
	{ "clickhouse rows and URL", test_clickhouse_row },
	{ "clickhouse create table", test_clickhouse_setup },
	{ "clickhouse exception codes", test_clickhouse_classify },
	{ "elasticsearch bulk items", test_es_encode },
	{ "elasticsearch index checks", test_es_bad_index },
	{ "elasticsearch bulk responses", test_es_classify },
	{ "loki streams and labels", test_loki },
	{ "loki responses", test_loki_classify },
	{ "splunk HEC envelopes", test_splunk },
	{ "splunk HEC codes", test_splunk_classify },
	{ "otlp records", test_otlp },
	{ "otlp severity mapping", test_otlp_severity },
	{ "otlp responses", test_otlp_classify },
	{ "status table", test_status_table },
	{ "reason text", test_reason_text },
	{ "secrets never in reasons", test_secrets_not_in_reasons },
	{ "Retry-After forms", test_retry_after },
	{ "backoff pause and Retry-After", test_backoff_pause },
	{ "cleanup", test_cleanup },
	{ NULL, NULL }
};

LS_TEST_SUITE(sink, cases)

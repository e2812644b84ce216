/* sink_clickhouse.c - the ClickHouse sink:
 * clickhouse+http(s)://host:port/DB.TABLE (or /TABLE for the user's default
 * database), over the HTTP interface, one flat JSONEachRow row per event.
 * Works with ClickHouse 18.16 (Debian 12: no DateTime64, no JSON type) and
 * with current releases.
 *
 * Request: POST http(s)://host:port/?query=INSERT%20INTO%20DB.TABLE%20FORMAT
 * %20JSONEachRow&input_format_skip_unknown_fields=1
 * &date_time_input_format=best_effort, followed by the URL's own query
 * parameters if it has any (ClickHouse settings such as async_insert=1).
 * Secret "user:password" is sent as X-ClickHouse-User / X-ClickHouse-Key
 * (supported since 2016); a secret without ':' is the password of user
 * "default". Bodies may be gzip-compressed (ClickHouse reads a request body
 * with Content-Encoding: gzip in every version concerned).
 *
 * The table (--create-table sends this once, to http(s)://host:port/):
 *
 *   CREATE TABLE IF NOT EXISTS DB.TABLE (
 *     timestamp DateTime('UTC'),   -- @timestamp, whole seconds
 *     timestamp_ms UInt16,         -- its milliseconds (0-999)
 *     event_id String,             -- event.id
 *     dataset String,              -- event.dataset
 *     message String,              -- message (else the raw line)
 *     source_ip String,            -- source.ip
 *     user_name String,            -- user.name
 *     host_name String,            -- host.hostname, else host.name
 *     log_file String,             -- log.file.path
 *     log_offset UInt64,           -- log.offset, else the line's offset
 *     status UInt16,               -- http.response.status_code, 0 if none
 *     level String,                -- log.level
 *     severity UInt8,              -- event.severity (1-5), 0 if none
 *     rule_id String,              -- rule.id
 *     tags Array(String),          -- tags
 *     event String                 -- the whole event as logship's JSON line
 *   ) ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp)
 *     ORDER BY (timestamp, event_id)
 *
 * Each row carries every column, in that order; missing text fields are ""
 * (ClickHouse's default), missing numbers 0. The timestamp is written as
 * "YYYY-MM-DD hh:mm:ss" in UTC; the column is DateTime('UTC') (time zones
 * on DateTime exist since 1.1.54337) so the server's own zone does not
 * shift it; times outside DateTime's range are clamped to 1970-01-01
 * 00:00:00 and 2105-12-31 23:59:59. Text is JSON-escaped; a byte that is
 * not UTF-8 becomes the text \xHH, as in logship's JSON output. The event
 * column holds the line logship prints for the event (without its newline):
 * query any other field with visitParamExtractString(event, 'name') (all
 * versions, top-level keys) or JSONExtractString(event, 'http',
 * 'request', 'method') (releases since 2019). A table created by hand may
 * leave columns out (unknown fields are skipped) or add some with
 * defaults.
 *
 * Responses: 200 is success. Errors come as "Code: N, e.displayText() =
 * DB::Exception: ..." (18.x) or "Code: N. DB::Exception: ... (NAME)"
 * (newer) with status 500 (18.x) or 400/404/5xx (newer); the code decides,
 * the status only where the code is unknown:
 *   - data that does not parse (CANNOT_PARSE_*, TYPE_MISMATCH,
 *     INCORRECT_DATA, ...): SPLIT; ClickHouse rejects the whole insert
 *     without naming the row, so halves are sent until the bad row is
 *     alone;
 *   - unknown table/database/column, authentication, access, read-only
 *     user, syntax, unknown setting: FAILING (fix the configuration);
 *   - memory, too many parts, timeouts, network, too many queries, replica
 *     trouble: RETRY (PAUSE when the status is 429 or 503);
 *   - an unknown code: RETRY with a 5xx, FAILING otherwise;
 *   - no code at all (a proxy answered): the status decides. */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_MAX ((size_t)64 << 20)

struct clickhouse_sink {
	struct ls_sink base;
	struct ls_sink_req req;
	char *table;        /* "DB.TABLE" or "TABLE" */
	char *setup_url;    /* http(s)://host:port/[?query] */
	char *create_sql;   /* NULL without --create-table */
	struct ls_buf scratch;
};

#define CH_COLUMNS                                   \
	"  timestamp DateTime('UTC'),\n"             \
	"  timestamp_ms UInt16,\n"                   \
	"  event_id String,\n"                       \
	"  dataset String,\n"                        \
	"  message String,\n"                        \
	"  source_ip String,\n"                      \
	"  user_name String,\n"                      \
	"  host_name String,\n"                      \
	"  log_file String,\n"                       \
	"  log_offset UInt64,\n"                     \
	"  status UInt16,\n"                         \
	"  level String,\n"                          \
	"  severity UInt8,\n"                        \
	"  rule_id String,\n"                        \
	"  tags Array(String),\n"                    \
	"  event String\n"

#define CH_ENGINE \
	"ENGINE = MergeTree() PARTITION BY toYYYYMM(timestamp) ORDER BY (timestamp, event_id)"

/* 2105-12-31 23:59:59 UTC: the last second every version's DateTime holds. */
#define CH_MAX_SECONDS 4291747199LL

static void clickhouse_free(struct ls_sink *base)
{
	struct clickhouse_sink *s = (struct clickhouse_sink *)base;

	ls_sink_req_release(&s->req);
	free(s->table);
	free(s->setup_url);
	free(s->create_sql);
	ls_buf_release(&s->scratch);
	free(s);
}

/* An unquoted ClickHouse identifier: [A-Za-z_][A-Za-z0-9_]*. */
static int identifier_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* The table from the URL path "/DB.TABLE" or "/TABLE" (one trailing '/'
 * allowed). */
static int parse_table(struct clickhouse_sink *s, const char *path, struct ls_error *err)
{
	size_t n;
	const char *dot;

	if (*path == '/')
		path++;
	n = strlen(path);
	if (n > 0 && path[n - 1] == '/')
		n--;
	dot = memchr(path, '.', n);
	if (n == 0)
		return ls_error_set(err, LS_EINVAL,
				    "clickhouse sink: the URL needs the table: "
				    "clickhouse+http://host:8123/DB.TABLE");
	if (n > 200 || (dot ? !identifier_ok(path, (size_t)(dot - path)) ||
			      !identifier_ok(dot + 1, n - (size_t)(dot - path) - 1) :
			      !identifier_ok(path, n)))
		return ls_error_set(err, LS_EINVAL,
				    "clickhouse sink: \"%.*s\" is not DB.TABLE (letters, digits "
				    "and _ only)", (int)(n > 200 ? 200 : n), path);
	if (!(s->table = strndup(path, n)))
		return ls_error_set(err, LS_ENOMEM, "clickhouse sink: out of memory");
	return 0;
}

static int build_urls(struct clickhouse_sink *s, const struct ls_sink_url *u)
{
	struct ls_buf b;
	char *insert = NULL;
	int rc = LS_ENOMEM;

	ls_buf_init(&b, 0);
	if (asprintf(&insert, "INSERT INTO %s FORMAT JSONEachRow", s->table) < 0) {
		insert = NULL;
		goto out;
	}
	if (ls_buf_puts(&b, u->origin) < 0 || ls_buf_puts(&b, "/?query=") < 0 ||
	    ls_sink_urlencode(&b, insert) < 0 ||
	    ls_buf_puts(&b, "&input_format_skip_unknown_fields=1"
			    "&date_time_input_format=best_effort") < 0 ||
	    (*u->query && ls_buf_printf(&b, "&%s", u->query) < 0))
		goto out;
	s->req.url = b.data;
	ls_buf_init(&b, 0);
	if (ls_buf_puts(&b, u->origin) < 0 || ls_buf_putc(&b, '/') < 0 ||
	    (*u->query && ls_buf_printf(&b, "?%s", u->query) < 0))
		goto out;
	s->setup_url = b.data;
	ls_buf_init(&b, 0);
	rc = 0;
out:
	ls_buf_release(&b);
	free(insert);
	return rc;
}

/* X-ClickHouse-User / X-ClickHouse-Key from "user:password" (a secret
 * without ':' is the password of "default"). */
static int set_auth(struct clickhouse_sink *s, const char *auth, struct ls_error *err)
{
	const char *colon;
	long n;
	int rc;

	if (!auth)
		return 0;
	if ((n = ls_sink_auth_len(auth)) < 0)
		return ls_error_set(err, LS_EINVAL,
				    "clickhouse sink: the secret holds a line break or a control byte");
	if (n == 0)
		return 0;
	colon = memchr(auth, ':', (size_t)n);
	if (colon) {
		rc = ls_sink_req_header(&s->req, "X-ClickHouse-User", "%.*s",
					(int)(colon - auth), auth);
		if (rc == 0)
			rc = ls_sink_req_header(&s->req, "X-ClickHouse-Key", "%.*s",
						(int)(auth + n - colon - 1), colon + 1);
		if (rc == 0)
			rc = ls_sink_req_secret(&s->req, colon + 1, (size_t)(auth + n - colon - 1));
	} else {
		rc = ls_sink_req_header(&s->req, "X-ClickHouse-User", "default");
		if (rc == 0)
			rc = ls_sink_req_header(&s->req, "X-ClickHouse-Key", "%.*s", (int)n, auth);
		if (rc == 0)
			rc = ls_sink_req_secret(&s->req, auth, (size_t)n);
	}
	if (rc < 0)
		return ls_error_set(err, rc, "clickhouse sink: cannot set up authorization");
	return 0;
}

static int clickhouse_open(struct ls_sink **out, const struct ls_sink_config *cfg,
			   struct ls_error *err)
{
	struct clickhouse_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "clickhouse sink: out of memory");
	s->base.ops = &ls_sink_clickhouse_ops;
	ls_buf_init(&s->scratch, SCRATCH_MAX);
	if ((rc = ls_sink_url_parse(&u, cfg->url, "clickhouse sink", err)) < 0 ||
	    (rc = parse_table(s, u.path, err)) < 0)
		goto out;
	if (cfg->create_table &&
	    asprintf(&s->create_sql, "CREATE TABLE IF NOT EXISTS %s (\n" CH_COLUMNS ") " CH_ENGINE,
		     s->table) < 0)
		s->create_sql = NULL;
	if (build_urls(s, &u) < 0 || (cfg->create_table && !s->create_sql) ||
	    ls_sink_req_header(&s->req, "Content-Type", "application/x-ndjson") < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "clickhouse sink: out of memory");
		goto out;
	}
	if ((rc = set_auth(s, cfg->auth, err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "clickhouse sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		clickhouse_free(&s->base);
	return rc;
}

/* ---- rows ---- */

/* Writes ,"key":"text" from field name (else ""). */
static int put_text(struct ls_buf *out, const char *key, const struct ls_event *ev,
		    const char *name, const char *alt)
{
	const struct ls_field *f;

	if (ls_sink_put_key(out, key) < 0)
		return LS_ENOMEM;
	if (ls_sink_field(ev, name, &f) || (alt && ls_sink_field(ev, alt, &f)))
		return ls_sink_field_string(out, f);
	return ls_buf_append(out, "\"\"", 2);
}

/* The field's text as a non-negative integer, or -1. */
static long long field_uint(const struct ls_event *ev, const char *name)
{
	const struct ls_field *f;
	long long v = 0;

	if (!ls_sink_field(ev, name, &f) || f->len > 19)
		return -1;
	for (uint32_t i = 0; i < f->len; i++) {
		if (f->val[i] < '0' || f->val[i] > '9')
			return -1;
		v = v * 10 + (f->val[i] - '0');
	}
	return v;
}

/* Writes v (0-99) as two digits. */
static void put_2(char *at, int v)
{
	at[0] = (char)('0' + v / 10);
	at[1] = (char)('0' + v % 10);
}

static int put_row(struct clickhouse_sink *s, struct ls_buf *out, const struct ls_event *ev)
{
	int64_t secs = ev->ts_ms >= 0 ? ev->ts_ms / 1000 : -((-ev->ts_ms + 999) / 1000);
	int ms = (int)(ev->ts_ms - secs * 1000);
	long long offset = field_uint(ev, "log.offset"), status = field_uint(ev,
		"http.response.status_code"), severity = ev->severity;
	const struct ls_field *msg;
	char stamp[20] = "0000-00-00 00:00:00";
	struct tm tm;

	if (secs < 0) {
		secs = 0;
		ms = 0;
	} else if (secs > CH_MAX_SECONDS) {
		secs = CH_MAX_SECONDS;
		ms = 999;
	}
	ls_sink_utc(secs * 1000, &tm);
	if (offset < 0)
		offset = (long long)ev->offset;
	if (status < 0 || status > 65535)
		status = 0;
	if (severity <= 0 && (severity = field_uint(ev, "event.severity")) < 0)
		severity = 0;
	if (severity > 255)
		severity = 255;
	put_2(stamp + 0, (tm.tm_year + 1900) / 100);
	put_2(stamp + 2, (tm.tm_year + 1900) % 100);
	put_2(stamp + 5, tm.tm_mon + 1);
	put_2(stamp + 8, tm.tm_mday);
	put_2(stamp + 11, tm.tm_hour);
	put_2(stamp + 14, tm.tm_min);
	put_2(stamp + 17, tm.tm_sec);
	if (ls_buf_puts(out, "{\"timestamp\":\"") < 0 || ls_buf_append(out, stamp, 19) < 0 ||
	    ls_buf_append(out, "\",\"timestamp_ms\":", 17) < 0 ||
	    ls_sink_put_uint(out, (uint64_t)ms) < 0 ||
	    put_text(out, "event_id", ev, "event.id", NULL) < 0 ||
	    put_text(out, "dataset", ev, "event.dataset", NULL) < 0 ||
	    ls_buf_puts(out, ",\"message\":") < 0)
		return LS_ENOMEM;
	msg = ls_event_get(ev, "message");
	if ((msg ? ls_sink_field_string(out, msg) :
	     ls_json_string(out, ev->line ? ev->line : "", ev->line ? ev->line_len : 0, NULL)) < 0 ||
	    put_text(out, "source_ip", ev, "source.ip", NULL) < 0 ||
	    put_text(out, "user_name", ev, "user.name", NULL) < 0 ||
	    put_text(out, "host_name", ev, "host.hostname", "host.name") < 0 ||
	    put_text(out, "log_file", ev, "log.file.path", NULL) < 0 ||
	    ls_sink_put_key(out, "log_offset") < 0 || ls_sink_put_uint(out, (uint64_t)offset) < 0 ||
	    ls_sink_put_key(out, "status") < 0 || ls_sink_put_uint(out, (uint64_t)status) < 0 ||
	    put_text(out, "level", ev, "log.level", NULL) < 0 ||
	    ls_sink_put_key(out, "severity") < 0 || ls_sink_put_uint(out, (uint64_t)severity) < 0 ||
	    put_text(out, "rule_id", ev, "rule.id", NULL) < 0 ||
	    ls_buf_puts(out, ",\"tags\":[") < 0)
		return LS_ENOMEM;
	for (int i = 0; i < ev->ntags; i++)
		if ((i > 0 && ls_buf_putc(out, ',') < 0) ||
		    ls_json_string(out, ev->tags[i], strlen(ev->tags[i]), NULL) < 0)
			return LS_ENOMEM;
	if (ls_buf_puts(out, "],\"event\":") < 0 ||
	    ls_sink_event_as_string(out, &s->scratch, ev) < 0 || ls_buf_append(out, "}\n", 2) < 0)
		return LS_ENOMEM;
	return 0;
}

static int clickhouse_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	size_t start = out->len;

	if (put_row((struct clickhouse_sink *)base, out, ev) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

static int clickhouse_request(struct ls_sink *base, const char **url, const char **hdrs,
			      int *nhdrs)
{
	return ls_sink_req_request(&((struct clickhouse_sink *)base)->req, url, hdrs, nhdrs);
}

static int clickhouse_setup(struct ls_sink *base, const char **url, const char **body,
			    size_t *len)
{
	struct clickhouse_sink *s = (struct clickhouse_sink *)base;

	if (!s->create_sql)
		return 0;
	*url = s->setup_url;
	*body = s->create_sql;
	*len = strlen(s->create_sql);
	return 1;
}

/* ---- responses ---- */

/* Exception codes (ClickHouse's src/Common/ErrorCodes.cpp). */
static const int split_codes[] = {
	6,   /* CANNOT_PARSE_TEXT */
	25,  /* CANNOT_PARSE_ESCAPE_SEQUENCE */
	26,  /* CANNOT_PARSE_QUOTED_STRING */
	27,  /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
	32,  /* ATTEMPT_TO_READ_AFTER_EOF */
	33,  /* CANNOT_READ_ALL_DATA */
	38,  /* CANNOT_PARSE_DATE */
	41,  /* CANNOT_PARSE_DATETIME */
	53,  /* TYPE_MISMATCH */
	69,  /* ARGUMENT_OUT_OF_BOUND */
	70,  /* CANNOT_CONVERT_TYPE */
	72,  /* CANNOT_PARSE_NUMBER */
	117, /* INCORRECT_DATA */
	130, /* CANNOT_READ_ARRAY_FROM_TEXT */
	131, /* TOO_LARGE_STRING_SIZE */
	321, /* VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE */
	349, /* CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN */
	377, /* CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING */
	441, /* CANNOT_PARSE_UUID */
	467, /* CANNOT_PARSE_BOOL */
	0
};

static const int failing_codes[] = {
	8,   /* THERE_IS_NO_COLUMN */
	10,  /* NOT_FOUND_COLUMN_IN_BLOCK */
	16,  /* NO_SUCH_COLUMN_IN_TABLE */
	36,  /* BAD_ARGUMENTS */
	46,  /* UNKNOWN_FUNCTION */
	47,  /* UNKNOWN_IDENTIFIER */
	48,  /* NOT_IMPLEMENTED */
	50,  /* UNKNOWN_TYPE */
	60,  /* UNKNOWN_TABLE */
	62,  /* SYNTAX_ERROR */
	73,  /* UNKNOWN_FORMAT */
	81,  /* UNKNOWN_DATABASE */
	115, /* UNKNOWN_SETTING */
	164, /* READONLY */
	192, /* UNKNOWN_USER */
	193, /* WRONG_PASSWORD */
	194, /* REQUIRED_PASSWORD */
	195, /* IP_ADDRESS_NOT_ALLOWED */
	291, /* DATABASE_ACCESS_DENIED */
	452, /* SETTING_CONSTRAINT_VIOLATION */
	497, /* ACCESS_DENIED */
	516, /* AUTHENTICATION_FAILED */
	0
};

static const int retry_codes[] = {
	3,   /* UNEXPECTED_END_OF_FILE (the body was cut off on the way) */
	159, /* TIMEOUT_EXCEEDED */
	173, /* CANNOT_ALLOCATE_MEMORY */
	202, /* TOO_MANY_SIMULTANEOUS_QUERIES */
	203, /* NO_FREE_CONNECTION */
	209, /* SOCKET_TIMEOUT */
	210, /* NETWORK_ERROR */
	225, /* NO_ZOOKEEPER */
	236, /* ABORTED */
	241, /* MEMORY_LIMIT_EXCEEDED */
	242, /* TABLE_IS_READ_ONLY (a replica lost ZooKeeper) */
	252, /* TOO_MANY_PARTS */
	285, /* TOO_FEW_LIVE_REPLICAS */
	286, /* UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE */
	319, /* UNKNOWN_STATUS_OF_INSERT */
	394, /* QUERY_WAS_CANCELLED */
	425, /* SYSTEM_ERROR */
	439, /* CANNOT_SCHEDULE_TASK */
	999, /* KEEPER_EXCEPTION */
	0
};

static int in_list(const int *list, long code)
{
	for (; *list; list++)
		if (*list == code)
			return 1;
	return 0;
}

/* The exception code in body ("Code: 60, e.displayText() = ..." or
 * "Code: 60. DB::Exception: ..."), or -1. */
static long exception_code(const char *body, size_t len)
{
	const char *end = body + len, *p = body;
	long code = 0;
	int digits = 0;

	while (p + 6 <= end && memcmp(p, "Code: ", 6) != 0)
		p++;
	if (p + 6 > end)
		return -1;
	for (p += 6; p < end && *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		code = code * 10 + (*p - '0');
	return digits ? code : -1;
}

static void clickhouse_classify(struct ls_sink *base, long status, const char *body,
				size_t len, const char *retry_after, size_t nitems,
				struct ls_sink_result *res)
{
	struct clickhouse_sink *s = (struct clickhouse_sink *)base;
	long code = status != 0 && body ? exception_code(body, len) : -1;

	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	/* a 200 may still end in an exception when the server had already
	 * started the response */
	if (code < 0 || (status >= 200 && status < 300 && !memmem(body, len, "Exception", 9)))
		goto out;
	if (in_list(split_codes, code))
		res->verdict = LS_SINK_SPLIT;
	else if (in_list(failing_codes, code))
		res->verdict = LS_SINK_FAILING;
	else if (in_list(retry_codes, code))
		res->verdict = status == 429 || status == 503 ? LS_SINK_PAUSE : LS_SINK_RETRY;
	else if (status >= 500)
		res->verdict = status == 503 ? LS_SINK_PAUSE : LS_SINK_RETRY;
	else
		res->verdict = LS_SINK_FAILING;
out:
	ls_sink_req_scrub(&s->req, res);
}

const struct ls_sink_ops ls_sink_clickhouse_ops = {
	.scheme = "clickhouse",
	.open = clickhouse_open,
	.free = clickhouse_free,
	.encode = clickhouse_encode,
	.prefix = NULL,
	.separator = "",
	.suffix = "",
	.request = clickhouse_request,
	.classify = clickhouse_classify,
	.setup = clickhouse_setup,
	.compressions = LS_SINK_GZIP,
};

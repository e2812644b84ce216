/* sink_otlp.c - the OpenTelemetry sink: otlp+http(s)://host:port, OTLP/HTTP
 * logs in the JSON encoding (to a Collector, or any backend speaking OTLP).
 *
 * Request: POST http(s)://host:port/v1/logs (a path in the URL is kept as a
 * prefix unless it already ends in /v1/logs; the query is kept).
 * Content-Type: application/json. Secret "user:password" is sent as Basic
 * authentication, a secret without ':' as "Authorization: Bearer <secret>";
 * vendor headers (api keys) with --header. Bodies may be gzip compressed.
 *
 * Body: one resource (attribute host.name = this host's name, when known)
 * with one scope {"name":"logship"} holding the records:
 *   {"resourceLogs":[{"resource":{"attributes":[{"key":"host.name",
 *    "value":{"stringValue":"<host>"}}]},"scopeLogs":[{"scope":
 *    {"name":"logship"},"logRecords":[RECORD,RECORD,...]}]}]}
 * Each event is one record:
 *   timeUnixNano           @timestamp in ns (a decimal string; 0 before 1970)
 *   observedTimeUnixNano   when logship encoded it (cfg->now_ms when set)
 *   severityNumber         from log.level (any case; see below), left out
 *                          when the level is unknown or absent
 *   severityText           log.level as written, when present
 *   body                   {"stringValue": message, else the raw line}
 *   attributes             every other field, its dotted ECS name as key:
 *                          text as stringValue, integers as intValue (a
 *                          decimal string, as the protobuf JSON mapping
 *                          writes int64), numbers as doubleValue, raw JSON
 *                          true/false as boolValue (other raw JSON as
 *                          stringValue), lists as arrayValue of
 *                          stringValues; then the tags as "tags", an
 *                          arrayValue. log.file.path, event.id,
 *                          event.severity, rule.id... are among them.
 * log.level to severityNumber, after the spec's Appendix B (syslog names
 * and numbers, log4j, zap, java.util.logging, single letters):
 *   trace finest T 1 | debug dbg verbose finer D 7(syslog) 5 | fine 6 |
 *   config 7 | info information informational I 6(syslog) 9 |
 *   notice N 5(syslog) 10 | warn warning W 4(syslog) 13 |
 *   error err severe E 3(syslog) 17 | critical crit dpanic C 2(syslog) 18 |
 *   alert panic A 1(syslog) 19 | emergency emerg fatal F 0(syslog) 21.
 *
 * Responses: ls_sink_classify_status() (OTLP/HTTP: 400 is bad data, 429
 * and 503 pause, 502/504 retry, honouring Retry-After). A 2xx with
 * "partialSuccess":{"rejectedLogRecords":N} is OK (the spec forbids
 * retrying them; the receiver has dropped them) and says so in the
 * reason. */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOGS_PATH "/v1/logs"

struct otlp_sink {
	struct ls_sink base;
	struct ls_sink_req req;
	char *prefix;
	int64_t now_ms; /* fixed observed time, 0: the clock */
};

static void otlp_free(struct ls_sink *base)
{
	struct otlp_sink *s = (struct otlp_sink *)base;

	ls_sink_req_release(&s->req);
	free(s->prefix);
	free(s);
}

static int build_prefix(struct otlp_sink *s, const char *host)
{
	struct ls_buf b;

	ls_buf_init(&b, 0);
	if (ls_buf_puts(&b, "{\"resourceLogs\":[{\"resource\":{\"attributes\":[") < 0 ||
	    (host && *host &&
	     (ls_buf_puts(&b, "{\"key\":\"host.name\",\"value\":{\"stringValue\":") < 0 ||
	      ls_json_string(&b, host, strlen(host), NULL) < 0 || ls_buf_puts(&b, "}}") < 0)) ||
	    ls_buf_puts(&b, "]},\"scopeLogs\":[{\"scope\":{\"name\":\"logship\"},\"logRecords\":[") < 0) {
		ls_buf_release(&b);
		return LS_ENOMEM;
	}
	s->prefix = b.data;
	return 0;
}

static int otlp_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	struct otlp_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	size_t path_len, logs_len = strlen(LOGS_PATH);
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "otlp sink: out of memory");
	s->base.ops = &ls_sink_otlp_ops;
	s->now_ms = cfg->now_ms;
	if ((rc = ls_sink_url_parse(&u, cfg->url, "otlp sink", err)) < 0)
		goto out;
	path_len = strlen(u.path);
	while (path_len > 0 && u.path[path_len - 1] == '/')
		u.path[--path_len] = '\0';
	if (asprintf(&s->req.url, "%s%s%s%s%s", u.origin, u.path,
		     path_len >= logs_len && strcmp(u.path + path_len - logs_len, LOGS_PATH) == 0 ?
		     "" : LOGS_PATH, *u.query ? "?" : "", u.query) < 0) {
		s->req.url = NULL;
		rc = ls_error_set(err, LS_ENOMEM, "otlp sink: out of memory");
		goto out;
	}
	if (build_prefix(s, cfg->host) < 0 ||
	    ls_sink_req_header(&s->req, "Content-Type", "application/json") < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "otlp sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_auth(&s->req, cfg->auth, "Bearer", 1, "otlp sink", err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "otlp sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		otlp_free(&s->base);
	return rc;
}

/* ---- records ---- */

static const struct {
	const char *name;
	int number;
} severities[] = {
	{ "trace", 1 }, { "finest", 1 }, { "t", 1 },
	{ "debug", 5 }, { "dbg", 5 }, { "verbose", 5 }, { "finer", 5 }, { "d", 5 }, { "7", 5 },
	{ "fine", 6 }, { "config", 7 },
	{ "info", 9 }, { "information", 9 }, { "informational", 9 }, { "i", 9 }, { "6", 9 },
	{ "notice", 10 }, { "n", 10 }, { "5", 10 },
	{ "warn", 13 }, { "warning", 13 }, { "w", 13 }, { "4", 13 },
	{ "error", 17 }, { "err", 17 }, { "severe", 17 }, { "e", 17 }, { "3", 17 },
	{ "critical", 18 }, { "crit", 18 }, { "dpanic", 18 }, { "c", 18 }, { "2", 18 },
	{ "alert", 19 }, { "panic", 19 }, { "a", 19 }, { "1", 19 },
	{ "emergency", 21 }, { "emerg", 21 }, { "fatal", 21 }, { "f", 21 }, { "0", 21 },
};

/* The severityNumber of a log.level text, 0 when unknown. */
static int severity_number(const char *level, size_t len)
{
	for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
		if (strlen(severities[i].name) == len && strncasecmp(level, severities[i].name, len) == 0)
			return severities[i].number;
	return 0;
}

/* A JSON integer that fits int64 (at most 18 digits keeps it simple). */
static int is_int(const char *s, size_t n)
{
	size_t i = n > 0 && s[0] == '-';

	if (i == n || n - i > 18 || (s[i] == '0' && n - i > 1))
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A JSON number (what ls_json_event writes bare for LS_F_FLOAT):
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_number(const char *s, size_t n)
{
	size_t i = 0, start;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		start = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	return i == n;
}

static int put_string_value(struct ls_buf *out, const char *s, size_t len)
{
	if (ls_buf_puts(out, "{\"stringValue\":") < 0 || ls_json_string(out, s, len, NULL) < 0)
		return LS_ENOMEM;
	return ls_buf_putc(out, '}');
}

/* Writes an AnyValue for the field. */
static int put_value(struct ls_buf *out, const struct ls_field *f)
{
	size_t i = 0;

	switch (f->type) {
	case LS_F_INT:
		if (!is_int(f->val, f->len))
			break;
		if (ls_buf_puts(out, "{\"intValue\":\"") < 0 ||
		    ls_buf_append(out, f->val, f->len) < 0)
			return LS_ENOMEM;
		return ls_buf_append(out, "\"}", 2);
	case LS_F_FLOAT:
		if (!is_number(f->val, f->len))
			break;
		if (ls_buf_puts(out, "{\"doubleValue\":") < 0 ||
		    ls_buf_append(out, f->val, f->len) < 0)
			return LS_ENOMEM;
		return ls_buf_putc(out, '}');
	case LS_F_RAW:
		if ((f->len == 4 && memcmp(f->val, "true", 4) == 0) ||
		    (f->len == 5 && memcmp(f->val, "false", 5) == 0)) {
			if (ls_buf_puts(out, "{\"boolValue\":") < 0 ||
			    ls_buf_append(out, f->val, f->len) < 0)
				return LS_ENOMEM;
			return ls_buf_putc(out, '}');
		}
		break;
	case LS_F_LIST:
		if (ls_buf_puts(out, "{\"arrayValue\":{\"values\":[") < 0)
			return LS_ENOMEM;
		while (f->len > 0 && i <= f->len) {
			const char *sep = memchr(f->val + i, LS_LIST_SEP, f->len - i);
			size_t end = sep ? (size_t)(sep - f->val) : f->len;

			if ((i > 0 && ls_buf_putc(out, ',') < 0) ||
			    put_string_value(out, f->val + i, end - i) < 0)
				return LS_ENOMEM;
			i = end + 1;
		}
		return ls_buf_puts(out, "]}}");
	}
	return put_string_value(out, f->val, f->len);
}

static int put_record(struct otlp_sink *s, struct ls_buf *out, const struct ls_event *ev)
{
	const struct ls_field *level, *msg = NULL;
	int64_t observed = s->now_ms;
	int first = 1, number = 0;

	if (!observed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		observed = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	if (ls_buf_puts(out, "{\"timeUnixNano\":\"") < 0 || ls_sink_put_ns(out, ev->ts_ms) < 0 ||
	    ls_buf_puts(out, "\",\"observedTimeUnixNano\":\"") < 0 ||
	    ls_sink_put_ns(out, observed) < 0 || ls_buf_putc(out, '"') < 0)
		return LS_ENOMEM;
	if (ls_sink_field(ev, "log.level", &level)) {
		number = severity_number(level->val, level->len);
		if ((number && (ls_buf_puts(out, ",\"severityNumber\":") < 0 ||
				ls_sink_put_uint(out, (uint64_t)number) < 0)) ||
		    ls_buf_puts(out, ",\"severityText\":") < 0 ||
		    ls_sink_field_string(out, level) < 0)
			return LS_ENOMEM;
	}
	for (int i = 0; i < ev->nfields; i++)
		if (strcmp(ev->fields[i].name, "message") == 0)
			msg = &ev->fields[i];
	if (ls_buf_puts(out, ",\"body\":") < 0 ||
	    (msg ? put_string_value(out, msg->val, msg->len) :
	     put_string_value(out, ev->line ? ev->line : "", ev->line ? ev->line_len : 0)) < 0 ||
	    ls_buf_puts(out, ",\"attributes\":[") < 0)
		return LS_ENOMEM;
	for (int i = 0; i < ev->nfields && i < LS_EVENT_MAX_FIELDS; i++) {
		const struct ls_field *f = &ev->fields[i];

		if (strcmp(f->name, "message") == 0 || strcmp(f->name, "@timestamp") == 0 ||
		    (ev->ntags > 0 && strcmp(f->name, "tags") == 0))
			continue;
		if ((!first && ls_buf_putc(out, ',') < 0) || ls_buf_puts(out, "{\"key\":") < 0 ||
		    ls_json_string(out, f->name, strlen(f->name), NULL) < 0 ||
		    ls_buf_puts(out, ",\"value\":") < 0 || put_value(out, f) < 0 ||
		    ls_buf_putc(out, '}') < 0)
			return LS_ENOMEM;
		first = 0;
	}
	if (ev->ntags > 0) {
		if ((!first && ls_buf_putc(out, ',') < 0) ||
		    ls_buf_puts(out, "{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":[") < 0)
			return LS_ENOMEM;
		for (int i = 0; i < ev->ntags; i++)
			if ((i > 0 && ls_buf_putc(out, ',') < 0) ||
			    put_string_value(out, ev->tags[i], strlen(ev->tags[i])) < 0)
				return LS_ENOMEM;
		if (ls_buf_puts(out, "]}}}") < 0)
			return LS_ENOMEM;
	}
	return ls_buf_puts(out, "]}");
}

static int otlp_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	size_t start = out->len;

	if (put_record((struct otlp_sink *)base, out, ev) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

static const char *otlp_prefix(struct ls_sink *base)
{
	return ((struct otlp_sink *)base)->prefix;
}

static int otlp_request(struct ls_sink *base, const char **url, const char **hdrs, int *nhdrs)
{
	return ls_sink_req_request(&((struct otlp_sink *)base)->req, url, hdrs, nhdrs);
}

static void otlp_classify(struct ls_sink *base, long status, const char *body, size_t len,
			  const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	const char *end = body ? body + len : NULL, *partial, *v, *text;
	long long rejected = 0;
	size_t text_len;

	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	if (res->verdict == LS_SINK_OK && body &&
	    (partial = ls_sink_json_member(body, end, "partialSuccess")) &&
	    (v = ls_sink_json_member(partial, end, "rejectedLogRecords")) &&
	    ls_sink_json_int(v, end, &rejected) == 0 && rejected > 0) {
		ls_sink_result_set(res, LS_SINK_OK, "HTTP %ld: the receiver dropped %lld of %zu "
				   "records", status, rejected, nitems);
		if ((v = ls_sink_json_member(partial, end, "errorMessage")) &&
		    ls_sink_json_str(v, end, &text, &text_len) == 0) {
			ls_sink_reason_append(res->reason, sizeof(res->reason), ": ", 2);
			ls_sink_reason_append(res->reason, sizeof(res->reason), text, text_len);
		}
	}
	ls_sink_req_scrub(&((struct otlp_sink *)base)->req, res);
}

const struct ls_sink_ops ls_sink_otlp_ops = {
	.scheme = "otlp",
	.open = otlp_open,
	.free = otlp_free,
	.encode = otlp_encode,
	.prefix = otlp_prefix,
	.separator = ",",
	.suffix = "]}]}]}",
	.request = otlp_request,
	.classify = otlp_classify,
	.setup = NULL,
	.compressions = LS_SINK_GZIP,
};

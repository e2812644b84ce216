/* sink_splunk.c - the Splunk HTTP Event Collector sink:
 * splunk+https://host:8088 (splunk+http:// for tests and plain-text HEC).
 *
 * Request: POST http(s)://host:port/services/collector/event (a path in the
 * URL is kept as a prefix unless it already ends in
 * /services/collector/event; the URL's query is kept, e.g. channel=GUID).
 * Headers: "Authorization: Splunk <token>" (the secret as is),
 * Content-Type: application/json, then --header. Bodies may be gzip
 * compressed.
 *
 * Body: the events' envelopes one after the other (HEC's batch form), each
 * ending in a newline:
 *   {"time":<@timestamp as seconds.mmm>,"host":"<host.hostname, else
 *    host.name, else this host>","source":"<log.file.path>",
 *    "sourcetype":"<event.dataset, else logship>","event":<the event's JSON
 *    object>}
 * host and source are left out when there is nothing to put in them.
 * Times before 1970 are sent as 0.
 *
 * Responses: HEC answers {"text":"...","code":N}; the code decides, the
 * status where there is none:
 *   0 Success, 17 healthy                          OK
 *   1 token disabled, 2 token required, 3 invalid authorization, 4 invalid
 *   token, 7 incorrect index, 10/11 data channel missing/invalid, 14 ACK
 *   disabled, 16 query-string authorization off   FAILING
 *   5 no data, 6 invalid data format, 12 event field required, 13 event
 *   field blank, 15 bad indexed fields            BAD
 *   8 internal server error                       RETRY
 *   9 server busy, 18/19/20 unhealthy (queues full, ack unavailable)
 *                                                 PAUSE
 * (HEC stops at the first bad event of a batch and does not say which
 * ones before it it kept; BAD sends them all to the dead-letter
 * directory. logship's own envelopes are always valid JSON, so this takes
 * an event HEC refuses for its content.) */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_PATH "/services/collector/event"

struct splunk_sink {
	struct ls_sink base;
	struct ls_sink_req req;
	char *host; /* this host's name, or NULL */
};

static void splunk_free(struct ls_sink *base)
{
	struct splunk_sink *s = (struct splunk_sink *)base;

	ls_sink_req_release(&s->req);
	free(s->host);
	free(s);
}

static int splunk_open(struct ls_sink **out, const struct ls_sink_config *cfg,
		       struct ls_error *err)
{
	struct splunk_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	size_t path_len, event_len = strlen(EVENT_PATH);
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "splunk sink: out of memory");
	s->base.ops = &ls_sink_splunk_ops;
	if ((rc = ls_sink_url_parse(&u, cfg->url, "splunk sink", err)) < 0)
		goto out;
	path_len = strlen(u.path);
	while (path_len > 0 && u.path[path_len - 1] == '/')
		u.path[--path_len] = '\0';
	if (asprintf(&s->req.url, "%s%s%s%s%s", u.origin, u.path,
		     path_len >= event_len && strcmp(u.path + path_len - event_len, EVENT_PATH) == 0 ?
		     "" : EVENT_PATH, *u.query ? "?" : "", u.query) < 0) {
		s->req.url = NULL;
		rc = ls_error_set(err, LS_ENOMEM, "splunk sink: out of memory");
		goto out;
	}
	if ((cfg->host && *cfg->host && !(s->host = strdup(cfg->host))) ||
	    ls_sink_req_header(&s->req, "Content-Type", "application/json") < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "splunk sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_auth(&s->req, cfg->auth, "Splunk", 0, "splunk sink", err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "splunk sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		splunk_free(&s->base);
	return rc;
}

static int put_envelope(struct splunk_sink *s, struct ls_buf *out, const struct ls_event *ev)
{
	int64_t ms = ev->ts_ms > 0 ? ev->ts_ms : 0;
	const struct ls_field *f;

	char millis[4] = { '.', (char)('0' + ms % 1000 / 100), (char)('0' + ms % 100 / 10),
			   (char)('0' + ms % 10) };

	if (ls_buf_puts(out, "{\"time\":") < 0 || ls_sink_put_uint(out, (uint64_t)(ms / 1000)) < 0 ||
	    ls_buf_append(out, millis, 4) < 0)
		return LS_ENOMEM;
	if (ls_sink_field(ev, "host.hostname", &f) || ls_sink_field(ev, "host.name", &f)) {
		if (ls_buf_puts(out, ",\"host\":") < 0 || ls_sink_field_string(out, f) < 0)
			return LS_ENOMEM;
	} else if (s->host) {
		if (ls_buf_puts(out, ",\"host\":") < 0 ||
		    ls_json_string(out, s->host, strlen(s->host), NULL) < 0)
			return LS_ENOMEM;
	}
	if (ls_sink_field(ev, "log.file.path", &f) &&
	    (ls_buf_puts(out, ",\"source\":") < 0 || ls_sink_field_string(out, f) < 0))
		return LS_ENOMEM;
	if (ls_buf_puts(out, ",\"sourcetype\":") < 0)
		return LS_ENOMEM;
	if ((ls_sink_field(ev, "event.dataset", &f) ? ls_sink_field_string(out, f) :
	     ls_buf_puts(out, "\"logship\"")) < 0)
		return LS_ENOMEM;
	if (ls_buf_puts(out, ",\"event\":") < 0 || ls_json_event(out, ev) < 0)
		return LS_ENOMEM;
	/* ls_json_event ends the object with "\n": close the envelope after it */
	out->len--;
	return ls_buf_append(out, "}\n", 2);
}

static int splunk_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	size_t start = out->len;

	if (put_envelope((struct splunk_sink *)base, out, ev) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

static int splunk_request(struct ls_sink *base, const char **url, const char **hdrs, int *nhdrs)
{
	return ls_sink_req_request(&((struct splunk_sink *)base)->req, url, hdrs, nhdrs);
}

static void splunk_classify(struct ls_sink *base, long status, const char *body, size_t len,
			    const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	const char *code_at = NULL;
	long long code = -1;

	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	if (status != 0 && body && (code_at = ls_sink_json_member(body, body + len, "code")) &&
	    ls_sink_json_int(code_at, body + len, &code) == 0) {
		switch (code) {
		case 0: case 17:
			res->verdict = LS_SINK_OK;
			break;
		case 1: case 2: case 3: case 4: case 7: case 10: case 11: case 14: case 16:
			res->verdict = LS_SINK_FAILING;
			break;
		case 5: case 6: case 12: case 13: case 15:
			res->verdict = LS_SINK_BAD;
			break;
		case 8:
			res->verdict = LS_SINK_RETRY;
			break;
		case 9: case 18: case 19: case 20:
			res->verdict = LS_SINK_PAUSE;
			break;
		default:
			break; /* a code of a later HEC: the status decides */
		}
	}
	ls_sink_req_scrub(&((struct splunk_sink *)base)->req, res);
}

const struct ls_sink_ops ls_sink_splunk_ops = {
	.scheme = "splunk",
	.open = splunk_open,
	.free = splunk_free,
	.encode = splunk_encode,
	.prefix = NULL,
	.separator = "",
	.suffix = "",
	.request = splunk_request,
	.classify = splunk_classify,
	.setup = NULL,
	.compressions = LS_SINK_GZIP,
};

/* sink_http.c - the plain HTTP sink (http:// and https://): each batch is
 * POSTed to the URL as given, as NDJSON (one ls_json_event() line per
 * event).
 *
 * Headers: "Content-Type: application/x-ndjson"; with a secret, an
 * "Authorization: Basic base64(user:password)" when the secret holds a
 * ':', else "Authorization: Bearer <secret>"; then each --header, which
 * replaces a header of the same name (so --header 'Content-Type: ...'
 * or a custom Authorization wins). Bodies may be sent gzip or zstd
 * compressed. Responses are read by their status alone
 * (ls_sink_classify_status). */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdlib.h>
#include <string.h>

struct http_sink {
	struct ls_sink base;
	struct ls_sink_req req;
};

static void http_free(struct ls_sink *base)
{
	struct http_sink *s = (struct http_sink *)base;

	ls_sink_req_release(&s->req);
	free(s);
}

static int http_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	struct http_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "http sink: out of memory");
	s->base.ops = &ls_sink_http_ops;
	if ((rc = ls_sink_url_parse(&u, cfg->url, "http sink", err)) < 0)
		goto out;
	if (!(s->req.url = strdup(cfg->url))) {
		rc = ls_error_set(err, LS_ENOMEM, "http sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_header(&s->req, "Content-Type", "application/x-ndjson")) < 0) {
		rc = ls_error_set(err, rc, "http sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_auth(&s->req, cfg->auth, "Bearer", 1, "http sink", err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "http sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		http_free(&s->base);
	return rc;
}

static int http_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	(void)base;
	return ls_json_event(out, ev);
}

static int http_request(struct ls_sink *base, const char **url, const char **hdrs, int *nhdrs)
{
	return ls_sink_req_request(&((struct http_sink *)base)->req, url, hdrs, nhdrs);
}

static void http_classify(struct ls_sink *base, long status, const char *body, size_t len,
			  const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	ls_sink_req_scrub(&((struct http_sink *)base)->req, res);
}

const struct ls_sink_ops ls_sink_http_ops = {
	.scheme = "http",
	.open = http_open,
	.free = http_free,
	.encode = http_encode,
	.prefix = NULL,
	.separator = "",
	.suffix = "",
	.request = http_request,
	.classify = http_classify,
	.setup = NULL,
	.compressions = LS_SINK_GZIP | LS_SINK_ZSTD,
};

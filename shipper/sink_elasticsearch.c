/* sink_elasticsearch.c - the Elasticsearch (and OpenSearch) sink:
 * elasticsearch+http(s)://host:port/INDEX through the bulk API.
 *
 * Request: POST http(s)://host:port/_bulk?filter_path=errors,items.*.status,
 * items.*.error.type,items.*.error.reason (the filter keeps the response
 * small; a filter_path in the URL's own query replaces it), then the URL's
 * query parameters (e.g. pipeline=NAME). A path before INDEX is kept as a
 * prefix (https://host/es/INDEX posts to https://host/es/_bulk).
 * Content-Type: application/x-ndjson. Secret "user:password" is sent as
 * Basic authentication, a secret without ':' as "Authorization: ApiKey
 * <secret>" (the encoded API key Elasticsearch hands out). Bodies may be
 * gzip-compressed.
 *
 * Item: {"create":{"_index":"INDEX","_id":"<event.id>"}} and the event's
 * JSON line. "create" (not "index") makes a re-sent event a 409 conflict,
 * counted as delivered, so retries never duplicate; it also suits data
 * streams. An event without event.id gets no _id (Elasticsearch picks
 * one). INDEX may hold %Y %m %d %H (and %% for '%'), expanded from the
 * event's own time in UTC: logs-%Y.%m.%d. Index names are checked as
 * Elasticsearch does: lower case, no \ / * ? " < > | , # or blanks, not
 * starting with - _ +, at most 255 bytes.
 *
 * Responses: a 2xx is read as a bulk response, "errors" true or false:
 * its items are walked in order: 2xx and 409 are delivered; any
 * item with 429 or 503 pauses the sink and any with another 5xx retries
 * the whole request (the delivered ones then come back as 409); other
 * 4xx items are rejected: PARTIAL with bad[i] set (BAD when all are).
 * A bulk response that does not parse is retried ("unreadable bulk
 * response": nothing is lost); one whose items end early (cut short) is
 * split; "errors":false with a whole list of items that does not count
 * one per event sent is retried like an unreadable one. Other statuses:
 * ls_sink_classify_status(). */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MAX 255
#define FILTER_PATH "filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason"

struct es_sink {
	struct ls_sink base;
	struct ls_sink_req req;
	char *index;          /* as given, maybe with %Y %m %d %H %% */
	int dated;            /* index holds '%' */
	int64_t cached_hour;  /* ms / 3600000 of the expansion below */
	int cached;
	char expanded[INDEX_MAX + 1];
	size_t expanded_len;
};

static void es_free(struct ls_sink *base)
{
	struct es_sink *s = (struct es_sink *)base;

	ls_sink_req_release(&s->req);
	free(s->index);
	free(s);
}

/* Expands the index for the hour holding ms into out (INDEX_MAX + 1
 * bytes); its length, or -1 when it would not fit. */
static long expand_index(const char *index, int64_t ms, char *out)
{
	struct tm tm;
	size_t n = 0;

	ls_sink_utc(ms, &tm);
	for (const char *p = index; *p; p++) {
		char piece[8];
		size_t len = 1;

		piece[0] = *p;
		if (*p == '%') {
			switch (*++p) {
			case 'Y': len = (size_t)snprintf(piece, sizeof(piece), "%04d", (tm.tm_year + 1900) % 10000); break;
			case 'm': len = (size_t)snprintf(piece, sizeof(piece), "%02d", tm.tm_mon + 1); break;
			case 'd': len = (size_t)snprintf(piece, sizeof(piece), "%02d", tm.tm_mday); break;
			case 'H': len = (size_t)snprintf(piece, sizeof(piece), "%02d", tm.tm_hour); break;
			default: piece[0] = '%'; break; /* "%%" (checked at open) */
			}
		}
		if (n + len > INDEX_MAX)
			return -1;
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = '\0';
	return (long)n;
}

/* Checks the index as Elasticsearch would (after expansion). */
static int check_index(const char *index, struct ls_error *err)
{
	char sample[INDEX_MAX + 1];

	if (!*index)
		return ls_error_set(err, LS_EINVAL,
				    "elasticsearch sink: the URL needs the index: "
				    "elasticsearch+http://host:9200/INDEX");
	for (const char *p = index; *p; p++) {
		if (*p == '%' && (!p[1] || !strchr("YmdH%", p[1])))
			return ls_error_set(err, LS_EINVAL,
					    "elasticsearch sink: index \"%.64s\": only %%Y %%m %%d %%H "
					    "and %%%% may follow %%", index);
		if (*p == '%') {
			p++;
			continue;
		}
		if ((*p >= 'A' && *p <= 'Z') || strchr("\\/*?\"<>|,# ", *p) || (unsigned char)*p < 0x20)
			return ls_error_set(err, LS_EINVAL,
					    "elasticsearch sink: index \"%.64s\" must be lower case "
					    "without \\ / * ? \" < > | , # or blanks", index);
	}
	if (strchr("-_+", index[0]) || strcmp(index, ".") == 0 || strcmp(index, "..") == 0)
		return ls_error_set(err, LS_EINVAL,
				    "elasticsearch sink: index \"%.64s\" may not start with - _ + "
				    "or be . or ..", index);
	if (expand_index(index, 0, sample) < 0)
		return ls_error_set(err, LS_EINVAL,
				    "elasticsearch sink: the index name is longer than %d bytes",
				    INDEX_MAX);
	return 0;
}

static int es_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	struct es_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	const char *slash;
	size_t path_len;
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "elasticsearch sink: out of memory");
	s->base.ops = &ls_sink_elasticsearch_ops;
	if ((rc = ls_sink_url_parse(&u, cfg->url, "elasticsearch sink", err)) < 0)
		goto out;
	path_len = strlen(u.path);
	if (path_len > 0 && u.path[path_len - 1] == '/')
		u.path[--path_len] = '\0';
	slash = strrchr(u.path, '/');
	if (!slash)
		slash = u.path; /* no path: the index check below fails */
	if (!(s->index = strdup(*slash == '/' ? slash + 1 : ""))) {
		rc = ls_error_set(err, LS_ENOMEM, "elasticsearch sink: out of memory");
		goto out;
	}
	if ((rc = check_index(s->index, err)) < 0)
		goto out;
	s->dated = strchr(s->index, '%') != NULL;
	if (asprintf(&s->req.url, "%s%.*s/_bulk?%s%s%s", u.origin, (int)(slash - u.path), u.path,
		     strstr(u.query, "filter_path=") ? "" : FILTER_PATH,
		     *u.query && !strstr(u.query, "filter_path=") ? "&" : "", u.query) < 0) {
		s->req.url = NULL;
		rc = ls_error_set(err, LS_ENOMEM, "elasticsearch sink: out of memory");
		goto out;
	}
	if (ls_sink_req_header(&s->req, "Content-Type", "application/x-ndjson") < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "elasticsearch sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_auth(&s->req, cfg->auth, "ApiKey", 1, "elasticsearch sink",
				   err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "elasticsearch sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		es_free(&s->base);
	return rc;
}

static int es_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	struct es_sink *s = (struct es_sink *)base;
	const char *index = s->index;
	size_t index_len = strlen(s->index), start = out->len;
	const struct ls_field *id;

	if (s->dated) {
		int64_t hour = ev->ts_ms >= 0 ? ev->ts_ms / 3600000 :
			       -((-ev->ts_ms + 3599999) / 3600000);

		if (!s->cached || s->cached_hour != hour) {
			long n = expand_index(s->index, ev->ts_ms, s->expanded);

			if (n < 0)
				return LS_ENOMEM;
			s->expanded_len = (size_t)n;
			s->cached_hour = hour;
			s->cached = 1;
		}
		index = s->expanded;
		index_len = s->expanded_len;
	}
	if (ls_buf_puts(out, "{\"create\":{\"_index\":") < 0 ||
	    ls_json_string(out, index, index_len, NULL) < 0)
		goto nomem;
	if (ls_sink_field(ev, "event.id", &id) &&
	    (ls_buf_puts(out, ",\"_id\":") < 0 || ls_json_string(out, id->val, id->len, NULL) < 0))
		goto nomem;
	if (ls_buf_append(out, "}}\n", 3) < 0 || ls_json_event(out, ev) < 0)
		goto nomem;
	return 0;
nomem:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return LS_ENOMEM;
}

static int es_request(struct ls_sink *base, const char **url, const char **hdrs, int *nhdrs)
{
	return ls_sink_req_request(&((struct es_sink *)base)->req, url, hdrs, nhdrs);
}

/* The value of the first member of the object at p ({"create":{...}}). */
static const char *first_member(const char *p, const char *end)
{
	const char *name_end;

	p = ls_sink_json_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p = ls_sink_json_ws(p + 1, end);
	if (p >= end || *p != '"' || !(name_end = ls_sink_json_skip(p, end)))
		return NULL;
	p = ls_sink_json_ws(name_end, end);
	if (p >= end || *p != ':')
		return NULL;
	return ls_sink_json_ws(p + 1, end);
}

/* An item worth naming in the reason. */
struct bulk_item {
	long status;
	size_t index;
	const char *action;  /* its action result object, NULL: none */
	const char *end;
};

/* What the walk over the items found. */
struct bulk_walk {
	size_t seen, nbad, nretry, npause;
	int complete;
	struct bulk_item first_held;  /* the first 429 or 5xx */
	struct bulk_item first_bad;   /* the first rejected */
};

static void walk_items(const char *items, const char *end, size_t nitems,
		       unsigned char *bad, struct bulk_walk *w)
{
	const char *p = items + 1;

	memset(w, 0, sizeof(*w));
	for (;;) {
		const char *elem_end, *action, *st;
		long long status;

		p = ls_sink_json_ws(p, end);
		if (p >= end)
			return;
		if (*p == ']')
			break;
		if (!(elem_end = ls_sink_json_skip(p, end)) || !(action = first_member(p, elem_end)) ||
		    !(st = ls_sink_json_member(action, elem_end, "status")) ||
		    ls_sink_json_int(st, elem_end, &status) < 0)
			return;
		if (!((status >= 200 && status < 300) || status == 409)) {
			struct bulk_item *first = &w->first_bad;

			if (status == 429 || status == 503 || status >= 500) {
				if (status == 429 || status == 503)
					w->npause++;
				else
					w->nretry++;
				first = &w->first_held;
			} else if (w->seen < nitems) {
				w->nbad++;
				if (bad)
					bad[w->seen] = 1;
			}
			if (!first->action) {
				first->status = (long)status;
				first->index = w->seen;
				first->action = action;
				first->end = elem_end;
			}
		}
		w->seen++;
		p = ls_sink_json_ws(elem_end, end);
		if (p < end && *p == ',')
			p++;
		else if (p >= end || *p != ']')
			return;
	}
	w->complete = 1;
}

/* Appends "; first: item N status S type: reason". */
static void describe_item(struct ls_sink_result *res, const struct bulk_item *item)
{
	const char *error, *v, *text;
	size_t len, at = strlen(res->reason);

	if (!item->action)
		return;
	snprintf(res->reason + at, sizeof(res->reason) - at, "; first: item %zu status %ld",
		 item->index + 1, item->status);
	error = ls_sink_json_member(item->action, item->end, "error");
	if (!error)
		return;
	if ((v = ls_sink_json_member(error, item->end, "type")) &&
	    ls_sink_json_str(v, item->end, &text, &len) == 0) {
		ls_sink_reason_append(res->reason, sizeof(res->reason), " ", 1);
		ls_sink_reason_append(res->reason, sizeof(res->reason), text, len);
	}
	if ((v = ls_sink_json_member(error, item->end, "reason")) &&
	    ls_sink_json_str(v, item->end, &text, &len) == 0) {
		ls_sink_reason_append(res->reason, sizeof(res->reason), ": ", 2);
		ls_sink_reason_append(res->reason, sizeof(res->reason), text, len);
	}
}

static void es_classify(struct ls_sink *base, long status, const char *body, size_t len,
			const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	struct es_sink *s = (struct es_sink *)base;
	const char *end = body ? body + len : NULL, *errors, *items;
	struct bulk_walk w;
	int64_t retry_ms;
	int errors_false;

	ls_sink_classify_status(status, body, len, retry_after, res);
	if (res->verdict != LS_SINK_OK)
		goto out;
	retry_ms = res->retry_after_ms;
	errors = body ? ls_sink_json_member(body, end, "errors") : NULL;
	errors_false = errors && (size_t)(end - errors) >= 5 && memcmp(errors, "false", 5) == 0;
	items = body ? ls_sink_json_member(body, end, "items") : NULL;
	if (!errors || (errors[0] != 't' && !errors_false) || (errors[0] == 't' && !items) ||
	    (items && *items != '[')) {
		ls_sink_result_set(res, LS_SINK_RETRY, "HTTP %ld: unreadable bulk response: ", status);
		ls_sink_reason_body(res->reason, sizeof(res->reason), body ? body : "",
				    body ? len : 0);
		goto out;
	}
	/* "errors":false is not taken on its word: the items must answer for
	 * the events one for one. A proxy or an imitation of the bulk API
	 * that lists 1 item for 30 events says nothing of the other 29, which
	 * must not count as delivered (their checkpoint would move on). */
	if (res->bad)
		memset(res->bad, 0, nitems);
	if (items)
		walk_items(items, end, nitems, res->bad, &w);
	else
		memset(&w, 0, sizeof(w));
	if (w.npause || w.nretry) {
		ls_sink_result_set(res, w.npause ? LS_SINK_PAUSE : LS_SINK_RETRY,
				   "HTTP %ld: %zu of %zu items were refused for now", status,
				   w.npause + w.nretry, nitems);
		describe_item(res, &w.first_held);
		res->retry_after_ms = retry_ms;
	} else if (errors_false && (!items || (w.complete && w.seen != nitems))) {
		/* a whole answer that is wrong: like an unreadable one, the batch
		 * is sent again (halves would get the same kind of answer) */
		ls_sink_result_set(res, LS_SINK_RETRY,
				   "HTTP %ld: the bulk response says \"errors\":false but lists %zu "
				   "items for %zu events sent; retrying the batch", status, w.seen,
				   nitems);
	} else if (!w.complete || w.seen != nitems) {
		ls_sink_result_set(res, nitems > 1 ? LS_SINK_SPLIT : LS_SINK_RETRY,
				   "HTTP %ld: bulk response lists %zu%s items for %zu sent", status,
				   w.seen, w.complete ? "" : "+", nitems);
	} else if (w.nbad == 0) {
		ls_sink_result_set(res, LS_SINK_OK, "HTTP %ld", status);
	} else {
		ls_sink_result_set(res, w.nbad == nitems ? LS_SINK_BAD :
				   res->bad ? LS_SINK_PARTIAL : LS_SINK_SPLIT,
				   "HTTP %ld: %zu of %zu items rejected", status, w.nbad, nitems);
		res->nbad = w.nbad;
		describe_item(res, &w.first_bad);
	}
out:
	ls_sink_req_scrub(&s->req, res);
}

const struct ls_sink_ops ls_sink_elasticsearch_ops = {
	.scheme = "elasticsearch",
	.open = es_open,
	.free = es_free,
	.encode = es_encode,
	.prefix = NULL,
	.separator = "",
	.suffix = "",
	.request = es_request,
	.classify = es_classify,
	.setup = NULL,
	.compressions = LS_SINK_GZIP,
};

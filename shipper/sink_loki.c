/* sink_loki.c - the Grafana Loki sink: loki+http(s)://host:port through the
 * push API.
 *
 * Request: POST http(s)://host:port/loki/api/v1/push (a path in the URL is
 * kept as a prefix unless it already ends in /loki/api/v1/push; the URL's
 * query is kept). Content-Type: application/json; bodies may be gzip
 * compressed. Secret "user:password" is sent as Basic authentication
 * (Grafana Cloud: instance id and token), a secret without ':' as
 * "Authorization: Bearer <secret>". Tenants: --header 'X-Scope-OrgID: t'.
 *
 * Body: {"streams":[ITEM,ITEM,...]} with one stream per event:
 *   {"stream":{"job":"logship","KEY":"VALUE",...},
 *    "values":[["<@timestamp in ns since the epoch>","<event JSON>"]]}
 * The log line is the event as logship prints it (JSON, without its
 * newline), as a JSON string. Labels: job="logship", then one per --label
 * KEY=FIELD in the order given, its value the event field's text (a list's
 * items joined by ","); a missing or empty field leaves its label out. A
 * --label job=FIELD sets job from that field (still "logship" when the
 * field is missing). Keys must be Prometheus label names
 * ([A-Za-z_][A-Za-z0-9_]*, not starting with "__"). Keep labels few and of
 * low cardinality (dataset, host): every distinct set is a Loki stream.
 *
 * Responses: ls_sink_classify_status(): 204 is success; 429 pauses. A 400
 * is BAD: Loki answers 400 for entries it will not take (out of order, too
 * old, "entry too far behind", line too long, bad labels), and sending
 * them again gives the same answer, so the request's events go to the
 * dead-letter directory with Loki's message as the reason. (Loki may have
 * accepted the request's other entries; re-sending those would have added
 * nothing, as Loki drops exact duplicates.) */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_MAX ((size_t)64 << 20)
#define PUSH_PATH "/loki/api/v1/push"

struct loki_label {
	char *key;
	char *field;
};

struct loki_sink {
	struct ls_sink base;
	struct ls_sink_req req;
	struct loki_label *labels;
	int nlabels;
	const char *job_field; /* from --label job=FIELD, else NULL */
	struct ls_buf scratch;
};

static void loki_free(struct ls_sink *base)
{
	struct loki_sink *s = (struct loki_sink *)base;

	ls_sink_req_release(&s->req);
	for (int i = 0; i < s->nlabels; i++) {
		free(s->labels[i].key);
		free(s->labels[i].field);
	}
	free(s->labels);
	ls_buf_release(&s->scratch);
	free(s);
}

static int label_name_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9') || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int parse_labels(struct loki_sink *s, const struct ls_sink_config *cfg,
			struct ls_error *err)
{
	if (cfg->nlabels <= 0)
		return 0;
	if (!(s->labels = calloc((size_t)cfg->nlabels, sizeof(*s->labels))))
		return ls_error_set(err, LS_ENOMEM, "loki sink: out of memory");
	for (int i = 0; i < cfg->nlabels; i++) {
		const char *l = cfg->labels[i], *eq = l ? strchr(l, '=') : NULL;
		size_t key_len = eq ? (size_t)(eq - l) : 0;
		struct loki_label *lab = &s->labels[s->nlabels];

		if (!eq || !eq[1])
			return ls_error_set(err, LS_EINVAL,
					    "loki sink: --label \"%.64s\" is not KEY=FIELD",
					    l ? l : "");
		if (!label_name_ok(l, key_len))
			return ls_error_set(err, LS_EINVAL,
					    "loki sink: label name \"%.*s\" must match "
					    "[A-Za-z_][A-Za-z0-9_]* and not start with __",
					    (int)(key_len > 64 ? 64 : key_len), l);
		for (int j = 0; j < s->nlabels; j++)
			if (strlen(s->labels[j].key) == key_len &&
			    memcmp(s->labels[j].key, l, key_len) == 0)
				return ls_error_set(err, LS_EINVAL,
						    "loki sink: label \"%.*s\" given twice",
						    (int)key_len, l);
		lab->key = strndup(l, key_len);
		lab->field = strdup(eq + 1);
		s->nlabels++;
		if (!lab->key || !lab->field)
			return ls_error_set(err, LS_ENOMEM, "loki sink: out of memory");
		/* job is written first, in place of the fixed "logship" */
		if (strcmp(lab->key, "job") == 0)
			s->job_field = lab->field;
	}
	return 0;
}

static int loki_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	struct loki_sink *s = calloc(1, sizeof(*s));
	struct ls_sink_url u = { 0 };
	size_t path_len, push_len = strlen(PUSH_PATH);
	int rc;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "loki sink: out of memory");
	s->base.ops = &ls_sink_loki_ops;
	ls_buf_init(&s->scratch, SCRATCH_MAX);
	if ((rc = ls_sink_url_parse(&u, cfg->url, "loki sink", err)) < 0 ||
	    (rc = parse_labels(s, cfg, err)) < 0)
		goto out;
	path_len = strlen(u.path);
	while (path_len > 0 && u.path[path_len - 1] == '/')
		u.path[--path_len] = '\0';
	if (asprintf(&s->req.url, "%s%s%s%s%s", u.origin, u.path,
		     path_len >= push_len && strcmp(u.path + path_len - push_len, PUSH_PATH) == 0 ?
		     "" : PUSH_PATH, *u.query ? "?" : "", u.query) < 0) {
		s->req.url = NULL;
		rc = ls_error_set(err, LS_ENOMEM, "loki sink: out of memory");
		goto out;
	}
	if (ls_sink_req_header(&s->req, "Content-Type", "application/json") < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "loki sink: out of memory");
		goto out;
	}
	if ((rc = ls_sink_req_auth(&s->req, cfg->auth, "Bearer", 1, "loki sink", err)) < 0 ||
	    (rc = ls_sink_req_config_headers(&s->req, cfg, "loki sink", err)) < 0)
		goto out;
	*out = &s->base;
out:
	ls_sink_url_release(&u);
	if (rc < 0)
		loki_free(&s->base);
	return rc;
}

static int put_item(struct loki_sink *s, struct ls_buf *out, const struct ls_event *ev)
{
	const struct ls_field *f;

	if (ls_buf_puts(out, "{\"stream\":{\"job\":") < 0)
		return LS_ENOMEM;
	if (s->job_field && ls_sink_field(ev, s->job_field, &f)) {
		if (ls_sink_field_string(out, f) < 0)
			return LS_ENOMEM;
	} else if (ls_buf_puts(out, "\"logship\"") < 0) {
		return LS_ENOMEM;
	}
	for (int i = 0; i < s->nlabels; i++) {
		if (strcmp(s->labels[i].key, "job") == 0 || !ls_sink_field(ev, s->labels[i].field, &f))
			continue;
		if (ls_sink_put_key(out, s->labels[i].key) < 0 ||
		    ls_sink_field_string(out, f) < 0)
			return LS_ENOMEM;
	}
	if (ls_buf_puts(out, "},\"values\":[[\"") < 0 || ls_sink_put_ns(out, ev->ts_ms) < 0 ||
	    ls_buf_append(out, "\",", 2) < 0 || ls_sink_event_as_string(out, &s->scratch, ev) < 0 ||
	    ls_buf_puts(out, "]]}") < 0)
		return LS_ENOMEM;
	return 0;
}

static int loki_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	size_t start = out->len;

	if (put_item((struct loki_sink *)base, out, ev) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return LS_ENOMEM;
	}
	return 0;
}

static const char *loki_prefix(struct ls_sink *base)
{
	(void)base;
	return "{\"streams\":[";
}

static int loki_request(struct ls_sink *base, const char **url, const char **hdrs, int *nhdrs)
{
	return ls_sink_req_request(&((struct loki_sink *)base)->req, url, hdrs, nhdrs);
}

static void loki_classify(struct ls_sink *base, long status, const char *body, size_t len,
			  const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	ls_sink_req_scrub(&((struct loki_sink *)base)->req, res);
}

const struct ls_sink_ops ls_sink_loki_ops = {
	.scheme = "loki",
	.open = loki_open,
	.free = loki_free,
	.encode = loki_encode,
	.prefix = loki_prefix,
	.separator = ",",
	.suffix = "]}",
	.request = loki_request,
	.classify = loki_classify,
	.setup = NULL,
	.compressions = LS_SINK_GZIP,
};

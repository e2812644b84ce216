/* selftest.c - the examples carried by pattern and rule files, checked. */
#include "selftest.h"

#include "../parsers/json_out.h"
#include "../parsers/timestamp.h"

#include <stdio.h>
#include <string.h>

struct run {
	struct ls_pipeline *p;
	ls_selftest_fail_fn fail_cb;
	void *ctx;
	struct ls_selftest_result *res;
	const struct ls_pentry *entry;
	const char *example;
	int prop;    /* index of the example property */
	int counter; /* a counterexample: the rule must not hit */
	int seen;    /* events seen for the current example */
	struct ls_buf json;
};

/* The text of field name in ev (@timestamp and event.severity included). */
static int field_text(const struct ls_event *ev, const char *name, char tmp[32],
		      const char **s, size_t *len)
{
	const struct ls_field *f = ls_event_get(ev, name);

	if (f) {
		*s = f->val;
		*len = f->len;
		return 1;
	}
	if (strcmp(name, "@timestamp") == 0) {
		*len = (size_t)ls_ts_format(ev->ts_ms, tmp);
		*s = tmp;
		return 1;
	}
	if (strcmp(name, "event.severity") == 0 && ev->severity) {
		*len = (size_t)snprintf(tmp, 32, "%d", ev->severity);
		*s = tmp;
		return 1;
	}
	if (strcmp(name, "message") == 0) {
		*s = ev->line;
		*len = ev->line_len;
		return 1;
	}
	return 0;
}

static int list_has(const char *s, size_t len, const char *want, size_t wlen)
{
	for (const char *end = s + len; s <= end;) {
		const char *sep = memchr(s, LS_LIST_SEP, (size_t)(end - s));
		size_t l = sep ? (size_t)(sep - s) : (size_t)(end - s);
		if (l == wlen && memcmp(s, want, wlen) == 0)
			return 1;
		if (!sep)
			break;
		s = sep + 1;
	}
	return 0;
}

int ls_selftest_expect(const struct ls_event *ev, const char *expect, char *why,
		       size_t n)
{
	const char *eq = strchr(expect, '=');
	char name[128], tmp[32];
	const char *got;
	size_t glen, vlen;

	if (strncmp(expect, "tag:", 4) == 0) {
		if (ls_event_has_tag(ev, expect + 4))
			return 0;
		snprintf(why, n, "tag '%s' missing", expect + 4);
		return -1;
	}
	if (!eq || eq == expect || (size_t)(eq - expect) >= sizeof(name)) {
		snprintf(why, n, "bad expect line '%s' (field=value or tag:NAME)", expect);
		return -1;
	}
	memcpy(name, expect, (size_t)(eq - expect));
	name[eq - expect] = '\0';
	vlen = strlen(eq + 1);
	if (!field_text(ev, name, tmp, &got, &glen)) {
		snprintf(why, n, "field %s: expected '%s', got nothing", name, eq + 1);
		return -1;
	}
	if (list_has(got, glen, eq + 1, vlen))
		return 0;
	snprintf(why, n, "field %s: expected '%s', got '%.*s'", name, eq + 1,
		 (int)(glen > 200 ? 200 : glen), got);
	return -1;
}

static void fail(struct run *r, const char *why, const struct ls_event *ev)
{
	r->res->failed++;
	r->json.len = 0;
	if (ev && ls_json_event(&r->json, ev) == 0 && r->json.len > 0)
		r->json.data[--r->json.len] = '\0'; /* drop the newline */
	r->fail_cb(r->ctx, r->entry, r->example, r->entry->props[r->prop].line, why,
		   ev && r->json.data ? r->json.data : NULL);
}

/* Checks the expect lines that follow the example. */
static void check_expects(struct run *r, const struct ls_event *ev)
{
	const struct ls_pentry *e = r->entry;
	char why[512];

	for (int i = r->prop + 1; i < e->nprops && strcmp(e->props[i].key, "expect") == 0; i++) {
		if (ls_selftest_expect(ev, e->props[i].value, why, sizeof(why)) < 0) {
			fail(r, why, ev);
			return;
		}
	}
}

static int is_alert(const struct ls_event *ev)
{
	const struct ls_field *kind = ls_event_get(ev, "event.kind");

	return kind && kind->len == 5 && memcmp(kind->val, "alert", 5) == 0;
}

/* Receives the event of a rule example (alerts from thresholds skipped). */
static int on_rule_event(void *vctx, struct ls_event *ev)
{
	struct run *r = vctx;
	const struct ls_field *rid = ls_event_get(ev, "rule.id");
	int hit = rid && strlen(r->entry->name) == rid->len &&
		  memcmp(rid->val, r->entry->name, rid->len) == 0;
	char why[256];

	if (is_alert(ev) || r->seen++)
		return 0;
	if (r->counter) {
		if (hit)
			fail(r, "counterexample hits the rule", ev);
		return 0;
	}
	if (!hit) {
		snprintf(why, sizeof(why), "rule did not hit (rule.id is '%.*s')",
			 rid ? (int)rid->len : 4, rid ? rid->val : "none");
		fail(r, why, ev);
		return 0;
	}
	check_expects(r, ev);
	return 0;
}

static int test_rule_example(struct run *r)
{
	struct ls_stream *s;
	int rc;

	r->seen = 0;
	if (ls_stream_new(r->p, &s, NULL, 0) < 0)
		return LS_ENOMEM;
	rc = ls_stream_line(s, r->example, strlen(r->example), 0, 0, on_rule_event, r);
	if (rc >= 0)
		rc = ls_stream_flush(s, on_rule_event, r);
	ls_stream_free(s);
	return rc;
}

static void test_format_example(struct run *r, struct ls_event *ev)
{
	struct ls_catalog *cat = ls_pipeline_catalog(r->p);
	struct ls_tsctx *ts = ls_pipeline_ts(r->p);
	int idx = ls_formats_find(cat->formats, r->entry->name);
	size_t len = strlen(r->example);

	ls_event_reset(ev);
	ev->line = r->example;
	ev->line_len = len;
	ev->ts_ms = ts->now_ms;
	if (idx < 0 || ls_formats_parse(cat->formats, idx, ts, ev, r->example, len) <= 0) {
		fail(r, "the format does not parse its example", NULL);
		return;
	}
	check_expects(r, ev);
}

static int selected(const struct ls_pentry *e, const char *name, const char *file)
{
	if (strcmp(e->kind, "rule") != 0 && strcmp(e->kind, "format") != 0)
		return 0;
	if (file)
		return strcmp(e->origin, file) == 0;
	return !name || strcmp(e->name, name) == 0;
}

static int test_entry(struct run *r, struct ls_event *ev)
{
	const struct ls_pentry *e = r->entry;
	int is_rule = strcmp(e->kind, "rule") == 0;

	for (int i = 0; i < e->nprops; i++) {
		r->counter = strcmp(e->props[i].key, "counterexample") == 0;
		if (strcmp(e->props[i].key, "example") != 0 && !(r->counter && is_rule))
			continue;
		r->example = e->props[i].value;
		r->prop = i;
		r->res->examples++;
		if (!is_rule)
			test_format_example(r, ev);
		else if (test_rule_example(r) == LS_ENOMEM)
			return LS_ENOMEM;
	}
	return 0;
}

int ls_selftest_run(struct ls_pipeline *p, const char *name, const char *file,
		    ls_selftest_fail_fn fail_cb, void *ctx, struct ls_selftest_result *res)
{
	struct ls_catalog *cat = ls_pipeline_catalog(p);
	struct run r = {.p = p, .fail_cb = fail_cb, .ctx = ctx, .res = res};
	struct ls_event ev;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (ls_event_init(&ev, 4 << 20) < 0)
		return LS_ENOMEM;
	ls_buf_init(&r.json, 0);
	for (int f = 0; f < cat->nfiles && rc == 0; f++) {
		for (int k = 0; k < cat->files[f]->nentries && rc == 0; k++) {
			r.entry = &cat->files[f]->entries[k];
			if (!selected(r.entry, name, file))
				continue;
			res->entries++;
			rc = test_entry(&r, &ev);
		}
	}
	ls_buf_release(&r.json);
	ls_event_release(&ev);
	return rc;
}

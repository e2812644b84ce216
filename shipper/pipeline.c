/* pipeline.c - from lines to tagged, redacted events. */
#include "pipeline.h"
#include "reader.h"

#include "../parsers/json_out.h"
#include "../parsers/matcher.h"
#include "../parsers/multiline.h"
#include "../parsers/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAMPLE_LINES 32
#define SAMPLE_BYTES (64 << 10)
#define ALERT_ARENA (64 << 10)

struct ls_pipeline {
	struct ls_pipeline_opts o;
	struct ls_catalog *cat;
	struct ls_tsctx ts;
	struct ls_matcher *custom;   /* -e */
	struct ls_matcher *ml_start; /* --multiline-start */
	int fixed;                   /* format index, or -1 for auto */
	struct ls_event ev, alert;
	char host[256];
	struct ls_pipeline_stats stats;
	uint64_t *format_counts;
	ls_catalog_warn_fn warn;     /* kept for the regex-limit warning */
	void *warn_ctx;
	int warned_limit;            /* that warning is given once */
};

struct sample_line {
	size_t at, len;
	uint64_t offset;
	unsigned flags;
};

struct ls_stream {
	struct ls_pipeline *p;
	char *path;
	size_t path_len;
	uint64_t fingerprint;
	int format;   /* detected or fixed format, -1 unknown */
	int sampling; /* still collecting the detection sample */
	int nsample;
	struct sample_line *sample; /* SAMPLE_LINES, only while sampling: a
				     * stream is kept per followed file */
	struct ls_buf sample_buf;
	struct ls_multiline *ml; /* NULL: no joining */
	struct ls_partial *parts; /* lines split by a container runtime being
				   * joined; NULL until the first part */
	int nparts_pending;       /* lines pending in parts */
	struct ls_tracejoin *traces; /* a container's records waiting for the
				      * continuation lines of their stream;
				      * NULL until the first */
	int trace_rule;           /* the format of the last such record whose
				   * line had continuation lines, or -1 */
	unsigned long nomem_seen; /* ls_matcher_nomem_hits() when made */
};

static const char *const tag_truncated = "truncated";
static const char *const tag_unparsed = "unparsed";
static const char *const tag_invalid_utf8 = "invalid_utf8";
static const char *const tag_regex_limit = "regex_limit";

int ls_pipeline_new(struct ls_pipeline **out, const struct ls_pipeline_opts *o,
		    ls_catalog_warn_fn warn, void *ctx, struct ls_error *err)
{
	struct ls_pipeline *p = calloc(1, sizeof(*p));
	size_t arena;
	int rc;

	*out = p;
	if (!p)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	p->o = *o;
	p->warn = warn;
	p->warn_ctx = ctx;
	if (!p->o.max_line)
		p->o.max_line = (size_t)1 << 20;
	if (!p->o.multiline_max_bytes)
		p->o.multiline_max_bytes = LS_MULTILINE_MAX_BYTES;
	if (!p->o.multiline_max_lines)
		p->o.multiline_max_lines = LS_MULTILINE_MAX_LINES;
	p->fixed = -1;
	rc = ls_ts_init(&p->ts, o->now_ms, o->tz);
	if (rc < 0)
		return ls_error_set(err, rc, "unknown time zone '%s'", o->tz ? o->tz : "");
	rc = ls_catalog_load(&p->cat, o->patterns_dir, warn, ctx, err);
	if (rc < 0)
		return rc;
	if (o->regex) {
		struct ls_grok_fields fields;
		char *re;
		rc = ls_catalog_check_regex(o->regex, err);
		if (rc < 0)
			return rc;
		re = ls_grok_expand(p->cat->grok, o->regex, &fields, err);
		if (!re)
			return err ? err->code : LS_EINVAL;
		rc = ls_matcher_compile_fields(&p->custom, re, 0, fields.fields,
					       fields.n, NULL, err);
		free(re);
		ls_grok_fields_release(&fields);
		if (rc < 0)
			return rc;
	} else if (o->format && strcmp(o->format, "auto") != 0) {
		p->fixed = ls_formats_find(p->cat->formats, o->format);
		if (p->fixed < 0) {
			const char *near = ls_formats_suggest(p->cat->formats, o->format);
			if (near)
				return ls_error_set(err, LS_ENOENT, "unknown format '%s'; "
						    "did you mean '%s'?", o->format, near);
			return ls_error_set(err, LS_ENOENT, "unknown format '%s' (see "
					    "'logship patterns list')", o->format);
		}
	}
	if (o->multiline_start) {
		rc = ls_matcher_compile(&p->ml_start, o->multiline_start, 0, NULL, err);
		if (rc < 0)
			return rc;
	}
	arena = 4 * (p->o.max_line > p->o.multiline_max_bytes ? p->o.max_line
							       : p->o.multiline_max_bytes) + (64 << 10);
	if (ls_event_init(&p->ev, arena) < 0 || ls_event_init(&p->alert, ALERT_ARENA) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	p->format_counts = calloc((size_t)ls_formats_count(p->cat->formats) + 1,
				  sizeof(*p->format_counts));
	if (!p->format_counts)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	/* built now, not on the first line: no event goes out untagged
	 * because memory ran short for it */
	if (!p->o.no_tag && ls_rules_prepare(p->cat->rules) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	if (gethostname(p->host, sizeof(p->host) - 1) < 0)
		strcpy(p->host, "localhost");
	return 0;
}

void ls_pipeline_free(struct ls_pipeline *p)
{
	if (!p)
		return;
	ls_matcher_free(p->custom);
	ls_matcher_free(p->ml_start);
	ls_event_release(&p->ev);
	ls_event_release(&p->alert);
	ls_catalog_free(p->cat);
	free(p->format_counts);
	free(p);
}

void ls_pipeline_set_now(struct ls_pipeline *p, int64_t now_ms)
{
	p->ts.now_ms = now_ms;
}

struct ls_catalog *ls_pipeline_catalog(struct ls_pipeline *p)
{
	return p->cat;
}

struct ls_tsctx *ls_pipeline_ts(struct ls_pipeline *p)
{
	return &p->ts;
}

const struct ls_pipeline_stats *ls_pipeline_stats(const struct ls_pipeline *p)
{
	return &p->stats;
}

uint64_t ls_pipeline_format_count(const struct ls_pipeline *p, int idx)
{
	return idx >= 0 && idx < ls_formats_count(p->cat->formats) ? p->format_counts[idx] : 0;
}

static int stream_setup_multiline(struct ls_stream *s)
{
	struct ls_pipeline *p = s->p;

	if (s->ml || !(p->ml_start || ls_formats_multiline(p->cat->formats, s->format)))
		return 0;
	return ls_multiline_new(&s->ml, p->o.multiline_max_lines, p->o.multiline_max_bytes);
}

int ls_stream_new(struct ls_pipeline *p, struct ls_stream **out, const char *path,
		  uint64_t fingerprint)
{
	struct ls_stream *s = calloc(1, sizeof(*s));

	*out = s;
	if (!s)
		return LS_ENOMEM;
	s->p = p;
	s->fingerprint = fingerprint;
	s->nomem_seen = ls_matcher_nomem_hits();
	if (path && !(s->path = strdup(path)))
		return LS_ENOMEM;
	s->path_len = path ? strlen(path) : 0;
	s->format = p->fixed;
	s->trace_rule = -1;
	s->sampling = !p->custom && p->fixed < 0;
	ls_buf_init(&s->sample_buf, 0);
	return stream_setup_multiline(s);
}

void ls_stream_free(struct ls_stream *s)
{
	if (!s)
		return;
	ls_multiline_free(s->ml);
	ls_partial_free(s->parts);
	ls_tracejoin_free(s->traces);
	ls_buf_release(&s->sample_buf);
	free(s->sample);
	free(s->path);
	free(s);
}

int ls_stream_set_path(struct ls_stream *s, const char *path)
{
	char *copy;

	if (s->path && path && strcmp(s->path, path) == 0)
		return 0;
	copy = path ? strdup(path) : NULL;
	if (path && !copy)
		return LS_ENOMEM;
	free(s->path);
	s->path = copy;
	s->path_len = path ? strlen(path) : 0;
	return 0;
}

void ls_stream_set_fingerprint(struct ls_stream *s, uint64_t fingerprint)
{
	s->fingerprint = fingerprint;
}

const char *ls_stream_format(const struct ls_stream *s)
{
	return ls_formats_name(s->p->cat->formats, s->format);
}

/* Parses the record's first line with -e, the fixed format or any format
 * (the detected one first). Returns the format index, -1 unparsed, or
 * LS_FORMAT_CUSTOM for -e. */
#define LS_FORMAT_CUSTOM (-2)
static int parse_first_line(struct ls_stream *s, const char *line, size_t len)
{
	struct ls_pipeline *p = s->p;
	struct ls_event *ev = &p->ev;

	if (p->custom) {
		if (ls_matcher_exec(p->custom, line, len) <= 0)
			return -1;
		for (int i = 0; i < ls_matcher_ngroups(p->custom); i++) {
			const char *v;
			size_t n;
			int type;
			const char *name = ls_matcher_group_field(p->custom, i, &type);
			if (ls_matcher_group(p->custom, i, &v, &n) == 0)
				ls_event_set(ev, name, v, n, type);
		}
		ls_formats_take_timestamp(ev, &p->ts);
		return LS_FORMAT_CUSTOM;
	}
	if (p->fixed >= 0)
		return ls_formats_parse(p->cat->formats, p->fixed, &p->ts, ev, line, len) > 0
			       ? p->fixed : -1;
	return ls_formats_parse_any(p->cat->formats, s->format, &p->ts, ev, line, len);
}

/* message = (captured message or first line) + the continuation lines. */
static void join_message(struct ls_event *ev, const struct ls_record *rec)
{
	const struct ls_field *m = ls_event_get(ev, "message");
	const char *head = m ? m->val : rec->text;
	size_t hlen = m ? m->len : rec->first_len;
	size_t rest = rec->len - rec->first_len;
	char *joined = ls_event_alloc(ev, hlen + rest);

	if (!joined)
		return;
	memcpy(joined, head, hlen);
	memcpy(joined + hlen, rec->text + rec->first_len, rest);
	ls_event_set(ev, "message", joined, hlen + rest, LS_F_STR);
}

/* event.id: a hash of the host, the input's fingerprint, the record's
 * offset and its bytes (the line as read, before redaction). */
static void set_event_id(struct ls_stream *s, struct ls_event *ev, const struct ls_record *rec)
{
	struct ls_pipeline *p = s->p;
	char *id = p->o.count_only ? NULL : ls_event_alloc(ev, 17);

	if (!id)
		return;
	ls_event_id(p->host, s->fingerprint, rec->offset, rec->text, rec->len, id);
	ls_event_set(ev, "event.id", id, 16, LS_F_STR);
}

static void add_meta(struct ls_stream *s, struct ls_event *ev, const struct ls_record *rec)
{
	ls_event_set_own(ev, "event.kind", "event", 5, LS_F_STR);
	if (s->path) {
		ls_event_set(ev, "log.file.path", s->path, s->path_len, LS_F_STR);
		ls_event_set_int(ev, "log.offset", (long long)rec->offset);
	}
	if (rec->flags & LS_LINE_TRUNCATED) {
		ev->flags |= LS_EV_TRUNCATED;
		ls_event_add_tag(ev, tag_truncated);
	}
	if (!ls_utf8_valid(rec->text, rec->len)) {
		ev->flags |= LS_EV_INVALID_UTF8;
		ls_event_add_tag(ev, tag_invalid_utf8);
	}
}

/* An alert gets an id of its own (from the line that set it off and its
 * rule) and that line's file and offset, so a sink can de-duplicate it and
 * ship knows which file position it belongs to. */
static void alert_meta(struct ls_stream *s, struct ls_event *alert, const struct ls_record *rec)
{
	const struct ls_field *rule = ls_event_get(alert, "rule.id");
	char *id = ls_event_alloc(alert, 17);

	alert->offset = rec->offset;
	if (id && rule && !ls_event_get(alert, "event.id")) {
		ls_event_id(s->p->host, s->fingerprint ^ 0xa1e27ULL, rec->offset, rule->val, rule->len, id);
		ls_event_set(alert, "event.id", id, 16, LS_F_STR);
	}
	if (s->path && !ls_event_get(alert, "log.file.path"))
		ls_event_set(alert, "log.file.path", s->path, s->path_len, LS_F_STR);
}

/* A regex gave up on this record (catastrophic backtracking): it counted
 * as no match; the event says so, and the first time a warning too. */
static void regex_limit_hit(struct ls_stream *s, struct ls_event *ev,
			    const struct ls_record *rec)
{
	struct ls_pipeline *p = s->p;
	char msg[512];

	ls_event_add_tag(ev, tag_regex_limit);
	if (p->warned_limit || !p->warn)
		return;
	p->warned_limit = 1;
	snprintf(msg, sizeof(msg), "%.300s: a regular expression hit its backtracking "
		 "limit on the line at offset %llu: taken as no match, the event is "
		 "tagged %s (reported once)", s->path ? s->path : "(standard input)",
		 (unsigned long long)rec->offset, tag_regex_limit);
	p->warn(p->warn_ctx, msg);
}

/* Starts the event of a record: its text, offset and read time. */
static void event_start(struct ls_stream *s, const char *text, size_t len, uint64_t offset)
{
	struct ls_event *ev = &s->p->ev;

	ls_event_reset(ev);
	ev->line = text;
	ev->line_len = len;
	ev->offset = offset;
	ev->ts_ms = s->p->ts.now_ms;
}

/* The rest of a record's way once its format parsed it (fmt, -1 when none
 * did): multi-line message, meta fields, tagging, redaction, the id; then
 * out through emit with its alert. limit_hits: ls_matcher_limit_hits()
 * before the record's first regex ran. */
static int finish_record(struct ls_stream *s, const struct ls_record *rec, int fmt,
			 unsigned long limit_hits, ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	struct ls_event *ev = &p->ev;
	int alerted = 0, rc;

	if (fmt == -1) {
		ev->flags |= LS_EV_UNPARSED;
		ls_event_add_tag(ev, tag_unparsed);
		p->stats.unparsed++;
	} else if (fmt >= 0) {
		p->format_counts[fmt]++;
	}
	if (rec->nlines > 1 && rec->first_len < rec->len)
		join_message(ev, rec);
	add_meta(s, ev, rec);
	if (!p->o.no_tag) {
		if (ls_rules_apply(p->cat->rules, ev, &p->alert, &alerted) < 0)
			alerted = 0;
	}
	if (ls_matcher_limit_hits() != limit_hits)
		regex_limit_hit(s, ev, rec);
	if (!p->o.no_redact && !p->o.count_only && ls_redact_event(ev) < 0)
		ls_event_set_str(ev, "message", "[REDACTED:unredactable]");
	/* after redaction: an id of 16 digits can pass for a card number */
	set_event_id(s, ev, rec);
	/* a regex that could not run (detection, parsing, tagging) answered
	 * "no match" for want of memory: the event would be silently wrong */
	if (ls_matcher_nomem_hits() != s->nomem_seen)
		return LS_ENOMEM;
	p->stats.events++;
	rc = emit(ctx, ev);
	if (rc < 0 || !alerted)
		return rc;
	p->stats.alerts++;
	alert_meta(s, &p->alert, rec);
	return emit(ctx, &p->alert);
}

/* ---- continuation lines of a container's records -----------------------
 *
 * An app in a container writes through the runtime, which makes each of
 * its lines a record: a Java stack trace, a Python traceback or a Go panic
 * comes as one record per line. A record whose line was parsed by a format
 * with continuation lines ("multiline:"), or any record under
 * --multiline-start, waits in s->traces for the next lines of its stream
 * (stdout, stderr); a line that continues it (by that format's kinds, and
 * parsed by no format; or not matching --multiline-start) joins its
 * message, as the lines of a plain file's record do, and what is not a
 * continuation ends it. A record that waits keeps a copy of its parsed
 * event (ev goes on to the next record), restored when it leaves the
 * queue: then its way ends as any record's (finish_record()). A record no
 * line can continue, with nothing waiting before it, goes straight out. */

/* The head of a kept event, then its tags, its fields, its arena's bytes
 * and the bytes of the values that were neither in the line nor in the
 * arena. Values in the arena are kept by address: the arena is ev's, put
 * back as it was; values in the line by their offset in it (redaction
 * tells a value inside the line from one outside). */
struct kept_event {
	int64_t ts_ms;
	uint64_t offset;
	int format, severity, nfields, ntags;
	unsigned flags;
	int fmt;                   /* the record's format (finish_record()) */
	unsigned long limit_delta; /* regex limit hits while it was read */
	size_t arena_len, other_len;
};

enum { KEPT_ARENA, KEPT_LINE, KEPT_OTHER };

struct kept_field {
	struct ls_field f; /* val rewritten on the way back unless KEPT_ARENA */
	size_t at;         /* offset in the line or in the other bytes */
	int where;
};

static int kept_where(const struct ls_event *ev, const struct ls_field *f, size_t *at)
{
	uintptr_t v = (uintptr_t)f->val;

	if (!f->val || (v - (uintptr_t)ev->arena <= ev->arena_len &&
			f->len <= ev->arena_len - (v - (uintptr_t)ev->arena)))
		return KEPT_ARENA;
	if (ev->line && v - (uintptr_t)ev->line <= ev->line_len &&
	    f->len <= ev->line_len - (v - (uintptr_t)ev->line)) {
		*at = (size_t)(v - (uintptr_t)ev->line);
		return KEPT_LINE;
	}
	return KEPT_OTHER;
}

/* Copies ev (whose line is the record's text) into out. 0 or LS_ENOMEM. */
static int keep_event(const struct ls_event *ev, int fmt, unsigned long limit_delta,
		      struct ls_buf *out)
{
	struct kept_event k;
	size_t tags_at = sizeof(k), fields_at, arena_at, other_at, other = 0;

	for (int i = 0; i < ev->nfields; i++) {
		size_t at;
		if (kept_where(ev, &ev->fields[i], &at) == KEPT_OTHER)
			other += ev->fields[i].len;
	}
	memset(&k, 0, sizeof(k));
	k.ts_ms = ev->ts_ms;
	k.offset = ev->offset;
	k.format = ev->format;
	k.severity = ev->severity;
	k.nfields = ev->nfields;
	k.ntags = ev->ntags;
	k.flags = ev->flags;
	k.fmt = fmt;
	k.limit_delta = limit_delta;
	k.arena_len = ev->arena_len;
	k.other_len = other;
	fields_at = tags_at + (size_t)ev->ntags * sizeof(ev->tags[0]);
	arena_at = fields_at + (size_t)ev->nfields * sizeof(struct kept_field);
	other_at = arena_at + ev->arena_len;
	out->len = 0;
	if (ls_buf_reserve(out, other_at + other) < 0)
		return LS_ENOMEM;
	memcpy(out->data, &k, sizeof(k));
	memcpy(out->data + tags_at, ev->tags, (size_t)ev->ntags * sizeof(ev->tags[0]));
	other = 0;
	for (int i = 0; i < ev->nfields; i++) {
		struct kept_field kf;
		memset(&kf, 0, sizeof(kf));
		kf.f = ev->fields[i];
		kf.where = kept_where(ev, &kf.f, &kf.at);
		if (kf.where == KEPT_OTHER) {
			kf.at = other;
			memcpy(out->data + other_at + other, kf.f.val, kf.f.len);
			other += kf.f.len;
		}
		memcpy(out->data + fields_at + (size_t)i * sizeof(kf), &kf, sizeof(kf));
	}
	memcpy(out->data + arena_at, ev->arena, ev->arena_len);
	out->len = other_at + other;
	return 0;
}

/* Puts a kept event back into ev, its line being text (the record's text,
 * then its continuation lines). LS_ENOMEM when it was not kept. */
static int restore_event(struct ls_event *ev, const char *kept, size_t kept_len,
			 const char *text, size_t len, int *fmt, unsigned long *limit_delta)
{
	struct kept_event k;
	size_t fields_at, arena_at, other_at;

	ls_event_reset(ev);
	ev->line = text;
	ev->line_len = len;
	if (kept_len < sizeof(k))
		return LS_ENOMEM;
	memcpy(&k, kept, sizeof(k));
	fields_at = sizeof(k) + (size_t)k.ntags * sizeof(ev->tags[0]);
	arena_at = fields_at + (size_t)k.nfields * sizeof(struct kept_field);
	other_at = arena_at + k.arena_len;
	if (kept_len != other_at + k.other_len || k.arena_len > ev->arena_cap)
		return LS_ENOMEM;
	ev->ts_ms = k.ts_ms;
	ev->offset = k.offset;
	ev->format = k.format;
	ev->severity = k.severity;
	ev->flags = k.flags;
	ev->ntags = k.ntags;
	memcpy(ev->tags, kept + sizeof(k), (size_t)k.ntags * sizeof(ev->tags[0]));
	memcpy(ev->arena, kept + arena_at, k.arena_len);
	ev->arena_len = k.arena_len;
	for (int i = 0; i < k.nfields; i++) {
		struct kept_field kf;
		memcpy(&kf, kept + fields_at + (size_t)i * sizeof(kf), sizeof(kf));
		if (kf.where == KEPT_LINE)
			kf.f.val = text + kf.at;
		else if (kf.where == KEPT_OTHER)
			kf.f.val = kept + other_at + kf.at;
		ev->fields[i] = kf.f;
	}
	ev->nfields = k.nfields;
	*fmt = k.fmt;
	*limit_delta = k.limit_delta;
	return 0;
}

/* Sends the records at the head of the queue that may leave, in the order
 * they were read. */
static int traces_drain(struct ls_stream *s, ls_emit_fn emit, void *ctx)
{
	struct ls_trace_record tr;
	struct ls_record rec;
	unsigned long limit_delta;
	int fmt, rc = 0;

	while (rc >= 0 && ls_tracejoin_next(s->traces, &tr) > 0) {
		rc = restore_event(&s->p->ev, tr.saved, tr.saved_len, tr.text, tr.len, &fmt,
				   &limit_delta);
		if (rc == 0) {
			rec.text = tr.text;
			rec.len = tr.len;
			rec.first_len = tr.first_len;
			rec.offset = tr.offset;
			rec.flags = tr.flags;
			rec.nlines = tr.nlines;
			rc = finish_record(s, &rec, fmt, ls_matcher_limit_hits() - limit_delta,
					   emit, ctx);
		}
		ls_tracejoin_pop(s->traces);
	}
	return rc;
}

#define INNER_NOT_READ (-3)

static int is_blank(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
			return 0;
	return 1;
}

/* A whole line of a container stream: ev holds its record's own fields,
 * read with format fmt, the line in it not parsed yet; joined is the line
 * when the runtime split it (NULL: the record's own). A continuation line
 * of its stream's open record joins that record; any other line is parsed,
 * then sent, or kept while continuation lines may follow it. */
static int container_line(struct ls_stream *s, const struct ls_record *rec, int fmt,
			  const char *joined, size_t joined_len, unsigned long limit_hits,
			  ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	struct ls_formats *formats = p->cat->formats;
	struct ls_event *ev = &p->ev;
	struct ls_part part;
	const char *text;
	size_t len;
	int id = -1, rule = -1, inner = INNER_NOT_READ, open, rc;

	if (!ls_formats_part(formats, fmt, ev, &part)) {
		/* not a container's format: nothing of this applies */
		ls_formats_reparse(formats, fmt, &p->ts, ev, joined, joined_len);
		return finish_record(s, rec, fmt, limit_hits, emit, ctx);
	}
	text = joined ? joined : part.text;
	len = joined ? joined_len : part.len;
	/* the line without the newline the runtime keeps (as the reparse) */
	if (len > 0 && text[len - 1] == '\n') {
		len--;
		if (len > 0 && text[len - 1] == '\r')
			len--;
	}
	if (s->traces)
		id = ls_tracejoin_open(s->traces, part.key, part.key_len, &rule);
	if (id >= 0) {
		int cont;
		if (p->ml_start)
			cont = ls_matcher_exec(p->ml_start, text, len) <= 0;
		else
			/* a continuation line of the open record's format that
			 * no format parses (a JSON or log4j line after a JSON
			 * one is a record of its own) */
			cont = ls_formats_continues(formats, rule, text, len) &&
			       (inner = ls_formats_reparse(formats, fmt, &p->ts, ev, joined,
							   joined_len)) < 0;
		if (cont) {
			rc = ls_tracejoin_add(s->traces, id, text, len, rec->flags);
			if (rc <= 0)
				return rc;
			/* past a cap: the line starts the next record, which
			 * the continuation lines after it join */
		} else {
			rule = -1;
		}
	}
	if (inner == INNER_NOT_READ)
		inner = ls_formats_reparse(formats, fmt, &p->ts, ev, joined, joined_len);
	if (ls_formats_multiline(formats, inner)) {
		if (rule < 0)
			rule = inner;
		s->trace_rule = inner;
	} else if (rule < 0 && inner < 0 && s->trace_rule >= 0 && !is_blank(text, len) &&
		   ls_formats_continues(formats, s->trace_rule, text, len)) {
		/* a continuation line with no record of its stream to join (its
		 * record went out at a pause; an uncaught exception or a panic
		 * the runtime wrote): it starts one, which the next lines join */
		rule = s->trace_rule;
	}
	open = p->ml_start || rule >= 0;
	if (!open && (!s->traces || ls_tracejoin_count(s->traces) == 0))
		return finish_record(s, rec, fmt, limit_hits, emit, ctx);
	if (!s->traces && ls_tracejoin_new(&s->traces, p->o.multiline_max_lines,
					   p->o.multiline_max_bytes) < 0)
		return LS_ENOMEM;
	id = ls_tracejoin_push(s->traces, part.key, part.key_len, ev->line, ev->line_len,
			       rec->offset, rec->flags, rec->nlines, open, rule);
	if (id < 0)
		return id == LS_EBUSY ? LS_ENOMEM : id;
	rc = keep_event(ev, fmt, ls_matcher_limit_hits() - limit_hits,
			ls_tracejoin_saved(s->traces, id));
	if (rc < 0)
		return rc;
	return traces_drain(s, emit, ctx);
}

/* ---- lines split by a container runtime -------------------------------
 *
 * A record of the stream's own format that is a part ("partial:" in its
 * format: a CRI "P" record, a Docker one without its final newline) is held
 * with the next parts of its stream until the one that ends the line. The
 * line then goes out as one event: the last part's fields, the first
 * part's time and offset, the parts' texts end to end as the container's
 * line, parsed again like a whole record's. Parts are only copied: a
 * record that is not a part never touches this. */

/* Finishes a joined line: ev holds a record of its format (the last part,
 * or the first read again) without its reparse. */
static int finish_joined(struct ls_stream *s, const struct ls_partial_line *line,
			 unsigned long limit_hits, ls_emit_fn emit, void *ctx)
{
	struct ls_event *ev = &s->p->ev;
	struct ls_record rec;
	int rc;

	rec.text = line->text;
	rec.len = line->len;
	rec.first_len = line->len;
	rec.offset = line->offset;
	rec.flags = line->flags | (line->cut ? LS_LINE_TRUNCATED : 0);
	rec.nlines = line->nparts;
	/* the event's text is the joined line: a UTF-8 character the runtime
	 * cut in two is whole again there */
	ev->line = rec.text;
	ev->line_len = rec.len;
	ev->offset = rec.offset;
	ev->ts_ms = line->ts_ms;
	rc = container_line(s, &rec, line->format, line->text, line->len, limit_hits, emit, ctx);
	ls_partial_trim(s->parts);
	return rc;
}

/* Sends the line pending in slot as it is (its end did not come). */
static int emit_pending(struct ls_stream *s, int slot, ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	unsigned long limit_hits = ls_matcher_limit_hits();
	struct ls_partial_line line;

	ls_partial_take(s->parts, slot, &line);
	s->nparts_pending--;
	event_start(s, line.text, line.len, line.offset);
	/* the first part parsed when it came: its fields (stream, tag) again */
	if (ls_formats_parse_outer(p->cat->formats, line.format, &p->ts, &p->ev,
				   line.first, line.first_len) <= 0)
		return LS_ENOMEM;
	return finish_joined(s, &line, limit_hits, emit, ctx);
}

/* Sends every pending line, the one read first first. */
static int emit_all_pending(struct ls_stream *s, ls_emit_fn emit, void *ctx)
{
	int slot, rc = 0;

	while (rc >= 0 && s->nparts_pending > 0 && (slot = ls_partial_oldest(s->parts)) >= 0)
		rc = emit_pending(s, slot, emit, ctx);
	return rc;
}

/* Starts a line with its first part (ev holds the part, parsed). */
static int hold_first_part(struct ls_stream *s, const struct ls_record *rec,
			   const struct ls_part *part, int fmt)
{
	struct ls_pipeline *p = s->p;
	int slot;

	if (!s->parts && ls_partial_new(&s->parts, p->o.multiline_max_bytes < p->o.max_line
				       ? p->o.multiline_max_bytes : p->o.max_line) < 0)
		return LS_ENOMEM;
	slot = ls_partial_start(s->parts, part->key, part->key_len, rec->text, rec->len,
				rec->offset, p->ev.ts_ms, fmt);
	if (slot < 0)
		return slot;
	s->nparts_pending++;
	return ls_partial_append(s->parts, slot, part->text, part->len, rec->flags);
}

static int process_record(struct ls_stream *s, const struct ls_record *rec,
			  ls_emit_fn emit, void *ctx);

/* A record while lines are pending: the next part of one, a part starting
 * another stream's line, a whole record of another stream, or a record of
 * some other kind, before which the pending lines go out as they are. */
static int process_with_pending(struct ls_stream *s, const struct ls_record *rec,
				ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	struct ls_formats *formats = p->cat->formats;
	unsigned long limit_hits = ls_matcher_limit_hits();
	struct ls_partial_line line;
	struct ls_part part;
	int slot, rc;

	event_start(s, rec->text, rec->len, rec->offset);
	if (rec->nlines > 1 ||
	    ls_formats_parse_outer(formats, s->format, &p->ts, &p->ev, rec->text, rec->len) <= 0) {
		rc = emit_all_pending(s, emit, ctx);
		return rc < 0 ? rc : process_record(s, rec, emit, ctx);
	}
	ls_formats_part(formats, s->format, &p->ev, &part);
	slot = ls_partial_find(s->parts, part.key, part.key_len);
	if (slot < 0 && !part.more) /* a whole line of another stream */
		return container_line(s, rec, s->format, NULL, 0, limit_hits, emit, ctx);
	if (slot < 0) {
		rc = hold_first_part(s, rec, &part, s->format);
		if (rc != LS_EBUSY)
			return rc;
		/* a third key: the oldest line makes room (which reuses the
		 * event), then the record is read again */
		rc = emit_pending(s, ls_partial_oldest(s->parts), emit, ctx);
		return rc < 0 ? rc : process_record(s, rec, emit, ctx);
	}
	rc = ls_partial_append(s->parts, slot, part.text, part.len, rec->flags);
	if (rc < 0 || part.more)
		return rc;
	ls_partial_take(s->parts, slot, &line);
	s->nparts_pending--;
	return finish_joined(s, &line, limit_hits, emit, ctx);
}

static int process_record(struct ls_stream *s, const struct ls_record *rec,
			  ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	struct ls_formats *formats = p->cat->formats;
	unsigned long limit_hits = ls_matcher_limit_hits();
	struct ls_part part;
	int fmt, rc;

	if (s->nparts_pending > 0)
		return process_with_pending(s, rec, emit, ctx);
	event_start(s, rec->text, rec->len, rec->offset);
	/* the stream's own format, when it joins split lines, is read in two
	 * steps: its record (a part is held there), then the line in it; a
	 * record of any other format is read whole (a part stays alone) */
	if (rec->nlines == 1 && ls_formats_partial(formats, s->format) &&
	    ls_formats_parse_outer(formats, s->format, &p->ts, &p->ev, rec->text, rec->len) > 0) {
		ls_formats_part(formats, s->format, &p->ev, &part);
		if (part.more)
			return hold_first_part(s, rec, &part, s->format);
		return container_line(s, rec, s->format, NULL, 0, limit_hits, emit, ctx);
	}
	if (s->traces && ls_tracejoin_count(s->traces) > 0) {
		/* a line of some other kind: the records waiting for theirs
		 * are over, and go out first */
		ls_tracejoin_close_all(s->traces);
		rc = traces_drain(s, emit, ctx);
		if (rc < 0)
			return rc;
		limit_hits = ls_matcher_limit_hits();
		event_start(s, rec->text, rec->len, rec->offset);
	}
	fmt = parse_first_line(s, rec->text, rec->first_len);
	return finish_record(s, rec, fmt, limit_hits, emit, ctx);
}

static int process_line(struct ls_stream *s, const char *line, size_t len,
			uint64_t offset, unsigned flags, ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	struct ls_record rec;
	int cont, rc;

	/* a container's records are joined by their stream's rules (see
	 * container_line()), not as lines of text */
	if (!s->ml || ls_formats_partial(p->cat->formats, s->format)) {
		rec.text = line;
		rec.len = len;
		rec.first_len = len;
		rec.offset = offset;
		rec.flags = flags;
		rec.nlines = 1;
		p->stats.lines++;
		return process_record(s, &rec, emit, ctx);
	}
	if (p->ml_start)
		cont = ls_matcher_exec(p->ml_start, line, len) <= 0;
	else
		cont = ls_formats_continues(p->cat->formats, s->format, line, len);
	rc = ls_multiline_feed(s->ml, line, len, offset, flags, cont, &rec);
	if (rc <= 0)
		return rc;
	p->stats.lines += (uint64_t)rec.nlines;
	return process_record(s, &rec, emit, ctx);
}

/* Detects the format from the sample and replays the sampled lines. */
static int finish_sampling(struct ls_stream *s, ls_emit_fn emit, void *ctx)
{
	struct ls_pipeline *p = s->p;
	const char *lines[SAMPLE_LINES];
	size_t lens[SAMPLE_LINES];
	int rc = 0;

	s->sampling = 0;
	for (int i = 0; i < s->nsample; i++) {
		lines[i] = s->sample_buf.data + s->sample[i].at;
		lens[i] = s->sample[i].len;
	}
	s->format = ls_formats_detect(p->cat->formats, &p->ts, &p->ev, lines, lens,
				      s->nsample);
	if (stream_setup_multiline(s) < 0)
		return LS_ENOMEM;
	for (int i = 0; i < s->nsample && rc >= 0; i++)
		rc = process_line(s, lines[i], lens[i], s->sample[i].offset,
				  s->sample[i].flags, emit, ctx);
	s->nsample = 0;
	/* sampling is over for good: give its memory back (10^6 followed
	 * files each kept ~1 KiB here) */
	free(s->sample);
	s->sample = NULL;
	ls_buf_release(&s->sample_buf);
	return rc;
}

int ls_stream_line(struct ls_stream *s, const char *line, size_t len,
		   uint64_t offset, unsigned flags, ls_emit_fn emit, void *ctx)
{
	if (s->sampling) {
		struct sample_line *sl;
		if (!s->sample && !(s->sample = calloc(SAMPLE_LINES, sizeof(*s->sample))))
			return LS_ENOMEM;
		sl = &s->sample[s->nsample];
		sl->at = s->sample_buf.len;
		sl->len = len;
		sl->offset = offset;
		sl->flags = flags;
		if (ls_buf_append(&s->sample_buf, line, len) < 0)
			return LS_ENOMEM;
		s->nsample++;
		if (s->nsample == SAMPLE_LINES || s->sample_buf.len >= SAMPLE_BYTES)
			return finish_sampling(s, emit, ctx);
		return 0;
	}
	return process_line(s, line, len, offset, flags, emit, ctx);
}

int ls_stream_flush(struct ls_stream *s, ls_emit_fn emit, void *ctx)
{
	struct ls_record rec;
	int rc = 0;

	if (s->sampling && s->nsample > 0)
		rc = finish_sampling(s, emit, ctx);
	if (rc >= 0 && s->ml && ls_multiline_flush(s->ml, &rec) > 0) {
		s->p->stats.lines += (uint64_t)rec.nlines;
		rc = process_record(s, &rec, emit, ctx);
	}
	/* a line whose last part did not come (yet) goes out as it is: what
	 * was read is never held past a pause (see README, Checkpoints) */
	if (rc >= 0 && s->nparts_pending > 0)
		rc = emit_all_pending(s, emit, ctx);
	/* nor is a record kept past a pause for continuation lines that may
	 * never come: those coming later are events of their own */
	if (rc >= 0 && s->traces) {
		ls_tracejoin_close_all(s->traces);
		rc = traces_drain(s, emit, ctx);
		ls_tracejoin_trim(s->traces);
	}
	return rc;
}

/* fuzz_line.c - the line → event path (shipper/pipeline.c) for every
 * built-in format and for auto-detection.
 *
 * Input: byte 0 picks the pipeline (its low 7 bits modulo the number of
 * formats + 5: each format, then auto, -e with a grok pattern, auto with
 * --multiline-start, auto with --tz America/New_York and --no-tag, auto
 * counting only with --no-redact) and, with its high bit, whether the
 * stream has a file path; the rest is the input text, split into lines the
 * way the reader splits them ("\n" or "\r\n"; a line longer than the cap is
 * cut and flagged truncated). Each event is encoded with ls_json_event().
 *
 * Asserts: the encoding is one valid JSON object and "\n"; its first keys
 * are "@timestamp" and "message", and they (and "tags", there when the
 * event has tags) appear once unless a field nests under them
 * ("message.x": a repeated key, as json_out.h documents); fields have
 * names and values; every line fed is counted exactly once (multi-line
 * joining drops nothing). */
#include "fuzz_util.h"

#include "../../parsers/json_out.h"
#include "../../shipper/pipeline.h"
#include "../../shipper/reader.h"

#define MAX_LINE 2048
#define MAX_PIPELINES 64

static struct ls_pipeline *pipelines[MAX_PIPELINES + 8];
static int nformats;
static struct ls_buf out, keys;
static uint64_t events_seen;

static void quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

/* The pipelines besides one per format: auto-detection, and the options
 * that change the path (-e, --multiline-start, --tz, --no-tag, --no-redact,
 * counting only). */
enum { VAR_AUTO, VAR_REGEX, VAR_MLSTART, VAR_TZ, VAR_COUNT, NVARIANTS };

static struct ls_pipeline *make_pipeline(const char *format, int variant)
{
	struct ls_pipeline_opts o = {
		.format = format,
		.max_line = MAX_LINE,
		.multiline_max_lines = 50,
		.multiline_max_bytes = 4 * MAX_LINE,
		.now_ms = 1700006400000LL, /* 2023-11-15T00:00:00Z */
	};
	struct ls_pipeline *p = NULL;
	struct ls_error err = { 0, "" };

	switch (variant) {
	case VAR_REGEX:
		o.regex = "^(?:%{TIMESTAMP_ISO8601:@timestamp}|%{SYSLOGTIMESTAMP:@timestamp}) "
			  "(?<log__level>[A-Z]+)? ?%{NUMBER:n:int}? ?%{NUMBER:f:float}? "
			  "%{GREEDYDATA:message}";
		break;
	case VAR_MLSTART:
		o.multiline_start = "^(?:\\d{4}-|\\[|[A-Z][a-z]{2} )";
		break;
	case VAR_TZ:
		o.tz = "America/New_York";
		o.no_tag = 1;
		break;
	case VAR_COUNT:
		o.count_only = 1;
		o.no_redact = 1;
		break;
	}
	if (ls_pipeline_new(&p, &o, quiet, NULL, &err) < 0) {
		fprintf(stderr, "fuzz_line: pipeline %s/%d: %s\n", format, variant, err.msg);
		abort();
	}
	return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ls_catalog *cat;

	(void)argc;
	(void)argv;
	fuzz_isolate_env();
	pipelines[0] = make_pipeline("auto", VAR_AUTO);
	cat = ls_pipeline_catalog(pipelines[0]);
	nformats = ls_formats_count(cat->formats);
	FUZZ_CHECK(nformats > 0 && nformats <= MAX_PIPELINES, "%d formats", nformats);
	ls_buf_init(&out, 0);
	ls_buf_init(&keys, 0);
	return 0;
}

/* Pipelines are made on first use: slots 0..NVARIANTS-1 are the variants,
 * then one per format. */
static struct ls_pipeline *pipeline_for(unsigned choice)
{
	int idx = (int)(choice % (unsigned)(nformats + NVARIANTS)), slot;
	const char *name = "auto";

	if (idx >= nformats)
		slot = idx - nformats;
	else
		slot = NVARIANTS + idx;
	if (!pipelines[slot]) {
		if (idx < nformats)
			name = ls_formats_name(ls_pipeline_catalog(pipelines[0])->formats, idx);
		pipelines[slot] = make_pipeline(name, idx < nformats ? VAR_AUTO : slot);
	}
	return pipelines[slot];
}

/* Checks one event and its JSON encoding. */
static int emit(void *ctx, struct ls_event *ev)
{
	const char *why;
	int nkeys = 0, ntimestamp = 0, nmessage = 0, ntags = 0, kidx;
	size_t i;

	(void)ctx;
	events_seen++;
	FUZZ_CHECK(ev->nfields >= 0 && ev->nfields <= LS_EVENT_MAX_FIELDS, "nfields %d", ev->nfields);
	FUZZ_CHECK(ev->ntags >= 0 && ev->ntags <= LS_EVENT_MAX_TAGS, "ntags %d", ev->ntags);
	for (int k = 0; k < ev->nfields; k++) {
		const struct ls_field *f = &ev->fields[k];
		FUZZ_CHECK(f->name != NULL, "field %d has no name", k);
		FUZZ_CHECK(f->val || f->len == 0, "field %s has no value", f->name);
		FUZZ_CHECK(f->type <= LS_F_LIST, "field %s type %d", f->name, f->type);
	}
	for (int k = 0; k < ev->ntags; k++)
		FUZZ_CHECK(ev->tags[k] && ev->tags[k][0], "tag %d empty", k);

	out.len = 0;
	keys.len = 0;
	FUZZ_CHECK(ls_json_event(&out, ev) == 0, "ls_json_event failed");
	FUZZ_CHECK(out.len > 1 && out.data[out.len - 1] == '\n', "no final newline");
	FUZZ_CHECK(memchr(out.data, '\n', out.len - 1) == NULL, "newline inside the event");
	why = fuzz_json_check(out.data, out.len - 1, &keys, &nkeys);
	FUZZ_CHECK(!why, "invalid JSON (%s): %.*s", why, (int)out.len, out.data);
	FUZZ_CHECK(out.data[0] == '{', "not an object: %.*s", (int)out.len, out.data);
	ls_buf_putc(&keys, '\n');
	for (i = 0, kidx = 0; i < keys.len; kidx++) {
		const char *nl = memchr(keys.data + i, '\n', keys.len - i);
		size_t n = (size_t)(nl - (keys.data + i));
		const char *k = keys.data + i;
		int is_ts = n == 10 && memcmp(k, "@timestamp", 10) == 0;
		int is_msg = n == 7 && memcmp(k, "message", 7) == 0;
		FUZZ_CHECK(kidx != 0 || is_ts, "@timestamp is not first: %.*s", (int)out.len, out.data);
		FUZZ_CHECK(kidx != 1 || is_msg, "message is not second: %.*s", (int)out.len, out.data);
		ntimestamp += is_ts;
		nmessage += is_msg;
		ntags += n == 4 && memcmp(k, "tags", 4) == 0;
		i += n + 1;
	}
	FUZZ_CHECK((ntimestamp == 1 || (ntimestamp > 1 && fuzz_event_has_prefix(ev, "@timestamp."))) &&
			   (nmessage == 1 || (nmessage > 1 && fuzz_event_has_prefix(ev, "message."))),
		   "@timestamp x%d, message x%d: %.*s", ntimestamp, nmessage, (int)out.len, out.data);
	FUZZ_CHECK(ev->ntags == 0 || ntags == 1 || (ntags > 1 && fuzz_event_has_prefix(ev, "tags.")),
		   "%d tags, \"tags\" x%d: %.*s", ev->ntags, ntags, (int)out.len, out.data);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_pipeline *p;
	struct ls_stream *s = NULL;
	const struct ls_pipeline_stats *st;
	uint64_t lines0, events0, alerts0, fed = 0;
	const char *text, *end;

	if (size < 1)
		return 0;
	p = pipeline_for(data[0] & 0x7f);
	st = ls_pipeline_stats(p);
	lines0 = st->lines;
	events0 = st->events;
	alerts0 = st->alerts;
	events_seen = 0;
	FUZZ_CHECK(ls_stream_new(p, &s, (data[0] & 0x80) ? "/var/log/fuzz.log" : NULL, 42) == 0,
		   "ls_stream_new");
	text = (const char *)data + 1;
	end = (const char *)data + size;
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t len = nl ? (size_t)(nl - text) : (size_t)(end - text);
		unsigned flags = nl ? 0 : LS_LINE_NO_NEWLINE;
		uint64_t offset = (uint64_t)(text - ((const char *)data + 1));
		if (nl && len > 0 && text[len - 1] == '\r')
			len--;
		if (len > MAX_LINE) {
			len = MAX_LINE;
			flags |= LS_LINE_TRUNCATED;
		}
		FUZZ_CHECK(ls_stream_line(s, text, len, offset, flags, emit, NULL) == 0,
			   "ls_stream_line");
		fed++;
		text = nl ? nl + 1 : end;
	}
	FUZZ_CHECK(ls_stream_flush(s, emit, NULL) == 0, "ls_stream_flush");
	FUZZ_CHECK(st->lines - lines0 == fed, "fed %llu lines, counted %llu",
		   (unsigned long long)fed, (unsigned long long)(st->lines - lines0));
	FUZZ_CHECK(st->events - events0 + st->alerts - alerts0 == events_seen,
		   "%llu events + %llu alerts, %llu emitted",
		   (unsigned long long)(st->events - events0),
		   (unsigned long long)(st->alerts - alerts0), (unsigned long long)events_seen);
	FUZZ_CHECK(st->events - events0 <= fed, "more records than lines");
	ls_stream_free(s);
	return 0;
}

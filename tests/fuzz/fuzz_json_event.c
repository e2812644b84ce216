/* fuzz_json_event.c - the JSON event encoder (ls_json_event,
 * parsers/json_out.c) on events built from the input.
 *
 * Input: lines describing one event:
 *   @N            ev->ts_ms = N (decimal, any int64)
 *   #TAG          a tag
 *   LTEXT         the raw line (ev->line)
 *   T NAME=VALUE  a field; T is s (string), i (int), f (float), l (list:
 *                 items split by '|') or r (raw: VALUE is an index into a
 *                 fixed list of valid JSON texts)
 * Names and tags are interned for the life of the process, as the encoder
 * requires of names outside the event's arena.
 *
 * Asserts: the output is one valid JSON object and "\n"; "@timestamp" is
 * first and is ev->ts_ms (clamped to years 0000-9999) as RFC 3339 UTC;
 * "message" is second and decodes to the message field (else the line),
 * invalid bytes as \xHH; "tags" is there when there are tags; the three
 * keys appear once unless a field nests under one ("message.x"); the
 * fast encoder (names outside the arena, cached shapes) and the checked
 * one (the same names copied into the arena) write the same bytes; a
 * capped buffer gets the whole event or is left as it was. */
#include "fuzz_util.h"

#include <time.h>

#include "../../parsers/event.h"
#include "../../parsers/json_out.h"

#define MAX_NAMES 4096

static const char *const raw_values[] = {
	"true", "false", "null", "0", "-1.5e3", "\"\"", "\"x\\u00e9\\n\"", "[]", "{}",
	"[1,\"a\",{\"b\":null}]", "{\"a\":{\"b\":[true,false]}}", "12345678901234567890",
};
#define NRAW (sizeof(raw_values) / sizeof(raw_values[0]))

static char *names[MAX_NAMES];
static size_t nnames;
static char pool[1 << 20];
static size_t pool_used;
static struct ls_event ev, ev2;
static struct ls_buf out, out2, keys, decoded, expected, scratch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_isolate_env();
	FUZZ_CHECK(ls_event_init(&ev, 256 << 10) == 0 && ls_event_init(&ev2, 256 << 10) == 0,
		   "ls_event_init");
	ls_buf_init(&out, 0);
	ls_buf_init(&out2, 0);
	ls_buf_init(&keys, 0);
	ls_buf_init(&decoded, 0);
	ls_buf_init(&expected, 0);
	ls_buf_init(&scratch, 0);
	return 0;
}

/* A copy of s[0..n) that lives until exit: the same text gives the same
 * pointer (past MAX_NAMES distinct texts, an existing one is reused).
 * Open addressing over twice MAX_NAMES slots. */
static const char *intern(const char *s, size_t n)
{
	static char *slots[2 * MAX_NAMES];
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (size_t k = 0; k < n; k++)
		h = (h ^ (unsigned char)s[k]) * 1099511628211ULL;
	for (i = h % (2 * MAX_NAMES); slots[i]; i = (i + 1) % (2 * MAX_NAMES))
		if (strlen(slots[i]) == n && fuzz_mem_eq(slots[i], s, n))
			return slots[i];
	if (nnames == MAX_NAMES || pool_used + n + 1 > sizeof(pool))
		return nnames ? names[h % nnames] : "x";
	/* from a static pool: a malloc kept past the run would make libFuzzer
	 * look for leaks after every input */
	names[nnames] = slots[i] = memcpy(pool + pool_used, s, n);
	pool[pool_used + n] = '\0';
	pool_used += n + 1;
	return names[nnames++];
}

/* Builds ev from the input lines. */
static void build_event(const char *s, size_t size)
{
	const char *end = s + size;

	ls_event_reset(&ev);
	ev.ts_ms = 1700000000000LL;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *eq;
		if (n >= 1 && s[0] == '@') {
			char num[32];
			size_t k = n - 1 < sizeof(num) - 1 ? n - 1 : sizeof(num) - 1;
			memcpy(num, s + 1, k);
			num[k] = '\0';
			ev.ts_ms = strtoll(num, NULL, 10);
		} else if (n >= 1 && s[0] == '#') {
			ls_event_add_tag(&ev, intern(s + 1, n - 1));
		} else if (n >= 1 && s[0] == 'L') {
			ev.line = s + 1;
			ev.line_len = n - 1;
		} else if (n >= 3 && s[1] == ' ' && (eq = memchr(s + 2, '=', n - 2)) != NULL) {
			const char *name = intern(s + 2, (size_t)(eq - (s + 2)));
			const char *val = eq + 1;
			size_t vlen = (size_t)(s + n - val);
			char *list;
			switch (s[0]) {
			case 'i':
				ls_event_set(&ev, name, val, vlen, LS_F_INT);
				break;
			case 'f':
				ls_event_set(&ev, name, val, vlen, LS_F_FLOAT);
				break;
			case 'r':
				val = raw_values[(vlen ? (unsigned char)val[0] : 0) % NRAW];
				ls_event_set(&ev, name, val, strlen(val), LS_F_RAW);
				break;
			case 'l':
				list = ls_event_alloc(&ev, vlen ? vlen : 1);
				if (!list)
					break;
				memcpy(list, val, vlen);
				for (size_t i = 0; i < vlen; i++)
					if (list[i] == '|')
						list[i] = LS_LIST_SEP;
				ls_event_set(&ev, name, list, vlen, LS_F_LIST);
				break;
			default:
				ls_event_set(&ev, name, val, vlen, LS_F_STR);
			}
		}
		s = nl ? nl + 1 : end;
	}
}

/* ev2 = ev with every name copied into ev2's arena: the encoder does not
 * trust those names to stay put, so it takes its checked path. */
static void copy_event_arena_names(void)
{
	ls_event_reset(&ev2);
	ev2.ts_ms = ev.ts_ms;
	ev2.line = ev.line;
	ev2.line_len = ev.line_len;
	for (int i = 0; i < ev.ntags; i++)
		ls_event_add_tag(&ev2, ev.tags[i]);
	for (int i = 0; i < ev.nfields; i++) {
		const char *name = ls_event_strdup(&ev2, ev.fields[i].name, strlen(ev.fields[i].name));
		FUZZ_CHECK(name != NULL, "arena full");
		ls_event_set(&ev2, name, ev.fields[i].val, ev.fields[i].len, ev.fields[i].type);
	}
}

static void check_timestamp(const struct ls_buf *enc)
{
	const int64_t min_ms = -62167219200000LL, max_ms = 253402300799999LL;
	int64_t ms = ev.ts_ms < min_ms ? min_ms : ev.ts_ms > max_ms ? max_ms : ev.ts_ms;
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	char want[64];

	FUZZ_CHECK(gmtime_r(&t, &tm) != NULL, "gmtime");
	snprintf(want, sizeof(want), "{\"@timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ms - secs * 1000));
	FUZZ_CHECK(enc->len > strlen(want) && fuzz_mem_eq(enc->data, want, strlen(want)),
		   "ts %lld: want %s, got %.40s", (long long)ev.ts_ms, want, enc->data);
}

/* The message value: the text right after {"@timestamp":"...","message": */
static void check_message(const struct ls_buf *enc)
{
	static const char tag[] = "\"message\":";
	const struct ls_field *m = ls_event_get(&ev, "message");
	const size_t at = 15 + 24 + 2; /* {"@timestamp":"<24 bytes>", */
	const char *start = enc->data + at + sizeof(tag) - 1, *why;
	struct fuzz_json j;

	FUZZ_CHECK(fuzz_mem_eq(enc->data + at, tag, sizeof(tag) - 1), "message is not second: %s",
		   enc->data);
	j.p = start;
	j.end = enc->data + enc->len;
	j.why = NULL;
	j.depth = 0;
	j.keys = NULL;
	j.nkeys = 0;
	decoded.len = 0;
	FUZZ_CHECK(fuzz_json_string(&j, &decoded) == 0, "message is not a string: %s", enc->data);
	expected.len = 0;
	if (m)
		fuzz_utf8_expected(&expected, m->val, m->len);
	else
		fuzz_utf8_expected(&expected, ev.line ? ev.line : "", ev.line ? ev.line_len : 0);
	why = decoded.len == expected.len && fuzz_mem_eq(decoded.data, expected.data, decoded.len)
		      ? NULL : "differs";
	FUZZ_CHECK(!why, "message %s: %s", why, enc->data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	int nkeys = 0, nts = 0, nmsg = 0, ntags = 0, rc;
	struct ls_buf small;

	build_event((const char *)data, size);
	out.len = 0;
	FUZZ_CHECK(ls_json_event(&out, &ev) == 0, "ls_json_event failed");
	FUZZ_CHECK(out.len > 1 && out.data[out.len - 1] == '\n' &&
			   !memchr(out.data, '\n', out.len - 1), "not one line: %s", out.data);
	keys.len = 0;
	why = fuzz_json_check(out.data, out.len - 1, &keys, &nkeys);
	FUZZ_CHECK(!why, "invalid JSON (%s): %s", why, out.data);
	FUZZ_CHECK(out.data[0] == '{', "not an object");
	ls_buf_putc(&keys, '\n');
	for (size_t i = 0; i < keys.len;) {
		const char *k = keys.data + i, *nl = memchr(k, '\n', keys.len - i);
		size_t n = (size_t)(nl - k);
		nts += n == 10 && !memcmp(k, "@timestamp", 10);
		nmsg += n == 7 && !memcmp(k, "message", 7);
		ntags += n == 4 && !memcmp(k, "tags", 4);
		i += n + 1;
	}
	FUZZ_CHECK((nts == 1 || (nts > 1 && fuzz_event_has_prefix(&ev, "@timestamp."))) &&
			   (nmsg == 1 || (nmsg > 1 && fuzz_event_has_prefix(&ev, "message."))),
		   "@timestamp x%d, message x%d: %s", nts, nmsg, out.data);
	FUZZ_CHECK(ev.ntags == 0 || ntags == 1 || (ntags > 1 && fuzz_event_has_prefix(&ev, "tags.")),
		   "%d tags, \"tags\" x%d: %s", ev.ntags, ntags, out.data);
	check_timestamp(&out);
	check_message(&out);

	/* twice: the second time the cached shape is used */
	out2.len = 0;
	FUZZ_CHECK(ls_json_event(&out2, &ev) == 0, "ls_json_event failed");
	FUZZ_CHECK(out2.len == out.len && fuzz_mem_eq(out2.data, out.data, out.len),
		   "a second encoding differs:\n%s%s", out.data, out2.data);
	copy_event_arena_names();
	out2.len = 0;
	FUZZ_CHECK(ls_json_event(&out2, &ev2) == 0, "ls_json_event failed");
	FUZZ_CHECK(out2.len == out.len && fuzz_mem_eq(out2.data, out.data, out.len),
		   "fast and checked encoders differ:\nfast:    %schecked: %s", out.data, out2.data);

	/* a capped buffer: all or nothing */
	ls_buf_init(&small, 8 + (size ? data[0] : 0) * 4);
	ls_buf_puts(&small, "x");
	rc = ls_json_event(&small, &ev);
	if (rc < 0)
		FUZZ_CHECK(rc == LS_ENOMEM && small.len == 1 && small.data[0] == 'x' && !small.data[1],
			   "a failed encoding changed the buffer");
	else
		FUZZ_CHECK(small.len == out.len + 1 && fuzz_mem_eq(small.data + 1, out.data, out.len),
			   "capped buffer holds other bytes");
	ls_buf_release(&small);
	return 0;
}

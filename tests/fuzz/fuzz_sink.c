/* fuzz_sink.c - the HTTP response parsers of the sinks (each sink's
 * ops->classify: Elasticsearch bulk results, ClickHouse exceptions, plain
 * statuses) and Retry-After (ls_sink_retry_after_ms).
 *
 * Input: byte 0 picks the sink, bytes 1-2 the HTTP status (modulo 600),
 * byte 3 the number of items (modulo 128; its high bit: no bad[] array),
 * bytes 4-9 "now" for Retry-After; then the Retry-After value up to a NUL
 * (at most 127 bytes, as http.c keeps it; a value without a NUL means no
 * header) and the body after it (NUL-terminated like http.c's, NUL bytes
 * allowed inside).
 *
 * Asserts: the verdict is known and, for the plain HTTP sink, is what the
 * status means (sink.h); retry_after_ms is -1 or more; the reason is
 * NUL-terminated text with no control bytes, valid UTF-8, and never shows
 * an HTTP sink's secret; a PARTIAL verdict has a bad[] array whose set bytes
 * number nbad, 0 < nbad < nitems; a delta-seconds Retry-After gives its
 * seconds (capped) in ms. */
#include "fuzz_util.h"

#include "../../shipper/sink.h"

#define SECRET "Pa55w0rd-fuzz"

static const char *const urls[] = {
	"http://collector.example:8080/ingest",
	"clickhouse+http://127.0.0.1:8123/db.logs",
	"elasticsearch+http://es:9200/logs",
	"loki+http://loki:3100",
	"splunk+https://splunk:8088",
	"otlp+http://otel:4318",
	"file:///nonexistent/logship-fuzz/out.ndjson",
};
#define NSINKS (sizeof(urls) / sizeof(urls[0]))
#define FILE_SINK 6

static struct ls_sink *sinks[NSINKS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_isolate_env();
	for (size_t i = 0; i < NSINKS; i++) {
		struct ls_sink_config cfg = { .url = urls[i], .host = "fuzzhost", .now_ms = 1,
					      .auth = i == 4 || i == 5 ? SECRET : "fuzzuser:" SECRET };
		if (i == FILE_SINK)
			cfg.auth = NULL; /* nothing is sent: there is no secret to keep */
		struct ls_error err = { 0, "" };
		if (ls_sink_open(&sinks[i], &cfg, &err) < 0) {
			fprintf(stderr, "fuzz_sink: %s: %s\n", urls[i], err.msg);
			abort();
		}
	}
	return 0;
}

/* The verdict sink.h gives a plain status; -1 where it says nothing. */
static int plain_verdict(long status)
{
	if (status == 0)
		return LS_SINK_RETRY;
	if (status >= 200 && status < 300)
		return LS_SINK_OK;
	if (status == 429 || status == 503)
		return LS_SINK_PAUSE;
	if (status == 408 || status == 425 || (status >= 500 && status < 600))
		return LS_SINK_RETRY;
	if (status == 413)
		return LS_SINK_SPLIT;
	if (status == 401 || status == 403 || status == 404 || status == 405 || status == 407 ||
	    status == 410 || status == 411 || status == 415 || status == 426 ||
	    (status >= 300 && status < 400))
		return LS_SINK_FAILING;
	if (status >= 400 && status < 500)
		return LS_SINK_BAD;
	return -1;
}

static void check_retry_after(const char *value, int64_t now)
{
	int64_t ms = ls_sink_retry_after_ms(value, now);
	const char *p = value;
	int64_t secs = 0;

	FUZZ_CHECK(ms >= -1, "Retry-After '%s' gave %lld", value, (long long)ms);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return;
	for (; *p >= '0' && *p <= '9'; p++)
		if (secs < 1000000000000LL)
			secs = secs * 10 + (*p - '0');
	if (secs > 1000000000000LL)
		secs = 1000000000000LL;
	while (*p == ' ' || *p == '\t')
		p++;
	FUZZ_CHECK(ms == (*p ? -1 : secs * 1000), "Retry-After '%s' gave %lld", value,
		   (long long)ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_sink *s;
	struct ls_sink_result res;
	char retry_after[128], *body;
	const char *rest, *nul;
	unsigned char *bad = NULL;
	size_t nitems, body_len, reason_len, count = 0, rest_len;
	long status;
	int64_t now = 0;
	int has_retry;

	if (size < 10)
		return 0;
	s = sinks[data[0] % NSINKS];
	status = (long)((data[1] | data[2] << 8) % 600);
	nitems = data[3] & 0x7f;
	for (int i = 0; i < 6; i++)
		now = now << 8 | data[4 + i]; /* up to 2^48 ms: until about year 10889 */
	rest = (const char *)data + 10;
	rest_len = size - 10;
	nul = memchr(rest, '\0', rest_len);
	has_retry = nul != NULL;
	if (has_retry) {
		size_t n = (size_t)(nul - rest);
		if (n > sizeof(retry_after) - 1)
			n = sizeof(retry_after) - 1;
		memcpy(retry_after, rest, n);
		retry_after[n] = '\0';
		rest_len -= (size_t)(nul + 1 - rest);
		rest = nul + 1;
		check_retry_after(retry_after, now);
	}
	body_len = rest_len;
	body = malloc(body_len + 1);
	FUZZ_CHECK(body != NULL, "out of memory");
	memcpy(body, rest, body_len);
	body[body_len] = '\0';
	if (!(data[3] & 0x80) && nitems) {
		bad = malloc(nitems);
		FUZZ_CHECK(bad != NULL, "out of memory");
		memset(bad, 0xa5, nitems);
	}

	memset(&res, 0, sizeof(res));
	res.bad = bad;
	s->ops->classify(s, status, body, body_len, has_retry ? retry_after : NULL, nitems, &res);

	FUZZ_CHECK(res.verdict >= LS_SINK_OK && res.verdict <= LS_SINK_BAD, "verdict %d",
		   (int)res.verdict);
	if (data[0] % NSINKS == 0 && plain_verdict(status) >= 0)
		FUZZ_CHECK((int)res.verdict == plain_verdict(status), "status %ld: verdict %d, not %d",
			   status, (int)res.verdict, plain_verdict(status));
	FUZZ_CHECK(res.retry_after_ms >= -1, "retry_after_ms %lld", (long long)res.retry_after_ms);
	reason_len = strnlen(res.reason, sizeof(res.reason));
	FUZZ_CHECK(reason_len < sizeof(res.reason), "reason not NUL-terminated");
	for (size_t i = 0; i < reason_len; i++)
		FUZZ_CHECK((unsigned char)res.reason[i] >= 0x20 && res.reason[i] != 0x7f,
			   "control byte 0x%02x in the reason: %s", (unsigned char)res.reason[i],
			   res.reason);
	FUZZ_CHECK(fuzz_utf8_valid(res.reason, reason_len), "reason is not UTF-8: %s", res.reason);
	if (data[0] % NSINKS != FILE_SINK)
		FUZZ_CHECK(!strstr(res.reason, SECRET), "the secret is in the reason: %s",
			   res.reason);
	if (res.verdict == LS_SINK_PARTIAL) {
		FUZZ_CHECK(bad != NULL, "PARTIAL without a bad[] array");
		for (size_t i = 0; i < nitems; i++)
			count += bad[i] != 0;
		FUZZ_CHECK(count == res.nbad, "nbad %zu, %zu flagged", res.nbad, count);
		FUZZ_CHECK(res.nbad > 0 && res.nbad < nitems, "PARTIAL with %zu of %zu bad",
			   res.nbad, nitems);
	}
	free(bad);
	free(body);
	return 0;
}

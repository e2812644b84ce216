/* sink.c - choosing a sink by its URL's scheme, and what the sinks share:
 * URL splitting, request headers and the secrets kept out of reasons,
 * reasons from response bodies, Retry-After, the verdict of a plain HTTP
 * status and a tolerant JSON scanner for response bodies. */
#include "sink.h"
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- choosing the sink ---- */

static const struct {
	const char *prefix;
	const struct ls_sink_ops *ops;
} schemes[] = {
	{ "http://", &ls_sink_http_ops },
	{ "https://", &ls_sink_http_ops },
	{ "clickhouse+http://", &ls_sink_clickhouse_ops },
	{ "clickhouse+https://", &ls_sink_clickhouse_ops },
	{ "elasticsearch+http://", &ls_sink_elasticsearch_ops },
	{ "elasticsearch+https://", &ls_sink_elasticsearch_ops },
	{ "loki+http://", &ls_sink_loki_ops },
	{ "loki+https://", &ls_sink_loki_ops },
	{ "splunk+http://", &ls_sink_splunk_ops },
	{ "splunk+https://", &ls_sink_splunk_ops },
	{ "otlp+http://", &ls_sink_otlp_ops },
	{ "otlp+https://", &ls_sink_otlp_ops },
	{ "file://", &ls_sink_file_ops },
};

#define KNOWN_SINKS                                                              \
	"http(s)://..., clickhouse+http(s)://host:port/DB.TABLE, "                 \
	"elasticsearch+http(s)://host:port/INDEX, loki+http(s)://host:port, "      \
	"splunk+http(s)://host:port, otlp+http(s)://host:port, file:///path, "     \
	"- (stdout)"

/* Opens the sink named by cfg->url's scheme (case-insensitive). The error
 * for an unknown scheme names only the scheme, never the rest of the URL. */
int ls_sink_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	const char *url = cfg ? cfg->url : NULL;
	const char *sep;
	size_t n;

	*out = NULL;
	if (!url || !*url)
		return ls_error_set(err, LS_EINVAL, "no sink URL given; known sinks: " KNOWN_SINKS);
	if (strcmp(url, "-") == 0)
		return ls_sink_file_ops.open(out, cfg, err);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			return schemes[i].ops->open(out, cfg, err);
	sep = strstr(url, "://");
	n = sep ? (size_t)(sep - url) : 0;
	if (n > 0 && n <= 40 && strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789+.-") == n)
		return ls_error_set(err, LS_EINVAL, "unknown sink scheme \"%.*s://\"; known sinks: %s",
				    (int)n, url, KNOWN_SINKS);
	return ls_error_set(err, LS_EINVAL, "the sink URL has no known scheme; known sinks: %s",
			    KNOWN_SINKS);
}

void ls_sink_free(struct ls_sink *s)
{
	if (s)
		s->ops->free(s);
}

const char *ls_sink_file_path(const struct ls_sink *s)
{
	if (!s || s->ops != &ls_sink_file_ops)
		return NULL;
	return ls_sink_file_target(s);
}

/* ---- URLs ---- */

int ls_sink_url_parse(struct ls_sink_url *u, const char *url, const char *what,
		      struct ls_error *err)
{
	const char *sep, *scheme, *plus, *auth, *auth_end, *path, *query;
	size_t scheme_len, path_len;
	int rc = 0;

	memset(u, 0, sizeof(*u));
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return ls_error_set(err, LS_EINVAL,
					    "%s: the URL holds a blank or a control byte (percent-encode it)",
					    what);
	sep = strstr(url, "://");
	if (!sep)
		return ls_error_set(err, LS_EINVAL, "%s: the URL needs http:// or https://", what);
	plus = memchr(url, '+', (size_t)(sep - url));
	scheme = plus ? plus + 1 : url;
	scheme_len = (size_t)(sep - scheme);
	if (!(scheme_len == 4 && strncasecmp(scheme, "http", 4) == 0) &&
	    !(scheme_len == 5 && strncasecmp(scheme, "https", 5) == 0))
		return ls_error_set(err, LS_EINVAL, "%s: the URL's scheme must end in http or https",
				    what);
	auth = sep + 3;
	auth_end = auth + strcspn(auth, "/?#");
	if (auth_end == auth)
		return ls_error_set(err, LS_EINVAL, "%s: the URL names no host", what);
	if (memchr(auth, '@', (size_t)(auth_end - auth)))
		return ls_error_set(err, LS_EINVAL,
				    "%s: the URL holds credentials (user:password@); give them "
				    "with --auth-env or --auth-file", what);
	if (strchr(auth_end, '#'))
		return ls_error_set(err, LS_EINVAL, "%s: the URL has a fragment (#...)", what);
	path = auth_end;
	query = strchr(path, '?');
	path_len = query ? (size_t)(query - path) : strlen(path);
	u->origin = malloc(scheme_len + 3 + (size_t)(auth_end - auth) + 1);
	u->path = strndup(path, path_len);
	u->query = strdup(query ? query + 1 : "");
	if (!u->origin || !u->path || !u->query) {
		rc = ls_error_set(err, LS_ENOMEM, "%s: out of memory", what);
		goto out;
	}
	for (size_t i = 0; i < scheme_len; i++)
		u->origin[i] = (char)(scheme[i] | 0x20);
	memcpy(u->origin + scheme_len, "://", 3);
	memcpy(u->origin + scheme_len + 3, auth, (size_t)(auth_end - auth));
	u->origin[scheme_len + 3 + (size_t)(auth_end - auth)] = '\0';
out:
	if (rc < 0)
		ls_sink_url_release(u);
	return rc;
}

void ls_sink_url_release(struct ls_sink_url *u)
{
	free(u->origin);
	free(u->path);
	free(u->query);
	memset(u, 0, sizeof(*u));
}

int ls_sink_urlencode(struct ls_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
			   *p == '~';

		if ((keep ? ls_buf_putc(out, (char)*p) : ls_buf_append(out, esc, 3)) < 0)
			return LS_ENOMEM;
	}
	return 0;
}

/* ---- request headers and secrets ---- */

static size_t header_name_len(const char *h)
{
	const char *colon = strchr(h, ':');

	return colon ? (size_t)(colon - h) : strlen(h);
}

/* Adds h (taking it) or replaces the header of the same name. */
static int put_header(struct ls_sink_req *r, char *h)
{
	size_t n = header_name_len(h);

	for (int i = 0; i < r->nhdrs; i++) {
		if (header_name_len(r->hdrs[i]) == n && strncasecmp(r->hdrs[i], h, n) == 0) {
			free(r->hdrs[i]);
			r->hdrs[i] = h;
			return 0;
		}
	}
	if (r->nhdrs >= LS_SINK_MAX_HEADERS) {
		free(h);
		return LS_EINVAL;
	}
	r->hdrs[r->nhdrs++] = h;
	return 0;
}

int ls_sink_req_header(struct ls_sink_req *r, const char *name, const char *fmt, ...)
{
	size_t name_len = strlen(name);
	va_list ap;
	char *h;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(h = malloc(name_len + 2 + (size_t)n + 1)))
		return LS_ENOMEM;
	memcpy(h, name, name_len);
	memcpy(h + name_len, ": ", 2);
	va_start(ap, fmt);
	vsnprintf(h + name_len + 2, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (strpbrk(h, "\r\n")) {
		free(h);
		return LS_EINVAL;
	}
	return put_header(r, h);
}

int ls_sink_req_config_headers(struct ls_sink_req *r, const struct ls_sink_config *cfg,
			       const char *what, struct ls_error *err)
{
	for (int i = 0; i < cfg->nheaders + cfg->nsecret_headers; i++) {
		int secret = i >= cfg->nheaders;
		const char *h = secret ? cfg->secret_headers[i - cfg->nheaders] : cfg->headers[i];
		size_t name_len = h ? header_name_len(h) : 0;
		char *copy;
		int rc;

		/* the value is not shown: a header may carry a token */
		if (!h || !h[name_len] || name_len == 0 ||
		    strcspn(h, " \t\r\n\x7f") < name_len)
			return ls_error_set(err, LS_EINVAL,
					    "%s: header %d is not \"Name: value\"", what, i + 1);
		for (const char *c = h; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return ls_error_set(err, LS_EINVAL,
						    "%s: header \"%.*s\" holds a line break or a "
						    "control byte", what, (int)name_len, h);
		if (!(copy = strdup(h)))
			return ls_error_set(err, LS_ENOMEM, "%s: out of memory", what);
		rc = put_header(r, copy);
		if (rc < 0)
			return ls_error_set(err, rc, "%s: too many headers (at most %d with the "
					    "sink's own)", what, LS_SINK_MAX_HEADERS);
		if (secret) {
			/* a sink may echo request headers into its answers */
			const char *v = h + name_len + 1;
			v += strspn(v, " \t");
			if (ls_sink_req_secret(r, v, strlen(v)) < 0)
				return ls_error_set(err, LS_ENOMEM, "%s: out of memory", what);
		}
	}
	return 0;
}

long ls_sink_auth_len(const char *auth)
{
	size_t n = strlen(auth);

	while (n > 0 && (auth[n - 1] == ' ' || auth[n - 1] == '\t' || auth[n - 1] == '\r' ||
			 auth[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)auth[i] < 0x20 || auth[i] == 0x7f)
			return -1;
	return n > LONG_MAX ? -1 : (long)n;
}

int ls_sink_req_secret(struct ls_sink_req *r, const char *text, size_t len)
{
	if (len == 0)
		return 0;
	for (int i = 0; i < LS_SINK_MAX_SECRETS; i++) {
		if (!r->secrets[i]) {
			r->secrets[i] = strndup(text, len);
			return r->secrets[i] ? 0 : LS_ENOMEM;
		}
	}
	return LS_EINVAL;
}

int ls_sink_req_auth(struct ls_sink_req *r, const char *auth, const char *token_scheme,
		     int basic_on_colon, const char *what, struct ls_error *err)
{
	const char *colon;
	char *b64 = NULL;
	long n;
	int rc;

	if (!auth)
		return 0;
	n = ls_sink_auth_len(auth);
	if (n < 0)
		return ls_error_set(err, LS_EINVAL,
				    "%s: the secret holds a line break or a control byte", what);
	if (n == 0)
		return 0;
	colon = memchr(auth, ':', (size_t)n);
	if (basic_on_colon && colon) {
		if (!(b64 = ls_sink_base64(auth, (size_t)n))) {
			rc = LS_ENOMEM;
			goto out;
		}
		rc = ls_sink_req_header(r, "Authorization", "Basic %s", b64);
		if (rc == 0)
			rc = ls_sink_req_secret(r, b64, strlen(b64));
		if (rc == 0)
			rc = ls_sink_req_secret(r, colon + 1, (size_t)(auth + n - colon - 1));
	} else {
		rc = ls_sink_req_header(r, "Authorization", "%s %.*s", token_scheme, (int)n, auth);
	}
	if (rc == 0)
		rc = ls_sink_req_secret(r, auth, (size_t)n);
out:
	free(b64);
	if (rc < 0)
		return ls_error_set(err, rc, "%s: cannot set up authorization", what);
	return 0;
}

int ls_sink_req_request(struct ls_sink_req *r, const char **url, const char **hdrs, int *nhdrs)
{
	*url = r->url;
	for (int i = 0; i < r->nhdrs; i++)
		hdrs[i] = r->hdrs[i];
	*nhdrs = r->nhdrs;
	return 0;
}

void ls_sink_req_scrub(const struct ls_sink_req *r, struct ls_sink_result *res)
{
	char clean[sizeof(res->reason)];

	for (int i = 0; i < LS_SINK_MAX_SECRETS; i++) {
		const char *secret = r->secrets[i], *at, *from = res->reason;
		size_t n = 0, slen;

		if (!secret || !(slen = strlen(secret)) || !strstr(res->reason, secret))
			continue;
		while ((at = strstr(from, secret)) != NULL) {
			size_t keep = (size_t)(at - from);

			if (n + keep > sizeof(clean) - 1)
				keep = sizeof(clean) - 1 - n;
			memcpy(clean + n, from, keep);
			n += keep;
			if (n + 3 > sizeof(clean) - 1)
				break;
			memcpy(clean + n, "***", 3);
			n += 3;
			from = at + slen;
		}
		if (!at) {
			size_t rest = strlen(from);

			if (n + rest > sizeof(clean) - 1)
				rest = sizeof(clean) - 1 - n;
			memcpy(clean + n, from, rest);
			n += rest;
		}
		clean[n] = '\0';
		memcpy(res->reason, clean, n + 1);
	}
}

void ls_sink_req_release(struct ls_sink_req *r)
{
	free(r->url);
	for (int i = 0; i < r->nhdrs; i++)
		free(r->hdrs[i]);
	for (int i = 0; i < LS_SINK_MAX_SECRETS; i++) {
		if (r->secrets[i]) {
			/* do not leave the secret in freed memory */
			memset(r->secrets[i], 0, strlen(r->secrets[i]));
			free(r->secrets[i]);
		}
	}
	memset(r, 0, sizeof(*r));
}

char *ls_sink_base64(const char *s, size_t len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc((len + 2) / 3 * 4 + 1), *w = out;
	size_t i = 0;

	if (!out)
		return NULL;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*w++ = tbl[v >> 18];
		*w++ = tbl[(v >> 12) & 63];
		*w++ = tbl[(v >> 6) & 63];
		*w++ = tbl[v & 63];
	}
	if (len - i == 1) {
		*w++ = tbl[p[i] >> 2];
		*w++ = tbl[(p[i] & 3) << 4];
		*w++ = '=';
		*w++ = '=';
	} else if (len - i == 2) {
		*w++ = tbl[p[i] >> 2];
		*w++ = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		*w++ = tbl[(p[i + 1] & 15) << 2];
		*w++ = '=';
	}
	*w = '\0';
	return out;
}

/* ---- results and reasons ---- */

void ls_sink_result_set(struct ls_sink_result *res, enum ls_sink_verdict verdict,
			const char *fmt, ...)
{
	va_list ap;

	res->verdict = verdict;
	res->retry_after_ms = -1;
	res->nbad = 0;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void ls_sink_reason_body(char *reason, size_t cap, const char *body, size_t len)
{
	while (len > 0 && is_blank((unsigned char)body[0])) {
		body++;
		len--;
	}
	while (len > 0 && is_blank((unsigned char)body[len - 1]))
		len--;
	ls_sink_reason_append(reason, cap, body, len);
}

void ls_sink_reason_append(char *reason, size_t cap, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = strnlen(reason, cap - 1), i = 0;

	while (i < len) {
		char piece[8];
		size_t n = 1, used = 1, seq = 0;
		unsigned char c = p[i];

		if (c >= 0x80)
			seq = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (c >= 0x20 && c < 0x7f) {
			piece[0] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			piece[0] = '\\';
			piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (seq && seq <= len - i && !(c == 0xc2 && p[i + 1] < 0xa0) &&
			   ls_utf8_valid((const char *)p + i, seq)) {
			/* valid UTF-8 but C1 controls (U+0080..U+009F: CSI is
			 * U+009B), which a terminal may act on, are escaped */
			memcpy(piece, p + i, seq);
			n = used = seq;
		} else {
			snprintf(piece, sizeof(piece), "\\x%02X", c);
			n = 4;
		}
		if (at + n + 4 > cap) {
			if (at + 4 <= cap) {
				memcpy(reason + at, "...", 3);
				at += 3;
			}
			break;
		}
		memcpy(reason + at, piece, n);
		at += n;
		i += used;
	}
	reason[at] = '\0';
}

/* ---- plain HTTP statuses and Retry-After ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum ls_sink_verdict status_verdict(long status)
{
	if (status == 0)
		return LS_SINK_RETRY;
	if (status >= 200 && status < 300)
		return LS_SINK_OK;
	if (status == 429 || status == 503)
		return LS_SINK_PAUSE;
	if (status == 408 || status == 425 || status >= 500)
		return LS_SINK_RETRY;
	if (status == 413)
		return LS_SINK_SPLIT;
	/* the URL, the credentials or the way of sending is wrong: a fix of
	 * the configuration, not of the events, makes these go away */
	if (status == 401 || status == 403 || status == 404 || status == 405 ||
	    status == 407 || status == 410 || status == 411 || status == 415 ||
	    status == 426 || (status >= 300 && status < 400))
		return LS_SINK_FAILING;
	if (status >= 400 && status < 500)
		return LS_SINK_BAD;
	return LS_SINK_RETRY;
}

void ls_sink_classify_status(long status, const char *body, size_t len,
			     const char *retry_after, struct ls_sink_result *res)
{
	size_t text = 0;

	if (!body)
		len = 0;
	while (text < len && is_blank((unsigned char)body[text]))
		text++;
	if (status == 0)
		ls_sink_result_set(res, LS_SINK_RETRY, "transport error: ");
	else
		ls_sink_result_set(res, status_verdict(status), text < len ? "HTTP %ld: " : "HTTP %ld",
				   status);
	if (text < len)
		ls_sink_reason_body(res->reason, sizeof(res->reason), body, len);
	res->retry_after_ms = ls_sink_retry_after_ms(retry_after, now_ms());
	/* "Retry-After: 0" or a date already past asks for nothing beyond a
	 * retry: taken at its word it would mean no pause at all, and a sink
	 * that keeps saying it would get thousands of requests a second. It
	 * counts as no Retry-After, so the backoff's own delay applies. */
	if (res->retry_after_ms == 0)
		res->retry_after_ms = -1;
}

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};
static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const day_full_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};

/* Index of the word p[0..n) in names (any case), or -1. */
static int find_name(const char *p, size_t n, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0)
			return i;
	return -1;
}

/* Reads exactly n digits. */
static int read_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

/* "hh:mm:ss" */
static int read_clock(const char **p, struct tm *tm)
{
	if (read_digits(p, 2, &tm->tm_hour) < 0 || expect(p, ':') < 0 ||
	    read_digits(p, 2, &tm->tm_min) < 0 || expect(p, ':') < 0 ||
	    read_digits(p, 2, &tm->tm_sec) < 0)
		return -1;
	return tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60 ? -1 : 0;
}

/* A three-letter month name (any case). */
static int read_month(const char **p, struct tm *tm)
{
	tm->tm_mon = find_name(*p, 3, month_names, 12);
	if (tm->tm_mon < 0)
		return -1;
	*p += 3;
	return 0;
}

static int read_zone(const char **p)
{
	if (strncasecmp(*p, "GMT", 3) != 0 && strncasecmp(*p, "UTC", 3) != 0)
		return -1;
	*p += 3;
	return 0;
}

static int days_in_month(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[mon] + (mon == 1 && leap);
}

/* An HTTP-date (RFC 9110 5.6.7) into tm; 0 or -1. */
static int parse_http_date(const char *p, int64_t now, struct tm *tm)
{
	const char *word = p;
	size_t word_len;
	int year;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	word_len = (size_t)(p - word);
	if (*p == ',' && p[1] == ' ' && find_name(word, word_len, day_names, 7) >= 0) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p += 2;
		if (read_digits(&p, 2, &tm->tm_mday) < 0 || expect(&p, ' ') < 0 ||
		    read_month(&p, tm) < 0 || expect(&p, ' ') < 0 ||
		    read_digits(&p, 4, &year) < 0 || expect(&p, ' ') < 0 ||
		    read_clock(&p, tm) < 0 || expect(&p, ' ') < 0 || read_zone(&p) < 0)
			return -1;
	} else if (*p == ',' && p[1] == ' ' &&
		   find_name(word, word_len, day_full_names, 7) >= 0) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; a two-digit year
		 * more than 50 years ahead is the last such year in the past */
		struct tm now_tm;
		int now_year;

		p += 2;
		if (read_digits(&p, 2, &tm->tm_mday) < 0 || expect(&p, '-') < 0 ||
		    read_month(&p, tm) < 0 || expect(&p, '-') < 0 ||
		    read_digits(&p, 2, &year) < 0 || expect(&p, ' ') < 0 ||
		    read_clock(&p, tm) < 0 || expect(&p, ' ') < 0 || read_zone(&p) < 0)
			return -1;
		ls_sink_utc(now, &now_tm);
		now_year = now_tm.tm_year + 1900;
		year += now_year - now_year % 100;
		if (year > now_year + 50)
			year -= 100;
		else if (year + 100 <= now_year + 50)
			year += 100;
	} else if (*p == ' ' && find_name(word, word_len, day_names, 7) >= 0) {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		p++;
		if (read_month(&p, tm) < 0 || expect(&p, ' ') < 0)
			return -1;
		if (*p == ' ') {
			p++;
			if (read_digits(&p, 1, &tm->tm_mday) < 0)
				return -1;
		} else if (read_digits(&p, 2, &tm->tm_mday) < 0) {
			return -1;
		}
		if (expect(&p, ' ') < 0 || read_clock(&p, tm) < 0 || expect(&p, ' ') < 0 ||
		    read_digits(&p, 4, &year) < 0)
			return -1;
	} else {
		return -1;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || tm->tm_mday < 1 || tm->tm_mday > days_in_month(year, tm->tm_mon))
		return -1;
	tm->tm_year = year - 1900;
	return 0;
}

int64_t ls_sink_retry_after_ms(const char *value, int64_t now)
{
	const char *p = value;
	struct tm tm;
	time_t t;

	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		/* delta-seconds; absurd values are capped at about 31700 years */
		const int64_t max_s = 1000000000000LL;
		int64_t secs = 0;

		for (; *p >= '0' && *p <= '9'; p++)
			secs = secs >= max_s ? max_s : secs * 10 + (*p - '0');
		if (secs > max_s)
			secs = max_s;
		while (*p == ' ' || *p == '\t')
			p++;
		return *p ? -1 : secs * 1000;
	}
	memset(&tm, 0, sizeof(tm));
	if (parse_http_date(p, now, &tm) < 0)
		return -1;
	t = timegm(&tm);
	if ((int64_t)t * 1000 <= now)
		return 0;
	return (int64_t)t * 1000 - now;
}

/* ---- events ---- */

void ls_sink_utc(int64_t ms, struct tm *tm)
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	time_t t = (time_t)secs;

	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
}

int ls_sink_field(const struct ls_event *ev, const char *name, const struct ls_field **f)
{
	*f = ls_event_get(ev, name);
	return *f && (*f)->val && (*f)->len > 0;
}

int ls_sink_field_string(struct ls_buf *out, const struct ls_field *f)
{
	size_t start = out->len, i = 0;
	int first = 1;

	if (f->type != LS_F_LIST)
		return ls_json_string(out, f->val, f->len, NULL);
	do {
		const char *sep = memchr(f->val + i, LS_LIST_SEP, f->len - i);
		size_t end = sep ? (size_t)(sep - f->val) : f->len, mark;

		if (first) {
			if (ls_json_string(out, f->val + i, end - i, NULL) < 0)
				goto nomem;
			first = 0;
		} else {
			/* continue the string: drop its closing quote and the
			 * opening quote of the next piece */
			out->len--;
			if (ls_buf_putc(out, ',') < 0)
				goto nomem;
			mark = out->len;
			if (ls_json_string(out, f->val + i, end - i, NULL) < 0)
				goto nomem;
			memmove(out->data + mark, out->data + mark + 1, out->len - mark - 1);
			out->len--;
			out->data[out->len] = '\0';
		}
		i = end + 1;
	} while (i <= f->len);
	return 0;
nomem:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return LS_ENOMEM;
}

int ls_sink_event_as_string(struct ls_buf *out, struct ls_buf *scratch, const struct ls_event *ev)
{
	scratch->len = 0;
	if (ls_json_event(scratch, ev) < 0)
		return LS_ENOMEM;
	return ls_json_string(out, scratch->data, scratch->len - 1, NULL);
}

int ls_sink_put_uint(struct ls_buf *out, uint64_t v)
{
	char digits[20];
	int n = 0;

	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return ls_buf_append(out, digits + sizeof(digits) - n, (size_t)n);
}

int ls_sink_put_key(struct ls_buf *out, const char *key)
{
	if (ls_buf_append(out, ",\"", 2) < 0 || ls_buf_puts(out, key) < 0)
		return LS_ENOMEM;
	return ls_buf_append(out, "\":", 2);
}

int ls_sink_put_ns(struct ls_buf *out, int64_t ms)
{
	if (ms <= 0)
		return ls_buf_putc(out, '0');
	if (ls_sink_put_uint(out, (uint64_t)ms) < 0)
		return LS_ENOMEM;
	return ls_buf_append(out, "000000", 6);
}

/* ---- a tolerant JSON scanner ---- */

const char *ls_sink_json_ws(const char *p, const char *end)
{
	while (p < end && is_blank((unsigned char)*p))
		p++;
	return p;
}

/* The end of the string starting at p ('"'), or NULL. */
static const char *string_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

const char *ls_sink_json_skip(const char *p, const char *end)
{
	const char *start;
	int depth = 0;

	p = ls_sink_json_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p == '"')
		return string_end(p, end);
	if (*p == '{' || *p == '[') {
		while (p < end) {
			if (*p == '"') {
				if (!(p = string_end(p, end)))
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return NULL;
	}
	start = p;
	while (p < end && !is_blank((unsigned char)*p) && *p != ',' && *p != '}' && *p != ']' &&
	       *p != ':')
		p++;
	return p > start ? p : NULL;
}

const char *ls_sink_json_member(const char *p, const char *end, const char *key)
{
	size_t key_len = strlen(key);

	p = ls_sink_json_ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p++;
	for (;;) {
		const char *name, *name_end;

		p = ls_sink_json_ws(p, end);
		if (p >= end || *p != '"')
			return NULL;
		name = p + 1;
		if (!(name_end = string_end(p, end)))
			return NULL;
		p = ls_sink_json_ws(name_end, end);
		if (p >= end || *p != ':')
			return NULL;
		p = ls_sink_json_ws(p + 1, end);
		if ((size_t)(name_end - 1 - name) == key_len && memcmp(name, key, key_len) == 0)
			return p < end ? p : NULL;
		if (!(p = ls_sink_json_skip(p, end)))
			return NULL;
		p = ls_sink_json_ws(p, end);
		if (p >= end || *p != ',')
			return NULL;
		p++;
	}
}

int ls_sink_json_int(const char *p, const char *end, long long *v)
{
	int quoted, neg = 0, digits = 0;
	long long n = 0;

	p = ls_sink_json_ws(p, end);
	quoted = p < end && *p == '"';
	p += quoted;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (!digits || (quoted && (p >= end || *p != '"')))
		return -1;
	*v = neg ? -n : n;
	return 0;
}

int ls_sink_json_str(const char *p, const char *end, const char **s, size_t *len)
{
	const char *e;

	p = ls_sink_json_ws(p, end);
	if (p >= end || *p != '"' || !(e = string_end(p, end)))
		return -1;
	*s = p + 1;
	*len = (size_t)(e - 1 - *s);
	return 0;
}

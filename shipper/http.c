/* http.c - the sinks' HTTP client over libcurl's multi interface. */
#include "http.h"

/* our calls go through the table below, not curl.h's type-checking macros */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backoff.h"

#define BODY_KEEP (64 * 1024)
#define MAX_XFERS 64

struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	void *user;
	char *body;               /* the response's first BODY_KEEP bytes */
	size_t body_len;
	char retry_after[128];
	int has_retry_after;
	char errbuf[CURL_ERROR_SIZE];
	int used;
	int cut_short;            /* the body passed BODY_KEEP: we stopped reading */
	long idle_limit_ms;       /* --timeout: the longest no byte may move */
	int64_t last_move_ms;     /* when a byte last moved (monotonic; 0: none yet) */
	curl_off_t moved;         /* bytes sent + received at that moment */
	int idle_out;             /* ended by idle_limit_ms */
};

struct ls_http {
	struct ls_http_opts o;
	CURLM *multi;
	struct xfer xfers[MAX_XFERS];
	int inflight;
	struct xfer *last;        /* the result handed out last: freed next call */
};

static int curl_ready;

/* libcurl is loaded when ship first needs it, not at start: parse and tail
 * then never map libcurl and the ~30 libraries it brings (TLS, Kerberos,
 * LDAP, ...), which keeps their start-up fast and their memory small. */
#define CURL_FUNCS(X)                                                              \
	X(CURLcode, global_init, (long))                                           \
	X(CURLM *, multi_init, (void))                                             \
	X(CURLMcode, multi_setopt, (CURLM *, CURLMoption, ...))                    \
	X(CURLMcode, multi_cleanup, (CURLM *))                                     \
	X(CURLMcode, multi_add_handle, (CURLM *, CURL *))                          \
	X(CURLMcode, multi_remove_handle, (CURLM *, CURL *))                       \
	X(CURLMcode, multi_poll, (CURLM *, struct curl_waitfd *, unsigned, int, int *)) \
	X(CURLMcode, multi_perform, (CURLM *, int *))                              \
	X(CURLMsg *, multi_info_read, (CURLM *, int *))                            \
	X(CURL *, easy_init, (void))                                               \
	X(void, easy_cleanup, (CURL *))                                            \
	X(CURLcode, easy_setopt, (CURL *, CURLoption, ...))                        \
	X(CURLcode, easy_getinfo, (CURL *, CURLINFO, ...))                         \
	X(const char *, easy_strerror, (CURLcode))                                 \
	X(struct curl_slist *, slist_append, (struct curl_slist *, const char *))  \
	X(void, slist_free_all, (struct curl_slist *))

#define CURL_FIELD(ret, name, args) ret (*name) args;
static struct {
	CURL_FUNCS(CURL_FIELD)
} cu;

/* Loads libcurl once; LS_EIO with what to install when it is missing,
 * LS_ENOMEM when the loader ran out of memory. */
static int load_curl(struct ls_error *err)
{
	static int loaded;
	const char *why;
	void *lib;
	int gnutls_env;

	if (loaded)
		return 0;
	/* libcurl brings GnuTLS along (through LDAP and RTMP, which ship never
	 * uses), and GnuTLS sets itself up as it is loaded: its library state,
	 * p11-kit's trust modules, ~0.8 MiB of memory. Those libraries call
	 * gnutls_global_init() themselves before any use, so that implicit set-up
	 * is skipped, unless the user chose otherwise in the environment. */
	gnutls_env = !getenv("GNUTLS_NO_IMPLICIT_INIT");
	if (gnutls_env)
		setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
	lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (gnutls_env)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
	if (!lib) {
		why = dlerror();
		if (!why)
			why = "unknown error";
		/* glibc's words for a failed allocation while loading: telling
		 * the user to install what is installed would mislead */
		if (strstr(why, "allocate") || strstr(why, "memory") ||
		    strstr(why, "cannot create shared object descriptor"))
			return ls_error_set(err, LS_ENOMEM, "cannot load libcurl: out of "
					    "memory (%s)", why);
		return ls_error_set(err, LS_EIO, "cannot load libcurl (%s)%s", why,
				    strstr(why, "No such file") ? ": install the libcurl4 "
				    "package" : "");
	}
#define CURL_LOAD(ret, name, args)                                                  \
	*(void **)&cu.name = dlsym(lib, "curl_" #name);                             \
	if (!cu.name)                                                               \
		return ls_error_set(err, LS_EIO, "libcurl has no curl_%s: it is too old " \
				    "(7.66 or later is needed)", #name);
	CURL_FUNCS(CURL_LOAD)
	loaded = 1;
	return 0;
}

int ls_http_new(struct ls_http **out, const struct ls_http_opts *o, struct ls_error *err)
{
	struct ls_http *h;

	*out = NULL;
	if (load_curl(err) < 0)
		return err ? err->code : LS_EIO;
	if (!curl_ready) {
		if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return ls_error_set(err, LS_EIO, "cannot initialise libcurl");
		curl_ready = 1;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	h->o = *o;
	if (!h->o.timeout_ms)
		h->o.timeout_ms = 30000;
	if (!h->o.connect_timeout_ms)
		h->o.connect_timeout_ms = 10000;
	h->multi = cu.multi_init();
	if (!h->multi) {
		free(h);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	cu.multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
	*out = h;
	return 0;
}

static void xfer_release(struct ls_http *h, struct xfer *x)
{
	if (x->easy) {
		cu.multi_remove_handle(h->multi, x->easy);
		cu.easy_cleanup(x->easy);
	}
	cu.slist_free_all(x->hdrs);
	free(x->body);
	memset(x, 0, sizeof(*x));
}

void ls_http_free(struct ls_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < MAX_XFERS; i++)
		if (h->xfers[i].used)
			xfer_release(h, &h->xfers[i]);
	cu.multi_cleanup(h->multi);
	free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n, room = BODY_KEEP - x->body_len;

	if (room == 0) {
		/* enough to classify the answer: end the transfer rather than
		 * read a body of any size (the status is already known) */
		x->cut_short = 1;
		return 0;
	}
	if (!x->body && !(x->body = malloc(BODY_KEEP + 1)))
		return 0;
	if (len < room)
		room = len;
	memcpy(x->body + x->body_len, p, room);
	x->body_len += room;
	x->body[x->body_len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t at = sizeof(name) - 1, end = len;
		while (at < end && (p[at] == ' ' || p[at] == '\t'))
			at++;
		while (end > at && (p[end - 1] == '\r' || p[end - 1] == '\n' || p[end - 1] == ' '))
			end--;
		if (end - at >= sizeof(x->retry_after))
			end = at + sizeof(x->retry_after) - 1;
		memcpy(x->retry_after, p + at, end - at);
		x->retry_after[end - at] = '\0';
		x->has_retry_after = 1;
	}
	return len;
}

/* The idle timeout: libcurl calls this at least once a second while a
 * transfer is in progress (the low-speed check below keeps a one-second
 * timer running even when nothing arrives), and whenever bytes move. A
 * request that moved no byte, sent or received, for idle_limit_ms ends
 * here, within a second of the limit. libcurl's own low-speed check
 * cannot do it: it averages the speed over the last few seconds, so
 * after a body goes out fast it notices silence only some five seconds
 * late (a 2 s --timeout ended after 7 s, the default 30 s after 36 s). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = ctx;
	int64_t now = ls_monotonic_ms();

	(void)dltotal;
	(void)ultotal;
	/* until the first byte of the body goes out, the connection is being
	 * made: --connect-timeout's part, not this one's */
	if (ulnow + dlnow == 0 && x->moved == 0)
		return 0;
	if (ulnow + dlnow != x->moved || x->last_move_ms == 0) {
		x->moved = ulnow + dlnow;
		x->last_move_ms = now;
		return 0;
	}
	if (now - x->last_move_ms >= x->idle_limit_ms) {
		x->idle_out = 1;
		return 1;
	}
	return 0;
}

#define IDLE_CAP_FACTOR 10
#define IDLE_CAP_MIN_MS (5 * 60 * 1000L)

/* The longest a request may take at all, for an idle timeout of idle_ms. */
static long total_cap_ms(long idle_ms)
{
	long cap = idle_ms > LONG_MAX / IDLE_CAP_FACTOR ? LONG_MAX : idle_ms * IDLE_CAP_FACTOR;

	return cap < IDLE_CAP_MIN_MS ? IDLE_CAP_MIN_MS : cap;
}

/* Applies the TLS and timeout options. */
static void set_options(struct ls_http *h, struct xfer *x)
{
	CURL *e = x->easy;

	cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* the timeout limits how long a request may go without moving a byte
	 * (sending its body, waiting for and reading the answer), not its
	 * whole length: a slow link that keeps moving finishes its batch
	 * instead of sending it again and again. on_progress() enforces it;
	 * libcurl's low-speed check stays as a second line (it also keeps
	 * the one-second timer that calls on_progress() during a silence). A
	 * transfer that trickles on forever still ends at IDLE_CAP_FACTOR
	 * times the timeout (at least IDLE_CAP_MIN_MS). */
	x->idle_limit_ms = h->o.timeout_ms;
	cu.easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	cu.easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	cu.easy_setopt(e, CURLOPT_XFERINFODATA, x);
	cu.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((h->o.timeout_ms + 999) / 1000));
	cu.easy_setopt(e, CURLOPT_TIMEOUT_MS, total_cap_ms(h->o.timeout_ms));
	cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	cu.easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(e, CURLOPT_WRITEDATA, x);
	cu.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(e, CURLOPT_HEADERDATA, x);
	cu.easy_setopt(e, CURLOPT_USERAGENT, "logship/" LS_VERSION);
	/* only the sink's own protocols; no redirects to elsewhere */
	cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (h->o.cacert)
		cu.easy_setopt(e, CURLOPT_CAINFO, h->o.cacert);
	if (h->o.client_cert)
		cu.easy_setopt(e, CURLOPT_SSLCERT, h->o.client_cert);
	if (h->o.client_key)
		cu.easy_setopt(e, CURLOPT_SSLKEY, h->o.client_key);
	if (h->o.insecure) {
		cu.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		cu.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

int ls_http_post(struct ls_http *h, const char *url, const char *const *headers, int nheaders,
		 const void *body, size_t len, void *user, struct ls_error *err)
{
	struct xfer *x = NULL;

	for (int i = 0; i < MAX_XFERS && !x; i++)
		if (!h->xfers[i].used)
			x = &h->xfers[i];
	if (!x)
		return ls_error_set(err, LS_ENOMEM, "too many requests in flight");
	x->used = 1;
	x->user = user;
	x->easy = cu.easy_init();
	if (!x->easy)
		goto nomem;
	for (int i = 0; i < nheaders; i++) {
		struct curl_slist *l = cu.slist_append(x->hdrs, headers[i]);
		if (!l)
			goto nomem;
		x->hdrs = l;
	}
	/* no "Expect: 100-continue" round trip for large bodies */
	x->hdrs = cu.slist_append(x->hdrs, "Expect:");
	set_options(h, x);
	cu.easy_setopt(x->easy, CURLOPT_URL, url);
	cu.easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	cu.easy_setopt(x->easy, CURLOPT_POST, 1L);
	cu.easy_setopt(x->easy, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cu.easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	if (cu.multi_add_handle(h->multi, x->easy) != CURLM_OK)
		goto nomem;
	h->inflight++;
	return 0;
nomem:
	xfer_release(h, x);
	return ls_error_set(err, LS_ENOMEM, "out of memory");
}

int ls_http_wait(struct ls_http *h, const int *fds, int nfds, int *ready, int timeout_ms)
{
	struct curl_waitfd extra[8];
	int running, numfds;

	if (nfds > 8)
		nfds = 8;
	for (int i = 0; i < nfds; i++) {
		extra[i].fd = fds[i];
		extra[i].events = CURL_WAIT_POLLIN;
		extra[i].revents = 0;
	}
	if (timeout_ms < 0)
		timeout_ms = 3600 * 1000;
	cu.multi_poll(h->multi, extra, (unsigned)nfds, timeout_ms, &numfds);
	for (int i = 0; i < nfds; i++)
		ready[i] = (extra[i].revents & (CURL_WAIT_POLLIN | POLLHUP | POLLERR)) != 0;
	cu.multi_perform(h->multi, &running);
	return 0;
}

/* Copies the host of url (no user info, port or brackets) into out. */
static void url_host(const char *url, char *out, size_t cap)
{
	const char *p = url ? strstr(url, "://") : NULL, *end, *at;
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p + 1, ']', (size_t)(end - p - 1));
		p++;
		if (close)
			end = close;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon)
			end = colon;
	}
	n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The text of a failed transfer: libcurl's, except for a name that did not
 * resolve, which says which host in logship's words. Caller frees. */
static char *transport_error(struct xfer *x, CURLcode code)
{
	char host[256], *url = NULL, *msg;
	size_t cap;

	if (code == CURLE_ABORTED_BY_CALLBACK && x->idle_out) {
		cap = 96;
		if ((msg = malloc(cap)) != NULL)
			snprintf(msg, cap, x->idle_limit_ms % 1000 ?
				 "no byte moved for %ld ms (--timeout)" :
				 "no byte moved for %ld s (--timeout)",
				 x->idle_limit_ms % 1000 ? x->idle_limit_ms : x->idle_limit_ms / 1000);
		return msg;
	}
	if (code == CURLE_COULDNT_RESOLVE_HOST) {
		cu.easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
		url_host(url, host, sizeof(host));
		if (host[0]) {
			cap = strlen(host) + 64;
			if ((msg = malloc(cap)) != NULL)
				snprintf(msg, cap, "could not resolve host '%s' (DNS lookup failed)",
					 host);
			return msg;
		}
	}
	return strdup(x->errbuf[0] ? x->errbuf : cu.easy_strerror(code));
}

int ls_http_next(struct ls_http *h, struct ls_http_result *res)
{
	CURLMsg *m;
	int left;

	if (h->last) {
		xfer_release(h, h->last);
		h->last = NULL;
	}
	while ((m = cu.multi_info_read(h->multi, &left)) != NULL) {
		struct xfer *x;
		if (m->msg != CURLMSG_DONE)
			continue;
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		memset(res, 0, sizeof(*res));
		res->user = x->user;
		if (m->data.result == CURLE_OK ||
		    (m->data.result == CURLE_WRITE_ERROR && x->cut_short)) {
			cu.easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &res->status);
			res->body = x->body ? x->body : "";
			res->body_len = x->body_len;
		} else {
			res->status = 0;
			free(x->body);
			x->body = transport_error(x, m->data.result);
			res->body = x->body ? x->body : "transport error";
			res->body_len = strlen(res->body);
		}
		res->retry_after = x->has_retry_after ? x->retry_after : NULL;
		h->inflight--;
		h->last = x;
		return 1;
	}
	return 0;
}

int ls_http_inflight(const struct ls_http *h)
{
	return h->inflight;
}

size_t ls_http_request_overhead(void)
{
	/* libcurl's easy handle with its receive buffer (16 KiB) and upload
	 * buffer (64 KiB, which POSTFIELDS bodies are sent through), the
	 * headers, and the response body kept here */
	return (size_t)16 * 1024 + 16 * 1024 + 64 * 1024 + BODY_KEEP;
}

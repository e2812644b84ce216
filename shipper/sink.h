/* sink.h - where ship delivers events: one file per sink behind this
 * interface (sink_http.c, sink_clickhouse.c, sink_elasticsearch.c,
 * sink_loki.c, sink_splunk.c, sink_otlp.c, sink_file.c). A sink encodes each
 * event as one item of bytes; a request body is prefix + items joined by
 * separator + suffix, so ship can split a batch anywhere between items and
 * send the halves. The sink then says what the response means. Sinks do no
 * I/O themselves (http.c sends; the file sink's writes are ship's). */
#ifndef LS_SINK_H
#define LS_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/buf.h"
#include "../parsers/error.h"
#include "../parsers/event.h"

/* Settings from the command line or the config file. */
struct ls_sink_config {
	const char *url;              /* --to, e.g. clickhouse+http://127.0.0.1:8123/db.logs */
	const char *const *headers;   /* --header 'K: V' (plain) */
	int nheaders;
	const char *const *secret_headers; /* --header-env 'K: V' with V read from
				       * the environment: sent like headers, and
				       * V is kept out of reasons like auth */
	int nsecret_headers;
	const char *const *labels;    /* loki: --label key=field */
	int nlabels;
	const char *auth;             /* secret from --auth-env/--auth-file: a
				       * token (splunk, bearer) or "user:password"
				       * (basic, clickhouse); NULL: none */
	int create_table;             /* clickhouse: --create-table */
	const char *host;             /* this host's name (otlp resource, splunk
				       * host when the event has none) */
	int64_t now_ms;               /* otlp: observedTimeUnixNano of every
				       * record ("now" from LOGSHIP_NOW, for
				       * reproducible output); 0: the clock at
				       * encoding */
};

/* What a response means. */
enum ls_sink_verdict {
	LS_SINK_OK,        /* everything accepted */
	LS_SINK_RETRY,     /* transient (5xx, 408, overload): retry the batch later */
	LS_SINK_PAUSE,     /* the whole sink must wait (429/503, Retry-After) and retry */
	LS_SINK_FAILING,   /* the sink is misconfigured (401, 403, 404): pause and retry,
			    * nothing is dead-lettered; --once exits 3 */
	LS_SINK_SPLIT,     /* too large (413), or some rows are bad but the sink does not
			    * say which (ClickHouse parse errors): split and resend halves;
			    * a single item that still gets this is bad */
	LS_SINK_PARTIAL,   /* per-item results: the items flagged in bad[] are rejected,
			    * the others accepted (bulk APIs) */
	LS_SINK_BAD        /* the sink rejected the request's events as bad (400 naming
			    * them): dead-letter all items of this request */
};

struct ls_sink_result {
	enum ls_sink_verdict verdict;
	int64_t retry_after_ms;       /* from Retry-After (seconds or HTTP-date), > 0;
				       * -1: none (also for 0 or a date past). It
				       * may lengthen the backoff's pause, never
				       * shorten it: ls_backoff_pause_ms() */
	unsigned char *bad;           /* LS_SINK_PARTIAL: bad[i] != 0 for rejected item i
				       * (owned by the caller, nitems long) */
	size_t nbad;                  /* how many are bad */
	char reason[256];             /* short text for logs and dead letters: the
				       * status and the start of the body / exception */
};

struct ls_sink;

struct ls_sink_ops {
	const char *scheme;           /* "http", "clickhouse", ... (URL prefix before '+') */
	/* Parses cfg (URL, options); LS_EINVAL with a message naming the bad part. */
	int (*open)(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err);
	void (*free)(struct ls_sink *s);
	/* Appends ev's item to out (no allocation besides out's growth and a
	 * scratch buffer the sink reuses). LS_ENOMEM when out is full; out is
	 * then as it was. */
	int (*encode)(struct ls_sink *s, struct ls_buf *out, const struct ls_event *ev);
	/* The body's framing; NULL means "". */
	const char *(*prefix)(struct ls_sink *s);
	const char *separator;
	const char *suffix;
	/* The request: URL (owned by the sink, stable), method "POST", and extra
	 * headers ("K: V", owned by the sink; Content-Type and auth included) in
	 * hdrs (room for LS_SINK_MAX_HDRS), their count in *nhdrs. Returns 0.
	 * Compression is ship's: when it compresses a body (only with a method
	 * in compressions below) it adds "Content-Encoding: gzip" or "zstd"
	 * itself. */
	int (*request)(struct ls_sink *s, const char **url, const char **hdrs, int *nhdrs);
	/* Reads a response to a request of nitems items. status 0 means a
	 * transport error (connection refused, timeout, TLS): body is then the
	 * error text. Fills res (verdict, retry_after_ms, nbad, reason); before
	 * the call the caller points res->bad at nitems bytes (or NULL: a
	 * per-item answer then becomes SPLIT), which the sink clears and sets
	 * for a PARTIAL verdict. The reason never holds the sink's secret. */
	void (*classify)(struct ls_sink *s, long status, const char *body, size_t len,
			 const char *retry_after, size_t nitems, struct ls_sink_result *res);
	/* Optional (NULL: none): a request to send once before the first batch
	 * (ClickHouse --create-table: CREATE TABLE IF NOT EXISTS ...). Returns 1
	 * with its URL and body (owned by the sink, stable), to be POSTed
	 * uncompressed with the headers request() gives and read with
	 * classify(nitems 0); 0 when there is nothing to send. */
	int (*setup)(struct ls_sink *s, const char **url, const char **body, size_t *len);
	/* Which compressions the sink takes (LS_SINK_GZIP | LS_SINK_ZSTD). */
	unsigned compressions;
};

enum { LS_SINK_GZIP = 1, LS_SINK_ZSTD = 2 };

#define LS_SINK_MAX_HDRS 16

struct ls_sink {
	const struct ls_sink_ops *ops;
};

/* Opens the sink named by cfg->url's scheme ("http://", "https://",
 * "clickhouse+http://", "elasticsearch+https://", "loki+http://",
 * "splunk+https://", "otlp+http://", "file:///path", "-"). The file sink and
 * "-" have ops->request == NULL: ship writes their bodies itself (to the
 * path ls_sink_file_path() gives, or stdout). LS_EINVAL for an unknown
 * scheme, with the known ones listed. Caller frees with ls_sink_free(). */
int ls_sink_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err);
void ls_sink_free(struct ls_sink *s);
const char *ls_sink_file_path(const struct ls_sink *s); /* NULL: stdout or not a file sink */

/* Appends data[0..len) to fd (the file sink's file, opened O_APPEND, or
 * stdout) whole or not at all: when a write fails part-way (a full disk)
 * the file is cut back (ftruncate) to where the body began, so it ends
 * with whole lines and the same body can be written again later. 0, or
 * LS_EIO with "cannot write PATH: <reason>" (path NULL: "standard
 * output"): for a file, the sink failing for now (ENOSPC, EDQUOT, EIO),
 * to be retried with backoff like a 503, nothing of data left in it.
 * *torn_at carries, from one call to the next, where a body whose
 * cut-back failed began (-1: none; -1 before the first call): the next
 * call cuts there first, or fails. A pipe or a terminal cannot be cut. */
int ls_sink_file_append(int fd, const char *path, const char *data, size_t len,
			int64_t *torn_at, struct ls_error *err);

/* Shared helpers for the sinks. */

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110, IMF-fixdate and the
 * two obsolete forms), relative to now_ms. -1 when absent or unreadable. */
int64_t ls_sink_retry_after_ms(const char *value, int64_t now_ms);

/* The verdict of a plain HTTP status (2xx OK; 408, 425, 5xx RETRY; 429
 * and 503 PAUSE; 401, 403, 404 and the other answers that mean the URL or
 * the way of sending is wrong, 405 407 410 411 415 426 and 3xx, FAILING;
 * 413 SPLIT; other 4xx BAD; 0, a transport error, RETRY), with reason
 * "HTTP <status>: <start of the body>" or "transport error: <text>"
 * (control bytes and invalid UTF-8 escaped, credentials never present
 * since bodies do not echo headers) and retry_after_ms from retry_after
 * (may be NULL) against the clock; a Retry-After of 0 or a date already
 * past gives -1, as none: it must not make the retry come at once. */
void ls_sink_classify_status(long status, const char *body, size_t len,
			     const char *retry_after, struct ls_sink_result *res);

#endif

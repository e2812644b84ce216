/* sink_impl.h - what the sink files share and ship does not need: their
 * operation tables, URL splitting, the request part of an HTTP sink (URL,
 * headers, secrets kept out of reasons), reasons from response bodies and
 * a small tolerant JSON scanner for reading responses. */
#ifndef LS_SINK_IMPL_H
#define LS_SINK_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sink.h"

extern const struct ls_sink_ops ls_sink_http_ops;
extern const struct ls_sink_ops ls_sink_clickhouse_ops;
extern const struct ls_sink_ops ls_sink_elasticsearch_ops;
extern const struct ls_sink_ops ls_sink_loki_ops;
extern const struct ls_sink_ops ls_sink_splunk_ops;
extern const struct ls_sink_ops ls_sink_otlp_ops;
extern const struct ls_sink_ops ls_sink_file_ops;

/* The file sink's path (NULL for "-"); s is a file sink. */
const char *ls_sink_file_target(const struct ls_sink *s);

#define LS_SINK_MAX_HEADERS LS_SINK_MAX_HDRS
#define LS_SINK_MAX_SECRETS (3 + LS_SINK_MAX_HEADERS) /* auth's, then secret headers' */

/* "[kind+]http(s)://authority/path?query" taken apart; every member is
 * allocated (free with ls_sink_url_release). */
struct ls_sink_url {
	char *origin;  /* "http://host:port": scheme (lower case) and authority */
	char *path;    /* "/a/b" ("" when none); no query */
	char *query;   /* after '?' ("" when none) */
};

/* Splits url (with or without a "kind+" prefix). LS_EINVAL, with a message
 * that starts with what (e.g. "elasticsearch sink") and never repeats the
 * URL, when the scheme is not http/https, the host is missing, the URL
 * holds credentials (user:password@: secrets come from --auth-env or
 * --auth-file), a fragment, blanks or control bytes. */
int ls_sink_url_parse(struct ls_sink_url *u, const char *url, const char *what,
		      struct ls_error *err);
void ls_sink_url_release(struct ls_sink_url *u);

/* The request every HTTP sink makes: its URL, its headers and the secrets
 * (auth and the forms derived from it) that reasons must never show. */
struct ls_sink_req {
	char *url;
	char *hdrs[LS_SINK_MAX_HEADERS];
	int nhdrs;
	char *secrets[LS_SINK_MAX_SECRETS];
};

/* Adds the header "name: value" (value printf-style); a header of the same
 * name (any case) already there is replaced in place. 0, LS_ENOMEM, or
 * LS_EINVAL when there is no room left. */
int ls_sink_req_header(struct ls_sink_req *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Adds cfg->headers ("K: V") after the sink's own, replacing a sink header
 * of the same name. LS_EINVAL for a header without ':' or with a line
 * break, or too many headers. */
int ls_sink_req_config_headers(struct ls_sink_req *r, const struct ls_sink_config *cfg,
			       const char *what, struct ls_error *err);

/* Adds "Authorization:" for auth (nothing when NULL or empty): with
 * basic_on_colon and a ':' in auth, "Basic base64(user:password)"; else
 * "<token_scheme> <auth>" ("Bearer", "ApiKey", "Splunk"). Trailing blanks
 * and line ends of auth are ignored. Records auth, the password and the
 * base64 text as secrets. LS_EINVAL when auth holds a line break or a
 * control byte (the message does not show it). */
int ls_sink_req_auth(struct ls_sink_req *r, const char *auth, const char *token_scheme,
		     int basic_on_colon, const char *what, struct ls_error *err);

/* Length of auth without trailing blanks and line ends; -1 when what is
 * left holds a control byte (a header cannot carry it). */
long ls_sink_auth_len(const char *auth);

/* Remembers text as a secret to blank out of reasons (copied). */
int ls_sink_req_secret(struct ls_sink_req *r, const char *text, size_t len);

/* Fills ops->request's outputs from r. Returns 0. */
int ls_sink_req_request(struct ls_sink_req *r, const char **url, const char **hdrs, int *nhdrs);

/* Replaces every secret of r found in res->reason by "***". */
void ls_sink_req_scrub(const struct ls_sink_req *r, struct ls_sink_result *res);

void ls_sink_req_release(struct ls_sink_req *r);

/* Sets res to verdict with retry_after_ms -1, nbad 0 and reason
 * printf-style; res->bad is left alone. */
void ls_sink_result_set(struct ls_sink_result *res, enum ls_sink_verdict verdict,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends s[0..len) to reason (NUL-terminated, cap bytes) as readable text:
 * control bytes as \n \r \t or \xHH, bytes that are not valid UTF-8 as
 * \xHH; "..." ends a text that did not fit. */
void ls_sink_reason_append(char *reason, size_t cap, const char *s, size_t len);
/* The same for a response body, blanks at its ends left out. */
void ls_sink_reason_body(char *reason, size_t cap, const char *body, size_t len);

/* Base64 (RFC 4648, padded) of s[0..len); caller frees. NULL: no memory. */
char *ls_sink_base64(const char *s, size_t len);

/* Appends s percent-encoded for a URL query value (unreserved bytes kept). */
int ls_sink_urlencode(struct ls_buf *out, const char *s);

/* ms since the epoch as UTC calendar fields (floor division for negative
 * times). */
void ls_sink_utc(int64_t ms, struct tm *tm);

/* 1 when the field exists and has text, with *f set. */
int ls_sink_field(const struct ls_event *ev, const char *name, const struct ls_field **f);

/* Appends the field's text as a JSON string; a list field's items are
 * joined by ",". */
int ls_sink_field_string(struct ls_buf *out, const struct ls_field *f);

/* Appends ev encoded by ls_json_event() (without its "\n") as one JSON
 * string: JSON inside JSON. scratch is reused (its growth is the only
 * allocation). On LS_ENOMEM out is as it was. */
int ls_sink_event_as_string(struct ls_buf *out, struct ls_buf *scratch, const struct ls_event *ev);

/* Appends ns since the epoch (ms * 1000000; negative times as 0) as
 * decimal digits. */
int ls_sink_put_ns(struct ls_buf *out, int64_t ms);
/* Appends v in decimal. */
int ls_sink_put_uint(struct ls_buf *out, uint64_t v);
/* Appends ,"key": (key is plain: no escaping). */
int ls_sink_put_key(struct ls_buf *out, const char *key);

/* ---- a tolerant JSON scanner for response bodies ----
 * Pointers walk [p, end); every function returns NULL when the text is
 * malformed or ends early, so a truncated body is never read past end. */

const char *ls_sink_json_ws(const char *p, const char *end);
/* The end of the value at p (blanks first skipped). */
const char *ls_sink_json_skip(const char *p, const char *end);
/* The start of member key's value in the object at p, or NULL. Keys are
 * compared as written (no unescaping). */
const char *ls_sink_json_member(const char *p, const char *end, const char *key);
/* Reads an integer written as a number or as a string of digits; 0 or -1. */
int ls_sink_json_int(const char *p, const char *end, long long *v);
/* The contents of the string at p (without quotes, still escaped) in
 * *s and *len; 0 or -1. */
int ls_sink_json_str(const char *p, const char *end, const char **s, size_t *len);

#endif

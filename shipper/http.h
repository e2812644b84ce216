/* http.h - HTTP requests for the sinks over one libcurl multi handle (the
 * only file that includes curl.h): keep-alive connections, TLS verified by
 * default, several requests in flight, and a wait that also watches the
 * caller's descriptors (the file watcher, signals), so ship has one poll()
 * loop. */
#ifndef LS_HTTP_H
#define LS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"

struct ls_http_opts {
	const char *cacert;       /* --cacert FILE */
	const char *client_cert;  /* --client-cert FILE */
	const char *client_key;   /* --client-key FILE */
	int insecure;             /* --insecure: no certificate checks */
	long timeout_ms;          /* longest a request may move no byte once
				   * connected (0: 30 s), checked every second;
				   * the whole request at most ten times that,
				   * five minutes at least */
	long connect_timeout_ms;  /* (0: 10 s) */
};

/* A finished request. */
struct ls_http_result {
	void *user;               /* what ls_http_post() was given */
	long status;              /* HTTP status, 0 on a transport error */
	const char *body;         /* the response body's first 64 KiB, or the
				   * transport error's text; NUL-terminated */
	size_t body_len;
	const char *retry_after;  /* the Retry-After header's value, or NULL */
};

struct ls_http;

int ls_http_new(struct ls_http **out, const struct ls_http_opts *o, struct ls_error *err);
void ls_http_free(struct ls_http *h);

/* Starts a POST of body (borrowed until the result is taken) to url with
 * headers ("K: V"). Returns 0 or LS_ENOMEM. */
int ls_http_post(struct ls_http *h, const char *url, const char *const *headers, int nheaders,
		 const void *body, size_t len, void *user, struct ls_error *err);

/* Waits until a transfer needs work, one of fds (POLLIN) is readable or
 * timeout_ms passes (-1: no limit besides curl's own timers); fills
 * ready[i] for each fd. Then drives the transfers. */
int ls_http_wait(struct ls_http *h, const int *fds, int nfds, int *ready, int timeout_ms);

/* The next finished request: 1 and *res (valid until the next call), or 0. */
int ls_http_next(struct ls_http *h, struct ls_http_result *res);

/* Requests in flight. */
int ls_http_inflight(const struct ls_http *h);

/* The memory a request in flight holds besides its body (libcurl's handle
 * and buffers, the response kept), for the caller's in-flight accounting:
 * libcurl sends the body from the caller's buffer through its upload
 * buffer, never copying it whole. */
size_t ls_http_request_overhead(void);

#endif

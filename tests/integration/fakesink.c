/* fakesink.c - a small scriptable HTTP/1.1 sink for logship's integration
 * tests (libc, zlib and libzstd only; loopback only).
 *
 * Build: cc -O2 -o fakesink tests/integration/fakesink.c -lz -lzstd
 *
 * usage: fakesink [OPTIONS]
 *   --port N               port to listen on, 127.0.0.1 only (default 0: any
 *                          free port); SO_REUSEADDR, so a test can restart a
 *                          sink on the port an earlier one had
 *   --port-file FILE       write the chosen port there (atomically, once
 *                          listening: poll for the file)
 *   --out FILE             accepted bodies (decompressed) are appended there,
 *                          one line per event exactly as received (a body's
 *                          last line gets a '\n' if it lacked one)
 *   --log FILE             one line per request (see below); default stderr
 *   --script STEPS         what to answer the POST requests, in the order they
 *                          arrive, comma-separated (see below)
 *   --script-file FILE     the same, read from FILE (commas, spaces or
 *                          newlines between steps; '#' starts a comment)
 *   --then STEP            the answer once the script is used up (default 200)
 *   --retry-after VALUE    Retry-After sent with every 429 and 503 that has no
 *                          '@' of its own (default: none)
 *   --bad-if-contains TEXT a request that would be answered 2xx but whose body
 *                          has a line containing TEXT is answered 400 and
 *                          nothing of it is recorded (repeatable)
 *   --max-lines N          a request that would be answered 2xx with more than
 *                          N lines is answered 413 (nothing recorded)
 *   --delay MS             sleep MS before every answer (a slow sink)
 *   --ok-body TEXT         the body of every 2xx answer (default
 *                          {"accepted":LINES}), e.g. a bulk API's answer
 *   --max-body BYTES       bodies above this (raw or decompressed) get 413
 *                          (default 512 MiB)
 *   --read-rate BYTES      read every connection at most BYTES per second (a
 *                          sink that accepts bytes slowly: the client's
 *                          writes block once the socket buffers are full);
 *                          the log line gets throttled=N, the times reading
 *                          that request had to wait for the rate
 *   --rcvbuf BYTES         SO_RCVBUF of the accepted sockets (default with
 *                          --read-rate: 8192; else the system's), so the
 *                          kernel does not take the body in for us
 *
 * A STEP is   [stall=MS:]ACTION[@RETRY_AFTER][*REPEAT]
 *   ACTION     an HTTP status 100..599: a 2xx records the body in --out (unless
 *              --bad-if-contains/--max-lines turn it into 400/413); any other
 *              status records nothing;
 *              close     read the request, close the connection, no answer;
 *              garbage   answer bytes that are not HTTP, then close;
 *              truncate  answer a 200 status line and headers promising a
 *                        longer body than is sent, then close.
 *              None of close/garbage/truncate records the body.
 *   stall=MS:  sleep MS before acting (a client with a shorter timeout gives up;
 *              the body is still recorded afterwards if the action is 2xx, as
 *              a real sink that processed a request whose answer was lost).
 *              "stall=MS" alone means "stall=MS:200".
 *   @VALUE     the Retry-After header's value: seconds ("@2"), "date+N" (an
 *              IMF-fixdate HTTP-date N seconds from the moment of answering),
 *              or any literal text without ',' or '*'.
 *   *REPEAT    a count ("500*3": the next three requests) or a duration with
 *              a unit ("503*5s", "503*1500ms": every request until that much
 *              time has passed since the step's first use).
 * Example: --script '500,429@1,200,413,close,stall=3000,503@date+1*2'
 * Requests that are not POST (GET /, HEAD) get 200 and use no step.
 *
 * The log has one line per request, tab-separated key=value fields:
 *   req=N conn=C method=POST path=/p t_in=MS t_out=MS status=S action=A lines=L
 *   bytes=RAW body=DECOMPRESSED recorded=0|1 [bad=K] [peer=gone] [noeol=1]
 *   [retry-after=V] h:<lower-case header name>=<value> for every header
 * (status=- for close/garbage/truncate; req=- for non-POST requests and for
 * a request whose body ended early: action=incomplete bytes=<read>; t_in:
 * when the request's head arrived, t_out: when it was answered, both in ms
 * since the sink started; the line is written after answering, so lines are
 * in answer order, not always req order when connections run in parallel).
 * Chunked request bodies are decoded. Content-Encoding gzip, x-gzip, deflate,
 * zstd and identity are decoded; another gives 415. SIGTERM/SIGINT end it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

enum action { ACT_STATUS, ACT_CLOSE, ACT_GARBAGE, ACT_TRUNCATE };

struct step {
	enum action act;
	int status;
	long stall_ms;
	char retry_after[128];    /* "" none; "date+N" computed when answering */
	long repeat;              /* count left (when !duration) */
	long duration_ms;         /* > 0: repeat until started_ms + duration_ms */
	long long started_ms;     /* 0 until first use */
};

#define MAX_STEPS 4096
#define MAX_BAD 64
#define MAX_HDRS 64
#define HDR_MAX (64 * 1024)

static struct step steps[MAX_STEPS];
static int nsteps, cur_step;
static struct step then_step = { .act = ACT_STATUS, .status = 200, .repeat = 1 };
static const char *default_retry_after = "";
static const char *bad_texts[MAX_BAD];
static int nbad;
static long max_lines = -1;
static long delay_ms;
static const char *ok_body; /* --ok-body: the body of every 2xx answer */
static size_t max_body = 512u << 20;
static double read_rate;    /* --read-rate, bytes per second; 0: no limit */
static int rcvbuf;          /* --rcvbuf */
static int out_fd = -1, log_fd = 2;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long req_counter, conn_counter;
static long long start_ms;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fakesink: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- growable buffer ---- */
struct buf {
	char *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[1024];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* ---- script parsing ---- */
static void parse_step(const char *text, struct step *s)
{
	char tmp[512], *p, *star, *at;

	memset(s, 0, sizeof(*s));
	s->repeat = 1;
	if (strlen(text) >= sizeof(tmp))
		die("step too long: %s", text);
	strcpy(tmp, text);
	p = tmp;
	if (strncmp(p, "stall=", 6) == 0) {
		char *end;
		s->stall_ms = strtol(p + 6, &end, 10);
		if (end == p + 6 || s->stall_ms < 0)
			die("bad stall in step '%s'", text);
		if (*end == '\0') {
			s->act = ACT_STATUS;
			s->status = 200;
			return;
		}
		if (*end != ':')
			die("bad stall in step '%s' (stall=MS[:ACTION])", text);
		p = end + 1;
	}
	star = strchr(p, '*');
	if (star) {
		char *end;
		*star++ = '\0';
		long n = strtol(star, &end, 10);
		if (end == star || n <= 0)
			die("bad repeat in step '%s'", text);
		if (strcmp(end, "") == 0)
			s->repeat = n;
		else if (strcmp(end, "s") == 0)
			s->duration_ms = n * 1000;
		else if (strcmp(end, "ms") == 0)
			s->duration_ms = n;
		else
			die("bad repeat unit in step '%s' (N, Ns or Nms)", text);
	}
	at = strchr(p, '@');
	if (at) {
		*at++ = '\0';
		if (strlen(at) >= sizeof(s->retry_after) || !*at)
			die("bad Retry-After in step '%s'", text);
		strcpy(s->retry_after, at);
	}
	if (strcmp(p, "close") == 0)
		s->act = ACT_CLOSE;
	else if (strcmp(p, "garbage") == 0)
		s->act = ACT_GARBAGE;
	else if (strcmp(p, "truncate") == 0)
		s->act = ACT_TRUNCATE;
	else {
		char *end;
		long st = strtol(p, &end, 10);
		if (end == p || *end || st < 100 || st > 599)
			die("bad action in step '%s' (a status, close, garbage or truncate)", text);
		s->act = ACT_STATUS;
		s->status = (int)st;
	}
}

static void parse_script(const char *text)
{
	const char *p = text;
	while (*p) {
		char tok[512];
		size_t n = 0;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		while (*p && *p != ',' && !isspace((unsigned char)*p) && n < sizeof(tok) - 1)
			tok[n++] = *p++;
		tok[n] = '\0';
		if (!n)
			continue;
		if (nsteps >= MAX_STEPS)
			die("too many steps");
		parse_step(tok, &steps[nsteps++]);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = { 0 };
	char tmp[4096];
	size_t n;
	if (!f)
		die("cannot open %s: %s", path, strerror(errno));
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return b.p ? b.p : strdup("");
}

/* Takes the step for the next POST request; returns a copy and its number. */
static struct step next_step(long *reqno)
{
	struct step s;
	pthread_mutex_lock(&lock);
	*reqno = ++req_counter;
	for (;;) {
		if (cur_step >= nsteps) {
			s = then_step;
			break;
		}
		struct step *c = &steps[cur_step];
		if (c->duration_ms > 0) {
			long long t = now_ms();
			if (!c->started_ms)
				c->started_ms = t;
			if (t - c->started_ms >= c->duration_ms) {
				cur_step++;
				continue;
			}
			s = *c;
			break;
		}
		s = *c;
		if (--c->repeat <= 0)
			cur_step++;
		break;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

/* ---- HTTP ---- */
struct conn {
	int fd;
	long id;
	struct buf in;            /* bytes read and not consumed */
	double tokens;            /* --read-rate: bytes that may be read now */
	long long refilled_ms;    /* when tokens were last topped up */
	long throttled;           /* waits for the rate in this request */
};

struct header {
	char *name;               /* lower-cased */
	char *value;
};

struct request {
	char method[16];
	char path[2048];
	int http10;
	struct header hdrs[MAX_HDRS];
	int nhdrs;
	char *head;               /* owns the strings above */
	long long t_in;           /* ms since start when the head was read */
	struct buf raw;           /* the body as sent (decoded from chunked) */
	struct buf body;          /* decompressed */
};

static const char *hdr_get(const struct request *r, const char *name)
{
	for (int i = 0; i < r->nhdrs; i++)
		if (strcmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* How many bytes fill() may read now under --read-rate (a token bucket
 * holding at most 50 ms worth, so an idle connection gets no burst);
 * waits until it is at least 1. */
static size_t rate_allowance(struct conn *c, size_t want)
{
	double burst = read_rate / 20 > 1 ? read_rate / 20 : 1;

	for (;;) {
		long long t = now_ms();
		if (!c->refilled_ms)
			c->refilled_ms = t;
		c->tokens += read_rate * (double)(t - c->refilled_ms) / 1000;
		c->refilled_ms = t;
		if (c->tokens > burst)
			c->tokens = burst;
		if (c->tokens >= 1)
			return c->tokens < (double)want ? (size_t)c->tokens : want;
		c->throttled++;
		sleep_ms((long)((1 - c->tokens) * 1000 / read_rate) + 1);
	}
}

/* Reads more bytes into c->in; 0 ok, -1 closed or error. */
static int fill(struct conn *c)
{
	char tmp[65536];
	size_t want = sizeof(tmp);
	ssize_t n;

	if (read_rate > 0)
		want = rate_allowance(c, want);
	do
		n = recv(c->fd, tmp, want, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	if (read_rate > 0)
		c->tokens -= (double)n;
	return buf_add(&c->in, tmp, (size_t)n);
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in.p, c->in.p + n, c->in.len - n);
	c->in.len -= n;
	c->in.p[c->in.len] = '\0';
}

static void respond(struct conn *c, int status, const char *retry_after, const char *body, int close_after);
static void log_incomplete(const struct conn *c, const struct request *r);

/* Reads exactly n body bytes into out. */
static int read_exact(struct conn *c, struct buf *out, size_t n)
{
	while (c->in.len < n) {
		size_t have = c->in.len;
		if (have && buf_add(out, c->in.p, have) < 0)
			return -1;
		n -= have;
		c->in.len = 0;
		if (fill(c) < 0)
			return -1;
	}
	if (buf_add(out, c->in.p, n) < 0)
		return -1;
	consume(c, n);
	return 0;
}

/* Reads one CRLF-terminated line (without it) into line. */
static int read_line(struct conn *c, char *line, size_t cap)
{
	char *nl;
	while (!(nl = memchr(c->in.p ? c->in.p : "", '\n', c->in.len))) {
		if (c->in.len > 8192 || fill(c) < 0)
			return -1;
	}
	size_t n = (size_t)(nl - c->in.p);
	size_t keep = n && c->in.p[n - 1] == '\r' ? n - 1 : n;
	if (keep >= cap)
		keep = cap - 1;
	memcpy(line, c->in.p, keep);
	line[keep] = '\0';
	consume(c, n + 1);
	return 0;
}

static int read_chunked(struct conn *c, struct buf *out)
{
	char line[256];
	for (;;) {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		char *end;
		unsigned long n = strtoul(line, &end, 16);
		if (end == line)
			return -1;
		if (n == 0)
			break;
		if (out->len + n > max_body)
			return -2;
		if (read_exact(c, out, n) < 0 || read_line(c, line, sizeof(line)) < 0)
			return -1;
	}
	/* trailers up to the empty line */
	for (;;) {
		if (read_line(c, line, sizeof(line)) < 0)
			return -1;
		if (!line[0])
			return 0;
	}
}

/* Reads a request's head and body. 1 ok, 0 clean close, -1 error (answered or
 * dropped: close the connection). */
static int read_request(struct conn *c, struct request *r)
{
	char *end;
	memset(r, 0, sizeof(*r));
	c->throttled = 0;
	for (;;) {
		end = c->in.p ? memmem(c->in.p, c->in.len, "\r\n\r\n", 4) : NULL;
		if (end)
			break;
		if (c->in.len > HDR_MAX) {
			respond(c, 431, NULL, "{\"error\":\"headers too large\"}", 1);
			return -1;
		}
		if (fill(c) < 0)
			return c->in.len ? -1 : 0;
	}
	size_t head_len = (size_t)(end - c->in.p) + 4;
	r->t_in = now_ms() - start_ms;
	r->head = malloc(head_len + 1);
	if (!r->head)
		return -1;
	memcpy(r->head, c->in.p, head_len);
	r->head[head_len] = '\0';
	consume(c, head_len);

	char *line = r->head, *next = strstr(line, "\r\n");
	*next = '\0';
	char version[16] = "";
	if (sscanf(line, "%15s %2047s %15s", r->method, r->path, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		respond(c, 400, NULL, "{\"error\":\"bad request line\"}", 1);
		return -1;
	}
	r->http10 = strcmp(version, "HTTP/1.0") == 0;
	for (line = next + 2; *line && strncmp(line, "\r\n", 2) != 0; line = next + 2) {
		next = strstr(line, "\r\n");
		*next = '\0';
		char *colon = strchr(line, ':');
		if (!colon || r->nhdrs >= MAX_HDRS)
			continue;
		*colon = '\0';
		for (char *p = line; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		char *ve = v + strlen(v);
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			*--ve = '\0';
		r->hdrs[r->nhdrs].name = line;
		r->hdrs[r->nhdrs].value = v;
		r->nhdrs++;
	}

	const char *expect = hdr_get(r, "expect");
	if (expect && strcasecmp(expect, "100-continue") == 0)
		send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);

	const char *te = hdr_get(r, "transfer-encoding");
	const char *cl = hdr_get(r, "content-length");
	if (te && strcasecmp(te, "identity") != 0) {
		if (strcasecmp(te, "chunked") != 0) {
			respond(c, 501, NULL, "{\"error\":\"unsupported transfer-encoding\"}", 1);
			return -1;
		}
		int rc = read_chunked(c, &r->raw);
		if (rc == -2) {
			respond(c, 413, NULL, "{\"error\":\"body too large\"}", 1);
			return -1;
		}
		if (rc < 0) {
			log_incomplete(c, r);
			return -1;
		}
	} else if (cl) {
		char *e;
		unsigned long long n = strtoull(cl, &e, 10);
		if (e == cl || *e) {
			respond(c, 400, NULL, "{\"error\":\"bad content-length\"}", 1);
			return -1;
		}
		if (n > max_body) {
			respond(c, 413, NULL, "{\"error\":\"body too large\"}", 1);
			return -1;
		}
		if (read_exact(c, &r->raw, (size_t)n) < 0) {
			log_incomplete(c, r);
			return -1;
		}
	} else if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
		respond(c, 411, NULL, "{\"error\":\"length required\"}", 1);
		return -1;
	}
	return 1;
}

static void request_release(struct request *r)
{
	free(r->head);
	free(r->raw.p);
	free(r->body.p);
	memset(r, 0, sizeof(*r));
}

/* Decompresses r->raw into r->body per Content-Encoding: 0 ok, 415 unknown
 * encoding, 400 damaged data, 413 too large. */
static int decode_body(struct request *r, const char **enc_out)
{
	const char *enc = hdr_get(r, "content-encoding");
	*enc_out = enc ? enc : "identity";
	if (!enc || strcasecmp(enc, "identity") == 0) {
		r->body = r->raw;
		memset(&r->raw, 0, sizeof(r->raw));
		if (!r->body.p)
			buf_add(&r->body, "", 0);
		/* keep raw's length for the log */
		r->raw.len = r->body.len;
		return 0;
	}
	if (strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0 ||
	    strcasecmp(enc, "deflate") == 0) {
		int gzip = strcasecmp(enc, "deflate") != 0;
		size_t at = 0;
		/* gzip: one member after another until the input ends */
		do {
			z_stream z;
			memset(&z, 0, sizeof(z));
			if (inflateInit2(&z, gzip ? 15 + 16 : 15) != Z_OK)
				return 400;
			z.next_in = (Bytef *)r->raw.p + at;
			z.avail_in = (uInt)(r->raw.len - at);
			int rc;
			do {
				if (buf_reserve(&r->body, 65536) < 0) {
					inflateEnd(&z);
					return 413;
				}
				z.next_out = (Bytef *)r->body.p + r->body.len;
				z.avail_out = 65536;
				rc = inflate(&z, Z_NO_FLUSH);
				r->body.len = (size_t)((char *)z.next_out - r->body.p);
				if (r->body.len > max_body) {
					inflateEnd(&z);
					return 413;
				}
			} while (rc == Z_OK);
			at = (size_t)((char *)z.next_in - r->raw.p);
			inflateEnd(&z);
			if (rc != Z_STREAM_END)
				return 400;
		} while (gzip && at < r->raw.len);
		if (r->body.p)
			r->body.p[r->body.len] = '\0';
		else
			buf_add(&r->body, "", 0);
		return 0;
	}
	if (strcasecmp(enc, "zstd") == 0) {
		ZSTD_DStream *d = ZSTD_createDStream();
		ZSTD_inBuffer in = { r->raw.p, r->raw.len, 0 };
		size_t rc = 1;
		if (!d)
			return 413;
		ZSTD_initDStream(d);
		for (;;) {
			if (buf_reserve(&r->body, 65536) < 0) {
				ZSTD_freeDStream(d);
				return 413;
			}
			ZSTD_outBuffer out = { r->body.p + r->body.len, 65536, 0 };
			rc = ZSTD_decompressStream(d, &out, &in);
			if (ZSTD_isError(rc)) {
				ZSTD_freeDStream(d);
				return 400;
			}
			r->body.len += out.pos;
			if (r->body.len > max_body) {
				ZSTD_freeDStream(d);
				return 413;
			}
			/* done when the input is used up and the decoder had no more to give */
			if (in.pos == in.size && out.pos < out.size)
				break;
		}
		ZSTD_freeDStream(d);
		if (ZSTD_isError(rc) || rc != 0)
			return 400;
		if (r->body.p)
			r->body.p[r->body.len] = '\0';
		else
			buf_add(&r->body, "", 0);
		return 0;
	}
	return 415;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* Turns a step's Retry-After ("date+N" or literal) into the header value. */
static void retry_after_value(const char *spec, char *out, size_t cap)
{
	if (strncmp(spec, "date+", 5) == 0 || strncmp(spec, "date-", 5) == 0) {
		long n = strtol(spec + 4, NULL, 10);
		time_t t = time(NULL) + n;
		struct tm tm;
		static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
		static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
		gmtime_r(&t, &tm);
		snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	} else {
		snprintf(out, cap, "%s", spec);
	}
}

static void respond(struct conn *c, int status, const char *retry_after, const char *body, int close_after)
{
	char head[1024];
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
			 status, reason(status), blen,
			 retry_after && *retry_after ? "Retry-After: " : "",
			 retry_after && *retry_after ? retry_after : "",
			 retry_after && *retry_after ? "\r\n" : "",
			 close_after ? "Connection: close\r\n" : "");
	struct buf b = { 0 };
	buf_add(&b, head, (size_t)n);
	if (blen)
		buf_add(&b, body, blen);
	send_all(c->fd, b.p, b.len);
	free(b.p);
}

/* Counts lines; finds whether one contains a --bad-if-contains text. */
static long count_lines(const struct buf *b, int *noeol, long *bad, char *first_bad, size_t cap)
{
	long lines = 0;
	const char *p = b->p, *end = b->p + b->len;
	*noeol = 0;
	*bad = 0;
	first_bad[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lines++;
		for (int i = 0; i < nbad; i++) {
			size_t tl = strlen(bad_texts[i]);
			if (memmem(p, (size_t)(le - p), bad_texts[i], tl)) {
				if (!*bad)
					snprintf(first_bad, cap, "%s", bad_texts[i]);
				(*bad)++;
				break;
			}
		}
		if (!nl) {
			*noeol = 1;
			break;
		}
		p = nl + 1;
	}
	return lines;
}

/* The peer has closed its side (it gave up waiting)? */
static int peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char ch;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR))
		return 1;
	ssize_t n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void json_escape_into(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

static void log_line(struct buf *lb)
{
	buf_add(lb, "\n", 1);
	pthread_mutex_lock(&lock);
	write_all(log_fd, lb->p, lb->len);
	pthread_mutex_unlock(&lock);
}

static void log_headers(struct buf *lb, const struct request *r)
{
	for (int i = 0; i < r->nhdrs; i++) {
		buf_addf(lb, "\th:%s=", r->hdrs[i].name);
		/* tabs and newlines cannot occur in a parsed header value */
		buf_add(lb, r->hdrs[i].value, strlen(r->hdrs[i].value));
	}
}

/* Logs a request whose body ended early (the client gave up sending it). */
static void log_incomplete(const struct conn *c, const struct request *r)
{
	struct buf lb = { 0 };

	buf_addf(&lb, "req=-\tconn=%ld\tmethod=%s\tpath=%s\tt_in=%lld\tt_out=%lld\tstatus=-"
		 "\taction=incomplete\tbytes=%zu", c->id, r->method, r->path, r->t_in,
		 now_ms() - start_ms, r->raw.len);
	if (read_rate > 0)
		buf_addf(&lb, "\tthrottled=%ld", c->throttled);
	log_line(&lb);
	free(lb.p);
}

/* Handles one POST; returns 1 to keep the connection, 0 to close it. */
static int handle_post(struct conn *c, struct request *r)
{
	long reqno;
	struct step s = next_step(&reqno);
	const char *enc = "identity";
	struct buf lb = { 0 };
	long lines = 0, bad = 0;
	int noeol = 0, recorded = 0, gone = 0, keep = !r->http10;
	int status = 0;
	char ra[160] = "", first_bad[256] = "", body[600];
	const char *ctype = hdr_get(r, "connection");
	size_t raw_len = r->raw.len;

	if (ctype && strcasecmp(ctype, "close") == 0)
		keep = 0;
	else if (ctype && r->http10 && strcasecmp(ctype, "keep-alive") == 0)
		keep = 1;

	int derr = decode_body(r, &enc);
	if (!derr)
		lines = count_lines(&r->body, &noeol, &bad, first_bad, sizeof(first_bad));

	if (delay_ms)
		sleep_ms(delay_ms);
	if (s.stall_ms)
		sleep_ms(s.stall_ms);
	gone = peer_gone(c->fd);

	buf_addf(&lb, "req=%ld\tconn=%ld\tmethod=%s\tpath=%s\tt_in=%lld\tt_out=%lld", reqno, c->id,
		 r->method, r->path, r->t_in, now_ms() - start_ms);
	switch (s.act) {
	case ACT_CLOSE:
		buf_addf(&lb, "\tstatus=-\taction=close");
		keep = 0;
		break;
	case ACT_GARBAGE:
		send_all(c->fd, "this is not HTTP at all\r\n\r\n", 27);
		buf_addf(&lb, "\tstatus=-\taction=garbage");
		keep = 0;
		break;
	case ACT_TRUNCATE: {
		static const char t[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Content-Length: 100\r\n\r\n{\"acc";
		send_all(c->fd, t, sizeof(t) - 1);
		buf_addf(&lb, "\tstatus=-\taction=truncate");
		keep = 0;
		break;
	}
	case ACT_STATUS:
		status = s.status;
		if (derr) {
			status = derr;
			snprintf(body, sizeof(body), "{\"error\":\"cannot decode body (%s)\"}", enc);
		} else if (status >= 200 && status < 300 && bad) {
			char esc[300];
			status = 400;
			json_escape_into(esc, sizeof(esc), first_bad);
			snprintf(body, sizeof(body),
				 "{\"error\":\"bad event\",\"bad_lines\":%ld,\"matched\":\"%s\"}", bad, esc);
		} else if (status >= 200 && status < 300 && max_lines >= 0 && lines > max_lines) {
			status = 413;
			snprintf(body, sizeof(body), "{\"error\":\"too many lines\",\"lines\":%ld}", lines);
		} else if (status >= 200 && status < 300) {
			if (ok_body)
				snprintf(body, sizeof(body), "%s", ok_body);
			else
				snprintf(body, sizeof(body), "{\"accepted\":%ld}", lines);
			pthread_mutex_lock(&lock);
			if (out_fd >= 0 && r->body.len) {
				write_all(out_fd, r->body.p, r->body.len);
				if (noeol)
					write_all(out_fd, "\n", 1);
			}
			pthread_mutex_unlock(&lock);
			recorded = 1;
		} else {
			snprintf(body, sizeof(body), "{\"error\":\"scripted %d\"}", status);
		}
		if (status == 429 || status == 503) {
			const char *spec = s.retry_after[0] ? s.retry_after : default_retry_after;
			if (*spec)
				retry_after_value(spec, ra, sizeof(ra));
		} else if (s.retry_after[0]) {
			retry_after_value(s.retry_after, ra, sizeof(ra));
		}
		respond(c, status, ra, status == 204 ? NULL : body, !keep);
		buf_addf(&lb, "\tstatus=%d\taction=%d", status, s.status);
		break;
	}
	buf_addf(&lb, "\tlines=%ld\tbytes=%zu\tbody=%zu\tencoding=%s\trecorded=%d", lines, raw_len,
		 r->body.len, enc, recorded);
	if (s.stall_ms)
		buf_addf(&lb, "\tstall=%ld", s.stall_ms);
	if (read_rate > 0)
		buf_addf(&lb, "\tthrottled=%ld", c->throttled);
	if (bad)
		buf_addf(&lb, "\tbad=%ld", bad);
	if (gone)
		buf_addf(&lb, "\tpeer=gone");
	if (noeol)
		buf_addf(&lb, "\tnoeol=1");
	if (ra[0])
		buf_addf(&lb, "\tretry-after=%s", ra);
	log_headers(&lb, r);
	log_line(&lb);
	free(lb.p);
	return keep;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct request r;

	for (;;) {
		int rc = read_request(c, &r);
		if (rc <= 0) {
			request_release(&r);
			break;
		}
		int keep;
		if (strcmp(r.method, "POST") == 0) {
			keep = handle_post(c, &r);
		} else {
			struct buf lb = { 0 };
			const char *ch = hdr_get(&r, "connection");
			keep = !r.http10 && !(ch && strcasecmp(ch, "close") == 0);
			respond(c, 200, NULL, strcmp(r.method, "HEAD") == 0 ? NULL : "{}", !keep);
			buf_addf(&lb, "req=-\tconn=%ld\tmethod=%s\tpath=%s\tstatus=200", c->id, r.method, r.path);
			log_headers(&lb, &r);
			log_line(&lb);
			free(lb.p);
		}
		request_release(&r);
		if (!keep)
			break;
	}
	close(c->fd);
	free(c->in.p);
	free(c);
	return NULL;
}

static void write_port_file(const char *path, int port)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

static void usage(void)
{
	fputs("usage: fakesink [--port N] [--port-file FILE] [--out FILE] [--log FILE]\n"
	      "                [--script STEPS | --script-file FILE] [--then STEP]\n"
	      "                [--retry-after VALUE] [--bad-if-contains TEXT]... [--max-lines N]\n"
	      "                [--delay MS] [--max-body BYTES] [--read-rate BYTES] [--rcvbuf BYTES]\n"
	      "STEP: [stall=MS:]STATUS|close|garbage|truncate[@RETRY_AFTER][*N|*Ns|*Nms]\n"
	      "(see the comment at the top of fakesink.c)\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	int port = 0;
	const char *port_file = NULL, *out_path = NULL, *log_path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) usage(); i++; } while (0)
		if (strcmp(a, "--port") == 0) {
			NEEDV();
			port = atoi(v);
		} else if (strcmp(a, "--port-file") == 0) {
			NEEDV();
			port_file = v;
		} else if (strcmp(a, "--out") == 0) {
			NEEDV();
			out_path = v;
		} else if (strcmp(a, "--log") == 0) {
			NEEDV();
			log_path = v;
		} else if (strcmp(a, "--script") == 0) {
			NEEDV();
			parse_script(v);
		} else if (strcmp(a, "--script-file") == 0) {
			NEEDV();
			char *t = read_file(v);
			parse_script(t);
			free(t);
		} else if (strcmp(a, "--then") == 0) {
			NEEDV();
			parse_step(v, &then_step);
			if (then_step.duration_ms || then_step.repeat != 1)
				die("--then takes a step without '*'");
		} else if (strcmp(a, "--retry-after") == 0) {
			NEEDV();
			default_retry_after = v;
		} else if (strcmp(a, "--bad-if-contains") == 0) {
			NEEDV();
			if (nbad >= MAX_BAD)
				die("too many --bad-if-contains");
			bad_texts[nbad++] = v;
		} else if (strcmp(a, "--max-lines") == 0) {
			NEEDV();
			max_lines = atol(v);
		} else if (strcmp(a, "--ok-body") == 0) {
			NEEDV();
			ok_body = v;
		} else if (strcmp(a, "--delay") == 0) {
			NEEDV();
			delay_ms = atol(v);
		} else if (strcmp(a, "--max-body") == 0) {
			NEEDV();
			max_body = (size_t)strtoull(v, NULL, 10);
		} else if (strcmp(a, "--read-rate") == 0) {
			NEEDV();
			read_rate = strtod(v, NULL);
			if (read_rate < 1)
				die("--read-rate takes bytes per second (at least 1)");
		} else if (strcmp(a, "--rcvbuf") == 0) {
			NEEDV();
			rcvbuf = atoi(v);
		} else {
			usage();
		}
#undef NEEDV
	}

	signal(SIGPIPE, SIG_IGN);
	start_ms = now_ms();
	if (out_path && (out_fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		die("cannot open %s: %s", out_path, strerror(errno));
	if (log_path && (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		die("cannot open %s: %s", log_path, strerror(errno));

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (ls < 0)
		die("socket: %s", strerror(errno));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!rcvbuf && read_rate > 0)
		rcvbuf = 8192;
	/* set before listen(): accepted sockets inherit it, and the window
	 * they announce is sized from it */
	if (rcvbuf > 0 && setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0)
		die("SO_RCVBUF %d: %s", rcvbuf, strerror(errno));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(ls, 128) < 0)
		die("listen: %s", strerror(errno));
	socklen_t sl = sizeof(sa);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	if (port_file)
		write_port_file(port_file, ntohs(sa.sin_port));

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
				if (errno == EMFILE || errno == ENFILE)
					sleep_ms(10);
				continue;
			}
			die("accept: %s", strerror(errno));
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_mutex_lock(&lock);
		c->id = ++conn_counter;
		pthread_mutex_unlock(&lock);
		pthread_t th;
		if (pthread_create(&th, &attr, conn_main, c) != 0) {
			close(fd);
			free(c);
		}
	}
}

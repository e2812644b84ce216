/* ship.c - `logship ship`: deliver events to a sink, at least once, with
 * checkpoints, batching, compression, backoff and dead letters.
 *
 * Events are encoded by the sink into the current batch as they come out of
 * the pipeline; a full (or old) batch is sealed and becomes a request over
 * its items. A request that must be split (413, bad rows the sink does not
 * name) becomes two requests over halves of its items. A file's checkpoint
 * moves only up to the first item of that file that is not yet acknowledged
 * or dead-lettered, whatever order batches complete in.
 *
 * Memory: a batch fills one plain buffer (reused from batch to batch); once
 * sealed it is held as the compressed request body, and its items' bytes
 * come back from that body only when needed (a split, dead letters). All
 * that is held for events not yet acknowledged (the filling buffer, sealed
 * bodies, items with their files' offsets, journal cursors, split halves,
 * libcurl's share of each request in flight) counts in held_bytes. The
 * tailer stops reading when that reaches --max-inflight-bytes, or when
 * --concurrency requests already wait for a free slot (reading further
 * ahead would only hold more): the files are the buffer. */
#include "commands.h"
#include "common.h"
#include "config.h"
#include "progress.h"

#include "../parsers/json_out.h"
#include "../shipper/backoff.h"
#include "../shipper/checkpoint.h"
#include "../shipper/compress.h"
#include "../shipper/deadletter.h"
#include "../shipper/http.h"
#include "../parsers/decode.h"
#include "../shipper/pipeline.h"
#include "../shipper/reader.h"
#include "../shipper/sink.h"
#include "../shipper/tailer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

enum {
	OPT_TO = LS_OPT_COMMAND_FIRST, OPT_STATE, OPT_NAME, OPT_EXCLUDE, OPT_POLL, OPT_ONCE,
	OPT_START_AT, OPT_BATCH_SIZE, OPT_BATCH_BYTES, OPT_FLUSH, OPT_COMPRESS,
	OPT_CONCURRENCY, OPT_MAX_INFLIGHT, OPT_BACKOFF_BASE, OPT_BACKOFF_CAP, OPT_MAX_RETRY,
	OPT_DL_MAX, OPT_HEADER, OPT_HEADER_ENV, OPT_AUTH_ENV, OPT_AUTH_FILE, OPT_LABEL,
	OPT_CREATE_TABLE, OPT_CACERT, OPT_CLIENT_CERT, OPT_CLIENT_KEY, OPT_INSECURE,
	OPT_TIMEOUT, OPT_SHUTDOWN, OPT_CKPT_INTERVAL, OPT_PARTIAL_TIMEOUT, OPT_MAX_OPEN,
	OPT_FORGET_AFTER, OPT_ROTATE_WAIT, OPT_REPLAY, OPT_CONFIG, OPT_CHECK, OPT_METRICS,
	OPT_NO_PROGRESS
};

static const struct ls_opt ship_opts[] = {
	{"to", OPT_TO, 1, "URL", "the sink: http(s)://, clickhouse+http://host:port/DB.TABLE, elasticsearch+, loki+, splunk+, otlp+, file:///path or -"},
	{"once", OPT_ONCE, 0, NULL, "ship what is there now, then exit (0 done, 3 sink failing, 4 some dead-lettered)"},
	{"quiet", 'q', 0, NULL, "--once: no progress line, no summary line unless the exit status is 3 or 4"},
	{"no-progress", OPT_NO_PROGRESS, 0, NULL, "--once: no progress line on stderr (shown only on a terminal)"},
	{"config", OPT_CONFIG, 1, "FILE", "read settings from FILE ('key: value' per line, keys are these options' names; 'path: GLOB' adds inputs)"},
	{"check", OPT_CHECK, 0, NULL, "with --config: check the settings and the sink URL, then exit"},
	{"metrics-file", OPT_METRICS, 1, "FILE", "write Prometheus metrics to FILE every 10 s (textfile collector)"},
	{"replay-dead-letter", OPT_REPLAY, 0, NULL, "send this pipeline's dead letters again (same paths and --to, or --name), then exit"},
	{"state", OPT_STATE, 1, "DIR", "checkpoints and dead letters (default: ~/.local/state/logship, /var/lib/logship as root)"},
	{"name", OPT_NAME, 1, "NAME", "name of this pipeline's state (default: from the paths and the sink)"},
	{"start-at", OPT_START_AT, 1, "WHERE", "files with no checkpoint: beginning (default) or end"},
	{"exclude", OPT_EXCLUDE, 1, "GLOB", "skip files matching GLOB (repeatable)"},
	{"batch-size", OPT_BATCH_SIZE, 1, "N", "events per request (default 1000)"},
	{"batch-bytes", OPT_BATCH_BYTES, 1, "BYTES", "bytes per request before compression (default 1M)"},
	{"flush-interval", OPT_FLUSH, 1, "TIME", "send a batch at least this often (default 1s)"},
	{"compress", OPT_COMPRESS, 1, "KIND", "none, gzip (default) or zstd, where the sink takes it"},
	{"concurrency", OPT_CONCURRENCY, 1, "N", "requests in flight (default 2)"},
	{"max-inflight-bytes", OPT_MAX_INFLIGHT, 1, "BYTES", "memory held for unacknowledged events before reading pauses (default 8M)"},
	{"backoff-base", OPT_BACKOFF_BASE, 1, "TIME", "first retry delay ceiling (default 250ms)"},
	{"backoff-cap", OPT_BACKOFF_CAP, 1, "TIME", "longest retry delay (default 30s)"},
	{"max-retry-time", OPT_MAX_RETRY, 1, "TIME", "--once gives up (exit 3) after retrying this long (default 5m)"},
	{"dead-letter-max-bytes", OPT_DL_MAX, 1, "BYTES", "cap of the dead-letter file (default 1G)"},
	{"header", OPT_HEADER, 1, "'K: V'", "add a request header (repeatable; not for secrets)"},
	{"header-env", OPT_HEADER_ENV, 1, "'K: VAR'", "add a header whose value is in environment variable VAR"},
	{"auth-env", OPT_AUTH_ENV, 1, "VAR", "the sink's credentials (token or user:password) from VAR"},
	{"auth-file", OPT_AUTH_FILE, 1, "FILE", "the sink's credentials from the first line of FILE"},
	{"label", OPT_LABEL, 1, "KEY=FIELD", "loki: a stream label from an event field (repeatable)"},
	{"create-table", OPT_CREATE_TABLE, 0, NULL, "clickhouse: create the table when missing"},
	{"cacert", OPT_CACERT, 1, "FILE", "CA certificates to verify the sink with"},
	{"client-cert", OPT_CLIENT_CERT, 1, "FILE", "TLS client certificate"},
	{"client-key", OPT_CLIENT_KEY, 1, "FILE", "TLS client key"},
	{"insecure", OPT_INSECURE, 0, NULL, "do not verify the sink's certificate (warns)"},
	{"timeout", OPT_TIMEOUT, 1, "TIME", "how long a request may move no byte (default 30s; at most 10x that in all)"},
	{"shutdown-timeout", OPT_SHUTDOWN, 1, "TIME", "on SIGTERM, keep delivering what was read for at most TIME (default 10s)"},
	{"checkpoint-interval", OPT_CKPT_INTERVAL, 1, "TIME", "save checkpoints at most every TIME (default 5s)"},
	{"poll", OPT_POLL, 1, "MS", "poll files every MS instead of using inotify"},
	{"partial-timeout", OPT_PARTIAL_TIMEOUT, 1, "TIME", "send a last line without newline after TIME (default 5s)"},
	{"rotate-wait", OPT_ROTATE_WAIT, 1, "TIME", "keep reading a file rotated away for TIME (default 5s)"},
	{"max-open", OPT_MAX_OPEN, 1, "N", "keep at most N idle files open (default 256)"},
	{"forget-after", OPT_FORGET_AFTER, 1, "TIME", "drop checkpoints of files gone for TIME (default 24h)"},
	LS_COMMON_OPTS_JOURNAL,
	LS_COMMON_OPTS_PARSING,
	{"where", 'w', 1, "EXPR", "ship only events matching EXPR (repeatable, ANDed): field=v, !=, ~re, >, >=, <, <=, has:field, tag:NAME"},
	LS_COMMON_OPTS_REST,
	{NULL, 0, 0, NULL, NULL}
};

#define MAX_LIST 32

/* A file being shipped; items point at it, so it lives until the last
 * item is resolved even after the tailer forgot the file. */
struct ship_file {
	struct ls_tail_file *tf; /* NULL once forgotten */
	struct ls_stream *stream;
	int refs;
	uint64_t pending_min;    /* first unresolved item's offset (commit), */
	unsigned pending_gen;    /* valid when this is the ctx's pending_gen */
};

struct item {
	uint64_t offset;
	struct ship_file *file;  /* NULL for items without a file */
	uint32_t at;             /* where it starts in the batch's framed body */
	unsigned len : 31;
	unsigned done : 1;       /* acknowledged or dead-lettered */
};

/* Events encoded by the sink as one request body: the sink's prefix, the
 * items joined by its separator, its suffix. */
struct batch {
	struct ls_buf raw;       /* that body, plain: while the batch fills, and
				  * again after a split or for dead letters */
	char *body;              /* sealed: the whole body as sent, compressed
				  * by kind; with kind none it stands for raw */
	size_t body_len, raw_len;
	int kind;
	struct item *items;
	size_t n, cap, open;
	size_t counted;          /* what held_bytes counts for it */
	int64_t created_ms;
	int unwritten;           /* file sink: sealed, not written yet */
	struct batch *next;
};

struct request {
	struct batch *b;
	size_t lo, hi;
	unsigned attempts;
	int64_t next_try_ms, first_fail_ms;
	int inflight;
	char *body;              /* a body of its own (a split's half), made
				  * when sent, dropped while it waits */
	size_t body_len;
	int kind;                /* its compression */
	size_t counted;          /* what held_bytes counts for it */
	struct request *next;
};

struct ship_ctx {
	struct ls_common co;
	struct ls_tailer_opts to;
	const char *excludes[MAX_LIST], *headers[MAX_LIST], *header_env[MAX_LIST], *labels[MAX_LIST];
	int nheaders, nheader_env;
	struct ls_sink_config sc;
	struct ls_http_opts ho;
	const char *state_dir, *name, *auth_env, *auth_file;
	int once, compress, replay, check, reload;
	int fatal;                     /* a dead letter or the output could not be
				        * written: stop, exit 2, checkpoint only what
				        * is resolved */
	int quiet, no_progress;        /* -q, --no-progress */
	int64_t stop_deadline_ms;      /* SIGTERM: stop delivering by then */
	struct ls_config cfg;
	struct ls_journal_args ja;
	struct ls_journal *j;          /* --journal: the input */
	struct ls_stream *jstream;
	struct ship_file jfile;        /* the journal's items point here */
	const struct ls_journal_entry *jentry;
	struct ls_buf jline;
	uint64_t jseq;                 /* entries read this run */
	struct jpending { uint64_t seq; char *cursor; } *jq; /* read, not yet committed */
	size_t jq_head, jq_len, jq_cap;
	int64_t cursor_saved_ms;
	char replay_path[4420];        /* dead letters being sent again */
	struct ls_reader *replay_r;
	struct ls_event replay_ev;
	long batch_size, concurrency;
	size_t batch_bytes, max_inflight;
	int64_t flush_ms, backoff_base, backoff_cap, max_retry_ms, shutdown_ms;
	uint64_t dl_max;

	struct ls_pipeline *p;
	struct ls_sink *sink;
	struct ls_http *http;
	struct ls_tailer *t;
	struct ls_checkpoint *cp;
	struct ls_deadletter *dl;
	int out_fd;                    /* file sink or stdout; -1 for HTTP sinks */
	int kind;                      /* the bodies' compression */
	struct ls_compressor *z;
	struct batch *cur, *batches;   /* filling; sealed and not resolved */
	struct ls_buf spare;           /* the last batch's buffer, for the next */
	struct request *queue;
	size_t held_bytes;             /* memory held for events not yet
				        * acknowledged (see the top) */
	struct ship_file *cur_file;
	unsigned pending_gen;
	struct ls_backoff bo;
	int64_t sink_paused_until;
	unsigned sink_attempts;
	int failing, gave_up, stop;
	int unreachable;               /* transport errors, warned about */
	int refusing;                  /* 429, 5xx answers, warned about */
	/* the file sink: sealed batches not written yet (a full disk) wait,
	 * in order, and are written again with backoff like a failing
	 * server's requests */
	size_t nunwritten;
	int64_t out_next_try_ms, out_first_fail_ms, out_torn_at;
	unsigned out_attempts;
	int out_failing;               /* warned about, following */
	int closing;                   /* release(): the tailer closes its files */
	char last_error[600];
	uint64_t events, bytes, batches_sent, retries, dead, dead_dropped;
	char auth_buf[1024];
	const char *metrics_path;
	int64_t metrics_at_ms;
	uint64_t shipped;
	char pipeline_name[128];
	char stats_path[4300];
	int64_t stats_at_ms;
	int64_t committed_at_ms;         /* STATE/NAME.stats: counters for status */
	char *header_store[MAX_LIST];
};

/* ---- options ---------------------------------------------------------- */

static int add_list(const char **list, int *n, const char *opt, const char *arg)
{
	if (*n == MAX_LIST) {
		ls_die_msg("ship", "at most %d %s options", MAX_LIST, opt);
		return -2;
	}
	list[(*n)++] = arg;
	return 0;
}

static int number(const char *opt, const char *arg, long long lo, long long hi, long long *v)
{
	*v = ls_opts_size(arg);
	if (*v < lo || *v > hi)
		return ls_bad_number("ship", opt, arg);
	return 0;
}

static int handle_opt(void *vctx, int key, const char *arg)
{
	struct ship_ctx *c = vctx;
	long long v;
	int64_t ms;
	int rc = ls_common_opt(&c->co, "ship", key, arg);

	if (rc == 0)
		rc = ls_journal_opt(&c->ja, "ship", key, arg);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	switch (key) {
	case OPT_TO: c->sc.url = arg; break;
	case OPT_ONCE: c->once = 1; break;
	case 'q': c->quiet = 1; break;
	case OPT_NO_PROGRESS: c->no_progress = 1; break;
	case OPT_REPLAY: c->replay = 1; c->once = 1; break;
	case OPT_CONFIG: break; /* read before the command line: see load_config() */
	case OPT_CHECK: c->check = 1; break;
	case OPT_METRICS: c->metrics_path = arg; break;
	case OPT_STATE: c->state_dir = arg; break;
	case OPT_NAME: c->name = arg; break;
	case OPT_START_AT:
		if (strcmp(arg, "end") == 0)
			c->to.start = LS_TAIL_START_END;
		else if (strcmp(arg, "beginning") == 0 || strcmp(arg, "begin") == 0)
			c->to.start = LS_TAIL_START_BEGIN;
		else {
			ls_die_msg("ship", "--start-at: '%s' is not beginning or end", arg);
			return -2;
		}
		break;
	case OPT_EXCLUDE: return add_list(c->excludes, &c->to.nexcludes, "--exclude", arg);
	case OPT_HEADER:
		if (!strchr(arg, ':')) {
			ls_die_msg("ship", "--header '%s': expected 'Name: value'", arg);
			return -2;
		}
		return add_list(c->headers, &c->nheaders, "--header", arg);
	case OPT_HEADER_ENV:
		if (!strchr(arg, ':')) {
			ls_die_msg("ship", "--header-env '%s': expected 'Name: VARIABLE'", arg);
			return -2;
		}
		return add_list(c->header_env, &c->nheader_env, "--header-env", arg);
	case OPT_LABEL:
		if (!strchr(arg, '=')) {
			ls_die_msg("ship", "--label '%s': expected key=field", arg);
			return -2;
		}
		return add_list(c->labels, &c->sc.nlabels, "--label", arg);
	case OPT_BATCH_SIZE:
		if (number("--batch-size", arg, 1, 1000000, &v) < 0)
			return -2;
		c->batch_size = (long)v;
		break;
	case OPT_BATCH_BYTES:
		if (number("--batch-bytes", arg, 1024, (long long)1 << 30, &v) < 0)
			return -2;
		c->batch_bytes = (size_t)v;
		break;
	case OPT_CONCURRENCY:
		if (number("--concurrency", arg, 1, 32, &v) < 0)
			return -2;
		c->concurrency = (long)v;
		break;
	case OPT_MAX_INFLIGHT:
		if (number("--max-inflight-bytes", arg, 64 * 1024, (long long)1 << 34, &v) < 0)
			return -2;
		c->max_inflight = (size_t)v;
		break;
	case OPT_DL_MAX:
		if (number("--dead-letter-max-bytes", arg, 1, (long long)1 << 50, &v) < 0)
			return -2;
		c->dl_max = (uint64_t)v;
		break;
	case OPT_MAX_OPEN:
		if (number("--max-open", arg, 1, 1 << 20, &v) < 0)
			return -2;
		c->to.max_open = (int)v;
		break;
	case OPT_COMPRESS:
		c->compress = ls_compress_parse(arg);
		if (c->compress < 0) {
			ls_die_msg("ship", "--compress: '%s' is not none, gzip or zstd", arg);
			return -2;
		}
		break;
	case OPT_AUTH_ENV: c->auth_env = arg; break;
	case LS_CONFIG_KEY_AUTH:
		snprintf(c->auth_buf, sizeof(c->auth_buf), "%s", arg);
		c->sc.auth = c->auth_buf;
		break;
	case OPT_AUTH_FILE: c->auth_file = arg; break;
	case OPT_CREATE_TABLE: c->sc.create_table = 1; break;
	case OPT_CACERT: c->ho.cacert = arg; break;
	case OPT_CLIENT_CERT: c->ho.client_cert = arg; break;
	case OPT_CLIENT_KEY: c->ho.client_key = arg; break;
	case OPT_INSECURE: c->ho.insecure = 1; break;
	case OPT_FLUSH: return ls_duration_opt("ship", "--flush-interval", arg, 1000, &c->flush_ms);
	case OPT_BACKOFF_BASE: return ls_duration_opt("ship", "--backoff-base", arg, 1, &c->backoff_base);
	case OPT_BACKOFF_CAP: return ls_duration_opt("ship", "--backoff-cap", arg, 1000, &c->backoff_cap);
	case OPT_MAX_RETRY: return ls_duration_opt("ship", "--max-retry-time", arg, 1000, &c->max_retry_ms);
	case OPT_SHUTDOWN: return ls_duration_opt("ship", "--shutdown-timeout", arg, 1000, &c->shutdown_ms);
	case OPT_CKPT_INTERVAL:
		return ls_duration_opt("ship", "--checkpoint-interval", arg, 1000, &c->to.checkpoint_interval_ms);
	case OPT_PARTIAL_TIMEOUT:
		return ls_duration_opt("ship", "--partial-timeout", arg, 1000, &c->to.partial_timeout_ms);
	case OPT_ROTATE_WAIT: return ls_duration_opt("ship", "--rotate-wait", arg, 1000, &c->to.rotate_wait_ms);
	case OPT_FORGET_AFTER: return ls_duration_opt("ship", "--forget-after", arg, 1000, &c->to.forget_after_ms);
	case OPT_TIMEOUT:
		if (ls_duration_opt("ship", "--timeout", arg, 1000, &ms) < 0)
			return -2;
		c->ho.timeout_ms = (long)(ms > 0 ? ms : 1);
		break;
	case OPT_POLL:
		if (ls_duration_opt("ship", "--poll", arg, 1, &ms) < 0)
			return -2;
		c->to.poll_ms = ms < 1 ? 1 : (int)(ms > 3600000 ? 3600000 : ms);
		break;
	default: return -2;
	}
	return 0;
}

void cmd_ship_help(void)
{
	ls_opts_help("logship ship [OPTIONS] --to URL PATH|GLOB...",
		     "Delivers the events of files (followed like tail -F) to a sink, at least\n"
		     "once: checkpoints move only past what the sink acknowledged. Exit: 0 done\n"
		     "(or a clean stop), 2 usage error or a named file not read (--once), 3 sink\n"
		     "failing past --max-retry-time (--once), 4 some events dead-lettered\n"
		     "(--once), 5 state locked.",
		     ship_opts);
}

/* Records --config for load_config()'s first pass; every other option
 * waits for the second. */
static int config_only(void *vfile, int key, const char *arg)
{
	if (key == OPT_CONFIG)
		*(const char **)vfile = arg;
	return 0;
}

/* Finds --config FILE on the command line, spelt as getopt takes it (also
 * --config=FILE or a beginning such as --conf), and applies the file
 * first, so options given on the command line win. Returns 0 or -2
 * (reported: a bad option is reported here as it would be later). */
static int load_config(struct ship_ctx *c, int argc, char **argv, const char **file)
{
	int first;

	*file = NULL;
	if (ls_opts_parse("ship", ship_opts, argc, argv, config_only, (void *)file, &first) < 0)
		return -2;
	if (!*file)
		return 0;
	return ls_config_load("ship", *file, ship_opts, handle_opt, c, &c->cfg);
}

/* ---- batches ---------------------------------------------------------- */

static void file_unref(struct ship_file *sf)
{
	if (sf && --sf->refs == 0 && !sf->tf) {
		ls_stream_free(sf->stream);
		free(sf);
	}
}

/* Brings held_bytes up to date with what b holds now. */
static void batch_recount(struct ship_ctx *c, struct batch *b)
{
	size_t now = b->raw.cap + (b->body ? b->body_len : 0) + b->cap * sizeof(*b->items);

	c->held_bytes = c->held_bytes - b->counted + now;
	b->counted = now;
}

static void request_recount(struct ship_ctx *c, struct request *r)
{
	size_t now = (r->body ? r->body_len : 0) +
		     (r->inflight && c->http ? ls_http_request_overhead() : 0);

	c->held_bytes = c->held_bytes - r->counted + now;
	r->counted = now;
}

/* Gives up b's plain buffer: it becomes the next batch's when that is
 * small enough to keep (it stays counted), else it is freed. */
static void batch_drop_raw(struct ship_ctx *c, struct batch *b)
{
	if (!c->spare.data && b->raw.data && b->raw.cap <= c->max_inflight / 2) {
		c->spare = b->raw;
		c->spare.len = 0;
		c->spare.data[0] = '\0';
		c->held_bytes += c->spare.cap;
		ls_buf_init(&b->raw, c->spare.max);
	} else {
		ls_buf_release(&b->raw);
	}
	batch_recount(c, b);
}

static void batch_free(struct ship_ctx *c, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		file_unref(b->items[i].file);
	free(b->body);
	b->body = NULL;
	free(b->items);
	b->items = NULL;
	b->cap = 0;
	batch_drop_raw(c, b);
	c->held_bytes -= b->counted;
	free(b);
}

/* A new filling batch, in the spare buffer when there is one, its body
 * begun with the sink's prefix. */
static struct batch *batch_new(struct ship_ctx *c)
{
	const char *prefix = c->sink->ops->prefix ? c->sink->ops->prefix(c->sink) : NULL;
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->raw = c->spare;
	b->raw.max = c->batch_bytes + ((size_t)4 << 20);
	b->counted = c->spare.cap; /* counted as the spare until now */
	ls_buf_init(&c->spare, b->raw.max);
	if (prefix && *prefix && ls_buf_puts(&b->raw, prefix) < 0) {
		batch_free(c, b);
		return NULL;
	}
	batch_recount(c, b);
	b->created_ms = ls_monotonic_ms();
	return b;
}

/* The bytes of b's items start here: its plain body when it has one, else
 * its body as sent, which is then plain (ensured by batch_unpack()). */
static const char *batch_items(const struct batch *b)
{
	return b->raw.data ? b->raw.data : b->body;
}

/* Makes the items of sealed batch b readable again (batch_items()): a
 * compressed body is decompressed into raw. 0, or the error in last_error. */
static int batch_unpack(struct ship_ctx *c, struct batch *b)
{
	int rc;

	if (b->raw.data || b->kind == LS_COMPRESS_NONE)
		return 0;
	rc = ls_decompress(b->kind, b->body, b->body_len, b->raw_len, &b->raw);
	batch_recount(c, b);
	if (rc < 0) {
		ls_buf_release(&b->raw);
		batch_recount(c, b);
		snprintf(c->last_error, sizeof(c->last_error), "%s",
			 rc == LS_ENOMEM ? "out of memory reading a sent batch back"
					 : "a sent batch could not be read back");
	}
	return rc;
}

/* An item is resolved (acknowledged or dead-lettered). */
static void item_done(struct ship_ctx *c, struct batch *b, size_t i)
{
	struct batch **p;

	if (b->items[i].done)
		return;
	b->items[i].done = 1;
	if (--b->open > 0)
		return;
	for (p = &c->batches; *p && *p != b; p = &(*p)->next)
		;
	if (*p)
		*p = b->next;
	batch_free(c, b);
}

static struct request *request_new(struct batch *b, size_t lo, size_t hi)
{
	struct request *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->b = b;
	r->lo = lo;
	r->hi = hi;
	r->kind = b->kind;
	return r;
}

static void request_free(struct ship_ctx *c, struct request *r)
{
	free(r->body);
	c->held_bytes -= r->counted;
	free(r);
}

static void enqueue(struct ship_ctx *c, struct request *r)
{
	struct request **p = &c->queue;

	while (*p)
		p = &(*p)->next;
	r->next = NULL;
	*p = r;
}

/* Reading waits while the memory held reaches --max-inflight-bytes with
 * something on its way to free some, or while --concurrency sealed requests
 * already wait for a free slot: the sink is the slower, and the files keep
 * what it cannot take yet. */
static int reading_blocked(const struct ship_ctx *c)
{
	long waiting = 0;

	if (c->held_bytes >= c->max_inflight && (c->queue || c->nunwritten || (c->cur && c->cur->n)))
		return 1;
	for (const struct request *r = c->queue; r; r = r->next)
		if (!r->inflight && ++waiting >= c->concurrency)
			return 1;
	return 0;
}

/* Writes the sealed batches not written yet to the file sink or stdout,
 * oldest first: each one's items, NDJSON end to end, go out from the
 * batch with no copy, whole or not at all (ls_sink_file_append()). A file
 * that cannot be written (a full disk, EIO) is the sink failing, as a
 * server answering 503 is: the batches wait, unresolved (no checkpoint
 * passes them), and are written again after the backoff's delay; --once
 * gives up at --max-retry-time. Stdout that cannot be written stops the
 * run (fatal, with last_error). */
static void write_pending(struct ship_ctx *c)
{
	const char *path = ls_sink_file_path(c->sink);
	struct ls_error err;
	int64_t now = ls_monotonic_ms();

	while (c->nunwritten && now >= c->out_next_try_ms && !c->fatal) {
		struct batch *b = NULL;
		const struct item *first, *last;
		size_t n;

		/* the list is newest first */
		for (struct batch *x = c->batches; x; x = x->next)
			if (x->unwritten)
				b = x;
		if (!b)
			break;
		first = &b->items[0];
		last = &b->items[b->n - 1];
		n = b->n;
		if (ls_sink_file_append(c->out_fd, path, b->raw.data + first->at,
					last->at + last->len - first->at, &c->out_torn_at, &err) < 0) {
			snprintf(c->last_error, sizeof(c->last_error), "%s", err.msg);
			if (!path) {
				c->fatal = 1;
				if (c->t)
					ls_tailer_set_paused(c->t, 1);
				return;
			}
			c->retries++;
			if (!c->out_first_fail_ms)
				c->out_first_fail_ms = now;
			c->out_next_try_ms = now + ls_backoff_delay_ms(&c->bo, c->out_attempts++);
			if (c->once && now - c->out_first_fail_ms >= c->max_retry_ms)
				c->gave_up = 1;
			if (!c->once && !c->out_failing)
				ls_die_msg(NULL, "warning: %s; retrying, nothing is dropped", err.msg);
			c->out_failing = 1;
			return;
		}
		if (c->out_failing && !c->once)
			ls_die_msg(NULL, "%s can be written again", path);
		c->out_failing = 0;
		c->out_attempts = 0;
		c->out_first_fail_ms = 0;
		b->unwritten = 0;
		c->nunwritten--;
		c->batches_sent++;
		c->shipped += n;
		for (size_t i = 0; i < n; i++)
			item_done(c, b, i); /* the last one frees b */
	}
}

/* Moves the filling batch to the sealed list: written out at once for the
 * file sink; for HTTP compressed into its request body, which is what is
 * held from then on, and queued. */
static int seal(struct ship_ctx *c)
{
	struct batch *b = c->cur;
	const char *suffix = c->sink->ops->suffix, *body;
	size_t body_len;
	struct request *r;

	if (!b || b->n == 0)
		return 0;
	if (suffix && *suffix && ls_buf_puts(&b->raw, suffix) < 0)
		return LS_ENOMEM;
	c->cur = NULL;
	b->next = c->batches;
	c->batches = b;
	b->raw_len = b->raw.len;
	if (c->out_fd >= 0) {
		/* written at once, unless earlier batches wait for the disk */
		b->unwritten = 1;
		c->nunwritten++;
		write_pending(c);
		return 0;
	}
	r = request_new(b, 0, b->n);
	if (!r)
		return LS_ENOMEM;
	b->kind = c->kind;
	/* should the encoder fail, the body goes as it is */
	if (b->kind == LS_COMPRESS_NONE ||
	    ls_compressor_run(c->z, b->kind, b->raw.data, b->raw.len, &body, &body_len) < 0) {
		b->kind = LS_COMPRESS_NONE;
		body = b->raw.data;
		body_len = b->raw.len;
	}
	r->kind = b->kind;
	b->body = malloc(body_len ? body_len : 1);
	if (!b->body) {
		free(r);
		return LS_ENOMEM;
	}
	memcpy(b->body, body, body_len);
	b->body_len = body_len;
	batch_drop_raw(c, b);
	enqueue(c, r);
	return 0;
}

/* Room for one more item in the filling batch (made when needed), the
 * separator written when it is not the first: *before is where the item's
 * bytes are to start. */
static struct batch *batch_room(struct ship_ctx *c, size_t *before)
{
	const char *sep = c->sink->ops->separator;
	struct batch *b = c->cur;

	if (!b && !(b = c->cur = batch_new(c)))
		return NULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct item *items = realloc(b->items, cap * sizeof(*items));
		if (!items)
			return NULL;
		b->items = items;
		b->cap = cap;
	}
	*before = b->raw.len;
	if (b->n && sep && *sep && ls_buf_puts(&b->raw, sep) < 0)
		return NULL;
	return b;
}

/* Takes back what batch_room() and a failed encoding wrote. */
static void item_undo(struct batch *b, size_t before)
{
	b->raw.len = before;
	if (b->raw.data)
		b->raw.data[before] = '\0';
}

/* Records the bytes appended to b's body since at as one item. */
static int item_added(struct ship_ctx *c, struct batch *b, size_t at, uint64_t offset)
{
	struct item *it = &b->items[b->n++];
	int rc = 0;

	it->at = (uint32_t)at;
	it->len = (unsigned)(b->raw.len - at);
	it->file = c->cur_file;
	it->offset = offset;
	it->done = 0;
	if (it->file)
		it->file->refs++;
	b->open++;
	batch_recount(c, b);
	c->events++;
	if ((long)b->n >= c->batch_size || b->raw.len >= c->batch_bytes)
		rc = seal(c);
	if (c->t && reading_blocked(c))
		ls_tailer_set_paused(c->t, 1); /* the files are the buffer */
	return rc;
}

/* Encodes one event into the filling batch. */
static int add_event(struct ship_ctx *c, const struct ls_event *ev)
{
	size_t before, at;
	struct batch *b = batch_room(c, &before);
	int rc;

	if (!b)
		return LS_ENOMEM;
	at = b->raw.len;
	rc = c->sink->ops->encode(c->sink, &b->raw, ev);
	if (rc < 0) {
		item_undo(b, before);
		return rc;
	}
	/* journal items are numbered by entry, for the cursor queue */
	return item_added(c, b, at, c->cur_file == &c->jfile ? c->jseq : ev->offset);
}

/* Adds one dead letter's item (already in the sink's encoding) again. */
static int add_replayed(struct ship_ctx *c, const char *line, size_t len)
{
	const struct ls_field *item;
	struct batch *b;
	size_t before, at;

	ls_event_reset(&c->replay_ev);
	if (ls_decode_json(&c->replay_ev, line, len, NULL, 0) <= 0 ||
	    !(item = ls_event_get(&c->replay_ev, "item")) || item->type != LS_F_STR) {
		ls_die_msg(NULL, "warning: %s: skipping a line that is not a dead letter", c->replay_path);
		return 0;
	}
	if (!(b = batch_room(c, &before)))
		return LS_ENOMEM;
	at = b->raw.len;
	if (ls_buf_append(&b->raw, item->val, item->len) < 0) {
		item_undo(b, before);
		return LS_ENOMEM;
	}
	c->cur_file = NULL;
	return item_added(c, b, at, 0);
}

/* Reads dead letters while there is room; 1 at the end of the file. */
static int replay_some(struct ship_ctx *c, struct ls_error *err)
{
	const char *line;
	size_t len;
	uint64_t off;
	unsigned flags;
	int rc;

	while (!reading_blocked(c)) {
		rc = ls_reader_next(c->replay_r, &line, &len, &off, &flags, err);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
		if (len && (rc = add_replayed(c, line, len)) < 0)
			return ls_error_set(err, rc, "out of memory");
	}
	return 0;
}

static int on_event(void *vctx, struct ls_event *ev)
{
	struct ship_ctx *c = vctx;

	if (!ls_where_match(c->co.where, ev))
		return 0;
	return add_event(c, ev);
}

/* ---- the journal ------------------------------------------------------ */

static int on_journal_event(void *vctx, struct ls_event *ev)
{
	struct ship_ctx *c = vctx;

	ls_journal_enrich(ev, c->jentry);
	return on_event(c, ev);
}

/* Remembers entry seq's cursor until its events are acknowledged. */
static int cursor_push(struct ship_ctx *c, const char *cursor)
{
	char *copy = strdup(cursor);

	if (!copy)
		return LS_ENOMEM;
	if (c->jq_len == c->jq_cap) {
		size_t cap = c->jq_cap ? c->jq_cap * 2 : 256;
		struct jpending *q = malloc(cap * sizeof(*q));
		if (!q) {
			free(copy);
			return LS_ENOMEM;
		}
		for (size_t i = 0; i < c->jq_len; i++)
			q[i] = c->jq[(c->jq_head + i) % c->jq_cap];
		free(c->jq);
		c->held_bytes += (cap - c->jq_cap) * sizeof(*q);
		c->jq = q;
		c->jq_cap = cap;
		c->jq_head = 0;
	}
	c->jq[(c->jq_head + c->jq_len) % c->jq_cap] = (struct jpending){ c->jseq, copy };
	c->jq_len++;
	/* held until its entry's events are all acknowledged */
	c->held_bytes += strlen(copy) + 1;
	return 0;
}

/* Reads entries while there is room; 1 when there are no more for now. */
static int journal_some(struct ship_ctx *c, struct ls_error *err)
{
	struct ls_journal_entry e;
	int rc;

	while (!reading_blocked(c)) {
		rc = ls_journal_next(c->j, &e, err);
		if (rc <= 0)
			return rc < 0 ? rc : 1;
		c->jseq++;
		if (cursor_push(c, e.cursor) < 0 || ls_journal_format_line(&e, &c->jline) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		c->cur_file = &c->jfile;
		c->jentry = &e;
		c->bytes += e.message_len;
		rc = ls_stream_line(c->jstream, c->jline.data, c->jline.len,
				    (uint64_t)e.realtime_us, 0, on_journal_event, c);
		if (rc >= 0)
			rc = ls_stream_flush(c->jstream, on_journal_event, c);
		c->jentry = NULL;
		if (rc < 0)
			return ls_error_set(err, rc, "out of memory");
	}
	return 0;
}

/* Moves the saved cursor past every entry whose events were all
 * acknowledged (compute_pending() ran). */
static int journal_commit(struct ship_ctx *c, int force, struct ls_error *err)
{
	uint64_t first_open = c->jfile.pending_gen == c->pending_gen ? c->jfile.pending_min
								     : UINT64_MAX;
	char *last = NULL;

	while (c->jq_len && c->jq[c->jq_head].seq < first_open) {
		free(last);
		last = c->jq[c->jq_head].cursor;
		c->held_bytes -= strlen(last) + 1;
		c->jq_head = (c->jq_head + 1) % c->jq_cap;
		c->jq_len--;
	}
	if (last && ls_checkpoint_set_cursor(c->cp, last) < 0) {
		free(last);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	free(last);
	if (!force && ls_monotonic_ms() - c->cursor_saved_ms < c->to.checkpoint_interval_ms)
		return 0;
	c->cursor_saved_ms = ls_monotonic_ms();
	return ls_checkpoint_save(c->cp, err);
}

/* Opens the journal at the saved cursor (or where --start-at says). */
static int open_journal(struct ship_ctx *c, struct ls_error *err)
{
	c->ja.jo.cursor = ls_checkpoint_cursor(c->cp);
	c->ja.jo.from_start = c->to.start != LS_TAIL_START_END;
	c->jfile.refs = 1; /* never freed: it is part of c */
	ls_buf_init(&c->jline, 0);
	if (ls_journal_open(&c->j, &c->ja.jo, err) < 0)
		return -1;
	if (ls_stream_new(c->p, &c->jstream, NULL, 0) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	return 0;
}

/* ---- the tailer's callbacks ------------------------------------------- */

static int file_opened(void *vctx, struct ls_tail_file *f)
{
	struct ship_ctx *c = vctx;
	struct ship_file *sf = calloc(1, sizeof(*sf));

	if (!sf || ls_stream_new(c->p, &sf->stream, ls_tail_file_path(f),
				 ls_tail_file_fingerprint(f)) < 0) {
		if (sf)
			ls_stream_free(sf->stream);
		free(sf);
		return LS_ENOMEM;
	}
	sf->tf = f;
	sf->refs = 1; /* the tailer's */
	*ls_tail_file_user(f) = sf;
	return 0;
}

static int file_line(void *vctx, struct ls_tail_file *f, const char *line, size_t len,
		     uint64_t offset, unsigned flags)
{
	struct ship_ctx *c = vctx;
	struct ship_file *sf = *ls_tail_file_user(f);

	if (!sf)
		return 0;
	c->cur_file = sf;
	c->bytes += len + 1;
	ls_stream_set_path(sf->stream, ls_tail_file_path(f));
	ls_stream_set_fingerprint(sf->stream, ls_tail_file_fingerprint(f));
	return ls_stream_line(sf->stream, line, len, offset, flags, on_event, c);
}

static int file_pause(void *vctx, struct ls_tail_file *f)
{
	struct ship_ctx *c = vctx;
	struct ship_file *sf = *ls_tail_file_user(f);

	if (!sf)
		return 0;
	c->cur_file = sf;
	return ls_stream_flush(sf->stream, on_event, c);
}

static void file_closed(void *vctx, struct ls_tail_file *f)
{
	struct ship_ctx *c = vctx;
	struct ship_file *sf = *ls_tail_file_user(f);

	if (!sf)
		return;
	c->cur_file = sf;
	/* at the end of the run nothing more goes out */
	if (!c->closing)
		ls_stream_flush(sf->stream, on_event, c);
	c->cur_file = NULL;
	sf->tf = NULL;
	*ls_tail_file_user(f) = NULL;
	file_unref(sf);
}

static uint64_t file_acked(void *vctx, struct ls_tail_file *f, uint64_t read_pos)
{
	struct ship_ctx *c = vctx;
	struct ship_file *sf = *ls_tail_file_user(f);

	if (!sf || sf->pending_gen != c->pending_gen)
		return read_pos; /* nothing of it is waiting */
	return sf->pending_min < read_pos ? sf->pending_min : read_pos;
}

/* Sets each file's first unresolved offset before a commit. */
static void compute_pending(struct ship_ctx *c)
{
	struct batch *lists[2] = { c->cur, c->batches };

	c->pending_gen++;
	for (int l = 0; l < 2; l++)
		for (struct batch *b = lists[l]; b; b = l ? b->next : NULL)
			for (size_t i = 0; i < b->n; i++) {
				struct item *it = &b->items[i];
				struct ship_file *sf = it->file;
				if (it->done || !sf)
					continue;
				if (sf->pending_gen != c->pending_gen || it->offset < sf->pending_min) {
					sf->pending_gen = c->pending_gen;
					sf->pending_min = it->offset;
				}
			}
}

/* ---- sending ---------------------------------------------------------- */

/* A body of r's own, for part of a batch (a split's half): its items still
 * open, framed, and compressed like the batch. */
static int part_body(struct ship_ctx *c, struct request *r)
{
	const struct ls_sink_ops *ops = c->sink->ops;
	const char *prefix = ops->prefix ? ops->prefix(c->sink) : NULL, *items, *body;
	struct ls_buf plain;
	size_t body_len, first = 1;
	int rc = LS_ENOMEM;

	ls_buf_init(&plain, 0);
	if (batch_unpack(c, r->b) < 0)
		return LS_ENOMEM;
	items = batch_items(r->b);
	if (prefix && ls_buf_puts(&plain, prefix) < 0)
		goto out;
	for (size_t i = r->lo; i < r->hi; i++) {
		const struct item *it = &r->b->items[i];
		if (it->done)
			continue;
		if (!first && ops->separator && ls_buf_puts(&plain, ops->separator) < 0)
			goto out;
		if (ls_buf_append(&plain, items + it->at, it->len) < 0)
			goto out;
		first = 0;
	}
	if (ops->suffix && ls_buf_puts(&plain, ops->suffix) < 0)
		goto out;
	r->kind = r->b->kind;
	if (r->kind == LS_COMPRESS_NONE ||
	    ls_compressor_run(c->z, r->kind, plain.data, plain.len, &body, &body_len) < 0) {
		r->kind = LS_COMPRESS_NONE;
		body = plain.data;
		body_len = plain.len;
	}
	if (!(r->body = malloc(body_len ? body_len : 1)))
		goto out;
	memcpy(r->body, body, body_len);
	r->body_len = body_len;
	request_recount(c, r);
	rc = 0;
out:
	ls_buf_release(&plain);
	return rc;
}

static int compression_for(struct ship_ctx *c)
{
	unsigned takes = c->sink->ops->compressions;

	if (c->compress == LS_COMPRESS_GZIP && (takes & LS_SINK_GZIP))
		return LS_COMPRESS_GZIP;
	if (c->compress == LS_COMPRESS_ZSTD && (takes & LS_SINK_ZSTD))
		return LS_COMPRESS_ZSTD;
	return LS_COMPRESS_NONE;
}

/* Dead-letters item i of r's batch, whose items are readable
 * (batch_unpack()). */
static void dead_letter(struct ship_ctx *c, struct request *r, size_t i, long status,
			const char *reason)
{
	const struct item *it = &r->b->items[i];
	struct ls_error err;
	int64_t now;

	if (it->done)
		return;
	ls_now_ms(&now);
	if (ls_deadletter_add(c->dl, status, reason, batch_items(r->b) + it->at, it->len, now,
			      &err) < 0) {
		/* neither delivered nor kept: the checkpoint must not pass it */
		c->dead_dropped++;
		c->fatal = 1;
		snprintf(c->last_error, sizeof(c->last_error), "%s", err.msg);
		return;
	}
	c->dead++;
	item_done(c, r->b, i);
}

static int send_request(struct ship_ctx *c, struct request *r, struct ls_error *err)
{
	const char *url, *hdrs[20];
	struct batch *b = r->b;
	int nhdrs = 0, rc;
	const char *payload;
	size_t len;

	if (r->lo == 0 && r->hi == b->n && b->open == b->n && b->body) {
		/* the whole batch: its body as sealed */
		payload = b->body;
		len = b->body_len;
		r->kind = b->kind;
	} else {
		if (!r->body && part_body(c, r) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory building a request body");
		payload = r->body;
		len = r->body_len;
	}
	c->sink->ops->request(c->sink, &url, hdrs, &nhdrs);
	if (r->kind != LS_COMPRESS_NONE)
		hdrs[nhdrs++] = r->kind == LS_COMPRESS_GZIP ? "Content-Encoding: gzip"
							: "Content-Encoding: zstd";
	rc = ls_http_post(c->http, url, hdrs, nhdrs, payload, len, r, err);
	if (rc < 0)
		return rc;
	r->inflight = 1;
	request_recount(c, r);
	return 0;
}

static int inflight(const struct ship_ctx *c)
{
	return c->http ? ls_http_inflight(c->http) : 0;
}

/* Waits for fds, a transfer or the timeout: through libcurl when there is
 * HTTP, with poll() otherwise. */
static void wait_events(struct ship_ctx *c, const int *fds, int n, int *ready, int timeout_ms)
{
	struct pollfd pfd[2];

	if (c->http) {
		ls_http_wait(c->http, fds, n, ready, timeout_ms);
		return;
	}
	for (int i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	poll(pfd, (nfds_t)n, timeout_ms);
	for (int i = 0; i < n; i++)
		ready[i] = fds[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR));
}

/* Starts the requests that are due, up to --concurrency in flight. */
static int send_due(struct ship_ctx *c, struct ls_error *err)
{
	int64_t now = ls_monotonic_ms();
	int rc;

	if (!c->http) {
		/* the file sink writes its batches as they are sealed; those a
		 * full disk held back go when their retry is due */
		write_pending(c);
		return 0;
	}
	for (struct request *r = c->queue; r; r = r->next) {
		if (r->inflight || r->next_try_ms > now || now < c->sink_paused_until ||
		    inflight(c) >= c->concurrency)
			continue;
		rc = send_request(c, r, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void unqueue(struct ship_ctx *c, struct request *r)
{
	struct request **p = &c->queue;

	while (*p && *p != r)
		p = &(*p)->next;
	if (*p)
		*p = r->next;
}

/* Schedules r again after a failure; the whole sink waits when told to. */
static void retry_later(struct ship_ctx *c, struct request *r, const struct ls_sink_result *res)
{
	int64_t now = ls_monotonic_ms(), wait;

	r->inflight = 0;
	/* a body of its own is made again when sent: nothing held while waiting */
	free(r->body);
	r->body = NULL;
	request_recount(c, r);
	if (!r->first_fail_ms)
		r->first_fail_ms = now;
	c->retries++;
	if (res->verdict == LS_SINK_PAUSE || res->verdict == LS_SINK_FAILING) {
		/* Retry-After lengthens the backoff's pause, never shortens it:
		 * a sink saying "Retry-After: 1" for an hour gets the same
		 * spaced-out retries as one saying nothing */
		wait = ls_backoff_pause_ms(&c->bo, c->sink_attempts++, res->retry_after_ms);
		c->sink_paused_until = now + wait;
		r->next_try_ms = c->sink_paused_until;
	} else {
		r->next_try_ms = now + ls_backoff_delay_ms(&c->bo, r->attempts++);
	}
	if (c->once && now - r->first_fail_ms >= c->max_retry_ms)
		c->gave_up = 1;
}

/* Says once when the sink cannot be reached (a name that does not resolve,
 * a refused connection, a timeout: no HTTP answer) and once when it
 * answers again, in follow mode; the same for a sink that answers but
 * fails (5xx, 429, 408: retried) and then accepts again. --once says it
 * in its summary line. */
static void note_reachable(struct ship_ctx *c, const struct ls_http_result *res,
			   const struct ls_sink_result *sr)
{
	if (c->once)
		return;
	if (res->status != 0 && !c->refusing &&
	    (sr->verdict == LS_SINK_RETRY || sr->verdict == LS_SINK_PAUSE)) {
		ls_die_msg(NULL, "warning: the sink is failing (%s); retrying, nothing is dropped",
			   sr->reason);
		c->refusing = 1;
	} else if (sr->verdict == LS_SINK_OK && c->refusing) {
		ls_die_msg(NULL, "the sink accepts again");
		c->refusing = 0;
	}
	if (res->status == 0 && !c->unreachable) {
		ls_die_msg(NULL, "warning: cannot reach the sink (%s); retrying, nothing is "
			   "dropped", sr->reason);
		c->unreachable = 1;
	} else if (res->status != 0 && c->unreachable) {
		ls_die_msg(NULL, "the sink answers again");
		c->unreachable = 0;
	}
}

/* Acts on a finished request. */
static int handle_result(struct ship_ctx *c, const struct ls_http_result *res)
{
	struct request *r = res->user;
	struct ls_sink_result sr;
	unsigned char *bad = NULL;
	size_t n = r->hi - r->lo;
	int rc = 0;

	memset(&sr, 0, sizeof(sr));
	sr.retry_after_ms = -1;
	if (n && !(bad = calloc(n, 1)))
		return LS_ENOMEM;
	sr.bad = bad;
	c->sink->ops->classify(c->sink, res->status, res->body, res->body_len, res->retry_after,
			       n, &sr);
	if (sr.verdict != LS_SINK_OK)
		snprintf(c->last_error, sizeof(c->last_error), "%s", sr.reason);
	/* dead letters and halves need the items' bytes back */
	if ((sr.verdict == LS_SINK_PARTIAL || sr.verdict == LS_SINK_BAD ||
	     sr.verdict == LS_SINK_SPLIT) && batch_unpack(c, r->b) < 0) {
		/* the request is kept, unresolved: no checkpoint passes it */
		r->inflight = 0;
		request_recount(c, r);
		c->fatal = 1;
		free(bad);
		return 0;
	}
	note_reachable(c, res, &sr);
	switch (sr.verdict) {
	case LS_SINK_OK:
		c->batches_sent++;
		c->shipped += r->hi - r->lo;
		c->sink_attempts = 0;
		c->failing = 0;
		for (size_t i = r->lo; i < r->hi; i++)
			item_done(c, r->b, i);
		goto finished;
	case LS_SINK_PARTIAL:
		c->batches_sent++;
		for (size_t i = r->lo; i < r->hi; i++) {
			if (bad[i - r->lo]) {
				dead_letter(c, r, i, res->status, sr.reason);
			} else {
				c->shipped++;
				item_done(c, r->b, i);
			}
		}
		goto finished;
	case LS_SINK_BAD:
		for (size_t i = r->lo; i < r->hi; i++)
			dead_letter(c, r, i, res->status, sr.reason);
		goto finished;
	case LS_SINK_SPLIT:
		if (n == 1) {
			dead_letter(c, r, r->lo, res->status, sr.reason);
			goto finished;
		} else {
			struct request *a = request_new(r->b, r->lo, r->lo + n / 2);
			struct request *b = request_new(r->b, r->lo + n / 2, r->hi);
			if (!a || !b) {
				free(a);
				free(b);
				/* sent whole again */
				r->inflight = 0;
				request_recount(c, r);
				rc = LS_ENOMEM;
				break;
			}
			/* the halves are sent from the plain items: the whole
			 * compressed body is not needed any more */
			if (r->b->kind != LS_COMPRESS_NONE && r->b->body) {
				free(r->b->body);
				r->b->body = NULL;
				batch_recount(c, r->b);
			}
			/* in place of r, so events keep their order */
			unqueue(c, r);
			b->next = c->queue;
			a->next = b;
			c->queue = a;
			request_free(c, r);
			free(bad);
			return 0;
		}
	case LS_SINK_FAILING:
		if (!c->failing)
			ls_die_msg(NULL, "warning: the sink refuses the requests (%s); retrying, nothing "
				   "is dropped", sr.reason);
		c->failing = 1;
		/* fall through */
	case LS_SINK_RETRY:
	case LS_SINK_PAUSE:
		retry_later(c, r, &sr);
		break;
	}
	free(bad);
	return rc;
finished:
	free(bad);
	unqueue(c, r);
	request_free(c, r);
	return rc;
}

/* ---- the main loop ---------------------------------------------------- */

/* The poll timeout: the tailer's timers, the filling batch's flush time and
 * the next retry. */
static int next_timeout(struct ship_ctx *c, int reading)
{
	int64_t now = ls_monotonic_ms(), next = -1;
	int t = !reading ? -1 : c->t ? ls_tailer_timeout_ms(c->t)
				 : c->j ? ls_journal_timeout_ms(c->j) : -1;

	if (t >= 0)
		next = now + t;
	if (c->cur && c->cur->n) {
		int64_t at = c->cur->created_ms + c->flush_ms;
		if (next < 0 || at < next)
			next = at;
	}
	for (struct request *r = c->queue; r; r = r->next) {
		int64_t at = r->next_try_ms > c->sink_paused_until ? r->next_try_ms
								   : c->sink_paused_until;
		/* a request waiting for a --concurrency slot is woken by a
		 * finished transfer, not by the clock */
		if (!r->inflight && inflight(c) < c->concurrency &&
		    (next < 0 || at < next))
			next = at;
		/* --once gives up at --max-retry-time, whatever Retry-After said */
		at = r->first_fail_ms + c->max_retry_ms;
		if (c->once && r->first_fail_ms && (next < 0 || at < next))
			next = at;
	}
	if (c->nunwritten) {
		int64_t at = c->out_first_fail_ms + c->max_retry_ms;

		if (next < 0 || c->out_next_try_ms < next)
			next = c->out_next_try_ms;
		if (c->once && c->out_first_fail_ms && (next < 0 || at < next))
			next = at;
	}
	if (c->stop && (next < 0 || c->stop_deadline_ms < next))
		next = c->stop_deadline_ms;
	if (next < 0)
		return c->once ? 1000 : -1;
	return next <= now ? 0 : (int)(next - now > 3600000 ? 3600000 : next - now);
}

/* Writes the counters for `logship status` (temp file and rename, so a
 * reader never sees half of it). */
static void write_stats(struct ship_ctx *c)
{
	char tmp[4400];
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", c->stats_path);
	/* private like the state, and never written through a planted symlink */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "events_read %llu\nbatches_sent %llu\nretries %llu\ndead_lettered %llu\n"
		"bytes_held %llu\nsink_failing %d\nlast_error %s\n",
		(unsigned long long)c->events, (unsigned long long)c->batches_sent,
		(unsigned long long)c->retries, (unsigned long long)c->dead,
		(unsigned long long)c->held_bytes, c->failing,
		c->last_error[0] ? c->last_error : "-");
	if (fclose(f) == 0)
		rename(tmp, c->stats_path);
	else
		unlink(tmp);
}

/* Prometheus label values escape backslash, quote and newline. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void metric(FILE *f, const char *name, const char *type, const char *help,
		   const char *pipeline, unsigned long long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s{pipeline=\"", name, help, name, type, name);
	put_label(f, pipeline);
	fprintf(f, "\"} %llu\n", v);
}

struct lag_ctx {
	FILE *f;
	const char *pipeline;
};

static void lag_line(void *vctx, const char *path, uint64_t size, uint64_t delivered)
{
	struct lag_ctx *lc = vctx;

	fputs("logship_file_lag_bytes{pipeline=\"", lc->f);
	put_label(lc->f, lc->pipeline);
	fputs("\",path=\"", lc->f);
	put_label(lc->f, path);
	fprintf(lc->f, "\"} %llu\n", (unsigned long long)(size > delivered ? size - delivered : 0));
}

/* Writes the Prometheus text file (temp file and rename: the textfile
 * collector never reads half of it). */
static void write_metrics(struct ship_ctx *c)
{
	char tmp[4200];
	struct lag_ctx lc;
	FILE *f;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", c->metrics_path);
	/* never written through a symlink planted at the temp name */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		ls_die_msg(NULL, "warning: cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	metric(f, "logship_events_read_total", "counter", "Events made from the input.",
	       c->pipeline_name, c->events);
	metric(f, "logship_events_shipped_total", "counter", "Events the sink acknowledged.",
	       c->pipeline_name, c->shipped);
	metric(f, "logship_bytes_read_total", "counter", "Input bytes read.", c->pipeline_name, c->bytes);
	metric(f, "logship_batches_sent_total", "counter", "Requests the sink accepted.",
	       c->pipeline_name, c->batches_sent);
	metric(f, "logship_retries_total", "counter", "Requests retried.", c->pipeline_name, c->retries);
	metric(f, "logship_dead_letters_total", "counter", "Events the sink rejected as bad.",
	       c->pipeline_name, c->dead);
	metric(f, "logship_bytes_held", "gauge", "Memory held for events not yet acknowledged.",
	       c->pipeline_name, c->held_bytes);
	metric(f, "logship_sink_failing", "gauge", "1 while the sink refuses requests (401/403/404).",
	       c->pipeline_name, (unsigned long long)c->failing);
	if (c->t) {
		fputs("# HELP logship_file_lag_bytes Bytes of a file not yet delivered.\n"
		      "# TYPE logship_file_lag_bytes gauge\n", f);
		lc.f = f;
		lc.pipeline = c->pipeline_name;
		ls_tailer_each(c->t, lag_line, &lc);
	}
	if (fclose(f) != 0 || rename(tmp, c->metrics_path) < 0) {
		ls_die_msg(NULL, "warning: cannot write %s: %s", c->metrics_path, strerror(errno));
		unlink(tmp);
	}
}

static int checkpoint(struct ship_ctx *c, int force)
{
	/* walking the held items to commit is worth it a few times a second,
	 * not on every turn of the loop */
	if (!force && ls_monotonic_ms() - c->committed_at_ms < 100)
		return 0;
	c->committed_at_ms = ls_monotonic_ms();
	if (c->metrics_path && (force || ls_monotonic_ms() - c->metrics_at_ms >= 10000)) {
		write_metrics(c);
		c->metrics_at_ms = ls_monotonic_ms();
	}
	struct ls_error err;

	if (c->j) {
		compute_pending(c);
		if (journal_commit(c, force, &err) < 0) {
			ls_die_msg(NULL, "%s", err.msg);
			return -1;
		}
	}
	if (force && c->dl && ls_deadletter_sync(c->dl, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return -1;
	}
	if (force || ls_monotonic_ms() - c->stats_at_ms >= 5000) {
		write_stats(c);
		c->stats_at_ms = ls_monotonic_ms();
	}
	if (!c->t)
		return 0; /* the journal or dead letters: no files */
	/* what the file sink wrote is on disk before the checkpoint says so */
	if (c->out_fd > 2 && fsync(c->out_fd) < 0) {
		const char *path = ls_sink_file_path(c->sink);
		ls_die_msg(NULL, "cannot fsync %s: %s; the checkpoint was not moved",
			   path ? path : "the output", strerror(errno));
		return -1;
	}
	compute_pending(c);
	ls_tailer_commit(c->t);
	if (ls_tailer_checkpoint(c->t, force, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Lines without a time get the time they were read: the wall clock, read
 * again on each turn of the loop (not once at start), unless LOGSHIP_NOW
 * fixes "now" (tests). */
static void advance_now(struct ship_ctx *c)
{
	const char *fixed = getenv("LOGSHIP_NOW");
	int64_t now;

	if ((!fixed || !*fixed) && ls_now_ms(&now) == 0)
		ls_pipeline_set_now(c->p, now);
}

static int run(struct ship_ctx *c, int sig_fd)
{
	struct ls_http_result res;
	struct ls_error err = { 0, "" };
	int64_t deadline = 0;
	int fds[2], ready[2] = {0, 0}, rc = 0, reading_done = 0;

	for (;;) {
		int paused = reading_blocked(c) || c->stop || reading_done;
		int64_t now = ls_monotonic_ms();
		advance_now(c);
		if (c->j && !c->stop && !reading_done && !paused) {
			rc = journal_some(c, &err);
			if (rc < 0)
				break;
			reading_done = c->once && rc == 1;
			rc = 0;
		} else if (c->replay && !c->stop && !reading_done) {
			rc = replay_some(c, &err);
			if (rc < 0)
				break;
			reading_done = rc;
			rc = 0;
		} else if (c->t) {
			ls_tailer_set_paused(c->t, paused);
		}
		if (c->t && !c->stop && !reading_done) {
			rc = ls_tailer_dispatch(c->t, ready[0], &err);
			if (rc < 0)
				break;
			if (c->once && ls_tailer_idle(c->t) && !reading_blocked(c))
				reading_done = 1;
		}
		/* a batch stopped short by the memory bound, with nothing on its
		 * way to make room, goes as it is */
		if (c->cur && c->cur->n &&
		    (c->stop || reading_done || now - c->cur->created_ms >= c->flush_ms ||
		     (c->held_bytes >= c->max_inflight && !c->queue && !c->nunwritten)) &&
		    (rc = seal(c)) < 0) {
			ls_error_set(&err, rc, "out of memory");
			break;
		}
		rc = send_due(c, &err);
		if (rc < 0)
			break;
		if (c->fatal) {
			rc = ls_error_set(&err, LS_EIO, "%s", c->last_error);
			break;
		}
		if (checkpoint(c, 0) < 0) {
			rc = ls_error_set(&err, LS_EIO, "the checkpoint could not be saved");
			break;
		}
		ls_progress_update(c->bytes, c->events);
		if ((c->stop || reading_done) && !c->queue && !c->batches)
			break;
		if (c->once)
			for (struct request *r = c->queue; r; r = r->next)
				if (r->first_fail_ms && now - r->first_fail_ms >= c->max_retry_ms)
					c->gave_up = 1;
		if (c->once && c->out_first_fail_ms && now - c->out_first_fail_ms >= c->max_retry_ms)
			c->gave_up = 1;
		if (c->gave_up || (c->stop && now >= deadline))
			break;
		/* delivering may have made room: read again at once if so */
		paused = reading_blocked(c) || c->stop || reading_done;
		if (c->t)
			ls_tailer_set_paused(c->t, paused);
		fds[0] = c->t ? ls_tailer_fd(c->t) : c->j ? ls_journal_fd(c->j) : -1;
		fds[1] = sig_fd;
		wait_events(c, fds, 2, ready,
			     c->replay && !reading_done && !paused ? 0 : next_timeout(c, !paused));
		if (fds[0] < 0)
			ready[0] = 0;
		if (c->j && ready[0])
			ls_journal_process(c->j);
		while (c->http && ls_http_next(c->http, &res) == 1)
			if ((rc = handle_result(c, &res)) < 0)
				break;
		if (ready[1] && !c->stop) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) > 0) {
				c->stop = 1;
				c->reload = si.ssi_signo == SIGHUP && !c->once;
				deadline = ls_monotonic_ms() + c->shutdown_ms;
				c->stop_deadline_ms = deadline;
			}
		}
	}
	if (rc < 0 && err.msg[0] && strcmp(err.msg, "the checkpoint could not be saved") != 0)
		ls_die_msg(NULL, "%s", err.msg);
	if (checkpoint(c, 1) < 0 && rc == 0)
		rc = LS_EIO;
	return rc;
}

/* ---- set-up ----------------------------------------------------------- */

/* Reads the credentials: never from argv. */
static int load_auth(struct ship_ctx *c)
{
	if (c->auth_env) {
		const char *v = getenv(c->auth_env);
		if (!v || !*v) {
			ls_die_msg("ship", "--auth-env %s: the variable is not set", c->auth_env);
			return -1;
		}
		snprintf(c->auth_buf, sizeof(c->auth_buf), "%s", v);
		c->sc.auth = c->auth_buf;
	} else if (c->auth_file) {
		FILE *f = fopen(c->auth_file, "r");
		if (!f || !fgets(c->auth_buf, sizeof(c->auth_buf), f)) {
			ls_die_msg("ship", "--auth-file %s: %s", c->auth_file,
				   f ? "empty" : strerror(errno));
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		c->auth_buf[strcspn(c->auth_buf, "\r\n")] = '\0';
		c->sc.auth = c->auth_buf;
	}
	return 0;
}

/* --header-env 'K: VAR' becomes the header 'K: <value of VAR>'. */
static int load_header_env(struct ship_ctx *c)
{
	for (int i = 0; i < c->nheader_env; i++) {
		const char *colon = strchr(c->header_env[i], ':'), *var = colon + 1, *v;
		size_t klen = (size_t)(colon - c->header_env[i]), n;
		while (*var == ' ')
			var++;
		v = getenv(var);
		if (!v) {
			ls_die_msg("ship", "--header-env: variable %s is not set", var);
			return -1;
		}
		n = klen + strlen(v) + 3;
		if (!(c->header_store[i] = malloc(n)))
			return -1;
		snprintf(c->header_store[i], n, "%.*s: %s", (int)klen, c->header_env[i], v);
	}
	return 0;
}

/* --replay-dead-letter: moves the dead letters to NAME.ndjson.replay (new
 * rejects go to a fresh NAME.ndjson) and opens them; an interrupted replay's
 * file is taken up again. */
static int open_replay(struct ship_ctx *c, const char *dldir, const char *name)
{
	char current[4400];
	struct ls_error err;

	snprintf(current, sizeof(current), "%s/%s.ndjson", dldir, name);
	snprintf(c->replay_path, sizeof(c->replay_path), "%s.replay", current);
	if (access(c->replay_path, F_OK) != 0 && rename(current, c->replay_path) < 0) {
		ls_die_msg(NULL, "no dead letters to replay in %s: %s", current, strerror(errno));
		return -1;
	}
	if (ls_event_init(&c->replay_ev, (size_t)8 << 20) < 0 ||
	    ls_reader_open(&c->replay_r, c->replay_path, (size_t)16 << 20, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Opens the state, the dead-letter file, the sink and its output. Returns
 * 0, or the exit code. */
static int setup(struct ship_ctx *c, char **paths, int n)
{
	char dir[4096], name[128], dldir[4200];
	struct ls_error err;
	const char *out_path;
	int rc;

	if (!c->state_dir && !ls_checkpoint_default_dir(dir, sizeof(dir))) {
		ls_die_msg("ship", "no state directory: give --state DIR (HOME is not set)");
		return 2;
	}
	if (!c->state_dir)
		c->state_dir = dir;
	if (ls_state_name("ship", c->name, c->ja.enabled, c->ja.jo.directory, paths, n,
			  c->sc.url, name, sizeof(name)) < 0) {
		ls_die_msg(NULL, "out of memory");
		return 2;
	}
	rc = ls_checkpoint_open(&c->cp, c->state_dir, name, ls_warn_cb, NULL, &err);
	if (rc < 0) {
		ls_die_msg(NULL, "%s%s", err.msg, rc == LS_EBUSY ? "; another run is active" : "");
		return rc == LS_EBUSY ? 5 : 2;
	}
	snprintf(dldir, sizeof(dldir), "%s/dead-letter", c->state_dir);
	if (c->replay && open_replay(c, dldir, name) < 0)
		return 2;
	/* the file sink and stdout need no HTTP: libcurl is not even loaded */
	if (ls_deadletter_open(&c->dl, dldir, name, c->dl_max, &err) < 0 ||
	    ls_sink_open(&c->sink, &c->sc, &err) < 0 ||
	    (c->sink->ops->request && ls_http_new(&c->http, &c->ho, &err) < 0)) {
		ls_die_msg(NULL, "%s", err.msg);
		return 2;
	}
	c->kind = compression_for(c);
	if (c->kind != LS_COMPRESS_NONE && !(c->z = ls_compressor_new())) {
		ls_die_msg(NULL, "out of memory");
		return 2;
	}
	c->out_fd = -1;
	if (!c->sink->ops->request) {
		out_path = ls_sink_file_path(c->sink);
		c->out_fd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : 1;
		if (c->out_fd < 0) {
			ls_die_msg(NULL, "cannot open %s: %s", out_path, strerror(errno));
			return 2;
		}
	}
	snprintf(c->stats_path, sizeof(c->stats_path), "%s/%s.stats", c->state_dir, name);
	snprintf(c->pipeline_name, sizeof(c->pipeline_name), "%s", name);
	c->state_dir = NULL; /* dir is on this stack frame */
	return 0;
}

/* Sends the sink's one-time set-up request (CREATE TABLE) and waits. */
static int sink_setup(struct ship_ctx *c)
{
	struct ls_http_result res;
	struct ls_sink_result sr;
	struct ls_error err;
	const char *url, *body;
	size_t len;
	int ready[1];

	if (!c->sink->ops->setup || !c->sink->ops->setup(c->sink, &url, &body, &len))
		return 0;
	if (ls_http_post(c->http, url, NULL, 0, body, len, NULL, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		return 2;
	}
	while (ls_http_inflight(c->http) > 0) {
		ls_http_wait(c->http, NULL, 0, ready, 1000);
		if (ls_http_next(c->http, &res) == 1) {
			memset(&sr, 0, sizeof(sr));
			ls_sink_classify_status(res.status, res.body, res.body_len, NULL, &sr);
			if (sr.verdict != LS_SINK_OK) {
				ls_die_msg(NULL, "cannot create the table: %s", sr.reason);
				return 3;
			}
		}
	}
	return 0;
}

static void add_unread(void *ctx, const char *path, uint64_t size, uint64_t delivered)
{
	(void)path;
	*(uint64_t *)ctx += size > delivered ? size - delivered : 0;
}

/* --once: a progress line over the bytes between the checkpoints and the
 * files' ends, unless the events go to stdout where they may be seen. */
static void start_progress(struct ship_ctx *c)
{
	uint64_t unread = 0;

	if (!c->once || !c->t || c->quiet || c->no_progress ||
	    (c->out_fd == 1 && !ls_progress_stdout_unseen()))
		return;
	ls_tailer_each(c->t, add_unread, &unread);
	ls_progress_start(unread);
}

static void print_summary(struct ship_ctx *c, int64_t started_ms)
{
	struct ls_tailer_stats st;

	memset(&st, 0, sizeof(st));
	if (c->t)
		ls_tailer_stats(c->t, &st);
	fprintf(stderr, "logship ship: %llu files, %llu events, %llu bytes read, %llu batches, "
		"%llu retries, %llu dead-lettered, %.1f s%s%s\n",
		(unsigned long long)st.files_known, (unsigned long long)c->events,
		(unsigned long long)c->bytes, (unsigned long long)c->batches_sent,
		(unsigned long long)c->retries, (unsigned long long)c->dead,
		(double)(ls_monotonic_ms() - started_ms) / 1000.0,
		c->gave_up ? "; gave up: " : "", c->gave_up ? c->last_error : "");
}

static void defaults(struct ship_ctx *c)
{
	c->batch_size = 1000;
	c->batch_bytes = (size_t)1 << 20;
	c->flush_ms = 1000;
	c->compress = LS_COMPRESS_GZIP;
	c->concurrency = 2;
	c->max_inflight = (size_t)8 << 20;
	c->max_retry_ms = 5 * 60 * 1000;
	c->shutdown_ms = 10000;
	c->to.start = LS_TAIL_START_BEGIN;
	c->out_fd = -1;
	c->out_torn_at = -1;
}

static void release(struct ship_ctx *c)
{
	struct request *r, *rn;
	struct batch *b, *bn;

	c->closing = 1;
	ls_tailer_free(c->t);
	for (r = c->queue; r; r = rn) {
		rn = r->next;
		request_free(c, r);
	}
	if (c->cur)
		batch_free(c, c->cur);
	for (b = c->batches; b; b = bn) {
		bn = b->next;
		batch_free(c, b);
	}
	ls_stream_free(c->jstream);
	ls_journal_free(c->j);
	ls_buf_release(&c->jline);
	for (size_t i = 0; i < c->jq_len; i++)
		free(c->jq[(c->jq_head + i) % c->jq_cap].cursor);
	free(c->jq);
	ls_reader_free(c->replay_r);
	ls_event_release(&c->replay_ev);
	ls_buf_release(&c->spare);
	ls_compressor_free(c->z);
	ls_http_free(c->http);
	ls_sink_free(c->sink);
	ls_deadletter_free(c->dl);
	ls_checkpoint_free(c->cp);
	ls_pipeline_free(c->p);
	if (c->out_fd > 2)
		close(c->out_fd);
	for (int i = 0; i < MAX_LIST; i++)
		free(c->header_store[i]);
	ls_config_release(&c->cfg);
	ls_common_release(&c->co);
}

/* SIGHUP: everything was delivered or checkpointed and the state lock
 * released (its descriptor is close-on-exec); run again from the start, so
 * the config file is read again and every file reopened by path. */
static void restart(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(*args));

	if (!args)
		return;
	args[0] = "logship";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	ls_die_msg(NULL, "SIGHUP: starting again with the config reread");
	execv("/proc/self/exe", args);
	ls_die_msg(NULL, "cannot restart: %s", strerror(errno));
	free(args);
}

int cmd_ship(int argc, char **argv)
{
	static const struct ls_tailer_cbs cbs = {
		file_opened, file_line, file_pause, file_closed, ls_warn_cb, file_acked
	};
	struct ship_ctx *c = calloc(1, sizeof(*c));
	struct ls_error err = {0, ""};
	char host[256] = "localhost";
	int first, sig_fd = -1, exit_code = 2;
	int64_t started = ls_monotonic_ms();
	const char *config = NULL;
	int reload;
	char **paths;
	int npaths;

	if (!c || ls_common_init(&c->co) < 0) {
		ls_die_msg(NULL, "out of memory");
		free(c);
		return 2;
	}
	defaults(c);
	if (load_config(c, argc, argv, &config) < 0 ||
	    ls_opts_parse("ship", ship_opts, argc, argv, handle_opt, c, &first) < 0)
		goto out;
	if (c->check && !config) {
		ls_die_msg("ship", "--check checks a --config file; give one");
		goto out;
	}
	paths = argv + first;
	npaths = argc - first;
	if (npaths == 0 && c->cfg.npaths) {
		/* the config's inputs, when the command line has none */
		paths = c->cfg.paths;
		npaths = c->cfg.npaths;
	}
	if (c->co.help) {
		cmd_ship_help();
		exit_code = 0;
		goto out;
	}
	if (!c->sc.url) {
		ls_die_msg("ship", "no sink: give --to URL (see 'logship ship --help')");
		goto out;
	}
	if (c->ja.enabled && npaths) {
		ls_die_msg("ship", "--journal ships the journal; give no paths with it");
		goto out;
	}
	if (c->ja.enabled && !c->co.po.format && !c->co.po.regex)
		c->co.po.format = "journal";
	if (npaths == 0 && !c->ja.enabled && !(c->replay && c->name)) {
		ls_die_msg("ship", "no files to ship: give paths or globs");
		goto out;
	}
	/* from here on a signal asks for a clean stop */
	sig_fd = ls_signal_fd();
	if (load_auth(c) < 0 || load_header_env(c) < 0 || ls_now_ms(&c->co.po.now_ms) < 0)
		goto out;
	if (c->ho.insecure)
		ls_die_msg(NULL, "warning: --insecure: the sink's certificate is not verified");
	gethostname(host, sizeof(host) - 1);
	c->sc.headers = c->headers;
	c->sc.nheaders = c->nheaders;
	c->sc.secret_headers = (const char *const *)c->header_store;
	c->sc.nsecret_headers = c->nheader_env;
	c->sc.labels = c->labels;
	c->sc.host = host;
	if (getenv("LOGSHIP_NOW") && *getenv("LOGSHIP_NOW"))
		c->sc.now_ms = c->co.po.now_ms; /* reproducible output in tests */
	if (ls_pipeline_new(&c->p, &c->co.po, ls_warn_cb, NULL, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		goto out;
	}
	if (c->check) {
		struct ls_sink *probe = NULL;
		if (ls_sink_open(&probe, &c->sc, &err) < 0) {
			ls_die_msg(NULL, "%s: %s", config, err.msg);
			goto out;
		}
		printf("%s: ok (%d inputs, sink %s)\n", config, npaths, probe->ops->scheme);
		ls_sink_free(probe);
		exit_code = 0;
		goto out;
	}
	exit_code = setup(c, paths, npaths);
	if (exit_code)
		goto out;
	exit_code = sink_setup(c);
	if (exit_code)
		goto out;
	exit_code = 2;
	ls_backoff_init(&c->bo, c->backoff_base, c->backoff_cap, 0);
	c->to.paths = (const char *const *)paths;
	c->to.npaths = npaths;
	c->to.excludes = c->excludes;
	c->to.max_line = c->co.po.max_line;
	c->to.ckpt = c->cp;
	c->to.once = c->once;
	if (c->ja.enabled && !c->replay && open_journal(c, &err) < 0) {
		ls_die_msg(NULL, "%s", err.msg);
		goto out;
	}
	if (sig_fd < 0 || (!c->replay && !c->ja.enabled && (ls_tailer_new(&c->t, &c->to, &cbs, c, &err) < 0 ||
					  ls_tailer_start(c->t, &err) < 0))) {
		ls_die_msg(NULL, "%s", sig_fd < 0 ? strerror(errno) : err.msg);
		goto out;
	}
	start_progress(c);
	if (run(c, sig_fd) < 0)
		goto out;
	ls_progress_end();
	if (c->gave_up || (c->once && (c->queue || c->batches || (c->cur && c->cur->n))))
		exit_code = 3;
	else if (c->t && ls_tailer_failed_inputs(c->t))
		exit_code = 2; /* a named input was not read: said at the start */
	else if (c->once && c->dead)
		exit_code = 4;
	else
		exit_code = 0;
	/* -q: the line stays for a run that failed or dead-lettered */
	if (c->once && (!c->quiet || exit_code))
		print_summary(c, started);
	if (c->replay && exit_code != 3 && unlink(c->replay_path) < 0)
		ls_die_msg(NULL, "warning: cannot remove %s: %s", c->replay_path, strerror(errno));
out:
	ls_progress_end();
	if (sig_fd >= 0)
		close(sig_fd);
	reload = c->reload && exit_code == 0;
	release(c);
	free(c);
	if (reload)
		restart(argc, argv);
	return exit_code;
}

/* The option table, for `logship completion`. */
const struct ls_opt *cmd_ship_options(void)
{
	return ship_opts;
}

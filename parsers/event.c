/* event.c - the reusable event: fields, tags and a fixed arena. */
#include "event.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* Behind the arena (allocated with it, never handed out) lives a 64-bit
 * filter of the field names present: bit name_bit(name) is set for every
 * field below "covered", so a name whose bit is clear is absent and
 * ls_event_set() appends without comparing it to every other name (the
 * common case: a pattern sets a dozen new fields per line). The bits only
 * ever over-approximate: fields dropped by ls_event_unset() or by a caller
 * lowering nfields leave theirs set until ls_event_reset(). Fields a
 * caller appends itself are added when next looked up. */
struct name_filter {
	uint64_t bits;
	int covered; /* fields[0..covered) have their bits set */
};

static size_t filter_offset(size_t arena_cap)
{
	return (arena_cap + 7) & ~(size_t)7;
}

static struct name_filter *name_filter(const struct ls_event *ev)
{
	return ev->arena ? (struct name_filter *)(void *)(ev->arena + filter_offset(ev->arena_cap)) :
			   NULL;
}

/* The filter bit of a name: from its length and its first and last bytes,
 * which tell ECS names sharing a prefix apart ("http.request.method",
 * "http.request.referrer"). */
static uint64_t name_bit(const char *name)
{
	size_t len = strlen(name);
	uint32_t mix = (uint32_t)len | (uint32_t)(unsigned char)name[0] << 8 |
		       (uint32_t)(unsigned char)name[len ? len - 1 : 0] << 16;

	return (uint64_t)1 << ((mix * 0x9e3779b1u) >> 26);
}

/* Brings the filter up to ev->nfields after callers changed it directly. */
static void filter_sync(const struct ls_event *ev, struct name_filter *nf)
{
	if (ev->nfields < nf->covered) {
		nf->covered = ev->nfields < 0 ? 0 : ev->nfields;
		return;
	}
	for (; nf->covered < ev->nfields && nf->covered < LS_EVENT_MAX_FIELDS; nf->covered++)
		nf->bits |= name_bit(ev->fields[nf->covered].name);
}

int ls_event_init(struct ls_event *ev, size_t arena_cap)
{
	memset(ev, 0, sizeof(*ev));
	if (arena_cap > (size_t)-1 - 64)
		return LS_ENOMEM;
	ev->arena = malloc(filter_offset(arena_cap) + sizeof(struct name_filter));
	if (!ev->arena)
		return LS_ENOMEM;
	ev->arena_cap = arena_cap;
	ev->format = -1;
	name_filter(ev)->bits = 0;
	name_filter(ev)->covered = 0;
	return 0;
}

void ls_event_release(struct ls_event *ev)
{
	free(ev->arena);
	memset(ev, 0, sizeof(*ev));
}

void ls_event_reset(struct ls_event *ev)
{
	struct name_filter *nf = name_filter(ev);

	ev->ts_ms = 0;
	ev->line = NULL;
	ev->line_len = 0;
	ev->offset = 0;
	ev->format = -1;
	ev->severity = 0;
	ev->flags = 0;
	ev->nfields = 0;
	ev->ntags = 0;
	ev->arena_len = 0;
	if (nf) {
		nf->bits = 0;
		nf->covered = 0;
	}
}

char *ls_event_alloc(struct ls_event *ev, size_t n)
{
	char *p;

	/* keep 8-byte alignment for callers that store binary data */
	size_t start = (ev->arena_len + 7) & ~(size_t)7;
	if (start > ev->arena_cap || n > ev->arena_cap - start)
		return NULL;
	p = ev->arena + start;
	ev->arena_len = start + n;
	return p;
}

char *ls_event_strdup(struct ls_event *ev, const char *s, size_t len)
{
	char *p;

	if (ev->arena_len > ev->arena_cap || len + 1 > ev->arena_cap - ev->arena_len)
		return NULL;
	p = ev->arena + ev->arena_len;
	memcpy(p, s, len);
	p[len] = '\0';
	ev->arena_len += len + 1;
	return p;
}

/* The index of the field called name, or -1. *bit is name's filter bit. */
static int find_field(const struct ls_event *ev, const char *name, uint64_t *bit)
{
	struct name_filter *nf = name_filter(ev);
	char first = name[0];

	*bit = name_bit(name);
	if (nf) {
		if (nf->covered != ev->nfields)
			filter_sync(ev, nf);
		if (!(nf->bits & *bit))
			return -1;
	}
	for (int i = 0; i < ev->nfields; i++) {
		const char *n = ev->fields[i].name;
		if (n == name || (n[0] == first && strcmp(n, name) == 0))
			return i;
	}
	return -1;
}

struct ls_field *ls_event_slot(struct ls_event *ev, const char *name, int *added)
{
	struct name_filter *nf;
	uint64_t bit;
	int i = find_field(ev, name, &bit);
	struct ls_field *f;

	*added = i < 0;
	if (i >= 0)
		return &ev->fields[i];
	if (ev->nfields >= LS_EVENT_MAX_FIELDS)
		return NULL;
	i = ev->nfields++;
	nf = name_filter(ev);
	if (nf && nf->covered == i) {
		nf->bits |= bit;
		nf->covered = ev->nfields;
	}
	f = &ev->fields[i];
	f->name = name;
	f->val = "";
	f->len = 0;
	f->type = LS_F_STR;
	f->own = 0;
	return f;
}

/* ls_event_set() with the field's own flag. */
static int set_field(struct ls_event *ev, const char *name, const char *val,
		     size_t len, int type, int own)
{
	int added;
	struct ls_field *f = ls_event_slot(ev, name, &added);

	if (!f)
		return LS_ENOMEM;
	f->name = name;
	f->val = val;
	f->len = (uint32_t)len;
	f->type = (uint8_t)type;
	f->own = (uint8_t)own;
	return 0;
}

int ls_event_set(struct ls_event *ev, const char *name, const char *val,
		 size_t len, int type)
{
	return set_field(ev, name, val, len, type, 0);
}

int ls_event_set_own(struct ls_event *ev, const char *name, const char *val,
		     size_t len, int type)
{
	return set_field(ev, name, val, len, type, 1);
}

int ls_event_set_copy(struct ls_event *ev, const char *name, const char *val,
		      size_t len, int type)
{
	char *p = ls_event_strdup(ev, val, len);

	if (!p)
		return LS_ENOMEM;
	return ls_event_set(ev, name, p, len, type);
}

int ls_event_set_str(struct ls_event *ev, const char *name, const char *val)
{
	return ls_event_set(ev, name, val, strlen(val), LS_F_STR);
}

int ls_event_set_int(struct ls_event *ev, const char *name, long long v)
{
	char tmp[24];
	size_t n = 0;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	return ls_event_set_copy(ev, name, tmp + sizeof(tmp) - n, n, LS_F_INT);
}

int ls_event_list_add(struct ls_event *ev, const char *name, const char *item)
{
	const struct ls_field *f = ls_event_get(ev, name);
	size_t ilen = strlen(item);
	char *p;

	if (!f || f->type != LS_F_LIST || f->len == 0)
		return ls_event_set_copy(ev, name, item, ilen, LS_F_LIST);
	/* already present? */
	for (const char *s = f->val, *end = f->val + f->len; s < end;) {
		const char *sep = memchr(s, LS_LIST_SEP, (size_t)(end - s));
		size_t n = sep ? (size_t)(sep - s) : (size_t)(end - s);
		if (n == ilen && memcmp(s, item, n) == 0)
			return 0;
		s += n + 1;
	}
	p = ls_event_alloc(ev, f->len + 1 + ilen);
	if (!p)
		return LS_ENOMEM;
	memcpy(p, f->val, f->len);
	p[f->len] = LS_LIST_SEP;
	memcpy(p + f->len + 1, item, ilen);
	return ls_event_set(ev, name, p, f->len + 1 + ilen, LS_F_LIST);
}

const struct ls_field *ls_event_get(const struct ls_event *ev, const char *name)
{
	uint64_t bit;
	int i = find_field(ev, name, &bit);

	return i < 0 ? NULL : &ev->fields[i];
}

void ls_event_unset(struct ls_event *ev, const char *name)
{
	uint64_t bit;
	int i = find_field(ev, name, &bit);

	if (i < 0)
		return;
	memmove(&ev->fields[i], &ev->fields[i + 1],
		(size_t)(ev->nfields - i - 1) * sizeof(ev->fields[0]));
	ev->nfields--;
}

int ls_event_add_tag(struct ls_event *ev, const char *tag)
{
	if (ls_event_has_tag(ev, tag))
		return 0;
	if (ev->ntags >= LS_EVENT_MAX_TAGS)
		return LS_ENOMEM;
	ev->tags[ev->ntags++] = tag;
	return 0;
}

int ls_event_has_tag(const struct ls_event *ev, const char *tag)
{
	for (int i = 0; i < ev->ntags; i++)
		if (ev->tags[i] == tag ||
		    (ev->tags[i][0] == tag[0] && strcmp(ev->tags[i], tag) == 0))
			return 1;
	return 0;
}

void ls_event_id(const char *host, uint64_t fingerprint, uint64_t offset,
		 const char *line, size_t len, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	XXH3_state_t st;
	uint64_t h;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, host, strlen(host) + 1);
	XXH3_64bits_update(&st, &fingerprint, sizeof(fingerprint));
	XXH3_64bits_update(&st, &offset, sizeof(offset));
	XXH3_64bits_update(&st, line, len);
	h = XXH3_64bits_digest(&st);
	for (int i = 15; i >= 0; i--, h >>= 4)
		out[i] = hex[h & 15];
	out[16] = '\0';
}

/* Fields the contract wants as JSON numbers when a pattern captured text. */
static const char *const numeric_fields[] = {
	"http.response.status_code", "http.response.body.bytes",
	"http.request.bytes", "http.response.bytes", "source.port",
	"destination.port", "client.port", "server.port", "process.pid",
	"process.thread.id", "source.bytes", "destination.bytes",
	"event.duration", "event.severity", "log.syslog.priority",
	"log.syslog.facility.code", "log.syslog.severity.code",
	"network.bytes", "log.origin.file.line", "haproxy.total_waiting_time_ms",
	"haproxy.connections.active", "haproxy.connections.frontend",
	"haproxy.connections.backend", "haproxy.connections.server",
	"haproxy.connections.retries", "haproxy.server_queue",
	"haproxy.backend_queue", "haproxy.time_request", "haproxy.time_queue",
	"haproxy.time_backend_connect", "haproxy.time_backend_response",
	"haproxy.total_time_ms", NULL
};

int ls_event_default_type(const char *name)
{
	for (int i = 0; numeric_fields[i]; i++)
		if (strcmp(numeric_fields[i], name) == 0)
			return LS_F_INT;
	return LS_F_STR;
}

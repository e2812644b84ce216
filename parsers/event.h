/* event.h - one parsed log event: fields, tags and a per-event arena.
 *
 * An event is reused from line to line: ls_event_reset() forgets the fields
 * but keeps the memory, so the per-line path does not allocate. Field names
 * and values are borrowed pointers (into the line, into a pattern, or into
 * the event's own arena); they must outlive the event's current line.
 * A field name outside the arena must keep its text for the life of the
 * process (the JSON encoder caches output shapes by name pointer): names
 * come from compiled patterns and rules, which live until exit. */
#ifndef LS_EVENT_H
#define LS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define LS_EVENT_MAX_FIELDS 128
#define LS_EVENT_MAX_TAGS 24

/* How a field's text is written as JSON. */
enum ls_ftype {
	LS_F_STR = 0, /* a string, escaped on output */
	LS_F_INT,     /* an integer; written bare when it is a valid integer */
	LS_F_FLOAT,   /* a number; written bare when it is a valid number */
	LS_F_RAW,     /* already-encoded JSON (true, null, 1.5, [..], {..}) */
	LS_F_LIST     /* strings separated by LS_LIST_SEP, written as an array */
};

#define LS_LIST_SEP '\x1f'

struct ls_field {
	const char *name; /* dotted ECS name, NUL-terminated */
	const char *val;  /* not NUL-terminated */
	uint32_t len;
	uint8_t type;     /* enum ls_ftype */
	uint8_t own;      /* val is logship's own text (a rule's name, a fixed
			   * value), not the log's: never redacted */
};

/* Flags an event can carry (also reflected in tags). */
enum {
	LS_EV_TRUNCATED = 1 << 0,
	LS_EV_INVALID_UTF8 = 1 << 1,
	LS_EV_UNPARSED = 1 << 2,
	LS_EV_REDACTED = 1 << 3,
	LS_EV_ALERT = 1 << 4
};

struct ls_event {
	int64_t ts_ms;       /* @timestamp in ms since the epoch, UTC */
	const char *line;    /* the raw line (borrowed) */
	size_t line_len;
	uint64_t offset;     /* byte offset of the line in its input */
	int format;          /* index of the format that parsed it, -1 none */
	int severity;        /* event.severity 1..5, 0 none */
	unsigned flags;      /* LS_EV_* */
	int nfields;
	struct ls_field fields[LS_EVENT_MAX_FIELDS];
	int ntags;
	const char *tags[LS_EVENT_MAX_TAGS]; /* borrowed, NUL-terminated */
	char *arena;         /* owned; bump-allocated, reset per event */
	size_t arena_len;
	size_t arena_cap;
};

/* Prepares an event whose arena holds arena_cap bytes (allocated once;
 * pointers into it never move). 0 or LS_ENOMEM. Release with
 * ls_event_release(). */
int ls_event_init(struct ls_event *ev, size_t arena_cap);
void ls_event_release(struct ls_event *ev);

/* Forgets fields, tags and arena contents for the next line. */
void ls_event_reset(struct ls_event *ev);

/* Returns n bytes from the arena, or NULL when the arena is full. The memory
 * is valid until the next ls_event_reset(). */
char *ls_event_alloc(struct ls_event *ev, size_t n);

/* Copies len bytes into the arena (NUL-terminated); NULL when full. */
char *ls_event_strdup(struct ls_event *ev, const char *s, size_t len);

/* Sets field name to (val,len) with type, replacing an existing field of
 * the same name. Both pointers are borrowed. 0, or LS_ENOMEM when the event
 * already has LS_EVENT_MAX_FIELDS fields. */
int ls_event_set(struct ls_event *ev, const char *name, const char *val,
		 size_t len, int type);

/* Like ls_event_set() for a value that is logship's own text (from a rule
 * or a pattern file, or a constant), not the log's: redaction skips it. */
int ls_event_set_own(struct ls_event *ev, const char *name, const char *val,
		     size_t len, int type);

/* Like ls_event_set() but copies val into the arena first. */
int ls_event_set_copy(struct ls_event *ev, const char *name, const char *val,
		      size_t len, int type);

/* Like ls_event_set() with a NUL-terminated string value (borrowed). */
int ls_event_set_str(struct ls_event *ev, const char *name, const char *val);

/* Sets an integer field (the text is formatted into the arena). */
int ls_event_set_int(struct ls_event *ev, const char *name, long long v);

/* The field called name, for the caller to fill in: the existing one, or a
 * new one (empty string, *added set to 1) appended when there is none; one
 * look-up where ls_event_get() then ls_event_set() take two. NULL when the
 * event already has LS_EVENT_MAX_FIELDS fields. name is borrowed. */
struct ls_field *ls_event_slot(struct ls_event *ev, const char *name, int *added);

/* Appends item to the list field name (creating it); the item is copied. */
int ls_event_list_add(struct ls_event *ev, const char *name, const char *item);

/* Returns the field called name, or NULL. The pointer is valid until the
 * event changes. */
const struct ls_field *ls_event_get(const struct ls_event *ev, const char *name);

/* Removes the field called name, if any. */
void ls_event_unset(struct ls_event *ev, const char *name);

/* Adds tag (borrowed, must outlive the line) unless already present. */
int ls_event_add_tag(struct ls_event *ev, const char *tag);
int ls_event_has_tag(const struct ls_event *ev, const char *tag);

/* Writes the deterministic event id (16 lowercase hex digits + NUL) for a
 * line: a hash of host, fingerprint, offset and the line's bytes. */
void ls_event_id(const char *host, uint64_t fingerprint, uint64_t offset,
		 const char *line, size_t len, char out[17]);

/* Field types the contract requires as numbers when given as text by a
 * pattern (status codes, bytes, ports, pids): LS_F_INT for those, else
 * LS_F_STR. */
int ls_event_default_type(const char *name);

#endif

/* journal.h - reading the systemd journal through libsystemd's sd-journal
 * (the only file that includes systemd/sd-journal.h): the local journal or
 * a directory of journal files, filtered by unit and FIELD=value matches,
 * from the start, the last N entries, a saved cursor or the end, and
 * followed through a pollable descriptor. */
#ifndef LS_JOURNAL_H
#define LS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/buf.h"
#include "../parsers/error.h"
#include "../parsers/event.h"

struct ls_journal;

struct ls_journal_opts {
	const char *directory;      /* --journal-directory DIR, or NULL: local journal */
	const char *unit;           /* --journal-unit UNIT (".service" added when it has
				     * no '.'): entries with _SYSTEMD_UNIT=UNIT or
				     * UNIT=UNIT, ANDed with the matches */
	const char *const *matches; /* --journal-match FIELD=value (ANDed across fields,
				     * ORed within one field, as journalctl does);
				     * FIELD of A-Z, 0-9, _, not starting with a
				     * digit or "__", at most 64 bytes */
	int nmatches;
	const char *cursor;         /* resume after this cursor (from a checkpoint), or
				     * NULL; when its entry is gone (vacuumed) or
				     * filtered out, start at the next one after it */
	int from_start;             /* no cursor: start at the oldest entry */
	long tail_lines;            /* no cursor, no from_start: start this many
				     * entries with a MESSAGE before the end (0: at
				     * the end, only entries added later) */
};

/* One entry. All pointers point into sd-journal's memory (the cursor into
 * the handle) and are valid until the next ls_journal_next() or
 * ls_journal_free(); strings are not NUL-terminated (use the lengths),
 * absent fields have NULL and 0. */
struct ls_journal_entry {
	const char *message;   size_t message_len;   /* MESSAGE (may hold any bytes) */
	const char *hostname;  size_t hostname_len;  /* _HOSTNAME */
	const char *ident;     size_t ident_len;     /* SYSLOG_IDENTIFIER, else _COMM */
	const char *unit;      size_t unit_len;      /* _SYSTEMD_UNIT */
	const char *cursor;                          /* NUL-terminated */
	long long pid;         /* _PID, else SYSLOG_PID; -1 when absent */
	int priority;          /* PRIORITY 0..7; -1 when absent */
	int64_t realtime_us;   /* __REALTIME_TIMESTAMP */
};

/* Opens the journal (o->directory, else the local one) with o's filters and
 * start position. Fails with LS_ENOENT ("cannot open journal directory DIR:
 * No such file or directory"; sd-journal alone would read a missing
 * directory as an empty journal; "no journal to read: ..." when the local
 * journal has no file this user may read), LS_EINVAL (DIR not a directory, a bad
 * match: "--journal-match 'FOO': expected FIELD=value...", an empty unit, an
 * invalid cursor), LS_EIO or LS_ENOMEM. Caller frees with ls_journal_free(). */
int ls_journal_open(struct ls_journal **out, const struct ls_journal_opts *o,
		    struct ls_error *err);
void ls_journal_free(struct ls_journal *j);

/* The next entry: 1 and *e filled, 0 when no more for now, negative with
 * err on a read error. Entries without a (readable) MESSAGE are skipped. */
int ls_journal_next(struct ls_journal *j, struct ls_journal_entry *e, struct ls_error *err);

/* A descriptor to poll() for new entries (POLLIN), or -1 when the journal
 * cannot be watched (then poll every ls_journal_timeout_ms(), 1000 ms).
 * After it polls readable, call ls_journal_process() before
 * ls_journal_next(). The timeout is in milliseconds from now, -1 for none
 * (local file systems need none; network ones are rechecked every 2 s). */
int ls_journal_fd(struct ls_journal *j);
int ls_journal_timeout_ms(struct ls_journal *j);
void ls_journal_process(struct ls_journal *j);

/* Writes e as a journalctl -o short-unix line ("SECONDS.USEC HOST
 * IDENT[PID]: MESSAGE") into out (replacing its contents), so the entry is
 * parsed and tagged like the journal's text output (format "journal").
 * LS_ENOMEM when out is full. */
int ls_journal_format_line(const struct ls_journal_entry *e, struct ls_buf *out);

/* Adds what the line does not carry to an event made from e: log.level
 * from PRIORITY (emerg..debug, when the message gave none) and
 * systemd.unit. */
void ls_journal_enrich(struct ls_event *ev, const struct ls_journal_entry *e);

#endif

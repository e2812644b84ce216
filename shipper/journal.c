/* journal.c - entries from the systemd journal through sd-journal.
 *
 * The filters become sd-journal matches the way journalctl builds them: the
 * --journal-match terms go into one group (same field ORed, different
 * fields ANDed), the unit into another ("_SYSTEMD_UNIT=u" OR "UNIT=u"), and
 * the two groups are ANDed with sd_journal_add_conjunction().
 *
 * sd-journal has a current position and no "peek": after a seek that lands
 * on an entry the caller has not seen yet (tail, a vanished cursor), that
 * entry is marked pending and the next ls_journal_next() returns it without
 * moving. Field values are returned as pointers into sd-journal's mapped
 * memory, valid until the next move; only the cursor is allocated (by
 * sd_journal_get_cursor) and kept until the next entry. */
#include "journal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <dlfcn.h>
#include <systemd/sd-journal.h>

/* libsystemd is loaded when the journal is first opened, so parse, tail of
 * files and ship do not map it (nor what it links) at all. */
#define SD_FUNCS(X) \
	X(int, open, (sd_journal **, int)) \
	X(int, open_directory, (sd_journal **, const char *, int)) \
	X(void, close, (sd_journal *)) \
	X(int, add_match, (sd_journal *, const void *, size_t)) \
	X(int, add_disjunction, (sd_journal *)) \
	X(int, add_conjunction, (sd_journal *)) \
	X(int, get_cursor, (sd_journal *, char **)) \
	X(int, get_data, (sd_journal *, const char *, const void **, size_t *)) \
	X(int, get_fd, (sd_journal *)) \
	X(int, get_realtime_usec, (sd_journal *, uint64_t *)) \
	X(int, get_timeout, (sd_journal *, uint64_t *)) \
	X(int, get_usage, (sd_journal *, uint64_t *)) \
	X(int, next, (sd_journal *)) \
	X(int, previous, (sd_journal *)) \
	X(int, process, (sd_journal *)) \
	X(int, seek_cursor, (sd_journal *, const char *)) \
	X(int, seek_head, (sd_journal *)) \
	X(int, seek_tail, (sd_journal *)) \
	X(int, set_data_threshold, (sd_journal *, size_t)) \
	X(int, test_cursor, (sd_journal *, const char *))

#define SD_FIELD(ret, name, args) ret (*name) args;
static struct {
	SD_FUNCS(SD_FIELD)
} sd;

/* Loads libsystemd once; LS_EIO with what to install when it is missing. */
static int load_sd(struct ls_error *err)
{
	static int loaded;
	void *lib;

	if (loaded)
		return 0;
	lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return ls_error_set(err, LS_EIO, "cannot load libsystemd (%s): install the "
				    "libsystemd0 package", dlerror());
#define SD_LOAD(ret, name, args)                                                   \
	*(void **)&sd.name = dlsym(lib, "sd_journal_" #name);                      \
	if (!sd.name)                                                              \
		return ls_error_set(err, LS_EIO, "libsystemd has no sd_journal_%s", #name);
	SD_FUNCS(SD_LOAD)
	loaded = 1;
	return 0;
}

/* journald's own limit on field name length */
#define LS_JOURNAL_FIELD_MAX 64
/* the poll interval offered when the journal cannot be watched */
#define LS_JOURNAL_POLL_MS 1000

struct ls_journal {
	sd_journal *sdj;
	char *cursor;  /* of the entry last returned; from sd_journal_get_cursor */
	int pending;   /* positioned on an entry not yet returned */
};

/* ---- matches ---------------------------------------------------------- */

/* Checks that m is FIELD=value with FIELD of A-Z, 0-9 and '_', not starting
 * with a digit nor with "__" (address fields like __CURSOR cannot be
 * matched), at most 64 bytes. */
static int check_match(const char *m, struct ls_error *err)
{
	const char *eq = strchr(m, '=');
	size_t n, i;

	if (!eq || eq == m)
		return ls_error_set(err, LS_EINVAL,
				    "--journal-match '%s': expected FIELD=value", m);
	n = (size_t)(eq - m);
	for (i = 0; i < n; i++) {
		char c = m[i];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			break;
	}
	if (i < n || (m[0] >= '0' && m[0] <= '9') || n > LS_JOURNAL_FIELD_MAX ||
	    (m[0] == '_' && m[1] == '_'))
		return ls_error_set(err, LS_EINVAL,
				    "--journal-match '%s': expected FIELD=value, FIELD "
				    "of A-Z, 0-9 and _ not starting with a digit or __",
				    m);
	return 0;
}

static int add_match(sd_journal *sdj, const char *m, struct ls_error *err)
{
	int r = sd.add_match(sdj, m, 0);

	if (r < 0)
		return ls_error_set(err, r == -ENOMEM ? LS_ENOMEM : LS_EINVAL,
				    "journal match '%s': %s", m, strerror(-r));
	return 0;
}

/* Adds "_SYSTEMD_UNIT=u" OR "UNIT=u" as a group of its own, u being unit
 * with ".service" appended when it has no '.'. */
static int add_unit(sd_journal *sdj, const char *unit, struct ls_error *err)
{
	const char *suffix = strchr(unit, '.') ? "" : ".service";
	size_t cap = strlen(unit) + 32;
	char *m = malloc(cap);
	int rc, r;

	if (!m)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	snprintf(m, cap, "_SYSTEMD_UNIT=%s%s", unit, suffix);
	rc = add_match(sdj, m, err);
	if (rc < 0)
		goto out;
	r = sd.add_disjunction(sdj);
	if (r < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "journal matches: %s", strerror(-r));
		goto out;
	}
	snprintf(m, cap, "UNIT=%s%s", unit, suffix);
	rc = add_match(sdj, m, err);
	if (rc < 0)
		goto out;
	r = sd.add_conjunction(sdj);
	if (r < 0)
		rc = ls_error_set(err, LS_ENOMEM, "journal matches: %s", strerror(-r));
out:
	free(m);
	return rc;
}

static int add_filters(sd_journal *sdj, const struct ls_journal_opts *o,
		       struct ls_error *err)
{
	int i, rc, r;

	for (i = 0; i < o->nmatches; i++) {
		rc = add_match(sdj, o->matches[i], err);
		if (rc < 0)
			return rc;
	}
	/* closes the match group so the unit's OR does not absorb it */
	r = sd.add_conjunction(sdj);
	if (r < 0)
		return ls_error_set(err, LS_ENOMEM, "journal matches: %s", strerror(-r));
	if (o->unit)
		return add_unit(sdj, o->unit, err);
	return 0;
}

/* ---- fields ----------------------------------------------------------- */

/* The value of field (name without '=') of the current entry: 1 and
 * *val and *len, 0 when absent or unreadable (-EBADMSG: a corrupt object, which
 * journalctl skips too), or a negative errno. */
static int get_field(sd_journal *sdj, const char *field, size_t field_len,
		     const char **val, size_t *len)
{
	const void *data;
	size_t size;
	int r = sd.get_data(sdj, field, &data, &size);

	*val = NULL;
	*len = 0;
	if (r == -ENOENT || r == -EBADMSG)
		return 0;
	if (r < 0)
		return r;
	/* data is "FIELD=value" */
	if (size < field_len + 1)
		return 0;
	*val = (const char *)data + field_len + 1;
	*len = size - field_len - 1;
	return 1;
}

#define GET_FIELD(sdj, name, val, len) \
	get_field((sdj), (name), sizeof(name) - 1, (val), (len))

/* A decimal number > 0 of at most 18 digits, or -1. */
static long long parse_pid(const char *s, size_t len)
{
	long long v = 0;
	size_t i;

	if (!s || len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 0 ? v : -1;
}

/* Whether the current entry has a readable MESSAGE: 1, 0, or negative
 * errno. */
static int has_message(sd_journal *sdj)
{
	const char *val;
	size_t len;

	return GET_FIELD(sdj, "MESSAGE", &val, &len);
}

/* Fills e from the current entry: 1, 0 when it has no MESSAGE, or an
 * LS_E* code with err. */
static int read_entry(struct ls_journal *j, struct ls_journal_entry *e,
		      struct ls_error *err)
{
	sd_journal *sdj = j->sdj;
	const char *val;
	size_t len;
	uint64_t usec;
	int r;

	memset(e, 0, sizeof(*e));
	e->pid = -1;
	e->priority = -1;
	r = GET_FIELD(sdj, "MESSAGE", &e->message, &e->message_len);
	if (r <= 0)
		goto check;
	/* the optional fields: unreadable ones count as absent */
	GET_FIELD(sdj, "_HOSTNAME", &e->hostname, &e->hostname_len);
	if (GET_FIELD(sdj, "SYSLOG_IDENTIFIER", &e->ident, &e->ident_len) <= 0)
		GET_FIELD(sdj, "_COMM", &e->ident, &e->ident_len);
	GET_FIELD(sdj, "_SYSTEMD_UNIT", &e->unit, &e->unit_len);
	if (GET_FIELD(sdj, "_PID", &val, &len) > 0)
		e->pid = parse_pid(val, len);
	if (e->pid < 0 && GET_FIELD(sdj, "SYSLOG_PID", &val, &len) > 0)
		e->pid = parse_pid(val, len);
	if (GET_FIELD(sdj, "PRIORITY", &val, &len) > 0 && len == 1 &&
	    val[0] >= '0' && val[0] <= '7')
		e->priority = val[0] - '0';
	r = sd.get_realtime_usec(sdj, &usec);
	if (r < 0)
		goto check;
	e->realtime_us = usec > INT64_MAX ? INT64_MAX : (int64_t)usec;
	free(j->cursor);
	j->cursor = NULL;
	r = sd.get_cursor(sdj, &j->cursor);
	if (r < 0)
		goto check;
	e->cursor = j->cursor;
	return 1;
check:
	/* sd_journal_get_data's pointers may have gone with the error */
	if (r < 0)
		memset(e, 0, sizeof(*e));
	if (r == -ENOMEM)
		return ls_error_set(err, LS_ENOMEM, "reading the journal: %s",
				    strerror(-r));
	if (r < 0)
		return ls_error_set(err, LS_EIO, "reading the journal: %s",
				    strerror(-r));
	return 0;
}

/* ---- opening and the start position ------------------------------------ */

static int open_sd(sd_journal **sdj, const char *directory, struct ls_error *err)
{
	struct stat st;
	int r;

	if (!directory) {
		r = sd.open(sdj, SD_JOURNAL_LOCAL_ONLY);
		if (r < 0)
			return ls_error_set(err, r == -ENOMEM ? LS_ENOMEM : LS_EIO,
					    "cannot open the local journal: %s",
					    strerror(-r));
		return 0;
	}
	/* sd.open_directory() accepts a missing directory as an empty
	 * journal; a typo should not silently read nothing */
	if (stat(directory, &st) < 0) {
		int e = errno;
		return ls_error_set(err, e == ENOENT ? LS_ENOENT : LS_EIO,
				    "cannot open journal directory %s: %s",
				    directory, strerror(e));
	}
	if (!S_ISDIR(st.st_mode))
		return ls_error_set(err, LS_EINVAL,
				    "cannot open journal directory %s: %s",
				    directory, strerror(ENOTDIR));
	r = sd.open_directory(sdj, directory, 0);
	if (r < 0)
		return ls_error_set(err, r == -ENOMEM ? LS_ENOMEM : LS_EIO,
				    "cannot open journal directory %s: %s",
				    directory, strerror(-r));
	return 0;
}

/* Fails with LS_ENOENT when the local journal has no file this user may
 * read: sd-journal would otherwise wait for entries that never come (a
 * container without journald) and --once would ship nothing with exit 0.
 * A --journal-directory may be empty (files appear in it later). */
static int check_has_files(sd_journal *sdj, const char *directory, struct ls_error *err)
{
	uint64_t bytes = 0;
	int r;

	if (directory)
		return 0;
	r = sd.get_usage(sdj, &bytes);
	if (r >= 0 && bytes > 0)
		return 0;
	return ls_error_set(err, LS_ENOENT, "no journal to read: no journal files (or none "
			    "this user may read) in /run/log/journal or /var/log/journal; is "
			    "systemd-journald running? (a container usually has none; give "
			    "--journal-directory DIR)");
}

static int seek_error(int r, const char *what, struct ls_error *err)
{
	return ls_error_set(err, r == -ENOMEM ? LS_ENOMEM : LS_EIO,
			    "journal: cannot %s: %s", what, strerror(-r));
}

/* Positions on the entry after cursor: that one pending if the cursor's own
 * entry is gone (or filtered out), else the cursor's entry consumed. */
static int start_at_cursor(struct ls_journal *j, const char *cursor,
			   struct ls_error *err)
{
	int r = sd.seek_cursor(j->sdj, cursor);

	if (r == -EINVAL)
		return ls_error_set(err, LS_EINVAL, "invalid journal cursor '%s'",
				    cursor);
	if (r < 0)
		return seek_error(r, "seek to the cursor", err);
	r = sd.next(j->sdj);
	if (r < 0)
		return seek_error(r, "seek to the cursor", err);
	if (r == 0)
		return 0;
	r = sd.test_cursor(j->sdj, cursor);
	if (r < 0)
		return seek_error(r, "test the cursor", err);
	j->pending = r == 0;
	return 0;
}

/* Positions so the next entries are the last n with a MESSAGE (fewer when
 * the journal holds fewer), or only new ones when n is 0. */
static int start_at_tail(struct ls_journal *j, long n, struct ls_error *err)
{
	long shown = 0;
	int r = sd.seek_tail(j->sdj);

	if (r < 0)
		return seek_error(r, "seek to the end", err);
	/* from the tail position itself sd.next() jumps to the last
	 * entry there is by then, skipping any before it: stand on the last
	 * entry instead, then step back over the entries to show */
	r = sd.previous(j->sdj);
	if (r < 0)
		return seek_error(r, "seek to the end", err);
	if (r == 0) {
		/* nothing (that matches) yet: whatever comes is new */
		r = sd.seek_head(j->sdj);
		return r < 0 ? seek_error(r, "seek to the start", err) : 0;
	}
	if (n <= 0)
		return 0;
	for (;;) {
		r = has_message(j->sdj);
		if (r < 0)
			return seek_error(r, "read the journal", err);
		shown += r;
		if (shown >= n)
			break;
		r = sd.previous(j->sdj);
		if (r < 0)
			return seek_error(r, "seek back", err);
		if (r == 0)
			break; /* at the oldest entry, which still stands */
	}
	j->pending = 1;
	return 0;
}

static int set_start(struct ls_journal *j, const struct ls_journal_opts *o,
		     struct ls_error *err)
{
	int r;

	if (o->cursor)
		return start_at_cursor(j, o->cursor, err);
	if (o->from_start) {
		r = sd.seek_head(j->sdj);
		return r < 0 ? seek_error(r, "seek to the start", err) : 0;
	}
	return start_at_tail(j, o->tail_lines, err);
}

/* Opens the journal (o->directory, else the local one), adds o's filters
 * and seeks to the start position. Fails with LS_ENOENT ("cannot open
 * journal directory DIR: No such file or directory"), LS_EINVAL (a bad
 * match or cursor) or LS_EIO. Caller frees *out with ls_journal_free(). */
int ls_journal_open(struct ls_journal **out, const struct ls_journal_opts *o,
		    struct ls_error *err)
{
	struct ls_journal *j = NULL;
	int rc, r, i;

	*out = NULL;
	if (load_sd(err) < 0)
		return err ? err->code : LS_EIO;
	for (i = 0; i < o->nmatches; i++) {
		rc = check_match(o->matches[i], err);
		if (rc < 0)
			goto out;
	}
	if (o->unit && !o->unit[0]) {
		rc = ls_error_set(err, LS_EINVAL, "--journal-unit: empty unit name");
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	rc = open_sd(&j->sdj, o->directory, err);
	if (rc < 0)
		goto out;
	rc = check_has_files(j->sdj, o->directory, err);
	if (rc < 0)
		goto out;
	/* 0: no limit; the default 64 KiB would cut long messages short */
	r = sd.set_data_threshold(j->sdj, 0);
	if (r < 0) {
		rc = seek_error(r, "set the data threshold", err);
		goto out;
	}
	rc = add_filters(j->sdj, o, err);
	if (rc < 0)
		goto out;
	rc = set_start(j, o, err);
	if (rc < 0)
		goto out;
	*out = j;
	j = NULL;
out:
	ls_journal_free(j);
	return rc;
}

/* Closes the journal; entries returned are invalid afterwards. NULL is a
 * no-op. */
void ls_journal_free(struct ls_journal *j)
{
	if (!j)
		return;
	if (j->sdj)
		sd.close(j->sdj);
	free(j->cursor);
	free(j);
}

/* ---- reading ---------------------------------------------------------- */

/* The next entry with a MESSAGE: 1 and *e, 0 when there is none for now
 * (call again after ls_journal_fd() polls readable and ls_journal_process()),
 * or LS_EIO/LS_ENOMEM with err. *e's pointers are valid until the next
 * call or ls_journal_free(). */
int ls_journal_next(struct ls_journal *j, struct ls_journal_entry *e,
		    struct ls_error *err)
{
	int r;

	for (;;) {
		if (j->pending) {
			j->pending = 0;
		} else {
			r = sd.next(j->sdj);
			if (r < 0)
				return ls_error_set(err, r == -ENOMEM ? LS_ENOMEM : LS_EIO,
						    "reading the journal: %s",
						    strerror(-r));
			if (r == 0) {
				memset(e, 0, sizeof(*e));
				return 0;
			}
		}
		r = read_entry(j, e, err);
		if (r != 0)
			return r;
	}
}

/* sd.get_fd(): an inotify descriptor, or -1. */
int ls_journal_fd(struct ls_journal *j)
{
	int fd = sd.get_fd(j->sdj);

	return fd < 0 ? -1 : fd;
}

/* Milliseconds until the journal should be looked at again even without a
 * POLLIN (journals on network file systems, or without a descriptor), -1
 * for never; rounded up and clamped to INT_MAX. */
int ls_journal_timeout_ms(struct ls_journal *j)
{
	uint64_t at, now;
	struct timespec ts;
	int r = sd.get_timeout(j->sdj, &at);

	if (r < 0)
		return LS_JOURNAL_POLL_MS;
	if (at == UINT64_MAX)
		return -1;
	/* at is on CLOCK_MONOTONIC, in microseconds */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	if (at <= now)
		return 0;
	if ((at - now) / 1000u >= (uint64_t)INT_MAX)
		return INT_MAX;
	return (int)((at - now + 999u) / 1000u);
}

/* sd.process(): takes in what the descriptor signalled (appended
 * entries, added or removed files) so ls_journal_next() sees it. */
void ls_journal_process(struct ls_journal *j)
{
	(void)sd.process(j->sdj);
}

int ls_journal_format_line(const struct ls_journal_entry *e, struct ls_buf *out)
{
	out->len = 0;
	if (ls_buf_printf(out, "%lld.%06lld ", (long long)(e->realtime_us / 1000000),
			  (long long)(e->realtime_us % 1000000)) < 0 ||
	    (e->hostname_len ? ls_buf_append(out, e->hostname, e->hostname_len)
			     : ls_buf_puts(out, "localhost")) < 0 ||
	    ls_buf_putc(out, ' ') < 0 ||
	    (e->ident_len ? ls_buf_append(out, e->ident, e->ident_len)
			  : ls_buf_puts(out, "unknown")) < 0 ||
	    (e->pid >= 0 && ls_buf_printf(out, "[%lld]", e->pid) < 0) ||
	    ls_buf_puts(out, ": ") < 0 || ls_buf_append(out, e->message, e->message_len) < 0)
		return LS_ENOMEM;
	return 0;
}

void ls_journal_enrich(struct ls_event *ev, const struct ls_journal_entry *e)
{
	static const char *const levels[] = {
		"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
	};

	if (e->priority >= 0 && e->priority < 8 && !ls_event_get(ev, "log.level"))
		ls_event_set_str(ev, "log.level", levels[e->priority]);
	if (e->unit_len)
		ls_event_set(ev, "systemd.unit", e->unit, e->unit_len, LS_F_STR);
}

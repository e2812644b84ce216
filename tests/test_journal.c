/* test_journal.c - shipper/journal.c against real journal files: each case
 * writes the fixture entries below in the journal export format, has
 * systemd-journal-remote turn them into DIR/test.journal (in its own
 * mkdtemp directory under /tmp, removed afterwards) and reads them back
 * with --journal-directory DIR. Every entry read is checked field by field
 * against the fixture it came from; cases compare the sequence of fixture
 * indexes read (start positions, unit and match filters, cursors), plus
 * option errors and following new entries. Without systemd-journal-remote
 * the cases fail, naming the package to install. */
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shipper/journal.h"
#include "unit.h"

#define LONG_MESSAGE_LEN ((size_t)100 * 1024)
#define REALTIME_BASE 1700000000000000LL /* 2023-11-14 22:13:20 UTC */
#define BOOT_ID "0123456789abcdef0123456789abcdef"
#define MAX_GOT 32

static const char *const remote_paths[] = {
	"/lib/systemd/systemd-journal-remote",
	"/usr/lib/systemd/systemd-journal-remote",
	NULL
};

/* ---- the fixture ------------------------------------------------------ */

struct fx_entry {
	const char *message;     /* NULL: none, or LONG when message_len is set */
	size_t message_len;      /* 0: strlen(message) */
	const char *fields[8];   /* other "FIELD=value" lines */
	/* what ls_journal_next() should report */
	const char *hostname, *ident, *unit;
	long long pid;
	int priority;
};

static const struct fx_entry fixture[] = {
	/* 0 */ { "Failed password for root from 203.0.113.5 port 52113 ssh2", 0,
		  { "_HOSTNAME=web1", "SYSLOG_IDENTIFIER=sshd", "_COMM=sshd",
		    "_PID=1234", "PRIORITY=5", "_SYSTEMD_UNIT=ssh.service", NULL },
		  "web1", "sshd", "ssh.service", 1234, 5 },
	/* 1 */ { "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls", 0,
		  { "_HOSTNAME=web1", "SYSLOG_IDENTIFIER=sudo", "_COMM=sudo",
		    "_PID=2001", "PRIORITY=6", "_SYSTEMD_UNIT=session-3.scope", NULL },
		  "web1", "sudo", "session-3.scope", 2001, 6 },
	/* 2: no MESSAGE, so never returned, though it matches the ssh unit */
	{ NULL, 0,
		  { "_HOSTNAME=web1", "_COMM=sshd", "_PID=1234", "PRIORITY=6",
		    "_SYSTEMD_UNIT=ssh.service", "CODE_FUNC=audit", NULL },
		  NULL, NULL, NULL, -1, -1 },
	/* 3: the pid only in SYSLOG_PID */
	{ "Accepted publickey for bob from 198.51.100.7 port 40022 ssh2", 0,
		  { "_HOSTNAME=web1", "SYSLOG_IDENTIFIER=sshd", "SYSLOG_PID=1300",
		    "PRIORITY=6", "_SYSTEMD_UNIT=ssh.service", NULL },
		  "web1", "sshd", "ssh.service", 1300, 6 },
	/* 4: systemd about the unit: UNIT=, the identifier from _COMM */
	{ "Started OpenBSD Secure Shell server.", 0,
		  { "_HOSTNAME=web2", "_COMM=systemd", "_PID=1", "PRIORITY=6",
		    "UNIT=ssh.service", "_SYSTEMD_UNIT=init.scope", NULL },
		  "web2", "systemd", "init.scope", 1, 6 },
	/* 5: a NUL and invalid UTF-8; no host, pid, priority or unit */
	{ "bin\0ary \xff\xfe\xc3( end", 16,
		  { "_COMM=app", "PRIORITY=x", "_PID=12ab", NULL },
		  NULL, "app", NULL, -1, -1 },
	/* 6: past sd-journal's default 64 KiB data threshold */
	{ "LONG", LONG_MESSAGE_LEN,
		  { "SYSLOG_IDENTIFIER=bulk", "PRIORITY=3", "_PID=77", NULL },
		  NULL, "bulk", NULL, 77, 3 },
};
#define NFIX ((int)(sizeof(fixture) / sizeof(fixture[0])))

static char long_message[LONG_MESSAGE_LEN];

static const char *fx_message(const struct fx_entry *f, size_t *len)
{
	size_t i;

	if (f->message && strcmp(f->message, "LONG") == 0 &&
	    f->message_len == LONG_MESSAGE_LEN) {
		for (i = 0; i < LONG_MESSAGE_LEN; i++)
			long_message[i] = (char)('a' + (i * 7 + i / 4096) % 26);
		*len = LONG_MESSAGE_LEN;
		return long_message;
	}
	*len = f->message ? (f->message_len ? f->message_len : strlen(f->message)) : 0;
	return f->message;
}

static int64_t fx_realtime(int i)
{
	return REALTIME_BASE + (int64_t)i * 1000000;
}

/* ---- the export format ------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = 2 * (b->len + len) + 256;
		b->p = realloc(b->p, b->cap);
		CU_ASSERT_FATAL(b->p != NULL);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* "FIELD=value\n" when value is printable, else the binary form
 * "FIELD\n" <length, little-endian 64 bits> <bytes> "\n". */
static void export_field(struct buf *b, const char *field, const char *value,
			 size_t len)
{
	unsigned char le[8];
	size_t i;
	int printable = 1;

	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f)
			printable = 0;
	buf_str(b, field);
	if (printable) {
		buf_str(b, "=");
		buf_add(b, value, len);
	} else {
		for (i = 0; i < 8; i++)
			le[i] = (unsigned char)((uint64_t)len >> (8 * i));
		buf_str(b, "\n");
		buf_add(b, le, 8);
		buf_add(b, value, len);
	}
	buf_str(b, "\n");
}

/* Entry i of the fixture, its address fields and a blank line after it. */
static void export_entry(struct buf *b, int i)
{
	const struct fx_entry *f = &fixture[i];
	const char *msg;
	size_t msg_len;
	char line[128];
	int k;

	snprintf(line, sizeof(line), "__REALTIME_TIMESTAMP=%lld\n"
		 "__MONOTONIC_TIMESTAMP=%lld\n_BOOT_ID=" BOOT_ID "\n",
		 (long long)fx_realtime(i), 1000000LL + i * 1000LL);
	buf_str(b, line);
	msg = fx_message(f, &msg_len);
	if (msg)
		export_field(b, "MESSAGE", msg, msg_len);
	for (k = 0; f->fields[k]; k++) {
		buf_str(b, f->fields[k]);
		buf_str(b, "\n");
	}
	buf_str(b, "\n");
}

/* ---- journal files ------------------------------------------------------ */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_begin(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/ls_journal_XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
}

static const char *tmp_path(struct tmp *t, const char *name)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	return t->path;
}

static void tmp_end(struct tmp *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[384];

	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	CU_ASSERT(rmdir(t->dir) == 0);
}

static const char *remote_binary(void)
{
	int i;

	for (i = 0; remote_paths[i]; i++)
		if (access(remote_paths[i], X_OK) == 0)
			return remote_paths[i];
	return NULL;
}

/* Appends fixture entries [from, to) to t->dir/test.journal (creating it)
 * through systemd-journal-remote. */
static void write_journal(struct tmp *t, int from, int to)
{
	const char *remote = remote_binary();
	struct buf b = { NULL, 0, 0 };
	char cmd[512];
	FILE *p;
	int i, status;

	if (!remote)
		CU_FAIL_FATAL("systemd-journal-remote not found in /lib/systemd or "
			      "/usr/lib/systemd: install the systemd-journal-remote "
			      "package (make deps)");
	for (i = from; i < to; i++)
		export_entry(&b, i);
	/* it wants the file name to end in .journal; its chatter goes to a log */
	snprintf(cmd, sizeof(cmd), "%s --output=%s/test.journal - 2>%s/remote.log",
		 remote, t->dir, t->dir);
	p = popen(cmd, "w");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(fwrite(b.p, 1, b.len, p) == b.len);
	status = pclose(p);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(tmp_path(t, "remote.log"));
	free(b.p);
}

/* ---- reading ------------------------------------------------------------ */

struct got {
	int idx[MAX_GOT];     /* fixture index of each entry read, -1: unknown */
	char *cursor[MAX_GOT];
	int n;
	int rc;
	struct ls_error err;
};

static void got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		free(g->cursor[i]);
	g->n = 0;
}

static void check_str(const char *have, size_t have_len, const char *want)
{
	if (!want) {
		CU_ASSERT_PTR_NULL(have);
		CU_ASSERT_EQUAL(have_len, 0);
		return;
	}
	CU_ASSERT_FATAL(have != NULL);
	CU_ASSERT_EQUAL(have_len, strlen(want));
	if (have_len == strlen(want))
		CU_ASSERT(memcmp(have, want, have_len) == 0);
}

/* The fixture entry e came from (by its timestamp), every field checked. */
static int check_entry(const struct ls_journal_entry *e)
{
	int64_t off = e->realtime_us - REALTIME_BASE;
	int i = off >= 0 && off % 1000000 == 0 ? (int)(off / 1000000) : -1;
	const struct fx_entry *f;
	const char *msg;
	size_t msg_len;

	CU_ASSERT(i >= 0 && i < NFIX);
	if (i < 0 || i >= NFIX)
		return -1;
	f = &fixture[i];
	msg = fx_message(f, &msg_len);
	CU_ASSERT_PTR_NOT_NULL(msg);
	CU_ASSERT_EQUAL(e->message_len, msg_len);
	if (msg && e->message && e->message_len == msg_len)
		CU_ASSERT(memcmp(e->message, msg, msg_len) == 0);
	check_str(e->hostname, e->hostname_len, f->hostname);
	check_str(e->ident, e->ident_len, f->ident);
	check_str(e->unit, e->unit_len, f->unit);
	CU_ASSERT_EQUAL(e->pid, f->pid);
	CU_ASSERT_EQUAL(e->priority, f->priority);
	CU_ASSERT_PTR_NOT_NULL(e->cursor);
	if (e->cursor)
		CU_ASSERT(strncmp(e->cursor, "s=", 2) == 0);
	return i;
}

static void drain(struct ls_journal *j, struct got *g)
{
	struct ls_journal_entry e;

	while (g->n < MAX_GOT && (g->rc = ls_journal_next(j, &e, &g->err)) == 1) {
		g->idx[g->n] = check_entry(&e);
		g->cursor[g->n] = strdup(e.cursor ? e.cursor : "");
		CU_ASSERT_FATAL(g->cursor[g->n] != NULL);
		g->n++;
	}
	/* at the end it stays at the end */
	CU_ASSERT_EQUAL(ls_journal_next(j, &e, &g->err), 0);
}

/* Opens t->dir with o (its directory filled in), reads all there is. */
static void read_all(struct tmp *t, struct ls_journal_opts *o, struct got *g)
{
	struct ls_journal *j;

	memset(g, 0, sizeof(*g));
	o->directory = t->dir;
	CU_ASSERT_FATAL(ls_journal_open(&j, o, &g->err) == 0);
	drain(j, g);
	ls_journal_free(j);
	CU_ASSERT_EQUAL(g->rc, 0);
}

/* want: fixture indexes ending in -1. */
static void assert_indexes(const struct got *g, const int *want)
{
	int n = 0, i, same = 1;

	while (want[n] >= 0)
		n++;
	CU_ASSERT_EQUAL(g->n, n);
	for (i = 0; i < n && i < g->n; i++)
		if (g->idx[i] != want[i])
			same = 0;
	CU_ASSERT(same);
	if (g->n != n || !same) {
		fprintf(stderr, "\n  read:");
		for (i = 0; i < g->n; i++)
			fprintf(stderr, " %d", g->idx[i]);
		fprintf(stderr, "\n  want:");
		for (i = 0; i < n; i++)
			fprintf(stderr, " %d", want[i]);
		fprintf(stderr, "\n");
	}
}

/* ---- cases ------------------------------------------------------------ */

struct filter_case {
	const char *unit;
	const char *matches[4];
	int want[NFIX + 1];
};

/* From the start, with the unit and match filters. */
static void test_filters(void)
{
	static const struct filter_case cases[] = {
		{ NULL, { NULL }, { 0, 1, 3, 4, 5, 6, -1 } },
		/* _SYSTEMD_UNIT= or UNIT=; ".service" added */
		{ "ssh", { NULL }, { 0, 3, 4, -1 } },
		{ "ssh.service", { NULL }, { 0, 3, 4, -1 } },
		{ "session-3.scope", { NULL }, { 1, -1 } },
		{ "nginx", { NULL }, { -1 } },
		{ NULL, { "SYSLOG_IDENTIFIER=sshd", NULL }, { 0, 3, -1 } },
		/* one field ORed, different fields ANDed */
		{ NULL, { "PRIORITY=5", "PRIORITY=3", NULL }, { 0, 6, -1 } },
		{ NULL, { "SYSLOG_IDENTIFIER=sshd", "PRIORITY=5", NULL }, { 0, -1 } },
		{ NULL, { "PRIORITY=5", "_HOSTNAME=web2", "PRIORITY=6", NULL },
		  { 4, -1 } },
		/* the unit's OR is ANDed with the matches as a whole */
		{ "ssh", { "SYSLOG_IDENTIFIER=sshd", NULL }, { 0, 3, -1 } },
		{ "ssh", { "_HOSTNAME=web2", NULL }, { 4, -1 } },
		{ "ssh", { "PRIORITY=5", "PRIORITY=6", NULL }, { 0, 3, 4, -1 } },
		{ "ssh", { "SYSLOG_IDENTIFIER=sudo", NULL }, { -1 } },
		{ NULL, { "CODE_FUNC=audit", NULL }, { -1 } },
	};
	struct tmp t;
	struct got g;
	size_t c;

	tmp_begin(&t);
	write_journal(&t, 0, NFIX);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct ls_journal_opts o = { 0 };
		int n = 0;

		while (cases[c].matches[n])
			n++;
		o.unit = cases[c].unit;
		o.matches = cases[c].matches;
		o.nmatches = n;
		o.from_start = 1;
		read_all(&t, &o, &g);
		assert_indexes(&g, cases[c].want);
		got_free(&g);
	}
	tmp_end(&t);
}

/* The last N entries with a MESSAGE (entry 2 has none and does not count). */
static void test_tail(void)
{
	static const struct {
		long lines;
		int want[NFIX + 1];
	} cases[] = {
		{ 1, { 6, -1 } },
		{ 2, { 5, 6, -1 } },
		{ 4, { 3, 4, 5, 6, -1 } },
		{ 5, { 1, 3, 4, 5, 6, -1 } },
		{ 6, { 0, 1, 3, 4, 5, 6, -1 } },
		{ 100, { 0, 1, 3, 4, 5, 6, -1 } },
		{ 0, { -1 } },
	};
	struct tmp t;
	struct got g;
	size_t c;

	tmp_begin(&t);
	write_journal(&t, 0, NFIX);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct ls_journal_opts o = { 0 };

		o.tail_lines = cases[c].lines;
		read_all(&t, &o, &g);
		assert_indexes(&g, cases[c].want);
		got_free(&g);
	}
	/* with a filter, the last N of the filtered entries */
	{
		static const char *const m[] = { "SYSLOG_IDENTIFIER=sshd" };
		static const int want[] = { 3, -1 };
		struct ls_journal_opts o = { 0 };

		o.matches = m;
		o.nmatches = 1;
		o.tail_lines = 1;
		read_all(&t, &o, &g);
		assert_indexes(&g, want);
		got_free(&g);
	}
	/* the same with the unit: entry 2 is ssh's too, but has no MESSAGE */
	{
		static const int want[] = { 3, 4, -1 };
		struct ls_journal_opts o = { 0 };

		o.unit = "ssh";
		o.tail_lines = 2;
		read_all(&t, &o, &g);
		assert_indexes(&g, want);
		got_free(&g);
	}
	tmp_end(&t);
}

static void test_cursor_resume(void)
{
	static const int all[] = { 0, 1, 3, 4, 5, 6 };
	struct tmp t;
	struct got first, g;
	struct ls_journal_opts o = { 0 };
	int k, n;

	tmp_begin(&t);
	write_journal(&t, 0, NFIX);
	o.from_start = 1;
	read_all(&t, &o, &first);
	CU_ASSERT_FATAL(first.n == 6);
	/* resuming after the k-th entry read gives exactly those after it */
	for (k = 0; k < first.n; k++) {
		int want[NFIX + 1];

		for (n = 0; k + 1 + n < 6; n++)
			want[n] = all[k + 1 + n];
		want[n] = -1;
		memset(&o, 0, sizeof(o));
		o.cursor = first.cursor[k];
		o.from_start = 1; /* the cursor wins */
		read_all(&t, &o, &g);
		assert_indexes(&g, want);
		got_free(&g);
	}

	/* the cursor's entry filtered out: start at the next one that matches */
	{
		static const char *const m[] = { "SYSLOG_IDENTIFIER=sshd" };
		static const int want[] = { 3, -1 };

		memset(&o, 0, sizeof(o));
		o.matches = m;
		o.nmatches = 1;
		o.cursor = first.cursor[1]; /* the sudo entry */
		read_all(&t, &o, &g);
		assert_indexes(&g, want);
		got_free(&g);
	}

	/* a cursor with no entry of its own (only a time between entries 0
	 * and 1): start at the entry after */
	{
		static const int want[] = { 1, 3, 4, 5, 6, -1 };
		char cursor[64];

		snprintf(cursor, sizeof(cursor), "t=%llx",
			 (unsigned long long)(fx_realtime(0) + 500000));
		memset(&o, 0, sizeof(o));
		o.cursor = cursor;
		read_all(&t, &o, &g);
		assert_indexes(&g, want);
		got_free(&g);
	}
	got_free(&first);
	tmp_end(&t);
}

static void test_bad_cursor(void)
{
	struct tmp t;
	struct ls_journal *j = (struct ls_journal *)&t;
	struct ls_journal_opts o = { 0 };
	struct ls_error err;

	tmp_begin(&t);
	write_journal(&t, 0, 2);
	o.directory = t.dir;
	o.cursor = "garbage";
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), LS_EINVAL);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT_EQUAL(err.code, LS_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "invalid journal cursor 'garbage'");
	tmp_end(&t);
}

static void test_bad_matches(void)
{
	static const char *const bad[] = {
		"FOO", "=value", "foo=bar", "1FOO=x", "FO-O=x", "FOO BAR=x",
		"__CURSOR=x", "_HOSTNAME", "",
		"F234567890123456789012345678901234567890123456789012345678901234X=1",
	};
	static const char *const good[] = {
		"FOO=", "_PID=1", "F2_=a=b", "A=\xff\n",
		"F234567890123456789012345678901234567890123456789012345678901234=1",
	};
	struct tmp t;
	struct ls_journal *j;
	struct ls_journal_opts o = { 0 };
	struct ls_error err;
	char quoted[160];
	size_t i;

	tmp_begin(&t);
	write_journal(&t, 0, 1);
	o.directory = t.dir;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m[2] = { "PRIORITY=5", bad[i] };

		o.matches = m;
		o.nmatches = 2;
		memset(&err, 0, sizeof(err));
		j = (struct ls_journal *)&t;
		CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), LS_EINVAL);
		CU_ASSERT_PTR_NULL(j);
		CU_ASSERT_EQUAL(err.code, LS_EINVAL);
		snprintf(quoted, sizeof(quoted), "--journal-match '%s': expected FIELD=value",
			 bad[i]);
		CU_ASSERT(strncmp(err.msg, quoted, strlen(quoted)) == 0);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		o.matches = &good[i];
		o.nmatches = 1;
		CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), 0);
		ls_journal_free(j);
	}
	o.matches = NULL;
	o.nmatches = 0;
	o.unit = "";
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), LS_EINVAL);
	CU_ASSERT_STRING_EQUAL(err.msg, "--journal-unit: empty unit name");
	tmp_end(&t);
}

static void test_bad_directory(void)
{
	struct tmp t;
	struct ls_journal *j = (struct ls_journal *)&t;
	struct ls_journal_opts o = { 0 };
	struct ls_error err;
	char msg[256];
	FILE *f;

	tmp_begin(&t);
	o.directory = tmp_path(&t, "nope");
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), LS_ENOENT);
	CU_ASSERT_PTR_NULL(j);
	snprintf(msg, sizeof(msg),
		 "cannot open journal directory %s: No such file or directory", t.path);
	CU_ASSERT_STRING_EQUAL(err.msg, msg);
	CU_ASSERT_EQUAL(err.code, LS_ENOENT);

	f = fopen(tmp_path(&t, "file"), "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	o.directory = t.path;
	CU_ASSERT_EQUAL(ls_journal_open(&j, &o, &err), LS_EINVAL);
	snprintf(msg, sizeof(msg), "cannot open journal directory %s: Not a directory",
		 t.path);
	CU_ASSERT_STRING_EQUAL(err.msg, msg);
	tmp_end(&t);
}

/* An empty directory is an empty journal, not an error. */
static void test_empty_directory(void)
{
	static const int none[] = { -1 };
	struct tmp t;
	struct got g;
	struct ls_journal_opts o = { 0 };

	tmp_begin(&t);
	o.from_start = 1;
	read_all(&t, &o, &g);
	assert_indexes(&g, none);
	o.from_start = 0;
	o.tail_lines = 10;
	read_all(&t, &o, &g);
	assert_indexes(&g, none);
	tmp_end(&t);
}

/* Binary and long messages come back whole (check_entry compares bytes). */
static void test_message_bytes(void)
{
	static const int want[] = { 5, 6, -1 };
	struct tmp t;
	struct ls_journal *j;
	struct ls_journal_opts o = { 0 };
	struct ls_journal_entry e;
	struct ls_error err;

	tmp_begin(&t);
	write_journal(&t, 0, NFIX);
	o.directory = t.dir;
	o.tail_lines = 2;
	CU_ASSERT_FATAL(ls_journal_open(&j, &o, &err) == 0);
	CU_ASSERT_EQUAL_FATAL(ls_journal_next(j, &e, &err), 1);
	CU_ASSERT_EQUAL(check_entry(&e), want[0]);
	CU_ASSERT_EQUAL(e.message_len, 16);
	CU_ASSERT(memcmp(e.message, "bin\0ary \xff\xfe\xc3( end", 16) == 0);
	CU_ASSERT_EQUAL_FATAL(ls_journal_next(j, &e, &err), 1);
	CU_ASSERT_EQUAL(check_entry(&e), want[1]);
	CU_ASSERT_EQUAL(e.message_len, LONG_MESSAGE_LEN);
	CU_ASSERT_EQUAL(e.realtime_us, fx_realtime(6));
	CU_ASSERT_EQUAL(ls_journal_next(j, &e, &err), 0);
	ls_journal_free(j);
	tmp_end(&t);
}

/* Opens t->dir at its end (tail 0) or after cursor, checks there is nothing to read, has
 * fixture entries [from, to) appended, and reads them after process(). */
static void follow_case(struct tmp *t, const char *cursor, int from, int to,
			const int *want)
{
	struct ls_journal *j;
	struct ls_journal_opts o = { 0 };
	struct ls_journal_entry e;
	struct ls_error err;
	struct got g;

	o.directory = t->dir;
	o.cursor = cursor;
	CU_ASSERT_FATAL(ls_journal_open(&j, &o, &err) == 0);
	CU_ASSERT(ls_journal_fd(j) >= 0);
	/* a local file system needs no timer */
	CU_ASSERT_EQUAL(ls_journal_timeout_ms(j), -1);
	CU_ASSERT_EQUAL(ls_journal_next(j, &e, &err), 0);
	write_journal(t, from, to);
	ls_journal_process(j);
	memset(&g, 0, sizeof(g));
	drain(j, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	assert_indexes(&g, want);
	got_free(&g);
	ls_journal_free(j);
}

/* At the end, only entries appended later: in a journal file that already
 * has entries, in a directory that had none, with a filter nothing matched
 * yet, and after the cursor of the last entry. */
static void test_follow(void)
{
	static const int want_appended[] = { 4, 5, 6, -1 };
	static const int want_created[] = { 0, 1, -1 };
	static const int want_sudo[] = { 1, -1 };
	static const char *const sudo[] = { "SYSLOG_IDENTIFIER=sudo" };
	struct ls_journal_opts o = { 0 };
	struct ls_journal *j;
	struct ls_error err;
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_journal(&t, 0, 4);
	follow_case(&t, NULL, 4, NFIX, want_appended);
	tmp_end(&t);

	tmp_begin(&t);
	follow_case(&t, NULL, 0, 2, want_created);
	tmp_end(&t);

	tmp_begin(&t);
	write_journal(&t, 0, 1);
	o.directory = t.dir;
	o.matches = sudo;
	o.nmatches = 1;
	o.tail_lines = 10;
	CU_ASSERT_FATAL(ls_journal_open(&j, &o, &err) == 0);
	memset(&g, 0, sizeof(g));
	drain(j, &g);
	CU_ASSERT_EQUAL(g.n, 0);
	write_journal(&t, 1, 4);
	ls_journal_process(j);
	drain(j, &g);
	assert_indexes(&g, want_sudo);
	got_free(&g);
	ls_journal_free(j);

	memset(&o, 0, sizeof(o));
	o.from_start = 1;
	read_all(&t, &o, &g);
	CU_ASSERT_FATAL(g.n == 3);
	follow_case(&t, g.cursor[2], 4, NFIX, want_appended);
	got_free(&g);
	tmp_end(&t);
}

static const struct ls_test_case cases[] = {
	{ "unit and match filters", test_filters },
	{ "last N entries", test_tail },
	{ "resume after a cursor", test_cursor_resume },
	{ "bad cursor", test_bad_cursor },
	{ "bad --journal-match", test_bad_matches },
	{ "missing directory", test_bad_directory },
	{ "empty directory", test_empty_directory },
	{ "binary and long messages", test_message_bytes },
	{ "follow new entries", test_follow },
	{ NULL, NULL }
};

LS_TEST_SUITE(journal, cases);

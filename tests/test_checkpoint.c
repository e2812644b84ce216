/* test_checkpoint.c - shipper/checkpoint.c: the exact file format, round
 * trips of awkward paths and cursors, corrupt files moved aside (one case per
 * kind of damage), the lock, put/find/remove/forget, injected save failures,
 * no-op saves, directory and file modes, the default directory and pipeline
 * names. Every case works in its own mkdtemp directory under /tmp and
 * removes it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "../shipper/checkpoint.h"
#include "unit.h"

#define NAME "ship-0123456789abcdef"

/* ---- temp directory --------------------------------------------------- */

struct tmp {
	char dir[64];
	char path[512];
};

static void tmp_begin(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/ls_ckpt_XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
}

/* Returns t->dir/name in t->path (overwritten by the next call). */
static const char *tmp_path(struct tmp *t, const char *name)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	return t->path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_end(struct tmp *t)
{
	CU_ASSERT(nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The one file in dir whose name starts with prefix: its name in out
 * (size n); returns how many such files there are. */
static int find_prefixed(const char *dir, const char *prefix, char *out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int count = 0;

	CU_ASSERT_FATAL(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		count++;
		snprintf(out, n, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	return count;
}

/* ---- warnings --------------------------------------------------------- */

struct warns {
	int n;
	char msg[2048];
};

static void on_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;

	w->n++;
	snprintf(w->msg, sizeof(w->msg), "%s", msg);
}

/* Opens dir/NAME, which must succeed, collecting warnings into w. */
static struct ls_checkpoint *open_ok(const char *dir, struct warns *w)
{
	struct ls_checkpoint *cp = NULL;
	struct ls_error err = { 0, "" };
	int rc;

	memset(w, 0, sizeof(*w));
	rc = ls_checkpoint_open(&cp, dir, NAME, on_warn, w, &err);
	if (rc != 0)
		fprintf(stderr, "\nopen %s: %s\n", dir, err.msg);
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT_FATAL(cp != NULL);
	return cp;
}

static void save_ok(struct ls_checkpoint *cp)
{
	struct ls_error err = { 0, "" };
	int rc = ls_checkpoint_save(cp, &err);

	if (rc != 0)
		fprintf(stderr, "\nsave: %s\n", err.msg);
	CU_ASSERT_FATAL(rc == 0);
}

/* ---- entries ---------------------------------------------------------- */

static struct ls_ckpt_entry mk(const char *path, uint64_t dev, uint64_t ino,
			       uint64_t offset, int64_t gone_since_ms)
{
	struct ls_ckpt_entry e;

	memset(&e, 0, sizeof(e));
	e.path = path;
	e.dev = dev;
	e.ino = ino;
	e.fingerprint = XXH64(&ino, sizeof(ino), dev);
	e.fp_len = (uint32_t)(ino % 1025);
	e.offset = offset;
	e.size = offset + 17;
	e.last_read_ms = 1700000000000 + (int64_t)ino;
	e.gone_since_ms = gone_since_ms;
	return e;
}

static int same_entry(const struct ls_ckpt_entry *a, const struct ls_ckpt_entry *b)
{
	return a && b && strcmp(a->path, b->path) == 0 && a->dev == b->dev &&
	       a->ino == b->ino && a->fingerprint == b->fingerprint &&
	       a->fp_len == b->fp_len && a->offset == b->offset && a->size == b->size &&
	       a->last_read_ms == b->last_read_ms && a->gone_since_ms == b->gone_since_ms;
}

/* Writes body followed by its correct checksum line. */
static void write_with_checksum(const char *path, const char *body)
{
	size_t n = strlen(body);
	char *all = malloc(n + 64);
	int k;

	CU_ASSERT_FATAL(all != NULL);
	memcpy(all, body, n);
	k = snprintf(all + n, 64, "checksum %016" PRIx64 "\n", XXH64(body, n, 0));
	write_file(path, all, n + (size_t)k);
	free(all);
}

/* ---- cases ------------------------------------------------------------ */

/* The documented format, byte for byte. */
static void test_file_format(void)
{
	static const char body[] =
		"logship-state 1\n"
		"file 2049 131 00000000deadbeef 1024 10 20 1700000000123 0 /var/log/a%20b%25c\n"
		"file 18446744073709551615 7 ffffffffffffffff 0 0 0 -5 1700000000999 /x\xc3\xa9%0A%09%7F\n"
		"cursor s=1%202;i=3\n";
	struct ls_ckpt_entry a = { "/var/log/a b%c", 2049, 131, 0xdeadbeef, 1024, 10, 20,
				   1700000000123, 0 };
	struct ls_ckpt_entry b = { "/x\xc3\xa9\n\t\x7f", UINT64_MAX, 7, UINT64_MAX, 0, 0, 0,
				   -5, 1700000000999 };
	char want[512], *have;
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;
	size_t len;
	int n;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &b), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, "s=1 2;i=3"), 0);
	save_ok(cp);
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_path(cp), tmp_path(&t, NAME ".state"));
	ls_checkpoint_free(cp);

	n = snprintf(want, sizeof(want), "%schecksum %016" PRIx64 "\n", body,
		     XXH64(body, sizeof(body) - 1, 0));
	have = ls_test_read_file(tmp_path(&t, NAME ".state"), &len);
	CU_ASSERT_EQUAL(len, (size_t)n);
	CU_ASSERT_STRING_EQUAL(have, want);
	free(have);

	/* and the same text, written by hand, loads back */
	write_with_checksum(tmp_path(&t, NAME ".state"), body);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 2);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &a));
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 1), &b));
	CU_ASSERT_PTR_NULL(ls_checkpoint_get(cp, 2));
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_cursor(cp), "s=1 2;i=3");
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

static void test_roundtrip_entries(void)
{
	static const char *const paths[] = {
		"/var/log/my app/%41 x\nline\xc3\xa9\xe2\x82\xac\x01\t\x7f\r.log",
		"/var/log/plain.log",
		"",
		"%%%",
		"  leading and trailing  ",
		"/\xff\xfe\x80 raw high bytes",
	};
	const size_t npaths = sizeof(paths) / sizeof(paths[0]);
	struct ls_ckpt_entry e[sizeof(paths) / sizeof(paths[0])];
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;
	size_t i;

	tmp_begin(&t);
	/* a temp file left by a crash is removed by open */
	write_file(tmp_path(&t, NAME ".state.tmp"), "junk", 4);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_FALSE(exists(tmp_path(&t, NAME ".state.tmp")));
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 0);
	CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	for (i = 0; i < npaths; i++) {
		e[i] = mk(paths[i], 64768 + i, 1000 + 7 * i, (uint64_t)1 << (30 + i), 0);
		CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e[i]), 0);
	}
	e[3].gone_since_ms = 1700000001234;
	e[4].last_read_ms = -1;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e[3]), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e[4]), 0);
	save_ok(cp);
	ls_checkpoint_free(cp);

	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL_FATAL(ls_checkpoint_count(cp), npaths);
	for (i = 0; i < npaths; i++) {
		CU_ASSERT(same_entry(ls_checkpoint_get(cp, i), &e[i]));
		CU_ASSERT(ls_checkpoint_find(cp, e[i].dev, e[i].ino) == ls_checkpoint_get(cp, i));
	}
	CU_ASSERT_PTR_NULL(ls_checkpoint_find(cp, 1, 2));
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

static void test_cursor_roundtrip(void)
{
	static const char cursor[] =
		"s=6f1b2c;i=1a2b;b=0ab1;m=5f3e9a;t=5f3e9a00;x=0d4 with space\nand%";
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;
	char *text;
	size_t len;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, cursor), 0);
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_cursor(cp), cursor);
	CU_ASSERT(ls_checkpoint_cursor(cp) != cursor); /* a copy */
	save_ok(cp);
	ls_checkpoint_free(cp);

	text = ls_test_read_file(tmp_path(&t, NAME ".state"), &len);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ncursor s=6f1b2c;i=1a2b;b=0ab1;m=5f3e9a;"
				      "t=5f3e9a00;x=0d4%20with%20space%0Aand%25\n"));
	free(text);

	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls_checkpoint_cursor(cp));
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_cursor(cp), cursor);
	/* an empty cursor is a cursor, distinct from none */
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, ""), 0);
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls_checkpoint_cursor(cp));
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_cursor(cp), "");
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, NULL), 0);
	CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

static void test_modes(void)
{
	struct ls_ckpt_entry e = mk("/var/log/x.log", 1, 2, 3, 0);
	struct ls_checkpoint *cp;
	struct warns w;
	struct stat st;
	struct tmp t;
	char dir[600];
	mode_t old_umask;

	tmp_begin(&t);
	/* created directories, parents too, are 0700 even under a umask that
	 * would leave them unwritable */
	old_umask = umask(0277);
	snprintf(dir, sizeof(dir), "%s/a/b//c/", t.dir);
	cp = open_ok(dir, &w);
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_path(cp), tmp_path(&t, "a/b//c/" NAME ".state"));
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e), 0);
	save_ok(cp);
	umask(old_umask);
	CU_ASSERT_FATAL(stat(tmp_path(&t, "a"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	CU_ASSERT_FATAL(stat(tmp_path(&t, "a/b"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	CU_ASSERT_FATAL(stat(tmp_path(&t, "a/b/c"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0700);
	/* and the files made under that umask are 0600 */
	CU_ASSERT_FATAL(stat(tmp_path(&t, "a/b/c/" NAME ".state"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_FATAL(stat(tmp_path(&t, "a/b/c/" NAME ".lock"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	ls_checkpoint_free(cp);

	/* an existing directory keeps its mode */
	CU_ASSERT_FATAL(mkdir(tmp_path(&t, "shared"), 0755) == 0);
	CU_ASSERT_FATAL(chmod(t.path, 0755) == 0);
	cp = open_ok(t.path, &w);
	ls_checkpoint_free(cp);
	CU_ASSERT_FATAL(stat(tmp_path(&t, "shared"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
	tmp_end(&t);
}

static void test_open_errors(void)
{
	static const char *const bad_names[] = {
		"", "a/b", "../x", "a b", "x\n", "caf\xc3\xa9", NULL
	};
	struct ls_checkpoint *cp;
	struct ls_error err;
	char longname[202], dir[600];
	struct tmp t;

	tmp_begin(&t);
	for (int i = 0; bad_names[i]; i++) {
		cp = (struct ls_checkpoint *)1;
		CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, t.dir, bad_names[i], NULL, NULL, &err),
				LS_EINVAL);
		CU_ASSERT_PTR_NULL(cp);
	}
	memset(longname, 'n', 201);
	longname[201] = '\0';
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, t.dir, longname, NULL, NULL, &err), LS_EINVAL);
	longname[200] = '\0';
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, t.dir, longname, NULL, NULL, &err), 0);
	ls_checkpoint_free(cp);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, "", NAME, NULL, NULL, &err), LS_EINVAL);

	/* the directory is a file, or lies below one */
	write_file(tmp_path(&t, "file"), "x", 1);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, t.path, NAME, NULL, NULL, &err), LS_EIO);
	CU_ASSERT_PTR_NULL(cp);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, t.path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, strerror(ENOTDIR)));
	snprintf(dir, sizeof(dir), "%s/file/sub", t.dir);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, dir, NAME, NULL, NULL, &err), LS_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, strerror(ENOTDIR)));
	CU_ASSERT_FALSE(exists(tmp_path(&t, "file/sub")));

	/* the state file is a directory: an error, not "corrupt" */
	CU_ASSERT_FATAL(mkdir(tmp_path(&t, NAME ".state"), 0700) == 0);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&cp, t.dir, NAME, NULL, NULL, &err), LS_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, t.path));
	tmp_end(&t);
}

/* ---- corrupt files ---------------------------------------------------- */

enum damage {
	FLIP_BYTE,      /* flip one bit in the middle of a good file */
	CUT_TAIL,       /* drop the last 10 bytes */
	CUT_CHECKSUM,   /* drop the whole checksum line */
	SPARSE_OVER,    /* a file over the 256 MiB limit */
	RAW,            /* text as given */
	SUMMED          /* text plus a correct checksum line */
};

struct corrupt_case {
	const char *what;
	enum damage damage;
	const char *text;
	const char *reason;  /* expected in the warning */
};

static const struct corrupt_case corrupt_cases[] = {
	{ "flipped byte", FLIP_BYTE, NULL, "checksum mismatch" },
	{ "truncated", CUT_TAIL, NULL, "truncated" },
	{ "no checksum line", CUT_CHECKSUM, NULL, "no checksum line" },
	{ "too large", SPARSE_OVER, NULL, "larger than 256 MiB" },
	{ "empty", RAW, "", "empty file" },
	{ "not ours", RAW, "hello\nworld\n", "bad first line" },
	{ "header only", RAW, "logship-state 1\n", "no checksum line" },
	{ "version 2", SUMMED, "logship-state 2\nfile 1 2 0000000000000000 0 0 0 0 0 /a\n",
	  "unsupported version '2'" },
	{ "bad number", SUMMED, "logship-state 1\nfile 1 x2 0000000000000000 0 0 0 0 0 /a\n",
	  "line 2: bad inode 'x2'" },
	{ "overflow", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 "
	  "18446744073709551616 0 0 0 /a\n", "bad offset" },
	{ "short hex", SUMMED, "logship-state 1\nfile 1 2 00000000 0 0 0 0 0 /a\n",
	  "bad fingerprint '00000000'" },
	{ "fp_len > 1024", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 1025 0 0 0 0 /a\n",
	  "bad fingerprint length" },
	{ "too few fields", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 0 0 0\n",
	  "too few fields" },
	{ "double space", SUMMED, "logship-state 1\nfile 1  2 0000000000000000 0 0 0 0 0 /a\n",
	  "line 2" },
	{ "unknown record", SUMMED, "logship-state 1\nfrob 1\n", "unknown record 'frob 1'" },
	{ "duplicate", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 0 0 0 0 /a\n"
	  "file 1 2 0000000000000000 0 5 5 0 0 /b\n", "listed twice" },
	{ "bad escape", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 0 0 0 0 /a%zz\n",
	  "badly encoded path" },
	{ "short escape", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 0 0 0 0 /a%4\n",
	  "badly encoded path" },
	{ "escaped NUL", SUMMED, "logship-state 1\ncursor a%00b\n", "badly encoded cursor" },
	{ "raw tab", SUMMED, "logship-state 1\nfile 1 2 0000000000000000 0 0 0 0 0 /a\tb\n",
	  "badly encoded path" },
	{ "two cursors", SUMMED, "logship-state 1\ncursor a\ncursor b\n", "second cursor" },
	{ "record after checksum", RAW, "logship-state 1\nchecksum 0000000000000000\n"
	  "cursor a\n", "no checksum line" },
};

/* Saves a good state with two entries and a cursor in dir; returns its
 * bytes (caller frees). */
static char *good_state(struct tmp *t, size_t *len)
{
	struct ls_ckpt_entry a = mk("/var/log/a.log", 1, 10, 100, 0);
	struct ls_ckpt_entry b = mk("/var/log/b.log", 1, 11, 200, 0);
	struct ls_checkpoint *cp;
	struct warns w;

	cp = open_ok(t->dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &b), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, "s=1"), 0);
	save_ok(cp);
	ls_checkpoint_free(cp);
	return ls_test_read_file(tmp_path(t, NAME ".state"), len);
}

static void run_corrupt_case(const struct corrupt_case *c)
{
	struct ls_ckpt_entry e = mk("/var/log/new.log", 5, 6, 7, 0);
	char aside[600], state[600], *bad, *moved;
	size_t bad_len, moved_len;
	struct ls_checkpoint *cp;
	struct stat st;
	struct warns w;
	struct tmp t;
	int fd;

	tmp_begin(&t);
	snprintf(state, sizeof(state), "%s/%s.state", t.dir, NAME);
	bad = good_state(&t, &bad_len);
	switch (c->damage) {
	case FLIP_BYTE:
		bad[bad_len / 2] ^= 0x01;
		write_file(state, bad, bad_len);
		break;
	case CUT_TAIL:
		bad_len -= 10;
		write_file(state, bad, bad_len);
		break;
	case CUT_CHECKSUM:
		bad_len -= strlen("checksum 0123456789abcdef\n");
		CU_ASSERT_EQUAL(bad[bad_len - 1], '\n');
		write_file(state, bad, bad_len);
		break;
	case SPARSE_OVER:
		fd = open(state, O_WRONLY | O_TRUNC);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_FATAL(ftruncate(fd, (off_t)257 << 20) == 0);
		close(fd);
		break;
	case RAW:
		write_file(state, c->text, strlen(c->text));
		break;
	case SUMMED:
		write_with_checksum(state, c->text);
		break;
	}
	if (c->damage == RAW || c->damage == SUMMED) {
		free(bad);
		bad = ls_test_read_file(state, &bad_len);
	}

	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 0);
	CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_EQUAL(find_prefixed(t.dir, NAME ".state.corrupt-", aside, sizeof(aside)), 1);
	CU_ASSERT_FALSE(exists(state));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.msg, state));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.msg, aside));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.msg, "without state"));
	CU_ASSERT_PTR_NOT_NULL(strstr(w.msg, c->reason));
	if (w.n != 1 || !strstr(w.msg, c->reason))
		fprintf(stderr, "\ncase '%s': %d warnings, last: %s\n", c->what, w.n, w.msg);
	/* the name is NAME.state.corrupt-YYYYmmddTHHMMSSZ */
	CU_ASSERT_EQUAL(strlen(aside), strlen(state) + strlen(".corrupt-20240101T000000Z"));
	CU_ASSERT_EQUAL(aside[strlen(aside) - 1], 'Z');
	if (c->damage == SPARSE_OVER) {
		CU_ASSERT(stat(aside, &st) == 0 && st.st_size == (off_t)257 << 20);
	} else {
		moved = ls_test_read_file(aside, &moved_len);
		CU_ASSERT_EQUAL(moved_len, bad_len);
		CU_ASSERT(memcmp(moved, bad, bad_len) == 0);
		free(moved);
	}
	/* the run goes on: a new state saves and loads cleanly */
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e), 0);
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 1);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &e));
	ls_checkpoint_free(cp);
	free(bad);
	tmp_end(&t);
}

static void test_corrupt_moved_aside(void)
{
	for (size_t i = 0; i < sizeof(corrupt_cases) / sizeof(corrupt_cases[0]); i++)
		run_corrupt_case(&corrupt_cases[i]);
}

/* A second damaged file in the same second gets a -1 suffix; the earlier
 * one is kept. */
static void test_corrupt_name_taken(void)
{
	char stamp[32], name[256], aside[600], *moved;
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;
	struct tm tm;
	time_t now = time(NULL);
	size_t len;

	tmp_begin(&t);
	/* both this second and the next, in case the clock ticks */
	for (int k = 0; k < 2; k++) {
		time_t at = now + k;
		gmtime_r(&at, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(name, sizeof(name), "%s.state.corrupt-%s", NAME, stamp);
		write_file(tmp_path(&t, name), "earlier", 7);
	}
	write_file(tmp_path(&t, NAME ".state"), "garbage\n", 8);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_EQUAL(find_prefixed(t.dir, NAME ".state.corrupt-", aside, sizeof(aside)), 3);
	ls_checkpoint_free(cp);
	/* the new one is the only name ending in -1 */
	snprintf(name, sizeof(name), "%s.state.corrupt-%s", NAME, stamp);
	aside[0] = '\0';
	{
		DIR *d = opendir(t.dir);
		struct dirent *e;
		int found = 0;
		CU_ASSERT_FATAL(d != NULL);
		while ((e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name);
			if (strncmp(e->d_name, NAME ".state.corrupt-", strlen(NAME ".state.corrupt-")) != 0)
				continue;
			moved = ls_test_read_file(tmp_path(&t, e->d_name), &len);
			if (n > 2 && strcmp(e->d_name + n - 2, "-1") == 0) {
				found++;
				CU_ASSERT_STRING_EQUAL(moved, "garbage\n");
				CU_ASSERT_PTR_NOT_NULL(strstr(w.msg, t.path));
			} else {
				CU_ASSERT_STRING_EQUAL(moved, "earlier");
			}
			free(moved);
		}
		closedir(d);
		CU_ASSERT_EQUAL(found, 1);
	}
	tmp_end(&t);
}

/* ---- lock ------------------------------------------------------------- */

static void test_lock(void)
{
	struct ls_checkpoint *a, *b, *other;
	struct ls_error err;
	struct warns w;
	struct tmp t;
	char want[64], *text;
	size_t len;
	int fd;

	tmp_begin(&t);
	a = open_ok(t.dir, &w);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	text = ls_test_read_file(tmp_path(&t, NAME ".lock"), &len);
	CU_ASSERT_STRING_EQUAL(text, want);
	free(text);

	/* a second open is a separate open file description: flock conflicts */
	b = (struct ls_checkpoint *)1;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_checkpoint_open(&b, t.dir, NAME, on_warn, &w, &err), LS_EBUSY);
	CU_ASSERT_EQUAL(err.code, LS_EBUSY);
	CU_ASSERT_PTR_NULL(b);
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, tmp_path(&t, NAME ".state")));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "in use by another logship"));

	/* a holder that has not written its pid yet */
	fd = open(tmp_path(&t, NAME ".lock"), O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&b, t.dir, NAME, NULL, NULL, &err), LS_EBUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "pid unknown"));

	/* another pipeline shares the directory */
	CU_ASSERT_EQUAL(ls_checkpoint_open(&other, t.dir, "tail-1", NULL, NULL, &err), 0);
	ls_checkpoint_free(other);

	/* a lock taken with flock() by someone else entirely */
	ls_checkpoint_free(a);
	fd = open(tmp_path(&t, NAME ".lock"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(flock(fd, LOCK_EX | LOCK_NB) == 0);
	CU_ASSERT_EQUAL(ls_checkpoint_open(&b, t.dir, NAME, NULL, NULL, &err), LS_EBUSY);
	close(fd);

	/* released: opens again */
	b = open_ok(t.dir, &w);
	ls_checkpoint_free(b);
	tmp_end(&t);
}

/* ---- the table -------------------------------------------------------- */

static void test_put_find_remove(void)
{
	struct ls_ckpt_entry a = mk("/a", 1, 1, 10, 0), b = mk("/b", 1, 2, 20, 0);
	struct ls_ckpt_entry c = mk("/c", 2, 1, 30, 0), big = mk("/big", 9, 9, 0, 0);
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;
	char path[32];
	enum { MANY = 3000 };

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &b), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &c), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 3);

	/* replace in place; the path is copied */
	snprintf(path, sizeof(path), "/b.renamed");
	b.path = path;
	b.offset = 25;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &b), 0);
	path[0] = 'X';
	b.path = "/b.renamed";
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 3);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 1), &b));
	CU_ASSERT(same_entry(ls_checkpoint_find(cp, 1, 2), &b));

	/* remove keeps the others' order */
	ls_checkpoint_remove(cp, 1, 2);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 2);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &a));
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 1), &c));
	CU_ASSERT_PTR_NULL(ls_checkpoint_find(cp, 1, 2));
	CU_ASSERT(same_entry(ls_checkpoint_find(cp, 2, 1), &c));
	ls_checkpoint_remove(cp, 7, 7);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 2);

	/* fp_len over 1024 is refused, NULL path stored as "" */
	big.fp_len = 1025;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &big), LS_EINVAL);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 2);
	big.fp_len = 1024;
	big.path = NULL;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &big), 0);
	CU_ASSERT_STRING_EQUAL(ls_checkpoint_find(cp, 9, 9)->path, "");
	ls_checkpoint_remove(cp, 9, 9);
	ls_checkpoint_remove(cp, 1, 1);
	ls_checkpoint_remove(cp, 2, 1);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 0);

	/* many entries: the index grows, removes rebuild it */
	for (int i = 0; i < MANY; i++) {
		struct ls_ckpt_entry e;
		snprintf(path, sizeof(path), "/var/log/f%d.log", i);
		e = mk(path, (uint64_t)i % 7, (uint64_t)i * 31, (uint64_t)i, 0);
		CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e), 0);
	}
	for (int i = 0; i < MANY; i += 3)
		ls_checkpoint_remove(cp, (uint64_t)i % 7, (uint64_t)i * 31);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), MANY - MANY / 3);
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL_FATAL(ls_checkpoint_count(cp), MANY - MANY / 3);
	{
		size_t k = 0, bad = 0;
		for (int i = 0; i < MANY; i++) {
			const struct ls_ckpt_entry *f = ls_checkpoint_find(cp, (uint64_t)i % 7,
									   (uint64_t)i * 31);
			struct ls_ckpt_entry e;
			snprintf(path, sizeof(path), "/var/log/f%d.log", i);
			e = mk(path, (uint64_t)i % 7, (uint64_t)i * 31, (uint64_t)i, 0);
			if (i % 3 == 0) {
				bad += f != NULL;
				continue;
			}
			bad += !same_entry(f, &e) || f != ls_checkpoint_get(cp, k);
			k++;
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

static void test_forget(void)
{
	const int64_t now = 1700000000000, after = 5000;
	struct ls_ckpt_entry e[] = {
		mk("/present", 1, 1, 1, 0),
		mk("/long-gone", 1, 2, 1, now - 10000),
		mk("/exactly", 1, 3, 1, now - after),
		mk("/recent", 1, 4, 1, now - after + 1),
		mk("/just-over", 1, 5, 1, now - after - 1),
		mk("/future", 1, 6, 1, now + 100000),
		mk("/epoch", 1, 7, 1, INT64_MIN),
	};
	struct ls_checkpoint *cp;
	struct warns w;
	struct tmp t;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++)
		CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &e[i]), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_forget(cp, now, after), 3);
	CU_ASSERT_EQUAL_FATAL(ls_checkpoint_count(cp), 4);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &e[0]));
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 1), &e[2]));
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 2), &e[3]));
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 3), &e[5]));
	CU_ASSERT_PTR_NULL(ls_checkpoint_find(cp, 1, 2));
	CU_ASSERT_PTR_NULL(ls_checkpoint_find(cp, 1, 5));
	CU_ASSERT_PTR_NULL(ls_checkpoint_find(cp, 1, 7));
	CU_ASSERT(same_entry(ls_checkpoint_find(cp, 1, 4), &e[3]));
	CU_ASSERT_EQUAL(ls_checkpoint_forget(cp, now, after), 0);
	/* the present file is never forgotten, however late */
	CU_ASSERT_EQUAL(ls_checkpoint_forget(cp, INT64_MAX, 0), 3);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 1);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &e[0]));
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 1);
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

/* ---- saving ----------------------------------------------------------- */

struct fail_case {
	int step;
	const char *what;  /* "<step> <path>" as the message says it */
	int err_no;
	int replaced;      /* the new file is in place despite the error */
};

static void run_fail_case(const struct fail_case *c)
{
	struct ls_ckpt_entry a = mk("/var/log/a.log", 1, 10, 100, 0);
	struct ls_ckpt_entry b = mk("/var/log/b.log", 1, 11, 200, 0);
	char want[700], *before, *after;
	size_t before_len, after_len;
	struct ls_checkpoint *cp;
	struct ls_error err;
	struct warns w;
	struct tmp t;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	save_ok(cp);
	before = ls_test_read_file(tmp_path(&t, NAME ".state"), &before_len);

	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &b), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, "c"), 0);
	ls_checkpoint_fail_step_for_test(c->step);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_checkpoint_save(cp, &err), LS_EIO);
	CU_ASSERT_EQUAL(err.code, LS_EIO);
	snprintf(want, sizeof(want), "cannot save state %s/%s.state: ", t.dir, NAME);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
	if (c->step == LS_CKPT_FAIL_DIR_FSYNC)
		snprintf(want, sizeof(want), "%s %s: %s", c->what, t.dir, strerror(c->err_no));
	else
		snprintf(want, sizeof(want), "%s %s/%s.state.tmp: %s", c->what, t.dir, NAME,
			 strerror(c->err_no));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
	if (!strstr(err.msg, want))
		fprintf(stderr, "\nstep %d: got '%s', want '%s'\n", c->step, err.msg, want);
	CU_ASSERT_FALSE(exists(tmp_path(&t, NAME ".state.tmp")));

	after = ls_test_read_file(tmp_path(&t, NAME ".state"), &after_len);
	if (c->replaced) {
		CU_ASSERT(after_len > before_len);
	} else {
		CU_ASSERT_EQUAL(after_len, before_len);
		CU_ASSERT(memcmp(after, before, before_len) == 0);
	}
	free(after);
	ls_checkpoint_free(cp);

	/* what is on disk loads cleanly: the old state, or the complete new one */
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), c->replaced ? 2 : 1);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &a));
	if (c->replaced) {
		CU_ASSERT_STRING_EQUAL(ls_checkpoint_cursor(cp), "c");
	} else {
		CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	}
	ls_checkpoint_free(cp);
	free(before);
	tmp_end(&t);
}

static void test_save_failures(void)
{
	static const struct fail_case cases[] = {
		{ LS_CKPT_FAIL_WRITE, "write", ENOSPC, 0 },
		{ LS_CKPT_FAIL_FSYNC, "fsync", EIO, 0 },
		{ LS_CKPT_FAIL_RENAME, "rename", EACCES, 0 },
		{ LS_CKPT_FAIL_DIR_FSYNC, "fsync directory", EIO, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_fail_case(&cases[i]);
}

/* A failed save leaves the state changed: the next one writes it. */
static void test_save_retry(void)
{
	struct ls_ckpt_entry a = mk("/var/log/a.log", 1, 10, 100, 0);
	struct ls_checkpoint *cp;
	struct ls_error err;
	struct warns w;
	struct tmp t;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	ls_checkpoint_fail_step_for_test(LS_CKPT_FAIL_WRITE);
	CU_ASSERT_EQUAL(ls_checkpoint_save(cp, &err), LS_EIO);
	CU_ASSERT_FALSE(exists(tmp_path(&t, NAME ".state")));
	CU_ASSERT_FALSE(exists(tmp_path(&t, NAME ".state.tmp")));
	save_ok(cp); /* the injection was one-shot */
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 1);
	CU_ASSERT(same_entry(ls_checkpoint_get(cp, 0), &a));
	/* a no-op save does not use up an injected failure */
	ls_checkpoint_fail_step_for_test(LS_CKPT_FAIL_FSYNC);
	save_ok(cp);
	a.offset++;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_save(cp, &err), LS_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "fsync "));
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

static void stat_state(struct tmp *t, struct stat *st)
{
	CU_ASSERT_FATAL(stat(tmp_path(t, NAME ".state"), st) == 0);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_size == b->st_size;
}

/* Each rewrite renames a new temp file, created while the old file still
 * exists, so a rewrite always shows as a new inode. */
static void test_save_unchanged(void)
{
	struct ls_ckpt_entry a = mk("/var/log/a.log", 1, 10, 100, 0);
	struct ls_checkpoint *cp;
	struct stat s1, s2;
	struct warns w;
	struct tmp t;

	tmp_begin(&t);
	cp = open_ok(t.dir, &w);
	save_ok(cp); /* empty and unchanged: nothing to write */
	CU_ASSERT_FALSE(exists(tmp_path(&t, NAME ".state")));
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	save_ok(cp);
	stat_state(&t, &s1);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT(same_file(&s1, &s2));

	/* putting the same values, setting the same cursor: unchanged */
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, NULL), 0);
	ls_checkpoint_remove(cp, 99, 99);
	CU_ASSERT_EQUAL(ls_checkpoint_forget(cp, INT64_MAX, 0), 0);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT(same_file(&s1, &s2));
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, "c1"), 0);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT_NOT_EQUAL(s1.st_ino, s2.st_ino);
	s1 = s2;
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, "c1"), 0);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT(same_file(&s1, &s2));
	ls_checkpoint_free(cp);

	/* a state just loaded is not rewritten */
	cp = open_ok(t.dir, &w);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT(same_file(&s1, &s2));
	a.offset = 150;
	CU_ASSERT_EQUAL(ls_checkpoint_put(cp, &a), 0);
	save_ok(cp);
	stat_state(&t, &s2);
	CU_ASSERT_NOT_EQUAL(s1.st_ino, s2.st_ino);

	/* emptied: written as an empty state, which loads */
	ls_checkpoint_remove(cp, 1, 10);
	CU_ASSERT_EQUAL(ls_checkpoint_set_cursor(cp, NULL), 0);
	save_ok(cp);
	ls_checkpoint_free(cp);
	cp = open_ok(t.dir, &w);
	CU_ASSERT_EQUAL(w.n, 0);
	CU_ASSERT_EQUAL(ls_checkpoint_count(cp), 0);
	CU_ASSERT_PTR_NULL(ls_checkpoint_cursor(cp));
	ls_checkpoint_free(cp);
	tmp_end(&t);
}

/* ---- default directory ------------------------------------------------ */

struct dd_case {
	const char *xdg, *home;  /* NULL: unset */
	size_t bufsize;
	const char *want;        /* NULL: no directory */
};

static const struct dd_case dd_cases[] = {
	{ "/xs", "/home/u", 256, "/xs/logship" },
	{ "/xs", NULL, 256, "/xs/logship" },
	{ NULL, "/home/u", 256, "/home/u/.local/state/logship" },
	{ "", "/home/u", 256, "/home/u/.local/state/logship" },
	{ "relative/dir", "/home/u", 256, "/home/u/.local/state/logship" },
	{ NULL, NULL, 256, NULL },
	{ NULL, "", 256, NULL },
	{ NULL, "/home/u", 28, NULL },  /* needs 29 bytes */
	{ NULL, "/home/u", 29, "/home/u/.local/state/logship" },
};
#define DD_N (sizeof(dd_cases) / sizeof(dd_cases[0]))

static void set_env(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* Runs every case (as the current user), one result per line in out. */
static void dd_run(char *out, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < DD_N; i++) {
		char buf[256];
		const char *got;
		set_env("XDG_STATE_HOME", dd_cases[i].xdg);
		set_env("HOME", dd_cases[i].home);
		got = ls_checkpoint_default_dir(buf, dd_cases[i].bufsize);
		used += (size_t)snprintf(out + used, n - used, "%s\n", got ? got : "(none)");
	}
}

static void test_default_dir(void)
{
	char *saved_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
	char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char want[2048], got[2048], buf[64];
	size_t used = 0;

	for (size_t i = 0; i < DD_N; i++)
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s\n",
					 dd_cases[i].want ? dd_cases[i].want : "(none)");
	if (geteuid() == 0) {
		int fds[2], status;
		ssize_t n, total = 0;
		pid_t pid;

		/* root: /var/lib/logship whatever the environment */
		set_env("XDG_STATE_HOME", "/xs");
		set_env("HOME", "/root");
		CU_ASSERT_STRING_EQUAL(ls_checkpoint_default_dir(buf, sizeof(buf)), "/var/lib/logship");
		set_env("XDG_STATE_HOME", NULL);
		set_env("HOME", NULL);
		CU_ASSERT_STRING_EQUAL(ls_checkpoint_default_dir(buf, sizeof(buf)), "/var/lib/logship");
		CU_ASSERT_PTR_NULL(ls_checkpoint_default_dir(buf, 16));
		CU_ASSERT_PTR_NOT_NULL(ls_checkpoint_default_dir(buf, 17));

		/* the other cases in a child that drops to nobody */
		CU_ASSERT_FATAL(pipe(fds) == 0);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			if (setgid(65534) != 0 || setuid(65534) != 0 || geteuid() == 0)
				_exit(3);
			dd_run(got, sizeof(got));
			if (write(fds[1], got, strlen(got)) != (ssize_t)strlen(got))
				_exit(4);
			_exit(0);
		}
		close(fds[1]);
		while (total < (ssize_t)sizeof(got) - 1 &&
		       (n = read(fds[0], got + total, sizeof(got) - 1 - (size_t)total)) > 0)
			total += n;
		got[total] = '\0';
		close(fds[0]);
		CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	} else {
		dd_run(got, sizeof(got));
	}
	CU_ASSERT_STRING_EQUAL(got, want);
	set_env("XDG_STATE_HOME", saved_xdg);
	set_env("HOME", saved_home);
	free(saved_xdg);
	free(saved_home);
}

/* ---- pipeline names --------------------------------------------------- */

static void test_pipeline_name(void)
{
	static const char *const ab[] = { "/var/log/a.log", "/var/log/b.log" };
	static const char *const ba[] = { "/var/log/b.log", "/var/log/a.log" };
	static const char *const one_a[] = { "a" };
	static const char *const a_b[] = { "a", "b" };
	static const char *const a_space_b[] = { "a b" };
	char n1[64], n2[64], want[64];
	const char *r;
	uint64_t h;

	r = ls_checkpoint_pipeline_name("ship", ab, 2, "clickhouse://db/t", n1, sizeof(n1));
	CU_ASSERT_PTR_EQUAL(r, n1);
	CU_ASSERT_EQUAL(strlen(n1), strlen("ship-") + 16);
	CU_ASSERT_EQUAL(strncmp(n1, "ship-", 5), 0);
	CU_ASSERT_EQUAL(strspn(n1 + 5, "0123456789abcdef"), 16);
	ls_checkpoint_pipeline_name("ship", ba, 2, "clickhouse://db/t", n2, sizeof(n2));
	CU_ASSERT_STRING_EQUAL(n1, n2);
	ls_checkpoint_pipeline_name("ship", ab, 2, "clickhouse://db/u", n2, sizeof(n2));
	CU_ASSERT_STRING_NOT_EQUAL(n1, n2);
	ls_checkpoint_pipeline_name("tail", ab, 2, NULL, n1, sizeof(n1));
	CU_ASSERT_EQUAL(strncmp(n1, "tail-", 5), 0);
	ls_checkpoint_pipeline_name("tail", ab, 2, "", n2, sizeof(n2));
	CU_ASSERT_STRING_NOT_EQUAL(n1, n2);
	ls_checkpoint_pipeline_name("tail", ab, 1, NULL, n2, sizeof(n2));
	CU_ASSERT_STRING_NOT_EQUAL(n1, n2);

	/* no two lists hash the same bytes */
	ls_checkpoint_pipeline_name("tail", a_b, 2, NULL, n1, sizeof(n1));
	ls_checkpoint_pipeline_name("tail", one_a, 1, "b", n2, sizeof(n2));
	CU_ASSERT_STRING_NOT_EQUAL(n1, n2);
	ls_checkpoint_pipeline_name("tail", a_space_b, 1, NULL, n2, sizeof(n2));
	CU_ASSERT_STRING_NOT_EQUAL(n1, n2);

	/* the documented bytes: command, count, sorted inputs, sink, each + NUL */
	h = XXH64("ship\0" "2\0" "a\0" "b\0" "s\0", 13, 0);
	snprintf(want, sizeof(want), "ship-%016" PRIx64, h);
	ls_checkpoint_pipeline_name("ship", (const char *const[]){ "b", "a" }, 2, "s",
				    n1, sizeof(n1));
	CU_ASSERT_STRING_EQUAL(n1, want);
	h = XXH64("tail\0" "0\0", 7, 0);
	snprintf(want, sizeof(want), "tail-%016" PRIx64, h);
	ls_checkpoint_pipeline_name("tail", NULL, 0, NULL, n1, sizeof(n1));
	CU_ASSERT_STRING_EQUAL(n1, want);

	/* too small a buffer */
	CU_ASSERT_PTR_NULL(ls_checkpoint_pipeline_name("ship", ab, 2, "s", n1, 21));
	CU_ASSERT_PTR_NOT_NULL(ls_checkpoint_pipeline_name("ship", ab, 2, "s", n1, 22));
}

static const struct ls_test_case cases[] = {
	{ "file format", test_file_format },
	{ "round trip of entries", test_roundtrip_entries },
	{ "round trip of the cursor", test_cursor_roundtrip },
	{ "directory and file modes", test_modes },
	{ "open errors", test_open_errors },
	{ "corrupt files moved aside", test_corrupt_moved_aside },
	{ "corrupt name taken", test_corrupt_name_taken },
	{ "lock", test_lock },
	{ "put find remove", test_put_find_remove },
	{ "forget", test_forget },
	{ "injected save failures", test_save_failures },
	{ "save retried after a failure", test_save_retry },
	{ "save of an unchanged state", test_save_unchanged },
	{ "default directory", test_default_dir },
	{ "pipeline name", test_pipeline_name },
	{ NULL, NULL }
};

LS_TEST_SUITE(checkpoint, cases)

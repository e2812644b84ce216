/* test_glob.c - shipper/glob.c: matching one path against one pattern
 * (`*`, `?`, classes, escapes, `**` anywhere), patterns refused, base
 * directories, excludes, directories wanted, and scans of a real tree with
 * nested directories, symlinks to files and directories, symlink loops, a
 * chain of symlinked directories deeper than the limit, an unreadable
 * directory and overlapping patterns. Every scan case works in its own
 * mkdtemp directory under /tmp and removes it; results are sorted before
 * they are compared, since readdir order is the file system's. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../shipper/glob.h"
#include "unit.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- temp directory --------------------------------------------------- */

struct tmp {
	char dir[64];
};

static void tmp_begin(struct tmp *t)
{
	size_t n = (size_t)snprintf(t->dir, sizeof(t->dir), "/tmp/ls_glob_");

	memset(t->dir + n, 'X', 6);
	t->dir[n + 6] = '\0';
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
}

/* Removes path and everything below it without following symlinks. */
static void rm_tree(const char *path)
{
	struct stat st;
	struct dirent *e;
	char child[1024];
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		CU_ASSERT(unlink(path) == 0);
		return;
	}
	chmod(path, 0700);
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			rm_tree(child);
		}
		closedir(d);
	}
	CU_ASSERT(rmdir(path) == 0);
}

static void tmp_end(struct tmp *t)
{
	rm_tree(t->dir);
}

/* t->dir/rel in buf. */
static const char *at(const struct tmp *t, const char *rel, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", t->dir, rel);
	return buf;
}

static void make_dir(const struct tmp *t, const char *rel)
{
	char p[512];

	CU_ASSERT_FATAL(mkdir(at(t, rel, p, sizeof(p)), 0755) == 0);
}

static void make_file(const struct tmp *t, const char *rel)
{
	char p[512];
	FILE *f = fopen(at(t, rel, p, sizeof(p)), "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs("line\n", f);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void make_link(const struct tmp *t, const char *target, const char *rel)
{
	char p[512];

	CU_ASSERT_FATAL(symlink(target, at(t, rel, p, sizeof(p))) == 0);
}

/* The tree most scans run on:
 *   top.log
 *   logs/{a.log, b.txt, .hidden.log}
 *   logs/app/{app.log, x.log}, logs/app/deep/{d.log, e.gz}
 *   logs/old/{o.log, app.log}
 *   logs/link.log -> app/app.log      a symlink to a file
 *   logs/linkdir -> app               a symlink to a directory
 *   logs/loop -> .                    a symlink loop
 *   logs/gone.log -> nowhere.log      a dangling symlink
 *   logs/pipe.log                     a FIFO, not a regular file
 *   ring/a/{f.log, tob -> ../b}, ring/b/{g.log, toa -> ../a}
 *   br/[x].log, br/[d]/in.log         names with pattern characters */
static void make_tree(const struct tmp *t)
{
	static const char *const dirs[] = {
		"logs", "logs/app", "logs/app/deep", "logs/old", "ring", "ring/a",
		"ring/b", "br", "br/[d]"
	};
	static const char *const files[] = {
		"top.log", "logs/a.log", "logs/b.txt", "logs/.hidden.log",
		"logs/app/app.log", "logs/app/x.log", "logs/app/deep/d.log",
		"logs/app/deep/e.gz", "logs/old/o.log", "logs/old/app.log",
		"ring/a/f.log", "ring/b/g.log", "br/[x].log", "br/[d]/in.log"
	};
	static const char *const links[][2] = {
		{ "app/app.log", "logs/link.log" }, { "app", "logs/linkdir" },
		{ ".", "logs/loop" }, { "nowhere.log", "logs/gone.log" },
		{ "../b", "ring/a/tob" }, { "../a", "ring/b/toa" }
	};
	char p[512];
	size_t i;

	for (i = 0; i < COUNT(dirs); i++)
		make_dir(t, dirs[i]);
	for (i = 0; i < COUNT(files); i++)
		make_file(t, files[i]);
	for (i = 0; i < COUNT(links); i++)
		make_link(t, links[i][0], links[i][1]);
	CU_ASSERT_FATAL(mkfifo(at(t, "logs/pipe.log", p, sizeof(p)), 0644) == 0);
}

/* ---- collected results ------------------------------------------------ */

#define MAX_SEEN 256

struct seen {
	char *paths[MAX_SEEN];
	int n;
};

/* What a scan reported; paths below the temp dir are kept relative to it
 * ("." for the temp dir itself) so that expected lists read well. */
struct got {
	const struct tmp *t;
	struct seen files, dirs;
	int bad_stat;           /* file_fn given a stat that is not a regular file */
	int stop_after;         /* file_fn returns -42 at this call (0: never) */
};

static void seen_add(struct got *g, struct seen *s, const char *path)
{
	size_t dl = g->t ? strlen(g->t->dir) : 0;

	if (g->t && strncmp(path, g->t->dir, dl) == 0) {
		if (path[dl] == '/')
			path += dl + 1;
		else if (path[dl] == '\0')
			path = ".";
	}
	CU_ASSERT_FATAL(s->n < MAX_SEEN);
	s->paths[s->n] = strdup(path);
	CU_ASSERT_FATAL(s->paths[s->n] != NULL);
	s->n++;
}

static void seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->paths[i]);
	s->n = 0;
}

static int on_file(void *ctx, const char *path, const struct stat *st)
{
	struct got *g = ctx;

	if (!S_ISREG(st->st_mode))
		g->bad_stat++;
	seen_add(g, &g->files, path);
	if (g->stop_after && g->files.n == g->stop_after)
		return -42;
	return 0;
}

static int on_dir(void *ctx, const char *dir)
{
	struct got *g = ctx;

	seen_add(g, &g->dirs, dir);
	return 0;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The strings of s sorted, joined by spaces, in buf. */
static const char *joined(struct seen *s, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	qsort(s->paths, (size_t)s->n, sizeof(s->paths[0]), by_string);
	for (int i = 0; i < s->n && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? " " : "",
					s->paths[i]);
	return buf;
}

/* The space-separated words of want sorted and joined again in buf. */
static const char *sorted(const char *want, char *buf, size_t n)
{
	struct seen s = { .n = 0 };
	char *copy = strdup(want), *word, *save = NULL;

	CU_ASSERT_FATAL(copy != NULL);
	for (word = strtok_r(copy, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		CU_ASSERT_FATAL(s.n < MAX_SEEN);
		s.paths[s.n++] = strdup(word);
	}
	free(copy);
	joined(&s, buf, n);
	seen_free(&s);
	return buf;
}

static void assert_seen(struct seen *s, const char *want, const char *what,
			const char *pattern)
{
	char have_buf[4096], want_buf[4096];

	joined(s, have_buf, sizeof(have_buf));
	sorted(want, want_buf, sizeof(want_buf));
	if (strcmp(have_buf, want_buf) != 0)
		fprintf(stderr, "\n  %s for %s:\n    want: %s\n    have: %s\n", what,
			pattern, want_buf, have_buf);
	CU_ASSERT_STRING_EQUAL(have_buf, want_buf);
}

/* Replaces a leading "T/" by the temp dir. */
static const char *expand(const struct tmp *t, const char *pattern, char *buf,
			  size_t n)
{
	if (t && strncmp(pattern, "T/", 2) == 0)
		return at(t, pattern + 2, buf, n);
	snprintf(buf, n, "%s", pattern);
	return buf;
}

#define MAX_PATS 4

/* Scans the patterns (lists of up to MAX_PATS, NULL-terminated when
 * shorter; "T/" expanded) into g. */
static int scan(const struct tmp *t, const char *const *include,
		const char *const *exclude, struct got *g)
{
	char inc_buf[MAX_PATS][512], exc_buf[MAX_PATS][512];
	const char *inc[MAX_PATS], *exc[MAX_PATS];
	struct ls_globset *set;
	struct ls_error err;
	int ninc = 0, nexc = 0, rc;

	for (; include && ninc < MAX_PATS && include[ninc]; ninc++)
		inc[ninc] = expand(t, include[ninc], inc_buf[ninc], sizeof(inc_buf[0]));
	for (; exclude && nexc < MAX_PATS && exclude[nexc]; nexc++)
		exc[nexc] = expand(t, exclude[nexc], exc_buf[nexc], sizeof(exc_buf[0]));
	g->t = t;
	CU_ASSERT_FATAL(ls_globset_new(&set, inc, ninc, exc, nexc, &err) == 0);
	rc = ls_globset_scan(set, on_file, on_dir, g, &err);
	ls_globset_free(set);
	CU_ASSERT_EQUAL(g->bad_stat, 0);
	return rc;
}

static void got_free(struct got *g)
{
	seen_free(&g->files);
	seen_free(&g->dirs);
}

/* ---- ls_glob_match ---------------------------------------------------- */

static const struct {
	const char *pattern, *path;
	int match;
} match_cases[] = {
	/* `*` and `?` stay within a component */
	{ "*.log", "a.log", 1 },
	{ "*.log", "dir/a.log", 0 },
	{ "*", "a/b", 0 },
	{ "a*", "a", 1 },
	{ "a*", "ab/c", 0 },
	{ "*/*", "a/b", 1 },
	{ "a/*/c", "a/b/c", 1 },
	{ "a/*/c", "a/b/x/c", 0 },
	{ "?.log", "a.log", 1 },
	{ "?.log", "ab.log", 0 },
	{ "?.log", ".log", 0 },
	{ "a?b", "a/b", 0 },
	{ "*a*b*c", "xaybzc", 1 },
	{ "*a*b*c", "xaybz", 0 },
	{ "*.log", "a.log.1", 0 },
	{ "*.log*", "a.log.1", 1 },
	{ "app-*-*.log", "app-1-2.log", 1 },
	{ "app-*-*.log", "app-1.log", 0 },
	/* hidden names are matched by wildcards */
	{ "*.log", ".hidden.log", 1 },
	{ "?hidden.log", ".hidden.log", 1 },
	/* classes, ranges, negation */
	{ "[abc].log", "b.log", 1 },
	{ "[abc].log", "d.log", 0 },
	{ "[a-c]x", "bx", 1 },
	{ "[a-c]x", "dx", 0 },
	{ "[!a-c]x", "dx", 1 },
	{ "[!a-c]x", "ax", 0 },
	{ "[^0-9]", "x", 1 },
	{ "[^0-9]", "5", 0 },
	{ "[]]", "]", 1 },
	{ "[!]]", "]", 0 },
	{ "[!]]", "a", 1 },
	{ "[a-]", "-", 1 },
	{ "[a-]", "b", 0 },
	{ "[\\]]", "]", 1 },
	{ "*.[lL][oO][gG]", "x.LoG", 1 },
	{ "[0-9][0-9].log", "42.log", 1 },
	{ "[0-9][0-9].log", "4x.log", 0 },
	{ "[a-c]", "/", 0 },
	/* escapes */
	{ "\\*", "*", 1 },
	{ "\\*", "a", 0 },
	{ "a\\?b", "a?b", 1 },
	{ "a\\?b", "axb", 0 },
	{ "\\[x]", "[x]", 1 },
	{ "\\[x]", "x", 0 },
	{ "a\\\\b", "a\\b", 1 },
	{ "[", "[", 1 },               /* unterminated: itself */
	/* `**` as a whole component */
	{ "**", "a", 1 },
	{ "**", "a/b/c", 1 },
	{ "**/x.log", "x.log", 1 },
	{ "**/x.log", "a/b/x.log", 1 },
	{ "**/x.log", "a/b/y.log", 0 },
	{ "**/*.log", "a/.b/c.log", 1 },
	{ "a/**/b", "a/b", 1 },
	{ "a/**/b", "a/x/y/b", 1 },
	{ "a/**/b", "a/x/y/c", 0 },
	{ "a/**/b", "b", 0 },
	{ "a/**/b", "a/b/b/b", 1 },
	{ "a/**", "a/x/y", 1 },
	{ "a/**", "a", 1 },
	{ "a/**", "b/x", 0 },
	{ "a/**/*.log", "a/x/y.log", 1 },
	{ "a/**/*.log", "a/y.log", 1 },
	{ "a/**/*.log", "a/x/y.txt", 0 },
	{ "a/**/b/**/c", "a/b/c", 1 },
	{ "a/**/b/**/c", "a/x/b/y/b/z/c", 1 },
	{ "a/**/b/**/c", "a/c", 0 },
	{ "a/**/**/b", "a/b", 1 },
	{ "**/b/*", "x/b/c/d", 0 },
	{ "**/b/*", "x/b/y/b/d", 1 },
	{ "a**b", "axxb", 1 },          /* inside a component: one `*` */
	{ "a**b", "ax/xb", 0 },
	/* absolute and relative, "./" and repeated slashes */
	{ "/var/**/*.log", "/var/log/a.log", 1 },
	{ "/var/*.log", "var/a.log", 0 },
	{ "var/*.log", "/var/a.log", 0 },
	{ "**/*.log", "/var/log/a.log", 1 },
	{ "./logs/*.log", "logs/a.log", 1 },
	{ "logs/*.log", "./logs/a.log", 1 },
	{ "logs//*.log", "logs/a.log", 1 },
	{ "logs/*.log", "logs//a.log", 1 },
	{ "../x/*.log", "../x/a.log", 1 },
	{ "../x/*.log", "x/a.log", 0 },
};

static void test_match_table(void)
{
	size_t i;
	int got;

	for (i = 0; i < COUNT(match_cases); i++) {
		got = ls_glob_match(match_cases[i].pattern, match_cases[i].path);
		if (got != match_cases[i].match)
			fprintf(stderr, "\n  ls_glob_match(\"%s\", \"%s\") = %d\n",
				match_cases[i].pattern, match_cases[i].path, got);
		CU_ASSERT_EQUAL(got, match_cases[i].match);
	}
}

/* Patterns that make a naive recursive matcher take exponential time must
 * finish (a hang here is the failure). */
static void test_match_pathological(void)
{
	char name[256], pattern[64], path[4096];
	size_t i, n = 0;

	memset(name, 'a', 200);
	name[200] = '\0';
	CU_ASSERT_EQUAL(ls_glob_match("a*a*a*a*a*a*a*a*a*a*a*a*b", name), 0);
	name[199] = 'b';
	CU_ASSERT_EQUAL(ls_glob_match("a*a*a*a*a*a*a*a*a*a*a*a*b", name), 1);
	CU_ASSERT_EQUAL(ls_glob_match("*a*a*a*a*a*a*a*a*a*a*a*c", name), 0);

	/* the same with `**` over 60 components */
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%sa", i ? "/" : "");
	snprintf(pattern, sizeof(pattern), "**/a/**/a/**/a/**/a/**/a/**/b");
	CU_ASSERT_EQUAL(ls_glob_match(pattern, path), 0);
	snprintf(path + n, sizeof(path) - n, "/b");
	CU_ASSERT_EQUAL(ls_glob_match(pattern, path), 1);
	CU_ASSERT_EQUAL(ls_glob_match("**/*a*a*a*a*a*b/**/c", path), 0);
}

/* ---- building sets ---------------------------------------------------- */

static const char *const no_pattern[] = { NULL };

static const struct {
	const char *include[3], *exclude[3];
	int ninclude;                   /* -1: count include */
	const char *msg;
} bad_cases[] = {
	{ { "" }, { NULL }, -1, "empty include pattern (number 1)" },
	{ { "a.log", "" }, { NULL }, -1, "empty include pattern (number 2)" },
	{ { "logs/[a.log" }, { NULL }, -1,
	  "include pattern 'logs/[a.log': unterminated '[' at offset 5" },
	{ { "a/[]" }, { NULL }, -1, "include pattern 'a/[]': unterminated '[' at offset 2" },
	{ { "/" }, { NULL }, -1, "include pattern '/' names no file" },
	{ { "*.log" }, { "*.gz", "[x" }, -1,
	  "exclude pattern '[x': unterminated '[' at offset 0" },
	{ { "*.log" }, { "" }, -1, "empty exclude pattern (number 1)" },
	{ { NULL }, { NULL }, 0, "no include pattern" },
};

static void test_new_errors(void)
{
	struct ls_globset *set;
	struct ls_error err;
	size_t i;
	int ninc, nexc;

	for (i = 0; i < COUNT(bad_cases); i++) {
		ninc = bad_cases[i].ninclude;
		if (ninc < 0)
			for (ninc = 0; ninc < 3 && bad_cases[i].include[ninc]; ninc++)
				;
		for (nexc = 0; nexc < 3 && bad_cases[i].exclude[nexc]; nexc++)
			;
		memset(&err, 0, sizeof(err));
		set = (struct ls_globset *)&err;
		CU_ASSERT_EQUAL(ls_globset_new(&set, bad_cases[i].include, ninc,
					       bad_cases[i].exclude, nexc, &err),
				LS_EINVAL);
		CU_ASSERT_PTR_NULL(set);
		CU_ASSERT_EQUAL(err.code, LS_EINVAL);
		CU_ASSERT_STRING_EQUAL(err.msg, bad_cases[i].msg);
	}
	/* valid look-alikes, and a NULL err */
	{
		static const char *const fine[] = { "[]]", "a\\[", "x/[!]]y/**", "\\" };
		CU_ASSERT_EQUAL(ls_globset_new(&set, fine, 4, no_pattern, 0, NULL), 0);
		CU_ASSERT_EQUAL(ls_globset_count(set), 4);
		ls_globset_free(set);
		CU_ASSERT_EQUAL(ls_globset_new(&set, fine, 0, no_pattern, 0, NULL),
				LS_EINVAL);
	}
	ls_globset_free(NULL);
}

static const struct {
	const char *pattern, *base;
} base_cases[] = {
	{ "logs/*.log", "logs" },
	{ "logs/app/*.log", "logs/app" },
	{ "*.log", "." },
	{ "a.log", "." },
	{ "**/x.log", "." },
	{ "./*.log", "." },
	{ "./logs/**/x", "./logs" },
	{ "logs/a.log", "logs" },
	{ "/var/log/syslog", "/var/log" },
	{ "/x.log", "/" },
	{ "/*/x.log", "/" },
	{ "/var/*/a/b.log", "/var" },
	{ "logs/\\[x\\]/*.log", "logs/[x]" },
	{ "logs//app///*.log", "logs/app" },
	{ "a/b/c/", "a/b" },
	{ "../up/*.log", "../up" },
	{ "a/**/b/c.log", "a" },
};

static void test_base(void)
{
	const char *pats[COUNT(base_cases)];
	struct ls_globset *set;
	char buf[64];
	size_t i;

	for (i = 0; i < COUNT(base_cases); i++)
		pats[i] = base_cases[i].pattern;
	CU_ASSERT_FATAL(ls_globset_new(&set, pats, (int)COUNT(pats), NULL, 0, NULL) == 0);
	CU_ASSERT_EQUAL(ls_globset_count(set), (int)COUNT(pats));
	for (i = 0; i < COUNT(base_cases); i++)
		CU_ASSERT_STRING_EQUAL(ls_globset_base(set, (int)i, buf, sizeof(buf)),
				       base_cases[i].base);
	/* truncated to the buffer */
	CU_ASSERT_STRING_EQUAL(ls_globset_base(set, 1, buf, 5), "logs");
	CU_ASSERT_PTR_EQUAL(ls_globset_base(set, 1, buf, 5), buf);
	ls_globset_free(set);
}

/* ls_globset_literal(): the path a pattern without wildcards names (its
 * escapes removed), NULL for any pattern with one; ls_globset_pattern():
 * the pattern as normalised. */
static void test_literal(void)
{
	static const struct {
		const char *pattern, *literal, *normalised;
	} lit_cases[] = {
		{ "a.log", "a.log", "a.log" },
		{ "/var/log//syslog", "/var/log/syslog", "/var/log/syslog" },
		{ "./logs/a.log", "./logs/a.log", "./logs/a.log" },
		{ "logs/", "logs", "logs" },
		{ "a\\*b.log", "a*b.log", "a\\*b.log" },
		{ "*.log", NULL, "*.log" },
		{ "logs/*/a.log", NULL, "logs/*/a.log" },
		{ "logs/**", NULL, "logs/**" },
		{ "a?.log", NULL, "a?.log" },
		{ "[ab].log", NULL, "[ab].log" },
	};
	const char *pats[COUNT(lit_cases)];
	struct ls_globset *set;
	char buf[64];
	size_t i;

	for (i = 0; i < COUNT(lit_cases); i++)
		pats[i] = lit_cases[i].pattern;
	CU_ASSERT_FATAL(ls_globset_new(&set, pats, (int)COUNT(pats), NULL, 0, NULL) == 0);
	for (i = 0; i < COUNT(lit_cases); i++) {
		const char *got = ls_globset_literal(set, (int)i, buf, sizeof(buf));
		if (lit_cases[i].literal) {
			CU_ASSERT(got && strcmp(got, lit_cases[i].literal) == 0);
		} else {
			CU_ASSERT_PTR_NULL(got);
		}
		CU_ASSERT_STRING_EQUAL(ls_globset_pattern(set, (int)i), lit_cases[i].normalised);
	}
	/* too small a buffer: NULL, not a cut path */
	CU_ASSERT_PTR_NULL(ls_globset_literal(set, 1, buf, 8));
	ls_globset_free(set);
}

/* ---- set matching and wanted directories ------------------------------ */

static const struct {
	const char *include[3], *exclude[4];
	const char *path;
	int match;
} set_match_cases[] = {
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/a.log", 1 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/a.gz", 0 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/x/y/b.gz", 0 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/a.gz.1", 1 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/tmp/a.log", 0 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/tmp/sub/a.log", 1 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/#x", 0 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "logs/x#", 1 },
	{ { "logs/**" }, { "*.gz", "logs/tmp/*", "\\#*" }, "other/a.log", 0 },
	/* a base-name exclude never looks at directory names */
	{ { "**/*.log" }, { "old" }, "old/a.log", 1 },
	{ { "**/*.log" }, { "old" }, "x/old", 0 },
	{ { "**/*.log" }, { "**/old/**" }, "x/old/a.log", 0 },
	{ { "**/*.log" }, { "**/old/**" }, "x/older/a.log", 1 },
	{ { "/var/log/**" }, { "**/old/**" }, "/var/log/old/a", 0 },
	{ { "a/*.log", "b/**" }, { NULL }, "a/x.log", 1 },
	{ { "a/*.log", "b/**" }, { NULL }, "b/y/z", 1 },
	{ { "a/*.log", "b/**" }, { NULL }, "a/y/x.log", 0 },
	{ { "a/*.log", "b/**" }, { NULL }, "c/x.log", 0 },
};

static int count_list(const char *const *list, int max)
{
	int n = 0;

	while (n < max && list[n])
		n++;
	return n;
}

static void test_set_match(void)
{
	struct ls_globset *set;
	size_t i;
	int got;

	for (i = 0; i < COUNT(set_match_cases); i++) {
		CU_ASSERT_FATAL(ls_globset_new(&set, set_match_cases[i].include,
					       count_list(set_match_cases[i].include, 3),
					       set_match_cases[i].exclude,
					       count_list(set_match_cases[i].exclude, 4),
					       NULL) == 0);
		got = ls_globset_match(set, set_match_cases[i].path);
		if (got != set_match_cases[i].match)
			fprintf(stderr, "\n  ls_globset_match(%s, \"%s\") = %d\n",
				set_match_cases[i].include[0], set_match_cases[i].path, got);
		CU_ASSERT_EQUAL(got, set_match_cases[i].match);
		ls_globset_free(set);
	}
}

static const struct {
	const char *include, *exclude, *dir;
	int wanted;
} wants_cases[] = {
	{ "logs/*.log", NULL, "logs", 1 },
	{ "logs/*.log", NULL, "./logs", 1 },
	{ "logs/*.log", NULL, ".", 1 },
	{ "logs/*.log", NULL, "other", 0 },
	{ "logs/*.log", NULL, "logs/app", 0 },
	{ "./logs/*.log", NULL, "logs", 1 },
	{ "logs/*/app.log", NULL, "logs/x", 1 },
	{ "logs/*/app.log", NULL, "logs/x/y", 0 },
	{ "logs/[ab]*/x", NULL, "logs/bz", 1 },
	{ "logs/[ab]*/x", NULL, "logs/cz", 0 },
	{ "logs/**/x.log", NULL, "logs/a/b/c", 1 },
	{ "logs/**/x.log", NULL, "log", 0 },
	{ "logs/**", NULL, "logs", 1 },
	{ "logs/**", NULL, "logs/a/b", 1 },
	{ "*.log", NULL, ".", 1 },
	{ "*.log", NULL, "a", 0 },
	{ "**/*.log", NULL, "any/where/.deep", 1 },
	{ "a/b.log", NULL, "a", 1 },
	{ "a/b.log", NULL, "a/b.log", 0 },
	{ "/var/log/*.log", NULL, "/var", 1 },
	{ "/var/log/*.log", NULL, "/", 1 },
	{ "/var/log/*.log", NULL, "/var/log", 1 },
	{ "/var/log/*.log", NULL, "/etc", 0 },
	{ "/var/log/*.log", NULL, "var", 0 },
	{ "var/log/*.log", NULL, "/var", 0 },
	/* an exclude ending in `**` prunes; others do not */
	{ "logs/**", "logs/old/**", "logs/old", 0 },
	{ "logs/**", "logs/old/**", "logs/old/x", 0 },
	{ "logs/**", "logs/old/**", "logs/new", 1 },
	{ "logs/**", "logs/old/*", "logs/old", 1 },
	{ "logs/**", "old", "logs/old", 1 },
};

static void test_wants_dir(void)
{
	struct ls_globset *set;
	size_t i;
	int got;

	for (i = 0; i < COUNT(wants_cases); i++) {
		const char *exc = wants_cases[i].exclude;

		CU_ASSERT_FATAL(ls_globset_new(&set, &wants_cases[i].include, 1, &exc,
					       exc ? 1 : 0, NULL) == 0);
		got = ls_globset_wants_dir(set, wants_cases[i].dir);
		if (got != wants_cases[i].wanted)
			fprintf(stderr, "\n  wants_dir(%s, \"%s\") = %d\n",
				wants_cases[i].include, wants_cases[i].dir, got);
		CU_ASSERT_EQUAL(got, wants_cases[i].wanted);
		ls_globset_free(set);
	}
}

/* ---- scans ------------------------------------------------------------ */

/* Scan cases on make_tree(): "T/" is the temp dir; files and dirs are the
 * expected reports, relative to it (dirs NULL: not checked). */
static const struct {
	const char *include[MAX_PATS], *exclude[MAX_PATS];
	const char *files, *dirs;
} scan_cases[] = {
	/* one level: the symlink to a file is a file; the dangling link,
	 * the FIFO and the .txt are not reported */
	{ { "T/logs/*.log" }, { NULL },
	  "logs/a.log logs/.hidden.log logs/link.log",
	  "logs" },
	/* any depth: the symlinked dir is walked, the loop is not */
	{ { "T/logs/**/*.log" }, { NULL },
	  "logs/a.log logs/.hidden.log logs/link.log logs/app/app.log "
	  "logs/app/x.log logs/app/deep/d.log logs/old/o.log logs/old/app.log "
	  "logs/linkdir/app.log logs/linkdir/x.log logs/linkdir/deep/d.log",
	  "logs logs/app logs/app/deep logs/old logs/linkdir logs/linkdir/deep" },
	/* a wildcard directory: only the directories one level down */
	{ { "T/logs/*/app.log" }, { NULL },
	  "logs/app/app.log logs/old/app.log logs/linkdir/app.log",
	  "logs logs/app logs/old logs/linkdir" },
	/* `**` matching zero directories */
	{ { "T/logs/**/a.log" }, { NULL }, "logs/a.log", NULL },
	/* base-name and full-path excludes; logs/old is pruned, not watched */
	{ { "T/logs/**" }, { "*.gz", "*.txt", "T/logs/old/**", "T/logs/*/x.log" },
	  "logs/a.log logs/.hidden.log logs/link.log logs/app/app.log "
	  "logs/app/deep/d.log logs/linkdir/app.log logs/linkdir/deep/d.log",
	  "logs logs/app logs/app/deep logs/linkdir logs/linkdir/deep" },
	/* overlapping patterns: each file and directory once */
	{ { "T/logs/**/*.log", "T/logs/app/*.log", "T/logs/a.log", "T/logs/app/**" },
	  { NULL },
	  "logs/a.log logs/.hidden.log logs/link.log logs/app/app.log "
	  "logs/app/x.log logs/app/deep/d.log logs/old/o.log logs/old/app.log "
	  "logs/linkdir/app.log logs/linkdir/x.log logs/linkdir/deep/d.log "
	  "logs/app/deep/e.gz",
	  "logs logs/app logs/app/deep logs/old logs/linkdir logs/linkdir/deep" },
	/* literal paths: missing ones are no error and no result */
	{ { "T/logs/nope.log" }, { NULL }, "", "logs" },
	{ { "T/missing/dir/x.log" }, { NULL }, "", "" },
	{ { "T/logs/link.log", "T/top.log" }, { NULL }, "logs/link.log top.log",
	  "logs ." },
	{ { "T/logs/gone.log", "T/logs/pipe.log", "T/logs/app" }, { NULL }, "",
	  "logs" },
	/* two directories linking to each other */
	{ { "T/ring/a/**" }, { NULL }, "ring/a/f.log ring/a/tob/g.log",
	  "ring/a ring/a/tob" },
	/* pattern characters in names, escaped */
	{ { "T/br/\\[x\\].log", "T/br/\\[d\\]/*.log" }, { NULL },
	  "br/[x].log br/[d]/in.log", "br br/[d]" },
	{ { "T/br/[[]x].log" }, { NULL }, "br/[x].log", "br" },
	/* the whole tree */
	{ { "T/**/*.gz", "T/*.log" }, { NULL }, "logs/app/deep/e.gz "
	  "logs/linkdir/deep/e.gz top.log", NULL },
};

static void test_scan_table(void)
{
	struct tmp t;
	struct got g;
	size_t i;
	int rc;

	tmp_begin(&t);
	make_tree(&t);
	for (i = 0; i < COUNT(scan_cases); i++) {
		memset(&g, 0, sizeof(g));
		rc = scan(&t, scan_cases[i].include, scan_cases[i].exclude, &g);
		CU_ASSERT_EQUAL(rc, 0);
		assert_seen(&g.files, scan_cases[i].files, "files",
			    scan_cases[i].include[0]);
		if (scan_cases[i].dirs)
			assert_seen(&g.dirs, scan_cases[i].dirs, "dirs",
				    scan_cases[i].include[0]);
		got_free(&g);
	}
	tmp_end(&t);
}

/* Relative patterns give relative paths, spelt as the pattern spells its
 * base: "top.log" for *.log, "./logs/a.log" for ./logs/(*).log. */
static const struct {
	const char *include[MAX_PATS];
	const char *files, *dirs;
} rel_cases[] = {
	{ { "*.log" }, "top.log", "." },
	{ { "top.log" }, "top.log", "." },
	{ { "./*.log" }, "./top.log", "." },
	{ { "logs/*.log" }, "logs/a.log logs/.hidden.log logs/link.log", "logs" },
	{ { "./logs/*.log" }, "./logs/a.log ./logs/.hidden.log ./logs/link.log",
	  "./logs" },
	{ { "logs/*/app.log" }, "logs/app/app.log logs/old/app.log logs/linkdir/app.log",
	  "logs logs/app logs/old logs/linkdir" },
	{ { "logs/app/../old/o.log" }, "logs/app/../old/o.log", "logs/app/../old" },
	{ { "logs/*/../a.log" }, "logs/app/../a.log logs/old/../a.log "
	  "logs/linkdir/../a.log", "logs logs/app logs/old logs/linkdir "
	  "logs/app/.. logs/old/.. logs/linkdir/.." },
	{ { "**/d.log" }, "logs/app/deep/d.log logs/linkdir/deep/d.log", NULL },
	/* the same file spelt two ways is reported once, as first spelt */
	{ { "top.log", "./*.log" }, "top.log", "." },
	{ { "./logs/a.log", "logs/*.log" },
	  "./logs/a.log logs/.hidden.log logs/link.log", "./logs" },
};

static void test_scan_relative(void)
{
	struct tmp t;
	struct got g;
	size_t i;
	int cwd, rc;

	tmp_begin(&t);
	make_tree(&t);
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(cwd >= 0);
	CU_ASSERT_FATAL(chdir(t.dir) == 0);
	for (i = 0; i < COUNT(rel_cases); i++) {
		memset(&g, 0, sizeof(g));
		rc = scan(NULL, rel_cases[i].include, NULL, &g);
		CU_ASSERT_EQUAL(rc, 0);
		assert_seen(&g.files, rel_cases[i].files, "files",
			    rel_cases[i].include[0]);
		if (rel_cases[i].dirs)
			assert_seen(&g.dirs, rel_cases[i].dirs, "dirs",
				    rel_cases[i].include[0]);
		got_free(&g);
	}
	CU_ASSERT(fchdir(cwd) == 0);
	close(cwd);
	tmp_end(&t);
}

/* chain/d0 .. chain/d10, each with f.log and l -> ../d(i+1): from d0,
 * symlinked directories are followed 8 deep, so d0/l/l/l/l/l/l/l/l/f.log (d8)
 * is the deepest file found. */
static void test_scan_link_depth(void)
{
	static const char *const include[] = { "T/chain/d0/**/f.log", NULL };
	char rel[64], target[32], want[1024], path[32];
	struct tmp t;
	struct got g;
	size_t n = 0;
	int i;

	tmp_begin(&t);
	make_dir(&t, "chain");
	for (i = 0; i <= 10; i++) {
		snprintf(rel, sizeof(rel), "chain/d%d", i);
		make_dir(&t, rel);
		snprintf(rel, sizeof(rel), "chain/d%d/f.log", i);
		make_file(&t, rel);
		if (i < 10) {
			snprintf(rel, sizeof(rel), "chain/d%d/l", i);
			snprintf(target, sizeof(target), "../d%d", i + 1);
			make_link(&t, target, rel);
		}
	}
	want[0] = '\0';
	path[0] = '\0';
	for (i = 0; i <= 8; i++) {
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%schain/d0/%sf.log",
				      i ? " " : "", path);
		strcat(path, "l/");
	}
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(scan(&t, include, NULL, &g), 0);
	CU_ASSERT_EQUAL(g.files.n, 9);
	assert_seen(&g.files, want, "files", include[0]);
	CU_ASSERT_EQUAL(g.dirs.n, 9);
	got_free(&g);
	tmp_end(&t);
}

/* An unreadable directory is skipped without an error. Run as root, chmod
 * does not stop reading, so only "no error" can be checked there. */
static void test_scan_unreadable(void)
{
	static const char *const include[] = { "T/**/*.log", NULL };
	static const char *const literal[] = { "T/noread/*.log", NULL };
	char p[512];
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	make_dir(&t, "ok");
	make_dir(&t, "noread");
	make_file(&t, "ok/a.log");
	make_file(&t, "noread/n.log");
	CU_ASSERT_FATAL(chmod(at(&t, "noread", p, sizeof(p)), 0) == 0);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(scan(&t, include, NULL, &g), 0);
	if (geteuid() != 0)
		assert_seen(&g.files, "ok/a.log", "files", include[0]);
	got_free(&g);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(scan(&t, literal, NULL, &g), 0);
	if (geteuid() != 0) {
		assert_seen(&g.files, "", "files", literal[0]);
		/* it exists: it is to be watched even though it cannot be read */
		assert_seen(&g.dirs, "noread", "dirs", literal[0]);
	}
	got_free(&g);
	tmp_end(&t);
}

static int stop_at_dir(void *ctx, const char *dir)
{
	(void)ctx;
	(void)dir;
	return -7;
}

/* A callback's negative value stops the scan and is returned. */
static void test_scan_stop(void)
{
	static const char *const include[] = { "T/logs/**/*.log", NULL };
	struct ls_globset *set;
	char pat[512];
	const char *pats[1];
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	make_tree(&t);
	memset(&g, 0, sizeof(g));
	g.stop_after = 2;
	CU_ASSERT_EQUAL(scan(&t, include, NULL, &g), -42);
	CU_ASSERT_EQUAL(g.files.n, 2);
	got_free(&g);

	pats[0] = expand(&t, include[0], pat, sizeof(pat));
	CU_ASSERT_FATAL(ls_globset_new(&set, pats, 1, NULL, 0, NULL) == 0);
	memset(&g, 0, sizeof(g));
	g.t = &t;
	CU_ASSERT_EQUAL(ls_globset_scan(set, on_file, stop_at_dir, &g, NULL), -7);
	CU_ASSERT_EQUAL(g.files.n, 0);
	/* no dir_fn: files only */
	memset(&g, 0, sizeof(g));
	g.t = &t;
	CU_ASSERT_EQUAL(ls_globset_scan(set, on_file, NULL, &g, NULL), 0);
	CU_ASSERT_EQUAL(g.files.n, 11);
	CU_ASSERT_EQUAL(g.dirs.n, 0);
	got_free(&g);
	ls_globset_free(set);
	tmp_end(&t);
}

static const struct ls_test_case cases[] = {
	{ "match table", test_match_table },
	{ "pathological patterns finish", test_match_pathological },
	{ "patterns refused", test_new_errors },
	{ "base directories", test_base },
	{ "literal paths and normalised patterns", test_literal },
	{ "set match with excludes", test_set_match },
	{ "directories wanted", test_wants_dir },
	{ "scans of a tree", test_scan_table },
	{ "relative patterns, relative paths", test_scan_relative },
	{ "symlinked directories 8 deep", test_scan_link_depth },
	{ "unreadable directory skipped", test_scan_unreadable },
	{ "callbacks stop the scan", test_scan_stop },
	{ NULL, NULL }
};

LS_TEST_SUITE(glob, cases);

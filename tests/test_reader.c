/* test_reader.c - shipper/reader.c: line splitting, offsets, CRLF, long
 * lines, block boundaries, gzip/zstd (whole, concatenated, damaged), pipes,
 * standard input and open errors. Every case works in its own mkdtemp
 * directory under /tmp and removes it. Expected lines come from a plain
 * byte-by-byte splitter (ref_split), independent of the reader's blocks. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "../shipper/reader.h"
#include "unit.h"

#define MIB ((size_t)1 << 20)

/* ---- temp directory --------------------------------------------------- */

struct tmp {
	char dir[64];
	char path[128];
};

static void tmp_begin(struct tmp *t)
{
	/* mkdtemp's template: the prefix, then six 'X' it replaces */
	size_t n = (size_t)snprintf(t->dir, sizeof(t->dir), "/tmp/ls_reader_");

	memset(t->dir + n, 'X', 6);
	t->dir[n + 6] = '\0';
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
}

/* Returns t->dir/name in t->path (overwritten by the next call). */
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

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void write_gzip(const char *path, const char *mode, const void *data,
		       size_t len)
{
	gzFile g = gzopen(path, mode);

	CU_ASSERT_FATAL(g != NULL);
	CU_ASSERT_FATAL(gzwrite(g, data, (unsigned)len) == (int)len);
	CU_ASSERT_FATAL(gzclose(g) == Z_OK);
}

static void write_zstd(const char *path, const void *data, size_t len)
{
	size_t cap = ZSTD_compressBound(len), n;
	void *out = malloc(cap);

	CU_ASSERT_FATAL(out != NULL);
	n = ZSTD_compress(out, cap, data, len, 3);
	CU_ASSERT_FATAL(!ZSTD_isError(n));
	write_file(path, out, n);
	free(out);
}

/* ---- collected lines -------------------------------------------------- */

struct got_line {
	size_t at, len;
	uint64_t offset;
	unsigned flags;
};

struct got {
	char *bytes;
	size_t bytes_len, bytes_cap;
	struct got_line *lines;
	size_t n, cap;
	int rc;
	struct ls_error err;
};

static void got_add(struct got *g, const char *p, size_t len, uint64_t offset,
		    unsigned flags)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->lines = realloc(g->lines, g->cap * sizeof(*g->lines));
		CU_ASSERT_FATAL(g->lines != NULL);
	}
	if (g->bytes_len + len > g->bytes_cap) {
		g->bytes_cap = 2 * (g->bytes_len + len) + 64;
		g->bytes = realloc(g->bytes, g->bytes_cap);
		CU_ASSERT_FATAL(g->bytes != NULL);
	}
	if (len)
		memcpy(g->bytes + g->bytes_len, p, len);
	g->lines[g->n].at = g->bytes_len;
	g->lines[g->n].len = len;
	g->lines[g->n].offset = offset;
	g->lines[g->n].flags = flags;
	g->n++;
	g->bytes_len += len;
}

static void got_free(struct got *g)
{
	free(g->bytes);
	free(g->lines);
	memset(g, 0, sizeof(*g));
}

/* Reads every line of an open reader into g, until the end or an error. */
static void drain(struct ls_reader *r, struct got *g)
{
	const char *line;
	size_t len;
	uint64_t offset;
	unsigned flags;
	int rc;

	while ((rc = ls_reader_next(r, &line, &len, &offset, &flags, &g->err)) == 1)
		got_add(g, line, len, offset, flags);
	g->rc = rc;
}

static void read_all(const char *path, size_t max_line, struct got *g)
{
	struct ls_reader *r;

	memset(g, 0, sizeof(*g));
	CU_ASSERT_FATAL(ls_reader_open(&r, path, max_line, &g->err) == 0);
	drain(r, g);
	ls_reader_free(r);
}

/* The oracle: split content byte by byte, as the reader should. */
static void ref_split(const char *s, size_t n, size_t max_line, struct got *g)
{
	size_t start = 0, i, len;
	unsigned flags;

	memset(g, 0, sizeof(*g));
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i == n && start == n)
			break;
		len = i - start;
		flags = i == n ? LS_LINE_NO_NEWLINE : 0;
		if (i < n && len > 0 && s[i - 1] == '\r')
			len--;
		if (len > max_line) {
			len = max_line;
			flags |= LS_LINE_TRUNCATED;
		}
		got_add(g, s + start, len, start, flags);
		start = i + 1;
	}
	g->rc = 0;
}

/* Asserts that two line lists agree byte for byte, offset and flags. */
static void assert_same(const struct got *want, const struct got *have)
{
	size_t i, bad = 0;

	CU_ASSERT_EQUAL(have->n, want->n);
	CU_ASSERT_EQUAL(have->rc, want->rc);
	for (i = 0; i < want->n && i < have->n; i++) {
		const struct got_line *a = &want->lines[i], *b = &have->lines[i];
		if (a->len != b->len || a->offset != b->offset ||
		    a->flags != b->flags ||
		    memcmp(want->bytes + a->at, have->bytes + b->at, a->len) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void assert_line(const struct got *g, size_t i, const char *bytes,
			size_t len, uint64_t offset, unsigned flags)
{
	CU_ASSERT_FATAL(i < g->n);
	CU_ASSERT_EQUAL(g->lines[i].len, len);
	CU_ASSERT_EQUAL(g->lines[i].offset, offset);
	CU_ASSERT_EQUAL(g->lines[i].flags, flags);
	if (g->lines[i].len == len)
		CU_ASSERT(memcmp(g->bytes + g->lines[i].at, bytes, len) == 0);
}

/* Deterministic lines of varied length (0 to ~3000 bytes, now and then up
 * to 70 KiB so some lines span several blocks), some ending in \r\n. */
static char *gen_content(size_t size, uint32_t seed)
{
	char *s = malloc(size);
	size_t i = 0, len, k;

	CU_ASSERT_FATAL(s != NULL);
	while (i < size) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % 3000;
		if ((seed >> 4) % 50 == 0)
			len = (seed >> 3) % 70000;
		for (k = 0; k < len && i < size; k++, i++)
			s[i] = (char)(' ' + (seed + k * 7) % 95);
		if (i < size && (seed >> 20) % 4 == 0)
			s[i++] = '\r';
		if (i < size)
			s[i++] = '\n';
	}
	return s;
}

/* The fingerprint reader.h promises, computed here on its own: XXH64 of
 * the first line with its "\n", or of the first 1024 bytes without one. */
static uint64_t first_line_fp(const char *s, size_t n)
{
	const char *nl;

	if (n > 1024)
		n = 1024;
	nl = memchr(s, '\n', n);
	return XXH64(s, nl ? (size_t)(nl - s) + 1 : n, 0);
}

/* ---- cases ------------------------------------------------------------ */

static void test_plain_lines_offsets(void)
{
	static const char text[] = "alpha\nbeta\n\ngamma delta\n";
	struct tmp t;
	struct got g;
	struct ls_reader *r;
	struct ls_error err;

	tmp_begin(&t);
	write_file(tmp_path(&t, "a.log"), text, sizeof(text) - 1);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 4);
	assert_line(&g, 0, "alpha", 5, 0, 0);
	assert_line(&g, 1, "beta", 4, 6, 0);
	assert_line(&g, 2, "", 0, 11, 0);
	assert_line(&g, 3, "gamma delta", 11, 12, 0);
	got_free(&g);

	memset(&g, 0, sizeof(g));
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &err) == 0);
	drain(r, &g);
	CU_ASSERT_STRING_EQUAL(ls_reader_compression(r), "plain");
	CU_ASSERT_EQUAL(ls_reader_bytes_in(r), sizeof(text) - 1);
	CU_ASSERT_EQUAL(ls_reader_bytes_out(r), sizeof(text) - 1);
	ls_reader_free(r);
	got_free(&g);
	tmp_end(&t);
}

static void test_crlf(void)
{
	static const char text[] = "a\r\nbb\r\n\r\nc\rd\r\n";
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "crlf.log"), text, sizeof(text) - 1);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 4);
	assert_line(&g, 0, "a", 1, 0, 0);
	assert_line(&g, 1, "bb", 2, 3, 0);
	assert_line(&g, 2, "", 0, 7, 0);
	assert_line(&g, 3, "c\rd", 3, 9, 0);
	got_free(&g);
	tmp_end(&t);
}

static void test_no_final_newline(void)
{
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "nn.log"), "one\ntwo", 7);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, "one", 3, 0, 0);
	assert_line(&g, 1, "two", 3, 4, LS_LINE_NO_NEWLINE);
	got_free(&g);

	/* a final "\r" without "\n" is not a line ending: it is kept */
	write_file(tmp_path(&t, "cr.log"), "x\r", 2);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.n, 1);
	assert_line(&g, 0, "x\r", 2, 0, LS_LINE_NO_NEWLINE);
	got_free(&g);
	tmp_end(&t);
}

static void test_empty_file(void)
{
	struct tmp t;
	struct ls_reader *r;
	struct ls_error err;
	const char *line;
	size_t len;
	uint64_t offset;
	unsigned flags;

	tmp_begin(&t);
	write_file(tmp_path(&t, "empty.log"), "", 0);
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &err) == 0);
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &err), 0);
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &err), 0);
	CU_ASSERT_EQUAL(ls_reader_bytes_in(r), 0);
	CU_ASSERT_EQUAL(ls_reader_bytes_out(r), 0);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), 0);
	ls_reader_free(r);
	tmp_end(&t);
}

static void test_nul_bytes(void)
{
	static const char text[] = "a\0b\n\0\nend\0";
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "nul.log"), text, sizeof(text) - 1);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 3);
	assert_line(&g, 0, "a\0b", 3, 0, 0);
	assert_line(&g, 1, "\0", 1, 4, 0);
	assert_line(&g, 2, "end\0", 4, 6, LS_LINE_NO_NEWLINE);
	got_free(&g);
	tmp_end(&t);
}

static void test_max_line_edges(void)
{
	static const char text[] = "12345678\n123456789\n12345678\r\n"
				   "123456789\r\n\n1234567890123";
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "edges.log"), text, sizeof(text) - 1);
	read_all(t.path, 8, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 6);
	assert_line(&g, 0, "12345678", 8, 0, 0);
	assert_line(&g, 1, "12345678", 8, 9, LS_LINE_TRUNCATED);
	assert_line(&g, 2, "12345678", 8, 19, 0);
	assert_line(&g, 3, "12345678", 8, 29, LS_LINE_TRUNCATED);
	assert_line(&g, 4, "", 0, 40, 0);
	assert_line(&g, 5, "12345678", 8, 41,
		    LS_LINE_TRUNCATED | LS_LINE_NO_NEWLINE);
	got_free(&g);
	tmp_end(&t);
}

/* A cut at --max-line does not split a UTF-8 character: it moves back to
 * the character's first byte (a line then ends in whole characters and is
 * not taken for invalid UTF-8); bytes that are no character's start stay. */
static void test_max_line_utf8(void)
{
	static const char text[] = "1234567\xc3\xa9\n"      /* é over the cut */
				   "123456\xe2\x82\xacx\n"  /* € over the cut */
				   "12345\xf0\x9f\x98\x80z\n" /* 4 bytes over it */
				   "1234567\xff\xff\n"      /* invalid: kept */
				   "123456\xc3\xa9x\n";      /* é fits whole */
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "utf8.log"), text, sizeof(text) - 1);
	read_all(t.path, 8, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 5);
	assert_line(&g, 0, "1234567", 7, 0, LS_LINE_TRUNCATED);
	assert_line(&g, 1, "123456", 6, 10, LS_LINE_TRUNCATED);
	assert_line(&g, 2, "12345", 5, 21, LS_LINE_TRUNCATED);
	assert_line(&g, 3, "1234567\xff", 8, 32, LS_LINE_TRUNCATED);
	assert_line(&g, 4, "123456\xc3\xa9", 8, 42, LS_LINE_TRUNCATED);
	got_free(&g);
	tmp_end(&t);
}

static void test_ten_mb_line(void)
{
	const size_t big = 10 * MIB;
	struct tmp t;
	struct got g;
	char *text = malloc(big + 7);
	size_t i;

	CU_ASSERT_FATAL(text != NULL);
	for (i = 0; i < big; i++)
		text[i] = (char)('a' + i % 26);
	memcpy(text + big, "\nafter\n", 7);
	tmp_begin(&t);
	write_file(tmp_path(&t, "big.log"), text, big + 7);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, text, MIB, 0, LS_LINE_TRUNCATED);
	assert_line(&g, 1, "after", 5, big + 1, 0);
	got_free(&g);

	/* the same line through gzip, and as the unterminated last line */
	write_gzip(tmp_path(&t, "big.gz"), "wb1", text, big);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 1);
	assert_line(&g, 0, text, MIB, 0, LS_LINE_TRUNCATED | LS_LINE_NO_NEWLINE);
	got_free(&g);

	/* zstd takes in all of its small input long before the output is out */
	write_zstd(tmp_path(&t, "big.zst"), text, big + 7);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, text, MIB, 0, LS_LINE_TRUNCATED);
	assert_line(&g, 1, "after", 5, big + 1, 0);
	got_free(&g);
	free(text);
	tmp_end(&t);
}

static void test_crlf_across_blocks(void)
{
	const size_t first = 256 * 1024 - 1; /* "\r" ends block 1, "\n" starts 2 */
	struct tmp t;
	struct got g;
	char *text = malloc(first + 7);

	CU_ASSERT_FATAL(text != NULL);
	memset(text, 'x', first);
	memcpy(text + first, "\r\nnext\n", 7);
	tmp_begin(&t);
	write_file(tmp_path(&t, "span.log"), text, first + 7);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, text, first, 0, 0);
	assert_line(&g, 1, "next", 4, first + 2, 0);
	got_free(&g);

	/* with max_line == the line's length the "\r" must not count */
	read_all(t.path, first, &g);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, text, first, 0, 0);
	got_free(&g);
	free(text);
	tmp_end(&t);
}

static void test_lines_across_blocks(void)
{
	const size_t size = 300 * 1024;
	char *text = gen_content(size, 7);
	static const size_t limits[] = { MIB, 1000, 1 };
	struct tmp t;
	struct got want, have;
	size_t i;

	tmp_begin(&t);
	write_file(tmp_path(&t, "varied.log"), text, size);
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		ref_split(text, size, limits[i], &want);
		CU_ASSERT(want.n > 100);
		read_all(t.path, limits[i], &have);
		assert_same(&want, &have);
		got_free(&want);
		got_free(&have);
	}
	free(text);
	tmp_end(&t);
}

/* Reads a compressed file and checks it against the plain content. */
static void check_compressed(const char *path, const char *text, size_t size,
			     const char *comp)
{
	struct got want, have;
	struct ls_reader *r;
	struct ls_error err;
	size_t file_len;

	memset(&have, 0, sizeof(have));
	ref_split(text, size, MIB, &want);
	CU_ASSERT_FATAL(ls_reader_open(&r, path, MIB, &err) == 0);
	drain(r, &have);
	assert_same(&want, &have);
	CU_ASSERT_STRING_EQUAL(ls_reader_compression(r), comp);
	free(ls_test_read_file(path, &file_len));
	CU_ASSERT_EQUAL(ls_reader_bytes_in(r), file_len);
	CU_ASSERT_EQUAL(ls_reader_bytes_out(r), size);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), first_line_fp(text, size));
	ls_reader_free(r);
	got_free(&want);
	got_free(&have);
}

static void test_gzip_same_as_plain(void)
{
	const size_t size = 600 * 1024;
	char *text = gen_content(size, 11);
	struct tmp t;

	tmp_begin(&t);
	write_gzip(tmp_path(&t, "a.log.gz"), "wb", text, size);
	check_compressed(t.path, text, size, "gzip");
	/* detection is by content: a gzip file with a misleading name */
	write_gzip(tmp_path(&t, "a.txt"), "wb9", text, 5000);
	check_compressed(t.path, text, 5000, "gzip");
	free(text);
	tmp_end(&t);
}

static void test_zstd_same_as_plain(void)
{
	const size_t size = 600 * 1024;
	char *text = gen_content(size, 13);
	struct tmp t;

	tmp_begin(&t);
	write_zstd(tmp_path(&t, "a.log.zst"), text, size);
	check_compressed(t.path, text, size, "zstd");
	free(text);
	tmp_end(&t);
}

/* Output that ends exactly where a decoder block ends (256 KiB) must not be
 * taken for a truncated frame. */
static void test_compressed_block_multiple(void)
{
	static const size_t sizes[] = { 256 * 1024, 512 * 1024 };
	struct tmp t;
	char *text;
	size_t i;

	tmp_begin(&t);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		text = gen_content(sizes[i], 41 + (uint32_t)i);
		write_zstd(tmp_path(&t, "b.zst"), text, sizes[i]);
		check_compressed(t.path, text, sizes[i], "zstd");
		write_gzip(tmp_path(&t, "b.gz"), "wb", text, sizes[i]);
		check_compressed(t.path, text, sizes[i], "gzip");
		free(text);
	}
	tmp_end(&t);
}

static void test_gzip_concatenated(void)
{
	const size_t size = 400 * 1024, cut = 123457;
	char *text = gen_content(size, 17);
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	/* the member boundary falls inside a line */
	write_gzip(tmp_path(&t, "cat.gz"), "wb", "first\nspl", 9);
	write_gzip(t.path, "ab", "it\nlast\n", 8);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 3);
	assert_line(&g, 0, "first", 5, 0, 0);
	assert_line(&g, 1, "split", 5, 6, 0);
	assert_line(&g, 2, "last", 4, 12, 0);
	got_free(&g);

	write_gzip(tmp_path(&t, "cat2.gz"), "wb", text, cut);
	write_gzip(t.path, "ab", text + cut, size - cut);
	check_compressed(t.path, text, size, "gzip");
	free(text);
	tmp_end(&t);
}

/* All bytes a one-shot decoder gets out of a damaged buffer. */
static size_t inflate_prefix(const char *in, size_t in_len, char *out,
			     size_t out_cap)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	CU_ASSERT_FATAL(inflateInit2(&zs, 15 + 32) == Z_OK);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)out_cap;
	CU_ASSERT(inflate(&zs, Z_SYNC_FLUSH) == Z_OK);
	CU_ASSERT_EQUAL(zs.avail_in, 0);
	inflateEnd(&zs);
	return out_cap - zs.avail_out;
}

static size_t unzstd_prefix(const char *in, size_t in_len, char *out,
			    size_t out_cap)
{
	ZSTD_DStream *zd = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_cap, 0 };

	CU_ASSERT_FATAL(zd != NULL);
	ZSTD_initDStream(zd);
	while (ib.pos < ib.size)
		CU_ASSERT_FATAL(!ZSTD_isError(ZSTD_decompressStream(zd, &ob, &ib)));
	ZSTD_freeDStream(zd);
	return ob.pos;
}

static void test_gzip_truncated(void)
{
	const size_t size = 300 * 1024;
	char *text = gen_content(size, 19), *gz, *prefix = malloc(size);
	size_t gz_len, half, got_len;
	struct tmp t;
	struct got want, have;
	char msg[256];

	CU_ASSERT_FATAL(prefix != NULL);
	tmp_begin(&t);
	write_gzip(tmp_path(&t, "whole.gz"), "wb", text, size);
	gz = ls_test_read_file(t.path, &gz_len);
	half = gz_len / 2;
	write_file(tmp_path(&t, "half.gz"), gz, half);
	got_len = inflate_prefix(gz, half, prefix, size);
	CU_ASSERT(got_len > 0 && got_len < size);
	CU_ASSERT(memcmp(prefix, text, got_len) == 0);

	ref_split(text, got_len, MIB, &want);
	want.rc = LS_EDAMAGED;
	read_all(t.path, MIB, &have);
	assert_same(&want, &have);
	CU_ASSERT(want.n > 10);
	snprintf(msg, sizeof(msg), "%s: truncated gzip input at byte %zu",
		 t.path, half);
	CU_ASSERT_EQUAL(have.err.code, LS_EDAMAGED);
	CU_ASSERT_STRING_EQUAL(have.err.msg, msg);
	got_free(&want);
	got_free(&have);
	free(gz);
	free(prefix);
	free(text);
	tmp_end(&t);
}

static void test_zstd_truncated(void)
{
	const size_t size = 300 * 1024;
	char *text = gen_content(size, 23), *zst, *prefix = malloc(size);
	size_t zst_len, half, got_len;
	struct tmp t;
	struct got want, have;
	struct ls_reader *r;
	const char *line;
	size_t len;
	uint64_t offset;
	unsigned flags;
	char msg[256];

	CU_ASSERT_FATAL(prefix != NULL);
	tmp_begin(&t);
	write_zstd(tmp_path(&t, "whole.zst"), text, size);
	zst = ls_test_read_file(t.path, &zst_len);
	half = zst_len / 2;
	write_file(tmp_path(&t, "half.zst"), zst, half);
	got_len = unzstd_prefix(zst, half, prefix, size);
	CU_ASSERT(got_len < size);
	CU_ASSERT(memcmp(prefix, text, got_len) == 0);

	ref_split(text, got_len, MIB, &want);
	want.rc = LS_EDAMAGED;
	memset(&have, 0, sizeof(have));
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &have.err) == 0);
	drain(r, &have);
	assert_same(&want, &have);
	snprintf(msg, sizeof(msg), "%s: damaged zstd input at byte %zu: ",
		 t.path, half);
	CU_ASSERT_EQUAL(have.err.code, LS_EDAMAGED);
	CU_ASSERT(strncmp(have.err.msg, msg, strlen(msg)) == 0);
	CU_ASSERT(strlen(have.err.msg) > strlen(msg));
	/* the error sticks */
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &have.err),
			LS_EDAMAGED);
	ls_reader_free(r);
	got_free(&want);
	got_free(&have);
	free(zst);
	free(prefix);
	free(text);
	tmp_end(&t);
}

static void test_directory(void)
{
	struct tmp t;
	struct ls_reader *r = (struct ls_reader *)&t;
	struct ls_error err;
	char msg[128];

	tmp_begin(&t);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_reader_open(&r, t.dir, MIB, &err), LS_EINVAL);
	CU_ASSERT_PTR_NULL(r);
	snprintf(msg, sizeof(msg), "%s: Is a directory", t.dir);
	CU_ASSERT_STRING_EQUAL(err.msg, msg);
	CU_ASSERT_EQUAL(err.code, LS_EINVAL);
	tmp_end(&t);
}

static void test_missing_file(void)
{
	struct tmp t;
	struct ls_reader *r;
	struct ls_error err;
	char msg[192];

	tmp_begin(&t);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(ls_reader_open(&r, tmp_path(&t, "nope.log"), MIB, &err),
			LS_ENOENT);
	CU_ASSERT_PTR_NULL(r);
	snprintf(msg, sizeof(msg), "%s: No such file or directory", t.path);
	CU_ASSERT_STRING_EQUAL(err.msg, msg);
	tmp_end(&t);
}

static void test_pipe_via_dev_fd(void)
{
	static const char text[] = "p1\np2\r\nlast";
	int fds[2];
	char path[32];
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_FATAL(write(fds[1], text, sizeof(text) - 1) ==
			(ssize_t)(sizeof(text) - 1));
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	read_all(path, MIB, &g);
	close(fds[0]);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 3);
	assert_line(&g, 0, "p1", 2, 0, 0);
	assert_line(&g, 1, "p2", 2, 3, 0);
	assert_line(&g, 2, "last", 4, 7, LS_LINE_NO_NEWLINE);
	got_free(&g);
	tmp_end(&t);
}

/* Puts len bytes of data in a pipe, closes its write end and makes its read
 * end standard input. Returns a copy of the old standard input. */
static int stdin_from(const void *data, size_t len)
{
	int fds[2], saved = dup(0);

	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_FATAL(len < 65536); /* fits in the pipe without a reader */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_FATAL(write(fds[1], data, len) == (ssize_t)len);
	close(fds[1]);
	CU_ASSERT_FATAL(dup2(fds[0], 0) == 0);
	close(fds[0]);
	return saved;
}

static void stdin_restore(int saved)
{
	CU_ASSERT(dup2(saved, 0) == 0);
	close(saved);
}

static void test_stdin_gzip_pipe(void)
{
	const size_t size = 20000;
	char *text = gen_content(size, 29), *gz, *prefix = malloc(size);
	size_t gz_len, half, got_len;
	struct tmp t;
	struct got want, have;
	int saved;

	CU_ASSERT_FATAL(prefix != NULL);
	tmp_begin(&t);
	write_gzip(tmp_path(&t, "in.gz"), "wb", text, size);
	gz = ls_test_read_file(t.path, &gz_len);

	/* whole stream through "-" */
	ref_split(text, size, MIB, &want);
	saved = stdin_from(gz, gz_len);
	read_all("-", MIB, &have);
	stdin_restore(saved);
	assert_same(&want, &have);
	got_free(&want);
	got_free(&have);

	/* half of it through NULL: errors name standard input */
	half = gz_len / 2;
	got_len = inflate_prefix(gz, half, prefix, size);
	ref_split(text, got_len, MIB, &want);
	want.rc = LS_EDAMAGED;
	saved = stdin_from(gz, half);
	read_all(NULL, MIB, &have);
	stdin_restore(saved);
	assert_same(&want, &have);
	{
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "(standard input): truncated gzip input at byte %zu", half);
		CU_ASSERT_STRING_EQUAL(have.err.msg, msg);
	}
	got_free(&want);
	got_free(&have);
	free(gz);
	free(prefix);
	free(text);
	tmp_end(&t);
}

static void test_magic_prefix_is_plain(void)
{
	static const char zstd_start[] = "\x28\xb5\nok\n";
	struct tmp t;
	struct got g;

	tmp_begin(&t);
	write_file(tmp_path(&t, "z.log"), zstd_start, sizeof(zstd_start) - 1);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.rc, 0);
	CU_ASSERT_EQUAL(g.n, 2);
	assert_line(&g, 0, "\x28\xb5", 2, 0, 0);
	assert_line(&g, 1, "ok", 2, 3, 0);
	got_free(&g);

	write_file(tmp_path(&t, "g.log"), "\x1f", 1);
	read_all(t.path, MIB, &g);
	CU_ASSERT_EQUAL(g.n, 1);
	assert_line(&g, 0, "\x1f", 1, 0, LS_LINE_NO_NEWLINE);
	got_free(&g);
	tmp_end(&t);
}

static void test_fingerprint_and_counters(void)
{
	const size_t size = 3000;
	char *text = gen_content(size, 31);
	struct tmp t;
	struct ls_reader *r;
	struct ls_error err;
	const char *line;
	size_t len;
	uint64_t offset;
	unsigned flags;

	tmp_begin(&t);
	write_file(tmp_path(&t, "fp.log"), text, size);
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &err) == 0);
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &err), 1);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), first_line_fp(text, size));
	CU_ASSERT_EQUAL(ls_reader_bytes_in(r), size);
	CU_ASSERT_EQUAL(ls_reader_bytes_out(r),
			(uint64_t)((const char *)memchr(text, '\n', size) - text) + 1);
	ls_reader_free(r);

	write_file(tmp_path(&t, "short.log"), "tiny\n", 5);
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &err) == 0);
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &err), 1);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), XXH64("tiny\n", 5, 0));
	CU_ASSERT_EQUAL(ls_reader_next(r, &line, &len, &offset, &flags, &err), 0);
	CU_ASSERT_EQUAL(ls_reader_bytes_out(r), 5);
	ls_reader_free(r);
	free(text);
	tmp_end(&t);
}

/* The fingerprint event ids are made with is the first line's: the same
 * for a file that grows after it (under 1 KiB and past it), for its gzip
 * and zstd copies; a first line over 1 KiB is hashed over its first 1 KiB.
 * ls_reader_head() gives the first bytes, at most 1 KiB. */
static void test_fingerprint_first_line(void)
{
	static const struct {
		const char *first, *grown; /* grown starts with first */
	} cases[] = {
		{ "first\n", "first\nsecond\n" },
		{ "a\r\n", "a\r\nb\r\n" },
		{ "\n", "\nnext\n" },
		{ "no newline yet", NULL },
	};
	char *big = malloc(5000), *path;
	const unsigned char *head;
	size_t head_len;
	struct tmp t;
	struct ls_reader *r;
	struct got g;
	uint64_t fp0;

	CU_ASSERT_FATAL(big != NULL);
	tmp_begin(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n0 = strlen(cases[i].first);
		write_file(tmp_path(&t, "f.log"), cases[i].first, n0);
		memset(&g, 0, sizeof(g));
		CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &g.err) == 0);
		drain(r, &g);
		fp0 = ls_reader_fingerprint(r);
		CU_ASSERT_EQUAL(fp0, first_line_fp(cases[i].first, n0));
		head = ls_reader_head(r, &head_len);
		CU_ASSERT(head_len == n0 && memcmp(head, cases[i].first, n0) == 0);
		ls_reader_free(r);
		got_free(&g);
		if (!cases[i].grown)
			continue;
		/* the same file grown: a small one, then one past 1 KiB */
		memset(big, 'z', 5000);
		memcpy(big, cases[i].grown, strlen(cases[i].grown));
		big[4999] = '\n';
		for (int k = 0; k < 3; k++) {
			size_t n = k == 0 ? strlen(cases[i].grown) : 5000;
			path = (char *)tmp_path(&t, k == 2 ? "g.gz" : "g.log");
			if (k == 2)
				write_gzip(path, "wb", big, n);
			else
				write_file(path, big, n);
			CU_ASSERT_FATAL(ls_reader_open(&r, path, MIB, &g.err) == 0);
			drain(r, &g);
			CU_ASSERT_EQUAL(ls_reader_fingerprint(r), fp0);
			head = ls_reader_head(r, &head_len);
			CU_ASSERT_EQUAL(head_len, n < 1024 ? n : 1024);
			CU_ASSERT(memcmp(head, big, head_len) == 0);
			ls_reader_free(r);
			got_free(&g);
			unlink(path);
		}
	}
	/* a first line over 1 KiB: its first 1 KiB, whatever follows */
	memset(big, 'y', 5000);
	big[3000] = '\n';
	write_file(tmp_path(&t, "long.log"), big, 5000);
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &g.err) == 0);
	drain(r, &g);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), XXH64(big, 1024, 0));
	ls_reader_free(r);
	got_free(&g);
	write_zstd(tmp_path(&t, "long.zst"), big, 2000);
	CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &g.err) == 0);
	drain(r, &g);
	CU_ASSERT_EQUAL(ls_reader_fingerprint(r), XXH64(big, 1024, 0));
	ls_reader_free(r);
	got_free(&g);
	free(big);
	tmp_end(&t);
}

/* ls_reader_whole_lines_only(): a compressed file cut short (still being
 * written) gives its whole lines, not the piece of the line the cut went
 * through, then the error; bytes_out stays at the last whole line's end,
 * where the finished file is to be read again. Without it, the piece comes
 * too (parse shows all it can). */
static void test_whole_lines_only(void)
{
	const size_t size = 300 * 1024;
	char *text = gen_content(size, 29), *packed, *prefix = malloc(size);
	size_t packed_len, cut, got_len, whole_len;
	struct tmp t;
	struct got want, have;
	struct ls_reader *r;

	CU_ASSERT_FATAL(prefix != NULL);
	tmp_begin(&t);
	for (int zstd = 0; zstd < 2; zstd++) {
		if (zstd)
			write_zstd(tmp_path(&t, "whole"), text, size);
		else
			write_gzip(tmp_path(&t, "whole"), "wb", text, size);
		packed = ls_test_read_file(t.path, &packed_len);
		/* a cut that leaves a piece of a line after the last "\n" */
		for (cut = packed_len / 2;; cut++) {
			got_len = zstd ? unzstd_prefix(packed, cut, prefix, size)
				       : inflate_prefix(packed, cut, prefix, size);
			if (got_len > 0 && prefix[got_len - 1] != '\n')
				break;
		}
		CU_ASSERT(memcmp(prefix, text, got_len) == 0);
		write_file(tmp_path(&t, "cut"), packed, cut);
		whole_len = got_len;
		while (whole_len > 0 && prefix[whole_len - 1] != '\n')
			whole_len--;
		CU_ASSERT_FATAL(whole_len > 0);

		ref_split(text, whole_len, MIB, &want);
		want.rc = LS_EDAMAGED;
		memset(&have, 0, sizeof(have));
		CU_ASSERT_FATAL(ls_reader_open(&r, t.path, MIB, &have.err) == 0);
		ls_reader_whole_lines_only(r);
		drain(r, &have);
		assert_same(&want, &have);
		CU_ASSERT_EQUAL(ls_reader_bytes_out(r), whole_len);
		CU_ASSERT_EQUAL(have.err.code, LS_EDAMAGED);
		ls_reader_free(r);
		got_free(&want);
		got_free(&have);

		/* without it: the piece too, flagged as having no newline */
		ref_split(text, got_len, MIB, &want);
		want.rc = LS_EDAMAGED;
		read_all(t.path, MIB, &have);
		assert_same(&want, &have);
		CU_ASSERT(want.n > 0 && want.lines[want.n - 1].flags == LS_LINE_NO_NEWLINE);
		got_free(&want);
		got_free(&have);
		free(packed);
	}
	free(prefix);
	free(text);
	tmp_end(&t);
}

static void test_gzip_corrupt(void)
{
	const size_t size = 50000;
	char *text = gen_content(size, 37), *gz;
	size_t gz_len;
	struct tmp t;
	struct got want, have;
	char prefix[192];

	tmp_begin(&t);
	write_gzip(tmp_path(&t, "c.gz"), "wb", text, size);
	gz = ls_test_read_file(t.path, &gz_len);
	/* break the trailer's CRC: all data decodes, then the check fails */
	gz[gz_len - 8] ^= 0x55;
	write_file(t.path, gz, gz_len);
	ref_split(text, size, MIB, &want);
	want.rc = LS_EDAMAGED;
	read_all(t.path, MIB, &have);
	assert_same(&want, &have);
	snprintf(prefix, sizeof(prefix),
		 "%s: damaged gzip input at byte %zu: incorrect data check",
		 t.path, gz_len - 4);
	CU_ASSERT_STRING_EQUAL(have.err.msg, prefix);
	got_free(&want);
	got_free(&have);
	free(gz);
	free(text);
	tmp_end(&t);
}

static const struct ls_test_case cases[] = {
	{ "plain lines and offsets", test_plain_lines_offsets },
	{ "CRLF endings", test_crlf },
	{ "no final newline", test_no_final_newline },
	{ "empty file", test_empty_file },
	{ "NUL bytes kept", test_nul_bytes },
	{ "max_line edges", test_max_line_edges },
	{ "max_line cut at a UTF-8 character's start", test_max_line_utf8 },
	{ "10 MB line, 1 MiB cap", test_ten_mb_line },
	{ "CRLF split across blocks", test_crlf_across_blocks },
	{ "lines across blocks", test_lines_across_blocks },
	{ "gzip same as plain", test_gzip_same_as_plain },
	{ "zstd same as plain", test_zstd_same_as_plain },
	{ "compressed output of whole blocks", test_compressed_block_multiple },
	{ "concatenated gzip members", test_gzip_concatenated },
	{ "truncated gzip", test_gzip_truncated },
	{ "truncated zstd", test_zstd_truncated },
	{ "corrupt gzip trailer", test_gzip_corrupt },
	{ "directory refused", test_directory },
	{ "missing file", test_missing_file },
	{ "pipe via /dev/fd", test_pipe_via_dev_fd },
	{ "gzip on standard input", test_stdin_gzip_pipe },
	{ "magic prefix alone is plain", test_magic_prefix_is_plain },
	{ "fingerprint and counters", test_fingerprint_and_counters },
	{ "fingerprint: the first line, whatever follows", test_fingerprint_first_line },
	{ "whole lines only: a compressed file cut short", test_whole_lines_only },
	{ NULL, NULL }
};

LS_TEST_SUITE(reader, cases);

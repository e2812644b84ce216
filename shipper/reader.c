/* reader.c - lines from a file, standard input or a FIFO, plain, gzip or
 * zstd (chosen by the first bytes, never by the name).
 *
 * Input is read in blocks of LS_READER_BLOCK bytes into one buffer allocated
 * at open; compressed input is inflated into a second block. Lines are found
 * with memchr and, when a line lies inside one block, returned in place. Only
 * a line that spans blocks is copied, into a line buffer of max_line bytes;
 * bytes of a line beyond that are counted but not kept (only its last byte is
 * remembered, to strip a "\r" before "\n"), so memory stays bounded whatever
 * the input: two blocks plus max_line. */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#define LS_READER_BLOCK ((size_t)256 * 1024)
#define LS_FINGERPRINT_BYTES 1024
#define LS_DEFAULT_MAX_LINE ((size_t)1 << 20)
#define LS_STDIN_NAME "(standard input)"

enum ls_compression {
	LS_COMP_UNKNOWN,
	LS_COMP_PLAIN,
	LS_COMP_GZIP,
	LS_COMP_ZSTD
};

struct ls_reader {
	int fd;
	int own_fd;              /* 0 for standard input, which we do not close */
	char *name;              /* path, or LS_STDIN_NAME, for messages */
	size_t max_line;
	enum ls_compression comp;

	/* bytes as read from fd; [raw_pos, raw_len) not yet consumed */
	unsigned char *raw;
	size_t raw_len, raw_pos;
	int raw_eof;

	/* the current decompressed block (points into raw for plain input) */
	unsigned char *inflated; /* output block for gzip/zstd */
	const char *dec;
	size_t dec_len, dec_pos;

	/* the line being assembled across blocks */
	char *line;
	size_t line_stored;      /* bytes kept in line (at most max_line) */
	uint64_t line_total;     /* bytes seen of this line, kept or not */
	char line_last;          /* last byte seen of this line */
	uint64_t line_start;     /* offset of this line in the decompressed stream */

	z_stream zs;
	int zs_ready;
	int gz_member_end;       /* inflate finished a member; another may follow */
	ZSTD_DStream *zd;
	size_t zstd_hint;        /* last ZSTD_decompressStream result (0: frame done) */
	int out_full;            /* decoder filled its output: more may be pending */

	uint64_t bytes_in;
	uint64_t bytes_out;

	unsigned char fp_buf[LS_FINGERPRINT_BYTES]; /* the input's first bytes */
	size_t fp_len;
	uint64_t fingerprint;    /* ls_reader_first_line_hash() of fp_buf */
	int fingerprint_final;   /* the first line (or 1 KiB) is all there */
	int whole_lines;         /* ls_reader_whole_lines_only() */

	int follow;              /* a growing plain file: the end is not sticky and
				  * a last line without "\n" is held back */
	int at_eof;              /* the stream ended: next() keeps returning 0 */
	int failed;              /* a sticky error, in saved_err */
	struct ls_error saved_err;
	int deferred;            /* an error held back until the data before it is read */
	struct ls_error deferred_err;
};

/* ---- opening ---------------------------------------------------------- */

static int open_input(struct ls_reader *r, const char *path,
		      struct ls_error *err)
{
	int e;

	if (!path || strcmp(path, "-") == 0) {
		r->fd = 0;
		r->own_fd = 0;
		r->name = strdup(LS_STDIN_NAME);
	} else {
		r->name = strdup(path);
		if (!r->name)
			return ls_error_set(err, LS_ENOMEM, "%s: out of memory", path);
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		r->own_fd = r->fd >= 0;
		if (r->fd < 0) {
			e = errno;
			return ls_error_set(err, e == ENOENT ? LS_ENOENT : LS_EIO,
					    "%s: %s", path, strerror(e));
		}
	}
	if (!r->name)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	return 0;
}

static int check_not_directory(struct ls_reader *r, struct ls_error *err)
{
	struct stat st;

	if (fstat(r->fd, &st) < 0)
		return ls_error_set(err, LS_EIO, "%s: %s", r->name, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return ls_error_set(err, LS_EINVAL, "%s: Is a directory", r->name);
	return 0;
}

static int alloc_buffers(struct ls_reader *r, size_t max_line,
			 struct ls_error *err)
{
	if (max_line == 0)
		max_line = LS_DEFAULT_MAX_LINE;
	if (max_line >= SIZE_MAX / 2)
		return ls_error_set(err, LS_EINVAL, "%s: line limit %zu too large",
				    r->name, max_line);
	r->max_line = max_line;
	r->raw = malloc(LS_READER_BLOCK);
	r->inflated = malloc(LS_READER_BLOCK);
	r->line = malloc(max_line);
	if (!r->raw || !r->inflated || !r->line)
		return ls_error_set(err, LS_ENOMEM, "%s: out of memory", r->name);
	return 0;
}

/* Opens path ("-" or NULL: standard input, fd 0, never seeked or closed)
 * read-only and close-on-exec. Fails with LS_ENOENT ("PATH: No such file or
 * directory"), LS_EIO (other open errors) or LS_EINVAL ("PATH: Is a
 * directory"). max_line caps the bytes returned for one line (0: 1 MiB).
 * Nothing is read yet: the compression is detected by the first
 * ls_reader_next(). Caller frees *out with ls_reader_free(). */
int ls_reader_open(struct ls_reader **out, const char *path, size_t max_line,
		   struct ls_error *err)
{
	struct ls_reader *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = ls_error_set(err, LS_ENOMEM, "%s: out of memory",
				  path ? path : LS_STDIN_NAME);
		goto out;
	}
	r->fd = -1;
	rc = open_input(r, path, err);
	if (rc < 0)
		goto out;
	rc = check_not_directory(r, err);
	if (rc < 0)
		goto out;
	rc = alloc_buffers(r, max_line, err);
	if (rc < 0)
		goto out;
	*out = r;
	r = NULL;
out:
	ls_reader_free(r);
	return rc;
}

static void emit(struct ls_reader *r, const char *data, uint64_t total,
		 int had_newline, const char **line, size_t *len,
		 uint64_t *offset, unsigned *flags);

/* Opens a plain file to follow from byte offset start (a line start):
 * see reader.h. */
int ls_reader_open_follow(struct ls_reader **out, const char *path, uint64_t start,
			  size_t max_line, struct ls_error *err)
{
	int rc = ls_reader_open(out, path, max_line, err);

	if (rc < 0)
		return rc;
	(*out)->follow = 1;
	(*out)->comp = LS_COMP_PLAIN;
	return ls_reader_rewind(*out, start, err);
}

/* Moves a followed file's read position to offset (a line start): see
 * reader.h. */
int ls_reader_rewind(struct ls_reader *r, uint64_t offset, struct ls_error *err)
{
	if (lseek(r->fd, (off_t)offset, SEEK_SET) < 0)
		return ls_error_set(err, LS_EIO, "%s: cannot seek to byte %llu: %s", r->name,
				    (unsigned long long)offset, strerror(errno));
	r->raw_len = r->raw_pos = 0;
	r->raw_eof = 0;
	r->dec_len = r->dec_pos = 0;
	r->line_stored = 0;
	r->line_total = 0;
	r->line_start = offset;
	r->bytes_in = offset;
	r->bytes_out = offset;
	r->at_eof = 0;
	return 0;
}

/* Bytes of a last line held back for want of its "\n" (follow mode). */
uint64_t ls_reader_held(const struct ls_reader *r)
{
	return r->line_total;
}

/* Hands out the held partial line as a line of its own (flag
 * LS_LINE_NO_NEWLINE): see reader.h. */
int ls_reader_take_partial(struct ls_reader *r, const char **line, size_t *len,
			   uint64_t *offset, unsigned *flags)
{
	if (r->line_total == 0)
		return 0;
	emit(r, r->line, r->line_total, 0, line, len, offset, flags);
	return 1;
}

int ls_reader_fd(const struct ls_reader *r)
{
	return r->fd;
}

/* Closes the file (not standard input) and frees r and its buffers; lines
 * returned by ls_reader_next() are invalid afterwards. NULL is a no-op. */
void ls_reader_free(struct ls_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	if (r->zs_ready)
		inflateEnd(&r->zs);
	ZSTD_freeDStream(r->zd);
	free(r->raw);
	free(r->inflated);
	free(r->line);
	free(r->name);
	free(r);
}

/* ---- raw input -------------------------------------------------------- */

/* Reads up to the free space after raw_len. Returns bytes read, 0 at end of
 * input, or LS_EIO. */
static ssize_t read_raw_append(struct ls_reader *r, struct ls_error *err)
{
	ssize_t n;

	do
		n = read(r->fd, r->raw + r->raw_len, LS_READER_BLOCK - r->raw_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ls_error_set(err, LS_EIO, "%s: read error at byte %llu: %s",
				    r->name, (unsigned long long)r->bytes_in,
				    strerror(errno));
	if (n == 0)
		r->raw_eof = 1;
	r->raw_len += (size_t)n;
	r->bytes_in += (uint64_t)n;
	return n;
}

/* Replaces the consumed raw block with the next one. */
static ssize_t read_raw_block(struct ls_reader *r, struct ls_error *err)
{
	r->raw_len = 0;
	r->raw_pos = 0;
	return read_raw_append(r, err);
}

static uint64_t compressed_consumed(const struct ls_reader *r)
{
	return r->bytes_in - (r->raw_len - r->raw_pos);
}

/* ---- detection -------------------------------------------------------- */

static const unsigned char gzip_magic[] = { 0x1f, 0x8b };
static const unsigned char zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };

/* 1 if the n bytes seen could still turn out to start with magic. */
static int could_be(const unsigned char *p, size_t n,
		    const unsigned char *magic, size_t magic_len)
{
	return memcmp(p, magic, n < magic_len ? n : magic_len) == 0;
}

static int starts_with(const unsigned char *p, size_t n,
		       const unsigned char *magic, size_t magic_len)
{
	return n >= magic_len && memcmp(p, magic, magic_len) == 0;
}

static int start_decoder(struct ls_reader *r, struct ls_error *err)
{
	if (r->comp == LS_COMP_GZIP) {
		if (inflateInit2(&r->zs, 15 + 32) != Z_OK)
			return ls_error_set(err, LS_ENOMEM,
					    "%s: cannot start gzip decoder", r->name);
		r->zs_ready = 1;
	} else if (r->comp == LS_COMP_ZSTD) {
		r->zd = ZSTD_createDStream();
		if (!r->zd || ZSTD_isError(ZSTD_initDStream(r->zd)))
			return ls_error_set(err, LS_ENOMEM,
					    "%s: cannot start zstd decoder", r->name);
	}
	return 0;
}

/* Reads the first block and picks the decoder from its first bytes. On a
 * pipe a short first read is extended only while it is still a prefix of a
 * magic number, so a slow plain-text writer is never waited for. */
static int detect(struct ls_reader *r, struct ls_error *err)
{
	ssize_t n;

	do {
		n = read_raw_append(r, err);
		if (n < 0)
			return (int)n;
	} while (n > 0 && r->raw_len < sizeof(zstd_magic) &&
		 (could_be(r->raw, r->raw_len, gzip_magic, sizeof(gzip_magic)) ||
		  could_be(r->raw, r->raw_len, zstd_magic, sizeof(zstd_magic))));

	if (starts_with(r->raw, r->raw_len, gzip_magic, sizeof(gzip_magic)))
		r->comp = LS_COMP_GZIP;
	else if (starts_with(r->raw, r->raw_len, zstd_magic, sizeof(zstd_magic)))
		r->comp = LS_COMP_ZSTD;
	else
		r->comp = LS_COMP_PLAIN;
	return start_decoder(r, err);
}

/* ---- decoders: each fills dec with the next decompressed block --------- */

/* Returns bytes in the new block, 0 at the end, or a negative code. */
static ssize_t fill_plain(struct ls_reader *r, struct ls_error *err)
{
	ssize_t n;

	if (r->raw_pos == r->raw_len) {
		if (r->raw_eof)
			return 0;
		n = read_raw_block(r, err);
		if (n <= 0)
			return n;
	}
	r->dec = (const char *)r->raw + r->raw_pos;
	n = (ssize_t)(r->raw_len - r->raw_pos);
	r->raw_pos = r->raw_len;
	return n;
}

/* Makes sure the decoder has input unless it still holds output to flush.
 * Returns 1 when input (or pending output) is there, 0 at end of file. */
static int need_input(struct ls_reader *r, struct ls_error *err)
{
	ssize_t n;

	if (r->raw_pos < r->raw_len || r->out_full)
		return 1;
	if (r->raw_eof)
		return 0;
	n = read_raw_block(r, err);
	if (n < 0)
		return (int)n;
	return n > 0;
}

static int gzip_truncated(struct ls_reader *r, struct ls_error *err)
{
	return ls_error_set(err, LS_EDAMAGED,
			    "%s: truncated gzip input at byte %llu", r->name,
			    (unsigned long long)compressed_consumed(r));
}

static int gzip_damaged(struct ls_reader *r, int zrc, struct ls_error *err)
{
	return ls_error_set(err, LS_EDAMAGED,
			    "%s: damaged gzip input at byte %llu: %s", r->name,
			    (unsigned long long)compressed_consumed(r),
			    r->zs.msg ? r->zs.msg : zError(zrc));
}

/* A finished member may be followed by another (concatenated .gz files). */
static int gzip_next_member(struct ls_reader *r, struct ls_error *err)
{
	int rc = need_input(r, err);

	if (rc <= 0)
		return rc;
	r->gz_member_end = 0;
	return inflateReset(&r->zs) == Z_OK ? 1 :
		ls_error_set(err, LS_ENOMEM, "%s: cannot reset gzip decoder",
			     r->name);
}

static ssize_t fill_gzip(struct ls_reader *r, struct ls_error *err)
{
	size_t produced;
	int rc, zrc;

	for (;;) {
		rc = r->gz_member_end ? gzip_next_member(r, err) : need_input(r, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return r->gz_member_end ? 0 : gzip_truncated(r, err);
		r->zs.next_in = r->raw + r->raw_pos;
		r->zs.avail_in = (uInt)(r->raw_len - r->raw_pos);
		r->zs.next_out = r->inflated;
		r->zs.avail_out = (uInt)LS_READER_BLOCK;
		zrc = inflate(&r->zs, Z_NO_FLUSH);
		r->raw_pos = r->raw_len - r->zs.avail_in;
		produced = LS_READER_BLOCK - r->zs.avail_out;
		/* at a member's end inflate has flushed everything */
		r->out_full = r->zs.avail_out == 0 && zrc != Z_STREAM_END;
		if (zrc == Z_STREAM_END)
			r->gz_member_end = 1;
		else if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			rc = gzip_damaged(r, zrc, err);
		if (rc < 0 && produced == 0)
			return rc;
		if (rc < 0)
			r->deferred = 1; /* deliver the bytes before the damage first */
		if (produced > 0) {
			r->dec = (const char *)r->inflated;
			return (ssize_t)produced;
		}
	}
}

static ssize_t fill_zstd(struct ls_reader *r, struct ls_error *err)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;
	size_t ret;
	int rc;

	for (;;) {
		rc = need_input(r, err);
		if (rc < 0)
			return rc;
		if (rc == 0 && r->zstd_hint == 0)
			return 0;
		if (rc == 0)
			return ls_error_set(err, LS_EDAMAGED,
					    "%s: damaged zstd input at byte %llu: %s",
					    r->name,
					    (unsigned long long)compressed_consumed(r),
					    "truncated frame");
		in.src = r->raw;
		in.size = r->raw_len;
		in.pos = r->raw_pos;
		out.dst = r->inflated;
		out.size = LS_READER_BLOCK;
		out.pos = 0;
		ret = ZSTD_decompressStream(r->zd, &out, &in);
		r->raw_pos = in.pos;
		/* 0: the frame is decoded and flushed, nothing is pending */
		r->out_full = out.pos == out.size && ret != 0;
		if (ZSTD_isError(ret)) {
			rc = ls_error_set(err, LS_EDAMAGED,
					  "%s: damaged zstd input at byte %llu: %s",
					  r->name,
					  (unsigned long long)compressed_consumed(r),
					  ZSTD_getErrorName(ret));
			if (out.pos == 0)
				return rc;
			r->deferred = 1;
		} else {
			r->zstd_hint = ret;
		}
		if (out.pos > 0) {
			r->dec = (const char *)r->inflated;
			return (ssize_t)out.pos;
		}
	}
}

/* The first line's hash: see reader.h. */
uint64_t ls_reader_first_line_hash(const void *head, size_t len, int *final)
{
	const char *nl = memchr(head, '\n', len);

	if (final)
		*final = nl || len >= LS_FINGERPRINT_BYTES;
	if (nl)
		len = (size_t)(nl - (const char *)head) + 1;
	else if (len > LS_FINGERPRINT_BYTES)
		len = LS_FINGERPRINT_BYTES;
	return XXH64(head, len, 0);
}

static void update_fingerprint(struct ls_reader *r, const char *p, size_t n)
{
	size_t take = LS_FINGERPRINT_BYTES - r->fp_len;

	if (take == 0 || n == 0)
		return;
	if (take > n)
		take = n;
	memcpy(r->fp_buf + r->fp_len, p, take);
	r->fp_len += take;
	if (!r->fingerprint_final)
		r->fingerprint = ls_reader_first_line_hash(r->fp_buf, r->fp_len,
							   &r->fingerprint_final);
}

/* Loads the next decompressed block into dec. Returns its size (> 0), 0 at
 * the end of the stream, or a negative code with err filled. An error met
 * after some output was produced is held in deferred_err and returned by the
 * following call, so the lines before the damage are all read first. */
static ssize_t fill(struct ls_reader *r, struct ls_error *err)
{
	ssize_t n;
	int rc;

	if (r->deferred) {
		if (err)
			*err = r->deferred_err;
		return r->deferred_err.code;
	}
	if (r->comp == LS_COMP_UNKNOWN) {
		rc = detect(r, err);
		if (rc < 0)
			return rc;
	}
	if (r->comp == LS_COMP_GZIP)
		n = fill_gzip(r, &r->deferred_err);
	else if (r->comp == LS_COMP_ZSTD)
		n = fill_zstd(r, &r->deferred_err);
	else
		n = fill_plain(r, &r->deferred_err);
	if (n < 0) {
		r->deferred = 0;
		if (err)
			*err = r->deferred_err;
		return n;
	}
	r->dec_len = (size_t)n;
	r->dec_pos = 0;
	update_fingerprint(r, r->dec, r->dec_len);
	return n;
}

/* ---- lines ------------------------------------------------------------ */

/* Keeps what fits of a piece of a line that continues past this block. */
static void keep_piece(struct ls_reader *r, const char *p, size_t n)
{
	size_t room = r->max_line - r->line_stored;

	if (n == 0)
		return;
	if (room > n)
		room = n;
	memcpy(r->line + r->line_stored, p, room);
	r->line_stored += room;
	r->line_total += n;
	r->line_last = p[n - 1];
}

/* The length to cut s (n bytes, the first n of a longer line) at: n, or
 * less when its last bytes begin a UTF-8 character that the cut would
 * split (a lead byte and fewer continuation bytes than it announces), so
 * that a truncated line does not end in half a character and pass for
 * invalid UTF-8. */
static size_t utf8_cut(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = p[n - back];
		size_t need;
		if ((c & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		if (c < 0xC2 || c > 0xF4)
			return n; /* ASCII, or not a lead byte: nothing split */
		need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		return need > back ? n - back : n;
	}
	return n;
}

/* Hands out a line of `total` bytes (the \n not counted) found at data. */
static void emit(struct ls_reader *r, const char *data, uint64_t total,
		 int had_newline, const char **line, size_t *len,
		 uint64_t *offset, unsigned *flags)
{
	uint64_t content = total;

	*flags = 0;
	if (had_newline && total > 0 && r->line_last == '\r')
		content--;
	if (content > r->max_line) {
		content = utf8_cut(data, r->max_line);
		*flags |= LS_LINE_TRUNCATED;
	}
	if (!had_newline)
		*flags |= LS_LINE_NO_NEWLINE;
	*line = data;
	*len = (size_t)content;
	*offset = r->line_start;
	r->line_start += total + (had_newline ? 1 : 0);
	r->bytes_out = r->line_start;
	r->line_stored = 0;
	r->line_total = 0;
}

/* Returns the next line in *line and *len (without "\n" or "\r\n"; NUL bytes
 * kept), valid until the next call or ls_reader_free(); *offset is its byte
 * offset in the decompressed stream, *flags has LS_LINE_TRUNCATED (only the
 * first max_line bytes are given, the rest up to "\n" was skipped) and
 * LS_LINE_NO_NEWLINE (the input ended without "\n"; a lone final "\r" is kept).
 * Returns 1 for a line, 0 at the end (and on every later call), or a
 * negative code: LS_EIO ("PATH: read error at byte N: ..."), LS_EDAMAGED
 * ("PATH: truncated gzip input at byte N", "PATH: damaged zstd input at byte
 * N: reason"; N counts compressed bytes). Every line before the damage,
 * including a partial last one (LS_LINE_NO_NEWLINE) unless
 * ls_reader_whole_lines_only() was asked, is returned before the error,
 * which is then returned again by later calls. */
int ls_reader_next(struct ls_reader *r, const char **line, size_t *len,
		   uint64_t *offset, unsigned *flags, struct ls_error *err)
{
	const char *p, *nl;
	size_t avail, seg;
	ssize_t n;

	if (r->failed) {
		if (err)
			*err = r->saved_err;
		return r->saved_err.code;
	}
	if (r->at_eof)
		return 0;
	for (;;) {
		if (r->dec_pos == r->dec_len) {
			n = fill(r, &r->saved_err);
			if (n == 0 && r->follow) {
				/* more may be written: hold any partial line */
				r->raw_eof = 0;
				return 0;
			}
			if (n <= 0 && r->line_total > 0 && !(n < 0 && r->whole_lines)) {
				/* the partial last line goes out before the end or error */
				if (n == 0)
					r->at_eof = 1;
				else
					r->deferred = 1;
				emit(r, r->line, r->line_total, 0, line, len, offset, flags);
				return 1;
			}
			if (n == 0) {
				r->at_eof = 1;
				return 0;
			}
			if (n < 0) {
				r->failed = 1;
				if (err)
					*err = r->saved_err;
				return (int)n;
			}
		}
		p = r->dec + r->dec_pos;
		avail = r->dec_len - r->dec_pos;
		nl = memchr(p, '\n', avail);
		if (!nl) {
			keep_piece(r, p, avail);
			r->dec_pos = r->dec_len;
			continue;
		}
		seg = (size_t)(nl - p);
		r->dec_pos += seg + 1;
		if (r->line_total == 0) {
			/* the whole line is in this block: hand it out in place */
			r->line_last = seg ? p[seg - 1] : 0;
			emit(r, p, seg, 1, line, len, offset, flags);
			return 1;
		}
		keep_piece(r, p, seg);
		emit(r, r->line, r->line_total, 1, line, len, offset, flags);
		return 1;
	}
}

/* Bytes read so far from the file (compressed bytes for gzip and zstd). */
uint64_t ls_reader_bytes_in(const struct ls_reader *r)
{
	return r->bytes_in;
}

/* Decompressed bytes delivered: the stream offset just past the last line
 * returned (its "\n" and any skipped tail included), a safe resume point. */
uint64_t ls_reader_bytes_out(const struct ls_reader *r)
{
	return r->bytes_out;
}

/* ls_reader_first_line_hash() of the decompressed bytes read so far: final
 * once the first line was returned; 0 before anything was read. */
uint64_t ls_reader_fingerprint(const struct ls_reader *r)
{
	return r->fingerprint;
}

/* The first min(1024, read so far) decompressed bytes, valid until
 * ls_reader_free(). */
const unsigned char *ls_reader_head(const struct ls_reader *r, size_t *len)
{
	*len = r->fp_len;
	return r->fp_buf;
}

/* Drops a last line cut short by damage: see reader.h. */
void ls_reader_whole_lines_only(struct ls_reader *r)
{
	r->whole_lines = 1;
}

/* "plain", "gzip" or "zstd" ("plain" until the first read decides). */
const char *ls_reader_compression(const struct ls_reader *r)
{
	if (r->comp == LS_COMP_GZIP)
		return "gzip";
	if (r->comp == LS_COMP_ZSTD)
		return "zstd";
	return "plain";
}

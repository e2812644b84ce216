/* reader.h - reading lines from a file, "-"/stdin or a FIFO, with transparent
 * gzip and zstd (detected by magic bytes), large buffered reads, a cap on line
 * length and the byte offset of every line. */
#ifndef LS_READER_H
#define LS_READER_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"

struct ls_reader;

enum {
	LS_LINE_TRUNCATED = 1 << 0, /* longer than max_line: the rest was skipped */
	LS_LINE_NO_NEWLINE = 1 << 1 /* last line of the input had no final \n */
};

/* Opens path ("-" or NULL: standard input, named "(standard input)" in
 * messages). Directories (LS_EINVAL), missing (LS_ENOENT) and unreadable
 * (LS_EIO) files fail with a message naming the path. max_line caps a line's
 * bytes (0: 1 MiB); memory stays about 512 KiB + max_line whatever the input.
 * Caller frees with ls_reader_free(). */
int ls_reader_open(struct ls_reader **out, const char *path, size_t max_line,
		   struct ls_error *err);
void ls_reader_free(struct ls_reader *r);

/* Returns the next line without its "\n" (and without a "\r" before it) in
 * *line and *len, valid until the next call; *offset is the line's byte offset in
 * the (decompressed) stream; *flags has LS_LINE_*. Returns 1 for a line, 0 at
 * the end, or a negative code with err naming the file and offset (for
 * damaged compressed input: the lines before the damage were all returned).
 * The end and errors are sticky: later calls return the same. */
int ls_reader_next(struct ls_reader *r, const char **line, size_t *len,
		   uint64_t *offset, unsigned *flags, struct ls_error *err);

/* Bytes read so far from the underlying file (compressed bytes for .gz/.zst)
 * and decompressed bytes delivered: the stream offset just past the last line
 * returned (its newline and any skipped tail included). */
uint64_t ls_reader_bytes_in(const struct ls_reader *r);
uint64_t ls_reader_bytes_out(const struct ls_reader *r);

/* A fingerprint of the input: XXH64 of its first (up to 1024) decompressed
 * bytes, known after the first line was returned (0 for an empty input). */
uint64_t ls_reader_fingerprint(const struct ls_reader *r);

/* "plain", "gzip" or "zstd". */
const char *ls_reader_compression(const struct ls_reader *r);

#endif

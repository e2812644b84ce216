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

/* The input's fingerprint, which event ids are made with: XXH64 (seed 0)
 * of its first line, "\n" included, or of its first 1024 bytes when that
 * line is longer (ls_reader_first_line_hash()), over the decompressed
 * bytes. Final once the first line was returned, and the same whatever is
 * written after that line: a file that grows, is renamed or is compressed
 * keeps it. 0 for an empty input. */
uint64_t ls_reader_fingerprint(const struct ls_reader *r);

/* XXH64 (seed 0) of head's first line, "\n" included, or of its first
 * min(len, 1024) bytes when they hold no "\n". *final (may be NULL) is set
 * to 1 when more bytes after head could not change the result: a "\n" was
 * found, or len >= 1024. */
uint64_t ls_reader_first_line_hash(const void *head, size_t len, int *final);

/* The first min(1024, bytes read) decompressed bytes of the input, in
 * *len bytes, valid until ls_reader_free(): what a file is recognised by
 * (checkpoint.h's fingerprint is XXH64 of the first fp_len of them). Not
 * for follow mode, which starts where it is told. */
const unsigned char *ls_reader_head(const struct ls_reader *r, size_t *len);

/* For a file being written while it is read (a rotated file that gzip is
 * still compressing): a last line cut short by damage or truncation is not
 * returned before the error, so ls_reader_bytes_out() stays at the end of
 * the last whole line, where a later read of the finished file resumes.
 * parse, which shows what it can, does not ask for it. */
void ls_reader_whole_lines_only(struct ls_reader *r);

/* Follow mode, for a growing plain file (tail, ship). Opens path and starts
 * at byte offset start, which must be a line start. ls_reader_next() then
 * returns 0 when it has read all there is, and returns more lines after the
 * file grows; a last line without "\n" is held back (its bytes counted by
 * ls_reader_held()) until its "\n" arrives or ls_reader_take_partial()
 * hands it out. No decompression in this mode. ls_reader_bytes_out() is the
 * offset just past the last line returned: the resume point. Caller frees
 * with ls_reader_free(). */
int ls_reader_open_follow(struct ls_reader **out, const char *path, uint64_t start,
			  size_t max_line, struct ls_error *err);

/* Moves a followed file's position to offset (a line start), dropping any
 * held partial line: after truncation (offset 0). LS_EIO when lseek fails. */
int ls_reader_rewind(struct ls_reader *r, uint64_t offset, struct ls_error *err);

/* Bytes of the held partial line (0: none). */
uint64_t ls_reader_held(const struct ls_reader *r);

/* Returns the held partial line like ls_reader_next() (1, with
 * LS_LINE_NO_NEWLINE in *flags), or 0 when none is held. Used after
 * --partial-timeout and when a rotated file is closed. */
int ls_reader_take_partial(struct ls_reader *r, const char **line, size_t *len,
			   uint64_t *offset, unsigned *flags);

/* The open descriptor (for fstat). */
int ls_reader_fd(const struct ls_reader *r);

/* "plain", "gzip" or "zstd". */
const char *ls_reader_compression(const struct ls_reader *r);

#endif

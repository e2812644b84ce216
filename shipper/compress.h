/* compress.h - request bodies compressed with gzip or zstd, and made plain
 * again when ship needs their items back (a split, dead letters). */
#ifndef LS_COMPRESS_H
#define LS_COMPRESS_H

#include <stddef.h>

#include "../parsers/buf.h"

enum ls_compression_kind { LS_COMPRESS_NONE, LS_COMPRESS_GZIP, LS_COMPRESS_ZSTD };

/* Parses "none", "gzip" or "zstd"; -1 when unknown. */
int ls_compress_parse(const char *name);

struct ls_compressor;

/* A compressor for one run: its encoder states and output buffer are kept
 * from body to body, so a warm compressor allocates nothing. gzip is level
 * 1; zstd is level 3 with its match tables capped (about 0.6 MiB of state,
 * whatever the body's size). Returns NULL when out of memory; free with
 * ls_compressor_free(). */
struct ls_compressor *ls_compressor_new(void);
void ls_compressor_free(struct ls_compressor *z);

/* Compresses in[0..len) with kind (gzip or zstd): *out and *out_len are the
 * compressed bytes, owned by z and valid until its next use. Returns 0,
 * LS_ENOMEM, or LS_EIO when the encoder fails. */
int ls_compressor_run(struct ls_compressor *z, enum ls_compression_kind kind, const void *in,
		      size_t len, const char **out, size_t *out_len);

/* Replaces out's contents with in[0..len) decompressed, which must be
 * exactly raw_len bytes (a body ls_compressor_run() made from raw_len
 * bytes). Returns 0, LS_ENOMEM (out's cap), or LS_EDAMAGED when in is not
 * such a body. */
int ls_decompress(enum ls_compression_kind kind, const void *in, size_t len, size_t raw_len,
		  struct ls_buf *out);

#endif

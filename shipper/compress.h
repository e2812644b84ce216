/* compress.h - request bodies compressed with gzip or zstd. */
#ifndef LS_COMPRESS_H
#define LS_COMPRESS_H

#include <stddef.h>

#include "../parsers/buf.h"

enum ls_compression_kind { LS_COMPRESS_NONE, LS_COMPRESS_GZIP, LS_COMPRESS_ZSTD };

/* Parses "none", "gzip" or "zstd"; -1 when unknown. */
int ls_compress_parse(const char *name);

/* Replaces out's contents with in[0..len) compressed (level: gzip 1, zstd
 * 3). Returns 0, LS_ENOMEM (out's cap), or LS_EIO when the encoder fails. */
int ls_compress(enum ls_compression_kind kind, const char *in, size_t len, struct ls_buf *out);

#endif

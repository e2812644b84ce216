/* compress.c - gzip (zlib) and zstd request bodies. */
#include "compress.h"

#include "../parsers/error.h"

#include <string.h>

#include <zlib.h>
#include <zstd.h>

int ls_compress_parse(const char *name)
{
	if (strcmp(name, "none") == 0)
		return LS_COMPRESS_NONE;
	if (strcmp(name, "gzip") == 0)
		return LS_COMPRESS_GZIP;
	if (strcmp(name, "zstd") == 0)
		return LS_COMPRESS_ZSTD;
	return -1;
}

static int gzip_into(const char *in, size_t len, struct ls_buf *out)
{
	z_stream zs;
	size_t bound;
	int rc;

	memset(&zs, 0, sizeof(zs));
	/* 15 + 16: a gzip header and trailer */
	/* level 1: log lines compress well even so, at a third of level 6's CPU */
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return LS_EIO;
	bound = deflateBound(&zs, (uLong)len) + 32;
	if (ls_buf_reserve(out, bound) < 0) {
		deflateEnd(&zs);
		return LS_ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	out->len = bound - zs.avail_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : LS_EIO;
}

static int zstd_into(const char *in, size_t len, struct ls_buf *out)
{
	/* one context for the whole run: ZSTD_compress() would build and free
	 * one (over a MiB) per request, and the heap keeps the high mark */
	static ZSTD_CCtx *cctx;
	size_t bound = ZSTD_compressBound(len), n;

	if (!cctx && !(cctx = ZSTD_createCCtx()))
		return LS_ENOMEM;
	if (ls_buf_reserve(out, bound) < 0)
		return LS_ENOMEM;
	n = ZSTD_compressCCtx(cctx, out->data, bound, in, len, 3);
	if (ZSTD_isError(n))
		return LS_EIO;
	out->len = n;
	return 0;
}

int ls_compress(enum ls_compression_kind kind, const char *in, size_t len, struct ls_buf *out)
{
	out->len = 0;
	if (kind == LS_COMPRESS_GZIP)
		return gzip_into(in, len, out);
	if (kind == LS_COMPRESS_ZSTD)
		return zstd_into(in, len, out);
	return ls_buf_append(out, in, len);
}

/* compress.c - gzip (zlib) and zstd request bodies. */
#include "compress.h"

#include "../parsers/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* zstd level 3 would size its two match tables by the body (2^17 and 2^16
 * entries, 0.75 MiB, for a 1 MiB batch; more at higher levels): 2^14 each
 * compresses log batches as well, with half of the state */
#define ZSTD_TABLE_LOG 14
/* an output buffer grown past this by one large body is not kept */
#define SCRATCH_KEEP ((size_t)4 << 20)

struct ls_compressor {
	z_stream zs;
	int zs_ready;
	ZSTD_CCtx *cctx;
	struct ls_buf out;
};

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

struct ls_compressor *ls_compressor_new(void)
{
	struct ls_compressor *z = calloc(1, sizeof(*z));

	if (z)
		ls_buf_init(&z->out, 0);
	return z;
}

void ls_compressor_free(struct ls_compressor *z)
{
	if (!z)
		return;
	if (z->zs_ready)
		deflateEnd(&z->zs);
	ZSTD_freeCCtx(z->cctx);
	ls_buf_release(&z->out);
	free(z);
}

static int gzip_run(struct ls_compressor *z, const void *in, size_t len)
{
	size_t bound;

	if (len > UINT32_MAX)
		return LS_ENOMEM;
	if (!z->zs_ready) {
		/* 15 + 16: a gzip header and trailer; level 1: log lines
		 * compress well even so, at a third of level 6's CPU */
		if (deflateInit2(&z->zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return LS_ENOMEM;
		z->zs_ready = 1;
	} else if (deflateReset(&z->zs) != Z_OK) {
		return LS_EIO;
	}
	bound = deflateBound(&z->zs, (uLong)len) + 32;
	if (ls_buf_reserve(&z->out, bound) < 0)
		return LS_ENOMEM;
	z->zs.next_in = (Bytef *)(uintptr_t)in;
	z->zs.avail_in = (uInt)len;
	z->zs.next_out = (Bytef *)z->out.data;
	z->zs.avail_out = (uInt)bound;
	if (deflate(&z->zs, Z_FINISH) != Z_STREAM_END)
		return LS_EIO;
	z->out.len = bound - z->zs.avail_out;
	return 0;
}

static int zstd_run(struct ls_compressor *z, const void *in, size_t len)
{
	size_t bound = ZSTD_compressBound(len), n;

	if (!z->cctx) {
		if (!(z->cctx = ZSTD_createCCtx()))
			return LS_ENOMEM;
		if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, 3)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_hashLog, ZSTD_TABLE_LOG)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_chainLog, ZSTD_TABLE_LOG))) {
			ZSTD_freeCCtx(z->cctx);
			z->cctx = NULL;
			return LS_EIO;
		}
	}
	if (ls_buf_reserve(&z->out, bound) < 0)
		return LS_ENOMEM;
	/* one call over the whole body: zstd then needs no window buffers of
	 * its own, only the capped tables */
	n = ZSTD_compress2(z->cctx, z->out.data, bound, in, len);
	if (ZSTD_isError(n))
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? LS_ENOMEM : LS_EIO;
	z->out.len = n;
	return 0;
}

int ls_compressor_run(struct ls_compressor *z, enum ls_compression_kind kind, const void *in,
		      size_t len, const char **out, size_t *out_len)
{
	int rc;

	if (z->out.cap > SCRATCH_KEEP)
		ls_buf_release(&z->out);
	z->out.len = 0;
	if (kind == LS_COMPRESS_GZIP)
		rc = gzip_run(z, in, len);
	else if (kind == LS_COMPRESS_ZSTD)
		rc = zstd_run(z, in, len);
	else
		rc = LS_EINVAL;
	*out = rc == 0 ? z->out.data : NULL;
	*out_len = rc == 0 ? z->out.len : 0;
	return rc;
}

static int gunzip_into(const void *in, size_t len, size_t raw_len, struct ls_buf *out)
{
	z_stream zs;
	int rc;

	if (len > UINT32_MAX || raw_len > UINT32_MAX)
		return LS_EDAMAGED;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return LS_ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data;
	zs.avail_out = (uInt)raw_len;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc == Z_MEM_ERROR)
		return LS_ENOMEM;
	return rc == Z_STREAM_END && zs.avail_out == 0 && zs.avail_in == 0 ? 0 : LS_EDAMAGED;
}

int ls_decompress(enum ls_compression_kind kind, const void *in, size_t len, size_t raw_len,
		  struct ls_buf *out)
{
	size_t n;
	int rc;

	out->len = 0;
	if (kind == LS_COMPRESS_NONE)
		return len == raw_len ? ls_buf_append(out, in, len) : LS_EDAMAGED;
	if (ls_buf_reserve(out, raw_len) < 0)
		return LS_ENOMEM;
	if (kind == LS_COMPRESS_GZIP) {
		rc = gunzip_into(in, len, raw_len, out);
	} else if (kind == LS_COMPRESS_ZSTD) {
		n = ZSTD_decompress(out->data, raw_len, in, len);
		rc = ZSTD_isError(n) ? (ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation
					? LS_ENOMEM : LS_EDAMAGED)
				     : n == raw_len ? 0 : LS_EDAMAGED;
	} else {
		rc = LS_EINVAL;
	}
	if (rc < 0)
		return rc;
	out->len = raw_len;
	out->data[raw_len] = '\0';
	return 0;
}

/* buf.h - a growable byte buffer with a hard cap. */
#ifndef LS_BUF_H
#define LS_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ls_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* growth never goes past this many bytes (0: 1 GiB) */
};

/* Initialises an empty buffer that may grow to max bytes (0: 1 GiB). */
void ls_buf_init(struct ls_buf *b, size_t max);
/* Frees the storage; the buffer may be initialised again. */
void ls_buf_release(struct ls_buf *b);
/* Makes room for n more bytes; 0 or LS_ENOMEM when the cap would be passed. */
int ls_buf_reserve(struct ls_buf *b, size_t n);
/* Appends n bytes (slow path of ls_buf_append); 0 or LS_ENOMEM. */
int ls_buf_append_grow(struct ls_buf *b, const void *p, size_t n);

/* Appends n bytes / a C string / one byte; 0 or LS_ENOMEM. The data stays
 * NUL-terminated. Inline: these run per field on the output path. */
static inline int ls_buf_append(struct ls_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len > n) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return 0;
	}
	return ls_buf_append_grow(b, p, n);
}

static inline int ls_buf_putc(struct ls_buf *b, char c)
{
	if (b->cap - b->len > 1) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return ls_buf_append_grow(b, &c, 1);
}

int ls_buf_puts(struct ls_buf *b, const char *s);
/* Appends s[0..len) as a C string literal (for the build tools' generated
 * sources): octal escapes, always three digits so that a following digit
 * is not taken in, for all but printable ASCII, and for '?' against
 * trigraphs. 0 or LS_ENOMEM. */
int ls_buf_c_string(struct ls_buf *b, const char *s, size_t len);

/* memcpy() for the short pieces of an event (values, keys), without a
 * call: overlapping moves that read and write exactly n bytes. */
static inline void ls_copy_small(char *dst, const char *src, size_t n)
{
	uint64_t a, b;
	uint32_t c, d;

	if (n >= 16) {
		memcpy(dst, src, n);
	} else if (n >= 8) {
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&c, src, 4);
		memcpy(&d, src + n - 4, 4);
		memcpy(dst, &c, 4);
		memcpy(dst + n - 4, &d, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}
/* Appends printf-formatted text; 0 or LS_ENOMEM. Not for the per-line path. */
int ls_buf_printf(struct ls_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

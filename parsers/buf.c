/* buf.c - growable byte buffer with a hard cap. */
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LS_BUF_DEFAULT_MAX ((size_t)1 << 30)

int ls_error_set(struct ls_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void ls_buf_init(struct ls_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : LS_BUF_DEFAULT_MAX;
}

void ls_buf_release(struct ls_buf *b)
{
	free(b->data);
	ls_buf_init(b, b->max);
}

int ls_buf_reserve(struct ls_buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return LS_ENOMEM;
	want = b->len + n + 1; /* keep room for a terminating NUL */
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return LS_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int ls_buf_append_grow(struct ls_buf *b, const void *p, size_t n)
{
	if (ls_buf_reserve(b, n) < 0)
		return LS_ENOMEM;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int ls_buf_puts(struct ls_buf *b, const char *s)
{
	return ls_buf_append(b, s, strlen(s));
}

int ls_buf_printf(struct ls_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ls_buf_reserve(b, (size_t)n) < 0)
		return LS_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int ls_buf_c_string(struct ls_buf *b, const char *s, size_t len)
{
	int rc = ls_buf_putc(b, '"');

	for (size_t i = 0; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 32 || c > 126 || c == '"' || c == '\\' || c == '?')
			rc = ls_buf_printf(b, "\\%03o", c);
		else
			rc = ls_buf_putc(b, (char)c);
	}
	return rc == 0 ? ls_buf_putc(b, '"') : rc;
}

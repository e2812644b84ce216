/* error.h - error codes and the error record every fallible call can fill. */
#ifndef LS_ERROR_H
#define LS_ERROR_H

#include <stddef.h>

enum ls_errcode {
	LS_OK = 0,
	LS_ENOMEM = -1,  /* allocation failed or a hard cap was reached */
	LS_EINVAL = -2,  /* bad argument, option or definition */
	LS_EIO = -3,     /* read/write failure */
	LS_EREGEX = -4,  /* a regular expression did not compile */
	LS_ENOENT = -5,  /* no such file, format or field */
	LS_EDAMAGED = -6, /* input is damaged (truncated gzip, bad zstd frame) */
	LS_EBUSY = -7     /* a lock is held by another process */
};

struct ls_error {
	int code;
	char msg[512];
};

/* Fills err (when not NULL) with code and a printf-style message; returns code
 * so callers can write `return ls_error_set(err, LS_EINVAL, "...")`. */
int ls_error_set(struct ls_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

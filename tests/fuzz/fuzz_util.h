/* fuzz_util.h - what the libFuzzer harnesses share: a failing check that
 * aborts (so libFuzzer records the input), a strict JSON validator, a JSON
 * string decoder, an independent UTF-8 reference and temp files. Each
 * harness includes it once (the functions are static). */
#ifndef LS_FUZZ_UTIL_H
#define LS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include "../../parsers/buf.h"
#include "../../parsers/error.h"
#include "../../parsers/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken property: print what and where, then abort so the input is
 * saved as a crash. */
#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,   \
				__LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

/* memcmp() that takes NULL for zero bytes (an empty ls_buf has no data). */
static inline int fuzz_mem_eq(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* 1 when ev has a field under prefix ("message." gives the object
 * "message":{..}, a second top-level "message" key: documented in
 * json_out.h for any name that is both a leaf and a prefix). */
static inline int fuzz_event_has_prefix(const struct ls_event *ev, const char *prefix)
{
	size_t n = strlen(prefix);

	for (int i = 0; i < ev->nfields; i++)
		if (strncmp(ev->fields[i].name, prefix, n) == 0)
			return 1;
	return 0;
}

/* Keeps the harnesses away from the caller's pattern directories. */
static inline void fuzz_isolate_env(void)
{
	setenv("HOME", "/nonexistent/logship-fuzz-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent/logship-fuzz-config", 1);
	setenv("TZ", "UTC", 1);
}

/* ---- UTF-8 (reference, written apart from parsers/json_out.c) ---- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when none starts
 * there (overlong, surrogate, above U+10FFFF, truncated, stray byte). */
static inline size_t fuzz_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static inline int fuzz_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k)
		if (!(k = fuzz_utf8_seq(p + i, n - i)))
			return 0;
	return 1;
}

/* What the documented encoding keeps of s once decoded again: valid UTF-8
 * as is, each invalid byte as the four characters \xHH (uppercase hex).
 * Appends to out. */
static inline void fuzz_utf8_expected(struct ls_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k) {
		k = fuzz_utf8_seq(p + i, n - i);
		if (k) {
			ls_buf_append(out, p + i, k);
		} else {
			char esc[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			ls_buf_append(out, esc, 4);
			k = 1;
		}
	}
}

/* ---- strict JSON (RFC 8259) ---- */

struct fuzz_json {
	const char *p, *end;
	int depth;
	const char *why; /* first error */
	/* top-level object keys, decoded, in order (when keys is set) */
	struct ls_buf *keys; /* keys joined by '\n' */
	int nkeys;
};

static inline int fuzz_json_fail(struct fuzz_json *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return -1;
}

static inline int fuzz_hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (h < 0)
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	return 0;
}

/* Reads the string at j->p (which is '"'); its decoded bytes go to out when
 * not NULL. Lone surrogate escapes are errors (the encoder never writes
 * \uD8xx). */
static inline int fuzz_json_string(struct fuzz_json *j, struct ls_buf *out)
{
	const char *p = j->p + 1;

	for (;;) {
		unsigned char c;
		if (p >= j->end)
			return fuzz_json_fail(j, "unterminated string");
		c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fuzz_json_fail(j, "raw control byte in string");
		if (c == '\\') {
			char e, ch;
			uint32_t cp;
			if (p + 1 >= j->end)
				return fuzz_json_fail(j, "unterminated escape");
			e = p[1];
			switch (e) {
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case '/': ch = '/'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				if (j->end - p < 6 || fuzz_hex4(p + 2, &cp) < 0)
					return fuzz_json_fail(j, "bad \\u escape");
				if (cp >= 0xd800 && cp <= 0xdfff)
					return fuzz_json_fail(j, "surrogate \\u escape");
				if (out) {
					unsigned char u[3];
					size_t k;
					if (cp < 0x80)
						u[0] = (unsigned char)cp, k = 1;
					else if (cp < 0x800)
						u[0] = (unsigned char)(0xc0 | cp >> 6),
						u[1] = (unsigned char)(0x80 | (cp & 0x3f)), k = 2;
					else
						u[0] = (unsigned char)(0xe0 | cp >> 12),
						u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
						u[2] = (unsigned char)(0x80 | (cp & 0x3f)), k = 3;
					ls_buf_append(out, u, k);
				}
				p += 6;
				continue;
			default:
				return fuzz_json_fail(j, "bad escape");
			}
			if (out)
				ls_buf_putc(out, ch);
			p += 2;
			continue;
		}
		{
			size_t k = fuzz_utf8_seq((const unsigned char *)p, (size_t)(j->end - p));
			if (!k)
				return fuzz_json_fail(j, "invalid UTF-8 in string");
			if (out)
				ls_buf_append(out, p, k);
			p += k;
		}
	}
	j->p = p + 1;
	return 0;
}

static inline void fuzz_json_ws(struct fuzz_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static inline int fuzz_json_lit(struct fuzz_json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return fuzz_json_fail(j, "bad literal");
	j->p += n;
	return 0;
}

static inline int fuzz_digits(struct fuzz_json *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : fuzz_json_fail(j, "digit expected");
}

static inline int fuzz_json_number(struct fuzz_json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (fuzz_digits(j) < 0)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (fuzz_digits(j) < 0)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (fuzz_digits(j) < 0)
			return -1;
	}
	return 0;
}

static inline int fuzz_json_value(struct fuzz_json *j)
{
	int top;

	fuzz_json_ws(j);
	if (j->p >= j->end)
		return fuzz_json_fail(j, "value expected");
	switch (*j->p) {
	case '"':
		return fuzz_json_string(j, NULL);
	case 't':
		return fuzz_json_lit(j, "true");
	case 'f':
		return fuzz_json_lit(j, "false");
	case 'n':
		return fuzz_json_lit(j, "null");
	case '[':
		if (++j->depth > 512)
			return fuzz_json_fail(j, "too deep");
		j->p++;
		fuzz_json_ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			j->depth--;
			return 0;
		}
		for (;;) {
			if (fuzz_json_value(j) < 0)
				return -1;
			fuzz_json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				j->p++;
				j->depth--;
				return 0;
			}
			return fuzz_json_fail(j, "',' or ']' expected");
		}
	case '{':
		top = j->depth == 0;
		if (++j->depth > 512)
			return fuzz_json_fail(j, "too deep");
		j->p++;
		fuzz_json_ws(j);
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			j->depth--;
			return 0;
		}
		for (;;) {
			fuzz_json_ws(j);
			if (j->p >= j->end || *j->p != '"')
				return fuzz_json_fail(j, "key expected");
			if (top && j->keys) {
				if (j->nkeys)
					ls_buf_putc(j->keys, '\n');
				j->nkeys++;
			}
			if (fuzz_json_string(j, top ? j->keys : NULL) < 0)
				return -1;
			fuzz_json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fuzz_json_fail(j, "':' expected");
			j->p++;
			if (fuzz_json_value(j) < 0)
				return -1;
			fuzz_json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				j->depth--;
				return 0;
			}
			return fuzz_json_fail(j, "',' or '}' expected");
		}
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return fuzz_json_number(j);
		return fuzz_json_fail(j, "unexpected byte");
	}
}

/* NULL when s[0..n) is exactly one JSON value (blanks around allowed), else
 * why not. Top-level object keys (decoded) go to keys, '\n'-joined, when
 * keys is not NULL. */
static inline const char *fuzz_json_check(const char *s, size_t n, struct ls_buf *keys, int *nkeys)
{
	struct fuzz_json j = { s, s + n, 0, NULL, keys, 0 };

	if (fuzz_json_value(&j) == 0) {
		fuzz_json_ws(&j);
		if (j.p != j.end)
			fuzz_json_fail(&j, "trailing bytes");
	}
	if (nkeys)
		*nkeys = j.nkeys;
	return j.why;
}

/* Decodes the JSON string s[0..n) (with its quotes) into out; NULL or why
 * it is not one whole string. */
static inline const char *fuzz_json_decode_string(const char *s, size_t n, struct ls_buf *out)
{
	struct fuzz_json j = { s, s + n, 0, NULL, NULL, 0 };

	if (n == 0 || *s != '"')
		return "not a string";
	if (fuzz_json_string(&j, out) < 0)
		return j.why;
	return j.p == j.end ? NULL : "trailing bytes";
}

/* ---- temp files ---- */

/* A private directory for this process (created once, removed at exit). */
static char fuzz_tmpdir[256];

/* Removes the directory and the files in it (the harnesses make no
 * subdirectories). */
static inline void fuzz_tmpdir_remove(void)
{
	DIR *d = fuzz_tmpdir[0] ? opendir(fuzz_tmpdir) : NULL;
	struct dirent *de;
	char path[600];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(fuzz_tmpdir);
}

static inline const char *fuzz_tmpdir_get(void)
{
	if (!fuzz_tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(fuzz_tmpdir, sizeof(fuzz_tmpdir), "%s/logship-fuzz-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(fuzz_tmpdir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_tmpdir_remove);
	}
	return fuzz_tmpdir;
}

/* Writes data to path (replacing it); aborts when it cannot. */
static inline void fuzz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

#endif

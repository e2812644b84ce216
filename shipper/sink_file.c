/* sink_file.c - the file sink: file:///path appends NDJSON (one
 * ls_json_event() line per event) to path, "-" writes it to stdout. The
 * sink encodes; ship does the writing (request is NULL), to
 * ls_sink_file_path() or stdout, through ls_sink_file_append(), which
 * appends a body whole or not at all. file://localhost/path is accepted;
 * %XX escapes in the path are decoded. */
#include "sink_impl.h"
#include "../parsers/json_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_sink {
	struct ls_sink base;
	char *path; /* NULL: stdout */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void file_free(struct ls_sink *base)
{
	struct file_sink *s = (struct file_sink *)base;

	free(s->path);
	free(s);
}

static int file_open(struct ls_sink **out, const struct ls_sink_config *cfg, struct ls_error *err)
{
	struct file_sink *s = calloc(1, sizeof(*s));
	const char *p;
	char *w;
	int rc = 0;

	if (!s)
		return ls_error_set(err, LS_ENOMEM, "file sink: out of memory");
	s->base.ops = &ls_sink_file_ops;
	if (strcmp(cfg->url, "-") == 0)
		goto out;
	p = cfg->url + strlen("file://");
	if (strncasecmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/') {
		rc = ls_error_set(err, LS_EINVAL,
				  "file sink: the URL must be file:///absolute/path (three slashes)");
		goto out;
	}
	if (!(s->path = malloc(strlen(p) + 1))) {
		rc = ls_error_set(err, LS_ENOMEM, "file sink: out of memory");
		goto out;
	}
	for (w = s->path; *p; p++) {
		int hi, lo;

		if (*p != '%') {
			*w++ = *p;
			continue;
		}
		hi = hex_value(p[1]);
		lo = hi < 0 ? -1 : hex_value(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0)) {
			rc = ls_error_set(err, LS_EINVAL,
					  "file sink: bad %%XX escape in the path");
			goto out;
		}
		*w++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*w = '\0';
	if (strcmp(s->path, "/") == 0 || w[-1] == '/')
		rc = ls_error_set(err, LS_EINVAL, "file sink: the path names a directory");
out:
	if (rc < 0)
		file_free(&s->base);
	else
		*out = &s->base;
	return rc;
}

const char *ls_sink_file_target(const struct ls_sink *base)
{
	return ((const struct file_sink *)base)->path;
}

/* A write that fails part-way (a full disk lets half a body in) leaves
 * half a line. Cut back, the file ends with whole lines, and the body,
 * written again whole when the disk has room, is neither duplicated nor
 * glued to the half line (which would make one line of NDJSON no reader
 * can parse). Only a regular file can be cut: a pipe or a terminal keeps
 * what went out. */
int ls_sink_file_append(int fd, const char *path, const char *data, size_t len,
			int64_t *torn_at, struct ls_error *err)
{
	const char *name = path ? path : "standard output";
	struct stat st;
	off_t before = -1;
	size_t off = 0;

	if (*torn_at >= 0) {
		/* an earlier body's cut-back failed: nothing goes after it */
		if (ftruncate(fd, (off_t)*torn_at) < 0)
			return ls_error_set(err, LS_EIO, "cannot write %s: a partial line is left at "
					    "its end (%s)", name, strerror(errno));
		*torn_at = -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		before = lseek(fd, 0, SEEK_END);
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;

			if (off > 0 && before >= 0 && ftruncate(fd, before) < 0)
				*torn_at = before;
			return ls_error_set(err, LS_EIO, "cannot write %s: %s", name, strerror(e));
		}
		off += (size_t)w;
	}
	return 0;
}

static int file_encode(struct ls_sink *base, struct ls_buf *out, const struct ls_event *ev)
{
	(void)base;
	return ls_json_event(out, ev);
}

/* Ship writes the file itself; should it report a write as a status, any
 * 2xx is success and anything else is retried. */
static void file_classify(struct ls_sink *base, long status, const char *body, size_t len,
			  const char *retry_after, size_t nitems, struct ls_sink_result *res)
{
	(void)base;
	(void)nitems;
	ls_sink_classify_status(status, body, len, retry_after, res);
	if (res->verdict != LS_SINK_OK)
		res->verdict = LS_SINK_RETRY;
}

const struct ls_sink_ops ls_sink_file_ops = {
	.scheme = "file",
	.open = file_open,
	.free = file_free,
	.encode = file_encode,
	.prefix = NULL,
	.separator = "",
	.suffix = "",
	.request = NULL,
	.classify = file_classify,
	.setup = NULL,
	.compressions = 0,
};

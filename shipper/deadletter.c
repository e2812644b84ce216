/* deadletter.c - the dead-letter file of a ship pipeline. */
#include "deadletter.h"

#include "../parsers/buf.h"
#include "../parsers/json_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ls_deadletter {
	int fd;
	char *path;
	uint64_t size, max_bytes;
	struct ls_buf line;
};

int ls_deadletter_open(struct ls_deadletter **out, const char *dir, const char *name,
		       uint64_t max_bytes, struct ls_error *err)
{
	struct ls_deadletter *d = calloc(1, sizeof(*d));
	struct stat st;
	size_t n;
	int rc = 0;

	*out = NULL;
	if (!d)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	d->fd = -1;
	d->max_bytes = max_bytes ? max_bytes : (uint64_t)1 << 30;
	ls_buf_init(&d->line, 0);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = ls_error_set(err, LS_EIO, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	n = strlen(dir) + strlen(name) + 16;
	d->path = malloc(n);
	if (!d->path) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(d->path, n, "%s/%s.ndjson", dir, name);
	/* never appended through a symlink planted there, nor to a FIFO or
	 * device (O_NONBLOCK: opening a FIFO must not wait for a reader) */
	d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK |
		     O_CLOEXEC, 0600);
	if (d->fd < 0 || fstat(d->fd, &st) < 0) {
		rc = ls_error_set(err, LS_EIO, "cannot open %s: %s", d->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ls_error_set(err, LS_EIO, "cannot open %s: not a regular file", d->path);
		goto out;
	}
	d->size = (uint64_t)st.st_size;
	*out = d;
	d = NULL;
out:
	ls_deadletter_free(d);
	return rc;
}

void ls_deadletter_free(struct ls_deadletter *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	ls_buf_release(&d->line);
	free(d->path);
	free(d);
}

const char *ls_deadletter_path(const struct ls_deadletter *d)
{
	return d->path;
}

int ls_deadletter_add(struct ls_deadletter *d, long status, const char *reason,
		      const char *item, size_t len, int64_t now_ms, struct ls_error *err)
{
	time_t secs = (time_t)(now_ms / 1000);
	struct tm tm;
	char when[40];
	size_t off = 0;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	d->line.len = 0;
	if (ls_buf_printf(&d->line, "{\"time\":\"%s\",\"status\":%ld,\"reason\":", when, status) < 0 ||
	    ls_json_string(&d->line, reason, strlen(reason), NULL) < 0 ||
	    ls_buf_puts(&d->line, ",\"item\":") < 0 ||
	    ls_json_string(&d->line, item, len, NULL) < 0 || ls_buf_puts(&d->line, "}\n") < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	if (d->size + d->line.len > d->max_bytes)
		return ls_error_set(err, LS_ENOMEM, "%s is full (--dead-letter-max-bytes %llu)",
				    d->path, (unsigned long long)d->max_bytes);
	while (off < d->line.len) {
		ssize_t w = write(d->fd, d->line.data + off, d->line.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ls_error_set(err, LS_EIO, "cannot write %s: %s", d->path, strerror(errno));
		off += (size_t)w;
	}
	d->size += d->line.len;
	return 0;
}

int ls_deadletter_sync(struct ls_deadletter *d, struct ls_error *err)
{
	if (fsync(d->fd) < 0)
		return ls_error_set(err, LS_EIO, "cannot fsync %s: %s", d->path, strerror(errno));
	return 0;
}

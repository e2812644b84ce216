/* watch_inotify.c - the inotify backend of watch.h: one inotify descriptor,
 * directory watches for entries and file watches for writes, and a table
 * from watch descriptor to what it watches. */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define DIR_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
		  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define READ_BYTES (64 * 1024)

struct wentry {
	int wd;
	int is_dir;
	char *dir;  /* directory watches: the path as the tailer spells it */
	void *file; /* file watches: the tailer's tag */
	struct wentry *next;
};

struct watch_inotify {
	struct ls_watch base;
	int fd;
	struct wentry **buckets;
	size_t nbuckets, count;
	char *readbuf;
};

static struct wentry **slot(struct watch_inotify *w, int wd)
{
	struct wentry **p = &w->buckets[(unsigned)wd & (w->nbuckets - 1)];

	while (*p && (*p)->wd != wd)
		p = &(*p)->next;
	return p;
}

/* Doubles the table when it holds more entries than buckets. */
static int grow(struct watch_inotify *w)
{
	size_t n = w->nbuckets * 2;
	struct wentry **b;

	if (w->count < w->nbuckets)
		return 0;
	b = calloc(n, sizeof(*b));
	if (!b)
		return LS_ENOMEM;
	for (size_t i = 0; i < w->nbuckets; i++) {
		struct wentry *e = w->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[(unsigned)e->wd & (n - 1)];
			b[(unsigned)e->wd & (n - 1)] = e;
		}
	}
	free(w->buckets);
	w->buckets = b;
	w->nbuckets = n;
	return 0;
}

static void drop(struct watch_inotify *w, int wd)
{
	struct wentry **p = slot(w, wd), *e = *p;

	if (!e)
		return;
	*p = e->next;
	free(e->dir);
	free(e);
	w->count--;
}

/* Adds a watch; an existing watch of the same inode keeps its entry (and
 * takes the new tag). */
static int add(struct watch_inotify *w, const char *path, uint32_t mask, int is_dir,
	       void *file, struct ls_error *err)
{
	struct wentry *e, **p;
	int wd = inotify_add_watch(w->fd, path, mask);

	if (wd < 0) {
		int e_no = errno;
		if (e_no == ENOSPC)
			return ls_error_set(err, LS_ENOMEM, "cannot watch %s: the inotify watch "
					    "limit is reached (raise sysctl fs.inotify.max_user_watches)",
					    path);
		return ls_error_set(err, e_no == ENOENT ? LS_ENOENT : LS_EIO,
				    "cannot watch %s: %s", path, strerror(e_no));
	}
	p = slot(w, wd);
	if (*p) {
		(*p)->file = file;
		return wd;
	}
	if (grow(w) < 0)
		goto nomem;
	e = calloc(1, sizeof(*e));
	if (!e || (is_dir && !(e->dir = strdup(path)))) {
		free(e);
		goto nomem;
	}
	e->wd = wd;
	e->is_dir = is_dir;
	e->file = file;
	p = slot(w, wd);
	*p = e;
	w->count++;
	return wd;
nomem:
	inotify_rm_watch(w->fd, wd);
	return ls_error_set(err, LS_ENOMEM, "out of memory");
}

static int in_add_dir(struct ls_watch *base, const char *dir, struct ls_error *err)
{
	int rc = add((struct watch_inotify *)base, dir, DIR_MASK, 1, NULL, err);

	return rc < 0 ? rc : 0;
}

static int in_add_file(struct ls_watch *base, const char *path, void *file,
		       struct ls_error *err)
{
	return add((struct watch_inotify *)base, path, FILE_MASK, 0, file, err);
}

static void in_remove(struct ls_watch *base, int id)
{
	struct watch_inotify *w = (struct watch_inotify *)base;

	if (id < 0 || !*slot(w, id))
		return;
	inotify_rm_watch(w->fd, id);
	drop(w, id);
}

static int in_fd(struct ls_watch *base)
{
	return ((struct watch_inotify *)base)->fd;
}

static int in_timeout(struct ls_watch *base, int64_t now_ms)
{
	(void)base;
	(void)now_ms;
	return -1;
}

/* Turns one kernel event into ours; 0 when it says nothing of use. */
static int translate(struct watch_inotify *w, const struct inotify_event *ie,
		     struct ls_watch_event *ev)
{
	struct wentry *e;

	memset(ev, 0, sizeof(*ev));
	if (ie->mask & IN_Q_OVERFLOW) {
		ev->what = LS_WATCH_RESCAN;
		return 1;
	}
	e = *slot(w, ie->wd);
	if (!e)
		return 0;
	if (e->is_dir) {
		ev->dir = e->dir;
		if (ie->len > 0 && ie->name[0]) {
			ev->what = LS_WATCH_ENTRY | (ie->mask & IN_ISDIR ? LS_WATCH_ISDIR : 0);
			ev->name = ie->name;
		} else if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
			/* a watched directory went away: its parent's watch or a
			 * rescan finds what replaces it */
			ev->what = LS_WATCH_RESCAN;
		}
	} else {
		ev->file = e->file;
		if (ie->mask & (IN_MODIFY | IN_ATTRIB))
			ev->what |= LS_WATCH_WRITTEN;
		if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
			ev->what |= LS_WATCH_SELF_GONE | LS_WATCH_WRITTEN;
	}
	return ev->what != 0;
}

static int in_dispatch(struct ls_watch *base, int fd_ready, int64_t now_ms,
		       ls_watch_fn fn, void *ctx)
{
	struct watch_inotify *w = (struct watch_inotify *)base;
	struct ls_watch_event ev;
	ssize_t n;
	int rc;

	(void)now_ms;
	if (!fd_ready)
		return 0;
	for (;;) {
		n = read(w->fd, w->readbuf, READ_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0; /* EAGAIN: drained */
		for (char *p = w->readbuf; p < w->readbuf + n;) {
			const struct inotify_event *ie = (const struct inotify_event *)(void *)p;
			p += sizeof(*ie) + ie->len;
			if (translate(w, ie, &ev) && (rc = fn(ctx, &ev)) < 0)
				return rc;
			if (ie->mask & IN_IGNORED)
				drop(w, ie->wd);
		}
	}
}

static void in_free(struct ls_watch *base)
{
	struct watch_inotify *w = (struct watch_inotify *)base;

	if (!w)
		return;
	for (size_t i = 0; w->buckets && i < w->nbuckets; i++) {
		struct wentry *e = w->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e->dir);
			free(e);
		}
	}
	if (w->fd >= 0)
		close(w->fd);
	free(w->buckets);
	free(w->readbuf);
	free(w);
}

static const struct ls_watch_ops inotify_ops = {
	"inotify", in_add_dir, in_add_file, in_remove, in_fd, in_timeout, in_dispatch, in_free
};

int ls_watch_inotify_new(struct ls_watch **out, struct ls_error *err)
{
	struct watch_inotify *w = calloc(1, sizeof(*w));
	int rc = 0;

	*out = NULL;
	if (!w)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	w->base.ops = &inotify_ops;
	w->nbuckets = 64;
	w->buckets = calloc(w->nbuckets, sizeof(*w->buckets));
	/* aligned for struct inotify_event */
	w->readbuf = aligned_alloc(__alignof__(struct inotify_event), READ_BYTES);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!w->buckets || !w->readbuf) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	if (w->fd < 0) {
		rc = ls_error_set(err, LS_EIO, "inotify unavailable (%s); polling instead",
				  strerror(errno));
		goto out;
	}
	*out = &w->base;
	w = NULL;
out:
	in_free(w ? &w->base : NULL);
	return rc;
}

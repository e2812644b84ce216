/* watch_poll.c - the polling backend of watch.h: no descriptor, a full
 * check of every file and directory once per period. Used with --poll, when
 * inotify is unavailable or out of watches, and on network and FUSE file
 * systems. */
#include "watch.h"

#include <stdlib.h>
#include <sys/vfs.h>

/* f_type values of the file systems whose remote writes inotify misses */
#define FS_NFS 0x6969
#define FS_SMB 0x517B
#define FS_CIFS 0xFF534D42
#define FS_SMB2 0xFE534D42
#define FS_FUSE 0x65735546
#define FS_9P 0x01021997
#define FS_CEPH 0x00C36400
#define FS_AFS 0x5346414F

struct watch_poll {
	struct ls_watch base;
	int period_ms;
	int64_t next_ms; /* next full check; 0: at once */
};

static int po_add_dir(struct ls_watch *w, const char *dir, struct ls_error *err)
{
	(void)w;
	(void)dir;
	(void)err;
	return 0;
}

static int po_add_file(struct ls_watch *w, const char *path, void *file, struct ls_error *err)
{
	(void)w;
	(void)path;
	(void)file;
	(void)err;
	return 0;
}

static void po_remove(struct ls_watch *w, int id)
{
	(void)w;
	(void)id;
}

static int po_fd(struct ls_watch *w)
{
	(void)w;
	return -1;
}

static int po_timeout(struct ls_watch *base, int64_t now_ms)
{
	struct watch_poll *w = (struct watch_poll *)base;

	if (w->next_ms <= now_ms)
		return 0;
	return (int)(w->next_ms - now_ms);
}

static int po_dispatch(struct ls_watch *base, int fd_ready, int64_t now_ms,
		       ls_watch_fn fn, void *ctx)
{
	struct watch_poll *w = (struct watch_poll *)base;
	struct ls_watch_event ev = { LS_WATCH_RESCAN, NULL, NULL, NULL };

	(void)fd_ready;
	if (now_ms < w->next_ms)
		return 0;
	w->next_ms = now_ms + w->period_ms;
	return fn(ctx, &ev);
}

static void po_free(struct ls_watch *w)
{
	free(w);
}

static const struct ls_watch_ops poll_ops = {
	"poll", po_add_dir, po_add_file, po_remove, po_fd, po_timeout, po_dispatch, po_free
};

int ls_watch_poll_new(struct ls_watch **out, int period_ms, struct ls_error *err)
{
	struct watch_poll *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	w->base.ops = &poll_ops;
	w->period_ms = period_ms > 0 ? period_ms : 1000;
	*out = &w->base;
	return 0;
}

int ls_watch_needs_polling(const char *dir)
{
	struct statfs sf;
	unsigned long t;

	if (statfs(dir, &sf) < 0)
		return 0;
	t = (unsigned long)sf.f_type & 0xffffffffUL;
	return t == FS_NFS || t == FS_SMB || t == FS_CIFS || t == FS_SMB2 || t == FS_FUSE ||
	       t == FS_9P || t == FS_CEPH || t == FS_AFS;
}

/* watch.h - telling the tailer when to look at its files: one small
 * interface with two backends. The inotify backend (watch_inotify.c) watches
 * directories (entries created, moved, deleted) and files (written,
 * attributes, deleted, moved) and hands out their events; the polling
 * backend (watch_poll.c) has no descriptor and asks for a full check every
 * period. The tailer runs either inside its poll() loop. */
#ifndef LS_WATCH_H
#define LS_WATCH_H

#include <stdint.h>

#include "../parsers/error.h"

enum ls_watch_what {
	LS_WATCH_WRITTEN = 1 << 0, /* a watched file grew or was written */
	LS_WATCH_ENTRY = 1 << 1,   /* an entry of a watched directory was created,
				    * moved in or out, or deleted */
	LS_WATCH_SELF_GONE = 1 << 2, /* a watched file or directory was deleted or
				      * moved; its watch ended */
	LS_WATCH_RESCAN = 1 << 3,  /* events were lost or polling: check everything */
	LS_WATCH_ISDIR = 1 << 4    /* the entry is a directory */
};

/* One event. For a directory entry: dir and name (valid during the
 * callback); for a file: the tag given to ls_watch_add_file(). */
struct ls_watch_event {
	unsigned what;
	const char *dir, *name;
	void *file;
};

typedef int (*ls_watch_fn)(void *ctx, const struct ls_watch_event *ev);

struct ls_watch;

/* The backend's functions. */
struct ls_watch_ops {
	const char *name;
	/* Watches dir for entries; idempotent. LS_ENOMEM when the kernel's
	 * watch limit is reached (the message names the sysctl). */
	int (*add_dir)(struct ls_watch *w, const char *dir, struct ls_error *err);
	/* Watches the file at path (symlinks followed) for writes; returns a
	 * watch id (>= 0) for ls_watch_remove, or a negative code. */
	int (*add_file)(struct ls_watch *w, const char *path, void *file, struct ls_error *err);
	void (*remove)(struct ls_watch *w, int id);
	int (*fd)(struct ls_watch *w);
	/* ms until the backend wants ls_watch_dispatch() called without its fd
	 * ready (-1: never). */
	int (*timeout_ms)(struct ls_watch *w, int64_t now_ms);
	/* Reads what is ready (fd_ready: poll said so) and calls fn per event.
	 * Returns 0 or the first negative value fn returned. */
	int (*dispatch)(struct ls_watch *w, int fd_ready, int64_t now_ms, ls_watch_fn fn, void *ctx);
	void (*free)(struct ls_watch *w);
};

struct ls_watch {
	const struct ls_watch_ops *ops;
};

/* The inotify backend. LS_EIO when inotify_init1 fails (the message says
 * why, e.g. too many instances); callers then fall back to polling. Caller
 * frees with ls_watch_free(). */
int ls_watch_inotify_new(struct ls_watch **out, struct ls_error *err);

/* The polling backend: a full check every period_ms. */
int ls_watch_poll_new(struct ls_watch **out, int period_ms, struct ls_error *err);

/* 1 when dir lies on a file system whose remote writes inotify does not
 * report (NFS, CIFS/SMB, FUSE, 9p, ...): such directories are polled. */
int ls_watch_needs_polling(const char *dir);

static inline void ls_watch_free(struct ls_watch *w)
{
	if (w)
		w->ops->free(w);
}

#endif

/* tailer.h - following files like tail -F: discovery by globs, a watch
 * backend (inotify or polling), reading new lines as files grow, rotation
 * (rename-and-create, copytruncate, deletion, symlink switches, compressed
 * rotated files), partial lines, a bound on open descriptors, and
 * checkpoints. Shared by tail and ship; the caller runs the poll() loop:
 *
 *	ls_tailer_start(t);
 *	for (;;) {
 *		poll({ls_tailer_fd(t), ...}, ls_tailer_timeout_ms(t));
 *		ls_tailer_dispatch(t, fd_ready);
 *		... deliver what the callbacks produced ...
 *		ls_tailer_commit(t); ls_tailer_checkpoint(t, 0);
 *	}
 */
#ifndef LS_TAILER_H
#define LS_TAILER_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"
#include "checkpoint.h"

enum ls_tail_start {
	LS_TAIL_START_END,   /* files present at start: only new lines */
	LS_TAIL_START_BEGIN, /* files present at start: from their first line */
	LS_TAIL_START_LINES  /* files present at start: their last start_lines lines */
};

struct ls_tailer_opts {
	const char *const *paths;     /* paths and globs (at least one) */
	int npaths;
	const char *const *excludes;  /* --exclude globs */
	int nexcludes;
	int poll_ms;                  /* > 0: poll every poll_ms instead of inotify */
	enum ls_tail_start start;
	long start_lines;
	int64_t partial_timeout_ms;   /* a held partial line goes out after this (0: 5 s) */
	int64_t rotate_wait_ms;       /* a file rotated to a name the globs do not
				       * match is read for this long after its last
				       * write, then closed (0: 5 s) */
	int max_open;                 /* open descriptors for files (0: 256) */
	size_t max_line;              /* 0: 1 MiB */
	struct ls_checkpoint *ckpt;   /* NULL: no state (borrowed) */
	int64_t checkpoint_interval_ms; /* 0: 5 s */
	int64_t forget_after_ms;      /* 0: 24 h */
	int once;                     /* ship --once: each file is read to its
				       * current end, once; the last line
				       * without "\n" of a file rotated away
				       * goes out; named inputs that cannot be
				       * read are counted (ls_tailer_failed_inputs) */
};

struct ls_tail_file;

/* What the tailer tells its user. Every callback may be NULL but line. A
 * negative return from line stops ls_tailer_dispatch() with that value. */
struct ls_tailer_cbs {
	/* a file became known: set up per-file state in *ls_tail_file_user(f) */
	int (*opened)(void *ctx, struct ls_tail_file *f);
	/* one line of f (flags: reader.h's LS_LINE_*) at byte offset */
	int (*line)(void *ctx, struct ls_tail_file *f, const char *line, size_t len,
		    uint64_t offset, unsigned flags);
	/* f has no more data for now: release what is held for it */
	int (*pause)(void *ctx, struct ls_tail_file *f);
	/* f is forgotten (deleted and drained, or rotated away): free its state */
	void (*closed)(void *ctx, struct ls_tail_file *f);
	/* a warning: truncation, unreadable file, fallback to polling */
	void (*warn)(void *ctx, const char *msg);
	/* ls_tailer_commit(): how far f's lines are delivered, given that
	 * read_pos is where reading stands (NULL: all read lines are) */
	uint64_t (*acked)(void *ctx, struct ls_tail_file *f, uint64_t read_pos);
};

struct ls_tailer;

/* Builds a tailer; nothing is read until ls_tailer_start(). Errors: a bad
 * glob. Caller frees with ls_tailer_free(). */
int ls_tailer_new(struct ls_tailer **out, const struct ls_tailer_opts *o,
		  const struct ls_tailer_cbs *cbs, void *ctx, struct ls_error *err);
void ls_tailer_free(struct ls_tailer *t);

/* Finds the files, matches them with the checkpoint, sets up the watches
 * and positions each file as o->start says (or at its checkpoint). */
int ls_tailer_start(struct ls_tailer *t, struct ls_error *err);

/* The descriptor to poll for POLLIN (-1: none) and the ms to wait at most
 * (-1: forever; 0: work is pending). */
int ls_tailer_fd(const struct ls_tailer *t);
int ls_tailer_timeout_ms(struct ls_tailer *t);

/* Handles watch events (fd_ready: poll said the fd is readable), timers and
 * reads the files with new data, calling the callbacks. Reads at most a few
 * MiB per call, so the caller's loop stays responsive; ls_tailer_timeout_ms()
 * then returns 0. Returns 0 or the negative value a callback returned. */
int ls_tailer_dispatch(struct ls_tailer *t, int fd_ready, struct ls_error *err);

/* Reads every file to its current end now (for --once and tests). */
int ls_tailer_drain(struct ls_tailer *t, struct ls_error *err);

/* While paused (the consumer's memory bound is reached) no file is read;
 * watch events still mark which files to read afterwards. The line
 * callback may pause the tailer: reading stops after that line. */
void ls_tailer_set_paused(struct ls_tailer *t, int paused);

/* 1 when every file was read to its end and nothing is left to look at
 * (ship --once is done reading). */
int ls_tailer_idle(const struct ls_tailer *t);

/* Everything handed to the line callback so far is delivered: the
 * checkpoint may move up to it (tail: after writing the output). After
 * ls_tailer_dispatch() or ls_tailer_drain() failed, nothing moves any more
 * (the lines read before the failure may not have got through): a final
 * ls_tailer_checkpoint() then saves the last commit. */
void ls_tailer_commit(struct ls_tailer *t);

/* Writes the checkpoint when force or when the interval has passed and
 * something changed. No-op without a checkpoint. */
int ls_tailer_checkpoint(struct ls_tailer *t, int force, struct ls_error *err);

/* Counters. */
struct ls_tailer_stats {
	uint64_t files_open, files_known, lines, bytes, truncations, rotations;
	int polling; /* 1: the polling backend is in use */
};
void ls_tailer_stats(const struct ls_tailer *t, struct ls_tailer_stats *st);

/* With opts.once: how many inputs named without wildcards were not read
 * (missing, not a regular file, unreadable), each reported through the
 * warn callback by ls_tailer_start(). */
uint64_t ls_tailer_failed_inputs(const struct ls_tailer *t);

/* Calls fn for every file followed: its path, current size and the offset
 * delivered (the checkpoint's), for lag metrics. */
void ls_tailer_each(const struct ls_tailer *t,
		    void (*fn)(void *ctx, const char *path, uint64_t size, uint64_t delivered),
		    void *ctx);

/* The path a file was last seen under (valid until the next dispatch), its
 * fingerprint for event ids (reader.h's ls_reader_fingerprint(): the hash
 * of its first line, up to date whenever a line is handed on), and a slot
 * for the user's per-file state. */
const char *ls_tail_file_path(const struct ls_tail_file *f);
uint64_t ls_tail_file_fingerprint(const struct ls_tail_file *f);
void **ls_tail_file_user(struct ls_tail_file *f);

#endif

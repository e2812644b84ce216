/* checkpoint.h - the state file of one pipeline (tail --state, ship): for
 * each file its path, identity (device, inode, fingerprint), the offset up to
 * which its lines were delivered, its size and last read time; for the
 * journal its cursor. Written atomically (temp file, fsync, rename, fsync of
 * the directory) with a checksum; a corrupt file is moved aside with a
 * warning, never silently reset. Each state file is locked with flock() on a
 * lock file beside it, so two runs of one pipeline cannot share it while
 * other pipelines may share the directory.
 *
 * The state file (DIR/NAME.state) is text, one record per line:
 *
 *   logship-state 1
 *   file <dev> <ino> <fingerprint> <fp_len> <offset> <size> <last_read_ms> <gone_since_ms> <path>
 *   cursor <cursor>
 *   checksum <xxh64>
 *
 * Numbers are decimal (the two times may be negative); fingerprint and the
 * checksum are 16 lowercase hex digits; the checksum is XXH64 (seed 0) of
 * every byte before the "checksum" line, which must be the last line. path
 * and cursor are the rest of their line, percent-encoded: each byte <= 0x20
 * (space, newline, control characters), 0x7f and '%' is written as %XX
 * (uppercase hex); every other byte, UTF-8 included, is written as is, so
 * any path round-trips and UTF-8 names stay readable. Records appear in
 * insertion order; at most one cursor line. A reader rejects anything else
 * (unknown record, duplicate (dev, ino), stray byte) as corrupt. The lock
 * file DIR/NAME.lock holds the holder's pid and is never removed. */
#ifndef LS_CHECKPOINT_H
#define LS_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"

/* One file's checkpoint. */
struct ls_ckpt_entry {
	const char *path;       /* last path seen (owned by the checkpoint) */
	uint64_t dev, ino;
	uint64_t fingerprint;   /* XXH64 of the first fp_len bytes */
	uint32_t fp_len;        /* 0..1024 */
	uint64_t offset;        /* every line before it was delivered */
	uint64_t size;          /* the file's size when last read */
	int64_t last_read_ms;   /* wall clock, ms since the epoch */
	int64_t gone_since_ms;  /* when the file was last seen missing; 0: present */
};

struct ls_checkpoint;

/* Receives warnings (a corrupt state file moved aside). */
typedef void (*ls_ckpt_warn_fn)(void *ctx, const char *msg);

/* Opens the state of pipeline name in dir: creates dir (mode 0700, parents
 * too; existing directories keep their mode) when missing, takes the lock
 * (dir/NAME.lock, 0600, holding our pid), removes a NAME.state.tmp left by a
 * crash and loads dir/NAME.state when it exists. A missing state file is an
 * empty state. A state file that is empty, larger than 256 MiB, fails its
 * checksum, is truncated, has another version or does not parse is renamed
 * to dir/NAME.state.corrupt-<YYYYmmddTHHMMSSZ, UTC>[-N] and warn (when not
 * NULL) gets a message naming both paths and saying the run goes on
 * without state; the state then starts empty. Errors: LS_EBUSY when another
 * process (or another open in this one) holds the lock (message names the
 * state file and the holder's pid), LS_EIO when dir cannot be created or
 * read, the state file cannot be read or a corrupt one cannot be moved
 * aside (message names the path and the reason), LS_ENOMEM. name is
 * [A-Za-z0-9._-]{1,200} (LS_EINVAL otherwise). Caller frees with
 * ls_checkpoint_free(), which releases the lock. */
int ls_checkpoint_open(struct ls_checkpoint **out, const char *dir, const char *name,
		       ls_ckpt_warn_fn warn, void *ctx, struct ls_error *err);
void ls_checkpoint_free(struct ls_checkpoint *cp);

/* Loads the state file at path for reading only (logship status): no lock,
 * nothing created; a damaged file is an error (LS_EDAMAGED, naming it and
 * why), not moved. A missing file is an empty state. ls_checkpoint_save()
 * must not be called on it. Caller frees with ls_checkpoint_free(). */
int ls_checkpoint_read(struct ls_checkpoint **out, const char *path, struct ls_error *err);

/* Path of the state file (owned by cp). */
const char *ls_checkpoint_path(const struct ls_checkpoint *cp);

/* The entries, in load/insertion order: i in [0, count). The pointer is
 * valid until the next call that changes cp. */
size_t ls_checkpoint_count(const struct ls_checkpoint *cp);
const struct ls_ckpt_entry *ls_checkpoint_get(const struct ls_checkpoint *cp, size_t i);

/* The entry for (dev, ino), or NULL. */
const struct ls_ckpt_entry *ls_checkpoint_find(const struct ls_checkpoint *cp,
					       uint64_t dev, uint64_t ino);

/* Inserts (at the end) or replaces (in place) the entry with e's (dev, ino);
 * e->path is copied (NULL is stored as ""). Putting an entry equal to the
 * stored one does not mark the state changed. LS_EINVAL when e->fp_len is
 * over 1024, LS_ENOMEM when memory runs out (cp is unchanged either way). */
int ls_checkpoint_put(struct ls_checkpoint *cp, const struct ls_ckpt_entry *e);

/* Removes the entry for (dev, ino), keeping the others' order (no-op when
 * absent). */
void ls_checkpoint_remove(struct ls_checkpoint *cp, uint64_t dev, uint64_t ino);

/* Drops entries whose file has been gone (gone_since_ms != 0) for longer
 * than forget_after_ms at now_ms (now_ms - gone_since_ms > forget_after_ms),
 * keeping the others' order. Returns how many were dropped. */
size_t ls_checkpoint_forget(struct ls_checkpoint *cp, int64_t now_ms, int64_t forget_after_ms);

/* The journal cursor (NULL when none; owned by cp, valid until it is set
 * again); set copies it (NULL clears): 0 or LS_ENOMEM (cp unchanged). */
const char *ls_checkpoint_cursor(const struct ls_checkpoint *cp);
int ls_checkpoint_set_cursor(struct ls_checkpoint *cp, const char *cursor);

/* Writes the state atomically: NAME.state.tmp (0600), fsync, rename over
 * NAME.state, fsync of the directory. On a failure up to and including the
 * rename the previous state file is left as it was, the temp file is
 * removed and err names the path and the failing step (LS_EIO, e.g.
 * "cannot save state D/N.state: fsync D/N.state.tmp: No space left on
 * device"). When only the final fsync of the directory fails, the new file
 * is already in place (complete and checksummed, so either it or the old one
 * is what a crash leaves) and LS_EIO is returned all the same. After any
 * failure the state stays changed, so the next save writes again.
 * Saving when nothing changed since the last save (or since open: a state
 * just loaded, or empty, is not rewritten) is a no-op. LS_ENOMEM when the
 * file would exceed 256 MiB (about 3 million files), the most a load
 * accepts. */
int ls_checkpoint_save(struct ls_checkpoint *cp, struct ls_error *err);

/* The default state directory: /var/lib/logship when running as root
 * (geteuid() == 0, whatever the environment), else $XDG_STATE_HOME/logship
 * (when set to an absolute path: the XDG spec says to ignore a relative
 * one), else $HOME/.local/state/logship. Written into buf (size n); returns
 * buf, or NULL when it does not fit or no HOME is set. */
const char *ls_checkpoint_default_dir(char *buf, size_t n);

/* A pipeline name derived from its command ("tail" or "ship"), its sorted
 * inputs and its sink (NULL for tail): "<command>-<16 hex digits>", so the
 * same command line finds the same state whatever the order of its inputs.
 * The hex is XXH64 of command, the number of inputs, each input (sorted by
 * strcmp) and the sink when there is one, each followed by a NUL byte, so
 * no two different lists hash the same bytes. Written into buf (size >= 40);
 * returns buf, or NULL when it does not fit or memory runs out. */
const char *ls_checkpoint_pipeline_name(const char *command, const char *const *inputs,
					int ninputs, const char *sink, char *buf, size_t n);

/* ---- testing only ------------------------------------------------------
 * Fault injection for the unit tests: the next ls_checkpoint_save() that
 * actually writes fails at step (LS_CKPT_FAIL_*) as if the system call had
 * failed (write: ENOSPC, fsync and directory fsync: EIO, rename: EACCES);
 * the setting is then cleared. 0 turns it off. Process-wide, not
 * thread-safe; no other code may call it. */
enum {
	LS_CKPT_FAIL_NONE = 0,
	LS_CKPT_FAIL_WRITE = 1,
	LS_CKPT_FAIL_FSYNC = 2,
	LS_CKPT_FAIL_RENAME = 3,
	LS_CKPT_FAIL_DIR_FSYNC = 4
};
void ls_checkpoint_fail_step_for_test(int step);

#endif

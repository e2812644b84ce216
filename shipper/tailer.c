/* tailer.c - following files: see tailer.h.
 *
 * Every file logship knows is one struct ls_tail_file, found by identity
 * (device, inode) and by the path it was last seen under. A file's identity
 * also carries a fingerprint (XXH64 of its first FP_BYTES bytes, or of all
 * of it while it is shorter), so an inode that was freed and reused is a new
 * file, and a rotated file compressed under a new name is recognised. A
 * fingerprint is compared over the length it was taken with (fp_len): a
 * file that grew since, or its compressed copy, still starts with those
 * bytes. Event ids use another hash, of the first line alone
 * (id_fingerprint), which growth never changes.
 *
 * Watch events only mark work: files to read ("dirty"), paths to look at
 * again, or a full rescan. ls_tailer_dispatch() then always works in the
 * same order: read the files already open (so a rotated file is drained
 * through its descriptor before anything else), look at the changed paths
 * (new files, renames, replacements), rescan when asked, read the new files,
 * and run the timers. A file whose path now names another file is
 * "detached": still read through its descriptor until it is deleted or has
 * been quiet for rotate_wait. */
#include "tailer.h"
#include "glob.h"
#include "reader.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#define FP_BYTES 1024
#define READ_BUDGET ((uint64_t)4 << 20)     /* bytes per file per dispatch */
#define PENDING_MAX 4096                   /* changed paths before a rescan */
#define GONE_MAX 4096                      /* finished files remembered */

struct ls_tail_file {
	char *path;              /* last matching path; NULL once detached */
	char *last_path;         /* the path lines are reported under */
	uint64_t dev, ino;
	uint64_t fingerprint;
	uint32_t fp_len;
	uint64_t id_fingerprint; /* ls_reader_first_line_hash() of its first bytes */
	struct ls_reader *r;     /* NULL while closed */
	uint64_t pos;            /* next line's offset (while closed, or before open) */
	uint64_t skip_until;     /* compressed: lines before this were read already */
	uint64_t committed;      /* lines before this offset were delivered */
	uint64_t size;           /* size when last read */
	int64_t last_read_wall;  /* wall clock ms */
	int64_t last_growth_ms;  /* monotonic ms of the last new line */
	int64_t partial_since_ms; /* a partial line has been held since (0: none) */
	int wd;                  /* watch id, -1: none */
	unsigned gen;            /* scan generation it was last seen in */
	unsigned dirty : 1, detached : 1, compressed : 1, done : 1, check_path : 1;
	unsigned id_final : 1;   /* id_fingerprint can no longer change */
	unsigned finish_partial : 1; /* --once: rotated away, or its unfinished
				  * last line waited since the last run: that
				  * line goes out at the end of the file */
	void *user;
	struct ls_tail_file *next_id, *next_path;
	struct ls_tail_file *open_prev, *open_next; /* the list of open files */
};

/* A finished file: read to its end, then deleted or rotated away. Kept so a
 * compressed copy found later is not read again, and saved in the state. */
struct gone_file {
	uint64_t dev, ino, fingerprint, offset, size;
	uint32_t fp_len;
	int64_t gone_wall_ms;
	char *path;
};

struct ls_tailer {
	struct ls_tailer_opts o;
	struct ls_tailer_cbs cb;
	void *ctx;
	struct ls_globset *globs;
	struct ls_watch *watch;
	int polling;
	struct ls_tail_file **files; /* all known files */
	size_t nfiles, cap_files;
	struct ls_tail_file **by_id, **by_path;
	size_t nbuckets;
	uint32_t *fp_filter;         /* 32 * nbuckets bits: see fp_note() */
	struct ls_tail_file *open_head; /* the nopen files with a reader */
	struct gone_file *gone;
	size_t ngone, cap_gone;
	char **pending;              /* paths to look at again */
	size_t npending;
	int rescan, started, more;
	int paused;                  /* the consumer is full: read nothing */
	int failed;                  /* a dispatch failed: commits stop */
	uint64_t inputs_failed;      /* --once: named inputs not read */
	unsigned gen;
	size_t nopen;
	int64_t next_ckpt_ms;
	int ckpt_dirty;
	int64_t wall_base_ms, mono_base_ms; /* both clocks when the tailer was made */
	struct ls_tailer_stats stats;
};

/* ---- clocks and messages ---------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wall clock as of the tailer's start, advanced by the monotonic clock:
 * what finished files are stamped with and aged by for --forget-after. The
 * stamps outlive the run (they are saved), so they are wall-clock times; but
 * a jump of the wall clock while running (an NTP step, a clock set by hand)
 * must neither forget every finished file at once nor keep them forever. */
static int64_t run_wall_ms(const struct ls_tailer *t)
{
	return t->wall_base_ms + (mono_ms() - t->mono_base_ms);
}

__attribute__((format(printf, 2, 3)))
static void warn(struct ls_tailer *t, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!t->cb.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->cb.warn(t->ctx, msg);
}

/* ---- the file tables -------------------------------------------------- */

static size_t hash_id(uint64_t dev, uint64_t ino)
{
	return (size_t)(ino * 0x9E3779B97F4A7C15ULL ^ dev);
}

static size_t hash_path(const char *p)
{
	return (size_t)XXH3_64bits(p, strlen(p));
}

static struct ls_tail_file *find_id(struct ls_tailer *t, uint64_t dev, uint64_t ino)
{
	struct ls_tail_file *f = t->by_id[hash_id(dev, ino) & (t->nbuckets - 1)];

	while (f && (f->dev != dev || f->ino != ino))
		f = f->next_id;
	return f;
}

static struct ls_tail_file *find_path(struct ls_tailer *t, const char *path)
{
	struct ls_tail_file *f = t->by_path[hash_path(path) & (t->nbuckets - 1)];

	while (f && strcmp(f->path, path) != 0)
		f = f->next_path;
	return f;
}

static void unlink_id(struct ls_tailer *t, struct ls_tail_file *f)
{
	struct ls_tail_file **p = &t->by_id[hash_id(f->dev, f->ino) & (t->nbuckets - 1)];

	while (*p && *p != f)
		p = &(*p)->next_id;
	if (*p)
		*p = f->next_id;
}

static void unlink_path(struct ls_tailer *t, struct ls_tail_file *f)
{
	struct ls_tail_file **p;

	if (!f->path)
		return;
	p = &t->by_path[hash_path(f->path) & (t->nbuckets - 1)];
	while (*p && *p != f)
		p = &(*p)->next_path;
	if (*p)
		*p = f->next_path;
}

static void link_id(struct ls_tailer *t, struct ls_tail_file *f)
{
	struct ls_tail_file **b = &t->by_id[hash_id(f->dev, f->ino) & (t->nbuckets - 1)];

	f->next_id = *b;
	*b = f;
}

static void link_path(struct ls_tailer *t, struct ls_tail_file *f)
{
	struct ls_tail_file **b = &t->by_path[hash_path(f->path) & (t->nbuckets - 1)];

	f->next_path = *b;
	*b = f;
}

/* A Bloom filter of the fingerprints live files have had, so that
 * offset_by_fingerprint() does not look at every file for a fingerprint no
 * file has (finding n new files was O(n^2): minutes for 10^5 files). Bits
 * are only set (fingerprints change as small files grow) until the tables
 * grow and it is rebuilt: it may say "maybe" wrongly, never "no". */
#define FP_FILTER_K 4

static size_t fp_bit(uint64_t fp, uint32_t fp_len, int k, size_t nbits)
{
	uint64_t h = (fp ^ ((uint64_t)fp_len << 32)) * 0x9E3779B97F4A7C15ULL;
	uint64_t step = (h >> 29 ^ h) | 1;

	return (size_t)(h + (uint64_t)k * step) & (nbits - 1);
}

static void fp_note(struct ls_tailer *t, const struct ls_tail_file *f)
{
	size_t nbits = t->nbuckets * 32;

	if (!f->fp_len)
		return;
	for (int k = 0; k < FP_FILTER_K; k++) {
		size_t b = fp_bit(f->fingerprint, f->fp_len, k, nbits);
		t->fp_filter[b >> 5] |= (uint32_t)1 << (b & 31);
	}
}

static int fp_maybe(const struct ls_tailer *t, uint64_t fp, uint32_t fp_len)
{
	size_t nbits = t->nbuckets * 32;

	for (int k = 0; k < FP_FILTER_K; k++) {
		size_t b = fp_bit(fp, fp_len, k, nbits);
		if (!(t->fp_filter[b >> 5] >> (b & 31) & 1))
			return 0;
	}
	return 1;
}

/* Doubles the hash tables when they hold more files than buckets. */
static int grow_tables(struct ls_tailer *t)
{
	size_t n = t->nbuckets * 2;
	struct ls_tail_file **id, **path;
	uint32_t *filter;

	if (t->nfiles < t->nbuckets)
		return 0;
	id = calloc(n, sizeof(*id));
	path = calloc(n, sizeof(*path));
	filter = calloc(n, sizeof(*filter));
	if (!id || !path || !filter) {
		free(id);
		free(path);
		free(filter);
		return LS_ENOMEM;
	}
	free(t->by_id);
	free(t->by_path);
	free(t->fp_filter);
	t->by_id = id;
	t->by_path = path;
	t->fp_filter = filter;
	t->nbuckets = n;
	for (size_t i = 0; i < t->nfiles; i++) {
		link_id(t, t->files[i]);
		if (t->files[i]->path)
			link_path(t, t->files[i]);
		fp_note(t, t->files[i]);
	}
	return 0;
}

/* Sets the path f is known under (NULL: detached). */
static int set_path(struct ls_tailer *t, struct ls_tail_file *f, const char *path)
{
	char *copy = NULL, *last = NULL;

	if (f->path && path && strcmp(f->path, path) == 0)
		return 0;
	if (path && (!(copy = strdup(path)) || !(last = strdup(path)))) {
		free(copy);
		return LS_ENOMEM;
	}
	unlink_path(t, f);
	free(f->path);
	f->path = copy;
	if (copy) {
		link_path(t, f);
		free(f->last_path);
		f->last_path = last;
	}
	return 0;
}

/* ---- fingerprints ----------------------------------------------------- */

/* pread() that a signal handler cannot interrupt. */
static ssize_t pread_intr(int fd, void *buf, size_t n, off_t off)
{
	ssize_t got;

	do
		got = pread(fd, buf, n, off);
	while (got < 0 && errno == EINTR);
	return got;
}

/* Reads up to len (at most FP_BYTES) bytes from the start of fd into buf;
 * returns how many (fewer at the end of the file), -1 on an error. */
static ssize_t read_head(int fd, unsigned char *buf, uint32_t len)
{
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		n = pread_intr(fd, buf + got, len - got, (off_t)got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* XXH64 of the first len bytes of fd; -1 when fewer could be read. */
static int fingerprint_fd(int fd, uint32_t len, uint64_t *fp)
{
	unsigned char buf[FP_BYTES];

	if (read_head(fd, buf, len) != (ssize_t)len)
		return -1;
	*fp = XXH64(buf, len, 0);
	return 0;
}

/* A new file's first bytes, compared with fingerprints taken over fewer
 * bytes (the file was smaller then): a file that grew, or the compressed
 * copy of one that grew before it was rotated, starts with the bytes its
 * checkpoint's fingerprint covers. A few hashes are kept: most fingerprints
 * have one of two lengths (FP_BYTES, or the file's whole size). */
#define HEAD_CACHE 8
struct head {
	const unsigned char *buf;
	uint32_t len;
	uint32_t cached_len[HEAD_CACHE]; /* 0: empty slot */
	uint64_t cached_fp[HEAD_CACHE];
};

static void head_init(struct head *h, const unsigned char *buf, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->buf = buf;
	h->len = len < FP_BYTES ? (uint32_t)len : FP_BYTES;
}

/* 1 when the first fp_len bytes of h hash to fp (never for fp_len 0). */
static int head_matches(struct head *h, uint64_t fp, uint32_t fp_len)
{
	unsigned slot = fp_len % HEAD_CACHE;

	if (fp_len == 0 || fp_len > h->len)
		return 0;
	if (h->cached_len[slot] != fp_len) {
		h->cached_len[slot] = fp_len;
		h->cached_fp[slot] = XXH64(h->buf, fp_len, 0);
	}
	return h->cached_fp[slot] == fp;
}

/* Brings f's event-id fingerprint up to date from the open fd while its
 * first line is not all there yet (a plain file being written). */
static void update_id_fingerprint(struct ls_tail_file *f, int fd)
{
	unsigned char buf[FP_BYTES];
	ssize_t n;
	int final;

	if (f->id_final || fd < 0)
		return;
	if (f->compressed && f->r) {
		/* its reader reads from the start: it has the first line */
		f->id_fingerprint = ls_reader_fingerprint(f->r);
		return;
	}
	n = read_head(fd, buf, FP_BYTES);
	if (n <= 0)
		return;
	f->id_fingerprint = ls_reader_first_line_hash(buf, (size_t)n, &final);
	f->id_final = final;
}

/* O_NONBLOCK on the opens below: a path that names a FIFO by the time it
 * is opened (replaced since its stat, or named by a hand-edited state file)
 * must not block logship; on a regular file the flag changes nothing. */
static int fingerprint_path(const char *path, uint32_t len, uint64_t *fp)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fingerprint_fd(fd, len, fp);
	close(fd);
	return rc;
}

/* 1 when the magic bytes say gzip or zstd. */
static int is_compressed(int fd)
{
	unsigned char m[4];
	ssize_t n = pread_intr(fd, m, sizeof(m), 0);

	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return 1;
	return n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd;
}

/* The offset where the last n lines of fd (size bytes) start; a last line
 * without "\n" counts as one. */
static uint64_t last_lines_offset(int fd, uint64_t size, long n)
{
	char buf[64 * 1024];
	uint64_t end = size;
	long seen = 0;

	if (n <= 0 || size == 0)
		return size;
	/* a final "\n" ends the last line; it does not start a new one */
	if (pread_intr(fd, buf, 1, (off_t)(size - 1)) == 1 && buf[0] == '\n')
		end = size - 1;
	while (end > 0) {
		size_t chunk = end > sizeof(buf) ? sizeof(buf) : (size_t)end;
		ssize_t got = pread_intr(fd, buf, chunk, (off_t)(end - chunk));
		if (got != (ssize_t)chunk)
			return 0;
		for (size_t i = chunk; i-- > 0;) {
			if (buf[i] == '\n' && ++seen == n)
				return end - chunk + i + 1;
		}
		end -= chunk;
	}
	return 0;
}

/* The offset just past the last "\n" of fd (size bytes): where a tail
 * starting at the end begins, so a line being written is read whole. */
static uint64_t end_offset(int fd, uint64_t size)
{
	uint64_t off = last_lines_offset(fd, size, 1);
	char c;

	/* last_lines_offset(1) gives the last line's start; when the file ends
	 * with "\n" that line is complete and we start after it */
	if (size > 0 && pread_intr(fd, &c, 1, (off_t)(size - 1)) == 1 && c == '\n')
		return size;
	return off;
}

/* ---- finished files --------------------------------------------------- */

static int remember_gone(struct ls_tailer *t, const struct gone_file *g)
{
	if (t->ngone == GONE_MAX) {
		free(t->gone[0].path);
		memmove(t->gone, t->gone + 1, (GONE_MAX - 1) * sizeof(*t->gone));
		t->ngone--;
	}
	if (t->ngone == t->cap_gone) {
		size_t cap = t->cap_gone ? t->cap_gone * 2 : 16;
		struct gone_file *g2 = realloc(t->gone, cap * sizeof(*g2));
		if (!g2)
			return LS_ENOMEM;
		t->gone = g2;
		t->cap_gone = cap;
	}
	t->gone[t->ngone] = *g;
	t->gone[t->ngone].path = g->path ? strdup(g->path) : NULL;
	t->ngone++;
	t->ckpt_dirty = 1;
	return 0;
}

/* A live file with f's first bytes (f is a compressed copy of it), or a
 * finished one whose fingerprint f's first bytes give (f is that file,
 * grown since, or its copy): its offset. Of the finished files the one
 * whose fingerprint covers the most bytes wins, then the latest. */
static int offset_by_fingerprint(struct ls_tailer *t, const struct ls_tail_file *f,
				 struct head *h, uint64_t *offset)
{
	size_t nlive = fp_maybe(t, f->fingerprint, f->fp_len) ? t->nfiles : 0;
	const struct gone_file *best = NULL;

	if (f->fp_len == 0)
		return 0;
	for (size_t i = 0; i < nlive; i++) {
		struct ls_tail_file *o = t->files[i];
		if (o != f && !o->compressed && o->fp_len == f->fp_len &&
		    o->fingerprint == f->fingerprint) {
			*offset = o->r ? ls_reader_bytes_out(o->r) : o->pos;
			return 1;
		}
	}
	for (size_t i = t->ngone; i-- > 0;) {
		const struct gone_file *g = &t->gone[i];
		if ((!best || g->fp_len > best->fp_len) && head_matches(h, g->fingerprint, g->fp_len))
			best = g;
	}
	if (best)
		*offset = best->offset;
	return best != NULL;
}

/* A finished file with f's device and inode whose first bytes are still
 * f's: its offset. */
static int offset_by_identity(struct ls_tailer *t, const struct ls_tail_file *f,
			      struct head *h, uint64_t *offset)
{
	for (size_t i = t->ngone; i-- > 0;) {
		const struct gone_file *g = &t->gone[i];
		if (g->dev != f->dev || g->ino != f->ino)
			continue;
		if (g->fp_len && !head_matches(h, g->fingerprint, g->fp_len))
			continue;
		*offset = g->offset;
		return 1;
	}
	return 0;
}

/* A checkpoint entry whose fingerprint f's first bytes give (a compressed
 * file's are its decompressed ones): for a compressed file, its own entry
 * or the entry of the plain file it was made from, whether or not that was
 * scanned yet, and however much that file grew after its checkpoint. The
 * entry whose fingerprint covers the most bytes wins, then the furthest. */
static int offset_by_checkpoint(struct ls_tailer *t, const struct ls_tail_file *f,
				struct head *h, uint64_t *offset)
{
	const struct ls_ckpt_entry *best = NULL;

	if (!t->o.ckpt || !f->compressed || f->fp_len == 0)
		return 0;
	for (size_t i = 0; i < ls_checkpoint_count(t->o.ckpt); i++) {
		const struct ls_ckpt_entry *e = ls_checkpoint_get(t->o.ckpt, i);
		if (best && (e->fp_len < best->fp_len ||
			     (e->fp_len == best->fp_len && e->offset <= best->offset)))
			continue;
		if (head_matches(h, e->fingerprint, e->fp_len))
			best = e;
	}
	if (best)
		*offset = best->offset;
	return best != NULL;
}

/* ---- opening and closing ---------------------------------------------- */

static uint64_t file_offset(const struct ls_tail_file *f)
{
	return f->r ? ls_reader_bytes_out(f->r) : f->pos;
}

/* The open files are listed, so make_room() looks at them alone rather
 * than at every file (that was O(n^2) for n files). */
static void open_link(struct ls_tailer *t, struct ls_tail_file *f)
{
	f->open_prev = NULL;
	f->open_next = t->open_head;
	if (t->open_head)
		t->open_head->open_prev = f;
	t->open_head = f;
	t->nopen++;
}

static void open_unlink(struct ls_tailer *t, struct ls_tail_file *f)
{
	if (f->open_prev)
		f->open_prev->open_next = f->open_next;
	else
		t->open_head = f->open_next;
	if (f->open_next)
		f->open_next->open_prev = f->open_prev;
	f->open_prev = f->open_next = NULL;
	t->nopen--;
}

/* Closes the least recently active file that has nothing left to read,
 * to stay within max_open. */
static void make_room(struct ls_tailer *t)
{
	struct ls_tail_file *victim = NULL;

	if ((int)t->nopen < t->o.max_open)
		return;
	for (struct ls_tail_file *f = t->open_head; f; f = f->open_next) {
		if (!f->r || f->dirty || f->detached || f->compressed || !f->path ||
		    ls_reader_held(f->r))
			continue;
		if (!victim || f->last_growth_ms < victim->last_growth_ms)
			victim = f;
	}
	if (!victim)
		return; /* every open file has unread data: they stay open */
	victim->pos = ls_reader_bytes_out(victim->r);
	ls_reader_free(victim->r);
	victim->r = NULL;
	open_unlink(t, victim);
}

/* Opens f by its path at f->pos, checking that the path still names the
 * same file. Returns 1 when open, 0 when the path names another file now
 * (f is then detached), negative on error. */
static int reopen(struct ls_tailer *t, struct ls_tail_file *f, struct ls_error *err)
{
	struct ls_reader *r = NULL;
	struct stat st;
	uint64_t fp;
	int rc;

	if (!f->path)
		return 0;
	make_room(t);
	if (f->compressed) {
		rc = ls_reader_open(&r, f->path, t->o.max_line, err);
		/* a .gz still being written ends in the middle of a line:
		 * that piece is neither sent nor checkpointed, the finished
		 * file is read again from the line's start */
		if (rc == 0)
			ls_reader_whole_lines_only(r);
	} else
		rc = ls_reader_open_follow(&r, f->path, f->pos, t->o.max_line, err);
	if (rc == LS_ENOENT) {
		ls_reader_free(r);
		return 0;
	}
	if (rc < 0)
		goto out;
	/* a compressed file's fingerprint is of its decompressed bytes: only
	 * its identity can be checked on the raw descriptor */
	if (fstat(ls_reader_fd(r), &st) < 0 || (uint64_t)st.st_dev != f->dev ||
	    (uint64_t)st.st_ino != f->ino ||
	    (f->fp_len && !f->compressed &&
	     (fingerprint_fd(ls_reader_fd(r), f->fp_len, &fp) < 0 || fp != f->fingerprint))) {
		/* the name now holds another file; look at it again */
		ls_reader_free(r);
		return 0;
	}
	f->r = r;
	r = NULL;
	open_link(t, f);
	rc = 1;
out:
	ls_reader_free(r);
	return rc;
}

/* Forgets f: hands out a held partial line, remembers it as finished,
 * tells the user and frees it. */
static void forget(struct ls_tailer *t, struct ls_tail_file *f)
{
	struct gone_file g;
	const char *line;
	size_t len;
	uint64_t off;
	unsigned flags;

	if (f->r && ls_reader_take_partial(f->r, &line, &len, &off, &flags) > 0) {
		update_id_fingerprint(f, ls_reader_fd(f->r));
		t->cb.line(t->ctx, f, line, len, off, flags);
		if (t->cb.pause)
			t->cb.pause(t->ctx, f);
	}
	memset(&g, 0, sizeof(g));
	g.dev = f->dev;
	g.ino = f->ino;
	g.fingerprint = f->fingerprint;
	g.fp_len = f->fp_len;
	g.offset = file_offset(f);
	g.size = f->size;
	g.gone_wall_ms = run_wall_ms(t);
	g.path = f->last_path;
	remember_gone(t, &g);
	if (t->cb.closed)
		t->cb.closed(t->ctx, f);
	if (f->r)
		open_unlink(t, f);
	ls_reader_free(f->r);
	if (f->wd >= 0)
		t->watch->ops->remove(t->watch, f->wd);
	unlink_id(t, f);
	unlink_path(t, f);
	for (size_t i = 0; i < t->nfiles; i++) {
		if (t->files[i] == f) {
			t->files[i] = t->files[--t->nfiles];
			break;
		}
	}
	free(f->path);
	free(f->last_path);
	free(f);
}

static void detach(struct ls_tailer *t, struct ls_tail_file *f)
{
	if (f->detached)
		return;
	unlink_path(t, f);
	free(f->path);
	f->path = NULL;
	f->detached = 1;
	f->dirty = 1;
	t->stats.rotations++;
}

/* Whether a file gone since since_ms (from a state file: any value) is past
 * --forget-after at now_ms, without overflowing. */
static int gone_too_long(const struct ls_tailer *t, int64_t now_ms, int64_t since_ms)
{
	int64_t gone_for;

	if (__builtin_sub_overflow(now_ms, since_ms, &gone_for))
		gone_for = now_ms > since_ms ? INT64_MAX : INT64_MIN;
	return gone_for > t->o.forget_after_ms;
}

/* --once: whether the unfinished last line of f, checkpointed as e,
 * goes out at the end of this run although the file is where it was: when
 * that line was already waiting, the file unchanged, at a run at least
 * --partial-timeout ago (a file rotated away in a run that could not
 * deliver, or found already rotated), as follow mode sends it after
 * --partial-timeout. A file that grows keeps it until its newline comes.
 * (A file found under a new name is rotated away: start_offset() sends
 * its last line at once.) */
static int partial_due(struct ls_tailer *t, const struct ls_ckpt_entry *e, uint64_t size)
{
	int64_t now = run_wall_ms(t), waited;

	/* the time comes from the state file: any value */
	if (__builtin_sub_overflow(now, e->last_read_ms, &waited))
		waited = now > e->last_read_ms ? INT64_MAX : INT64_MIN;
	return e->offset < e->size && e->size == size && waited >= t->o.partial_timeout_ms;
}

/* Where a newly found file starts: its checkpoint, a finished or live file
 * with the same first bytes (a compressed copy), or the start option.
 * h holds its first bytes (decompressed). */
static uint64_t start_offset(struct ls_tailer *t, struct ls_tail_file *f, int fd,
			     uint64_t size, struct head *h)
{
	const struct ls_ckpt_entry *e;
	uint64_t off;

	/* a file finished during this run (closed, then renamed): where it
	 * stopped is known exactly, while the checkpoint may be older */
	if (!f->compressed && offset_by_identity(t, f, h, &off)) {
		/* found again under another name: it was rotated away */
		f->finish_partial = t->o.once;
		return off <= size ? off : 0;
	}
	if (t->o.ckpt && !f->compressed &&
	    (e = ls_checkpoint_find(t->o.ckpt, f->dev, f->ino)) != NULL &&
	    (e->fp_len ? head_matches(h, e->fingerprint, e->fp_len)
		       : f->fp_len == 0 && e->fingerprint == f->fingerprint)) {
		if (e->offset <= size) {
			f->finish_partial = t->o.once && partial_due(t, e, size);
			return e->offset;
		}
		warn(t, "%s is shorter (%llu bytes) than its checkpoint (%llu): "
		     "reading it again from the start",
		     f->path ? f->path : f->last_path ? f->last_path : "a file", (unsigned long long)size,
		     (unsigned long long)e->offset);
		return 0;
	}
	if (offset_by_fingerprint(t, f, h, &off) || offset_by_checkpoint(t, f, h, &off))
		return f->compressed ? off : (off <= size ? off : 0);
	if (t->started || t->o.start == LS_TAIL_START_BEGIN)
		return 0;
	if (f->compressed) {
		f->done = 1; /* history: not read when starting at the end */
		return 0;
	}
	if (t->o.start == LS_TAIL_START_LINES)
		return last_lines_offset(fd, size, t->o.start_lines);
	return end_offset(fd, size);
}

/* Sets f's fingerprints from its first len bytes at buf (at most
 * FP_BYTES: all of them when the file is shorter), and h to them. */
static void set_first_bytes(struct ls_tail_file *f, const unsigned char *buf, size_t len,
			    struct head *h)
{
	int final = 0;

	head_init(h, buf, len);
	f->fp_len = h->len;
	f->fingerprint = h->len ? XXH64(buf, h->len, 0) : 0;
	f->id_fingerprint = h->len ? ls_reader_first_line_hash(buf, h->len, &final) : 0;
	f->id_final = final;
}

/* The same for a compressed file at path, from its decompressed first
 * bytes: read with a reader of its own, which the caller frees with
 * ls_reader_free() once done with h. */
static struct ls_reader *first_bytes_compressed(struct ls_tail_file *f, const char *path,
						size_t max_line, struct head *h)
{
	struct ls_reader *r = NULL;
	const unsigned char *buf = NULL;
	const char *l;
	size_t n, len = 0;
	uint64_t o;
	unsigned fl;

	if (ls_reader_open(&r, path, max_line, NULL) == 0 &&
	    ls_reader_next(r, &l, &n, &o, &fl, NULL) >= 0)
		buf = ls_reader_head(r, &len);
	set_first_bytes(f, buf, len, h);
	/* its first line was read (or all of it was, when shorter) */
	f->id_final = buf != NULL;
	return r;
}

/* Adds a file found at path (st: its stat). */
static int add_file(struct ls_tailer *t, const char *path, const struct stat *st,
		    struct ls_error *err)
{
	struct ls_tail_file *f;
	struct ls_error e;
	unsigned char head_buf[FP_BYTES];
	struct ls_reader *zr = NULL;
	struct head h;
	int fd, rc = 0;

	if (grow_tables(t) < 0 || (t->nfiles == t->cap_files &&
	    !(t->files = realloc(t->files, (t->cap_files = t->cap_files ? t->cap_files * 2 : 64) *
				 sizeof(*t->files)))))
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		warn(t, "cannot read %s: %s%s", path, strerror(errno),
		     errno == EACCES ? "; run as a member of the file's group or as root" : "");
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	f->wd = -1;
	/* named in start_offset()'s warnings (set_path() sets it again) */
	f->last_path = strdup(path);
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	f->size = (uint64_t)st->st_size;
	f->compressed = is_compressed(fd);
	if (f->compressed) {
		/* identity of a compressed file: its decompressed first bytes */
		zr = first_bytes_compressed(f, path, t->o.max_line, &h);
	} else {
		uint32_t want = f->size < FP_BYTES ? (uint32_t)f->size : FP_BYTES;
		/* a file that shrank since its stat is looked at again later */
		ssize_t got = read_head(fd, head_buf, want);
		set_first_bytes(f, head_buf, got == (ssize_t)want ? want : 0, &h);
	}
	f->pos = start_offset(t, f, fd, f->size, &h);
	ls_reader_free(zr);
	if (f->compressed) {
		f->skip_until = f->pos;
		f->pos = 0;
	}
	f->committed = f->pos;
	close(fd);
	f->last_growth_ms = mono_ms();
	f->gen = t->gen;
	f->dirty = !f->done;
	link_id(t, f);
	fp_note(t, f);
	t->files[t->nfiles++] = f;
	if (set_path(t, f, path) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	/* once out of watches, polling takes over at the next dispatch: no
	 * more watches are tried, and the warning is given once, not once
	 * per file of the scan (10^6 files made 800k warnings) */
	if (t->rescan == 2 && !t->polling)
		f->wd = LS_ENOMEM;
	else
		f->wd = t->watch->ops->add_file(t->watch, path, f, &e);
	if (f->wd == LS_ENOMEM && !t->polling && t->rescan != 2) {
		warn(t, "%s", e.msg);
		t->rescan = 2;
	}
	t->ckpt_dirty = 1;
	if (t->cb.opened && (rc = t->cb.opened(t->ctx, f)) < 0)
		ls_error_set(err, rc, "%s: %s", path, rc == LS_ENOMEM ? "out of memory"
						      : "cannot follow it");
	return rc;
}

/* A regular file matching the globs was seen at path. */
static int found(struct ls_tailer *t, const char *path, const struct stat *st,
		 struct ls_error *err)
{
	struct ls_tail_file *f = find_id(t, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
	struct ls_tail_file *at = find_path(t, path);
	uint64_t fp;

	if (f && !f->r && f->fp_len && !f->compressed &&
	    (fingerprint_path(path, f->fp_len, &fp) < 0 || fp != f->fingerprint)) {
		/* the inode was freed and reused: the old file is gone */
		forget(t, f);
		f = NULL;
		at = find_path(t, path);
	}
	if (at && at != f)
		detach(t, at);
	if (f) {
		f->gen = t->gen;
		if (!f->path || strcmp(f->path, path) != 0) {
			f->detached = 0;
			if (set_path(t, f, path) < 0)
				return ls_error_set(err, LS_ENOMEM, "out of memory");
		}
		if ((uint64_t)st->st_size != f->size)
			f->dirty = 1;
		return 0;
	}
	return add_file(t, path, st, err);
}

static int scan_file_cb(void *ctx, const char *path, const struct stat *st)
{
	struct ls_tailer *t = ctx;
	struct ls_error e;
	int rc = found(t, path, st, &e);

	if (rc < 0)
		warn(t, "%s", e.msg);
	return rc == LS_ENOMEM ? rc : 0;
}

static int scan_dir_cb(void *ctx, const char *dir)
{
	struct ls_tailer *t = ctx;
	struct ls_error e;

	if (t->watch->ops->add_dir(t->watch, dir, &e) < 0 && !t->polling) {
		warn(t, "%s", e.msg);
		if (e.code == LS_ENOMEM)
			t->rescan = 2; /* out of watches: switch to polling */
	}
	return 0;
}

/* Switches to the polling backend (out of inotify watches, or a network
 * file system). */
static int use_polling(struct ls_tailer *t, int period_ms, struct ls_error *err)
{
	struct ls_watch *w;
	int rc = ls_watch_poll_new(&w, period_ms, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->nfiles; i++) {
		if (t->files[i]->wd >= 0)
			t->watch->ops->remove(t->watch, t->files[i]->wd);
		t->files[i]->wd = -1;
	}
	ls_watch_free(t->watch);
	t->watch = w;
	t->polling = 1;
	return 0;
}

/* Looks at every matching path; files known under a path that no longer
 * names them are detached. */
static int full_scan(struct ls_tailer *t, struct ls_error *err)
{
	int rc;

	t->gen++;
	rc = ls_globset_scan(t->globs, scan_file_cb, scan_dir_cb, t, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		if (f->path && f->gen != t->gen)
			detach(t, f);
		/* events may have been lost (overflow): look at every open file */
		if (f->r && !f->done)
			f->dirty = 1;
	}
	if (t->rescan == 2 && !t->polling) {
		warn(t, "polling every 1 s instead of inotify");
		return use_polling(t, 1000, err);
	}
	return 0;
}

/* Looks at one path again after a directory event. */
static int check_path(struct ls_tailer *t, const char *path, struct ls_error *err)
{
	struct ls_tail_file *at = find_path(t, path);
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && ls_globset_match(t->globs, path))
		return found(t, path, &st, err);
	if (at)
		detach(t, at);
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

static int deliver(struct ls_tailer *t, struct ls_tail_file *f, const char *line,
		   size_t len, uint64_t off, unsigned flags)
{
	if (f->compressed && off < f->skip_until)
		return 0;
	update_id_fingerprint(f, ls_reader_fd(f->r));
	t->stats.lines++;
	t->stats.bytes += len + 1;
	return t->cb.line(t->ctx, f, line, len, off, flags);
}

/* The file shrank or its first bytes changed: copytruncate, or rewritten
 * in place. Reads it again from the start. */
static int restart_file(struct ls_tailer *t, struct ls_tail_file *f, uint64_t size,
			struct ls_error *err)
{
	warn(t, "%s was truncated (%llu bytes, %llu read): reading it again from the start; "
	     "lines written between a copy and a truncate are lost (copytruncate)",
	     f->last_path, (unsigned long long)size, (unsigned long long)ls_reader_bytes_out(f->r));
	t->stats.truncations++;
	/* the copy copytruncate made has the old first bytes: remembering how
	 * far they were read lets the copy (or its .gz) start there */
	if (f->fp_len) {
		struct gone_file g = { f->dev, f->ino, f->fingerprint, ls_reader_bytes_out(f->r),
				       f->size, f->fp_len, run_wall_ms(t), f->last_path };
		remember_gone(t, &g);
	}
	f->fp_len = 0;
	f->id_final = 0; /* new first bytes: a new first line */
	f->committed = 0;
	f->partial_since_ms = 0;
	return ls_reader_rewind(f->r, 0, err);
}

/* Keeps the fingerprint up to date while the file is shorter than
 * FP_BYTES, and notices a file rewritten in place. Returns 1 when the
 * file must be read again from the start. */
static int check_fingerprint(struct ls_tail_file *f, uint64_t size)
{
	uint64_t fp;
	int fd = ls_reader_fd(f->r);

	if (f->fp_len && (fingerprint_fd(fd, f->fp_len, &fp) < 0 || fp != f->fingerprint))
		return 1;
	if (f->fp_len < FP_BYTES && size > f->fp_len) {
		uint32_t len = size < FP_BYTES ? (uint32_t)size : FP_BYTES;
		if (fingerprint_fd(fd, len, &fp) == 0) {
			f->fingerprint = fp;
			f->fp_len = len;
		}
	}
	return 0;
}

static int read_file(struct ls_tailer *t, struct ls_tail_file *f, struct ls_error *err);

/* A file found while still empty whose first bytes are gzip or zstd magic
 * (gzip creates its output, then writes it): identified as add_file() does
 * a compressed file (by its decompressed first bytes, so a rotated file
 * already read is skipped), then read as one. */
static int became_compressed(struct ls_tailer *t, struct ls_tail_file *f,
			     struct ls_error *err)
{
	struct ls_reader *r = NULL;
	struct head h;

	ls_reader_free(f->r);
	f->r = NULL;
	open_unlink(t, f);
	f->compressed = 1;
	if (f->path)
		r = first_bytes_compressed(f, f->path, t->o.max_line, &h);
	else
		set_first_bytes(f, NULL, 0, &h);
	f->skip_until = start_offset(t, f, -1, 0, &h);
	ls_reader_free(r);
	f->pos = 0;
	f->committed = 0;
	f->partial_since_ms = 0;
	return read_file(t, f, err);
}

/* Reads f's new lines (at most READ_BUDGET bytes). */
static int read_file(struct ls_tailer *t, struct ls_tail_file *f, struct ls_error *err)
{
	const char *line;
	size_t len;
	uint64_t off, start;
	unsigned flags;
	struct stat st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.st_nlink = 1;
	f->dirty = 0;
	if (f->done)
		return 0;
	if (!f->r) {
		rc = reopen(t, f, err);
		if (rc <= 0) {
			/* it was read to its end before it was closed, and its
			 * path names another file now (or none): f is finished,
			 * and whatever is at the path is looked at afresh */
			char *p = rc == 0 && f->path ? strdup(f->path) : NULL;
			if (rc == 0)
				forget(t, f);
			if (p)
				rc = check_path(t, p, err);
			free(p);
			return rc;
		}
	}
	if (!f->compressed) {
		if (fstat(ls_reader_fd(f->r), &st) < 0)
			return ls_error_set(err, LS_EIO, "%s: %s", f->last_path, strerror(errno));
		if (ls_reader_bytes_in(f->r) == 0 && st.st_size > 0 &&
		    is_compressed(ls_reader_fd(f->r)))
			return became_compressed(t, f, err);
		if ((uint64_t)st.st_size < ls_reader_bytes_in(f->r) || check_fingerprint(f, (uint64_t)st.st_size)) {
			rc = restart_file(t, f, (uint64_t)st.st_size, err);
			if (rc < 0)
				return rc;
			check_fingerprint(f, (uint64_t)st.st_size);
		}
		f->size = (uint64_t)st.st_size;
	}
	fp_note(t, f); /* read_file() is where a fingerprint changes */
	start = ls_reader_bytes_out(f->r);
	/* a plain file not read yet and empty at the fstat above is not read:
	 * bytes written since then are left to the next event, so the magic
	 * check above sees a compressed file's first bytes before they could
	 * be read as text (gzip creates its output, then writes it) */
	rc = 0;
	while ((f->compressed || ls_reader_bytes_in(f->r) > 0 || st.st_size > 0) &&
	       (rc = ls_reader_next(f->r, &line, &len, &off, &flags, err)) > 0) {
		rc = deliver(t, f, line, len, off, flags);
		if (rc < 0)
			return rc;
		if (t->paused || ls_reader_bytes_out(f->r) - start >= READ_BUDGET) {
			/* more next time; what the user holds goes out now, so a
			 * commit never passes lines not yet delivered */
			f->dirty = 1;
			t->more = 1;
			break;
		}
	}
	if (rc == 0 && !f->dirty && t->o.once && !f->compressed &&
	    (f->finish_partial || f->detached) &&
	    ls_reader_take_partial(f->r, &line, &len, &off, &flags) > 0) {
		/* --once: the last line of a file rotated away will not be
		 * finished: it goes out without its newline, as follow mode
		 * sends it when it lets the file go */
		rc = deliver(t, f, line, len, off, flags);
		if (rc < 0)
			return rc;
	}
	if (rc < 0) {
		warn(t, "%s", err->msg);
		f->done = 1;
	}
	if (ls_reader_bytes_out(f->r) != start) {
		f->last_growth_ms = mono_ms();
		t->ckpt_dirty = 1;
	}
	f->last_read_wall = wall_ms();
	if (f->dirty)
		return t->cb.pause ? t->cb.pause(t->ctx, f) : 0;
	if (f->compressed && rc == 0) {
		f->done = 1;
		f->pos = ls_reader_bytes_out(f->r);
		f->size = f->pos;
		ls_reader_free(f->r);
		f->r = NULL;
		open_unlink(t, f);
	}
	if (f->r && ls_reader_held(f->r)) {
		if (!f->partial_since_ms)
			f->partial_since_ms = mono_ms();
	} else {
		f->partial_since_ms = 0;
	}
	if (t->cb.pause && (rc = t->cb.pause(t->ctx, f)) < 0)
		return rc;
	/* deleted and drained: nothing more can come */
	if (f->r && !f->compressed && st.st_nlink == 0)
		forget(t, f);
	return 0;
}

/* Reads every dirty file; the open ones first, so a rotated file is read to
 * its end before the file that replaced it. */
static int read_dirty(struct ls_tailer *t, struct ls_error *err)
{
	int rc;

	if (t->paused)
		return 0; /* files stay dirty: read when the consumer has room */

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->nfiles; i++) {
			struct ls_tail_file *f = t->files[i];
			/* the consumer filled up while reading: opening the next
			 * file would only keep it open, dirty, past max_open */
			if (t->paused)
				return 0;
			if (!f->dirty || (pass == 0) != (f->r != NULL))
				continue;
			rc = read_file(t, f, err);
			if (rc < 0)
				return rc;
			if (i < t->nfiles && t->files[i] != f)
				i--; /* f was forgotten: another file took its slot */
		}
	}
	return 0;
}

/* ---- timers ----------------------------------------------------------- */

static int run_timers(struct ls_tailer *t, int64_t now)
{
	const char *line;
	size_t len;
	uint64_t off;
	unsigned flags;
	int rc;

	for (size_t i = 0; i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		if (f->partial_since_ms && f->r &&
		    now - f->partial_since_ms >= t->o.partial_timeout_ms &&
		    ls_reader_take_partial(f->r, &line, &len, &off, &flags) > 0) {
			f->partial_since_ms = 0;
			t->ckpt_dirty = 1;
			if ((rc = deliver(t, f, line, len, off, flags)) < 0 ||
			    (t->cb.pause && (rc = t->cb.pause(t->ctx, f)) < 0))
				return rc;
		}
		if (f->detached && !f->dirty && now - f->last_growth_ms >= t->o.rotate_wait_ms) {
			forget(t, f);
			i--;
		}
	}
	return 0;
}

/* ---- watch events ----------------------------------------------------- */

static int add_pending(struct ls_tailer *t, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int dot = strcmp(dir, ".") == 0;
	char *p;

	if (t->npending == PENDING_MAX) {
		t->rescan = 1;
		return 0;
	}
	p = malloc(dl + nl + 2);
	if (!p)
		return LS_ENOMEM;
	if (dot) {
		memcpy(p, name, nl + 1);
	} else {
		memcpy(p, dir, dl);
		p[dl] = '/';
		memcpy(p + dl + 1, name, nl + 1);
	}
	t->pending[t->npending++] = p;
	return 0;
}

static int on_watch(void *ctx, const struct ls_watch_event *ev)
{
	struct ls_tailer *t = ctx;

	if (ev->what & LS_WATCH_RESCAN) {
		if (!t->rescan)
			t->rescan = 1;
		return 0;
	}
	if (ev->file) {
		struct ls_tail_file *f = ev->file;
		f->dirty = 1;
		if (ev->what & LS_WATCH_SELF_GONE)
			f->check_path = 1;
		return 0;
	}
	if (ev->what & LS_WATCH_ISDIR) {
		t->rescan = 1; /* a new directory: the globs may reach into it */
		return 0;
	}
	return add_pending(t, ev->dir, ev->name);
}

/* ---- the public functions --------------------------------------------- */

int ls_tailer_new(struct ls_tailer **out, const struct ls_tailer_opts *o,
		  const struct ls_tailer_cbs *cbs, void *ctx, struct ls_error *err)
{
	struct ls_tailer *t = calloc(1, sizeof(*t));
	int rc;

	*out = t;
	if (!t)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	t->o = *o;
	t->cb = *cbs;
	t->ctx = ctx;
	if (!t->o.partial_timeout_ms)
		t->o.partial_timeout_ms = 5000;
	if (!t->o.rotate_wait_ms)
		t->o.rotate_wait_ms = 5000;
	if (t->o.max_open <= 0)
		t->o.max_open = 256;
	if (!t->o.checkpoint_interval_ms)
		t->o.checkpoint_interval_ms = 5000;
	if (!t->o.forget_after_ms)
		t->o.forget_after_ms = (int64_t)24 * 3600 * 1000;
	t->wall_base_ms = wall_ms();
	t->mono_base_ms = mono_ms();
	t->nbuckets = 64;
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->by_path = calloc(t->nbuckets, sizeof(*t->by_path));
	t->fp_filter = calloc(t->nbuckets, sizeof(*t->fp_filter));
	t->pending = calloc(PENDING_MAX, sizeof(*t->pending));
	if (!t->by_id || !t->by_path || !t->fp_filter || !t->pending)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	rc = ls_globset_new(&t->globs, o->paths, o->npaths, o->excludes, o->nexcludes, err);
	if (rc < 0)
		return rc;
	return 0;
}

void ls_tailer_free(struct ls_tailer *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		if (t->cb.closed)
			t->cb.closed(t->ctx, f);
		ls_reader_free(f->r);
		free(f->path);
		free(f->last_path);
		free(f);
	}
	for (size_t i = 0; i < t->ngone; i++)
		free(t->gone[i].path);
	for (size_t i = 0; i < t->npending; i++)
		free(t->pending[i]);
	free(t->pending);
	free(t->gone);
	free(t->files);
	free(t->by_id);
	free(t->by_path);
	free(t->fp_filter);
	ls_watch_free(t->watch);
	ls_globset_free(t->globs);
	free(t);
}

/* Chooses the watch backend: polling when asked, when inotify is missing,
 * or when a base directory is on a network file system. */
static int choose_watch(struct ls_tailer *t, struct ls_error *err)
{
	char base[4096];
	struct ls_error e;

	if (t->o.poll_ms > 0)
		return use_polling(t, t->o.poll_ms, err);
	for (int i = 0; i < ls_globset_count(t->globs); i++) {
		ls_globset_base(t->globs, i, base, sizeof(base));
		if (ls_watch_needs_polling(base)) {
			warn(t, "%s is on a network or FUSE file system: polling it every 1 s", base);
			return use_polling(t, 1000, err);
		}
	}
	if (ls_watch_inotify_new(&t->watch, &e) < 0) {
		warn(t, "%s", e.msg);
		return use_polling(t, 1000, err);
	}
	return 0;
}

/* 1 when e's path still holds e's file: same device and inode, and (for
 * a plain file) the same first bytes; rotated while logship was stopped,
 * a path may keep the inode with other content (copytruncate, or an
 * inode freed and reused at once). */
static int entry_still_there(const struct ls_ckpt_entry *e)
{
	struct stat st;
	uint64_t fp;
	int fd, same;

	if (stat(e->path, &st) < 0 || (uint64_t)st.st_dev != e->dev || (uint64_t)st.st_ino != e->ino)
		return 0;
	if (e->fp_len == 0)
		return 1;
	fd = open(e->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 1;
	same = is_compressed(fd) ||
	       (fingerprint_fd(fd, e->fp_len, &fp) == 0 && fp == e->fingerprint);
	close(fd);
	return same;
}

/* What a stat() says a path that is not a regular file is. */
static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket"
	     : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device"
	     : "not a regular file";
}

/* After the first scan, says which inputs gave nothing to read: a glob
 * that matches no file, a path without wildcards that is missing, not a
 * regular file, or unreadable (add_file() said why). With --once each such
 * path counts in inputs_failed; following, a missing file is read when it
 * appears, so the message says it once and that is all. */
static void check_inputs(struct ls_tailer *t)
{
	char buf[4096];
	struct stat st;

	for (int i = 0; i < ls_globset_count(t->globs); i++) {
		const char *pattern = ls_globset_pattern(t->globs, i);
		const char *path = ls_globset_literal(t->globs, i, buf, sizeof(buf));
		int fd, matched = 0;

		for (size_t k = 0; k < t->nfiles && !matched; k++)
			matched = t->files[k]->path && ls_glob_match(pattern, t->files[k]->path);
		if (matched)
			continue;
		if (!path) {
			warn(t, "no file matches '%s'%s", pattern,
			     t->o.once ? "" : " yet; files that appear are read");
			continue;
		}
		if (stat(path, &st) < 0) {
			if (t->o.once)
				warn(t, "cannot ship %s: %s", path, strerror(errno));
			else
				warn(t, "cannot read %s yet: %s; it is read once it appears", path,
				     strerror(errno));
		} else if (!S_ISREG(st.st_mode)) {
			warn(t, "cannot read %s: it is %s%s%s%s", path, file_kind(st.st_mode),
			     S_ISDIR(st.st_mode) ? "; a glob reads the files in it, e.g. '" : "",
			     S_ISDIR(st.st_mode) ? path : "", S_ISDIR(st.st_mode) ? "/*.log'" : "");
		} else if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) >= 0) {
			close(fd);
			continue; /* left out by --exclude */
		}
		/* (unreadable: add_file() said so) */
		if (t->o.once)
			t->inputs_failed++;
	}
}

/* A failure whose message is missing or left over from an earlier,
 * handled error (a callback's own error, an allocation) gets a generic
 * one: every failure set its code together with its message. */
static int said(int rc, struct ls_error *err)
{
	if (rc < 0 && err && err->code != rc)
		ls_error_set(err, rc, rc == LS_ENOMEM ? "out of memory"
				      : "cannot hand the lines on (error %d)", rc);
	return rc;
}

int ls_tailer_start(struct ls_tailer *t, struct ls_error *err)
{
	int rc;

	if (err)
		err->code = 0;
	rc = choose_watch(t, err);
	if (rc < 0)
		return said(rc, err);
	/* finished files first: a compressed copy found in the scan is matched */
	for (size_t i = 0; t->o.ckpt && i < ls_checkpoint_count(t->o.ckpt); i++) {
		const struct ls_ckpt_entry *e = ls_checkpoint_get(t->o.ckpt, i);
		if (entry_still_there(e))
			continue; /* the scan finds it */
		if (e->gone_since_ms && gone_too_long(t, run_wall_ms(t), e->gone_since_ms))
			continue;
		struct gone_file g = { e->dev, e->ino, e->fingerprint, e->offset, e->size,
				       e->fp_len, e->gone_since_ms ? e->gone_since_ms : run_wall_ms(t),
				       (char *)e->path };
		remember_gone(t, &g);
	}
	rc = full_scan(t, err);
	if (rc < 0)
		return said(rc, err);
	check_inputs(t);
	t->started = 1;
	t->next_ckpt_ms = mono_ms() + t->o.checkpoint_interval_ms;
	return 0;
}

int ls_tailer_fd(const struct ls_tailer *t)
{
	return t->watch ? t->watch->ops->fd(t->watch) : -1;
}

int ls_tailer_timeout_ms(struct ls_tailer *t)
{
	int64_t now = mono_ms(), next = -1;
	int w;

	if (((t->more || t->rescan) && !t->paused) || t->npending)
		return 0;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		int64_t at = -1;
		if (f->dirty && !t->paused)
			return 0;
		if (f->partial_since_ms)
			at = f->partial_since_ms + t->o.partial_timeout_ms;
		if (f->detached && (at < 0 || f->last_growth_ms + t->o.rotate_wait_ms < at))
			at = f->last_growth_ms + t->o.rotate_wait_ms;
		if (at >= 0 && (next < 0 || at < next))
			next = at;
	}
	if (t->o.ckpt && t->ckpt_dirty && (next < 0 || t->next_ckpt_ms < next))
		next = t->next_ckpt_ms;
	w = t->watch ? t->watch->ops->timeout_ms(t->watch, now) : -1;
	if (next < 0)
		return w;
	next = next > now ? next - now : 0;
	if (next > 3600 * 1000)
		next = 3600 * 1000;
	return w >= 0 && w < next ? w : (int)next;
}

static int dispatch_events(struct ls_tailer *t, int fd_ready, struct ls_error *err);

int ls_tailer_dispatch(struct ls_tailer *t, int fd_ready, struct ls_error *err)
{
	int rc;

	if (err)
		err->code = 0;
	rc = said(dispatch_events(t, fd_ready, err), err);
	/* lines read before the failure may still be held by the consumer
	 * (format sampling, a multi-line record) without having reached it:
	 * committing the read position now could lose them */
	if (rc < 0)
		t->failed = 1;
	return rc;
}

static int dispatch_events(struct ls_tailer *t, int fd_ready, struct ls_error *err)
{
	int rc;

	t->more = 0;
	rc = t->watch->ops->dispatch(t->watch, fd_ready, mono_ms(), on_watch, t);
	if (rc < 0)
		return ls_error_set(err, rc, "out of memory");
	rc = read_dirty(t, err);
	for (size_t i = 0; rc >= 0 && i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		if (f->check_path && f->path) {
			char *p = strdup(f->path);
			f->check_path = 0;
			rc = p ? check_path(t, p, err) : LS_ENOMEM;
			free(p);
		}
	}
	for (size_t i = 0; rc >= 0 && i < t->npending; i++)
		rc = check_path(t, t->pending[i], err);
	for (size_t i = 0; i < t->npending; i++)
		free(t->pending[i]);
	t->npending = 0;
	/* a scan of every path waits until the files in hand are read and the
	 * consumer takes lines: with 10^6 files polled, a scan per dispatch
	 * while paused (a slow sink) made ship quadratic */
	if (rc >= 0 && t->rescan && !t->more && !t->paused) {
		rc = full_scan(t, err);
		t->rescan = 0;
	}
	if (rc >= 0)
		rc = read_dirty(t, err);
	if (rc >= 0)
		rc = run_timers(t, mono_ms());
	return rc;
}

int ls_tailer_drain(struct ls_tailer *t, struct ls_error *err)
{
	int rc;

	do {
		for (size_t i = 0; i < t->nfiles; i++)
			t->files[i]->dirty = !t->files[i]->done;
		rc = ls_tailer_dispatch(t, 0, err);
	} while (rc >= 0 && t->more);
	return rc;
}

void ls_tailer_set_paused(struct ls_tailer *t, int paused)
{
	t->paused = paused;
}

int ls_tailer_idle(const struct ls_tailer *t)
{
	if (t->more || t->rescan || t->npending)
		return 0;
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i]->dirty && !t->files[i]->done)
			return 0;
	return 1;
}

void ls_tailer_commit(struct ls_tailer *t)
{
	if (t->failed)
		return;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct ls_tail_file *f = t->files[i];
		uint64_t off = file_offset(f);
		if (f->compressed && off < f->skip_until)
			off = f->skip_until;
		if (t->cb.acked)
			off = t->cb.acked(t->ctx, f, off);
		if (off != f->committed) {
			f->committed = off;
			t->ckpt_dirty = 1;
		}
	}
}

static void entry_of(const struct ls_tail_file *f, struct ls_ckpt_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->path = f->last_path ? f->last_path : "";
	e->dev = f->dev;
	e->ino = f->ino;
	e->fingerprint = f->fingerprint;
	e->fp_len = f->fp_len;
	e->offset = f->committed;
	e->size = f->size;
	e->last_read_ms = f->last_read_wall;
}

/* 1 when (dev, ino) is a live file or a remembered finished one. */
static int still_tracked(struct ls_tailer *t, uint64_t dev, uint64_t ino)
{
	if (find_id(t, dev, ino))
		return 1;
	for (size_t i = 0; i < t->ngone; i++)
		if (t->gone[i].dev == dev && t->gone[i].ino == ino)
			return 1;
	return 0;
}

int ls_tailer_checkpoint(struct ls_tailer *t, int force, struct ls_error *err)
{
	struct ls_checkpoint *cp = t->o.ckpt;
	struct ls_ckpt_entry e;
	int64_t now = mono_ms(), wall = run_wall_ms(t);
	size_t keep = 0;

	if (!cp || (!force && (!t->ckpt_dirty || now < t->next_ckpt_ms)))
		return 0;
	/* drop finished files past --forget-after */
	for (size_t i = 0; i < t->ngone; i++) {
		if (gone_too_long(t, wall, t->gone[i].gone_wall_ms))
			free(t->gone[i].path);
		else
			t->gone[keep++] = t->gone[i];
	}
	t->ngone = keep;
	for (size_t i = ls_checkpoint_count(cp); i-- > 0;) {
		const struct ls_ckpt_entry *old = ls_checkpoint_get(cp, i);
		if (!still_tracked(t, old->dev, old->ino))
			ls_checkpoint_remove(cp, old->dev, old->ino);
	}
	for (size_t i = 0; i < t->ngone; i++) {
		struct gone_file *g = &t->gone[i];
		/* a live file may have taken a finished one's inode */
		if (find_id(t, g->dev, g->ino))
			continue;
		memset(&e, 0, sizeof(e));
		e.path = g->path ? g->path : "";
		e.dev = g->dev;
		e.ino = g->ino;
		e.fingerprint = g->fingerprint;
		e.fp_len = g->fp_len;
		e.offset = g->offset;
		e.size = g->size;
		e.gone_since_ms = g->gone_wall_ms;
		if (ls_checkpoint_put(cp, &e) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < t->nfiles; i++) {
		entry_of(t->files[i], &e);
		if (ls_checkpoint_put(cp, &e) < 0)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	t->ckpt_dirty = 0;
	t->next_ckpt_ms = now + t->o.checkpoint_interval_ms;
	return ls_checkpoint_save(cp, err);
}

uint64_t ls_tailer_failed_inputs(const struct ls_tailer *t)
{
	return t->inputs_failed;
}

void ls_tailer_stats(const struct ls_tailer *t, struct ls_tailer_stats *st)
{
	*st = t->stats;
	st->files_open = t->nopen;
	st->files_known = t->nfiles;
	st->polling = t->polling;
}

void ls_tailer_each(const struct ls_tailer *t,
		    void (*fn)(void *ctx, const char *path, uint64_t size, uint64_t delivered),
		    void *ctx)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		const struct ls_tail_file *f = t->files[i];
		if (f->last_path && !f->done)
			fn(ctx, f->last_path, f->size, f->committed);
	}
}

const char *ls_tail_file_path(const struct ls_tail_file *f)
{
	return f->last_path;
}

uint64_t ls_tail_file_fingerprint(const struct ls_tail_file *f)
{
	return f->id_fingerprint;
}

void **ls_tail_file_user(struct ls_tail_file *f)
{
	return &f->user;
}

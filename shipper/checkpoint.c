/* checkpoint.c - the state file of one pipeline: load (moving a corrupt file
 * aside), lock, atomic save, and the entry table.
 *
 * Entries live in a growable array in insertion order (that order is also
 * the file's); an open-addressing index keyed by (dev, ino) makes find and
 * put O(1), so loading a state of many files stays linear. remove and
 * forget compact the array and rebuild the index, O(n).
 *
 * The file format is described in checkpoint.h. Saving builds the whole
 * file in one buffer (capped at the 256 MiB a load accepts) and writes it
 * with a single write loop; write, fsync and rename go through the small
 * step_* wrappers below so tests can make each of them fail. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "../parsers/buf.h"

#define CKPT_MAGIC "logship-state"
#define CKPT_VERSION "1"
/* about 75 bytes per file: 3 million files; a bound on what a damaged or
 * hostile state file can make a load read */
#define CKPT_MAX_BYTES ((size_t)256 << 20)
#define CKPT_FP_MAX 1024
#define CKPT_NAME_MAX 200
#define CKPT_CORRUPT_TRIES 1000

struct ls_checkpoint {
	char *dir;          /* as given, without trailing slashes */
	char *state_path;   /* dir/NAME.state */
	char *tmp_path;     /* dir/NAME.state.tmp */
	char *lock_path;    /* dir/NAME.lock */
	int lock_fd;        /* holds the flock until free */

	struct ls_ckpt_entry *entries; /* paths are malloc'd by us */
	size_t count, cap;
	size_t *slots;      /* index: entry position + 1, 0 = empty */
	size_t nslots;      /* a power of two, at least twice count (or 0) */

	char *cursor;
	int dirty;          /* changed since the last save (or the load) */
	int readonly;       /* ls_checkpoint_read(): no lock, never moved or saved */

	ls_ckpt_warn_fn warn;
	void *warn_ctx;
};

/* ---- small helpers ---------------------------------------------------- */

/* A malloc'd printf; NULL when memory runs out. */
static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static int valid_name(const char *name)
{
	size_t n = 0;

	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= CKPT_NAME_MAX;
}

/* ---- fault injection (testing only) ----------------------------------- */

static int fail_step_next;

void ls_checkpoint_fail_step_for_test(int step)
{
	fail_step_next = step;
}

static ssize_t step_write(int fail_at, int fd, const void *p, size_t n)
{
	if (fail_at == LS_CKPT_FAIL_WRITE) {
		errno = ENOSPC;
		return -1;
	}
	return write(fd, p, n);
}

/* step is LS_CKPT_FAIL_FSYNC or LS_CKPT_FAIL_DIR_FSYNC. */
static int step_fsync(int fail_at, int step, int fd)
{
	if (fail_at == step) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static int step_rename(int fail_at, const char *from, const char *to)
{
	if (fail_at == LS_CKPT_FAIL_RENAME) {
		errno = EACCES;
		return -1;
	}
	return rename(from, to);
}

/* Writes all n bytes, retrying on EINTR and short writes; 0 or -1 (errno). */
static int write_all(int fail_at, int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = step_write(fail_at, fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			/* a regular file only does this when it cannot grow */
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- the index -------------------------------------------------------- */

static size_t key_hash(uint64_t dev, uint64_t ino)
{
	uint64_t key[2] = { dev, ino };

	return (size_t)XXH64(key, sizeof(key), 0);
}

/* The slot holding (dev, ino), or the empty slot where it would go. Needs
 * nslots > 0 and at least one empty slot. */
static size_t slot_of(const struct ls_checkpoint *cp, uint64_t dev, uint64_t ino)
{
	size_t mask = cp->nslots - 1;
	size_t i = key_hash(dev, ino) & mask;

	for (;;) {
		size_t at = cp->slots[i];
		if (at == 0)
			return i;
		if (cp->entries[at - 1].dev == dev && cp->entries[at - 1].ino == ino)
			return i;
		i = (i + 1) & mask;
	}
}

/* Position of (dev, ino) in entries, or -1. */
static long find_pos(const struct ls_checkpoint *cp, uint64_t dev, uint64_t ino)
{
	size_t at;

	if (cp->nslots == 0)
		return -1;
	at = cp->slots[slot_of(cp, dev, ino)];
	return at ? (long)(at - 1) : -1;
}

/* Refills the index from entries (after a remove, forget or growth). */
static void index_fill(struct ls_checkpoint *cp)
{
	if (cp->nslots == 0)
		return;
	memset(cp->slots, 0, cp->nslots * sizeof(*cp->slots));
	for (size_t i = 0; i < cp->count; i++)
		cp->slots[slot_of(cp, cp->entries[i].dev, cp->entries[i].ino)] = i + 1;
}

/* Makes room for one more entry in the array and the index; 0 or
 * LS_ENOMEM with cp unchanged (apart from spare capacity). */
static int reserve_one(struct ls_checkpoint *cp)
{
	if (cp->count == cp->cap) {
		size_t cap = cp->cap ? 2 * cp->cap : 16;
		struct ls_ckpt_entry *e;
		if (cap > SIZE_MAX / sizeof(*e))
			return LS_ENOMEM;
		e = realloc(cp->entries, cap * sizeof(*e));
		if (!e)
			return LS_ENOMEM;
		cp->entries = e;
		cp->cap = cap;
	}
	if ((cp->count + 1) * 2 > cp->nslots) {
		size_t nslots = cp->nslots ? 2 * cp->nslots : 32;
		size_t *slots;
		if (nslots > SIZE_MAX / sizeof(*slots))
			return LS_ENOMEM;
		slots = calloc(nslots, sizeof(*slots));
		if (!slots)
			return LS_ENOMEM;
		free(cp->slots);
		cp->slots = slots;
		cp->nslots = nslots;
		index_fill(cp);
	}
	return 0;
}

/* Appends e, taking ownership of path; (dev, ino) must be absent and
 * reserve_one() must have succeeded. */
static void append_entry(struct ls_checkpoint *cp, const struct ls_ckpt_entry *e,
			 char *path)
{
	struct ls_ckpt_entry *n = &cp->entries[cp->count];

	*n = *e;
	n->path = path;
	cp->slots[slot_of(cp, e->dev, e->ino)] = cp->count + 1;
	cp->count++;
}

static void clear_state(struct ls_checkpoint *cp)
{
	for (size_t i = 0; i < cp->count; i++)
		free((char *)cp->entries[i].path);
	cp->count = 0;
	index_fill(cp);
	free(cp->cursor);
	cp->cursor = NULL;
}

/* ---- encoding --------------------------------------------------------- */

static int needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%';
}

/* Appends s percent-encoded (see checkpoint.h); 0 or LS_ENOMEM. */
static int append_escaped(struct ls_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = s;

	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[3];
		if (!needs_escape(c))
			continue;
		if (p > run && ls_buf_append(b, run, (size_t)(p - run)) < 0)
			return LS_ENOMEM;
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		if (ls_buf_append(b, esc, 3) < 0)
			return LS_ENOMEM;
		run = p + 1;
	}
	return ls_buf_puts(b, run);
}

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

/* Decodes n bytes of an escaped field into a new string in *out: 0,
 * LS_EDAMAGED (bad escape, raw byte that should have been escaped, %00) or
 * LS_ENOMEM. */
static int unescape(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	size_t j = 0;

	*out = NULL;
	if (!d)
		return LS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = n - i >= 3 ? hex_value(s[i + 1]) : -1;
			int lo = n - i >= 3 ? hex_value(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return LS_EDAMAGED;
			}
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (needs_escape(c)) {
			free(d);
			return LS_EDAMAGED;
		} else {
			d[j++] = (char)c;
		}
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

/* ---- parsing ---------------------------------------------------------- */

/* The next space-separated field of [*p, end), which must be followed by a
 * space (another field comes after it); advances *p past the space. */
static int next_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	if (!sp || sp == *p)
		return -1;
	*f = *p;
	*n = (size_t)(sp - *p);
	*p = sp + 1;
	return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
	uint64_t v;

	if (n > 0 && s[0] == '-') {
		if (parse_u64(s + 1, n - 1, &v) < 0 || v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		return 0;
	}
	if (parse_u64(s, n, &v) < 0 || v > (uint64_t)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int parse_hex16(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n != 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = hex_value(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (uint64_t)h;
	}
	*out = v;
	return 0;
}

/* Parses one "file" record (after "file "); 0, LS_EDAMAGED (why in
 * reason) or LS_ENOMEM. */
static int parse_file_record(struct ls_checkpoint *cp, const char *p, const char *end,
			     char *reason, size_t rlen, int lineno)
{
	static const char *const names[] = { "device", "inode", "fingerprint",
		"fingerprint length", "offset", "size", "last read time",
		"gone-since time" };
	struct ls_ckpt_entry e = { 0 };
	const char *f[8];
	size_t fn[8];
	uint64_t fp_len;
	char *path;
	int bad = -1, rc;

	for (int i = 0; i < 8; i++) {
		if (next_field(&p, end, &f[i], &fn[i]) < 0) {
			snprintf(reason, rlen, "line %d: too few fields", lineno);
			return LS_EDAMAGED;
		}
	}
	if (parse_u64(f[0], fn[0], &e.dev) < 0)
		bad = 0;
	else if (parse_u64(f[1], fn[1], &e.ino) < 0)
		bad = 1;
	else if (parse_hex16(f[2], fn[2], &e.fingerprint) < 0)
		bad = 2;
	else if (parse_u64(f[3], fn[3], &fp_len) < 0 || fp_len > CKPT_FP_MAX)
		bad = 3;
	else if (parse_u64(f[4], fn[4], &e.offset) < 0)
		bad = 4;
	else if (parse_u64(f[5], fn[5], &e.size) < 0)
		bad = 5;
	else if (parse_i64(f[6], fn[6], &e.last_read_ms) < 0)
		bad = 6;
	else if (parse_i64(f[7], fn[7], &e.gone_since_ms) < 0)
		bad = 7;
	if (bad >= 0) {
		snprintf(reason, rlen, "line %d: bad %s '%.*s'", lineno, names[bad],
			 (int)(fn[bad] > 40 ? 40 : fn[bad]), f[bad]);
		return LS_EDAMAGED;
	}
	e.fp_len = (uint32_t)fp_len;
	if (find_pos(cp, e.dev, e.ino) >= 0) {
		snprintf(reason, rlen, "line %d: device %" PRIu64 " inode %" PRIu64
			 " listed twice", lineno, e.dev, e.ino);
		return LS_EDAMAGED;
	}
	rc = unescape(p, (size_t)(end - p), &path);
	if (rc == LS_EDAMAGED)
		snprintf(reason, rlen, "line %d: badly encoded path", lineno);
	if (rc < 0)
		return rc;
	if (reserve_one(cp) < 0) {
		free(path);
		return LS_ENOMEM;
	}
	append_entry(cp, &e, path);
	return 0;
}

/* Parses a whole state file into cp (empty before); 0, LS_EDAMAGED with
 * the reason, or LS_ENOMEM. */
static int parse_state(struct ls_checkpoint *cp, const char *data, size_t len,
		       char *reason, size_t rlen)
{
	static const char header[] = CKPT_MAGIC " " CKPT_VERSION "\n";
	static const char sum_tag[] = "checksum ";
	const char *end = data + len, *nl, *last, *p;
	uint64_t want;
	int lineno = 1, rc;

	if (len == 0) {
		snprintf(reason, rlen, "empty file");
		return LS_EDAMAGED;
	}
	nl = memchr(data, '\n', len);
	if (!nl || (size_t)(nl - data + 1) != sizeof(header) - 1 ||
	    memcmp(data, header, sizeof(header) - 1) != 0) {
		size_t n = nl ? (size_t)(nl - data) : len;
		size_t magic = sizeof(CKPT_MAGIC " ") - 1;
		if (n > magic && memcmp(data, CKPT_MAGIC " ", magic) == 0)
			snprintf(reason, rlen, "unsupported version '%.*s' (this "
				 "logship reads version " CKPT_VERSION ")",
				 (int)(n - magic > 20 ? 20 : n - magic), data + magic);
		else
			snprintf(reason, rlen, "not a logship state file (bad first line)");
		return LS_EDAMAGED;
	}
	if (data[len - 1] != '\n') {
		snprintf(reason, rlen, "truncated (no final newline)");
		return LS_EDAMAGED;
	}
	/* the last line: from after the previous newline to the final one */
	last = end - 1;
	while (last > data && last[-1] != '\n')
		last--;
	if (last <= nl || (size_t)(end - last) != sizeof(sum_tag) - 1 + 16 + 1 ||
	    memcmp(last, sum_tag, sizeof(sum_tag) - 1) != 0 ||
	    parse_hex16(last + sizeof(sum_tag) - 1, 16, &want) < 0) {
		snprintf(reason, rlen, "truncated (no checksum line)");
		return LS_EDAMAGED;
	}
	if (XXH64(data, (size_t)(last - data), 0) != want) {
		snprintf(reason, rlen, "checksum mismatch");
		return LS_EDAMAGED;
	}
	for (p = nl + 1; p < last; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(last - p));
		lineno++;
		if (nl - p > 5 && memcmp(p, "file ", 5) == 0) {
			rc = parse_file_record(cp, p + 5, nl, reason, rlen, lineno);
			if (rc < 0)
				return rc;
		} else if (nl - p >= 7 && memcmp(p, "cursor ", 7) == 0) {
			if (cp->cursor) {
				snprintf(reason, rlen, "line %d: a second cursor", lineno);
				return LS_EDAMAGED;
			}
			rc = unescape(p + 7, (size_t)(nl - p - 7), &cp->cursor);
			if (rc == LS_EDAMAGED)
				snprintf(reason, rlen, "line %d: badly encoded cursor", lineno);
			if (rc < 0)
				return rc;
		} else {
			snprintf(reason, rlen, "line %d: unknown record '%.*s'", lineno,
				 (int)(nl - p > 20 ? 20 : nl - p), p);
			return LS_EDAMAGED;
		}
	}
	return 0;
}

/* ---- load ------------------------------------------------------------- */

/* Renames the corrupt state file aside and warns; 0, LS_EIO or LS_ENOMEM. */
static int move_aside(struct ls_checkpoint *cp, const char *reason, struct ls_error *err)
{
	char stamp[32];
	char *aside = NULL, *msg;
	struct tm tm;
	time_t now = time(NULL);
	struct stat st;
	int rc = 0;

	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	/* We hold the lock, and only a holder makes NAME.state.corrupt-*
	 * names, so checking before renaming does not race. */
	for (int n = 0; n < CKPT_CORRUPT_TRIES; n++) {
		free(aside);
		aside = n == 0 ? fmt_alloc("%s.corrupt-%s", cp->state_path, stamp)
			       : fmt_alloc("%s.corrupt-%s-%d", cp->state_path, stamp, n);
		if (!aside)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		if (lstat(aside, &st) < 0 && errno == ENOENT)
			break;
	}
	if (rename(cp->state_path, aside) < 0) {
		rc = ls_error_set(err, LS_EIO, "state file %s is damaged (%s) and cannot "
				  "be moved to %s: %s", cp->state_path, reason, aside,
				  strerror(errno));
		goto out;
	}
	msg = fmt_alloc("state file %s is damaged (%s); moved it to %s and continuing "
			"without state: events from its files may be sent again",
			cp->state_path, reason, aside);
	if (!msg) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	if (cp->warn)
		cp->warn(cp->warn_ctx, msg);
	free(msg);
out:
	free(aside);
	return rc;
}

static int load_state(struct ls_checkpoint *cp, struct ls_error *err)
{
	char reason[192];
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO planted at the path must not block the open
	 * (signals are blocked by then: nothing would end the wait); it is
	 * refused below as not a regular file */
	fd = open(cp->state_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return ls_error_set(err, LS_EIO, "cannot open state file %s: %s",
				    cp->state_path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = ls_error_set(err, LS_EIO, "cannot read state file %s: %s",
				  cp->state_path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ls_error_set(err, LS_EIO, "state file %s is not a regular file",
				  cp->state_path);
		goto out;
	}
	if ((uint64_t)st.st_size > CKPT_MAX_BYTES) {
		snprintf(reason, sizeof(reason), "larger than %zu MiB", CKPT_MAX_BYTES >> 20);
		rc = LS_EDAMAGED;
	} else {
		data = malloc((size_t)st.st_size + 1);
		if (!data) {
			rc = ls_error_set(err, LS_ENOMEM, "out of memory");
			goto out;
		}
		while (len < (size_t)st.st_size) {
			ssize_t r = read(fd, data + len, (size_t)st.st_size - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = ls_error_set(err, LS_EIO, "cannot read state file %s: %s",
						  cp->state_path, strerror(errno));
				goto out;
			}
			if (r == 0)
				break; /* shrank under us: the checksum will tell */
			len += (size_t)r;
		}
		rc = parse_state(cp, data, len, reason, sizeof(reason));
		if (rc == LS_ENOMEM) {
			ls_error_set(err, rc, "out of memory");
			goto out;
		}
	}
	if (rc == LS_EDAMAGED && cp->readonly) {
		rc = ls_error_set(err, LS_EDAMAGED, "state file %s is damaged (%s)",
				  cp->state_path, reason);
	} else if (rc == LS_EDAMAGED) {
		clear_state(cp);
		rc = move_aside(cp, reason, err);
	}
out:
	close(fd);
	free(data);
	return rc;
}

/* ---- directory and lock ----------------------------------------------- */

/* mkdir -p with mode 0700 for what it creates; existing directories are
 * left as they are. 0 or LS_EIO / LS_ENOMEM. */
static int make_dirs(const char *dir, struct ls_error *err)
{
	struct stat st;
	char *path;
	int rc = 0;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	path = strdup(dir);
	if (!path)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	for (char *p = path + 1;; p++) {
		int last = *p == '\0';
		if (!last && *p != '/')
			continue;
		if (p[-1] == '/') {
			if (last)
				break;
			continue; /* "a//b" */
		}
		*p = '\0';
		if (mkdir(path, 0700) == 0) {
			/* a umask like 0277 must not leave it unwritable */
			if (chmod(path, 0700) < 0) {
				rc = ls_error_set(err, LS_EIO, "cannot set mode of state "
						  "directory %s: %s", path, strerror(errno));
				goto out;
			}
		} else if (errno != EEXIST || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			int e = errno == EEXIST ? ENOTDIR : errno;
			if (strcmp(path, dir) == 0)
				rc = ls_error_set(err, LS_EIO, "cannot create state directory "
						  "%s: %s", dir, strerror(e));
			else
				rc = ls_error_set(err, LS_EIO, "cannot create state directory "
						  "%s: %s: %s", dir, path, strerror(e));
			goto out;
		}
		if (last)
			break;
		*p = '/';
	}
out:
	free(path);
	return rc;
}

/* The pid written in the lock file, or 0 when it cannot be read. */
static long lock_holder(int fd)
{
	char buf[32];
	ssize_t n;
	long pid = 0;

	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);

	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (pid > 100000000L)
			return 0;
		pid = pid * 10 + (buf[i] - '0');
	}
	return pid;
}

static int take_lock(struct ls_checkpoint *cp, struct ls_error *err)
{
	char pid[32];
	ssize_t w;
	int n;

	/* a file we create is made 0600 whatever the umask, so the next run
	 * can open it for writing */
	cp->lock_fd = open(cp->lock_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (cp->lock_fd >= 0 && fchmod(cp->lock_fd, 0600) < 0)
		return ls_error_set(err, LS_EIO, "cannot set mode of lock file %s: %s",
				    cp->lock_path, strerror(errno));
	/* an existing lock file is truncated and written: never through a
	 * symlink planted there */
	if (cp->lock_fd < 0 && errno == EEXIST)
		cp->lock_fd = open(cp->lock_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (cp->lock_fd < 0)
		return ls_error_set(err, LS_EIO, "cannot open lock file %s: %s",
				    cp->lock_path, strerror(errno));
	while (flock(cp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		long holder;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return ls_error_set(err, LS_EIO, "cannot lock %s: %s",
					    cp->lock_path, strerror(errno));
		/* the holder writes its pid just after locking: it may not be
		 * there yet */
		holder = lock_holder(cp->lock_fd);
		if (holder > 0)
			return ls_error_set(err, LS_EBUSY, "state %s is in use by "
					    "another logship (pid %ld)",
					    cp->state_path, holder);
		return ls_error_set(err, LS_EBUSY, "state %s is in use by another "
				    "logship (pid unknown)", cp->state_path);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	do
		w = ftruncate(cp->lock_fd, 0);
	while (w < 0 && errno == EINTR);
	if (w == 0) {
		do
			w = pwrite(cp->lock_fd, pid, (size_t)n, 0);
		while (w < 0 && errno == EINTR);
	}
	if (w != (ssize_t)n)
		return ls_error_set(err, LS_EIO, "cannot write lock file %s: %s",
				    cp->lock_path, w < 0 ? strerror(errno) : "short write");
	return 0;
}

/* ---- public API ------------------------------------------------------- */

int ls_checkpoint_open(struct ls_checkpoint **out, const char *dir, const char *name,
		       ls_ckpt_warn_fn warn, void *ctx, struct ls_error *err)
{
	struct ls_checkpoint *cp = NULL;
	size_t dlen;
	int rc;

	*out = NULL;
	if (!dir || !*dir)
		return ls_error_set(err, LS_EINVAL, "no state directory given");
	if (!name || !valid_name(name))
		return ls_error_set(err, LS_EINVAL, "bad pipeline name '%s' (want 1 to "
				    "%d of A-Z a-z 0-9 . _ -)", name ? name : "",
				    CKPT_NAME_MAX);
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	cp->lock_fd = -1;
	cp->warn = warn;
	cp->warn_ctx = ctx;
	cp->dir = strdup(dir);
	if (!cp->dir)
		goto nomem;
	dlen = strlen(cp->dir);
	while (dlen > 1 && cp->dir[dlen - 1] == '/')
		cp->dir[--dlen] = '\0';
	/* "/" + "/" + name would read "//name": harmless, but keep it tidy */
	cp->state_path = fmt_alloc("%s/%s.state", dlen == 1 && cp->dir[0] == '/' ? "" : cp->dir, name);
	cp->tmp_path = fmt_alloc("%s.tmp", cp->state_path ? cp->state_path : "");
	cp->lock_path = fmt_alloc("%s/%s.lock", dlen == 1 && cp->dir[0] == '/' ? "" : cp->dir, name);
	if (!cp->state_path || !cp->tmp_path || !cp->lock_path)
		goto nomem;
	rc = make_dirs(cp->dir, err);
	if (rc < 0)
		goto fail;
	rc = take_lock(cp, err);
	if (rc < 0)
		goto fail;
	/* a crash between creating and renaming the temp file leaves it */
	unlink(cp->tmp_path);
	rc = load_state(cp, err);
	if (rc < 0)
		goto fail;
	cp->dirty = 0;
	*out = cp;
	return 0;
nomem:
	rc = ls_error_set(err, LS_ENOMEM, "out of memory");
fail:
	ls_checkpoint_free(cp);
	return rc;
}

int ls_checkpoint_read(struct ls_checkpoint **out, const char *path, struct ls_error *err)
{
	struct ls_checkpoint *cp = calloc(1, sizeof(*cp));
	int rc;

	*out = NULL;
	if (!cp || !(cp->state_path = strdup(path))) {
		free(cp);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	cp->lock_fd = -1;
	cp->readonly = 1;
	rc = load_state(cp, err);
	if (rc < 0) {
		ls_checkpoint_free(cp);
		return rc;
	}
	*out = cp;
	return 0;
}

void ls_checkpoint_free(struct ls_checkpoint *cp)
{
	if (!cp)
		return;
	clear_state(cp);
	if (cp->lock_fd >= 0)
		close(cp->lock_fd); /* releases the flock */
	free(cp->entries);
	free(cp->slots);
	free(cp->dir);
	free(cp->state_path);
	free(cp->tmp_path);
	free(cp->lock_path);
	free(cp);
}

const char *ls_checkpoint_path(const struct ls_checkpoint *cp)
{
	return cp->state_path;
}

size_t ls_checkpoint_count(const struct ls_checkpoint *cp)
{
	return cp->count;
}

const struct ls_ckpt_entry *ls_checkpoint_get(const struct ls_checkpoint *cp, size_t i)
{
	return i < cp->count ? &cp->entries[i] : NULL;
}

const struct ls_ckpt_entry *ls_checkpoint_find(const struct ls_checkpoint *cp,
					       uint64_t dev, uint64_t ino)
{
	long pos = find_pos(cp, dev, ino);

	return pos >= 0 ? &cp->entries[pos] : NULL;
}

int ls_checkpoint_put(struct ls_checkpoint *cp, const struct ls_ckpt_entry *e)
{
	const char *path = e->path ? e->path : "";
	long pos;
	char *copy;

	if (e->fp_len > CKPT_FP_MAX)
		return LS_EINVAL;
	pos = find_pos(cp, e->dev, e->ino);
	if (pos >= 0) {
		struct ls_ckpt_entry *cur = &cp->entries[pos];
		int same_path = strcmp(cur->path, path) == 0;
		if (same_path && cur->fingerprint == e->fingerprint &&
		    cur->fp_len == e->fp_len && cur->offset == e->offset &&
		    cur->size == e->size && cur->last_read_ms == e->last_read_ms &&
		    cur->gone_since_ms == e->gone_since_ms)
			return 0;
		copy = same_path ? (char *)cur->path : strdup(path);
		if (!copy)
			return LS_ENOMEM;
		if (!same_path)
			free((char *)cur->path);
		*cur = *e;
		cur->path = copy;
		cp->dirty = 1;
		return 0;
	}
	if (reserve_one(cp) < 0)
		return LS_ENOMEM;
	copy = strdup(path);
	if (!copy)
		return LS_ENOMEM;
	append_entry(cp, e, copy);
	cp->dirty = 1;
	return 0;
}

void ls_checkpoint_remove(struct ls_checkpoint *cp, uint64_t dev, uint64_t ino)
{
	long pos = find_pos(cp, dev, ino);

	if (pos < 0)
		return;
	free((char *)cp->entries[pos].path);
	memmove(&cp->entries[pos], &cp->entries[pos + 1],
		(cp->count - (size_t)pos - 1) * sizeof(*cp->entries));
	cp->count--;
	index_fill(cp);
	cp->dirty = 1;
}

size_t ls_checkpoint_forget(struct ls_checkpoint *cp, int64_t now_ms, int64_t forget_after_ms)
{
	size_t kept = 0, dropped;

	for (size_t i = 0; i < cp->count; i++) {
		struct ls_ckpt_entry *e = &cp->entries[i];
		int64_t gone_for;
		/* times come from a file and may be anything: saturate */
		if (__builtin_sub_overflow(now_ms, e->gone_since_ms, &gone_for))
			gone_for = now_ms > e->gone_since_ms ? INT64_MAX : INT64_MIN;
		if (e->gone_since_ms != 0 && gone_for > forget_after_ms) {
			free((char *)e->path);
			continue;
		}
		cp->entries[kept++] = *e;
	}
	dropped = cp->count - kept;
	if (dropped) {
		cp->count = kept;
		index_fill(cp);
		cp->dirty = 1;
	}
	return dropped;
}

const char *ls_checkpoint_cursor(const struct ls_checkpoint *cp)
{
	return cp->cursor;
}

int ls_checkpoint_set_cursor(struct ls_checkpoint *cp, const char *cursor)
{
	char *copy = NULL;

	if (!cursor && !cp->cursor)
		return 0;
	if (cursor && cp->cursor && strcmp(cursor, cp->cursor) == 0)
		return 0;
	if (cursor) {
		copy = strdup(cursor);
		if (!copy)
			return LS_ENOMEM;
	}
	free(cp->cursor);
	cp->cursor = copy;
	cp->dirty = 1;
	return 0;
}

/* The whole file into b; 0 or LS_ENOMEM (out of memory or over the cap). */
static int serialize(const struct ls_checkpoint *cp, struct ls_buf *b)
{
	if (ls_buf_puts(b, CKPT_MAGIC " " CKPT_VERSION "\n") < 0)
		return LS_ENOMEM;
	for (size_t i = 0; i < cp->count; i++) {
		const struct ls_ckpt_entry *e = &cp->entries[i];
		if (ls_buf_printf(b, "file %" PRIu64 " %" PRIu64 " %016" PRIx64 " %" PRIu32
				  " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " ",
				  e->dev, e->ino, e->fingerprint, e->fp_len, e->offset,
				  e->size, e->last_read_ms, e->gone_since_ms) < 0 ||
		    append_escaped(b, e->path) < 0 || ls_buf_putc(b, '\n') < 0)
			return LS_ENOMEM;
	}
	if (cp->cursor && (ls_buf_puts(b, "cursor ") < 0 ||
			   append_escaped(b, cp->cursor) < 0 || ls_buf_putc(b, '\n') < 0))
		return LS_ENOMEM;
	return ls_buf_printf(b, "checksum %016" PRIx64 "\n", XXH64(b->data, b->len, 0));
}

int ls_checkpoint_save(struct ls_checkpoint *cp, struct ls_error *err)
{
	struct ls_buf b;
	const char *step = NULL, *where = NULL;
	int fd = -1, dir_fd = -1, renamed = 0, fail_at, e = 0, rc = 0;

	if (cp->readonly)
		return ls_error_set(err, LS_EINVAL, "%s was opened for reading only", cp->state_path);
	if (!cp->dirty)
		return 0;
	fail_at = fail_step_next;
	fail_step_next = LS_CKPT_FAIL_NONE;
	ls_buf_init(&b, CKPT_MAX_BYTES);
	if (serialize(cp, &b) < 0) {
		rc = ls_error_set(err, LS_ENOMEM, "cannot save state %s: out of memory "
				  "or over %zu MiB", cp->state_path, CKPT_MAX_BYTES >> 20);
		goto out;
	}
	/* a stale temp file may be a symlink or have another mode: start anew;
	 * O_EXCL (which implies not following a symlink) makes sure the file
	 * written is the one created here, not one planted since the unlink */
	unlink(cp->tmp_path);
	fd = open(cp->tmp_path, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		step = "open", where = cp->tmp_path;
		goto fail;
	}
	if (fchmod(fd, 0600) < 0) { /* whatever the umask */
		step = "chmod", where = cp->tmp_path;
		goto fail;
	}
	if (write_all(fail_at, fd, b.data, b.len) < 0) {
		step = "write", where = cp->tmp_path;
		goto fail;
	}
	if (step_fsync(fail_at, LS_CKPT_FAIL_FSYNC, fd) < 0) {
		step = "fsync", where = cp->tmp_path;
		goto fail;
	}
	e = close(fd);
	fd = -1;
	if (e < 0) {
		step = "close", where = cp->tmp_path;
		goto fail;
	}
	if (step_rename(fail_at, cp->tmp_path, cp->state_path) < 0) {
		step = "rename", where = cp->tmp_path;
		goto fail;
	}
	renamed = 1;
	dir_fd = open(cp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		step = "open directory", where = cp->dir;
		goto fail;
	}
	/* Some file systems cannot fsync a directory (EINVAL); there is
	 * nothing better to do there. */
	if (step_fsync(fail_at, LS_CKPT_FAIL_DIR_FSYNC, dir_fd) < 0 && errno != EINVAL) {
		step = "fsync directory", where = cp->dir;
		goto fail;
	}
	cp->dirty = 0;
	goto out;
fail:
	e = errno;
	if (!renamed)
		unlink(cp->tmp_path);
	rc = ls_error_set(err, LS_EIO, "cannot save state %s: %s %s: %s",
			  cp->state_path, step, where, strerror(e));
out:
	if (fd >= 0)
		close(fd);
	if (dir_fd >= 0)
		close(dir_fd);
	ls_buf_release(&b);
	return rc;
}

const char *ls_checkpoint_default_dir(char *buf, size_t n)
{
	const char *xdg, *home;
	int len;

	if (geteuid() == 0)
		len = snprintf(buf, n, "/var/lib/logship");
	else if ((xdg = getenv("XDG_STATE_HOME")) != NULL && xdg[0] == '/')
		len = snprintf(buf, n, "%s/logship", xdg);
	else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
		len = snprintf(buf, n, "%s/.local/state/logship", home);
	else
		return NULL;
	return len >= 0 && (size_t)len < n ? buf : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *ls_checkpoint_pipeline_name(const char *command, const char *const *inputs,
					int ninputs, const char *sink, char *buf, size_t n)
{
	const char **sorted = NULL;
	XXH64_state_t *st;
	char count[24];
	uint64_t h;
	int len;

	if (ninputs < 0)
		ninputs = 0;
	st = XXH64_createState();
	if (!st)
		return NULL;
	if (ninputs > 0) {
		sorted = malloc((size_t)ninputs * sizeof(*sorted));
		if (!sorted) {
			XXH64_freeState(st);
			return NULL;
		}
		memcpy(sorted, inputs, (size_t)ninputs * sizeof(*sorted));
		qsort(sorted, (size_t)ninputs, sizeof(*sorted), cmp_str);
	}
	XXH64_reset(st, 0);
	XXH64_update(st, command, strlen(command) + 1);
	len = snprintf(count, sizeof(count), "%d", ninputs);
	XXH64_update(st, count, (size_t)len + 1);
	for (int i = 0; i < ninputs; i++)
		XXH64_update(st, sorted[i], strlen(sorted[i]) + 1);
	if (sink)
		XXH64_update(st, sink, strlen(sink) + 1);
	h = XXH64_digest(st);
	XXH64_freeState(st);
	free(sorted);
	len = snprintf(buf, n, "%s-%016" PRIx64, command, h);
	return len >= 0 && (size_t)len < n ? buf : NULL;
}

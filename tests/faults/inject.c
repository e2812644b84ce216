/* inject.c - an LD_PRELOAD fault injector for logship's fault tests
 * (tests/faults/run.sh), in the spirit of sqlite's test_malloc.c: it makes
 * the Nth allocation fail, makes chosen file operations fail with a chosen
 * errno, and interrupts reads and writes with EINTR. logship's code is not
 * changed for it. Built at test time:
 *
 *   cc -shared -fPIC -O1 -o inject.so tests/faults/inject.c -ldl
 *
 * Settings (environment, read once by the constructor):
 *
 *   LS_FAIL_ALLOC=N          the Nth call of malloc, calloc, realloc (size >
 *                            0), posix_memalign, aligned_alloc, memalign,
 *                            valloc returns NULL / ENOMEM. Calls are counted
 *                            from this library's constructor on (the dynamic
 *                            loader's own start-up allocations are not);
 *                            strdup, strndup, asprintf, fopen ... allocate
 *                            through malloc and are counted there.
 *   LS_FAIL_ALLOC_PERSIST=1  every call from the Nth on fails (default: only
 *                            the Nth, as sqlite's "transient" mode).
 *
 *   LS_FAIL_OP=OP[,OP...]    file operations to fail: write (write, pwrite,
 *                            writev), fsync, fdatasync, rename, open (with
 *                            O_CREAT or a write mode), close, read
 *   LS_FAIL_PATH=TEXT        only on files whose path contains TEXT (for a
 *                            descriptor, its /proc/self/fd link; for rename,
 *                            either name); "TEXT$": whose path ends with
 *                            TEXT. Empty or unset: any file.
 *   LS_FAIL_NTH=N            the Nth matching call fails (default 1)
 *   LS_FAIL_ERRNO=NAME       ENOSPC (default), EIO, EDQUOT, EACCES, EROFS,
 *                            EFBIG, EPERM or a number
 *   LS_FAIL_PERSIST=1        every matching call from the Nth on fails (a
 *                            full disk stays full)
 *   LS_FAIL_SHORT=1          with write: the Nth matching write writes half
 *                            its bytes and returns that count (what a write
 *                            that fills the disk does); later matching
 *                            writes fail with the errno.
 *
 *   LS_EINTR=1               every other call of read, pread, readv, write,
 *                            pwrite, writev, poll, ppoll, epoll_wait,
 *                            nanosleep, clock_nanosleep fails with EINTR
 *                            before doing anything (as if a signal handler
 *                            had run), on any descriptor.
 *
 *   LS_FAULT_BACKTRACE=1     on SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT,
 *                            prints "inject: fatal signal N" and a raw
 *                            backtrace (addr2line-able) on stderr, then
 *                            dies of the signal as it would have.
 *
 *   LS_FAULT_TRACE=1         prints "inject: fault injected here" and a raw
 *                            backtrace on stderr where each fault is
 *                            injected (addr2line -f -e logship OFFSET).
 *
 *   LS_MARK_OPEN=TEXT        remember how many allocations were made before
 *                            the first open() of a path containing TEXT (the
 *                            input: where a command's start-up ends and its
 *                            own work begins); reported as mark=.
 *
 *   LS_FAULT_REPORT=FILE     at exit, writes one line to FILE:
 *                            "allocs=<calls counted> alloc_fired=<0|1>
 *                            io_fired=<failed calls> eintr=<interruptions>
 *                            mark=<allocations before LS_MARK_OPEN, or 0>"
 *                            (not written when the process dies of a signal
 *                            or _exit()s).
 *
 * The allocation wrappers call glibc's __libc_malloc and friends, so no
 * dlsym() (which itself allocates) is needed for them; the I/O wrappers find
 * the next definition with dlsym(RTLD_NEXT) on first use. Counters are
 * atomic: libcurl may resolve names in a thread. Only glibc's exported
 * entry points are seen: stdio's own writes (fwrite, fprintf) go to the
 * system call without passing through write(), so they are not injected. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

enum { OP_WRITE = 1, OP_FSYNC = 2, OP_FDATASYNC = 4, OP_RENAME = 8, OP_OPEN = 16,
       OP_CLOSE = 32, OP_READ = 64 };

static int started;              /* the constructor ran */
static unsigned long alloc_fail_at;
static int alloc_persist;
static unsigned long alloc_calls;
static int alloc_fired;

static unsigned io_ops;          /* OP_* bits */
static char io_path[1024];
static unsigned long io_nth = 1;
static int io_errno = ENOSPC;
static int io_persist, io_short;
static unsigned long io_calls;   /* matching calls so far */
static unsigned long io_fired;
static int io_shorted;           /* the short write happened */

static int eintr_on;
static unsigned long eintr_calls, eintr_fired;

static char report_path[1024];
static char mark_path[1024];     /* LS_MARK_OPEN */
static unsigned long mark_allocs; /* allocations before that open */
static int marked;

/* ---- allocation ------------------------------------------------------- */

static int trace_fired;           /* LS_FAULT_TRACE */

/* Called when a fault is injected: a breakpoint for gdb ("break
 * inject_fired") finds the failing call's caller; with LS_FAULT_TRACE the
 * backtrace is printed. The system call is made directly, not through the
 * write() below, which may be failing. */
__attribute__((noinline)) void inject_fired(void)
{
	static const char head[] = "inject: fault injected here\n";
	static __thread int tracing; /* backtrace() may allocate, and fail */
	void *frames[64];
	int n;

	__asm__ volatile("");
	if (!trace_fired || tracing)
		return;
	tracing = 1;
	if (syscall(SYS_write, 2, head, sizeof(head) - 1) >= 0) {
		n = backtrace(frames, 64);
		backtrace_symbols_fd(frames, n, 2);
	}
	tracing = 0;
}

/* 1 when this allocation must fail. */
static int alloc_fails(void)
{
	unsigned long n;

	if (!started || !alloc_fail_at)
		return 0;
	n = __atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
	if (n == alloc_fail_at || (alloc_persist && n > alloc_fail_at)) {
		alloc_fired = 1;
		inject_fired();
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

/* Counts without failing, so a clean run reports its total. */
static void alloc_count(void)
{
	if (started && !alloc_fail_at)
		__atomic_add_fetch(&alloc_calls, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	alloc_count();
	return alloc_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	alloc_count();
	return alloc_fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: nothing to fail */
	if (n > 0) {
		alloc_count();
		if (alloc_fails())
			return NULL;
	}
	return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	alloc_count();
	if (alloc_fails())
		return ENOMEM;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	alloc_count();
	return alloc_fails() ? NULL : __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
	alloc_count();
	return alloc_fails() ? NULL : __libc_memalign(align, n);
}

void *valloc(size_t n)
{
	alloc_count();
	return alloc_fails() ? NULL : __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

/* ---- file operations -------------------------------------------------- */

#define NEXT(name) \
	static __typeof__(name) *next_##name; \
	if (!next_##name) \
		next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* TEXT anywhere in path, or at its end when LS_FAIL_PATH ends with '$'. */
static int text_in(const char *path, const char *text)
{
	size_t n = strlen(text), len;

	if (n > 0 && text[n - 1] == '$') {
		len = strlen(path);
		return len >= n - 1 && memcmp(path + len - (n - 1), text, n - 1) == 0;
	}
	return strstr(path, text) != NULL;
}

static int path_matches(const char *path)
{
	return io_path[0] == '\0' || (path && text_in(path, io_path));
}

static int fd_matches(int fd)
{
	char link[64], target[4096];
	ssize_t n;

	if (io_path[0] == '\0')
		return 1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return text_in(target, io_path);
}

/* 1 when this matching call of op must fail (errno is set). */
static int io_fails(unsigned op, int matches)
{
	unsigned long n;

	if (!started || !(io_ops & op) || !matches)
		return 0;
	n = __atomic_add_fetch(&io_calls, 1, __ATOMIC_RELAXED);
	if (n == io_nth || (io_persist && n > io_nth) || (io_shorted && n > io_nth)) {
		__atomic_add_fetch(&io_fired, 1, __ATOMIC_RELAXED);
		inject_fired();
		errno = io_errno;
		return 1;
	}
	return 0;
}

/* EINTR on every other call (when on). */
static int interrupted(void)
{
	if (!started || !eintr_on)
		return 0;
	if (__atomic_add_fetch(&eintr_calls, 1, __ATOMIC_RELAXED) % 2 == 1) {
		__atomic_add_fetch(&eintr_fired, 1, __ATOMIC_RELAXED);
		errno = EINTR;
		return 1;
	}
	return 0;
}

ssize_t write(int fd, const void *p, size_t n)
{
	NEXT(write);
	if (interrupted())
		return -1;
	if ((io_ops & OP_WRITE) && io_fails(OP_WRITE, fd_matches(fd))) {
		if (io_short && !io_shorted && n > 1) {
			int e = errno;
			io_shorted = 1;
			ssize_t w = next_write(fd, p, n / 2);
			errno = e;
			return w;
		}
		return -1;
	}
	return next_write(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	NEXT(pwrite);
	if (interrupted())
		return -1;
	if ((io_ops & OP_WRITE) && io_fails(OP_WRITE, fd_matches(fd)))
		return -1;
	return next_pwrite(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	NEXT(writev);
	if (interrupted())
		return -1;
	if ((io_ops & OP_WRITE) && io_fails(OP_WRITE, fd_matches(fd)))
		return -1;
	return next_writev(fd, iov, cnt);
}

ssize_t read(int fd, void *p, size_t n)
{
	NEXT(read);
	if (interrupted())
		return -1;
	if ((io_ops & OP_READ) && io_fails(OP_READ, fd_matches(fd)))
		return -1;
	return next_read(fd, p, n);
}

ssize_t pread(int fd, void *p, size_t n, off_t off)
{
	NEXT(pread);
	if (interrupted())
		return -1;
	if ((io_ops & OP_READ) && io_fails(OP_READ, fd_matches(fd)))
		return -1;
	return next_pread(fd, p, n, off);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	NEXT(readv);
	if (interrupted())
		return -1;
	return next_readv(fd, iov, cnt);
}

int fsync(int fd)
{
	NEXT(fsync);
	if ((io_ops & OP_FSYNC) && io_fails(OP_FSYNC, fd_matches(fd)))
		return -1;
	return next_fsync(fd);
}

int fdatasync(int fd)
{
	NEXT(fdatasync);
	if ((io_ops & OP_FDATASYNC) && io_fails(OP_FDATASYNC, fd_matches(fd)))
		return -1;
	return next_fdatasync(fd);
}

int rename(const char *from, const char *to)
{
	NEXT(rename);
	if ((io_ops & OP_RENAME) && io_fails(OP_RENAME, path_matches(from) || path_matches(to)))
		return -1;
	return next_rename(from, to);
}

int close(int fd)
{
	NEXT(close);
	if ((io_ops & OP_CLOSE) && io_fails(OP_CLOSE, fd_matches(fd))) {
		/* Linux frees the descriptor even when close reports an error */
		int e = errno;
		next_close(fd);
		errno = e;
		return -1;
	}
	return next_close(fd);
}

/* Notes how many allocations came before the first open of the marked
 * path, and tells whether open() on path must fail: only with O_CREAT,
 * O_WRONLY or O_RDWR, on a matching path. */
static int open_fails(const char *path, int flags)
{
	if (!marked && mark_path[0] && started && path && strstr(path, mark_path)) {
		marked = 1;
		mark_allocs = __atomic_load_n(&alloc_calls, __ATOMIC_RELAXED);
	}
	if (!(flags & (O_CREAT | O_WRONLY | O_RDWR)))
		return 0;
	return (io_ops & OP_OPEN) && io_fails(OP_OPEN, path_matches(path));
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	NEXT(open);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (open_fails(path, flags))
		return -1;
	return next_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	NEXT(open64);
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (open_fails(path, flags))
		return -1;
	return next_open64(path, flags, mode);
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	NEXT(poll);
	if (interrupted())
		return -1;
	return next_poll(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	NEXT(ppoll);
	if (interrupted())
		return -1;
	return next_ppoll(fds, n, ts, mask);
}

int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	NEXT(epoll_wait);
	if (interrupted())
		return -1;
	return next_epoll_wait(epfd, ev, max, timeout);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	NEXT(nanosleep);
	if (interrupted()) {
		if (rem)
			*rem = *req;
		return -1;
	}
	return next_nanosleep(req, rem);
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
	NEXT(clock_nanosleep);
	if (interrupted()) {
		if (rem && !(flags & TIMER_ABSTIME))
			*rem = *req;
		return EINTR; /* it returns the error, errno is untouched */
	}
	return next_clock_nanosleep(clk, flags, req, rem);
}

/* ---- set-up and report ------------------------------------------------ */

static void crash_handler(int sig)
{
	void *frames[64];
	char line[64];
	int n = snprintf(line, sizeof(line), "inject: fatal signal %d\n", sig);

	if (n > 0 && write(2, line, (size_t)n) < 0)
		n = 0;
	n = backtrace(frames, 64);
	backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 10) : dflt;
}

static int errno_named(const char *v)
{
	static const struct { const char *name; int value; } names[] = {
		{"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EDQUOT", EDQUOT}, {"EACCES", EACCES},
		{"EROFS", EROFS}, {"EFBIG", EFBIG}, {"EPERM", EPERM}, {"EINTR", EINTR},
	};

	if (!v || !*v)
		return ENOSPC;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0)
			return names[i].value;
	return atoi(v) > 0 ? atoi(v) : ENOSPC;
}

static unsigned ops_named(const char *v)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{"write", OP_WRITE}, {"fsync", OP_FSYNC}, {"fdatasync", OP_FDATASYNC},
		{"rename", OP_RENAME}, {"open", OP_OPEN}, {"close", OP_CLOSE}, {"read", OP_READ},
	};
	unsigned ops = 0;

	while (v && *v) {
		size_t len = strcspn(v, ",");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len && strncmp(v, names[i].name, len) == 0)
				ops |= names[i].bit;
		v += len;
		if (*v == ',')
			v++;
	}
	return ops;
}

__attribute__((constructor)) static void inject_init(void)
{
	const char *v;

	alloc_fail_at = env_ulong("LS_FAIL_ALLOC", 0);
	alloc_persist = env_ulong("LS_FAIL_ALLOC_PERSIST", 0) != 0;
	io_ops = ops_named(getenv("LS_FAIL_OP"));
	if ((v = getenv("LS_FAIL_PATH")) != NULL)
		snprintf(io_path, sizeof(io_path), "%s", v);
	io_nth = env_ulong("LS_FAIL_NTH", 1);
	if (io_nth == 0)
		io_nth = 1;
	io_errno = errno_named(getenv("LS_FAIL_ERRNO"));
	io_persist = env_ulong("LS_FAIL_PERSIST", 0) != 0;
	io_short = env_ulong("LS_FAIL_SHORT", 0) != 0;
	eintr_on = env_ulong("LS_EINTR", 0) != 0;
	if ((v = getenv("LS_FAULT_REPORT")) != NULL)
		snprintf(report_path, sizeof(report_path), "%s", v);
	if ((v = getenv("LS_MARK_OPEN")) != NULL)
		snprintf(mark_path, sizeof(mark_path), "%s", v);
	trace_fired = env_ulong("LS_FAULT_TRACE", 0) != 0;
	if (trace_fired) {
		void *warm[1];
		backtrace(warm, 1);
	}
	if (env_ulong("LS_FAULT_BACKTRACE", 0)) {
		void *warm[1];
		backtrace(warm, 1); /* loads libgcc now, not in the handler */
		signal(SIGSEGV, crash_handler);
		signal(SIGBUS, crash_handler);
		signal(SIGFPE, crash_handler);
		signal(SIGILL, crash_handler);
		signal(SIGABRT, crash_handler);
	}
	started = 1;
}

__attribute__((destructor)) static void inject_report(void)
{
	char line[256];
	int fd, n;

	if (!report_path[0])
		return;
	started = 0; /* nothing after this point is ours to fail */
	n = snprintf(line, sizeof(line), "allocs=%lu alloc_fired=%d io_fired=%lu eintr=%lu "
		     "mark=%lu\n", alloc_calls, alloc_fired, io_fired, eintr_fired,
		     marked ? mark_allocs : 0);
	fd = open(report_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

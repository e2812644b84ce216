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
 *   LS_DNS_NAME=HOST         name lookups of HOST (getaddrinfo,
 *                            gethostbyname, gethostbyname2 and their _r
 *                            forms; case-insensitive, a trailing dot
 *                            ignored) are answered here, never by the
 *                            system's resolver: they fail with
 *                            LS_DNS_ERROR. With LS_DNS_NAME set, every other
 *                            lookup of a name that is not a numeric address
 *                            fails with EAI_NONAME too (counted as
 *                            dns_other), and connect()/sendto() to port 53
 *                            fail with ENETUNREACH (counted as dns_blocked):
 *                            no query leaves the machine. Names under
 *                            ".invalid" are always answered here (EAI_NONAME
 *                            unless they are HOST), whatever the settings.
 *   LS_DNS_ERROR=NAME        EAI_NONAME (default: "no such name"), EAI_AGAIN
 *                            (a temporary failure) or EAI_FAIL
 *   LS_DNS_FAIL_FIRST=K      only the first K lookups of HOST fail; later ones
 *                            give LS_DNS_ADDR (default: every lookup fails)
 *   LS_DNS_ADDR=ADDR         the numeric address HOST resolves to after the
 *                            first K lookups (default 127.0.0.1)
 *
 *   LS_CLOCK_JUMP=SECONDS    the wall clock (clock_gettime of CLOCK_REALTIME,
 *                            CLOCK_REALTIME_COARSE and CLOCK_TAI, time(),
 *                            gettimeofday(), timespec_get()) jumps by SECONDS
 *                            (negative: backwards), once or repeatedly (see
 *                            below); CLOCK_MONOTONIC, CLOCK_BOOTTIME and the
 *                            others are never touched.
 *   LS_CLOCK_JUMP_AT_MS=MS   the jump happens MS ms after this library started
 *                            (measured on CLOCK_MONOTONIC) ...
 *   LS_CLOCK_JUMP_AT_CALL=N  ... or at the Nth read of the wall clock ...
 *   LS_CLOCK_JUMP_FILE=PATH  ... or at the first read after PATH exists (a
 *                            test script decides the moment); no default
 *                            moment: without one of the three, the clock
 *                            is off by SECONDS from the start
 *   LS_CLOCK_JUMP_REPEAT=1   jump again every MS ms (every N reads): the
 *                            offsets add up, so with a negative jump the wall
 *                            clock keeps going backwards.
 *
 *   LS_FAULT_REPORT=FILE     at exit, writes one line to FILE:
 *                            "allocs=<calls counted> alloc_fired=<0|1>
 *                            io_fired=<failed calls> eintr=<interruptions>
 *                            mark=<allocations before LS_MARK_OPEN, or 0>
 *                            dns_failed=<lookups of HOST failed>
 *                            dns_answered=<lookups of HOST answered with
 *                            LS_DNS_ADDR> dns_other=<other names refused>
 *                            dns_blocked=<port-53 sends refused>
 *                            clock_reads=<wall clock reads>
 *                            clock_jumps=<jumps seen by a read>"
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
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
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

/* ---- name lookups ----------------------------------------------------- */

static char dns_name[256];       /* LS_DNS_NAME, without a trailing dot */
static int dns_error = EAI_NONAME;
static long dns_fail_first = -1; /* -1: every lookup fails */
static char dns_addr[64] = "127.0.0.1";
static unsigned long dns_lookups, dns_failed, dns_answered, dns_other, dns_blocked;

static __typeof__(getaddrinfo) *real_getaddrinfo;
static __typeof__(gethostbyname) *real_gethostbyname;
static __typeof__(gethostbyname2) *real_gethostbyname2;
static __typeof__(gethostbyname_r) *real_gethostbyname_r;
static __typeof__(gethostbyname2_r) *real_gethostbyname2_r;
static __typeof__(connect) *real_connect;
static __typeof__(sendto) *real_sendto;

/* name equals want, ignoring case and one trailing dot. */
static int same_host(const char *name, const char *want)
{
	size_t n = strlen(name), w = strlen(want);

	if (n > 0 && name[n - 1] == '.')
		n--;
	return n == w && strncasecmp(name, want, n) == 0;
}

/* name lies under the reserved ".invalid" top-level domain. */
static int is_invalid_tld(const char *name)
{
	static const char tld[] = ".invalid";
	size_t n = strlen(name), t = sizeof(tld) - 1;

	if (n > 0 && name[n - 1] == '.')
		n--;
	return (n == t - 1 && strncasecmp(name, tld + 1, n) == 0) ||
	       (n > t && strncasecmp(name + n - t, tld, t) == 0);
}

static int is_numeric(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

enum dns_answer { DNS_PASS, DNS_FAIL, DNS_ADDR };

/* What a lookup of name gets: the system's answer (a numeric address, or
 * any name when no LS_DNS_NAME is set), a failure, or LS_DNS_ADDR. */
static enum dns_answer dns_decide(const char *name)
{
	unsigned long n;

	if (!name)
		return DNS_PASS;
	if (dns_name[0] && same_host(name, dns_name)) {
		n = __atomic_add_fetch(&dns_lookups, 1, __ATOMIC_RELAXED);
		if (dns_fail_first < 0 || n <= (unsigned long)dns_fail_first) {
			__atomic_add_fetch(&dns_failed, 1, __ATOMIC_RELAXED);
			inject_fired();
			return DNS_FAIL;
		}
		__atomic_add_fetch(&dns_answered, 1, __ATOMIC_RELAXED);
		return DNS_ADDR;
	}
	if (is_numeric(name))
		return DNS_PASS;
	if (dns_name[0] || is_invalid_tld(name)) {
		__atomic_add_fetch(&dns_other, 1, __ATOMIC_RELAXED);
		return DNS_FAIL;
	}
	return DNS_PASS;
}

/* The h_errno that matches LS_DNS_ERROR. */
static int dns_h_errno(void)
{
	return dns_error == EAI_AGAIN ? TRY_AGAIN : dns_error == EAI_FAIL ? NO_RECOVERY
									  : HOST_NOT_FOUND;
}

#define NEED_REAL(name) \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	struct addrinfo numeric;

	NEED_REAL(getaddrinfo);
	switch (dns_decide(node)) {
	case DNS_FAIL:
		/* a name failed by us is never a resolver's own error */
		return same_host(node, dns_name) ? dns_error : EAI_NONAME;
	case DNS_ADDR:
		/* a numeric address: the C library answers it without a query */
		if (hints)
			numeric = *hints;
		else
			memset(&numeric, 0, sizeof(numeric));
		numeric.ai_flags |= AI_NUMERICHOST;
		numeric.ai_flags &= ~AI_CANONNAME;
		return real_getaddrinfo(dns_addr, service, &numeric, res);
	default:
		return real_getaddrinfo(node, service, hints, res);
	}
}

struct hostent *gethostbyname(const char *name)
{
	NEED_REAL(gethostbyname);
	switch (dns_decide(name)) {
	case DNS_FAIL:
		h_errno = same_host(name, dns_name) ? dns_h_errno() : HOST_NOT_FOUND;
		return NULL;
	case DNS_ADDR:
		return real_gethostbyname(dns_addr);
	default:
		return real_gethostbyname(name);
	}
}

struct hostent *gethostbyname2(const char *name, int af)
{
	NEED_REAL(gethostbyname2);
	switch (dns_decide(name)) {
	case DNS_FAIL:
		h_errno = same_host(name, dns_name) ? dns_h_errno() : HOST_NOT_FOUND;
		return NULL;
	case DNS_ADDR:
		return real_gethostbyname2(dns_addr, af);
	default:
		return real_gethostbyname2(name, af);
	}
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t len,
		    struct hostent **result, int *herr)
{
	NEED_REAL(gethostbyname_r);
	switch (dns_decide(name)) {
	case DNS_FAIL:
		*result = NULL;
		*herr = same_host(name, dns_name) ? dns_h_errno() : HOST_NOT_FOUND;
		return 0;
	case DNS_ADDR:
		return real_gethostbyname_r(dns_addr, ret, buf, len, result, herr);
	default:
		return real_gethostbyname_r(name, ret, buf, len, result, herr);
	}
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t len,
		     struct hostent **result, int *herr)
{
	NEED_REAL(gethostbyname2_r);
	switch (dns_decide(name)) {
	case DNS_FAIL:
		*result = NULL;
		*herr = same_host(name, dns_name) ? dns_h_errno() : HOST_NOT_FOUND;
		return 0;
	case DNS_ADDR:
		return real_gethostbyname2_r(dns_addr, af, ret, buf, len, result, herr);
	default:
		return real_gethostbyname2_r(name, af, ret, buf, len, result, herr);
	}
}

/* A destination on port 53 while LS_DNS_NAME is set: a DNS query made some
 * other way than through the functions above (a resolver library of its own). */
static int dns_port(const struct sockaddr *sa)
{
	if (!dns_name[0] || !sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port) == 53;
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port) == 53;
	return 0;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	NEED_REAL(connect);
	if (dns_port(sa)) {
		__atomic_add_fetch(&dns_blocked, 1, __ATOMIC_RELAXED);
		errno = ENETUNREACH;
		return -1;
	}
	return real_connect(fd, sa, len);
}

ssize_t sendto(int fd, const void *p, size_t n, int flags, const struct sockaddr *sa,
	       socklen_t len)
{
	NEED_REAL(sendto);
	if (dns_port(sa)) {
		__atomic_add_fetch(&dns_blocked, 1, __ATOMIC_RELAXED);
		errno = ENETUNREACH;
		return -1;
	}
	return real_sendto(fd, p, n, flags, sa, len);
}

/* ---- the wall clock --------------------------------------------------- */

static long long jump_ns;         /* LS_CLOCK_JUMP, in ns; 0: off */
static long long jump_at_ms = -1; /* LS_CLOCK_JUMP_AT_MS */
static long long jump_at_call;    /* LS_CLOCK_JUMP_AT_CALL */
static int jump_repeat;
static char jump_file[1024];      /* LS_CLOCK_JUMP_FILE */
static int jump_file_seen;
static long long started_mono_ms;
static unsigned long clock_reads, clock_jumps;

static __typeof__(clock_gettime) *real_clock_gettime;
static __typeof__(gettimeofday) *real_gettimeofday;
static __typeof__(time) *real_time;
static __typeof__(timespec_get) *real_timespec_get;

static long long mono_ms(void)
{
	struct timespec ts;

	NEED_REAL(clock_gettime);
	real_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The offset to add to this read of the wall clock, in ns: the number of
 * jumps due so far (by time or by reads) times LS_CLOCK_JUMP. */
static long long wall_offset_ns(void)
{
	unsigned long n, due = 0, seen;

	if (!jump_ns)
		return 0;
	n = __atomic_add_fetch(&clock_reads, 1, __ATOMIC_RELAXED);
	if (jump_file[0]) {
		if (!__atomic_load_n(&jump_file_seen, __ATOMIC_RELAXED) && access(jump_file, F_OK) == 0)
			__atomic_store_n(&jump_file_seen, 1, __ATOMIC_RELAXED);
		due = (unsigned long)__atomic_load_n(&jump_file_seen, __ATOMIC_RELAXED);
	} else if (jump_at_ms >= 0) {
		long long since = mono_ms() - started_mono_ms;
		if (since >= jump_at_ms)
			due = jump_repeat && jump_at_ms > 0 ? (unsigned long)(since / jump_at_ms) : 1;
	} else if (jump_at_call > 0 && n >= (unsigned long)jump_at_call) {
		due = jump_repeat ? n / (unsigned long)jump_at_call : 1;
	}
	seen = __atomic_load_n(&clock_jumps, __ATOMIC_RELAXED);
	while (due > seen &&
	       !__atomic_compare_exchange_n(&clock_jumps, &seen, due, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return (long long)due * jump_ns;
}

static void shift_timespec(struct timespec *ts, long long ns)
{
	long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;

	ts->tv_sec = (time_t)(t / 1000000000LL);
	ts->tv_nsec = (long)(t % 1000000000LL);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000L;
		ts->tv_sec--;
	}
}

static int is_wall(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_TAI;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	int rc;

	NEED_REAL(clock_gettime);
	rc = real_clock_gettime(clk, ts);
	if (rc == 0 && jump_ns && is_wall(clk))
		shift_timespec(ts, wall_offset_ns());
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	int rc;

	NEED_REAL(gettimeofday);
	rc = real_gettimeofday(tv, tz);
	if (rc == 0 && jump_ns) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000;
		shift_timespec(&ts, wall_offset_ns());
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return rc;
}

time_t time(time_t *out)
{
	struct timespec ts;
	time_t t;

	NEED_REAL(time);
	t = real_time(NULL);
	if (jump_ns) {
		ts.tv_sec = t;
		ts.tv_nsec = 0;
		shift_timespec(&ts, wall_offset_ns());
		t = ts.tv_sec;
	}
	if (out)
		*out = t;
	return t;
}

int timespec_get(struct timespec *ts, int base)
{
	int rc;

	NEED_REAL(timespec_get);
	rc = real_timespec_get(ts, base);
	if (rc == TIME_UTC && jump_ns)
		shift_timespec(ts, wall_offset_ns());
	return rc;
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
	if ((v = getenv("LS_DNS_NAME")) != NULL && *v) {
		snprintf(dns_name, sizeof(dns_name), "%s", v);
		if (dns_name[0] && dns_name[strlen(dns_name) - 1] == '.')
			dns_name[strlen(dns_name) - 1] = '\0';
	}
	if ((v = getenv("LS_DNS_ERROR")) != NULL && *v)
		dns_error = strcmp(v, "EAI_AGAIN") == 0 ? EAI_AGAIN
			  : strcmp(v, "EAI_FAIL") == 0 ? EAI_FAIL : EAI_NONAME;
	if ((v = getenv("LS_DNS_FAIL_FIRST")) != NULL && *v)
		dns_fail_first = atol(v) >= 0 ? atol(v) : -1;
	if ((v = getenv("LS_DNS_ADDR")) != NULL && *v)
		snprintf(dns_addr, sizeof(dns_addr), "%s", v);
	/* found now, not on first use: dlsym() must not meet a failing malloc */
	NEED_REAL(getaddrinfo);
	NEED_REAL(gethostbyname);
	NEED_REAL(gethostbyname2);
	NEED_REAL(gethostbyname_r);
	NEED_REAL(gethostbyname2_r);
	NEED_REAL(connect);
	NEED_REAL(sendto);
	NEED_REAL(clock_gettime);
	NEED_REAL(gettimeofday);
	NEED_REAL(time);
	NEED_REAL(timespec_get);
	started_mono_ms = mono_ms();
	if ((v = getenv("LS_CLOCK_JUMP")) != NULL && *v) {
		const char *at_ms = getenv("LS_CLOCK_JUMP_AT_MS");
		jump_ns = strtoll(v, NULL, 10) * 1000000000LL;
		jump_at_call = (long long)env_ulong("LS_CLOCK_JUMP_AT_CALL", 0);
		/* no moment given: from the start */
		jump_at_ms = at_ms && *at_ms ? strtoll(at_ms, NULL, 10) : jump_at_call > 0 ? -1 : 0;
		jump_repeat = env_ulong("LS_CLOCK_JUMP_REPEAT", 0) != 0;
		if ((v = getenv("LS_CLOCK_JUMP_FILE")) != NULL)
			snprintf(jump_file, sizeof(jump_file), "%s", v);
	}
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
	char line[512];
	int fd, n;

	if (!report_path[0])
		return;
	started = 0; /* nothing after this point is ours to fail */
	n = snprintf(line, sizeof(line), "allocs=%lu alloc_fired=%d io_fired=%lu eintr=%lu "
		     "mark=%lu dns_failed=%lu dns_answered=%lu dns_other=%lu dns_blocked=%lu "
		     "clock_reads=%lu clock_jumps=%lu\n", alloc_calls, alloc_fired, io_fired,
		     eintr_fired, marked ? mark_allocs : 0, dns_failed, dns_answered, dns_other,
		     dns_blocked, clock_reads, clock_jumps);
	fd = open(report_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;
	close(fd);
}

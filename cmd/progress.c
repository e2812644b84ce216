/* progress.c - the progress line on stderr (see progress.h). */
#include "progress.h"

#include "../shipper/backoff.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REDRAW_MS 250
#define DEFAULT_DELAY_MS 500
#define ERASE "\r\033[K"

static struct {
	int active;
	uint64_t total;
	int64_t started_ms, next_draw_ms;
	struct sigaction old_int, old_term;
	int handlers; /* ours are installed: restore old_* at the end */
} pg;

/* Read by the signal handler: 1 while text is on the terminal's line. */
static volatile sig_atomic_t drawn;

int ls_progress_wanted(void)
{
	const char *term = getenv("TERM");
	const char *ci = getenv("CI");

	return isatty(2) && term && *term && strcmp(term, "dumb") != 0 && !(ci && *ci);
}

int ls_progress_stdout_unseen(void)
{
	struct stat st;

	if (fstat(1, &st) < 0)
		return 0;
	return S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(1));
}

/* SIGINT/SIGTERM while drawn: leave a clean line, then die of the signal
 * as before. Only async-signal-safe calls. */
static void on_signal(int sig)
{
	if (drawn) {
		ssize_t w = write(2, ERASE, sizeof(ERASE) - 1);
		(void)w;
		drawn = 0;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Installs on_signal for the signals that still kill the process by
 * default (a command with its own handling, like ship's signalfd, keeps
 * it). */
static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, NULL, &pg.old_int) < 0 || sigaction(SIGTERM, NULL, &pg.old_term) < 0)
		return;
	if (pg.old_int.sa_handler == SIG_DFL)
		sigaction(SIGINT, &sa, NULL);
	if (pg.old_term.sa_handler == SIG_DFL)
		sigaction(SIGTERM, &sa, NULL);
	pg.handlers = 1;
}

int ls_progress_start(uint64_t total_bytes)
{
	const char *d = getenv("LOGSHIP_PROGRESS_DELAY");
	long long delay = DEFAULT_DELAY_MS;

	if (pg.active || !ls_progress_wanted())
		return 0;
	if (d && *d) {
		char *end;
		long long v = strtoll(d, &end, 10);
		if (!*end && v >= 0)
			delay = v;
	}
	pg.total = total_bytes;
	pg.started_ms = ls_monotonic_ms();
	pg.next_draw_ms = pg.started_ms + delay;
	pg.active = 1;
	install_handlers();
	return 1;
}

/* "12.3 MiB" */
static void human_bytes(char *out, size_t size, uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%llu B", (unsigned long long)n);
	else
		snprintf(out, size, "%.1f %s", v, units[u]);
}

/* "45.6k" */
static void human_count(char *out, size_t size, double v)
{
	if (v >= 1e6)
		snprintf(out, size, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, size, "%.1fk", v / 1e3);
	else
		snprintf(out, size, "%.0f", v);
}

static int terminal_columns(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void draw(uint64_t bytes_done, uint64_t events, int64_t now)
{
	char line[256], done[32], total[32], rate[32];
	double secs = (double)(now - pg.started_ms) / 1000.0;
	int n, cols = terminal_columns();

	human_bytes(done, sizeof(done), bytes_done);
	human_count(rate, sizeof(rate), secs > 0 ? (double)events / secs : 0);
	memcpy(line, ERASE, sizeof(ERASE) - 1);
	n = sizeof(ERASE) - 1;
	if (pg.total) {
		uint64_t left = bytes_done < pg.total ? pg.total - bytes_done : 0;
		char eta[32] = "ETA --:--";
		human_bytes(total, sizeof(total), pg.total);
		if (bytes_done > 0 && secs > 0) {
			long long s = (long long)((double)left * secs / (double)bytes_done + 0.5);
			if (s >= 3600)
				snprintf(eta, sizeof(eta), "ETA %lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
			else
				snprintf(eta, sizeof(eta), "ETA %lld:%02lld", s / 60, s % 60);
		}
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      "logship: %s of %s (%d%%), %s events/s, %s", done, total,
			      (int)(bytes_done >= pg.total ? 100 : bytes_done * 100 / pg.total),
			      rate, eta);
	} else {
		n += snprintf(line + n, sizeof(line) - (size_t)n, "logship: %s, %s events/s",
			      done, rate);
	}
	/* a line that wraps cannot be redrawn with "\r": cut it */
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (n - (int)(sizeof(ERASE) - 1) > cols - 1)
		n = (int)(sizeof(ERASE) - 1) + cols - 1;
	if (write(2, line, (size_t)n) == n)
		drawn = 1;
}

void ls_progress_update(uint64_t bytes_done, uint64_t events)
{
	int64_t now;

	if (!pg.active)
		return;
	now = ls_monotonic_ms();
	if (now < pg.next_draw_ms)
		return;
	pg.next_draw_ms = now + REDRAW_MS;
	draw(bytes_done, events, now);
}

void ls_progress_erase(void)
{
	if (drawn) {
		ssize_t w = write(2, ERASE, sizeof(ERASE) - 1);
		(void)w;
		drawn = 0;
	}
}

void ls_progress_end(void)
{
	if (!pg.active)
		return;
	ls_progress_erase();
	if (pg.handlers) {
		sigaction(SIGINT, &pg.old_int, NULL);
		sigaction(SIGTERM, &pg.old_term, NULL);
		pg.handlers = 0;
	}
	pg.active = 0;
}

/* progress.h - a progress line on stderr for long work (parse of big files,
 * ship --once): bytes done of the total, events per second and the time
 * left. It is drawn only when stderr is a terminal, TERM is not "dumb" and
 * CI is unset (never in pipes or CI logs), first after a delay (so short
 * runs show nothing), then at most every 250 ms, as "\r" + text + clear to
 * the end of the line. It is erased before any other stderr output
 * (ls_die_msg() and warnings call ls_progress_erase()), on SIGINT/SIGTERM
 * and at the end.
 *
 * There is one stderr, so there is at most one progress line: its state is
 * this module's own rather than a handle passed around. */
#ifndef LS_PROGRESS_H
#define LS_PROGRESS_H

#include <stdint.h>

/* 1 when a progress line may be drawn: stderr is a terminal, TERM is set
 * and not "dumb", and CI is unset or empty. */
int ls_progress_wanted(void);

/* 1 when what goes to stdout cannot end up on the terminal during the run:
 * stdout is a regular file or a device other than a terminal (/dev/null).
 * A pipe may lead to a program printing to the same terminal (| jq), where
 * the progress line would garble its lines. */
int ls_progress_stdout_unseen(void);

/* Starts the progress line when ls_progress_wanted(); total_bytes is the
 * work to do, 0 when unknown (then only the bytes done and events/s are
 * shown). The first draw waits LOGSHIP_PROGRESS_DELAY ms (default 500).
 * Returns 1 when started, 0 when no line will be drawn. */
int ls_progress_start(uint64_t total_bytes);

/* Reports the work done so far; redraws when 250 ms passed since the last
 * draw. Reads the clock: call it every few hundred lines or per read block,
 * not per line. A no-op when not started. */
void ls_progress_update(uint64_t bytes_done, uint64_t events);

/* Removes the line from the terminal if it is drawn (the next update draws
 * it again). Safe to call at any time. */
void ls_progress_erase(void);

/* Erases the line and stops: later updates draw nothing. */
void ls_progress_end(void);

#endif

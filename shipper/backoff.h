/* backoff.h - retry delays: exponential backoff with full jitter
 * (a uniformly random delay between 0 and min(cap, base * 2^attempt)), on
 * the monotonic clock so wall-clock jumps change nothing. */
#ifndef LS_BACKOFF_H
#define LS_BACKOFF_H

#include <stdint.h>

struct ls_backoff {
	int64_t base_ms;   /* 250 by default */
	int64_t cap_ms;    /* 30000 by default */
	uint64_t rng;      /* xorshift state, never 0 */
};

/* Sets up b (0: the defaults); seed 0 takes one from the clock and pid. */
void ls_backoff_init(struct ls_backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed);

/* The delay before retry number attempt (0 for the first retry). */
int64_t ls_backoff_delay_ms(struct ls_backoff *b, unsigned attempt);

/* The pause before retry number attempt when the sink asked for
 * retry_after_ms (Retry-After; negative: it did not): the backoff's delay
 * for that attempt, or retry_after_ms when that is longer. A Retry-After
 * lengthens a pause, never shortens it below the backoff's, so a sink that
 * answers "Retry-After: 0" (or a date already past) again and again gets
 * the same spaced-out retries as one that says nothing. */
int64_t ls_backoff_pause_ms(struct ls_backoff *b, unsigned attempt, int64_t retry_after_ms);

/* Milliseconds on the monotonic clock. */
int64_t ls_monotonic_ms(void);

#endif

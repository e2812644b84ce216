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

/* Milliseconds on the monotonic clock. */
int64_t ls_monotonic_ms(void);

#endif

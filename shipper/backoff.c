/* backoff.c - exponential backoff with full jitter. */
#include "backoff.h"

#include <time.h>
#include <unistd.h>

int64_t ls_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ls_backoff_init(struct ls_backoff *b, int64_t base_ms, int64_t cap_ms, uint64_t seed)
{
	struct timespec ts;

	b->base_ms = base_ms > 0 ? base_ms : 250;
	b->cap_ms = cap_ms > 0 ? cap_ms : 30000;
	if (b->cap_ms < b->base_ms)
		b->cap_ms = b->base_ms;
	if (!seed) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	}
	b->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

static uint64_t next_random(struct ls_backoff *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return x;
}

int64_t ls_backoff_delay_ms(struct ls_backoff *b, unsigned attempt)
{
	int64_t ceiling = b->base_ms;

	for (unsigned i = 0; i < attempt && ceiling < b->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > b->cap_ms)
		ceiling = b->cap_ms;
	return (int64_t)(next_random(b) % (uint64_t)(ceiling + 1));
}

int64_t ls_backoff_pause_ms(struct ls_backoff *b, unsigned attempt, int64_t retry_after_ms)
{
	int64_t delay = ls_backoff_delay_ms(b, attempt);

	return retry_after_ms > delay ? retry_after_ms : delay;
}

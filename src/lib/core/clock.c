/* SPDX-License-Identifier: ISC */
/* clock: thin wrappers over clock_gettime(2). */
#include <time.h>

#include "core/clock.h"

static uint64_t clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * CLOCK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
	return clock_read(CLOCK_MONOTONIC);
}

uint64_t clock_real_ns(void)
{
	return clock_read(CLOCK_REALTIME);
}

uint64_t clock_deadline_ms(uint64_t ms)
{
	return clock_mono_ns() + ms * CLOCK_NS_PER_MS;
}

bool clock_is_past(uint64_t deadline_ns)
{
	return clock_mono_ns() >= deadline_ns;
}

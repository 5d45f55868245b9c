/* SPDX-License-Identifier: ISC */
/*
 * clock: monotonic and wall-clock time in nanoseconds, and deadlines. Protocol
 * modules never call these: their callers pass `now` in, which is how tests
 * drive them with a fake clock.
 */
#ifndef WEFT_CORE_CLOCK_H
#define WEFT_CORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_NS_PER_SEC 1000000000ULL
#define CLOCK_NS_PER_MS 1000000ULL

uint64_t clock_mono_ns(void);
uint64_t clock_real_ns(void);

/* A deadline `ms` milliseconds from now, and whether it has passed. */
uint64_t clock_deadline_ms(uint64_t ms);
bool clock_is_past(uint64_t deadline_ns);

#endif

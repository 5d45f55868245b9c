/* SPDX-License-Identifier: ISC */
/*
 * numparse: strict parsing of numbers, durations and booleans from user input
 * (flags, config, environment). Digit first, whole string consumed, explicit
 * range; errors are negative errno values the caller turns into a message.
 */
#ifndef WEFT_CORE_NUMPARSE_H
#define WEFT_CORE_NUMPARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal unsigned integer in [min, max]. -EINVAL if malformed, -ERANGE if out of range. */
int numparse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));
int numparse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
	__attribute__((warn_unused_result));
int numparse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
	__attribute__((warn_unused_result));

/*
 * Duration as Go's time.ParseDuration writes it, plus days and weeks as
 * Headscale accepts them: "90d", "1h30m", "1.5h", "500ms", "2w", "0". A bare
 * number is refused (ambiguous) except "0". Result in nanoseconds, capped at
 * about 292 years.
 */
int numparse_duration_ns(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* Booleans as Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False. */
int numparse_bool(const char *s, bool *out) __attribute__((warn_unused_result));

#endif

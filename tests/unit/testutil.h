/* SPDX-License-Identifier: ISC */
/* testutil: helpers shared by the cmocka unit tests (hex, temp dirs, seeded randomness). */
#ifndef WEFT_TESTUTIL_H
#define WEFT_TESTUTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Decodes hex into out (capacity cap); fails the test on malformed input. Returns length. */
static inline size_t tu_hex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex);

	assert_true(n % 2 == 0 && n / 2 <= cap);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static inline void tu_assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[512];
	size_t n = tu_hex(want, sizeof(want), hex);

	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
}

/* xorshift64: a small, seeded generator for randomized tests (reproducible runs). */
static inline uint64_t tu_rng(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif

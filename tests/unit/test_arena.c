/* SPDX-License-Identifier: ISC */
/* test_arena: alignment, zeroing, large allocations, overflow refusal. */
#include <stdint.h>

#include "core/arena.h"
#include "testutil.h"

static void test_arena_basic(void **state)
{
	struct arena *a;
	char *s;

	(void)state;
	assert_int_equal(arena_new(0, &a), 0);
	for (int i = 1; i < 500; i++) {
		uint8_t *p = arena_alloc(a, (size_t)i);
		assert_non_null(p);
		assert_true(((uintptr_t)p & 15) == 0);
		for (int j = 0; j < i; j++)
			assert_int_equal(p[j], 0);
		memset(p, 0xff, (size_t)i);
	}
	void *big = arena_alloc(a, 1 << 20);
	assert_non_null(big);
	s = arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	s = arena_strndup(a, "hello", 3);
	assert_string_equal(s, "hel");
	assert_null(arena_alloc(a, SIZE_MAX));
	assert_null(arena_calloc(a, SIZE_MAX / 2, 4));
	assert_true(arena_used(a) > (1 << 20));
	arena_free(a);
	arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_basic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

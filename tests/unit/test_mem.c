/* SPDX-License-Identifier: ISC */
/* test_mem: wipe, checked growth, overflow refusal. */
#include <errno.h>

#include "core/mem.h"
#include "crypto/ct.h"
#include "testutil.h"

static void test_wipe(void **state)
{
	uint8_t secret[48];

	(void)state;
	memset(secret, 0xa5, sizeof(secret));
	mem_wipe(secret, sizeof(secret));
	assert_true(ct_is_zero(secret, sizeof(secret)));
}

static void test_grow(void **state)
{
	int *arr = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(mem_grow((void **)&arr, &cap, 3, sizeof(int)), 0);
	assert_true(cap >= 3);
	arr[0] = 1;
	assert_int_equal(mem_grow((void **)&arr, &cap, 1000, sizeof(int)), 0);
	assert_true(cap >= 1000);
	assert_int_equal(arr[0], 1);
	assert_int_equal(arr[999], 0);
	size_t old = cap;
	assert_int_equal(mem_grow((void **)&arr, &cap, SIZE_MAX, sizeof(int)), -ENOMEM);
	assert_int_equal(cap, old);
	free(arr);
	assert_null(mem_reallocarray(NULL, SIZE_MAX, 2));
	assert_null(mem_strdup(NULL));
	char *s = mem_strdup("x");
	assert_string_equal(s, "x");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

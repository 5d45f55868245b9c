/* SPDX-License-Identifier: ISC */
/* test_numparse: integers, durations and booleans, with the rejects listed. */
#include <errno.h>

#include "core/numparse.h"
#include "testutil.h"

#define SEC 1000000000ULL

static void test_integers(void **state)
{
	uint64_t v;
	uint32_t v32;
	int64_t i;

	(void)state;
	assert_int_equal(numparse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(numparse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(numparse_u32("51820", 0, 65535, &v32), 0);
	assert_int_equal(v32, 51820);
	static const char *const bad[] = { "", " 1", "+1", "-1", "1 ", "0x10", "1e3", "abc", "1.0" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(numparse_u64(bad[k], 0, 100, &v), -EINVAL);
	assert_int_equal(numparse_u64(NULL, 0, 100, &v), -EINVAL);
	assert_int_equal(numparse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(numparse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(numparse_u32("65536", 0, 65535, &v32), -ERANGE);
	assert_int_equal(numparse_i64("-5", -10, 10, &i), 0);
	assert_int_equal(i, -5);
	assert_int_equal(numparse_i64("-", -10, 10, &i), -EINVAL);
	assert_int_equal(numparse_i64("-11", -10, 10, &i), -ERANGE);
}

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} ok[] = {
		{ "0", 0 },
		{ "90d", 90 * 86400 * SEC },
		{ "1h30m", 5400 * SEC },
		{ "1.5h", 5400 * SEC },
		{ "500ms", SEC / 2 },
		{ "2w", 14 * 86400 * SEC },
		{ "10s", 10 * SEC },
		{ "1m1s", 61 * SEC },
		{ "3us", 3000 },
		{ "7ns", 7 },
		{ ".5s", SEC / 2 },
	};
	static const char *const bad[] = { "", "10", "h", "1x", "1h 2m", "-1h", "1.h.", ".s", "d" };
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(numparse_duration_ns(ok[i].s, &v), 0);
		assert_true(v == ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(numparse_duration_ns(bad[i], &v), 0);
	assert_int_equal(numparse_duration_ns("99999999999999999999d", &v), -ERANGE);
	assert_int_equal(numparse_duration_ns("1000000w", &v), -ERANGE);
}

static void test_bools(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(numparse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(numparse_bool("F", &b), 0);
	assert_false(b);
	assert_int_equal(numparse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(numparse_bool("yes", &b), -EINVAL);
	assert_int_equal(numparse_bool("", &b), -EINVAL);
	assert_int_equal(numparse_bool("tRUE", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_bools),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

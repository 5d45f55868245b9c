/* SPDX-License-Identifier: ISC */
/* test_ct: constant-time compare and zero test, including the wipe helper. */
#include "core/mem.h"
#include "crypto/ct.h"
#include "testutil.h"

static void test_ct_memeq(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)i;
	assert_true(ct_memeq(a, b, sizeof(a)));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x10;
		assert_false(ct_memeq(a, b, sizeof(a)));
		b[i] ^= 0x10;
	}
	assert_true(ct_memeq(a, b, 0));
}

static void test_ct_is_zero_and_wipe(void **state)
{
	uint8_t k[32];

	(void)state;
	memset(k, 0x5a, sizeof(k));
	assert_false(ct_is_zero(k, sizeof(k)));
	mem_wipe(k, sizeof(k));
	assert_true(ct_is_zero(k, sizeof(k)));
	k[31] = 1;
	assert_false(ct_is_zero(k, sizeof(k)));
	mem_wipe(NULL, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ct_memeq),
		cmocka_unit_test(test_ct_is_zero_and_wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

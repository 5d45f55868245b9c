/* SPDX-License-Identifier: ISC */
/*
 * test_b2s: BLAKE2s against the reference KAT (keyed, key 00..1f, inputs
 * 00..n-1) and RFC 7693's "abc"; HMAC-BLAKE2s against a computed vector and
 * the WireGuard KDF against its definition.
 */
#include <sodium.h>

#include "crypto/b2s.h"
#include "crypto/ct.h"
#include "testutil.h"

static void test_blake2s_kat(void **state)
{
	uint8_t key[32], in[256], out[32];
	static const struct {
		size_t n;
		const char *hex;
	} kat[] = {
		{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
		{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
		{ 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
		{ 63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd" },
		{ 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
		{ 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
		{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
	};

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		assert_int_equal(b2s_mac(out, 32, key, 32, in, kat[i].n), 0);
		tu_assert_hex(out, 32, kat[i].hex);
	}
	b2s_hash(out, "", 0);
	tu_assert_hex(out, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	b2s_hash(out, "abc", 3);
	tu_assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	b2s_hash2(out, "a", 1, "bc", 2);
	tu_assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* 16-byte output, as WireGuard's mac1/mac2 use it. */
	memset(key, 'k', 32);
	assert_int_equal(b2s_mac(out, 16, key, 32, "hello", 5), 0);
	tu_assert_hex(out, 16, "1c58b50d7347bf4effbdf24df827a767");
	assert_int_equal(b2s_mac(out, 33, key, 32, "x", 1), -EINVAL);
	assert_int_equal(b2s_mac(out, 16, key, 0, "x", 1), -EINVAL);
}

static void test_hmac_kdf(void **state)
{
	uint8_t out[32], t1[32], t2[32], t3[32], k32[32], x1[32], x2[32], x3[32], buf[33];
	const char *msg = "The quick brown fox jumps over the lazy dog";

	(void)state;
	b2s_hmac(out, (const uint8_t *)"key", 3, msg, strlen(msg));
	tu_assert_hex(out, 32, "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0");

	/* KDF against its definition, built from HMAC by hand. */
	memset(k32, 0x42, 32);
	b2s_kdf(t1, t2, t3, k32, "input", 5);
	uint8_t t0[32];
	b2s_hmac(t0, k32, 32, "input", 5);
	buf[0] = 1;
	b2s_hmac(x1, t0, 32, buf, 1);
	memcpy(buf, x1, 32);
	buf[32] = 2;
	b2s_hmac(x2, t0, 32, buf, 33);
	memcpy(buf, x2, 32);
	buf[32] = 3;
	b2s_hmac(x3, t0, 32, buf, 33);
	assert_memory_equal(t1, x1, 32);
	assert_memory_equal(t2, x2, 32);
	assert_memory_equal(t3, x3, 32);
	memset(t2, 0, 32);
	b2s_kdf(t1, NULL, NULL, k32, "input", 5);
	assert_memory_equal(t1, x1, 32);
	assert_true(ct_is_zero(t2, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blake2s_kat),
		cmocka_unit_test(test_hmac_kdf),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

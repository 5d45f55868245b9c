/* SPDX-License-Identifier: ISC */
/*
 * test_keys: X25519 against RFC 7748 sections 5.2 (including 1000 iterations)
 * and 6.1, low-order rejection, clamping, and the constant-time base64/hex
 * encodings with their reject cases.
 */
#include <sodium.h>

#include "crypto/keys.h"
#include "testutil.h"

static void test_x25519_rfc7748(void **state)
{
	uint8_t k[32], u[32], out[32], a[32], b[32], pa[32], pb[32], sa[32], sb[32];

	(void)state;
	tu_hex(k, 32, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	tu_hex(u, 32, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	assert_int_equal(keys_dh(out, k, u), 0);
	tu_assert_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	tu_hex(k, 32, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	tu_hex(u, 32, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	assert_int_equal(keys_dh(out, k, u), 0);
	tu_assert_hex(out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

	/* 5.2 iterated, 1 and 1000 rounds. */
	memset(k, 0, 32);
	k[0] = 9;
	memcpy(u, k, 32);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(keys_dh(out, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, out, 32);
		if (i == 0)
			tu_assert_hex(k, 32,
				      "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	tu_assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");

	/* 6.1 Diffie-Hellman. */
	tu_hex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	tu_hex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(keys_public(pa, a), 0);
	assert_int_equal(keys_public(pb, b), 0);
	tu_assert_hex(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	tu_assert_hex(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(keys_dh(sa, a, pb), 0);
	assert_int_equal(keys_dh(sb, b, pa), 0);
	tu_assert_hex(sa, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(sa, sb, 32);
}

static void test_x25519_rejects(void **state)
{
	uint8_t priv[32], zero[32] = { 0 }, out[32], pub[32];

	(void)state;
	keys_generate(priv);
	assert_true((priv[0] & 7) == 0 && (priv[31] & 0x80) == 0 && (priv[31] & 0x40) != 0);
	/* A low-order point (here: zero) gives an all-zero secret: refused and wiped. */
	memset(out, 0xaa, 32);
	assert_int_equal(keys_dh(out, priv, zero), -EINVAL);
	assert_true(keys_is_zero(out));
	assert_int_equal(keys_public(pub, zero), -EINVAL);
}

static void test_key_encodings(void **state)
{
	uint8_t k[32], back[32];
	char b64[KEY_B64_LEN], hex[KEY_HEX_LEN], pref[KEY_PREFIXED_MAX], fp[KEY_FINGERPRINT_LEN];
	struct node_public np, np2;
	struct disco_public dp;

	(void)state;
	/* The RFC 7748 Alice public key, as wg(8) prints it. */
	tu_hex(k, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	keys_b64_encode(b64, k);
	assert_string_equal(b64, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	assert_int_equal(keys_b64_decode(back, b64), 0);
	assert_memory_equal(k, back, 32);
	for (int trial = 0; trial < 200; trial++) {
		keys_random(k, 32);
		keys_b64_encode(b64, k);
		assert_int_equal(keys_b64_decode(back, b64), 0);
		assert_memory_equal(k, back, 32);
		keys_hex_encode(hex, k);
		assert_int_equal(keys_hex_decode(back, hex), 0);
		assert_memory_equal(k, back, 32);
	}
	/* Rejects: wrong length, missing '=', bad char, non-zero trailing bits. */
	assert_int_equal(keys_b64_decode(back, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo"), -EINVAL);
	assert_int_equal(keys_b64_decode(back, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA"), -EINVAL);
	assert_int_equal(keys_b64_decode(back, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066Spjqqb*mo="), -EINVAL);
	assert_int_equal(keys_b64_decode(back, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp="), -EINVAL);
	assert_int_equal(keys_hex_decode(back, "00"), -EINVAL);
	assert_int_equal(keys_hex_decode(back, "zz20f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), -EINVAL);

	tu_hex(np.b, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	node_public_format(&np, pref, sizeof(pref));
	assert_string_equal(pref, "nodekey:8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(node_public_parse(&np2, pref), 0);
	assert_memory_equal(np.b, np2.b, 32);
	assert_int_equal(disco_public_parse(&dp, pref), -EINVAL);
	assert_string_equal(keys_fingerprint(np.b, fp), "hSDwCYkw");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_x25519_rejects),
		cmocka_unit_test(test_key_encodings),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

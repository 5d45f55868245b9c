/* SPDX-License-Identifier: ISC */
/*
 * test_aead: ChaCha20-Poly1305 against RFC 8439 section 2.8.2, our libsodium and
 * OpenSSL paths against each other (lengths, in place, tampering, re-keying),
 * WireGuard's nonce layout, and XChaCha20-Poly1305 against
 * draft-irtf-cfrg-xchacha-03 A.3.1.
 */
#include <sodium.h>

#include "crypto/aead.h"
#include "testutil.h"

static const char rfc8439_pt[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
	"future, sunscreen would be it.";
static const char rfc8439_ct[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca96712"
	"82fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58"
	"fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
static const char rfc8439_tag[] = "1ae10b594f09e26a7e902ecbd0600691";

static void rfc8439_key(uint8_t key[32])
{
	tu_hex(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
}

static void test_aead_rfc8439_sodium(void **state)
{
	uint8_t key[32], ad[12], out[256], nonce[12];
	unsigned long long clen;
	size_t len = strlen(rfc8439_pt);

	(void)state;
	rfc8439_key(key);
	tu_hex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");
	/*
	 * The RFC's nonce starts 07000000, not 00000000, so it cannot be expressed
	 * with WireGuard's counter nonce; test the library call directly, then the
	 * WireGuard nonce layout against the same library below.
	 */
	tu_hex(nonce, 12, "070000004041424344454647");
	crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, (const uint8_t *)rfc8439_pt, len, ad,
						  sizeof(ad), NULL, nonce, key);
	assert_int_equal(clen, len + 16);
	tu_assert_hex(out, len, rfc8439_ct);
	tu_assert_hex(out + len, 16, rfc8439_tag);
}

/* Seal with our wrappers and the OpenSSL context, open with the other: they must agree. */
static void test_aead_backends_agree(void **state)
{
	uint8_t key[32], pt[1500], a[1516], b[1516], back[1516];
	struct aead_ctx *ctx;

	(void)state;
	rfc8439_key(key);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	assert_int_equal(aead_ctx_new(&ctx), 0);
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 1420, 1500 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		uint64_t ctr = 0x0102030405060708ULL + i;
		aead_seal(a, pt, len, NULL, 0, ctr, key);
		assert_int_equal(aead_ctx_seal(ctx, 1, key, ctr, b, pt, len), 0);
		assert_memory_equal(a, b, len + 16);
		assert_int_equal(aead_ctx_open(ctx, 1, key, ctr, back, b, len + 16), 0);
		if (len > 0)
			assert_memory_equal(back, pt, len);
		assert_int_equal(aead_open(back, a, len + 16, NULL, 0, ctr, key), 0);
		/* In place. */
		memcpy(back, pt, len);
		assert_int_equal(aead_ctx_seal(ctx, 1, key, ctr, back, back, len), 0);
		assert_memory_equal(back, a, len + 16);
		assert_int_equal(aead_ctx_open(ctx, 1, key, ctr, back, back, len + 16), 0);
		if (len > 0)
			assert_memory_equal(back, pt, len);
		/* Tampering, wrong counter, wrong key id with a different key. */
		b[len] ^= 1;
		assert_int_equal(aead_ctx_open(ctx, 1, key, ctr, back, b, len + 16), -EBADMSG);
		b[len] ^= 1;
		assert_int_equal(aead_ctx_open(ctx, 1, key, ctr + 1, back, b, len + 16), -EBADMSG);
		assert_int_equal(aead_open(back, b, len + 16, NULL, 0, ctr + 1, key), -EBADMSG);
		uint8_t key2[32];
		memcpy(key2, key, 32);
		key2[0] ^= 1;
		assert_int_equal(aead_ctx_open(ctx, 2, key2, ctr, back, b, len + 16), -EBADMSG);
		/* Back to key 1 re-keys. */
		assert_int_equal(aead_ctx_open(ctx, 1, key, ctr, back, b, len + 16), 0);
	}
	assert_int_equal(aead_open(back, a, 15, NULL, 0, 0, key), -EBADMSG);
	assert_int_equal(aead_ctx_open(ctx, 1, key, 0, back, a, 15), -EBADMSG);
	aead_ctx_free(ctx);
	aead_ctx_free(NULL);
}

/* WireGuard's nonce: 4 zero bytes then the counter little-endian. */
static void test_aead_wg_nonce_layout(void **state)
{
	uint8_t key[32], nonce[12] = { 0 }, a[64], b[64];
	const uint8_t pt[16] = "0123456789abcdef";

	(void)state;
	rfc8439_key(key);
	nonce[4] = 0x08;
	nonce[5] = 0x07;
	nonce[11] = 0x01;
	crypto_aead_chacha20poly1305_ietf_encrypt(a, NULL, pt, 16, NULL, 0, NULL, nonce, key);
	aead_seal(b, pt, 16, NULL, 0, 0x0100000000000708ULL, key);
	assert_memory_equal(a, b, 32);
}

/* draft-irtf-cfrg-xchacha-03 A.3.1 */
static void test_aead_xchacha(void **state)
{
	uint8_t key[32], nonce[24], ad[12], out[256], back[256];
	size_t len = strlen(rfc8439_pt);

	(void)state;
	rfc8439_key(key);
	tu_hex(nonce, 24, "404142434445464748494a4b4c4d4e4f5051525354555657");
	tu_hex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
	aead_xseal(out, (const uint8_t *)rfc8439_pt, len, ad, 12, nonce, key);
	tu_assert_hex(out, len,
		      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4a"
		      "a6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b9"
		      "82c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e");
	tu_assert_hex(out + len, 16, "c0875924c1c7987947deafd8780acf49");
	assert_int_equal(aead_xopen(back, out, len + 16, ad, 12, nonce, key), 0);
	assert_memory_equal(back, rfc8439_pt, len);
	out[0] ^= 0x80;
	assert_int_equal(aead_xopen(back, out, len + 16, ad, 12, nonce, key), -EBADMSG);
	assert_int_equal(aead_xopen(back, out, 3, ad, 12, nonce, key), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_rfc8439_sodium),
		cmocka_unit_test(test_aead_backends_agree),
		cmocka_unit_test(test_aead_wg_nonce_layout),
		cmocka_unit_test(test_aead_xchacha),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

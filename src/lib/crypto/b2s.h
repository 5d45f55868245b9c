/* SPDX-License-Identifier: ISC */
/*
 * b2s: BLAKE2s (RFC 7693) through libb2, and the constructions WireGuard
 * builds on it: HASH, keyed MAC, HMAC-BLAKE2s and the HKDF-style KDF with one
 * to three outputs (whitepaper section 5.4). Named b2s_ because libb2 owns
 * the blake2s_ prefix.
 */
#ifndef WEFT_CRYPTO_B2S_H
#define WEFT_CRYPTO_B2S_H

#include <stddef.h>
#include <stdint.h>

#define B2S_HASH_LEN 32
#define B2S_BLOCK_LEN 64
#define B2S_KEY_MAX 32

/* out = BLAKE2s-256(in). */
void b2s_hash(uint8_t out[static B2S_HASH_LEN], const void *in, size_t inlen);
/* out = BLAKE2s-256(a || b): Noise's MixHash without a copy. */
void b2s_hash2(uint8_t out[static B2S_HASH_LEN], const void *a, size_t alen, const void *b,
	       size_t blen);
/* Keyed BLAKE2s with output length outlen (1..32) and key length keylen (1..32). */
int b2s_mac(uint8_t *out, size_t outlen, const void *key, size_t keylen, const void *in,
	    size_t inlen) __attribute__((warn_unused_result));
/* HMAC (RFC 2104) over BLAKE2s-256; keylen <= 64. */
void b2s_hmac(uint8_t out[static B2S_HASH_LEN], const uint8_t *key, size_t keylen,
	      const void *in, size_t inlen);
/*
 * WireGuard's KDF_n: T0 = HMAC(key, in); T1 = HMAC(T0, 0x1);
 * T2 = HMAC(T0, T1 || 0x2); T3 = HMAC(T0, T2 || 0x3). Any of t1..t3 may be
 * NULL to skip it (and the ones after it).
 */
void b2s_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[static B2S_HASH_LEN],
	     const void *in, size_t inlen);

#endif

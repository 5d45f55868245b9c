/* SPDX-License-Identifier: ISC */
/* b2s: BLAKE2s constructions over libb2 (see b2s.h). */
#include <errno.h>
#include <string.h>

#include <blake2.h>

#include "core/mem.h"
#include "crypto/b2s.h"

void b2s_hash(uint8_t out[static B2S_HASH_LEN], const void *in, size_t inlen)
{
	blake2s(out, in, NULL, B2S_HASH_LEN, inlen, 0);
}

void b2s_hash2(uint8_t out[static B2S_HASH_LEN], const void *a, size_t alen, const void *b,
	       size_t blen)
{
	blake2s_state st;

	blake2s_init(&st, B2S_HASH_LEN);
	blake2s_update(&st, a, alen);
	blake2s_update(&st, b, blen);
	blake2s_final(&st, out, B2S_HASH_LEN);
	mem_wipe(&st, sizeof(st));
}

int b2s_mac(uint8_t *out, size_t outlen, const void *key, size_t keylen, const void *in,
	    size_t inlen)
{
	if (outlen == 0 || outlen > B2S_HASH_LEN || keylen == 0 || keylen > B2S_KEY_MAX)
		return -EINVAL;
	if (blake2s(out, in, key, outlen, inlen, keylen) < 0)
		return -EINVAL;
	return 0;
}

void b2s_hmac(uint8_t out[static B2S_HASH_LEN], const uint8_t *key, size_t keylen,
	      const void *in, size_t inlen)
{
	uint8_t k[B2S_BLOCK_LEN] = { 0 }, pad[B2S_BLOCK_LEN], inner[B2S_HASH_LEN];
	blake2s_state st;

	if (keylen > B2S_BLOCK_LEN)
		b2s_hash(k, key, keylen);
	else
		memcpy(k, key, keylen);
	for (size_t i = 0; i < B2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x36;
	blake2s_init(&st, B2S_HASH_LEN);
	blake2s_update(&st, pad, B2S_BLOCK_LEN);
	blake2s_update(&st, in, inlen);
	blake2s_final(&st, inner, B2S_HASH_LEN);
	for (size_t i = 0; i < B2S_BLOCK_LEN; i++)
		pad[i] = k[i] ^ 0x5c;
	blake2s_init(&st, B2S_HASH_LEN);
	blake2s_update(&st, pad, B2S_BLOCK_LEN);
	blake2s_update(&st, inner, B2S_HASH_LEN);
	blake2s_final(&st, out, B2S_HASH_LEN);
	mem_wipe(k, sizeof(k));
	mem_wipe(pad, sizeof(pad));
	mem_wipe(inner, sizeof(inner));
	mem_wipe(&st, sizeof(st));
}

void b2s_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[static B2S_HASH_LEN],
	     const void *in, size_t inlen)
{
	uint8_t t0[B2S_HASH_LEN], buf[B2S_HASH_LEN + 1], out[B2S_HASH_LEN];

	b2s_hmac(t0, key, B2S_HASH_LEN, in, inlen);
	if (t1 == NULL)
		goto out;
	buf[0] = 1;
	b2s_hmac(out, t0, B2S_HASH_LEN, buf, 1);
	memcpy(t1, out, B2S_HASH_LEN);
	if (t2 == NULL)
		goto out;
	memcpy(buf, out, B2S_HASH_LEN);
	buf[B2S_HASH_LEN] = 2;
	b2s_hmac(out, t0, B2S_HASH_LEN, buf, sizeof(buf));
	memcpy(t2, out, B2S_HASH_LEN);
	if (t3 == NULL)
		goto out;
	memcpy(buf, out, B2S_HASH_LEN);
	buf[B2S_HASH_LEN] = 3;
	b2s_hmac(out, t0, B2S_HASH_LEN, buf, sizeof(buf));
	memcpy(t3, out, B2S_HASH_LEN);
out:
	mem_wipe(t0, sizeof(t0));
	mem_wipe(buf, sizeof(buf));
	mem_wipe(out, sizeof(out));
}

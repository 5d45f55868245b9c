/* SPDX-License-Identifier: ISC */
/*
 * aead: ChaCha20-Poly1305 (RFC 8439) with WireGuard's 64-bit counter nonce,
 * and XChaCha20-Poly1305 for cookie replies. Small one-shot calls (handshake,
 * cookies) go through libsodium; the bulk data path uses a per-thread
 * struct aead_ctx over OpenSSL libcrypto, measured 1.9x faster on 1420-byte
 * packets here (docs/ARCHITECTURE.md has the numbers).
 */
#ifndef WEFT_CRYPTO_AEAD_H
#define WEFT_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16
#define AEAD_XNONCE_LEN 24

/*
 * dst receives len + AEAD_TAG_LEN bytes; dst may equal src. The nonce is
 * 32 zero bits followed by `counter` little-endian, as WireGuard defines it.
 */
void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[static AEAD_KEY_LEN]);
/* src holds len bytes including the tag; dst receives len - AEAD_TAG_LEN. -EBADMSG on failure. */
int aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      uint64_t counter, const uint8_t key[static AEAD_KEY_LEN])
	__attribute__((warn_unused_result));

void aead_xseal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[static AEAD_XNONCE_LEN], const uint8_t key[static AEAD_KEY_LEN]);
int aead_xopen(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce[static AEAD_XNONCE_LEN],
	       const uint8_t key[static AEAD_KEY_LEN]) __attribute__((warn_unused_result));

/*
 * Bulk context: owned by one thread at a time. `key_id` names the key (a
 * keypair's unique id): the context re-keys only when it changes, which saves
 * ~55 ns per packet. Transport data has no associated data.
 */
struct aead_ctx;

int aead_ctx_new(struct aead_ctx **out) __attribute__((warn_unused_result));
void aead_ctx_free(struct aead_ctx *ctx);
int aead_ctx_seal(struct aead_ctx *ctx, uint64_t key_id, const uint8_t key[static AEAD_KEY_LEN],
		  uint64_t counter, uint8_t *dst, const uint8_t *src, size_t len)
	__attribute__((warn_unused_result));
int aead_ctx_open(struct aead_ctx *ctx, uint64_t key_id, const uint8_t key[static AEAD_KEY_LEN],
		  uint64_t counter, uint8_t *dst, const uint8_t *src, size_t len)
	__attribute__((warn_unused_result));

#endif

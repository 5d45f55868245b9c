/* SPDX-License-Identifier: ISC */
/* aead: libsodium one-shots and the OpenSSL bulk context (see aead.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/buf.h"
#include "crypto/aead.h"

static void aead_nonce(uint8_t nonce[static 12], uint64_t counter)
{
	memset(nonce, 0, 4);
	buf_store_le64(nonce + 4, counter);
}

void aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       uint64_t counter, const uint8_t key[static AEAD_KEY_LEN])
{
	uint8_t nonce[12];

	aead_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce,
						  key);
}

int aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	      uint64_t counter, const uint8_t key[static AEAD_KEY_LEN])
{
	uint8_t nonce[12];

	if (len < AEAD_TAG_LEN)
		return -EBADMSG;
	aead_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen, nonce,
						      key) != 0)
		return -EBADMSG;
	return 0;
}

void aead_xseal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		const uint8_t nonce[static AEAD_XNONCE_LEN], const uint8_t key[static AEAD_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce,
						   key);
}

int aead_xopen(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce[static AEAD_XNONCE_LEN], const uint8_t key[static AEAD_KEY_LEN])
{
	if (len < AEAD_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen, nonce,
						       key) != 0)
		return -EBADMSG;
	return 0;
}

struct aead_ctx {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	uint64_t enc_key_id;
	uint64_t dec_key_id;
	bool enc_keyed;
	bool dec_keyed;
};

static EVP_CIPHER *aead_cipher;
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;

static void aead_cipher_fetch(void)
{
	aead_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

int aead_ctx_new(struct aead_ctx **out)
{
	struct aead_ctx *ctx;

	*out = NULL;
	pthread_once(&aead_once, aead_cipher_fetch);
	if (aead_cipher == NULL)
		return -ENOTSUP;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;
	ctx->enc = EVP_CIPHER_CTX_new();
	ctx->dec = EVP_CIPHER_CTX_new();
	if (ctx->enc == NULL || ctx->dec == NULL ||
	    EVP_EncryptInit_ex2(ctx->enc, aead_cipher, NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex2(ctx->dec, aead_cipher, NULL, NULL, NULL) != 1) {
		aead_ctx_free(ctx);
		return -ENOMEM;
	}
	*out = ctx;
	return 0;
}

void aead_ctx_free(struct aead_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule. */
	EVP_CIPHER_CTX_free(ctx->enc);
	EVP_CIPHER_CTX_free(ctx->dec);
	free(ctx);
}

int aead_ctx_seal(struct aead_ctx *ctx, uint64_t key_id, const uint8_t key[static AEAD_KEY_LEN],
		  uint64_t counter, uint8_t *dst, const uint8_t *src, size_t len)
{
	uint8_t nonce[12];
	const uint8_t *k = NULL;
	int outl = 0, finl = 0;

	if (len > INT_MAX)
		return -EMSGSIZE;
	if (!ctx->enc_keyed || ctx->enc_key_id != key_id) {
		k = key;
		ctx->enc_key_id = key_id;
		ctx->enc_keyed = true;
	}
	aead_nonce(nonce, counter);
	if (EVP_EncryptInit_ex2(ctx->enc, NULL, k, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx->enc, dst, &outl, src, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx->enc, dst + outl, &finl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx->enc, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, dst + len) != 1) {
		ctx->enc_keyed = false;
		return -EIO;
	}
	return 0;
}

int aead_ctx_open(struct aead_ctx *ctx, uint64_t key_id, const uint8_t key[static AEAD_KEY_LEN],
		  uint64_t counter, uint8_t *dst, const uint8_t *src, size_t len)
{
	uint8_t nonce[12], tag[AEAD_TAG_LEN];
	const uint8_t *k = NULL;
	int outl = 0, finl = 0;
	size_t plen;

	if (len < AEAD_TAG_LEN || len > INT_MAX)
		return -EBADMSG;
	plen = len - AEAD_TAG_LEN;
	if (!ctx->dec_keyed || ctx->dec_key_id != key_id) {
		k = key;
		ctx->dec_key_id = key_id;
		ctx->dec_keyed = true;
	}
	/* Copy the tag first: with dst == src the plaintext write must not clobber it. */
	memcpy(tag, src + plen, AEAD_TAG_LEN);
	aead_nonce(nonce, counter);
	if (EVP_DecryptInit_ex2(ctx->dec, NULL, k, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx->dec, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1 ||
	    EVP_DecryptUpdate(ctx->dec, dst, &outl, src, (int)plen) != 1) {
		ctx->dec_keyed = false;
		return -EBADMSG;
	}
	if (EVP_DecryptFinal_ex(ctx->dec, dst + outl, &finl) != 1)
		return -EBADMSG;
	return 0;
}

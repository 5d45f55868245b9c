/* SPDX-License-Identifier: ISC */
/*
 * keys: Curve25519 keys (RFC 7748) as distinct types per role, so a disco key
 * can never be passed where a node key is expected; generation, public-key
 * derivation, Diffie-Hellman, and constant-time text encodings (WireGuard's
 * base64, Tailscale's "nodekey:<hex>" forms). Private keys are wiped by
 * keys_wipe; the log formatter only ever sees public keys.
 */
#ifndef WEFT_CRYPTO_KEYS_H
#define WEFT_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_B64_LEN 45	      /* 44 characters + NUL */
#define KEY_HEX_LEN 65	      /* 64 characters + NUL */
#define KEY_PREFIXED_MAX 80   /* "discokey:" + 64 hex + NUL, with room */
#define KEY_FINGERPRINT_LEN 9 /* 8 base64 characters + NUL */

/* The roles. Every one is 32 bytes; only the type differs. */
struct node_private {
	uint8_t b[KEY_LEN];
};
struct node_public {
	uint8_t b[KEY_LEN];
};
struct machine_private {
	uint8_t b[KEY_LEN];
};
struct machine_public {
	uint8_t b[KEY_LEN];
};
struct disco_private {
	uint8_t b[KEY_LEN];
};
struct disco_public {
	uint8_t b[KEY_LEN];
};
struct wg_psk {
	uint8_t b[KEY_LEN];
};

/* Raw operations on 32-byte arrays; the typed helpers below wrap them. */
void keys_random(void *buf, size_t len);
/* A clamped Curve25519 private key from the system CSPRNG. */
void keys_generate(uint8_t priv[static KEY_LEN]);
/* pub = priv * basepoint. -EINVAL if priv is all zero. */
int keys_public(uint8_t pub[static KEY_LEN], const uint8_t priv[static KEY_LEN])
	__attribute__((warn_unused_result));
/* out = X25519(priv, pub). -EINVAL when the result is all zero (low-order point). */
int keys_dh(uint8_t out[static KEY_LEN], const uint8_t priv[static KEY_LEN],
	    const uint8_t pub[static KEY_LEN]) __attribute__((warn_unused_result));
bool keys_is_zero(const uint8_t k[static KEY_LEN]);
bool keys_eq(const uint8_t a[static KEY_LEN], const uint8_t b[static KEY_LEN]);
void keys_wipe(void *k, size_t len);

/* Standard base64 with padding, constant time, exactly 44 characters. */
void keys_b64_encode(char out[static KEY_B64_LEN], const uint8_t k[static KEY_LEN]);
int keys_b64_decode(uint8_t k[static KEY_LEN], const char *s) __attribute__((warn_unused_result));
/* Lower-case hex, constant time (sodium_bin2hex / sodium_hex2bin). */
void keys_hex_encode(char out[static KEY_HEX_LEN], const uint8_t k[static KEY_LEN]);
int keys_hex_decode(uint8_t k[static KEY_LEN], const char *s) __attribute__((warn_unused_result));

/* "nodekey:<hex>", "mkey:<hex>", "discokey:<hex>": Tailscale's text forms. */
char *node_public_format(const struct node_public *k, char *out, size_t len);
int node_public_parse(struct node_public *k, const char *s) __attribute__((warn_unused_result));
char *machine_public_format(const struct machine_public *k, char *out, size_t len);
int machine_public_parse(struct machine_public *k, const char *s)
	__attribute__((warn_unused_result));
char *disco_public_format(const struct disco_public *k, char *out, size_t len);
int disco_public_parse(struct disco_public *k, const char *s) __attribute__((warn_unused_result));
int node_private_public(struct node_public *pub, const struct node_private *priv)
	__attribute__((warn_unused_result));
int machine_private_public(struct machine_public *pub, const struct machine_private *priv)
	__attribute__((warn_unused_result));
int disco_private_public(struct disco_public *pub, const struct disco_private *priv)
	__attribute__((warn_unused_result));

/*
 * Short public fingerprint for logs: the first 8 base64 characters, as
 * wg(8) users recognise them. Takes only public bytes by design.
 */
char *keys_fingerprint(const uint8_t pub[static KEY_LEN], char out[static KEY_FINGERPRINT_LEN]);

#endif

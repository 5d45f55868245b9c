/* SPDX-License-Identifier: ISC */
/*
 * authkey: the secrets an admin hands out, pre-auth keys
 * ("wkey-auth-<prefix>-<secret>") and API keys ("wkey-api-<prefix>-<secret>").
 * The 12-hex-digit prefix finds the record; only a BLAKE2b hash of the whole
 * key is stored, compared in constant time, so a database leak gives no key.
 */
#ifndef WEFT_SERVER_AUTHKEY_H
#define WEFT_SERVER_AUTHKEY_H

#include <stdbool.h>
#include <stdint.h>

#define AUTHKEY_PREFIX_LEN 12 /* hex digits */
#define AUTHKEY_SECRET_LEN 48 /* hex digits: 192 bits */
#define AUTHKEY_HASH_LEN 32
#define AUTHKEY_TEXT_MAX 80

enum authkey_kind {
	AUTHKEY_PREAUTH = 1,
	AUTHKEY_API = 2,
};

/* A new random key: its text (shown once), its prefix and its hash. */
void authkey_generate(enum authkey_kind kind, char text[static AUTHKEY_TEXT_MAX],
		      char prefix[static AUTHKEY_PREFIX_LEN + 1],
		      uint8_t hash[static AUTHKEY_HASH_LEN]);
/* Splits a presented key into prefix and hash. -EINVAL when it is not one of ours. */
int authkey_parse(enum authkey_kind kind, const char *text,
		  char prefix[static AUTHKEY_PREFIX_LEN + 1], uint8_t hash[static AUTHKEY_HASH_LEN])
	__attribute__((warn_unused_result));
bool authkey_hash_eq(const uint8_t a[static AUTHKEY_HASH_LEN],
		     const uint8_t b[static AUTHKEY_HASH_LEN]);
/* "wkey-auth-<prefix>-***": how lists show a key. */
void authkey_masked(enum authkey_kind kind, const char *prefix, char out[static AUTHKEY_TEXT_MAX]);

#endif

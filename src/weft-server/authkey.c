/* SPDX-License-Identifier: ISC */
/* authkey: generation, parsing and hashing of pre-auth and API keys (see authkey.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/mem.h"
#include "crypto/keys.h"
#include "weft-server/authkey.h"

static const char *authkey_tag(enum authkey_kind kind)
{
	return kind == AUTHKEY_API ? "wkey-api-" : "wkey-auth-";
}

static void authkey_hash(const char *text, uint8_t hash[static AUTHKEY_HASH_LEN])
{
	crypto_generichash(hash, AUTHKEY_HASH_LEN, (const uint8_t *)text, strlen(text), NULL, 0);
}

void authkey_generate(enum authkey_kind kind, char text[static AUTHKEY_TEXT_MAX],
		      char prefix[static AUTHKEY_PREFIX_LEN + 1],
		      uint8_t hash[static AUTHKEY_HASH_LEN])
{
	uint8_t raw[AUTHKEY_PREFIX_LEN / 2 + AUTHKEY_SECRET_LEN / 2];
	char hex[sizeof(raw) * 2 + 1];

	keys_random(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	memcpy(prefix, hex, AUTHKEY_PREFIX_LEN);
	prefix[AUTHKEY_PREFIX_LEN] = '\0';
	snprintf(text, AUTHKEY_TEXT_MAX, "%s%s-%s", authkey_tag(kind), prefix,
		 hex + AUTHKEY_PREFIX_LEN);
	authkey_hash(text, hash);
	mem_wipe(raw, sizeof(raw));
	mem_wipe(hex, sizeof(hex));
}

static bool authkey_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int authkey_parse(enum authkey_kind kind, const char *text,
		  char prefix[static AUTHKEY_PREFIX_LEN + 1], uint8_t hash[static AUTHKEY_HASH_LEN])
{
	const char *tag = authkey_tag(kind);
	size_t tl = strlen(tag);
	const char *p = text + tl;

	if (strlen(text) != tl + AUTHKEY_PREFIX_LEN + 1 + AUTHKEY_SECRET_LEN ||
	    strncmp(text, tag, tl) != 0 || !authkey_is_hex(p, AUTHKEY_PREFIX_LEN) ||
	    p[AUTHKEY_PREFIX_LEN] != '-' ||
	    !authkey_is_hex(p + AUTHKEY_PREFIX_LEN + 1, AUTHKEY_SECRET_LEN))
		return -EINVAL;
	memcpy(prefix, p, AUTHKEY_PREFIX_LEN);
	prefix[AUTHKEY_PREFIX_LEN] = '\0';
	authkey_hash(text, hash);
	return 0;
}

bool authkey_hash_eq(const uint8_t a[static AUTHKEY_HASH_LEN],
		     const uint8_t b[static AUTHKEY_HASH_LEN])
{
	return sodium_memcmp(a, b, AUTHKEY_HASH_LEN) == 0;
}

void authkey_masked(enum authkey_kind kind, const char *prefix, char out[static AUTHKEY_TEXT_MAX])
{
	snprintf(out, AUTHKEY_TEXT_MAX, "%s%s-***", authkey_tag(kind), prefix);
}

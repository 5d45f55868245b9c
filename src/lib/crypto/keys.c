/* SPDX-License-Identifier: ISC */
/* keys: Curve25519 through libsodium, constant-time encodings (see keys.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/mem.h"
#include "crypto/ct.h"
#include "crypto/keys.h"

void keys_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void keys_generate(uint8_t priv[static KEY_LEN])
{
	randombytes_buf(priv, KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

int keys_public(uint8_t pub[static KEY_LEN], const uint8_t priv[static KEY_LEN])
{
	if (ct_is_zero(priv, KEY_LEN))
		return -EINVAL;
	if (crypto_scalarmult_base(pub, priv) != 0)
		return -EINVAL;
	return 0;
}

int keys_dh(uint8_t out[static KEY_LEN], const uint8_t priv[static KEY_LEN],
	    const uint8_t pub[static KEY_LEN])
{
	/* libsodium fails (and we refuse) when the shared secret is all zero. */
	if (crypto_scalarmult(out, priv, pub) != 0) {
		mem_wipe(out, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

bool keys_is_zero(const uint8_t k[static KEY_LEN])
{
	return ct_is_zero(k, KEY_LEN);
}

bool keys_eq(const uint8_t a[static KEY_LEN], const uint8_t b[static KEY_LEN])
{
	return ct_memeq(a, b, KEY_LEN);
}

void keys_wipe(void *k, size_t len)
{
	mem_wipe(k, len);
}

/*
 * Base64 in constant time, branch-free per character, as wireguard-tools
 * does it: libsodium 1.0.18's sodium_bin2base64 is not documented as
 * constant-time, so keys do not go through it.
 */
static char keys_b64_char(unsigned v)
{
	/* v in 0..63 -> 'A'-'Z' 'a'-'z' '0'-'9' '+' '/' */
	return (char)(v + 'A' + (((25 - (int)v) >> 8) & 6) - (((51 - (int)v) >> 8) & 75) -
		      (((61 - (int)v) >> 8) & 15) + (((62 - (int)v) >> 8) & 3));
}

static int keys_b64_value(int c)
{
	/* Returns 0..63, or -1 (all ones) for a character outside the alphabet. */
	int r = -1;

	r += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 64);
	r += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 70);
	r += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c + 5);
	r += ((('+' - 1 - c) & (c - ('+' + 1))) >> 8) & 63;
	r += ((('/' - 1 - c) & (c - ('/' + 1))) >> 8) & 64;
	return r;
}

void keys_b64_encode(char out[static KEY_B64_LEN], const uint8_t k[static KEY_LEN])
{
	unsigned i;

	for (i = 0; i < KEY_LEN / 3; i++) {
		out[i * 4 + 0] = keys_b64_char((k[i * 3 + 0] >> 2) & 63);
		out[i * 4 + 1] =
			keys_b64_char(((k[i * 3 + 0] << 4) | (k[i * 3 + 1] >> 4)) & 63);
		out[i * 4 + 2] =
			keys_b64_char(((k[i * 3 + 1] << 2) | (k[i * 3 + 2] >> 6)) & 63);
		out[i * 4 + 3] = keys_b64_char(k[i * 3 + 2] & 63);
	}
	out[i * 4 + 0] = keys_b64_char((k[i * 3 + 0] >> 2) & 63);
	out[i * 4 + 1] = keys_b64_char(((k[i * 3 + 0] << 4) | (k[i * 3 + 1] >> 4)) & 63);
	out[i * 4 + 2] = keys_b64_char((k[i * 3 + 1] << 2) & 63);
	out[i * 4 + 3] = '=';
	out[KEY_B64_LEN - 1] = '\0';
}

int keys_b64_decode(uint8_t k[static KEY_LEN], const char *s)
{
	uint32_t val, ret = 0;
	unsigned i;

	if (strlen(s) != KEY_B64_LEN - 1 || s[KEY_B64_LEN - 2] != '=')
		return -EINVAL;
	/* An invalid character decodes to all ones, which sets bit 31 after the shifts. */
	for (i = 0; i < KEY_LEN / 3; i++) {
		val = (uint32_t)keys_b64_value(s[i * 4 + 0]) << 18 |
		      (uint32_t)keys_b64_value(s[i * 4 + 1]) << 12 |
		      (uint32_t)keys_b64_value(s[i * 4 + 2]) << 6 |
		      (uint32_t)keys_b64_value(s[i * 4 + 3]);
		ret |= val >> 31;
		k[i * 3 + 0] = (uint8_t)(val >> 16);
		k[i * 3 + 1] = (uint8_t)(val >> 8);
		k[i * 3 + 2] = (uint8_t)val;
	}
	val = (uint32_t)keys_b64_value(s[i * 4 + 0]) << 18 |
	      (uint32_t)keys_b64_value(s[i * 4 + 1]) << 12 |
	      (uint32_t)keys_b64_value(s[i * 4 + 2]) << 6;
	/* The last character's two low bits fall outside the key and must be zero. */
	ret |= (val >> 31) | (val & 0xff);
	k[i * 3 + 0] = (uint8_t)(val >> 16);
	k[i * 3 + 1] = (uint8_t)(val >> 8);
	if (ret != 0) {
		mem_wipe(k, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void keys_hex_encode(char out[static KEY_HEX_LEN], const uint8_t k[static KEY_LEN])
{
	sodium_bin2hex(out, KEY_HEX_LEN, k, KEY_LEN);
}

int keys_hex_decode(uint8_t k[static KEY_LEN], const char *s)
{
	size_t len = 0;
	const char *end = NULL;

	if (strlen(s) != KEY_HEX_LEN - 1)
		return -EINVAL;
	if (sodium_hex2bin(k, KEY_LEN, s, KEY_HEX_LEN - 1, NULL, &len, &end) != 0 ||
	    len != KEY_LEN || *end != '\0') {
		mem_wipe(k, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

static char *keys_prefixed_format(const char *prefix, const uint8_t k[static KEY_LEN], char *out,
				  size_t len)
{
	char hex[KEY_HEX_LEN];

	keys_hex_encode(hex, k);
	snprintf(out, len, "%s%s", prefix, hex);
	return out;
}

static int keys_prefixed_parse(const char *prefix, uint8_t k[static KEY_LEN], const char *s)
{
	size_t plen = strlen(prefix);

	if (strncmp(s, prefix, plen) != 0)
		return -EINVAL;
	return keys_hex_decode(k, s + plen);
}

char *node_public_format(const struct node_public *k, char *out, size_t len)
{
	return keys_prefixed_format("nodekey:", k->b, out, len);
}

int node_public_parse(struct node_public *k, const char *s)
{
	return keys_prefixed_parse("nodekey:", k->b, s);
}

char *machine_public_format(const struct machine_public *k, char *out, size_t len)
{
	return keys_prefixed_format("mkey:", k->b, out, len);
}

int machine_public_parse(struct machine_public *k, const char *s)
{
	return keys_prefixed_parse("mkey:", k->b, s);
}

char *disco_public_format(const struct disco_public *k, char *out, size_t len)
{
	return keys_prefixed_format("discokey:", k->b, out, len);
}

int disco_public_parse(struct disco_public *k, const char *s)
{
	return keys_prefixed_parse("discokey:", k->b, s);
}

int node_private_public(struct node_public *pub, const struct node_private *priv)
{
	return keys_public(pub->b, priv->b);
}

int machine_private_public(struct machine_public *pub, const struct machine_private *priv)
{
	return keys_public(pub->b, priv->b);
}

int disco_private_public(struct disco_public *pub, const struct disco_private *priv)
{
	return keys_public(pub->b, priv->b);
}

char *keys_fingerprint(const uint8_t pub[static KEY_LEN], char out[static KEY_FINGERPRINT_LEN])
{
	char b64[KEY_B64_LEN];

	keys_b64_encode(b64, pub);
	memcpy(out, b64, KEY_FINGERPRINT_LEN - 1);
	out[KEY_FINGERPRINT_LEN - 1] = '\0';
	return out;
}

/* SPDX-License-Identifier: ISC */
/* stun: RFC 5389 binding messages, built and strictly parsed (see stun.h). */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/buf.h"
#include "crypto/ct.h"
#include "stun/stun.h"

enum {
	STUN_ATTR_HDR = 4,
	STUN_FINGERPRINT_LEN = 8, /* attribute header + CRC */
	STUN_INTEGRITY_LEN = 24,  /* attribute header + HMAC-SHA1 */
	STUN_FAMILY_V4 = 0x01,
	STUN_FAMILY_V6 = 0x02,
};

static const uint8_t stun_software[4] = { 'w', 'e', 'f', 't' };

/* CRC-32 (ISO-HDLC, the zlib polynomial), bitwise with a nibble table: messages are small. */
static uint32_t stun_crc32(const uint8_t *p, size_t n)
{
	static const uint32_t t[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		c = (c >> 4) ^ t[c & 15];
		c = (c >> 4) ^ t[c & 15];
	}
	return c ^ 0xffffffffu;
}

bool stun_is_packet(const uint8_t *p, size_t n)
{
	if (n < STUN_HEADER_LEN || (p[0] & 0xc0) != 0)
		return false;
	if (buf_load_be32(p + 4) != STUN_MAGIC_COOKIE)
		return false;
	size_t len = buf_load_be16(p + 2);
	return len % 4 == 0 && len + STUN_HEADER_LEN == n;
}

static void stun_put_header(uint8_t *out, uint16_t type, size_t body,
			    const uint8_t txid[static STUN_TXID_LEN])
{
	buf_store_be16(out, type);
	buf_store_be16(out + 2, (uint16_t)body);
	buf_store_be32(out + 4, STUN_MAGIC_COOKIE);
	memcpy(out + 8, txid, STUN_TXID_LEN);
}

/* Appends FINGERPRINT at `off` (the header's length already counts it). Returns the new end. */
static size_t stun_put_fingerprint(uint8_t *out, size_t off)
{
	buf_store_be16(out + off, STUN_ATTR_FINGERPRINT);
	buf_store_be16(out + off + 2, 4);
	buf_store_be32(out + off + 4, stun_crc32(out, off) ^ STUN_FINGERPRINT_XOR);
	return off + STUN_FINGERPRINT_LEN;
}

static size_t stun_put_software(uint8_t *out, size_t off)
{
	buf_store_be16(out + off, STUN_ATTR_SOFTWARE);
	buf_store_be16(out + off + 2, sizeof(stun_software));
	memcpy(out + off + 4, stun_software, sizeof(stun_software));
	return off + STUN_ATTR_HDR + sizeof(stun_software);
}

size_t stun_request_build(uint8_t out[static STUN_REQUEST_LEN],
			  const uint8_t txid[static STUN_TXID_LEN])
{
	size_t off;

	stun_put_header(out, STUN_BINDING_REQUEST, STUN_REQUEST_LEN - STUN_HEADER_LEN, txid);
	off = stun_put_software(out, STUN_HEADER_LEN);
	return stun_put_fingerprint(out, off);
}

size_t stun_response_build(uint8_t out[static STUN_RESPONSE_MAX],
			   const uint8_t txid[static STUN_TXID_LEN],
			   const struct netendpoint *mapped)
{
	size_t alen, off = STUN_HEADER_LEN, total;
	uint8_t x[16];

	if (mapped->addr.family == NETADDR_V4)
		alen = 4;
	else if (mapped->addr.family == NETADDR_V6)
		alen = 16;
	else
		return 0;
	total = STUN_HEADER_LEN + STUN_ATTR_HDR + 4 + alen + STUN_ATTR_HDR + sizeof(stun_software) +
		STUN_FINGERPRINT_LEN;
	stun_put_header(out, STUN_BINDING_SUCCESS, total - STUN_HEADER_LEN, txid);

	/* XOR-MAPPED-ADDRESS: port ^ top of the cookie, address ^ cookie || txid. */
	buf_store_be16(out + off, STUN_ATTR_XOR_MAPPED_ADDRESS);
	buf_store_be16(out + off + 2, (uint16_t)(4 + alen));
	out[off + 4] = 0;
	out[off + 5] = alen == 4 ? STUN_FAMILY_V4 : STUN_FAMILY_V6;
	buf_store_be16(out + off + 6, mapped->port ^ (STUN_MAGIC_COOKIE >> 16));
	memcpy(x, out + 4, 16); /* cookie || txid */
	for (size_t i = 0; i < alen; i++)
		out[off + 8 + i] = mapped->addr.a[i] ^ x[i];
	off += STUN_ATTR_HDR + 4 + alen;
	off = stun_put_software(out, off);
	return stun_put_fingerprint(out, off);
}

/* Decodes a (XOR-)MAPPED-ADDRESS value. */
static enum stun_verdict stun_decode_address(const uint8_t *hdr, const uint8_t *v, size_t vlen,
					     bool xor, struct netendpoint *ep)
{
	uint16_t port;

	if (vlen < 4 || v[0] != 0)
		return STUN_E_ADDRESS;
	port = buf_load_be16(v + 2);
	if (xor)
		port ^= STUN_MAGIC_COOKIE >> 16;
	memset(ep, 0, sizeof(*ep));
	if (v[1] == STUN_FAMILY_V4 && vlen == 8) {
		uint8_t a[4];
		for (int i = 0; i < 4; i++)
			a[i] = v[4 + i] ^ (xor? hdr[4 + i] : 0);
		netaddr_from_v4(&ep->addr, a);
	} else if (v[1] == STUN_FAMILY_V6 && vlen == 20) {
		uint8_t a[16];
		for (int i = 0; i < 16; i++)
			a[i] = v[4 + i] ^ (xor? hdr[4 + i] : 0);
		netaddr_from_v6(&ep->addr, a);
	} else {
		return STUN_E_ADDRESS;
	}
	ep->port = port;
	return STUN_OK;
}

/* Comprehension-required attributes weft can skip safely (it reads only addresses). */
static bool stun_attr_understood(uint16_t t)
{
	switch (t) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_PRIORITY:
	case STUN_ATTR_USE_CANDIDATE:
		return true;
	default:
		return t >= 0x8000;
	}
}

enum stun_verdict stun_parse(const uint8_t *p, size_t n, struct stun_msg *out)
{
	size_t body, off = STUN_HEADER_LEN;
	bool have_xor = false, have_plain = false, after_integrity = false;
	struct netendpoint plain;
	enum stun_verdict v;

	memset(out, 0, sizeof(*out));
	if (n < STUN_HEADER_LEN)
		return STUN_E_SHORT;
	if ((p[0] & 0xc0) != 0 || buf_load_be32(p + 4) != STUN_MAGIC_COOKIE)
		return STUN_E_NOT_STUN;
	body = buf_load_be16(p + 2);
	if (body % 4 != 0)
		return STUN_E_NOT_STUN;
	if (body + STUN_HEADER_LEN != n)
		return n < body + STUN_HEADER_LEN ? STUN_E_SHORT : STUN_E_NOT_STUN;
	if (n > STUN_MSG_MAX)
		return STUN_E_ATTR;
	out->type = buf_load_be16(p);
	memcpy(out->txid, p + 8, STUN_TXID_LEN);

	while (off < n) {
		uint16_t t, len;
		size_t padded;
		const uint8_t *val;

		if (out->has_fingerprint)
			return STUN_E_FINGERPRINT; /* FINGERPRINT must be last */
		if (n - off < STUN_ATTR_HDR)
			return STUN_E_ATTR;
		t = buf_load_be16(p + off);
		len = buf_load_be16(p + off + 2);
		padded = ((size_t)len + 3) & ~(size_t)3;
		if (padded > n - off - STUN_ATTR_HDR)
			return STUN_E_ATTR;
		val = p + off + STUN_ATTR_HDR;
		if (after_integrity && t != STUN_ATTR_FINGERPRINT)
			return STUN_E_ORDER;
		if (!stun_attr_understood(t))
			return STUN_E_UNKNOWN_ATTR;
		switch (t) {
		case STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (have_xor)
				return STUN_E_DUPLICATE;
			v = stun_decode_address(p, val, len, true, &out->mapped);
			if (v != STUN_OK)
				return v;
			have_xor = true;
			break;
		case STUN_ATTR_MAPPED_ADDRESS:
			if (have_plain)
				return STUN_E_DUPLICATE;
			v = stun_decode_address(p, val, len, false, &plain);
			if (v != STUN_OK)
				return v;
			have_plain = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
			if (len != 20)
				return STUN_E_ATTR;
			out->has_integrity = true;
			out->integrity_off = off;
			after_integrity = true;
			break;
		case STUN_ATTR_FINGERPRINT: {
			if (len != 4)
				return STUN_E_ATTR;
			uint32_t want = stun_crc32(p, off) ^ STUN_FINGERPRINT_XOR;
			if (buf_load_be32(val) != want)
				return STUN_E_FINGERPRINT;
			out->has_fingerprint = true;
			break;
		}
		case STUN_ATTR_SOFTWARE:
			if (out->software != NULL)
				return STUN_E_DUPLICATE;
			if (len > STUN_SOFTWARE_MAX)
				return STUN_E_ATTR;
			out->software = val;
			out->software_len = len;
			break;
		default:
			break;
		}
		/* Padding must be zero in what weft writes; RFC 5389 lets senders use any
		 * value (RFC 5769's vectors pad with spaces), so it is skipped unread. */
		off += STUN_ATTR_HDR + padded;
	}
	if (have_xor) {
		out->has_mapped = true;
		out->mapped_from_xor = true;
	} else if (have_plain) {
		out->has_mapped = true;
		out->mapped = plain;
	}
	return STUN_OK;
}

enum stun_verdict stun_request_parse(const uint8_t *p, size_t n, struct stun_msg *out)
{
	enum stun_verdict v = stun_parse(p, n, out);

	if (v != STUN_OK)
		return v;
	if (out->type != STUN_BINDING_REQUEST)
		return STUN_E_TYPE;
	return STUN_OK;
}

enum stun_verdict stun_response_parse(const uint8_t *p, size_t n, struct stun_msg *out)
{
	enum stun_verdict v = stun_parse(p, n, out);

	if (v != STUN_OK)
		return v;
	if (out->type != STUN_BINDING_SUCCESS)
		return STUN_E_TYPE;
	if (!out->has_mapped)
		return STUN_E_NO_ADDRESS;
	return STUN_OK;
}

bool stun_integrity_check(const uint8_t *p, size_t n, const struct stun_msg *m, const uint8_t *key,
			  size_t keylen)
{
	uint8_t hdr[STUN_HEADER_LEN], mac[EVP_MAX_MD_SIZE];
	size_t off = m->integrity_off, maclen = 0;
	EVP_MAC *emac = NULL;
	EVP_MAC_CTX *mctx = NULL;
	OSSL_PARAM params[2];
	bool ok = false;

	if (!m->has_integrity || off + STUN_INTEGRITY_LEN > n)
		goto out;
	/* The HMAC covers the message up to the attribute, with a length field that
	 * ends just after MESSAGE-INTEGRITY (so a later FINGERPRINT is excluded). */
	memcpy(hdr, p, STUN_HEADER_LEN);
	buf_store_be16(hdr + 2, (uint16_t)(off + STUN_INTEGRITY_LEN - STUN_HEADER_LEN));
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	emac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (emac == NULL || (mctx = EVP_MAC_CTX_new(emac)) == NULL)
		goto out;
	if (EVP_MAC_init(mctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(mctx, hdr, STUN_HEADER_LEN) != 1 ||
	    EVP_MAC_update(mctx, p + STUN_HEADER_LEN, off - STUN_HEADER_LEN) != 1 ||
	    EVP_MAC_final(mctx, mac, &maclen, sizeof(mac)) != 1 || maclen != 20)
		goto out;
	ok = ct_memeq(mac, p + off + STUN_ATTR_HDR, 20);
out:
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(emac);
	return ok;
}

void stun_count(struct stun_counters *c, enum stun_verdict v)
{
	if (v == STUN_OK)
		c->ok++;
	else if ((unsigned)v < STUN_VERDICT_COUNT)
		c->rejected[v]++;
}

const char *stun_verdict_name(enum stun_verdict v)
{
	static const char *const names[STUN_VERDICT_COUNT] = {
		[STUN_OK] = "ok",
		[STUN_E_SHORT] = "short",
		[STUN_E_NOT_STUN] = "not-stun",
		[STUN_E_TYPE] = "type",
		[STUN_E_ATTR] = "attribute",
		[STUN_E_UNKNOWN_ATTR] = "unknown-attribute",
		[STUN_E_DUPLICATE] = "duplicate",
		[STUN_E_FINGERPRINT] = "fingerprint",
		[STUN_E_ORDER] = "order",
		[STUN_E_NO_ADDRESS] = "no-address",
		[STUN_E_ADDRESS] = "address",
		[STUN_E_TXID] = "txid",
	};
	return (unsigned)v < STUN_VERDICT_COUNT ? names[v] : "unknown";
}

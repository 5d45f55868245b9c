/* SPDX-License-Identifier: ISC */
/* cookie: mac1/mac2 and cookie replies (see cookie.h). */
#include <errno.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/aead.h"
#include "crypto/b2s.h"
#include "crypto/ct.h"
#include "crypto/keys.h"
#include "wg/cookie.h"

static const char cookie_label_mac1[8] = { 'm', 'a', 'c', '1', '-', '-', '-', '-' };
static const char cookie_label_cookie[8] = { 'c', 'o', 'o', 'k', 'i', 'e', '-', '-' };

static void cookie_precompute(uint8_t out[static WG_KEY_LEN], const char label[static 8],
			      const uint8_t pub[static WG_KEY_LEN])
{
	b2s_hash2(out, label, 8, pub, WG_KEY_LEN);
}

/* MAC(key, msg[0:off]) with a 16-byte output; key lengths are fixed by construction. */
static void cookie_mac(uint8_t out[static WG_MAC_LEN], const uint8_t *key, size_t keylen,
		       const uint8_t *msg, size_t off)
{
	if (b2s_mac(out, WG_MAC_LEN, key, keylen, msg, off) != 0)
		memset(out, 0, WG_MAC_LEN); /* unreachable: lengths are constants */
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t *pub)
{
	mem_wipe(c, sizeof(*c));
	if (pub == NULL)
		return;
	cookie_precompute(c->mac1_key, cookie_label_mac1, pub);
	cookie_precompute(c->encrypt_key, cookie_label_cookie, pub);
	c->has_identity = true;
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[static WG_KEY_LEN])
{
	mem_wipe(m, sizeof(*m));
	cookie_precompute(m->mac1_key, cookie_label_mac1, peer_pub);
	cookie_precompute(m->decrypt_key, cookie_label_cookie, peer_pub);
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	mem_wipe(c, sizeof(*c));
}

void cookie_maker_wipe(struct cookie_maker *m)
{
	mem_wipe(m, sizeof(*m));
}

void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	size_t mac1_off = len - 2 * WG_MAC_LEN, mac2_off = len - WG_MAC_LEN;

	cookie_mac(msg + mac1_off, m->mac1_key, WG_KEY_LEN, msg, mac1_off);
	memcpy(m->last_mac1_sent, msg + mac1_off, WG_MAC_LEN);
	m->have_sent_mac1 = true;
	/* A cookie is used only while the responder's secret that made it may still be live. */
	if (m->cookie_valid &&
	    now_ns - m->cookie_birth_ns < WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY)
		cookie_mac(msg + mac2_off, m->cookie, WG_COOKIE_LEN, msg, mac2_off);
	else
		memset(msg + mac2_off, 0, WG_MAC_LEN);
}

/* The cookie for a source: MAC(secret, address || port), secret rotated every 2 minutes. */
static void cookie_for_source(struct cookie_checker *c, uint8_t out[static WG_COOKIE_LEN],
			      const struct netendpoint *src, uint64_t now_ns)
{
	uint8_t a[18];
	size_t alen = netaddr_len(&src->addr);

	if (!c->secret_valid || now_ns - c->secret_birth_ns >= WG_COOKIE_SECRET_MAX_AGE) {
		keys_random(c->secret, sizeof(c->secret));
		c->secret_birth_ns = now_ns;
		c->secret_valid = true;
	}
	memcpy(a, src->addr.a, alen);
	buf_store_be16(a + alen, src->port);
	cookie_mac(out, c->secret, WG_KEY_LEN, a, alen + 2);
}

enum cookie_verdict cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					    size_t len, const struct netendpoint *src,
					    bool under_load, uint64_t now_ns)
{
	uint8_t mac[WG_MAC_LEN], cookie[WG_COOKIE_LEN];
	size_t mac1_off = len - 2 * WG_MAC_LEN, mac2_off = len - WG_MAC_LEN;
	enum cookie_verdict v = COOKIE_INVALID_MAC;

	if (!c->has_identity || len < 2 * WG_MAC_LEN)
		goto out;
	cookie_mac(mac, c->mac1_key, WG_KEY_LEN, msg, mac1_off);
	if (!ct_memeq(mac, msg + mac1_off, WG_MAC_LEN))
		goto out;
	v = COOKIE_VALID_MAC1;
	if (!under_load)
		goto out;
	cookie_for_source(c, cookie, src, now_ns);
	cookie_mac(mac, cookie, WG_COOKIE_LEN, msg, mac2_off);
	v = ct_memeq(mac, msg + mac2_off, WG_MAC_LEN) ? COOKIE_VALID_MAC2 : COOKIE_NEED_COOKIE;
out:
	mem_wipe(cookie, sizeof(cookie));
	return v;
}

void cookie_checker_create_reply(struct cookie_checker *c, struct wg_msg_cookie *reply,
				 const uint8_t *msg, size_t len, uint32_t receiver_index,
				 const struct netendpoint *src, uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];

	memset(reply, 0, sizeof(*reply));
	reply->type = WG_MSG_COOKIE;
	buf_store_le32(reply->receiver, receiver_index);
	keys_random(reply->nonce, sizeof(reply->nonce));
	cookie_for_source(c, cookie, src, now_ns);
	/* The sender's mac1 is the associated data: the reply answers that message only. */
	aead_xseal(reply->cookie_enc, cookie, WG_COOKIE_LEN, msg + len - 2 * WG_MAC_LEN,
		   WG_MAC_LEN, reply->nonce, c->encrypt_key);
	mem_wipe(cookie, sizeof(cookie));
}

int cookie_maker_consume_reply(struct cookie_maker *m, const struct wg_msg_cookie *reply,
			       uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];
	int r = -EBADMSG;

	if (!m->have_sent_mac1)
		goto out;
	if (aead_xopen(cookie, reply->cookie_enc, sizeof(reply->cookie_enc), m->last_mac1_sent,
		       WG_MAC_LEN, reply->nonce, m->decrypt_key) != 0)
		goto out;
	memcpy(m->cookie, cookie, WG_COOKIE_LEN);
	m->cookie_birth_ns = now_ns;
	m->cookie_valid = true;
	m->have_sent_mac1 = false;
	r = 0;
out:
	mem_wipe(cookie, sizeof(cookie));
	return r;
}

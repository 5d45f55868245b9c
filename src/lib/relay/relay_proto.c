/* SPDX-License-Identifier: ISC */
/* relay_proto: relay frames, handshake boxes, decoder and HTTP upgrade (see relay_proto.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/ct.h"
#include "disco/disco.h"
#include "relay/relay_proto.h"

const uint8_t relay_magic[RELAY_MAGIC_LEN] = { 'w', 'e', 'f', 't', 'r', 'l', 'y', 0x01 };

_Static_assert(crypto_box_NONCEBYTES == RELAY_NONCE_LEN, "box nonce");
_Static_assert(crypto_box_MACBYTES == RELAY_TAG_LEN, "box tag");
_Static_assert(RELAY_CLIENT_INFO_LEN == 124, "client info");
_Static_assert(RELAY_SERVER_INFO_LEN == 72, "server info");

enum {
	DIR_S2C = 1U << RELAY_ROLE_CLIENT, /* decoded by a client */
	DIR_C2S = 1U << RELAY_ROLE_SERVER, /* decoded by a server */
	DIR_BOTH = DIR_S2C | DIR_C2S,
};

struct relay_rule {
	uint8_t dir;
	uint32_t min, max;
};

/* The frame table: who may send each type, and its payload length bounds. */
static const struct relay_rule relay_rules[256] = {
	[RELAY_FRAME_SERVER_KEY] = { DIR_S2C, RELAY_SERVER_KEY_LEN, RELAY_SERVER_KEY_LEN },
	[RELAY_FRAME_CLIENT_INFO] = { DIR_C2S, RELAY_CLIENT_INFO_LEN, RELAY_CLIENT_INFO_LEN },
	[RELAY_FRAME_SERVER_INFO] = { DIR_S2C, RELAY_SERVER_INFO_LEN, RELAY_SERVER_INFO_LEN },
	[RELAY_FRAME_SEND_PACKET] = { DIR_C2S, KEY_LEN + 1, KEY_LEN + RELAY_PACKET_MAX },
	[RELAY_FRAME_RECV_PACKET] = { DIR_S2C, KEY_LEN + 1, KEY_LEN + RELAY_PACKET_MAX },
	[RELAY_FRAME_KEEPALIVE] = { DIR_S2C, 0, 0 },
	[RELAY_FRAME_NOTE_PREFERRED] = { DIR_C2S, 1, 1 },
	[RELAY_FRAME_PEER_GONE] = { DIR_S2C, KEY_LEN + 1, KEY_LEN + 1 },
	[RELAY_FRAME_PEER_PRESENT] = { DIR_S2C, RELAY_PEER_PRESENT_LEN, RELAY_PEER_PRESENT_LEN },
	[RELAY_FRAME_FORWARD_PACKET] = { DIR_C2S, 2 * KEY_LEN + 1, 2 * KEY_LEN + RELAY_PACKET_MAX },
	[RELAY_FRAME_WATCH_CONNS] = { DIR_C2S, 0, 0 },
	[RELAY_FRAME_CLOSE_PEER] = { DIR_C2S, KEY_LEN, KEY_LEN },
	[RELAY_FRAME_PING] = { DIR_BOTH, RELAY_PING_LEN, RELAY_PING_LEN },
	[RELAY_FRAME_PONG] = { DIR_BOTH, RELAY_PING_LEN, RELAY_PING_LEN },
	[RELAY_FRAME_HEALTH] = { DIR_S2C, 0, RELAY_HEALTH_MAX },
	[RELAY_FRAME_RESTARTING] = { DIR_S2C, 8, 8 },
};

void relay_frame_header(uint8_t out[static RELAY_FRAME_HEADER_LEN], uint8_t type, uint32_t len)
{
	out[0] = type;
	buf_store_be32(out + 1, len);
}

enum relay_verdict relay_frame_check_header(const uint8_t hdr[static RELAY_FRAME_HEADER_LEN],
					    enum relay_role role, uint8_t *type, uint32_t *len)
{
	const struct relay_rule *r = &relay_rules[hdr[0]];

	*type = hdr[0];
	*len = buf_load_be32(hdr + 1);
	if (r->dir == 0)
		return RELAY_E_TYPE;
	if (!(r->dir & (1U << role)))
		return RELAY_E_DIRECTION;
	if (*len < r->min || *len > r->max)
		return RELAY_E_LENGTH;
	return RELAY_OK;
}

/* Strict UTF-8 (no overlongs, surrogates or values past U+10FFFF), no C0 controls or DEL. */
static bool relay_text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += k + 1;
	}
	return true;
}

static void relay_get_endpoint(const uint8_t *p, struct netendpoint *e)
{
	memset(e, 0, sizeof(*e));
	netaddr_from_v6(&e->addr, p);
	netaddr_unmap(&e->addr);
	e->port = buf_load_be16(p + 16);
}

static void relay_put_endpoint(uint8_t *p, const struct netendpoint *e)
{
	memset(p, 0, 18);
	if (e->addr.family == NETADDR_V4) {
		p[10] = p[11] = 0xff;
		memcpy(p + 12, e->addr.a, 4);
	} else if (e->addr.family == NETADDR_V6) {
		memcpy(p, e->addr.a, 16);
	}
	buf_store_be16(p + 16, e->port);
}

enum relay_verdict relay_frame_parse(uint8_t type, const uint8_t *p, size_t n,
				     struct relay_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->type = type;
	out->payload = p;
	out->len = n;
	switch ((enum relay_frame_type)type) {
	case RELAY_FRAME_SERVER_KEY:
		if (memcmp(p, relay_magic, RELAY_MAGIC_LEN) != 0)
			return RELAY_E_MAGIC;
		return RELAY_OK;
	case RELAY_FRAME_CLIENT_INFO:
		memcpy(out->key.b, p, KEY_LEN);
		return RELAY_OK;
	case RELAY_FRAME_SERVER_INFO:
	case RELAY_FRAME_KEEPALIVE:
	case RELAY_FRAME_WATCH_CONNS:
		return RELAY_OK;
	case RELAY_FRAME_SEND_PACKET:
	case RELAY_FRAME_RECV_PACKET:
		memcpy(out->key.b, p, KEY_LEN);
		if (ct_is_zero(out->key.b, KEY_LEN))
			return RELAY_E_KEY;
		out->pkt = p + KEY_LEN;
		out->pkt_len = n - KEY_LEN;
		return RELAY_OK;
	case RELAY_FRAME_FORWARD_PACKET:
		memcpy(out->key.b, p, KEY_LEN);
		memcpy(out->key2.b, p + KEY_LEN, KEY_LEN);
		if (ct_is_zero(out->key.b, KEY_LEN) || ct_is_zero(out->key2.b, KEY_LEN))
			return RELAY_E_KEY;
		out->pkt = p + 2 * KEY_LEN;
		out->pkt_len = n - 2 * KEY_LEN;
		return RELAY_OK;
	case RELAY_FRAME_NOTE_PREFERRED:
		if (p[0] > 1)
			return RELAY_E_FLAGS;
		out->preferred = p[0] == 1;
		return RELAY_OK;
	case RELAY_FRAME_PEER_GONE:
		memcpy(out->key.b, p, KEY_LEN);
		out->reason = p[KEY_LEN];
		if (out->reason > RELAY_GONE_NOT_HERE)
			return RELAY_E_FLAGS;
		return RELAY_OK;
	case RELAY_FRAME_PEER_PRESENT:
		memcpy(out->key.b, p, KEY_LEN);
		relay_get_endpoint(p + KEY_LEN, &out->ep);
		out->flags = p[KEY_LEN + 18];
		if (out->flags &
		    ~(RELAY_PRESENT_REGULAR | RELAY_PRESENT_MESH | RELAY_PRESENT_PROBER))
			return RELAY_E_FLAGS;
		return RELAY_OK;
	case RELAY_FRAME_CLOSE_PEER:
		memcpy(out->key.b, p, KEY_LEN);
		return RELAY_OK;
	case RELAY_FRAME_PING:
	case RELAY_FRAME_PONG:
		memcpy(out->ping, p, RELAY_PING_LEN);
		return RELAY_OK;
	case RELAY_FRAME_HEALTH:
		return relay_text_ok(p, n) ? RELAY_OK : RELAY_E_TEXT;
	case RELAY_FRAME_RESTARTING:
		out->reconnect_ms = buf_load_be32(p);
		out->try_for_ms = buf_load_be32(p + 4);
		return RELAY_OK;
	}
	return RELAY_E_TYPE;
}

int relay_decoder_init(struct relay_decoder *d, enum relay_role role)
{
	memset(d, 0, sizeof(*d));
	d->role = role;
	d->buf = malloc(RELAY_FRAME_MAX);
	return d->buf == NULL ? -ENOMEM : 0;
}

void relay_decoder_fini(struct relay_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
}

enum relay_dec_result relay_decoder_feed(struct relay_decoder *d, const uint8_t *p, size_t n,
					 size_t *used, struct relay_frame *out,
					 enum relay_verdict *verdict)
{
	size_t off = 0;
	enum relay_verdict v;

	*used = 0;
	*verdict = RELAY_OK;
	if (d->failed) {
		*verdict = RELAY_E_STATE;
		return RELAY_DEC_ERROR;
	}
	if (d->hdr_have < RELAY_FRAME_HEADER_LEN) {
		size_t take = RELAY_FRAME_HEADER_LEN - d->hdr_have;
		if (take > n)
			take = n;
		memcpy(d->hdr + d->hdr_have, p, take);
		d->hdr_have += take;
		off += take;
		if (d->hdr_have < RELAY_FRAME_HEADER_LEN) {
			*used = off;
			return RELAY_DEC_MORE;
		}
		v = relay_frame_check_header(d->hdr, d->role, &d->type, &d->need);
		if (v != RELAY_OK)
			goto fail;
		d->have = 0;
		/* Zero copy when the whole payload is in this input. */
		if (n - off >= d->need) {
			v = relay_frame_parse(d->type, p + off, d->need, out);
			off += d->need;
			if (v != RELAY_OK)
				goto fail;
			d->hdr_have = 0;
			*used = off;
			return RELAY_DEC_FRAME;
		}
	}
	size_t take = d->need - d->have;
	if (take > n - off)
		take = n - off;
	memcpy(d->buf + d->have, p + off, take);
	d->have += (uint32_t)take;
	off += take;
	*used = off;
	if (d->have < d->need)
		return RELAY_DEC_MORE;
	v = relay_frame_parse(d->type, d->buf, d->need, out);
	if (v != RELAY_OK)
		goto fail;
	d->hdr_have = 0;
	return RELAY_DEC_FRAME;
fail:
	d->failed = true;
	*verdict = v;
	*used = off;
	return RELAY_DEC_ERROR;
}

/* ---- Handshake ---- */

static const char relay_mesh_label[] = "weft relay mesh v1";

void relay_mesh_proof(uint8_t out[static KEY_LEN], const uint8_t mesh_key[static KEY_LEN],
		      const uint8_t challenge[static RELAY_CHALLENGE_LEN],
		      const uint8_t client[static KEY_LEN], const struct relay_public *server)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, mesh_key, KEY_LEN, KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)relay_mesh_label,
				  sizeof(relay_mesh_label) - 1);
	crypto_generichash_update(&st, challenge, RELAY_CHALLENGE_LEN);
	crypto_generichash_update(&st, client, KEY_LEN);
	crypto_generichash_update(&st, server->b, KEY_LEN);
	crypto_generichash_final(&st, out, KEY_LEN);
	mem_wipe(&st, sizeof(st));
}

void relay_hs_server_key_write(uint8_t *out, const struct relay_public *server,
			       const uint8_t challenge[static RELAY_CHALLENGE_LEN])
{
	relay_frame_header(out, RELAY_FRAME_SERVER_KEY, RELAY_SERVER_KEY_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN, relay_magic, RELAY_MAGIC_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN + RELAY_MAGIC_LEN, server->b, KEY_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN + RELAY_MAGIC_LEN + KEY_LEN, challenge,
	       RELAY_CHALLENGE_LEN);
}

enum relay_verdict relay_hs_server_key_read(const struct relay_frame *f,
					    struct relay_public *server,
					    uint8_t challenge[static RELAY_CHALLENGE_LEN])
{
	if (f->type != RELAY_FRAME_SERVER_KEY)
		return RELAY_E_STATE;
	memcpy(server->b, f->payload + RELAY_MAGIC_LEN, KEY_LEN);
	memcpy(challenge, f->payload + RELAY_MAGIC_LEN + KEY_LEN, RELAY_CHALLENGE_LEN);
	if (ct_is_zero(server->b, KEY_LEN))
		return RELAY_E_KEY;
	return RELAY_OK;
}

int relay_hs_client_info_write(uint8_t *out, const struct node_private *priv,
			       const struct relay_public *server,
			       const uint8_t challenge[static RELAY_CHALLENGE_LEN], uint8_t flags,
			       const uint8_t *mesh_key, uint8_t nonce[static RELAY_NONCE_LEN])
{
	uint8_t plain[RELAY_CLIENT_PLAIN_LEN];
	struct node_public pub;
	uint8_t *p = out + RELAY_FRAME_HEADER_LEN;
	int ret = -EINVAL;

	memset(plain, 0, sizeof(plain));
	if ((flags & ~RELAY_CF_ALL) != 0 || node_private_public(&pub, priv) != 0)
		goto out;
	if (mesh_key != NULL)
		flags |= RELAY_CF_MESH;
	else
		flags &= (uint8_t)~RELAY_CF_MESH;
	plain[0] = RELAY_VERSION;
	plain[1] = flags;
	memcpy(plain + 4, challenge, RELAY_CHALLENGE_LEN);
	if (mesh_key != NULL)
		relay_mesh_proof(plain + 4 + RELAY_CHALLENGE_LEN, mesh_key, challenge, pub.b,
				 server);
	relay_frame_header(out, RELAY_FRAME_CLIENT_INFO, RELAY_CLIENT_INFO_LEN);
	memcpy(p, pub.b, KEY_LEN);
	randombytes_buf(nonce, RELAY_NONCE_LEN);
	memcpy(p + KEY_LEN, nonce, RELAY_NONCE_LEN);
	if (crypto_box_easy(p + KEY_LEN + RELAY_NONCE_LEN, plain, sizeof(plain), nonce, server->b,
			    priv->b) != 0)
		goto out;
	ret = 0;
out:
	mem_wipe(plain, sizeof(plain));
	return ret;
}

enum relay_verdict relay_hs_client_info_read(const struct relay_frame *f,
					     const struct relay_private *server_priv,
					     const struct relay_public *server_pub,
					     const uint8_t challenge[static RELAY_CHALLENGE_LEN],
					     const uint8_t *mesh_key, struct node_public *client,
					     struct relay_client_info *info,
					     uint8_t client_nonce[static RELAY_NONCE_LEN])
{
	uint8_t plain[RELAY_CLIENT_PLAIN_LEN], want[KEY_LEN];
	const uint8_t *p = f->payload;
	enum relay_verdict v;

	memset(info, 0, sizeof(*info));
	memset(plain, 0, sizeof(plain));
	if (f->type != RELAY_FRAME_CLIENT_INFO || f->len != RELAY_CLIENT_INFO_LEN) {
		v = RELAY_E_STATE;
		goto out;
	}
	memcpy(client->b, p, KEY_LEN);
	memcpy(client_nonce, p + KEY_LEN, RELAY_NONCE_LEN);
	if (ct_is_zero(client->b, KEY_LEN)) {
		v = RELAY_E_KEY;
		goto out;
	}
	if (crypto_box_open_easy(plain, p + KEY_LEN + RELAY_NONCE_LEN,
				 RELAY_CLIENT_PLAIN_LEN + RELAY_TAG_LEN, client_nonce, client->b,
				 server_priv->b) != 0) {
		v = RELAY_E_AUTH;
		goto out;
	}
	info->version = plain[0];
	info->flags = plain[1];
	memcpy(info->challenge, plain + 4, RELAY_CHALLENGE_LEN);
	memcpy(info->mesh_proof, plain + 4 + RELAY_CHALLENGE_LEN, KEY_LEN);
	if (info->version != RELAY_VERSION) {
		v = RELAY_E_VERSION;
		goto out;
	}
	if ((info->flags & ~RELAY_CF_ALL) != 0 || plain[2] != 0 || plain[3] != 0) {
		v = RELAY_E_FLAGS;
		goto out;
	}
	if (!ct_memeq(info->challenge, challenge, RELAY_CHALLENGE_LEN)) {
		v = RELAY_E_CHALLENGE;
		goto out;
	}
	if (info->flags & RELAY_CF_MESH) {
		if (mesh_key == NULL) {
			v = RELAY_E_MESH;
			goto out;
		}
		relay_mesh_proof(want, mesh_key, challenge, client->b, server_pub);
		if (!ct_memeq(want, info->mesh_proof, KEY_LEN)) {
			v = RELAY_E_MESH;
			goto out;
		}
	} else if (!ct_is_zero(info->mesh_proof, KEY_LEN)) {
		v = RELAY_E_FLAGS;
		goto out;
	}
	v = RELAY_OK;
out:
	mem_wipe(plain, sizeof(plain));
	mem_wipe(want, sizeof(want));
	return v;
}

int relay_hs_server_info_write(uint8_t *out, const struct relay_private *server_priv,
			       const struct node_public *client,
			       const uint8_t client_nonce[static RELAY_NONCE_LEN],
			       const struct relay_server_params *params)
{
	uint8_t plain[RELAY_SERVER_PLAIN_LEN];
	uint8_t *p = out + RELAY_FRAME_HEADER_LEN;
	int ret = 0;

	memset(plain, 0, sizeof(plain));
	plain[0] = RELAY_VERSION;
	memcpy(plain + 4, client_nonce, RELAY_CHALLENGE_LEN);
	buf_store_be32(plain + 4 + RELAY_CHALLENGE_LEN, params->rate_bytes);
	buf_store_be32(plain + 8 + RELAY_CHALLENGE_LEN, params->burst_bytes);
	buf_store_be32(plain + 12 + RELAY_CHALLENGE_LEN, params->keepalive_ms);
	relay_frame_header(out, RELAY_FRAME_SERVER_INFO, RELAY_SERVER_INFO_LEN);
	randombytes_buf(p, RELAY_NONCE_LEN);
	if (crypto_box_easy(p + RELAY_NONCE_LEN, plain, sizeof(plain), p, client->b,
			    server_priv->b) != 0)
		ret = -EINVAL;
	mem_wipe(plain, sizeof(plain));
	return ret;
}

enum relay_verdict relay_hs_server_info_read(const struct relay_frame *f,
					     const struct node_private *priv,
					     const struct relay_public *server,
					     const uint8_t nonce[static RELAY_NONCE_LEN],
					     struct relay_server_params *params)
{
	uint8_t plain[RELAY_SERVER_PLAIN_LEN];
	enum relay_verdict v = RELAY_OK;

	memset(params, 0, sizeof(*params));
	if (f->type != RELAY_FRAME_SERVER_INFO || f->len != RELAY_SERVER_INFO_LEN)
		return RELAY_E_STATE;
	if (crypto_box_open_easy(plain, f->payload + RELAY_NONCE_LEN,
				 RELAY_SERVER_PLAIN_LEN + RELAY_TAG_LEN, f->payload, server->b,
				 priv->b) != 0)
		return RELAY_E_AUTH;
	if (plain[0] != RELAY_VERSION)
		v = RELAY_E_VERSION;
	else if (plain[1] != 0 || plain[2] != 0 || plain[3] != 0)
		v = RELAY_E_FLAGS;
	else if (!ct_memeq(plain + 4, nonce, RELAY_CHALLENGE_LEN))
		v = RELAY_E_CHALLENGE;
	params->rate_bytes = buf_load_be32(plain + 4 + RELAY_CHALLENGE_LEN);
	params->burst_bytes = buf_load_be32(plain + 8 + RELAY_CHALLENGE_LEN);
	params->keepalive_ms = buf_load_be32(plain + 12 + RELAY_CHALLENGE_LEN);
	mem_wipe(plain, sizeof(plain));
	return v;
}

/* ---- Writers ---- */

void relay_frame_packet_head(uint8_t out[static RELAY_SEND_HEAD_LEN], uint8_t type,
			     const struct node_public *key, size_t pkt_len)
{
	relay_frame_header(out, type, (uint32_t)(KEY_LEN + pkt_len));
	memcpy(out + RELAY_FRAME_HEADER_LEN, key->b, KEY_LEN);
}

void relay_frame_forward_head(uint8_t out[static RELAY_FORWARD_HEAD_LEN],
			      const struct node_public *src, const struct node_public *dst,
			      size_t pkt_len)
{
	relay_frame_header(out, RELAY_FRAME_FORWARD_PACKET, (uint32_t)(2 * KEY_LEN + pkt_len));
	memcpy(out + RELAY_FRAME_HEADER_LEN, src->b, KEY_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN + KEY_LEN, dst->b, KEY_LEN);
}

size_t relay_frame_peer_gone(uint8_t out[static RELAY_SMALL_FRAME_MAX],
			     const struct node_public *key, uint8_t reason)
{
	relay_frame_header(out, RELAY_FRAME_PEER_GONE, KEY_LEN + 1);
	memcpy(out + RELAY_FRAME_HEADER_LEN, key->b, KEY_LEN);
	out[RELAY_FRAME_HEADER_LEN + KEY_LEN] = reason;
	return RELAY_FRAME_HEADER_LEN + KEY_LEN + 1;
}

size_t relay_frame_peer_present(uint8_t out[static RELAY_SMALL_FRAME_MAX],
				const struct node_public *key, const struct netendpoint *ep,
				uint8_t flags)
{
	relay_frame_header(out, RELAY_FRAME_PEER_PRESENT, RELAY_PEER_PRESENT_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN, key->b, KEY_LEN);
	relay_put_endpoint(out + RELAY_FRAME_HEADER_LEN + KEY_LEN, ep);
	out[RELAY_FRAME_HEADER_LEN + KEY_LEN + 18] = flags;
	return RELAY_FRAME_HEADER_LEN + RELAY_PEER_PRESENT_LEN;
}

size_t relay_frame_ping(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint8_t type,
			const uint8_t data[static RELAY_PING_LEN])
{
	relay_frame_header(out, type, RELAY_PING_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN, data, RELAY_PING_LEN);
	return RELAY_FRAME_HEADER_LEN + RELAY_PING_LEN;
}

size_t relay_frame_empty(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint8_t type)
{
	relay_frame_header(out, type, 0);
	return RELAY_FRAME_HEADER_LEN;
}

size_t relay_frame_note_preferred(uint8_t out[static RELAY_SMALL_FRAME_MAX], bool preferred)
{
	relay_frame_header(out, RELAY_FRAME_NOTE_PREFERRED, 1);
	out[RELAY_FRAME_HEADER_LEN] = preferred ? 1 : 0;
	return RELAY_FRAME_HEADER_LEN + 1;
}

size_t relay_frame_close_peer(uint8_t out[static RELAY_SMALL_FRAME_MAX],
			      const struct node_public *key)
{
	relay_frame_header(out, RELAY_FRAME_CLOSE_PEER, KEY_LEN);
	memcpy(out + RELAY_FRAME_HEADER_LEN, key->b, KEY_LEN);
	return RELAY_FRAME_HEADER_LEN + KEY_LEN;
}

size_t relay_frame_restarting(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint32_t reconnect_ms,
			      uint32_t try_for_ms)
{
	relay_frame_header(out, RELAY_FRAME_RESTARTING, 8);
	buf_store_be32(out + RELAY_FRAME_HEADER_LEN, reconnect_ms);
	buf_store_be32(out + RELAY_FRAME_HEADER_LEN + 4, try_for_ms);
	return RELAY_FRAME_HEADER_LEN + 8;
}

size_t relay_frame_health(uint8_t *out, size_t cap, const char *text)
{
	size_t n = strlen(text);

	if (n > RELAY_HEALTH_MAX)
		n = RELAY_HEALTH_MAX;
	if (cap < RELAY_FRAME_HEADER_LEN + n)
		return 0;
	relay_frame_header(out, RELAY_FRAME_HEALTH, (uint32_t)n);
	memcpy(out + RELAY_FRAME_HEADER_LEN, text, n);
	return RELAY_FRAME_HEADER_LEN + n;
}

/* ---- HTTP ---- */

size_t relay_http_request(char *out, size_t cap, const char *host, const char *path)
{
	int n = snprintf(out, cap,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: " RELAY_UPGRADE_TOKEN
			 "\r\nConnection: Upgrade\r\nWeft-Relay-Version: %d\r\n\r\n",
			 path, host, RELAY_VERSION);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/* Finds "\r\n\r\n" in p[0..n); returns the offset just past it or 0. */
static size_t relay_http_end(const uint8_t *p, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return i + 1;
	return 0;
}

enum relay_dec_result relay_http_response_parse(const uint8_t *p, size_t n, size_t *used,
						int *status, enum relay_verdict *verdict)
{
	size_t end = relay_http_end(p, n < RELAY_HTTP_MAX ? n : RELAY_HTTP_MAX), off;
	bool upgrade = false;

	*used = 0;
	*status = 0;
	*verdict = RELAY_OK;
	if (end == 0) {
		if (n >= RELAY_HTTP_MAX) {
			*verdict = RELAY_E_TOO_LONG;
			return RELAY_DEC_ERROR;
		}
		return RELAY_DEC_MORE;
	}
	/* Status line: "HTTP/1.1 NNN reason". */
	if (end < 14 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' || p[10] < '0' ||
	    p[10] > '9' || p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r'))
		goto bad;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	off = 0;
	while (off < end && p[off] != '\n')
		off++;
	off++;
	/* Headers: "Name: value\r\n" up to the blank line; only Upgrade matters. */
	while (off + 2 <= end && !(p[off] == '\r' && p[off + 1] == '\n')) {
		size_t eol = off, colon = 0;
		while (eol < end && p[eol] != '\r') {
			if (p[eol] == ':' && colon == 0)
				colon = eol;
			if (p[eol] == '\n' || p[eol] == 0)
				goto bad;
			eol++;
		}
		if (eol + 1 >= end || p[eol + 1] != '\n' || colon == 0 || colon == off)
			goto bad;
		size_t vs = colon + 1;
		while (vs < eol && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		size_t ve = eol;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		if (colon - off == 7 && strncasecmp((const char *)p + off, "Upgrade", 7) == 0 &&
		    ve - vs == sizeof(RELAY_UPGRADE_TOKEN) - 1 &&
		    strncasecmp((const char *)p + vs, RELAY_UPGRADE_TOKEN, ve - vs) == 0)
			upgrade = true;
		off = eol + 2;
	}
	if (*status != 101 || !upgrade)
		goto bad;
	*used = end;
	return RELAY_DEC_FRAME;
bad:
	*verdict = RELAY_E_HTTP;
	return RELAY_DEC_ERROR;
}

void relay_count(struct relay_counters *c, enum relay_verdict v)
{
	if (v == RELAY_OK)
		c->frames_ok++;
	else if ((unsigned)v < RELAY_VERDICT_COUNT)
		c->rejected[v]++;
}

const char *relay_verdict_name(enum relay_verdict v)
{
	static const char *const names[RELAY_VERDICT_COUNT] = {
		[RELAY_OK] = "ok",
		[RELAY_E_TYPE] = "type",
		[RELAY_E_DIRECTION] = "direction",
		[RELAY_E_LENGTH] = "length",
		[RELAY_E_MAGIC] = "magic",
		[RELAY_E_AUTH] = "auth",
		[RELAY_E_CHALLENGE] = "challenge",
		[RELAY_E_VERSION] = "version",
		[RELAY_E_FLAGS] = "flags",
		[RELAY_E_MESH] = "mesh",
		[RELAY_E_KEY] = "key",
		[RELAY_E_STATE] = "state",
		[RELAY_E_HTTP] = "http",
		[RELAY_E_TOO_LONG] = "too-long",
		[RELAY_E_TEXT] = "text",
	};
	return (unsigned)v < RELAY_VERDICT_COUNT ? names[v] : "unknown";
}

const char *relay_frame_name(uint8_t type)
{
	switch ((enum relay_frame_type)type) {
	case RELAY_FRAME_SERVER_KEY:
		return "server-key";
	case RELAY_FRAME_CLIENT_INFO:
		return "client-info";
	case RELAY_FRAME_SERVER_INFO:
		return "server-info";
	case RELAY_FRAME_SEND_PACKET:
		return "send-packet";
	case RELAY_FRAME_RECV_PACKET:
		return "recv-packet";
	case RELAY_FRAME_KEEPALIVE:
		return "keepalive";
	case RELAY_FRAME_NOTE_PREFERRED:
		return "note-preferred";
	case RELAY_FRAME_PEER_GONE:
		return "peer-gone";
	case RELAY_FRAME_PEER_PRESENT:
		return "peer-present";
	case RELAY_FRAME_FORWARD_PACKET:
		return "forward-packet";
	case RELAY_FRAME_WATCH_CONNS:
		return "watch-conns";
	case RELAY_FRAME_CLOSE_PEER:
		return "close-peer";
	case RELAY_FRAME_PING:
		return "ping";
	case RELAY_FRAME_PONG:
		return "pong";
	case RELAY_FRAME_HEALTH:
		return "health";
	case RELAY_FRAME_RESTARTING:
		return "restarting";
	}
	return "unknown";
}

bool relay_is_disco(const uint8_t *p, size_t n)
{
	return disco_is_packet(p, n);
}

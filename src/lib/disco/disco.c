/* SPDX-License-Identifier: ISC */
/* disco: sealed ping/pong/call-me-maybe messages (see disco.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/ct.h"
#include "disco/disco.h"

const uint8_t disco_magic[DISCO_MAGIC_LEN] = { 'W', 'E', 'F', 'T', 0xd1, 0x5c };

_Static_assert(crypto_box_NONCEBYTES == DISCO_NONCE_LEN, "box nonce");
_Static_assert(crypto_box_MACBYTES == DISCO_TAG_LEN, "box tag");
_Static_assert(crypto_box_BEFORENMBYTES == KEY_LEN, "box key");

/* The shortest plaintext is an empty call-me-maybe: type + version. */
#define DISCO_MIN_LEN (DISCO_OVERHEAD + 2)
/* The largest plaintext: a ping with full padding. */
#define DISCO_PLAIN_MAX (DISCO_PING_LEN + DISCO_PING_PAD_MAX)

bool disco_is_packet(const uint8_t *p, size_t n)
{
	return n >= DISCO_MIN_LEN && memcmp(p, disco_magic, DISCO_MAGIC_LEN) == 0;
}

int disco_sender(const uint8_t *p, size_t n, struct disco_public *out)
{
	if (!disco_is_packet(p, n))
		return -EINVAL;
	memcpy(out->b, p + DISCO_MAGIC_LEN, KEY_LEN);
	return 0;
}

int disco_shared_init(struct disco_shared *s, const struct disco_private *ours,
		      const struct disco_public *theirs)
{
	if (ct_is_zero(theirs->b, KEY_LEN) || crypto_box_beforenm(s->k, theirs->b, ours->b) != 0) {
		mem_wipe(s, sizeof(*s));
		return -EINVAL;
	}
	return 0;
}

void disco_shared_wipe(struct disco_shared *s)
{
	mem_wipe(s, sizeof(*s));
}

static bool disco_endpoint_ok(const struct netendpoint *e)
{
	return (e->addr.family == NETADDR_V4 || e->addr.family == NETADDR_V6) && e->port != 0 &&
	       !netaddr_is_unspecified(&e->addr);
}

static void disco_put_endpoint(uint8_t *p, const struct netendpoint *e)
{
	memset(p, 0, 16);
	if (e->addr.family == NETADDR_V4) {
		p[10] = 0xff;
		p[11] = 0xff;
		memcpy(p + 12, e->addr.a, 4);
	} else {
		memcpy(p, e->addr.a, 16);
	}
	buf_store_be16(p + 16, e->port);
}

static void disco_get_endpoint(const uint8_t *p, struct netendpoint *e)
{
	memset(e, 0, sizeof(*e));
	netaddr_from_v6(&e->addr, p);
	netaddr_unmap(&e->addr);
	e->port = buf_load_be16(p + 16);
}

static size_t disco_plain_len(const struct disco_msg *m)
{
	switch (m->type) {
	case DISCO_PING:
		if (m->u.ping.padding > DISCO_PING_PAD_MAX)
			return 0;
		return DISCO_PING_LEN + m->u.ping.padding;
	case DISCO_PONG:
		if (!disco_endpoint_ok(&m->u.pong.src))
			return 0;
		return DISCO_PONG_LEN;
	case DISCO_CALL_ME_MAYBE:
		if (m->u.cmm.n > DISCO_MAX_ENDPOINTS)
			return 0;
		for (size_t i = 0; i < m->u.cmm.n; i++)
			if (!disco_endpoint_ok(&m->u.cmm.endpoints[i]))
				return 0;
		return 2 + m->u.cmm.n * DISCO_ENDPOINT_LEN;
	}
	return 0;
}

size_t disco_sealed_len(const struct disco_msg *m)
{
	size_t n = disco_plain_len(m);
	return n == 0 ? 0 : DISCO_OVERHEAD + n;
}

size_t disco_seal(uint8_t *out, size_t cap, const struct disco_public *sender,
		  const struct disco_shared *s, const struct disco_msg *m)
{
	size_t plen = disco_plain_len(m), total;
	uint8_t *plain = NULL, *nonce;

	if (plen == 0 || cap < DISCO_OVERHEAD + plen)
		return 0;
	total = DISCO_OVERHEAD + plen;
	plain = mem_calloc(1, plen);
	if (plain == NULL)
		return 0;
	plain[0] = (uint8_t)m->type;
	plain[1] = DISCO_VERSION;
	switch (m->type) {
	case DISCO_PING:
		memcpy(plain + 2, m->u.ping.txid, DISCO_TXID_LEN);
		memcpy(plain + 2 + DISCO_TXID_LEN, m->u.ping.node_key.b, KEY_LEN);
		break; /* padding is the calloc's zeros */
	case DISCO_PONG:
		memcpy(plain + 2, m->u.pong.txid, DISCO_TXID_LEN);
		disco_put_endpoint(plain + 2 + DISCO_TXID_LEN, &m->u.pong.src);
		break;
	case DISCO_CALL_ME_MAYBE:
		for (size_t i = 0; i < m->u.cmm.n; i++)
			disco_put_endpoint(plain + 2 + i * DISCO_ENDPOINT_LEN,
					   &m->u.cmm.endpoints[i]);
		break;
	}
	memcpy(out, disco_magic, DISCO_MAGIC_LEN);
	memcpy(out + DISCO_MAGIC_LEN, sender->b, KEY_LEN);
	nonce = out + DISCO_MAGIC_LEN + KEY_LEN;
	randombytes_buf(nonce, DISCO_NONCE_LEN);
	if (crypto_box_easy_afternm(out + DISCO_HEADER_LEN, plain, plen, nonce, s->k) != 0)
		total = 0;
	free(plain);
	return total;
}

static enum disco_verdict disco_decode(const uint8_t *pl, size_t n, struct disco_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 2)
		return DISCO_E_LENGTH;
	if (pl[1] != DISCO_VERSION)
		return DISCO_E_VERSION;
	switch (pl[0]) {
	case DISCO_PING:
		if (n < DISCO_PING_LEN || n > DISCO_PING_LEN + DISCO_PING_PAD_MAX)
			return DISCO_E_LENGTH;
		if (!ct_is_zero(pl + DISCO_PING_LEN, n - DISCO_PING_LEN))
			return DISCO_E_PADDING;
		out->type = DISCO_PING;
		memcpy(out->u.ping.txid, pl + 2, DISCO_TXID_LEN);
		memcpy(out->u.ping.node_key.b, pl + 2 + DISCO_TXID_LEN, KEY_LEN);
		out->u.ping.padding = (uint16_t)(n - DISCO_PING_LEN);
		return DISCO_OK;
	case DISCO_PONG:
		if (n != DISCO_PONG_LEN)
			return DISCO_E_LENGTH;
		out->type = DISCO_PONG;
		memcpy(out->u.pong.txid, pl + 2, DISCO_TXID_LEN);
		disco_get_endpoint(pl + 2 + DISCO_TXID_LEN, &out->u.pong.src);
		return disco_endpoint_ok(&out->u.pong.src) ? DISCO_OK : DISCO_E_ENDPOINT;
	case DISCO_CALL_ME_MAYBE: {
		size_t body = n - 2;
		if (body % DISCO_ENDPOINT_LEN != 0)
			return DISCO_E_LENGTH;
		if (body / DISCO_ENDPOINT_LEN > DISCO_MAX_ENDPOINTS)
			return DISCO_E_ENDPOINT;
		out->type = DISCO_CALL_ME_MAYBE;
		out->u.cmm.n = body / DISCO_ENDPOINT_LEN;
		for (size_t i = 0; i < out->u.cmm.n; i++) {
			disco_get_endpoint(pl + 2 + i * DISCO_ENDPOINT_LEN,
					   &out->u.cmm.endpoints[i]);
			if (!disco_endpoint_ok(&out->u.cmm.endpoints[i]))
				return DISCO_E_ENDPOINT;
		}
		return DISCO_OK;
	}
	default:
		return DISCO_E_TYPE;
	}
}

enum disco_verdict disco_open(const uint8_t *p, size_t n, const struct disco_shared *s,
			      struct disco_msg *out)
{
	uint8_t *plain;
	size_t plen;
	enum disco_verdict v;

	memset(out, 0, sizeof(*out));
	if (n < DISCO_MIN_LEN)
		return DISCO_E_SHORT;
	if (memcmp(p, disco_magic, DISCO_MAGIC_LEN) != 0)
		return DISCO_E_MAGIC;
	plen = n - DISCO_OVERHEAD;
	if (plen > DISCO_PLAIN_MAX)
		return DISCO_E_LENGTH;
	plain = malloc(plen);
	if (plain == NULL)
		return DISCO_E_LENGTH;
	if (crypto_box_open_easy_afternm(plain, p + DISCO_HEADER_LEN, n - DISCO_HEADER_LEN,
					 p + DISCO_MAGIC_LEN + KEY_LEN, s->k) != 0)
		v = DISCO_E_AUTH;
	else
		v = disco_decode(plain, plen, out);
	free(plain);
	if (v != DISCO_OK)
		memset(out, 0, sizeof(*out));
	return v;
}

enum disco_verdict disco_open_from(const uint8_t *p, size_t n, const struct disco_public *expect,
				   const struct disco_shared *s, struct disco_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (n < DISCO_MIN_LEN)
		return DISCO_E_SHORT;
	if (memcmp(p, disco_magic, DISCO_MAGIC_LEN) != 0)
		return DISCO_E_MAGIC;
	if (!ct_memeq(p + DISCO_MAGIC_LEN, expect->b, KEY_LEN))
		return DISCO_E_SENDER;
	return disco_open(p, n, s, out);
}

void disco_count(struct disco_counters *c, enum disco_verdict v, const struct disco_msg *m)
{
	if (v == DISCO_OK && m != NULL && (unsigned)m->type < 4)
		c->ok[m->type]++;
	else if ((unsigned)v < DISCO_VERDICT_COUNT)
		c->rejected[v]++;
}

const char *disco_verdict_name(enum disco_verdict v)
{
	static const char *const names[DISCO_VERDICT_COUNT] = {
		[DISCO_OK] = "ok",
		[DISCO_E_SHORT] = "short",
		[DISCO_E_MAGIC] = "magic",
		[DISCO_E_AUTH] = "auth",
		[DISCO_E_TYPE] = "type",
		[DISCO_E_VERSION] = "version",
		[DISCO_E_LENGTH] = "length",
		[DISCO_E_ENDPOINT] = "endpoint",
		[DISCO_E_PADDING] = "padding",
		[DISCO_E_SENDER] = "sender",
		[DISCO_E_REPLAY] = "replay",
	};
	return (unsigned)v < DISCO_VERDICT_COUNT ? names[v] : "unknown";
}

const char *disco_type_name(enum disco_type t)
{
	switch (t) {
	case DISCO_PING:
		return "ping";
	case DISCO_PONG:
		return "pong";
	case DISCO_CALL_ME_MAYBE:
		return "call-me-maybe";
	}
	return "unknown";
}

void disco_seen_init(struct disco_seen *s)
{
	memset(s, 0, sizeof(*s));
}

bool disco_seen_check(struct disco_seen *s, const uint8_t txid[static DISCO_TXID_LEN],
		      uint64_t now_ns, uint64_t ttl_ns)
{
	for (unsigned i = 0; i < DISCO_SEEN_SLOTS; i++) {
		if (s->at[i] != 0 && now_ns - s->at[i] < ttl_ns &&
		    memcmp(s->txid[i], txid, DISCO_TXID_LEN) == 0)
			return false;
	}
	memcpy(s->txid[s->next], txid, DISCO_TXID_LEN);
	s->at[s->next] = now_ns == 0 ? 1 : now_ns;
	s->next = (s->next + 1) % DISCO_SEEN_SLOTS;
	return true;
}

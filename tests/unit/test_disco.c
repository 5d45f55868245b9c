/* SPDX-License-Identifier: ISC */
/*
 * test_disco: seal/open round trips of every message type between two key
 * pairs, the demultiplexing test against WireGuard and STUN, a table of
 * rejects (crafted plaintexts sealed with the right key, forgeries, wrong
 * sender), and the ping replay cache.
 */
#include <sodium.h>

#include "disco/disco.h"
#include "stun/stun.h"
#include "testutil.h"

struct pair {
	struct disco_private a_priv, b_priv;
	struct disco_public a_pub, b_pub;
	struct disco_shared ab, ba; /* a's view of b, b's view of a */
};

static void pair_init(struct pair *k)
{
	keys_generate(k->a_priv.b);
	keys_generate(k->b_priv.b);
	assert_int_equal(disco_private_public(&k->a_pub, &k->a_priv), 0);
	assert_int_equal(disco_private_public(&k->b_pub, &k->b_priv), 0);
	assert_int_equal(disco_shared_init(&k->ab, &k->a_priv, &k->b_pub), 0);
	assert_int_equal(disco_shared_init(&k->ba, &k->b_priv, &k->a_pub), 0);
}

static struct netendpoint ep(const char *s)
{
	struct netendpoint e;
	assert_int_equal(netendpoint_parse(s, &e), 0);
	return e;
}

static void test_roundtrip(void **state)
{
	struct pair k;
	uint8_t buf[DISCO_PACKET_MAX];
	struct disco_msg m, got;
	struct disco_public who;
	size_t n;

	(void)state;
	pair_init(&k);

	/* Ping, without and with padding. */
	for (uint16_t pad = 0; pad <= 1000; pad += 1000) {
		memset(&m, 0, sizeof(m));
		m.type = DISCO_PING;
		memset(m.u.ping.txid, 0x11, DISCO_TXID_LEN);
		memset(m.u.ping.node_key.b, 0x22, KEY_LEN);
		m.u.ping.padding = pad;
		n = disco_seal(buf, sizeof(buf), &k.a_pub, &k.ab, &m);
		assert_int_equal(n, DISCO_OVERHEAD + DISCO_PING_LEN + pad);
		assert_int_equal(n, disco_sealed_len(&m));
		assert_true(disco_is_packet(buf, n));
		assert_false(stun_is_packet(buf, n));
		assert_int_equal(disco_sender(buf, n, &who), 0);
		assert_memory_equal(who.b, k.a_pub.b, KEY_LEN);
		assert_int_equal(disco_open_from(buf, n, &k.a_pub, &k.ba, &got), DISCO_OK);
		assert_int_equal(got.type, DISCO_PING);
		assert_memory_equal(got.u.ping.txid, m.u.ping.txid, DISCO_TXID_LEN);
		assert_memory_equal(got.u.ping.node_key.b, m.u.ping.node_key.b, KEY_LEN);
		assert_int_equal(got.u.ping.padding, pad);
	}
	/* The unpadded ping is 124 bytes, as Tailscale's (same layout, other magic). */
	assert_int_equal(DISCO_OVERHEAD + DISCO_PING_LEN, 124);

	/* Pong with IPv4 and IPv6 sources. */
	static const char *const srcs[] = { "198.51.100.7:41641", "[2001:db8::7]:1" };
	for (size_t i = 0; i < 2; i++) {
		memset(&m, 0, sizeof(m));
		m.type = DISCO_PONG;
		memset(m.u.pong.txid, (int)i + 1, DISCO_TXID_LEN);
		m.u.pong.src = ep(srcs[i]);
		n = disco_seal(buf, sizeof(buf), &k.b_pub, &k.ba, &m);
		assert_int_equal(n, 110);
		assert_int_equal(disco_open(buf, n, &k.ab, &got), DISCO_OK);
		assert_int_equal(got.type, DISCO_PONG);
		assert_true(netendpoint_eq(&got.u.pong.src, &m.u.pong.src));
	}

	/* Call-me-maybe: empty, a few, the maximum. */
	static const size_t counts[] = { 0, 3, DISCO_MAX_ENDPOINTS };
	for (size_t c = 0; c < 3; c++) {
		memset(&m, 0, sizeof(m));
		m.type = DISCO_CALL_ME_MAYBE;
		m.u.cmm.n = counts[c];
		for (size_t i = 0; i < counts[c]; i++) {
			char s[64];
			snprintf(s, sizeof(s), i % 2 ? "[fd00::%zx]:%zu" : "10.0.0.%zu:%zu", i + 1,
				 1000 + i);
			m.u.cmm.endpoints[i] = ep(s);
		}
		n = disco_seal(buf, sizeof(buf), &k.a_pub, &k.ab, &m);
		assert_int_equal(n, DISCO_OVERHEAD + 2 + counts[c] * DISCO_ENDPOINT_LEN);
		assert_int_equal(disco_open(buf, n, &k.ba, &got), DISCO_OK);
		assert_int_equal(got.u.cmm.n, counts[c]);
		for (size_t i = 0; i < counts[c]; i++)
			assert_true(netendpoint_eq(&got.u.cmm.endpoints[i], &m.u.cmm.endpoints[i]));
	}

	/* Messages that cannot be sealed. */
	m.u.cmm.n = DISCO_MAX_ENDPOINTS + 1;
	assert_int_equal(disco_seal(buf, sizeof(buf), &k.a_pub, &k.ab, &m), 0);
	m.u.cmm.n = 1;
	m.u.cmm.endpoints[0] = ep("0.0.0.0:5");
	assert_int_equal(disco_seal(buf, sizeof(buf), &k.a_pub, &k.ab, &m), 0);
	m.type = DISCO_PING;
	m.u.ping.padding = 0;
	assert_int_equal(disco_seal(buf, 100, &k.a_pub, &k.ab, &m), 0); /* does not fit */
}

/* Seals an arbitrary plaintext as a's message to b. */
static size_t seal_raw(uint8_t *out, const struct pair *k, const uint8_t *plain, size_t n)
{
	memcpy(out, disco_magic, DISCO_MAGIC_LEN);
	memcpy(out + DISCO_MAGIC_LEN, k->a_pub.b, KEY_LEN);
	randombytes_buf(out + DISCO_MAGIC_LEN + KEY_LEN, DISCO_NONCE_LEN);
	assert_int_equal(crypto_box_easy_afternm(out + DISCO_HEADER_LEN, plain, n,
						 out + DISCO_MAGIC_LEN + KEY_LEN, k->ab.k),
			 0);
	return DISCO_OVERHEAD + n;
}

struct reject {
	const char *name;
	const char *plain_hex;
	enum disco_verdict want;
};

static void test_rejects(void **state)
{
	static const struct reject rejects[] = {
		{ "no header", "", DISCO_E_SHORT },
		{ "type only", "01", DISCO_E_SHORT },
		{ "unknown type", "0900", DISCO_E_TYPE },
		{ "type zero", "0000", DISCO_E_TYPE },
		{ "version 1", "0101", DISCO_E_VERSION },
		{ "ping short",
		  "0100"
		  "000102030405060708090a0b",
		  DISCO_E_LENGTH },
		{ "ping padding not zero",
		  "0100000102030405060708090a0b"
		  "2222222222222222222222222222222222222222222222222222222222222222"
		  "0001",
		  DISCO_E_PADDING },
		{ "pong short", "0200000102030405060708090a0b00000000000000000000ffffc0000201",
		  DISCO_E_LENGTH },
		{ "pong long",
		  "0200000102030405060708090a0b00000000000000000000ffffc000020100350000",
		  DISCO_E_LENGTH },
		{ "pong port zero",
		  "0200000102030405060708090a0b00000000000000000000ffffc00002010000",
		  DISCO_E_ENDPOINT },
		{ "pong unspecified",
		  "0200000102030405060708090a0b000000000000000000000000000000000035",
		  DISCO_E_ENDPOINT },
		{ "cmm partial endpoint", "030000000000000000000000ffff0a000001", DISCO_E_LENGTH },
		{ "cmm unspecified", "0300000000000000000000000000000000000035", DISCO_E_ENDPOINT },
	};
	struct pair k;
	uint8_t plain[256], pkt[512];
	struct disco_msg m;

	(void)state;
	pair_init(&k);
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		size_t pn = tu_hex(plain, sizeof(plain), rejects[i].plain_hex);
		size_t n = seal_raw(pkt, &k, plain, pn);
		enum disco_verdict v = disco_open(pkt, n, &k.ba, &m);
		if (v != rejects[i].want)
			fail_msg("%s: got %s, want %s", rejects[i].name, disco_verdict_name(v),
				 disco_verdict_name(rejects[i].want));
	}

	/* Too many endpoints. */
	memset(plain, 0, sizeof(plain));
	plain[0] = DISCO_CALL_ME_MAYBE;
	uint8_t big[2 + 33 * DISCO_ENDPOINT_LEN], bigpkt[sizeof(big) + DISCO_OVERHEAD];
	memset(big, 0, sizeof(big));
	big[0] = DISCO_CALL_ME_MAYBE;
	for (size_t i = 0; i < 33; i++) {
		uint8_t *e = big + 2 + i * DISCO_ENDPOINT_LEN;
		e[10] = e[11] = 0xff;
		e[12] = 10;
		e[15] = (uint8_t)(i + 1);
		e[17] = 1;
	}
	size_t n = seal_raw(bigpkt, &k, big, sizeof(big));
	assert_int_equal(disco_open(bigpkt, n, &k.ba, &m), DISCO_E_ENDPOINT);

	/* A valid message, then corrupted, truncated, re-addressed, or opened with the wrong key.
	 */
	memset(&m, 0, sizeof(m));
	m.type = DISCO_PING;
	n = disco_seal(pkt, sizeof(pkt), &k.a_pub, &k.ab, &m);
	struct disco_msg got;
	pkt[n - 1] ^= 1;
	assert_int_equal(disco_open(pkt, n, &k.ba, &got), DISCO_E_AUTH);
	pkt[n - 1] ^= 1;
	assert_int_equal(disco_open(pkt, n - 1, &k.ba, &got), DISCO_E_AUTH);
	assert_int_equal(disco_open(pkt, 70, &k.ba, &got), DISCO_E_SHORT);
	assert_int_equal(disco_open_from(pkt, n, &k.b_pub, &k.ba, &got), DISCO_E_SENDER);
	struct pair other;
	pair_init(&other);
	assert_int_equal(disco_open(pkt, n, &other.ba, &got), DISCO_E_AUTH);
	pkt[0] = 'X';
	assert_int_equal(disco_open(pkt, n, &k.ba, &got), DISCO_E_MAGIC);
	assert_false(disco_is_packet(pkt, n));

	/* A zero public key has no shared secret. */
	struct disco_public zero = { { 0 } };
	struct disco_shared sh;
	assert_int_equal(disco_shared_init(&sh, &k.a_priv, &zero), -EINVAL);

	struct disco_counters c;
	memset(&c, 0, sizeof(c));
	disco_count(&c, DISCO_E_AUTH, NULL);
	disco_count(&c, DISCO_OK, &m);
	assert_int_equal(c.rejected[DISCO_E_AUTH], 1);
	assert_int_equal(c.ok[DISCO_PING], 1);
}

/* On one UDP socket: WireGuard types 1-4, STUN and disco never look alike. */
static void test_demux(void **state)
{
	uint8_t p[200];

	(void)state;
	memset(p, 0, sizeof(p));
	for (uint8_t t = 1; t <= 4; t++) {
		p[0] = t;
		assert_false(disco_is_packet(p, 148));
	}
	memcpy(p, disco_magic, DISCO_MAGIC_LEN);
	assert_false(disco_is_packet(p, DISCO_OVERHEAD + 1));
	assert_true(disco_is_packet(p, DISCO_OVERHEAD + 2));
	assert_true((disco_magic[0] & 0xc0) != 0); /* never STUN */
	assert_true(disco_magic[0] > 4);	   /* never WireGuard */
}

static void test_seen(void **state)
{
	struct disco_seen s;
	uint8_t t[DISCO_TXID_LEN] = { 1 };
	const uint64_t ttl = 10 * 1000000000ULL;

	(void)state;
	disco_seen_init(&s);
	assert_true(disco_seen_check(&s, t, 100, ttl));
	assert_false(disco_seen_check(&s, t, 200, ttl));
	assert_true(disco_seen_check(&s, t, 100 + ttl, ttl)); /* aged out */
	/* A full ring forgets the oldest first. */
	for (uint8_t i = 2; i < 2 + DISCO_SEEN_SLOTS; i++) {
		uint8_t u[DISCO_TXID_LEN] = { i };
		assert_true(disco_seen_check(&s, u, 100 + ttl + i, ttl));
	}
	assert_true(disco_seen_check(&s, t, 100 + ttl + 50, ttl));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

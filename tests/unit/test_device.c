/* SPDX-License-Identifier: ISC */
/*
 * test_device: two in-process WireGuard devices, A and B, wired through
 * in-memory outboxes and driven by a fake clock: handshake in both
 * directions, data, keepalives, rekey by time, expiry, key zeroing, replay,
 * tampering, unknown indices, cookies under load, roaming, retransmission and
 * giving up, handshake replay and flood, and the inner-source check.
 */
#include <sodium.h>

#include "core/buf.h"
#include "crypto/aead.h"
#include "crypto/keys.h"
#include "wg/device.h"
#include "wg/keypair.h"
#include "testutil.h"

#define MAXQ 512

struct dgram {
	uint8_t buf[1600];
	size_t len;
	struct netendpoint to;
};

struct side {
	const char *name;
	struct wg_device *dev;
	struct wg_peer *peer; /* the other side, as this side's peer */
	struct netendpoint addr;
	struct dgram out[MAXQ];
	size_t nout;
	uint8_t priv[32], pub[32];
};

static uint64_t now_ns = 1000000000ULL;
static uint64_t wall = 1700000000ULL * 1000000000ULL;
static struct aead_ctx *ctx;
static struct side A, B;

static void side_send(void *arg, struct wg_peer *peer, const struct netendpoint *to,
		      const uint8_t *pkt, size_t len)
{
	struct side *s = arg;

	(void)peer;
	assert_true(s->nout < MAXQ);
	assert_true(len <= sizeof(s->out[0].buf));
	memcpy(s->out[s->nout].buf, pkt, len);
	s->out[s->nout].len = len;
	s->out[s->nout].to = *to;
	s->nout++;
}

static uint64_t side_wall(void *arg)
{
	(void)arg;
	return wall;
}

static const struct wg_device_ops ops = { .send = side_send, .wall_ns = side_wall };

static void advance(uint64_t ns)
{
	now_ns += ns;
	wall += ns;
}

/* A 20-byte IPv4 header plus payload, src/dst in 10.0.0.0/24. */
static size_t make_ip(uint8_t *p, uint8_t src_last, uint8_t dst_last, size_t payload, uint8_t fill)
{
	size_t tl = 20 + payload;

	memset(p, 0, tl);
	p[0] = 0x45;
	buf_store_be16(p + 2, (uint16_t)tl);
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[15] = src_last;
	p[16] = 10, p[19] = dst_last;
	memset(p + 20, fill, payload);
	return tl;
}

static void side_init(struct side *s, const char *name, uint8_t last)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	assert_int_equal(wg_device_new(&ops, s, &s->dev), 0);
	keys_generate(s->priv);
	assert_int_equal(keys_public(s->pub, s->priv), 0);
	wg_device_set_private_key(s->dev, s->priv);
	wg_device_set_mtu(s->dev, 1420);
	netaddr_from_v4(&s->addr.addr, (const uint8_t[]){ 192, 0, 2, last });
	s->addr.port = 51820;
}

static void pair(struct side *s, struct side *o, uint8_t o_last, bool with_endpoint)
{
	struct netprefix p;
	uint8_t a[4] = { 10, 0, 0, o_last };

	assert_int_equal(wg_device_peer_add(s->dev, o->pub, &s->peer), 0);
	netaddr_from_v4(&p.addr, a);
	p.bits = 32;
	assert_int_equal(wg_peer_allowedip_add(s->peer, &p), 0);
	if (with_endpoint)
		wg_peer_set_endpoint(s->peer, &o->addr);
}

static int setup(void **state)
{
	(void)state;
	if (aead_ctx_new(&ctx) != 0)
		return -1;
	side_init(&A, "A", 1);
	side_init(&B, "B", 2);
	pair(&A, &B, 2, true);
	pair(&B, &A, 1, false); /* B learns A's endpoint from the handshake */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wg_device_free(A.dev);
	wg_device_free(B.dev);
	aead_ctx_free(ctx);
	return 0;
}

static const struct wg_counters *C(struct side *s)
{
	return wg_device_counters(s->dev);
}

/* Delivers one datagram into `to` as if it came from `from`'s address. */
static enum wg_rx_verdict deliver_one(struct side *to, const struct netendpoint *src,
				      const uint8_t *wire, size_t len, uint8_t *inner,
				      size_t *inner_len, bool under_load)
{
	uint8_t buf[1600];
	struct wg_keypair *kp;
	struct wg_peer *peer;
	size_t plen;
	uint64_t counter;

	/* Opening is in place: work on a copy so a test can deliver the same datagram twice. */
	assert_true(len <= sizeof(buf));
	memcpy(buf, wire, len);
	switch (wg_msg_classify(buf, len)) {
	case WG_KIND_HANDSHAKE:
		wg_device_handshake_input(to->dev, buf, len, src, under_load, now_ns);
		return WG_RX_KEEPALIVE;
	case WG_KIND_DATA:
		if (wg_device_rx_prepare(to->dev, buf, len, now_ns, &kp) != 0)
			return WG_RX_DROP;
		if (wg_keypair_open(kp, ctx, buf, len, &plen, &counter) != 0) {
			wg_device_rx_failed(to->dev, kp);
			return WG_RX_DROP;
		}
		enum wg_rx_verdict v = wg_device_rx_complete(to->dev, kp, counter,
							     buf + WG_DATA_HEADER_LEN, plen, len,
							     src, now_ns, inner_len, &peer);
		if (v == WG_RX_DELIVER && inner != NULL)
			memcpy(inner, buf + WG_DATA_HEADER_LEN, *inner_len);
		return v;
	case WG_KIND_INVALID:
		break;
	}
	return WG_RX_DROP;
}

/* Moves everything in from's outbox to `to` (repeatedly, until both are quiet). */
static int pump(struct side *x, struct side *y, bool y_under_load)
{
	int delivered = 0;

	for (int round = 0; round < 20 && (x->nout > 0 || y->nout > 0); round++) {
		struct side *froms[2] = { x, y };
		for (int k = 0; k < 2; k++) {
			struct side *from = froms[k], *to = from == x ? y : x;
			size_t n = from->nout;
			struct dgram q[8];
			assert_true(n <= 8);
			memcpy(q, from->out, n * sizeof(q[0]));
			from->nout = 0;
			for (size_t i = 0; i < n; i++) {
				uint8_t inner[1600];
				size_t il;
				deliver_one(to, &from->addr, q[i].buf, q[i].len, inner, &il,
					    to == y ? y_under_load : false);
				delivered++;
			}
		}
	}
	return delivered;
}

/* Sends one IP packet from s through the TX path. Returns the verdict. */
static enum wg_tx_verdict send_ip(struct side *s, uint8_t src_last, uint8_t dst_last, size_t payload,
				  uint8_t fill)
{
	uint8_t buf[1600];
	struct wg_tx_ticket t;
	size_t len = make_ip(buf + WG_DATA_HEADER_LEN, src_last, dst_last, payload, fill), out;
	enum wg_tx_verdict v = wg_device_tx_prepare(s->dev, buf + WG_DATA_HEADER_LEN, len, now_ns, &t);

	if (v != WG_TX_SEND)
		return v;
	assert_int_equal(wg_keypair_seal(t.kp, ctx, t.counter, buf, len, 1420, &out), 0);
	side_send(s, t.peer, &t.to, buf, out);
	wg_device_tx_complete(s->dev, &t, out, true, now_ns);
	return v;
}

static void handshake(void)
{
	assert_int_equal(send_ip(&A, 1, 2, 100, 0xaa) != WG_TX_DROP, 1);
	pump(&A, &B, false);
}

static void test_handshake_and_data(void **state)
{
	struct wg_peer_info info;
	uint8_t inner[1600];
	size_t il;

	(void)state;
	/* First packet has no session: staged, and an initiation goes out. */
	assert_int_equal(send_ip(&A, 1, 2, 100, 0xaa), WG_TX_STAGED);
	assert_int_equal(A.nout, 1);
	assert_int_equal(A.out[0].len, 148);
	/* B answers; A completes and sends the staged packet; B promotes next to current. */
	struct dgram init = A.out[0];
	A.nout = 0;
	deliver_one(&B, &A.addr, init.buf, init.len, NULL, &il, false);
	assert_int_equal(B.nout, 1);
	assert_int_equal(B.out[0].len, 92);
	struct dgram resp = B.out[0];
	B.nout = 0;
	deliver_one(&A, &B.addr, resp.buf, resp.len, NULL, &il, false);
	assert_int_equal(A.nout, 1); /* the staged packet, sealed */
	assert_int_equal(A.out[0].len, 16 + 128 + 16); /* 120 bytes padded to 128 */
	struct dgram data = A.out[0];
	A.nout = 0;
	assert_int_equal(deliver_one(&B, &A.addr, data.buf, data.len, inner, &il, false),
			 WG_RX_DELIVER);
	assert_int_equal(il, 120);
	assert_int_equal(inner[20], 0xaa);
	/* B learned A's endpoint from the initiation and can now answer directly. */
	assert_int_equal(send_ip(&B, 2, 1, 1000, 0xbb), WG_TX_SEND);
	data = B.out[0];
	B.nout = 0;
	assert_int_equal(deliver_one(&A, &B.addr, data.buf, data.len, inner, &il, false),
			 WG_RX_DELIVER);
	assert_int_equal(il, 1020);
	/* Replay of the same message is refused. */
	assert_int_equal(deliver_one(&A, &B.addr, data.buf, data.len, inner, &il, false), WG_RX_DROP);
	assert_int_equal(C(&A)->rx_replayed, 1);
	wg_peer_info(A.peer, &info);
	assert_true(info.last_handshake_wall_ns != 0);
	assert_true(info.rx_bytes > 0 && info.tx_bytes > 0);
	wg_peer_info(B.peer, &info);
	assert_true(info.last_handshake_wall_ns != 0);
	assert_true(info.has_endpoint);
	assert_true(netendpoint_eq(&info.endpoint, &A.addr));
}

static void test_bad_packets(void **state)
{
	uint8_t inner[1600];
	size_t il;

	(void)state;
	assert_int_equal(send_ip(&A, 1, 2, 64, 1), WG_TX_SEND);
	struct dgram d = A.out[0];
	A.nout = 0;
	/* Tampered ciphertext. */
	d.buf[40] ^= 1;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	assert_int_equal(C(&B)->rx_decrypt_failed, 1);
	/* Unknown receiver index. */
	d.buf[40] ^= 1;
	d.buf[4] ^= 0xff;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	assert_int_equal(C(&B)->rx_unknown_index, 1);
	/* Truncated, garbage type, non-zero reserved bytes. */
	uint8_t junk[200];
	memset(junk, 0, sizeof(junk));
	junk[0] = 4;
	assert_int_equal(wg_msg_classify(junk, 31), WG_KIND_INVALID);
	junk[0] = 9;
	assert_int_equal(wg_msg_classify(junk, 100), WG_KIND_INVALID);
	junk[0] = 1;
	junk[2] = 1;
	assert_int_equal(wg_msg_classify(junk, 148), WG_KIND_INVALID);
	junk[2] = 0;
	assert_int_equal(wg_msg_classify(junk, 147), WG_KIND_INVALID);
	/* A garbage initiation of the right size fails mac1. */
	wg_device_handshake_input(B.dev, junk, 148, &A.addr, false, now_ns);
	assert_int_equal(C(&B)->rx_mac1_invalid, 1);
	/* A packet whose inner source is not A's allowed IP. */
	assert_int_equal(send_ip(&A, 99, 2, 64, 1), WG_TX_SEND);
	d = A.out[0];
	A.nout = 0;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	assert_int_equal(C(&B)->rx_bad_source, 1);
	/* No route. */
	assert_int_equal(send_ip(&A, 1, 77, 64, 1), WG_TX_DROP);
	assert_int_equal(C(&A)->tx_no_route, 1);
}

static void test_keepalive_timer(void **state)
{
	uint8_t inner[1600];
	size_t il;

	(void)state;
	/* B receives data and sends nothing back: after KEEPALIVE_TIMEOUT it sends a keepalive. */
	assert_int_equal(send_ip(&A, 1, 2, 64, 1), WG_TX_SEND);
	struct dgram d = A.out[0];
	A.nout = 0;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DELIVER);
	advance(WG_KEEPALIVE_TIMEOUT - WG_NS(1));
	wg_device_tick(B.dev, now_ns);
	assert_int_equal(B.nout, 0);
	advance(WG_NS(2));
	wg_device_tick(B.dev, now_ns);
	assert_int_equal(B.nout, 1);
	assert_int_equal(B.out[0].len, 32);
	d = B.out[0];
	B.nout = 0;
	assert_int_equal(deliver_one(&A, &B.addr, d.buf, d.len, inner, &il, false), WG_RX_KEEPALIVE);
}

static void test_rekey_after_time(void **state)
{
	uint8_t inner[1600];
	size_t il;
	const struct wg_counters *ca = C(&A);
	uint64_t hs_before = ca->tx_handshakes;

	(void)state;
	/* A is the initiator of the current session: after REKEY_AFTER_TIME, sending rekeys. */
	advance(WG_REKEY_AFTER_TIME);
	assert_int_equal(send_ip(&A, 1, 2, 64, 2), WG_TX_SEND);
	assert_int_equal(ca->tx_handshakes, hs_before + 1);
	/* The data (old key) and the initiation both reach B; B answers; A switches. */
	struct dgram old_data = A.out[0];
	pump(&A, &B, false);
	assert_int_equal(send_ip(&A, 1, 2, 64, 3), WG_TX_SEND);
	struct dgram d = A.out[0];
	A.nout = 0;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DELIVER);
	assert_int_equal(inner[20], 3);
	/* The old session's data was already delivered once: a second time is a replay. */
	assert_int_equal(deliver_one(&B, &A.addr, old_data.buf, old_data.len, inner, &il, false),
			 WG_RX_DROP);
}

static void test_expiry_and_zeroing(void **state)
{
	uint8_t inner[1600];
	size_t il;

	(void)state;
	assert_int_equal(send_ip(&A, 1, 2, 64, 4), WG_TX_SEND);
	struct dgram d = A.out[0];
	A.nout = 0;
	/* Nothing is delivered for longer than REJECT_AFTER_TIME: the session is dead. */
	advance(WG_REJECT_AFTER_TIME + WG_NS(1));
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	assert_true(C(&B)->rx_key_expired >= 1);
	/* A cannot send on it either: the packet is staged and a handshake starts. */
	A.nout = 0;
	assert_int_equal(send_ip(&A, 1, 2, 64, 5), WG_TX_STAGED);
	assert_true(A.nout >= 1);
	A.nout = 0;
	/* Drop every handshake; A retries every REKEY_TIMEOUT and gives up after 18 tries. */
	int tries = 0;
	for (int i = 0; i < 200; i++) {
		advance(WG_NS(1));
		wg_device_tick(A.dev, now_ns);
		tries += (int)A.nout;
		A.nout = 0;
	}
	/* The kernel retries while attempts <= MAX_TIMER_HANDSHAKES: 19 retries after the first. */
	assert_int_equal(tries, WG_MAX_TIMER_HANDSHAKES + 1);
	/* After 3*REJECT_AFTER_TIME all key material is gone: B's old data is unknown now. */
	wg_device_tick(B.dev, now_ns);
	advance(3 * WG_REJECT_AFTER_TIME);
	wg_device_tick(A.dev, now_ns);
	wg_device_tick(B.dev, now_ns);
	uint64_t unknown = C(&B)->rx_unknown_index;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	assert_int_equal(C(&B)->rx_unknown_index, unknown + 1);
	A.nout = B.nout = 0;
	/* A new handshake brings the tunnel back. */
	advance(WG_NS(10));
	handshake();
	assert_int_equal(send_ip(&B, 2, 1, 64, 6), WG_TX_SEND);
	d = B.out[0];
	B.nout = 0;
	assert_int_equal(deliver_one(&A, &B.addr, d.buf, d.len, inner, &il, false), WG_RX_DELIVER);
}

static void test_roaming(void **state)
{
	uint8_t inner[1600];
	size_t il;
	struct netendpoint moved = A.addr;
	struct wg_peer_info info;

	(void)state;
	moved.port = 40000;
	assert_int_equal(send_ip(&A, 1, 2, 64, 7), WG_TX_SEND);
	struct dgram d = A.out[0];
	A.nout = 0;
	assert_int_equal(deliver_one(&B, &moved, d.buf, d.len, inner, &il, false), WG_RX_DELIVER);
	wg_peer_info(B.peer, &info);
	assert_true(netendpoint_eq(&info.endpoint, &moved));
	assert_int_equal(send_ip(&B, 2, 1, 64, 8), WG_TX_SEND);
	assert_true(netendpoint_eq(&B.out[0].to, &moved));
	B.nout = 0;
	/* A forged packet (fails to open) from elsewhere does not move the endpoint. */
	struct netendpoint evil = moved;
	evil.port = 666;
	assert_int_equal(send_ip(&A, 1, 2, 64, 9), WG_TX_SEND);
	d = A.out[0];
	A.nout = 0;
	d.buf[20] ^= 1;
	assert_int_equal(deliver_one(&B, &evil, d.buf, d.len, inner, &il, false), WG_RX_DROP);
	wg_peer_info(B.peer, &info);
	assert_true(netendpoint_eq(&info.endpoint, &moved));
	/* Put A back where it was for the tests that follow. */
	d.buf[20] ^= 1;
	assert_int_equal(deliver_one(&B, &A.addr, d.buf, d.len, inner, &il, false), WG_RX_DELIVER);
}

static void test_handshake_replay_and_flood(void **state)
{
	size_t il;

	(void)state;
	advance(WG_NS(6));
	wg_peer_initiate(A.peer, now_ns);
	assert_int_equal(A.nout, 1);
	struct dgram init = A.out[0];
	A.nout = 0;
	deliver_one(&B, &A.addr, init.buf, init.len, NULL, &il, false);
	B.nout = 0;
	/* The same initiation again: its timestamp is not newer. */
	uint64_t replayed = C(&B)->rx_handshake_replayed;
	deliver_one(&B, &A.addr, init.buf, init.len, NULL, &il, false);
	assert_int_equal(C(&B)->rx_handshake_replayed, replayed + 1);
	assert_int_equal(B.nout, 0);
	/* A fresh initiation 10 ms later (newer timestamp) is refused as a flood. */
	advance(WG_NS(6));
	wg_peer_initiate(A.peer, now_ns);
	struct dgram i2 = A.out[0];
	A.nout = 0;
	/* Rewind B's view: deliver with a monotonic time 10 ms after the previous accept. */
	uint64_t saved = now_ns;
	now_ns -= WG_NS(6) - 10000000ULL;
	deliver_one(&B, &A.addr, i2.buf, i2.len, NULL, &il, false);
	now_ns = saved;
	assert_int_equal(C(&B)->rx_handshake_flood, 1);
	/* Finish cleanly. */
	advance(WG_NS(6));
	B.nout = A.nout = 0;
	wg_peer_initiate(A.peer, now_ns);
	pump(&A, &B, false);
}

static void test_cookie_under_load(void **state)
{
	size_t il;

	(void)state;
	advance(WG_NS(6));
	A.nout = B.nout = 0;
	wg_peer_initiate(A.peer, now_ns);
	struct dgram init = A.out[0];
	A.nout = 0;
	/* B is under load: no valid mac2 yet, so B sends a cookie reply instead. */
	deliver_one(&B, &A.addr, init.buf, init.len, NULL, &il, true);
	assert_int_equal(C(&B)->rx_cookie_sent, 1);
	assert_int_equal(B.nout, 1);
	assert_int_equal(B.out[0].len, 64);
	struct dgram cookie = B.out[0];
	B.nout = 0;
	deliver_one(&A, &B.addr, cookie.buf, cookie.len, NULL, &il, false);
	assert_int_equal(C(&A)->rx_cookie_invalid, 0);
	/* The same reply again is refused (the maker expects one reply per mac1). */
	deliver_one(&A, &B.addr, cookie.buf, cookie.len, NULL, &il, false);
	assert_int_equal(C(&A)->rx_cookie_invalid, 1);
	/* The retransmission carries mac2 and B, still under load, accepts it. */
	advance(WG_REKEY_TIMEOUT + WG_REKEY_TIMEOUT_JITTER_MAX_NS);
	wg_device_tick(A.dev, now_ns);
	assert_int_equal(A.nout, 1);
	init = A.out[0];
	A.nout = 0;
	deliver_one(&B, &A.addr, init.buf, init.len, NULL, &il, true);
	assert_int_equal(C(&B)->rx_cookie_sent, 1);
	assert_int_equal(B.nout, 1);
	assert_int_equal(B.out[0].len, 92);
	pump(&A, &B, false);
	/* A stale cookie reply names an initiation no longer in flight: refused. */
	uint64_t unknown = C(&A)->rx_unknown_index;
	deliver_one(&A, &B.addr, cookie.buf, cookie.len, NULL, &il, false);
	assert_int_equal(C(&A)->rx_unknown_index, unknown + 1);
}

static void test_persistent_keepalive(void **state)
{
	(void)state;
	A.nout = B.nout = 0;
	wg_peer_set_keepalive(A.peer, 25, now_ns);
	assert_int_equal(A.nout, 1); /* one at once */
	assert_int_equal(A.out[0].len, 32);
	pump(&A, &B, false);
	advance(WG_NS(24));
	wg_device_tick(A.dev, now_ns);
	assert_int_equal(A.nout, 0);
	advance(WG_NS(2));
	wg_device_tick(A.dev, now_ns);
	assert_int_equal(A.nout, 1);
	wg_peer_set_keepalive(A.peer, 0, now_ns);
	A.nout = B.nout = 0;
}

static void test_psk_mismatch_and_removal(void **state)
{
	uint8_t psk[32];
	size_t il;

	(void)state;
	/* Different pre-shared keys: the response does not authenticate at A. */
	keys_random(psk, 32);
	wg_peer_set_psk(B.peer, psk);
	advance(WG_NS(6));
	A.nout = B.nout = 0;
	wg_peer_initiate(A.peer, now_ns);
	pump(&A, &B, false);
	assert_true(C(&A)->rx_handshake_invalid >= 1);
	/* The same key on both sides: it works. */
	wg_peer_set_psk(A.peer, psk);
	advance(WG_NS(6));
	A.nout = B.nout = 0;
	wg_peer_initiate(A.peer, now_ns);
	pump(&A, &B, false);
	assert_int_equal(send_ip(&A, 1, 2, 10, 1), WG_TX_SEND);
	A.nout = 0;
	/* Removing the peer forgets it: its data arrives at an unknown index. */
	assert_int_equal(send_ip(&B, 2, 1, 10, 1), WG_TX_SEND);
	struct dgram d = B.out[0];
	B.nout = 0;
	uint8_t pub[32];
	memcpy(pub, B.pub, 32);
	wg_device_peer_remove(A.dev, A.peer);
	A.peer = NULL;
	assert_null(wg_device_peer_find(A.dev, pub));
	assert_int_equal(deliver_one(&A, &B.addr, d.buf, d.len, NULL, &il, false), WG_RX_DROP);
	assert_int_equal(wg_device_peer_count(A.dev), 0);
	/* Own public key as peer is refused; duplicates too. */
	struct wg_peer *p;
	assert_int_equal(wg_device_peer_add(A.dev, A.pub, &p), -EINVAL);
	assert_int_equal(wg_device_peer_add(A.dev, B.pub, &p), 0);
	assert_int_equal(wg_device_peer_add(A.dev, B.pub, &p), -EEXIST);
}

static void test_padding(void **state)
{
	(void)state;
	assert_int_equal(wg_keypair_padded_len(0, 1420), 0);
	assert_int_equal(wg_keypair_padded_len(1, 1420), 16);
	assert_int_equal(wg_keypair_padded_len(16, 1420), 16);
	assert_int_equal(wg_keypair_padded_len(1419, 1420), 1420);
	assert_int_equal(wg_keypair_padded_len(1420, 1420), 1420);
	assert_int_equal(wg_keypair_padded_len(1415, 1418), 1418);
	assert_int_equal(wg_keypair_padded_len(17, 0), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_bad_packets),
		cmocka_unit_test(test_keepalive_timer),
		cmocka_unit_test(test_rekey_after_time),
		cmocka_unit_test(test_expiry_and_zeroing),
		cmocka_unit_test(test_roaming),
		cmocka_unit_test(test_handshake_replay_and_flood),
		cmocka_unit_test(test_cookie_under_load),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_psk_mismatch_and_removal),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}

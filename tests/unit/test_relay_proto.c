/* SPDX-License-Identifier: ISC */
/*
 * test_relay_proto: the relay handshake end to end (relay_conn as the client,
 * the relay_hs functions as the server), fed at every possible split; mesh
 * proofs; replayed or misdirected handshake boxes; every frame writer through
 * the decoder; a table of rejected frames and HTTP answers.
 */
#include <sodium.h>

#include "relay/relay_conn.h"
#include "relay/relay_proto.h"
#include "relay/relaymap.h"
#include "testutil.h"

struct server {
	struct relay_private priv;
	struct relay_public pub;
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	uint8_t mesh_key[KEY_LEN];
};

static void server_init(struct server *s)
{
	keys_generate(s->priv.b);
	assert_int_equal(keys_public(s->pub.b, s->priv.b), 0);
	randombytes_buf(s->challenge, sizeof(s->challenge));
	memset(s->mesh_key, 0x4d, sizeof(s->mesh_key));
}

/* Decodes exactly one frame from p[n] as `role`. */
static enum relay_verdict decode_one(enum relay_role role, const uint8_t *p, size_t n,
				     struct relay_frame *f)
{
	struct relay_decoder d;
	enum relay_verdict v;
	size_t used;

	assert_int_equal(relay_decoder_init(&d, role), 0);
	enum relay_dec_result r = relay_decoder_feed(&d, p, n, &used, f, &v);
	relay_decoder_fini(&d);
	if (r == RELAY_DEC_FRAME) {
		assert_int_equal(used, n);
		return RELAY_OK;
	}
	assert_int_equal(r, RELAY_DEC_ERROR);
	return v;
}

/*
 * Runs a handshake: the server's 101 + SERVER_KEY, the client's CLIENT_INFO
 * checked by the server, SERVER_INFO, then a RECV_PACKET, all fed to the
 * client `split` bytes at a time.
 */
static void handshake(size_t split, bool mesh)
{
	struct server s;
	struct relay_conn_config cfg;
	struct relay_conn *c;
	uint8_t in[1024], pkt[64];
	size_t in_len = 0, olen, used;
	const uint8_t *o;
	struct relay_event ev;
	bool ready = false, got_packet = false;

	server_init(&s);
	memset(&cfg, 0, sizeof(cfg));
	keys_generate(cfg.key.b);
	cfg.http = true;
	cfg.host = "relay.example";
	cfg.mesh = mesh;
	memcpy(cfg.mesh_key, s.mesh_key, KEY_LEN);
	assert_int_equal(relay_conn_new(&cfg, &c), 0);
	assert_int_equal(relay_conn_start(c, 1), 0);
	o = relay_conn_output(c, &olen);
	assert_true(olen > 0 && memmem(o, olen, "Upgrade: weft-relay\r\n", 21) != NULL);
	assert_non_null(memmem(o, olen, "Host: relay.example\r\n", 21));
	relay_conn_output_consume(c, olen);

	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nupgrade:  Weft-Relay \r\n"
				   "Connection: Upgrade\r\n\r\n";
	memcpy(in, resp, sizeof(resp) - 1);
	in_len = sizeof(resp) - 1;
	relay_hs_server_key_write(in + in_len, &s.pub, s.challenge);
	in_len += RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN;

	/* Feed until the client has written CLIENT_INFO. */
	size_t off = 0;
	while (off < in_len) {
		size_t n = in_len - off < split ? in_len - off : split;
		relay_conn_feed(c, in + off, n, 2, &used, &ev);
		assert_int_not_equal(ev.type, RELAY_EV_ERROR);
		off += used;
	}
	assert_int_equal(c->state, RELAY_CONN_SERVER_INFO);
	o = relay_conn_output(c, &olen);
	assert_int_equal(olen, RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_LEN);

	/* The server checks it. */
	struct relay_frame f;
	struct node_public client;
	struct relay_client_info info;
	uint8_t nonce[RELAY_NONCE_LEN];
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, o, olen, &f), RELAY_OK);
	assert_int_equal(relay_hs_client_info_read(&f, &s.priv, &s.pub, s.challenge, s.mesh_key,
						   &client, &info, nonce),
			 RELAY_OK);
	assert_memory_equal(client.b, c->pub.b, KEY_LEN);
	assert_int_equal(!!(info.flags & RELAY_CF_MESH), mesh);
	/* Without a mesh key the server refuses mesh peers, and only them. */
	assert_int_equal(relay_hs_client_info_read(&f, &s.priv, &s.pub, s.challenge, NULL, &client,
						   &info, nonce),
			 mesh ? RELAY_E_MESH : RELAY_OK);
	/* Another connection's challenge: a replayed CLIENT_INFO is refused. */
	uint8_t other[RELAY_CHALLENGE_LEN];
	memcpy(other, s.challenge, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(relay_hs_client_info_read(&f, &s.priv, &s.pub, other, s.mesh_key, &client,
						   &info, nonce),
			 RELAY_E_CHALLENGE);
	relay_conn_output_consume(c, olen);

	/* SERVER_INFO and a packet. */
	struct relay_server_params params = { 1000000, 2000000, 60000 };
	in_len = 0;
	assert_int_equal(relay_hs_server_info_write(in, &s.priv, &client, nonce, &params), 0);
	in_len = RELAY_FRAME_HEADER_LEN + RELAY_SERVER_INFO_LEN;
	struct node_public src;
	memset(src.b, 0x33, KEY_LEN);
	memset(pkt, 0xab, sizeof(pkt));
	relay_frame_packet_head(in + in_len, RELAY_FRAME_RECV_PACKET, &src, sizeof(pkt));
	in_len += RELAY_SEND_HEAD_LEN;
	memcpy(in + in_len, pkt, sizeof(pkt));
	in_len += sizeof(pkt);
	off = 0;
	while (off < in_len) {
		size_t n = in_len - off < split ? in_len - off : split;
		relay_conn_feed(c, in + off, n, 3, &used, &ev);
		off += used;
		if (ev.type == RELAY_EV_READY)
			ready = true;
		if (ev.type == RELAY_EV_PACKET) {
			got_packet = true;
			assert_memory_equal(ev.f.key.b, src.b, KEY_LEN);
			assert_int_equal(ev.f.pkt_len, sizeof(pkt));
			assert_memory_equal(ev.f.pkt, pkt, sizeof(pkt));
		}
		assert_int_not_equal(ev.type, RELAY_EV_ERROR);
	}
	assert_true(ready && got_packet);
	assert_int_equal(c->params.rate_bytes, 1000000);
	assert_int_equal(c->params.keepalive_ms, 60000);
	assert_false(relay_conn_is_stale(c, 3 + 119ULL * 1000000000ULL));
	assert_true(relay_conn_is_stale(c, 3 + 121ULL * 1000000000ULL));
	relay_conn_free(c);
}

static void test_handshake(void **state)
{
	(void)state;
	for (size_t split = 1; split <= 300; split += (split < 20 ? 1 : 37)) {
		handshake(split, false);
		handshake(split, true);
	}
	handshake(100000, false);
}

/* A SERVER_INFO sealed for another CLIENT_INFO nonce, or by another key, fails. */
static void test_server_info_rejects(void **state)
{
	struct server s, evil;
	struct node_private cpriv;
	struct node_public cpub;
	uint8_t nonce[RELAY_NONCE_LEN], frame[RELAY_FRAME_HEADER_LEN + RELAY_SERVER_INFO_LEN];
	struct relay_server_params params = { 0, 0, 1000 }, got;
	struct relay_frame f;

	(void)state;
	server_init(&s);
	server_init(&evil);
	keys_generate(cpriv.b);
	assert_int_equal(node_private_public(&cpub, &cpriv), 0);
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(relay_hs_server_info_write(frame, &s.priv, &cpub, nonce, &params), 0);
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, frame, sizeof(frame), &f), RELAY_OK);
	assert_int_equal(relay_hs_server_info_read(&f, &cpriv, &s.pub, nonce, &got), RELAY_OK);
	assert_int_equal(got.keepalive_ms, 1000);
	assert_int_equal(relay_hs_server_info_read(&f, &cpriv, &evil.pub, nonce, &got),
			 RELAY_E_AUTH);
	nonce[3] ^= 1;
	assert_int_equal(relay_hs_server_info_read(&f, &cpriv, &s.pub, nonce, &got),
			 RELAY_E_CHALLENGE);
	/* A corrupted CLIENT_INFO box. */
	uint8_t ci[RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_LEN];
	struct node_public client;
	struct relay_client_info info;
	assert_int_equal(
		relay_hs_client_info_write(ci, &cpriv, &s.pub, s.challenge, 0, NULL, nonce), 0);
	ci[sizeof(ci) - 1] ^= 0x80;
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, ci, sizeof(ci), &f), RELAY_OK);
	assert_int_equal(relay_hs_client_info_read(&f, &s.priv, &s.pub, s.challenge, NULL, &client,
						   &info, nonce),
			 RELAY_E_AUTH);
	/* The wrong mesh key. */
	uint8_t wrong[KEY_LEN];
	memset(wrong, 0x11, sizeof(wrong));
	assert_int_equal(
		relay_hs_client_info_write(ci, &cpriv, &s.pub, s.challenge, 0, wrong, nonce), 0);
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, ci, sizeof(ci), &f), RELAY_OK);
	assert_int_equal(relay_hs_client_info_read(&f, &s.priv, &s.pub, s.challenge, s.mesh_key,
						   &client, &info, nonce),
			 RELAY_E_MESH);
}

/* A pinned server key that does not match ends the handshake. */
static void test_pin(void **state)
{
	struct server s;
	struct relay_conn_config cfg;
	struct relay_conn *c;
	uint8_t in[RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN];
	struct relay_event ev;
	size_t used;

	(void)state;
	server_init(&s);
	memset(&cfg, 0, sizeof(cfg));
	keys_generate(cfg.key.b);
	cfg.pin_server = true;
	memset(cfg.server_pin.b, 7, KEY_LEN);
	assert_int_equal(relay_conn_new(&cfg, &c), 0);
	relay_hs_server_key_write(in, &s.pub, s.challenge);
	relay_conn_feed(c, in, sizeof(in), 1, &used, &ev);
	assert_int_equal(ev.type, RELAY_EV_ERROR);
	assert_int_equal(ev.verdict, RELAY_E_KEY);
	relay_conn_free(c);
}

/* Every writer's output decodes back to what was written; PING is answered. */
static void test_writers(void **state)
{
	uint8_t b[RELAY_SMALL_FRAME_MAX + RELAY_HEALTH_MAX];
	struct relay_frame f;
	struct node_public k, k2;
	struct netendpoint ep;
	size_t n;

	(void)state;
	memset(k.b, 0x21, KEY_LEN);
	memset(k2.b, 0x42, KEY_LEN);
	assert_int_equal(netendpoint_parse("[2001:db8::5]:443", &ep), 0);

	n = relay_frame_peer_gone(b, &k, RELAY_GONE_NOT_HERE);
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, b, n, &f), RELAY_OK);
	assert_int_equal(f.reason, RELAY_GONE_NOT_HERE);
	assert_memory_equal(f.key.b, k.b, KEY_LEN);

	n = relay_frame_peer_present(b, &k, &ep, RELAY_PRESENT_REGULAR);
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, b, n, &f), RELAY_OK);
	assert_true(netendpoint_eq(&f.ep, &ep));
	assert_int_equal(f.flags, RELAY_PRESENT_REGULAR);

	n = relay_frame_restarting(b, 500, 9000);
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, b, n, &f), RELAY_OK);
	assert_int_equal(f.reconnect_ms, 500);
	assert_int_equal(f.try_for_ms, 9000);

	n = relay_frame_health(b, sizeof(b), "duplicate connection");
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, b, n, &f), RELAY_OK);
	assert_int_equal(f.len, 20);

	n = relay_frame_note_preferred(b, true);
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, b, n, &f), RELAY_OK);
	assert_true(f.preferred);
	n = relay_frame_close_peer(b, &k);
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, b, n, &f), RELAY_OK);
	n = relay_frame_empty(b, RELAY_FRAME_WATCH_CONNS);
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, b, n, &f), RELAY_OK);
	n = relay_frame_empty(b, RELAY_FRAME_KEEPALIVE);
	assert_int_equal(decode_one(RELAY_ROLE_CLIENT, b, n, &f), RELAY_OK);

	uint8_t big[RELAY_FORWARD_HEAD_LEN + 3];
	relay_frame_forward_head(big, &k, &k2, 3);
	memcpy(big + RELAY_FORWARD_HEAD_LEN, "abc", 3);
	assert_int_equal(decode_one(RELAY_ROLE_SERVER, big, sizeof(big), &f), RELAY_OK);
	assert_memory_equal(f.key.b, k.b, KEY_LEN);
	assert_memory_equal(f.key2.b, k2.b, KEY_LEN);
	assert_int_equal(f.pkt_len, 3);

	/* A ready client answers PING with PONG by itself. */
	struct relay_conn_config cfg;
	struct relay_conn *c;
	struct relay_event ev;
	uint8_t data[RELAY_PING_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t used, olen;
	memset(&cfg, 0, sizeof(cfg));
	keys_generate(cfg.key.b);
	assert_int_equal(relay_conn_new(&cfg, &c), 0);
	c->state = RELAY_CONN_READY;
	n = relay_frame_ping(b, RELAY_FRAME_PING, data);
	relay_conn_feed(c, b, n, 1, &used, &ev);
	assert_int_equal(ev.type, RELAY_EV_NONE);
	assert_int_equal(used, n);
	const uint8_t *o = relay_conn_output(c, &olen);
	assert_int_equal(olen, n);
	assert_int_equal(o[0], RELAY_FRAME_PONG);
	assert_memory_equal(o + RELAY_FRAME_HEADER_LEN, data, RELAY_PING_LEN);
	/* A data frame before the handshake is over is a protocol error. */
	c->state = RELAY_CONN_SERVER_KEY;
	relay_conn_feed(c, b, n, 1, &used, &ev);
	assert_int_equal(ev.type, RELAY_EV_ERROR);
	assert_int_equal(ev.verdict, RELAY_E_STATE);
	relay_conn_free(c);
}

struct reject {
	const char *name;
	enum relay_role role;
	const char *hex;
	enum relay_verdict want;
};

static void test_rejects(void **state)
{
	static const char k32[] =
		"2121212121212121212121212121212121212121212121212121212121212121";
	static const char z32[] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	char hex[600];
	struct {
		const char *name;
		enum relay_role role;
		const char *fmt;
		const char *arg;
		enum relay_verdict want;
	} rejects[] = {
		{ "unknown type", RELAY_ROLE_SERVER, "7f00000000", NULL, RELAY_E_TYPE },
		{ "type zero", RELAY_ROLE_CLIENT, "0000000000", NULL, RELAY_E_TYPE },
		{ "server frame from client", RELAY_ROLE_SERVER, "0600000000", NULL,
		  RELAY_E_DIRECTION },
		{ "client frame from server", RELAY_ROLE_CLIENT, "1000000000", NULL,
		  RELAY_E_DIRECTION },
		{ "keepalive with payload", RELAY_ROLE_CLIENT, "060000000100", NULL,
		  RELAY_E_LENGTH },
		{ "send without packet", RELAY_ROLE_SERVER, "0400000020%s", k32, RELAY_E_LENGTH },
		{ "send too large", RELAY_ROLE_SERVER, "0400010020", NULL, RELAY_E_LENGTH },
		{ "length 4 GiB", RELAY_ROLE_SERVER, "04ffffffff", NULL, RELAY_E_LENGTH },
		{ "send to zero key", RELAY_ROLE_SERVER, "0400000021%s00", z32, RELAY_E_KEY },
		{ "ping short", RELAY_ROLE_CLIENT, "12000000070102030405060", NULL,
		  RELAY_E_LENGTH },
		{ "note preferred 2", RELAY_ROLE_SERVER, "070000000102", NULL, RELAY_E_FLAGS },
		{ "peer gone reason", RELAY_ROLE_CLIENT, "0800000021%s05", k32, RELAY_E_FLAGS },
		{ "server key magic", RELAY_ROLE_CLIENT,
		  "0100000038"
		  "7765667472000001%s00000000000000000000000000000000",
		  k32, RELAY_E_MAGIC },
		{ "health control char", RELAY_ROLE_CLIENT, "1400000003610a62", NULL,
		  RELAY_E_TEXT },
		{ "health bad utf8", RELAY_ROLE_CLIENT, "1400000002c328", NULL, RELAY_E_TEXT },
		{ "health overlong", RELAY_ROLE_CLIENT, "1400000002c0af", NULL, RELAY_E_TEXT },
		{ "health too long", RELAY_ROLE_CLIENT, "1400000401", NULL, RELAY_E_LENGTH },
		{ "client info short", RELAY_ROLE_SERVER, "020000007b", NULL, RELAY_E_LENGTH },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		uint8_t p[300];
		struct relay_frame f;
		size_t n;

		/* "%s" in the pattern stands for the 32-byte key argument. */
		const char *pct = strstr(rejects[i].fmt, "%s");
		if (pct != NULL && rejects[i].arg != NULL)
			snprintf(hex, sizeof(hex), "%.*s%s%s", (int)(pct - rejects[i].fmt),
				 rejects[i].fmt, rejects[i].arg, pct + 2);
		else
			snprintf(hex, sizeof(hex), "%s", rejects[i].fmt);
		if (strlen(hex) % 2)
			hex[strlen(hex) - 1] = 0; /* "ping short": drop the half byte */
		n = tu_hex(p, sizeof(p), hex);
		enum relay_verdict v = decode_one(rejects[i].role, p, n, &f);
		if (v == RELAY_OK && n == RELAY_FRAME_HEADER_LEN)
			v = RELAY_OK;
		if (v != rejects[i].want)
			fail_msg("%s: got %s, want %s", rejects[i].name, relay_verdict_name(v),
				 relay_verdict_name(rejects[i].want));
	}
}

/* A decoder that failed stays failed; a header split across feeds is fine. */
static void test_decoder_stream(void **state)
{
	struct relay_decoder d;
	struct relay_frame f;
	enum relay_verdict v;
	size_t used;
	uint8_t frames[2 * RELAY_SMALL_FRAME_MAX];
	uint8_t data[RELAY_PING_LEN] = { 9 };

	(void)state;
	size_t n1 = relay_frame_ping(frames, RELAY_FRAME_PING, data);
	size_t n2 = relay_frame_ping(frames + n1, RELAY_FRAME_PONG, data);
	assert_int_equal(relay_decoder_init(&d, RELAY_ROLE_CLIENT), 0);
	assert_int_equal(relay_decoder_feed(&d, frames, 3, &used, &f, &v), RELAY_DEC_MORE);
	assert_int_equal(used, 3);
	assert_int_equal(relay_decoder_feed(&d, frames + 3, n1 + n2 - 3, &used, &f, &v),
			 RELAY_DEC_FRAME);
	assert_int_equal(f.type, RELAY_FRAME_PING);
	assert_int_equal(used, n1 - 3);
	assert_int_equal(relay_decoder_feed(&d, frames + n1, n2, &used, &f, &v), RELAY_DEC_FRAME);
	assert_int_equal(f.type, RELAY_FRAME_PONG);
	uint8_t bad[5] = { 0x7f, 0, 0, 0, 0 };
	assert_int_equal(relay_decoder_feed(&d, bad, 5, &used, &f, &v), RELAY_DEC_ERROR);
	assert_int_equal(relay_decoder_feed(&d, frames, n1, &used, &f, &v), RELAY_DEC_ERROR);
	relay_decoder_fini(&d);
}

static void test_http(void **state)
{
	static const struct {
		const char *name;
		const char *resp;
		enum relay_dec_result r;
		int status;
	} cases[] = {
		{ "ok", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: weft-relay\r\n\r\nX",
		  RELAY_DEC_FRAME, 101 },
		{ "incomplete", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: weft-relay\r\n",
		  RELAY_DEC_MORE, 0 },
		{ "refused", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", RELAY_DEC_ERROR,
		  403 },
		{ "no upgrade header", "HTTP/1.1 101 Switching Protocols\r\n\r\n", RELAY_DEC_ERROR,
		  101 },
		{ "other protocol", "HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n",
		  RELAY_DEC_ERROR, 101 },
		{ "http/1.0", "HTTP/1.0 101 x\r\nUpgrade: weft-relay\r\n\r\n", RELAY_DEC_ERROR, 0 },
		{ "bare LF", "HTTP/1.1 101 x\r\nUpgrade: weft-relay\nX: y\r\n\r\n", RELAY_DEC_ERROR,
		  101 },
		{ "no colon", "HTTP/1.1 101 x\r\nUpgrade weft-relay\r\n\r\n", RELAY_DEC_ERROR,
		  101 },
	};
	size_t used;
	int status;
	enum relay_verdict v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *p = (const uint8_t *)cases[i].resp;
		enum relay_dec_result r =
			relay_http_response_parse(p, strlen(cases[i].resp), &used, &status, &v);
		if (r != cases[i].r || status != cases[i].status)
			fail_msg("%s: got %d status %d", cases[i].name, r, status);
		if (r == RELAY_DEC_FRAME)
			assert_int_equal(used, strlen(cases[i].resp) - 1);
	}
	uint8_t big[RELAY_HTTP_MAX + 10];
	memset(big, 'a', sizeof(big));
	assert_int_equal(relay_http_response_parse(big, sizeof(big), &used, &status, &v),
			 RELAY_DEC_ERROR);
	assert_int_equal(v, RELAY_E_TOO_LONG);
	char req[512];
	assert_true(relay_http_request(req, sizeof(req), "h", "/relay") > 0);
	assert_int_equal(relay_http_request(req, 10, "h", "/relay"), 0);
}

static void test_relaymap(void **state)
{
	struct netmap_relay_node n = { 0 };
	struct netmap_relay_region regions[2] = { { .id = 7 }, { .id = 999 } };
	struct netmap_relaymap m = { regions, 2 };
	struct netendpoint eps[2];
	char url[RELAY_URL_MAX], buf[NETENDPOINT_STRLEN];

	(void)state;
	n.hostname = (char *)"";
	n.ipv4 = (char *)"";
	n.ipv6 = (char *)"";
	assert_int_equal(relay_node_url(&n, true, url, sizeof(url)), -EINVAL);
	assert_int_equal(relay_node_stun_endpoints(&n, eps), 0);
	n.ipv6 = (char *)"2001:db8::3";
	assert_int_equal(relay_node_url(&n, false, url, sizeof(url)), 0);
	assert_string_equal(url, "http://[2001:db8::3]:443/relay");
	n.ipv4 = (char *)"192.0.2.3";
	n.relay_port = 3340;
	assert_int_equal(relay_node_url(&n, false, url, sizeof(url)), 0);
	assert_string_equal(url, "http://192.0.2.3:3340/relay");
	n.hostname = (char *)"relay.example.com";
	assert_int_equal(relay_node_url(&n, true, url, sizeof(url)), 0);
	assert_string_equal(url, "https://relay.example.com:3340/relay");
	assert_int_equal(relay_node_url(&n, true, url, 10), -ENAMETOOLONG);
	assert_int_equal(relay_node_stun_endpoints(&n, eps), 2);
	assert_string_equal(netendpoint_format(&eps[0], buf, sizeof(buf)), "192.0.2.3:3478");
	assert_string_equal(netendpoint_format(&eps[1], buf, sizeof(buf)), "[2001:db8::3]:3478");
	n.ipv4 = (char *)"2001:db8::9"; /* the wrong family is ignored */
	n.stun_port = 3479;
	assert_int_equal(relay_node_stun_endpoints(&n, eps), 1);
	assert_int_equal(eps[0].port, 3479);
	assert_ptr_equal(relay_region_find(&m, 999), &regions[1]);
	assert_null(relay_region_find(&m, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake), cmocka_unit_test(test_server_info_rejects),
		cmocka_unit_test(test_pin),	  cmocka_unit_test(test_writers),
		cmocka_unit_test(test_rejects),	  cmocka_unit_test(test_decoder_stream),
		cmocka_unit_test(test_http),	  cmocka_unit_test(test_relaymap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

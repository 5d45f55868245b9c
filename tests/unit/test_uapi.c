/* SPDX-License-Identifier: ISC */
/*
 * test_uapi: requests exactly as wg(8) v1.0.20210914 sends them for setconf,
 * addconf and set (captured from its socket, keys replaced by fixed test
 * values), the get=1 text, print-then-parse round trips, framing, limits, and
 * every reject with the errno wireguard-go answers.
 */
#include <errno.h>

#include "core/mem.h"
#include "crypto/ct.h"
#include "testutil.h"
#include "wg/uapi.h"

/* Test keys. PRIV clamps to PRIV_CLAMPED. */
#define PRIV "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fff"
#define PRIV_CLAMPED "0002030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f7f"
#define PUB1 "1111111111111111111111111111111111111111111111111111111111111111"
#define PUB2 "2222222222222222222222222222222222222222222222222222222222222222"
#define PSK "3333333333333333333333333333333333333333333333333333333333333333"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static int parse(const char *text, struct uapi_request *req)
{
	size_t consumed = 0;
	int r = uapi_request_parse(text, strlen(text), req, &consumed);

	if (r == 0)
		assert_int_equal(consumed, strlen(text));
	return r;
}

static void assert_prefix(const struct netprefix *p, const char *want)
{
	char buf[NETPREFIX_STRLEN];

	assert_string_equal(netprefix_format(p, buf, sizeof(buf)), want);
}

static void assert_endpoint(const struct netendpoint *e, const char *want)
{
	char buf[NETENDPOINT_STRLEN];

	assert_string_equal(netendpoint_format(e, buf, sizeof(buf)), want);
}

/* wg setconf wg0 FILE (and addconf, which differs only in replace_peers). */
static const char setconf_text[] = "set=1\n"
				   "private_key=" PRIV "\n"
				   "listen_port=51820\n"
				   "fwmark=4660\n"
				   "replace_peers=true\n"
				   "public_key=" PUB1 "\n"
				   "preshared_key=" PSK "\n"
				   "endpoint=192.0.2.1:51820\n"
				   "persistent_keepalive_interval=25\n"
				   "replace_allowed_ips=true\n"
				   "allowed_ip=10.0.0.2/32\n"
				   "allowed_ip=10.1.0.0/16\n"
				   "allowed_ip=fd00::2/128\n"
				   "public_key=" PUB2 "\n"
				   "endpoint=[2001:db8::1]:51821\n"
				   "replace_allowed_ips=true\n"
				   "allowed_ip=0.0.0.0/0\n"
				   "allowed_ip=::/0\n"
				   "\n";

static void test_setconf(void **state)
{
	struct uapi_request req;
	const struct uapi_device_config *c;
	const struct uapi_peer_config *p;

	(void)state;
	assert_int_equal(parse(setconf_text, &req), 0);
	assert_int_equal(req.op, UAPI_OP_SET);
	c = req.config;
	assert_int_equal(c->flags, UAPI_DEVICE_F_PRIVATE_KEY | UAPI_DEVICE_F_LISTEN_PORT |
					   UAPI_DEVICE_F_FWMARK | UAPI_DEVICE_F_REPLACE_PEERS);
	tu_assert_hex(c->private_key.b, KEY_LEN, PRIV_CLAMPED);
	assert_int_equal(c->listen_port, 51820);
	assert_int_equal(c->fwmark, 0x1234);
	assert_int_equal(c->n_peers, 2);
	p = &c->peers[0];
	assert_int_equal(p->flags, UAPI_PEER_F_PRESHARED_KEY | UAPI_PEER_F_ENDPOINT |
					   UAPI_PEER_F_KEEPALIVE | UAPI_PEER_F_REPLACE_ALLOWED_IPS);
	tu_assert_hex(p->public_key.b, KEY_LEN, PUB1);
	tu_assert_hex(p->preshared_key.b, KEY_LEN, PSK);
	assert_endpoint(&p->endpoint, "192.0.2.1:51820");
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(p->n_allowed_ips, 3);
	assert_prefix(&p->allowed_ips[0], "10.0.0.2/32");
	assert_prefix(&p->allowed_ips[1], "10.1.0.0/16");
	assert_prefix(&p->allowed_ips[2], "fd00::2/128");
	p = &c->peers[1];
	assert_int_equal(p->flags, UAPI_PEER_F_ENDPOINT | UAPI_PEER_F_REPLACE_ALLOWED_IPS);
	tu_assert_hex(p->public_key.b, KEY_LEN, PUB2);
	assert_true(ct_is_zero(p->preshared_key.b, KEY_LEN));
	assert_endpoint(&p->endpoint, "[2001:db8::1]:51821");
	assert_int_equal(p->n_allowed_ips, 2);
	assert_prefix(&p->allowed_ips[0], "0.0.0.0/0");
	assert_prefix(&p->allowed_ips[1], "::/0");
	uapi_device_config_free(req.config);
}

static void test_set(void **state)
{
	/* wg set wg0 listen-port 0 fwmark off private-key /dev/null peer PUB1 remove */
	static const char remove_text[] = "set=1\n"
					  "private_key=" ZERO "\n"
					  "listen_port=0\n"
					  "fwmark=0\n"
					  "public_key=" PUB1 "\n"
					  "remove=true\n"
					  "\n";
	/*
	 * wg set wg0 peer PUB2 allowed-ips 10.9.0.1/24,fd00::/64 persistent-keepalive off
	 *   endpoint 192.0.2.9:5 preshared-key /dev/null
	 */
	static const char peer_text[] = "set=1\n"
					"public_key=" PUB2 "\n"
					"preshared_key=" ZERO "\n"
					"endpoint=192.0.2.9:5\n"
					"persistent_keepalive_interval=0\n"
					"replace_allowed_ips=true\n"
					"allowed_ip=10.9.0.1/24\n"
					"allowed_ip=fd00::/64\n"
					"\n";
	/* wg set wg0 peer PUB2 allowed-ips "" */
	static const char clear_text[] = "set=1\n"
					 "public_key=" PUB2 "\n"
					 "replace_allowed_ips=true\n"
					 "\n";
	struct uapi_request req;
	const struct uapi_device_config *c;

	(void)state;
	assert_int_equal(parse(remove_text, &req), 0);
	c = req.config;
	assert_int_equal(c->flags, UAPI_DEVICE_F_PRIVATE_KEY | UAPI_DEVICE_F_LISTEN_PORT |
					   UAPI_DEVICE_F_FWMARK);
	assert_true(ct_is_zero(c->private_key.b, KEY_LEN)); /* zero stays zero: no clamping */
	assert_int_equal(c->listen_port, 0);
	assert_int_equal(c->n_peers, 1);
	assert_int_equal(c->peers[0].flags, UAPI_PEER_F_REMOVE);
	uapi_device_config_free(req.config);

	assert_int_equal(parse(peer_text, &req), 0);
	c = req.config;
	assert_int_equal(c->flags, 0);
	assert_int_equal(c->peers[0].flags, UAPI_PEER_F_PRESHARED_KEY | UAPI_PEER_F_ENDPOINT |
						    UAPI_PEER_F_KEEPALIVE |
						    UAPI_PEER_F_REPLACE_ALLOWED_IPS);
	assert_true(ct_is_zero(c->peers[0].preshared_key.b, KEY_LEN));
	assert_int_equal(c->peers[0].persistent_keepalive_interval, 0);
	assert_prefix(&c->peers[0].allowed_ips[0], "10.9.0.0/24"); /* host bits masked */
	assert_prefix(&c->peers[0].allowed_ips[1], "fd00::/64");
	uapi_device_config_free(req.config);

	assert_int_equal(parse(clear_text, &req), 0);
	assert_int_equal(req.config->peers[0].flags, UAPI_PEER_F_REPLACE_ALLOWED_IPS);
	assert_int_equal(req.config->peers[0].n_allowed_ips, 0);
	uapi_device_config_free(req.config);
}

/* Keys wg(8) never sends but the protocol has, and a key given in two sections. */
static void test_set_other(void **state)
{
	static const char text[] = "set=1\n"
				   "public_key=" PUB1 "\n"
				   "update_only=true\n"
				   "protocol_version=1\n"
				   "endpoint=[::ffff:192.0.2.1]:7\n"
				   "allowed_ip=::ffff:192.0.2.0/120\n"
				   "allowed_ip=10.0.0.0/8\n"
				   "allowed_ip=10.0.0.0/8\n"
				   "public_key=" PUB1 "\n"
				   "endpoint=192.0.2.2:8\n"
				   "\n";
	struct uapi_request req;
	const struct uapi_device_config *c;

	(void)state;
	assert_int_equal(parse(text, &req), 0);
	c = req.config;
	assert_int_equal(c->n_peers, 2);
	assert_int_equal(c->peers[0].flags, UAPI_PEER_F_UPDATE_ONLY | UAPI_PEER_F_ENDPOINT);
	assert_endpoint(&c->peers[0].endpoint, "[::ffff:192.0.2.1]:7");
	assert_int_equal(c->peers[0].n_allowed_ips, 3);
	assert_prefix(&c->peers[0].allowed_ips[0], "::ffff:192.0.2.0/120");
	assert_endpoint(&c->peers[1].endpoint, "192.0.2.2:8");
	uapi_device_config_free(req.config);
}

static struct uapi_peer_info peer_info(const char *pubhex, const struct wg_psk *psk,
				       const char *endpoint, const struct netprefix *aips, size_t n)
{
	struct uapi_peer_info p = { .preshared_key = psk, .allowed_ips = aips, .n_allowed_ips = n };

	assert_int_equal(keys_hex_decode(p.public_key.b, pubhex), 0);
	if (endpoint != NULL)
		assert_int_equal(netendpoint_parse(endpoint, &p.endpoint), 0);
	return p;
}

static void test_get(void **state)
{
	static const char want[] = "private_key=" PRIV_CLAMPED "\n"
				   "listen_port=51820\n"
				   "fwmark=4660\n"
				   "public_key=" PUB1 "\n"
				   "preshared_key=" PSK "\n"
				   "protocol_version=1\n"
				   "endpoint=[2001:db8::1]:51821\n"
				   "last_handshake_time_sec=1700000000\n"
				   "last_handshake_time_nsec=999999999\n"
				   "tx_bytes=18446744073709551615\n"
				   "rx_bytes=2000\n"
				   "persistent_keepalive_interval=25\n"
				   "allowed_ip=10.0.0.2/32\n"
				   "allowed_ip=fd00::2/128\n"
				   "public_key=" PUB2 "\n"
				   "preshared_key=" ZERO "\n"
				   "protocol_version=1\n"
				   "last_handshake_time_sec=0\n"
				   "last_handshake_time_nsec=0\n"
				   "tx_bytes=0\n"
				   "rx_bytes=0\n"
				   "persistent_keepalive_interval=0\n"
				   "errno=0\n"
				   "\n";
	struct netprefix aips[2];
	struct node_private priv;
	struct wg_psk psk;
	struct uapi_peer_info peers[2];
	struct uapi_device_info d = { .private_key = &priv,
				      .listen_port = 51820,
				      .fwmark = 0x1234,
				      .peers = peers,
				      .n_peers = 2 };
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(keys_hex_decode(priv.b, PRIV_CLAMPED), 0);
	assert_int_equal(keys_hex_decode(psk.b, PSK), 0);
	assert_int_equal(netprefix_parse("10.0.0.2/32", &aips[0]), 0);
	assert_int_equal(netprefix_parse("fd00::2/128", &aips[1]), 0);
	peers[0] = peer_info(PUB1, &psk, "[2001:db8::1]:51821", aips, 2);
	peers[0].last_handshake_sec = 1700000000;
	peers[0].last_handshake_nsec = 999999999;
	peers[0].tx_bytes = UINT64_MAX;
	peers[0].rx_bytes = 2000;
	peers[0].persistent_keepalive_interval = 25;
	peers[1] = peer_info(PUB2, NULL, NULL, NULL, 0);
	assert_int_equal(uapi_get_format(&d, &text, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(text, want);
	uapi_text_free(text, len);

	/* A fresh device: no key, no port, no peers. */
	struct uapi_device_info empty = { 0 };
	assert_int_equal(uapi_get_format(&empty, &text, &len), 0);
	assert_string_equal(text, "errno=0\n\n");
	uapi_text_free(text, len);
}

/*
 * Print a device, turn the text into the set request `wg showconf | wg
 * setconf` would make of it (keep the keys set accepts), parse that, and
 * compare with what was printed.
 */
static void test_roundtrip(void **state)
{
	static const char *const settable[] = { "private_key=",
						"listen_port=",
						"fwmark=",
						"public_key=",
						"preshared_key=",
						"endpoint=",
						"persistent_keepalive_interval=",
						"allowed_ip=",
						"protocol_version=" };
	struct netprefix aips[3];
	struct node_private priv;
	struct wg_psk psk;
	struct uapi_peer_info peers[2];
	struct uapi_device_info d = { .private_key = &priv,
				      .listen_port = 1,
				      .fwmark = 0xffffffff,
				      .peers = peers,
				      .n_peers = 2 };
	struct uapi_request req;
	char *text, *line, *save = NULL;
	char set[4096] = "set=1\n";
	size_t len;

	(void)state;
	assert_int_equal(keys_hex_decode(priv.b, PRIV_CLAMPED), 0);
	assert_int_equal(keys_hex_decode(psk.b, PSK), 0);
	assert_int_equal(netprefix_parse("0.0.0.0/0", &aips[0]), 0);
	assert_int_equal(netprefix_parse("::/0", &aips[1]), 0);
	assert_int_equal(netprefix_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128", &aips[2]),
			 0);
	peers[0] = peer_info(PUB1, &psk, "255.255.255.255:65535", aips, 3);
	peers[0].persistent_keepalive_interval = 65535;
	peers[0].tx_bytes = 5;
	peers[1] =
		peer_info(PUB2, NULL, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:0", NULL, 0);
	assert_int_equal(uapi_get_format(&d, &text, &len), 0);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++) {
			if (strncmp(line, settable[i], strlen(settable[i])) == 0) {
				strcat(set, line);
				strcat(set, "\n");
			}
		}
	}
	strcat(set, "\n");
	uapi_text_free(text, len);
	assert_int_equal(parse(set, &req), 0);
	assert_memory_equal(req.config->private_key.b, priv.b, KEY_LEN);
	assert_int_equal(req.config->listen_port, d.listen_port);
	assert_int_equal(req.config->fwmark, d.fwmark);
	assert_int_equal(req.config->n_peers, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct uapi_peer_config *p = &req.config->peers[i];
		assert_memory_equal(p->public_key.b, peers[i].public_key.b, KEY_LEN);
		assert_true(netendpoint_eq(&p->endpoint, &peers[i].endpoint));
		assert_int_equal(p->persistent_keepalive_interval,
				 peers[i].persistent_keepalive_interval);
		assert_int_equal(p->n_allowed_ips, peers[i].n_allowed_ips);
		for (size_t j = 0; j < p->n_allowed_ips; j++)
			assert_true(netprefix_eq(&p->allowed_ips[j], &peers[i].allowed_ips[j]));
	}
	assert_memory_equal(req.config->peers[0].preshared_key.b, psk.b, KEY_LEN);
	uapi_device_config_free(req.config);
	mem_wipe(set, sizeof(set));
}

struct reject {
	const char *text; /* one request */
	int err;
	const char *why; /* uapi_parser_error's message */
};

static void test_rejects(void **state)
{
	static const struct reject rejects[] = {
		{ "hello\n", -EPROTO, "line 1: expected get=1 or set=1" },
		{ "\n", -EPROTO, "line 1: expected get=1 or set=1" },
		{ "GET=1\n\n", -EPROTO, "line 1: expected get=1 or set=1" },
		{ "get=1 \n\n", -EPROTO, "line 1: expected get=1 or set=1" },
		{ "get=1\nx\n", -EINVAL, "line 2: get=1 takes no keys" },
		{ "set=1\nbogus\n\n", -EPROTO, "line 2: expected key=value" },
		{ "set=1\nfoo=1\n\n", -EINVAL, "line 2: unknown key" },
		{ "set=1\n=\n\n", -EINVAL, "line 2: unknown key" },
		{ "set=1\nLISTEN_PORT=5\n\n", -EINVAL, "line 2: unknown key" },
		{ "set=1\nlisten_port=abc\n\n", -EINVAL,
		  "line 2: listen_port: not a number in 0-65535" },
		{ "set=1\nlisten_port=+5\n\n", -EINVAL, NULL },
		{ "set=1\nlisten_port=-1\n\n", -EINVAL, NULL },
		{ "set=1\nlisten_port=\n\n", -EINVAL, NULL },
		{ "set=1\nlisten_port=65536\n\n", -EINVAL, NULL },
		{ "set=1\nlisten_port=5 \n\n", -EINVAL, NULL },
		{ "set=1\nlisten_port=5\nlisten_port=6\n\n", -EINVAL,
		  "line 3: listen_port: given twice in one section" },
		{ "set=1\nfwmark=4294967296\n\n", -EINVAL, NULL },
		{ "set=1\nfwmark=0x10\n\n", -EINVAL, NULL },
		{ "set=1\nreplace_peers=false\n\n", -EINVAL,
		  "line 2: replace_peers: the only value is true" },
		{ "set=1\nprivate_key=AB\n\n", -EINVAL, "line 2: private_key: not 64 hex digits" },
		{ "set=1\nprivate_key=" PUB1 "1\n\n", -EINVAL, NULL },
		{ "set=1\nprivate_key=zz" PUB1 "\n\n", -EINVAL, NULL },
		{ "set=1\nprivate_key=" PUB1 " \n\n", -EINVAL, NULL },
		{ "set=1\nallowed_ip=1.2.3.0/24\n\n", -EINVAL,
		  "line 2: allowed_ip: peer key before the first public_key" },
		{ "set=1\nremove=true\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=\n\n", -EINVAL, "line 2: public_key: not 64 hex digits" },
		{ "set=1\npublic_key=" PUB1 "\nlisten_port=5\n\n", -EINVAL,
		  "line 3: listen_port: device key after a public_key" },
		{ "set=1\npublic_key=" PUB1 "\nprotocol_version=2\n\n", -EINVAL,
		  "line 3: protocol_version: the only version is 1" },
		{ "set=1\npublic_key=" PUB1 "\nremove=1\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nupdate_only=yes\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nreplace_allowed_ips=True\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\npreshared_key=" PUB1 "0\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=[fe80::1%eth0]:5\n\n", -EINVAL,
		  "line 3: endpoint: not ip:port or [ipv6]:port" },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=1.2.3.4\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=[1.2.3.4]:5\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=host:5\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=1.2.3.4:65536\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=2001:db8::1:5\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nendpoint=1.2.3.4:5\nendpoint=1.2.3.4:6\n\n", -EINVAL,
		  NULL },
		{ "set=1\npublic_key=" PUB1 "\npersistent_keepalive_interval=65536\n\n", -EINVAL,
		  NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=10.0.0.1\n\n", -EINVAL,
		  "line 3: allowed_ip: not an address/bits prefix" },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=10.0.0.0/33\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=10.0.0.0/08\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=10.0.0.0/\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=/8\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=::/129\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=-10.0.0.0/8\n\n", -EINVAL, NULL },
		{ "set=1\npublic_key=" PUB1 "\nallowed_ip=fe80::/64%eth0\n\n", -EINVAL, NULL },
	};
	struct uapi_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		const struct reject *r = &rejects[i];
		struct uapi_parser *p;
		size_t off = 0;
		int got = UAPI_MORE;

		assert_int_equal(parse(r->text, &req), r->err);
		/* The same through the line interface, for the message. */
		assert_int_equal(uapi_parser_new(&p), 0);
		while (got == UAPI_MORE) {
			const char *nl = strchr(r->text + off, '\n');
			assert_non_null(nl);
			got = uapi_parser_line(p, r->text + off, (size_t)(nl - r->text - off),
					       &req);
			off = (size_t)(nl - r->text) + 1;
		}
		if (got != r->err)
			fail_msg("reject %zu: got %d want %d", i, got, r->err);
		if (r->why != NULL)
			assert_string_equal(uapi_parser_error(p), r->why);
		/* The error latches. */
		assert_int_equal(uapi_parser_line(p, "get=1", 5, &req), r->err);
		uapi_parser_free(p);
	}
}

static void test_framing(void **state)
{
	struct uapi_parser *p;
	struct uapi_request req;
	char buf[UAPI_LINE_MAX + 16];
	size_t consumed;

	(void)state;
	assert_int_equal(uapi_parser_new(&p), 0);
	assert_string_equal(uapi_parser_error(p), "no error");
	/* Two requests on one connection, CRLF tolerated as by wireguard-go. */
	assert_int_equal(uapi_parser_line(p, "get=1\r", 6, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, "\r", 1, &req), UAPI_DONE);
	assert_int_equal(req.op, UAPI_OP_GET);
	assert_null(req.config);
	assert_int_equal(uapi_parser_line(p, "set=1", 5, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, "listen_port=7\r", 14, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, "", 0, &req), UAPI_DONE);
	assert_int_equal(req.op, UAPI_OP_SET);
	assert_int_equal(req.config->listen_port, 7);
	uapi_device_config_free(req.config);
	/* A NUL inside a line, and a line one byte too long. */
	assert_int_equal(uapi_parser_line(p, "set=1", 5, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, "listen_port=7\0x", 15, &req), -EINVAL);
	assert_string_equal(uapi_parser_error(p), "line 2: NUL byte in line");
	uapi_parser_free(p);
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(uapi_parser_new(&p), 0);
	assert_int_equal(uapi_parser_line(p, "set=1", 5, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, buf, UAPI_LINE_MAX + 1, &req), -EIO);
	uapi_parser_free(p);

	/* Whole-buffer parsing: incomplete, complete with more after it, runaway line. */
	assert_int_equal(parse("set=1\nlisten_port=5\n", &req), -EAGAIN);
	assert_int_equal(parse("set=1\nlisten_port=5", &req), -EAGAIN);
	assert_int_equal(parse("", &req), -EAGAIN);
	assert_int_equal(uapi_request_parse("get=1\n\nset=1\n", 13, &req, &consumed), 0);
	assert_int_equal(consumed, 7);
	memcpy(buf, "set=1\n", 6);
	assert_int_equal(uapi_request_parse(buf, sizeof(buf), &req, &consumed), -EIO);
	uapi_parser_free(NULL);
	uapi_device_config_free(NULL);
	uapi_text_free(NULL, 0);
}

static void test_limits(void **state)
{
	static const char aip[] = "allowed_ip=10.0.0.0/8";
	struct uapi_parser *p;
	struct uapi_request req;
	char line[128];
	int r = UAPI_MORE;

	(void)state;
	assert_int_equal(uapi_parser_new(&p), 0);
	assert_int_equal(uapi_parser_line(p, "set=1", 5, &req), UAPI_MORE);
	for (unsigned i = 0; i <= UAPI_MAX_PEERS && r == UAPI_MORE; i++) {
		snprintf(line, sizeof(line), "public_key=%064x", i);
		r = uapi_parser_line(p, line, strlen(line), &req);
	}
	assert_int_equal(r, -E2BIG);
	assert_string_equal(uapi_parser_error(p),
			    "line 65538: public_key: too many peers in one request");
	uapi_parser_free(p);

	assert_int_equal(uapi_parser_new(&p), 0);
	assert_int_equal(uapi_parser_line(p, "set=1", 5, &req), UAPI_MORE);
	assert_int_equal(uapi_parser_line(p, "public_key=" PUB1, 75, &req), UAPI_MORE);
	r = UAPI_MORE;
	for (unsigned i = 0; i <= UAPI_MAX_ALLOWED_IPS && r == UAPI_MORE; i++) {
		if (i == UAPI_MAX_ALLOWED_IPS / 2) /* the limit is per request, not per peer */
			assert_int_equal(uapi_parser_line(p, "public_key=" PUB2, 75, &req),
					 UAPI_MORE);
		r = uapi_parser_line(p, aip, sizeof(aip) - 1, &req);
	}
	assert_int_equal(r, -E2BIG);
	uapi_parser_free(p);
}

static void test_errno_format(void **state)
{
	char out[UAPI_ERRNO_TEXT_MAX];

	(void)state;
	assert_int_equal(uapi_errno_format(out, 0), 9);
	assert_string_equal(out, "errno=0\n\n");
	uapi_errno_format(out, -EINVAL);
	assert_string_equal(out, "errno=-22\n\n");
	uapi_errno_format(out, -2147483647 - 1);
	assert_string_equal(out, "errno=-2147483648\n\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setconf),	     cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_other),    cmocka_unit_test(test_get),
		cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_framing),	     cmocka_unit_test(test_limits),
		cmocka_unit_test(test_errno_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

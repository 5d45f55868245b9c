/* SPDX-License-Identifier: ISC */
/*
 * fuzz_relay_proto: a hostile byte stream against the relay decoders. The
 * first byte picks the role and a split size; the stream then goes through
 * the incremental frame decoder in pieces, every CLIENT_INFO through the
 * server's handshake check, and the whole input through a client
 * relay_conn (HTTP upgrade first) and the HTTP response parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay/relay_conn.h"
#include "relay/relay_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_decoder dec;
	static int ready;
	static struct relay_private spriv;
	static struct relay_public spub;
	uint8_t challenge[RELAY_CHALLENGE_LEN] = { 0 }, mesh[KEY_LEN] = { 0 };

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(spriv.b, 3, KEY_LEN);
		if (keys_public(spub.b, spriv.b) != 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	enum relay_role role = data[0] & 1 ? RELAY_ROLE_CLIENT : RELAY_ROLE_SERVER;
	size_t split = 1 + (data[0] >> 1);
	const uint8_t *p = data + 1;
	size_t n = size - 1, off = 0;

	if (relay_decoder_init(&dec, role) != 0)
		abort();
	while (off < n) {
		size_t chunk = n - off < split ? n - off : split, used = 0;
		struct relay_frame f;
		enum relay_verdict v;
		enum relay_dec_result r = relay_decoder_feed(&dec, p + off, chunk, &used, &f, &v);
		if (used > chunk)
			abort();
		off += used;
		if (r == RELAY_DEC_ERROR)
			break;
		if (r == RELAY_DEC_FRAME && f.type == RELAY_FRAME_CLIENT_INFO) {
			struct node_public client;
			struct relay_client_info info;
			uint8_t nonce[RELAY_NONCE_LEN];
			(void)relay_hs_client_info_read(&f, &spriv, &spub, challenge, mesh, &client,
							&info, nonce);
		}
		if (r == RELAY_DEC_MORE && used == 0)
			abort(); /* no progress */
	}
	relay_decoder_fini(&dec);

	/* The whole input as a server's answer to a client. */
	struct relay_conn_config cfg;
	struct relay_conn *c;
	memset(&cfg, 0, sizeof(cfg));
	memset(cfg.key.b, 5, KEY_LEN);
	cfg.http = data[0] & 2;
	if (relay_conn_new(&cfg, &c) != 0)
		abort();
	off = 0;
	while (off < n) {
		struct relay_event ev;
		size_t used;
		relay_conn_feed(c, p + off, n - off, 1, &used, &ev);
		off += used;
		if (ev.type == RELAY_EV_ERROR || (ev.type == RELAY_EV_NONE && used == 0))
			break;
	}
	relay_conn_free(c);

	size_t used;
	int status;
	enum relay_verdict v;
	(void)relay_http_response_parse(p, n, &used, &status, &v);
	if (used > n)
		abort();
	return 0;
}

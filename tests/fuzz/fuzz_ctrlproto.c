/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ctrlproto: hostile control-protocol input. The first byte picks the
 * target: 0 raw bytes into the map-stream decoder; 1 the rest sealed as frame
 * plaintext and fed back in chunks sized by byte 2; 2 the rest sealed as a
 * request body and decoded as each message type; 3 the rest as a register
 * response. Sealing with a fixed key reaches the parsers behind the MAC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t nonce[CTRL_REQ_NONCE_LEN] = { 1, 2, 3 };

static void fuzz_stream(const struct ctrl_box *box, const uint8_t *p, size_t n, size_t chunk)
{
	struct ctrl_stream *s;
	struct ctrl_frame f;
	struct jsonx_err err;
	size_t off = 0, used;
	int r = 0;

	if (ctrl_stream_new(box, nonce, 1 << 16, &s) < 0)
		abort();
	while (off < n && r >= 0) {
		size_t len = n - off < chunk ? n - off : chunk;
		r = ctrl_stream_feed(s, p + off, len, &used, &f, &err);
		if (used > len)
			abort();
		off += used;
		if (r == 1)
			json_decref(f.json);
		if (r == 0 && used != len)
			abort();
	}
	ctrl_stream_free(s);
}

static void fuzz_frame(const struct ctrl_box *box, const uint8_t *p, size_t n, size_t chunk)
{
	struct buf_writer w;

	buf_writer_growable(&w, 1 << 20);
	/* a frame whose plaintext is Seq/ReqNonce/Type followed by the fuzz bytes */
	if (ctrl_frame_write(box, 1, nonce, CTRL_FRAME_DELTA, p, n, &w) == 0)
		fuzz_stream(box, w.p, w.len, chunk);
	buf_writer_free(&w);
}

static void fuzz_request(const struct ctrl_box *box, const uint8_t *p, size_t n)
{
	struct ctrl_register_request rr;
	struct ctrl_map_request mr;
	struct ctrl_logout_request lr;
	struct ctrl_envelope env;
	struct jsonx_err err;
	struct buf_writer w;
	json_t *body;

	buf_writer_growable(&w, 1 << 21);
	if (ctrl_box_seal(box, p, n, &w) < 0)
		abort();
	for (int op = CTRL_OP_REGISTER; op <= CTRL_OP_LOGOUT; op++) {
		if (ctrl_request_open(box, (enum ctrl_op)op, w.p, w.len, 1700000000000000000LL, &env,
				      &body, &err) < 0)
			continue;
		if (ctrl_register_request_decode(body, &rr, &err) == 0)
			ctrl_register_request_wipe(&rr);
		(void)!ctrl_map_request_decode(body, &mr, &err);
		(void)!ctrl_logout_request_decode(body, &lr, &err);
		json_decref(body);
	}
	buf_writer_free(&w);
}

static void fuzz_response(const uint8_t *p, size_t n)
{
	struct ctrl_register_response rs;
	struct jsonx_err err;
	struct buf_writer w;
	json_t *v;

	if (jsonx_load(p, n, &v, &err) < 0)
		return;
	if (ctrl_register_response_decode(v, &rs, &err) == 0) {
		buf_writer_growable(&w, 1 << 22);
		if (ctrl_register_response_write(&w, &rs) < 0)
			abort();
		buf_writer_free(&w);
		ctrl_register_response_clear(&rs);
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctrl_box box;

	if (size < 2)
		return 0;
	memset(box.k, 0x42, sizeof(box.k));
	switch (data[0] & 3) {
	case 0:
		fuzz_stream(&box, data + 1, size - 1, 1 + data[1] % 64);
		break;
	case 1:
		fuzz_frame(&box, data + 2, size - 2, 1 + data[1] % 97);
		break;
	case 2:
		fuzz_request(&box, data + 1, size - 1);
		break;
	default:
		fuzz_response(data + 1, size - 1);
		break;
	}
	return 0;
}

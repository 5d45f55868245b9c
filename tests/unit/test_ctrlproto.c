/* SPDX-License-Identifier: ISC */
/*
 * test_ctrlproto: boxes (round trip, every flipped byte, truncation), the
 * request envelope (op binding, version, clock skew), the replay cache
 * (replay, eviction watermark, ageing), frames through the stream decoder in
 * every chunking (split reads, Seq gaps, foreign ReqNonce, bad lengths), and
 * the typed messages (round trips, unknown fields).
 */
#include <errno.h>

#include "core/buf.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"
#include "testutil.h"

#define NOW 1700000000000000000LL
#define SEC 1000000000LL

struct pair {
	struct machine_private node_priv, server_priv;
	struct machine_public node_pub, server_pub;
	struct ctrl_box node, server;
};

static void mkpair(struct pair *p)
{
	keys_generate(p->node_priv.b);
	keys_generate(p->server_priv.b);
	assert_int_equal(machine_private_public(&p->node_pub, &p->node_priv), 0);
	assert_int_equal(machine_private_public(&p->server_pub, &p->server_priv), 0);
	assert_int_equal(ctrl_box_init(&p->node, &p->node_priv, &p->server_pub), 0);
	assert_int_equal(ctrl_box_init(&p->server, &p->server_priv, &p->node_pub), 0);
}

static void test_box(void **state)
{
	struct pair p;
	struct buf_writer w;
	struct machine_public zero = { 0 };
	struct ctrl_box bad;
	uint8_t *plain;
	size_t plen;

	(void)state;
	mkpair(&p);
	assert_memory_equal(p.node.k, p.server.k, 32);
	assert_int_equal(ctrl_box_init(&bad, &p.node_priv, &zero), -EINVAL);
	buf_writer_growable(&w, 4096);
	assert_int_equal(ctrl_box_seal(&p.node, "hello", 5, &w), 0);
	assert_int_equal(w.len, 5 + CTRL_SEAL_OVERHEAD);
	assert_int_equal(ctrl_box_open(&p.server, w.p, w.len, &plain, &plen), 0);
	assert_int_equal(plen, 5);
	assert_string_equal((char *)plain, "hello");
	free(plain);
	for (size_t i = 0; i < w.len; i++) {
		w.p[i] ^= 0x20;
		assert_int_equal(ctrl_box_open(&p.server, w.p, w.len, &plain, &plen), -EBADMSG);
		w.p[i] ^= 0x20;
	}
	for (size_t n = 0; n < CTRL_SEAL_OVERHEAD; n++)
		assert_int_equal(ctrl_box_open(&p.server, w.p, n, &plain, &plen), -EMSGSIZE);
	assert_int_equal(ctrl_box_open(&p.server, w.p, w.len - 1, &plain, &plen), -EBADMSG);
	buf_writer_free(&w);
}

static json_t *sealed_request(struct pair *p, enum ctrl_op op, int64_t ts,
			      struct ctrl_envelope *env, uint8_t **out, size_t *len)
{
	struct ctrl_logout_request lo = { 0 };
	json_t *body;

	lo.node_key.b[0] = 1;
	assert_int_equal(ctrl_logout_request_encode(&lo, &body), 0);
	assert_int_equal(ctrl_request_seal(&p->node, op, body, ts, env, out, len), 0);
	return body;
}

static void test_request(void **state)
{
	struct ctrl_envelope env, got;
	struct ctrl_logout_request lo;
	struct jsonx_err err;
	struct pair p;
	uint8_t *out;
	size_t len;
	json_t *body;

	(void)state;
	mkpair(&p);
	json_decref(sealed_request(&p, CTRL_OP_LOGOUT, NOW, &env, &out, &len));
	assert_int_equal(ctrl_request_open(&p.server, CTRL_OP_LOGOUT, out, len, NOW + 5 * SEC, &got,
					   &body, &err),
			 0);
	assert_memory_equal(got.nonce, env.nonce, CTRL_REQ_NONCE_LEN);
	assert_int_equal(got.timestamp_ns, NOW);
	assert_int_equal(ctrl_logout_request_decode(body, &lo, &err), 0);
	assert_int_equal(lo.node_key.b[0], 1);
	json_decref(body);
	/* bound to its op: a logout body sent to /map is refused */
	assert_int_equal(ctrl_request_open(&p.server, CTRL_OP_MAP, out, len, NOW, &got, &body, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "Op: must be \"map\" for this URL");
	/* clock skew */
	assert_int_equal(ctrl_request_open(&p.server, CTRL_OP_LOGOUT, out, len, NOW + 121 * SEC,
					   &got, &body, &err),
			 -ESTALE);
	assert_int_equal(ctrl_request_open(&p.server, CTRL_OP_LOGOUT, out, len, NOW - 121 * SEC,
					   &got, &body, &err),
			 -ESTALE);
	/* tampered */
	out[len - 1] ^= 1;
	assert_int_equal(ctrl_request_open(&p.server, CTRL_OP_LOGOUT, out, len, NOW, &got, &body,
					   &err),
			 -EBADMSG);
	free(out);
}

/* Seals arbitrary JSON text as a request body. */
static int open_text(struct pair *p, const char *text, json_t **body, struct jsonx_err *err)
{
	struct ctrl_envelope env;
	struct buf_writer w;
	int r;

	buf_writer_growable(&w, 1 << 20);
	assert_int_equal(ctrl_box_seal(&p->node, text, strlen(text), &w), 0);
	r = ctrl_request_open(&p->server, CTRL_OP_MAP, w.p, w.len, NOW, &env, body, err);
	buf_writer_free(&w);
	return r;
}

static void test_request_rejects(void **state)
{
	static const struct {
		const char *text;
		int r;
	} cases[] = {
		{ "{\"Version\":2,\"Op\":\"map\",\"Timestamp\":1700000000000000000,\"Nonce\":"
		  "\"00112233445566778899aabbccddeeff\"}",
		  -EPROTONOSUPPORT },
		{ "{\"Op\":\"map\",\"Timestamp\":1700000000000000000,\"Nonce\":"
		  "\"00112233445566778899aabbccddeeff\"}",
		  -EINVAL },
		{ "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":1700000000000000000,\"Nonce\":"
		  "\"0011\"}",
		  -EINVAL },
		{ "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":-9223372036854775808,\"Nonce\":"
		  "\"00112233445566778899aabbccddeeff\"}",
		  -ESTALE },
		{ "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":\"now\",\"Nonce\":"
		  "\"00112233445566778899aabbccddeeff\"}",
		  -EINVAL },
		{ "[1]", -EINVAL },
		{ "{\"Version\":1,", -EINVAL },
	};
	struct jsonx_err err;
	struct pair p;
	json_t *body;

	(void)state;
	mkpair(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(open_text(&p, cases[i].text, &body, &err), cases[i].r);
	assert_int_equal(open_text(&p,
				   "{\"Version\":1,\"Op\":\"map\",\"Timestamp\":1700000000000000000,"
				   "\"Nonce\":\"00112233445566778899aabbccddeeff\",\"X\":1}",
				   &body, &err),
			 0);
	/* envelope gone, the rest left for the message decoder (which refuses X) */
	assert_int_equal(json_object_size(body), 1);
	json_decref(body);
}

static void test_replay(void **state)
{
	struct ctrl_replay *r;
	struct machine_public a = { { 1 } }, b = { { 2 } };
	struct ctrl_envelope e = { .timestamp_ns = NOW };

	(void)state;
	assert_int_equal(ctrl_replay_new(4, &r), 0);
	e.nonce[0] = 1;
	assert_int_equal(ctrl_replay_check(r, &a, &e, NOW), 0);
	assert_int_equal(ctrl_replay_check(r, &a, &e, NOW + SEC), -EALREADY);
	assert_int_equal(ctrl_replay_check(r, &b, &e, NOW + SEC), 0); /* other machine */
	/* seen: a lookup that records nothing */
	assert_true(ctrl_replay_seen(r, &a, &e));
	e.nonce[0] = 7;
	assert_false(ctrl_replay_seen(r, &a, &e));
	assert_int_equal(ctrl_replay_count(r), 2);
	e.nonce[0] = 1;
	/* fill: the oldest is evicted early and its timestamp becomes the watermark */
	for (int i = 2; i <= 4; i++) {
		e.nonce[0] = (uint8_t)i;
		e.timestamp_ns = NOW + i;
		assert_int_equal(ctrl_replay_check(r, &a, &e, NOW + SEC), 0);
	}
	assert_int_equal(ctrl_replay_count(r), 4);
	e.nonce[0] = 1;
	e.timestamp_ns = NOW; /* the evicted request, replayed */
	assert_int_equal(ctrl_replay_check(r, &a, &e, NOW + SEC), -ESTALE);
	e.nonce[0] = 9;
	e.timestamp_ns = NOW + 10;
	assert_int_equal(ctrl_replay_check(r, &a, &e, NOW + SEC), 0);
	/* after the window everything ages out */
	e.nonce[0] = 10;
	e.timestamp_ns = NOW + 300 * SEC;
	assert_int_equal(ctrl_replay_check(r, &a, &e, NOW + 300 * SEC), 0);
	assert_int_equal(ctrl_replay_count(r), 1);
	ctrl_replay_free(r);
}

/* Three frames: full, delta, keepalive. */
static void write_frames(struct pair *p, const uint8_t *nonce, struct buf_writer *w)
{
	static const char full[] = ",\"Self\":{}";
	static const char delta[] = ",\"PeersRemoved\":[5]";

	assert_int_equal(ctrl_frame_write(&p->server, 1, nonce, CTRL_FRAME_FULL, full,
					  strlen(full), w),
			 0);
	assert_int_equal(ctrl_frame_write(&p->server, 2, nonce, CTRL_FRAME_DELTA, delta,
					  strlen(delta), w),
			 0);
	assert_int_equal(ctrl_frame_write(&p->server, 3, nonce, CTRL_FRAME_KEEPALIVE, NULL, 0, w),
			 0);
}

/* Feeds in chunks of `chunk` bytes; returns the frame types seen, in order. */
static int feed(struct ctrl_stream *s, const uint8_t *p, size_t len, size_t chunk,
		enum ctrl_frame_type *types, size_t *ntypes, struct jsonx_err *err)
{
	struct ctrl_frame f;
	size_t off = 0, used;
	int r = 0;

	*ntypes = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t sub = 0;
		while (sub < n) {
			r = ctrl_stream_feed(s, p + off + sub, n - sub, &used, &f, err);
			if (r < 0)
				return r;
			sub += used;
			if (r == 1) {
				types[(*ntypes)++] = f.type;
				assert_int_equal(json_integer_value(json_object_get(f.json, "Seq")),
						 f.seq);
				json_decref(f.json);
			}
		}
		off += n;
	}
	return 0;
}

static void test_stream(void **state)
{
	uint8_t nonce[CTRL_REQ_NONCE_LEN] = { 7 }, other[CTRL_REQ_NONCE_LEN] = { 8 };
	enum ctrl_frame_type types[8];
	struct ctrl_stream *s;
	struct jsonx_err err;
	struct buf_writer w;
	struct pair p;
	size_t n;

	(void)state;
	mkpair(&p);
	buf_writer_growable(&w, 1 << 20);
	write_frames(&p, nonce, &w);
	for (size_t chunk = 1; chunk <= w.len; chunk += chunk < 50 ? 1 : 37) {
		assert_int_equal(ctrl_stream_new(&p.node, nonce, 0, &s), 0);
		assert_int_equal(feed(s, w.p, w.len, chunk, types, &n, &err), 0);
		assert_int_equal(n, 3);
		assert_int_equal(types[0], CTRL_FRAME_FULL);
		assert_int_equal(types[1], CTRL_FRAME_DELTA);
		assert_int_equal(types[2], CTRL_FRAME_KEEPALIVE);
		assert_int_equal(ctrl_stream_pending(s), 0);
		ctrl_stream_free(s);
	}
	/* another request's frames */
	assert_int_equal(ctrl_stream_new(&p.node, other, 0, &s), 0);
	assert_int_equal(feed(s, w.p, w.len, w.len, types, &n, &err), -EPROTO);
	assert_string_equal(err.msg, "ReqNonce: frame belongs to another request");
	ctrl_stream_free(s);
	/* a tampered frame */
	assert_int_equal(ctrl_stream_new(&p.node, nonce, 0, &s), 0);
	w.p[50] ^= 1;
	assert_int_equal(feed(s, w.p, w.len, w.len, types, &n, &err), -EBADMSG);
	w.p[50] ^= 1;
	ctrl_stream_free(s);
	buf_writer_free(&w);
}

static void test_stream_order(void **state)
{
	uint8_t nonce[CTRL_REQ_NONCE_LEN] = { 7 };
	enum ctrl_frame_type types[8];
	struct ctrl_stream *s;
	struct jsonx_err err;
	struct buf_writer w;
	struct pair p;
	size_t n;

	(void)state;
	mkpair(&p);
	buf_writer_growable(&w, 1 << 20);
	/* 1 then 3: a gap */
	assert_int_equal(ctrl_frame_write(&p.server, 1, nonce, CTRL_FRAME_KEEPALIVE, NULL, 0, &w), 0);
	assert_int_equal(ctrl_frame_write(&p.server, 3, nonce, CTRL_FRAME_KEEPALIVE, NULL, 0, &w), 0);
	assert_int_equal(ctrl_stream_new(&p.node, nonce, 0, &s), 0);
	assert_int_equal(feed(s, w.p, w.len, w.len, types, &n, &err), -EPROTO);
	assert_string_equal(err.msg, "Seq: expected 2 (frames lost, replayed or reordered)");
	ctrl_stream_free(s);
	/* length out of bounds: too small, above the stream's maximum */
	static const uint8_t tiny[] = { 0, 0, 0, 41 }, huge[] = { 0, 0, 1, 0 };
	assert_int_equal(ctrl_stream_new(&p.node, nonce, 200, &s), 0);
	assert_int_equal(feed(s, tiny, 4, 4, types, &n, &err), -EMSGSIZE);
	ctrl_stream_free(s);
	assert_int_equal(ctrl_stream_new(&p.node, nonce, 200, &s), 0);
	assert_int_equal(feed(s, huge, 4, 1, types, &n, &err), -EMSGSIZE);
	/* dead after an error */
	assert_int_equal(feed(s, huge, 4, 4, types, &n, &err), -EPROTO);
	ctrl_stream_free(s);
	buf_writer_free(&w);
}

static void test_register_msgs(void **state)
{
	struct ctrl_register_request rq = { 0 }, got;
	struct ctrl_register_response rs = { 0 }, rgot;
	struct netmap_node node = { 0 };
	char tag[] = "tag:a", name[] = "n.example.com.", host[] = "n", os[] = "linux";
	char alice[] = "alice";
	char *tags[] = { tag, NULL };
	struct jsonx_err err;
	struct buf_writer w;
	json_t *v;

	(void)state;
	rq.node_key.b[0] = 1;
	rq.old_node_key.b[0] = 2;
	snprintf(rq.auth_key, sizeof(rq.auth_key), "secret");
	snprintf(rq.hostname, sizeof(rq.hostname), "box");
	snprintf(rq.os, sizeof(rq.os), "linux");
	rq.tags = tags;
	rq.n_tags = 1;
	assert_int_equal(ctrl_register_request_encode(&rq, &v), 0);
	assert_int_equal(ctrl_register_request_decode(v, &got, &err), 0);
	assert_int_equal(got.old_node_key.b[0], 2);
	assert_string_equal(got.auth_key, "secret");
	assert_string_equal(got.tags[0], "tag:a");
	ctrl_register_request_wipe(&got);
	assert_int_equal(got.auth_key[0], 0);
	json_object_set_new(v, "Surprise", json_true());
	assert_int_equal(ctrl_register_request_decode(v, &got, &err), -EINVAL);
	assert_string_equal(err.msg, "Surprise: unknown field");
	json_decref(v);

	node.id = 5;
	node.name = name;
	node.hostname = host;
	node.os = os;
	node.key.b[0] = 1;
	rs.machine_authorized = true;
	rs.user_name = alice;
	rs.user_id = 3;
	rs.node = &node;
	buf_writer_growable(&w, 1 << 16);
	assert_int_equal(ctrl_register_response_write(&w, &rs), 0);
	assert_int_equal(jsonx_load(w.p, w.len, &v, &err), 0);
	assert_int_equal(ctrl_register_response_decode(v, &rgot, &err), 0);
	assert_true(rgot.machine_authorized);
	assert_string_equal(rgot.user_name, "alice");
	assert_int_equal(rgot.node->id, 5);
	assert_null(rgot.auth_url);
	ctrl_register_response_clear(&rgot);
	json_decref(v);
	buf_writer_free(&w);
}

static void test_map_msgs(void **state)
{
	struct ctrl_map_request rq = { 0 }, got;
	struct jsonx_err err;
	json_t *v;

	(void)state;
	rq.node_key.b[0] = 1;
	rq.disco_key.b[0] = 2;
	assert_int_equal(netendpoint_parse("[2001:db8::1]:41641", &rq.endpoints[0]), 0);
	rq.n_endpoints = 1;
	snprintf(rq.hostname, sizeof(rq.hostname), "box");
	rq.relay_home = 900;
	rq.stream = true;
	assert_int_equal(ctrl_map_request_encode(&rq, &v), 0);
	assert_int_equal(ctrl_map_request_decode(v, &got, &err), 0);
	assert_int_equal(got.n_endpoints, 1);
	assert_true(netendpoint_eq(&got.endpoints[0], &rq.endpoints[0]));
	assert_int_equal(got.relay_home, 900);
	assert_true(got.stream);
	assert_string_equal(got.hostname, "box");
	json_object_set_new(v, "Endpoints", json_pack("[s]", "1.2.3.4"));
	assert_int_equal(ctrl_map_request_decode(v, &got, &err), -EINVAL);
	json_object_set_new(v, "Hostinfo", json_pack("{s:s}", "Kernel", "x"));
	assert_int_equal(ctrl_map_request_decode(v, &got, &err), -EINVAL);
	assert_string_equal(err.msg, "Hostinfo.Kernel: unknown field");
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_box),	      cmocka_unit_test(test_request),
		cmocka_unit_test(test_request_rejects), cmocka_unit_test(test_replay),
		cmocka_unit_test(test_stream),	      cmocka_unit_test(test_stream_order),
		cmocka_unit_test(test_register_msgs), cmocka_unit_test(test_map_msgs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

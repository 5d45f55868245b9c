/* SPDX-License-Identifier: ISC */
/*
 * ctrlproto: boxes, the request envelope, and sealed map frames with their
 * incremental decoder (see ctrlproto.h; wire format in docs/PROTOCOL.md 3).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/ct.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"

_Static_assert(crypto_box_NONCEBYTES == CTRL_BOX_NONCE_LEN, "box nonce length");
_Static_assert(crypto_box_MACBYTES == CTRL_BOX_MAC_LEN, "box MAC length");
_Static_assert(crypto_box_BEFORENMBYTES == sizeof(((struct ctrl_box *)0)->k), "box key length");
_Static_assert(CTRL_SEAL_OVERHEAD == CTRL_BOX_NONCE_LEN + CTRL_BOX_MAC_LEN, "seal overhead");
_Static_assert(CTRL_FRAME_OVERHEAD == CTRL_FRAME_LEN_LEN + CTRL_SEAL_OVERHEAD, "frame overhead");

static const char *const ctrl_op_names[] = {
	[CTRL_OP_REGISTER] = "register",
	[CTRL_OP_MAP] = "map",
	[CTRL_OP_LOGOUT] = "logout",
};

const char *ctrl_op_name(enum ctrl_op op)
{
	if (op < CTRL_OP_REGISTER || op > CTRL_OP_LOGOUT)
		return "?";
	return ctrl_op_names[op];
}

int ctrl_op_parse(const char *s, enum ctrl_op *out)
{
	for (int op = CTRL_OP_REGISTER; op <= CTRL_OP_LOGOUT; op++) {
		if (strcmp(s, ctrl_op_names[op]) == 0) {
			*out = (enum ctrl_op)op;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ctrl_frame_type_name(enum ctrl_frame_type t)
{
	switch (t) {
	case CTRL_FRAME_FULL:
		return "full";
	case CTRL_FRAME_DELTA:
		return "delta";
	case CTRL_FRAME_KEEPALIVE:
		return "keepalive";
	}
	return "?";
}

static int ctrl_frame_type_parse(const char *s, enum ctrl_frame_type *out)
{
	for (int t = CTRL_FRAME_FULL; t <= CTRL_FRAME_KEEPALIVE; t++) {
		if (strcmp(s, ctrl_frame_type_name((enum ctrl_frame_type)t)) == 0) {
			*out = (enum ctrl_frame_type)t;
			return 0;
		}
	}
	return -EINVAL;
}

/* Boxes */

int ctrl_box_init(struct ctrl_box *b, const struct machine_private *self,
		  const struct machine_public *peer)
{
	if (crypto_box_beforenm(b->k, peer->b, self->b) != 0) {
		ctrl_box_wipe(b);
		return -EINVAL;
	}
	return 0;
}

void ctrl_box_wipe(struct ctrl_box *b)
{
	mem_wipe(b->k, sizeof(b->k));
}

/* Seals plain into out (CTRL_SEAL_OVERHEAD + len bytes); plain may be out + CTRL_SEAL_OVERHEAD. */
static void ctrl_box_seal_into(const struct ctrl_box *b, const void *plain, size_t len,
			       uint8_t *out)
{
	randombytes_buf(out, CTRL_BOX_NONCE_LEN);
	crypto_box_easy_afternm(out + CTRL_BOX_NONCE_LEN, plain, len, out, b->k);
}

int ctrl_box_seal(const struct ctrl_box *b, const void *plain, size_t len, struct buf_writer *w)
{
	uint8_t *out;
	size_t at = w->len;
	int r;

	if (len > SIZE_MAX - CTRL_SEAL_OVERHEAD)
		return -EMSGSIZE;
	/* room for the nonce and tag, then the plaintext, sealed in place */
	for (size_t i = 0; i < CTRL_SEAL_OVERHEAD; i++)
		buf_put_u8(w, 0);
	if ((r = buf_put_bytes(w, plain, len)) < 0)
		return r;
	out = w->p + at;
	ctrl_box_seal_into(b, out + CTRL_SEAL_OVERHEAD, len, out);
	return 0;
}

int ctrl_box_open(const struct ctrl_box *b, const uint8_t *in, size_t len, uint8_t **plain,
		  size_t *plainlen)
{
	uint8_t *p;
	size_t n;

	*plain = NULL;
	*plainlen = 0;
	if (len < CTRL_SEAL_OVERHEAD)
		return -EMSGSIZE;
	n = len - CTRL_SEAL_OVERHEAD;
	if ((p = malloc(n + 1)) == NULL)
		return -ENOMEM;
	if (crypto_box_open_easy_afternm(p, in + CTRL_BOX_NONCE_LEN, len - CTRL_BOX_NONCE_LEN, in,
					 b->k) != 0) {
		free(p);
		return -EBADMSG;
	}
	p[n] = '\0';
	*plain = p;
	*plainlen = n;
	return 0;
}

/* Envelope */

int ctrl_request_seal(const struct ctrl_box *b, enum ctrl_op op, json_t *body, int64_t now_ns,
		      struct ctrl_envelope *env, uint8_t **out, size_t *outlen)
{
	char hex[CTRL_REQ_NONCE_LEN * 2 + 1];
	struct buf_writer w;
	char *text = NULL;
	int r = -ENOMEM;

	*out = NULL;
	env->version = CTRL_VERSION;
	env->op = op;
	env->timestamp_ns = now_ns;
	randombytes_buf(env->nonce, sizeof(env->nonce));
	sodium_bin2hex(hex, sizeof(hex), env->nonce, sizeof(env->nonce));
	buf_writer_growable(&w, CTRL_BODY_MAX);
	if (json_object_set_new(body, "Version", json_integer(CTRL_VERSION)) < 0 ||
	    json_object_set_new(body, "Op", json_string(ctrl_op_name(op))) < 0 ||
	    json_object_set_new(body, "Timestamp", json_integer(now_ns)) < 0 ||
	    json_object_set_new(body, "Nonce", json_string(hex)) < 0 ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL)
		goto out;
	if ((r = ctrl_box_seal(b, text, strlen(text), &w)) < 0)
		goto out;
	*out = buf_writer_steal(&w, outlen);
out:
	if (text != NULL)
		mem_wipe(text, strlen(text)); /* may carry an auth key */
	free(text);
	buf_writer_free(&w);
	return r;
}

enum { EF_VERSION, EF_OP, EF_TIMESTAMP, EF_NONCE, EF_COUNT };

static int ctrl_envelope_take(json_t *body, enum ctrl_op op, int64_t now_ns,
			      struct ctrl_envelope *env, struct jsonx_err *err)
{
	static const char *const names[EF_COUNT] = { "Version", "Op", "Timestamp", "Nonce" };
	json_t *f[EF_COUNT];
	const char *hex;
	size_t bin_len;
	uint64_t skew;

	if (!json_is_object(body))
		return jsonx_fail(err, "", "", "expected a JSON object");
	for (int i = 0; i < EF_COUNT; i++)
		if ((f[i] = json_object_get(body, names[i])) == NULL)
			return jsonx_fail(err, "", names[i], "required field missing");
	if (!json_is_integer(f[EF_VERSION]) || json_integer_value(f[EF_VERSION]) != CTRL_VERSION) {
		jsonx_fail(err, "", "Version", "unsupported; this server speaks version %d",
			   CTRL_VERSION);
		return -EPROTONOSUPPORT;
	}
	env->version = CTRL_VERSION;
	if (!json_is_string(f[EF_OP]) || strcmp(json_string_value(f[EF_OP]), ctrl_op_name(op)))
		return jsonx_fail(err, "", "Op", "must be \"%s\" for this URL", ctrl_op_name(op));
	env->op = op;
	if (!json_is_integer(f[EF_TIMESTAMP]))
		return jsonx_fail(err, "", "Timestamp", "expected unix nanoseconds");
	env->timestamp_ns = (int64_t)json_integer_value(f[EF_TIMESTAMP]);
	hex = json_string_value(f[EF_NONCE]);
	if (hex == NULL || strlen(hex) != CTRL_REQ_NONCE_LEN * 2 ||
	    sodium_hex2bin(env->nonce, sizeof(env->nonce), hex, strlen(hex), NULL, &bin_len,
			   NULL) != 0 ||
	    bin_len != CTRL_REQ_NONCE_LEN)
		return jsonx_fail(err, "", "Nonce", "expected 32 hex digits");
	/* unsigned: a hostile Timestamp near INT64_MIN must not overflow */
	skew = now_ns > env->timestamp_ns ? (uint64_t)now_ns - (uint64_t)env->timestamp_ns
					  : (uint64_t)env->timestamp_ns - (uint64_t)now_ns;
	if (skew > (uint64_t)CTRL_SKEW_NS) {
		jsonx_fail(err, "", "Timestamp", "off by more than 120 s from the server's clock");
		return -ESTALE;
	}
	for (int i = 0; i < EF_COUNT; i++)
		json_object_del(body, names[i]);
	return 0;
}

int ctrl_request_open(const struct ctrl_box *b, enum ctrl_op op, const uint8_t *in, size_t len,
		      int64_t now_ns, struct ctrl_envelope *env, json_t **body,
		      struct jsonx_err *err)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	json_t *v = NULL;
	int r;

	*body = NULL;
	if (len > CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD) {
		r = jsonx_fail(err, "", "", "body larger than %d bytes", CTRL_BODY_MAX);
		goto out;
	}
	if ((r = ctrl_box_open(b, in, len, &plain, &plen)) < 0) {
		jsonx_fail(err, "", "", "%s", r == -EBADMSG ? "authentication failed"
							     : "body too short to be sealed");
		r = r == -ENOMEM ? r : -EBADMSG;
		goto out;
	}
	if ((r = jsonx_load(plain, plen, &v, err)) < 0 ||
	    (r = ctrl_envelope_take(v, op, now_ns, env, err)) < 0)
		goto out;
	*body = v;
	v = NULL;
out:
	if (plain != NULL)
		mem_wipe(plain, plen);
	free(plain);
	json_decref(v);
	return r;
}

/* Frames */

int ctrl_frame_write(const struct ctrl_box *b, uint64_t seq,
		     const uint8_t req_nonce[static CTRL_REQ_NONCE_LEN], enum ctrl_frame_type type,
		     const void *tail, size_t tail_len, struct buf_writer *w)
{
	char head[160], hex[CTRL_REQ_NONCE_LEN * 2 + 1];
	size_t at = w->len, plen;
	int n;

	sodium_bin2hex(hex, sizeof(hex), req_nonce, CTRL_REQ_NONCE_LEN);
	n = snprintf(head, sizeof(head), "{\"Seq\":%llu,\"ReqNonce\":\"%s\",\"Type\":\"%s\"",
		     (unsigned long long)seq, hex, ctrl_frame_type_name(type));
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	plen = (size_t)n + tail_len + 1;
	if (plen > CTRL_FRAME_MAX - CTRL_SEAL_OVERHEAD)
		return -EMSGSIZE;
	buf_put_be32(w, (uint32_t)(plen + CTRL_SEAL_OVERHEAD));
	for (size_t i = 0; i < CTRL_SEAL_OVERHEAD; i++)
		buf_put_u8(w, 0);
	buf_put_bytes(w, head, (size_t)n);
	buf_put_bytes(w, tail, tail_len);
	buf_put_u8(w, '}');
	if (w->err)
		return -ENOSPC;
	ctrl_box_seal_into(b, w->p + at + CTRL_FRAME_OVERHEAD, plen, w->p + at + CTRL_FRAME_LEN_LEN);
	return 0;
}

struct ctrl_stream {
	struct ctrl_box box;
	uint8_t req_nonce[CTRL_REQ_NONCE_LEN];
	size_t max_frame;
	uint64_t next_seq;
	uint8_t lenbuf[CTRL_FRAME_LEN_LEN];
	size_t len_have;
	uint8_t *body;
	size_t body_len;
	size_t body_have;
	bool dead;
};

int ctrl_stream_new(const struct ctrl_box *b, const uint8_t req_nonce[static CTRL_REQ_NONCE_LEN],
		    size_t max_frame, struct ctrl_stream **out)
{
	struct ctrl_stream *s = mem_calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->box = *b;
	memcpy(s->req_nonce, req_nonce, CTRL_REQ_NONCE_LEN);
	s->max_frame = max_frame && max_frame < CTRL_FRAME_MAX ? max_frame : CTRL_FRAME_MAX;
	s->next_seq = 1;
	*out = s;
	return 0;
}

void ctrl_stream_free(struct ctrl_stream *s)
{
	if (s == NULL)
		return;
	ctrl_box_wipe(&s->box);
	free(s->body);
	free(s);
}

size_t ctrl_stream_pending(const struct ctrl_stream *s)
{
	return s->len_have + s->body_have;
}

enum { FF_SEQ, FF_REQNONCE, FF_TYPE, FF_COUNT };

/* Checks the header fields of an opened frame (the rest is netmap's job). */
static int ctrl_frame_check(struct ctrl_stream *s, json_t *v, struct ctrl_frame *frame,
			    struct jsonx_err *err)
{
	static const char *const names[FF_COUNT] = { "Seq", "ReqNonce", "Type" };
	uint8_t nonce[CTRL_REQ_NONCE_LEN];
	json_t *f[FF_COUNT];
	size_t bin_len;
	const char *hex;

	if (!json_is_object(v))
		return jsonx_fail(err, "", "", "frame is not a JSON object");
	for (int i = 0; i < FF_COUNT; i++)
		if ((f[i] = json_object_get(v, names[i])) == NULL)
			return jsonx_fail(err, "", names[i], "required field missing");
	if (!json_is_integer(f[FF_SEQ]) || (uint64_t)json_integer_value(f[FF_SEQ]) != s->next_seq)
		return jsonx_fail(err, "", "Seq", "expected %llu (frames lost, replayed or reordered)",
				  (unsigned long long)s->next_seq);
	hex = json_string_value(f[FF_REQNONCE]);
	if (hex == NULL || strlen(hex) != 2 * CTRL_REQ_NONCE_LEN ||
	    sodium_hex2bin(nonce, sizeof(nonce), hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
	    !ct_memeq(nonce, s->req_nonce, sizeof(nonce)))
		return jsonx_fail(err, "", "ReqNonce", "frame belongs to another request");
	if (!json_is_string(f[FF_TYPE]) ||
	    ctrl_frame_type_parse(json_string_value(f[FF_TYPE]), &frame->type) < 0)
		return jsonx_fail(err, "", "Type", "unknown frame type");
	frame->seq = s->next_seq++;
	return 0;
}

static int ctrl_stream_finish(struct ctrl_stream *s, struct ctrl_frame *frame,
			      struct jsonx_err *err)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	json_t *v = NULL;
	int r;

	if ((r = ctrl_box_open(&s->box, s->body, s->body_len, &plain, &plen)) < 0) {
		jsonx_fail(err, "", "", "frame failed authentication");
		goto out;
	}
	if (jsonx_load(plain, plen, &v, err) < 0 || ctrl_frame_check(s, v, frame, err) < 0) {
		r = -EPROTO;
		goto out;
	}
	frame->json = v;
	frame->wire_len = CTRL_FRAME_LEN_LEN + s->body_len;
	v = NULL;
	r = 1;
out:
	free(plain);
	json_decref(v);
	free(s->body);
	s->body = NULL;
	s->body_len = s->body_have = s->len_have = 0;
	return r;
}

static int ctrl_stream_length(struct ctrl_stream *s, struct jsonx_err *err)
{
	uint32_t n = buf_load_be32(s->lenbuf);

	if (n < CTRL_SEAL_OVERHEAD + 2 || n > s->max_frame) {
		jsonx_fail(err, "", "", "frame length %u outside %d-%zu", n, CTRL_SEAL_OVERHEAD + 2,
			   s->max_frame);
		return -EMSGSIZE;
	}
	if ((s->body = malloc(n)) == NULL)
		return -ENOMEM;
	s->body_len = n;
	s->body_have = 0;
	return 0;
}

int ctrl_stream_feed(struct ctrl_stream *s, const uint8_t *p, size_t len, size_t *consumed,
		     struct ctrl_frame *frame, struct jsonx_err *err)
{
	size_t off = 0, take;
	int r = 0;

	memset(frame, 0, sizeof(*frame));
	*consumed = 0;
	if (s->dead)
		return -EPROTO;
	while (off < len && r == 0) {
		if (s->body == NULL) {
			take = CTRL_FRAME_LEN_LEN - s->len_have;
			take = take < len - off ? take : len - off;
			memcpy(s->lenbuf + s->len_have, p + off, take);
			s->len_have += take;
			off += take;
			if (s->len_have == CTRL_FRAME_LEN_LEN && (r = ctrl_stream_length(s, err)) < 0)
				break;
			continue;
		}
		take = s->body_len - s->body_have;
		take = take < len - off ? take : len - off;
		memcpy(s->body + s->body_have, p + off, take);
		s->body_have += take;
		off += take;
		if (s->body_have == s->body_len)
			r = ctrl_stream_finish(s, frame, err);
	}
	*consumed = off;
	if (r < 0)
		s->dead = true;
	return r;
}

/* One-shot responses and errors */

int ctrl_error_write(struct buf_writer *w, const char *msg)
{
	buf_put_str(w, "{\"Error\":");
	jsonx_write_str(w, msg);
	buf_put_u8(w, '}');
	return w->err ? -ENOSPC : 0;
}

int ctrl_response_open(const struct ctrl_box *b, const uint8_t *in, size_t len, json_t **out,
		       struct jsonx_err *err)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	int r;

	*out = NULL;
	if (len > CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD)
		return jsonx_fail(err, "", "", "response larger than %d bytes", CTRL_BODY_MAX);
	if ((r = ctrl_box_open(b, in, len, &plain, &plen)) < 0) {
		jsonx_fail(err, "", "", "response failed authentication");
		return r;
	}
	r = jsonx_load(plain, plen, out, err);
	free(plain);
	return r;
}

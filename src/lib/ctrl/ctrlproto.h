/* SPDX-License-Identifier: ISC */
/*
 * ctrlproto: the node <-> weft-server control protocol v1 (docs/PROTOCOL.md
 * section 3) as sans-I/O codecs shared by weft-server and weftd: NaCl boxes
 * between the node's machine key and the server's static key, the request
 * envelope (version, op, timestamp, nonce) with its replay cache, the typed
 * register/map/logout messages, and the length-prefixed sealed frames of a
 * map stream with an incremental decoder fed arbitrary chunks.
 */
#ifndef WEFT_CTRL_CTRLPROTO_H
#define WEFT_CTRL_CTRLPROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"
#include "netmap/netmap.h"

struct buf_writer;
struct jsonx_err;

/* Wire constants (docs/PROTOCOL.md 3.1-3.3). */
enum {
	CTRL_VERSION = 1,
	CTRL_BOX_NONCE_LEN = 24,	 /* XSalsa20 nonce before every sealed body */
	CTRL_BOX_MAC_LEN = 16,		 /* Poly1305 tag */
	CTRL_SEAL_OVERHEAD = 40,	 /* nonce + tag */
	CTRL_FRAME_LEN_LEN = 4,		 /* big-endian length of what follows */
	CTRL_FRAME_OVERHEAD = 44,	 /* length + nonce + tag */
	CTRL_REQ_NONCE_LEN = 16,	 /* the request's "Nonce", 32 hex digits in JSON */
	CTRL_BODY_MAX = 1 << 20,	 /* request and one-shot response bodies */
	CTRL_FRAME_MAX = 64 << 20,	 /* a frame's length field, at most */
	CTRL_HOSTNAME_MAX = 255,
	CTRL_OS_MAX = 64,
	CTRL_AUTHKEY_MAX = 128,
	CTRL_AUTHID_MAX = 64,
};

#define CTRL_SKEW_NS (120LL * 1000000000LL)	  /* |now - Timestamp| allowed */
#define CTRL_REPLAY_WINDOW_NS (240LL * 1000000000LL) /* how long a nonce is remembered */
#define CTRL_KEEPALIVE_NS (60LL * 1000000000LL)
#define CTRL_FOLLOWUP_WAIT_NS (60LL * 1000000000LL)

enum ctrl_op {
	CTRL_OP_REGISTER = 1,
	CTRL_OP_MAP = 2,
	CTRL_OP_LOGOUT = 3,
};

/* "register", "map", "logout"; the URL is /ctrl/v1/<name>. */
const char *ctrl_op_name(enum ctrl_op op);
int ctrl_op_parse(const char *s, enum ctrl_op *out) __attribute__((warn_unused_result));

/* The precomputed box key between one machine key and the server key (either side). */
struct ctrl_box {
	uint8_t k[32];
};

/* -EINVAL for a low-order or zero public key. */
int ctrl_box_init(struct ctrl_box *b, const struct machine_private *self,
		  const struct machine_public *peer) __attribute__((warn_unused_result));
void ctrl_box_wipe(struct ctrl_box *b);
/* Appends nonce || box(plain) to w (fresh random nonce). */
int ctrl_box_seal(const struct ctrl_box *b, const void *plain, size_t len, struct buf_writer *w)
	__attribute__((warn_unused_result));
/*
 * Opens nonce || box. *plain is a new heap buffer with a NUL after its
 * *plainlen bytes (caller frees). -EMSGSIZE if shorter than the overhead,
 * -EBADMSG if authentication fails.
 */
int ctrl_box_open(const struct ctrl_box *b, const uint8_t *in, size_t len, uint8_t **plain,
		  size_t *plainlen) __attribute__((warn_unused_result));

/* The envelope fields every request carries. */
struct ctrl_envelope {
	uint32_t version;
	enum ctrl_op op;
	int64_t timestamp_ns;
	uint8_t nonce[CTRL_REQ_NONCE_LEN];
};

/*
 * Client: adds Version, Op, Timestamp (now_ns) and a fresh random Nonce to
 * `body` (a JSON object, modified), and seals it; *out is nonce || box
 * (caller frees). The Nonce is returned in env so replies can be matched.
 */
int ctrl_request_seal(const struct ctrl_box *b, enum ctrl_op op, json_t *body, int64_t now_ns,
		      struct ctrl_envelope *env, uint8_t **out, size_t *outlen)
	__attribute__((warn_unused_result));

/*
 * Server: opens a request body for `op`, checks the envelope (-EBADMSG:
 * authentication failed; -EINVAL: malformed JSON or envelope, err says
 * which; -EPROTONOSUPPORT: Version; -ESTALE: Timestamp off by more than
 * CTRL_SKEW_NS) and returns the message with the envelope fields removed.
 * Replay is checked separately (ctrl_replay_check) once the sender is known.
 */
int ctrl_request_open(const struct ctrl_box *b, enum ctrl_op op, const uint8_t *in, size_t len,
		      int64_t now_ns, struct ctrl_envelope *env, json_t **body,
		      struct jsonx_err *err) __attribute__((warn_unused_result));

/*
 * Replay and reorder protection: remembers (machine key, Nonce) for
 * CTRL_REPLAY_WINDOW_NS in a bounded cache. When full, the oldest entry is
 * evicted and requests with a Timestamp at or before the evicted one's are
 * refused, so an evicted nonce can never be replayed.
 */
struct ctrl_replay;
int ctrl_replay_new(size_t capacity, struct ctrl_replay **out) __attribute__((warn_unused_result));
void ctrl_replay_free(struct ctrl_replay *r);
/* 0: fresh (now recorded); -EALREADY: replayed; -ESTALE: older than the cache remembers. */
int ctrl_replay_check(struct ctrl_replay *r, const struct machine_public *mk,
		      const struct ctrl_envelope *env, int64_t now_ns)
	__attribute__((warn_unused_result));
size_t ctrl_replay_count(const struct ctrl_replay *r);
/* Whether this request's nonce is remembered (no ageing, nothing recorded). */
bool ctrl_replay_seen(const struct ctrl_replay *r, const struct machine_public *mk,
		      const struct ctrl_envelope *env);

/* Frames of a map response (docs/PROTOCOL.md 3.5). */
enum ctrl_frame_type {
	CTRL_FRAME_FULL = 1,
	CTRL_FRAME_DELTA = 2,
	CTRL_FRAME_KEEPALIVE = 3,
};
const char *ctrl_frame_type_name(enum ctrl_frame_type t);

/*
 * Server: appends one sealed frame to w. Its JSON is the header
 * {"Seq":seq,"ReqNonce":"<hex>","Type":"<type>" followed by `tail` (empty or
 * starting with ',') and '}', so a delta body shared by many streams is
 * serialised once and only the header differs per stream.
 */
int ctrl_frame_write(const struct ctrl_box *b, uint64_t seq,
		     const uint8_t req_nonce[static CTRL_REQ_NONCE_LEN], enum ctrl_frame_type type,
		     const void *tail, size_t tail_len, struct buf_writer *w)
	__attribute__((warn_unused_result));

struct ctrl_frame {
	enum ctrl_frame_type type;
	uint64_t seq;
	json_t *json; /* the whole frame object; caller json_decref()s */
	size_t wire_len;
};

/*
 * Client: the decoder of one map response. Seq must start at 1 and grow by
 * one, ReqNonce must be the request's: a frame from another stream, a
 * replayed or reordered frame, is refused.
 */
struct ctrl_stream;
int ctrl_stream_new(const struct ctrl_box *b, const uint8_t req_nonce[static CTRL_REQ_NONCE_LEN],
		    size_t max_frame, struct ctrl_stream **out) __attribute__((warn_unused_result));
void ctrl_stream_free(struct ctrl_stream *s);
/*
 * Feeds up to len bytes. Returns 1 when a frame is complete (*frame filled,
 * *consumed bytes used: call again with the rest), 0 when all bytes were
 * consumed without completing one, or a negative errno after which the
 * stream is dead: -EMSGSIZE (length out of bounds), -EBADMSG (authentication),
 * -EPROTO (JSON, ReqNonce, Seq or Type wrong; err says which).
 */
int ctrl_stream_feed(struct ctrl_stream *s, const uint8_t *p, size_t len, size_t *consumed,
		     struct ctrl_frame *frame, struct jsonx_err *err)
	__attribute__((warn_unused_result));
/* Bytes of a partial frame held; 0 between frames (a clean place for the stream to end). */
size_t ctrl_stream_pending(const struct ctrl_stream *s);

/* Messages (docs/PROTOCOL.md 3.4). Strings are bounded, so they live inline. */
struct ctrl_register_request {
	struct node_public node_key;
	struct node_public old_node_key; /* all zero: no rotation */
	char auth_key[CTRL_AUTHKEY_MAX + 1]; /* secret: ctrl_register_request_wipe */
	char hostname[CTRL_HOSTNAME_MAX + 1];
	char os[CTRL_OS_MAX + 1];
	char **tags; /* NULL-terminated, n_tags entries */
	size_t n_tags;
	char followup[CTRL_AUTHID_MAX + 1];
};

struct ctrl_register_response {
	bool machine_authorized;
	bool node_key_expired;
	char *auth_url;	 /* NULL when none */
	uint64_t user_id;
	char *user_name; /* NULL when none */
	struct netmap_node *node;
	char *error; /* NULL unless the server refused */
};

struct ctrl_map_request {
	struct node_public node_key;
	struct disco_public disco_key;
	struct netendpoint endpoints[NETMAP_MAX_ENDPOINTS];
	size_t n_endpoints;
	char hostname[CTRL_HOSTNAME_MAX + 1];
	char os[CTRL_OS_MAX + 1];
	uint32_t relay_home;
	bool stream;
	bool omit_peers;
};

struct ctrl_logout_request {
	struct node_public node_key;
};

int ctrl_register_request_encode(const struct ctrl_register_request *r, json_t **out)
	__attribute__((warn_unused_result));
int ctrl_register_request_decode(const json_t *v, struct ctrl_register_request *r,
				 struct jsonx_err *err) __attribute__((warn_unused_result));
/* Frees the tags and wipes the auth key. */
void ctrl_register_request_wipe(struct ctrl_register_request *r);

/* Server: writes the response JSON (node written with netmap_node_write). */
int ctrl_register_response_write(struct buf_writer *w, const struct ctrl_register_response *r);
int ctrl_register_response_decode(const json_t *v, struct ctrl_register_response *r,
				  struct jsonx_err *err) __attribute__((warn_unused_result));
void ctrl_register_response_clear(struct ctrl_register_response *r);

int ctrl_map_request_encode(const struct ctrl_map_request *r, json_t **out)
	__attribute__((warn_unused_result));
int ctrl_map_request_decode(const json_t *v, struct ctrl_map_request *r, struct jsonx_err *err)
	__attribute__((warn_unused_result));

int ctrl_logout_request_encode(const struct ctrl_logout_request *r, json_t **out)
	__attribute__((warn_unused_result));
int ctrl_logout_request_decode(const json_t *v, struct ctrl_logout_request *r,
			       struct jsonx_err *err) __attribute__((warn_unused_result));

/* Errors: {"Error":"..."}, plain before authentication, sealed after. */
int ctrl_error_write(struct buf_writer *w, const char *msg);
/* Client: a sealed one-shot response (register, logout, errors) to JSON. */
int ctrl_response_open(const struct ctrl_box *b, const uint8_t *in, size_t len, json_t **out,
		       struct jsonx_err *err) __attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * relay_proto: the relay's wire protocol (DERP-like): frames of a type byte
 * and a big-endian length, the handshake in which a client proves it holds
 * its node key (a NaCl box over a per-connection challenge) and a mesh peer
 * proves the region's mesh key, the per-type payload rules, an incremental
 * strict decoder, and the HTTP Upgrade exchange that starts a connection.
 * docs/PROTOCOL.md section 4 mirrors this file.
 */
#ifndef WEFT_RELAY_RELAY_PROTO_H
#define WEFT_RELAY_RELAY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"

/* A relay server's own key pair (Curve25519), distinct from node keys. */
struct relay_private {
	uint8_t b[KEY_LEN];
};
struct relay_public {
	uint8_t b[KEY_LEN];
};

enum relay_frame_type {
	RELAY_FRAME_SERVER_KEY = 0x01,	   /* S->C: magic, server key, challenge */
	RELAY_FRAME_CLIENT_INFO = 0x02,	   /* C->S: node key, nonce, sealed info */
	RELAY_FRAME_SERVER_INFO = 0x03,	   /* S->C: nonce, sealed info */
	RELAY_FRAME_SEND_PACKET = 0x04,	   /* C->S: destination key, packet */
	RELAY_FRAME_RECV_PACKET = 0x05,	   /* S->C: source key, packet */
	RELAY_FRAME_KEEPALIVE = 0x06,	   /* S->C: empty */
	RELAY_FRAME_NOTE_PREFERRED = 0x07, /* C->S: 1 byte, this relay is (not) my home */
	RELAY_FRAME_PEER_GONE = 0x08,	   /* S->C: key, reason */
	RELAY_FRAME_PEER_PRESENT = 0x09,   /* S->C (watchers): key, address, port, flags */
	RELAY_FRAME_FORWARD_PACKET = 0x0a, /* mesh C->S: source key, destination key, packet */
	RELAY_FRAME_WATCH_CONNS = 0x10,	   /* mesh C->S: empty */
	RELAY_FRAME_CLOSE_PEER = 0x11,	   /* mesh C->S: key to disconnect */
	RELAY_FRAME_PING = 0x12,	   /* both: 8 opaque bytes */
	RELAY_FRAME_PONG = 0x13,	   /* both: the ping's 8 bytes */
	RELAY_FRAME_HEALTH = 0x14,	   /* S->C: UTF-8 problem text; empty clears it */
	RELAY_FRAME_RESTARTING = 0x15,	   /* S->C: reconnect in (ms), try for (ms) */
};

enum {
	RELAY_VERSION = 1,
	RELAY_FRAME_HEADER_LEN = 5,
	RELAY_MAGIC_LEN = 8,
	RELAY_CHALLENGE_LEN = 16,
	RELAY_NONCE_LEN = 24,
	RELAY_TAG_LEN = 16,
	RELAY_PACKET_MAX = 65535,
	RELAY_FRAME_MAX = 2 * KEY_LEN + RELAY_PACKET_MAX, /* FORWARD_PACKET is the largest */
	RELAY_HEALTH_MAX = 1024,
	RELAY_PING_LEN = 8,
	/* Handshake payloads. */
	RELAY_SERVER_KEY_LEN = RELAY_MAGIC_LEN + KEY_LEN + RELAY_CHALLENGE_LEN, /* 56 */
	RELAY_CLIENT_PLAIN_LEN = 4 + RELAY_CHALLENGE_LEN + KEY_LEN,		/* 52 */
	RELAY_CLIENT_INFO_LEN =
		KEY_LEN + RELAY_NONCE_LEN + RELAY_TAG_LEN + RELAY_CLIENT_PLAIN_LEN,	  /* 124 */
	RELAY_SERVER_PLAIN_LEN = 4 + RELAY_CHALLENGE_LEN + 12,				  /* 32 */
	RELAY_SERVER_INFO_LEN = RELAY_NONCE_LEN + RELAY_TAG_LEN + RELAY_SERVER_PLAIN_LEN, /* 72 */
	RELAY_PEER_PRESENT_LEN = KEY_LEN + 16 + 2 + 1,					  /* 51 */
	RELAY_HTTP_MAX = 4096, /* an upgrade response larger than this is refused */
};

extern const uint8_t relay_magic[RELAY_MAGIC_LEN]; /* "weftrly" + version 0x01 */

/* CLIENT_INFO flags. */
enum {
	RELAY_CF_MESH = 1U << 0,	  /* a mesh peer: proof of the mesh key included */
	RELAY_CF_PROBER = 1U << 1,	  /* a latency prober: not a real client */
	RELAY_CF_CAN_ACK_PINGS = 1U << 2, /* answers PING with PONG */
	RELAY_CF_ALL = (1U << 3) - 1,
};

/* PEER_GONE reasons and PEER_PRESENT flags. */
enum {
	RELAY_GONE_DISCONNECTED = 0,
	RELAY_GONE_NOT_HERE = 1,
	RELAY_PRESENT_REGULAR = 1U << 0,
	RELAY_PRESENT_MESH = 1U << 1,
	RELAY_PRESENT_PROBER = 1U << 2,
};

/* Which side decodes: a server decodes client frames and the reverse. */
enum relay_role {
	RELAY_ROLE_SERVER = 0,
	RELAY_ROLE_CLIENT = 1,
};

enum relay_verdict {
	RELAY_OK = 0,
	RELAY_E_TYPE,	   /* unknown frame type */
	RELAY_E_DIRECTION, /* a frame the other side may not send */
	RELAY_E_LENGTH,	   /* wrong payload length for its type */
	RELAY_E_MAGIC,	   /* SERVER_KEY without the magic */
	RELAY_E_AUTH,	   /* a sealed handshake box does not open */
	RELAY_E_CHALLENGE, /* the handshake answers another connection's challenge */
	RELAY_E_VERSION,   /* a protocol version weft does not speak */
	RELAY_E_FLAGS,	   /* unknown flag bits, reserved bytes not zero, bad reason */
	RELAY_E_MESH,	   /* mesh proof missing or wrong */
	RELAY_E_KEY,	   /* a zero or low-order key */
	RELAY_E_STATE,	   /* a frame out of order (handshake frames after it, data before) */
	RELAY_E_HTTP,	   /* the upgrade response is malformed or not 101 */
	RELAY_E_TOO_LONG,  /* HTTP response beyond RELAY_HTTP_MAX */
	RELAY_E_TEXT,	   /* HEALTH text is not valid UTF-8 or holds control characters */
	RELAY_VERDICT_COUNT,
};

struct relay_counters {
	uint64_t frames_ok;
	uint64_t rejected[RELAY_VERDICT_COUNT];
};

/* One decoded frame. Pointers borrow the caller's or the decoder's buffer. */
struct relay_frame {
	uint8_t type;
	const uint8_t *payload;
	size_t len;
	struct node_public key;	 /* dst (SEND), src (RECV, FORWARD), peer (GONE, PRESENT, CLOSE) */
	struct node_public key2; /* dst of FORWARD_PACKET */
	const uint8_t *pkt;	 /* SEND, RECV, FORWARD */
	size_t pkt_len;
	uint8_t reason;	       /* PEER_GONE */
	uint8_t flags;	       /* PEER_PRESENT */
	bool preferred;	       /* NOTE_PREFERRED */
	struct netendpoint ep; /* PEER_PRESENT: where the peer connects from */
	uint8_t ping[RELAY_PING_LEN];
	uint32_t reconnect_ms, try_for_ms; /* RESTARTING */
};

/* Frame header: type and big-endian length. */
void relay_frame_header(uint8_t out[static RELAY_FRAME_HEADER_LEN], uint8_t type, uint32_t len);

/*
 * Checks a frame header for `role` (the decoding side): a known type allowed
 * in that direction and a length within its type's bounds, before any
 * payload is read or allocated.
 */
enum relay_verdict relay_frame_check_header(const uint8_t hdr[static RELAY_FRAME_HEADER_LEN],
					    enum relay_role role, uint8_t *type, uint32_t *len)
	__attribute__((warn_unused_result));

/* Decodes a payload whose header passed relay_frame_check_header. */
enum relay_verdict relay_frame_parse(uint8_t type, const uint8_t *p, size_t n,
				     struct relay_frame *out) __attribute__((warn_unused_result));

/*
 * Incremental decoder over a byte stream: feed any split; a frame comes out
 * whole. Holds at most one frame (allocated once at RELAY_FRAME_MAX + header).
 */
struct relay_decoder {
	enum relay_role role;
	uint8_t hdr[RELAY_FRAME_HEADER_LEN];
	size_t hdr_have;
	uint8_t type;
	uint32_t need;
	uint32_t have;
	uint8_t *buf;
	bool failed;
};

enum relay_dec_result {
	RELAY_DEC_MORE = 0,  /* all input consumed, no complete frame yet */
	RELAY_DEC_FRAME = 1, /* *out holds a frame; call again with the rest */
	RELAY_DEC_ERROR = 2, /* *verdict says why; the stream is dead */
};

int relay_decoder_init(struct relay_decoder *d, enum relay_role role)
	__attribute__((warn_unused_result));
void relay_decoder_fini(struct relay_decoder *d);
/* Consumes up to n bytes (*used says how many). */
enum relay_dec_result relay_decoder_feed(struct relay_decoder *d, const uint8_t *p, size_t n,
					 size_t *used, struct relay_frame *out,
					 enum relay_verdict *verdict);

/* ---- Handshake ---- */

/* SERVER_KEY frame (header included): RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN bytes. */
void relay_hs_server_key_write(uint8_t *out, const struct relay_public *server,
			       const uint8_t challenge[static RELAY_CHALLENGE_LEN]);
/* From a parsed SERVER_KEY payload. */
enum relay_verdict relay_hs_server_key_read(const struct relay_frame *f,
					    struct relay_public *server,
					    uint8_t challenge[static RELAY_CHALLENGE_LEN])
	__attribute__((warn_unused_result));

struct relay_client_info {
	uint8_t version;
	uint8_t flags; /* RELAY_CF_* */
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	uint8_t mesh_proof[KEY_LEN];
};

/*
 * CLIENT_INFO frame (header included, RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_LEN
 * bytes): our node key, a random nonce (returned in `nonce` for the
 * SERVER_INFO check), and the box. With `mesh_key`, the RELAY_CF_MESH flag and
 * its proof are added.
 */
int relay_hs_client_info_write(uint8_t *out, const struct node_private *priv,
			       const struct relay_public *server,
			       const uint8_t challenge[static RELAY_CHALLENGE_LEN], uint8_t flags,
			       const uint8_t *mesh_key, uint8_t nonce[static RELAY_NONCE_LEN])
	__attribute__((warn_unused_result));

/*
 * The server's side: opens CLIENT_INFO with its private key, checks the
 * challenge it sent on this connection, the version and flags and, for a
 * mesh peer, the proof against `mesh_key` (NULL: mesh peers refused).
 */
enum relay_verdict relay_hs_client_info_read(
	const struct relay_frame *f, const struct relay_private *server_priv,
	const struct relay_public *server_pub, const uint8_t challenge[static RELAY_CHALLENGE_LEN],
	const uint8_t *mesh_key, struct node_public *client, struct relay_client_info *info,
	uint8_t client_nonce[static RELAY_NONCE_LEN]) __attribute__((warn_unused_result));

struct relay_server_params {
	uint32_t rate_bytes; /* per-client token bucket, bytes/s (0: unlimited) */
	uint32_t burst_bytes;
	uint32_t keepalive_ms; /* the server's keepalive interval */
};

/* SERVER_INFO frame (header included, RELAY_FRAME_HEADER_LEN + RELAY_SERVER_INFO_LEN). */
int relay_hs_server_info_write(uint8_t *out, const struct relay_private *server_priv,
			       const struct node_public *client,
			       const uint8_t client_nonce[static RELAY_NONCE_LEN],
			       const struct relay_server_params *params)
	__attribute__((warn_unused_result));

/* The client's side: opens SERVER_INFO and checks that it answers our CLIENT_INFO nonce. */
enum relay_verdict relay_hs_server_info_read(const struct relay_frame *f,
					     const struct node_private *priv,
					     const struct relay_public *server,
					     const uint8_t nonce[static RELAY_NONCE_LEN],
					     struct relay_server_params *params)
	__attribute__((warn_unused_result));

/* The mesh proof: keyed BLAKE2b(mesh key, label || challenge || client key || server key). */
void relay_mesh_proof(uint8_t out[static KEY_LEN], const uint8_t mesh_key[static KEY_LEN],
		      const uint8_t challenge[static RELAY_CHALLENGE_LEN],
		      const uint8_t client[static KEY_LEN], const struct relay_public *server);

/* ---- Frame writers for the data path (header + fixed fields; the packet follows) ---- */

enum {
	RELAY_SEND_HEAD_LEN = RELAY_FRAME_HEADER_LEN + KEY_LEN,	       /* SEND/RECV_PACKET */
	RELAY_FORWARD_HEAD_LEN = RELAY_FRAME_HEADER_LEN + 2 * KEY_LEN, /* FORWARD_PACKET */
	RELAY_SMALL_FRAME_MAX = RELAY_FRAME_HEADER_LEN + RELAY_PEER_PRESENT_LEN,
};

/* SEND_PACKET or RECV_PACKET head for a packet of pkt_len bytes (1..RELAY_PACKET_MAX). */
void relay_frame_packet_head(uint8_t out[static RELAY_SEND_HEAD_LEN], uint8_t type,
			     const struct node_public *key, size_t pkt_len);
void relay_frame_forward_head(uint8_t out[static RELAY_FORWARD_HEAD_LEN],
			      const struct node_public *src, const struct node_public *dst,
			      size_t pkt_len);
/* Small frames; each returns its length. */
size_t relay_frame_peer_gone(uint8_t out[static RELAY_SMALL_FRAME_MAX],
			     const struct node_public *key, uint8_t reason);
size_t relay_frame_peer_present(uint8_t out[static RELAY_SMALL_FRAME_MAX],
				const struct node_public *key, const struct netendpoint *ep,
				uint8_t flags);
size_t relay_frame_ping(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint8_t type,
			const uint8_t data[static RELAY_PING_LEN]);
size_t relay_frame_empty(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint8_t type);
size_t relay_frame_note_preferred(uint8_t out[static RELAY_SMALL_FRAME_MAX], bool preferred);
size_t relay_frame_close_peer(uint8_t out[static RELAY_SMALL_FRAME_MAX],
			      const struct node_public *key);
size_t relay_frame_restarting(uint8_t out[static RELAY_SMALL_FRAME_MAX], uint32_t reconnect_ms,
			      uint32_t try_for_ms);
/* HEALTH: header + text (at most RELAY_HEALTH_MAX bytes, truncated). Writes into out[cap]. */
size_t relay_frame_health(uint8_t *out, size_t cap, const char *text);

/* ---- HTTP Upgrade ---- */

#define RELAY_UPGRADE_TOKEN "weft-relay"
#define RELAY_HTTP_PATH "/relay"

/* The request line and headers a client sends; returns the length or 0 if it does not fit. */
size_t relay_http_request(char *out, size_t cap, const char *host, const char *path);

/*
 * Parses the server's answer as bytes arrive. RELAY_DEC_MORE until the blank
 * line; then RELAY_DEC_FRAME with *used = the header's length (the relay
 * stream starts right after), or RELAY_DEC_ERROR (verdict RELAY_E_HTTP with
 * the status in *status, or RELAY_E_TOO_LONG).
 */
enum relay_dec_result relay_http_response_parse(const uint8_t *p, size_t n, size_t *used,
						int *status, enum relay_verdict *verdict);

void relay_count(struct relay_counters *c, enum relay_verdict v);
const char *relay_verdict_name(enum relay_verdict v);
const char *relay_frame_name(uint8_t type);
/* True when p holds a disco message (relays give them their own queue). */
bool relay_is_disco(const uint8_t *p, size_t n);

#endif

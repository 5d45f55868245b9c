/* SPDX-License-Identifier: ISC */
/*
 * disco: the NAT-traversal discovery messages (ping, pong, call-me-maybe)
 * that nodes exchange over the WireGuard UDP socket and through relays:
 * framing behind a magic prefix, a NaCl box between the two nodes' disco
 * keys, and strict payload codecs. docs/PROTOCOL.md section 6 mirrors this file.
 */
#ifndef WEFT_DISCO_DISCO_H
#define WEFT_DISCO_DISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"

enum {
	DISCO_MAGIC_LEN = 6,
	DISCO_NONCE_LEN = 24,
	DISCO_TAG_LEN = 16,
	DISCO_HEADER_LEN = DISCO_MAGIC_LEN + KEY_LEN + DISCO_NONCE_LEN, /* 62 */
	DISCO_OVERHEAD = DISCO_HEADER_LEN + DISCO_TAG_LEN,		/* 78 */
	DISCO_TXID_LEN = 12,
	DISCO_ENDPOINT_LEN = 18, /* 16-byte address (IPv4 mapped into IPv6) + port, big-endian */
	DISCO_MAX_ENDPOINTS = 32,
	DISCO_VERSION = 0,
	/* Ping: txid + node key, then up to this many zero bytes (path MTU probes). */
	DISCO_PING_LEN = 2 + DISCO_TXID_LEN + KEY_LEN,
	DISCO_PING_PAD_MAX = 9000,
	DISCO_PONG_LEN = 2 + DISCO_TXID_LEN + DISCO_ENDPOINT_LEN,
	DISCO_PACKET_MAX = DISCO_OVERHEAD + DISCO_PING_LEN + DISCO_PING_PAD_MAX,
};

/* 'W' 'E' 'F' 'T' then two bytes outside ASCII: byte 0 is neither WireGuard (1-4) nor STUN. */
extern const uint8_t disco_magic[DISCO_MAGIC_LEN];

enum disco_type {
	DISCO_PING = 1,
	DISCO_PONG = 2,
	DISCO_CALL_ME_MAYBE = 3,
};

struct disco_ping {
	uint8_t txid[DISCO_TXID_LEN];
	struct node_public node_key; /* the sender's node key: the receiver checks it */
	uint16_t padding;	     /* zero bytes after the payload */
};

struct disco_pong {
	uint8_t txid[DISCO_TXID_LEN];
	struct netendpoint src; /* where the ping was seen to come from */
};

struct disco_call_me_maybe {
	struct netendpoint endpoints[DISCO_MAX_ENDPOINTS];
	size_t n;
};

struct disco_msg {
	enum disco_type type;
	union {
		struct disco_ping ping;
		struct disco_pong pong;
		struct disco_call_me_maybe cmm;
	} u;
};

/* The precomputed box key between our disco private key and one peer's public key. */
struct disco_shared {
	uint8_t k[KEY_LEN];
};

enum disco_verdict {
	DISCO_OK = 0,
	DISCO_E_SHORT,	  /* shorter than the smallest message */
	DISCO_E_MAGIC,	  /* not disco */
	DISCO_E_AUTH,	  /* the box does not open: wrong key, forged or corrupted */
	DISCO_E_TYPE,	  /* unknown message type */
	DISCO_E_VERSION,  /* a version weft does not speak */
	DISCO_E_LENGTH,	  /* wrong payload length for its type */
	DISCO_E_ENDPOINT, /* an endpoint that is unspecified, port 0, or too many */
	DISCO_E_PADDING,  /* ping padding not zero */
	DISCO_E_SENDER,	  /* the sender key is not the one expected (disco_open_from) */
	DISCO_E_REPLAY,	  /* a ping transaction ID seen recently (disco_seen) */
	DISCO_VERDICT_COUNT,
};

struct disco_counters {
	uint64_t ok[4]; /* by type */
	uint64_t rejected[DISCO_VERDICT_COUNT];
};

/*
 * The demultiplexing test for the shared UDP socket and relayed packets: the
 * magic prefix and room for the smallest sealed message.
 */
bool disco_is_packet(const uint8_t *p, size_t n);

/* The sender's disco public key, to find its peer before opening. -EINVAL if not disco. */
int disco_sender(const uint8_t *p, size_t n, struct disco_public *out)
	__attribute__((warn_unused_result));

/* crypto_box_beforenm; -EINVAL for a low-order or zero public key. Wipe with disco_shared_wipe. */
int disco_shared_init(struct disco_shared *s, const struct disco_private *ours,
		      const struct disco_public *theirs) __attribute__((warn_unused_result));
void disco_shared_wipe(struct disco_shared *s);

/* The sealed length of a message (0 when it is invalid: too many endpoints, bad type). */
size_t disco_sealed_len(const struct disco_msg *m);

/*
 * Encodes and seals `m` from `sender` (our disco public key) into out (cap
 * bytes) with a fresh random nonce. Returns the length, or 0 if m is invalid
 * or does not fit.
 */
size_t disco_seal(uint8_t *out, size_t cap, const struct disco_public *sender,
		  const struct disco_shared *s, const struct disco_msg *m);

/* Opens and strictly decodes a datagram already matched to the peer whose key made `s`. */
enum disco_verdict disco_open(const uint8_t *p, size_t n, const struct disco_shared *s,
			      struct disco_msg *out) __attribute__((warn_unused_result));

/* disco_open, after checking that the sender key is `expect`. */
enum disco_verdict disco_open_from(const uint8_t *p, size_t n, const struct disco_public *expect,
				   const struct disco_shared *s, struct disco_msg *out)
	__attribute__((warn_unused_result));

void disco_count(struct disco_counters *c, enum disco_verdict v, const struct disco_msg *m);
const char *disco_verdict_name(enum disco_verdict v);
const char *disco_type_name(enum disco_type t);

/*
 * Recently seen ping transaction IDs for one peer, so a replayed ping is not
 * answered twice within `ttl`. Fixed size: the oldest entry is forgotten first.
 * (Replayed pongs need no cache: a pong is matched to one outstanding ping and
 * that ping is then forgotten.)
 */
enum { DISCO_SEEN_SLOTS = 16 };
struct disco_seen {
	uint8_t txid[DISCO_SEEN_SLOTS][DISCO_TXID_LEN];
	uint64_t at[DISCO_SEEN_SLOTS];
	unsigned next;
};
void disco_seen_init(struct disco_seen *s);
/* True (and remembered) if txid is new within ttl_ns; false for a replay. */
bool disco_seen_check(struct disco_seen *s, const uint8_t txid[static DISCO_TXID_LEN],
		      uint64_t now_ns, uint64_t ttl_ns);

#endif

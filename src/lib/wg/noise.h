/* SPDX-License-Identifier: ISC */
/*
 * noise: WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake, exactly
 * as the whitepaper (section 5.4) constructs it: creating and consuming
 * initiations and responses, TAI64N timestamps with replay and flood
 * rejection, and the derivation of transport keys. Pure state transitions:
 * index allocation, peer lookup and MACs belong to the caller (device, cookie).
 */
#ifndef WEFT_WG_NOISE_H
#define WEFT_WG_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

struct noise_local {
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	bool has_identity;
};

enum noise_state {
	NOISE_STATE_ZEROED = 0,
	NOISE_STATE_CREATED_INITIATION,
	NOISE_STATE_CONSUMED_INITIATION,
	NOISE_STATE_CREATED_RESPONSE,
	NOISE_STATE_CONSUMED_RESPONSE,
};

/* One per peer: the remote identity plus the state of the handshake in flight. */
struct noise_handshake {
	enum noise_state state;
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t precomputed_ss[WG_KEY_LEN]; /* DH(local static, remote static); zero if unusable */
	uint8_t psk[WG_KEY_LEN];
	uint8_t ephemeral_private[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint8_t latest_timestamp[WG_TIMESTAMP_LEN];
	uint64_t last_initiation_consumed_ns; /* 0 = never */
	uint32_t local_index;
	uint32_t remote_index;
};

/*
 * The responder's view of an initiation between decrypting the sender's
 * static key (which tells the caller which peer it is) and accepting it.
 */
struct noise_initiation {
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint32_t remote_index;
};

/* Sets (priv != NULL) or clears the local identity. */
void noise_local_set(struct noise_local *l, const uint8_t *priv);

/* A fresh handshake with a remote static key and optional pre-shared key. */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_local *l,
			  const uint8_t remote_static[static WG_KEY_LEN], const uint8_t *psk);
/* Recomputes DH(local, remote) after the local identity changed; clears state in flight. */
void noise_handshake_rekey_local(struct noise_handshake *hs, const struct noise_local *l);
void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t *psk);
/* Forgets the handshake in flight (keeps identity, timestamp and flood state). */
void noise_handshake_clear(struct noise_handshake *hs);
/* Wipes everything. */
void noise_handshake_wipe(struct noise_handshake *hs);

/*
 * Initiator: fills msg up to (not including) mac1/mac2. wall_ns is real time
 * for the TAI64N timestamp. -EINVAL without an identity or with a peer whose
 * static DH is unusable.
 */
int noise_create_initiation(const struct noise_local *l, struct noise_handshake *hs,
			    struct wg_msg_initiation *msg, uint32_t local_index, uint64_t wall_ns)
	__attribute__((warn_unused_result));

/* Responder, step 1: decrypts the initiator's static key. -EBADMSG if it does not open. */
int noise_initiation_open(const struct noise_local *l, const struct wg_msg_initiation *msg,
			  struct noise_initiation *in) __attribute__((warn_unused_result));
/*
 * Responder, step 2, with the peer found by in->remote_static: decrypts the
 * timestamp and accepts the initiation if it is newer than the last one
 * (-EALREADY: replay) and not within 1/INITIATIONS_PER_SECOND of the last
 * accepted one (-EBUSY: flood). Wipes `in` either way.
 */
int noise_initiation_accept(struct noise_handshake *hs, const struct wg_msg_initiation *msg,
			    struct noise_initiation *in, uint64_t now_ns)
	__attribute__((warn_unused_result));

/* Responder: fills msg up to mac1. Requires CONSUMED_INITIATION. */
int noise_create_response(struct noise_handshake *hs, struct wg_msg_response *msg,
			  uint32_t local_index) __attribute__((warn_unused_result));

/* Initiator: consumes a response addressed to hs->local_index. Requires CREATED_INITIATION. */
int noise_consume_response(const struct noise_local *l, struct noise_handshake *hs,
			   const struct wg_msg_response *msg) __attribute__((warn_unused_result));

/*
 * Derives the transport keys after CREATED_RESPONSE (responder) or
 * CONSUMED_RESPONSE (initiator), then clears the handshake. *initiator says
 * which side we were; the indices are hs's at the time of the call.
 */
int noise_derive_keys(struct noise_handshake *hs, uint8_t send[static WG_KEY_LEN],
		      uint8_t recv[static WG_KEY_LEN], bool *initiator, uint32_t *local_index,
		      uint32_t *remote_index) __attribute__((warn_unused_result));

/* TAI64N of a wall-clock time, with the low nanoseconds whitened (as wireguard-go does). */
void noise_tai64n(uint8_t out[static WG_TIMESTAMP_LEN], uint64_t wall_ns);

#endif

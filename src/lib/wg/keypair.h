/* SPDX-License-Identifier: ISC */
/*
 * keypair: one session's transport keys with its send counter and replay
 * window, refcounted so a data-path thread can seal or open with it after the
 * device lock is dropped; and the previous/current/next rotation of a peer's
 * keypairs (the responder's new keypair waits in `next` until the initiator's
 * first data packet confirms it). Keys are wiped when the last reference goes.
 */
#ifndef WEFT_WG_KEYPAIR_H
#define WEFT_WG_KEYPAIR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/messages.h"
#include "wg/replay.h"

struct aead_ctx;
struct wg_peer;

struct wg_keypair {
	_Atomic uint32_t kp_refcount;
	uint64_t kp_id; /* unique per process: aead_ctx caches the key by it */
	uint8_t kp_send[WG_KEY_LEN];
	uint8_t kp_recv[WG_KEY_LEN];
	uint64_t kp_send_counter;     /* next counter to use; device lock */
	struct replay_window kp_replay; /* device lock */
	uint64_t kp_birth_ns;
	uint32_t kp_local_index;
	uint32_t kp_remote_index;
	bool kp_initiator;
	struct wg_peer *kp_peer; /* NULL once the peer is gone; device lock */
};

/* The three slots of a peer. Device lock. */
struct wg_keypairs {
	struct wg_keypair *prev;
	struct wg_keypair *cur;
	struct wg_keypair *next;
};

/* A new keypair with one reference (the caller's), keys copied in. */
int wg_keypair_new(const uint8_t send[static WG_KEY_LEN], const uint8_t recv[static WG_KEY_LEN],
		   bool initiator, uint32_t local_index, uint32_t remote_index, uint64_t now_ns,
		   struct wg_keypair **out) __attribute__((warn_unused_result));
struct wg_keypair *wg_keypair_get(struct wg_keypair *kp);
/* Drops a reference; the last one wipes and frees. NULL is a no-op. */
void wg_keypair_put(struct wg_keypair *kp);

/* Usable for sending/receiving at `now`: not older than REJECT_AFTER_TIME. */
bool wg_keypair_is_live(const struct wg_keypair *kp, uint64_t now_ns);

/*
 * Data message layout: `buf` holds WG_DATA_HEADER_LEN bytes of room, then the
 * plaintext of `len` bytes, then room for padding and the tag. Writes the
 * header, pads the plaintext to a multiple of 16 (but not beyond `mtu`, 0 =
 * no limit) and seals in place. Returns the datagram length.
 */
size_t wg_keypair_padded_len(size_t len, unsigned mtu);
int wg_keypair_seal(const struct wg_keypair *kp, struct aead_ctx *ctx, uint64_t counter,
		    uint8_t *buf, size_t len, unsigned mtu, size_t *outlen)
	__attribute__((warn_unused_result));
/*
 * Opens a data message in place (the header's receiver index already matched
 * kp). On success the plaintext is at buf + WG_DATA_HEADER_LEN, *plen bytes,
 * and *counter the message's counter (not yet checked against replay).
 */
int wg_keypair_open(const struct wg_keypair *kp, struct aead_ctx *ctx, uint8_t *buf, size_t len,
		    size_t *plen, uint64_t *counter) __attribute__((warn_unused_result));

/*
 * Installs a freshly derived keypair (consumes the caller's reference). An
 * initiator's keypair becomes current at once; a responder's waits in next.
 * Displaced keypairs are returned through `dropped` (up to 3) for the caller
 * to unindex and put.
 */
void wg_keypairs_install(struct wg_keypairs *s, struct wg_keypair *kp,
			 struct wg_keypair *dropped[static 3], size_t *ndropped);
/*
 * Called when a data packet authenticated with `kp`: if kp is next, it is
 * promoted to current (returns true: the handshake is confirmed), and the old
 * previous is returned in *dropped.
 */
bool wg_keypairs_received_with(struct wg_keypairs *s, struct wg_keypair *kp,
			       struct wg_keypair **dropped);
/* Empties the slots into `dropped` (up to 3). */
void wg_keypairs_clear(struct wg_keypairs *s, struct wg_keypair *dropped[static 3],
		       size_t *ndropped);

#endif

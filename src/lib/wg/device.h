/* SPDX-License-Identifier: ISC */
/*
 * device: a WireGuard interface without I/O. It owns the local identity, the
 * peers (by public key), the receiver-index table, cryptokey routing
 * (allowedips), the cookie checker and the handshake rate limiter, and runs
 * the handshake and timer logic. Datagrams it wants sent go out through
 * ops->send; the threaded daemon and the unit tests are its two callers.
 *
 * The data path is split so that crypto runs without the lock:
 *   TX: wg_device_tx_prepare (lock) -> wg_keypair_seal (no lock) -> send
 *       -> wg_device_tx_complete (lock)
 *   RX: wg_device_rx_prepare (lock) -> wg_keypair_open (no lock)
 *       -> wg_device_rx_complete (lock) -> deliver
 * Everything else needs the caller's device lock; the lib takes none.
 */
#ifndef WEFT_WG_DEVICE_H
#define WEFT_WG_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "wg/messages.h"

struct wg_device;
struct wg_peer;
struct wg_keypair;
struct aead_ctx;

struct wg_device_ops {
	/* Sends one datagram now (handshake, cookie reply, keepalive, staged data). */
	void (*send)(void *arg, struct wg_peer *peer, const struct netendpoint *to,
		     const uint8_t *pkt, size_t len);
	/* Real time in nanoseconds since the epoch (TAI64N, "latest handshake"). */
	uint64_t (*wall_ns)(void *arg);
};

/* Every dropped or refused packet lands in exactly one of these. */
#define WG_COUNTERS(X)                                                                             \
	X(rx_bad_length)                                                                           \
	X(rx_bad_type)                                                                             \
	X(rx_unknown_index)                                                                        \
	X(rx_key_expired)                                                                          \
	X(rx_decrypt_failed)                                                                       \
	X(rx_replayed)                                                                             \
	X(rx_bad_inner)                                                                            \
	X(rx_bad_source)                                                                           \
	X(rx_mac1_invalid)                                                                         \
	X(rx_cookie_sent)                                                                          \
	X(rx_ratelimited)                                                                          \
	X(rx_handshake_invalid)                                                                    \
	X(rx_handshake_unknown_peer)                                                               \
	X(rx_handshake_replayed)                                                                   \
	X(rx_handshake_flood)                                                                      \
	X(rx_cookie_invalid)                                                                       \
	X(rx_handshakes)                                                                           \
	X(rx_keepalives)                                                                           \
	X(tx_no_route)                                                                             \
	X(tx_bad_packet)                                                                           \
	X(tx_no_endpoint)                                                                          \
	X(tx_staged_dropped)                                                                       \
	X(tx_handshakes)                                                                           \
	X(tx_keepalives)

struct wg_counters {
#define WG_COUNTER_FIELD(name) uint64_t name;
	WG_COUNTERS(WG_COUNTER_FIELD)
#undef WG_COUNTER_FIELD
};
extern const char *const wg_counter_names[];
size_t wg_counters_count(void);
uint64_t wg_counters_get(const struct wg_counters *c, size_t i);

int wg_device_new(const struct wg_device_ops *ops, void *arg, struct wg_device **out)
	__attribute__((warn_unused_result));
/* Removes every peer and wipes the identity. NULL is a no-op. */
void wg_device_free(struct wg_device *dev);

/* Sets (NULL: clears) the private key; handshakes and sessions restart. */
void wg_device_set_private_key(struct wg_device *dev, const uint8_t *priv);
/* Copies the (clamped) private key out; false when none is set. Wipe the copy. */
bool wg_device_private_key(const struct wg_device *dev, uint8_t out[static WG_KEY_LEN]);
bool wg_device_public_key(const struct wg_device *dev, uint8_t out[static WG_KEY_LEN]);
/* The TUN MTU, used to cap padding (0: pad freely). */
void wg_device_set_mtu(struct wg_device *dev, unsigned mtu);
const struct wg_counters *wg_device_counters(const struct wg_device *dev);

/* Peers. */
int wg_device_peer_add(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN],
		       struct wg_peer **out) __attribute__((warn_unused_result));
struct wg_peer *wg_device_peer_find(const struct wg_device *dev,
				    const uint8_t pub[static WG_KEY_LEN]);
void wg_device_peer_remove(struct wg_device *dev, struct wg_peer *peer);
void wg_device_peers_clear(struct wg_device *dev);
size_t wg_device_peer_count(const struct wg_device *dev);
/* Iteration in insertion order: for (p = first(dev); p; p = next(p)). */
struct wg_peer *wg_device_peer_first(const struct wg_device *dev);
struct wg_peer *wg_peer_next(const struct wg_peer *peer);

void wg_peer_set_psk(struct wg_peer *peer, const uint8_t *psk);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct netendpoint *ep);
/* 0 turns persistent keepalive off; a new non-zero value sends one at once. */
void wg_peer_set_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now);
int wg_peer_allowedip_add(struct wg_peer *peer, const struct netprefix *p)
	__attribute__((warn_unused_result));
void wg_peer_allowedips_clear(struct wg_peer *peer);
/* Calls fn for each of the peer's allowed IPs, in a stable order; stops at fn's first error. */
int wg_peer_allowedips_walk(const struct wg_peer *peer,
			    int (*fn)(const struct netprefix *p, void *arg), void *arg);
/* Opaque pointer for the caller (per-peer state of the daemon). */
void wg_peer_set_user(struct wg_peer *peer, void *user);
void *wg_peer_user(const struct wg_peer *peer);

struct wg_peer_info {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN]; /* wipe after use */
	bool has_psk;
	struct netendpoint endpoint;
	bool has_endpoint;
	uint64_t last_handshake_wall_ns; /* 0 = never */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint16_t persistent_keepalive;
};
void wg_peer_info(const struct wg_peer *peer, struct wg_peer_info *info);
const uint8_t *wg_peer_public_key(const struct wg_peer *peer);

/* Control path: handshake messages (types 1-3) as received from `src`. */
void wg_device_handshake_input(struct wg_device *dev, const uint8_t *pkt, size_t len,
			       const struct netendpoint *src, bool under_load, uint64_t now);
/* Runs every due timer. Call at least every 100 ms, or at wg_device_next_deadline. */
void wg_device_tick(struct wg_device *dev, uint64_t now);
uint64_t wg_device_next_deadline(const struct wg_device *dev);
/* Starts a handshake with the peer now (rate-limited to one per REKEY_TIMEOUT). */
void wg_peer_initiate(struct wg_peer *peer, uint64_t now);
void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now);

/* Classification of a datagram by its first four bytes (type + zero reserved bytes). */
enum wg_msg_kind {
	WG_KIND_INVALID = 0,
	WG_KIND_HANDSHAKE, /* initiation, response or cookie reply, of the right length */
	WG_KIND_DATA,
};
enum wg_msg_kind wg_msg_classify(const uint8_t *pkt, size_t len);

/* Data path, TX. */
enum wg_tx_verdict {
	WG_TX_SEND,   /* ticket filled: seal with ticket.kp and send to ticket.to */
	WG_TX_STAGED, /* kept until a handshake completes */
	WG_TX_DROP,   /* counted */
};
struct wg_tx_ticket {
	struct wg_keypair *kp; /* a reference: give it back through tx_complete */
	uint64_t counter;
	struct netendpoint to;
	struct wg_peer *peer;
};
/* Decides the fate of one IP packet from the TUN. */
enum wg_tx_verdict wg_device_tx_prepare(struct wg_device *dev, const uint8_t *ip, size_t len,
					uint64_t now, struct wg_tx_ticket *t);
/* Accounts a sealed datagram of `wire_len` bytes and releases the ticket. */
void wg_device_tx_complete(struct wg_device *dev, struct wg_tx_ticket *t, size_t wire_len,
			   bool is_data, uint64_t now);

/* Data path, RX. */
/* Finds the live keypair for a data message; 0 and a reference in *kp, or -errno (counted). */
int wg_device_rx_prepare(struct wg_device *dev, const uint8_t *msg, size_t len, uint64_t now,
			 struct wg_keypair **kp) __attribute__((warn_unused_result));
/* Failed decryption: counts it and releases kp. */
void wg_device_rx_failed(struct wg_device *dev, struct wg_keypair *kp);
enum wg_rx_verdict {
	WG_RX_DELIVER,	 /* plaintext IP packet of *inner_len bytes for the TUN */
	WG_RX_KEEPALIVE, /* authenticated, empty: nothing to deliver */
	WG_RX_DROP,	 /* counted */
};
/*
 * After a successful open: replay check, key rotation, roaming to `src`,
 * timers, inner-packet checks (length, source allowed for this peer).
 * Releases kp. *peer_out is the peer on DELIVER/KEEPALIVE.
 */
enum wg_rx_verdict wg_device_rx_complete(struct wg_device *dev, struct wg_keypair *kp,
					 uint64_t counter, const uint8_t *plain, size_t plen,
					 size_t wire_len, const struct netendpoint *src,
					 uint64_t now, size_t *inner_len,
					 struct wg_peer **peer_out);

/* Parses an IP packet's version, addresses and total length; -EINVAL if malformed. */
int wg_ip_addrs(const uint8_t *ip, size_t len, struct netaddr *src, struct netaddr *dst,
		size_t *total_len) __attribute__((warn_unused_result));

#endif

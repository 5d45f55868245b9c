/* SPDX-License-Identifier: ISC */
/*
 * cookie: WireGuard's DoS defence (whitepaper section 5.4.7). The maker (one
 * per peer) puts mac1 and, once it holds a fresh cookie, mac2 on outgoing
 * handshake messages and opens cookie replies. The checker (one per device)
 * verifies mac1/mac2 on incoming handshakes and, under load, builds the
 * cookie reply bound to the sender's address with a secret rotated every two
 * minutes.
 */
#ifndef WEFT_WG_COOKIE_H
#define WEFT_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "wg/messages.h"

struct cookie_checker {
	uint8_t mac1_key[WG_KEY_LEN];	/* HASH("mac1----" || our public key) */
	uint8_t encrypt_key[WG_KEY_LEN]; /* HASH("cookie--" || our public key) */
	uint8_t secret[WG_KEY_LEN];
	uint64_t secret_birth_ns;
	bool secret_valid;
	bool has_identity;
};

struct cookie_maker {
	uint8_t mac1_key[WG_KEY_LEN];	 /* HASH("mac1----" || peer public key) */
	uint8_t decrypt_key[WG_KEY_LEN]; /* HASH("cookie--" || peer public key) */
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool cookie_valid;
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

/* What the checker thinks of an incoming handshake message. */
enum cookie_verdict {
	COOKIE_INVALID_MAC = 0, /* mac1 wrong: drop silently */
	COOKIE_VALID_MAC1,	/* mac1 right; mac2 not checked (not under load) */
	COOKIE_NEED_COOKIE,	/* under load, mac2 missing or wrong: send a cookie reply */
	COOKIE_VALID_MAC2,	/* under load and mac2 right: process, rate-limited */
};

/* `pub` may be NULL (no identity: every message is COOKIE_INVALID_MAC). */
void cookie_checker_init(struct cookie_checker *c, const uint8_t *pub);
void cookie_maker_init(struct cookie_maker *m, const uint8_t peer_pub[static WG_KEY_LEN]);
void cookie_checker_wipe(struct cookie_checker *c);
void cookie_maker_wipe(struct cookie_maker *m);

/*
 * Writes mac1 and mac2 into the last 32 bytes of an outgoing initiation or
 * response (`msg` of `len` bytes).
 */
void cookie_maker_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/* Checks an incoming initiation or response; mac2 only when `under_load`. */
enum cookie_verdict cookie_checker_validate(struct cookie_checker *c, const uint8_t *msg,
					    size_t len, const struct netendpoint *src,
					    bool under_load, uint64_t now_ns);

/* Builds the reply to a handshake message that got COOKIE_NEED_COOKIE. */
void cookie_checker_create_reply(struct cookie_checker *c, struct wg_msg_cookie *reply,
				 const uint8_t *msg, size_t len, uint32_t receiver_index,
				 const struct netendpoint *src, uint64_t now_ns);

/* Opens a cookie reply; -EBADMSG if it does not authenticate or was not asked for. */
int cookie_maker_consume_reply(struct cookie_maker *m, const struct wg_msg_cookie *reply,
			       uint64_t now_ns) __attribute__((warn_unused_result));

#endif

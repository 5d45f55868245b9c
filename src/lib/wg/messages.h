/* SPDX-License-Identifier: ISC */
/*
 * messages: WireGuard's four wire messages as byte-exact structs of byte
 * arrays (no padding, no alignment assumptions, sizes pinned below), and the
 * protocol constants from the whitepaper. docs/PROTOCOL.md section 1 mirrors
 * this file.
 */
#ifndef WEFT_WG_MESSAGES_H
#define WEFT_WG_MESSAGES_H

#include <stdint.h>

enum wg_message_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE = 3,
	WG_MSG_DATA = 4,
};

enum {
	WG_KEY_LEN = 32,
	WG_HASH_LEN = 32,
	WG_TAG_LEN = 16,
	WG_MAC_LEN = 16,
	WG_COOKIE_LEN = 16,
	WG_COOKIE_NONCE_LEN = 24,
	WG_TIMESTAMP_LEN = 12,
	WG_DATA_HEADER_LEN = 16,
	WG_PADDING = 16,
};

struct wg_msg_initiation {
	uint8_t type; /* 1 */
	uint8_t reserved[3];
	uint8_t sender[4]; /* sender index, little-endian */
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t static_enc[WG_KEY_LEN + WG_TAG_LEN];
	uint8_t timestamp_enc[WG_TIMESTAMP_LEN + WG_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct wg_msg_response {
	uint8_t type; /* 2 */
	uint8_t reserved[3];
	uint8_t sender[4];
	uint8_t receiver[4];
	uint8_t ephemeral[WG_KEY_LEN];
	uint8_t empty_enc[WG_TAG_LEN];
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
};

struct wg_msg_cookie {
	uint8_t type; /* 3 */
	uint8_t reserved[3];
	uint8_t receiver[4];
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t cookie_enc[WG_COOKIE_LEN + WG_TAG_LEN];
};

/* Transport data: this header, then the padded plaintext sealed, then the tag. */
struct wg_msg_data {
	uint8_t type; /* 4 */
	uint8_t reserved[3];
	uint8_t receiver[4];
	uint8_t counter[8]; /* little-endian nonce counter */
};

_Static_assert(sizeof(struct wg_msg_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct wg_msg_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct wg_msg_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct wg_msg_data) == WG_DATA_HEADER_LEN, "data header is 16 bytes");

/* Offsets of the MACs: mac1 covers everything before it, mac2 everything before mac2. */
#define WG_INITIATION_MAC1_OFF 116
#define WG_INITIATION_MAC2_OFF 132
#define WG_RESPONSE_MAC1_OFF 60
#define WG_RESPONSE_MAC2_OFF 76
_Static_assert(__builtin_offsetof(struct wg_msg_initiation, mac1) == WG_INITIATION_MAC1_OFF, "");
_Static_assert(__builtin_offsetof(struct wg_msg_initiation, mac2) == WG_INITIATION_MAC2_OFF, "");
_Static_assert(__builtin_offsetof(struct wg_msg_response, mac1) == WG_RESPONSE_MAC1_OFF, "");
_Static_assert(__builtin_offsetof(struct wg_msg_response, mac2) == WG_RESPONSE_MAC2_OFF, "");

/* Smallest valid data message: header + tag (a keepalive, empty plaintext). */
#define WG_DATA_MIN_LEN (WG_DATA_HEADER_LEN + WG_TAG_LEN)
/* Overhead a data message adds to a padded plaintext. */
#define WG_DATA_OVERHEAD (WG_DATA_HEADER_LEN + WG_TAG_LEN)

/* Protocol timing and limits (whitepaper section 6; times in nanoseconds). */
#define WG_NS(s) ((uint64_t)(s) * 1000000000ULL)
#define WG_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13) - 1)
#define WG_REKEY_AFTER_TIME WG_NS(120)
#define WG_REJECT_AFTER_TIME WG_NS(180)
#define WG_REKEY_ATTEMPT_TIME WG_NS(90)
#define WG_REKEY_TIMEOUT WG_NS(5)
#define WG_REKEY_TIMEOUT_JITTER_MAX_NS 333333333ULL /* up to a third of a second */
#define WG_KEEPALIVE_TIMEOUT WG_NS(10)
#define WG_COOKIE_SECRET_MAX_AGE WG_NS(120)
#define WG_COOKIE_SECRET_LATENCY WG_NS(5)
#define WG_MAX_TIMER_HANDSHAKES (WG_REKEY_ATTEMPT_TIME / WG_REKEY_TIMEOUT) /* 18 */
#define WG_INITIATIONS_PER_SECOND 50
#define WG_MAX_STAGED_PACKETS 128

#endif

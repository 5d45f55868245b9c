/* SPDX-License-Identifier: ISC */
/*
 * uapi: the cross-platform userspace configuration protocol that wg(8) speaks
 * to a userspace WireGuard over /var/run/wireguard/IFNAME.sock. Parses a
 * request, line by line, into one validated change (struct uapi_device_config)
 * and renders the get=1 answer from a plain description of the device.
 * docs/PROTOCOL.md section 2 gives the text format and the errno values.
 */
#ifndef WEFT_WG_UAPI_H
#define WEFT_WG_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"

/* Longest line accepted, without its '\n'; wg(8)'s longest is 78 bytes. */
#define UAPI_LINE_MAX 256
/* Per request. wireguard-go's MaxPeers; allowed IPs with room for 100k-route configs. */
#define UAPI_MAX_PEERS 65536
#define UAPI_MAX_ALLOWED_IPS (1U << 20)
/* "errno=-2147483648\n\n" and a NUL. */
#define UAPI_ERRNO_TEXT_MAX 24

enum uapi_op {
	UAPI_OP_GET = 1,
	UAPI_OP_SET = 2,
};

/* uapi_parser_line results besides negative errno values. */
enum uapi_parse_result {
	UAPI_MORE = 0,
	UAPI_DONE = 1,
};

/* Which device fields a set request carries. */
enum uapi_device_flag {
	UAPI_DEVICE_F_PRIVATE_KEY = 1U << 0,
	UAPI_DEVICE_F_LISTEN_PORT = 1U << 1,
	UAPI_DEVICE_F_FWMARK = 1U << 2,
	UAPI_DEVICE_F_REPLACE_PEERS = 1U << 3,
};

/* Which peer fields a set request carries. */
enum uapi_peer_flag {
	UAPI_PEER_F_REMOVE = 1U << 0,
	UAPI_PEER_F_UPDATE_ONLY = 1U << 1,
	UAPI_PEER_F_PRESHARED_KEY = 1U << 2,
	UAPI_PEER_F_ENDPOINT = 1U << 3,
	UAPI_PEER_F_KEEPALIVE = 1U << 4,
	UAPI_PEER_F_REPLACE_ALLOWED_IPS = 1U << 5,
};

/*
 * One peer section of a set request, in the order the request gave it. A
 * public key may appear in several sections; apply them in order. With
 * UAPI_PEER_F_REMOVE the other fields are validated but carry no meaning.
 */
struct uapi_peer_config {
	uint32_t flags;				/* enum uapi_peer_flag */
	struct node_public public_key;		/* may be all zero; the daemon decides */
	struct wg_psk preshared_key;		/* all zero removes the PSK */
	struct netendpoint endpoint;		/* no IPv6 zone */
	uint16_t persistent_keepalive_interval; /* seconds; 0 turns it off */
	size_t n_allowed_ips;
	struct netprefix *allowed_ips; /* masked, in request order, duplicates kept */
};

/* A whole set request, applied as one change. Heap-owned: uapi_device_config_free. */
struct uapi_device_config {
	uint32_t flags;			 /* enum uapi_device_flag */
	struct node_private private_key; /* clamped; all zero removes the key */
	uint16_t listen_port;		 /* 0 picks a free port */
	uint32_t fwmark;		 /* 0 turns it off */
	size_t n_peers;
	struct uapi_peer_config *peers;
};

/* Wipes the keys and frees everything. */
void uapi_device_config_free(struct uapi_device_config *c);

struct uapi_request {
	enum uapi_op op;
	struct uapi_device_config *config; /* set only; the caller owns it */
};

struct uapi_parser;

int uapi_parser_new(struct uapi_parser **out) __attribute__((warn_unused_result));
void uapi_parser_free(struct uapi_parser *p);

/*
 * Feeds one line without its '\n' (a trailing '\r' is dropped, as Go's
 * bufio.Scanner does). Returns UAPI_MORE; UAPI_DONE when a blank line ends a
 * request, which is then in *req and the parser ready for the next one; or a
 * negative errno to answer as "errno=N" (uapi_errno_format), after which
 * every further line gets the same error: answer and close the connection.
 */
int uapi_parser_line(struct uapi_parser *p, const char *line, size_t len, struct uapi_request *req)
	__attribute__((warn_unused_result));

/*
 * Why the parser failed, for the log: "line 4: listen_port: not a number in
 * 0-65535". Names the key only when it is a known one and never quotes a value.
 */
const char *uapi_parser_error(const struct uapi_parser *p);

/*
 * Parses the first request in buf[0..len): 0 with *req filled and *consumed
 * set, -EAGAIN when buf ends before the request does, or the errno of
 * uapi_parser_line (then *consumed is not set).
 */
int uapi_request_parse(const char *buf, size_t len, struct uapi_request *req, size_t *consumed)
	__attribute__((warn_unused_result));

/* One peer as get=1 reports it. Secrets are borrowed pointers: nothing to wipe. */
struct uapi_peer_info {
	struct node_public public_key;
	const struct wg_psk *preshared_key; /* NULL: none (printed as zeros, as wireguard-go) */
	struct netendpoint endpoint;	    /* family NETADDR_NONE: no endpoint yet */
	uint64_t last_handshake_sec;	    /* wall clock; 0 and 0 for never */
	uint32_t last_handshake_nsec;
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint16_t persistent_keepalive_interval;
	size_t n_allowed_ips;
	const struct netprefix *allowed_ips;
};

struct uapi_device_info {
	const struct node_private *private_key; /* NULL or all zero: not printed */
	uint16_t listen_port;			/* 0: not printed */
	uint32_t fwmark;			/* 0: not printed */
	size_t n_peers;
	const struct uapi_peer_info *peers;
};

/*
 * Renders the whole get=1 answer, ending in "errno=0\n\n", into one new
 * buffer (*out, *len bytes, NUL-terminated). It holds private and preshared
 * keys: release it with uapi_text_free, which wipes it. -ENOMEM, -EOVERFLOW.
 */
int uapi_get_format(const struct uapi_device_info *d, char **out, size_t *len)
	__attribute__((warn_unused_result));
void uapi_text_free(char *text, size_t len);

/* "errno=N\n\n" for err (0 or a negative errno) into out; returns its length. */
size_t uapi_errno_format(char out[static UAPI_ERRNO_TEXT_MAX], int err);

#endif

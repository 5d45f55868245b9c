/* SPDX-License-Identifier: ISC */
/*
 * stun: RFC 5389 Binding requests and responses, the only STUN weft speaks:
 * build a request with a transaction ID (SOFTWARE and FINGERPRINT), answer
 * one with the observed address (XOR-MAPPED-ADDRESS), and parse both strictly
 * (attribute bounds, padding, FINGERPRINT, unknown comprehension-required
 * attributes). docs/PROTOCOL.md section 5 mirrors this file.
 */
#ifndef WEFT_STUN_STUN_H
#define WEFT_STUN_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

enum {
	STUN_HEADER_LEN = 20,
	STUN_TXID_LEN = 12,
	STUN_MAGIC_COOKIE = 0x2112A442,
	STUN_MSG_MAX = 548,	 /* the largest message weft accepts (RFC 5389 7.1 minimum MTU) */
	STUN_REQUEST_LEN = 36,	 /* header + SOFTWARE("weft") + FINGERPRINT */
	STUN_RESPONSE_MAX = 60,	 /* header + XOR-MAPPED-ADDRESS(v6) + SOFTWARE + FINGERPRINT */
	STUN_SOFTWARE_MAX = 763, /* RFC 5389 15.10: fewer than 128 characters, 763 bytes */
};

/* Message types (method Binding = 0x001 with the class bits). */
enum stun_msg_type {
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_INDICATION = 0x0011,
	STUN_BINDING_SUCCESS = 0x0101,
	STUN_BINDING_ERROR = 0x0111,
};

/* Attribute types weft knows. Below 0x8000 an attribute is comprehension-required. */
enum stun_attr_type {
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_PRIORITY = 0x0024,	  /* ICE (RFC 8445) */
	STUN_ATTR_USE_CANDIDATE = 0x0025, /* ICE */
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_ATTR_ICE_CONTROLLED = 0x8029,
	STUN_ATTR_ICE_CONTROLLING = 0x802A,
};

#define STUN_FINGERPRINT_XOR 0x5354554eU /* "STUN" */

/* Why a datagram was not accepted; each has a counter in struct stun_counters. */
enum stun_verdict {
	STUN_OK = 0,
	STUN_E_SHORT,	     /* shorter than a header, or length field beyond the datagram */
	STUN_E_NOT_STUN,     /* top bits, magic cookie or length alignment wrong */
	STUN_E_TYPE,	     /* not the message type asked for */
	STUN_E_ATTR,	     /* attribute runs past the end, bad padding, bad length for its type */
	STUN_E_UNKNOWN_ATTR, /* a comprehension-required attribute weft does not understand */
	STUN_E_DUPLICATE,    /* an attribute weft uses appears twice */
	STUN_E_FINGERPRINT,  /* FINGERPRINT wrong, or not last */
	STUN_E_ORDER,	     /* something after MESSAGE-INTEGRITY other than FINGERPRINT */
	STUN_E_NO_ADDRESS,   /* a success response without a mapped address */
	STUN_E_ADDRESS,	     /* an address attribute with a bad family or length */
	STUN_E_TXID,	     /* transaction ID does not match (stun_response_parse_for) */
	STUN_VERDICT_COUNT,
};

struct stun_counters {
	uint64_t ok;
	uint64_t rejected[STUN_VERDICT_COUNT];
};

/* A parsed message: only what a binding exchange needs. */
struct stun_msg {
	uint16_t type;
	uint8_t txid[STUN_TXID_LEN];
	bool has_fingerprint;
	bool has_integrity;
	size_t integrity_off; /* offset of the MESSAGE-INTEGRITY attribute header */
	bool has_mapped;
	struct netendpoint mapped; /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS */
	bool mapped_from_xor;
	const uint8_t *software; /* points into the datagram, not NUL-terminated */
	size_t software_len;
};

/*
 * The demultiplexing test for a UDP socket shared with WireGuard and disco:
 * at least a header, top two bits of byte 0 clear, the magic cookie, a
 * 4-aligned length that matches the datagram. Cheap; parse to trust it.
 */
bool stun_is_packet(const uint8_t *p, size_t n);

/*
 * Builds a Binding request with `txid`, a SOFTWARE attribute ("weft") and a
 * FINGERPRINT into out (at least STUN_REQUEST_LEN bytes). Returns its length.
 */
size_t stun_request_build(uint8_t out[static STUN_REQUEST_LEN],
			  const uint8_t txid[static STUN_TXID_LEN]);

/*
 * Builds the success response to request `txid` that tells the client it was
 * seen at `mapped`: XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT. Returns the
 * length (<= STUN_RESPONSE_MAX) or 0 if `mapped` is not IPv4 or IPv6.
 */
size_t stun_response_build(uint8_t out[static STUN_RESPONSE_MAX],
			   const uint8_t txid[static STUN_TXID_LEN],
			   const struct netendpoint *mapped);

/*
 * Strict parse of any message: header, every attribute's bounds and padding,
 * FINGERPRINT (checked when present; must be last), MESSAGE-INTEGRITY
 * position (its HMAC is not checked: see stun_integrity_check), known
 * address attributes, and no unknown comprehension-required attribute.
 */
enum stun_verdict stun_parse(const uint8_t *p, size_t n, struct stun_msg *out)
	__attribute__((warn_unused_result));

/* A Binding request (what a STUN server answers). */
enum stun_verdict stun_request_parse(const uint8_t *p, size_t n, struct stun_msg *out)
	__attribute__((warn_unused_result));

/* A Binding success response carrying a mapped address. */
enum stun_verdict stun_response_parse(const uint8_t *p, size_t n, struct stun_msg *out)
	__attribute__((warn_unused_result));

/*
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1 with a short-term credential key, RFC
 * 5389 15.4) of a message stun_parse accepted. Weft's own binding exchanges
 * carry none; this exists for interoperating servers and the RFC 5769 vectors.
 */
bool stun_integrity_check(const uint8_t *p, size_t n, const struct stun_msg *m, const uint8_t *key,
			  size_t keylen);

/* Counts one parse result. */
void stun_count(struct stun_counters *c, enum stun_verdict v);
/* "short", "not-stun", ... for logs and JSON. */
const char *stun_verdict_name(enum stun_verdict v);

#endif

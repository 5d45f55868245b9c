/* SPDX-License-Identifier: ISC */
/*
 * ippkt: the IP packets weftd answers itself instead of sending them into the
 * tunnel (MagicDNS at 100.100.100.100). A strict parser of one IPv4 or IPv6
 * packet carrying UDP or TCP (lengths, no fragments or extension headers,
 * checksums verified, TCP options walked for MSS), and builders for UDP and
 * TCP replies with complete headers and checksums.
 */
#ifndef WEFT_NET_IPPKT_H
#define WEFT_NET_IPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

#define IPPKT_PROTO_TCP 6
#define IPPKT_PROTO_UDP 17
/* Room for the largest header a builder writes: IPv6 (40) + TCP with the MSS option (24). */
#define IPPKT_HDR_MAX 64
#define IPPKT_TTL 64

enum ippkt_tcp_flag {
	IPPKT_TCP_FIN = 0x01,
	IPPKT_TCP_SYN = 0x02,
	IPPKT_TCP_RST = 0x04,
	IPPKT_TCP_PSH = 0x08,
	IPPKT_TCP_ACK = 0x10,
};

/* Why a packet was refused. */
enum ippkt_status {
	IPPKT_OK = 0,
	IPPKT_E_SHORT,	   /* ends inside a header, or the lengths disagree with it */
	IPPKT_E_VERSION,   /* neither IPv4 nor IPv6, or a bad IPv4 header length */
	IPPKT_E_FRAGMENT,  /* an IPv4 fragment */
	IPPKT_E_PROTO,	   /* not UDP or TCP directly after the IP header */
	IPPKT_E_CHECKSUM,  /* IPv4 header, UDP or TCP checksum wrong (or UDP over IPv6 with none) */
	IPPKT_E_TCP_OPTS,  /* a TCP header length or option that runs past the header */
	IPPKT_STATUS_COUNT
};

const char *ippkt_status_str(enum ippkt_status s);

struct ippkt_tcp {
	uint32_t seq, ack;
	uint8_t flags; /* IPPKT_TCP_* */
	uint16_t window;
	uint16_t mss; /* from the options, 0 if absent */
};

struct ippkt {
	uint8_t proto; /* IPPKT_PROTO_UDP or _TCP */
	struct netendpoint src, dst;
	const uint8_t *payload; /* points into the packet */
	size_t payload_len;
	struct ippkt_tcp tcp; /* proto TCP */
};

/* Parses p[0..len) (bytes past the IP length are ignored, as a NIC's padding would be). */
enum ippkt_status ippkt_parse(const uint8_t *p, size_t len, struct ippkt *out);

/*
 * Builds a UDP packet from `src` to `dst` (one family) in out[0..cap) whose
 * payload is `payload[0..len)`; the payload may already sit anywhere in `out`
 * (it is moved). Returns the packet's length, -ENOSPC, or -EINVAL for mixed
 * families or a payload over 65507 bytes.
 */
int ippkt_udp_build(uint8_t *out, size_t cap, const struct netendpoint *src,
		    const struct netendpoint *dst, const uint8_t *payload, size_t len)
	__attribute__((warn_unused_result));

/* A TCP segment to send: flags, sequence numbers, window, MSS (0: no option), data. */
struct ippkt_tcp_seg {
	struct netendpoint src, dst;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss;
	const uint8_t *data;
	size_t len;
};

/* As ippkt_udp_build, for a TCP segment. */
int ippkt_tcp_build(uint8_t *out, size_t cap, const struct ippkt_tcp_seg *s)
	__attribute__((warn_unused_result));

#endif

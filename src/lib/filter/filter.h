/* SPDX-License-Identifier: ISC */
/*
 * filter: the node's packet filter. Decodes the map's PacketFilter
 * (Tailscale FilterRule JSON) strictly, compiles it into a matcher whose
 * cost per packet does not grow with the number of rules (a binary search
 * over the source prefixes, then per nesting level a search over
 * destinations, protocols and port ranges), parses IPv4/IPv6 packets into
 * what the filter decides on, and gives the verdict for a packet arriving
 * from the tunnel: accepted by a rule, as a reply to a flow this node opened
 * (conntrack), as an ICMP error about such a flow, or dropped with a reason.
 * Sans-I/O: packets and `now` in, verdicts out.
 */
#ifndef WEFT_FILTER_FILTER_H
#define WEFT_FILTER_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

struct conntrack;

#define FILTER_ERR_LEN 224
/* Bounds on a decoded filter: rules, and source/destination entries in all of them. */
#define FILTER_MAX_RULES 100000
#define FILTER_MAX_ENTRIES 2000000

struct filter_err {
	char msg[FILTER_ERR_LEN];
};

/* What kind of packet, as far as the filter cares. */
enum filter_pkt_kind {
	FILTER_PK_NORMAL = 1,
	FILTER_PK_FRAGMENT,   /* a fragment after the first: no transport header */
	FILTER_PK_ICMP_ERROR, /* ICMP/ICMPv6 error: `inner` is the packet it is about */
};

/* A transport tuple: addresses, protocol, ports (ICMP echo: the identifier as sport). */
struct filter_tuple {
	struct netaddr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
};

struct filter_pkt {
	uint8_t kind;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	bool icmp_echo_req; /* ICMP(v6) echo request */
	bool icmp_echo_rep; /* ICMP(v6) echo reply */
	struct filter_tuple t;
	struct filter_tuple inner; /* FILTER_PK_ICMP_ERROR only */
};

/*
 * Parses an IP packet (IPv4 options and IPv6 extension headers walked,
 * every length checked): 0, or -EINVAL for anything malformed or truncated.
 */
int filter_pkt_parse(const uint8_t *p, size_t len, struct filter_pkt *out)
	__attribute__((warn_unused_result));

struct filter;

/*
 * Decodes and compiles a FilterRule array. Each rule is
 * {"SrcIPs": [...], "DstPorts": [{"IP": ..., "Ports": {"First", "Last"}}],
 * "IPProto": [...]} or a CapGrant rule (kept for display, no packet effect);
 * addresses are "*", an address, a CIDR or a range "a-b". Unknown fields,
 * wrong types and out-of-range values are refused with the path in err.
 * An empty array is a filter that accepts nothing.
 */
int filter_new(const json_t *rules, struct filter **out, struct filter_err *err)
	__attribute__((warn_unused_result));
void filter_free(struct filter *f);

/*
 * Whether a rule accepts tuple t (src, dst, protocol, destination port).
 * TCP, UDP and SCTP match on the port; ICMP and ICMPv6 on addresses only;
 * other protocols only where a rule opens every port.
 */
bool filter_match(const struct filter *f, const struct filter_tuple *t);

/* Sizes of the compiled filter, for `weft debug filter`. */
struct filter_info {
	size_t rules;	  /* FilterRule entries, CapGrant rules included */
	size_t cap_rules; /* of which CapGrant only */
	size_t src_prefixes;
	size_t tables; /* distinct source rule sets */
	size_t dst_prefixes;
	size_t port_ranges;
	size_t bytes; /* memory of the compiled form */
};
struct filter_info filter_get_info(const struct filter *f);
/* The rules as decoded (the map's JSON, borrowed). */
const json_t *filter_rules(const struct filter *f);

/* The verdict for a packet from the tunnel; the names are counter names. */
enum filter_verdict {
	FILTER_ACCEPT_RULE = 0,
	FILTER_ACCEPT_FLOW,	  /* a reply on a flow this node opened */
	FILTER_ACCEPT_ICMP_ERROR, /* an error about a flow that is accepted either way */
	FILTER_ACCEPT_FRAGMENT,	  /* a later fragment (the first one was filtered) */
	FILTER_DROP_NO_RULE,	  /* no rule accepts it and it answers no flow of ours */
	FILTER_DROP_ICMP_ERROR,	  /* an error about a flow we do not have */
	FILTER_DROP_MALFORMED,	  /* not a well-formed IP packet */
	FILTER_VERDICT_COUNT,
};
extern const char *const filter_verdict_names[FILTER_VERDICT_COUNT];

static inline bool filter_verdict_accepts(enum filter_verdict v)
{
	return v < FILTER_DROP_NO_RULE;
}

/*
 * Inbound: a packet from the tunnel, about to reach the TUN. f NULL accepts
 * everything (no filter installed). `p` is the packet parsed by the caller
 * (parse failure: FILTER_DROP_MALFORMED without calling). Replies refresh
 * their flow in ct.
 */
enum filter_verdict filter_inbound(const struct filter *f, struct conntrack *ct,
				   const struct filter_pkt *p, uint64_t now);
/*
 * Outbound: a packet this node sends into the tunnel. Opens a flow for a
 * TCP SYN, an ICMP echo request, and a datagram the filter would not accept
 * in the other direction (so a reply to an accepted inbound flow opens
 * nothing, and revoking access also stops that flow); refreshes the flow of
 * anything else.
 */
void filter_outbound(const struct filter *f, struct conntrack *ct, const struct filter_pkt *p,
		     uint64_t now);

#endif

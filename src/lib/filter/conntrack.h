/* SPDX-License-Identifier: ISC */
/*
 * conntrack: the bounded flow table behind the packet filter. It remembers
 * the flows this node opened through the tunnel (TCP connections it started,
 * UDP and other datagram flows, ICMP echo requests), so that their replies
 * pass a filter that would not let the same packets open a flow. Entries age
 * out by protocol and state; when the table is full the stalest entry near
 * the new one's slot gives way. Sans-I/O: the caller passes `now` (seconds)
 * and serialises calls.
 */
#ifndef WEFT_FILTER_CONNTRACK_H
#define WEFT_FILTER_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Idle timeouts in seconds (Linux conntrack's defaults where it has one). */
#define CONNTRACK_TCP_SYN_S 120
#define CONNTRACK_TCP_EST_S 432000 /* 5 days */
#define CONNTRACK_TCP_CLOSE_S 120
#define CONNTRACK_UDP_S 30 /* no reply seen yet */
#define CONNTRACK_UDP_REPLIED_S 120
#define CONNTRACK_ICMP_S 30
#define CONNTRACK_OTHER_S 600

/* A flow in the direction this node opened it: src is our address. */
struct conntrack_key {
	uint8_t family; /* NETADDR_V4 or NETADDR_V6 */
	uint8_t proto;
	uint16_t sport; /* ICMP echo: the identifier; 0 for protocols without ports */
	uint16_t dport;
	uint8_t pad[2]; /* zero: keys compare and hash as bytes */
	uint8_t src[16];
	uint8_t dst[16];
};
_Static_assert(sizeof(struct conntrack_key) == 40, "conntrack_key has no hidden padding");

enum conntrack_state {
	CONNTRACK_S_NEW = 1, /* opened, no reply yet (TCP: SYN sent) */
	CONNTRACK_S_REPLIED, /* a reply came back (TCP: established) */
	CONNTRACK_S_CLOSING, /* TCP: FIN or RST seen */
};

struct conntrack_stats {
	uint64_t flows; /* in the table now */
	uint64_t created;
	uint64_t expired;
	uint64_t evicted; /* pushed out by a new flow while full */
};

struct conntrack;

/* A table for at most `max_flows` flows (rounded up to a power of two, 16 at least). */
int conntrack_new(size_t max_flows, struct conntrack **out) __attribute__((warn_unused_result));
void conntrack_free(struct conntrack *ct);

/* Opens (or refreshes) flow k. */
void conntrack_open(struct conntrack *ct, const struct conntrack_key *k, uint64_t now);
/* Refreshes flow k if it exists; `closing` moves a TCP flow to CLOSING. False if absent. */
bool conntrack_touch(struct conntrack *ct, const struct conntrack_key *k, bool closing,
		     uint64_t now);
/*
 * A packet arrived that answers flow k (k in the opening direction): true
 * if k is a live flow, which then counts as replied (and CLOSING if
 * `closing`).
 */
bool conntrack_reply(struct conntrack *ct, const struct conntrack_key *k, bool closing,
		     uint64_t now);
/* Whether flow k exists and has not timed out (no change). */
bool conntrack_has(const struct conntrack *ct, const struct conntrack_key *k, uint64_t now);
/* Removes timed-out flows among the next `budget` slots (an incremental sweep). */
void conntrack_expire(struct conntrack *ct, uint64_t now, size_t budget);
void conntrack_clear(struct conntrack *ct);
struct conntrack_stats conntrack_get_stats(const struct conntrack *ct);
/* Slots in the table (the sweep covers all of them in capacity/budget calls). */
size_t conntrack_capacity(const struct conntrack *ct);

#endif

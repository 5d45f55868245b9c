/* SPDX-License-Identifier: ISC */
/*
 * dnsd: MagicDNS in weftd, the resolver at 100.100.100.100 and
 * fd7a:115c:a1e0::53, on the control thread. Queries arrive as IP packets the
 * engine diverts from the TUN, so no socket on the host listens for them: UDP
 * directly, TCP through lib/net/tcplite. Answers go back into the TUN;
 * forwarded queries leave through ordinary sockets to the upstreams the table
 * names (a UDP socket with a fresh port per query, up to a cap, or one TCP
 * connection per query). The local API asks it too (`weft dns query`).
 */
#ifndef WEFT_WEFTD_DNSD_H
#define WEFT_WEFTD_DNSD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dns/dnsmsg.h"

struct dnsd;
struct dnsd_query;
struct dnstable;
struct engine;
struct event_base;

/* Installs the engine's hook for the two addresses; answers SERVFAIL until a table is set. */
int dnsd_new(struct event_base *base, struct engine *e, struct dnsd **out)
	__attribute__((warn_unused_result));
/* Unhooks from the engine first. */
void dnsd_free(struct dnsd *d);

/* Swaps in the table for a new map (consumes `t`; NULL: not ready). */
void dnsd_set_table(struct dnsd *d, struct dnstable *t);
const struct dnstable *dnsd_table(const struct dnsd *d);

/*
 * Asks the resolver as a client would (over UDP, EDNS0 1232): `cb` gets the
 * reply once, unless cancelled first. *out is set before the query runs and
 * `cb` may run before this returns (a local name); after `cb` the handle is
 * gone, so the caller forgets it there and touches nothing after a 0 return.
 */
int dnsd_query_start(struct dnsd *d, const struct dnsmsg_question *q,
		     void (*cb)(void *arg, const uint8_t *msg, size_t len), void *arg,
		     struct dnsd_query **out) __attribute__((warn_unused_result));
void dnsd_query_cancel(struct dnsd *d, struct dnsd_query *q);

/* Resolver, cache, TCP and socket counters by name ("dns_..."); NULL on ENOMEM. */
json_t *dnsd_counters_json(const struct dnsd *d);

#endif

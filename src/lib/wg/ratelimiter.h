/* SPDX-License-Identifier: ISC */
/*
 * ratelimiter: handshake rate limiting under load as the Linux kernel does
 * it: a token bucket per source (IPv4 by address, IPv6 by /64) allowing 20
 * packets a second with a burst of 5, in a table of bounded size keyed by a
 * secret hash, whose idle entries expire after a second.
 *
 * Sans-I/O (the caller passes now) and not thread-safe: the caller serialises
 * every call on one ratelimiter.
 */
#ifndef WEFT_WG_RATELIMITER_H
#define WEFT_WG_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

#define RATELIMITER_PACKETS_PER_SECOND 20
#define RATELIMITER_BURST 5
#define RATELIMITER_IDLE_NS 1000000000ULL /* entries idle this long are dropped */
#define RATELIMITER_GC_INTERVAL_NS 1000000000ULL
/* The kernel's figure for a machine with more than 1 GiB of RAM (8192 buckets x 8). */
#define RATELIMITER_DEFAULT_MAX_ENTRIES 65536
#define RATELIMITER_MAX_ENTRIES_LIMIT (1U << 24)

struct ratelimiter;

struct ratelimiter_stats {
	uint64_t allowed;
	uint64_t limited;    /* source over its rate */
	uint64_t table_full; /* new source refused: max_entries reached */
	uint64_t bad_family; /* source neither IPv4 nor IPv6 */
	uint64_t expired;    /* idle entries dropped */
};

/*
 * All memory is taken here (max_entries in 1..RATELIMITER_MAX_ENTRIES_LIMIT,
 * -EINVAL otherwise); nothing is allocated afterwards. The hash key is random.
 */
int ratelimiter_new(size_t max_entries, struct ratelimiter **out)
	__attribute__((warn_unused_result));
void ratelimiter_free(struct ratelimiter *rl);

/*
 * Whether a handshake from src may be processed now. When the table is full
 * it collects idle entries first (at most once per RATELIMITER_GC_INTERVAL_NS)
 * and refuses the new source if that frees nothing.
 */
bool ratelimiter_allow(struct ratelimiter *rl, const struct netaddr *src, uint64_t now_ns);
/* Drops entries idle for RATELIMITER_IDLE_NS; call it about once a second. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);

size_t ratelimiter_count(const struct ratelimiter *rl);
void ratelimiter_stats_get(const struct ratelimiter *rl, struct ratelimiter_stats *st);

#endif

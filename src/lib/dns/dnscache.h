/* SPDX-License-Identifier: ISC */
/*
 * dnscache: upstream answers kept by question (name, type, class, DO and CD
 * bits) for their TTL: positive answers for the smallest TTL of their records,
 * NXDOMAIN and NODATA for the SOA's negative TTL (RFC 2308; none without an
 * SOA), both capped; bounded in entries and bytes with LRU eviction, hashed
 * under a random key. TTLs are served lowered by the entry's age.
 */
#ifndef WEFT_DNS_DNSCACHE_H
#define WEFT_DNS_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dnsmsg.h"

#define DNSCACHE_MAX_TTL 86400	  /* a day, as Unbound's cache-max-ttl */
#define DNSCACHE_MAX_NEG_TTL 3600 /* an hour, as Unbound's cache-max-negative-ttl */
#define DNSCACHE_MAX_MSG 4096	  /* larger answers are passed on, not kept */

enum {
	DNSCACHE_K_DO = 1U << 0,
	DNSCACHE_K_CD = 1U << 1,
};

struct dnscache_key {
	struct dnsmsg_name name; /* lower-cased */
	uint16_t type;
	uint16_t qclass;
	uint8_t flags; /* DNSCACHE_K_* */
};

struct dnscache_stats {
	uint64_t hits, misses, expired, inserts, evictions, uncacheable;
	size_t entries, bytes;
};

struct dnscache;
struct dnscache_entry;

int dnscache_new(size_t max_entries, size_t max_bytes, struct dnscache **out)
	__attribute__((warn_unused_result));
void dnscache_free(struct dnscache *c);

/* The key for a question (the name is lower-cased here). */
void dnscache_key_make(struct dnscache_key *k, const struct dnsmsg_question *q, bool dnssec_ok,
		       bool checking_disabled);

/* The TTL an answer may be kept for, 0 if it must not be kept. */
uint32_t dnscache_ttl(const struct dnsmsg_reply *r);

/*
 * Keeps a reply that dnsmsg_reply_parse accepted (msg[0..r->end) is copied;
 * the OPT is not kept). Returns 1 if kept, 0 if not cacheable, -ENOMEM.
 * Replaces an older entry for the same key.
 */
int dnscache_put(struct dnscache *c, const struct dnscache_key *k, const uint8_t *msg,
		 const struct dnsmsg_reply *r, uint64_t now_ns) __attribute__((warn_unused_result));

/* A live entry (moved to the front), with its age in whole seconds; NULL on a miss. */
const struct dnscache_entry *dnscache_get(struct dnscache *c, const struct dnscache_key *k,
					  uint64_t now_ns, uint32_t *age);
const uint8_t *dnscache_entry_msg(const struct dnscache_entry *e);
const struct dnsmsg_reply *dnscache_entry_reply(const struct dnscache_entry *e);

void dnscache_flush(struct dnscache *c);
void dnscache_stats(const struct dnscache *c, struct dnscache_stats *out);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * ratelimiter: token buckets as in the Linux kernel's ratelimiter.c, in a
 * fixed pool of entries chained into a fixed array of buckets. Buckets are
 * chosen by SipHash (crypto_shorthash) under a random key so that a flood of
 * spoofed sources cannot be aimed at one chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/keys.h"
#include "wg/ratelimiter.h"

/* Tokens are nanoseconds of credit: one packet costs 1/20 s, the bucket holds 5. */
#define RATELIMITER_PACKET_COST (1000000000ULL / RATELIMITER_PACKETS_PER_SECOND)
#define RATELIMITER_TOKEN_MAX (RATELIMITER_PACKET_COST * RATELIMITER_BURST)

struct ratelimiter_entry {
	uint64_t last_ns;
	uint64_t tokens;
	uint64_t src;  /* the IPv4 address or the IPv6 /64 */
	uint32_t next; /* next entry in the bucket or the free list, index + 1; 0 ends */
	uint8_t family;
};

struct ratelimiter {
	unsigned char hashkey[crypto_shorthash_KEYBYTES];
	uint32_t *buckets; /* first entry of each chain, index + 1 */
	size_t bucket_mask;
	struct ratelimiter_entry *entries;
	uint32_t free_list; /* index + 1 */
	size_t count, max;
	uint64_t last_gc_ns;
	struct ratelimiter_stats stats;
};

int ratelimiter_new(size_t max_entries, struct ratelimiter **out)
{
	struct ratelimiter *rl = NULL;
	size_t nbuckets = 1;
	int ret = -EINVAL;

	*out = NULL;
	if (max_entries == 0 || max_entries > RATELIMITER_MAX_ENTRIES_LIMIT)
		goto out;
	while (nbuckets < max_entries)
		nbuckets *= 2;
	ret = -ENOMEM;
	rl = mem_calloc(1, sizeof(*rl));
	if (rl == NULL)
		goto out;
	rl->buckets = mem_calloc(nbuckets, sizeof(*rl->buckets));
	rl->entries = mem_calloc(max_entries, sizeof(*rl->entries));
	if (rl->buckets == NULL || rl->entries == NULL)
		goto out;
	rl->bucket_mask = nbuckets - 1;
	rl->max = max_entries;
	for (size_t i = 0; i + 1 < max_entries; i++)
		rl->entries[i].next = (uint32_t)(i + 2);
	rl->free_list = 1;
	keys_random(rl->hashkey, sizeof(rl->hashkey));
	*out = rl;
	rl = NULL;
	ret = 0;
out:
	ratelimiter_free(rl);
	return ret;
}

void ratelimiter_free(struct ratelimiter *rl)
{
	if (rl == NULL)
		return;
	mem_wipe(rl->hashkey, sizeof(rl->hashkey));
	free(rl->buckets);
	free(rl->entries);
	free(rl);
}

static bool ratelimiter_source(const struct netaddr *a, uint8_t *family, uint64_t *src)
{
	if (a->family == NETADDR_V4)
		*src = buf_load_be32(a->a);
	else if (a->family == NETADDR_V6)
		*src = (uint64_t)buf_load_be32(a->a) << 32 | buf_load_be32(a->a + 4);
	else
		return false;
	*family = a->family;
	return true;
}

static uint32_t *ratelimiter_bucket(struct ratelimiter *rl, uint8_t family, uint64_t src)
{
	uint8_t in[9], h[crypto_shorthash_BYTES];

	in[0] = family;
	buf_store_le64(in + 1, src);
	crypto_shorthash(h, in, sizeof(in), rl->hashkey);
	return &rl->buckets[buf_load_le64(h) & rl->bucket_mask];
}

/* Refills e's bucket for the time since it was last seen and spends one packet. */
static bool ratelimiter_take(struct ratelimiter *rl, struct ratelimiter_entry *e, uint64_t now)
{
	uint64_t elapsed = now > e->last_ns ? now - e->last_ns : 0;
	uint64_t tokens = RATELIMITER_TOKEN_MAX;

	if (elapsed < RATELIMITER_TOKEN_MAX && e->tokens + elapsed < RATELIMITER_TOKEN_MAX)
		tokens = e->tokens + elapsed;
	if (now > e->last_ns)
		e->last_ns = now;
	if (tokens < RATELIMITER_PACKET_COST) {
		e->tokens = tokens;
		rl->stats.limited++;
		return false;
	}
	e->tokens = tokens - RATELIMITER_PACKET_COST;
	rl->stats.allowed++;
	return true;
}

/* A new source starts with a full bucket less this packet. */
static bool ratelimiter_add(struct ratelimiter *rl, uint32_t *bucket, uint8_t family, uint64_t src,
			    uint64_t now)
{
	struct ratelimiter_entry *e;
	uint32_t i = rl->free_list;

	if (i == 0) {
		rl->stats.table_full++;
		return false;
	}
	e = &rl->entries[i - 1];
	rl->free_list = e->next;
	e->last_ns = now;
	e->tokens = RATELIMITER_TOKEN_MAX - RATELIMITER_PACKET_COST;
	e->src = src;
	e->family = family;
	e->next = *bucket;
	*bucket = i;
	rl->count++;
	rl->stats.allowed++;
	return true;
}

bool ratelimiter_allow(struct ratelimiter *rl, const struct netaddr *src, uint64_t now_ns)
{
	uint32_t *bucket;
	uint64_t key;
	uint8_t family;

	if (!ratelimiter_source(src, &family, &key)) {
		rl->stats.bad_family++;
		return false;
	}
	bucket = ratelimiter_bucket(rl, family, key);
	for (uint32_t i = *bucket; i != 0; i = rl->entries[i - 1].next) {
		struct ratelimiter_entry *e = &rl->entries[i - 1];
		if (e->src == key && e->family == family)
			return ratelimiter_take(rl, e, now_ns);
	}
	if (rl->count == rl->max && now_ns >= rl->last_gc_ns + RATELIMITER_GC_INTERVAL_NS)
		ratelimiter_gc(rl, now_ns);
	return ratelimiter_add(rl, bucket, family, key, now_ns);
}

void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns)
{
	for (size_t b = 0; b <= rl->bucket_mask; b++) {
		uint32_t *link = &rl->buckets[b];
		while (*link != 0) {
			uint32_t i = *link;
			struct ratelimiter_entry *e = &rl->entries[i - 1];
			if (now_ns > e->last_ns && now_ns - e->last_ns >= RATELIMITER_IDLE_NS) {
				*link = e->next;
				e->next = rl->free_list;
				rl->free_list = i;
				rl->count--;
				rl->stats.expired++;
			} else {
				link = &e->next;
			}
		}
	}
	rl->last_gc_ns = now_ns;
}

size_t ratelimiter_count(const struct ratelimiter *rl)
{
	return rl->count;
}

void ratelimiter_stats_get(const struct ratelimiter *rl, struct ratelimiter_stats *st)
{
	*st = rl->stats;
}

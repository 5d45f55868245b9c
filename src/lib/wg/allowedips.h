/* SPDX-License-Identifier: ISC */
/*
 * allowedips: WireGuard's cryptokey routing table. A path-compressed binary
 * trie per address family maps prefixes to an opaque value (a peer) and
 * answers longest-prefix match on raw header addresses without allocating.
 *
 * No locks: lookups only read and may run in parallel with each other, but the
 * caller serialises every writer (insert, remove) against all readers.
 */
#ifndef WEFT_WG_ALLOWEDIPS_H
#define WEFT_WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

struct allowedips;

struct allowedips_stats {
	size_t prefixes; /* prefixes with a value */
	size_t nodes;	 /* trie nodes, including branch nodes */
	size_t bytes;	 /* memory held by the table, without malloc overhead */
};

int allowedips_new(struct allowedips **out) __attribute__((warn_unused_result));
void allowedips_free(struct allowedips *t);

/*
 * Maps prefix p (host bits must be zero) to value, which must not be NULL.
 * A prefix belongs to one value at a time: inserting an existing prefix moves
 * it to the new value. -EINVAL for a bad prefix or NULL value, -ENOMEM.
 */
int allowedips_insert(struct allowedips *t, const struct netprefix *p, void *value)
	__attribute__((warn_unused_result));
/* Removes exactly prefix p. -ENOENT if it is not in the table. */
int allowedips_remove(struct allowedips *t, const struct netprefix *p)
	__attribute__((warn_unused_result));
/* Removes every prefix of value; returns how many. */
size_t allowedips_remove_by_value(struct allowedips *t, const void *value);

/*
 * Longest-prefix match of addr (4 bytes for NETADDR_V4, 16 for NETADDR_V6,
 * network order, as in a packet header). NULL when nothing matches or the
 * family is neither. The hot path: no allocation, O(address bits).
 */
void *allowedips_lookup(const struct allowedips *t, enum netaddr_family family,
			const uint8_t *addr);

/* How many prefixes value holds. */
size_t allowedips_count(const struct allowedips *t, const void *value);
/*
 * Calls fn for each prefix of value in insertion order (a prefix moved to
 * value counts as inserted then) and stops early when fn returns non-zero,
 * returning that. fn must not change the table.
 */
int allowedips_walk(const struct allowedips *t, const void *value,
		    int (*fn)(const struct netprefix *p, void *arg), void *arg);

void allowedips_stats_get(const struct allowedips *t, struct allowedips_stats *st);

#endif

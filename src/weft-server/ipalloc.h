/* SPDX-License-Identifier: ISC */
/*
 * ipalloc: tailnet address allocation within one prefix (the IPv4 or the IPv6
 * one), sequential or random, never handing out an address twice, skipping
 * the addresses Tailscale reserves (network and broadcast, 100.100.100.100,
 * ChromeOS's 100.115.92.0/23, fd7a:115c:a1e0::53). Pure bookkeeping: the
 * server loads the addresses in use from its database at start-up.
 */
#ifndef WEFT_SERVER_IPALLOC_H
#define WEFT_SERVER_IPALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

struct ipalloc;

int ipalloc_new(const struct netprefix *p, bool random, struct ipalloc **out)
	__attribute__((warn_unused_result));
void ipalloc_free(struct ipalloc *ia);
/* Marks an address used (from the database). -ERANGE outside the prefix, -EEXIST if used. */
int ipalloc_reserve(struct ipalloc *ia, const struct netaddr *a)
	__attribute__((warn_unused_result));
/* Allocates a free address. -ENOSPC when the prefix is full. */
int ipalloc_next(struct ipalloc *ia, struct netaddr *out) __attribute__((warn_unused_result));
void ipalloc_release(struct ipalloc *ia, const struct netaddr *a);
bool ipalloc_is_used(const struct ipalloc *ia, const struct netaddr *a);
/* Reserved addresses are never allocated (and cannot be reserved). */
bool ipalloc_is_reserved(const struct ipalloc *ia, const struct netaddr *a);
size_t ipalloc_used(const struct ipalloc *ia);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * relaymap: what a client needs from the relay map of its network map
 * (netmap_relaymap, docs/PROTOCOL.md 3.6.3 and 4.6): the URL to dial for a
 * relay node, its STUN endpoints, and region lookup. Defaults as DERP's:
 * STUNPort 0 is 3478, RelayPort 0 is 443.
 */
#ifndef WEFT_RELAY_RELAYMAP_H
#define WEFT_RELAY_RELAYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "netmap/netmap.h"

#define RELAY_DEFAULT_STUN_PORT 3478
#define RELAY_DEFAULT_TLS_PORT 443
#define RELAY_URL_MAX 320

/*
 * "https://HOST:PORT/relay" (or http:// when !tls) for node n: HOST is its
 * HostName, else its IPv4, else its [IPv6]. -EINVAL when it has none,
 * -ENAMETOOLONG when out (cap bytes) is too small.
 */
int relay_node_url(const struct netmap_relay_node *n, bool tls, char *out, size_t cap)
	__attribute__((warn_unused_result));

/* Its STUN endpoints from the IPv4/IPv6 literals (up to 2); names need DNS first. */
size_t relay_node_stun_endpoints(const struct netmap_relay_node *n, struct netendpoint out[2]);

/* The region with this ID, or NULL. */
const struct netmap_relay_region *relay_region_find(const struct netmap_relaymap *m, uint32_t id);

#endif

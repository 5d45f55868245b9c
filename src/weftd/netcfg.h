/* SPDX-License-Identifier: ISC */
/*
 * netcfg: the interface's kernel configuration over rtnetlink (libmnl):
 * link up and MTU, addresses, routes. Callers describe the state they want
 * (netcfg_sync_*) and netcfg adds what is missing and removes what is not
 * wanted, touching only what differs, so reapplying a network map leaves
 * live flows alone. This is the privileged part of weftd that a later
 * privilege split moves into the parent process.
 */
#ifndef WEFT_WEFTD_NETCFG_H
#define WEFT_WEFTD_NETCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

struct netcfg;

int netcfg_open(struct netcfg **out) __attribute__((warn_unused_result));
void netcfg_close(struct netcfg *n);

int netcfg_link_set(struct netcfg *n, unsigned ifindex, unsigned mtu, bool up)
	__attribute__((warn_unused_result));
/*
 * Makes the interface carry exactly these addresses (each a host address
 * with its prefix length, e.g. 100.64.0.5/32). IPv6 link-local addresses
 * the kernel adds are left alone.
 */
int netcfg_sync_addrs(struct netcfg *n, unsigned ifindex, const struct netprefix *addrs,
		      size_t naddrs) __attribute__((warn_unused_result));
/* Makes the main table route exactly these prefixes through the interface. */
int netcfg_sync_routes(struct netcfg *n, unsigned ifindex, const struct netprefix *routes,
		       size_t nroutes) __attribute__((warn_unused_result));

/* Enumerates what is configured now (for tests and `weft debug`). */
int netcfg_list_addrs(struct netcfg *n, unsigned ifindex, struct netprefix **out, size_t *count)
	__attribute__((warn_unused_result));
int netcfg_list_routes(struct netcfg *n, unsigned ifindex, struct netprefix **out,
		       size_t *count) __attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dnstable: what MagicDNS knows, as an immutable table built from a network
 * map: A/AAAA for every node's `host.base.domain.` and bare `host.`, PTR for
 * their tailnet addresses, the extra records, the zones answered locally
 * (NXDOMAIN for unknown names there, NODATA for names that exist), split-DNS
 * routes by longest suffix and the default upstreams. Built once per map
 * change and swapped in whole, so a lookup never sees a half-applied map.
 */
#ifndef WEFT_DNS_DNSTABLE_H
#define WEFT_DNS_DNSTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "dns/dnsmsg.h"

struct netmap;
struct dnstable;
struct dnstable_builder;

#define DNSTABLE_MAX_UPSTREAMS 8 /* per route; more are ignored (and reported) */
#define DNSTABLE_MAX_SEARCH 16
#define DNSTABLE_PORT 53

/* Where a name goes. */
enum dnstable_kind {
	DNSTABLE_NAME = 1,    /* the name exists here: answer from rr (none of a type = NODATA) */
	DNSTABLE_NXDOMAIN,    /* under a zone answered here, and no such name */
	DNSTABLE_FORWARD,     /* ask the upstreams */
	DNSTABLE_NO_UPSTREAM, /* not ours and nobody to ask */
};

struct dnstable_rr {
	uint16_t type;
	uint16_t rdlen;
	const uint8_t *rdata;
};

struct dnstable_upstreams {
	const struct netendpoint *v;
	size_t n;
	const char *domain; /* the split domain that matched, "" for the default route */
};

struct dnstable_result {
	enum dnstable_kind kind;
	const struct dnstable_rr *rr; /* DNSTABLE_NAME */
	size_t n_rr;
	struct dnstable_upstreams up; /* DNSTABLE_FORWARD */
};

/* What a build skipped (bad extra records, DoH nameservers, ...), for one log line. */
struct dnstable_report {
	unsigned skipped;
	char first[160];
};

/*
 * Builds the table for a map. `os_ns` are the host's own nameservers (from
 * the resolv.conf weft replaced), used when the map names no global ones.
 * `nm` may be NULL (forwarding only). Entries that cannot be used are skipped
 * and counted in `rep` (may be NULL); only -ENOMEM fails the build.
 */
int dnstable_from_netmap(const struct netmap *nm, const struct netendpoint *os_ns, size_t n_os,
			 struct dnstable **out, struct dnstable_report *rep)
	__attribute__((warn_unused_result));
void dnstable_free(struct dnstable *t);

/* `lname` must be lower-cased (dnsmsg_name_lower). */
enum dnstable_kind dnstable_lookup(const struct dnstable *t, const struct dnsmsg_name *lname,
				   struct dnstable_result *res);

/* For resolv.conf, systemd-resolved and `weft dns status`. */
bool dnstable_magic_dns(const struct dnstable *t);
const char *dnstable_base_domain(const struct dnstable *t); /* "" when none */
size_t dnstable_search_count(const struct dnstable *t);
const char *dnstable_search_at(const struct dnstable *t, size_t i);
/* Routes: split domains (with upstreams) and local zones (n == 0), longest first is not implied. */
size_t dnstable_route_count(const struct dnstable *t);
struct dnstable_upstreams dnstable_route_at(const struct dnstable *t, size_t i);
struct dnstable_upstreams dnstable_default(const struct dnstable *t);
/* True when the map's global nameservers replace the host's (Tailscale's "override local DNS"). */
bool dnstable_overrides_os(const struct dnstable *t);
size_t dnstable_name_count(const struct dnstable *t);
/* Changes only when the upstream routes do (the resolver keeps its cache otherwise). */
uint64_t dnstable_upstream_digest(const struct dnstable *t);

/* The builder under dnstable_from_netmap, for callers with other sources (and tests). */
int dnstable_builder_new(struct dnstable_builder **out) __attribute__((warn_unused_result));
void dnstable_builder_free(struct dnstable_builder *b);
/*
 * Turns on MagicDNS: `base` (may be "" or NULL) becomes a local zone and the
 * first search domain, and the tailnet's reverse zones (64-127.100.in-addr.arpa,
 * 0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa) become local zones too.
 */
int dnstable_builder_magic(struct dnstable_builder *b, const char *base)
	__attribute__((warn_unused_result));
/* A node: A/AAAA (and PTR) for `fqdn`, and for its first label alone. */
int dnstable_builder_host(struct dnstable_builder *b, const char *fqdn, const struct netaddr *addrs,
			  size_t n) __attribute__((warn_unused_result));
/* An extra record: type "A" or "AAAA" with an address value; -EINVAL otherwise. */
int dnstable_builder_record(struct dnstable_builder *b, const char *name, const char *type,
			    const char *value) __attribute__((warn_unused_result));
/*
 * A split-DNS route: names under `domain` go to these nameservers ("ip",
 * "ip:port", "[ip6]:port"); with none, `domain` is answered locally.
 */
int dnstable_builder_route(struct dnstable_builder *b, const char *domain, char *const *ns,
			   size_t n) __attribute__((warn_unused_result));
/* The map's global nameservers (they override the host's). */
int dnstable_builder_global(struct dnstable_builder *b, char *const *ns, size_t n)
	__attribute__((warn_unused_result));
/* The host's nameservers: the default route when no global ones are given. */
int dnstable_builder_os(struct dnstable_builder *b, const struct netendpoint *ns, size_t n)
	__attribute__((warn_unused_result));
int dnstable_builder_search(struct dnstable_builder *b, const char *domain)
	__attribute__((warn_unused_result));
/* Consumes `b` (also on error). */
int dnstable_builder_finish(struct dnstable_builder *b, struct dnstable **out,
			    struct dnstable_report *rep) __attribute__((warn_unused_result));

/* Is this one of quad-100's own addresses (never an upstream: that would loop)? */
bool dnstable_is_self_addr(const struct netaddr *a);
extern const struct netaddr dnstable_quad100_v4; /* 100.100.100.100 */
extern const struct netaddr dnstable_quad100_v6; /* fd7a:115c:a1e0::53 */

#endif

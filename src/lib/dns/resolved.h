/* SPDX-License-Identifier: ISC */
/*
 * resolved: what weft asks of systemd-resolved, as pure functions. Given the
 * MagicDNS table, --accept-dns and the TUN's name, it decides whether the
 * link is set or reverted and to what (DNS servers, search and routing-only
 * domains, default route), and spells that out as the fixed resolvectl(1)
 * argv lists that weftd runs (src/weftd/dnsresolved.c) and shows.
 */
#ifndef WEFT_DNS_RESOLVED_H
#define WEFT_DNS_RESOLVED_H

#include <stdbool.h>
#include <stddef.h>

#include "core/netaddr.h"

struct dnstable;

#define RESOLVED_IFNAME_MAX 16	/* IFNAMSIZ, with the NUL */
#define RESOLVED_DOMAIN_MAX 254 /* text with the NUL, no trailing dot */
#define RESOLVED_MAX_DOMAINS 160
#define RESOLVED_MAX_CMDS 6
/* prog, "--", verb, ifname, the domains, NULL */
#define RESOLVED_ARGV_MAX (4 + RESOLVED_MAX_DOMAINS + 1)

enum resolved_action {
	RESOLVED_SET = 1, /* put these settings on the link */
	RESOLVED_REVERT,  /* give the link back to resolved (nothing of ours on it) */
};

struct resolved_domain {
	char name[RESOLVED_DOMAIN_MAX]; /* lower case, no trailing dot; "." for the root */
	bool route_only;		/* resolvectl's "~name": routes queries, is not searched */
};

/* What the link should have. Compare two with resolved_link_equal. */
struct resolved_link {
	enum resolved_action action;
	char ifname[RESOLVED_IFNAME_MAX];
	struct netaddr dns[2]; /* 100.100.100.100 [, fd7a:115c:a1e0::53] */
	size_t n_dns;
	struct resolved_domain domains[RESOLVED_MAX_DOMAINS];
	size_t n_domains;
	bool default_route; /* names no other link claims come to us too */
	unsigned skipped;   /* domains left out: not hostname-shaped, or beyond the limit */
	const char *why;    /* RESOLVED_REVERT: why nothing is set (static text) */
};

struct resolved_input {
	const struct dnstable *table; /* NULL: no network map */
	const char *ifname;	      /* the TUN */
	bool accept_dns;	      /* --accept-dns */
	bool self_ipv6;		      /* the node has a tailnet IPv6 address: list ::53 too */
};

/*
 * Decides the link's settings. MagicDNS on: the search domains (base domain
 * first) as plain domains, which resolved both searches and routes, and the
 * local zones (base domain, tailnet reverse zones) and split domains as
 * routing-only ones. The map's global nameservers replacing the host's
 * (override_local_dns): also "~." and the default route. Nothing to route,
 * --accept-dns off or no map: RESOLVED_REVERT. -EINVAL for an interface name
 * resolvectl could mistake for something else.
 */
int resolved_plan(const struct resolved_input *in, struct resolved_link *out)
	__attribute__((warn_unused_result));

bool resolved_link_equal(const struct resolved_link *a, const struct resolved_link *b);

/*
 * The resolvectl commands for `l`, in order: dns, domain, default-route,
 * llmnr, mdns, flush-caches for RESOLVED_SET; revert for RESOLVED_REVERT.
 * Every argv is `prog -- verb ifname args...` (the "--" keeps any argument
 * from being read as an option) and points into the script's own strings.
 */
struct resolved_script {
	const char *argv[RESOLVED_MAX_CMDS][RESOLVED_ARGV_MAX]; /* each NULL-terminated */
	size_t n;
	char strings[RESOLVED_MAX_DOMAINS * (RESOLVED_DOMAIN_MAX + 1) + 2 * NETADDR_STRLEN];
	size_t used;
};

int resolved_script_build(const struct resolved_link *l, const char *prog,
			  struct resolved_script *s) __attribute__((warn_unused_result));

/* One line per command, as a shell would show it (for `weft dns status` and the log). */
int resolved_script_text(const struct resolved_script *s, char *buf, size_t cap)
	__attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * dnsresolver: the MagicDNS responder behind 100.100.100.100, sans-I/O. A
 * query's bytes go in with the client and `now`; out comes a verdict: reply
 * bytes for the client, a rewritten query for an upstream, or drop. Local
 * names are answered from the current dnstable (swapped whole on map
 * changes); other names are answered from the cache or forwarded, tracked in
 * a bounded table of outstanding queries with random IDs, matched on reply
 * by ID, upstream address and question, retried and timed out by `now`.
 * Not thread-safe: one caller at a time.
 */
#ifndef WEFT_DNS_DNSRESOLVER_H
#define WEFT_DNS_DNSRESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "dns/dnscache.h"

struct dnsresolver;
struct dnstable;

/* Output buffers must hold at least this much; DNSMSG_MSG_MAX + 2 serves TCP fully. */
#define DNSRESOLVER_OUT_MIN 512

struct dnsresolver_config {
	uint16_t udp_payload;	/* EDNS0 size we advertise and answer up to (1232) */
	uint32_t ttl;		/* TTL of local answers, seconds (600, as Tailscale's quad-100) */
	size_t cache_entries;	/* 0 disables the cache (4096) */
	size_t cache_bytes;	/* (4 MiB) */
	size_t max_outstanding; /* forwarded queries in flight (1024), at most 65536 */
	uint64_t attempt_timeout_ns; /* before the next upstream is tried (1 s) */
	uint64_t query_timeout_ns;   /* before the client gets SERVFAIL (4 s) */
};

void dnsresolver_config_default(struct dnsresolver_config *c);

enum dnsresolver_transport {
	DNSRESOLVER_UDP = 0,
	DNSRESOLVER_TCP = 1,
};

/* Who asked, echoed back with the reply; `tag` is the caller's (a TCP connection, an API call). */
struct dnsresolver_client {
	struct netendpoint ep;
	uint64_t tag;
	enum dnsresolver_transport transport;
};

enum dnsresolver_action {
	DNSRESOLVER_DROP = 0,
	DNSRESOLVER_REPLY,   /* send out[0..len) to `client` */
	DNSRESOLVER_FORWARD, /* send out[0..len) to `upstream`, over `transport` */
};

struct dnsresolver_verdict {
	enum dnsresolver_action action;
	size_t len;
	struct dnsresolver_client client;
	struct netendpoint upstream;
	enum dnsresolver_transport transport;
};

/* Every outcome lands in one of these (`weft status --json` shows them). */
struct dnsresolver_counters {
	uint64_t queries_udp, queries_tcp;
	uint64_t local, nxdomain, nodata, truncated;
	uint64_t cache_hits, forwarded, retransmits, upstream_replies, upstream_timeouts;
	uint64_t formerr, notimp, refused, servfail, badvers;
	uint64_t drop_short, drop_not_query;
	uint64_t upstream_bad, upstream_unmatched, upstream_failover, fwd_full;
};

int dnsresolver_new(const struct dnsresolver_config *cfg, struct dnsresolver **out)
	__attribute__((warn_unused_result));
void dnsresolver_free(struct dnsresolver *r);

/*
 * Swaps in the table for a new map (consumes `t`; NULL = not ready, every
 * query gets SERVFAIL). Queries in flight keep their upstreams; the cache is
 * flushed when the upstream routes changed.
 */
void dnsresolver_set_table(struct dnsresolver *r, struct dnstable *t);
const struct dnstable *dnsresolver_table(const struct dnsresolver *r);

/*
 * A query from a client (UDP payload, or one TCP message without its length
 * prefix). `out` holds `cap` bytes (>= DNSRESOLVER_OUT_MIN); UDP replies are
 * cut to the client's size with TC set. Returns 0, or -EINVAL for a `cap`
 * below the minimum.
 */
int dnsresolver_query(struct dnsresolver *r, const uint8_t *msg, size_t len,
		      const struct dnsresolver_client *from, uint64_t now_ns, uint8_t *out,
		      size_t cap, struct dnsresolver_verdict *v)
	__attribute__((warn_unused_result));

/* A message from an upstream (`from`: its address and port). */
int dnsresolver_upstream(struct dnsresolver *r, const uint8_t *msg, size_t len,
			 const struct netendpoint *from, uint64_t now_ns, uint8_t *out, size_t cap,
			 struct dnsresolver_verdict *v) __attribute__((warn_unused_result));

/*
 * Timers: call while it returns true, acting on each verdict (a retry to the
 * next upstream, or SERVFAIL for a client whose query timed out).
 */
bool dnsresolver_expire(struct dnsresolver *r, uint64_t now_ns, uint8_t *out, size_t cap,
			struct dnsresolver_verdict *v);
/* When dnsresolver_expire next has work, UINT64_MAX if never. */
uint64_t dnsresolver_next_deadline(const struct dnsresolver *r);
size_t dnsresolver_outstanding(const struct dnsresolver *r);

const struct dnsresolver_counters *dnsresolver_counters(const struct dnsresolver *r);
void dnsresolver_cache_stats(const struct dnsresolver *r, struct dnscache_stats *out);

#endif

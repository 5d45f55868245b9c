/* SPDX-License-Identifier: ISC */
/*
 * netcheck: one network report, sans-I/O. From the relay map it plans STUN
 * probes (three tries per region, staggered), matches the answers the
 * caller feeds back by transaction ID, and builds the report `weft netcheck`
 * prints (Tailscale's names): UDP, IPv4, IPv6, the public addresses, whether
 * the NAT maps per destination (MappingVariesByDestIP), latency per region,
 * and the preferred (home) relay region, sticky across reports. The caller
 * sends the probes from its WireGuard socket, so the mappings are the ones
 * WireGuard gets.
 */
#ifndef WEFT_NETCHECK_NETCHECK_H
#define WEFT_NETCHECK_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/netaddr.h"
#include "netmap/netmap.h"
#include "stun/stun.h"

#define NETCHECK_MS 1000000ULL
#define NETCHECK_TIMEOUT_NS (5000 * NETCHECK_MS)   /* a whole report */
#define NETCHECK_STAGGER_NS (100 * NETCHECK_MS)	   /* between tries to one region */
#define NETCHECK_HISTORY_NS (305000 * NETCHECK_MS) /* best-recent latency window */
#define NETCHECK_STICKY_ABS_NS (10 * NETCHECK_MS)  /* keep the home unless 10 ms better ... */
#define NETCHECK_ENOUGH_REGIONS 3		   /* ... stop early once this many answered */

enum {
	NETCHECK_TRIES = 3,
	NETCHECK_MAX_REGIONS = 64,
	NETCHECK_MAX_PROBES = NETCHECK_MAX_REGIONS * NETCHECK_TRIES * 2, /* v4 and v6 */
	NETCHECK_HISTORY = 8,
};

struct netcheck_probe {
	uint32_t region;
	struct netendpoint dst;
	uint8_t txid[STUN_TXID_LEN];
	uint64_t at_ns; /* when it is due */
	bool sent, answered;
	uint64_t sent_ns, rtt_ns;
	struct netendpoint mapped;
};

/* A probe to send now: the caller writes `req[len]` to `dst` from its UDP socket. */
struct netcheck_send {
	struct netendpoint dst;
	uint8_t req[STUN_REQUEST_LEN];
	size_t len;
};

struct netcheck_region_latency {
	uint32_t region;
	uint64_t latency_ns; /* 0: no answer */
};

struct netcheck_report {
	bool udp, ipv4, ipv6;
	bool mapping_varies_by_dest_ip;
	bool have_global_v4, have_global_v6;
	struct netendpoint global_v4, global_v6;
	uint32_t preferred_region; /* 0: none */
	struct netcheck_region_latency regions[NETCHECK_MAX_REGIONS];
	size_t n_regions;
};

struct netcheck_hist {
	uint32_t region;
	uint64_t at_ns[NETCHECK_HISTORY];
	uint64_t lat_ns[NETCHECK_HISTORY];
	unsigned next;
};

struct netcheck_counters {
	uint64_t sent, answered;
	uint64_t unmatched; /* a STUN answer with no probe of ours: late, stray or forged */
	struct stun_counters parse;
};

/* Keeps state between reports (latency history, the current home); zero it to start. */
struct netcheck {
	struct netcheck_probe probes[NETCHECK_MAX_PROBES];
	size_t n_probes;
	uint64_t start_ns;
	uint64_t first_answer_ns, slowest_ns;
	bool running;
	struct netcheck_hist hist[NETCHECK_MAX_REGIONS];
	size_t n_hist;
	uint32_t home;
	struct netcheck_counters c;
};

void netcheck_init(struct netcheck *nc);

/*
 * Plans a report: for each region (at most NETCHECK_MAX_REGIONS), tries 0-2
 * go to its nodes in turn (node i % n), 100 ms apart, to each IPv4 and (if
 * `v6`) IPv6 STUN endpoint the node lists. Returns the number of probes.
 */
size_t netcheck_begin(struct netcheck *nc, const struct netmap_relaymap *m, bool v6,
		      uint64_t now_ns);

/* Probes due by now (up to max); marks them sent. */
size_t netcheck_due(struct netcheck *nc, uint64_t now_ns, struct netcheck_send *out, size_t max);

/*
 * A STUN datagram arrived (the caller's demux saw stun_is_packet). Returns
 * true when it answered one of our probes.
 */
bool netcheck_on_stun(struct netcheck *nc, const uint8_t *p, size_t n, uint64_t now_ns);

/*
 * Whether the report is complete: every probe answered, the deadline
 * passed, or enough regions answered and the slowest latency seen since
 * has passed again.
 */
bool netcheck_done(const struct netcheck *nc, uint64_t now_ns);
/* When to call netcheck_due / netcheck_done next. */
uint64_t netcheck_next_deadline(const struct netcheck *nc, uint64_t now_ns);

/*
 * Ends the report: fills `r`, records latencies in the history and picks
 * the home region (lowest best-recent latency; the old home is kept while it
 * answers and the new one is not 10 ms and a third faster).
 */
void netcheck_finish(struct netcheck *nc, uint64_t now_ns, struct netcheck_report *r);

/* `weft netcheck --format json` (Tailscale's field names; latencies in ns). */
int netcheck_report_json(const struct netcheck_report *r, struct buf_writer *w)
	__attribute__((warn_unused_result));

#endif

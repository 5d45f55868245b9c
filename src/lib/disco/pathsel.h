/* SPDX-License-Identifier: ISC */
/*
 * pathsel: one peer's path choice, sans-I/O (magicsock's endpoint logic as
 * data). It keeps the peer's candidate endpoints (from the network map,
 * call-me-maybe and pings seen), decides per send whether a packet goes
 * direct, through the relay, or both, and says when to ping what: discovery
 * pings and call-me-maybe while no direct path is trusted, heartbeats while
 * the session is active, nothing once it is idle. Driven by `now`; returns
 * actions for the caller to carry out.
 */
#ifndef WEFT_DISCO_PATHSEL_H
#define WEFT_DISCO_PATHSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "disco/disco.h"

#define PATHSEL_MS 1000000ULL
/* The timing rules (Tailscale's magicsock values; docs/PROTOCOL.md 6.4). */
#define PATHSEL_HEARTBEAT_NS (3000 * PATHSEL_MS)       /* ping the best path while active */
#define PATHSEL_TRUST_NS (6500 * PATHSEL_MS)	       /* direct only, this long after a pong */
#define PATHSEL_SESSION_ACTIVE_NS (45000 * PATHSEL_MS) /* idle after this long without data */
#define PATHSEL_UPGRADE_NS (60000 * PATHSEL_MS)	       /* re-run discovery on a working path ... */
#define PATHSEL_GOOD_ENOUGH_NS (5 * PATHSEL_MS)	       /* ... unless it is at least this fast */
#define PATHSEL_PING_INTERVAL_NS (5000 * PATHSEL_MS)   /* minimum gap between discovery pings */
#define PATHSEL_PING_TIMEOUT_NS (5000 * PATHSEL_MS)    /* a pong later than this is forgotten */
#define PATHSEL_CMM_INTERVAL_NS (5000 * PATHSEL_MS)    /* minimum gap between call-me-maybes */
#define PATHSEL_BEST_DEAD_NS (30000 * PATHSEL_MS)      /* drop a best path silent this long */

enum {
	PATHSEL_MAX_CANDS = 64,
	PATHSEL_MAX_PINGS = 32,
	PATHSEL_MAX_ACTIONS = PATHSEL_MAX_CANDS + 2,
};

/* Where a candidate came from (bit set). */
enum {
	PATHSEL_SRC_NETMAP = 1U << 0,
	PATHSEL_SRC_CMM = 1U << 1,
	PATHSEL_SRC_PING = 1U << 2, /* a ping arrived from it */
};

struct pathsel_cand {
	struct netendpoint ep;
	uint8_t src;
	uint64_t last_ping_ns; /* 0: never */
	uint64_t last_pong_ns;
	uint64_t latency_ns; /* of the last pong; valid when last_pong_ns != 0 */
	uint64_t seen_ns;    /* when it was added or last confirmed by its source */
};

struct pathsel_ping {
	bool used;
	uint8_t txid[DISCO_TXID_LEN];
	struct netendpoint ep;
	uint64_t sent_ns;
};

enum pathsel_action_type {
	PATHSEL_ACT_PING = 1,	       /* send a disco ping with `txid` to `ep` */
	PATHSEL_ACT_CALL_ME_MAYBE = 2, /* send our endpoints to the peer through the relay */
};

struct pathsel_action {
	enum pathsel_action_type type;
	struct netendpoint ep;
	uint8_t txid[DISCO_TXID_LEN];
};

struct pathsel_actions {
	struct pathsel_action a[PATHSEL_MAX_ACTIONS];
	size_t n;
};

/* Where one packet goes: direct to `ep`, through the relay, or both. */
struct pathsel_route {
	bool direct;
	struct netendpoint ep;
	bool relay;
};

struct pathsel_counters {
	uint64_t pings_sent;
	uint64_t pongs_matched;
	uint64_t pongs_unknown;	  /* no outstanding ping with that txid: late, replayed or forged */
	uint64_t pongs_wrong_src; /* txid known but the pong came from another address */
	uint64_t pings_expired;
	uint64_t cmm_sent;
	uint64_t cmm_received;
	uint64_t best_changes;
	uint64_t trust_lost; /* fell back to sending through the relay too */
	uint64_t cands_dropped;
};

struct pathsel_peer {
	struct pathsel_cand cands[PATHSEL_MAX_CANDS];
	size_t n_cands;
	struct pathsel_ping pings[PATHSEL_MAX_PINGS];
	bool have_best;
	struct netendpoint best;
	uint64_t best_latency_ns;
	uint64_t best_pong_ns;
	uint64_t trust_until_ns;
	bool trusted;		    /* the last route handed out was direct-only */
	uint64_t last_send_ns;	    /* data activity */
	uint64_t last_discovery_ns; /* full discovery round */
	uint64_t last_cmm_ns;
	uint64_t last_heartbeat_ns;
	struct pathsel_counters c;
};

void pathsel_init(struct pathsel_peer *p);

/* Replaces the network-map candidates (others stay). At most PATHSEL_MAX_CANDS are kept. */
void pathsel_set_endpoints(struct pathsel_peer *p, const struct netendpoint *eps, size_t n,
			   uint64_t now_ns);

/*
 * A data packet is to be sent now: where to. While no direct path is
 * trusted the packet goes through the relay too (so it never waits for
 * hole punching), and discovery (pings to every candidate not pinged in the
 * last PATHSEL_PING_INTERVAL_NS, and a call-me-maybe) is appended to `acts`.
 */
void pathsel_route(struct pathsel_peer *p, uint64_t now_ns, struct pathsel_route *r,
		   struct pathsel_actions *acts);

/*
 * A ping from this peer arrived (the caller checked its node key and answers
 * with a pong). From a UDP address, that address becomes a candidate; via the
 * relay nothing changes.
 */
void pathsel_on_ping(struct pathsel_peer *p, const struct netendpoint *src, bool via_relay,
		     uint64_t now_ns);

enum pathsel_pong_result {
	PATHSEL_PONG_UNKNOWN = 0, /* not an outstanding ping: counted and ignored */
	PATHSEL_PONG_WRONG_SRC,	  /* answered from another address than pinged: ignored */
	PATHSEL_PONG_OK,	  /* latency measured */
	PATHSEL_PONG_NEW_BEST,	  /* and the path changed to this address */
};

/* A pong from this peer came from `from` (UDP). *latency_ns gets the RTT when matched. */
enum pathsel_pong_result pathsel_on_pong(struct pathsel_peer *p,
					 const uint8_t txid[static DISCO_TXID_LEN],
					 const struct netendpoint *from, uint64_t now_ns,
					 uint64_t *latency_ns);

/* The peer's call-me-maybe: its endpoints replace earlier ones from it, all pinged now. */
void pathsel_on_call_me_maybe(struct pathsel_peer *p, const struct netendpoint *eps, size_t n,
			      uint64_t now_ns, struct pathsel_actions *acts);

/* Timers: heartbeats while active, ping expiry, trust loss, periodic upgrade attempts. */
void pathsel_tick(struct pathsel_peer *p, uint64_t now_ns, struct pathsel_actions *acts);

/* When pathsel_tick next has work to do (UINT64_MAX: nothing until a packet is sent). */
uint64_t pathsel_next_deadline(const struct pathsel_peer *p, uint64_t now_ns);

/* Whether a direct path is trusted now (sends go direct only). */
bool pathsel_is_direct(const struct pathsel_peer *p, uint64_t now_ns);
/* Whether the session counts as active (data sent within PATHSEL_SESSION_ACTIVE_NS). */
bool pathsel_is_active(const struct pathsel_peer *p, uint64_t now_ns);

/*
 * Whether candidate `a` with latency `la` should replace the current best
 * `b` with latency `lb` (exported for tests): percentage latency advantage
 * plus points for loopback (50), link-local (30), private (20) and IPv6 (10)
 * addresses must exceed 1.
 */
bool pathsel_is_better(const struct netendpoint *a, uint64_t la, const struct netendpoint *b,
		       uint64_t lb);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * magicsock: NAT traversal around the engine's one UDP socket (Tailscale's
 * magicsock). It owns the disco key, runs netcheck (STUN from the WireGuard
 * socket) to learn our public endpoints and pick the home relay, holds the
 * relay connections, answers and sends disco ping/pong/call-me-maybe, and
 * per peer lets lib/disco's pathsel decide where WireGuard goes: each
 * WireGuard peer's endpoint is the magic relay endpoint until a disco pong
 * confirms a direct path, then that path, and the relay again when it dies.
 * Runs on the control thread; the data threads reach it through the engine's
 * queues (engine_magic.c).
 */
#ifndef WEFT_WEFTD_MAGICSOCK_H
#define WEFT_WEFTD_MAGICSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/netaddr.h"
#include "crypto/keys.h"

struct event_base;
struct engine;
struct magicsock;
struct netmap_node;
struct netmap_relaymap;
struct wg_peer;

#define MAGICSOCK_MAX_ENDPOINTS 8

struct magicsock_callbacks {
	/* Our STUN endpoints or home relay changed: report them to control. */
	void (*changed)(void *arg);
};

int magicsock_new(struct event_base *base, struct engine *e, const char *tun,
		  const struct magicsock_callbacks *cb, void *arg, struct magicsock **out)
	__attribute__((warn_unused_result));
void magicsock_free(struct magicsock *ms);

const struct disco_public *magicsock_disco_public(const struct magicsock *ms);
/* Our node key (for the relay handshake and pings); reconnects the relays when it changes. */
void magicsock_set_node_key(struct magicsock *ms, const struct node_private *k);
/*
 * The relay map of the current network map (borrowed: call again whenever
 * the map changes, and with NULL before it is freed).
 */
void magicsock_set_relaymap(struct magicsock *ms, const struct netmap_relaymap *m);

/* Engine lock held: a peer was added or changed in the map; sets its WireGuard endpoint. */
void magicsock_peer_update(struct magicsock *ms, struct wg_peer *wp, const struct netmap_node *n);
/* Engine lock held: the peer is gone. */
void magicsock_peer_remove(struct magicsock *ms, const struct node_public *k);
void magicsock_peers_clear(struct magicsock *ms);

/* STUN-learnt endpoints to report (up to MAGICSOCK_MAX_ENDPOINTS) and the home region. */
size_t magicsock_endpoints(const struct magicsock *ms, struct netendpoint *out, size_t max);
uint32_t magicsock_home(const struct magicsock *ms);

/* The path to a peer: *direct gets the address when direct (true), else false. */
bool magicsock_peer_direct(const struct magicsock *ms, const struct node_public *k,
			   struct netendpoint *direct);
/* The region a relayed packet to the peer goes through (0: none). */
uint32_t magicsock_peer_relay(const struct magicsock *ms, const struct node_public *k);

/* `weft netcheck`: the last report (Tailscale's names), or {} before the first. */
json_t *magicsock_netcheck_json(const struct magicsock *ms);
/* Counters for `weft debug counters`, added to `o`. */
int magicsock_counters_json(const struct magicsock *ms, json_t *o)
	__attribute__((warn_unused_result));

#endif

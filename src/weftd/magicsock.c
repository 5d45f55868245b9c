/* SPDX-License-Identifier: ISC */
/* magicsock: NAT traversal around the engine's UDP socket (see magicsock.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "disco/disco.h"
#include "disco/pathsel.h"
#include "json/jsonx.h"
#include "netcheck/netcheck.h"
#include "netmap/netmap.h"
#include "relay/relay_client.h"
#include "relay/relaymap.h"
#include "stun/stun.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "weftd/ctrlclient.h"
#include "weftd/engine.h"
#include "weftd/magicsock.h"

#define MS_TICK_MS 100
#define MS_MAX_PEERS 4096 /* slots are magic endpoint ports: 1..MS_MAX_PEERS */
#define MS_MAX_RELAYS 8
#define MS_NETCHECK_EVERY_NS (30ULL * CLOCK_NS_PER_SEC)
#define MS_NETCHECK_SEND_MAX 32
#define MS_SEEN_TTL_NS (10ULL * CLOCK_NS_PER_SEC)
#define MS_SPRAY_MAX 4 /* candidates tried directly while no relay is up */
/* A held handshake older than this is stale: WireGuard has sent a fresh one (REKEY_TIMEOUT). */
#define MS_HOLD_TTL_NS (5ULL * CLOCK_NS_PER_SEC)
/* After the relay said the peer is not there, try again this often while it is fresh. */
#define MS_HOLD_RETRY_NS (250ULL * CLOCK_NS_PER_SEC / 1000)
#define MS_HOLD_MAX 148 /* a WireGuard initiation, the largest handshake message */

#define MS_COUNTERS(X)                                                                             \
	X(disco_rx)                                                                                \
	X(disco_rx_relay)                                                                          \
	X(disco_unknown_sender)                                                                    \
	X(disco_relay_key_mismatch)                                                                \
	X(disco_bad_node_key)                                                                      \
	X(disco_replayed_ping)                                                                     \
	X(disco_pong_via_relay)                                                                    \
	X(disco_tx)                                                                                \
	X(disco_tx_errors)                                                                         \
	X(stun_unsolicited)                                                                        \
	X(relay_tx)                                                                                \
	X(relay_tx_dropped)                                                                        \
	X(relay_held)                                                                              \
	X(relay_held_sent)                                                                         \
	X(relay_held_expired)                                                                      \
	X(relay_peer_not_here)                                                                     \
	X(relay_failovers)                                                                         \
	X(relay_rx)                                                                                \
	X(relay_rx_unknown_peer)                                                                   \
	X(direct_tx_from_relay_path)                                                               \
	X(spray_tx)                                                                                \
	X(unknown_slot)                                                                            \
	X(netchecks)                                                                               \
	X(path_to_direct)                                                                          \
	X(path_to_relay)

struct ms_counters {
#define MS_FIELD(n) uint64_t n;
	MS_COUNTERS(MS_FIELD)
#undef MS_FIELD
};

struct ms_peer {
	uint16_t slot;
	struct node_public key;
	struct disco_public disco;
	bool has_disco;
	struct disco_shared shared;
	uint32_t relay_home;
	struct pathsel_peer ps;
	struct disco_seen seen;
	uint64_t last_tx_bytes;
	bool direct; /* the WireGuard endpoint we set is direct */
	struct netendpoint cands[MAGICSOCK_MAX_ENDPOINTS]; /* from the map, for the spray */
	size_t n_cands;
	/*
	 * The last WireGuard handshake message for the relay, kept while fresh.
	 * When it found no relay up (ours connects after netcheck) or the relay
	 * said the peer was not there (it connects after its netcheck), it goes
	 * again as soon as that can work, instead of after WireGuard's 5 s retry.
	 */
	uint8_t held[MS_HOLD_MAX];
	size_t held_len;
	uint64_t held_at;  /* when WireGuard sent it */
	uint64_t held_try; /* the last attempt */
	bool held_sent;	   /* and the relay took it */
};

struct ms_relay {
	uint32_t region;
	struct relay_client *rc;
	struct magicsock *ms;
	bool home;
	size_t node;	/* which of the region's nodes rc talks to */
	unsigned fails; /* connections lost or refused since the last handshake */
};

struct magicsock {
	struct event_base *base;
	struct engine *engine;
	char tun[32];
	struct magicsock_callbacks cb;
	void *cb_arg;
	struct event *tick;
	struct disco_private disco_priv;
	struct disco_public disco_pub;
	struct node_private node_key;
	struct node_public node_pub;
	bool have_node_key;
	const struct netmap_relaymap *rmap;
	uint64_t rmap_sig;
	struct ms_peer *peers[MS_MAX_PEERS + 1]; /* by slot */
	struct ms_relay relays[MS_MAX_RELAYS];
	uint32_t home;
	struct netcheck *nc;
	struct netcheck_report report;
	bool have_report;
	uint64_t next_netcheck_ns;
	struct netendpoint stun_eps[MAGICSOCK_MAX_ENDPOINTS];
	size_t n_stun_eps;
	struct disco_counters dc;
	struct ms_counters c;
};

/* ---- peers ------------------------------------------------------------------------------ */

static struct ms_peer *ms_peer_by_key(const struct magicsock *ms, const struct node_public *k)
{
	for (size_t i = 1; i <= MS_MAX_PEERS; i++)
		if (ms->peers[i] != NULL && keys_eq(ms->peers[i]->key.b, k->b))
			return ms->peers[i];
	return NULL;
}

static struct ms_peer *ms_peer_by_disco(const struct magicsock *ms, const struct disco_public *k)
{
	for (size_t i = 1; i <= MS_MAX_PEERS; i++)
		if (ms->peers[i] != NULL && ms->peers[i]->has_disco &&
		    keys_eq(ms->peers[i]->disco.b, k->b))
			return ms->peers[i];
	return NULL;
}

static void ms_peer_free(struct magicsock *ms, struct ms_peer *p)
{
	ms->peers[p->slot] = NULL;
	disco_shared_wipe(&p->shared);
	mem_wipe(p->held, sizeof(p->held));
	free(p);
}

/* ---- relays ----------------------------------------------------------------------------- */

static void ms_relay_free(struct ms_relay *r)
{
	relay_client_free(r->rc);
	r->rc = NULL;
	r->region = 0;
	r->home = false;
	r->node = 0;
	r->fails = 0;
}

static void ms_relays_close(struct magicsock *ms)
{
	for (size_t i = 0; i < MS_MAX_RELAYS; i++)
		if (ms->relays[i].rc != NULL)
			ms_relay_free(&ms->relays[i]);
}

static void ms_disco_in(struct magicsock *ms, const uint8_t *p, size_t n,
			const struct netendpoint *src, const struct node_public *via_relay);

static void ms_hold_flush_all(struct magicsock *ms, uint64_t now);

static void ms_relay_ready(void *arg)
{
	struct ms_relay *r = arg;

	r->fails = 0;
	log_info("relay: connected to region %u node %zu%s", r->region, r->node,
		 r->home ? " (home)" : "");
	if (r->home && relay_client_note_preferred(r->rc, true) < 0)
		log_debug("relay: cannot send NOTE_PREFERRED");
	ms_hold_flush_all(r->ms, clock_mono_ns());
}

/* The relay dropped a packet of ours for a peer it does not have (yet). */
static void ms_relay_peer_gone(void *arg, const struct node_public *key, uint8_t reason)
{
	struct ms_relay *r = arg;
	struct ms_peer *peer;

	if (reason != RELAY_GONE_NOT_HERE || (peer = ms_peer_by_key(r->ms, key)) == NULL)
		return;
	r->ms->c.relay_peer_not_here++;
	if (peer->held_len != 0)
		peer->held_sent = false; /* retried on the tick, and when the peer's map changes */
}

static void ms_relay_packet(void *arg, const struct node_public *src, const uint8_t *p, size_t n)
{
	struct ms_relay *r = arg;
	struct magicsock *ms = r->ms;
	struct ms_peer *peer;

	ms->c.relay_rx++;
	if (disco_is_packet(p, n)) {
		ms_disco_in(ms, p, n, NULL, src);
		return;
	}
	peer = ms_peer_by_key(ms, src);
	if (peer == NULL) {
		ms->c.relay_rx_unknown_peer++;
		return;
	}
	engine_inject(ms->engine, peer->slot, p, n);
}

static void ms_relay_disconnected(void *arg, const char *why)
{
	struct ms_relay *r = arg;

	r->fails++;
	log_info("relay: region %u node %zu disconnected: %s", r->region, r->node, why);
}

/* Connects `slot` to node `node` of region g; false when that cannot start. */
static bool ms_relay_connect(struct magicsock *ms, struct ms_relay *slot,
			     const struct netmap_relay_region *g, size_t node)
{
	struct relay_client_config cfg;
	char url[RELAY_URL_MAX];
	uint32_t region = g->id;

	if (relay_node_url(&g->nodes[node], !g->nodes[node].http, url, sizeof(url)) < 0)
		return false;
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = url;
	cfg.key = ms->node_key;
	cfg.cbs.ready = ms_relay_ready;
	cfg.cbs.packet = ms_relay_packet;
	cfg.cbs.disconnected = ms_relay_disconnected;
	cfg.cbs.peer_gone = ms_relay_peer_gone;
	cfg.arg = slot;
	slot->ms = ms;
	slot->region = region;
	slot->home = region == ms->home;
	slot->node = node;
	slot->fails = 0;
	if (relay_client_new(ms->base, &cfg, &slot->rc) < 0 || relay_client_start(slot->rc) < 0) {
		mem_wipe(&cfg, sizeof(cfg));
		ms_relay_free(slot);
		return false;
	}
	mem_wipe(&cfg, sizeof(cfg));
	return true;
}

/* The connection to `region`, made on first use. NULL when the map has no such region. */
static struct ms_relay *ms_relay_get(struct magicsock *ms, uint32_t region)
{
	const struct netmap_relay_region *g;
	struct ms_relay *slot = NULL;

	if (region == 0 || ms->rmap == NULL || !ms->have_node_key)
		return NULL;
	for (size_t i = 0; i < MS_MAX_RELAYS; i++) {
		if (ms->relays[i].rc != NULL && ms->relays[i].region == region)
			return &ms->relays[i];
		if (ms->relays[i].rc == NULL && slot == NULL)
			slot = &ms->relays[i];
	}
	g = relay_region_find(ms->rmap, region);
	if (slot == NULL || g == NULL || g->n_nodes == 0 || !ms_relay_connect(ms, slot, g, 0))
		return NULL;
	return slot;
}

/*
 * A region's nodes are tried in map order: the first that completes a
 * handshake serves us, and a node that cannot be reached or drops us
 * before one hands over to the next (Tailscale's rule too). The nodes of a
 * region mesh, so any of them reaches every peer homed in the region. Runs
 * on the tick, outside the relay client's callbacks.
 */
static void ms_relays_failover(struct magicsock *ms)
{
	for (size_t i = 0; i < MS_MAX_RELAYS; i++) {
		struct ms_relay *r = &ms->relays[i];
		const struct netmap_relay_region *g;
		uint32_t region = r->region;
		size_t next;

		if (r->rc == NULL || r->fails == 0 || relay_client_is_ready(r->rc))
			continue;
		g = relay_region_find(ms->rmap, region);
		if (g == NULL || g->n_nodes < 2)
			continue;
		next = (r->node + 1) % g->n_nodes;
		log_info("relay: region %u node %zu unreachable; trying node %zu", region, r->node,
			 next);
		ms->c.relay_failovers++;
		relay_client_free(r->rc);
		r->rc = NULL;
		if (!ms_relay_connect(ms, r, g, next))
			log_warnx("relay: cannot connect to region %u node %zu", region, next);
	}
}

static void ms_set_home(struct magicsock *ms, uint32_t region)
{
	if (region == ms->home)
		return;
	for (size_t i = 0; i < MS_MAX_RELAYS; i++) {
		struct ms_relay *r = &ms->relays[i];
		if (r->rc == NULL)
			continue;
		bool was = r->home;
		r->home = r->region == region;
		if (was != r->home && relay_client_is_ready(r->rc) &&
		    relay_client_note_preferred(r->rc, r->home) < 0)
			log_debug("relay: cannot send NOTE_PREFERRED");
	}
	log_info("relay: home region %u", region);
	ms->home = region;
	(void)ms_relay_get(ms, region);
	if (ms->cb.changed != NULL)
		ms->cb.changed(ms->cb_arg);
}

/* Through the peer's home relay (or ours, connecting on first use); false when none is up. */
static bool ms_relay_try(struct magicsock *ms, struct ms_peer *peer, const uint8_t *p, size_t n)
{
	uint32_t regions[2] = { peer->relay_home, ms->home };

	for (int i = 0; i < 2; i++) {
		struct ms_relay *r = ms_relay_get(ms, regions[i]);
		if (r == NULL || !relay_client_is_ready(r->rc))
			continue;
		if (relay_client_send(r->rc, &peer->key, p, n) == 0) {
			ms->c.relay_tx++;
			return true;
		}
	}
	return false;
}

static bool ms_relay_send(struct magicsock *ms, struct ms_peer *peer, const uint8_t *p, size_t n)
{
	if (ms_relay_try(ms, peer, p, n))
		return true;
	ms->c.relay_tx_dropped++;
	return false;
}

/* Keeps a handshake message sent (or not: `sent`) to the relay; a newer one replaces it. */
static void ms_hold(struct magicsock *ms, struct ms_peer *peer, const uint8_t *p, size_t n,
		    bool sent, uint64_t now)
{
	if (wg_msg_classify(p, n) != WG_KIND_HANDSHAKE || n > sizeof(peer->held) ||
	    (p[0] != WG_MSG_INITIATION && p[0] != WG_MSG_RESPONSE))
		return;
	memcpy(peer->held, p, n);
	peer->held_len = n;
	peer->held_at = now;
	peer->held_try = now;
	peer->held_sent = sent;
	if (!sent)
		ms->c.relay_held++;
}

static void ms_hold_clear(struct ms_peer *peer)
{
	mem_wipe(peer->held, sizeof(peer->held));
	peer->held_len = 0;
	peer->held_sent = false;
}

/*
 * Sends the peer's held handshake again if it did not get through and a
 * relay is up; `force` skips the retry interval (something changed that may
 * let it through now). Forgets it once stale.
 */
static void ms_hold_flush(struct magicsock *ms, struct ms_peer *peer, uint64_t now, bool force)
{
	if (peer->held_len == 0)
		return;
	if (now - peer->held_at > MS_HOLD_TTL_NS) {
		if (!peer->held_sent)
			ms->c.relay_held_expired++;
		ms_hold_clear(peer);
		return;
	}
	if (peer->held_sent || (!force && now - peer->held_try < MS_HOLD_RETRY_NS))
		return;
	peer->held_try = now;
	if (ms_relay_try(ms, peer, peer->held, peer->held_len)) {
		ms->c.relay_held_sent++;
		peer->held_sent = true;
	}
}

static void ms_hold_flush_all(struct magicsock *ms, uint64_t now)
{
	for (size_t i = 1; i <= MS_MAX_PEERS; i++)
		if (ms->peers[i] != NULL)
			ms_hold_flush(ms, ms->peers[i], now, true);
}

/* ---- disco ------------------------------------------------------------------------------ */

static size_t ms_our_endpoints(const struct magicsock *ms, struct netendpoint *out, size_t max)
{
	size_t n = ctrlclient_local_endpoints(ms->tun, engine_port(ms->engine), out, max);

	for (size_t i = 0; i < ms->n_stun_eps && n < max; i++)
		out[n++] = ms->stun_eps[i];
	return n;
}

/* Seals and sends m to the peer: on UDP to `to`, else through the relay. */
static void ms_disco_send(struct magicsock *ms, struct ms_peer *peer, const struct disco_msg *m,
			  const struct netendpoint *to)
{
	uint8_t buf[DISCO_OVERHEAD + 2 + DISCO_MAX_ENDPOINTS * DISCO_ENDPOINT_LEN + KEY_LEN];
	size_t n;

	if (!peer->has_disco)
		return;
	n = disco_seal(buf, sizeof(buf), &ms->disco_pub, &peer->shared, m);
	if (n == 0) {
		ms->c.disco_tx_errors++;
		return;
	}
	if (to != NULL ? engine_udp_send(ms->engine, to, buf, n) == 0
		       : ms_relay_send(ms, peer, buf, n))
		ms->c.disco_tx++;
	else
		ms->c.disco_tx_errors++;
}

static void ms_do_actions(struct magicsock *ms, struct ms_peer *peer,
			  const struct pathsel_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++) {
		const struct pathsel_action *a = &acts->a[i];
		struct disco_msg m;

		memset(&m, 0, sizeof(m));
		switch (a->type) {
		case PATHSEL_ACT_PING:
			m.type = DISCO_PING;
			memcpy(m.u.ping.txid, a->txid, DISCO_TXID_LEN);
			m.u.ping.node_key = ms->node_pub;
			ms_disco_send(ms, peer, &m, &a->ep);
			break;
		case PATHSEL_ACT_CALL_ME_MAYBE:
			m.type = DISCO_CALL_ME_MAYBE;
			m.u.cmm.n = ms_our_endpoints(ms, m.u.cmm.endpoints, DISCO_MAX_ENDPOINTS);
			ms_disco_send(ms, peer, &m, NULL);
			break;
		}
	}
}

static void ms_peer_sync_locked(struct magicsock *ms, struct ms_peer *peer, struct wg_peer *wp,
				uint64_t now);

/* Re-points the peer's WireGuard endpoint after a path change (takes the engine lock). */
static void ms_peer_sync(struct magicsock *ms, struct ms_peer *peer, uint64_t now)
{
	struct wg_peer *wp;

	engine_lock(ms->engine);
	wp = wg_device_peer_find(engine_device(ms->engine), peer->key.b);
	if (wp != NULL)
		ms_peer_sync_locked(ms, peer, wp, now);
	engine_unlock(ms->engine);
}

static void ms_disco_in(struct magicsock *ms, const uint8_t *p, size_t n,
			const struct netendpoint *src, const struct node_public *via_relay)
{
	uint64_t now = clock_mono_ns();
	struct pathsel_actions acts = { .n = 0 };
	struct disco_public sender;
	struct ms_peer *peer;
	struct disco_msg m;
	enum disco_verdict v;
	uint64_t lat;

	if (via_relay != NULL)
		ms->c.disco_rx_relay++;
	else
		ms->c.disco_rx++;
	if (disco_sender(p, n, &sender) < 0 || (peer = ms_peer_by_disco(ms, &sender)) == NULL) {
		ms->c.disco_unknown_sender++;
		return;
	}
	/* Through the relay, the relay vouches for the node key: it must be the disco key's. */
	if (via_relay != NULL && !keys_eq(via_relay->b, peer->key.b)) {
		ms->c.disco_relay_key_mismatch++;
		return;
	}
	v = disco_open(p, n, &peer->shared, &m);
	disco_count(&ms->dc, v, v == DISCO_OK ? &m : NULL);
	if (v != DISCO_OK) {
		log_debug_rl("disco: dropped a message: %s", disco_verdict_name(v));
		return;
	}
	switch (m.type) {
	case DISCO_PING: {
		struct disco_msg pong;
		struct netendpoint magic;
		if (!keys_eq(m.u.ping.node_key.b, peer->key.b)) {
			ms->c.disco_bad_node_key++;
			return;
		}
		if (!disco_seen_check(&peer->seen, m.u.ping.txid, now, MS_SEEN_TTL_NS)) {
			ms->c.disco_replayed_ping++;
			return;
		}
		pathsel_on_ping(&peer->ps, src, via_relay != NULL, now);
		memset(&pong, 0, sizeof(pong));
		pong.type = DISCO_PONG;
		memcpy(pong.u.pong.txid, m.u.ping.txid, DISCO_TXID_LEN);
		engine_magic_endpoint(peer->slot, &magic);
		pong.u.pong.src = src != NULL ? *src : magic;
		ms_disco_send(ms, peer, &pong, src);
		break;
	}
	case DISCO_PONG:
		if (src == NULL) {
			ms->c.disco_pong_via_relay++;
			return;
		}
		if (pathsel_on_pong(&peer->ps, m.u.pong.txid, src, now, &lat) >= PATHSEL_PONG_OK)
			ms_peer_sync(ms, peer, now);
		break;
	case DISCO_CALL_ME_MAYBE:
		pathsel_on_call_me_maybe(&peer->ps, m.u.cmm.endpoints, m.u.cmm.n, now, &acts);
		ms_do_actions(ms, peer, &acts);
		break;
	}
}

/* ---- the engine's hooks ----------------------------------------------------------------- */

static void ms_relay_out(void *arg, uint16_t slot, const uint8_t *p, size_t n)
{
	struct magicsock *ms = arg;
	struct ms_peer *peer = slot <= MS_MAX_PEERS ? ms->peers[slot] : NULL;
	struct pathsel_actions acts = { .n = 0 };
	struct pathsel_route r;
	uint64_t now = clock_mono_ns();

	if (peer == NULL) {
		ms->c.unknown_slot++;
		return;
	}
	pathsel_route(&peer->ps, now, &r, &acts);
	if (r.direct) {
		ms->c.direct_tx_from_relay_path++;
		if (engine_udp_send(ms->engine, &r.ep, p, n) < 0)
			log_debug_rl("magicsock: direct send failed");
	}
	if (r.relay) {
		bool sent = ms_relay_send(ms, peer, p, n);
		if (!r.direct)
			ms_hold(ms, peer, p, n, sent, now);
		/* No relay up (yet): the handshake is held for when one is; meanwhile try the
		 * addresses the map lists, so a LAN works at once. */
		for (size_t i = 0; !sent && !r.direct && i < peer->n_cands && i < MS_SPRAY_MAX; i++)
			if (engine_udp_send(ms->engine, &peer->cands[i], p, n) == 0)
				ms->c.spray_tx++;
	}
	if (r.direct && pathsel_is_direct(&peer->ps, now))
		ms_peer_sync(ms, peer, now);
	ms_do_actions(ms, peer, &acts);
}

static void ms_udp_other(void *arg, const struct netendpoint *src, const uint8_t *p, size_t n)
{
	struct magicsock *ms = arg;

	if (stun_is_packet(p, n)) {
		if (!ms->nc->running || !netcheck_on_stun(ms->nc, p, n, clock_mono_ns()))
			ms->c.stun_unsolicited++;
		return;
	}
	ms_disco_in(ms, p, n, src, NULL);
}

static const struct engine_magic_ops ms_engine_ops = {
	.relay_out = ms_relay_out,
	.udp_other = ms_udp_other,
};

/* ---- netcheck --------------------------------------------------------------------------- */

static uint64_t ms_rmap_sig(const struct netmap_relaymap *m)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; m != NULL && i < m->n_regions; i++)
		h = (h ^ m->regions[i].id ^ ((uint64_t)m->regions[i].n_nodes << 32)) *
		    1099511628211ULL;
	return h;
}

static void ms_netcheck_finish(struct magicsock *ms, uint64_t now)
{
	struct netcheck_report *r = &ms->report;
	struct netendpoint eps[MAGICSOCK_MAX_ENDPOINTS];
	size_t n = 0;
	uint32_t home;

	netcheck_finish(ms->nc, now, r);
	ms->have_report = true;
	ms->c.netchecks++;
	if (r->have_global_v4)
		eps[n++] = r->global_v4;
	if (r->have_global_v6)
		eps[n++] = r->global_v6;
	if (n != ms->n_stun_eps || memcmp(eps, ms->stun_eps, n * sizeof(eps[0])) != 0) {
		memcpy(ms->stun_eps, eps, n * sizeof(eps[0]));
		ms->n_stun_eps = n;
		if (ms->cb.changed != NULL)
			ms->cb.changed(ms->cb_arg);
	}
	/* Without UDP (no STUN answer) keep the home we have, or take the map's first region:
	 * the relay over TCP is then the only path. */
	home = r->preferred_region;
	if (home == 0)
		home = ms->home != 0 && relay_region_find(ms->rmap, ms->home) != NULL
			       ? ms->home
			       : ms->rmap->regions[0].id;
	ms_set_home(ms, home);
}

static void ms_netcheck_tick(struct magicsock *ms, uint64_t now)
{
	struct netcheck_send s[MS_NETCHECK_SEND_MAX];
	size_t n;

	if (ms->rmap == NULL || ms->rmap->n_regions == 0)
		return;
	if (!ms->nc->running) {
		if (now < ms->next_netcheck_ns)
			return;
		ms->next_netcheck_ns = now + MS_NETCHECK_EVERY_NS;
		if (netcheck_begin(ms->nc, ms->rmap, true, now) == 0) {
			/* Nothing to probe (no STUN literals): the relay still works over TCP. */
			ms_netcheck_finish(ms, now);
			return;
		}
	}
	while ((n = netcheck_due(ms->nc, now, s, MS_NETCHECK_SEND_MAX)) > 0)
		for (size_t i = 0; i < n; i++)
			if (engine_udp_send(ms->engine, &s[i].dst, s[i].req, s[i].len) < 0)
				log_debug_rl("netcheck: cannot send a STUN probe");
	if (netcheck_done(ms->nc, now))
		ms_netcheck_finish(ms, now);
}

/* ---- per-peer timers -------------------------------------------------------------------- */

static void ms_peer_sync_locked(struct magicsock *ms, struct ms_peer *peer, struct wg_peer *wp,
				uint64_t now)
{
	struct wg_peer_info info;
	struct netendpoint want;
	bool direct = pathsel_is_direct(&peer->ps, now);

	if (direct)
		want = peer->ps.best;
	else
		engine_magic_endpoint(peer->slot, &want);
	wg_peer_info(wp, &info);
	mem_wipe(info.psk, sizeof(info.psk));
	if (direct != peer->direct) {
		char ep[NETENDPOINT_STRLEN];
		log_info("magicsock: peer %u now %s%s", peer->slot, direct ? "direct " : "relayed",
			 direct ? netendpoint_format(&want, ep, sizeof(ep)) : "");
		if (direct)
			ms->c.path_to_direct++;
		else
			ms->c.path_to_relay++;
		peer->direct = direct;
	}
	/* WireGuard roams to where packets come from; the path is ours to choose. */
	if (!info.has_endpoint || !netendpoint_eq(&info.endpoint, &want))
		wg_peer_set_endpoint(wp, &want);
}

static void ms_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct magicsock *ms = arg;
	uint64_t now = clock_mono_ns();
	struct wg_device *dev = engine_device(ms->engine);

	(void)fd;
	(void)what;
	ms_netcheck_tick(ms, now);
	ms_relays_failover(ms);
	for (size_t i = 1; i <= MS_MAX_PEERS; i++) {
		struct ms_peer *peer = ms->peers[i];
		struct pathsel_actions acts = { .n = 0 };
		struct wg_peer_info info;
		struct wg_peer *wp;
		bool sent = false;

		if (peer == NULL)
			continue;
		/* The relay may have come up through another peer, or the home been chosen. */
		ms_hold_flush(ms, peer, now, false);
		engine_lock(ms->engine);
		wp = wg_device_peer_find(dev, peer->key.b);
		if (wp != NULL) {
			wg_peer_info(wp, &info);
			mem_wipe(info.psk, sizeof(info.psk));
			sent = info.tx_bytes != peer->last_tx_bytes;
			peer->last_tx_bytes = info.tx_bytes;
		}
		engine_unlock(ms->engine);
		if (wp == NULL)
			continue;
		/* Data that did not pass ms_relay_out (direct, or to where WireGuard roamed
		 * between two ticks) is activity for pathsel too, and starts discovery. */
		if (sent) {
			struct pathsel_route r;
			pathsel_route(&peer->ps, now, &r, &acts);
		}
		pathsel_tick(&peer->ps, now, &acts);
		ms_do_actions(ms, peer, &acts);
		ms_peer_sync(ms, peer, now);
	}
}

/* ---- the map ---------------------------------------------------------------------------- */

void magicsock_peer_update(struct magicsock *ms, struct wg_peer *wp, const struct netmap_node *n)
{
	struct ms_peer *peer = ms_peer_by_key(ms, &n->key);
	uint64_t now = clock_mono_ns();
	size_t k;

	if (peer == NULL) {
		size_t slot = 0;
		for (size_t i = 1; i <= MS_MAX_PEERS && slot == 0; i++)
			if (ms->peers[i] == NULL)
				slot = i;
		if (slot == 0 || (peer = calloc(1, sizeof(*peer))) == NULL) {
			log_warnx("magicsock: no room for another peer");
			return;
		}
		peer->slot = (uint16_t)slot;
		peer->key = n->key;
		pathsel_init(&peer->ps);
		disco_seen_init(&peer->seen);
		ms->peers[slot] = peer;
	}
	if (!keys_is_zero(n->disco.b) && (!peer->has_disco || !keys_eq(peer->disco.b, n->disco.b))) {
		/* A new disco key: the peer restarted. Its old paths are not proven any more. */
		disco_shared_wipe(&peer->shared);
		peer->has_disco = disco_shared_init(&peer->shared, &ms->disco_priv, &n->disco) == 0;
		peer->disco = n->disco;
		pathsel_init(&peer->ps);
	}
	peer->relay_home = n->relay_home;
	pathsel_set_endpoints(&peer->ps, n->endpoints, n->n_endpoints, now);
	k = n->n_endpoints < MAGICSOCK_MAX_ENDPOINTS ? n->n_endpoints : MAGICSOCK_MAX_ENDPOINTS;
	memcpy(peer->cands, n->endpoints, k * sizeof(peer->cands[0]));
	peer->n_cands = k;
	ms_peer_sync_locked(ms, peer, wp, now);
	/* Its map entry changed: it may just have reached its relay. */
	ms_hold_flush(ms, peer, now, true);
}

void magicsock_peer_remove(struct magicsock *ms, const struct node_public *k)
{
	struct ms_peer *peer = ms_peer_by_key(ms, k);

	if (peer != NULL)
		ms_peer_free(ms, peer);
}

void magicsock_peers_clear(struct magicsock *ms)
{
	for (size_t i = 1; i <= MS_MAX_PEERS; i++)
		if (ms->peers[i] != NULL)
			ms_peer_free(ms, ms->peers[i]);
}

void magicsock_set_relaymap(struct magicsock *ms, const struct netmap_relaymap *m)
{
	uint64_t sig = ms_rmap_sig(m);

	ms->rmap = m != NULL && m->n_regions > 0 ? m : NULL;
	if (sig == ms->rmap_sig)
		return;
	/* Regions changed: drop the connections and measure again now. */
	ms->rmap_sig = sig;
	ms_relays_close(ms);
	ms->home = 0;
	ms->nc->running = false;
	ms->next_netcheck_ns = 0;
}

void magicsock_set_node_key(struct magicsock *ms, const struct node_private *k)
{
	if (ms->have_node_key && keys_eq(ms->node_key.b, k->b))
		return;
	ms->node_key = *k;
	ms->have_node_key = node_private_public(&ms->node_pub, k) == 0;
	/* The relays know us by node key: reconnect with the new one. */
	ms_relays_close(ms);
	if (ms->home != 0)
		(void)ms_relay_get(ms, ms->home);
}

/* ---- queries ---------------------------------------------------------------------------- */

const struct disco_public *magicsock_disco_public(const struct magicsock *ms)
{
	return &ms->disco_pub;
}

size_t magicsock_endpoints(const struct magicsock *ms, struct netendpoint *out, size_t max)
{
	size_t n = ms->n_stun_eps < max ? ms->n_stun_eps : max;

	memcpy(out, ms->stun_eps, n * sizeof(out[0]));
	return n;
}

uint32_t magicsock_home(const struct magicsock *ms)
{
	return ms->home;
}

bool magicsock_peer_direct(const struct magicsock *ms, const struct node_public *k,
			   struct netendpoint *direct)
{
	const struct ms_peer *peer = ms_peer_by_key(ms, k);

	if (peer == NULL || !peer->direct)
		return false;
	*direct = peer->ps.best;
	return true;
}

uint32_t magicsock_peer_relay(const struct magicsock *ms, const struct node_public *k)
{
	const struct ms_peer *peer = ms_peer_by_key(ms, k);

	if (peer != NULL && peer->relay_home != 0)
		return peer->relay_home;
	return ms->home;
}

json_t *magicsock_netcheck_json(const struct magicsock *ms)
{
	struct buf_writer w;
	struct jsonx_err err;
	json_t *o = NULL;

	if (!ms->have_report)
		return json_object();
	buf_writer_growable(&w, 1u << 16);
	if (netcheck_report_json(&ms->report, &w) == 0 && !w.err &&
	    jsonx_load(w.p, w.len, &o, &err) < 0)
		o = NULL;
	buf_writer_free(&w);
	return o;
}

int magicsock_counters_json(const struct magicsock *ms, json_t *o)
{
	int bad = 0;

#define MS_JSON(n)                                                                                 \
	bad |= json_object_set_new(o, "magicsock_" #n, json_integer((json_int_t)ms->c.n));
	MS_COUNTERS(MS_JSON)
#undef MS_JSON
	for (int v = 1; v < DISCO_VERDICT_COUNT; v++) {
		char name[64];
		snprintf(name, sizeof(name), "disco_rejected_%s", disco_verdict_name(v));
		bad |= json_object_set_new(o, name, json_integer((json_int_t)ms->dc.rejected[v]));
	}
	for (int v = 1; v < STUN_VERDICT_COUNT; v++) {
		char name[64];
		snprintf(name, sizeof(name), "stun_rejected_%s", stun_verdict_name(v));
		bad |= json_object_set_new(o, name,
					   json_integer((json_int_t)ms->nc->c.parse.rejected[v]));
	}
	bad |= json_object_set_new(o, "stun_unmatched",
				   json_integer((json_int_t)ms->nc->c.unmatched));
	for (size_t i = 0; i < MS_MAX_RELAYS; i++) {
		struct relay_client_stats st;
		char name[64];
		if (ms->relays[i].rc == NULL)
			continue;
		relay_client_stats(ms->relays[i].rc, &st);
		snprintf(name, sizeof(name), "relay_%u_proto_errors", ms->relays[i].region);
		bad |= json_object_set_new(o, name, json_integer((json_int_t)st.proto_errors));
		snprintf(name, sizeof(name), "relay_%u_reconnects", ms->relays[i].region);
		bad |= json_object_set_new(o, name, json_integer((json_int_t)st.disconnects));
	}
	return bad ? -ENOMEM : 0;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

int magicsock_new(struct event_base *base, struct engine *e, const char *tun,
		  const struct magicsock_callbacks *cb, void *arg, struct magicsock **out)
{
	struct timeval tv = { 0, MS_TICK_MS * 1000 };
	struct magicsock *ms;
	int r = -ENOMEM;

	*out = NULL;
	ms = calloc(1, sizeof(*ms));
	if (ms == NULL)
		return -ENOMEM;
	ms->base = base;
	ms->engine = e;
	snprintf(ms->tun, sizeof(ms->tun), "%s", tun);
	if (cb != NULL)
		ms->cb = *cb;
	ms->cb_arg = arg;
	/* A fresh disco key per start, as Tailscale does: peers learn it through control. */
	keys_generate(ms->disco_priv.b);
	if (disco_private_public(&ms->disco_pub, &ms->disco_priv) < 0) {
		r = -EINVAL;
		goto fail;
	}
	if ((ms->nc = calloc(1, sizeof(*ms->nc))) == NULL)
		goto fail;
	netcheck_init(ms->nc);
	ms->tick = event_new(base, -1, EV_PERSIST, ms_tick_cb, ms);
	if (ms->tick == NULL || event_add(ms->tick, &tv) < 0)
		goto fail;
	engine_set_magic(e, &ms_engine_ops, ms);
	*out = ms;
	return 0;
fail:
	magicsock_free(ms);
	return r;
}

void magicsock_free(struct magicsock *ms)
{
	if (ms == NULL)
		return;
	if (ms->engine != NULL) {
		struct engine_magic_ops none = { 0 };
		engine_set_magic(ms->engine, &none, NULL);
	}
	if (ms->tick != NULL)
		event_free(ms->tick);
	ms_relays_close(ms);
	magicsock_peers_clear(ms);
	free(ms->nc);
	mem_wipe(&ms->disco_priv, sizeof(ms->disco_priv));
	mem_wipe(&ms->node_key, sizeof(ms->node_key));
	free(ms);
}

/* SPDX-License-Identifier: ISC */
/* pathsel: one peer's candidate endpoints, pings and path choice (see pathsel.h). */
#include <string.h>

#include <sodium.h>

#include "disco/pathsel.h"

void pathsel_init(struct pathsel_peer *p)
{
	memset(p, 0, sizeof(*p));
}

static struct pathsel_cand *pathsel_find(struct pathsel_peer *p, const struct netendpoint *ep)
{
	for (size_t i = 0; i < p->n_cands; i++)
		if (netendpoint_eq(&p->cands[i].ep, ep))
			return &p->cands[i];
	return NULL;
}

static void pathsel_remove_at(struct pathsel_peer *p, size_t i)
{
	p->cands[i] = p->cands[p->n_cands - 1];
	p->n_cands--;
}

/* Drops candidates whose source bits are all gone; the best path goes with its candidate. */
static void pathsel_compact(struct pathsel_peer *p)
{
	for (size_t i = 0; i < p->n_cands;) {
		if (p->cands[i].src == 0) {
			if (p->have_best && netendpoint_eq(&p->best, &p->cands[i].ep))
				p->have_best = false;
			pathsel_remove_at(p, i);
		} else {
			i++;
		}
	}
}

/*
 * Adds `ep` with source `src`. When the table is full a candidate learnt
 * from a ping (the least reliable source) makes room, oldest first.
 */
static struct pathsel_cand *pathsel_add(struct pathsel_peer *p, const struct netendpoint *ep,
					uint8_t src, uint64_t now_ns)
{
	struct pathsel_cand *c = pathsel_find(p, ep);

	if (c != NULL) {
		c->src |= src;
		c->seen_ns = now_ns;
		return c;
	}
	if (p->n_cands == PATHSEL_MAX_CANDS) {
		size_t victim = PATHSEL_MAX_CANDS;
		for (size_t i = 0; i < p->n_cands; i++) {
			if (p->cands[i].src != PATHSEL_SRC_PING)
				continue;
			if (p->have_best && netendpoint_eq(&p->best, &p->cands[i].ep))
				continue;
			if (victim == PATHSEL_MAX_CANDS ||
			    p->cands[i].seen_ns < p->cands[victim].seen_ns)
				victim = i;
		}
		if (victim == PATHSEL_MAX_CANDS) {
			p->c.cands_dropped++;
			return NULL;
		}
		pathsel_remove_at(p, victim);
		p->c.cands_dropped++;
	}
	c = &p->cands[p->n_cands++];
	memset(c, 0, sizeof(*c));
	c->ep = *ep;
	c->src = src;
	c->seen_ns = now_ns;
	return c;
}

static void pathsel_replace_source(struct pathsel_peer *p, uint8_t src,
				   const struct netendpoint *eps, size_t n, uint64_t now_ns)
{
	for (size_t i = 0; i < p->n_cands; i++)
		p->cands[i].src &= (uint8_t)~src;
	for (size_t i = 0; i < n; i++) {
		struct pathsel_cand *c = pathsel_find(p, &eps[i]);
		if (c != NULL)
			c->src |= src; /* keep its ping history */
	}
	pathsel_compact(p);
	for (size_t i = 0; i < n; i++)
		(void)pathsel_add(p, &eps[i], src, now_ns);
}

void pathsel_set_endpoints(struct pathsel_peer *p, const struct netendpoint *eps, size_t n,
			   uint64_t now_ns)
{
	pathsel_replace_source(p, PATHSEL_SRC_NETMAP, eps, n, now_ns);
}

bool pathsel_is_direct(const struct pathsel_peer *p, uint64_t now_ns)
{
	return p->have_best && now_ns < p->trust_until_ns;
}

bool pathsel_is_active(const struct pathsel_peer *p, uint64_t now_ns)
{
	return p->last_send_ns != 0 && now_ns - p->last_send_ns < PATHSEL_SESSION_ACTIVE_NS;
}

static void pathsel_act(struct pathsel_actions *acts, enum pathsel_action_type t,
			const struct netendpoint *ep, const uint8_t *txid)
{
	struct pathsel_action *a;

	if (acts->n == PATHSEL_MAX_ACTIONS)
		return;
	a = &acts->a[acts->n++];
	memset(a, 0, sizeof(*a));
	a->type = t;
	if (ep != NULL)
		a->ep = *ep;
	if (txid != NULL)
		memcpy(a->txid, txid, DISCO_TXID_LEN);
}

/* Records an outstanding ping (the oldest is forgotten when full) and emits it. */
static void pathsel_ping(struct pathsel_peer *p, struct pathsel_cand *c, uint64_t now_ns,
			 struct pathsel_actions *acts)
{
	struct pathsel_ping *slot = NULL;

	if (acts->n == PATHSEL_MAX_ACTIONS)
		return;
	for (size_t i = 0; i < PATHSEL_MAX_PINGS; i++) {
		if (!p->pings[i].used) {
			slot = &p->pings[i];
			break;
		}
		if (slot == NULL || p->pings[i].sent_ns < slot->sent_ns)
			slot = &p->pings[i];
	}
	if (slot->used)
		p->c.pings_expired++;
	slot->used = true;
	randombytes_buf(slot->txid, DISCO_TXID_LEN);
	slot->ep = c->ep;
	slot->sent_ns = now_ns;
	c->last_ping_ns = now_ns;
	p->c.pings_sent++;
	pathsel_act(acts, PATHSEL_ACT_PING, &c->ep, slot->txid);
}

/* Pings every candidate not pinged within the interval, and asks the peer to do the same. */
static void pathsel_discover(struct pathsel_peer *p, uint64_t now_ns, struct pathsel_actions *acts)
{
	for (size_t i = 0; i < p->n_cands; i++) {
		struct pathsel_cand *c = &p->cands[i];
		if (c->last_ping_ns != 0 && now_ns - c->last_ping_ns < PATHSEL_PING_INTERVAL_NS)
			continue;
		pathsel_ping(p, c, now_ns, acts);
	}
	p->last_discovery_ns = now_ns;
	if (p->last_cmm_ns == 0 || now_ns - p->last_cmm_ns >= PATHSEL_CMM_INTERVAL_NS) {
		p->last_cmm_ns = now_ns;
		p->c.cmm_sent++;
		pathsel_act(acts, PATHSEL_ACT_CALL_ME_MAYBE, NULL, NULL);
	}
}

void pathsel_route(struct pathsel_peer *p, uint64_t now_ns, struct pathsel_route *r,
		   struct pathsel_actions *acts)
{
	memset(r, 0, sizeof(*r));
	p->last_send_ns = now_ns == 0 ? 1 : now_ns;
	if (pathsel_is_direct(p, now_ns)) {
		r->direct = true;
		r->ep = p->best;
		p->trusted = true;
		/* A working but slow path is worth improving now and then. */
		if (p->best_latency_ns > PATHSEL_GOOD_ENOUGH_NS &&
		    now_ns - p->last_discovery_ns >= PATHSEL_UPGRADE_NS)
			pathsel_discover(p, now_ns, acts);
		return;
	}
	if (p->trusted) {
		p->trusted = false;
		p->c.trust_lost++;
	}
	if (p->have_best) {
		r->direct = true;
		r->ep = p->best;
	}
	r->relay = true;
	pathsel_discover(p, now_ns, acts);
}

void pathsel_on_ping(struct pathsel_peer *p, const struct netendpoint *src, bool via_relay,
		     uint64_t now_ns)
{
	if (via_relay)
		return;
	(void)pathsel_add(p, src, PATHSEL_SRC_PING, now_ns);
}

/* Bonus points for address kinds that are usually the better path. */
static int pathsel_points(const struct netendpoint *e)
{
	const struct netaddr *a = &e->addr;
	int pts = 0;

	if (a->family == NETADDR_V4) {
		if (a->a[0] == 127)
			pts += 50;
		else if (a->a[0] == 169 && a->a[1] == 254)
			pts += 30;
		else if (a->a[0] == 10 || (a->a[0] == 172 && (a->a[1] & 0xf0) == 16) ||
			 (a->a[0] == 192 && a->a[1] == 168))
			pts += 20;
	} else if (a->family == NETADDR_V6) {
		static const uint8_t lo[16] = { [15] = 1 };
		if (memcmp(a->a, lo, 16) == 0)
			pts += 50;
		else if (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80)
			pts += 30;
		else if ((a->a[0] & 0xfe) == 0xfc)
			pts += 20;
		pts += 10;
	}
	return pts;
}

bool pathsel_is_better(const struct netendpoint *a, uint64_t la, const struct netendpoint *b,
		       uint64_t lb)
{
	double pts;

	if (netendpoint_eq(a, b))
		return false;
	if (lb == 0)
		lb = 1;
	/* Percentage latency advantage of a over b: positive when a is faster. */
	pts = ((double)lb - (double)la) * 100.0 / (double)lb;
	pts += pathsel_points(a) - pathsel_points(b);
	return pts > 1.0;
}

enum pathsel_pong_result pathsel_on_pong(struct pathsel_peer *p,
					 const uint8_t txid[static DISCO_TXID_LEN],
					 const struct netendpoint *from, uint64_t now_ns,
					 uint64_t *latency_ns)
{
	struct pathsel_ping *pg = NULL;
	struct pathsel_cand *c;
	enum pathsel_pong_result res = PATHSEL_PONG_OK;
	uint64_t lat;

	for (size_t i = 0; i < PATHSEL_MAX_PINGS; i++) {
		if (p->pings[i].used &&
		    sodium_memcmp(p->pings[i].txid, txid, DISCO_TXID_LEN) == 0) {
			pg = &p->pings[i];
			break;
		}
	}
	if (pg == NULL || now_ns - pg->sent_ns > PATHSEL_PING_TIMEOUT_NS) {
		if (pg != NULL)
			pg->used = false;
		p->c.pongs_unknown++;
		return PATHSEL_PONG_UNKNOWN;
	}
	if (!netendpoint_eq(&pg->ep, from)) {
		p->c.pongs_wrong_src++;
		return PATHSEL_PONG_WRONG_SRC;
	}
	pg->used = false;
	lat = now_ns - pg->sent_ns;
	if (latency_ns != NULL)
		*latency_ns = lat;
	p->c.pongs_matched++;
	c = pathsel_find(p, from);
	if (c != NULL) {
		c->last_pong_ns = now_ns;
		c->latency_ns = lat;
	}
	if (!p->have_best || !pathsel_is_direct(p, now_ns) ||
	    (!netendpoint_eq(&p->best, from) &&
	     pathsel_is_better(from, lat, &p->best, p->best_latency_ns))) {
		if (!p->have_best || !netendpoint_eq(&p->best, from)) {
			p->c.best_changes++;
			res = PATHSEL_PONG_NEW_BEST;
		}
		p->have_best = true;
		p->best = *from;
	}
	if (netendpoint_eq(&p->best, from)) {
		p->best_latency_ns = lat;
		p->best_pong_ns = now_ns;
		p->trust_until_ns = now_ns + PATHSEL_TRUST_NS;
	}
	return res;
}

void pathsel_on_call_me_maybe(struct pathsel_peer *p, const struct netendpoint *eps, size_t n,
			      uint64_t now_ns, struct pathsel_actions *acts)
{
	p->c.cmm_received++;
	pathsel_replace_source(p, PATHSEL_SRC_CMM, eps, n, now_ns);
	/* The peer is pinging us now: ping back at once so both sides' NATs open. */
	for (size_t i = 0; i < p->n_cands; i++)
		if (p->cands[i].src & PATHSEL_SRC_CMM)
			pathsel_ping(p, &p->cands[i], now_ns, acts);
}

void pathsel_tick(struct pathsel_peer *p, uint64_t now_ns, struct pathsel_actions *acts)
{
	for (size_t i = 0; i < PATHSEL_MAX_PINGS; i++) {
		if (p->pings[i].used && now_ns - p->pings[i].sent_ns > PATHSEL_PING_TIMEOUT_NS) {
			p->pings[i].used = false;
			p->c.pings_expired++;
		}
	}
	if (p->have_best && now_ns - p->best_pong_ns > PATHSEL_BEST_DEAD_NS) {
		p->have_best = false; /* long dead: relay only until discovery finds a path */
		p->c.trust_lost += p->trusted;
		p->trusted = false;
	}
	if (!pathsel_is_active(p, now_ns))
		return; /* idle: no heartbeats, no discovery */
	if (p->have_best && now_ns - p->last_heartbeat_ns >= PATHSEL_HEARTBEAT_NS) {
		struct pathsel_cand *c = pathsel_find(p, &p->best);
		if (c == NULL)
			c = pathsel_add(p, &p->best, PATHSEL_SRC_PING, now_ns);
		if (c != NULL) {
			p->last_heartbeat_ns = now_ns;
			pathsel_ping(p, c, now_ns, acts);
		}
	}
	if (!pathsel_is_direct(p, now_ns))
		pathsel_discover(p, now_ns, acts);
}

static uint64_t pathsel_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t pathsel_next_deadline(const struct pathsel_peer *p, uint64_t now_ns)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < PATHSEL_MAX_PINGS; i++)
		if (p->pings[i].used)
			d = pathsel_min(d, p->pings[i].sent_ns + PATHSEL_PING_TIMEOUT_NS + 1);
	if (p->have_best)
		d = pathsel_min(d, p->best_pong_ns + PATHSEL_BEST_DEAD_NS + 1);
	if (pathsel_is_active(p, now_ns)) {
		if (p->have_best)
			d = pathsel_min(d, p->last_heartbeat_ns + PATHSEL_HEARTBEAT_NS);
		if (!pathsel_is_direct(p, now_ns))
			d = pathsel_min(d, p->last_discovery_ns + PATHSEL_PING_INTERVAL_NS);
		else
			d = pathsel_min(d, p->trust_until_ns);
	}
	return d < now_ns ? now_ns : d;
}

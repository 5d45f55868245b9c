/* SPDX-License-Identifier: ISC */
/*
 * backend_peers: the network map and applying it. A full map is diffed
 * against the previous one and a delta comes with its change list, so only
 * the peers that changed are touched: adding, updating (allowed IPs,
 * endpoints, key) or removing WireGuard peers, under the engine lock; flows
 * to every other peer carry on undisturbed. Our own addresses go onto the
 * interface with the tailnet routes, and the map's packet filter into the
 * engine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "dns/dnstable.h"
#include "filter/filter.h"
#include "json/jsonx.h"
#include "wg/device.h"
#include "weftd/backend_int.h"
#include "weftd/engine.h"
#include "weftd/magicsock.h"
#include "weftd/netcfg.h"
#include "weftd/state.h"

static bool backend_node_has_addr(const struct netmap_node *n, const struct netaddr *a)
{
	for (size_t i = 0; i < n->n_addresses; i++)
		if (netaddr_eq(&n->addresses[i].addr, a))
			return true;
	return false;
}

const struct netmap_node *backend_node_by_addr(const struct backend *be, const struct netaddr *a)
{
	const struct netmap_node *self;

	if (be->nm == NULL)
		return NULL;
	self = netmap_self(be->nm);
	if (self != NULL && backend_node_has_addr(self, a))
		return self;
	return netmap_peer_by_addr(be->nm, a);
}

/* ---- the engine ----------------------------------------------------------------------- */

static int backend_apply_allowed(struct wg_peer *wp, const struct netmap_node *n)
{
	const struct netprefix *v = n->n_allowed_ips > 0 ? n->allowed_ips : n->addresses;
	size_t cnt = n->n_allowed_ips > 0 ? n->n_allowed_ips : n->n_addresses;
	int r;

	/* Done under the engine lock: the data path never sees a peer without them. */
	wg_peer_allowedips_clear(wp);
	for (size_t i = 0; i < cnt; i++) {
		struct netprefix p;
		if (netprefix_make(&p, &v[i].addr, v[i].bits) < 0)
			continue;
		r = wg_peer_allowedip_add(wp, &p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Adds or updates one peer; `fields` (NETMAP_F_*) says what changed, ~0 for everything. */
static int backend_apply_node(struct backend *be, struct wg_device *dev,
			      const struct netmap_node *n, uint32_t fields)
{
	struct wg_peer *wp = wg_device_peer_find(dev, n->key.b);
	int r;

	if (wp == NULL) {
		r = wg_device_peer_add(dev, n->key.b, &wp);
		if (r < 0)
			return r;
		fields = ~0U;
	}
	/* magicsock chooses the WireGuard endpoint: the relay until disco finds a path. */
	if (fields & (NETMAP_F_ENDPOINTS | NETMAP_F_DISCO | NETMAP_F_RELAY_HOME))
		magicsock_peer_update(be->ms, wp, n);
	if (fields & (NETMAP_F_ALLOWED_IPS | NETMAP_F_ADDRESSES))
		return backend_apply_allowed(wp, n);
	return 0;
}

static void backend_remove_key(struct backend *be, struct wg_device *dev,
			       const struct node_public *k)
{
	struct wg_peer *wp = wg_device_peer_find(dev, k->b);

	if (wp != NULL)
		wg_device_peer_remove(dev, wp);
	magicsock_peer_remove(be->ms, k);
}

/* Everything: used for the first map (there is nothing to diff against). */
static int backend_apply_all(struct backend *be, struct wg_device *dev)
{
	const struct netmap_node *self = netmap_self(be->nm);
	struct wg_peer *wp, *next;
	int r = 0;

	for (wp = wg_device_peer_first(dev); wp != NULL; wp = next) {
		struct node_public k;
		next = wg_peer_next(wp);
		memcpy(k.b, wg_peer_public_key(wp), KEY_LEN);
		if (netmap_peer_by_key(be->nm, &k) == NULL) {
			wg_device_peer_remove(dev, wp);
			magicsock_peer_remove(be->ms, &k);
		}
	}
	for (size_t i = 0; i < netmap_peer_count(be->nm) && r == 0; i++) {
		const struct netmap_node *n = netmap_peer_at(be->nm, i);
		if (!n->expired && !keys_eq(n->key.b, self->key.b))
			r = backend_apply_node(be, dev, n, ~0U);
	}
	return r;
}

static int backend_apply_changes(struct backend *be, struct wg_device *dev,
				 const struct netmap_changes *ch)
{
	int r = 0;

	for (size_t i = 0; i < ch->n && r == 0; i++) {
		const struct netmap_change *c = &ch->v[i];
		const struct netmap_node *n;

		switch (c->type) {
		case NETMAP_PEER_REMOVED:
			backend_remove_key(be, dev, &c->key);
			break;
		case NETMAP_PEER_CHANGED:
			if (c->fields & NETMAP_F_KEY)
				backend_remove_key(be, dev, &c->old_key);
			/* fall through */
		case NETMAP_PEER_ADDED:
			n = netmap_peer_by_id(be->nm, c->id);
			if (n == NULL)
				break;
			if (n->expired)
				backend_remove_key(be, dev, &n->key);
			else
				r = backend_apply_node(be, dev, n, c->type == NETMAP_PEER_ADDED ? ~0U
											: c->fields);
			break;
		}
	}
	return r;
}

/* The tailnet's ranges, and MagicDNS's own addresses as host routes while it is in use. */
static int backend_sync_routes(struct backend *be)
{
	struct netprefix routes[4] = { netaddr_cgnat_prefix, netaddr_ula_prefix };
	size_t n = 2;
	bool dns = backend_dns_routed(be);

	if (dns) {
		(void)netprefix_make(&routes[n++], &dnstable_quad100_v4, 32);
		(void)netprefix_make(&routes[n++], &dnstable_quad100_v6, 128);
	}
	be->routes_dns = dns;
	return netcfg_sync_routes(be->netcfg, be->ifindex, routes, n);
}

static int backend_apply_interface(struct backend *be)
{
	const struct netmap_node *self = netmap_self(be->nm);
	int r;

	r = netcfg_link_set(be->netcfg, be->ifindex, be->cfg.mtu, true);
	if (r == 0)
		r = netcfg_sync_addrs(be->netcfg, be->ifindex, self->addresses, self->n_addresses);
	if (r == 0)
		r = backend_sync_routes(be);
	if (r < 0)
		log_warnx("cannot configure interface %s: %s", be->cfg.tun, strerror(-r));
	return r;
}

void backend_dns_changed(struct backend *be)
{
	int r;

	backend_dns_update(be);
	if (be->nm != NULL && backend_dns_routed(be) != be->routes_dns &&
	    (r = backend_sync_routes(be)) < 0)
		log_warnx("cannot route 100.100.100.100 into %s: %s", be->cfg.tun, strerror(-r));
}

/*
 * The map's PacketFilter into the engine. A map without one, or with one
 * that does not decode, accepts nothing from the tunnel (failing closed);
 * when memory runs out the previous filter stays.
 */
static void backend_apply_filter(struct backend *be)
{
	const json_t *rules = netmap_packet_filter(be->nm);
	json_t *none = json_array();
	struct filter_err err;
	struct filter *f = NULL;
	int r;

	if (none == NULL)
		return;
	if (rules == NULL)
		rules = none;
	r = filter_new(rules, &f, &err);
	if (r == -EINVAL) {
		log_warnx("control: the map's packet filter is refused, accepting nothing from the "
			  "tunnel: %s",
			  err.msg);
		snprintf(be->filter_err, sizeof(be->filter_err), "%s", err.msg);
		r = filter_new(none, &f, &err);
	} else if (r == 0) {
		be->filter_err[0] = '\0';
	}
	json_decref(none);
	if (r < 0) {
		log_warnx("control: cannot compile the packet filter (%s): the previous one stays",
			  strerror(-r));
		return;
	}
	engine_set_filter(be->engine, f);
	log_debug("packet filter: %zu rules", filter_get_info(f).rules);
}

/* Pushes the map into engine and interface; ch == NULL means "all of it". */
static int backend_apply(struct backend *be, const struct netmap_changes *ch)
{
	struct wg_device *dev = engine_device(be->engine);
	int r;

	engine_lock(be->engine);
	wg_device_set_private_key(dev, state_current(be->st)->node_key.b);
	r = ch == NULL ? backend_apply_all(be, dev) : backend_apply_changes(be, dev, ch);
	engine_unlock(be->engine);
	magicsock_set_relaymap(be->ms, netmap_relaymap(be->nm));
	if (r < 0) {
		log_warnx("cannot configure WireGuard peers: %s", strerror(-r));
		return r;
	}
	if (ch == NULL || (ch->global & NETMAP_G_FILTER))
		backend_apply_filter(be);
	if (ch == NULL || (ch->global & NETMAP_G_SELF))
		r = backend_apply_interface(be);
	return r;
}

int backend_netmap_full(struct backend *be, struct netmap *nm)
{
	struct netmap_changes ch;
	struct netmap *old = be->nm;
	int r;

	netmap_changes_init(&ch);
	be->nm = nm;
	/* After a reconnect the new full map is diffed with the old one: peers that did
	 * not change keep their sessions. */
	if (old != NULL && netmap_diff(old, nm, &ch) == 0) {
		ch.global |= NETMAP_G_SELF;
		r = backend_apply(be, &ch);
	} else {
		r = backend_apply(be, NULL);
	}
	netmap_changes_free(&ch);
	netmap_free(old);
	backend_dns_changed(be);
	return r;
}

int backend_netmap_delta(struct backend *be, const json_t *frame)
{
	struct netmap_changes ch;
	struct jsonx_err err;
	int r;

	if (be->nm == NULL)
		return -EPROTO;
	netmap_changes_init(&ch);
	r = netmap_apply_delta(be->nm, frame, &ch, &err);
	if (r < 0)
		log_warnx("control: delta refused: %s", err.msg);
	else
		r = backend_apply(be, &ch);
	netmap_changes_free(&ch);
	if (r == 0)
		backend_dns_changed(be);
	return r;
}

void backend_unapply(struct backend *be)
{
	struct wg_device *dev = engine_device(be->engine);

	engine_lock(be->engine);
	wg_device_peers_clear(dev);
	magicsock_peers_clear(be->ms);
	engine_unlock(be->engine);
	magicsock_set_relaymap(be->ms, NULL);
	if (netcfg_sync_addrs(be->netcfg, be->ifindex, NULL, 0) < 0 ||
	    netcfg_sync_routes(be->netcfg, be->ifindex, NULL, 0) < 0)
		log_warnx("cannot clear the addresses and routes of %s", be->cfg.tun);
	be->routes_dns = false;
	netmap_free(be->nm);
	be->nm = NULL;
	backend_dns_update(be);
}

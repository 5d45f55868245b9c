/* SPDX-License-Identifier: ISC */
/*
 * backend_peers: the backend's view of the tailnet (self, peers, users) and
 * applying it: WireGuard peers into the engine, addresses and the tailnet
 * routes onto the interface. Applying changes only what differs, so a new
 * network map leaves the sessions of unchanged peers alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "wg/device.h"
#include "weftd/backend_int.h"
#include "weftd/engine.h"
#include "weftd/netcfg.h"
#include "weftd/state.h"

void backend_peers_clear(struct backend *be)
{
	be->have_self = false;
	memset(&be->self, 0, sizeof(be->self));
	be->npeers = 0;
	be->nusers = 0;
}

int backend_peers_set(struct backend *be, const struct backend_peer *self,
		      const struct backend_peer *peers, size_t npeers)
{
	if (mem_grow((void **)&be->peers, &be->cap_peers, npeers, sizeof(*be->peers)) < 0)
		return -ENOMEM;
	be->self = *self;
	be->have_self = true;
	if (npeers > 0)
		memcpy(be->peers, peers, npeers * sizeof(*peers));
	be->npeers = npeers;
	return 0;
}

int backend_users_set(struct backend *be, const struct backend_user *users, size_t n)
{
	if (mem_grow((void **)&be->users, &be->cap_users, n, sizeof(*be->users)) < 0)
		return -ENOMEM;
	if (n > 0)
		memcpy(be->users, users, n * sizeof(*users));
	be->nusers = n;
	return 0;
}

static bool backend_peer_has_addr(const struct backend_peer *p, const struct netaddr *a)
{
	for (size_t i = 0; i < p->naddrs; i++)
		if (netaddr_eq(&p->addrs[i].addr, a))
			return true;
	return false;
}

const struct backend_peer *backend_peer_by_addr(const struct backend *be, const struct netaddr *a)
{
	if (be->have_self && backend_peer_has_addr(&be->self, a))
		return &be->self;
	for (size_t i = 0; i < be->npeers; i++)
		if (backend_peer_has_addr(&be->peers[i], a))
			return &be->peers[i];
	return NULL;
}

const struct backend_user *backend_user_by_id(const struct backend *be, uint64_t id)
{
	for (size_t i = 0; i < be->nusers; i++)
		if (be->users[i].id == id)
			return &be->users[i];
	return NULL;
}

/* ---- applying to the engine ----------------------------------------------------------- */

static const struct backend_peer *backend_view_find(const struct backend *be,
						    const uint8_t key[static KEY_LEN])
{
	for (size_t i = 0; i < be->npeers; i++)
		if (keys_eq(be->peers[i].key.b, key))
			return &be->peers[i];
	return NULL;
}

/* Keeps an endpoint the peer roamed to while it is still one the map lists. */
static void backend_apply_endpoint(struct wg_peer *wp, const struct backend_peer *p)
{
	struct wg_peer_info info;

	wg_peer_info(wp, &info);
	mem_wipe(info.psk, sizeof(info.psk));
	if (p->neps == 0)
		return;
	for (size_t i = 0; info.has_endpoint && i < p->neps; i++)
		if (netendpoint_eq(&info.endpoint, &p->eps[i]))
			return;
	wg_peer_set_endpoint(wp, &p->eps[0]);
}

static int backend_apply_peer(struct wg_device *dev, const struct backend_peer *p)
{
	struct wg_peer *wp = wg_device_peer_find(dev, p->key.b);
	int r;

	if (wp == NULL) {
		r = wg_device_peer_add(dev, p->key.b, &wp);
		if (r < 0)
			return r;
	}
	backend_apply_endpoint(wp, p);
	/* Swapping the allowed IPs happens under the device lock: the data path never
	 * sees a peer without them. */
	wg_peer_allowedips_clear(wp);
	for (size_t i = 0; i < p->naips; i++) {
		r = wg_peer_allowedip_add(wp, &p->aips[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int backend_apply_engine(struct backend *be)
{
	struct wg_device *dev = engine_device(be->engine);
	struct wg_peer *wp, *next;
	int r = 0;

	engine_lock(be->engine);
	wg_device_set_private_key(dev, state_current(be->st)->node_key.b);
	for (wp = wg_device_peer_first(dev); wp != NULL; wp = next) {
		next = wg_peer_next(wp);
		if (backend_view_find(be, wg_peer_public_key(wp)) == NULL)
			wg_device_peer_remove(dev, wp);
	}
	for (size_t i = 0; i < be->npeers && r == 0; i++) {
		const struct backend_peer *p = &be->peers[i];
		if (p->expired || keys_eq(p->key.b, be->self.key.b))
			continue;
		r = backend_apply_peer(dev, p);
	}
	engine_unlock(be->engine);
	return r;
}

static int backend_apply_interface(struct backend *be)
{
	struct netprefix routes[2] = { netaddr_cgnat_prefix, netaddr_ula_prefix };
	int r;

	r = netcfg_link_set(be->netcfg, be->ifindex, be->cfg.mtu, true);
	if (r == 0)
		r = netcfg_sync_addrs(be->netcfg, be->ifindex, be->self.addrs, be->self.naddrs);
	if (r == 0)
		r = netcfg_sync_routes(be->netcfg, be->ifindex, routes, 2);
	return r;
}

int backend_apply(struct backend *be)
{
	int r;

	if (!be->have_self)
		return -EINVAL;
	r = backend_apply_engine(be);
	if (r < 0) {
		log_warnx("cannot configure WireGuard peers: %s", strerror(-r));
		return r;
	}
	r = backend_apply_interface(be);
	if (r < 0)
		log_warnx("cannot configure interface %s: %s", be->cfg.tun, strerror(-r));
	return r;
}

void backend_unapply(struct backend *be)
{
	struct wg_device *dev = engine_device(be->engine);

	engine_lock(be->engine);
	wg_device_peers_clear(dev);
	engine_unlock(be->engine);
	if (netcfg_sync_addrs(be->netcfg, be->ifindex, NULL, 0) < 0 ||
	    netcfg_sync_routes(be->netcfg, be->ifindex, NULL, 0) < 0)
		log_warnx("cannot clear the addresses and routes of %s", be->cfg.tun);
	backend_peers_clear(be);
}

/* SPDX-License-Identifier: ISC */
/*
 * backend_status: the local API's read side in Tailscale's JSON shapes:
 * status (ipnstate.Status with PeerStatus per peer), whois, the raw network
 * map and the counters. Live figures (bytes, handshakes, current endpoint)
 * come from the engine; the rest from the peer view.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"
#include "crypto/keys.h"
#include "wg/device.h"
#include "weft/localapi.h"
#include "weft_config.h"
#include "weftd/backend_int.h"
#include "weftd/dnsd.h"
#include "weftd/engine.h"
#include "weftd/magicsock.h"
#include "core/buf.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "weftd/state.h"

/* A peer counts as active (and its endpoint as in use) while its session is live. */
#define BACKEND_ACTIVE_NS (180ULL * CLOCK_NS_PER_SEC)

static json_t *backend_time(uint64_t unix_s)
{
	char buf[32];
	struct tm tm;
	time_t t = (time_t)unix_s;

	if (unix_s == 0)
		return json_string("0001-01-01T00:00:00Z");
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *backend_addr_list(const struct netprefix *v, size_t n, bool with_bits)
{
	json_t *a = json_array();
	char buf[NETPREFIX_STRLEN];

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (with_bits)
			netprefix_format(&v[i], buf, sizeof(buf));
		else
			netaddr_format(&v[i].addr, buf, sizeof(buf));
		if (json_array_append_new(a, json_string(buf)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *backend_str_list(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static const char *backend_s(const char *s)
{
	return s != NULL ? s : "";
}

/* The code of the node's home relay region, "" without relays. */
static const char *backend_relay_code(const struct backend *be, uint32_t region)
{
	const struct netmap_relaymap *rm = be->nm != NULL ? netmap_relaymap(be->nm) : NULL;

	for (size_t i = 0; rm != NULL && region != 0 && i < rm->n_regions; i++)
		if (rm->regions[i].id == region)
			return backend_s(rm->regions[i].code);
	return "";
}

static uint64_t backend_u(int64_t t)
{
	return t > 0 ? (uint64_t)t : 0;
}

/* One PeerStatus. `live` (may be NULL) has the engine's view of the peer. */
static json_t *backend_peer_status(const struct backend *be, const struct netmap_node *n,
				   const struct wg_peer_info *live)
{
	char key[KEY_PREFIXED_MAX], id[24], ep[NETENDPOINT_STRLEN] = "";
	const struct netprefix *aips = n->n_allowed_ips > 0 ? n->allowed_ips : n->addresses;
	size_t naips = n->n_allowed_ips > 0 ? n->n_allowed_ips : n->n_addresses;
	uint64_t hs_s = 0, now = clock_real_ns();
	struct netendpoint direct;
	bool active = false;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)n->id);
	node_public_format(&n->key, key, sizeof(key));
	if (live != NULL && live->last_handshake_wall_ns != 0) {
		hs_s = live->last_handshake_wall_ns / CLOCK_NS_PER_SEC;
		active = now - live->last_handshake_wall_ns < BACKEND_ACTIVE_NS;
	}
	/* CurAddr is the direct path while disco confirms one; relayed, it stays "". */
	if (magicsock_peer_direct(be->ms, &n->key, &direct))
		netendpoint_format(&direct, ep, sizeof(ep));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:b, s:b, s:s, s:s, s:I,"
			 " s:I, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b}",
			 "ID", id, "PublicKey", key, "HostName", backend_s(n->hostname), "DNSName",
			 backend_s(n->name), "OS", backend_s(n->os), "UserID", (json_int_t)n->user,
			 "TailscaleIPs", backend_addr_list(n->addresses, n->n_addresses, false),
			 "AllowedIPs", backend_addr_list(aips, naips, true), "Tags",
			 backend_str_list(n->tags, n->n_tags), "Online", n->online, "Active", active,
			 "CurAddr", ep, "Relay", backend_relay_code(be, n->relay_home), "RxBytes",
			 (json_int_t)(live ? live->rx_bytes : 0), "TxBytes",
			 (json_int_t)(live ? live->tx_bytes : 0), "Created",
			 backend_time(backend_u(n->created)), "LastSeen",
			 backend_time(backend_u(n->last_seen)), "LastHandshake", backend_time(hs_s),
			 "KeyExpiry", backend_time(backend_u(n->key_expiry)), "ExitNode", false,
			 "ExitNodeOption", false, "InNetworkMap", true, "InEngine", live != NULL);
}

static json_t *backend_peers_json(struct backend *be)
{
	struct wg_device *dev = engine_device(be->engine);
	json_t *peers = json_object();

	engine_lock(be->engine);
	for (size_t i = 0; peers != NULL && be->nm != NULL && i < netmap_peer_count(be->nm); i++) {
		const struct netmap_node *n = netmap_peer_at(be->nm, i);
		struct wg_peer *wp = wg_device_peer_find(dev, n->key.b);
		struct wg_peer_info info;
		char key[KEY_PREFIXED_MAX];

		if (wp != NULL) {
			wg_peer_info(wp, &info);
			mem_wipe(info.psk, sizeof(info.psk));
		}
		json_object_set_new(peers, node_public_format(&n->key, key, sizeof(key)),
				    backend_peer_status(be, n, wp != NULL ? &info : NULL));
	}
	engine_unlock(be->engine);
	return peers;
}

static void backend_user_add(json_t *users, const struct backend *be, uint64_t uid)
{
	const struct netmap_user *u = netmap_user_by_id(be->nm, uid);
	char id[24];

	if (u == NULL)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)uid);
	if (json_object_get(users, id) != NULL)
		return;
	json_object_set_new(users, id,
			    json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)uid, "LoginName",
				      backend_s(u->name), "DisplayName",
				      u->display_name != NULL && u->display_name[0] != '\0'
					      ? u->display_name
					      : backend_s(u->name)));
}

/* The users that own ourselves or a peer. */
static json_t *backend_users_json(struct backend *be)
{
	json_t *u = json_object();

	if (u == NULL || be->nm == NULL)
		return u;
	backend_user_add(u, be, netmap_self(be->nm)->user);
	for (size_t i = 0; i < netmap_peer_count(be->nm); i++)
		backend_user_add(u, be, netmap_peer_at(be->nm, i)->user);
	return u;
}

static const char *backend_suffix(const struct backend *be)
{
	const struct netmap_dns *d;

	if (be->nm == NULL)
		return "";
	if (netmap_domain(be->nm)[0] != '\0')
		return netmap_domain(be->nm);
	d = netmap_dns(be->nm);
	return d != NULL ? backend_s(d->base_domain) : "";
}

json_t *backend_status(struct backend *be, bool peers)
{
	struct state_profile *prof = state_current(be->st);
	const struct netmap_node *self = be->nm != NULL ? netmap_self(be->nm) : NULL;
	const struct netmap_dns *dns = be->nm != NULL ? netmap_dns(be->nm) : NULL;
	json_t *o, *health = json_array();

	if (be->err_msg[0] != '\0' && health != NULL)
		json_array_append_new(health, json_string(be->err_msg));
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:{s:s, s:s, s:b}}", "Version", WEFT_VERSION,
		      "BackendState", backend_state_name(be->state), "AuthURL", be->auth_url,
		      "TailscaleIPs",
		      self != NULL ? backend_addr_list(self->addresses, self->n_addresses, false)
				   : json_array(),
		      "Health", health, "MagicDNSSuffix", backend_suffix(be), "CurrentTailnet",
		      "Name", prof->user_login, "MagicDNSSuffix", backend_suffix(be),
		      "MagicDNSEnabled", dns != NULL && dns->magic_dns);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "Self", self != NULL ? backend_peer_status(be, self, NULL)
						    : json_null());
	if (peers)
		json_object_set_new(o, "Peer", backend_peers_json(be));
	json_object_set_new(o, "User", backend_users_json(be));
	return o;
}

int backend_whois(struct backend *be, const struct netaddr *a, json_t **out)
{
	const struct netmap_node *n = backend_node_by_addr(be, a);
	const struct netmap_user *u;
	char key[KEY_PREFIXED_MAX];
	json_t *user;

	*out = NULL;
	if (n == NULL)
		return -ENOENT;
	u = netmap_user_by_id(be->nm, n->user);
	/* Tagged nodes belong to their tags, not to the user who added them (Tailscale's rule). */
	if (n->n_tags > 0)
		user = json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)0, "LoginName",
				 "tagged-devices", "DisplayName", "Tagged Devices");
	else
		user = json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)n->user, "LoginName",
				 u ? backend_s(u->name) : "", "DisplayName",
				 u ? backend_s(u->display_name) : "");
	*out = json_pack("{s:{s:I, s:s, s:s, s:o, s:o, s:s, s:{s:s, s:s}}, s:o}", "Node", "ID",
			 (json_int_t)n->id, "Name", backend_s(n->name), "Key",
			 node_public_format(&n->key, key, sizeof(key)), "Addresses",
			 backend_addr_list(n->addresses, n->n_addresses, true), "Tags",
			 backend_str_list(n->tags, n->n_tags), "ComputedName",
			 backend_s(n->hostname), "Hostinfo", "Hostname", backend_s(n->hostname),
			 "OS", backend_s(n->os), "UserProfile", user);
	return *out != NULL ? 0 : -ENOMEM;
}

/* The map as the backend holds it (deltas applied), written by lib/netmap's own writers. */
static int backend_netmap_text(const struct netmap *nm, struct buf_writer *w)
{
	const json_t *filter = netmap_packet_filter(nm);
	char *f = filter != NULL ? json_dumps(filter, JSON_COMPACT) : NULL;
	int r = 0;

	r |= buf_put_str(w, "{\"Self\":");
	r |= netmap_node_write(w, netmap_self(nm));
	r |= buf_put_str(w, ",\"Peers\":[");
	for (size_t i = 0; i < netmap_peer_count(nm); i++) {
		if (i > 0)
			r |= buf_put_u8(w, ',');
		r |= netmap_node_write(w, netmap_peer_at(nm, i));
	}
	r |= buf_put_str(w, "],\"DNS\":");
	r |= netmap_dns_write(w, netmap_dns(nm));
	r |= buf_put_str(w, ",\"RelayMap\":");
	r |= netmap_relaymap_write(w, netmap_relaymap(nm));
	r |= buf_printf(w, ",\"PacketFilter\":%s}", f != NULL ? f : "[]");
	free(f);
	return r != 0 || w->err ? -ENOMEM : 0;
}

json_t *backend_netmap(struct backend *be)
{
	struct buf_writer w;
	struct jsonx_err err;
	json_t *j = NULL;

	if (be->nm == NULL)
		return json_object();
	buf_writer_growable(&w, 256 << 20);
	if (backend_netmap_text(be->nm, &w) == 0 && jsonx_load(w.p, w.len, &j, &err) < 0)
		j = NULL;
	buf_writer_free(&w);
	return j;
}

json_t *backend_counters(struct backend *be)
{
	json_t *o = engine_counters_json(be->engine), *d;

	if (o == NULL)
		return NULL;
	/* Disco, STUN and relay drops sit beside the data plane's. */
	if (magicsock_counters_json(be->ms, o) < 0) {
		json_decref(o);
		return NULL;
	}
	if (be->dnsd == NULL)
		return o;
	if ((d = dnsd_counters_json(be->dnsd)) == NULL || json_object_update(o, d) < 0) {
		json_decref(d);
		json_decref(o);
		return NULL;
	}
	json_decref(d);
	return o;
}

json_t *backend_netcheck(struct backend *be)
{
	return magicsock_netcheck_json(be->ms);
}

json_t *backend_filter(struct backend *be)
{
	json_t *o = engine_filter_json(be->engine);

	if (o != NULL && be->filter_err[0] != '\0' &&
	    json_object_set_new(o, "Error", json_string(be->filter_err)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

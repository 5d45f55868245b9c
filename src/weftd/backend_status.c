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
#include "weftd/engine.h"
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

static json_t *backend_tag_list(const struct backend_peer *p)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < p->ntags; i++)
		json_array_append_new(a, json_string(p->tags[i]));
	return a;
}

/* One PeerStatus. `live` (may be NULL) has the engine's view of the peer. */
static json_t *backend_peer_status(const struct backend_peer *p, const struct wg_peer_info *live)
{
	char key[KEY_PREFIXED_MAX], id[24], ep[NETENDPOINT_STRLEN] = "";
	uint64_t hs_s = 0, now = clock_real_ns();
	bool active = false;
	json_t *o;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)p->id);
	node_public_format(&p->key, key, sizeof(key));
	if (live != NULL && live->last_handshake_wall_ns != 0) {
		hs_s = live->last_handshake_wall_ns / CLOCK_NS_PER_SEC;
		active = now - live->last_handshake_wall_ns < BACKEND_ACTIVE_NS;
		if (active && live->has_endpoint)
			netendpoint_format(&live->endpoint, ep, sizeof(ep));
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:b, s:b, s:s, s:s, s:I, s:I,"
		      " s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b}",
		      "ID", id, "PublicKey", key, "HostName", p->hostname, "DNSName", p->dns_name,
		      "OS", p->os, "UserID", (json_int_t)p->user_id, "TailscaleIPs",
		      backend_addr_list(p->addrs, p->naddrs, false), "AllowedIPs",
		      backend_addr_list(p->aips, p->naips, true), "Tags", backend_tag_list(p),
		      "Online", p->online, "Active", active, "CurAddr", ep, "Relay", "", "RxBytes",
		      (json_int_t)(live ? live->rx_bytes : 0), "TxBytes",
		      (json_int_t)(live ? live->tx_bytes : 0), "Created", backend_time(p->created_s),
		      "LastSeen", backend_time(p->last_seen_s), "LastHandshake", backend_time(hs_s),
		      "KeyExpiry", backend_time(p->key_expiry_s), "ExitNode", false,
		      "ExitNodeOption", false, "InNetworkMap", true, "InEngine", live != NULL);
	return o;
}

static json_t *backend_peers_json(struct backend *be)
{
	struct wg_device *dev = engine_device(be->engine);
	json_t *peers = json_object();

	engine_lock(be->engine);
	for (size_t i = 0; peers != NULL && i < be->npeers; i++) {
		const struct backend_peer *p = &be->peers[i];
		struct wg_peer *wp = wg_device_peer_find(dev, p->key.b);
		struct wg_peer_info info;
		char key[KEY_PREFIXED_MAX];

		if (wp != NULL) {
			wg_peer_info(wp, &info);
			mem_wipe(info.psk, sizeof(info.psk));
		}
		json_object_set_new(peers, node_public_format(&p->key, key, sizeof(key)),
				    backend_peer_status(p, wp != NULL ? &info : NULL));
	}
	engine_unlock(be->engine);
	return peers;
}

static json_t *backend_users_json(struct backend *be)
{
	json_t *u = json_object();
	char id[24];

	for (size_t i = 0; u != NULL && i < be->nusers; i++) {
		const struct backend_user *x = &be->users[i];
		snprintf(id, sizeof(id), "%llu", (unsigned long long)x->id);
		json_object_set_new(u, id,
				    json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)x->id,
					      "LoginName", x->login, "DisplayName", x->display));
	}
	return u;
}

json_t *backend_status(struct backend *be, bool peers)
{
	struct state_profile *prof = state_current(be->st);
	json_t *o, *health = json_array();

	if (be->err_msg[0] != '\0' && health != NULL)
		json_array_append_new(health, json_string(be->err_msg));
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:{s:s, s:s, s:b}}", "Version", WEFT_VERSION,
		      "BackendState", backend_state_name(be->state), "AuthURL", be->auth_url,
		      "TailscaleIPs",
		      be->have_self ? backend_addr_list(be->self.addrs, be->self.naddrs, false)
				    : json_array(),
		      "Health", health, "MagicDNSSuffix", be->magic_dns_suffix, "CurrentTailnet",
		      "Name", prof->user_login, "MagicDNSSuffix", be->magic_dns_suffix,
		      "MagicDNSEnabled", be->magic_dns);
	if (o == NULL)
		return NULL;
	if (be->have_self)
		json_object_set_new(o, "Self", backend_peer_status(&be->self, NULL));
	else
		json_object_set_new(o, "Self", json_null());
	if (peers)
		json_object_set_new(o, "Peer", backend_peers_json(be));
	json_object_set_new(o, "User", backend_users_json(be));
	return o;
}

int backend_whois(struct backend *be, const struct netaddr *a, json_t **out)
{
	const struct backend_peer *p = backend_peer_by_addr(be, a);
	const struct backend_user *u;
	char key[KEY_PREFIXED_MAX];
	json_t *user;

	*out = NULL;
	if (p == NULL)
		return -ENOENT;
	u = backend_user_by_id(be, p->user_id);
	if (p->ntags > 0)
		user = json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)0, "LoginName",
				 "tagged-devices", "DisplayName", "Tagged Devices");
	else
		user = json_pack("{s:I, s:s, s:s}", "ID", (json_int_t)p->user_id, "LoginName",
				 u ? u->login : "", "DisplayName", u ? u->display : "");
	*out = json_pack("{s:{s:I, s:s, s:s, s:o, s:o, s:s, s:{s:s, s:s}}, s:o}", "Node", "ID",
			 (json_int_t)p->id, "Name", p->dns_name, "Key",
			 node_public_format(&p->key, key, sizeof(key)), "Addresses",
			 backend_addr_list(p->addrs, p->naddrs, true), "Tags", backend_tag_list(p),
			 "ComputedName", p->hostname, "Hostinfo", "Hostname", p->hostname, "OS",
			 p->os, "UserProfile", user);
	return *out != NULL ? 0 : -ENOMEM;
}

json_t *backend_netmap(struct backend *be)
{
	return be->netmap != NULL ? json_incref(be->netmap) : json_object();
}

json_t *backend_counters(struct backend *be)
{
	return engine_counters_json(be->engine);
}

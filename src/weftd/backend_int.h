/* SPDX-License-Identifier: ISC */
/*
 * backend_int: state shared by the backend's files: backend.c (state
 * machine, prefs, profiles, watchers), backend_peers.c (the peer view and
 * applying it to the engine and interface), backend_status.c (status, whois,
 * netmap JSON) and backend_ping.c. The control client feeds the peer view
 * from each network map; everything else reads it.
 */
#ifndef WEFT_WEFTD_BACKEND_INT_H
#define WEFT_WEFTD_BACKEND_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "weftd/backend.h"

struct engine;
struct netcfg;
struct state;
struct event;

#define BACKEND_ADDRS_MAX 8
#define BACKEND_AIPS_MAX 256
#define BACKEND_EPS_MAX 16
#define BACKEND_TAGS_MAX 16
#define BACKEND_NAME_MAX 256

/* One node as the backend knows it (self or a peer), from the network map. */
struct backend_peer {
	uint64_t id;
	struct node_public key;
	struct disco_public disco;
	char hostname[64];
	char dns_name[BACKEND_NAME_MAX]; /* FQDN with the trailing dot */
	char os[32];
	uint64_t user_id;
	size_t naddrs;
	struct netprefix addrs[BACKEND_ADDRS_MAX]; /* its tailnet addresses (/32, /128) */
	size_t naips;
	struct netprefix aips[BACKEND_AIPS_MAX]; /* what it may send from (addrs + routes) */
	size_t neps;
	struct netendpoint eps[BACKEND_EPS_MAX];
	size_t ntags;
	char tags[BACKEND_TAGS_MAX][68];
	int relay_home; /* region id, 0 = none */
	bool online;
	bool expired;
	uint64_t created_s, last_seen_s, key_expiry_s; /* unix seconds, 0 = unknown / never */
};

struct backend_user {
	uint64_t id;
	char login[128];
	char display[128];
};

struct backend_watcher {
	void (*cb)(void *arg, json_t *notify);
	void *arg;
	struct backend_watcher *prev, *next;
};

struct backend {
	struct event_base *base;
	struct backend_config cfg;
	struct state *st;
	struct engine *engine;
	struct netcfg *netcfg;
	unsigned ifindex;
	enum backend_state state;
	char auth_url[1024];
	char err_msg[512];
	char os_hostname[64];
	/* The view of the tailnet from the last network map (empty when not running). */
	bool have_self;
	struct backend_peer self;
	struct backend_peer *peers;
	size_t npeers, cap_peers;
	struct backend_user *users;
	size_t nusers, cap_users;
	char magic_dns_suffix[BACKEND_NAME_MAX];
	bool magic_dns;
	json_t *netmap; /* as the server sent it, deltas applied; for `weft debug netmap` */
	struct backend_watcher *watchers;
	struct backend_ping *pings;
	uint16_t ping_ident;
	uint16_t ping_seq;
	struct ctrlclient *cc; /* NULL when not connected */
};

/* backend.c */
void backend_set_state(struct backend *be, enum backend_state s);
void backend_set_error(struct backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void backend_notify(struct backend *be, json_t *n); /* consumes n */
json_t *backend_notify_full(struct backend *be);

/* backend_peers.c */
void backend_peers_clear(struct backend *be);
int backend_peers_set(struct backend *be, const struct backend_peer *self,
		      const struct backend_peer *peers, size_t npeers)
	__attribute__((warn_unused_result));
int backend_users_set(struct backend *be, const struct backend_user *users, size_t n)
	__attribute__((warn_unused_result));
const struct backend_peer *backend_peer_by_addr(const struct backend *be, const struct netaddr *a);
const struct backend_user *backend_user_by_id(const struct backend *be, uint64_t id);
/* Pushes the peer view into the engine (WireGuard peers) and the interface (addresses, routes). */
int backend_apply(struct backend *be) __attribute__((warn_unused_result));
/* Removes every peer, address and route: not running. */
void backend_unapply(struct backend *be);

/* backend_ping.c */
void backend_pings_free(struct backend *be);
void backend_ping_install(struct backend *be);

#endif

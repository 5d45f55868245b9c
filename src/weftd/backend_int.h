/* SPDX-License-Identifier: ISC */
/*
 * backend_int: state shared by the backend's files: backend.c (state
 * machine, prefs, profiles, watchers), backend_peers.c (the network map and
 * applying it to the engine and interface), backend_status.c (status, whois,
 * netmap JSON) and backend_ping.c. The map is lib/netmap's: the control
 * client hands over full maps and delta frames, the backend owns the result.
 */
#ifndef WEFT_WEFTD_BACKEND_INT_H
#define WEFT_WEFTD_BACKEND_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "dns/dnsmsg.h"
#include "netmap/netmap.h"
#include "weftd/backend.h"
#include "weftd/dnsconf.h"

struct dnsd;
struct dnsd_query;
struct engine;
struct netcfg;
struct state;
struct event;

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
	/* The last network map (NULL when not running); kept while the server is away. */
	struct netmap *nm;
	struct backend_watcher *watchers;
	struct backend_ping *pings;
	uint16_t ping_ident;
	uint16_t ping_seq;
	struct ctrlclient *cc; /* NULL when not connected */
	struct magicsock *ms;  /* NAT traversal: endpoints, relays, disco */
	/* Node-key rotation before the key expires (backend.c). */
	struct event *rotate_ev;
	int64_t rotate_for; /* the expiry the timer was set for */
	/* An interactive re-login is under way: the approval URL it gets is not the
	 * server disowning us, so the tailnet stays up meanwhile. */
	bool reauth_pending;
	struct dnsd *dnsd;     /* the resolver at 100.100.100.100 */
	struct dnsconf dnsconf; /* the host's resolv.conf */
	struct event *dns_watch; /* re-checks resolv.conf while ours is in force */
	bool dns_mode_said;	/* logged why the host's DNS is left alone */
	bool routes_dns;	/* the interface routes 100.100.100.100 (last sync) */
	char dns_skipped[160];	/* the last table build's first skipped entry, logged once */
	char filter_err[224];  /* why the map's last packet filter was refused, "" if it was not */
};

/* backend.c */
void backend_set_state(struct backend *be, enum backend_state s);
void backend_set_error(struct backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void backend_notify(struct backend *be, json_t *n); /* consumes n */
json_t *backend_notify_full(struct backend *be);

/* backend_peers.c */
/* Takes a full map (consumed) or applies a delta; pushes what changed to the engine. */
int backend_netmap_full(struct backend *be, struct netmap *nm) __attribute__((warn_unused_result));
int backend_netmap_delta(struct backend *be, const json_t *frame)
	__attribute__((warn_unused_result));
/* The node owning a tailnet address: ourselves or a peer. */
const struct netmap_node *backend_node_by_addr(const struct backend *be, const struct netaddr *a);
/* Removes every peer, address and route and forgets the map: not running. */
void backend_unapply(struct backend *be);
/* The DNS table and host config after a map or prefs change, and quad-100's routes. */
void backend_dns_changed(struct backend *be);

/* backend_dns.c */
int backend_dns_init(struct backend *be, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Restores the host's DNS if we changed it; frees the resolver. */
void backend_dns_free(struct backend *be);
/* After every map change, prefs change and unapply: the table, then the host's DNS. */
void backend_dns_update(struct backend *be);
/* Whether 100.100.100.100 (and its IPv6 twin) should be routed into the TUN. */
bool backend_dns_routed(const struct backend *be);

/* backend_ping.c */
void backend_pings_free(struct backend *be);
void backend_ping_install(struct backend *be);

#endif

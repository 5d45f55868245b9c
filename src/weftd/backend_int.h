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
#include "netmap/netmap.h"
#include "weftd/backend.h"

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

/* backend_ping.c */
void backend_pings_free(struct backend *be);
void backend_ping_install(struct backend *be);

#endif

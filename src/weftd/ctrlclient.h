/* SPDX-License-Identifier: ISC */
/*
 * ctrlclient: weftd's side of the control protocol (docs/PROTOCOL.md
 * section 3) over libevent HTTP: fetch and pin the server key, register
 * (pre-auth key or interactive approval), hold the map stream, apply its
 * frames with lib/netmap, report endpoint changes, and reconnect with
 * back-off. The network never depends on it: the backend keeps the last map
 * while it reconnects.
 */
#ifndef WEFT_WEFTD_CTRLCLIENT_H
#define WEFT_WEFTD_CTRLCLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/keys.h"

struct event_base;
struct ctrlclient;
struct netmap;

struct ctrlclient_login {
	uint64_t node_id;
	uint64_t user_id;
	char user_login[128];
	char node_name[256];
	bool key_expired; /* the server says our node key expired: log in again */
};

struct ctrlclient_callbacks {
	/* The server wants an admin to approve us at `url`. */
	void (*auth_url)(void *arg, const char *url);
	/* Registered and authorised. */
	void (*logged_in)(void *arg, const struct ctrlclient_login *login);
	/* The server's key, the first time we see it (to pin in the state). */
	void (*server_key)(void *arg, const struct machine_public *key);
	/* A full map; ownership moves to the callee. Return < 0 to drop the stream. */
	int (*netmap_full)(void *arg, struct netmap *nm);
	/* A delta frame for the callee's map; < 0 if it refused it: reconnect for a full map. */
	int (*netmap_delta)(void *arg, const json_t *frame);
	/* Something failed; `fatal` (e.g. auth key refused) stops retrying. */
	void (*error)(void *arg, const char *msg, bool fatal);
};

struct ctrlclient_config {
	const char *url;
	const struct machine_private *machine_key;
	const struct node_private *node_key;
	const struct node_private *old_node_key; /* NULL unless rotating */
	const struct machine_public *server_key; /* NULL: learn it (first contact) */
	const char *auth_key;			  /* NULL: interactive if needed */
	const char *hostname;
	const char *os;
	const char *const *tags;
	size_t ntags;
	uint16_t port;	    /* our UDP port, to report endpoints */
	const char *tun;    /* our tunnel interface: never reported as an endpoint */
	const struct disco_public *disco_key; /* NULL: none yet */
};

#define CTRLCLIENT_EXTRA_MAX 8

/*
 * Endpoints learnt by STUN and the home relay region, reported in map
 * requests (with the interface addresses); a change renews the map request.
 */
struct netendpoint;
void ctrlclient_set_path(struct ctrlclient *cc, const struct netendpoint *eps, size_t n,
			 uint32_t relay_home);
/* Our interface addresses (not loopback, not `tun`, not tailnet) with `port`. */
size_t ctrlclient_local_endpoints(const char *tun, uint16_t port, struct netendpoint *out,
				  size_t max);

int ctrlclient_new(struct event_base *base, const struct ctrlclient_config *cfg,
		   const struct ctrlclient_callbacks *cb, void *arg, struct ctrlclient **out)
	__attribute__((warn_unused_result));
/* Stops and frees; no callback runs afterwards. NULL is a no-op. */
void ctrlclient_free(struct ctrlclient *cc);
/*
 * The same, at once: only outside the client's callbacks, e.g. as the daemon
 * exits, when its loop will not run again to carry out ctrlclient_free's
 * deferred part.
 */
void ctrlclient_free_now(struct ctrlclient *cc);
/* Tells the server we log out (best effort, bounded), then frees. */
void ctrlclient_logout_and_free(struct ctrlclient *cc);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * relay_client: one connection to a relay on a libevent loop: TCP or TLS,
 * the HTTP Upgrade and handshake (lib/relay relay_conn), packets in and out
 * by node key, reconnects with exponential back-off and jitter, and a stale
 * check on the server's keepalives. Used by weftd, by the relay's mesh links
 * and by the test and benchmark tools. Not thread-safe: call it from the
 * loop's thread.
 */
#ifndef WEFT_RELAY_CLIENT_H
#define WEFT_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "relay/relay_proto.h"

struct event_base;
struct evdns_base;
struct relay_client;

struct relay_client_cbs {
	void (*ready)(void *arg);
	void (*packet)(void *arg, const struct node_public *src, const uint8_t *p, size_t n);
	void (*peer_gone)(void *arg, const struct node_public *key, uint8_t reason);
	void (*peer_present)(void *arg, const struct node_public *key, const struct netendpoint *ep,
			     uint8_t flags);
	void (*pong)(void *arg, const uint8_t data[RELAY_PING_LEN]);
	void (*health)(void *arg, const char *text, size_t len);
	/* The connection ended (why: short text); a reconnect follows unless disabled. */
	void (*disconnected)(void *arg, const char *why);
};

struct relay_client_config {
	/*
	 * "http://HOST:PORT[/path]" or "https://HOST:PORT[/path]" (HTTP Upgrade,
	 * path default /relay) or "tcp://HOST:PORT" (raw protocol). HOST is an
	 * address or, with `dns`, a name.
	 */
	const char *url;
	struct node_private key; /* copied, wiped on free */
	bool mesh;
	uint8_t mesh_key[KEY_LEN];
	uint8_t flags;	     /* RELAY_CF_PROBER ... */
	bool watch;	     /* send WATCH_CONNS after each handshake (mesh links) */
	const char *ca_file; /* TLS trust anchors; NULL = system store */
	bool insecure;	     /* skip TLS certificate checks (tests only) */
	bool no_reconnect;
	uint32_t backoff_min_ms; /* default 100 */
	uint32_t backoff_max_ms; /* default 5000 */
	size_t out_max;		 /* bytes queued for the socket before sends fail; default 1 MiB */
	struct evdns_base *dns;	 /* for host names; NULL = addresses only */
	struct relay_client_cbs cbs;
	void *arg;
};

struct relay_client_stats {
	uint64_t connects; /* attempts */
	uint64_t ready;	   /* handshakes completed */
	uint64_t disconnects;
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_dropped_busy; /* -ENOBUFS */
	uint64_t tx_dropped_down; /* -ENOTCONN */
	uint64_t proto_errors;
};

int relay_client_new(struct event_base *base, const struct relay_client_config *cfg,
		     struct relay_client **out) __attribute__((warn_unused_result));
/* Starts connecting (asynchronously). */
int relay_client_start(struct relay_client *rc) __attribute__((warn_unused_result));
void relay_client_free(struct relay_client *rc);

bool relay_client_is_ready(const struct relay_client *rc);
/* The relay's key from its last handshake (zero before one). */
void relay_client_server_key(const struct relay_client *rc, struct relay_public *out);

/* -ENOTCONN before the handshake, -ENOBUFS when out_max is queued, -EMSGSIZE past 64 KiB. */
int relay_client_send(struct relay_client *rc, const struct node_public *dst, const uint8_t *p,
		      size_t n) __attribute__((warn_unused_result));
/* Mesh links only: a packet from src (a client of ours) for dst (a client of theirs). */
int relay_client_forward(struct relay_client *rc, const struct node_public *src,
			 const struct node_public *dst, const uint8_t *p, size_t n)
	__attribute__((warn_unused_result));
int relay_client_note_preferred(struct relay_client *rc, bool preferred)
	__attribute__((warn_unused_result));
int relay_client_ping(struct relay_client *rc, const uint8_t data[static RELAY_PING_LEN])
	__attribute__((warn_unused_result));
/* Bytes waiting in the socket's output queue. */
size_t relay_client_queued(const struct relay_client *rc);
void relay_client_stats(const struct relay_client *rc, struct relay_client_stats *out);

#endif

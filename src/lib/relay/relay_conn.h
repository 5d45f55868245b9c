/* SPDX-License-Identifier: ISC */
/*
 * relay_conn: a relay client connection as a sans-I/O state machine: the
 * optional HTTP Upgrade, the handshake (SERVER_KEY, CLIENT_INFO proving our
 * node key, SERVER_INFO), then frames turned into events. PINGs are answered
 * by itself; the caller moves bytes (relay_conn_feed in, relay_conn_output
 * out), writes data frames with relay_proto's writers once ready, and asks
 * relay_conn_is_stale with its clock.
 */
#ifndef WEFT_RELAY_RELAY_CONN_H
#define WEFT_RELAY_RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay_proto.h"

struct relay_conn_config {
	struct node_private key; /* copied and wiped on free */
	bool mesh;		 /* a mesh peer: mesh_key is the region's shared key */
	uint8_t mesh_key[KEY_LEN];
	uint8_t flags;	  /* RELAY_CF_PROBER, RELAY_CF_CAN_ACK_PINGS */
	bool http;	  /* send an HTTP Upgrade request first */
	const char *host; /* Host header (http) */
	const char *path; /* default RELAY_HTTP_PATH */
	bool pin_server;  /* refuse any server key but server_pin */
	struct relay_public server_pin;
};

enum relay_conn_state {
	RELAY_CONN_HTTP = 0,
	RELAY_CONN_SERVER_KEY,
	RELAY_CONN_SERVER_INFO,
	RELAY_CONN_READY,
	RELAY_CONN_FAILED,
};

enum relay_event_type {
	RELAY_EV_NONE = 0,
	RELAY_EV_READY,	       /* handshake done: data frames may flow */
	RELAY_EV_PACKET,       /* f.key sent f.pkt[f.pkt_len] */
	RELAY_EV_PEER_GONE,    /* f.key, f.reason */
	RELAY_EV_PEER_PRESENT, /* f.key, f.ep, f.flags (watchers) */
	RELAY_EV_KEEPALIVE,
	RELAY_EV_PONG,	     /* f.ping: the answer to our PING */
	RELAY_EV_HEALTH,     /* f.payload[f.len]: text, empty = healthy */
	RELAY_EV_RESTARTING, /* f.reconnect_ms, f.try_for_ms */
	RELAY_EV_ERROR,	     /* verdict (and http_status) say why; the connection is dead */
};

struct relay_event {
	enum relay_event_type type;
	struct relay_frame f;
	enum relay_verdict verdict;
	int http_status;
};

#define RELAY_CONN_OUT_MAX 4096 /* pending handshake/pong bytes before the peer is "not reading" \
				 */

struct relay_conn {
	enum relay_conn_state state;
	struct relay_conn_config cfg;
	struct node_public pub;
	struct relay_public server;
	uint8_t nonce[RELAY_NONCE_LEN];
	struct relay_server_params params;
	struct relay_decoder dec;
	uint8_t http[RELAY_HTTP_MAX];
	size_t http_len;
	uint8_t out[RELAY_CONN_OUT_MAX];
	size_t out_len;
	uint64_t last_rx_ns;
	struct relay_counters counters;
	uint64_t pings_answered;
	uint64_t pongs_dropped; /* output full: we were not reading our own writes */
};

int relay_conn_new(const struct relay_conn_config *cfg, struct relay_conn **out)
	__attribute__((warn_unused_result));
void relay_conn_free(struct relay_conn *c);

/* Queues what a client sends first (the HTTP request, if any). */
int relay_conn_start(struct relay_conn *c, uint64_t now_ns) __attribute__((warn_unused_result));

/*
 * Feeds received bytes; consumes until one event is produced or the input is
 * used up (*used says how much). Call again with the rest after an event.
 * RELAY_EV_PACKET and other frame pointers borrow `p` or the decoder's
 * buffer until the next call.
 */
void relay_conn_feed(struct relay_conn *c, const uint8_t *p, size_t n, uint64_t now_ns,
		     size_t *used, struct relay_event *ev);

/* Bytes waiting to be written, and how many were written. */
const uint8_t *relay_conn_output(const struct relay_conn *c, size_t *len);
void relay_conn_output_consume(struct relay_conn *c, size_t n);

/* No frame for twice the server's keepalive interval (default 60 s). */
bool relay_conn_is_stale(const struct relay_conn *c, uint64_t now_ns);

#endif

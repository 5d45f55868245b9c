/* SPDX-License-Identifier: ISC */
/*
 * relay_server: the relay's I/O on a libevent loop, shared by weft-relay and
 * weft-server. Clients arrive through an HTTP Upgrade on an evhttp listener
 * (relay_server_mount / relay_server_handle_http) or as raw sockets
 * (relay_server_listen_raw / relay_server_accept_fd); after the handshake
 * (relay_proto) packets are forwarded by node key with bounded per-client
 * queues (disco ahead of data, oldest dropped first), a per-client token
 * bucket on reads, keepalives, peer-gone notices, and forwarding to the other
 * relays of the region over mesh links. Every drop has a counter.
 */
#ifndef WEFT_RELAY_SERVER_H
#define WEFT_RELAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/netaddr.h"
#include "relay/relay_proto.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct relay_server;

/* Asked once per client after its handshake: may this node key use the relay? */
typedef bool relay_server_verify_fn(void *arg, const struct node_public *key,
				    const struct netendpoint *src);

struct relay_server_config {
	struct relay_private key; /* the server's key pair (copied; wiped on free) */
	bool has_mesh_key;
	uint8_t mesh_key[KEY_LEN];    /* the region's shared mesh secret */
	const char *const *mesh_urls; /* other relays of the region (http://, https://, tcp://) */
	size_t n_mesh_urls;
	const char *mesh_ca_file;	/* for https:// mesh peers; NULL = system store */
	bool mesh_insecure;		/* do not verify mesh peers' certificates (tests) */
	uint32_t rate_bytes;		/* per-client read rate, bytes/s; 0 = unlimited */
	uint32_t burst_bytes;		/* bucket size; at least one largest frame */
	size_t queue_depth;		/* packets per client per queue (disco, data); default 32 */
	size_t max_clients;		/* default 100000 */
	uint32_t keepalive_ms;		/* default 60000 (+ up to 5 s jitter) */
	uint32_t handshake_ms;		/* default 10000 */
	uint32_t write_timeout_ms;	/* a client that takes no bytes this long is closed; default
					   10000 */
	relay_server_verify_fn *verify; /* NULL: everyone with a valid handshake */
	void *verify_arg;
};

struct relay_server_counters {
	uint64_t accepts;
	uint64_t handshakes;	   /* completed */
	uint64_t handshake_errors; /* bad or missing CLIENT_INFO, timeouts */
	uint64_t verify_refused;
	uint64_t too_many_clients;
	uint64_t clients;	/* now: regular (not mesh) connections, duplicates included */
	uint64_t mesh_conns;	/* now: mesh peers connected to us */
	uint64_t mesh_links_up; /* now: our links to other relays that are ready */
	uint64_t remote_peers;	/* now: keys reachable through mesh links */
	uint64_t preferred;	/* now: clients that call this relay home */
	uint64_t dup_keys;	/* connections that found their key already connected */
	uint64_t frames_rx;
	uint64_t bytes_rx;
	uint64_t packets_rx; /* SEND_PACKET and FORWARD_PACKET accepted */
	uint64_t packets_tx; /* RECV_PACKET written */
	uint64_t bytes_tx;
	uint64_t forwarded_out; /* to a mesh peer */
	uint64_t forwarded_in;	/* from a mesh peer, delivered */
	uint64_t drop_unknown_dest;
	uint64_t drop_queue_full;      /* oldest packet of a full queue dropped */
	uint64_t drop_mesh_busy;       /* a mesh link's output was full */
	uint64_t drop_forward_unknown; /* forwarded to us for a key not here */
	uint64_t drop_not_mesh;	       /* mesh-only frame from a regular client */
	uint64_t drop_pong_busy;       /* PING while the client was not reading */
	uint64_t peer_gone_sent;
	uint64_t peer_gone_limited; /* "not here" notices held back by the rate limit */
	uint64_t slow_closed;	    /* closed: would not read for write_timeout_ms */
	uint64_t keepalives;
	uint64_t pongs;
	struct relay_counters proto; /* decoder and handshake verdicts */
};

int relay_server_new(struct event_base *base, const struct relay_server_config *cfg,
		     struct relay_server **out) __attribute__((warn_unused_result));
/* Closes every client and mesh link. Call before evhttp_free of a mounted listener. */
void relay_server_free(struct relay_server *rs);

/*
 * Mounts the relay on an HTTP listener: RELAY_HTTP_PATH takes the Upgrade,
 * RELAY_HTTP_PATH "/probe" answers 200 (latency probes), "/generate_204" 204.
 */
int relay_server_mount(struct relay_server *rs, struct evhttp *http)
	__attribute__((warn_unused_result));
/* The evhttp callback behind RELAY_HTTP_PATH, for callers that route themselves (arg = rs). */
void relay_server_handle_http(struct evhttp_request *req, void *rs);

/* Raw mode: the relay protocol straight on TCP, no HTTP (tests, benchmarks, trusted links). */
int relay_server_listen_raw(struct relay_server *rs, const char *addr_port)
	__attribute__((warn_unused_result));
/* Raw mode on a listening TCP socket the caller made (taken over; closed on free). */
int relay_server_listen_raw_fd(struct relay_server *rs, int fd) __attribute__((warn_unused_result));
/* Takes ownership of an accepted socket speaking the raw protocol. */
int relay_server_accept_fd(struct relay_server *rs, int fd, const struct sockaddr *sa,
			   socklen_t salen) __attribute__((warn_unused_result));

/* Tells every client to reconnect in reconnect_ms and keep trying for try_for_ms. */
void relay_server_notify_restarting(struct relay_server *rs, uint32_t reconnect_ms,
				    uint32_t try_for_ms);

void relay_server_public(const struct relay_server *rs, struct relay_public *out);
void relay_server_counters(const struct relay_server *rs, struct relay_server_counters *out);
/* The counters as one JSON object (for /debug/counters and weft-server's status). */
int relay_server_counters_json(const struct relay_server *rs, struct buf_writer *w);

#endif

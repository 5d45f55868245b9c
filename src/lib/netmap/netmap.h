/* SPDX-License-Identifier: ISC */
/*
 * netmap: the network map a node receives from weft-server (docs/PROTOCOL.md
 * section 3.6): itself, its peers, users, relay map, DNS config and packet
 * filter. Built from a full frame, updated by deltas in O(changed), indexed by
 * node ID, node key and tailnet address, and diffed into a change list so the
 * daemon updates its WireGuard peers incrementally. Also the JSON writers the
 * server builds frames with, so both ends share one definition of the shapes.
 */
#ifndef WEFT_NETMAP_NETMAP_H
#define WEFT_NETMAP_NETMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"

struct buf_writer;
struct jsonx_err;
struct netmap;

/* Limits on what a map may hold (a hostile or broken server cannot exhaust memory). */
#define NETMAP_MAX_PEERS 200000
#define NETMAP_MAX_ADDRS 16
#define NETMAP_MAX_ALLOWED_IPS 1024
#define NETMAP_MAX_ENDPOINTS 64
#define NETMAP_MAX_TAGS 64
#define NETMAP_NAME_MAX 255

/* One node as the map describes it (docs/PROTOCOL.md 3.6.1). Times are unix seconds, 0 = none. */
struct netmap_node {
	uint64_t id;
	char *name;	/* MagicDNS FQDN with the trailing dot */
	char *hostname; /* as the node reported it */
	uint64_t user;
	struct node_public key;
	int64_t key_expiry;
	struct machine_public machine;
	struct disco_public disco;
	struct netprefix *addresses;
	size_t n_addresses;
	struct netprefix *allowed_ips;
	size_t n_allowed_ips;
	struct netendpoint *endpoints;
	size_t n_endpoints;
	uint32_t relay_home; /* relay region ID, 0 = none */
	bool online;
	int64_t last_seen;
	char **tags;
	size_t n_tags;
	char *os;
	int64_t created;
	bool expired;
	size_t nm_slot; /* private to netmap: position in the peer array */
};

struct netmap_user {
	uint64_t id;
	char *name;
	char *display_name;
};

struct netmap_dns_split {
	char *domain;
	char **nameservers;
	size_t n_nameservers;
};

struct netmap_dns_record {
	char *name;
	char *type;
	char *value;
};

struct netmap_dns {
	bool magic_dns;
	char *base_domain;
	char **nameservers;
	size_t n_nameservers;
	struct netmap_dns_split *split;
	size_t n_split;
	char **search_domains;
	size_t n_search_domains;
	struct netmap_dns_record *records;
	size_t n_records;
};

struct netmap_relay_node {
	char *name;
	uint32_t region_id;
	char *hostname;
	char *ipv4; /* "" when unset */
	char *ipv6;
	uint16_t stun_port;
	uint16_t relay_port;
	bool http; /* "HTTP": dial http:// (tests, trusted networks), not https:// */
};

struct netmap_relay_region {
	uint32_t id;
	char *code;
	char *name;
	struct netmap_relay_node *nodes;
	size_t n_nodes;
};

struct netmap_relaymap {
	struct netmap_relay_region *regions;
	size_t n_regions;
};

/* What an apply or a diff changed. Peer fields changed, as a bit set: */
enum {
	NETMAP_F_KEY = 1U << 0,
	NETMAP_F_DISCO = 1U << 1,
	NETMAP_F_ADDRESSES = 1U << 2,
	NETMAP_F_ALLOWED_IPS = 1U << 3,
	NETMAP_F_ENDPOINTS = 1U << 4,
	NETMAP_F_RELAY_HOME = 1U << 5,
	NETMAP_F_ONLINE = 1U << 6,
	NETMAP_F_LAST_SEEN = 1U << 7,
	NETMAP_F_KEY_EXPIRY = 1U << 8,
	NETMAP_F_NAME = 1U << 9,
	NETMAP_F_TAGS = 1U << 10,
	NETMAP_F_OTHER = 1U << 11, /* hostname, user, OS, machine key, created, expired */
};

/* Parts of the map other than peers that changed: */
enum {
	NETMAP_G_SELF = 1U << 0,
	NETMAP_G_USERS = 1U << 1,
	NETMAP_G_DNS = 1U << 2,
	NETMAP_G_FILTER = 1U << 3,
	NETMAP_G_RELAYMAP = 1U << 4,
	NETMAP_G_DOMAIN = 1U << 5,
};

enum netmap_change_type {
	NETMAP_PEER_ADDED = 1,
	NETMAP_PEER_CHANGED = 2,
	NETMAP_PEER_REMOVED = 3,
};

struct netmap_change {
	enum netmap_change_type type;
	uint32_t fields;	     /* NETMAP_F_* (CHANGED only) */
	uint64_t id;
	struct node_public key;	     /* the peer's key now (for REMOVED: its last key) */
	struct node_public old_key;  /* with NETMAP_F_KEY: the key to drop */
};

struct netmap_changes {
	struct netmap_change *v;
	size_t n;
	size_t cap;
	uint32_t global; /* NETMAP_G_* */
};

void netmap_changes_init(struct netmap_changes *c);
void netmap_changes_reset(struct netmap_changes *c);
void netmap_changes_free(struct netmap_changes *c);

/*
 * Builds a map from a decoded full frame (the object with Type "full"; the
 * frame header fields Seq, Type and ReqNonce are accepted and ignored here).
 * Duplicate peer IDs, keys or addresses, and the node itself among its peers,
 * are errors.
 */
int netmap_new_from_full(const json_t *frame, struct netmap **out, struct jsonx_err *err)
	__attribute__((warn_unused_result));
void netmap_free(struct netmap *nm);

/*
 * Applies a delta frame (Type "delta"): PeersRemoved, then PeersChanged, then
 * PeersPatch, then the replaced parts. Entries naming the node itself update
 * Self (the server shares one delta body among all streams). All or nothing: on error the map is
 * unchanged (the client should reconnect for a full map). Changes are
 * appended to `ch` (which may be NULL). Cost is O(size of the delta).
 */
int netmap_apply_delta(struct netmap *nm, const json_t *frame, struct netmap_changes *ch,
		       struct jsonx_err *err) __attribute__((warn_unused_result));

/* The peer changes from `old` to `cur` (after a reconnect's full map). O(peers). */
int netmap_diff(const struct netmap *old, const struct netmap *cur, struct netmap_changes *ch)
	__attribute__((warn_unused_result));

const struct netmap_node *netmap_self(const struct netmap *nm);
size_t netmap_peer_count(const struct netmap *nm);
/* Iteration: i in [0, netmap_peer_count); order changes when peers are removed. */
const struct netmap_node *netmap_peer_at(const struct netmap *nm, size_t i);
const struct netmap_node *netmap_peer_by_id(const struct netmap *nm, uint64_t id);
const struct netmap_node *netmap_peer_by_key(const struct netmap *nm, const struct node_public *k);
/* By a peer's tailnet address (one of its Addresses), not by routes. */
const struct netmap_node *netmap_peer_by_addr(const struct netmap *nm, const struct netaddr *a);
const struct netmap_user *netmap_user_by_id(const struct netmap *nm, uint64_t id);
const struct netmap_dns *netmap_dns(const struct netmap *nm);
const struct netmap_relaymap *netmap_relaymap(const struct netmap *nm);
/* Tailscale FilterRule array, as sent (borrowed). */
const json_t *netmap_packet_filter(const struct netmap *nm);
/* The tailnet's MagicDNS domain ("" when none). */
const char *netmap_domain(const struct netmap *nm);

/* One node object from JSON (docs/PROTOCOL.md 3.6.1); `path` names it in errors. */
int netmap_node_parse(const json_t *v, const char *path, struct netmap_node **out,
		      struct jsonx_err *err) __attribute__((warn_unused_result));
struct netmap_node *netmap_node_dup(const struct netmap_node *n);
void netmap_node_free(struct netmap_node *n);
/* Which NETMAP_F_* fields differ. */
uint32_t netmap_node_diff(const struct netmap_node *a, const struct netmap_node *b);

/* Writers (the server builds frames with these; clients use them in tests). */
int netmap_node_write(struct buf_writer *w, const struct netmap_node *n);
int netmap_user_write(struct buf_writer *w, const struct netmap_user *u);
int netmap_dns_write(struct buf_writer *w, const struct netmap_dns *d);
int netmap_relaymap_write(struct buf_writer *w, const struct netmap_relaymap *m);
/* `[ "ip:port", ... ]` */
int netmap_endpoints_write(struct buf_writer *w, const struct netendpoint *e, size_t n);
/* A time as RFC 3339, or null when 0. */
int netmap_time_write(struct buf_writer *w, int64_t t);
/* The allow-all filter used until a policy is in place. */
extern const char netmap_filter_allow_all[];

/* Parsers for the non-peer parts, shared with the delta code. */
int netmap_dns_parse(const json_t *v, struct netmap_dns *out, struct jsonx_err *err)
	__attribute__((warn_unused_result));
void netmap_dns_clear(struct netmap_dns *d);
int netmap_relaymap_parse(const json_t *v, struct netmap_relaymap *out, struct jsonx_err *err)
	__attribute__((warn_unused_result));
void netmap_relaymap_clear(struct netmap_relaymap *m);

#endif

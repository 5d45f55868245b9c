/* SPDX-License-Identifier: ISC */
/*
 * state: weft-server's authoritative state. Users, pre-auth keys, API keys
 * and nodes live in memory, indexed for O(1) lookups, and every change is
 * written through the store (db.h) before memory changes, so what the server
 * says always survives a restart. It is the only gateway to the store, the
 * address allocators and the naming rules; every change to what nodes see
 * is reported through hooks (the mapper turns them into deltas).
 */
#ifndef WEFT_SERVER_STATE_H
#define WEFT_SERVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl/ctrlproto.h"
#include "netmap/nmindex.h"
#include "weft-server/db.h"

struct srv_config;
struct ipalloc;
struct mstream;

#define SRV_ERR_LEN 256

struct srv_user {
	struct db_user rec;
	size_t n_nodes;
	size_t slot;
};

struct srv_pak {
	struct db_preauthkey rec;
	size_t slot;
};

struct srv_apikey {
	struct db_apikey rec;
	size_t slot;
};

/* What changed about a node, for the mapper (a node's full entry or a patch). */
enum {
	SRV_CH_FULL = 1U << 0, /* anything: peers get the whole node */
	SRV_CH_ENDPOINTS = 1U << 1,
	SRV_CH_RELAY_HOME = 1U << 2,
	SRV_CH_ONLINE = 1U << 3, /* Online and LastSeen */
	SRV_CH_DISCO = 1U << 4,
	SRV_CH_KEY_EXPIRY = 1U << 5,
};

struct srv_node {
	struct db_node rec;
	size_t slot;
	/* runtime, not persisted */
	bool online;
	bool gone;		 /* expired: no longer a peer of anyone, until it logs in again */
	struct mstream *stream;	 /* its map stream (mapper), NULL when none */
	struct ctrl_box box;	 /* with its machine key, computed once */
	bool have_box;
	char *json;		 /* cached peer entry (netmap_node_write), NULL when stale */
	size_t json_len;
	int64_t ephemeral_due;	 /* unix seconds: delete if still offline then; 0 none */
	uint32_t m_pending;	 /* mapper: SRV_CH_* waiting for the next delta */
};

struct srv_state_hooks {
	void (*node_changed)(void *arg, struct srv_node *n, uint32_t what);
	/* The node stops being a peer (deleted or expired); called before it is freed. */
	void (*node_removed)(void *arg, struct srv_node *n);
	void (*users_changed)(void *arg);
};

struct srv_state {
	const struct srv_config *cfg;
	struct db *db;
	struct ipalloc *ip4, *ip6;
	struct machine_private server_key;
	struct machine_public server_pub;
	struct srv_state_hooks hooks;
	void *hooks_arg;
	int64_t (*now)(void); /* unix seconds; tests replace it */

	struct srv_user **users;
	size_t n_users, cap_users;
	struct srv_pak **paks;
	size_t n_paks, cap_paks;
	struct srv_apikey **apikeys;
	size_t n_apikeys, cap_apikeys;
	struct srv_node **nodes;
	size_t n_nodes, cap_nodes;

	struct nmindex user_by_id, user_by_name;
	struct nmindex pak_by_prefix, api_by_prefix;
	struct nmindex node_by_id, node_by_machine, node_by_key, node_by_name;

	/* Shared parts of every map, built from the config once. */
	char *dns_json;
	char *relaymap_json;
	char *filter_json;
	char *users_json; /* NULL when stale */
	size_t users_json_len;
};

/*
 * Opens the store, loads everything, rebuilds the allocators. An address or
 * name clash in a loaded database is an error (it would mean corruption).
 */
int srv_state_open(struct srv_state **out, const struct srv_config *cfg,
		   const struct machine_private *server_key, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void srv_state_close(struct srv_state *s);
void srv_state_set_hooks(struct srv_state *s, const struct srv_state_hooks *h, void *arg);

/* Lookups. Users by ID or by name; `ref` is either ("12" or "ops"). */
struct srv_user *srv_user_by_id(const struct srv_state *s, uint64_t id);
struct srv_user *srv_user_by_name(const struct srv_state *s, const char *name);
struct srv_user *srv_user_by_ref(const struct srv_state *s, const char *ref);
struct srv_node *srv_node_by_id(const struct srv_state *s, uint64_t id);
struct srv_node *srv_node_by_machine(const struct srv_state *s, const struct machine_public *k);
struct srv_node *srv_node_by_key(const struct srv_state *s, const struct node_public *k);
struct srv_pak *srv_pak_by_id(const struct srv_state *s, uint64_t id);
struct srv_apikey *srv_apikey_by_prefix(const struct srv_state *s, const char *prefix);

/*
 * Mutations: 0, or a negative errno with a message for the admin or the
 * node in err: -EINVAL (bad value), -ENOENT (no such thing), -EEXIST (name
 * taken), -EPERM (refused), -ENOSPC (addresses exhausted), -EIO (store).
 */
int srv_user_create(struct srv_state *s, const char *name, const char *display,
		    const char *email, struct srv_user **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int srv_user_rename(struct srv_state *s, struct srv_user *u, const char *name, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
int srv_user_delete(struct srv_state *s, struct srv_user *u, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* *text gets the key (shown once); expiration 0 = never. */
int srv_pak_create(struct srv_state *s, struct srv_user *u, bool reusable, bool ephemeral,
		   int64_t expiration, char *const *tags, size_t n_tags,
		   char text[static AUTHKEY_TEXT_MAX], struct srv_pak **out, char *err,
		   size_t errlen) __attribute__((warn_unused_result));
int srv_pak_expire(struct srv_state *s, struct srv_pak *k, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int srv_pak_delete(struct srv_state *s, struct srv_pak *k, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The pre-auth key a node presented, if it is one and may be used now. */
int srv_pak_check(struct srv_state *s, const char *text, struct srv_pak **out, char *err,
		  size_t errlen) __attribute__((warn_unused_result));

int srv_apikey_create(struct srv_state *s, int64_t expiration, char text[static AUTHKEY_TEXT_MAX],
		      struct srv_apikey **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int srv_apikey_expire(struct srv_state *s, struct srv_apikey *k, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int srv_apikey_delete(struct srv_state *s, struct srv_apikey *k, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Whether a bearer token is a valid, unexpired API key (constant-time on the hash). */
bool srv_apikey_check(struct srv_state *s, const char *text);

/* What a node registers with. */
struct srv_registration {
	struct machine_public machine;
	struct node_public key;
	struct node_public old_key; /* all zero: none */
	char hostname[DB_HOSTNAME_MAX + 1];
	char os[DB_OS_MAX + 1];
};

/*
 * Registers (or re-registers) the machine under the pre-auth key's user,
 * with its tags and ephemeral flag; a single-use key is marked used in the
 * same transaction.
 */
int srv_node_register_pak(struct srv_state *s, const struct srv_registration *r,
			  struct srv_pak *k, struct srv_node **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The admin approved an interactive registration for user u. */
int srv_node_register_user(struct srv_state *s, const struct srv_registration *r,
			   struct srv_user *u, struct srv_node **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Replaces the node key (the node proved the old one). */
int srv_node_rotate(struct srv_state *s, struct srv_node *n, const struct node_public *key,
		    char *err, size_t errlen) __attribute__((warn_unused_result));
/* From a map request: what the node reports about itself. Only real changes are written. */
int srv_node_update_info(struct srv_state *s, struct srv_node *n, const struct disco_public *disco,
			 const struct netendpoint *ep, size_t n_ep, uint32_t relay_home,
			 const char *hostname, const char *os) __attribute__((warn_unused_result));
void srv_node_set_online(struct srv_state *s, struct srv_node *n, bool online);
/* Expires the node key at `when` (now when 0): it stops being a peer once that time passes. */
int srv_node_expire(struct srv_state *s, struct srv_node *n, int64_t when, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
int srv_node_delete(struct srv_state *s, struct srv_node *n, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int srv_node_rename(struct srv_state *s, struct srv_node *n, const char *name, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
int srv_node_set_tags(struct srv_state *s, struct srv_node *n, char *const *tags, size_t n_tags,
		      char *err, size_t errlen) __attribute__((warn_unused_result));
int srv_node_move(struct srv_state *s, struct srv_node *n, struct srv_user *u, char *err,
		  size_t errlen) __attribute__((warn_unused_result));

bool srv_node_is_expired(const struct srv_state *s, const struct srv_node *n);
/*
 * Periodic work (once a second): nodes whose key expired stop being peers,
 * offline ephemeral nodes past their inactivity timeout are deleted.
 */
void srv_state_tick(struct srv_state *s);

/* The node as the map describes it (docs/PROTOCOL.md 3.6.1), cached until it changes. */
int srv_node_json(struct srv_state *s, struct srv_node *n, const char **json, size_t *len)
	__attribute__((warn_unused_result));
/* `[{"ID":..,"Name":..,"DisplayName":..},...]`, cached. */
int srv_users_json(struct srv_state *s, const char **json, size_t *len)
	__attribute__((warn_unused_result));
/* The node's MagicDNS FQDN ("host.base.domain."). */
void srv_node_fqdn(const struct srv_state *s, const struct srv_node *n, char *out, size_t len);

#endif

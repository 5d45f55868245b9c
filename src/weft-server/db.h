/* SPDX-License-Identifier: ISC */
/*
 * db: weft-server's store interface. The records below are what persists;
 * the server keeps them in memory (state.c) and writes through this
 * interface. Two backends behind it, chosen by database.type at db_open:
 * db_sqlite.c (the embedded default) and db_pg.c (PostgreSQL), both running
 * the one schema of db_schema.c. Every call is synchronous and timed: the
 * server runs it on its loop and reports the latency in /metrics.
 */
#ifndef WEFT_SERVER_DB_H
#define WEFT_SERVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"
#include "crypto/keys.h"
#include "weft-server/authkey.h"

struct srv_config;
struct db;

#define DB_HOSTNAME_MAX 255
#define DB_NAME_MAX 63
#define DB_OS_MAX 64
#define DB_USER_NAME_MAX 255
#define DB_METHOD_MAX 15

struct db_user {
	uint64_t id;
	char name[DB_USER_NAME_MAX + 1];
	char display_name[DB_USER_NAME_MAX + 1];
	char email[DB_USER_NAME_MAX + 1];
	int64_t created; /* unix seconds */
};

struct db_preauthkey {
	uint64_t id;
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	uint64_t user_id;
	bool reusable;
	bool ephemeral;
	bool used;
	char **tags; /* NULL-terminated (jsonx_strv), may be NULL */
	size_t n_tags;
	int64_t expiration; /* 0: never */
	int64_t created;
};

struct db_apikey {
	uint64_t id;
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	int64_t expiration; /* 0: never */
	int64_t created;
	int64_t last_seen;
};

struct db_node {
	uint64_t id;
	struct machine_public machine;
	struct node_public key;
	struct disco_public disco;
	char hostname[DB_HOSTNAME_MAX + 1]; /* as reported */
	char given_name[DB_NAME_MAX + 1];   /* its MagicDNS label, unique */
	uint64_t user_id;
	struct netaddr ipv4; /* family NETADDR_NONE when the tailnet has no IPv4 */
	struct netaddr ipv6;
	struct netendpoint *endpoints;
	size_t n_endpoints;
	uint32_t relay_home;
	char os[DB_OS_MAX + 1];
	char **tags;
	size_t n_tags;
	uint64_t auth_key_id; /* 0: none */
	char register_method[DB_METHOD_MAX + 1]; /* "authkey" or "cli" */
	bool ephemeral;
	int64_t expiry; /* node key expiry, 0: never */
	int64_t last_seen;
	int64_t created;
	struct netprefix *routes_advertised;
	size_t n_routes_advertised;
	struct netprefix *routes_approved;
	size_t n_routes_approved;
};

void db_preauthkey_clear(struct db_preauthkey *k);
void db_node_clear(struct db_node *n);

/* Latency of every call, for /metrics. */
#define DB_LATENCY_BUCKETS 8 /* <= 0.1, 0.5, 1, 5, 10, 50, 100 ms, +Inf */
struct db_stats {
	uint64_t calls;
	uint64_t errors;
	uint64_t total_ns;
	uint64_t bucket[DB_LATENCY_BUCKETS];
};
extern const double db_latency_bounds_ms[DB_LATENCY_BUCKETS - 1];

/*
 * Opens the store cfg->db_type names and migrates it: a SQLite file is created
 * if needed (mode 0600); a PostgreSQL database must exist, its tables are
 * created. A store with a newer schema than this build knows is -EPROTO.
 * err gets one line.
 */
int db_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void db_close(struct db *db);
const struct db_stats *db_get_stats(const struct db *db);
/* The schema version after migrations. */
int db_schema_version(const struct db *db);
/* What messages name the store by: its file, or `"NAME" on HOST:PORT' (never a password). */
const char *db_location(const struct db *db);

int db_begin(struct db *db) __attribute__((warn_unused_result));
int db_commit(struct db *db) __attribute__((warn_unused_result));
void db_rollback(struct db *db);

/*
 * Loads everything at start-up. Each callback takes ownership of the record
 * it is given (returning an error stops the load).
 */
struct db_load_cb {
	int (*user)(void *arg, struct db_user *u);
	int (*preauthkey)(void *arg, struct db_preauthkey *k);
	int (*apikey)(void *arg, struct db_apikey *k);
	int (*node)(void *arg, struct db_node *n);
};
int db_load(struct db *db, const struct db_load_cb *cb, void *arg)
	__attribute__((warn_unused_result));

/* Inserts set ->id. Errors: -EEXIST (a unique column), -ENOENT (update/delete of no row), -EIO. */
int db_user_insert(struct db *db, struct db_user *u) __attribute__((warn_unused_result));
int db_user_update(struct db *db, const struct db_user *u) __attribute__((warn_unused_result));
int db_user_delete(struct db *db, uint64_t id) __attribute__((warn_unused_result));
int db_preauthkey_insert(struct db *db, struct db_preauthkey *k)
	__attribute__((warn_unused_result));
int db_preauthkey_update(struct db *db, const struct db_preauthkey *k)
	__attribute__((warn_unused_result));
int db_preauthkey_delete(struct db *db, uint64_t id) __attribute__((warn_unused_result));
int db_apikey_insert(struct db *db, struct db_apikey *k) __attribute__((warn_unused_result));
int db_apikey_update(struct db *db, const struct db_apikey *k) __attribute__((warn_unused_result));
int db_apikey_delete(struct db *db, uint64_t id) __attribute__((warn_unused_result));
int db_node_insert(struct db *db, struct db_node *n) __attribute__((warn_unused_result));
int db_node_update(struct db *db, const struct db_node *n) __attribute__((warn_unused_result));
int db_node_delete(struct db *db, uint64_t id) __attribute__((warn_unused_result));

/* The stored policy (policy.mode: database). *data NULL when none was set. */
int db_policy_get(struct db *db, char **data, int64_t *updated)
	__attribute__((warn_unused_result));
int db_policy_set(struct db *db, const char *data, int64_t now)
	__attribute__((warn_unused_result));

/*
 * Migrations (db_schema.c): version N's SQL turns schema N-1 into N. Each is
 * written once and expanded for each backend's dialect.
 */
struct db_migration {
	int version;
	const char *name;
	const char *sqlite;
	const char *pg;
};
extern const struct db_migration db_migrations[];
extern const size_t db_n_migrations;

#endif

/* SPDX-License-Identifier: ISC */
/*
 * db_backend: what db.c and the store backends (db_sqlite.c, db_pg.c) share
 * and nobody else sees: the operation table a backend fills, the common head
 * of every backend's handle, call timing, and the codecs of the JSON list
 * columns, so both backends store tags, endpoints and routes byte for byte
 * alike.
 */
#ifndef WEFT_SERVER_DB_BACKEND_H
#define WEFT_SERVER_DB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft-server/db.h"

/*
 * The statements every backend prepares, numbered alike so that each
 * backend's SQL table and its binders line up, and the node columns in the
 * order both bind and load them.
 */
enum db_stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_USER_INSERT,
	S_USER_UPDATE,
	S_USER_DELETE,
	S_PAK_INSERT,
	S_PAK_UPDATE,
	S_PAK_DELETE,
	S_API_INSERT,
	S_API_UPDATE,
	S_API_DELETE,
	S_NODE_INSERT,
	S_NODE_UPDATE,
	S_NODE_DELETE,
	S_POLICY_GET,
	S_POLICY_SET,
	S_COUNT,
};

#define NODE_COLS                                                                                  \
	"machine_key, node_key, disco_key, hostname, given_name, user_id, ipv4, ipv6, endpoints, " \
	"relay_home, os, tags, auth_key_id, register_method, ephemeral, expiry, last_seen, "       \
	"created_at, routes_advertised, routes_approved"

/* One entry per call of db.h after db_open; db.c forwards to them. */
struct db_ops {
	void (*close)(struct db *db);
	int (*begin)(struct db *db);
	int (*commit)(struct db *db);
	void (*rollback)(struct db *db);
	int (*load)(struct db *db, const struct db_load_cb *cb, void *arg);
	int (*user_insert)(struct db *db, struct db_user *u);
	int (*user_update)(struct db *db, const struct db_user *u);
	int (*user_delete)(struct db *db, uint64_t id);
	int (*preauthkey_insert)(struct db *db, struct db_preauthkey *k);
	int (*preauthkey_update)(struct db *db, const struct db_preauthkey *k);
	int (*preauthkey_delete)(struct db *db, uint64_t id);
	int (*apikey_insert)(struct db *db, struct db_apikey *k);
	int (*apikey_update)(struct db *db, const struct db_apikey *k);
	int (*apikey_delete)(struct db *db, uint64_t id);
	int (*node_insert)(struct db *db, struct db_node *n);
	int (*node_update)(struct db *db, const struct db_node *n);
	int (*node_delete)(struct db *db, uint64_t id);
	int (*policy_get)(struct db *db, char **data, int64_t *updated);
	int (*policy_set)(struct db *db, const char *data, int64_t now);
};

#define DB_LOCATION_MAX 600

/* The head of every backend's handle (its first member). */
struct db {
	const struct db_ops *ops;
	struct db_stats stats;
	int version; /* the schema version after migrations */
	/* What messages name: the file, or `"NAME" on HOST:PORT'; never a password. */
	char location[DB_LOCATION_MAX];
};

/* Counts one call that started at start_ns (clock_mono_ns) in the latency histogram. */
void db_account(struct db *db, uint64_t start_ns, bool ok);

/* The JSON list columns, compact; malloc'ed, NULL when out of memory. */
char *db_json_strv(char *const *v, size_t n);
char *db_json_prefixes(const struct netprefix *p, size_t n);
char *db_json_endpoints(const struct netendpoint *e, size_t n);
/*
 * Stored lists back into arrays. NULL text is an empty list; a value that does
 * not parse is -EIO. Whatever was appended before an error stays in *v for
 * the caller's record clear to free.
 */
int db_json_strv_parse(const char *text, char ***v, size_t *n) __attribute__((warn_unused_result));
int db_json_prefixes_parse(const char *text, struct netprefix **v, size_t *n)
	__attribute__((warn_unused_result));
int db_json_endpoints_parse(const char *text, struct netendpoint **v, size_t *n)
	__attribute__((warn_unused_result));

/* The backends' constructors, chosen by db_open from cfg->db_type. */
int db_sqlite_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int db_pg_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * db_sqlite: the SQLite backend of db.h. WAL journal with synchronous=NORMAL
 * (a commit is durable once the WAL is synced at checkpoint; a crash loses at
 * most the last moments, never consistency), foreign keys on, every
 * statement prepared once and reused, every call timed for /metrics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "weft-server/config.h"
#include "weft-server/db.h"

#define DB_LIST_MAX 1024 /* items in a stored JSON list */

const double db_latency_bounds_ms[DB_LATENCY_BUCKETS - 1] = { 0.1, 0.5, 1, 5, 10, 50, 100 };

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

static const char *const db_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_USER_INSERT] = "INSERT INTO users (name, display_name, email, created_at) "
			  "VALUES (?1, ?2, ?3, ?4)",
	[S_USER_UPDATE] = "UPDATE users SET name = ?1, display_name = ?2, email = ?3 WHERE id = ?5",
	[S_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
	[S_PAK_INSERT] = "INSERT INTO preauth_keys (prefix, hash, user_id, reusable, ephemeral, "
			 "used, tags, expiration, created_at) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_PAK_UPDATE] = "UPDATE preauth_keys SET used = ?6, expiration = ?8 WHERE id = ?10",
	[S_PAK_DELETE] = "DELETE FROM preauth_keys WHERE id = ?1",
	[S_API_INSERT] = "INSERT INTO api_keys (prefix, hash, expiration, created_at, last_seen) "
			 "VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_API_UPDATE] = "UPDATE api_keys SET expiration = ?3, last_seen = ?5 WHERE id = ?6",
	[S_API_DELETE] = "DELETE FROM api_keys WHERE id = ?1",
	[S_NODE_INSERT] = "INSERT INTO nodes (" NODE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
			  "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[S_NODE_UPDATE] = "UPDATE nodes SET machine_key = ?1, node_key = ?2, disco_key = ?3, "
			  "hostname = ?4, given_name = ?5, user_id = ?6, ipv4 = ?7, ipv6 = ?8, "
			  "endpoints = ?9, relay_home = ?10, os = ?11, tags = ?12, "
			  "auth_key_id = ?13, register_method = ?14, ephemeral = ?15, "
			  "expiry = ?16, last_seen = ?17, created_at = ?18, "
			  "routes_advertised = ?19, routes_approved = ?20 WHERE id = ?21",
	[S_NODE_DELETE] = "DELETE FROM nodes WHERE id = ?1",
	[S_POLICY_GET] = "SELECT data, updated_at FROM policies ORDER BY id DESC LIMIT 1",
	[S_POLICY_SET] = "INSERT INTO policies (data, updated_at) VALUES (?1, ?2)",
};

struct db {
	sqlite3 *h;
	sqlite3_stmt *st[S_COUNT];
	struct db_stats stats;
	int version;
};

void db_preauthkey_clear(struct db_preauthkey *k)
{
	jsonx_strv_free(k->tags);
	k->tags = NULL;
	k->n_tags = 0;
}

void db_node_clear(struct db_node *n)
{
	free(n->endpoints);
	jsonx_strv_free(n->tags);
	free(n->routes_advertised);
	free(n->routes_approved);
	memset(n, 0, sizeof(*n));
}

const struct db_stats *db_get_stats(const struct db *db)
{
	return &db->stats;
}

int db_schema_version(const struct db *db)
{
	return db->version;
}

static void db_account(struct db *db, uint64_t start, bool ok)
{
	uint64_t ns = clock_mono_ns() - start;
	double ms = (double)ns / 1e6;
	size_t b = 0;

	while (b < DB_LATENCY_BUCKETS - 1 && ms > db_latency_bounds_ms[b])
		b++;
	db->stats.calls++;
	db->stats.errors += !ok;
	db->stats.total_ns += ns;
	db->stats.bucket[b]++;
}

/* SQLite's result code to an errno. */
static int db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Runs a prepared statement that returns no rows; resets it. */
static int db_exec_stmt(struct db *db, sqlite3_stmt *s)
{
	uint64_t t0 = clock_mono_ns();
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : db_errno(rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	db_account(db, t0, r == 0);
	return r;
}

static int db_exec_changes(struct db *db, sqlite3_stmt *s)
{
	int r = db_exec_stmt(db, s);

	if (r == 0 && sqlite3_changes(db->h) == 0)
		return -ENOENT;
	return r;
}

int db_begin(struct db *db)
{
	return db_exec_stmt(db, db->st[S_BEGIN]);
}

int db_commit(struct db *db)
{
	return db_exec_stmt(db, db->st[S_COMMIT]);
}

void db_rollback(struct db *db)
{
	(void)db_exec_stmt(db, db->st[S_ROLLBACK]);
}

/* ---- JSON list columns ----------------------------------------------------------------- */

static char *db_strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static char *db_prefixes_json(const struct netprefix *p, size_t n)
{
	json_t *a = json_array();
	char buf[NETPREFIX_STRLEN], *s;

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(netprefix_format(&p[i], buf, sizeof(buf))));
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static char *db_endpoints_json(const struct netendpoint *e, size_t n)
{
	json_t *a = json_array();
	char buf[NETENDPOINT_STRLEN], *s;

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a,
				      json_string(netendpoint_format(&e[i], buf, sizeof(buf))));
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

/* A column's JSON list of strings, each passed to fn; a damaged value is -EIO. */
static int db_list_each(const unsigned char *text, int (*fn)(void *arg, const char *s), void *arg)
{
	struct jsonx_err jerr;
	json_t *a;
	size_t i;
	json_t *v;
	int r = 0;

	if (text == NULL)
		return 0;
	if (jsonx_load(text, strlen((const char *)text), &a, &jerr) < 0)
		return -EIO;
	if (!json_is_array(a) || json_array_size(a) > DB_LIST_MAX) {
		json_decref(a);
		return -EIO;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || (r = fn(arg, json_string_value(v))) < 0) {
			r = r < 0 ? r : -EIO;
			break;
		}
	}
	json_decref(a);
	return r;
}

struct db_strv_acc {
	char ***v;
	size_t *n;
};

static int db_strv_add(void *arg, const char *s)
{
	struct db_strv_acc *acc = arg;
	char **nv = mem_reallocarray(*acc->v, *acc->n + 2, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	*acc->v = nv;
	if ((nv[*acc->n] = strdup(s)) == NULL)
		return -ENOMEM;
	nv[++*acc->n] = NULL;
	return 0;
}

struct db_prefix_acc {
	struct netprefix **v;
	size_t *n;
};

static int db_prefix_add(void *arg, const char *s)
{
	struct db_prefix_acc *acc = arg;
	struct netprefix *nv = mem_reallocarray(*acc->v, *acc->n + 1, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	*acc->v = nv;
	if (netprefix_parse(s, &nv[*acc->n]) < 0)
		return -EIO;
	(*acc->n)++;
	return 0;
}

struct db_ep_acc {
	struct netendpoint **v;
	size_t *n;
};

static int db_ep_add(void *arg, const char *s)
{
	struct db_ep_acc *acc = arg;
	struct netendpoint *nv = mem_reallocarray(*acc->v, *acc->n + 1, sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	*acc->v = nv;
	if (netendpoint_parse(s, &nv[*acc->n]) < 0)
		return -EIO;
	(*acc->n)++;
	return 0;
}

/* ---- binding helpers ------------------------------------------------------------------- */

static int db_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* Takes ownership of a malloc'ed string (NULL binds NULL, which the NOT NULL columns refuse). */
static int db_bind_owned(sqlite3_stmt *s, int i, char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, free);
}

static int db_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
	return sqlite3_bind_blob(s, i, p, (int)n, SQLITE_TRANSIENT);
}

static int db_bind_addr(sqlite3_stmt *s, int i, const struct netaddr *a)
{
	char buf[NETADDR_STRLEN];

	if (a->family == NETADDR_NONE)
		return sqlite3_bind_null(s, i);
	return db_bind_text(s, i, netaddr_format(a, buf, sizeof(buf)));
}

static void db_col_str(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int db_col_key(sqlite3_stmt *s, int i, uint8_t k[static KEY_LEN])
{
	if (sqlite3_column_bytes(s, i) != KEY_LEN)
		return -EIO;
	memcpy(k, sqlite3_column_blob(s, i), KEY_LEN);
	return 0;
}

static int db_col_addr(sqlite3_stmt *s, int i, struct netaddr *a)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	memset(a, 0, sizeof(*a));
	if (t == NULL)
		return 0;
	return netaddr_parse((const char *)t, a) < 0 ? -EIO : 0;
}

/* ---- users ------------------------------------------------------------------------------ */

static void db_user_bind(sqlite3_stmt *s, const struct db_user *u)
{
	db_bind_text(s, 1, u->name);
	db_bind_text(s, 2, u->display_name);
	db_bind_text(s, 3, u->email);
	sqlite3_bind_int64(s, 4, u->created);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)u->id);
}

int db_user_insert(struct db *db, struct db_user *u)
{
	int r;

	db_user_bind(db->st[S_USER_INSERT], u);
	if ((r = db_exec_stmt(db, db->st[S_USER_INSERT])) == 0)
		u->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

int db_user_update(struct db *db, const struct db_user *u)
{
	db_user_bind(db->st[S_USER_UPDATE], u);
	return db_exec_changes(db, db->st[S_USER_UPDATE]);
}

static int db_delete(struct db *db, enum db_stmt st, uint64_t id)
{
	sqlite3_bind_int64(db->st[st], 1, (sqlite3_int64)id);
	return db_exec_changes(db, db->st[st]);
}

int db_user_delete(struct db *db, uint64_t id)
{
	return db_delete(db, S_USER_DELETE, id);
}

/* ---- pre-auth keys ---------------------------------------------------------------------- */

static void db_pak_bind(sqlite3_stmt *s, const struct db_preauthkey *k)
{
	db_bind_text(s, 1, k->prefix);
	db_bind_blob(s, 2, k->hash, sizeof(k->hash));
	sqlite3_bind_int64(s, 3, (sqlite3_int64)k->user_id);
	sqlite3_bind_int(s, 4, k->reusable);
	sqlite3_bind_int(s, 5, k->ephemeral);
	sqlite3_bind_int(s, 6, k->used);
	db_bind_owned(s, 7, db_strv_json(k->tags, k->n_tags));
	sqlite3_bind_int64(s, 8, k->expiration);
	sqlite3_bind_int64(s, 9, k->created);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)k->id);
}

int db_preauthkey_insert(struct db *db, struct db_preauthkey *k)
{
	int r;

	db_pak_bind(db->st[S_PAK_INSERT], k);
	if ((r = db_exec_stmt(db, db->st[S_PAK_INSERT])) == 0)
		k->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

int db_preauthkey_update(struct db *db, const struct db_preauthkey *k)
{
	db_pak_bind(db->st[S_PAK_UPDATE], k);
	return db_exec_changes(db, db->st[S_PAK_UPDATE]);
}

int db_preauthkey_delete(struct db *db, uint64_t id)
{
	return db_delete(db, S_PAK_DELETE, id);
}

/* ---- API keys --------------------------------------------------------------------------- */

static void db_api_bind(sqlite3_stmt *s, const struct db_apikey *k)
{
	db_bind_text(s, 1, k->prefix);
	db_bind_blob(s, 2, k->hash, sizeof(k->hash));
	sqlite3_bind_int64(s, 3, k->expiration);
	sqlite3_bind_int64(s, 4, k->created);
	sqlite3_bind_int64(s, 5, k->last_seen);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)k->id);
}

int db_apikey_insert(struct db *db, struct db_apikey *k)
{
	int r;

	db_api_bind(db->st[S_API_INSERT], k);
	if ((r = db_exec_stmt(db, db->st[S_API_INSERT])) == 0)
		k->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

int db_apikey_update(struct db *db, const struct db_apikey *k)
{
	db_api_bind(db->st[S_API_UPDATE], k);
	return db_exec_changes(db, db->st[S_API_UPDATE]);
}

int db_apikey_delete(struct db *db, uint64_t id)
{
	return db_delete(db, S_API_DELETE, id);
}

/* ---- nodes ------------------------------------------------------------------------------ */

static void db_node_bind(sqlite3_stmt *s, const struct db_node *n)
{
	db_bind_blob(s, 1, n->machine.b, KEY_LEN);
	db_bind_blob(s, 2, n->key.b, KEY_LEN);
	db_bind_blob(s, 3, n->disco.b, KEY_LEN);
	db_bind_text(s, 4, n->hostname);
	db_bind_text(s, 5, n->given_name);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)n->user_id);
	db_bind_addr(s, 7, &n->ipv4);
	db_bind_addr(s, 8, &n->ipv6);
	db_bind_owned(s, 9, db_endpoints_json(n->endpoints, n->n_endpoints));
	sqlite3_bind_int64(s, 10, n->relay_home);
	db_bind_text(s, 11, n->os);
	db_bind_owned(s, 12, db_strv_json(n->tags, n->n_tags));
	if (n->auth_key_id != 0)
		sqlite3_bind_int64(s, 13, (sqlite3_int64)n->auth_key_id);
	else
		sqlite3_bind_null(s, 13);
	db_bind_text(s, 14, n->register_method);
	sqlite3_bind_int(s, 15, n->ephemeral);
	sqlite3_bind_int64(s, 16, n->expiry);
	sqlite3_bind_int64(s, 17, n->last_seen);
	sqlite3_bind_int64(s, 18, n->created);
	db_bind_owned(s, 19, db_prefixes_json(n->routes_advertised, n->n_routes_advertised));
	db_bind_owned(s, 20, db_prefixes_json(n->routes_approved, n->n_routes_approved));
	sqlite3_bind_int64(s, 21, (sqlite3_int64)n->id);
}

int db_node_insert(struct db *db, struct db_node *n)
{
	int r;

	db_node_bind(db->st[S_NODE_INSERT], n);
	if ((r = db_exec_stmt(db, db->st[S_NODE_INSERT])) == 0)
		n->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

int db_node_update(struct db *db, const struct db_node *n)
{
	db_node_bind(db->st[S_NODE_UPDATE], n);
	return db_exec_changes(db, db->st[S_NODE_UPDATE]);
}

int db_node_delete(struct db *db, uint64_t id)
{
	return db_delete(db, S_NODE_DELETE, id);
}

/* ---- policy ----------------------------------------------------------------------------- */

int db_policy_get(struct db *db, char **data, int64_t *updated)
{
	sqlite3_stmt *s = db->st[S_POLICY_GET];
	uint64_t t0 = clock_mono_ns();
	int rc = sqlite3_step(s), r = 0;

	*data = NULL;
	*updated = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		if ((*data = strdup(t ? (const char *)t : "")) == NULL)
			r = -ENOMEM;
		*updated = sqlite3_column_int64(s, 1);
	} else if (rc != SQLITE_DONE) {
		r = db_errno(rc);
	}
	sqlite3_reset(s);
	db_account(db, t0, r == 0);
	return r;
}

int db_policy_set(struct db *db, const char *data, int64_t now)
{
	db_bind_text(db->st[S_POLICY_SET], 1, data);
	sqlite3_bind_int64(db->st[S_POLICY_SET], 2, now);
	return db_exec_stmt(db, db->st[S_POLICY_SET]);
}

/* ---- load ------------------------------------------------------------------------------- */

/* Runs a SELECT, handing each row to fn. */
static int db_select(struct db *db, const char *sql, int (*fn)(struct db *db, sqlite3_stmt *s,
							       const struct db_load_cb *cb,
							       void *arg),
		     const struct db_load_cb *cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(db->h, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn(db, s, cb, arg)) < 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = db_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int db_load_user(struct db *db, sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_user u = { 0 };

	u.id = (uint64_t)sqlite3_column_int64(s, 0);
	db_col_str(s, 1, u.name, sizeof(u.name));
	db_col_str(s, 2, u.display_name, sizeof(u.display_name));
	db_col_str(s, 3, u.email, sizeof(u.email));
	u.created = sqlite3_column_int64(s, 4);
	return cb->user(arg, &u);
}

static int db_load_pak(struct db *db, sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_preauthkey k = { 0 };
	struct db_strv_acc acc = { &k.tags, &k.n_tags };
	int r;

	k.id = (uint64_t)sqlite3_column_int64(s, 0);
	db_col_str(s, 1, k.prefix, sizeof(k.prefix));
	if (sqlite3_column_bytes(s, 2) != AUTHKEY_HASH_LEN)
		return -EIO;
	memcpy(k.hash, sqlite3_column_blob(s, 2), AUTHKEY_HASH_LEN);
	k.user_id = (uint64_t)sqlite3_column_int64(s, 3);
	k.reusable = sqlite3_column_int(s, 4) != 0;
	k.ephemeral = sqlite3_column_int(s, 5) != 0;
	k.used = sqlite3_column_int(s, 6) != 0;
	if ((r = db_list_each(sqlite3_column_text(s, 7), db_strv_add, &acc)) < 0) {
		db_preauthkey_clear(&k);
		return r;
	}
	k.expiration = sqlite3_column_int64(s, 8);
	k.created = sqlite3_column_int64(s, 9);
	return cb->preauthkey(arg, &k);
}

static int db_load_api(struct db *db, sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_apikey k = { 0 };

	k.id = (uint64_t)sqlite3_column_int64(s, 0);
	db_col_str(s, 1, k.prefix, sizeof(k.prefix));
	if (sqlite3_column_bytes(s, 2) != AUTHKEY_HASH_LEN)
		return -EIO;
	memcpy(k.hash, sqlite3_column_blob(s, 2), AUTHKEY_HASH_LEN);
	k.expiration = sqlite3_column_int64(s, 3);
	k.created = sqlite3_column_int64(s, 4);
	k.last_seen = sqlite3_column_int64(s, 5);
	return cb->apikey(arg, &k);
}

static int db_load_node(struct db *db, sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_node n = { 0 };
	struct db_ep_acc ep = { &n.endpoints, &n.n_endpoints };
	struct db_strv_acc tags = { &n.tags, &n.n_tags };
	struct db_prefix_acc adv = { &n.routes_advertised, &n.n_routes_advertised };
	struct db_prefix_acc appr = { &n.routes_approved, &n.n_routes_approved };
	int r;

	n.id = (uint64_t)sqlite3_column_int64(s, 0);
	if ((r = db_col_key(s, 1, n.machine.b)) < 0 || (r = db_col_key(s, 2, n.key.b)) < 0 ||
	    (r = db_col_key(s, 3, n.disco.b)) < 0)
		goto fail;
	db_col_str(s, 4, n.hostname, sizeof(n.hostname));
	db_col_str(s, 5, n.given_name, sizeof(n.given_name));
	n.user_id = (uint64_t)sqlite3_column_int64(s, 6);
	if ((r = db_col_addr(s, 7, &n.ipv4)) < 0 || (r = db_col_addr(s, 8, &n.ipv6)) < 0 ||
	    (r = db_list_each(sqlite3_column_text(s, 9), db_ep_add, &ep)) < 0)
		goto fail;
	n.relay_home = (uint32_t)sqlite3_column_int64(s, 10);
	db_col_str(s, 11, n.os, sizeof(n.os));
	if ((r = db_list_each(sqlite3_column_text(s, 12), db_strv_add, &tags)) < 0)
		goto fail;
	n.auth_key_id = (uint64_t)sqlite3_column_int64(s, 13);
	db_col_str(s, 14, n.register_method, sizeof(n.register_method));
	n.ephemeral = sqlite3_column_int(s, 15) != 0;
	n.expiry = sqlite3_column_int64(s, 16);
	n.last_seen = sqlite3_column_int64(s, 17);
	n.created = sqlite3_column_int64(s, 18);
	if ((r = db_list_each(sqlite3_column_text(s, 19), db_prefix_add, &adv)) < 0 ||
	    (r = db_list_each(sqlite3_column_text(s, 20), db_prefix_add, &appr)) < 0)
		goto fail;
	return cb->node(arg, &n);
fail:
	db_node_clear(&n);
	return r;
}

int db_load(struct db *db, const struct db_load_cb *cb, void *arg)
{
	int r;

	if ((r = db_select(db, "SELECT id, name, display_name, email, created_at FROM users "
			       "ORDER BY id",
			   db_load_user, cb, arg)) < 0 ||
	    (r = db_select(db, "SELECT id, prefix, hash, user_id, reusable, ephemeral, used, tags, "
			       "expiration, created_at FROM preauth_keys ORDER BY id",
			   db_load_pak, cb, arg)) < 0 ||
	    (r = db_select(db, "SELECT id, prefix, hash, expiration, created_at, last_seen "
			       "FROM api_keys ORDER BY id",
			   db_load_api, cb, arg)) < 0)
		return r;
	return db_select(db, "SELECT id, " NODE_COLS " FROM nodes ORDER BY id", db_load_node, cb,
			 arg);
}

/* ---- open and migrate ------------------------------------------------------------------- */

static int db_exec_sql(struct db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int db_current_version(struct db *db, int *version)
{
	sqlite3_stmt *s;
	int rc;

	*version = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT MAX(version) FROM schema_migrations", -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static int db_migrate(struct db *db, const char *path, char *err, size_t errlen)
{
	char ins[160], why[256];
	int r, have;

	if ((r = db_exec_sql(db,
			     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
			     "PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
			     why, sizeof(why))) < 0 ||
	    (r = db_current_version(db, &have)) < 0) {
		snprintf(err, errlen, "database %s: cannot read its schema version: %s", path,
			 sqlite3_errmsg(db->h));
		return -EIO;
	}
	if (have > db_migrations[db_n_migrations - 1].version) {
		snprintf(err, errlen,
			 "database %s has schema version %d, newer than this weft-server knows "
			 "(%d): run a newer weft-server, or restore a backup",
			 path, have, db_migrations[db_n_migrations - 1].version);
		return -EPROTO;
	}
	for (size_t i = 0; i < db_n_migrations; i++) {
		const struct db_migration *m = &db_migrations[i];
		if (m->version <= have)
			continue;
		snprintf(ins, sizeof(ins),
			 "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, "
			 "'%s', %lld)",
			 m->version, m->name, (long long)(clock_real_ns() / 1000000000ULL));
		if (db_exec_sql(db, "BEGIN IMMEDIATE", why, sizeof(why)) < 0 ||
		    db_exec_sql(db, m->sql, why, sizeof(why)) < 0 ||
		    db_exec_sql(db, ins, why, sizeof(why)) < 0 ||
		    db_exec_sql(db, "COMMIT", why, sizeof(why)) < 0) {
			char ignored[64];
			(void)db_exec_sql(db, "ROLLBACK", ignored, sizeof(ignored));
			snprintf(err, errlen, "database %s: migration %d (%s) failed: %s", path,
				 m->version, m->name, why);
			return -EIO;
		}
		have = m->version;
	}
	db->version = have;
	return 0;
}

static int db_create_file(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	int fd, r;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((r = atomicfile_mkdirs(dir, 0700)) < 0) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-r));
			return r;
		}
	}
	/* SQLite would create it 0644; the database holds key hashes, so 0600. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open database %s: %s", path, strerror(errno));
		return r;
	}
	close(fd);
	return 0;
}

int db_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
{
	const char *path = cfg->sqlite_path;
	struct db *db;
	char why[256];
	int r;

	*out = NULL;
	if ((r = db_create_file(path, err, errlen)) < 0)
		return r;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 db->h ? sqlite3_errmsg(db->h) : "out of memory");
		r = -EIO;
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if ((r = db_exec_sql(db, cfg->sqlite_wal ? "PRAGMA journal_mode=WAL" :
						   "PRAGMA journal_mode=DELETE",
			     why, sizeof(why))) < 0 ||
	    (r = db_exec_sql(db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", why,
			     sizeof(why))) < 0) {
		snprintf(err, errlen, "database %s: %s", path, why);
		goto fail;
	}
	if ((r = db_migrate(db, path, err, errlen)) < 0)
		goto fail;
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(db->h, db_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->st[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(db->h));
			r = -EIO;
			goto fail;
		}
	}
	*out = db;
	return 0;
fail:
	db_close(db);
	return r;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	free(db);
}

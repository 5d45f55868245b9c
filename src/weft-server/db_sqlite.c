/* SPDX-License-Identifier: ISC */
/*
 * db_sqlite: the SQLite backend of db.h. WAL journal with synchronous=NORMAL
 * (a commit is durable once the WAL is synced at checkpoint; a crash loses at
 * most the last moments, never consistency), foreign keys on, every
 * statement prepared once and reused, every call timed for /metrics.
 * db.c reaches it through db_sqlite_open and its operation table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/atomicfile.h"
#include "core/clock.h"
#include "weft-server/config.h"
#include "weft-server/db_backend.h"

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

struct db_sqlite {
	struct db base; /* first: db.c hands us &base */
	sqlite3 *h;
	sqlite3_stmt *st[S_COUNT];
};

static struct db_sqlite *sq(struct db *db)
{
	return (struct db_sqlite *)db;
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
static int db_exec_stmt(struct db_sqlite *db, sqlite3_stmt *s)
{
	uint64_t t0 = clock_mono_ns();
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : db_errno(rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	db_account(&db->base, t0, r == 0);
	return r;
}

static int db_exec_changes(struct db_sqlite *db, sqlite3_stmt *s)
{
	int r = db_exec_stmt(db, s);

	if (r == 0 && sqlite3_changes(db->h) == 0)
		return -ENOENT;
	return r;
}

static int sq_begin(struct db *base)
{
	struct db_sqlite *db = sq(base);
	return db_exec_stmt(db, db->st[S_BEGIN]);
}

static int sq_commit(struct db *base)
{
	struct db_sqlite *db = sq(base);
	return db_exec_stmt(db, db->st[S_COMMIT]);
}

static void sq_rollback(struct db *base)
{
	struct db_sqlite *db = sq(base);
	(void)db_exec_stmt(db, db->st[S_ROLLBACK]);
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

static const char *sq_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
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

static int sq_user_insert(struct db *base, struct db_user *u)
{
	struct db_sqlite *db = sq(base);
	int r;

	db_user_bind(db->st[S_USER_INSERT], u);
	if ((r = db_exec_stmt(db, db->st[S_USER_INSERT])) == 0)
		u->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

static int sq_user_update(struct db *base, const struct db_user *u)
{
	struct db_sqlite *db = sq(base);
	db_user_bind(db->st[S_USER_UPDATE], u);
	return db_exec_changes(db, db->st[S_USER_UPDATE]);
}

static int db_delete(struct db_sqlite *db, enum db_stmt st, uint64_t id)
{
	sqlite3_bind_int64(db->st[st], 1, (sqlite3_int64)id);
	return db_exec_changes(db, db->st[st]);
}

static int sq_user_delete(struct db *base, uint64_t id)
{
	struct db_sqlite *db = sq(base);
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
	db_bind_owned(s, 7, db_json_strv(k->tags, k->n_tags));
	sqlite3_bind_int64(s, 8, k->expiration);
	sqlite3_bind_int64(s, 9, k->created);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)k->id);
}

static int sq_preauthkey_insert(struct db *base, struct db_preauthkey *k)
{
	struct db_sqlite *db = sq(base);
	int r;

	db_pak_bind(db->st[S_PAK_INSERT], k);
	if ((r = db_exec_stmt(db, db->st[S_PAK_INSERT])) == 0)
		k->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

static int sq_preauthkey_update(struct db *base, const struct db_preauthkey *k)
{
	struct db_sqlite *db = sq(base);
	db_pak_bind(db->st[S_PAK_UPDATE], k);
	return db_exec_changes(db, db->st[S_PAK_UPDATE]);
}

static int sq_preauthkey_delete(struct db *base, uint64_t id)
{
	struct db_sqlite *db = sq(base);
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

static int sq_apikey_insert(struct db *base, struct db_apikey *k)
{
	struct db_sqlite *db = sq(base);
	int r;

	db_api_bind(db->st[S_API_INSERT], k);
	if ((r = db_exec_stmt(db, db->st[S_API_INSERT])) == 0)
		k->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

static int sq_apikey_update(struct db *base, const struct db_apikey *k)
{
	struct db_sqlite *db = sq(base);
	db_api_bind(db->st[S_API_UPDATE], k);
	return db_exec_changes(db, db->st[S_API_UPDATE]);
}

static int sq_apikey_delete(struct db *base, uint64_t id)
{
	struct db_sqlite *db = sq(base);
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
	db_bind_owned(s, 9, db_json_endpoints(n->endpoints, n->n_endpoints));
	sqlite3_bind_int64(s, 10, n->relay_home);
	db_bind_text(s, 11, n->os);
	db_bind_owned(s, 12, db_json_strv(n->tags, n->n_tags));
	if (n->auth_key_id != 0)
		sqlite3_bind_int64(s, 13, (sqlite3_int64)n->auth_key_id);
	else
		sqlite3_bind_null(s, 13);
	db_bind_text(s, 14, n->register_method);
	sqlite3_bind_int(s, 15, n->ephemeral);
	sqlite3_bind_int64(s, 16, n->expiry);
	sqlite3_bind_int64(s, 17, n->last_seen);
	sqlite3_bind_int64(s, 18, n->created);
	db_bind_owned(s, 19, db_json_prefixes(n->routes_advertised, n->n_routes_advertised));
	db_bind_owned(s, 20, db_json_prefixes(n->routes_approved, n->n_routes_approved));
	sqlite3_bind_int64(s, 21, (sqlite3_int64)n->id);
}

static int sq_node_insert(struct db *base, struct db_node *n)
{
	struct db_sqlite *db = sq(base);
	int r;

	db_node_bind(db->st[S_NODE_INSERT], n);
	if ((r = db_exec_stmt(db, db->st[S_NODE_INSERT])) == 0)
		n->id = (uint64_t)sqlite3_last_insert_rowid(db->h);
	return r;
}

static int sq_node_update(struct db *base, const struct db_node *n)
{
	struct db_sqlite *db = sq(base);
	db_node_bind(db->st[S_NODE_UPDATE], n);
	return db_exec_changes(db, db->st[S_NODE_UPDATE]);
}

static int sq_node_delete(struct db *base, uint64_t id)
{
	struct db_sqlite *db = sq(base);
	return db_delete(db, S_NODE_DELETE, id);
}

/* ---- policy ----------------------------------------------------------------------------- */

static int sq_policy_get(struct db *base, char **data, int64_t *updated)
{
	struct db_sqlite *db = sq(base);
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
	db_account(&db->base, t0, r == 0);
	return r;
}

static int sq_policy_set(struct db *base, const char *data, int64_t now)
{
	struct db_sqlite *db = sq(base);
	db_bind_text(db->st[S_POLICY_SET], 1, data);
	sqlite3_bind_int64(db->st[S_POLICY_SET], 2, now);
	return db_exec_stmt(db, db->st[S_POLICY_SET]);
}

/* ---- load ------------------------------------------------------------------------------- */

/* Runs a SELECT, handing each row to fn. */
static int db_select(struct db_sqlite *db, const char *sql, int (*fn)(sqlite3_stmt *s,
							       const struct db_load_cb *cb,
							       void *arg),
		     const struct db_load_cb *cb, void *arg)
{
	sqlite3_stmt *s = NULL;
	int rc, r = 0;

	if (sqlite3_prepare_v2(db->h, sql, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = fn(s, cb, arg)) < 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = db_errno(rc);
	sqlite3_finalize(s);
	return r;
}

static int db_load_user(sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_user u = { 0 };

	u.id = (uint64_t)sqlite3_column_int64(s, 0);
	db_col_str(s, 1, u.name, sizeof(u.name));
	db_col_str(s, 2, u.display_name, sizeof(u.display_name));
	db_col_str(s, 3, u.email, sizeof(u.email));
	u.created = sqlite3_column_int64(s, 4);
	return cb->user(arg, &u);
}

static int db_load_pak(sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_preauthkey k = { 0 };
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
	if ((r = db_json_strv_parse(sq_col_text(s, 7), &k.tags, &k.n_tags)) < 0) {
		db_preauthkey_clear(&k);
		return r;
	}
	k.expiration = sqlite3_column_int64(s, 8);
	k.created = sqlite3_column_int64(s, 9);
	return cb->preauthkey(arg, &k);
}

static int db_load_api(sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
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

static int db_load_node(sqlite3_stmt *s, const struct db_load_cb *cb, void *arg)
{
	struct db_node n = { 0 };
	int r;

	n.id = (uint64_t)sqlite3_column_int64(s, 0);
	if ((r = db_col_key(s, 1, n.machine.b)) < 0 || (r = db_col_key(s, 2, n.key.b)) < 0 ||
	    (r = db_col_key(s, 3, n.disco.b)) < 0)
		goto fail;
	db_col_str(s, 4, n.hostname, sizeof(n.hostname));
	db_col_str(s, 5, n.given_name, sizeof(n.given_name));
	n.user_id = (uint64_t)sqlite3_column_int64(s, 6);
	if ((r = db_col_addr(s, 7, &n.ipv4)) < 0 || (r = db_col_addr(s, 8, &n.ipv6)) < 0 ||
	    (r = db_json_endpoints_parse(sq_col_text(s, 9), &n.endpoints, &n.n_endpoints)) < 0)
		goto fail;
	n.relay_home = (uint32_t)sqlite3_column_int64(s, 10);
	db_col_str(s, 11, n.os, sizeof(n.os));
	if ((r = db_json_strv_parse(sq_col_text(s, 12), &n.tags, &n.n_tags)) < 0)
		goto fail;
	n.auth_key_id = (uint64_t)sqlite3_column_int64(s, 13);
	db_col_str(s, 14, n.register_method, sizeof(n.register_method));
	n.ephemeral = sqlite3_column_int(s, 15) != 0;
	n.expiry = sqlite3_column_int64(s, 16);
	n.last_seen = sqlite3_column_int64(s, 17);
	n.created = sqlite3_column_int64(s, 18);
	if ((r = db_json_prefixes_parse(sq_col_text(s, 19), &n.routes_advertised,
					&n.n_routes_advertised)) < 0 ||
	    (r = db_json_prefixes_parse(sq_col_text(s, 20), &n.routes_approved,
					&n.n_routes_approved)) < 0)
		goto fail;
	return cb->node(arg, &n);
fail:
	db_node_clear(&n);
	return r;
}

static int sq_load(struct db *base, const struct db_load_cb *cb, void *arg)
{
	struct db_sqlite *db = sq(base);
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

static int db_exec_sql(struct db_sqlite *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int db_current_version(struct db_sqlite *db, int *version)
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

static int db_migrate(struct db_sqlite *db, const char *path, char *err, size_t errlen)
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
		    db_exec_sql(db, m->sqlite, why, sizeof(why)) < 0 ||
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
	db->base.version = have;
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

static void sq_close(struct db *base)
{
	struct db_sqlite *db = sq(base);

	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->h);
	free(db);
}

static const struct db_ops sq_ops = {
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.load = sq_load,
	.user_insert = sq_user_insert,
	.user_update = sq_user_update,
	.user_delete = sq_user_delete,
	.preauthkey_insert = sq_preauthkey_insert,
	.preauthkey_update = sq_preauthkey_update,
	.preauthkey_delete = sq_preauthkey_delete,
	.apikey_insert = sq_apikey_insert,
	.apikey_update = sq_apikey_update,
	.apikey_delete = sq_apikey_delete,
	.node_insert = sq_node_insert,
	.node_update = sq_node_update,
	.node_delete = sq_node_delete,
	.policy_get = sq_policy_get,
	.policy_set = sq_policy_set,
};

int db_sqlite_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
{
	const char *path = cfg->sqlite_path;
	struct db_sqlite *db;
	char why[256];
	int r;

	*out = NULL;
	if ((r = db_create_file(path, err, errlen)) < 0)
		return r;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return -ENOMEM;
	db->base.ops = &sq_ops;
	snprintf(db->base.location, sizeof(db->base.location), "%s", path);
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
	*out = &db->base;
	return 0;
fail:
	sq_close(&db->base);
	return r;
}

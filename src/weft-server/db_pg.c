/* SPDX-License-Identifier: ISC */
/*
 * db_pg: the PostgreSQL backend of db.h, through libpq. One connection, used
 * synchronously on the server loop like db_sqlite (each statement bounded by
 * a server-side statement timeout, every call timed for /metrics); every
 * statement prepared once per connection; the migrations of db_schema.c
 * applied in one transaction under an advisory lock. A lost connection is
 * opened again, and the statements prepared again, at the next call made
 * outside a transaction; inside one, the calls fail until the rollback.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/clock.h"
#include "core/log.h"
#include "weft-server/config.h"
#include "weft-server/db_backend.h"

/* Type OIDs of the parameters we send (fixed by PostgreSQL's catalog, never renumbered). */
enum pg_oid {
	PG_OID_BYTEA = 17,
	PG_OID_INT8 = 20,
	PG_OID_INT2 = 21,
	PG_OID_INT4 = 23,
	PG_OID_TEXT = 25,
};

#define PG_PARAMS_MAX 21
#define PG_MSG_MAX 256
#define PG_MIN_SERVER 100000 /* identity columns need PostgreSQL 10 */
/* Bounds how long one call can hold the loop: a lock wait or a stuck server. */
#define PG_OPTIONS "-c statement_timeout=10000"
#define PG_CONNECT_TIMEOUT "10"
#define PG_RETRY_NS 1000000000ULL /* at most one reconnect attempt a second */
/* The advisory lock two weft-servers starting on one database migrate under. */
#define PG_MIGRATE_LOCK "2003134068" /* "weft" as a big-endian int32 */

/*
 * The statements, numbered like db_sqlite's so one binder serves insert and
 * update. `types' has one letter per parameter (t text, b bytea, l int8, i
 * int4); a parameter an UPDATE leaves out is still declared, so PostgreSQL
 * need not infer the type of one it never sees.
 */
struct pg_stmt {
	const char *sql;
	const char *types;
};

static const struct pg_stmt pg_stmts[S_COUNT] = {
	[S_BEGIN] = { "BEGIN", "" },
	[S_COMMIT] = { "COMMIT", "" },
	[S_ROLLBACK] = { "ROLLBACK", "" },
	[S_USER_INSERT] = { "INSERT INTO users (name, display_name, email, created_at) "
			    "VALUES ($1, $2, $3, $4) RETURNING id",
			    "tttll" },
	[S_USER_UPDATE] = { "UPDATE users SET name = $1, display_name = $2, email = $3 "
			    "WHERE id = $5",
			    "tttll" },
	[S_USER_DELETE] = { "DELETE FROM users WHERE id = $1", "l" },
	[S_PAK_INSERT] = { "INSERT INTO preauth_keys (prefix, hash, user_id, reusable, ephemeral, "
			   "used, tags, expiration, created_at) "
			   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
			   "tbliiitlll" },
	[S_PAK_UPDATE] = { "UPDATE preauth_keys SET used = $6, expiration = $8 WHERE id = $10",
			   "tbliiitlll" },
	[S_PAK_DELETE] = { "DELETE FROM preauth_keys WHERE id = $1", "l" },
	[S_API_INSERT] = { "INSERT INTO api_keys (prefix, hash, expiration, created_at, last_seen) "
			   "VALUES ($1, $2, $3, $4, $5) RETURNING id",
			   "tbllll" },
	[S_API_UPDATE] = { "UPDATE api_keys SET expiration = $3, last_seen = $5 WHERE id = $6",
			   "tbllll" },
	[S_API_DELETE] = { "DELETE FROM api_keys WHERE id = $1", "l" },
	[S_NODE_INSERT] = { "INSERT INTO nodes (" NODE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
			    "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) "
			    "RETURNING id",
			    "bbbttltttlttltilllttl" },
	[S_NODE_UPDATE] = { "UPDATE nodes SET machine_key = $1, node_key = $2, disco_key = $3, "
			    "hostname = $4, given_name = $5, user_id = $6, ipv4 = $7, ipv6 = $8, "
			    "endpoints = $9, relay_home = $10, os = $11, tags = $12, "
			    "auth_key_id = $13, register_method = $14, ephemeral = $15, "
			    "expiry = $16, last_seen = $17, created_at = $18, "
			    "routes_advertised = $19, routes_approved = $20 WHERE id = $21",
			    "bbbttltttlttltilllttl" },
	[S_NODE_DELETE] = { "DELETE FROM nodes WHERE id = $1", "l" },
	[S_POLICY_GET] = { "SELECT data, updated_at FROM policies ORDER BY id DESC LIMIT 1", "" },
	[S_POLICY_SET] = { "INSERT INTO policies (data, updated_at) VALUES ($1, $2)", "tl" },
};

struct db_pg {
	struct db base; /* first: db.c hands us &base */
	PGconn *conn;
	bool in_tx;	   /* between a BEGIN that worked and its COMMIT or ROLLBACK */
	uint64_t retry_at; /* clock_mono_ns before which no reconnect is tried */
};

static struct db_pg *pgd(struct db *db)
{
	return (struct db_pg *)db;
}

/* libpq's messages span lines ("...failed: FATAL:  ...\n"): one line, for our logs. */
static void pg_oneline(const char *msg, char *dst, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; msg != NULL && msg[i] != '\0' && j + 1 < cap; i++) {
		char c = msg[i] == '\n' || msg[i] == '\t' ? ' ' : msg[i];
		if (c == ' ' && (j == 0 || dst[j - 1] == ' '))
			continue;
		dst[j++] = c;
	}
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

/* Server notices (e.g. "relation already exists, skipping") go to our log, not stderr. */
static void pg_notice(void *arg, const char *msg)
{
	char line[PG_MSG_MAX];

	(void)arg;
	pg_oneline(msg, line, sizeof(line));
	log_debug("store: postgres notice: %s", line);
}

/* ---- parameters ------------------------------------------------------------------------- */

struct pg_params {
	const char *v[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][24];
	char *owned[PG_PARAMS_MAX];
	bool nomem;
};

static void pg_text(struct pg_params *p, int i, const char *s)
{
	p->v[i - 1] = s;
}

/* Takes ownership of a malloc'ed string; NULL (out of memory) fails the call. */
static void pg_owned(struct pg_params *p, int i, char *s)
{
	p->owned[i - 1] = s;
	p->v[i - 1] = s;
	p->nomem |= s == NULL;
}

static void pg_i64(struct pg_params *p, int i, int64_t v)
{
	snprintf(p->num[i - 1], sizeof(p->num[i - 1]), "%" PRId64, v);
	p->v[i - 1] = p->num[i - 1];
}

static void pg_bytes(struct pg_params *p, int i, const void *b, size_t n)
{
	p->v[i - 1] = b;
	p->len[i - 1] = (int)n;
	p->fmt[i - 1] = 1; /* binary: bytea as is, no escaping */
}

static void pg_addr(struct pg_params *p, int i, const struct netaddr *a)
{
	if (a->family == NETADDR_NONE) {
		p->v[i - 1] = NULL;
		return;
	}
	netaddr_format(a, p->num[i - 1], sizeof(p->num[i - 1]));
	p->v[i - 1] = p->num[i - 1];
}

static void pg_params_free(struct pg_params *p)
{
	for (size_t i = 0; i < PG_PARAMS_MAX; i++)
		free(p->owned[i]);
}

static Oid pg_type_oid(char t)
{
	switch (t) {
	case 'b':
		return PG_OID_BYTEA;
	case 'l':
		return PG_OID_INT8;
	case 'i':
		return PG_OID_INT4;
	default:
		return PG_OID_TEXT;
	}
}

/* ---- results and errors ----------------------------------------------------------------- */

static bool pg_result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return res != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

/*
 * A failed result to the errno db_sqlite gives for the same case: any
 * integrity violation (unique, foreign key, not null: SQLSTATE class 23) is
 * -EEXIST as SQLite's SQLITE_CONSTRAINT is; lock waits and timeouts -EBUSY;
 * the rest -EIO, logged (rate-limited) with the server's message.
 */
static int pg_errno(struct db_pg *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[PG_MSG_MAX];
	int r = -EIO;

	pg_oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), msg, sizeof(msg));
	if (state == NULL && PQstatus(db->conn) == CONNECTION_OK)
		r = -ENOMEM; /* no result and no error from the server: libpq ran out */
	else if (state != NULL && strncmp(state, "23", 2) == 0)
		r = -EEXIST;
	else if (state != NULL && strcmp(state, "53100") == 0)
		r = -ENOSPC;
	else if (state != NULL && strcmp(state, "53200") == 0)
		r = -ENOMEM;
	else if (state != NULL && (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 ||
				   strcmp(state, "57014") == 0))
		r = -EBUSY;
	if (r == -EEXIST)
		log_debug("store: postgres: %s", msg);
	else
		log_warnx_rl("store: postgres %s: %s", db->base.location, msg);
	return r;
}

/* An integer column (int2, int4 or int8, binary); NULL reads as 0. */
static int pg_col_int(const PGresult *res, int row, int col, int64_t *v)
{
	const unsigned char *b;
	uint64_t u = 0;
	Oid t = PQftype(res, col);
	int len;

	*v = 0;
	if (t != PG_OID_INT8 && t != PG_OID_INT4 && t != PG_OID_INT2)
		return -EIO;
	if (PQgetisnull(res, row, col))
		return 0;
	b = (const unsigned char *)PQgetvalue(res, row, col);
	len = PQgetlength(res, row, col);
	if (len != 2 && len != 4 && len != 8)
		return -EIO;
	for (int i = 0; i < len; i++)
		u = u << 8 | b[i];
	if (len < 8 && (b[0] & 0x80))
		u |= ~0ULL << (8 * len); /* sign-extend */
	*v = (int64_t)u;
	return 0;
}

/*
 * One row being read, columns in order. The first column that does not fit
 * its field sets err, so a decoder reads every column and checks once.
 */
struct pg_row {
	const PGresult *res;
	int row;
	int err;
};

static int64_t row_int(struct pg_row *r, int col)
{
	int64_t v;

	if (pg_col_int(r->res, r->row, col, &v) < 0)
		r->err = -EIO;
	return v;
}

static const char *row_text(struct pg_row *r, int col)
{
	if (PQgetisnull(r->res, r->row, col))
		return NULL;
	return PQgetvalue(r->res, r->row, col); /* NUL-terminated in binary format too */
}

static void row_str(struct pg_row *r, int col, char *dst, size_t cap)
{
	const char *t = row_text(r, col);

	snprintf(dst, cap, "%s", t ? t : "");
}

static void row_bytes(struct pg_row *r, int col, uint8_t *dst, size_t n)
{
	if (PQgetisnull(r->res, r->row, col) || PQgetlength(r->res, r->row, col) != (int)n) {
		r->err = -EIO;
		return;
	}
	memcpy(dst, PQgetvalue(r->res, r->row, col), n);
}

static void row_addr(struct pg_row *r, int col, struct netaddr *a)
{
	const char *t = row_text(r, col);

	memset(a, 0, sizeof(*a));
	if (t != NULL && netaddr_parse(t, a) < 0)
		r->err = -EIO;
}

/* ---- connection ------------------------------------------------------------------------- */

static int pg_prepare_all(struct db_pg *db, char *why, size_t whylen)
{
	for (int i = 0; i < S_COUNT; i++) {
		Oid types[PG_PARAMS_MAX];
		size_t n = strlen(pg_stmts[i].types);
		char name[16];
		PGresult *res;
		bool ok;

		for (size_t j = 0; j < n; j++)
			types[j] = pg_type_oid(pg_stmts[i].types[j]);
		snprintf(name, sizeof(name), "weft_%d", i);
		res = PQprepare(db->conn, name, pg_stmts[i].sql, (int)n, types);
		if (!(ok = pg_result_ok(res)))
			pg_oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), why,
				   whylen);
		PQclear(res);
		if (!ok)
			return -EIO;
	}
	return 0;
}

/*
 * The connection is usable, or is made so: after a loss (the server
 * restarted, a network cut) it is reset and the statements prepared again,
 * but never inside a transaction, whose earlier statements died with the
 * connection: running the rest on a new one would commit half of it.
 */
static int pg_ready(struct db_pg *db)
{
	char why[PG_MSG_MAX];
	uint64_t now;

	if (PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	now = clock_mono_ns();
	if (db->in_tx || now < db->retry_at)
		return -EIO;
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* Down: the next calls fail fast instead of each waiting on a connect. */
		db->retry_at = now + PG_RETRY_NS;
		pg_oneline(PQerrorMessage(db->conn), why, sizeof(why));
		log_warnx_rl("store: postgres %s: reconnecting failed: %s", db->base.location, why);
		return -EIO;
	}
	if (pg_prepare_all(db, why, sizeof(why)) < 0) {
		log_warnx_rl("store: postgres %s: preparing statements failed: %s",
			     db->base.location, why);
		return -EIO;
	}
	log_warnx("store: postgres %s: connection lost, reconnected", db->base.location);
	return 0;
}

/*
 * Runs prepared statement st with p's parameters (freeing them), timed. On
 * success *out, if given, holds the result (binary columns) for the caller
 * to PQclear.
 */
static int pg_run(struct db_pg *db, enum db_stmt st, struct pg_params *p, PGresult **out)
{
	uint64_t t0 = clock_mono_ns();
	PGresult *res = NULL;
	char name[16];
	int r;

	if (out != NULL)
		*out = NULL;
	if (p->nomem) {
		r = -ENOMEM;
		goto done;
	}
	if ((r = pg_ready(db)) < 0)
		goto done;
	snprintf(name, sizeof(name), "weft_%d", (int)st);
	res = PQexecPrepared(db->conn, name, (int)strlen(pg_stmts[st].types), p->v, p->len, p->fmt,
			     1);
	r = pg_result_ok(res) ? 0 : pg_errno(db, res);
done:
	pg_params_free(p);
	db_account(&db->base, t0, r == 0);
	if (r == 0 && out != NULL)
		*out = res;
	else
		PQclear(res);
	return r;
}

/* A statement that changes rows: none changed is -ENOENT, as in db_sqlite. */
static int pg_run_changes(struct db_pg *db, enum db_stmt st, struct pg_params *p)
{
	PGresult *res;
	int r;

	if ((r = pg_run(db, st, p, &res)) < 0)
		return r;
	if (strcmp(PQcmdTuples(res), "0") == 0)
		r = -ENOENT;
	PQclear(res);
	return r;
}

/* An INSERT ... RETURNING id. */
static int pg_run_insert(struct db_pg *db, enum db_stmt st, struct pg_params *p, uint64_t *id)
{
	PGresult *res;
	int64_t v;
	int r;

	if ((r = pg_run(db, st, p, &res)) < 0)
		return r;
	if (PQntuples(res) != 1 || pg_col_int(res, 0, 0, &v) < 0 || v <= 0)
		r = -EIO;
	else
		*id = (uint64_t)v;
	PQclear(res);
	return r;
}

static int pg_begin(struct db *base)
{
	struct db_pg *db = pgd(base);
	struct pg_params p = { 0 };
	int r = pg_run(db, S_BEGIN, &p, NULL);

	db->in_tx = r == 0;
	return r;
}

static int pg_commit(struct db *base)
{
	struct db_pg *db = pgd(base);
	struct pg_params p = { 0 };
	PGresult *res;
	int r;

	if ((r = pg_run(db, S_COMMIT, &p, &res)) == 0) {
		/* COMMIT of a transaction that had failed "succeeds" by rolling back. */
		if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
			r = -EIO;
		PQclear(res);
	}
	db->in_tx = false;
	return r;
}

static void pg_rollback(struct db *base)
{
	struct db_pg *db = pgd(base);
	struct pg_params p = { 0 };

	/* With the connection gone there is nothing to roll back: the server did. */
	if (PQstatus(db->conn) == CONNECTION_OK)
		(void)pg_run(db, S_ROLLBACK, &p, NULL);
	db->in_tx = false;
}

/* ---- users, keys, nodes, policy --------------------------------------------------------- */

static void pg_user_bind(struct pg_params *p, const struct db_user *u)
{
	pg_text(p, 1, u->name);
	pg_text(p, 2, u->display_name);
	pg_text(p, 3, u->email);
	pg_i64(p, 4, u->created);
	pg_i64(p, 5, (int64_t)u->id);
}

static int pg_user_insert(struct db *base, struct db_user *u)
{
	struct pg_params p = { 0 };

	pg_user_bind(&p, u);
	return pg_run_insert(pgd(base), S_USER_INSERT, &p, &u->id);
}

static int pg_user_update(struct db *base, const struct db_user *u)
{
	struct pg_params p = { 0 };

	pg_user_bind(&p, u);
	return pg_run_changes(pgd(base), S_USER_UPDATE, &p);
}

static int pg_delete(struct db *base, enum db_stmt st, uint64_t id)
{
	struct pg_params p = { 0 };

	pg_i64(&p, 1, (int64_t)id);
	return pg_run_changes(pgd(base), st, &p);
}

static int pg_user_delete(struct db *base, uint64_t id)
{
	return pg_delete(base, S_USER_DELETE, id);
}

static void pg_pak_bind(struct pg_params *p, const struct db_preauthkey *k)
{
	pg_text(p, 1, k->prefix);
	pg_bytes(p, 2, k->hash, sizeof(k->hash));
	pg_i64(p, 3, (int64_t)k->user_id);
	pg_i64(p, 4, k->reusable);
	pg_i64(p, 5, k->ephemeral);
	pg_i64(p, 6, k->used);
	pg_owned(p, 7, db_json_strv(k->tags, k->n_tags));
	pg_i64(p, 8, k->expiration);
	pg_i64(p, 9, k->created);
	pg_i64(p, 10, (int64_t)k->id);
}

static int pg_preauthkey_insert(struct db *base, struct db_preauthkey *k)
{
	struct pg_params p = { 0 };

	pg_pak_bind(&p, k);
	return pg_run_insert(pgd(base), S_PAK_INSERT, &p, &k->id);
}

static int pg_preauthkey_update(struct db *base, const struct db_preauthkey *k)
{
	struct pg_params p = { 0 };

	pg_pak_bind(&p, k);
	return pg_run_changes(pgd(base), S_PAK_UPDATE, &p);
}

static int pg_preauthkey_delete(struct db *base, uint64_t id)
{
	return pg_delete(base, S_PAK_DELETE, id);
}

static void pg_api_bind(struct pg_params *p, const struct db_apikey *k)
{
	pg_text(p, 1, k->prefix);
	pg_bytes(p, 2, k->hash, sizeof(k->hash));
	pg_i64(p, 3, k->expiration);
	pg_i64(p, 4, k->created);
	pg_i64(p, 5, k->last_seen);
	pg_i64(p, 6, (int64_t)k->id);
}

static int pg_apikey_insert(struct db *base, struct db_apikey *k)
{
	struct pg_params p = { 0 };

	pg_api_bind(&p, k);
	return pg_run_insert(pgd(base), S_API_INSERT, &p, &k->id);
}

static int pg_apikey_update(struct db *base, const struct db_apikey *k)
{
	struct pg_params p = { 0 };

	pg_api_bind(&p, k);
	return pg_run_changes(pgd(base), S_API_UPDATE, &p);
}

static int pg_apikey_delete(struct db *base, uint64_t id)
{
	return pg_delete(base, S_API_DELETE, id);
}

static void pg_node_bind(struct pg_params *p, const struct db_node *n)
{
	pg_bytes(p, 1, n->machine.b, KEY_LEN);
	pg_bytes(p, 2, n->key.b, KEY_LEN);
	pg_bytes(p, 3, n->disco.b, KEY_LEN);
	pg_text(p, 4, n->hostname);
	pg_text(p, 5, n->given_name);
	pg_i64(p, 6, (int64_t)n->user_id);
	pg_addr(p, 7, &n->ipv4);
	pg_addr(p, 8, &n->ipv6);
	pg_owned(p, 9, db_json_endpoints(n->endpoints, n->n_endpoints));
	pg_i64(p, 10, n->relay_home);
	pg_text(p, 11, n->os);
	pg_owned(p, 12, db_json_strv(n->tags, n->n_tags));
	if (n->auth_key_id != 0)
		pg_i64(p, 13, (int64_t)n->auth_key_id);
	pg_text(p, 14, n->register_method);
	pg_i64(p, 15, n->ephemeral);
	pg_i64(p, 16, n->expiry);
	pg_i64(p, 17, n->last_seen);
	pg_i64(p, 18, n->created);
	pg_owned(p, 19, db_json_prefixes(n->routes_advertised, n->n_routes_advertised));
	pg_owned(p, 20, db_json_prefixes(n->routes_approved, n->n_routes_approved));
	pg_i64(p, 21, (int64_t)n->id);
}

static int pg_node_insert(struct db *base, struct db_node *n)
{
	struct pg_params p = { 0 };

	pg_node_bind(&p, n);
	return pg_run_insert(pgd(base), S_NODE_INSERT, &p, &n->id);
}

static int pg_node_update(struct db *base, const struct db_node *n)
{
	struct pg_params p = { 0 };

	pg_node_bind(&p, n);
	return pg_run_changes(pgd(base), S_NODE_UPDATE, &p);
}

static int pg_node_delete(struct db *base, uint64_t id)
{
	return pg_delete(base, S_NODE_DELETE, id);
}

static int pg_policy_get(struct db *base, char **data, int64_t *updated)
{
	struct pg_params p = { 0 };
	PGresult *res;
	int r;

	*data = NULL;
	*updated = 0;
	if ((r = pg_run(pgd(base), S_POLICY_GET, &p, &res)) < 0)
		return r;
	if (PQntuples(res) == 1) {
		struct pg_row row = { res, 0, 0 };
		const char *t = row_text(&row, 0);
		*updated = row_int(&row, 1);
		if ((r = row.err) == 0 && (*data = strdup(t ? t : "")) == NULL)
			r = -ENOMEM;
	}
	PQclear(res);
	return r;
}

static int pg_policy_set(struct db *base, const char *data, int64_t now)
{
	struct pg_params p = { 0 };

	pg_text(&p, 1, data);
	pg_i64(&p, 2, now);
	return pg_run(pgd(base), S_POLICY_SET, &p, NULL);
}

/* ---- load ------------------------------------------------------------------------------- */

/* Runs a SELECT once (binary columns), handing each row to fn. */
static int pg_select(struct db_pg *db, const char *sql,
		     int (*fn)(struct pg_row *row, const struct db_load_cb *cb, void *arg),
		     const struct db_load_cb *cb, void *arg)
{
	uint64_t t0 = clock_mono_ns();
	PGresult *res;
	int r = 0;

	if ((r = pg_ready(db)) < 0) {
		db_account(&db->base, t0, false);
		return r;
	}
	res = PQexecParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 1);
	if (!pg_result_ok(res))
		r = pg_errno(db, res);
	db_account(&db->base, t0, r == 0);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct pg_row row = { res, i, 0 };
		r = fn(&row, cb, arg);
	}
	PQclear(res);
	return r;
}

static int pg_load_user(struct pg_row *row, const struct db_load_cb *cb, void *arg)
{
	struct db_user u = { 0 };

	u.id = (uint64_t)row_int(row, 0);
	row_str(row, 1, u.name, sizeof(u.name));
	row_str(row, 2, u.display_name, sizeof(u.display_name));
	row_str(row, 3, u.email, sizeof(u.email));
	u.created = row_int(row, 4);
	if (row->err < 0)
		return row->err;
	return cb->user(arg, &u);
}

static int pg_load_pak(struct pg_row *row, const struct db_load_cb *cb, void *arg)
{
	struct db_preauthkey k = { 0 };
	int r;

	k.id = (uint64_t)row_int(row, 0);
	row_str(row, 1, k.prefix, sizeof(k.prefix));
	row_bytes(row, 2, k.hash, AUTHKEY_HASH_LEN);
	k.user_id = (uint64_t)row_int(row, 3);
	k.reusable = row_int(row, 4) != 0;
	k.ephemeral = row_int(row, 5) != 0;
	k.used = row_int(row, 6) != 0;
	k.expiration = row_int(row, 8);
	k.created = row_int(row, 9);
	if ((r = row->err) < 0 ||
	    (r = db_json_strv_parse(row_text(row, 7), &k.tags, &k.n_tags)) < 0) {
		db_preauthkey_clear(&k);
		return r;
	}
	return cb->preauthkey(arg, &k);
}

static int pg_load_api(struct pg_row *row, const struct db_load_cb *cb, void *arg)
{
	struct db_apikey k = { 0 };

	k.id = (uint64_t)row_int(row, 0);
	row_str(row, 1, k.prefix, sizeof(k.prefix));
	row_bytes(row, 2, k.hash, AUTHKEY_HASH_LEN);
	k.expiration = row_int(row, 3);
	k.created = row_int(row, 4);
	k.last_seen = row_int(row, 5);
	if (row->err < 0)
		return row->err;
	return cb->apikey(arg, &k);
}

static int pg_load_node(struct pg_row *row, const struct db_load_cb *cb, void *arg)
{
	struct db_node n = { 0 };
	int r;

	n.id = (uint64_t)row_int(row, 0);
	row_bytes(row, 1, n.machine.b, KEY_LEN);
	row_bytes(row, 2, n.key.b, KEY_LEN);
	row_bytes(row, 3, n.disco.b, KEY_LEN);
	row_str(row, 4, n.hostname, sizeof(n.hostname));
	row_str(row, 5, n.given_name, sizeof(n.given_name));
	n.user_id = (uint64_t)row_int(row, 6);
	row_addr(row, 7, &n.ipv4);
	row_addr(row, 8, &n.ipv6);
	n.relay_home = (uint32_t)row_int(row, 10);
	row_str(row, 11, n.os, sizeof(n.os));
	n.auth_key_id = (uint64_t)row_int(row, 13);
	row_str(row, 14, n.register_method, sizeof(n.register_method));
	n.ephemeral = row_int(row, 15) != 0;
	n.expiry = row_int(row, 16);
	n.last_seen = row_int(row, 17);
	n.created = row_int(row, 18);
	if ((r = row->err) < 0 ||
	    (r = db_json_endpoints_parse(row_text(row, 9), &n.endpoints, &n.n_endpoints)) < 0 ||
	    (r = db_json_strv_parse(row_text(row, 12), &n.tags, &n.n_tags)) < 0 ||
	    (r = db_json_prefixes_parse(row_text(row, 19), &n.routes_advertised,
					&n.n_routes_advertised)) < 0 ||
	    (r = db_json_prefixes_parse(row_text(row, 20), &n.routes_approved,
					&n.n_routes_approved)) < 0) {
		db_node_clear(&n);
		return r;
	}
	return cb->node(arg, &n);
}

static int pg_load(struct db *base, const struct db_load_cb *cb, void *arg)
{
	struct db_pg *db = pgd(base);
	int r;

	if ((r = pg_select(db,
			   "SELECT id, name, display_name, email, created_at FROM users "
			   "ORDER BY id",
			   pg_load_user, cb, arg)) < 0 ||
	    (r = pg_select(db,
			   "SELECT id, prefix, hash, user_id, reusable, ephemeral, used, tags, "
			   "expiration, created_at FROM preauth_keys ORDER BY id",
			   pg_load_pak, cb, arg)) < 0 ||
	    (r = pg_select(db,
			   "SELECT id, prefix, hash, expiration, created_at, last_seen "
			   "FROM api_keys ORDER BY id",
			   pg_load_api, cb, arg)) < 0)
		return r;
	return pg_select(db, "SELECT id, " NODE_COLS " FROM nodes ORDER BY id", pg_load_node, cb,
			 arg);
}

/* ---- open and migrate ------------------------------------------------------------------- */

/* One simple-protocol command (it may hold several statements); its message in why. */
static int pg_exec_sql(struct db_pg *db, const char *sql, char *why, size_t whylen)
{
	PGresult *res = PQexec(db->conn, sql);
	bool ok = pg_result_ok(res);

	if (!ok)
		pg_oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), why, whylen);
	PQclear(res);
	return ok ? 0 : -EIO;
}

static int pg_current_version(struct db_pg *db, int *version, char *why, size_t whylen)
{
	PGresult *res = PQexec(db->conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
	char *end;
	long v = -1;

	if (pg_result_ok(res) && PQntuples(res) == 1) {
		v = strtol(PQgetvalue(res, 0, 0), &end, 10);
		if (*end != '\0')
			v = -1;
	} else {
		pg_oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), why, whylen);
	}
	PQclear(res);
	if (v < 0 || v > 1000000)
		return -EIO;
	*version = (int)v;
	return 0;
}

static int pg_record_migration(struct db_pg *db, const struct db_migration *m, char *why,
			       size_t whylen)
{
	char version[16], at[24];
	const char *v[3] = { version, m->name, at };
	PGresult *res;
	bool ok;

	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(at, sizeof(at), "%llu", (unsigned long long)(clock_real_ns() / 1000000000ULL));
	res = PQexecParams(db->conn,
			   "INSERT INTO schema_migrations (version, name, applied_at) "
			   "VALUES ($1::integer, $2, $3::bigint)",
			   3, NULL, v, NULL, NULL, 0);
	if (!(ok = pg_result_ok(res)))
		pg_oneline(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), why, whylen);
	PQclear(res);
	return ok ? 0 : -EIO;
}

/*
 * The same schema_migrations table and rules as db_sqlite. All pending
 * migrations run in one transaction (PostgreSQL's DDL is transactional: a
 * failure leaves the old schema whole), under an advisory lock so that two
 * servers starting at once do not both migrate.
 */
static int pg_migrate(struct db_pg *db, char *err, size_t errlen)
{
	const char *where = db->base.location;
	int last = db_migrations[db_n_migrations - 1].version, have = 0, r = -EIO;
	char why[PG_MSG_MAX] = "";

	/* One simple query: the three run in order, and the first error stops the rest. */
	if (pg_exec_sql(db,
			"BEGIN; SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK "); "
			"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
			"PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
			why, sizeof(why)) < 0 ||
	    pg_current_version(db, &have, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "database %s: cannot read its schema version: %s", where,
			 why);
		goto fail;
	}
	if (have > last) {
		snprintf(err, errlen,
			 "database %s has schema version %d, newer than this weft-server knows "
			 "(%d): run a newer weft-server, or restore a backup",
			 where, have, last);
		r = -EPROTO;
		goto fail;
	}
	for (size_t i = 0; i < db_n_migrations; i++) {
		const struct db_migration *m = &db_migrations[i];

		if (m->version <= have)
			continue;
		if (pg_exec_sql(db, m->pg, why, sizeof(why)) < 0 ||
		    pg_record_migration(db, m, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "database %s: migration %d (%s) failed: %s", where,
				 m->version, m->name, why);
			goto fail;
		}
		log_info("store: %s: applied migration %d (%s)", where, m->version, m->name);
	}
	if (pg_exec_sql(db, "COMMIT", why, sizeof(why)) < 0) {
		snprintf(err, errlen, "database %s: committing the migrations failed: %s", where,
			 why);
		goto fail;
	}
	db->base.version = last;
	return 0;
fail:
	(void)pg_exec_sql(db, "ROLLBACK", why, sizeof(why));
	return r;
}

static int pg_connect(struct db_pg *db, const struct srv_config *cfg, char *err, size_t errlen)
{
	const char *keys[12], *vals[12], *sslmode = srv_config_pg_sslmode(cfg);
	char port[12], why[PG_MSG_MAX];
	size_t n = 0;

	snprintf(port, sizeof(port), "%u", cfg->pg_port);
#define KV(k, v) (keys[n] = (k), vals[n++] = (v))
	KV("host", cfg->pg_host);
	KV("port", port);
	KV("dbname", cfg->pg_name);
	if (cfg->pg_user != NULL)
		KV("user", cfg->pg_user);
	if (cfg->pg_pass != NULL)
		KV("password", cfg->pg_pass);
	if (sslmode != NULL)
		KV("sslmode", sslmode);
	KV("application_name", "weft-server");
	KV("client_encoding", "UTF8");
	KV("connect_timeout", PG_CONNECT_TIMEOUT);
	KV("options", PG_OPTIONS);
#undef KV
	keys[n] = vals[n] = NULL;
	/* expand_dbname 0: a name holding `=' or a URI stays a name, never a conninfo string. */
	db->conn = PQconnectdbParams(keys, vals, 0);
	if (db->conn == NULL) {
		snprintf(err, errlen, "database %s: out of memory", db->base.location);
		return -ENOMEM;
	}
	PQsetNoticeProcessor(db->conn, pg_notice, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		pg_oneline(PQerrorMessage(db->conn), why, sizeof(why));
		snprintf(err, errlen, "cannot connect to database %s: %s", db->base.location, why);
		return -EIO;
	}
	if (PQserverVersion(db->conn) < PG_MIN_SERVER) {
		snprintf(err, errlen,
			 "database %s: PostgreSQL %d is too old, weft-server needs 10 "
			 "or newer",
			 db->base.location, PQserverVersion(db->conn) / 10000);
		return -ENOTSUP;
	}
	return 0;
}

static void pg_close(struct db *base)
{
	struct db_pg *db = pgd(base);

	PQfinish(db->conn);
	free(db);
}

static const struct db_ops pg_ops = {
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.load = pg_load,
	.user_insert = pg_user_insert,
	.user_update = pg_user_update,
	.user_delete = pg_user_delete,
	.preauthkey_insert = pg_preauthkey_insert,
	.preauthkey_update = pg_preauthkey_update,
	.preauthkey_delete = pg_preauthkey_delete,
	.apikey_insert = pg_apikey_insert,
	.apikey_update = pg_apikey_update,
	.apikey_delete = pg_apikey_delete,
	.node_insert = pg_node_insert,
	.node_update = pg_node_update,
	.node_delete = pg_node_delete,
	.policy_get = pg_policy_get,
	.policy_set = pg_policy_set,
};

int db_pg_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
{
	struct db_pg *db;
	char why[PG_MSG_MAX];
	int r;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return -ENOMEM;
	db->base.ops = &pg_ops;
	snprintf(db->base.location, sizeof(db->base.location), "\"%s\" at %s:%u",
		 cfg->pg_name ? cfg->pg_name : "", cfg->pg_host ? cfg->pg_host : "", cfg->pg_port);
	if ((r = pg_connect(db, cfg, err, errlen)) < 0 || (r = pg_migrate(db, err, errlen)) < 0)
		goto fail;
	if (pg_prepare_all(db, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "database %s: %s", db->base.location, why);
		r = -EIO;
		goto fail;
	}
	*out = &db->base;
	return 0;
fail:
	pg_close(&db->base);
	return r;
}

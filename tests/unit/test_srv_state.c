/* SPDX-License-Identifier: ISC */
/*
 * test_srv_state: weft-server's state over a real store: users, pre-auth keys
 * (single-use, expiry, reusable, ephemeral, tags), node registration with
 * unique addresses and names that survive a restart (close and reopen),
 * rename, expire, delete freeing the address, API keys, the schema migration
 * of a fresh store, refusal of a newer schema and of damaged rows, and the
 * store interface's own errors and round trips. The same cases run against
 * SQLite files in a temporary directory (the default) and, with
 * WEFT_TEST_DB=postgres under tests/tools/pg_cluster.sh, against databases in
 * a throwaway PostgreSQL cluster. The clock is the injectable st->now.
 */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#ifdef WEFT_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "core/log.h"
#include "crypto/keys.h"
#include "weft-server/config.h"
#include "weft-server/db.h"
#include "weft-server/state.h"
#include "testutil.h"

static char dir[] = "/tmp/weft-test-srvstate.XXXXXX";
static int test_no;
static int64_t fake_now;
static struct machine_private server_key;

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
	if (v != NULL)
		assert_non_null(*dst);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("`%s' does not contain `%s'", hay, needle);
}

/* ---- the store under test ------------------------------------------------------------------- */

/*
 * A backend as the tests see it: a new empty store per test, and raw SQL on
 * the current one (to look behind the interface, or to damage it).
 */
struct backend {
	const char *name;
	bool is_file;
	/* Points cfg at a new, empty store; it becomes the current one. */
	void (*fresh)(struct srv_config *cfg);
	/* The first column of the first row of sql on the current store (-1: no row). */
	int (*sql_int)(const char *sql);
	void (*sql_exec)(const char *sql);
	/* Stores that cannot be opened are refused with a message naming them. */
	void (*unopenable)(void);
	/* Ends the server's connections from outside (NULL: no connection to lose). */
	void (*cut)(void);
	const char *count_tables; /* SQL: how many of the five tables exist */
	const char *zero_key;	  /* SQL: a 32-byte value of zeros */
};

static const struct backend *be;
/* What the current store's error messages name. */
static char where[300];

static char dbpath[256];

static void sqlite_fresh(struct srv_config *cfg)
{
	cfg->db_type = SRV_DB_SQLITE;
	snprintf(dbpath, sizeof(dbpath), "%s/t%d/db.sqlite", dir, ++test_no);
	set_str(&cfg->sqlite_path, dbpath);
	snprintf(where, sizeof(where), "%s", dbpath);
}

static int sqlite_int(const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int v = -1;

	assert_int_equal(sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static void sqlite_exec(const char *sql)
{
	sqlite3 *h;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(h);
}

/* A file that is not a database is refused, naming the file. */
static void sqlite_unopenable(void)
{
	struct srv_config *cfg;
	struct srv_state *st;
	char err[SRV_ERR_LEN] = "", path[300];
	FILE *f;

	assert_int_equal(srv_config_defaults(&cfg), 0);
	snprintf(path, sizeof(path), "%s/garbage.sqlite", dir);
	assert_non_null(f = fopen(path, "w"));
	for (int i = 0; i < 400; i++)
		fputs("this is not a database ", f);
	fclose(f);
	set_str(&cfg->sqlite_path, path);
	assert_true(srv_state_open(&st, cfg, &server_key, err, sizeof(err)) < 0);
	assert_null(st);
	assert_contains(err, path);
	srv_config_free(cfg);
}

static const struct backend be_sqlite = {
	.name = "sqlite",
	.is_file = true,
	.fresh = sqlite_fresh,
	.sql_int = sqlite_int,
	.sql_exec = sqlite_exec,
	.unopenable = sqlite_unopenable,
	.cut = NULL,
	.count_tables = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
			"('users', 'preauth_keys', 'api_keys', 'nodes', 'policies')",
	.zero_key = "zeroblob(32)",
};

#ifdef WEFT_HAVE_LIBPQ
/* The cluster pg_cluster.sh started: a superuser with a password, over a unix socket. */
static const char *pg_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set: run this through tests/tools/pg_cluster.sh", name);
	return v;
}

static char pgname[32]; /* the current test's database */

static PGconn *pg_connect_as(const char *dbname, const char *pass)
{
	const char *k[] = { "host", "port", "dbname", "user", "password", NULL };
	const char *v[] = { pg_env("WEFT_TEST_PG_HOST"), pg_env("WEFT_TEST_PG_PORT"), dbname,
			    pg_env("WEFT_TEST_PG_USER"), pass, NULL };

	return PQconnectdbParams(k, v, 0);
}

static PGconn *pg_admin(const char *dbname)
{
	PGconn *c = pg_connect_as(dbname, pg_env("WEFT_TEST_PG_PASS"));

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connecting to %s: %s", dbname, PQerrorMessage(c));
	return c;
}

static void pg_exec_on(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
}

static void pg_set_cfg(struct srv_config *cfg, const char *dbname)
{
	cfg->db_type = SRV_DB_POSTGRES;
	set_str(&cfg->pg_host, pg_env("WEFT_TEST_PG_HOST"));
	cfg->pg_port = (uint32_t)atoi(pg_env("WEFT_TEST_PG_PORT"));
	set_str(&cfg->pg_name, dbname);
	set_str(&cfg->pg_user, pg_env("WEFT_TEST_PG_USER"));
	set_str(&cfg->pg_pass, pg_env("WEFT_TEST_PG_PASS"));
	set_str(&cfg->pg_ssl, "false");
}

static void pg_fresh(struct srv_config *cfg)
{
	PGconn *c = pg_admin("postgres");
	char sql[96];

	/* The cluster is this run's own: no database of that name yet. */
	snprintf(pgname, sizeof(pgname), "t%d", ++test_no);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pgname);
	pg_exec_on(c, sql);
	PQfinish(c);
	pg_set_cfg(cfg, pgname);
	snprintf(where, sizeof(where), "\"%s\"", pgname);
}

static int pg_int(const char *sql)
{
	PGconn *c = pg_admin(pgname);
	PGresult *res = PQexec(c, sql);
	int v = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	if (PQntuples(res) > 0)
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return v;
}

static void pg_exec(const char *sql)
{
	PGconn *c = pg_admin(pgname);

	pg_exec_on(c, sql);
	PQfinish(c);
}

/* A missing database and a wrong password: refused, named, and the password never shown. */
static void pg_unopenable(void)
{
	static const char wrong[] = "not-the-password-5f3a";
	struct srv_config *cfg;
	struct srv_state *st;
	char err[SRV_ERR_LEN] = "";

	assert_int_equal(srv_config_defaults(&cfg), 0);
	pg_set_cfg(cfg, "no_such_db");
	assert_true(srv_state_open(&st, cfg, &server_key, err, sizeof(err)) < 0);
	assert_null(st);
	assert_contains(err, "\"no_such_db\"");
	assert_contains(err, "no_such_db\" does not exist");
	assert_null(strstr(err, pg_env("WEFT_TEST_PG_PASS")));

	pg_set_cfg(cfg, "postgres");
	set_str(&cfg->pg_pass, wrong);
	err[0] = '\0';
	assert_true(srv_state_open(&st, cfg, &server_key, err, sizeof(err)) < 0);
	assert_null(st);
	assert_contains(err, "password authentication failed");
	assert_null(strstr(err, wrong));
	assert_null(strchr(err, '\n'));
	srv_config_free(cfg);
}

/* What a server restart or a network cut does to the server's connection. */
static void pg_cut(void)
{
	static const char gone[] = "SELECT COUNT(*) FROM pg_stat_activity "
				   "WHERE application_name = 'weft-server'";
	PGconn *c = pg_admin("postgres");
	time_t deadline = time(NULL) + 10;
	PGresult *res;
	bool left = true;

	pg_exec_on(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		      "WHERE application_name = 'weft-server'");
	/* Terminating is a signal: wait until the backend has really gone. */
	while (left && time(NULL) < deadline) {
		res = PQexec(c, gone);
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		left = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
		PQclear(res);
		if (left)
			usleep(10000);
	}
	assert_false(left);
	PQfinish(c);
}

static const struct backend be_pg = {
	.name = "postgres",
	.is_file = false,
	.fresh = pg_fresh,
	.sql_int = pg_int,
	.sql_exec = pg_exec,
	.unopenable = pg_unopenable,
	.cut = pg_cut,
	.count_tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
			"'public' AND table_name IN ('users', 'preauth_keys', 'api_keys', "
			"'nodes', 'policies')",
	.zero_key = "decode(repeat('00', 32), 'hex')",
};

static const struct backend *be_postgres(void)
{
	return &be_pg;
}
#else
static const struct backend *be_postgres(void)
{
	return NULL;
}
#endif

static int64_t fake_clock(void)
{
	return fake_now;
}

/* One test's world: config, state, and a fresh database file. */
struct world {
	struct srv_config *cfg;
	struct srv_state *st;
	char err[SRV_ERR_LEN];
	/* hook counters */
	unsigned changed, removed, users;
};

static void on_changed(void *arg, struct srv_node *n, uint32_t what)
{
	(void)n;
	(void)what;
	((struct world *)arg)->changed++;
}

static void on_removed(void *arg, struct srv_node *n)
{
	(void)n;
	((struct world *)arg)->removed++;
}

static void on_users(void *arg)
{
	((struct world *)arg)->users++;
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	log_set_level(LOG_LEVEL_WARN);
	keys_generate(server_key.b);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void w_open(struct world *w)
{
	struct srv_state_hooks h = { on_changed, on_removed, on_users };

	w->err[0] = '\0';
	if (srv_state_open(&w->st, w->cfg, &server_key, w->err, sizeof(w->err)) != 0)
		fail_msg("srv_state_open: %s", w->err);
	w->st->now = fake_clock;
	srv_state_set_hooks(w->st, &h, w);
}

/* The server restarts: everything in memory goes, the file stays. */
static void w_reopen(struct world *w)
{
	srv_state_close(w->st);
	w->st = NULL;
	w_open(w);
}

/* A new world over a new store (each test its own). */
static void w_init(struct world *w, const char *v4, const char *v6)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(srv_config_defaults(&w->cfg), 0);
	be->fresh(w->cfg);
	w->cfg->have_v4 = v4 != NULL;
	if (v4 != NULL)
		assert_int_equal(netprefix_parse(v4, &w->cfg->prefix_v4), 0);
	w->cfg->have_v6 = v6 != NULL;
	if (v6 != NULL)
		assert_int_equal(netprefix_parse(v6, &w->cfg->prefix_v6), 0);
	fake_now = (int64_t)time(NULL);
	w_open(w);
}

static void w_fini(struct world *w)
{
	srv_state_close(w->st);
	srv_config_free(w->cfg);
}

static struct srv_user *mkuser(struct world *w, const char *name)
{
	struct srv_user *u;

	if (srv_user_create(w->st, name, NULL, NULL, &u, w->err, sizeof(w->err)) != 0)
		fail_msg("user %s: %s", name, w->err);
	return u;
}

static struct srv_pak *mkpak(struct world *w, struct srv_user *u, bool reusable, bool ephemeral,
			     int64_t expiration, char *const *tags, size_t n_tags,
			     char text[static AUTHKEY_TEXT_MAX])
{
	struct srv_pak *k;

	if (srv_pak_create(w->st, u, reusable, ephemeral, expiration, tags, n_tags, text, &k,
			   w->err, sizeof(w->err)) != 0)
		fail_msg("pre-auth key: %s", w->err);
	return k;
}

static void mkreg(struct srv_registration *r, const char *hostname)
{
	memset(r, 0, sizeof(*r));
	keys_random(r->machine.b, KEY_LEN);
	keys_random(r->key.b, KEY_LEN);
	snprintf(r->hostname, sizeof(r->hostname), "%s", hostname);
	snprintf(r->os, sizeof(r->os), "linux");
}

/* Presents the key text and registers with it, as the node endpoint does. */
static int join(struct world *w, const char *text, const struct srv_registration *r,
		struct srv_node **out)
{
	struct srv_pak *k;
	int rc;

	*out = NULL;
	if ((rc = srv_pak_check(w->st, text, &k, w->err, sizeof(w->err))) < 0)
		return rc;
	return srv_node_register_pak(w->st, r, k, out, w->err, sizeof(w->err));
}

static struct srv_node *join_ok(struct world *w, const char *text, const char *hostname)
{
	struct srv_registration r;
	struct srv_node *n;

	mkreg(&r, hostname);
	if (join(w, text, &r, &n) != 0)
		fail_msg("join %s: %s", hostname, w->err);
	return n;
}

static void assert_mode(const char *path, unsigned mode)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	if ((sb.st_mode & 0777) != mode)
		fail_msg("%s: mode %o, want %o", path, sb.st_mode & 0777, mode);
}

/* ---- schema and store ------------------------------------------------------------------------ */

/* FNV-1a: enough to notice an edit to a released migration. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static void test_fresh_store(void **state)
{
	struct world w;
	char sub[300], wal[300];
	mode_t old = umask(0); /* the mode must not depend on the caller's umask */
	int last = db_migrations[db_n_migrations - 1].version;

	(void)state;
	w_init(&w, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	umask(old);
	assert_int_equal(db_schema_version(w.st->db), last);
	assert_contains(db_location(w.st->db), where);
	mkuser(&w, "alice");
	if (be->is_file) {
		assert_mode(dbpath, 0600);
		snprintf(sub, sizeof(sub), "%s/t%d", dir, test_no);
		assert_mode(sub, 0700);
		/* The WAL, where recent writes live, is as private as the file. */
		snprintf(wal, sizeof(wal), "%s-wal", dbpath);
		if (access(wal, F_OK) == 0)
			assert_mode(wal, 0600);
	}
	w_fini(&w);
	assert_int_equal(be->sql_int("SELECT MAX(version) FROM schema_migrations"), last);
	assert_int_equal(be->sql_int("SELECT COUNT(*) FROM schema_migrations"),
			 (int)db_n_migrations);
	assert_int_equal(be->sql_int(be->count_tables), 5);
	assert_int_equal(be->sql_int("SELECT COUNT(*) FROM users WHERE name = 'alice'"), 1);
	/* Migrations numbered 1, 2, ... in order, each with both dialects. */
	for (size_t i = 0; i < db_n_migrations; i++) {
		assert_int_equal(db_migrations[i].version, (int)i + 1);
		assert_non_null(db_migrations[i].sqlite);
		assert_non_null(db_migrations[i].pg);
	}
	/* Released migrations are never edited: SQLite files made by 0.1 hold this text. */
	assert_int_equal(strlen(db_migrations[0].sqlite), 1739);
	assert_true(fnv1a(db_migrations[0].sqlite) == 0x04617f94b8e1b2f1ULL);
}

static void test_reopen_migrated(void **state)
{
	struct world w;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	mkuser(&w, "alice");
	w_reopen(&w);
	/* Already migrated: nothing applied twice, data kept. */
	assert_non_null(srv_user_by_name(w.st, "alice"));
	w_fini(&w);
	assert_int_equal(be->sql_int("SELECT COUNT(*) FROM schema_migrations"),
			 (int)db_n_migrations);
}

static void test_newer_schema_refused(void **state)
{
	struct world w;
	struct srv_state *st = (struct srv_state *)1;
	char err[SRV_ERR_LEN] = "";
	char sql[200];

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	mkuser(&w, "alice");
	srv_state_close(w.st);
	w.st = NULL;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'future', 0)",
		 db_migrations[db_n_migrations - 1].version + 1);
	be->sql_exec(sql);
	assert_int_equal(srv_state_open(&st, w.cfg, &server_key, err, sizeof(err)), -EPROTO);
	assert_null(st);
	assert_contains(err, "newer");
	assert_contains(err, where);
	/* Refused, not touched. */
	assert_int_equal(be->sql_int("SELECT MAX(version) FROM schema_migrations"),
			 db_migrations[db_n_migrations - 1].version + 1);
	assert_int_equal(be->sql_int("SELECT COUNT(*) FROM users"), 1);
	srv_config_free(w.cfg);
}

static void test_damaged_store_refused(void **state)
{
	struct srv_config *cfg;
	struct srv_state *st;
	char err[SRV_ERR_LEN] = "", sql[400];

	(void)state;
	be->unopenable();

	/* A stored value that does not parse is damage, not a crash. */
	assert_int_equal(srv_config_defaults(&cfg), 0);
	be->fresh(cfg);
	assert_int_equal(srv_state_open(&st, cfg, &server_key, err, sizeof(err)), 0);
	srv_state_close(st);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users (name, created_at) VALUES ('u', 0);"
		 "INSERT INTO nodes (machine_key, node_key, disco_key, hostname, given_name, "
		 "user_id, ipv4, created_at) VALUES (%s, %s, %s, 'h', 'h', 1, 'not-an-address', 0)",
		 be->zero_key, be->zero_key, be->zero_key);
	be->sql_exec(sql);
	assert_true(srv_state_open(&st, cfg, &server_key, err, sizeof(err)) < 0);
	assert_null(st);
	assert_contains(err, "damaged");
	assert_contains(err, where);
	srv_config_free(cfg);
}

/* ---- users ---------------------------------------------------------------------------------- */

static void test_users(void **state)
{
	static const char *const bad[] = { "", "a b", "123", "x/y", "caf\xc3\xa9" };
	struct world w;
	struct srv_user *alice, *bob, *u;
	struct srv_node *n;
	char text[AUTHKEY_TEXT_MAX], ref[24];
	uint64_t alice_id;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	assert_int_equal(srv_user_create(w.st, "alice", "Alice A", "alice@example.com", &alice,
					 w.err, sizeof(w.err)),
			 0);
	assert_true(alice->rec.id > 0);
	assert_int_equal(alice->rec.created, fake_now);
	alice_id = alice->rec.id;
	assert_true(w.users > 0);
	/* Duplicates refused. */
	assert_int_equal(srv_user_create(w.st, "alice", NULL, NULL, &u, w.err, sizeof(w.err)),
			 -EEXIST);
	assert_null(u);
	assert_contains(w.err, "alice");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(srv_user_create(w.st, bad[i], NULL, NULL, &u, w.err,
						 sizeof(w.err)),
				 -EINVAL);
	bob = mkuser(&w, "bob");
	assert_int_equal(w.st->n_users, 2);

	/* Rename: old name free, new name taken, the other user's name refused. */
	assert_int_equal(srv_user_rename(w.st, alice, "ann", w.err, sizeof(w.err)), 0);
	assert_null(srv_user_by_name(w.st, "alice"));
	assert_ptr_equal(srv_user_by_name(w.st, "ann"), alice);
	assert_int_equal(srv_user_rename(w.st, alice, "bob", w.err, sizeof(w.err)), -EEXIST);
	assert_string_equal(alice->rec.name, "ann");
	assert_int_equal(srv_user_rename(w.st, alice, "no way", w.err, sizeof(w.err)), -EINVAL);
	snprintf(ref, sizeof(ref), "%llu", (unsigned long long)alice_id);
	assert_ptr_equal(srv_user_by_ref(w.st, ref), alice);
	assert_ptr_equal(srv_user_by_ref(w.st, "bob"), bob);
	assert_null(srv_user_by_ref(w.st, "999999"));

	/* Survives a restart, with the same ID and fields. */
	w_reopen(&w);
	alice = srv_user_by_name(w.st, "ann");
	assert_non_null(alice);
	assert_int_equal(alice->rec.id, alice_id);
	assert_string_equal(alice->rec.display_name, "Alice A");
	assert_string_equal(alice->rec.email, "alice@example.com");
	assert_null(srv_user_by_name(w.st, "alice"));
	bob = srv_user_by_name(w.st, "bob");
	assert_non_null(bob);

	/* A user who owns nodes cannot be deleted. */
	mkpak(&w, alice, false, false, 0, NULL, 0, text);
	n = join_ok(&w, text, "laptop");
	assert_int_equal(alice->n_nodes, 1);
	assert_int_equal(srv_user_delete(w.st, alice, w.err, sizeof(w.err)), -EPERM);
	assert_contains(w.err, "node");
	w_reopen(&w); /* the count is rebuilt from the store */
	alice = srv_user_by_name(w.st, "ann");
	assert_int_equal(alice->n_nodes, 1);
	assert_int_equal(srv_user_delete(w.st, alice, w.err, sizeof(w.err)), -EPERM);
	n = srv_node_by_id(w.st, w.st->nodes[0]->rec.id);
	assert_int_equal(srv_node_delete(w.st, n, w.err, sizeof(w.err)), 0);
	assert_int_equal(alice->n_nodes, 0);
	assert_int_equal(srv_user_delete(w.st, alice, w.err, sizeof(w.err)), 0);
	assert_null(srv_user_by_name(w.st, "ann"));
	assert_null(srv_user_by_id(w.st, alice_id));
	/* Its pre-auth keys went with it. */
	assert_int_equal(w.st->n_paks, 0);
	assert_int_equal(srv_pak_check(w.st, text, &(struct srv_pak *){ NULL }, w.err,
				       sizeof(w.err)),
			 -EPERM);
	w_reopen(&w);
	assert_null(srv_user_by_name(w.st, "ann"));
	assert_int_equal(w.st->n_users, 1);
	assert_int_equal(w.st->n_paks, 0);
	/* The name is free again (a new ID). */
	u = mkuser(&w, "ann");
	assert_true(u->rec.id != alice_id);
	w_fini(&w);
}

/* ---- pre-auth keys -------------------------------------------------------------------------- */

static void test_pak_single_use(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_pak *k;
	struct srv_node *n;
	struct srv_registration r;
	char text[AUTHKEY_TEXT_MAX];

	(void)state;
	w_init(&w, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	u = mkuser(&w, "alice");
	mkpak(&w, u, false, false, 0, NULL, 0, text);
	assert_true(strncmp(text, "wkey-auth-", 10) == 0);
	n = join_ok(&w, text, "one");
	assert_int_equal(n->rec.user_id, u->rec.id);
	assert_string_equal(n->rec.register_method, "authkey");
	/* Used twice: refused. */
	mkreg(&r, "two");
	assert_int_equal(join(&w, text, &r, &n), -EPERM);
	assert_contains(w.err, "already used");
	assert_int_equal(w.st->n_nodes, 1);
	/* Still used after a restart. */
	w_reopen(&w);
	assert_int_equal(join(&w, text, &r, &n), -EPERM);
	assert_contains(w.err, "already used");
	/* The machine that used it may log in again with it? No: the key is spent. */
	k = w.st->paks[0];
	assert_true(k->rec.used);
	/* Wrong key: a made-up one, and a real prefix with a wrong secret. */
	assert_int_equal(join(&w, "wkey-auth-000000000000-00000000000000000000000000000000000000000"
				  "0000000",
			      &r, &n),
			 -EPERM);
	assert_contains(w.err, "invalid");
	text[strlen(text) - 1] = text[strlen(text) - 1] == '0' ? '1' : '0';
	assert_int_equal(join(&w, text, &r, &n), -EPERM);
	assert_contains(w.err, "invalid");
	assert_int_equal(join(&w, "", &r, &n), -EPERM);
	assert_int_equal(w.st->n_nodes, 1);
	w_fini(&w);
}

static void test_pak_expiry(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_pak *k, *k2;
	struct srv_node *n;
	struct srv_registration r;
	char text[AUTHKEY_TEXT_MAX], text2[AUTHKEY_TEXT_MAX];

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	u = mkuser(&w, "alice");
	/* An expiration in the past (or now) is refused at creation. */
	assert_int_equal(srv_pak_create(w.st, u, true, false, fake_now, NULL, 0, text, &k, w.err,
					sizeof(w.err)),
			 -EINVAL);
	assert_null(k);
	k = mkpak(&w, u, true, false, fake_now + 60, NULL, 0, text);
	assert_int_equal(srv_pak_check(w.st, text, &k2, w.err, sizeof(w.err)), 0);
	assert_ptr_equal(k2, k);
	fake_now += 60;
	assert_int_equal(srv_pak_check(w.st, text, &k2, w.err, sizeof(w.err)), -EPERM);
	assert_null(k2);
	assert_contains(w.err, "expired");
	mkreg(&r, "late");
	assert_int_equal(join(&w, text, &r, &n), -EPERM);

	/* Expired by the admin: at once, and after a restart. */
	k = mkpak(&w, u, true, false, 0, NULL, 0, text2);
	(void)join_ok(&w, text2, "early");
	assert_int_equal(srv_pak_expire(w.st, k, w.err, sizeof(w.err)), 0);
	assert_int_equal(k->rec.expiration, fake_now);
	assert_int_equal(join(&w, text2, &r, &n), -EPERM);
	assert_contains(w.err, "expired");
	assert_int_equal(srv_pak_expire(w.st, k, w.err, sizeof(w.err)), 0); /* idempotent */
	fake_now += 1;
	w_reopen(&w);
	assert_int_equal(join(&w, text2, &r, &n), -EPERM);
	assert_contains(w.err, "expired");
	/* Deleting a key leaves the node it registered. */
	k = srv_pak_by_id(w.st, w.st->paks[1]->rec.id);
	assert_non_null(k);
	assert_int_equal(w.st->n_nodes, 1);
	assert_int_equal(w.st->nodes[0]->rec.auth_key_id, k->rec.id);
	assert_int_equal(srv_pak_delete(w.st, k, w.err, sizeof(w.err)), 0);
	assert_int_equal(w.st->n_nodes, 1);
	assert_int_equal(w.st->nodes[0]->rec.auth_key_id, 0);
	assert_int_equal(srv_node_rename(w.st, w.st->nodes[0], "still-here", w.err,
					 sizeof(w.err)),
			 0);
	w_reopen(&w);
	assert_int_equal(w.st->n_paks, 1);
	assert_int_equal(w.st->n_nodes, 1);
	w_fini(&w);
}

static void test_pak_reusable_ephemeral_tags(void **state)
{
	char t1[] = "tag:server", t2[] = "tag:prod", b1[] = "server", b2[] = "tag:a", b3[] = "tag:";
	char *tags[] = { t1, t2 };
	char *bad1[] = { b1 }, *bad2[] = { b2, b2 }, *bad3[] = { b3 };
	struct world w;
	struct srv_user *u;
	struct srv_pak *k;
	struct srv_node *n[3];
	char text[AUTHKEY_TEXT_MAX], etext[AUTHKEY_TEXT_MAX];
	uint64_t id0;

	(void)state;
	w_init(&w, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	w.cfg->node_expiry_ns = 90ULL * 86400 * 1000000000ULL;
	u = mkuser(&w, "ops");
	k = mkpak(&w, u, true, false, 0, tags, 2, text);
	assert_int_equal(k->rec.n_tags, 2);
	for (int i = 0; i < 3; i++) {
		char host[16];
		snprintf(host, sizeof(host), "web%d", i);
		n[i] = join_ok(&w, text, host);
		/* Tags carried to the node; tagged nodes' keys do not expire. */
		assert_int_equal(n[i]->rec.n_tags, 2);
		assert_string_equal(n[i]->rec.tags[0], "tag:server");
		assert_string_equal(n[i]->rec.tags[1], "tag:prod");
		assert_null(n[i]->rec.tags[2]);
		assert_int_equal(n[i]->rec.expiry, 0);
		assert_false(n[i]->rec.ephemeral);
	}
	assert_false(k->rec.used && !k->rec.reusable);
	assert_int_equal(u->n_nodes, 3);
	id0 = n[0]->rec.id;

	/* Ephemeral key: the node is ephemeral; untagged, its key expires with node.expiry. */
	mkpak(&w, u, false, true, 0, NULL, 0, etext);
	n[0] = join_ok(&w, etext, "ci-runner");
	assert_true(n[0]->rec.ephemeral);
	assert_int_equal(n[0]->rec.n_tags, 0);
	assert_int_equal(n[0]->rec.expiry, fake_now + 90LL * 86400);
	assert_true(n[0]->ephemeral_due > fake_now);

	/* After a restart: tags and flags as stored. */
	w_reopen(&w);
	n[1] = srv_node_by_id(w.st, id0);
	assert_non_null(n[1]);
	assert_int_equal(n[1]->rec.n_tags, 2);
	assert_string_equal(n[1]->rec.tags[1], "tag:prod");
	k = w.st->paks[0];
	assert_true(k->rec.reusable);
	assert_int_equal(k->rec.n_tags, 2);
	assert_true(w.st->paks[1]->rec.ephemeral);
	(void)join_ok(&w, text, "web3"); /* still reusable */
	u = srv_user_by_name(w.st, "ops");

	/* Invalid tags refused at creation. */
	assert_int_equal(srv_pak_create(w.st, u, true, false, 0, bad1, 1, text, &k, w.err,
					sizeof(w.err)),
			 -EINVAL);
	assert_int_equal(srv_pak_create(w.st, u, true, false, 0, bad2, 2, text, &k, w.err,
					sizeof(w.err)),
			 -EINVAL);
	assert_contains(w.err, "twice");
	assert_int_equal(srv_pak_create(w.st, u, true, false, 0, bad3, 1, text, &k, w.err,
					sizeof(w.err)),
			 -EINVAL);
	w_fini(&w);
}

static void test_ephemeral_inactivity(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_node *n, *keep;
	char text[AUTHKEY_TEXT_MAX];
	int64_t timeout;
	uint64_t id;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	timeout = (int64_t)(w.cfg->ephemeral_inactivity_ns / 1000000000ULL);
	u = mkuser(&w, "ci");
	mkpak(&w, u, true, true, 0, NULL, 0, text);
	n = join_ok(&w, text, "runner");
	keep = join_ok(&w, text, "runner");
	assert_string_equal(keep->rec.given_name, "runner-1");
	id = n->rec.id;
	srv_node_set_online(w.st, keep, true);
	fake_now += timeout - 1;
	srv_state_tick(w.st);
	assert_non_null(srv_node_by_id(w.st, id));
	fake_now += 2;
	srv_state_tick(w.st);
	assert_null(srv_node_by_id(w.st, id));
	assert_int_equal(w.removed, 1);
	/* Online ephemeral nodes stay. */
	assert_int_equal(w.st->n_nodes, 1);
	assert_ptr_equal(w.st->nodes[0], keep);
	/* Going offline starts the clock again. */
	srv_node_set_online(w.st, keep, false);
	assert_int_equal(keep->rec.last_seen, fake_now);
	fake_now += timeout + 1;
	srv_state_tick(w.st);
	assert_int_equal(w.st->n_nodes, 0);
	w_reopen(&w);
	assert_int_equal(w.st->n_nodes, 0);
	w_fini(&w);
}

/* ---- nodes ---------------------------------------------------------------------------------- */

struct saved_node {
	uint64_t id;
	struct netaddr v4, v6;
	char name[DB_NAME_MAX + 1];
	struct machine_public machine;
};

static void test_register_unique_stable(void **state)
{
	enum { N = 60 };
	struct world w;
	struct srv_user *u;
	struct srv_node *n, *again;
	struct srv_registration r, r2;
	struct saved_node saved[N + 1];
	char text[AUTHKEY_TEXT_MAX], name[16];

	(void)state;
	w_init(&w, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	u = mkuser(&w, "alice");
	mkpak(&w, u, true, false, 0, NULL, 0, text);
	for (int i = 0; i < N; i++) {
		/* Some hostnames repeat, to exercise naming as well. */
		snprintf(name, sizeof(name), "Host %d", i % 7);
		mkreg(&r, name);
		if (join(&w, text, &r, &n) != 0)
			fail_msg("%s", w.err);
		saved[i].id = n->rec.id;
		saved[i].v4 = n->rec.ipv4;
		saved[i].v6 = n->rec.ipv6;
		saved[i].machine = r.machine;
		snprintf(saved[i].name, sizeof(saved[i].name), "%s", n->rec.given_name);
		assert_int_equal(n->rec.ipv4.family, NETADDR_V4);
		assert_int_equal(n->rec.ipv6.family, NETADDR_V6);
		assert_true(netprefix_contains(&w.cfg->prefix_v4, &n->rec.ipv4));
		assert_true(netprefix_contains(&w.cfg->prefix_v6, &n->rec.ipv6));
		assert_ptr_equal(srv_node_by_machine(w.st, &r.machine), n);
		assert_ptr_equal(srv_node_by_key(w.st, &r.key), n);
	}
	assert_true(w.changed >= N);
	assert_string_equal(saved[0].name, "host-0");
	assert_string_equal(saved[7].name, "host-0-1");
	assert_string_equal(saved[14].name, "host-0-2");
	/* Never two nodes one address, or one name. */
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++) {
			assert_false(netaddr_eq(&saved[i].v4, &saved[j].v4));
			assert_false(netaddr_eq(&saved[i].v6, &saved[j].v6));
			assert_string_not_equal(saved[i].name, saved[j].name);
		}

	/* A restart keeps every node's ID, addresses and name ... */
	w_reopen(&w);
	assert_int_equal(w.st->n_nodes, N);
	for (int i = 0; i < N; i++) {
		n = srv_node_by_id(w.st, saved[i].id);
		assert_non_null(n);
		assert_true(netaddr_eq(&n->rec.ipv4, &saved[i].v4));
		assert_true(netaddr_eq(&n->rec.ipv6, &saved[i].v6));
		assert_string_equal(n->rec.given_name, saved[i].name);
		assert_ptr_equal(srv_node_by_machine(w.st, &saved[i].machine), n);
	}
	assert_int_equal(srv_user_by_name(w.st, "alice")->n_nodes, N);
	/* ... and a node registered after it gets an address nobody has. */
	mkreg(&r, "Host 0");
	if (join(&w, text, &r, &n) != 0)
		fail_msg("%s", w.err);
	for (int i = 0; i < N; i++) {
		assert_false(netaddr_eq(&n->rec.ipv4, &saved[i].v4));
		assert_false(netaddr_eq(&n->rec.ipv6, &saved[i].v6));
		assert_string_not_equal(n->rec.given_name, saved[i].name);
	}

	/* The same machine logging in again keeps ID, addresses and name; new node key. */
	mkreg(&r2, "renamed-host");
	r2.machine = saved[3].machine;
	assert_int_equal(join(&w, text, &r2, &again), 0);
	assert_int_equal(again->rec.id, saved[3].id);
	assert_true(netaddr_eq(&again->rec.ipv4, &saved[3].v4));
	assert_string_equal(again->rec.given_name, saved[3].name);
	assert_string_equal(again->rec.hostname, "renamed-host");
	assert_memory_equal(again->rec.key.b, r2.key.b, KEY_LEN);
	assert_int_equal(w.st->n_nodes, N + 1);
	/* A node key held by another machine is refused. */
	mkreg(&r, "thief");
	r.key = r2.key;
	assert_int_equal(join(&w, text, &r, &n), -EEXIST);
	assert_int_equal(w.st->n_nodes, N + 1);
	w_reopen(&w);
	again = srv_node_by_id(w.st, saved[3].id);
	assert_memory_equal(again->rec.key.b, r2.key.b, KEY_LEN);
	assert_int_equal(w.st->n_nodes, N + 1);
	w_fini(&w);
}

static void test_register_interactive(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_node *n;
	struct srv_registration r;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	u = mkuser(&w, "bob");
	mkreg(&r, "desk");
	assert_int_equal(srv_node_register_user(w.st, &r, u, &n, w.err, sizeof(w.err)), 0);
	assert_string_equal(n->rec.register_method, "cli");
	assert_int_equal(n->rec.auth_key_id, 0);
	assert_int_equal(n->rec.ipv6.family, NETADDR_NONE); /* no v6 prefix */
	assert_int_equal(u->n_nodes, 1);
	w_reopen(&w);
	assert_int_equal(w.st->n_nodes, 1);
	assert_int_equal(w.st->nodes[0]->rec.ipv6.family, NETADDR_NONE);
	w_fini(&w);
}

static void test_rename(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_node *a, *b, *c;
	char text[AUTHKEY_TEXT_MAX];
	uint64_t ida;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	u = mkuser(&w, "alice");
	mkpak(&w, u, true, false, 0, NULL, 0, text);
	a = join_ok(&w, text, "laptop");
	b = join_ok(&w, text, "laptop");
	assert_string_equal(a->rec.given_name, "laptop");
	assert_string_equal(b->rec.given_name, "laptop-1");
	ida = a->rec.id;
	assert_int_equal(srv_node_rename(w.st, a, "db", w.err, sizeof(w.err)), 0);
	assert_string_equal(a->rec.given_name, "db");
	assert_int_equal(srv_node_rename(w.st, b, "db", w.err, sizeof(w.err)), -EEXIST);
	assert_string_equal(b->rec.given_name, "laptop-1");
	assert_int_equal(srv_node_rename(w.st, a, "db", w.err, sizeof(w.err)), 0); /* no-op */
	assert_int_equal(srv_node_rename(w.st, b, "Bad_Name", w.err, sizeof(w.err)), -EINVAL);
	assert_int_equal(srv_node_rename(w.st, b, "", w.err, sizeof(w.err)), -EINVAL);
	assert_int_equal(srv_node_rename(w.st, b, "-x", w.err, sizeof(w.err)), -EINVAL);
	/* The old name is free for the next node; the new one is taken. */
	c = join_ok(&w, text, "laptop");
	assert_string_equal(c->rec.given_name, "laptop");
	c = join_ok(&w, text, "db");
	assert_string_equal(c->rec.given_name, "db-1");
	w_reopen(&w);
	a = srv_node_by_id(w.st, ida);
	assert_string_equal(a->rec.given_name, "db");
	c = join_ok(&w, text, "db");
	assert_string_equal(c->rec.given_name, "db-2");
	w_fini(&w);
}

static void test_expire(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_node *n, *m, *e;
	char text[AUTHKEY_TEXT_MAX], etext[AUTHKEY_TEXT_MAX];
	struct srv_registration r;
	uint64_t id, eid;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	u = mkuser(&w, "alice");
	mkpak(&w, u, true, false, 0, NULL, 0, text);
	n = join_ok(&w, text, "a");
	m = join_ok(&w, text, "b");
	id = n->rec.id;
	assert_false(srv_node_is_expired(w.st, n));
	/* Now: expired and gone from peers at once. */
	assert_int_equal(srv_node_expire(w.st, n, 0, w.err, sizeof(w.err)), 0);
	assert_true(srv_node_is_expired(w.st, n));
	assert_true(n->gone);
	assert_int_equal(w.removed, 1);
	/* Later: expires when the clock passes it (tick). */
	assert_int_equal(srv_node_expire(w.st, m, fake_now + 100, w.err, sizeof(w.err)), 0);
	assert_false(srv_node_is_expired(w.st, m));
	srv_state_tick(w.st);
	assert_false(m->gone);
	fake_now += 100;
	srv_state_tick(w.st);
	assert_true(m->gone);
	assert_int_equal(w.removed, 2);
	/* Stored: still expired after a restart. */
	w_reopen(&w);
	n = srv_node_by_id(w.st, id);
	assert_true(srv_node_is_expired(w.st, n));
	assert_true(n->gone);
	u = srv_user_by_name(w.st, "alice");
	/* Logging in again with a key brings it back, same node. */
	mkreg(&r, "a");
	r.machine = n->rec.machine;
	assert_int_equal(join(&w, text, &r, &n), 0);
	assert_int_equal(n->rec.id, id);
	assert_false(srv_node_is_expired(w.st, n));
	assert_false(n->gone);
	/* An expired ephemeral node is deleted outright. */
	mkpak(&w, u, false, true, 0, NULL, 0, etext);
	e = join_ok(&w, etext, "eph");
	eid = e->rec.id;
	assert_int_equal(srv_node_expire(w.st, e, 0, w.err, sizeof(w.err)), 0);
	assert_null(srv_node_by_id(w.st, eid));
	w_reopen(&w);
	assert_null(srv_node_by_id(w.st, eid));
	w_fini(&w);
}

static void test_delete_frees_address(void **state)
{
	struct world w;
	struct srv_user *u;
	struct srv_node *a, *b, *c;
	struct srv_registration r;
	struct srv_pak *single;
	char text[AUTHKEY_TEXT_MAX], stext[AUTHKEY_TEXT_MAX];
	struct netaddr freed4, freed6;

	(void)state;
	/* Two IPv4 addresses (.1, .2) and three IPv6 ones. */
	w_init(&w, "100.64.0.0/30", "fd7a:115c:a1e0::100/126");
	u = mkuser(&w, "alice");
	mkpak(&w, u, true, false, 0, NULL, 0, text);
	a = join_ok(&w, text, "a");
	b = join_ok(&w, text, "b");
	assert_false(netaddr_eq(&a->rec.ipv4, &b->rec.ipv4));
	/* Full: refused with a clear message, nothing stored, the single-use key not spent. */
	single = mkpak(&w, u, false, false, 0, NULL, 0, stext);
	mkreg(&r, "c");
	assert_int_equal(join(&w, stext, &r, &c), -ENOSPC);
	assert_null(c);
	assert_contains(w.err, "prefixes.v4");
	assert_false(single->rec.used);
	assert_int_equal(w.st->n_nodes, 2);
	assert_int_equal(u->n_nodes, 2);
	w_reopen(&w);
	assert_int_equal(w.st->n_nodes, 2);
	assert_int_equal(join(&w, stext, &r, &c), -ENOSPC);

	/* Deleting a node frees its addresses for the next one. */
	a = w.st->nodes[0];
	freed4 = a->rec.ipv4;
	freed6 = a->rec.ipv6;
	assert_int_equal(srv_node_delete(w.st, a, w.err, sizeof(w.err)), 0);
	assert_int_equal(w.st->n_nodes, 1);
	assert_int_equal(srv_user_by_name(w.st, "alice")->n_nodes, 1);
	assert_int_equal(join(&w, stext, &r, &c), 0);
	assert_true(netaddr_eq(&c->rec.ipv4, &freed4));
	assert_false(netaddr_eq(&c->rec.ipv6, &w.st->nodes[0]->rec.ipv6));
	(void)freed6;
	w_reopen(&w);
	assert_int_equal(w.st->n_nodes, 2);
	assert_false(netaddr_eq(&w.st->nodes[0]->rec.ipv4, &w.st->nodes[1]->rec.ipv4));
	/* Deleted after a restart too: the allocator was rebuilt from the store. */
	b = w.st->nodes[1];
	freed4 = b->rec.ipv4;
	assert_int_equal(srv_node_delete(w.st, b, w.err, sizeof(w.err)), 0);
	c = join_ok(&w, text, "d");
	assert_true(netaddr_eq(&c->rec.ipv4, &freed4));
	mkreg(&r, "e");
	assert_int_equal(join(&w, text, &r, &c), -ENOSPC);
	w_fini(&w);
}

/* A node moved to another user, then its first user (whose key registered it) deleted. */
static void test_move_then_delete_user(void **state)
{
	struct world w;
	struct srv_user *alice, *bob;
	struct srv_node *n;
	char text[AUTHKEY_TEXT_MAX];
	uint64_t id;

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	alice = mkuser(&w, "alice");
	bob = mkuser(&w, "bob");
	mkpak(&w, alice, false, false, 0, NULL, 0, text);
	n = join_ok(&w, text, "box");
	id = n->rec.id;
	assert_int_equal(srv_node_move(w.st, n, bob, w.err, sizeof(w.err)), 0);
	assert_int_equal(alice->n_nodes, 0);
	assert_int_equal(bob->n_nodes, 1);
	assert_int_equal(srv_user_delete(w.st, alice, w.err, sizeof(w.err)), 0);
	/* The node keeps working: its record no longer points at the deleted key. */
	assert_int_equal(n->rec.auth_key_id, 0);
	if (srv_node_rename(w.st, n, "box2", w.err, sizeof(w.err)) != 0)
		fail_msg("rename after the key's user was deleted: %s", w.err);
	w_reopen(&w);
	n = srv_node_by_id(w.st, id);
	assert_non_null(n);
	assert_string_equal(n->rec.given_name, "box2");
	bob = srv_user_by_name(w.st, "bob");
	assert_int_equal(n->rec.user_id, bob->rec.id);
	w_fini(&w);
}

/* ---- API keys ------------------------------------------------------------------------------- */

static void test_apikeys(void **state)
{
	struct world w;
	struct srv_apikey *k, *k2, *k3;
	char text[AUTHKEY_TEXT_MAX], text2[AUTHKEY_TEXT_MAX], text3[AUTHKEY_TEXT_MAX];
	char wrong[AUTHKEY_TEXT_MAX + 8], prefix[AUTHKEY_PREFIX_LEN + 1];

	(void)state;
	w_init(&w, "100.64.0.0/10", NULL);
	assert_int_equal(srv_apikey_create(w.st, 0, text, &k, w.err, sizeof(w.err)), 0);
	assert_true(strncmp(text, "wkey-api-", 9) == 0);
	assert_true(srv_apikey_check(w.st, text));
	assert_int_equal(k->rec.last_seen, fake_now);
	/* Wrong keys: one digit off, a pre-auth-shaped key, garbage, empty. */
	snprintf(wrong, sizeof(wrong), "%s", text);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'a' ? 'b' : 'a';
	assert_false(srv_apikey_check(w.st, wrong));
	snprintf(wrong, sizeof(wrong), "wkey-auth-%s", text + 9);
	assert_false(srv_apikey_check(w.st, wrong));
	assert_false(srv_apikey_check(w.st, "Bearer x"));
	assert_false(srv_apikey_check(w.st, ""));
	/* Expiry in the past refused; a future one passes. */
	assert_int_equal(srv_apikey_create(w.st, fake_now - 1, text2, &k2, w.err, sizeof(w.err)),
			 -EINVAL);
	assert_null(k2);
	assert_int_equal(srv_apikey_create(w.st, fake_now + 10, text2, &k2, w.err, sizeof(w.err)),
			 0);
	assert_true(srv_apikey_check(w.st, text2));
	fake_now += 10;
	assert_false(srv_apikey_check(w.st, text2));
	/* Admin expiry. */
	assert_int_equal(srv_apikey_create(w.st, 0, text3, &k3, w.err, sizeof(w.err)), 0);
	assert_true(srv_apikey_check(w.st, text3));
	assert_int_equal(srv_apikey_expire(w.st, k3, w.err, sizeof(w.err)), 0);
	assert_false(srv_apikey_check(w.st, text3));
	/* Last use is recorded to the minute. */
	fake_now += 30;
	assert_true(srv_apikey_check(w.st, text));
	assert_int_equal(k->rec.last_seen, fake_now - 40);
	fake_now += 30;
	assert_true(srv_apikey_check(w.st, text));
	assert_int_equal(k->rec.last_seen, fake_now);
	snprintf(prefix, sizeof(prefix), "%s", k->rec.prefix);

	/* After a restart: the same verdicts. */
	w_reopen(&w);
	assert_int_equal(w.st->n_apikeys, 3);
	assert_true(srv_apikey_check(w.st, text));
	assert_false(srv_apikey_check(w.st, text2));
	assert_false(srv_apikey_check(w.st, text3));
	k = srv_apikey_by_prefix(w.st, prefix);
	assert_non_null(k);
	assert_int_equal(k->rec.last_seen, fake_now);
	/* Deleted: gone, here and after a restart. */
	assert_int_equal(srv_apikey_delete(w.st, k, w.err, sizeof(w.err)), 0);
	assert_false(srv_apikey_check(w.st, text));
	w_reopen(&w);
	assert_false(srv_apikey_check(w.st, text));
	assert_int_equal(w.st->n_apikeys, 2);
	w_fini(&w);
}

/* ---- the store interface itself ------------------------------------------------------------ */

#define LOAD_MAX 8

/* Everything db_load handed out, owned here. */
struct loaded {
	struct db_user users[LOAD_MAX];
	struct db_preauthkey paks[LOAD_MAX];
	struct db_apikey apis[LOAD_MAX];
	struct db_node nodes[LOAD_MAX];
	size_t n_users, n_paks, n_apis, n_nodes;
};

static int ld_user(void *arg, struct db_user *u)
{
	struct loaded *l = arg;

	assert_true(l->n_users < LOAD_MAX);
	l->users[l->n_users++] = *u;
	return 0;
}

static int ld_pak(void *arg, struct db_preauthkey *k)
{
	struct loaded *l = arg;

	assert_true(l->n_paks < LOAD_MAX);
	l->paks[l->n_paks++] = *k;
	return 0;
}

static int ld_api(void *arg, struct db_apikey *k)
{
	struct loaded *l = arg;

	assert_true(l->n_apis < LOAD_MAX);
	l->apis[l->n_apis++] = *k;
	return 0;
}

static int ld_node(void *arg, struct db_node *n)
{
	struct loaded *l = arg;

	assert_true(l->n_nodes < LOAD_MAX);
	l->nodes[l->n_nodes++] = *n;
	return 0;
}

static void load_all(struct db *db, struct loaded *l)
{
	static const struct db_load_cb cb = { ld_user, ld_pak, ld_api, ld_node };

	memset(l, 0, sizeof(*l));
	assert_int_equal(db_load(db, &cb, l), 0);
}

static void loaded_clear(struct loaded *l)
{
	for (size_t i = 0; i < l->n_paks; i++)
		db_preauthkey_clear(&l->paks[i]);
	for (size_t i = 0; i < l->n_nodes; i++)
		db_node_clear(&l->nodes[i]);
}

static void assert_endpoints(const struct db_node *n, const char *const *want, size_t count)
{
	char buf[NETENDPOINT_STRLEN];

	assert_int_equal(n->n_endpoints, count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(netendpoint_format(&n->endpoints[i], buf, sizeof(buf)), want[i]);
}

static void assert_prefixes(const struct netprefix *p, size_t n, const char *const *want,
			    size_t count)
{
	char buf[NETPREFIX_STRLEN];

	assert_int_equal(n, count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(netprefix_format(&p[i], buf, sizeof(buf)), want[i]);
}

/* A node with every field set, the 64-bit and top-of-range values included. */
static void full_node(struct db_node *n, uint64_t user_id, uint64_t pak_id)
{
	static const char *const eps[] = { "192.0.2.1:41641", "[2001:db8::1]:7" };
	static const char *const adv[] = { "10.1.0.0/24", "::/0" };

	memset(n, 0, sizeof(*n));
	keys_random(n->machine.b, KEY_LEN);
	keys_random(n->key.b, KEY_LEN);
	keys_random(n->disco.b, KEY_LEN);
	snprintf(n->hostname, sizeof(n->hostname), "Caf\xc3\xa9's \"laptop\"");
	snprintf(n->given_name, sizeof(n->given_name), "cafe-s-laptop");
	n->user_id = user_id;
	assert_int_equal(netaddr_parse("100.64.0.7", &n->ipv4), 0);
	assert_int_equal(netaddr_parse("fd7a:115c:a1e0::7", &n->ipv6), 0);
	assert_non_null(n->endpoints = calloc(2, sizeof(*n->endpoints)));
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(netendpoint_parse(eps[i], &n->endpoints[i]), 0);
	n->n_endpoints = 2;
	n->relay_home = 0xfffffff0u;
	snprintf(n->os, sizeof(n->os), "linux");
	assert_non_null(n->tags = calloc(3, sizeof(*n->tags)));
	assert_non_null(n->tags[0] = strdup("tag:web"));
	assert_non_null(n->tags[1] = strdup("tag:\"q\""));
	n->n_tags = 2;
	n->auth_key_id = pak_id;
	snprintf(n->register_method, sizeof(n->register_method), "authkey");
	n->ephemeral = true;
	n->expiry = (int64_t)1 << 40;
	n->last_seen = 1700000001;
	n->created = 1700000000;
	assert_non_null(n->routes_advertised = calloc(2, sizeof(*n->routes_advertised)));
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(netprefix_parse(adv[i], &n->routes_advertised[i]), 0);
	n->n_routes_advertised = 2;
	assert_non_null(n->routes_approved = calloc(1, sizeof(*n->routes_approved)));
	n->routes_approved[0] = n->routes_advertised[0];
	n->n_routes_approved = 1;
}

static void check_loaded(const struct loaded *l, const struct db_node *want, uint64_t pak_id)
{
	static const char *const eps[] = { "192.0.2.1:41641", "[2001:db8::1]:7" };
	static const char *const adv[] = { "10.1.0.0/24", "::/0" };
	static const char *const appr[] = { "10.1.0.0/24" };
	const struct db_node *n = &l->nodes[0], *bare = &l->nodes[1];
	const struct db_preauthkey *k = &l->paks[0];

	assert_int_equal(l->n_users, 2);
	assert_string_equal(l->users[0].name, "alice");
	assert_string_equal(l->users[0].display_name, "Alice \xe2\x9c\x93");
	assert_int_equal(l->users[0].created, 100);
	assert_string_equal(l->users[1].name, "carol");

	assert_int_equal(l->n_paks, 1);
	assert_int_equal(k->id, pak_id);
	assert_string_equal(k->prefix, "0123456789ab");
	for (size_t i = 0; i < AUTHKEY_HASH_LEN; i++)
		assert_int_equal(k->hash[i], (uint8_t)(i * 7));
	assert_true(k->reusable);
	assert_false(k->ephemeral);
	assert_true(k->used);
	assert_int_equal(k->n_tags, 1);
	assert_string_equal(k->tags[0], "tag:a");
	assert_null(k->tags[1]);
	assert_int_equal(k->expiration, (int64_t)1 << 41);

	assert_int_equal(l->n_apis, 1);
	assert_int_equal(l->apis[0].last_seen, 1700000123);

	assert_int_equal(l->n_nodes, 2);
	assert_int_equal(n->id, want->id);
	assert_memory_equal(n->machine.b, want->machine.b, KEY_LEN);
	assert_memory_equal(n->key.b, want->key.b, KEY_LEN);
	assert_memory_equal(n->disco.b, want->disco.b, KEY_LEN);
	assert_string_equal(n->hostname, want->hostname);
	assert_string_equal(n->given_name, want->given_name);
	assert_int_equal(n->user_id, want->user_id);
	assert_true(netaddr_eq(&n->ipv4, &want->ipv4));
	assert_true(netaddr_eq(&n->ipv6, &want->ipv6));
	assert_endpoints(n, eps, 2);
	assert_int_equal(n->relay_home, 0xfffffff0u);
	assert_string_equal(n->os, "linux");
	assert_int_equal(n->n_tags, 2);
	assert_string_equal(n->tags[1], "tag:\"q\"");
	assert_int_equal(n->auth_key_id, pak_id);
	assert_string_equal(n->register_method, "authkey");
	assert_true(n->ephemeral);
	assert_int_equal(n->expiry, (int64_t)1 << 40);
	assert_int_equal(n->last_seen, 1700000001);
	assert_int_equal(n->created, 1700000000);
	assert_prefixes(n->routes_advertised, n->n_routes_advertised, adv, 2);
	assert_prefixes(n->routes_approved, n->n_routes_approved, appr, 1);
	/* The bare node: no IPv6, no key, empty lists. */
	assert_int_equal(bare->ipv6.family, NETADDR_NONE);
	assert_int_equal(bare->auth_key_id, 0);
	assert_int_equal(bare->n_endpoints + bare->n_tags + bare->n_routes_advertised, 0);
}

/*
 * db.h on its own: what every backend must return for the same case (-EEXIST
 * for a unique or foreign key, -ENOENT for no such row), transactions, and a
 * round trip of every field through a close and reopen.
 */
static void test_db_interface(void **state)
{
	struct srv_config *cfg;
	struct db *db;
	struct db_user alice = { 0 }, u = { 0 };
	struct db_preauthkey k = { 0 }, bad = { 0 };
	struct db_apikey a = { 0 };
	struct db_node n, bare, clash;
	struct loaded l;
	char err[SRV_ERR_LEN] = "", *policy;
	char ktag[] = "tag:a", *ktags[] = { ktag, NULL };
	int64_t updated;
	uint64_t errors;

	(void)state;
	assert_int_equal(srv_config_defaults(&cfg), 0);
	be->fresh(cfg);
	if (db_open(cfg, &db, err, sizeof(err)) != 0)
		fail_msg("db_open: %s", err);
	errors = db_get_stats(db)->errors;

	snprintf(alice.name, sizeof(alice.name), "alice");
	snprintf(alice.display_name, sizeof(alice.display_name), "Alice \xe2\x9c\x93");
	alice.created = 100;
	assert_int_equal(db_user_insert(db, &alice), 0);
	assert_true(alice.id > 0);
	u = alice;
	u.id = 0;
	assert_int_equal(db_user_insert(db, &u), -EEXIST);
	u.id = alice.id + 1000;
	assert_int_equal(db_user_update(db, &u), -ENOENT);
	assert_int_equal(db_user_delete(db, alice.id + 1000), -ENOENT);
	assert_int_equal(db_node_delete(db, 4242), -ENOENT);
	assert_true(db_get_stats(db)->errors >= errors + 1); /* the duplicate; no row is no error */

	/* A key for a user that does not exist: the foreign key, reported as SQLite does. */
	snprintf(bad.prefix, sizeof(bad.prefix), "ffffffffffff");
	bad.user_id = alice.id + 1000;
	assert_int_equal(db_preauthkey_insert(db, &bad), -EEXIST);

	snprintf(k.prefix, sizeof(k.prefix), "0123456789ab");
	for (size_t i = 0; i < AUTHKEY_HASH_LEN; i++)
		k.hash[i] = (uint8_t)(i * 7);
	k.user_id = alice.id;
	k.reusable = true;
	k.tags = ktags;
	k.n_tags = 1;
	k.expiration = (int64_t)1 << 41;
	k.created = 5;
	assert_int_equal(db_preauthkey_insert(db, &k), 0);
	k.used = true;
	assert_int_equal(db_preauthkey_update(db, &k), 0);

	snprintf(a.prefix, sizeof(a.prefix), "abcdefabcdef");
	a.created = 7;
	assert_int_equal(db_apikey_insert(db, &a), 0);
	a.last_seen = 1700000123;
	assert_int_equal(db_apikey_update(db, &a), 0);

	full_node(&n, alice.id, k.id);
	assert_int_equal(db_node_insert(db, &n), 0);
	assert_true(n.id > 0);
	memset(&bare, 0, sizeof(bare));
	keys_random(bare.machine.b, KEY_LEN);
	keys_random(bare.key.b, KEY_LEN);
	snprintf(bare.hostname, sizeof(bare.hostname), "bare");
	snprintf(bare.given_name, sizeof(bare.given_name), "bare");
	bare.user_id = alice.id;
	assert_int_equal(netaddr_parse("100.64.0.8", &bare.ipv4), 0);
	assert_int_equal(db_node_insert(db, &bare), 0);
	/* One address, two nodes: the store refuses it too. */
	memset(&clash, 0, sizeof(clash));
	keys_random(clash.machine.b, KEY_LEN);
	keys_random(clash.key.b, KEY_LEN);
	snprintf(clash.given_name, sizeof(clash.given_name), "clash");
	clash.user_id = alice.id;
	clash.ipv4 = bare.ipv4;
	assert_int_equal(db_node_insert(db, &clash), -EEXIST);

	/* Transactions: a rollback leaves nothing, a failed statement does not poison the next. */
	assert_int_equal(db_begin(db), 0);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "bob");
	assert_int_equal(db_user_insert(db, &u), 0);
	assert_int_equal(db_user_insert(db, &alice), -EEXIST);
	db_rollback(db);
	assert_int_equal(db_begin(db), 0);
	snprintf(u.name, sizeof(u.name), "carol");
	u.id = 0;
	assert_int_equal(db_user_insert(db, &u), 0);
	assert_int_equal(db_commit(db), 0);

	/* The newest policy wins. */
	assert_int_equal(db_policy_get(db, &policy, &updated), 0);
	assert_null(policy);
	assert_int_equal(db_policy_set(db, "{\"acls\": []}", 5), 0);
	assert_int_equal(db_policy_set(db, "{\"acls\": [1]}", 6), 0);
	assert_int_equal(db_policy_get(db, &policy, &updated), 0);
	assert_string_equal(policy, "{\"acls\": [1]}");
	assert_int_equal(updated, 6);
	free(policy);

	load_all(db, &l);
	check_loaded(&l, &n, k.id);
	loaded_clear(&l);
	db_close(db);
	/* And the same after a reopen. */
	assert_int_equal(db_open(cfg, &db, err, sizeof(err)), 0);
	load_all(db, &l);
	check_loaded(&l, &n, k.id);
	/* Deleting the key sets its nodes' reference to none. */
	assert_int_equal(db_preauthkey_delete(db, k.id), 0);
	loaded_clear(&l);
	load_all(db, &l);
	assert_int_equal(l.nodes[0].auth_key_id, 0);
	loaded_clear(&l);
	db_node_clear(&n);
	db_close(db);
	srv_config_free(cfg);
}

/*
 * A lost connection (the database restarted, a network cut): the call that
 * finds it fails and changes nothing, the next one reconnects. Inside a
 * transaction nothing reconnects until the rollback, or the rest of the
 * transaction would commit on its own.
 */
static void test_reconnect(void **state)
{
	struct world w;
	struct srv_user *u;
	struct db_user rec = { 0 };

	(void)state;
	if (be->cut == NULL)
		skip();
	w_init(&w, "100.64.0.0/10", NULL);
	mkuser(&w, "alice");
	be->cut();
	assert_int_equal(srv_user_create(w.st, "bob", NULL, NULL, &u, w.err, sizeof(w.err)), -EIO);
	assert_null(srv_user_by_name(w.st, "bob"));
	mkuser(&w, "carol");

	assert_int_equal(db_begin(w.st->db), 0);
	be->cut();
	snprintf(rec.name, sizeof(rec.name), "dave");
	assert_int_equal(db_user_insert(w.st->db, &rec), -EIO);
	rec.id = 0;
	assert_int_equal(db_user_insert(w.st->db, &rec), -EIO);
	db_rollback(w.st->db);
	mkuser(&w, "erin");

	w_reopen(&w);
	assert_non_null(srv_user_by_name(w.st, "alice"));
	assert_null(srv_user_by_name(w.st, "bob"));
	assert_non_null(srv_user_by_name(w.st, "carol"));
	assert_null(srv_user_by_name(w.st, "dave"));
	assert_non_null(srv_user_by_name(w.st, "erin"));
	w_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_store),
		cmocka_unit_test(test_reopen_migrated),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_damaged_store_refused),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_pak_single_use),
		cmocka_unit_test(test_pak_expiry),
		cmocka_unit_test(test_pak_reusable_ephemeral_tags),
		cmocka_unit_test(test_ephemeral_inactivity),
		cmocka_unit_test(test_register_unique_stable),
		cmocka_unit_test(test_register_interactive),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_delete_frees_address),
		cmocka_unit_test(test_move_then_delete_user),
		cmocka_unit_test(test_apikeys),
		cmocka_unit_test(test_db_interface),
		cmocka_unit_test(test_reconnect),
	};
	const char *want = getenv("WEFT_TEST_DB");

	be = &be_sqlite;
	if (want != NULL && strcmp(want, "postgres") == 0) {
		if (be_postgres() == NULL) {
			fprintf(stderr, "test_srv_state: built without libpq, no PostgreSQL\n");
			return 77;
		}
		if (getenv("WEFT_TEST_PG_HOST") == NULL) {
			fprintf(stderr, "test_srv_state: WEFT_TEST_DB=postgres needs a cluster: run "
					"it through tests/tools/pg_cluster.sh\n");
			return 77;
		}
		be = be_postgres();
	} else if (want != NULL && strcmp(want, "sqlite") != 0) {
		fprintf(stderr, "test_srv_state: WEFT_TEST_DB=%s: want sqlite or postgres\n", want);
		return 1;
	}
	return cmocka_run_group_tests_name(be->name, tests, setup, teardown);
}

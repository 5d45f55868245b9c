/* SPDX-License-Identifier: ISC */
/*
 * db: the store interface's front (db.h). db_open picks the backend named by
 * database.type, every other call goes through that backend's operation table,
 * and what the backends share lives here: record clearing, the latency
 * histogram, and the JSON list columns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "weft-server/config.h"
#include "weft-server/db_backend.h"

#define DB_LIST_MAX 1024 /* items in a stored JSON list */

const double db_latency_bounds_ms[DB_LATENCY_BUCKETS - 1] = { 0.1, 0.5, 1, 5, 10, 50, 100 };

/* ---- records and stats ----------------------------------------------------------------- */

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

const char *db_location(const struct db *db)
{
	return db->location;
}

void db_account(struct db *db, uint64_t start_ns, bool ok)
{
	uint64_t ns = clock_mono_ns() - start_ns;
	double ms = (double)ns / 1e6;
	size_t b = 0;

	while (b < DB_LATENCY_BUCKETS - 1 && ms > db_latency_bounds_ms[b])
		b++;
	db->stats.calls++;
	db->stats.errors += !ok;
	db->stats.total_ns += ns;
	db->stats.bucket[b]++;
}

/* ---- JSON list columns ----------------------------------------------------------------- */

static char *db_json_dump(json_t *a)
{
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	return s;
}

char *db_json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return db_json_dump(a);
}

char *db_json_prefixes(const struct netprefix *p, size_t n)
{
	json_t *a = json_array();
	char buf[NETPREFIX_STRLEN];

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(netprefix_format(&p[i], buf, sizeof(buf))));
	return db_json_dump(a);
}

char *db_json_endpoints(const struct netendpoint *e, size_t n)
{
	json_t *a = json_array();
	char buf[NETENDPOINT_STRLEN];

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(netendpoint_format(&e[i], buf, sizeof(buf))));
	return db_json_dump(a);
}

/* A column's JSON list of strings, each passed to fn; a damaged value is -EIO. */
static int db_list_each(const char *text, int (*fn)(void *arg, const char *s), void *arg)
{
	struct jsonx_err jerr;
	json_t *a, *v;
	size_t i;
	int r = 0;

	if (text == NULL)
		return 0;
	if (jsonx_load(text, strlen(text), &a, &jerr) < 0)
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

int db_json_strv_parse(const char *text, char ***v, size_t *n)
{
	struct db_strv_acc acc = { v, n };

	return db_list_each(text, db_strv_add, &acc);
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

int db_json_prefixes_parse(const char *text, struct netprefix **v, size_t *n)
{
	struct db_prefix_acc acc = { v, n };

	return db_list_each(text, db_prefix_add, &acc);
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

int db_json_endpoints_parse(const char *text, struct netendpoint **v, size_t *n)
{
	struct db_ep_acc acc = { v, n };

	return db_list_each(text, db_ep_add, &acc);
}

/* ---- dispatch --------------------------------------------------------------------------- */

int db_open(const struct srv_config *cfg, struct db **out, char *err, size_t errlen)
{
	*out = NULL;
	switch (cfg->db_type) {
	case SRV_DB_SQLITE:
		return db_sqlite_open(cfg, out, err, errlen);
	case SRV_DB_POSTGRES:
		return db_pg_open(cfg, out, err, errlen);
	}
	snprintf(err, errlen, "unknown database.type %d", (int)cfg->db_type);
	return -EINVAL;
}

void db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

int db_begin(struct db *db)
{
	return db->ops->begin(db);
}

int db_commit(struct db *db)
{
	return db->ops->commit(db);
}

void db_rollback(struct db *db)
{
	db->ops->rollback(db);
}

int db_load(struct db *db, const struct db_load_cb *cb, void *arg)
{
	return db->ops->load(db, cb, arg);
}

int db_user_insert(struct db *db, struct db_user *u)
{
	return db->ops->user_insert(db, u);
}

int db_user_update(struct db *db, const struct db_user *u)
{
	return db->ops->user_update(db, u);
}

int db_user_delete(struct db *db, uint64_t id)
{
	return db->ops->user_delete(db, id);
}

int db_preauthkey_insert(struct db *db, struct db_preauthkey *k)
{
	return db->ops->preauthkey_insert(db, k);
}

int db_preauthkey_update(struct db *db, const struct db_preauthkey *k)
{
	return db->ops->preauthkey_update(db, k);
}

int db_preauthkey_delete(struct db *db, uint64_t id)
{
	return db->ops->preauthkey_delete(db, id);
}

int db_apikey_insert(struct db *db, struct db_apikey *k)
{
	return db->ops->apikey_insert(db, k);
}

int db_apikey_update(struct db *db, const struct db_apikey *k)
{
	return db->ops->apikey_update(db, k);
}

int db_apikey_delete(struct db *db, uint64_t id)
{
	return db->ops->apikey_delete(db, id);
}

int db_node_insert(struct db *db, struct db_node *n)
{
	return db->ops->node_insert(db, n);
}

int db_node_update(struct db *db, const struct db_node *n)
{
	return db->ops->node_update(db, n);
}

int db_node_delete(struct db *db, uint64_t id)
{
	return db->ops->node_delete(db, id);
}

int db_policy_get(struct db *db, char **data, int64_t *updated)
{
	return db->ops->policy_get(db, data, updated);
}

int db_policy_set(struct db *db, const char *data, int64_t now)
{
	return db->ops->policy_set(db, data, now);
}

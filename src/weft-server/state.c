/* SPDX-License-Identifier: ISC */
/*
 * state: the in-memory model over the store (see state.h). Every mutation
 * validates, writes the store (in one transaction when it touches several
 * records), then changes memory and tells the hooks; a failed write leaves
 * memory as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "ipn/prefs.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "weft-server/config.h"
#include "weft-server/ipalloc.h"
#include "weft-server/relaymap.h"
#include "weft-server/names.h"
#include "weft-server/state.h"

#define STATE_NODE_JSON_MAX (256u << 10)
#define STATE_TAGS_MAX 64

static int64_t state_real_now(void)
{
	return (int64_t)(clock_real_ns() / CLOCK_NS_PER_SEC);
}

static int state_fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int state_fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int state_db_fail(char *err, size_t errlen, int r, const char *what)
{
	if (r == -EEXIST)
		return state_fail(err, errlen, r, "%s: already exists", what);
	log_warnx("store: %s failed: %s", what, strerror(-r));
	return state_fail(err, errlen, -EIO, "%s: the database refused the change (%s)", what,
			  strerror(-r));
}

/* ---- vectors and indexes ----------------------------------------------------------------- */

/* Appends p to a vector of pointers whose elements carry their slot at slot_off. */
static int state_vec_add(void ***v, size_t *n, size_t *cap, void *p, size_t *slot)
{
	if (*n == *cap && mem_grow((void **)v, cap, *n + 1, sizeof(void *)) < 0)
		return -ENOMEM;
	(*v)[*n] = p;
	*slot = (*n)++;
	return 0;
}

/* Swap-remove; the moved element's slot is updated through slot_of. */
static void state_vec_del(void **v, size_t *n, size_t slot, size_t *(*slot_of)(void *))
{
	(*n)--;
	if (slot != *n) {
		v[slot] = v[*n];
		*slot_of(v[slot]) = slot;
	}
	v[*n] = NULL;
}

static size_t *state_user_slot(void *p)
{
	return &((struct srv_user *)p)->slot;
}

static size_t *state_pak_slot(void *p)
{
	return &((struct srv_pak *)p)->slot;
}

static size_t *state_api_slot(void *p)
{
	return &((struct srv_apikey *)p)->slot;
}

static size_t *state_node_slot(void *p)
{
	return &((struct srv_node *)p)->slot;
}

/* Names are longer than an index key: they are indexed by a 32-byte hash. */
static void state_name_key(const char *name, uint8_t k[static 32])
{
	crypto_generichash(k, 32, (const uint8_t *)name, strlen(name), NULL, 0);
}

static int state_index_user(struct srv_state *s, struct srv_user *u)
{
	uint8_t k[32];
	int r;

	state_name_key(u->rec.name, k);
	if ((r = nmindex_put(&s->user_by_id, &u->rec.id, sizeof(u->rec.id), u)) < 0)
		return r;
	if ((r = nmindex_put(&s->user_by_name, k, sizeof(k), u)) < 0) {
		nmindex_del(&s->user_by_id, &u->rec.id, sizeof(u->rec.id));
		return r;
	}
	return 0;
}

static void state_unindex_user(struct srv_state *s, struct srv_user *u)
{
	uint8_t k[32];

	state_name_key(u->rec.name, k);
	nmindex_del(&s->user_by_id, &u->rec.id, sizeof(u->rec.id));
	nmindex_del(&s->user_by_name, k, sizeof(k));
}

static int state_index_node(struct srv_state *s, struct srv_node *n)
{
	uint8_t k[32];
	int r;

	state_name_key(n->rec.given_name, k);
	if ((r = nmindex_put(&s->node_by_id, &n->rec.id, sizeof(n->rec.id), n)) < 0)
		return r;
	if ((r = nmindex_put(&s->node_by_machine, n->rec.machine.b, KEY_LEN, n)) < 0)
		goto undo_id;
	if ((r = nmindex_put(&s->node_by_key, n->rec.key.b, KEY_LEN, n)) < 0)
		goto undo_machine;
	if ((r = nmindex_put(&s->node_by_name, k, sizeof(k), n)) < 0)
		goto undo_key;
	return 0;
undo_key:
	nmindex_del(&s->node_by_key, n->rec.key.b, KEY_LEN);
undo_machine:
	nmindex_del(&s->node_by_machine, n->rec.machine.b, KEY_LEN);
undo_id:
	nmindex_del(&s->node_by_id, &n->rec.id, sizeof(n->rec.id));
	return r;
}

static void state_unindex_node(struct srv_state *s, struct srv_node *n)
{
	uint8_t k[32];

	state_name_key(n->rec.given_name, k);
	nmindex_del(&s->node_by_id, &n->rec.id, sizeof(n->rec.id));
	nmindex_del(&s->node_by_machine, n->rec.machine.b, KEY_LEN);
	nmindex_del(&s->node_by_key, n->rec.key.b, KEY_LEN);
	nmindex_del(&s->node_by_name, k, sizeof(k));
}

/* ---- lookups ------------------------------------------------------------------------------ */

struct srv_user *srv_user_by_id(const struct srv_state *s, uint64_t id)
{
	return nmindex_get(&s->user_by_id, &id, sizeof(id));
}

struct srv_user *srv_user_by_name(const struct srv_state *s, const char *name)
{
	uint8_t k[32];

	state_name_key(name, k);
	return nmindex_get(&s->user_by_name, k, sizeof(k));
}

struct srv_user *srv_user_by_ref(const struct srv_state *s, const char *ref)
{
	struct srv_user *u = srv_user_by_name(s, ref);
	uint64_t id;

	if (u == NULL && numparse_u64(ref, 1, UINT64_MAX, &id) == 0)
		u = srv_user_by_id(s, id);
	return u;
}

struct srv_node *srv_node_by_id(const struct srv_state *s, uint64_t id)
{
	return nmindex_get(&s->node_by_id, &id, sizeof(id));
}

struct srv_node *srv_node_by_machine(const struct srv_state *s, const struct machine_public *k)
{
	return nmindex_get(&s->node_by_machine, k->b, KEY_LEN);
}

struct srv_node *srv_node_by_key(const struct srv_state *s, const struct node_public *k)
{
	return nmindex_get(&s->node_by_key, k->b, KEY_LEN);
}

static struct srv_node *state_node_by_name(const struct srv_state *s, const char *name)
{
	uint8_t k[32];

	state_name_key(name, k);
	return nmindex_get(&s->node_by_name, k, sizeof(k));
}

struct srv_pak *srv_pak_by_id(const struct srv_state *s, uint64_t id)
{
	for (size_t i = 0; i < s->n_paks; i++)
		if (s->paks[i]->rec.id == id)
			return s->paks[i];
	return NULL;
}

struct srv_apikey *srv_apikey_by_prefix(const struct srv_state *s, const char *prefix)
{
	return nmindex_get(&s->api_by_prefix, prefix, strlen(prefix));
}

/* ---- hooks -------------------------------------------------------------------------------- */

static void state_node_dirty(struct srv_state *s, struct srv_node *n, uint32_t what)
{
	/* Every change shows in the node's entry, so the cached JSON goes. */
	free(n->json);
	n->json = NULL;
	if (!n->gone && s->hooks.node_changed != NULL)
		s->hooks.node_changed(s->hooks_arg, n, what);
}

static void state_users_dirty(struct srv_state *s)
{
	free(s->users_json);
	s->users_json = NULL;
	if (s->hooks.users_changed != NULL)
		s->hooks.users_changed(s->hooks_arg);
}

static void state_node_gone(struct srv_state *s, struct srv_node *n)
{
	if (n->gone)
		return;
	n->gone = true;
	if (s->hooks.node_removed != NULL)
		s->hooks.node_removed(s->hooks_arg, n);
}

void srv_state_set_hooks(struct srv_state *s, const struct srv_state_hooks *h, void *arg)
{
	s->hooks = *h;
	s->hooks_arg = arg;
}

/* ---- validation --------------------------------------------------------------------------- */

static bool state_valid_user_name(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > DB_USER_NAME_MAX) {
		state_fail(err, errlen, -EINVAL, "a user name must be 1-%d characters",
			   DB_USER_NAME_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@' || c == '+')) {
			state_fail(err, errlen, -EINVAL,
				   "`%.64s' is not a valid user name: use letters, digits and . _ - @ +",
				   s);
			return false;
		}
	}
	if (s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == n) {
		state_fail(err, errlen, -EINVAL,
			   "`%s' is not a valid user name: an all-digit name would be read as an ID",
			   s);
		return false;
	}
	return true;
}

static int state_check_tags(char *const *tags, size_t n, char *err, size_t errlen)
{
	if (n > STATE_TAGS_MAX)
		return state_fail(err, errlen, -EINVAL, "at most %d tags", STATE_TAGS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (!ipn_valid_tag(tags[i], err, errlen))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(tags[i], tags[j]) == 0)
				return state_fail(err, errlen, -EINVAL, "tag %s is given twice",
						  tags[i]);
	}
	return 0;
}

/*
 * The store set nodes.auth_key_id to NULL when the key went (ON DELETE SET
 * NULL); memory follows, or the node's next write would name a missing key
 * and fail its foreign key.
 */
static void state_forget_pak(struct srv_state *s, uint64_t pak_id)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i]->rec.auth_key_id == pak_id)
			s->nodes[i]->rec.auth_key_id = 0;
}

/* ---- users -------------------------------------------------------------------------------- */

int srv_user_create(struct srv_state *s, const char *name, const char *display,
		    const char *email, struct srv_user **out, char *err, size_t errlen)
{
	struct srv_user *u;
	int r;

	*out = NULL;
	if (!state_valid_user_name(name, err, errlen))
		return -EINVAL;
	if (strlen(display ? display : "") > DB_USER_NAME_MAX ||
	    strlen(email ? email : "") > DB_USER_NAME_MAX)
		return state_fail(err, errlen, -EINVAL, "display name and email: at most %d bytes",
				  DB_USER_NAME_MAX);
	if (srv_user_by_name(s, name) != NULL)
		return state_fail(err, errlen, -EEXIST, "user %s already exists", name);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(u->rec.name, sizeof(u->rec.name), "%s", name);
	snprintf(u->rec.display_name, sizeof(u->rec.display_name), "%s", display ? display : "");
	snprintf(u->rec.email, sizeof(u->rec.email), "%s", email ? email : "");
	u->rec.created = s->now();
	if ((r = db_user_insert(s->db, &u->rec)) < 0) {
		free(u);
		return state_db_fail(err, errlen, r, "creating the user");
	}
	if (state_index_user(s, u) < 0 ||
	    state_vec_add((void ***)&s->users, &s->n_users, &s->cap_users, u, &u->slot) < 0)
		fatalx("out of memory indexing a user");
	state_users_dirty(s);
	*out = u;
	return 0;
}

int srv_user_rename(struct srv_state *s, struct srv_user *u, const char *name, char *err,
		    size_t errlen)
{
	struct db_user rec = u->rec;
	int r;

	if (!state_valid_user_name(name, err, errlen))
		return -EINVAL;
	if (srv_user_by_name(s, name) != NULL)
		return state_fail(err, errlen, -EEXIST, "user %s already exists", name);
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	if ((r = db_user_update(s->db, &rec)) < 0)
		return state_db_fail(err, errlen, r, "renaming the user");
	state_unindex_user(s, u);
	u->rec = rec;
	if (state_index_user(s, u) < 0)
		fatalx("out of memory indexing a user");
	state_users_dirty(s);
	return 0;
}

int srv_user_delete(struct srv_state *s, struct srv_user *u, char *err, size_t errlen)
{
	int r;

	if (u->n_nodes > 0)
		return state_fail(err, errlen, -EPERM,
				  "user %s still owns %zu node(s): delete them or move them to "
				  "another user first",
				  u->rec.name, u->n_nodes);
	if ((r = db_user_delete(s->db, u->rec.id)) < 0)
		return state_db_fail(err, errlen, r, "deleting the user");
	/* The store cascaded to the user's pre-auth keys; memory follows. */
	for (size_t i = s->n_paks; i-- > 0;) {
		struct srv_pak *k = s->paks[i];
		if (k->rec.user_id != u->rec.id)
			continue;
		state_forget_pak(s, k->rec.id);
		nmindex_del(&s->pak_by_prefix, k->rec.prefix, strlen(k->rec.prefix));
		state_vec_del((void **)s->paks, &s->n_paks, k->slot, state_pak_slot);
		db_preauthkey_clear(&k->rec);
		free(k);
	}
	state_unindex_user(s, u);
	state_vec_del((void **)s->users, &s->n_users, u->slot, state_user_slot);
	free(u);
	state_users_dirty(s);
	return 0;
}

/* ---- pre-auth keys ------------------------------------------------------------------------ */

static int state_add_pak(struct srv_state *s, struct srv_pak *k)
{
	if (nmindex_put(&s->pak_by_prefix, k->rec.prefix, strlen(k->rec.prefix), k) < 0)
		return -EEXIST;
	if (state_vec_add((void ***)&s->paks, &s->n_paks, &s->cap_paks, k, &k->slot) < 0)
		return -ENOMEM;
	return 0;
}

int srv_pak_create(struct srv_state *s, struct srv_user *u, bool reusable, bool ephemeral,
		   int64_t expiration, char *const *tags, size_t n_tags,
		   char text[static AUTHKEY_TEXT_MAX], struct srv_pak **out, char *err,
		   size_t errlen)
{
	struct srv_pak *k;
	int r;

	*out = NULL;
	if ((r = state_check_tags(tags, n_tags, err, errlen)) < 0)
		return r;
	if (expiration != 0 && expiration <= s->now())
		return state_fail(err, errlen, -EINVAL, "the expiration is in the past");
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (n_tags > 0 && (k->rec.tags = jsonx_strv_dup(tags, n_tags)) == NULL)) {
		free(k);
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	}
	k->rec.n_tags = n_tags;
	k->rec.user_id = u->rec.id;
	k->rec.reusable = reusable;
	k->rec.ephemeral = ephemeral;
	k->rec.expiration = expiration;
	k->rec.created = s->now();
	/* A prefix clash is a 2^-48 event; draw again rather than fail. */
	for (int tries = 0;; tries++) {
		authkey_generate(AUTHKEY_PREAUTH, text, k->rec.prefix, k->rec.hash);
		if (nmindex_get(&s->pak_by_prefix, k->rec.prefix, strlen(k->rec.prefix)) == NULL ||
		    tries == 8)
			break;
	}
	if ((r = db_preauthkey_insert(s->db, &k->rec)) < 0) {
		mem_wipe(text, AUTHKEY_TEXT_MAX);
		db_preauthkey_clear(&k->rec);
		free(k);
		return state_db_fail(err, errlen, r, "creating the pre-auth key");
	}
	if (state_add_pak(s, k) < 0)
		fatalx("out of memory indexing a pre-auth key");
	*out = k;
	return 0;
}

int srv_pak_expire(struct srv_state *s, struct srv_pak *k, char *err, size_t errlen)
{
	struct db_preauthkey rec = k->rec;
	int64_t now = s->now();
	int r;

	if (k->rec.expiration != 0 && k->rec.expiration <= now)
		return 0;
	rec.expiration = now;
	if ((r = db_preauthkey_update(s->db, &rec)) < 0)
		return state_db_fail(err, errlen, r, "expiring the pre-auth key");
	k->rec.expiration = now;
	return 0;
}

int srv_pak_delete(struct srv_state *s, struct srv_pak *k, char *err, size_t errlen)
{
	int r;

	if ((r = db_preauthkey_delete(s->db, k->rec.id)) < 0)
		return state_db_fail(err, errlen, r, "deleting the pre-auth key");
	state_forget_pak(s, k->rec.id);
	nmindex_del(&s->pak_by_prefix, k->rec.prefix, strlen(k->rec.prefix));
	state_vec_del((void **)s->paks, &s->n_paks, k->slot, state_pak_slot);
	db_preauthkey_clear(&k->rec);
	free(k);
	return 0;
}

int srv_pak_check(struct srv_state *s, const char *text, struct srv_pak **out, char *err,
		  size_t errlen)
{
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	struct srv_pak *k;

	*out = NULL;
	if (authkey_parse(AUTHKEY_PREAUTH, text, prefix, hash) < 0 ||
	    (k = nmindex_get(&s->pak_by_prefix, prefix, strlen(prefix))) == NULL ||
	    !authkey_hash_eq(hash, k->rec.hash))
		return state_fail(err, errlen, -EPERM,
				  "invalid auth key: create one with weft-server preauthkeys create");
	if (k->rec.expiration != 0 && k->rec.expiration <= s->now())
		return state_fail(err, errlen, -EPERM,
				  "auth key expired: create a new one with weft-server preauthkeys "
				  "create");
	if (k->rec.used && !k->rec.reusable)
		return state_fail(err, errlen, -EPERM,
				  "auth key already used: it was single-use; create a --reusable "
				  "one or a new one");
	if (srv_user_by_id(s, k->rec.user_id) == NULL)
		return state_fail(err, errlen, -EPERM, "invalid auth key: its user is gone");
	*out = k;
	return 0;
}

/* ---- API keys ----------------------------------------------------------------------------- */

int srv_apikey_create(struct srv_state *s, int64_t expiration, char text[static AUTHKEY_TEXT_MAX],
		      struct srv_apikey **out, char *err, size_t errlen)
{
	struct srv_apikey *k;
	int r;

	*out = NULL;
	if (expiration != 0 && expiration <= s->now())
		return state_fail(err, errlen, -EINVAL, "the expiration is in the past");
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	k->rec.expiration = expiration;
	k->rec.created = s->now();
	for (int tries = 0;; tries++) {
		authkey_generate(AUTHKEY_API, text, k->rec.prefix, k->rec.hash);
		if (srv_apikey_by_prefix(s, k->rec.prefix) == NULL || tries == 8)
			break;
	}
	if ((r = db_apikey_insert(s->db, &k->rec)) < 0) {
		mem_wipe(text, AUTHKEY_TEXT_MAX);
		free(k);
		return state_db_fail(err, errlen, r, "creating the API key");
	}
	if (nmindex_put(&s->api_by_prefix, k->rec.prefix, strlen(k->rec.prefix), k) < 0 ||
	    state_vec_add((void ***)&s->apikeys, &s->n_apikeys, &s->cap_apikeys, k, &k->slot) < 0)
		fatalx("out of memory indexing an API key");
	*out = k;
	return 0;
}

int srv_apikey_expire(struct srv_state *s, struct srv_apikey *k, char *err, size_t errlen)
{
	struct db_apikey rec = k->rec;
	int64_t now = s->now();
	int r;

	if (k->rec.expiration != 0 && k->rec.expiration <= now)
		return 0;
	rec.expiration = now;
	if ((r = db_apikey_update(s->db, &rec)) < 0)
		return state_db_fail(err, errlen, r, "expiring the API key");
	k->rec.expiration = now;
	return 0;
}

int srv_apikey_delete(struct srv_state *s, struct srv_apikey *k, char *err, size_t errlen)
{
	int r;

	if ((r = db_apikey_delete(s->db, k->rec.id)) < 0)
		return state_db_fail(err, errlen, r, "deleting the API key");
	nmindex_del(&s->api_by_prefix, k->rec.prefix, strlen(k->rec.prefix));
	state_vec_del((void **)s->apikeys, &s->n_apikeys, k->slot, state_api_slot);
	free(k);
	return 0;
}

bool srv_apikey_check(struct srv_state *s, const char *text)
{
	char prefix[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN];
	struct srv_apikey *k;
	int64_t now = s->now();

	if (authkey_parse(AUTHKEY_API, text, prefix, hash) < 0 ||
	    (k = srv_apikey_by_prefix(s, prefix)) == NULL || !authkey_hash_eq(hash, k->rec.hash))
		return false;
	if (k->rec.expiration != 0 && k->rec.expiration <= now)
		return false;
	/* Last use is kept to the minute, so busy API clients do not write on every call. */
	if (now - k->rec.last_seen >= 60) {
		struct db_apikey rec = k->rec;
		rec.last_seen = now;
		if (db_apikey_update(s->db, &rec) == 0)
			k->rec.last_seen = now;
	}
	return true;
}

/* ---- nodes -------------------------------------------------------------------------------- */

bool srv_node_is_expired(const struct srv_state *s, const struct srv_node *n)
{
	return n->rec.expiry != 0 && n->rec.expiry <= s->now();
}

void srv_node_fqdn(const struct srv_state *s, const struct srv_node *n, char *out, size_t len)
{
	const char *base = s->cfg->base_domain;

	if (base != NULL)
		snprintf(out, len, "%s.%s.", n->rec.given_name, base);
	else
		snprintf(out, len, "%s.", n->rec.given_name);
}

static bool state_name_taken(const char *name, void *arg)
{
	return state_node_by_name(arg, name) != NULL;
}

static int64_t state_key_expiry(const struct srv_state *s, size_t n_tags)
{
	/* As Tailscale: tagged nodes' keys do not expire. */
	if (s->cfg->node_expiry_ns == 0 || n_tags > 0)
		return 0;
	return s->now() + (int64_t)(s->cfg->node_expiry_ns / CLOCK_NS_PER_SEC);
}

static void state_node_free(struct srv_node *n)
{
	if (n == NULL)
		return;
	ctrl_box_wipe(&n->box);
	free(n->json);
	db_node_clear(&n->rec);
	free(n);
}

static void state_release_addrs(struct srv_state *s, const struct db_node *rec)
{
	if (rec->ipv4.family != NETADDR_NONE)
		ipalloc_release(s->ip4, &rec->ipv4);
	if (rec->ipv6.family != NETADDR_NONE)
		ipalloc_release(s->ip6, &rec->ipv6);
}

static int state_alloc_addrs(struct srv_state *s, struct db_node *rec, char *err, size_t errlen)
{
	if (s->ip4 != NULL && ipalloc_next(s->ip4, &rec->ipv4) < 0)
		return state_fail(err, errlen, -ENOSPC,
				  "no IPv4 address left in prefixes.v4: widen it or delete nodes");
	if (s->ip6 != NULL && ipalloc_next(s->ip6, &rec->ipv6) < 0) {
		state_release_addrs(s, rec);
		return state_fail(err, errlen, -ENOSPC, "no IPv6 address left in prefixes.v6");
	}
	return 0;
}

static int state_set_tags(struct db_node *rec, char *const *tags, size_t n)
{
	char **dup = NULL;

	if (n > 0 && (dup = jsonx_strv_dup(tags, n)) == NULL)
		return -ENOMEM;
	jsonx_strv_free(rec->tags);
	rec->tags = dup;
	rec->n_tags = n;
	return 0;
}

/* A deep copy of a node record (so a failed store write leaves the original). */
static int state_rec_copy(struct db_node *dst, const struct db_node *src)
{
	*dst = *src;
	dst->endpoints = NULL;
	dst->tags = NULL;
	dst->routes_advertised = NULL;
	dst->routes_approved = NULL;
	if ((src->n_endpoints > 0 &&
	     (dst->endpoints = mem_reallocarray(NULL, src->n_endpoints, sizeof(*src->endpoints))) ==
		     NULL) ||
	    (src->n_tags > 0 && (dst->tags = jsonx_strv_dup(src->tags, src->n_tags)) == NULL) ||
	    (src->n_routes_advertised > 0 &&
	     (dst->routes_advertised = mem_reallocarray(NULL, src->n_routes_advertised,
							sizeof(struct netprefix))) == NULL) ||
	    (src->n_routes_approved > 0 &&
	     (dst->routes_approved = mem_reallocarray(NULL, src->n_routes_approved,
						      sizeof(struct netprefix))) == NULL)) {
		db_node_clear(dst);
		return -ENOMEM;
	}
	if (src->n_endpoints > 0)
		memcpy(dst->endpoints, src->endpoints, src->n_endpoints * sizeof(*src->endpoints));
	if (src->n_routes_advertised > 0)
		memcpy(dst->routes_advertised, src->routes_advertised,
		       src->n_routes_advertised * sizeof(struct netprefix));
	if (src->n_routes_approved > 0)
		memcpy(dst->routes_approved, src->routes_approved,
		       src->n_routes_approved * sizeof(struct netprefix));
	return 0;
}

/* Moves a node between users' counts. */
static void state_count_user(struct srv_state *s, uint64_t from, uint64_t to)
{
	struct srv_user *u;

	if (from != 0 && (u = srv_user_by_id(s, from)) != NULL && u->n_nodes > 0)
		u->n_nodes--;
	if (to != 0 && (u = srv_user_by_id(s, to)) != NULL)
		u->n_nodes++;
}

/*
 * Commits a new record for an existing node: store first, then memory and
 * indexes (the keys or name may have changed). Consumes rec.
 */
static int state_node_commit(struct srv_state *s, struct srv_node *n, struct db_node *rec,
			     uint32_t what, const char *doing, char *err, size_t errlen)
{
	int r;

	if ((r = db_node_update(s->db, rec)) < 0) {
		db_node_clear(rec);
		return state_db_fail(err, errlen, r, doing);
	}
	state_unindex_node(s, n);
	state_count_user(s, n->rec.user_id, rec->user_id);
	db_node_clear(&n->rec);
	n->rec = *rec;
	if (state_index_node(s, n) < 0)
		fatalx("cannot re-index node %llu", (unsigned long long)n->rec.id);
	state_node_dirty(s, n, what);
	return 0;
}

static int state_new_node(struct srv_state *s, const struct srv_registration *reg,
			  uint64_t user_id, struct srv_pak *k, struct srv_node **out, char *err,
			  size_t errlen)
{
	char base[SRVNAME_MAX + 1];
	struct srv_node *n;
	int r;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	n->rec.machine = reg->machine;
	n->rec.key = reg->key;
	snprintf(n->rec.hostname, sizeof(n->rec.hostname), "%s", reg->hostname);
	snprintf(n->rec.os, sizeof(n->rec.os), "%s", reg->os);
	srvname_sanitize(reg->hostname, base);
	if ((r = srvname_unique(base, state_name_taken, s, n->rec.given_name)) < 0) {
		state_node_free(n);
		return state_fail(err, errlen, r, "no free name for host %s", base);
	}
	n->rec.user_id = user_id;
	if (k != NULL) {
		if (state_set_tags(&n->rec, k->rec.tags, k->rec.n_tags) < 0) {
			state_node_free(n);
			return state_fail(err, errlen, -ENOMEM, "out of memory");
		}
		n->rec.auth_key_id = k->rec.id;
		n->rec.ephemeral = k->rec.ephemeral;
	}
	snprintf(n->rec.register_method, sizeof(n->rec.register_method), "%s",
		 k != NULL ? "authkey" : "cli");
	n->rec.expiry = state_key_expiry(s, n->rec.n_tags);
	n->rec.created = s->now();
	if ((r = state_alloc_addrs(s, &n->rec, err, errlen)) < 0) {
		state_node_free(n);
		return r;
	}
	*out = n;
	return 0;
}

/* Marks a single-use key used, as part of the caller's transaction. */
static int state_use_pak(struct srv_state *s, struct srv_pak *k)
{
	struct db_preauthkey rec = k->rec;

	if (k->rec.reusable || k->rec.used)
		return 0;
	rec.used = true;
	return db_preauthkey_update(s->db, &rec);
}

static void state_after_login(struct srv_state *s, struct srv_node *n)
{
	n->ephemeral_due = 0;
	if (n->rec.ephemeral && !n->online)
		n->ephemeral_due = s->now() + (int64_t)(s->cfg->ephemeral_inactivity_ns /
							CLOCK_NS_PER_SEC);
	if (n->gone && !srv_node_is_expired(s, n)) {
		n->gone = false;
		state_node_dirty(s, n, SRV_CH_FULL);
	}
}

static int state_register(struct srv_state *s, const struct srv_registration *reg,
			  uint64_t user_id, struct srv_pak *k, struct srv_node **out, char *err,
			  size_t errlen)
{
	struct srv_node *n = srv_node_by_machine(s, &reg->machine);
	struct srv_node *holder = srv_node_by_key(s, &reg->key);
	struct db_node rec;
	int r;

	*out = NULL;
	if (holder != NULL && holder != n)
		return state_fail(err, errlen, -EEXIST,
				  "this node key is registered to another machine");
	if (n == NULL) {
		if ((r = state_new_node(s, reg, user_id, k, &n, err, errlen)) < 0)
			return r;
		if ((r = db_begin(s->db)) < 0 || (r = db_node_insert(s->db, &n->rec)) < 0 ||
		    (k != NULL && (r = state_use_pak(s, k)) < 0) || (r = db_commit(s->db)) < 0) {
			db_rollback(s->db);
			state_release_addrs(s, &n->rec);
			state_node_free(n);
			return state_db_fail(err, errlen, r, "registering the node");
		}
		if (state_index_node(s, n) < 0 ||
		    state_vec_add((void ***)&s->nodes, &s->n_nodes, &s->cap_nodes, n, &n->slot) <
			    0)
			fatalx("out of memory indexing a node");
		state_count_user(s, 0, user_id);
		if (k != NULL && !k->rec.reusable)
			k->rec.used = true;
		state_after_login(s, n);
		state_node_dirty(s, n, SRV_CH_FULL);
		*out = n;
		return 0;
	}
	/* A known machine logs in again: same ID, addresses and name; new key, owner, tags. */
	if (state_rec_copy(&rec, &n->rec) < 0)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	rec.key = reg->key;
	rec.user_id = user_id;
	if (reg->hostname[0] != '\0')
		snprintf(rec.hostname, sizeof(rec.hostname), "%s", reg->hostname);
	if (reg->os[0] != '\0')
		snprintf(rec.os, sizeof(rec.os), "%s", reg->os);
	if (k != NULL) {
		if (state_set_tags(&rec, k->rec.tags, k->rec.n_tags) < 0) {
			db_node_clear(&rec);
			return state_fail(err, errlen, -ENOMEM, "out of memory");
		}
		rec.auth_key_id = k->rec.id;
		rec.ephemeral = k->rec.ephemeral;
		snprintf(rec.register_method, sizeof(rec.register_method), "authkey");
	}
	rec.expiry = state_key_expiry(s, rec.n_tags);
	if ((r = db_begin(s->db)) < 0 || (k != NULL && (r = state_use_pak(s, k)) < 0)) {
		db_rollback(s->db);
		db_node_clear(&rec);
		return state_db_fail(err, errlen, r, "registering the node");
	}
	if ((r = state_node_commit(s, n, &rec, SRV_CH_FULL, "registering the node", err,
				   errlen)) < 0) {
		db_rollback(s->db);
		return r;
	}
	if ((r = db_commit(s->db)) < 0) {
		/* Memory already moved on; the store will agree at the next write or restart. */
		db_rollback(s->db);
		return state_db_fail(err, errlen, r, "registering the node");
	}
	if (k != NULL && !k->rec.reusable)
		k->rec.used = true;
	state_after_login(s, n);
	*out = n;
	return 0;
}

int srv_node_register_pak(struct srv_state *s, const struct srv_registration *r,
			  struct srv_pak *k, struct srv_node **out, char *err, size_t errlen)
{
	return state_register(s, r, k->rec.user_id, k, out, err, errlen);
}

int srv_node_register_user(struct srv_state *s, const struct srv_registration *r,
			   struct srv_user *u, struct srv_node **out, char *err, size_t errlen)
{
	return state_register(s, r, u->rec.id, NULL, out, err, errlen);
}

int srv_node_rotate(struct srv_state *s, struct srv_node *n, const struct node_public *key,
		    char *err, size_t errlen)
{
	struct srv_node *holder = srv_node_by_key(s, key);
	struct db_node rec;

	if (holder == n)
		return 0;
	if (holder != NULL)
		return state_fail(err, errlen, -EEXIST,
				  "this node key is registered to another machine");
	if (state_rec_copy(&rec, &n->rec) < 0)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	rec.key = *key;
	rec.expiry = state_key_expiry(s, rec.n_tags);
	return state_node_commit(s, n, &rec, SRV_CH_FULL, "rotating the node key", err, errlen);
}

static bool state_endpoints_eq(const struct db_node *a, const struct netendpoint *ep, size_t n)
{
	if (a->n_endpoints != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!netendpoint_eq(&a->endpoints[i], &ep[i]))
			return false;
	return true;
}

int srv_node_update_info(struct srv_state *s, struct srv_node *n, const struct disco_public *disco,
			 const struct netendpoint *ep, size_t n_ep, uint32_t relay_home,
			 const char *hostname, const char *os)
{
	uint32_t what = 0;
	struct db_node rec;
	char err[SRV_ERR_LEN];

	if (!keys_eq(disco->b, n->rec.disco.b))
		what |= SRV_CH_DISCO;
	if (!state_endpoints_eq(&n->rec, ep, n_ep))
		what |= SRV_CH_ENDPOINTS;
	if (relay_home != n->rec.relay_home)
		what |= SRV_CH_RELAY_HOME;
	if ((hostname[0] != '\0' && strcmp(hostname, n->rec.hostname) != 0) ||
	    (os[0] != '\0' && strcmp(os, n->rec.os) != 0))
		what |= SRV_CH_FULL;
	if (what == 0)
		return 0;
	if (state_rec_copy(&rec, &n->rec) < 0)
		return -ENOMEM;
	rec.disco = *disco;
	free(rec.endpoints);
	rec.endpoints = NULL;
	rec.n_endpoints = 0;
	if (n_ep > 0) {
		if ((rec.endpoints = mem_reallocarray(NULL, n_ep, sizeof(*ep))) == NULL) {
			db_node_clear(&rec);
			return -ENOMEM;
		}
		memcpy(rec.endpoints, ep, n_ep * sizeof(*ep));
		rec.n_endpoints = n_ep;
	}
	rec.relay_home = relay_home;
	if (hostname[0] != '\0')
		snprintf(rec.hostname, sizeof(rec.hostname), "%s", hostname);
	if (os[0] != '\0')
		snprintf(rec.os, sizeof(rec.os), "%s", os);
	return state_node_commit(s, n, &rec, what, "updating the node", err, sizeof(err));
}

void srv_node_set_online(struct srv_state *s, struct srv_node *n, bool online)
{
	struct db_node rec;

	if (n->online == online)
		return;
	n->online = online;
	if (online) {
		n->ephemeral_due = 0;
	} else {
		/* Last seen is worth keeping across restarts; one small write per disconnect. */
		n->rec.last_seen = s->now();
		if (!n->gone && state_rec_copy(&rec, &n->rec) == 0) {
			if (db_node_update(s->db, &rec) < 0)
				log_warnx("store: cannot record when node %llu was last seen",
					  (unsigned long long)n->rec.id);
			db_node_clear(&rec);
		}
		if (n->rec.ephemeral)
			n->ephemeral_due = s->now() + (int64_t)(s->cfg->ephemeral_inactivity_ns /
								CLOCK_NS_PER_SEC);
	}
	state_node_dirty(s, n, SRV_CH_ONLINE);
}

int srv_node_expire(struct srv_state *s, struct srv_node *n, int64_t when, char *err,
		    size_t errlen)
{
	struct db_node rec;
	int r;

	if (state_rec_copy(&rec, &n->rec) < 0)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	rec.expiry = when != 0 ? when : s->now();
	if ((r = state_node_commit(s, n, &rec, SRV_CH_KEY_EXPIRY, "expiring the node", err,
				   errlen)) < 0)
		return r;
	if (srv_node_is_expired(s, n)) {
		if (n->rec.ephemeral)
			return srv_node_delete(s, n, err, errlen);
		state_node_gone(s, n);
	}
	return 0;
}

int srv_node_delete(struct srv_state *s, struct srv_node *n, char *err, size_t errlen)
{
	int r;

	if ((r = db_node_delete(s->db, n->rec.id)) < 0)
		return state_db_fail(err, errlen, r, "deleting the node");
	state_node_gone(s, n);
	state_unindex_node(s, n);
	state_release_addrs(s, &n->rec);
	state_count_user(s, n->rec.user_id, 0);
	state_vec_del((void **)s->nodes, &s->n_nodes, n->slot, state_node_slot);
	state_node_free(n);
	return 0;
}

int srv_node_rename(struct srv_state *s, struct srv_node *n, const char *name, char *err,
		    size_t errlen)
{
	struct srv_node *holder;
	struct db_node rec;

	if (!srvname_is_valid(name))
		return state_fail(err, errlen, -EINVAL,
				  "`%.80s' is not a valid name: use 1-63 lower-case letters, digits "
				  "and '-', not at either end",
				  name);
	holder = state_node_by_name(s, name);
	if (holder == n)
		return 0;
	if (holder != NULL)
		return state_fail(err, errlen, -EEXIST, "node %llu is already called %s",
				  (unsigned long long)holder->rec.id, name);
	if (state_rec_copy(&rec, &n->rec) < 0)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(rec.given_name, sizeof(rec.given_name), "%s", name);
	return state_node_commit(s, n, &rec, SRV_CH_FULL, "renaming the node", err, errlen);
}

int srv_node_set_tags(struct srv_state *s, struct srv_node *n, char *const *tags, size_t n_tags,
		      char *err, size_t errlen)
{
	struct db_node rec;
	int r;

	if ((r = state_check_tags(tags, n_tags, err, errlen)) < 0)
		return r;
	if (state_rec_copy(&rec, &n->rec) < 0 || state_set_tags(&rec, tags, n_tags) < 0) {
		db_node_clear(&rec);
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	}
	/* Tagged keys do not expire; untagging does not bring expiry back until the next login. */
	if (n_tags > 0)
		rec.expiry = 0;
	return state_node_commit(s, n, &rec, SRV_CH_FULL, "tagging the node", err, errlen);
}

int srv_node_move(struct srv_state *s, struct srv_node *n, struct srv_user *u, char *err,
		  size_t errlen)
{
	struct db_node rec;

	if (n->rec.user_id == u->rec.id)
		return 0;
	if (state_rec_copy(&rec, &n->rec) < 0)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	rec.user_id = u->rec.id;
	return state_node_commit(s, n, &rec, SRV_CH_FULL, "moving the node", err, errlen);
}

void srv_state_tick(struct srv_state *s)
{
	int64_t now = s->now();
	char err[SRV_ERR_LEN];

	for (size_t i = s->n_nodes; i-- > 0;) {
		struct srv_node *n = s->nodes[i];

		if (n->rec.ephemeral && !n->online && n->ephemeral_due != 0 &&
		    n->ephemeral_due <= now) {
			log_info("deleting ephemeral node %s (id %llu): offline longer than its "
				 "inactivity timeout",
				 n->rec.given_name, (unsigned long long)n->rec.id);
			if (srv_node_delete(s, n, err, sizeof(err)) < 0)
				log_warnx("cannot delete ephemeral node: %s", err);
			continue;
		}
		if (!n->gone && srv_node_is_expired(s, n)) {
			log_info("node %s (id %llu): key expired", n->rec.given_name,
				 (unsigned long long)n->rec.id);
			state_node_gone(s, n);
		}
	}
}

/* ---- JSON views --------------------------------------------------------------------------- */

int srv_node_json(struct srv_state *s, struct srv_node *n, const char **json, size_t *len)
{
	char fqdn[DB_NAME_MAX + 260];
	struct netprefix addrs[2], allowed[2 + 1024];
	struct netmap_node v = { 0 };
	struct buf_writer w;
	size_t na = 0, nallowed;

	if (n->json != NULL)
		goto done;
	srv_node_fqdn(s, n, fqdn, sizeof(fqdn));
	if (n->rec.ipv4.family != NETADDR_NONE)
		(void)netprefix_make(&addrs[na++], &n->rec.ipv4, 32);
	if (n->rec.ipv6.family != NETADDR_NONE)
		(void)netprefix_make(&addrs[na++], &n->rec.ipv6, 128);
	memcpy(allowed, addrs, na * sizeof(addrs[0]));
	nallowed = na;
	for (size_t i = 0; i < n->rec.n_routes_approved && nallowed < sizeof(allowed) /
								   sizeof(allowed[0]);
	     i++)
		allowed[nallowed++] = n->rec.routes_approved[i];
	v.id = n->rec.id;
	v.name = fqdn;
	v.hostname = n->rec.hostname;
	v.user = n->rec.user_id;
	v.key = n->rec.key;
	v.key_expiry = n->rec.expiry;
	v.machine = n->rec.machine;
	v.disco = n->rec.disco;
	v.addresses = addrs;
	v.n_addresses = na;
	v.allowed_ips = allowed;
	v.n_allowed_ips = nallowed;
	v.endpoints = n->rec.endpoints;
	v.n_endpoints = n->rec.n_endpoints;
	v.relay_home = n->rec.relay_home;
	v.online = n->online;
	v.last_seen = n->online ? 0 : n->rec.last_seen;
	v.tags = n->rec.tags;
	v.n_tags = n->rec.n_tags;
	v.os = n->rec.os;
	v.created = n->rec.created;
	v.expired = srv_node_is_expired(s, n);
	buf_writer_growable(&w, STATE_NODE_JSON_MAX);
	if (netmap_node_write(&w, &v) < 0 || buf_put_u8(&w, 0) < 0) {
		buf_writer_free(&w);
		return -ENOMEM;
	}
	n->json = (char *)buf_writer_steal(&w, &n->json_len);
	n->json_len--; /* the NUL */
done:
	*json = n->json;
	*len = n->json_len;
	return 0;
}

int srv_users_json(struct srv_state *s, const char **json, size_t *len)
{
	struct buf_writer w;

	if (s->users_json == NULL) {
		buf_writer_growable(&w, 64u << 20);
		buf_put_u8(&w, '[');
		for (size_t i = 0; i < s->n_users; i++) {
			struct netmap_user u = {
				.id = s->users[i]->rec.id,
				.name = s->users[i]->rec.name,
				.display_name = s->users[i]->rec.display_name[0] != '\0' ?
							s->users[i]->rec.display_name :
							s->users[i]->rec.name,
			};
			if (i > 0)
				buf_put_u8(&w, ',');
			netmap_user_write(&w, &u);
		}
		buf_put_u8(&w, ']');
		if (buf_put_u8(&w, 0) < 0) {
			buf_writer_free(&w);
			return -ENOMEM;
		}
		s->users_json = (char *)buf_writer_steal(&w, &s->users_json_len);
		s->users_json_len--;
	}
	*json = s->users_json;
	*len = s->users_json_len;
	return 0;
}

/* ---- open and close ----------------------------------------------------------------------- */

struct state_load {
	struct srv_state *s;
	char *err;
	size_t errlen;
};

static int state_load_user(void *arg, struct db_user *rec)
{
	struct state_load *l = arg;
	struct srv_user *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return -ENOMEM;
	u->rec = *rec;
	if (state_index_user(l->s, u) < 0 ||
	    state_vec_add((void ***)&l->s->users, &l->s->n_users, &l->s->cap_users, u, &u->slot) <
		    0) {
		free(u);
		return state_fail(l->err, l->errlen, -EEXIST, "user %s is stored twice",
				  rec->name);
	}
	return 0;
}

static int state_load_pak(void *arg, struct db_preauthkey *rec)
{
	struct state_load *l = arg;
	struct srv_pak *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		db_preauthkey_clear(rec);
		return -ENOMEM;
	}
	k->rec = *rec;
	if (state_add_pak(l->s, k) < 0) {
		db_preauthkey_clear(&k->rec);
		free(k);
		return state_fail(l->err, l->errlen, -EEXIST, "pre-auth key prefix stored twice");
	}
	return 0;
}

static int state_load_api(void *arg, struct db_apikey *rec)
{
	struct state_load *l = arg;
	struct srv_apikey *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -ENOMEM;
	k->rec = *rec;
	if (nmindex_put(&l->s->api_by_prefix, k->rec.prefix, strlen(k->rec.prefix), k) < 0 ||
	    state_vec_add((void ***)&l->s->apikeys, &l->s->n_apikeys, &l->s->cap_apikeys, k,
			  &k->slot) < 0) {
		free(k);
		return state_fail(l->err, l->errlen, -EEXIST, "API key prefix stored twice");
	}
	return 0;
}

static int state_load_node(void *arg, struct db_node *rec)
{
	struct state_load *l = arg;
	struct srv_state *s = l->s;
	struct srv_node *n = calloc(1, sizeof(*n));
	char a[NETADDR_STRLEN];

	if (n == NULL) {
		db_node_clear(rec);
		return -ENOMEM;
	}
	n->rec = *rec;
	/* An address outside today's prefixes (the config changed) is kept but not managed. */
	if (n->rec.ipv4.family != NETADDR_NONE && s->ip4 != NULL &&
	    !ipalloc_is_reserved(s->ip4, &n->rec.ipv4) &&
	    ipalloc_reserve(s->ip4, &n->rec.ipv4) == -EEXIST)
		goto dup;
	if (n->rec.ipv6.family != NETADDR_NONE && s->ip6 != NULL &&
	    !ipalloc_is_reserved(s->ip6, &n->rec.ipv6) &&
	    ipalloc_reserve(s->ip6, &n->rec.ipv6) == -EEXIST)
		goto dup;
	if (state_index_node(s, n) < 0 ||
	    state_vec_add((void ***)&s->nodes, &s->n_nodes, &s->cap_nodes, n, &n->slot) < 0) {
		state_node_free(n);
		return state_fail(l->err, l->errlen, -EEXIST,
				  "node %llu: its machine key, node key or name is stored twice",
				  (unsigned long long)rec->id);
	}
	state_count_user(s, 0, n->rec.user_id);
	n->gone = srv_node_is_expired(s, n);
	if (n->rec.ephemeral)
		n->ephemeral_due = s->now() + (int64_t)(s->cfg->ephemeral_inactivity_ns /
							CLOCK_NS_PER_SEC);
	return 0;
dup:
	state_fail(l->err, l->errlen, -EEXIST, "node %llu: address %s is given to two nodes",
		   (unsigned long long)rec->id,
		   netaddr_format(n->rec.ipv4.family ? &n->rec.ipv4 : &n->rec.ipv6, a, sizeof(a)));
	state_node_free(n);
	return -EEXIST;
}

static char *state_dns_json(const struct srv_config *c)
{
	struct netmap_dns d = {
		.magic_dns = c->magic_dns,
		.base_domain = c->base_domain ? c->base_domain : (char *)"",
		.nameservers = c->nameservers.v,
		.n_nameservers = c->nameservers.n,
		.search_domains = c->search_domains.v,
		.n_search_domains = c->search_domains.n,
	};
	struct netmap_dns_split split[64];
	struct netmap_dns_record rec[256];
	struct buf_writer w;
	size_t len;

	d.n_split = c->n_split < 64 ? c->n_split : 64;
	for (size_t i = 0; i < d.n_split; i++) {
		split[i].domain = c->split[i].domain;
		split[i].nameservers = c->split[i].servers.v;
		split[i].n_nameservers = c->split[i].servers.n;
	}
	d.split = split;
	d.n_records = c->n_records < 256 ? c->n_records : 256;
	for (size_t i = 0; i < d.n_records; i++) {
		rec[i].name = c->records[i].name;
		rec[i].type = c->records[i].type;
		rec[i].value = c->records[i].value;
	}
	d.records = rec;
	buf_writer_growable(&w, 1u << 20);
	if (netmap_dns_write(&w, &d) < 0 || buf_put_u8(&w, 0) < 0) {
		buf_writer_free(&w);
		return NULL;
	}
	return (char *)buf_writer_steal(&w, &len);
}

int srv_state_open(struct srv_state **out, const struct srv_config *cfg,
		   const struct machine_private *server_key, char *err, size_t errlen)
{
	static const struct db_load_cb cb = {
		.user = state_load_user,
		.preauthkey = state_load_pak,
		.apikey = state_load_api,
		.node = state_load_node,
	};
	struct state_load l = { .err = err, .errlen = errlen };
	struct srv_state *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return state_fail(err, errlen, -ENOMEM, "out of memory");
	l.s = s;
	s->cfg = cfg;
	s->now = state_real_now;
	s->server_key = *server_key;
	nmindex_init(&s->user_by_id);
	nmindex_init(&s->user_by_name);
	nmindex_init(&s->pak_by_prefix);
	nmindex_init(&s->api_by_prefix);
	nmindex_init(&s->node_by_id);
	nmindex_init(&s->node_by_machine);
	nmindex_init(&s->node_by_key);
	nmindex_init(&s->node_by_name);
	if (machine_private_public(&s->server_pub, server_key) < 0) {
		r = state_fail(err, errlen, -EINVAL, "the server key is invalid");
		goto fail;
	}
	if ((cfg->have_v4 && (r = ipalloc_new(&cfg->prefix_v4, cfg->allocation == SRV_ALLOC_RANDOM,
					      &s->ip4)) < 0) ||
	    (cfg->have_v6 && (r = ipalloc_new(&cfg->prefix_v6, cfg->allocation == SRV_ALLOC_RANDOM,
					      &s->ip6)) < 0)) {
		state_fail(err, errlen, r, "cannot set up address allocation");
		goto fail;
	}
	if ((r = db_open(cfg, &s->db, err, errlen)) < 0)
		goto fail;
	if ((r = db_load(s->db, &cb, &l)) < 0) {
		if (err[0] == '\0' || r == -EIO)
			state_fail(err, errlen, r, "database %s is damaged: %s", db_location(s->db),
				   r == -EIO ? "a stored value does not parse" : strerror(-r));
		goto fail;
	}
	if ((s->dns_json = state_dns_json(cfg)) == NULL ||
	    (s->filter_json = strdup(netmap_filter_allow_all)) == NULL) {
		r = state_fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((r = srv_relaymap_build(cfg, &s->relaymap_json, err, errlen)) < 0) {
		if (err[0] == '\0')
			state_fail(err, errlen, r, "cannot build the relay map: %s", strerror(-r));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	srv_state_close(s);
	return r;
}

void srv_state_close(struct srv_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_nodes; i++)
		state_node_free(s->nodes[i]);
	for (size_t i = 0; i < s->n_users; i++)
		free(s->users[i]);
	for (size_t i = 0; i < s->n_paks; i++) {
		db_preauthkey_clear(&s->paks[i]->rec);
		free(s->paks[i]);
	}
	for (size_t i = 0; i < s->n_apikeys; i++)
		free(s->apikeys[i]);
	free(s->nodes);
	free(s->users);
	free(s->paks);
	free(s->apikeys);
	nmindex_fini(&s->user_by_id);
	nmindex_fini(&s->user_by_name);
	nmindex_fini(&s->pak_by_prefix);
	nmindex_fini(&s->api_by_prefix);
	nmindex_fini(&s->node_by_id);
	nmindex_fini(&s->node_by_machine);
	nmindex_fini(&s->node_by_key);
	nmindex_fini(&s->node_by_name);
	ipalloc_free(s->ip4);
	ipalloc_free(s->ip6);
	db_close(s->db);
	free(s->dns_json);
	free(s->filter_json);
	free(s->relaymap_json);
	free(s->users_json);
	keys_wipe(&s->server_key, sizeof(s->server_key));
	free(s);
}

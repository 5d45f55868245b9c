/* SPDX-License-Identifier: ISC */
/*
 * netmap: the network-map model (see netmap.h). Peers live in an array
 * (swap-remove, each node knows its slot) with hash indexes by ID, node key
 * and address. A delta is parsed and validated in full before anything is
 * touched, and every allocation the commit needs is made first, so applying
 * it cannot fail half-way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "netmap/nmindex.h"

struct netmap {
	struct netmap_node *self;
	struct netmap_node **peers;
	size_t n_peers;
	size_t cap_peers;
	struct nmindex by_id;
	struct nmindex by_key;
	struct nmindex by_addr;
	struct netmap_user **users;
	size_t n_users;
	size_t cap_users;
	struct nmindex users_by_id;
	struct netmap_dns dns;
	struct netmap_relaymap relaymap;
	json_t *filter;
	char *domain;
};

/* Frame fields; the full and delta tables share the indexes below. */
enum {
	MF_SEQ,
	MF_REQNONCE,
	MF_TYPE,
	MF_SELF,
	MF_USERS,
	MF_RELAYMAP,
	MF_DNS,
	MF_FILTER,
	MF_DOMAIN,
	MF_PEERS,
	MF_CHANGED,
	MF_REMOVED,
	MF_PATCH,
	MF_COUNT,
};

#define MF_COMMON                                                                                  \
	[MF_SEQ] = { "Seq", JSONX_UINT, 0, 0 }, [MF_REQNONCE] = { "ReqNonce", JSONX_STRING, 0, 64 }, \
	[MF_TYPE] = { "Type", JSONX_STRING, 0, 16 },                                               \
	[MF_USERS] = { "Users", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_PEERS },                     \
	[MF_RELAYMAP] = { "RelayMap", JSONX_OBJECT, JSONX_F_NULL, 0 },                             \
	[MF_DNS] = { "DNS", JSONX_OBJECT, JSONX_F_NULL, 0 },                                       \
	[MF_FILTER] = { "PacketFilter", JSONX_ARRAY, JSONX_F_NULL, 100000 },                       \
	[MF_DOMAIN] = { "Domain", JSONX_STRING, 0, NETMAP_NAME_MAX }

/* Fields of the other frame type get the name "\x01", which no key in valid input has. */
static const struct jsonx_field full_fields[MF_COUNT] = {
	MF_COMMON,
	[MF_SELF] = { "Self", JSONX_OBJECT, JSONX_F_REQUIRED, 0 },
	[MF_PEERS] = { "Peers", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_PEERS },
	[MF_CHANGED] = { "\x01", JSONX_ANY, 0, 0 },
	[MF_REMOVED] = { "\x01", JSONX_ANY, 0, 0 },
	[MF_PATCH] = { "\x01", JSONX_ANY, 0, 0 },
};

static const struct jsonx_field delta_fields[MF_COUNT] = {
	MF_COMMON,
	[MF_SELF] = { "Self", JSONX_OBJECT, JSONX_F_NULL, 0 },
	[MF_PEERS] = { "\x01", JSONX_ANY, 0, 0 },
	[MF_CHANGED] = { "PeersChanged", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_PEERS },
	[MF_REMOVED] = { "PeersRemoved", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_PEERS },
	[MF_PATCH] = { "PeersPatch", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_PEERS },
};

enum { UF_ID, UF_NAME, UF_DISPLAY, UF_COUNT };
static const struct jsonx_field user_fields[UF_COUNT] = {
	[UF_ID] = { "ID", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	[UF_NAME] = { "Name", JSONX_STRING, JSONX_F_REQUIRED, NETMAP_NAME_MAX },
	[UF_DISPLAY] = { "DisplayName", JSONX_STRING, 0, NETMAP_NAME_MAX },
};

enum { PF_ID, PF_ENDPOINTS, PF_RELAY, PF_ONLINE, PF_LAST_SEEN, PF_DISCO, PF_KEY_EXPIRY, PF_COUNT };
static const struct jsonx_field patch_fields[PF_COUNT] = {
	[PF_ID] = { "ID", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	[PF_ENDPOINTS] = { "Endpoints", JSONX_ARRAY, 0, NETMAP_MAX_ENDPOINTS },
	[PF_RELAY] = { "RelayHome", JSONX_UINT, 0, 0 },
	[PF_ONLINE] = { "Online", JSONX_BOOL, 0, 0 },
	[PF_LAST_SEEN] = { "LastSeen", JSONX_STRING, JSONX_F_NULL, 40 },
	[PF_DISCO] = { "DiscoKey", JSONX_STRING, 0, KEY_PREFIXED_MAX },
	[PF_KEY_EXPIRY] = { "KeyExpiry", JSONX_STRING, JSONX_F_NULL, 40 },
};

/* Changes */

void netmap_changes_init(struct netmap_changes *c)
{
	memset(c, 0, sizeof(*c));
}

void netmap_changes_reset(struct netmap_changes *c)
{
	c->n = 0;
	c->global = 0;
}

void netmap_changes_free(struct netmap_changes *c)
{
	free(c->v);
	netmap_changes_init(c);
}

static int netmap_changes_reserve(struct netmap_changes *c, size_t more)
{
	void *v = c->v;
	int r;

	if (c == NULL)
		return 0;
	r = mem_grow(&v, &c->cap, c->n + more, sizeof(*c->v));
	c->v = v;
	return r;
}

/* Capacity was reserved beforehand. */
static void netmap_change_add(struct netmap_changes *c, enum netmap_change_type type,
			      uint32_t fields, const struct netmap_node *n,
			      const struct node_public *old_key)
{
	struct netmap_change *x;

	if (c == NULL || c->n >= c->cap)
		return;
	x = &c->v[c->n++];
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->fields = fields;
	x->id = n->id;
	x->key = n->key;
	if (old_key != NULL)
		x->old_key = *old_key;
}

/* Lifetime */

static struct netmap *netmap_alloc(void)
{
	struct netmap *nm = mem_calloc(1, sizeof(*nm));

	if (nm == NULL)
		return NULL;
	nmindex_init(&nm->by_id);
	nmindex_init(&nm->by_key);
	nmindex_init(&nm->by_addr);
	nmindex_init(&nm->users_by_id);
	if ((nm->domain = strdup("")) == NULL) {
		free(nm);
		return NULL;
	}
	return nm;
}

static void netmap_user_free(struct netmap_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->display_name);
	free(u);
}

void netmap_free(struct netmap *nm)
{
	if (nm == NULL)
		return;
	netmap_node_free(nm->self);
	for (size_t i = 0; i < nm->n_peers; i++)
		netmap_node_free(nm->peers[i]);
	free(nm->peers);
	for (size_t i = 0; i < nm->n_users; i++)
		netmap_user_free(nm->users[i]);
	free(nm->users);
	nmindex_fini(&nm->by_id);
	nmindex_fini(&nm->by_key);
	nmindex_fini(&nm->by_addr);
	nmindex_fini(&nm->users_by_id);
	netmap_dns_clear(&nm->dns);
	netmap_relaymap_clear(&nm->relaymap);
	json_decref(nm->filter);
	free(nm->domain);
	free(nm);
}

/* Indexes. Puts after a successful reserve and validation cannot fail. */

static void netmap_must(int r)
{
	if (r < 0)
		abort(); /* broken invariant: validated and reserved beforehand */
}

static void netmap_index(struct netmap *nm, struct netmap_node *n)
{
	netmap_must(nmindex_put(&nm->by_id, &n->id, sizeof(n->id), n));
	netmap_must(nmindex_put(&nm->by_key, n->key.b, KEY_LEN, n));
	for (size_t i = 0; i < n->n_addresses; i++)
		netmap_must(nmindex_put(&nm->by_addr, &n->addresses[i].addr,
					sizeof(struct netaddr), n));
}

static void netmap_unindex(struct netmap *nm, const struct netmap_node *n)
{
	nmindex_del(&nm->by_id, &n->id, sizeof(n->id));
	nmindex_del(&nm->by_key, n->key.b, KEY_LEN);
	for (size_t i = 0; i < n->n_addresses; i++)
		if (nmindex_get(&nm->by_addr, &n->addresses[i].addr, sizeof(struct netaddr)) == n)
			nmindex_del(&nm->by_addr, &n->addresses[i].addr, sizeof(struct netaddr));
}

static size_t netmap_addr_count(struct netmap_node *const *v, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += v[i]->n_addresses;
	return c;
}

static int netmap_reserve(struct netmap *nm, size_t peers, size_t addrs)
{
	void *p = nm->peers;
	int r;

	r = mem_grow(&p, &nm->cap_peers, peers, sizeof(*nm->peers));
	nm->peers = p;
	if (r < 0 || (r = nmindex_reserve(&nm->by_id, peers)) < 0 ||
	    (r = nmindex_reserve(&nm->by_key, peers)) < 0 ||
	    (r = nmindex_reserve(&nm->by_addr, addrs)) < 0)
		return r;
	return 0;
}

static void netmap_peer_append(struct netmap *nm, struct netmap_node *n)
{
	n->nm_slot = nm->n_peers;
	nm->peers[nm->n_peers++] = n;
	netmap_index(nm, n);
}

static void netmap_peer_remove(struct netmap *nm, struct netmap_node *n)
{
	size_t slot = n->nm_slot;

	netmap_unindex(nm, n);
	nm->peers[slot] = nm->peers[--nm->n_peers];
	nm->peers[slot]->nm_slot = slot;
	netmap_node_free(n);
}

/* Users */

static int netmap_user_parse(const json_t *v, const char *path, struct netmap_user **out,
			     struct jsonx_err *err)
{
	const json_t *f[UF_COUNT];
	struct netmap_user *u;
	int r;

	*out = NULL;
	if ((r = jsonx_check(v, user_fields, UF_COUNT, f, path, err)) < 0)
		return r;
	if ((u = mem_calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	if (jsonx_uint(f[UF_ID], &u->id) < 0 || u->id == 0) {
		free(u);
		return jsonx_fail(err, path, "ID", "must be a positive integer");
	}
	u->name = strdup(jsonx_str(f[UF_NAME]));
	u->display_name = strdup(f[UF_DISPLAY] ? jsonx_str(f[UF_DISPLAY]) : "");
	if (u->name == NULL || u->display_name == NULL) {
		netmap_user_free(u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

/* Parses an array of users; duplicates within it are errors. */
static int netmap_users_parse(const json_t *v, struct netmap_user ***out, size_t *n,
			      struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t count = v ? json_array_size(v) : 0;
	struct netmap_user **a;
	struct nmindex seen;
	int r = 0;

	*n = 0;
	if ((*out = a = mem_calloc(count + 1, sizeof(*a))) == NULL)
		return -ENOMEM;
	nmindex_init(&seen);
	for (size_t i = 0; i < count && r == 0; i++) {
		jsonx_path_index(where, "Users", i);
		if ((r = netmap_user_parse(json_array_get(v, i), where, &a[i], err)) < 0)
			break;
		*n = i + 1;
		r = nmindex_put(&seen, &a[i]->id, sizeof(a[i]->id), a[i]);
		if (r == -EEXIST)
			r = jsonx_fail(err, where, "ID", "duplicate user %llu",
				       (unsigned long long)a[i]->id);
	}
	nmindex_fini(&seen);
	return r;
}

static void netmap_users_free(struct netmap_user **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		netmap_user_free(v[i]);
	free(v);
}

/* Inserts or replaces; consumes u. Capacity was reserved. */
static void netmap_user_upsert(struct netmap *nm, struct netmap_user *u)
{
	struct netmap_user *old = nmindex_get(&nm->users_by_id, &u->id, sizeof(u->id));

	if (old != NULL) {
		for (size_t i = 0; i < nm->n_users; i++)
			if (nm->users[i] == old)
				nm->users[i] = u;
		nmindex_del(&nm->users_by_id, &u->id, sizeof(u->id));
		netmap_user_free(old);
	} else {
		nm->users[nm->n_users++] = u;
	}
	netmap_must(nmindex_put(&nm->users_by_id, &u->id, sizeof(u->id), u));
}

static int netmap_users_reserve(struct netmap *nm, size_t more)
{
	void *p = nm->users;
	int r = mem_grow(&p, &nm->cap_users, nm->n_users + more, sizeof(*nm->users));

	nm->users = p;
	return r < 0 ? r : nmindex_reserve(&nm->users_by_id, nm->n_users + more);
}

/* The parts other than peers, parsed into temporaries and swapped in at commit. */
struct netmap_parts {
	struct netmap_node *self;
	struct netmap_user **users;
	size_t n_users;
	bool has_dns, has_relaymap;
	struct netmap_dns dns;
	struct netmap_relaymap relaymap;
	json_t *filter;
	char *domain;
};

static void netmap_parts_clear(struct netmap_parts *p)
{
	netmap_node_free(p->self);
	netmap_users_free(p->users, p->n_users);
	netmap_dns_clear(&p->dns);
	netmap_relaymap_clear(&p->relaymap);
	json_decref(p->filter);
	free(p->domain);
	memset(p, 0, sizeof(*p));
}

static int netmap_parts_parse(const json_t *const *f, struct netmap_parts *p,
			      struct jsonx_err *err)
{
	int r;

	if (f[MF_SELF] && (r = netmap_node_parse(f[MF_SELF], "Self", &p->self, err)) < 0)
		return r;
	if (f[MF_USERS] && (r = netmap_users_parse(f[MF_USERS], &p->users, &p->n_users, err)) < 0)
		return r;
	if ((p->has_dns = f[MF_DNS] != NULL) && (r = netmap_dns_parse(f[MF_DNS], &p->dns, err)) < 0)
		return r;
	if ((p->has_relaymap = f[MF_RELAYMAP] != NULL) &&
	    (r = netmap_relaymap_parse(f[MF_RELAYMAP], &p->relaymap, err)) < 0)
		return r;
	if (f[MF_FILTER])
		p->filter = json_incref((json_t *)f[MF_FILTER]);
	if (f[MF_DOMAIN] && (p->domain = strdup(jsonx_str(f[MF_DOMAIN]))) == NULL)
		return -ENOMEM;
	return 0;
}

static void netmap_self_commit(struct netmap *nm, struct netmap_parts *p, uint32_t *global)
{
	if (p->self == NULL)
		return;
	if (nm->self == NULL || netmap_node_diff(nm->self, p->self) != 0)
		*global |= NETMAP_G_SELF;
	netmap_node_free(nm->self);
	nm->self = p->self;
	p->self = NULL;
}

/* Swaps the parsed parts in (consuming them) and notes what changed. */
static void netmap_parts_commit(struct netmap *nm, struct netmap_parts *p, uint32_t *global)
{
	netmap_self_commit(nm, p, global);
	for (size_t i = 0; i < p->n_users; i++) {
		netmap_user_upsert(nm, p->users[i]);
		*global |= NETMAP_G_USERS;
	}
	p->n_users = 0;
	if (p->has_dns) {
		netmap_dns_clear(&nm->dns);
		nm->dns = p->dns;
		memset(&p->dns, 0, sizeof(p->dns));
		*global |= NETMAP_G_DNS;
	}
	if (p->has_relaymap) {
		netmap_relaymap_clear(&nm->relaymap);
		nm->relaymap = p->relaymap;
		memset(&p->relaymap, 0, sizeof(p->relaymap));
		*global |= NETMAP_G_RELAYMAP;
	}
	if (p->filter) {
		json_decref(nm->filter);
		nm->filter = p->filter;
		p->filter = NULL;
		*global |= NETMAP_G_FILTER;
	}
	if (p->domain) {
		free(nm->domain);
		nm->domain = p->domain;
		p->domain = NULL;
		*global |= NETMAP_G_DOMAIN;
	}
}

/* Full maps */

static int netmap_check_type(const json_t *t, const char *want, struct jsonx_err *err)
{
	if (t != NULL && strcmp(jsonx_str(t), want) != 0)
		return jsonx_fail(err, "", "Type", "expected \"%s\"", want);
	return 0;
}

static int netmap_add_peer_checked(struct netmap *nm, struct netmap_node *n, const char *path,
				   struct jsonx_err *err)
{
	if (nmindex_get(&nm->by_id, &n->id, sizeof(n->id)) || n->id == nm->self->id)
		return jsonx_fail(err, path, "ID", "duplicate node ID %llu",
				  (unsigned long long)n->id);
	if (nmindex_get(&nm->by_key, n->key.b, KEY_LEN) || keys_eq(n->key.b, nm->self->key.b))
		return jsonx_fail(err, path, "Key", "duplicate node key");
	for (size_t i = 0; i < n->n_addresses; i++)
		if (nmindex_get(&nm->by_addr, &n->addresses[i].addr, sizeof(struct netaddr)))
			return jsonx_fail(err, path, "Addresses", "address %zu is another peer's",
					  i);
	netmap_peer_append(nm, n);
	return 0;
}

static int netmap_peers_load(struct netmap *nm, const json_t *peers, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t count = peers ? json_array_size(peers) : 0;
	struct netmap_node *n;
	int r;

	if ((r = netmap_reserve(nm, count, count * 2)) < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		jsonx_path_index(where, "Peers", i);
		if ((r = netmap_node_parse(json_array_get(peers, i), where, &n, err)) < 0)
			return r;
		/* more addresses than reserved for grow the index on the way */
		if ((r = nmindex_reserve(&nm->by_addr, nm->by_addr.n + n->n_addresses)) < 0 ||
		    (r = netmap_add_peer_checked(nm, n, where, err)) < 0) {
			netmap_node_free(n);
			return r;
		}
	}
	return 0;
}

int netmap_new_from_full(const json_t *frame, struct netmap **out, struct jsonx_err *err)
{
	const json_t *f[MF_COUNT];
	struct netmap_parts parts = { 0 };
	struct netmap *nm = NULL;
	uint32_t global = 0;
	int r;

	*out = NULL;
	if ((r = jsonx_check(frame, full_fields, MF_COUNT, f, "", err)) < 0 ||
	    (r = netmap_check_type(f[MF_TYPE], "full", err)) < 0 ||
	    (r = netmap_parts_parse(f, &parts, err)) < 0)
		goto out;
	r = -ENOMEM;
	if ((nm = netmap_alloc()) == NULL || netmap_users_reserve(nm, parts.n_users) < 0)
		goto out;
	netmap_parts_commit(nm, &parts, &global);
	if ((r = netmap_peers_load(nm, f[MF_PEERS], err)) < 0)
		goto out;
	*out = nm;
	nm = NULL;
out:
	netmap_parts_clear(&parts);
	netmap_free(nm);
	return r;
}

/* Deltas */

struct netmap_patch {
	uint64_t id;
	uint32_t has; /* NETMAP_F_* present in the patch */
	struct netendpoint *endpoints;
	size_t n_endpoints;
	uint32_t relay_home;
	bool online;
	int64_t last_seen;
	struct disco_public disco;
	int64_t key_expiry;
};

struct netmap_delta {
	uint64_t *removed;
	size_t n_removed;
	struct netmap_node **changed;
	size_t n_changed;
	struct netmap_patch *patches;
	size_t n_patches;
	struct netmap_parts parts;
	struct netmap_node **old; /* commit scratch: the versions PeersChanged replaces */
	struct netmap_node *self_entry; /* the node itself, found among PeersChanged */
	struct nmindex removed_ids; /* id -> non-NULL marker */
	struct nmindex changed_ids; /* id -> new node */
	struct nmindex changed_keys;
	struct nmindex changed_addrs;
};

static void netmap_delta_init(struct netmap_delta *d)
{
	memset(d, 0, sizeof(*d));
	nmindex_init(&d->removed_ids);
	nmindex_init(&d->changed_ids);
	nmindex_init(&d->changed_keys);
	nmindex_init(&d->changed_addrs);
}

static void netmap_delta_clear(struct netmap_delta *d)
{
	free(d->removed);
	free(d->old);
	netmap_node_free(d->self_entry);
	for (size_t i = 0; i < d->n_changed; i++)
		netmap_node_free(d->changed[i]);
	free(d->changed);
	for (size_t i = 0; i < d->n_patches; i++)
		free(d->patches[i].endpoints);
	free(d->patches);
	netmap_parts_clear(&d->parts);
	nmindex_fini(&d->removed_ids);
	nmindex_fini(&d->changed_ids);
	nmindex_fini(&d->changed_keys);
	nmindex_fini(&d->changed_addrs);
}

static int netmap_removed_parse(const json_t *v, struct netmap_delta *d, struct jsonx_err *err)
{
	size_t count = v ? json_array_size(v) : 0;
	int r;

	if ((d->removed = mem_calloc(count + 1, sizeof(*d->removed))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const json_t *x = json_array_get(v, i);
		if (!json_is_integer(x) || jsonx_uint(x, &d->removed[i]) < 0 || d->removed[i] == 0)
			return jsonx_fail(err, "PeersRemoved", "", "item %zu: expected a node ID", i);
		r = nmindex_put(&d->removed_ids, &d->removed[i], sizeof(uint64_t), d);
		if (r < 0 && r != -EEXIST)
			return r;
		d->n_removed = i + 1;
	}
	return 0;
}

static int netmap_changed_index(struct netmap_delta *d, struct netmap_node *n, const char *path,
				struct jsonx_err *err)
{
	int r;

	if ((r = nmindex_put(&d->changed_ids, &n->id, sizeof(n->id), n)) == -EEXIST)
		return jsonx_fail(err, path, "ID", "node %llu appears twice",
				  (unsigned long long)n->id);
	if (r == 0 && (r = nmindex_put(&d->changed_keys, n->key.b, KEY_LEN, n)) == -EEXIST)
		return jsonx_fail(err, path, "Key", "node key appears twice");
	for (size_t i = 0; r == 0 && i < n->n_addresses; i++)
		if ((r = nmindex_put(&d->changed_addrs, &n->addresses[i].addr,
				     sizeof(struct netaddr), n)) == -EEXIST)
			return jsonx_fail(err, path, "Addresses", "address %zu appears twice", i);
	return r;
}

/*
 * The server sends one delta body to every stream, so the node itself may be
 * among PeersChanged: that entry replaces Self instead (and a patch for it
 * patches Self; its ID in PeersRemoved is ignored).
 */
static int netmap_changed_parse(const json_t *v, uint64_t self_id, struct netmap_delta *d,
				struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t count = v ? json_array_size(v) : 0;
	struct netmap_node *n;
	int r;

	if ((d->changed = mem_calloc(count + 1, sizeof(*d->changed))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		jsonx_path_index(where, "PeersChanged", i);
		if ((r = netmap_node_parse(json_array_get(v, i), where, &n, err)) < 0)
			return r;
		if (n->id == self_id) {
			netmap_node_free(d->self_entry);
			d->self_entry = n;
			continue;
		}
		d->changed[d->n_changed++] = n;
		if ((r = netmap_changed_index(d, n, where, err)) < 0)
			return r;
	}
	return 0;
}

static int netmap_patch_parse_one(const json_t *v, const char *path, struct netmap_patch *p,
				  struct jsonx_err *err)
{
	const json_t *f[PF_COUNT];
	uint64_t relay;
	int r;

	if ((r = jsonx_check(v, patch_fields, PF_COUNT, f, path, err)) < 0)
		return r;
	if (jsonx_uint(f[PF_ID], &p->id) < 0 || p->id == 0)
		return jsonx_fail(err, path, "ID", "must be a positive integer");
	if (f[PF_ENDPOINTS]) {
		p->has |= NETMAP_F_ENDPOINTS;
		p->endpoints = mem_calloc(json_array_size(f[PF_ENDPOINTS]) + 1,
					  sizeof(*p->endpoints));
		if (p->endpoints == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < json_array_size(f[PF_ENDPOINTS]); i++) {
			const char *s = jsonx_str(json_array_get(f[PF_ENDPOINTS], i));
			if (s == NULL || netendpoint_parse(s, &p->endpoints[i]) < 0)
				return jsonx_fail(err, path, "Endpoints", "item %zu: bad endpoint",
						  i);
			p->n_endpoints = i + 1;
		}
	}
	if (f[PF_RELAY]) {
		if (jsonx_uint(f[PF_RELAY], &relay) < 0 || relay > UINT32_MAX)
			return jsonx_fail(err, path, "RelayHome", "out of range");
		p->has |= NETMAP_F_RELAY_HOME;
		p->relay_home = (uint32_t)relay;
	}
	if (f[PF_ONLINE]) {
		p->has |= NETMAP_F_ONLINE;
		p->online = jsonx_bool(f[PF_ONLINE]);
	}
	if (json_object_get(v, "LastSeen")) {
		p->has |= NETMAP_F_LAST_SEEN;
		if (f[PF_LAST_SEEN] && jsonx_time_parse(jsonx_str(f[PF_LAST_SEEN]), &p->last_seen) < 0)
			return jsonx_fail(err, path, "LastSeen", "not an RFC 3339 time");
	}
	if (json_object_get(v, "KeyExpiry")) {
		p->has |= NETMAP_F_KEY_EXPIRY;
		if (f[PF_KEY_EXPIRY] &&
		    jsonx_time_parse(jsonx_str(f[PF_KEY_EXPIRY]), &p->key_expiry) < 0)
			return jsonx_fail(err, path, "KeyExpiry", "not an RFC 3339 time");
	}
	if (f[PF_DISCO]) {
		p->has |= NETMAP_F_DISCO;
		if (disco_public_parse(&p->disco, jsonx_str(f[PF_DISCO])) < 0)
			return jsonx_fail(err, path, "DiscoKey", "expected \"discokey:<hex>\"");
	}
	return 0;
}

static int netmap_patches_parse(const json_t *v, struct netmap_delta *d, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	size_t count = v ? json_array_size(v) : 0;
	int r;

	if ((d->patches = mem_calloc(count + 1, sizeof(*d->patches))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		jsonx_path_index(where, "PeersPatch", i);
		d->n_patches = i + 1;
		if ((r = netmap_patch_parse_one(json_array_get(v, i), where, &d->patches[i], err)) <
		    0)
			return r;
	}
	return 0;
}

/* Whether existing peer m leaves its key/addresses behind in this delta. */
static bool netmap_delta_frees(const struct netmap_delta *d, const struct netmap_node *m,
			       const struct netmap_node *by)
{
	const struct netmap_node *repl;

	if (m->id == by->id || nmindex_get(&d->removed_ids, &m->id, sizeof(m->id)))
		return true;
	repl = nmindex_get(&d->changed_ids, &m->id, sizeof(m->id));
	/* replaced by a version that no longer holds what `by` wants: the index check on
	 * changed_keys/changed_addrs already refused a clash between two new versions */
	return repl != NULL;
}

static bool netmap_peer_exists_after(const struct netmap *nm, const struct netmap_delta *d,
				     uint64_t id)
{
	if (nm->self && id == nm->self->id)
		return true;
	if (nmindex_get(&d->changed_ids, &id, sizeof(id)))
		return true;
	return nmindex_get(&nm->by_id, &id, sizeof(id)) &&
	       !nmindex_get(&d->removed_ids, &id, sizeof(id));
}

static int netmap_delta_validate_node(const struct netmap *nm, const struct netmap_delta *d,
				      const struct netmap_node *n, size_t i, struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	const struct netmap_node *m;

	jsonx_path_index(where, "PeersChanged", i);
	if (nm->self && keys_eq(n->key.b, nm->self->key.b))
		return jsonx_fail(err, where, "Key", "is the node's own key");
	if (nmindex_get(&d->removed_ids, &n->id, sizeof(n->id)))
		return jsonx_fail(err, where, "ID", "both removed and changed");
	m = nmindex_get(&nm->by_key, n->key.b, KEY_LEN);
	if (m != NULL && !netmap_delta_frees(d, m, n))
		return jsonx_fail(err, where, "Key", "held by peer %llu", (unsigned long long)m->id);
	for (size_t a = 0; a < n->n_addresses; a++) {
		m = nmindex_get(&nm->by_addr, &n->addresses[a].addr, sizeof(struct netaddr));
		if (m != NULL && !netmap_delta_frees(d, m, n))
			return jsonx_fail(err, where, "Addresses", "address %zu held by peer %llu",
					  a, (unsigned long long)m->id);
	}
	return 0;
}

static int netmap_delta_validate(const struct netmap *nm, const struct netmap_delta *d,
				 struct jsonx_err *err)
{
	char where[JSONX_PATH_LEN];
	int r;

	for (size_t i = 0; i < d->n_changed; i++)
		if ((r = netmap_delta_validate_node(nm, d, d->changed[i], i, err)) < 0)
			return r;
	for (size_t i = 0; i < d->n_patches; i++) {
		jsonx_path_index(where, "PeersPatch", i);
		if (!netmap_peer_exists_after(nm, d, d->patches[i].id))
			return jsonx_fail(err, where, "ID", "unknown peer %llu",
					  (unsigned long long)d->patches[i].id);
	}
	if (nm->n_peers + d->n_changed > NETMAP_MAX_PEERS)
		return jsonx_fail(err, "", "PeersChanged", "more than %d peers", NETMAP_MAX_PEERS);
	return 0;
}

static int netmap_delta_reserve(struct netmap *nm, struct netmap_delta *d,
				struct netmap_changes *ch)
{
	size_t addrs = nm->by_addr.n + netmap_addr_count(d->changed, d->n_changed);
	int r;

	if ((r = netmap_reserve(nm, nm->n_peers + d->n_changed, addrs)) < 0 ||
	    (r = netmap_users_reserve(nm, d->parts.n_users)) < 0)
		return r;
	if (ch != NULL && (r = netmap_changes_reserve(ch, d->n_removed + d->n_changed +
							       d->n_patches)) < 0)
		return r;
	if ((d->old = mem_calloc(d->n_changed + 1, sizeof(*d->old))) == NULL)
		return -ENOMEM;
	return 0;
}

static void netmap_patch_apply(struct netmap *nm, struct netmap_patch *p,
			       struct netmap_changes *ch)
{
	bool is_self = nm->self && p->id == nm->self->id;
	struct netmap_node *n = is_self ? nm->self : nmindex_get(&nm->by_id, &p->id, sizeof(p->id));
	struct netmap_node before = *n;
	uint32_t f;

	if (p->has & NETMAP_F_ENDPOINTS) {
		free(n->endpoints);
		n->endpoints = p->endpoints;
		n->n_endpoints = p->n_endpoints;
		p->endpoints = NULL;
	}
	if (p->has & NETMAP_F_RELAY_HOME)
		n->relay_home = p->relay_home;
	if (p->has & NETMAP_F_ONLINE)
		n->online = p->online;
	if (p->has & NETMAP_F_LAST_SEEN)
		n->last_seen = p->last_seen;
	if (p->has & NETMAP_F_DISCO)
		n->disco = p->disco;
	if (p->has & NETMAP_F_KEY_EXPIRY)
		n->key_expiry = p->key_expiry;
	f = p->has & ~NETMAP_F_ENDPOINTS;
	f &= (before.relay_home != n->relay_home ? NETMAP_F_RELAY_HOME : 0) |
	     (before.online != n->online ? NETMAP_F_ONLINE : 0) |
	     (before.last_seen != n->last_seen ? NETMAP_F_LAST_SEEN : 0) |
	     (!keys_eq(before.disco.b, n->disco.b) ? NETMAP_F_DISCO : 0) |
	     (before.key_expiry != n->key_expiry ? NETMAP_F_KEY_EXPIRY : 0);
	f |= p->has & NETMAP_F_ENDPOINTS; /* the old array is gone; report it as changed */
	if (f != 0 && is_self && ch != NULL)
		ch->global |= NETMAP_G_SELF;
	else if (f != 0)
		netmap_change_add(ch, NETMAP_PEER_CHANGED, f, n, NULL);
}

static void netmap_delta_commit(struct netmap *nm, struct netmap_delta *d,
				struct netmap_changes *ch)
{
	struct netmap_node **old = d->old;
	uint32_t scratch = 0, *global = ch ? &ch->global : &scratch;
	struct netmap_node *n;

	for (size_t i = 0; i < d->n_removed; i++) {
		if ((n = nmindex_get(&nm->by_id, &d->removed[i], sizeof(uint64_t))) == NULL)
			continue;
		netmap_change_add(ch, NETMAP_PEER_REMOVED, 0, n, NULL);
		netmap_peer_remove(nm, n);
	}
	/* Unindex every replaced version before indexing the new ones, so two peers may swap. */
	for (size_t i = 0; i < d->n_changed; i++)
		if ((old[i] = nmindex_get(&nm->by_id, &d->changed[i]->id, sizeof(uint64_t))))
			netmap_unindex(nm, old[i]);
	for (size_t i = 0; i < d->n_changed; i++) {
		n = d->changed[i];
		if (old[i] == NULL) {
			netmap_peer_append(nm, n);
			netmap_change_add(ch, NETMAP_PEER_ADDED, 0, n, NULL);
			continue;
		}
		n->nm_slot = old[i]->nm_slot;
		nm->peers[n->nm_slot] = n;
		netmap_index(nm, n);
		netmap_change_add(ch, NETMAP_PEER_CHANGED, netmap_node_diff(old[i], n), n,
				  &old[i]->key);
		netmap_node_free(old[i]);
	}
	d->n_changed = 0;
	/* a new Self first, so that patches naming the node apply to the new version */
	netmap_self_commit(nm, &d->parts, global);
	for (size_t i = 0; i < d->n_patches; i++)
		netmap_patch_apply(nm, &d->patches[i], ch);
	netmap_parts_commit(nm, &d->parts, global);
}

/* A Self field and the node's own PeersChanged entry must not both be present. */
static int netmap_self_entry(struct netmap_delta *d, struct jsonx_err *err)
{
	if (d->self_entry == NULL)
		return 0;
	if (d->parts.self != NULL)
		return jsonx_fail(err, "", "Self", "also present in PeersChanged");
	d->parts.self = d->self_entry;
	d->self_entry = NULL;
	return 0;
}

int netmap_apply_delta(struct netmap *nm, const json_t *frame, struct netmap_changes *ch,
		       struct jsonx_err *err)
{
	const json_t *f[MF_COUNT];
	struct netmap_delta d;
	int r;

	netmap_delta_init(&d);
	if ((r = jsonx_check(frame, delta_fields, MF_COUNT, f, "", err)) < 0 ||
	    (r = netmap_check_type(f[MF_TYPE], "delta", err)) < 0 ||
	    (r = netmap_removed_parse(f[MF_REMOVED], &d, err)) < 0 ||
	    (r = netmap_changed_parse(f[MF_CHANGED], nm->self ? nm->self->id : 0, &d, err)) < 0 ||
	    (r = netmap_patches_parse(f[MF_PATCH], &d, err)) < 0 ||
	    (r = netmap_parts_parse(f, &d.parts, err)) < 0 ||
	    (r = netmap_self_entry(&d, err)) < 0 ||
	    (r = netmap_delta_validate(nm, &d, err)) < 0 || (r = netmap_delta_reserve(nm, &d, ch)) < 0)
		goto out;
	netmap_delta_commit(nm, &d, ch);
out:
	netmap_delta_clear(&d);
	return r;
}

/* Diff and lookups */

static uint32_t netmap_global_diff(const struct netmap *old, const struct netmap *cur)
{
	struct buf_writer a, b;
	uint32_t g = 0;

	if (old->self == NULL || netmap_node_diff(old->self, cur->self) != 0)
		g |= NETMAP_G_SELF;
	if (strcmp(old->domain, cur->domain) != 0)
		g |= NETMAP_G_DOMAIN;
	if (!json_equal(old->filter, cur->filter) && (old->filter || cur->filter))
		g |= NETMAP_G_FILTER;
	buf_writer_growable(&a, SIZE_MAX);
	buf_writer_growable(&b, SIZE_MAX);
	netmap_dns_write(&a, &old->dns);
	netmap_dns_write(&b, &cur->dns);
	if (a.err || b.err || a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		g |= NETMAP_G_DNS;
	a.len = b.len = 0;
	netmap_relaymap_write(&a, &old->relaymap);
	netmap_relaymap_write(&b, &cur->relaymap);
	if (a.err || b.err || a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		g |= NETMAP_G_RELAYMAP;
	buf_writer_free(&a);
	buf_writer_free(&b);
	if (old->n_users != cur->n_users)
		g |= NETMAP_G_USERS;
	for (size_t i = 0; !(g & NETMAP_G_USERS) && i < cur->n_users; i++) {
		const struct netmap_user *u = cur->users[i], *o = netmap_user_by_id(old, u->id);
		if (o == NULL || strcmp(o->name, u->name) || strcmp(o->display_name, u->display_name))
			g |= NETMAP_G_USERS;
	}
	return g;
}

int netmap_diff(const struct netmap *old, const struct netmap *cur, struct netmap_changes *ch)
{
	int r;

	if ((r = netmap_changes_reserve(ch, old->n_peers + cur->n_peers)) < 0)
		return r;
	for (size_t i = 0; i < cur->n_peers; i++) {
		const struct netmap_node *n = cur->peers[i];
		const struct netmap_node *o = netmap_peer_by_id(old, n->id);
		uint32_t f;
		if (o == NULL)
			netmap_change_add(ch, NETMAP_PEER_ADDED, 0, n, NULL);
		else if ((f = netmap_node_diff(o, n)) != 0)
			netmap_change_add(ch, NETMAP_PEER_CHANGED, f, n, &o->key);
	}
	for (size_t i = 0; i < old->n_peers; i++)
		if (netmap_peer_by_id(cur, old->peers[i]->id) == NULL)
			netmap_change_add(ch, NETMAP_PEER_REMOVED, 0, old->peers[i], NULL);
	ch->global |= netmap_global_diff(old, cur);
	return 0;
}

const struct netmap_node *netmap_self(const struct netmap *nm)
{
	return nm->self;
}

size_t netmap_peer_count(const struct netmap *nm)
{
	return nm->n_peers;
}

const struct netmap_node *netmap_peer_at(const struct netmap *nm, size_t i)
{
	return i < nm->n_peers ? nm->peers[i] : NULL;
}

const struct netmap_node *netmap_peer_by_id(const struct netmap *nm, uint64_t id)
{
	return nmindex_get(&nm->by_id, &id, sizeof(id));
}

const struct netmap_node *netmap_peer_by_key(const struct netmap *nm, const struct node_public *k)
{
	return nmindex_get(&nm->by_key, k->b, KEY_LEN);
}

const struct netmap_node *netmap_peer_by_addr(const struct netmap *nm, const struct netaddr *a)
{
	struct netaddr key = { 0 };

	key.family = a->family;
	memcpy(key.a, a->a, netaddr_len(a));
	return nmindex_get(&nm->by_addr, &key, sizeof(key));
}

const struct netmap_user *netmap_user_by_id(const struct netmap *nm, uint64_t id)
{
	return nmindex_get(&nm->users_by_id, &id, sizeof(id));
}

const struct netmap_dns *netmap_dns(const struct netmap *nm)
{
	return &nm->dns;
}

const struct netmap_relaymap *netmap_relaymap(const struct netmap *nm)
{
	return &nm->relaymap;
}

const json_t *netmap_packet_filter(const struct netmap *nm)
{
	return nm->filter;
}

const char *netmap_domain(const struct netmap *nm)
{
	return nm->domain;
}

const char netmap_filter_allow_all[] =
	"[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":0,\"Last\":65535}}]}]";

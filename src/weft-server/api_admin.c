/* SPDX-License-Identifier: ISC */
/*
 * api_admin: the administration REST API under /api/v1 (docs/API.md), with
 * Headscale's paths and JSON field names so its web UIs and Terraform
 * provider can drive weft-server. On the main listener every call needs
 * `Authorization: Bearer <API key>`; on the local admin socket (mode 0770)
 * the socket's permissions are the authentication, as in Headscale.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "json/jsonx.h"
#include "weft-server/api_body.h"
#include "weft-server/config.h"
#include "weft-server/db.h"
#include "weft-server/mapper.h"
#include "weft-server/server.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

#define API_PREFIX "/api/v1/"

struct api_ctx {
	struct srv *srv;
	struct srv_state *st;
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	const char *path; /* after /api/v1/ */
	struct evkeyvalq query;
	json_t *body; /* the JSON body, or NULL */
	char err[SRV_ERR_LEN];
};

/* ---- JSON shapes (Headscale's v1 names) --------------------------------------------------- */

static json_t *api_time(int64_t t)
{
	char buf[JSONX_TIME_LEN];

	if (t == 0)
		return json_null();
	return json_string(jsonx_time_format(t, buf));
}

static json_t *api_id(uint64_t id)
{
	char buf[24];

	/* protobuf JSON writes uint64 as a string; Headscale's clients expect that. */
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	return json_string(buf);
}

static json_t *api_strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *api_user(const struct srv_user *u)
{
	if (u == NULL)
		return json_null();
	return json_pack("{s:o, s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "id", api_id(u->rec.id),
			 "name", u->rec.name, "createdAt", api_time(u->rec.created),
			 "displayName", u->rec.display_name, "email", u->rec.email, "providerId",
			 "", "provider", "", "profilePicUrl", "");
}

static json_t *api_pak(struct api_ctx *c, const struct srv_pak *k, const char *fulltext)
{
	char masked[AUTHKEY_TEXT_MAX];

	authkey_masked(AUTHKEY_PREAUTH, k->rec.prefix, masked);
	return json_pack("{s:o, s:o, s:s, s:b, s:b, s:b, s:o, s:o, s:o}", "user",
			 api_user(srv_user_by_id(c->st, k->rec.user_id)), "id", api_id(k->rec.id),
			 "key", fulltext ? fulltext : masked, "reusable", k->rec.reusable,
			 "ephemeral", k->rec.ephemeral, "used", k->rec.used, "expiration",
			 api_time(k->rec.expiration), "createdAt", api_time(k->rec.created),
			 "aclTags", api_strv(k->rec.tags, k->rec.n_tags));
}

static json_t *api_prefixes(const struct netprefix *p, size_t n)
{
	json_t *a = json_array();
	char buf[NETPREFIX_STRLEN];

	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(netprefix_format(&p[i], buf, sizeof(buf))));
	return a;
}

static json_t *api_node(struct api_ctx *c, struct srv_node *n)
{
	char mk[KEY_PREFIXED_MAX], nk[KEY_PREFIXED_MAX], dk[KEY_PREFIXED_MAX];
	char a4[NETADDR_STRLEN], a6[NETADDR_STRLEN];
	struct srv_pak *k = n->rec.auth_key_id ? srv_pak_by_id(c->st, n->rec.auth_key_id) : NULL;
	json_t *ips = json_array(), *o;

	if (n->rec.ipv4.family != NETADDR_NONE)
		json_array_append_new(ips, json_string(netaddr_format(&n->rec.ipv4, a4, sizeof(a4))));
	if (n->rec.ipv6.family != NETADDR_NONE)
		json_array_append_new(ips, json_string(netaddr_format(&n->rec.ipv6, a6, sizeof(a6))));
	o = json_pack("{s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:b, s:b}",
		      "id", api_id(n->rec.id), "machineKey",
		      machine_public_format(&n->rec.machine, mk, sizeof(mk)), "nodeKey",
		      node_public_format(&n->rec.key, nk, sizeof(nk)), "discoKey",
		      disco_public_format(&n->rec.disco, dk, sizeof(dk)), "ipAddresses", ips,
		      "name", n->rec.hostname, "user",
		      api_user(srv_user_by_id(c->st, n->rec.user_id)), "lastSeen",
		      api_time(n->online ? c->st->now() : n->rec.last_seen), "expiry",
		      api_time(n->rec.expiry), "createdAt", api_time(n->rec.created),
		      "registerMethod",
		      strcmp(n->rec.register_method, "authkey") == 0 ? "REGISTER_METHOD_AUTH_KEY" :
								       "REGISTER_METHOD_CLI",
		      "givenName", n->rec.given_name, "online", n->online, "ephemeral",
		      n->rec.ephemeral);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "preAuthKey", k ? api_pak(c, k, NULL) : json_null());
	json_object_set_new(o, "tags", api_strv(n->rec.tags, n->rec.n_tags));
	json_object_set_new(o, "forcedTags", api_strv(n->rec.tags, n->rec.n_tags));
	json_object_set_new(o, "validTags", api_strv(n->rec.tags, n->rec.n_tags));
	json_object_set_new(o, "invalidTags", json_array());
	json_object_set_new(o, "availableRoutes",
			    api_prefixes(n->rec.routes_advertised, n->rec.n_routes_advertised));
	json_object_set_new(o, "approvedRoutes",
			    api_prefixes(n->rec.routes_approved, n->rec.n_routes_approved));
	json_object_set_new(o, "subnetRoutes",
			    api_prefixes(n->rec.routes_approved, n->rec.n_routes_approved));
	json_object_set_new(o, "expired", json_boolean(srv_node_is_expired(c->st, n)));
	return o;
}

static json_t *api_apikey(const struct srv_apikey *k)
{
	return json_pack("{s:o, s:s, s:o, s:o, s:o}", "id", api_id(k->rec.id), "prefix",
			 k->rec.prefix, "expiration", api_time(k->rec.expiration), "createdAt",
			 api_time(k->rec.created), "lastSeen", api_time(k->rec.last_seen));
}

/* ---- replies ------------------------------------------------------------------------------ */

static void api_reply(struct api_ctx *c, int code, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (s == NULL) {
		srv_reply_error(c->req, 500, "out of memory");
		return;
	}
	srv_reply_json(c->req, code, s, strlen(s));
	free(s);
}

static void api_wrap(struct api_ctx *c, const char *key, json_t *v)
{
	api_reply(c, 200, v ? json_pack("{s:o}", key, v) : NULL);
}

/* Maps a state error to a status (docs/API.md lists them). */
static void api_fail(struct api_ctx *c, int r)
{
	int code = r == -ENOENT ? 404 : r == -EEXIST ? 409 : r == -EPERM ? 403 :
		   r == -EINVAL ? 400 : r == -ENOSPC ? 507 : 500;

	srv_reply_error(c->req, code, "%s", c->err[0] ? c->err : strerror(-r));
}

static const char *api_query(struct api_ctx *c, const char *k)
{
	return evhttp_find_header(&c->query, k);
}

/* A string field of the body (NULL when absent), and its type check. */
static const char *api_str(struct api_ctx *c, const char *k)
{
	json_t *v = c->body ? json_object_get(c->body, k) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An ID given as a number or as a decimal string (protobuf JSON). */
static bool api_body_id(struct api_ctx *c, const char *k, uint64_t *out)
{
	json_t *v = c->body ? json_object_get(c->body, k) : NULL;

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	return json_is_string(v) && numparse_u64(json_string_value(v), 1, UINT64_MAX, out) == 0;
}

static bool api_path_id(const char *s, size_t len, uint64_t *out)
{
	char buf[24];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return numparse_u64(buf, 1, UINT64_MAX, out) == 0;
}

/* Expiration in the body: RFC 3339; absent or null = never. */
static int api_body_time(struct api_ctx *c, const char *k, int64_t *out)
{
	json_t *v = c->body ? json_object_get(c->body, k) : NULL;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || jsonx_time_parse(json_string_value(v), out) < 0) {
		srv_reply_error(c->req, 400, "%s: want an RFC 3339 time like 2027-01-02T15:04:05Z",
				k);
		return -1;
	}
	/* Headscale's zero time means none. */
	if (*out < 0)
		*out = 0;
	return 0;
}

#define API_FIELDS_MAX API_BODY_FIELDS_MAX

/* Checks the body against the endpoint's fields (none: no body, or an empty object). */
static int api_fields(struct api_ctx *c, const struct jsonx_field *f, size_t n)
{
	const json_t *out[API_FIELDS_MAX];
	struct jsonx_err jerr;

	if (c->body == NULL)
		return 0;
	if (jsonx_check(c->body, f, n < API_FIELDS_MAX ? n : API_FIELDS_MAX, out, "", &jerr) < 0) {
		c->srv->rejects[SRV_REJ_MALFORMED]++;
		log_info_rl("API call refused: %s", jerr.msg);
		srv_reply_error(c->req, 400, "%s (nothing was changed)", jerr.msg);
		return -1;
	}
	return 0;
}

/* A body's nodeId, when given, must name the node of the path. */
static int api_body_node_id(struct api_ctx *c, uint64_t id)
{
	json_t *v = c->body ? json_object_get(c->body, "nodeId") : NULL;
	uint64_t got;

	if (v == NULL || json_is_null(v))
		return 0;
	if (jsonx_uint(v, &got) < 0 || got != id) {
		srv_reply_error(c->req, 400, "nodeId: %s does not match the node in the path",
				json_is_string(v) ? json_string_value(v) : "the value");
		return -1;
	}
	return 0;
}

/* An array of strings in the body; *out NULL-terminated (caller frees with jsonx_strv_free). */
static int api_body_strv(struct api_ctx *c, const char *k, char ***out, size_t *n)
{
	json_t *v = c->body ? json_object_get(c->body, k) : NULL;
	struct jsonx_err jerr;

	*out = NULL;
	*n = 0;
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_array(v) || jsonx_strv(v, 255, out, n, k, &jerr) < 0)) {
		srv_reply_error(c->req, 400, "%s: want a list of strings", k);
		return -1;
	}
	return 0;
}

/* ---- users -------------------------------------------------------------------------------- */

static void api_users_list(struct api_ctx *c)
{
	const char *name = api_query(c, "name"), *id = api_query(c, "id");
	const char *email = api_query(c, "email");
	json_t *a;

	if (api_fields(c, NULL, 0) < 0)
		return;
	a = json_array();

	for (size_t i = 0; i < c->st->n_users; i++) {
		struct srv_user *u = c->st->users[i];
		char ids[24];
		snprintf(ids, sizeof(ids), "%llu", (unsigned long long)u->rec.id);
		if ((name && strcmp(name, u->rec.name) != 0) || (id && strcmp(id, ids) != 0) ||
		    (email && strcmp(email, u->rec.email) != 0))
			continue;
		json_array_append_new(a, api_user(u));
	}
	api_wrap(c, "users", a);
}

static void api_users_create(struct api_ctx *c)
{
	const char *name = api_str(c, "name");
	struct srv_user *u;
	int r;

	if (api_fields(c, api_f_user_create, api_f_user_create_n) < 0)
		return;
	if (name == NULL) {
		srv_reply_error(c->req, 400, "name: required");
		return;
	}
	if ((r = srv_user_create(c->st, name, api_str(c, "displayName"), api_str(c, "email"), &u,
				 c->err, sizeof(c->err))) < 0) {
		api_fail(c, r);
		return;
	}
	log_info("user %s created (id %llu)", u->rec.name, (unsigned long long)u->rec.id);
	api_wrap(c, "user", api_user(u));
}

/* user/{id}/rename/{name}, user/{id} */
static void api_user_item(struct api_ctx *c, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	struct srv_user *u;
	uint64_t id;
	int r;

	if (api_fields(c, NULL, 0) < 0)
		return;
	if (!api_path_id(rest, idlen, &id) || (u = srv_user_by_id(c->st, id)) == NULL) {
		srv_reply_error(c->req, 404, "no such user");
		return;
	}
	if (slash == NULL && c->method == EVHTTP_REQ_DELETE) {
		if ((r = srv_user_delete(c->st, u, c->err, sizeof(c->err))) < 0) {
			api_fail(c, r);
			return;
		}
		api_reply(c, 200, json_object());
		return;
	}
	if (slash != NULL && strncmp(slash, "/rename/", 8) == 0 &&
	    c->method == EVHTTP_REQ_POST) {
		if ((r = srv_user_rename(c->st, u, slash + 8, c->err, sizeof(c->err))) < 0) {
			api_fail(c, r);
			return;
		}
		api_wrap(c, "user", api_user(u));
		return;
	}
	srv_reply_error(c->req, 404, "no such endpoint");
}

/* ---- pre-auth keys ------------------------------------------------------------------------ */

static struct srv_user *api_body_user(struct api_ctx *c)
{
	uint64_t id;
	const char *s = api_str(c, "user");
	struct srv_user *u = NULL;

	if (api_body_id(c, "user", &id))
		u = srv_user_by_id(c->st, id);
	else if (s != NULL)
		u = srv_user_by_name(c->st, s);
	if (u == NULL)
		srv_reply_error(c->req, 404, "no such user: %s", s ? s : "(none given)");
	return u;
}

/* The ?user= filter of a list (a name or ID), NULL without one; -1 after a 404. */
static int api_query_user(struct api_ctx *c, struct srv_user **out)
{
	const char *user = api_query(c, "user");

	*out = user ? srv_user_by_ref(c->st, user) : NULL;
	if (user != NULL && *out == NULL) {
		srv_reply_error(c->req, 404, "no such user: %s", user);
		return -1;
	}
	return 0;
}

static void api_paks_list(struct api_ctx *c)
{
	struct srv_user *u;
	json_t *a;

	if (api_fields(c, NULL, 0) < 0 || api_query_user(c, &u) < 0)
		return;
	a = json_array();
	for (size_t i = 0; i < c->st->n_paks; i++)
		if (u == NULL || c->st->paks[i]->rec.user_id == u->rec.id)
			json_array_append_new(a, api_pak(c, c->st->paks[i], NULL));
	api_wrap(c, "preAuthKeys", a);
}

static void api_paks_create(struct api_ctx *c)
{
	char text[AUTHKEY_TEXT_MAX];
	struct srv_user *u;
	struct srv_pak *k;
	char **tags;
	size_t n_tags;
	int64_t exp;
	json_t *v;
	int r;

	if (api_fields(c, api_f_pak_create, api_f_pak_create_n) < 0 ||
	    (u = api_body_user(c)) == NULL || api_body_time(c, "expiration", &exp) < 0 ||
	    api_body_strv(c, "aclTags", &tags, &n_tags) < 0)
		return;
	/* The admin tags the key's nodes: the tags must exist in the policy. */
	if ((r = srv_policy_tags_allowed(c->srv->policy, tags, n_tags, NULL, c->err,
					 sizeof(c->err))) < 0) {
		jsonx_strv_free(tags);
		api_fail(c, r);
		return;
	}
	r = srv_pak_create(c->st, u, jsonx_bool(json_object_get(c->body, "reusable")),
			   jsonx_bool(json_object_get(c->body, "ephemeral")), exp, tags, n_tags,
			   text, &k, c->err, sizeof(c->err));
	jsonx_strv_free(tags);
	if (r < 0) {
		api_fail(c, r);
		return;
	}
	log_info("pre-auth key %s created for user %s", k->rec.prefix, u->rec.name);
	v = api_pak(c, k, text);
	mem_wipe(text, sizeof(text));
	api_wrap(c, "preAuthKey", v);
}

/* The key named by id (body or query) or by its text/prefix (Headscale's older form). */
static struct srv_pak *api_find_pak(struct api_ctx *c)
{
	const char *q = api_query(c, "id"), *key = api_str(c, "key");
	uint64_t id;

	if ((api_body_id(c, "id", &id) ||
	     (q != NULL && numparse_u64(q, 1, UINT64_MAX, &id) == 0)))
		return srv_pak_by_id(c->st, id);
	if (key != NULL) {
		for (size_t i = 0; i < c->st->n_paks; i++) {
			const char *p = c->st->paks[i]->rec.prefix;
			if (strstr(key, p) != NULL)
				return c->st->paks[i];
		}
	}
	return NULL;
}

static void api_paks_expire(struct api_ctx *c)
{
	struct srv_pak *k;
	int r;

	if (api_fields(c, api_f_pak_find, api_f_pak_find_n) < 0)
		return;
	if ((k = api_find_pak(c)) == NULL) {
		srv_reply_error(c->req, 404, "no such pre-auth key");
		return;
	}
	if ((r = srv_pak_expire(c->st, k, c->err, sizeof(c->err))) < 0) {
		api_fail(c, r);
		return;
	}
	api_reply(c, 200, json_object());
}

static void api_paks_delete(struct api_ctx *c, const char *rest)
{
	struct srv_pak *k;
	uint64_t id;
	int r;

	if (api_fields(c, api_f_pak_find, api_f_pak_find_n) < 0)
		return;
	k = rest[0] != '\0' && api_path_id(rest, strlen(rest), &id) ? srv_pak_by_id(c->st, id) :
								       api_find_pak(c);
	if (k == NULL) {
		srv_reply_error(c->req, 404, "no such pre-auth key");
		return;
	}
	if ((r = srv_pak_delete(c->st, k, c->err, sizeof(c->err))) < 0) {
		api_fail(c, r);
		return;
	}
	api_reply(c, 200, json_object());
}

/* ---- nodes -------------------------------------------------------------------------------- */

static void api_nodes_list(struct api_ctx *c)
{
	struct srv_user *u;
	json_t *a;

	if (api_fields(c, NULL, 0) < 0 || api_query_user(c, &u) < 0)
		return;
	a = json_array();
	for (size_t i = 0; i < c->st->n_nodes; i++)
		if (u == NULL || c->st->nodes[i]->rec.user_id == u->rec.id)
			json_array_append_new(a, api_node(c, c->st->nodes[i]));
	api_wrap(c, "nodes", a);
}

static void api_nodes_register(struct api_ctx *c)
{
	const char *user = api_query(c, "user"), *key = api_query(c, "key");
	struct srv_node *n;
	int r;

	if (api_fields(c, api_f_node_register, api_f_node_register_n) < 0)
		return;
	if (user == NULL)
		user = api_str(c, "user");
	if (key == NULL)
		key = api_str(c, "key");
	if (user == NULL || key == NULL) {
		srv_reply_error(c->req, 400, "user and key are required");
		return;
	}
	if ((r = srv_pending_approve(c->srv, key, user, &n, c->err, sizeof(c->err))) < 0) {
		api_fail(c, r);
		return;
	}
	api_wrap(c, "node", api_node(c, n));
}

static void api_node_item(struct api_ctx *c, const char *rest)
{
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *verb = slash ? slash + 1 : "";
	struct srv_node *n;
	uint64_t id;
	int r = 0;

	if (strcmp(verb, "tags") == 0) {
		if (api_fields(c, api_f_node_tags, api_f_node_tags_n) < 0)
			return;
	} else if (strcmp(verb, "user") == 0) {
		if (api_fields(c, api_f_node_move, api_f_node_move_n) < 0)
			return;
	} else if (api_fields(c, NULL, 0) < 0) {
		return;
	}
	if (!api_path_id(rest, idlen, &id) || (n = srv_node_by_id(c->st, id)) == NULL) {
		srv_reply_error(c->req, 404, "no such node");
		return;
	}
	if (api_body_node_id(c, id) < 0)
		return;
	if (verb[0] == '\0' && c->method == EVHTTP_REQ_GET) {
		api_wrap(c, "node", api_node(c, n));
		return;
	}
	if (verb[0] == '\0' && c->method == EVHTTP_REQ_DELETE) {
		log_info("node %s (id %llu) deleted by the admin", n->rec.given_name,
			 (unsigned long long)n->rec.id);
		if ((r = srv_node_delete(c->st, n, c->err, sizeof(c->err))) < 0)
			api_fail(c, r);
		else
			api_reply(c, 200, json_object());
		return;
	}
	if (c->method != EVHTTP_REQ_POST) {
		srv_reply_error(c->req, 405, "use POST");
		return;
	}
	if (strcmp(verb, "expire") == 0) {
		const char *when = api_query(c, "expiry");
		int64_t t = 0;
		if (when != NULL && jsonx_time_parse(when, &t) < 0) {
			srv_reply_error(c->req, 400, "expiry: want an RFC 3339 time");
			return;
		}
		if (t < 0)
			t = 0;
		log_info("node %s (id %llu) expired by the admin", n->rec.given_name,
			 (unsigned long long)n->rec.id);
		if ((r = srv_node_expire(c->st, n, t, c->err, sizeof(c->err))) == 0 &&
		    (n = srv_node_by_id(c->st, id)) == NULL) {
			api_reply(c, 200, json_object()); /* an ephemeral node is deleted */
			return;
		}
	} else if (strncmp(verb, "rename/", 7) == 0) {
		r = srv_node_rename(c->st, n, verb + 7, c->err, sizeof(c->err));
	} else if (strcmp(verb, "tags") == 0) {
		char **tags;
		size_t nt;
		if (api_body_strv(c, "tags", &tags, &nt) < 0)
			return;
		r = srv_policy_tags_allowed(c->srv->policy, tags, nt, NULL, c->err, sizeof(c->err));
		if (r == 0)
			r = srv_node_set_tags(c->st, n, tags, nt, c->err, sizeof(c->err));
		jsonx_strv_free(tags);
	} else if (strcmp(verb, "user") == 0) {
		struct srv_user *u = api_body_user(c);
		if (u == NULL)
			return;
		r = srv_node_move(c->st, n, u, c->err, sizeof(c->err));
	} else {
		srv_reply_error(c->req, 404, "no such endpoint: node/%s", rest);
		return;
	}
	if (r < 0) {
		api_fail(c, r);
		return;
	}
	api_wrap(c, "node", api_node(c, n));
}

/* ---- policy ------------------------------------------------------------------------------- */

static json_t *api_policy_json(struct api_ctx *c)
{
	int64_t updated;
	const char *text = srv_policy_text(c->srv->policy, &updated);

	return json_pack("{s:s, s:o}", "policy", text, "updatedAt", api_time(updated));
}

/* The body's "policy" string, or a 400 (NULL). */
static const char *api_policy_body(struct api_ctx *c, size_t *len)
{
	json_t *v = c->body ? json_object_get(c->body, "policy") : NULL;

	if (!json_is_string(v)) {
		srv_reply_error(c->req, 400, "policy: want the policy text as a string");
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

static void api_policy_set(struct api_ctx *c)
{
	char err[SRV_POLICY_ERR_LEN];
	const char *text;
	size_t len;
	int r;

	if ((text = api_policy_body(c, &len)) == NULL)
		return;
	if ((r = srv_policy_set(c->srv->policy, text, len, err, sizeof(err))) < 0) {
		log_info("policy refused: %s", err);
		srv_reply_error(c->req, r == -EPERM ? 403 : r == -EINVAL ? 400 : 500, "%s", err);
		return;
	}
	mapper_policy_changed(c->srv->mapper);
	api_reply(c, 200, api_policy_json(c));
}

/* weft's own: validate and run the tests against the live tailnet, without setting. */
static void api_policy_check(struct api_ctx *c)
{
	char err[SRV_POLICY_ERR_LEN];
	const char *text;
	size_t len, nt = 0, ns = 0;
	int r;

	if ((text = api_policy_body(c, &len)) == NULL)
		return;
	if ((r = srv_policy_check(c->srv->policy, text, len, &nt, &ns, err, sizeof(err))) < 0) {
		srv_reply_error(c->req, r == -EINVAL ? 400 : 500, "%s", err);
		return;
	}
	api_reply(c, 200,
		  json_pack("{s:b, s:I, s:I}", "valid", 1, "tests", (json_int_t)nt, "sshTests",
			    (json_int_t)ns));
}

/* ---- API keys ----------------------------------------------------------------------------- */

static void api_apikeys_list(struct api_ctx *c)
{
	json_t *a;

	if (api_fields(c, NULL, 0) < 0)
		return;
	a = json_array();

	for (size_t i = 0; i < c->st->n_apikeys; i++)
		json_array_append_new(a, api_apikey(c->st->apikeys[i]));
	api_wrap(c, "apiKeys", a);
}

static void api_apikeys_create(struct api_ctx *c)
{
	char text[AUTHKEY_TEXT_MAX];
	struct srv_apikey *k;
	int64_t exp;
	int r;

	if (api_fields(c, api_f_apikey_create, api_f_apikey_create_n) < 0 ||
	    api_body_time(c, "expiration", &exp) < 0)
		return;
	if ((r = srv_apikey_create(c->st, exp, text, &k, c->err, sizeof(c->err))) < 0) {
		api_fail(c, r);
		return;
	}
	log_info("API key %s created", k->rec.prefix);
	api_reply(c, 200, json_pack("{s:s}", "apiKey", text));
	mem_wipe(text, sizeof(text));
}

static void api_apikey_by(struct api_ctx *c, const char *prefix, bool delete)
{
	struct srv_apikey *k;
	int r;

	if (prefix == NULL || (k = srv_apikey_by_prefix(c->st, prefix)) == NULL) {
		srv_reply_error(c->req, 404, "no such API key");
		return;
	}
	r = delete ? srv_apikey_delete(c->st, k, c->err, sizeof(c->err)) :
		     srv_apikey_expire(c->st, k, c->err, sizeof(c->err));
	if (r < 0)
		api_fail(c, r);
	else
		api_reply(c, 200, json_object());
}

/* ---- routing ------------------------------------------------------------------------------ */

static bool api_is(struct api_ctx *c, enum evhttp_cmd_type m, const char *path)
{
	return c->method == m && strcmp(c->path, path) == 0;
}

static void api_dispatch(struct api_ctx *c)
{
	const char *p = c->path;

	if (api_is(c, EVHTTP_REQ_GET, "health"))
		api_reply(c, 200, json_pack("{s:b}", "databaseConnectivity", 1));
	else if (api_is(c, EVHTTP_REQ_GET, "user"))
		api_users_list(c);
	else if (api_is(c, EVHTTP_REQ_POST, "user"))
		api_users_create(c);
	else if (strncmp(p, "user/", 5) == 0)
		api_user_item(c, p + 5);
	else if (api_is(c, EVHTTP_REQ_GET, "preauthkey"))
		api_paks_list(c);
	else if (api_is(c, EVHTTP_REQ_POST, "preauthkey"))
		api_paks_create(c);
	else if (api_is(c, EVHTTP_REQ_POST, "preauthkey/expire"))
		api_paks_expire(c);
	else if (c->method == EVHTTP_REQ_DELETE && strcmp(p, "preauthkey") == 0)
		api_paks_delete(c, "");
	else if (c->method == EVHTTP_REQ_DELETE && strncmp(p, "preauthkey/", 11) == 0)
		api_paks_delete(c, p + 11);
	else if (api_is(c, EVHTTP_REQ_GET, "node"))
		api_nodes_list(c);
	else if (api_is(c, EVHTTP_REQ_POST, "node/register"))
		api_nodes_register(c);
	else if (strncmp(p, "node/", 5) == 0)
		api_node_item(c, p + 5);
	else if (api_is(c, EVHTTP_REQ_GET, "policy"))
		api_reply(c, 200, api_policy_json(c));
	else if (api_is(c, EVHTTP_REQ_PUT, "policy"))
		api_policy_set(c);
	else if (api_is(c, EVHTTP_REQ_POST, "policy/check"))
		api_policy_check(c);
	else if (api_is(c, EVHTTP_REQ_GET, "apikey"))
		api_apikeys_list(c);
	else if (api_is(c, EVHTTP_REQ_POST, "apikey"))
		api_apikeys_create(c);
	else if (api_is(c, EVHTTP_REQ_POST, "apikey/expire")) {
		if (api_fields(c, api_f_apikey_expire, api_f_apikey_expire_n) == 0)
			api_apikey_by(c, api_str(c, "prefix"), false);
	} else if (c->method == EVHTTP_REQ_DELETE && strncmp(p, "apikey/", 7) == 0) {
		if (api_fields(c, NULL, 0) == 0)
			api_apikey_by(c, p + 7, true);
	}
	else
		srv_reply_error(c->req, 404, "no such endpoint: /api/v1/%s", p);
}

/* Bearer authentication for calls from the network. */
static bool api_authorized(struct srv *srv, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	if (h != NULL && strncmp(h, "Bearer ", 7) == 0 && srv_apikey_check(srv->st, h + 7))
		return true;
	srv->rejects[SRV_REJ_APIKEY]++;
	log_info_rl("API call refused: %s", h == NULL ? "no Authorization header" :
							"invalid or expired API key");
	srv_reply_error(req, 401,
			h == NULL ? "Unauthorized: send Authorization: Bearer <API key> (create "
				    "one with weft-server apikeys create)"
				  : "Unauthorized: invalid or expired API key");
	return false;
}

void srv_api_route(struct srv *srv, struct evhttp_request *req, const char *path, bool trusted)
{
	struct api_ctx c = { .srv = srv, .st = srv->st, .req = req };
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = evhttp_uri_get_query(uri);
	struct jsonx_err jerr;
	const uint8_t *body;
	size_t len;

	srv->requests_api++;
	if (!trusted && !api_authorized(srv, req))
		return;
	c.method = evhttp_request_get_command(req);
	c.path = path + strlen(API_PREFIX);
	TAILQ_INIT(&c.query);
	if (q != NULL && evhttp_parse_query_str(q, &c.query) < 0) {
		srv_reply_error(req, 400, "malformed query string");
		return;
	}
	body = srv_body(req, &len);
	if (len > API_BODY_MAX) {
		srv->rejects[SRV_REJ_TOOLARGE]++;
		srv_reply_error(req, 413, "body too large (at most 1 MiB)");
		goto out;
	}
	if (len > 0) {
		if (jsonx_load(body, len, &c.body, &jerr) < 0) {
			srv->rejects[SRV_REJ_MALFORMED]++;
			log_info_rl("API call refused: malformed JSON body: %s", jerr.msg);
			srv_reply_error(req, 400, "malformed JSON body: %s", jerr.msg);
			goto out;
		}
		if (!json_is_object(c.body)) {
			srv->rejects[SRV_REJ_MALFORMED]++;
			srv_reply_error(req, 400, "the body must be a JSON object");
			goto out;
		}
	}
	api_dispatch(&c);
out:
	json_decref(c.body);
	evhttp_clear_headers(&c.query);
}

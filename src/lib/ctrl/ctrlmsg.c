/* SPDX-License-Identifier: ISC */
/*
 * ctrlmsg: the typed register, map and logout messages of the control
 * protocol (docs/PROTOCOL.md 3.4): encoders to JSON, strict decoders through
 * field tables that refuse unknown fields.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"

/* Copies a checked string field into a fixed buffer (bounds come from the table). */
static void ctrl_copy(char *dst, size_t cap, const json_t *v)
{
	const char *s = jsonx_str(v);

	snprintf(dst, cap, "%s", s ? s : "");
}

static int ctrl_set_key(json_t *o, const char *name, const char *text)
{
	return json_object_set_new(o, name, json_string(text));
}

/* Register */

enum { RQ_NODE_KEY, RQ_OLD_KEY, RQ_AUTH_KEY, RQ_HOSTNAME, RQ_OS, RQ_TAGS, RQ_FOLLOWUP, RQ_COUNT };
static const struct jsonx_field register_fields[RQ_COUNT] = {
	[RQ_NODE_KEY] = { "NodeKey", JSONX_STRING, JSONX_F_REQUIRED, KEY_PREFIXED_MAX },
	[RQ_OLD_KEY] = { "OldNodeKey", JSONX_STRING, 0, KEY_PREFIXED_MAX },
	[RQ_AUTH_KEY] = { "AuthKey", JSONX_STRING, 0, CTRL_AUTHKEY_MAX },
	[RQ_HOSTNAME] = { "Hostname", JSONX_STRING, 0, CTRL_HOSTNAME_MAX },
	[RQ_OS] = { "OS", JSONX_STRING, 0, CTRL_OS_MAX },
	[RQ_TAGS] = { "Tags", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_TAGS },
	[RQ_FOLLOWUP] = { "Followup", JSONX_STRING, 0, CTRL_AUTHID_MAX },
};

static json_t *ctrl_strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

int ctrl_register_request_encode(const struct ctrl_register_request *r, json_t **out)
{
	char k[KEY_PREFIXED_MAX];
	json_t *o = json_object();
	int bad = o == NULL;

	bad |= ctrl_set_key(o, "NodeKey", node_public_format(&r->node_key, k, sizeof(k)));
	if (!keys_is_zero(r->old_node_key.b))
		bad |= ctrl_set_key(o, "OldNodeKey",
				    node_public_format(&r->old_node_key, k, sizeof(k)));
	if (r->auth_key[0] != '\0')
		bad |= json_object_set_new(o, "AuthKey", json_string(r->auth_key));
	bad |= json_object_set_new(o, "Hostname", json_string(r->hostname));
	bad |= json_object_set_new(o, "OS", json_string(r->os));
	bad |= json_object_set_new(o, "Tags", ctrl_strv_json(r->tags, r->n_tags));
	if (r->followup[0] != '\0')
		bad |= json_object_set_new(o, "Followup", json_string(r->followup));
	if (bad) {
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

int ctrl_register_request_decode(const json_t *v, struct ctrl_register_request *r,
				 struct jsonx_err *err)
{
	const json_t *f[RQ_COUNT];
	int e;

	memset(r, 0, sizeof(*r));
	if ((e = jsonx_check(v, register_fields, RQ_COUNT, f, "", err)) < 0)
		return e;
	if (node_public_parse(&r->node_key, jsonx_str(f[RQ_NODE_KEY])) < 0 ||
	    keys_is_zero(r->node_key.b))
		return jsonx_fail(err, "", "NodeKey", "expected \"nodekey:<64 hex digits>\"");
	if (f[RQ_OLD_KEY] && node_public_parse(&r->old_node_key, jsonx_str(f[RQ_OLD_KEY])) < 0)
		return jsonx_fail(err, "", "OldNodeKey", "expected \"nodekey:<64 hex digits>\"");
	ctrl_copy(r->auth_key, sizeof(r->auth_key), f[RQ_AUTH_KEY]);
	ctrl_copy(r->hostname, sizeof(r->hostname), f[RQ_HOSTNAME]);
	ctrl_copy(r->os, sizeof(r->os), f[RQ_OS]);
	ctrl_copy(r->followup, sizeof(r->followup), f[RQ_FOLLOWUP]);
	if ((e = jsonx_strv(f[RQ_TAGS], NETMAP_NAME_MAX, &r->tags, &r->n_tags, "Tags", err)) < 0) {
		ctrl_register_request_wipe(r);
		return e;
	}
	return 0;
}

void ctrl_register_request_wipe(struct ctrl_register_request *r)
{
	jsonx_strv_free(r->tags);
	r->tags = NULL;
	r->n_tags = 0;
	mem_wipe(r->auth_key, sizeof(r->auth_key));
}

int ctrl_register_response_write(struct buf_writer *w, const struct ctrl_register_response *r)
{
	buf_printf(w, "{\"MachineAuthorized\":%s,\"NodeKeyExpired\":%s",
		   r->machine_authorized ? "true" : "false", r->node_key_expired ? "true" : "false");
	if (r->auth_url != NULL) {
		buf_put_str(w, ",\"AuthURL\":");
		jsonx_write_str(w, r->auth_url);
	}
	if (r->user_name != NULL) {
		buf_printf(w, ",\"User\":{\"ID\":%llu,\"Name\":", (unsigned long long)r->user_id);
		jsonx_write_str(w, r->user_name);
		buf_put_u8(w, '}');
	}
	if (r->node != NULL) {
		buf_put_str(w, ",\"Node\":");
		netmap_node_write(w, r->node);
	}
	if (r->error != NULL) {
		buf_put_str(w, ",\"Error\":");
		jsonx_write_str(w, r->error);
	}
	buf_put_u8(w, '}');
	return w->err ? -ENOSPC : 0;
}

enum { RS_AUTHORIZED, RS_EXPIRED, RS_URL, RS_USER, RS_NODE, RS_ERROR, RS_COUNT };
static const struct jsonx_field register_response_fields[RS_COUNT] = {
	[RS_AUTHORIZED] = { "MachineAuthorized", JSONX_BOOL, 0, 0 },
	[RS_EXPIRED] = { "NodeKeyExpired", JSONX_BOOL, 0, 0 },
	[RS_URL] = { "AuthURL", JSONX_STRING, 0, 1024 },
	[RS_USER] = { "User", JSONX_OBJECT, 0, 0 },
	[RS_NODE] = { "Node", JSONX_OBJECT, JSONX_F_NULL, 0 },
	[RS_ERROR] = { "Error", JSONX_STRING, 0, 1024 },
};

enum { RU_ID, RU_NAME, RU_COUNT };
static const struct jsonx_field register_user_fields[RU_COUNT] = {
	[RU_ID] = { "ID", JSONX_UINT, JSONX_F_REQUIRED, 0 },
	[RU_NAME] = { "Name", JSONX_STRING, JSONX_F_REQUIRED, NETMAP_NAME_MAX },
};

static char *ctrl_strdup_field(const json_t *v, int *bad)
{
	char *s;

	if (v == NULL)
		return NULL;
	if ((s = strdup(jsonx_str(v))) == NULL)
		*bad = 1;
	return s;
}

int ctrl_register_response_decode(const json_t *v, struct ctrl_register_response *r,
				  struct jsonx_err *err)
{
	const json_t *f[RS_COUNT], *u[RU_COUNT];
	int e, bad = 0;

	memset(r, 0, sizeof(*r));
	if ((e = jsonx_check(v, register_response_fields, RS_COUNT, f, "", err)) < 0)
		return e;
	if (f[RS_USER]) {
		if ((e = jsonx_check(f[RS_USER], register_user_fields, RU_COUNT, u, "User", err)) <
			    0 ||
		    (e = jsonx_uint(u[RU_ID], &r->user_id)) < 0)
			return e < 0 && err ? jsonx_fail(err, "User", "", "malformed") : e;
		r->user_name = ctrl_strdup_field(u[RU_NAME], &bad);
	}
	r->machine_authorized = jsonx_bool(f[RS_AUTHORIZED]);
	r->node_key_expired = jsonx_bool(f[RS_EXPIRED]);
	r->auth_url = ctrl_strdup_field(f[RS_URL], &bad);
	r->error = ctrl_strdup_field(f[RS_ERROR], &bad);
	if (!bad && f[RS_NODE] && (e = netmap_node_parse(f[RS_NODE], "Node", &r->node, err)) < 0) {
		ctrl_register_response_clear(r);
		return e;
	}
	if (bad) {
		ctrl_register_response_clear(r);
		return -ENOMEM;
	}
	return 0;
}

void ctrl_register_response_clear(struct ctrl_register_response *r)
{
	free(r->auth_url);
	free(r->user_name);
	free(r->error);
	netmap_node_free(r->node);
	memset(r, 0, sizeof(*r));
}

/* Map */

enum { MQ_NODE_KEY, MQ_DISCO, MQ_ENDPOINTS, MQ_HOSTINFO, MQ_RELAY, MQ_STREAM, MQ_OMIT, MQ_COUNT };
static const struct jsonx_field map_fields[MQ_COUNT] = {
	[MQ_NODE_KEY] = { "NodeKey", JSONX_STRING, JSONX_F_REQUIRED, KEY_PREFIXED_MAX },
	[MQ_DISCO] = { "DiscoKey", JSONX_STRING, 0, KEY_PREFIXED_MAX },
	[MQ_ENDPOINTS] = { "Endpoints", JSONX_ARRAY, JSONX_F_NULL, NETMAP_MAX_ENDPOINTS },
	[MQ_HOSTINFO] = { "Hostinfo", JSONX_OBJECT, JSONX_F_NULL, 0 },
	[MQ_RELAY] = { "RelayHome", JSONX_UINT, 0, 0 },
	[MQ_STREAM] = { "Stream", JSONX_BOOL, 0, 0 },
	[MQ_OMIT] = { "OmitPeers", JSONX_BOOL, 0, 0 },
};

enum { HI_HOSTNAME, HI_OS, HI_COUNT };
static const struct jsonx_field hostinfo_fields[HI_COUNT] = {
	[HI_HOSTNAME] = { "Hostname", JSONX_STRING, 0, CTRL_HOSTNAME_MAX },
	[HI_OS] = { "OS", JSONX_STRING, 0, CTRL_OS_MAX },
};

int ctrl_map_request_encode(const struct ctrl_map_request *r, json_t **out)
{
	char k[KEY_PREFIXED_MAX], ep[NETENDPOINT_STRLEN];
	json_t *o = json_object(), *eps = json_array(), *hi = json_object();
	int bad = !o || !eps || !hi;

	for (size_t i = 0; !bad && i < r->n_endpoints; i++)
		bad |= json_array_append_new(
			eps, json_string(netendpoint_format(&r->endpoints[i], ep, sizeof(ep))));
	bad |= json_object_set_new(hi, "Hostname", json_string(r->hostname));
	bad |= json_object_set_new(hi, "OS", json_string(r->os));
	bad |= ctrl_set_key(o, "NodeKey", node_public_format(&r->node_key, k, sizeof(k)));
	bad |= ctrl_set_key(o, "DiscoKey", disco_public_format(&r->disco_key, k, sizeof(k)));
	bad |= json_object_set(o, "Endpoints", eps);
	bad |= json_object_set(o, "Hostinfo", hi);
	bad |= json_object_set_new(o, "RelayHome", json_integer(r->relay_home));
	bad |= json_object_set_new(o, "Stream", json_boolean(r->stream));
	if (r->omit_peers)
		bad |= json_object_set_new(o, "OmitPeers", json_true());
	json_decref(eps);
	json_decref(hi);
	if (bad) {
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

static int ctrl_map_endpoints(const json_t *v, struct ctrl_map_request *r, struct jsonx_err *err)
{
	size_t n = v ? json_array_size(v) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = jsonx_str(json_array_get(v, i));
		if (s == NULL || netendpoint_parse(s, &r->endpoints[i]) < 0)
			return jsonx_fail(err, "", "Endpoints",
					  "item %zu: expected \"ip:port\" or \"[ip6]:port\"", i);
	}
	r->n_endpoints = n;
	return 0;
}

int ctrl_map_request_decode(const json_t *v, struct ctrl_map_request *r, struct jsonx_err *err)
{
	const json_t *f[MQ_COUNT], *h[HI_COUNT] = { NULL, NULL };
	uint64_t relay;
	int e;

	memset(r, 0, sizeof(*r));
	if ((e = jsonx_check(v, map_fields, MQ_COUNT, f, "", err)) < 0 ||
	    (f[MQ_HOSTINFO] &&
	     (e = jsonx_check(f[MQ_HOSTINFO], hostinfo_fields, HI_COUNT, h, "Hostinfo", err)) < 0))
		return e;
	if (node_public_parse(&r->node_key, jsonx_str(f[MQ_NODE_KEY])) < 0)
		return jsonx_fail(err, "", "NodeKey", "expected \"nodekey:<64 hex digits>\"");
	if (f[MQ_DISCO] && disco_public_parse(&r->disco_key, jsonx_str(f[MQ_DISCO])) < 0)
		return jsonx_fail(err, "", "DiscoKey", "expected \"discokey:<64 hex digits>\"");
	if (jsonx_uint(f[MQ_RELAY], &relay) < 0 || relay > UINT32_MAX)
		return jsonx_fail(err, "", "RelayHome", "must be a region ID below 2^32");
	r->relay_home = (uint32_t)relay;
	r->stream = jsonx_bool(f[MQ_STREAM]);
	r->omit_peers = jsonx_bool(f[MQ_OMIT]);
	ctrl_copy(r->hostname, sizeof(r->hostname), h[HI_HOSTNAME]);
	ctrl_copy(r->os, sizeof(r->os), h[HI_OS]);
	return ctrl_map_endpoints(f[MQ_ENDPOINTS], r, err);
}

/* Logout */

static const struct jsonx_field logout_fields[] = {
	{ "NodeKey", JSONX_STRING, JSONX_F_REQUIRED, KEY_PREFIXED_MAX },
};

int ctrl_logout_request_encode(const struct ctrl_logout_request *r, json_t **out)
{
	char k[KEY_PREFIXED_MAX];
	json_t *o = json_object();

	if (o == NULL || ctrl_set_key(o, "NodeKey", node_public_format(&r->node_key, k,
								       sizeof(k))) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

int ctrl_logout_request_decode(const json_t *v, struct ctrl_logout_request *r,
			       struct jsonx_err *err)
{
	const json_t *f[1];
	int e;

	memset(r, 0, sizeof(*r));
	if ((e = jsonx_check(v, logout_fields, 1, f, "", err)) < 0)
		return e;
	if (node_public_parse(&r->node_key, jsonx_str(f[0])) < 0)
		return jsonx_fail(err, "", "NodeKey", "expected \"nodekey:<64 hex digits>\"");
	return 0;
}

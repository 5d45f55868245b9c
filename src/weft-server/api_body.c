/* SPDX-License-Identifier: ISC */
/*
 * api_body: the REST API's request bodies, without the HTTP around them:
 * the fields each endpoint takes (Headscale's v1 names) and the decoder
 * api_admin.c applies before anything changes. Here so that it can be
 * unit-tested and fuzzed without a server.
 */
#include <errno.h>
#include <string.h>

#include "json/jsonx.h"
#include "weft-server/api_body.h"
#include "weft-server/db.h"

/*
 * The body fields each endpoint takes, with Headscale's v1 JSON names. A body
 * with any other field, or a field of the wrong type, is refused before
 * anything changes: a typo ("reuseable") must not silently mean "false".
 */
const struct jsonx_field api_f_user_create[] = {
	{ "name", JSONX_STRING, 0, DB_USER_NAME_MAX },
	{ "displayName", JSONX_STRING, JSONX_F_NULL, DB_USER_NAME_MAX },
	{ "email", JSONX_STRING, JSONX_F_NULL, DB_USER_NAME_MAX },
	{ "pictureUrl", JSONX_STRING, JSONX_F_NULL, 0 }, /* accepted, not kept */
};
const struct jsonx_field api_f_pak_create[] = {
	{ "user", JSONX_ANY, 0, 0 }, /* an ID (number or decimal string) or a name */
	{ "reusable", JSONX_BOOL, JSONX_F_NULL, 0 },
	{ "ephemeral", JSONX_BOOL, JSONX_F_NULL, 0 },
	{ "expiration", JSONX_STRING, JSONX_F_NULL, 64 },
	{ "aclTags", JSONX_ARRAY, JSONX_F_NULL, 64 },
};
const struct jsonx_field api_f_pak_find[] = {
	{ "user", JSONX_ANY, 0, 0 }, /* Headscale sends it; the key names itself */
	{ "key", JSONX_STRING, 0, 256 },
	{ "id", JSONX_UINT, JSONX_F_STRNUM, 0 },
};
const struct jsonx_field api_f_node_register[] = {
	{ "user", JSONX_STRING, 0, DB_USER_NAME_MAX },
	{ "key", JSONX_STRING, 0, 256 },
};
const struct jsonx_field api_f_node_tags[] = {
	{ "nodeId", JSONX_UINT, JSONX_F_STRNUM, 0 },
	{ "tags", JSONX_ARRAY, JSONX_F_NULL, 64 },
};
const struct jsonx_field api_f_node_move[] = {
	{ "nodeId", JSONX_UINT, JSONX_F_STRNUM, 0 },
	{ "user", JSONX_ANY, 0, 0 },
};
const struct jsonx_field api_f_apikey_create[] = {
	{ "expiration", JSONX_STRING, JSONX_F_NULL, 64 },
};
const struct jsonx_field api_f_apikey_expire[] = {
	{ "prefix", JSONX_STRING, 0, 64 },
};

const size_t api_f_user_create_n = sizeof(api_f_user_create) / sizeof(api_f_user_create[0]);
const size_t api_f_pak_create_n = sizeof(api_f_pak_create) / sizeof(api_f_pak_create[0]);
const size_t api_f_pak_find_n = sizeof(api_f_pak_find) / sizeof(api_f_pak_find[0]);
const size_t api_f_node_register_n = sizeof(api_f_node_register) / sizeof(api_f_node_register[0]);
const size_t api_f_node_tags_n = sizeof(api_f_node_tags) / sizeof(api_f_node_tags[0]);
const size_t api_f_node_move_n = sizeof(api_f_node_move) / sizeof(api_f_node_move[0]);
const size_t api_f_apikey_create_n = sizeof(api_f_apikey_create) / sizeof(api_f_apikey_create[0]);
const size_t api_f_apikey_expire_n = sizeof(api_f_apikey_expire) / sizeof(api_f_apikey_expire[0]);

const struct api_body_kind api_body_kinds[] = {
	{ "user_create", api_f_user_create, sizeof(api_f_user_create) / sizeof(api_f_user_create[0]) },
	{ "pak_create", api_f_pak_create, sizeof(api_f_pak_create) / sizeof(api_f_pak_create[0]) },
	{ "pak_find", api_f_pak_find, sizeof(api_f_pak_find) / sizeof(api_f_pak_find[0]) },
	{ "node_register", api_f_node_register, sizeof(api_f_node_register) / sizeof(api_f_node_register[0]) },
	{ "node_tags", api_f_node_tags, sizeof(api_f_node_tags) / sizeof(api_f_node_tags[0]) },
	{ "node_move", api_f_node_move, sizeof(api_f_node_move) / sizeof(api_f_node_move[0]) },
	{ "apikey_create", api_f_apikey_create, sizeof(api_f_apikey_create) / sizeof(api_f_apikey_create[0]) },
	{ "apikey_expire", api_f_apikey_expire, sizeof(api_f_apikey_expire) / sizeof(api_f_apikey_expire[0]) },
};
const size_t api_body_nkinds = sizeof(api_body_kinds) / sizeof(api_body_kinds[0]);

int api_body_decode(const void *buf, size_t len, const struct jsonx_field *f, size_t n,
		    json_t **out, struct jsonx_err *err)
{
	const json_t *vals[API_BODY_FIELDS_MAX];
	json_t *j = NULL;

	*out = NULL;
	if (len > API_BODY_MAX)
		return jsonx_fail(err, "", "", "body too large (at most 1 MiB)");
	if (len > 0) {
		if (jsonx_load(buf, len, &j, err) < 0)
			return -EINVAL;
		if (!json_is_object(j)) {
			json_decref(j);
			return jsonx_fail(err, "", "", "the body must be a JSON object");
		}
		if (jsonx_check(j, f, n < API_BODY_FIELDS_MAX ? n : API_BODY_FIELDS_MAX, vals, "",
				err) < 0) {
			json_decref(j);
			return -EINVAL;
		}
	}
	*out = j;
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * api_body: the REST API's request bodies without HTTP: each endpoint's
 * field table and the decoder (docs/API.md). Unknown or mistyped fields are
 * refused before anything changes.
 */
#ifndef WEFT_SERVER_API_BODY_H
#define WEFT_SERVER_API_BODY_H

#include <stddef.h>

#include <jansson.h>

#include "json/jsonx.h"

#define API_BODY_MAX (1u << 20)
#define API_BODY_FIELDS_MAX 8 /* the longest table */

extern const struct jsonx_field api_f_user_create[];
extern const size_t api_f_user_create_n;
extern const struct jsonx_field api_f_pak_create[];
extern const size_t api_f_pak_create_n;
extern const struct jsonx_field api_f_pak_find[];
extern const size_t api_f_pak_find_n;
extern const struct jsonx_field api_f_node_register[];
extern const size_t api_f_node_register_n;
extern const struct jsonx_field api_f_node_tags[];
extern const size_t api_f_node_tags_n;
extern const struct jsonx_field api_f_node_move[];
extern const size_t api_f_node_move_n;
extern const struct jsonx_field api_f_apikey_create[];
extern const size_t api_f_apikey_create_n;
extern const struct jsonx_field api_f_apikey_expire[];
extern const size_t api_f_apikey_expire_n;

/* Every table by name, for tests and the fuzzer. */
struct api_body_kind {
	const char *name;
	const struct jsonx_field *fields;
	size_t n;
};
extern const struct api_body_kind api_body_kinds[];
extern const size_t api_body_nkinds;

/*
 * One body: at most API_BODY_MAX bytes of one JSON object whose keys are in
 * `f` with their types; empty is no body (*out NULL). *out is a new
 * reference on success; err names the field on failure (-EINVAL).
 */
int api_body_decode(const void *buf, size_t len, const struct jsonx_field *f, size_t n,
		    json_t **out, struct jsonx_err *err) __attribute__((warn_unused_result));

#endif

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_srvapi: arbitrary bytes as a REST request body for one of
 * weft-server's endpoints (the first byte picks which): api_body_decode must
 * accept only a JSON object whose fields are in that endpoint's table, name
 * the field when it refuses, and never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft-server/api_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct api_body_kind *k;
	struct jsonx_err err;
	const char *key;
	json_t *j, *v;

	if (size < 1)
		return 0;
	k = &api_body_kinds[data[0] % api_body_nkinds];
	memset(&err, 0, sizeof(err));
	if (api_body_decode(data + 1, size - 1, k->fields, k->n, &j, &err) != 0) {
		if (j != NULL || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
		return 0;
	}
	if (size == 1) {
		if (j != NULL)
			abort();
		return 0;
	}
	/* Accepted: an object, and every key is one the endpoint takes. */
	if (!json_is_object(j))
		abort();
	json_object_foreach(j, key, v)
	{
		size_t i;
		for (i = 0; i < k->n && strcmp(k->fields[i].name, key) != 0; i++)
			;
		if (i == k->n)
			abort();
	}
	json_decref(j);
	return 0;
}

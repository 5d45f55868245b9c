/* SPDX-License-Identifier: ISC */
/*
 * fuzz_yamlx: arbitrary bytes through yamlx_parse (libyaml's event parser
 * into weft's bounded tree). A refusal must say why; an accepted tree must
 * respect the documented limits (depth, node count, keys unique per mapping)
 * and every mapping lookup must find its own keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yaml/yamlx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct yamlx_node *n, unsigned depth)
{
	size_t count = 1;

	if (n == NULL || depth > YAMLX_MAX_DEPTH + 1)
		abort();
	if (n->kind == YAMLX_SCALAR) {
		if (n->str == NULL || n->n != 0)
			abort();
		return 1;
	}
	if (n->kind != YAMLX_SEQ && n->kind != YAMLX_MAP)
		abort();
	for (size_t i = 0; i < n->n; i++) {
		if (n->kind == YAMLX_MAP) {
			if (n->keys[i] == NULL || yamlx_get(n, n->keys[i]) != n->items[i])
				abort(); /* a duplicate key would find the first */
		}
		count += walk(n->items[i], depth + 1);
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamlx_node *root = NULL;
	struct yamlx_err err;

	memset(&err, 0, sizeof(err));
	if (yamlx_parse(data, size, &root, &err) != 0) {
		if (root != NULL || err.msg[0] == '\0' || memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
		return 0;
	}
	if (walk(root, 0) > YAMLX_MAX_NODES + 1)
		abort();
	yamlx_free(root);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_hujson: hostile HuJSON. Standardizing must keep the length and every
 * newline in place, never touch string contents, and agree with hujson_load;
 * hujson_locate must stay inside the document for any path taken from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/hujson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hujson_err err;
	const char *in = (const char *)data;
	char *out = NULL, path[64];
	json_t *v = NULL;
	size_t off, n;
	int rc, rc2;

	if (size > 65536)
		return 0;
	rc = hujson_standardize(in, size, &out, &err);
	rc2 = hujson_load(in, size, &v, &err);
	if (rc < 0 && rc2 == 0)
		abort();
	if (rc == 0) {
		for (size_t i = 0; i < size; i++)
			if ((in[i] == '\n') != (out[i] == '\n'))
				abort();
		if (out[size] != '\0')
			abort();
		/* Outside comments nothing but trailing commas changes; strings never. */
		for (size_t i = 0, in_str = 0, esc = 0; i < size; i++) {
			if (in_str && in[i] != out[i])
				abort();
			if (!in_str && in[i] != out[i] && out[i] != ' ')
				abort();
			if (in_str && esc)
				esc = 0;
			else if (in_str && in[i] == '\\')
				esc = 1;
			else if (in[i] == '"' && out[i] == '"')
				in_str = !in_str;
		}
		/* A path made of the first bytes of the input. */
		n = size < sizeof(path) - 1 ? size : sizeof(path) - 1;
		memcpy(path, in, n);
		path[n] = '\0';
		if (strlen(path) == n && hujson_locate(out, size, path, &off) == 0 && off > size)
			abort();
		if (hujson_locate(out, size, "a[0].b[\"c\"][1]", &off) == 0 && off > size)
			abort();
	}
	free(out);
	json_decref(v);
	return 0;
}

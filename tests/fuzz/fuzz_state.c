/* SPDX-License-Identifier: ISC */
/* fuzz_state: arbitrary bytes as weftd's state file (after a crash or by hand): refuse, never crash. */
#include <stdint.h>

#include "../../src/weftd/state.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state *s = calloc(1, sizeof(*s));
	json_error_t je;
	json_t *root;
	char err[256];

	if (s == NULL)
		return 0;
	root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (root != NULL) {
		(void)state_parse(s, root, err, sizeof(err));
		json_decref(root);
	}
	state_free(s);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/* fuzz_prefs: arbitrary JSON as full prefs and as masked patches; round trips must agree. */
#include <stdint.h>
#include <stdlib.h>

#include "ipn/prefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipn_prefs p, q;
	json_error_t e;
	char err[256];
	json_t *j = json_loadb((const char *)data, size, 0, &e), *out;

	if (j == NULL)
		return 0;
	ipn_prefs_init(&p);
	(void)ipn_prefs_apply_masked(&p, j, err, sizeof(err));
	if (ipn_prefs_from_json(&p, j, err, sizeof(err)) == 0) {
		out = ipn_prefs_to_json(&p);
		ipn_prefs_init(&q);
		if (out == NULL || ipn_prefs_from_json(&q, out, err, sizeof(err)) != 0 ||
		    !ipn_prefs_equal(&p, &q))
			abort();
		ipn_prefs_free(&q);
		json_decref(out);
	}
	ipn_prefs_free(&p);
	json_decref(j);
	return 0;
}

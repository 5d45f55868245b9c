/* SPDX-License-Identifier: ISC */
/* fuzz_numparse: integer, duration and boolean parsers on arbitrary strings. */
#include <stdint.h>
#include <string.h>

#include "core/numparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64];
	uint64_t v;
	int64_t i;
	bool b;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)numparse_u64(s, 0, UINT64_MAX, &v);
	(void)numparse_i64(s, INT64_MIN, INT64_MAX, &i);
	(void)numparse_duration_ns(s, &v);
	(void)numparse_bool(s, &b);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/* fuzz_mss: MSS clamping on arbitrary packets; a clamped packet must not grow or move. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/mss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[2048];
	unsigned mtu;

	if (size < 2 || size - 2 > sizeof(buf))
		return 0;
	mtu = (unsigned)(data[0] << 8 | data[1]);
	memcpy(buf, data + 2, size - 2);
	if (mss_clamp(buf, size - 2, mtu) && buf[0] != data[2])
		abort();
	return 0;
}

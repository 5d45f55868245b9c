/* SPDX-License-Identifier: ISC */
/*
 * fuzz_stun: arbitrary datagrams through the STUN parser and the demux test.
 * Whatever parses as a response must survive a rebuild with the same address
 * and parse back to it; the demux test must accept everything the parser does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m, m2;
	uint8_t out[STUN_RESPONSE_MAX];

	if (stun_parse(data, size, &m) != STUN_OK)
		return 0;
	if (!stun_is_packet(data, size))
		abort();
	(void)stun_integrity_check(data, size, &m, (const uint8_t *)"k", 1);
	if (stun_response_parse(data, size, &m) == STUN_OK) {
		size_t n = stun_response_build(out, m.txid, &m.mapped);
		if (n == 0 || stun_response_parse(out, n, &m2) != STUN_OK ||
		    !netendpoint_eq(&m.mapped, &m2.mapped) ||
		    memcmp(m.txid, m2.txid, STUN_TXID_LEN) != 0)
			abort();
	}
	return 0;
}

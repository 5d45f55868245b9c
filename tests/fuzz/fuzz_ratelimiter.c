/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ratelimiter: attacker-chosen handshake sources and timing against a
 * small table. The table stays within its bound, every call is counted once,
 * and no source gets more than its burst plus its rate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "wg/ratelimiter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ENTRIES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ratelimiter *rl;
	struct ratelimiter_stats st;
	uint64_t now = 1000000000ULL, start = now, calls = 0, first_allowed = 0;
	struct netaddr first = { 0 };

	if (ratelimiter_new(FUZZ_MAX_ENTRIES, &rl) != 0)
		abort();
	/* 4 bytes a packet: time step, family, and two address bytes. */
	for (size_t i = 0; i + 4 <= size; i += 4) {
		struct netaddr a = { 0 };
		uint8_t b[16] = { 0 };
		bool ok;

		now += (uint64_t)data[i] * data[i] * 10000; /* 0 to 650 ms */
		b[0] = data[i + 2];
		b[7] = data[i + 3]; /* inside the IPv6 /64; beyond IPv4's 4 bytes */
		if (data[i + 1] % 3 == 0)
			netaddr_from_v4(&a, b);
		else if (data[i + 1] % 3 == 1)
			netaddr_from_v6(&a, b);
		if (data[i + 1] == 0xff)
			ratelimiter_gc(rl, now);
		ok = ratelimiter_allow(rl, &a, now);
		calls++;
		if (i == 0)
			first = a;
		if (ok && netaddr_eq(&a, &first) && a.family != NETADDR_NONE)
			first_allowed++;
		if (ratelimiter_count(rl) > FUZZ_MAX_ENTRIES)
			abort();
	}
	ratelimiter_stats_get(rl, &st);
	if (st.allowed + st.limited + st.table_full + st.bad_family != calls)
		abort();
	/* Burst plus rate, plus one for each fresh start after an expiry. */
	if (first_allowed >
	    RATELIMITER_BURST + st.expired * RATELIMITER_BURST +
		    (now - start) / (1000000000ULL / RATELIMITER_PACKETS_PER_SECOND) + 1)
		abort();
	ratelimiter_free(rl);
	return 0;
}

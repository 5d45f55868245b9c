/* SPDX-License-Identifier: ISC */
/*
 * fuzz_replay: attacker-chosen transport counters against the replay window,
 * diffed with the naive reference. Each 4 input bytes are one counter: ahead
 * of the highest so far (high bit set) or behind it, near the window's edge.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/buf.h"
#include "replay_naive.h"
#include "wg/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_window w;
	struct replay_naive ref = { 0 };
	uint64_t base = 0, limit;

	if (size < 2)
		return 0;
	limit = 1 + (uint64_t)buf_load_be16(data) * 64;
	replay_init(&w);
	for (size_t i = 2; i + 4 <= size; i += 4) {
		uint32_t v = buf_load_le32(data + i);
		uint64_t c;

		if (v & 0x80000000u)
			c = base + (v & 0xffff) * (v & 0x10000 ? 17 : 1);
		else
			c = base > (v & 0x3fff) ? base - (v & 0x3fff) : 0;
		if (c > base)
			base = c;
		if (replay_accept(&w, c, limit) !=
		    replay_naive_accept(&ref, c, limit, REPLAY_WINDOW))
			abort();
	}
	replay_naive_free(&ref);
	return 0;
}

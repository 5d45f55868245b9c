/* SPDX-License-Identifier: ISC */
/*
 * replay_naive: the replay rule stated directly (a set of every accepted
 * counter and the highest one) as the reference for wg/replay.
 */
#ifndef WEFT_REF_REPLAY_NAIVE_H
#define WEFT_REF_REPLAY_NAIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct replay_naive {
	uint64_t *seen;
	size_t len, cap;
	uint64_t max;
	bool any;
};

/* Accepts counter < limit, never seen, and no more than window behind the highest. */
bool replay_naive_accept(struct replay_naive *r, uint64_t counter, uint64_t limit, uint64_t window);
void replay_naive_free(struct replay_naive *r);

#endif

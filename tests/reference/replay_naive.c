/* SPDX-License-Identifier: ISC */
/* replay_naive: reference replay check by linear search (see replay_naive.h). */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "replay_naive.h"

bool replay_naive_accept(struct replay_naive *r, uint64_t counter, uint64_t limit, uint64_t window)
{
	if (counter >= limit)
		return false;
	if (r->any && counter < r->max && r->max - counter > window)
		return false;
	for (size_t i = 0; i < r->len; i++) {
		if (r->seen[i] == counter)
			return false;
	}
	if (mem_grow((void **)&r->seen, &r->cap, r->len + 1, sizeof(r->seen[0])) < 0)
		abort();
	r->seen[r->len++] = counter;
	if (!r->any || counter > r->max)
		r->max = counter;
	r->any = true;
	return true;
}

void replay_naive_free(struct replay_naive *r)
{
	free(r->seen);
	memset(r, 0, sizeof(*r));
}

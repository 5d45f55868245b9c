/* SPDX-License-Identifier: ISC */
/*
 * replay: RFC 6479 window as in the Linux kernel's counter_validate(). The
 * bitmap is a ring of words; moving forward clears the words skipped over.
 * The spare word means a counter still inside REPLAY_WINDOW never shares a
 * word with one that advanced the window, so no valid bit is ever cleared.
 */
#include <string.h>

#include "wg/replay.h"

#define REPLAY_WORDS (REPLAY_BITS_TOTAL / REPLAY_WORD_BITS)

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "ring size must be a power of two");

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_accept(struct replay_window *w, uint64_t counter, uint64_t limit)
{
	uint64_t c, index, bit;

	if (counter >= limit)
		return false;
	c = counter + 1; /* no overflow: counter < limit <= UINT64_MAX */
	if (w->next > c && w->next - c > REPLAY_WINDOW)
		return false;
	index = c / REPLAY_WORD_BITS;
	if (c > w->next) {
		uint64_t cur = w->next / REPLAY_WORD_BITS;
		uint64_t top = index - cur < REPLAY_WORDS ? index - cur : REPLAY_WORDS;

		for (uint64_t i = 1; i <= top; i++)
			w->bitmap[(cur + i) & (REPLAY_WORDS - 1)] = 0;
		w->next = c;
	}
	bit = 1ULL << (c % REPLAY_WORD_BITS);
	index &= REPLAY_WORDS - 1;
	if (w->bitmap[index] & bit)
		return false;
	w->bitmap[index] |= bit;
	return true;
}

/* SPDX-License-Identifier: ISC */
/*
 * replay: the sliding window (RFC 6479) that rejects replayed and too-old
 * transport data counters, sized as the Linux kernel's: 8192 bits, of which
 * one word is slack, so 8128 packets of reordering are tolerated.
 *
 * Not thread-safe: the caller serialises calls on one window (one keypair).
 */
#ifndef WEFT_WG_REPLAY_H
#define WEFT_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS_TOTAL 8192
#define REPLAY_WORD_BITS 64
#define REPLAY_WINDOW (REPLAY_BITS_TOTAL - REPLAY_WORD_BITS) /* 8128 */

struct replay_window {
	uint64_t next; /* highest accepted counter + 1; 0 before the first */
	uint64_t bitmap[REPLAY_BITS_TOTAL / REPLAY_WORD_BITS];
};

void replay_init(struct replay_window *w);

/*
 * Checks counter and records it in one step; call it only after the packet
 * decrypted. False for a counter seen before, one more than REPLAY_WINDOW
 * behind the highest accepted, or counter >= limit (REJECT_AFTER_MESSAGES).
 */
bool replay_accept(struct replay_window *w, uint64_t counter, uint64_t limit);

#endif

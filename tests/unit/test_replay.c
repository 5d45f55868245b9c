/* SPDX-License-Identifier: ISC */
/*
 * test_replay: the window's rules one case at a time (in order, reordered,
 * too old, duplicates, jumps, the limit, ring wraparound), then a randomized
 * differential test against tests/reference/replay_naive.
 */
#include "replay_naive.h"
#include "testutil.h"
#include "wg/replay.h"

#define LIMIT (UINT64_MAX - (1ULL << 13)) /* REJECT_AFTER_MESSAGES */

struct step {
	uint64_t counter;
	bool want;
};

static void run_steps(const struct step *s, size_t n, uint64_t limit)
{
	struct replay_window w;

	replay_init(&w);
	for (size_t i = 0; i < n; i++) {
		if (replay_accept(&w, s[i].counter, limit) != s[i].want)
			fail_msg("step %zu: counter %llu: want %s", i,
				 (unsigned long long)s[i].counter, s[i].want ? "accept" : "reject");
	}
}

#define RUN(steps, limit) run_steps(steps, sizeof(steps) / sizeof(steps[0]), limit)

static void test_basic(void **state)
{
	static const struct step in_order[] = {
		{ 0, true }, { 1, true }, { 2, true }, { 3, true }, { 2, false }, { 0, false },
	};
	static const struct step reordered[] = {
		{ 5, true },  { 3, true }, { 4, true }, { 0, true }, { 5, false },
		{ 3, false }, { 6, true }, { 1, true }, { 2, true }, { 1, false },
	};
	/* REPLAY_WINDOW behind the highest is the oldest counter still taken. */
	static const struct step window_edge[] = {
		{ REPLAY_WINDOW + 10, true },
		{ 10, true },
		{ 9, false },
		{ 10, false },
		{ 11, true },
		{ REPLAY_WINDOW + 11, true },
		{ 10, false },
		{ 11, false }, /* seen */
		{ 12, true },
	};
	static const struct step jumps[] = {
		{ 0, true },
		{ 1ULL << 40, true },
		{ 0, false },
		{ (1ULL << 40) - 1, true },
		{ (1ULL << 40) - REPLAY_WINDOW, true },
		{ (1ULL << 40) - REPLAY_WINDOW - 1, false },
		{ 1ULL << 40, false },
		{ (1ULL << 40) + 1, true },
	};

	(void)state;
	RUN(in_order, LIMIT);
	RUN(reordered, LIMIT);
	RUN(window_edge, LIMIT);
	RUN(jumps, LIMIT);
}

static void test_limit(void **state)
{
	static const struct step steps[] = {
		{ 98, true }, { 99, true }, { 100, false }, { 101, false }, { 97, true },
	};
	static const struct step top[] = {
		{ UINT64_MAX - 1, true },
		{ UINT64_MAX, false },
		{ UINT64_MAX - 2, true },
		{ UINT64_MAX - 1, false },
	};

	(void)state;
	RUN(steps, 100);
	RUN(top, UINT64_MAX); /* counter + 1 must not overflow */
	struct replay_window w;
	replay_init(&w);
	assert_false(replay_accept(&w, 0, 0));
}

/* Step forward one word at a time through several turns of the ring. */
static void test_wraparound(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	for (uint64_t c = 0; c < 5 * REPLAY_BITS_TOTAL; c += 3) {
		assert_true(replay_accept(&w, c, LIMIT));
		assert_false(replay_accept(&w, c, LIMIT));
		if (c >= REPLAY_WINDOW + 1) {
			assert_false(replay_accept(&w, c - REPLAY_WINDOW - 1, LIMIT));
			/* The fill-ins between accepted counters are new, once. */
			uint64_t gap = c - REPLAY_WINDOW + 1;
			if (gap % 3 != 0) {
				assert_true(replay_accept(&w, gap, LIMIT));
				assert_false(replay_accept(&w, gap, LIMIT));
			}
		}
	}
	/* A jump of exactly the ring size clears everything without aliasing. */
	uint64_t hi = 10 * REPLAY_BITS_TOTAL;
	assert_true(replay_accept(&w, hi, LIMIT));
	assert_true(replay_accept(&w, hi + REPLAY_BITS_TOTAL, LIMIT));
	assert_false(replay_accept(&w, hi, LIMIT));
	assert_true(replay_accept(&w, hi + REPLAY_BITS_TOTAL - REPLAY_WINDOW, LIMIT));
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

static void test_differential(void **state)
{
	struct replay_window w;
	struct replay_naive ref = { 0 };
	uint64_t base = 0, limit = 1500000;

	(void)state;
	rng_state = 0xfeedfacecafebeefULL;
	replay_init(&w);
	for (int i = 0; i < 20000; i++) {
		/* Mostly near the front, some far behind, an occasional jump. */
		uint64_t r = rng() % 100, c;
		if (r < 60)
			c = base + rng() % 64;
		else if (r < 95)
			c = base > 9000 ? base - 9000 + rng() % 9100 : rng() % (base + 100);
		else
			c = base + rng() % 3000;
		if (c > base)
			base = c;
		bool got = replay_accept(&w, c, limit);
		bool want = replay_naive_accept(&ref, c, limit, REPLAY_WINDOW);
		if (got != want)
			fail_msg("op %d counter %llu: got %d want %d", i, (unsigned long long)c,
				 got, want);
	}
	replay_naive_free(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

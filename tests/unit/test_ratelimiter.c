/* SPDX-License-Identifier: ISC */
/*
 * test_ratelimiter: burst and refill, the sustained rate, per-/32 and per-/64
 * keys, expiry, and a bounded table under a flood of random sources, all on a
 * fake clock.
 */
#include <errno.h>

#include "core/clock.h"
#include "testutil.h"
#include "wg/ratelimiter.h"

#define MS CLOCK_NS_PER_MS
#define SEC CLOCK_NS_PER_SEC
#define T0 (1000 * SEC) /* any start time */

static struct netaddr addr(const char *s)
{
	struct netaddr a;

	assert_int_equal(netaddr_parse(s, &a), 0);
	return a;
}

static unsigned allowed_n(struct ratelimiter *rl, const char *src, unsigned n, uint64_t now)
{
	struct netaddr a = addr(src);
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += ratelimiter_allow(rl, &a, now);
	return ok;
}

static void test_burst_refill(void **state)
{
	struct ratelimiter *rl;
	struct ratelimiter_stats st;

	(void)state;
	assert_int_equal(ratelimiter_new(64, &rl), 0);
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0), RATELIMITER_BURST);
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0 + 49 * MS), 0);
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0 + 50 * MS), 1);
	/* The bucket holds at most BURST packets however long the pause. */
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0 + 900 * MS), RATELIMITER_BURST);
	/* A clock that steps back grants nothing. */
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0), 0);
	ratelimiter_stats_get(rl, &st);
	assert_int_equal(st.allowed, 2 * RATELIMITER_BURST + 1);
	assert_int_equal(st.limited, 50 - st.allowed);
	ratelimiter_free(rl);
}

static void test_rate(void **state)
{
	struct ratelimiter *rl;
	struct netaddr a = addr("2001:db8::1");
	unsigned ok = 0;

	(void)state;
	assert_int_equal(ratelimiter_new(64, &rl), 0);
	/* 100 packets a second for 10 seconds: the burst, then 20 a second. */
	for (uint64_t t = 0; t < 10 * SEC; t += 10 * MS)
		ok += ratelimiter_allow(rl, &a, T0 + t);
	assert_true(ok >= RATELIMITER_BURST + 10 * RATELIMITER_PACKETS_PER_SECOND - 1);
	assert_true(ok <= RATELIMITER_BURST + 10 * RATELIMITER_PACKETS_PER_SECOND + 1);
	ratelimiter_free(rl);
}

static void test_keys(void **state)
{
	struct ratelimiter *rl;

	(void)state;
	assert_int_equal(ratelimiter_new(64, &rl), 0);
	assert_int_equal(allowed_n(rl, "192.0.2.1", 10, T0), RATELIMITER_BURST);
	assert_int_equal(allowed_n(rl, "192.0.2.2", 10, T0), RATELIMITER_BURST); /* /32 */
	assert_int_equal(allowed_n(rl, "2001:db8::1", 10, T0), RATELIMITER_BURST);
	assert_int_equal(allowed_n(rl, "2001:db8::ffff:1", 10, T0), 0); /* same /64 */
	assert_int_equal(allowed_n(rl, "2001:db8:0:1::1", 10, T0), RATELIMITER_BURST);
	/* The IPv6 /64 with the same 64-bit value as 1.2.3.4 is another source. */
	assert_int_equal(allowed_n(rl, "1.2.3.4", 10, T0), RATELIMITER_BURST);
	assert_int_equal(allowed_n(rl, "0:0:102:304::", 10, T0), RATELIMITER_BURST);
	assert_int_equal(ratelimiter_count(rl), 6);
	ratelimiter_free(rl);
}

static void test_rejects(void **state)
{
	struct ratelimiter *rl = (struct ratelimiter *)1;
	struct ratelimiter_stats st;
	struct netaddr none = { 0 };

	(void)state;
	assert_int_equal(ratelimiter_new(0, &rl), -EINVAL);
	assert_null(rl);
	assert_int_equal(ratelimiter_new((size_t)RATELIMITER_MAX_ENTRIES_LIMIT + 1, &rl), -EINVAL);
	assert_int_equal(ratelimiter_new(1, &rl), 0);
	assert_false(ratelimiter_allow(rl, &none, T0));
	ratelimiter_stats_get(rl, &st);
	assert_int_equal(st.bad_family, 1);
	assert_int_equal(ratelimiter_count(rl), 0);
	ratelimiter_free(rl);
	ratelimiter_free(NULL);
}

static void test_expiry(void **state)
{
	struct ratelimiter *rl;
	struct ratelimiter_stats st;

	(void)state;
	assert_int_equal(ratelimiter_new(2, &rl), 0);
	assert_int_equal(allowed_n(rl, "192.0.2.1", 1, T0), 1);
	assert_int_equal(allowed_n(rl, "192.0.2.2", 1, T0 + 500 * MS), 1);
	/* Full: a third source is refused until an entry has been idle a second. */
	assert_int_equal(allowed_n(rl, "192.0.2.3", 1, T0 + 600 * MS), 0);
	ratelimiter_gc(rl, T0 + 999 * MS);
	assert_int_equal(ratelimiter_count(rl), 2);
	ratelimiter_gc(rl, T0 + SEC);
	assert_int_equal(ratelimiter_count(rl), 1);
	assert_int_equal(allowed_n(rl, "192.0.2.3", 1, T0 + SEC), 1);
	/* Full again; allow() collects by itself once the interval has passed. */
	assert_int_equal(allowed_n(rl, "192.0.2.4", 1, T0 + 1600 * MS), 0);
	assert_int_equal(allowed_n(rl, "192.0.2.4", 1, T0 + 2100 * MS), 1);
	ratelimiter_stats_get(rl, &st);
	assert_int_equal(st.table_full, 2);
	assert_int_equal(st.expired, 3);
	ratelimiter_free(rl);
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng(void)
{
	return tu_rng(&rng_state);
}

/* A million spoofed sources, 2 us apart: the table never grows past its bound. */
static void test_flood(void **state)
{
	struct ratelimiter *rl;
	struct ratelimiter_stats st;
	uint64_t now = T0;

	(void)state;
	assert_int_equal(ratelimiter_new(4096, &rl), 0);
	for (int i = 0; i < 1000000; i++) {
		uint8_t b[16];
		struct netaddr a;
		uint64_t r = rng();
		memcpy(b, &r, 8);
		r = rng();
		memcpy(b + 8, &r, 8);
		if (i % 2 == 0)
			netaddr_from_v4(&a, b);
		else
			netaddr_from_v6(&a, b);
		now += 2000;
		(void)ratelimiter_allow(rl, &a, now);
		assert_true(ratelimiter_count(rl) <= 4096);
	}
	ratelimiter_stats_get(rl, &st);
	assert_true(st.table_full > 0);
	assert_true(st.expired > 0);
	/* The flood ends: everything expires and a new source gets in. */
	ratelimiter_gc(rl, now + 2 * SEC);
	assert_int_equal(ratelimiter_count(rl), 0);
	assert_int_equal(allowed_n(rl, "198.51.100.8", 1, now + 2 * SEC), 1);
	ratelimiter_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_refill), cmocka_unit_test(test_rate),
		cmocka_unit_test(test_keys),	     cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_expiry),	     cmocka_unit_test(test_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

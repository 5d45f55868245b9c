/* SPDX-License-Identifier: ISC */
/*
 * test_srv_ipalloc: tailnet address allocation: sequential and random order,
 * the reserved addresses (network, broadcast, 100.100.100.100, ChromeOS's
 * 100.115.92.0/23, fd7a:115c:a1e0::53) never handed out, exhaustion, reuse
 * of freed addresses, and a randomized run against a naive reference that
 * checks no address is ever given twice and ENOSPC comes exactly when full.
 */
#include "core/netaddr.h"
#include "weft-server/ipalloc.h"
#include "testutil.h"

static struct netprefix P(const char *s)
{
	struct netprefix p;

	assert_int_equal(netprefix_parse(s, &p), 0);
	return p;
}

static struct netaddr A(const char *s)
{
	struct netaddr a;

	assert_int_equal(netaddr_parse(s, &a), 0);
	return a;
}

static struct ipalloc *mk(const char *prefix, bool random)
{
	struct netprefix p = P(prefix);
	struct ipalloc *ia;

	assert_int_equal(ipalloc_new(&p, random, &ia), 0);
	assert_non_null(ia);
	return ia;
}

static void assert_addr(const struct netaddr *a, const char *want)
{
	char buf[NETADDR_STRLEN];

	assert_string_equal(netaddr_format(a, buf, sizeof(buf)), want);
}

/* ---- a naive reference: what the rules say, address by address ---------------------------- */

static bool ref_reserved(const struct netprefix *p, const struct netaddr *a)
{
	struct netprefix chromeos = P("100.115.92.0/23");
	struct netaddr quad100 = A("100.100.100.100"), dns6 = A("fd7a:115c:a1e0::53");
	struct netaddr last = p->addr;
	unsigned host = netaddr_bits(&p->addr) - p->bits;

	if (!netprefix_contains(p, a) || netaddr_eq(a, &p->addr))
		return true;
	if (p->addr.family == NETADDR_V4) {
		netaddr_add(&last, (1ULL << host) - 1);
		if (netaddr_eq(a, &last))
			return true;
	}
	return netaddr_eq(a, &quad100) || netaddr_eq(a, &dns6) || netprefix_contains(&chromeos, a);
}

/* Addresses of a small prefix (at most 4096), in order. */
static size_t ref_all(const struct netprefix *p, struct netaddr *out, size_t cap)
{
	unsigned host = netaddr_bits(&p->addr) - p->bits;
	size_t n = 0;

	assert_true(host <= 12);
	for (uint64_t i = 0; i < (1ULL << host); i++) {
		assert_true(n < cap);
		out[n] = p->addr;
		netaddr_add(&out[n], i);
		n++;
	}
	return n;
}

static size_t ref_index(const struct netprefix *p, const struct netaddr *a)
{
	size_t k = netaddr_len(a) - 2;
	unsigned x = (unsigned)a->a[k] << 8 | a->a[k + 1];
	unsigned y = (unsigned)p->addr.a[k] << 8 | p->addr.a[k + 1];

	return (x - y) & 0xffff;
}

/* ---- tests ------------------------------------------------------------------------------------ */

static void test_sequential(void **state)
{
	struct ipalloc *ia = mk("100.64.0.0/10", false), *i6 = mk("fd7a:115c:a1e0::/48", false);
	struct netaddr a;

	(void)state;
	assert_int_equal(ipalloc_next(ia, &a), 0);
	assert_addr(&a, "100.64.0.1");
	assert_int_equal(ipalloc_next(ia, &a), 0);
	assert_addr(&a, "100.64.0.2");
	assert_int_equal(ipalloc_next(ia, &a), 0);
	assert_addr(&a, "100.64.0.3");
	assert_int_equal(ipalloc_used(ia), 3);
	assert_true(ipalloc_is_used(ia, &a));
	/* Addresses the store already holds are skipped. */
	a = A("100.64.0.4");
	assert_int_equal(ipalloc_reserve(ia, &a), 0);
	assert_int_equal(ipalloc_reserve(ia, &a), -EEXIST);
	assert_int_equal(ipalloc_next(ia, &a), 0);
	assert_addr(&a, "100.64.0.5");
	assert_int_equal(ipalloc_used(ia), 5);

	assert_int_equal(ipalloc_next(i6, &a), 0);
	assert_addr(&a, "fd7a:115c:a1e0::1");
	assert_int_equal(ipalloc_next(i6, &a), 0);
	assert_addr(&a, "fd7a:115c:a1e0::2");
	ipalloc_free(ia);
	ipalloc_free(i6);
	ipalloc_free(NULL);
}

static void test_random(void **state)
{
	static const char *const prefixes[] = { "100.64.0.0/10", "fd7a:115c:a1e0::/48" };
	enum { N = 3000 };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct netprefix p = P(prefixes[k]);
		struct ipalloc *ia = mk(prefixes[k], true);
		struct netaddr *got = calloc(N, sizeof(*got));
		size_t in_order = 0;

		assert_non_null(got);
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(ipalloc_next(ia, &got[i]), 0);
			assert_true(netprefix_contains(&p, &got[i]));
			assert_false(ref_reserved(&p, &got[i]));
			assert_true(ipalloc_is_used(ia, &got[i]));
		}
		assert_int_equal(ipalloc_used(ia), N);
		/* All distinct (the allocator's own set agrees: N used). */
		for (size_t i = 0; i < N; i++) {
			struct netaddr seq = p.addr;
			netaddr_add(&seq, i + 1);
			in_order += netaddr_eq(&seq, &got[i]);
		}
		/* Random order is not the sequential one. */
		assert_true(in_order < 10);
		/* And pairwise distinct. */
		for (size_t i = 0; i < N; i++)
			for (size_t j = i + 1; j < N; j++)
				if (netaddr_eq(&got[i], &got[j]))
					fail_msg("%s: address given twice", prefixes[k]);
		free(got);
		ipalloc_free(ia);
	}
}

static void test_reserved(void **state)
{
	static const char *const v4[] = {
		"100.64.0.0",	   /* network */
		"100.127.255.255", /* broadcast */
		"100.100.100.100", /* MagicDNS */
		"100.115.92.0",	   /* ChromeOS, first */
		"100.115.92.77",
		"100.115.93.255", /* ChromeOS, last */
		"100.63.255.255", /* outside */
		"100.128.0.0",
		"10.0.0.1",
	};
	static const char *const v4_ok[] = { "100.64.0.1", "100.127.255.254", "100.100.100.99",
					     "100.100.100.101", "100.115.91.255", "100.115.94.0" };
	struct ipalloc *ia = mk("100.64.0.0/10", false), *i6 = mk("fd7a:115c:a1e0::/48", false);
	struct netaddr a;

	(void)state;
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		a = A(v4[i]);
		if (!ipalloc_is_reserved(ia, &a))
			fail_msg("%s is not reserved", v4[i]);
		assert_int_equal(ipalloc_reserve(ia, &a), -ERANGE);
	}
	for (size_t i = 0; i < sizeof(v4_ok) / sizeof(v4_ok[0]); i++) {
		a = A(v4_ok[i]);
		if (ipalloc_is_reserved(ia, &a))
			fail_msg("%s is reserved", v4_ok[i]);
		assert_int_equal(ipalloc_reserve(ia, &a), 0);
	}
	a = A("fd7a:115c:a1e0::53");
	assert_true(ipalloc_is_reserved(i6, &a));
	assert_int_equal(ipalloc_reserve(i6, &a), -ERANGE);
	a = A("fd7a:115c:a1e0::");
	assert_true(ipalloc_is_reserved(i6, &a));
	a = A("fd7a:115c:a1e1::1");
	assert_true(ipalloc_is_reserved(i6, &a));
	a = A("100.64.0.1");
	assert_true(ipalloc_is_reserved(i6, &a)); /* the other family */
	assert_int_equal(ipalloc_reserve(i6, &a), -ERANGE);
	a = A("fd7a:115c:a1e0::52");
	assert_false(ipalloc_is_reserved(i6, &a));
	ipalloc_free(ia);
	ipalloc_free(i6);
}

/* Fills a small prefix; checks count, order (sequential) and the reserved gaps. */
static void fill(const char *prefix, bool random, size_t want)
{
	struct netprefix p = P(prefix);
	struct ipalloc *ia = mk(prefix, random);
	struct netaddr all[4096], a;
	bool seen[4096] = { 0 };
	size_t n = ref_all(&p, all, 4096), got = 0;

	(void)n;
	for (;;) {
		int r = ipalloc_next(ia, &a);
		if (r == -ENOSPC)
			break;
		assert_int_equal(r, 0);
		assert_true(netprefix_contains(&p, &a));
		if (ref_reserved(&p, &a)) {
			char buf[NETADDR_STRLEN];
			fail_msg("%s: reserved %s given out", prefix, netaddr_format(&a, buf, 64));
		}
		assert_false(seen[ref_index(&p, &a)]);
		seen[ref_index(&p, &a)] = true;
		got++;
		assert_true(got <= want);
	}
	if (got != want)
		fail_msg("%s (%s): %zu addresses, want %zu", prefix, random ? "random" : "sequential",
			 got, want);
	assert_int_equal(ipalloc_used(ia), want);
	/* Still full on asking again. */
	assert_int_equal(ipalloc_next(ia, &a), -ENOSPC);
	ipalloc_free(ia);
}

static void test_exhaustion(void **state)
{
	static const struct {
		const char *prefix;
		size_t usable;
	} t[] = {
		{ "100.64.0.0/30", 2 },
		{ "100.64.0.0/29", 6 },
		{ "100.64.0.0/24", 254 },
		{ "100.100.100.96/28", 13 },	/* 16 - network - broadcast - 100.100.100.100 */
		{ "100.100.100.100/30", 2 },	/* 100.100.100.100 is also the network address */
		{ "100.115.92.0/24", 0 },	/* all ChromeOS */
		{ "100.115.92.0/22", 511 },	/* half ChromeOS */
		{ "100.115.88.0/21", 2048 - 2 - 512 },
		{ "fd7a:115c:a1e0::/120", 254 }, /* 256 - network - ::53 */
		{ "fd7a:115c:a1e0::100/126", 3 },
		{ "fd7a:115c:a1e0::50/124", 14 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fill(t[i].prefix, false, t[i].usable);
		fill(t[i].prefix, true, t[i].usable);
	}
}

static void test_bad_prefix(void **state)
{
	static const char *const bad[] = { "100.64.0.0/31", "100.64.0.1/32", "fd7a::/127",
					   "fd7a::1/128" };
	struct ipalloc *ia = (struct ipalloc *)1;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct netprefix p = P(bad[i]);
		assert_int_equal(ipalloc_new(&p, false, &ia), -EINVAL);
		assert_null(ia);
	}
}

static void test_release_reuse(void **state)
{
	(void)state;
	for (int random = 0; random < 2; random++) {
		struct ipalloc *ia = mk("100.64.0.0/29", random);
		struct netaddr a, freed = A("100.64.0.3");

		for (int i = 0; i < 6; i++)
			assert_int_equal(ipalloc_next(ia, &a), 0);
		assert_int_equal(ipalloc_next(ia, &a), -ENOSPC);
		ipalloc_release(ia, &freed);
		assert_false(ipalloc_is_used(ia, &freed));
		assert_int_equal(ipalloc_used(ia), 5);
		/* Releasing twice, or an address never given, changes nothing. */
		ipalloc_release(ia, &freed);
		a = A("100.64.0.0");
		ipalloc_release(ia, &a);
		assert_int_equal(ipalloc_used(ia), 5);
		assert_int_equal(ipalloc_next(ia, &a), 0);
		assert_true(netaddr_eq(&a, &freed));
		assert_int_equal(ipalloc_next(ia, &a), -ENOSPC);
		ipalloc_free(ia);
	}
}

/* Random next/release/reserve against the reference set: never a duplicate, ENOSPC only when full. */
static void test_differential(void **state)
{
	static const char *const prefixes[] = {
		"100.64.0.0/26",	"100.100.100.64/26",	"100.100.100.100/30",
		"100.115.92.0/22",	"100.64.0.0/30",	"fd7a:115c:a1e0::/122",
		"fd7a:115c:a1e0::40/123",
	};
	uint64_t rng = 0x5eed1234abcdULL;

	(void)state;
	for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		for (int random = 0; random < 2; random++) {
			struct netprefix p = P(prefixes[k]);
			struct ipalloc *ia = mk(prefixes[k], random);
			struct netaddr all[4096], a;
			bool used[4096] = { 0 };
			size_t n = ref_all(&p, all, 4096), capacity = 0, n_used = 0;

			for (size_t i = 0; i < n; i++)
				capacity += !ref_reserved(&p, &all[i]);
			for (int step = 0; step < 20000; step++) {
				uint64_t op = tu_rng(&rng) % 10, i = tu_rng(&rng) % n;
				int r;

				if (op < 6) {
					r = ipalloc_next(ia, &a);
					if (n_used == capacity) {
						assert_int_equal(r, -ENOSPC);
						continue;
					}
					if (r != 0)
						fail_msg("%s: ENOSPC with %zu of %zu used", prefixes[k],
							 n_used, capacity);
					assert_true(netprefix_contains(&p, &a));
					assert_false(ref_reserved(&p, &a));
					assert_false(used[ref_index(&p, &a)]);
					used[ref_index(&p, &a)] = true;
					n_used++;
				} else if (op < 9) {
					ipalloc_release(ia, &all[i]);
					n_used -= used[i];
					used[i] = false;
				} else {
					r = ipalloc_reserve(ia, &all[i]);
					if (ref_reserved(&p, &all[i]))
						assert_int_equal(r, -ERANGE);
					else if (used[i])
						assert_int_equal(r, -EEXIST);
					else {
						assert_int_equal(r, 0);
						used[i] = true;
						n_used++;
					}
				}
				assert_int_equal(ipalloc_used(ia), n_used);
				assert_int_equal(ipalloc_is_used(ia, &all[i]), used[i]);
			}
			ipalloc_free(ia);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),   cmocka_unit_test(test_random),
		cmocka_unit_test(test_reserved),     cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_bad_prefix),   cmocka_unit_test(test_release_reuse),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

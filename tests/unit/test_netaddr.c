/* SPDX-License-Identifier: ISC */
/* test_netaddr: parse/format round trips, prefixes, endpoints, sockaddr conversion. */
#include <errno.h>
#include <netinet/in.h>

#include "core/netaddr.h"
#include "testutil.h"

static void test_addr(void **state)
{
	struct netaddr a, b;
	char buf[NETADDR_STRLEN];

	(void)state;
	assert_int_equal(netaddr_parse("100.64.0.1", &a), 0);
	assert_int_equal(a.family, NETADDR_V4);
	assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), "100.64.0.1");
	assert_true(netaddr_is_tailnet(&a));
	assert_int_equal(netaddr_parse("fd7a:115c:a1e0::1", &b), 0);
	assert_int_equal(b.family, NETADDR_V6);
	assert_string_equal(netaddr_format(&b, buf, sizeof(buf)), "fd7a:115c:a1e0::1");
	assert_true(netaddr_is_tailnet(&b));
	assert_true(netaddr_cmp(&a, &b) < 0);
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1",
					   "1.2.3.4/8", "::g", "fe80::1%eth0", " 1.2.3.4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(netaddr_parse(bad[i], &a), -EINVAL);
	assert_int_equal(netaddr_parse("::ffff:1.2.3.4", &a), 0);
	netaddr_unmap(&a);
	assert_int_equal(a.family, NETADDR_V4);
	assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), "1.2.3.4");
	assert_int_equal(netaddr_parse("100.64.0.255", &a), 0);
	netaddr_add(&a, 1);
	assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), "100.64.1.0");
	netaddr_add(&a, 0x10000);
	assert_string_equal(netaddr_format(&a, buf, sizeof(buf)), "100.65.1.0");
	assert_int_equal(netaddr_parse("8.8.8.8", &a), 0);
	assert_false(netaddr_is_tailnet(&a));
}

static void test_prefix(void **state)
{
	struct netprefix p, q;
	struct netaddr a;
	char buf[NETPREFIX_STRLEN];

	(void)state;
	assert_int_equal(netprefix_parse("10.1.0.0/24", &p), 0);
	assert_string_equal(netprefix_format(&p, buf, sizeof(buf)), "10.1.0.0/24");
	assert_int_equal(netprefix_parse("10.1.0.1/24", &p), -EDOM);
	assert_int_equal(netprefix_parse_loose("10.1.0.1/24", &p), 0);
	assert_string_equal(netprefix_format(&p, buf, sizeof(buf)), "10.1.0.0/24");
	assert_int_equal(netprefix_parse("10.1.0.0/33", &p), -ERANGE);
	assert_int_equal(netprefix_parse("10.1.0.0/", &p), -ERANGE);
	assert_int_equal(netprefix_parse("10.1.0.0/08", &p), -EINVAL);
	assert_int_equal(netprefix_parse("1.2.3.4", &p), 0);
	assert_int_equal(p.bits, 32);
	assert_int_equal(netprefix_parse("::/0", &p), 0);
	assert_int_equal(p.bits, 0);
	assert_int_equal(netprefix_parse("2001:db8::/129", &p), -ERANGE);
	assert_int_equal(netprefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(netaddr_parse("2001:db8:1::5", &a), 0);
	assert_true(netprefix_contains(&p, &a));
	assert_int_equal(netaddr_parse("2001:db9::5", &a), 0);
	assert_false(netprefix_contains(&p, &a));
	assert_int_equal(netaddr_parse("10.0.0.1", &a), 0);
	assert_false(netprefix_contains(&p, &a)); /* family mismatch */
	assert_int_equal(netprefix_parse("10.0.0.0/8", &p), 0);
	assert_int_equal(netprefix_parse("10.200.0.0/16", &q), 0);
	assert_true(netprefix_overlaps(&p, &q));
	assert_true(netprefix_overlaps(&q, &p));
	assert_int_equal(netprefix_parse("11.0.0.0/16", &q), 0);
	assert_false(netprefix_overlaps(&p, &q));
	assert_int_equal(netprefix_parse("100.64.0.0/10", &p), 0);
	assert_true(netprefix_eq(&p, &netaddr_cgnat_prefix));
	assert_int_equal(netprefix_parse("0.0.0.0/0", &p), 0);
	assert_true(netprefix_contains(&p, &a));
}

static void test_endpoint(void **state)
{
	struct netendpoint e, f;
	struct sockaddr_storage ss;
	char buf[NETENDPOINT_STRLEN];
	socklen_t len;

	(void)state;
	assert_int_equal(netendpoint_parse("192.0.2.1:51820", &e), 0);
	assert_int_equal(e.port, 51820);
	assert_string_equal(netendpoint_format(&e, buf, sizeof(buf)), "192.0.2.1:51820");
	len = netendpoint_to_sockaddr(&e, &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(netendpoint_from_sockaddr(&f, (struct sockaddr *)&ss, len), 0);
	assert_true(netendpoint_eq(&e, &f));
	assert_int_equal(netendpoint_parse("[2001:db8::1]:443", &e), 0);
	assert_string_equal(netendpoint_format(&e, buf, sizeof(buf)), "[2001:db8::1]:443");
	len = netendpoint_to_sockaddr(&e, &ss);
	assert_int_equal(netendpoint_from_sockaddr(&f, (struct sockaddr *)&ss, len), 0);
	assert_true(netendpoint_eq(&e, &f));
	static const char *const bad[] = { "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536",
					   "2001:db8::1:443", "[192.0.2.1]:5", "[::1]5", ":5",
					   "[::1]:-1", "host:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(netendpoint_parse(bad[i], &e), -EINVAL);
	/* v4-mapped sockaddr_in6 comes back as IPv4. */
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(7) };
	s6.sin6_addr.s6_addr[10] = s6.sin6_addr.s6_addr[11] = 0xff;
	s6.sin6_addr.s6_addr[12] = 10;
	s6.sin6_addr.s6_addr[15] = 1;
	assert_int_equal(netendpoint_from_sockaddr(&e, (struct sockaddr *)&s6, sizeof(s6)), 0);
	assert_string_equal(netendpoint_format(&e, buf, sizeof(buf)), "10.0.0.1:7");
	struct sockaddr sa = { .sa_family = AF_UNIX };
	assert_int_equal(netendpoint_from_sockaddr(&e, &sa, sizeof(sa)), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * test_netcheck: network reports on a fake clock against a three-region
 * relay map, answered with real STUN responses: the probe plan and its
 * stagger, the report fields and JSON, hard-NAT detection (across regions
 * and across the STUN endpoints of one region), the sticky home
 * region, early completion, no UDP at all, and answers that match nothing.
 */
#include "netcheck/netcheck.h"
#include "testutil.h"

#define MS NETCHECK_MS

static struct netmap_relay_node nodes[4];
static struct netmap_relay_region regions[4];
static struct netmap_relaymap map = { regions, 3 };

static void setup_map(void)
{
	static const char *const v4[4] = { "192.0.2.1", "198.51.100.1", "203.0.113.1",
					   "203.0.113.2" };
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 4; i++) {
		nodes[i].hostname = (char *)"";
		nodes[i].ipv4 = (char *)v4[i];
		nodes[i].ipv6 = (char *)"";
	}
	nodes[1].ipv6 = (char *)"2001:db8::1";
	regions[0] = (struct netmap_relay_region){ .id = 1, .nodes = &nodes[0], .n_nodes = 1 };
	regions[1] = (struct netmap_relay_region){ .id = 2, .nodes = &nodes[1], .n_nodes = 1 };
	regions[2] = (struct netmap_relay_region){ .id = 3, .nodes = &nodes[2], .n_nodes = 2 };
	regions[3] = (struct netmap_relay_region){ .id = 4, .nodes = &nodes[0], .n_nodes = 0 };
}

static struct netendpoint ep(const char *s)
{
	struct netendpoint e;
	assert_int_equal(netendpoint_parse(s, &e), 0);
	return e;
}

/* Answers the probe sent to `dst` (from `sends`) as if the NAT mapped us to `mapped`. */
static void answer(struct netcheck *nc, const struct netcheck_send *sends, size_t n,
		   const char *dst, const char *mapped, uint64_t at)
{
	struct netendpoint d = ep(dst), m = ep(mapped);
	uint8_t resp[STUN_RESPONSE_MAX];

	for (size_t i = 0; i < n; i++) {
		if (!netendpoint_eq(&sends[i].dst, &d))
			continue;
		size_t rn = stun_response_build(resp, sends[i].req + 8, &m);
		assert_true(netcheck_on_stun(nc, resp, rn, at));
		return;
	}
	fail_msg("no probe to %s", dst);
}

static void test_report(void **state)
{
	struct netcheck nc;
	struct netcheck_send s[64];
	struct netcheck_report r;
	uint64_t t = 1000 * 1000 * MS;
	struct buf_writer w;

	(void)state;
	setup_map();
	netcheck_init(&nc);
	/* 3 tries for region 1, 3 x (v4 + v6) for region 2, 3 for region 3 (nodes in turn). */
	assert_int_equal(netcheck_begin(&nc, &map, true, t), 12);
	size_t n = netcheck_due(&nc, t, s, 64);
	assert_int_equal(n, 4); /* the first try of each region (and family) */
	assert_int_equal(netcheck_next_deadline(&nc, t), t + NETCHECK_STAGGER_NS);
	assert_false(netcheck_done(&nc, t));

	answer(&nc, s, n, "192.0.2.1:3478", "203.0.113.200:41641", t + 20 * MS);
	answer(&nc, s, n, "198.51.100.1:3478", "203.0.113.200:41641", t + 10 * MS);
	answer(&nc, s, n, "[2001:db8::1]:3478", "[2001:db8::200]:41641", t + 12 * MS);
	assert_false(netcheck_done(&nc, t + 25 * MS));
	answer(&nc, s, n, "203.0.113.1:3478", "203.0.113.200:41641", t + 30 * MS);
	/* Every region answered: no need for the second and third tries. */
	assert_true(netcheck_done(&nc, t + 30 * MS));
	assert_int_equal(netcheck_due(&nc, t + 300 * MS, s, 64), 0);
	netcheck_finish(&nc, t + 30 * MS, &r);
	assert_true(r.udp && r.ipv4 && r.ipv6);
	assert_false(r.mapping_varies_by_dest_ip);
	assert_int_equal(r.preferred_region, 2);
	assert_int_equal(r.n_regions, 3);

	buf_writer_growable(&w, 4096);
	assert_int_equal(netcheck_report_json(&r, &w), 0);
	assert_int_equal(buf_put_u8(&w, 0), 0);
	assert_string_equal(
		(const char *)w.p,
		"{\"UDP\":true,\"IPv4\":true,\"IPv6\":true,\"MappingVariesByDestIP\":false,"
		"\"GlobalV4\":\"203.0.113.200:41641\",\"GlobalV6\":\"[2001:db8::200]:41641\","
		"\"PreferredDERP\":2,\"RegionLatency\":{\"1\":20000000,\"2\":10000000,"
		"\"3\":30000000}}");
	buf_writer_free(&w);

	/* Second report: the NAT gives region 3's address another port (hard NAT), and
	 * region 1 is now 5 ms: less than 10 ms better than the home, which stays. */
	t += 60000 * MS;
	netcheck_begin(&nc, &map, false, t);
	n = netcheck_due(&nc, t, s, 64);
	assert_int_equal(n, 3);
	answer(&nc, s, n, "192.0.2.1:3478", "203.0.113.200:41641", t + 5 * MS);
	answer(&nc, s, n, "198.51.100.1:3478", "203.0.113.200:41641", t + 12 * MS);
	answer(&nc, s, n, "203.0.113.1:3478", "203.0.113.200:50000", t + 31 * MS);
	assert_true(netcheck_done(&nc, t + 31 * MS));
	netcheck_finish(&nc, t + 31 * MS, &r);
	assert_true(r.mapping_varies_by_dest_ip);
	assert_false(r.ipv6);
	assert_int_equal(r.preferred_region, 2);

	/* Later, past the history window: region 1 at 1 ms, region 2 at 40 ms: switch. */
	t += NETCHECK_HISTORY_NS + 1000 * MS;
	netcheck_begin(&nc, &map, false, t);
	n = netcheck_due(&nc, t, s, 64);
	answer(&nc, s, n, "192.0.2.1:3478", "203.0.113.200:41641", t + 1 * MS);
	answer(&nc, s, n, "198.51.100.1:3478", "203.0.113.200:41641", t + 40 * MS);
	answer(&nc, s, n, "203.0.113.1:3478", "203.0.113.200:41641", t + 45 * MS);
	netcheck_finish(&nc, t + 45 * MS, &r);
	assert_int_equal(r.preferred_region, 1);
	assert_false(r.mapping_varies_by_dest_ip);
}

/* Later tries go to the next node of a region, 100 ms apart. */
static void test_stagger(void **state)
{
	struct netcheck nc;
	struct netcheck_send s[64];
	uint64_t t = 5000 * MS;

	(void)state;
	setup_map();
	netcheck_init(&nc);
	netcheck_begin(&nc, &map, false, t);
	assert_int_equal(netcheck_due(&nc, t, s, 64), 3);
	assert_int_equal(netcheck_due(&nc, t + 99 * MS, s, 64), 0);
	size_t n = netcheck_due(&nc, t + 100 * MS, s, 64);
	assert_int_equal(n, 3);
	struct netendpoint second = ep("203.0.113.2:3478");
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= netendpoint_eq(&s[i].dst, &second);
	assert_true(found);
	/* Each send is a valid binding request with its own transaction ID. */
	struct stun_msg m;
	assert_int_equal(stun_request_parse(s[0].req, s[0].len, &m), STUN_OK);
	assert_true(memcmp(s[0].req + 8, s[1].req + 8, STUN_TXID_LEN) != 0);
}

static void test_no_udp_and_strays(void **state)
{
	struct netcheck nc;
	struct netcheck_send s[64];
	struct netcheck_report r;
	uint64_t t = 7000 * MS;
	uint8_t resp[STUN_RESPONSE_MAX], txid[STUN_TXID_LEN] = { 1 };
	struct netendpoint m = ep("203.0.113.9:1");

	(void)state;
	setup_map();
	netcheck_init(&nc);
	netcheck_begin(&nc, &map, false, t);
	(void)netcheck_due(&nc, t, s, 64);
	/* An answer to a transaction we never started, and garbage. */
	size_t rn = stun_response_build(resp, txid, &m);
	assert_false(netcheck_on_stun(&nc, resp, rn, t + MS));
	assert_false(netcheck_on_stun(&nc, (const uint8_t *)"hello", 5, t + MS));
	assert_int_equal(nc.c.unmatched, 1);
	assert_int_equal(nc.c.parse.rejected[STUN_E_SHORT], 1);
	assert_false(netcheck_done(&nc, t + NETCHECK_TIMEOUT_NS - 1));
	/* Tries not fetched yet are due at once; once all are out, only the timeout is left. */
	assert_int_equal(netcheck_next_deadline(&nc, t + 300 * MS), t + 300 * MS);
	assert_int_equal(netcheck_due(&nc, t + 300 * MS, s, 64), 6);
	assert_int_equal(netcheck_next_deadline(&nc, t + 300 * MS), t + NETCHECK_TIMEOUT_NS);
	assert_true(netcheck_done(&nc, t + NETCHECK_TIMEOUT_NS));
	netcheck_finish(&nc, t + NETCHECK_TIMEOUT_NS, &r);
	assert_false(r.udp);
	assert_int_equal(r.preferred_region, 0);
	assert_false(r.have_global_v4);
}

/* Enough regions answered: the report ends after twice the slowest latency, not 5 s. */
static void test_early_end(void **state)
{
	struct netcheck nc;
	struct netcheck_send s[64];
	uint64_t t = 9000 * MS;
	struct netmap_relay_node extra = { .hostname = (char *)"",
					   .ipv4 = (char *)"192.0.2.99",
					   .ipv6 = (char *)"" };

	(void)state;
	setup_map();
	regions[3] = (struct netmap_relay_region){ .id = 4, .nodes = &extra, .n_nodes = 1 };
	map.n_regions = 4;
	netcheck_init(&nc);
	netcheck_begin(&nc, &map, false, t);
	size_t n = netcheck_due(&nc, t, s, 64);
	assert_int_equal(n, 4);
	answer(&nc, s, n, "192.0.2.1:3478", "203.0.113.200:1", t + 10 * MS);
	answer(&nc, s, n, "198.51.100.1:3478", "203.0.113.200:1", t + 20 * MS);
	assert_false(netcheck_done(&nc, t + 500 * MS)); /* only two regions so far */
	answer(&nc, s, n, "203.0.113.1:3478", "203.0.113.200:1", t + 30 * MS);
	/* first answer at +10, slowest 30 ms: done at +70 ms. */
	assert_false(netcheck_done(&nc, t + 69 * MS));
	assert_true(netcheck_done(&nc, t + 70 * MS));
	map.n_regions = 3;
}

/*
 * One region of two STUN endpoints (one server, two ports, as weft-server's
 * embedded region with a second STUN port): the first answer does not end the
 * report, the next try goes to the other endpoint, and a different mapping
 * there is a hard NAT. A region of one endpoint ends at its first answer.
 */
static void test_second_destination(void **state)
{
	struct netmap_relay_node two[2] = {
		{ .hostname = (char *)"", .ipv4 = (char *)"203.0.113.1", .ipv6 = (char *)"" },
		{ .hostname = (char *)"",
		  .ipv4 = (char *)"203.0.113.1",
		  .ipv6 = (char *)"",
		  .stun_port = 3479 },
	};
	struct netmap_relay_region reg = { .id = 999, .nodes = two, .n_nodes = 2 };
	struct netmap_relaymap one = { &reg, 1 };
	struct netcheck nc;
	struct netcheck_send s[8];
	struct netcheck_report r;
	uint64_t t = 11000 * MS;
	size_t n;

	(void)state;
	netcheck_init(&nc);
	for (int hard = 0; hard < 2; hard++, t += 60000 * MS) {
		assert_int_equal(netcheck_begin(&nc, &one, false, t), 3);
		n = netcheck_due(&nc, t, s, 8);
		assert_int_equal(n, 1);
		answer(&nc, s, n, "203.0.113.1:3478", "198.51.100.7:41641", t + 1 * MS);
		assert_false(netcheck_done(&nc, t + 1 * MS));
		assert_int_equal(netcheck_next_deadline(&nc, t + 1 * MS), t + NETCHECK_STAGGER_NS);
		n = netcheck_due(&nc, t + 100 * MS, s, 8);
		assert_int_equal(n, 1);
		answer(&nc, s, n, "203.0.113.1:3479",
		       hard ? "198.51.100.7:50000" : "198.51.100.7:41641", t + 103 * MS);
		assert_true(netcheck_done(&nc, t + 103 * MS));
		netcheck_finish(&nc, t + 103 * MS, &r);
		assert_true(r.udp && r.ipv4);
		assert_int_equal(r.mapping_varies_by_dest_ip, hard);
		assert_string_equal(netendpoint_format(&r.global_v4,
						       (char[NETENDPOINT_STRLEN]){ 0 },
						       NETENDPOINT_STRLEN),
				    "198.51.100.7:41641"); /* the fastest answer's */
		assert_int_equal(r.preferred_region, 999);
	}

	/* The second endpoint is down: the third try goes to the first again and is not
	 * sent; the report ends after the last try and twice the slowest answer. */
	netcheck_begin(&nc, &one, false, t);
	n = netcheck_due(&nc, t, s, 8);
	answer(&nc, s, n, "203.0.113.1:3478", "198.51.100.7:41641", t + 1 * MS);
	assert_int_equal(netcheck_due(&nc, t + 100 * MS, s, 8), 1);
	assert_int_equal(netcheck_due(&nc, t + 200 * MS, s, 8), 0);
	assert_false(netcheck_done(&nc, t + 301 * MS));
	assert_int_equal(netcheck_next_deadline(&nc, t + 250 * MS), t + 302 * MS);
	assert_true(netcheck_done(&nc, t + 302 * MS));
	netcheck_finish(&nc, t + 302 * MS, &r);
	assert_false(r.mapping_varies_by_dest_ip);

	/* One endpoint in the whole map: nothing to compare, done at the first answer. */
	reg.n_nodes = 1;
	t += 60000 * MS;
	netcheck_begin(&nc, &one, false, t);
	n = netcheck_due(&nc, t, s, 8);
	answer(&nc, s, n, "203.0.113.1:3478", "198.51.100.7:41641", t + 1 * MS);
	assert_true(netcheck_done(&nc, t + 1 * MS));
	netcheck_finish(&nc, t + 1 * MS, &r);
	assert_false(r.mapping_varies_by_dest_ip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_stagger),
		cmocka_unit_test(test_no_udp_and_strays),
		cmocka_unit_test(test_early_end),
		cmocka_unit_test(test_second_destination),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * test_pathsel: the path-selection rules on a fake clock: relay first with
 * discovery, upgrade to direct on a pong, heartbeats while active and silence
 * when idle, fallback to the relay when pongs stop, call-me-maybe hole
 * punching, hysteresis between paths, and the pongs that must be ignored.
 */
#include "disco/pathsel.h"
#include "testutil.h"

#define MS PATHSEL_MS
#define S (1000 * MS)

static struct netendpoint ep(const char *s)
{
	struct netendpoint e;
	assert_int_equal(netendpoint_parse(s, &e), 0);
	return e;
}

static size_t count(const struct pathsel_actions *a, enum pathsel_action_type t)
{
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++)
		n += a->a[i].type == t;
	return n;
}

/* The ping action for `e`, or NULL. */
static const struct pathsel_action *ping_to(const struct pathsel_actions *a, const char *e)
{
	struct netendpoint want = ep(e);
	for (size_t i = 0; i < a->n; i++)
		if (a->a[i].type == PATHSEL_ACT_PING && netendpoint_eq(&a->a[i].ep, &want))
			return &a->a[i];
	return NULL;
}

/* Answers the ping to `e` from `acts` after `rtt`; returns the result. */
static enum pathsel_pong_result pong(struct pathsel_peer *p, const struct pathsel_actions *acts,
				     const char *e, uint64_t at)
{
	const struct pathsel_action *a = ping_to(acts, e);
	struct netendpoint from = ep(e);
	uint64_t lat = 0;

	assert_non_null(a);
	return pathsel_on_pong(p, a->txid, &from, at, &lat);
}

static void test_upgrade_and_fallback(void **state)
{
	struct pathsel_peer p;
	struct pathsel_actions acts = { 0 }, acts2;
	struct pathsel_route r;
	struct netendpoint eps[2] = { ep("203.0.113.1:41641"), ep("192.168.1.5:41641") };
	uint64_t t = 1000 * S;

	(void)state;
	pathsel_init(&p);
	pathsel_set_endpoints(&p, eps, 2, t);

	/* First packet: relay now, discovery (a ping per candidate + call-me-maybe). */
	pathsel_route(&p, t, &r, &acts);
	assert_true(r.relay);
	assert_false(r.direct);
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 2);
	assert_int_equal(count(&acts, PATHSEL_ACT_CALL_ME_MAYBE), 1);

	/* A second packet right after does not repeat the discovery. */
	acts2.n = 0;
	pathsel_route(&p, t + 10 * MS, &r, &acts2);
	assert_true(r.relay);
	assert_int_equal(acts2.n, 0);

	/* The public address answers first: direct only from now on. */
	assert_int_equal(pong(&p, &acts, "203.0.113.1:41641", t + 30 * MS), PATHSEL_PONG_NEW_BEST);
	pathsel_route(&p, t + 31 * MS, &r, &acts2);
	assert_true(r.direct);
	assert_false(r.relay);
	assert_true(netendpoint_eq(&r.ep, &eps[0]));
	/* The LAN address answers faster and is private: it takes over. */
	assert_int_equal(pong(&p, &acts, "192.168.1.5:41641", t + 32 * MS), PATHSEL_PONG_NEW_BEST);
	pathsel_route(&p, t + 33 * MS, &r, &acts2);
	assert_true(netendpoint_eq(&r.ep, &eps[1]));
	assert_int_equal(p.c.best_changes, 2);

	/* Active session: heartbeats every 3 s renew the trust; the path stays direct. */
	uint64_t now = t + 33 * MS;
	for (int i = 0; i < 10; i++) {
		now += PATHSEL_HEARTBEAT_NS;
		acts.n = 0;
		pathsel_route(&p, now, &r, &acts2);
		assert_true(r.direct && !r.relay);
		pathsel_tick(&p, now, &acts);
		assert_int_equal(count(&acts, PATHSEL_ACT_PING), 1);
		assert_non_null(ping_to(&acts, "192.168.1.5:41641"));
		assert_int_equal(pong(&p, &acts, "192.168.1.5:41641", now + 2 * MS),
				 PATHSEL_PONG_OK);
	}

	/* The direct path dies: pongs stop. Within the trust time it stays direct ... */
	now += PATHSEL_HEARTBEAT_NS;
	acts.n = 0;
	pathsel_tick(&p, now, &acts);
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 1); /* heartbeat, unanswered */
	pathsel_route(&p, now, &r, &acts2);
	assert_true(r.direct && !r.relay);
	/* ... then falls back to relay + direct at once, with discovery, and no gap. */
	uint64_t lapse = pathsel_next_deadline(&p, now);
	assert_true(lapse <= p.trust_until_ns);
	now = p.trust_until_ns;
	acts.n = 0;
	pathsel_route(&p, now, &r, &acts);
	assert_true(r.relay);
	assert_true(r.direct); /* the old best is still tried alongside */
	assert_int_equal(p.c.trust_lost, 1);
	assert_true(count(&acts, PATHSEL_ACT_PING) >= 1);

	/* Silent long enough, the old path is dropped: relay only. */
	now += PATHSEL_BEST_DEAD_NS;
	acts.n = 0;
	pathsel_tick(&p, now, &acts);
	pathsel_route(&p, now, &r, &acts);
	assert_true(r.relay);
	assert_false(r.direct);
}

static void test_idle_stops_heartbeats(void **state)
{
	struct pathsel_peer p;
	struct pathsel_actions acts = { 0 }, none;
	struct pathsel_route r;
	struct netendpoint e = ep("198.51.100.9:5000");
	uint64_t t = 5 * S;

	(void)state;
	pathsel_init(&p);
	/* Never sent anything: no deadline at all, tick does nothing. */
	assert_int_equal(pathsel_next_deadline(&p, t), UINT64_MAX);
	none.n = 0;
	pathsel_tick(&p, t, &none);
	assert_int_equal(none.n, 0);

	pathsel_set_endpoints(&p, &e, 1, t);
	pathsel_route(&p, t, &r, &acts);
	assert_int_equal(pong(&p, &acts, "198.51.100.9:5000", t + 5 * MS), PATHSEL_PONG_NEW_BEST);
	/* Heartbeats while active ... */
	uint64_t now = t + 5 * MS, pings = 0;
	while (now < t + PATHSEL_SESSION_ACTIVE_NS + 60 * S) {
		uint64_t d = pathsel_next_deadline(&p, now);
		if (d == UINT64_MAX)
			break;
		assert_true(d >= now);
		now = d;
		acts.n = 0;
		pathsel_tick(&p, now, &acts);
		for (size_t i = 0; i < acts.n; i++) {
			if (acts.a[i].type != PATHSEL_ACT_PING)
				continue;
			pings++;
			assert_true(now < t + PATHSEL_SESSION_ACTIVE_NS + PATHSEL_HEARTBEAT_NS);
			uint64_t lat;
			struct netendpoint from = acts.a[i].ep;
			(void)pathsel_on_pong(&p, acts.a[i].txid, &from, now + MS, &lat);
		}
	}
	/* ... about one per 3 s for 45 s, then none: the deadline runs out. */
	assert_true(pings >= 13 && pings <= 16);
	assert_false(pathsel_is_active(&p, now));
	assert_int_equal(pathsel_next_deadline(&p, now + 100 * S), UINT64_MAX);
	/* Trust lapsed while idle; the next packet goes via both and rediscovers. */
	acts.n = 0;
	pathsel_route(&p, now + 100 * S, &r, &acts);
	assert_true(r.relay);
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 1);
}

static void test_call_me_maybe(void **state)
{
	struct pathsel_peer p;
	struct pathsel_actions acts = { 0 };
	struct pathsel_route r;
	struct netendpoint nm = ep("203.0.113.50:41641");
	struct netendpoint cmm[2] = { ep("203.0.113.50:41641"), ep("198.51.100.60:3333") };
	uint64_t t = 50 * S;

	(void)state;
	pathsel_init(&p);
	pathsel_set_endpoints(&p, &nm, 1, t);
	pathsel_route(&p, t, &r, &acts); /* pings nm */
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 1);
	/* The peer's call-me-maybe arrives 1 s later: ping all of its endpoints now,
	 * even the one pinged a moment ago (its NAT is open for us only now). */
	acts.n = 0;
	pathsel_on_call_me_maybe(&p, cmm, 2, t + S, &acts);
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 2);
	assert_int_equal(count(&acts, PATHSEL_ACT_CALL_ME_MAYBE), 0);
	assert_int_equal(p.n_cands, 2);
	/* A newer call-me-maybe replaces the older one's endpoints (not the netmap's). */
	struct netendpoint cmm2 = ep("198.51.100.61:3333");
	acts.n = 0;
	pathsel_on_call_me_maybe(&p, &cmm2, 1, t + 2 * S, &acts);
	assert_int_equal(p.n_cands, 2);
	assert_non_null(ping_to(&acts, "198.51.100.61:3333"));
	assert_int_equal(pong(&p, &acts, "198.51.100.61:3333", t + 2 * S + 40 * MS),
			 PATHSEL_PONG_NEW_BEST);
	assert_true(pathsel_is_direct(&p, t + 2 * S + 41 * MS));
	assert_int_equal(p.c.cmm_received, 2);
}

static void test_bad_pongs(void **state)
{
	struct pathsel_peer p;
	struct pathsel_actions acts = { 0 };
	struct pathsel_route r;
	struct netendpoint e = ep("203.0.113.1:1"), other = ep("203.0.113.2:1");
	uint8_t forged[DISCO_TXID_LEN] = { 9 };
	uint64_t t = 10 * S, lat;

	(void)state;
	pathsel_init(&p);
	pathsel_set_endpoints(&p, &e, 1, t);
	pathsel_route(&p, t, &r, &acts);
	assert_int_equal(pathsel_on_pong(&p, forged, &e, t + MS, &lat), PATHSEL_PONG_UNKNOWN);
	/* The right txid from the wrong address does not count (and leaves the ping open). */
	assert_int_equal(pathsel_on_pong(&p, acts.a[0].txid, &other, t + MS, &lat),
			 PATHSEL_PONG_WRONG_SRC);
	assert_false(pathsel_is_direct(&p, t + MS));
	assert_int_equal(pathsel_on_pong(&p, acts.a[0].txid, &e, t + 2 * MS, &lat),
			 PATHSEL_PONG_NEW_BEST);
	assert_int_equal(lat, 2 * MS);
	/* Replayed: the ping is closed. */
	assert_int_equal(pathsel_on_pong(&p, acts.a[0].txid, &e, t + 3 * MS, &lat),
			 PATHSEL_PONG_UNKNOWN);
	/* A pong after the timeout is not trusted either. */
	acts.n = 0;
	pathsel_route(&p, t + 20 * S, &r, &acts);
	assert_int_equal(count(&acts, PATHSEL_ACT_PING), 1);
	assert_int_equal(pathsel_on_pong(&p, acts.a[0].txid, &e,
					 t + 20 * S + PATHSEL_PING_TIMEOUT_NS + 1, &lat),
			 PATHSEL_PONG_UNKNOWN);
	assert_int_equal(p.c.pongs_unknown, 3);
	assert_int_equal(p.c.pongs_wrong_src, 1);
}

/* Pings from unknown addresses become candidates, bounded; netmap ones are never evicted. */
static void test_candidates(void **state)
{
	struct pathsel_peer p;
	struct netendpoint nm[4];
	uint64_t t = S;

	(void)state;
	pathsel_init(&p);
	for (int i = 0; i < 4; i++) {
		char s[32];
		snprintf(s, sizeof(s), "192.0.2.%d:7", i + 1);
		nm[i] = ep(s);
	}
	pathsel_set_endpoints(&p, nm, 4, t);
	for (int i = 0; i < 200; i++) {
		char s[32];
		snprintf(s, sizeof(s), "198.51.100.%d:%d", i % 250, 1000 + i);
		struct netendpoint e = ep(s);
		pathsel_on_ping(&p, &e, false, t + (uint64_t)i);
	}
	assert_int_equal(p.n_cands, PATHSEL_MAX_CANDS);
	for (int i = 0; i < 4; i++) {
		bool found = false;
		for (size_t j = 0; j < p.n_cands; j++)
			found |= netendpoint_eq(&p.cands[j].ep, &nm[i]);
		assert_true(found);
	}
	/* Pings through the relay add nothing. */
	struct netendpoint e = ep("203.0.113.99:1");
	size_t before = p.n_cands;
	pathsel_init(&p);
	pathsel_on_ping(&p, &e, true, t);
	assert_int_equal(p.n_cands, 0);
	(void)before;
	/* A new netmap list drops endpoints that only the old list had. */
	pathsel_set_endpoints(&p, nm, 4, t);
	pathsel_set_endpoints(&p, nm + 2, 2, t);
	assert_int_equal(p.n_cands, 2);
}

struct better {
	const char *a;
	uint64_t la_us;
	const char *b;
	uint64_t lb_us;
	bool want;
};

static void test_is_better(void **state)
{
	static const struct better cases[] = {
		{ "203.0.113.1:1", 10000, "203.0.113.2:1", 20000, true },   /* 50% faster */
		{ "203.0.113.1:1", 19900, "203.0.113.2:1", 20000, false },  /* 0.5%: hysteresis */
		{ "203.0.113.1:1", 19700, "203.0.113.2:1", 20000, true },   /* 1.5% */
		{ "203.0.113.1:1", 20000, "203.0.113.1:1", 30000, false },  /* the same path */
		{ "192.168.0.2:1", 22000, "203.0.113.2:1", 20000, true },   /* private +20 > -10% */
		{ "192.168.0.2:1", 30000, "203.0.113.2:1", 20000, false },  /* -50% */
		{ "[2001:db8::1]:1", 20000, "203.0.113.2:1", 20000, true }, /* IPv6 +10 */
		{ "203.0.113.2:1", 20000, "[2001:db8::1]:1", 20000, false },
		{ "127.0.0.1:1", 40000, "203.0.113.2:1", 30000, true }, /* loopback +50 */
		{ "[fe80::1]:1", 20000, "10.0.0.1:1", 20000, true },	/* 30+10 > 20 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netendpoint a = ep(cases[i].a), b = ep(cases[i].b);
		bool got = pathsel_is_better(&a, cases[i].la_us * 1000, &b, cases[i].lb_us * 1000);
		if (got != cases[i].want)
			fail_msg("case %zu: %s vs %s: got %d", i, cases[i].a, cases[i].b, got);
	}
}

/* A working path slower than 5 ms is re-examined once a minute; a fast one is left alone. */
static void test_upgrade_interval(void **state)
{
	struct pathsel_peer p;
	struct pathsel_actions acts = { 0 };
	struct pathsel_route r;
	struct netendpoint e = ep("203.0.113.1:1");
	uint64_t t = 100 * S;

	(void)state;
	for (int fast = 0; fast < 2; fast++) {
		pathsel_init(&p);
		pathsel_set_endpoints(&p, &e, 1, t);
		acts.n = 0;
		pathsel_route(&p, t, &r, &acts);
		uint64_t rtt = fast ? 2 * MS : 40 * MS;
		assert_int_equal(pong(&p, &acts, "203.0.113.1:1", t + rtt), PATHSEL_PONG_NEW_BEST);
		/* keep it trusted and active, check for discovery after a minute */
		uint64_t now = t + rtt;
		size_t cmm = 0;
		while (now < t + PATHSEL_UPGRADE_NS + 2 * S) {
			now += S;
			acts.n = 0;
			pathsel_route(&p, now, &r, &acts);
			pathsel_tick(&p, now, &acts);
			cmm += count(&acts, PATHSEL_ACT_CALL_ME_MAYBE);
			for (size_t i = 0; i < acts.n; i++) {
				uint64_t lat;
				if (acts.a[i].type == PATHSEL_ACT_PING)
					(void)pathsel_on_pong(&p, acts.a[i].txid, &acts.a[i].ep,
							      now + rtt, &lat);
			}
			now += rtt;
		}
		assert_int_equal(cmm, fast ? 0 : 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_and_fallback),
		cmocka_unit_test(test_idle_stops_heartbeats),
		cmocka_unit_test(test_call_me_maybe),
		cmocka_unit_test(test_bad_pongs),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_is_better),
		cmocka_unit_test(test_upgrade_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

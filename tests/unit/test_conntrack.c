/* SPDX-License-Identifier: ISC */
/*
 * test_conntrack: the flow table's timeouts per protocol and state, the
 * replied and closing transitions, eviction when full, the incremental
 * sweep, and a randomized differential test against a plain array with the
 * same rules (which also exercises backward-shift deletion).
 */
#include "testutil.h"

#include "core/netaddr.h"
#include "filter/conntrack.h"

static struct conntrack_key key(uint8_t proto, uint16_t sport, uint16_t dport, uint8_t host)
{
	struct conntrack_key k;

	memset(&k, 0, sizeof(k));
	k.family = NETADDR_V4;
	k.proto = proto;
	k.sport = sport;
	k.dport = dport;
	k.src[0] = 100;
	k.src[1] = 64;
	k.src[3] = 1;
	k.dst[0] = 100;
	k.dst[1] = 64;
	k.dst[3] = host;
	return k;
}

static void test_timeouts(void **state)
{
	struct conntrack *ct;
	struct conntrack_key tcp = key(6, 1000, 80, 2), udp = key(17, 1000, 53, 2),
			     icmp = key(1, 7, 0, 2), gre = key(47, 0, 0, 2);

	assert_int_equal(conntrack_new(100, &ct), 0);
	conntrack_open(ct, &tcp, 0);
	conntrack_open(ct, &udp, 0);
	conntrack_open(ct, &icmp, 0);
	conntrack_open(ct, &gre, 0);
	assert_int_equal(conntrack_get_stats(ct).flows, 4);
	assert_true(conntrack_has(ct, &tcp, CONNTRACK_TCP_SYN_S - 1));
	assert_false(conntrack_has(ct, &tcp, CONNTRACK_TCP_SYN_S));
	assert_true(conntrack_has(ct, &udp, CONNTRACK_UDP_S - 1));
	assert_false(conntrack_has(ct, &udp, CONNTRACK_UDP_S));
	assert_false(conntrack_has(ct, &icmp, CONNTRACK_ICMP_S));
	assert_true(conntrack_has(ct, &gre, CONNTRACK_OTHER_S - 1));
	/* A reply makes a TCP flow established and a UDP one long-lived. */
	assert_true(conntrack_reply(ct, &tcp, false, 10));
	assert_true(conntrack_reply(ct, &udp, false, 10));
	assert_true(conntrack_has(ct, &tcp, 10 + CONNTRACK_TCP_EST_S - 1));
	assert_true(conntrack_has(ct, &udp, 10 + CONNTRACK_UDP_REPLIED_S - 1));
	assert_false(conntrack_has(ct, &udp, 10 + CONNTRACK_UDP_REPLIED_S));
	/* FIN: the flow winds down. */
	assert_true(conntrack_touch(ct, &tcp, true, 20));
	assert_false(conntrack_has(ct, &tcp, 20 + CONNTRACK_TCP_CLOSE_S));
	/* A lookup that meets a dead flow removes it. */
	assert_false(conntrack_reply(ct, &tcp, false, 20 + CONNTRACK_TCP_CLOSE_S));
	assert_false(conntrack_touch(ct, &tcp, false, 20 + CONNTRACK_TCP_CLOSE_S));
	assert_true(conntrack_get_stats(ct).expired >= 1);
	/* A new SYN on the ports of a closing flow starts it over. */
	conntrack_open(ct, &tcp, 30);
	assert_true(conntrack_touch(ct, &tcp, true, 31));
	conntrack_open(ct, &tcp, 32);
	assert_true(conntrack_reply(ct, &tcp, false, 33));
	assert_true(conntrack_has(ct, &tcp, 33 + CONNTRACK_TCP_CLOSE_S + 1000));
	conntrack_clear(ct);
	assert_int_equal(conntrack_get_stats(ct).flows, 0);
	assert_false(conntrack_has(ct, &gre, 33));
	conntrack_free(ct);
}

static void test_full(void **state)
{
	struct conntrack *ct;
	struct conntrack_stats st;

	assert_int_equal(conntrack_new(16, &ct), 0);
	for (uint16_t i = 0; i < 16; i++) {
		struct conntrack_key k = key(17, i, 53, 2);
		conntrack_open(ct, &k, i);
	}
	assert_int_equal(conntrack_get_stats(ct).flows, 16);
	/* More flows than room: each pushes out a stale neighbour, the table stays bounded. */
	for (uint16_t i = 16; i < 1000; i++) {
		struct conntrack_key k = key(17, i, 53, 2);
		conntrack_open(ct, &k, 16);
		assert_true(conntrack_has(ct, &k, 16));
		assert_true(conntrack_get_stats(ct).flows <= 16);
	}
	st = conntrack_get_stats(ct);
	assert_int_equal(st.created, 1000);
	assert_int_equal(st.evicted + st.expired, 1000 - 16);
	/* The sweep empties the table once everything timed out. */
	for (size_t i = 0; i < 4; i++)
		conntrack_expire(ct, 16 + CONNTRACK_UDP_S, conntrack_capacity(ct) / 2);
	assert_int_equal(conntrack_get_stats(ct).flows, 0);
	conntrack_free(ct);
}

/* The reference: an array of flows with the same timeouts. */
struct nflow {
	struct conntrack_key k;
	uint64_t last;
	int state;
	bool used;
};

static uint64_t ntimeout(const struct nflow *f)
{
	if (f->k.proto == 6)
		return f->state == 1 ? CONNTRACK_TCP_SYN_S :
		       f->state == 3 ? CONNTRACK_TCP_CLOSE_S :
				       CONNTRACK_TCP_EST_S;
	if (f->k.proto == 17)
		return f->state == 1 ? CONNTRACK_UDP_S : CONNTRACK_UDP_REPLIED_S;
	return CONNTRACK_ICMP_S;
}

static struct nflow *nfind(struct nflow *v, size_t n, const struct conntrack_key *k, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].used || memcmp(&v[i].k, k, sizeof(*k)) != 0)
			continue;
		if (now < v[i].last + ntimeout(&v[i]))
			return &v[i];
		v[i].used = false;
		return NULL;
	}
	return NULL;
}

static void test_differential(void **state)
{
	enum { POOL = 300 };
	static struct nflow ref[POOL];
	struct conntrack *ct;
	uint64_t rng = 99, now = 1000;

	/* Room for every key: no eviction, so the table must agree with the array exactly. */
	assert_int_equal(conntrack_new(POOL, &ct), 0);
	for (int step = 0; step < 200000; step++) {
		uint64_t r = tu_rng(&rng);
		size_t id = r % POOL;
		uint8_t proto = id % 3 == 0 ? 6 : id % 3 == 1 ? 17 : 1;
		struct conntrack_key k = key(proto, (uint16_t)id, 80, (uint8_t)(id % 7));
		struct nflow *nf;
		bool got, want;

		now += (r >> 20) % 3 == 0 ? (r >> 24) % 40 : 0;
		nf = nfind(ref, POOL, &k, now);
		switch ((r >> 8) % 5) {
		case 0: /* open */
			conntrack_open(ct, &k, now);
			if (nf == NULL) {
				nf = &ref[id];
				nf->k = k;
				nf->used = true;
				nf->state = 1;
			} else if (nf->state == 3) {
				nf->state = 1;
			}
			nf->last = now;
			break;
		case 1: /* touch, maybe closing */
			got = conntrack_touch(ct, &k, (r >> 12) & 1, now);
			want = nf != NULL;
			assert_int_equal(got, want);
			if (nf != NULL) {
				nf->last = now;
				if (((r >> 12) & 1) && proto == 6)
					nf->state = 3;
			}
			break;
		case 2: /* reply */
			got = conntrack_reply(ct, &k, false, now);
			assert_int_equal(got, nf != NULL);
			if (nf != NULL) {
				nf->last = now;
				if (nf->state == 1)
					nf->state = 2;
			}
			break;
		case 3:
			assert_int_equal(conntrack_has(ct, &k, now), nf != NULL);
			break;
		default:
			conntrack_expire(ct, now, (r >> 16) % 64);
			break;
		}
	}
	conntrack_free(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

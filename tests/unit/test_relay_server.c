/* SPDX-License-Identifier: ISC */
/*
 * test_relay_server: the relay server and client on one libevent loop over
 * loopback TCP (no root needed): duplicate keys (the last writer receives,
 * a takeover sends no peer-gone), the rate-limited "not here" notices, a
 * client that stops reading (its queue drops oldest first, then it is
 * closed and its senders hear it is gone), a handshake that never comes,
 * and the verification hook. Waits are conditions with deadlines.
 */
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/clock.h"
#include "relay/relay_client.h"
#include "relay/relay_server.h"
#include "testutil.h"

static struct event_base *base;
static struct relay_server *rs;
static char url[64];
static uint16_t port;
static struct node_public denied;

struct tc {
	struct relay_client *rc;
	struct node_private priv;
	struct node_public pub;
	int ready;
	uint64_t packets;
	struct node_public last_src;
	int gone_disconnected, gone_not_here;
	struct node_public last_gone;
	int health;
};

static void tc_ready(void *arg)
{
	((struct tc *)arg)->ready++;
}

static void tc_packet(void *arg, const struct node_public *src, const uint8_t *p, size_t n)
{
	struct tc *t = arg;

	(void)p;
	(void)n;
	t->packets++;
	t->last_src = *src;
}

static void tc_gone(void *arg, const struct node_public *key, uint8_t reason)
{
	struct tc *t = arg;

	if (reason == RELAY_GONE_DISCONNECTED)
		t->gone_disconnected++;
	else
		t->gone_not_here++;
	t->last_gone = *key;
}

static void tc_health(void *arg, const char *text, size_t len)
{
	struct tc *t = arg;

	if (len == 20 && memcmp(text, "duplicate connection", 20) == 0)
		t->health++;
}

static void tc_start(struct tc *t, const struct node_private *key)
{
	struct relay_client_config cfg;

	memset(t, 0, sizeof(*t));
	if (key != NULL)
		t->priv = *key;
	else
		keys_generate(t->priv.b);
	assert_int_equal(node_private_public(&t->pub, &t->priv), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.url = url;
	cfg.key = t->priv;
	cfg.cbs.ready = tc_ready;
	cfg.cbs.packet = tc_packet;
	cfg.cbs.peer_gone = tc_gone;
	cfg.cbs.health = tc_health;
	cfg.arg = t;
	cfg.backoff_min_ms = 50;
	cfg.out_max = 4 << 20;
	assert_int_equal(relay_client_new(base, &cfg, &t->rc), 0);
	assert_int_equal(relay_client_start(t->rc), 0);
}

static void tc_stop(struct tc *t)
{
	relay_client_free(t->rc);
	t->rc = NULL;
}

/* Runs the loop until *flag >= want or 10 s pass. */
static bool run_until(const int *flag, int want)
{
	uint64_t end = clock_mono_ns() + 10 * CLOCK_NS_PER_SEC;
	struct timeval slice = { 0, 5000 };

	while (*flag < want && clock_mono_ns() < end) {
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	return *flag >= want;
}

static bool run_until_u64(const uint64_t *v, uint64_t want)
{
	uint64_t end = clock_mono_ns() + 10 * CLOCK_NS_PER_SEC;
	struct timeval slice = { 0, 5000 };

	while (*v < want && clock_mono_ns() < end) {
		event_base_loopexit(base, &slice);
		event_base_dispatch(base);
	}
	return *v >= want;
}

static void run_ms(unsigned ms)
{
	struct timeval tv = { 0, (suseconds_t)ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static bool verify(void *arg, const struct node_public *key, const struct netendpoint *src)
{
	(void)arg;
	(void)src;
	return memcmp(key->b, denied.b, KEY_LEN) != 0;
}

static int setup(void **state)
{
	struct relay_server_config cfg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd;

	(void)state;
	base = event_base_new();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", port);
	memset(&cfg, 0, sizeof(cfg));
	keys_generate(cfg.key.b);
	cfg.queue_depth = 8;
	cfg.handshake_ms = 300;
	cfg.write_timeout_ms = 1000;
	cfg.verify = verify;
	memset(denied.b, 0xee, KEY_LEN);
	assert_int_equal(relay_server_new(base, &cfg, &rs), 0);
	assert_int_equal(relay_server_listen_raw_fd(rs, fd), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	relay_server_free(rs);
	event_base_free(base);
	return 0;
}

static const uint8_t pkt[64] = { 1, 2, 3 };

static void test_duplicates(void **state)
{
	struct tc a1, a2, s;
	struct relay_server_counters c;

	(void)state;
	tc_start(&s, NULL);
	tc_start(&a1, NULL);
	assert_true(run_until(&s.ready, 1) && run_until(&a1.ready, 1));
	tc_start(&a2, &a1.priv);
	assert_true(run_until(&a2.ready, 1));
	/* The older connection is told; the newer one receives. */
	assert_true(run_until(&a1.health, 1));
	assert_int_equal(relay_client_send(s.rc, &a1.pub, pkt, sizeof(pkt)), 0);
	assert_true(run_until_u64(&a2.packets, 1));
	assert_int_equal(a1.packets, 0);
	/* The older one sends: it is the receiver again. */
	assert_int_equal(relay_client_send(a1.rc, &s.pub, pkt, sizeof(pkt)), 0);
	assert_true(run_until_u64(&s.packets, 1));
	assert_int_equal(relay_client_send(s.rc, &a1.pub, pkt, sizeof(pkt)), 0);
	assert_true(run_until_u64(&a1.packets, 1));
	assert_int_equal(a2.packets, 1);
	/* It leaves: the other connection takes over, and S hears nothing. */
	tc_stop(&a1);
	run_ms(100);
	assert_int_equal(relay_client_send(s.rc, &a2.pub, pkt, sizeof(pkt)), 0);
	assert_true(run_until_u64(&a2.packets, 2));
	assert_int_equal(s.gone_disconnected, 0);
	/* The last one leaves: S, which sent to it, hears it is gone. */
	tc_stop(&a2);
	assert_true(run_until(&s.gone_disconnected, 1));
	assert_memory_equal(s.last_gone.b, a2.pub.b, KEY_LEN);
	relay_server_counters(rs, &c);
	assert_true(c.dup_keys >= 1);
	tc_stop(&s);
}

static void test_not_here_limited(void **state)
{
	struct tc s;
	struct node_public nobody;
	struct relay_server_counters c0, c1;

	(void)state;
	memset(nobody.b, 0x5a, KEY_LEN);
	tc_start(&s, NULL);
	assert_true(run_until(&s.ready, 1));
	relay_server_counters(rs, &c0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(relay_client_send(s.rc, &nobody, pkt, sizeof(pkt)), 0);
	assert_true(run_until(&s.gone_not_here, 3));
	run_ms(100);
	assert_int_equal(s.gone_not_here, 3); /* burst of 3, then 1 per second */
	relay_server_counters(rs, &c1);
	assert_int_equal(c1.drop_unknown_dest - c0.drop_unknown_dest, 10);
	assert_int_equal(c1.peer_gone_limited - c0.peer_gone_limited, 7);
	tc_stop(&s);
}

/* A raw client that completes the handshake by hand, then never reads again. */
static int stuck_client(struct node_public *pub_out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(port) };
	uint8_t buf[256], ci[RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_LEN];
	uint8_t challenge[RELAY_CHALLENGE_LEN], nonce[RELAY_NONCE_LEN];
	struct relay_public server;
	struct relay_frame f;
	struct node_private priv;
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcv = 4096;
	size_t have = 0;

	assert_true(fd >= 0);
	/* A small receive buffer, so the relay's queue fills soon. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	while (have < RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN) {
		run_ms(5);
		ssize_t r = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (r > 0)
			have += (size_t)r;
	}
	assert_int_equal(
		relay_frame_parse(buf[0], buf + RELAY_FRAME_HEADER_LEN, RELAY_SERVER_KEY_LEN, &f),
		RELAY_OK);
	assert_int_equal(relay_hs_server_key_read(&f, &server, challenge), RELAY_OK);
	keys_generate(priv.b);
	assert_int_equal(node_private_public(pub_out, &priv), 0);
	assert_int_equal(relay_hs_client_info_write(ci, &priv, &server, challenge, 0, NULL, nonce),
			 0);
	assert_int_equal(write(fd, ci, sizeof(ci)), (ssize_t)sizeof(ci));
	return fd;
}

static void test_slow_reader(void **state)
{
	struct tc s;
	struct node_public stuck;
	struct relay_server_counters c0, c;
	static uint8_t big[60000];
	int fd;

	(void)state;
	relay_server_counters(rs, &c0);
	fd = stuck_client(&stuck);
	tc_start(&s, NULL);
	assert_true(run_until(&s.ready, 1));
	run_ms(50);
	/* Far more than the socket buffers and the queue hold. */
	for (int i = 0; i < 400; i++) {
		while (relay_client_send(s.rc, &stuck, big, sizeof(big)) == -ENOBUFS)
			run_ms(2);
		if (i % 16 == 0)
			run_ms(1);
	}
	relay_server_counters(rs, &c);
	uint64_t end = clock_mono_ns() + 10 * CLOCK_NS_PER_SEC;
	while (c.slow_closed == c0.slow_closed && clock_mono_ns() < end) {
		run_ms(20);
		relay_server_counters(rs, &c);
	}
	assert_true(c.drop_queue_full > c0.drop_queue_full);
	assert_int_equal(c.slow_closed, c0.slow_closed + 1);
	/* S sent to it, so S is told it is gone. */
	assert_true(run_until(&s.gone_disconnected, 1));
	assert_memory_equal(s.last_gone.b, stuck.b, KEY_LEN);
	close(fd);
	tc_stop(&s);
}

static void test_handshake_timeout_and_verify(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(port) };
	struct relay_server_counters c0, c;
	uint8_t buf[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool closed = false;
	struct tc bad;
	struct node_private dpriv;

	(void)state;
	relay_server_counters(rs, &c0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	uint64_t end = clock_mono_ns() + 5 * CLOCK_NS_PER_SEC;
	while (!closed && clock_mono_ns() < end) {
		run_ms(10);
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		closed = r == 0;
	}
	assert_true(closed);
	close(fd);
	relay_server_counters(rs, &c);
	assert_int_equal(c.handshake_errors, c0.handshake_errors + 1);

	/* A key the hook refuses never becomes ready. */
	do {
		keys_generate(dpriv.b);
		assert_int_equal(node_private_public(&denied, &dpriv), 0);
	} while (0);
	tc_start(&bad, &dpriv);
	end = clock_mono_ns() + 5 * CLOCK_NS_PER_SEC;
	while (c.verify_refused == c0.verify_refused && clock_mono_ns() < end) {
		run_ms(10);
		relay_server_counters(rs, &c);
	}
	assert_true(c.verify_refused > c0.verify_refused);
	assert_int_equal(bad.ready, 0);
	tc_stop(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_not_here_limited),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_handshake_timeout_and_verify),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}

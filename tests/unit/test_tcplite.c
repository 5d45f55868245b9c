/* SPDX-License-Identifier: ISC */
/*
 * test_tcplite: the small TCP against a scripted client: handshake, data in and out, the
 * passive close with FIN held back while a reply is owed, segmentation by MSS and window,
 * go-back-N retransmission and the reset after too many, persist probes into a closed window,
 * out-of-order data, resets for strangers, a full table, resets in and out of the window,
 * idle connections, stale ids and overflowing replies.
 */
#include "net/tcplite.h"
#include "testutil.h"

#define MS 1000000ULL
#define OUT_MAX 256

struct seg {
	struct ippkt_tcp_seg s;
	uint8_t data[2048];
};

struct h {
	struct tcplite *t;
	struct seg out[OUT_MAX];
	size_t n;
	struct netendpoint client, server;
	uint32_t iss; /* the server's, from its SYN-ACK */
	uint64_t conn;
};

static void emit(void *arg, const struct ippkt_tcp_seg *s)
{
	struct h *h = arg;
	struct seg *o;

	assert_true(h->n < OUT_MAX);
	assert_true(s->len <= sizeof(o->data));
	o = &h->out[h->n++];
	o->s = *s;
	if (s->len > 0) /* a bare SYN or ACK has no data (and may have data NULL) */
		memcpy(o->data, s->data, s->len);
	o->s.data = o->data;
}

static struct h *h_new(size_t conns, uint16_t mss)
{
	struct tcplite_ops ops = { .emit = emit };
	struct tcplite_config cfg;
	struct h *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	tcplite_config_default(&cfg);
	cfg.max_conns = conns;
	cfg.mss = mss;
	cfg.tx_max = 8192;
	cfg.idle_ns = 60000 * MS;
	assert_int_equal(tcplite_new(&cfg, &ops, h, &h->t), 0);
	assert_int_equal(netaddr_parse("100.64.0.7", &h->client.addr), 0);
	h->client.port = 40000;
	assert_int_equal(netaddr_parse("100.100.100.100", &h->server.addr), 0);
	h->server.port = 53;
	return h;
}

static void h_free(struct h *h)
{
	tcplite_free(h->t);
	free(h);
}

/* A segment from the client; returns tcplite_input's answer. */
static bool in(struct h *h, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
	       const char *data, uint64_t now)
{
	struct ippkt p = { .proto = IPPKT_PROTO_TCP, .src = h->client, .dst = h->server };
	uint64_t conn;
	bool got;

	p.tcp.seq = seq;
	p.tcp.ack = ack;
	p.tcp.flags = flags;
	p.tcp.window = wnd;
	p.payload = (const uint8_t *)data;
	p.payload_len = data != NULL ? strlen(data) : 0;
	got = tcplite_input(h->t, &p, now, &conn);
	if (got)
		h->conn = conn;
	return got;
}

static const struct ippkt_tcp_seg *last(struct h *h)
{
	assert_true(h->n > 0);
	return &h->out[h->n - 1].s;
}

/* SYN (seq 1000, MSS option given) -> SYN-ACK -> ACK: established, nothing sent back. */
static void handshake(struct h *h, uint16_t wnd)
{
	struct ippkt p = { .proto = IPPKT_PROTO_TCP, .src = h->client, .dst = h->server };
	uint64_t conn, est = tcplite_counters(h->t)->established;

	p.tcp.seq = 1000;
	p.tcp.flags = IPPKT_TCP_SYN;
	p.tcp.window = wnd;
	p.tcp.mss = 100;
	h->n = 0;
	assert_false(tcplite_input(h->t, &p, 0, &conn));
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->flags, IPPKT_TCP_SYN | IPPKT_TCP_ACK);
	assert_int_equal(last(h)->ack, 1001);
	assert_true(last(h)->mss > 0);
	assert_true(netendpoint_eq(&last(h)->src, &h->server));
	assert_true(netendpoint_eq(&last(h)->dst, &h->client));
	h->iss = last(h)->seq;
	h->n = 0;
	assert_false(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, wnd, NULL, 1));
	assert_int_equal(h->n, 0);
	assert_int_equal(tcplite_counters(h->t)->established, est + 1);
}

static void test_exchange_and_close(void **state)
{
	struct h *h = h_new(4, 1200);
	const uint8_t *p;
	size_t n;

	(void)state;
	handshake(h, 65535);
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK | IPPKT_TCP_PSH, 65535, "hello", 2));
	assert_int_equal(h->n, 1); /* the ACK */
	assert_int_equal(last(h)->ack, 1006);
	assert_true(tcplite_rx(h->t, h->conn, &p, &n));
	assert_int_equal(n, 5);
	assert_memory_equal(p, "hello", 5);
	tcplite_rx_consume(h->t, h->conn, 5);
	assert_true(tcplite_rx(h->t, h->conn, &p, &n));
	assert_int_equal(n, 0);
	h->n = 0;
	assert_int_equal(tcplite_send(h->t, h->conn, (const uint8_t *)"world", 5, 3), 0);
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->seq, h->iss + 1);
	assert_int_equal(last(h)->flags, IPPKT_TCP_ACK | IPPKT_TCP_PSH);
	assert_int_equal(last(h)->len, 5);
	assert_memory_equal(last(h)->data, "world", 5);
	assert_true(tcplite_next_deadline(h->t) <= 3 + 200 * MS); /* the retransmission timer */
	h->n = 0;
	assert_false(in(h, 1006, h->iss + 6, IPPKT_TCP_ACK, 65535, NULL, 4));
	assert_int_equal(h->n, 0);
	/* The client closes: ACK, then our FIN at once (nothing owed), then its ACK ends it. */
	assert_false(in(h, 1006, h->iss + 6, IPPKT_TCP_ACK | IPPKT_TCP_FIN, 65535, NULL, 5));
	assert_int_equal(h->n, 2);
	assert_int_equal(h->out[0].s.ack, 1007);
	assert_int_equal(h->out[1].s.flags, IPPKT_TCP_ACK | IPPKT_TCP_FIN);
	assert_int_equal(h->out[1].s.seq, h->iss + 6);
	assert_int_equal(tcplite_count(h->t), 1);
	assert_false(in(h, 1007, h->iss + 7, IPPKT_TCP_ACK, 65535, NULL, 6));
	assert_int_equal(tcplite_count(h->t), 0);
	assert_int_equal(tcplite_counters(h->t)->closed, 1);
	assert_int_equal(tcplite_next_deadline(h->t), UINT64_MAX);
	/* The id is stale now. */
	assert_false(tcplite_rx(h->t, h->conn, &p, &n));
	assert_int_equal(tcplite_send(h->t, h->conn, (const uint8_t *)"x", 1, 7), -ENOENT);
	h_free(h);
}

/* Query and FIN in one segment: our FIN waits for the reply the caller owes. */
static void test_half_close_hold(void **state)
{
	struct h *h = h_new(4, 1200);

	(void)state;
	handshake(h, 65535);
	h->n = 0;
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK | IPPKT_TCP_FIN, 65535, "query", 2));
	tcplite_hold(h->t, h->conn);
	tcplite_rx_consume(h->t, h->conn, 5);
	/* Only the ACK of query and FIN so far: the FIN is held back. */
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->ack, 1007);
	assert_false(last(h)->flags & IPPKT_TCP_FIN);
	h->n = 0;
	assert_int_equal(tcplite_send(h->t, h->conn, (const uint8_t *)"answer", 6, 3), 0);
	assert_int_equal(h->n, 1);
	tcplite_unhold(h->t, h->conn, 3);
	assert_int_equal(h->n, 2);
	assert_int_equal(last(h)->flags, IPPKT_TCP_ACK | IPPKT_TCP_FIN);
	assert_int_equal(last(h)->seq, h->iss + 7);
	assert_false(in(h, 1007, h->iss + 8, IPPKT_TCP_ACK, 65535, NULL, 4));
	assert_int_equal(tcplite_count(h->t), 0);
	h_free(h);
}

/* Replies are cut to the peer's MSS (100 here) and sent only as far as its window. */
static void test_segmentation_window(void **state)
{
	struct h *h = h_new(4, 1200);
	uint8_t big[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	handshake(h, 250);
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 250, "q", 2));
	tcplite_rx_consume(h->t, h->conn, 1);
	h->n = 0;
	assert_int_equal(tcplite_send(h->t, h->conn, big, sizeof(big), 3), 0);
	assert_int_equal(h->n, 3); /* 100 + 100 + 50 fill the window of 250 */
	assert_int_equal(h->out[0].s.len, 100);
	assert_int_equal(h->out[1].s.seq, h->iss + 101);
	assert_int_equal(h->out[2].s.len, 50);
	assert_memory_equal(h->out[2].s.data, big + 200, 50);
	/* The client takes 150 bytes and its window opens to 1000: the rest goes out. */
	h->n = 0;
	assert_false(in(h, 1002, h->iss + 151, IPPKT_TCP_ACK, 1000, NULL, 4));
	assert_int_equal(h->n, 8); /* 750 bytes left, 100 at a time */
	assert_int_equal(h->out[0].s.seq, h->iss + 251);
	assert_int_equal(last(h)->seq, h->iss + 951);
	assert_int_equal(last(h)->flags, IPPKT_TCP_ACK | IPPKT_TCP_PSH);
	h_free(h);
}

static void test_retransmit_and_give_up(void **state)
{
	struct h *h = h_new(4, 1200);
	uint64_t t = 10, d;

	(void)state;
	handshake(h, 65535);
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 65535, "q", 2));
	tcplite_rx_consume(h->t, h->conn, 1);
	assert_int_equal(tcplite_send(h->t, h->conn, (const uint8_t *)"abc", 3, t), 0);
	/* Nothing due before the timeout. */
	h->n = 0;
	tcplite_expire(h->t, t + 199 * MS);
	assert_int_equal(h->n, 0);
	/* Each timeout sends the same bytes again, twice as late each time, then a reset. */
	for (unsigned k = 0; k < 6; k++) {
		d = tcplite_next_deadline(h->t);
		assert_true(d > t);
		t = d;
		h->n = 0;
		tcplite_expire(h->t, t);
		assert_int_equal(h->n, 1);
		assert_int_equal(last(h)->seq, h->iss + 1);
		assert_int_equal(last(h)->len, 3);
	}
	assert_int_equal(tcplite_counters(h->t)->retransmits, 6);
	h->n = 0;
	tcplite_expire(h->t, tcplite_next_deadline(h->t));
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST);
	assert_int_equal(tcplite_count(h->t), 0);
	assert_int_equal(tcplite_counters(h->t)->timeouts, 1);
	h_free(h);
}

/* A lost SYN-ACK: the client's SYN again, or our timer, sends the same one. */
static void test_syn_retransmit(void **state)
{
	struct h *h = h_new(4, 1200);
	uint32_t iss;

	(void)state;
	h->n = 0;
	assert_false(in(h, 1000, 0, IPPKT_TCP_SYN, 65535, NULL, 0));
	iss = last(h)->seq;
	h->n = 0;
	assert_false(in(h, 1000, 0, IPPKT_TCP_SYN, 65535, NULL, 1));
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->seq, iss);
	assert_int_equal(last(h)->flags, IPPKT_TCP_SYN | IPPKT_TCP_ACK);
	assert_int_equal(tcplite_count(h->t), 1);
	h->n = 0;
	tcplite_expire(h->t, 200 * MS);
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->seq, iss);
	/* A new SYN (another sequence number) on the same tuple replaces the connection. */
	h->n = 0;
	assert_false(in(h, 5000, 0, IPPKT_TCP_SYN, 65535, NULL, 2));
	assert_int_equal(last(h)->ack, 5001);
	assert_int_equal(tcplite_count(h->t), 1);
	/* An ACK of something else than our SYN: a reset, the connection waits. */
	iss = last(h)->seq;
	h->n = 0;
	assert_false(in(h, 5001, iss + 7, IPPKT_TCP_ACK, 65535, "x", 3));
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST);
	assert_int_equal(last(h)->seq, iss + 7);
	assert_int_equal(tcplite_count(h->t), 1);
	h_free(h);
}

static void test_out_of_order_and_strangers(void **state)
{
	struct h *h = h_new(2, 1200);
	const uint8_t *p;
	size_t n;

	(void)state;
	handshake(h, 65535);
	/* A gap: nothing taken, a duplicate ACK says where we are. */
	h->n = 0;
	assert_false(in(h, 1005, h->iss + 1, IPPKT_TCP_ACK, 65535, "late", 2));
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->ack, 1001);
	assert_int_equal(tcplite_counters(h->t)->out_of_order, 1);
	/* The missing bytes then: only they are taken. */
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 65535, "ab", 2));
	assert_true(tcplite_rx(h->t, h->conn, &p, &n));
	assert_int_equal(n, 2);
	assert_int_equal(last(h)->ack, 1003);
	/* No ACK flag: ignored. */
	h->n = 0;
	assert_false(in(h, 1001, 0, 0, 65535, "x", 3));
	assert_int_equal(h->n, 0);
	/* A stranger's ACK gets a reset at its ACK number; its RST gets nothing. */
	h->client.port = 40001;
	assert_false(in(h, 77, 99, IPPKT_TCP_ACK, 65535, "x", 4));
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST);
	assert_int_equal(last(h)->seq, 99);
	h->n = 0;
	assert_false(in(h, 77, 0, IPPKT_TCP_RST, 65535, NULL, 5));
	assert_int_equal(h->n, 0);
	/* A stranger's FIN without ACK: RST|ACK covering the FIN. */
	assert_false(in(h, 77, 0, IPPKT_TCP_FIN, 65535, "ab", 6));
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST | IPPKT_TCP_ACK);
	assert_int_equal(last(h)->ack, 80);
	assert_int_equal(tcplite_counters(h->t)->no_conn, 3);
	/* The table holds two: a third SYN is refused with a reset. */
	assert_false(in(h, 1, 0, IPPKT_TCP_SYN, 65535, NULL, 7));
	h->client.port = 40002;
	h->n = 0;
	assert_false(in(h, 1, 0, IPPKT_TCP_SYN, 65535, NULL, 8));
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST | IPPKT_TCP_ACK);
	assert_int_equal(last(h)->ack, 2);
	assert_int_equal(tcplite_counters(h->t)->table_full, 1);
	assert_int_equal(tcplite_count(h->t), 2);
	h_free(h);
}

static void test_resets_and_idle(void **state)
{
	struct h *h = h_new(4, 1200);
	uint64_t first;

	(void)state;
	handshake(h, 65535);
	/* A reset off our window edge is ignored (blind reset attack), one on it ends it. */
	assert_false(in(h, 5000, 0, IPPKT_TCP_RST, 0, NULL, 2));
	assert_int_equal(tcplite_count(h->t), 1);
	assert_false(in(h, 1001, 0, IPPKT_TCP_RST, 0, NULL, 3));
	assert_int_equal(tcplite_count(h->t), 0);
	assert_int_equal(tcplite_counters(h->t)->rst_received, 1);
	/* An idle connection is reset after idle_ns (60 s here); a segment keeps it alive. */
	first = h->conn;
	handshake(h, 65535);
	assert_true(h->conn == 0 || h->conn != first);
	h->n = 0;
	tcplite_expire(h->t, 59000 * MS);
	assert_int_equal(h->n, 0);
	assert_false(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 65535, NULL, 59000 * MS));
	tcplite_expire(h->t, 118000 * MS);
	assert_int_equal(tcplite_count(h->t), 1);
	assert_int_equal(tcplite_next_deadline(h->t), 119000 * MS);
	tcplite_expire(h->t, 119000 * MS);
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST);
	assert_int_equal(tcplite_count(h->t), 0);
	assert_int_equal(tcplite_counters(h->t)->idle, 1);
	h_free(h);
}

/* A closed window: nothing goes out until it opens; the timer probes with one byte. */
static void test_zero_window(void **state)
{
	struct h *h = h_new(4, 1200);

	(void)state;
	handshake(h, 65535);
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 0, "q", 2));
	tcplite_rx_consume(h->t, h->conn, 1);
	h->n = 0;
	assert_int_equal(tcplite_send(h->t, h->conn, (const uint8_t *)"abc", 3, 3), 0);
	assert_int_equal(h->n, 0);
	assert_true(tcplite_next_deadline(h->t) <= 3 + 200 * MS);
	tcplite_expire(h->t, 3 + 200 * MS);
	assert_int_equal(h->n, 1);
	assert_int_equal(last(h)->len, 1);
	assert_int_equal(last(h)->seq, h->iss + 1);
	/* The window opens: all of it goes, from the first byte. */
	h->n = 0;
	assert_false(in(h, 1002, h->iss + 1, IPPKT_TCP_ACK, 1000, NULL, 4));
	assert_true(h->n >= 1);
	assert_int_equal(last(h)->len, 2);
	assert_int_equal(last(h)->seq, h->iss + 2);
	h_free(h);
}

/* A client that never reads: replies past tx_max reset it. */
static void test_tx_overflow(void **state)
{
	struct h *h = h_new(4, 1200);
	uint8_t big[5000] = { 0 };

	(void)state;
	handshake(h, 0);
	assert_true(in(h, 1001, h->iss + 1, IPPKT_TCP_ACK, 0, "q", 2));
	assert_int_equal(tcplite_send(h->t, h->conn, big, sizeof(big), 3), 0);
	h->n = 0;
	assert_int_equal(tcplite_send(h->t, h->conn, big, sizeof(big), 4), -ENOBUFS);
	assert_int_equal(last(h)->flags, IPPKT_TCP_RST);
	assert_int_equal(tcplite_count(h->t), 0);
	assert_int_equal(tcplite_counters(h->t)->tx_overflow, 1);
	h_free(h);
}

static void test_config(void **state)
{
	struct tcplite_ops ops = { .emit = emit };
	struct tcplite_config cfg;
	struct tcplite *t;

	(void)state;
	tcplite_config_default(&cfg);
	cfg.max_conns = 0;
	assert_int_equal(tcplite_new(&cfg, &ops, NULL, &t), -EINVAL);
	assert_null(t);
	tcplite_config_default(&cfg);
	cfg.mss = 10;
	assert_int_equal(tcplite_new(&cfg, &ops, NULL, &t), -EINVAL);
	tcplite_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_and_close),
		cmocka_unit_test(test_half_close_hold),
		cmocka_unit_test(test_segmentation_window),
		cmocka_unit_test(test_retransmit_and_give_up),
		cmocka_unit_test(test_syn_retransmit),
		cmocka_unit_test(test_out_of_order_and_strangers),
		cmocka_unit_test(test_resets_and_idle),
		cmocka_unit_test(test_zero_window),
		cmocka_unit_test(test_tx_overflow),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

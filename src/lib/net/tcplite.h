/* SPDX-License-Identifier: ISC */
/*
 * tcplite: the smallest TCP that serves request/response protocols (DNS over
 * TCP at 100.100.100.100) from parsed segments, sans-I/O. Passive open only;
 * in-order data is buffered for the caller, anything out of order is dropped
 * with a duplicate ACK; replies are cut to the peer's MSS and window,
 * retransmitted go-back-N with a doubling timeout, and the connection ends
 * when the peer closes (we finish our replies, then FIN), after too many
 * retransmissions, or when idle (RST). No congestion control: it talks to the
 * host's own stack over the TUN. A bounded table; ids carry a generation, so
 * a reply for a connection that is gone is recognised and dropped.
 */
#ifndef WEFT_NET_TCPLITE_H
#define WEFT_NET_TCPLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/ippkt.h"

struct tcplite;

struct tcplite_config {
	size_t max_conns;     /* connections at once (64) */
	size_t rx_max;	      /* bytes buffered from a client (65537: one DNS message) */
	size_t tx_max;	      /* bytes queued to a client (4 * 65537) */
	uint16_t mss;	      /* what we announce (1200 fits a 1280 tunnel MTU over IPv6) */
	uint64_t rto_ns;      /* first retransmission timeout (200 ms) */
	unsigned max_retries; /* then the connection is reset (6) */
	uint64_t idle_ns;     /* a connection with no segment for this long is reset (10 s) */
};

void tcplite_config_default(struct tcplite_config *c);

/* Segments go out through this; `s->data` is valid during the call only. */
struct tcplite_ops {
	void (*emit)(void *arg, const struct ippkt_tcp_seg *s);
};

struct tcplite_counters {
	uint64_t syn, established, closed, reset_sent, rst_received;
	uint64_t table_full, no_conn, out_of_order, rx_overflow, tx_overflow;
	uint64_t retransmits, timeouts, idle;
};

int tcplite_new(const struct tcplite_config *cfg, const struct tcplite_ops *ops, void *arg,
		struct tcplite **out) __attribute__((warn_unused_result));
void tcplite_free(struct tcplite *t);

/*
 * A parsed TCP segment addressed to us (pkt->proto == IPPKT_PROTO_TCP). When
 * it brought new in-order data, returns true and sets *conn; the caller then
 * reads it with tcplite_rx and consumes what it used.
 */
bool tcplite_input(struct tcplite *t, const struct ippkt *pkt, uint64_t now_ns, uint64_t *conn);

/* The bytes received and not consumed yet; false if the connection is gone. */
bool tcplite_rx(struct tcplite *t, uint64_t conn, const uint8_t **p, size_t *len);
void tcplite_rx_consume(struct tcplite *t, uint64_t conn, size_t n);

/*
 * Queues data for the client and sends what its window allows. -ENOENT when
 * the connection is gone, -ENOBUFS when it would exceed tx_max (nothing
 * queued: the connection is reset, a client that does not read its replies
 * gets no more).
 */
int tcplite_send(struct tcplite *t, uint64_t conn, const uint8_t *data, size_t len,
		 uint64_t now_ns) __attribute__((warn_unused_result));

/*
 * A reply the caller still owes on `conn` (a query it took off the stream):
 * after the peer's FIN, ours waits until the input is consumed and every hold
 * is released, so a client that half-closes after its query still gets the
 * answer.
 */
void tcplite_hold(struct tcplite *t, uint64_t conn);
void tcplite_unhold(struct tcplite *t, uint64_t conn, uint64_t now_ns);

/* Retransmissions and idle resets due by now. */
void tcplite_expire(struct tcplite *t, uint64_t now_ns);
/* When tcplite_expire next has work, UINT64_MAX if never. */
uint64_t tcplite_next_deadline(const struct tcplite *t);

size_t tcplite_count(const struct tcplite *t);
const struct tcplite_counters *tcplite_counters(const struct tcplite *t);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tcplite: the small TCP driven by arbitrary scripts. Each step is a
 * client segment (flags, sequence and ACK near the connection's own, window,
 * data), or the caller sending, consuming, holding, releasing, or time
 * passing. Nothing it emits may exceed the MSS it announced or carry data and
 * SYN together; the table never holds more than its size; the buffered input
 * never exceeds rx_max.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcplite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONNS 3
#define MSS 100
#define RX_MAX 300

static uint32_t last_seq, last_ack;

static void emit(void *arg, const struct ippkt_tcp_seg *s)
{
	(void)arg;
	if (s->len > MSS || ((s->flags & IPPKT_TCP_SYN) && s->len > 0))
		abort();
	last_seq = s->seq;
	last_ack = s->ack;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcplite_ops ops = { .emit = emit };
	struct tcplite_config cfg;
	struct tcplite *t;
	uint64_t now = 1, conn = 0;
	size_t i = 0;

	tcplite_config_default(&cfg);
	cfg.max_conns = CONNS;
	cfg.mss = MSS;
	cfg.rx_max = RX_MAX;
	cfg.tx_max = 2000;
	if (tcplite_new(&cfg, &ops, NULL, &t) != 0)
		abort();
	last_seq = last_ack = 0; /* each input starts from the same state */
	while (i + 6 <= size) {
		uint8_t op = data[i], a = data[i + 1], b = data[i + 2], len = data[i + 3] & 0x7f;
		uint16_t wnd = (uint16_t)(data[i + 4] << 8 | data[i + 5]);
		const uint8_t *p;
		size_t n;

		i += 6;
		if (len > size - i)
			len = (uint8_t)(size - i);
		switch (op % 8) {
		case 0: /* a segment from one of four clients */
		case 1:
		case 2: {
			struct ippkt pk = { .proto = IPPKT_PROTO_TCP };
			uint64_t c;
			(void)netaddr_parse("100.64.0.7", &pk.src.addr);
			(void)netaddr_parse("100.100.100.100", &pk.dst.addr);
			pk.src.port = (uint16_t)(40000 + (op >> 3) % 4);
			pk.dst.port = 53;
			pk.tcp.flags = b;
			/* Near what the connection last saw, so the exchange gets somewhere. */
			pk.tcp.seq = last_ack + (uint32_t)(int8_t)a;
			pk.tcp.ack = last_seq + (uint32_t)(a >> 4);
			pk.tcp.window = wnd;
			pk.tcp.mss = (uint16_t)(wnd >> 4);
			pk.payload = data + i;
			pk.payload_len = len;
			if (tcplite_input(t, &pk, now, &c))
				conn = c;
			i += len;
			break;
		}
		case 3:
			(void)tcplite_send(t, conn, data + i, len, now);
			i += len;
			break;
		case 4:
			if (tcplite_rx(t, conn, &p, &n)) {
				if (n > RX_MAX)
					abort();
				tcplite_rx_consume(t, conn, a);
			}
			break;
		case 5:
			tcplite_hold(t, conn);
			break;
		case 6:
			tcplite_unhold(t, conn, now);
			break;
		case 7:
			now += (uint64_t)a * 50000000ULL;
			tcplite_expire(t, now);
			break;
		}
		if (tcplite_count(t) > CONNS)
			abort();
	}
	tcplite_free(t);
	return 0;
}

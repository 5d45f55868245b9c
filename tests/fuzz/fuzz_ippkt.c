/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ippkt: the strict IP/UDP/TCP parser on arbitrary packets. What it
 * accepts must lie inside the input, and rebuilding it with the builders must
 * give a packet that parses back to the same addresses, ports, TCP fields and
 * payload. An odd first byte has the checksums completed before parsing, so
 * the fuzzer gets past them to the lengths and options.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/csum.h"
#include "net/ippkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[70000], in[70000];

/* Writes valid checksums where the headers say they are, as far as the input reaches. */
static void fixup(uint8_t *b, size_t n)
{
	size_t hl, total, field, alen;
	const uint8_t *src;
	uint8_t proto;

	if (n < 40)
		return;
	if (b[0] >> 4 == 4) {
		hl = (size_t)(b[0] & 15) * 4;
		total = buf_load_be16(b + 2);
		if (hl < 20 || hl > n || total < hl || total > n)
			return;
		buf_store_be16(b + 10, 0);
		buf_store_be16(b + 10, csum_finish(csum_add(0, b, hl)));
		proto = b[9];
		src = b + 12;
		alen = 4;
	} else if (b[0] >> 4 == 6) {
		hl = 40;
		total = 40 + (size_t)buf_load_be16(b + 4);
		if (total > n)
			return;
		proto = b[6];
		src = b + 8;
		alen = 16;
	} else {
		return;
	}
	field = hl + (proto == IPPKT_PROTO_TCP ? 16 : 6);
	if (field + 2 > total)
		return;
	buf_store_be16(b + field, 0);
	buf_store_be16(b + field, csum_finish(csum_add(csum_pseudo(src, src + alen, alen, proto,
								    (uint32_t)(total - hl)),
						     b + hl, total - hl)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ippkt p, q;
	int n;

	if (size < 1 || size - 1 > sizeof(in))
		return 0;
	memcpy(in, data + 1, size - 1);
	if (data[0] & 1)
		fixup(in, size - 1);
	data = in;
	size--;
	if (ippkt_parse(data, size, &p) != IPPKT_OK)
		return 0;
	if (p.payload < data || p.payload + p.payload_len > data + size)
		abort();
	if (p.proto == IPPKT_PROTO_UDP) {
		n = ippkt_udp_build(out, sizeof(out), &p.src, &p.dst, p.payload, p.payload_len);
	} else {
		struct ippkt_tcp_seg s = {
			.src = p.src, .dst = p.dst, .seq = p.tcp.seq, .ack = p.tcp.ack,
			.flags = p.tcp.flags, .window = p.tcp.window, .mss = p.tcp.mss,
			.data = p.payload, .len = p.payload_len,
		};
		n = ippkt_tcp_build(out, sizeof(out), &s);
	}
	if (n < 0)
		return 0; /* a payload the builders refuse (over 65507 bytes of UDP) */
	if (ippkt_parse(out, (size_t)n, &q) != IPPKT_OK || q.proto != p.proto ||
	    !netendpoint_eq(&q.src, &p.src) || !netendpoint_eq(&q.dst, &p.dst) ||
	    q.payload_len != p.payload_len || memcmp(q.payload, p.payload, p.payload_len) != 0)
		abort();
	if (p.proto == IPPKT_PROTO_TCP &&
	    (q.tcp.seq != p.tcp.seq || q.tcp.ack != p.tcp.ack || q.tcp.flags != p.tcp.flags ||
	     q.tcp.window != p.tcp.window || q.tcp.mss != p.tcp.mss))
		abort();
	return 0;
}

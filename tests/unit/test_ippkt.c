/* SPDX-License-Identifier: ISC */
/*
 * test_ippkt: UDP and TCP packets built for both families parse back to what was built, with
 * checksums that a naive RFC 1071 sum accepts; every reject of the parser (short, version,
 * header length, fragment, protocol, checksum, UDP length, TCP header and options) is listed.
 */
#include "core/buf.h"
#include "net/ippkt.h"
#include "testutil.h"

/* The L4 checksum the slow way, over the pseudo-header and the L4 part: 0xffff when valid. */
static uint16_t naive_sum(const uint8_t *ip)
{
	bool v6 = ip[0] >> 4 == 6;
	size_t hl = v6 ? 40 : (size_t)(ip[0] & 15) * 4;
	size_t total = v6 ? 40 + buf_load_be16(ip + 4) : buf_load_be16(ip + 2);
	size_t alen = v6 ? 16 : 4, l4 = total - hl;
	const uint8_t *src = ip + (v6 ? 8 : 12);
	uint32_t sum = 0;

	for (size_t i = 0; i < 2 * alen; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]);
	sum += v6 ? ip[6] : ip[9];
	sum += (uint32_t)l4;
	for (size_t i = 0; i < l4; i += 2)
		sum += (uint32_t)(ip[hl + i] << 8 | (i + 1 < l4 ? ip[hl + i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The IPv4 header checksum the slow way. */
static uint16_t naive_ip_sum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < (size_t)(ip[0] & 15) * 4; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void ep(struct netendpoint *e, const char *addr, uint16_t port)
{
	assert_int_equal(netaddr_parse(addr, &e->addr), 0);
	e->port = port;
}

static const char *const pairs[][2] = {
	{ "100.100.100.100", "100.64.0.7" },
	{ "fd7a:115c:a1e0::53", "fd7a:115c:a1e0::7" },
};

static void test_udp_roundtrip(void **state)
{
	uint8_t pkt[2048], payload[700];
	struct netendpoint s, d;
	struct ippkt p;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < 2; k++) {
		for (size_t len = 0; len < sizeof(payload); len += 233) {
			ep(&s, pairs[k][0], 53);
			ep(&d, pairs[k][1], (uint16_t)(40000 + len));
			n = ippkt_udp_build(pkt, sizeof(pkt), &s, &d, payload, len);
			assert_int_equal(n, (k == 0 ? 28 : 48) + (int)len);
			assert_int_equal(naive_sum(pkt), 0xffff);
			if (k == 0)
				assert_int_equal(naive_ip_sum(pkt), 0xffff);
			assert_int_equal(ippkt_parse(pkt, (size_t)n, &p), IPPKT_OK);
			assert_int_equal(p.proto, IPPKT_PROTO_UDP);
			assert_true(netendpoint_eq(&p.src, &s));
			assert_true(netendpoint_eq(&p.dst, &d));
			assert_int_equal(p.payload_len, len);
			assert_memory_equal(p.payload, payload, len);
			/* Bytes past the IP length are ignored. */
			assert_int_equal(ippkt_parse(pkt, (size_t)n + 3, &p), IPPKT_OK);
			assert_int_equal(p.payload_len, len);
		}
	}
}

/* The payload may already sit in the output buffer, where the resolver wrote it. */
static void test_udp_in_place(void **state)
{
	uint8_t pkt[256], want[100];
	struct netendpoint s, d;
	struct ippkt p;

	(void)state;
	ep(&s, pairs[0][0], 53);
	ep(&d, pairs[0][1], 5353);
	for (size_t off = 0; off < 60; off += 17) {
		for (size_t i = 0; i < sizeof(want); i++)
			want[i] = pkt[off + i] = (uint8_t)(i + off);
		assert_int_equal(ippkt_udp_build(pkt, sizeof(pkt), &s, &d, pkt + off, 100), 128);
		assert_int_equal(ippkt_parse(pkt, 128, &p), IPPKT_OK);
		assert_memory_equal(p.payload, want, 100);
	}
}

static void test_tcp_roundtrip(void **state)
{
	uint8_t pkt[2048], data[1200];
	struct ippkt_tcp_seg seg = { 0 };
	struct ippkt p;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	for (size_t k = 0; k < 2; k++) {
		for (int mss = 0; mss <= 1; mss++) {
			ep(&seg.src, pairs[k][0], 53);
			ep(&seg.dst, pairs[k][1], 33333);
			seg.seq = 0xfffffff0U;
			seg.ack = 12345;
			seg.flags = IPPKT_TCP_SYN | IPPKT_TCP_ACK | IPPKT_TCP_PSH;
			seg.window = 65535;
			seg.mss = mss ? 1200 : 0;
			seg.data = data;
			seg.len = mss ? 0 : 999;
			n = ippkt_tcp_build(pkt, sizeof(pkt), &seg);
			assert_int_equal(n, (k == 0 ? 20 : 40) + 20 + (mss ? 4 : 0) + (int)seg.len);
			assert_int_equal(naive_sum(pkt), 0xffff);
			assert_int_equal(ippkt_parse(pkt, (size_t)n, &p), IPPKT_OK);
			assert_int_equal(p.proto, IPPKT_PROTO_TCP);
			assert_true(netendpoint_eq(&p.src, &seg.src));
			assert_true(netendpoint_eq(&p.dst, &seg.dst));
			assert_int_equal(p.tcp.seq, seg.seq);
			assert_int_equal(p.tcp.ack, seg.ack);
			assert_int_equal(p.tcp.flags, seg.flags);
			assert_int_equal(p.tcp.window, 65535);
			assert_int_equal(p.tcp.mss, seg.mss);
			assert_int_equal(p.payload_len, seg.len);
			assert_memory_equal(p.payload, data, seg.len);
		}
	}
}

static void test_build_errors(void **state)
{
	uint8_t pkt[64], data[8] = { 0 };
	struct netendpoint s, d;
	struct ippkt_tcp_seg seg = { 0 };

	(void)state;
	ep(&s, "100.100.100.100", 53);
	ep(&d, "fd7a:115c:a1e0::7", 1);
	assert_int_equal(ippkt_udp_build(pkt, sizeof(pkt), &s, &d, data, 8), -EINVAL);
	ep(&d, "100.64.0.1", 1);
	assert_int_equal(ippkt_udp_build(pkt, 35, &s, &d, data, 8), -ENOSPC);
	assert_int_equal(ippkt_udp_build(pkt, 36, &s, &d, data, 8), 36);
	assert_int_equal(ippkt_udp_build(pkt, sizeof(pkt), &s, &d, data, 65508), -EINVAL);
	seg.src = s;
	seg.dst = d;
	seg.data = data;
	seg.len = 8;
	assert_int_equal(ippkt_tcp_build(pkt, 47, &seg), -ENOSPC);
	assert_int_equal(ippkt_tcp_build(pkt, 48, &seg), 48);
	memset(&seg.src, 0, sizeof(seg.src));
	assert_int_equal(ippkt_tcp_build(pkt, sizeof(pkt), &seg), -EINVAL);
}

/* A valid packet to damage: UDP (k = 0) or TCP with options (k = 1) over IPv4 or IPv6. */
static size_t make(uint8_t *pkt, size_t cap, bool v6, bool tcp)
{
	struct ippkt_tcp_seg seg = { .flags = IPPKT_TCP_ACK, .mss = 1460 };
	uint8_t data[16] = "0123456789abcdef";
	int n;

	ep(&seg.src, v6 ? "fd7a:115c:a1e0::7" : "100.64.0.7", 40000);
	ep(&seg.dst, v6 ? "fd7a:115c:a1e0::53" : "100.100.100.100", 53);
	seg.data = data;
	seg.len = sizeof(data);
	n = tcp ? ippkt_tcp_build(pkt, cap, &seg)
		: ippkt_udp_build(pkt, cap, &seg.src, &seg.dst, data, sizeof(data));
	assert_true(n > 0);
	return (size_t)n;
}

/* Re-completes the L4 checksum after a deliberate change (so only the change is wrong). */
static void fix_sum(uint8_t *pkt, bool v6, bool tcp)
{
	size_t hl = v6 ? 40 : (size_t)(pkt[0] & 15) * 4, field = hl + (tcp ? 16 : 6);

	buf_store_be16(pkt + field, 0);
	buf_store_be16(pkt + field, (uint16_t)~naive_sum(pkt));
}

static void test_rejects(void **state)
{
	uint8_t pkt[256] = { 0 };
	struct ippkt p;
	size_t n;

	(void)state;
	assert_int_equal(ippkt_parse(pkt, 0, &p), IPPKT_E_SHORT);
	for (int v6 = 0; v6 <= 1; v6++) {
		for (int tcp = 0; tcp <= 1; tcp++) {
			size_t hl = v6 ? 40 : 20;
			n = make(pkt, sizeof(pkt), v6, tcp);
			assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_OK);
			/* Every truncation is refused. */
			for (size_t k = 1; k < n; k++)
				assert_int_not_equal(ippkt_parse(pkt, k, &p), IPPKT_OK);
			/* A flipped payload bit breaks the L4 checksum. */
			pkt[n - 1] ^= 1;
			assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_CHECKSUM);
			pkt[n - 1] ^= 1;
			/* Neither UDP nor TCP (ICMP over IPv4, ICMPv6 or a hop-by-hop header over IPv6). */
			n = make(pkt, sizeof(pkt), v6, tcp);
			if (v6)
				pkt[6] = 0;
			else {
				pkt[9] = 1;
				buf_store_be16(pkt + 10, 0);
				buf_store_be16(pkt + 10, (uint16_t)~naive_ip_sum(pkt));
			}
			assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_PROTO);
			if (!tcp) {
				/* UDP length disagreeing with the IP length. */
				n = make(pkt, sizeof(pkt), v6, tcp);
				buf_store_be16(pkt + hl + 4, (uint16_t)(n - hl - 1));
				fix_sum(pkt, v6, tcp);
				assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_SHORT);
				/* No checksum: allowed over IPv4 only (RFC 768, RFC 8200 8.1). */
				n = make(pkt, sizeof(pkt), v6, tcp);
				buf_store_be16(pkt + hl + 6, 0);
				assert_int_equal(ippkt_parse(pkt, n, &p),
						 v6 ? IPPKT_E_CHECKSUM : IPPKT_OK);
			} else {
				/* Data offset below 5 words, or past the segment. */
				n = make(pkt, sizeof(pkt), v6, tcp);
				pkt[hl + 12] = 4 << 4;
				fix_sum(pkt, v6, tcp);
				assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_TCP_OPTS);
				pkt[hl + 12] = 15 << 4;
				fix_sum(pkt, v6, tcp);
				assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_TCP_OPTS);
				/* An option whose length runs past the header, a zero length, a bad MSS. */
				static const uint8_t bad[][4] = {
					{ 2, 8, 0, 0 }, { 3, 0, 0, 0 }, { 2, 3, 5, 0 }, { 1, 1, 1, 8 } };
				for (size_t b = 0; b < 4; b++) {
					n = make(pkt, sizeof(pkt), v6, tcp);
					memcpy(pkt + hl + 20, bad[b], 4);
					fix_sum(pkt, v6, tcp);
					assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_TCP_OPTS);
				}
				/* NOPs and an end-of-list are fine: no MSS then. */
				n = make(pkt, sizeof(pkt), v6, tcp);
				memcpy(pkt + hl + 20, "\1\1\0\0", 4);
				fix_sum(pkt, v6, tcp);
				assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_OK);
				assert_int_equal(p.tcp.mss, 0);
			}
		}
	}
	/* IPv4 only: header length, header checksum, fragments, total length. */
	n = make(pkt, sizeof(pkt), false, false);
	pkt[0] = 0x44;
	assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_VERSION);
	pkt[0] = 0x35;
	assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_VERSION);
	n = make(pkt, sizeof(pkt), false, false);
	pkt[8] = 63; /* TTL changed, header sum not */
	assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_CHECKSUM);
	for (int k = 0; k < 2; k++) {
		n = make(pkt, sizeof(pkt), false, false);
		buf_store_be16(pkt + 6, k == 0 ? 0x2000 : 0x0001); /* MF, or an offset */
		buf_store_be16(pkt + 10, 0);
		buf_store_be16(pkt + 10, (uint16_t)~naive_ip_sum(pkt));
		assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_FRAGMENT);
	}
	n = make(pkt, sizeof(pkt), false, false);
	buf_store_be16(pkt + 2, (uint16_t)(n + 1));
	buf_store_be16(pkt + 10, 0);
	buf_store_be16(pkt + 10, (uint16_t)~naive_ip_sum(pkt));
	assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_SHORT);
	/* IPv6: a payload length past the buffer. */
	n = make(pkt, sizeof(pkt), true, false);
	buf_store_be16(pkt + 4, (uint16_t)(n - 40 + 1));
	assert_int_equal(ippkt_parse(pkt, n, &p), IPPKT_E_SHORT);
	assert_string_equal(ippkt_status_str(IPPKT_E_FRAGMENT), "IPv4 fragment");
	assert_string_equal(ippkt_status_str((enum ippkt_status)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_roundtrip), cmocka_unit_test(test_udp_in_place),
		cmocka_unit_test(test_tcp_roundtrip), cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

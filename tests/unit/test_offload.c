/* SPDX-License-Identifier: ISC */
/*
 * test_offload: TSO super-packets as the TUN hands them out (IPv4 and IPv6,
 * TCP with options, UDP GSO, plain packets with partial checksums) are split
 * into segments that are each valid TCP/UDP with correct checksums and that
 * reassemble to the original payload; those segments merge back (GRO) into a
 * packet the kernel can finish; malformed headers are refused.
 */
#include "core/buf.h"
#include "net/csum.h"
#include "net/offload.h"
#include "testutil.h"

#define STRIDE 1600

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint8_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* A TCP super-packet: IP + 32-byte TCP header (timestamps) + payload; checksum field partial. */
static size_t make_tcp(uint8_t *p, int family, size_t payload, uint8_t flags, uint8_t *data)
{
	size_t iphl = family == 4 ? 20 : 40, tcphl = 32, total = iphl + tcphl + payload;
	uint8_t *t = p + iphl;

	memset(p, 0, iphl + tcphl);
	if (family == 4) {
		p[0] = 0x45;
		buf_store_be16(p + 2, (uint16_t)(total > 65535 ? 65535 : total));
		buf_store_be16(p + 4, 0x1234);
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = 6;
		tu_hex(p + 12, 8, "6400000164000002");
	} else {
		p[0] = 0x60;
		buf_store_be16(p + 4, (uint16_t)(tcphl + payload));
		p[6] = 6;
		p[7] = 64;
		tu_hex(p + 8, 32, "fd7a115ca1e000000000000000000001fd7a115ca1e000000000000000000002");
	}
	buf_store_be16(t, 40000);
	buf_store_be16(t + 2, 5201);
	buf_store_be32(t + 4, 0xfffff000); /* wraps during the split */
	buf_store_be32(t + 8, 777);
	t[12] = (uint8_t)((tcphl / 4) << 4);
	t[13] = flags;
	buf_store_be16(t + 14, 512);
	tu_hex(t + 20, 12, "0101080a0000000100000002");
	for (size_t i = 0; i < payload; i++)
		t[tcphl + i] = data[i] = rnd();
	/* As the kernel leaves it: the (uncomplemented) pseudo-header sum. */
	size_t alen = family == 4 ? 4 : 16;
	const uint8_t *src = p + (family == 4 ? 12 : 8);
	buf_store_be16(t + 16, csum_fold(csum_pseudo(src, src + alen, alen, 6,
						     (uint32_t)(tcphl + payload))));
	return total;
}

static void split_and_merge(int family, size_t payload, uint16_t mss)
{
	static uint8_t pkt[70000], data[70000], out[64 * STRIDE], merged[70000];
	size_t len = make_tcp(pkt, family, payload, 0x18 /* ACK|PSH */, data);
	struct offload_vnet_hdr h = {
		.flags = OFFLOAD_F_NEEDS_CSUM,
		.gso_type = family == 4 ? OFFLOAD_GSO_TCPV4 : OFFLOAD_GSO_TCPV6,
		.hdr_len = (uint16_t)((family == 4 ? 20 : 40) + 32),
		.gso_size = mss,
		.csum_start = family == 4 ? 20 : 40,
		.csum_offset = 16,
	};
	size_t n, seg, lens[64];
	const char *why;
	struct offload_tcp t[64];

	assert_int_equal(offload_split_plan(&h, pkt, len, &n, &seg, &why), 0);
	assert_int_equal(n, (payload + mss - 1) / mss);
	assert_int_equal(seg, h.hdr_len + (payload < mss ? payload : mss));
	offload_split(&h, pkt, len, out, STRIDE, lens);
	size_t got = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *s = out + i * STRIDE;
		assert_int_equal(offload_tcp_parse(s, lens[i], &t[i]), 0); /* checksum valid */
		assert_true(t[i].seq == 0xfffff000 + (uint32_t)got);
		assert_memory_equal(s + h.hdr_len, data + got, t[i].payload);
		assert_int_equal((t[i].flags & 0x08) != 0, i == n - 1); /* PSH last only */
		if (family == 4) {
			assert_int_equal(buf_load_be16(s + 4), 0x1234 + i);
			assert_int_equal(csum_fold(csum_add(0, s, 20)), 0xffff);
		}
		got += t[i].payload;
	}
	assert_int_equal(got, payload);

	/* Merge them back as the receive path does. */
	size_t total = lens[0], off = lens[0];
	uint32_t expect = t[0].seq + t[0].payload;
	bool psh = (t[0].flags & 0x08) != 0;
	memcpy(merged, out, lens[0]);
	for (size_t i = 1; i < n && !psh; i++) {
		uint8_t *s = out + i * STRIDE;
		assert_true(offload_tcp_follows(merged, &t[0], s, &t[i], expect, total));
		memcpy(merged + off, s + h.hdr_len, t[i].payload);
		off += t[i].payload;
		total += t[i].payload;
		expect += t[i].payload;
		psh = (t[i].flags & 0x08) != 0;
	}
	assert_int_equal(total, len);
	struct offload_vnet_hdr m;
	offload_tcp_merge_finish(merged, &t[0], total, t[0].payload, psh, &m);
	assert_int_equal(m.gso_type, h.gso_type);
	assert_int_equal(m.hdr_len, h.hdr_len);
	assert_int_equal(m.gso_size, n > 1 ? mss : payload);
	assert_int_equal(m.csum_start, h.csum_start);
	/* Finishing the partial checksum as the kernel would gives a valid packet. */
	uint8_t *field = merged + m.csum_start + m.csum_offset;
	buf_store_be16(field, csum_finish(csum_add(0, merged + m.csum_start, total - m.csum_start)));
	if (total <= 65535) {
		struct offload_tcp mt;
		assert_int_equal(offload_tcp_parse(merged, total, &mt), 0);
		assert_memory_equal(merged + h.hdr_len, data, payload);
	}
}

static void test_tcp_v4(void **state)
{
	(void)state;
	split_and_merge(4, 1, 1368);
	split_and_merge(4, 1368, 1368);
	split_and_merge(4, 1369, 1368);
	split_and_merge(4, 65483 - 32, 1368);
	split_and_merge(4, 10000, 536);
}

static void test_tcp_v6(void **state)
{
	(void)state;
	split_and_merge(6, 1, 1348);
	split_and_merge(6, 64000, 1348);
	split_and_merge(6, 2 * 1348, 1348);
}

static void test_udp_gso(void **state)
{
	static uint8_t p[9000], out[16 * STRIDE];
	struct offload_vnet_hdr h = { .flags = OFFLOAD_F_NEEDS_CSUM, .gso_type = OFFLOAD_GSO_UDP_L4,
				      .hdr_len = 28, .gso_size = 1200, .csum_start = 20,
				      .csum_offset = 6 };
	size_t n, seg, lens[16];
	const char *why;

	(void)state;
	memset(p, 0, 28);
	p[0] = 0x45;
	buf_store_be16(p + 2, 28 + 3000);
	p[8] = 64;
	p[9] = 17;
	tu_hex(p + 12, 8, "0a0000010a000002");
	buf_store_be16(p + 20, 443);
	buf_store_be16(p + 22, 443);
	for (int i = 0; i < 3000; i++)
		p[28 + i] = rnd();
	assert_int_equal(offload_split_plan(&h, p, 3028, &n, &seg, &why), 0);
	assert_int_equal(n, 3);
	offload_split(&h, p, 3028, out, STRIDE, lens);
	assert_int_equal(lens[2], 28 + 600);
	for (size_t i = 0; i < n; i++) {
		uint8_t *s = out + i * STRIDE;
		uint64_t acc = csum_pseudo(s + 12, s + 16, 4, 17, (uint32_t)(lens[i] - 20));
		assert_int_equal(buf_load_be16(s + 24), lens[i] - 20);
		assert_int_equal(csum_fold(csum_add(acc, s + 20, lens[i] - 20)), 0xffff);
		assert_memory_equal(s + 28, p + 28 + i * 1200, lens[i] - 28);
	}
}

static void test_partial_checksum_only(void **state)
{
	static uint8_t p[2000], data[2000], out[STRIDE];
	size_t len = make_tcp(p, 4, 500, 0x10, data), n, seg, lens[1];
	struct offload_vnet_hdr h = { .flags = OFFLOAD_F_NEEDS_CSUM, .csum_start = 20,
				      .csum_offset = 16 };
	const char *why;
	struct offload_tcp t;

	(void)state;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), 0);
	assert_int_equal(n, 1);
	offload_split(&h, p, len, out, STRIDE, lens);
	assert_int_equal(offload_tcp_parse(out, lens[0], &t), 0);
	/* Without NEEDS_CSUM the packet is copied untouched. */
	h.flags = 0;
	offload_split(&h, p, len, out, STRIDE, lens);
	assert_memory_equal(out, p, len);
}

static void test_rejects(void **state)
{
	static uint8_t p[2000], data[2000];
	size_t len = make_tcp(p, 4, 1000, 0x10, data), n, seg;
	struct offload_vnet_hdr good = { .flags = OFFLOAD_F_NEEDS_CSUM,
					 .gso_type = OFFLOAD_GSO_TCPV4, .hdr_len = 52,
					 .gso_size = 500, .csum_start = 20, .csum_offset = 16 };
	struct offload_vnet_hdr h;
	const char *why;
	struct offload_tcp t, u;

	(void)state;
	assert_int_equal(offload_split_plan(&good, p, len, &n, &seg, &why), 0);
	h = good;
	h.gso_type = OFFLOAD_GSO_TCPV6;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	h = good;
	h.gso_type = 2;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	h = good;
	h.csum_start = 24;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	h = good;
	h.gso_size = 0;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	h = good;
	h.csum_offset = 60000;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	h = good;
	h.flags = 0;
	assert_int_equal(offload_split_plan(&h, p, len, &n, &seg, &why), -EINVAL);
	assert_int_equal(offload_split_plan(&good, p, 30, &n, &seg, &why), -EINVAL);
	assert_non_null(why);
	/* GRO refuses: bad checksum, SYN, no payload, fragments, different flows, gaps. */
	uint8_t q[2000];
	size_t ql = make_tcp(q, 4, 100, 0x10, data);
	uint8_t *tcp = q + 20;
	buf_store_be16(tcp + 16, 0);
	buf_store_be16(tcp + 16, csum_finish(csum_add(csum_pseudo(q + 12, q + 16, 4, 6, (uint32_t)(ql - 20)), tcp, ql - 20)));
	assert_int_equal(offload_tcp_parse(q, ql, &t), 0);
	tcp[16] ^= 1;
	assert_int_equal(offload_tcp_parse(q, ql, &u), -EINVAL);
	tcp[16] ^= 1;
	tcp[13] = 0x12; /* SYN|ACK */
	assert_int_equal(offload_tcp_parse(q, ql, &u), -EINVAL);
	tcp[13] = 0x10;
	assert_int_equal(offload_tcp_parse(q, 52, &u), -EINVAL);
	q[6] = 0x20; /* MF */
	assert_int_equal(offload_tcp_parse(q, ql, &u), -EINVAL);
	q[6] = 0x40;
	assert_int_equal(offload_tcp_parse(q, ql, &u), 0);
	assert_true(offload_tcp_follows(q, &t, q, &u, t.seq, 100));
	assert_false(offload_tcp_follows(q, &t, q, &u, t.seq + 1, 100));
	assert_false(offload_tcp_follows(q, &t, q, &u, t.seq, 65500));
	uint8_t r[2000];
	memcpy(r, q, ql);
	buf_store_be16(r + 20, 40001); /* other source port */
	assert_false(offload_tcp_follows(q, &t, r, &u, t.seq, 100));
	memcpy(r, q, ql);
	r[8] = 63; /* TTL */
	assert_false(offload_tcp_follows(q, &t, r, &u, t.seq, 100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_v4),
		cmocka_unit_test(test_tcp_v6),
		cmocka_unit_test(test_udp_gso),
		cmocka_unit_test(test_partial_checksum_only),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

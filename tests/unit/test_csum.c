/* SPDX-License-Identifier: ISC */
/* test_csum: the fast checksum against a naive RFC 1071 sum, and known IPv4 header values. */
#include "core/buf.h"
#include "net/csum.h"
#include "testutil.h"

static uint16_t naive(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void test_against_naive(void **state)
{
	uint8_t buf[2048];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (int trial = 0; trial < 2000; trial++) {
		size_t len = (size_t)(x % sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		if (trial % 7 == 0)
			memset(buf, 0xff, len); /* worst case for carries */
		assert_int_equal(csum_fold(csum_add(0, buf, len)), naive(buf, len));
		/* Chunked (even chunks) gives the same. */
		size_t half = (len / 2) & ~(size_t)1;
		assert_int_equal(csum_fold(csum_add(csum_add(0, buf, half), buf + half, len - half)),
				 naive(buf, len));
	}
}

static void test_ipv4_header(void **state)
{
	/* A classic example header (Wikipedia's IPv4 checksum): checksum b861. */
	uint8_t h[20];

	(void)state;
	tu_hex(h, 20, "450000730000400040110000c0a80001c0a800c7");
	assert_int_equal(csum_finish(csum_add(0, h, 20)), 0xb861);
	buf_store_be16(h + 10, 0xb861);
	assert_int_equal(csum_fold(csum_add(0, h, 20)), 0xffff);
}

static void test_pseudo(void **state)
{
	uint8_t src[16], dst[16], ph[40];

	(void)state;
	for (int i = 0; i < 16; i++) {
		src[i] = (uint8_t)(i * 3 + 1);
		dst[i] = (uint8_t)(0xf0 - i);
	}
	/* IPv4 layout: src, dst, 0, proto, len16. */
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = 6;
	buf_store_be16(ph + 10, 1234);
	assert_int_equal(csum_fold(csum_pseudo(src, dst, 4, 6, 1234)), naive(ph, 12));
	/* IPv6 layout: src, dst, len32, 0,0,0, next header. */
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	buf_store_be32(ph + 32, 70000);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = 17;
	assert_int_equal(csum_fold(csum_pseudo(src, dst, 16, 17, 70000)), naive(ph, 40));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_naive),
		cmocka_unit_test(test_ipv4_header),
		cmocka_unit_test(test_pseudo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

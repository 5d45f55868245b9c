/* SPDX-License-Identifier: ISC */
/* test_mss: SYNs over IPv4 and IPv6 get their MSS clamped with a still-valid checksum; others are left alone. */
#include "core/buf.h"
#include "net/csum.h"
#include "net/mss.h"
#include "testutil.h"

/* A SYN with options NOP, NOP, timestamps, MSS (so the parser has to walk). */
static size_t make_syn(uint8_t *p, int family, uint16_t mss, uint8_t flags)
{
	size_t iphl = family == 4 ? 20 : 40, tcphl = 36, total = iphl + tcphl;
	uint8_t *t = p + iphl;
	const uint8_t *src;
	size_t alen = family == 4 ? 4 : 16;

	memset(p, 0, total);
	if (family == 4) {
		p[0] = 0x45;
		buf_store_be16(p + 2, (uint16_t)total);
		p[6] = 0x40;
		p[8] = 64;
		p[9] = 6;
		tu_hex(p + 12, 8, "0a0000010a000002");
		src = p + 12;
	} else {
		p[0] = 0x60;
		buf_store_be16(p + 4, (uint16_t)tcphl);
		p[6] = 6;
		p[7] = 64;
		tu_hex(p + 8, 32, "fd000000000000000000000000000001fd000000000000000000000000000002");
		src = p + 8;
	}
	buf_store_be16(t, 5555);
	buf_store_be16(t + 2, 22);
	buf_store_be32(t + 4, 1);
	t[12] = (uint8_t)((tcphl / 4) << 4);
	t[13] = flags;
	buf_store_be16(t + 14, 65535);
	tu_hex(t + 20, 12, "0101080a0000000100000000");
	t[32] = 2;
	t[33] = 4;
	buf_store_be16(t + 34, mss);
	buf_store_be16(t + 16, csum_finish(csum_add(csum_pseudo(src, src + alen, alen, 6, (uint32_t)tcphl), t, tcphl)));
	return total;
}

static bool csum_ok(const uint8_t *p, int family, size_t len)
{
	size_t iphl = family == 4 ? 20 : 40, alen = family == 4 ? 4 : 16;
	const uint8_t *src = p + (family == 4 ? 12 : 8);

	return csum_fold(csum_add(csum_pseudo(src, src + alen, alen, 6, (uint32_t)(len - iphl)),
				  p + iphl, len - iphl)) == 0xffff;
}

static void test_clamp(void **state)
{
	uint8_t p[128];
	size_t len;

	(void)state;
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t off = (fam == 4 ? 20 : 40) + 34;
		uint16_t want = fam == 4 ? 1240 : 1220;
		len = make_syn(p, fam, 1460, 0x02);
		assert_true(csum_ok(p, fam, len));
		assert_true(mss_clamp(p, len, 1280));
		assert_int_equal(buf_load_be16(p + off), want);
		assert_true(csum_ok(p, fam, len));
		/* Already small enough: untouched. */
		assert_false(mss_clamp(p, len, 1280));
		len = make_syn(p, fam, 1000, 0x12); /* SYN-ACK */
		assert_false(mss_clamp(p, len, 1280));
		len = make_syn(p, fam, 8960, 0x12);
		assert_true(mss_clamp(p, len, 1280));
		assert_true(csum_ok(p, fam, len));
		/* Not a SYN. */
		len = make_syn(p, fam, 1460, 0x10);
		assert_false(mss_clamp(p, len, 1280));
	}
}

static void test_malformed(void **state)
{
	uint8_t p[128];
	size_t len = make_syn(p, 4, 1460, 0x02);

	(void)state;
	assert_false(mss_clamp(p, 30, 1280)); /* truncated TCP header */
	p[20 + 33] = 9;			       /* option runs past the header */
	assert_false(mss_clamp(p, len, 1280));
	len = make_syn(p, 4, 1460, 0x02);
	p[20 + 21] = 0; /* second option a zero-length non-NOP: stop walking */
	p[20 + 20] = 5;
	assert_false(mss_clamp(p, len, 1280));
	len = make_syn(p, 4, 1460, 0x02);
	p[6] = 0x20; /* MF: a fragment */
	assert_false(mss_clamp(p, len, 1280));
	len = make_syn(p, 4, 1460, 0x02);
	p[9] = 17; /* UDP */
	assert_false(mss_clamp(p, len, 1280));
	assert_false(mss_clamp(p, 0, 1280));
	len = make_syn(p, 4, 1460, 0x02);
	assert_false(mss_clamp(p, len, 40)); /* absurd MTU */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

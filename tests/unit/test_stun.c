/* SPDX-License-Identifier: ISC */
/*
 * test_stun: the RFC 5769 test vectors (request, IPv4 and IPv6 responses:
 * FINGERPRINT, MESSAGE-INTEGRITY, XOR-MAPPED-ADDRESS), our own request and
 * response round trips, the demultiplexing test, and a table of rejects.
 */
#include "core/buf.h"
#include "stun/stun.h"
#include "testutil.h"

/* RFC 5769 2.1: a request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT. */
static const char rfc_request[] = "000100582112a442b7e7a701bc34d686fa87dfae"
				  "802200105354554e20746573742063"
				  "6c69656e74"
				  "002400046e0001ff"
				  "80290008932ff9b151263b36"
				  "000600096576746a3a68367659202020"
				  "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
				  "80280004e57a3bcf";

/* RFC 5769 2.2: IPv4 response, 192.0.2.1:32853. */
static const char rfc_resp4[] = "0101003c2112a442b7e7a701bc34d686fa87dfae"
				"8022000b7465737420766563746f7220"
				"002000080001a147e112a643"
				"000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
				"80280004c07d4c96";

/* RFC 5769 2.3: IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const char rfc_resp6[] = "010100482112a442b7e7a701bc34d686fa87dfae"
				"8022000b7465737420766563746f7220"
				"002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
				"00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
				"80280004c8fb0b4c";

static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void test_rfc5769(void **state)
{
	uint8_t p[256];
	size_t n;
	struct stun_msg m;
	char buf[NETENDPOINT_STRLEN];

	(void)state;
	n = tu_hex(p, sizeof(p), rfc_request);
	assert_true(stun_is_packet(p, n));
	assert_int_equal(stun_request_parse(p, n, &m), STUN_OK);
	assert_true(m.has_fingerprint);
	assert_true(m.has_integrity);
	assert_false(m.has_mapped);
	assert_int_equal(m.software_len, 16);
	assert_memory_equal(m.software, "STUN test client", 16);
	tu_assert_hex(m.txid, STUN_TXID_LEN, "b7e7a701bc34d686fa87dfae");
	assert_true(stun_integrity_check(p, n, &m, (const uint8_t *)rfc_password,
					 strlen(rfc_password)));
	assert_false(stun_integrity_check(p, n, &m, (const uint8_t *)"wrong", 5));

	n = tu_hex(p, sizeof(p), rfc_resp4);
	assert_int_equal(stun_response_parse(p, n, &m), STUN_OK);
	assert_true(m.mapped_from_xor);
	assert_string_equal(netendpoint_format(&m.mapped, buf, sizeof(buf)), "192.0.2.1:32853");
	assert_true(stun_integrity_check(p, n, &m, (const uint8_t *)rfc_password,
					 strlen(rfc_password)));

	n = tu_hex(p, sizeof(p), rfc_resp6);
	assert_int_equal(stun_response_parse(p, n, &m), STUN_OK);
	assert_string_equal(netendpoint_format(&m.mapped, buf, sizeof(buf)),
			    "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	assert_true(stun_integrity_check(p, n, &m, (const uint8_t *)rfc_password,
					 strlen(rfc_password)));
	/* One flipped bit anywhere before FINGERPRINT breaks it. */
	p[30] ^= 1;
	assert_int_equal(stun_response_parse(p, n, &m), STUN_E_FINGERPRINT);
}

static void test_roundtrip(void **state)
{
	static const char *const eps[] = { "203.0.113.7:41641", "[2001:db8::1]:3478", "0.0.0.0:1" };
	uint8_t txid[STUN_TXID_LEN], req[STUN_REQUEST_LEN], resp[STUN_RESPONSE_MAX];
	struct stun_msg m;
	size_t n;

	(void)state;
	for (size_t i = 0; i < STUN_TXID_LEN; i++)
		txid[i] = (uint8_t)(0xa0 + i);
	n = stun_request_build(req, txid);
	assert_int_equal(n, STUN_REQUEST_LEN);
	assert_true(stun_is_packet(req, n));
	assert_int_equal(stun_request_parse(req, n, &m), STUN_OK);
	assert_memory_equal(m.txid, txid, STUN_TXID_LEN);
	assert_true(m.has_fingerprint);
	assert_int_equal(stun_response_parse(req, n, &m), STUN_E_TYPE);

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		struct netendpoint ep;
		char buf[NETENDPOINT_STRLEN];

		assert_int_equal(netendpoint_parse(eps[i], &ep), 0);
		n = stun_response_build(resp, txid, &ep);
		assert_true(n > 0 && n <= STUN_RESPONSE_MAX);
		assert_true(stun_is_packet(resp, n));
		assert_int_equal(stun_response_parse(resp, n, &m), STUN_OK);
		assert_memory_equal(m.txid, txid, STUN_TXID_LEN);
		assert_string_equal(netendpoint_format(&m.mapped, buf, sizeof(buf)), eps[i]);
		assert_int_equal(stun_request_parse(resp, n, &m), STUN_E_TYPE);
	}
	struct netendpoint none = { 0 };
	assert_int_equal(stun_response_build(resp, txid, &none), 0);
}

/* MAPPED-ADDRESS alone (RFC 3489 servers) is accepted; XOR wins when both are present. */
static void test_mapped_fallback(void **state)
{
	uint8_t p[128];
	size_t n;
	struct stun_msg m;
	char buf[NETENDPOINT_STRLEN];

	(void)state;
	n = tu_hex(p, sizeof(p),
		   "0101000c2112a442000102030405060708090a0b"
		   "000100080001162ec0000205");
	assert_int_equal(stun_response_parse(p, n, &m), STUN_OK);
	assert_false(m.mapped_from_xor);
	assert_string_equal(netendpoint_format(&m.mapped, buf, sizeof(buf)), "192.0.2.5:5678");
	n = tu_hex(p, sizeof(p),
		   "010100182112a442000102030405060708090a0b"
		   "000100080001162ec0000205"
		   "002000080001a147e112a643");
	assert_int_equal(stun_response_parse(p, n, &m), STUN_OK);
	assert_true(m.mapped_from_xor);
	assert_string_equal(netendpoint_format(&m.mapped, buf, sizeof(buf)), "192.0.2.1:32853");
}

struct reject {
	const char *name;
	const char *hex;
	enum stun_verdict want;
};

static void test_rejects(void **state)
{
	static const struct reject rejects[] = {
		{ "empty", "", STUN_E_SHORT },
		{ "short header", "0101000c2112a442", STUN_E_SHORT },
		{ "top bits", "c10100002112a442000102030405060708090a0b", STUN_E_NOT_STUN },
		{ "wireguard", "040000002112a442000102030405060708090a0b", STUN_E_TYPE },
		{ "cookie", "010100002112a443000102030405060708090a0b", STUN_E_NOT_STUN },
		{ "length unaligned", "010100022112a442000102030405060708090a0b0000",
		  STUN_E_NOT_STUN },
		{ "length beyond datagram", "010100082112a442000102030405060708090a0b",
		  STUN_E_SHORT },
		{ "trailing bytes", "010100002112a442000102030405060708090a0b00000000",
		  STUN_E_NOT_STUN },
		{ "attribute runs past end",
		  "010100082112a442000102030405060708090a0b00200008000100", STUN_E_SHORT },
		{ "attribute length past body",
		  "010100082112a442000102030405060708090a0b002000090001a147", STUN_E_ATTR },
		{ "no address", "010100002112a442000102030405060708090a0b", STUN_E_NO_ADDRESS },
		{ "bad family", "0101000c2112a442000102030405060708090a0b002000080003a147e112a643",
		  STUN_E_ADDRESS },
		{ "v4 with v6 length",
		  "010100182112a442000102030405060708090a0b002000140001a147"
		  "0113a9faa5d3f179bc25f4b5bed2b9d9",
		  STUN_E_ADDRESS },
		{ "reserved byte set",
		  "0101000c2112a442000102030405060708090a0b002000080101a147e112a643",
		  STUN_E_ADDRESS },
		{ "duplicate xor",
		  "010100182112a442000102030405060708090a0b002000080001a147e112a643"
		  "002000080001a147e112a643",
		  STUN_E_DUPLICATE },
		{ "unknown required attribute",
		  "010100142112a442000102030405060708090a0b002000080001a147e112a643"
		  "7fff000400000000",
		  STUN_E_UNKNOWN_ATTR },
		{ "fingerprint wrong",
		  "010100142112a442000102030405060708090a0b002000080001a147e112a643"
		  "8028000400000000",
		  STUN_E_FINGERPRINT },
		{ "fingerprint bad length",
		  "010100182112a442000102030405060708090a0b002000080001a147e112a643"
		  "802800080000000000000000",
		  STUN_E_ATTR },
		{ "attribute after integrity",
		  "010100242112a442000102030405060708090a0b"
		  "000800140000000000000000000000000000000000000000"
		  "002000080001a147e112a643",
		  STUN_E_ORDER },
		{ "integrity bad length",
		  "0101000c2112a442000102030405060708090a0b000800080000000000000000", STUN_E_ATTR },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		uint8_t p[256];
		size_t n = tu_hex(p, sizeof(p), rejects[i].hex);
		struct stun_msg m;
		enum stun_verdict v = stun_response_parse(p, n, &m);
		if (v != rejects[i].want)
			fail_msg("%s: got %s, want %s", rejects[i].name, stun_verdict_name(v),
				 stun_verdict_name(rejects[i].want));
	}
}

/* A response whose FINGERPRINT is not last is refused even if the CRC is right. */
static void test_fingerprint_not_last(void **state)
{
	uint8_t txid[STUN_TXID_LEN] = { 1 }, resp[STUN_RESPONSE_MAX + 8];
	struct netendpoint ep;
	struct stun_msg m;
	size_t n;

	(void)state;
	assert_int_equal(netendpoint_parse("198.51.100.2:9", &ep), 0);
	n = stun_response_build(resp, txid, &ep);
	/* Append a SOFTWARE attribute after FINGERPRINT and fix the length. */
	memcpy(resp + n, "\x80\x22\x00\x04weft", 8);
	buf_store_be16(resp + 2, (uint16_t)(n + 8 - STUN_HEADER_LEN));
	assert_int_equal(stun_response_parse(resp, n + 8, &m), STUN_E_FINGERPRINT);
}

static void test_counters(void **state)
{
	struct stun_counters c = { 0 };

	(void)state;
	stun_count(&c, STUN_OK);
	stun_count(&c, STUN_E_SHORT);
	stun_count(&c, STUN_E_SHORT);
	assert_int_equal(c.ok, 1);
	assert_int_equal(c.rejected[STUN_E_SHORT], 2);
	assert_string_equal(stun_verdict_name(STUN_E_FINGERPRINT), "fingerprint");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_mapped_fallback),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_fingerprint_not_last),
		cmocka_unit_test(test_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

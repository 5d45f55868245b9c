/* SPDX-License-Identifier: ISC */
/*
 * test_dnsmsg: the DNS codec on queries captured from dig(1), on replies
 * built by ldns (an independent encoder with its own compression), and on a
 * table of malformed messages (pointer loops, forward pointers, long names,
 * bad counts, bad OPTs) that must be refused with the listed status; names
 * as text and reverse names; answers, truncation and re-addressed replies.
 */
#include <errno.h>
#include <strings.h>

#include "dns/dnsmsg.h"
#include "testutil.h"

#ifdef WEFT_HAVE_LDNS
#include <ldns/ldns.h>
#endif

/* Hex with optional spaces into buf; returns the length. */
static size_t hexmsg(uint8_t *buf, size_t cap, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		int v = 0;
		if (*p == ' ')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			fail_msg("bad hex %c", *p);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_true(hi < 0);
	return n;
}

static const char *text(const struct dnsmsg_name *n)
{
	static char buf[DNSMSG_TEXT_MAX];
	return dnsmsg_name_to_text(n, buf, sizeof(buf));
}

/* Queries as dig 9.18 sends them (captured on loopback, options as shown). */
static const struct {
	const char *what, *hex, *name;
	uint16_t type, flags;
	bool edns;
	uint16_t udp;
	bool dnssec_ok;
} dig_queries[] = {
	{ "+noedns alpha.tailnet.example A",
	  "088c01200001000000000000 05616c706861077461696c6e6574076578616d706c6500 00010001",
	  "alpha.tailnet.example.", DNSMSG_T_A, 0x0120, false, 0, false },
	{ "alpha.tailnet.example AAAA (EDNS0 with a cookie option)",
	  "8c4e01200001000000000001 05616c706861077461696c6e6574076578616d706c6500 001c0001"
	  " 00002904d000000000000c000a00083f661d57c2f3dfed",
	  "alpha.tailnet.example.", DNSMSG_T_AAAA, 0x0120, true, 1232, false },
	{ "+dnssec +nocookie Alpha.Tailnet.Example A",
	  "fb8801200001000000000001 05416c706861075461696c6e6574074578616d706c6500 00010001"
	  " 00002904d0000080000000",
	  "Alpha.Tailnet.Example.", DNSMSG_T_A, 0x0120, true, 1232, true },
	{ "-x 100.64.0.1",
	  "56db01200001000000000001 0131013002363403313030 07696e2d61646472046172706100"
	  " 000c0001 00002904d000000000000c000a00084576c4f140028f88",
	  "1.0.64.100.in-addr.arpa.", DNSMSG_T_PTR, 0x0120, true, 1232, false },
	{ "+noedns +norecurse alpha A", "07cf00200001000000000000 05616c70686100 00010001",
	  "alpha.", DNSMSG_T_A, 0x0020, false, 0, false },
	{ "+bufsize=4096 +nocookie example.com MX",
	  "511a01200001000000000001 076578616d706c6503636f6d00 000f0001 0000291000000000000000",
	  "example.com.", DNSMSG_T_MX, 0x0120, true, 4096, false },
};

static void test_dig_queries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dig_queries) / sizeof(dig_queries[0]); i++) {
		uint8_t m[512];
		size_t n = hexmsg(m, sizeof(m), dig_queries[i].hex);
		struct dnsmsg_query q;
		enum dnsmsg_status s = dnsmsg_query_parse(m, n, &q);

		if (s != DNSMSG_OK)
			fail_msg("%s: %s", dig_queries[i].what, dnsmsg_status_str(s));
		assert_true(q.has_question);
		assert_string_equal(text(&q.q.name), dig_queries[i].name);
		assert_int_equal(q.q.type, dig_queries[i].type);
		assert_int_equal(q.q.qclass, DNSMSG_C_IN);
		assert_int_equal(q.h.flags, dig_queries[i].flags);
		assert_int_equal(q.edns.present, dig_queries[i].edns);
		assert_int_equal(q.edns.udp_size, dig_queries[i].udp);
		assert_int_equal((q.edns.flags & DNSMSG_EDNS_DO) != 0, dig_queries[i].dnssec_ok);
		assert_int_equal(dnsmsg_query_limit(&q, 1232),
				 dig_queries[i].edns ? 1232 : DNSMSG_UDP_MIN);
	}
}

/* Malformed queries and the status each must get. */
static const struct {
	const char *what, *hex;
	enum dnsmsg_status want;
} query_rejects[] = {
	{ "two bytes", "0001", DNSMSG_E_SHORT },
	{ "header only, one question promised", "000101000001000000000000", DNSMSG_E_SHORT },
	{ "QR set", "000181000001000000000000 016100 00010001", DNSMSG_E_NOT_QUERY },
	{ "no question", "000101000000000000000000", DNSMSG_E_QDCOUNT },
	{ "two questions", "000101000002000000000000 016100 00010001 016200 00010001",
	  DNSMSG_E_QDCOUNT },
	{ "pointer to itself", "000101000001000000000000 c00c 00010001", DNSMSG_E_POINTER },
	{ "pointer forwards", "000101000001000000000000 c012 00010001 016100", DNSMSG_E_POINTER },
	{ "pointer into the header", "000101000001000000000000 c002 00010001", DNSMSG_E_POINTER },
	{ "pointer back to its own name",
	  "000101000001000000000001 016100 00010001 0162c013 00010001 00000000 0000",
	  DNSMSG_E_POINTER },
	{ "label type 0x40", "000101000001000000000000 4161 00 00010001", DNSMSG_E_LABEL },
	{ "label type 0x80", "000101000001000000000000 8161 00 00010001", DNSMSG_E_LABEL },
	{ "label runs past the end", "000101000001000000000000 056162", DNSMSG_E_SHORT },
	{ "no root label", "000101000001000000000000 0161", DNSMSG_E_SHORT },
	{ "type and class missing", "000101000001000000000000 016100 0001", DNSMSG_E_SHORT },
	{ "an answer in a query", "000101000001000100000000 016100 00010001", DNSMSG_E_COUNTS },
	{ "an authority record in a query", "000101000001000000010000 016100 00010001",
	  DNSMSG_E_COUNTS },
	{ "trailing byte", "000101000001000000000000 016100 00010001 00", DNSMSG_E_TRAILING },
	{ "two OPTs",
	  "000101000001000000000002 016100 00010001 0000290200000000000000 0000290200000000000000",
	  DNSMSG_E_OPT },
	{ "OPT owned by a name",
	  "000101000001000000000001 016100 00010001 c00c00290200000000000000", DNSMSG_E_OPT },
	{ "OPT option longer than its RDATA",
	  "000101000001000000000001 016100 00010001 0000290200000000000004 000a0008",
	  DNSMSG_E_OPT },
	{ "OPT RDATA past the end",
	  "000101000001000000000001 016100 00010001 0000290200000000000010", DNSMSG_E_SHORT },
	{ "additional record cut short", "000101000001000000000001 016100 00010001 c00c0001",
	  DNSMSG_E_SHORT },
};

static void test_query_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(query_rejects) / sizeof(query_rejects[0]); i++) {
		uint8_t m[512];
		size_t n = hexmsg(m, sizeof(m), query_rejects[i].hex);
		struct dnsmsg_query q;
		enum dnsmsg_status s = dnsmsg_query_parse(m, n, &q);

		if (s != query_rejects[i].want)
			fail_msg("%s: got `%s', want `%s'", query_rejects[i].what,
				 dnsmsg_status_str(s), dnsmsg_status_str(query_rejects[i].want));
	}
}

static void test_long_names(void **state)
{
	uint8_t m[600];
	size_t n = 12;
	struct dnsmsg_query q;

	(void)state;
	memset(m, 0, sizeof(m));
	m[5] = 1; /* qdcount */
	/* 3 x 63 + 61 + 5 length bytes + root = 255: the longest legal name. */
	for (int l = 0; l < 4; l++) {
		uint8_t len = l < 3 ? 63 : 61;
		m[n++] = len;
		memset(m + n, 'a' + l, len);
		n += len;
	}
	m[n++] = 0;
	m[n + 1] = 1;
	m[n + 3] = 1;
	assert_int_equal(dnsmsg_query_parse(m, n + 4, &q), DNSMSG_OK);
	assert_int_equal(q.q.name.len, 255);
	assert_int_equal(q.q.name.labels, 4);
	/* One byte more is refused. */
	n = 12;
	for (int l = 0; l < 4; l++) {
		uint8_t len = l < 3 ? 63 : 62;
		m[n++] = len;
		memset(m + n, 'a' + l, len);
		n += len;
	}
	m[n++] = 0;
	m[n + 1] = 1;
	m[n + 3] = 1;
	assert_int_equal(dnsmsg_query_parse(m, n + 4, &q), DNSMSG_E_NAMELEN);
}

static void test_name_text(void **state)
{
	struct dnsmsg_name n, m;
	char buf[DNSMSG_TEXT_MAX], big[300];

	(void)state;
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "host.example.com", "host.example.com." },
		{ "host.example.com.", "host.example.com." },
		{ ".", "." },
		{ "a", "a." },
		{ "_srv._tcp.x", "_srv._tcp.x." },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dnsmsg_name_from_text(good[i].in, &n), 0);
		assert_string_equal(dnsmsg_name_to_text(&n, buf, sizeof(buf)), good[i].out);
	}
	static const char *const bad[] = { "", "..", ".a", "a..b", "a b", "a\\.b", "tab\there" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dnsmsg_name_from_text(bad[i], &n) != -EINVAL)
			fail_msg("`%s' accepted", bad[i]);
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_int_equal(dnsmsg_name_from_text(big, &n), -EINVAL); /* a 64-byte label */
	for (int i = 0; i < 128; i++) {
		big[2 * i] = 'a';
		big[2 * i + 1] = '.';
	}
	big[256] = '\0';
	assert_int_equal(dnsmsg_name_from_text(big, &n), -ENAMETOOLONG); /* 128 labels: 257 bytes */
	big[254] = '\0';
	assert_int_equal(dnsmsg_name_from_text(big, &n), 0); /* 127 labels: 255 bytes */
	assert_int_equal(n.len, 255);
	/* Escapes on output, case folding, suffixes. */
	n.len = 5;
	n.labels = 1;
	memcpy(n.b, "\3a.\001", 5);
	n.b[4] = 0;
	assert_string_equal(dnsmsg_name_to_text(&n, buf, sizeof(buf)), "a\\046\\001.");
	assert_int_equal(dnsmsg_name_from_text("Host.EXAMPLE.com", &n), 0);
	assert_int_equal(dnsmsg_name_from_text("host.example.COM.", &m), 0);
	assert_true(dnsmsg_name_eq_nocase(&n, &m));
	dnsmsg_name_lower(&n);
	assert_string_equal(text(&n), "host.example.com.");
	assert_int_equal(dnsmsg_name_from_text("example.com", &m), 0);
	assert_true(dnsmsg_name_is_under(&n, &m));
	assert_int_equal(dnsmsg_name_from_text("ample.com", &m), 0);
	assert_false(dnsmsg_name_is_under(&n, &m)); /* not at a label boundary */
	dnsmsg_name_parent(&n, 1, &m);
	assert_string_equal(text(&m), "example.com.");
	assert_int_equal(m.labels, 2);
}

static void test_reverse(void **state)
{
	struct dnsmsg_name n;
	uint8_t a[16], b[16];
	size_t alen;

	(void)state;
	memcpy(a, (uint8_t[4]){ 100, 64, 0, 1 }, 4);
	dnsmsg_name_reverse(a, 4, &n);
	assert_string_equal(text(&n), "1.0.64.100.in-addr.arpa.");
	assert_int_equal(dnsmsg_name_reverse_addr(&n, b, &alen), 0);
	assert_int_equal(alen, 4);
	assert_memory_equal(a, b, 4);
	memcpy(a,
	       (uint8_t[16]){ 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1f },
	       16);
	dnsmsg_name_reverse(a, 16, &n);
	assert_string_equal(
		text(&n),
		"f.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.");
	assert_int_equal(dnsmsg_name_reverse_addr(&n, b, &alen), 0);
	assert_int_equal(alen, 16);
	assert_memory_equal(a, b, 16);
	static const char *const bad[] = { "64.100.in-addr.arpa",	"01.0.64.100.in-addr.arpa",
					   "256.0.64.100.in-addr.arpa", "a.0.64.100.in-addr.arpa",
					   "1.0.64.100.in-addr.arpb",	"1.0.0.ip6.arpa" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(dnsmsg_name_from_text(bad[i], &n), 0);
		if (dnsmsg_name_reverse_addr(&n, b, &alen) != -EINVAL)
			fail_msg("`%s' taken as an address", bad[i]);
	}
	/* 1.0.64.100.a.<"\7in-addr\4arpa" as one label>: the suffix bytes, not its labels (found by
	 * fuzzing). */
	static const uint8_t tricky[] = "1064100ain-addrarpa";
	memcpy(n.b, tricky, sizeof(tricky));
	n.len = sizeof(tricky);
	n.labels = 6;
	assert_int_equal(dnsmsg_name_reverse_addr(&n, b, &alen), -EINVAL);
}

static void parse_query(const char *hex, struct dnsmsg_query *q)
{
	uint8_t m[512];
	size_t n = hexmsg(m, sizeof(m), hex);

	assert_int_equal(dnsmsg_query_parse(m, n, q), DNSMSG_OK);
}

static void test_answer(void **state)
{
	struct dnsmsg_query q;
	struct dnsmsg_answer a;
	struct dnsmsg_reply r;
	uint8_t out[2048];
	size_t n;

	(void)state;
	/* dig +dnssec +nocookie Alpha.Tailnet.Example A */
	parse_query(dig_queries[2].hex, &q);
	assert_int_equal(dnsmsg_answer_begin(&a, out, sizeof(out), dnsmsg_query_limit(&q, 1232), &q,
					     DNSMSG_F_AA, DNSMSG_R_NOERROR, 1232),
			 0);
	dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 600, (uint8_t[4]){ 100, 64, 0, 1 }, 4);
	n = dnsmsg_answer_finish(&a);
	/* ID, QR AA RD RA, counts; the question as the client spelled it; C00C owner; OPT with DO.
	 */
	assert_int_equal(n, 12 + 23 + 4 + 16 + 11);
	uint8_t want[128];
	size_t wn = hexmsg(
		want, sizeof(want),
		"fb88 8580 0001 0001 0000 0001 05416c706861075461696c6e6574074578616d706c6500"
		" 00010001 c00c 0001 0001 00000258 0004 64400001 0000 2904d0 00 00 8000 0000");
	assert_int_equal(n, wn);
	assert_memory_equal(out, want, n);
	assert_int_equal(dnsmsg_reply_parse(out, n, &r), DNSMSG_OK);
	assert_int_equal(r.min_ttl, 600);
	assert_int_equal(r.end, n - DNSMSG_OPT_LEN);

	/* 40 A records do not fit in 512 bytes: header, question, TC. */
	parse_query(dig_queries[0].hex, &q);
	assert_int_equal(dnsmsg_answer_begin(&a, out, sizeof(out), dnsmsg_query_limit(&q, 1232), &q,
					     DNSMSG_F_AA, DNSMSG_R_NOERROR, 1232),
			 0);
	for (uint8_t i = 0; i < 40; i++)
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 600, (uint8_t[4]){ 100, 64, 0, i },
				  4);
	n = dnsmsg_answer_finish(&a);
	assert_int_equal(n, 12 + 23 + 4);
	assert_int_equal(dnsmsg_reply_parse(out, n, &r), DNSMSG_OK);
	assert_true(r.h.flags & DNSMSG_F_TC);
	assert_int_equal(r.h.ancount, 0);
	assert_false(r.edns.present); /* the client sent no OPT */
	/* With 1232 they fit (40 x 16 = 640). */
	parse_query(dig_queries[1].hex, &q);
	assert_int_equal(dnsmsg_answer_begin(&a, out, sizeof(out), dnsmsg_query_limit(&q, 1232), &q,
					     0, DNSMSG_R_NOERROR, 1232),
			 0);
	for (uint8_t i = 0; i < 40; i++)
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 600, (uint8_t[4]){ 100, 64, 0, i },
				  4);
	n = dnsmsg_answer_finish(&a);
	assert_int_equal(dnsmsg_reply_parse(out, n, &r), DNSMSG_OK);
	assert_false(r.h.flags & DNSMSG_F_TC);
	assert_int_equal(r.h.ancount, 40);
	assert_true(r.edns.present);
	assert_false(r.edns.flags & DNSMSG_EDNS_DO);
	/* BADVERS: RCODE 0 in the header, 1 in the OPT's extended bits. */
	assert_int_equal(
		dnsmsg_answer_begin(&a, out, sizeof(out), 512, &q, 0, DNSMSG_R_BADVERS, 1232), 0);
	n = dnsmsg_answer_finish(&a);
	assert_int_equal(dnsmsg_reply_parse(out, n, &r), DNSMSG_OK);
	assert_int_equal(r.rcode, DNSMSG_R_BADVERS);
	assert_int_equal(r.h.flags & DNSMSG_RCODE_MASK, 0);
}

static const struct {
	const char *what, *hex;
	enum dnsmsg_status want;
} reply_rejects[] = {
	{ "QR clear", "000101000001000000000000 016100 00010001", DNSMSG_E_NOT_QUERY },
	{ "no question with NOERROR", "000181800000000000000000", DNSMSG_E_QDCOUNT },
	{ "OPT not last",
	  "000181800001000000000002 016100 00010001 0000290200000000000000 c00c000100010000003c000401020304",
	  DNSMSG_E_OPT_LAST },
	{ "OPT in the answer section",
	  "000181800001000100000000 016100 00010001 0000290200000000000000", DNSMSG_E_OPT },
	{ "SOA RDATA one byte short",
	  "000181830001000000010000 016100 00010001 c00e 0006 0001 00000384 0015 00 00 00000001"
	  " 00000002 00000003 00000004 000000",
	  DNSMSG_E_RDATA },
	{ "record RDATA past the end",
	  "000181800001000100000000 016100 00010001 c00c00010001000000010010", DNSMSG_E_SHORT },
	{ "trailing bytes", "000181800001000000000000 016100 00010001 0000", DNSMSG_E_TRAILING },
};

static void test_reply_parse(void **state)
{
	uint8_t m[512];
	size_t n;
	struct dnsmsg_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(reply_rejects) / sizeof(reply_rejects[0]); i++) {
		enum dnsmsg_status s;
		n = hexmsg(m, sizeof(m), reply_rejects[i].hex);
		s = dnsmsg_reply_parse(m, n, &r);
		if (s != reply_rejects[i].want)
			fail_msg("%s: got `%s', want `%s'", reply_rejects[i].what,
				 dnsmsg_status_str(s), dnsmsg_status_str(reply_rejects[i].want));
	}
	/* REFUSED without a question is a reply (servers do send them). */
	n = hexmsg(m, sizeof(m), "000181850000000000000000");
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_false(r.has_question);
	assert_int_equal(r.rcode, DNSMSG_R_REFUSED);
	/* NXDOMAIN with an SOA: the negative TTL is min(TTL, MINIMUM); a top-bit TTL counts as 0.
	 */
	n = hexmsg(
		m, sizeof(m),
		"000181830001000000010000 0161076578616d706c6500 00010001 c00e 0006 0001 00000384 0016"
		" 00 00 00000001 00000002 00000003 00000004 0000003c");
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_true(r.has_soa);
	assert_int_equal(r.soa_ttl, 60);
	assert_int_equal(r.min_ttl, 900);
	m[n - 22 - 6] |= 0x80; /* TTL 0x80000384 */
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_int_equal(r.min_ttl, 0);
	assert_int_equal(r.soa_ttl, 0);
}

#ifdef WEFT_HAVE_LDNS
static ldns_rr *rr_str(const char *s)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL), LDNS_STATUS_OK);
	return rr;
}

/* A reply from ldns: its own encoder, its own compression. */
static size_t ldns_reply(uint8_t *out, size_t cap, bool nxdomain, unsigned n_extra)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *q = NULL;
	uint8_t *w = NULL;
	size_t wl = 0;

	ldns_pkt_set_id(p, 0x1234);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	assert_int_equal(ldns_rr_new_question_frm_str(&q, "www.example.com. IN A", NULL, NULL),
			 LDNS_STATUS_OK);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	if (nxdomain) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
		ldns_pkt_push_rr(
			p, LDNS_SECTION_AUTHORITY,
			rr_str("example.com. 900 IN SOA ns.example.com. admin.example.com. "
			       "1 7200 3600 1209600 120"));
	} else {
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
				 rr_str("www.example.com. 300 IN CNAME web.example.com."));
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
				 rr_str("web.example.com. 60 IN A 192.0.2.1"));
		for (unsigned i = 0; i < n_extra; i++) {
			char s[80];
			snprintf(s, sizeof(s), "web.example.com. 60 IN A 192.0.2.%u", 2 + i);
			ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr_str(s));
		}
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY,
				 rr_str("example.com. 3600 IN NS ns.example.com."));
		ldns_pkt_push_rr(p, LDNS_SECTION_ADDITIONAL,
				 rr_str("ns.example.com. 3600 IN A 192.0.2.53"));
	}
	ldns_pkt_set_edns_udp_size(p, 4096);
	ldns_pkt_set_edns_do(p, true);
	assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
	assert_true(wl <= cap);
	memcpy(out, w, wl);
	free(w);
	ldns_pkt_free(p);
	return wl;
}

static void test_ldns_replies(void **state)
{
	uint8_t m[4096], out[4096];
	size_t n;
	struct dnsmsg_reply r;
	struct dnsmsg_query q;
	struct dnsmsg_question qq;
	ldns_pkt *p = NULL;
	int k;

	(void)state;
	n = ldns_reply(m, sizeof(m), false, 0);
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_int_equal(r.h.ancount, 2);
	assert_int_equal(r.h.nscount, 1);
	assert_int_equal(r.h.arcount, 2); /* ns A + OPT */
	assert_true(r.edns.present);
	assert_int_equal(r.edns.udp_size, 4096);
	assert_true(r.edns.flags & DNSMSG_EDNS_DO);
	assert_int_equal(r.min_ttl, 60);
	assert_int_equal(r.end, n - DNSMSG_OPT_LEN);
	assert_false(r.has_soa);

	/* A client asked "WWW.Example.COM A" with EDNS0 (no DO), ID 0xbeef, 10 s ago. */
	assert_int_equal(dnsmsg_name_from_text("WWW.Example.COM", &qq.name), 0);
	qq.type = DNSMSG_T_A;
	qq.qclass = DNSMSG_C_IN;
	k = dnsmsg_query_build(out, sizeof(out), 0xbeef, DNSMSG_F_RD, &qq, true, 1400, false);
	assert_true(k > 0);
	assert_int_equal(dnsmsg_query_parse(out, (size_t)k, &q), DNSMSG_OK);
	k = dnsmsg_reply_readdress(m, &r, &q, 10, 1232, 1232, out, sizeof(out));
	assert_true(k > 0);
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)k), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 0xbeef);
	assert_true(ldns_pkt_qr(p) && ldns_pkt_rd(p) && ldns_pkt_ra(p) && !ldns_pkt_aa(p));
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 290);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 1)), 50);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 3590);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_false(ldns_pkt_edns_do(p));
	{
		char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
		assert_string_equal(s, "WWW.Example.COM.");
		free(s);
		/* Compressed against the question, so the client's spelling shows through (as in
		 * BIND). */
		s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
		assert_int_equal(strcasecmp(s, "web.example.com."), 0);
		free(s);
	}
	ldns_pkt_free(p);
	p = NULL;

	/* The same for a client without EDNS0: no OPT in the reply. */
	k = dnsmsg_query_build(out, sizeof(out), 7, DNSMSG_F_RD, &qq, false, 0, false);
	assert_int_equal(dnsmsg_query_parse(out, (size_t)k, &q), DNSMSG_OK);
	k = dnsmsg_reply_readdress(m, &r, &q, 0, 512, 1232, out, sizeof(out));
	assert_int_equal(k, (int)(n - DNSMSG_OPT_LEN));
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)k), LDNS_STATUS_OK);
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_arcount(p), 1);
	ldns_pkt_free(p);
	p = NULL;

	/* Too large for the client: cut to the question, TC. */
	n = ldns_reply(m, sizeof(m), false, 60);
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_true(n > 512);
	k = dnsmsg_reply_readdress(m, &r, &q, 0, 512, 1232, out, sizeof(out));
	assert_int_equal(ldns_wire2pkt(&p, out, (size_t)k), LDNS_STATUS_OK);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_pkt_free(p);
	p = NULL;

	/* NXDOMAIN with SOA: negative TTL min(900, 120). */
	n = ldns_reply(m, sizeof(m), true, 0);
	assert_int_equal(dnsmsg_reply_parse(m, n, &r), DNSMSG_OK);
	assert_int_equal(r.rcode, DNSMSG_R_NXDOMAIN);
	assert_true(r.has_soa);
	assert_int_equal(r.soa_ttl, 120);
}

/* Every query dig sent, parsed by ldns too: both must read the same question. */
static void test_ldns_agrees(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dig_queries) / sizeof(dig_queries[0]); i++) {
		uint8_t m[512];
		size_t n = hexmsg(m, sizeof(m), dig_queries[i].hex);
		struct dnsmsg_query q;
		ldns_pkt *p = NULL;
		ldns_rr *qr;
		char *s;

		assert_int_equal(dnsmsg_query_parse(m, n, &q), DNSMSG_OK);
		assert_int_equal(ldns_wire2pkt(&p, m, n), LDNS_STATUS_OK);
		qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		s = ldns_rdf2str(ldns_rr_owner(qr));
		assert_string_equal(s, text(&q.q.name));
		free(s);
		assert_int_equal(ldns_rr_get_type(qr), q.q.type);
		assert_int_equal(ldns_pkt_edns(p), q.edns.present);
		ldns_pkt_free(p);
	}
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dig_queries),  cmocka_unit_test(test_query_rejects),
		cmocka_unit_test(test_long_names),   cmocka_unit_test(test_name_text),
		cmocka_unit_test(test_reverse),	     cmocka_unit_test(test_answer),
		cmocka_unit_test(test_reply_parse),
#ifdef WEFT_HAVE_LDNS
		cmocka_unit_test(test_ldns_replies), cmocka_unit_test(test_ldns_agrees),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

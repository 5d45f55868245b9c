/* SPDX-License-Identifier: ISC */
/*
 * test_dnstext: type and RCODE names both ways, a walk over every section of a reply with
 * compressed names inside RDATA, each common type as text, unknown types in RFC 3597 form,
 * and the rejects: RDATA that does not parse as its type, names running past their RDATA,
 * truncated and trailing messages, two questions, cut output.
 */
#include "core/buf.h"
#include "dns/dnstext.h"
#include "testutil.h"

struct w {
	uint8_t b[1024];
	size_t n;
};

static void put(struct w *w, const void *p, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void put16(struct w *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

static void put32(struct w *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

/* A record owned by `owner` (wire bytes), RDATA as given. */
static void rr(struct w *w, const char *owner, size_t olen, uint16_t type, uint32_t ttl,
	       const void *rdata, size_t rdlen)
{
	put(w, owner, olen);
	put16(w, type);
	put16(w, type == DNSMSG_T_OPT ? 1232 : DNSMSG_C_IN);
	put32(w, ttl);
	put16(w, (uint16_t)rdlen);
	put(w, rdata, rdlen);
}

#define PTR_WWW "\xc0\x0c"	/* www.example.com at offset 12 */
#define PTR_EXAMPLE "\xc0\x10" /* example.com at offset 16 */

/* A reply to www.example.com A: six answers, an SOA, an unknown type and an OPT. */
static void build_reply(struct w *w)
{
	uint8_t soa[64], srv[] = "\x00\x01\x00\x02\x13\xc4\x03sip" PTR_EXAMPLE;
	struct w s = { .n = 0 };

	memset(w, 0, sizeof(*w));
	put16(w, 0x1234);
	put16(w, 0x8180);
	put16(w, 1);
	put16(w, 6);
	put16(w, 2);
	put16(w, 1);
	put(w, "\3www\7example\3com\0", 17);
	put16(w, DNSMSG_T_A);
	put16(w, DNSMSG_C_IN);
	rr(w, PTR_WWW, 2, DNSMSG_T_CNAME, 300, "\3web" PTR_EXAMPLE, 6);
	rr(w, PTR_WWW, 2, DNSMSG_T_A, 60, "\xc0\x00\x02\x01", 4);
	rr(w, PTR_WWW, 2, DNSMSG_T_AAAA, 60, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	rr(w, PTR_WWW, 2, DNSMSG_T_MX, 60, "\x00\x0a\4mail" PTR_EXAMPLE, 9);
	rr(w, PTR_WWW, 2, DNSMSG_T_TXT, 60, "\5hello\3a\"b\1\x07", 12);
	rr(w, PTR_WWW, 2, DNSMSG_T_SRV, 60, srv, sizeof(srv) - 1);
	put(&s, "\2ns" PTR_EXAMPLE, 5);
	put(&s, "\4host" PTR_EXAMPLE, 7);
	for (uint32_t i = 1; i <= 5; i++)
		put32(&s, i * 100);
	memcpy(soa, s.b, s.n);
	rr(w, PTR_EXAMPLE, 2, DNSMSG_T_SOA, 3600, soa, s.n);
	rr(w, PTR_EXAMPLE, 2, 999, 5, "\x01\x02\x03", 3);
	rr(w, "\0", 1, DNSMSG_T_OPT, 0, "", 0);
}

static void test_names(void **state)
{
	char b[16];
	uint16_t t;

	(void)state;
	assert_int_equal(dnstext_type_parse("a", &t), 0);
	assert_int_equal(t, DNSMSG_T_A);
	assert_int_equal(dnstext_type_parse("AAAA", &t), 0);
	assert_int_equal(t, DNSMSG_T_AAAA);
	assert_int_equal(dnstext_type_parse("ptr", &t), 0);
	assert_int_equal(t, DNSMSG_T_PTR);
	assert_int_equal(dnstext_type_parse("TYPE65", &t), 0);
	assert_int_equal(t, 65);
	assert_int_equal(dnstext_type_parse("257", &t), 0);
	assert_int_equal(t, 257);
	static const char *const bad[] = { "", "bogus", "TYPE", "TYPE0", "0", "65536", "-1", "1x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dnstext_type_parse(bad[i], &t), -EINVAL);
	assert_string_equal(dnstext_type_name(28, b, sizeof(b)), "AAAA");
	assert_string_equal(dnstext_type_name(999, b, sizeof(b)), "TYPE999");
	assert_string_equal(dnstext_class_name(1, b, sizeof(b)), "IN");
	assert_string_equal(dnstext_class_name(4, b, sizeof(b)), "CLASS4");
	assert_string_equal(dnstext_rcode_name(0, b, sizeof(b)), "NOERROR");
	assert_string_equal(dnstext_rcode_name(3, b, sizeof(b)), "NXDOMAIN");
	assert_string_equal(dnstext_rcode_name(16, b, sizeof(b)), "BADVERS");
	assert_string_equal(dnstext_rcode_name(23, b, sizeof(b)), "RCODE23");
}

static void test_walk(void **state)
{
	static const struct {
		enum dnsmsg_section sec;
		const char *owner, *type, *data;
		uint32_t ttl;
	} want[] = {
		{ DNSMSG_ANSWER, "www.example.com.", "CNAME", "web.example.com.", 300 },
		{ DNSMSG_ANSWER, "www.example.com.", "A", "192.0.2.1", 60 },
		{ DNSMSG_ANSWER, "www.example.com.", "AAAA", "2001:db8::1", 60 },
		{ DNSMSG_ANSWER, "www.example.com.", "MX", "10 mail.example.com.", 60 },
		{ DNSMSG_ANSWER, "www.example.com.", "TXT", "\"hello\" \"a\\\"b\" \"\\007\"", 60 },
		{ DNSMSG_ANSWER, "www.example.com.", "SRV", "1 2 5060 sip.example.com.", 60 },
		{ DNSMSG_AUTHORITY, "example.com.", "SOA",
		  "ns.example.com. host.example.com. 100 200 300 400 500", 3600 },
		{ DNSMSG_AUTHORITY, "example.com.", "TYPE999", "\\# 3 010203", 5 },
		{ DNSMSG_ADDITIONAL, ".", "OPT", "\\# 0", 0 },
	};
	struct w w;
	struct dnsmsg_header h;
	struct dnsmsg_question q;
	struct dnstext_iter it;
	struct dnstext_rr r;
	char name[DNSMSG_TEXT_MAX], tb[16], data[256];
	bool has_q, done;
	size_t k = 0;

	(void)state;
	build_reply(&w);
	assert_int_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_OK);
	assert_true(has_q);
	assert_int_equal(h.id, 0x1234);
	assert_int_equal(q.type, DNSMSG_T_A);
	assert_string_equal(dnsmsg_name_to_text(&q.name, name, sizeof(name)), "www.example.com.");
	for (;;) {
		assert_int_equal(dnstext_iter_next(&it, &r, &done), DNSMSG_OK);
		if (done)
			break;
		assert_true(k < sizeof(want) / sizeof(want[0]));
		assert_int_equal(r.section, want[k].sec);
		assert_string_equal(dnsmsg_name_to_text(&r.owner, name, sizeof(name)), want[k].owner);
		assert_string_equal(dnstext_type_name(r.type, tb, sizeof(tb)), want[k].type);
		assert_int_equal(r.ttl, want[k].ttl);
		assert_int_equal(dnstext_rdata(w.b, w.n, &r, data, sizeof(data)), 0);
		assert_string_equal(data, want[k].data);
		k++;
	}
	assert_int_equal(k, sizeof(want) / sizeof(want[0]));
	/* Done stays done. */
	assert_int_equal(dnstext_iter_next(&it, &r, &done), DNSMSG_OK);
	assert_true(done);
}

/* RDATA that does not parse as its type: -EBADMSG with the RFC 3597 form. */
static void test_bad_rdata(void **state)
{
	static const struct {
		uint16_t type;
		const char *rdata;
		size_t len;
	} bad[] = {
		{ DNSMSG_T_A, "\1\2\3", 3 },
		{ DNSMSG_T_AAAA, "\1\2\3\4", 4 },
		{ DNSMSG_T_CNAME, "\3web", 4 },		  /* runs past the RDATA */
		{ DNSMSG_T_PTR, "\3web\0\0", 6 },	  /* bytes after the name */
		{ DNSMSG_T_NS, "\xc0\x40", 2 },		  /* points forward */
		{ DNSMSG_T_MX, "\0\1", 2 },
		{ DNSMSG_T_SRV, "\0\1\0\2\0\3", 6 },
		{ DNSMSG_T_SOA, "\0\0\0\0\0\1", 6 },	  /* too short for the numbers */
		{ DNSMSG_T_TXT, "\5abc", 4 },		  /* string runs past */
		{ DNSMSG_T_TXT, "", 0 },
	};
	struct w w;
	struct dnsmsg_header h;
	struct dnsmsg_question q;
	struct dnstext_iter it;
	struct dnstext_rr r;
	char data[64];
	bool has_q, done;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&w, 0, sizeof(w));
		put16(&w, 1);
		put16(&w, 0x8180);
		put16(&w, 0);
		put16(&w, 1);
		put16(&w, 0);
		put16(&w, 0);
		rr(&w, "\0", 1, bad[i].type, 1, bad[i].rdata, bad[i].len);
		assert_int_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_OK);
		assert_false(has_q);
		assert_int_equal(dnstext_iter_next(&it, &r, &done), DNSMSG_OK);
		assert_false(done);
		assert_int_equal(dnstext_rdata(w.b, w.n, &r, data, sizeof(data)), -EBADMSG);
		assert_true(strncmp(data, "\\# ", 3) == 0);
	}
	/* A record whose RDATA lies outside the message given. */
	r.rdata = w.n;
	r.rdlen = 1;
	assert_int_equal(dnstext_rdata(w.b, w.n, &r, data, sizeof(data)), -EBADMSG);
}

static void test_bad_messages(void **state)
{
	struct w w;
	struct dnsmsg_header h;
	struct dnsmsg_question q;
	struct dnstext_iter it;
	struct dnstext_rr r;
	char data[8];
	bool has_q, done = false;
	enum dnsmsg_status st = DNSMSG_OK;

	(void)state;
	build_reply(&w);
	assert_int_equal(dnstext_iter_init(&it, w.b, 11, &h, &q, &has_q), DNSMSG_E_SHORT);
	assert_int_equal(dnstext_iter_init(&it, w.b, 20, &h, &q, &has_q), DNSMSG_E_SHORT);
	/* Cut inside the records: the walk stops with E_SHORT at that record. */
	assert_int_equal(dnstext_iter_init(&it, w.b, w.n - 3, &h, &q, &has_q), DNSMSG_OK);
	while (st == DNSMSG_OK && !done)
		st = dnstext_iter_next(&it, &r, &done);
	assert_int_equal(st, DNSMSG_E_SHORT);
	/* Bytes after the last record. */
	w.b[w.n++] = 0;
	assert_int_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_OK);
	st = DNSMSG_OK;
	done = false;
	while (st == DNSMSG_OK && !done)
		st = dnstext_iter_next(&it, &r, &done);
	assert_true(done);
	assert_int_equal(st, DNSMSG_E_TRAILING);
	/* Two questions. */
	build_reply(&w);
	w.b[5] = 2;
	assert_int_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_E_QDCOUNT);
	/* A pointer loop in the question. */
	build_reply(&w);
	memcpy(w.b + 12, "\xc0\x0c", 2);
	assert_int_not_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_OK);
	/* Output cut: -ENOSPC, still terminated. */
	build_reply(&w);
	assert_int_equal(dnstext_iter_init(&it, w.b, w.n, &h, &q, &has_q), DNSMSG_OK);
	assert_int_equal(dnstext_iter_next(&it, &r, &done), DNSMSG_OK);
	assert_int_equal(dnstext_rdata(w.b, w.n, &r, data, sizeof(data)), -ENOSPC);
	assert_int_equal(strlen(data), sizeof(data) - 1);
	assert_int_equal(dnstext_rdata(w.b, w.n, &r, data, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_bad_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

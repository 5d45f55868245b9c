/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnsmsg: arbitrary bytes as a query and as a reply. Whatever parses
 * must survive answering, re-addressing and TTL rewriting, and what those
 * produce must parse again within the client's limit. With ldns, a plain
 * query we accept must read the same to ldns (name bytes, type, class).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnsmsg.h"

#ifdef WEFT_HAVE_LDNS
#include <ldns/ldns.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const uint8_t *m, size_t n, size_t limit)
{
	struct dnsmsg_reply r;

	if (n > limit || dnsmsg_reply_parse(m, n, &r) != DNSMSG_OK)
		abort();
}

static void as_query(const uint8_t *data, size_t size)
{
	struct dnsmsg_query q;
	struct dnsmsg_answer a;
	static uint8_t out[DNSMSG_MSG_MAX];
	size_t limit, n;

	if (dnsmsg_query_parse(data, size, &q) != DNSMSG_OK)
		return;
	limit = dnsmsg_query_limit(&q, 1232);
	if (limit < DNSMSG_UDP_MIN || limit > 1232)
		abort();
	if (dnsmsg_answer_begin(&a, out, sizeof(out), limit, &q, DNSMSG_F_AA, DNSMSG_R_NOERROR,
				1232) != 0)
		abort();
	for (unsigned i = 0; i < (size & 127); i++)
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 600, data, 4);
	n = dnsmsg_answer_finish(&a);
	check_reply(out, n, limit);
#ifdef WEFT_HAVE_LDNS
	if (q.h.arcount == 0) {
		ldns_pkt *p = NULL;
		ldns_rr *qr;
		ldns_rdf *owner;

		if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK)
			abort(); /* a plain query we accept, ldns refuses */
		qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		owner = ldns_rr_owner(qr);
		if (qr == NULL || ldns_rdf_size(owner) != q.q.name.len ||
		    memcmp(ldns_rdf_data(owner), q.q.name.b, q.q.name.len) != 0 ||
		    ldns_rr_get_type(qr) != q.q.type || ldns_rr_get_class(qr) != q.q.qclass)
			abort();
		ldns_pkt_free(p);
	}
#endif
}

static void as_reply(const uint8_t *data, size_t size)
{
	struct dnsmsg_reply r;
	struct dnsmsg_query q;
	static uint8_t out[DNSMSG_MSG_MAX + DNSMSG_OPT_LEN], copy[DNSMSG_MSG_MAX];
	int n;

	if (dnsmsg_reply_parse(data, size, &r) != DNSMSG_OK)
		return;
	if (r.end > size)
		abort();
	/* A client asking the same question, with EDNS0, and one without. */
	memset(&q, 0, sizeof(q));
	q.h.id = 0x1234;
	q.h.flags = DNSMSG_F_RD;
	q.has_question = r.has_question;
	q.q = r.q;
	for (int edns = 0; edns < 2; edns++) {
		size_t limit = edns ? 1232 : 512;
		q.edns.present = edns;
		q.edns.udp_size = 1232;
		n = dnsmsg_reply_readdress(data, &r, &q, (uint32_t)size, limit, 1232, out,
					   sizeof(out));
		if (n < 0)
			abort();
		check_reply(out, (size_t)n, limit);
	}
	memcpy(copy, data, r.end);
	dnsmsg_reply_ttls(copy, r.end, 5, 60);
	/* TTL rewriting changes nothing but TTLs. */
	if (r.h.ancount + r.h.nscount + r.h.arcount == 0 && memcmp(copy, data, r.end) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg_name n;
	size_t off = DNSMSG_HDR_LEN;

	if (size > DNSMSG_MSG_MAX)
		return 0;
	as_query(data, size);
	as_reply(data, size);
	if (dnsmsg_name_read(data, size, &off, &n) == DNSMSG_OK) {
		char text[DNSMSG_TEXT_MAX];
		struct dnsmsg_name m;
		uint8_t a[16];
		size_t alen;

		if (n.len == 0 || n.len > DNSMSG_NAME_MAX || off > size)
			abort();
		dnsmsg_name_to_text(&n, text, sizeof(text));
		/* Names without escapes go back to the same bytes (case aside). */
		if (strchr(text, '\\') == NULL &&
		    (dnsmsg_name_from_text(text, &m) != 0 || !dnsmsg_name_eq_nocase(&n, &m)))
			abort();
		if (dnsmsg_name_reverse_addr(&n, a, &alen) == 0) {
			dnsmsg_name_reverse(a, alen, &m);
			if (!dnsmsg_name_eq_nocase(&n, &m))
				abort();
		}
	}
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnstext: the record walk and RDATA printer of `weft dns query` on
 * arbitrary replies (weftd prints what an upstream sent). Every record the
 * walk yields lies inside the message; every text is terminated and fits its
 * buffer, whatever the RDATA.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnstext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsmsg_header h;
	struct dnsmsg_question q;
	struct dnstext_iter it;
	struct dnstext_rr rr;
	char text[512], name[DNSMSG_TEXT_MAX], tb[16];
	bool has_q, done = false;
	enum dnsmsg_status st = dnstext_iter_init(&it, data, size, &h, &q, &has_q);
	uint16_t type;

	while (st == DNSMSG_OK && !done) {
		st = dnstext_iter_next(&it, &rr, &done);
		if (st != DNSMSG_OK || done)
			break;
		if (rr.rdata > size || size - rr.rdata < rr.rdlen)
			abort();
		(void)dnstext_rdata(data, size, &rr, text, sizeof(text));
		if (strnlen(text, sizeof(text)) >= sizeof(text))
			abort();
		(void)dnsmsg_name_to_text(&rr.owner, name, sizeof(name));
		(void)dnstext_type_name(rr.type, tb, sizeof(tb));
	}
	/* The input as a type name, too. */
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		if (dnstext_type_parse(text, &type) == 0 && type == 0)
			abort();
	}
	return 0;
}

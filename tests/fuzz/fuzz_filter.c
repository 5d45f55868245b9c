/* SPDX-License-Identifier: ISC */
/*
 * fuzz_filter: the packet filter's two parsers of untrusted input. The input
 * is FilterRule JSON, a NUL, then an IP packet. The JSON goes to the strict
 * decoder and compiler; the packet to filter_pkt_parse, then through the
 * inbound and outbound decisions with a flow table. When both parse, the
 * compiled matcher must agree with tests/reference/filter_naive on the
 * packet's tuple and on its reverse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "filter_naive.h"
#include "json/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t jlen = nul != NULL ? (size_t)(nul - data) : size;
	struct conntrack *ct = NULL;
	struct filter *f = NULL;
	struct filter_err err;
	struct jsonx_err jerr;
	struct filter_pkt p;
	json_t *j = NULL;

	if (jsonx_load(data, jlen, &j, &jerr) == 0 && filter_new(j, &f, &err) < 0 &&
	    err.msg[0] == '\0')
		abort(); /* a refusal always says why */
	if (nul == NULL || conntrack_new(64, &ct) < 0)
		goto out;
	if (filter_pkt_parse(nul + 1, size - jlen - 1, &p) == 0) {
		struct filter_tuple r = { .src = p.t.dst,
					  .dst = p.t.src,
					  .proto = p.t.proto,
					  .sport = p.t.dport,
					  .dport = p.t.sport };

		filter_outbound(f, ct, &p, 1);
		if (filter_inbound(f, ct, &p, 2) >= FILTER_VERDICT_COUNT)
			abort();
		filter_outbound(NULL, ct, &p, 3);
		(void)filter_inbound(NULL, ct, &p, 4);
		if (f != NULL && (filter_match(f, &p.t) != filter_naive_match(j, &p.t) ||
				  filter_match(f, &r) != filter_naive_match(j, &r)))
			abort();
		conntrack_expire(ct, 1000000, 1000);
	}
out:
	conntrack_free(ct);
	filter_free(f);
	json_decref(j);
	return 0;
}

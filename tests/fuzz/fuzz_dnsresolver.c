/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnsresolver: the responder's answer path on arbitrary input: the
 * first byte picks a query over UDP or TCP, an upstream reply to a query in
 * flight (its ID patched in, so matching and caching are reached), or the
 * timers. Every reply must parse, carry the client's ID, and fit the
 * client's size over UDP; nothing may be forwarded anywhere but the table's
 * upstreams.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "dns/dnsmsg.h"
#include "dns/dnsresolver.h"
#include "dns/dnstable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsresolver *res;
static uint64_t now;
static struct netendpoint upstream, corp;
static unsigned inputs;

static void setup(void)
{
	struct dnsresolver_config cfg;
	struct dnstable_builder *b;
	struct dnstable *t;
	struct netaddr a[2];
	char *global[] = { (char *)"1.1.1.1" }, *split[] = { (char *)"10.0.0.53" };

	dnsresolver_free(res);
	dnsresolver_config_default(&cfg);
	cfg.max_outstanding = 64;
	cfg.cache_entries = 64;
	if (dnsresolver_new(&cfg, &res) != 0 || dnstable_builder_new(&b) != 0)
		abort();
	if (netaddr_parse("100.64.0.2", &a[0]) != 0 ||
	    netaddr_parse("fd7a:115c:a1e0::2", &a[1]) != 0)
		abort();
	if (dnstable_builder_magic(b, "ts.example") != 0 ||
	    dnstable_builder_host(b, "alpha.ts.example.", a, 2) != 0 ||
	    dnstable_builder_record(b, "x.a.ts.example", "A", "100.64.0.9") != 0 ||
	    dnstable_builder_route(b, "corp.example", split, 1) != 0 ||
	    dnstable_builder_global(b, global, 1) != 0 || dnstable_builder_finish(b, &t, NULL) != 0)
		abort();
	dnsresolver_set_table(res, t);
	if (netendpoint_parse("1.1.1.1:53", &upstream) != 0 ||
	    netendpoint_parse("10.0.0.53:53", &corp) != 0)
		abort();
}

static void check(const uint8_t *out, const struct dnsresolver_verdict *v, int have_id, uint16_t id)
{
	struct dnsmsg_reply r;

	switch (v->action) {
	case DNSRESOLVER_DROP:
		return;
	case DNSRESOLVER_FORWARD:
		if (!netendpoint_eq(&v->upstream, &upstream) &&
		    !netendpoint_eq(&v->upstream, &corp))
			abort();
		return;
	case DNSRESOLVER_REPLY:
		if (dnsmsg_reply_parse(out, v->len, &r) != DNSMSG_OK)
			abort();
		if (have_id && r.h.id != id)
			abort();
		if (v->client.transport == DNSRESOLVER_UDP && v->len > 1232)
			abort();
		return;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNSMSG_MSG_MAX + 64], fwd[DNSMSG_MSG_MAX + 64], msg[DNSMSG_MSG_MAX];
	struct dnsresolver_client c = { .tag = 1 };
	struct dnsresolver_verdict v;

	if (res == NULL || ++inputs % 4096 == 0)
		setup();
	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	now += 250000000ULL; /* a quarter second per input: timers and TTLs move */
	memcpy(msg, data + 1, size - 1);
	size--;
	switch (data[0] % 4) {
	case 0:
	case 1:
		c.transport = data[0] % 4 == 0 ? DNSRESOLVER_UDP : DNSRESOLVER_TCP;
		if (dnsresolver_query(res, msg, size, &c, now, out, sizeof(out), &v) != 0)
			abort();
		check(out, &v, size >= 2, size >= 2 ? buf_load_be16(msg) : 0);
		break;
	case 2: {
		/* A query that goes upstream, then the input as its answer. */
		static const uint8_t q[] = { 0xab, 0xcd, 1,   0,   0,	1,   0,	  0,   0,   0,
					     0,	   0,	 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
					     3,	   'c',	 'o', 'm', 0,	0,   1,	  0,   1 };
		if (dnsresolver_query(res, q, sizeof(q), &c, now, fwd, sizeof(fwd), &v) != 0)
			abort();
		check(fwd, &v, 1, 0xabcd);
		if (v.action == DNSRESOLVER_FORWARD && size >= 2) {
			memcpy(msg, fwd, 2); /* the ID upstream saw */
			if (dnsresolver_upstream(res, msg, size, &upstream, now, out, sizeof(out),
						 &v) != 0)
				abort();
			check(out, &v, 1, 0xabcd);
		}
		break;
	}
	default:
		now += (uint64_t)(data[0] >> 2) * 1000000000ULL;
		while (dnsresolver_expire(res, now, out, sizeof(out), &v))
			check(out, &v, 0, 0);
		break;
	}
	return 0;
}

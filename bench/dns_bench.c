/* SPDX-License-Identifier: ISC */
/*
 * dns_bench: in-process speed of the MagicDNS responder (lib/dns), one core:
 * queries per second answered for tailnet names (A for random peers of a
 * tailnet of N nodes), for cache hits (forwarded names answered again), and
 * for NXDOMAIN under the base domain; and how long a table build takes.
 * Usage: dns_bench [PEERS [SECONDS]] (default 1000 peers, 1 s per case).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "dns/dnsmsg.h"
#include "dns/dnsresolver.h"
#include "dns/dnstable.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct dnstable *build(unsigned peers, double *secs)
{
	struct dnstable_builder *b;
	struct dnstable *t;
	char *global[] = { (char *)"1.1.1.1" };
	double t0 = now_s();

	if (dnstable_builder_new(&b) != 0 || dnstable_builder_magic(b, "ts.example") != 0 ||
	    dnstable_builder_global(b, global, 1) != 0)
		exit(1);
	for (unsigned i = 0; i < peers; i++) {
		struct netaddr a[2];
		char name[64], v4[32], v6[64];
		snprintf(name, sizeof(name), "host-%u.ts.example.", i);
		snprintf(v4, sizeof(v4), "100.%u.%u.%u", 64 + (i >> 16), (i >> 8) & 255, i & 255);
		snprintf(v6, sizeof(v6), "fd7a:115c:a1e0::%x", i + 1);
		if (netaddr_parse(v4, &a[0]) != 0 || netaddr_parse(v6, &a[1]) != 0 ||
		    dnstable_builder_host(b, name, a, 2) != 0)
			exit(1);
	}
	if (dnstable_builder_finish(b, &t, NULL) != 0)
		exit(1);
	*secs = now_s() - t0;
	return t;
}

static size_t query(uint8_t *out, const char *name, uint16_t id)
{
	struct dnsmsg_question q;
	int n;

	if (dnsmsg_name_from_text(name, &q.name) != 0)
		exit(1);
	q.type = DNSMSG_T_A;
	q.qclass = DNSMSG_C_IN;
	n = dnsmsg_query_build(out, 512, id, DNSMSG_F_RD, &q, true, 1232, false);
	if (n < 0)
		exit(1);
	return (size_t)n;
}

#define NQ 1024

struct qset {
	uint8_t m[NQ][300];
	size_t n[NQ];
};

/* Runs the set round-robin for `secs`; returns queries per second, checking each verdict. */
static double run(struct dnsresolver *r, const struct qset *qs, double secs,
		  enum dnsresolver_action want)
{
	static uint8_t out[4096];
	struct dnsresolver_client c = { .transport = DNSRESOLVER_UDP };
	struct dnsresolver_verdict v;
	unsigned long done = 0;
	double t0 = now_s(), t;

	do {
		for (unsigned i = 0; i < 4096; i++) {
			unsigned k = (unsigned)(done + i) % NQ;
			if (dnsresolver_query(r, qs->m[k], qs->n[k], &c, 1, out, sizeof(out), &v) !=
				    0 ||
			    v.action != want)
				exit(2);
		}
		done += 4096;
		t = now_s() - t0;
	} while (t < secs);
	return (double)done / t;
}

int main(int argc, char **argv)
{
	unsigned peers = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
	double secs = argc > 2 ? atof(argv[2]) : 1.0, bt, big_bt;
	static struct qset qs;
	struct dnsresolver_config cfg;
	struct dnsresolver *r;
	struct dnstable *big;
	static uint8_t fwd[4096], up[4096], out[4096];
	uint64_t seed = 88172645463325252ULL;

	dnsresolver_config_default(&cfg);
	if (peers == 0 || dnsresolver_new(&cfg, &r) != 0)
		return 1;
	dnsresolver_set_table(r, build(peers, &bt));
	big = build(peers * 10, &big_bt);
	printf("table build: %u peers %.1f ms, %u peers %.1f ms\n", peers, bt * 1e3, peers * 10,
	       big_bt * 1e3);
	dnstable_free(big);

	/* Tailnet names: A for random peers, half as bare names. */
	for (unsigned i = 0; i < NQ; i++) {
		char name[64];
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		snprintf(name, sizeof(name), i % 2 ? "host-%u.ts.example" : "host-%u",
			 (unsigned)(seed % peers));
		qs.n[i] = query(qs.m[i], name, (uint16_t)i);
	}
	printf("tailnet names (A): %.0f queries/s\n", run(r, &qs, secs, DNSRESOLVER_REPLY));

	/* NXDOMAIN under the base domain. */
	for (unsigned i = 0; i < NQ; i++) {
		char name[64];
		snprintf(name, sizeof(name), "nobody-%u.ts.example", i);
		qs.n[i] = query(qs.m[i], name, (uint16_t)i);
	}
	printf("NXDOMAIN in the base domain: %.0f queries/s\n",
	       run(r, &qs, secs, DNSRESOLVER_REPLY));

	/* Cache hits: 1024 names forwarded once, answered by a fake upstream, then asked again. */
	for (unsigned i = 0; i < NQ; i++) {
		struct dnsresolver_client c = { .transport = DNSRESOLVER_UDP };
		struct dnsresolver_verdict v;
		struct dnsmsg_query q;
		struct dnsmsg_answer a;
		struct netendpoint from;
		char name[64];
		size_t n;

		snprintf(name, sizeof(name), "www%u.example.com", i);
		qs.n[i] = query(qs.m[i], name, (uint16_t)i);
		if (dnsresolver_query(r, qs.m[i], qs.n[i], &c, 1, fwd, sizeof(fwd), &v) != 0 ||
		    v.action != DNSRESOLVER_FORWARD ||
		    dnsmsg_query_parse(fwd, v.len, &q) != DNSMSG_OK ||
		    dnsmsg_answer_begin(&a, up, sizeof(up), 1232, &q, 0, 0, 1232) != 0)
			return 3;
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 3600,
				  (uint8_t[4]){ 93, 184, 0, 1 }, 4);
		n = dnsmsg_answer_finish(&a);
		from = v.upstream; /* v is overwritten by the call */
		if (dnsresolver_upstream(r, up, n, &from, 1, out, sizeof(out), &v) != 0 ||
		    v.action != DNSRESOLVER_REPLY)
			return 4;
	}
	printf("cache hits: %.0f queries/s\n", run(r, &qs, secs, DNSRESOLVER_REPLY));
	dnsresolver_free(r);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * filter_bench: what the packet filter costs per packet, and how that
 * depends on the number of rules. For 10, 1,000 and 10,000 rules shaped
 * like a compiled policy (each rule a few node addresses or a group of them
 * as sources, this node's addresses with a port range as destinations, some
 * rules from "*"), it times filter_match on random tuples (about half
 * accepted), the whole inbound path (parse + rules + flow lookup) on packet
 * bytes, the outbound flow update, and the compile. Results in
 * docs/BENCHMARKS.md.
 *
 *     build/bench/filter_bench [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "filter/conntrack.h"
#include "filter/filter.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Node k of a 10,000-node tailnet: 100.64.0.0/10 and the ULA. */
static void node_v4(unsigned k, char *out, size_t len)
{
	snprintf(out, len, "100.%u.%u.%u", 64 + (k >> 16), (k >> 8) & 255, k & 255);
}

/* The first source node of each rule (0 for the "*" ones), for tuples that match. */
static unsigned first_src[10000];

/* `nrules` rules for the node 100.64.0.1, ports 1000 + 6 * rule, three each. */
static json_t *make_rules(unsigned nrules)
{
	json_t *rules = json_array();
	char a[64];

	for (unsigned r = 0; r < nrules; r++) {
		json_t *src = json_array(), *dst = json_array(), *rule;
		unsigned nsrc = r % 10 == 0 ? 50 : 1 + r % 4;
		unsigned port = 1000 + 6 * r;

		first_src[r] = 0;

		if (r % 50 == 0) {
			json_array_append_new(src, json_string("100.64.0.0-100.115.91.255"));
			json_array_append_new(src, json_string("100.115.94.0-100.127.255.255"));
			json_array_append_new(src, json_string("fd7a:115c:a1e0::/48"));
		} else {
			for (unsigned k = 0; k < nsrc; k++) {
				unsigned node = (unsigned)(rnd() % 10000) + 2;

				if (k == 0)
					first_src[r] = node;
				node_v4(node, a, sizeof(a));
				json_array_append_new(src, json_string(a));
			}
		}
		json_array_append_new(dst, json_pack("{s:s, s:{s:i, s:i}}", "IP", "100.64.0.1",
						     "Ports", "First", port, "Last", port + 2));
		json_array_append_new(dst,
				      json_pack("{s:s, s:{s:i, s:i}}", "IP", "fd7a:115c:a1e0::1",
						"Ports", "First", port, "Last", port + 2));
		rule = json_pack("{s:o, s:o}", "SrcIPs", src, "DstPorts", dst);
		if (r % 3 == 0)
			json_object_set_new(rule, "IPProto", json_pack("[i]", 6));
		json_array_append_new(rules, rule);
	}
	return rules;
}

/* An IPv4 TCP SYN from node src to 100.64.0.1:port. */
static size_t make_syn(uint8_t *p, unsigned src, uint16_t port)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = 6;
	p[12] = 100;
	p[13] = (uint8_t)(64 + (src >> 16));
	p[14] = (uint8_t)(src >> 8);
	p[15] = (uint8_t)src;
	p[16] = 100;
	p[17] = 64;
	p[19] = 1;
	p[20] = 0x9c;
	p[21] = 0x40; /* sport 40000 */
	p[22] = (uint8_t)(port >> 8);
	p[23] = (uint8_t)port;
	p[32] = 5 << 4;
	p[33] = 0x02;
	return 40;
}

static void bench(unsigned nrules, unsigned iters)
{
	enum { NPKT = 4096 };
	static uint8_t pkts[NPKT][40];
	static struct filter_tuple tuples[NPKT];
	json_t *rules = make_rules(nrules);
	struct conntrack *ct;
	struct filter_err err;
	struct filter *f;
	struct filter_info in;
	double t0, t_compile, t_match, t_hot, t_in, t_out;
	unsigned accepted = 0;
	volatile unsigned sink = 0;

	t0 = now_s();
	if (filter_new(rules, &f, &err) < 0) {
		fprintf(stderr, "filter_new: %s\n", err.msg);
		exit(1);
	}
	t_compile = now_s() - t0;
	in = filter_get_info(f);
	if (conntrack_new(16384, &ct) < 0)
		exit(1);
	/* Tuples: a rule's port; half from one of its sources, half from any node. */
	for (unsigned i = 0; i < NPKT; i++) {
		unsigned r = (unsigned)(rnd() % nrules);
		unsigned src = rnd() % 2 && first_src[r] != 0 ? first_src[r] :
								(unsigned)(rnd() % 10000) + 2;
		uint16_t port = (uint16_t)(1000 + 6 * r + rnd() % 3);
		struct filter_pkt p;

		if (r % 3 == 0 && rnd() % 2)
			port = (uint16_t)(1000 + 6 * r + 4); /* between rules */
		make_syn(pkts[i], src, port);
		if (filter_pkt_parse(pkts[i], 40, &p) < 0)
			exit(1);
		tuples[i] = p.t;
		accepted += filter_match(f, &p.t);
	}
	t0 = now_s();
	for (unsigned it = 0; it < iters; it++)
		for (unsigned i = 0; i < NPKT; i++)
			sink += filter_match(f, &tuples[i]);
	t_match = (now_s() - t0) / ((double)iters * NPKT);
	/* One flow over and over: the cost with the filter's data in cache. */
	t0 = now_s();
	for (unsigned it = 0; it < iters; it++)
		for (unsigned i = 0; i < NPKT; i++)
			sink += filter_match(f, &tuples[it % 16]);
	t_hot = (now_s() - t0) / ((double)iters * NPKT);
	t0 = now_s();
	for (unsigned it = 0; it < iters; it++) {
		for (unsigned i = 0; i < NPKT; i++) {
			struct filter_pkt p;

			if (filter_pkt_parse(pkts[i], 40, &p) == 0)
				sink += filter_inbound(f, ct, &p, it);
		}
	}
	t_in = (now_s() - t0) / ((double)iters * NPKT);
	t0 = now_s();
	for (unsigned it = 0; it < iters; it++) {
		for (unsigned i = 0; i < NPKT; i++) {
			struct filter_pkt p;

			if (filter_pkt_parse(pkts[i], 40, &p) == 0)
				filter_outbound(f, ct, &p, it);
		}
	}
	t_out = (now_s() - t0) / ((double)iters * NPKT);
	printf("%6u rules: %6zu source prefixes, %5zu tables, %7zu port ranges, %8zu bytes, "
	       "compile %7.2f ms | match %5.1f ns (cached %4.1f) | inbound %5.1f ns | outbound "
	       "%5.1f ns | %4.1f%% accepted\n",
	       nrules, in.src_prefixes, in.tables, in.port_ranges, in.bytes, t_compile * 1e3,
	       t_match * 1e9, t_hot * 1e9, t_in * 1e9, t_out * 1e9, 100.0 * accepted / NPKT);
	(void)sink;
	conntrack_free(ct);
	filter_free(f);
	json_decref(rules);
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200;
	static const unsigned sizes[] = { 10, 100, 1000, 10000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench(sizes[i], iters);
	return 0;
}

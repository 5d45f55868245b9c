/* SPDX-License-Identifier: ISC */
/*
 * test_filter: the FilterRule decoder (accepted shapes, and every reject with
 * its message), matching case by case (sources, ranges, nesting, ports,
 * protocols, ICMP and port-less protocols), the packet parser (IPv4 options,
 * IPv6 extension headers, fragments, ICMP errors, truncations), the
 * inbound/outbound decisions with the flow table (replies, ICMP errors,
 * revocation), and a randomized differential test of filter_match against
 * tests/reference/filter_naive.
 */
#include "filter_naive.h"
#include "testutil.h"

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "json/jsonx.h"

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", s, e.text);
	return j;
}

static struct filter *compile(const char *s)
{
	struct filter_err err;
	struct filter *f = NULL;
	json_t *j = load(s);

	if (filter_new(j, &f, &err) < 0)
		fail_msg("filter_new(%s): %s", s, err.msg);
	json_decref(j);
	return f;
}

static void test_rejects(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{}", "expected an array" },
		{ "[1]", "[0]: expected object" },
		{ "[{\"SrcIPs\":[\"*\"],\"Foo\":1}]", "[0].Foo: unknown field" },
		{ "[{\"SrcIPs\":\"*\"}]", "[0].SrcIPs: expected array" },
		{ "[{\"SrcIPs\":[1]}]", "[0].SrcIPs[0]: expected string" },
		{ "[{\"SrcIPs\":[\"bogus\"]}]", "[0].SrcIPs[0]: `bogus': not" },
		{ "[{\"SrcIPs\":[\"10.0.0.0/33\"]}]", "[0].SrcIPs[0]" },
		{ "[{\"SrcIPs\":[\"10.0.0.9-10.0.0.1\"]}]", "ends before it starts" },
		{ "[{\"SrcIPs\":[\"10.0.0.1-fd7a::1\"]}]", "not an address range" },
		{ "[{\"SrcIPs\":[\"10.0.0.1-\"]}]", "not an address range" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\"}]}]",
		  "[0].DstPorts[0].Ports: required field missing" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"Ports\":{\"First\":1,\"Last\":2}}]}]",
		  "[0].DstPorts[0].IP: required field missing" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":5,\"Last\":"
		  "4}}]}]",
		  "First 5 is above Last 4" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":0,\"Last\":"
		  "65536}}]}]",
		  "Ports.Last: want a port number" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":-1,\"Last\":"
		  "2}}]}]",
		  "Ports.First: expected" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Bits\":32,\"Ports\":{\"First\":0,"
		  "\"Last\":2}}]}]",
		  "[0].DstPorts[0].Bits: unknown field" },
		{ "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"x\",\"Ports\":{\"First\":0,\"Last\":2}}]}"
		  "]",
		  "[0].DstPorts[0].IP: `x': not" },
		{ "[{\"SrcIPs\":[\"*\"],\"IPProto\":[256]}]", "[0].IPProto[0]: want a protocol" },
		{ "[{\"SrcIPs\":[\"*\"],\"IPProto\":[-1]}]", "[0].IPProto[0]: want a protocol" },
		{ "[{\"SrcIPs\":[\"*\"],\"IPProto\":[\"tcp\"]}]",
		  "[0].IPProto[0]: want a protocol" },
		{ "[{\"SrcIPs\":[\"*\"]},{\"SrcIPs\":[\"*\"],\"CapGrant\":{}}]",
		  "[1].CapGrant: expected array" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct filter_err err;
		struct filter *f = (struct filter *)1;
		json_t *j = load(cases[i].json);

		assert_int_equal(filter_new(j, &f, &err), -EINVAL);
		assert_null(f);
		if (strstr(err.msg, cases[i].want) == NULL)
			fail_msg("case %zu %s: error `%s' lacks `%s'", i, cases[i].json, err.msg,
				 cases[i].want);
		json_decref(j);
	}
}

static struct filter_tuple tup(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	struct filter_tuple t = { .proto = proto, .sport = 40000, .dport = dport };

	assert_int_equal(netaddr_parse(src, &t.src), 0);
	assert_int_equal(netaddr_parse(dst, &t.dst), 0);
	return t;
}

struct mcase {
	const char *src, *dst;
	uint8_t proto;
	uint16_t port;
	bool want;
};

static void run_matches(const char *rules, const struct mcase *c, size_t n)
{
	struct filter *f = compile(rules);
	json_t *j = load(rules);

	for (size_t i = 0; i < n; i++) {
		struct filter_tuple t = tup(c[i].src, c[i].dst, c[i].proto, c[i].port);

		if (filter_match(f, &t) != c[i].want)
			fail_msg("%s: %s -> %s proto %u port %u: want %s", rules, c[i].src,
				 c[i].dst, c[i].proto, c[i].port, c[i].want ? "accept" : "drop");
		assert_int_equal(filter_naive_match(j, &t), c[i].want);
	}
	json_decref(j);
	filter_free(f);
}

#define MATCHES(rules, cases) run_matches(rules, cases, sizeof(cases) / sizeof(cases[0]))

static void test_match(void **state)
{
	/* group:dev may reach tag:web on tcp/80: what a compiled policy gives the web node. */
	static const char web[] =
		"[{\"SrcIPs\":[\"100.64.0.1\",\"100.64.0.2\",\"fd7a:115c:a1e0::1\"],"
		"\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":80,\"Last\":80}},"
		"{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":80,\"Last\":80}}],"
		"\"IPProto\":[6]}]";
	static const struct mcase webc[] = {
		{ "100.64.0.1", "100.64.0.3", 6, 80, true },
		{ "100.64.0.2", "100.64.0.3", 6, 80, true },
		{ "100.64.0.1", "100.64.0.3", 6, 22, false },
		{ "100.64.0.1", "100.64.0.3", 6, 81, false },
		{ "100.64.0.1", "100.64.0.3", 17, 80, false },
		{ "100.64.0.1", "100.64.0.3", 1, 0, false }, /* IPProto [6]: no ICMP */
		{ "100.64.0.9", "100.64.0.3", 6, 80, false },
		{ "100.64.0.1", "100.64.0.4", 6, 80, false },
		{ "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::3", 6, 80, true },
		{ "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::3", 6, 80, false },
	};
	/* Tailscale's "*" source ranges, nested sources, default protocols, ICMP by address. */
	static const char nested[] =
		"[{\"SrcIPs\":[\"100.64.0.0-100.115.91.255\",\"100.115.94.0-100.127.255.255\","
		"\"fd7a:115c:a1e0::/48\"],"
		"\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":443,\"Last\":443}}]},"
		"{\"SrcIPs\":[\"100.64.0.7\"],"
		"\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":1000,\"Last\":2000}},"
		"{\"IP\":\"100.64.0.0/24\",\"Ports\":{\"First\":22,\"Last\":22}}]},"
		"{\"SrcIPs\":[\"100.64.0.0/16\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\","
		"\"Ports\":{\"First\":0,\"Last\":65535}}],\"IPProto\":[47]}]";
	static const struct mcase nestedc[] = {
		{ "100.64.0.7", "100.64.0.3", 6, 443, true },	 /* through the range */
		{ "100.115.92.1", "100.64.0.3", 6, 443, false }, /* the hole in "*" */
		{ "100.115.93.255", "100.64.0.3", 6, 443, false },
		{ "100.115.94.0", "100.64.0.3", 6, 443, true },
		{ "100.127.255.255", "100.64.0.3", 17, 443, true },
		{ "100.128.0.0", "100.64.0.3", 6, 443, false },
		{ "100.64.0.7", "100.64.0.3", 6, 1500, true }, /* the inner prefix's own rule */
		{ "100.64.0.8", "100.64.0.3", 6, 1500, false },
		{ "100.64.0.7", "100.64.0.9", 6, 22, true }, /* a destination prefix */
		{ "100.64.0.7", "100.64.1.9", 6, 22, false },
		{ "100.64.0.7", "100.64.0.3", 1, 0, true },  /* ICMP: any port of the rule */
		{ "100.64.0.8", "100.64.0.3", 1, 0, true },  /* ...via the 443 rule on "*" */
		{ "100.64.0.8", "100.64.0.3", 47, 0, true }, /* GRE: all ports open */
		{ "100.64.0.7", "100.64.0.9", 47, 0, false },
		{ "100.65.0.8", "100.64.0.3", 47, 0, false },
		{ "fd7a:115c:a1e0::5", "fd7a:115c:a1e0::6", 6, 443, true },
		{ "fd7a:115c:a1e0::5", "fd7a:115c:a1e0::6", 58, 0, true },
		{ "fd7a:115c:a1e0::5", "100.64.0.3", 6, 443, false }, /* mixed families */
		{ "fd7a:115c:a1e1::5", "fd7a:115c:a1e0::6", 6, 443, false },
	};
	/* Port lists merge; port-less protocols need an entry with every port. */
	static const char ports[] =
		"[{\"SrcIPs\":[\"*\"],\"DstPorts\":["
		"{\"IP\":\"10.0.0.1\",\"Ports\":{\"First\":0,\"Last\":100}},"
		"{\"IP\":\"10.0.0.1\",\"Ports\":{\"First\":101,\"Last\":65535}},"
		"{\"IP\":\"10.0.0.2\",\"Ports\":{\"First\":5,\"Last\":5}},"
		"{\"IP\":\"10.0.0.2\",\"Ports\":{\"First\":7,\"Last\":9}},"
		"{\"IP\":\"10.0.0.2\",\"Ports\":{\"First\":3,\"Last\":6}}],"
		"\"IPProto\":[6,17,132,50]}]";
	static const struct mcase portsc[] = {
		{ "1.2.3.4", "10.0.0.1", 6, 0, true },	 { "1.2.3.4", "10.0.0.1", 6, 65535, true },
		{ "1.2.3.4", "10.0.0.1", 50, 0, false }, /* ESP: no single entry opens all */
		{ "1.2.3.4", "10.0.0.2", 6, 2, false },	 { "1.2.3.4", "10.0.0.2", 6, 3, true },
		{ "1.2.3.4", "10.0.0.2", 17, 6, true },	 { "1.2.3.4", "10.0.0.2", 132, 7, true },
		{ "1.2.3.4", "10.0.0.2", 6, 9, true },	 { "1.2.3.4", "10.0.0.2", 6, 10, false },
		{ "1.2.3.4", "10.0.0.2", 1, 0, false }, /* ICMP not listed */
		{ "::1", "10.0.0.2", 6, 5, false },
	};
	static const char all[] = "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":"
				  "{\"First\":0,\"Last\":65535}}]}]";
	static const struct mcase allc[] = {
		{ "1.2.3.4", "5.6.7.8", 6, 1, true },
		{ "::", "ffff::1", 17, 65535, true },
		{ "1.2.3.4", "5.6.7.8", 47, 0, false }, /* default protocols only */
		{ "1.2.3.4", "5.6.7.8", 1, 0, true },
	};
	static const struct mcase nonec[] = {
		{ "1.2.3.4", "5.6.7.8", 6, 1, false },
	};
	/* A CapGrant rule affects no packet. */
	static const char cap[] =
		"[{\"SrcIPs\":[\"*\"],\"CapGrant\":[{\"Dsts\":[\"100.64.0.1/32\"],\"CapMap\":{}}]}]";

	MATCHES(web, webc);
	MATCHES(nested, nestedc);
	MATCHES(ports, portsc);
	MATCHES(all, allc);
	MATCHES("[]", nonec);
	MATCHES(cap, nonec);
}

static void test_info(void **state)
{
	struct filter *f = compile(
		"[{\"SrcIPs\":[\"100.64.0.1\",\"100.64.0.2\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\","
		"\"Ports\":{\"First\":80,\"Last\":80}}]},"
		"{\"SrcIPs\":[\"100.64.0.1\"],\"CapGrant\":[]},"
		"{\"SrcIPs\":[\"100.64.0.0-100.64.0.255\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\","
		"\"Ports\":{\"First\":22,\"Last\":22}}]}]");
	struct filter_info in = filter_get_info(f);

	assert_int_equal(in.rules, 3);
	assert_int_equal(in.cap_rules, 1);
	assert_int_equal(in.src_prefixes, 3); /* the two addresses and the /24 */
	assert_int_equal(in.tables, 2);	      /* both addresses list the same rule */
	assert_true(in.bytes > 0);
	assert_int_equal(json_array_size(filter_rules(f)), 3);
	filter_free(f);
}

/* ---- packets ----------------------------------------------------------------------------- */

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* An IPv4 packet with `l4` as its payload (options when ihl > 5). */
static size_t ip4(uint8_t *p, const char *src, const char *dst, uint8_t proto, const uint8_t *l4,
		  size_t l4len, unsigned ihl, uint16_t frag)
{
	struct netaddr s, d;

	assert_int_equal(netaddr_parse(src, &s), 0);
	assert_int_equal(netaddr_parse(dst, &d), 0);
	memset(p, 0, ihl * 4);
	p[0] = (uint8_t)(0x40 | ihl);
	put16(p + 2, (uint16_t)(ihl * 4 + l4len));
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, s.a, 4);
	memcpy(p + 16, d.a, 4);
	memcpy(p + ihl * 4, l4, l4len);
	return ihl * 4 + l4len;
}

static size_t ip6(uint8_t *p, const char *src, const char *dst, uint8_t nh, const uint8_t *rest,
		  size_t len)
{
	struct netaddr s, d;

	assert_int_equal(netaddr_parse(src, &s), 0);
	assert_int_equal(netaddr_parse(dst, &d), 0);
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)len);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, s.a, 16);
	memcpy(p + 24, d.a, 16);
	memcpy(p + 40, rest, len);
	return 40 + len;
}

static size_t tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	put16(p, sport);
	put16(p + 2, dport);
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

static size_t udp(uint8_t *p, uint16_t sport, uint16_t dport)
{
	memset(p, 0, 8);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, 8);
	return 8;
}

static size_t icmp(uint8_t *p, uint8_t type, uint16_t ident)
{
	memset(p, 0, 8);
	p[0] = type;
	put16(p + 4, ident);
	return 8;
}

static void test_parse(void **state)
{
	uint8_t pkt[512], l4[256], inner[128];
	struct filter_pkt fp;
	size_t n, m;

	/* IPv4 TCP with options. */
	m = tcp(l4, 40000, 80, 0x02);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 6, 0);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_NORMAL);
	assert_int_equal(fp.t.proto, 6);
	assert_int_equal(fp.t.sport, 40000);
	assert_int_equal(fp.t.dport, 80);
	assert_int_equal(fp.tcp_flags, 0x02);
	/* Trailing bytes past the total length are ignored; too few are refused. */
	assert_int_equal(filter_pkt_parse(pkt, n + 10, &fp), 0);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(filter_pkt_parse(pkt, cut, &fp), -EINVAL);
	pkt[0] = 0x44; /* IHL 4 */
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);
	pkt[0] = 0x56; /* version 5 */
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);

	/* A TCP data offset beyond the segment. */
	m = tcp(l4, 1, 2, 0x10);
	l4[12] = 15 << 4;
	n = ip4(pkt, "1.1.1.1", "2.2.2.2", 6, l4, m, 5, 0);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);

	/* Fragments: the first is parsed, later ones are only marked. */
	m = udp(l4, 5353, 53);
	n = ip4(pkt, "1.1.1.1", "2.2.2.2", 17, l4, m, 5, 0x2000);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_NORMAL);
	assert_int_equal(fp.t.dport, 53);
	n = ip4(pkt, "1.1.1.1", "2.2.2.2", 17, l4, 1, 5, 0x0010);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_FRAGMENT);

	/* ICMP echo carries its identifier as the source port. */
	m = icmp(l4, 8, 0x1234);
	n = ip4(pkt, "1.1.1.1", "2.2.2.2", 1, l4, m, 5, 0);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_true(fp.icmp_echo_req);
	assert_int_equal(fp.t.sport, 0x1234);
	assert_int_equal(filter_pkt_parse(pkt, n - 1, &fp), -EINVAL);

	/* An ICMP port unreachable about a UDP datagram we sent. */
	m = udp(l4, 40001, 53);
	m = ip4(inner, "100.64.0.1", "100.64.0.2", 17, l4, m, 5, 0);
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 3;
	memcpy(l4 + 8, inner, m);
	n = ip4(pkt, "100.64.0.2", "100.64.0.1", 1, l4, 8 + m, 5, 0);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_ICMP_ERROR);
	assert_int_equal(fp.inner.proto, 17);
	assert_int_equal(fp.inner.sport, 40001);
	assert_int_equal(fp.inner.dport, 53);
	/* ...quoting only part of the inner header is malformed. */
	n = ip4(pkt, "100.64.0.2", "100.64.0.1", 1, l4, 8 + 19, 5, 0);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);

	/* IPv6: hop-by-hop and destination options, then TCP. */
	memset(l4, 0, sizeof(l4));
	l4[0] = 60; /* next: dest opts */
	l4[1] = 0;  /* 8 bytes */
	l4[8] = 6;  /* next: TCP */
	l4[9] = 1;  /* 16 bytes */
	m = 8 + 16 + tcp(l4 + 24, 40000, 443, 0x12);
	n = ip6(pkt, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 0, l4, m);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.t.proto, 6);
	assert_int_equal(fp.t.dport, 443);
	assert_int_equal(fp.t.src.family, NETADDR_V6);
	for (size_t cut = 40; cut < n; cut++) {
		put16(pkt + 4, (uint16_t)(cut - 40));
		assert_int_equal(filter_pkt_parse(pkt, cut, &fp), -EINVAL);
	}
	/* IPv6 fragments. */
	memset(l4, 0, 8);
	l4[0] = 17;
	put16(l4 + 2, 0x0001); /* offset 0, more fragments */
	m = 8 + udp(l4 + 8, 1, 2);
	n = ip6(pkt, "::1", "::2", 44, l4, m);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_NORMAL);
	assert_int_equal(fp.t.proto, 17);
	put16(l4 + 2, 0x0008); /* offset 1 */
	n = ip6(pkt, "::1", "::2", 44, l4, 8);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_FRAGMENT);
	/* An endless chain of extension headers. */
	memset(l4, 0, 9 * 8);
	for (int i = 0; i < 9; i++)
		l4[i * 8] = 60;
	n = ip6(pkt, "::1", "::2", 60, l4, 9 * 8);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);
	/* ICMPv6 echo reply, and packet-too-big about a TCP segment. */
	m = icmp(l4, 129, 7);
	n = ip6(pkt, "::2", "::1", 58, l4, m);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_true(fp.icmp_echo_rep);
	assert_int_equal(fp.t.sport, 7);
	m = tcp(l4 + 128, 40000, 443, 0x10);
	m = ip6(inner, "::1", "::2", 6, l4 + 128, m);
	memset(l4, 0, 8);
	l4[0] = 2;
	memcpy(l4 + 8, inner, 48);
	n = ip6(pkt, "::9", "::1", 58, l4, 8 + 48);
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), 0);
	assert_int_equal(fp.kind, FILTER_PK_ICMP_ERROR);
	assert_int_equal(fp.inner.proto, 6);
	assert_int_equal(fp.inner.dport, 443);
	/* Neither version. */
	pkt[0] = 0x00;
	assert_int_equal(filter_pkt_parse(pkt, n, &fp), -EINVAL);
	assert_int_equal(filter_pkt_parse(pkt, 0, &fp), -EINVAL);
}

/* ---- decisions --------------------------------------------------------------------------- */

static enum filter_verdict in_pkt(const struct filter *f, struct conntrack *ct, const uint8_t *p,
				  size_t n, uint64_t now)
{
	struct filter_pkt fp;

	assert_int_equal(filter_pkt_parse(p, n, &fp), 0);
	return filter_inbound(f, ct, &fp, now);
}

static void out_pkt(const struct filter *f, struct conntrack *ct, const uint8_t *p, size_t n,
		    uint64_t now)
{
	struct filter_pkt fp;

	assert_int_equal(filter_pkt_parse(p, n, &fp), 0);
	filter_outbound(f, ct, &fp, now);
}

/* We are 100.64.0.3 (web); 100.64.0.1 (dev) may reach our tcp/80. */
#define WEB_RULES                                                             \
	"[{\"SrcIPs\":[\"100.64.0.1\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\"," \
	"\"Ports\":{\"First\":80,\"Last\":80}}],\"IPProto\":[6]}]"

static void test_inbound(void **state)
{
	struct filter *f = compile(WEB_RULES), *none = compile("[]");
	struct conntrack *ct;
	uint8_t pkt[256], l4[128], inner[64];
	size_t n, m;

	assert_int_equal(conntrack_new(64, &ct), 0);
	/* dev -> web:80 SYN accepted by the rule; dev -> web:22 dropped. */
	m = tcp(l4, 40000, 80, 0x02);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 10), FILTER_ACCEPT_RULE);
	/* Our SYN-ACK opens no flow... */
	m = tcp(l4, 80, 40000, 0x12);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 6, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 10);
	assert_int_equal(conntrack_get_stats(ct).flows, 0);
	/* ...so once access is revoked, the connection's next segment is dropped. */
	m = tcp(l4, 40000, 80, 0x10);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 11), FILTER_ACCEPT_RULE);
	assert_int_equal(in_pkt(none, ct, pkt, n, 11), FILTER_DROP_NO_RULE);
	m = tcp(l4, 40000, 22, 0x02);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 10), FILTER_DROP_NO_RULE);

	/* web -> dev:22: our SYN opens a flow, so dev's SYN-ACK and data come back. */
	m = tcp(l4, 50000, 22, 0x02);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 6, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 20);
	m = tcp(l4, 22, 50000, 0x12);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 21), FILTER_ACCEPT_FLOW);
	/* Not on another port, nor from another host. */
	m = tcp(l4, 22, 50001, 0x10);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 21), FILTER_DROP_NO_RULE);
	m = tcp(l4, 22, 50000, 0x10);
	n = ip4(pkt, "100.64.0.2", "100.64.0.3", 6, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 21), FILTER_DROP_NO_RULE);
	/* Established flows live long; after a FIN they wind down. */
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, tcp(l4, 22, 50000, 0x10), 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 21 + 3600), FILTER_ACCEPT_FLOW);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, tcp(l4, 22, 50000, 0x11), 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 22 + 3600), FILTER_ACCEPT_FLOW);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 6, l4, tcp(l4, 22, 50000, 0x10), 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 22 + 3600 + CONNTRACK_TCP_CLOSE_S),
			 FILTER_DROP_NO_RULE);

	/* UDP: a datagram we send opens a flow for 30 s, 120 s once answered. */
	m = udp(l4, 40002, 53);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 17, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 100);
	m = udp(l4, 53, 40002);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 17, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 100 + CONNTRACK_UDP_S - 1), FILTER_ACCEPT_FLOW);
	assert_int_equal(in_pkt(f, ct, pkt, n, 100 + CONNTRACK_UDP_S + 60), FILTER_ACCEPT_FLOW);
	assert_int_equal(
		in_pkt(f, ct, pkt, n, 100 + CONNTRACK_UDP_S + 61 + CONNTRACK_UDP_REPLIED_S),
		FILTER_DROP_NO_RULE);

	/* ICMP: our echo request lets its reply in; an unasked reply or request is dropped. */
	m = icmp(l4, 8, 77);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 1, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 200);
	m = icmp(l4, 0, 77);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 1, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 201), FILTER_ACCEPT_FLOW);
	m = icmp(l4, 0, 78);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 1, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 201), FILTER_DROP_NO_RULE);
	m = icmp(l4, 8, 77);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 1, l4, m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 201), FILTER_DROP_NO_RULE);

	/* ICMP errors: about our UDP flow, about our side of an allowed inbound one, or dropped. */
	m = udp(l4, 40003, 9999);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 17, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 300);
	m = ip4(inner, "100.64.0.3", "100.64.0.1", 17, l4, udp(l4, 40003, 9999), 5, 0);
	memset(l4, 0, 8);
	l4[0] = 3;
	l4[1] = 3;
	memcpy(l4 + 8, inner, m);
	n = ip4(pkt, "100.64.0.1", "100.64.0.3", 1, l4, 8 + m, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 301), FILTER_ACCEPT_ICMP_ERROR);
	assert_int_equal(in_pkt(f, ct, pkt, n, 301 + CONNTRACK_UDP_S), FILTER_DROP_ICMP_ERROR);
	m = ip4(inner, "100.64.0.3", "100.64.0.1", 6, l4 + 100, tcp(l4 + 100, 80, 40000, 0x12), 5,
		0);
	memcpy(l4 + 8, inner, 28);
	l4[0] = 11;
	n = ip4(pkt, "100.64.0.9", "100.64.0.3", 1, l4, 8 + 28, 5, 0);
	assert_int_equal(in_pkt(f, ct, pkt, n, 301), FILTER_ACCEPT_ICMP_ERROR);
	assert_int_equal(in_pkt(none, ct, pkt, n, 301), FILTER_DROP_ICMP_ERROR);

	/* A reply to an allowed inbound UDP flow opens nothing; without the rule it does. */
	filter_free(f);
	f = compile("[{\"SrcIPs\":[\"100.64.0.1\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\","
		    "\"Ports\":{\"First\":53,\"Last\":53}}],\"IPProto\":[17]}]");
	conntrack_clear(ct);
	m = udp(l4, 53, 41000);
	n = ip4(pkt, "100.64.0.3", "100.64.0.1", 17, l4, m, 5, 0);
	out_pkt(f, ct, pkt, n, 400);
	assert_int_equal(conntrack_get_stats(ct).flows, 0);
	out_pkt(none, ct, pkt, n, 400);
	assert_int_equal(conntrack_get_stats(ct).flows, 1);

	/* Later fragments pass (the first carried the ports); no filter accepts all. */
	n = ip4(pkt, "100.64.0.9", "100.64.0.3", 17, l4, 8, 5, 0x0020);
	assert_int_equal(in_pkt(none, ct, pkt, n, 500), FILTER_ACCEPT_FRAGMENT);
	n = ip4(pkt, "100.64.0.9", "100.64.0.3", 6, l4, tcp(l4, 1, 2, 0x02), 5, 0);
	assert_int_equal(in_pkt(NULL, ct, pkt, n, 500), FILTER_ACCEPT_RULE);

	for (int v = 0; v < FILTER_VERDICT_COUNT; v++)
		assert_non_null(filter_verdict_names[v]);
	assert_true(filter_verdict_accepts(FILTER_ACCEPT_FRAGMENT));
	assert_false(filter_verdict_accepts(FILTER_DROP_NO_RULE));
	conntrack_free(ct);
	filter_free(f);
	filter_free(none);
}

/* ---- randomized differential ------------------------------------------------------------- */

/* Addresses from small pools, so that rules and tuples meet often. */
static void rand_addr(uint64_t *rng, bool v6, char *out, size_t len)
{
	uint64_t r = tu_rng(rng);

	if (v6)
		snprintf(out, len, "fd7a:115c:a1e0::%x:%x", (unsigned)(r % 3),
			 (unsigned)((r >> 8) % 16));
	else
		snprintf(out, len, "100.64.%u.%u", (unsigned)(r % 3), (unsigned)((r >> 8) % 16));
}

static void rand_spec(uint64_t *rng, char *out, size_t len)
{
	char a[64], b[64];
	uint64_t r = tu_rng(rng);
	bool v6 = r & 1;

	rand_addr(rng, v6, a, sizeof(a));
	switch ((r >> 1) % 6) {
	case 0:
		snprintf(out, len, "*");
		break;
	case 1:
	case 2:
		snprintf(out, len, "%s", a);
		break;
	case 3:
		snprintf(out, len, "%s/%u", a,
			 v6 ? (unsigned)(112 + (r >> 8) % 17) : (unsigned)(20 + (r >> 8) % 13));
		break;
	default: {
		struct netaddr x, y;

		rand_addr(rng, v6, b, sizeof(b));
		assert_int_equal(netaddr_parse(a, &x), 0);
		assert_int_equal(netaddr_parse(b, &y), 0);
		if (netaddr_cmp(&x, &y) > 0)
			snprintf(out, len, "%s-%s", b, a);
		else
			snprintf(out, len, "%s-%s", a, b);
	}
	}
}

static json_t *rand_rules(uint64_t *rng)
{
	static const int protos[] = { 6, 17, 1, 58, 132, 47 };
	json_t *rules = json_array();
	size_t nr = 1 + tu_rng(rng) % 12;

	for (size_t i = 0; i < nr; i++) {
		json_t *r = json_object(), *src = json_array(), *dst = json_array();
		size_t ns = 1 + tu_rng(rng) % 4, nd = 1 + tu_rng(rng) % 4;
		char spec[128];

		for (size_t k = 0; k < ns; k++) {
			rand_spec(rng, spec, sizeof(spec));
			json_array_append_new(src, json_string(spec));
		}
		for (size_t k = 0; k < nd; k++) {
			uint64_t x = tu_rng(rng);
			unsigned lo = (unsigned)(x % 100), hi = lo + (unsigned)((x >> 8) % 50);

			if ((x >> 16) % 5 == 0) {
				lo = 0;
				hi = 65535;
			}
			rand_spec(rng, spec, sizeof(spec));
			json_array_append_new(dst, json_pack("{s:s, s:{s:i, s:i}}", "IP", spec,
							     "Ports", "First", lo, "Last", hi));
		}
		json_object_set_new(r, "SrcIPs", src);
		json_object_set_new(r, "DstPorts", dst);
		if (tu_rng(rng) % 2) {
			json_t *pr = json_array();
			size_t np = 1 + tu_rng(rng) % 3;

			for (size_t k = 0; k < np; k++)
				json_array_append_new(pr, json_integer(protos[tu_rng(rng) % 6]));
			json_object_set_new(r, "IPProto", pr);
		}
		json_array_append_new(rules, r);
	}
	return rules;
}

static void test_differential(void **state)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 132, 47, 50 };
	uint64_t rng = 0x5eed5eedULL;
	size_t accepted = 0, total = 0;

	for (int round = 0; round < 300; round++) {
		json_t *rules = rand_rules(&rng);
		struct filter_err err;
		struct filter *f;

		if (filter_new(rules, &f, &err) < 0)
			fail_msg("round %d: %s", round, err.msg);
		for (int q = 0; q < 300; q++) {
			char a[64], b[64];
			bool v6 = tu_rng(&rng) & 1;
			struct filter_tuple t;

			rand_addr(&rng, v6, a, sizeof(a));
			rand_addr(&rng, v6, b, sizeof(b));
			t = tup(a, b, protos[tu_rng(&rng) % 7], (uint16_t)(tu_rng(&rng) % 160));
			accepted += filter_naive_match(rules, &t);
			total++;
			if (filter_match(f, &t) != filter_naive_match(rules, &t)) {
				char *s = json_dumps(rules, JSON_COMPACT);

				fail_msg(
					"round %d: %s -> %s proto %u port %u: filter %d, naive %d; "
					"rules %s",
					round, a, b, t.proto, t.dport, filter_match(f, &t),
					filter_naive_match(rules, &t), s);
			}
		}
		filter_free(f);
		json_decref(rules);
	}
	/* Both verdicts are common, or the comparison would prove little. */
	assert_true(accepted > total / 10 && accepted < total * 9 / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects), cmocka_unit_test(test_match),
		cmocka_unit_test(test_info),	cmocka_unit_test(test_parse),
		cmocka_unit_test(test_inbound), cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

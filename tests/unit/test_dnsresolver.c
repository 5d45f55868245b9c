/* SPDX-License-Identifier: ISC */
/*
 * test_dnsresolver: the MagicDNS responder on a real network map: a table of
 * queries and the answer each must get (names, bare names, PTR, extra
 * records, NXDOMAIN vs NODATA, empty non-terminals, split routes by longest
 * suffix, default upstreams, refused classes and types), malformed queries,
 * and forwarding driven by a fake clock: ID and source matching against
 * spoofed replies, caching with TTL decrement and RFC 2308 negative answers,
 * retries across upstreams, timeouts, failover, a full table, truncation.
 */
#include <errno.h>

#include "core/buf.h"
#include "dns/dnscache.h"
#include "dns/dnsmsg.h"
#include "dns/dnsresolver.h"
#include "dns/dnstable.h"
#include "dns/resolved.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "testutil.h"

#define SEC 1000000000ULL

static void put_node(struct buf_writer *w, uint64_t id, const char *name, const char *a4,
		     const char *a6)
{
	struct netmap_node n;
	struct netprefix addrs[2];

	memset(&n, 0, sizeof(n));
	n.id = id;
	n.name = (char *)name;
	n.hostname = (char *)"h";
	n.os = (char *)"linux";
	n.user = 1;
	memset(n.key.b, (int)id, sizeof(n.key.b));
	n.n_addresses = 0;
	assert_int_equal(netprefix_parse(a4, &addrs[n.n_addresses++]), 0);
	if (a6 != NULL)
		assert_int_equal(netprefix_parse(a6, &addrs[n.n_addresses++]), 0);
	n.addresses = addrs;
	n.allowed_ips = addrs;
	n.n_allowed_ips = n.n_addresses;
	assert_int_equal(netmap_node_write(w, &n), 0);
}

static const char dns_json[] =
	"{\"MagicDNS\":true,\"BaseDomain\":\"ts.example\","
	"\"Nameservers\":[\"1.1.1.1\",\"[2606:4700::1111]:53\",\"https://dns.example/q\",\"100.100.100.100\"],"
	"\"SplitDNS\":{\"corp.example\":[\"10.0.0.53\"],\"lab.ts.example\":[\"10.0.0.54:5353\"]},"
	"\"SearchDomains\":[\"corp.example\",\"ts.example\"],"
	"\"ExtraRecords\":[{\"Name\":\"grafana.ts.example\",\"Type\":\"A\",\"Value\":\"100.64.0.9\"},"
	"{\"Name\":\"deep.a.b.ts.example\",\"Type\":\"AAAA\",\"Value\":\"fd7a:115c:a1e0::9\"},"
	"{\"Name\":\"x.ts.example\",\"Type\":\"TXT\",\"Value\":\"hi\"},"
	"{\"Name\":\"db.internal\",\"Type\":\"A\",\"Value\":\"10.1.2.3\"}]}";

static struct netmap *mkmap(const char *dns)
{
	struct buf_writer w;
	struct jsonx_err err;
	struct netmap *nm;
	json_t *v;

	buf_writer_growable(&w, 1 << 20);
	buf_put_str(&w, "{\"Type\":\"full\",\"Self\":");
	put_node(&w, 1, "self.ts.example.", "100.64.0.1/32", "fd7a:115c:a1e0::1/128");
	buf_put_str(&w, ",\"Peers\":[");
	put_node(&w, 2, "alpha.ts.example.", "100.64.0.2/32", "fd7a:115c:a1e0::2/128");
	buf_put_u8(&w, ',');
	put_node(&w, 3, "beta.ts.example.", "100.64.0.3/32", NULL);
	buf_printf(&w, "],\"Domain\":\"ts.example\",\"DNS\":%s}", dns);
	assert_false(w.err);
	if (jsonx_load(w.p, w.len, &v, &err) < 0)
		fail_msg("%s", err.msg);
	if (netmap_new_from_full(v, &nm, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(v);
	buf_writer_free(&w);
	return nm;
}

static struct dnstable *mktable(struct dnstable_report *rep)
{
	struct netmap *nm = mkmap(dns_json);
	struct netendpoint os;
	struct dnstable *t;

	assert_int_equal(netendpoint_parse("192.168.1.1:53", &os), 0);
	assert_int_equal(dnstable_from_netmap(nm, &os, 1, &t, rep), 0);
	netmap_free(nm);
	return t;
}

static struct dnsresolver *mkresolver(size_t max_outstanding)
{
	struct dnsresolver_config cfg;
	struct dnsresolver *r;

	dnsresolver_config_default(&cfg);
	if (max_outstanding > 0)
		cfg.max_outstanding = max_outstanding;
	assert_int_equal(dnsresolver_new(&cfg, &r), 0);
	dnsresolver_set_table(r, mktable(NULL));
	return r;
}

static size_t mkquery(uint8_t *out, const char *name, uint16_t type, uint16_t id, bool edns,
		      bool dnssec_ok)
{
	struct dnsmsg_question q;
	int n;

	assert_int_equal(dnsmsg_name_from_text(name, &q.name), 0);
	q.type = type;
	q.qclass = DNSMSG_C_IN;
	n = dnsmsg_query_build(out, 512, id, DNSMSG_F_RD, &q, edns, 4096, dnssec_ok);
	assert_true(n > 0);
	return (size_t)n;
}

static const struct dnsresolver_client client = {
	.ep = { .addr = { .family = NETADDR_V4, .a = { 100, 64, 0, 1 } }, .port = 40000 },
	.tag = 7,
	.transport = DNSRESOLVER_UDP,
};

static void ask(struct dnsresolver *r, const uint8_t *m, size_t n, uint64_t now, uint8_t *out,
		struct dnsresolver_verdict *v)
{
	assert_int_equal(dnsresolver_query(r, m, n, &client, now, out, 4096, v), 0);
}

static void reply_of(const uint8_t *out, const struct dnsresolver_verdict *v,
		     struct dnsmsg_reply *rp)
{
	enum dnsmsg_status s;

	assert_int_equal(v->action, DNSRESOLVER_REPLY);
	if ((s = dnsmsg_reply_parse(out, v->len, rp)) != DNSMSG_OK)
		fail_msg("reply does not parse: %s", dnsmsg_status_str(s));
}

/* The first answer's RDATA as text (A, AAAA, PTR). */
static const char *rdata_text(const uint8_t *m, size_t len)
{
	static char buf[DNSMSG_TEXT_MAX];
	size_t off = DNSMSG_HDR_LEN;
	uint16_t type, rdlen;
	struct netaddr a;

	assert_int_equal(dnsmsg_name_read(m, len, &off, NULL), DNSMSG_OK);
	off += 4;
	assert_int_equal(dnsmsg_name_read(m, len, &off, NULL), DNSMSG_OK);
	type = buf_load_be16(m + off);
	rdlen = buf_load_be16(m + off + 8);
	off += 10;
	if (type == DNSMSG_T_A || type == DNSMSG_T_AAAA) {
		if (rdlen == 4)
			netaddr_from_v4(&a, m + off);
		else
			netaddr_from_v6(&a, m + off);
		return netaddr_format(&a, buf, sizeof(buf));
	}
	if (type == DNSMSG_T_PTR) {
		struct dnsmsg_name n;
		assert_int_equal(dnsmsg_name_read(m, off + rdlen, &off, &n), DNSMSG_OK);
		return dnsmsg_name_to_text(&n, buf, sizeof(buf));
	}
	return "?";
}

enum { R = DNSRESOLVER_REPLY, F = DNSRESOLVER_FORWARD };

static const struct {
	const char *name;
	uint16_t type;
	int action;
	unsigned rcode;	  /* REPLY */
	unsigned answers; /* REPLY */
	const char *want; /* first answer, or the upstream for FORWARD */
} cases[] = {
	{ "alpha.ts.example", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "100.64.0.2" },
	{ "ALPHA.Ts.Example.", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "100.64.0.2" },
	{ "alpha", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "100.64.0.2" },
	{ "alpha.ts.example", DNSMSG_T_AAAA, R, DNSMSG_R_NOERROR, 1, "fd7a:115c:a1e0::2" },
	{ "self.ts.example", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "100.64.0.1" },
	{ "beta", DNSMSG_T_AAAA, R, DNSMSG_R_NOERROR, 0, NULL }, /* NODATA: only an A */
	{ "beta.ts.example", DNSMSG_T_AAAA, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "beta.ts.example", DNSMSG_T_MX, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "beta.ts.example", DNSMSG_T_ANY, R, DNSMSG_R_NOERROR, 1, "100.64.0.3" },
	{ "alpha.ts.example", DNSMSG_T_ANY, R, DNSMSG_R_NOERROR, 2, NULL },
	{ "nobody.ts.example", DNSMSG_T_A, R, DNSMSG_R_NXDOMAIN, 0, NULL },
	{ "x.ts.example", DNSMSG_T_TXT, R, DNSMSG_R_NXDOMAIN, 0, NULL }, /* its TXT was skipped */
	{ "sub.alpha.ts.example", DNSMSG_T_A, R, DNSMSG_R_NXDOMAIN, 0, NULL },
	{ "ts.example", DNSMSG_T_SOA, R, DNSMSG_R_NOERROR, 0, NULL }, /* the apex exists */
	{ "b.ts.example", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 0, NULL }, /* empty non-terminal */
	{ "a.b.ts.example", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "deep.a.b.ts.example", DNSMSG_T_AAAA, R, DNSMSG_R_NOERROR, 1, "fd7a:115c:a1e0::9" },
	{ "grafana.ts.example", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "100.64.0.9" },
	{ "db.internal", DNSMSG_T_A, R, DNSMSG_R_NOERROR, 1, "10.1.2.3" },
	{ "db.internal", DNSMSG_T_AAAA, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "x.db.internal", DNSMSG_T_A, F, 0, 0, "1.1.1.1:53" }, /* only the exact name is ours */
	{ "2.0.64.100.in-addr.arpa", DNSMSG_T_PTR, R, DNSMSG_R_NOERROR, 1, "alpha.ts.example." },
	{ "99.0.64.100.in-addr.arpa", DNSMSG_T_PTR, R, DNSMSG_R_NXDOMAIN, 0, NULL },
	{ "1.1.127.100.in-addr.arpa", DNSMSG_T_PTR, R, DNSMSG_R_NXDOMAIN, 0, NULL },
	{ "0.64.100.in-addr.arpa", DNSMSG_T_PTR, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "64.100.in-addr.arpa", DNSMSG_T_SOA, R, DNSMSG_R_NOERROR, 0, NULL },
	{ "1.1.128.100.in-addr.arpa", DNSMSG_T_PTR, F, 0, 0, "1.1.1.1:53" }, /* outside /10 */
	{ "1.0.0.10.in-addr.arpa", DNSMSG_T_PTR, F, 0, 0, "1.1.1.1:53" },
	{ "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa", DNSMSG_T_PTR,
	  R, DNSMSG_R_NOERROR, 1, "alpha.ts.example." },
	{ "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa", DNSMSG_T_PTR,
	  R, DNSMSG_R_NXDOMAIN, 0, NULL },
	{ "host.corp.example", DNSMSG_T_A, F, 0, 0, "10.0.0.53:53" },
	{ "corp.example", DNSMSG_T_MX, F, 0, 0, "10.0.0.53:53" },
	{ "x.lab.ts.example", DNSMSG_T_A, F, 0, 0, "10.0.0.54:5353" }, /* longer than ts.example */
	{ "example.com", DNSMSG_T_A, F, 0, 0, "1.1.1.1:53" },
	{ "localhost", DNSMSG_T_A, F, 0, 0, "1.1.1.1:53" },
	{ "ts.example", DNSMSG_T_AXFR, R, DNSMSG_R_NOTIMP, 0, NULL },
	{ "example.com", DNSMSG_T_IXFR, R, DNSMSG_R_NOTIMP, 0, NULL },
};

static void test_answers(void **state)
{
	struct dnsresolver *r = mkresolver(0);
	uint8_t m[512], out[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dnsresolver_verdict v;
		struct dnsmsg_reply rp;
		size_t n =
			mkquery(m, cases[i].name, cases[i].type, (uint16_t)(100 + i), true, false);
		char ep[NETENDPOINT_STRLEN];

		ask(r, m, n, 0, out, &v);
		if ((int)v.action != cases[i].action)
			fail_msg("%s/%u: action %d, want %d", cases[i].name, cases[i].type,
				 v.action, cases[i].action);
		if (v.action == DNSRESOLVER_FORWARD) {
			assert_string_equal(netendpoint_format(&v.upstream, ep, sizeof(ep)),
					    cases[i].want);
			continue;
		}
		reply_of(out, &v, &rp);
		assert_int_equal(rp.h.id, 100 + i);
		if (rp.rcode != cases[i].rcode || rp.h.ancount != cases[i].answers)
			fail_msg("%s/%u: rcode %u with %u answers, want %u with %u", cases[i].name,
				 cases[i].type, rp.rcode, rp.h.ancount, cases[i].rcode,
				 cases[i].answers);
		assert_true(rp.edns.present);
		if (rp.rcode == DNSMSG_R_NOERROR || rp.rcode == DNSMSG_R_NXDOMAIN)
			assert_true(rp.h.flags & DNSMSG_F_AA);
		if (cases[i].want != NULL)
			assert_string_equal(rdata_text(out, v.len), cases[i].want);
		if (rp.h.ancount > 0)
			assert_int_equal(rp.min_ttl, 600);
	}
	dnsresolver_free(r);
}

static void test_table(void **state)
{
	struct dnstable_report rep;
	struct dnstable *t = mktable(&rep);
	struct dnstable_upstreams d = dnstable_default(t);
	char ep[NETENDPOINT_STRLEN];
	struct resolved_link rs;
	struct resolved_input in = { .ifname = "weft0", .accept_dns = true };
	static struct resolved_script sc;
	char text[8192];

	(void)state;
	/* DoH, a TXT extra record and quad-100 itself were skipped, and said so. */
	assert_int_equal(rep.skipped, 3);
	assert_non_null(strstr(rep.first, "x.ts.example"));
	assert_true(dnstable_magic_dns(t));
	assert_string_equal(dnstable_base_domain(t), "ts.example");
	assert_int_equal(dnstable_search_count(t), 2); /* base domain first, duplicates dropped */
	assert_string_equal(dnstable_search_at(t, 0), "ts.example");
	assert_string_equal(dnstable_search_at(t, 1), "corp.example");
	assert_true(dnstable_overrides_os(t));
	assert_int_equal(d.n, 2);
	assert_string_equal(netendpoint_format(&d.v[1], ep, sizeof(ep)), "[2606:4700::1111]:53");
	/* base + 64 IPv4 reverse zones + the ULA reverse zone + 2 split routes */
	assert_int_equal(dnstable_route_count(t), 1 + 64 + 1 + 2);
	/* systemd-resolved: search domains, every route as ~domain, ~. since the map overrides. */
	in.table = t;
	assert_int_equal(resolved_plan(&in, &rs), 0);
	assert_int_equal(rs.action, RESOLVED_SET);
	assert_true(rs.default_route);
	assert_int_equal(rs.n_domains, 2 + 1 + 64 + 1 + 1);
	assert_string_equal(rs.domains[0].name, "ts.example");
	assert_false(rs.domains[0].route_only);
	assert_string_equal(rs.domains[rs.n_domains - 1].name, ".");
	assert_true(rs.domains[rs.n_domains - 1].route_only);
	assert_int_equal(resolved_script_build(&rs, "/usr/bin/resolvectl", &sc), 0);
	assert_true(resolved_script_text(&sc, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "resolvectl dns weft0 100.100.100.100\n"));
	assert_non_null(strstr(
		text, "resolvectl domain weft0 ts.example corp.example ~64.100.in-addr.arpa"));
	assert_non_null(strstr(text, " ~lab.ts.example ~.\n"));
	assert_non_null(strstr(text, "~0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"));
	assert_non_null(strstr(text, "resolvectl default-route weft0 yes\n"));
	dnstable_free(t);

	/* Without global nameservers the host's are the default, and resolved routes only ours. */
	{
		struct netmap *nm = mkmap("{\"MagicDNS\":true,\"BaseDomain\":\"ts.example\"}");
		struct netendpoint os[2];
		assert_int_equal(netendpoint_parse("192.168.1.1:53", &os[0]), 0);
		assert_int_equal(netendpoint_parse("100.100.100.100:53", &os[1]),
				 0); /* a loop: dropped */
		assert_int_equal(dnstable_from_netmap(nm, os, 2, &t, &rep), 0);
		netmap_free(nm);
		d = dnstable_default(t);
		assert_int_equal(d.n, 1);
		assert_string_equal(netendpoint_format(&d.v[0], ep, sizeof(ep)), "192.168.1.1:53");
		assert_false(dnstable_overrides_os(t));
		in.table = t;
		assert_int_equal(resolved_plan(&in, &rs), 0);
		assert_false(rs.default_route);
		assert_int_equal(rs.n_domains, 1 + 64 + 1);
		dnstable_free(t);
	}
	/* MagicDNS off: no names, no local zones, only forwarding. */
	{
		struct netmap *nm = mkmap("{\"MagicDNS\":false,\"BaseDomain\":\"ts.example\","
					  "\"Nameservers\":[\"9.9.9.9\"]}");
		struct dnstable_result res;
		struct dnsmsg_name n;
		assert_int_equal(dnstable_from_netmap(nm, NULL, 0, &t, NULL), 0);
		netmap_free(nm);
		assert_int_equal(dnstable_name_count(t), 0);
		assert_int_equal(dnstable_route_count(t), 0);
		assert_int_equal(dnsmsg_name_from_text("alpha.ts.example", &n), 0);
		assert_int_equal(dnstable_lookup(t, &n, &res), DNSTABLE_FORWARD);
		dnstable_free(t);
	}
	/* No map at all and no host nameservers: nobody to ask. */
	{
		struct dnstable_result res;
		struct dnsmsg_name n;
		assert_int_equal(dnstable_from_netmap(NULL, NULL, 0, &t, NULL), 0);
		assert_int_equal(dnsmsg_name_from_text("example.com", &n), 0);
		assert_int_equal(dnstable_lookup(t, &n, &res), DNSTABLE_NO_UPSTREAM);
		dnstable_free(t);
	}
}

/* Raw queries the responder must drop or refuse. */
static const struct {
	const char *what, *hex;
	int action;
	unsigned rcode;
} bad[] = {
	{ "too short for a header", "0001 0100 0001", DNSRESOLVER_DROP, 0 },
	{ "a response", "0001 8100 0001 0000 0000 0000 016100 00010001", DNSRESOLVER_DROP, 0 },
	{ "opcode STATUS", "0001 1100 0001 0000 0000 0000 016100 00010001", R, DNSMSG_R_NOTIMP },
	{ "opcode UPDATE with records",
	  "0001 2800 0001 0001 0000 0000 016100 00060001 c00c00010001000000000000", R,
	  DNSMSG_R_NOTIMP },
	{ "trailing garbage", "0001 0100 0001 0000 0000 0000 016100 00010001 ff", R,
	  DNSMSG_R_FORMERR },
	{ "pointer loop", "0001 0100 0001 0000 0000 0000 c00c 00010001", R, DNSMSG_R_FORMERR },
	{ "no question", "0001 0100 0000 0000 0000 0000", R, DNSMSG_R_FORMERR },
	{ "qtype OPT", "0001 0100 0001 0000 0000 0000 016100 00290001", R, DNSMSG_R_FORMERR },
	{ "EDNS version 1", "0001 0100 0001 0000 0000 0001 016100 00010001 0000291000000100000000",
	  R, DNSMSG_R_BADVERS },
	{ "class CHAOS", "0001 0100 0001 0000 0000 0000 0776657273696f6e0462696e6400 00100003", R,
	  DNSMSG_R_REFUSED },
};

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	for (const char *p = hex; p[0] != '\0';) {
		unsigned v;
		if (*p == ' ') {
			p++;
			continue;
		}
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

static void test_bad_queries(void **state)
{
	struct dnsresolver *r = mkresolver(0);
	uint8_t m[512], out[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dnsresolver_verdict v;
		struct dnsmsg_reply rp;
		size_t n = unhex(m, bad[i].hex);

		ask(r, m, n, 0, out, &v);
		if ((int)v.action != bad[i].action)
			fail_msg("%s: action %d, want %d", bad[i].what, v.action, bad[i].action);
		if (v.action != DNSRESOLVER_REPLY)
			continue;
		reply_of(out, &v, &rp);
		if (rp.rcode != bad[i].rcode)
			fail_msg("%s: rcode %u, want %u", bad[i].what, rp.rcode, bad[i].rcode);
		assert_int_equal(rp.h.id, 1);
		if (bad[i].rcode == DNSMSG_R_FORMERR)
			assert_false(rp.edns.present);
	}
	const struct dnsresolver_counters *c = dnsresolver_counters(r);
	assert_int_equal(c->drop_short, 1);
	assert_int_equal(c->drop_not_query, 1);
	assert_int_equal(c->notimp, 2);
	assert_int_equal(c->formerr, 4);
	assert_int_equal(c->badvers, 1);
	assert_int_equal(c->refused, 1);
	assert_int_equal(dnsresolver_query(r, m, 12, &client, 0, out, 100,
					   &(struct dnsresolver_verdict){ 0 }),
			 -EINVAL);
	dnsresolver_free(r);
}

/* What an upstream answers to the query we forwarded: `n_a` A records or an rcode, with an SOA. */
static size_t upstream_answer(const uint8_t *fwd, size_t flen, uint8_t *out, unsigned rcode,
			      unsigned n_a, uint32_t ttl, bool soa, bool tc)
{
	struct dnsmsg_query q;
	struct dnsmsg_answer a;
	size_t n;

	assert_int_equal(dnsmsg_query_parse(fwd, flen, &q), DNSMSG_OK);
	assert_int_equal(dnsmsg_answer_begin(&a, out, 4096, 4096, &q, 0, rcode, 1232), 0);
	for (unsigned i = 0; i < n_a; i++)
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, ttl,
				  (uint8_t[4]){ 93, 184, (uint8_t)(i >> 8), (uint8_t)i }, 4);
	if (soa) {
		/* root-named MNAME and RNAME, serial..minimum = 1,2,3,4,60 */
		static const uint8_t rd[22] = { 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0,
						0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 60 };
		dnsmsg_answer_add(&a, DNSMSG_AUTHORITY, DNSMSG_T_SOA, 900, rd, sizeof(rd));
	}
	n = dnsmsg_answer_finish(&a);
	if (tc)
		out[2] |= DNSMSG_F_TC >> 8;
	return n;
}

static struct netendpoint ep(const char *s)
{
	struct netendpoint e;

	assert_int_equal(netendpoint_parse(s, &e), 0);
	return e;
}

static void test_forward_and_cache(void **state)
{
	struct dnsresolver *r = mkresolver(0);
	uint8_t m[512], fwd[4096], up[4096], out[4096];
	struct dnsresolver_verdict v;
	struct dnsmsg_reply rp;
	struct dnsmsg_query fq;
	struct netendpoint one = ep("1.1.1.1:53"), nine = ep("9.9.9.9:53"),
			   port = ep("1.1.1.1:5353");
	size_t n, fl, ul;
	uint64_t t0 = 1000 * SEC;

	(void)state;
	n = mkquery(m, "Example.COM", DNSMSG_T_A, 0x4242, false, false);
	ask(r, m, n, t0, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_true(netendpoint_eq(&v.upstream, &one));
	fl = v.len;
	/* What goes upstream: a fresh ID, RD, EDNS0 with our size, the client's spelling. */
	assert_int_equal(dnsmsg_query_parse(fwd, fl, &fq), DNSMSG_OK);
	assert_true(fq.h.flags & DNSMSG_F_RD);
	assert_true(fq.edns.present);
	assert_int_equal(fq.edns.udp_size, 1232);
	assert_string_equal(dnsmsg_name_to_text(&fq.q.name, (char[64]){ 0 }, 64), "Example.COM.");
	assert_int_equal(dnsresolver_outstanding(r), 1);

	ul = upstream_answer(fwd, fl, up, DNSMSG_R_NOERROR, 1, 300, false, false);
	/* Spoofs: another source, another ID, another question. */
	assert_int_equal(dnsresolver_upstream(r, up, ul, &nine, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &port, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP);
	up[0] ^= 0x55;
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP);
	up[0] ^= 0x55;
	up[13] = 'f'; /* "fxample" */
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP);
	up[13] = 'E';
	assert_int_equal(dnsresolver_upstream(r, up, ul - 1, &one, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP); /* malformed */
	assert_int_equal(dnsresolver_counters(r)->upstream_unmatched, 4);
	assert_int_equal(dnsresolver_counters(r)->upstream_bad, 1);
	/* The real one. */
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0 + SEC / 10, out, sizeof(out), &v),
			 0);
	reply_of(out, &v, &rp);
	assert_int_equal(v.client.tag, 7);
	assert_int_equal(rp.h.id, 0x4242);
	assert_int_equal(rp.h.ancount, 1);
	assert_int_equal(rp.min_ttl, 300);
	assert_false(rp.edns.present); /* the client sent no OPT */
	assert_int_equal(dnsresolver_outstanding(r), 0);
	/* A replay of the same reply matches nothing now. */
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_DROP);

	/* 100 s later: from the cache, TTL lowered, the new client's ID and spelling. */
	n = mkquery(m, "example.com", DNSMSG_T_A, 0x5151, true, false);
	ask(r, m, n, t0 + 100 * SEC, out, &v);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.h.id, 0x5151);
	assert_int_equal(rp.min_ttl, 201); /* answered at t0 + 0.1 s: 99 whole seconds old */
	assert_true(rp.edns.present);
	assert_int_equal(dnsresolver_counters(r)->cache_hits, 1);
	/* With DO it is another question. */
	n = mkquery(m, "example.com", DNSMSG_T_A, 0x5152, true, true);
	ask(r, m, n, t0 + 100 * SEC, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_int_equal(dnsmsg_query_parse(fwd, v.len, &fq), DNSMSG_OK);
	assert_true(fq.edns.flags & DNSMSG_EDNS_DO);
	/* After the TTL it is asked again. */
	n = mkquery(m, "example.com", DNSMSG_T_A, 0x5153, false, false);
	ask(r, m, n, t0 + 301 * SEC, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);

	/* NXDOMAIN with an SOA is kept for min(900, 60) s; without one it is not kept. */
	n = mkquery(m, "gone.example.com", DNSMSG_T_A, 1, false, false);
	ask(r, m, n, t0, fwd, &v);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NXDOMAIN, 0, 0, true, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.rcode, DNSMSG_R_NXDOMAIN);
	ask(r, m, n, t0 + 59 * SEC, out, &v);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.rcode, DNSMSG_R_NXDOMAIN);
	assert_int_equal(rp.soa_ttl, 1);
	ask(r, m, n, t0 + 60 * SEC, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NXDOMAIN, 0, 0, false, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	ask(r, m, n, t0 + 61 * SEC, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);

	/* A large answer: cut with TC for a client without EDNS0, whole over TCP. */
	n = mkquery(m, "big.example.com", DNSMSG_T_A, 2, false, false);
	ask(r, m, n, t0, fwd, &v);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NOERROR, 60, 300, false, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	reply_of(out, &v, &rp);
	assert_true(rp.h.flags & DNSMSG_F_TC);
	assert_int_equal(rp.h.ancount, 0);
	assert_true(v.len <= 512);
	{
		struct dnsresolver_client tcp = client;
		tcp.transport = DNSRESOLVER_TCP;
		assert_int_equal(dnsresolver_query(r, m, n, &tcp, t0 + SEC, out, sizeof(out), &v),
				 0);
		reply_of(out, &v, &rp); /* from the cache */
		assert_false(rp.h.flags & DNSMSG_F_TC);
		assert_int_equal(rp.h.ancount, 60);
		assert_int_equal(v.client.transport, DNSRESOLVER_TCP);
	}
	/* An upstream's TC is passed on and not kept. */
	n = mkquery(m, "tc.example.com", DNSMSG_T_A, 3, false, false);
	ask(r, m, n, t0, fwd, &v);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NOERROR, 0, 300, false, true);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, out, sizeof(out), &v), 0);
	reply_of(out, &v, &rp);
	assert_true(rp.h.flags & DNSMSG_F_TC);
	ask(r, m, n, t0, fwd, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);

	/* A new table with the same upstreams keeps the cache; other upstreams flush it. */
	n = mkquery(m, "example.com", DNSMSG_T_A, 9, false, false);
	ask(r, m, n, t0 + 302 * SEC, fwd, &v);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NOERROR, 1, 300, false, false);
	assert_int_equal(
		dnsresolver_upstream(r, up, ul, &one, t0 + 302 * SEC, out, sizeof(out), &v), 0);
	dnsresolver_set_table(r, mktable(NULL));
	ask(r, m, n, t0 + 303 * SEC, out, &v);
	assert_int_equal(v.action, DNSRESOLVER_REPLY);
	{
		struct netmap *nm = mkmap("{\"MagicDNS\":true,\"Nameservers\":[\"9.9.9.9\"]}");
		struct dnstable *t;
		assert_int_equal(dnstable_from_netmap(nm, NULL, 0, &t, NULL), 0);
		netmap_free(nm);
		dnsresolver_set_table(r, t);
	}
	ask(r, m, n, t0 + 303 * SEC, out, &v);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_true(netendpoint_eq(&v.upstream, &nine));
	dnsresolver_set_table(r, NULL);
	ask(r, m, n, t0, out, &v);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.rcode, DNSMSG_R_SERVFAIL);
	dnsresolver_free(r);
}

static void test_retry_timeout_failover(void **state)
{
	struct dnsresolver *r = mkresolver(0);
	uint8_t m[512], fwd[4096], up[4096], out[4096];
	struct dnsresolver_verdict v;
	struct dnsmsg_reply rp;
	struct netendpoint one = ep("1.1.1.1:53"), two = ep("[2606:4700::1111]:53");
	size_t n, ul;
	uint64_t t0 = 5 * SEC;

	(void)state;
	n = mkquery(m, "slow.example.com", DNSMSG_T_A, 77, true, false);
	ask(r, m, n, t0, fwd, &v);
	assert_true(netendpoint_eq(&v.upstream, &one));
	assert_int_equal(dnsresolver_next_deadline(r), t0 + SEC);
	assert_false(dnsresolver_expire(r, t0 + SEC - 1, out, sizeof(out), &v));
	assert_true(dnsresolver_expire(r, t0 + SEC, fwd, sizeof(fwd), &v));
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_true(netendpoint_eq(&v.upstream, &two));
	assert_false(dnsresolver_expire(r, t0 + SEC, out, sizeof(out), &v));
	assert_true(dnsresolver_expire(r, t0 + 2 * SEC, out, sizeof(out), &v));
	assert_true(netendpoint_eq(&v.upstream, &one));
	assert_true(dnsresolver_expire(r, t0 + 3 * SEC, out, sizeof(out), &v));
	assert_true(netendpoint_eq(&v.upstream, &two));
	/* A late answer from the first server still counts (same ID). */
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_NOERROR, 1, 30, false, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0 + 3 * SEC, out, sizeof(out), &v),
			 0);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.h.id, 77);

	/* No answer at all: SERVFAIL at 4 s, then nothing is left. */
	n = mkquery(m, "dead.example.com", DNSMSG_T_A, 78, true, false);
	ask(r, m, n, t0, fwd, &v);
	for (uint64_t t = t0; t < t0 + 4 * SEC; t += SEC / 4)
		while (dnsresolver_expire(r, t, out, sizeof(out), &v))
			assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_true(dnsresolver_expire(r, t0 + 4 * SEC, out, sizeof(out), &v));
	reply_of(out, &v, &rp);
	assert_int_equal(rp.rcode, DNSMSG_R_SERVFAIL);
	assert_int_equal(rp.h.id, 78);
	assert_int_equal(dnsresolver_outstanding(r), 0);
	assert_int_equal(dnsresolver_next_deadline(r), UINT64_MAX);
	assert_int_equal(dnsresolver_counters(r)->upstream_timeouts, 1);

	/* SERVFAIL from the first: the second is asked; its answer goes to the client. */
	n = mkquery(m, "flaky.example.com", DNSMSG_T_A, 79, true, false);
	ask(r, m, n, t0, fwd, &v);
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_SERVFAIL, 0, 0, false, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &one, t0, fwd, sizeof(fwd), &v), 0);
	assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	assert_true(netendpoint_eq(&v.upstream, &two));
	ul = upstream_answer(fwd, v.len, up, DNSMSG_R_SERVFAIL, 0, 0, false, false);
	assert_int_equal(dnsresolver_upstream(r, up, ul, &two, t0, out, sizeof(out), &v), 0);
	reply_of(out, &v, &rp); /* both failed: the client hears it */
	assert_int_equal(rp.rcode, DNSMSG_R_SERVFAIL);
	assert_int_equal(dnsresolver_counters(r)->upstream_failover, 1);
	dnsresolver_free(r);
}

static void test_table_full_and_ids(void **state)
{
	struct dnsresolver *r = mkresolver(4);
	uint8_t m[512], out[4096];
	struct dnsresolver_verdict v;
	struct dnsmsg_reply rp;
	size_t n;

	(void)state;
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "q%d.example.com", i);
		n = mkquery(m, name, DNSMSG_T_A, 1, false, false);
		ask(r, m, n, 0, out, &v);
		assert_int_equal(v.action, DNSRESOLVER_FORWARD);
	}
	n = mkquery(m, "q4.example.com", DNSMSG_T_A, 1, false, false);
	ask(r, m, n, 0, out, &v);
	reply_of(out, &v, &rp);
	assert_int_equal(rp.rcode, DNSMSG_R_SERVFAIL);
	assert_int_equal(dnsresolver_counters(r)->fwd_full, 1);
	dnsresolver_free(r);

	/* 1000 queries in flight: 1000 distinct IDs, unrelated to the clients' (all 1). */
	r = mkresolver(1000);
	{
		static uint8_t seen[65536];
		size_t distinct = 0;
		memset(seen, 0, sizeof(seen));
		for (int i = 0; i < 1000; i++) {
			char name[32];
			snprintf(name, sizeof(name), "q%d.example.com", i);
			n = mkquery(m, name, DNSMSG_T_A, 1, false, false);
			ask(r, m, n, 0, out, &v);
			assert_int_equal(v.action, DNSRESOLVER_FORWARD);
			uint16_t id = buf_load_be16(out);
			assert_int_equal(seen[id], 0);
			seen[id] = 1;
			distinct++;
		}
		assert_int_equal(distinct, 1000);
		assert_int_equal(dnsresolver_outstanding(r), 1000);
	}
	dnsresolver_free(r);
}

static void test_cache_bounds(void **state)
{
	struct dnscache *c;
	struct dnscache_stats st;
	uint8_t m[512];
	size_t n;
	struct dnsmsg_reply rp;
	struct dnsmsg_query q;
	struct dnsmsg_answer a;
	struct dnscache_key k;
	uint32_t age;

	(void)state;
	assert_int_equal(dnscache_new(3, 1 << 20, &c), 0);
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%d.example", i);
		n = mkquery(m, name, DNSMSG_T_A, 1, false, false);
		assert_int_equal(dnsmsg_query_parse(m, n, &q), DNSMSG_OK);
		assert_int_equal(dnsmsg_answer_begin(&a, m, sizeof(m), 512, &q, 0, 0, 0), 0);
		dnsmsg_answer_add(&a, DNSMSG_ANSWER, DNSMSG_T_A, 100, (uint8_t[4]){ 1, 2, 3, 4 },
				  4);
		n = dnsmsg_answer_finish(&a);
		assert_int_equal(dnsmsg_reply_parse(m, n, &rp), DNSMSG_OK);
		dnscache_key_make(&k, &q.q, false, false);
		assert_int_equal(dnscache_put(c, &k, m, &rp, 0), 1);
		if (i == 2) { /* touch n0: n1, then n2 are the oldest */
			struct dnsmsg_question q0;
			assert_int_equal(dnsmsg_name_from_text("N0.EXAMPLE", &q0.name), 0);
			q0.type = DNSMSG_T_A;
			q0.qclass = DNSMSG_C_IN;
			dnscache_key_make(&k, &q0, false, false);
			assert_non_null(dnscache_get(c, &k, 0, &age));
		}
	}
	dnscache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 2);
	{
		static const char *const kept[] = { "n0.example", "n3.example", "n4.example" };
		static const char *const gone[] = { "n1.example", "n2.example" };
		struct dnsmsg_question qq = { .type = DNSMSG_T_A, .qclass = DNSMSG_C_IN };
		for (int i = 0; i < 3; i++) {
			assert_int_equal(dnsmsg_name_from_text(kept[i], &qq.name), 0);
			dnscache_key_make(&k, &qq, false, false);
			assert_non_null(dnscache_get(c, &k, 99 * SEC, &age));
			assert_int_equal(age, 99);
		}
		for (int i = 0; i < 2; i++) {
			assert_int_equal(dnsmsg_name_from_text(gone[i], &qq.name), 0);
			dnscache_key_make(&k, &qq, false, false);
			assert_null(dnscache_get(c, &k, 0, &age));
		}
		assert_int_equal(dnsmsg_name_from_text("n0.example", &qq.name), 0);
		dnscache_key_make(&k, &qq, false, false);
		assert_null(dnscache_get(c, &k, 100 * SEC, &age)); /* expired */
	}
	/* TTL rules. */
	memset(&rp, 0, sizeof(rp));
	rp.has_question = true;
	rp.h.ancount = 1;
	rp.min_ttl = 999999;
	assert_int_equal(dnscache_ttl(&rp), DNSCACHE_MAX_TTL);
	rp.h.ancount = 0;
	assert_int_equal(dnscache_ttl(&rp), 0); /* NODATA without SOA */
	rp.has_soa = true;
	rp.soa_ttl = 7200;
	assert_int_equal(dnscache_ttl(&rp), DNSCACHE_MAX_NEG_TTL);
	rp.rcode = DNSMSG_R_SERVFAIL;
	assert_int_equal(dnscache_ttl(&rp), 0);
	dnscache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_queries),
		cmocka_unit_test(test_forward_and_cache),
		cmocka_unit_test(test_retry_timeout_failover),
		cmocka_unit_test(test_table_full_and_ids),
		cmocka_unit_test(test_cache_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * test_resolved: what weft asks of systemd-resolved, from tables built as a
 * network map would build them: MagicDNS on and off, split and search
 * domains, global nameservers overriding the host's (~. and the default
 * route), revert (--accept-dns off, no map, nothing to route), the IPv6
 * server, names resolvectl would misread, the domain limit, and the exact
 * resolvectl argv lists and their text.
 */
#include "dns/dnstable.h"
#include "dns/resolved.h"
#include "testutil.h"

struct tcfg {
	const char *base; /* MagicDNS on with this base domain; NULL = off */
	const char *split[4];
	const char *search[4];
	bool global;
};

static struct dnstable *mk(const struct tcfg *c)
{
	static char ns1[] = "10.0.0.53", g1[] = "9.9.9.9";
	char *split_ns[] = { ns1 }, *global_ns[] = { g1 };
	struct netendpoint os;
	struct dnstable_builder *b;
	struct dnstable *t;

	assert_int_equal(dnstable_builder_new(&b), 0);
	if (c->base != NULL)
		assert_int_equal(dnstable_builder_magic(b, c->base), 0);
	for (size_t i = 0; i < 4 && c->split[i] != NULL; i++)
		assert_int_equal(dnstable_builder_route(b, c->split[i], split_ns, 1), 0);
	for (size_t i = 0; i < 4 && c->search[i] != NULL; i++)
		assert_int_equal(dnstable_builder_search(b, c->search[i]), 0);
	if (c->global)
		assert_int_equal(dnstable_builder_global(b, global_ns, 1), 0);
	assert_int_equal(netendpoint_parse("192.168.1.1:53", &os), 0);
	assert_int_equal(dnstable_builder_os(b, &os, 1), 0);
	assert_int_equal(dnstable_builder_finish(b, &t, NULL), 0);
	return t;
}

static struct resolved_link link_; /* 40 KiB: not on the stack */

static const struct resolved_link *plan(const struct tcfg *c, bool v6)
{
	struct dnstable *t = mk(c);
	struct resolved_input in = {
		.table = t, .ifname = "weft0", .accept_dns = true, .self_ipv6 = v6
	};

	assert_int_equal(resolved_plan(&in, &link_), 0);
	dnstable_free(t);
	return &link_;
}

/* The domains as resolvectl takes them, space-separated. */
static const char *domains(const struct resolved_link *l)
{
	static char buf[RESOLVED_MAX_DOMAINS * (RESOLVED_DOMAIN_MAX + 2)];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n_domains; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s", i > 0 ? " " : "",
				      l->domains[i].route_only ? "~" : "", l->domains[i].name);
	return buf;
}

static bool has(const struct resolved_link *l, const char *d, bool route_only)
{
	for (size_t i = 0; i < l->n_domains; i++)
		if (strcmp(l->domains[i].name, d) == 0)
			return l->domains[i].route_only == route_only;
	return false;
}

static void test_magic_on(void **s)
{
	const struct tcfg c = { .base = "TS.Example." };
	const struct resolved_link *l = plan(&c, false);
	char a[NETADDR_STRLEN];

	(void)s;
	assert_int_equal(l->action, RESOLVED_SET);
	assert_string_equal(l->ifname, "weft0");
	assert_int_equal(l->n_dns, 1);
	assert_string_equal(netaddr_format(&l->dns[0], a, sizeof(a)), "100.100.100.100");
	/* The base domain is searched (so `ping alpha` works) and routes; then the reverse zones.
	 */
	assert_string_equal(l->domains[0].name, "ts.example");
	assert_false(l->domains[0].route_only);
	assert_true(has(l, "64.100.in-addr.arpa", true));
	assert_true(has(l, "127.100.in-addr.arpa", true));
	assert_true(has(l, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa", true));
	assert_int_equal(l->n_domains, 1 + 64 + 1);
	/* The host's other names stay with the host's links. */
	assert_false(l->default_route);
	assert_false(has(l, ".", true));
	assert_int_equal(l->skipped, 0);

	/* With a tailnet IPv6 address the IPv6 twin is listed too. */
	l = plan(&c, true);
	assert_int_equal(l->n_dns, 2);
	assert_string_equal(netaddr_format(&l->dns[1], a, sizeof(a)), "fd7a:115c:a1e0::53");
}

static void test_magic_off(void **s)
{
	const struct tcfg off = { 0 };
	const struct tcfg split = { .split = { "corp.example" } };
	const struct resolved_link *l = plan(&off, false);

	(void)s;
	/* Nothing for the host to send us: the link is given back. */
	assert_int_equal(l->action, RESOLVED_REVERT);
	assert_non_null(strstr(l->why, "MagicDNS is off"));
	assert_int_equal(l->n_dns, 0);
	/* Split DNS alone: only that domain comes to us, no reverse zones, no base domain. */
	l = plan(&split, false);
	assert_int_equal(l->action, RESOLVED_SET);
	assert_string_equal(domains(l), "~corp.example");
	assert_false(l->default_route);
}

static void test_split_search(void **s)
{
	const struct tcfg c = {
		.base = "ts.example",
		.split = { "corp.example", "Lab.TS.example", "lan.example" },
		.search = { "lan.example", "other.example" },
	};
	const struct resolved_link *l = plan(&c, false);

	(void)s;
	assert_int_equal(l->action, RESOLVED_SET);
	/* Search domains first, plain, in order (base domain leading); ... */
	assert_string_equal(l->domains[0].name, "ts.example");
	assert_string_equal(l->domains[1].name, "lan.example");
	assert_string_equal(l->domains[2].name, "other.example");
	assert_false(l->domains[1].route_only || l->domains[2].route_only);
	/* ... split domains routing-only, and one that is also searched stays plain (it routes). */
	assert_true(has(l, "corp.example", true));
	assert_true(has(l, "lab.ts.example", true));
	assert_true(has(l, "lan.example", false));
	assert_int_equal(l->n_domains, 3 + 2 + 64 + 1);
	assert_false(l->default_route);
}

static void test_override(void **s)
{
	const struct tcfg magic = { .base = "ts.example",
				    .split = { "corp.example" },
				    .global = true };
	const struct tcfg only = { .global = true };
	const struct resolved_link *l = plan(&magic, false);

	(void)s;
	/* The server's nameservers replace the host's: every name comes to us. */
	assert_int_equal(l->action, RESOLVED_SET);
	assert_true(l->default_route);
	assert_string_equal(l->domains[l->n_domains - 1].name, ".");
	assert_true(l->domains[l->n_domains - 1].route_only);
	assert_true(has(l, "corp.example", true));
	/* Global nameservers and nothing else is still something to route. */
	l = plan(&only, false);
	assert_int_equal(l->action, RESOLVED_SET);
	assert_string_equal(domains(l), "~.");
	assert_true(l->default_route);
}

static void test_revert(void **s)
{
	const struct tcfg c = { .base = "ts.example" };
	struct dnstable *t = mk(&c);
	struct resolved_input in = { .table = t, .ifname = "weft0", .accept_dns = false };

	(void)s;
	assert_int_equal(resolved_plan(&in, &link_), 0);
	assert_int_equal(link_.action, RESOLVED_REVERT);
	assert_string_equal(link_.why, "--accept-dns is off");
	assert_string_equal(link_.ifname, "weft0");
	in.accept_dns = true;
	in.table = NULL;
	assert_int_equal(resolved_plan(&in, &link_), 0);
	assert_int_equal(link_.action, RESOLVED_REVERT);
	assert_string_equal(link_.why, "no network map");
	dnstable_free(t);
}

static void test_rejects(void **s)
{
	/* Names resolvectl could take as an option, an ifindex, or that no kernel allows. */
	static const char *const bad[] = { "",	  "-weft0",	      "12", "weft 0", "weft0;x",
					   "a/b", "abcdefghijklmnop", NULL };
	struct resolved_input in = { .accept_dns = true };
	const struct tcfg c = { .base = "ts.example", .split = { "a-b_c.example" } };
	struct dnstable *t = mk(&c);
	struct dnstable_builder *b;

	(void)s;
	for (size_t i = 0; bad[i] != NULL; i++) {
		in.ifname = bad[i];
		assert_int_equal(resolved_plan(&in, &link_), -EINVAL);
	}
	in.ifname = NULL;
	assert_int_equal(resolved_plan(&in, &link_), -EINVAL);
	in.ifname = "tailscale0.1";
	in.table = t;
	assert_int_equal(resolved_plan(&in, &link_), 0);
	assert_true(has(&link_, "a-b_c.example", true));
	dnstable_free(t);

	/* A domain that is not hostname-shaped is left out (and counted), not passed on. */
	assert_int_equal(dnstable_builder_new(&b), 0);
	assert_int_equal(dnstable_builder_search(b, "ok.example"), 0);
	assert_int_equal(dnstable_builder_search(b, "we!rd.example"), 0); /* DNS allows it */
	assert_int_equal(dnstable_builder_finish(b, &t, NULL), 0);
	in.table = t;
	assert_int_equal(resolved_plan(&in, &link_), 0);
	assert_string_equal(domains(&link_), "ok.example");
	assert_int_equal(link_.skipped, 1);
	dnstable_free(t);
}

static void test_limit(void **s)
{
	static char ns1[] = "10.0.0.53", g1[] = "9.9.9.9";
	char *v[] = { ns1 }, *gv[] = { g1 }, d[64];
	struct dnstable_builder *b;
	struct dnstable *t;
	struct resolved_input in = { .ifname = "weft0", .accept_dns = true };

	(void)s;
	assert_int_equal(dnstable_builder_new(&b), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(d, sizeof(d), "d%d.example", i);
		assert_int_equal(dnstable_builder_route(b, d, v, 1), 0);
	}
	assert_int_equal(dnstable_builder_global(b, gv, 1), 0);
	assert_int_equal(dnstable_builder_finish(b, &t, NULL), 0);
	in.table = t;
	assert_int_equal(resolved_plan(&in, &link_), 0);
	assert_int_equal(link_.n_domains, RESOLVED_MAX_DOMAINS);
	assert_int_equal(link_.skipped, 200 - (RESOLVED_MAX_DOMAINS - 1));
	/* "~." is kept whatever else had to go. */
	assert_string_equal(link_.domains[RESOLVED_MAX_DOMAINS - 1].name, ".");
	assert_true(link_.default_route);
	dnstable_free(t);
}

static void assert_argv(const char *const *argv, const char *const *want)
{
	size_t i = 0;

	for (; want[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

static void test_script(void **s)
{
	static struct resolved_script sc;
	static struct resolved_link other;
	const struct tcfg c = { .split = { "corp.example" },
				.search = { "lan.example" },
				.global = true };
	const struct resolved_link *l = plan(&c, true);
	char text[2048];
	int n;

	(void)s;
	assert_int_equal(resolved_script_build(l, "/usr/bin/resolvectl", &sc), 0);
	assert_int_equal(sc.n, 6);
	assert_argv(sc.argv[0],
		    (const char *const[]){ "/usr/bin/resolvectl", "--", "dns", "weft0",
					   "100.100.100.100", "fd7a:115c:a1e0::53", NULL });
	assert_argv(sc.argv[1],
		    (const char *const[]){ "/usr/bin/resolvectl", "--", "domain", "weft0",
					   "lan.example", "~corp.example", "~.", NULL });
	assert_argv(sc.argv[2], (const char *const[]){ "/usr/bin/resolvectl", "--", "default-route",
						       "weft0", "yes", NULL });
	assert_argv(sc.argv[3], (const char *const[]){ "/usr/bin/resolvectl", "--", "llmnr",
						       "weft0", "no", NULL });
	assert_argv(sc.argv[4], (const char *const[]){ "/usr/bin/resolvectl", "--", "mdns", "weft0",
						       "no", NULL });
	assert_argv(sc.argv[5],
		    (const char *const[]){ "/usr/bin/resolvectl", "--", "flush-caches", NULL });
	n = resolved_script_text(&sc, text, sizeof(text));
	assert_int_equal(n, (int)strlen(text));
	assert_string_equal(text, "resolvectl dns weft0 100.100.100.100 fd7a:115c:a1e0::53\n"
				  "resolvectl domain weft0 lan.example ~corp.example ~.\n"
				  "resolvectl default-route weft0 yes\n"
				  "resolvectl llmnr weft0 no\n"
				  "resolvectl mdns weft0 no\n"
				  "resolvectl flush-caches\n");
	assert_int_equal(resolved_script_text(&sc, text, 20), -ENOSPC);
	assert_int_equal(resolved_script_text(&sc, text, 0), -ENOSPC);

	/* Equal plans are equal; any change in servers, domains or default route is not. */
	other = *l;
	assert_true(resolved_link_equal(l, &other));
	other.domains[0].route_only = true;
	assert_false(resolved_link_equal(l, &other));
	other = *l;
	other.n_dns = 1;
	assert_false(resolved_link_equal(l, &other));
	other = *l;
	other.default_route = false;
	assert_false(resolved_link_equal(l, &other));

	/* Revert is one command. */
	other.action = RESOLVED_REVERT;
	assert_int_equal(resolved_script_build(&other, "resolvectl", &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_argv(sc.argv[0],
		    (const char *const[]){ "resolvectl", "--", "revert", "weft0", NULL });
	/* A SET with nothing in it would make resolvectl print instead of set: refused. */
	other = *l;
	other.n_domains = 0;
	assert_int_equal(resolved_script_build(&other, "resolvectl", &sc), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magic_on),     cmocka_unit_test(test_magic_off),
		cmocka_unit_test(test_split_search), cmocka_unit_test(test_override),
		cmocka_unit_test(test_revert),	     cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_limit),	     cmocka_unit_test(test_script),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: ISC */
/*
 * test_cli_output: what weft prints, from local API JSON: the status table and its
 * connection column in every state, backend-state messages and exit codes, names and
 * owners, durations, pong lines, whois, profiles, and finding a node by what users type.
 */
#include "testutil.h"
#include "weft/cli.h"
#include "weft/output.h"

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (j == NULL)
		fail_msg("bad test JSON at %d: %s", e.position, e.text);
	return j;
}

/* The status of docs/LOCALAPI.md, with more peers. */
static const char status_json[] =
	"{\"Version\":\"0.1.0\",\"BackendState\":\"Running\",\"AuthURL\":\"\","
	"\"TailscaleIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\"],"
	"\"Self\":{\"ID\":\"1\",\"PublicKey\":\"nodekey:01\",\"HostName\":\"spark\","
	"\"DNSName\":\"spark.tail.example.\",\"OS\":\"linux\",\"UserID\":1,"
	"\"TailscaleIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\"],\"Tags\":[],\"Online\":true,"
	"\"Active\":false,\"CurAddr\":\"\",\"Relay\":\"\",\"RxBytes\":0,\"TxBytes\":0,"
	"\"LastSeen\":\"2027-01-15T07:59:00Z\"},"
	"\"Health\":[],\"MagicDNSSuffix\":\"tail.example\","
	"\"Peer\":{"
	"\"nodekey:02\":{\"ID\":\"2\",\"PublicKey\":\"nodekey:02\",\"HostName\":\"gw\","
	"\"DNSName\":\"gw.tail.example.\",\"OS\":\"linux\",\"UserID\":1,"
	"\"TailscaleIPs\":[\"100.64.0.2\",\"fd7a:115c:a1e0::2\"],\"Tags\":[\"tag:gw\"],"
	"\"Online\":true,\"Active\":true,\"CurAddr\":\"192.0.2.2:41641\",\"Relay\":\"\","
	"\"RxBytes\":12345,\"TxBytes\":6789,\"LastSeen\":\"2027-01-15T07:59:00Z\"},"
	"\"nodekey:03\":{\"ID\":\"3\",\"PublicKey\":\"nodekey:03\",\"HostName\":\"db\","
	"\"DNSName\":\"db.tail.example.\",\"OS\":\"freebsd\",\"UserID\":2,"
	"\"TailscaleIPs\":[\"100.64.0.3\"],\"Tags\":[],\"Online\":false,\"Active\":false,"
	"\"CurAddr\":\"\",\"Relay\":\"fra\",\"RxBytes\":0,\"TxBytes\":0,"
	"\"LastSeen\":\"2027-01-15T05:00:00Z\"},"
	"\"nodekey:04\":{\"ID\":\"4\",\"PublicKey\":\"nodekey:04\",\"HostName\":\"laptop\","
	"\"DNSName\":\"\",\"OS\":\"macOS\",\"UserID\":3,"
	"\"TailscaleIPs\":[\"100.64.0.4\"],\"Tags\":[],\"Online\":true,\"Active\":true,"
	"\"CurAddr\":\"\",\"Relay\":\"nyc\",\"RxBytes\":10,\"TxBytes\":20,"
	"\"LastSeen\":\"2027-01-15T07:59:00Z\"}},"
	"\"User\":{\"1\":{\"ID\":1,\"LoginName\":\"ops@example.com\",\"DisplayName\":\"ops\"},"
	"\"2\":{\"ID\":2,\"LoginName\":\"dba\",\"DisplayName\":\"dba\"}}}";

static char *render(const json_t *st, struct cli_status_opts o, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	*rc = cli_out_status(fp, st, &o, NOW);
	fclose(fp);
	return buf;
}

static void test_status_table(void **state)
{
	json_t *st = J(status_json);
	struct cli_status_opts all = { .self = true, .peers = true };
	int rc;
	char *out = render(st, all, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	/* Self first, then peers by DNS name (the one without uses its host name). */
	assert_string_equal(
		out,
		"100.64.0.1      spark                ops@         linux   -\n"
		"100.64.0.3      db                   dba          freebsd offline, last seen 3h ago\n"
		"100.64.0.2      gw                   tagged-devices linux   active; direct 192.0.2.2:41641, tx 6789 rx 12345\n"
		"100.64.0.4      (\"laptop\")           3            macOS   active; relay \"nyc\", tx 20 rx 10\n");
	free(out);

	out = render(st, (struct cli_status_opts){ .self = false, .peers = true, .active = true },
		     &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "spark"));
	assert_null(strstr(out, "db "));
	assert_non_null(strstr(out, "gw"));
	assert_non_null(strstr(out, "laptop"));
	free(out);

	out = render(st, (struct cli_status_opts){ .self = true, .peers = false }, &rc);
	assert_string_equal(out, "100.64.0.1      spark                ops@         linux   -\n");
	free(out);

	json_object_set_new(st, "Health", J("[\"control: cannot log in\"]"));
	out = render(st, all, &rc);
	assert_non_null(strstr(out, "\n# Health check:\n#     - control: cannot log in\n"));
	free(out);
	json_decref(st);
}

static void test_status_states(void **state)
{
	static const struct {
		const char *json;
		int rc;
		const char *out;
	} cases[] = {
		{ "{\"BackendState\":\"NeedsLogin\",\"AuthURL\":\"\"}", 1, "Logged out.\n" },
		{ "{\"BackendState\":\"NeedsLogin\",\"AuthURL\":\"http://ctl/register/ab\"}", 1,
		  "Logged out.\n\nLog in at: http://ctl/register/ab\n" },
		{ "{\"BackendState\":\"Stopped\"}", 1, "Weft is stopped.\n" },
		{ "{\"BackendState\":\"Stopped\",\"Health\":[\"auth key expired\"]}", 1,
		  "Weft is stopped.\n\n# Health check:\n#     - auth key expired\n" },
		{ "{\"BackendState\":\"NeedsMachineAuth\"}", 1,
		  "Machine is not yet approved by tailnet admin.\n" },
		{ "{\"BackendState\":\"NoState\"}", 1, "unexpected state: NoState\n" },
		{ "{}", 1, "unexpected state: (none)\n" },
		{ "{\"BackendState\":\"Starting\",\"Self\":null}", 0,
		  "Weft is starting: no network map from the server yet.\n" },
		{ "{\"BackendState\":\"Running\",\"Self\":null,\"Peer\":{}}", 0, "" },
		/* hostile shapes print what they can and never crash */
		{ "{\"BackendState\":\"Running\",\"Self\":[],\"Peer\":[1,2]}", 0, "" },
		{ "{\"BackendState\":\"Running\",\"Peer\":{\"k\":7,\"j\":{}}}", 0,
		  "                (\"\")                 -                    offline\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *st = J(cases[i].json);
		int rc;
		char *out =
			render(st, (struct cli_status_opts){ .self = true, .peers = true }, &rc);
		if (rc != cases[i].rc || strcmp(out, cases[i].out) != 0)
			fail_msg("case %zu: rc %d, got `%s'", i, rc, out);
		free(out);
		json_decref(st);
	}
}

static void test_peer_state(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{\"Online\":true,\"Active\":false}", "-" },
		{ "{\"Online\":true,\"Active\":false,\"TxBytes\":5,\"RxBytes\":6}",
		  "idle, tx 5 rx 6" },
		{ "{\"Online\":false,\"Active\":false,\"TxBytes\":1}", "idle; offline, tx 1 rx 0" },
		{ "{\"Online\":false,\"Active\":false}", "offline" },
		{ "{\"Online\":false,\"LastSeen\":\"0001-01-01T00:00:00Z\"}", "offline" },
		{ "{\"Online\":false,\"LastSeen\":\"2027-01-15T07:59:50Z\"}",
		  "offline, last seen 1m ago" },
		{ "{\"Online\":false,\"LastSeen\":\"2027-01-15T07:15:00Z\"}",
		  "offline, last seen 45m ago" },
		{ "{\"Online\":false,\"LastSeen\":\"2027-01-13T07:00:00Z\"}",
		  "offline, last seen 2d ago" },
		{ "{\"Online\":false,\"LastSeen\":\"garbage\"}", "offline" },
		{ "{\"Online\":true,\"Active\":true,\"CurAddr\":\"[fd00::2]:41641\",\"Relay\":\"fra\"}",
		  "active; direct [fd00::2]:41641" },
		{ "{\"Online\":true,\"Active\":true,\"CurAddr\":\"\",\"Relay\":\"fra\"}",
		  "active; relay \"fra\"" },
		{ "{\"Online\":true,\"Active\":true,\"Relay\":\"a\\\"b\"}",
		  "active; relay \"a\\\"b\"" },
		{ "{\"Online\":false,\"Active\":true,\"CurAddr\":\"192.0.2.2:1\",\"TxBytes\":9}",
		  "active; direct 192.0.2.2:1; offline, tx 9 rx 0" },
		{ "{\"Online\":true,\"Active\":true}", "active; " },
		{ "{\"Online\":\"yes\",\"Active\":1,\"TxBytes\":\"x\"}", "offline" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *ps = J(cases[i].json);
		char buf[256];
		cli_out_peer_state(ps, NOW, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: `%s', want `%s'", i, buf, cases[i].want);
		json_decref(ps);
	}
}

static void test_names_and_owners(void **state)
{
	static const struct {
		const char *suffix, *peer, *name, *owner;
	} cases[] = {
		{ "tail.example", "{\"DNSName\":\"gw.tail.example.\",\"UserID\":1}", "gw", "ops@" },
		{ "tail.example.", "{\"DNSName\":\"gw.tail.example\",\"UserID\":2}", "gw", "dba" },
		{ "", "{\"DNSName\":\"gw.tail.example.\",\"UserID\":0}", "gw.tail.example", "-" },
		{ "tail.example", "{\"DNSName\":\"x.other.net.\",\"UserID\":9}", "x.other.net",
		  "9" },
		{ "tail.example", "{\"DNSName\":\"tail.example.\"}", "tail.example", "-" },
		{ "tail.example", "{\"DNSName\":\"\",\"HostName\":\"lap top\"}", "(\"lap top\")",
		  "-" },
		{ "tail.example", "{\"HostName\":\"a\\u0001\"}", "(\"a\\x01\")", "-" },
		{ "tail.example",
		  "{\"DNSName\":\"t.tail.example.\",\"UserID\":1,\"Tags\":[\"tag:x\"]}", "t",
		  "tagged-devices" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *st = J("{\"User\":{\"1\":{\"LoginName\":\"ops@example.com\"},"
			       "\"2\":{\"LoginName\":\"dba\"}}}");
		json_t *ps = J(cases[i].peer);
		char name[128], owner[128];
		json_object_set_new(st, "MagicDNSSuffix", json_string(cases[i].suffix));
		cli_out_peer_name(st, ps, name, sizeof(name));
		cli_out_peer_owner(st, ps, owner, sizeof(owner));
		if (strcmp(name, cases[i].name) != 0 || strcmp(owner, cases[i].owner) != 0)
			fail_msg("case %zu: `%s' `%s'", i, name, owner);
		json_decref(ps);
		json_decref(st);
	}
}

static void test_duration(void **state)
{
	static const struct {
		uint64_t ms;
		const char *s;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1ms" },
		{ 23, "23ms" },
		{ 999, "999ms" },
		{ 1000, "1s" },
		{ 1500, "1.5s" },
		{ 1230, "1.23s" },
		{ 1234, "1.234s" },
		{ 59999, "59.999s" },
		{ 60000, "1m0s" },
		{ 61500, "1m1.5s" },
		{ 3600000, "1h0m0s" },
		{ 3661001, "1h1m1.001s" },
		{ 90000000, "25h0m0s" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		cli_out_duration_ms(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
}

static void test_pong(void **state)
{
	static const struct {
		const char *json;
		const char *want; /* NULL: an Err */
	} cases[] = {
		{ "{\"NodeName\":\"gw\",\"NodeIP\":\"100.64.0.2\",\"LatencySeconds\":0.0234,"
		  "\"Endpoint\":\"192.0.2.2:41641\",\"DERPRegionID\":0,\"Err\":\"\"}",
		  "pong from gw (100.64.0.2) via 192.0.2.2:41641 in 23ms" },
		{ "{\"NodeName\":\"gw\",\"NodeIP\":\"100.64.0.2\",\"LatencySeconds\":0.05,"
		  "\"Endpoint\":\"\",\"DERPRegionID\":3,\"DERPRegionCode\":\"fra\"}",
		  "pong from gw (100.64.0.2) via RELAY(fra) in 50ms" },
		{ "{\"NodeName\":\"gw\",\"NodeIP\":\"fd7a:115c:a1e0::2\",\"LatencySeconds\":1.5}",
		  "pong from gw (fd7a:115c:a1e0::2) via disco in 1.5s" },
		{ "{\"NodeName\":\"gw\",\"NodeIP\":\"100.64.0.2\",\"LatencySeconds\":0.0001}",
		  "pong from gw (100.64.0.2) via disco in 0s" },
		{ "{\"NodeName\":\"gw\",\"LatencySeconds\":-1}",
		  "pong from gw () via disco in 0s" },
		{ "{\"NodeName\":\"gw\",\"LatencySeconds\":\"x\"}",
		  "pong from gw () via disco in 0s" },
		{ "{\"IP\":\"100.64.0.9\",\"Err\":\"timeout\"}", NULL },
		{ "{\"Err\":\"no peer has this address\"}", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pr = J(cases[i].json);
		char buf[256];
		bool ok = cli_out_pong(pr, "disco", buf, sizeof(buf));
		if (cases[i].want == NULL) {
			assert_false(ok);
		} else {
			assert_true(ok);
			assert_string_equal(buf, cases[i].want);
		}
		json_decref(pr);
	}
}

static char *capture_whois(const char *json)
{
	json_t *j = J(json);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cli_out_whois(fp, j);
	fclose(fp);
	json_decref(j);
	return buf;
}

static void test_whois(void **state)
{
	char *out;

	(void)state;
	out = capture_whois(
		"{\"Node\":{\"ID\":2,\"Name\":\"gw.tail.example.\",\"Key\":\"nodekey:9a\","
		"\"Addresses\":[\"100.64.0.2/32\",\"fd7a:115c:a1e0::2/128\"],\"Tags\":[]},"
		"\"UserProfile\":{\"ID\":1,\"LoginName\":\"ops@example.com\"}}");
	assert_string_equal(out, "Machine:\n"
				 "  Name:          gw.tail.example\n"
				 "  ID:            2\n"
				 "  Addresses:     [100.64.0.2/32 fd7a:115c:a1e0::2/128]\n"
				 "User:\n"
				 "  Name:     ops@example.com\n"
				 "  ID:       1\n");
	free(out);
	out = capture_whois("{\"Node\":{\"ID\":3,\"Name\":\"t\",\"Addresses\":[\"100.64.0.3/32\"],"
			    "\"Tags\":[\"tag:a\",\"tag:b\"]},\"UserProfile\":{\"ID\":0}}");
	assert_string_equal(out, "Machine:\n"
				 "  Name:          t\n"
				 "  ID:            3\n"
				 "  Addresses:     [100.64.0.3/32]\n"
				 "  Tags:          tag:a, tag:b\n");
	free(out);
	out = capture_whois("[]");
	assert_non_null(strstr(out, "Machine:\n"));
	free(out);
}

static char *capture_filter(const char *json)
{
	json_t *j = J(json);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	cli_out_filter(fp, j);
	fclose(fp);
	json_decref(j);
	return buf;
}

static void test_filter(void **state)
{
	char *out;

	(void)state;
	out = capture_filter("{\"Installed\":false}");
	assert_string_equal(out, "no packet filter: every packet from the tunnel is accepted\n");
	free(out);
	out = capture_filter(
		"{\"Installed\":true,\"Flows\":2,\"Compiled\":{\"Rules\":3,\"SourcePrefixes\":4,"
		"\"Tables\":2,\"Bytes\":900},\"Rules\":["
		"{\"SrcIPs\":[\"100.64.0.1\",\"100.64.0.2\"],\"DstPorts\":[{\"IP\":\"100.64.0.3\","
		"\"Ports\":{\"First\":80,\"Last\":80}},{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":"
		"{\"First\":1000,\"Last\":2000}}],\"IPProto\":[6,99]},"
		"{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":{\"First\":0,"
		"\"Last\":65535}}]},"
		"{\"SrcIPs\":[\"100.64.0.1\"],\"CapGrant\":[{\"Dsts\":[\"100.64.0.3/32\"],"
		"\"CapMap\":{\"example.com/cap/x\":[]}}]}]}");
	assert_string_equal(out,
			    "packet filter: 3 rules, 4 source prefixes in 2 tables, 900 bytes; 2 "
			    "flows tracked\n"
			    "accept tcp,99 from 100.64.0.1, 100.64.0.2 to 100.64.0.3:80, "
			    "[fd7a:115c:a1e0::3]:1000-2000\n"
			    "accept tcp,udp,icmp,icmpv6 from * to *:*\n"
			    "grant example.com/cap/x from 100.64.0.1 to 100.64.0.3/32\n");
	free(out);
	out = capture_filter("{\"Installed\":true,\"Error\":\"[0]: bad\",\"Rules\":[]}");
	assert_non_null(strstr(out, "refused ([0]: bad): accepting nothing\n"));
	assert_non_null(strstr(out, "no rules: nothing from the tunnel"));
	free(out);
}

static void test_profiles(void **state)
{
	json_t *p =
		J("[{\"ID\":\"2b1c\",\"Name\":\"work\",\"ControlURL\":\"https://ctl.example\","
		  "\"UserProfile\":{\"LoginName\":\"ops@example.com\"}},"
		  "{\"ID\":\"77aa\",\"Name\":\"default\",\"ControlURL\":\"\",\"UserProfile\":{}}]");
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	cli_out_profiles(fp, p, "77aa");
	fclose(fp);
	assert_string_equal(buf, "ID     Name     Server               Account\n"
				 "2b1c   work     https://ctl.example  ops@example.com\n"
				 "77aa*  default  -                    -\n");
	free(buf);
	json_decref(p);
}

static void test_find_node(void **state)
{
	static const struct {
		const char *arg;
		const char *id; /* NULL: none */
	} cases[] = {
		{ "100.64.0.1", "1" },
		{ "fd7a:115c:a1e0::1", "1" },
		{ "fd7a:115c:a1e0:0::2", "2" },
		{ "100.64.0.2", "2" },
		{ "gw", "2" },
		{ "GW", "2" },
		{ "gw.tail.example", "2" },
		{ "gw.tail.example.", "2" },
		{ "laptop", "4" }, /* by host name: it has no DNS name */
		{ "spark", "1" },
		{ "100.64.0.9", NULL },
		{ "g", NULL },
		{ "gw.tail", NULL },
		{ "", NULL },
		{ ".", NULL },
	};
	json_t *st = J(status_json);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const json_t *n = cli_find_node(st, cases[i].arg);
		if (cases[i].id == NULL) {
			if (n != NULL)
				fail_msg("case %zu (%s): found one", i, cases[i].arg);
		} else {
			if (n == NULL)
				fail_msg("case %zu (%s): not found", i, cases[i].arg);
			assert_string_equal(json_string_value(json_object_get(n, "ID")),
					    cases[i].id);
		}
	}
	json_decref(st);
}

static void test_json_out(void **state)
{
	json_t *j = J("{\"b\":1,\"a\":[true,\"x\"]}");
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(cli_out_json(fp, j), 0);
	fclose(fp);
	assert_string_equal(buf, "{\n  \"b\": 1,\n  \"a\": [\n    true,\n    \"x\"\n  ]\n}\n");
	free(buf);
	json_decref(j);
}

static char *capture_dns(const char *json, bool query)
{
	json_t *j = J(json);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (query)
		cli_out_dns_query(fp, j);
	else
		cli_out_dns_status(fp, j);
	fclose(fp);
	json_decref(j);
	return buf;
}

/* The dns-status of docs/LOCALAPI.md. */
static const char dns_status_json[] =
	"{\"Ready\":true,\"AcceptDNS\":true,\"MagicDNS\":true,\"BaseDomain\":\"tail.test\","
	"\"SearchDomains\":[\"tail.test\",\"corp.test\"],\"Resolvers\":[\"192.168.60.53:53\"],"
	"\"ResolversFrom\":\"server\",\"SplitDNS\":{\"corp.test\":[\"192.168.60.54:53\","
	"\"192.168.60.55:5353\"]},\"LocalZones\":[\"tail.test.\"],\"ReverseZones\":65,\"Names\":7,"
	"\"HostDNS\":{\"Mode\":\"direct\",\"Why\":\"resolv.conf is a plain file\","
	"\"Path\":\"/etc/resolv.conf\",\"Managed\":true,"
	"\"Backup\":\"/var/lib/weft/resolv.conf.pre-weft\",\"Nameservers\":[\"10.0.0.1:53\"]}}";

static void test_dns_status(void **state)
{
	char *out;

	(void)state;
	out = capture_dns(dns_status_json, false);
	assert_string_equal(
		out, "=== Host DNS (--accept-dns) ===\n\n"
		     "Weft DNS: on. /etc/resolv.conf points at 100.100.100.100 (direct mode); the "
		     "original is kept in /var/lib/weft/resolv.conf.pre-weft.\n"
		     "Run 'weft set --accept-dns=false' to go back to the host's own resolver.\n\n"
		     "=== MagicDNS configuration (from the server) ===\n\n"
		     "MagicDNS: on (suffix = tail.test), 7 names answered here.\n\n"
		     "Resolvers (the server's global nameservers):\n"
		     "  - 192.168.60.53:53\n\n"
		     "Split DNS routes:\n"
		     "  - corp.test -> 192.168.60.54:53, 192.168.60.55:5353\n\n"
		     "Search domains:\n"
		     "  - tail.test\n"
		     "  - corp.test\n\n"
		     "Host nameservers:\n"
		     "  - 10.0.0.1:53\n\n");
	free(out);
	/* Off, not running, and a host whose DNS is left alone. */
	out = capture_dns("{\"Ready\":false,\"AcceptDNS\":false,\"HostDNS\":{\"Mode\":\"direct\"}}",
			  false);
	assert_non_null(strstr(out, "Weft DNS: off."));
	assert_non_null(strstr(out, "Not running: no network map yet."));
	assert_null(strstr(out, "Resolvers"));
	free(out);
	out = capture_dns("{\"Ready\":true,\"AcceptDNS\":true,\"MagicDNS\":false,\"Resolvers\":[],"
			  "\"ResolversFrom\":\"none\",\"HostDNS\":{\"Mode\":\"unmanaged\","
			  "\"Why\":\"resolv.conf is a symlink to ../run/resolvconf/resolv.conf\"}}",
			  false);
	assert_non_null(strstr(out, "left alone (unmanaged mode: resolv.conf is a symlink"));
	assert_non_null(strstr(out, "MagicDNS: off."));
	assert_non_null(strstr(out, "Resolvers:\n  (none: other names get SERVFAIL)\n"));
	assert_non_null(strstr(out, "Split DNS routes:\n  (none)\n"));
	free(out);
	/* systemd-resolved: what is set on the link, as resolvectl commands; or the failure. */
	out = capture_dns("{\"Ready\":true,\"AcceptDNS\":true,\"HostDNS\":{\"Mode\":\"resolved\","
			  "\"Managed\":true,\"Resolved\":{\"Link\":\"weft0\",\"InForce\":true,"
			  "\"Settings\":\"resolvectl dns weft0 100.100.100.100\\nresolvectl domain "
			  "weft0 ts.example\\n\",\"Error\":\"\"}}}",
			  false);
	assert_non_null(strstr(out, "Weft DNS: on. systemd-resolved sends the tailnet's names to "
				    "100.100.100.100 over weft0 (resolved mode), set as:\n"
				    "  resolvectl dns weft0 100.100.100.100\n"
				    "  resolvectl domain weft0 ts.example\n"
				    "Run 'weft set --accept-dns=false' to give weft0 back"));
	free(out);
	out = capture_dns("{\"AcceptDNS\":true,\"HostDNS\":{\"Mode\":\"resolved\","
			  "\"Resolved\":{\"Link\":\"weft0\",\"InForce\":false,\"Settings\":\"\","
			  "\"Error\":\"/usr/bin/resolvectl dns: No such file or directory\"}}}",
			  false);
	assert_non_null(strstr(out, "setting weft0 in systemd-resolved failed (resolved mode): "
				    "/usr/bin/resolvectl dns: No such file or directory\n"));
	free(out);
	out = capture_dns("{\"AcceptDNS\":true,\"HostDNS\":{\"Mode\":\"resolved\"}}", false);
	assert_non_null(strstr(out, "nothing set on weft's link in systemd-resolved"));
	free(out);
	/* Whatever the daemon sends, it prints something and never crashes. */
	out = capture_dns("[1, {\"Ready\": \"x\"}]", false);
	free(out);
	out = capture_dns("{\"Ready\":true,\"SplitDNS\":{\"x\":7},\"Resolvers\":[3]}", false);
	assert_non_null(strstr(out, "  - ?\n"));
	free(out);
}

static void test_dns_query(void **state)
{
	char *out;

	(void)state;
	out = capture_dns(
		"{\"Name\":\"node-b.\",\"Type\":\"A\",\"Rcode\":\"NOERROR\",\"Flags\":[\"aa\"],"
		"\"Route\":\"local\",\"Resolvers\":[],\"Answers\":[{\"Name\":\"node-b.\",\"TTL\":600,"
		"\"Class\":\"IN\",\"Type\":\"A\",\"Data\":\"100.64.0.2\"}],\"Authority\":[],"
		"\"Additional\":[]}",
		true);
	assert_string_equal(out, "DNS query for \"node-b.\" (A) using the tailnet's resolver\n"
				 "Answered by MagicDNS\n"
				 "Response code: NOERROR\n\n"
				 "Section Name                             TTL     Class  Type   Data\n"
				 "------- ----                             ---     -----  ----   ----\n"
				 "answer  node-b.                          600     IN     A      "
				 "100.64.0.2\n");
	free(out);
	out = capture_dns("{\"Name\":\"db.corp.test.\",\"Type\":\"MX\",\"Rcode\":\"NXDOMAIN\","
			  "\"Route\":\"split\",\"Resolvers\":[\"10.0.0.53:53\",\"10.0.0.54:53\"],"
			  "\"Answers\":[],\"Authority\":[{\"Name\":\"corp.test.\",\"TTL\":60,"
			  "\"Class\":\"IN\",\"Type\":\"SOA\",\"Data\":\"ns. h. 1 2 3 4 5\"}],"
			  "\"Error\":\"truncated\"}",
			  true);
	assert_non_null(strstr(out, "Forwarded to the split-DNS resolvers: 10.0.0.53:53, 10.0.0.54:53\n"));
	assert_non_null(strstr(out, "Response code: NXDOMAIN\n"));
	assert_non_null(strstr(out, "auth    corp.test."));
	assert_non_null(strstr(out, "(the reply did not decode past here: truncated)\n"));
	free(out);
	out = capture_dns("{\"Route\":\"none\"}", true);
	assert_non_null(strstr(out, "No resolver for this name\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table), cmocka_unit_test(test_status_states),
		cmocka_unit_test(test_peer_state),   cmocka_unit_test(test_names_and_owners),
		cmocka_unit_test(test_duration),     cmocka_unit_test(test_pong),
		cmocka_unit_test(test_whois),	     cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_filter),	     cmocka_unit_test(test_find_node),
		cmocka_unit_test(test_json_out),	     cmocka_unit_test(test_dns_status),
		cmocka_unit_test(test_dns_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

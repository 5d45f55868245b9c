/* SPDX-License-Identifier: ISC */
/*
 * test_policy: policy parsing (accepts and every refusal with its place),
 * compilation to filter and SSH rules on a small tailnet, tests and sshTests,
 * tag ownership, route approval, peer visibility, and a randomized diff of
 * the compiled filters against the naive reference (tests/reference).
 */
#include <errno.h>

#include "policy/policy.h"
#include "policy_naive.h"
#include "testutil.h"

/* The tailnet the tests compile for. */
enum { N_A, N_B, N_C, N_R, N_E, N_A2, N_NODES };

static const struct policy_user users[] = {
	{1, "odin", "odin@example.com"},
	{2, "thor", "thor@example.org"},
};
static const char *const t_server[] = {"tag:server"};
static const char *const t_router[] = {"tag:router"};
static const char *const t_exit[] = {"tag:exit", "tag:router"};
static struct netaddr addrs[N_NODES][2];
static struct netprefix r_subnet[1], r_exit[3];
static struct policy_node nodes[N_NODES] = {
	[N_A] = {.id = 11, .name = "a", .user = 0},
	[N_B] = {.id = 12, .name = "b", .user = 1},
	[N_C] = {.id = 13, .name = "c", .user = -1, .tags = t_server, .ntags = 1},
	[N_R] = {.id = 14, .name = "r", .user = -1, .tags = t_router, .ntags = 1},
	[N_E] = {.id = 15, .name = "e", .user = -1, .tags = t_exit, .ntags = 2},
	[N_A2] = {.id = 16, .name = "a2", .user = 0},
};
static struct policy_topology topo = {.tailnet = "odin@example.com",
				      .control_url = "https://ctl.example",
				      .users = users,
				      .nusers = 2,
				      .nodes = nodes,
				      .nnodes = N_NODES};

static int setup(void **state)
{
	char buf[48];

	(void)state;
	for (int i = 0; i < N_NODES; i++) {
		snprintf(buf, sizeof(buf), "100.64.0.%d", i + 1);
		assert_int_equal(netaddr_parse(buf, &addrs[i][0]), 0);
		snprintf(buf, sizeof(buf), "fd7a:115c:a1e0::%d", i + 1);
		assert_int_equal(netaddr_parse(buf, &addrs[i][1]), 0);
		nodes[i].addrs = addrs[i];
		nodes[i].naddrs = 2;
	}
	assert_int_equal(netprefix_parse("10.33.0.0/16", &r_subnet[0]), 0);
	nodes[N_R].routes = nodes[N_R].approved = r_subnet;
	nodes[N_R].nroutes = nodes[N_R].napproved = 1;
	assert_int_equal(netprefix_parse("0.0.0.0/0", &r_exit[0]), 0);
	assert_int_equal(netprefix_parse("::/0", &r_exit[1]), 0);
	assert_int_equal(netprefix_parse("192.168.1.0/24", &r_exit[2]), 0);
	nodes[N_E].routes = nodes[N_E].approved = r_exit;
	nodes[N_E].nroutes = nodes[N_E].napproved = 3;
	return 0;
}

#define OWNERS                                                                                    \
	"\"tagOwners\": {\"tag:server\": [\"odin@example.com\"], \"tag:router\": "               \
	"[\"group:admins\"], \"tag:exit\": [\"tag:router\"]}, \"groups\": {\"group:admins\": "  \
	"[\"odin@example.com\"]}, \"hosts\": {\"web\": \"100.64.0.3\", \"lan\": \"10.33.1.0/24\"}"

static struct policy *parse_ok(const char *text)
{
	struct policy_err err;
	struct policy *p;
	char msg[512];
	int rc = policy_parse(text, strlen(text), topo.tailnet, &p, &err);

	if (rc != 0)
		fail_msg("refused: %s\n%s", policy_err_format(&err, msg, sizeof(msg)), text);
	return p;
}

static void test_parse_accepts(void **state)
{
	static const char *const ok[] = {
		"{}",
		"// nothing but a comment\n{\n}",
		"{\"acls\": [],}",
		"{" OWNERS ",\n  // a rule\n  \"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
		"\"dst\": [\"*:*\"],},],}",
		"{\"ACLs\": [{\"Action\": \"accept\", \"Users\": [\"*\"], \"Ports\": [\"*:22\"]}]}",
		"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"group:admins\", "
		"\"odin@example.com\", \"web\", \"10.0.0.0/8\", \"fd7a::1\", \"autogroup:member\", "
		"\"autogroup:tagged\", \"user:*@example.com\"], \"proto\": \"udp\", \"dst\": "
		"[\"tag:server:53\", \"[fd7a::1]:80,443\", \"fd00::/64:1000-2000\", "
		"\"autogroup:internet:*\", \"lan:22\"], \"#note\": \"ignored\"}]}",
		"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"proto\": \"47\", \"dst\": "
		"[\"*:*\"]}]}",
		"{" OWNERS ", \"grants\": [{\"src\": [\"*\"], \"dst\": [\"tag:server\"], \"ip\": "
		"[\"tcp:443\", \"53\", \"icmp:*\"]}, {\"src\": [\"group:admins\"], \"dst\": "
		"[\"autogroup:internet\"], \"via\": [\"tag:exit\"], \"ip\": [\"*\"]}, {\"src\": "
		"[\"*\"], \"dst\": [\"tag:server\"], \"app\": {\"example.com/cap/x\": [{}]}}]}",
		"{" OWNERS ", \"ssh\": [{\"action\": \"check\", \"checkPeriod\": \"168h\", \"src\": "
		"[\"autogroup:member\"], \"dst\": [\"autogroup:self\", \"tag:server\"], \"users\": "
		"[\"autogroup:nonroot\", \"root\", \"localpart:*@example.com\"], \"acceptEnv\": "
		"[\"GIT_*\"]}]}",
		"{" OWNERS ", \"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"tag:router\"]}, "
		"\"exitNode\": [\"tag:exit\", \"group:admins\"]}, \"nodeAttrs\": [{\"target\": "
		"[\"*\"], \"attr\": [\"funnel\"]}]}",
	};
	struct policy *p;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		p = parse_ok(ok[i]);
		policy_free(p);
	}
	p = parse_ok("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": "
		     "[\"*:22,80-90\"]}]}");
	assert_int_equal(p->nacls, 1);
	assert_int_equal(p->acls[0].dst[0].nports, 2);
	assert_int_equal(p->acls[0].dst[0].ports[1].first, 80);
	assert_int_equal(p->acls[0].dst[0].ports[1].last, 90);
	assert_true(p->has_rules);
	policy_free(p);
	p = parse_ok("{\"ssh\": [{\"action\": \" accept\", \"src\": [\" odin@example.com\"], "
		     "\"dst\": [\"odin@example.com \"], \"users\": [\"\\troot\"]}]}");
	assert_false(p->has_rules);
	assert_string_equal(p->ssh[0].users[0], "root");
	assert_int_equal(p->ssh[0].check_period_ns, POLICY_CHECK_DEFAULT_NS);
	policy_free(p);
}

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *text;
		const char *msg; /* a substring of the message */
		unsigned line;	 /* 0: not checked */
	} bad[] = {
		{"[]", "must be a JSON object", 1},
		{"{\"acls\": [}", "", 1},
		{"{\n\"acls\": [],\n\"acls\": []}", "duplicate", 3},
		{"{\"bogus\": 1}", "unknown field bogus", 1},
		{"{\"acls\": [],\n \"ACLs\": []}", "duplicate field", 2},
		{"{\n  \"acls\": [\n    {\"action\": \"deny\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}",
		 "action=\"deny\" is not supported", 3},
		{"{\"acls\": [{\"src\": [\"*\"], \"dst\": [\"*:*\"]}]}", "action must be specified", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"tag:nope\"], \"dst\": [\"*:*\"]}]}",
		 "src=tag not found: \"tag:nope\"", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"],\n\"dst\": [\"*:*\",\n "
		 "\"tag:nope:22\"]}]}",
		 "dst=\"tag:nope\": tag not found", 3},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"autogroup:self\"], \"dst\": "
		 "[\"*:*\"]}]}",
		 "\"autogroup:self\" not valid on the src side", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:self\"]}]}",
		 "port range \"self\": invalid first integer", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"a@b:ssh\"]}]}",
		 "port range \"ssh\": invalid first integer", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"a@b:99999\"]}]}",
		 "invalid first integer", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"a@b:90-80\"]}]}",
		 "last is smaller than first", 1},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"a@b\"]}]}",
		 "missing port range", 1},
		{"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"tag:server\"], "
		 "\"dst\": [\"autogroup:self:*\"]}]}",
		 "autogroup:self can only be used with users, groups, or supported autogroups", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"10.0.0.1\"], \"dst\": "
		 "[\"autogroup:self:*\"]}]}",
		 "autogroup:self can only be used", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"group:none\"], \"dst\": [\"*:*\"]}]}",
		 "group not found", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"nohost\"], \"dst\": [\"*:*\"]}]}",
		 "host not found", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"autogroup:admin\"], \"dst\": "
		 "[\"*:*\"]}]}",
		 "unknown autogroup", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"proto\": \"tcpx\", \"dst\": "
		 "[\"*:*\"]}]}",
		 "not a valid protocol", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"proto\": \"06\", \"dst\": "
		 "[\"*:*\"]}]}",
		 "not a valid protocol", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"proto\": \"icmp\", \"dst\": "
		 "[\"*:22\"]}]}",
		 "only valid with tcp, udp or sctp", 0},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": \"*\", \"dst\": [\"*:*\"]}]}",
		 "expected an array of strings", 0},
		{"{\"groups\": {\"group:a\": [\"group:b\"], \"group:b\": []}}",
		 "group members cannot be recursive", 0},
		{"{\"groups\": {\"eng\": []}}", "must start with \"group:\"", 0},
		{"{\"tagOwners\": {\"tag:\\u0441\": []}}", "tag names must start with a letter", 0},
		{"{\"tagOwners\": {\"tag:a_b\": []}}", "tag names must start with a letter", 0},
		{"{\"hosts\": {\"a\": \"not-an-ip\"}}", "must be an IP address", 0},
		{"{\"hosts\": {\"a@b\": \"1.2.3.4\"}}", "is not valid", 0},
		{"{\"ssh\": [{\"action\": \"deny\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"], \"users\": "
		 "[\"root\"]}]}",
		 "\"deny\" is not a valid action", 0},
		{"{\"ssh\": [{\"action\": \"ACCEPT\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"], "
		 "\"users\": [\"root\"]}]}",
		 "\"ACCEPT\" is not a valid action", 0},
		{"{\"ssh\": [{\"src\": [\"a@b\"], \"dst\": [\"a@b\"], \"users\": [\"root\"]}]}",
		 "action must be specified", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"]}]}",
		 "users must be specified", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"], "
		 "\"users\": [\"root\", \"*\"]}]}",
		 "user \"*\" is not valid", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"], "
		 "\"users\": [\"\"]}]}",
		 "user \"\" is not valid", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"a@b\"], \"dst\": [\"*\"], \"users\": "
		 "[\"root\"]}]}",
		 "invalid dst \"*\"", 0},
		{"{\"hosts\": {\"srv\": \"1.2.3.4\"}, \"ssh\": [{\"action\": \"accept\", \"src\": "
		 "[\"a@b\"], \"dst\": [\"srv\"], \"users\": [\"root\"]}]}",
		 "invalid dst \"srv\"", 0},
		{"{\"ssh\": [{\"action\": \"check\", \"checkPeriod\": \"abc\", \"src\": [\"a@b\"], "
		 "\"dst\": [\"a@b\"], \"users\": [\"root\"]}]}",
		 "time: invalid duration \"abc\"", 0},
		{"{\"ssh\": [{\"action\": \"check\", \"checkPeriod\": \"-1m\", \"src\": [\"a@b\"], "
		 "\"dst\": [\"a@b\"], \"users\": [\"root\"]}]}",
		 "checkPeriod -1m0s must be a positive duration", 0},
		{"{\"ssh\": [{\"action\": \"check\", \"checkPeriod\": \"168h0m1s\", \"src\": "
		 "[\"a@b\"], \"dst\": [\"a@b\"], \"users\": [\"root\"]}]}",
		 "checkPeriod 168h0m1s is above the max (168h)", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"acceptEnv\": [\"\"], \"src\": [\"a@b\"], "
		 "\"dst\": [\"a@b\"], \"users\": [\"root\"]}]}",
		 "acceptEnv values cannot be empty", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"a@b\"], \"dst\": [\"a@b\"], "
		 "\"users\": [\"localpart:*@example.org\"]}]}",
		 "example.org is not associated with this Tailnet", 0},
		{"{\"ssh\": [{\"action\": \"accept\", \"src\": [\"user:*@EXAMPLE.COM\"], \"dst\": "
		 "[\"a@b\"], \"users\": [\"root\"]}]}",
		 "[ssh] EXAMPLE.COM is not associated", 0},
		{"{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"]}]}", "must specify \"ip\" or \"app\"",
		 0},
		{"{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"bogus:1\"]}]}",
		 "invalid protocol", 0},
		{"{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"via\": "
		 "[\"a@b\"]}]}",
		 "via must name tags", 0},
		{"{\"autoApprovers\": {\"routes\": {\"10.0.0.1/8\": []}}}", "not a valid CIDR", 0},
		{"{\"tests\": [{\"src\": 5}]}", "expected a string", 0},
	};
	struct policy_err err;
	struct policy *p;
	char msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = policy_parse(bad[i].text, strlen(bad[i].text), topo.tailnet, &p, &err);

		if (rc != -EINVAL)
			fail_msg("accepted case %zu: %s", i, bad[i].text);
		assert_null(p);
		policy_err_format(&err, msg, sizeof(msg));
		if (strstr(msg, bad[i].msg) == NULL)
			fail_msg("case %zu: message `%s' lacks `%s'", i, msg, bad[i].msg);
		if (bad[i].line != 0 && err.line != bad[i].line)
			fail_msg("case %zu: line %u, want %u (%s)", i, err.line, bad[i].line, msg);
	}
}

/* Compiles `text` and checks node `node`'s filter against the JSON `want`. */
static void check_filter(const char *text, size_t node, const char *want)
{
	struct policy *p = parse_ok(text);
	struct policy_compiled *c;
	json_error_t jerr;
	json_t *w = json_loads(want, 0, &jerr);
	char *got;

	assert_non_null(w);
	assert_int_equal(policy_compile(p, &topo, &c), 0);
	if (!json_equal(policy_compiled_filter(c, node), w)) {
		got = json_dumps(policy_compiled_filter(c, node), JSON_COMPACT);
		fail_msg("node %s:\n got %s\nwant %s\npolicy %s", nodes[node].name, got, want, text);
	}
	json_decref(w);
	policy_compiled_free(c);
	policy_free(p);
}

#define STAR_SRC                                                                                  \
	"\"100.64.0.0-100.115.91.255\",\"100.115.94.0-100.127.255.255\","                        \
	"\"fd7a:115c:a1e0::/48\",\"10.33.0.0/16\",\"192.168.1.0/24\""
#define ALL_PORTS "{\"First\":0,\"Last\":65535}"

static void test_compile_filter(void **state)
{
	static const struct {
		const char *policy;
		size_t node;
		const char *want;
	} cases[] = {
		/* No acls or grants: everything is allowed. */
		{"{}", N_A, "[{\"SrcIPs\":[" STAR_SRC "],\"DstPorts\":[{\"IP\":\"*\",\"Ports\":" ALL_PORTS
			    "}]}]"},
		/* An empty acls list allows nothing. */
		{"{\"acls\": []}", N_A, "[]"},
		/* Tags resolve to the nodes' addresses, "*" destinations reach every node. */
		{"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"tag:server\"], "
		 "\"dst\": [\"*:*\"]}]}",
		 N_B,
		 "[{\"SrcIPs\":[\"100.64.0.3\",\"fd7a:115c:a1e0::3\"],\"DstPorts\":[{\"IP\":\"*\","
		 "\"Ports\":" ALL_PORTS "}]}]"},
		/* Destinations are reduced to the node; other nodes get nothing. */
		{"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"odin@example.com\"], "
		 "\"proto\": \"tcp\", \"dst\": [\"tag:server:22,80-90\"]}]}",
		 N_C,
		 "[{\"SrcIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\",\"100.64.0.6\",\"fd7a:115c:a1e0::6\"],"
		 "\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":22,\"Last\":22}},"
		 "{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":80,\"Last\":90}},"
		 "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":22,\"Last\":22}},"
		 "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":80,\"Last\":90}}],\"IPProto\":[6]}]"},
		{"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"odin@example.com\"], "
		 "\"dst\": [\"tag:server:22\"]}]}",
		 N_B, "[]"},
		/* Rules with the same sources merge; a subnet destination lands on its router. */
		{"{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"tag:server\"], "
		 "\"dst\": [\"tag:router:22\"]}, {\"action\": \"accept\", \"src\": [\"tag:server\"], "
		 "\"dst\": [\"lan:443\"]}]}",
		 N_R,
		 "[{\"SrcIPs\":[\"100.64.0.3\",\"fd7a:115c:a1e0::3\"],\"DstPorts\":["
		 "{\"IP\":\"100.64.0.4\",\"Ports\":{\"First\":22,\"Last\":22}},"
		 "{\"IP\":\"fd7a:115c:a1e0::4\",\"Ports\":{\"First\":22,\"Last\":22}},"
		 "{\"IP\":\"10.33.1.0/24\",\"Ports\":{\"First\":443,\"Last\":443}}]}]"},
		/* autogroup:self: the user's own nodes only, per node. */
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:self:*\"]}]}",
		 N_A2,
		 "[{\"SrcIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\",\"100.64.0.6\",\"fd7a:115c:a1e0::6\"],"
		 "\"DstPorts\":[{\"IP\":\"100.64.0.6\",\"Ports\":" ALL_PORTS "},"
		 "{\"IP\":\"fd7a:115c:a1e0::6\",\"Ports\":" ALL_PORTS "}]}]"},
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:self:*\"]}]}",
		 N_C, "[]"},
		/* Exit routes are not sources and do not attract destinations. */
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"8.8.8.0/24:53\"]}]}",
		 N_E, "[]"},
		/* Grants: protocol from `ip`, and app capabilities as CapGrant. */
		{"{" OWNERS ", \"grants\": [{\"src\": [\"tag:router\"], \"dst\": [\"tag:server\"], "
		 "\"ip\": [\"udp:53\"], \"app\": {\"example.com/cap/x\": [{\"k\": 1}]}}]}",
		 N_C,
		 "[{\"SrcIPs\":[\"100.64.0.4\",\"fd7a:115c:a1e0::4\",\"100.64.0.5\",\"fd7a:115c:a1e0::5\"],"
		 "\"DstPorts\":[{\"IP\":\"100.64.0.3\",\"Ports\":{\"First\":53,\"Last\":53}},"
		 "{\"IP\":\"fd7a:115c:a1e0::3\",\"Ports\":{\"First\":53,\"Last\":53}}],\"IPProto\":[17]},"
		 "{\"SrcIPs\":[\"100.64.0.4\",\"fd7a:115c:a1e0::4\",\"100.64.0.5\",\"fd7a:115c:a1e0::5\"],"
		 "\"CapGrant\":[{\"Dsts\":[\"100.64.0.3/32\",\"fd7a:115c:a1e0::3/128\"],"
		 "\"CapMap\":{\"example.com/cap/x\":[{\"k\":1}]}}]}]"},
		/* A via grant is enforced on the named routers only. */
		{"{" OWNERS ", \"grants\": [{\"src\": [\"odin@example.com\"], \"dst\": "
		 "[\"192.168.1.0/24\"], \"via\": [\"tag:exit\"], \"ip\": [\"*\"]}]}",
		 N_E,
		 "[{\"SrcIPs\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\",\"100.64.0.6\",\"fd7a:115c:a1e0::6\"],"
		 "\"DstPorts\":[{\"IP\":\"192.168.1.0/24\",\"Ports\":" ALL_PORTS "}]}]"},
		{"{" OWNERS ", \"grants\": [{\"src\": [\"odin@example.com\"], \"dst\": "
		 "[\"10.33.0.0/16\"], \"via\": [\"tag:exit\"], \"ip\": [\"*\"]}]}",
		 N_R, "[]"},
		/* autogroup:danger-all is every address. */
		{"{\"acls\": [{\"action\": \"accept\", \"src\": [\"autogroup:danger-all\"], \"dst\": "
		 "[\"odin@example.com:443\"]}]}",
		 N_A,
		 "[{\"SrcIPs\":[\"*\"],\"DstPorts\":[{\"IP\":\"100.64.0.1\",\"Ports\":{\"First\":443,"
		 "\"Last\":443}},{\"IP\":\"fd7a:115c:a1e0::1\",\"Ports\":{\"First\":443,\"Last\":443}}]}]"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_filter(cases[i].policy, cases[i].node, cases[i].want);
}

static void test_compile_ssh(void **state)
{
	struct policy *p = parse_ok(
		"{" OWNERS ", \"ssh\": [{\"action\": \"accept\", \"src\": [\"autogroup:member\"], "
		"\"dst\": [\"tag:server\"], \"users\": [\"autogroup:nonroot\"]}, {\"action\": "
		"\"check\", \"src\": [\"group:admins\"], \"dst\": [\"tag:server\"], \"users\": "
		"[\"root\"]}, {\"action\": \"accept\", \"src\": [\"autogroup:tagged\"], \"dst\": "
		"[\"tag:server\"], \"users\": [\"ubuntu\"], \"acceptEnv\": [\"LC_*\"]}]}");
	struct policy_compiled *c;
	json_error_t jerr;
	json_t *want = json_loads(
		"[{\"principals\":[{\"nodeIP\":\"100.64.0.1\"},{\"nodeIP\":\"fd7a:115c:a1e0::1\"},"
		"{\"nodeIP\":\"100.64.0.6\"},{\"nodeIP\":\"fd7a:115c:a1e0::6\"}],\"sshUsers\":"
		"{\"root\":\"root\"},\"action\":{\"holdAndDelegate\":\"https://ctl.example/machine/ssh/"
		"action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER\"}},"
		"{\"principals\":[{\"nodeIP\":\"100.64.0.1\"},{\"nodeIP\":\"fd7a:115c:a1e0::1\"},"
		"{\"nodeIP\":\"100.64.0.2\"},{\"nodeIP\":\"fd7a:115c:a1e0::2\"},"
		"{\"nodeIP\":\"100.64.0.6\"},{\"nodeIP\":\"fd7a:115c:a1e0::6\"}],\"sshUsers\":"
		"{\"*\":\"=\",\"root\":\"\"},\"action\":{\"accept\":true,\"allowAgentForwarding\":true,"
		"\"allowLocalPortForwarding\":true,\"allowRemotePortForwarding\":true}},"
		"{\"principals\":[{\"nodeIP\":\"100.64.0.3\"},{\"nodeIP\":\"fd7a:115c:a1e0::3\"},"
		"{\"nodeIP\":\"100.64.0.4\"},{\"nodeIP\":\"fd7a:115c:a1e0::4\"},"
		"{\"nodeIP\":\"100.64.0.5\"},{\"nodeIP\":\"fd7a:115c:a1e0::5\"},"
		"{\"nodeIP\":\"100.64.0.5\"},{\"nodeIP\":\"fd7a:115c:a1e0::5\"}],\"sshUsers\":"
		"{\"ubuntu\":\"ubuntu\",\"root\":\"\"},\"acceptEnv\":[\"LC_*\"],\"action\":{\"accept\":"
		"true,\"allowAgentForwarding\":true,\"allowLocalPortForwarding\":true,"
		"\"allowRemotePortForwarding\":true}}]",
		0, &jerr);

	(void)state;
	assert_non_null(want);
	assert_int_equal(policy_compile(p, &topo, &c), 0);
	if (!json_equal(policy_compiled_ssh(c, N_C), want))
		fail_msg("got %s", json_dumps(policy_compiled_ssh(c, N_C), JSON_COMPACT));
	assert_int_equal(json_array_size(policy_compiled_ssh(c, N_A)), 0);
	json_decref(want);
	policy_compiled_free(c);
	policy_free(p);
}

static void test_tests(void **state)
{
	static const struct {
		const char *tests;
		const char *fail; /* NULL: all pass */
	} cases[] = {
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"tag:server:22\", \"web:22\"], "
		 "\"deny\": [\"tag:server:80\", \"thor@example.org:22\"]}]",
		 NULL},
		{"[{\"src\": \"tag:router\", \"proto\": \"udp\", \"accept\": [\"100.64.0.3:53\"], "
		 "\"deny\": [\"100.64.0.3:22\"]}]",
		 NULL},
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"tag:server:23\"]}]",
		 "expected accept, got deny"},
		{"[{\"src\": \"odin@example.com\", \"deny\": [\"tag:server:22\"]}]",
		 "expected deny, got accept"},
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"tag:server:22,80\"]}]",
		 "single number"},
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"tag:server:*\"]}]", "single number"},
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"lan:22\"]}]", "not a prefix"},
		{"[{\"src\": \"odin@example.com\", \"accept\": [\"autogroup:self:22\"]}]",
		 "not a valid test destination"},
		{"[{\"src\": \"ghost@example.com\", \"accept\": [\"tag:server:22\"]}]",
		 "resolves to no address"},
		{"[{\"src\": \"group:none\", \"accept\": [\"tag:server:22\"]}]", "group not found"},
		{"[{\"src\": \"odin@example.com\"}]", "needs accept or deny"},
		{"[{\"accept\": [\"tag:server:22\"]}]", "src must be specified"},
	};
	char text[2048], msg[512];
	struct policy_err err;
	struct policy *p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": [\"group:admins\"], "
			 "\"dst\": [\"tag:server:22\"]}, {\"action\": \"accept\", \"src\": "
			 "[\"tag:router\"], \"proto\": \"udp\", \"dst\": [\"tag:server:53\"]}], "
			 "\"tests\": %s}",
			 cases[i].tests);
		p = parse_ok(text);
		int rc = policy_check_tests(p, &topo, &err);

		policy_err_format(&err, msg, sizeof(msg));
		if (cases[i].fail == NULL && rc != 0)
			fail_msg("case %zu failed: %s", i, msg);
		if (cases[i].fail != NULL) {
			assert_int_equal(rc, -EINVAL);
			if (strstr(msg, cases[i].fail) == NULL || strstr(msg, "test(s) failed") == NULL)
				fail_msg("case %zu: `%s' lacks `%s'", i, msg, cases[i].fail);
		}
		policy_free(p);
	}
	/* sshTests */
	p = parse_ok("{" OWNERS ", \"ssh\": [{\"action\": \"check\", \"src\": [\"group:admins\"], "
		     "\"dst\": [\"tag:server\"], \"users\": [\"root\"]}, {\"action\": \"accept\", "
		     "\"src\": [\"autogroup:member\"], \"dst\": [\"tag:server\"], \"users\": "
		     "[\"autogroup:nonroot\"]}], \"sshTests\": [{\"src\": \"odin@example.com\", "
		     "\"dst\": [\"tag:server\"], \"accept\": [\"alice\"], \"check\": [\"root\"]}, "
		     "{\"src\": \"thor@example.org\", \"dst\": [\"tag:server\"], \"accept\": "
		     "[\"bob\"], \"deny\": [\"root\"]}]}");
	assert_int_equal(policy_check_tests(p, &topo, &err), 0);
	policy_free(p);
	p = parse_ok("{" OWNERS ", \"ssh\": [{\"action\": \"accept\", \"src\": [\"group:admins\"], "
		     "\"dst\": [\"tag:server\"], \"users\": [\"root\"]}], \"sshTests\": [{\"src\": "
		     "\"thor@example.org\", \"dst\": [\"tag:server\"], \"accept\": [\"root\"]}]}");
	assert_int_equal(policy_check_tests(p, &topo, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expected accept, got deny"));
	policy_free(p);
}

static void test_tag_owners_and_routes(void **state)
{
	struct policy *p = parse_ok(
		"{" OWNERS ", \"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"tag:router\"], "
		"\"0.0.0.0/0\": [\"thor@example.org\"]}, \"exitNode\": [\"tag:exit\"]}}");
	struct netprefix route;

	(void)state;
	assert_true(policy_tag_is_defined(p, "tag:server"));
	assert_false(policy_tag_is_defined(p, "tag:nope"));
	assert_true(policy_tag_may_own(p, "tag:server", "odin@example.com", NULL, 0));
	assert_true(policy_tag_may_own(p, "tag:server", "ODIN@example.com", NULL, 0));
	assert_false(policy_tag_may_own(p, "tag:server", "thor@example.org", NULL, 0));
	assert_false(policy_tag_may_own(p, "tag:server", NULL, NULL, 0));
	assert_true(policy_tag_may_own(p, "tag:router", "odin@example.com", NULL, 0)); /* group */
	assert_true(policy_tag_may_own(p, "tag:exit", NULL, t_router, 1));		/* by tag */
	assert_false(policy_tag_may_own(p, "tag:exit", "odin@example.com", t_server, 1));
	assert_false(policy_tag_may_own(p, "tag:nope", "odin@example.com", NULL, 0));

	assert_int_equal(netprefix_parse("10.33.0.0/16", &route), 0);
	assert_true(policy_route_auto_approved(p, &topo, N_R, &route));
	assert_true(policy_route_auto_approved(p, &topo, N_E, &route)); /* e is tag:router too */
	assert_false(policy_route_auto_approved(p, &topo, N_C, &route));
	assert_int_equal(netprefix_parse("11.0.0.0/16", &route), 0);
	assert_false(policy_route_auto_approved(p, &topo, N_R, &route));
	assert_int_equal(netprefix_parse("0.0.0.0/0", &route), 0);
	assert_true(policy_route_auto_approved(p, &topo, N_E, &route));
	assert_false(policy_route_auto_approved(p, &topo, N_R, &route));
	assert_true(policy_route_auto_approved(p, &topo, N_B, &route)); /* routes["0.0.0.0/0"] */
	assert_false(policy_route_auto_approved(p, &topo, 99, &route));
	policy_free(p);
}

static void test_visibility(void **state)
{
	struct policy *p = parse_ok("{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": "
				    "[\"odin@example.com\"], \"dst\": [\"tag:server:22\"]}, "
				    "{\"action\": \"accept\", \"src\": [\"thor@example.org\"], "
				    "\"dst\": [\"autogroup:internet:*\"]}]}");
	struct policy *q = parse_ok("{" OWNERS ", \"acls\": [{\"action\": \"accept\", \"src\": "
				    "[\"odin@example.com\"], \"dst\": [\"tag:server:23\"]}, "
				    "{\"action\": \"accept\", \"src\": [\"thor@example.org\"], "
				    "\"dst\": [\"autogroup:internet:*\"]}]}");
	struct policy_compiled *c, *d;

	(void)state;
	assert_int_equal(policy_compile(p, &topo, &c), 0);
	assert_int_equal(policy_compile(q, &topo, &d), 0);
	assert_true(policy_compiled_can_see(c, N_A, N_C));
	assert_true(policy_compiled_can_see(c, N_C, N_A));
	assert_true(policy_compiled_can_see(c, N_A2, N_C));
	assert_false(policy_compiled_can_see(c, N_A, N_B));
	assert_false(policy_compiled_can_see(c, N_A, N_A2));
	assert_false(policy_compiled_can_see(c, N_A, N_A));
	assert_true(policy_compiled_can_see(c, N_B, N_E)); /* exit node for the internet */
	assert_false(policy_compiled_can_see(c, N_A, N_E));
	assert_false(policy_compiled_can_see(c, N_A, 99));
	/* The port change touches c only; the others keep their maps. */
	assert_false(policy_compiled_node_equal(c, N_C, d, N_C));
	assert_true(policy_compiled_node_equal(c, N_A, d, N_A));
	assert_true(policy_compiled_node_equal(c, N_B, d, N_B));
	assert_true(policy_compiled_node_equal(c, N_E, d, N_E));
	{
		/* The same, for every node at once (rows compared word by word). */
		uint8_t changed[16];

		assert_true(topo.nnodes <= sizeof(changed));
		assert_int_equal(policy_compiled_diff(c, d, changed), 1);
		assert_int_equal(changed[N_C], 1);
		assert_int_equal(changed[N_A], 0);
		assert_int_equal(policy_compiled_diff(c, c, changed), 0);
	}
	policy_compiled_free(d);
	/* Node a2 leaves: c loses a peer, b keeps its (the exit node), a2 has no match. */
	struct policy_topology less = topo;
	less.nnodes = N_A2;
	assert_int_equal(policy_compile(p, &less, &d), 0);
	assert_false(policy_compiled_node_equal(c, N_C, d, N_C));
	assert_true(policy_compiled_node_equal(c, N_B, d, N_B));
	assert_true(policy_compiled_node_equal(c, N_A, d, N_A));
	assert_false(policy_compiled_node_equal(c, N_A2, d, N_A2));
	assert_false(policy_compiled_node_equal(d, N_C, c, N_C));
	{
		/* Different node lists: nodes are matched by id. */
		uint8_t changed[16];

		policy_compiled_diff(c, d, changed);
		assert_int_equal(changed[N_C], 1);
		assert_int_equal(changed[N_A], 0);
		assert_int_equal(changed[N_B], 0);
		policy_compiled_diff(d, c, changed);
		assert_int_equal(changed[N_A2], 1); /* not in d */
		assert_int_equal(changed[N_B], 0);
	}
	policy_compiled_free(c);
	policy_compiled_free(d);
	policy_free(p);
	policy_free(q);
}

/* ---- randomized: compiled filters vs the naive reference ---- */

static bool range_has(const char *tok, const struct netaddr *a)
{
	char lo[NETADDR_STRLEN], *dash;
	struct netaddr x, y;
	struct netprefix pf;

	if (strcmp(tok, "*") == 0)
		return true;
	if ((dash = strchr(tok, '-')) != NULL) {
		snprintf(lo, sizeof(lo), "%.*s", (int)(dash - tok), tok);
		assert_int_equal(netaddr_parse(lo, &x), 0);
		assert_int_equal(netaddr_parse(dash + 1, &y), 0);
		return x.family == a->family && netaddr_cmp(&x, a) <= 0 && netaddr_cmp(a, &y) <= 0;
	}
	assert_int_equal(netprefix_parse_loose(tok, &pf), 0);
	return netprefix_contains(&pf, a);
}

/* Whether node d's compiled filter admits src -> dst:port/proto. */
static bool filter_allows(const json_t *rules, const struct netaddr *src,
			  const struct netaddr *dst, uint16_t port, uint8_t proto)
{
	const json_t *r, *v, *dp;
	size_t i, k;

	json_array_foreach(rules, i, r) {
		const json_t *pr = json_object_get(r, "IPProto");
		bool ok = false;

		if (json_array_size(pr) == 0)
			ok = proto == 6 || proto == 17 || proto == 1 || proto == 58;
		json_array_foreach(pr, k, v)
			ok |= json_integer_value(v) == proto;
		if (!ok)
			continue;
		ok = false;
		json_array_foreach(json_object_get(r, "SrcIPs"), k, v)
			ok |= range_has(json_string_value(v), src);
		if (!ok)
			continue;
		json_array_foreach(json_object_get(r, "DstPorts"), k, dp) {
			const json_t *ports = json_object_get(dp, "Ports");

			if (range_has(json_string_value(json_object_get(dp, "IP")), dst) &&
			    json_integer_value(json_object_get(ports, "First")) <= port &&
			    port <= json_integer_value(json_object_get(ports, "Last")))
				return true;
		}
	}
	return false;
}

static const char *pick(uint64_t *rng, const char *const *v, size_t n)
{
	return v[tu_rng(rng) % n];
}

static void test_differential(void **state)
{
	static const char *const tagsets[][2] = {
		{NULL, NULL}, {"tag:a", NULL}, {"tag:b", NULL}, {"tag:a", "tag:b"}};
	static const char *const srcs[] = {
		"*",	      "u0@x.io",	  "u1@x.io",	      "u2@y.io",     "group:g0",
		"group:g1", "tag:a",	  "tag:b",	      "autogroup:member", "autogroup:tagged",
		"h0",	      "h1",	  "100.64.0.2",      "user:*@x.io", "fd7a:115c:a1e0::3"};
	static const char *const dsts[] = {
		"*",	      "u0@x.io",	  "u1@x.io",	  "group:g0",	      "tag:a",
		"tag:b",      "autogroup:member", "autogroup:tagged", "autogroup:self", "h0",
		"h1",	      "100.64.0.4",	  "autogroup:internet"};
	static const char *const ports[] = {"*", "22", "80-443", "22,443", "0-1024"};
	static const char *const protos[] = {"", "tcp", "udp", "icmp", "6"};
	static const uint16_t probe_ports[] = {0, 22, 23, 80, 443, 1024, 8080};
	static const uint8_t probe_protos[] = {6, 17, 1, 58, 47};
	const struct policy_user ru[3] = {{1, "u0", "u0@x.io"}, {2, "u1", "u1@x.io"},
					  {3, "u2", "u2@y.io"}};
	struct netaddr ra[8][2];
	struct policy_node rn[8];
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t accepted = 0, checked = 0;

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct policy_topology rt = {.tailnet = "u0@x.io", .users = ru, .nusers = 3,
					     .nodes = rn};
		char text[8192], buf[64];
		size_t off = 0, nacl = 1 + tu_rng(&rng) % 4;
		struct policy_compiled *c;
		struct policy_err err;
		struct policy *p;

		rt.nnodes = 3 + tu_rng(&rng) % 6;
		memset(rn, 0, sizeof(rn));
		for (size_t i = 0; i < rt.nnodes; i++) {
			size_t ts = tu_rng(&rng) % 4;

			snprintf(buf, sizeof(buf), "100.64.0.%zu", i + 1);
			assert_int_equal(netaddr_parse(buf, &ra[i][0]), 0);
			snprintf(buf, sizeof(buf), "fd7a:115c:a1e0::%zu", i + 1);
			assert_int_equal(netaddr_parse(buf, &ra[i][1]), 0);
			rn[i].id = i + 1;
			rn[i].name = "n";
			rn[i].addrs = ra[i];
			rn[i].naddrs = 2;
			rn[i].user = ts == 0 || tu_rng(&rng) % 2 ? (int)(tu_rng(&rng) % 3) : -1;
			if (ts != 0 && rn[i].user < 0) {
				rn[i].tags = tagsets[ts];
				rn[i].ntags = tagsets[ts][1] ? 2 : 1;
			}
		}
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"{\"tagOwners\": {\"tag:a\": [], \"tag:b\": []}, "
					"\"groups\": {\"group:g0\": [\"u0@x.io\", \"u2@y.io\"], "
					"\"group:g1\": []}, \"hosts\": {\"h0\": \"100.64.0.1\", "
					"\"h1\": \"100.64.0.4/30\"}, \"acls\": [");
		for (size_t a = 0; a < nacl; a++) {
			size_t ns = 1 + tu_rng(&rng) % 3, nd = 1 + tu_rng(&rng) % 3;
			const char *proto = pick(&rng, protos, 5);

			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"%s{\"action\": \"accept\", \"src\": [", a ? "," : "");
			for (size_t k = 0; k < ns; k++)
				off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"%s\"",
							k ? "," : "", pick(&rng, srcs, 15));
			off += (size_t)snprintf(text + off, sizeof(text) - off, "], \"dst\": [");
			for (size_t k = 0; k < nd; k++)
				off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"%s:%s\"",
							k ? "," : "", pick(&rng, dsts, 13),
							strcmp(proto, "icmp") == 0
								? "*"
								: pick(&rng, ports, 5));
			off += (size_t)snprintf(text + off, sizeof(text) - off, "]%s%s%s}",
						proto[0] ? ", \"proto\": \"" : "", proto,
						proto[0] ? "\"" : "");
		}
		off += (size_t)snprintf(text + off, sizeof(text) - off, "]}");
		assert_true(off < sizeof(text));
		if (policy_parse(text, off, rt.tailnet, &p, &err) < 0) {
			/* Only the autogroup:self source rule may refuse these policies. */
			assert_non_null(strstr(err.msg, "autogroup:self"));
			continue;
		}
		accepted++;
		assert_int_equal(policy_compile(p, &rt, &c), 0);
		for (size_t s = 0; s < rt.nnodes; s++) {
			for (size_t d = 0; d < rt.nnodes; d++) {
				for (size_t pi = 0; pi < sizeof(probe_ports) / sizeof(probe_ports[0]);
				     pi++) {
					for (size_t qi = 0; qi < sizeof(probe_protos); qi++) {
						uint16_t port = probe_ports[pi];
						uint8_t proto = probe_protos[qi];
						bool any = false;

						for (int f = 0; f < 2; f++) {
							bool want = policy_naive_allows(
								p, &rt, s, &ra[s][f], d, &ra[d][f],
								port, proto);
							bool got = filter_allows(
								policy_compiled_filter(c, d), &ra[s][f],
								&ra[d][f], port, proto);

							if (got != want)
								fail_msg("round %d %zu->%zu port %u "
									 "proto %u fam %d: naive %d "
									 "compiled %d\n%s\n%s",
									 round, s, d, port, proto, f,
									 want, got, text,
									 json_dumps(
										 policy_compiled_filter(
											 c, d),
										 JSON_COMPACT));
							checked++;
							any |= want;
						}
						/* A node that may reach another sees it. */
						if (any && s != d)
							assert_true(policy_compiled_can_see(c, s, d));
					}
				}
			}
		}
		policy_compiled_free(c);
		policy_free(p);
	}
	assert_true(accepted > 100);
	assert_true(checked > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_compile_filter),
		cmocka_unit_test(test_compile_ssh),
		cmocka_unit_test(test_tests),
		cmocka_unit_test(test_tag_owners_and_routes),
		cmocka_unit_test(test_visibility),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

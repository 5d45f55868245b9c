/* SPDX-License-Identifier: ISC */
/* test_policy: policy parsing: accepts, and every refusal with its place and wording. */
#include <errno.h>

#include "policy/policy.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_rejects),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

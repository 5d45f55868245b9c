/* SPDX-License-Identifier: ISC */
/*
 * fuzz_policy: hostile policy files. Every input is parsed; an accepted policy
 * is compiled for a small fixed tailnet (users, tagged nodes, a subnet router)
 * and its tests run, and the compiled rules must be well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct policy_user users[] = {
	{ 1, "odin", "odin@example.com" },
	{ 2, "thor", "thor@example.org" },
};
static struct netaddr addrs[4][2];
static struct netprefix routes[1];
static const char *const tags_server[] = { "tag:server" };
static const char *const tags_two[] = { "tag:router", "tag:exit" };
static struct policy_node nodes[4] = {
	{ .id = 1, .name = "a", .user = 0 },
	{ .id = 2, .name = "b", .user = 1 },
	{ .id = 3, .name = "c", .user = -1, .tags = tags_server, .ntags = 1 },
	{ .id = 4, .name = "d", .user = -1, .tags = tags_two, .ntags = 2 },
};
static const struct policy_topology topo = {
	.tailnet = "odin@example.com", .users = users, .nusers = 2, .nodes = nodes, .nnodes = 4
};

static void setup(void)
{
	static int done;
	char buf[32];

	if (done)
		return;
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "100.64.0.%d", i + 1);
		if (netaddr_parse(buf, &addrs[i][0]) < 0)
			abort();
		snprintf(buf, sizeof(buf), "fd7a:115c:a1e0::%d", i + 1);
		if (netaddr_parse(buf, &addrs[i][1]) < 0)
			abort();
		nodes[i].addrs = addrs[i];
		nodes[i].naddrs = 2;
	}
	if (netprefix_parse("10.33.0.0/16", &routes[0]) < 0)
		abort();
	nodes[3].routes = nodes[3].approved = routes;
	nodes[3].nroutes = nodes[3].napproved = 1;
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_compiled *c = NULL;
	struct policy_err err;
	struct policy *p = NULL;
	char msg[512];

	setup();
	if (policy_parse((const char *)data, size, topo.tailnet, &p, &err) < 0) {
		if (p != NULL)
			abort();
		policy_err_format(&err, msg, sizeof(msg));
		return 0;
	}
	(void)!policy_check_tests(p, &topo, &err);
	if (policy_compile(p, &topo, &c) == 0) {
		for (size_t i = 0; i < topo.nnodes; i++) {
			if (!json_is_array(policy_compiled_filter(c, i)) ||
			    !json_is_array(policy_compiled_ssh(c, i)))
				abort();
			if (!policy_compiled_node_equal(c, i, c, i))
				abort();
			for (size_t j = 0; j < topo.nnodes; j++)
				if (policy_compiled_can_see(c, i, j) !=
				    policy_compiled_can_see(c, j, i))
					abort();
		}
	}
	(void)policy_tag_may_own(p, "tag:server", "odin@example.com", tags_two, 2);
	(void)policy_route_auto_approved(p, &topo, 3, &routes[0]);
	policy_compiled_free(c);
	policy_free(p);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * policy: Tailscale's tailnet policy file (HuJSON: groups, hosts, tagOwners,
 * acls, grants, ssh, autoApprovers, nodeAttrs, tests, sshTests) as a validated
 * model; its compilation against a topology (users, nodes) into each node's
 * packet filter and SSH rules in Tailscale's JSON shape, plus peer visibility;
 * the tests, tag ownership and route auto-approval. Sans-I/O: text in, values out.
 */
#ifndef WEFT_POLICY_POLICY_H
#define WEFT_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/netaddr.h"

struct arena;

#define POLICY_ERR_LEN 320
#define POLICY_PATH_LEN 96
/* Largest policy file accepted. */
#define POLICY_MAX_LEN (1u << 20)
/* SSH checkPeriod: default and maximum (Tailscale's). */
#define POLICY_CHECK_DEFAULT_NS (12ull * 3600 * 1000000000ull)
#define POLICY_CHECK_MAX_NS (168ull * 3600 * 1000000000ull)

/*
 * Why a policy was refused: 1-based line and column when the place is known
 * (0 otherwise), the JSON path of the offending value ("acls[0].src[1]"),
 * and the problem, in Tailscale's words where Tailscale's are known.
 */
struct policy_err {
	unsigned line;
	unsigned column;
	char path[POLICY_PATH_LEN];
	char msg[POLICY_ERR_LEN];
};

/* "LINE:COL: PATH: MSG" (parts that are unknown left out) into buf. */
char *policy_err_format(const struct policy_err *e, char *buf, size_t len);

/* ---- the model ---- */

enum policy_alias_kind {
	POLICY_A_WILDCARD = 1, /* "*" */
	POLICY_A_USER,	       /* "alice@example.com": a user's untagged nodes */
	POLICY_A_GROUP,	       /* "group:eng" */
	POLICY_A_TAG,	       /* "tag:server" */
	POLICY_A_HOST,	       /* a name from `hosts` */
	POLICY_A_PREFIX,       /* "100.64.0.1", "10.0.0.0/8", "fd7a::1" */
	POLICY_A_DOMAIN,       /* "user:*@example.com": every user in a domain */
	POLICY_A_MEMBER,       /* autogroup:member */
	POLICY_A_TAGGED,       /* autogroup:tagged */
	POLICY_A_SELF,	       /* autogroup:self (destinations only) */
	POLICY_A_INTERNET,     /* autogroup:internet (destinations only) */
	POLICY_A_DANGER_ALL,   /* autogroup:danger-all (sources only) */
};

/* One selector. `name` is the text (login, group, tag, host or domain); hosts carry their prefix.
 */
struct policy_alias {
	uint8_t kind;
	const char *name;
	struct netprefix prefix;
};

struct policy_portrange {
	uint16_t first;
	uint16_t last;
};

/* A destination "alias:ports" of an ACL, or an ip entry of a grant. */
struct policy_dst {
	struct policy_alias alias;
	const struct policy_portrange *ports;
	size_t nports;
};

/* acls[] entry; grants are lowered to the same shape (ports come from `ip`). */
struct policy_acl {
	const struct policy_alias *src;
	size_t nsrc;
	const struct policy_dst *dst;
	size_t ndst;
	const uint8_t *protos; /* IP protocol numbers; none: TCP, UDP, ICMP, ICMPv6 */
	size_t nprotos;
	const char *const *via; /* grants: tags of the routers the grant is limited to */
	size_t nvia;
	json_t *app; /* grants: capability map {cap: [values]} (borrowed from the document) */
	bool grant;
};

struct policy_ssh {
	bool check; /* action check (else accept) */
	uint64_t check_period_ns;
	bool check_always;
	const struct policy_alias *src;
	size_t nsrc;
	const struct policy_alias *dst;
	size_t ndst;
	const char *const *users;
	size_t nusers;
	const char *const *accept_env;
	size_t naccept_env;
};

struct policy_group {
	const char *name;
	const char *const *members; /* logins */
	size_t nmembers;
};

struct policy_host {
	const char *name;
	struct netprefix prefix;
};

struct policy_tag_owner {
	const char *tag;
	const char *const *owners; /* logins, group:, tag:, autogroup: */
	size_t nowners;
};

struct policy_route_approver {
	struct netprefix prefix;
	const struct policy_alias *approvers;
	size_t napprovers;
};

struct policy_node_attr {
	const struct policy_alias *target;
	size_t ntarget;
	const char *const *attrs;
	size_t nattrs;
	json_t *app;
};

/* One `tests` assertion destination "host:port"; `bad` says why it can never pass. */
struct policy_test_dst {
	const char *text;
	struct policy_alias alias;
	uint16_t port;
	const char *bad;
};

struct policy_test {
	const char *src_text;
	struct policy_alias src;
	const char *src_bad;
	const uint8_t *protos; /* none: TCP */
	size_t nprotos;
	const struct policy_test_dst *accept;
	size_t naccept;
	const struct policy_test_dst *deny;
	size_t ndeny;
};

struct policy_ssh_test {
	const char *src_text;
	struct policy_alias src;
	const struct policy_alias *dst;
	size_t ndst;
	const char *const *accept;
	size_t naccept;
	const char *const *check;
	size_t ncheck;
	const char *const *deny;
	size_t ndeny;
};

/* A parsed, validated policy. Immutable once parsed; free with policy_free. */
struct policy {
	struct arena *arena;
	json_t *doc;
	bool has_rules; /* `acls` or `grants` present (else everything is allowed) */
	const struct policy_group *groups;
	size_t ngroups;
	const struct policy_host *hosts;
	size_t nhosts;
	const struct policy_tag_owner *tag_owners;
	size_t ntag_owners;
	const struct policy_acl *acls; /* acls, then grants */
	size_t nacls;
	const struct policy_ssh *ssh;
	size_t nssh;
	const struct policy_route_approver *routes;
	size_t nroutes;
	const struct policy_alias *exit_node;
	size_t nexit_node;
	const struct policy_node_attr *node_attrs;
	size_t nnode_attrs;
	const struct policy_test *tests;
	size_t ntests;
	const struct policy_ssh_test *ssh_tests;
	size_t nssh_tests;
};

/*
 * Parses and validates a HuJSON policy. On failure *out is NULL and err says
 * where and why (the caller keeps its previous policy in force). `tailnet` is
 * the tailnet owner's login (its domain is the only one `user:*@domain` and
 * `localpart:*@domain` may name); NULL accepts any domain.
 */
int policy_parse(const char *text, size_t len, const char *tailnet, struct policy **out,
		 struct policy_err *err) __attribute__((warn_unused_result));
void policy_free(struct policy *p);

/* ---- the topology the server fills from its state ---- */

struct policy_user {
	uint64_t id;
	const char *name;
	const char *login; /* the email the policy names the user by */
};

struct policy_node {
	uint64_t id;
	const char *name;
	const char *hostname;
	int user; /* index into policy_topology.users, -1 if none (tagged nodes have no user) */
	const char *const *tags;
	size_t ntags;
	const struct netaddr *addrs; /* tailnet addresses (IPv4, IPv6) */
	size_t naddrs;
	const struct netprefix *routes; /* advertised (routable IPs) */
	size_t nroutes;
	const struct netprefix *approved; /* approved routes */
	size_t napproved;
};

struct policy_topology {
	const char *tailnet;	 /* owner login, e.g. "odin@example.com" */
	const char *control_url; /* base of SSH check URLs; NULL: "https://unused" */
	const struct policy_user *users;
	size_t nusers;
	const struct policy_node *nodes;
	size_t nnodes;
};

/* ---- compilation ---- */

struct policy_compiled;

/*
 * Compiles `p` for every node of `t`: per node the packet filter rules
 * (Tailscale FilterRule array) and SSH rules (SSHRule array), and which peers
 * each node may see. `t` must outlive the result.
 */
int policy_compile(const struct policy *p, const struct policy_topology *t,
		   struct policy_compiled **out) __attribute__((warn_unused_result));
void policy_compiled_free(struct policy_compiled *c);

/* Node `i`'s FilterRule array and SSHRule array (borrowed; never NULL). */
json_t *policy_compiled_filter(const struct policy_compiled *c, size_t i);
json_t *policy_compiled_ssh(const struct policy_compiled *c, size_t i);
/*
 * Whether node i's map lists node j: i may reach j (j's filter accepts one of
 * i's addresses), j may reach i, or j is an exit node i may use.
 */
bool policy_compiled_can_see(const struct policy_compiled *c, size_t i, size_t j);
/*
 * Whether node `i` of `a` and node `j` of `b` (the same node before and after
 * a change) got the same filter, SSH rules and peer list (peers by node id):
 * the server sends a delta only to nodes where this is false.
 */
bool policy_compiled_node_equal(const struct policy_compiled *a, size_t i,
				const struct policy_compiled *b, size_t j);
/*
 * policy_compiled_node_equal for every node of b at once, against the same
 * node of a: changed[j] = 1 when node j of b is not in a or differs. Costs
 * O(n^2 / 64) when both list the same nodes, O(n^2) otherwise. Returns how
 * many changed.
 */
int policy_compiled_diff(const struct policy_compiled *a, const struct policy_compiled *b,
			 uint8_t *changed);

/* ---- tests, tag ownership, route approval ---- */

/*
 * Runs `tests` and `sshTests` against `t`. 0 if all pass; -EINVAL with err
 * naming the first failing assertion ("tests[1]: thor@example.org -> webserver:443:
 * expected accept, got deny").
 */
int policy_check_tests(const struct policy *p, const struct policy_topology *t,
		       struct policy_err *err) __attribute__((warn_unused_result));

/* Whether `tag` is defined in tagOwners. */
bool policy_tag_is_defined(const struct policy *p, const char *tag);
/*
 * Whether a node may carry `tag`: the tag is defined and the requester is one
 * of its owners: `login` (the user tagging or registering, may be NULL)
 * directly or through a group, or one of `owner_tags` (the node's tags, for
 * a tagged node applying more tags) is listed.
 */
bool policy_tag_may_own(const struct policy *p, const char *tag, const char *login,
			const char *const *owner_tags, size_t nowner_tags);

/*
 * Whether `autoApprovers` approves `route` for node `i` of `t` (0.0.0.0/0 and
 * ::/0 through exitNode, others through the routes entry whose prefix
 * contains it).
 */
bool policy_route_auto_approved(const struct policy *p, const struct policy_topology *t, size_t i,
				const struct netprefix *route);

#endif

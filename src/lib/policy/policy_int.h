/* SPDX-License-Identifier: ISC */
/*
 * policy_int: helpers shared by the policy module's files (parse, compile,
 * ssh, tests): alias resolution against a topology and small growable
 * arrays in an arena. Not part of the module's interface.
 */
#ifndef WEFT_POLICY_POLICY_INT_H
#define WEFT_POLICY_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy/policy.h"

struct arena;

/* Tailscale's "*" source set: CGNAT minus 100.115.92.0/23, as ranges, and the ULA /48. */
#define POLICY_CGNAT_LO "100.64.0.0-100.115.91.255"
#define POLICY_CGNAT_HI "100.115.94.0-100.127.255.255"
#define POLICY_ULA "fd7a:115c:a1e0::/48"

/*
 * A growable array of strings kept unique (insertion order), in an arena.
 * Past a few entries a hash index (`ix`, slot = position + 1, 0 empty) keeps
 * membership O(1): a group of thousands of nodes must not cost n^2.
 */
struct policy_strset {
	const char **v;
	size_t n;
	size_t cap;
	uint32_t *ix;
	size_t ixcap; /* a power of two, or 0 */
};

int policy_strset_add(struct arena *a, struct policy_strset *s, const char *str)
	__attribute__((warn_unused_result));
bool policy_strset_has(const struct policy_strset *s, const char *str);

/* A growable array of node indexes kept unique (with the same kind of index). */
struct policy_nodeset {
	size_t *v;
	size_t n;
	size_t cap;
	uint32_t *ix;
	size_t ixcap;
};

int policy_nodeset_add(struct arena *a, struct policy_nodeset *s, size_t i)
	__attribute__((warn_unused_result));
bool policy_nodeset_has(const struct policy_nodeset *s, size_t i);

/* Whether node i of t is tagged, and whether it carries `tag`. */
bool policy_node_is_tagged(const struct policy_topology *t, size_t i);
bool policy_node_has_tag(const struct policy_topology *t, size_t i, const char *tag);
/* The login of node i's user, or NULL (tagged or no user). */
const char *policy_node_login(const struct policy_topology *t, size_t i);
/* Whether an exit route (0.0.0.0/0 or ::/0). */
bool policy_prefix_is_exit(const struct netprefix *p);

const struct policy_group *policy_find_group(const struct policy *p, const char *name);
/* Whether `login` is in group `name` (false if no such group). */
bool policy_group_has(const struct policy *p, const char *name, const char *login);

/*
 * Whether node i is selected by alias `a` as a node (users, groups, tags,
 * autogroups, domains; hosts and prefixes select nodes whose address they
 * contain). Wildcard selects every node. Self and internet select none.
 */
bool policy_alias_has_node(const struct policy *p, const struct policy_topology *t,
			   const struct policy_alias *a, size_t i);

/*
 * policy_alias_has_node for every node at once: sets bit i of `bits`
 * (zeroed, (nnodes + 63) / 64 words) for each node `a` selects. Users,
 * groups and domains are judged once per user rather than per node, which
 * is what makes a 10,000-node compile affordable.
 */
int policy_alias_node_bits(const struct policy *p, const struct policy_topology *t,
			   const struct policy_alias *a, uint64_t *bits)
	__attribute__((warn_unused_result));

static inline bool policy_bit(const uint64_t *bits, size_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1u;
}

/* Formats an address as Tailscale writes it in rules ("100.64.0.1", "fd7a::1"). */
char *policy_addr_text(struct arena *a, const struct netaddr *addr);
/* A prefix: a bare address for /32 and /128, else "10.0.0.0/8". */
char *policy_prefix_text(struct arena *a, const struct netprefix *p);

/*
 * Adds the source strings alias `al` stands for to `out`: node addresses,
 * prefixes, or for "*" the CGNAT ranges, the ULA and every approved subnet
 * route. Adds the nodes it selects to `nodes` if given.
 */
int policy_alias_sources(const struct policy *p, const struct policy_topology *t, struct arena *a,
			 const struct policy_alias *al, struct policy_strset *out,
			 struct policy_nodeset *nodes) __attribute__((warn_unused_result));

/*
 * Node d's SSHRule array (a new reference): check rules first, then accept
 * rules, each in policy order.
 */
int policy_ssh_for_node(const struct policy *p, const struct policy_topology *t, struct arena *a,
			size_t d, json_t **out) __attribute__((warn_unused_result));

/* Domain of a login ("example.com" for "odin@example.com"), or "" if none. */
const char *policy_login_domain(const char *login);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * policy_alias: what a selector stands for in a topology (which nodes, which
 * source addresses), and the small arena-backed sets the compiler builds with.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

/* Sets this small are searched linearly; larger ones get a hash index. */
#define SET_LINEAR_MAX 16

static uint32_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t idx_hash(size_t i)
{
	uint64_t h = (uint64_t)i * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32);
}

/* Index slot of `str` in s (its entry, or the empty slot where it would go). */
static size_t strset_slot(const struct policy_strset *s, const char *str)
{
	size_t m = s->ixcap - 1, k = str_hash(str) & m;

	while (s->ix[k] != 0 && strcmp(s->v[s->ix[k] - 1], str) != 0)
		k = (k + 1) & m;
	return k;
}

static size_t nodeset_slot(const struct policy_nodeset *s, size_t i)
{
	size_t m = s->ixcap - 1, k = idx_hash(i) & m;

	while (s->ix[k] != 0 && s->v[s->ix[k] - 1] != i)
		k = (k + 1) & m;
	return k;
}

/* Grows an index to twice `want` slots and re-inserts entries 0..n (load <= 1/2). */
static int strset_reindex(struct arena *a, struct policy_strset *s, size_t want)
{
	size_t cap = 64;

	while (cap < 2 * want)
		cap *= 2;
	if (cap > UINT32_MAX || (s->ix = arena_calloc(a, cap, sizeof(*s->ix))) == NULL)
		return -ENOMEM;
	s->ixcap = cap;
	for (size_t i = 0; i < s->n; i++)
		s->ix[strset_slot(s, s->v[i])] = (uint32_t)(i + 1);
	return 0;
}

static int nodeset_reindex(struct arena *a, struct policy_nodeset *s, size_t want)
{
	size_t cap = 64;

	while (cap < 2 * want)
		cap *= 2;
	if (cap > UINT32_MAX || (s->ix = arena_calloc(a, cap, sizeof(*s->ix))) == NULL)
		return -ENOMEM;
	s->ixcap = cap;
	for (size_t i = 0; i < s->n; i++)
		s->ix[nodeset_slot(s, s->v[i])] = (uint32_t)(i + 1);
	return 0;
}

int policy_strset_add(struct arena *a, struct policy_strset *s, const char *str)
{
	const char **nv;

	if (policy_strset_has(s, str))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;

		if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		if (s->n > 0)
			memcpy(nv, s->v, s->n * sizeof(*nv));
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	if (s->n > SET_LINEAR_MAX) {
		if (2 * s->n > s->ixcap)
			return strset_reindex(a, s, s->n);
		s->ix[strset_slot(s, str)] = (uint32_t)s->n;
	}
	return 0;
}

bool policy_strset_has(const struct policy_strset *s, const char *str)
{
	size_t i;

	if (s->ixcap > 0)
		return s->ix[strset_slot(s, str)] != 0;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

int policy_nodeset_add(struct arena *a, struct policy_nodeset *s, size_t i)
{
	size_t *nv;

	if (policy_nodeset_has(s, i))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;

		if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		if (s->n > 0)
			memcpy(nv, s->v, s->n * sizeof(*nv));
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = i;
	if (s->n > SET_LINEAR_MAX) {
		if (2 * s->n > s->ixcap)
			return nodeset_reindex(a, s, s->n);
		s->ix[nodeset_slot(s, i)] = (uint32_t)s->n;
	}
	return 0;
}

bool policy_nodeset_has(const struct policy_nodeset *s, size_t i)
{
	size_t k;

	if (s->ixcap > 0)
		return s->ix[nodeset_slot(s, i)] != 0;
	for (k = 0; k < s->n; k++)
		if (s->v[k] == i)
			return true;
	return false;
}

bool policy_node_is_tagged(const struct policy_topology *t, size_t i)
{
	return t->nodes[i].ntags > 0;
}

bool policy_node_has_tag(const struct policy_topology *t, size_t i, const char *tag)
{
	size_t k;

	for (k = 0; k < t->nodes[i].ntags; k++)
		if (strcmp(t->nodes[i].tags[k], tag) == 0)
			return true;
	return false;
}

const char *policy_node_login(const struct policy_topology *t, size_t i)
{
	int u = t->nodes[i].user;

	if (policy_node_is_tagged(t, i) || u < 0 || (size_t)u >= t->nusers)
		return NULL;
	return t->users[u].login;
}

bool policy_prefix_is_exit(const struct netprefix *p)
{
	return p->bits == 0;
}

const char *policy_login_domain(const char *login)
{
	const char *at = strrchr(login, '@');

	return at != NULL ? at + 1 : "";
}

const struct policy_group *policy_find_group(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

/* Logins compare case-insensitively, as e-mail addresses do in practice. */
static bool login_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool policy_group_has(const struct policy *p, const char *name, const char *login)
{
	const struct policy_group *g = policy_find_group(p, name);
	size_t i;

	if (g == NULL || login == NULL)
		return false;
	for (i = 0; i < g->nmembers; i++)
		if (login_eq(g->members[i], login))
			return true;
	return false;
}

static bool node_in_prefix(const struct policy_topology *t, size_t i, const struct netprefix *p)
{
	size_t k;

	for (k = 0; k < t->nodes[i].naddrs; k++)
		if (netprefix_contains(p, &t->nodes[i].addrs[k]))
			return true;
	return false;
}

bool policy_alias_has_node(const struct policy *p, const struct policy_topology *t,
			   const struct policy_alias *a, size_t i)
{
	const char *login = policy_node_login(t, i);

	switch ((enum policy_alias_kind)a->kind) {
	case POLICY_A_WILDCARD:
	case POLICY_A_DANGER_ALL:
		return true;
	case POLICY_A_USER:
		return login != NULL && login_eq(login, a->name);
	case POLICY_A_GROUP:
		return login != NULL && policy_group_has(p, a->name, login);
	case POLICY_A_TAG:
		return policy_node_has_tag(t, i, a->name);
	case POLICY_A_DOMAIN:
		return login != NULL && strcasecmp(policy_login_domain(login), a->name) == 0;
	case POLICY_A_MEMBER:
		return login != NULL;
	case POLICY_A_TAGGED:
		return policy_node_is_tagged(t, i);
	case POLICY_A_HOST:
	case POLICY_A_PREFIX:
		return node_in_prefix(t, i, &a->prefix);
	case POLICY_A_SELF:
	case POLICY_A_INTERNET:
		return false;
	}
	return false;
}

int policy_alias_node_bits(const struct policy *p, const struct policy_topology *t,
			   const struct policy_alias *a, uint64_t *bits)
{
	const struct policy_group *g = NULL;
	uint8_t *um;
	size_t i, u, k;

	if (a->kind != POLICY_A_USER && a->kind != POLICY_A_GROUP && a->kind != POLICY_A_DOMAIN &&
	    a->kind != POLICY_A_MEMBER) {
		for (i = 0; i < t->nnodes; i++)
			if (policy_alias_has_node(p, t, a, i))
				bits[i / 64] |= 1ull << (i % 64);
		return 0;
	}
	/* These select the untagged nodes of some users: decide per user. */
	if ((um = calloc(t->nusers + 1, 1)) == NULL)
		return -ENOMEM;
	if (a->kind == POLICY_A_GROUP)
		g = policy_find_group(p, a->name);
	for (u = 0; u < t->nusers; u++) {
		const char *login = t->users[u].login;

		if (login == NULL)
			continue;
		if (a->kind == POLICY_A_USER) {
			um[u] = login_eq(login, a->name);
		} else if (a->kind == POLICY_A_GROUP) {
			for (k = 0; g != NULL && k < g->nmembers && !um[u]; k++)
				um[u] = login_eq(g->members[k], login);
		} else if (a->kind == POLICY_A_DOMAIN) {
			um[u] = strcasecmp(policy_login_domain(login), a->name) == 0;
		} else {
			um[u] = 1; /* autogroup:member */
		}
	}
	for (i = 0; i < t->nnodes; i++) {
		int nu = t->nodes[i].user;

		if (!policy_node_is_tagged(t, i) && nu >= 0 && (size_t)nu < t->nusers && um[nu])
			bits[i / 64] |= 1ull << (i % 64);
	}
	free(um);
	return 0;
}

char *policy_addr_text(struct arena *a, const struct netaddr *addr)
{
	char buf[NETADDR_STRLEN];

	return arena_strdup(a, netaddr_format(addr, buf, sizeof(buf)));
}

char *policy_prefix_text(struct arena *a, const struct netprefix *p)
{
	char buf[NETPREFIX_STRLEN];

	if (p->bits == netaddr_bits(&p->addr))
		return policy_addr_text(a, &p->addr);
	return arena_strdup(a, netprefix_format(p, buf, sizeof(buf)));
}

static int add_node_addrs(const struct policy_topology *t, struct arena *a, size_t i,
			  struct policy_strset *out)
{
	size_t k;
	char *s;
	int rc;

	for (k = 0; k < t->nodes[i].naddrs; k++) {
		if ((s = policy_addr_text(a, &t->nodes[i].addrs[k])) == NULL)
			return -ENOMEM;
		if ((rc = policy_strset_add(a, out, s)) < 0)
			return rc;
	}
	return 0;
}

/* Whether one of node i's approved routes overlaps p (a source prefix from its subnet). */
static bool node_routes_overlap(const struct policy_topology *t, size_t i,
				const struct netprefix *p)
{
	size_t k;

	for (k = 0; k < t->nodes[i].napproved; k++)
		if (!policy_prefix_is_exit(&t->nodes[i].approved[k]) &&
		    netprefix_overlaps(&t->nodes[i].approved[k], p))
			return true;
	return false;
}

int policy_alias_sources(const struct policy *p, const struct policy_topology *t, struct arena *a,
			 const struct policy_alias *al, struct policy_strset *out,
			 struct policy_nodeset *nodes)
{
	uint64_t *bits = NULL;
	size_t i, k;
	char *s;
	int rc;

	switch ((enum policy_alias_kind)al->kind) {
	case POLICY_A_DANGER_ALL:
		if ((rc = policy_strset_add(a, out, "*")) < 0)
			return rc;
		break;
	case POLICY_A_WILDCARD:
		if ((rc = policy_strset_add(a, out, POLICY_CGNAT_LO)) < 0 ||
		    (rc = policy_strset_add(a, out, POLICY_CGNAT_HI)) < 0 ||
		    (rc = policy_strset_add(a, out, POLICY_ULA)) < 0)
			return rc;
		for (i = 0; i < t->nnodes; i++) {
			for (k = 0; k < t->nodes[i].napproved; k++) {
				const struct netprefix *r = &t->nodes[i].approved[k];

				if (policy_prefix_is_exit(r))
					continue;
				if ((s = policy_prefix_text(a, r)) == NULL)
					return -ENOMEM;
				if ((rc = policy_strset_add(a, out, s)) < 0)
					return rc;
			}
		}
		break;
	case POLICY_A_HOST:
	case POLICY_A_PREFIX:
		if ((s = policy_prefix_text(a, &al->prefix)) == NULL)
			return -ENOMEM;
		if ((rc = policy_strset_add(a, out, s)) < 0)
			return rc;
		break;
	case POLICY_A_USER:
	case POLICY_A_GROUP:
	case POLICY_A_TAG:
	case POLICY_A_DOMAIN:
	case POLICY_A_MEMBER:
	case POLICY_A_TAGGED:
		/* Nodes selected, once: their addresses, and them. */
		if ((bits = arena_calloc(a, (t->nnodes + 63) / 64 + 1, sizeof(*bits))) == NULL ||
		    (rc = policy_alias_node_bits(p, t, al, bits)) < 0)
			return bits == NULL ? -ENOMEM : rc;
		for (i = 0; i < t->nnodes; i++) {
			if (!policy_bit(bits, i))
				continue;
			if ((rc = add_node_addrs(t, a, i, out)) < 0 ||
			    (nodes != NULL && (rc = policy_nodeset_add(a, nodes, i)) < 0))
				return rc;
		}
		return 0;
	case POLICY_A_SELF:
	case POLICY_A_INTERNET:
		break;
	}
	if (nodes == NULL)
		return 0;
	for (i = 0; i < t->nnodes; i++) {
		bool sel = policy_alias_has_node(p, t, al, i);

		if (!sel && (al->kind == POLICY_A_HOST || al->kind == POLICY_A_PREFIX))
			sel = node_routes_overlap(t, i, &al->prefix);
		if (!sel && al->kind == POLICY_A_WILDCARD)
			sel = true;
		if (sel && (rc = policy_nodeset_add(a, nodes, i)) < 0)
			return rc;
	}
	return 0;
}

/* SPDX-License-Identifier: ISC */
/* policy_naive: direct evaluation of acls and grants against a topology (see policy_naive.h). */
#include <string.h>
#include <strings.h>

#include "policy_naive.h"

static const char *login(const struct policy_topology *t, size_t i)
{
	const struct policy_node *n = &t->nodes[i];

	return n->ntags == 0 && n->user >= 0 ? t->users[n->user].login : NULL;
}

static bool in_group(const struct policy *p, const char *group, const char *who)
{
	for (size_t g = 0; g < p->ngroups; g++)
		if (strcmp(p->groups[g].name, group) == 0)
			for (size_t m = 0; m < p->groups[g].nmembers; m++)
				if (strcasecmp(p->groups[g].members[m], who) == 0)
					return true;
	return false;
}

static bool has_tag(const struct policy_node *n, const char *tag)
{
	for (size_t k = 0; k < n->ntags; k++)
		if (strcmp(n->tags[k], tag) == 0)
			return true;
	return false;
}

/* Whether alias a names address `addr` of node i (self and internet name none by themselves). */
static bool names(const struct policy *p, const struct policy_topology *t,
		  const struct policy_alias *a, size_t i, const struct netaddr *addr)
{
	const char *l = login(t, i);
	const char *at;

	switch ((enum policy_alias_kind)a->kind) {
	case POLICY_A_WILDCARD:
	case POLICY_A_DANGER_ALL:
		return true;
	case POLICY_A_USER:
		return l != NULL && strcasecmp(l, a->name) == 0;
	case POLICY_A_GROUP:
		return l != NULL && in_group(p, a->name, l);
	case POLICY_A_TAG:
		return has_tag(&t->nodes[i], a->name);
	case POLICY_A_DOMAIN:
		return l != NULL && (at = strrchr(l, '@')) != NULL &&
		       strcasecmp(at + 1, a->name) == 0;
	case POLICY_A_MEMBER:
		return l != NULL;
	case POLICY_A_TAGGED:
		return t->nodes[i].ntags > 0;
	case POLICY_A_HOST:
	case POLICY_A_PREFIX:
		return netprefix_contains(&a->prefix, addr);
	case POLICY_A_SELF:
	case POLICY_A_INTERNET:
		return false;
	}
	return false;
}

bool policy_naive_allows(const struct policy *p, const struct policy_topology *t, size_t s,
			 const struct netaddr *sa, size_t d, const struct netaddr *da,
			 uint16_t port, uint8_t proto)
{
	if (!p->has_rules)
		return true;
	for (size_t r = 0; r < p->nacls; r++) {
		const struct policy_acl *acl = &p->acls[r];
		bool proto_ok = acl->nprotos == 0 ?
					(proto == 6 || proto == 17 || proto == 1 || proto == 58) :
					false,
		     src_ok = false;

		for (size_t k = 0; k < acl->nprotos; k++)
			proto_ok |= acl->protos[k] == proto;
		if (acl->app != NULL || !proto_ok)
			continue;
		if (acl->nvia > 0) {
			bool via = false;

			for (size_t k = 0; k < acl->nvia; k++)
				via |= has_tag(&t->nodes[d], acl->via[k]);
			if (!via)
				continue;
		}
		for (size_t k = 0; k < acl->nsrc; k++)
			src_ok |= names(p, t, &acl->src[k], s, sa);
		if (!src_ok)
			continue;
		for (size_t k = 0; k < acl->ndst; k++) {
			const struct policy_dst *dst = &acl->dst[k];
			bool port_ok = false, dst_ok;

			for (size_t j = 0; j < dst->nports; j++)
				port_ok |=
					dst->ports[j].first <= port && port <= dst->ports[j].last;
			if (!port_ok)
				continue;
			if (dst->alias.kind == POLICY_A_SELF)
				dst_ok = login(t, s) != NULL && login(t, d) != NULL &&
					 t->nodes[s].user == t->nodes[d].user;
			else
				dst_ok = names(p, t, &dst->alias, d, da);
			if (dst_ok)
				return true;
		}
	}
	return false;
}

/* SPDX-License-Identifier: ISC */
/*
 * policy_check: the policy's own assertions (`tests`, `sshTests`) evaluated
 * against a topology, tag ownership (`tagOwners`) and route auto-approval
 * (`autoApprovers`).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

/* An address a test talks about and the node that has it (-1: none). */
struct endpoint {
	struct netaddr addr;
	int node;
};

#define MAX_ENDPOINTS 1024

struct endpoints {
	struct endpoint v[MAX_ENDPOINTS];
	size_t n;
};

__attribute__((format(printf, 3, 4))) static int tfail(struct policy_err *err, const char *path,
						       const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL)
		return -EINVAL;
	memset(err, 0, sizeof(*err));
	snprintf(err->path, sizeof(err->path), "%s", path);
	n = (size_t)snprintf(err->msg, sizeof(err->msg), "test(s) failed: ");
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int node_of_addr(const struct policy_topology *t, const struct netaddr *a)
{
	size_t i, k;

	for (i = 0; i < t->nnodes; i++)
		for (k = 0; k < t->nodes[i].naddrs; k++)
			if (netaddr_eq(&t->nodes[i].addrs[k], a))
				return (int)i;
	return -1;
}

static void resolve(const struct policy *p, const struct policy_topology *t,
		    const struct policy_alias *al, struct endpoints *out)
{
	size_t i, k;

	out->n = 0;
	if (al->kind == POLICY_A_HOST || al->kind == POLICY_A_PREFIX) {
		if (al->prefix.bits != netaddr_bits(&al->prefix.addr))
			return;
		out->v[0].addr = al->prefix.addr;
		out->v[0].node = node_of_addr(t, &al->prefix.addr);
		out->n = 1;
		return;
	}
	if (al->kind == POLICY_A_WILDCARD || al->kind == POLICY_A_SELF ||
	    al->kind == POLICY_A_INTERNET || al->kind == POLICY_A_DANGER_ALL)
		return;
	for (i = 0; i < t->nnodes; i++) {
		if (!policy_alias_has_node(p, t, al, i))
			continue;
		for (k = 0; k < t->nodes[i].naddrs && out->n < MAX_ENDPOINTS; k++) {
			out->v[out->n].addr = t->nodes[i].addrs[k];
			out->v[out->n].node = (int)i;
			out->n++;
		}
	}
}

/* Whether `a` is inside the tailnet's "*" source set. */
static bool in_wildcard(const struct policy_topology *t, const struct netaddr *a)
{
	struct netprefix hole;
	size_t i, k;

	if (netprefix_parse("100.115.92.0/23", &hole) < 0)
		return false;
	if (netaddr_is_tailnet(a) && !netprefix_contains(&hole, a))
		return true;
	for (i = 0; i < t->nnodes; i++)
		for (k = 0; k < t->nodes[i].napproved; k++)
			if (!policy_prefix_is_exit(&t->nodes[i].approved[k]) &&
			    netprefix_contains(&t->nodes[i].approved[k], a))
				return true;
	return false;
}

static bool covers(const struct policy *p, const struct policy_topology *t,
		   const struct policy_alias *al, const struct endpoint *e, bool src)
{
	switch ((enum policy_alias_kind)al->kind) {
	case POLICY_A_WILDCARD:
		return src ? in_wildcard(t, &e->addr) : true;
	case POLICY_A_DANGER_ALL:
		return true;
	case POLICY_A_HOST:
	case POLICY_A_PREFIX:
		return netprefix_contains(&al->prefix, &e->addr);
	case POLICY_A_USER:
	case POLICY_A_GROUP:
	case POLICY_A_TAG:
	case POLICY_A_DOMAIN:
	case POLICY_A_MEMBER:
	case POLICY_A_TAGGED:
		return e->node >= 0 && policy_alias_has_node(p, t, al, (size_t)e->node);
	case POLICY_A_SELF:
	case POLICY_A_INTERNET:
		return false;
	}
	return false;
}

static bool proto_ok(const struct policy_acl *acl, uint8_t proto)
{
	size_t i;

	if (acl->nprotos == 0)
		return proto == 6 || proto == 17 || proto == 1 || proto == 58;
	for (i = 0; i < acl->nprotos; i++)
		if (acl->protos[i] == proto)
			return true;
	return false;
}

/* Whether the policy lets src open a flow to dst:port over proto (one rule suffices). */
static bool allowed(const struct policy *p, const struct policy_topology *t,
		    const struct endpoint *src, const struct endpoint *dst, uint16_t port,
		    uint8_t proto)
{
	size_t i, k, j;

	if (!p->has_rules)
		return in_wildcard(t, &src->addr);
	for (i = 0; i < p->nacls; i++) {
		const struct policy_acl *acl = &p->acls[i];
		bool src_ok = false;

		if (acl->app != NULL || !proto_ok(acl, proto))
			continue;
		for (k = 0; k < acl->nsrc && !src_ok; k++)
			src_ok = covers(p, t, &acl->src[k], src, true);
		if (!src_ok)
			continue;
		for (k = 0; k < acl->ndst; k++) {
			const struct policy_dst *d = &acl->dst[k];
			bool port_ok = false, dst_ok;

			for (j = 0; j < d->nports; j++)
				port_ok |= d->ports[j].first <= port && port <= d->ports[j].last;
			if (!port_ok)
				continue;
			if (d->alias.kind == POLICY_A_SELF)
				dst_ok = src->node >= 0 && dst->node >= 0 &&
					 policy_node_login(t, (size_t)src->node) != NULL &&
					 policy_node_login(t, (size_t)dst->node) != NULL &&
					 t->nodes[src->node].user == t->nodes[dst->node].user;
			else
				dst_ok = covers(p, t, &d->alias, dst, false);
			if (dst_ok)
				return true;
		}
	}
	return false;
}

static int run_dsts(const struct policy *p, const struct policy_topology *t, size_t ti,
		    const struct policy_test *test, const struct endpoints *src,
		    struct endpoints *dstbuf, const struct policy_test_dst *dsts, size_t n,
		    bool want, struct policy_err *err)
{
	struct endpoints *dst = dstbuf;
	char path[POLICY_PATH_LEN], a[NETADDR_STRLEN], b[NETADDR_STRLEN];
	uint8_t proto = test->nprotos > 0 ? test->protos[0] : 6;
	size_t i, s, k, pairs;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "tests[%zu].%s[%zu]", ti, want ? "accept" : "deny", i);
		if (dsts[i].bad != NULL)
			return tfail(err, path, "%s -> %s: %s", test->src_text, dsts[i].text,
				     dsts[i].bad);
		resolve(p, t, &dsts[i].alias, dst);
		pairs = 0;
		for (s = 0; s < src->n; s++) {
			for (k = 0; k < dst->n; k++) {
				if (src->v[s].addr.family != dst->v[k].addr.family)
					continue;
				pairs++;
				if (allowed(p, t, &src->v[s], &dst->v[k], dsts[i].port, proto) !=
				    want)
					return tfail(err, path,
						     "%s (%s) -> %s (%s): expected %s, got %s",
						     test->src_text,
						     netaddr_format(&src->v[s].addr, a, sizeof(a)),
						     dsts[i].text,
						     netaddr_format(&dst->v[k].addr, b, sizeof(b)),
						     want ? "accept" : "deny",
						     want ? "deny" : "accept");
			}
		}
		if (pairs == 0)
			return tfail(err, path, "%s -> %s: no address to test", test->src_text,
				     dsts[i].text);
	}
	return 0;
}

static int run_tests(const struct policy *p, const struct policy_topology *t,
		     struct policy_err *err)
{
	struct endpoints *src = NULL, *dst = NULL;
	char path[POLICY_PATH_LEN];
	size_t i;
	int rc = 0;

	if (p->ntests == 0)
		return 0;
	if ((src = calloc(1, sizeof(*src))) == NULL || (dst = calloc(1, sizeof(*dst))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}

	for (i = 0; i < p->ntests; i++) {
		const struct policy_test *test = &p->tests[i];

		snprintf(path, sizeof(path), "tests[%zu].src", i);
		if (test->src_bad != NULL) {
			rc = tfail(err, path, "\"%s\": %s", test->src_text, test->src_bad);
			goto out;
		}
		resolve(p, t, &test->src, src);
		if (src->n == 0) {
			rc = tfail(err, path, "\"%s\" resolves to no address", test->src_text);
			goto out;
		}
		if ((rc = run_dsts(p, t, i, test, src, dst, test->accept, test->naccept, true,
				   err)) < 0 ||
		    (rc = run_dsts(p, t, i, test, src, dst, test->deny, test->ndeny, false, err)) <
			    0)
			goto out;
	}
out:
	free(src);
	free(dst);
	return rc;
}

/* What an SSH connection from node s as `user` to the node whose rules are `rules` gets. */
enum ssh_verdict { SSH_DENY, SSH_ACCEPT, SSH_CHECK };

static enum ssh_verdict ssh_eval(const struct policy_topology *t, const json_t *rules, size_t s,
				 const char *user)
{
	char buf[NETADDR_STRLEN];
	const json_t *r, *pr, *m;
	size_t i, k, j;

	json_array_foreach(rules, i, r) {
		bool match = false;
		const char *local;

		json_array_foreach(json_object_get(r, "principals"), k, pr)
			for (j = 0; j < t->nodes[s].naddrs; j++)
				match |= strcmp(json_string_value(json_object_get(pr, "nodeIP")),
						netaddr_format(&t->nodes[s].addrs[j], buf,
							       sizeof(buf))) == 0;
		if (!match)
			continue;
		m = json_object_get(r, "sshUsers");
		local = json_string_value(json_object_get(m, user));
		if (local == NULL)
			local = json_string_value(json_object_get(m, "*"));
		if (local == NULL || local[0] == '\0')
			continue;
		if (json_object_get(json_object_get(r, "action"), "holdAndDelegate") != NULL)
			return SSH_CHECK;
		return SSH_ACCEPT;
	}
	return SSH_DENY;
}

static int run_ssh_tests(const struct policy *p, const struct policy_topology *t,
			 struct policy_err *err)
{
	static const char *const names[] = { "deny", "accept", "check" };
	char path[POLICY_PATH_LEN];
	struct arena *a = NULL;
	json_t *rules = NULL;
	size_t i, k, d, s, u;
	int rc = 0;

	if (p->nssh_tests == 0)
		return 0;
	if ((rc = arena_new(16384, &a)) < 0)
		return rc;
	for (i = 0; i < p->nssh_tests && rc == 0; i++) {
		const struct policy_ssh_test *st = &p->ssh_tests[i];
		bool any_src = false, any_dst = false;

		for (s = 0; s < t->nnodes; s++)
			any_src |= policy_alias_has_node(p, t, &st->src, s);
		snprintf(path, sizeof(path), "sshTests[%zu].src", i);
		if (!any_src) {
			rc = tfail(err, path, "\"%s\" resolves to no node", st->src_text);
			break;
		}
		for (d = 0; d < t->nnodes && rc == 0; d++) {
			bool is_dst = false;

			for (k = 0; k < st->ndst; k++)
				is_dst |= policy_alias_has_node(p, t, &st->dst[k], d);
			if (!is_dst)
				continue;
			any_dst = true;
			if ((rc = policy_ssh_for_node(p, t, a, d, &rules)) < 0)
				break;
			for (s = 0; s < t->nnodes && rc == 0; s++) {
				if (s == d || !policy_alias_has_node(p, t, &st->src, s))
					continue;
				for (u = 0; u < st->naccept + st->ncheck + st->ndeny && rc == 0;
				     u++) {
					const char *user;
					enum ssh_verdict want, got;

					if (u < st->naccept) {
						user = st->accept[u];
						want = SSH_ACCEPT;
					} else if (u < st->naccept + st->ncheck) {
						user = st->check[u - st->naccept];
						want = SSH_CHECK;
					} else {
						user = st->deny[u - st->naccept - st->ncheck];
						want = SSH_DENY;
					}
					got = ssh_eval(t, rules, s, user);
					if (got != want) {
						snprintf(path, sizeof(path), "sshTests[%zu]", i);
						rc = tfail(
							err, path,
							"%s (%s) -> %s as %s: expected %s, got %s",
							st->src_text, t->nodes[s].name,
							t->nodes[d].name, user, names[want],
							names[got]);
					}
				}
			}
			json_decref(rules);
			rules = NULL;
		}
		if (rc == 0 && !any_dst) {
			snprintf(path, sizeof(path), "sshTests[%zu].dst", i);
			rc = tfail(err, path, "resolves to no node");
		}
	}
	arena_free(a);
	return rc;
}

int policy_check_tests(const struct policy *p, const struct policy_topology *t,
		       struct policy_err *err)
{
	int rc;

	if ((rc = run_tests(p, t, err)) < 0)
		return rc;
	return run_ssh_tests(p, t, err);
}

bool policy_tag_is_defined(const struct policy *p, const char *tag)
{
	size_t i;

	for (i = 0; i < p->ntag_owners; i++)
		if (strcmp(p->tag_owners[i].tag, tag) == 0)
			return true;
	return false;
}

bool policy_tag_may_own(const struct policy *p, const char *tag, const char *login,
			const char *const *owner_tags, size_t nowner_tags)
{
	const struct policy_tag_owner *to = NULL;
	size_t i, k;

	for (i = 0; i < p->ntag_owners; i++)
		if (strcmp(p->tag_owners[i].tag, tag) == 0)
			to = &p->tag_owners[i];
	if (to == NULL)
		return false;
	for (i = 0; i < to->nowners; i++) {
		const char *o = to->owners[i];

		if (strncmp(o, "tag:", 4) == 0) {
			for (k = 0; k < nowner_tags; k++)
				if (strcmp(owner_tags[k], o) == 0)
					return true;
			continue;
		}
		if (login == NULL)
			continue;
		if (strncmp(o, "group:", 6) == 0) {
			if (policy_group_has(p, o, login))
				return true;
		} else if (strcmp(o, "autogroup:member") == 0) {
			return true;
		} else if (strcasecmp(o, login) == 0) {
			return true;
		}
	}
	return false;
}

static bool approver_has(const struct policy *p, const struct policy_topology *t,
			 const struct policy_alias *v, size_t n, size_t i)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (policy_alias_has_node(p, t, &v[k], i))
			return true;
	return false;
}

bool policy_route_auto_approved(const struct policy *p, const struct policy_topology *t, size_t i,
				const struct netprefix *route)
{
	size_t k;

	if (i >= t->nnodes)
		return false;
	if (policy_prefix_is_exit(route) && approver_has(p, t, p->exit_node, p->nexit_node, i))
		return true;
	for (k = 0; k < p->nroutes; k++) {
		const struct policy_route_approver *r = &p->routes[k];

		if (r->prefix.addr.family != route->addr.family || r->prefix.bits > route->bits ||
		    !netprefix_contains(&r->prefix, &route->addr))
			continue;
		if (approver_has(p, t, r->approvers, r->napprovers, i))
			return true;
	}
	return false;
}

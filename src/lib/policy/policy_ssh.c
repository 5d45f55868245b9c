/* SPDX-License-Identifier: ISC */
/*
 * policy_ssh: the `ssh` section compiled for one destination node into
 * Tailscale SSHRule objects (principals by node IP, sshUsers map, accept or
 * hold-and-delegate action), check rules ahead of accept rules.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#define SSH_CHECK_PATH "/machine/ssh/action/$SRC_NODE_ID/to/$DST_NODE_ID?local_user=$LOCAL_USER"

/* A principal list: node indexes in order, a node may repeat (once per tag for autogroup:tagged).
 */
struct plist {
	size_t *v;
	size_t n, cap;
};

static int plist_push(struct arena *a, struct plist *l, size_t i)
{
	size_t *nv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		if (l->n > 0)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = i;
	return 0;
}

static int principals(const struct policy *p, const struct policy_topology *t, struct arena *a,
		      const struct policy_ssh *r, struct plist *out)
{
	uint8_t *seen; /* node already listed by an earlier selector */
	size_t k, i, m, times, start;
	int rc;

	if ((seen = arena_calloc(a, t->nnodes + 1, 1)) == NULL)
		return -ENOMEM;
	for (k = 0; k < r->nsrc; k++) {
		const struct policy_alias *al = &r->src[k];

		start = out->n;
		for (i = 0; i < t->nnodes; i++) {
			if (seen[i] || !policy_alias_has_node(p, t, al, i))
				continue;
			times = al->kind == POLICY_A_TAGGED ? t->nodes[i].ntags : 1;
			for (m = 0; m < times; m++)
				if ((rc = plist_push(a, out, i)) < 0)
					return rc;
		}
		for (i = start; i < out->n; i++)
			seen[out->v[i]] = 1;
	}
	return 0;
}

static json_t *principals_json(const struct policy_topology *t, const struct plist *l,
			       int only_user, bool tagged_only)
{
	char buf[NETADDR_STRLEN];
	json_t *arr = json_array();
	size_t k, j;

	if (arr == NULL)
		return NULL;
	for (k = 0; k < l->n; k++) {
		const struct policy_node *n = &t->nodes[l->v[k]];
		bool tagged = policy_node_is_tagged(t, l->v[k]);

		if (only_user >= 0 && (tagged || n->user != only_user))
			continue;
		if (tagged_only && !tagged)
			continue;
		for (j = 0; j < n->naddrs; j++) {
			json_t *pr = json_pack("{s:s}", "nodeIP",
					       netaddr_format(&n->addrs[j], buf, sizeof(buf)));

			if (pr == NULL || json_array_append_new(arr, pr) < 0) {
				json_decref(arr);
				return NULL;
			}
		}
	}
	return arr;
}

/* Whether `u` is "localpart:*@domain" with a plain domain; sets *domain. */
static bool is_localpart(const char *u, const char **domain)
{
	if (strncmp(u, "localpart:*@", 12) != 0 || u[12] == '\0' || strchr(u + 12, '*') != NULL)
		return false;
	*domain = u + 12;
	return true;
}

static json_t *users_json(const struct policy_ssh *r)
{
	json_t *m = json_object();
	bool root = false;
	const char *dom;
	size_t k;
	int rc = 0;

	if (m == NULL)
		return NULL;
	for (k = 0; k < r->nusers; k++) {
		const char *u = r->users[k];

		if (is_localpart(u, &dom))
			continue;
		if (strcmp(u, "autogroup:nonroot") == 0) {
			rc |= json_object_set_new(m, "*", json_string("="));
			continue;
		}
		root |= strcmp(u, "root") == 0;
		rc |= json_object_set_new(m, u, json_string(u));
	}
	if (!root)
		rc |= json_object_set_new(m, "root", json_string(""));
	if (rc != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static json_t *action_json(const struct policy_topology *t, const struct policy_ssh *r)
{
	char url[512];

	if (r->check) {
		snprintf(url, sizeof(url), "%s%s",
			 t->control_url ? t->control_url : "https://unused", SSH_CHECK_PATH);
		return json_pack("{s:s}", "holdAndDelegate", url);
	}
	return json_pack("{s:b,s:b,s:b,s:b}", "accept", 1, "allowAgentForwarding", 1,
			 "allowLocalPortForwarding", 1, "allowRemotePortForwarding", 1);
}

/* Appends one SSHRule; consumes `prin` and `users`. */
static int emit(const struct policy_topology *t, const struct policy_ssh *r, json_t *prin,
		json_t *users, json_t *out)
{
	json_t *o, *env;
	size_t k;

	if (prin == NULL || users == NULL) {
		json_decref(prin);
		json_decref(users);
		return -ENOMEM;
	}
	if (json_array_size(prin) == 0) {
		json_decref(prin);
		json_decref(users);
		return 0;
	}
	o = json_object();
	if (o == NULL || json_object_set_new(o, "principals", prin) < 0) {
		json_decref(o);
		json_decref(users);
		return -ENOMEM;
	}
	if (json_object_set_new(o, "sshUsers", users) < 0 ||
	    json_object_set_new(o, "action", action_json(t, r)) < 0)
		goto fail;
	if (r->naccept_env > 0) {
		if ((env = json_array()) == NULL || json_object_set_new(o, "acceptEnv", env) < 0)
			goto fail;
		for (k = 0; k < r->naccept_env; k++)
			if (json_array_append_new(env, json_string(r->accept_env[k])) < 0)
				goto fail;
	}
	if (json_array_append_new(out, o) < 0)
		return -ENOMEM;
	return 0;
fail:
	json_decref(o);
	return -ENOMEM;
}

/* The login's local part, if its domain is one a localpart: user names. */
static const char *localpart_for(struct arena *a, const struct policy_ssh *r, const char *login)
{
	const char *dom, *at = strrchr(login, '@');
	size_t k;

	if (at == NULL)
		return NULL;
	for (k = 0; k < r->nusers; k++)
		if (is_localpart(r->users[k], &dom) && strcmp(dom, at + 1) == 0)
			return arena_strndup(a, login, (size_t)(at - login));
	return NULL;
}

static bool has_localpart(const struct policy_ssh *r)
{
	const char *dom;
	size_t k;

	for (k = 0; k < r->nusers; k++)
		if (is_localpart(r->users[k], &dom))
			return true;
	return false;
}

/*
 * With localpart: users the rule is split per source identity (each user's
 * nodes, then the tagged nodes together): a rule with the common sshUsers,
 * then one mapping the user's local part. Tailscale also hands each
 * identity's rules to that identity's own nodes, as if autogroup:self were a
 * destination (observed in its captures; see docs/POLICY.md).
 */
static int compile_localpart(const struct policy *p, const struct policy_topology *t,
			     struct arena *a, size_t d, const struct policy_ssh *r,
			     const struct plist *l, bool full, bool self, json_t *out)
{
	bool d_tagged = policy_node_is_tagged(t, d), present, mine;
	size_t k;
	int u, rc;

	for (u = 0; (size_t)u <= t->nusers; u++) {
		bool tagged = (size_t)u == t->nusers;
		const char *lp;

		present = mine = false;
		for (k = 0; k < l->n; k++) {
			bool tk = policy_node_is_tagged(t, l->v[k]);

			if (tagged ? !tk : (tk || t->nodes[l->v[k]].user != u))
				continue;
			present = true;
			mine |= l->v[k] == d;
		}
		if (!present)
			continue;
		if (!full && !mine && !(self && !tagged && !d_tagged && t->nodes[d].user == u))
			continue;
		if ((rc = emit(t, r, principals_json(t, l, tagged ? -1 : u, tagged), users_json(r),
			       out)) < 0)
			return rc;
		if (tagged || (lp = localpart_for(a, r, t->users[u].login)) == NULL)
			continue;
		if ((rc = emit(t, r, principals_json(t, l, u, false), json_pack("{s:s}", lp, lp),
			       out)) < 0)
			return rc;
	}
	return 0;
}

static int compile_rule(const struct policy *p, const struct policy_topology *t, struct arena *a,
			size_t d, const struct policy_ssh *r, json_t *out)
{
	struct plist l = { 0 };
	bool full = false, self = false;
	size_t k;
	int rc;

	for (k = 0; k < r->ndst; k++) {
		if (r->dst[k].kind == POLICY_A_SELF)
			self |= policy_node_login(t, d) != NULL;
		else
			full |= policy_alias_has_node(p, t, &r->dst[k], d);
	}
	if ((rc = principals(p, t, a, r, &l)) < 0)
		return rc;
	if (has_localpart(r))
		return compile_localpart(p, t, a, d, r, &l, full, self, out);
	if (!full && !self)
		return 0;
	return emit(t, r, principals_json(t, &l, full ? -1 : t->nodes[d].user, false),
		    users_json(r), out);
}

int policy_ssh_for_node(const struct policy *p, const struct policy_topology *t, struct arena *a,
			size_t d, json_t **out)
{
	json_t *rules;
	size_t i;
	int pass, rc;

	*out = NULL;
	if ((rules = json_array()) == NULL)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < p->nssh; i++) {
			if (p->ssh[i].check != (pass == 0))
				continue;
			if ((rc = compile_rule(p, t, a, d, &p->ssh[i], rules)) < 0) {
				json_decref(rules);
				return rc;
			}
		}
	}
	*out = rules;
	return 0;
}

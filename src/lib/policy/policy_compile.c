/* SPDX-License-Identifier: ISC */
/*
 * policy_compile: a policy and a topology to every node's packet filter
 * (Tailscale FilterRule JSON, reduced to the destinations on that node),
 * SSH rules, and the peer-visibility matrix. One arena per compilation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

/* One DstPorts entry. */
struct cdst {
	const char *ip;
	uint16_t first, last;
};

struct csrc;

/* One FilterRule being built for one node. */
struct crule {
	const char *key; /* sorted sources and protocols: rules with equal keys merge */
	uint64_t khash;	 /* of key: most keys differ here, long ones share prefixes */
	const struct policy_strset *src;
	const struct policy_nodeset *srcnodes;
	const uint8_t *protos;
	size_t nprotos;
	struct cdst *dst;
	size_t ndst, cap;
	const struct policy_acl *app; /* a CapGrant rule (never merged) */
	struct policy_strset capdsts;
	struct csrc *cs; /* the ACL whose shared SrcIPs this rule uses; NULL: its own */
};

struct crules {
	struct crule *v;
	size_t n, cap;
};

/* Per-ACL sources, computed once for all nodes. */
struct csrc {
	struct policy_strset src;
	struct policy_nodeset nodes;
	const char *key;
	uint64_t khash;
	bool has_self;
	bool has_internet;
	json_t *srcjson;    /* SrcIPs, built once and shared by every node's rule */
	uint64_t **dstbits; /* per user or tag destination: the nodes it selects */
};

struct policy_compiled {
	struct arena *arena;
	const struct policy_topology *t;
	size_t n;
	json_t **filter;
	json_t **ssh;
	uint64_t *see; /* n rows of `stride` words: bit j of row i set when i's map lists j */
	size_t stride;
	struct idx *byid; /* node indexes sorted by node id, for comparing compilations */
};

struct idx {
	uint64_t id;
	size_t i;
};

static int cmpidx(const void *a, const void *b)
{
	const struct idx *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Index of the node with `id` in c, or SIZE_MAX. */
static size_t find_id(const struct policy_compiled *c, uint64_t id)
{
	struct idx key = { .id = id }, *hit;

	hit = bsearch(&key, c->byid, c->n, sizeof(*c->byid), cmpidx);
	return hit != NULL ? hit->i : SIZE_MAX;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "sorted,sources|proto,proto": equal keys <=> equal SrcIPs sets and IPProto. */
static const char *rule_key(struct arena *a, const struct policy_strset *src, const uint8_t *protos,
			    size_t nprotos)
{
	const char **v;
	size_t len = 8 + nprotos * 4, i, off = 0;
	char *k;

	for (i = 0; i < src->n; i++)
		len += strlen(src->v[i]) + 1;
	if ((v = arena_calloc(a, src->n + 1, sizeof(*v))) == NULL ||
	    (k = arena_alloc(a, len)) == NULL)
		return NULL;
	if (src->n > 0)
		memcpy(v, src->v, src->n * sizeof(*v));
	qsort(v, src->n, sizeof(*v), cmpstr);
	for (i = 0; i < src->n; i++) {
		size_t l = strlen(v[i]);

		memcpy(k + off, v[i], l);
		off += l;
		k[off++] = ',';
	}
	k[off++] = '|';
	for (i = 0; i < nprotos; i++)
		off += (size_t)snprintf(k + off, len - off, "%u,", protos[i]);
	k[off] = '\0';
	return k;
}

static uint64_t key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
	return h;
}

static struct crule *rules_push(struct arena *a, struct crules *r)
{
	struct crule *nv;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;

		if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL)
			return NULL;
		if (r->n > 0)
			memcpy(nv, r->v, r->n * sizeof(*nv));
		r->v = nv;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	return &r->v[r->n++];
}

static int dst_push(struct arena *a, struct crule *r, const char *ip, uint16_t first, uint16_t last)
{
	struct cdst *nv;

	if (r->ndst == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;

		if ((nv = arena_calloc(a, cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		if (r->ndst > 0)
			memcpy(nv, r->dst, r->ndst * sizeof(*nv));
		r->dst = nv;
		r->cap = cap;
	}
	r->dst[r->ndst].ip = ip;
	r->dst[r->ndst].first = first;
	r->dst[r->ndst].last = last;
	r->ndst++;
	return 0;
}

/* The rule of `rules` with this key, or a new one. */
static struct crule *rule_for(struct arena *a, struct crules *rules, const char *key,
			      uint64_t khash, const struct policy_strset *src,
			      const struct policy_nodeset *nodes, const uint8_t *protos,
			      size_t nprotos)
{
	struct crule *r;
	size_t i;

	for (i = 0; i < rules->n; i++)
		if (rules->v[i].app == NULL && rules->v[i].khash == khash &&
		    (rules->v[i].key == key || strcmp(rules->v[i].key, key) == 0))
			return &rules->v[i];
	if ((r = rules_push(a, rules)) == NULL)
		return NULL;
	r->key = key;
	r->khash = khash;
	r->src = src;
	r->srcnodes = nodes;
	r->protos = protos;
	r->nprotos = nprotos;
	return r;
}

static bool node_has_route_overlap(const struct policy_node *n, const struct netprefix *p,
				   bool exit_too)
{
	size_t k;

	for (k = 0; k < n->napproved; k++)
		if ((exit_too || !policy_prefix_is_exit(&n->approved[k])) &&
		    netprefix_overlaps(&n->approved[k], p))
			return true;
	return false;
}

static bool node_is_exit(const struct policy_node *n)
{
	size_t k;

	for (k = 0; k < n->napproved; k++)
		if (policy_prefix_is_exit(&n->approved[k]))
			return true;
	return false;
}

static bool node_has_any_tag(const struct policy_topology *t, size_t d, const char *const *tags,
			     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (policy_node_has_tag(t, d, tags[i]))
			return true;
	return false;
}

/* The public internet autogroup:internet stands for: IPv4 minus private and special ranges. */
static const char *const internet_v4_excluded[] = {
	"0.0.0.0/8",	  "10.0.0.0/8",	   "100.64.0.0/10",  "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3",
};

static int internet_walk(struct arena *a, const struct netprefix *p, const struct netprefix *ex,
			 size_t nex, struct policy_strset *out)
{
	struct netprefix lo, hi;
	bool overlap = false;
	size_t i;
	char *s;
	int rc;

	for (i = 0; i < nex; i++) {
		if (!netprefix_overlaps(p, &ex[i]))
			continue;
		if (ex[i].bits <= p->bits)
			return 0; /* p lies inside an excluded range */
		overlap = true;
	}
	if (!overlap) {
		if ((s = policy_prefix_text(a, p)) == NULL)
			return -ENOMEM;
		return policy_strset_add(a, out, s);
	}
	lo = *p;
	lo.bits++;
	hi = lo;
	hi.addr.a[p->bits / 8] |= (uint8_t)(0x80u >> (p->bits % 8));
	if ((rc = internet_walk(a, &lo, ex, nex, out)) < 0)
		return rc;
	return internet_walk(a, &hi, ex, nex, out);
}

static int internet_prefixes(struct arena *a, struct policy_strset *out)
{
	struct netprefix ex[sizeof(internet_v4_excluded) / sizeof(internet_v4_excluded[0])], all;
	size_t i;
	int rc;

	if (out->n > 0)
		return 0;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (netprefix_parse(internet_v4_excluded[i], &ex[i]) < 0)
			return -EINVAL;
	if (netprefix_parse("0.0.0.0/0", &all) < 0)
		return -EINVAL;
	if ((rc = internet_walk(a, &all, ex, sizeof(ex) / sizeof(ex[0]), out)) < 0)
		return rc;
	return policy_strset_add(a, out, "2000::/3");
}

static int node_addr_dsts(struct arena *a, struct crule *r, const struct policy_node *n,
			  const struct policy_dst *d)
{
	size_t k, j;
	char *ip;
	int rc;

	for (k = 0; k < n->naddrs; k++) {
		if ((ip = policy_addr_text(a, &n->addrs[k])) == NULL)
			return -ENOMEM;
		for (j = 0; j < d->nports; j++)
			if ((rc = dst_push(a, r, ip, d->ports[j].first, d->ports[j].last)) < 0)
				return rc;
	}
	return 0;
}

/* The autogroup:self part of an ACL on node d: sources are d's user's own nodes. */
static int compile_self(const struct policy_compiled *c, const struct policy_acl *acl,
			const struct csrc *cs, size_t d, struct crules *rules)
{
	const struct policy_topology *t = c->t;
	struct policy_strset *src;
	struct policy_nodeset *nodes;
	const char *login = policy_node_login(t, d), *key;
	struct crule *r = NULL;
	size_t i, k;
	int rc;

	if (login == NULL)
		return 0;
	if ((src = arena_calloc(c->arena, 1, sizeof(*src))) == NULL ||
	    (nodes = arena_calloc(c->arena, 1, sizeof(*nodes))) == NULL)
		return -ENOMEM;
	for (k = 0; k < cs->nodes.n; k++) {
		size_t i2 = cs->nodes.v[k];
		const char *l2 = policy_node_login(t, i2);

		if (l2 == NULL || t->nodes[i2].user != t->nodes[d].user)
			continue;
		if ((rc = policy_nodeset_add(c->arena, nodes, i2)) < 0)
			return rc;
		for (i = 0; i < t->nodes[i2].naddrs; i++) {
			char *s = policy_addr_text(c->arena, &t->nodes[i2].addrs[i]);

			if (s == NULL)
				return -ENOMEM;
			if ((rc = policy_strset_add(c->arena, src, s)) < 0)
				return rc;
		}
	}
	if (src->n == 0)
		return 0;
	if ((key = rule_key(c->arena, src, acl->protos, acl->nprotos)) == NULL)
		return -ENOMEM;
	for (i = 0; i < acl->ndst; i++) {
		if (acl->dst[i].alias.kind != POLICY_A_SELF)
			continue;
		if (r == NULL && (r = rule_for(c->arena, rules, key, key_hash(key), src, nodes,
					       acl->protos, acl->nprotos)) == NULL)
			return -ENOMEM;
		if ((rc = node_addr_dsts(c->arena, r, &t->nodes[d], &acl->dst[i])) < 0)
			return rc;
	}
	return 0;
}

/* The destinations of one ACL that lie on node d, merged into d's rules. */
static int compile_acl(const struct policy *p, const struct policy_compiled *c,
		       const struct policy_acl *acl, struct csrc *cs, size_t d,
		       struct crules *rules, struct policy_strset *internet)
{
	const struct policy_topology *t = c->t;
	const struct policy_node *n = &t->nodes[d];
	struct crule *r = NULL;
	size_t i, j;
	int rc;

	if (acl->nvia > 0 && !node_has_any_tag(t, d, acl->via, acl->nvia))
		return 0;
	if (cs->has_self && (rc = compile_self(c, acl, cs, d, rules)) < 0)
		return rc;
	if (cs->src.n == 0)
		return 0;
	if (acl->app != NULL) {
		for (i = 0; i < acl->ndst; i++) {
			if (acl->dst[i].alias.kind == POLICY_A_SELF ||
			    !policy_alias_has_node(p, t, &acl->dst[i].alias, d))
				continue;
			if (r == NULL) {
				if ((r = rules_push(c->arena, rules)) == NULL)
					return -ENOMEM;
				r->key = cs->key;
				r->src = &cs->src;
				r->srcnodes = &cs->nodes;
				r->app = acl;
				r->cs = cs;
			}
		}
		if (r != NULL) {
			for (j = 0; j < n->naddrs; j++) {
				struct netprefix pf;
				char *s;

				if (netprefix_make(&pf, &n->addrs[j], netaddr_bits(&n->addrs[j])) <
				    0)
					return -EINVAL;
				if ((s = arena_alloc(c->arena, NETPREFIX_STRLEN)) == NULL)
					return -ENOMEM;
				netprefix_format(&pf, s, NETPREFIX_STRLEN);
				if ((rc = policy_strset_add(c->arena, &r->capdsts, s)) < 0)
					return rc;
			}
		}
		return 0;
	}
	for (i = 0; i < acl->ndst; i++) {
		const struct policy_dst *dst = &acl->dst[i];
		const struct policy_alias *al = &dst->alias;
		const char *ip = NULL;
		bool on_node = false, internet_here = false;

		switch ((enum policy_alias_kind)al->kind) {
		case POLICY_A_SELF:
		case POLICY_A_DANGER_ALL:
			continue;
		case POLICY_A_INTERNET:
			/* Exit traffic is filtered on the exit node only for via grants. */
			internet_here = acl->nvia > 0 && node_is_exit(n);
			break;
		case POLICY_A_WILDCARD:
			ip = "*";
			break;
		case POLICY_A_HOST:
		case POLICY_A_PREFIX:
			if (policy_alias_has_node(p, t, al, d) ||
			    node_has_route_overlap(n, &al->prefix, acl->nvia > 0)) {
				if ((ip = policy_prefix_text(c->arena, &al->prefix)) == NULL)
					return -ENOMEM;
			}
			break;
		case POLICY_A_USER:
		case POLICY_A_GROUP:
		case POLICY_A_TAG:
		case POLICY_A_DOMAIN:
		case POLICY_A_MEMBER:
		case POLICY_A_TAGGED:
			on_node = cs->dstbits[i] != NULL ? policy_bit(cs->dstbits[i], d) :
							   policy_alias_has_node(p, t, al, d);
			break;
		}
		if (ip == NULL && !on_node && !internet_here)
			continue;
		if (r == NULL && (r = rule_for(c->arena, rules, cs->key, cs->khash, &cs->src,
					       &cs->nodes, acl->protos, acl->nprotos)) == NULL)
			return -ENOMEM;
		if (r->cs == NULL && r->src == &cs->src)
			r->cs = cs;
		if (on_node) {
			if ((rc = node_addr_dsts(c->arena, r, n, dst)) < 0)
				return rc;
			continue;
		}
		if (internet_here) {
			if ((rc = internet_prefixes(c->arena, internet)) < 0)
				return rc;
			for (size_t k = 0; k < internet->n; k++)
				for (j = 0; j < dst->nports; j++)
					if ((rc = dst_push(c->arena, r, internet->v[k],
							   dst->ports[j].first,
							   dst->ports[j].last)) < 0)
						return rc;
			continue;
		}
		for (j = 0; j < dst->nports; j++)
			if ((rc = dst_push(c->arena, r, ip, dst->ports[j].first,
					   dst->ports[j].last)) < 0)
				return rc;
	}
	return 0;
}

static json_t *strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The rule's SrcIPs: the ACL's array, shared by every node (10,000 copies would not fit). */
static json_t *rule_srcips(const struct crule *r)
{
	if (r->cs == NULL)
		return strv_json(r->src->v, r->src->n);
	if (r->cs->srcjson == NULL)
		r->cs->srcjson = strv_json(r->src->v, r->src->n);
	return json_incref(r->cs->srcjson);
}

static json_t *rule_json(const struct crule *r)
{
	json_t *o = json_object(), *dsts, *protos, *cg, *g;
	size_t i;

	if (o == NULL || json_object_set_new(o, "SrcIPs", rule_srcips(r)) < 0)
		goto fail;
	if (r->app != NULL) {
		if ((cg = json_array()) == NULL || json_object_set_new(o, "CapGrant", cg) < 0 ||
		    (g = json_object()) == NULL || json_array_append_new(cg, g) < 0 ||
		    json_object_set_new(g, "Dsts", strv_json(r->capdsts.v, r->capdsts.n)) < 0 ||
		    json_object_set(g, "CapMap", r->app->app) < 0)
			goto fail;
		return o;
	}
	if ((dsts = json_array()) == NULL || json_object_set_new(o, "DstPorts", dsts) < 0)
		goto fail;
	for (i = 0; i < r->ndst; i++) {
		json_t *d =
			json_pack("{s:s,s:{s:i,s:i}}", "IP", r->dst[i].ip, "Ports", "First",
				  (json_int_t)r->dst[i].first, "Last", (json_int_t)r->dst[i].last);

		if (d == NULL || json_array_append_new(dsts, d) < 0)
			goto fail;
	}
	if (r->nprotos > 0) {
		if ((protos = json_array()) == NULL ||
		    json_object_set_new(o, "IPProto", protos) < 0)
			goto fail;
		for (i = 0; i < r->nprotos; i++)
			if (json_array_append_new(protos, json_integer(r->protos[i])) < 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static void see_set(struct policy_compiled *c, size_t i, size_t j)
{
	if (i == j)
		return;
	c->see[i * c->stride + j / 64] |= 1ull << (j % 64);
	c->see[j * c->stride + i / 64] |= 1ull << (i % 64);
}

/* The policy's rules with sources resolved, or the allow-all rule when it has none. */
static int prepare_sources(const struct policy *p, struct policy_compiled *c,
			   const struct policy_acl **acls, size_t *nacls, struct csrc **out)
{
	static struct policy_portrange all_ports = { 0, 65535 };
	static struct policy_alias wildcard = { .kind = POLICY_A_WILDCARD, .name = "*" };
	static struct policy_dst all_dst = { .alias = { .kind = POLICY_A_WILDCARD, .name = "*" },
					     .ports = &all_ports,
					     .nports = 1 };
	static struct policy_acl allow_all = {
		.src = &wildcard, .nsrc = 1, .dst = &all_dst, .ndst = 1
	};
	struct csrc *cs;
	size_t i, k;
	int rc;

	*acls = p->has_rules ? p->acls : &allow_all;
	*nacls = p->has_rules ? p->nacls : 1;
	if ((cs = arena_calloc(c->arena, *nacls + 1, sizeof(*cs))) == NULL)
		return -ENOMEM;
	for (i = 0; i < *nacls; i++) {
		const struct policy_acl *acl = &(*acls)[i];

		for (k = 0; k < acl->nsrc; k++)
			if ((rc = policy_alias_sources(p, c->t, c->arena, &acl->src[k], &cs[i].src,
						       &cs[i].nodes)) < 0)
				return rc;
		if ((cs[i].dstbits =
			     arena_calloc(c->arena, acl->ndst + 1, sizeof(*cs[i].dstbits))) == NULL)
			return -ENOMEM;
		for (k = 0; k < acl->ndst; k++) {
			enum policy_alias_kind kind = acl->dst[k].alias.kind;

			cs[i].has_self |= kind == POLICY_A_SELF;
			cs[i].has_internet |= kind == POLICY_A_INTERNET;
			if (kind != POLICY_A_USER && kind != POLICY_A_GROUP &&
			    kind != POLICY_A_TAG && kind != POLICY_A_DOMAIN &&
			    kind != POLICY_A_MEMBER && kind != POLICY_A_TAGGED)
				continue;
			/* Which nodes it selects, decided once instead of once per node. */
			if ((cs[i].dstbits[k] = arena_calloc(c->arena, c->stride + 1,
							     sizeof(uint64_t))) == NULL)
				return -ENOMEM;
			if ((rc = policy_alias_node_bits(p, c->t, &acl->dst[k].alias,
							 cs[i].dstbits[k])) < 0)
				return rc;
		}
		if ((cs[i].key = rule_key(c->arena, &cs[i].src, acl->protos, acl->nprotos)) == NULL)
			return -ENOMEM;
		cs[i].khash = key_hash(cs[i].key);
	}
	*out = cs;
	return 0;
}

/* The compilation's own references to the shared SrcIPs (the rules keep theirs). */
static void srcjson_release(struct csrc *cs, size_t n)
{
	for (size_t i = 0; cs != NULL && i < n; i++)
		json_decref(cs[i].srcjson);
}

int policy_compile(const struct policy *p, const struct policy_topology *t,
		   struct policy_compiled **out)
{
	struct policy_strset internet = { 0 };
	const struct policy_acl *acls;
	struct policy_compiled *c;
	struct crules rules;
	struct csrc *cs = NULL;
	size_t nacls = 0, d, i, k;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->t = t;
	c->n = t->nnodes;
	c->stride = (c->n + 63) / 64;
	if ((rc = arena_new(65536, &c->arena)) < 0)
		goto fail;
	rc = -ENOMEM;
	if ((c->filter = calloc(c->n + 1, sizeof(*c->filter))) == NULL ||
	    (c->ssh = calloc(c->n + 1, sizeof(*c->ssh))) == NULL ||
	    (c->n > 0 && c->n > SIZE_MAX / 8 / c->n) ||
	    (c->see = calloc(c->n * ((c->n + 63) / 64) + 1, sizeof(*c->see))) == NULL ||
	    (c->byid = calloc(c->n + 1, sizeof(*c->byid))) == NULL)
		goto fail;
	for (i = 0; i < c->n; i++) {
		c->byid[i].id = t->nodes[i].id;
		c->byid[i].i = i;
	}
	qsort(c->byid, c->n, sizeof(*c->byid), cmpidx);
	if ((rc = prepare_sources(p, c, &acls, &nacls, &cs)) < 0)
		goto fail;
	for (d = 0; d < c->n; d++) {
		memset(&rules, 0, sizeof(rules));
		for (i = 0; i < nacls; i++)
			if ((rc = compile_acl(p, c, &acls[i], &cs[i], d, &rules, &internet)) < 0)
				goto fail;
		rc = -ENOMEM;
		if ((c->filter[d] = json_array()) == NULL)
			goto fail;
		for (i = 0; i < rules.n; i++) {
			json_t *j = rules.v[i].ndst > 0 || rules.v[i].app ? rule_json(&rules.v[i]) :
									    NULL;

			if (rules.v[i].ndst == 0 && rules.v[i].app == NULL)
				continue;
			if (j == NULL || json_array_append_new(c->filter[d], j) < 0)
				goto fail;
			for (k = 0; k < rules.v[i].srcnodes->n; k++)
				see_set(c, rules.v[i].srcnodes->v[k], d);
		}
		if ((rc = policy_ssh_for_node(p, t, c->arena, d, &c->ssh[d])) < 0)
			goto fail;
	}
	/* Users of autogroup:internet see the exit nodes they may use. */
	for (i = 0; i < nacls; i++) {
		if (!cs[i].has_internet)
			continue;
		for (d = 0; d < c->n; d++) {
			if (!node_is_exit(&t->nodes[d]))
				continue;
			for (k = 0; k < cs[i].nodes.n; k++)
				see_set(c, cs[i].nodes.v[k], d);
		}
	}
	srcjson_release(cs, nacls);
	*out = c;
	return 0;
fail:
	srcjson_release(cs, nacls);
	policy_compiled_free(c);
	return rc;
}

void policy_compiled_free(struct policy_compiled *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->filter != NULL)
			json_decref(c->filter[i]);
		if (c->ssh != NULL)
			json_decref(c->ssh[i]);
	}
	free(c->filter);
	free(c->ssh);
	free(c->see);
	free(c->byid);
	arena_free(c->arena);
	free(c);
}

json_t *policy_compiled_filter(const struct policy_compiled *c, size_t i)
{
	return c->filter[i];
}

json_t *policy_compiled_ssh(const struct policy_compiled *c, size_t i)
{
	return c->ssh[i];
}

bool policy_compiled_can_see(const struct policy_compiled *c, size_t i, size_t j)
{
	if (i >= c->n || j >= c->n)
		return false;
	return (c->see[i * c->stride + j / 64] >> (j % 64)) & 1u;
}

/* Whether a and b list the same node IDs in the same order (rows are then comparable). */
static bool same_nodes(const struct policy_compiled *a, const struct policy_compiled *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->t->nodes[i].id != b->t->nodes[i].id)
			return false;
	return true;
}

/* Node i of a and j of b have the same peers, by node id: one merge over both id orders. */
static bool peers_equal(const struct policy_compiled *a, size_t i, const struct policy_compiled *b,
			size_t j, bool same)
{
	size_t x = 0, y = 0;

	if (same)
		return memcmp(a->see + i * a->stride, b->see + j * b->stride,
			      a->stride * sizeof(*a->see)) == 0;
	while (x < a->n || y < b->n) {
		uint64_t ix = x < a->n ? a->byid[x].id : UINT64_MAX;
		uint64_t iy = y < b->n ? b->byid[y].id : UINT64_MAX;
		bool sa = false, sb = false;

		if (ix <= iy)
			sa = policy_compiled_can_see(a, i, a->byid[x++].i);
		if (iy <= ix)
			sb = policy_compiled_can_see(b, j, b->byid[y++].i);
		if (sa != sb)
			return false;
	}
	return true;
}

static bool node_equal(const struct policy_compiled *a, size_t i, const struct policy_compiled *b,
		       size_t j, bool same)
{
	return i < a->n && j < b->n && json_equal(a->filter[i], b->filter[j]) &&
	       json_equal(a->ssh[i], b->ssh[j]) && peers_equal(a, i, b, j, same);
}

int policy_compiled_diff(const struct policy_compiled *a, const struct policy_compiled *b,
			 uint8_t *changed)
{
	bool same = same_nodes(a, b);
	size_t n = 0;

	for (size_t j = 0; j < b->n; j++) {
		size_t i = same ? j : find_id(a, b->t->nodes[j].id);

		changed[j] = i == SIZE_MAX || !node_equal(a, i, b, j, same);
		n += changed[j];
	}
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

bool policy_compiled_node_equal(const struct policy_compiled *a, size_t i,
				const struct policy_compiled *b, size_t j)
{
	return node_equal(a, i, b, j, same_nodes(a, b));
}

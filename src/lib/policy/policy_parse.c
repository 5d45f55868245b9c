/* SPDX-License-Identifier: ISC */
/*
 * policy_parse: HuJSON policy text to the validated model of policy.h, with
 * line:column, path and Tailscale's wording for every refusal.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/numparse.h"
#include "json/hujson.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

/* Parse state: the policy being built and where to report. */
struct pctx {
	struct policy *p;
	struct arena *a;
	const char *std; /* standardized text, for locating paths */
	size_t len;
	const char *domain; /* tailnet domain, NULL: any */
	struct policy_err *err;
};

enum side { SIDE_SRC, SIDE_DST, SIDE_OWNER, SIDE_SSH_SRC, SIDE_SSH_DST, SIDE_TEST };

char *policy_err_format(const struct policy_err *e, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (e->line > 0)
		n += (size_t)snprintf(buf, len, "%u:%u: ", e->line, e->column);
	if (n < len && e->path[0] != '\0')
		n += (size_t)snprintf(buf + n, len - n, "%s: ", e->path);
	if (n < len)
		snprintf(buf + n, len - n, "%s", e->msg);
	return buf;
}

__attribute__((format(printf, 3, 4))) static int fail(struct pctx *c, const char *path,
						      const char *fmt, ...)
{
	struct policy_err *e = c->err;
	va_list ap;
	size_t off;

	if (e == NULL)
		return -EINVAL;
	e->line = e->column = 0;
	snprintf(e->path, sizeof(e->path), "%s", path);
	if (c->std != NULL) {
		/* The value itself, or where it should have been (its nearest parent). */
		char where[POLICY_PATH_LEN];
		size_t n;

		snprintf(where, sizeof(where), "%s", path);
		for (;;) {
			if (hujson_locate(c->std, c->len, where, &off) == 0) {
				hujson_position(c->std, c->len, off, &e->line, &e->column);
				break;
			}
			n = strlen(where);
			while (n > 0 && where[n - 1] != '.' && where[n - 1] != '[')
				n--;
			if (n == 0)
				break;
			where[n - 1] = '\0';
		}
	}
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void path_key(char out[static POLICY_PATH_LEN], const char *path, const char *key)
{
	bool plain = key[0] != '\0' &&
		     strspn(key, "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);

	int n;

	if (plain)
		n = snprintf(out, POLICY_PATH_LEN, "%s%s%s", path, path[0] ? "." : "", key);
	else
		n = snprintf(out, POLICY_PATH_LEN, "%s[\"%s\"]", path, key);
	if (n < 0 || n >= POLICY_PATH_LEN)
		out[POLICY_PATH_LEN - 1] = '\0'; /* truncated paths only lose the locating */
}

static void path_index(char out[static POLICY_PATH_LEN], const char *path, size_t i)
{
	int n = snprintf(out, POLICY_PATH_LEN, "%s[%zu]", path, i);

	if (n < 0 || n >= POLICY_PATH_LEN)
		out[POLICY_PATH_LEN - 1] = '\0';
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

/* Copies s without leading and trailing white space into the arena. */
static char *trimdup(struct arena *a, const char *s)
{
	size_t n;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return arena_strndup(a, s, n);
}

/* Looks `key` up case-insensitively (Tailscale and Headscale match field names so). */
static json_t *get(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
		if (strcasecmp(k, key) == 0)
			return v;
	return NULL;
}

/* Refuses keys not in `known` (NULL-terminated); keys starting with '#' are comments. */
static int check_keys(struct pctx *c, const json_t *obj, const char *path, const char *const *known)
{
	char where[POLICY_PATH_LEN];
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, k, v) {
		if (k[0] == '#')
			continue;
		if (get(obj, k) != v) {
			path_key(where, path, k);
			return fail(c, where, "duplicate field %s (names match regardless of case)", k);
		}
		for (i = 0; known[i] != NULL; i++)
			if (strcasecmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			path_key(where, path, k);
			return fail(c, where, "unknown field %s", k);
		}
	}
	return 0;
}

/* An array of strings (absent or null: none) into trimmed arena copies. */
static int get_strv(struct pctx *c, const json_t *v, const char *path, const char *const **out,
		    size_t *n)
{
	char where[POLICY_PATH_LEN];
	const char **s;
	size_t i;
	json_t *e;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, path, "expected an array of strings, got %s", type_name(v));
	s = arena_calloc(c->a, json_array_size(v) + 1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			path_index(where, path, i);
			return fail(c, where, "expected a string, got %s", type_name(e));
		}
		if ((s[i] = trimdup(c->a, json_string_value(e))) == NULL)
			return -ENOMEM;
	}
	*out = s;
	*n = json_array_size(v);
	return 0;
}

static const struct policy_tag_owner *find_tag(const struct policy *p, const char *tag)
{
	size_t i;

	for (i = 0; i < p->ntag_owners; i++)
		if (strcmp(p->tag_owners[i].tag, tag) == 0)
			return &p->tag_owners[i];
	return NULL;
}

static const struct policy_host *find_host(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		if (strcmp(p->hosts[i].name, name) == 0)
			return &p->hosts[i];
	return NULL;
}

/* "tag:" then a letter, then letters, digits and dashes. */
static bool tag_name_ok(const char *t)
{
	const char *s = t + 4;

	if (strncmp(t, "tag:", 4) != 0 || !isalpha((unsigned char)*s) || (unsigned char)*s > 127)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s > 127 || !(isalnum((unsigned char)*s) || *s == '-'))
			return false;
	return true;
}

static int domain_ok(struct pctx *c, const char *path, const char *domain, const char *prefix)
{
	if (c->domain == NULL || strcmp(domain, c->domain) == 0)
		return 0;
	return fail(c, path,
		    "%s%s is not associated with this Tailnet and cannot be used in "
		    "user:*@<domain> expressions",
		    prefix, domain);
}

static const char *side_name(enum side side)
{
	return side == SIDE_DST || side == SIDE_SSH_DST ? "dst" : "src";
}

/*
 * One selector. For SIDE_TEST nothing is refused: a selector that cannot be
 * resolved leaves *bad set, and the test fails when run.
 */
static int parse_alias(struct pctx *c, const char *text, const char *path, enum side side,
		       struct policy_alias *out, const char **bad)
{
	const struct policy_host *h;
	const char *name;

	memset(out, 0, sizeof(*out));
	if (bad != NULL)
		*bad = NULL;
	if ((name = arena_strdup(c->a, text)) == NULL)
		return -ENOMEM;
	out->name = name;
	if (strcmp(name, "*") == 0) {
		out->kind = POLICY_A_WILDCARD;
	} else if (strncmp(name, "autogroup:", 10) == 0) {
		static const struct {
			const char *name;
			uint8_t kind;
		} ag[] = {
			{ "member", POLICY_A_MEMBER },
			{ "tagged", POLICY_A_TAGGED },
			{ "self", POLICY_A_SELF },
			{ "internet", POLICY_A_INTERNET },
			{ "danger-all", POLICY_A_DANGER_ALL },
		};
		size_t i;

		for (i = 0; i < sizeof(ag) / sizeof(ag[0]); i++)
			if (strcmp(name + 10, ag[i].name) == 0)
				out->kind = ag[i].kind;
		if (out->kind == 0) {
			if (bad != NULL) {
				*bad = "unknown autogroup";
				return 0;
			}
			return fail(c, path, "%s=%s: unknown autogroup", side_name(side), name);
		}
	} else if (strncmp(name, "group:", 6) == 0) {
		out->kind = POLICY_A_GROUP;
		if (policy_find_group(c->p, name) == NULL) {
			if (bad != NULL) {
				*bad = "group not found";
				return 0;
			}
			if (side != SIDE_OWNER)
				return fail(c, path, "%s=group not found: \"%s\"", side_name(side),
					    name);
		}
	} else if (strncmp(name, "tag:", 4) == 0) {
		out->kind = POLICY_A_TAG;
		if (find_tag(c->p, name) == NULL) {
			if (bad != NULL) {
				*bad = "tag not found";
				return 0;
			}
			if (side == SIDE_DST)
				return fail(c, path, "dst=\"%s\": tag not found: \"%s\"", name,
					    name);
			if (side != SIDE_OWNER)
				return fail(c, path, "%s=tag not found: \"%s\"", side_name(side),
					    name);
		}
	} else if (strncmp(name, "user:", 5) == 0) {
		const char *at = strchr(name, '@');

		if (strncmp(name + 5, "*@", 2) != 0 || at == NULL || at[1] == '\0') {
			if (bad != NULL) {
				*bad = "unsupported user: selector";
				return 0;
			}
			return fail(c, path, "%s=%s: only user:*@<domain> is supported",
				    side_name(side), name);
		}
		out->kind = POLICY_A_DOMAIN;
		out->name = at + 1;
		if (bad == NULL &&
		    domain_ok(c, path, at + 1, side == SIDE_SSH_SRC ? "[ssh] " : "") < 0)
			return -EINVAL;
	} else if (strchr(name, '@') != NULL) {
		out->kind = POLICY_A_USER;
	} else if ((h = find_host(c->p, name)) != NULL) {
		out->kind = POLICY_A_HOST;
		out->prefix = h->prefix;
	} else if (netprefix_parse_loose(name, &out->prefix) == 0) {
		out->kind = POLICY_A_PREFIX;
		if (bad != NULL && strchr(name, '/') != NULL)
			*bad = "a test destination must be a single address, not a prefix";
	} else {
		if (bad != NULL) {
			*bad = "host not found";
			return 0;
		}
		return fail(c, path, "%s=\"%s\": host not found", side_name(side), name);
	}
	if (bad != NULL)
		return 0;
	if (side == SIDE_SRC && out->kind == POLICY_A_SELF)
		return fail(c, path, "\"autogroup:self\" not valid on the src side of a rule");
	if (side == SIDE_SRC && out->kind == POLICY_A_INTERNET)
		return fail(c, path, "\"autogroup:internet\" not valid on the src side of a rule");
	if (side == SIDE_DST && out->kind == POLICY_A_DANGER_ALL)
		return fail(c, path,
			    "\"autogroup:danger-all\" not valid on the dst side of a rule");
	if (side == SIDE_SSH_DST &&
	    (out->kind == POLICY_A_WILDCARD || out->kind == POLICY_A_HOST ||
	     out->kind == POLICY_A_PREFIX || out->kind == POLICY_A_INTERNET ||
	     out->kind == POLICY_A_DANGER_ALL))
		return fail(c, path, "invalid dst \"%s\"", name);
	if (side == SIDE_SSH_SRC && (out->kind == POLICY_A_SELF || out->kind == POLICY_A_INTERNET))
		return fail(c, path, "invalid src \"%s\"", name);
	return 0;
}

static int parse_aliases(struct pctx *c, const json_t *v, const char *path, enum side side,
			 const struct policy_alias **out, size_t *n)
{
	char where[POLICY_PATH_LEN];
	const char *const *s;
	struct policy_alias *al;
	size_t i, ns;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = get_strv(c, v, path, &s, &ns)) < 0)
		return rc;
	if (ns == 0)
		return 0;
	if ((al = arena_calloc(c->a, ns, sizeof(*al))) == NULL)
		return -ENOMEM;
	for (i = 0; i < ns; i++) {
		path_index(where, path, i);
		if ((rc = parse_alias(c, s[i], where, side, &al[i], NULL)) < 0)
			return rc;
	}
	*out = al;
	*n = ns;
	return 0;
}

/* Strict decimal in [0, 65535]. */
static int port_num(const char *s, size_t n, uint16_t *out)
{
	char buf[8];
	uint32_t v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (numparse_u32(buf, 0, 65535, &v) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/*
 * Ports "*", "22", "80,443", "1000-2000" or a mix. On error *what names the
 * Tailscale wording ("invalid first integer").
 */
static int parse_ports(struct pctx *c, const char *s, const struct policy_portrange **out,
		       size_t *n, const char **what)
{
	struct policy_portrange *r;
	size_t cnt = 1, i = 0;
	const char *p;

	*what = NULL;
	if (strcmp(s, "*") == 0) {
		if ((r = arena_calloc(c->a, 1, sizeof(*r))) == NULL)
			return -ENOMEM;
		r->first = 0;
		r->last = 65535;
		*out = r;
		*n = 1;
		return 0;
	}
	for (p = s; *p != '\0'; p++)
		cnt += *p == ',';
	if ((r = arena_calloc(c->a, cnt, sizeof(*r))) == NULL)
		return -ENOMEM;
	for (p = s;; i++) {
		size_t len = strcspn(p, ","), dash;

		dash = strcspn(p, "-");
		if (dash < len) {
			if (port_num(p, dash, &r[i].first) < 0) {
				*what = "invalid first integer";
				return -EINVAL;
			}
			if (port_num(p + dash + 1, len - dash - 1, &r[i].last) < 0) {
				*what = "invalid last integer";
				return -EINVAL;
			}
			if (r[i].last < r[i].first) {
				*what = "last is smaller than first";
				return -EINVAL;
			}
		} else {
			if (port_num(p, len, &r[i].first) < 0) {
				*what = "invalid first integer";
				return -EINVAL;
			}
			r[i].last = r[i].first;
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*out = r;
	*n = cnt;
	return 0;
}

/* Splits "alias:ports" at the last colon; "[v6]:ports" loses its brackets. */
static int split_dst(struct arena *a, const char *s, char **alias, const char **ports)
{
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		*alias = arena_strndup(a, s + 1, n - 2);
	else
		*alias = arena_strndup(a, s, n);
	if (*alias == NULL)
		return -ENOMEM;
	*ports = colon + 1;
	return 0;
}

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "icmp", 1 }, { "igmp", 2 },	    { "ipv4", 4 },   { "ip-in-ip", 4 }, { "tcp", 6 },
	{ "egp", 8 },  { "igp", 9 },	    { "udp", 17 },   { "gre", 47 },	{ "esp", 50 },
	{ "ah", 51 },  { "ipv6-icmp", 58 }, { "sctp", 132 }, { "fc", 133 },
};

/* A protocol name or number 1-255 (no leading zeros). */
static int parse_proto(const char *s, uint8_t *out)
{
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcasecmp(s, protos[i].name) == 0) {
			*out = protos[i].num;
			return 0;
		}
	}
	if (s[0] == '0' || numparse_u32(s, 1, 255, &v) < 0)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static bool proto_has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

static int parse_groups(struct pctx *c, const json_t *v)
{
	char where[POLICY_PATH_LEN], mw[POLICY_PATH_LEN];
	struct policy_group *g;
	const char *k;
	json_t *m;
	size_t i = 0, j;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(c, "groups", "expected an object, got %s", type_name(v));
	if ((g = arena_calloc(c->a, json_object_size(v) + 1, sizeof(*g))) == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)v, k, m) {
		path_key(where, "groups", k);
		if (strncmp(k, "group:", 6) != 0 || k[6] == '\0')
			return fail(c, where, "group names must start with \"group:\"");
		if ((g[i].name = arena_strdup(c->a, k)) == NULL)
			return -ENOMEM;
		if ((rc = get_strv(c, m, where, &g[i].members, &g[i].nmembers)) < 0)
			return rc;
		for (j = 0; j < g[i].nmembers; j++) {
			path_index(mw, where, j);
			if (strncmp(g[i].members[j], "group:", 6) == 0)
				return fail(c, mw,
					    "groups[\"%s\"]: \"%s\": group members cannot be "
					    "recursive",
					    k, g[i].members[j]);
			if (g[i].members[j][0] == '\0')
				return fail(c, mw, "group members cannot be empty");
		}
		i++;
	}
	c->p->groups = g;
	c->p->ngroups = i;
	return 0;
}

static int parse_hosts(struct pctx *c, const json_t *v)
{
	char where[POLICY_PATH_LEN];
	struct policy_host *h;
	const char *k;
	json_t *m;
	size_t i = 0;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(c, "hosts", "expected an object, got %s", type_name(v));
	if ((h = arena_calloc(c->a, json_object_size(v) + 1, sizeof(*h))) == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)v, k, m) {
		path_key(where, "hosts", k);
		if (k[0] == '\0' || strchr(k, '@') != NULL || strchr(k, ':') != NULL ||
		    strcmp(k, "*") == 0)
			return fail(c, where, "host name \"%s\" is not valid", k);
		if (!json_is_string(m) ||
		    netprefix_parse_loose(json_string_value(m), &h[i].prefix) < 0)
			return fail(c, where, "host \"%s\" must be an IP address or CIDR prefix",
				    k);
		if ((h[i].name = arena_strdup(c->a, k)) == NULL)
			return -ENOMEM;
		i++;
	}
	c->p->hosts = h;
	c->p->nhosts = i;
	return 0;
}

static int parse_tag_owners(struct pctx *c, const json_t *v)
{
	char where[POLICY_PATH_LEN];
	struct policy_tag_owner *t;
	const char *k;
	json_t *m;
	size_t i = 0;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(c, "tagOwners", "expected an object, got %s", type_name(v));
	if ((t = arena_calloc(c->a, json_object_size(v) + 1, sizeof(*t))) == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)v, k, m) {
		path_key(where, "tagOwners", k);
		if (!tag_name_ok(k))
			return fail(c, where,
				    "tagOwners[\"%s\"]: tag names must start with a letter, after "
				    "'tag:'",
				    k);
		if ((t[i].tag = arena_strdup(c->a, k)) == NULL)
			return -ENOMEM;
		if ((rc = get_strv(c, m, where, &t[i].owners, &t[i].nowners)) < 0)
			return rc;
		i++;
	}
	c->p->tag_owners = t;
	c->p->ntag_owners = i;
	return 0;
}

/* Second pass over tagOwners: owners must be known selectors (tags may name each other). */
static int check_tag_owners(struct pctx *c)
{
	char where[POLICY_PATH_LEN], ow[POLICY_PATH_LEN];
	struct policy_alias al;
	size_t i, j;
	int rc;

	for (i = 0; i < c->p->ntag_owners; i++) {
		const struct policy_tag_owner *t = &c->p->tag_owners[i];

		path_key(where, "tagOwners", t->tag);
		for (j = 0; j < t->nowners; j++) {
			path_index(ow, where, j);
			if (strcmp(t->owners[j], "autogroup:admin") == 0 ||
			    strcmp(t->owners[j], "autogroup:owner") == 0)
				continue;
			if ((rc = parse_alias(c, t->owners[j], ow, SIDE_OWNER, &al, NULL)) < 0)
				return rc;
			if (al.kind != POLICY_A_USER && al.kind != POLICY_A_GROUP &&
			    al.kind != POLICY_A_TAG && al.kind != POLICY_A_MEMBER &&
			    al.kind != POLICY_A_TAGGED)
				return fail(c, ow, "tag owner \"%s\" must be a user, group or tag",
					    t->owners[j]);
		}
	}
	return 0;
}

/* Whether an alias may be the source of an autogroup:self destination. */
static bool self_src_ok(const struct policy_alias *a)
{
	return a->kind == POLICY_A_WILDCARD || a->kind == POLICY_A_USER ||
	       a->kind == POLICY_A_GROUP || a->kind == POLICY_A_MEMBER ||
	       a->kind == POLICY_A_DOMAIN;
}

static int check_self_srcs(struct pctx *c, const char *path, const struct policy_alias *src,
			   size_t nsrc, bool has_self)
{
	size_t i;

	if (!has_self)
		return 0;
	for (i = 0; i < nsrc; i++)
		if (!self_src_ok(&src[i]))
			return fail(c, path,
				    "autogroup:self can only be used with users, groups, or "
				    "supported autogroups");
	return 0;
}

struct acl_list {
	struct policy_acl *v;
	size_t n;
	size_t cap;
};

static struct policy_acl *acl_push(struct pctx *c, struct acl_list *l)
{
	struct policy_acl *nv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((nv = arena_calloc(c->a, cap, sizeof(*nv))) == NULL)
			return NULL;
		if (l->n > 0)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	return &l->v[l->n++];
}

static int parse_acl(struct pctx *c, const json_t *e, const char *path, struct policy_acl *acl)
{
	static const char *const keys[] = { "action", "src",   "dst",	     "proto",
					    "users",  "ports", "srcPosture", NULL };
	char where[POLICY_PATH_LEN], dw[POLICY_PATH_LEN];
	const char *const *dsts;
	const char *act, *what;
	struct policy_dst *d;
	json_t *v;
	bool self = false, ports_ok = true;
	size_t i, nd;
	int rc;

	if (!json_is_object(e))
		return fail(c, path, "expected an object, got %s", type_name(e));
	if ((rc = check_keys(c, e, path, keys)) < 0)
		return rc;
	v = get(e, "action");
	act = json_is_string(v) ? json_string_value(v) : NULL;
	path_key(where, path, "action");
	if (act == NULL || act[0] == '\0')
		return fail(c, where, "action must be specified");
	if (strcmp(act, "accept") != 0 && strcmp(act, "allow") != 0)
		return fail(c, where, "action=\"%s\" is not supported", act);
	path_key(where, path, "proto");
	v = get(e, "proto");
	if (v != NULL && !json_is_null(v)) {
		uint8_t *pr;

		if (!json_is_string(v) || json_string_value(v)[0] == '\0')
			return fail(c, where, "proto must be a protocol name or number");
		if ((pr = arena_calloc(c->a, 1, 1)) == NULL)
			return -ENOMEM;
		if (parse_proto(json_string_value(v), pr) < 0)
			return fail(c, where, "proto=\"%s\" is not a valid protocol",
				    json_string_value(v));
		acl->protos = pr;
		acl->nprotos = 1;
		ports_ok = proto_has_ports(pr[0]);
	}
	v = get(e, "src");
	path_key(where, path, get(e, "src") == NULL && get(e, "users") ? "users" : "src");
	if ((rc = parse_aliases(c, v ? v : get(e, "users"), where, SIDE_SRC, &acl->src,
				&acl->nsrc)) < 0)
		return rc;
	v = get(e, "dst");
	path_key(where, path, v == NULL && get(e, "ports") ? "ports" : "dst");
	if ((rc = get_strv(c, v ? v : get(e, "ports"), where, &dsts, &nd)) < 0)
		return rc;
	if ((d = arena_calloc(c->a, nd + 1, sizeof(*d))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nd; i++) {
		char *alias;
		const char *ports;

		path_index(dw, where, i);
		if ((rc = split_dst(c->a, dsts[i], &alias, &ports)) < 0) {
			if (rc == -ENOMEM)
				return rc;
			return fail(c, dw, "dst=\"%s\": missing port range", dsts[i]);
		}
		if (parse_ports(c, ports, &d[i].ports, &d[i].nports, &what) < 0) {
			if (what == NULL)
				return -ENOMEM;
			return fail(c, dw, "dst=\"%s\": port range \"%s\": %s", dsts[i], ports,
				    what);
		}
		if (!ports_ok &&
		    !(d[i].nports == 1 && d[i].ports[0].first == 0 && d[i].ports[0].last == 65535))
			return fail(c, dw, "dst=\"%s\": ports are only valid with tcp, udp or sctp",
				    dsts[i]);
		if ((rc = parse_alias(c, alias, dw, SIDE_DST, &d[i].alias, NULL)) < 0)
			return rc;
		self |= d[i].alias.kind == POLICY_A_SELF;
	}
	acl->dst = d;
	acl->ndst = nd;
	path_key(where, path, "src");
	return check_self_srcs(c, where, acl->src, acl->nsrc, self);
}

/* One grant `ip` entry: "*", "443", "tcp:443", "udp:53,1000-2000", "icmp:*". */
static int parse_grant_ip(struct pctx *c, const char *s, const char *path, uint8_t *proto,
			  const struct policy_portrange **ports, size_t *nports)
{
	const char *colon = strchr(s, ':'), *what, *pp = s;
	char name[16];

	*proto = 0;
	if (colon != NULL) {
		size_t n = (size_t)(colon - s);

		if (n == 0 || n >= sizeof(name))
			return fail(c, path, "ip=\"%s\": invalid protocol", s);
		memcpy(name, s, n);
		name[n] = '\0';
		if (parse_proto(name, proto) < 0)
			return fail(c, path, "ip=\"%s\": invalid protocol \"%s\"", s, name);
		pp = colon + 1;
	}
	if (parse_ports(c, pp, ports, nports, &what) < 0) {
		if (what == NULL)
			return -ENOMEM;
		return fail(c, path, "ip=\"%s\": port range \"%s\": %s", s, pp, what);
	}
	return 0;
}

static int parse_grant(struct pctx *c, const json_t *e, const char *path, struct acl_list *l)
{
	static const char *const keys[] = { "src", "dst", "ip", "app", "via", "srcPosture", NULL };
	char where[POLICY_PATH_LEN], iw[POLICY_PATH_LEN];
	const struct policy_alias *src, *dsta;
	const char *const *ips, *const *via;
	size_t nsrc, ndst, nips, nvia, i, j;
	json_t *app;
	bool self = false;
	int rc;

	if (!json_is_object(e))
		return fail(c, path, "expected an object, got %s", type_name(e));
	if ((rc = check_keys(c, e, path, keys)) < 0)
		return rc;
	path_key(where, path, "src");
	if ((rc = parse_aliases(c, get(e, "src"), where, SIDE_SRC, &src, &nsrc)) < 0)
		return rc;
	path_key(where, path, "dst");
	if ((rc = parse_aliases(c, get(e, "dst"), where, SIDE_DST, &dsta, &ndst)) < 0)
		return rc;
	for (i = 0; i < ndst; i++)
		self |= dsta[i].kind == POLICY_A_SELF;
	path_key(where, path, "src");
	if ((rc = check_self_srcs(c, where, src, nsrc, self)) < 0)
		return rc;
	path_key(where, path, "via");
	if ((rc = get_strv(c, get(e, "via"), where, &via, &nvia)) < 0)
		return rc;
	for (i = 0; i < nvia; i++) {
		path_index(iw, where, i);
		if (strncmp(via[i], "tag:", 4) != 0)
			return fail(c, iw, "via=\"%s\": via must name tags", via[i]);
		if (find_tag(c->p, via[i]) == NULL)
			return fail(c, iw, "via=tag not found: \"%s\"", via[i]);
	}
	path_key(where, path, "ip");
	if ((rc = get_strv(c, get(e, "ip"), where, &ips, &nips)) < 0)
		return rc;
	app = get(e, "app");
	if (app != NULL && json_is_null(app))
		app = NULL;
	if (app != NULL && !json_is_object(app)) {
		path_key(where, path, "app");
		return fail(c, where, "expected an object, got %s", type_name(app));
	}
	if (nips == 0 && app == NULL)
		return fail(c, path, "grants must specify \"ip\" or \"app\"");
	for (i = 0; i < nips; i++) {
		struct policy_acl *acl = acl_push(c, l);
		struct policy_dst *d;
		uint8_t *pr;
		const struct policy_portrange *ports;
		size_t nports;

		if (acl == NULL || (pr = arena_calloc(c->a, 1, 1)) == NULL ||
		    (d = arena_calloc(c->a, ndst + 1, sizeof(*d))) == NULL)
			return -ENOMEM;
		path_key(where, path, "ip");
		path_index(iw, where, i);
		if ((rc = parse_grant_ip(c, ips[i], iw, pr, &ports, &nports)) < 0)
			return rc;
		for (j = 0; j < ndst; j++) {
			d[j].alias = dsta[j];
			d[j].ports = ports;
			d[j].nports = nports;
		}
		acl->src = src;
		acl->nsrc = nsrc;
		acl->dst = d;
		acl->ndst = ndst;
		acl->protos = *pr ? pr : NULL;
		acl->nprotos = *pr ? 1 : 0;
		acl->via = via;
		acl->nvia = nvia;
		acl->grant = true;
	}
	if (app != NULL) {
		struct policy_acl *acl = acl_push(c, l);
		struct policy_dst *d;

		if (acl == NULL || (d = arena_calloc(c->a, ndst + 1, sizeof(*d))) == NULL)
			return -ENOMEM;
		for (j = 0; j < ndst; j++)
			d[j].alias = dsta[j];
		acl->src = src;
		acl->nsrc = nsrc;
		acl->dst = d;
		acl->ndst = ndst;
		acl->via = via;
		acl->nvia = nvia;
		acl->app = app;
		acl->grant = true;
	}
	return 0;
}

static int parse_rules(struct pctx *c, const json_t *acls, const json_t *grants)
{
	char where[POLICY_PATH_LEN];
	struct acl_list l = { 0 };
	struct policy_acl *acl;
	json_t *e;
	size_t i;
	int rc;

	c->p->has_rules =
		(acls != NULL && !json_is_null(acls)) || (grants != NULL && !json_is_null(grants));
	if (acls != NULL && !json_is_null(acls)) {
		if (!json_is_array(acls))
			return fail(c, "acls", "expected an array, got %s", type_name(acls));
		json_array_foreach(acls, i, e) {
			path_index(where, "acls", i);
			if ((acl = acl_push(c, &l)) == NULL)
				return -ENOMEM;
			if ((rc = parse_acl(c, e, where, acl)) < 0)
				return rc;
		}
	}
	if (grants != NULL && !json_is_null(grants)) {
		if (!json_is_array(grants))
			return fail(c, "grants", "expected an array, got %s", type_name(grants));
		json_array_foreach(grants, i, e) {
			path_index(where, "grants", i);
			if ((rc = parse_grant(c, e, where, &l)) < 0)
				return rc;
		}
	}
	c->p->acls = l.v;
	c->p->nacls = l.n;
	return 0;
}

/*
 * A Go duration ("1h", "30m", "168h0m1s", "-1m") in nanoseconds, sign kept
 * apart. Returns -EINVAL if malformed.
 */
static int go_duration(const char *s, bool *neg, uint64_t *ns)
{
	*neg = false;
	if (*s == '-' || *s == '+') {
		*neg = *s == '-';
		s++;
	}
	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	return numparse_duration_ns(s, ns);
}

static void go_duration_format(uint64_t ns, bool neg, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s >= 3600)
		snprintf(buf, len, "%s%lluh%llum%llus", neg ? "-" : "",
			 (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60),
			 (unsigned long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%s%llum%llus", neg ? "-" : "", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%s%llus", neg ? "-" : "", (unsigned long long)s);
}

static int parse_ssh_users(struct pctx *c, const json_t *v, const char *path, struct policy_ssh *r)
{
	char where[POLICY_PATH_LEN];
	size_t i;
	int rc;

	if (v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return fail(c, path, "users must be specified");
	if ((rc = get_strv(c, v, path, &r->users, &r->nusers)) < 0)
		return rc;
	for (i = 0; i < r->nusers; i++) {
		const char *u = r->users[i];

		path_index(where, path, i);
		if (u[0] == '\0' || strcmp(u, "*") == 0)
			return fail(c, where, "user \"%s\" is not valid", u);
		if (strncmp(u, "localpart:*@", 12) == 0 && u[12] != '\0') {
			const char *d = u + 12;

			if (strchr(d, '*') != NULL ||
			    (c->domain != NULL && strcmp(d, c->domain) != 0))
				return fail(c, where,
					    "%s is not associated with this Tailnet and cannot be "
					    "used in user:*@<domain> expressions",
					    strchr(d, '*') != NULL ? "*" : d);
		}
	}
	return 0;
}

static int parse_ssh(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = { "action",	   "src",
					    "dst",	   "users",
					    "checkPeriod", "acceptEnv",
					    "recorder",	   "enforceRecorder",
					    "srcPosture",  NULL };
	char path[POLICY_PATH_LEN], where[POLICY_PATH_LEN], ew[POLICY_PATH_LEN];
	struct policy_ssh *rules;
	const char *act;
	json_t *e, *f;
	size_t i, j;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, "ssh", "expected an array, got %s", type_name(v));
	if ((rules = arena_calloc(c->a, json_array_size(v) + 1, sizeof(*rules))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		struct policy_ssh *r = &rules[i];
		char *a;

		path_index(path, "ssh", i);
		if (!json_is_object(e))
			return fail(c, path, "expected an object, got %s", type_name(e));
		if ((rc = check_keys(c, e, path, keys)) < 0)
			return rc;
		path_key(where, path, "action");
		f = get(e, "action");
		act = json_is_string(f) ? json_string_value(f) : "";
		if ((a = trimdup(c->a, act)) == NULL)
			return -ENOMEM;
		if (a[0] == '\0')
			return fail(c, where, "action must be specified");
		if (strcmp(a, "check") == 0)
			r->check = true;
		else if (strcmp(a, "accept") != 0)
			return fail(c, where, "\"%s\" is not a valid action", a);
		path_key(where, path, "src");
		if ((rc = parse_aliases(c, get(e, "src"), where, SIDE_SSH_SRC, &r->src, &r->nsrc)) <
		    0)
			return rc;
		path_key(where, path, "dst");
		if ((rc = parse_aliases(c, get(e, "dst"), where, SIDE_SSH_DST, &r->dst, &r->ndst)) <
		    0)
			return rc;
		for (j = 0; j < r->ndst; j++) {
			if (r->dst[j].kind != POLICY_A_SELF)
				continue;
			path_key(where, path, "src");
			if ((rc = check_self_srcs(c, where, r->src, r->nsrc, true)) < 0)
				return rc;
		}
		path_key(where, path, "users");
		if ((rc = parse_ssh_users(c, get(e, "users"), where, r)) < 0)
			return rc;
		r->check_period_ns = POLICY_CHECK_DEFAULT_NS;
		f = get(e, "checkPeriod");
		path_key(where, path, "checkPeriod");
		if (f != NULL && !json_is_null(f)) {
			const char *s = json_is_string(f) ? json_string_value(f) : NULL;
			char tmp[48];
			uint64_t ns;
			bool neg;

			if (s == NULL)
				return fail(c, where, "checkPeriod must be a duration string");
			if (strcmp(s, "always") == 0) {
				r->check_always = true;
			} else {
				if (go_duration(s, &neg, &ns) < 0)
					return fail(c, where, "time: invalid duration \"%s\"", s);
				go_duration_format(ns, neg, tmp, sizeof(tmp));
				if (neg)
					return fail(c, where,
						    "checkPeriod %s must be a positive duration",
						    tmp);
				if (ns > POLICY_CHECK_MAX_NS)
					return fail(c, where,
						    "checkPeriod %s is above the max (168h)", tmp);
				r->check_period_ns = ns;
			}
		}
		path_key(where, path, "acceptEnv");
		if ((rc = get_strv(c, get(e, "acceptEnv"), where, &r->accept_env,
				   &r->naccept_env)) < 0)
			return rc;
		for (j = 0; j < r->naccept_env; j++) {
			path_index(ew, where, j);
			if (r->accept_env[j][0] == '\0')
				return fail(c, ew, "acceptEnv values cannot be empty");
		}
	}
	c->p->ssh = rules;
	c->p->nssh = json_array_size(v);
	return 0;
}

static int parse_auto_approvers(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = { "routes", "exitNode", NULL };
	char where[POLICY_PATH_LEN];
	struct policy_route_approver *r;
	const char *k;
	json_t *routes, *m;
	size_t i = 0;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(c, "autoApprovers", "expected an object, got %s", type_name(v));
	if ((rc = check_keys(c, v, "autoApprovers", keys)) < 0)
		return rc;
	routes = get(v, "routes");
	if (routes != NULL && !json_is_null(routes)) {
		if (!json_is_object(routes))
			return fail(c, "autoApprovers.routes", "expected an object, got %s",
				    type_name(routes));
		if ((r = arena_calloc(c->a, json_object_size(routes) + 1, sizeof(*r))) == NULL)
			return -ENOMEM;
		json_object_foreach(routes, k, m) {
			path_key(where, "autoApprovers.routes", k);
			if (netprefix_parse(k, &r[i].prefix) < 0)
				return fail(c, where, "\"%s\" is not a valid CIDR prefix", k);
			if ((rc = parse_aliases(c, m, where, SIDE_SRC, &r[i].approvers,
						&r[i].napprovers)) < 0)
				return rc;
			i++;
		}
		c->p->routes = r;
		c->p->nroutes = i;
	}
	return parse_aliases(c, get(v, "exitNode"), "autoApprovers.exitNode", SIDE_SRC,
			     &c->p->exit_node, &c->p->nexit_node);
}

static int parse_node_attrs(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = { "target", "attr", "app", "ipPool", NULL };
	char path[POLICY_PATH_LEN], where[POLICY_PATH_LEN];
	struct policy_node_attr *na;
	json_t *e;
	size_t i;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, "nodeAttrs", "expected an array, got %s", type_name(v));
	if ((na = arena_calloc(c->a, json_array_size(v) + 1, sizeof(*na))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		path_index(path, "nodeAttrs", i);
		if (!json_is_object(e))
			return fail(c, path, "expected an object, got %s", type_name(e));
		if ((rc = check_keys(c, e, path, keys)) < 0)
			return rc;
		path_key(where, path, "target");
		if ((rc = parse_aliases(c, get(e, "target"), where, SIDE_SRC, &na[i].target,
					&na[i].ntarget)) < 0)
			return rc;
		path_key(where, path, "attr");
		if ((rc = get_strv(c, get(e, "attr"), where, &na[i].attrs, &na[i].nattrs)) < 0)
			return rc;
		na[i].app = get(e, "app");
	}
	c->p->node_attrs = na;
	c->p->nnode_attrs = json_array_size(v);
	return 0;
}

/* A test destination "host:port"; problems are kept in ->bad (the test then fails). */
static int parse_test_dst(struct pctx *c, const char *s, struct policy_test_dst *d)
{
	const char *ports, *bad;
	char *alias;
	uint16_t port;
	int rc;

	d->text = s;
	if ((rc = split_dst(c->a, s, &alias, &ports)) < 0) {
		if (rc == -ENOMEM)
			return rc;
		d->bad = "expected host:port";
		return 0;
	}
	if (port_num(ports, strlen(ports), &port) < 0) {
		d->bad = "the port must be a single number 0-65535";
		return 0;
	}
	d->port = port;
	if ((rc = parse_alias(c, alias, "", SIDE_TEST, &d->alias, &bad)) < 0)
		return rc;
	if (bad != NULL) {
		d->bad = bad;
		return 0;
	}
	switch ((enum policy_alias_kind)d->alias.kind) {
	case POLICY_A_WILDCARD:
	case POLICY_A_SELF:
	case POLICY_A_INTERNET:
	case POLICY_A_DANGER_ALL:
		d->bad = "not a valid test destination";
		break;
	case POLICY_A_HOST:
		if (d->alias.prefix.bits != netaddr_bits(&d->alias.prefix.addr))
			d->bad = "a test destination must be a single address, not a prefix";
		break;
	case POLICY_A_PREFIX:
		if (strchr(d->alias.name, '/') != NULL)
			d->bad = "a test destination must be a single address, not a prefix";
		break;
	case POLICY_A_USER:
	case POLICY_A_GROUP:
	case POLICY_A_TAG:
	case POLICY_A_DOMAIN:
	case POLICY_A_MEMBER:
	case POLICY_A_TAGGED:
		break;
	}
	return 0;
}

static int parse_test_dsts(struct pctx *c, const json_t *v, const char *path,
			   const struct policy_test_dst **out, size_t *n)
{
	struct policy_test_dst *d;
	const char *const *s;
	size_t i, ns;
	int rc;

	if ((rc = get_strv(c, v, path, &s, &ns)) < 0)
		return rc;
	if ((d = arena_calloc(c->a, ns + 1, sizeof(*d))) == NULL)
		return -ENOMEM;
	for (i = 0; i < ns; i++)
		if ((rc = parse_test_dst(c, s[i], &d[i])) < 0)
			return rc;
	*out = d;
	*n = ns;
	return 0;
}

static int parse_tests(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = { "src",  "proto",	       "accept",
					    "deny", "srcPostureAttrs", NULL };
	char path[POLICY_PATH_LEN], where[POLICY_PATH_LEN];
	struct policy_test *t;
	json_t *e, *f;
	size_t i;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, "tests", "expected an array, got %s", type_name(v));
	if ((t = arena_calloc(c->a, json_array_size(v) + 1, sizeof(*t))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		const char *bad = NULL;

		path_index(path, "tests", i);
		if (!json_is_object(e))
			return fail(c, path, "expected an object, got %s", type_name(e));
		if ((rc = check_keys(c, e, path, keys)) < 0)
			return rc;
		f = get(e, "src");
		if (f != NULL && !json_is_string(f)) {
			path_key(where, path, "src");
			return fail(c, where, "expected a string, got %s", type_name(f));
		}
		if ((t[i].src_text = trimdup(c->a, f ? json_string_value(f) : "")) == NULL)
			return -ENOMEM;
		if (t[i].src_text[0] == '\0')
			t[i].src_bad = "src must be specified";
		else if ((rc = parse_alias(c, t[i].src_text, "", SIDE_TEST, &t[i].src, &bad)) < 0)
			return rc;
		if (bad != NULL)
			t[i].src_bad = bad;
		f = get(e, "proto");
		if (f != NULL && !json_is_null(f)) {
			uint8_t *pr = arena_calloc(c->a, 1, 1);

			path_key(where, path, "proto");
			if (pr == NULL)
				return -ENOMEM;
			if (!json_is_string(f) || parse_proto(json_string_value(f), pr) < 0)
				return fail(c, where, "proto is not a valid protocol");
			t[i].protos = pr;
			t[i].nprotos = 1;
		}
		path_key(where, path, "accept");
		if ((rc = parse_test_dsts(c, get(e, "accept"), where, &t[i].accept,
					  &t[i].naccept)) < 0)
			return rc;
		path_key(where, path, "deny");
		if ((rc = parse_test_dsts(c, get(e, "deny"), where, &t[i].deny, &t[i].ndeny)) < 0)
			return rc;
		if (t[i].naccept == 0 && t[i].ndeny == 0 && t[i].src_bad == NULL)
			t[i].src_bad = "a test needs accept or deny";
	}
	c->p->tests = t;
	c->p->ntests = json_array_size(v);
	return 0;
}

static int parse_ssh_tests(struct pctx *c, const json_t *v)
{
	static const char *const keys[] = { "src",   "dst",  "accept",
					    "check", "deny", "srcPostureAttrs",
					    NULL };
	char path[POLICY_PATH_LEN], where[POLICY_PATH_LEN];
	struct policy_ssh_test *t;
	json_t *e, *f;
	size_t i;
	int rc;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(c, "sshTests", "expected an array, got %s", type_name(v));
	if ((t = arena_calloc(c->a, json_array_size(v) + 1, sizeof(*t))) == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		path_index(path, "sshTests", i);
		if (!json_is_object(e))
			return fail(c, path, "expected an object, got %s", type_name(e));
		if ((rc = check_keys(c, e, path, keys)) < 0)
			return rc;
		f = get(e, "src");
		path_key(where, path, "src");
		if (!json_is_string(f))
			return fail(c, where, "src must be specified");
		if ((t[i].src_text = trimdup(c->a, json_string_value(f))) == NULL)
			return -ENOMEM;
		if ((rc = parse_alias(c, t[i].src_text, where, SIDE_SSH_SRC, &t[i].src, NULL)) < 0)
			return rc;
		path_key(where, path, "dst");
		if ((rc = parse_aliases(c, get(e, "dst"), where, SIDE_SSH_DST, &t[i].dst,
					&t[i].ndst)) < 0)
			return rc;
		path_key(where, path, "accept");
		if ((rc = get_strv(c, get(e, "accept"), where, &t[i].accept, &t[i].naccept)) < 0)
			return rc;
		path_key(where, path, "check");
		if ((rc = get_strv(c, get(e, "check"), where, &t[i].check, &t[i].ncheck)) < 0)
			return rc;
		path_key(where, path, "deny");
		if ((rc = get_strv(c, get(e, "deny"), where, &t[i].deny, &t[i].ndeny)) < 0)
			return rc;
	}
	c->p->ssh_tests = t;
	c->p->nssh_tests = json_array_size(v);
	return 0;
}

int policy_parse(const char *text, size_t len, const char *tailnet, struct policy **out,
		 struct policy_err *err)
{
	static const char *const keys[] = { "groups",
					    "hosts",
					    "tagOwners",
					    "acls",
					    "grants",
					    "ssh",
					    "autoApprovers",
					    "nodeAttrs",
					    "tests",
					    "sshTests",
					    "postures",
					    "ipsets",
					    "derpMap",
					    "disableIPv4",
					    "OneCGNATRoute",
					    "randomizeClientPort",
					    "attrConfig",
					    "defaultSrcPosture",
					    NULL };
	struct pctx c = { .err = err };
	struct hujson_err herr;
	json_error_t jerr;
	struct policy *p;
	char *std = NULL;
	json_t *doc;
	int rc;

	*out = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (len > POLICY_MAX_LEN) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg),
				 "policy is %zu bytes, over the limit of %u", len, POLICY_MAX_LEN);
		return -EINVAL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	if ((rc = arena_new(16384, &p->arena)) < 0)
		goto out;
	if ((rc = hujson_standardize(text, len, &std, &herr)) < 0) {
		if (rc == -EINVAL && err != NULL) {
			err->line = herr.line;
			err->column = herr.column;
			snprintf(err->msg, sizeof(err->msg), "%s", herr.msg);
		}
		goto out;
	}
	doc = json_loadb(std, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		if (err != NULL) {
			hujson_position(std, len, jerr.position > 0 ? (size_t)jerr.position - 1 : 0,
					&err->line, &err->column);
			snprintf(err->msg, sizeof(err->msg), "%s", jerr.text);
		}
		rc = -EINVAL;
		goto out;
	}
	p->doc = doc;
	c.p = p;
	c.a = p->arena;
	c.std = std;
	c.len = len;
	if (tailnet != NULL && strchr(tailnet, '@') != NULL)
		c.domain = strchr(tailnet, '@') + 1;
	if (!json_is_object(doc)) {
		rc = fail(&c, "", "a policy must be a JSON object, got %s", type_name(doc));
		goto out;
	}
	if ((rc = check_keys(&c, doc, "", keys)) < 0 ||
	    (rc = parse_groups(&c, get(doc, "groups"))) < 0 ||
	    (rc = parse_hosts(&c, get(doc, "hosts"))) < 0 ||
	    (rc = parse_tag_owners(&c, get(doc, "tagOwners"))) < 0 ||
	    (rc = check_tag_owners(&c)) < 0 ||
	    (rc = parse_rules(&c, get(doc, "acls"), get(doc, "grants"))) < 0 ||
	    (rc = parse_ssh(&c, get(doc, "ssh"))) < 0 ||
	    (rc = parse_auto_approvers(&c, get(doc, "autoApprovers"))) < 0 ||
	    (rc = parse_node_attrs(&c, get(doc, "nodeAttrs"))) < 0 ||
	    (rc = parse_tests(&c, get(doc, "tests"))) < 0 ||
	    (rc = parse_ssh_tests(&c, get(doc, "sshTests"))) < 0)
		goto out;
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM && err != NULL)
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	free(std);
	policy_free(p);
	return rc;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	json_decref(p->doc);
	arena_free(p->arena);
	free(p);
}

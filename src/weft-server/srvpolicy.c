/* SPDX-License-Identifier: ISC */
/*
 * srvpolicy: the policy in force and its compilation (see srvpolicy.h). A
 * compilation owns a snapshot of the topology (strings and addresses copied
 * into its arena), so that the previous one stays valid while the mapper
 * compares the two after the state moved on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/log.h"
#include "policy/policy.h"
#include "weft-server/config.h"
#include "weft-server/db.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

#define LOGIN_MAX (DB_USER_NAME_MAX + 2)

struct srv_compiled {
	struct arena *a;
	struct policy_topology t;
	uint64_t *ids; /* t.nodes[i].id: ascending */
	struct policy_compiled *c;
	char **ftext;
	size_t *flen;
	uint8_t *changed; /* against the compilation before: filter, SSH rules or peers differ */
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool missing;
};

struct srv_policy {
	struct srv_state *st;
	const struct srv_config *cfg;
	struct policy *pol; /* NULL: none in force */
	char *text;
	int64_t updated;
	struct file_id fid; /* file mode: the file last looked at */
	bool have_fid;
	struct srv_compiled *cur;
	bool dirty;
	struct srv_policy_stats stats;
};

static int sp_fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int sp_fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

void srv_policy_user_login(const char *name, const char *email, char *out, size_t len)
{
	if (email != NULL && email[0] != '\0')
		snprintf(out, len, "%s", email);
	else if (strchr(name, '@') != NULL)
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s@", name); /* Headscale's form for users without a domain */
}

/* ---- the topology ------------------------------------------------------------------------ */

struct uidx {
	uint64_t id;
	size_t i;
};

static int cmp_uidx(const void *a, const void *b)
{
	const struct uidx *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_node_id(const void *a, const void *b)
{
	const struct srv_node *x = *(const struct srv_node *const *)a;
	const struct srv_node *y = *(const struct srv_node *const *)b;

	return x->rec.id < y->rec.id ? -1 : x->rec.id > y->rec.id;
}

void srv_compiled_free(struct srv_compiled *c)
{
	if (c == NULL)
		return;
	policy_compiled_free(c->c);
	if (c->ftext != NULL)
		for (size_t i = 0; i < c->t.nnodes; i++)
			free(c->ftext[i]);
	free(c->ftext);
	free(c->flen);
	free(c->changed);
	arena_free(c->a);
	free(c);
}

static void *copy_into(struct arena *a, const void *src, size_t n, size_t size)
{
	void *d;

	if (n == 0)
		return NULL;
	if ((d = arena_calloc(a, n, size)) != NULL)
		memcpy(d, src, n * size);
	return d;
}

/* A snapshot of the tailnet as the policy sees it: users, and the nodes that are peers. */
static int topo_build(const struct srv_policy *p, struct srv_compiled **out)
{
	const struct srv_state *s = p->st;
	struct srv_compiled *c;
	struct policy_user *users;
	struct policy_node *nodes;
	struct srv_node **live = NULL;
	struct uidx *ux = NULL;
	size_t nlive = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if (arena_new(65536, &c->a) < 0)
		goto fail;
	users = arena_calloc(c->a, s->n_users + 1, sizeof(*users));
	ux = calloc(s->n_users + 1, sizeof(*ux));
	live = calloc(s->n_nodes + 1, sizeof(*live));
	if (users == NULL || ux == NULL || live == NULL)
		goto fail;
	for (size_t i = 0; i < s->n_users; i++) {
		const struct srv_user *u = s->users[i];
		char login[LOGIN_MAX];

		srv_policy_user_login(u->rec.name, u->rec.email, login, sizeof(login));
		users[i].id = u->rec.id;
		if ((users[i].name = arena_strdup(c->a, u->rec.name)) == NULL ||
		    (users[i].login = arena_strdup(c->a, login)) == NULL)
			goto fail;
		ux[i] = (struct uidx){ .id = u->rec.id, .i = i };
	}
	qsort(ux, s->n_users, sizeof(*ux), cmp_uidx);
	for (size_t i = 0; i < s->n_nodes; i++)
		if (!s->nodes[i]->gone)
			live[nlive++] = s->nodes[i];
	qsort(live, nlive, sizeof(*live), cmp_node_id);
	nodes = arena_calloc(c->a, nlive + 1, sizeof(*nodes));
	c->ids = arena_calloc(c->a, nlive + 1, sizeof(*c->ids));
	if (nodes == NULL || c->ids == NULL)
		goto fail;
	for (size_t i = 0; i < nlive; i++) {
		const struct db_node *r = &live[i]->rec;
		struct policy_node *n = &nodes[i];
		struct uidx key = { .id = r->user_id }, *hit;
		struct netaddr *addrs;
		const char **tags;

		c->ids[i] = r->id;
		n->id = r->id;
		n->name = arena_strdup(c->a, r->given_name);
		n->hostname = arena_strdup(c->a, r->hostname);
		addrs = arena_calloc(c->a, 2, sizeof(*addrs));
		tags = arena_calloc(c->a, r->n_tags + 1, sizeof(*tags));
		if (n->name == NULL || n->hostname == NULL || addrs == NULL || tags == NULL)
			goto fail;
		for (size_t k = 0; k < r->n_tags; k++)
			if ((tags[k] = arena_strdup(c->a, r->tags[k])) == NULL)
				goto fail;
		n->tags = tags;
		n->ntags = r->n_tags;
		/* A tagged node belongs to its tags, not to the user who registered it. */
		hit = bsearch(&key, ux, s->n_users, sizeof(*ux), cmp_uidx);
		n->user = r->n_tags == 0 && hit != NULL ? (int)hit->i : -1;
		if (r->ipv4.family != NETADDR_NONE)
			addrs[n->naddrs++] = r->ipv4;
		if (r->ipv6.family != NETADDR_NONE)
			addrs[n->naddrs++] = r->ipv6;
		n->addrs = addrs;
		n->routes = copy_into(c->a, r->routes_advertised, r->n_routes_advertised,
				      sizeof(*r->routes_advertised));
		n->nroutes = n->routes != NULL ? r->n_routes_advertised : 0;
		n->approved = copy_into(c->a, r->routes_approved, r->n_routes_approved,
					sizeof(*r->routes_approved));
		n->napproved = n->approved != NULL ? r->n_routes_approved : 0;
		if ((r->n_routes_advertised > 0 && n->routes == NULL) ||
		    (r->n_routes_approved > 0 && n->approved == NULL))
			goto fail;
	}
	c->t.tailnet = NULL; /* any domain: logins come from the admin, not from one provider */
	c->t.control_url = arena_strdup(c->a, p->cfg->server_url);
	c->t.users = users;
	c->t.nusers = s->n_users;
	c->t.nodes = nodes;
	c->t.nnodes = nlive;
	free(ux);
	free(live);
	*out = c;
	return 0;
fail:
	free(ux);
	free(live);
	srv_compiled_free(c);
	return rc;
}

/* ---- queries ----------------------------------------------------------------------------- */

size_t srv_compiled_index(const struct srv_compiled *c, uint64_t id)
{
	size_t lo = 0, hi = c->t.nnodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->t.nnodes && c->ids[lo] == id ? lo : SIZE_MAX;
}

size_t srv_compiled_count(const struct srv_compiled *c)
{
	return c->t.nnodes;
}

uint64_t srv_compiled_id(const struct srv_compiled *c, size_t i)
{
	return c->ids[i];
}

bool srv_compiled_can_see(const struct srv_compiled *c, size_t i, size_t j)
{
	return policy_compiled_can_see(c->c, i, j);
}

const char *srv_compiled_filter(struct srv_compiled *c, size_t i, size_t *len)
{
	if (c->ftext[i] == NULL) {
		if ((c->ftext[i] = json_dumps(policy_compiled_filter(c->c, i), JSON_COMPACT)) ==
		    NULL)
			return NULL;
		c->flen[i] = strlen(c->ftext[i]);
	}
	*len = c->flen[i];
	return c->ftext[i];
}

bool srv_compiled_changed(const struct srv_compiled *c, size_t i)
{
	return c->changed[i] != 0;
}

struct srv_compiled *srv_policy_compiled(const struct srv_policy *p)
{
	return p->cur;
}

/* ---- the policy in force ----------------------------------------------------------------- */

bool srv_policy_active(const struct srv_policy *p)
{
	return p->pol != NULL;
}

const char *srv_policy_text(const struct srv_policy *p, int64_t *updated)
{
	*updated = p->updated;
	return p->text != NULL ? p->text : "";
}

bool srv_policy_is_file_mode(const struct srv_policy *p)
{
	return p->cfg->policy_mode == SRV_POLICY_FILE;
}

void srv_policy_mark_dirty(struct srv_policy *p)
{
	if (p->pol != NULL)
		p->dirty = true;
}

bool srv_policy_is_dirty(const struct srv_policy *p)
{
	return p->dirty;
}

const struct srv_policy_stats *srv_policy_get_stats(const struct srv_policy *p)
{
	return &p->stats;
}

/* Parses and tests `text`; *out is the parsed policy. */
static int sp_validate(struct srv_policy *p, const char *text, size_t len, struct policy **out,
		       char *err, size_t errlen)
{
	char msg[POLICY_ERR_LEN + POLICY_PATH_LEN + 32];
	struct srv_compiled *topo = NULL;
	struct policy_err perr;
	int r;

	*out = NULL;
	if (len > POLICY_MAX_LEN)
		return sp_fail(err, errlen, -EINVAL, "the policy is larger than %u bytes",
			       POLICY_MAX_LEN);
	if (memchr(text, '\0', len) != NULL)
		return sp_fail(err, errlen, -EINVAL, "the policy contains a NUL byte");
	if ((r = policy_parse(text, len, NULL, out, &perr)) < 0)
		return sp_fail(err, errlen, r == -ENOMEM ? -ENOMEM : -EINVAL, "%s",
			       policy_err_format(&perr, msg, sizeof(msg)));
	if ((r = topo_build(p, &topo)) < 0)
		goto fail;
	if ((r = policy_check_tests(*out, &topo->t, &perr)) < 0) {
		sp_fail(err, errlen, -EINVAL, "%s", policy_err_format(&perr, msg, sizeof(msg)));
		goto fail;
	}
	srv_compiled_free(topo);
	return 0;
fail:
	if (r == -ENOMEM)
		sp_fail(err, errlen, r, "out of memory");
	srv_compiled_free(topo);
	policy_free(*out);
	*out = NULL;
	return r == -ENOMEM ? r : -EINVAL;
}

int srv_policy_check(struct srv_policy *p, const char *text, size_t len, size_t *ntests,
		     size_t *nssh, char *err, size_t errlen)
{
	struct policy *pol;
	int r = sp_validate(p, text, len, &pol, err, errlen);

	if (r == 0) {
		if (ntests != NULL)
			*ntests = pol->ntests;
		if (nssh != NULL)
			*nssh = pol->nssh_tests;
	}
	policy_free(pol);
	return r;
}

/* Puts a validated policy in force (consumes pol). */
static int sp_take(struct srv_policy *p, struct policy *pol, const char *text, size_t len,
		   int64_t updated)
{
	char *copy = malloc(len + 1);

	if (copy == NULL) {
		policy_free(pol);
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	policy_free(p->pol);
	free(p->text);
	p->pol = pol;
	p->text = copy;
	p->updated = updated;
	p->dirty = true;
	p->stats.reloads++;
	return 0;
}

int srv_policy_set(struct srv_policy *p, const char *text, size_t len, char *err, size_t errlen)
{
	struct policy *pol;
	char *nul = NULL;
	int64_t now = p->st->now();
	int r;

	if (srv_policy_is_file_mode(p))
		return sp_fail(
			err, errlen, -EPERM,
			"policy.mode is file: edit %s instead (the server reloads it), or set "
			"policy.mode: database",
			p->cfg->policy_path ? p->cfg->policy_path : "the policy.path file");
	if ((r = sp_validate(p, text, len, &pol, err, errlen)) < 0) {
		p->stats.refused++;
		return r;
	}
	/* The store takes a C string. */
	if ((nul = malloc(len + 1)) == NULL) {
		policy_free(pol);
		return sp_fail(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(nul, text, len);
	nul[len] = '\0';
	r = db_policy_set(p->st->db, nul, now);
	free(nul);
	if (r < 0) {
		policy_free(pol);
		p->stats.refused++;
		return sp_fail(err, errlen, -EIO, "the database refused the policy (%s)",
			       strerror(-r));
	}
	if ((r = sp_take(p, pol, text, len, now)) < 0)
		return sp_fail(err, errlen, r, "out of memory");
	log_info("policy set (%zu bytes): it applies to every node now", len);
	return 0;
}

/* ---- file mode --------------------------------------------------------------------------- */

static bool fid_eq(const struct file_id *a, const struct file_id *b)
{
	return a->missing == b->missing && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void fid_of(const char *path, struct file_id *f)
{
	struct stat sb;

	memset(f, 0, sizeof(*f));
	if (stat(path, &sb) < 0) {
		f->missing = true;
		return;
	}
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->size = sb.st_size;
	f->mtime = sb.st_mtim;
	f->ctime = sb.st_ctim;
}

/* Reads and takes the policy file; at start-up a failure is fatal, later it is logged. */
static int sp_load_file(struct srv_policy *p, char *err, size_t errlen)
{
	const char *path = p->cfg->policy_path;
	uint8_t *buf = NULL;
	struct policy *pol;
	char msg[SRV_POLICY_ERR_LEN];
	size_t len;
	int r;

	if ((r = atomicfile_read(path, POLICY_MAX_LEN, &buf, &len)) < 0)
		return sp_fail(err, errlen, r, "policy %s: %s", path,
			       r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	if (p->text != NULL && strlen(p->text) == len && memcmp(p->text, buf, len) == 0) {
		free(buf);
		return 0; /* touched, not changed */
	}
	if ((r = sp_validate(p, (const char *)buf, len, &pol, msg, sizeof(msg))) < 0) {
		free(buf);
		p->stats.refused++;
		return sp_fail(err, errlen, r, "policy %s:%s", path, msg);
	}
	r = sp_take(p, pol, (const char *)buf, len, p->st->now());
	free(buf);
	if (r < 0)
		return sp_fail(err, errlen, r, "policy %s: out of memory", path);
	return 1;
}

void srv_policy_tick(struct srv_policy *p)
{
	char err[SRV_POLICY_ERR_LEN];
	struct file_id now;

	if (!srv_policy_is_file_mode(p) || p->cfg->policy_path == NULL ||
	    p->cfg->policy_path[0] == '\0')
		return;
	fid_of(p->cfg->policy_path, &now);
	if (p->have_fid && fid_eq(&now, &p->fid))
		return;
	p->fid = now;
	p->have_fid = true;
	if (now.missing) {
		log_warnx("policy %s is gone: keeping the policy in force", p->cfg->policy_path);
		return;
	}
	switch (sp_load_file(p, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		log_info("policy %s reloaded: it applies to every node now", p->cfg->policy_path);
		break;
	default:
		log_warnx("%s; keeping the previous policy", err);
		break;
	}
}

/* ---- compilation ------------------------------------------------------------------------- */

int srv_policy_sync(struct srv_policy *p, struct srv_compiled **prev)
{
	struct srv_compiled *c = NULL;
	uint64_t t0 = clock_mono_ns(), dt;
	size_t affected;
	int r;

	*prev = NULL;
	if (!p->dirty)
		return 0;
	if (p->pol == NULL) {
		p->dirty = false;
		return 0;
	}
	if ((r = topo_build(p, &c)) < 0 || (r = policy_compile(p->pol, &c->t, &c->c)) < 0 ||
	    (c->ftext = calloc(c->t.nnodes + 1, sizeof(*c->ftext))) == NULL ||
	    (c->flen = calloc(c->t.nnodes + 1, sizeof(*c->flen))) == NULL ||
	    (c->changed = calloc(c->t.nnodes + 1, 1)) == NULL) {
		log_warnx("cannot compile the policy for %zu nodes: %s (the previous rules stay)",
			  p->st->n_nodes, strerror(r < 0 ? -r : ENOMEM));
		srv_compiled_free(c);
		return r < 0 ? r : -ENOMEM;
	}
	if (p->cur != NULL) {
		affected = (size_t)policy_compiled_diff(p->cur->c, c->c, c->changed);
	} else {
		memset(c->changed, 1, c->t.nnodes);
		affected = c->t.nnodes;
	}
	*prev = p->cur;
	p->cur = c;
	p->dirty = false;
	dt = clock_mono_ns() - t0;
	p->stats.compiles++;
	p->stats.compile_ns_last = dt;
	if (dt > p->stats.compile_ns_max)
		p->stats.compile_ns_max = dt;
	p->stats.affected_last = affected;
	log_debug("policy compiled for %zu nodes in %.1f ms", c->t.nnodes, (double)dt / 1e6);
	return 1;
}

/* ---- tags -------------------------------------------------------------------------------- */

int srv_policy_tags_allowed(const struct srv_policy *p, char *const *tags, size_t n,
			    const char *login, char *err, size_t errlen)
{
	return srv_policy_tags_allowed_by(p, tags, n, login, NULL, 0, err, errlen);
}

int srv_policy_tags_allowed_by(const struct srv_policy *p, char *const *tags, size_t n,
			       const char *login, char *const *owner_tags, size_t n_owner,
			       char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (login == NULL) {
			if (p->pol != NULL && !policy_tag_is_defined(p->pol, tags[i]))
				return sp_fail(
					err, errlen, -EPERM,
					"%s is not defined in the policy's tagOwners: add it "
					"there first",
					tags[i]);
			continue;
		}
		if (p->pol == NULL)
			return sp_fail(err, errlen, -EPERM,
				       "requested tag %s is not permitted: no policy is set, so "
				       "no one owns a tag (set one with tagOwners)",
				       tags[i]);
		if (!policy_tag_is_defined(p->pol, tags[i]))
			return sp_fail(err, errlen, -EPERM,
				       "requested tag %s is not permitted: it is not defined in "
				       "the policy's tagOwners",
				       tags[i]);
		if (!policy_tag_may_own(p->pol, tags[i], login, (const char *const *)owner_tags,
					n_owner))
			return sp_fail(err, errlen, -EPERM,
				       "requested tag %s is not permitted: %s is not among its "
				       "tagOwners",
				       tags[i], login);
	}
	return 0;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int srv_policy_new(struct srv_state *st, const struct srv_config *cfg, struct srv_policy **out,
		   char *err, size_t errlen)
{
	struct srv_policy *p;
	struct policy *pol;
	char *data = NULL, msg[SRV_POLICY_ERR_LEN];
	int64_t updated;
	int r = 0;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return sp_fail(err, errlen, -ENOMEM, "out of memory");
	p->st = st;
	p->cfg = cfg;
	if (cfg->policy_mode == SRV_POLICY_FILE) {
		if (cfg->policy_path != NULL && cfg->policy_path[0] != '\0') {
			fid_of(cfg->policy_path, &p->fid);
			p->have_fid = true;
			if ((r = sp_load_file(p, err, errlen)) < 0)
				goto fail;
		}
	} else {
		if ((r = db_policy_get(st->db, &data, &updated)) < 0) {
			sp_fail(err, errlen, r, "cannot read the stored policy: %s", strerror(-r));
			goto fail;
		}
		if (data != NULL) {
			/* Stored policies passed their tests when set; now only the syntax counts.
			 */
			struct policy_err perr;

			if ((r = policy_parse(data, strlen(data), NULL, &pol, &perr)) < 0) {
				sp_fail(err, errlen, -EINVAL,
					"the stored policy does not parse: %s (set a new one with "
					"weft-server policy set)",
					policy_err_format(&perr, msg, sizeof(msg)));
				goto fail;
			}
			if ((r = sp_take(p, pol, data, strlen(data), updated)) < 0)
				goto fail;
		}
	}
	free(data);
	if (p->pol != NULL)
		log_info("policy in force (%s, %zu bytes)",
			 cfg->policy_mode == SRV_POLICY_FILE ? cfg->policy_path : "database",
			 strlen(p->text));
	else
		log_info("no policy set: every node may reach every other");
	*out = p;
	return 0;
fail:
	free(data);
	srv_policy_free(p);
	return r < 0 ? r : -EINVAL;
}

void srv_policy_free(struct srv_policy *p)
{
	if (p == NULL)
		return;
	srv_compiled_free(p->cur);
	policy_free(p->pol);
	free(p->text);
	free(p);
}

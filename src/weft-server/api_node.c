/* SPDX-License-Identifier: ISC */
/*
 * api_node: the node side of the control protocol (docs/PROTOCOL.md 3.2-3.4):
 * GET /key, POST /ctrl/v1/{register,map,logout}, and the interactive
 * registration page GET /register/<id>. Every request is opened with the box
 * of the machine key it names, its envelope checked against our clock and
 * the replay cache, before anything in it is believed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "weft-server/config.h"
#include "weft-server/mapper.h"
#include "weft-server/server.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

#define PENDING_MAX 1024
#define PENDING_TTL_S (15 * 60)
#define PENDING_WAITERS 4
#define AUTHID_LEN 24 /* hex digits */

struct srv_waiter {
	struct srv_pending *p;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct event *timer;
};

/* An interactive registration waiting for `weft-server nodes register --key ID`. */
struct srv_pending {
	struct srv *srv;
	char authid[AUTHID_LEN + 1];
	struct srv_registration reg;
	struct ctrl_box box;
	int64_t created;
	uint64_t node_id; /* once approved */
	char **tags;	  /* advertised, checked against the approving user's ownership */
	size_t n_tags;
	struct srv_waiter waiters[PENDING_WAITERS];
};

/* ---- replies ----------------------------------------------------------------------------- */

static void node_reply_sealed(struct evhttp_request *req, const struct ctrl_box *box, int code,
			      const struct buf_writer *plain)
{
	struct buf_writer w;

	buf_writer_growable(&w, CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD + 64);
	if (ctrl_box_seal(box, plain->p, plain->len, &w) < 0) {
		buf_writer_free(&w);
		srv_reply_error(req, 500, "cannot seal the answer");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/octet-stream");
	{
		struct evbuffer *b = evbuffer_new();
		if (b != NULL)
			evbuffer_add(b, w.p, w.len);
		evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
		if (b != NULL)
			evbuffer_free(b);
	}
	buf_writer_free(&w);
}

static void node_reply_sealed_error(struct srv *srv, struct evhttp_request *req,
				    const struct ctrl_box *box, int code, enum srv_reject why,
				    const char *msg)
{
	struct buf_writer w;

	if ((unsigned)why < SRV_REJ_COUNT)
		srv->rejects[why]++;
	buf_writer_growable(&w, 4096);
	ctrl_error_write(&w, msg);
	node_reply_sealed(req, box, code, &w);
	buf_writer_free(&w);
}

static void node_reject(struct srv *srv, struct evhttp_request *req, int code, enum srv_reject why,
			const char *msg)
{
	srv->rejects[why]++;
	log_info_rl("node request refused (%d): %s", code, msg);
	srv_reply_error(req, code, "%s", msg);
}

/* ---- GET /key ---------------------------------------------------------------------------- */

static void node_key(struct srv *srv, struct evhttp_request *req)
{
	char k[KEY_PREFIXED_MAX], body[160];
	int n;

	n = snprintf(body, sizeof(body), "{\"ServerKey\":\"%s\",\"Versions\":[%d]}",
		     machine_public_format(&srv->st->server_pub, k, sizeof(k)), CTRL_VERSION);
	srv_reply_json(req, 200, body, (size_t)n);
}

/* ---- opening a request ------------------------------------------------------------------- */

struct node_req {
	struct machine_public machine;
	struct srv_node *node; /* the node with this machine key, if any */
	struct ctrl_box box;   /* points to node->box's contents or a local one */
	struct ctrl_envelope env;
	json_t *body;
};

/* Opens and checks a request. On failure the reply has been sent and -1 returned. */
static int node_open(struct srv *srv, struct evhttp_request *req, enum ctrl_op op,
		     struct node_req *nr)
{
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req),
					     "Weft-Machine");
	struct jsonx_err jerr;
	const uint8_t *body;
	size_t len;
	int r;

	memset(nr, 0, sizeof(*nr));
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		srv_reply_error(req, 405, "use POST");
		return -1;
	}
	if (hdr == NULL || machine_public_parse(&nr->machine, hdr) < 0) {
		node_reject(srv, req, 400, SRV_REJ_MALFORMED,
			    "missing or malformed Weft-Machine header");
		return -1;
	}
	body = srv_body(req, &len);
	if (len > CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD) {
		node_reject(srv, req, 413, SRV_REJ_TOOLARGE, "request body too large");
		return -1;
	}
	nr->node = srv_node_by_machine(srv->st, &nr->machine);
	if (nr->node != NULL) {
		if (!nr->node->have_box) {
			if (ctrl_box_init(&nr->node->box, &srv->st->server_key, &nr->machine) < 0) {
				node_reject(srv, req, 401, SRV_REJ_AUTH, "invalid machine key");
				return -1;
			}
			nr->node->have_box = true;
		}
		nr->box = nr->node->box;
	} else if (ctrl_box_init(&nr->box, &srv->st->server_key, &nr->machine) < 0) {
		node_reject(srv, req, 401, SRV_REJ_AUTH, "invalid machine key");
		return -1;
	}
	r = ctrl_request_open(&nr->box, op, body ? body : (const uint8_t *)"", len,
			      (int64_t)clock_real_ns(), &nr->env, &nr->body, &jerr);
	switch (r) {
	case 0:
		break;
	case -EBADMSG:
	case -EMSGSIZE:
		node_reject(srv, req, 401, SRV_REJ_AUTH,
			    "the request does not open with the machine key it names");
		goto fail;
	case -EPROTONOSUPPORT:
		node_reply_sealed_error(srv, req, &nr->box, 400, SRV_REJ_MALFORMED,
					"unsupported protocol version: this server speaks version 1");
		goto fail;
	case -ESTALE:
		node_reply_sealed_error(srv, req, &nr->box, 400, SRV_REJ_STALE,
					"request timestamp is more than 120 s from the server's "
					"clock: fix the node's clock (NTP)");
		goto fail;
	default:
		node_reply_sealed_error(srv, req, &nr->box, 400, SRV_REJ_MALFORMED, jerr.msg);
		goto fail;
	}
	/* A known machine's request may replay what it sent while still unknown
	 * (its registration), which only the strangers' cache remembers. */
	if (nr->node != NULL && ctrl_replay_seen(srv->replay_new, &nr->machine, &nr->env))
		r = -EALREADY;
	else
		r = ctrl_replay_check(nr->node != NULL ? srv->replay : srv->replay_new,
				      &nr->machine, &nr->env, (int64_t)clock_real_ns());
	if (r < 0) {
		node_reply_sealed_error(srv, req, &nr->box, 409, SRV_REJ_REPLAY,
					r == -EALREADY ? "replayed request" :
							 "request older than the replay window");
		goto fail;
	}
	return 0;
fail:
	json_decref(nr->body);
	nr->body = NULL;
	ctrl_box_wipe(&nr->box);
	return -1;
}

static void node_req_done(struct node_req *nr)
{
	json_decref(nr->body);
	ctrl_box_wipe(&nr->box);
}

/* ---- register ---------------------------------------------------------------------------- */

static int node_register_answer(struct srv *srv, struct srv_node *n, const char *auth_url,
				struct buf_writer *w)
{
	struct ctrl_register_response rr = { 0 };
	struct srv_user *u = NULL;
	struct jsonx_err jerr;
	json_t *nj = NULL;
	const char *j;
	size_t len;
	int r = 0;

	if (n != NULL) {
		u = srv_user_by_id(srv->st, n->rec.user_id);
		rr.machine_authorized = true;
		rr.node_key_expired = srv_node_is_expired(srv->st, n);
		rr.user_id = n->rec.user_id;
		rr.user_name = u ? u->rec.name : NULL;
		/* The node is written from its cached JSON: parse it back for the typed writer. */
		if ((r = srv_node_json(srv->st, n, &j, &len)) < 0 ||
		    (r = jsonx_load(j, len, &nj, &jerr)) < 0 ||
		    (r = netmap_node_parse(nj, "Node", &rr.node, &jerr)) < 0)
			goto out;
	}
	rr.auth_url = (char *)auth_url;
	r = ctrl_register_response_write(w, &rr);
out:
	netmap_node_free(rr.node);
	json_decref(nj);
	return r;
}

static void node_register_reply(struct srv *srv, struct evhttp_request *req,
				const struct ctrl_box *box, struct srv_node *n,
				const char *auth_url)
{
	struct buf_writer w;

	buf_writer_growable(&w, CTRL_BODY_MAX);
	if (node_register_answer(srv, n, auth_url, &w) < 0) {
		buf_writer_free(&w);
		srv_reply_error(req, 500, "cannot build the answer");
		return;
	}
	node_reply_sealed(req, box, 200, &w);
	buf_writer_free(&w);
}

static struct srv_pending *pending_by_id(struct srv *srv, const char *authid)
{
	for (size_t i = 0; i < srv->n_pending; i++)
		if (strcmp(srv->pending[i]->authid, authid) == 0)
			return srv->pending[i];
	return NULL;
}

static struct srv_pending *pending_by_machine(struct srv *srv, const struct machine_public *m)
{
	for (size_t i = 0; i < srv->n_pending; i++)
		if (keys_eq(srv->pending[i]->reg.machine.b, m->b))
			return srv->pending[i];
	return NULL;
}

static void waiter_clear(struct srv_waiter *w)
{
	if (w->req == NULL)
		return;
	evhttp_connection_set_closecb(w->conn, NULL, NULL);
	if (w->timer != NULL)
		event_free(w->timer);
	memset(w, 0, sizeof(*w));
}

static void pending_answer_waiters(struct srv_pending *p, struct srv_node *n)
{
	char url[1024];

	snprintf(url, sizeof(url), "%s/register/%s", p->srv->cfg->server_url, p->authid);
	for (size_t i = 0; i < PENDING_WAITERS; i++) {
		struct srv_waiter *w = &p->waiters[i];
		struct evhttp_request *req = w->req;
		if (req == NULL)
			continue;
		waiter_clear(w);
		node_register_reply(p->srv, req, &p->box, n, n == NULL ? url : NULL);
	}
}

static void pending_remove(struct srv *srv, struct srv_pending *p)
{
	size_t i;

	for (i = 0; i < srv->n_pending && srv->pending[i] != p; i++)
		;
	if (i == srv->n_pending)
		return;
	pending_answer_waiters(p, NULL);
	ctrl_box_wipe(&p->box);
	jsonx_strv_free(p->tags);
	srv->pending[i] = srv->pending[--srv->n_pending];
	free(p);
}

static void waiter_closed(struct evhttp_connection *conn, void *arg)
{
	struct srv_waiter *w = arg;

	/* The node hung up: libevent frees the request. */
	evhttp_connection_set_closecb(w->conn, NULL, NULL);
	if (w->timer != NULL)
		event_free(w->timer);
	memset(w, 0, sizeof(*w));
}

static void waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct srv_waiter *w = arg;
	struct srv_pending *p = w->p;
	struct evhttp_request *req = w->req;
	char url[1024];

	waiter_clear(w);
	snprintf(url, sizeof(url), "%s/register/%s", p->srv->cfg->server_url, p->authid);
	node_register_reply(p->srv, req, &p->box, NULL, url);
}

static struct srv_pending *pending_new(struct srv *srv, const struct srv_registration *reg,
				       const struct ctrl_box *box)
{
	struct srv_pending *p;
	uint8_t raw[AUTHID_LEN / 2];

	if (srv->n_pending == PENDING_MAX)
		return NULL;
	if (srv->pending == NULL &&
	    (srv->pending = calloc(PENDING_MAX, sizeof(*srv->pending))) == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	srv->pending[srv->n_pending++] = p;
	p->srv = srv;
	keys_random(raw, sizeof(raw));
	sodium_bin2hex(p->authid, sizeof(p->authid), raw, sizeof(raw));
	p->reg = *reg;
	p->box = *box;
	p->created = srv->st->now();
	for (size_t i = 0; i < PENDING_WAITERS; i++)
		p->waiters[i].p = p;
	return p;
}

/* Holds a follow-up until the admin approves or CTRL_FOLLOWUP_WAIT_NS passes. */
static void pending_wait(struct srv *srv, struct srv_pending *p, struct evhttp_request *req)
{
	struct timeval tv = { (time_t)(CTRL_FOLLOWUP_WAIT_NS / 1000000000LL), 0 };
	char url[1024];

	snprintf(url, sizeof(url), "%s/register/%s", srv->cfg->server_url, p->authid);
	for (size_t i = 0; i < PENDING_WAITERS; i++) {
		struct srv_waiter *w = &p->waiters[i];
		if (w->req != NULL)
			continue;
		w->timer = evtimer_new(srv->base, waiter_timeout, w);
		if (w->timer == NULL || evtimer_add(w->timer, &tv) < 0)
			break;
		w->req = req;
		w->conn = evhttp_request_get_connection(req);
		evhttp_connection_set_closecb(w->conn, waiter_closed, w);
		return;
	}
	/* Too many follow-ups at once: answer at once, the node asks again. */
	node_register_reply(srv, req, &p->box, NULL, url);
}

/*
 * The status for a registration the state refused: 403 (final, weftd stops
 * and asks for a new key) only for a refusal; 409 when the node key is held
 * by another machine; 503 (weftd retries) for the server's own trouble.
 */
static int node_register_status(int r)
{
	switch (r) {
	case -EPERM:
	case -EINVAL:
		return 403;
	case -EEXIST:
		return 409;
	default: /* -ENOSPC, -EIO, -ENOMEM */
		return 503;
	}
}

/* ---- advertised tags (tagOwners) --------------------------------------------------------- */

/*
 * Whether a node registering for user u may carry `key_tags` (from its
 * pre-auth key, applied by the admin who made the key) and `adv` (advertised
 * with --advertise-tags: u must own them).
 */
static int node_tags_check(struct srv *srv, const struct srv_user *u, char *const *key_tags,
			   size_t n_key, char *const *adv, size_t n_adv, char *err, size_t errlen)
{
	char login[DB_USER_NAME_MAX + 2];
	int r;

	if ((r = srv_policy_tags_allowed(srv->policy, key_tags, n_key, NULL, err, errlen)) < 0)
		return r;
	if (n_adv == 0)
		return 0;
	if (u == NULL) {
		snprintf(err, errlen, "the user of this registration is gone");
		return -EPERM;
	}
	srv_policy_user_login(u->rec.name, u->rec.email, login, sizeof(login));
	/* The key's tags count as owners too: tagOwners may let tag:a apply tag:b. */
	return srv_policy_tags_allowed_by(srv->policy, adv, n_adv, login, key_tags, n_key, err,
					  errlen);
}

/* After registration: the node's tags become those it had (its key's) plus the advertised. */
static int node_tags_apply(struct srv *srv, struct srv_node *n, char *const *adv, size_t n_adv,
			   char *err, size_t errlen)
{
	char *all[NETMAP_MAX_TAGS * 2];
	size_t k = 0;

	if (n_adv == 0)
		return 0;
	for (size_t i = 0; i < n->rec.n_tags && k < NETMAP_MAX_TAGS; i++)
		all[k++] = n->rec.tags[i];
	for (size_t i = 0; i < n_adv && k < sizeof(all) / sizeof(all[0]); i++) {
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= strcmp(all[j], adv[i]) == 0;
		if (!dup)
			all[k++] = adv[i];
	}
	if (k == n->rec.n_tags)
		return 0;
	return srv_node_set_tags(srv->st, n, all, k, err, errlen);
}

static void node_register(struct srv *srv, struct evhttp_request *req)
{
	struct ctrl_register_request rq;
	struct srv_registration reg = { 0 };
	struct node_req nr;
	struct jsonx_err jerr;
	struct srv_pending *p;
	struct srv_node *n;
	struct srv_pak *k;
	char err[SRV_ERR_LEN], url[1024];
	int r;

	if (node_open(srv, req, CTRL_OP_REGISTER, &nr) < 0)
		return;
	memset(&rq, 0, sizeof(rq));
	if (ctrl_register_request_decode(nr.body, &rq, &jerr) < 0) {
		node_reply_sealed_error(srv, req, &nr.box, 400, SRV_REJ_MALFORMED, jerr.msg);
		goto out;
	}
	reg.machine = nr.machine;
	reg.key = rq.node_key;
	reg.old_key = rq.old_node_key;
	snprintf(reg.hostname, sizeof(reg.hostname), "%s", rq.hostname);
	snprintf(reg.os, sizeof(reg.os), "%s", rq.os);
	n = nr.node;

	/* 1. A pre-auth key. */
	if (rq.auth_key[0] != '\0') {
		if (srv_pak_check(srv->st, rq.auth_key, &k, err, sizeof(err)) < 0 ||
		    node_tags_check(srv, srv_user_by_id(srv->st, k->rec.user_id), k->rec.tags,
				    k->rec.n_tags, rq.tags, rq.n_tags, err, sizeof(err)) < 0) {
			log_info("registration of %s refused: %s", rq.hostname, err);
			node_reply_sealed_error(srv, req, &nr.box, 403, SRV_REJ_AUTHKEY, err);
			goto out;
		}
		if ((r = srv_node_register_pak(srv->st, &reg, k, &n, err, sizeof(err))) < 0) {
			/* Only a refusal is final; a full prefix or a database error
			 * is the server's trouble, and the node should try again. */
			node_reply_sealed_error(srv, req, &nr.box, node_register_status(r),
						SRV_REJ_AUTHKEY, err);
}

		if (srv_node_register_pak(srv->st, &reg, k, &n, err, sizeof(err)) < 0 ||
		    node_tags_apply(srv, n, rq.tags, rq.n_tags, err, sizeof(err)) < 0) {
			node_reply_sealed_error(srv, req, &nr.box, 403, SRV_REJ_AUTHKEY, err);
			goto out;
		}
		log_info("node %s (id %llu) registered with pre-auth key %s", n->rec.given_name,
			 (unsigned long long)n->rec.id, k->rec.prefix);
		node_register_reply(srv, req, &nr.box, n, NULL);
		goto out;
	}
	/* 2. Already registered with this key: nothing to do. */
	if (n != NULL && keys_eq(n->rec.key.b, rq.node_key.b)) {
		node_register_reply(srv, req, &nr.box, n, NULL);
		goto out;
	}
	/* 3. Rotation: the node proves its current key by naming it, inside its machine's box. */
	if (n != NULL && !keys_is_zero(rq.old_node_key.b) &&
	    keys_eq(n->rec.key.b, rq.old_node_key.b) && !srv_node_is_expired(srv->st, n)) {
		if (srv_node_rotate(srv->st, n, &rq.node_key, err, sizeof(err)) < 0) {
			node_reply_sealed_error(srv, req, &nr.box, 403, SRV_REJ_NODEKEY, err);
			goto out;
		}
		log_info("node %s (id %llu) rotated its node key", n->rec.given_name,
			 (unsigned long long)n->rec.id);
		node_register_reply(srv, req, &nr.box, n, NULL);
		goto out;
	}
	/* 4. Interactive: a follow-up waits for the admin; a first request gets a URL. */
	p = rq.followup[0] != '\0' ? pending_by_id(srv, rq.followup) : NULL;
	if (p != NULL && !keys_eq(p->reg.machine.b, nr.machine.b))
		p = NULL; /* someone else's registration: treat as a fresh one */
	if (p == NULL && (p = pending_by_machine(srv, &nr.machine)) != NULL &&
	    !keys_eq(p->reg.key.b, rq.node_key.b)) {
		pending_remove(srv, p);
		p = NULL;
	}
	if (p == NULL) {
		if ((p = pending_new(srv, &reg, &nr.box)) == NULL ||
		    (rq.n_tags > 0 && (p->tags = jsonx_strv_dup(rq.tags, rq.n_tags)) == NULL)) {
			if (p != NULL)
				pending_remove(srv, p);
			node_reply_sealed_error(srv, req, &nr.box, 503, SRV_REJ_COUNT,
						"too many registrations are waiting: try again later");
			goto out;
		}
		p->n_tags = rq.n_tags;
		log_info("node %s waits for approval: weft-server nodes register --key %s --user USER",
			 rq.hostname, p->authid);
	}
	if (p->node_id != 0 && (n = srv_node_by_id(srv->st, p->node_id)) != NULL) {
		node_register_reply(srv, req, &nr.box, n, NULL);
		pending_remove(srv, p);
		goto out;
	}
	if (rq.followup[0] != '\0' && strcmp(rq.followup, p->authid) == 0) {
		pending_wait(srv, p, req);
		goto out;
	}
	snprintf(url, sizeof(url), "%s/register/%s", srv->cfg->server_url, p->authid);
	node_register_reply(srv, req, &nr.box, NULL, url);
out:
	ctrl_register_request_wipe(&rq);
	node_req_done(&nr);
}

int srv_pending_approve(struct srv *srv, const char *authid, const char *user_ref,
			struct srv_node **out, char *err, size_t errlen)
{
	struct srv_pending *p = pending_by_id(srv, authid);
	struct srv_user *u;
	int r;

	*out = NULL;
	if (p == NULL) {
		snprintf(err, errlen,
			 "no registration is waiting with key %s (it expires after 15 minutes: "
			 "run weft up again on the node)",
			 authid);
		return -ENOENT;
	}
	if ((u = srv_user_by_ref(srv->st, user_ref)) == NULL) {
		snprintf(err, errlen, "no user %s: create it with weft-server users create %s",
			 user_ref, user_ref);
		return -ENOENT;
	}
	if ((r = node_tags_check(srv, u, NULL, 0, p->tags, p->n_tags, err, errlen)) < 0 ||
	    (r = srv_node_register_user(srv->st, &p->reg, u, out, err, errlen)) < 0 ||
	    (r = node_tags_apply(srv, *out, p->tags, p->n_tags, err, errlen)) < 0)
		return r;
	p->node_id = (*out)->rec.id;
	log_info("node %s (id %llu) approved for user %s", (*out)->rec.given_name,
		 (unsigned long long)(*out)->rec.id, u->rec.name);
	pending_answer_waiters(p, *out);
	return 0;
}

void srv_pending_tick(struct srv *srv)
{
	int64_t now = srv->st->now();

	for (size_t i = srv->n_pending; i-- > 0;)
		if (now - srv->pending[i]->created > PENDING_TTL_S)
			pending_remove(srv, srv->pending[i]);
}

void srv_pending_free_all(struct srv *srv)
{
	while (srv->n_pending > 0)
		pending_remove(srv, srv->pending[srv->n_pending - 1]);
	free(srv->pending);
	srv->pending = NULL;
}

/* ---- map --------------------------------------------------------------------------------- */

/* The node the request is from, with its current, unexpired key; else replies 401. */
static struct srv_node *node_authorized(struct srv *srv, struct evhttp_request *req,
					struct node_req *nr, const struct node_public *key)
{
	struct srv_node *n = nr->node;

	if (n == NULL || !keys_eq(n->rec.key.b, key->b)) {
		node_reply_sealed_error(srv, req, &nr->box, 401, SRV_REJ_NODEKEY,
					"unknown node key: register first");
		return NULL;
	}
	if (srv_node_is_expired(srv->st, n)) {
		node_reply_sealed_error(srv, req, &nr->box, 401, SRV_REJ_NODEKEY,
					"node key expired: log in again");
		return NULL;
	}
	return n;
}

static void node_map(struct srv *srv, struct evhttp_request *req)
{
	struct ctrl_map_request mq;
	struct node_req nr;
	struct jsonx_err jerr;
	struct srv_node *n;
	struct buf_writer w;

	if (node_open(srv, req, CTRL_OP_MAP, &nr) < 0)
		return;
	memset(&mq, 0, sizeof(mq));
	if (ctrl_map_request_decode(nr.body, &mq, &jerr) < 0) {
		node_reply_sealed_error(srv, req, &nr.box, 400, SRV_REJ_MALFORMED, jerr.msg);
		goto out;
	}
	if ((n = node_authorized(srv, req, &nr, &mq.node_key)) == NULL)
		goto out;
	if (srv_node_update_info(srv->st, n, &mq.disco_key, mq.endpoints, mq.n_endpoints,
				 mq.relay_home, mq.hostname, mq.os) < 0)
		log_warnx("cannot record what node %llu reported", (unsigned long long)n->rec.id);
	if (mq.stream) {
		if (mapper_stream_open(srv->mapper, n, req, nr.env.nonce) < 0)
			srv_reply_error(req, 500, "cannot open the map stream");
		goto out;
	}
	buf_writer_growable(&w, 1u << 30);
	if (mapper_write_once(srv->mapper, n, nr.env.nonce, mq.omit_peers, &w) < 0) {
		srv_reply_error(req, 500, "cannot build the map");
	} else {
		struct evbuffer *b = evbuffer_new();
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "application/octet-stream");
		if (b != NULL)
			evbuffer_add(b, w.p, w.len);
		evhttp_send_reply(req, 200, "OK", b);
		if (b != NULL)
			evbuffer_free(b);
	}
	buf_writer_free(&w);
out:
	node_req_done(&nr);
}

/* ---- logout ------------------------------------------------------------------------------ */

static void node_logout(struct srv *srv, struct evhttp_request *req)
{
	struct ctrl_logout_request lq;
	struct node_req nr;
	struct jsonx_err jerr;
	struct srv_node *n;
	struct buf_writer w;
	char err[SRV_ERR_LEN];
	bool ephemeral;

	if (node_open(srv, req, CTRL_OP_LOGOUT, &nr) < 0)
		return;
	if (ctrl_logout_request_decode(nr.body, &lq, &jerr) < 0) {
		node_reply_sealed_error(srv, req, &nr.box, 400, SRV_REJ_MALFORMED, jerr.msg);
		goto out;
	}
	if ((n = node_authorized(srv, req, &nr, &lq.node_key)) == NULL)
		goto out;
	ephemeral = n->rec.ephemeral;
	log_info("node %s (id %llu) logged out", n->rec.given_name, (unsigned long long)n->rec.id);
	if ((ephemeral ? srv_node_delete(srv->st, n, err, sizeof(err))
		       : srv_node_expire(srv->st, n, 0, err, sizeof(err))) < 0) {
		node_reply_sealed_error(srv, req, &nr.box, 500, SRV_REJ_COUNT, err);
		goto out;
	}
	buf_writer_growable(&w, 256);
	buf_put_str(&w, "{\"NodeKeyExpired\":true}");
	node_reply_sealed(req, &nr.box, 200, &w);
	buf_writer_free(&w);
out:
	node_req_done(&nr);
}

/* ---- the registration page --------------------------------------------------------------- */

static void node_register_page(struct srv *srv, struct evhttp_request *req, const char *authid)
{
	struct srv_pending *p = pending_by_id(srv, authid);
	struct evbuffer *b = evbuffer_new();
	char *host;

	if (b == NULL) {
		srv_reply_error(req, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/html; charset=utf-8");
	if (p == NULL) {
		evbuffer_add_printf(b, "<!doctype html><title>weft</title>"
				       "<h1>No such registration</h1><p>It may have expired (after "
				       "15 minutes): run <code>weft up</code> on the node again.</p>\n");
		evhttp_send_reply(req, 404, "Not Found", b);
	} else {
		host = evhttp_htmlescape(p->reg.hostname[0] ? p->reg.hostname : "(unnamed)");
		evbuffer_add_printf(b,
				    "<!doctype html><title>weft: approve %s</title>"
				    "<h1>Machine %s wants to join this tailnet</h1>"
				    "<p>An administrator approves it on the server with:</p>"
				    "<pre>weft-server nodes register --key %s --user USER</pre>\n",
				    host ? host : "", host ? host : "", p->authid);
		free(host);
		evhttp_send_reply(req, 200, "OK", b);
	}
	evbuffer_free(b);
}

void srv_node_route(struct srv *srv, struct evhttp_request *req, const char *path)
{
	srv->requests_node++;
	if (strcmp(path, "/key") == 0)
		node_key(srv, req);
	else if (strcmp(path, "/ctrl/v1/register") == 0)
		node_register(srv, req);
	else if (strcmp(path, "/ctrl/v1/map") == 0)
		node_map(srv, req);
	else if (strcmp(path, "/ctrl/v1/logout") == 0)
		node_logout(srv, req);
	else if (strncmp(path, "/register/", 10) == 0 && strlen(path + 10) <= AUTHID_LEN)
		node_register_page(srv, req, path + 10);
	else
		srv_reply_error(req, 404, "no such endpoint: %s", path);
}

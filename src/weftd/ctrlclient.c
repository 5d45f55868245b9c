/* SPDX-License-Identifier: ISC */
/*
 * ctrlclient: the control protocol client (see ctrlclient.h) as a small
 * state machine over libevent's HTTP client:
 *
 *   KEY --GET /key--> REGISTER --authorised--> MAP (stream) --ends--> BACKOFF --> KEY
 *                        |  \--AuthURL--> FOLLOWUP (long-poll until approved)
 *                        \--refused (403)--> error(fatal), stop
 *
 * While the stream is up, new endpoints or a new home relay go to the server
 * in a one-shot map request (Stream:false, OmitPeers:true) on a connection of
 * its own, so the stream and the peers' sessions carry on undisturbed.
 *
 * Every failure that is not the server's considered refusal backs off
 * (1 s doubling to 60 s, with jitter) and starts again; the backend keeps
 * the last map meanwhile, so the tunnels never depend on the server.
 * Codecs come from lib/ctrl and lib/netmap; this file only moves bytes.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "ctrl/ctrlproto.h"
#include "json/jsonx.h"
#include "netmap/netmap.h"
#include "weftd/ctrlclient.h"

#define CC_TIMEOUT_S 30		/* one-shot requests */
#define CC_FOLLOWUP_TIMEOUT_S 90 /* the server holds a follow-up up to 60 s */
#define CC_STREAM_IDLE_S 150	/* keep-alives come every 60 s: two missed ends the stream */
#define CC_BACKOFF_MIN_MS 1000
#define CC_BACKOFF_MAX_MS 60000
#define CC_LOGOUT_TIMEOUT_S 3

enum cc_phase {
	CC_KEY,
	CC_REGISTER,
	CC_MAP,
	CC_BACKOFF,
	CC_STOPPED,
};

struct ctrlclient {
	struct event_base *base;
	struct evdns_base *dns;
	struct ctrlclient_callbacks cb;
	void *arg;
	/* configuration, copied */
	struct evhttp_uri *uri;
	char host[256];
	int port;
	bool https;
	char path_prefix[256];
	SSL_CTX *ssl_ctx;
	struct machine_private machine_key;
	struct machine_public machine_pub;
	struct node_private node_key;
	struct node_private old_node_key;
	bool has_old_node_key;
	struct machine_public server_key;
	bool has_server_key;
	char auth_key[CTRL_AUTHKEY_MAX + 1];
	char hostname[CTRL_HOSTNAME_MAX + 1];
	char os[CTRL_OS_MAX + 1];
	char **tags;
	size_t ntags;
	uint16_t port_udp;
	char tun[IF_NAMESIZE];
	struct disco_public disco;
	struct netendpoint extra[CTRLCLIENT_EXTRA_MAX]; /* STUN endpoints (ctrlclient_set_path) */
	size_t n_extra;
	uint32_t relay_home;
	/* run time */
	enum cc_phase phase;
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* in flight, NULL between requests */
	struct event *timer;
	struct event *restart; /* closes a refused stream once its callback has returned */
	unsigned backoff_ms;
	struct ctrl_box box;
	bool have_box;
	char followup[CTRL_AUTHID_MAX + 1];
	struct ctrl_stream *stream;
	struct ctrl_envelope map_env;
	bool got_full; /* this stream delivered its full map */
	/* the endpoint update (one-shot map request) beside the stream */
	struct evhttp_connection *upd_conn;
	struct evhttp_request *upd_req;
	struct ctrl_envelope upd_env;
	bool upd_due; /* what we report changed since the last update was sent */
	bool dying;
};

static void cc_start(struct ctrlclient *cc);
static void cc_register(struct ctrlclient *cc);
static void cc_backoff(struct ctrlclient *cc);
static void cc_update(struct ctrlclient *cc);

/* ---- plumbing ------------------------------------------------------------------------- */

static void cc_error(struct ctrlclient *cc, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cc_error(struct ctrlclient *cc, bool fatal, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fatal)
		cc->phase = CC_STOPPED;
	cc->cb.error(cc->arg, msg, fatal);
}

static void cc_close_http(struct evhttp_connection **conn, struct evhttp_request **req)
{
	if (*req != NULL) {
		evhttp_cancel_request(*req);
		*req = NULL;
	}
	if (*conn != NULL) {
		evhttp_connection_free(*conn);
		*conn = NULL;
	}
}

static void cc_close_update(struct ctrlclient *cc)
{
	cc_close_http(&cc->upd_conn, &cc->upd_req);
}

/* Ends the request in flight, and the endpoint update with it: a new stream carries both. */
static void cc_close_conn(struct ctrlclient *cc)
{
	cc_close_http(&cc->conn, &cc->req);
	cc_close_update(cc);
	ctrl_stream_free(cc->stream);
	cc->stream = NULL;
}

static void cc_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctrlclient *cc = arg;

	(void)fd;
	(void)what;
	cc_close_conn(cc);
	cc_backoff(cc);
}

/* A request cannot be cancelled from inside its own callback: do it right after. */
static void cc_restart_soon(struct ctrlclient *cc)
{
	event_active(cc->restart, EV_TIMEOUT, 0);
}

static void cc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctrlclient *cc = arg;

	(void)fd;
	(void)what;
	if (cc->phase == CC_BACKOFF)
		cc_start(cc);
}

/* Tries again later: 1 s doubling to 60 s, with up to 25% jitter. */
static void cc_backoff(struct ctrlclient *cc)
{
	struct timeval tv;
	unsigned ms;

	if (cc->phase == CC_STOPPED || cc->dying)
		return;
	cc->phase = CC_BACKOFF;
	cc->backoff_ms = cc->backoff_ms == 0 ? CC_BACKOFF_MIN_MS : cc->backoff_ms * 2;
	if (cc->backoff_ms > CC_BACKOFF_MAX_MS)
		cc->backoff_ms = CC_BACKOFF_MAX_MS;
	ms = cc->backoff_ms + randombytes_uniform(cc->backoff_ms / 4 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(cc->timer, &tv);
}

static struct bufferevent *cc_bufferevent(struct ctrlclient *cc)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (!cc->https)
		return bufferevent_socket_new(cc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(cc->ssl_ctx);
	if (ssl == NULL)
		return NULL;
	SSL_set_tlsext_host_name(ssl, cc->host);
	/* Check the certificate names the server we asked for. */
	SSL_set1_host(ssl, cc->host);
	bev = bufferevent_openssl_socket_new(cc->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

/* A request on a fresh connection in the slot conn/req (the stream's or the update's). */
static struct evhttp_request *cc_request_in(struct ctrlclient *cc, struct evhttp_connection **conn,
					    struct evhttp_request **req,
					    void (*done)(struct evhttp_request *, void *),
					    int timeout_s)
{
	struct bufferevent *bev;

	cc_close_http(conn, req);
	bev = cc_bufferevent(cc);
	if (bev == NULL)
		return NULL;
	*conn = evhttp_connection_base_bufferevent_new(cc->base, cc->dns, bev, cc->host,
						       (unsigned short)cc->port);
	if (*conn == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	evhttp_connection_set_timeout(*conn, timeout_s);
	*req = evhttp_request_new(done, cc);
	if (*req == NULL)
		return NULL;
	evhttp_add_header(evhttp_request_get_output_headers(*req), "Host", cc->host);
	return *req;
}

/* A fresh connection for each request: the stream holds one for a long time anyway. */
static struct evhttp_request *cc_request(struct ctrlclient *cc, void (*done)(struct evhttp_request *,
									      void *),
					 int timeout_s)
{
	cc_close_conn(cc);
	return cc_request_in(cc, &cc->conn, &cc->req, done, timeout_s);
}

static int cc_send_in(struct ctrlclient *cc, struct evhttp_connection *conn,
		      struct evhttp_request **req, enum evhttp_cmd_type m, const char *path)
{
	char full[512];

	snprintf(full, sizeof(full), "%s%s", cc->path_prefix, path);
	if (evhttp_make_request(conn, *req, m, full) < 0) {
		*req = NULL; /* libevent frees a request it failed to make */
		return -EIO;
	}
	return 0;
}

static int cc_send(struct ctrlclient *cc, enum evhttp_cmd_type m, const char *path)
{
	return cc_send_in(cc, cc->conn, &cc->req, m, path);
}

/* Seals `body` (consumed) as request `op` and sends it in the slot conn/req. */
static int cc_post_in(struct ctrlclient *cc, struct evhttp_connection **conn,
		      struct evhttp_request **req, enum ctrl_op op, json_t *body,
		      void (*done)(struct evhttp_request *, void *), int timeout_s,
		      struct ctrl_envelope *env)
{
	char path[64], mkey[KEY_PREFIXED_MAX];
	struct ctrl_envelope local;
	uint8_t *sealed = NULL;
	size_t len = 0;
	struct evkeyvalq *h;
	int r;

	r = ctrl_request_seal(&cc->box, op, body, (int64_t)clock_real_ns(), env ? env : &local,
			      &sealed, &len);
	json_decref(body);
	if (r < 0)
		return r;
	if (conn == &cc->conn)
		cc_close_conn(cc);
	if (cc_request_in(cc, conn, req, done, timeout_s) == NULL) {
		free(sealed);
		return -ENOMEM;
	}
	h = evhttp_request_get_output_headers(*req);
	evhttp_add_header(h, "Weft-Machine", machine_public_format(&cc->machine_pub, mkey,
								    sizeof(mkey)));
	evhttp_add_header(h, "Content-Type", "application/octet-stream");
	evbuffer_add(evhttp_request_get_output_buffer(*req), sealed, len);
	free(sealed);
	snprintf(path, sizeof(path), "/ctrl/v1/%s", ctrl_op_name(op));
	return cc_send_in(cc, *conn, req, EVHTTP_REQ_POST, path);
}

static int cc_post(struct ctrlclient *cc, enum ctrl_op op, json_t *body,
		   void (*done)(struct evhttp_request *, void *), int timeout_s,
		   struct ctrl_envelope *env)
{
	return cc_post_in(cc, &cc->conn, &cc->req, op, body, done, timeout_s, env);
}

/* The answer of a finished request: status and a copy of the body (caller frees). */
static int cc_take(struct evhttp_request *req, uint8_t **body, size_t *len)
{
	struct evbuffer *in;

	*body = NULL;
	*len = 0;
	if (req == NULL || evhttp_request_get_response_code(req) == 0)
		return 0;
	in = evhttp_request_get_input_buffer(req);
	*len = evbuffer_get_length(in);
	if (*len > CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD)
		return -1;
	*body = malloc(*len + 1);
	if (*body == NULL)
		return -1;
	evbuffer_remove(in, *body, *len);
	(*body)[*len] = '\0';
	return evhttp_request_get_response_code(req);
}

/* The server's explanation of an error answer, sealed or plain. */
static void cc_error_text(struct ctrlclient *cc, const uint8_t *body, size_t len, char *out,
			  size_t outlen)
{
	struct jsonx_err err;
	json_t *j = NULL;
	const char *e;

	snprintf(out, outlen, "no explanation");
	if (ctrl_response_open(&cc->box, body, len, &j, &err) < 0 &&
	    jsonx_load(body, len, &j, &err) < 0)
		return;
	e = json_string_value(json_object_get(j, "Error"));
	if (e != NULL)
		snprintf(out, outlen, "%.300s", e);
	json_decref(j);
}

/* ---- endpoints ------------------------------------------------------------------------ */

static bool cc_endpoint_ok(const char *tun, const struct ifaddrs *ifa, const struct netaddr *a)
{
	if (ifa->ifa_flags & IFF_LOOPBACK || !(ifa->ifa_flags & IFF_UP) ||
	    strcmp(ifa->ifa_name, tun) == 0 || netaddr_is_tailnet(a))
		return false;
	/* IPv6 link-local addresses need a zone; peers cannot use them. */
	if (a->family == NETADDR_V6 && a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80)
		return false;
	return true;
}

size_t ctrlclient_local_endpoints(const char *tun, uint16_t port, struct netendpoint *out,
				  size_t max)
{
	struct ifaddrs *ifs, *ifa;
	size_t n = 0;

	if (getifaddrs(&ifs) < 0)
		return 0;
	for (ifa = ifs; ifa != NULL && n < max; ifa = ifa->ifa_next) {
		struct netendpoint ep;
		socklen_t sl;

		if (ifa->ifa_addr == NULL)
			continue;
		sl = ifa->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							 : sizeof(struct sockaddr_in6);
		if (netendpoint_from_sockaddr(&ep, ifa->ifa_addr, sl) < 0 ||
		    !cc_endpoint_ok(tun, ifa, &ep.addr))
			continue;
		ep.port = port;
		out[n++] = ep;
	}
	freeifaddrs(ifs);
	return n;
}

/* ---- map stream ----------------------------------------------------------------------- */

static int cc_frame(struct ctrlclient *cc, struct ctrl_frame *f)
{
	struct jsonx_err err;
	struct netmap *nm;
	int r = 0;

	switch (f->type) {
	case CTRL_FRAME_FULL:
		r = netmap_new_from_full(f->json, &nm, &err);
		if (r < 0) {
			log_warnx("control: bad full map: %s", err.msg);
			return r;
		}
		cc->got_full = true;
		cc->backoff_ms = 0; /* a working stream resets the back-off */
		r = cc->cb.netmap_full(cc->arg, nm);
		/* What changed while the map request was on its way goes now. */
		if (r == 0 && cc->upd_due && !cc->dying)
			cc_update(cc);
		return r;
	case CTRL_FRAME_DELTA:
		if (!cc->got_full)
			return -EPROTO;
		return cc->cb.netmap_delta(cc->arg, f->json);
	case CTRL_FRAME_KEEPALIVE:
		break;
	}
	return r;
}

static void cc_map_chunk(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	if (cc->dying || cc->stream == NULL)
		return;
	while (evbuffer_get_length(in) > 0) {
		size_t len = evbuffer_get_length(in), used = 0;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		struct ctrl_frame f = { 0 };
		struct jsonx_err err;
		int r = ctrl_stream_feed(cc->stream, p, len, &used, &f, &err);

		evbuffer_drain(in, used);
		if (r < 0) {
			log_warnx("control: map stream refused: %s", err.msg);
			ctrl_stream_free(cc->stream);
			cc->stream = NULL;
			cc_restart_soon(cc);
			return;
		}
		if (r == 0)
			break;
		r = cc_frame(cc, &f);
		json_decref(f.json);
		if (cc->dying)
			return;
		if (r < 0) {
			log_warnx("control: map frame not applied (%s); reconnecting for a full map",
				  strerror(-r));
			ctrl_stream_free(cc->stream);
			cc->stream = NULL;
			cc_restart_soon(cc);
			return;
		}
	}
}

static void cc_map_done(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;
	uint8_t *body;
	size_t len;
	int code;

	cc->req = NULL;
	if (cc->dying)
		return;
	code = cc_take(req, &body, &len);
	if (code == 401) {
		/* Our node key is unknown or expired here: register again. */
		free(body);
		cc_register(cc);
		return;
	}
	if (code != 200 && code != 0) {
		char why[320];
		cc_error_text(cc, body, len, why, sizeof(why));
		log_warnx("control: map request answered %d: %s", code, why);
	} else {
		log_info("control: map stream ended; reconnecting");
	}
	free(body);
	cc_backoff(cc);
}

/* What every map request reports: keys, endpoints, home relay, hostinfo. */
static int cc_map_request_fill(struct ctrlclient *cc, struct ctrl_map_request *m)
{
	memset(m, 0, sizeof(*m));
	if (node_private_public(&m->node_key, &cc->node_key) < 0)
		return -EINVAL;
	m->disco_key = cc->disco;
	/* STUN-learnt endpoints first: they are the ones that cross NATs. */
	for (size_t i = 0; i < cc->n_extra && m->n_endpoints < NETMAP_MAX_ENDPOINTS; i++)
		m->endpoints[m->n_endpoints++] = cc->extra[i];
	m->n_endpoints += ctrlclient_local_endpoints(cc->tun, cc->port_udp,
						     m->endpoints + m->n_endpoints,
						     NETMAP_MAX_ENDPOINTS - m->n_endpoints);
	m->relay_home = cc->relay_home;
	snprintf(m->hostname, sizeof(m->hostname), "%s", cc->hostname);
	snprintf(m->os, sizeof(m->os), "%s", cc->os);
	return 0;
}

/* The one-shot answer must be one sealed delta frame bound to our request. */
static int cc_update_check(struct ctrlclient *cc, const uint8_t *body, size_t len,
			   struct jsonx_err *err)
{
	struct ctrl_stream *st = NULL;
	struct ctrl_frame f = { 0 };
	size_t used = 0;
	int r;

	r = ctrl_stream_new(&cc->box, cc->upd_env.nonce, CTRL_FRAME_MAX, &st);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return r;
	}
	r = ctrl_stream_feed(st, body, len, &used, &f, err);
	if (r == 0 || (r == 1 && (f.type != CTRL_FRAME_DELTA || used != len))) {
		snprintf(err->msg, sizeof(err->msg), "not one delta frame");
		r = -EPROTO;
	}
	json_decref(f.json);
	ctrl_stream_free(st);
	return r < 0 ? r : 0;
}

static void cc_update_done(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;
	struct jsonx_err err;
	uint8_t *body;
	size_t len;
	int code;

	cc->upd_req = NULL;
	if (cc->dying)
		return;
	code = cc_take(req, &body, &len);
	if (code != 200 || cc_update_check(cc, body, len, &err) < 0) {
		char why[320];
		if (code == 200)
			snprintf(why, sizeof(why), "%s", err.msg);
		else
			cc_error_text(cc, body, len, why, sizeof(why));
		log_warnx("control: endpoint update answered %d (%s); renewing the map request",
			  code, why);
		free(body);
		cc_restart_soon(cc); /* the new stream's request carries them */
		return;
	}
	free(body);
	if (cc->upd_due)
		cc_update(cc);
}

/* Reports endpoints and home relay beside the live stream (PROTOCOL.md 3.4.2). */
static void cc_update(struct ctrlclient *cc)
{
	struct ctrl_map_request m;
	json_t *body = NULL;
	int r;

	if (cc->upd_req != NULL) {
		cc->upd_due = true; /* one at a time: its answer sends the next */
		return;
	}
	cc->upd_due = false;
	r = cc_map_request_fill(cc, &m);
	m.stream = false;
	m.omit_peers = true;
	if (r == 0)
		r = ctrl_map_request_encode(&m, &body);
	if (r == 0)
		r = cc_post_in(cc, &cc->upd_conn, &cc->upd_req, CTRL_OP_MAP, body, cc_update_done,
			       CC_TIMEOUT_S, &cc->upd_env);
	if (r < 0) {
		log_warnx("control: cannot send the endpoint update; renewing the map request");
		cc_restart_soon(cc);
	}
}

static void cc_map(struct ctrlclient *cc)
{
	struct ctrl_map_request m;
	json_t *body = NULL;
	int r;

	if (cc_map_request_fill(cc, &m) < 0)
		goto fail;
	m.stream = true;
	cc->phase = CC_MAP;
	cc->got_full = false;
	cc->upd_due = false; /* this request carries the latest */
	r = ctrl_map_request_encode(&m, &body);
	if (r == 0)
		r = cc_post(cc, CTRL_OP_MAP, body, cc_map_done, CC_STREAM_IDLE_S, &cc->map_env);
	if (r == 0)
		r = ctrl_stream_new(&cc->box, cc->map_env.nonce, CTRL_FRAME_MAX, &cc->stream);
	if (r < 0)
		goto fail;
	evhttp_request_set_chunked_cb(cc->req, cc_map_chunk);
	return;
fail:
	cc_error(cc, false, "control: cannot send the map request");
	cc_backoff(cc);
}

/* ---- register ------------------------------------------------------------------------- */

static void cc_registered(struct ctrlclient *cc, const struct ctrl_register_response *rr)
{
	struct ctrlclient_login login;

	memset(&login, 0, sizeof(login));
	login.user_id = rr->user_id;
	if (rr->user_name != NULL)
		snprintf(login.user_login, sizeof(login.user_login), "%s", rr->user_name);
	if (rr->node != NULL) {
		login.node_id = rr->node->id;
		if (rr->node->name != NULL)
			snprintf(login.node_name, sizeof(login.node_name), "%s", rr->node->name);
	}
	/* A confirmed rotation: the old key is done with. */
	mem_wipe(&cc->old_node_key, sizeof(cc->old_node_key));
	cc->has_old_node_key = false;
	cc->followup[0] = '\0';
	mem_wipe(cc->auth_key, sizeof(cc->auth_key));
	cc->cb.logged_in(cc->arg, &login);
	if (!cc->dying && cc->phase != CC_STOPPED)
		cc_map(cc);
}

/* "<server_url>/register/<authid>": the ID is the last path element. */
static void cc_followup_from(struct ctrlclient *cc, const char *url)
{
	const char *slash = strrchr(url, '/');

	snprintf(cc->followup, sizeof(cc->followup), "%s", slash != NULL ? slash + 1 : "");
}

static void cc_register_done(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;
	struct ctrl_register_response rr;
	struct jsonx_err err;
	uint8_t *body;
	size_t len;
	json_t *j = NULL;
	int code;

	cc->req = NULL;
	if (cc->dying)
		return;
	code = cc_take(req, &body, &len);
	memset(&rr, 0, sizeof(rr));
	if (code == 0) {
		log_info("control: cannot reach %s; retrying", cc->host);
		goto retry;
	}
	if (code != 200) {
		char why[320];
		cc_error_text(cc, body, len, why, sizeof(why));
		free(body);
		/* 403: the server refused our auth key; retrying cannot help. */
		cc_error(cc, code == 403 || code == 400, "control: login refused (%d): %s", code,
			 why);
		if (code != 403 && code != 400)
			cc_backoff(cc);
		return;
	}
	if (ctrl_response_open(&cc->box, body, len, &j, &err) < 0 ||
	    ctrl_register_response_decode(j, &rr, &err) < 0) {
		log_warnx("control: bad register response: %s", err.msg);
		goto retry;
	}
	if (rr.error != NULL) {
		cc_error(cc, true, "control: %s", rr.error);
	} else if (rr.machine_authorized && !rr.node_key_expired) {
		cc_registered(cc, &rr);
	} else if (rr.node_key_expired) {
		cc_error(cc, true, "control: this node's key has expired: log in again with "
				   "weft up --force-reauth");
	} else if (rr.auth_url != NULL) {
		if (cc->followup[0] == '\0')
			cc->cb.auth_url(cc->arg, rr.auth_url);
		cc_followup_from(cc, rr.auth_url);
		cc_register(cc); /* wait for the approval (the server holds the request) */
	} else {
		cc_error(cc, false, "control: not authorised and no way to log in given");
		goto retry_noerr;
	}
	ctrl_register_response_clear(&rr);
	json_decref(j);
	free(body);
	return;
retry:
	cc_error(cc, false, "control: cannot log in to %s yet; retrying", cc->host);
retry_noerr:
	ctrl_register_response_clear(&rr);
	json_decref(j);
	free(body);
	cc_backoff(cc);
}

static void cc_register(struct ctrlclient *cc)
{
	struct ctrl_register_request rq;
	json_t *body = NULL;
	int r;

	memset(&rq, 0, sizeof(rq));
	cc->phase = CC_REGISTER;
	if (node_private_public(&rq.node_key, &cc->node_key) < 0 ||
	    (cc->has_old_node_key && node_private_public(&rq.old_node_key, &cc->old_node_key) < 0))
		goto fail;
	snprintf(rq.auth_key, sizeof(rq.auth_key), "%s", cc->auth_key);
	snprintf(rq.hostname, sizeof(rq.hostname), "%s", cc->hostname);
	snprintf(rq.os, sizeof(rq.os), "%s", cc->os);
	snprintf(rq.followup, sizeof(rq.followup), "%s", cc->followup);
	rq.tags = cc->tags;
	rq.n_tags = cc->ntags;
	r = ctrl_register_request_encode(&rq, &body);
	rq.tags = NULL; /* borrowed: keep the wipe from freeing ours */
	rq.n_tags = 0;
	ctrl_register_request_wipe(&rq);
	if (r == 0)
		r = cc_post(cc, CTRL_OP_REGISTER, body, cc_register_done,
			    cc->followup[0] != '\0' ? CC_FOLLOWUP_TIMEOUT_S : CC_TIMEOUT_S, NULL);
	if (r == 0)
		return;
fail:
	cc_error(cc, false, "control: cannot send the register request");
	cc_backoff(cc);
}

/* ---- server key ----------------------------------------------------------------------- */

static int cc_key_parse(const uint8_t *body, size_t len, struct machine_public *key)
{
	struct jsonx_err err;
	json_t *j = NULL;
	const char *s;
	int r = -EINVAL;

	if (jsonx_load(body, len, &j, &err) < 0)
		return -EINVAL;
	s = json_string_value(json_object_get(j, "ServerKey"));
	if (s != NULL && machine_public_parse(key, s) == 0)
		r = 0;
	json_decref(j);
	return r;
}

static void cc_key_done(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;
	struct machine_public key;
	uint8_t *body;
	size_t len;
	int code;

	cc->req = NULL;
	if (cc->dying)
		return;
	code = cc_take(req, &body, &len);
	if (code != 200 || cc_key_parse(body, len, &key) < 0) {
		free(body);
		if (code == 0)
			log_info("control: cannot reach %s; retrying", cc->host);
		else
			cc_error(cc, false, "control: %s answered /key with %d: is it a weft-server?",
				 cc->host, code);
		cc_backoff(cc);
		return;
	}
	free(body);
	if (cc->has_server_key && !keys_eq(key.b, cc->server_key.b)) {
		cc_error(cc, true,
			 "control: %s presents a different server key than before; if the server "
			 "was reinstalled, run weft logout and log in again",
			 cc->host);
		return;
	}
	if (!cc->has_server_key) {
		cc->server_key = key;
		cc->has_server_key = true;
		cc->cb.server_key(cc->arg, &key);
		if (cc->dying)
			return;
	}
	if (!cc->have_box) {
		if (ctrl_box_init(&cc->box, &cc->machine_key, &cc->server_key) < 0) {
			cc_error(cc, true, "control: the server key is unusable");
			return;
		}
		cc->have_box = true;
	}
	cc_register(cc);
}

static void cc_start(struct ctrlclient *cc)
{
	cc->phase = CC_KEY;
	if (cc_request(cc, cc_key_done, CC_TIMEOUT_S) == NULL || cc_send(cc, EVHTTP_REQ_GET, "/key") < 0) {
		log_warnx("control: cannot start a request to %s", cc->host);
		cc_backoff(cc);
	}
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static int cc_parse_url(struct ctrlclient *cc, const char *url)
{
	const char *scheme, *host, *path;

	cc->uri = evhttp_uri_parse(url);
	if (cc->uri == NULL)
		return -EINVAL;
	scheme = evhttp_uri_get_scheme(cc->uri);
	host = evhttp_uri_get_host(cc->uri);
	path = evhttp_uri_get_path(cc->uri);
	if (scheme == NULL || host == NULL || strlen(host) >= sizeof(cc->host))
		return -EINVAL;
	if (strcmp(scheme, "https") == 0)
		cc->https = true;
	else if (strcmp(scheme, "http") != 0)
		return -EINVAL;
	snprintf(cc->host, sizeof(cc->host), "%s", host);
	cc->port = evhttp_uri_get_port(cc->uri);
	if (cc->port < 0)
		cc->port = cc->https ? 443 : 80;
	snprintf(cc->path_prefix, sizeof(cc->path_prefix), "%s", path != NULL ? path : "");
	/* "https://ctl.example/" and "https://ctl.example" mean the same. */
	size_t n = strlen(cc->path_prefix);
	if (n > 0 && cc->path_prefix[n - 1] == '/')
		cc->path_prefix[n - 1] = '\0';
	return 0;
}

static int cc_copy_config(struct ctrlclient *cc, const struct ctrlclient_config *cfg)
{
	cc->machine_key = *cfg->machine_key;
	if (machine_private_public(&cc->machine_pub, &cc->machine_key) < 0)
		return -EINVAL;
	cc->node_key = *cfg->node_key;
	if (cfg->old_node_key != NULL) {
		cc->old_node_key = *cfg->old_node_key;
		cc->has_old_node_key = true;
	}
	if (cfg->server_key != NULL) {
		cc->server_key = *cfg->server_key;
		cc->has_server_key = true;
	}
	if (cfg->disco_key != NULL)
		cc->disco = *cfg->disco_key;
	if (cfg->auth_key != NULL && strlen(cfg->auth_key) > CTRL_AUTHKEY_MAX)
		return -E2BIG;
	snprintf(cc->auth_key, sizeof(cc->auth_key), "%s", cfg->auth_key ? cfg->auth_key : "");
	snprintf(cc->hostname, sizeof(cc->hostname), "%s", cfg->hostname ? cfg->hostname : "");
	snprintf(cc->os, sizeof(cc->os), "%s", cfg->os ? cfg->os : "linux");
	snprintf(cc->tun, sizeof(cc->tun), "%s", cfg->tun ? cfg->tun : "");
	cc->port_udp = cfg->port;
	cc->tags = calloc(cfg->ntags + 1, sizeof(*cc->tags));
	if (cc->tags == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->ntags; i++) {
		cc->tags[i] = strdup(cfg->tags[i]);
		if (cc->tags[i] == NULL)
			return -ENOMEM;
		cc->ntags++;
	}
	return 0;
}

int ctrlclient_new(struct event_base *base, const struct ctrlclient_config *cfg,
		   const struct ctrlclient_callbacks *cb, void *arg, struct ctrlclient **out)
{
	struct ctrlclient *cc;
	int r;

	*out = NULL;
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return -ENOMEM;
	cc->base = base;
	cc->cb = *cb;
	cc->arg = arg;
	r = cc_parse_url(cc, cfg->url);
	if (r == 0)
		r = cc_copy_config(cc, cfg);
	if (r < 0)
		goto fail;
	cc->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	cc->timer = evtimer_new(base, cc_timer_cb, cc);
	cc->restart = event_new(base, -1, 0, cc_restart_cb, cc);
	if (cc->timer == NULL || cc->restart == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if (cc->https) {
		cc->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (cc->ssl_ctx == NULL || SSL_CTX_set_default_verify_paths(cc->ssl_ctx) != 1) {
			r = -ENOMEM;
			goto fail;
		}
		SSL_CTX_set_verify(cc->ssl_ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_min_proto_version(cc->ssl_ctx, TLS1_2_VERSION);
	}
	cc_start(cc);
	*out = cc;
	return 0;
fail:
	ctrlclient_free(cc);
	return r;
}

static void cc_destroy(struct ctrlclient *cc)
{
	cc_close_conn(cc);
	if (cc->timer != NULL)
		event_free(cc->timer);
	if (cc->restart != NULL)
		event_free(cc->restart);
	if (cc->dns != NULL)
		evdns_base_free(cc->dns, 0);
	if (cc->uri != NULL)
		evhttp_uri_free(cc->uri);
	if (cc->ssl_ctx != NULL)
		SSL_CTX_free(cc->ssl_ctx);
	for (size_t i = 0; i < cc->ntags; i++)
		free(cc->tags[i]);
	free(cc->tags);
	if (cc->have_box)
		ctrl_box_wipe(&cc->box);
	mem_wipe(cc, sizeof(*cc));
	free(cc);
}

static void cc_destroy_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cc_destroy(arg);
}

void ctrlclient_free(struct ctrlclient *cc)
{
	if (cc == NULL)
		return;
	/*
	 * This may run inside one of our own request callbacks: mark the client
	 * dead so nothing more happens, and free it once the stack has unwound.
	 */
	cc->dying = true;
	evtimer_del(cc->timer);
	event_del(cc->restart);
	if (event_base_once(cc->base, -1, EV_TIMEOUT, cc_destroy_cb, cc, NULL) < 0)
		cc_destroy(cc);
}

static void cc_logout_done(struct evhttp_request *req, void *arg)
{
	struct ctrlclient *cc = arg;

	(void)req;
	cc->req = NULL;
	event_base_loopbreak(cc->base);
}

void ctrlclient_free_now(struct ctrlclient *cc)
{
	if (cc == NULL)
		return;
	cc->dying = true;
	cc_destroy(cc);
}

void ctrlclient_logout_and_free(struct ctrlclient *cc)
{
	struct ctrl_logout_request lr;
	struct event_base *own, *orig;
	struct evdns_base *dns;
	json_t *body = NULL;

	if (cc == NULL)
		return;
	memset(&lr, 0, sizeof(lr));
	/*
	 * Logout must reach the server before the keys are forgotten, so it runs
	 * on a private loop for at most a few seconds; the daemon's loop is not
	 * re-entered.
	 */
	own = event_base_new();
	orig = cc->base;
	cc_close_conn(cc);
	if (own != NULL && cc->have_box && node_private_public(&lr.node_key, &cc->node_key) == 0 &&
	    ctrl_logout_request_encode(&lr, &body) == 0) {
		/* The resolver belongs to the daemon's loop: resolve synchronously here. */
		dns = cc->dns;
		cc->dns = NULL;
		cc->base = own;
		if (cc_post(cc, CTRL_OP_LOGOUT, body, cc_logout_done, CC_LOGOUT_TIMEOUT_S, NULL) ==
		    0)
			event_base_dispatch(own);
		cc_close_conn(cc);
		cc->base = orig;
		cc->dns = dns;
	}
	if (own != NULL)
		event_base_free(own);
	cc->dying = true;
	evtimer_del(cc->timer);
	cc_destroy(cc);
}

void ctrlclient_set_path(struct ctrlclient *cc, const struct netendpoint *eps, size_t n,
			 uint32_t relay_home)
{
	if (n > CTRLCLIENT_EXTRA_MAX)
		n = CTRLCLIENT_EXTRA_MAX;
	if (n == cc->n_extra && relay_home == cc->relay_home &&
	    memcmp(eps, cc->extra, n * sizeof(eps[0])) == 0)
		return;
	memcpy(cc->extra, eps, n * sizeof(eps[0]));
	cc->n_extra = n;
	cc->relay_home = relay_home;
	/* Otherwise the next map request carries them. */
	if (cc->phase != CC_MAP || cc->stream == NULL || cc->dying)
		return;
	log_info("control: endpoints or home relay changed; reporting them");
	/* Before the full map the server may not have our stream request yet: an update
	 * overtaking it would be undone by the older values it carries. */
	if (cc->got_full)
		cc_update(cc);
	else
		cc->upd_due = true;
}

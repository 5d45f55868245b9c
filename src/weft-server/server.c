/* SPDX-License-Identifier: ISC */
/*
 * server: `weft-server serve` (see server.h): start-up (server key, state,
 * listeners), the request router, signals and the one-second tick.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/atomicfile.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/keys.h"
#include "json/jsonx.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "weft-server/config.h"
#include "weft-server/mapper.h"
#include "weft-server/server.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"
#include "weft_config.h"

#define SRV_HTTP_TIMEOUT_S 30	  /* idle or slow clients on one-shot requests */
#define SRV_HEADERS_MAX (16u << 10)
#define SRV_REPLAY_CAPACITY 131072
/*
 * Anyone can make a machine key, so requests from unknown machines get a
 * cache of their own: a flood of them can only push out other strangers'
 * entries (delaying new registrations), never a registered node's.
 */
#define SRV_REPLAY_NEW_CAPACITY 16384

/* ---- helpers shared by the handlers ------------------------------------------------------ */

void srv_reply_json(struct evhttp_request *req, int code, const char *json, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (b != NULL)
		evbuffer_add(b, json, len);
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", b);
	if (b != NULL)
		evbuffer_free(b);
}

void srv_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	struct buf_writer w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_writer_growable(&w, 4096);
	/* {"code":..., "message":...} is what Headscale's clients read; "Error" is the node's. */
	buf_printf(&w, "{\"code\":%d,\"message\":", code);
	jsonx_write_str(&w, msg);
	buf_put_str(&w, ",\"Error\":");
	jsonx_write_str(&w, msg);
	buf_put_u8(&w, '}');
	if (!w.err)
		srv_reply_json(req, code, (const char *)w.p, w.len);
	else
		evhttp_send_error(req, code, NULL);
	buf_writer_free(&w);
}

const uint8_t *srv_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return NULL;
	return evbuffer_pullup(in, -1);
}

/* ---- routing ----------------------------------------------------------------------------- */

static void srv_health(struct srv *srv, struct evhttp_request *req)
{
	static const char ok[] = "{\"status\":\"pass\"}";

	srv_reply_json(req, srv->stopping ? 503 : 200, ok, sizeof(ok) - 1);
}

static void srv_version(struct evhttp_request *req)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"version\":\"%s\",\"protocol\":[%d]}",
			 WEFT_VERSION, CTRL_VERSION);

	srv_reply_json(req, 200, body, (size_t)n);
}

static const char *srv_path(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *p = uri ? evhttp_uri_get_path(uri) : NULL;

	return p ? p : "/";
}

static void srv_main_cb(struct evhttp_request *req, void *arg)
{
	struct srv *srv = arg;
	const char *path = srv_path(req);

	if (strcmp(path, "/health") == 0)
		srv_health(srv, req);
	else if (strcmp(path, "/version") == 0)
		srv_version(req);
	else if (strncmp(path, "/api/v1/", 8) == 0)
		srv_api_route(srv, req, path, false);
	else
		srv_node_route(srv, req, path);
}

static void srv_admin_cb(struct evhttp_request *req, void *arg)
{
	struct srv *srv = arg;
	const char *path = srv_path(req);

	if (strcmp(path, "/health") == 0)
		srv_health(srv, req);
	else if (strcmp(path, "/version") == 0)
		srv_version(req);
	else if (strncmp(path, "/api/v1/", 8) == 0)
		srv_api_route(srv, req, path, true);
	else
		srv_reply_error(req, 404, "the admin socket serves /api/v1 only");
}

static void srv_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct srv *srv = arg;
	const char *path = srv_path(req);

	if (strcmp(path, "/metrics") == 0)
		srv_metrics_reply(srv, req);
	else if (strcmp(path, "/health") == 0)
		srv_health(srv, req);
	else
		srv_reply_error(req, 404, "serves /metrics and /health");
}

/* ---- server key -------------------------------------------------------------------------- */

static int srv_load_key(const char *path, struct machine_private *key, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	char dir[4096], *slash;
	int r;

	r = atomicfile_read(path, 64, &buf, &len);
	if (r == 0) {
		if (len != KEY_LEN || keys_is_zero(buf)) {
			snprintf(err, errlen,
				 "server key %s is damaged (want 32 bytes): restore it from a "
				 "backup; a new key makes every node log in again",
				 path);
			r = -EINVAL;
		} else {
			memcpy(key->b, buf, KEY_LEN);
		}
		mem_wipe(buf, len);
		free(buf);
		return r;
	}
	if (r != -ENOENT) {
		snprintf(err, errlen, "cannot read server key %s: %s", path, strerror(-r));
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((r = atomicfile_mkdirs(dir, 0700)) < 0) {
			snprintf(err, errlen, "cannot create %.400s: %s", dir, strerror(-r));
			return r;
		}
	}
	keys_generate(key->b);
	if ((r = atomicfile_write(path, key->b, KEY_LEN, 0600)) < 0) {
		snprintf(err, errlen, "cannot write server key %s: %s", path, strerror(-r));
		return r;
	}
	log_info("created server key %s", path);
	return 0;
}

/* ---- listeners --------------------------------------------------------------------------- */

static struct bufferevent *srv_ssl_bev(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static int srv_tls(struct srv *srv, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, srv->cfg->tls_cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, srv->cfg->tls_key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "TLS: cannot use %s and %s: %s", srv->cfg->tls_cert_path,
			 srv->cfg->tls_key_path, ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return -EINVAL;
	}
	srv->ssl_ctx = ctx;
	evhttp_set_bevcb(srv->http, srv_ssl_bev, ctx);
	return 0;
}

static struct evhttp *srv_http_new(struct srv *srv, void (*cb)(struct evhttp_request *, void *))
{
	struct evhttp *h = evhttp_new(srv->base);

	if (h == NULL)
		return NULL;
	evhttp_set_gencb(h, cb, srv);
	evhttp_set_timeout(h, SRV_HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(h, SRV_HEADERS_MAX);
	/* The largest body anyone may send is a sealed control request. */
	/*
	 * Twice what any handler accepts: a body a little too large reaches the
	 * handler, which answers a JSON 413 and counts it; one beyond this is cut
	 * off by libevent (its own 413) before it is buffered.
	 */
	evhttp_set_max_body_size(h, 2 * (CTRL_BODY_MAX + CTRL_SEAL_OVERHEAD));
	/*
	 * A body over that is answered 413 only once the client has sent it
	 * (drained, never stored; the request timeout bounds the time):
	 * closing at once resets the connection under a client still sending,
	 * which then sees no status at all.
	 */
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
					      EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
	return h;
}

static int srv_bind(struct evhttp *h, const char *what, const char *addr, char *err,
		    size_t errlen)
{
	char host[NETADDR_STRLEN];
	uint16_t port;

	if (srv_config_split_hostport(addr, host, sizeof(host), &port) < 0 ||
	    evhttp_bind_socket_with_handle(h, host[0] ? host : "0.0.0.0", port) == NULL) {
		snprintf(err, errlen, "cannot listen on %s (%s): %s", addr, what,
			 errno ? strerror(errno) : "bad address");
		return -EADDRINUSE;
	}
	return 0;
}

static int srv_admin_socket(struct srv *srv, char *err, size_t errlen)
{
	const char *path = srv->cfg->unix_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct evconnlistener *l;
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "unix_socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((r = atomicfile_mkdirs(dir, 0755)) < 0) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-r));
			return r;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* A socket that answers belongs to a running server; one that does not is stale. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(err, errlen,
			 "another weft-server is running (its admin socket %s answers): stop it, "
			 "or give this one its own unix_socket and listen_addr",
			 path);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, srv->cfg->unix_socket_permission) < 0 || listen(fd, 64) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -EADDRINUSE;
	}
	l = evconnlistener_new(srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
			       -1, fd);
	if (l == NULL || evhttp_bind_listener(srv->admin, l) == NULL) {
		snprintf(err, errlen, "cannot serve %s", path);
		if (l != NULL)
			evconnlistener_free(l);
		else
			close(fd);
		return -ENOMEM;
	}
	snprintf(srv->admin_path, sizeof(srv->admin_path), "%s", path);
	return 0;
}

/* ---- the embedded relay ----------------------------------------------------------------- */

/* Only nodes of this tailnet whose keys have not expired may use the embedded relay. */
static bool srv_relay_verify(void *arg, const struct node_public *key,
			     const struct netendpoint *src)
{
	struct srv *srv = arg;
	struct srv_node *n = srv_node_by_key(srv->st, key);

	(void)src;
	return n != NULL && !n->gone && !srv_node_is_expired(srv->st, n);
}

/* A STUN responder on `listen` (derp.server.KEY), none when it is empty. */
static int srv_stun_start(struct srv *srv, const char *listen, const char *key,
			  struct stun_server **out, char *err, size_t errlen)
{
	struct stun_server_config sc = { .fd = -1, .listen = listen };
	int r;

	if (listen == NULL || listen[0] == '\0')
		return 0;
	if ((r = stun_server_new(srv->base, &sc, out)) < 0) {
		snprintf(err, errlen, "cannot listen on %s (derp.server.%s): %s", listen, key,
			 strerror(-r));
		return r;
	}
	return 0;
}

static int srv_relay_start(struct srv *srv, char *err, size_t errlen)
{
	struct relay_server_config rc;
	int r;

	memset(&rc, 0, sizeof(rc));
	/* A fresh relay key per start: clients learn it in each handshake. */
	keys_generate(rc.key.b);
	rc.verify = srv_relay_verify;
	rc.verify_arg = srv;
	r = relay_server_new(srv->base, &rc, &srv->relay);
	mem_wipe(&rc, sizeof(rc));
	if (r < 0 || (r = relay_server_mount(srv->relay, srv->http)) < 0) {
		snprintf(err, errlen, "cannot start the embedded relay: %s", strerror(-r));
		return r;
	}
	if ((r = srv_stun_start(srv, srv->cfg->stun_listen_addr, "stun_listen_addr", &srv->stun,
				err, errlen)) < 0)
		return r;
	return srv_stun_start(srv, srv->cfg->stun_second_listen_addr, "stun_second_listen_addr",
			      &srv->stun2, err, errlen);
}

/* ---- loop -------------------------------------------------------------------------------- */

static void srv_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *srv = arg;

	srv_state_tick(srv->st);
	srv_pending_tick(srv);
	/* A reloaded policy file, or a compilation that failed and should be tried again. */
	srv_policy_tick(srv->policy);
	if (srv_policy_is_dirty(srv->policy))
		mapper_policy_changed(srv->mapper);
}

static void srv_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct srv *srv = arg;

	if (sig == SIGHUP) {
		/* Headscale reloads on SIGHUP; weft has nothing that needs it yet (the
		 * policy file is watched). It must not kill the server. */
		log_info("SIGHUP: nothing to reload");
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	srv->stopping = true;
	event_base_loopexit(srv->base, NULL);
}

static int srv_start(struct srv *srv, char *err, size_t errlen)
{
	struct machine_private key;
	int r;

	if ((r = srv_load_key(srv->cfg->server_key_path, &key, err, errlen)) < 0)
		return r;
	r = srv_state_open(&srv->st, srv->cfg, &key, err, errlen);
	keys_wipe(&key, sizeof(key));
	if (r < 0)
		return r;
	if ((r = srv_policy_new(srv->st, srv->cfg, &srv->policy, err, errlen)) < 0)
		return r;
	if ((r = mapper_new(srv->base, srv->st, &srv->mapper)) < 0 ||
	    (r = ctrl_replay_new(SRV_REPLAY_CAPACITY, &srv->replay)) < 0 ||
	    (r = ctrl_replay_new(SRV_REPLAY_NEW_CAPACITY, &srv->replay_new)) < 0) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	mapper_set_policy(srv->mapper, srv->policy);
	if ((srv->http = srv_http_new(srv, srv_main_cb)) == NULL ||
	    (srv->admin = srv_http_new(srv, srv_admin_cb)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (srv->cfg->tls_cert_path != NULL && (r = srv_tls(srv, err, errlen)) < 0)
		return r;
	if (srv->cfg->relay_enabled && (r = srv_relay_start(srv, err, errlen)) < 0)
		return r;
	if ((r = srv_admin_socket(srv, err, errlen)) < 0 ||
	    (r = srv_bind(srv->http, "listen_addr", srv->cfg->listen_addr, err, errlen)) < 0)
		return r;
	if (srv->cfg->metrics_listen_addr != NULL) {
		if ((srv->metrics = srv_http_new(srv, srv_metrics_cb)) == NULL)
			return -ENOMEM;
		if ((r = srv_bind(srv->metrics, "metrics_listen_addr",
				  srv->cfg->metrics_listen_addr, err, errlen)) < 0)
			return r;
	}
	return 0;
}

static void srv_stop(struct srv *srv)
{
	srv_pending_free_all(srv);
	mapper_free(srv->mapper);
	/* The relay's connections go before the listener it is mounted on. */
	relay_server_free(srv->relay);
	stun_server_free(srv->stun);
	stun_server_free(srv->stun2);
	if (srv->http)
		evhttp_free(srv->http);
	if (srv->admin)
		evhttp_free(srv->admin);
	if (srv->metrics)
		evhttp_free(srv->metrics);
	if (srv->admin_path[0] != '\0')
		unlink(srv->admin_path);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
	ctrl_replay_free(srv->replay);
	ctrl_replay_free(srv->replay_new);
	srv_policy_free(srv->policy);
	srv_state_close(srv->st);
}

int srv_serve(struct srv_config *cfg)
{
	struct srv srv = { .cfg = cfg };
	struct event *tick = NULL, *sig[3] = { 0 };
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct timeval one = { 1, 0 };
	char err[SRV_CONFIG_ERR_LEN] = "";
	int rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if ((srv.base = event_base_new()) == NULL) {
		log_error("cannot create the event loop");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_warnings; i++)
		log_warnx("%s", cfg->warnings[i]);
	if (srv_start(&srv, err, sizeof(err)) < 0) {
		log_error("%s", err[0] ? err : "start-up failed");
		goto out;
	}
	srv.started = srv.st->now();
	tick = event_new(srv.base, -1, EV_PERSIST, srv_tick_cb, &srv);
	if (tick == NULL || event_add(tick, &one) < 0)
		goto out;
	for (int i = 0; i < 3; i++) {
		sig[i] = evsignal_new(srv.base, sigs[i], srv_signal_cb, &srv);
		if (sig[i] == NULL || event_add(sig[i], NULL) < 0)
			goto out;
	}
	log_info("weft-server %s serving %s on %s%s (admin socket %s, %zu nodes, %zu users)",
		 WEFT_VERSION, cfg->server_url, cfg->listen_addr,
		 cfg->tls_cert_path ? " with TLS" : "", cfg->unix_socket, srv.st->n_nodes,
		 srv.st->n_users);
	event_base_dispatch(srv.base);
	mapper_flush(srv.mapper);
	rc = 0;
out:
	for (int i = 0; i < 3; i++)
		if (sig[i] != NULL)
			event_free(sig[i]);
	if (tick != NULL)
		event_free(tick);
	srv_stop(&srv);
	event_base_free(srv.base);
	return rc;
}

/* SPDX-License-Identifier: ISC */
/*
 * uapi_server: the wg(8) socket (see uapi_server.h). Requests are parsed in
 * full by lib/wg/uapi before anything changes, so a bad request changes
 * nothing; a good one is applied in one go, in wireguard-go's order: device
 * fields, then peer sections as given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/ct.h"
#include "wg/device.h"
#include "wg/uapi.h"
#include "weftd/engine.h"
#include "weftd/uapi_server.h"

struct uapi_conn {
	struct uapi_server *srv;
	struct bufferevent *bev;
	struct uapi_parser *parser;
	bool closing;
	struct uapi_conn *prev, *next;
};

struct uapi_server {
	struct evconnlistener *listener;
	struct engine *engine;
	struct uapi_conn *conns; /* open connections, freed with the server */
	bool read_only;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- get ------------------------------------------------------------------------------ */

struct uapi_aips {
	struct netprefix *v;
	size_t n, cap;
	int err;
};

static int uapi_collect_aip(const struct netprefix *p, void *arg)
{
	struct uapi_aips *a = arg;

	if (mem_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v)) < 0) {
		a->err = -ENOMEM;
		return -ENOMEM;
	}
	a->v[a->n++] = *p;
	return 0;
}

struct uapi_snapshot {
	struct node_private priv;
	bool has_priv;
	struct uapi_device_info info;
	struct uapi_peer_info *peers;
	struct wg_psk *psks;
	struct uapi_aips *aips;
	size_t npeers;
};

static void uapi_snapshot_free(struct uapi_snapshot *s)
{
	for (size_t i = 0; i < s->npeers; i++)
		free(s->aips[i].v);
	if (s->psks != NULL)
		mem_wipe(s->psks, s->npeers * sizeof(*s->psks));
	free(s->psks);
	free(s->peers);
	free(s->aips);
	mem_wipe(&s->priv, sizeof(s->priv));
}

/* Copies what get=1 reports out of the device; the lock is held only for the copy. */
static int uapi_snapshot_take(struct engine *e, struct uapi_snapshot *s)
{
	struct wg_device *dev = engine_device(e);
	struct wg_peer *p;
	size_t i = 0;
	int r = 0;

	memset(s, 0, sizeof(*s));
	engine_lock(e);
	s->npeers = wg_device_peer_count(dev);
	s->peers = calloc(s->npeers + 1, sizeof(*s->peers));
	s->psks = calloc(s->npeers + 1, sizeof(*s->psks));
	s->aips = calloc(s->npeers + 1, sizeof(*s->aips));
	if (s->peers == NULL || s->psks == NULL || s->aips == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s->has_priv = wg_device_private_key(dev, s->priv.b);
	for (p = wg_device_peer_first(dev); p != NULL && i < s->npeers; p = wg_peer_next(p), i++) {
		struct wg_peer_info pi;
		struct uapi_peer_info *u = &s->peers[i];

		wg_peer_info(p, &pi);
		memcpy(u->public_key.b, pi.public_key, KEY_LEN);
		if (pi.has_psk) {
			memcpy(s->psks[i].b, pi.psk, KEY_LEN);
			u->preshared_key = &s->psks[i];
		}
		mem_wipe(pi.psk, sizeof(pi.psk));
		if (pi.has_endpoint)
			u->endpoint = pi.endpoint;
		u->last_handshake_sec = pi.last_handshake_wall_ns / CLOCK_NS_PER_SEC;
		u->last_handshake_nsec = (uint32_t)(pi.last_handshake_wall_ns % CLOCK_NS_PER_SEC);
		u->tx_bytes = pi.tx_bytes;
		u->rx_bytes = pi.rx_bytes;
		u->persistent_keepalive_interval = pi.persistent_keepalive;
		(void)wg_peer_allowedips_walk(p, uapi_collect_aip, &s->aips[i]);
		if (s->aips[i].err < 0) {
			r = s->aips[i].err;
			goto out;
		}
		u->n_allowed_ips = s->aips[i].n;
		u->allowed_ips = s->aips[i].v;
	}
	s->npeers = i;
	s->info.private_key = s->has_priv ? &s->priv : NULL;
	s->info.listen_port = engine_port(e);
	s->info.fwmark = engine_fwmark(e);
	s->info.n_peers = s->npeers;
	s->info.peers = s->peers;
out:
	engine_unlock(e);
	return r;
}

static int uapi_do_get(struct uapi_conn *c)
{
	struct uapi_snapshot s;
	char *text = NULL;
	size_t len = 0;
	int r;

	r = uapi_snapshot_take(c->srv->engine, &s);
	if (r == 0)
		r = uapi_get_format(&s.info, &text, &len);
	uapi_snapshot_free(&s);
	if (r < 0)
		return r;
	bufferevent_write(c->bev, text, len);
	uapi_text_free(text, len);
	return 0;
}

/* ---- set ------------------------------------------------------------------------------ */

static int uapi_apply_peer(struct engine *e, const struct uapi_peer_config *pc, uint64_t now)
{
	struct wg_device *dev = engine_device(e);
	struct wg_peer *peer;
	uint8_t self[KEY_LEN];
	int r;

	/* A peer with our own public key is ignored, as the kernel and wireguard-go do. */
	if (wg_device_public_key(dev, self) && ct_memeq(self, pc->public_key.b, KEY_LEN))
		return 0;
	peer = wg_device_peer_find(dev, pc->public_key.b);
	if (pc->flags & UAPI_PEER_F_REMOVE) {
		if (peer != NULL)
			wg_device_peer_remove(dev, peer);
		return 0;
	}
	if (peer == NULL) {
		if (pc->flags & UAPI_PEER_F_UPDATE_ONLY)
			return 0;
		r = wg_device_peer_add(dev, pc->public_key.b, &peer);
		if (r < 0)
			return r;
	}
	if (pc->flags & UAPI_PEER_F_PRESHARED_KEY)
		wg_peer_set_psk(peer, pc->preshared_key.b);
	if (pc->flags & UAPI_PEER_F_ENDPOINT)
		wg_peer_set_endpoint(peer, &pc->endpoint);
	if (pc->flags & UAPI_PEER_F_REPLACE_ALLOWED_IPS)
		wg_peer_allowedips_clear(peer);
	for (size_t i = 0; i < pc->n_allowed_ips; i++) {
		r = wg_peer_allowedip_add(peer, &pc->allowed_ips[i]);
		if (r < 0)
			return r;
	}
	if (pc->flags & UAPI_PEER_F_KEEPALIVE)
		wg_peer_set_keepalive(peer, pc->persistent_keepalive_interval, now);
	return 0;
}

static int uapi_do_set(struct uapi_conn *c, const struct uapi_device_config *cfg)
{
	struct engine *e = c->srv->engine;
	struct wg_device *dev = engine_device(e);
	uint64_t now = clock_mono_ns();
	int r = 0;

	/* The socket first and without the lock: a port in use fails before anything changes. */
	if (cfg->flags & UAPI_DEVICE_F_LISTEN_PORT) {
		r = engine_set_port(e, cfg->listen_port);
		if (r < 0)
			return r;
	}
	if (cfg->flags & UAPI_DEVICE_F_FWMARK) {
		r = engine_set_fwmark(e, cfg->fwmark);
		if (r < 0)
			return r;
	}
	engine_lock(e);
	if (cfg->flags & UAPI_DEVICE_F_PRIVATE_KEY)
		wg_device_set_private_key(dev, ct_is_zero(cfg->private_key.b, KEY_LEN)
						       ? NULL
						       : cfg->private_key.b);
	if (cfg->flags & UAPI_DEVICE_F_REPLACE_PEERS)
		wg_device_peers_clear(dev);
	for (size_t i = 0; i < cfg->n_peers && r == 0; i++)
		r = uapi_apply_peer(e, &cfg->peers[i], now);
	engine_unlock(e);
	return r;
}

/* ---- connections ---------------------------------------------------------------------- */

static void uapi_conn_free(struct uapi_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	uapi_parser_free(c->parser);
	free(c);
}

static void uapi_conn_reply_errno(struct uapi_conn *c, int err)
{
	char text[UAPI_ERRNO_TEXT_MAX];
	size_t n = uapi_errno_format(text, err);

	bufferevent_write(c->bev, text, n);
}

static void uapi_conn_fail(struct uapi_conn *c, int err)
{
	log_warnx("wg(8) request refused: %s", uapi_parser_error(c->parser) != NULL
							  ? uapi_parser_error(c->parser)
							  : strerror(-err));
	uapi_conn_reply_errno(c, err);
	c->closing = true;
}

static void uapi_conn_request(struct uapi_conn *c, struct uapi_request *req)
{
	int r;

	if (req->op == UAPI_OP_GET) {
		r = uapi_do_get(c);
		if (r < 0)
			uapi_conn_reply_errno(c, r);
		return;
	}
	if (c->srv->read_only) {
		log_warnx("wg(8) set refused: the control server configures this interface");
		uapi_conn_reply_errno(c, -EPERM);
		uapi_device_config_free(req->config);
		req->config = NULL;
		return;
	}
	r = uapi_do_set(c, req->config);
	if (r < 0)
		log_warnx("wg(8) set failed: %s", strerror(-r));
	uapi_conn_reply_errno(c, r);
	uapi_device_config_free(req->config);
	req->config = NULL;
}

static void uapi_conn_read(struct bufferevent *bev, void *arg)
{
	struct uapi_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->closing) {
		struct uapi_request req = { 0 };
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		int r;

		if (line == NULL) {
			/* No complete line: refuse to buffer more than one line's worth. */
			if (evbuffer_get_length(in) > UAPI_LINE_MAX + 1)
				uapi_conn_fail(c, -EMSGSIZE);
			break;
		}
		r = uapi_parser_line(c->parser, line, len, &req);
		mem_wipe(line, len);
		free(line);
		if (r < 0)
			uapi_conn_fail(c, r);
		else if (r == UAPI_DONE)
			uapi_conn_request(c, &req);
	}
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		uapi_conn_free(c);
}

static void uapi_conn_write(struct bufferevent *bev, void *arg)
{
	struct uapi_conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		uapi_conn_free(c);
}

static void uapi_conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		uapi_conn_free(arg);
}

static void uapi_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			int socklen, void *arg)
{
	struct uapi_server *s = arg;
	struct uapi_conn *c = calloc(1, sizeof(*c));

	(void)l;
	(void)sa;
	(void)socklen;
	if (c == NULL || uapi_parser_new(&c->parser) < 0) {
		free(c);
		close(fd);
		return;
	}
	c->srv = s;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		uapi_parser_free(c->parser);
		free(c);
		close(fd);
		return;
	}
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	bufferevent_setcb(c->bev, uapi_conn_read, uapi_conn_write, uapi_conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- listener ------------------------------------------------------------------------- */

/* A socket file that nobody answers on is stale (a crashed daemon): remove it. */
static int uapi_claim_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, r;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int uapi_server_new(struct event_base *base, struct engine *e, const char *ifname, bool read_only,
		    struct uapi_server **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct uapi_server *s;
	mode_t old;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->engine = e;
	s->read_only = read_only;
	if (snprintf(s->path, sizeof(s->path), "%s/%s.sock", UAPI_SOCKET_DIR, ifname) >=
	    (int)sizeof(s->path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	r = atomicfile_mkdirs(UAPI_SOCKET_DIR, 0755);
	if (r == 0)
		r = uapi_claim_path(s->path);
	if (r < 0) {
		free(s);
		return r;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	/* Only root may configure the interface: the socket is created 0600. */
	old = umask(0077);
	s->listener = evconnlistener_new_bind(base, uapi_accept, s,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					      (struct sockaddr *)&sun, sizeof(sun));
	r = s->listener == NULL ? -errno : 0;
	umask(old);
	if (r < 0) {
		free(s);
		return r != 0 ? r : -EIO;
	}
	*out = s;
	return 0;
}

void uapi_server_free(struct uapi_server *s)
{
	if (s == NULL)
		return;
	while (s->conns != NULL)
		uapi_conn_free(s->conns);
	evconnlistener_free(s->listener);
	unlink(s->path);
	free(s);
}

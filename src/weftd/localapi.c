/* SPDX-License-Identifier: ISC */
/* localapi: HTTP routes over the unix socket onto the backend (see localapi.h). */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "core/atomicfile.h"
#include "core/log.h"
#include "core/numparse.h"
#include "dns/dnsmsg.h"
#include "weft/localapi.h"
#include "weftd/backend.h"
#include "weftd/localapi.h"

#define LOCALAPI_BODY_MAX (1 << 20)

struct localapi {
	struct evhttp *http;
	struct backend *be;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct localapi_pending *pending; /* requests answered later (watch, ping) */
};

/* A request whose answer outlives its handler: watch streams and pings. */
struct localapi_pending {
	struct localapi *la;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct backend_watcher *watcher;
	struct backend_ping *ping;
	struct dnsd_query *dns;
	struct dnsmsg_question dnsq;
	struct localapi_pending *prev, *next;
};

enum localapi_perm {
	LA_READ,
	LA_WRITE,
};

struct localapi_ctx {
	struct localapi *la;
	struct evhttp_request *req;
	const char *path;   /* without the query */
	const char *suffix; /* what follows a prefix route */
	struct evkeyvalq query;
	json_t *body;
};

/* ---- replies -------------------------------------------------------------------------- */

static void la_reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *buf = evbuffer_new();
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (buf != NULL && text != NULL)
		evbuffer_add_printf(buf, "%s\n", text);
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", buf);
	if (buf != NULL)
		evbuffer_free(buf);
	free(text);
}

static void la_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void la_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j = json_pack("{s:s}", "error", msg);
	la_reply_json(req, code, j);
	json_decref(j);
}

static void la_reply_take(struct evhttp_request *req, json_t *j)
{
	if (j == NULL) {
		la_reply_error(req, 500, "out of memory");
		return;
	}
	la_reply_json(req, 200, j);
	json_decref(j);
}

static void la_reply_result(struct evhttp_request *req, int r, const char *err)
{
	if (r == 0) {
		evhttp_send_reply(req, 204, "No Content", NULL);
		return;
	}
	la_reply_error(req, r == -ENOENT ? 404 : r == -ENOMEM ? 500 : 400, "%s",
		       err[0] != '\0' ? err : strerror(-r));
}

/* ---- pending requests ----------------------------------------------------------------- */

static void la_pending_unlink(struct localapi_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		p->la->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
}

/* Ends a pending request: either the client went away or the answer is complete. */
static void la_pending_free(struct localapi_pending *p)
{
	if (p->watcher != NULL)
		backend_unwatch(p->la->be, p->watcher);
	if (p->ping != NULL)
		backend_ping_cancel(p->la->be, p->ping);
	if (p->dns != NULL)
		backend_dns_query_cancel(p->la->be, p->dns);
	evhttp_connection_set_closecb(p->conn, NULL, NULL);
	la_pending_unlink(p);
	free(p);
}

static void la_pending_closed(struct evhttp_connection *conn, void *arg)
{
	struct localapi_pending *p = arg;
	struct evhttp_request *req = p->req;

	(void)conn;
	la_pending_free(p);
	/*
	 * A client that hangs up before the answer is complete (a watch stream, a
	 * ping) leaves the request detached from its connection: libevent 2.1 then
	 * frees it only when the answer is finished, which it never will be.
	 */
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

static struct localapi_pending *la_pending_new(struct localapi *la, struct evhttp_request *req)
{
	struct localapi_pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->la = la;
	p->req = req;
	p->conn = evhttp_request_get_connection(req);
	p->next = la->pending;
	if (la->pending != NULL)
		la->pending->prev = p;
	la->pending = p;
	/* If the client hangs up first, we must forget req (and free it: see above). */
	evhttp_connection_set_closecb(p->conn, la_pending_closed, p);
	return p;
}

/* ---- handlers ------------------------------------------------------------------------- */

static const char *la_q(struct localapi_ctx *c, const char *key)
{
	return evhttp_find_header(&c->query, key);
}

static void h_status(struct localapi_ctx *c)
{
	const char *peers = la_q(c, "peers");
	bool want = true;

	if (peers != NULL && numparse_bool(peers, &want) < 0) {
		la_reply_error(c->req, 400, "peers=`%.20s': want true or false", peers);
		return;
	}
	la_reply_take(c->req, backend_status(c->la->be, want));
}

static void h_prefs(struct localapi_ctx *c)
{
	char err[256] = "";
	int r;

	if (evhttp_request_get_command(c->req) == EVHTTP_REQ_GET) {
		la_reply_take(c->req, backend_prefs(c->la->be));
		return;
	}
	r = backend_patch_prefs(c->la->be, c->body, err, sizeof(err));
	if (r < 0) {
		la_reply_result(c->req, r, err);
		return;
	}
	la_reply_take(c->req, backend_prefs(c->la->be));
}

static void h_start(struct localapi_ctx *c)
{
	char err[256] = "";
	json_t *prefs = c->body != NULL ? json_object_get(c->body, "UpdatePrefs") : NULL;
	const char *key = c->body != NULL ? json_string_value(json_object_get(c->body, "AuthKey"))
					  : NULL;
	const char *k;
	json_t *v;

	if (c->body != NULL) {
		json_object_foreach(c->body, k, v) {
			if (strcmp(k, "UpdatePrefs") != 0 && strcmp(k, "AuthKey") != 0) {
				la_reply_error(c->req, 400, "start: unknown field `%.40s'", k);
				return;
			}
		}
	}
	la_reply_result(c->req, backend_start(c->la->be, prefs, key, err, sizeof(err)), err);
}

static void h_login(struct localapi_ctx *c)
{
	char err[256] = "";

	la_reply_result(c->req, backend_login_interactive(c->la->be, err, sizeof(err)), err);
}

static void h_logout(struct localapi_ctx *c)
{
	char err[256] = "";

	la_reply_result(c->req, backend_logout(c->la->be, err, sizeof(err)), err);
}

static void la_watch_notify(void *arg, json_t *n)
{
	struct localapi_pending *p = arg;
	struct evbuffer *buf = evbuffer_new();
	char *text = json_dumps(n, JSON_COMPACT);

	if (buf != NULL && text != NULL) {
		evbuffer_add_printf(buf, "%s\n", text);
		evhttp_send_reply_chunk(p->req, buf);
	}
	if (buf != NULL)
		evbuffer_free(buf);
	free(text);
}

static void h_watch(struct localapi_ctx *c)
{
	struct localapi_pending *p = la_pending_new(c->la, c->req);

	if (p == NULL) {
		la_reply_error(c->req, 500, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type",
			  "application/json");
	evhttp_send_reply_start(c->req, 200, "OK");
	p->watcher = backend_watch(c->la->be, la_watch_notify, p);
	if (p->watcher == NULL) {
		evhttp_send_reply_end(c->req);
		la_pending_free(p);
	}
}

static int la_parse_addr(const char *s, struct netaddr *a)
{
	struct netendpoint ep;

	if (s == NULL)
		return -EINVAL;
	if (netaddr_parse(s, a) == 0)
		return 0;
	if (netendpoint_parse(s, &ep) == 0) {
		*a = ep.addr;
		return 0;
	}
	return -EINVAL;
}

static void h_whois(struct localapi_ctx *c)
{
	const char *addr = la_q(c, "addr");
	struct netaddr a;
	json_t *j;

	if (la_parse_addr(addr, &a) < 0) {
		la_reply_error(c->req, 400, "whois: addr=`%.60s' is not an IP or IP:PORT",
			       addr != NULL ? addr : "");
		return;
	}
	if (backend_whois(c->la->be, &a, &j) < 0) {
		la_reply_error(c->req, 404, "no peer has %.60s", addr);
		return;
	}
	la_reply_take(c->req, j);
}

static void la_ping_done(void *arg, json_t *result)
{
	struct localapi_pending *p = arg;

	p->ping = NULL; /* the backend is done with it */
	la_reply_json(p->req, 200, result);
	la_pending_free(p);
}

static void h_ping(struct localapi_ctx *c)
{
	const char *ip = la_q(c, "ip"), *type = la_q(c, "type"), *to = la_q(c, "timeout");
	struct localapi_pending *p;
	uint64_t timeout = 5 * 1000000000ULL;
	struct netaddr a;
	int r;

	if (ip == NULL || netaddr_parse(ip, &a) < 0) {
		la_reply_error(c->req, 400, "ping: ip=`%.60s' is not an IP address", ip ? ip : "");
		return;
	}
	if (type != NULL && strcmp(type, "disco") != 0 && strcmp(type, "icmp") != 0 &&
	    strcmp(type, "TSMP") != 0) {
		la_reply_error(c->req, 400, "ping: type=`%.20s': want disco, icmp or TSMP", type);
		return;
	}
	if (to != NULL && (numparse_duration_ns(to, &timeout) < 0 || timeout == 0 ||
			   timeout > 3600ULL * 1000000000ULL)) {
		la_reply_error(c->req, 400, "ping: timeout=`%.20s': want a duration like 5s", to);
		return;
	}
	p = la_pending_new(c->la, c->req);
	if (p == NULL) {
		la_reply_error(c->req, 500, "out of memory");
		return;
	}
	r = backend_ping_start(c->la->be, &a, timeout, la_ping_done, p, &p->ping);
	if (r < 0) {
		/* A ping that cannot start still answers 200 with Err, as Tailscale's does. */
		json_t *j = json_pack("{s:s, s:s}", "IP", ip, "Err",
				      r == -ENOENT ? "no peer has this address"
				      : r == -EAFNOSUPPORT ? "this node has no address of that family"
				      : strerror(-r));
		la_pending_free(p);
		la_reply_take(c->req, j);
	}
}

static void h_profiles(struct localapi_ctx *c)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
	char err[256] = "";

	if (m == EVHTTP_REQ_GET && c->suffix[0] == '\0') {
		la_reply_take(c->req, backend_profiles(c->la->be));
	} else if (m == EVHTTP_REQ_GET && strcmp(c->suffix, "current") == 0) {
		la_reply_take(c->req, backend_profile_current(c->la->be));
	} else if (m == EVHTTP_REQ_PUT && c->suffix[0] == '\0') {
		la_reply_result(c->req, backend_profile_new(c->la->be, err, sizeof(err)), err);
	} else if (m == EVHTTP_REQ_POST && c->suffix[0] != '\0') {
		la_reply_result(c->req,
				backend_profile_switch(c->la->be, c->suffix, err, sizeof(err)), err);
	} else if (m == EVHTTP_REQ_DELETE && c->suffix[0] != '\0') {
		la_reply_result(c->req,
				backend_profile_delete(c->la->be, c->suffix, err, sizeof(err)), err);
	} else {
		la_reply_error(c->req, 405, "profiles: method not allowed here");
	}
}

static void h_netmap(struct localapi_ctx *c)
{
	la_reply_take(c->req, backend_netmap(c->la->be));
}

static void h_counters(struct localapi_ctx *c)
{
	la_reply_take(c->req, backend_counters(c->la->be));
}

static void h_dns_status(struct localapi_ctx *c)
{
	la_reply_take(c->req, backend_dns_status(c->la->be));
}

static void la_dns_done(void *arg, const uint8_t *msg, size_t len)
{
	struct localapi_pending *p = arg;

	p->dns = NULL; /* the resolver is done with it */
	la_reply_take(p->req, backend_dns_answer(p->la->be, &p->dnsq, msg, len));
	la_pending_free(p);
}

static void h_dns_query(struct localapi_ctx *c)
{
	struct localapi_pending *p;
	struct dnsmsg_question q;
	char err[256] = "";
	int r;

	r = backend_dns_question(la_q(c, "name"), la_q(c, "type"), &q, err, sizeof(err));
	if (r < 0) {
		la_reply_error(c->req, 400, "%s", err);
		return;
	}
	p = la_pending_new(c->la, c->req);
	if (p == NULL) {
		la_reply_error(c->req, 500, "out of memory");
		return;
	}
	p->dnsq = q;
	/* The answer may come before this returns (a tailnet name): p is gone then. */
	r = backend_dns_query(c->la->be, &q, la_dns_done, p, &p->dns);
	if (r < 0) {
		la_pending_free(p);
		la_reply_error(c->req, 500, "dns-query: %s", strerror(-r));
	}
}

static void h_netcheck(struct localapi_ctx *c)
{
	la_reply_take(c->req, backend_netcheck(c->la->be));
}

static void h_filter(struct localapi_ctx *c)
{
	la_reply_take(c->req, backend_filter(c->la->be));
}

/* ---- routing -------------------------------------------------------------------------- */

#define M_GET (1U << 0)
#define M_POST (1U << 1)
#define M_PATCH (1U << 2)
#define M_PUT (1U << 3)
#define M_DELETE (1U << 4)

struct la_route {
	const char *path;
	bool prefix;
	unsigned methods;
	unsigned write_methods; /* those that need root or the operator */
	bool body;		/* reads a JSON body */
	void (*fn)(struct localapi_ctx *c);
};

static const struct la_route la_routes[] = {
	{ LOCALAPI_STATUS, false, M_GET, 0, false, h_status },
	{ LOCALAPI_PREFS, false, M_GET | M_PATCH, M_PATCH, true, h_prefs },
	{ LOCALAPI_START, false, M_POST, M_POST, true, h_start },
	{ LOCALAPI_LOGIN_INTERACTIVE, false, M_POST, M_POST, false, h_login },
	{ LOCALAPI_LOGOUT, false, M_POST, M_POST, false, h_logout },
	{ LOCALAPI_WATCH, false, M_GET, 0, false, h_watch },
	{ LOCALAPI_WHOIS, false, M_GET, 0, false, h_whois },
	{ LOCALAPI_PING, false, M_POST | M_GET, 0, false, h_ping },
	{ LOCALAPI_PROFILES, true, M_GET | M_POST | M_PUT | M_DELETE, M_POST | M_PUT | M_DELETE,
	  false, h_profiles },
	{ LOCALAPI_NETMAP, false, M_GET, 0, false, h_netmap },
	{ LOCALAPI_COUNTERS, false, M_GET, 0, false, h_counters },
	{ LOCALAPI_DNS_STATUS, false, M_GET, 0, false, h_dns_status },
	{ LOCALAPI_DNS_QUERY, false, M_GET | M_POST, 0, false, h_dns_query },
	{ LOCALAPI_NETCHECK, false, M_GET, 0, false, h_netcheck },
	{ LOCALAPI_FILTER, false, M_GET, 0, false, h_filter },
};

static unsigned la_method_bit(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return M_GET;
	case EVHTTP_REQ_POST:
		return M_POST;
	case EVHTTP_REQ_PATCH:
		return M_PATCH;
	case EVHTTP_REQ_PUT:
		return M_PUT;
	case EVHTTP_REQ_DELETE:
		return M_DELETE;
	case EVHTTP_REQ_HEAD:
	case EVHTTP_REQ_OPTIONS:
	case EVHTTP_REQ_TRACE:
	case EVHTTP_REQ_CONNECT:
		break;
	}
	return 0;
}

/* Root and the operator may change things; the caller's uid comes from SO_PEERCRED. */
static bool la_may_write(struct localapi *la, struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t op;

	if (bev == NULL ||
	    getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0)
		return true;
	op = backend_operator_uid(la->be);
	return op != (uid_t)-1 && cred.uid == op;
}

static json_t *la_read_body(struct evhttp_request *req, int *code, char *err, size_t errlen)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t je;
	json_t *j;

	if (len == 0)
		return NULL;
	if (len > LOCALAPI_BODY_MAX) {
		*code = 413;
		snprintf(err, errlen, "request body over %d bytes", LOCALAPI_BODY_MAX);
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j)) {
		*code = 400;
		snprintf(err, errlen, "request body: %s", j == NULL ? je.text : "want a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

static void la_dispatch(struct evhttp_request *req, void *arg)
{
	struct localapi *la = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri), *q = evhttp_uri_get_query(uri);
	unsigned m = la_method_bit(evhttp_request_get_command(req));
	struct localapi_ctx c = { .la = la, .req = req };
	char err[256];
	int code = 0;

	TAILQ_INIT(&c.query);
	if (path == NULL) {
		la_reply_error(req, 400, "bad request path");
		return;
	}
	for (size_t i = 0; i < sizeof(la_routes) / sizeof(la_routes[0]); i++) {
		const struct la_route *rt = &la_routes[i];
		size_t plen = strlen(rt->path);
		if (rt->prefix ? strncmp(path, rt->path, plen) != 0 : strcmp(path, rt->path) != 0)
			continue;
		if (!(rt->methods & m)) {
			la_reply_error(req, 405, "%s: method not allowed", path);
			return;
		}
		if ((rt->write_methods & m) && !la_may_write(la, req)) {
			la_reply_error(req, 403,
				       "access denied: run as root, or let this user operate weft "
				       "with: weft set --operator=$USER");
			return;
		}
		if (q != NULL && evhttp_parse_query_str(q, &c.query) < 0) {
			la_reply_error(req, 400, "malformed query string");
			return;
		}
		if (rt->body) {
			c.body = la_read_body(req, &code, err, sizeof(err));
			if (code != 0) {
				la_reply_error(req, code, "%s", err);
				evhttp_clear_headers(&c.query);
				return;
			}
		}
		c.path = path;
		c.suffix = path + (rt->prefix ? plen : strlen(path));
		rt->fn(&c);
		json_decref(c.body);
		evhttp_clear_headers(&c.query);
		return;
	}
	la_reply_error(req, 404, "%s: no such local API endpoint", path);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static int la_claim(const char *path)
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
		return -EADDRINUSE; /* another weftd answers there */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int localapi_new(struct event_base *base, const char *path, struct backend *be,
		 struct localapi **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *l;
	struct localapi *la;
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int r;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	la = calloc(1, sizeof(*la));
	if (la == NULL)
		return -ENOMEM;
	la->be = be;
	snprintf(la->path, sizeof(la->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		r = atomicfile_mkdirs(dir, 0755);
		if (r < 0)
			goto fail;
	}
	r = la_claim(path);
	if (r < 0)
		goto fail;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	l = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				    64, (struct sockaddr *)&sun, sizeof(sun));
	if (l == NULL) {
		r = -errno != 0 ? -errno : -EIO;
		goto fail;
	}
	/* Anyone may connect and read; writes are checked per request (la_may_write). */
	if (chmod(path, 0666) < 0) {
		r = -errno;
		evconnlistener_free(l);
		goto fail;
	}
	la->http = evhttp_new(base);
	if (la->http == NULL || evhttp_bind_listener(la->http, l) == NULL) {
		evconnlistener_free(l);
		r = -ENOMEM;
		goto fail;
	}
	evhttp_set_max_body_size(la->http, LOCALAPI_BODY_MAX + 1);
	evhttp_set_allowed_methods(la->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
						     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(la->http, la_dispatch, la);
	*out = la;
	return 0;
fail:
	localapi_free(la);
	return r;
}

void localapi_free(struct localapi *la)
{
	if (la == NULL)
		return;
	while (la->pending != NULL)
		la_pending_free(la->pending);
	if (la->http != NULL) {
		evhttp_free(la->http);
		unlink(la->path);
	}
	free(la);
}

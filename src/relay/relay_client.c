/* SPDX-License-Identifier: ISC */
/* relay_client: a libevent relay connection with reconnects (see relay_client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/numparse.h"
#include "relay/relay_client.h"
#include "relay/relay_conn.h"

#define RC_HOST_MAX 256
#define RC_PATH_MAX 256
#define RC_STALE_CHECK_S 15
#define RC_CONNECT_TIMEOUT_S 10

struct relay_client {
	struct event_base *base;
	struct relay_client_config cfg;
	char host[RC_HOST_MAX];
	char path[RC_PATH_MAX];
	uint16_t port;
	bool tls, http;
	SSL_CTX *ssl_ctx;
	struct bufferevent *bev;
	struct relay_conn *conn;
	struct event *retry; /* reconnect timer */
	struct event *stale; /* keepalive watchdog */
	unsigned attempts;
	bool ready;
	bool in_cb;	   /* inside a user callback */
	bool free_pending; /* relay_client_free called from a callback */
	struct relay_client_stats st;
};

/* Splits "scheme://host:port/path". */
static int rc_parse_url(struct relay_client *rc, const char *url)
{
	const char *p, *hs, *he, *ps;
	uint64_t port;
	char portbuf[8];

	if (strncmp(url, "https://", 8) == 0) {
		rc->tls = rc->http = true;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		rc->http = true;
		p = url + 7;
	} else if (strncmp(url, "tcp://", 6) == 0) {
		p = url + 6;
	} else {
		return -EINVAL;
	}
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':')
			return -EINVAL;
		ps = he + 2;
	} else {
		hs = p;
		he = strchr(hs, ':');
		if (he == NULL)
			return -EINVAL;
		ps = he + 1;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof(rc->host))
		return -EINVAL;
	memcpy(rc->host, hs, (size_t)(he - hs));
	rc->host[he - hs] = '\0';
	const char *slash = strchr(ps, '/');
	size_t plen = slash != NULL ? (size_t)(slash - ps) : strlen(ps);
	if (plen == 0 || plen >= sizeof(portbuf))
		return -EINVAL;
	memcpy(portbuf, ps, plen);
	portbuf[plen] = '\0';
	if (numparse_u64(portbuf, 1, 65535, &port) != 0)
		return -EINVAL;
	rc->port = (uint16_t)port;
	if (slash != NULL) {
		if (strlen(slash) >= sizeof(rc->path) || !rc->http)
			return -EINVAL;
		snprintf(rc->path, sizeof(rc->path), "%s", slash);
	} else {
		snprintf(rc->path, sizeof(rc->path), "%s", RELAY_HTTP_PATH);
	}
	return 0;
}

static void rc_connect(struct relay_client *rc);

static void rc_close(struct relay_client *rc)
{
	if (rc->bev != NULL) {
		bufferevent_free(rc->bev);
		rc->bev = NULL;
	}
	relay_conn_free(rc->conn);
	rc->conn = NULL;
	rc->ready = false;
	if (rc->stale != NULL)
		event_del(rc->stale);
}

static void rc_schedule_retry(struct relay_client *rc)
{
	uint64_t ms = rc->cfg.backoff_min_ms;
	struct timeval tv;

	for (unsigned i = 0; i < rc->attempts && ms < rc->cfg.backoff_max_ms; i++)
		ms *= 2;
	if (ms > rc->cfg.backoff_max_ms)
		ms = rc->cfg.backoff_max_ms;
	/* 75-125% of the delay, so a restarted relay is not hit by every client at once. */
	ms = ms * 3 / 4 + randombytes_uniform((uint32_t)(ms / 2 + 1));
	rc->attempts++;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(rc->retry, &tv);
}

/*
 * Ends the connection; calls back; reconnects later unless told not to.
 * Returns true when the callback freed the client (the caller must not touch it).
 */
static bool rc_fail(struct relay_client *rc, const char *why)
{
	bool was = rc->bev != NULL;

	rc_close(rc);
	if (!was)
		return false;
	rc->st.disconnects++;
	if (rc->cfg.cbs.disconnected != NULL) {
		rc->in_cb = true;
		rc->cfg.cbs.disconnected(rc->cfg.arg, why);
		rc->in_cb = false;
		if (rc->free_pending) {
			relay_client_free(rc);
			return true;
		}
	}
	if (!rc->cfg.no_reconnect)
		rc_schedule_retry(rc);
	return false;
}

static void rc_flush_conn(struct relay_client *rc)
{
	size_t n;
	const uint8_t *o = relay_conn_output(rc->conn, &n);

	if (n > 0) {
		bufferevent_write(rc->bev, o, n);
		relay_conn_output_consume(rc->conn, n);
	}
}

/* Runs one callback; returns false when the client was freed or closed from it. */
static bool rc_event(struct relay_client *rc, const struct relay_event *ev)
{
	const struct relay_client_cbs *cb = &rc->cfg.cbs;
	struct bufferevent *bev = rc->bev;

	rc->in_cb = true;
	switch (ev->type) {
	case RELAY_EV_READY:
		rc->ready = true;
		rc->attempts = 0;
		rc->st.ready++;
		if (rc->cfg.watch) {
			uint8_t f[RELAY_SMALL_FRAME_MAX];
			bufferevent_write(rc->bev, f,
					  relay_frame_empty(f, RELAY_FRAME_WATCH_CONNS));
		}
		if (cb->ready != NULL)
			cb->ready(rc->cfg.arg);
		break;
	case RELAY_EV_PACKET:
		rc->st.rx_packets++;
		rc->st.rx_bytes += ev->f.pkt_len;
		if (cb->packet != NULL)
			cb->packet(rc->cfg.arg, &ev->f.key, ev->f.pkt, ev->f.pkt_len);
		break;
	case RELAY_EV_PEER_GONE:
		if (cb->peer_gone != NULL)
			cb->peer_gone(rc->cfg.arg, &ev->f.key, ev->f.reason);
		break;
	case RELAY_EV_PEER_PRESENT:
		if (cb->peer_present != NULL)
			cb->peer_present(rc->cfg.arg, &ev->f.key, &ev->f.ep, ev->f.flags);
		break;
	case RELAY_EV_PONG:
		if (cb->pong != NULL)
			cb->pong(rc->cfg.arg, ev->f.ping);
		break;
	case RELAY_EV_HEALTH:
		if (cb->health != NULL)
			cb->health(rc->cfg.arg, (const char *)ev->f.payload, ev->f.len);
		break;
	case RELAY_EV_RESTARTING:
		/* Reconnect after the announced delay, trying from the first step again. */
		rc->attempts = 0;
		break;
	case RELAY_EV_KEEPALIVE:
	case RELAY_EV_NONE:
	case RELAY_EV_ERROR:
		break;
	}
	rc->in_cb = false;
	return !rc->free_pending && rc->bev == bev;
}

static void rc_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay_client *rc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t now = clock_mono_ns();

	while (rc->bev != NULL && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		struct relay_event ev;
		size_t used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		relay_conn_feed(rc->conn, v.iov_base, v.iov_len, now, &used, &ev);
		if (ev.type == RELAY_EV_ERROR) {
			char why[96];
			rc->st.proto_errors++;
			snprintf(why, sizeof(why), "protocol error: %s%s%.0d",
				 relay_verdict_name(ev.verdict), ev.http_status ? " http " : "",
				 ev.http_status);
			(void)rc_fail(rc, why);
			return;
		}
		if (!rc_event(rc, &ev)) {
			if (rc->free_pending)
				relay_client_free(rc);
			return;
		}
		evbuffer_drain(in, used);
		rc_flush_conn(rc);
		if (used == 0 && ev.type == RELAY_EV_NONE)
			break;
	}
}

static void rc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay_client *rc = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_set_timeouts(rc->bev, NULL, NULL);
		rc_flush_conn(rc);
		return;
	}
	if (what & BEV_EVENT_EOF)
		(void)rc_fail(rc, "connection closed by the relay");
	else if (what & BEV_EVENT_TIMEOUT)
		(void)rc_fail(rc, "timed out");
	else if (what & BEV_EVENT_ERROR) {
		char why[160];
		unsigned long e = bufferevent_get_openssl_error(bev);
		int dns = bufferevent_socket_get_dns_error(bev);
		if (e != 0)
			snprintf(why, sizeof(why), "tls: %s", ERR_reason_error_string(e));
		else if (dns != 0)
			snprintf(why, sizeof(why), "dns: %s", evutil_gai_strerror(dns));
		else
			snprintf(why, sizeof(why), "%s", strerror(EVUTIL_SOCKET_ERROR()));
		(void)rc_fail(rc, why);
	}
}

static void rc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rc_connect(arg);
}

static void rc_stale_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_client *rc = arg;

	(void)fd;
	(void)what;
	if (rc->conn != NULL && rc->ready && relay_conn_is_stale(rc->conn, clock_mono_ns()))
		(void)rc_fail(rc, "no keepalive from the relay");
}

static void rc_connect(struct relay_client *rc)
{
	struct relay_conn_config cc;
	struct timeval tmo = { RC_CONNECT_TIMEOUT_S, 0 }, stale = { RC_STALE_CHECK_S, 0 };
	struct netaddr a;
	int r;

	rc_close(rc);
	rc->st.connects++;
	memset(&cc, 0, sizeof(cc));
	cc.key = rc->cfg.key;
	cc.mesh = rc->cfg.mesh;
	memcpy(cc.mesh_key, rc->cfg.mesh_key, KEY_LEN);
	cc.flags = rc->cfg.flags;
	cc.http = rc->http;
	cc.host = rc->host;
	cc.path = rc->path;
	r = relay_conn_new(&cc, &rc->conn);
	mem_wipe(&cc, sizeof(cc));
	if (r != 0)
		goto fail;
	if (relay_conn_start(rc->conn, clock_mono_ns()) != 0)
		goto fail;
	if (rc->tls) {
		SSL *ssl = SSL_new(rc->ssl_ctx);
		if (ssl == NULL)
			goto fail;
		if (netaddr_parse(rc->host, &a) != 0)
			SSL_set_tlsext_host_name(ssl, rc->host);
		if (!rc->cfg.insecure) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
			if (netaddr_parse(rc->host, &a) == 0)
				X509_VERIFY_PARAM_set1_ip_asc(vp, rc->host);
			else
				X509_VERIFY_PARAM_set1_host(vp, rc->host, 0);
		}
		rc->bev = bufferevent_openssl_socket_new(
			rc->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (rc->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
	} else {
		rc->bev = bufferevent_socket_new(rc->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (rc->bev == NULL)
			goto fail;
	}
	bufferevent_setcb(rc->bev, rc_read_cb, NULL, rc_event_cb, rc);
	bufferevent_set_max_single_read(rc->bev, 128 * 1024);
	bufferevent_set_max_single_write(rc->bev, 128 * 1024);
	bufferevent_set_timeouts(rc->bev, &tmo, &tmo);
	bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	if (netaddr_parse(rc->host, &a) == 0) {
		struct netendpoint ep = { .addr = a, .port = rc->port };
		struct sockaddr_storage ss;
		socklen_t sl = netendpoint_to_sockaddr(&ep, &ss);
		r = bufferevent_socket_connect(rc->bev, (struct sockaddr *)&ss, (int)sl);
	} else if (rc->cfg.dns != NULL) {
		r = bufferevent_socket_connect_hostname(rc->bev, rc->cfg.dns, AF_UNSPEC, rc->host,
							rc->port);
	} else {
		r = -1;
	}
	if (r != 0) {
		(void)rc_fail(rc, "connect failed");
		return;
	}
	evtimer_add(rc->stale, &stale);
	return;
fail:
	rc_close(rc);
	if (!rc->cfg.no_reconnect)
		rc_schedule_retry(rc);
}

int relay_client_new(struct event_base *base, const struct relay_client_config *cfg,
		     struct relay_client **out)
{
	struct relay_client *rc;
	int r = -ENOMEM;

	*out = NULL;
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return -ENOMEM;
	rc->base = base;
	rc->cfg = *cfg;
	rc->cfg.url = NULL;
	rc->cfg.ca_file = NULL;
	if (rc->cfg.backoff_min_ms == 0)
		rc->cfg.backoff_min_ms = 100;
	if (rc->cfg.backoff_max_ms < rc->cfg.backoff_min_ms)
		rc->cfg.backoff_max_ms =
			rc->cfg.backoff_min_ms > 5000 ? rc->cfg.backoff_min_ms : 5000;
	if (rc->cfg.out_max == 0)
		rc->cfg.out_max = 1 << 20;
	r = rc_parse_url(rc, cfg->url);
	if (r != 0)
		goto fail;
	if (rc->tls) {
		r = -EINVAL;
		rc->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (rc->ssl_ctx == NULL)
			goto fail;
		SSL_CTX_set_min_proto_version(rc->ssl_ctx, TLS1_2_VERSION);
		if (!cfg->insecure) {
			SSL_CTX_set_verify(rc->ssl_ctx, SSL_VERIFY_PEER, NULL);
			if ((cfg->ca_file != NULL &&
			     SSL_CTX_load_verify_locations(rc->ssl_ctx, cfg->ca_file, NULL) != 1) ||
			    (cfg->ca_file == NULL &&
			     SSL_CTX_set_default_verify_paths(rc->ssl_ctx) != 1))
				goto fail;
		}
	}
	r = -ENOMEM;
	rc->retry = evtimer_new(base, rc_retry_cb, rc);
	rc->stale = event_new(base, -1, EV_PERSIST, rc_stale_cb, rc);
	if (rc->retry == NULL || rc->stale == NULL)
		goto fail;
	*out = rc;
	return 0;
fail:
	relay_client_free(rc);
	return r;
}

int relay_client_start(struct relay_client *rc)
{
	rc_connect(rc);
	return 0;
}

void relay_client_free(struct relay_client *rc)
{
	if (rc == NULL)
		return;
	if (rc->in_cb) {
		rc->free_pending = true; /* freed when the callback returns */
		return;
	}
	rc_close(rc);
	if (rc->retry != NULL)
		event_free(rc->retry);
	if (rc->stale != NULL)
		event_free(rc->stale);
	SSL_CTX_free(rc->ssl_ctx);
	mem_wipe(rc, sizeof(*rc));
	free(rc);
}

bool relay_client_is_ready(const struct relay_client *rc)
{
	return rc->ready;
}

void relay_client_server_key(const struct relay_client *rc, struct relay_public *out)
{
	if (rc->conn != NULL)
		*out = rc->conn->server;
	else
		memset(out, 0, sizeof(*out));
}

static int rc_can_send(struct relay_client *rc, size_t n)
{
	if (!rc->ready || rc->bev == NULL) {
		rc->st.tx_dropped_down++;
		return -ENOTCONN;
	}
	if (n == 0 || n > RELAY_PACKET_MAX)
		return -EMSGSIZE;
	if (evbuffer_get_length(bufferevent_get_output(rc->bev)) > rc->cfg.out_max) {
		rc->st.tx_dropped_busy++;
		return -ENOBUFS;
	}
	return 0;
}

int relay_client_send(struct relay_client *rc, const struct node_public *dst, const uint8_t *p,
		      size_t n)
{
	uint8_t head[RELAY_SEND_HEAD_LEN];
	struct evbuffer *out;
	int r = rc_can_send(rc, n);

	if (r != 0)
		return r;
	relay_frame_packet_head(head, RELAY_FRAME_SEND_PACKET, dst, n);
	out = bufferevent_get_output(rc->bev);
	if (evbuffer_add(out, head, sizeof(head)) != 0 || evbuffer_add(out, p, n) != 0)
		return -ENOMEM;
	rc->st.tx_packets++;
	rc->st.tx_bytes += n;
	return 0;
}

int relay_client_forward(struct relay_client *rc, const struct node_public *src,
			 const struct node_public *dst, const uint8_t *p, size_t n)
{
	uint8_t head[RELAY_FORWARD_HEAD_LEN];
	struct evbuffer *out;
	int r = rc_can_send(rc, n);

	if (r != 0)
		return r;
	relay_frame_forward_head(head, src, dst, n);
	out = bufferevent_get_output(rc->bev);
	if (evbuffer_add(out, head, sizeof(head)) != 0 || evbuffer_add(out, p, n) != 0)
		return -ENOMEM;
	rc->st.tx_packets++;
	rc->st.tx_bytes += n;
	return 0;
}

int relay_client_note_preferred(struct relay_client *rc, bool preferred)
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];

	if (!rc->ready)
		return -ENOTCONN;
	return bufferevent_write(rc->bev, f, relay_frame_note_preferred(f, preferred)) == 0 ?
		       0 :
		       -ENOMEM;
}

int relay_client_ping(struct relay_client *rc, const uint8_t data[static RELAY_PING_LEN])
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];

	if (!rc->ready)
		return -ENOTCONN;
	return bufferevent_write(rc->bev, f, relay_frame_ping(f, RELAY_FRAME_PING, data)) == 0 ?
		       0 :
		       -ENOMEM;
}

size_t relay_client_queued(const struct relay_client *rc)
{
	return rc->bev != NULL ? evbuffer_get_length(bufferevent_get_output(rc->bev)) : 0;
}

void relay_client_stats(const struct relay_client *rc, struct relay_client_stats *out)
{
	*out = rc->st;
}

/* SPDX-License-Identifier: ISC */
/* relay_conn: the client side of a relay connection, sans-I/O (see relay_conn.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "crypto/ct.h"
#include "relay/relay_conn.h"

#define RELAY_DEFAULT_KEEPALIVE_MS 60000

int relay_conn_new(const struct relay_conn_config *cfg, struct relay_conn **out)
{
	struct relay_conn *c;
	int r;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->cfg = *cfg;
	c->cfg.host = NULL; /* borrowed: only used in relay_conn_start */
	c->cfg.path = NULL;
	if (node_private_public(&c->pub, &cfg->key) != 0) {
		relay_conn_free(c);
		return -EINVAL;
	}
	r = relay_decoder_init(&c->dec, RELAY_ROLE_CLIENT);
	if (r != 0) {
		relay_conn_free(c);
		return r;
	}
	c->state = cfg->http ? RELAY_CONN_HTTP : RELAY_CONN_SERVER_KEY;
	if (cfg->http) {
		size_t n = relay_http_request((char *)c->out, sizeof(c->out),
					      cfg->host != NULL ? cfg->host : "relay",
					      cfg->path != NULL ? cfg->path : RELAY_HTTP_PATH);
		if (n == 0) {
			relay_conn_free(c);
			return -ENAMETOOLONG;
		}
		c->out_len = n;
	}
	*out = c;
	return 0;
}

void relay_conn_free(struct relay_conn *c)
{
	if (c == NULL)
		return;
	relay_decoder_fini(&c->dec);
	mem_wipe(c, sizeof(*c));
	free(c);
}

int relay_conn_start(struct relay_conn *c, uint64_t now_ns)
{
	c->last_rx_ns = now_ns;
	return c->state == RELAY_CONN_FAILED ? -EINVAL : 0;
}

static bool relay_conn_queue(struct relay_conn *c, const uint8_t *p, size_t n)
{
	if (sizeof(c->out) - c->out_len < n)
		return false;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return true;
}

static void relay_conn_fail(struct relay_conn *c, struct relay_event *ev, enum relay_verdict v)
{
	c->state = RELAY_CONN_FAILED;
	relay_count(&c->counters, v);
	ev->type = RELAY_EV_ERROR;
	ev->verdict = v;
}

/* One decoded frame: handshake steps, or an event once ready. */
static void relay_conn_frame(struct relay_conn *c, const struct relay_frame *f,
			     struct relay_event *ev)
{
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	uint8_t buf[RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_LEN];
	enum relay_verdict v;

	switch (c->state) {
	case RELAY_CONN_SERVER_KEY:
		v = relay_hs_server_key_read(f, &c->server, challenge);
		if (v == RELAY_OK && c->cfg.pin_server &&
		    !ct_memeq(c->server.b, c->cfg.server_pin.b, KEY_LEN))
			v = RELAY_E_KEY;
		if (v == RELAY_OK && relay_hs_client_info_write(
					     buf, &c->cfg.key, &c->server, challenge, c->cfg.flags,
					     c->cfg.mesh ? c->cfg.mesh_key : NULL, c->nonce) != 0)
			v = RELAY_E_KEY;
		if (v != RELAY_OK) {
			relay_conn_fail(c, ev, v);
			return;
		}
		(void)relay_conn_queue(c, buf, sizeof(buf));
		c->state = RELAY_CONN_SERVER_INFO;
		relay_count(&c->counters, RELAY_OK);
		return;
	case RELAY_CONN_SERVER_INFO:
		v = relay_hs_server_info_read(f, &c->cfg.key, &c->server, c->nonce, &c->params);
		if (v != RELAY_OK) {
			relay_conn_fail(c, ev, v);
			return;
		}
		c->state = RELAY_CONN_READY;
		relay_count(&c->counters, RELAY_OK);
		ev->type = RELAY_EV_READY;
		return;
	case RELAY_CONN_READY:
		break;
	case RELAY_CONN_HTTP:
	case RELAY_CONN_FAILED:
		relay_conn_fail(c, ev, RELAY_E_STATE);
		return;
	}
	relay_count(&c->counters, RELAY_OK);
	ev->f = *f;
	switch ((enum relay_frame_type)f->type) {
	case RELAY_FRAME_RECV_PACKET:
		ev->type = RELAY_EV_PACKET;
		return;
	case RELAY_FRAME_PEER_GONE:
		ev->type = RELAY_EV_PEER_GONE;
		return;
	case RELAY_FRAME_PEER_PRESENT:
		ev->type = RELAY_EV_PEER_PRESENT;
		return;
	case RELAY_FRAME_KEEPALIVE:
		ev->type = RELAY_EV_KEEPALIVE;
		return;
	case RELAY_FRAME_PING: {
		uint8_t pong[RELAY_SMALL_FRAME_MAX];
		size_t n = relay_frame_ping(pong, RELAY_FRAME_PONG, f->ping);
		if (relay_conn_queue(c, pong, n))
			c->pings_answered++;
		else
			c->pongs_dropped++;
		return; /* no event */
	}
	case RELAY_FRAME_PONG:
		ev->type = RELAY_EV_PONG;
		return;
	case RELAY_FRAME_HEALTH:
		ev->type = RELAY_EV_HEALTH;
		return;
	case RELAY_FRAME_RESTARTING:
		ev->type = RELAY_EV_RESTARTING;
		return;
	case RELAY_FRAME_SERVER_KEY:
	case RELAY_FRAME_SERVER_INFO:
	case RELAY_FRAME_CLIENT_INFO:
	case RELAY_FRAME_SEND_PACKET:
	case RELAY_FRAME_NOTE_PREFERRED:
	case RELAY_FRAME_FORWARD_PACKET:
	case RELAY_FRAME_WATCH_CONNS:
	case RELAY_FRAME_CLOSE_PEER:
		break;
	}
	relay_conn_fail(c, ev, RELAY_E_STATE);
}

void relay_conn_feed(struct relay_conn *c, const uint8_t *p, size_t n, uint64_t now_ns,
		     size_t *used, struct relay_event *ev)
{
	size_t off = 0;

	memset(ev, 0, sizeof(*ev));
	*used = 0;
	if (c->state == RELAY_CONN_FAILED) {
		ev->type = RELAY_EV_ERROR;
		ev->verdict = RELAY_E_STATE;
		return;
	}
	if (n > 0)
		c->last_rx_ns = now_ns;
	if (c->state == RELAY_CONN_HTTP) {
		size_t take = sizeof(c->http) - c->http_len, hused, prev = c->http_len;
		enum relay_verdict v;
		int status;
		if (take > n)
			take = n;
		memcpy(c->http + c->http_len, p, take);
		c->http_len += take;
		enum relay_dec_result r =
			relay_http_response_parse(c->http, c->http_len, &hused, &status, &v);
		if (r == RELAY_DEC_MORE) {
			*used = take;
			return;
		}
		if (r == RELAY_DEC_ERROR) {
			relay_conn_fail(c, ev, v);
			ev->http_status = status;
			*used = take;
			return;
		}
		off = hused - prev; /* the relay stream starts right after the blank line */
		c->state = RELAY_CONN_SERVER_KEY;
	}
	while (off < n) {
		struct relay_frame f;
		enum relay_verdict v;
		size_t u;
		enum relay_dec_result r = relay_decoder_feed(&c->dec, p + off, n - off, &u, &f, &v);
		off += u;
		if (r == RELAY_DEC_MORE)
			break;
		if (r == RELAY_DEC_ERROR) {
			relay_conn_fail(c, ev, v);
			break;
		}
		relay_conn_frame(c, &f, ev);
		if (ev->type != RELAY_EV_NONE)
			break;
	}
	*used = off;
}

const uint8_t *relay_conn_output(const struct relay_conn *c, size_t *len)
{
	*len = c->out_len;
	return c->out;
}

void relay_conn_output_consume(struct relay_conn *c, size_t n)
{
	if (n >= c->out_len) {
		c->out_len = 0;
		return;
	}
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
}

bool relay_conn_is_stale(const struct relay_conn *c, uint64_t now_ns)
{
	uint64_t ka =
		c->params.keepalive_ms != 0 ? c->params.keepalive_ms : RELAY_DEFAULT_KEEPALIVE_MS;
	return now_ns - c->last_rx_ns > 2 * ka * 1000000ULL;
}

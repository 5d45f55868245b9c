/* SPDX-License-Identifier: ISC */
/* relay_server: key-addressed forwarding over libevent, with mesh links (see relay_server.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <sodium.h>

#include "core/log.h"
#include "core/mem.h"
#include "crypto/keys.h"
#include "netmap/nmindex.h"
#include "relay/relay_client.h"
#include "relay/relay_server.h"

#define RS_OUT_HIGH (256 * 1024)      /* above this, packets for a client wait in its queues */
#define RS_OUT_LOW (64 * 1024)	      /* the write callback drains the queues below this */
#define RS_CTRL_MAX (4 * 1024 * 1024) /* control frames beyond this output are dropped */
#define RS_IO_CHUNK (128 * 1024)
#define RS_SENDERS 8	/* recent senders remembered per destination */
#define RS_GONE_RATE 1	/* "not here" notices per second per client ... */
#define RS_GONE_BURST 3 /* ... with this burst */

enum rs_state {
	RS_HANDSHAKE = 0,
	RS_READY,
};

enum { RS_Q_DISCO = 0, RS_Q_DATA = 1, RS_NQ = 2 };

struct rs_pkt {
	struct node_public src;
	uint32_t len;
	uint8_t data[];
};

struct rs_queue {
	struct rs_pkt **ring; /* allocated on first use */
	uint32_t head, n;
};

/* Keys that sent to a destination recently: they get PEER_GONE when it leaves. */
struct rs_senders {
	struct node_public k[RS_SENDERS];
	uint8_t n, next;
};

struct rs_client {
	struct relay_server *rs;
	TAILQ_ENTRY(rs_client) link;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* set when taken over from evhttp */
	struct event *timer;		 /* handshake deadline, then keepalives */
	struct netendpoint src;
	enum rs_state state;
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	struct node_public key;
	bool mesh, prober, watcher, preferred, listed;
	struct rs_client *dup_next; /* other connections with the same key (primary first) */
	struct rs_queue q[RS_NQ];
	struct rs_senders senders;
	double gone_tokens;
	uint64_t gone_last_ms;
};

/* A key reachable through one of our mesh links. */
struct rs_remote {
	struct node_public key;
	struct rs_mesh *via;
	struct rs_senders senders;
};

struct rs_mesh {
	struct relay_server *rs;
	struct relay_client *rc;
	char *url;
	bool up;
};

TAILQ_HEAD(rs_client_list, rs_client);

struct relay_server {
	struct event_base *base;
	struct relay_server_config cfg; /* cfg.key wiped: the key lives in `key` */
	struct relay_private *key;	/* sodium_malloc: guarded, locked, wiped on free */
	struct relay_public pub;
	struct nmindex clients; /* node key -> primary rs_client */
	struct nmindex remotes; /* node key -> rs_remote */
	struct rs_client_list all;
	struct rs_client_list watchers;
	struct rs_mesh *mesh;
	size_t n_mesh;
	struct ev_token_bucket_cfg *bucket;
	struct evconnlistener **listeners;
	size_t n_listeners;
	struct relay_server_counters c;
};

static void rs_client_close(struct rs_client *cl, const char *why);

static uint64_t rs_now_ms(struct relay_server *rs)
{
	struct timeval tv;

	event_base_gettimeofday_cached(rs->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void rs_key_fp(const struct node_public *k, char out[static KEY_FINGERPRINT_LEN])
{
	keys_fingerprint(k->b, out);
}

static void rs_senders_add(struct rs_senders *s, const struct node_public *k)
{
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp(s->k[i].b, k->b, KEY_LEN) == 0)
			return;
	s->k[s->next] = *k;
	s->next = (uint8_t)((s->next + 1) % RS_SENDERS);
	if (s->n < RS_SENDERS)
		s->n++;
}

/* Control frames bypass the packet queues but not a bound on the output. */
static bool rs_write_ctrl(struct rs_client *cl, const uint8_t *f, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	if (evbuffer_get_length(out) > RS_CTRL_MAX)
		return false;
	return evbuffer_add(out, f, n) == 0;
}

static void rs_write_packet(struct rs_client *cl, const struct node_public *src, const uint8_t *p,
			    size_t n)
{
	uint8_t head[RELAY_SEND_HEAD_LEN];
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	relay_frame_packet_head(head, RELAY_FRAME_RECV_PACKET, src, n);
	evbuffer_add(out, head, sizeof(head));
	evbuffer_add(out, p, n);
	cl->rs->c.packets_tx++;
	cl->rs->c.bytes_tx += n;
}

static void rs_queue_clear(struct rs_queue *q, size_t depth)
{
	if (q->ring == NULL)
		return;
	for (uint32_t i = 0; i < q->n; i++)
		free(q->ring[(q->head + i) % depth]);
	free(q->ring);
	q->ring = NULL;
	q->n = q->head = 0;
}

/* Writes queued packets, disco first, while the output has room. */
static void rs_drain(struct rs_client *cl)
{
	struct relay_server *rs = cl->rs;
	size_t depth = rs->cfg.queue_depth;
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	for (int qi = 0; qi < RS_NQ; qi++) {
		struct rs_queue *q = &cl->q[qi];
		while (q->n > 0 && evbuffer_get_length(out) < RS_OUT_HIGH) {
			struct rs_pkt *pk = q->ring[q->head];
			q->ring[q->head] = NULL;
			q->head = (uint32_t)((q->head + 1) % depth);
			q->n--;
			rs_write_packet(cl, &pk->src, pk->data, pk->len);
			free(pk);
		}
	}
}

/* Hands a packet to a local client: straight out if there is room, else queued. */
static void rs_deliver(struct rs_client *dst, const struct node_public *src, const uint8_t *p,
		       size_t n)
{
	struct relay_server *rs = dst->rs;
	size_t depth = rs->cfg.queue_depth;
	int qi = relay_is_disco(p, n) ? RS_Q_DISCO : RS_Q_DATA;
	struct rs_queue *q = &dst->q[qi];
	struct evbuffer *out = bufferevent_get_output(dst->bev);
	struct rs_pkt *pk;

	rs_senders_add(&dst->senders, src);
	if (dst->q[RS_Q_DISCO].n == 0 && dst->q[RS_Q_DATA].n == 0 &&
	    evbuffer_get_length(out) < RS_OUT_HIGH) {
		rs_write_packet(dst, src, p, n);
		return;
	}
	if (q->ring == NULL) {
		q->ring = calloc(depth, sizeof(*q->ring));
		if (q->ring == NULL) {
			rs->c.drop_queue_full++;
			return;
		}
	}
	if (q->n == depth) {
		/* Full: drop the oldest, fresher packets are worth more (DERP does the same). */
		free(q->ring[q->head]);
		q->ring[q->head] = NULL;
		q->head = (uint32_t)((q->head + 1) % depth);
		q->n--;
		rs->c.drop_queue_full++;
	}
	pk = malloc(sizeof(*pk) + n);
	if (pk == NULL) {
		rs->c.drop_queue_full++;
		return;
	}
	pk->src = *src;
	pk->len = (uint32_t)n;
	memcpy(pk->data, p, n);
	q->ring[(q->head + q->n) % depth] = pk;
	q->n++;
}

static void rs_send_gone(struct rs_client *to, const struct node_public *key, uint8_t reason)
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];

	if (rs_write_ctrl(to, f, relay_frame_peer_gone(f, key, reason)))
		to->rs->c.peer_gone_sent++;
}

/* "Not here" notices are rate-limited per client: an unknown key may be probed in a loop. */
static void rs_not_here(struct rs_client *cl, const struct node_public *dst)
{
	uint64_t now = rs_now_ms(cl->rs);

	cl->gone_tokens += (double)(now - cl->gone_last_ms) * RS_GONE_RATE / 1000.0;
	if (cl->gone_tokens > RS_GONE_BURST)
		cl->gone_tokens = RS_GONE_BURST;
	cl->gone_last_ms = now;
	if (cl->gone_tokens < 1.0) {
		cl->rs->c.peer_gone_limited++;
		return;
	}
	cl->gone_tokens -= 1.0;
	rs_send_gone(cl, dst, RELAY_GONE_NOT_HERE);
}

static void rs_notify_senders(struct relay_server *rs, const struct rs_senders *s,
			      const struct node_public *gone)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct rs_client *to = nmindex_get(&rs->clients, s->k[i].b, KEY_LEN);
		if (to != NULL)
			rs_send_gone(to, gone, RELAY_GONE_DISCONNECTED);
	}
}

static void rs_watchers_present(struct relay_server *rs, const struct rs_client *cl)
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];
	size_t n = relay_frame_peer_present(
		f, &cl->key, &cl->src, cl->prober ? RELAY_PRESENT_PROBER : RELAY_PRESENT_REGULAR);
	struct rs_client *w;

	TAILQ_FOREACH(w, &rs->watchers, link)
	(void)rs_write_ctrl(w, f, n);
}

static void rs_watchers_gone(struct relay_server *rs, const struct node_public *key)
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];
	size_t n = relay_frame_peer_gone(f, key, RELAY_GONE_DISCONNECTED);
	struct rs_client *w;

	TAILQ_FOREACH(w, &rs->watchers, link)
	(void)rs_write_ctrl(w, f, n);
}

/* ---- Mesh links (we are a client of the other relays) ---- */

static void rs_remote_drop(struct relay_server *rs, const struct node_public *key)
{
	struct rs_remote *r = nmindex_del(&rs->remotes, key->b, KEY_LEN);

	if (r == NULL)
		return;
	/* A local client with this key may have taken over; then it is not gone. */
	if (nmindex_get(&rs->clients, key->b, KEY_LEN) == NULL)
		rs_notify_senders(rs, &r->senders, key);
	free(r);
	rs->c.remote_peers--;
}

static void rs_mesh_present(void *arg, const struct node_public *key, const struct netendpoint *ep,
			    uint8_t flags)
{
	struct rs_mesh *m = arg;
	struct relay_server *rs = m->rs;
	struct rs_remote *r = nmindex_get(&rs->remotes, key->b, KEY_LEN);

	(void)ep;
	if (flags & RELAY_PRESENT_MESH)
		return;
	if (r != NULL) {
		r->via = m; /* moved between peers */
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	r->key = *key;
	r->via = m;
	if (nmindex_put(&rs->remotes, key->b, KEY_LEN, r) != 0) {
		free(r);
		return;
	}
	rs->c.remote_peers++;
}

static void rs_mesh_gone(void *arg, const struct node_public *key, uint8_t reason)
{
	struct rs_mesh *m = arg;
	struct rs_remote *r = nmindex_get(&m->rs->remotes, key->b, KEY_LEN);

	(void)reason;
	if (r != NULL && r->via == m)
		rs_remote_drop(m->rs, key);
}

/* Drops every remote key learnt through link m (it went down). */
static void rs_mesh_forget(struct rs_mesh *m)
{
	struct relay_server *rs = m->rs;
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; i < rs->remotes.cap; i++) {
			struct nmindex_slot *s = &rs->remotes.slots[i];
			struct rs_remote *r;
			if (s->hash == 0)
				continue;
			r = s->val;
			if (r->via == m) {
				struct node_public k = r->key;
				rs_remote_drop(rs, &k);
				again = true; /* deletion moves slots: rescan */
				break;
			}
		}
	}
}

static void rs_mesh_ready(void *arg)
{
	struct rs_mesh *m = arg;

	if (!m->up)
		m->rs->c.mesh_links_up++;
	m->up = true;
	log_info("mesh link up: peer=%s", m->url);
}

static void rs_mesh_down(void *arg, const char *why)
{
	struct rs_mesh *m = arg;

	if (m->up) {
		m->rs->c.mesh_links_up--;
		log_info("mesh link down: peer=%s why=\"%s\"", m->url, why);
	}
	m->up = false;
	rs_mesh_forget(m);
}

/* Packets the peer sends to our mesh client would be RECV_PACKETs: not used in a mesh. */
static void rs_mesh_packet(void *arg, const struct node_public *src, const uint8_t *p, size_t n)
{
	(void)arg;
	(void)src;
	(void)p;
	(void)n;
}

/* ---- Clients ---- */

/* Returns false when cl was closed. */
static bool rs_list(struct rs_client *cl)
{
	struct relay_server *rs = cl->rs;
	struct rs_client *old = nmindex_get(&rs->clients, cl->key.b, KEY_LEN);

	cl->listed = true;
	if (old != NULL) {
		uint8_t f[RELAY_SMALL_FRAME_MAX + 32];
		size_t n = relay_frame_health(f, sizeof(f), "duplicate connection");
		rs->c.dup_keys++;
		/* The newest connection receives; the older ones are told why they went quiet. */
		cl->dup_next = old;
		for (struct rs_client *d = old; d != NULL; d = d->dup_next)
			(void)rs_write_ctrl(d, f, n);
		(void)nmindex_del(&rs->clients, cl->key.b, KEY_LEN);
	}
	if (nmindex_put(&rs->clients, cl->key.b, KEY_LEN, cl) != 0) {
		cl->listed = false;
		rs_client_close(cl, "out of memory");
		return false;
	}
	if (old == NULL)
		rs_watchers_present(rs, cl);
	return true;
}

/* Makes cl the receiving connection for its key (last writer is active). */
static void rs_promote(struct rs_client *cl)
{
	struct relay_server *rs = cl->rs;
	struct rs_client *head = nmindex_get(&rs->clients, cl->key.b, KEY_LEN), **pp;

	if (head == cl || head == NULL)
		return;
	for (pp = &head->dup_next; *pp != NULL; pp = &(*pp)->dup_next) {
		if (*pp == cl) {
			*pp = cl->dup_next;
			break;
		}
	}
	cl->dup_next = head;
	(void)nmindex_del(&rs->clients, cl->key.b, KEY_LEN);
	/* put after del of the same key never needs memory: it reuses the slot count */
	if (nmindex_put(&rs->clients, cl->key.b, KEY_LEN, cl) != 0 &&
	    nmindex_put(&rs->clients, head->key.b, KEY_LEN, head) != 0)
		log_warnx("relay client table: lost a key");
}

static void rs_unlist(struct rs_client *cl)
{
	struct relay_server *rs = cl->rs;
	struct rs_client *head = nmindex_get(&rs->clients, cl->key.b, KEY_LEN), **pp;

	cl->listed = false;
	if (head == cl) {
		(void)nmindex_del(&rs->clients, cl->key.b, KEY_LEN);
		if (cl->dup_next != NULL) {
			if (nmindex_put(&rs->clients, cl->key.b, KEY_LEN, cl->dup_next) == 0)
				return; /* another connection carries the key on */
		}
		rs_notify_senders(rs, &cl->senders, &cl->key);
		rs_watchers_gone(rs, &cl->key);
		return;
	}
	for (pp = head != NULL ? &head->dup_next : NULL; pp != NULL && *pp != NULL;
	     pp = &(*pp)->dup_next) {
		if (*pp == cl) {
			*pp = cl->dup_next;
			break;
		}
	}
}

static void rs_evcon_closed(struct evhttp_connection *evcon, void *arg)
{
	struct rs_client *cl = arg;

	(void)evcon;
	/* evhttp is freeing the connection (evhttp_free): forget it, then close. */
	cl->evcon = NULL;
	cl->bev = NULL;
	rs_client_close(cl, "listener closed");
}

static void rs_client_close(struct rs_client *cl, const char *why)
{
	struct relay_server *rs = cl->rs;
	char fp[KEY_FINGERPRINT_LEN];

	if (cl->state == RS_READY) {
		rs_key_fp(&cl->key, fp);
		log_debug("client gone: key=%s mesh=%d why=\"%s\"", fp, cl->mesh, why);
	}
	if (cl->listed)
		rs_unlist(cl);
	if (cl->watcher)
		TAILQ_REMOVE(&rs->watchers, cl, link);
	else
		TAILQ_REMOVE(&rs->all, cl, link);
	if (cl->state == RS_READY) {
		if (cl->mesh)
			rs->c.mesh_conns--;
		else
			rs->c.clients--;
		if (cl->preferred)
			rs->c.preferred--;
	}
	for (int i = 0; i < RS_NQ; i++)
		rs_queue_clear(&cl->q[i], rs->cfg.queue_depth);
	if (cl->timer != NULL)
		event_free(cl->timer);
	if (cl->evcon != NULL) {
		evhttp_connection_set_closecb(cl->evcon, NULL, NULL);
		evhttp_connection_free(cl->evcon); /* frees the bufferevent too */
	} else if (cl->bev != NULL) {
		bufferevent_free(cl->bev);
	}
	mem_wipe(cl, sizeof(*cl));
	free(cl);
}

static void rs_arm_keepalive(struct rs_client *cl)
{
	uint32_t ms = cl->rs->cfg.keepalive_ms + randombytes_uniform(5000);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(cl->timer, &tv);
}

static void rs_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rs_client *cl = arg;
	uint8_t f[RELAY_SMALL_FRAME_MAX];

	(void)fd;
	(void)what;
	if (cl->state == RS_HANDSHAKE) {
		cl->rs->c.handshake_errors++;
		rs_client_close(cl, "handshake timeout");
		return;
	}
	if (rs_write_ctrl(cl, f, relay_frame_empty(f, RELAY_FRAME_KEEPALIVE)))
		cl->rs->c.keepalives++;
	rs_arm_keepalive(cl);
}

/* Returns false when cl was closed. */
static bool rs_handshake(struct rs_client *cl, const struct relay_frame *f)
{
	struct relay_server *rs = cl->rs;
	struct relay_client_info info;
	uint8_t nonce[RELAY_NONCE_LEN], out[RELAY_FRAME_HEADER_LEN + RELAY_SERVER_INFO_LEN];
	struct relay_server_params params = {
		.rate_bytes = rs->cfg.rate_bytes,
		.burst_bytes = rs->cfg.burst_bytes,
		.keepalive_ms = rs->cfg.keepalive_ms,
	};
	enum relay_verdict v;
	char fp[KEY_FINGERPRINT_LEN];

	v = relay_hs_client_info_read(f, rs->key, &rs->pub, cl->challenge,
				      rs->cfg.has_mesh_key ? rs->cfg.mesh_key : NULL, &cl->key,
				      &info, nonce);
	relay_count(&rs->c.proto, v);
	if (v != RELAY_OK) {
		rs->c.handshake_errors++;
		log_info_rl("relay handshake refused: reason=%s", relay_verdict_name(v));
		rs_client_close(cl, "handshake refused");
		return false;
	}
	cl->mesh = info.flags & RELAY_CF_MESH;
	cl->prober = info.flags & RELAY_CF_PROBER;
	if (!cl->mesh && rs->cfg.verify != NULL &&
	    !rs->cfg.verify(rs->cfg.verify_arg, &cl->key, &cl->src)) {
		rs->c.verify_refused++;
		rs_key_fp(&cl->key, fp);
		log_info_rl("relay client not allowed: key=%s", fp);
		rs_client_close(cl, "not allowed");
		return false;
	}
	if (!cl->mesh && rs->c.clients >= rs->cfg.max_clients) {
		rs->c.too_many_clients++;
		rs_client_close(cl, "too many clients");
		return false;
	}
	if (relay_hs_server_info_write(out, rs->key, &cl->key, nonce, &params) != 0) {
		rs_client_close(cl, "server info");
		return false;
	}
	(void)rs_write_ctrl(cl, out, sizeof(out));
	cl->state = RS_READY;
	rs->c.handshakes++;
	evtimer_del(cl->timer);
	rs_arm_keepalive(cl);
	if (cl->mesh) {
		rs->c.mesh_conns++;
		/* Mesh peers are trusted with the region's traffic: no rate limit. */
		bufferevent_set_rate_limit(cl->bev, NULL);
		return true; /* not listed as a client key */
	}
	rs->c.clients++;
	return rs_list(cl);
}

static void rs_watch(struct rs_client *cl)
{
	struct relay_server *rs = cl->rs;

	if (cl->watcher)
		return;
	TAILQ_REMOVE(&rs->all, cl, link);
	TAILQ_INSERT_TAIL(&rs->watchers, cl, link);
	cl->watcher = true;
	/* Flood the current membership, then changes follow as they happen. */
	for (size_t i = 0; i < rs->clients.cap; i++) {
		struct nmindex_slot *s = &rs->clients.slots[i];
		if (s->hash == 0)
			continue;
		const struct rs_client *c = s->val;
		uint8_t f[RELAY_SMALL_FRAME_MAX];
		size_t n = relay_frame_peer_present(f, &c->key, &c->src,
						    c->prober ? RELAY_PRESENT_PROBER :
								RELAY_PRESENT_REGULAR);
		(void)rs_write_ctrl(cl, f, n);
	}
}

/* A packet from client `from` (source key src) to dst; forwarded one hop at most. */
static void rs_route(struct rs_client *from, const struct node_public *src,
		     const struct node_public *dst, const uint8_t *p, size_t n, bool from_mesh)
{
	struct relay_server *rs = from->rs;
	struct rs_client *to = nmindex_get(&rs->clients, dst->b, KEY_LEN);
	struct rs_remote *r;

	if (to != NULL) {
		rs_deliver(to, src, p, n);
		if (from_mesh)
			rs->c.forwarded_in++;
		return;
	}
	if (from_mesh) {
		rs->c.drop_forward_unknown++;
		return;
	}
	r = nmindex_get(&rs->remotes, dst->b, KEY_LEN);
	if (r != NULL && r->via->up) {
		rs_senders_add(&r->senders, src);
		if (relay_client_forward(r->via->rc, src, dst, p, n) == 0)
			rs->c.forwarded_out++;
		else
			rs->c.drop_mesh_busy++;
		return;
	}
	rs->c.drop_unknown_dest++;
	rs_not_here(from, dst);
}

/* Returns false when cl was closed. */
static bool rs_frame(struct rs_client *cl, const struct relay_frame *f)
{
	struct relay_server *rs = cl->rs;
	uint8_t out[RELAY_SMALL_FRAME_MAX];
	struct rs_client *victim;

	switch ((enum relay_frame_type)f->type) {
	case RELAY_FRAME_SEND_PACKET:
		if (cl->mesh) {
			rs->c.drop_not_mesh++;
			return true;
		}
		rs->c.packets_rx++;
		rs_promote(cl);
		rs_route(cl, &cl->key, &f->key, f->pkt, f->pkt_len, false);
		return true;
	case RELAY_FRAME_FORWARD_PACKET:
		if (!cl->mesh) {
			rs->c.drop_not_mesh++;
			return true;
		}
		rs->c.packets_rx++;
		rs_route(cl, &f->key, &f->key2, f->pkt, f->pkt_len, true);
		return true;
	case RELAY_FRAME_NOTE_PREFERRED:
		if (f->preferred != cl->preferred) {
			if (f->preferred)
				rs->c.preferred++;
			else
				rs->c.preferred--;
		}
		cl->preferred = f->preferred;
		return true;
	case RELAY_FRAME_WATCH_CONNS:
		if (!cl->mesh) {
			rs->c.drop_not_mesh++;
			return true;
		}
		rs_watch(cl);
		return true;
	case RELAY_FRAME_CLOSE_PEER:
		if (!cl->mesh) {
			rs->c.drop_not_mesh++;
			return true;
		}
		victim = nmindex_get(&rs->clients, f->key.b, KEY_LEN);
		if (victim != NULL)
			rs_client_close(victim, "closed by a mesh peer"); /* never cl: mesh */
		return true;
	case RELAY_FRAME_PING:
		if (rs_write_ctrl(cl, out, relay_frame_ping(out, RELAY_FRAME_PONG, f->ping)))
			rs->c.pongs++;
		else
			rs->c.drop_pong_busy++;
		return true;
	case RELAY_FRAME_PONG:
		return true; /* we send no pings; a stray answer is harmless */
	case RELAY_FRAME_CLIENT_INFO:
	case RELAY_FRAME_SERVER_KEY:
	case RELAY_FRAME_SERVER_INFO:
	case RELAY_FRAME_RECV_PACKET:
	case RELAY_FRAME_KEEPALIVE:
	case RELAY_FRAME_PEER_GONE:
	case RELAY_FRAME_PEER_PRESENT:
	case RELAY_FRAME_HEALTH:
	case RELAY_FRAME_RESTARTING:
		break;
	}
	relay_count(&rs->c.proto, RELAY_E_STATE);
	rs_client_close(cl, "frame out of order");
	return false;
}

static void rs_read_cb(struct bufferevent *bev, void *arg)
{
	struct rs_client *cl = arg;
	struct relay_server *rs = cl->rs;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* Everything readable is at most one read's worth plus one partial frame. */
	for (;;) {
		uint8_t hdr[RELAY_FRAME_HEADER_LEN], type;
		uint32_t len;
		struct relay_frame f;
		enum relay_verdict v;
		size_t avail = evbuffer_get_length(in);
		const uint8_t *p;

		if (avail < RELAY_FRAME_HEADER_LEN)
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		v = relay_frame_check_header(hdr, RELAY_ROLE_SERVER, &type, &len);
		if (v == RELAY_OK &&
		    (cl->state == RS_HANDSHAKE) != (type == RELAY_FRAME_CLIENT_INFO))
			v = RELAY_E_STATE;
		if (v != RELAY_OK) {
			relay_count(&rs->c.proto, v);
			if (cl->state == RS_HANDSHAKE)
				rs->c.handshake_errors++;
			log_debug_rl("relay frame refused: reason=%s type=%u len=%u",
				     relay_verdict_name(v), type, len);
			rs_client_close(cl, "bad frame");
			return;
		}
		if (avail < RELAY_FRAME_HEADER_LEN + (size_t)len)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)(RELAY_FRAME_HEADER_LEN + len));
		if (p == NULL) {
			rs_client_close(cl, "out of memory");
			return;
		}
		v = relay_frame_parse(type, p + RELAY_FRAME_HEADER_LEN, len, &f);
		if (v != RELAY_OK) {
			relay_count(&rs->c.proto, v);
			rs_client_close(cl, "bad frame");
			return;
		}
		rs->c.frames_rx++;
		rs->c.bytes_rx += RELAY_FRAME_HEADER_LEN + len;
		/* Either may close cl, and its buffers with it. */
		if (cl->state == RS_HANDSHAKE) {
			if (!rs_handshake(cl, &f))
				return;
		} else {
			relay_count(&rs->c.proto, RELAY_OK);
			if (!rs_frame(cl, &f))
				return;
		}
		evbuffer_drain(in, RELAY_FRAME_HEADER_LEN + len);
	}
}

static void rs_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	rs_drain(arg);
}

static void rs_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rs_client *cl = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		cl->rs->c.slow_closed++;
		rs_client_close(cl, "write timeout");
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		rs_client_close(cl, what & BEV_EVENT_EOF ? "closed" : "error");
	}
}

/* Starts the relay protocol on bev (after the 101 or right away in raw mode). */
static int rs_client_start(struct relay_server *rs, struct bufferevent *bev,
			   struct evhttp_connection *evcon, const struct sockaddr *sa,
			   socklen_t salen)
{
	struct rs_client *cl;
	uint8_t f[RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN];
	struct timeval hs = { (time_t)(rs->cfg.handshake_ms / 1000),
			      (suseconds_t)(rs->cfg.handshake_ms % 1000) * 1000 };
	struct timeval wt = { (time_t)(rs->cfg.write_timeout_ms / 1000),
			      (suseconds_t)(rs->cfg.write_timeout_ms % 1000) * 1000 };
	int fd;

	rs->c.accepts++;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->rs = rs;
	cl->bev = bev;
	cl->evcon = evcon;
	cl->gone_tokens = RS_GONE_BURST;
	cl->gone_last_ms = rs_now_ms(rs);
	if (sa != NULL)
		(void)netendpoint_from_sockaddr(&cl->src, sa, salen);
	TAILQ_INSERT_TAIL(&rs->all, cl, link);
	cl->timer = evtimer_new(rs->base, rs_timer_cb, cl);
	if (cl->timer == NULL) {
		rs_client_close(cl, "out of memory");
		return -ENOMEM;
	}
	fd = bufferevent_getfd(bev);
	if (fd >= 0) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, rs_evcon_closed, cl);
	randombytes_buf(cl->challenge, sizeof(cl->challenge));
	bufferevent_setcb(bev, rs_read_cb, rs_write_cb, rs_event_cb, cl);
	/* Fewer, larger syscalls: libevent's default is 16 KiB per read and write. */
	bufferevent_set_max_single_read(bev, RS_IO_CHUNK);
	bufferevent_set_max_single_write(bev, RS_IO_CHUNK);
	bufferevent_setwatermark(bev, EV_WRITE, RS_OUT_LOW, 0);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_set_timeouts(bev, NULL, &wt);
	if (rs->bucket != NULL)
		bufferevent_set_rate_limit(bev, rs->bucket);
	relay_hs_server_key_write(f, &rs->pub, cl->challenge);
	bufferevent_write(bev, f, sizeof(f));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	evtimer_add(cl->timer, &hs);
	/* Bytes that came with the upgrade request are already in the input. */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		rs_read_cb(bev, cl);
	return 0;
}

/* Whether a header's comma-separated value list contains `token` (case-insensitive). */
static bool rs_header_has(const char *v, const char *token)
{
	size_t tl = strlen(token);

	while (v != NULL && *v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		const char *e = v;
		while (*e != '\0' && *e != ',')
			e++;
		const char *t = e;
		while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - v) == tl && strncasecmp(v, token, tl) == 0)
			return true;
		v = e;
	}
	return false;
}

void relay_server_handle_http(struct evhttp_request *req, void *arg)
{
	struct relay_server *rs = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ver[16];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "relay needs GET with Upgrade");
		return;
	}
	if (!rs_header_has(evhttp_find_header(in, "Upgrade"), RELAY_UPGRADE_TOKEN) ||
	    !rs_header_has(evhttp_find_header(in, "Connection"), "upgrade")) {
		struct evbuffer *body = evbuffer_new();
		evhttp_add_header(out, "Upgrade", RELAY_UPGRADE_TOKEN);
		evhttp_add_header(out, "Content-Type", "text/plain");
		if (body != NULL)
			evbuffer_add_printf(body, "weft relay: connect with Upgrade: %s\n",
					    RELAY_UPGRADE_TOKEN);
		evhttp_send_reply(req, 426, "Upgrade Required", body);
		if (body != NULL)
			evbuffer_free(body);
		return;
	}
	evhttp_add_header(out, "Upgrade", RELAY_UPGRADE_TOKEN);
	evhttp_add_header(out, "Connection", "Upgrade");
	snprintf(ver, sizeof(ver), "%d", RELAY_VERSION);
	evhttp_add_header(out, "Weft-Relay-Version", ver);
	/*
	 * libevent 2.1 has no API to detach a connection from evhttp. A 101 with
	 * no body is sent with evhttp_send_reply_start (no chunking for 1xx), and
	 * the connection's bufferevent is then taken over: evhttp never hears of
	 * it again until relay_server frees it with evhttp_connection_free (or
	 * evhttp_free does, and tells us through the close callback).
	 */
	evhttp_send_reply_start(req, 101, "Switching Protocols");
	bev = evhttp_connection_get_bufferevent(evcon);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(bufferevent_getfd(bev), (struct sockaddr *)&ss, &sl) != 0)
		sl = 0;
	if (rs_client_start(rs, bev, evcon, sl ? (struct sockaddr *)&ss : NULL, sl) != 0)
		evhttp_connection_free(evcon);
}

static void rs_probe_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void rs_204_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_reply(req, 204, "No Content", NULL);
}

int relay_server_mount(struct relay_server *rs, struct evhttp *http)
{
	if (evhttp_set_cb(http, RELAY_HTTP_PATH, relay_server_handle_http, rs) != 0 ||
	    evhttp_set_cb(http, RELAY_HTTP_PATH "/probe", rs_probe_cb, rs) != 0 ||
	    evhttp_set_cb(http, "/generate_204", rs_204_cb, rs) != 0)
		return -EEXIST;
	return 0;
}

int relay_server_accept_fd(struct relay_server *rs, int fd, const struct sockaddr *sa,
			   socklen_t salen)
{
	struct bufferevent *bev = bufferevent_socket_new(rs->base, fd, BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL) {
		close(fd);
		return -ENOMEM;
	}
	return rs_client_start(rs, bev, NULL, sa, salen);
}

static void rs_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			 int salen, void *arg)
{
	(void)l;
	if (relay_server_accept_fd(arg, fd, sa, (socklen_t)salen) != 0)
		log_warnx_rl("relay accept failed");
}

int relay_server_listen_raw(struct relay_server *rs, const char *addr_port)
{
	struct netendpoint ep;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct evconnlistener *l, **nl;

	if (netendpoint_parse(addr_port, &ep) != 0)
		return -EINVAL;
	sl = netendpoint_to_sockaddr(&ep, &ss);
	nl = realloc(rs->listeners, (rs->n_listeners + 1) * sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	rs->listeners = nl;
	l = evconnlistener_new_bind(rs->base, rs_accept_cb, rs,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4096,
				    (struct sockaddr *)&ss, (int)sl);
	if (l == NULL)
		return errno != 0 ? -errno : -EADDRINUSE;
	rs->listeners[rs->n_listeners++] = l;
	return 0;
}

int relay_server_listen_raw_fd(struct relay_server *rs, int fd)
{
	struct evconnlistener *l, **nl;

	nl = realloc(rs->listeners, (rs->n_listeners + 1) * sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	rs->listeners = nl;
	evutil_make_socket_nonblocking(fd);
	l = evconnlistener_new(rs->base, rs_accept_cb, rs, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (l == NULL)
		return -ENOMEM;
	rs->listeners[rs->n_listeners++] = l;
	return 0;
}

int relay_server_new(struct event_base *base, const struct relay_server_config *cfg,
		     struct relay_server **out)
{
	struct relay_server *rs;
	int r = -ENOMEM;

	*out = NULL;
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		return -ENOMEM;
	rs->base = base;
	rs->cfg = *cfg;
	rs->cfg.mesh_urls = NULL;
	rs->cfg.mesh_ca_file = NULL;
	mem_wipe(&rs->cfg.key, sizeof(rs->cfg.key));
	if (rs->cfg.queue_depth == 0)
		rs->cfg.queue_depth = 32;
	if (rs->cfg.max_clients == 0)
		rs->cfg.max_clients = 100000;
	if (rs->cfg.keepalive_ms == 0)
		rs->cfg.keepalive_ms = 60000;
	if (rs->cfg.handshake_ms == 0)
		rs->cfg.handshake_ms = 10000;
	if (rs->cfg.write_timeout_ms == 0)
		rs->cfg.write_timeout_ms = 10000;
	TAILQ_INIT(&rs->all);
	TAILQ_INIT(&rs->watchers);
	nmindex_init(&rs->clients);
	nmindex_init(&rs->remotes);
	rs->key = sodium_malloc(sizeof(*rs->key));
	if (rs->key == NULL)
		goto fail;
	*rs->key = cfg->key;
	if (keys_public(rs->pub.b, rs->key->b) != 0) {
		r = -EINVAL;
		goto fail;
	}
	if (rs->cfg.rate_bytes != 0) {
		uint32_t burst = rs->cfg.burst_bytes;
		struct timeval tick = { 0, 50000 };
		if (burst < RELAY_FRAME_HEADER_LEN + RELAY_FRAME_MAX)
			burst = RELAY_FRAME_HEADER_LEN + RELAY_FRAME_MAX;
		rs->cfg.burst_bytes = burst;
		/* Rates are per tick (50 ms). Reads only: TCP pushes back on the sender. */
		rs->bucket = ev_token_bucket_cfg_new(rs->cfg.rate_bytes / 20 + 1, burst,
						     EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX, &tick);
		if (rs->bucket == NULL)
			goto fail;
	}
	if (cfg->n_mesh_urls > 0) {
		if (!cfg->has_mesh_key) {
			r = -EINVAL;
			goto fail;
		}
		rs->mesh = calloc(cfg->n_mesh_urls, sizeof(*rs->mesh));
		if (rs->mesh == NULL)
			goto fail;
		rs->n_mesh = cfg->n_mesh_urls;
		for (size_t i = 0; i < cfg->n_mesh_urls; i++) {
			struct rs_mesh *m = &rs->mesh[i];
			struct relay_client_config cc;
			memset(&cc, 0, sizeof(cc));
			m->rs = rs;
			m->url = mem_strdup(cfg->mesh_urls[i]);
			if (m->url == NULL)
				goto fail;
			cc.url = cfg->mesh_urls[i];
			memcpy(cc.key.b, rs->key->b, KEY_LEN); /* mesh links use the server key */
			cc.mesh = true;
			memcpy(cc.mesh_key, cfg->mesh_key, KEY_LEN);
			cc.watch = true;
			cc.ca_file = cfg->mesh_ca_file;
			cc.insecure = cfg->mesh_insecure;
			cc.backoff_max_ms = 2000;
			cc.out_max = 8 << 20;
			cc.cbs.ready = rs_mesh_ready;
			cc.cbs.disconnected = rs_mesh_down;
			cc.cbs.peer_present = rs_mesh_present;
			cc.cbs.peer_gone = rs_mesh_gone;
			cc.cbs.packet = rs_mesh_packet;
			cc.arg = m;
			r = relay_client_new(base, &cc, &m->rc);
			mem_wipe(&cc, sizeof(cc));
			if (r != 0)
				goto fail;
		}
		for (size_t i = 0; i < rs->n_mesh; i++) {
			r = relay_client_start(rs->mesh[i].rc);
			if (r != 0)
				goto fail;
		}
	}
	*out = rs;
	return 0;
fail:
	relay_server_free(rs);
	return r;
}

void relay_server_free(struct relay_server *rs)
{
	struct rs_client *cl;

	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n_listeners; i++)
		evconnlistener_free(rs->listeners[i]);
	free(rs->listeners);
	while ((cl = TAILQ_FIRST(&rs->all)) != NULL)
		rs_client_close(cl, "shutdown");
	while ((cl = TAILQ_FIRST(&rs->watchers)) != NULL)
		rs_client_close(cl, "shutdown");
	for (size_t i = 0; i < rs->n_mesh; i++) {
		relay_client_free(rs->mesh[i].rc);
		free(rs->mesh[i].url);
	}
	free(rs->mesh);
	for (size_t i = 0; i < rs->remotes.cap; i++)
		if (rs->remotes.slots[i].hash != 0)
			free(rs->remotes.slots[i].val);
	nmindex_fini(&rs->remotes);
	nmindex_fini(&rs->clients);
	if (rs->bucket != NULL)
		ev_token_bucket_cfg_free(rs->bucket);
	if (rs->key != NULL)
		sodium_free(rs->key); /* zeroes it */
	mem_wipe(rs, sizeof(*rs));
	free(rs);
}

void relay_server_notify_restarting(struct relay_server *rs, uint32_t reconnect_ms,
				    uint32_t try_for_ms)
{
	uint8_t f[RELAY_SMALL_FRAME_MAX];
	size_t n = relay_frame_restarting(f, reconnect_ms, try_for_ms);
	struct rs_client *cl;

	TAILQ_FOREACH(cl, &rs->all, link)
	if (cl->state == RS_READY)
		(void)rs_write_ctrl(cl, f, n);
	TAILQ_FOREACH(cl, &rs->watchers, link)
	(void)rs_write_ctrl(cl, f, n);
}

void relay_server_public(const struct relay_server *rs, struct relay_public *out)
{
	*out = rs->pub;
}

void relay_server_counters(const struct relay_server *rs, struct relay_server_counters *out)
{
	*out = rs->c;
}

int relay_server_counters_json(const struct relay_server *rs, struct buf_writer *w)
{
	const struct relay_server_counters *c = &rs->c;
#define F(name)                \
	{                      \
#name, c->name \
	}
	const struct {
		const char *k;
		uint64_t v;
	} f[] = {
		F(accepts),
		F(handshakes),
		F(handshake_errors),
		F(verify_refused),
		F(too_many_clients),
		F(clients),
		F(mesh_conns),
		F(mesh_links_up),
		F(remote_peers),
		F(preferred),
		F(dup_keys),
		F(frames_rx),
		F(bytes_rx),
		F(packets_rx),
		F(packets_tx),
		F(bytes_tx),
		F(forwarded_out),
		F(forwarded_in),
		F(drop_unknown_dest),
		F(drop_queue_full),
		F(drop_mesh_busy),
		F(drop_forward_unknown),
		F(drop_not_mesh),
		F(drop_pong_busy),
		F(peer_gone_sent),
		F(peer_gone_limited),
		F(slow_closed),
		F(keepalives),
		F(pongs),
	};
#undef F
	buf_put_str(w, "{");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		buf_printf(w, "%s\"%s\":%llu", i ? "," : "", f[i].k, (unsigned long long)f[i].v);
	buf_put_str(w, ",\"proto_rejected\":{");
	bool first = true;
	for (int v = 1; v < RELAY_VERDICT_COUNT; v++) {
		buf_printf(w, "%s\"%s\":%llu", first ? "" : ",",
			   relay_verdict_name((enum relay_verdict)v),
			   (unsigned long long)c->proto.rejected[v]);
		first = false;
	}
	buf_put_str(w, "}}");
	return w->err ? -ENOMEM : 0;
}

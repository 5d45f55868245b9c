/* SPDX-License-Identifier: ISC */
/*
 * mapper: map streams over evhttp chunked responses (see mapper.h).
 *
 * A stream is QUEUED until its full map is admitted (at most
 * MAPPER_FULL_INFLIGHT full maps are in the sockets' buffers at a time),
 * then LIVE: from the moment its full map is built from the current state,
 * every delta batch reaches it, so nothing between the two is lost (a delta
 * may repeat what the full map already says; applying it again is harmless).
 * Keep-alives go to queued streams as well, so a node far back in the queue
 * does not time out waiting for its full map.
 * An evbuffer callback on the connection's output tells when a full map has
 * drained; a stream whose output grows past MAPPER_OUT_MAX is dropped.
 *
 * With a policy in force (srvpolicy.h) a node's map holds only the peers it
 * may see and its own packet filter, so deltas are cut per stream: the
 * changed nodes' entries are serialised once and each stream gets those it
 * may see; a recompilation adds, to the streams of the nodes it changed,
 * the peers that appeared or vanished and the new filter. Invariant: at the
 * end of every flush, each live stream knows exactly the peers the current
 * compilation lets it see. So the compilation is only brought up to date
 * by a flush, and a full map is never built while it is stale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "json/jsonx.h"
#include "netmap/nmindex.h"
#include "weft-server/config.h"
#include "weft-server/mapper.h"
#include "weft-server/srvpolicy.h"
#include "weft-server/state.h"

#define MAPPER_BATCH_MS 20
#define MAPPER_FULL_INFLIGHT 8
/*
 * A full map counts as delivered once no more than this is left in our
 * buffer (the rest is in the kernel). Every stream may keep up to this much
 * here while its node reads slowly: at 10,000 streams 256 KiB made 1.7 GB.
 */
#define MAPPER_OUT_LOW (16u << 10)
#define MAPPER_OUT_MAX (128u << 20)  /* a node this far behind is cut off */
#define MAPPER_FRAME_MAX (512u << 20)
#define MAPPER_TICK_S 5
#define MAPPER_WRITE_TIMEOUT_S 30 /* a stream whose writes make no progress this long ends */

enum mstream_state {
	MS_QUEUED = 1,
	MS_LIVE = 2,
};

struct mstream {
	struct mapper *m;
	struct srv_node *node;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	struct evbuffer *out;
	struct evbuffer_cb_entry *cbe;
	uint8_t nonce[CTRL_REQ_NONCE_LEN];
	uint64_t seq;
	enum mstream_state state;
	bool inflight;
	uint64_t last_send_ns;
	size_t slot; /* in m->streams */
	TAILQ_ENTRY(mstream) q;
};

struct mapper {
	struct event_base *base;
	struct srv_state *s;
	struct mstream **streams;
	size_t n_streams, cap_streams;
	TAILQ_HEAD(, mstream) queue;
	size_t n_queued;
	unsigned inflight;
	struct event *pump;  /* admits queued full maps */
	struct event *batch; /* the end of the batch window */
	struct event *tick;  /* keep-alives */
	bool batch_armed;
	uint64_t batch_start_ns;
	/* the pending delta */
	uint64_t *changed; /* node IDs with m_pending set */
	size_t n_changed, cap_changed;
	uint64_t *removed;
	size_t n_removed, cap_removed;
	bool users_dirty;
	struct buf_writer scratch;
	struct evbuffer *chunk;
	struct mapper_stats stats;
	struct srv_policy *pol; /* NULL: no policy support (tests) */
};

static void ms_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

/* ---- stream lifecycle -------------------------------------------------------------------- */

static void ms_detach(struct mstream *st)
{
	struct mapper *m = st->m;

	if (st->cbe != NULL) {
		evbuffer_remove_cb_entry(st->out, st->cbe);
		st->cbe = NULL;
	}
	if (st->inflight) {
		st->inflight = false;
		m->inflight--;
		event_active(m->pump, 0, 0);
	}
	if (st->state == MS_QUEUED) {
		TAILQ_REMOVE(&m->queue, st, q);
		m->n_queued--;
	}
	m->n_streams--;
	if (st->slot != m->n_streams) {
		m->streams[st->slot] = m->streams[m->n_streams];
		m->streams[st->slot]->slot = st->slot;
	}
	if (st->node != NULL) {
		st->node->stream = NULL;
		srv_node_set_online(m->s, st->node, false);
	}
	free(st);
}

static void ms_closed(struct evhttp_connection *conn, void *arg)
{
	struct mstream *st = arg;
	struct evhttp_request *req = st->req;

	log_debug("map stream of node %llu closed by the node",
		  st->node ? (unsigned long long)st->node->rec.id : 0ULL);
	ms_detach(st);
	/*
	 * On EOF or a timeout libevent frees the connection but leaves an
	 * unfinished response to us, detached from it: ending it frees it.
	 */
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Ends the response cleanly (the node sees the end of the stream and reconnects). */
static void ms_end(struct mstream *st)
{
	evhttp_connection_set_closecb(st->conn, NULL, NULL);
	evhttp_send_reply_end(st->req);
	ms_detach(st);
}

/* Cuts a node that stopped reading: its connection is closed outright. */
static void ms_kill(struct mstream *st)
{
	struct evhttp_connection *conn = st->conn;

	st->m->stats.slow_dropped++;
	log_info("map stream of node %llu dropped: the node is not reading (%zu bytes queued)",
		 st->node ? (unsigned long long)st->node->rec.id : 0ULL,
		 evbuffer_get_length(st->out));
	evhttp_connection_set_closecb(conn, NULL, NULL);
	ms_detach(st);
	evhttp_connection_free(conn);
}

static void ms_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct mstream *st = arg;

	/* Runs inside libevent's writes: only bookkeeping here, the pump does the rest. */
	if (st->inflight && info->n_deleted > 0 && evbuffer_get_length(buf) <= MAPPER_OUT_LOW) {
		st->inflight = false;
		st->m->inflight--;
		event_active(st->m->pump, 0, 0);
	}
}

/* Seals one frame and queues it on the stream. Returns -1 if the stream was dropped. */
static int ms_send(struct mstream *st, enum ctrl_frame_type type, const void *tail, size_t len)
{
	struct mapper *m = st->m;
	struct buf_writer *w = &m->scratch;

	w->len = 0;
	w->err = false;
	if (ctrl_frame_write(&st->node->box, ++st->seq, st->nonce, type, tail, len, w) < 0) {
		log_warnx("map stream of node %llu: cannot build a %zu-byte frame",
			  (unsigned long long)st->node->rec.id, len);
		ms_end(st);
		return -1;
	}
	if (evbuffer_add(m->chunk, w->p, w->len) < 0) {
		ms_end(st);
		return -1;
	}
	evhttp_send_reply_chunk(st->req, m->chunk);
	st->last_send_ns = clock_mono_ns();
	if (evbuffer_get_length(st->out) > MAPPER_OUT_MAX) {
		ms_kill(st);
		return -1;
	}
	return 0;
}

/* ---- map bodies -------------------------------------------------------------------------- */

static int mapper_put_json(struct buf_writer *w, const char *key, const char *json)
{
	buf_printf(w, ",\"%s\":", key);
	return buf_put_str(w, json);
}

/* The tail of a full frame for node n (everything after the frame header). */
/* The compilation a map is built from: NULL when no policy is in force. */
static struct srv_compiled *mapper_compiled(const struct mapper *m)
{
	return m->pol != NULL && srv_policy_active(m->pol) ? srv_policy_compiled(m->pol) : NULL;
}

static bool mapper_policy_on(const struct mapper *m)
{
	return m->pol != NULL && srv_policy_active(m->pol);
}

static int mapper_full_tail(struct mapper *m, struct srv_node *n, struct buf_writer *w)
{
	struct srv_state *s = m->s;
	struct srv_compiled *c = mapper_compiled(m);
	size_t ni = c != NULL ? srv_compiled_index(c, n->rec.id) : SIZE_MAX;
	const char *j, *filter = s->filter_json;
	size_t len;
	bool first = true;

	if (mapper_policy_on(m)) {
		/* Not compiled (yet): no peers and nothing allowed, rather than everything. */
		filter = "[]";
		if (ni != SIZE_MAX && (filter = srv_compiled_filter(c, ni, &len)) == NULL)
			return -ENOMEM;
	}
	if (srv_node_json(s, n, &j, &len) < 0)
		return -ENOMEM;
	buf_put_str(w, ",\"Self\":");
	buf_put_bytes(w, j, len);
	buf_put_str(w, ",\"Peers\":[");
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct srv_node *p = s->nodes[i];
		size_t pi;
		if (p == n || p->gone)
			continue;
		if (mapper_policy_on(m) &&
		    (ni == SIZE_MAX || (pi = srv_compiled_index(c, p->rec.id)) == SIZE_MAX ||
		     !srv_compiled_can_see(c, ni, pi)))
			continue;
		if (srv_node_json(s, p, &j, &len) < 0)
			return -ENOMEM;
		if (!first)
			buf_put_u8(w, ',');
		buf_put_bytes(w, j, len);
		first = false;
	}
	buf_put_u8(w, ']');
	if (srv_users_json(s, &j, &len) < 0)
		return -ENOMEM;
	buf_put_str(w, ",\"Users\":");
	buf_put_bytes(w, j, len);
	mapper_put_json(w, "RelayMap", s->relaymap_json);
	mapper_put_json(w, "DNS", s->dns_json);
	mapper_put_json(w, "PacketFilter", filter);
	buf_put_str(w, ",\"Domain\":");
	jsonx_write_str(w, s->cfg->base_domain ? s->cfg->base_domain : "");
	return w->err ? -ENOMEM : 0;
}

static void mapper_patch_write(struct mapper *m, struct srv_node *n, uint32_t what,
			       struct buf_writer *w)
{
	char k[KEY_PREFIXED_MAX];

	buf_printf(w, "{\"ID\":%llu", (unsigned long long)n->rec.id);
	if (what & SRV_CH_ENDPOINTS) {
		buf_put_str(w, ",\"Endpoints\":");
		netmap_endpoints_write(w, n->rec.endpoints, n->rec.n_endpoints);
	}
	if (what & SRV_CH_RELAY_HOME)
		buf_printf(w, ",\"RelayHome\":%u", n->rec.relay_home);
	if (what & SRV_CH_ONLINE) {
		buf_printf(w, ",\"Online\":%s,\"LastSeen\":", n->online ? "true" : "false");
		netmap_time_write(w, n->online ? 0 : n->rec.last_seen);
	}
	if (what & SRV_CH_DISCO) {
		buf_put_str(w, ",\"DiscoKey\":");
		jsonx_write_str(w, disco_public_format(&n->rec.disco, k, sizeof(k)));
	}
	if (what & SRV_CH_KEY_EXPIRY) {
		buf_put_str(w, ",\"KeyExpiry\":");
		netmap_time_write(w, n->rec.expiry);
	}
	buf_put_u8(w, '}');
	(void)m;
}

/* The shared tail of the pending delta; false when there is nothing to say. */
static bool mapper_delta_tail(struct mapper *m, struct buf_writer *w)
{
	struct srv_state *s = m->s;
	bool any = false, first;
	const char *j;
	size_t len;

	if (m->n_removed > 0) {
		buf_put_str(w, ",\"PeersRemoved\":[");
		for (size_t i = 0; i < m->n_removed; i++)
			buf_printf(w, "%s%llu", i ? "," : "", (unsigned long long)m->removed[i]);
		buf_put_u8(w, ']');
		any = true;
	}
	first = true;
	for (size_t i = 0; i < m->n_changed; i++) {
		struct srv_node *n = srv_node_by_id(s, m->changed[i]);
		if (n == NULL || n->gone || !(n->m_pending & SRV_CH_FULL))
			continue;
		if (srv_node_json(s, n, &j, &len) < 0)
			continue;
		buf_put_str(w, first ? ",\"PeersChanged\":[" : ",");
		buf_put_bytes(w, j, len);
		first = false;
	}
	if (!first) {
		buf_put_u8(w, ']');
		any = true;
	}
	first = true;
	for (size_t i = 0; i < m->n_changed; i++) {
		struct srv_node *n = srv_node_by_id(s, m->changed[i]);
		if (n == NULL || n->gone || n->m_pending == 0 || (n->m_pending & SRV_CH_FULL))
			continue;
		buf_put_str(w, first ? ",\"PeersPatch\":[" : ",");
		mapper_patch_write(m, n, n->m_pending, w);
		first = false;
	}
	if (!first) {
		buf_put_u8(w, ']');
		any = true;
	}
	if (m->users_dirty && srv_users_json(s, &j, &len) == 0) {
		buf_put_str(w, ",\"Users\":");
		buf_put_bytes(w, j, len);
		any = true;
	}
	return any && !w->err;
}

static void mapper_delta_reset(struct mapper *m)
{
	for (size_t i = 0; i < m->n_changed; i++) {
		struct srv_node *n = srv_node_by_id(m->s, m->changed[i]);
		if (n != NULL)
			n->m_pending = 0;
	}
	m->n_changed = 0;
	m->n_removed = 0;
	m->users_dirty = false;
}

/* ---- per-stream deltas under a policy ---------------------------------------------------- */

/* One changed node's part of the pending delta, serialised once for every stream. */
struct mpiece {
	uint64_t id;
	bool full; /* its whole entry (PeersChanged), else a patch */
	size_t off, len;
};

/* Whether the stream of node ni saw node `id` before this flush (prev NULL: everyone saw all). */
static bool mapper_saw(const struct srv_compiled *prev, size_t pi, uint64_t id)
{
	size_t pj;

	if (prev == NULL)
		return true;
	return pi != SIZE_MAX && (pj = srv_compiled_index(prev, id)) != SIZE_MAX &&
	       srv_compiled_can_see(prev, pi, pj);
}

static bool mapper_sees(const struct srv_compiled *c, size_t ni, uint64_t id)
{
	size_t j;

	return ni != SIZE_MAX && (j = srv_compiled_index(c, id)) != SIZE_MAX &&
	       srv_compiled_can_see(c, ni, j);
}

/*
 * The delta for one stream: what changed among the peers it may see, and,
 * when the recompilation changed this node, the peers it gained or lost and
 * its new filter. False when there is nothing to send.
 */
static bool mapper_stream_tail(struct mapper *m, struct srv_node *n, struct srv_compiled *c,
			       bool recompiled, const struct srv_compiled *prev,
			       const struct mpiece *pc, size_t npc, const struct buf_writer *pbuf,
			       struct buf_writer *w)
{
	struct srv_state *s = m->s;
	size_t ni = srv_compiled_index(c, n->rec.id);
	size_t pi = prev != NULL ? srv_compiled_index(prev, n->rec.id) : SIZE_MAX;
	bool affected = recompiled && (ni == SIZE_MAX || srv_compiled_changed(c, ni));
	bool any = false, first = true;
	const char *j;
	size_t len;

	/* Removed: gone nodes (for everyone), and peers this node may no longer see. */
	for (size_t i = 0; i < m->n_removed; i++) {
		buf_printf(w, "%s%llu", first ? ",\"PeersRemoved\":[" : ",",
			   (unsigned long long)m->removed[i]);
		first = false;
	}
	if (affected && prev != NULL) {
		for (size_t k = 0; k < srv_compiled_count(prev); k++) {
			uint64_t id = srv_compiled_id(prev, k);
			if (pi == SIZE_MAX || !srv_compiled_can_see(prev, pi, k) ||
			    mapper_sees(c, ni, id))
				continue;
			buf_printf(w, "%s%llu", first ? ",\"PeersRemoved\":[" : ",",
				   (unsigned long long)id);
			first = false;
		}
	} else if (affected) {
		for (size_t k = 0; k < s->n_nodes; k++) {
			struct srv_node *p = s->nodes[k];
			if (p == n || p->gone || mapper_sees(c, ni, p->rec.id))
				continue;
			buf_printf(w, "%s%llu", first ? ",\"PeersRemoved\":[" : ",",
				   (unsigned long long)p->rec.id);
			first = false;
		}
	}
	if (!first) {
		buf_put_u8(w, ']');
		any = true;
	}
	/* Changed entries it may see (its own replaces Self), then peers it newly sees. */
	first = true;
	for (size_t i = 0; i < npc; i++) {
		if (!pc[i].full || (pc[i].id != n->rec.id && !mapper_sees(c, ni, pc[i].id)))
			continue;
		buf_put_str(w, first ? ",\"PeersChanged\":[" : ",");
		buf_put_bytes(w, pbuf->p + pc[i].off, pc[i].len);
		first = false;
	}
	for (size_t k = 0; affected && ni != SIZE_MAX && k < srv_compiled_count(c); k++) {
		uint64_t id = srv_compiled_id(c, k);
		struct srv_node *p;
		if (!srv_compiled_can_see(c, ni, k) || mapper_saw(prev, pi, id) ||
		    (p = srv_node_by_id(s, id)) == NULL || p->gone ||
		    (p->m_pending & SRV_CH_FULL) || srv_node_json(s, p, &j, &len) < 0)
			continue;
		buf_put_str(w, first ? ",\"PeersChanged\":[" : ",");
		buf_put_bytes(w, j, len);
		first = false;
	}
	if (!first) {
		buf_put_u8(w, ']');
		any = true;
	}
	first = true;
	for (size_t i = 0; i < npc; i++) {
		if (pc[i].full || (pc[i].id != n->rec.id && !mapper_sees(c, ni, pc[i].id)))
			continue;
		buf_put_str(w, first ? ",\"PeersPatch\":[" : ",");
		buf_put_bytes(w, pbuf->p + pc[i].off, pc[i].len);
		first = false;
	}
	if (!first) {
		buf_put_u8(w, ']');
		any = true;
	}
	if (m->users_dirty && srv_users_json(s, &j, &len) == 0) {
		buf_put_str(w, ",\"Users\":");
		buf_put_bytes(w, j, len);
		any = true;
	}
	if (affected) {
		const char *f = "[]";

		len = 2;
		if (ni != SIZE_MAX && (f = srv_compiled_filter(c, ni, &len)) == NULL)
			w->err = true;
		else
			mapper_put_json(w, "PacketFilter", f);
		any = true;
	}
	return any && !w->err;
}

static void mapper_flush_policy(struct mapper *m, bool recompiled, const struct srv_compiled *prev)
{
	struct srv_state *s = m->s;
	struct srv_compiled *c = srv_policy_compiled(m->pol);
	struct buf_writer pbuf, tail;
	struct mpiece *pc = NULL;
	size_t npc = 0;
	const char *j;
	size_t len;

	if (c == NULL)
		return; /* never compiled: nothing was sent that could change */
	buf_writer_growable(&pbuf, MAPPER_FRAME_MAX);
	buf_writer_growable(&tail, MAPPER_FRAME_MAX);
	if (m->n_changed > 0 && (pc = calloc(m->n_changed, sizeof(*pc))) == NULL) {
		log_warnx("out of memory building a delta: ending every stream");
		while (m->n_streams > 0)
			ms_end(m->streams[m->n_streams - 1]);
		goto out;
	}
	for (size_t i = 0; i < m->n_changed; i++) {
		struct srv_node *n = srv_node_by_id(s, m->changed[i]);
		size_t off = pbuf.len;

		if (n == NULL || n->gone || n->m_pending == 0)
			continue;
		if (n->m_pending & SRV_CH_FULL) {
			if (srv_node_json(s, n, &j, &len) < 0)
				continue;
			buf_put_bytes(&pbuf, j, len);
		} else {
			mapper_patch_write(m, n, n->m_pending, &pbuf);
		}
		pc[npc++] = (struct mpiece){ .id = n->rec.id,
					     .full = (n->m_pending & SRV_CH_FULL) != 0,
					     .off = off,
					     .len = pbuf.len - off };
	}
	if (pbuf.err)
		goto out;
	for (size_t i = m->n_streams; i-- > 0;) {
		struct mstream *st;
		if (i >= m->n_streams)
			continue;
		st = m->streams[i];
		if (st->state != MS_LIVE)
			continue;
		tail.len = 0;
		tail.err = false;
		if (mapper_stream_tail(m, st->node, c, recompiled, prev, pc, npc, &pbuf, &tail) &&
		    ms_send(st, CTRL_FRAME_DELTA, tail.p, tail.len) == 0)
			m->stats.deltas++;
	}
	m->stats.delta_batches++;
out:
	free(pc);
	buf_writer_free(&pbuf);
	buf_writer_free(&tail);
}

void mapper_flush(struct mapper *m)
{
	struct buf_writer tail;
	uint64_t t0 = m->batch_start_ns ? m->batch_start_ns : clock_mono_ns();

	if (m->batch_armed) {
		evtimer_del(m->batch);
		m->batch_armed = false;
	}
	m->batch_start_ns = 0;
	if (mapper_policy_on(m)) {
		struct srv_compiled *prev = NULL;
		int r = srv_policy_sync(m->pol, &prev);

		mapper_flush_policy(m, r == 1, prev);
		srv_compiled_free(prev);
		m->stats.delta_build_ns += clock_mono_ns() - t0;
		mapper_delta_reset(m);
		return;
	}
	buf_writer_growable(&tail, MAPPER_FRAME_MAX);
	if (mapper_delta_tail(m, &tail)) {
		/* Streams may be dropped while sending: walk backwards over a shrinking array. */
		for (size_t i = m->n_streams; i-- > 0;) {
			struct mstream *st;
			if (i >= m->n_streams)
				continue;
			st = m->streams[i];
			if (st->state != MS_LIVE)
				continue;
			if (ms_send(st, CTRL_FRAME_DELTA, tail.p, tail.len) == 0)
				m->stats.deltas++;
		}
		m->stats.delta_batches++;
		m->stats.delta_build_ns += clock_mono_ns() - t0;
	}
	buf_writer_free(&tail);
	mapper_delta_reset(m);
}

static void mapper_batch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mapper *m = arg;

	m->batch_armed = false;
	mapper_flush(m);
}

static void mapper_arm(struct mapper *m)
{
	struct timeval tv = { 0, MAPPER_BATCH_MS * 1000 };

	if (m->batch_armed)
		return;
	m->batch_armed = true;
	m->batch_start_ns = clock_mono_ns();
	evtimer_add(m->batch, &tv);
}

/* ---- admission of full maps -------------------------------------------------------------- */

static void mapper_send_full(struct mapper *m, struct mstream *st)
{
	struct buf_writer tail;
	uint64_t t0 = clock_mono_ns();

	buf_writer_growable(&tail, MAPPER_FRAME_MAX);
	if (mapper_full_tail(m, st->node, &tail) < 0) {
		log_warnx("cannot build the map of node %llu", (unsigned long long)st->node->rec.id);
		buf_writer_free(&tail);
		ms_end(st);
		return;
	}
	st->state = MS_LIVE;
	st->inflight = true;
	m->inflight++;
	if (ms_send(st, CTRL_FRAME_FULL, tail.p, tail.len) == 0) {
		m->stats.full_maps++;
		m->stats.full_map_bytes += tail.len;
		/* Already drained (a small map on a fast socket)? */
		if (st->inflight && evbuffer_get_length(st->out) <= MAPPER_OUT_LOW) {
			st->inflight = false;
			m->inflight--;
		}
	}
	m->stats.full_map_ns += clock_mono_ns() - t0;
	buf_writer_free(&tail);
}

static void mapper_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mapper *m = arg;
	struct mstream *st;

	/* Full maps come from an up-to-date compilation, and only a flush brings it up to date. */
	if (!TAILQ_EMPTY(&m->queue) && mapper_policy_on(m) && srv_policy_is_dirty(m->pol))
		mapper_flush(m);
	while (m->inflight < MAPPER_FULL_INFLIGHT && (st = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, st, q);
		m->n_queued--;
		st->state = MS_LIVE; /* off the queue: ms_detach must not unlink it again */
		mapper_send_full(m, st);
	}
}

/* ---- keep-alives ------------------------------------------------------------------------- */

static void mapper_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mapper *m = arg;
	uint64_t now = clock_mono_ns();

	for (size_t i = m->n_streams; i-- > 0;) {
		struct mstream *st;
		if (i >= m->n_streams)
			continue;
		st = m->streams[i];
		/*
		 * Queued streams too: behind thousands of full maps a node may wait
		 * minutes for its own, and would otherwise time out, reconnect and
		 * join the queue again at its end.
		 */
		if (now - st->last_send_ns >= (uint64_t)CTRL_KEEPALIVE_NS &&
		    ms_send(st, CTRL_FRAME_KEEPALIVE, "", 0) == 0)
			m->stats.keepalives++;
	}
}

/* ---- state hooks ------------------------------------------------------------------------- */

static void mapper_node_changed(void *arg, struct srv_node *n, uint32_t what)
{
	struct mapper *m = arg;

	/* Registration, tags, owner, name: anything that may change what the policy says. */
	if ((what & SRV_CH_FULL) && m->pol != NULL)
		srv_policy_mark_dirty(m->pol);
	if (n->m_pending == 0) {
		if (m->n_changed == m->cap_changed &&
		    mem_grow((void **)&m->changed, &m->cap_changed, m->n_changed + 1,
			     sizeof(*m->changed)) < 0) {
			log_warnx("out of memory queueing a map change: ending every stream");
			return;
		}
		m->changed[m->n_changed++] = n->rec.id;
	}
	n->m_pending |= what;
	mapper_arm(m);
}

static void mapper_node_removed(void *arg, struct srv_node *n)
{
	struct mapper *m = arg;

	if (m->pol != NULL)
		srv_policy_mark_dirty(m->pol);
	n->m_pending = 0;
	if (n->stream != NULL)
		ms_end(n->stream);
	if (m->n_removed == m->cap_removed &&
	    mem_grow((void **)&m->removed, &m->cap_removed, m->n_removed + 1,
		     sizeof(*m->removed)) < 0) {
		log_warnx("out of memory queueing a removal");
		return;
	}
	m->removed[m->n_removed++] = n->rec.id;
	mapper_arm(m);
}

static void mapper_users_changed(void *arg)
{
	struct mapper *m = arg;

	if (m->pol != NULL)
		srv_policy_mark_dirty(m->pol); /* logins are what the policy names users by */
	m->users_dirty = true;
	mapper_arm(m);
}

/* ---- public ------------------------------------------------------------------------------ */

int mapper_stream_open(struct mapper *m, struct srv_node *n, struct evhttp_request *req,
		       const uint8_t nonce[static CTRL_REQ_NONCE_LEN])
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	struct timeval wtv = { MAPPER_WRITE_TIMEOUT_S, 0 };
	struct mstream *st;

	if (n->stream != NULL)
		ms_end(n->stream); /* one stream per node: the newest wins */
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	if (m->n_streams == m->cap_streams &&
	    mem_grow((void **)&m->streams, &m->cap_streams, m->n_streams + 1,
		     sizeof(*m->streams)) < 0) {
		free(st);
		return -ENOMEM;
	}
	st->m = m;
	st->node = n;
	st->req = req;
	st->conn = conn;
	st->out = bufferevent_get_output(bev);
	memcpy(st->nonce, nonce, CTRL_REQ_NONCE_LEN);
	st->state = MS_QUEUED;
	st->last_send_ns = clock_mono_ns();
	if ((st->cbe = evbuffer_add_cb(st->out, ms_out_cb, st)) == NULL) {
		free(st);
		return -ENOMEM;
	}
	st->slot = m->n_streams;
	m->streams[m->n_streams++] = st;
	TAILQ_INSERT_TAIL(&m->queue, st, q);
	m->n_queued++;
	n->stream = st;
	m->stats.streams_opened++;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/octet-stream");
	evhttp_send_reply_start(req, 200, "OK");
	/*
	 * evhttp's timeout (30 s) applies to reads too, and the node sends
	 * nothing on its stream once the request is in: it would cut every quiet
	 * stream after 30 s. Only a write that stalls that long ends a stream.
	 */
	bufferevent_set_timeouts(bev, NULL, &wtv);
	evhttp_connection_set_closecb(conn, ms_closed, st);
	srv_node_set_online(m->s, n, true);
	event_active(m->pump, 0, 0);
	return 0;
}

void mapper_stream_end(struct mapper *m, struct srv_node *n)
{
	if (n->stream != NULL)
		ms_end(n->stream);
}

int mapper_write_once(struct mapper *m, struct srv_node *n,
		      const uint8_t nonce[static CTRL_REQ_NONCE_LEN], bool omit_peers,
		      struct buf_writer *w)
{
	struct buf_writer tail;
	const char *j;
	size_t len;
	int r;

	if (!omit_peers && mapper_policy_on(m) && srv_policy_is_dirty(m->pol))
		mapper_flush(m);
	buf_writer_growable(&tail, MAPPER_FRAME_MAX);
	if (omit_peers) {
		r = srv_node_json(m->s, n, &j, &len);
		if (r == 0) {
			buf_put_str(&tail, ",\"Self\":");
			r = buf_put_bytes(&tail, j, len);
		}
	} else {
		r = mapper_full_tail(m, n, &tail);
	}
	if (r == 0)
		r = ctrl_frame_write(&n->box, 1, nonce,
				     omit_peers ? CTRL_FRAME_DELTA : CTRL_FRAME_FULL, tail.p,
				     tail.len, w);
	buf_writer_free(&tail);
	return r < 0 ? -ENOMEM : 0;
}

void mapper_set_policy(struct mapper *m, struct srv_policy *p)
{
	m->pol = p;
}

void mapper_policy_changed(struct mapper *m)
{
	mapper_arm(m);
}

size_t mapper_stream_count(const struct mapper *m)
{
	return m->n_streams;
}

size_t mapper_queued_count(const struct mapper *m)
{
	return m->n_queued;
}

const struct mapper_stats *mapper_get_stats(const struct mapper *m)
{
	return &m->stats;
}

int mapper_new(struct event_base *base, struct srv_state *s, struct mapper **out)
{
	static const struct srv_state_hooks hooks = {
		.node_changed = mapper_node_changed,
		.node_removed = mapper_node_removed,
		.users_changed = mapper_users_changed,
	};
	struct timeval tick = { MAPPER_TICK_S, 0 };
	struct mapper *m;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->base = base;
	m->s = s;
	TAILQ_INIT(&m->queue);
	buf_writer_growable(&m->scratch, MAPPER_FRAME_MAX + CTRL_FRAME_OVERHEAD + 1024);
	m->pump = event_new(base, -1, 0, mapper_pump_cb, m);
	m->batch = evtimer_new(base, mapper_batch_cb, m);
	m->tick = event_new(base, -1, EV_PERSIST, mapper_tick_cb, m);
	m->chunk = evbuffer_new();
	if (m->pump == NULL || m->batch == NULL || m->tick == NULL || m->chunk == NULL ||
	    event_add(m->tick, &tick) < 0) {
		mapper_free(m);
		return -ENOMEM;
	}
	srv_state_set_hooks(s, &hooks, m);
	*out = m;
	return 0;
}

void mapper_free(struct mapper *m)
{
	static const struct srv_state_hooks none = { 0 };

	if (m == NULL)
		return;
	while (m->n_streams > 0)
		ms_end(m->streams[m->n_streams - 1]);
	srv_state_set_hooks(m->s, &none, NULL);
	if (m->pump)
		event_free(m->pump);
	if (m->batch)
		event_free(m->batch);
	if (m->tick)
		event_free(m->tick);
	if (m->chunk)
		evbuffer_free(m->chunk);
	buf_writer_free(&m->scratch);
	free(m->streams);
	free(m->changed);
	free(m->removed);
	free(m);
}

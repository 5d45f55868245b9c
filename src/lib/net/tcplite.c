/* SPDX-License-Identifier: ISC */
/* tcplite: a passive-open TCP for request/response over raw segments (see tcplite.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcplite.h"

#define TCPLITE_DEFAULT_MSS 536 /* RFC 1122, when the SYN carries none */
#define TCPLITE_WND_MAX 65535	/* no window scaling */
#define TCPLITE_BUF_MIN 1024

enum tcplite_state {
	TCPLITE_FREE = 0,
	TCPLITE_SYN_RCVD,
	TCPLITE_ESTABLISHED,
	TCPLITE_CLOSE_WAIT, /* the peer sent FIN: finish the replies, then ours */
	TCPLITE_LAST_ACK,   /* our FIN is out */
};

struct tcplite_buf {
	uint8_t *p;
	size_t len, cap;
};

struct tcplite_conn {
	enum tcplite_state st;
	uint32_t gen;
	struct netendpoint local, remote;
	uint32_t irs, iss;
	uint32_t snd_una; /* the oldest unacknowledged sequence number; tx.p[0] once established */
	uint32_t snd_nxt;
	uint32_t rcv_nxt;
	uint32_t peer_wnd;
	uint16_t peer_mss;
	uint16_t adv_wnd; /* the window we last announced */
	bool fin_queued;  /* send FIN once tx is out and nothing is held */
	unsigned holds;	  /* replies the caller still owes (tcplite_hold) */
	bool fin_sent;
	struct tcplite_buf rx, tx;
	uint64_t rto, rto_deadline; /* 0: nothing in flight */
	unsigned retries;
	uint64_t last_rx;
};

struct tcplite {
	struct tcplite_config cfg;
	struct tcplite_ops ops;
	void *arg;
	struct tcplite_conn *c;
	size_t n_used;
	struct tcplite_counters ctr;
};

/* Sequence-space comparisons (RFC 793 3.3): a after b. */
static bool tcplite_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

void tcplite_config_default(struct tcplite_config *c)
{
	c->max_conns = 64;
	c->rx_max = 65537;
	c->tx_max = 4 * 65537;
	c->mss = 1200;
	c->rto_ns = 200000000ULL;
	c->max_retries = 6;
	c->idle_ns = 10000000000ULL;
}

int tcplite_new(const struct tcplite_config *cfg, const struct tcplite_ops *ops, void *arg,
		struct tcplite **out)
{
	struct tcplite *t;

	*out = NULL;
	if (cfg->max_conns == 0 || cfg->max_conns > UINT32_MAX || cfg->rx_max == 0 ||
	    cfg->tx_max == 0 || cfg->mss < 64 || cfg->rto_ns == 0)
		return -EINVAL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	if ((t->c = calloc(cfg->max_conns, sizeof(*t->c))) == NULL) {
		free(t);
		return -ENOMEM;
	}
	t->cfg = *cfg;
	t->ops = *ops;
	t->arg = arg;
	*out = t;
	return 0;
}

static void tcplite_conn_release(struct tcplite *t, struct tcplite_conn *c)
{
	free(c->rx.p);
	free(c->tx.p);
	c->rx = c->tx = (struct tcplite_buf){ 0 };
	c->st = TCPLITE_FREE;
	t->n_used--;
	t->ctr.closed++;
}

void tcplite_free(struct tcplite *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cfg.max_conns; i++)
		if (t->c[i].st != TCPLITE_FREE)
			tcplite_conn_release(t, &t->c[i]);
	free(t->c);
	free(t);
}

static uint64_t tcplite_id(const struct tcplite *t, const struct tcplite_conn *c)
{
	return (uint64_t)c->gen << 32 | (uint64_t)(c - t->c);
}

static struct tcplite_conn *tcplite_by_id(struct tcplite *t, uint64_t id)
{
	uint64_t slot = id & 0xffffffffU;
	struct tcplite_conn *c;

	if (slot >= t->cfg.max_conns)
		return NULL;
	c = &t->c[slot];
	return c->st != TCPLITE_FREE && c->gen == (uint32_t)(id >> 32) ? c : NULL;
}

static struct tcplite_conn *tcplite_lookup(struct tcplite *t, const struct ippkt *p)
{
	for (size_t i = 0; i < t->cfg.max_conns && t->n_used > 0; i++) {
		struct tcplite_conn *c = &t->c[i];
		if (c->st != TCPLITE_FREE && netendpoint_eq(&c->remote, &p->src) &&
		    netendpoint_eq(&c->local, &p->dst))
			return c;
	}
	return NULL;
}

static int tcplite_buf_append(struct tcplite_buf *b, const uint8_t *p, size_t n, size_t max)
{
	if (n == 0)
		return 0;
	if (n > max - b->len)
		return -ENOBUFS;
	if (b->len + n > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : TCPLITE_BUF_MIN;
		uint8_t *q;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((q = realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void tcplite_buf_drop(struct tcplite_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static uint16_t tcplite_window(const struct tcplite *t, const struct tcplite_conn *c)
{
	size_t room = t->cfg.rx_max - c->rx.len;

	return (uint16_t)(room < TCPLITE_WND_MAX ? room : TCPLITE_WND_MAX);
}

static void tcplite_emit(struct tcplite *t, struct tcplite_conn *c, uint32_t seq, uint8_t flags,
			 const uint8_t *data, size_t len)
{
	struct ippkt_tcp_seg s = {
		.src = c->local,
		.dst = c->remote,
		.seq = seq,
		.ack = c->rcv_nxt,
		.flags = flags | IPPKT_TCP_ACK,
		.window = tcplite_window(t, c),
		.mss = (flags & IPPKT_TCP_SYN) ? t->cfg.mss : 0,
		.data = data,
		.len = len,
	};

	c->adv_wnd = s.window;
	t->ops.emit(t->arg, &s);
}

/* A reset for a segment that has no connection (RFC 793 3.4, "reset generation"). */
static void tcplite_reset_reply(struct tcplite *t, const struct ippkt *p)
{
	struct ippkt_tcp_seg s = { .src = p->dst, .dst = p->src };

	if (p->tcp.flags & IPPKT_TCP_ACK) {
		s.seq = p->tcp.ack;
		s.flags = IPPKT_TCP_RST;
	} else {
		s.ack = p->tcp.seq + (uint32_t)p->payload_len + !!(p->tcp.flags & IPPKT_TCP_SYN) +
			!!(p->tcp.flags & IPPKT_TCP_FIN);
		s.flags = IPPKT_TCP_RST | IPPKT_TCP_ACK;
	}
	t->ctr.reset_sent++;
	t->ops.emit(t->arg, &s);
}

/* Ends a connection with RST (timeouts, overflow). */
static void tcplite_abort(struct tcplite *t, struct tcplite_conn *c)
{
	struct ippkt_tcp_seg s = {
		.src = c->local,
		.dst = c->remote,
		.seq = c->snd_nxt,
		.flags = IPPKT_TCP_RST,
	};

	t->ctr.reset_sent++;
	t->ops.emit(t->arg, &s);
	tcplite_conn_release(t, c);
}

/* The retransmission timer runs while something is in flight, or waits on a closed window
 * (then it is the persist timer: tcplite_retransmit probes with one byte). */
static void tcplite_arm(struct tcplite_conn *c, uint64_t now)
{
	if (c->snd_nxt == c->snd_una && c->tx.len == 0)
		c->rto_deadline = 0;
	else if (c->rto_deadline == 0)
		c->rto_deadline = now + c->rto;
}

/* Sends what the window allows from tx, then FIN once everything is out. */
static void tcplite_push(struct tcplite *t, struct tcplite_conn *c, uint64_t now)
{
	size_t off;

	if (c->st == TCPLITE_SYN_RCVD)
		return;
	off = c->snd_nxt - c->snd_una;
	while (off < c->tx.len && off < c->peer_wnd) {
		size_t n = c->tx.len - off;
		if (n > c->peer_mss)
			n = c->peer_mss;
		if (n > c->peer_wnd - off)
			n = c->peer_wnd - off;
		tcplite_emit(t, c, c->snd_una + (uint32_t)off,
			     off + n == c->tx.len ? IPPKT_TCP_PSH : 0, c->tx.p + off, n);
		off += n;
		c->snd_nxt = c->snd_una + (uint32_t)off;
	}
	/* Not while input waits to be read or replies are owed: the caller may still answer. */
	if (c->fin_queued && !c->fin_sent && off == c->tx.len && c->holds == 0 && c->rx.len == 0) {
		tcplite_emit(t, c, c->snd_nxt, IPPKT_TCP_FIN, NULL, 0);
		c->snd_nxt++;
		c->fin_sent = true;
		c->st = TCPLITE_LAST_ACK;
	}
	tcplite_arm(c, now);
}

static void tcplite_syn(struct tcplite *t, const struct ippkt *p, uint64_t now)
{
	struct tcplite_conn *c = NULL;
	uint32_t gen;

	for (size_t i = 0; i < t->cfg.max_conns; i++) {
		if (t->c[i].st == TCPLITE_FREE) {
			c = &t->c[i];
			break;
		}
	}
	if (c == NULL) {
		t->ctr.table_full++;
		tcplite_reset_reply(t, p);
		return;
	}
	gen = c->gen + 1;
	memset(c, 0, sizeof(*c)); /* a free slot holds no buffers */
	c->gen = gen != 0 ? gen : 1;
	c->st = TCPLITE_SYN_RCVD;
	c->local = p->dst;
	c->remote = p->src;
	c->irs = p->tcp.seq;
	c->rcv_nxt = p->tcp.seq + 1;
	c->iss = randombytes_random();
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->peer_mss = p->tcp.mss != 0 ? p->tcp.mss : TCPLITE_DEFAULT_MSS;
	if (c->peer_mss > t->cfg.mss)
		c->peer_mss = t->cfg.mss; /* our MTU bounds what we send, too */
	c->peer_wnd = p->tcp.window;
	c->rto = t->cfg.rto_ns;
	c->last_rx = now;
	t->n_used++;
	t->ctr.syn++;
	tcplite_emit(t, c, c->iss, IPPKT_TCP_SYN, NULL, 0);
	c->rto_deadline = now + c->rto;
}

/* The ACK field of an acceptable segment; false if the connection went away. */
static bool tcplite_ack(struct tcplite *t, struct tcplite_conn *c, const struct ippkt *p,
			uint64_t now)
{
	uint32_t ack = p->tcp.ack;

	if (c->st == TCPLITE_SYN_RCVD) {
		if (ack != c->iss + 1) {
			tcplite_reset_reply(t, p); /* RFC 793 3.9: an unacceptable ACK in SYN-RECEIVED */
			return false;
		}
		c->st = TCPLITE_ESTABLISHED;
		c->snd_una = ack;
		c->retries = 0;
		c->rto = t->cfg.rto_ns;
		c->rto_deadline = 0;
		t->ctr.established++;
	} else if (tcplite_seq_gt(ack, c->snd_nxt)) {
		return true; /* acknowledges what we never sent: ignore the field */
	} else if (tcplite_seq_gt(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una;
		size_t data = acked < c->tx.len ? acked : c->tx.len;
		tcplite_buf_drop(&c->tx, data);
		c->snd_una = ack;
		c->retries = 0;
		c->rto = t->cfg.rto_ns;
		c->rto_deadline = 0;
		if (c->fin_sent && acked > data) {
			tcplite_conn_release(t, c); /* our FIN is acknowledged: done */
			return false;
		}
	}
	c->peer_wnd = p->tcp.window;
	tcplite_arm(c, now);
	return true;
}

/* Data and FIN of an acceptable segment; true if new data arrived. */
static bool tcplite_data(struct tcplite *t, struct tcplite_conn *c, const struct ippkt *p)
{
	bool fin = (p->tcp.flags & IPPKT_TCP_FIN) != 0, got = false;
	size_t take = p->payload_len;

	if (take == 0 && !fin)
		return false;
	if (p->tcp.seq != c->rcv_nxt || c->st == TCPLITE_SYN_RCVD) {
		t->ctr.out_of_order++; /* a duplicate or a gap: say where we are */
		tcplite_emit(t, c, c->snd_nxt, 0, NULL, 0);
		return false;
	}
	if (c->st != TCPLITE_ESTABLISHED) {
		take = 0; /* after the peer's FIN nothing more can come */
		fin = false;
	}
	if (take > t->cfg.rx_max - c->rx.len) {
		take = t->cfg.rx_max - c->rx.len;
		t->ctr.rx_overflow++;
		fin = false;
	}
	if (take > 0 && tcplite_buf_append(&c->rx, p->payload, take, t->cfg.rx_max) < 0) {
		take = 0; /* out of memory: the peer sends it again */
		fin = false;
	}
	c->rcv_nxt += (uint32_t)take;
	got = take > 0;
	if (fin) {
		c->rcv_nxt++;
		c->fin_queued = true;
		c->st = TCPLITE_CLOSE_WAIT;
	}
	tcplite_emit(t, c, c->snd_nxt, 0, NULL, 0);
	return got;
}

bool tcplite_input(struct tcplite *t, const struct ippkt *p, uint64_t now, uint64_t *conn)
{
	struct tcplite_conn *c = tcplite_lookup(t, p);
	uint8_t fl = p->tcp.flags;
	bool got;

	*conn = 0;
	if (c != NULL && (fl & IPPKT_TCP_SYN) && !(fl & IPPKT_TCP_ACK) &&
	    !(c->st == TCPLITE_SYN_RCVD && p->tcp.seq == c->irs)) {
		/* A new connection on the tuple of one we still hold: the old one is dead. */
		tcplite_conn_release(t, c);
		c = NULL;
	}
	if (c == NULL) {
		if (fl & IPPKT_TCP_RST)
			t->ctr.no_conn++;
		else if ((fl & IPPKT_TCP_SYN) && !(fl & IPPKT_TCP_ACK))
			tcplite_syn(t, p, now);
		else {
			t->ctr.no_conn++;
			tcplite_reset_reply(t, p);
		}
		return false;
	}
	if (fl & IPPKT_TCP_RST) {
		/* Only a reset at the edge of our window ends it (RFC 5961 3.2's strict form). */
		if (p->tcp.seq == c->rcv_nxt) {
			t->ctr.rst_received++;
			tcplite_conn_release(t, c);
		}
		return false;
	}
	c->last_rx = now;
	if (fl & IPPKT_TCP_SYN) {
		if (c->st == TCPLITE_SYN_RCVD) /* our SYN-ACK was lost: again */
			tcplite_emit(t, c, c->iss, IPPKT_TCP_SYN, NULL, 0);
		return false;
	}
	if (!(fl & IPPKT_TCP_ACK) || !tcplite_ack(t, c, p, now))
		return false;
	got = tcplite_data(t, c, p);
	tcplite_push(t, c, now);
	if (got)
		*conn = tcplite_id(t, c);
	return got;
}

bool tcplite_rx(struct tcplite *t, uint64_t conn, const uint8_t **p, size_t *len)
{
	struct tcplite_conn *c = tcplite_by_id(t, conn);

	if (c == NULL)
		return false;
	*p = c->rx.p;
	*len = c->rx.len;
	return true;
}

void tcplite_rx_consume(struct tcplite *t, uint64_t conn, size_t n)
{
	struct tcplite_conn *c = tcplite_by_id(t, conn);
	uint16_t before;

	if (c == NULL)
		return;
	before = c->adv_wnd;
	tcplite_buf_drop(&c->rx, n);
	/* A window we had nearly closed opens again: tell the peer, or it waits for the idle reset. */
	if (before < c->peer_mss && tcplite_window(t, c) >= c->peer_mss)
		tcplite_emit(t, c, c->snd_nxt, 0, NULL, 0);
}

int tcplite_send(struct tcplite *t, uint64_t conn, const uint8_t *data, size_t len, uint64_t now)
{
	struct tcplite_conn *c = tcplite_by_id(t, conn);
	int r;

	if (c == NULL || c->fin_sent)
		return -ENOENT;
	if ((r = tcplite_buf_append(&c->tx, data, len, t->cfg.tx_max)) < 0) {
		t->ctr.tx_overflow++;
		tcplite_abort(t, c);
		return r == -ENOMEM ? r : -ENOBUFS;
	}
	tcplite_push(t, c, now);
	return 0;
}

void tcplite_hold(struct tcplite *t, uint64_t conn)
{
	struct tcplite_conn *c = tcplite_by_id(t, conn);

	if (c != NULL)
		c->holds++;
}

void tcplite_unhold(struct tcplite *t, uint64_t conn, uint64_t now)
{
	struct tcplite_conn *c = tcplite_by_id(t, conn);

	if (c == NULL || c->holds == 0)
		return;
	c->holds--;
	tcplite_push(t, c, now);
}

static void tcplite_retransmit(struct tcplite *t, struct tcplite_conn *c, uint64_t now)
{
	if (++c->retries > t->cfg.max_retries) {
		t->ctr.timeouts++;
		tcplite_abort(t, c);
		return;
	}
	t->ctr.retransmits++;
	c->rto *= 2;
	c->rto_deadline = 0;
	if (c->st == TCPLITE_SYN_RCVD) {
		tcplite_emit(t, c, c->iss, IPPKT_TCP_SYN, NULL, 0);
		c->rto_deadline = now + c->rto;
		return;
	}
	/* Go back to the oldest unacknowledged byte and send it all again. */
	c->snd_nxt = c->snd_una;
	if (c->fin_sent) {
		c->fin_sent = false;
		c->st = TCPLITE_CLOSE_WAIT;
	}
	if (c->peer_wnd == 0 && c->tx.len > 0) {
		/* A zero window: probe it with one byte, as a persist timer would. */
		tcplite_emit(t, c, c->snd_una, 0, c->tx.p, 1);
		c->snd_nxt = c->snd_una + 1;
		tcplite_arm(c, now);
		return;
	}
	tcplite_push(t, c, now);
}

void tcplite_expire(struct tcplite *t, uint64_t now)
{
	for (size_t i = 0; i < t->cfg.max_conns && t->n_used > 0; i++) {
		struct tcplite_conn *c = &t->c[i];
		if (c->st == TCPLITE_FREE)
			continue;
		if (now - c->last_rx >= t->cfg.idle_ns) {
			t->ctr.idle++;
			tcplite_abort(t, c);
			continue;
		}
		if (c->rto_deadline != 0 && now >= c->rto_deadline)
			tcplite_retransmit(t, c, now);
	}
}

uint64_t tcplite_next_deadline(const struct tcplite *t)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < t->cfg.max_conns && t->n_used > 0; i++) {
		const struct tcplite_conn *c = &t->c[i];
		if (c->st == TCPLITE_FREE)
			continue;
		if (c->last_rx + t->cfg.idle_ns < d)
			d = c->last_rx + t->cfg.idle_ns;
		if (c->rto_deadline != 0 && c->rto_deadline < d)
			d = c->rto_deadline;
	}
	return d;
}

size_t tcplite_count(const struct tcplite *t)
{
	return t->n_used;
}

const struct tcplite_counters *tcplite_counters(const struct tcplite *t)
{
	return &t->ctr;
}

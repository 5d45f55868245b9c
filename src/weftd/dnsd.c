/* SPDX-License-Identifier: ISC */
/* dnsd: the MagicDNS resolver's I/O: TUN packets in and out, upstream sockets (see dnsd.h). */
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "dns/dnsresolver.h"
#include "dns/dnstable.h"
#include "net/ippkt.h"
#include "net/tcplite.h"
#include "weftd/dnsd.h"
#include "weftd/engine.h"

#define DNSD_PORT 53
/* Resolver output: room for IP/UDP or the TCP length in front of the largest message. */
#define DNSD_OUT_OFF (IPPKT_HDR_MAX + 2)
#define DNSD_BUF_LEN (DNSD_OUT_OFF + DNSMSG_MSG_MAX)
#define DNSD_PKT_LEN 2048
/* Upstream UDP: a socket per query (a fresh source port each time) up to this many at once. */
#define DNSD_USOCK_MAX 64
#define DNSD_USOCK_LINGER_NS (5 * CLOCK_NS_PER_SEC)
#define DNSD_RECV_BUDGET 32
#define DNSD_TCP_UP_MAX 32
#define DNSD_TCP_UP_TIMEOUT_S 5

#define DNSD_COUNTERS(X)                                                                           \
	X(pkt_bad)                                                                                 \
	X(pkt_not_dns)                                                                             \
	X(tun_write_errors)                                                                        \
	X(udp_sockets)                                                                             \
	X(udp_socket_reuse)                                                                        \
	X(udp_send_errors)                                                                         \
	X(tcp_upstream)                                                                            \
	X(tcp_upstream_errors)                                                                     \
	X(tcp_upstream_full)                                                                       \
	X(api_queries)

struct dnsd_counters {
#define DNSD_COUNTER_FIELD(name) uint64_t name;
	DNSD_COUNTERS(DNSD_COUNTER_FIELD)
#undef DNSD_COUNTER_FIELD
};

struct dnsd_usock {
	struct dnsd *d;
	int fd;
	int family;
	struct event *ev;
	unsigned pending; /* queries sent and not answered */
	uint64_t expires; /* closed then, answered or not */
};

/* One forwarded query over TCP: connect, send, read one reply, close. */
struct dnsd_tcpup {
	struct dnsd *d;
	struct bufferevent *bev;
	struct netendpoint up;
	struct dnsd_tcpup *prev, *next;
};

struct dnsd_query {
	struct dnsd *d;
	uint64_t serial;
	void (*cb)(void *arg, const uint8_t *msg, size_t len);
	void *arg;
	struct dnsd_query *prev, *next;
};

struct dnsd {
	struct event_base *base;
	struct engine *engine;
	struct dnsresolver *r;
	struct dnsresolver_config rcfg;
	struct tcplite *tcp;
	struct event *timer;
	uint64_t timer_at; /* UINT64_MAX: not armed */
	struct dnsd_usock *us[DNSD_USOCK_MAX];
	size_t n_us;
	struct dnsd_tcpup *tcpups;
	size_t n_tcpups;
	struct dnsd_query *queries;
	uint64_t serial;
	uint8_t *buf; /* DNSD_BUF_LEN: the resolver writes at DNSD_OUT_OFF */
	uint8_t pkt[DNSD_PKT_LEN];
	struct dnsd_counters ctr;
};

static void dnsd_act(struct dnsd *d, const struct dnsresolver_verdict *v, uint64_t now);

/* ---- timers --------------------------------------------------------------------------- */

/* Makes the timer fire no later than `at`. */
static void dnsd_arm_at(struct dnsd *d, uint64_t at)
{
	uint64_t now, delta;
	struct timeval tv;

	if (at >= d->timer_at)
		return;
	now = clock_mono_ns();
	delta = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(delta / CLOCK_NS_PER_SEC);
	tv.tv_usec = (suseconds_t)(delta % CLOCK_NS_PER_SEC / 1000) + 1;
	if (evtimer_add(d->timer, &tv) == 0)
		d->timer_at = at;
}

static void dnsd_usock_close(struct dnsd *d, size_t i)
{
	struct dnsd_usock *s = d->us[i];

	event_free(s->ev);
	close(s->fd);
	free(s);
	d->us[i] = d->us[--d->n_us];
}

static void dnsd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd *d = arg;
	struct dnsresolver_verdict v;
	uint64_t now = clock_mono_ns(), next;

	(void)fd;
	(void)what;
	d->timer_at = UINT64_MAX;
	while (dnsresolver_expire(d->r, now, d->buf + DNSD_OUT_OFF, DNSMSG_MSG_MAX, &v))
		dnsd_act(d, &v, now);
	tcplite_expire(d->tcp, now);
	for (size_t i = 0; i < d->n_us;) {
		if (d->us[i]->expires <= now)
			dnsd_usock_close(d, i);
		else
			i++;
	}
	next = dnsresolver_next_deadline(d->r);
	if (tcplite_next_deadline(d->tcp) < next)
		next = tcplite_next_deadline(d->tcp);
	for (size_t i = 0; i < d->n_us; i++)
		if (d->us[i]->expires < next)
			next = d->us[i]->expires;
	if (next != UINT64_MAX)
		dnsd_arm_at(d, next);
}

/* ---- replies into the TUN ------------------------------------------------------------- */

static void dnsd_tun_write(struct dnsd *d, const uint8_t *ip, size_t len)
{
	if (engine_tun_write(d->engine, ip, len) < 0)
		d->ctr.tun_write_errors++;
}

static struct netendpoint dnsd_self(const struct netendpoint *client)
{
	struct netendpoint self = {
		.addr = client->addr.family == NETADDR_V6 ? dnstable_quad100_v6 : dnstable_quad100_v4,
		.port = DNSD_PORT,
	};

	return self;
}

static void dnsd_tcp_emit(void *arg, const struct ippkt_tcp_seg *s)
{
	struct dnsd *d = arg;
	int n = ippkt_tcp_build(d->pkt, sizeof(d->pkt), s);

	if (n < 0) {
		d->ctr.tun_write_errors++;
		return;
	}
	dnsd_tun_write(d, d->pkt, (size_t)n);
}

static void dnsd_reply_udp(struct dnsd *d, const struct dnsresolver_verdict *v)
{
	struct netendpoint self = dnsd_self(&v->client.ep);
	int n = ippkt_udp_build(d->buf, DNSD_BUF_LEN, &self, &v->client.ep,
				d->buf + DNSD_OUT_OFF, v->len);

	if (n < 0) {
		d->ctr.tun_write_errors++;
		return;
	}
	dnsd_tun_write(d, d->buf, (size_t)n);
}

static void dnsd_reply_tcp(struct dnsd *d, const struct dnsresolver_verdict *v, uint64_t now)
{
	uint8_t *p = d->buf + DNSD_OUT_OFF - 2;

	buf_store_be16(p, (uint16_t)v->len);
	/* A connection that is gone or overflowing is the client's loss, counted by tcplite. */
	if (tcplite_send(d->tcp, v->client.tag, p, v->len + 2, now) < 0)
		log_debug_rl("dns: a TCP client went away before its answer");
	tcplite_unhold(d->tcp, v->client.tag, now);
	dnsd_arm_at(d, tcplite_next_deadline(d->tcp));
}

static void dnsd_reply_api(struct dnsd *d, const struct dnsresolver_verdict *v)
{
	struct dnsd_query *q;

	for (q = d->queries; q != NULL; q = q->next)
		if (q->serial == v->client.tag)
			break;
	if (q == NULL)
		return; /* cancelled: the caller went away */
	q->cb(q->arg, d->buf + DNSD_OUT_OFF, v->len);
	dnsd_query_cancel(d, q);
}

/* ---- upstream UDP --------------------------------------------------------------------- */

static void dnsd_usock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsd_usock *s = arg;
	struct dnsd *d = s->d;
	struct sockaddr_storage ss;
	struct dnsresolver_verdict v;
	struct netendpoint from;
	uint8_t msg[DNSMSG_MSG_MAX];

	(void)what;
	for (int i = 0; i < DNSD_RECV_BUDGET; i++) {
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, &sl);
		uint64_t now;
		if (n < 0)
			break; /* EAGAIN, or an ICMP error for an earlier send: the timeout handles it */
		if (netendpoint_from_sockaddr(&from, (struct sockaddr *)&ss, sl) < 0)
			continue;
		netaddr_unmap(&from.addr);
		now = clock_mono_ns();
		if (dnsresolver_upstream(d->r, msg, (size_t)n, &from, now, d->buf + DNSD_OUT_OFF,
					 DNSMSG_MSG_MAX, &v) == 0)
			dnsd_act(d, &v, now);
		if (s->pending > 0)
			s->pending--;
	}
	if (s->pending == 0) {
		/* Everything sent on it is answered: give the port back now. */
		for (size_t i = 0; i < d->n_us; i++) {
			if (d->us[i] == s) {
				dnsd_usock_close(d, i);
				break;
			}
		}
	}
}

static struct dnsd_usock *dnsd_usock_get(struct dnsd *d, int family)
{
	struct dnsd_usock *s;
	size_t same = 0;

	if (d->n_us == DNSD_USOCK_MAX) {
		/* At the cap: share one of the open ones, picked at random. */
		for (size_t i = 0; i < d->n_us; i++)
			same += d->us[i]->family == family;
		if (same == 0)
			return NULL;
		same = randombytes_uniform((uint32_t)same);
		for (size_t i = 0; i < d->n_us; i++) {
			if (d->us[i]->family == family && same-- == 0) {
				d->ctr.udp_socket_reuse++;
				return d->us[i];
			}
		}
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->d = d;
	s->family = family;
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	s->ev = event_new(d->base, s->fd, EV_READ | EV_PERSIST, dnsd_usock_cb, s);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		close(s->fd);
		free(s);
		return NULL;
	}
	d->us[d->n_us++] = s;
	d->ctr.udp_sockets++;
	return s;
}

static void dnsd_forward_udp(struct dnsd *d, const struct dnsresolver_verdict *v, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = netendpoint_to_sockaddr(&v->upstream, &ss);
	struct dnsd_usock *s = dnsd_usock_get(d, ss.ss_family);

	if (s == NULL || sl == 0 ||
	    sendto(s->fd, d->buf + DNSD_OUT_OFF, v->len, 0, (struct sockaddr *)&ss, sl) < 0) {
		/* The resolver's timers move on to the next upstream, then SERVFAIL. */
		d->ctr.udp_send_errors++;
		log_debug_rl("dns: cannot send to an upstream: %s", strerror(errno));
		return;
	}
	s->pending++;
	s->expires = now + DNSD_USOCK_LINGER_NS;
	dnsd_arm_at(d, s->expires);
}

/* ---- upstream TCP --------------------------------------------------------------------- */

static void dnsd_tcpup_free(struct dnsd_tcpup *t)
{
	struct dnsd *d = t->d;

	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		d->tcpups = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	d->n_tcpups--;
	bufferevent_free(t->bev);
	free(t);
}

static void dnsd_tcpup_read(struct bufferevent *bev, void *arg)
{
	struct dnsd_tcpup *t = arg;
	struct dnsd *d = t->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct dnsresolver_verdict v;
	uint8_t lenb[2], *msg;
	size_t mlen;
	uint64_t now;

	if (evbuffer_copyout(in, lenb, 2) != 2)
		return;
	mlen = buf_load_be16(lenb);
	if (evbuffer_get_length(in) < 2 + mlen)
		return;
	msg = evbuffer_pullup(in, (ssize_t)(2 + mlen));
	now = clock_mono_ns();
	if (msg != NULL && dnsresolver_upstream(d->r, msg + 2, mlen, &t->up, now,
						d->buf + DNSD_OUT_OFF, DNSMSG_MSG_MAX, &v) == 0) {
		dnsd_tcpup_free(t); /* before acting: the verdict may open another */
		dnsd_act(d, &v, now);
		return;
	}
	dnsd_tcpup_free(t);
}

static void dnsd_tcpup_event(struct bufferevent *bev, short what, void *arg)
{
	struct dnsd_tcpup *t = arg;

	(void)bev;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		t->d->ctr.tcp_upstream_errors++;
		dnsd_tcpup_free(t); /* the resolver's timers take it from here */
	}
}

static void dnsd_forward_tcp(struct dnsd *d, const struct dnsresolver_verdict *v)
{
	struct timeval to = { DNSD_TCP_UP_TIMEOUT_S, 0 };
	struct sockaddr_storage ss;
	socklen_t sl = netendpoint_to_sockaddr(&v->upstream, &ss);
	struct dnsd_tcpup *t;
	uint8_t *p = d->buf + DNSD_OUT_OFF - 2;

	if (d->n_tcpups >= DNSD_TCP_UP_MAX) {
		d->ctr.tcp_upstream_full++;
		return;
	}
	if (sl == 0 || (t = calloc(1, sizeof(*t))) == NULL) {
		d->ctr.tcp_upstream_errors++;
		return;
	}
	t->d = d;
	t->up = v->upstream;
	t->bev = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	buf_store_be16(p, (uint16_t)v->len);
	if (t->bev == NULL ||
	    bufferevent_socket_connect(t->bev, (struct sockaddr *)&ss, (int)sl) < 0 ||
	    bufferevent_write(t->bev, p, v->len + 2) < 0) {
		if (t->bev != NULL)
			bufferevent_free(t->bev);
		free(t);
		d->ctr.tcp_upstream_errors++;
		return;
	}
	bufferevent_setcb(t->bev, dnsd_tcpup_read, NULL, dnsd_tcpup_event, t);
	bufferevent_set_timeouts(t->bev, &to, &to);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	t->next = d->tcpups;
	if (d->tcpups != NULL)
		d->tcpups->prev = t;
	d->tcpups = t;
	d->n_tcpups++;
	d->ctr.tcp_upstream++;
}

/* ---- verdicts ------------------------------------------------------------------------- */

/* Who a client is: tag 0 over UDP is a TUN client, other UDP tags are API queries, TCP tags tcplite ids. */
static void dnsd_act(struct dnsd *d, const struct dnsresolver_verdict *v, uint64_t now)
{
	switch (v->action) {
	case DNSRESOLVER_REPLY:
		if (v->client.transport == DNSRESOLVER_TCP)
			dnsd_reply_tcp(d, v, now);
		else if (v->client.tag != 0)
			dnsd_reply_api(d, v);
		else
			dnsd_reply_udp(d, v);
		break;
	case DNSRESOLVER_FORWARD:
		if (v->transport == DNSRESOLVER_TCP)
			dnsd_forward_tcp(d, v);
		else
			dnsd_forward_udp(d, v, now);
		dnsd_arm_at(d, now + d->rcfg.attempt_timeout_ns);
		break;
	case DNSRESOLVER_DROP:
		if (v->client.transport == DNSRESOLVER_TCP)
			tcplite_unhold(d->tcp, v->client.tag, now);
		break;
	}
}

/* ---- queries from the TUN ------------------------------------------------------------- */

/* Every complete length-prefixed message on a connection becomes a query. */
static void dnsd_tcp_drain(struct dnsd *d, uint64_t conn, const struct netendpoint *peer,
			   uint64_t now)
{
	struct dnsresolver_client c = { .ep = *peer, .tag = conn, .transport = DNSRESOLVER_TCP };
	struct dnsresolver_verdict v;
	const uint8_t *p;
	size_t n, mlen;

	while (tcplite_rx(d->tcp, conn, &p, &n) && n >= 2 && n >= 2 + (mlen = buf_load_be16(p))) {
		tcplite_hold(d->tcp, conn);
		if (dnsresolver_query(d->r, p + 2, mlen, &c, now, d->buf + DNSD_OUT_OFF,
				      DNSMSG_MSG_MAX, &v) < 0) {
			v.action = DNSRESOLVER_DROP; /* cannot happen: the buffer is large enough */
			v.client = c;
		}
		/* Consumed first: acting may send, and the reply must not see stale input. */
		tcplite_rx_consume(d->tcp, conn, 2 + mlen);
		dnsd_act(d, &v, now);
	}
}

static void dnsd_packet(void *arg, const uint8_t *ip, size_t len)
{
	struct dnsd *d = arg;
	struct dnsresolver_client c = { .transport = DNSRESOLVER_UDP };
	struct dnsresolver_verdict v;
	enum ippkt_status st;
	struct ippkt p;
	uint64_t now = clock_mono_ns(), conn;

	st = ippkt_parse(ip, len, &p);
	if (st == IPPKT_E_PROTO || (st == IPPKT_OK && p.dst.port != DNSD_PORT)) {
		d->ctr.pkt_not_dns++;
		return;
	}
	if (st != IPPKT_OK) {
		d->ctr.pkt_bad++;
		log_debug_rl("dns: dropping a packet for 100.100.100.100: %s", ippkt_status_str(st));
		return;
	}
	if (p.proto == IPPKT_PROTO_UDP) {
		c.ep = p.src;
		if (dnsresolver_query(d->r, p.payload, p.payload_len, &c, now,
				      d->buf + DNSD_OUT_OFF, DNSMSG_MSG_MAX, &v) == 0)
			dnsd_act(d, &v, now);
		return;
	}
	if (tcplite_input(d->tcp, &p, now, &conn))
		dnsd_tcp_drain(d, conn, &p.src, now);
	dnsd_arm_at(d, tcplite_next_deadline(d->tcp));
}

/* ---- queries from the local API ------------------------------------------------------- */

int dnsd_query_start(struct dnsd *d, const struct dnsmsg_question *q,
		     void (*cb)(void *arg, const uint8_t *msg, size_t len), void *arg,
		     struct dnsd_query **out)
{
	struct dnsresolver_client c = { .transport = DNSRESOLVER_UDP };
	struct dnsresolver_verdict v;
	struct dnsd_query *dq;
	uint8_t msg[DNSMSG_HDR_LEN + DNSMSG_NAME_MAX + 4 + DNSMSG_OPT_LEN];
	static const uint8_t loopback[4] = { 127, 0, 0, 1 }; /* only echoed back to us */
	uint64_t now = clock_mono_ns();
	int n;

	*out = NULL;
	n = dnsmsg_query_build(msg, sizeof(msg), (uint16_t)randombytes_uniform(65536),
			       DNSMSG_F_RD, q, true, d->rcfg.udp_payload, false);
	if (n < 0)
		return n;
	if ((dq = calloc(1, sizeof(*dq))) == NULL)
		return -ENOMEM;
	dq->d = d;
	dq->serial = ++d->serial;
	dq->cb = cb;
	dq->arg = arg;
	dq->next = d->queries;
	if (d->queries != NULL)
		d->queries->prev = dq;
	d->queries = dq;
	d->ctr.api_queries++;
	netaddr_from_v4(&c.ep.addr, loopback);
	c.tag = dq->serial;
	*out = dq;
	if (dnsresolver_query(d->r, msg, (size_t)n, &c, now, d->buf + DNSD_OUT_OFF,
			      DNSMSG_MSG_MAX, &v) == 0)
		dnsd_act(d, &v, now); /* may answer at once: see dnsd.h */
	return 0;
}

void dnsd_query_cancel(struct dnsd *d, struct dnsd_query *q)
{
	if (q == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		d->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	free(q);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int dnsd_new(struct event_base *base, struct engine *e, struct dnsd **out)
{
	const struct netaddr addrs[2] = { dnstable_quad100_v4, dnstable_quad100_v6 };
	struct tcplite_ops ops = { .emit = dnsd_tcp_emit };
	struct tcplite_config tcfg;
	struct dnsd *d;
	int r = -ENOMEM;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->base = base;
	d->engine = e;
	d->timer_at = UINT64_MAX;
	dnsresolver_config_default(&d->rcfg);
	tcplite_config_default(&tcfg);
	if ((d->buf = malloc(DNSD_BUF_LEN)) == NULL ||
	    (d->timer = evtimer_new(base, dnsd_timer_cb, d)) == NULL ||
	    (r = dnsresolver_new(&d->rcfg, &d->r)) < 0 || (r = tcplite_new(&tcfg, &ops, d, &d->tcp)) < 0)
		goto fail;
	engine_set_local_hook(e, addrs, 2, dnsd_packet, d);
	*out = d;
	return 0;
fail:
	dnsd_free(d);
	return r < 0 ? r : -ENOMEM;
}

void dnsd_free(struct dnsd *d)
{
	if (d == NULL)
		return;
	if (d->engine != NULL)
		engine_set_local_hook(d->engine, NULL, 0, NULL, NULL);
	while (d->queries != NULL)
		dnsd_query_cancel(d, d->queries);
	while (d->tcpups != NULL)
		dnsd_tcpup_free(d->tcpups);
	while (d->n_us > 0)
		dnsd_usock_close(d, d->n_us - 1);
	if (d->timer != NULL)
		event_free(d->timer);
	tcplite_free(d->tcp);
	dnsresolver_free(d->r);
	free(d->buf);
	free(d);
}

void dnsd_set_table(struct dnsd *d, struct dnstable *t)
{
	dnsresolver_set_table(d->r, t);
}

const struct dnstable *dnsd_table(const struct dnsd *d)
{
	return dnsresolver_table(d->r);
}

/* ---- counters ------------------------------------------------------------------------- */

#define DNSD_R_COUNTERS(X)                                                                         \
	X(queries_udp) X(queries_tcp) X(local) X(nxdomain) X(nodata) X(truncated) X(cache_hits)   \
	X(forwarded) X(retransmits) X(upstream_replies) X(upstream_timeouts) X(formerr)           \
	X(notimp) X(refused) X(servfail) X(badvers) X(drop_short) X(drop_not_query)               \
	X(upstream_bad) X(upstream_unmatched) X(upstream_failover) X(fwd_full)

#define DNSD_T_COUNTERS(X)                                                                         \
	X(syn) X(established) X(closed) X(reset_sent) X(rst_received) X(table_full) X(no_conn)    \
	X(out_of_order) X(rx_overflow) X(tx_overflow) X(retransmits) X(timeouts) X(idle)

json_t *dnsd_counters_json(const struct dnsd *d)
{
	const struct dnsresolver_counters *rc = dnsresolver_counters(d->r);
	const struct tcplite_counters *tc = tcplite_counters(d->tcp);
	struct dnscache_stats cs;
	json_t *o = json_object();
	int bad = o == NULL;

	dnsresolver_cache_stats(d->r, &cs);
#define DNSD_J(prefix, src, name)                                                                  \
	bad |= json_object_set_new(o, prefix #name, json_integer((json_int_t)(src)->name));
#define DNSD_J_R(name) DNSD_J("dns_", rc, name)
#define DNSD_J_T(name) DNSD_J("dns_tcp_", tc, name)
#define DNSD_J_D(name) DNSD_J("dns_", &d->ctr, name)
	DNSD_R_COUNTERS(DNSD_J_R)
	DNSD_T_COUNTERS(DNSD_J_T)
	DNSD_COUNTERS(DNSD_J_D)
	DNSD_J("dns_cache_", &cs, hits)
	DNSD_J("dns_cache_", &cs, misses)
	DNSD_J("dns_cache_", &cs, expired)
	DNSD_J("dns_cache_", &cs, inserts)
	DNSD_J("dns_cache_", &cs, evictions)
	DNSD_J("dns_cache_", &cs, uncacheable)
	DNSD_J("dns_cache_", &cs, entries)
	DNSD_J("dns_cache_", &cs, bytes)
#undef DNSD_J_D
#undef DNSD_J_T
#undef DNSD_J_R
#undef DNSD_J
	bad |= json_object_set_new(o, "dns_outstanding",
				   json_integer((json_int_t)dnsresolver_outstanding(d->r)));
	bad |= json_object_set_new(o, "dns_tcp_connections",
				   json_integer((json_int_t)tcplite_count(d->tcp)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

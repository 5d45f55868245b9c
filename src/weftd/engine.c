/* SPDX-License-Identifier: ISC */
/*
 * engine: lifecycle, the UDP socket and the control-thread side of the data
 * plane (handshake queue, timers); the data threads live in engine_tx.c and
 * engine_rx.c (see engine.h and engine_int.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "crypto/aead.h"
#include "net/offload.h"
#include "wg/keypair.h"
#include "wg/device.h"
#include "weftd/engine_int.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define ENGINE_TICK_MS 100
#define ENGINE_SOCKBUF (7 * 1024 * 1024)
#define ENGINE_HS_BUDGET 64

/* ---- UDP socket ----------------------------------------------------------------------- */

static void engine_sockbufs(int fd)
{
	int v = ENGINE_SOCKBUF;

	/* The FORCE variants exceed rmem_max as root; without them, take what we get. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/*
 * Clear DF on IPv4 datagrams, as kernel WireGuard does: a router on a path
 * narrower than our packets then fragments them instead of dropping them,
 * which keeps the tunnel alive on paths that also filter ICMP (a PMTU black
 * hole). Best effort: without it we still work where ICMP gets through.
 */
static void engine_no_df(int fd)
{
	int v = IP_PMTUDISC_DONT;

	(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
}

/* A bound, non-blocking, dual-stack socket (IPv4-only if IPv6 is unavailable). */
static int engine_udp_socket(uint16_t port, uint32_t fwmark, bool gro, bool *v6, bool *got_gro,
			     uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, zero = 0, one = 1, r;

	memset(&ss, 0, sizeof(ss));
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
		*v6 = true;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		if (fd >= 0)
			close(fd);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
		*v6 = false;
	}
	if (fwmark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto fail;
	engine_sockbufs(fd);
	engine_no_df(fd);
	*got_gro = gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sin6 */
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

socklen_t engine_dest(const struct engine *e, const struct netendpoint *to,
		      struct sockaddr_storage *ss)
{
	if (to->addr.family == NETADDR_V6 && !e->v6)
		return 0;
	/* A dual-stack AF_INET6 socket takes AF_INET destinations as they are. */
	return netendpoint_to_sockaddr(to, ss);
}

static void engine_send(void *arg, struct wg_peer *peer, const struct netendpoint *to,
			const uint8_t *pkt, size_t len)
{
	struct engine *e = arg;
	struct sockaddr_storage ss;
	socklen_t sl = engine_dest(e, to, &ss);

	(void)peer;
	if (engine_divert(e, to, pkt, len))
		return;
	if (sl == 0 || sendto(e->udp_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
		engine_count(&e->counters.udp_send_errors);
}

static uint64_t engine_wall(void *arg)
{
	(void)arg;
	return clock_real_ns();
}

static const struct wg_device_ops engine_ops = {
	.send = engine_send,
	.wall_ns = engine_wall,
};

/* ---- shared with the threads ---------------------------------------------------------- */

bool engine_wait(struct engine *e, int fd, int wake_efd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = wake_efd, .events = POLLIN } };
	uint64_t v;

	while (!atomic_load(&e->stopping)) {
		int n = poll(p, 2, 1000);
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && (p[1].revents & POLLIN)) {
			/* Woken: to stop (checked above), or because fd now names a new socket. */
			if (read(wake_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return false;
			return !atomic_load(&e->stopping);
		}
		if (n > 0 && (p[0].revents & (POLLIN | POLLERR | POLLHUP)))
			return true;
	}
	return false;
}

static void engine_wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
}

bool engine_hsq_push(struct engine *e, const uint8_t *pkt, size_t len,
		     const struct netendpoint *src)
{
	struct engine_hs *h;
	bool ok = false;

	pthread_mutex_lock(&e->hsq_lock);
	if (e->hsq_count < ENGINE_HSQ_LEN) {
		h = &e->hsq[(e->hsq_head + e->hsq_count) % ENGINE_HSQ_LEN];
		memcpy(h->buf, pkt, len);
		h->len = len;
		h->src = *src;
		e->hsq_count++;
		ok = true;
	}
	pthread_mutex_unlock(&e->hsq_lock);
	if (!ok)
		engine_count(&e->counters.hs_queue_full);
	return ok;
}

void engine_hsq_notify(struct engine *e)
{
	uint64_t one = 1;

	if (write(e->hs_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
}

/* ---- control thread ------------------------------------------------------------------- */

/* Under load while the queue is long, and for a second after (the kernel's rule). */
static bool engine_under_load(struct engine *e, uint64_t now)
{
	if (e->hsq_count >= ENGINE_UNDER_LOAD_LEN) {
		e->last_under_load_ns = now;
		return true;
	}
	return e->last_under_load_ns != 0 && now - e->last_under_load_ns < CLOCK_NS_PER_SEC;
}

static bool engine_hsq_pop(struct engine *e, struct engine_hs *h, bool *under_load,
			   uint64_t now)
{
	bool ok = false;

	pthread_mutex_lock(&e->hsq_lock);
	if (e->hsq_count > 0) {
		*under_load = engine_under_load(e, now);
		*h = e->hsq[e->hsq_head];
		e->hsq_head = (e->hsq_head + 1) % ENGINE_HSQ_LEN;
		e->hsq_count--;
		ok = true;
	}
	pthread_mutex_unlock(&e->hsq_lock);
	return ok;
}

static void engine_hs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct engine_hs h;
	bool under_load = false;
	uint64_t v;
	int budget = ENGINE_HS_BUDGET;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
	for (;;) {
		uint64_t now = clock_mono_ns();
		if (!engine_hsq_pop(e, &h, &under_load, now))
			break;
		pthread_mutex_lock(&e->lock);
		wg_device_handshake_input(e->dev, h.buf, h.len, &h.src, under_load, now);
		pthread_mutex_unlock(&e->lock);
		if (--budget == 0) {
			/* Let the loop serve configuration and timers; come back at once. */
			engine_hsq_notify(e);
			break;
		}
	}
	mem_wipe(&h, sizeof(h));
}

static void engine_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	unsigned mtu;

	if (tun_get_mtu(&e->tun, &mtu) == 0 && mtu != atomic_load(&e->mtu))
		atomic_store(&e->mtu, mtu);
	pthread_mutex_lock(&e->lock);
	wg_device_set_mtu(e->dev, atomic_load(&e->mtu));
	wg_device_tick(e->dev, clock_mono_ns());
	pthread_mutex_unlock(&e->lock);
	engine_filter_tick(e);
	if (atomic_load(&e->dead) || !tun_exists(&e->tun)) {
		atomic_store(&e->dead, true);
		event_base_loopbreak(e->base);
	}
}

/* ---- weftd's own packets: pings out, echo replies back --------------------------------- */

bool engine_echo_take(struct engine *e, const uint8_t *ip, size_t len)
{
	uint16_t ident = atomic_load_explicit(&e->echo_ident, memory_order_relaxed);
	struct engine_echo ev;
	size_t off;
	bool ok = false;

	if (ident == 0 || len < 1)
		return false;
	/* IPv4 echo reply (type 0) or ICMPv6 echo reply (type 129) with our identifier. */
	if (ip[0] >> 4 == 4 && len >= 28 && ip[9] == 1) {
		off = (size_t)(ip[0] & 0x0f) * 4;
		if (off < 20 || off + 8 > len || ip[off] != 0)
			return false;
		netaddr_from_v4(&ev.from, ip + 12);
	} else if (ip[0] >> 4 == 6 && len >= 48 && ip[6] == 58) {
		off = 40;
		if (ip[off] != 129)
			return false;
		netaddr_from_v6(&ev.from, ip + 8);
	} else {
		return false;
	}
	if (buf_load_be16(ip + off + 4) != ident)
		return false;
	ev.seq = buf_load_be16(ip + off + 6);
	ev.at = clock_mono_ns();
	pthread_mutex_lock(&e->hsq_lock);
	if (e->echoq_count < ENGINE_ECHOQ_LEN) {
		e->echoq[e->echoq_count++] = ev;
		ok = true;
	}
	pthread_mutex_unlock(&e->hsq_lock);
	if (ok)
		engine_wake(e->echo_efd);
	return true; /* ours either way: never hand it to the TUN */
}

static void engine_echo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct engine_echo q[ENGINE_ECHOQ_LEN];
	size_t n;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
	pthread_mutex_lock(&e->hsq_lock);
	n = e->echoq_count;
	memcpy(q, e->echoq, n * sizeof(q[0]));
	e->echoq_count = 0;
	pthread_mutex_unlock(&e->hsq_lock);
	for (size_t i = 0; i < n && e->echo_fn != NULL; i++)
		e->echo_fn(e->echo_arg, &q[i].from, q[i].seq, q[i].at);
}

void engine_set_echo_hook(struct engine *e, uint16_t ident,
			  void (*fn)(void *arg, const struct netaddr *from, uint16_t seq,
				     uint64_t now_ns),
			  void *arg)
{
	e->echo_fn = fn;
	e->echo_arg = arg;
	atomic_store(&e->echo_ident, ident);
}

/* ---- weftd's own addresses: packets for them stop here, answers go back to the TUN ----- */

bool engine_local_take(struct engine *e, const uint8_t *ip, size_t len)
{
	size_t n = atomic_load_explicit(&e->local_n, memory_order_acquire);
	struct engine_local_pkt *q;
	struct netaddr dst;
	bool ours = false, queued = false;

	if (n == 0 || len < 20)
		return false;
	if (ip[0] >> 4 == 4)
		netaddr_from_v4(&dst, ip + 16);
	else if (ip[0] >> 4 == 6 && len >= 40)
		netaddr_from_v6(&dst, ip + 24);
	else
		return false;
	for (size_t i = 0; i < n && !ours; i++)
		ours = netaddr_eq(&dst, &e->local_addrs[i]);
	if (!ours)
		return false;
	if (len > ENGINE_LOCAL_PKT_MAX) {
		engine_count(&e->counters.local_oversize);
		return true;
	}
	pthread_mutex_lock(&e->localq_lock);
	if (e->localq_count < ENGINE_LOCALQ_LEN) {
		q = &e->localq[(e->localq_head + e->localq_count) % ENGINE_LOCALQ_LEN];
		memcpy(q->b, ip, len);
		q->len = (uint16_t)len;
		e->localq_count++;
		queued = true;
	}
	pthread_mutex_unlock(&e->localq_lock);
	engine_count(queued ? &e->counters.local_packets : &e->counters.local_queue_full);
	return true; /* ours either way: never into the tunnel */
}

void engine_local_notify(struct engine *e)
{
	engine_wake(e->local_efd);
}

static void engine_local_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct engine_local_pkt p;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
	for (int i = 0; i < ENGINE_LOCALQ_LEN; i++) {
		bool got = false;
		pthread_mutex_lock(&e->localq_lock);
		if (e->localq_count > 0) {
			struct engine_local_pkt *q = &e->localq[e->localq_head];
			p.len = q->len;
			memcpy(p.b, q->b, q->len);
			e->localq_head = (e->localq_head + 1) % ENGINE_LOCALQ_LEN;
			e->localq_count--;
			got = true;
		}
		pthread_mutex_unlock(&e->localq_lock);
		if (!got)
			return;
		if (e->local_fn != NULL)
			e->local_fn(e->local_arg, p.b, p.len);
	}
	/* A full queue's worth: let the loop serve others, then come back. */
	engine_wake(e->local_efd);
}

void engine_set_local_hook(struct engine *e, const struct netaddr *addrs, size_t n,
			   void (*fn)(void *arg, const uint8_t *ip, size_t len), void *arg)
{
	if (n > ENGINE_LOCAL_ADDRS)
		n = ENGINE_LOCAL_ADDRS;
	atomic_store_explicit(&e->local_n, 0, memory_order_release);
	e->local_fn = fn;
	e->local_arg = arg;
	for (size_t i = 0; i < n; i++)
		e->local_addrs[i] = addrs[i];
	atomic_store_explicit(&e->local_n, fn != NULL ? n : 0, memory_order_release);
}

int engine_tun_write(struct engine *e, const uint8_t *ip, size_t len)
{
	uint8_t vh[OFFLOAD_VNET_HDR_LEN] = { 0 }; /* no offload: the checksums are complete */
	struct iovec iov[2] = { { vh, sizeof(vh) }, { (void *)ip, len } };
	ssize_t r;

	do {
		r = e->tun.vnet_hdr ? writev(e->tun.fd, iov, 2) : write(e->tun.fd, ip, len);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		engine_count(&e->counters.tun_write_errors);
		return -errno;
	}
	return 0;
}

int engine_send_packet(struct engine *e, const uint8_t *ip, size_t len)
{
	uint8_t buf[WG_DATA_HEADER_LEN + 2048 + WG_PADDING + WG_TAG_LEN];
	struct wg_tx_ticket t;
	struct sockaddr_storage ss;
	enum wg_tx_verdict v;
	size_t out = 0;
	socklen_t sl;
	int r = 0;

	if (len > 2048)
		return -EMSGSIZE;
	memcpy(buf + WG_DATA_HEADER_LEN, ip, len);
	pthread_mutex_lock(&e->lock);
	v = wg_device_tx_prepare(e->dev, buf + WG_DATA_HEADER_LEN, len, clock_mono_ns(), &t);
	pthread_mutex_unlock(&e->lock);
	if (v == WG_TX_STAGED)
		return 0; /* goes out with the handshake */
	if (v == WG_TX_DROP)
		return -EHOSTUNREACH;
	if (wg_keypair_seal(t.kp, e->ctl_ctx, t.counter, buf, len, atomic_load(&e->mtu), &out) !=
		    0 ||
	    (!engine_divert(e, &t.to, buf, out) && ((sl = engine_dest(e, &t.to, &ss)) == 0 ||
	    sendto(e->udp_fd, buf, out, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0))) {
		engine_count(&e->counters.udp_send_errors);
		r = -EIO;
		out = 0;
	}
	pthread_mutex_lock(&e->lock);
	wg_device_tx_complete(e->dev, &t, out, true, clock_mono_ns());
	pthread_mutex_unlock(&e->lock);
	return r;
}

struct json_t *engine_counters_json(struct engine *e)
{
	json_t *o = json_object();
	const struct wg_counters *c;
	int bad = o == NULL;

#define ENGINE_JSON_COUNTER(name)                                                                  	bad |= json_object_set_new(o, #name, json_integer((json_int_t)atomic_load(&e->counters.name)));
	ENGINE_COUNTERS(ENGINE_JSON_COUNTER)
#undef ENGINE_JSON_COUNTER
	pthread_mutex_lock(&e->lock);
	c = wg_device_counters(e->dev);
	for (size_t i = 0; !bad && i < wg_counters_count(); i++)
		bad |= json_object_set_new(o, wg_counter_names[i],
					   json_integer((json_int_t)wg_counters_get(c, i)));
	pthread_mutex_unlock(&e->lock);
	if (!bad)
		bad |= engine_filter_counters(e, o) < 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int engine_new(const struct engine_config *cfg, struct event_base *base, struct engine **out)
{
	struct timeval tick = { 0, ENGINE_TICK_MS * 1000 };
	struct engine *e;
	int r;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->udp_fd = e->hs_efd = e->rx_wake_efd = e->tx_wake_efd = e->echo_efd = e->local_efd =
		e->ctl_efd = -1;
	e->tun.fd = -1;
	e->base = base;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->hsq_lock, NULL);
	pthread_mutex_init(&e->localq_lock, NULL);
	r = engine_filter_init(e);
	e->hsq = calloc(ENGINE_HSQ_LEN, sizeof(*e->hsq));
	e->localq = calloc(ENGINE_LOCALQ_LEN, sizeof(*e->localq));
	if (e->hsq == NULL || e->localq == NULL || r < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = tun_open(&e->tun, cfg->ifname, cfg->offload);
	if (r < 0) {
		log_warnx("cannot create TUN device %s: %s", cfg->ifname, strerror(-r));
		goto fail;
	}
	if (cfg->mtu != 0 && (r = tun_set_mtu(&e->tun, cfg->mtu)) < 0)
		goto fail;
	r = wg_device_new(&engine_ops, e, &e->dev);
	if (r < 0)
		goto fail;
	atomic_store(&e->mtu, e->tun.mtu);
	wg_device_set_mtu(e->dev, e->tun.mtu);
	e->udp_fd = engine_udp_socket(cfg->port, 0, cfg->offload, &e->v6, &e->udp_gro, &e->port);
	if (e->udp_fd < 0) {
		r = e->udp_fd;
		log_warnx("cannot bind UDP port %u: %s", cfg->port, strerror(-r));
		goto fail;
	}
	atomic_store(&e->udp_gso, cfg->offload);
	e->hs_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->rx_wake_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->tx_wake_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->echo_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->local_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->hs_efd < 0 || e->rx_wake_efd < 0 || e->tx_wake_efd < 0 || e->echo_efd < 0 ||
	    e->local_efd < 0) {
		r = -errno;
		goto fail;
	}
	e->hs_ev = event_new(base, e->hs_efd, EV_READ | EV_PERSIST, engine_hs_cb, e);
	e->tick_ev = event_new(base, -1, EV_PERSIST, engine_tick_cb, e);
	e->echo_ev = event_new(base, e->echo_efd, EV_READ | EV_PERSIST, engine_echo_cb, e);
	e->local_ev = event_new(base, e->local_efd, EV_READ | EV_PERSIST, engine_local_cb, e);
	if (e->hs_ev == NULL || e->tick_ev == NULL || e->echo_ev == NULL || e->local_ev == NULL ||
	    event_add(e->hs_ev, NULL) < 0 || event_add(e->tick_ev, &tick) < 0 ||
	    event_add(e->echo_ev, NULL) < 0 || event_add(e->local_ev, NULL) < 0 ||
	    aead_ctx_new(&e->ctl_ctx) < 0 || engine_magic_init(e) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	log_info("data plane: TUN offload %s, UDP GRO %s, UDP GSO %s",
		 e->tun.vnet_hdr ? "on" : "off", e->udp_gro ? "on" : "off",
		 cfg->offload ? "on" : "off");
	*out = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

int engine_start(struct engine *e)
{
	int r;

	r = pthread_create(&e->rx_thread, NULL, engine_rx_main, e);
	if (r != 0)
		return -r;
	r = pthread_create(&e->tx_thread, NULL, engine_tx_main, e);
	if (r != 0) {
		atomic_store(&e->stopping, true);
		pthread_join(e->rx_thread, NULL);
		return -r;
	}
	e->threads_started = true;
	return 0;
}

void engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (e->threads_started) {
		atomic_store(&e->stopping, true);
		engine_wake(e->rx_wake_efd);
		engine_wake(e->tx_wake_efd);
		pthread_join(e->rx_thread, NULL);
		pthread_join(e->tx_thread, NULL);
	}
	if (e->hs_ev != NULL)
		event_free(e->hs_ev);
	if (e->tick_ev != NULL)
		event_free(e->tick_ev);
	if (e->echo_ev != NULL)
		event_free(e->echo_ev);
	if (e->local_ev != NULL)
		event_free(e->local_ev);
	aead_ctx_free(e->ctl_ctx);
	engine_magic_fini(e);
	wg_device_free(e->dev);
	tun_close(&e->tun);
	if (e->udp_fd >= 0)
		close(e->udp_fd);
	if (e->hs_efd >= 0)
		close(e->hs_efd);
	if (e->rx_wake_efd >= 0)
		close(e->rx_wake_efd);
	if (e->tx_wake_efd >= 0)
		close(e->tx_wake_efd);
	if (e->echo_efd >= 0)
		close(e->echo_efd);
	if (e->local_efd >= 0)
		close(e->local_efd);
	free(e->localq);
	if (e->hsq != NULL)
		mem_wipe(e->hsq, ENGINE_HSQ_LEN * sizeof(*e->hsq));
	free(e->hsq);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->hsq_lock);
	pthread_mutex_destroy(&e->localq_lock);
	engine_filter_fini(e);
	free(e);
}

void engine_lock(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
}

void engine_unlock(struct engine *e)
{
	pthread_mutex_unlock(&e->lock);
}

struct wg_device *engine_device(struct engine *e)
{
	return e->dev;
}

int engine_set_port(struct engine *e, uint16_t port)
{
	uint16_t bound;
	bool v6, gro;
	int fd;

	if (port != 0 && port == e->port)
		return 0;
	fd = engine_udp_socket(port, e->fwmark, e->udp_gro, &v6, &gro, &bound);
	if (fd < 0)
		return fd;
	/* dup2 swaps the socket under the same fd number: the threads' next call uses it. */
	if (v6 != e->v6 || gro != e->udp_gro || dup2(fd, e->udp_fd) < 0) {
		int r = (v6 != e->v6 || gro != e->udp_gro) ? -EAFNOSUPPORT : -errno;
		close(fd);
		return r;
	}
	close(fd);
	e->port = bound;
	/* The RX thread may sleep in poll() on the old socket: wake it onto the new one. */
	engine_wake(e->rx_wake_efd);
	return 0;
}

uint16_t engine_port(const struct engine *e)
{
	return e->port;
}

int engine_set_fwmark(struct engine *e, uint32_t mark)
{
	if (setsockopt(e->udp_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	e->fwmark = mark;
	return 0;
}

uint32_t engine_fwmark(const struct engine *e)
{
	return e->fwmark;
}

const char *engine_ifname(const struct engine *e)
{
	return e->tun.name;
}

bool engine_is_dead(const struct engine *e)
{
	return atomic_load(&e->dead);
}

const struct engine_counters *engine_counters(const struct engine *e)
{
	return &e->counters;
}

void engine_log_counters(struct engine *e)
{
	const struct wg_counters *c;

#define ENGINE_LOG_COUNTER(name)                                                                   \
	if (atomic_load(&e->counters.name) != 0)                                                   \
		log_info("counter %s=%llu", #name,                                                 \
			 (unsigned long long)atomic_load(&e->counters.name));
	ENGINE_COUNTERS(ENGINE_LOG_COUNTER)
#undef ENGINE_LOG_COUNTER
	pthread_mutex_lock(&e->lock);
	c = wg_device_counters(e->dev);
	for (size_t i = 0; i < wg_counters_count(); i++)
		if (wg_counters_get(c, i) != 0)
			log_info("counter %s=%llu", wg_counter_names[i],
				 (unsigned long long)wg_counters_get(c, i));
	pthread_mutex_unlock(&e->lock);
}

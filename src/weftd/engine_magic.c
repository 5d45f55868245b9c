/* SPDX-License-Identifier: ISC */
/*
 * engine_magic: the engine's side of NAT traversal. WireGuard datagrams for
 * a magic endpoint (a peer reached through the relay) and STUN or disco
 * datagrams from the UDP socket are queued from the data threads to the
 * control thread, where magicsock handles them; relayed WireGuard data goes
 * the other way, into the RX thread's batches, so it passes the same
 * receive path (decryption, filter) as data from the socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/mem.h"
#include "disco/disco.h"
#include "stun/stun.h"
#include "wg/device.h"
#include "wg/messages.h"
#include "weftd/engine_int.h"

#define ENGINE_CTL_BUDGET 256

static const uint8_t engine_magic_v4[4] = { 127, 3, 3, 40 };

void engine_magic_endpoint(uint16_t slot, struct netendpoint *out)
{
	memset(out, 0, sizeof(*out));
	netaddr_from_v4(&out->addr, engine_magic_v4);
	out->port = slot;
}

bool engine_is_magic(const struct netendpoint *ep, uint16_t *slot)
{
	if (ep->addr.family != NETADDR_V4 || memcmp(ep->addr.a, engine_magic_v4, 4) != 0 ||
	    ep->port == 0)
		return false;
	if (slot != NULL)
		*slot = ep->port;
	return true;
}

static void engine_ctl_wake(struct engine *e)
{
	uint64_t one = 1;

	if (write(e->ctl_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
}

static bool engine_ctl_push(struct engine *e, enum engine_ctl_kind kind, uint16_t slot,
			    const struct netendpoint *src, const uint8_t *p, size_t n)
{
	struct engine_ctl *c;
	bool ok = false, wake = false;

	if (n > ENGINE_MAGIC_PKT_MAX) {
		engine_count(&e->counters.ctlq_oversize);
		return false;
	}
	pthread_mutex_lock(&e->magic_lock);
	if (e->ctlq_count < ENGINE_CTLQ_LEN) {
		c = &e->ctlq[(e->ctlq_head + e->ctlq_count) % ENGINE_CTLQ_LEN];
		c->kind = kind;
		c->slot = slot;
		if (src != NULL)
			c->src = *src;
		c->len = n;
		memcpy(c->buf, p, n);
		wake = e->ctlq_count == 0;
		e->ctlq_count++;
		ok = true;
	}
	pthread_mutex_unlock(&e->magic_lock);
	if (!ok)
		engine_count(&e->counters.ctlq_full);
	if (wake)
		engine_ctl_wake(e);
	return ok;
}

bool engine_divert(struct engine *e, const struct netendpoint *to, const uint8_t *p, size_t n)
{
	uint16_t slot;

	if (!engine_is_magic(to, &slot))
		return false;
	(void)engine_ctl_push(e, ENGINE_CTL_RELAY_OUT, slot, NULL, p, n);
	return true;
}

bool engine_take_other(struct engine *e, const struct netendpoint *src, const uint8_t *p,
		       size_t n)
{
	if (!stun_is_packet(p, n) && !disco_is_packet(p, n))
		return false;
	(void)engine_ctl_push(e, ENGINE_CTL_UDP_OTHER, 0, src, p, n);
	return true;
}

/* Control thread: one queued datagram at a time, handled outside the lock. */
static void engine_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct engine_ctl *c = NULL;
	uint64_t v;
	int budget = ENGINE_CTL_BUDGET;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
	c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	for (;;) {
		bool got = false;
		pthread_mutex_lock(&e->magic_lock);
		if (e->ctlq_count > 0) {
			struct engine_ctl *q = &e->ctlq[e->ctlq_head];
			c->kind = q->kind;
			c->slot = q->slot;
			c->src = q->src;
			c->len = q->len;
			memcpy(c->buf, q->buf, q->len);
			e->ctlq_head = (e->ctlq_head + 1) % ENGINE_CTLQ_LEN;
			e->ctlq_count--;
			got = true;
		}
		pthread_mutex_unlock(&e->magic_lock);
		if (!got)
			break;
		if (c->kind == ENGINE_CTL_RELAY_OUT && e->magic_ops.relay_out != NULL)
			e->magic_ops.relay_out(e->magic_arg, c->slot, c->buf, c->len);
		else if (c->kind == ENGINE_CTL_UDP_OTHER && e->magic_ops.udp_other != NULL)
			e->magic_ops.udp_other(e->magic_arg, &c->src, c->buf, c->len);
		if (--budget == 0) {
			/* Let the loop breathe; come back at once. */
			engine_ctl_wake(e);
			break;
		}
	}
	/* Relayed datagrams are WireGuard ciphertext or disco, but wipe anyway. */
	mem_wipe(c, sizeof(*c));
	free(c);
}

void engine_set_magic(struct engine *e, const struct engine_magic_ops *ops, void *arg)
{
	e->magic_ops = *ops;
	e->magic_arg = arg;
}

int engine_udp_send(struct engine *e, const struct netendpoint *to, const uint8_t *p, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = engine_dest(e, to, &ss);

	if (sl == 0)
		return -EAFNOSUPPORT;
	if (sendto(e->udp_fd, p, n, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) {
		engine_count(&e->counters.udp_send_errors);
		return -errno;
	}
	return 0;
}

void engine_inject(struct engine *e, uint16_t slot, const uint8_t *p, size_t n)
{
	struct netendpoint from;
	struct engine_ctl *c;
	bool ok = false;

	engine_magic_endpoint(slot, &from);
	switch (wg_msg_classify(p, n)) {
	case WG_KIND_HANDSHAKE:
		if (engine_hsq_push(e, p, n, &from))
			engine_hsq_notify(e);
		return;
	case WG_KIND_DATA:
		break;
	case WG_KIND_INVALID:
		engine_count(&e->counters.rx_not_wireguard);
		return;
	}
	if (n > ENGINE_MAGIC_PKT_MAX) {
		engine_count(&e->counters.ctlq_oversize);
		return;
	}
	pthread_mutex_lock(&e->magic_lock);
	if (e->injectq_count < ENGINE_INJECTQ_LEN) {
		c = &e->injectq[(e->injectq_head + e->injectq_count) % ENGINE_INJECTQ_LEN];
		c->src = from;
		c->len = n;
		memcpy(c->buf, p, n);
		e->injectq_count++;
		ok = true;
	}
	pthread_mutex_unlock(&e->magic_lock);
	if (!ok) {
		engine_count(&e->counters.injectq_full);
		return;
	}
	/* The RX thread may sleep in poll() on the socket. */
	uint64_t one = 1;
	if (write(e->rx_wake_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_f("eventfd");
}

size_t engine_inject_pop(struct engine *e, uint8_t *buf, size_t cap, struct netendpoint *from)
{
	size_t n = 0;

	pthread_mutex_lock(&e->magic_lock);
	if (e->injectq_count > 0) {
		struct engine_ctl *c = &e->injectq[e->injectq_head];
		if (c->len <= cap) {
			memcpy(buf, c->buf, c->len);
			n = c->len;
			*from = c->src;
		}
		e->injectq_head = (e->injectq_head + 1) % ENGINE_INJECTQ_LEN;
		e->injectq_count--;
	}
	pthread_mutex_unlock(&e->magic_lock);
	return n;
}

int engine_magic_init(struct engine *e)
{
	pthread_mutex_init(&e->magic_lock, NULL);
	e->ctlq = calloc(ENGINE_CTLQ_LEN, sizeof(*e->ctlq));
	e->injectq = calloc(ENGINE_INJECTQ_LEN, sizeof(*e->injectq));
	e->ctl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->ctlq == NULL || e->injectq == NULL || e->ctl_efd < 0)
		return -ENOMEM;
	e->ctl_ev = event_new(e->base, e->ctl_efd, EV_READ | EV_PERSIST, engine_ctl_cb, e);
	if (e->ctl_ev == NULL || event_add(e->ctl_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void engine_magic_fini(struct engine *e)
{
	if (e->ctl_ev != NULL)
		event_free(e->ctl_ev);
	if (e->ctl_efd >= 0)
		close(e->ctl_efd);
	free(e->ctlq);
	free(e->injectq);
	pthread_mutex_destroy(&e->magic_lock);
}

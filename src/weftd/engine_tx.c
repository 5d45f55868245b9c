/* SPDX-License-Identifier: ISC */
/*
 * engine_tx: the TX thread, TUN -> WireGuard -> UDP. Each TUN read (with
 * offloads: a TCP super-packet of up to 64 KiB behind a virtio header) is
 * split into IP packets laid out at a fixed stride in the slot's send area,
 * so that after sealing in place their datagrams lie back to back; runs of
 * equal-sized datagrams to one endpoint then leave in a single UDP GSO send.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "net/mss.h"
#include "net/offload.h"
#include "wg/device.h"
#include "wg/keypair.h"
#include "weftd/engine_int.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define TX_SLOTS 16		     /* TUN reads per batch */
#define TX_SEGS 64		     /* segments per read */
#define TX_READ_SIZE (65536 + 64)    /* a super-packet and its virtio header */
#define TX_AREA_SIZE (96 * 1024)     /* its segments sealed, at their stride */
#define TX_MSGS (TX_SLOTS * TX_SEGS) /* sendmmsg entries, worst case one per datagram */

struct tx_slot {
	uint8_t *rd;   /* what the TUN read returned (offload mode) */
	uint8_t *area; /* datagram j at area + j * stride */
	size_t stride;
	size_t nsegs;
	size_t len[TX_SEGS];  /* plaintext length, then datagram length */
	bool send[TX_SEGS];
	bool sent[TX_SEGS];   /* the kernel took the datagram */
	struct wg_tx_ticket t[TX_SEGS];
};

struct tx_batch {
	struct tx_slot slot[TX_SLOTS];
	struct mmsghdr msg[TX_MSGS];
	struct iovec iov[TX_MSGS];
	struct sockaddr_storage addr[TX_MSGS];
	uint8_t cmsg[TX_MSGS][CMSG_SPACE(sizeof(uint16_t))];
	struct {
		uint16_t slot, first, count;
	} covers[TX_MSGS]; /* the segments message m carries */
	struct aead_ctx *ctx;
};

static void tx_batch_free(struct tx_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < TX_SLOTS; i++) {
		free(b->slot[i].rd);
		free(b->slot[i].area);
	}
	aead_ctx_free(b->ctx);
	free(b);
}

static struct tx_batch *tx_batch_new(void)
{
	struct tx_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	for (size_t i = 0; i < TX_SLOTS; i++) {
		b->slot[i].rd = malloc(TX_READ_SIZE);
		b->slot[i].area = malloc(TX_AREA_SIZE);
		if (b->slot[i].rd == NULL || b->slot[i].area == NULL)
			goto fail;
	}
	if (aead_ctx_new(&b->ctx) < 0)
		goto fail;
	return b;
fail:
	tx_batch_free(b);
	return NULL;
}

/* Lays out one read (offload mode) as segments in the slot's area; false to drop it. */
static bool tx_split(struct engine *e, struct tx_slot *s, size_t n)
{
	struct offload_vnet_hdr h;
	const char *why;
	size_t seglen;

	if (n < OFFLOAD_VNET_HDR_LEN)
		return false;
	offload_vnet_hdr_decode(s->rd, &h);
	if (offload_split_plan(&h, s->rd + OFFLOAD_VNET_HDR_LEN, n - OFFLOAD_VNET_HDR_LEN,
			       &s->nsegs, &seglen, &why) < 0) {
		log_debug_rl("tun: dropping packet: %s", why);
		engine_count(&e->counters.tun_bad_offload);
		return false;
	}
	s->stride = WG_DATA_OVERHEAD + wg_keypair_padded_len(seglen, atomic_load(&e->mtu));
	if (s->nsegs > TX_SEGS || s->nsegs * s->stride > TX_AREA_SIZE) {
		engine_count(&e->counters.tun_oversize);
		return false;
	}
	offload_split(&h, s->rd + OFFLOAD_VNET_HDR_LEN, n - OFFLOAD_VNET_HDR_LEN,
		      s->area + WG_DATA_HEADER_LEN, s->stride, s->len);
	return true;
}

/* Packets for weftd's own addresses (MagicDNS) leave the batch here: all of a read or none. */
static bool tx_local(struct engine *e, struct tx_slot *s)
{
	size_t stride = s->nsegs > 1 ? s->stride : 0;

	if (!engine_local_take(e, s->area + WG_DATA_HEADER_LEN, s->len[0]))
		return false;
	for (size_t j = 1; j < s->nsegs; j++)
		(void)engine_local_take(e, s->area + j * stride + WG_DATA_HEADER_LEN, s->len[j]);
	return true;
}

/* Fills slots from the TUN until it is empty or the batch is full. */
static size_t tx_read(struct engine *e, struct tx_batch *b)
{
	size_t n = 0;
	bool local = false;

	while (n < TX_SLOTS) {
		struct tx_slot *s = &b->slot[n];
		ssize_t r;

		if (e->tun.vnet_hdr)
			r = read(e->tun.fd, s->rd, TX_READ_SIZE);
		else
			r = read(e->tun.fd, s->area + WG_DATA_HEADER_LEN,
				 TX_AREA_SIZE - WG_DATA_OVERHEAD - WG_PADDING);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				log_warn("tun %s: read failed, stopping", e->tun.name);
				atomic_store(&e->dead, true);
			}
			break;
		}
		if (r == 0)
			continue;
		if (e->tun.vnet_hdr) {
			if (!tx_split(e, s, (size_t)r))
				continue;
		} else {
			s->nsegs = 1;
			s->len[0] = (size_t)r;
			s->stride = 0;
		}
		if (tx_local(e, s)) {
			local = true;
			continue;
		}
		n++;
	}
	if (local)
		engine_local_notify(e);
	return n;
}

/* SYNs leaving through the tunnel ask for no more than it carries (see net/mss.h). */
static void tx_clamp(struct engine *e, struct tx_batch *b, size_t nslots)
{
	unsigned mtu = atomic_load(&e->mtu);

	for (size_t i = 0; i < nslots; i++) {
		struct tx_slot *s = &b->slot[i];
		/* A super-packet (several segments) is never a SYN. */
		if (s->nsegs == 1)
			(void)mss_clamp(s->area + WG_DATA_HEADER_LEN, s->len[0], mtu);
	}
}

/* The packet filter's flow table sees what we send, so that the replies come back in. */
static void tx_track(struct engine *e, struct tx_batch *b, size_t nslots)
{
	struct engine_filter_batch fb;

	if (!engine_filter_begin(e, &fb))
		return;
	/* The segments of a super-packet share their first one's flow. */
	for (size_t i = 0; i < nslots; i++)
		engine_filter_out(e, &fb, b->slot[i].area + WG_DATA_HEADER_LEN, b->slot[i].len[0]);
	engine_filter_end(e, &fb);
}

static void tx_prepare(struct engine *e, struct tx_batch *b, size_t nslots, uint64_t now)
{
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < nslots; i++) {
		struct tx_slot *s = &b->slot[i];
		for (size_t j = 0; j < s->nsegs; j++) {
			uint8_t *p = s->area + j * s->stride + WG_DATA_HEADER_LEN;
			s->send[j] = wg_device_tx_prepare(e->dev, p, s->len[j], now, &s->t[j]) ==
				     WG_TX_SEND;
			s->sent[j] = false;
		}
	}
	pthread_mutex_unlock(&e->lock);
}

static void tx_seal(struct engine *e, struct tx_batch *b, size_t nslots)
{
	for (size_t i = 0; i < nslots; i++) {
		struct tx_slot *s = &b->slot[i];
		for (size_t j = 0; j < s->nsegs; j++) {
			size_t out;
			if (!s->send[j])
				continue;
			if (wg_keypair_seal(s->t[j].kp, b->ctx, s->t[j].counter,
					    s->area + j * s->stride, s->len[j], atomic_load(&e->mtu),
					    &out) != 0) {
				/* Keep the ticket (it holds a reference), send nothing. */
				s->len[j] = 0;
				continue;
			}
			s->len[j] = out;
		}
	}
}

static void tx_msg_init(struct tx_batch *b, size_t m, socklen_t sl, size_t seg, size_t count)
{
	struct msghdr *h = &b->msg[m].msg_hdr;

	memset(h, 0, sizeof(*h));
	h->msg_name = &b->addr[m];
	h->msg_namelen = sl;
	h->msg_iov = &b->iov[m];
	h->msg_iovlen = 1;
	if (count > 1) {
		struct cmsghdr *c;
		uint16_t gso = (uint16_t)seg;
		h->msg_control = b->cmsg[m];
		h->msg_controllen = sizeof(b->cmsg[m]);
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
	}
}

/*
 * Builds the sendmmsg vector: within a slot, consecutive sealed datagrams to
 * the same endpoint, all of one size but the last, become one GSO message.
 */
static size_t tx_build(struct engine *e, struct tx_batch *b, size_t nslots, bool gso)
{
	size_t m = 0;

	for (size_t i = 0; i < nslots; i++) {
		struct tx_slot *s = &b->slot[i];
		size_t j = 0;
		while (j < s->nsegs) {
			size_t k, bytes;
			socklen_t sl;
			/* Already sent: only when retrying without GSO after a partial send. */
			if (!s->send[j] || s->len[j] == 0 || s->sent[j]) {
				j++;
				continue;
			}
			/* To a peer through the relay: handed to magicsock, not the socket. */
			if (engine_divert(e, &s->t[j].to, s->area + j * s->stride, s->len[j])) {
				s->sent[j] = true;
				j++;
				continue;
			}
			sl = engine_dest(e, &s->t[j].to, &b->addr[m]);
			if (sl == 0) {
				engine_count(&e->counters.udp_send_errors);
				j++;
				continue;
			}
			bytes = s->len[j];
			k = j + 1;
			while (gso && k < s->nsegs && k - j < ENGINE_GSO_MAX_SEGS && s->send[k] &&
			       !s->sent[k] && s->len[k] != 0 && s->len[k - 1] == s->len[j] &&
			       s->len[k] <= s->len[j] && bytes + s->len[k] <= ENGINE_GSO_MAX_BYTES &&
			       netendpoint_eq(&s->t[k].to, &s->t[j].to)) {
				bytes += s->len[k];
				k++;
			}
			b->iov[m].iov_base = s->area + j * s->stride;
			b->iov[m].iov_len = bytes;
			b->covers[m].slot = (uint16_t)i;
			b->covers[m].first = (uint16_t)j;
			b->covers[m].count = (uint16_t)(k - j);
			tx_msg_init(b, m, sl, s->len[j], k - j);
			m++;
			j = k;
		}
	}
	return m;
}

/* Sends messages [0, m); false if the kernel refused GSO (the caller retries without). */
static bool tx_send(struct engine *e, struct tx_batch *b, size_t m)
{
	size_t off = 0;

	while (off < m) {
		int r = sendmmsg(e->udp_fd, b->msg + off, (unsigned)(m - off), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				struct pollfd p = { .fd = e->udp_fd, .events = POLLOUT };
				if (poll(&p, 1, 100) > 0)
					continue;
			}
			if ((errno == EIO || errno == EINVAL) && b->msg[off].msg_hdr.msg_controllen != 0)
				return false;
			/* Skip the message that failed (unreachable, no route) and go on. */
			engine_count(&e->counters.udp_send_errors);
			off++;
			continue;
		}
		for (size_t i = off; i < off + (size_t)r; i++) {
			struct tx_slot *s = &b->slot[b->covers[i].slot];
			for (size_t j = 0; j < b->covers[i].count; j++)
				s->sent[b->covers[i].first + j] = true;
			if (b->msg[i].msg_hdr.msg_controllen != 0)
				engine_count(&e->counters.tx_gso_sends);
		}
		off += (size_t)r;
	}
	return true;
}

static void tx_complete(struct engine *e, struct tx_batch *b, size_t nslots, uint64_t now)
{
	uint64_t sent = 0;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < nslots; i++) {
		struct tx_slot *s = &b->slot[i];
		for (size_t j = 0; j < s->nsegs; j++) {
			if (!s->send[j])
				continue;
			/* Only what the kernel took counts as sent (wg show's transfer). */
			wg_device_tx_complete(e->dev, &s->t[j], s->sent[j] ? s->len[j] : 0, true,
					      now);
			sent += s->sent[j];
		}
	}
	pthread_mutex_unlock(&e->lock);
	engine_count_n(&e->counters.tx_packets, sent);
}

static void tx_once(struct engine *e, struct tx_batch *b, size_t nslots)
{
	size_t m;

	tx_clamp(e, b, nslots);
	tx_track(e, b, nslots);
	tx_prepare(e, b, nslots, clock_mono_ns());
	tx_seal(e, b, nslots);
	m = tx_build(e, b, nslots, atomic_load(&e->udp_gso));
	if (!tx_send(e, b, m)) {
		log_info("UDP GSO refused by the kernel: sending datagrams one by one");
		atomic_store(&e->udp_gso, false);
		m = tx_build(e, b, nslots, false);
		(void)tx_send(e, b, m);
	}
	tx_complete(e, b, nslots, clock_mono_ns());
}

void *engine_tx_main(void *arg)
{
	struct engine *e = arg;
	struct tx_batch *b = tx_batch_new();

	if (b == NULL) {
		log_warnx("tx thread: out of memory");
		atomic_store(&e->dead, true);
		goto out;
	}
	while (!atomic_load(&e->stopping) && !atomic_load(&e->dead)) {
		size_t n = tx_read(e, b);
		if (n == 0) {
			if (!atomic_load(&e->dead) && !engine_wait(e, e->tun.fd, e->tx_wake_efd))
				break;
			continue;
		}
		tx_once(e, b, n);
	}
out:
	tx_batch_free(b);
	if (atomic_load(&e->dead))
		event_base_loopbreak(e->base);
	return NULL;
}

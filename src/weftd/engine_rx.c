/* SPDX-License-Identifier: ISC */
/*
 * engine_rx: the RX thread, UDP -> WireGuard -> TUN. recvmmsg fills up to 64
 * buffers; with UDP GRO each holds a run of equal-sized datagrams from one
 * source. Handshakes go to the control thread; data messages are opened in
 * place, and consecutive TCP segments of one flow are written to the TUN as
 * one super-packet (writev: virtio header, first packet, further payloads),
 * so the kernel's TCP stack sees 64 KiB at a time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "net/mss.h"
#include "net/offload.h"
#include "wg/device.h"
#include "wg/keypair.h"
#include "weftd/engine_int.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define RX_MSGS 64
#define RX_BUF_SIZE (65536 + 64)
#define RX_GRO_MAX_SEGS 64 /* the kernel merges at most this many datagrams (UDP_GRO_CNT_MAX) */
#define RX_PKTS (RX_MSGS * RX_GRO_MAX_SEGS) /* datagrams per batch after splitting */
#define RX_IOV 128   /* iovecs per merged TUN write */

struct rx_pkt {
	uint8_t *p; /* the datagram; plaintext at p + WG_DATA_HEADER_LEN after opening */
	size_t len;
	size_t src; /* index of the message (source address) it came in */
	struct wg_keypair *kp;
	uint64_t counter;
	size_t plen;
	size_t inner;
	bool data;
	bool deliver;
};

struct rx_batch {
	uint8_t *buf[RX_MSGS];
	struct mmsghdr msg[RX_MSGS];
	struct iovec iov[RX_MSGS];
	struct sockaddr_storage addr[RX_MSGS];
	struct netendpoint from[RX_MSGS];
	uint8_t cmsg[RX_MSGS][CMSG_SPACE(sizeof(int))];
	struct rx_pkt pkt[RX_PKTS];
	struct iovec wiov[RX_IOV];
	uint8_t vhdr[OFFLOAD_VNET_HDR_LEN];
	struct aead_ctx *ctx;
};

static void rx_batch_free(struct rx_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < RX_MSGS; i++)
		free(b->buf[i]);
	aead_ctx_free(b->ctx);
	free(b);
}

static struct rx_batch *rx_batch_new(void)
{
	struct rx_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	for (size_t i = 0; i < RX_MSGS; i++) {
		b->buf[i] = malloc(RX_BUF_SIZE);
		if (b->buf[i] == NULL)
			goto fail;
	}
	if (aead_ctx_new(&b->ctx) < 0)
		goto fail;
	return b;
fail:
	rx_batch_free(b);
	return NULL;
}

/* Relayed datagrams (engine_inject) first, as if they came from their magic endpoint. */
static size_t rx_take_injected(struct engine *e, struct rx_batch *b)
{
	size_t k = 0;

	while (k < RX_MSGS / 2) {
		struct netendpoint from;
		struct msghdr *h = &b->msg[k].msg_hdr;
		size_t n = engine_inject_pop(e, b->buf[k], RX_BUF_SIZE, &from);
		if (n == 0)
			break;
		memset(h, 0, sizeof(*h));
		h->msg_name = &b->addr[k];
		h->msg_namelen = netendpoint_to_sockaddr(&from, &b->addr[k]);
		b->msg[k].msg_len = (unsigned)n;
		k++;
	}
	return k;
}

static int rx_recv(struct engine *e, struct rx_batch *b)
{
	size_t k = rx_take_injected(e, b);
	int n;

	for (size_t i = k; i < RX_MSGS; i++) {
		struct msghdr *h = &b->msg[i].msg_hdr;
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = RX_BUF_SIZE;
		memset(h, 0, sizeof(*h));
		h->msg_name = &b->addr[i];
		h->msg_namelen = sizeof(b->addr[i]);
		h->msg_iov = &b->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = b->cmsg[i];
		h->msg_controllen = sizeof(b->cmsg[i]);
	}
	n = recvmmsg(e->udp_fd, b->msg + k, RX_MSGS - (unsigned)k, MSG_DONTWAIT, NULL);
	if (n < 0)
		return k > 0 ? (int)k : -errno;
	return n + (int)k;
}

/* The GRO segment size of a received message, or 0 when it is one datagram. */
static size_t rx_gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	}
	return 0;
}

/* Splits messages into datagrams; queues handshakes; returns how many datagrams. */
static size_t rx_split(struct engine *e, struct rx_batch *b, size_t nmsg)
{
	size_t n = 0;
	bool queued = false;

	for (size_t i = 0; i < nmsg; i++) {
		struct msghdr *h = &b->msg[i].msg_hdr;
		size_t len = b->msg[i].msg_len, seg = rx_gro_size(h), off;

		if (netendpoint_from_sockaddr(&b->from[i], (struct sockaddr *)&b->addr[i],
					      h->msg_namelen) < 0)
			continue;
		if (h->msg_flags & MSG_TRUNC)
			engine_count(&e->counters.rx_truncated);
		if (seg == 0 || seg > len)
			seg = len;
		for (off = 0; off < len && n < RX_PKTS; off += seg) {
			struct rx_pkt *p = &b->pkt[n];
			p->p = b->buf[i] + off;
			p->len = len - off < seg ? len - off : seg;
			p->src = i;
			p->kp = NULL;
			p->deliver = false;
			switch (wg_msg_classify(p->p, p->len)) {
			case WG_KIND_DATA:
				p->data = true;
				n++;
				break;
			case WG_KIND_HANDSHAKE:
				queued |= engine_hsq_push(e, p->p, p->len, &b->from[i]);
				break;
			case WG_KIND_INVALID:
				/* STUN and disco share the socket: magicsock takes them. */
				if (!engine_take_other(e, &b->from[i], p->p, p->len))
					engine_count(&e->counters.rx_not_wireguard);
				break;
			}
		}
	}
	if (queued)
		engine_hsq_notify(e);
	return n;
}

static void rx_decrypt(struct engine *e, struct rx_batch *b, size_t n)
{
	uint64_t now = clock_mono_ns();

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < n; i++)
		if (wg_device_rx_prepare(e->dev, b->pkt[i].p, b->pkt[i].len, now, &b->pkt[i].kp) != 0)
			b->pkt[i].data = false;
	pthread_mutex_unlock(&e->lock);

	for (size_t i = 0; i < n; i++) {
		struct rx_pkt *p = &b->pkt[i];
		if (p->data &&
		    wg_keypair_open(p->kp, b->ctx, p->p, p->len, &p->plen, &p->counter) != 0)
			p->data = false; /* p->kp is still held: released as a failure */
	}

	now = clock_mono_ns();
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < n; i++) {
		struct rx_pkt *p = &b->pkt[i];
		struct wg_peer *peer;
		if (p->kp == NULL)
			continue;
		if (!p->data) {
			wg_device_rx_failed(e->dev, p->kp);
			continue;
		}
		p->deliver = wg_device_rx_complete(e->dev, p->kp, p->counter,
						   p->p + WG_DATA_HEADER_LEN, p->plen, p->len,
						   &b->from[p->src], now, &p->inner,
						   &peer) == WG_RX_DELIVER;
	}
	pthread_mutex_unlock(&e->lock);
}

/* Out of line: inlined, GCC 12 mistakes the iovec array for its first element's
 * pointer and reports a bogus -Wstringop-overread under ASan. */
__attribute__((noinline)) static void rx_tun_writev(struct engine *e, const struct iovec *iov,
						     int cnt)
{
	while (writev(e->tun.fd, iov, cnt) < 0) {
		if (errno == EINTR)
			continue;
		engine_count(&e->counters.tun_write_errors);
		return;
	}
}

/*
 * Writes packet i, merged with the TCP segments right after it that continue
 * its flow; returns the index of the next packet not written.
 */
static size_t rx_write_run(struct engine *e, struct rx_batch *b, size_t i, size_t n)
{
	struct rx_pkt *first = &b->pkt[i];
	uint8_t *fp = first->p + WG_DATA_HEADER_LEN;
	struct offload_vnet_hdr h = { 0 };
	struct offload_tcp ft, nt;
	size_t j = i + 1, total = first->inner, segs = 1;
	uint32_t expect;
	bool psh;
	int cnt = 2;

	b->wiov[1].iov_base = fp;
	b->wiov[1].iov_len = first->inner;
	if (offload_tcp_parse(fp, first->inner, &ft) == 0) {
		expect = ft.seq + ft.payload;
		psh = (ft.flags & 0x08) != 0;
		for (; j < n && !psh && cnt < RX_IOV; j++) {
			struct rx_pkt *q = &b->pkt[j];
			uint8_t *qp = q->p + WG_DATA_HEADER_LEN;
			if (!q->deliver)
				continue; /* dropped packets in between do not break a run */
			if (offload_tcp_parse(qp, q->inner, &nt) != 0 ||
			    !offload_tcp_follows(fp, &ft, qp, &nt, expect, total))
				break;
			b->wiov[cnt].iov_base = qp + nt.iphlen + nt.tcphlen;
			b->wiov[cnt].iov_len = nt.payload;
			cnt++;
			total += nt.payload;
			expect += nt.payload;
			psh = (nt.flags & 0x08) != 0;
			segs++;
			if (nt.payload < ft.payload) {
				j++; /* a short segment ends a run */
				break;
			}
		}
		if (segs > 1) {
			offload_tcp_merge_finish(fp, &ft, total, ft.payload, psh, &h);
			engine_count(&e->counters.rx_gro_writes);
		} else {
			j = i + 1;
		}
	}
	offload_vnet_hdr_encode(b->vhdr, &h);
	b->wiov[0].iov_base = b->vhdr;
	b->wiov[0].iov_len = OFFLOAD_VNET_HDR_LEN;
	rx_tun_writev(e, b->wiov, cnt);
	engine_count_n(&e->counters.rx_packets, segs);
	return j;
}

/* The packet filter: what a policy does not allow never reaches the TUN. */
static void rx_filter(struct engine *e, struct rx_batch *b, size_t n)
{
	struct engine_filter_batch fb;

	if (!engine_filter_begin(e, &fb))
		return;
	for (size_t k = 0; k < n; k++) {
		struct rx_pkt *q = &b->pkt[k];
		if (q->deliver && !engine_filter_in(e, &fb, q->p + WG_DATA_HEADER_LEN, q->inner))
			q->deliver = false;
	}
	engine_filter_end(e, &fb);
}

static void rx_deliver(struct engine *e, struct rx_batch *b, size_t n)
{
	unsigned mtu = atomic_load(&e->mtu);
	size_t i = 0;

	/* SYNs arriving from the tunnel are clamped too: hosts behind us then send
	 * segments the tunnel carries back (bidirectional clamping, see net/mss.h).
	 * Echo replies to weftd's own pings stop here. */
	for (size_t k = 0; k < n; k++) {
		struct rx_pkt *q = &b->pkt[k];
		if (!q->deliver)
			continue;
		if (engine_echo_take(e, q->p + WG_DATA_HEADER_LEN, q->inner))
			q->deliver = false;
	}
	rx_filter(e, b, n);
	for (size_t k = 0; k < n; k++) {
		struct rx_pkt *q = &b->pkt[k];
		if (q->deliver)
			(void)mss_clamp(q->p + WG_DATA_HEADER_LEN, q->inner, mtu);
	}

	while (i < n) {
		struct rx_pkt *p = &b->pkt[i];
		if (!p->deliver) {
			i++;
			continue;
		}
		if (e->tun.vnet_hdr) {
			i = rx_write_run(e, b, i, n);
			continue;
		}
		while (write(e->tun.fd, p->p + WG_DATA_HEADER_LEN, p->inner) < 0) {
			if (errno == EINTR)
				continue;
			engine_count(&e->counters.tun_write_errors);
			break;
		}
		engine_count(&e->counters.rx_packets);
		i++;
	}
}

void *engine_rx_main(void *arg)
{
	struct engine *e = arg;
	struct rx_batch *b = rx_batch_new();

	if (b == NULL) {
		log_warnx("rx thread: out of memory");
		atomic_store(&e->dead, true);
		return NULL;
	}
	while (!atomic_load(&e->stopping)) {
		int m = rx_recv(e, b);
		size_t n;
		if (m < 0) {
			if (m == -EAGAIN && !engine_wait(e, e->udp_fd, e->rx_wake_efd))
				break;
			/* EINTR, and ICMP errors reported as ECONNREFUSED & co: not fatal. */
			continue;
		}
		n = rx_split(e, b, (size_t)m);
		if (n == 0)
			continue;
		rx_decrypt(e, b, n);
		rx_deliver(e, b, n);
	}
	rx_batch_free(b);
	return NULL;
}

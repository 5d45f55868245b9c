/* SPDX-License-Identifier: ISC */
/*
 * fuzz_device: arbitrary datagrams into a WireGuard device with one peer,
 * through both paths the daemon uses (handshake input; data prepare, open,
 * complete), and arbitrary IP packets into the TX path. The first byte picks
 * the path; a valid initiation from the peer is also fed now and then so the
 * fuzzer reaches the session and data states.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "crypto/aead.h"
#include "crypto/keys.h"
#include "wg/device.h"
#include "wg/keypair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wg_device *dev, *peerdev;
static struct wg_peer *peer, *back;
static struct aead_ctx *ctx;
static uint8_t last[2048];
static size_t lastlen;
static uint64_t now = 1000000000ULL;

static void send_cb(void *arg, struct wg_peer *p, const struct netendpoint *to, const uint8_t *pkt,
		    size_t len)
{
	(void)arg;
	(void)p;
	(void)to;
	if (len <= sizeof(last)) {
		memcpy(last, pkt, len);
		lastlen = len;
	}
}

static uint64_t wall_cb(void *arg)
{
	(void)arg;
	return now + 1700000000ULL * 1000000000ULL;
}

static const struct wg_device_ops ops = { .send = send_cb, .wall_ns = wall_cb };

static void setup(void)
{
	uint8_t a[32], b[32], pa[32], pb[32];
	struct netprefix p;
	struct netendpoint ep;

	if (sodium_init() < 0 || aead_ctx_new(&ctx) < 0 || wg_device_new(&ops, NULL, &dev) < 0 ||
	    wg_device_new(&ops, NULL, &peerdev) < 0)
		__builtin_trap();
	/* Fixed keys so crashes reproduce. */
	memset(a, 0x11, 32);
	memset(b, 0x22, 32);
	wg_device_set_private_key(dev, a);
	wg_device_set_private_key(peerdev, b);
	if (!wg_device_public_key(dev, pa) || !wg_device_public_key(peerdev, pb) ||
	    wg_device_peer_add(dev, pb, &peer) < 0 || wg_device_peer_add(peerdev, pa, &back) < 0)
		__builtin_trap();
	if (netprefix_parse("10.0.0.0/8", &p) < 0 || wg_peer_allowedip_add(peer, &p) < 0 ||
	    netprefix_parse("192.168.0.0/16", &p) < 0 || wg_peer_allowedip_add(back, &p) < 0 ||
	    netendpoint_parse("192.0.2.1:51820", &ep) < 0)
		__builtin_trap();
	wg_peer_set_endpoint(peer, &ep);
	wg_peer_set_endpoint(back, &ep);
}

static void rx_data(const uint8_t *d, size_t n, const struct netendpoint *src)
{
	uint8_t buf[2048];
	struct wg_keypair *kp;
	struct wg_peer *p;
	size_t plen, inner;
	uint64_t counter;

	if (n > sizeof(buf))
		return;
	memcpy(buf, d, n);
	if (wg_device_rx_prepare(dev, buf, n, now, &kp) != 0)
		return;
	if (wg_keypair_open(kp, ctx, buf, n, &plen, &counter) != 0) {
		wg_device_rx_failed(dev, kp);
		return;
	}
	(void)wg_device_rx_complete(dev, kp, counter, buf + 16, plen, n, src, now, &inner, &p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netendpoint src;
	struct wg_tx_ticket t;

	if (dev == NULL)
		setup();
	if (size < 1 || netendpoint_parse("192.0.2.7:1234", &src) < 0)
		return 0;
	now += 1000000ULL * data[0];
	switch (data[0] % 5) {
	case 0:
		wg_device_handshake_input(dev, data + 1, size - 1, &src, data[0] & 0x80, now);
		break;
	case 1:
		if (wg_msg_classify(data + 1, size - 1) == WG_KIND_DATA)
			rx_data(data + 1, size - 1, &src);
		break;
	case 2:
		if (wg_device_tx_prepare(dev, data + 1, size - 1, now, &t) == WG_TX_SEND)
			wg_device_tx_complete(dev, &t, size + 31, true, now);
		break;
	case 3:
		/* A real handshake from the peer, then fuzz data against the session. */
		wg_peer_initiate(back, now);
		if (lastlen > 0)
			wg_device_handshake_input(dev, last, lastlen, &src, false, now);
		if (lastlen > 0)
			wg_device_handshake_input(peerdev, last, lastlen, &src, false, now);
		if (wg_msg_classify(data + 1, size - 1) == WG_KIND_DATA)
			rx_data(data + 1, size - 1, &src);
		break;
	default:
		wg_device_tick(dev, now);
		break;
	}
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * backend_ping: `weft ping` through the tunnel. weftd sends an ICMP echo
 * request from its own tailnet address with an identifier of its own; the
 * engine diverts the matching reply to the control thread, which completes
 * the ping with the latency and the path the peer answered on. (Disco pings,
 * which also measure paths before a session exists, come with NAT traversal.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/mem.h"
#include "crypto/keys.h"
#include "net/csum.h"
#include "wg/device.h"
#include "weftd/backend_int.h"
#include "weftd/engine.h"
#include "weftd/magicsock.h"

#define PING_PAYLOAD 32

struct backend_ping {
	struct backend *be;
	struct netaddr target;
	char name[64];
	uint16_t seq;
	uint64_t sent_ns;
	struct event *timer;
	void (*cb)(void *arg, json_t *result);
	void *arg;
	struct backend_ping *prev, *next;
};

static void backend_ping_unlink(struct backend *be, struct backend_ping *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		be->pings = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

void backend_ping_cancel(struct backend *be, struct backend_ping *p)
{
	backend_ping_unlink(be, p);
}

void backend_pings_free(struct backend *be)
{
	while (be->pings != NULL)
		backend_ping_unlink(be, be->pings);
}

/* The path the peer is answering on: the direct endpoint, or the relay region (*region). */
static void backend_ping_endpoint(struct backend *be, const struct netaddr *a, char *ep,
				  size_t len, uint32_t *region)
{
	const struct netmap_node *p = backend_node_by_addr(be, a);
	struct netendpoint d;

	ep[0] = '\0';
	*region = 0;
	if (p == NULL)
		return;
	if (magicsock_peer_direct(be->ms, &p->key, &d))
		netendpoint_format(&d, ep, len);
	else
		*region = magicsock_peer_relay(be->ms, &p->key);
}

static const char *backend_region_code(struct backend *be, uint32_t id)
{
	const struct netmap_relaymap *m = be->nm != NULL ? netmap_relaymap(be->nm) : NULL;

	for (size_t i = 0; m != NULL && i < m->n_regions; i++)
		if (m->regions[i].id == id)
			return m->regions[i].code;
	return "";
}

static void backend_ping_finish(struct backend_ping *p, const char *err, uint64_t at)
{
	struct backend *be = p->be;
	char ip[NETADDR_STRLEN], ep[NETENDPOINT_STRLEN] = "";
	uint32_t region = 0;
	double latency = 0;
	json_t *r;

	netaddr_format(&p->target, ip, sizeof(ip));
	if (err == NULL) {
		latency = (double)(at - p->sent_ns) / 1e9;
		backend_ping_endpoint(be, &p->target, ep, sizeof(ep), &region);
	}
	r = json_pack("{s:s, s:s, s:s, s:f, s:s, s:i, s:s, s:s}", "IP", ip, "NodeIP", ip,
		      "NodeName", p->name, "LatencySeconds", latency, "Endpoint", ep,
		      "DERPRegionID", (int)region, "DERPRegionCode", backend_region_code(be, region),
		      "Err", err != NULL ? err : "");
	p->cb(p->arg, r);
	json_decref(r);
	backend_ping_unlink(be, p);
}

static void backend_ping_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	backend_ping_finish(arg, "timeout", 0);
}

static void backend_echo_reply(void *arg, const struct netaddr *from, uint16_t seq, uint64_t at)
{
	struct backend *be = arg;

	for (struct backend_ping *p = be->pings; p != NULL; p = p->next) {
		if (p->seq == seq && netaddr_eq(&p->target, from)) {
			backend_ping_finish(p, NULL, at);
			return;
		}
	}
}

void backend_ping_install(struct backend *be)
{
	keys_random(&be->ping_ident, sizeof(be->ping_ident));
	if (be->ping_ident == 0)
		be->ping_ident = 1;
	engine_set_echo_hook(be->engine, be->ping_ident, backend_echo_reply, be);
}

/* An ICMP or ICMPv6 echo request from `src` to `dst`; returns its length. */
static size_t backend_echo_build(uint8_t *pkt, const struct netaddr *src, const struct netaddr *dst,
				 uint16_t ident, uint16_t seq)
{
	bool v4 = dst->family == NETADDR_V4;
	size_t iphl = v4 ? 20 : 40, icmp_len = 8 + PING_PAYLOAD, total = iphl + icmp_len;
	uint8_t *icmp = pkt + iphl;
	uint64_t acc;

	memset(pkt, 0, total);
	if (v4) {
		pkt[0] = 0x45;
		buf_store_be16(pkt + 2, (uint16_t)total);
		pkt[6] = 0x40;
		pkt[8] = 64;
		pkt[9] = 1;
		memcpy(pkt + 12, src->a, 4);
		memcpy(pkt + 16, dst->a, 4);
		buf_store_be16(pkt + 10, csum_finish(csum_add(0, pkt, 20)));
		icmp[0] = 8;
	} else {
		pkt[0] = 0x60;
		buf_store_be16(pkt + 4, (uint16_t)icmp_len);
		pkt[6] = 58;
		pkt[7] = 64;
		memcpy(pkt + 8, src->a, 16);
		memcpy(pkt + 24, dst->a, 16);
		icmp[0] = 128;
	}
	buf_store_be16(icmp + 4, ident);
	buf_store_be16(icmp + 6, seq);
	memcpy(icmp + 8, "weft ping weft ping weft ping...", PING_PAYLOAD);
	acc = v4 ? 0 : csum_pseudo(pkt + 8, pkt + 24, 16, 58, (uint32_t)icmp_len);
	buf_store_be16(icmp + 2, csum_finish(csum_add(acc, icmp, icmp_len)));
	return total;
}

int backend_ping_start(struct backend *be, const struct netaddr *ip, uint64_t timeout_ns,
		       void (*cb)(void *arg, json_t *result), void *arg, struct backend_ping **out)
{
	const struct netmap_node *peer = backend_node_by_addr(be, ip);
	const struct netmap_node *self = be->nm != NULL ? netmap_self(be->nm) : NULL;
	const struct netaddr *src = NULL;
	struct timeval tv = { (time_t)(timeout_ns / CLOCK_NS_PER_SEC),
			      (suseconds_t)(timeout_ns % CLOCK_NS_PER_SEC / 1000) };
	struct backend_ping *p;
	uint8_t pkt[40 + 8 + PING_PAYLOAD];
	size_t len;
	int r;

	*out = NULL;
	if (peer == NULL || peer == self)
		return -ENOENT;
	for (size_t i = 0; i < self->n_addresses; i++)
		if (self->addresses[i].addr.family == ip->family)
			src = &self->addresses[i].addr;
	if (src == NULL)
		return -EAFNOSUPPORT;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->be = be;
	p->target = *ip;
	snprintf(p->name, sizeof(p->name), "%s", peer->hostname != NULL ? peer->hostname : "");
	p->seq = ++be->ping_seq;
	p->cb = cb;
	p->arg = arg;
	p->timer = evtimer_new(be->base, backend_ping_timeout, p);
	if (p->timer == NULL || evtimer_add(p->timer, &tv) < 0) {
		if (p->timer != NULL)
			event_free(p->timer);
		free(p);
		return -ENOMEM;
	}
	p->next = be->pings;
	if (be->pings != NULL)
		be->pings->prev = p;
	be->pings = p;
	len = backend_echo_build(pkt, src, ip, be->ping_ident, p->seq);
	p->sent_ns = clock_mono_ns();
	r = engine_send_packet(be->engine, pkt, len);
	if (r < 0) {
		backend_ping_unlink(be, p);
		return r;
	}
	*out = p;
	return 0;
}

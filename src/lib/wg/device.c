/* SPDX-License-Identifier: ISC */
/*
 * device: peers, indices, handshakes, timers and the split data path of a
 * WireGuard interface, without I/O (see device.h). The logic follows the
 * Linux kernel's receive.c, send.c and timers.c rule by rule.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/mem.h"
#include "crypto/aead.h"
#include "crypto/ct.h"
#include "crypto/keys.h"
#include "wg/allowedips.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/keypair.h"
#include "wg/noise.h"
#include "wg/ratelimiter.h"
#include "wg/timers.h"

#define WG_PEER_BUCKETS 1024 /* grows with the peer count */
#define WG_INDEX_BUCKETS_MIN 1024

struct wg_staged {
	uint8_t *buf; /* WG_DATA_HEADER_LEN headroom + packet + padding/tag room */
	size_t len;
};

struct wg_peer {
	struct wg_device *p_dev;
	uint8_t p_public[WG_KEY_LEN];
	struct noise_handshake p_hs;
	struct cookie_maker p_cookie;
	struct wg_timers p_timers;
	struct wg_keypairs p_kps;
	struct netendpoint p_endpoint;
	bool p_has_endpoint;
	bool p_has_psk;
	uint64_t p_rx_bytes;
	uint64_t p_tx_bytes;
	uint64_t p_last_handshake_wall_ns;
	struct wg_staged p_staged[WG_MAX_STAGED_PACKETS];
	unsigned p_staged_head;
	unsigned p_staged_count;
	void *p_user;
	struct wg_peer *p_hnext; /* hash chain by public key */
	struct wg_peer *p_prev;	 /* insertion-ordered list */
	struct wg_peer *p_next;
};

enum wg_index_kind {
	WG_INDEX_HANDSHAKE,
	WG_INDEX_KEYPAIR,
};

struct wg_index_entry {
	uint32_t ie_index;
	enum wg_index_kind ie_kind;
	struct wg_peer *ie_peer;
	struct wg_keypair *ie_kp; /* borrowed: the peer's slots hold the reference */
	struct wg_index_entry *ie_next;
};

struct wg_device {
	struct wg_device_ops d_ops;
	void *d_arg;
	struct noise_local d_local;
	struct cookie_checker d_cookie;
	struct ratelimiter *d_ratelimiter;
	struct allowedips *d_aips;
	struct aead_ctx *d_ctx; /* control-path sealing (keepalives, staged packets) */
	struct wg_peer **d_peer_buckets;
	size_t d_npeer_buckets;
	struct wg_peer *d_peers_head;
	struct wg_peer *d_peers_tail;
	size_t d_npeers;
	struct wg_index_entry **d_index_buckets;
	size_t d_nindex_buckets;
	size_t d_nindices;
	uint64_t d_hash_key;
	unsigned d_mtu;
	struct wg_counters d_counters;
};

const char *const wg_counter_names[] = {
#define WG_COUNTER_NAME(name) #name,
	WG_COUNTERS(WG_COUNTER_NAME)
#undef WG_COUNTER_NAME
};

size_t wg_counters_count(void)
{
	return sizeof(wg_counter_names) / sizeof(wg_counter_names[0]);
}

uint64_t wg_counters_get(const struct wg_counters *c, size_t i)
{
	const uint64_t *v = (const uint64_t *)c;

	return i < wg_counters_count() ? v[i] : 0;
}

static uint64_t wg_jitter(void)
{
	return (uint64_t)randombytes_uniform((uint32_t)WG_REKEY_TIMEOUT_JITTER_MAX_NS);
}

/* ---- index table ---------------------------------------------------------------------- */

static size_t wg_index_slot(const struct wg_device *dev, uint32_t index)
{
	/* Indices are random, so their low bits spread evenly. */
	return index & (dev->d_nindex_buckets - 1);
}

static struct wg_index_entry *wg_index_lookup(const struct wg_device *dev, uint32_t index)
{
	struct wg_index_entry *e;

	for (e = dev->d_index_buckets[wg_index_slot(dev, index)]; e != NULL; e = e->ie_next)
		if (e->ie_index == index)
			return e;
	return NULL;
}

static void wg_index_grow(struct wg_device *dev)
{
	size_t n = dev->d_nindex_buckets * 2;
	struct wg_index_entry **nb = calloc(n, sizeof(*nb)), *e, *next;

	if (nb == NULL)
		return; /* keep the smaller table: slower, still correct */
	for (size_t i = 0; i < dev->d_nindex_buckets; i++) {
		for (e = dev->d_index_buckets[i]; e != NULL; e = next) {
			next = e->ie_next;
			e->ie_next = nb[e->ie_index & (n - 1)];
			nb[e->ie_index & (n - 1)] = e;
		}
	}
	free(dev->d_index_buckets);
	dev->d_index_buckets = nb;
	dev->d_nindex_buckets = n;
}

/* A fresh random index for the peer's handshake; 0 on allocation failure. */
static uint32_t wg_index_insert(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_index_entry *e = calloc(1, sizeof(*e));
	uint32_t index;
	size_t slot;

	if (e == NULL)
		return 0;
	if (dev->d_nindices >= dev->d_nindex_buckets)
		wg_index_grow(dev);
	do
		index = randombytes_random();
	while (index == 0 || wg_index_lookup(dev, index) != NULL);
	e->ie_index = index;
	e->ie_kind = WG_INDEX_HANDSHAKE;
	e->ie_peer = peer;
	slot = wg_index_slot(dev, index);
	e->ie_next = dev->d_index_buckets[slot];
	dev->d_index_buckets[slot] = e;
	dev->d_nindices++;
	return index;
}

static void wg_index_remove(struct wg_device *dev, uint32_t index)
{
	struct wg_index_entry **pp, *e;

	if (index == 0)
		return;
	for (pp = &dev->d_index_buckets[wg_index_slot(dev, index)]; (e = *pp) != NULL;
	     pp = &e->ie_next) {
		if (e->ie_index == index) {
			*pp = e->ie_next;
			free(e);
			dev->d_nindices--;
			return;
		}
	}
}

/* ---- keypairs ------------------------------------------------------------------------- */

static void wg_keypairs_release(struct wg_device *dev, struct wg_keypair **kps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		wg_index_remove(dev, kps[i]->kp_local_index);
		kps[i]->kp_peer = NULL;
		wg_keypair_put(kps[i]);
	}
}

static void wg_peer_clear_sessions(struct wg_peer *peer)
{
	struct wg_keypair *dropped[3];
	size_t n;

	wg_keypairs_clear(&peer->p_kps, dropped, &n);
	wg_keypairs_release(peer->p_dev, dropped, n);
	wg_index_remove(peer->p_dev, peer->p_hs.local_index);
	noise_handshake_clear(&peer->p_hs);
}

/* Turns the handshake's index into the new keypair's and installs it. */
static int wg_peer_begin_session(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->p_dev;
	uint8_t send[WG_KEY_LEN], recv[WG_KEY_LEN];
	struct wg_keypair *kp = NULL, *dropped[3];
	struct wg_index_entry *e;
	uint32_t li, ri;
	bool initiator;
	size_t n;
	int r;

	li = peer->p_hs.local_index;
	r = noise_derive_keys(&peer->p_hs, send, recv, &initiator, &li, &ri);
	if (r == 0)
		r = wg_keypair_new(send, recv, initiator, li, ri, now, &kp);
	mem_wipe(send, sizeof(send));
	mem_wipe(recv, sizeof(recv));
	if (r < 0) {
		wg_index_remove(dev, li);
		noise_handshake_clear(&peer->p_hs);
		return r;
	}
	e = wg_index_lookup(dev, li);
	if (e == NULL || e->ie_peer != peer) {
		wg_keypair_put(kp);
		return -ENOENT;
	}
	e->ie_kind = WG_INDEX_KEYPAIR;
	e->ie_kp = kp;
	kp->kp_peer = peer;
	wg_keypairs_install(&peer->p_kps, kp, dropped, &n);
	wg_keypairs_release(dev, dropped, n);
	wg_timers_session_derived(&peer->p_timers, now);
	return 0;
}

static bool wg_keypair_can_send(const struct wg_keypair *kp, uint64_t now)
{
	return kp != NULL && wg_keypair_is_live(kp, now) &&
	       kp->kp_send_counter < WG_REJECT_AFTER_MESSAGES;
}

/* ---- sending from the control path ------------------------------------------------------ */

static void wg_peer_send_buffer(struct wg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct wg_device *dev = peer->p_dev;

	if (!peer->p_has_endpoint) {
		dev->d_counters.tx_no_endpoint++;
		return;
	}
	dev->d_ops.send(dev->d_arg, peer, &peer->p_endpoint, pkt, len);
	peer->p_tx_bytes += len;
}

static void wg_peer_send_initiation(struct wg_peer *peer, bool is_retry, uint64_t now)
{
	struct wg_device *dev = peer->p_dev;
	struct wg_msg_initiation msg;
	uint32_t index;

	if (!dev->d_local.has_identity || !wg_timers_may_initiate(&peer->p_timers, now, is_retry))
		return;
	wg_index_remove(dev, peer->p_hs.local_index);
	peer->p_hs.local_index = 0;
	index = wg_index_insert(dev, peer);
	if (index == 0)
		return;
	if (noise_create_initiation(&dev->d_local, &peer->p_hs, &msg, index,
				    dev->d_ops.wall_ns(dev->d_arg)) != 0) {
		wg_index_remove(dev, index);
		return;
	}
	cookie_maker_add_macs(&peer->p_cookie, (uint8_t *)&msg, sizeof(msg), now);
	wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
	wg_timers_any_authenticated_packet_sent(&peer->p_timers);
	dev->d_counters.tx_handshakes++;
	wg_peer_send_buffer(peer, (const uint8_t *)&msg, sizeof(msg));
	wg_timers_handshake_initiated(&peer->p_timers, now, wg_jitter());
}

void wg_peer_initiate(struct wg_peer *peer, uint64_t now)
{
	wg_peer_send_initiation(peer, false, now);
}

/* The send path's freshness rule: rekey when the current session is old or worn. */
static void wg_peer_keep_key_fresh_tx(struct wg_peer *peer, uint64_t now)
{
	struct wg_keypair *kp = peer->p_kps.cur;

	if (kp != NULL && wg_keypair_can_send(kp, now) &&
	    (kp->kp_send_counter > WG_REKEY_AFTER_MESSAGES ||
	     (kp->kp_initiator && now - kp->kp_birth_ns >= WG_REKEY_AFTER_TIME)))
		wg_peer_send_initiation(peer, false, now);
}

/* The receive path's: an initiator rekeys once shortly before its session would die. */
static void wg_peer_keep_key_fresh_rx(struct wg_peer *peer, uint64_t now)
{
	struct wg_keypair *kp = peer->p_kps.cur;

	if (peer->p_timers.t_sent_lastminute_handshake)
		return;
	if (kp != NULL && wg_keypair_can_send(kp, now) && kp->kp_initiator &&
	    now - kp->kp_birth_ns >=
		    WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT) {
		peer->p_timers.t_sent_lastminute_handshake = true;
		wg_peer_send_initiation(peer, false, now);
	}
}

/* Seals one packet (buffer with headroom) with the current keypair and sends it. */
static void wg_peer_seal_and_send(struct wg_peer *peer, uint8_t *buf, size_t len, uint64_t now)
{
	struct wg_device *dev = peer->p_dev;
	struct wg_keypair *kp = peer->p_kps.cur;
	uint64_t counter = kp->kp_send_counter++;
	size_t out;

	if (wg_keypair_seal(kp, dev->d_ctx, counter, buf, len, dev->d_mtu, &out) != 0)
		return;
	wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
	wg_timers_any_authenticated_packet_sent(&peer->p_timers);
	wg_peer_send_buffer(peer, buf, out);
	if (len > 0)
		wg_timers_data_sent(&peer->p_timers, now, wg_jitter());
	else
		dev->d_counters.tx_keepalives++;
}

static void wg_staged_drop_oldest(struct wg_peer *peer)
{
	struct wg_staged *s = &peer->p_staged[peer->p_staged_head];

	free(s->buf);
	s->buf = NULL;
	peer->p_staged_head = (peer->p_staged_head + 1) % WG_MAX_STAGED_PACKETS;
	peer->p_staged_count--;
}

static void wg_staged_purge(struct wg_peer *peer)
{
	while (peer->p_staged_count > 0)
		wg_staged_drop_oldest(peer);
}

/* Queues a copy of an IP packet (len 0: a keepalive) until a session exists. */
static void wg_staged_push(struct wg_peer *peer, const uint8_t *ip, size_t len)
{
	size_t room = WG_DATA_HEADER_LEN + len + WG_PADDING + WG_TAG_LEN;
	struct wg_staged *s;
	uint8_t *buf;

	buf = malloc(room);
	if (buf == NULL) {
		peer->p_dev->d_counters.tx_staged_dropped++;
		return;
	}
	if (len > 0)
		memcpy(buf + WG_DATA_HEADER_LEN, ip, len);
	if (peer->p_staged_count == WG_MAX_STAGED_PACKETS) {
		wg_staged_drop_oldest(peer);
		peer->p_dev->d_counters.tx_staged_dropped++;
	}
	s = &peer->p_staged[(peer->p_staged_head + peer->p_staged_count) % WG_MAX_STAGED_PACKETS];
	s->buf = buf;
	s->len = len;
	peer->p_staged_count++;
}

/* Sends the staged packets if a session can carry them, else asks for one. */
static void wg_staged_flush(struct wg_peer *peer, uint64_t now)
{
	if (peer->p_staged_count == 0)
		return;
	if (!wg_keypair_can_send(peer->p_kps.cur, now)) {
		wg_peer_send_initiation(peer, false, now);
		return;
	}
	while (peer->p_staged_count > 0 && wg_keypair_can_send(peer->p_kps.cur, now)) {
		struct wg_staged *s = &peer->p_staged[peer->p_staged_head];
		wg_peer_seal_and_send(peer, s->buf, s->len, now);
		wg_staged_drop_oldest(peer);
	}
	wg_peer_keep_key_fresh_tx(peer, now);
}

void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	if (peer->p_staged_count == 0)
		wg_staged_push(peer, NULL, 0);
	wg_staged_flush(peer, now);
}

/* ---- device and peers ----------------------------------------------------------------- */

int wg_device_new(const struct wg_device_ops *ops, void *arg, struct wg_device **out)
{
	struct wg_device *dev;
	int r = -ENOMEM;

	*out = NULL;
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	dev->d_ops = *ops;
	dev->d_arg = arg;
	dev->d_npeer_buckets = WG_PEER_BUCKETS;
	dev->d_peer_buckets = calloc(dev->d_npeer_buckets, sizeof(*dev->d_peer_buckets));
	dev->d_nindex_buckets = WG_INDEX_BUCKETS_MIN;
	dev->d_index_buckets = calloc(dev->d_nindex_buckets, sizeof(*dev->d_index_buckets));
	if (dev->d_peer_buckets == NULL || dev->d_index_buckets == NULL)
		goto fail;
	if ((r = allowedips_new(&dev->d_aips)) < 0 ||
	    (r = ratelimiter_new(RATELIMITER_DEFAULT_MAX_ENTRIES, &dev->d_ratelimiter)) < 0 || (r = aead_ctx_new(&dev->d_ctx)) < 0)
		goto fail;
	randombytes_buf(&dev->d_hash_key, sizeof(dev->d_hash_key));
	cookie_checker_init(&dev->d_cookie, NULL);
	*out = dev;
	return 0;
fail:
	wg_device_free(dev);
	return r;
}

void wg_device_free(struct wg_device *dev)
{
	if (dev == NULL)
		return;
	wg_device_peers_clear(dev);
	allowedips_free(dev->d_aips);
	ratelimiter_free(dev->d_ratelimiter);
	aead_ctx_free(dev->d_ctx);
	free(dev->d_peer_buckets);
	free(dev->d_index_buckets);
	mem_wipe(&dev->d_local, sizeof(dev->d_local));
	cookie_checker_wipe(&dev->d_cookie);
	free(dev);
}

void wg_device_set_mtu(struct wg_device *dev, unsigned mtu)
{
	dev->d_mtu = mtu;
}

const struct wg_counters *wg_device_counters(const struct wg_device *dev)
{
	return &dev->d_counters;
}

void wg_device_set_private_key(struct wg_device *dev, const uint8_t *priv)
{
	struct noise_local nl;
	struct wg_peer *p, *next;

	noise_local_set(&nl, priv);
	if (nl.has_identity == dev->d_local.has_identity &&
	    ct_memeq(nl.private_key, dev->d_local.private_key, WG_KEY_LEN)) {
		mem_wipe(&nl, sizeof(nl));
		return;
	}
	dev->d_local = nl;
	mem_wipe(&nl, sizeof(nl));
	cookie_checker_init(&dev->d_cookie, dev->d_local.has_identity ? dev->d_local.public_key
								       : NULL);
	for (p = dev->d_peers_head; p != NULL; p = next) {
		next = p->p_next;
		/* A peer whose key is now our own makes no sense: the kernel removes it. */
		if (dev->d_local.has_identity && ct_memeq(p->p_public, dev->d_local.public_key,
							  WG_KEY_LEN)) {
			wg_device_peer_remove(dev, p);
			continue;
		}
		wg_peer_clear_sessions(p);
		noise_handshake_rekey_local(&p->p_hs, &dev->d_local);
	}
}

bool wg_device_private_key(const struct wg_device *dev, uint8_t out[static WG_KEY_LEN])
{
	if (!dev->d_local.has_identity)
		return false;
	memcpy(out, dev->d_local.private_key, WG_KEY_LEN);
	return true;
}

bool wg_device_public_key(const struct wg_device *dev, uint8_t out[static WG_KEY_LEN])
{
	if (!dev->d_local.has_identity)
		return false;
	memcpy(out, dev->d_local.public_key, WG_KEY_LEN);
	return true;
}

static size_t wg_peer_slot(const struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN])
{
	uint64_t h = (buf_load_le64(pub) ^ dev->d_hash_key) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (dev->d_npeer_buckets - 1);
}

struct wg_peer *wg_device_peer_find(const struct wg_device *dev,
				    const uint8_t pub[static WG_KEY_LEN])
{
	struct wg_peer *p;

	for (p = dev->d_peer_buckets[wg_peer_slot(dev, pub)]; p != NULL; p = p->p_hnext)
		if (ct_memeq(p->p_public, pub, WG_KEY_LEN))
			return p;
	return NULL;
}

static void wg_peer_buckets_grow(struct wg_device *dev)
{
	size_t n = dev->d_npeer_buckets * 2;
	struct wg_peer **nb = calloc(n, sizeof(*nb)), *p;

	if (nb == NULL)
		return;
	free(dev->d_peer_buckets);
	dev->d_peer_buckets = nb;
	dev->d_npeer_buckets = n;
	for (p = dev->d_peers_head; p != NULL; p = p->p_next) {
		size_t slot = wg_peer_slot(dev, p->p_public);
		p->p_hnext = nb[slot];
		nb[slot] = p;
	}
}

int wg_device_peer_add(struct wg_device *dev, const uint8_t pub[static WG_KEY_LEN],
		       struct wg_peer **out)
{
	struct wg_peer *p;
	size_t slot;

	*out = NULL;
	if (wg_device_peer_find(dev, pub) != NULL)
		return -EEXIST;
	if (dev->d_local.has_identity && ct_memeq(pub, dev->d_local.public_key, WG_KEY_LEN))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	if (dev->d_npeers >= dev->d_npeer_buckets)
		wg_peer_buckets_grow(dev);
	p->p_dev = dev;
	memcpy(p->p_public, pub, WG_KEY_LEN);
	noise_handshake_init(&p->p_hs, &dev->d_local, pub, NULL);
	cookie_maker_init(&p->p_cookie, pub);
	wg_timers_init(&p->p_timers);
	slot = wg_peer_slot(dev, pub);
	p->p_hnext = dev->d_peer_buckets[slot];
	dev->d_peer_buckets[slot] = p;
	p->p_prev = dev->d_peers_tail;
	if (dev->d_peers_tail != NULL)
		dev->d_peers_tail->p_next = p;
	else
		dev->d_peers_head = p;
	dev->d_peers_tail = p;
	dev->d_npeers++;
	*out = p;
	return 0;
}

void wg_device_peer_remove(struct wg_device *dev, struct wg_peer *peer)
{
	struct wg_peer **pp;

	for (pp = &dev->d_peer_buckets[wg_peer_slot(dev, peer->p_public)]; *pp != NULL;
	     pp = &(*pp)->p_hnext) {
		if (*pp == peer) {
			*pp = peer->p_hnext;
			break;
		}
	}
	if (peer->p_prev != NULL)
		peer->p_prev->p_next = peer->p_next;
	else
		dev->d_peers_head = peer->p_next;
	if (peer->p_next != NULL)
		peer->p_next->p_prev = peer->p_prev;
	else
		dev->d_peers_tail = peer->p_prev;
	dev->d_npeers--;
	allowedips_remove_by_value(dev->d_aips, peer);
	wg_peer_clear_sessions(peer);
	wg_staged_purge(peer);
	noise_handshake_wipe(&peer->p_hs);
	cookie_maker_wipe(&peer->p_cookie);
	mem_wipe(peer, sizeof(*peer));
	free(peer);
}

void wg_device_peers_clear(struct wg_device *dev)
{
	while (dev->d_peers_head != NULL)
		wg_device_peer_remove(dev, dev->d_peers_head);
}

size_t wg_device_peer_count(const struct wg_device *dev)
{
	return dev->d_npeers;
}

struct wg_peer *wg_device_peer_first(const struct wg_device *dev)
{
	return dev->d_peers_head;
}

struct wg_peer *wg_peer_next(const struct wg_peer *peer)
{
	return peer->p_next;
}

void wg_peer_set_psk(struct wg_peer *peer, const uint8_t *psk)
{
	peer->p_has_psk = psk != NULL && !ct_is_zero(psk, WG_KEY_LEN);
	noise_handshake_set_psk(&peer->p_hs, peer->p_has_psk ? psk : NULL);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct netendpoint *ep)
{
	if (ep == NULL) {
		peer->p_has_endpoint = false;
		return;
	}
	peer->p_endpoint = *ep;
	peer->p_has_endpoint = true;
}

void wg_peer_set_keepalive(struct wg_peer *peer, uint16_t seconds, uint64_t now)
{
	bool changed_on = seconds != 0 && seconds != peer->p_timers.t_persistent_keepalive_interval;

	peer->p_timers.t_persistent_keepalive_interval = seconds;
	if (seconds == 0)
		peer->p_timers.t_persistent_keepalive = 0;
	if (changed_on && peer->p_dev->d_local.has_identity)
		wg_peer_send_keepalive(peer, now);
}

int wg_peer_allowedip_add(struct wg_peer *peer, const struct netprefix *p)
{
	return allowedips_insert(peer->p_dev->d_aips, p, peer);
}

void wg_peer_allowedips_clear(struct wg_peer *peer)
{
	allowedips_remove_by_value(peer->p_dev->d_aips, peer);
}

int wg_peer_allowedips_walk(const struct wg_peer *peer,
			    int (*fn)(const struct netprefix *p, void *arg), void *arg)
{
	return allowedips_walk(peer->p_dev->d_aips, peer, fn, arg);
}

void wg_peer_set_user(struct wg_peer *peer, void *user)
{
	peer->p_user = user;
}

void *wg_peer_user(const struct wg_peer *peer)
{
	return peer->p_user;
}

const uint8_t *wg_peer_public_key(const struct wg_peer *peer)
{
	return peer->p_public;
}

void wg_peer_info(const struct wg_peer *peer, struct wg_peer_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->public_key, peer->p_public, WG_KEY_LEN);
	info->has_psk = peer->p_has_psk;
	if (peer->p_has_psk)
		memcpy(info->psk, peer->p_hs.psk, WG_KEY_LEN);
	info->endpoint = peer->p_endpoint;
	info->has_endpoint = peer->p_has_endpoint;
	info->last_handshake_wall_ns = peer->p_last_handshake_wall_ns;
	info->rx_bytes = peer->p_rx_bytes;
	info->tx_bytes = peer->p_tx_bytes;
	info->persistent_keepalive = peer->p_timers.t_persistent_keepalive_interval;
}

/* ---- timers --------------------------------------------------------------------------- */

static void wg_peer_handshake_complete(struct wg_peer *peer)
{
	wg_timers_handshake_complete(&peer->p_timers);
	peer->p_last_handshake_wall_ns = peer->p_dev->d_ops.wall_ns(peer->p_dev->d_arg);
}

static void wg_peer_tick(struct wg_peer *peer, uint64_t now)
{
	unsigned due = wg_timers_expire(&peer->p_timers, now);

	if (due & WG_TIMER_RETRANSMIT_HANDSHAKE) {
		if (peer->p_timers.t_handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
			/* Give up: forget queued packets; keys go after 3*REJECT_AFTER_TIME. */
			peer->p_timers.t_send_keepalive = 0;
			wg_staged_purge(peer);
			wg_timers_schedule_zeroing(&peer->p_timers, now);
		} else {
			peer->p_timers.t_handshake_attempts++;
			wg_peer_send_initiation(peer, true, now);
		}
	}
	if (due & WG_TIMER_SEND_KEEPALIVE) {
		wg_peer_send_keepalive(peer, now);
		wg_timers_keepalive_sent(&peer->p_timers, now);
	}
	if (due & WG_TIMER_NEW_HANDSHAKE)
		wg_peer_send_initiation(peer, false, now);
	if (due & WG_TIMER_ZERO_KEY_MATERIAL)
		wg_peer_clear_sessions(peer);
	if ((due & WG_TIMER_PERSISTENT_KEEPALIVE) &&
	    peer->p_timers.t_persistent_keepalive_interval != 0)
		wg_peer_send_keepalive(peer, now);
}

void wg_device_tick(struct wg_device *dev, uint64_t now)
{
	struct wg_peer *p, *next;

	for (p = dev->d_peers_head; p != NULL; p = next) {
		next = p->p_next;
		if (wg_timers_next(&p->p_timers) <= now)
			wg_peer_tick(p, now);
	}
	ratelimiter_gc(dev->d_ratelimiter, now);
}

uint64_t wg_device_next_deadline(const struct wg_device *dev)
{
	uint64_t n = UINT64_MAX;

	for (const struct wg_peer *p = dev->d_peers_head; p != NULL; p = p->p_next) {
		uint64_t t = wg_timers_next(&p->p_timers);
		if (t < n)
			n = t;
	}
	return n;
}

/* ---- handshake input ------------------------------------------------------------------ */

enum wg_msg_kind wg_msg_classify(const uint8_t *pkt, size_t len)
{
	if (len < 4 || pkt[1] != 0 || pkt[2] != 0 || pkt[3] != 0)
		return WG_KIND_INVALID;
	switch (pkt[0]) {
	case WG_MSG_INITIATION:
		return len == sizeof(struct wg_msg_initiation) ? WG_KIND_HANDSHAKE : WG_KIND_INVALID;
	case WG_MSG_RESPONSE:
		return len == sizeof(struct wg_msg_response) ? WG_KIND_HANDSHAKE : WG_KIND_INVALID;
	case WG_MSG_COOKIE:
		return len == sizeof(struct wg_msg_cookie) ? WG_KIND_HANDSHAKE : WG_KIND_INVALID;
	case WG_MSG_DATA:
		return len >= WG_DATA_MIN_LEN ? WG_KIND_DATA : WG_KIND_INVALID;
	default:
		return WG_KIND_INVALID;
	}
}

/* mac1/mac2 and the under-load policy; true when the message may be processed. */
static bool wg_handshake_admit(struct wg_device *dev, const uint8_t *pkt, size_t len,
			       uint32_t sender, const struct netendpoint *src, bool under_load,
			       uint64_t now)
{
	struct wg_msg_cookie reply;

	switch (cookie_checker_validate(&dev->d_cookie, pkt, len, src, under_load, now)) {
	case COOKIE_INVALID_MAC:
		dev->d_counters.rx_mac1_invalid++;
		return false;
	case COOKIE_NEED_COOKIE:
		cookie_checker_create_reply(&dev->d_cookie, &reply, pkt, len, sender, src, now);
		dev->d_ops.send(dev->d_arg, NULL, src, (const uint8_t *)&reply, sizeof(reply));
		dev->d_counters.rx_cookie_sent++;
		return false;
	case COOKIE_VALID_MAC2:
		if (!ratelimiter_allow(dev->d_ratelimiter, &src->addr, now)) {
			dev->d_counters.rx_ratelimited++;
			return false;
		}
		return true;
	case COOKIE_VALID_MAC1:
		return true;
	}
	return false;
}

/* After any authenticated handshake message from the peer. */
static void wg_peer_handshake_received(struct wg_peer *peer, const struct netendpoint *src,
				       size_t len, uint64_t now)
{
	peer->p_endpoint = *src;
	peer->p_has_endpoint = true;
	peer->p_rx_bytes += len;
	peer->p_dev->d_counters.rx_handshakes++;
	wg_timers_any_authenticated_packet_received(&peer->p_timers);
	wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
}

static void wg_device_consume_initiation(struct wg_device *dev, const struct wg_msg_initiation *msg,
					 const struct netendpoint *src, uint64_t now)
{
	struct noise_initiation in;
	struct wg_msg_response resp;
	struct wg_peer *peer;
	uint32_t index, in_flight;
	int r;

	if (noise_initiation_open(&dev->d_local, msg, &in) != 0) {
		dev->d_counters.rx_handshake_invalid++;
		return;
	}
	peer = wg_device_peer_find(dev, in.remote_static);
	if (peer == NULL) {
		mem_wipe(&in, sizeof(in));
		dev->d_counters.rx_handshake_unknown_peer++;
		return;
	}
	in_flight = peer->p_hs.local_index;
	r = noise_initiation_accept(&peer->p_hs, msg, &in, now);
	if (r != 0) {
		if (r == -EALREADY)
			dev->d_counters.rx_handshake_replayed++;
		else if (r == -EBUSY)
			dev->d_counters.rx_handshake_flood++;
		else
			dev->d_counters.rx_handshake_invalid++;
		return;
	}
	/* Our own initiation in flight, if any, is superseded: drop its index. */
	wg_index_remove(dev, in_flight);
	wg_peer_handshake_received(peer, src, sizeof(*msg), now);

	index = wg_index_insert(dev, peer);
	if (index == 0 || noise_create_response(&peer->p_hs, &resp, index) != 0) {
		wg_index_remove(dev, index);
		noise_handshake_clear(&peer->p_hs);
		return;
	}
	cookie_maker_add_macs(&peer->p_cookie, (uint8_t *)&resp, sizeof(resp), now);
	wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
	wg_timers_any_authenticated_packet_sent(&peer->p_timers);
	if (wg_peer_begin_session(peer, now) == 0) {
		dev->d_counters.tx_handshakes++;
		wg_peer_send_buffer(peer, (const uint8_t *)&resp, sizeof(resp));
	}
}

static void wg_device_consume_response(struct wg_device *dev, const struct wg_msg_response *msg,
				       const struct netendpoint *src, uint64_t now)
{
	struct wg_index_entry *e = wg_index_lookup(dev, buf_load_le32(msg->receiver));
	struct wg_peer *peer;

	if (e == NULL || e->ie_kind != WG_INDEX_HANDSHAKE) {
		dev->d_counters.rx_unknown_index++;
		return;
	}
	peer = e->ie_peer;
	if (noise_consume_response(&dev->d_local, &peer->p_hs, msg) != 0) {
		dev->d_counters.rx_handshake_invalid++;
		return;
	}
	wg_peer_handshake_received(peer, src, sizeof(*msg), now);
	if (wg_peer_begin_session(peer, now) != 0)
		return;
	wg_peer_handshake_complete(peer);
	/* Send what waited for this session; with nothing waiting, a keepalive confirms it. */
	wg_peer_send_keepalive(peer, now);
}

static void wg_device_consume_cookie(struct wg_device *dev, const struct wg_msg_cookie *msg,
				     uint64_t now)
{
	struct wg_index_entry *e = wg_index_lookup(dev, buf_load_le32(msg->receiver));

	if (e == NULL) {
		dev->d_counters.rx_unknown_index++;
		return;
	}
	if (cookie_maker_consume_reply(&e->ie_peer->p_cookie, msg, now) != 0)
		dev->d_counters.rx_cookie_invalid++;
}

void wg_device_handshake_input(struct wg_device *dev, const uint8_t *pkt, size_t len,
			       const struct netendpoint *src, bool under_load, uint64_t now)
{
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_msg_cookie cookie;

	if (wg_msg_classify(pkt, len) != WG_KIND_HANDSHAKE) {
		dev->d_counters.rx_bad_length++;
		return;
	}
	switch (pkt[0]) {
	case WG_MSG_INITIATION:
		memcpy(&init, pkt, sizeof(init));
		if (wg_handshake_admit(dev, pkt, len, buf_load_le32(init.sender), src, under_load,
				       now))
			wg_device_consume_initiation(dev, &init, src, now);
		break;
	case WG_MSG_RESPONSE:
		memcpy(&resp, pkt, sizeof(resp));
		if (wg_handshake_admit(dev, pkt, len, buf_load_le32(resp.sender), src, under_load,
				       now))
			wg_device_consume_response(dev, &resp, src, now);
		break;
	case WG_MSG_COOKIE:
		memcpy(&cookie, pkt, sizeof(cookie));
		wg_device_consume_cookie(dev, &cookie, now);
		break;
	default:
		dev->d_counters.rx_bad_type++;
		break;
	}
}

/* ---- data path ------------------------------------------------------------------------ */

int wg_ip_addrs(const uint8_t *ip, size_t len, struct netaddr *src, struct netaddr *dst,
		size_t *total_len)
{
	size_t tl;

	if (len < 1)
		return -EINVAL;
	switch (ip[0] >> 4) {
	case 4:
		if (len < 20)
			return -EINVAL;
		tl = buf_load_be16(ip + 2);
		if (tl < 20 || tl > len)
			return -EINVAL;
		netaddr_from_v4(src, ip + 12);
		netaddr_from_v4(dst, ip + 16);
		break;
	case 6:
		if (len < 40)
			return -EINVAL;
		tl = 40 + (size_t)buf_load_be16(ip + 4);
		if (tl > len)
			return -EINVAL;
		netaddr_from_v6(src, ip + 8);
		netaddr_from_v6(dst, ip + 24);
		break;
	default:
		return -EINVAL;
	}
	*total_len = tl;
	return 0;
}

static struct wg_peer *wg_device_route(const struct wg_device *dev, const struct netaddr *a)
{
	return allowedips_lookup(dev->d_aips, (enum netaddr_family)a->family, a->a);
}

enum wg_tx_verdict wg_device_tx_prepare(struct wg_device *dev, const uint8_t *ip, size_t len,
					uint64_t now, struct wg_tx_ticket *t)
{
	struct netaddr src, dst;
	struct wg_peer *peer;
	struct wg_keypair *kp;
	size_t tl;

	if (wg_ip_addrs(ip, len, &src, &dst, &tl) != 0) {
		dev->d_counters.tx_bad_packet++;
		return WG_TX_DROP;
	}
	peer = wg_device_route(dev, &dst);
	if (peer == NULL) {
		dev->d_counters.tx_no_route++;
		return WG_TX_DROP;
	}
	if (!peer->p_has_endpoint) {
		dev->d_counters.tx_no_endpoint++;
		return WG_TX_DROP;
	}
	kp = peer->p_kps.cur;
	/* Packets queued earlier must go first: while any wait, new ones queue behind them. */
	if (peer->p_staged_count == 0 && wg_keypair_can_send(kp, now)) {
		t->kp = wg_keypair_get(kp);
		t->counter = kp->kp_send_counter++;
		t->to = peer->p_endpoint;
		t->peer = peer;
		return WG_TX_SEND;
	}
	wg_staged_push(peer, ip, len);
	wg_staged_flush(peer, now);
	return WG_TX_STAGED;
}

void wg_device_tx_complete(struct wg_device *dev, struct wg_tx_ticket *t, size_t wire_len,
			   bool is_data, uint64_t now)
{
	struct wg_peer *peer = t->kp->kp_peer;

	if (peer != NULL) {
		peer->p_tx_bytes += wire_len;
		wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
		wg_timers_any_authenticated_packet_sent(&peer->p_timers);
		if (is_data)
			wg_timers_data_sent(&peer->p_timers, now, wg_jitter());
		wg_peer_keep_key_fresh_tx(peer, now);
	}
	wg_keypair_put(t->kp);
	t->kp = NULL;
}

int wg_device_rx_prepare(struct wg_device *dev, const uint8_t *msg, size_t len, uint64_t now,
			 struct wg_keypair **kp)
{
	struct wg_index_entry *e;

	*kp = NULL;
	if (len < WG_DATA_MIN_LEN) {
		dev->d_counters.rx_bad_length++;
		return -EMSGSIZE;
	}
	e = wg_index_lookup(dev, buf_load_le32(msg + 4));
	if (e == NULL || e->ie_kind != WG_INDEX_KEYPAIR) {
		dev->d_counters.rx_unknown_index++;
		return -ENOENT;
	}
	if (!wg_keypair_is_live(e->ie_kp, now)) {
		dev->d_counters.rx_key_expired++;
		return -EKEYEXPIRED;
	}
	*kp = wg_keypair_get(e->ie_kp);
	return 0;
}

void wg_device_rx_failed(struct wg_device *dev, struct wg_keypair *kp)
{
	dev->d_counters.rx_decrypt_failed++;
	wg_keypair_put(kp);
}

static enum wg_rx_verdict wg_device_rx_inner(struct wg_device *dev, struct wg_peer *peer,
					     const uint8_t *plain, size_t plen, size_t *inner_len)
{
	struct netaddr src, dst;
	size_t tl;

	if (wg_ip_addrs(plain, plen, &src, &dst, &tl) != 0) {
		dev->d_counters.rx_bad_inner++;
		return WG_RX_DROP;
	}
	/* Cryptokey routing: the source must be one of this peer's allowed IPs. */
	if (wg_device_route(dev, &src) != peer) {
		dev->d_counters.rx_bad_source++;
		return WG_RX_DROP;
	}
	*inner_len = tl;
	return WG_RX_DELIVER;
}

enum wg_rx_verdict wg_device_rx_complete(struct wg_device *dev, struct wg_keypair *kp,
					 uint64_t counter, const uint8_t *plain, size_t plen,
					 size_t wire_len, const struct netendpoint *src,
					 uint64_t now, size_t *inner_len,
					 struct wg_peer **peer_out)
{
	struct wg_peer *peer = kp->kp_peer;
	struct wg_keypair *dropped;
	enum wg_rx_verdict v = WG_RX_DROP;

	*peer_out = NULL;
	if (peer == NULL) {
		dev->d_counters.rx_unknown_index++;
		goto out;
	}
	if (!replay_accept(&kp->kp_replay, counter, WG_REJECT_AFTER_MESSAGES)) {
		dev->d_counters.rx_replayed++;
		goto out;
	}
	peer->p_endpoint = *src;
	peer->p_has_endpoint = true;
	if (wg_keypairs_received_with(&peer->p_kps, kp, &dropped)) {
		if (dropped != NULL)
			wg_keypairs_release(dev, &dropped, 1);
		wg_peer_handshake_complete(peer);
		wg_staged_flush(peer, now);
	}
	wg_peer_keep_key_fresh_rx(peer, now);
	wg_timers_any_authenticated_packet_received(&peer->p_timers);
	wg_timers_any_authenticated_packet_traversal(&peer->p_timers, now);
	peer->p_rx_bytes += wire_len;
	*peer_out = peer;
	if (plen == 0) {
		dev->d_counters.rx_keepalives++;
		v = WG_RX_KEEPALIVE;
		goto out;
	}
	wg_timers_data_received(&peer->p_timers, now);
	v = wg_device_rx_inner(dev, peer, plain, plen, inner_len);
	if (v == WG_RX_DROP)
		*peer_out = NULL;
out:
	wg_keypair_put(kp);
	return v;
}
